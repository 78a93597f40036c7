/* deep_align.c — the `feature_alignment` kind: feature speed and backward–
 * feature alignment of ReLU MLPs and ResNets along gradient descent, with
 * per-layer learning-rate rules including the steering rule that sets rates
 * to reach target feature speeds (spec deep-networks.md §4; Chizat &
 * Netrapalli, The Feature Speed Formula, NeurIPS 2024, arXiv:2311.18718).
 *
 * What it is for: at every step, for every layer ℓ (features f_ℓ = h_ℓ,
 * f_L = output; backward b_ℓ = ∂L/∂f_ℓ), the first-order feature update
 * δf_ℓ of the GD step ΔW_k = −η_k ∇_{W_k}L (one JVP), the backward–feature
 * angle cos θ_ℓ = −⟨b_ℓ, δf_ℓ⟩/(‖b_ℓ‖‖δf_ℓ‖), the feature speed
 * ‖δf_ℓ‖_rms/‖f_ℓ‖_rms, the predicted loss decrease ΔL_ℓ = Σ_{k≤ℓ} η_k‖∇_{W_k}L‖²
 * (so that ‖δf_ℓ‖ = ΔL_ℓ/(‖b_ℓ‖ cos θ_ℓ), the feature speed formula, checked
 * every step as identity_error), the sensitivity ‖δf_ℓ‖_rms/ΔL_L, and the
 * realised change f_ℓ(θ + Δθ) − f_ℓ(θ) on the same batch.
 *
 * What it is not for: the paper's own tuning procedure and table of
 * scalings, which were not re-read (spec §5): §4.4's recipe is derived from
 * the feature speed formula. Not a trainer for real data sets.
 *
 * Loss convention: per-sample ½‖f − y‖² averaged over the batch.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <cblas.h>

#include "deep_data.h"
#include "deep_internal.h"
#include "deep_mlp.h"
#include "ms_alloc.h"
#include "ms_kind.h"
#include "ms_rng.h"

enum { ARCH_MLP, ARCH_RESNET };
enum { ACT_RELU, ACT_LINEAR };
enum { RULE_CONSTANT, RULE_NORMALIZED, RULE_STEER, RULE_TARGETS };
enum { MEASURE_FIRST, MEASURE_REALISED, MEASURE_BOTH };

typedef struct align_params {
    ms_mat X;
    ms_vec y;
    long long d, batch, output_dim;
    int arch, activation;
    long long depth, width;
    int init;
    double gain, readout_std, branch_scale, output_scale;
    int lr_rule;
    double lr;
    ms_vec lr_layers, shares;
    double rho, lr_max, speed_target;
    ms_vec speed_targets;
    long long steer_iters;
    int forward_normalize, auto_output_scale;
    double sensitivity_target;
    int measure;
    long long max_iter;
    double tol, diverge_factor;
    long long seed, threads;
} align_params;

static const char *const arch_choices[] = {"mlp", "resnet", NULL};
static const char *const act_choices[] = {"relu", "linear", NULL};
static const char *const init_choices[] = {"gaussian", "orthogonal", NULL};
static const char *const rule_choices[] = {"constant", "normalized", "steer", "speed_targets",
                                           NULL};
static const char *const measure_choices[] = {"first_order", "realised", "both", NULL};

#define P_(f) offsetof(align_params, f)
#define MIN_MAX (MS_FF_MIN | MS_FF_MAX)
static const ms_field fields[] = {
    {.name = "X",
     .type = MS_F_MAT,
     .offset = P_(X),
     .max_len = 4000000,
     .doc = "Batch inputs, B×d (one row per sample). Absent: B = batch samples with iid "
            "N(0,1) entries in dimension d."},
    {.name = "y",
     .type = MS_F_VEC,
     .offset = P_(y),
     .max_len = 4000000,
     .doc = "Targets, B·output_dim values (row-major B×output_dim); required with X. "
            "Absent: iid N(0,1)."},
    {.name = "d",
     .type = MS_F_INT,
     .offset = P_(d),
     .flags = MIN_MAX,
     .min = 1,
     .max = 100000,
     .def = 100,
     .doc = "Synthetic inputs: dimension d."},
    {.name = "batch",
     .type = MS_F_INT,
     .offset = P_(batch),
     .flags = MIN_MAX,
     .min = 1,
     .max = 100000,
     .def = 1,
     .doc = "Synthetic inputs: number of samples B."},
    {.name = "output_dim",
     .type = MS_F_INT,
     .offset = P_(output_dim),
     .flags = MIN_MAX,
     .min = 1,
     .max = 10000,
     .def = 1,
     .doc = "Output dimension d_out."},
    {.name = "arch",
     .type = MS_F_ENUM,
     .offset = P_(arch),
     .choices = arch_choices,
     .def_str = "mlp",
     .doc = "mlp: h_k = W_k φ(h_{k−1}). resnet: h_k = h_{k−1} + β W_k φ(h_{k−1}) for "
            "k = 2..L−1. Both: h_1 = W_1x, f = α W_L φ(h_{L−1})."},
    {.name = "activation",
     .type = MS_F_ENUM,
     .offset = P_(activation),
     .choices = act_choices,
     .def_str = "relu",
     .doc = "φ: relu (φ'(0) = 0) or linear (identity)."},
    {.name = "depth",
     .type = MS_F_INT,
     .offset = P_(depth),
     .flags = MIN_MAX,
     .min = 2,
     .max = 4096,
     .def = 8,
     .doc = "L, the number of weight matrices (L − 1 hidden layers)."},
    {.name = "width",
     .type = MS_F_INT,
     .offset = P_(width),
     .flags = MIN_MAX,
     .min = 1,
     .max = 100000,
     .def = 256,
     .doc = "n, the hidden width."},
    {.name = "init",
     .type = MS_F_ENUM,
     .offset = P_(init),
     .choices = init_choices,
     .def_str = "gaussian",
     .doc = "gaussian: W_1 ~ N(0, 1/d), hidden W_k ~ N(0, gain/n). orthogonal: W_1 with "
            "orthonormal columns, hidden W_k = √gain·(Haar orthogonal). Readout "
            "N(0, readout_std²) in both."},
    {.name = "gain",
     .type = MS_F_DOUBLE,
     .offset = P_(gain),
     .flags = MS_FF_MIN_EXCL | MS_FF_NULLABLE,
     .min = 0,
     .def = NAN,
     .doc = "Variance gain of the hidden (branch) weights. Absent: 2 (He) for a ReLU MLP, "
            "1 otherwise (linear nets, ResNet branches N(0, 1/n))."},
    {.name = "readout_std",
     .type = MS_F_DOUBLE,
     .offset = P_(readout_std),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1.0,
     .doc = "Standard deviation of the readout W_L (before the multiplier α)."},
    {.name = "branch_scale",
     .type = MS_F_DOUBLE,
     .offset = P_(branch_scale),
     .flags = MS_FF_MIN | MS_FF_NULLABLE,
     .min = 0,
     .def = NAN,
     .doc = "β, the ResNet branch scale. Absent: 1/√L, the only scale with a non-trivial "
            "depth-independent output alignment."},
    {.name = "output_scale",
     .type = MS_F_DOUBLE,
     .offset = P_(output_scale),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1.0,
     .doc = "α, the output multiplier (NTK: 1/√n, µP: 1/n, depth-aware: √L/n)."},
    {.name = "lr_rule",
     .type = MS_F_ENUM,
     .offset = P_(lr_rule),
     .choices = rule_choices,
     .def_str = "normalized",
     .doc = "Per-layer rates η_k. constant: lr·lr_layers_k. normalized: "
            "lr·lr_layers_k/mean_i‖a_{k−1,i}‖² (equal c_k of §4.3). steer: "
            "η_k = shares_k·ρ·L(θ)/‖∇_{W_k}L‖² (first-order decrease ρ·L(θ)). speed_targets: "
            "hidden rates chosen so that ‖δf_ℓ‖/‖f_ℓ‖ = speed_target, readout by steer; "
            "layers whose target is unreachable get η = 0 and are reported."},
    {.name = "lr",
     .type = MS_F_DOUBLE,
     .offset = P_(lr),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 0.1,
     .doc = "Base learning rate of the constant and normalized rules."},
    {.name = "lr_layers",
     .type = MS_F_VEC,
     .offset = P_(lr_layers),
     .flags = MS_FF_MIN,
     .min = 0,
     .max_len = 4096,
     .doc = "Optional per-layer multipliers of lr (L values, layer 1 first)."},
    {.name = "shares",
     .type = MS_F_VEC,
     .offset = P_(shares),
     .flags = MS_FF_MIN,
     .min = 0,
     .max_len = 4096,
     .doc = "steer rule: shares π_k ≥ 0 of the loss decrease (L values, normalised to sum "
            "1). Absent: uniform over all layers including the readout."},
    {.name = "rho",
     .type = MS_F_DOUBLE,
     .offset = P_(rho),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 0.05,
     .doc = "steer rule: target first-order decrease ΔL* = ρ·L(θ)."},
    {.name = "lr_max",
     .type = MS_F_DOUBLE,
     .offset = P_(lr_max),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1e6,
     .doc = "Cap on every per-layer rate of the steer and speed rules."},
    {.name = "speed_target",
     .type = MS_F_DOUBLE,
     .offset = P_(speed_target),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 0.05,
     .doc = "speed_targets rule: target ‖δf_ℓ‖/‖f_ℓ‖ of every hidden layer."},
    {.name = "speed_targets",
     .type = MS_F_VEC,
     .offset = P_(speed_targets),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .max_len = 4096,
     .doc = "speed_targets rule: per-layer targets (L − 1 values), overriding speed_target."},
    {.name = "steer_iters",
     .type = MS_F_INT,
     .offset = P_(steer_iters),
     .flags = MIN_MAX,
     .min = 1,
     .max = 20,
     .def = 3,
     .doc = "speed_targets rule: fixed-point passes (cos θ depends on the rates)."},
    {.name = "forward_normalize",
     .type = MS_F_BOOL,
     .offset = P_(forward_normalize),
     .def = 0,
     .doc = "At init rescale each W_ℓ so that ‖h_ℓ‖_rms = 1 on the batch (ResNet: W_1 only)."},
    {.name = "auto_output_scale",
     .type = MS_F_BOOL,
     .offset = P_(auto_output_scale),
     .def = 0,
     .doc = "At init set α so that the output-layer sensitivity ‖δf_{L−1}‖_rms/ΔL under the "
            "steer rates equals sensitivity_target (α ← α·S/S*, repeated until within 0.1%, "
            "at most 6 passes; §4.4 step 2)."},
    {.name = "sensitivity_target",
     .type = MS_F_DOUBLE,
     .offset = P_(sensitivity_target),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 1.0,
     .doc = "S* for auto_output_scale."},
    {.name = "measure",
     .type = MS_F_ENUM,
     .offset = P_(measure),
     .choices = measure_choices,
     .def_str = "both",
     .doc = "first_order: δf by one JVP. realised: f(θ + Δθ) − f(θ) on the batch. both."},
    {.name = "max_iter",
     .type = MS_F_INT,
     .offset = P_(max_iter),
     .flags = MIN_MAX,
     .min = 1,
     .max = 100000000,
     .def = 1,
     .doc = "GD steps (1 = alignment at initialisation only)."},
    {.name = "tol",
     .type = MS_F_DOUBLE,
     .offset = P_(tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 0,
     .doc = "Converged when the loss is ≤ tol (0: run max_iter steps)."},
    DEEP_RUN_FIELDS(align_params),
};
#undef P_
#undef MIN_MAX

static const ms_fields params_table = MS_FIELDS(align_params, fields);

#define ALIGN_MAX_PARAMS 5e7
#define ALIGN_MAX_ACTIVATIONS 2e7
/* Multiply-adds of one pass (forward, backward or JVP) of a step: 4e9 is a
 * few seconds on one core, the longest a step may go without a
 * cancellation check. */
