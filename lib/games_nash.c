/* games_nash.c — the `nash` job kind: mixed Nash equilibria of two-player
 * zero-sum games (games.md; API contract, kind `nash`).
 *
 * What it is for: driving one of the solvers to an answer with an honest
 * Nikaido–Isoda gap:
 *   matrix games: lp (games_lp.h, exact; a step is a batch of pivots),
 *     mirror_prox / mirror_descent (games_mp.h; the returned strategies are
 *     the better, by exact gap, of the last iterate and the average);
 *   continuous games: cp_mirror_prox, cp_mda, cp_proximal_point
 *     (games_cp.h) and the fixed_support baseline (weights-only mirror prox
 *     on the initial atoms), with the global gap of games_br.h every
 *     `ni_every` iterations and at the end, the local gap every iteration,
 *     and the divergence guard of §6.5 (restore a snapshot, halve steps).
 *
 * What it is not for: parameter tables and checks (games_nash_params.c).
 */
#include <math.h>
#include <string.h>

#include "games_br.h"
#include "games_cp.h"
#include "games_lp.h"
#include "games_mp.h"
#include "games_nash_internal.h"
#include "ms_alloc.h"
#include "ms_rng.h"

#define LP_PIVOTS_PER_STEP 200

typedef enum { MODE_LP, MODE_MP, MODE_CP, MODE_FIXED } nash_mode;

typedef struct nash_state {
    const games_nash_params *P;
    games_nash_method method;
    nash_mode mode;
    size_t m, n, iter, max_iter, ni_every, K;
    const double *M; /* the game's matrix, or `Mfix` */
    double *Mfix;    /* fixed support: f(x_i, y_j) */
    games_lp lp;
    games_mp mp;
    games_payoff pay;
    games_space X, Y;
    games_cp cp;
    games_br brx, bry;
    double *pa, *qa; /* matrix: averaged strategies; result strategies */
    int use_avg;
    double ni, local_ni, value, best_local;
    int ni_lb, converged, have_pay;
    double argx[GAMES_SPACE_MAX_DIM], argy[GAMES_SPACE_MAX_DIM];
    size_t hist_n, hist_cap;
    double *hist_it, *hist_ni;
    size_t halvings, ni_iter, streak;
    double eta_w, eta_pos, eta_pos_x;
    double *agg_x, *agg_w; /* aggregation scratch: max(m, n) atoms */
    unsigned char *agg_taken;
    size_t n_clusters_x, n_clusters_y;
    double ni_avg; /* mirror prox: gap of the averaged strategies */
    int fixed_lp;  /* fixed support solved exactly by the simplex */
} nash_state;

size_t games_nash__inner_steps(const games_nash_params *P) {
    if (P->inner_steps != MS_INT_ABSENT)
        return (size_t)P->inner_steps;
    switch (games_nash__method(P)) {
    case NASH_MIRROR_DESCENT:
    case NASH_CP_MDA:
        return 1;
    case NASH_CP_PROXIMAL_POINT:
        return 10;
    default:
        return 2;
    }
}

static void nash_fini(void *state) {
    nash_state *S = state;
    games_lp_fini(&S->lp);
    games_mp_fini(&S->mp);
    games_cp_fini(&S->cp);
    games_br_fini(&S->brx);
    games_br_fini(&S->bry);
    if (S->have_pay)
        games_payoff_fini(&S->pay);
    ms_free(S->Mfix);
    ms_free(S->pa);
    ms_free(S->qa);
    ms_free(S->hist_it);
    ms_free(S->hist_ni);
    ms_free(S->agg_x);
    ms_free(S->agg_w);
    ms_free(S->agg_taken);
    memset(S, 0, sizeof *S);
}

/* Normalised copy of an optional initial strategy (NULL when absent). */
static double *initial_strategy(const ms_vec *v) {
    if (!v->v)
        return NULL;
    double *w = ms_malloc(v->n, sizeof(double)), s = 0;
    if (!w)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        s += v->v[i];
    for (size_t i = 0; i < v->n; i++)
        w[i] = v->v[i] / s;
    return w;
}

