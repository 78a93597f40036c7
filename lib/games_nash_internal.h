/* games_nash_internal.h — the `nash` kind's parameter structs, shared by its
 * field tables and checks (games_nash_params.c) and its solver
 * (games_nash.c). Not a public header. */
#ifndef GAMES_NASH_INTERNAL_H
#define GAMES_NASH_INTERNAL_H

#include "games_br.h"
#include "games_expr.h"
#include "games_payoff.h"
#include "games_space.h"
#include "games_space_params.h"
#include "ms_kind.h"
#include "ms_params.h"

typedef struct games_game_params {
    int present;
    ms_mat matrix;
    char *payoff;
    ms_dict params;
    int family; /* games_family, -1 = absent */
    long long order_x, order_y, seed;
    double coef_std, beta, gamma, delta, epsilon;
    ms_mat data;
    ms_vec labels;
    int activation;
    long long power, adversaries;
    double radius;
    games_space_params x_space, y_space;
} games_game_params;

typedef enum {
    NASH_AUTO,
    NASH_LP,
    NASH_MIRROR_PROX,
    NASH_MIRROR_DESCENT,
    NASH_CP_MIRROR_PROX,
    NASH_CP_MDA,
    NASH_CP_PROXIMAL_POINT,
    NASH_FIXED_SUPPORT
} games_nash_method;

typedef struct games_nash_params {
    games_game_params game;
    int method;
    long long seed, threads, max_iter, inner_steps;
    double tol, eta;
    ms_vec p0, q0;
    long long particles_x, particles_y;
    int init;         /* 0 grid, 1 random */
    int fixed_solver; /* 0 mirror_prox, 1 lp */
    ms_measure x_init, y_init, reference_x, reference_y;
    double lyap_alpha, lyap_lambda, lyap_tau;
    double eta_w, eta_pos;
    int true_prox;
    long long ni_every, ni_grid_max, ni_starts, report_every, max_halvings;
    double ni_grid_step, tau_agg, tol_local, eta_pos_x;
    long long patience;
    double expr_budget;
} games_nash_params;

extern const ms_fields games_nash__fields;
ms_status games_nash__check(const void *params, ms_errlist *errs);

/* Payoff of a continuous game (already checked). */
ms_status games_nash__payoff(const games_game_params *g, long long job_seed, const games_space *X,
                             const games_space *Y, games_payoff *out, ms_err *err);
/* 1 for the two-layer network families (spaces set by the kind). */
int games_nash__is_net(const games_game_params *g);
/* The method `auto` resolves to. */
games_nash_method games_nash__method(const games_nash_params *P);
/* Inner steps K (inner_steps or the method's default). */
size_t games_nash__inner_steps(const games_nash_params *P);
/* Atoms a player starts with: the given measure's, `want` random ones, or
 * the grid's count (see games_nash.c). */
size_t games_nash__atom_count(const games_space *sp, const ms_measure *given, long long want,
                              int random);
/* Best-response search settings on a space (the 8 best candidates refined
 * by at most 50 ascent steps). */
games_br_opts games_nash__br_opts(const games_nash_params *P, const games_space *sp);
/* Estimated work of a payoff expression over a whole run (games.md §2,
 * admission), in tape nodes × (d + e + 1) units; *per_iter and *in_gaps
 * receive the pair evaluations per iteration and in all gap searches. */
double games_nash__expr_work(const games_nash_params *P, const games_expr *ex, const games_space *X,
                             const games_space *Y, double *per_iter, double *in_gaps);

#endif
