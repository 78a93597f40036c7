/* games_minmax.c — the `minmax` job kind: gradient methods for smooth
 * two-player zero-sum games min_x max_y f(x, y) and local diagnostics at
 * the point found (games.md §7; Wang & Chizat, arXiv:2305.17275 [P2]).
 *
 * With z = (x, y) and v(z) = (∇ₓf, −∇ᵧf), the methods are (§7.1)
 *   gda             z⁺ = z − η v(z)
 *   alt_gda         x⁺ = x − η∇ₓf(x, y), then y⁺ = y + η∇ᵧf(x⁺, y)
 *   extragradient   z½ = z − η v(z), z⁺ = z − η v(z½)
 *   ogda            z⁺ = z − 2η v(z) + η v(z⁻)  (z⁻ the previous iterate)
 *   proximal_point  z⁺ = z − η v(z⁺), by fixed-point iterations
 * on a payoff expression (games_expr.h) or a quadratic
 * f = ½xᵀPx + xᵀBy − ½yᵀQy. With optional domains X ∋ x, Y ∋ y (box, ball,
 * sphere, torus; games_space.h) every update is followed by the projection
 * Π = (Π_X, Π_Y) (alternating GDA projects each half; the proximal point's
 * fixed-point map becomes w ← Π(z − η v(w)), the resolvent of v plus the
 * normal cone of a convex domain), and the stationarity measure is the
 * natural residual r(z) = ‖z − Π(z − η v(z))‖/η, which is ‖v‖ without
 * domains. A run stops when r ≤ tol (converged), when r exceeds 1e6 times
 * its initial value (diverged: a result, not an error) or at max_iter. The
 * diagnostics (games_diag.h) use the Jacobian of v at the final point by
 * central differences (the unconstrained linearisation: meaningful at
 * interior points).
 *
 * What it is not for: mixed strategies (the `nash` kind).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "games_diag.h"
#include "games_expr.h"
#include "games_minmax_internal.h"
#include "games_space.h"
#include "ms_alloc.h"
#include "ms_kind.h"

#define NAN_ NAN
static const char *const diagnose_points[] = {"final", "reference", NULL};
static const ms_field quad_f[] = {
    {"P", MS_F_MAT, offsetof(games_minmax_quad, P), MS_FF_REQUIRED, 0, 0, NAN_, NULL, NULL, NULL,
     4096, "d×d matrix of the x-x term ½xᵀPx."},
    {"B", MS_F_MAT, offsetof(games_minmax_quad, B), MS_FF_REQUIRED, 0, 0, NAN_, NULL, NULL, NULL,
     4096, "d×e coupling matrix of xᵀBy."},
    {"Q", MS_F_MAT, offsetof(games_minmax_quad, Q), MS_FF_REQUIRED, 0, 0, NAN_, NULL, NULL, NULL,
     4096, "e×e matrix of the y-y term −½yᵀQy."},
};
static const ms_fields quad_fields = MS_FIELDS(games_minmax_quad, quad_f);

#define M_ games_minmax_params
static const ms_field minmax_f[] = {
    {"payoff", MS_F_STRING, offsetof(M_, payoff), 0, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_EXPR_MAX_SRC,
     "f(x, y) as an expression over x1..xd, y1..ye (d, e: the lengths of x0, y0), pi, e and "
     "`params` (the nash kind's expression language). One of payoff / quadratic."},
    {"params", MS_F_DICT, offsetof(M_, params), 0, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_EXPR_MAX_PARAMS, "Named constants of the payoff expression."},
    {"quadratic", MS_F_OBJECT, offsetof(M_, quadratic), 0, 0, 0, NAN_, NULL, NULL, &quad_fields, 0,
     "f = ½xᵀPx + xᵀBy − ½yᵀQy."},
    {"x0", MS_F_VEC, offsetof(M_, x0), MS_FF_REQUIRED, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_EXPR_MAX_DIM, "Initial x (its length is d)."},
    {"y0", MS_F_VEC, offsetof(M_, y0), MS_FF_REQUIRED, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_EXPR_MAX_DIM, "Initial y (its length is e)."},
    {"method", MS_F_ENUM, offsetof(M_, method), 0, 0, 0, NAN_, "extragradient", games_method_names,
     NULL, 0,
     "gda, alt_gda (x then y at the new x), extragradient, ogda (optimistic), proximal_point."},
    {"eta", MS_F_DOUBLE, offsetof(M_, eta), MS_FF_MIN_EXCL, 0, 0, 0.1, NULL, NULL, NULL, 0,
     "Step size."},
    {"max_iter", MS_F_INT, offsetof(M_, max_iter), MS_FF_MIN | MS_FF_MAX, 1, 1e9, 1000, NULL, NULL,
     NULL, 0, "Iterations."},
    {"tol", MS_F_DOUBLE, offsetof(M_, tol), MS_FF_MIN, 0, 0, 1e-10, NULL, NULL, NULL, 0,
     "Stop when the norm of v = (grad_x f, -grad_y f) is at most tol."},
    {"diagnostics", MS_F_BOOL, offsetof(M_, diagnostics), 0, 0, 0, 1, NULL, NULL, NULL, 0,
     "Compute the local diagnostics at the final point (Jacobian, S, A, spectra, predicted "
     "rates)."},
    {"etas", MS_F_VEC, offsetof(M_, etas), MS_FF_MIN_EXCL, 0, 0, NAN_, NULL, NULL, NULL, 64,
     "Step sizes at which the diagnostics predict each method's rate (default: eta)."},
    {"fd_step", MS_F_DOUBLE, offsetof(M_, fd_step), MS_FF_MIN_EXCL | MS_FF_MAX, 0, 0.1, 1e-5, NULL,
     NULL, NULL, 0, "Relative central-difference step of the Jacobian of v."},
    {"nash_tol", MS_F_DOUBLE, offsetof(M_, nash_tol), MS_FF_MIN, 0, 0, 1e-7, NULL, NULL, NULL, 0,
     "Tolerance of the local Nash check on the Hessian blocks' eigenvalues."},
    {"reference", MS_F_VEC, offsetof(M_, reference), 0, 0, 0, NAN_, NULL, NULL, NULL,
     2 * GAMES_EXPR_MAX_DIM, "A known solution z* = (x*, y*): progress reports the distance."},
    {"diagnose_at", MS_F_ENUM, offsetof(M_, diagnose_at), 0, 0, 0, NAN_, "final", diagnose_points,
     NULL, 0, "Where the diagnostics linearise the game: the final point or `reference`."},
    {"x_domain", MS_F_OBJECT, offsetof(M_, x_domain), 0, 0, 0, NAN_, NULL, NULL,
     &games_space_fields, 0,
     "Optional domain of x (box low/high, ball radius, sphere, torus; dim defaults to the length "
     "of x0): every update is projected onto it and x0 is projected first. Default: R^d."},
    {"y_domain", MS_F_OBJECT, offsetof(M_, y_domain), 0, 0, 0, NAN_, NULL, NULL,
     &games_space_fields, 0, "Optional domain of y (as x_domain). Default: R^e."},
    {"expr_budget", MS_F_DOUBLE, offsetof(M_, expr_budget), MS_FF_MIN_EXCL, 0, 0,
     GAMES_EXPR_DEFAULT_BUDGET, NULL, NULL, NULL, 0,
     "Admission bound on the payoff expression's work (games.md §2): tape nodes × (d + e + 1) × "
     "evaluations, with 1 per iteration for gda and ogda, 2 for alt_gda and extragradient, "
     "pp_max_inner + 1 for proximal_point, over max_iter iterations, plus 2(d + e) for the "
     "diagnostics' Jacobian; jobs above it are rejected at max_iter."},
    {"pp_max_inner", MS_F_INT, offsetof(M_, pp_max_inner), MS_FF_MIN | MS_FF_MAX, 1, 100000, 100,
     NULL, NULL, NULL, 0, "Proximal point: fixed-point iterations per step (to 1e-12)."},
    {"seed", MS_F_INT, offsetof(M_, seed), 0, 0, 0, 0, NULL, NULL, NULL, 0,
     "Seed (the methods are deterministic)."},
    {"threads", MS_F_INT, offsetof(M_, threads), MS_FF_MIN | MS_FF_MAX, 1, 256, 1, NULL, NULL, NULL,
     0, "Threads (unused: one evaluation per step)."},
};
#undef M_
static const ms_fields minmax_fields = MS_FIELDS(games_minmax_params, minmax_f);

/* Payoff evaluations (value and gradients) of a whole run. */
static double evaluations(const games_minmax_params *P, size_t n) {
    double per_iter = 1;
    switch ((games_method)P->method) {
    case GAMES_M_ALT_GDA:
    case GAMES_M_EXTRAGRADIENT:
        per_iter = 2;
        break;
    case GAMES_M_PROXIMAL_POINT:
        per_iter = (double)P->pp_max_inner + 1;
        break;
    default:
        break;
    }
    return 1 + per_iter * (double)P->max_iter + (P->diagnostics ? 2.0 * (double)n : 0);
}

