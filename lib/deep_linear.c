/* deep_linear.c — the `deep_linear` kind: gradient descent on deep linear
 * regression, tracking the sharpness against its lower bound (spec
 * deep-networks.md §2; Marion & Chizat, NeurIPS 2024, arXiv:2405.13456).
 *
 * What it is for: train f(x) = uᵀ W_L ⋯ W_1 x on R = (1/n)Σ(f(x_i) − y_i)²
 * (no ½, as the reference code) by plain GD with a constant learning rate,
 * or gradient flow by RK4 steps, from a small-scale Gaussian or a residual
 * initialisation; every `sharpness_every` steps measure the sharpness (top
 * Hessian eigenvalue by Lanczos on exact HVPs, §1.4) and the structure of
 * the layers (§2.4), and compare with S_min = 2 L a ‖w*‖^{2−2/L} and 2/lr.
 *
 * What it is not for: non-linear networks (feature_alignment), or the
 * infinite-width limit (wide_linear).
 *
 * Divergence (non-finite loss, or loss > diverge_factor × initial loss) is a
 * scientific outcome here: the run ends as a success with diverged = true.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <cblas.h>

#include "deep_chain.h"
#include "deep_data.h"
#include "deep_internal.h"
#include "deep_lanczos.h"
#include "ms_alloc.h"
#include "ms_kind.h"
#include "ms_rng.h"

enum { INIT_GAUSSIAN, INIT_RESIDUAL };
enum { METHOD_GD, METHOD_FLOW };
enum { LR_ABSOLUTE, LR_THRESHOLD };

typedef struct deep_linear_params {
    ms_mat X;
    ms_vec y;
    ms_mat X_test;
    ms_vec y_test;
    long long n, d, n_test;
    double noise;
    int normalize_wstar;
    long long depth, width;
    int init;
    double scale;
    double lr;
    int lr_unit;
    int method;
    long long max_iter;
    double tol;
    long long sharpness_every, lanczos_iter;
    double tol_eig;
    double diverge_factor;
    long long seed, threads;
    long long init_seed;
} deep_linear_params;

static const char *const init_choices[] = {"gaussian", "residual", NULL};
static const char *const method_choices[] = {"gd", "flow", NULL};
static const char *const lr_unit_choices[] = {"absolute", "threshold", NULL};

#define P_(f) offsetof(deep_linear_params, f)
static const ms_field fields[] = {
    DEEP_DATA_FIELDS(deep_linear_params, 50, 5),
    {.name = "X_test",
     .type = MS_F_MAT,
     .offset = P_(X_test),
     .max_len = 4000000,
     .doc = "Optional test inputs (same columns as X) for test_loss. With synthetic data use "
            "n_test instead."},
    {.name = "y_test",
     .type = MS_F_VEC,
     .offset = P_(y_test),
     .max_len = 1000000,
     .doc = "Test targets; required with X_test."},
    {.name = "n_test",
     .type = MS_F_INT,
     .offset = P_(n_test),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 0,
     .max = 1000000,
     .def = 0,
     .doc = "Synthetic data: test samples drawn like the training set with the same w_true "
            "(0 = no test loss)."},
    {.name = "normalize_wstar",
     .type = MS_F_BOOL,
     .offset = P_(normalize_wstar),
     .def = 1,
     .doc = "Divide y (and y_test) by ‖w*‖, w* = X⁺y, so that ‖w*‖ = 1 as in the reference "
            "code. Applies to given data too."},
    {.name = "depth",
     .type = MS_F_INT,
     .offset = P_(depth),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 512,
     .def = 10,
     .doc = "L, the number of trainable layers."},
    {.name = "width",
     .type = MS_F_INT,
     .offset = P_(width),
     .flags = MS_FF_MIN | MS_FF_MAX | MS_FF_NULLABLE,
     .min = 1,
     .max = 2048,
     .def = NAN,
     .doc = "Hidden width m (Gaussian init: W_1 is m×d, W_k m×m, W_L 1×m). Absent: d. The "
            "residual initialisation needs m = d."},
    {.name = "init",
     .type = MS_F_ENUM,
     .offset = P_(init),
     .choices = init_choices,
     .def_str = "gaussian",
     .doc = "gaussian: iid N(0, scale²) entries, scalar head W_L. residual: W_k = I_d + "
            "scale/√(L·d)·N_k for k = 1..L and a fixed random unit readout u, "
            "f(x) = uᵀW_L⋯W_1x."},
    {.name = "scale",
     .type = MS_F_DOUBLE,
     .offset = P_(scale),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 0.25,
     .doc = "s, the initialisation scale (see init)."},
    {.name = "lr",
     .type = MS_F_DOUBLE,
     .offset = P_(lr),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 0.02,
     .doc = "Learning rate (GD) or time step (flow). See lr_unit."},
    {.name = "lr_unit",
     .type = MS_F_ENUM,
     .offset = P_(lr_unit),
     .choices = lr_unit_choices,
     .def_str = "absolute",
     .doc = "absolute: lr as given. threshold: lr is a multiple of the critical rate "
            "2/S_min (1 = the threshold above which GD cannot converge to a minimiser)."},
    {.name = "method",
     .type = MS_F_ENUM,
     .offset = P_(method),
     .choices = method_choices,
     .def_str = "gd",
     .doc = "gd: θ ← θ − lr·∇R. flow: gradient flow integrated by one classical RK4 step of "
            "size lr per iteration (time = lr·iterations)."},
    {.name = "max_iter",
     .type = MS_F_INT,
     .offset = P_(max_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 100000000,
     .def = 1000,
     .doc = "Number of steps at most."},
    {.name = "tol",
     .type = MS_F_DOUBLE,
     .offset = P_(tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1e-10,
     .doc = "Converged when ‖∇R‖ ≤ tol."},
    {.name = "sharpness_every",
     .type = MS_F_INT,
     .offset = P_(sharpness_every),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 5,
     .doc = "Measure the sharpness and layer structure every this many steps (also at the "
            "start and the end; 0 = only then)."},
    {.name = "lanczos_iter",
     .type = MS_F_INT,
     .offset = P_(lanczos_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1000,
     .def = 30,
     .doc = "Lanczos steps at most per sharpness measurement (full reorthogonalisation)."},
    {.name = "tol_eig",
     .type = MS_F_DOUBLE,
     .offset = P_(tol_eig),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1e-6,
     .doc = "Lanczos stops when β_j|s_{j,1}| ≤ tol_eig·|θ₁| (relative residual bound)."},
    DEEP_RUN_FIELDS(deep_linear_params),
    {.name = "init_seed",
     .type = MS_F_INT,
     .offset = offsetof(deep_linear_params, init_seed),
     .flags = MS_FF_NULLABLE,
     .def = NAN,
     .doc = "Seed of the initial weights only (absent: seed), to repeat runs from several "
            "initialisations on one synthetic data set."},
};
#undef P_

static const ms_fields params_table = MS_FIELDS(deep_linear_params, fields);

/* Largest parameter count accepted (memory: Lanczos keeps lanczos_iter + 1
 * vectors of this length). */
