/* nets_scaling.c — the `scaling_path` job kind: lazy versus rich training of
 * a two-layer ReLU network as the initialisation scale α varies
 * ([NCU23] scaling path, [COB19] lazy training; mean-field.md §5, §6).
 *
 * What it is for: for each α of a list, gradient descent without penalty
 * (λ = 0) from a symmetric initialisation (pairs (a, w), (−a, w), so f_0 = 0)
 *   init mode   (NCU23): u(0) = α ū, step η·min(1, α^-2) (curvature ~ α²);
 *   output mode (COB19): u(0) = ū, objective α^-2 R(α f_u), step η;
 * until the training loss is below loss_tol or max_iter iterations, then the
 * predictor on a grid, the relative displacement |u − u0|/|u0|, the drift
 * of the tangent kernel, and the predictor of the linearised (kernel)
 * dynamics after the same number of steps. Also returned: the kernel interpolant
 * K(·,X) K(X,X)^{-1} y of the tangent kernel at ū, the α → ∞ limit of both
 * modes for the square loss (spec §5). By 2-homogeneity init scale α is
 * output scale α² with time multiplied by α² (spec §5).
 *
 * Two methods (spec §6): `path` is the above, (A) the optimisation path;
 * `penalized` is (B) the scaling path by particles: for each α, from
 * u = α ū, the minimiser of (1/m) Σ_i |u_i − α ū_i|² + L(f_u)/ρ for
 * ρ = rho_start, rho_start·rho_factor, ..., rho_end, each stage warm-started
 * from the last and solved by L-BFGS to a relative gradient tolerance
 * (nets_scaling_pen.c, which says why L-BFGS). One step is one L-BFGS
 * iteration. Same ū, grid outputs and metrics as (A), plus the final penalty
 * (1/m) Σ|u_i − α ū_i|² (an upper bound of W_2²(μ_u, μ_0^α), identity
 * coupling) and the per-stage gradients; no kernel-GD comparison (its steps
 * would not be comparable). Init scale only.
 *
 * What it is not for: the convex counterpart (C) of spec §6: not
 * implemented.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "nets_fields.h"
#include "nets_internal.h"

typedef struct sp_params {
    long long seed, threads, max_iter;
    double loss_tol;
    ms_mat x, x_eval;
    ms_vec y, alphas;
    long long n, m, grid;
    int smooth_target, scale_mode, activation;
    double step;
    long long stream_every;
    int method;
    double rho_start, rho_end, rho_factor, tol;
    long long lbfgs_pairs;
} sp_params;

#define P sp_params
static const char *const mode_choices[] = {"init", "output", NULL};
static const char *const act_choices[] = {"relu", "tanh", "sigmoid", NULL};
static const char *const method_choices[] = {"path", "penalized", NULL};
static const ms_field fields[] = {
    NF_INT(seed, 0, 0, 0, 0, "Seed of the data (T4) and of the initial particles."),
    NF_INT(threads, NF_MINMAX, 1, 256, 1, "Threads inside one step."),
    NF_INT(max_iter, NF_MINMAX, 1, 1e9, 20000,
           "Iterations at most for each alpha (penalized: L-BFGS iterations, all stages)."),
    NF_DBL(loss_tol, NF_POS, 0, 0, 1e-8, "A run stops (converged) once the train loss is below."),
    NF_MAT(x, NF_MAXN, "Training inputs n x d (default: T4, n points in [-1,1])."),
    NF_VEC(y, 0, 0, 0, NF_MAXN, "Training targets (with x)."),
    NF_MAT(x_eval, NF_MAXN,
           "Inputs where the predictors are returned (default for d = 1: a grid in [-1.5,1.5])."),
    NF_VEC(alphas, NF_POS, 0, 0, 1000, "Scales alpha (default: 9 values log-spaced 1e-2..1e2)."),
    NF_INT(n, NF_MINMAX, 2, 1000, 8, "T4: number of training points."),
    NF_BOOL(smooth_target, 1, "T4: y = sin(pi x); false: random targets."),
    NF_INT(m, NF_MINMAX, 2, 1e6, 200, "Number of particles (even: symmetric pairs)."),
    NF_INT(grid, NF_MINMAX, 2, 1e5, 201, "Points of the default evaluation grid."),
    NF_ENUM(scale_mode, mode_choices, "init",
            "init: u(0) = alpha u_bar (scaling path); output: f = alpha f_u, loss / alpha^2 "
            "(lazy training)."),
    NF_ENUM(activation, act_choices, "relu", "Activation (the bias column is always on)."),
    NF_DBL(step, NF_POS, 0, 0, 0.5, "Step eta (init mode: eta min(1, alpha^-2))."),
    NF_INT(stream_every, NF_MINMAX, 1, 1e9, 50, "Metrics every this many iterations."),
    NF_ENUM(method, method_choices, "path",
            "path: (A) gradient descent from alpha u_bar (the optimisation path); penalized: "
            "(B) for each alpha the particles minimising (1/m) sum_i |u_i - alpha u_bar_i|^2 + "
            "L(f_u)/rho by L-BFGS, continued from rho_start down to rho_end (init scale only)."),
    NF_DBL(rho_start, NF_POS, 0, 0, 1e-2, "penalized: first penalty weight rho."),
    NF_DBL(rho_end, NF_POS, 0, 0, 1e-6,
           "penalized: last rho; stages rho_start rho_factor^k, the last clipped to rho_end."),
    NF_DBL(rho_factor, NF_POS | MS_FF_MAX, 0, 0.9, 0.1, "penalized: ratio of consecutive rho."),
    NF_DBL(tol, NF_POS, 0, 0, 1e-5,
           "penalized: a stage is solved when |grad J| <= tol (|2(u - alpha u_bar)| + "
           "|grad L|/rho) (rms norms over the particles)."),
    NF_INT(lbfgs_pairs, NF_MINMAX, 1, 100, 20,
           "penalized: L-BFGS curvature pairs kept (more than the number of training points)."),
};
#undef P
const ms_fields nets__scaling_fields = MS_FIELDS(sp_params, fields);

typedef struct sp_run {
    const sp_params *p;
    size_t n, d, m, ne, na, ai, it, total;
    double *x, *y, *xe, *alphas;
    /* Particles as contiguous blocks [a (m) | w (m×d)]: ū, u, u(0), gradient;
     * ab, wb, a, w, ... point into them. */
    double *ub, *u, *u0, *g;
    double *ab, *wb, *a, *w, *a0, *w0, *ga, *gw, *pred_ws;
    double *fpath, *disp, *kdrift, *loss, *iters, *conv, *fker;
    double *K0, *Kt, *kws;        /* tangent kernel on the training inputs */
    double *xs, *cvec;            /* [X; x_eval] and K(X,X)^{-1} y */
    double *Kxn, *Fk, *rk, *fkgd; /* kernel GD: K([X; x_eval], X), state, residual, output */
    nets_tl tl;
    double eta, cur_loss;
    int all_conv;
    /* method (B): the stage solver, stage ρ values, per-alpha and per-stage
     * outputs (na×nst: relative gradient and iterations at each stage's end) */
    nets_pen pen;
    size_t nst, stage, stage_it0;
    int fresh, ls_fail, alpha_ok;
    double *rhos, *st_grad, *st_iter, *pen_out, *relg_out, *rho_out;
} sp_run;

