/* nets_pgd.c — deterministic particle steps of the `two_layer` kind:
 * particle gradient descent [CB18] (spec §2) and the conic network variant
 * "2NNalt" of [C19] (spec §3).
 *
 * What it is for: one iteration u_i ← u_i − η ∇F'(u_i) with the mean-field
 * step rule (η does not depend on m), the penalty either weight decay
 * (λ/2)|u|² (2-homogeneous lift) or λ|a| handled by a proximal
 * (forward–backward) step with w on the unit sphere (partially
 * 1-homogeneous lift); "safe" mode halves η when the objective rises and
 * retries. The conic variant moves w_i along the radial/tangential split
 * of its gradient with ratio β/α.
 *
 * What it is not for: noisy dynamics (nets_langevin.c), metrics
 * (nets_monitor.c).
 */
#include <math.h>
#include <string.h>

#include "nets_run_internal.h"

void nets__conic_v(const double *w, double *v, size_t md) {
    for (size_t k = 0; k < md; k++)
        v[k] = w[k] * fabs(w[k]);
}

double nets__objective(const nets_run *S, double loss) {
    const size_t m = S->m, d = S->d;
    const double s = S->tl.out_scale;
    double pen = 0;
    switch (S->method) {
    case M_PGD:
    case M_MFLD_LIFT:
        if (S->penalty == P_OUTPUT_L1 && S->method == M_PGD) {
            for (size_t i = 0; i < m; i++)
                pen += fabs(S->a[i]);
            pen *= S->lambda;
        } else {
            for (size_t i = 0; i < m; i++)
                pen += S->a[i] * S->a[i];
            for (size_t k = 0; k < m * d; k++)
                pen += S->w[k] * S->w[k];
            pen *= 0.5 * S->lambda;
        }
        break;
    case M_CONIC: /* (λ/m) Σ |w_i|² = λ·ℓ1 of v, spec §3 */
        for (size_t k = 0; k < m * d; k++)
            pen += S->w[k] * S->w[k];
        pen *= S->lambda;
        break;
    case M_MFLD_BILEVEL: /* (λ/2) ∫ r² dν */
        for (size_t i = 0; i < m; i++)
            pen += S->a[i] * S->a[i];
        pen *= 0.5 * S->lambda;
        break;
    }
    return loss / (s * s) + pen / (double)m;
}

ms_status nets__refresh(nets_run *S, const ms_ctx *ctx, ms_err *err) {
    const int nt = ms_ctx_threads(ctx);
    ms_status st = MS_OK;
    if (S->method == M_CONIC) {
        nets__conic_v(S->w, S->v, S->m * S->d);
        S->loss = nets__tl_forward(&S->tl, S->a, S->v, nt);
    } else {
        S->loss = nets__tl_forward(&S->tl, S->a, S->w, nt);
        if (S->method == M_MFLD_BILEVEL)
            st = nets__bilevel_solve(&S->bl, &S->tl, S->a, &S->loss, err, nt);
    }
    S->obj = nets__objective(S, S->loss);
    S->fresh = 1;
    return st;
}

/* Step size at the current iteration. */
static double step_size(const nets_run *S) {
    return S->p->step_decay ? S->eta / sqrt((double)S->it + 1.0) : S->eta;
}

/* One trial update from the saved particles with step h. */
static void pgd_update(nets_run *S, double h) {
    const size_t m = S->m, d = S->d;
    if (S->penalty == P_OUTPUT_L1) {
        /* Forward–backward, spec §2: θ moves with the old a, then
         * a ← S_{hλ}(a − h g); θ stays on the sphere for ReLU. */
        const double thr = h * S->lambda;
        for (size_t i = 0; i < m; i++) {
            double z = S->a_prev[i] - h * S->ga[i];
            S->a[i] = z > thr ? z - thr : z < -thr ? z + thr : 0.0;
            double *wi = S->w + i * d;
            const double *gi = S->gw + i * d, *wp = S->w_prev + i * d;
            for (size_t k = 0; k < d; k++)
                wi[k] = wp[k] - h * gi[k];
            if (S->tl.act == NETS_RELU)
                nets__normalize(wi, d);
        }
    } else {
        for (size_t i = 0; i < m; i++)
            S->a[i] = S->a_prev[i] - h * S->ga[i];
        for (size_t k = 0; k < m * d; k++)
            S->w[k] = S->w_prev[k] - h * S->gw[k];
    }
}