#define DEEP_LINEAR_MAX_PARAMS 20000000.0

static size_t width_of(const deep_linear_params *p) {
    size_t d = p->X.v ? p->X.cols : (size_t)p->d;
    return p->width == MS_INT_ABSENT ? d : (size_t)p->width;
}

static double nparams_of(const deep_linear_params *p) {
    double d = p->X.v ? (double)p->X.cols : (double)p->d, m = (double)width_of(p);
    double L = (double)p->depth;
    if (p->init == INIT_RESIDUAL)
        return L * d * d;
    return L == 1 ? d : m * d + (L - 2) * m * m + m;
}

static ms_status check(const void *params, ms_errlist *errs) {
    const deep_linear_params *p = params;
    size_t before = errs->n + errs->dropped;
    deep_dataset_check(&p->X, &p->y, "X", "y", errs);
    deep_dataset_check(&p->X_test, &p->y_test, "X_test", "y_test", errs);
    if (p->X_test.v && !p->X.v)
        ms_errlist_addf(errs, MS_EINVAL, "X_test", "needs X (synthetic data use n_test)");
    if (p->X_test.v && p->X.v && p->X_test.cols != p->X.cols)
        ms_errlist_addf(errs, MS_EINVAL, "X_test", "has %zu columns, X has %zu", p->X_test.cols,
                        p->X.cols);
    size_t d = p->X.v ? p->X.cols : (size_t)p->d;
    if (p->init == INIT_RESIDUAL && width_of(p) != d)
        ms_errlist_addf(errs, MS_EINVAL, "width", "must equal d = %zu for the residual init", d);
    if (nparams_of(p) > DEEP_LINEAR_MAX_PARAMS)
        ms_errlist_addf(errs, MS_EINVAL, "width", "depth × width² = %.0f parameters, at most %.0f",
                        nparams_of(p), DEEP_LINEAR_MAX_PARAMS);
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}

