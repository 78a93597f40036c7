/* deep_wide.c — the `wide_linear` kind: a finite-width linear network and
 * its infinite-width limit trained side by side, both compared with the
 * minimum-norm solution X⁺y (spec deep-networks.md §3; Chizat, Colombo,
 * Fernández-Real & Figalli, Infinite-width limit of deep linear neural
 * networks, arXiv:2211.16980).
 *
 * What it is for: streaming, along the common time t = lr·k, the loss of
 * the finite network and of the limit, ‖β − β†‖ for both, their distance,
 * the part of β in ker X, an estimate of the exponential rate, and how well
 * the neurons follow the predicted law (deep_widenet.h).
 *
 * What it is not for: the paper's own parametrisation, which was not
 * re-read: §3.2–3.3 are a self-consistent mean-field model derived in the
 * spec, not a transcription (listed as not verified in spec §5).
 *
 * Loss convention: R = (1/2n)‖Xβ − y‖² (with ½), g = Σβ − c.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <cblas.h>

#include "deep_data.h"
#include "deep_internal.h"
#include "deep_widenet.h"
#include "ms_alloc.h"
#include "ms_kind.h"
#include "ms_rng.h"

enum { ODE_EULER, ODE_RK4 };

typedef struct wide_linear_params {
    ms_mat X;
    ms_vec y;
    long long n, d;
    double noise;
    long long depth, width;
    double sigma_u, sigma_v, sigma_w;
    double lr;
    int limit_method;
    long long limit_substeps;
    long long max_iter;
    double tol;
    long long record_every;
    double diverge_factor;
    long long seed, threads;
} wide_linear_params;

static const char *const ode_choices[] = {"euler", "rk4", NULL};

#define P_(f) offsetof(wide_linear_params, f)
static const ms_field fields[] = {
    DEEP_DATA_FIELDS(wide_linear_params, 8, 12),
    {.name = "depth",
     .type = MS_F_INT,
     .offset = P_(depth),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 2,
     .max = 3,
     .def = 2,
     .doc = "2: f(x) = (1/N)Σ_i v_i u_iᵀx. 3: f(x) = (1/N²)Σ_{i,j} v_i W_ij u_jᵀx. (Deeper "
            "nets do not move in this scaling's limit.)"},
    {.name = "width",
     .type = MS_F_INT,
     .offset = P_(width),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 10000000,
     .def = 1000,
     .doc = "N, the width of the finite network (depth 3 stores an N×N matrix: N ≤ 10000)."},
    {.name = "sigma_u",
     .type = MS_F_DOUBLE,
     .offset = P_(sigma_u),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1.0,
     .doc = "Standard deviation of the first-layer weights u_i ~ N(0, σ_u² I)."},
    {.name = "sigma_v",
     .type = MS_F_DOUBLE,
     .offset = P_(sigma_v),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1.0,
     .doc = "Standard deviation of the readout weights v_i."},
    {.name = "sigma_w",
     .type = MS_F_DOUBLE,
     .offset = P_(sigma_w),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1.0,
     .doc = "Standard deviation of the middle weights W_ij (depth 3)."},
    {.name = "lr",
     .type = MS_F_DOUBLE,
     .offset = P_(lr),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 0.01,
     .doc = "η: mean-field step (learning rates ηN on u, v and ηN² on W); time t = η·k."},
    {.name = "limit_method",
     .type = MS_F_ENUM,
     .offset = P_(limit_method),
     .choices = ode_choices,
     .def_str = "euler",
     .doc = "Integrator of the limit ODE: euler (the finite run's grid, for step-by-step "
            "comparison) or rk4."},
    {.name = "limit_substeps",
     .type = MS_F_INT,
     .offset = P_(limit_substeps),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1000,
     .def = 1,
     .doc = "Limit ODE steps per iteration (each of size lr/limit_substeps)."},
    {.name = "max_iter",
     .type = MS_F_INT,
     .offset = P_(max_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 100000000,
     .def = 3000,
     .doc = "Number of steps at most."},
    {.name = "tol",
     .type = MS_F_DOUBLE,
     .offset = P_(tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 0,
     .doc = "Converged when both the finite and the limit gradients ‖Σβ − c‖ are ≤ tol "
            "(0: run max_iter steps)."},
    {.name = "record_every",
     .type = MS_F_INT,
     .offset = P_(record_every),
     .flags = MS_FF_MIN,
     .min = 1,
     .def = 10,
     .doc = "Record a history row and the law statistics every this many steps."},
    DEEP_RUN_FIELDS(wide_linear_params),
};
#undef P_

static const ms_fields params_table = MS_FIELDS(wide_linear_params, fields);

static ms_status check(const void *params, ms_errlist *errs) {
    const wide_linear_params *p = params;
    size_t before = errs->n + errs->dropped;
    deep_dataset_check(&p->X, &p->y, "X", "y", errs);
    if (p->depth == 3 && p->width > 10000)
        ms_errlist_addf(errs, MS_EINVAL, "width", "depth 3 stores N² weights: N ≤ 10000");
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}

static size_t memory(const void *params) {
    const wide_linear_params *p = params;
    double N = (double)p->width, d = p->X.v ? (double)p->X.cols : (double)p->d;
    double w = p->depth == 3 ? 2 * N * N + 3 * N * d : 2 * N * d;
    return (size_t)(8 * (w + 6 * N + 12 * d * d));
}

/* History columns (one row every record_every steps). */
enum { H_T, H_LOSS, H_LOSSL, H_GAP, H_DIST, H_DISTL, H_COLS };
static const char *const hist_names[H_COLS] = {
    "time", "loss", "loss_limit", "gap_to_limit", "dist_min_norm", "dist_min_norm_limit"};

