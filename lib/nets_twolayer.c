/* nets_twolayer.c — the two-layer model as a particle system: forward pass,
 * losses and mean-field gradients.
 *
 * What it is for: f(x) = s·(1/m) Σ_i a_i σ(w_i·x) (mean-field factor 1/m,
 * spec §0) and the gradient of the first variation, ∇F'(u_i) = m ∇_{u_i} F_m
 * (spec §0, §2), the "mean-field step rule" every algorithm of the family
 * uses. All heavy work is two GEMMs (≈ 4nmd flops, spec §2 "Cost"):
 *   forward:  H = σ(X Wᵀ)            by row blocks of X,
 *   backward: gW = (e·a·σ'(H))ᵀ X    by column blocks of particles.
 * Blocks have fixed sizes, so the bits do not depend on the thread count:
 * every output entry is computed by the same BLAS call whatever the split.
 *
 * What it is not for: penalties and updates (the algorithms add those).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_vmath.h"
#include "nets_internal.h"

ms_status nets__tl_alloc(nets_tl *t, size_t n_cap, size_t d, size_t m) {
    size_t nblk = n_cap / 16 + 1; /* row blocks are at least 16 rows */
    memset(t, 0, sizeof *t);
    if (m && n_cap > ((size_t)-1) / 16 / m)
        return MS_ENOMEM;
    t->h = ms_malloc_aligned(n_cap * m, sizeof(double));
    t->f = ms_malloc(n_cap, sizeof(double));
    t->e = ms_malloc(n_cap, sizeof(double));
    t->part = ms_malloc(nblk ? nblk : 1, sizeof(double));
    if (!t->h || !t->f || !t->e || !t->part) {
        nets__tl_free(t);
        return MS_ENOMEM;
    }
    t->n_cap = n_cap;
    t->d = d;
    t->m = m;
    t->out_scale = 1.0;
    return MS_OK;
}

void nets__tl_free(nets_tl *t) {
    if (!t)
        return;
    ms_free_aligned(t->h);
    ms_free(t->f);
    ms_free(t->e);
    ms_free(t->part);
    t->h = t->f = t->e = t->part = NULL;
}

void nets__tl_set_data(nets_tl *t, const double *x, const double *y, size_t n) {
    t->x = x;
    t->y = y;
    t->n = n;
}

/* Softplus log(1 + e^z) without overflow. */
static double softplus(double z) {
    return (z > 0 ? z : 0) + log1p(exp(-fabs(z)));
}

double nets__loss(nets_loss l, double f, double y, double *dl) {
    if (l == NETS_SQUARE) {
        *dl = f - y;
        return 0.5 * (f - y) * (f - y);
    }
    /* Logistic, spec §0: ℓ = softplus(−y f), ℓ' = −y·sigmoid(−y f). */
    double z = -y * f;
    double s = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
    *dl = -y * s;
    return softplus(z);
}

void nets__act(nets_act act, double *v, size_t n) {
    switch (act) {
    case NETS_RELU:
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] > 0 ? v[i] : 0.0;
        break;
    case NETS_TANH:
        /* tanh p = 1 − 2/(e^{2p} + 1): one vector exp, exact limits at ±∞. */
        for (size_t i = 0; i < n; i++)
            v[i] *= 2.0;
        ms_vexp(v, v, n);
        for (size_t i = 0; i < n; i++)
            v[i] = 1.0 - 2.0 / (v[i] + 1.0);
        break;
    case NETS_SIGMOID:
        for (size_t i = 0; i < n; i++)
            v[i] = -v[i];
        ms_vexp(v, v, n);
        for (size_t i = 0; i < n; i++)
            v[i] = 1.0 / (1.0 + v[i]);
        break;
    }
}

/* Rows per forward block: about 1 MiB of H, at least 16 and at most
 * NETS_ROW_BLOCK rows. A function of m only, so the split (hence the bits)
 * does not depend on the thread count. */