static void check_domain(const games_space_params *sp, const char *at, size_t dim,
                         ms_errlist *errs) {
    if (!sp->present || !dim)
        return;
    if (sp->type == GAMES_EUCLIDEAN) {
        char f[MS_ERR_FIELD_MAX];
        snprintf(f, sizeof f, "%s/type", at);
        ms_errlist_addf(errs, MS_EINVAL, f, "euclidean is the default: omit %s", at);
        return;
    }
    games_space_params_check(sp, at, dim, errs);
}

static ms_status minmax_check(const void *params, ms_errlist *errs) {
    const games_minmax_params *P = params;
    size_t before = errs->n + errs->dropped, d = P->x0.n, e = P->y0.n;
    if ((P->payoff != NULL) == (P->quadratic.present != 0)) {
        ms_errlist_addf(errs, MS_EINVAL, "payoff", "give exactly one of payoff, quadratic");
        return MS_EINVAL;
    }
    if (d == 0 || e == 0)
        ms_errlist_addf(errs, MS_EINVAL, d == 0 ? "x0" : "y0", "must not be empty");
    if (P->payoff && d && e) {
        games_expr *ex = NULL;
        ms_err err;
        if (games_expr_compile(P->payoff, d, e, (const char *const *)P->params.names,
                               P->params.values, P->params.n, "payoff", "params", &ex, NULL,
                               &err) != MS_OK) {
            ms_errlist_add(errs, &err);
        } else {
            double ev = evaluations(P, d + e);
            double w = (double)games_expr_length(ex) * (double)(d + e + 1) * ev;
            if (w > P->expr_budget)
                ms_errlist_addf(errs, MS_EINVAL, "max_iter",
                                "estimated payoff work %.3g exceeds expr_budget %.3g: %zu tape "
                                "nodes × (d+e+1) per evaluation, %.3g evaluations",
                                w, P->expr_budget, games_expr_length(ex), ev);
        }
        games_expr_free(ex);
    }
    if (P->quadratic.present) {
        const games_minmax_quad *q = &P->quadratic;
        if (q->P.rows != d || q->P.cols != d)
            ms_errlist_addf(errs, MS_EINVAL, "quadratic/P", "must be %zu×%zu (x0 has %zu entries)",
                            d, d, d);
        if (q->B.rows != d || q->B.cols != e)
            ms_errlist_addf(errs, MS_EINVAL, "quadratic/B", "must be %zu×%zu", d, e);
        if (q->Q.rows != e || q->Q.cols != e)
            ms_errlist_addf(errs, MS_EINVAL, "quadratic/Q", "must be %zu×%zu (y0 has %zu entries)",
                            e, e, e);
    }
    check_domain(&P->x_domain, "x_domain", d, errs);
    check_domain(&P->y_domain, "y_domain", e, errs);
    if (P->diagnose_at == 1 && !P->reference.v)
        ms_errlist_addf(errs, MS_EINVAL, "reference", "is required with diagnose_at = reference");
    if (P->reference.v && P->reference.n != d + e)
        ms_errlist_addf(errs, MS_EINVAL, "reference", "must have %zu entries (x then y)", d + e);
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}