typedef struct wide_linear_state {
    const wide_linear_params *p;
    size_t d, rank;
    double *sigma, *c, yy, *bdag, *Pnull, *tmp, rstar;
    deep_widenet *net;
    size_t iter;
    double loss, loss0, lossl, lossl0, t;
    double dist, distl, nullc, nulll, gap, slope, law, law_nu, law_B, law_m, inv0, inv_drift;
    double gnorm, gnorml;
    double *ring; /* log of the limit loss over the last unit of time */
    size_t ring_n;
    int converged, diverged, done;
    deep__hist hist;
} wide_linear_state;

static double dist_to(const double *a, const double *b, size_t d) {
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* ‖P_⊥β‖ with P_⊥ the projector onto ker X. */
static double null_part(const wide_linear_state *s, const double *beta) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)s->d, (int)s->d, 1.0, s->Pnull, (int)s->d, beta,
                1, 0.0, s->tmp, 1);
    return cblas_dnrm2((int)s->d, s->tmp, 1);
}

static double grad_norm(const wide_linear_state *s, const double *beta) {
    memcpy(s->tmp, s->c, s->d * sizeof *s->tmp);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)s->d, (int)s->d, 1.0, s->sigma, (int)s->d, beta,
                1, -1.0, s->tmp, 1);
    return cblas_dnrm2((int)s->d, s->tmp, 1);
}

/* Metrics of the current finite and limit predictors. */
static void measure(wide_linear_state *s) {
    const deep_widenet *net = s->net;
    s->dist = dist_to(net->beta, s->bdag, s->d);
    s->distl = dist_to(net->ybeta, s->bdag, s->d);
    s->gap = dist_to(net->beta, net->ybeta, s->d);
    s->nullc = null_part(s, net->beta);
    s->nulll = null_part(s, net->ybeta);
    s->gnorm = grad_norm(s, net->beta);
    s->gnorml = grad_norm(s, net->ybeta);
    if (net->depth == 2)
        s->inv_drift = fabs(deep_widenet_invariant2(net) - s->inv0);
    /* Rate: slope of log(loss_limit) over the last unit of time (ring of
     * ring_n + 1 entries, one per step). */
    size_t k = s->iter, w = s->ring_n;
    s->ring[k % (w + 1)] = log(s->lossl);
    size_t back = k < w ? k : w;
    s->slope =
        back ? (s->ring[k % (w + 1)] - s->ring[(k - back) % (w + 1)]) / ((double)back * s->p->lr)
             : NAN;
}

static ms_status law(wide_linear_state *s, ms_err *err) {
    if (s->net->depth == 2) {
        s->law = deep_widenet_law2(s->net);
        return MS_OK;
    }
    if (s->net->N < s->d) { /* U(0)ᵀU(0) is singular: the fit is undefined */
        s->law = s->law_nu = s->law_B = s->law_m = NAN;
        return MS_OK;
    }
    ms_status st = deep_widenet_law3(s->net, &s->law_nu, &s->law_B, &s->law_m, err);
    if (st == MS_OK)
        s->law = sqrt(s->law_nu * s->law_nu + s->law_B * s->law_B + s->law_m * s->law_m);
    return st;
}

static void record(wide_linear_state *s) {
    const double row[H_COLS] = {s->t, s->loss, s->lossl, s->gap, s->dist, s->distl};
    deep__hist_push(&s->hist, row, s->done);
}

