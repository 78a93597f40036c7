/* ms_softmin.h — the log-sum-exp kernel of entropic transport.
 *
 * What it is for: the one operation every entropic OT solver of measured
 * repeats (Sinkhorn, Sinkhorn divergences, unbalanced OT, barycenters,
 * particle methods): the soft-min of a cost against a potential,
 *
 *     rows:  out[i] = -eps · log Σ_j exp((h[j] - C(i,j)) / eps),   i < n
 *     cols:  out[j] = -eps · log Σ_i exp((h[i] - C(i,j)) / eps),   j < m
 *
 * (Peyré & Cuturi, Computational Optimal Transport, §4.4, the log-domain
 * Sinkhorn). h carries the log-weights: h[j] = g[j] + eps·log b[j]; an entry
 * h[j] = -Inf drops column j. The cost is either
 *   - squared Euclidean distances |x_i - y_j|² between point clouds, computed
 *     on the fly in tiles (memory O((n+m)·d), never n×m), or
 *   - a dense n×m matrix (stored with its transpose, 2·n·m doubles).
 * The log-sum-exp subtracts the running maximum of each tile (overflow-safe
 * for any eps > 0) and uses the SIMD exp chosen at run time (ms_vmath.h).
 * Rows are split across ctx->threads OpenMP threads; each row is computed by
 * one thread in a fixed order, so results do not depend on the thread count.
 *
 * Squared distances are expanded as |x|² + |y|² - 2 x·y after both clouds
 * are centred at their common mean (translation leaves costs unchanged); the
 * centring keeps the cancellation error at the scale of the clouds' spread.
 *
 * What it is not for: separable costs on grids (see the barycenter solver)
 * or materialising plans (ot_sinkhorn.c does that on request).
 */
#ifndef MS_SOFTMIN_H
#define MS_SOFTMIN_H

#include <stddef.h>
#include <stdint.h>

#include "ms_err.h"
#include "ms_kind.h"

typedef struct ms_softmin ms_softmin;

/* Squared Euclidean cost between x (n×d, row-major) and y (m×d). The points
 * are copied (the object keeps no pointer to caller memory). NULL on
 * allocation failure (err filled). Free with ms_softmin_free. */
ms_softmin *ms_softmin_points(const double *x, size_t n, const double *y, size_t m, size_t d,
                              ms_err *err);
/* Dense cost c (n×m, row-major, leading dimension ldc ≥ m), copied. */
ms_softmin *ms_softmin_matrix(const double *c, size_t n, size_t m, size_t ldc, ms_err *err);
void ms_softmin_free(ms_softmin *s);
/* Replace the row points x (n×d, the same n and d) of a point-cloud cost, in
 * place and without allocating: for particle methods whose points move
 * every iteration. The column points are kept. MS_EINVAL for a dense cost. */
ms_status ms_softmin_set_x(ms_softmin *s, const double *x);

size_t ms_softmin_n(const ms_softmin *s);
size_t ms_softmin_m(const ms_softmin *s);
/* Largest cost max_ij C(i,j), or an upper bound for point clouds (from their
 * bounding boxes); used to start eps-scaling. */
double ms_softmin_cost_bound(const ms_softmin *s);
/* Bytes the object holds (for admission estimates before allocating:
 * see ms_softmin_points_bytes / ms_softmin_matrix_bytes). */
size_t ms_softmin_points_bytes(size_t n, size_t m, size_t d);
size_t ms_softmin_matrix_bytes(size_t n, size_t m);

/* out[i] (i < n) = -eps·log Σ_j exp((h[j] - C(i,j))/eps), h of length m.
 * hint (NULL, or length n, may be the same array as out) holds estimates of
 * the results, e.g. the previous Sinkhorn iterate: rows whose estimate is
 * within a few hundred eps of the result take a single fused pass (cost, exp
 * and sum without a separate maximum), the others the two-pass tile method.
 * Results are the same either way up to round-off.
 * Returns MS_ECANCELLED if ctx's cancel flag was seen (out is then partial),
 * else MS_OK. Thread-safe for distinct out arrays. */
ms_status ms_softmin_rows(const ms_softmin *s, const double *h, double eps, const double *hint,
                          double *out, const ms_ctx *ctx);
/* out[j] (j < m) = -eps·log Σ_i exp((h[i] - C(i,j))/eps), h of length n;
 * hint as for ms_softmin_rows (length m). */
ms_status ms_softmin_cols(const ms_softmin *s, const double *h, double eps, const double *hint,
                          double *out, const ms_ctx *ctx);

/* Moments of the row-normalised kernel p_ij = exp((h[j] - C(i,j))/eps) / Z_i:
 *   lse[i]  = -eps·log Z_i                 (as ms_softmin_rows), if not NULL
 *   cost[i] = Σ_j p_ij C(i,j)              if not NULL
 *   bary    = Σ_j p_ij y_j  (n×d)          if not NULL (point clouds only)
 * Used for transport costs and barycentric projections. */
ms_status ms_softmin_rows_moments(const ms_softmin *s, const double *h, double eps, double *lse,
                                  double *cost, double *bary, const ms_ctx *ctx);
/* The same with rows and columns exchanged (bary is m×d, means of x). */
ms_status ms_softmin_cols_moments(const ms_softmin *s, const double *h, double eps, double *lse,
                                  double *cost, double *bary, const ms_ctx *ctx);

/* The significant entries of each row's softmax
 *     p_ij = exp((h[j] - C(i,j))/eps) / Σ_k exp((h[k] - C(i,k))/eps):
 * lse[i] as ms_softmin_rows (hint likewise), and for each row the entries
 * with p_ij >= theta, at most the `cap` largest: column indices in
 * idx[i*cap ..], values in val[i*cap ..], their number in count[i], and the
 * mass left out, dropped[i] = 1 - Σ kept (>= 0). One exp pass as for
 * ms_softmin_rows, plus a cost-only pass. Sparse plans at small eps. */
ms_status ms_softmin_rows_sparse(const ms_softmin *s, const double *h, double eps,
                                 const double *hint, double theta, size_t cap, double *lse,
                                 uint32_t *idx, double *val, uint32_t *count, double *dropped,
                                 const ms_ctx *ctx);

/* C(i,j), for plans and tests. */
double ms_softmin_cost(const ms_softmin *s, size_t i, size_t j);

#endif
