/* games_lp.h — exact value and optimal strategies of a finite zero-sum game
 * by linear programming (games.md §4.1).
 *
 * What it is for: the `lp` method of the `nash` kind on a matrix game, and the
 * exact reference for the fixed-support baseline. The game has a loss matrix
 * M (m×n, row-major): the row player p ∈ Δ_m minimises pᵀMq, the column
 * player q ∈ Δ_n maximises it.
 *
 * Method: with M' = M − min(M) + 1 > 0 the row player's problem is the
 * standard-form LP  max 1ᵀt  s.t. M'ᵀt ≤ 1, t ≥ 0  (p = t/1ᵀt, V' = 1/1ᵀt),
 * feasible at t = 0, so one phase of the dense tableau simplex suffices; its
 * dual  min 1ᵀu  s.t. M'u ≥ 1  gives the column player (q = u/1ᵀu), read from
 * the reduced costs of the slacks. Pivoting is Dantzig's largest coefficient,
 * switching to Bland's rule (which cannot cycle) after a run of degenerate
 * pivots. Fine for m, n up to a few hundred.
 *
 * What it is not for: sparse or very large games (mirror prox, games_mp.h).
 */
#ifndef GAMES_LP_H
#define GAMES_LP_H

#include <stddef.h>

#include "ms_err.h"

typedef struct games_lp {
    size_t m, n;   /* game size */
    size_t cols;   /* m + n + 1 tableau columns (last = right-hand side) */
    double *tab;   /* (n+1)×cols: n constraint rows, then the objective row */
    size_t *basis; /* n: basic variable of each row (0..m-1 = t, m.. = slacks) */
    double shift;  /* M' = M + shift */
    size_t pivots, degenerate_run;
    int done;
} games_lp;

/* Set up the tableau for M (m×n row-major, finite). All-or-nothing: on
 * MS_ENOMEM nothing is held. Free with games_lp_fini. */
ms_status games_lp_init(games_lp *lp, const double *M, size_t m, size_t n);
void games_lp_fini(games_lp *lp);

/* Do up to max_pivots pivots. Returns MS_OK; lp->done is set at optimality.
 * MS_ENUMERIC if the tableau lost finiteness (cannot happen for finite M
 * short of overflow). Never allocates. */
ms_status games_lp_iterate(games_lp *lp, size_t max_pivots, ms_err *err);

/* Optimal strategies p (m), q (n) and the value, once done. The strategies
 * are clipped at 0 and renormalised (round-off of the tableau). */
void games_lp_solution(const games_lp *lp, double *p, double *q, double *value);

/* One-shot convenience: init, iterate to the end, solution, fini. */
ms_status games_lp_solve(const double *M, size_t m, size_t n, double *p, double *q, double *value,
                         ms_err *err);

/* Nikaido–Isoda gap of (p, q) for the loss matrix M:
 * max_j (Mᵀp)_j − min_i (Mq)_i ≥ 0; also returns pᵀMq in *value if not NULL.
 * Exact (O(mn)). */
double games_matrix_gap(const double *M, size_t m, size_t n, const double *p, const double *q,
                        double *value);

#endif
