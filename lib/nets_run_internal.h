/* nets_run_internal.h — params and run state of the `two_layer` kind.
 *
 * What it is for: the kind's files share one state: nets_twolayer_kind.c
 * (field table, init, result), nets_pgd.c (deterministic steps: PGD and the
 * conic network variant), nets_langevin.c (noisy steps: MFLD by lifting and
 * by the bilevel reduction) and nets_monitor.c (metrics and stopping).
 *
 * What it is not for: anything outside lib/nets_* and its tests.
 */
#ifndef NETS_RUN_INTERNAL_H
#define NETS_RUN_INTERNAL_H

#include "ms_params.h"
#include "nets_internal.h"

typedef enum { M_PGD, M_CONIC, M_MFLD_LIFT, M_MFLD_BILEVEL } nets_method;
typedef enum { P_WEIGHT_DECAY, P_OUTPUT_L1 } nets_penalty;
typedef enum { I_GAUSSIAN, I_SPHERE } nets_init;

typedef struct nets_2l_params {
    long long seed, threads, max_iter;
    double tol, tol_grad;
    int task; /* nets_task_kind */
    ms_mat x, x_test, x_eval, init_particles;
    ms_vec y, y_test;
    long long d, n, n_test, teacher_m0, clusters_k, batch;
    int teacher_normalize, teacher_random_signs, gaussian_inputs, bias, smooth_target;
    double label_noise;
    int teacher_activation; /* nets_act */
    long long m;
    int activation, loss, method, penalty, init;
    int symmetric;
    double init_scale, lambda, step;
    int step_decay; /* 0 constant, 1 inverse square root */
    int safe;
    double conic_ratio;
    double tau, kappa;
    int anneal;
    double anneal_gamma, anneal_power, tau_min, anneal_t0;
    long long anneal_stage_iters;
    long long inner_iter;
    double inner_tol;
    long long stream_every, heavy_every, cert_directions;
    int kernel_drift, return_particles;
} nets_2l_params;

extern const ms_fields nets__2l_fields;

#define NETS_HIST_MAX 20000
#define NETS_WINDOW 100

typedef struct nets_run {
    const nets_2l_params *p;
    nets_method method;
    nets_penalty penalty;
    nets_task task;
    ms_rng data_rng;
    uint64_t seed;
    size_t n, d, m, n_test, n_eval;
    int online, relu_tv; /* relu_tv: the certificate of §1 applies */
    double lambda;
    double *x, *y, *xt, *yt, *xe; /* owned, bias column appended */
    nets_tl tl;
    double *a, *w, *a0, *w0, *ga, *gw, *a_prev, *w_prev, *v;
    double *pred_ws, *ftest, *feval, *cert_ws, *ent_ws;
    double *probe, *K0, *Kt, *kern_ws;
    size_t n_probe;
    nets_bilevel bl;
    nets_anneal an;
    /* running */
    size_t it;
    double eta, loss, obj, obj0, tau, grad_norm, test_loss, certificate, entropy;
    double ring[21];          /* objective of the last 21 iterations */
    double win_sum, win_prev; /* MFLD windowed means */
    size_t win_n;
    int converged, fresh;
    /* history, every stream_every iterations */
    size_t hist_n, hist_cap;
    double *h_it, *h_loss, *h_obj, *h_test, *h_tau;
} nets_run;

/* nets_pgd.c */
ms_status nets__step_pgd(nets_run *S, const ms_ctx *ctx, ms_err *err);
ms_status nets__step_conic(nets_run *S, const ms_ctx *ctx, ms_err *err);
/* v = w ⊙ |w| (conic network variant, spec §3 "2NNalt"). */
void nets__conic_v(const double *w, double *v, size_t md);
/* Online mode: a fresh minibatch and the forward at the current particles
 * (nothing in full-batch mode). */
ms_status nets__online_batch(nets_run *S, const ms_ctx *ctx, ms_err *err);
/* Objective at the cached forward: R/s² + penalty. */
double nets__objective(const nets_run *S, double loss);
/* Forward at the current particles (method-aware); sets S->loss, S->obj. */
ms_status nets__refresh(nets_run *S, const ms_ctx *ctx, ms_err *err);

/* nets_langevin.c */
ms_status nets__step_mfld_lift(nets_run *S, const ms_ctx *ctx, ms_err *err);
ms_status nets__step_mfld_bilevel(nets_run *S, const ms_ctx *ctx, ms_err *err);

/* nets_monitor.c */
/* Metrics, history and stopping after iteration S->it; sets prog->done. */
ms_status nets__monitor(nets_run *S, const ms_ctx *ctx, ms_progress *prog, ms_err *err);
/* Signed measure weight of particle i (mass of its Dirac, ×m). */
double nets__particle_mass(const nets_run *S, size_t i);

#endif
