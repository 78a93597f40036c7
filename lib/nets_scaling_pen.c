/* nets_scaling_pen.c — method (B) of the scaling path (mean-field.md §6):
 * for one init scale α and one penalty weight ρ, the particles minimising
 *   J(u) = (1/m) Σ_i |u_i − α ū_i|² + L(f_u)/ρ,
 * L the square training loss (1/n) Σ_j ½(f(x_j) − y_j)², by L-BFGS. The
 * identity coupling u_i ↔ α ū_i makes the first term an upper bound of
 * W_2²(μ_u, μ_0^α); as ρ → 0 the minimiser tends to the interpolant closest
 * to μ_0^α in that sense ([NCU23] scaling path, by particles). The kind
 * (nets_scaling.c) runs the continuation ρ_start → ρ_end over calls here.
 *
 * Units: gradients are mean-field ones (spec §0), G_i = m ∇_{u_i} J =
 * 2(u_i − u0_i) + g_i/ρ with g_i = ∇F'(u_i) = m ∇_{u_i} L from the two-layer
 * backward; the gradient norm is sqrt((1/m) Σ_i |G_i|²). A stage is solved
 * when that norm is at most tol × (norm of the penalty part + norm of the
 * loss part): a relative test, since the parts balance at the minimiser
 * and their size runs from O(1/α) (lazy) to O(1) (rich) along the path.
 *
 * Why L-BFGS with Armijo backtracking: the Hessian is 2I plus (1/ρ) times
 * the loss Hessian, whose large part has rank ≤ n (the Gauss–Newton term
 * JᵀJ of the n fitted values). Its curvature grows like 1/ρ in those n
 * directions and stays 2 elsewhere, so a fixed step is wrong and plain
 * gradient descent, even with Armijo steps, needs O(κ) ≈ 1/ρ iterations
 * (10^6 at ρ = 1e-6). L-BFGS with more pairs than n directions learns that
 * low-rank curvature in a few iterations, like CG on the quadratic model.
 * The backtracking (quadratic interpolation, Armijo constant 1e-4) makes
 * every accepted step decrease J, which is all the non-convex, piecewise
 * smooth (ReLU) objective allows one to guarantee; pairs with sᵀy ≤ 0 are
 * skipped so the inverse-Hessian model stays positive definite.
 *
 * Kinks (ReLU): J is not differentiable where w_i·x_j = 0, and minimisers
 * do sit there (a relu(w·x_j) is convex in w when a e_j > 0: the kink is
 * pinned on the data point, the rich regime's hallmark). Seen on T4
 * without the measures below: up to a fifth of the particles within 1e-12
 * of a kink and L-BFGS stalled at a relative gradient 0.1–0.5. So the
 * gradient used (and tested against tol) takes, for each near kink
 * (|w_i·x_j| <= 1e-7 |w_i||x_j|), the coefficient θ ∈ [0, 1] of its term
 * that minimises |G| (the smallest δ-subgradient in that block), and the
 * direction keeps a particle on a kink whose θ is strictly inside.
 *
 * Continuation: the pairs are kept as (s, Δg), the change of the data
 * gradient, so that at a new ρ the pairs are rebuilt exactly,
 * y = 2s + Δg/ρ (the penalty's Hessian is 2I): the quasi-Newton model is
 * warm-started across stages together with the particles.
 *
 * What it is not for: other losses or penalties; output-scale mode.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "nets_internal.h"

#define ARMIJO 1e-4
#define MAX_BACKTRACK 60
/* A pre-activation |w_i·x_j| <= KINK_REL |w_i||x_j| is a kink of particle i. */
#define KINK_REL 1e-7

ms_status nets__pen_alloc(nets_pen *P, size_t n, size_t m, size_t d, size_t pairs) {
    memset(P, 0, sizeof *P);
    const size_t N = m * (1 + d);
    if (pairs == 0 || (N && pairs > ((size_t)-1) / sizeof(double) / N))
        return MS_ENOMEM;
    P->gb = ms_malloc(N, sizeof(double));
    P->e = ms_malloc(n ? n : 1, sizeof(double));
    P->theta = ms_malloc(m * NETS_PEN_KINKS, sizeof(double));
    P->kink = ms_malloc(m * NETS_PEN_KINKS, sizeof(size_t));
    P->g = ms_malloc(N, sizeof(double));
    P->gd = ms_malloc(N, sizeof(double));
    P->gd_old = ms_malloc(N, sizeof(double));
    P->u_old = ms_malloc(N, sizeof(double));
    P->p = ms_malloc(N, sizeof(double));
    P->S = ms_malloc(pairs * N, sizeof(double));
    P->DG = ms_malloc(pairs * N, sizeof(double));
    P->Y = ms_malloc(pairs * N, sizeof(double));
    P->ry = ms_malloc(pairs, sizeof(double));
    P->coef = ms_malloc(pairs, sizeof(double));
    if (!(P->gb && P->e && P->theta && P->kink && P->g && P->gd && P->gd_old && P->u_old && P->p &&
          P->S && P->DG && P->Y && P->ry && P->coef)) {
        nets__pen_free(P);
        return MS_ENOMEM;
    }
    memset(P->kink, 0, m * NETS_PEN_KINKS * sizeof(size_t));
    P->n = n;
    P->m = m;
    P->d = d;
    P->N = N;
    P->pairs = pairs;
    P->inv_rho = 1.0;
    return MS_OK;
}

