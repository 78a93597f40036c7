/* ot_newton.h — sparse Newton steps for balanced entropic OT at small eps.
 *
 * What it is for: finishing a balanced Sinkhorn solve when eps is small
 * compared with the spacing of the points. There the plan is nearly a
 * permutation, Sinkhorn's error decays like 1/t, and over-relaxation no
 * longer helps. Newton's method on the semi-dual converges quadratically,
 * and at small eps the Hessian is sparse: each row of the plan has only a
 * few entries above round-off. (Sinkhorn–Newton: Brauer, Clason, Lorenz &
 * Wirth, 2019; sparsified Hessians: Tang, Shavlovsky, Rahmanian, Tardini,
 * Thekumparampil, Xiao & Ying, "Accelerating Sinkhorn algorithm with
 * sparse Newton iterations", ICLR 2024.)
 *
 * Method. With f = T_f(g) row-exact (ot_sinkhorn.h), the semi-dual
 *     J(g) = <a, T_f(g)> + <b, g>
 * is concave, ∇J = b - c (c the plan's column sums) and
 *     -eps ∇²J = L = diag(c) - Pᵀ diag(a) P,   P_ij = p_ij (rows of the
 * plan divided by a_i). Each step keeps the entries p_ij >= theta (at most
 * `cap` per row), solves L d = b - c by preconditioned conjugate gradients
 * (Jacobi), and moves g along eps·d with an Armijo backtracking search on J,
 * so J increases at every accepted step.
 *
 * What it is not for: unbalanced or symmetric problems, or large eps (the
 * step refuses when the rows are not sparse: dropped mass > 1e-9).
 */
#ifndef OT_NEWTON_H
#define OT_NEWTON_H

#include <stddef.h>

#include "ms_kind.h"
#include "ms_softmin.h"

typedef struct ot_newton ot_newton;

/* Workspace for cost K (borrowed) between probability weights a (n) and
 * b (m) (copied), keeping at most cap entries per row. */
ot_newton *ot_newton_alloc(const ms_softmin *K, const double *a, const double *b, size_t cap,
                           ms_err *err);
void ot_newton_free(ot_newton *nw);
size_t ot_newton_bytes(size_t n, size_t m, size_t cap);

typedef enum {
    OT_NEWTON_ACCEPTED,   /* g and f moved; J increased */
    OT_NEWTON_CONVERGED,  /* the error bound was already <= tol: nothing moved */
    OT_NEWTON_UNSUITABLE, /* rows not sparse enough, or no ascent found */
} ot_newton_outcome;

/* One step at eps on the potentials f (n, overwritten with T_f(g)) and g
 * (m). *err_out receives an upper bound of the L1 marginal error of the
 * plan (f, g) after the call. */
ms_status ot_newton_step(ot_newton *nw, double eps, double tol, double *f, double *g,
                         const ms_ctx *ctx, double *err_out, ot_newton_outcome *outcome);

#endif