static ms_status init_matrix(nash_state *S, ms_err *err) {
    const games_nash_params *P = S->P;
    S->m = P->game.matrix.rows;
    S->n = P->game.matrix.cols;
    S->M = P->game.matrix.v;
    S->pa = ms_malloc(S->m, sizeof(double));
    S->qa = ms_malloc(S->n, sizeof(double));
    if (!S->pa || !S->qa)
        return ms_fail(err, MS_ENOMEM, "", "strategies");
    if (S->method == NASH_LP) {
        S->mode = MODE_LP;
        /* Pivots, not iterations: the simplex needs O(m + n) of them, so the
         * default max_iter must not stop a medium game half-way. */
        size_t need = 50 * (S->m + S->n) + 1000;
        if (S->max_iter < need)
            S->max_iter = need;
        if (games_lp_init(&S->lp, S->M, S->m, S->n) != MS_OK)
            return ms_fail(err, MS_ENOMEM, "game/matrix", "simplex tableau %zu×%zu", S->n + 1,
                           S->m + S->n + 1);
        return MS_OK;
    }
    S->mode = MODE_MP;
    S->hist_cap = S->max_iter / S->ni_every + 2;
    S->hist_it = ms_malloc(S->hist_cap, sizeof(double));
    S->hist_ni = ms_malloc(S->hist_cap, sizeof(double));
    if (!S->hist_it || !S->hist_ni)
        return ms_fail(err, MS_ENOMEM, "", "gap history");
    double L = 0;
    for (size_t k = 0; k < S->m * S->n; k++)
        L = fmax(L, fabs(S->M[k]));
    double eta = !isnan(P->eta) ? P->eta : L > 0 ? 1.0 / L : 1.0;
    double *p0 = initial_strategy(&P->p0), *q0 = initial_strategy(&P->q0);
    ms_status s = MS_OK;
    if ((P->p0.v && !p0) || (P->q0.v && !q0) ||
        games_mp_init(&S->mp, S->M, S->m, S->n, S->K, eta, eta, p0, q0) != MS_OK)
        s = ms_fail(err, MS_ENOMEM, "", "mirror prox workspaces");
    ms_free(p0);
    ms_free(q0);
    return s;
}

/* Initial atoms of one player into x (count×dim) and weights w. */
static void initial_atoms(const games_space *sp, const ms_measure *given, size_t count, int random,
                          ms_rng *rng, double *x, double *w) {
    size_t d = sp->dim;
    if (given->weights) {
        double s = ms_measure_mass(given);
        memcpy(x, given->points, count * d * sizeof(double));
        for (size_t i = 0; i < count; i++) {
            /* Entropic steps keep zero weights at zero: start them tiny. */
            w[i] = fmax(given->weights[i] / s, 1e-300);
            games_space_retract(sp, x + i * d);
        }
        return;
    }
    if (!random &&
        games_space_init_grid(sp, count, NULL) == count) { /* see games_nash__atom_count */
        games_space_init_grid(sp, count, x);
    } else {
        for (size_t i = 0; i < count; i++)
            games_space_sample(sp, rng, x + i * d);
    }
    for (size_t i = 0; i < count; i++)
        w[i] = 1.0 / (double)count;
}

size_t games_nash__atom_count(const games_space *sp, const ms_measure *given, long long want,
                              int random) {
    if (given->weights)
        return given->n;
    if (random)
        return (size_t)want;
    size_t g = games_space_init_grid(sp, (size_t)want, NULL);
    /* A grid is used when it exists and does not more than double the
     * atoms (in high dimension the next perfect power can be far above:
     * 2^10 for 100 atoms in dimension 10); otherwise atoms are random. */
    return g && g <= 2 * (size_t)want ? g : (size_t)want;
}

static void set_steps(nash_state *S) {
    S->cp.eta_a = S->cp.eta_b = S->eta_w;
    S->cp.eta_x = S->eta_pos_x;
    S->cp.eta_y = S->eta_pos;
}

/* The network games of [P1] §6.8: x = the samples (and their adversarial
 * shifts for dro_2nn), y = 2m signed neurons on S^{d_in}. */
static void net_spaces(nash_state *S) {
    const games_game_params *g = &S->P->game;
    int dro = g->family == GAMES_FAM_DRO_2NN;
    memset(&S->X, 0, sizeof S->X);
    memset(&S->Y, 0, sizeof S->Y);
    S->X.type = GAMES_SAMPLES;
    S->X.n_samples = g->data.rows;
    S->X.radius = dro ? g->radius : 0;
    S->X.dim = 1 + (dro ? g->data.cols : 0);
    S->Y.type = GAMES_SIGNED_SPHERE;
    S->Y.dim = g->data.cols + 2;
    S->m = g->data.rows * (dro ? (size_t)g->adversaries : 1);
    S->n = 2 * (((size_t)S->P->particles_y + 1) / 2);
}

/* Each sample's adversaries start at r·U[0,1]·(a random unit vector) (the
 * authors' code); neurons at normalised Gaussians, the first half with
 * output sign +1. */