#define ALIGN_MAX_WORK 4e9

static size_t in_dim(const align_params *p) {
    return p->X.v ? p->X.cols : (size_t)p->d;
}

static size_t batch_of(const align_params *p) {
    return p->X.v ? p->X.rows : (size_t)p->batch;
}

static double nparams_of(const align_params *p) {
    double n = (double)p->width, L = (double)p->depth;
    return n * (double)in_dim(p) + (L - 2) * n * n + (double)p->output_dim * n;
}

static ms_status check(const void *params, ms_errlist *errs) {
    const align_params *p = params;
    size_t before = errs->n + errs->dropped, L = (size_t)p->depth;
    if (p->X.v && !p->y.v)
        ms_errlist_addf(errs, MS_EINVAL, "y", "is required when X is given");
    if (!p->X.v && p->y.v)
        ms_errlist_addf(errs, MS_EINVAL, "X", "is required when y is given");
    if (p->X.v && p->y.v && p->y.n != p->X.rows * (size_t)p->output_dim)
        ms_errlist_addf(errs, MS_EINVAL, "y", "has %zu values, expected B·output_dim = %zu", p->y.n,
                        p->X.rows * (size_t)p->output_dim);
    if (p->lr_layers.v && p->lr_layers.n != L)
        ms_errlist_addf(errs, MS_EINVAL, "lr_layers", "needs depth = %zu values", L);
    if (p->shares.v && p->shares.n != L)
        ms_errlist_addf(errs, MS_EINVAL, "shares", "needs depth = %zu values", L);
    if (p->shares.v && p->shares.n == L) {
        double t = 0;
        for (size_t i = 0; i < L; i++)
            t += p->shares.v[i];
        if (!(t > 0))
            ms_errlist_addf(errs, MS_EINVAL, "shares", "must have a positive sum");
    }
    if (p->speed_targets.v && p->speed_targets.n != L - 1)
        ms_errlist_addf(errs, MS_EINVAL, "speed_targets", "needs depth − 1 = %zu values", L - 1);
    if (nparams_of(p) > ALIGN_MAX_PARAMS)
        ms_errlist_addf(errs, MS_EINVAL, "width", "%.0f parameters, at most %.0f", nparams_of(p),
                        ALIGN_MAX_PARAMS);
    if (nparams_of(p) * (double)batch_of(p) > ALIGN_MAX_WORK)
        ms_errlist_addf(errs, MS_EINVAL, "batch",
                        "parameters × batch = %.3g exceeds %.3g (one pass of a step)",
                        nparams_of(p) * (double)batch_of(p), ALIGN_MAX_WORK);
    if ((double)(L - 1) * (double)p->width * (double)batch_of(p) > ALIGN_MAX_ACTIVATIONS)
        ms_errlist_addf(errs, MS_EINVAL, "batch", "depth × width × batch exceeds %.0f",
                        ALIGN_MAX_ACTIVATIONS);
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}

