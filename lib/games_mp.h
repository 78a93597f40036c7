/* games_mp.h — entropic mirror descent-ascent and mirror prox on a matrix
 * game (games.md §4.2; Nemirovski 2004; the particle-MNE code's `extrasteps`).
 *
 * What it is for: the `mirror_prox` / `mirror_descent` methods of `nash` on
 * matrix games and the weights-only fixed-support baseline of §5. The loss
 * matrix M (m×n, row-major) is caller-owned and must outlive the solver; the
 * row player minimises.
 *
 * One iteration with K inner steps: g ← (p, q); K times g ← Step(p, q; g);
 * then (p, q) ← g, where Step(p, q; p', q') is
 *   p⁺ ∝ p·exp(−η_p (Mq' − min Mq')),  q⁺ ∝ q·exp(η_q (Mᵀp' − max Mᵀp')).
 * K = 1 is MDA, K = 2 mirror prox, large K approximates the proximal point.
 * Weights are kept as logarithms so that no strategy underflows for good.
 * The average of the gradient points of the last inner step (the half-step
 * points for K = 2) satisfies NI ≤ (log m + log n)/(ηT) for η ≤ 1/max|M|.
 *
 * What it is not for: continuous games (games_cp.h moves atoms too).
 */
#ifndef GAMES_MP_H
#define GAMES_MP_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_kind.h"

typedef struct games_mp {
    const double *M;
    size_t m, n, K;
    double eta_p, eta_q;
    double *lp, *lq;     /* log weights of the current iterate */
    double *p, *q;       /* current iterate (exp of lp, lq) */
    double *pg, *qg;     /* gradient point */
    double *pn, *qn;     /* scratch: next gradient point */
    double *Mq, *Mtp;    /* scratch: M q', Mᵀ p' */
    double *psum, *qsum; /* sums of the gradient points of the last inner step */
    size_t t;            /* iterations done */
} games_mp;

/* p0, q0 (optional, NULL = uniform) must be positive on their supports and sum
 * to 1; zero entries stay zero forever (entropic steps). All-or-nothing. */
ms_status games_mp_init(games_mp *mp, const double *M, size_t m, size_t n, size_t K, double eta_p,
                        double eta_q, const double *p0, const double *q0);
void games_mp_fini(games_mp *mp);

/* One iteration (K inner steps). MS_ENUMERIC if a weight became non-finite.
 * Allocates nothing; parallel matrix-vector products take ms_ctx_threads. */
ms_status games_mp_step(games_mp *mp, const ms_ctx *ctx, ms_err *err);

/* Averaged strategies (of the gradient points, see above) into p, q. */
void games_mp_average(const games_mp *mp, double *p, double *q);

/* y = M x (rows split among threads) and y = Mᵀx (columns split), with a
 * fixed summation order whatever the thread count. */
void games_matvec(const double *M, size_t m, size_t n, const double *x, double *y, int threads);
void games_matvec_t(const double *M, size_t m, size_t n, const double *x, double *y, int threads);

/* Entropic step of log weights in place: lw ← lw + sign·η·(g − extreme(g)),
 * normalised so that Σ exp(lw) = 1; w receives exp(lw). sign = −1 moves
 * weight to small g (the minimiser), +1 to large g. */
void games_entropic_step(double *lw, double *w, const double *g, size_t n, double eta, int sign);

#endif
