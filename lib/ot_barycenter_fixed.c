/* ot_barycenter_fixed.c — the (λ,τ) barycenter on a fixed support or grid.
 *
 * Algorithm A (Chizat & Vaškevičius, "Computational Guarantees for Doubly
 * Entropic Wasserstein Barycenters via Damped Sinkhorn Iterations", NeurIPS
 * 2023; spec §3), log domain, potentials ψ_k on the points of ν_k:
 *   1 exact max:  φ_k = -λ LSE_j(log b_kj + (ψ_kj - C^k_ij)/λ)
 *   2 exact min:  V = Σ_k w_k φ_k,  log μ = log ρ - V/τ - L,  L = LSE(log ρ - V/τ)
 *   3 dual:       E = Σ_k w_k <b_k, ψ_k> - τ L      (E <= F(μ') for every μ')
 *   4 Sinkhorn:   ψ̂_k = -λ LSE_i(log μ_i + (φ_ki - C^k_ij)/λ),
 *                 ν^k = b_k exp((ψ_k - ψ̂_k)/λ)    (ν-marginal of plan k)
 *   5 damping:    ψ_k ← (1-η) ψ_k + η ψ̂_k,  η = min(1, τ/λ) by default.
 * The soft-mins run on ms_softmin (point clouds, on the fly) or ot_grid
 * (separable sums on a grid). λτ-scaling: stages (λ_s, τ_s) = (λ, τ)·λ_s/λ,
 * λ_s = max(λ, λ_0 q^s) from λ_0 = the largest cost, warm-starting ψ.
 * Every gap_every iterations the primal F(μ) = Σ w_k EOT_λ(μ, ν_k) + τ H_ρ(μ)
 * comes from K inner Sinkhorn solves warm-started at (φ_k, ψ_k), and the
 * duality gap F(μ) - E >= 0.
 *
 * τ = 0 (spec §5, last paragraph): Algorithm A stalls (η = 0), so the
 * support weights follow entropic mirror descent on F,
 *   log μ ← log μ - s·V(μ) - const,  V = Σ_k w_k φ_k(μ) from inner solves,
 * with a step s that halves whenever F would increase (and grows by 1.25
 * after an accepted step). Its dual bound is E = Σ w_k <b_k, ψ_k> + min_i V_i;
 * it stops when the L1 change of μ falls below tol.
 */
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_vmath.h"
#include "ot_barycenter_internal.h"

/* ---- operators: to the support (K×n out) and to the marginals (mtot) ---- */