typedef struct minmax_state {
    const games_minmax_params *P;
    games_expr *ex;
    size_t d, e, n, iter;
    double *z, *zh, *zp, *v, *vh, *vp, *w, *ws; /* n each (ws: expression scratch) */
    games_space X, Y;                           /* domains, when has_x / has_y */
    int has_x, has_y;
    double v0, vnorm, res, f; /* ‖v‖, the residual (stopping measure) */
    int converged, diverged;
    double log_v_first, log_v_last;
    size_t log_first_iter;
} minmax_state;

static void minmax_fini(void *state) {
    minmax_state *S = state;
    games_expr_free(S->ex);
    double *b[] = {S->z, S->zh, S->zp, S->v, S->vh, S->vp, S->w, S->ws};
    for (size_t k = 0; k < 8; k++)
        ms_free(b[k]);
    memset(S, 0, sizeof *S);
}

/* v(z) = (∇ₓf, −∇ᵧf) and f; returns a GAMES_EXPR_* code. */
static int field(minmax_state *S, const double *z, double *v, double *f) {
    size_t d = S->d, e = S->e;
    if (S->ex) {
        int rc = games_expr_eval(S->ex, z, z + d, f, v, v + d, S->ws);
        for (size_t j = 0; j < e; j++)
            v[d + j] = -v[d + j];
        return rc;
    }
    const games_minmax_quad *q = &S->P->quadratic;
    const double *x = z, *y = z + d;
    double val = 0;
    for (size_t i = 0; i < d; i++) {
        double px = 0, by = 0;
        for (size_t k = 0; k < d; k++)
            px += q->P.v[i * d + k] * x[k];
        for (size_t j = 0; j < e; j++)
            by += q->B.v[i * e + j] * y[j];
        v[i] = px + by;
        val += x[i] * (0.5 * px + by);
    }
    for (size_t j = 0; j < e; j++) {
        double btx = 0, qy = 0;
        for (size_t i = 0; i < d; i++)
            btx += q->B.v[i * e + j] * x[i];
        for (size_t k = 0; k < e; k++)
            qy += q->Q.v[j * e + k] * y[k];
        v[d + j] = -(btx - qy);
        val -= 0.5 * y[j] * qy;
    }
    *f = val;
    for (size_t k = 0; k < d + e; k++)
        if (!isfinite(v[k]))
            return GAMES_EXPR_NONFINITE;
    return isfinite(val) ? GAMES_EXPR_OK : GAMES_EXPR_NONFINITE;
}