static ms_status init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    wide_linear_state *s = state;
    const wide_linear_params *p = params;
    s->p = p;
    ms_rng r;
    ms_rng_init(&r, (uint64_t)p->seed, 0);
    deep_dataset ds;
    ms_status st =
        deep_dataset_make(&ds, &p->X, &p->y, (size_t)p->n, (size_t)p->d, p->noise, NULL, &r, err);
    if (st != MS_OK)
        return st;
    const size_t d = ds.d;
    s->d = d;
    s->sigma = ms_malloc(d * d, sizeof(double));
    s->c = ms_malloc(d, sizeof(double));
    s->bdag = ms_malloc(d, sizeof(double));
    s->Pnull = ms_malloc(d * d, sizeof(double));
    s->tmp = ms_malloc(d, sizeof(double));
    if (!s->sigma || !s->c || !s->bdag || !s->Pnull || !s->tmp)
        st = ms_fail(err, MS_ENOMEM, "", "data moments");
    if (st == MS_OK) {
        deep_data_moments(ds.X, ds.y, ds.n, d, s->sigma, s->c, &s->yy);
        st = deep_lstsq(ds.X, ds.y, ds.n, d, DEEP_LSQ_QR, s->bdag, &s->rank, err);
    }
    if (st == MS_OK)
        st = deep_null_projector(ds.X, ds.n, d, s->Pnull, NULL, err);
    if (st == MS_OK) { /* R(β†) from the data, for the loss's accurate form */
        double r2 = 0;
        for (size_t i = 0; i < ds.n; i++) {
            double f = cblas_ddot((int)d, ds.X + i * d, 1, s->bdag, 1) - ds.y[i];
            r2 += f * f;
        }
        s->rstar = r2 / (2.0 * (double)ds.n);
    }
    deep_dataset_fini(&ds);
    if (st != MS_OK)
        return st;
    ms_rng_init(&r, (uint64_t)p->seed, 1);
    s->net = deep_widenet_alloc((size_t)p->depth, (size_t)p->width, d, p->sigma_u, p->sigma_v,
                                p->sigma_w, s->sigma, s->c, s->yy, p->depth == 3, &r, err);
    if (!s->net)
        return err->code;
    deep_widenet_set_reference(s->net, s->bdag, s->rstar);
    double steps_per_unit = ceil(1.0 / p->lr);
    /* The rate window: one unit of time, at most max_iter and DEEP_HIST_MAX steps. */
    double w = fmin(fmin(steps_per_unit, (double)p->max_iter), (double)DEEP_HIST_MAX);
    s->ring_n = (size_t)w;
    s->ring = ms_malloc(s->ring_n + 1, sizeof *s->ring);
    if (!deep__hist_init(&s->hist, H_COLS * sizeof(double),
                         (size_t)p->max_iter / (size_t)p->record_every + 3) ||
        !s->ring)
        return ms_fail(err, MS_ENOMEM, "", "history");
    s->loss0 = s->loss = deep_widenet_predict(s->net, ms_ctx_threads(ctx));
    s->lossl0 = s->lossl = deep_widenet_loss(s->net, s->net->ybeta);
    s->inv0 = deep_widenet_invariant2(s->net);
    measure(s);
    if ((st = law(s, err)) != MS_OK)
        return st;
    record(s);
    return MS_OK;
}

static void publish(const wide_linear_state *s, ms_progress *prog) {
    prog->iteration = s->iter;
    prog->fraction = (double)s->iter / (double)s->p->max_iter;
    ms_progress_set(prog, "time", s->t);
    ms_progress_set(prog, "loss", s->loss);
    ms_progress_set(prog, "loss_limit", s->lossl);
    ms_progress_set(prog, "dist_min_norm", s->dist);
    ms_progress_set(prog, "dist_min_norm_limit", s->distl);
    ms_progress_set(prog, "gap_to_limit", s->gap);
    ms_progress_set(prog, "null_component", s->nullc);
    ms_progress_set(prog, "null_component_limit", s->nulll);
    ms_progress_set(prog, "log_loss_slope", s->slope);
    ms_progress_set(prog, "law_error", s->law);
    if (s->net->depth == 2)
        ms_progress_set(prog, "invariant_drift", s->inv_drift);
    prog->done = s->done;
}

static int blown_up(double loss, double loss0, double factor) {
    return !isfinite(loss) || loss > factor * fmax(loss0, 1e-300);
}

