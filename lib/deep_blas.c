/* deep_blas.c — row-split BLAS calls for the deep-network solvers.
 *
 * What it is for: running one large GEMM or rank-one update on the job's
 * threads without touching OpenBLAS's own thread count (see
 * deep_internal.h). What it is not for: small products, which call BLAS
 * directly.
 */
#include "deep_internal.h"

#include <lapacke.h>
#include <string.h>

/* Below this many output entries per thread the split costs more than it
 * saves (calibrated loosely: a 64×64 block is ~4k multiply-adds per row). */
#define DEEP_SPLIT_MIN_ENTRIES 4096

static int blocks_for(int nt, size_t M, size_t N) {
    if (nt <= 1 || M < 2 || M * N < (size_t)nt * DEEP_SPLIT_MIN_ENTRIES)
        return 1;
    return (size_t)nt < M ? nt : (int)M;
}

void deep__gemm(int nt, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, size_t M, size_t N, size_t K,
                double alpha, const double *A, size_t lda, const double *B, size_t ldb, double beta,
                double *C, size_t ldc) {
    if (M == 0 || N == 0)
        return;
    int nb = blocks_for(nt, M, N);
#pragma omp parallel for num_threads(nb) if (nb > 1) schedule(static)
    for (int b = 0; b < nb; b++) {
        size_t r0 = M * (size_t)b / (size_t)nb, r1 = M * (size_t)(b + 1) / (size_t)nb;
        if (r1 == r0)
            continue;
        /* Rows r0..r1 of op(A): rows of A when not transposed, columns otherwise. */
        const double *Ab = ta == CblasNoTrans ? A + r0 * lda : A + r0;
        cblas_dgemm(CblasRowMajor, ta, tb, (int)(r1 - r0), (int)N, (int)K, alpha, Ab, (int)lda, B,
                    (int)ldb, beta, C + r0 * ldc, (int)ldc);
    }
}

void deep__ger(int nt, size_t M, size_t N, double alpha, const double *x, const double *y,
               double *A, size_t lda) {
    if (M == 0 || N == 0)
        return;
    int nb = blocks_for(nt, M, N);
#pragma omp parallel for num_threads(nb) if (nb > 1) schedule(static)
    for (int b = 0; b < nb; b++) {
        size_t r0 = M * (size_t)b / (size_t)nb, r1 = M * (size_t)(b + 1) / (size_t)nb;
        if (r1 > r0)
            cblas_dger(CblasRowMajor, (int)(r1 - r0), (int)N, alpha, x + r0, 1, y, 1, A + r0 * lda,
                       (int)lda);
    }
}

void deep__gemv(CBLAS_TRANSPOSE ta, size_t M, size_t N, double alpha, const double *A, size_t lda,
                const double *x, double beta, double *y) {
    /* cblas_dgemv takes the stored shape; for a transposed product the
     * stored matrix is N×M. */
    if (ta == CblasNoTrans)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)M, (int)N, alpha, A, (int)lda, x, 1, beta, y,
                    1);
    else
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)N, (int)M, alpha, A, (int)lda, x, 1, beta, y,
                    1);
}

int deep__tridiag_top(size_t m, const double *alpha, const double *beta, double *d, double *e,
                      double *z, double *work, double *top, double *last) {
    memcpy(d, alpha, m * sizeof *d);
    if (m > 1)
        memcpy(e, beta, (m - 1) * sizeof *e);
    /* Column-major: LAPACKE's row-major path would allocate a transposed
     * copy. Eigenvalues come back ascending; column j is eigenvector j. */
    int info = LAPACKE_dstev_work(LAPACK_COL_MAJOR, 'V', (int)m, d, e, z, (int)m, work);
    if (info != 0)
        return info;
    *top = d[m - 1];
    *last = z[(m - 1) * m + (m - 1)];
    return 0;
}