static double norm(const double *v, size_t n) {
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += v[k] * v[k];
    return sqrt(s);
}

/* Π on the x block (0), the y block (1) or both (2). */
static void project(const minmax_state *S, double *z, int which) {
    if (S->has_x && which != 1)
        games_space_retract(&S->X, z);
    if (S->has_y && which != 0)
        games_space_retract(&S->Y, z + S->d);
}

/* Natural residual ‖z − Π(z − η v(z))‖/η (differences taken the short way
 * on a torus), with S->v = v(z); ‖v‖ without domains. Uses S->zp. */
static double residual(minmax_state *S) {
    if (!S->has_x && !S->has_y)
        return S->vnorm;
    size_t n = S->n, d = S->d;
    double eta = S->P->eta, *p = S->zp;
    for (size_t k = 0; k < n; k++)
        p[k] = S->z[k] - eta * S->v[k];
    project(S, p, 2);
    double dz[2 * GAMES_SPACE_MAX_DIM];
    for (size_t k = 0; k < n; k++)
        dz[k] = p[k] - S->z[k];
    if (S->has_x)
        games_space_diff(&S->X, S->z, p, dz);
    if (S->has_y)
        games_space_diff(&S->Y, S->z + d, p + d, dz + d);
    return norm(dz, n) / eta;
}

