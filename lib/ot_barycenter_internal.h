/* ot_barycenter_internal.h — what the files of the `barycenter` kind share
 * (internal): the params struct its field table fills, the run state, and
 * the entry points of each algorithm.
 *
 *   ot_barycenter.c        the kind: field table, checks, init, result
 *   ot_barycenter_fixed.c  Algorithm A (damped Sinkhorn) and the τ = 0
 *                          mirror descent on a fixed support or a grid
 *   ot_barycenter_npgd.c   Algorithm C (noisy particle gradient descent)
 *   ot_barycenter_mc.c     Algorithm B (Monte Carlo damped Sinkhorn)
 *
 * Spec: shared/docs/algorithms/optimal-transport.md §2-§6 (job units).
 */
#ifndef OT_BARYCENTER_INTERNAL_H
#define OT_BARYCENTER_INTERNAL_H

#include <stddef.h>

#include "ms_kind.h"
#include "ms_rng.h"
#include "ms_softmin.h"
#include "ot_grid.h"
#include "ot_sinkhorn.h"

typedef struct bary_support {
    int present;
    ms_mat points;
    long long particles;
    ms_mat init;
} bary_support;

typedef struct bary_gridp {
    int present;
    ms_vec shape;
    ms_mat bounds;
    ms_mat values;
} bary_gridp;

enum { BARY_DAMPED = 0, BARY_NPGD = 1, BARY_MC = 2 };

typedef struct bary_params {
    ms_measures measures;
    bary_gridp grid;
    ms_vec weights;
    double lambda, tau;
    bary_support support;
    int method; /* -1: chosen from the support */
    double eta;
    ms_vec reference;
    long long gap_every;
    double inner_tol;
    long long inner_max_iter;
    double step, langevin_step;
    long long langevin_steps, samples;
    int lambda_scaling;
    double scaling_factor;
    long long scaling_iter;
    double scaling_tol;
    long long seed, threads, max_iter;
    double tol;
} bary_params;

typedef struct bary_state {
    const bary_params *p;
    int method;
    int mirror; /* tau = 0 on a fixed support: mirror descent */
    size_t K, d, n, mtot;
    size_t *off;  /* K+1 offsets of marginal k in concatenated arrays */
    double *w;    /* K barycentric weights, normalised */
    double *b;    /* mtot marginal weights, each normalised */
    double *logb; /* log b (-Inf for 0) */
    double *x;    /* n×d support points or particles */
    double *logrho;
    /* Operators: one soft-min per marginal (point clouds; several may be
     * the same shared object), or one grid for all. */
    ms_softmin **op;
    ms_softmin *shared;
    ot_grid *grid;
    /* Current lambda-tau stage. */
    double lam, tau, eta, lam0;
    int stage, nstages;
    long long stage_iter;
    size_t iter;
    /* Algorithm A / mirror descent (fixed support). */
    double *psi, *psihat, *phi, *V, *logmu, *mu, *mu_prev, *hbuf;
    double *fin, *gin, *ghat; /* inner Sinkhorn solves of F(mu) */
    double step_md;           /* mirror-descent step */
    double F_md;              /* F at the current mirror-descent iterate */
    /* Particles (Algorithms B and C). */
    double *xnew, *bary, *grad, *lse;
    ot_sinkhorn **sk;
    ms_rng *rng;
    double *avg_window;
    size_t inner_total;
    /* Last values (metrics and result). */
    double marginal_error, dual, objective, gap, mu_change, entropy;
    double transport_objective, drift_rms, spread, inner_error;
    int converged;
} bary_state;

/* Fixed support and grids (ot_barycenter_fixed.c). */
ms_status ot_bary__fixed_init(bary_state *s, const ms_ctx *ctx, ms_err *err);
ms_status ot_bary__fixed_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err);
/* Particles: Algorithm C (ot_barycenter_npgd.c) and B (ot_barycenter_mc.c). */
ms_status ot_bary__npgd_init(bary_state *s, const ms_ctx *ctx, ms_err *err);
ms_status ot_bary__npgd_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err);
ms_status ot_bary__mc_init(bary_state *s, const ms_ctx *ctx, ms_err *err);
ms_status ot_bary__mc_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err);

/* Helpers shared by the particle methods. The points of ν_k (the support's
 * for a histogram) (ot_barycenter.c); particles, RNG streams and operators
 * for `count` moving points, and their spread (ot_barycenter_npgd.c). */
const double *ot_bary__ypoints(const bary_state *s, size_t k);
ms_status ot_bary__particles_setup(bary_state *s, size_t count, ms_err *err);
double ot_bary__spread(const bary_state *s, size_t count);

#endif