/* Stages of the continuation: ρ_k = max(ρ_start ρ_factor^k, ρ_end) until
 * ρ_end is reached (at most `cap`, then cap + 1 is returned). */
static size_t n_stages(const sp_params *p, size_t cap) {
    size_t k = 1;
    for (double r = p->rho_start; r > p->rho_end * (1 + 1e-12) && k <= cap; k++)
        r *= p->rho_factor;
    return k;
}

static double stage_rho(const sp_params *p, size_t k) {
    return fmax(p->rho_start * pow(p->rho_factor, (double)k), p->rho_end);
}

#define MAX_STAGES 1000

static ms_status check(const void *vp, ms_errlist *errs) {
    const sp_params *p = vp;
    size_t before = errs->n;
    if (!p->x.v != !p->y.v)
        ms_errlist_addf(errs, MS_EINVAL, p->x.v ? "y" : "x", "x and y go together");
    if (p->x.v && p->y.v && p->y.n != p->x.rows)
        ms_errlist_addf(errs, MS_EINVAL, "y", "has %zu entries, x has %zu rows", p->y.n, p->x.rows);
    size_t din = p->x.v ? p->x.cols : 1;
    if (p->x_eval.v && p->x_eval.cols != din)
        ms_errlist_addf(errs, MS_EINVAL, "x_eval", "has %zu columns, inputs have %zu",
                        p->x_eval.cols, din);
    if (p->m % 2)
        ms_errlist_addf(errs, MS_EINVAL, "m", "must be even (symmetric pairs), got %lld", p->m);
    if (p->method == 1) {
        if (p->scale_mode != 0)
            ms_errlist_addf(errs, MS_EINVAL, "scale_mode",
                            "method penalized is defined for init scale only");
        if (p->rho_end > p->rho_start) {
            char re[32], rs[32];
            ms_fmt_double(re, sizeof re, p->rho_end);
            ms_fmt_double(rs, sizeof rs, p->rho_start);
            ms_errlist_addf(errs, MS_EINVAL, "rho_end", "%s exceeds rho_start %s", re, rs);
        } else if (n_stages(p, MAX_STAGES) > MAX_STAGES)
            ms_errlist_addf(errs, MS_EINVAL, "rho_factor",
                            "more than %d stages from rho_start to rho_end", MAX_STAGES);
    }
    return errs->n > before ? MS_EINVAL : MS_OK;
}