static ms_status minmax_init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    minmax_state *S = state;
    memset(S, 0, sizeof *S);
    const games_minmax_params *P = params;
    S->P = P;
    S->d = P->x0.n;
    S->e = P->y0.n;
    S->n = S->d + S->e;
    size_t ws = 1;
    if (P->payoff) {
        ms_status s = games_expr_compile(P->payoff, S->d, S->e,
                                         (const char *const *)P->params.names, P->params.values,
                                         P->params.n, "payoff", "params", &S->ex, NULL, err);
        if (s != MS_OK)
            return s;
        ws = games_expr_ws_size(S->ex);
    }
    double **b[] = {&S->z, &S->zh, &S->zp, &S->v, &S->vh, &S->vp, &S->w};
    for (size_t k = 0; k < 7; k++)
        if (!(*b[k] = ms_calloc(S->n, sizeof(double)))) {
            minmax_fini(S);
            return ms_fail(err, MS_ENOMEM, "", "workspaces");
        }
    if (!(S->ws = ms_malloc(ws, sizeof(double)))) {
        minmax_fini(S);
        return ms_fail(err, MS_ENOMEM, "", "workspaces");
    }
    memcpy(S->z, P->x0.v, S->d * sizeof(double));
    memcpy(S->z + S->d, P->y0.v, S->e * sizeof(double));
    if ((S->has_x = P->x_domain.present))
        games_space_from_params(&P->x_domain, S->d, &S->X);
    if ((S->has_y = P->y_domain.present))
        games_space_from_params(&P->y_domain, S->e, &S->Y);
    project(S, S->z, 2);
    if (field(S, S->z, S->v, &S->f) != GAMES_EXPR_OK) {
        minmax_fini(S);
        return ms_fail(err, MS_ENUMERIC, "x0", "payoff or gradient not finite at the start");
    }
    memcpy(S->vp, S->v, S->n * sizeof(double)); /* OGDA: v(z₋₁) = v(z₀) */
    S->vnorm = norm(S->v, S->n);
    S->v0 = S->res = residual(S);
    S->converged = S->res <= P->tol;
    return MS_OK;
}

/* One step of the chosen method from S->z (with S->v = v(z)). */
static int method_step(minmax_state *S) {
    const games_minmax_params *P = S->P;
    size_t n = S->n, d = S->d;
    double eta = P->eta, f;
    int rc = GAMES_EXPR_OK;
    switch ((games_method)P->method) {
    case GAMES_M_GDA:
        for (size_t k = 0; k < n; k++)
            S->z[k] -= eta * S->v[k];
        project(S, S->z, 2);
        break;
    case GAMES_M_ALT_GDA:
        for (size_t k = 0; k < d; k++)
            S->z[k] -= eta * S->v[k];
        project(S, S->z, 0);
        rc = field(S, S->z, S->vh, &f);
        for (size_t k = d; k < n; k++)
            S->z[k] -= eta * S->vh[k];
        project(S, S->z, 1);
        break;
    case GAMES_M_EXTRAGRADIENT:
        for (size_t k = 0; k < n; k++)
            S->zh[k] = S->z[k] - eta * S->v[k];
        project(S, S->zh, 2);
        rc = field(S, S->zh, S->vh, &f);
        for (size_t k = 0; k < n; k++)
            S->z[k] -= eta * S->vh[k];
        project(S, S->z, 2);
        break;
    case GAMES_M_OGDA:
        for (size_t k = 0; k < n; k++) {
            double vk = S->v[k];
            S->z[k] -= 2 * eta * vk - eta * S->vp[k];
            S->vp[k] = vk;
        }
        project(S, S->z, 2);
        break;
    case GAMES_M_PROXIMAL_POINT: {
        /* w ← Π(z − η v(w)) from w = Π(z − η v(z)); contractive when
         * η·Lip(v) < 1 (Π is non-expansive on a convex domain). */
        for (size_t k = 0; k < n; k++)
            S->w[k] = S->z[k] - eta * S->v[k];
        project(S, S->w, 2);
        double zn = norm(S->z, n);
        for (long long it = 0; it < P->pp_max_inner && rc == GAMES_EXPR_OK; it++) {
            rc = field(S, S->w, S->vh, &f);
            for (size_t k = 0; k < n; k++)
                S->zp[k] = S->z[k] - eta * S->vh[k];
            project(S, S->zp, 2);
            double dw = 0;
            for (size_t k = 0; k < n; k++)
                dw += (S->zp[k] - S->w[k]) * (S->zp[k] - S->w[k]);
            memcpy(S->w, S->zp, n * sizeof(double));
            if (sqrt(dw) <= 1e-12 * (1 + zn))
                break;
        }
        memcpy(S->z, S->w, n * sizeof(double));
        break;
    }
    }
    if (rc != GAMES_EXPR_OK)
        return rc;
    return field(S, S->z, S->v, &S->f);
}

