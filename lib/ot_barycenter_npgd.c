/* ot_barycenter_npgd.c — free-support barycenters by noisy particle
 * gradient descent (Algorithm C; Chizat, "Doubly Regularized Entropic
 * Wasserstein Barycenters", arXiv:2303.11844; spec §5).
 *
 * Particles X_1..X_N with uniform weights. One step:
 *   1 for each k, Sinkhorn (ot_sinkhorn.h) between μ̂ = (1/N)Σ δ_{X_i} and
 *     ν_k at λ, warm-started, to inner_tol;
 *   2 barycentric projections ȳ_k(X_i) = Σ_j π_k,ij y_kj / Σ_j π_k,ij
 *     (ms_softmin_rows_moments);
 *   3 X_i ← (1-η) X_i + η Σ_k w_k ȳ_k(X_i) + sqrt(ητ) ξ_i,  ξ_i ~ N(0, I_d),
 * the Euler-Maruyama step of time η/2 for dX = -∇V dt + sqrt(2τ) dB in job
 * units (∇φ_k(x) = 2(x - ȳ_k(x))). τ = 0, η = 1 is the fixed point of POT's
 * free_support_sinkhorn_barycenter. The entropy of particles is not
 * computable: `objective` is the transport part Σ_k w_k EOT_λ(μ̂, ν_k)
 * (inner dual values). Noise of particle i comes from RNG stream i of
 * `seed`, so results do not depend on the thread count.
 */
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ot_barycenter_internal.h"

#define WINDOW 20

/* Initial particles: given, or drawn from the mixture Σ_k w_k ν_k with a
 * jitter of standard deviation sqrt(λ)/4 so that no two coincide. Shared
 * with the Monte Carlo method (count may exceed the particles there). */
static void draw_initial(bary_state *s, size_t count) {
    const bary_params *p = s->p;
    const size_t d = s->d;
    for (size_t i = 0; i < count; i++) {
        ms_rng *r = &s->rng[i];
        if (p->support.init.v && i < (size_t)p->support.particles) {
            memcpy(s->x + i * d, p->support.init.v + i * d, d * sizeof(double));
            continue;
        }
        double u = ms_rng_uniform(r), acc = 0;
        size_t k = 0;
        while (k + 1 < s->K && (acc += s->w[k]) <= u)
            k++;
        size_t m = s->off[k + 1] - s->off[k], j = 0;
        double v = ms_rng_uniform(r);
        acc = 0;
        while (j + 1 < m && (acc += s->b[s->off[k] + j]) <= v)
            j++;
        const double *y = ot_bary__ypoints(s, k) + j * d;
        for (size_t a = 0; a < d; a++)
            s->x[i * d + a] = y[a] + 0.25 * sqrt(p->lambda) * ms_rng_normal(r);
    }
}

/* Particles, RNG streams, operators: what both particle methods need.
 * count is the number of points moved (particles or Monte Carlo chains). */
ms_status ot_bary__particles_setup(bary_state *s, size_t count, ms_err *err) {
    const size_t d = s->d, K = s->K;
    size_t mmax = 0;
    for (size_t k = 0; k < K; k++)
        mmax = s->off[k + 1] - s->off[k] > mmax ? s->off[k + 1] - s->off[k] : mmax;
    s->n = count;
    s->x = ms_malloc(count * d, sizeof(double));
    s->xnew = ms_malloc(count * d, sizeof(double));
    s->bary = ms_malloc(count * d, sizeof(double));
    s->grad = ms_malloc(count * d, sizeof(double));
    s->lse = ms_malloc(count, sizeof(double));
    s->mu = ms_malloc(count, sizeof(double));
    s->hbuf = ms_malloc(count > mmax ? count : mmax, sizeof(double));
    s->rng = ms_malloc(count, sizeof(ms_rng));
    s->op = ms_calloc(K, sizeof *s->op);
    s->avg_window = ms_calloc(2 * WINDOW, sizeof(double));
    if (!s->x || !s->xnew || !s->bary || !s->grad || !s->lse || !s->mu || !s->hbuf || !s->rng ||
        !s->op || !s->avg_window)
        return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate %zu particles", count);
    for (size_t i = 0; i < count; i++) {
        ms_rng_init(&s->rng[i], (uint64_t)s->p->seed, i);
        s->mu[i] = 1.0 / (double)s->p->support.particles;
    }
    draw_initial(s, count);
    for (size_t k = 0; k < K; k++) {
        size_t m = s->off[k + 1] - s->off[k];
        s->op[k] = ms_softmin_points(s->x, count, ot_bary__ypoints(s, k), m, d, err);
        if (!s->op[k])
            return err ? err->code : MS_ENOMEM;
    }
    return MS_OK;
}

ms_status ot_bary__npgd_init(bary_state *s, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    const size_t N = (size_t)s->p->support.particles;
    ms_status st = ot_bary__particles_setup(s, N, err);
    if (st != MS_OK)
        return st;
    s->sk = ms_calloc(s->K, sizeof *s->sk);
    if (!s->sk)
        return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate Sinkhorn solves");
    for (size_t k = 0; k < s->K; k++) {
        s->sk[k] = ot_sinkhorn_alloc(s->op[k], s->mu, s->b + s->off[k], INFINITY, 0, err);
        if (!s->sk[k])
            return err ? err->code : MS_ENOMEM;
        /* Adaptive over-relaxation (safeguarded: the dual never drops), as
         * the ot kind: plain Sinkhorn crawls when the particles sit far
         * from some points of ν_k relative to λ. */
        ot_sinkhorn_set_omega(s->sk[k], NAN);
    }
    s->eta = s->p->step;
    return MS_OK;
}