/* Start the run of alpha index ai: particles, step, output scale. */
static void start_alpha(sp_run *S) {
    const double al = S->alphas[S->ai];
    const int init_mode = S->p->scale_mode == 0;
    const size_t m = S->m, d = S->d;
    for (size_t i = 0; i < m; i++)
        S->a[i] = (init_mode ? al : 1.0) * S->ab[i];
    for (size_t k = 0; k < m * d; k++)
        S->w[k] = (init_mode ? al : 1.0) * S->wb[k];
    memcpy(S->a0, S->a, m * sizeof(double));
    memcpy(S->w0, S->w, m * d * sizeof(double));
    S->tl.out_scale = init_mode ? 1.0 : al;
    S->eta = init_mode ? S->p->step * fmin(1.0, 1.0 / (al * al)) : S->p->step;
    S->it = 0;
    S->fresh = 1;
}

static void fini(void *vs);

static ms_status init(void *vs, const void *vp, const ms_ctx *ctx, ms_err *err) {
    sp_run *S = vs;
    const sp_params *p = vp;
    memset(S, 0, sizeof *S);
    S->p = p;
    size_t din = p->x.v ? p->x.cols : 1;
    S->d = din + 1;
    S->n = p->x.v ? p->x.rows : (size_t)p->n;
    S->m = (size_t)p->m;
    S->ne = p->x_eval.v ? p->x_eval.rows : din == 1 ? (size_t)p->grid : 0;
    S->na = p->alphas.v ? p->alphas.n : 9;
    S->nst = p->method == 1 ? n_stages(p, MAX_STAGES) : 1;
    const size_t n = S->n, d = S->d, m = S->m, ne = S->ne, na = S->na, nst = S->nst;
    double **arr[] = {&S->x,      &S->y,     &S->xe,      &S->alphas,  &S->ub,      &S->u,
                      &S->u0,     &S->g,     &S->pred_ws, &S->fpath,   &S->disp,    &S->kdrift,
                      &S->loss,   &S->iters, &S->conv,    &S->fker,    &S->K0,      &S->Kt,
                      &S->kws,    &S->xs,    &S->cvec,    &S->Kxn,     &S->Fk,      &S->rk,
                      &S->fkgd,   &S->rhos,  &S->st_grad, &S->st_iter, &S->pen_out, &S->relg_out,
                      &S->rho_out};
    size_t np = n + ne, nu = m * (1 + d);
    size_t sz[] = {
        n * d,       n,      ne * d + 1, na,     nu, nu, nu,          nu,      NETS_ROW_BLOCK * m,
        na * ne + 1, na,     na,         na,     na, na, ne + 1,      np * np, n * n,
        2 * np * m,  np * d, n,          np * n, np, n,  na * ne + 1, nst,     na * nst,
        na * nst,    na,     na,         na};
    int ok = 1;
    for (size_t k = 0; k < sizeof sz / sizeof sz[0] && ok; k++)
        ok = (*arr[k] = ms_malloc(sz[k] ? sz[k] : 1, sizeof(double))) != NULL;
    ok = ok && nets__tl_alloc(&S->tl, n, d, m, 0, 1) == MS_OK;
    ok = ok &&
         (p->method != 1 || nets__pen_alloc(&S->pen, n, m, d, (size_t)p->lbfgs_pairs) == MS_OK);
    if (!ok) {
        fini(S);
        return ms_fail(err, MS_ENOMEM, "", "scaling_path: out of memory");
    }
    S->ab = S->ub;
    S->wb = S->ub + m;
    S->a = S->u;
    S->w = S->u + m;
    S->a0 = S->u0;
    S->w0 = S->u0 + m;
    S->ga = S->g;
    S->gw = S->g + m;
    for (size_t k = 0; k < nst; k++)
        S->rhos[k] = stage_rho(p, k);
    for (size_t k = 0; k < na * nst; k++)
        S->st_grad[k] = S->st_iter[k] = NAN;
    ms_rng r;
    ms_rng_init(&r, (uint64_t)p->seed, 1);
    for (size_t j = 0; j < n; j++) {
        double *row = S->x + j * d;
        if (p->x.v) {
            memcpy(row, p->x.v + j * din, din * sizeof(double));
            S->y[j] = p->y.v[j];
        } else { /* T4, spec §7: points in [−1, 1], sorted for plotting */
            row[0] = -1.0 + 2.0 * ((double)j + ms_rng_uniform(&r)) / (double)n;
            S->y[j] = p->smooth_target ? sin(M_PI * row[0]) : 2 * ms_rng_uniform(&r) - 1;
        }
        row[din] = 1.0;
    }
    for (size_t j = 0; j < ne; j++) {
        double *row = S->xe + j * d;
        if (p->x_eval.v)
            memcpy(row, p->x_eval.v + j * din, din * sizeof(double));
        else
            row[0] = -1.5 + 3.0 * (double)j / (double)(ne - 1);
        row[din] = 1.0;
    }
    for (size_t k = 0; k < na; k++)
        S->alphas[k] = p->alphas.v ? p->alphas.v[k] : pow(10.0, -2.0 + 0.5 * (double)k);
    /* ū: symmetric pairs with (a, w) uniform on the unit sphere of R^{1+d}. */
    ms_rng_init(&r, (uint64_t)p->seed, 2);
    for (size_t i = 0; i < m; i += 2) {
        double s = 0;
        double *wi = S->wb + i * d;
        S->ab[i] = ms_rng_normal(&r);
        ms_rng_normals(&r, wi, d);
        s = S->ab[i] * S->ab[i];
        for (size_t k = 0; k < d; k++)
            s += wi[k] * wi[k];
        s = 1.0 / sqrt(s);
        S->ab[i] *= s;
        for (size_t k = 0; k < d; k++)
            wi[k] *= s;
        S->ab[i + 1] = -S->ab[i];
        memcpy(S->wb + (i + 1) * d, wi, d * sizeof(double));
    }
    S->tl.act = (nets_act)p->activation;
    S->tl.loss = NETS_SQUARE;
    nets__tl_set_data(&S->tl, S->x, S->y, n);
    S->all_conv = 1;
    start_alpha(S);
    (void)ctx;
    return MS_OK;
}