static void net_atoms(nash_state *S, ms_rng *rng) {
    size_t d = S->X.dim, e = S->Y.dim, per = S->m / S->X.n_samples;
    for (size_t i = 0; i < S->m; i++) {
        double *x = S->cp.s.x + i * d;
        x[0] = (double)(i / per);
        if (d > 1) {
            games_space unit = {.type = GAMES_SPHERE, .dim = d - 1};
            games_space_sample(&unit, rng, x + 1);
            double r = S->X.radius * ms_rng_uniform(rng);
            for (size_t c = 1; c < d; c++)
                x[c] *= r;
        }
    }
    for (size_t j = 0; j < S->n; j++) {
        double *y = S->cp.s.y + j * e;
        games_space unit = {.type = GAMES_SPHERE, .dim = e - 1};
        games_space_sample(&unit, rng, y);
        y[e - 1] = j < S->n / 2 ? 1.0 : -1.0;
    }
}

static ms_status init_continuous(nash_state *S, const ms_ctx *ctx, ms_err *err) {
    const games_nash_params *P = S->P;
    int net = games_nash__is_net(&P->game);
    if (net) {
        net_spaces(S);
    } else {
        games_space_from_params(&P->game.x_space, 0, &S->X);
        games_space_from_params(&P->game.y_space, 0, &S->Y);
    }
    ms_status s = games_nash__payoff(&P->game, P->seed, &S->X, &S->Y, &S->pay, err);
    if (s != MS_OK)
        return s;
    S->have_pay = 1;
    if (!net) {
        S->m = games_nash__atom_count(&S->X, &P->x_init, P->particles_x, P->init == 1);
        S->n = games_nash__atom_count(&S->Y, &P->y_init, P->particles_y, P->init == 1);
    }
    size_t nt = (size_t)ms_ctx_threads(ctx);
    if (games_cp_init(&S->cp, &S->pay, &S->X, &S->Y, S->m, S->n, nt) != MS_OK)
        return ms_fail(err, MS_ENOMEM, "", "particle workspaces (%zu + %zu atoms)", S->m, S->n);
    ms_rng rng;
    ms_rng_init(&rng, (unsigned long long)P->seed, 1);
    if (net) {
        net_atoms(S, &rng);
    } else {
        initial_atoms(&S->X, &P->x_init, S->m, P->init == 1, &rng, S->cp.s.x, S->cp.s.a);
        initial_atoms(&S->Y, &P->y_init, S->n, P->init == 1, &rng, S->cp.s.y, S->cp.s.b);
    }
    games_cp_sync_logs(&S->cp);
    S->eta_w = P->eta_w;
    S->eta_pos = P->eta_pos;
    S->eta_pos_x = isnan(P->eta_pos_x) ? P->eta_pos : P->eta_pos_x;
    S->cp.K = S->K;
    S->cp.true_prox = P->true_prox;
    set_steps(S);
    games_br_opts o = games_nash__br_opts(P, &S->X);
    if (games_br_init(&S->brx, &S->X, S->m, &o, (unsigned long long)P->seed, 2) != MS_OK)
        return ms_fail(err, MS_ENOMEM, "", "best-response workspaces");
    o = games_nash__br_opts(P, &S->Y);
    if (games_br_init(&S->bry, &S->Y, S->n, &o, (unsigned long long)P->seed, 3) != MS_OK)
        return ms_fail(err, MS_ENOMEM, "", "best-response workspaces");
    S->hist_cap = S->max_iter / S->ni_every + 2;
    S->hist_it = ms_malloc(S->hist_cap, sizeof(double));
    S->hist_ni = ms_malloc(S->hist_cap, sizeof(double));
    size_t na = S->m > S->n ? S->m : S->n, da = S->X.dim > S->Y.dim ? S->X.dim : S->Y.dim;
    S->agg_x = ms_malloc(na * da, sizeof(double));
    S->agg_w = ms_malloc(na, sizeof(double));
    S->agg_taken = ms_malloc(na, 1);
    if (!S->hist_it || !S->hist_ni || !S->agg_x || !S->agg_w || !S->agg_taken)
        return ms_fail(err, MS_ENOMEM, "", "gap history");
    if (S->method != NASH_FIXED_SUPPORT) {
        S->mode = MODE_CP;
        return MS_OK;
    }
    /* Fixed support: the finite game on the initial atoms. */
    S->mode = MODE_FIXED;
    S->Mfix = ms_malloc(S->m * S->n, sizeof(double));
    if (!S->Mfix)
        return ms_fail(err, MS_ENOMEM, "", "fixed-support matrix %zu×%zu", S->m, S->n);
    for (size_t i = 0; i < S->m; i++)
        for (size_t j = 0; j < S->n; j++) {
            int rc = games_payoff_eval(&S->pay, S->cp.s.x + i * S->X.dim, S->cp.s.y + j * S->Y.dim,
                                       &S->Mfix[i * S->n + j], NULL, NULL, S->cp.scratch);
            if (rc != GAMES_EXPR_OK)
                return ms_fail(err, MS_ENUMERIC, "game", "payoff not finite at atoms x%zu, y%zu", i,
                               j);
        }
    S->M = S->Mfix;
    if (S->P->fixed_solver == 1) {
        /* The exact optimum on the atoms: the discretisation floor. As for
         * matrix games, max_iter counts pivots and is raised to what the
         * simplex may need. */
        if (S->max_iter < 50 * (S->m + S->n) + 1000)
            S->max_iter = 50 * (S->m + S->n) + 1000;
        if (games_lp_init(&S->lp, S->M, S->m, S->n) != MS_OK)
            return ms_fail(err, MS_ENOMEM, "", "simplex tableau %zu×%zu", S->n + 1,
                           S->m + S->n + 1);
        S->fixed_lp = 1;
        return MS_OK;
    }
    if (games_mp_init(&S->mp, S->M, S->m, S->n, S->K, S->eta_w, S->eta_w, S->cp.s.a, S->cp.s.b) !=
        MS_OK)
        return ms_fail(err, MS_ENOMEM, "", "mirror prox workspaces");
    return MS_OK;
}