static size_t memory(const void *params) {
    const deep_linear_params *p = params;
    double P = nparams_of(p), v = (double)p->lanczos_iter + 12;
    double n = p->X.v ? (double)p->X.rows : (double)p->n, d = p->X.v ? (double)p->X.cols : p->d;
    return (size_t)(8 * (P * v + (n + 2 * d) * d));
}

/* History columns (one row per sharpness measurement). */
enum { H_STEP, H_SHARP, H_LOSS, H_DIST2, H_GNORM, H_COLS };
static const char *const hist_names[H_COLS] = {"step", "sharpness", "loss", "dist2_wstar",
                                               "grad_norm"};

typedef struct deep_linear_state {
    const deep_linear_params *p;
    size_t d, L;
    double lr, time;
    /* Data moments (train, test) and the target. */
    double *sigma, *c, yy, *sigma_t, *c_t, yy_t;
    int has_test;
    deep_moments mom, mom_t;
    double *wstar, *what;
    double s_min, lambda_max, upper_ref;
    /* Model, workspaces. */
    deep_chain *ch;
    double *theta, *grad, *w, *bal0;
    double *k1, *k2, *k3, *k4, *tmp; /* RK4 */
    deep_lanczos *lz;
    ms_rng lrng;
    /* Current values. */
    size_t iter;
    double loss, loss0, test_loss, gnorm, dist2;
    double sharp, sharp_res, sharp0;
    deep_chain_stats stats;
    int converged, diverged, done;
    deep__hist hist;
} deep_linear_state;

/* Hessian-vector product at the current θ, for Lanczos. */
static void hvp_op(void *user, const double *x, double *y) {
    deep_linear_state *s = user;
    deep_chain_hvp(s->ch, &s->mom, s->theta, x, y);
}

static double dist2_of(const double *w, const double *ws, size_t d) {
    double a = 0;
    for (size_t i = 0; i < d; i++)
        a += (w[i] - ws[i]) * (w[i] - ws[i]);
    return a;
}

/* Loss, gradient, predictor and distance at the current θ. */
static void evaluate(deep_linear_state *s) {
    s->loss = deep_chain_grad(s->ch, &s->mom, s->theta, s->grad, s->w);
    s->gnorm = cblas_dnrm2((int)s->ch->nparams, s->grad, 1);
    s->dist2 = dist2_of(s->w, s->wstar, s->d);
    if (s->has_test) {
        /* R_test(w) = wᵀΣ_t w − 2c_tᵀw + yy_t, with the same w. */
        double t = s->yy_t;
        for (size_t i = 0; i < s->d; i++)
            t += s->w[i] *
                 (cblas_ddot((int)s->d, s->sigma_t + i * s->d, 1, s->w, 1) - 2 * s->c_t[i]);
        s->test_loss = t;
    } else {
        s->test_loss = NAN;
    }
}

/* Sharpness (Lanczos, warm-started) and layer structure at the current θ;
 * appends a history row. */
