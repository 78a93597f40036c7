/* deep_lanczos.c — top eigenvalue by Lanczos with full reorthogonalisation.
 * See deep_lanczos.h and spec deep-networks.md §1.4.
 *
 * Notation: Krylov basis v_1..v_j (rows of V), tridiagonal T_j with diagonal
 * α and off-diagonal β; Ritz pairs (θ_i, V s_i) from T_j = S Θ Sᵀ. The
 * residual of the top pair is β_j |s_{j,1}| (Paige), our stopping test.
 * Reorthogonalisation is classical Gram–Schmidt applied twice ("twice is
 * enough", Giraud et al.), as two BLAS-2 passes over V.
 */
#include "deep_lanczos.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "deep_internal.h"
#include "ms_alloc.h"

struct deep_lanczos {
    size_t n, m;
    double *V;                /* (m+1)×n basis, row j = v_{j+1} */
    double *alpha;            /* m */
    double *beta;             /* m */
    double *d, *e, *z, *work; /* tridiagonal eigensolver scratch: m, m, m×m, 2m */
    double *h;                /* m projections for reorthogonalisation */
    double *w;                /* n: operator output */
    double *ritz;             /* n: last unit Ritz vector */
    int have_ritz;
};

deep_lanczos *deep_lanczos_alloc(size_t n, size_t m, ms_err *err) {
    if (n == 0 || m == 0) {
        ms_fail(err, MS_EINVAL, "", "Lanczos needs a non-empty operator and at least one step");
        return NULL;
    }
    if (m > n)
        m = n;
    deep_lanczos *lz = ms_calloc(1, sizeof *lz);
    if (!lz)
        goto oom;
    lz->n = n;
    lz->m = m;
    lz->V = ms_malloc((m + 1) * n, sizeof *lz->V);
    lz->alpha = ms_malloc(m, sizeof(double));
    lz->beta = ms_malloc(m, sizeof(double));
    lz->d = ms_malloc(m, sizeof(double));
    lz->e = ms_malloc(m, sizeof(double));
    lz->z = ms_malloc(m * m, sizeof(double));
    lz->work = ms_malloc(2 * m, sizeof(double));
    lz->h = ms_malloc(m + 1, sizeof(double));
    lz->w = ms_malloc(n, sizeof(double));
    lz->ritz = ms_malloc(n, sizeof(double));
    if (!lz->V || !lz->alpha || !lz->beta || !lz->d || !lz->e || !lz->z || !lz->work || !lz->h ||
        !lz->w || !lz->ritz)
        goto oom;
    return lz;
oom:
    deep_lanczos_free(lz);
    ms_fail(err, MS_ENOMEM, "", "Lanczos workspace (order %zu, %zu steps)", n, m);
    return NULL;
}

void deep_lanczos_free(deep_lanczos *lz) {
    if (!lz)
        return;
    ms_free(lz->V);
    ms_free(lz->alpha);
    ms_free(lz->beta);
    ms_free(lz->d);
    ms_free(lz->e);
    ms_free(lz->z);
    ms_free(lz->work);
    ms_free(lz->h);
    ms_free(lz->w);
    ms_free(lz->ritz);
    ms_free(lz);
}

const double *deep_lanczos_vector(const deep_lanczos *lz) {
    return lz->ritz;
}

static int all_finite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Start vector in V row 0: random, or the last Ritz vector nudged. */
static void start_vector(deep_lanczos *lz, ms_rng *rng, int warm) {
    double *v = lz->V;
    ms_rng_normals(rng, v, lz->n);
    if (warm && lz->have_ritz) {
        double r = cblas_dnrm2((int)lz->n, v, 1);
        cblas_dscal((int)lz->n, 1e-3 / r, v, 1);
        cblas_daxpy((int)lz->n, 1.0, lz->ritz, 1, v, 1);
    }
    double nv = cblas_dnrm2((int)lz->n, v, 1);
    cblas_dscal((int)lz->n, 1.0 / nv, v, 1);
}

