/* nets_twolayer.c — the two-layer model as a particle system: forward pass,
 * losses and mean-field gradients.
 *
 * What it is for: f(x) = s·(1/m) Σ_i a_i σ(w_i·x) (mean-field factor 1/m,
 * spec §0) and the gradient of the first variation, ∇F'(u_i) = m ∇_{u_i} F_m
 * (spec §0, §2), the "mean-field step rule" every algorithm of the family
 * uses. All heavy work is two GEMMs (≈ 4nmd flops, spec §2 "Cost"):
 *   forward:  H = σ(X Wᵀ),
 *   backward: gW = a ⊙ (σ'(H)ᵀ diag(e) X),
 * with one vectorised pass over each row of H in between (nets_simd.c).
 * Fused mode (every algorithm but the bilevel one) makes both per block of
 * NETS_ROW_BLOCK rows while the block of H is in cache, each chunk of
 * blocks summing into its own partial gW; H never goes to memory (at the
 * spec's size M that is 7% of a float64 step). Unfused mode keeps H (the
 * bilevel solve needs Φ = H) and makes the backward by column blocks of
 * particles. Blocks and chunks have fixed sizes, so the bits do not depend
 * on the thread count: every output entry is computed by the same BLAS
 * calls, added in the same order, whatever the split.
 * This file is the float64 path; nets_twolayer32.c the float32 one.
 *
 * What it is not for: penalties and updates (the algorithms add those).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_vmath.h"
#include "nets_internal.h"

size_t nets__tl_chunks(size_t n) {
    size_t nblk = (n + NETS_ROW_BLOCK - 1) / NETS_ROW_BLOCK;
    return nblk < 1 ? 1 : nblk > NETS_CHUNKS ? NETS_CHUNKS : nblk;
}

ms_status nets__tl_alloc(nets_tl *t, size_t n_cap, size_t d, size_t m, int single, int fused) {
    size_t nblk = n_cap / 16 + 1; /* row blocks are at least 16 rows */
    memset(t, 0, sizeof *t);
    if (m && n_cap > ((size_t)-1) / 16 / m)
        return MS_ENOMEM;
    /* Fused: one block of σ(P) and the partial sums per chunk. */
    const size_t nc = nets__tl_chunks(n_cap),
                 rows = n_cap < NETS_ROW_BLOCK ? n_cap : NETS_ROW_BLOCK;
    const size_t nh = fused ? 0 : n_cap * m, nhb = fused ? nc * (rows ? rows : 1) * m : 0;
    const size_t nacc = fused ? nc * m * d : 0, ngacc = fused ? nc * m : 0;
    t->f = ms_malloc(n_cap, sizeof(double));
    t->e = ms_malloc(n_cap, sizeof(double));
    t->part = ms_malloc(nblk ? nblk : 1, sizeof(double));
    int ok = t->f && t->e && t->part;
    if (single) {
        t->xs = ms_malloc(n_cap * d, sizeof(float));
        t->xes = ms_malloc(n_cap * d, sizeof(float));
        t->ws = ms_malloc(m * d, sizeof(float));
        t->as = ms_malloc(m, sizeof(float));
        t->es = ms_malloc(n_cap, sizeof(float));
        t->vs = ms_malloc(n_cap + m, sizeof(float));
        ok = ok && t->xs && t->xes && t->ws && t->as && t->es && t->vs;
        if (fused) {
            t->hbs = ms_malloc_aligned(nhb, sizeof(float));
            t->accs = ms_malloc(nacc, sizeof(float));
            t->gaccs = ms_malloc(ngacc, sizeof(float));
            ok = ok && t->hbs && t->accs && t->gaccs;
        } else {
            t->hs = ms_malloc_aligned(nh, sizeof(float));
            t->gs = ms_malloc(2 * m * d, sizeof(float)); /* two row halves */
            t->gas = ms_malloc(2 * m, sizeof(float));
            ok = ok && t->hs && t->gs && t->gas;
        }
    } else {
        t->xe = ms_malloc(n_cap * d, sizeof(double));
        ok = ok && t->xe;
        if (fused) {
            t->hb = ms_malloc_aligned(nhb, sizeof(double));
            t->acc = ms_malloc(nacc, sizeof(double));
            t->gacc = ms_malloc(ngacc, sizeof(double));
            ok = ok && t->hb && t->acc && t->gacc;
        } else {
            t->h = ms_malloc_aligned(nh, sizeof(double));
            t->gw2 = ms_malloc(m * d, sizeof(double));
            t->ga2 = ms_malloc(m, sizeof(double));
            ok = ok && t->h && t->gw2 && t->ga2;
        }
    }
    if (!ok) {
        nets__tl_free(t);
        return MS_ENOMEM;
    }
    t->single = single;
    t->fused = fused;
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
    ms_free_aligned(t->hs);
    ms_free_aligned(t->hb);
    ms_free_aligned(t->hbs);
    float *fl[] = {t->xs, t->xes, t->ws, t->as, t->gs, t->es, t->gas, t->vs, t->accs, t->gaccs};
    for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
        ms_free(fl[k]);
    double *db[] = {t->xe, t->gw2, t->ga2, t->acc, t->gacc, t->f, t->e, t->part};
    for (size_t k = 0; k < sizeof db / sizeof db[0]; k++)
        ms_free(db[k]);
    memset(t, 0, sizeof *t);
}

