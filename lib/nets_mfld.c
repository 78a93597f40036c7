/* nets_mfld.c — pieces of mean-field Langevin dynamics (spec §4): sphere
 * retraction helpers, annealing schedules and the Kozachenko–Leonenko
 * entropy estimate behind the streamed `entropy` and `free_energy`.
 *
 * What it is for: the noisy update θ ← Retr(−η∇F' + sqrt(2ητ) ξ) of [C22,
 * WMC24] is assembled by the two_layer kind from these helpers; the noise
 * itself is drawn per (iteration, particle) stream (nets__noise_stream), so
 * runs do not depend on the thread count.
 *
 * What it is not for: the drift (model gradients, bilevel inner solve).
 */
#include <math.h>

#include "nets_internal.h"

void nets__tangent(const double *th, double *v, size_t d) {
    double dot = 0;
    for (size_t k = 0; k < d; k++)
        dot += th[k] * v[k];
    for (size_t k = 0; k < d; k++)
        v[k] -= dot * th[k];
}

void nets__normalize(double *v, size_t d) {
    double s = 0;
    for (size_t k = 0; k < d; k++)
        s += v[k] * v[k];
    if (!(s > 0))
        return;
    s = 1.0 / sqrt(s);
    for (size_t k = 0; k < d; k++)
        v[k] *= s;
}

double nets__digamma(double x) {
    /* Recurrence ψ(x) = ψ(x+1) − 1/x up to x >= 10, then the asymptotic
     * series (error < 1e-13 there). */
    double r = 0;
    while (x < 10) {
        r -= 1.0 / x;
        x += 1;
    }
    double f = 1.0 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

enum { KL_K = 4 };

/* Log of the k-th neighbour distance of point i. */
static double kth_log_dist(const double *pts, size_t m, size_t ld, size_t i) {
    double best[KL_K];
    for (int q = 0; q < KL_K; q++)
        best[q] = INFINITY;
    const double *p = pts + i * ld;
    for (size_t j = 0; j < m; j++) {
        if (j == i)
            continue;
        const double *o = pts + j * ld;
        double s = 0;
        for (size_t k = 0; k < ld; k++)
            s += (p[k] - o[k]) * (p[k] - o[k]);
        if (s < best[KL_K - 1]) {
            int q = KL_K - 1;
            while (q > 0 && best[q - 1] > s) {
                best[q] = best[q - 1];
                q--;
            }
            best[q] = s;
        }
    }
    /* A duplicate point has distance 0; floor it so the log stays finite. */
    double s = best[KL_K - 1] > 1e-300 ? best[KL_K - 1] : 1e-300;
    return 0.5 * log(s);
}

double nets__entropy_kl(const double *pts, size_t m, size_t ld, size_t D, int sphere, double *ws,
                        int nt) {
    if (m <= KL_K || D == 0)
        return NAN;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (size_t i = 0; i < m; i++)
        ws[i] = kth_log_dist(pts, m, ld, i);
    double sl = 0;
    for (size_t i = 0; i < m; i++)
        sl += ws[i];
    int sg;
    double dd = (double)D;
    double log_cd = 0.5 * dd * log(M_PI) - lgamma_r(1.0 + 0.5 * dd, &sg);
    double h = nets__digamma((double)m) - nets__digamma(KL_K) + log_cd + dd / (double)m * sl;
    double neg = -h;
    if (sphere) {
        /* Relative to the uniform law: add log |S^{D}| = log(2π^{d/2}/Γ(d/2)), d = D+1. */
        double d = dd + 1.0;
        neg += log(2.0) + 0.5 * d * log(M_PI) - lgamma_r(0.5 * d, &sg);
    }
    return neg;
}

void nets__anneal_start(nets_anneal *s) {
    s->stage = 0;
    s->stage_left = s->stage_iters;
    s->tau = s->tau0;
    s->finished = 0;
}

double nets__anneal_next(nets_anneal *s, size_t t) {
    switch (s->kind) {
    case NETS_ANNEAL_NONE:
        s->tau = s->tau0;
        break;
    case NETS_ANNEAL_LOG:
        /* [C22]: τ_t = τ0 / log(e + t/t0). */
        s->tau = s->tau0 / log(M_E + (double)t / s->t0);
        break;
    case NETS_ANNEAL_GEOMETRIC:
        /* Stagewise, form of [S23] as adapted in [WMC24]: τ_k = τ0 γ^k for
         * T_k = T0 (τ0/τ_k)^p iterations; stop once τ_k < τ_min. */
        if (s->stage_left == 0) {
            s->stage++;
            s->tau = s->tau0 * pow(s->gamma, (double)s->stage);
            if (s->tau < s->tau_min)
                s->finished = 1;
            double len = (double)s->stage_iters * pow(s->tau0 / s->tau, s->power);
            s->stage_left = len > 1e15 ? (size_t)1e15 : (size_t)(len < 1 ? 1 : len);
        }
        s->stage_left--;
        break;
    }
    return s->tau;
}
