/* deep_widenet.h — wide linear networks in the mean-field scaling and their
 * infinite-width limit ODEs (spec deep-networks.md §3.2–3.3, after Chizat,
 * Colombo, Fernández-Real & Figalli, arXiv:2211.16980).
 *
 * What it is for: side by side,
 *   - the finite-width network (width N, depth 2 or 3)
 *       L = 2: f(x) = (1/N) Σ_i v_i u_iᵀx,
 *       L = 3: f(x) = (1/N²) Σ_{i,j} v_i W_ij u_jᵀx,
 *     with u_i ~ N(0, σ_u² I_d), v_i ~ N(0, σ_v²), W_ij ~ N(0, σ_w²), trained
 *     by mean-field gradient steps of size η on R = (1/2n)‖Xβ − y‖² (½-loss,
 *     g = Σβ − c), all updates from old values;
 *   - its limit, a finite-dimensional ODE integrated by Euler (same grid
 *     t = ηk, for step-by-step comparison) or RK4:
 *       L = 2: C = Cov(u, v), Ċ_uu = −(g C_uvᵀ + C_uv gᵀ), Ċ_uv = −(C_vv + C_uu) g,
 *              Ċ_vv = −2 gᵀC_uv, β = C_uv, C(0) = diag(σ_u² I, σ_v²);
 *       L = 3: ṁ = −ν Bᵀg, ν̇ = −σ_u² gᵀBm, Ḃ = −σ_v² ν g mᵀ, β = σ_u²σ_v² ν B m,
 *              ν(0) = 1, B(0) = I, m(0) = 0;
 *   - the law of the neurons: the empirical covariance for L = 2, and for
 *     L = 3 least-squares fits of v(t) = ν v(0), u_j(t) = B u_j(0),
 *     W(t) − W(0) = v(0)(U(0)m)ᵀ that recover (ν, B, m).
 *
 * What it is not for: depth ≥ 4 (in this scaling the limit never moves,
 * §3.3), or other losses.
 *
 * The limit state is one vector of d² + d + 1 numbers: [C_uu, C_uv, C_vv]
 * for L = 2, [B, m, ν] for L = 3 (matrices row-major).
 * Steps allocate nothing; threads split the O(N²d) products of L = 3.
 */
#ifndef DEEP_WIDENET_H
#define DEEP_WIDENET_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_rng.h"

typedef struct deep_widenet {
    size_t depth, N, d;
    double su2, sv2, sw2;    /* init variances σ_u², σ_v², σ_w² */
    const double *sigma, *c; /* Σ = XᵀX/n (d×d), c = Xᵀy/n: not owned */
    double yy;               /* ‖y‖²/n */
    const double *bref;      /* a least-squares solution (not owned), or NULL */
    double rref;             /* R(bref) */
    double *U, *v, *W;       /* finite width: U (N×d, rows u_j), v (N), W (N×N, depth 3) */
    double *U0, *v0, *W0;    /* initial weights (law fits; NULL unless keep_init) */
    double *beta;            /* finite-width predictor (d), current */
    double *y;               /* limit state (d² + d + 1) */
    double *ybeta;           /* limit predictor (d), current */
    /* scratch */
    double *Ug, *Ag, *z, *A, *g, *k1, *k2, *k3, *k4, *ytmp, *dd1, *dd2, *e;
} deep_widenet;

/* Allocate and initialise: weights drawn from rng (U, then v, then W), the
 * limit at its initial state. keep_init stores copies of the initial weights
 * for deep_widenet_law3. All-or-nothing. */
deep_widenet *deep_widenet_alloc(size_t depth, size_t N, size_t d, double sigma_u, double sigma_v,
                                 double sigma_w, const double *sigma, const double *c, double yy,
                                 int keep_init, ms_rng *rng, ms_err *err);
void deep_widenet_free(deep_widenet *net);

/* Size of the limit state. */
static inline size_t deep_widenet_state_size(size_t d) {
    return d * d + d + 1;
}

/* Finite-width predictor β into net->beta (and returned loss R(β)). */
double deep_widenet_predict(deep_widenet *net, int nt);
/* One mean-field gradient step of size eta on the finite network (uses the
 * β of the last deep_widenet_predict; call it first). */
void deep_widenet_step(deep_widenet *net, double eta, int nt);

/* Limit: predictor of a state into beta (d); the ODE right-hand side. */
void deep_widenet_limit_beta(const deep_widenet *net, const double *y, double *beta);
void deep_widenet_limit_rhs(deep_widenet *net, const double *y, double *dy);
/* Advance the limit state net->y by dt with one Euler or RK4 step; updates
 * net->ybeta and returns the limit loss. */
double deep_widenet_limit_advance(deep_widenet *net, double dt, int rk4);
/* Loss R(β) = (1/2n)‖Xβ − y‖². Without a reference it is evaluated as
 * ½βᵀΣβ − cᵀβ + yy/2, which cancels catastrophically near the minimum;
 * with one (a solution of the normal equations Σβ_ref = c and its exact
 * loss R_ref) as R_ref + ½(β − β_ref)ᵀΣ(β − β_ref), accurate to rounding
 * relative to the excess loss. */
void deep_widenet_set_reference(deep_widenet *net, const double *beta_ref, double r_ref);
double deep_widenet_loss(const deep_widenet *net, const double *beta);

/* L = 2: ‖Ĉ_N − C‖_F, Ĉ_N the empirical covariance of the neurons (u_i, v_i). */
double deep_widenet_law2(deep_widenet *net);
/* L = 3: fitted (ν̂, B̂, m̂) against the limit state; errors |ν̂ − ν|,
 * ‖B̂ − B‖_F, ‖m̂ − m‖. Needs keep_init. MS_ENUMERIC if U(0)ᵀU(0) is singular. */
ms_status deep_widenet_law3(deep_widenet *net, double *e_nu, double *e_B, double *e_m, ms_err *err);
/* Invariant of the L = 2 limit: tr C_uu − C_vv. */
double deep_widenet_invariant2(const deep_widenet *net);

#endif
