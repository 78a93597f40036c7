/* nets_deconv.c — kernels, forward pass, certificate and spike merging of
 * sparse deconvolution on the torus (mean-field.md §7 T3, §1, §8).
 *
 * What it is for: the numerics behind the `deconvolution` kind. Dirichlet
 * kernel ψ(t) = 1 + 2 Σ_{k=1}^K cos kt = sin((K+½)t)/sin(t/2) (closed form
 * away from t = 0, the cosine sum near it), periodised Gaussian
 * Σ_{|p|≤2} exp(−(t+2πp)²/(2σ²)); 2-D tensor products. Forward and gradients
 * are GEMV/GEMM on N×m kernel matrices (grid form, O(N^D m)).
 *
 * What it is not for: the algorithms (nets_deconv_kind.c).
 */
#include "nets_deconv.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"

double nets__wrap(double t) {
    double r = fmod(t, 2 * M_PI);
    if (r < 0)
        r += 2 * M_PI;
    return r >= 2 * M_PI ? 0.0 : r;
}

double nets__circ_dist(double a, double b) {
    double d = fabs(nets__wrap(a) - nets__wrap(b));
    return d > M_PI ? 2 * M_PI - d : d;
}

double nets__psi(const nets_kernel *k, double t, double *dpsi) {
    if (k->kind == NETS_GAUSSIAN) {
        double v = 0, dv = 0, s2 = k->sigma * k->sigma;
        for (int p = -2; p <= 2; p++) {
            double u = t + 2 * M_PI * p, g = exp(-u * u / (2 * s2));
            v += g;
            dv -= u / s2 * g;
        }
        if (dpsi)
            *dpsi = dv;
        return v;
    }
    const int K = k->K;
    double sh = sin(0.5 * t);
    if (fabs(sh) < 1e-3) {
        /* Near t = 0 (mod 2π) the quotient loses digits: sum the cosines. */
        double v = 1, dv = 0;
        for (int q = 1; q <= K; q++) {
            v += 2 * cos(q * t);
            dv -= 2 * q * sin(q * t);
        }
        if (dpsi)
            *dpsi = dv;
        return v;
    }
    double a = K + 0.5, sa = sin(a * t), ca = cos(a * t), ch = cos(0.5 * t);
    if (dpsi)
        *dpsi = (a * ca * sh - 0.5 * sa * ch) / (sh * sh);
    return sa / sh;
}

ms_status nets__deconv_alloc(nets_deconv *dc, size_t D, size_t N, size_t m) {
    size_t nobs = D == 2 ? N * N : N, nm = N * m;
    memset(dc, 0, sizeof *dc);
    dc->A1 = ms_malloc(nm, sizeof(double));
    dc->A1p = ms_malloc(nm, sizeof(double));
    dc->f = ms_malloc(nobs, sizeof(double));
    dc->e = ms_malloc(nobs, sizeof(double));
    dc->c = ms_malloc(m, sizeof(double));
    int ok = dc->A1 && dc->A1p && dc->f && dc->e && dc->c;
    if (ok && D == 2) {
        dc->A2 = ms_malloc(nm, sizeof(double));
        dc->A2p = ms_malloc(nm, sizeof(double));
        dc->T = ms_malloc(nm, sizeof(double));
        dc->Tp = ms_malloc(nm, sizeof(double));
        ok = dc->A2 && dc->A2p && dc->T && dc->Tp;
    }
    if (!ok) {
        nets__deconv_free(dc);
        return MS_ENOMEM;
    }
    dc->D = D;
    dc->N = N;
    dc->nobs = nobs;
    dc->m = m;
    return MS_OK;
}

void nets__deconv_free(nets_deconv *dc) {
    if (!dc)
        return;
    double *arr[] = {dc->A1, dc->A1p, dc->A2, dc->A2p, dc->T, dc->Tp, dc->f, dc->e, dc->c};
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        ms_free(arr[k]);
    memset(dc, 0, sizeof *dc);
}

/* A[s][i] = ψ(x_s − θ_i·axis), Ap the derivative in its argument. */
static void kernel_matrix(const nets_deconv *dc, const double *th, size_t axis, double *A,
                          double *Ap) {
    const size_t N = dc->N, m = dc->m, D = dc->D;
    for (size_t s = 0; s < N; s++) {
        double xs = 2 * M_PI * (double)s / (double)N;
        for (size_t i = 0; i < m; i++)
            A[s * m + i] = nets__psi(&dc->ker, xs - th[i * D + axis], &Ap[s * m + i]);
    }
}

double nets__deconv_forward(nets_deconv *dc, const double *th, const double *c) {
    const size_t N = dc->N, m = dc->m;
    const double im = 1.0 / (double)m;
    int build = !(dc->fixed && dc->have_mats);
    if (build)
        kernel_matrix(dc, th, 0, dc->A1, dc->A1p);
    if (build && dc->D == 2)
        kernel_matrix(dc, th, 1, dc->A2, dc->A2p);
    dc->have_mats = 1;
    if (dc->D == 1) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)m, im, dc->A1, (int)m, c, 1, 0.0,
                    dc->f, 1);
    } else {
        /* f = A1 diag(c) A2ᵀ / m: scale A1's columns into T first. */
        for (size_t s = 0; s < N; s++)
            for (size_t i = 0; i < m; i++)
                dc->T[s * m + i] = dc->A1[s * m + i] * c[i];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)N, (int)m, im, dc->T,
                    (int)m, dc->A2, (int)m, 0.0, dc->f, (int)N);
    }
    double sum = 0, inv = 1.0 / (double)dc->nobs;
    for (size_t s = 0; s < dc->nobs; s++) {
        double r = dc->f[s] - dc->y[s];
        sum += r * r;
        dc->e[s] = r * inv;
    }
    return 0.5 * sum * inv;
}