void nets__pen_free(nets_pen *P) {
    if (!P)
        return;
    double *arr[] = {P->gb, P->e, P->theta, P->g, P->gd, P->gd_old, P->u_old,
                     P->p,  P->S, P->DG,    P->Y, P->ry, P->coef};
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        ms_free(arr[k]);
    ms_free(P->kink);
    memset(P, 0, sizeof *P);
}

double nets__pen_eval(nets_pen *P, nets_tl *t, const double *u, const double *u0, int nt) {
    const size_t m = P->m, N = P->N;
    double pen = 0;
    for (size_t k = 0; k < N; k++)
        pen += (u[k] - u0[k]) * (u[k] - u0[k]);
    P->pen = pen / (double)m;
    P->loss = nets__tl_forward(t, u, u + m, nt);
    P->obj = P->pen + P->loss * P->inv_rho;
    P->evals++;
    return P->obj;
}

/* The w-part of the data gradient of particle i with kinks: the terms of
 * the kinks j get a coefficient θ ∈ [0, 1] in place of 1[w_i·x_j > 0],
 * chosen (coordinate descent, exact for one kink) to minimise the norm of
 * the w-part of G = 2(u − u0) + gd/ρ: the smallest element of the
 * δ-subdifferential of J in that block, which is what tends to zero at a
 * stationary point where particles sit on kinks (pinned kinks happen: the
 * term a relu(w·x_j) is convex in w when a e_j > 0). Any θ in the box gives
 * a subgradient, so the norm is an upper bound of the exact measure. */
static void relax_kinks(nets_pen *P, size_t i, const double *u, const double *u0) {
    const size_t m = P->m, d = P->d, n = P->n;
    const double *w = u + m + i * d, *w0 = u0 + m + i * d, ai = u[i];
    const size_t *kj = P->kink + i * NETS_PEN_KINKS;
    double *th = P->theta + i * NETS_PEN_KINKS;
    double *gdw = P->gd + m + i * d, r[NETS_PEN_MAXD];
    for (size_t q = 0; q < d; q++)
        gdw[q] = 0;
    for (size_t j = 0; j < n; j++) {
        int isk = 0;
        for (size_t k = 0; k < NETS_PEN_KINKS; k++)
            isk |= kj[k] == j + 1;
        const double *xj = P->x + j * d;
        if (isk || cblas_ddot((int)d, w, 1, xj, 1) <= 0)
            continue;
        for (size_t q = 0; q < d; q++)
            gdw[q] += ai * P->e[j] * xj[q];
    }
    /* r = G_w without the kink terms, then add θ_k v_k, v_k = a e_j x_j / ρ */
    for (size_t q = 0; q < d; q++)
        r[q] = 2.0 * (w[q] - w0[q]) + P->inv_rho * gdw[q];
    for (size_t k = 0; k < NETS_PEN_KINKS; k++)
        th[k] = 0;
    for (int sweep = 0; sweep < 20; sweep++)
        for (size_t k = 0; k < NETS_PEN_KINKS && kj[k]; k++) {
            const double *xj = P->x + (kj[k] - 1) * d;
            const double c = P->inv_rho * ai * P->e[kj[k] - 1];
            double vv = 0, rv = 0;
            for (size_t q = 0; q < d; q++) {
                rv += r[q] * c * xj[q];
                vv += c * c * xj[q] * xj[q];
            }
            if (vv == 0)
                continue;
            double tn = fmin(1.0, fmax(0.0, th[k] - rv / vv));
            for (size_t q = 0; q < d; q++)
                r[q] += (tn - th[k]) * c * xj[q];
            th[k] = tn;
        }
    for (size_t k = 0; k < NETS_PEN_KINKS && kj[k]; k++) {
        const double *xj = P->x + (kj[k] - 1) * d;
        for (size_t q = 0; q < d; q++)
            gdw[q] += th[k] * ai * P->e[kj[k] - 1] * xj[q];
    }
}

/* gd from the backward's gb with the kinks relaxed; G = 2(u − u0) + gd/ρ,
 * its norm and the sum of its parts' norms. */
