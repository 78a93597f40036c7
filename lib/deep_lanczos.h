/* deep_lanczos.h — the largest algebraic eigenvalue of a symmetric operator
 * given only by its products (spec deep-networks.md §1.4).
 *
 * What it is for: the sharpness of a loss (top Hessian eigenvalue) from exact
 * Hessian-vector products: Lanczos with full reorthogonalisation, top Ritz
 * value of the tridiagonal matrix, warm start from the previous Ritz vector
 * when tracked along training. Also plain power iteration, which converges to
 * the eigenvalue of largest modulus (wrong near saddles) unless shifted; it
 * is kept to show that difference, and as the reference code's method.
 *
 * What it is not for: several eigenvalues, or non-symmetric operators.
 *
 * Workspaces are allocated once (deep_lanczos_alloc); the solve allocates
 * nothing. Not thread-safe per workspace; the operator may use threads.
 */
#ifndef DEEP_LANCZOS_H
#define DEEP_LANCZOS_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_rng.h"

/* y = A x for a symmetric A of order n; x and y do not alias. */
typedef void (*deep_matvec_fn)(void *user, const double *x, double *y);

typedef struct deep_lanczos deep_lanczos;

typedef struct deep_eig {
    double value;      /* top Ritz value θ₁ */
    double residual;   /* ‖A v − θ₁ v‖ for the returned unit Ritz vector v */
    double estimate;   /* Lanczos bound β_j |s_{j,1}| at the stop */
    size_t iterations; /* Lanczos steps (operator products, plus one for the residual) */
    int converged;     /* estimate ≤ tol·|θ₁|, or an invariant subspace was found */
} deep_eig;

/* Workspace for operators of order n and at most m Lanczos steps (m is
 * capped at n). Returns NULL on allocation failure with err filled. */
deep_lanczos *deep_lanczos_alloc(size_t n, size_t m, ms_err *err);
void deep_lanczos_free(deep_lanczos *lz);

/* Run Lanczos on A from a random unit start drawn from rng — or, when warm
 * is non-zero and a previous call succeeded, from the previous Ritz vector
 * plus a 1e-3 random perturbation (so an exact eigenvector of a non-top
 * eigenvalue cannot trap the Krylov space). Stops when
 * β_j |s_{j,1}| ≤ tol·|θ₁| or after m steps. Returns MS_OK, or MS_ENUMERIC
 * when the operator returns non-finite values or LAPACK fails. */
ms_status deep_lanczos_top(deep_lanczos *lz, deep_matvec_fn op, void *user, ms_rng *rng, int warm,
                           double tol, deep_eig *out, ms_err *err);

/* The unit Ritz vector of the last successful deep_lanczos_top (n values). */
const double *deep_lanczos_vector(const deep_lanczos *lz);

/* Power iteration on A + shift·I from x (n values, overwritten with the
 * final unit iterate): `iters` steps of v ← (A + σI)v/‖(A + σI)v‖. Returns
 * ‖(A + σI)v‖ − σ at the last step, as the reference code reports it: with
 * σ = 0 that is |λ| for the eigenvalue of largest modulus. y is n scratch. */
double deep_power_top(size_t n, deep_matvec_fn op, void *user, double shift, size_t iters,
                      double *x, double *y);

#endif
