/* deep_data.c — regression data, moments and minimum-norm solutions. See
 * deep_data.h. LAPACK: dgelsd (SVD, divide and conquer), dgelsy (complete
 * orthogonal factorisation from QR with column pivoting), dgesvd. */
#include "deep_data.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <string.h>

#include "ms_alloc.h"

void deep_data_gaussian(ms_rng *rng, size_t n, size_t d, double noise, const double *w_true,
                        double *X, double *y) {
    ms_rng_normals(rng, X, n * d);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, X, (int)d, w_true, 1, 0.0, y, 1);
    for (size_t i = 0; i < n; i++)
        y[i] += noise * ms_rng_normal(rng);
}

ms_status deep_dataset_make(deep_dataset *ds, const ms_mat *X, const ms_vec *y, size_t n, size_t d,
                            double noise, const double *w_true, ms_rng *rng, ms_err *err) {
    memset(ds, 0, sizeof *ds);
    if (X && X->v) {
        n = X->rows;
        d = X->cols;
    }
    ds->n = n;
    ds->d = d;
    ds->X = ms_malloc(n * d, sizeof *ds->X);
    ds->y = ms_malloc(n, sizeof *ds->y);
    if (!(X && X->v))
        ds->w_true = ms_malloc(d, sizeof *ds->w_true);
    if (!ds->X || !ds->y || (!(X && X->v) && !ds->w_true)) {
        deep_dataset_fini(ds);
        return ms_fail(err, MS_ENOMEM, "", "data set (%zu × %zu)", n, d);
    }
    if (X && X->v) {
        memcpy(ds->X, X->v, n * d * sizeof *ds->X);
        memcpy(ds->y, y->v, n * sizeof *ds->y);
        return MS_OK;
    }
    if (w_true)
        memcpy(ds->w_true, w_true, d * sizeof *ds->w_true);
    else
        ms_rng_normals(rng, ds->w_true, d);
    deep_data_gaussian(rng, n, d, noise, ds->w_true, ds->X, ds->y);
    return MS_OK;
}

void deep_dataset_fini(deep_dataset *ds) {
    if (!ds)
        return;
    ms_free(ds->X);
    ms_free(ds->y);
    ms_free(ds->w_true);
    ds->X = ds->y = ds->w_true = NULL;
}

void deep_dataset_check(const ms_mat *X, const ms_vec *y, const char *xname, const char *yname,
                        ms_errlist *errs) {
    if (X->v && !y->v)
        ms_errlist_addf(errs, MS_EINVAL, yname, "is required when %s is given", xname);
    else if (!X->v && y->v)
        ms_errlist_addf(errs, MS_EINVAL, xname, "is required when %s is given", yname);
    else if (X->v && X->rows != y->n)
        ms_errlist_addf(errs, MS_EINVAL, yname, "has %zu entries but %s has %zu rows", y->n, xname,
                        X->rows);
    /* The kinds keep d×d moments: the same bound as the synthetic d. */
    if (X->v && X->cols > DEEP_DATA_MAX_DIM)
        ms_errlist_addf(errs, MS_EINVAL, xname, "has %zu columns, at most %d allowed", X->cols,
                        DEEP_DATA_MAX_DIM);
}

void deep_data_moments(const double *X, const double *y, size_t n, size_t d, double *sigma,
                       double *c, double *yy) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0 / (double)n, X, (int)d,
                0.0, sigma, (int)d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            sigma[i * d + j] = sigma[j * d + i];
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0 / (double)n, X, (int)d, y, 1, 0.0, c,
                1);
    *yy = cblas_ddot((int)n, y, 1, y, 1) / (double)n;
}

/* Column-major copy of X (n×d row-major) into A (lda = n). */
static void to_col_major(const double *X, size_t n, size_t d, double *A) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            A[j * n + i] = X[i * d + j];
}

