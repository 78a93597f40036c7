/* deep_internal.h — helpers shared by the deep-network files (deep_*.c).
 *
 * What it is for: the few BLAS patterns the deep-network solvers repeat
 * (a GEMM or a rank-one update whose output rows are split across the job's
 * threads), so that each solver file keeps to its own idea.
 *
 * What it is not for: a public API. Nothing outside lib/deep_*.c and their
 * tests includes this header.
 *
 * Threads: every helper takes `nt`, the job's thread count (ms_ctx_threads).
 * With nt > 1 the rows of the output are cut into nt contiguous blocks, each
 * computed by one OpenMP thread with a single-threaded BLAS call, so the
 * result is the same whatever nt is (OpenBLAS runs single-threaded in this
 * process; lib/ never changes that).
 */
#ifndef DEEP_INTERNAL_H
#define DEEP_INTERNAL_H

#include <cblas.h>
#include <stddef.h>

#include "ms_value.h"

/* C (M×N, row-major, ldc) = alpha·op(A)·op(B) + beta·C, where op(A) is M×K
 * and op(B) is K×N (row-major storage with leading dimensions lda, ldb). */
void deep__gemm(int nt, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, size_t M, size_t N, size_t K,
                double alpha, const double *A, size_t lda, const double *B, size_t ldb, double beta,
                double *C, size_t ldc);

/* A (M×N, row-major, lda) += alpha·x·yᵀ. */
void deep__ger(int nt, size_t M, size_t N, double alpha, const double *x, const double *y,
               double *A, size_t lda);

/* y (M) = alpha·op(A)·x + beta·y with A stored M×N (or N×M when transposed):
 * plain single-threaded BLAS (matrix–vector products are memory bound). */
void deep__gemv(CBLAS_TRANSPOSE ta, size_t M, size_t N, double alpha, const double *A, size_t lda,
                const double *x, double beta, double *y);

/* Largest eigenvalue of a symmetric tridiagonal matrix with diagonal
 * alpha[0..m) and off-diagonal beta[0..m-1), and the last component of its
 * unit eigenvector (*last). d, e, z (m×m) and work (2m) are scratch.
 * Returns 0 on success, a LAPACK info code otherwise. Allocates nothing. */
int deep__tridiag_top(size_t m, const double *alpha, const double *beta, double *d, double *e,
                      double *z, double *work, double *top, double *last);

/* A bounded history of fixed-size rows (deep_hist.c): at most `cap` rows;
 * when full, every other row is dropped (the first kept) and the stride
 * doubles, so a run of any length keeps ≤ cap evenly spaced rows. */
#define DEEP_HIST_MAX 100000
typedef struct deep__hist {
    unsigned char *rows;
    size_t size, n, cap, stride, count;
} deep__hist;

/* Allocate room for min(want, DEEP_HIST_MAX) rows (at least 4) of `size`
 * bytes. Returns 0 on allocation failure. */
int deep__hist_init(deep__hist *h, size_t size, size_t want);
void deep__hist_fini(deep__hist *h);
/* Offer the next row (counted whether kept or not); force keeps it even
 * off-stride (the final row of a run). */
void deep__hist_push(deep__hist *h, const void *row, int force);
/* Row i (0 ≤ i < h->n). */
static inline const void *deep__hist_row(const deep__hist *h, size_t i) {
    return h->rows + i * h->size;
}
/* For rows of doubles: each column j as a dense vector member names[j] of
 * obj (ncols = size / sizeof(double) names). */
void deep__hist_write(const deep__hist *h, ms_value *obj, const char *const *names);

#endif