static ms_status measure(deep_linear_state *s, ms_err *err) {
    deep_eig e;
    ms_status st =
        deep_lanczos_top(s->lz, hvp_op, s, &s->lrng, s->hist.count > 0, s->p->tol_eig, &e, err);
    if (st != MS_OK)
        return st;
    s->sharp = e.value;
    s->sharp_res = e.residual;
    if ((st = deep_chain_structure(s->ch, s->theta, s->bal0, s->what, &s->stats, err)) != MS_OK)
        return st;
    const double row[H_COLS] = {(double)s->iter, s->sharp, s->loss, s->dist2, s->gnorm};
    deep__hist_push(&s->hist, row, s->done);
    return MS_OK;
}

/* Moments of a data set, optionally with y scaled by 1/scale. */
static void moments_scaled(const deep_dataset *ds, double yscale, double *sigma, double *c,
                           double *yy) {
    deep_data_moments(ds->X, ds->y, ds->n, ds->d, sigma, c, yy);
    cblas_dscal((int)ds->d, 1.0 / yscale, c, 1);
    *yy /= yscale * yscale;
}

static ms_status init_data(deep_linear_state *s, const deep_linear_params *p, ms_err *err) {
    ms_rng r;
    ms_rng_init(&r, (uint64_t)p->seed, 0);
    deep_dataset tr, te;
    memset(&te, 0, sizeof te);
    ms_status st =
        deep_dataset_make(&tr, &p->X, &p->y, (size_t)p->n, (size_t)p->d, p->noise, NULL, &r, err);
    if (st != MS_OK)
        return st;
    const size_t d = tr.d;
    s->d = d;
    s->has_test = p->X_test.v != NULL || (!p->X.v && p->n_test > 0);
    if (s->has_test) {
        ms_rng_init(&r, (uint64_t)p->seed, 1);
        st = deep_dataset_make(&te, &p->X_test, &p->y_test, (size_t)p->n_test, d, p->noise,
                               tr.w_true, &r, err);
    }
    s->sigma = ms_malloc(d * d, sizeof(double));
    s->c = ms_malloc(d, sizeof(double));
    s->sigma_t = ms_malloc(d * d, sizeof(double));
    s->c_t = ms_malloc(d, sizeof(double));
    s->wstar = ms_malloc(d, sizeof(double));
    s->what = ms_malloc(d, sizeof(double));
    if (st == MS_OK && (!s->sigma || !s->c || !s->sigma_t || !s->c_t || !s->wstar || !s->what))
        st = ms_fail(err, MS_ENOMEM, "", "data moments");
    if (st == MS_OK)
        st = deep_lstsq(tr.X, tr.y, tr.n, d, DEEP_LSQ_SVD, s->wstar, NULL, err);
    if (st == MS_OK) {
        double nw = cblas_dnrm2((int)d, s->wstar, 1);
        if (!(nw > 0))
            st = ms_fail(err, MS_EINVAL, "y", "the least-squares solution w* = X⁺y is zero");
        double ys = p->normalize_wstar ? nw : 1.0;
        if (st == MS_OK) {
            cblas_dscal((int)d, 1.0 / ys, s->wstar, 1);
            for (size_t i = 0; i < d; i++)
                s->what[i] = s->wstar[i] * ys / nw;
            moments_scaled(&tr, ys, s->sigma, s->c, &s->yy);
            if (s->has_test)
                moments_scaled(&te, ys, s->sigma_t, s->c_t, &s->yy_t);
        }
    }
    deep_dataset_fini(&tr);
    deep_dataset_fini(&te);
    s->mom = (deep_moments){d, s->sigma, s->c, s->yy};
    s->mom_t = (deep_moments){d, s->sigma_t, s->c_t, s->yy_t};
    return st;
}