static size_t memory(const void *params) {
    const align_params *p = params;
    double act = (double)(p->depth - 1) * (double)p->width * (double)batch_of(p);
    return (size_t)(8 * (2 * nparams_of(p) + 7 * act));
}

/* Per-layer statistics of one step (ℓ = 1..L, index ℓ − 1). */
enum { S_COS, S_COS_REAL, S_SPEED, S_FWD, S_BWD, S_GRAD, S_LR, S_DL, S_SENS, S_COUNT };
static const char *const stat_names[S_COUNT] = {
    "cos_theta", "cos_theta_realised", "feature_speed", "forward_rms", "backward_rms", "grad_norm",
    "lr",        "loss_decay_pred",    "sensitivity"};

/* History columns (one row per step). */
enum { H_LOSS, H_DLP, H_DLA, H_COS, H_SENS, H_COLS };
static const char *const hist_names[H_COLS] = {"loss", "loss_decay_pred", "loss_decay_actual",
                                               "cos_theta_out", "sensitivity_out"};

typedef struct align_state {
    const align_params *p;
    deep_mlp *net;
    size_t L;
    int nt;
    double *theta, *grad;
    double *gn2, *an2, *eta, *scl, *mult, *shares, *targets; /* L each */
    double *fnorm, *bnorm, *ip, *dfn;                        /* L each */
    double *stats, *stats0; /* S_COUNT × L: current step and first step */
    int *infeasible;
    size_t n_infeasible;
    double loss, loss0, loss_prev, identity_err, identity_worst;
    size_t iter;
    int converged, diverged, done;
    deep__hist hist;
} align_state;

