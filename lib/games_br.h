/* games_br.h — best responses to atomic mixed strategies and the
 * Nikaido–Isoda gap of continuous games (games.md §3).
 *
 * What it is for: NI(μ, ν) = max_y W_μ(y) − min_x U_ν(x). Each term is a
 * search over pure strategies: candidates are the responding player's
 * current atoms (always, so NI ≥ local NI ≥ 0), plus a grid of step h when
 * the space has one in its dimension (torus, box, ball in dim ≤ 2; circle,
 * S²), or seeded random starts otherwise; the best few are refined by
 * projected (Riemannian on the sphere) gradient ascent with Armijo
 * backtracking. The answer is exact up to the grid's resolution when a
 * full grid was used, and only a lower bound of the true gap otherwise
 * (`is_lower_bound`; always for a euclidean space, whose grid covers only
 * its search box).
 *
 * What it is not for: matrix games, whose gap is exact (games_lp.h).
 */
#ifndef GAMES_BR_H
#define GAMES_BR_H

#include <stddef.h>

#include "games_payoff.h"
#include "games_space.h"
#include "ms_rng.h"

typedef struct games_br_opts {
    double grid_step;    /* h, in the space's units */
    size_t grid_max;     /* cap on grid points (the grid is coarsened) */
    size_t starts;       /* random starts when there is no grid */
    size_t refine;       /* best candidates refined */
    size_t refine_steps; /* ascent steps per refined candidate */
} games_br_opts;

typedef struct games_br {
    const games_space *sp;
    games_br_opts o;
    size_t base;    /* grid points or random starts placed first */
    int has_grid;   /* 1 when base is a grid (else random starts) */
    int full_grid;  /* 1 when that grid covers the space */
    size_t cap;     /* base + atoms capacity */
    double *cand;   /* cap × dim */
    double *val;    /* cap */
    double *grad;   /* cap × dim */
    double *z, *zt; /* refinement points (dim each) */
    ms_rng rng;
} games_br;

/* Workspace for searches on `sp` with at most own_max own atoms among the
 * candidates; random starts are drawn from (seed, stream). All-or-nothing. */
ms_status games_br_init(games_br *br, const games_space *sp, size_t own_max, const games_br_opts *o,
                        unsigned long long seed, unsigned long long stream);
void games_br_fini(games_br *br);

/* Best response of player `side` (0: the minimiser x, maximising −U_ν over
 * X against ν = (other, w_other); 1: the maximiser y, maximising W_μ over Y
 * against μ) with its own atoms `own` among the candidates. Writes the best
 * value of the maximised function (so min_x U_ν = −*best for side 0) and the
 * point. scratch: ms_ctx_threads(ctx) × p->scratch doubles. Returns a
 * GAMES_EXPR_* code (non-finite payoff). */
int games_br_search(games_br *br, games_payoff *p, int side, const double *other,
                    const double *w_other, size_t n_other, const double *own, size_t n_own,
                    double *scratch, const ms_ctx *ctx, double *best, double *argbest);

#endif