/* Layer shapes, readout and initial weights (§2.1). */
static ms_status init_model(deep_linear_state *s, const deep_linear_params *p, ms_err *err) {
    const size_t d = s->d, L = (size_t)p->depth, m = width_of(p);
    size_t *dims = ms_malloc(L + 1, sizeof *dims);
    double *u = ms_malloc(d, sizeof *u);
    if (!dims || !u) {
        ms_free(dims), ms_free(u);
        return ms_fail(err, MS_ENOMEM, "", "layer shapes");
    }
    ms_rng r;
    /* init_seed varies the initialisation over a fixed data set. */
    ms_rng_init(&r, (uint64_t)(p->init_seed == MS_INT_ABSENT ? p->seed : p->init_seed), 2);
    dims[0] = d;
    for (size_t k = 1; k <= L; k++)
        dims[k] = p->init == INIT_RESIDUAL ? d : (k < L ? m : 1);
    if (p->init == INIT_RESIDUAL) {
        ms_rng_normals(&r, u, d);
        cblas_dscal((int)d, 1.0 / cblas_dnrm2((int)d, u, 1), u, 1);
    }
    s->ch = deep_chain_alloc(L, dims, p->init == INIT_RESIDUAL ? u : NULL, err);
    ms_free(dims), ms_free(u);
    if (!s->ch)
        return err->code;
    s->L = L;
    const size_t P = s->ch->nparams;
    s->theta = ms_malloc(P, sizeof(double));
    s->grad = ms_malloc(P, sizeof(double));
    s->w = ms_malloc(d, sizeof(double));
    s->bal0 = ms_malloc(deep_chain_balance_size(s->ch) + 1, sizeof(double));
    if (p->method == METHOD_FLOW) {
        s->k1 = ms_malloc(P, sizeof(double));
        s->k2 = ms_malloc(P, sizeof(double));
        s->k3 = ms_malloc(P, sizeof(double));
        s->k4 = ms_malloc(P, sizeof(double));
        s->tmp = ms_malloc(P, sizeof(double));
        if (!s->k1 || !s->k2 || !s->k3 || !s->k4 || !s->tmp)
            return ms_fail(err, MS_ENOMEM, "", "RK4 workspace");
    }
    if (!s->theta || !s->grad || !s->w || !s->bal0)
        return ms_fail(err, MS_ENOMEM, "", "parameters (%zu)", P);
    ms_rng_normals(&r, s->theta, P);
    if (p->init == INIT_GAUSSIAN) {
        cblas_dscal((int)P, p->scale, s->theta, 1);
    } else {
        const double a = p->scale / sqrt((double)(L * d));
        cblas_dscal((int)P, a, s->theta, 1);
        for (size_t k = 0; k < L; k++)
            for (size_t i = 0; i < d; i++)
                s->theta[k * d * d + i * d + i] += 1.0;
    }
    deep_chain_balance(s->ch, s->theta, s->bal0);
    return MS_OK;
}

static ms_status init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    deep_linear_state *s = state;
    const deep_linear_params *p = params;
    s->p = p;
    ms_status st = init_data(s, p, err);
    if (st == MS_OK)
        st = init_model(s, p, err);
    if (st != MS_OK)
        return st;
    s->s_min = deep_sharpness_lower_bound(s->L, &s->mom, s->wstar);
    if ((st = deep_sym_eig_max(s->sigma, s->d, &s->lambda_max, err)) != MS_OK)
        return st;
    double nw2 = cblas_ddot((int)s->d, s->wstar, 1, s->wstar, 1);
    s->upper_ref = 8.0 * (double)s->L * s->lambda_max * pow(nw2, 1.0 - 1.0 / (double)s->L);
    s->lr = p->lr_unit == LR_THRESHOLD ? p->lr * 2.0 / s->s_min : p->lr;
    s->lz = deep_lanczos_alloc(s->ch->nparams, (size_t)p->lanczos_iter, err);
    if (!s->lz)
        return err->code;
    ms_rng_init(&s->lrng, (uint64_t)p->seed, 3);
    size_t every = p->sharpness_every > 0 ? (size_t)p->sharpness_every : (size_t)p->max_iter;
    if (!deep__hist_init(&s->hist, H_COLS * sizeof(double), (size_t)p->max_iter / every + 3))
        return ms_fail(err, MS_ENOMEM, "", "history");
    evaluate(s);
    s->loss0 = s->loss;
    if (!isfinite(s->loss))
        return ms_fail(err, MS_ENUMERIC, "", "initial loss is not finite");
    if ((st = measure(s, err)) != MS_OK)
        return st;
    s->sharp0 = s->sharp;
    return MS_OK;
}