/* w ← w − Vᵀ(V w) over the first k basis rows, twice. */
static void reorthogonalise(deep_lanczos *lz, size_t k) {
    for (int pass = 0; pass < 2; pass++) {
        deep__gemv(CblasNoTrans, k, lz->n, 1.0, lz->V, lz->n, lz->w, 0.0, lz->h);
        deep__gemv(CblasTrans, lz->n, k, -1.0, lz->V, lz->n, lz->h, 1.0, lz->w);
    }
}

ms_status deep_lanczos_top(deep_lanczos *lz, deep_matvec_fn op, void *user, ms_rng *rng, int warm,
                           double tol, deep_eig *out, ms_err *err) {
    const size_t n = lz->n;
    memset(out, 0, sizeof *out);
    start_vector(lz, rng, warm);
    double theta = 0, last = 0, scale = 0;
    size_t j = 0; /* steps done = order of T */
    int converged = 0;
    while (j < lz->m) {
        const double *v = lz->V + j * n;
        op(user, v, lz->w);
        if (!all_finite(lz->w, n))
            return ms_fail(err, MS_ENUMERIC, "", "Lanczos: operator returned non-finite values");
        lz->alpha[j] = cblas_ddot((int)n, v, 1, lz->w, 1);
        reorthogonalise(lz, j + 1);
        double b = cblas_dnrm2((int)n, lz->w, 1);
        j++;
        if (deep__tridiag_top(j, lz->alpha, lz->beta, lz->d, lz->e, lz->z, lz->work, &theta,
                              &last) != 0)
            return ms_fail(err, MS_ENUMERIC, "", "Lanczos: tridiagonal eigensolver failed");
        /* Scale of the operator seen so far, to judge a breakdown. */
        for (size_t i = 0; i < j; i++)
            if (fabs(lz->d[i]) > scale)
                scale = fabs(lz->d[i]);
        out->estimate = b * fabs(last);
        if (out->estimate <= tol * fabs(theta) || b <= 1e-14 * (scale > 0 ? scale : 1.0)) {
            converged = 1;
            break;
        }
        if (j == lz->m)
            break;
        lz->beta[j - 1] = b;
        cblas_dcopy((int)n, lz->w, 1, lz->V + j * n, 1);
        cblas_dscal((int)n, 1.0 / b, lz->V + j * n, 1);
    }
    /* Ritz vector V_jᵀ s_1 (s_1 = last column of z), then its true residual. */
    deep__gemv(CblasTrans, n, j, 1.0, lz->V, n, lz->z + (j - 1) * j, 0.0, lz->ritz);
    double nr = cblas_dnrm2((int)n, lz->ritz, 1);
    cblas_dscal((int)n, 1.0 / nr, lz->ritz, 1);
    op(user, lz->ritz, lz->w);
    cblas_daxpy((int)n, -theta, lz->ritz, 1, lz->w, 1);
    out->value = theta;
    out->residual = cblas_dnrm2((int)n, lz->w, 1);
    out->iterations = j + 1;
    out->converged = converged;
    if (!isfinite(out->value) || !isfinite(out->residual))
        return ms_fail(err, MS_ENUMERIC, "", "Lanczos: non-finite Ritz value");
    lz->have_ritz = 1;
    return MS_OK;
}

double deep_power_top(size_t n, deep_matvec_fn op, void *user, double shift, size_t iters,
                      double *x, double *y) {
    double nx = cblas_dnrm2((int)n, x, 1);
    cblas_dscal((int)n, 1.0 / nx, x, 1);
    double val = 0;
    for (size_t it = 0; it < iters; it++) {
        op(user, x, y);
        cblas_daxpy((int)n, shift, x, 1, y, 1);
        double ny = cblas_dnrm2((int)n, y, 1);
        val = ny - shift;
        if (!(ny > 0))
            break;
        cblas_dcopy((int)n, y, 1, x, 1);
        cblas_dscal((int)n, 1.0 / ny, x, 1);
    }
    return val;
}