ms_status deep_lstsq(const double *X, const double *y, size_t n, size_t d, deep_lsq_method method,
                     double *beta, size_t *rank, ms_err *err) {
    const size_t ldb = n > d ? n : d, mn = n < d ? n : d;
    const double rcond = (double)ldb * DBL_EPSILON;
    double *A = ms_malloc(n * d, sizeof *A), *b = ms_calloc(ldb, sizeof *b);
    double *s = ms_malloc(mn, sizeof *s), *work = NULL;
    lapack_int *iwork = NULL, rk = 0, info;
    ms_status st = MS_OK;
    if (!A || !b || !s) {
        st = ms_fail(err, MS_ENOMEM, "", "least-squares workspace");
        goto out;
    }
    to_col_major(X, n, d, A);
    memcpy(b, y, n * sizeof *b);
    double q = 0;
    lapack_int iq = 0;
    if (method == DEEP_LSQ_SVD)
        info = LAPACKE_dgelsd_work(LAPACK_COL_MAJOR, (int)n, (int)d, 1, A, (int)n, b, (int)ldb, s,
                                   rcond, &rk, &q, -1, &iq);
    else
        info = LAPACKE_dgelsy_work(LAPACK_COL_MAJOR, (int)n, (int)d, 1, A, (int)n, b, (int)ldb,
                                   NULL, rcond, &rk, &q, -1);
    if (info != 0) {
        st = ms_fail(err, MS_ENUMERIC, "", "least-squares workspace query failed (%d)", (int)info);
        goto out;
    }
    size_t lw = (size_t)q + 1, liw = method == DEEP_LSQ_SVD ? (size_t)(iq > 1 ? iq : 1) : d;
    work = ms_malloc(lw, sizeof *work);
    iwork = ms_calloc(liw, sizeof *iwork); /* dgelsy: jpvt = 0 lets every column move */
    if (!work || !iwork) {
        st = ms_fail(err, MS_ENOMEM, "", "least-squares workspace");
        goto out;
    }
    if (method == DEEP_LSQ_SVD)
        info = LAPACKE_dgelsd_work(LAPACK_COL_MAJOR, (int)n, (int)d, 1, A, (int)n, b, (int)ldb, s,
                                   rcond, &rk, work, (lapack_int)lw, iwork);
    else
        info = LAPACKE_dgelsy_work(LAPACK_COL_MAJOR, (int)n, (int)d, 1, A, (int)n, b, (int)ldb,
                                   iwork, rcond, &rk, work, (lapack_int)lw);
    if (info != 0) {
        st = ms_fail(err, MS_ENUMERIC, "", "least-squares solve failed (%d)", (int)info);
        goto out;
    }
    memcpy(beta, b, d * sizeof *beta);
    if (rank)
        *rank = (size_t)rk;
out:
    ms_free(A), ms_free(b), ms_free(s), ms_free(work), ms_free(iwork);
    return st;
}

ms_status deep_null_projector(const double *X, size_t n, size_t d, double *P, size_t *rank,
                              ms_err *err) {
    const size_t mn = n < d ? n : d;
    double *A = ms_malloc(n * d, sizeof *A), *s = ms_malloc(mn, sizeof *s);
    double *vt = ms_malloc(d * d, sizeof *vt), *work = NULL, q = 0, dummy = 0;
    ms_status st = MS_OK;
    if (!A || !s || !vt) {
        st = ms_fail(err, MS_ENOMEM, "", "SVD workspace");
        goto out;
    }
    to_col_major(X, n, d, A);
    if (LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'A', (int)n, (int)d, A, (int)n, s, &dummy, 1, vt,
                            (int)d, &q, -1) != 0) {
        st = ms_fail(err, MS_ENUMERIC, "", "SVD workspace query failed");
        goto out;
    }
    size_t lw = (size_t)q + 1;
    if (!(work = ms_malloc(lw, sizeof *work))) {
        st = ms_fail(err, MS_ENOMEM, "", "SVD workspace");
        goto out;
    }
    if (LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'A', (int)n, (int)d, A, (int)n, s, &dummy, 1, vt,
                            (int)d, work, (lapack_int)lw) != 0) {
        st = ms_fail(err, MS_ENUMERIC, "", "SVD of the data failed");
        goto out;
    }
    const double tol = (double)(n > d ? n : d) * DBL_EPSILON * (mn ? s[0] : 0);
    size_t r = 0;
    while (r < mn && s[r] > tol)
        r++;
    /* Row i of Vᵀ (column-major: vt[i + j·d]) is right singular vector i. */
    memset(P, 0, d * d * sizeof *P);
    for (size_t i = 0; i < d; i++)
        P[i * d + i] = 1;
    for (size_t k = 0; k < r; k++)
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                P[i * d + j] -= vt[k + i * d] * vt[k + j * d];
    if (rank)
        *rank = r;
out:
    ms_free(A), ms_free(s), ms_free(vt), ms_free(work);
    return st;
}

ms_status deep_sym_eig_max(const double *A, size_t d, double *lmax, ms_err *err) {
    double *Q = ms_malloc(d * d, sizeof *Q), *lam = ms_malloc(d, sizeof *lam), q = 0;
    double *work = NULL;
    ms_status st = MS_OK;
    if (!Q || !lam) {
        st = ms_fail(err, MS_ENOMEM, "", "eigenvalue workspace");
        goto out;
    }
    memcpy(Q, A, d * d * sizeof *Q);
    if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'N', 'U', (int)d, Q, (int)d, lam, &q, -1) != 0) {
        st = ms_fail(err, MS_ENUMERIC, "", "eigenvalue workspace query failed");
        goto out;
    }
    size_t lw = (size_t)q + 3 * d;
    if (!(work = ms_malloc(lw, sizeof *work))) {
        st = ms_fail(err, MS_ENOMEM, "", "eigenvalue workspace");
        goto out;
    }
    if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'N', 'U', (int)d, Q, (int)d, lam, work, (int)lw) !=
        0) {
        st = ms_fail(err, MS_ENUMERIC, "", "symmetric eigensolver failed");
        goto out;
    }
    *lmax = lam[d - 1];
out:
    ms_free(Q), ms_free(lam), ms_free(work);
    return st;
}
