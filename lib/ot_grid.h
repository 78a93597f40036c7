/* ot_grid.h — the soft-min of the squared Euclidean cost on a regular grid,
 * by separable sums along each axis.
 *
 * What it is for: entropic transport between measures that live on one
 * shared tensor grid (1-D signals, 2-D images, 3-D volumes): the barycenter
 * kind's `grid` form and the convolutional barycenters of Solomon et al.,
 * "Convolutional Wasserstein Distances", ACM TOG 2015. On a grid with
 * points x = (x^0, ..., x^{d-1}) the cost |x - y|² = Σ_a (x^a - y^a)² is a
 * sum over axes, so
 *
 *     out[x] = -eps · log Σ_y exp((h[y] - |x - y|²) / eps)
 *
 * is a sequence of 1-D log-sum-exps, one axis at a time: O(N · Σ_a n_a)
 * per call instead of O(N²) (N = Π_a n_a points). Each axis is done
 *   - in a stabilised kernel domain when (extent_a)²/eps <= OT_GRID_KERNEL_MAX:
 *     every line along the axis is shifted by its own maximum, exponentiated,
 *     multiplied by the axis kernel k(i - j) = exp(-step²(i - j)²/eps)
 *     (a Toeplitz matrix, applied by a SIMD loop that reads only 2·n_a
 *     kernel values, never an n_a × n_a matrix) and taken back to the log
 *     domain with its offset. The kernel's smallest entry is then at least
 *     exp(-OT_GRID_KERNEL_MAX) and each line's largest term is 1, so every
 *     term lost to underflow is below 1e-300 of the sum: the result is the
 *     log-domain one up to round-off, at any potential range;
 *   - in the log domain otherwise (small eps): max-shifted log-sum-exp
 *     over each line with ms_vmath's SIMD exponentials.
 * Lines are split across ctx->threads OpenMP threads in fixed blocks; each
 * output is computed by one thread in a fixed order, so results do not
 * depend on the thread count.
 *
 * What it is not for: scattered points (ms_softmin.h) or non-uniform grids.
 */
#ifndef OT_GRID_H
#define OT_GRID_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_kind.h"

#define OT_GRID_MAXDIM 3
/* Largest (extent_a)²/eps at which an axis uses the kernel domain (see
 * above: e^-600 = 2.6e-261, and n·2.2e-308 / 2.6e-261 < 1e-40 for any
 * n < 1e9, so underflowed terms are invisible in double precision). */
#define OT_GRID_KERNEL_MAX 600.0

typedef struct ot_grid ot_grid;

/* A grid of d <= OT_GRID_MAXDIM axes, axis a with shape[a] >= 1 points
 * evenly spaced on [lo[a], hi[a]] (lo[a] when shape[a] = 1), points ordered
 * row-major (the last axis varies fastest). batch is the largest number of
 * functions one call transforms (it sizes the workspace). NULL on failure
 * with err filled. Free with ot_grid_free. */
ot_grid *ot_grid_alloc(size_t d, const size_t *shape, const double *lo, const double *hi,
                       size_t batch, ms_err *err);
void ot_grid_free(ot_grid *g);
/* Bytes an object for this grid and batch holds. */
size_t ot_grid_bytes(size_t d, const size_t *shape, size_t batch);

size_t ot_grid_size(const ot_grid *g);
size_t ot_grid_dim(const ot_grid *g);
/* Coordinates of point idx (d values). */
void ot_grid_point(const ot_grid *g, size_t idx, double *x);
/* Largest cost: Σ_a (hi[a] - lo[a])². */
double ot_grid_cost_bound(const ot_grid *g);
/* 1 when axis a uses the kernel domain at eps, else 0. */
int ot_grid_kernel_domain(const ot_grid *g, size_t a, double eps);

/* For each function b < nb: out[b·N + x] = -eps·log Σ_y exp((h[b·N + y] -
 * |x - y|²)/eps). h may hold -Inf (those points are dropped) and may be the
 * same array as out. Returns MS_ECANCELLED when ctx's cancel flag was seen
 * (out is then partial), MS_EINVAL when nb exceeds the batch. Not
 * thread-safe on one object (it uses the object's workspace). */
ms_status ot_grid_softmin(ot_grid *g, const double *h, size_t nb, double eps, double *out,
                          const ms_ctx *ctx);

#endif