/* f_kernel = K(x_eval, X) K(X, X)^{-1} y, and K0 (n×n) for the drift. */
static void kernel_interpolant(sp_run *S) {
    double *xs = S->xs, *c = S->cvec;
    const size_t n = S->n, ne = S->ne, d = S->d, np = n + ne;
    memcpy(xs, S->x, n * d * sizeof(double));
    memcpy(xs + n * d, S->xe, ne * d * sizeof(double));
    nets__tangent_kernel(&S->tl, S->ab, S->wb, xs, np, S->K0, S->kws);
    double *Kxx = S->Kt;
    for (size_t j = 0; j < n; j++) {
        c[j] = S->y[j];
        for (size_t k = 0; k < n; k++)
            Kxx[j * n + k] = S->K0[j * np + k];
    }
    lapack_int info =
        LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, 1, Kxx, (lapack_int)n, c, 1);
    for (size_t q = 0; q < ne; q++) {
        double f = 0;
        for (size_t j = 0; j < n; j++)
            f += S->K0[(n + q) * np + j] * c[j];
        S->fker[q] = info == 0 ? f : NAN;
    }
    for (size_t q = 0; q < np; q++)
        memcpy(S->Kxn + q * n, S->K0 + q * np, n * sizeof(double));
    /* Keep K(X, X) at ū, packed n×n at the front of K0. */
    for (size_t j = 0; j < n; j++)
        memmove(S->K0 + j * n, S->K0 + j * np, n * sizeof(double));
}

