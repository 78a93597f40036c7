/* games_space_params.h — the JSON description of a strategy space or
 * domain ({"type", "dim", "period", "low", "high", "radius"}), shared by
 * the `nash` kind (game.x_space / y_space) and the `minmax` kind
 * (x_domain / y_domain): its parameter struct, its field table, its
 * cross-field checks and the conversion to a games_space (games_space.h).
 *
 * Types: torus [0, period)^dim, box [low, high], sphere (unit sphere in
 * R^dim), ball (radius, centred at 0), euclidean (R^dim, unconstrained;
 * low/high give the search box where initial atoms and best-response
 * candidates are drawn, games.md §2's `search_box`).
 *
 * What it is not for: geometry (games_space.h).
 */
#ifndef GAMES_SPACE_PARAMS_H
#define GAMES_SPACE_PARAMS_H

#include <stddef.h>

#include "games_space.h"
#include "ms_params.h"

typedef struct games_space_params {
    int present;
    int type; /* games_space_type (the first five) */
    long long dim;
    double period;
    ms_vec low, high;
    double radius;
} games_space_params;

extern const ms_fields games_space_fields;
extern const char *const games_space_type_names[]; /* NULL-terminated */

/* Checks one space given at JSON path `at` (e.g. "game/x_space"). With
 * want_dim > 0 the dimension is known from elsewhere (minmax: the length
 * of x0) and `dim` may be omitted; with want_dim == 0 it must be given
 * (or implied by low/high). Errors name `at`/field. */
void games_space_params_check(const games_space_params *sp, const char *at, size_t want_dim,
                              ms_errlist *errs);

/* The space (already checked); dim falls back to want_dim when the params
 * do not fix it. */
void games_space_from_params(const games_space_params *sp, size_t want_dim, games_space *out);

/* Its dimension, or 0 when neither dim nor low/high give it. */
size_t games_space_params_dim(const games_space_params *sp);

#endif
