/* nets_twolayer32.c — the float32 path of the two-layer model: forward pass
 * and mean-field gradients with sgemm and float workspaces (the
 * `precision: "float32"` option of the two_layer kind).
 *
 * What it is for: the same computation as nets_twolayer.c (spec §2:
 * H = σ(X Wᵀ), gW = a ⊙ (σ'(H)ᵀ diag(e) X), ga by 1-homogeneity for the ReLU)
 * with the two GEMMs and the n×m passes in float32, which doubles the GEMM
 * rate and halves the memory traffic of H. Only these O(nmd) and O(nm)
 * parts are float: the weights are rounded at each forward (O(md)), the
 * sums of the predictor f_j, the losses, e_j and the products back in the
 * particles' update are float64, so the float32 step differs from the
 * float64 one by float32 round-off of the GEMMs (~1e-7 relative per entry,
 * ~1e-6 after the sums). Same row and column blocks as the float64 path:
 * the bits do not depend on the thread count.
 *
 * What it is not for: the updates (the algorithms, in float64), the test
 * predictions and metrics (float64, nets__tl_predict).
 */
#include <cblas.h>
#include <math.h>

#include "ms_vmath.h"
#include "nets_internal.h"

void nets__act32(nets_act act, float *v, size_t n) {
    if (act == NETS_RELU) {
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] > 0 ? v[i] : 0.0f;
        return;
    }
    /* tanh and sigmoid through the float64 vector exp, 256 at a time (the
     * same formulas as nets__act). */
    double buf[256];
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t nb = n - i0 < 256 ? n - i0 : 256;
        for (size_t i = 0; i < nb; i++)
            buf[i] = act == NETS_TANH ? 2.0 * (double)v[i0 + i] : -(double)v[i0 + i];
        ms_vexp(buf, buf, nb);
        for (size_t i = 0; i < nb; i++)
            v[i0 + i] = act == NETS_TANH ? (float)(1.0 - 2.0 / (buf[i] + 1.0))
                                         : (float)(1.0 / (1.0 + buf[i]));
    }
}

/* Rows [j0, j0+nb) into h, as forward_rows of nets_twolayer.c. */
static double forward_rows(nets_tl *t, const nets_simd *k, float *h, size_t j0, size_t nb) {
    const size_t m = t->m, d = t->d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)m, (int)d, 1.0f,
                t->xs + j0 * d, (int)d, t->ws, (int)d, 0.0f, h, (int)m);
    const double s = t->out_scale, c = s / (double)m, inv = 1.0 / ((double)t->n * s);
    float *acc = t->es + j0; /* rewritten with e below */
    double sum = 0;
    if (t->act == NETS_RELU)
        (t->fused ? k->relu_mask_f : k->relu_keep_f)(h, t->as, nb, m, acc);
    else
        for (size_t j = 0; j < nb; j++) {
            nets__act32(t->act, h + j * m, m);
            acc[j] = k->dot_f(h + j * m, t->as, m);
        }
    for (size_t j = 0; j < nb; j++) {
        double fj = c * (double)acc[j], dl;
        sum += nets__loss(t->loss, fj, t->y[j0 + j], &dl);
        t->f[j0 + j] = fj;
        t->e[j0 + j] = dl * inv;
        /* Rows e_j x_j from the rounded x and e (float32 round-off, as any
         * float32 product). */
        t->es[j0 + j] = (float)t->e[j0 + j];
    }
    return sum;
}

/* Fused mode, rows [j0, j0+nb) of chunk c: as fused_block of
 * nets_twolayer.c. */
static double fused_block(nets_tl *t, const nets_simd *k, size_t c, size_t j0, size_t nb,
                          int first) {
    const size_t m = t->m, d = t->d;
    float *h = t->hbs + c * NETS_ROW_BLOCK * m, beta = first ? 0.0f : 1.0f;
    double loss = forward_rows(t, k, h, j0, nb);
    k->scale_f(t->xes + j0 * d, t->xs + j0 * d, t->es + j0, nb, d);
    if (t->act != NETS_RELU) {
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)nb, (int)m, 1.0f, h, (int)m, t->es + j0, 1,
                    beta, t->gaccs + c * m, 1);
        k->dact_f(t->act, h, nb, m, m);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)nb, 1.0f, h, (int)m,
                t->xes + j0 * d, (int)d, beta, t->accs + c * m * d, (int)d);
    return loss;
}

