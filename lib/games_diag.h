/* games_diag.h — local diagnostics of a min-max game at a stationary point
 * (games.md §7.2–7.3; Wang & Chizat [P2]).
 *
 * What it is for: from the game Jacobian J = Dv(z*), v = (∇ₓf, −∇ᵧf),
 * z = (x, y) ∈ R^{d+e}: its symmetric part S (the "potential" part, ⪰ 0 at
 * a local Nash point) and antisymmetric part A, their spectra, the local
 * Nash check, min Re λ(J), the average curvature tr(S)/dim, the
 * general-position score min_k ‖S u_k‖ over unit eigenvectors of A, and for
 * each gradient method the spectral radius of its linearised map:
 *   GDA I − ηJ;  EG I − ηJ + η²J²;  PP (I + ηJ)⁻¹;
 *   OGDA [[I − 2ηJ, ηJ], [I, 0]];  alternating GDA (x then y, the second
 *   step at the new x) as an explicit block matrix.
 * The predicted per-step contraction is ρ, the rate per unit time −log ρ/η.
 *
 * What it is not for: finding z* (games_minmax.c runs the methods).
 * Uses LAPACK (dsyev, dgeev, dgesv); allocates its own workspaces (called
 * once per job, outside the iteration loop).
 */
#ifndef GAMES_DIAG_H
#define GAMES_DIAG_H

#include <stddef.h>

#include "ms_err.h"

typedef enum {
    GAMES_M_GDA,
    GAMES_M_ALT_GDA,
    GAMES_M_EXTRAGRADIENT,
    GAMES_M_OGDA,
    GAMES_M_PROXIMAL_POINT
} games_method;

extern const char *const games_method_names[]; /* enum order, NULL-terminated */

typedef struct games_diag {
    size_t d, e, n;          /* n = d + e */
    double *eig_re, *eig_im; /* eigenvalues of J (n), sorted by real part */
    double *eig_S;           /* eigenvalues of S (n), ascending */
    double *eig_hxx;         /* eigenvalues of sym(∇²ₓₓf) (d) */
    double *eig_hyy;         /* eigenvalues of sym(∇²ᵧᵧf) (e) */
    double min_re, mean_S, min_S, general_position;
    int is_local_nash;
} games_diag;

/* Compute everything from J (n×n row-major). tol decides the local Nash
 * check (eig(∇²ₓₓf) ≥ −tol, eig(∇²ᵧᵧf) ≤ tol). All-or-nothing; free with
 * games_diag_fini. MS_ENUMERIC if LAPACK fails to converge. */
ms_status games_diag_compute(const double *J, size_t d, size_t e, double tol, games_diag *out,
                             ms_err *err);
void games_diag_fini(games_diag *g);

/* Spectral radius of the linearised map of `method` with step eta. */
ms_status games_diag_radius(const double *J, size_t d, size_t e, games_method method, double eta,
                            double *rho, ms_err *err);

#endif