static size_t row_block(size_t m) {
    size_t rb = ((size_t)1 << 17) / (m ? m : 1);
    return rb < 16 ? 16 : rb > NETS_ROW_BLOCK ? NETS_ROW_BLOCK : rb;
}

/* Rows [j0, j0+nb): P = X Wᵀ, then per row (while it is in cache) H = σ(P),
 * f_j, e_j; in fused ReLU mode the row is then overwritten by e_j·1[p > 0],
 * the backward's only input. Returns Σ_j ℓ_j. */
static double forward_block(nets_tl *t, const double *a, const double *w, size_t j0, size_t nb) {
    const size_t m = t->m, d = t->d;
    double *h = t->h + j0 * m;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)m, (int)d, 1.0,
                t->x + j0 * d, (int)d, w, (int)d, 0.0, h, (int)m);
    const double s = t->out_scale, c = s / (double)m, inv = 1.0 / ((double)t->n * s);
    const int relu = t->act == NETS_RELU;
    double sum = 0;
    for (size_t j = 0; j < nb; j++) {
        double *row = h + j * m;
        double acc = 0;
        if (relu) {
#pragma omp simd reduction(+ : acc)
            for (size_t i = 0; i < m; i++) {
                /* Branch-free select, so that the loop vectorises. */
                double v = row[i], hv = v > 0 ? v : 0.0;
                acc += a[i] * hv;
            }
        } else {
            nets__act(t->act, row, m);
#pragma omp simd reduction(+ : acc)
            for (size_t i = 0; i < m; i++)
                acc += a[i] * row[i];
        }
        double fj = c * acc, dl;
        sum += nets__loss(t->loss, fj, t->y[j0 + j], &dl);
        const double ej = dl * inv;
        t->f[j0 + j] = fj;
        t->e[j0 + j] = ej;
        if (relu && t->fused) {
#pragma omp simd
            for (size_t i = 0; i < m; i++)
                row[i] = row[i] > 0 ? ej : 0.0;
        } else if (relu) {
#pragma omp simd
            for (size_t i = 0; i < m; i++)
                row[i] = row[i] > 0 ? row[i] : 0.0;
        }
    }
    return sum;
}

/* Threads worth starting: below ~10^6 multiply-adds a parallel region costs
 * more than it saves (and spins badly on a loaded machine). The blocks do
 * not depend on it, so neither do the bits. */
static int useful_threads(const nets_tl *t, int nt) {
    return (double)t->n * (double)t->m * (double)t->d < 1e6 ? 1 : nt;
}

double nets__tl_forward(nets_tl *t, const double *a, const double *w, int nt) {
    const size_t rb = row_block(t->m), nblk = (t->n + rb - 1) / rb;
    nt = useful_threads(t, nt);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (size_t b = 0; b < nblk; b++) {
        size_t j0 = b * rb;
        size_t nb = t->n - j0 < rb ? t->n - j0 : rb;
        t->part[b] = forward_block(t, a, w, j0, nb);
    }
    double sum = 0;
    for (size_t b = 0; b < nblk; b++)
        sum += t->part[b];
    return sum / (double)t->n;
}

/* Particles [i0, i0+mb): ga, then overwrite H's columns with e_j a_i σ'_ji
 * and multiply by X. Fused ReLU mode: H already holds e_j 1[p_ji > 0], one
 * GEMM gives M_i = Σ_j e_j 1[p_ji > 0] x_j, then gw_i = a_i M_i and, by
 * 1-homogeneity of the ReLU (relu(p) = 1[p > 0] p), ga_i = w_i·M_i. */
