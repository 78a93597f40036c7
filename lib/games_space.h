/* games_space.h — strategy spaces of continuous games and their geometry
 * (games.md §2, the domains table).
 *
 * What it is for: the retraction applied after every position update
 * (torus: wrap into [0, period); box: clamp; sphere: renormalise after a
 * step along the tangent projection of the gradient; ball: radial
 * projection; euclidean: none), distances (periodic on the torus), uniform sampling and the
 * grids used for initialisation and for best-response searches.
 *
 * What it is not for: payoffs (games_payoff.h) or searches (games_br.h).
 */
#ifndef GAMES_SPACE_H
#define GAMES_SPACE_H

#include <stddef.h>

#include "ms_rng.h"

#define GAMES_SPACE_MAX_DIM 32

/* GAMES_SAMPLES and GAMES_SIGNED_SPHERE are the spaces of the two-layer
 * network games ([P1] §6.8), set up by the kind, not by users:
 *   samples: z = (k, u) with k ∈ {0..n_samples−1} a data index that never
 *     moves and u ∈ B(0, radius) ⊂ R^{dim−1} an adversarial perturbation
 *     (dim = 1 when radius = 0);
 *   signed sphere: z = (θ, s) with θ ∈ S^{dim−2} ⊂ R^{dim−1} and a sign
 *     s = ±1 that never changes (a neuron of the output sign s).
 * Atoms with different k (or s) are never merged and are at distance 1e30. */
typedef enum {
    GAMES_TORUS,
    GAMES_BOX,
    GAMES_SPHERE,
    GAMES_BALL,
    GAMES_EUCLIDEAN, /* R^dim, no retraction; low/high: the search box */
    GAMES_SAMPLES,
    GAMES_SIGNED_SPHERE
} games_space_type;

typedef struct games_space {
    games_space_type type;
    size_t dim;
    double period;                                              /* torus */
    double low[GAMES_SPACE_MAX_DIM], high[GAMES_SPACE_MAX_DIM]; /* box, euclidean */
    double radius;                                              /* ball, samples */
    size_t n_samples;                                           /* samples */
} games_space;

/* Map a point back onto the space (in place). */
void games_space_retract(const games_space *sp, double *z);
/* z ← R(z + t·g), with g first projected on the tangent space at z for the
 * sphere (the Riemannian gradient step). g is not modified. */
void games_space_step(const games_space *sp, double *z, const double *g, double t);
/* Squared distance (periodic per coordinate on the torus). */
double games_space_dist2(const games_space *sp, const double *a, const double *b);
/* b − a taken modulo the period on the torus (the short way), else b − a. */
void games_space_diff(const games_space *sp, const double *a, const double *b, double *out);
/* A uniformly random point. */
void games_space_sample(const games_space *sp, ms_rng *rng, double *z);
/* A length scale of the space (period, largest box side, 2, 2·radius;
 * euclidean: the largest side of its search box). */
double games_space_extent(const games_space *sp);

/* Grids. For initialisation with about `m` atoms: returns the number of
 * points the grid will have (m rounded up to a perfect power on the torus
 * and box in dimension > 1; 0 when the space has no grid and random atoms
 * must be used) and writes them to z (count×dim) when z is not NULL. */
size_t games_space_init_grid(const games_space *sp, size_t m, double *z);

/* Best-response grid of step about h (coarsened so that it has at most
 * max_points points): returns the number of points, 0 when the space has
 * no grid in this dimension (then searches use random starts). Writes the
 * points when z is not NULL. Torus: k·period/N; box, ball and the search
 * box of a euclidean space: inclusive ends; sphere: circle (dim 2) or Fibonacci lattice (dim 3). */
size_t games_space_search_grid(const games_space *sp, double h, size_t max_points, double *z);

/* Greedy aggregation of an atomic measure (games.md §3): the heaviest
 * unassigned atom seeds a cluster that takes every unassigned atom within
 * distance tau; weights are summed and positions weight-averaged (relative
 * to the seed on the torus, then retracted). Writes at most n clusters to
 * out_x (dim each) and out_w, and returns their count. `taken` is scratch
 * for n flags. */
size_t games_space_aggregate(const games_space *sp, const double *x, const double *w, size_t n,
                             double tau, double *out_x, double *out_w, unsigned char *taken);
#endif