static void combine(nets_pen *P, const double *u, const double *u0) {
    const size_t N = P->N;
    memcpy(P->gd, P->gb, N * sizeof(double));
    for (size_t i = 0; i < P->m; i++)
        if (P->kink[i * NETS_PEN_KINKS])
            relax_kinks(P, i, u, u0);
    double n2 = 0, p2 = 0, l2 = 0;
    for (size_t k = 0; k < N; k++) {
        double pk = 2.0 * (u[k] - u0[k]), lk = P->inv_rho * P->gd[k];
        P->g[k] = pk + lk;
        n2 += P->g[k] * P->g[k];
        p2 += pk * pk;
        l2 += lk * lk;
    }
    const double im = 1.0 / (double)P->m;
    P->gnorm = sqrt(n2 * im);
    P->gscale = sqrt(p2 * im) + sqrt(l2 * im);
}

void nets__pen_grad(nets_pen *P, nets_tl *t, const double *u, const double *u0, int nt) {
    const size_t m = P->m, d = P->d, n = P->n;
    nets__tl_backward(t, u, u + m, P->gb, P->gb + m, nt);
    memcpy(P->e, t->e, n * sizeof(double));
    P->x = t->x;
    const int relax = t->act == NETS_RELU && d <= NETS_PEN_MAXD;
    for (size_t i = 0; i < m; i++) {
        const double *w = u + m + i * d;
        size_t *kj = P->kink + i * NETS_PEN_KINKS, nk = 0;
        const double wn = cblas_dnrm2((int)d, w, 1);
        for (size_t k = 0; k < NETS_PEN_KINKS; k++)
            kj[k] = 0;
        for (size_t j = 0; relax && j < n && nk < NETS_PEN_KINKS; j++) {
            const double *xj = t->x + j * d;
            if (fabs(cblas_ddot((int)d, w, 1, xj, 1)) <= KINK_REL * wn * cblas_dnrm2((int)d, xj, 1))
                kj[nk++] = j + 1;
        }
    }
    combine(P, u, u0);
}

/* Keep the particles on the kinks whose θ is strictly inside (0, 1): remove
 * from their w-direction the components along those x_j (Gram–Schmidt).
 * There G_w ⟂ x_j, so ⟨G, p⟩ is unchanged and p stays a descent direction. */
static void project_kinks(nets_pen *P) {
    const size_t m = P->m, d = P->d;
    double b[NETS_PEN_KINKS][NETS_PEN_MAXD];
    for (size_t i = 0; i < m; i++) {
        const size_t *kj = P->kink + i * NETS_PEN_KINKS;
        const double *th = P->theta + i * NETS_PEN_KINKS;
        double *pw = P->p + m + i * d;
        size_t nb = 0;
        for (size_t k = 0; k < NETS_PEN_KINKS && kj[k]; k++) {
            if (!(th[k] > 0 && th[k] < 1))
                continue;
            memcpy(b[nb], P->x + (kj[k] - 1) * d, d * sizeof(double));
            for (size_t c = 0; c < nb; c++) {
                double dot = cblas_ddot((int)d, b[nb], 1, b[c], 1);
                cblas_daxpy((int)d, -dot, b[c], 1, b[nb], 1);
            }
            double nr = cblas_dnrm2((int)d, b[nb], 1);
            if (nr > 1e-12) {
                cblas_dscal((int)d, 1.0 / nr, b[nb], 1);
                nb++;
            }
        }
        for (size_t c = 0; c < nb; c++)
            cblas_daxpy((int)d, -cblas_ddot((int)d, pw, 1, b[c], 1), b[c], 1, pw, 1);
    }
}

double nets__pen_rel_grad(const nets_pen *P) {
    return P->gscale > 0 ? P->gnorm / P->gscale : 0.0;
}

void nets__pen_forget(nets_pen *P) {
    P->npairs = P->head = 0;
}

/* y = 2s + Δg/ρ for pair slot k and its 1/(sᵀy), 0 (skipped) unless the
 * curvature sᵀy is clearly positive. */
static void build_pair(nets_pen *P, size_t k) {
    const size_t N = P->N;
    const double *s = P->S + k * N, *dg = P->DG + k * N;
    double *y = P->Y + k * N;
    for (size_t q = 0; q < N; q++)
        y[q] = 2.0 * s[q] + P->inv_rho * dg[q];
    double sy = cblas_ddot((int)N, s, 1, y, 1);
    double ss = cblas_ddot((int)N, s, 1, s, 1), yy = cblas_ddot((int)N, y, 1, y, 1);
    P->ry[k] = sy > 1e-12 * sqrt(ss * yy) ? 1.0 / sy : 0.0;
}