static void backward_block(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                           size_t i0, size_t mb) {
    const size_t m = t->m, d = t->d, n = t->n;
    double *g = ga + i0;
    const double *ab = a + i0;
    if (t->fused && t->act == NETS_RELU) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)mb, (int)d, (int)n, 1.0,
                    t->h + i0, (int)m, t->x, (int)d, 0.0, gw + i0 * d, (int)d);
        for (size_t k = 0; k < mb; k++) {
            double *gk = gw + (i0 + k) * d;
            g[k] = cblas_ddot((int)d, w + (i0 + k) * d, 1, gk, 1);
            cblas_dscal((int)d, ab[k], gk, 1);
        }
        return;
    }
    for (size_t k = 0; k < mb; k++)
        g[k] = 0;
    for (size_t j = 0; j < n; j++) {
        double *row = t->h + j * m + i0;
        const double ej = t->e[j];
        switch (t->act) {
        case NETS_RELU:
#pragma omp simd
            for (size_t k = 0; k < mb; k++) {
                double hv = row[k];
                g[k] += hv * ej;
                row[k] = hv > 0 ? ej * ab[k] : 0.0;
            }
            break;
        case NETS_TANH:
#pragma omp simd
            for (size_t k = 0; k < mb; k++) {
                double hv = row[k];
                g[k] += hv * ej;
                row[k] = ej * ab[k] * (1.0 - hv * hv);
            }
            break;
        default:
#pragma omp simd
            for (size_t k = 0; k < mb; k++) {
                double hv = row[k];
                g[k] += hv * ej;
                row[k] = ej * ab[k] * hv * (1.0 - hv);
            }
            break;
        }
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)mb, (int)d, (int)n, 1.0, t->h + i0,
                (int)m, t->x, (int)d, 0.0, gw + i0 * d, (int)d);
}

void nets__tl_backward(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                       int nt) {
    const size_t ncb = (t->m + NETS_COL_BLOCK - 1) / NETS_COL_BLOCK;
    nt = useful_threads(t, nt);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (size_t b = 0; b < ncb; b++) {
        size_t i0 = b * NETS_COL_BLOCK;
        size_t mb = t->m - i0 < NETS_COL_BLOCK ? t->m - i0 : NETS_COL_BLOCK;
        backward_block(t, a, w, ga, gw, i0, mb);
    }
}

void nets__tl_predict(const nets_tl *t, const double *a, const double *w, const double *x,
                      size_t nx, double *out, double *ws) {
    const size_t m = t->m, d = t->d;
    const double c = t->out_scale / (double)m;
    for (size_t j0 = 0; j0 < nx; j0 += NETS_ROW_BLOCK) {
        size_t nb = nx - j0 < NETS_ROW_BLOCK ? nx - j0 : NETS_ROW_BLOCK;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)m, (int)d, 1.0,
                    x + j0 * d, (int)d, w, (int)d, 0.0, ws, (int)m);
        for (size_t j = 0; j < nb; j++) {
            double *row = ws + j * m;
            nets__act(t->act, row, m);
            double acc = 0;
            for (size_t i = 0; i < m; i++)
                acc += a[i] * row[i];
            out[j0 + j] = c * acc;
        }
    }
}

void nets__tangent_kernel(const nets_tl *t, const double *a, const double *w, const double *xp,
                          size_t p, double *K, double *ws) {
    const size_t m = t->m, d = t->d;
    double *h = ws, *g = ws + p * m;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)m, (int)d, 1.0, xp, (int)d, w,
                (int)d, 0.0, h, (int)m);
    nets__act(t->act, h, p * m);
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < m; i++)
            g[j * m + i] = a[i] * nets__dact(t->act, h[j * m + i]);
    /* K = (1/m)(H Hᵀ + (G Gᵀ) ⊙ (X Xᵀ)). The output scale s does not enter:
     * under the step rule on F = R(s f)/s², the scaled predictor s·f moves
     * by kernel GD with exactly this K (spec §5). */
    const double c = 1.0 / (double)m;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)p, (int)m, c, g, (int)m, g,
                (int)m, 0.0, K, (int)p);
    for (size_t j = 0; j < p; j++)
        for (size_t k = 0; k < p; k++)
            K[j * p + k] *= cblas_ddot((int)d, xp + j * d, 1, xp + k * d, 1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)p, (int)m, c, h, (int)m, h,
                (int)m, 1.0, K, (int)p);
}
