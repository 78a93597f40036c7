/* nets_monitor.c — metrics, history and stopping of the `two_layer` kind
 * (spec §8, §9).
 *
 * What it is for: after each iteration, the divergence checks, the stopping
 * rules (relative change over 20 iterations, gradient norm, MFLD windowed
 * means, end of annealing), and the streamed metrics: cheap ones every
 * `stream_every` iterations, the certificate, entropy and kernel drift
 * every `heavy_every`.
 *
 * What it is not for: the updates themselves (nets_pgd.c, nets_langevin.c).
 */
#include <math.h>
#include <string.h>

#include "nets_run_internal.h"

double nets__particle_mass(const nets_run *S, size_t i) {
    const size_t d = S->d;
    const double *wi = S->method == M_CONIC ? S->v + i * d : S->w + i * d;
    double nw = 0;
    for (size_t k = 0; k < d; k++)
        nw += wi[k] * wi[k];
    nw = sqrt(nw);
    switch (S->method) {
    case M_CONIC:
        return S->a[i] * nw;
    case M_MFLD_BILEVEL:
        return S->a[i];
    default:
        if (S->penalty == P_OUTPUT_L1 && S->method == M_PGD)
            return S->a[i]; /* θ on the sphere */
        return S->tl.act == NETS_RELU ? S->a[i] * nw : S->a[i];
    }
}

static double test_loss(nets_run *S) {
    const double *w = S->method == M_CONIC ? S->v : S->w;
    nets__tl_predict(&S->tl, S->a, w, S->xt, S->n_test, S->ftest, S->pred_ws);
    double s = 0, dl;
    for (size_t j = 0; j < S->n_test; j++)
        s += nets__loss(S->tl.loss, S->ftest[j], S->yt[j], &dl);
    return s / (double)S->n_test;
}

static double displacement(const nets_run *S) {
    double num = 0, den = 0;
    for (size_t i = 0; i < S->m; i++) {
        num += (S->a[i] - S->a0[i]) * (S->a[i] - S->a0[i]);
        den += S->a0[i] * S->a0[i];
    }
    for (size_t k = 0; k < S->m * S->d; k++) {
        num += (S->w[k] - S->w0[k]) * (S->w[k] - S->w0[k]);
        den += S->w0[k] * S->w0[k];
    }
    return den > 0 ? sqrt(num / den) : NAN;
}

static void cheap_metrics(nets_run *S, ms_progress *prog) {
    const size_t m = S->m, d = S->d;
    double mass = 0, mx = 0, bal = 0;
    for (size_t i = 0; i < m; i++) {
        double q = fabs(nets__particle_mass(S, i));
        mass += q;
        mx = q > mx ? q : mx;
    }
    size_t active = 0;
    for (size_t i = 0; i < m; i++)
        active += fabs(nets__particle_mass(S, i)) > 1e-3 * mx;
    ms_progress_set(prog, "loss", S->loss);
    ms_progress_set(prog, "objective", S->obj);
    if (S->n_test) {
        S->test_loss = test_loss(S);
        ms_progress_set(prog, "test_loss", S->test_loss);
    }
    ms_progress_set(prog, "grad_norm", S->grad_norm);
    ms_progress_set(prog, "mass", mass / (double)m);
    ms_progress_set(prog, "n_active", (double)active);
    if ((S->method == M_PGD || S->method == M_MFLD_LIFT) && S->penalty == P_WEIGHT_DECAY &&
        S->tl.act == NETS_RELU) {
        for (size_t i = 0; i < m; i++) {
            double w2 = 0;
            for (size_t k = 0; k < d; k++)
                w2 += S->w[i * d + k] * S->w[i * d + k];
            double b = fabs(S->a[i] * S->a[i] - w2);
            bal = b > bal ? b : bal;
        }
        ms_progress_set(prog, "balance", bal);
    }
    ms_progress_set(prog, "rel_displacement", displacement(S));
    ms_progress_set(prog, "step", S->p->step_decay ? S->eta / sqrt((double)S->it) : S->eta);
    if (S->method == M_MFLD_LIFT || S->method == M_MFLD_BILEVEL)
        ms_progress_set(prog, "temperature", S->tau);
    if (S->method == M_MFLD_BILEVEL) {
        double res = S->bl.inner_residual;
        if (S->tl.loss == NETS_SQUARE && !S->online) {
            /* r_i = r*(θ_i) = −g(θ_i)/λ at the exact solution (spec §4 step 3). */
            res = 0;
            for (size_t i = 0; i < m; i++) {
                double g = 0;
                for (size_t j = 0; j < S->n; j++)
                    g += S->tl.e[j] * S->tl.h[j * m + i];
                double r = fabs(S->a[i] + g / S->lambda);
                res = r > res ? r : res;
            }
        }
        ms_progress_set(prog, "inner_residual", res);
    }
}

