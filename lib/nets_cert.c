/* nets_cert.c — global-optimality certificate of ReLU networks (spec §1, §8).
 *
 * What it is for: for the TV problem J(μ) = R(∫φ dμ) + λ|μ| lifted by
 * 2-homogeneous ReLU particles, μ is optimal iff max_{|w̄|=1} |g(w̄)| ≤ λ with
 * g(w̄) = Σ_j e_j max(0, w̄·x_j). The maximum over the sphere is searched:
 * the particles' own directions, random directions, then projected ascent
 * from the best few. What we return is a lower bound of the maximum, so a
 * certificate > 1 proves non-optimality while ≤ 1 is only a necessary check.
 *
 * What it is not for: the deconvolution certificate (an exact grid search,
 * nets_deconv.c).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nets_internal.h"

enum { TOP = 8, ASCENT = 20 };

size_t nets__cert_ws(size_t n, size_t d) {
    return NETS_ROW_BLOCK * n + NETS_ROW_BLOCK * d + TOP * d + 3 * d;
}

/* g(w̄) and, when grad != NULL, ∇g = Σ_j e_j 1[w̄·x_j > 0] x_j. */
static double eval(const double *x, const double *e, size_t n, size_t d, const double *wb,
                   double *grad) {
    double g = 0;
    if (grad)
        memset(grad, 0, d * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        double p = cblas_ddot((int)d, wb, 1, x + j * d, 1);
        if (p > 0) {
            g += e[j] * p;
            if (grad)
                cblas_daxpy((int)d, e[j], x + j * d, 1, grad, 1);
        }
    }
    return g;
}

/* Keep the TOP best |g| directions (sorted, descending). */
static void keep_top(double *top, double *topv, size_t *ntop, const double *dir, double v,
                     size_t d) {
    size_t k = *ntop < TOP ? (*ntop)++ : TOP;
    if (k == TOP && v <= topv[TOP - 1])
        return;
    if (k == TOP)
        k = TOP - 1;
    while (k > 0 && topv[k - 1] < v) {
        topv[k] = topv[k - 1];
        memcpy(top + k * d, top + (k - 1) * d, d * sizeof(double));
        k--;
    }
    topv[k] = v;
    memcpy(top + k * d, dir, d * sizeof(double));
}

double nets__cert_relu(const double *x, const double *e, size_t n, size_t d, const double *w,
                       size_t m, size_t n_rand, ms_rng *rng, double *ws) {
    double *p = ws, *dirs = p + NETS_ROW_BLOCK * n, *top = dirs + NETS_ROW_BLOCK * d;
    double *cur = top + TOP * d, *grad = cur + d, *trial = grad + d;
    double topv[TOP];
    size_t ntop = 0, total = m + n_rand;
    for (size_t c0 = 0; c0 < total; c0 += NETS_ROW_BLOCK) {
        size_t nb = total - c0 < NETS_ROW_BLOCK ? total - c0 : NETS_ROW_BLOCK;
        for (size_t k = 0; k < nb; k++) {
            double *dk = dirs + k * d;
            if (c0 + k < m)
                memcpy(dk, w + (c0 + k) * d, d * sizeof(double));
            else
                ms_rng_normals(rng, dk, d);
            nets__normalize(dk, d);
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)n, (int)d, 1.0, dirs,
                    (int)d, x, (int)d, 0.0, p, (int)n);
        for (size_t k = 0; k < nb; k++) {
            double g = 0;
            for (size_t j = 0; j < n; j++)
                g += p[k * n + j] > 0 ? e[j] * p[k * n + j] : 0.0;
            keep_top(top, topv, &ntop, dirs + k * d, fabs(g), d);
        }
    }
    double best = ntop ? topv[0] : 0;
    /* Projected ascent of |g| on the sphere, adaptive step. */
    for (size_t c = 0; c < ntop; c++) {
        memcpy(cur, top + c * d, d * sizeof(double));
        double g = eval(x, e, n, d, cur, grad), zeta = 0.1;
        for (int it = 0; it < ASCENT; it++) {
            double sg = g >= 0 ? 1.0 : -1.0;
            nets__tangent(cur, grad, d);
            double gn = cblas_dnrm2((int)d, grad, 1);
            if (!(gn > 0))
                break;
            for (size_t k = 0; k < d; k++)
                trial[k] = cur[k] + zeta * sg * grad[k] / gn;
            nets__normalize(trial, d);
            double gt = eval(x, e, n, d, trial, NULL);
            if (fabs(gt) > fabs(g)) {
                memcpy(cur, trial, d * sizeof(double));
                g = eval(x, e, n, d, cur, grad);
                zeta *= 1.5;
            } else {
                zeta *= 0.5;
                if (zeta < 1e-8)
                    break;
            }
        }
        if (fabs(g) > best)
            best = fabs(g);
    }
    return best;
}