static double kernel_drift(sp_run *S) {
    const size_t n = S->n;
    nets__tangent_kernel(&S->tl, S->a, S->w, S->x, n, S->Kt, S->kws);
    /* In init mode the kernel at α ū is α² K(ū): compare at equal scale. */
    double al = S->alphas[S->ai], sc = S->p->scale_mode == 0 ? al * al : 1.0;
    double num = 0, den = 0;
    for (size_t k = 0; k < n * n; k++) {
        double k0 = sc * S->K0[k];
        num += (S->Kt[k] - k0) * (S->Kt[k] - k0);
        den += k0 * k0;
    }
    return den > 0 ? sqrt(num / den) : NAN;
}

static double displacement(const sp_run *S) {
    double num = 0, den = 0;
    for (size_t i = 0; i < S->m; i++) {
        num += (S->a[i] - S->a0[i]) * (S->a[i] - S->a0[i]);
        den += S->a0[i] * S->a0[i];
    }
    for (size_t k = 0; k < S->m * S->d; k++) {
        num += (S->w[k] - S->w0[k]) * (S->w[k] - S->w0[k]);
        den += S->w0[k] * S->w0[k];
    }
    return sqrt(num / den);
}

/* The linearised (kernel) dynamics for the same number of steps:
 * F ← F − (η/n) K(·, X)(F(X) − y) from F = 0, which is what the network's
 * predictor follows in the lazy limit, step for step (spec §5; init mode has
 * step η/α² and kernel α² K, the same product). */
static void kernel_gd(sp_run *S, size_t steps, double *out) {
    const size_t n = S->n, np = n + S->ne;
    const double c = S->p->step / (double)n;
    memset(S->Fk, 0, np * sizeof(double));
    for (size_t t = 0; t < steps; t++) {
        for (size_t j = 0; j < n; j++)
            S->rk[j] = S->Fk[j] - S->y[j];
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)np, (int)n, -c, S->Kxn, (int)n, S->rk, 1, 1.0,
                    S->Fk, 1);
    }
    memcpy(out, S->Fk + n, S->ne * sizeof(double));
}

/* Record the end of the current alpha's run. */
static void finish_alpha(sp_run *S, int conv) {
    size_t k = S->ai;
    S->loss[k] = S->cur_loss;
    S->iters[k] = (double)S->it;
    S->conv[k] = conv;
    S->all_conv &= conv;
    S->disp[k] = displacement(S);
    S->kdrift[k] = kernel_drift(S);
    if (S->p->method == 1) {
        S->pen_out[k] = S->pen.pen;
        S->relg_out[k] = nets__pen_rel_grad(&S->pen);
        S->rho_out[k] = 1.0 / S->pen.inv_rho;
    }
    if (S->ne) {
        nets__tl_predict(&S->tl, S->a, S->w, S->xe, S->ne, S->fpath + k * S->ne, S->pred_ws);
        if (S->p->method == 0)
            kernel_gd(S, S->it, S->fkgd + k * S->ne);
    }
}

/* Method (B), one L-BFGS iteration of the current stage. A stage ends when
 * the relative gradient reaches tol, when no step decreases J, or when the
 * alpha's budget max_iter is spent; the next stage starts from the same
 * particles and curvature pairs with ρ ← ρ·rho_factor. */