void nets__tl_round32(nets_tl *t, const double *a, const double *w) {
    const size_t m = t->m, md = t->m * t->d;
    for (size_t q = 0; q < md; q++)
        t->ws[q] = (float)w[q];
    for (size_t i = 0; i < m; i++)
        t->as[i] = (float)a[i];
}

double nets__tl_block32(nets_tl *t, const nets_simd *k, size_t c, size_t j0, size_t nb, int first) {
    return t->fused ? fused_block(t, k, c, j0, nb, first)
                    : forward_rows(t, k, t->hs + j0 * t->m, j0, nb);
}

/* Unfused work item of the backward, as backward_part of nets_twolayer.c:
 * the partial m×d product lands in the float scratch P (a half of gs). */
static void backward_part(nets_tl *t, const nets_simd *k, float *g, float *P, size_t i0, size_t mb,
                          size_t j0, size_t nr) {
    const size_t m = t->m, d = t->d;
    float *hb = t->hs + j0 * m + i0;
    if (t->act != NETS_RELU)
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)nr, (int)mb, 1.0f, hb, (int)m, t->es + j0, 1,
                    0.0f, g + i0, 1);
    k->dact_f(t->act, hb, nr, mb, m);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)mb, (int)d, (int)nr, 1.0f, hb, (int)m,
                t->xes + j0 * d, (int)d, 0.0f, P + i0 * d, (int)d);
}

/* Particle i from its partial sums M (np of them, m×d apart, widened and
 * added in order) and g (tanh, sigmoid; m apart): gw_i = a_i M_i, ga_i =
 * w_i·M_i for the ReLU (1-homogeneity), Σ g otherwise. */
static void finish_particle(const nets_tl *t, const double *a, const double *w, double *ga,
                            double *gw, const float *M, const float *g, size_t np, size_t i) {
    const size_t d = t->d, m = t->m, md = t->m * t->d;
    double *gi = gw + i * d, dot = 0;
    const double *wi = w + i * d, ai = a[i];
    for (size_t q = 0; q < d; q++)
        gi[q] = (double)M[i * d + q];
    for (size_t c = 1; c < np; c++) {
        const float *Mc = M + c * md + i * d;
        for (size_t q = 0; q < d; q++)
            gi[q] += (double)Mc[q];
    }
    for (size_t q = 0; q < d; q++) {
        dot += wi[q] * gi[q];
        gi[q] *= ai;
    }
    if (t->act == NETS_RELU) {
        ga[i] = dot;
    } else {
        double s = (double)g[i];
        for (size_t c = 1; c < np; c++)
            s += (double)g[c * m + i];
        ga[i] = s;
    }
}

void nets__tl_backward32(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                         int nt) {
    const size_t n = t->n, d = t->d, ncb = (t->m + NETS_COL_BLOCK - 1) / NETS_COL_BLOCK;
    const nets_simd *k = nets__simd_table();
    nt = nets__tl_threads(t, nt);
    if (t->fused) {
        const size_t nc = nets__tl_chunks(n);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (size_t i = 0; i < t->m; i++)
            finish_particle(t, a, w, ga, gw, t->accs, t->gaccs, nc, i);
        return;
    }
    const size_t nrb = (n + NETS_ROW_BLOCK - 1) / NETS_ROW_BLOCK, ns = nets__tl_splits(t);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (size_t b = 0; b < nrb; b++) {
            /* e may have changed since the forward (the bilevel solve). */
            size_t j0 = b * NETS_ROW_BLOCK, nb = n - j0 < NETS_ROW_BLOCK ? n - j0 : NETS_ROW_BLOCK;
            for (size_t j = j0; j < j0 + nb; j++)
                t->es[j] = (float)t->e[j];
            k->scale_f(t->xes + j0 * d, t->xs + j0 * d, t->es + j0, nb, d);
        }
#pragma omp for schedule(static)
        for (size_t it = 0; it < ncb * ns; it++) {
            size_t b = it / ns, q = it % ns, i0 = b * NETS_COL_BLOCK;
            size_t mb = t->m - i0 < NETS_COL_BLOCK ? t->m - i0 : NETS_COL_BLOCK;
            size_t j0 = q * (n / ns), nr = q + 1 < ns ? n / ns : n - j0;
            backward_part(t, k, t->gas + q * t->m, t->gs + q * t->m * d, i0, mb, j0, nr);
        }
        /* gs and gas hold the row halves' partials one after the other. */
#pragma omp for schedule(static)
        for (size_t i = 0; i < t->m; i++)
            finish_particle(t, a, w, ga, gw, t->gs, t->gas, ns, i);
    }
}