static ms_status nash_init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    nash_state *S = state;
    memset(S, 0, sizeof *S);
    S->P = params;
    S->method = games_nash__method(S->P);
    S->K = games_nash__inner_steps(S->P);
    S->max_iter = (size_t)S->P->max_iter;
    S->ni_every =
        S->P->ni_every > 0 ? (size_t)S->P->ni_every : (S->max_iter >= 50 ? S->max_iter / 50 : 1);
    S->ni = S->local_ni = NAN;
    S->best_local = INFINITY;
    ms_status s = S->P->game.matrix.v ? init_matrix(S, err) : init_continuous(S, ctx, err);
    if (s != MS_OK)
        nash_fini(S);
    return s;
}

static ms_status payoff_failure(nash_state *S, int rc, ms_err *err) {
    return ms_fail(err, MS_ENUMERIC, "game", "payoff %s at atoms x%zu, y%zu (iteration %zu)",
                   rc == GAMES_EXPR_DOMAIN ? "outside its domain" : "not finite", S->cp.bad_i,
                   S->cp.bad_j, S->iter);
}

/* Global gap of the atomic strategies (x, a) and (y, b). */
static ms_status global_gap(nash_state *S, const double *a, const double *b, const ms_ctx *ctx,
                            ms_err *err) {
    double by, bx;
    int rc = games_br_search(&S->bry, &S->pay, 1, S->cp.s.x, a, S->m, S->cp.s.y, S->n,
                             S->cp.scratch, ctx, &by, S->argy);
    if (rc == GAMES_EXPR_OK)
        rc = games_br_search(&S->brx, &S->pay, 0, S->cp.s.y, b, S->n, S->cp.s.x, S->m,
                             S->cp.scratch, ctx, &bx, S->argx);
    if (rc != GAMES_EXPR_OK)
        return ms_fail(err, MS_ENUMERIC, "game",
                       "payoff not finite during the best-response "
                       "search (iteration %zu)",
                       S->iter);
    S->ni = by + bx;
    S->ni_lb = !(S->brx.full_grid && S->bry.full_grid);
    /* Aggregated support sizes (§3), reported with each global gap. */
    S->n_clusters_x = games_space_aggregate(&S->X, S->cp.s.x, a, S->m, S->P->tau_agg, S->agg_x,
                                            S->agg_w, S->agg_taken);
    S->n_clusters_y = games_space_aggregate(&S->Y, S->cp.s.y, b, S->n, S->P->tau_agg, S->agg_x,
                                            S->agg_w, S->agg_taken);
    S->ni_iter = S->iter;
    if (S->hist_n < S->hist_cap) {
        S->hist_it[S->hist_n] = (double)S->iter;
        S->hist_ni[S->hist_n++] = S->ni;
    }
    return MS_OK;
}