static ms_status step_pen(sp_run *S, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    const sp_params *p = S->p;
    nets_pen *P = &S->pen;
    const int nt = ms_ctx_threads(ctx);
    if (S->fresh) {
        S->fresh = 0;
        S->stage = S->stage_it0 = 0;
        S->ls_fail = 0;
        S->alpha_ok = 1;
        nets__pen_forget(P);
        nets__pen_set_rho(P, S->rhos[0], S->u, S->u0);
        nets__pen_eval(P, &S->tl, S->u, S->u0, nt);
        nets__pen_grad(P, &S->tl, S->u, S->u0, nt);
    }
    if (!isfinite(P->obj) || !isfinite(P->gnorm))
        return ms_fail(err, MS_ENUMERIC, "step", "non-finite objective at alpha %g, iteration %zu",
                       S->alphas[S->ai], S->it);
    const size_t max_it = (size_t)p->max_iter;
    int finished = 0;
    for (;;) {
        double rel = nets__pen_rel_grad(P);
        int met = rel <= p->tol;
        if (!met && !S->ls_fail && S->it < max_it)
            break;
        size_t c = S->ai * S->nst + S->stage;
        S->st_grad[c] = rel;
        S->st_iter[c] = (double)(S->it - S->stage_it0);
        S->alpha_ok &= met;
        if (S->stage + 1 < S->nst && S->it < max_it) {
            S->stage++;
            S->stage_it0 = S->it;
            S->ls_fail = 0;
            nets__pen_set_rho(P, S->rhos[S->stage], S->u, S->u0);
            continue;
        }
        S->cur_loss = P->loss;
        finish_alpha(S, S->alpha_ok);
        S->ai++;
        if (S->ai < S->na)
            start_alpha(S);
        finished = 1;
        break;
    }
    if (!finished) {
        S->ls_fail = nets__pen_iterate(P, &S->tl, S->u, S->u0, nt);
        S->it++;
        S->total++;
    }
    prog->iteration = S->total;
    prog->done = S->ai >= S->na;
    prog->fraction =
        prog->done ? 1.0 : ((double)S->ai + (double)S->stage / (double)S->nst) / (double)S->na;
    if (S->total % (size_t)p->stream_every == 0 || prog->done) {
        size_t k = S->ai < S->na ? S->ai : S->na - 1;
        ms_progress_set(prog, "alpha", S->alphas[k]);
        ms_progress_set(prog, "rho", 1.0 / P->inv_rho);
        ms_progress_set(prog, "loss", P->loss);
        ms_progress_set(prog, "penalty", P->pen);
        ms_progress_set(prog, "objective", P->obj);
        ms_progress_set(prog, "grad_norm", P->gnorm);
        ms_progress_set(prog, "rel_grad", nets__pen_rel_grad(P));
        ms_progress_set(prog, "rel_displacement", prog->done ? S->disp[k] : displacement(S));
    }
    return MS_OK;
}

static ms_status step(void *vs, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    sp_run *S = vs;
    const int nt = ms_ctx_threads(ctx);
    const size_t m = S->m, d = S->d;
    if (S->total == 0 && S->ai == 0 && S->fresh)
        kernel_interpolant(S);
    if (S->p->method == 1)
        return step_pen(S, ctx, prog, err);
    S->fresh = 0;
    S->cur_loss = nets__tl_forward(&S->tl, S->a, S->w, nt);
    if (!isfinite(S->cur_loss))
        return ms_fail(err, MS_ENUMERIC, "step", "non-finite loss at alpha %g, iteration %zu",
                       S->alphas[S->ai], S->it);
    int conv = S->cur_loss < S->p->loss_tol;
    if (!conv) {
        nets__tl_backward(&S->tl, S->a, S->w, S->ga, S->gw, nt);
        for (size_t i = 0; i < m; i++)
            S->a[i] -= S->eta * S->ga[i];
        for (size_t k = 0; k < m * d; k++)
            S->w[k] -= S->eta * S->gw[k];
        S->it++;
        S->total++;
    }
    if (conv || S->it >= (size_t)S->p->max_iter) {
        finish_alpha(S, conv);
        S->ai++;
        if (S->ai < S->na)
            start_alpha(S);
    }
    prog->iteration = S->total;
    prog->fraction = ((double)S->ai + (double)S->it / (double)S->p->max_iter) / (double)S->na;
    prog->done = S->ai >= S->na;
    if (S->total % (size_t)S->p->stream_every == 0 || prog->done) {
        size_t k = S->ai < S->na ? S->ai : S->na - 1;
        ms_progress_set(prog, "alpha", S->alphas[k]);
        ms_progress_set(prog, "loss", S->cur_loss);
        ms_progress_set(prog, "rel_displacement", prog->done ? S->disp[k] : displacement(S));
    }
    return MS_OK;
}