static ms_status minmax_step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    (void)ctx;
    minmax_state *S = state;
    const games_minmax_params *P = S->P;
    if (!S->converged) {
        int rc = method_step(S);
        S->iter++;
        if (rc != GAMES_EXPR_OK)
            return ms_fail(err, MS_ENUMERIC, "payoff", "%s at iteration %zu",
                           rc == GAMES_EXPR_DOMAIN ? "outside its domain" : "not finite", S->iter);
        S->vnorm = norm(S->v, S->n);
        S->res = residual(S);
        if (S->res <= P->tol)
            S->converged = 1;
        else if (S->res > 1e6 * fmax(S->v0, 1e-300))
            S->diverged = 1;
        /* The observed factor is measured over the second half of the run. */
        if (S->iter == (size_t)(P->max_iter / 2) || S->iter == 1) {
            S->log_v_first = log(S->res);
            S->log_first_iter = S->iter;
        }
        S->log_v_last = log(fmax(S->res, 1e-300));
    }
    prog->iteration = S->iter;
    prog->fraction = (double)S->iter / (double)P->max_iter;
    ms_progress_set(prog, "f", S->f);
    ms_progress_set(prog, "grad_norm", S->vnorm);
    ms_progress_set(prog, "residual", S->res);
    if (P->reference.v) {
        double s = 0;
        for (size_t k = 0; k < S->n; k++)
            s += (S->z[k] - P->reference.v[k]) * (S->z[k] - P->reference.v[k]);
        ms_progress_set(prog, "dist_to_ref", sqrt(s));
    }
    if (S->converged || S->diverged || S->iter >= (size_t)P->max_iter) {
        prog->done = 1;
        prog->fraction = 1;
    }
    return MS_OK;
}

/* Jacobian of v by central differences (n×n, row-major: J[i][k] = ∂v_i/∂z_k). */
static int jacobian(minmax_state *S, const double *z, double *J) {
    size_t n = S->n;
    double f;
    for (size_t k = 0; k < n; k++) {
        double h = S->P->fd_step * fmax(1.0, fabs(z[k]));
        memcpy(S->zh, z, n * sizeof(double));
        S->zh[k] += h;
        int rc = field(S, S->zh, S->vh, &f);
        S->zh[k] -= 2 * h;
        rc |= field(S, S->zh, S->vp, &f);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++)
            J[i * n + k] = (S->vh[i] - S->vp[i]) / (2 * h);
    }
    return GAMES_EXPR_OK;
}

static ms_status diagnostics(minmax_state *S, ms_value *out, ms_err *err) {
    size_t n = S->n;
    double *J = ms_malloc(n * n, sizeof(double));
    if (!J)
        return ms_fail(err, MS_ENOMEM, "", "Jacobian");
    ms_status s = MS_OK;
    /* At the final point, or at a known solution when asked (a diverged
     * run's final point says nothing about the equilibrium). */
    const double *z = S->P->diagnose_at == 1 ? S->P->reference.v : S->z;
    if (jacobian(S, z, J) != GAMES_EXPR_OK) {
        ms_free(J);
        return ms_fail(err, MS_ENUMERIC, "payoff", "not finite near the final point");
    }
    games_diag g;
    if ((s = games_diag_compute(J, S->d, S->e, S->P->nash_tol, &g, err)) != MS_OK) {
        ms_free(J);
        return s;
    }
    ms_value *D = ms_obj_obj(out, "diagnostics");
    ms_obj_vec(D, "at", z, n, 1);
    ms_obj_mat(D, "jacobian", J, n, n, n);
    ms_obj_vec(D, "eig_J_re", g.eig_re, n, 1);
    ms_obj_vec(D, "eig_J_im", g.eig_im, n, 1);
    ms_obj_vec(D, "eig_S", g.eig_S, n, 1);
    ms_obj_vec(D, "eig_hess_xx", g.eig_hxx, S->d, 1);
    ms_obj_vec(D, "eig_hess_yy", g.eig_hyy, S->e, 1);
    ms_obj_bool(D, "is_local_nash", g.is_local_nash);
    ms_obj_num(D, "min_re_eig_J", g.min_re);
    ms_obj_num(D, "mean_eig_S", g.mean_S);
    ms_obj_num(D, "min_eig_S", g.min_S);
    ms_obj_num(D, "general_position", g.general_position);
    ms_value *arr = ms_obj_arr(D, "methods");
    const ms_vec *etas = &S->P->etas;
    size_t ne = etas->v ? etas->n : 1;
    for (int m = 0; m <= GAMES_M_PROXIMAL_POINT && s == MS_OK; m++)
        for (size_t k = 0; k < ne && s == MS_OK; k++) {
            double eta = etas->v ? etas->v[k] : S->P->eta, rho;
            s = games_diag_radius(J, S->d, S->e, (games_method)m, eta, &rho, err);
            ms_value *o = ms_arr_obj(arr);
            ms_obj_str(o, "method", games_method_names[m]);
            ms_obj_num(o, "eta", eta);
            ms_obj_num(o, "spectral_radius", rho);
            ms_obj_num(o, "rate_per_time", -log(rho) / eta);
        }
    games_diag_fini(&g);
    ms_free(J);
    return s;
}

