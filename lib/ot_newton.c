/* ot_newton.c — sparse Newton steps on the semi-dual. See ot_newton.h for
 * the method and references; notation follows ot_sinkhorn.c. */
#include "ot_newton.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef NEWTON_DEBUG
#include <stdio.h>
#endif

#include "ms_alloc.h"

#include <lapacke.h>

#define THETA 1e-15 /* entries kept: p_ij >= THETA */
#define MAX_DROPPED 1e-9
#define CG_MAX 200
#define ARMIJO 1e-4
#define HALVINGS 30
/* Up to this many columns the Newton system is solved densely (Cholesky,
 * m² doubles): at small eps its condition number reaches 1e15 (clusters
 * of points joined by weights of exp(-34)), beyond the reach of CG. */
#define DENSE_MAX 2048

struct ot_newton {
    const ms_softmin *K;
    size_t n, m, cap;
    double *a, *b, *logb;
    uint32_t *idx, *cnt;
    double *val, *dropped;
    double *c, *r, *d, *z, *p, *q, *diag, *gtry, *ftry, *h;
    double *dense; /* m×m, when m <= DENSE_MAX */
    double *mem;
};

size_t ot_newton_bytes(size_t n, size_t m, size_t cap) {
    return sizeof(ot_newton) + n * cap * (sizeof(uint32_t) + sizeof(double)) +
           n * sizeof(uint32_t) + (3 * n + 11 * m) * sizeof(double) +
           (m <= DENSE_MAX ? m * m * sizeof(double) : 0);
}

ot_newton *ot_newton_alloc(const ms_softmin *K, const double *a, const double *b, size_t cap,
                           ms_err *err) {
    size_t n = ms_softmin_n(K), m = ms_softmin_m(K);
    ot_newton *nw = ms_calloc(1, sizeof *nw);
    double *mem = nw ? ms_malloc(3 * n + 11 * m + n * cap, sizeof(double)) : NULL;
    uint32_t *idx = mem ? ms_malloc(n * cap + n, sizeof(uint32_t)) : NULL;
    double *dense = idx && m <= DENSE_MAX ? ms_malloc(m * m, sizeof(double)) : NULL;
    if (!idx || (m <= DENSE_MAX && !dense)) {
        ms_free(idx);
        ms_free(mem);
        ms_free(nw);
        ms_fail(err, MS_ENOMEM, "", "newton: cannot allocate a sparse plan of %zu x %zu", n, cap);
        return NULL;
    }
    nw->K = K;
    nw->n = n;
    nw->m = m;
    nw->cap = cap;
    nw->mem = mem;
    nw->a = mem;
    nw->dropped = nw->a + n;
    nw->ftry = nw->dropped + n;
    nw->b = nw->ftry + n;
    nw->logb = nw->b + m;
    nw->c = nw->logb + m;
    nw->r = nw->c + m;
    nw->d = nw->r + m;
    nw->z = nw->d + m;
    nw->p = nw->z + m;
    nw->q = nw->p + m;
    nw->diag = nw->q + m;
    nw->gtry = nw->diag + m;
    nw->h = nw->gtry + m;
    nw->val = nw->h + m;
    nw->idx = idx;
    nw->cnt = idx + n * cap;
    nw->dense = dense;
    memcpy(nw->a, a, n * sizeof(double));
    memcpy(nw->b, b, m * sizeof(double));
    for (size_t j = 0; j < m; j++)
        nw->logb[j] = b[j] > 0 ? log(b[j]) : -INFINITY;
    return nw;
}

void ot_newton_free(ot_newton *nw) {
    if (!nw)
        return;
    ms_free(nw->dense);
    ms_free(nw->idx);
    ms_free(nw->mem);
    ms_free(nw);
}

/* f = T_f(g) and the sparse rows of P at g; returns the largest dropped
 * mass over rows with a_i > 0. hint: previous f. */
static ms_status prepare(ot_newton *nw, double eps, const double *g, const double *hint, double *f,
                         const ms_ctx *ctx, double *max_dropped) {
    for (size_t j = 0; j < nw->m; j++)
        nw->h[j] = g[j] + eps * nw->logb[j];
    ms_status st = ms_softmin_rows_sparse(nw->K, nw->h, eps, hint, THETA, nw->cap, f, nw->idx,
                                          nw->val, nw->cnt, nw->dropped, ctx);
    double mx = 0;
    for (size_t i = 0; i < nw->n; i++)
        if (nw->a[i] > 0 && nw->dropped[i] > mx)
            mx = nw->dropped[i];
    *max_dropped = mx;
    return st;
}

