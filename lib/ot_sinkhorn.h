/* ot_sinkhorn.h — log-domain Sinkhorn iterations between two measures.
 *
 * What it is for: the engine of every entropic transport solve in measured
 * (the `ot` kind, Sinkhorn divergences, inner solves of barycenters). One
 * object holds the potentials of one problem
 *     min_π <C,π> + eps·KL(π | a⊗b) [+ rho·KL(π1 | a) + rho·KL(πᵀ1 | b)]
 * (balanced when rho = +Inf) and advances them by full Sinkhorn iterations
 * in the log domain (Peyré & Cuturi, Computational OT, Remark 4.23; the
 * unbalanced update scales the soft-min by rho/(rho+eps), Chizat, Peyré,
 * Schmitzer & Vialard, "Scaling algorithms for unbalanced transport", 2018).
 * Symmetric problems (a = b, C = C(x,x), the self terms of the Sinkhorn
 * divergence) use the averaged update f ← (f + T(f))/2 (Feydy et al. 2019).
 *
 * Potentials are in cost units and carry over between values of eps, so a
 * caller may change eps between iterations (eps-scaling).
 *
 * What it is not for: choosing eps schedules or stopping rules (the callers
 * do that) and costs (ms_softmin.h).
 */
#ifndef OT_SINKHORN_H
#define OT_SINKHORN_H

#include <stddef.h>

#include "ms_kind.h"
#include "ms_softmin.h"

typedef struct ot_sinkhorn ot_sinkhorn;

/* Values of the current plan π_ij = a_i b_j exp((f_i + g_j - C_ij)/eps). */
typedef struct ot_values {
    double objective;      /* <C,π> + eps KL(π|a⊗b) [+ rho KL terms]; generalised KL */
    double transport_cost; /* <C,π> */
    double dual;           /* balanced: <a,f> + <b,g>; unbalanced: the dual functional */
    double marginal_error; /* Σ|π1 - a*| + Σ|πᵀ1 - b*|, where a*, b* are the optimal
                              marginals for the current potentials (a, b when balanced) */
    double mass;           /* Σ π */
} ot_values;

/* A solve on cost K (borrowed: must outlive the object) between weights a
 * (length ms_softmin_n(K)) and b (length ms_softmin_m(K)), copied. rho =
 * +Inf for balanced transport. symmetric: K must be square with a = b; only
 * f is iterated and g mirrors it. Potentials start at 0. Zero weights are
 * allowed (those points carry no mass). NULL on allocation failure. */
ot_sinkhorn *ot_sinkhorn_alloc(const ms_softmin *K, const double *a, const double *b, double rho,
                               int symmetric, ms_err *err);
void ot_sinkhorn_free(ot_sinkhorn *s);

/* One full iteration at regularisation eps: g ← T_g(f) is evaluated, the
 * marginal error of the current plan (f, g) is measured, and f ← T_f(g).
 * *err_out receives the L1 marginal error (rows + columns) of the plan
 * (f, g) *before* the update, or its optimality residual when unbalanced;
 * NaN on the first call after an eps change or warm start. When
 * stop_tol >= 0 and that error is <= stop_tol, the update is skipped and
 * *stopped is set: the potentials are then those the error was measured on.
 * Returns MS_ENUMERIC if a potential is not finite, MS_ECANCELLED on
 * cancellation. */
ms_status ot_sinkhorn_iterate(ot_sinkhorn *s, double eps, double stop_tol, const ms_ctx *ctx,
                              double *err_out, int *stopped);

/* Over-relaxation (Thibault, Chizat, Dossal & Papadakis, "Overrelaxed
 * Sinkhorn–Knopp algorithm for regularized optimal transport", 2021):
 * each half-step moves to (1-ω)·old + ω·new, ω in [1, 2). A step that
 * would lower the dual objective falls back to ω = 1, so the dual still
 * increases monotonically. Default 1; NaN selects the adaptive rule
 * (ω re-estimated every 10 iterations from the observed convergence rate). */
void ot_sinkhorn_set_omega(ot_sinkhorn *s, double omega);
/* The factor in use. */
double ot_sinkhorn_omega(const ot_sinkhorn *s);

/* The potentials (length n and m). For symmetric problems g == f. */
const double *ot_sinkhorn_f(const ot_sinkhorn *s);
const double *ot_sinkhorn_g(const ot_sinkhorn *s);
/* Replace the potentials (warm start); either may be NULL (unchanged). */
void ot_sinkhorn_set(ot_sinkhorn *s, const double *f, const double *g);

/* Values of the current plan at eps (two extra soft-min passes). */
ms_status ot_sinkhorn_values(ot_sinkhorn *s, double eps, const ms_ctx *ctx, ot_values *v);

/* Balanced problems: shift (f + κ, g − κ) so that <a,f> = <b,g> (the
 * potentials are defined up to this constant). No effect when unbalanced. */
void ot_sinkhorn_center(ot_sinkhorn *s);

/* Write the plan (n×m, row-major) at eps. */
void ot_sinkhorn_plan(const ot_sinkhorn *s, double eps, double *plan);

/* One sparse Newton step (ot_newton.h) on the potentials of a balanced,
 * non-symmetric problem, with workspace nw built for the same cost and
 * weights. *outcome receives an ot_newton_outcome. */
struct ot_newton;
ms_status ot_sinkhorn_newton(ot_sinkhorn *s, struct ot_newton *nw, double eps, double tol,
                             const ms_ctx *ctx, double *err_out, int *outcome);

/* Bytes an object needs for n×m (excluding the cost). */
size_t ot_sinkhorn_bytes(size_t n, size_t m);

#endif
