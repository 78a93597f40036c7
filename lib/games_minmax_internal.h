/* games_minmax_internal.h — the `minmax` kind's parameter struct, described
 * by its field table in games_minmax.c (and read by its tests). Not a public
 * header. */
#ifndef GAMES_MINMAX_INTERNAL_H
#define GAMES_MINMAX_INTERNAL_H

#include "games_space_params.h"
#include "ms_params.h"

typedef struct games_minmax_quad {
    int present;
    ms_mat P, B, Q;
} games_minmax_quad;

typedef struct games_minmax_params {
    char *payoff;
    ms_dict params;
    games_minmax_quad quadratic;
    ms_vec x0, y0, etas, reference;
    int method;
    double eta, tol, fd_step, nash_tol;
    long long seed, threads, max_iter, pp_max_inner;
    int diagnostics;
    int diagnose_at; /* 0 final, 1 reference */
    games_space_params x_domain, y_domain;
    double expr_budget;
} games_minmax_params;

#endif
