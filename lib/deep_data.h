/* deep_data.h — regression data for the deep-network kinds (spec
 * deep-networks.md §2.6, §3.1, §3.5).
 *
 * What it is for: the synthetic Gaussian regression data of the reference
 * experiments, second moments Σ = XᵀX/n and c = Xᵀy/n, the minimum-norm
 * least-squares solution X⁺y (LAPACK: SVD or column-pivoted QR with the rank
 * tolerance max(n, d)·u·σ₁) and the projector onto ker X.
 *
 * What it is not for: training; nothing here runs inside a step. The LAPACK
 * calls use column-major layouts and caller-sized workspaces obtained with
 * ms_malloc, so every allocation is ours and released before returning.
 */
#ifndef DEEP_DATA_H
#define DEEP_DATA_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_rng.h"

/* X (n×d, row-major) iid N(0,1); y = X w_true + noise·ε, ε ~ N(0, I_n). */
void deep_data_gaussian(ms_rng *rng, size_t n, size_t d, double noise, const double *w_true,
                        double *X, double *y);

/* Σ = XᵀX/n (d×d, full symmetric), c = Xᵀy/n, *yy = ‖y‖²/n. */
void deep_data_moments(const double *X, const double *y, size_t n, size_t d, double *sigma,
                       double *c, double *yy);

typedef enum { DEEP_LSQ_SVD, DEEP_LSQ_QR } deep_lsq_method;

/* β = X⁺y (d values), the minimum-norm minimiser of ‖Xβ − y‖, and the
 * numerical rank of X. MS_ENOMEM / MS_ENUMERIC on failure. */
ms_status deep_lstsq(const double *X, const double *y, size_t n, size_t d, deep_lsq_method method,
                     double *beta, size_t *rank, ms_err *err);

/* P (d×d) = projector onto ker X = I − V_rᵀV_r (V_r: right singular vectors
 * of the r non-negligible singular values). */
ms_status deep_null_projector(const double *X, size_t n, size_t d, double *P, size_t *rank,
                              ms_err *err);

#endif