static ms_status step_cp(nash_state *S, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    const games_nash_params *P = S->P;
    if (S->iter % (size_t)P->report_every == 0)
        games_cp_snapshot(&S->cp);
    int rc = games_cp_step(&S->cp, ctx);
    int diverged = rc == GAMES_EXPR_NONFINITE || !isfinite(S->cp.local_ni) ||
                   S->cp.local_ni > 1e3 * fmax(S->best_local, 1e-6);
    if (rc == GAMES_EXPR_DOMAIN)
        return payoff_failure(S, rc, err);
    if (diverged && S->iter > 0) {
        /* §6.5 divergence guard. */
        if (S->halvings >= (size_t)P->max_halvings)
            return rc != GAMES_EXPR_OK ? payoff_failure(S, rc, err)
                                       : ms_fail(err, MS_ENUMERIC, "",
                                                 "diverged at iteration %zu after %zu step "
                                                 "halvings",
                                                 S->iter, S->halvings);
        games_cp_restore(&S->cp);
        S->eta_w *= 0.5;
        S->eta_pos *= 0.5;
        S->eta_pos_x *= 0.5;
        set_steps(S);
        S->halvings++;
        S->iter -= S->iter % (size_t)P->report_every;
        S->best_local = INFINITY;
        ms_progress_set(prog, "step_halvings", (double)S->halvings);
        return MS_OK;
    }
    if (rc != GAMES_EXPR_OK)
        return payoff_failure(S, rc, err);
    S->iter++;
    S->local_ni = S->cp.local_ni;
    S->value = S->cp.value;
    S->best_local = fmin(S->best_local, S->local_ni);
    int last = S->iter >= S->max_iter;
    /* §6.6: a run of small local gaps asks for a confirming global gap. */
    S->streak = P->tol_local > 0 && S->local_ni <= P->tol_local ? S->streak + 1 : 0;
    int confirm = S->streak >= (size_t)P->patience;
    if (confirm)
        S->streak = 0;
    if (S->iter % S->ni_every == 0 || last || confirm) {
        /* Value and local gap of the state whose global gap is measured
         * (the step's by-products are of the state before it). */
        rc = games_cp_eval_current(&S->cp, 0, ctx);
        if (rc != GAMES_EXPR_OK)
            return payoff_failure(S, rc, err);
        S->local_ni = S->cp.local_ni;
        S->value = S->cp.value;
        ms_status s = global_gap(S, S->cp.s.a, S->cp.s.b, ctx, err);
        if (s != MS_OK)
            return s;
        if (S->ni <= P->tol)
            S->converged = 1;
    }
    ms_progress_set(prog, "max_move", S->cp.max_move);
    ms_progress_set(prog, "eta_w", S->eta_w);
    ms_progress_set(prog, "eta_pos", S->eta_pos);
    return MS_OK;
}

/* §3 Lyapunov potential against the reference strategies, both players. */
static void lyapunov(nash_state *S, const double *a, const double *b, double out[3]) {
    const games_nash_params *P = S->P;
    double ox[3], oy[3];
    ms_measure rx = P->reference_x, ry = P->reference_y;
    double sx = ms_measure_mass(&rx), sy = ms_measure_mass(&ry);
    /* Reference weights are normalised on the fly (the params stay const). */
    games_lyapunov(&S->X, S->cp.s.x, a, S->m, rx.points, rx.weights, rx.n, P->lyap_alpha,
                   P->lyap_lambda, P->lyap_tau, S->eta_w, S->eta_pos_x, ox);
    games_lyapunov(&S->Y, S->cp.s.y, b, S->n, ry.points, ry.weights, ry.n, P->lyap_alpha,
                   P->lyap_lambda, P->lyap_tau, S->eta_w, S->eta_pos, oy);
    /* With weights w/s: Σ (w/s) log((w/s)/â) = (Σ w log(w/â))/s − log s. */
    out[0] = ox[0] / sx - log(sx) / S->eta_w + oy[0] / sy - log(sy) / S->eta_w;
    out[1] = ox[1] + oy[1];
    out[2] = ox[2] + oy[2];
}

static ms_status step_fixed(nash_state *S, const ms_ctx *ctx, ms_err *err) {
    ms_status s;
    if (S->fixed_lp) {
        size_t before = S->lp.pivots;
        if ((s = games_lp_iterate(&S->lp, LP_PIVOTS_PER_STEP, err)) != MS_OK)
            return s;
        S->iter += S->lp.pivots - before;
        if (!S->lp.done && S->iter < S->max_iter)
            return MS_OK;
        /* Optimal (or out of pivots): the weights and their gaps. */
        games_lp_solution(&S->lp, S->cp.s.a, S->cp.s.b, NULL);
        S->local_ni = games_matrix_gap(S->M, S->m, S->n, S->cp.s.a, S->cp.s.b, &S->value);
        if ((s = global_gap(S, S->cp.s.a, S->cp.s.b, ctx, err)) != MS_OK)
            return s;
        S->converged = S->lp.done && S->ni <= S->P->tol;
        S->max_iter = S->iter; /* done either way */
        return MS_OK;
    }
    if ((s = games_mp_step(&S->mp, ctx, err)) != MS_OK)
        return s;
    S->iter++;
    S->local_ni = games_matrix_gap(S->M, S->m, S->n, S->mp.p, S->mp.q, &S->value);
    memcpy(S->cp.s.a, S->mp.p, S->m * sizeof(double));
    memcpy(S->cp.s.b, S->mp.q, S->n * sizeof(double));
    if (S->iter % S->ni_every == 0 || S->iter >= S->max_iter) {
        s = global_gap(S, S->mp.p, S->mp.q, ctx, err);
        if (s != MS_OK)
            return s;
        if (S->ni <= S->P->tol)
            S->converged = 1;
    }
    return MS_OK;
}