/* Feature / backward block of layer ℓ and its number of entries. */
static double *feat(const align_state *s, double *base_h, double *base_f, size_t l) {
    return l < s->L ? deep_mlp_block(s->net, base_h, l) : base_f;
}

static size_t feat_len(const align_state *s, size_t l) {
    return (l < s->L ? s->net->n : s->net->dout) * s->net->B;
}

/* Gradient, input and feature/backward norms after forward + backward. */
static void layer_norms(align_state *s) {
    deep_mlp *net = s->net;
    for (size_t k = 1; k <= s->L; k++) {
        const double *gk = s->grad + net->off[k - 1];
        size_t m = net->off[k] - net->off[k - 1];
        s->gn2[k - 1] = cblas_ddot((int)m, gk, 1, gk, 1);
        const double *in = k == 1 ? net->X : deep_mlp_block(net, net->A, k - 1);
        size_t mi = (k == 1 ? net->d : net->n) * net->B;
        s->an2[k - 1] = cblas_ddot((int)mi, in, 1, in, 1);
        s->fnorm[k - 1] = cblas_dnrm2((int)feat_len(s, k), feat(s, net->H, net->F, k), 1);
        s->bnorm[k - 1] = cblas_dnrm2((int)feat_len(s, k), feat(s, net->G, net->E, k), 1);
    }
}

/* First-order update along ΔW_k = −η_k ∇_{W_k}L: JVP, then per layer
 * ⟨b_ℓ, δf_ℓ⟩, ‖δf_ℓ‖, cos θ_ℓ and the identity error. */