static double grad_norm(const double *ga, const double *gw, size_t m, size_t d) {
    double s = 0;
    for (size_t i = 0; i < m; i++)
        s += ga ? ga[i] * ga[i] : 0;
    for (size_t k = 0; k < m * d; k++)
        s += gw[k] * gw[k];
    return sqrt(s / (double)m);
}

ms_status nets__online_batch(nets_run *S, const ms_ctx *ctx, ms_err *err) {
    if (!S->online)
        return MS_OK;
    nets__task_sample(&S->task, &S->data_rng, S->n, S->x, S->y);
    return nets__refresh(S, ctx, err);
}

ms_status nets__step_pgd(nets_run *S, const ms_ctx *ctx, ms_err *err) {
    const int nt = ms_ctx_threads(ctx);
    const size_t m = S->m, d = S->d;
    ms_status st = nets__online_batch(S, ctx, err);
    if (st != MS_OK)
        return st;
    nets__tl_backward(&S->tl, S->a, S->w, S->ga, S->gw, nt);
    if (S->penalty == P_WEIGHT_DECAY) {
        for (size_t i = 0; i < m; i++)
            S->ga[i] += S->lambda * S->a[i];
        for (size_t k = 0; k < m * d; k++)
            S->gw[k] += S->lambda * S->w[k];
    } else if (S->tl.act == NETS_RELU) {
        /* θ lives on the sphere: only the tangential gradient moves it. */
        for (size_t i = 0; i < m; i++)
            nets__tangent(S->w + i * d, S->gw + i * d, d);
    }
    memcpy(S->a_prev, S->a, m * sizeof(double));
    memcpy(S->w_prev, S->w, m * d * sizeof(double));
    double h = step_size(S), prev = S->obj;
    S->grad_norm = grad_norm(S->ga, S->gw, m, d);
    if (S->penalty == P_OUTPUT_L1) {
        /* Norm of the proximal-gradient mapping (u − u⁺)/h. */
        pgd_update(S, h);
        double s = 0;
        for (size_t i = 0; i < m; i++)
            s += (S->a[i] - S->a_prev[i]) * (S->a[i] - S->a_prev[i]);
        for (size_t k = 0; k < m * d; k++)
            s += (S->w[k] - S->w_prev[k]) * (S->w[k] - S->w_prev[k]);
        S->grad_norm = sqrt(s / (double)m) / h;
    }
    for (int tries = 0;; tries++) {
        pgd_update(S, h);
        if (S->online)
            return MS_OK; /* the next step's batch gives the next forward */
        if ((st = nets__refresh(S, ctx, err)) != MS_OK)
            return st;
        /* Safe mode (spec §2): halve η when the objective rises by more
         * than 1e-12 relative, and retry from the saved particles. */
        if (!S->p->safe || !(S->obj > prev + 1e-12 * fabs(prev)) || tries >= 60)
            break;
        h *= 0.5;
        S->eta *= 0.5;
    }
    return MS_OK;
}

ms_status nets__step_conic(nets_run *S, const ms_ctx *ctx, ms_err *err) {
    const int nt = ms_ctx_threads(ctx);
    const size_t m = S->m, d = S->d;
    ms_status st = nets__online_batch(S, ctx, err);
    if (st != MS_OK)
        return st;
    /* Gradient with respect to v = w⊙|w|, then the chain rule ⊙ 2|w| and the
     * penalty's 2λw (mean-field scaling), spec §3. */
    nets__tl_backward(&S->tl, S->a, S->v, S->ga, S->gw, nt);
    const double h = step_size(S), ratio = S->p->conic_ratio;
    double gn = 0;
    for (size_t i = 0; i < m; i++) {
        double *wi = S->w + i * d, *gi = S->gw + i * d;
        double gw = 0, ww = 0;
        for (size_t k = 0; k < d; k++) {
            gi[k] = gi[k] * 2.0 * fabs(wi[k]) + 2.0 * S->lambda * wi[k];
            gw += gi[k] * wi[k];
            ww += wi[k] * wi[k];
            gn += gi[k] * gi[k];
        }
        double c = ww > 0 ? gw / ww : 0;
        /* w ← w − η (P + (β/α)(G − P)), P the radial part of G. */
        for (size_t k = 0; k < d; k++) {
            double pk = c * wi[k];
            wi[k] -= h * (pk + ratio * (gi[k] - pk));
        }
    }
    S->grad_norm = sqrt(gn / (double)m);
    if (S->online)
        return MS_OK;
    return nets__refresh(S, ctx, err);
}