/* θ ← θ + dt·(−∇R) in RK4: k_i = −∇R at the stages. */
static void rk4_step(deep_linear_state *s, double dt) {
    const int P = (int)s->ch->nparams;
    double *k[4] = {s->k1, s->k2, s->k3, s->k4};
    static const double c[4] = {0, 0.5, 0.5, 1};
    cblas_dcopy(P, s->grad, 1, s->k1, 1); /* ∇R(θ) from evaluate */
    for (int i = 1; i < 4; i++) {
        cblas_dcopy(P, s->theta, 1, s->tmp, 1);
        cblas_daxpy(P, -c[i] * dt, k[i - 1], 1, s->tmp, 1);
        deep_chain_grad(s->ch, &s->mom, s->tmp, k[i], NULL);
    }
    cblas_daxpy(P, -dt / 6, s->k1, 1, s->theta, 1);
    cblas_daxpy(P, -dt / 3, s->k2, 1, s->theta, 1);
    cblas_daxpy(P, -dt / 3, s->k3, 1, s->theta, 1);
    cblas_daxpy(P, -dt / 6, s->k4, 1, s->theta, 1);
}

static void publish(const deep_linear_state *s, ms_progress *prog) {
    prog->iteration = s->iter;
    prog->fraction = (double)s->iter / (double)s->p->max_iter;
    ms_progress_set(prog, "loss", s->loss);
    if (s->has_test)
        ms_progress_set(prog, "test_loss", s->test_loss);
    ms_progress_set(prog, "grad_norm", s->gnorm);
    ms_progress_set(prog, "dist2_wstar", s->dist2);
    ms_progress_set(prog, "sharpness", s->sharp);
    ms_progress_set(prog, "sharpness_residual", s->sharp_res);
    ms_progress_set(prog, "stability_threshold", 2.0 / s->lr);
    ms_progress_set(prog, "sharpness_lower_bound", s->s_min);
    ms_progress_set(prog, "sharpness_ratio", s->sharp / s->s_min);
    ms_progress_set(prog, "balance_drift", s->stats.balance_drift);
    ms_progress_set(prog, "rank1_ratio", s->stats.rank1_ratio);
    ms_progress_set(prog, "layer_alignment", s->stats.layer_alignment);
    ms_progress_set(prog, "input_alignment", s->stats.input_alignment);
    ms_progress_set(prog, "time", s->time);
    prog->done = s->done;
}

static ms_status step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    (void)ctx;
    deep_linear_state *s = state;
    const deep_linear_params *p = s->p;
    if (s->iter == 0 && s->gnorm <= p->tol) {
        s->converged = s->done = 1; /* already stationary: nothing to do */
        publish(s, prog);
        return MS_OK;
    }
    if (p->method == METHOD_GD)
        cblas_daxpy((int)s->ch->nparams, -s->lr, s->grad, 1, s->theta, 1);
    else
        rk4_step(s, s->lr);
    s->iter++;
    s->time = s->lr * (double)s->iter;
    evaluate(s);
    if (!isfinite(s->loss) || !isfinite(s->gnorm) ||
        s->loss > p->diverge_factor * fmax(s->loss0, 1e-300)) {
        s->diverged = s->done = 1;
        publish(s, prog);
        return MS_OK;
    }
    if (s->gnorm <= p->tol)
        s->converged = s->done = 1;
    if (s->iter >= (size_t)p->max_iter)
        s->done = 1;
    int due = p->sharpness_every > 0 && s->iter % (size_t)p->sharpness_every == 0;
    if (due || s->done) {
        ms_status st = measure(s, err);
        if (st == MS_ENUMERIC) {
            char why[MS_ERR_MSG_MAX];
            memcpy(why, err->msg, sizeof why);
            return ms_fail(err, MS_ENUMERIC, "", "iteration %zu: %s", s->iter, why);
        }
        if (st != MS_OK)
            return st;
    }
    publish(s, prog);
    return MS_OK;
}