static void first_order(align_state *s) {
    deep_mlp *net = s->net;
    for (size_t k = 0; k < s->L; k++)
        s->scl[k] = -s->eta[k];
    deep_mlp_jvp(net, s->theta, s->grad, s->scl, s->nt);
    double cum = 0, worst = 0;
    for (size_t l = 1; l <= s->L; l++) {
        const double *df = feat(s, net->RH, net->RF, l), *b = feat(s, net->G, net->E, l);
        size_t m = feat_len(s, l);
        s->ip[l - 1] = cblas_ddot((int)m, b, 1, df, 1);
        s->dfn[l - 1] = cblas_dnrm2((int)m, df, 1);
        cum += s->eta[l - 1] * s->gn2[l - 1];
        double *st = s->stats;
        st[S_DL * s->L + l - 1] = cum;
        st[S_COS * s->L + l - 1] = -s->ip[l - 1] / (s->bnorm[l - 1] * s->dfn[l - 1]);
        if (cum > 0)
            worst = fmax(worst, fabs(-s->ip[l - 1] - cum) / cum);
    }
    s->identity_err = worst;
}

/* η_k = min(lr_max, π_k ΔL* / ‖∇_{W_k}L‖²). */
static void steer_rates(align_state *s, double dl_star) {
    for (size_t k = 0; k < s->L; k++)
        s->eta[k] = s->gn2[k] > 0 ? fmin(s->p->lr_max, s->shares[k] * dl_star / s->gn2[k]) : 0;
}

/* §4.4 step 4: T_ℓ = r_ℓ‖f_ℓ‖‖b_ℓ‖cos θ_ℓ must be reached by the cumulative
 * decrease ΔL_ℓ; η_ℓ = (T_ℓ − ΔL_{ℓ−1})/‖∇_{W_ℓ}L‖², or 0 and reported when
 * T_ℓ < ΔL_{ℓ−1} (features before ℓ already move layer ℓ too fast). */
static void target_rates(align_state *s) {
    const align_params *p = s->p;
    steer_rates(s, p->rho * s->loss); /* start, and the readout's rate */
    for (long long it = 0; it < p->steer_iters; it++) {
        first_order(s);
        double achieved = 0;
        s->n_infeasible = 0;
        for (size_t l = 1; l < s->L; l++) {
            double cs = s->stats[S_COS * s->L + l - 1];
            double T = s->targets[l - 1] * s->fnorm[l - 1] * s->bnorm[l - 1] * cs;
            double need = T - achieved;
            s->infeasible[l - 1] = !(need > 0) || !(s->gn2[l - 1] > 0) || !isfinite(cs);
            s->eta[l - 1] = s->infeasible[l - 1] ? 0 : fmin(p->lr_max, need / s->gn2[l - 1]);
            s->n_infeasible += (size_t)s->infeasible[l - 1];
            achieved += s->eta[l - 1] * s->gn2[l - 1];
        }
    }
}

static void choose_rates(align_state *s) {
    const align_params *p = s->p;
    const double B = (double)s->net->B;
    switch (p->lr_rule) {
    case RULE_CONSTANT:
        for (size_t k = 0; k < s->L; k++)
            s->eta[k] = p->lr * s->mult[k];
        break;
    case RULE_NORMALIZED:
        for (size_t k = 0; k < s->L; k++)
            s->eta[k] = s->an2[k] > 0 ? p->lr * s->mult[k] * B / s->an2[k] : 0;
        break;
    case RULE_STEER:
        steer_rates(s, p->rho * s->loss);
        break;
    default:
        target_rates(s);
        break;
    }
}

/* Fill the per-layer statistics from the first-order pass. */
static void layer_stats(align_state *s) {
    const size_t L = s->L;
    double *st = s->stats, total = st[S_DL * L + L - 1];
    for (size_t l = 1; l <= L; l++) {
        double m = (double)feat_len(s, l), rm = sqrt(m);
        st[S_FWD * L + l - 1] = s->fnorm[l - 1] / rm;
        st[S_BWD * L + l - 1] = s->bnorm[l - 1] / rm;
        st[S_GRAD * L + l - 1] = sqrt(s->gn2[l - 1]);
        st[S_LR * L + l - 1] = s->eta[l - 1];
        st[S_SPEED * L + l - 1] = s->dfn[l - 1] / s->fnorm[l - 1];
        st[S_SENS * L + l - 1] = s->dfn[l - 1] / rm / total;
        st[S_COS_REAL * L + l - 1] = NAN;
    }
}

/* After the update and a forward pass at θ + Δθ (previous buffers hold θ):
 * the realised changes' angle with b_ℓ (from the backward at θ). */
