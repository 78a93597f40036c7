/* games_mp.c — entropic MDA / mirror prox for matrix games. See games_mp.h. */
#include "games_mp.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_vmath.h"

/* Rows (or columns) handed to one thread at a time; fixed so the partition,
 * hence every partial sum, is the same whatever the thread count. */
#define MV_BLOCK 64

/* Block b of y = M x (rows) or y = Mᵀx (columns). */
static void mv_block(const double *M, size_t m, size_t n, const double *x, double *y, size_t b,
                     int trans) {
    size_t lim = trans ? n : m, k0 = b * MV_BLOCK, len = lim - k0 < MV_BLOCK ? lim - k0 : MV_BLOCK;
    if (trans)
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)len, 1.0, M + k0, (int)n, x, 1, 0.0,
                    y + k0, 1);
    else
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)len, (int)n, 1.0, M + k0 * n, (int)n, x, 1,
                    0.0, y + k0, 1);
}

static void mv(const double *M, size_t m, size_t n, const double *x, double *y, int threads,
               int trans) {
    size_t nb = ((trans ? n : m) + MV_BLOCK - 1) / MV_BLOCK;
    /* Entering an OpenMP region costs a team start even under if(0), so
     * small products stay out of it. */
    if (threads > 1 && nb > 1 && m * n > 40000) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < nb; b++)
            mv_block(M, m, n, x, y, b, trans);
    } else {
        for (size_t b = 0; b < nb; b++)
            mv_block(M, m, n, x, y, b, trans);
    }
}

void games_matvec(const double *M, size_t m, size_t n, const double *x, double *y, int threads) {
    mv(M, m, n, x, y, threads, 0);
}

void games_matvec_t(const double *M, size_t m, size_t n, const double *x, double *y, int threads) {
    mv(M, m, n, x, y, threads, 1);
}

void games_entropic_step(double *lw, double *w, const double *g, size_t n, double eta, int sign) {
    /* Shift by the extreme of g (the min for the minimiser, the max for the
     * maximiser) so every exponent increment is ≤ 0. */
    double ext = g[0];
    for (size_t i = 1; i < n; i++)
        if (sign < 0 ? g[i] < ext : g[i] > ext)
            ext = g[i];
    for (size_t i = 0; i < n; i++)
        lw[i] += sign * eta * (g[i] - ext);
    double l = ms_lse(lw, n);
    for (size_t i = 0; i < n; i++)
        lw[i] -= l;
    ms_vexp(lw, w, n);
}

ms_status games_mp_init(games_mp *mp, const double *M, size_t m, size_t n, size_t K, double eta_p,
                        double eta_q, const double *p0, const double *q0) {
    memset(mp, 0, sizeof *mp);
    double **bufs_m[] = {&mp->lp, &mp->p, &mp->pg, &mp->pn, &mp->Mq, &mp->psum};
    double **bufs_n[] = {&mp->lq, &mp->q, &mp->qg, &mp->qn, &mp->Mtp, &mp->qsum};
    int ok = 1;
    for (size_t k = 0; k < 6; k++) {
        *bufs_m[k] = ms_calloc(m, sizeof(double));
        *bufs_n[k] = ms_calloc(n, sizeof(double));
        ok = ok && *bufs_m[k] && *bufs_n[k];
    }
    if (!ok) {
        games_mp_fini(mp);
        return MS_ENOMEM;
    }
    mp->M = M;
    mp->m = m;
    mp->n = n;
    mp->K = K ? K : 1;
    mp->eta_p = eta_p;
    mp->eta_q = eta_q;
    for (size_t i = 0; i < m; i++) {
        mp->p[i] = p0 ? p0[i] : 1.0 / (double)m;
        mp->lp[i] = log(mp->p[i]);
    }
    for (size_t j = 0; j < n; j++) {
        mp->q[j] = q0 ? q0[j] : 1.0 / (double)n;
        mp->lq[j] = log(mp->q[j]);
    }
    return MS_OK;
}

void games_mp_fini(games_mp *mp) {
    if (!mp)
        return;
    double *bufs[] = {mp->lp, mp->p, mp->pg, mp->pn, mp->Mq,  mp->psum,
                      mp->lq, mp->q, mp->qg, mp->qn, mp->Mtp, mp->qsum};
    for (size_t k = 0; k < 12; k++)
        ms_free(bufs[k]);
    memset(mp, 0, sizeof *mp);
}

ms_status games_mp_step(games_mp *mp, const ms_ctx *ctx, ms_err *err) {
    size_t m = mp->m, n = mp->n;
    int nt = ms_ctx_threads(ctx);
    memcpy(mp->pg, mp->p, m * sizeof(double));
    memcpy(mp->qg, mp->q, n * sizeof(double));
    for (size_t k = 0; k < mp->K; k++) {
        games_matvec(mp->M, m, n, mp->qg, mp->Mq, nt);
        games_matvec_t(mp->M, m, n, mp->pg, mp->Mtp, nt);
        if (k + 1 == mp->K) {
            /* The gradient point of the last inner step is the averaged one. */
            for (size_t i = 0; i < m; i++)
                mp->psum[i] += mp->pg[i];
            for (size_t j = 0; j < n; j++)
                mp->qsum[j] += mp->qg[j];
        }
        /* Step from the current iterate (in log form) with the new gradient;
         * the logs are restored from p, q unless this is the last step. */
        double *lpn = mp->pn, *lqn = mp->qn;
        memcpy(lpn, mp->lp, m * sizeof(double));
        memcpy(lqn, mp->lq, n * sizeof(double));
        games_entropic_step(lpn, mp->pg, mp->Mq, m, mp->eta_p, -1);
        games_entropic_step(lqn, mp->qg, mp->Mtp, n, mp->eta_q, +1);
        if (k + 1 == mp->K) {
            memcpy(mp->lp, lpn, m * sizeof(double));
            memcpy(mp->lq, lqn, n * sizeof(double));
        }
    }
    memcpy(mp->p, mp->pg, m * sizeof(double));
    memcpy(mp->q, mp->qg, n * sizeof(double));
    mp->t++;
    for (size_t i = 0; i < m; i++)
        if (!isfinite(mp->lp[i]) && mp->lp[i] != -INFINITY)
            return ms_fail(err, MS_ENUMERIC, "", "row weight %zu not finite at iteration %zu", i,
                           mp->t);
    for (size_t j = 0; j < n; j++)
        if (!isfinite(mp->lq[j]) && mp->lq[j] != -INFINITY)
            return ms_fail(err, MS_ENUMERIC, "", "column weight %zu not finite at iteration %zu", j,
                           mp->t);
    return MS_OK;
}

void games_mp_average(const games_mp *mp, double *p, double *q) {
    double tp = 0, tq = 0;
    for (size_t i = 0; i < mp->m; i++)
        tp += mp->psum[i];
    for (size_t j = 0; j < mp->n; j++)
        tq += mp->qsum[j];
    for (size_t i = 0; i < mp->m; i++)
        p[i] = tp > 0 ? mp->psum[i] / tp : mp->p[i];
    for (size_t j = 0; j < mp->n; j++)
        q[j] = tq > 0 ? mp->qsum[j] / tq : mp->q[j];
}