static ms_status result(void *state, ms_value *out, ms_err *err) {
    deep_linear_state *s = state;
    ms_obj_int(out, "iterations", (long long)s->iter);
    ms_obj_bool(out, "converged", s->converged);
    ms_obj_bool(out, "diverged", s->diverged);
    ms_obj_vec(out, "w", s->w, s->d, 1);
    ms_obj_vec(out, "w_star", s->wstar, s->d, 1);
    ms_obj_num(out, "loss", s->loss);
    if (s->has_test)
        ms_obj_num(out, "test_loss", s->test_loss);
    ms_obj_num(out, "grad_norm", s->gnorm);
    ms_obj_num(out, "dist2_wstar", s->dist2);
    ms_obj_num(out, "lr", s->lr);
    ms_obj_num(out, "time", s->time);
    ms_obj_num(out, "sharpness", s->diverged ? NAN : s->sharp);
    ms_obj_num(out, "sharpness_residual", s->diverged ? NAN : s->sharp_res);
    ms_obj_num(out, "sharpness_initial", s->sharp0);
    ms_obj_num(out, "sharpness_lower_bound", s->s_min);
    ms_obj_num(out, "sharpness_ratio", s->diverged ? NAN : s->sharp / s->s_min);
    ms_obj_num(out, "stability_threshold", 2.0 / s->lr);
    ms_obj_num(out, "sharpness_reference_upper", s->upper_ref);
    ms_obj_num(out, "lambda_max", s->lambda_max);
    double Sf = NAN;
    if (!s->diverged && deep_chain_min_sharpness(s->ch, &s->mom, s->theta, &Sf, err) != MS_OK)
        return err->code;
    ms_obj_num(out, "sharpness_minimiser_formula", Sf);
    ms_obj_num(out, "balance_drift", s->stats.balance_drift);
    ms_obj_num(out, "rank1_ratio", s->stats.rank1_ratio);
    ms_obj_num(out, "layer_alignment", s->stats.layer_alignment);
    ms_obj_num(out, "input_alignment", s->stats.input_alignment);
    deep__hist_write(&s->hist, ms_obj_obj(out, "history"), hist_names);
    return ms_value_status(out);
}

static void fini(void *state) {
    deep_linear_state *s = state;
    ms_free(s->sigma), ms_free(s->c), ms_free(s->sigma_t), ms_free(s->c_t);
    ms_free(s->wstar), ms_free(s->what);
    deep_chain_free(s->ch);
    ms_free(s->theta), ms_free(s->grad), ms_free(s->w), ms_free(s->bal0);
    ms_free(s->k1), ms_free(s->k2), ms_free(s->k3), ms_free(s->k4), ms_free(s->tmp);
    deep_lanczos_free(s->lz);
    deep__hist_fini(&s->hist);
    memset(s, 0, sizeof *s);
}

const ms_kind deep_linear_kind = {
    .name = "deep_linear",
    .title = "Deep linear regression: sharpness and implicit regularisation",
    .description =
        "Trains a deep linear network f(x) = uᵀW_L⋯W_1x on square-loss regression "
        "R = (1/n)Σ(f(x_i) − y_i)² (no ½) by gradient descent with a constant learning rate "
        "(or gradient flow by RK4 steps), from a small-scale Gaussian or a residual "
        "initialisation. Streams the loss, the distance to w* = X⁺y, the sharpness (largest "
        "algebraic Hessian eigenvalue by Lanczos on exact Hessian-vector products), the lower "
        "bound S_min = 2La‖w*‖^{2−2/L} (a = w*ᵀΣw*/‖w*‖²) that every minimiser satisfies, the "
        "2/lr stability threshold and the layers' balance, rank-one and alignment statistics. "
        "Returns the end-to-end predictor w and the sharpness history. Divergence is a "
        "result (diverged: true). Reference: Marion & Chizat, Deep linear networks for "
        "regression are implicitly regularized towards flat minima, NeurIPS 2024.",
    .params = &params_table,
    .example = "{\"depth\": 4, \"scale\": 0.3, \"lr\": 0.05, \"max_iter\": 200, "
               "\"sharpness_every\": 20, \"seed\": 1}",
    .state_size = sizeof(deep_linear_state),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