void nets__tl_set_data(nets_tl *t, const double *x, const double *y, size_t n) {
    t->x = x;
    t->y = y;
    t->n = n;
    if (t->single)
        for (size_t k = 0; k < n * t->d; k++)
            t->xs[k] = (float)x[k];
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

size_t nets__tl_row_block(const nets_tl *t) {
    /* About 1 MiB of h, at least 16 and at most NETS_ROW_BLOCK rows. A
     * function of m and the precision only, so the split (hence the bits)
     * does not depend on the thread count. */
    size_t m = t->m ? t->m : 1;
    size_t rb = (t->single ? (size_t)1 << 18 : (size_t)1 << 17) / m;
    return rb < 16 ? 16 : rb > NETS_ROW_BLOCK ? NETS_ROW_BLOCK : rb;
}

int nets__tl_threads(const nets_tl *t, int nt) {
    /* Below ~10^6 multiply-adds a parallel region costs more than it saves
     * (and spins badly on a loaded machine). The blocks do not depend on
     * it, so neither do the bits. */
    return (double)t->n * (double)t->m * (double)t->d < 1e6 ? 1 : nt;
}

/* Rows [j0, j0+nb) into h (nb×m): P = X Wᵀ, then per row, while it is in
 * cache, one pass gives Σ_i a_i σ(p_i) and leaves σ(p) in place (fused
 * ReLU: the mask 1[p > 0], all its backward needs); then f_j, e_j. Returns
 * Σ_j ℓ_j. */
static double forward_rows(nets_tl *t, const nets_simd *k, const double *a, const double *w,
                           double *h, size_t j0, size_t nb) {
    const size_t m = t->m, d = t->d;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)m, (int)d, 1.0,
                t->x + j0 * d, (int)d, w, (int)d, 0.0, h, (int)m);
    const double s = t->out_scale, c = s / (double)m, inv = 1.0 / ((double)t->n * s);
    double *acc = t->f + j0, sum = 0;
    if (t->act == NETS_RELU)
        (t->fused ? k->relu_mask_d : k->relu_keep_d)(h, a, nb, m, acc);
    else
        for (size_t j = 0; j < nb; j++) {
            nets__act(t->act, h + j * m, m);
            acc[j] = k->dot_d(h + j * m, a, m);
        }
    for (size_t j = 0; j < nb; j++) {
        double fj = c * acc[j], dl;
        sum += nets__loss(t->loss, fj, t->y[j0 + j], &dl);
        t->f[j0 + j] = fj;
        t->e[j0 + j] = dl * inv;
    }
    return sum;
}

/* Fused mode, rows [j0, j0+nb) of chunk c: the forward of its rows into the
 * chunk's block of h, then, while that block is in cache, its share of the
 * backward: with M_i = Σ_j σ'(p_ji) e_j x_j, one GEMM of the columns of
 * σ'(P) with the rows e_j x_j (K = the block's rows) adds into the chunk's
 * partial M, and for tanh and sigmoid one GEMV of σ(P) with e (before σ'
 * overwrites it) into the chunk's partial ga. Returns Σ_j ℓ_j. */