/* out_k = -λ LSE_j (H_kj - C^k_ij)/λ over the support; H is mtot long. */
static ms_status to_support(bary_state *s, const double *H, double *out, const ms_ctx *ctx) {
    if (s->grid)
        return ot_grid_softmin(s->grid, H, s->K, s->lam, out, ctx);
    for (size_t k = 0; k < s->K; k++) {
        double *o = out + k * s->n;
        ms_status st = ms_softmin_rows(s->op[k], H + s->off[k], s->lam, o, o, ctx);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

/* out_kj = -λ LSE_i (G_ki - C^k_ij)/λ over the points of ν_k; G is K×n. */
static ms_status to_marginals(bary_state *s, const double *G, double *out, const ms_ctx *ctx) {
    if (s->grid)
        return ot_grid_softmin(s->grid, G, s->K, s->lam, out, ctx);
    for (size_t k = 0; k < s->K; k++) {
        double *o = out + s->off[k];
        ms_status st = ms_softmin_cols(s->op[k], G + k * s->n, s->lam, o, o, ctx);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

/* hbuf = pot + λ log b (mtot). */
static void marginal_input(bary_state *s, const double *pot) {
    for (size_t j = 0; j < s->mtot; j++)
        s->hbuf[j] = s->b[j] > 0 ? pot[j] + s->lam * s->logb[j] : -INFINITY;
}

/* hbuf = φ_k + λ log μ (K×n). */
static void support_input(bary_state *s, const double *phi) {
    for (size_t k = 0; k < s->K; k++)
        for (size_t i = 0; i < s->n; i++)
            s->hbuf[k * s->n + i] = phi[k * s->n + i] + s->lam * s->logmu[i];
}

/* Σ_k w_k Σ_j |b_kj exp((g - ĝ)/λ) - b_kj|. */
static double marginal_error(const bary_state *s, const double *g, const double *ghat) {
    double e = 0;
    for (size_t k = 0; k < s->K; k++) {
        double ek = 0;
        for (size_t j = s->off[k]; j < s->off[k + 1]; j++)
            if (s->b[j] > 0)
                ek += fabs(s->b[j] * expm1((g[j] - ghat[j]) / s->lam));
        e += s->w[k] * ek;
    }
    return e;
}

static int finite_all(const double *v, size_t n) {
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += v[i] * 0.0;
    return acc == 0.0;
}

/* Entropy Σ μ log(μ/ρ) of the current μ. */
static double entropy(const bary_state *s) {
    double h = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->mu[i] > 0)
            h += s->mu[i] * (s->logmu[i] - s->logrho[i]);
    return h;
}

/* log μ from t = log ρ - V/τ (or any unnormalised log weights in logmu):
 * normalise, set μ; returns the normaliser L. */
static double normalise_logmu(bary_state *s) {
    double L = ms_lse(s->logmu, s->n);
    for (size_t i = 0; i < s->n; i++) {
        s->logmu[i] -= L;
        s->mu[i] = exp(s->logmu[i]);
    }
    return L;
}

/* ---- the primal objective F(μ) by K inner Sinkhorn solves ---- */

/* Warm start g = ψ (gin holds it on entry). On return fin = T_f(gin),
 * ghat = T_g(fin), *val = Σ_k w_k EOT_λ(μ, ν_k) of the plan (fin, gin), whose
 * rows sum to μ exactly; *ierr its column error. */
static ms_status inner_solve(bary_state *s, const ms_ctx *ctx, double *val, double *ierr) {
    const bary_params *p = s->p;
    ms_status st;
    for (long long it = 0;; it++) {
        marginal_input(s, s->gin);
        if ((st = to_support(s, s->hbuf, s->fin, ctx)) != MS_OK)
            return st;
        support_input(s, s->fin);
        if ((st = to_marginals(s, s->hbuf, s->ghat, ctx)) != MS_OK)
            return st;
        *ierr = marginal_error(s, s->gin, s->ghat);
        if (!(*ierr > p->inner_tol) || it + 1 >= p->inner_max_iter)
            break;
        memcpy(s->gin, s->ghat, s->mtot * sizeof(double));
    }
    /* EOT = <μ, f> + <πᵀ1, g> (the plan's value, spec §1). */
    double F = 0;
    for (size_t k = 0; k < s->K; k++) {
        double v = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->mu[i] > 0)
                v += s->mu[i] * s->fin[k * s->n + i];
        for (size_t j = s->off[k]; j < s->off[k + 1]; j++)
            if (s->b[j] > 0)
                v += s->b[j] * exp((s->gin[j] - s->ghat[j]) / s->lam) * s->gin[j];
        F += s->w[k] * v;
    }
    *val = F;
    return finite_all(s->fin, s->K * s->n) ? MS_OK : MS_ENUMERIC;
}

static ms_status objective(bary_state *s, const ms_ctx *ctx) {
    double val, ierr;
    memcpy(s->gin, s->psi, s->mtot * sizeof(double));
    ms_status st = inner_solve(s, ctx, &val, &ierr);
    if (st != MS_OK)
        return st;
    s->objective = val + s->tau * entropy(s);
    s->gap = s->objective - s->dual;
    s->inner_error = ierr;
    return MS_OK;
}

/* ---- set-up ---- */

ms_status ot_bary__fixed_init(bary_state *s, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    const bary_params *p = s->p;
    const size_t K = s->K, n = s->n, mtot = s->mtot;
    const size_t kn = K * n, hb = kn > mtot ? kn : mtot;
    s->logrho = ms_malloc(n, sizeof(double));
    s->psi = ms_calloc(mtot, sizeof(double));
    s->psihat = ms_calloc(mtot, sizeof(double));
    s->gin = ms_calloc(mtot, sizeof(double));
    s->ghat = ms_calloc(mtot, sizeof(double));
    s->phi = ms_calloc(kn, sizeof(double));
    s->fin = ms_calloc(kn, sizeof(double));
    s->hbuf = ms_calloc(hb, sizeof(double));
    s->V = ms_calloc(n, sizeof(double));
    s->logmu = ms_calloc(n, sizeof(double));
    s->mu = ms_calloc(n, sizeof(double));
    s->mu_prev = ms_calloc(n, sizeof(double));
    if (!s->logrho || !s->psi || !s->psihat || !s->gin || !s->ghat || !s->phi || !s->fin ||
        !s->hbuf || !s->V || !s->logmu || !s->mu || !s->mu_prev)
        return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate potentials");
    for (size_t i = 0; i < n; i++)
        s->logrho[i] = p->reference.v ? log(p->reference.v[i]) : 0;
    if (!s->grid) {
        s->op = ms_calloc(K, sizeof *s->op);
        if (!s->op)
            return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate operators");
        for (size_t k = 0; k < K; k++) {
            const ms_measure *m = &p->measures.m[k];
            if (!m->points) {
                if (!s->shared && !(s->shared = ms_softmin_points(s->x, n, s->x, n, s->d, err)))
                    return err ? err->code : MS_ENOMEM;
                s->op[k] = s->shared;
            } else if (!(s->op[k] = ms_softmin_points(s->x, n, m->points, m->n, s->d, err))) {
                return err ? err->code : MS_ENOMEM;
            }
        }
    }
    /* μ_0 ∝ ρ. */
    memcpy(s->logmu, s->logrho, n * sizeof(double));
    normalise_logmu(s);
    memcpy(s->mu_prev, s->mu, n * sizeof(double));
    s->mirror = s->tau == 0;
    s->step_md = 1.0 / p->lambda;
    s->F_md = NAN;
    /* λτ-scaling from the largest cost. */
    double cmax = 0;
    if (s->grid)
        cmax = ot_grid_cost_bound(s->grid);
    else
        for (size_t k = 0; k < K; k++)
            cmax = fmax(cmax, ms_softmin_cost_bound(s->op[k]));
    s->nstages = 0;
    s->lam0 = p->lambda;
    if (p->lambda_scaling && !s->mirror && cmax > p->lambda) {
        s->lam0 = cmax;
        s->nstages = (int)ceil(log(p->lambda / cmax) / log(p->scaling_factor));
    }
    return MS_OK;
}

/* ---- Algorithm A ---- */

static void set_stage(bary_state *s) {
    const bary_params *p = s->p;
    double tau = isnan(p->tau) ? p->lambda / 2 : p->tau;
    double l = s->stage < s->nstages ? s->lam0 * pow(p->scaling_factor, s->stage) : p->lambda;
    s->lam = fmax(l, p->lambda);
    s->tau = tau * s->lam / p->lambda;
}

static ms_status damped_iteration(bary_state *s, const ms_ctx *ctx) {
    const size_t K = s->K, n = s->n;
    const double lam = s->lam, tau = s->tau, eta = s->eta;
    ms_status st;
    /* 1. φ_k = T_f(ψ_k). */
    marginal_input(s, s->psi);
    if ((st = to_support(s, s->hbuf, s->phi, ctx)) != MS_OK)
        return st;
    /* 2. μ ∝ ρ exp(-V/τ). */
    memcpy(s->mu_prev, s->mu, n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        for (size_t k = 0; k < K; k++)
            v += s->w[k] * s->phi[k * n + i];
        s->V[i] = v;
        s->logmu[i] = s->logrho[i] - v / tau;
    }
    double L = normalise_logmu(s);
    /* 3. The dual objective at ψ. */
    double E = 0;
    for (size_t k = 0; k < K; k++) {
        double e = 0;
        for (size_t j = s->off[k]; j < s->off[k + 1]; j++)
            if (s->b[j] > 0)
                e += s->b[j] * s->psi[j];
        E += s->w[k] * e;
    }
    s->dual = E - tau * L;
    /* 4. ψ̂_k = T_g(φ_k) and the marginal error of the plans (φ_k, ψ_k). */
    support_input(s, s->phi);
    if ((st = to_marginals(s, s->hbuf, s->psihat, ctx)) != MS_OK)
        return st;
    s->marginal_error = marginal_error(s, s->psi, s->psihat);
    /* 5. Damped update. */
    for (size_t j = 0; j < s->mtot; j++)
        s->psi[j] = (1 - eta) * s->psi[j] + eta * s->psihat[j];
    double dm = 0;
    for (size_t i = 0; i < n; i++)
        dm += fabs(s->mu[i] - s->mu_prev[i]);
    s->mu_change = dm;
    s->entropy = entropy(s);
    (void)lam;
    if (!finite_all(s->psi, s->mtot) || !finite_all(s->logmu, n) || !isfinite(s->dual))
        return MS_ENUMERIC;
    return MS_OK;
}

/* ---- τ = 0: entropic mirror descent with inner solves ---- */

static ms_status mirror_eval(bary_state *s, const ms_ctx *ctx, double *F) {
    double val, ierr;
    ms_status st = inner_solve(s, ctx, &val, &ierr);
    s->inner_error = ierr;
    *F = val;
    return st;
}

static ms_status mirror_iteration(bary_state *s, const ms_ctx *ctx) {
    const size_t K = s->K, n = s->n;
    ms_status st;
    if (isnan(s->F_md)) {
        memcpy(s->gin, s->psi, s->mtot * sizeof(double));
        if ((st = mirror_eval(s, ctx, &s->F_md)) != MS_OK)
            return st;
    }
    /* V and the dual bound at the accepted iterate (fin = T_f(gin)). */
    double E = 0, vmin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        for (size_t k = 0; k < K; k++)
            v += s->w[k] * s->fin[k * n + i];
        s->V[i] = v;
        vmin = v < vmin ? v : vmin;
    }
    for (size_t k = 0; k < K; k++) {
        double e = 0;
        for (size_t j = s->off[k]; j < s->off[k + 1]; j++)
            if (s->b[j] > 0)
                e += s->b[j] * s->gin[j];
        E += s->w[k] * e;
    }
    s->dual = E + vmin;
    s->objective = s->F_md;
    s->gap = s->objective - s->dual;
    memcpy(s->psi, s->gin, s->mtot * sizeof(double));
    /* Trial step; a step that raises F is undone and halved. */
    memcpy(s->mu_prev, s->logmu, n * sizeof(double));
    for (int tries = 0; tries < 60; tries++) {
        for (size_t i = 0; i < n; i++)
            s->logmu[i] = s->mu_prev[i] - s->step_md * (s->V[i] - vmin);
        normalise_logmu(s);
        double F;
        memcpy(s->gin, s->psi, s->mtot * sizeof(double));
        if ((st = mirror_eval(s, ctx, &F)) != MS_OK)
            return st;
        if (F <= s->F_md) {
            s->F_md = F;
            s->step_md *= 1.25;
            break;
        }
        s->step_md *= 0.5;
        if (tries == 59) {
            /* No decrease at any step: μ is optimal to round-off. */
            s->step_md = 0;
            memcpy(s->logmu, s->mu_prev, n * sizeof(double));
            normalise_logmu(s);
            memcpy(s->gin, s->psi, s->mtot * sizeof(double));
            if ((st = mirror_eval(s, ctx, &s->F_md)) != MS_OK)
                return st;
        }
    }
    double dm = 0;
    for (size_t i = 0; i < n; i++)
        dm += fabs(s->mu[i] - exp(s->mu_prev[i]));
    s->mu_change = dm;
    s->entropy = entropy(s);
    s->marginal_error = s->inner_error;
    if (!finite_all(s->logmu, n) || !isfinite(s->F_md))
        return MS_ENUMERIC;
    return MS_OK;
}

/* ---- one step of the kind ---- */

static void report(bary_state *s, ms_progress *prog) {
    const bary_params *p = s->p;
    prog->iteration = s->iter;
    ms_progress_set(prog, "marginal_error", s->marginal_error);
    ms_progress_set(prog, "dual_objective", s->dual);
    ms_progress_set(prog, "mu_change", s->mu_change);
    ms_progress_set(prog, "entropy", s->entropy);
    ms_progress_set(prog, "lambda", s->lam);
    if (!isnan(s->objective)) {
        ms_progress_set(prog, "objective", s->objective);
        ms_progress_set(prog, "duality_gap", s->gap);
    }
    if (s->mirror)
        ms_progress_set(prog, "step", s->step_md);
    double by_iter = (double)s->iter / (double)p->max_iter, by_err = 0;
    double e = s->mirror ? s->gap : s->marginal_error;
    if (s->stage >= s->nstages && p->tol > 0 && e > 0 && isfinite(e))
        by_err = fmin(1, fmax(0, log(2.0 / e) / log(2.0 / p->tol)));
    double stages = (s->stage + by_err) / (s->nstages + 1.0);
    prog->fraction = fmin(1, fmax(by_iter, stages));
}

ms_status ot_bary__fixed_step(bary_state *s, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    const bary_params *p = s->p;
    ms_status st;
    if (s->mirror) {
        s->iter++;
        st = mirror_iteration(s, ctx);
        if (st != MS_OK)
            goto failed;
        /* The dual bound min_i V_i is loose where μ is tiny (V equalises
         * only on the support of μ*), so the stopping rule is the change of
         * μ, or a step that no longer decreases F at any size. */
        if (p->tol > 0 && (s->mu_change <= p->tol || s->step_md < 1e-300))
            s->converged = 1;
        if (s->converged || s->iter >= (size_t)p->max_iter) {
            /* The reported objective is that of the returned μ. */
            s->objective = s->F_md;
            s->gap = s->objective - s->dual;
            prog->done = 1;
        }
        report(s, prog);
        return MS_OK;
    }
    set_stage(s);
    s->iter++;
    s->stage_iter++;
    if ((st = damped_iteration(s, ctx)) != MS_OK)
        goto failed;
    const int last = s->stage >= s->nstages;
    if (!last) {
        if (s->marginal_error <= p->scaling_tol || s->stage_iter >= p->scaling_iter) {
            s->stage++;
            s->stage_iter = 0;
        }
    } else if (p->tol > 0 && s->marginal_error <= p->tol) {
        s->converged = 1;
    }
    int done = s->converged || s->iter >= (size_t)p->max_iter;
    if (last && (done || s->stage_iter % p->gap_every == 0)) {
        if ((st = objective(s, ctx)) != MS_OK)
            goto failed;
    }
    if (done)
        prog->done = 1;
    report(s, prog);
    return MS_OK;
failed:
    if (st == MS_ENUMERIC)
        return ms_fail(err, st, "", "barycenter: non-finite potentials at iteration %zu", s->iter);
    return ms_fail(err, st, "", "barycenter: interrupted at iteration %zu", s->iter);
}