void nets__pen_set_rho(nets_pen *P, double rho, const double *u, const double *u0) {
    P->inv_rho = 1.0 / rho;
    P->obj = P->pen + P->loss * P->inv_rho;
    combine(P, u, u0);
    for (size_t k = 0; k < P->npairs; k++)
        build_pair(P, k);
}

/* p = −H G by the two-loop recursion over the valid pairs, newest first;
 * H0 = γI with γ = sᵀy/yᵀy of the newest valid pair (I when none).
 * Returns the number of pairs used. */
static size_t direction(nets_pen *P) {
    const size_t N = P->N, M = P->pairs;
    double *q = P->p;
    memcpy(q, P->g, N * sizeof(double));
    size_t used = 0;
    double gamma = 1.0;
    for (size_t c = 0; c < P->npairs; c++) {
        size_t k = (P->head + M - 1 - c) % M;
        if (P->ry[k] == 0)
            continue;
        const double *s = P->S + k * N, *y = P->Y + k * N;
        if (used++ == 0)
            gamma = 1.0 / (P->ry[k] * cblas_ddot((int)N, y, 1, y, 1));
        P->coef[k] = P->ry[k] * cblas_ddot((int)N, s, 1, q, 1);
        cblas_daxpy((int)N, -P->coef[k], y, 1, q, 1);
    }
    cblas_dscal((int)N, gamma, q, 1);
    for (size_t c = P->npairs; c-- > 0;) {
        size_t k = (P->head + M - 1 - c) % M;
        if (P->ry[k] == 0)
            continue;
        const double *s = P->S + k * N, *y = P->Y + k * N;
        double b = P->ry[k] * cblas_ddot((int)N, y, 1, q, 1);
        cblas_daxpy((int)N, P->coef[k] - b, s, 1, q, 1);
    }
    cblas_dscal((int)N, -1.0, q, 1);
    return used;
}

int nets__pen_iterate(nets_pen *P, nets_tl *t, double *u, const double *u0, int nt) {
    const size_t N = P->N, m = P->m;
    size_t used = direction(P);
    project_kinks(P);
    double gp = cblas_ddot((int)N, P->g, 1, P->p, 1);
    if (!(gp < 0)) { /* not a descent direction (round-off): steepest descent */
        nets__pen_forget(P);
        used = 0;
        for (size_t k = 0; k < N; k++)
            P->p[k] = -P->g[k];
        project_kinks(P);
        gp = cblas_ddot((int)N, P->g, 1, P->p, 1);
        if (!(gp < 0))
            return 1; /* zero gradient: nothing to do */
    }
    const double J0 = P->obj, L0 = P->loss, pen0 = P->pen, slope = gp / (double)m;
    memcpy(P->u_old, u, N * sizeof(double));
    memcpy(P->gd_old, P->gd, N * sizeof(double));
    /* Without a curvature model the first trial moves u along −G by
     * max(|u|, √N) at most (rms per coordinate: its own size, or 1). */
    double step = 1.0;
    if (used == 0) {
        double gn = sqrt(-gp), un = cblas_dnrm2((int)N, u, 1);
        step = fmax(un, sqrt((double)N)) / gn;
        step = step < 1.0 ? step : 1.0;
    }
    int ok = 0;
    for (int bt = 0; bt < MAX_BACKTRACK; bt++) {
        for (size_t k = 0; k < N; k++)
            u[k] = P->u_old[k] + step * P->p[k];
        double J = nets__pen_eval(P, t, u, u0, nt);
        if (J <= J0 + ARMIJO * step * slope) {
            ok = 1;
            break;
        }
        /* Minimiser of the quadratic through J0, the slope and J(step),
         * kept in [0.1, 0.5] step (plain halving when J is not finite). */
        double next = 0.5 * step;
        if (isfinite(J)) {
            double den = 2.0 * (J - J0 - slope * step);
            double tq = den > 0 ? -slope * step * step / den : next;
            next = fmin(fmax(tq, 0.1 * step), 0.5 * step);
        }
        step = next;
    }
    if (!ok) { /* restore the point; gd, g are still those of u_old */
        memcpy(u, P->u_old, N * sizeof(double));
        P->obj = J0;
        P->loss = L0;
        P->pen = pen0;
        nets__pen_forget(P);
        return 1;
    }
    nets__pen_grad(P, t, u, u0, nt);
    size_t k = P->head;
    double *s = P->S + k * N, *dg = P->DG + k * N;
    for (size_t q = 0; q < N; q++) {
        s[q] = u[q] - P->u_old[q];
        dg[q] = P->gd[q] - P->gd_old[q];
    }
    build_pair(P, k);
    P->head = (k + 1) % P->pairs;
    if (P->npairs < P->pairs)
        P->npairs++;
    return 0;
}