static double semidual(const ot_newton *nw, const double *f, const double *g) {
    double J = 0;
    for (size_t i = 0; i < nw->n; i++)
        if (nw->a[i] > 0)
            J += nw->a[i] * f[i];
    for (size_t j = 0; j < nw->m; j++)
        if (nw->b[j] > 0)
            J += nw->b[j] * g[j];
    return J;
}

/* out = L v = c∘v - Pᵀ diag(a) P v over the kept entries (rows renormalised). */
static void apply_L(const ot_newton *nw, const double *v, double *out) {
    for (size_t j = 0; j < nw->m; j++)
        out[j] = nw->c[j] * v[j];
    for (size_t i = 0; i < nw->n; i++) {
        const uint32_t *ri = nw->idx + i * nw->cap;
        const double *rv = nw->val + i * nw->cap;
        double pv = 0;
        for (uint32_t k = 0; k < nw->cnt[i]; k++)
            pv += rv[k] * v[ri[k]];
        pv *= nw->a[i];
        for (uint32_t k = 0; k < nw->cnt[i]; k++)
            out[ri[k]] -= rv[k] * pv;
    }
}

/* Column sums of the renormalised sparse plan, the Jacobi diagonal, the
 * residual r = b - c and the error bound ||r||_1 + 2 Σ a_i dropped_i. */
static double residual(ot_newton *nw) {
    memset(nw->c, 0, nw->m * sizeof(double));
    memset(nw->diag, 0, nw->m * sizeof(double));
    double bound = 0;
    for (size_t i = 0; i < nw->n; i++) {
        uint32_t *ri = nw->idx + i * nw->cap;
        double *rv = nw->val + i * nw->cap;
        double kept = 1 - nw->dropped[i];
        bound += 2 * nw->a[i] * nw->dropped[i];
        for (uint32_t k = 0; k < nw->cnt[i]; k++) {
            rv[k] /= kept;
            nw->c[ri[k]] += nw->a[i] * rv[k];
            nw->diag[ri[k]] += nw->a[i] * rv[k] * rv[k];
        }
    }
    double e = 0;
    for (size_t j = 0; j < nw->m; j++) {
        nw->r[j] = nw->b[j] - nw->c[j];
        e += fabs(nw->r[j]);
        /* diag(L)_j = c_j - Σ a_i p_ij²; floored so the preconditioner is
         * defined on columns no row reaches. */
        double dj = nw->c[j] - nw->diag[j];
        nw->diag[j] = dj > 1e-300 ? dj : 1e-300 + nw->c[j];
    }
    return e + bound;
}

/* Preconditioned CG on L d = r from d = 0, to relative residual `forcing`. */
static void solve_cg(ot_newton *nw, double forcing) {
    const size_t m = nw->m;
    double *d = nw->d, *res = nw->z, *p = nw->p, *q = nw->q;
    memset(d, 0, m * sizeof(double));
    memcpy(res, nw->r, m * sizeof(double));
    double r0 = 0, rz = 0;
    for (size_t j = 0; j < m; j++) {
        r0 += res[j] * res[j];
        p[j] = res[j] / nw->diag[j];
        rz += res[j] * p[j];
    }
    double target = forcing * forcing * r0;
    int it = 0;
    for (; it < CG_MAX && rz > 0; it++) {
        apply_L(nw, p, q);
        double pq = 0;
        for (size_t j = 0; j < m; j++)
            pq += p[j] * q[j];
        if (!(pq > 0))
            break; /* p in the null space (constants): nothing more to gain */
        double alpha = rz / pq, rr = 0, rz_new = 0;
        for (size_t j = 0; j < m; j++) {
            d[j] += alpha * p[j];
            res[j] -= alpha * q[j];
            rr += res[j] * res[j];
        }
        if (rr <= target)
            break;
        for (size_t j = 0; j < m; j++)
            rz_new += res[j] * res[j] / nw->diag[j];
        double beta = rz_new / rz;
        rz = rz_new;
        for (size_t j = 0; j < m; j++)
            p[j] = res[j] / nw->diag[j] + beta * p[j];
    }
#ifdef NEWTON_DEBUG
    double rr = 0;
    for (size_t j = 0; j < m; j++)
        rr += res[j] * res[j];
    fprintf(stderr, "  cg: %d its, rel res %.2e (forcing %.1e)\n", it, sqrt(rr / r0), forcing);
#endif
}