static ms_status minmax_result(void *state, ms_value *out, ms_err *err) {
    minmax_state *S = state;
    ms_obj_vec(out, "x", S->z, S->d, 1);
    ms_obj_vec(out, "y", S->z + S->d, S->e, 1);
    ms_obj_num(out, "f", S->f);
    ms_obj_num(out, "grad_norm", S->vnorm);
    ms_obj_num(out, "residual", S->res);
    ms_obj_int(out, "iterations", (long long)S->iter);
    ms_obj_bool(out, "converged", S->converged);
    ms_obj_bool(out, "diverged", S->diverged);
    ms_obj_str(out, "method", games_method_names[S->P->method]);
    /* Observed per-step factor of the residual (‖v‖ without domains) over
     * the second half of the run. */
    if (S->iter > S->log_first_iter)
        ms_obj_num(out, "observed_factor",
                   exp((S->log_v_last - S->log_v_first) / (double)(S->iter - S->log_first_iter)));
    if (S->P->diagnostics)
        return diagnostics(S, out, err);
    return MS_OK;
}

const ms_kind games_minmax_kind = {
    .name = "minmax",
    .title = "Gradient methods for min-max games, with local diagnostics",
    .description =
        "Runs gradient descent-ascent (simultaneous or alternating), extragradient, optimistic "
        "GDA or the proximal point method on a smooth zero-sum game min_x max_y f(x, y) given as "
        "an expression or a quadratic, optionally constrained to domains x_domain / y_domain "
        "(box, ball, sphere, torus: each update is projected, the proximal point solves "
        "w = P(z - eta v(w)), and runs stop on the natural residual |z - P(z - eta v)|/eta), "
        "then analyses the final point (Wang & Chizat, "
        "arXiv:2305.17275): the game Jacobian J of v = (grad_x f, -grad_y f), its symmetric part "
        "S and antisymmetric part A, their spectra, whether the point is a local Nash "
        "equilibrium, the average curvature tr(S)/dim against the minimum, how far the "
        "eigenvectors of A are from the kernel of S, and each method's predicted per-step "
        "contraction next to the observed one. Result: x, y, f, grad_norm, residual (= grad_norm "
        "without domains), iterations, converged, diverged, method, observed_factor (per-step "
        "factor of the residual over the second half of the run), diagnostics {at, jacobian, "
        "eig_J_re, eig_J_im, eig_S, eig_hess_xx, eig_hess_yy, "
        "is_local_nash, min_re_eig_J, mean_eig_S, min_eig_S, general_position, methods: "
        "[{method, eta, spectral_radius, rate_per_time}]} (the unconstrained linearisation). "
        "Expression payoffs are admitted only when their estimated work is within expr_budget. "
        "Progress: f, grad_norm, residual, dist_to_ref.",
    .params = &minmax_fields,
    .example = "{\"payoff\": \"x1*y1 + 0.1*x1^2\", \"x0\": [1.0], \"y0\": [0.5], "
               "\"method\": \"extragradient\", \"eta\": 0.2, \"max_iter\": 500}",
    .state_size = sizeof(minmax_state),
    .check = minmax_check,
    .init = minmax_init,
    .step = minmax_step,
    .result = minmax_result,
    .fini = minmax_fini,
};
