/* nets_langevin.c — noisy particle steps of the `two_layer` kind: mean-field
 * Langevin dynamics [C22, WMC24] (spec §4).
 *
 * What it is for:
 *  - lifting: ν on R×R^d, noisy GD with weight decay on (a, w); the step on
 *    a is κη (the "choice of metric"), its noise sqrt(2κητ) so that κ only
 *    preconditions and leaves the Gibbs law unchanged;
 *  - bilevel: ν on the sphere S^{d−1}, the output weights solved exactly at
 *    every step (nets_bilevel.c), drift v_i = −r_i ∇g(θ_i), tangent noise,
 *    renormalisation.
 * Noise is drawn from one stream per (iteration, particle), so results do
 * not depend on the thread count. The temperature follows the annealing
 * schedule (nets_mfld.c).
 *
 * What it is not for: noise-free PGD (nets_pgd.c).
 */
#include <math.h>
#include <string.h>

#include "nets_run_internal.h"

/* Particle coordinates from which the update loops (a Gaussian draw, ~10 ns,
 * per coordinate) pay for a parallel region. */
enum { PAR_COORDS = 8192 };

ms_status nets__step_mfld_lift(nets_run *S, const ms_ctx *ctx, ms_err *err) {
    const int nt = ms_ctx_threads(ctx);
    const size_t m = S->m, d = S->d;
    ms_status st = nets__online_batch(S, ctx, err);
    if (st != MS_OK)
        return st;
    S->tau = nets__anneal_next(&S->an, S->it);
    nets__tl_backward(&S->tl, S->a, S->w, S->ga, S->gw, nt);
    const double h = S->p->step_decay ? S->eta / sqrt((double)S->it + 1.0) : S->eta;
    const double kap = S->p->kappa, lam = S->lambda;
    const double sw = sqrt(2.0 * h * S->tau), sa = sqrt(2.0 * kap * h * S->tau);
    double gn = 0;
#pragma omp parallel for num_threads(nt) if (nt > 1 && m * d >= PAR_COORDS) schedule(static) reduction(+ : gn)
    for (size_t i = 0; i < m; i++) {
        ms_rng r;
        ms_rng_init(&r, S->seed, nets__noise_stream(S->it, i));
        double *wi = S->w + i * d;
        const double *gi = S->gw + i * d;
        double ga = S->ga[i] + lam * S->a[i];
        double g2 = ga * ga;
        S->a[i] -= kap * h * ga;
        if (sa > 0)
            S->a[i] += sa * ms_rng_normal(&r);
        for (size_t k = 0; k < d; k++) {
            double g = gi[k] + lam * wi[k];
            g2 += g * g;
            wi[k] -= h * g;
            if (sw > 0)
                wi[k] += sw * ms_rng_normal(&r);
        }
        gn += g2;
    }
    /* The reduction order of gn may depend on the thread count; it is a
     * streamed metric only, never fed back into the dynamics. */
    S->grad_norm = sqrt(gn / (double)m);
    if (S->online)
        return MS_OK;
    return nets__refresh(S, ctx, err);
}

ms_status nets__step_mfld_bilevel(nets_run *S, const ms_ctx *ctx, ms_err *err) {
    const int nt = ms_ctx_threads(ctx);
    const size_t m = S->m, d = S->d;
    ms_status st = nets__online_batch(S, ctx, err);
    if (st != MS_OK)
        return st;
    S->tau = nets__anneal_next(&S->an, S->it);
    /* With the inner problem solved, ga_i = g(θ_i) and gw_i = r_i ∇g(θ_i). */
    nets__tl_backward(&S->tl, S->a, S->w, S->ga, S->gw, nt);
    const double h = S->p->step_decay ? S->eta / sqrt((double)S->it + 1.0) : S->eta;
    const double sn = sqrt(2.0 * h * S->tau);
    double gn = 0;
#pragma omp parallel for num_threads(nt) if (nt > 1 && m * d >= PAR_COORDS) schedule(static) reduction(+ : gn)
    for (size_t i = 0; i < m; i++) {
        ms_rng r;
        ms_rng_init(&r, S->seed, nets__noise_stream(S->it, i));
        double *th = S->w + i * d, *v = S->gw + i * d;
        /* Drift −r_i ∇g(θ_i) (spec §4 step 4), on the tangent space. */
        for (size_t k = 0; k < d; k++)
            v[k] = -h * v[k];
        nets__tangent(th, v, d);
        double g2 = 0;
        for (size_t k = 0; k < d; k++)
            g2 += v[k] * v[k];
        gn += g2 / (h * h);
        /* Noise sqrt(2ητ)·P_θ ξ: ξ is added as drawn and its normal
         * component (dot·θ) removed below. */
        double dot = 0;
        if (sn > 0) {
            double s = 0;
            for (size_t k = 0; k < d; k++) {
                double xk = ms_rng_normal(&r);
                v[k] += sn * xk;
                s += th[k] * xk;
            }
            dot = sn * s;
        }
        for (size_t k = 0; k < d; k++)
            th[k] += v[k] - dot * th[k];
        nets__normalize(th, d);
    }
    S->grad_norm = sqrt(gn / (double)m);
    if (S->online)
        return MS_OK;
    return nets__refresh(S, ctx, err);
}