static void realised(align_state *s) {
    deep_mlp *net = s->net;
    for (size_t l = 1; l <= s->L; l++) {
        const double *now = feat(s, net->H, net->F, l), *was = feat(s, net->Hp, net->Fp, l);
        const double *b = feat(s, net->G, net->E, l);
        double ip = 0, nn = 0;
        for (size_t i = 0; i < feat_len(s, l); i++) {
            double dlt = now[i] - was[i];
            ip += b[i] * dlt;
            nn += dlt * dlt;
        }
        s->stats[S_COS_REAL * s->L + l - 1] = -ip / (s->bnorm[l - 1] * sqrt(nn));
    }
}

/* §4.4 step 2: α ← α·S_{L−1}/S* with S_{L−1} measured under steer rates.
 * S ∝ 1/α holds exactly only while the output is small against the targets,
 * so the update is repeated (at most ALIGN_ALPHA_PASSES times) until S is
 * within 0.1% of S*; the spec's "repeat once" is the first two passes. */
#define ALIGN_ALPHA_PASSES 6
static void tune_output_scale(align_state *s) {
    deep_mlp *net = s->net;
    for (int pass = 0; pass < ALIGN_ALPHA_PASSES; pass++) {
        deep_mlp_backward(net, s->theta, s->grad, s->nt);
        layer_norms(s);
        steer_rates(s, s->p->rho * s->loss);
        first_order(s);
        const size_t l = s->L - 1;
        double total = s->stats[S_DL * s->L + s->L - 1];
        double sens = s->dfn[l - 1] / sqrt((double)feat_len(s, l)) / total;
        if (!(isfinite(sens) && sens > 0) || fabs(sens / s->p->sensitivity_target - 1) <= 1e-3)
            break;
        net->alpha *= sens / s->p->sensitivity_target;
        s->loss = deep_mlp_forward(net, s->theta, 0, s->nt);
    }
}

static ms_status init_buffers(align_state *s, ms_err *err) {
    const size_t L = s->L, P = s->net->nparams;
    s->theta = ms_malloc(P, sizeof(double));
    s->grad = ms_malloc(P, sizeof(double));
    double **v[] = {&s->gn2,     &s->an2,   &s->eta,   &s->scl, &s->mult, &s->shares,
                    &s->targets, &s->fnorm, &s->bnorm, &s->ip,  &s->dfn};
    int ok = s->theta && s->grad;
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        ok &= (*v[i] = ms_calloc(L, sizeof(double))) != NULL;
    s->stats = ms_calloc(S_COUNT * L, sizeof(double));
    s->stats0 = ms_calloc(S_COUNT * L, sizeof(double));
    s->infeasible = ms_calloc(L, sizeof(int));
    int hok = deep__hist_init(&s->hist, H_COLS * sizeof(double), (size_t)s->p->max_iter);
    if (!ok || !s->stats || !s->stats0 || !s->infeasible || !hok)
        return ms_fail(err, MS_ENOMEM, "", "per-layer buffers");
    return MS_OK;
}

/* Rule constants: multipliers, shares (normalised), speed targets. */
static void init_rules(align_state *s) {
    const align_params *p = s->p;
    double tot = 0;
    for (size_t k = 0; k < s->L; k++) {
        s->mult[k] = p->lr_layers.v ? p->lr_layers.v[k] : 1.0;
        s->shares[k] = p->shares.v ? p->shares.v[k] : 1.0;
        tot += s->shares[k];
        if (k + 1 < s->L)
            s->targets[k] = p->speed_targets.v ? p->speed_targets.v[k] : p->speed_target;
    }
    for (size_t k = 0; k < s->L; k++)
        s->shares[k] /= tot;
}

/* The batch: given, or synthetic N(0,1) inputs and targets (stream 0). */
static ms_status init_batch(align_state *s, ms_err *err) {
    const align_params *p = s->p;
    deep_mlp *net = s->net;
    if (p->X.v) {
        deep_mlp_set_batch(net, p->X.v, p->y.v);
        return MS_OK;
    }
    double *X = ms_malloc(net->B * net->d, sizeof *X),
           *Y = ms_malloc(net->B * net->dout, sizeof *Y);
    if (!X || !Y) {
        ms_free(X), ms_free(Y);
        return ms_fail(err, MS_ENOMEM, "", "synthetic batch");
    }
    ms_rng r;
    ms_rng_init(&r, (uint64_t)p->seed, 0);
    ms_rng_normals(&r, X, net->B * net->d);
    ms_rng_normals(&r, Y, net->B * net->dout);
    deep_mlp_set_batch(net, X, Y);
    ms_free(X), ms_free(Y);
    return MS_OK;
}