static ms_status step_matrix(nash_state *S, const ms_ctx *ctx, ms_err *err) {
    if (S->mode == MODE_LP) {
        size_t before = S->lp.pivots;
        ms_status s = games_lp_iterate(&S->lp, LP_PIVOTS_PER_STEP, err);
        if (s != MS_OK)
            return s;
        S->iter += S->lp.pivots - before;
        if (S->lp.done) {
            games_lp_solution(&S->lp, S->pa, S->qa, NULL);
            S->ni = games_matrix_gap(S->M, S->m, S->n, S->pa, S->qa, &S->value);
            S->converged = 1;
        } else if (S->iter >= S->max_iter) {
            /* Not optimal yet: report the gap of the current basis. */
            games_lp_solution(&S->lp, S->pa, S->qa, NULL);
            S->ni = games_matrix_gap(S->M, S->m, S->n, S->pa, S->qa, &S->value);
        }
        return MS_OK;
    }
    ms_status s = games_mp_step(&S->mp, ctx, err);
    if (s != MS_OK)
        return s;
    S->iter++;
    double v_last, v_avg;
    double ni_last = games_matrix_gap(S->M, S->m, S->n, S->mp.p, S->mp.q, &v_last);
    games_mp_average(&S->mp, S->pa, S->qa);
    double ni_avg = games_matrix_gap(S->M, S->m, S->n, S->pa, S->qa, &v_avg);
    S->use_avg = ni_avg < ni_last;
    S->ni_avg = ni_avg;
    S->ni = fmin(ni_avg, ni_last);
    S->value = S->use_avg ? v_avg : v_last;
    S->local_ni = ni_last;
    if (S->ni <= S->P->tol)
        S->converged = 1;
    if ((S->iter % S->ni_every == 0 || S->converged || S->iter >= S->max_iter) &&
        S->hist_n < S->hist_cap) {
        S->hist_it[S->hist_n] = (double)S->iter;
        S->hist_ni[S->hist_n++] = ni_last;
    }
    return MS_OK;
}

static ms_status nash_step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    nash_state *S = state;
    ms_status s;
    if (S->mode == MODE_CP)
        s = step_cp(S, ctx, prog, err);
    else if (S->mode == MODE_FIXED)
        s = step_fixed(S, ctx, err);
    else
        s = step_matrix(S, ctx, err);
    if (s != MS_OK)
        return s;
    prog->iteration = S->iter;
    prog->fraction = S->max_iter ? fmin(1.0, (double)S->iter / (double)S->max_iter) : NAN;
    ms_progress_set(prog, "value", S->value);
    if (S->mode == MODE_CP || S->mode == MODE_FIXED) {
        ms_progress_set(prog, "local_nash_gap", S->local_ni);
        ms_progress_set(prog, "eff_support_x", games_eff_support(S->cp.s.a, S->m));
        ms_progress_set(prog, "eff_support_y", games_eff_support(S->cp.s.b, S->n));
    } else if (S->mode == MODE_MP) {
        ms_progress_set(prog, "nash_gap_last", S->local_ni);
        ms_progress_set(prog, "nash_gap_avg", S->ni_avg);
    }
    if (!isnan(S->ni)) {
        ms_progress_set(prog, "nash_gap", S->ni);
        ms_progress_set(prog, "nash_gap_is_lower_bound", S->ni_lb);
    }
    if (S->n_clusters_x) {
        ms_progress_set(prog, "n_clusters_x", (double)S->n_clusters_x);
        ms_progress_set(prog, "n_clusters_y", (double)S->n_clusters_y);
    }
    if ((S->mode == MODE_CP || S->mode == MODE_FIXED) && S->P->reference_x.weights) {
        double L[3];
        lyapunov(S, S->cp.s.a, S->cp.s.b, L);
        ms_progress_set(prog, "lyapunov", L[0] + L[1] + L[2]);
        ms_progress_set(prog, "lyapunov_w", L[0]);
        ms_progress_set(prog, "lyapunov_pos", L[1]);
        ms_progress_set(prog, "lyapunov_outside", L[2]);
    }
    if (S->converged || S->iter >= S->max_iter) {
        prog->done = 1;
        prog->fraction = 1;
    }
    return MS_OK;
}