static void heavy_metrics(nets_run *S, const ms_ctx *ctx, ms_progress *prog) {
    const int nt = ms_ctx_threads(ctx);
    const size_t m = S->m, d = S->d;
    ms_rng r;
    ms_rng_init(&r, S->seed, ((uint64_t)1 << 62) + S->it);
    if (S->relu_tv) {
        double g = nets__cert_relu(S->x, S->tl.e, S->n, d, S->w, m, (size_t)S->p->cert_directions,
                                   &r, S->cert_ws);
        double den = S->lambda * S->tl.out_scale;
        if (S->method == M_MFLD_BILEVEL) {
            /* Bilevel: particles should sit where |g| is largest; the ratio
             * max_θ|g| / max_i|g(θ_i)| is 1 at a noise-free optimum. */
            double mx = 0;
            for (size_t i = 0; i < m; i++)
                mx = fabs(S->a[i]) > mx ? fabs(S->a[i]) : mx;
            den = S->lambda * mx;
        }
        S->certificate = den > 0 ? g / den : NAN;
        ms_progress_set(prog, "certificate", S->certificate);
    }
    if (S->method == M_MFLD_LIFT || S->method == M_MFLD_BILEVEL) {
        if (S->method == M_MFLD_LIFT) {
            double *pts = S->ent_ws + m;
            for (size_t i = 0; i < m; i++) {
                pts[i * (d + 1)] = S->a[i];
                memcpy(pts + i * (d + 1) + 1, S->w + i * d, d * sizeof(double));
            }
            S->entropy = nets__entropy_kl(pts, m, d + 1, d + 1, 0, S->ent_ws, nt);
        } else {
            S->entropy = nets__entropy_kl(S->w, m, d, d - 1, 1, S->ent_ws, nt);
        }
        ms_progress_set(prog, "entropy", S->entropy);
        ms_progress_set(prog, "free_energy", S->obj + S->tau * S->entropy);
    }
    if (S->K0) {
        const double *w = S->method == M_CONIC ? S->v : S->w;
        nets__tangent_kernel(&S->tl, S->a, w, S->probe, S->n_probe, S->Kt, S->kern_ws);
        double num = 0, den = 0;
        for (size_t k = 0; k < S->n_probe * S->n_probe; k++) {
            num += (S->Kt[k] - S->K0[k]) * (S->Kt[k] - S->K0[k]);
            den += S->K0[k] * S->K0[k];
        }
        ms_progress_set(prog, "kernel_drift", den > 0 ? sqrt(num / den) : NAN);
    }
}

static int stalled(nets_run *S) {
    const double tol = S->p->tol;
    if (S->method == M_MFLD_LIFT || S->method == M_MFLD_BILEVEL) {
        if (S->an.kind == NETS_ANNEAL_GEOMETRIC)
            return S->an.finished;
        /* Windowed means of NETS_WINDOW iterations stop moving. */
        S->win_sum += S->obj;
        if (++S->win_n < NETS_WINDOW)
            return 0;
        double mean = S->win_sum / NETS_WINDOW, prev = S->win_prev;
        S->win_sum = 0;
        S->win_n = 0;
        S->win_prev = mean;
        return S->an.kind == NETS_ANNEAL_NONE && !isnan(prev) && tol > 0 &&
               fabs(mean - prev) <= tol * fmax(1.0, fabs(mean));
    }
    if (S->online)
        return 0;
    S->ring[S->it % 21] = S->obj;
    if (S->it < 20 || !(tol > 0))
        return 0;
    double old = S->ring[(S->it - 20) % 21];
    return fabs(S->obj - old) <= tol * fmax(1.0, fabs(S->obj));
}

ms_status nets__monitor(nets_run *S, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    const nets_2l_params *p = S->p;
    if (!isfinite(S->obj))
        return ms_fail(err, MS_ENUMERIC, "", "non-finite objective at iteration %zu", S->it);
    if (S->obj > 1e6 * fmax(S->obj0, 1e-6))
        return ms_fail(err, MS_ENUMERIC, "step",
                       "diverged at iteration %zu: objective %.6g > 1e6 x initial %.6g", S->it,
                       S->obj, S->obj0);
    if (stalled(S) || (p->tol_grad > 0 && S->grad_norm <= p->tol_grad))
        S->converged = 1;
    prog->iteration = S->it;
    prog->fraction = (double)S->it / (double)p->max_iter;
    prog->done = S->converged || S->it >= (size_t)p->max_iter;
    if (S->it % (size_t)p->stream_every == 0 || prog->done) {
        cheap_metrics(S, prog);
        if (S->hist_n < S->hist_cap) {
            size_t k = S->hist_n++;
            S->h_it[k] = (double)S->it;
            S->h_loss[k] = S->loss;
            S->h_obj[k] = S->obj;
            S->h_test[k] = S->n_test ? S->test_loss : NAN;
            S->h_tau[k] = S->tau;
        }
    }
    if (S->it % (size_t)p->heavy_every == 0 || prog->done)
        heavy_metrics(S, ctx, prog);
    return MS_OK;
}