static double fused_block(nets_tl *t, const nets_simd *k, const double *a, const double *w,
                          size_t c, size_t j0, size_t nb, int first) {
    const size_t m = t->m, d = t->d;
    /* (With fewer rows than a block there is one chunk, c = 0.) */
    double *h = t->hb + c * NETS_ROW_BLOCK * m, beta = first ? 0.0 : 1.0;
    double loss = forward_rows(t, k, a, w, h, j0, nb);
    k->scale_d(t->xe + j0 * d, t->x + j0 * d, t->e + j0, nb, d);
    if (t->act != NETS_RELU) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)nb, (int)m, 1.0, h, (int)m, t->e + j0, 1, beta,
                    t->gacc + c * m, 1);
        k->dact_d(t->act, h, nb, m, m);
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)nb, 1.0, h, (int)m,
                t->xe + j0 * d, (int)d, beta, t->acc + c * m * d, (int)d);
    return loss;
}

/* Rows [j0, j0+nb) in the working precision: fused, block of chunk c
 * (first: the chunk's first block); unfused, into h. */
static double block(nets_tl *t, const nets_simd *k, const double *a, const double *w, size_t c,
                    size_t j0, size_t nb, int first) {
    if (t->single)
        return nets__tl_block32(t, k, c, j0, nb, first);
    return t->fused ? fused_block(t, k, a, w, c, j0, nb, first)
                    : forward_rows(t, k, a, w, t->h + j0 * t->m, j0, nb);
}

double nets__tl_forward(nets_tl *t, const double *a, const double *w, int nt) {
    if (t->single)
        nets__tl_round32(t, a, w);
    const nets_simd *k = nets__simd_table();
    nt = nets__tl_threads(t, nt);
    size_t nblk;
    if (t->fused) {
        /* Chunk c owns rows [n c / nc, n (c+1) / nc), in blocks of at most
         * NETS_ROW_BLOCK rows from its first; part[c] is its loss. */
        const size_t n = t->n, nc = nets__tl_chunks(n);
        nblk = nc;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (size_t c = 0; c < nc; c++) {
            const size_t r0 = n * c / nc, r1 = n * (c + 1) / nc;
            double sum = 0;
            for (size_t j0 = r0; j0 < r1; j0 += NETS_ROW_BLOCK)
                sum += block(t, k, a, w, c, j0, r1 - j0 < NETS_ROW_BLOCK ? r1 - j0 : NETS_ROW_BLOCK,
                             j0 == r0);
            t->part[c] = sum;
        }
    } else {
        const size_t rb = nets__tl_row_block(t);
        nblk = (t->n + rb - 1) / rb;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (size_t b = 0; b < nblk; b++) {
            size_t j0 = b * rb;
            t->part[b] = block(t, k, a, w, 0, j0, t->n - j0 < rb ? t->n - j0 : rb, 0);
        }
    }
    double sum = 0;
    for (size_t b = 0; b < nblk; b++)
        sum += t->part[b];
    return sum / (double)t->n;
}

size_t nets__tl_splits(const nets_tl *t) {
    /* Rows are split in two halves when the particles make a single column
     * block (m <= NETS_COL_BLOCK), so that two threads share the backward
     * GEMM; a function of the sizes only, like every other block. */
    return t->m <= NETS_COL_BLOCK && t->n >= 2 * NETS_ROW_BLOCK ? 2 : 1;
}

/* Unfused work item of the backward: particles [i0, i0+mb) over rows
 * [j0, j0+nr); the GEMM (and GEMV) of fused_block on the columns of the
 * kept h, into P (m×d) and g (m). */
static void backward_part(nets_tl *t, const nets_simd *k, double *g, double *P, size_t i0,
                          size_t mb, size_t j0, size_t nr) {
    const size_t m = t->m, d = t->d;
    double *hb = t->h + j0 * m + i0;
    if (t->act != NETS_RELU)
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)nr, (int)mb, 1.0, hb, (int)m, t->e + j0, 1, 0.0,
                    g + i0, 1);
    k->dact_d(t->act, hb, nr, mb, m);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)mb, (int)d, (int)nr, 1.0, hb, (int)m,
                t->xe + j0 * d, (int)d, 0.0, P + i0 * d, (int)d);
}

/* Particle i, with M_i in gw_i (the sum of the partials): gw_i = a_i M_i
 * and, for the ReLU, ga_i = w_i·M_i by 1-homogeneity (relu(p) = 1[p > 0] p). */
static void finish_particle(const nets_tl *t, const double *a, const double *w, double *ga,
                            double *gw, size_t i) {
    const size_t d = t->d;
    double *gi = gw + i * d, dot = 0;
    const double *wi = w + i * d, ai = a[i];
    for (size_t q = 0; q < d; q++) {
        dot += wi[q] * gi[q];
        gi[q] *= ai;
    }
    if (t->act == NETS_RELU)
        ga[i] = dot;
}