static ms_status step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    wide_linear_state *s = state;
    const wide_linear_params *p = s->p;
    const int nt = ms_ctx_threads(ctx);
    deep_widenet_step(s->net, p->lr, nt);
    /* Depth 3 at large N does two O(N²d) passes per step: honour a cancel
     * request between them. */
    if (ms_ctx_cancelled(ctx))
        return ms_fail(err, MS_ECANCELLED, "", "cancelled inside a step");
    const double h = p->lr / (double)p->limit_substeps;
    for (long long i = 0; i < p->limit_substeps; i++)
        s->lossl = deep_widenet_limit_advance(s->net, h, p->limit_method == ODE_RK4);
    s->loss = deep_widenet_predict(s->net, nt);
    s->iter++;
    s->t = p->lr * (double)s->iter;
    if (blown_up(s->loss, s->loss0, p->diverge_factor) ||
        blown_up(s->lossl, s->lossl0, p->diverge_factor)) {
        s->diverged = s->done = 1;
        publish(s, prog);
        return MS_OK;
    }
    measure(s);
    if (p->tol > 0 && s->gnorm <= p->tol && s->gnorml <= p->tol)
        s->converged = s->done = 1;
    if (s->iter >= (size_t)p->max_iter)
        s->done = 1;
    if (s->iter % (size_t)p->record_every == 0 || s->done) {
        ms_status st = law(s, err);
        if (st != MS_OK)
            return st;
        record(s);
    }
    publish(s, prog);
    return MS_OK;
}

static ms_status result(void *state, ms_value *out, ms_err *err) {
    (void)err;
    wide_linear_state *s = state;
    const deep_widenet *net = s->net;
    const size_t d = s->d;
    ms_obj_int(out, "iterations", (long long)s->iter);
    ms_obj_bool(out, "converged", s->converged);
    ms_obj_bool(out, "diverged", s->diverged);
    ms_obj_num(out, "time", s->t);
    ms_obj_vec(out, "beta", net->beta, d, 1);
    ms_obj_vec(out, "beta_limit", net->ybeta, d, 1);
    ms_obj_vec(out, "beta_min_norm", s->bdag, d, 1);
    ms_obj_int(out, "rank", (long long)s->rank);
    ms_obj_num(out, "loss", s->loss);
    ms_obj_num(out, "loss_limit", s->lossl);
    ms_obj_num(out, "loss_min", s->rstar);
    ms_obj_num(out, "dist_min_norm", s->dist);
    ms_obj_num(out, "dist_min_norm_limit", s->distl);
    ms_obj_num(out, "gap_to_limit", s->gap);
    ms_obj_num(out, "null_component", s->nullc);
    ms_obj_num(out, "null_component_limit", s->nulll);
    ms_obj_num(out, "log_loss_slope", s->slope);
    ms_obj_num(out, "law_error", s->law);
    ms_value *lim = ms_obj_obj(out, "limit_state");
    if (lim && net->depth == 2) {
        ms_obj_mat(lim, "C_uu", net->y, d, d, d);
        ms_obj_vec(lim, "C_uv", net->y + d * d, d, 1);
        ms_obj_num(lim, "C_vv", net->y[d * d + d]);
        ms_obj_num(out, "invariant_drift", s->inv_drift);
    } else if (lim) {
        ms_obj_mat(lim, "B", net->y, d, d, d);
        ms_obj_vec(lim, "m", net->y + d * d, d, 1);
        ms_obj_num(lim, "nu", net->y[d * d + d]);
        ms_obj_num(out, "law_nu_error", s->law_nu);
        ms_obj_num(out, "law_B_error", s->law_B);
        ms_obj_num(out, "law_m_error", s->law_m);
    }
    deep__hist_write(&s->hist, ms_obj_obj(out, "history"), hist_names);
    return ms_value_status(out);
}

static void fini(void *state) {
    wide_linear_state *s = state;
    ms_free(s->sigma), ms_free(s->c), ms_free(s->bdag), ms_free(s->Pnull), ms_free(s->tmp);
    deep_widenet_free(s->net);
    ms_free(s->ring);
    deep__hist_fini(&s->hist);
    memset(s, 0, sizeof *s);
}

const ms_kind deep_wide_kind = {
    .name = "wide_linear",
    .title = "Wide linear networks and their infinite-width limit",
    .description =
        "Trains a finite-width linear network of depth 2 or 3 in the mean-field scaling "
        "(f(x) = (1/N)Σ v_i u_iᵀx, or (1/N²)Σ v_i W_ij u_jᵀx) by gradient steps on "
        "R = (1/2n)‖Xβ − y‖² (with ½), and integrates its infinite-width limit — a "
        "finite-dimensional ODE for the law of the neurons — on the same time grid t = lr·k. "
        "Streams both losses, their predictors' distance (gap_to_limit, O(N^{−1/2})), the "
        "distance of each to the minimum-norm solution β† = X⁺y (QR with column pivoting), "
        "the component in ker X, the exponential rate of the limit loss and the error of the "
        "predicted law of the neurons. After Chizat, Colombo, Fernández-Real & Figalli, "
        "Infinite-width limit of deep linear neural networks (the model itself is the "
        "self-consistent mean-field one of the spec, not a transcription of the paper).",
    .params = &params_table,
    .example = "{\"depth\": 2, \"width\": 200, \"lr\": 0.02, \"max_iter\": 500, \"seed\": 1}",
    .state_size = sizeof(wide_linear_state),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