void nets__deconv_grad(nets_deconv *dc, double *g, double *dg) {
    const size_t N = dc->N, m = dc->m;
    if (dc->D == 1) {
        /* g = A1ᵀ e; ∇g(θ) = −Σ_s e_s ψ'(x_s − θ). */
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)N, (int)m, 1.0, dc->A1, (int)m, dc->e, 1, 0.0,
                    g, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)N, (int)m, -1.0, dc->A1p, (int)m, dc->e, 1, 0.0,
                    dg, 1);
        return;
    }
    /* 2-D: T = E A2, Tp = E A2' (E is N×N, rows = axis-1 grid), then
     * g_i = Σ_s1 A1[s1,i] T[s1,i], ∂1 g = −Σ A1'·T, ∂2 g = −Σ A1·Tp. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)m, (int)N, 1.0, dc->e,
                (int)N, dc->A2, (int)m, 0.0, dc->T, (int)m);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)m, (int)N, 1.0, dc->e,
                (int)N, dc->A2p, (int)m, 0.0, dc->Tp, (int)m);
    for (size_t i = 0; i < m; i++) {
        g[i] = dg[2 * i] = dg[2 * i + 1] = 0;
    }
    for (size_t s = 0; s < N; s++)
        for (size_t i = 0; i < m; i++) {
            size_t k = s * m + i;
            g[i] += dc->A1[k] * dc->T[k];
            dg[2 * i] -= dc->A1p[k] * dc->T[k];
            dg[2 * i + 1] -= dc->A1[k] * dc->Tp[k];
        }
}

size_t nets__deconv_cert_ws(size_t D, size_t N, size_t G) {
    return G * N + (D == 2 ? G * N + G * G : G);
}

double nets__deconv_cert(const nets_deconv *dc, size_t G, double *ws) {
    const size_t N = dc->N;
    double *B = ws, *out = ws + G * N;
    /* B[t][s] = ψ(x_s − t_g) on the certificate grid t_g = 2πg/G. */
    for (size_t q = 0; q < G; q++) {
        double t = 2 * M_PI * (double)q / (double)G;
        for (size_t s = 0; s < N; s++)
            B[q * N + s] = nets__psi(&dc->ker, 2 * M_PI * (double)s / (double)N - t, NULL);
    }
    if (dc->D == 1) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)G, (int)N, 1.0, B, (int)N, dc->e, 1, 0.0, out,
                    1);
    } else {
        /* g on the G×G grid = B E Bᵀ. */
        double *BE = out, *GG = out + G * N;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)G, (int)N, (int)N, 1.0, B,
                    (int)N, dc->e, (int)N, 0.0, BE, (int)N);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)G, (int)G, (int)N, 1.0, BE,
                    (int)N, B, (int)N, 0.0, GG, (int)G);
        out = GG;
    }
    size_t len = dc->D == 2 ? G * G : G;
    double mx = 0;
    for (size_t q = 0; q < len; q++)
        mx = fabs(out[q]) > mx ? fabs(out[q]) : mx;
    return mx;
}

size_t nets__merge(const double *th, const double *w, size_t m, size_t D, double radius,
                   double *pos, double *wt, size_t *ws) {
    /* Order by |weight|, heaviest first (insertion sort: m is modest). */
    for (size_t i = 0; i < m; i++) {
        size_t j = i;
        while (j > 0 && fabs(w[ws[j - 1]]) < fabs(w[i])) {
            ws[j] = ws[j - 1];
            j--;
        }
        ws[j] = i;
    }
    size_t nc = 0;
    for (size_t q = 0; q < m; q++) {
        size_t i = ws[q];
        size_t hit = nc;
        for (size_t c = 0; c < nc && hit == nc; c++) {
            double dist = 0;
            for (size_t k = 0; k < D; k++) {
                double dd = nets__circ_dist(th[i * D + k], pos[c * D + k]);
                dist = dd > dist ? dd : dist;
            }
            if (dist < radius)
                hit = c;
        }
        if (hit == nc) {
            memcpy(pos + nc * D, th + i * D, D * sizeof(double));
            wt[nc++] = w[i];
        } else {
            /* Weighted mean of the positions, unwrapped around the cluster;
             * weights by |w| so that cancelling signs cannot blow it up. */
            double a0 = fabs(wt[hit]), a1 = fabs(w[i]);
            for (size_t k = 0; k < D; k++) {
                double p = pos[hit * D + k], t = th[i * D + k];
                double dt = nets__wrap(t - p + M_PI) - M_PI;
                if (a0 + a1 > 0)
                    pos[hit * D + k] = nets__wrap(p + dt * a1 / (a0 + a1));
            }
            wt[hit] += w[i];
        }
    }
    return nc;
}
