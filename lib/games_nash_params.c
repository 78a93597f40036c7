/* games_nash_params.c — the `nash` kind's field tables and cross-field
 * checks: the one-of logic of `game` (matrix | payoff | family), the
 * strategy spaces, the families' space requirements and the compilation of
 * payoff expressions (errors carry the position in the string). */
#include "games_nash_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "games_expr.h"

#define NAN_ NAN
#define F_DOUBLE(st, name, flags, lo, hi, def, doc) \
    { #name, MS_F_DOUBLE, offsetof(st, name), flags, lo, hi, def, NULL, NULL, NULL, 0, doc }
#define F_INT(st, name, flags, lo, hi, def, doc) \
    { #name, MS_F_INT, offsetof(st, name), flags, lo, hi, def, NULL, NULL, NULL, 0, doc }

static const ms_field game_f[] = {
    {"matrix", MS_F_MAT, offsetof(games_game_params, matrix), 0, 0, 0, NAN_, NULL, NULL, NULL,
     4000000, "A finite game: loss matrix, row i / column j; the row player (x) minimises."},
    {"payoff", MS_F_STRING, offsetof(games_game_params, payoff), 0, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_EXPR_MAX_SRC,
     "Payoff expression over x1..xd, y1..ye, pi, e and `params`; operators + - * / ^ and sin "
     "cos tan atan exp log sqrt abs tanh sigmoid softplus relu max min pow."},
    {"params", MS_F_DICT, offsetof(games_game_params, params), 0, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_EXPR_MAX_PARAMS, "Named constants of the payoff expression."},
    {"family", MS_F_ENUM, offsetof(games_game_params, family), 0, 0, 0, NAN_, NULL,
     games_family_names, NULL, 0,
     "Built-in payoff: random_fourier (torus^d × torus^e), trig_2x2, trig_singular, cos_diff "
     "(1-D tori), quartic, quadratic_box (1-D boxes); max_margin_2nn and dro_2nn, the "
     "two-layer network games of Wang & Chizat §6.8 (x: the samples' weights, and "
     "perturbations for dro_2nn; y: 2m neurons on the sphere, particles_y in total; no "
     "x_space / y_space)."},
    F_INT(games_game_params, order_x, MS_FF_MIN | MS_FF_MAX, 0, 50, 3,
          "random_fourier: frequencies k in {-K..K}^d of x."),
    F_INT(games_game_params, order_y, MS_FF_MIN | MS_FF_MAX, 0, 50, 3,
          "random_fourier: frequencies l in {-L..L}^e of y."),
    F_INT(games_game_params, seed, 0, 0, 0, NAN_,
          "random_fourier: seed of the coefficients (default: the job's seed)."),
    F_DOUBLE(games_game_params, coef_std, MS_FF_MIN_EXCL, 0, 0, 0.70710678118654752,
             "random_fourier: standard deviation of the real and imaginary parts of c_kl."),
    F_DOUBLE(games_game_params, beta, MS_FF_MIN_EXCL, 0, 0, 1.0, "trig_2x2: beta > 0."),
    F_DOUBLE(games_game_params, gamma, MS_FF_MIN_EXCL, 0, 0, 1.0, "trig_2x2: gamma > 0."),
    F_DOUBLE(games_game_params, delta, 0, 0, 0, 1.0,
             "trig_2x2: coupling delta of positions and weights (0: none)."),
    F_DOUBLE(games_game_params, epsilon, 0, 0, 0, 1.0, "quartic: epsilon."),
    {"data", MS_F_MAT, offsetof(games_game_params, data), 0, 0, 0, NAN_, NULL, NULL, NULL, 1000000,
     "max_margin_2nn, dro_2nn: the samples, one row each (a bias 1 is appended inside)."},
    {"labels", MS_F_VEC, offsetof(games_game_params, labels), 0, 0, 0, NAN_, NULL, NULL, NULL,
     100000, "max_margin_2nn, dro_2nn: labels, +1 or -1 per sample."},
    {"activation", MS_F_ENUM, offsetof(games_game_params, activation), 0, 0, 0, NAN_, "relu",
     games_activation_names, NULL, 0,
     "max_margin_2nn, dro_2nn: the neurons' activation (relu is raised to `power`)."},
    F_INT(games_game_params, power, MS_FF_MIN | MS_FF_MAX, 1, 4, 3,
          "max_margin_2nn, dro_2nn: p of relu^p."),
    F_DOUBLE(games_game_params, radius, MS_FF_MIN_EXCL, 0, 0, NAN_,
             "dro_2nn: radius of the adversarial perturbation of each sample."),
    F_INT(games_game_params, adversaries, MS_FF_MIN | MS_FF_MAX, 1, 10000, 10,
          "dro_2nn: adversary particles per sample."),
    {"x_space", MS_F_OBJECT, offsetof(games_game_params, x_space), 0, 0, 0, NAN_, NULL, NULL,
     &games_space_fields, 0, "Strategy space of x (required for payoff and family games)."},
    {"y_space", MS_F_OBJECT, offsetof(games_game_params, y_space), 0, 0, 0, NAN_, NULL, NULL,
     &games_space_fields, 0, "Strategy space of y (required for payoff and family games)."},
};
static const ms_fields game_fields = MS_FIELDS(games_game_params, game_f);

static const char *const methods[] = {"auto",
                                      "lp",
                                      "mirror_prox",
                                      "mirror_descent",
                                      "cp_mirror_prox",
                                      "cp_mda",
                                      "cp_proximal_point",
                                      "fixed_support",
                                      NULL};
static const char *const inits[] = {"grid", "random", NULL};
static const char *const fixed_solvers[] = {"mirror_prox", "lp", NULL};

#define P games_nash_params
static const ms_field nash_f[] = {
    {"game", MS_F_OBJECT, offsetof(P, game), MS_FF_REQUIRED, 0, 0, NAN_, NULL, NULL, &game_fields,
     0, "The game: exactly one of matrix, payoff, family."},
    {"method", MS_F_ENUM, offsetof(P, method), 0, 0, 0, NAN_, "auto", methods, NULL, 0,
     "auto (lp for matrices up to 250000 entries, else mirror_prox; cp_mirror_prox for "
     "continuous games); lp, mirror_prox, mirror_descent (matrix games); cp_mirror_prox, cp_mda, "
     "cp_proximal_point (conic particles: weights and positions), fixed_support (weights only on "
     "fixed atoms, the baseline)."},
    F_INT(P, seed, 0, 0, 0, 0, "Seed of every random choice."),
    F_INT(P, threads, MS_FF_MIN | MS_FF_MAX, 1, 256, 1, "Threads inside an iteration."),
    F_INT(P, max_iter, MS_FF_MIN | MS_FF_MAX, 1, 1e9, 1000,
          "Iterations (lp: simplex pivots, at least 50 (m + n) + 1000)."),
    F_DOUBLE(P, tol, MS_FF_MIN, 0, 0, 1e-9, "Stop when the Nash gap is at most tol."),
    F_DOUBLE(P, eta, MS_FF_MIN_EXCL, 0, 0, NAN_,
             "Matrix games: entropic step (default 1/max|M|, the safe step of mirror prox)."),
    F_INT(P, inner_steps, MS_FF_MIN | MS_FF_MAX, 1, 1000, NAN_,
          "Inner steps K per iteration (default 1 for mirror_descent and cp_mda, 2 for mirror prox "
          "and fixed_support, 10 for cp_proximal_point)."),
    {"p0", MS_F_VEC, offsetof(P, p0), MS_FF_MIN, 0, 0, NAN_, NULL, NULL, NULL, 0,
     "Matrix games: initial row strategy (normalised; default uniform)."},
    {"q0", MS_F_VEC, offsetof(P, q0), MS_FF_MIN, 0, 0, NAN_, NULL, NULL, NULL, 0,
     "Matrix games: initial column strategy (normalised; default uniform)."},
    F_INT(P, particles_x, MS_FF_MIN | MS_FF_MAX, 1, 1000000, 15,
          "Atoms of x (a grid rounds up to a perfect power in dimension > 1, or falls back to "
          "random atoms when that would more than double them)."),
    F_INT(P, particles_y, MS_FF_MIN | MS_FF_MAX, 1, 1000000, 15, "Atoms of y."),
    {"init", MS_F_ENUM, offsetof(P, init), 0, 0, 0, NAN_, "grid", inits, NULL, 0,
     "Initial atoms: grid (uniform grid; random where the space has none) or random (i.i.d. "
     "uniform). Weights start uniform."},
    {"fixed_solver", MS_F_ENUM, offsetof(P, fixed_solver), 0, 0, 0, NAN_, "mirror_prox",
     fixed_solvers, NULL, 0,
     "fixed_support: weights by mirror prox (eta_w, inner_steps), or the exact optimum on the "
     "atoms by the simplex (lp: the discretisation floor of the grid)."},
    {"x_init", MS_F_MEASURE, offsetof(P, x_init), 0, 0, 0, NAN_, NULL, NULL, NULL, 1000000,
     "Explicit initial atoms and weights of x (overrides particles_x and init)."},
    {"y_init", MS_F_MEASURE, offsetof(P, y_init), 0, 0, 0, NAN_, NULL, NULL, NULL, 1000000,
     "Explicit initial atoms and weights of y."},
    {"reference_x", MS_F_MEASURE, offsetof(P, reference_x), 0, 0, 0, NAN_, NULL, NULL, NULL, 10000,
     "A reference equilibrium strategy of x (e.g. an aggregated long run): progress then "
     "reports the Lyapunov potential of Wang & Chizat (lyapunov, lyapunov_w, lyapunov_pos, "
     "lyapunov_outside), summed over both players. Needs reference_y."},
    {"reference_y", MS_F_MEASURE, offsetof(P, reference_y), 0, 0, 0, NAN_, NULL, NULL, NULL, 10000,
     "The reference equilibrium strategy of y."},
    F_DOUBLE(P, lyap_alpha, MS_FF_MIN_EXCL, 0, 0, 3, "Lyapunov: exponent alpha of psi."),
    F_DOUBLE(P, lyap_lambda, MS_FF_MIN_EXCL, 0, 0, 3, "Lyapunov: cut-off lambda of psi."),
    F_DOUBLE(P, lyap_tau, MS_FF_MIN_EXCL, 0, 0, 1e-2,
             "Lyapunov: length scale tau (lambda·tau below half the distance between reference "
             "atoms)."),
    F_DOUBLE(P, eta_w, MS_FF_MIN_EXCL, 0, 0, 0.04, "Weight step (both players)."),
    F_DOUBLE(P, eta_pos_x, MS_FF_MIN, 0, 0, NAN_,
             "Position step of x alone (default eta_pos): the adversary of dro_2nn."),
    F_DOUBLE(P, eta_pos, MS_FF_MIN, 0, 0, 1e-3,
             "Position step (both players). Keep eta_pos times the curvature of the payoff "
             "below 1: mirror prox's position step stalls at 1 and diverges beyond."),
    {"true_prox", MS_F_BOOL, offsetof(P, true_prox), 0, 0, 0, 1, NULL, NULL, NULL, 0,
     "Scale position steps by a'/a (the proximal point's weight coupling)."},
    F_INT(P, ni_every, MS_FF_MIN, 0, 0, 0,
          "Compute (continuous games) or record (mirror prox on matrices) the Nash gap every this "
          "many iterations (0: about 50 times per run); the result's gap_history lists them."),
    F_DOUBLE(P, ni_grid_step, MS_FF_MIN_EXCL, 0, 0, NAN_,
             "Best-response grid step (default 1e-3 × the space's extent)."),
    F_INT(P, ni_grid_max, MS_FF_MIN | MS_FF_MAX, 2, 1e7, 100000,
          "Cap on best-response grid points (the grid is coarsened to fit)."),
    F_INT(P, ni_starts, MS_FF_MIN | MS_FF_MAX, 1, 1e6, 64,
          "Random starts of best-response searches where there is no grid."),
    F_DOUBLE(P, tau_agg, MS_FF_MIN, 0, 0, 1e-5, "Aggregation radius of the reported supports."),
    F_DOUBLE(P, tol_local, MS_FF_MIN, 0, 0, 0,
             "Continuous games: when the local gap (best responses among the current atoms) "
             "stays at most tol_local for `patience` iterations, compute the global gap at once "
             "(0: off)."),
    F_INT(P, patience, MS_FF_MIN | MS_FF_MAX, 1, 1e6, 5, "See tol_local."),
    F_INT(P, report_every, MS_FF_MIN, 1, 0, 10,
          "Snapshot period of the divergence guard (restore and halve steps)."),
    F_INT(P, max_halvings, MS_FF_MIN | MS_FF_MAX, 0, 60, 8,
          "Step halvings of the divergence guard before failing."),
    F_DOUBLE(P, expr_budget, MS_FF_MIN_EXCL, 0, 0, GAMES_EXPR_DEFAULT_BUDGET,
             "Admission bound on the work of a payoff expression over the run (games.md §2): "
             "tape nodes × (d + e + 1) × pair evaluations, counting K·m·n per iteration for "
             "max_iter iterations (plus the divergence guard's replays) and every Nash-gap "
             "search (grid or starts plus atoms against the other player's atoms, and about two "
             "evaluations per refinement step); jobs above it are rejected at max_iter."),
};
#undef P
const ms_fields games_nash__fields = MS_FIELDS(games_nash_params, nash_f);

/* Families' space requirements. */
static void check_family(const games_game_params *g, ms_errlist *errs) {
    const games_space_params *s[2] = {&g->x_space, &g->y_space};
    const char *names[2] = {"x_space", "y_space"};
    char at[MS_ERR_FIELD_MAX];
    for (int k = 0; k < 2; k++) {
        const games_space_params *sp = s[k];
        snprintf(at, sizeof at, "game/%s", names[k]);
        switch ((games_family)g->family) {
        case GAMES_FAM_RANDOM_FOURIER:
            if (sp->type != GAMES_TORUS || sp->period != 1.0)
                ms_errlist_addf(errs, MS_EINVAL, at, "random_fourier needs a torus of period 1");
            break;
        case GAMES_FAM_TRIG_2X2:
        case GAMES_FAM_TRIG_SINGULAR:
        case GAMES_FAM_COS_DIFF:
            if (sp->type != GAMES_TORUS || sp->period != 1.0 || sp->dim != 1)
                ms_errlist_addf(errs, MS_EINVAL, at, "%s needs the 1-D torus of period 1",
                                games_family_names[g->family]);
            break;
        case GAMES_FAM_QUARTIC: /* X = Y = R in [P1]: a box or the line */
            if ((sp->type != GAMES_BOX && sp->type != GAMES_EUCLIDEAN) || sp->low.n != 1)
                ms_errlist_addf(errs, MS_EINVAL, at, "quartic needs a 1-D box or euclidean space");
            break;
        case GAMES_FAM_QUADRATIC_BOX:
            if (sp->type != GAMES_BOX || sp->low.n != 1)
                ms_errlist_addf(errs, MS_EINVAL, at, "quadratic_box needs a 1-D box");
            break;
        default:
            break;
        }
    }
    if (g->family == GAMES_FAM_RANDOM_FOURIER && g->x_space.dim != MS_INT_ABSENT &&
        g->y_space.dim != MS_INT_ABSENT) {
        double terms = pow(2.0 * (double)g->order_x + 1, (double)g->x_space.dim) *
                       pow(2.0 * (double)g->order_y + 1, (double)g->y_space.dim);
        if (terms > GAMES_RF_MAX_TERMS)
            ms_errlist_addf(errs, MS_EINVAL, "game/order_x",
                            "(2K+1)^d (2L+1)^e = %.0f Fourier terms, at most %d", terms,
                            GAMES_RF_MAX_TERMS);
    }
}

games_br_opts games_nash__br_opts(const games_nash_params *P, const games_space *sp) {
    games_br_opts o = {0, (size_t)P->ni_grid_max, (size_t)P->ni_starts, 8, 50};
    o.grid_step = !isnan(P->ni_grid_step) ? P->ni_grid_step : 1e-3 * games_space_extent(sp);
    return o;
}

/* One best-response search of a player on sp with `own` atoms against
 * `other` atoms: the grid (or random starts) and its own atoms, values
 * only, then `refine` candidates by at most `refine_steps` Armijo ascent
 * steps with gradients, each about two evaluations (the step doubles after
 * an accepted trial and halves after a rejected one), plus one to start. */
static double br_pairs(const games_nash_params *P, const games_space *sp, double own,
                       double other) {
    games_br_opts o = games_nash__br_opts(P, sp);
    size_t g = games_space_search_grid(sp, o.grid_step, o.grid_max, NULL);
    double base = g ? (double)g : (double)o.starts;
    return (base + own) * other + (double)o.refine * (1 + 2 * (double)o.refine_steps) * other;
}

double games_nash__expr_work(const games_nash_params *P, const games_expr *ex, const games_space *X,
                             const games_space *Y, double *per_iter, double *in_gaps) {
    double m = (double)games_nash__atom_count(X, &P->x_init, P->particles_x, P->init == 1);
    double n = (double)games_nash__atom_count(Y, &P->y_init, P->particles_y, P->init == 1);
    games_nash_method method = games_nash__method(P);
    double T = (double)P->max_iter;
    double every = P->ni_every > 0 ? (double)P->ni_every : (T >= 50 ? floor(T / 50) : 1);
    double gap = br_pairs(P, X, m, n) + br_pairs(P, Y, n, m), setup = 0, gaps;
    if (method == NASH_FIXED_SUPPORT) {
        /* The matrix f(x_i, y_j) once; the weights' steps evaluate nothing.
         * The simplex (max_iter pivots) has one gap at the end. */
        *per_iter = 0;
        setup = m * n;
        gaps = P->fixed_solver == 1 ? 2 : floor(T / every) + 2;
    } else {
        /* K gradient evaluations of every pair per iteration; the guard
         * may replay up to report_every iterations per halving; each gap
         * also re-evaluates the current state's fields (m·n). */
        *per_iter = (double)games_nash__inner_steps(P) * m * n;
        T += (double)P->max_halvings * (double)P->report_every;
        gaps = floor(T / every) + 2 + (P->tol_local > 0 ? floor(T / (double)P->patience) : 0);
        gap += m * n;
    }
    *in_gaps = gaps * gap;
    double per_eval = (double)games_expr_length(ex) * (double)(X->dim + Y->dim + 1);
    return per_eval * (*per_iter * T + *in_gaps + setup);
}

games_nash_method games_nash__method(const games_nash_params *P) {
    if (P->method != NASH_AUTO)
        return (games_nash_method)P->method;
    if (P->game.matrix.v)
        return P->game.matrix.rows * P->game.matrix.cols <= 250000 ? NASH_LP : NASH_MIRROR_PROX;
    return NASH_CP_MIRROR_PROX;
}

ms_status games_nash__payoff(const games_game_params *g, long long job_seed, const games_space *X,
                             const games_space *Y, games_payoff *out, ms_err *err) {
    if (g->payoff) {
        games_expr *ex = NULL;
        ms_status s = games_expr_compile(g->payoff, X->dim, Y->dim,
                                         (const char *const *)g->params.names, g->params.values,
                                         g->params.n, "game/payoff", "game/params", &ex, NULL, err);
        if (s != MS_OK)
            return s;
        return games_payoff_init_expr(out, ex, X->dim, Y->dim);
    }
    if (games_nash__is_net(g))
        return games_payoff_init_2nn(out, (games_family)g->family, g->data.v, g->labels.v,
                                     g->data.rows, g->data.cols, (games_activation)g->activation,
                                     (int)g->power, err);
    long long seed = g->seed != MS_INT_ABSENT ? g->seed : job_seed;
    return games_payoff_init_family(
        out, (games_family)g->family, X->dim, Y->dim, (size_t)g->order_x, (size_t)g->order_y,
        g->coef_std, (unsigned long long)seed, g->beta, g->gamma, g->delta, g->epsilon, err);
}

static void check_init(const ms_measure *m, const games_space_params *sp, const char *name,
                       ms_errlist *errs) {
    if (!m->weights)
        return;
    size_t dim = games_space_params_dim(sp);
    char at[MS_ERR_FIELD_MAX];
    if (!m->points || m->d != dim) {
        snprintf(at, sizeof at, "%s/points", name);
        ms_errlist_addf(errs, MS_EINVAL, at, "points must have dimension %zu (the space's)", dim);
    }
}

int games_nash__is_net(const games_game_params *g) {
    return g->family == GAMES_FAM_MAX_MARGIN_2NN || g->family == GAMES_FAM_DRO_2NN;
}

static void check_net(const games_nash_params *P, ms_errlist *errs) {
    const games_game_params *g = &P->game;
    if (!g->data.v || !g->labels.v) {
        ms_errlist_addf(errs, MS_EINVAL, g->data.v ? "game/labels" : "game/data",
                        "is required for %s", games_family_names[g->family]);
        return;
    }
    if (g->labels.n != g->data.rows)
        ms_errlist_addf(errs, MS_EINVAL, "game/labels", "has %zu entries, data has %zu rows",
                        g->labels.n, g->data.rows);
    for (size_t k = 0; k < g->labels.n; k++)
        if (g->labels.v[k] != 1 && g->labels.v[k] != -1) {
            char at[MS_ERR_FIELD_MAX];
            snprintf(at, sizeof at, "game/labels/%zu", k);
            ms_errlist_addf(errs, MS_EINVAL, at, "must be +1 or -1");
            break;
        }
    if (g->data.cols + 2 > GAMES_SPACE_MAX_DIM)
        ms_errlist_addf(errs, MS_EINVAL, "game/data", "at most %d features per sample",
                        GAMES_SPACE_MAX_DIM - 2);
    if (g->family == GAMES_FAM_DRO_2NN && isnan(g->radius))
        ms_errlist_addf(errs, MS_EINVAL, "game/radius", "is required for dro_2nn");
    if (P->x_init.weights || P->y_init.weights)
        ms_errlist_addf(errs, MS_EINVAL, P->x_init.weights ? "x_init" : "y_init",
                        "is not supported for the network games");
    if (P->particles_y < 2)
        ms_errlist_addf(errs, MS_EINVAL, "particles_y", "needs at least one neuron per sign (2)");
}

ms_status games_nash__check(const void *params, ms_errlist *errs) {
    const games_nash_params *P = params;
    const games_game_params *g = &P->game;
    size_t before = errs->n + errs->dropped;
    int kinds = (g->matrix.v != NULL) + (g->payoff != NULL) + (g->family >= 0);
    if (kinds != 1) {
        ms_errlist_addf(errs, MS_EINVAL, "game",
                        "give exactly one of matrix, payoff, family (got %d)", kinds);
        return MS_EINVAL;
    }
    games_nash_method method = games_nash__method(P);
    if (g->matrix.v) {
        if (method >= NASH_CP_MIRROR_PROX)
            ms_errlist_addf(errs, MS_EINVAL, "method", "%s is for continuous games",
                            methods[method]);
        if (P->p0.v && P->p0.n != g->matrix.rows)
            ms_errlist_addf(errs, MS_EINVAL, "p0", "has %zu entries, the matrix %zu rows", P->p0.n,
                            g->matrix.rows);
        if (P->q0.v && P->q0.n != g->matrix.cols)
            ms_errlist_addf(errs, MS_EINVAL, "q0", "has %zu entries, the matrix %zu columns",
                            P->q0.n, g->matrix.cols);
        const ms_vec *v[2] = {&P->p0, &P->q0};
        for (int k = 0; k < 2; k++) {
            double s = 0;
            for (size_t i = 0; v[k]->v && i < v[k]->n; i++)
                s += v[k]->v[i];
            if (v[k]->v && !(s > 0))
                ms_errlist_addf(errs, MS_EINVAL, k ? "q0" : "p0", "must have a positive sum");
        }
        return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
    }
    if (method < NASH_CP_MIRROR_PROX)
        ms_errlist_addf(errs, MS_EINVAL, "method", "%s is for matrix games", methods[method]);
    if (games_nash__is_net(g)) {
        check_net(P, errs);
        return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
    }
    if (!g->x_space.present)
        ms_errlist_addf(errs, MS_EINVAL, "game/x_space", "is required for payoff and family games");
    if (!g->y_space.present)
        ms_errlist_addf(errs, MS_EINVAL, "game/y_space", "is required for payoff and family games");
    if (!g->x_space.present || !g->y_space.present)
        return MS_EINVAL;
    games_space_params_check(&g->x_space, "game/x_space", 0, errs);
    games_space_params_check(&g->y_space, "game/y_space", 0, errs);
    if (errs->n + errs->dropped > before)
        return MS_EINVAL;
    if (g->family >= 0)
        check_family(g, errs);
    if (g->payoff) {
        games_space X, Y;
        games_space_from_params(&g->x_space, 0, &X);
        games_space_from_params(&g->y_space, 0, &Y);
        games_expr *ex = NULL;
        ms_err e;
        if (games_expr_compile(g->payoff, X.dim, Y.dim, (const char *const *)g->params.names,
                               g->params.values, g->params.n, "game/payoff", "game/params", &ex,
                               NULL, &e) != MS_OK) {
            ms_errlist_add(errs, &e);
        } else {
            double it, gaps, w = games_nash__expr_work(P, ex, &X, &Y, &it, &gaps);
            if (w > P->expr_budget)
                ms_errlist_addf(errs, MS_EINVAL, "max_iter",
                                "estimated payoff work %.3g exceeds expr_budget %.3g: %zu tape "
                                "nodes × (d+e+1) per evaluation, %.3g pair evaluations per "
                                "iteration, %.3g in Nash-gap searches",
                                w, P->expr_budget, games_expr_length(ex), it, gaps);
        }
        games_expr_free(ex);
    }
    check_init(&P->x_init, &g->x_space, "x_init", errs);
    check_init(&P->y_init, &g->y_space, "y_init", errs);
    check_init(&P->reference_x, &g->x_space, "reference_x", errs);
    check_init(&P->reference_y, &g->y_space, "reference_y", errs);
    if ((P->reference_x.weights != NULL) != (P->reference_y.weights != NULL))
        ms_errlist_addf(errs, MS_EINVAL, P->reference_x.weights ? "reference_y" : "reference_x",
                        "give both reference strategies");
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}