static ms_status init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    align_state *s = state;
    const align_params *p = params;
    s->p = p;
    s->L = (size_t)p->depth;
    s->nt = ms_ctx_threads(ctx);
    s->net = deep_mlp_alloc(s->L, in_dim(p), (size_t)p->width, (size_t)p->output_dim, batch_of(p),
                            p->arch == ARCH_RESNET, p->activation == ACT_RELU, 0, err);
    if (!s->net)
        return err->code;
    ms_status st = init_buffers(s, err);
    if (st == MS_OK)
        st = init_batch(s, err);
    if (st != MS_OK)
        return st;
    init_rules(s);
    deep_mlp *net = s->net;
    net->alpha = p->output_scale;
    net->beta = isnan(p->branch_scale) ? 1.0 / sqrt((double)s->L) : p->branch_scale;
    double gain = !isnan(p->gain)                                      ? p->gain
                  : (p->arch == ARCH_MLP && p->activation == ACT_RELU) ? 2.0
                                                                       : 1.0;
    st = deep_mlp_init_weights(net, s->theta,
                               p->init == 1 ? DEEP_INIT_ORTHOGONAL : DEEP_INIT_GAUSSIAN, gain,
                               p->readout_std, (unsigned long long)p->seed, 1, err);
    if (st != MS_OK)
        return st;
    s->loss = deep_mlp_forward(net, s->theta, p->forward_normalize, s->nt);
    if (p->auto_output_scale)
        tune_output_scale(s);
    s->loss0 = s->loss;
    if (!isfinite(s->loss))
        return ms_fail(err, MS_ENUMERIC, "", "initial loss is not finite");
    return MS_OK;
}

static void publish(const align_state *s, ms_progress *prog) {
    const size_t L = s->L;
    const double *st = s->stats;
    prog->iteration = s->iter;
    prog->fraction = (double)s->iter / (double)s->p->max_iter;
    double cmin = INFINITY;
    for (size_t l = 0; l + 1 < L; l++)
        cmin = fmin(cmin, st[S_COS * L + l]);
    ms_progress_set(prog, "loss", s->loss);
    ms_progress_set(prog, "loss_decay_pred", st[S_DL * L + L - 1]);
    ms_progress_set(prog, "loss_decay_actual", s->loss_prev - s->loss);
    ms_progress_set(prog, "cos_theta_first", st[S_COS * L]);
    ms_progress_set(prog, "cos_theta_out", st[S_COS * L + L - 2]);
    ms_progress_set(prog, "cos_theta_out_realised", st[S_COS_REAL * L + L - 2]);
    ms_progress_set(prog, "cos_theta_min", cmin);
    ms_progress_set(prog, "feature_speed_out", st[S_SPEED * L + L - 2]);
    ms_progress_set(prog, "sensitivity_out", st[S_SENS * L + L - 2]);
    ms_progress_set(prog, "lr_first", st[S_LR * L]);
    ms_progress_set(prog, "lr_out", st[S_LR * L + L - 2]);
    ms_progress_set(prog, "lr_readout", st[S_LR * L + L - 1]);
    ms_progress_set(prog, "identity_error", s->identity_err);
    ms_progress_set(prog, "infeasible_layers", (double)s->n_infeasible);
    ms_progress_set(prog, "output_scale", s->net->alpha);
    prog->done = s->done;
}

/* A step of a large network makes several passes of O(params × batch)
 * work; the caller's cancellation is honoured between them. */
static ms_status cancelled(const ms_ctx *ctx, ms_err *err) {
    return ms_ctx_cancelled(ctx) ? ms_fail(err, MS_ECANCELLED, "", "cancelled inside a step")
                                 : MS_OK;
}