static ms_status result_matrix(nash_state *S, ms_value *out) {
    const double *p = S->mode == MODE_MP && !S->use_avg ? S->mp.p : S->pa;
    const double *q = S->mode == MODE_MP && !S->use_avg ? S->mp.q : S->qa;
    ms_obj_vec(ms_obj_obj(out, "x"), "weights", p, S->m, 1);
    ms_obj_vec(ms_obj_obj(out, "y"), "weights", q, S->n, 1);
    ms_obj_num(out, "value", S->value);
    ms_obj_num(out, "nash_gap", S->ni);
    ms_obj_bool(out, "nash_gap_is_lower_bound", 0);
    if (S->mode == MODE_MP) {
        ms_obj_str(out, "strategies", S->use_avg ? "average" : "last");
        /* The last iterate's exact gap every ni_every iterations. */
        ms_value *h = ms_obj_obj(out, "gap_history");
        ms_obj_vec(h, "iterations", S->hist_it, S->hist_n, 1);
        ms_obj_vec(h, "nash_gap", S->hist_ni, S->hist_n, 1);
    }
    return MS_OK;
}

static ms_status aggregated(ms_value *out, const char *key, const games_space *sp, const double *x,
                            const double *w, size_t n, double tau) {
    double *cx = ms_malloc(n * sp->dim, sizeof(double)), *cw = ms_malloc(n, sizeof(double));
    unsigned char *taken = ms_malloc(n, 1);
    ms_status s = MS_ENOMEM;
    if (cx && cw && taken) {
        size_t k = games_space_aggregate(sp, x, w, n, tau, cx, cw, taken);
        s = ms_obj_measure(out, key, cx, k, sp->dim, cw);
    }
    ms_free(cx);
    ms_free(cw);
    ms_free(taken);
    return s;
}

static ms_status nash_result(void *state, ms_value *out, ms_err *err) {
    nash_state *S = state;
    static const char *const names[] = {
        "auto",           "lp",     "mirror_prox",       "mirror_descent",
        "cp_mirror_prox", "cp_mda", "cp_proximal_point", "fixed_support"};
    ms_obj_str(out, "method", names[S->method]);
    ms_obj_int(out, "iterations", (long long)S->iter);
    ms_obj_bool(out, "converged", S->converged);
    if (S->mode == MODE_LP || S->mode == MODE_MP)
        return result_matrix(S, out);
    const double *a = S->cp.s.a, *b = S->cp.s.b;
    /* The gap is always computed at the last iteration; make sure it is of
     * the final state (a diverged-and-restored run may have moved on). */
    if (S->ni_iter != S->iter || isnan(S->ni)) {
        ms_ctx c1 = {1, NULL};
        if (S->mode == MODE_CP && games_cp_eval_current(&S->cp, 0, &c1) == GAMES_EXPR_OK) {
            S->local_ni = S->cp.local_ni;
            S->value = S->cp.value;
        }
        ms_status s = global_gap(S, a, b, &c1, err);
        if (s != MS_OK)
            return s;
    }
    ms_obj_measure(out, "x", S->cp.s.x, S->m, S->X.dim, a);
    ms_obj_measure(out, "y", S->cp.s.y, S->n, S->Y.dim, b);
    ms_obj_num(out, "value", S->value);
    ms_obj_num(out, "nash_gap", S->ni);
    ms_obj_bool(out, "nash_gap_is_lower_bound", S->ni_lb);
    ms_obj_num(out, "local_nash_gap", S->local_ni);
    ms_obj_vec(out, "best_response_x", S->argx, S->X.dim, 1);
    ms_obj_vec(out, "best_response_y", S->argy, S->Y.dim, 1);
    ms_obj_num(out, "eff_support_x", games_eff_support(a, S->m));
    ms_obj_num(out, "eff_support_y", games_eff_support(b, S->n));
    aggregated(out, "x_aggregated", &S->X, S->cp.s.x, a, S->m, S->P->tau_agg);
    aggregated(out, "y_aggregated", &S->Y, S->cp.s.y, b, S->n, S->P->tau_agg);
    ms_value *h = ms_obj_obj(out, "gap_history");
    ms_obj_vec(h, "iterations", S->hist_it, S->hist_n, 1);
    ms_obj_vec(h, "nash_gap", S->hist_ni, S->hist_n, 1);
    if (S->mode == MODE_CP) {
        ms_obj_num(out, "eta_w", S->eta_w);
        ms_obj_num(out, "eta_pos", S->eta_pos);
        ms_obj_int(out, "step_halvings", (long long)S->halvings);
    }
    return MS_OK;
}

