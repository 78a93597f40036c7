/* games_cp.h — conic particle methods for mixed Nash equilibria of
 * continuous games: CP-MDA (K = 1), CP mirror prox (K = 2) and the
 * approximate proximal point (large K) of Wang & Chizat [P1] (games.md §6).
 *
 * Notation (§6.2): μ = Σ_i a_i δ_{x_i} (minimiser), ν = Σ_j b_j δ_{y_j}
 * (maximiser). With the fields of games_payoff.h evaluated at a gradient
 * point s' = (a', x', b', y'), one step Φ(s; s') is
 *   a⁺ ∝ a·exp(−η_a U'),  b⁺ ∝ b·exp(η_b W'),
 *   x⁺_i = R(x_i − η_x ρ_i G_i),  y⁺_j = R(y_j + η_y σ_j H_j),
 * with ρ_i = a'_i/a_i, σ_j = b'_j/b_j when `true_prox` (else 1). An
 * iteration is s' ← s; K times s' ← Φ(s; s'); s ← s'. Weights are kept as
 * logarithms (no underflow, ρ = exp(log a' − log a) never divides 0 by 0).
 *
 * What it is not for: the divergence guard and the gap (the kind runs them
 * with games_cp_snapshot/restore and games_br.h).
 */
#ifndef GAMES_CP_H
#define GAMES_CP_H

#include <stddef.h>

#include "games_payoff.h"
#include "games_space.h"

typedef struct games_cp_state {
    double *la, *a, *x; /* m log-weights, weights, m×d positions */
    double *lb, *b, *y; /* n, n, n×e */
} games_cp_state;

typedef struct games_cp {
    games_payoff *p;
    const games_space *X, *Y;
    size_t m, n, d, e, K;
    int true_prox;
    double eta_a, eta_b, eta_x, eta_y;
    games_cp_state s, g, t, snap; /* current, gradient point, next, snapshot */
    double *U, *G, *W, *H;
    double *scratch; /* threads × p->scratch */
    double *part;    /* one-pass fields: GAMES_FIELD_BLOCKS × n × (1 + e) */
    size_t threads;
    /* Of the current state at the start of the last step (free by-products
     * of the first inner step): */
    double value, local_ni;
    double max_move;     /* largest atom displacement of the last step */
    size_t bad_i, bad_j; /* pair where the payoff failed, if it did */
} games_cp;

/* Allocate for m×d and n×e particles and `threads` threads; the state is
 * uniform weights and zero positions (set x, y after). All-or-nothing. */
ms_status games_cp_init(games_cp *cp, games_payoff *p, const games_space *X, const games_space *Y,
                        size_t m, size_t n, size_t threads);
void games_cp_fini(games_cp *cp);

/* Recompute log-weights from the weights a, b of the current state (after
 * the caller set them; they must be positive and sum to 1). */
void games_cp_sync_logs(games_cp *cp);

/* One iteration. Returns a GAMES_EXPR_* code (bad_i, bad_j say where). */
int games_cp_step(games_cp *cp, const ms_ctx *ctx);

/* Fields of the current state into cp->U, cp->W (and value, local NI);
 * with gradients when grads is set. Returns a GAMES_EXPR_* code. */
int games_cp_eval_current(games_cp *cp, int grads, const ms_ctx *ctx);

void games_cp_snapshot(games_cp *cp);
void games_cp_restore(games_cp *cp);

/* Lyapunov potential of [P1] (the authors' code; games.md §3) of one player's
 * atoms (x, a; n atoms) against a reference equilibrium (xr, ar; nr atoms):
 * ψ(r) = exp(−r^α/α) for r ≤ λ, else 0; φ_I(x) = ψ(dist(x*_I, x)/τ);
 * â_I = Σ_i φ_I(x_i) a_i; out[0] = V_w = Σ_I a*_I log(a*_I/â_I)/η_w,
 * out[1] = V_pos = Σ_I Σ_i a_i φ_I(x_i) dist²(x*_I, x_i)/(2η_pos),
 * out[2] = outside mass (1 − Σ_I â_I)/η_w. V_w is +Inf when an â_I is 0. */
void games_lyapunov(const games_space *sp, const double *x, const double *a, size_t n,
                    const double *xr, const double *ar, size_t nr, double alpha, double lambda,
                    double tau, double eta_w, double eta_pos, double out[3]);

/* 1/Σ w², the effective number of atoms. */
double games_eff_support(const double *w, size_t n);

#endif