static ms_status step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    align_state *s = state;
    const align_params *p = s->p;
    deep_mlp *net = s->net;
    deep_mlp_backward(net, s->theta, s->grad, s->nt);
    layer_norms(s);
    if (cancelled(ctx, err) != MS_OK)
        return MS_ECANCELLED;
    choose_rates(s);
    if (cancelled(ctx, err) != MS_OK)
        return MS_ECANCELLED;
    first_order(s);
    layer_stats(s);
    s->identity_worst = fmax(s->identity_worst, s->identity_err);
    /* The step θ_k += −η_k ∇_{W_k}L, then the loss and features after it. */
    for (size_t k = 1; k <= s->L; k++)
        cblas_daxpy((int)(net->off[k] - net->off[k - 1]), -s->eta[k - 1], s->grad + net->off[k - 1],
                    1, s->theta + net->off[k - 1], 1);
    deep_mlp_swap(net);
    s->loss_prev = s->loss;
    s->loss = deep_mlp_forward(net, s->theta, 0, s->nt);
    if (p->measure != MEASURE_FIRST)
        realised(s);
    if (s->iter == 0)
        memcpy(s->stats0, s->stats, S_COUNT * s->L * sizeof *s->stats);
    const double row[H_COLS] = {s->loss, s->stats[S_DL * s->L + s->L - 1], s->loss_prev - s->loss,
                                s->stats[S_COS * s->L + s->L - 2],
                                s->stats[S_SENS * s->L + s->L - 2]};
    s->iter++;
    if (!isfinite(s->loss) || s->loss > p->diverge_factor * fmax(s->loss0, 1e-300))
        s->diverged = s->done = 1;
    else if (p->tol > 0 && s->loss <= p->tol)
        s->converged = s->done = 1;
    if (s->iter >= (size_t)p->max_iter)
        s->done = 1;
    deep__hist_push(&s->hist, row, s->done);
    publish(s, prog);
    return MS_OK;
}

static void put_layers(ms_value *obj, const double *stats, size_t L) {
    for (int i = 0; i < S_COUNT; i++)
        ms_obj_vec(obj, stat_names[i], stats + (size_t)i * L, L, 1);
}

static ms_status result(void *state, ms_value *out, ms_err *err) {
    align_state *s = state;
    ms_obj_int(out, "iterations", (long long)s->iter);
    ms_obj_bool(out, "converged", s->converged);
    ms_obj_bool(out, "diverged", s->diverged);
    ms_obj_num(out, "loss", s->loss);
    ms_obj_num(out, "loss_initial", s->loss0);
    ms_obj_num(out, "output_scale", s->net->alpha);
    ms_obj_num(out, "branch_scale", s->p->arch == ARCH_RESNET ? s->net->beta : NAN);
    ms_obj_num(out, "identity_error", s->identity_worst);
    put_layers(ms_obj_obj(out, "initial"), s->stats0, s->L);
    put_layers(ms_obj_obj(out, "final"), s->stats, s->L);
    long long *inf = ms_malloc(s->L, sizeof *inf);
    if (!inf)
        return ms_fail(err, MS_ENOMEM, "", "result");
    size_t ni = 0;
    for (size_t l = 0; l + 1 < s->L; l++)
        if (s->infeasible[l])
            inf[ni++] = (long long)(l + 1);
    ms_obj_ivec(out, "infeasible_layers", inf, ni);
    ms_free(inf);
    deep__hist_write(&s->hist, ms_obj_obj(out, "history"), hist_names);
    return ms_value_status(out);
}

static void fini(void *state) {
    align_state *s = state;
    deep_mlp_free(s->net);
    double *v[] = {s->theta,   s->grad,  s->gn2,   s->an2, s->eta, s->scl,   s->mult,  s->shares,
                   s->targets, s->fnorm, s->bnorm, s->ip,  s->dfn, s->stats, s->stats0};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        ms_free(v[i]);
    ms_free(s->infeasible);
    deep__hist_fini(&s->hist);
    memset(s, 0, sizeof *s);
}

const ms_kind deep_align_kind = {
    .name = "feature_alignment",
    .title = "Feature speed and backward–feature alignment of deep ReLU networks",
    .description =
        "Runs gradient descent on a ReLU MLP or ResNet (branch scale β) over one batch and "
        "measures, for every layer and step, the first-order feature update of the step "
        "(one JVP), its angle with the backward pass (backward–feature alignment cos θ_ℓ), "
        "the feature speed ‖δf_ℓ‖_rms/‖f_ℓ‖_rms, the predicted loss decrease ΔL_ℓ, the "
        "sensitivity ‖δf_ℓ‖_rms/ΔL and the realised feature change, and checks the feature "
        "speed formula ‖δf_ℓ‖ = ΔL_ℓ/(‖b_ℓ‖cos θ_ℓ) every step. Per-layer learning rates "
        "come from a constant, normalised (equal c_k), steering (fixed first-order decrease) "
        "or target-speed rule; target speeds that no non-negative rate can reach are reported "
        "as infeasible layers. Loss: per-sample ½‖f − y‖² averaged over the batch. After "
        "Chizat & Netrapalli, The Feature Speed Formula: a flexible approach to scale "
        "hyper-parameters of deep neural networks (NeurIPS 2024).",
    .params = &params_table,
    .example = "{\"arch\": \"resnet\", \"depth\": 8, \"width\": 64, \"d\": 16, \"batch\": 4, "
               "\"max_iter\": 5, \"seed\": 1}",
    .state_size = sizeof(align_state),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