/* Stop when the average of the transport objective over the last WINDOW
 * steps moves less than tol from that of the WINDOW before. */
static int window_converged(bary_state *s, double value) {
    const bary_params *p = s->p;
    s->avg_window[(s->iter - 1) % (2 * WINDOW)] = value;
    if (p->tol <= 0 || s->iter < 2 * WINDOW)
        return 0;
    double now = 0, before = 0;
    for (size_t t = 0; t < WINDOW; t++) {
        now += s->avg_window[(s->iter - 1 - t) % (2 * WINDOW)];
        before += s->avg_window[(s->iter - 1 - WINDOW - t) % (2 * WINDOW)];
    }
    return fabs(now - before) / WINDOW < p->tol;
}

/* Mean squared distance of the particles to their mean. */
double ot_bary__spread(const bary_state *s, size_t count) {
    const size_t d = s->d;
    double tot = 0;
    for (size_t a = 0; a < d; a++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < count; i++)
            m += s->x[i * d + a];
        m /= (double)count;
        for (size_t i = 0; i < count; i++)
            v += (s->x[i * d + a] - m) * (s->x[i * d + a] - m);
        tot += v / (double)count;
    }
    return tot;
}

ms_status ot_bary__npgd_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    const bary_params *p = s->p;
    const size_t N = s->n, d = s->d;
    const double lam = p->lambda, eta = p->step;
    ms_status st = MS_OK;
    double transport = 0, inner_err = 0;
    size_t inner = 0;
    s->iter++;
    memset(s->xnew, 0, N * d * sizeof(double));
    for (size_t k = 0; k < s->K; k++) {
        ot_sinkhorn *S = s->sk[k];
        ms_softmin_set_x(s->op[k], s->x);
        ot_sinkhorn_set(S, NULL, NULL); /* costs changed: potentials are a warm start */
        double e = NAN;
        int stopped = 0;
        for (long long it = 0; it < p->inner_max_iter && !stopped; it++) {
            if ((st = ot_sinkhorn_iterate(S, lam, p->inner_tol, ctx, &e, &stopped)) != MS_OK)
                goto failed;
            inner += !stopped;
        }
        inner_err = fmax(inner_err, isnan(e) ? 0 : e);
        /* Inner dual value <a,f> + <b,g>: EOT of the current particles. */
        const double *f = ot_sinkhorn_f(S), *g = ot_sinkhorn_g(S);
        const double *b = s->b + s->off[k], *logb = s->logb + s->off[k];
        const size_t m = s->off[k + 1] - s->off[k];
        double v = 0;
        for (size_t i = 0; i < N; i++)
            v += f[i] / (double)N;
        for (size_t j = 0; j < m; j++) {
            v += b[j] > 0 ? b[j] * g[j] : 0;
            s->hbuf[j] = b[j] > 0 ? g[j] + lam * logb[j] : -INFINITY;
        }
        transport += s->w[k] * v;
        /* ȳ_k(X_i): the mean of y under row i of the plan. */
        if ((st = ms_softmin_rows_moments(s->op[k], s->hbuf, lam, NULL, NULL, s->bary, ctx)) !=
            MS_OK)
            goto failed;
        for (size_t i = 0; i < N * d; i++)
            s->xnew[i] += s->w[k] * s->bary[i];
    }
    double drift = 0, noise = sqrt(eta * s->tau);
    for (size_t i = 0; i < N; i++)
        for (size_t a = 0; a < d; a++) {
            double x = s->x[i * d + a], t = s->xnew[i * d + a];
            drift += (x - t) * (x - t);
            double xi = noise > 0 ? ms_rng_normal(&s->rng[i]) : 0;
            s->x[i * d + a] = (1 - eta) * x + eta * t + noise * xi;
        }
    for (size_t i = 0; i < N * d; i++)
        if (!isfinite(s->x[i])) {
            st = MS_ENUMERIC;
            goto failed;
        }
    s->transport_objective = transport;
    s->drift_rms = sqrt(drift / (double)N);
    s->spread = ot_bary__spread(s, N);
    s->inner_error = inner_err;
    s->inner_total += inner;
    s->marginal_error = inner_err;
    if (window_converged(s, transport))
        s->converged = 1;
    prog->iteration = s->iter;
    ms_progress_set(prog, "transport_objective", transport);
    ms_progress_set(prog, "drift_rms", s->drift_rms);
    ms_progress_set(prog, "spread", s->spread);
    double mean = 0;
    for (size_t i = 0; i < N; i++)
        mean += s->x[i * d] / (double)N;
    ms_progress_set(prog, "mean_0", mean);
    ms_progress_set(prog, "inner_iterations", (double)inner);
    ms_progress_set(prog, "inner_marginal_error", inner_err);
    prog->fraction = (double)s->iter / (double)p->max_iter;
    if (s->converged || s->iter >= (size_t)p->max_iter) {
        prog->done = 1;
        prog->fraction = 1;
    }
    return MS_OK;
failed:
    if (st == MS_ENUMERIC)
        return ms_fail(err, st, "", "npgd: non-finite values at iteration %zu", s->iter);
    return ms_fail(err, st, "", "npgd: interrupted at iteration %zu", s->iter);
}