/* Dense solve of L d = r: L is assembled from the sparse rows, its null
 * space (constants) closed by adding mean(c)/m · 11ᵀ, and factored by
 * Cholesky; a failed factorisation (round-off at condition ~1e16) retries
 * with a growing ridge. Returns 0 on success. */
static int solve_dense(ot_newton *nw) {
    const size_t m = nw->m;
    double *A = nw->dense, cbar = 0;
    for (size_t j = 0; j < m; j++)
        cbar += nw->c[j];
    cbar /= (double)m;
    for (double ridge = 0; ridge < 1; ridge = ridge ? ridge * 100 : 1e-14) {
        for (size_t j = 0; j < m * m; j++)
            A[j] = cbar / (double)m;
        for (size_t j = 0; j < m; j++)
            A[j * m + j] += nw->c[j] * (1 + ridge);
        for (size_t i = 0; i < nw->n; i++) {
            const uint32_t *ri = nw->idx + i * nw->cap;
            const double *rv = nw->val + i * nw->cap;
            for (uint32_t k = 0; k < nw->cnt[i]; k++)
                for (uint32_t l = 0; l <= k; l++) {
                    double v = nw->a[i] * rv[k] * rv[l];
                    size_t r = ri[k] > ri[l] ? ri[k] : ri[l], c = ri[k] > ri[l] ? ri[l] : ri[k];
                    A[r * m + c] -= v; /* lower triangle */
                }
        }
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)m, A, (lapack_int)m) != 0)
            continue;
        memcpy(nw->d, nw->r, m * sizeof(double));
        if (LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', (lapack_int)m, 1, A, (lapack_int)m, nw->d, 1) ==
            0)
            return 0;
    }
    return -1;
}

ms_status ot_newton_step(ot_newton *nw, double eps, double tol, double *f, double *g,
                         const ms_ctx *ctx, double *err_out, ot_newton_outcome *outcome) {
    double dropped;
    *outcome = OT_NEWTON_UNSUITABLE;
    ms_status st = prepare(nw, eps, g, f, f, ctx, &dropped);
    if (st != MS_OK)
        return st;
    double e = residual(nw);
    *err_out = e;
    if (e <= tol) {
        *outcome = OT_NEWTON_CONVERGED;
        return MS_OK;
    }
    if (dropped > MAX_DROPPED)
        return MS_OK;
    /* Dense Cholesky when it fits; else inexact Newton-CG, solving more
     * accurately as the residual shrinks. */
    if (!nw->dense || solve_dense(nw) != 0)
        solve_cg(nw, fmin(0.1, sqrt(e)));
    double slope = 0;
    for (size_t j = 0; j < nw->m; j++)
        slope += nw->r[j] * eps * nw->d[j];
    if (!(slope > 0))
        return MS_OK;
    const double J0 = semidual(nw, f, g);
    double t = 1;
    for (int k = 0; k < HALVINGS; k++, t *= 0.5) {
        for (size_t j = 0; j < nw->m; j++)
            nw->gtry[j] = g[j] + t * eps * nw->d[j];
        memcpy(nw->ftry, f, nw->n * sizeof(double));
        st = prepare(nw, eps, nw->gtry, nw->ftry, nw->ftry, ctx, &dropped);
        if (st != MS_OK)
            return st;
        double J = semidual(nw, nw->ftry, nw->gtry);
        if (isfinite(J) && J >= J0 + ARMIJO * t * slope) {
#ifdef NEWTON_DEBUG
            fprintf(stderr, "  step t = %g, J gain %.3e, slope %.3e\n", t, J - J0, slope);
#endif
            memcpy(g, nw->gtry, nw->m * sizeof(double));
            memcpy(f, nw->ftry, nw->n * sizeof(double));
            *err_out = residual(nw);
            *outcome = OT_NEWTON_ACCEPTED;
            return MS_OK;
        }
    }
    /* No ascent along d: restore the sparse rows of the current g. */
    st = prepare(nw, eps, g, f, f, ctx, &dropped);
    if (st == MS_OK)
        *err_out = residual(nw);
    return st;
}