static ms_status result(void *vs, ms_value *out, ms_err *err) {
    sp_run *S = vs;
    (void)err;
    ms_obj_int(out, "iterations", (long long)S->total);
    ms_obj_bool(out, "converged", S->all_conv);
    ms_obj_vec(out, "alphas", S->alphas, S->na, 1);
    ms_obj_vec(out, "loss", S->loss, S->na, 1);
    ms_obj_vec(out, "iterations_per_alpha", S->iters, S->na, 1);
    ms_obj_vec(out, "converged_per_alpha", S->conv, S->na, 1);
    ms_obj_vec(out, "rel_displacement", S->disp, S->na, 1);
    ms_obj_vec(out, "kernel_drift", S->kdrift, S->na, 1);
    ms_obj_mat(out, "x_train", S->x, S->n, S->d - 1, S->d);
    ms_obj_vec(out, "y_train", S->y, S->n, 1);
    if (S->ne) {
        ms_obj_mat(out, "x_eval", S->xe, S->ne, S->d - 1, S->d);
        ms_obj_mat(out, "f", S->fpath, S->na, S->ne, S->ne);
        ms_obj_vec(out, "f_kernel", S->fker, S->ne, 1);
        if (S->p->method == 0)
            ms_obj_mat(out, "f_kernel_gd", S->fkgd, S->na, S->ne, S->ne);
    }
    if (S->p->method == 1) {
        ms_obj_vec(out, "penalty", S->pen_out, S->na, 1);
        ms_obj_vec(out, "rel_grad", S->relg_out, S->na, 1);
        ms_obj_vec(out, "rho_final", S->rho_out, S->na, 1);
        ms_obj_vec(out, "rho_stages", S->rhos, S->nst, 1);
        ms_obj_mat(out, "stage_rel_grad", S->st_grad, S->na, S->nst, S->nst);
        ms_obj_mat(out, "stage_iterations", S->st_iter, S->na, S->nst, S->nst);
        ms_obj_int(out, "evaluations", (long long)S->pen.evals);
    }
    return MS_OK;
}

static void fini(void *vs) {
    sp_run *S = vs;
    double *arr[] = {
        S->x,       S->y,     S->xe,      S->alphas,  S->ub,      S->u,        S->u0,     S->g,
        S->pred_ws, S->fpath, S->disp,    S->kdrift,  S->loss,    S->iters,    S->conv,   S->fker,
        S->K0,      S->Kt,    S->kws,     S->xs,      S->cvec,    S->Kxn,      S->Fk,     S->rk,
        S->fkgd,    S->rhos,  S->st_grad, S->st_iter, S->pen_out, S->relg_out, S->rho_out};
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        ms_free(arr[k]);
    nets__tl_free(&S->tl);
    nets__pen_free(&S->pen);
    memset(S, 0, sizeof *S);
}

const ms_kind nets_scaling_path = {
    .name = "scaling_path",
    .title = "Lazy versus rich: the scaling path of a two-layer ReLU network",
    .description =
        "For each initialisation scale alpha, trains a two-layer network with the bias on "
        "(gradient descent without penalty from a symmetric initialisation) to interpolation "
        "and returns the predictor on a grid, the relative displacement of the parameters and "
        "the drift of the tangent kernel, plus the kernel interpolant (the alpha -> infinity "
        "limit). Init-scale (Neumayer, Chizat & Unser 2023) or output-scale (Chizat, Oyallon "
        "& Bach 2019) mode. Method 'penalized' computes instead the scaling path by particles: "
        "for each alpha the minimiser of (1/m) sum |u_i - alpha u_bar_i|^2 + L(f_u)/rho by "
        "L-BFGS with continuation in rho (1e-2 down to 1e-6 by default), returning also the "
        "penalty, an upper bound of the squared Wasserstein-2 distance to the scaled initial "
        "law.",
    .params = &nets__scaling_fields,
    .example = "{\"n\": 6, \"m\": 100, \"alphas\": [0.1, 1, 10], \"max_iter\": 2000, "
               "\"grid\": 51, \"seed\": 1}",
    .state_size = sizeof(sp_run),
    .check = check,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