/* Unfused: particles [i0, i1), adding the second row half's partials when
 * the rows were split. */
static void backward_finish(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                            size_t i0, size_t i1, int split) {
    const size_t d = t->d;
    for (size_t i = i0; i < i1; i++) {
        if (split) {
            double *gi = gw + i * d;
            const double *g2 = t->gw2 + i * d;
            for (size_t q = 0; q < d; q++)
                gi[q] += g2[q];
            if (t->act != NETS_RELU)
                ga[i] += t->ga2[i];
        }
        finish_particle(t, a, w, ga, gw, i);
    }
}

/* Fused: the chunks' partials, added in chunk order. */
static void fused_finish(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                         int nt) {
    const size_t m = t->m, d = t->d, md = m * d, nc = nets__tl_chunks(t->n);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (size_t i = 0; i < m; i++) {
        double *gi = gw + i * d;
        memcpy(gi, t->acc + i * d, d * sizeof(double));
        for (size_t c = 1; c < nc; c++) {
            const double *p = t->acc + c * md + i * d;
            for (size_t q = 0; q < d; q++)
                gi[q] += p[q];
        }
        if (t->act != NETS_RELU) {
            double g = t->gacc[i];
            for (size_t c = 1; c < nc; c++)
                g += t->gacc[c * m + i];
            ga[i] = g;
        }
        finish_particle(t, a, w, ga, gw, i);
    }
}

void nets__tl_backward(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                       int nt) {
    if (t->single) {
        nets__tl_backward32(t, a, w, ga, gw, nt);
        return;
    }
    nt = nets__tl_threads(t, nt);
    if (t->fused) {
        fused_finish(t, a, w, ga, gw, nt);
        return;
    }
    const size_t n = t->n, d = t->d, ncb = (t->m + NETS_COL_BLOCK - 1) / NETS_COL_BLOCK;
    const size_t nrb = (n + NETS_ROW_BLOCK - 1) / NETS_ROW_BLOCK, ns = nets__tl_splits(t);
    const nets_simd *k = nets__simd_table();
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (size_t b = 0; b < nrb; b++) {
            size_t j0 = b * NETS_ROW_BLOCK, nb = n - j0 < NETS_ROW_BLOCK ? n - j0 : NETS_ROW_BLOCK;
            k->scale_d(t->xe + j0 * d, t->x + j0 * d, t->e + j0, nb, d);
        }
#pragma omp for schedule(static)
        for (size_t it = 0; it < ncb * ns; it++) {
            size_t b = it / ns, q = it % ns, i0 = b * NETS_COL_BLOCK;
            size_t mb = t->m - i0 < NETS_COL_BLOCK ? t->m - i0 : NETS_COL_BLOCK;
            size_t j0 = q * (n / ns), nr = q + 1 < ns ? n / ns : n - j0;
            backward_part(t, k, q ? t->ga2 : ga, q ? t->gw2 : gw, i0, mb, j0, nr);
            if (ns == 1)
                backward_finish(t, a, w, ga, gw, i0, i0 + mb, 0);
        }
        if (ns > 1) {
#pragma omp for schedule(static)
            for (size_t i = 0; i < t->m; i++)
                backward_finish(t, a, w, ga, gw, i, i + 1, 1);
        }
    }
}

void nets__tl_htv(nets_tl *t, double alpha, const double *v, double *out) {
    const size_t n = t->n, m = t->m;
    if (!t->single) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, alpha, t->h, (int)m, v, 1, 0.0, out,
                    1);
        return;
    }
    float *vin = t->vs, *vout = t->vs + n;
    for (size_t j = 0; j < n; j++)
        vin[j] = (float)v[j];
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, 1.0f, t->hs, (int)m, vin, 1, 0.0f, vout,
                1);
    for (size_t i = 0; i < m; i++)
        out[i] = alpha * (double)vout[i];
}

void nets__tl_hv(nets_tl *t, double alpha, const double *v, double *out) {
    const size_t n = t->n, m = t->m;
    if (!t->single) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, alpha, t->h, (int)m, v, 1, 0.0,
                    out, 1);
        return;
    }
    float *vin = t->vs + n, *vout = t->vs;
    for (size_t i = 0; i < m; i++)
        vin[i] = (float)v[i];
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, 1.0f, t->hs, (int)m, vin, 1, 0.0f,
                vout, 1);
    for (size_t j = 0; j < n; j++)
        out[j] = alpha * (double)vout[j];
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
