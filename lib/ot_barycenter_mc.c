/* ot_barycenter_mc.c — free-support barycenters by inexact damped Sinkhorn
 * with Monte Carlo integrals (Algorithm B; Chizat & Vaškevičius, NeurIPS
 * 2023; spec §4; the sampler is ours: persistent unadjusted Langevin
 * chains).
 *
 * Reference: Lebesgue on R^d. The potentials ψ_k on the points of ν_k define
 *   φ_k(x) = -λ LSE_j(log b_kj + (ψ_kj - |x - y_kj|²)/λ),
 *   ∇φ_k(x) = 2(x - ȳ_k(x)),  ȳ_k(x) = Σ_j p_kj(x) y_kj  (softmax weights),
 *   μ_t ∝ exp(-V_t/τ),  V_t = Σ_k w_k φ_k.
 * Outer iteration:
 *   a  S chains, L steps  X ← X - h ∇V_t(X) + sqrt(2hτ) ξ
 *   b  ψ̂_kj = -λ [LSE_s((φ_k(X_s) - |X_s - y_kj|²)/λ) - log S]
 *   c  ψ_k ← (1-η) ψ_k + η ψ̂_k,  η = min(1, τ/λ) by default.
 * The estimated marginal error Σ_k w_k |b_k exp((ψ_k - ψ̂_k)/λ) - b_k|_1 has
 * a noise floor ~ S^-1/2. The first `particles` chains are returned.
 */
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ot_barycenter_internal.h"

ms_status ot_bary__mc_init(bary_state *s, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    const bary_params *p = s->p;
    size_t S = p->samples != MS_INT_ABSENT ? (size_t)p->samples : (size_t)p->support.particles;
    ms_status st = ot_bary__particles_setup(s, S, err);
    if (st != MS_OK)
        return st;
    s->psi = ms_calloc(s->mtot, sizeof(double));
    s->psihat = ms_calloc(s->mtot, sizeof(double));
    s->phi = ms_calloc(s->K * S, sizeof(double));
    if (!s->psi || !s->psihat || !s->phi)
        return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate potentials");
    return MS_OK;
}

/* hbuf = ψ_k + λ log b_k for marginal k. */
static const double *marginal_h(bary_state *s, size_t k) {
    for (size_t j = s->off[k]; j < s->off[k + 1]; j++)
        s->hbuf[j - s->off[k]] = s->b[j] > 0 ? s->psi[j] + s->lam * s->logb[j] : -INFINITY;
    return s->hbuf;
}

/* grad = ∇V(X) = 2 Σ_k w_k (X - ȳ_k(X)); the operators hold X. */
static ms_status gradient(bary_state *s, const ms_ctx *ctx) {
    const size_t n = s->n * s->d;
    for (size_t i = 0; i < n; i++)
        s->grad[i] = 2 * s->x[i];
    for (size_t k = 0; k < s->K; k++) {
        ms_status st =
            ms_softmin_rows_moments(s->op[k], marginal_h(s, k), s->lam, NULL, NULL, s->bary, ctx);
        if (st != MS_OK)
            return st;
        for (size_t i = 0; i < n; i++)
            s->grad[i] -= 2 * s->w[k] * s->bary[i];
    }
    return MS_OK;
}

static void move_points(bary_state *s) {
    for (size_t k = 0; k < s->K; k++)
        ms_softmin_set_x(s->op[k], s->x);
}

ms_status ot_bary__mc_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    const bary_params *p = s->p;
    const size_t S = s->n, d = s->d;
    const double lam = s->lam, h = p->langevin_step, noise = sqrt(2 * h * s->tau);
    ms_status st = MS_OK;
    s->iter++;
    /* a. Langevin chains under the current potentials. */
    double g2 = 0;
    for (long long l = 0; l < p->langevin_steps; l++) {
        if ((st = gradient(s, ctx)) != MS_OK)
            goto failed;
        g2 = 0;
        for (size_t i = 0; i < S; i++)
            for (size_t a = 0; a < d; a++) {
                double gi = s->grad[i * d + a];
                g2 += gi * gi;
                s->x[i * d + a] += -h * gi + noise * ms_rng_normal(&s->rng[i]);
            }
        move_points(s);
    }
    /* b. φ_k at the samples, then ψ̂_k by Monte Carlo integration. */
    double merr = 0;
    const double logS = log((double)S);
    for (size_t k = 0; k < s->K; k++) {
        double *phik = s->phi + k * S, *ph = s->psihat + s->off[k];
        if ((st = ms_softmin_rows(s->op[k], marginal_h(s, k), lam, phik, phik, ctx)) != MS_OK)
            goto failed;
        for (size_t i = 0; i < S; i++)
            s->hbuf[i] = phik[i] - lam * logS;
        if ((st = ms_softmin_cols(s->op[k], s->hbuf, lam, ph, ph, ctx)) != MS_OK)
            goto failed;
        double e = 0;
        for (size_t j = s->off[k]; j < s->off[k + 1]; j++)
            if (s->b[j] > 0)
                e += fabs(s->b[j] * expm1((s->psi[j] - s->psihat[j]) / lam));
        merr += s->w[k] * e;
    }
    /* c. Damped update. */
    for (size_t j = 0; j < s->mtot; j++)
        s->psi[j] = (1 - s->eta) * s->psi[j] + s->eta * s->psihat[j];
    for (size_t j = 0; j < s->mtot; j++)
        if (!isfinite(s->psi[j])) {
            st = MS_ENUMERIC;
            goto failed;
        }
    for (size_t i = 0; i < S * d; i++)
        if (!isfinite(s->x[i])) {
            st = MS_ENUMERIC;
            goto failed;
        }
    s->marginal_error = merr;
    s->spread = ot_bary__spread(s, S);
    prog->iteration = s->iter;
    ms_progress_set(prog, "marginal_error", merr);
    ms_progress_set(prog, "grad_rms", sqrt(g2 / (double)S));
    ms_progress_set(prog, "spread", s->spread);
    double mean = 0;
    for (size_t i = 0; i < S; i++)
        mean += s->x[i * d] / (double)S;
    ms_progress_set(prog, "mean_0", mean);
    prog->fraction = (double)s->iter / (double)p->max_iter;
    if (p->tol > 0 && merr <= p->tol)
        s->converged = 1;
    if (s->converged || s->iter >= (size_t)p->max_iter) {
        prog->done = 1;
        prog->fraction = 1;
    }
    return MS_OK;
failed:
    if (st == MS_ENUMERIC)
        return ms_fail(err, st, "", "mc_damped_sinkhorn: non-finite values at iteration %zu",
                       s->iter);
    return ms_fail(err, st, "", "mc_damped_sinkhorn: interrupted at iteration %zu", s->iter);
}