/* Bytes a run holds (admission control): the tableau or mirror prox
 * vectors for matrices; for continuous games four particle states, fields,
 * best-response candidates (grid or starts plus atoms, values and
 * gradients), the fixed-support matrix and the gap history. Upper bounds:
 * dimensions are taken at the 32-coordinate cap when not known here. */
static size_t nash_memory(const void *params) {
    const games_nash_params *P = params;
    size_t hist = 2 * ((size_t)P->max_iter + 2) * sizeof(double);
    if (P->game.matrix.v) {
        size_t m = P->game.matrix.rows, n = P->game.matrix.cols;
        return games_nash__method(P) == NASH_LP ? (n + 1) * (m + n + 1) * sizeof(double)
                                                : 14 * (m + n) * sizeof(double) + hist;
    }
    const games_game_params *g = &P->game;
    size_t d = GAMES_SPACE_MAX_DIM, e = GAMES_SPACE_MAX_DIM;
    if (!games_nash__is_net(g) && g->x_space.present && g->y_space.present) {
        size_t dx = games_space_params_dim(&g->x_space), dy = games_space_params_dim(&g->y_space);
        d = dx ? dx : d;
        e = dy ? dy : e;
    }
    size_t m = P->x_init.weights ? P->x_init.n : (size_t)P->particles_x;
    size_t n = P->y_init.weights ? P->y_init.n : (size_t)P->particles_y;
    if (games_nash__is_net(g))
        m = g->data.rows * (g->family == GAMES_FAM_DRO_2NN ? (size_t)g->adversaries : 1);
    /* Grids round m, n up to perfect powers: at most 2^dim times more. */
    size_t doubles = 4 * (m * (2 + d) + n * (2 + e)) + m * (1 + d) + n * (1 + e);
    if (g->family != GAMES_FAM_RANDOM_FOURIER)
        doubles += GAMES_FIELD_BLOCKS * n * (1 + e); /* one-pass fields */
    size_t cand = (size_t)P->ni_grid_max + (size_t)P->ni_starts;
    doubles += (cand + m) * (2 * d + 1) + (cand + n) * (2 * e + 1);
    if (games_nash__method(P) == NASH_FIXED_SUPPORT)
        doubles += m * n + (P->fixed_solver == 1 ? (n + 1) * (m + n + 1) : 0);
    return doubles * sizeof(double) + hist;
}

const ms_kind games_nash_kind = {
    .name = "nash",
    .title = "Mixed Nash equilibrium of a zero-sum game",
    .description =
        "A mixed Nash equilibrium of a two-player zero-sum game where x minimises and y "
        "maximises the payoff. Matrix games: exact linear programming (simplex) or entropic "
        "mirror prox (Nemirovski 2004). Continuous games on tori, boxes, spheres, balls and "
        "euclidean spaces (R^d with a search box for initial atoms and best responses), with "
        "a payoff expression or a built-in family: conic particle mirror prox, MDA and proximal "
        "point (Wang & Chizat, arXiv:2211.01280), or weights-only mirror prox on fixed atoms. "
        "Expression payoffs are admitted only when their estimated work (tape nodes x (d+e+1) x "
        "pair evaluations of the run, gap searches included) is within expr_budget. "
        "The Nikaido-Isoda gap of the returned strategies is reported; for continuous games the "
        "best responses are searched (grid + gradient ascent, or random starts), and "
        "nash_gap_is_lower_bound says when no full grid was used. Result: x, y (measures; for a "
        "matrix game weights only), value, nash_gap, nash_gap_is_lower_bound, iterations, "
        "converged, method; matrix mirror prox adds strategies (last or average) and "
        "gap_history; continuous games add local_nash_gap (best responses among the atoms), "
        "best_response_x/y (the maximisers), eff_support_x/y (1/sum w^2), x_aggregated and "
        "y_aggregated (atoms within tau_agg merged), gap_history {iterations, nash_gap}, and for "
        "particle methods eta_w, eta_pos, step_halvings. Progress metrics: value, "
        "local_nash_gap, nash_gap (when computed), eff_support_x/y, n_clusters_x/y, max_move, "
        "eta_w, eta_pos, step_halvings, lyapunov* (with reference_x/y).",
    .params = &games_nash__fields,
    .example = "{\"game\": {\"family\": \"trig_2x2\", \"x_space\": {\"type\": \"torus\", \"dim\": "
               "1}, \"y_space\": {\"type\": \"torus\", \"dim\": 1}}, \"particles_x\": 4, "
               "\"particles_y\": 4, \"eta_w\": 0.1, \"eta_pos\": 0.002, \"max_iter\": 200}",
    .state_size = sizeof(nash_state),
    .check = games_nash__check,
    .memory = nash_memory,
    .init = nash_init,
    .step = nash_step,
    .result = nash_result,
    .fini = nash_fini,
};
