/* games_space_params.c — strategy spaces as parameters. See
 * games_space_params.h. */
#include "games_space_params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAN_ NAN
const char *const games_space_type_names[] = {"torus", "box", "sphere", "ball", "euclidean", NULL};

static const ms_field space_f[] = {
    {"type", MS_F_ENUM, offsetof(games_space_params, type), MS_FF_REQUIRED, 0, 0, NAN_, NULL,
     games_space_type_names, NULL, 0,
     "torus [0, period)^dim (coordinates wrap), box [low, high] (clamped), sphere (unit sphere "
     "in R^dim), ball (radius, centred at 0; radial projection) or euclidean (R^dim, "
     "unconstrained; low/high bound the search box of initial atoms and best responses)."},
    {"dim", MS_F_INT, offsetof(games_space_params, dim), MS_FF_MIN | MS_FF_MAX, 1,
     GAMES_SPACE_MAX_DIM, NAN_, NULL, NULL, NULL, 0,
     "Dimension (torus, sphere: ambient, ball); for a box or euclidean space, the length of "
     "low/high. minmax domains: defaults to the length of x0 / y0."},
    {"period", MS_F_DOUBLE, offsetof(games_space_params, period), MS_FF_MIN_EXCL, 0, 0, 1.0, NULL,
     NULL, NULL, 0, "Torus period."},
    {"low", MS_F_VEC, offsetof(games_space_params, low), 0, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_SPACE_MAX_DIM, "Box: lower corner (euclidean: of the search box)."},
    {"high", MS_F_VEC, offsetof(games_space_params, high), 0, 0, 0, NAN_, NULL, NULL, NULL,
     GAMES_SPACE_MAX_DIM,
     "Box: upper corner, high > low per coordinate (euclidean: of the search "
     "box)."},
    {"radius", MS_F_DOUBLE, offsetof(games_space_params, radius), MS_FF_MIN_EXCL, 0, 0, 1.0, NULL,
     NULL, NULL, 0, "Ball radius."},
};
const ms_fields games_space_fields = MS_FIELDS(games_space_params, space_f);

static int has_corners(const games_space_params *sp) {
    return sp->type == GAMES_BOX || sp->type == GAMES_EUCLIDEAN;
}

size_t games_space_params_dim(const games_space_params *sp) {
    if (has_corners(sp))
        return sp->low.v ? sp->low.n : 0;
    return sp->dim >= 1 && sp->dim <= GAMES_SPACE_MAX_DIM ? (size_t)sp->dim : 0;
}

void games_space_from_params(const games_space_params *sp, size_t want_dim, games_space *out) {
    memset(out, 0, sizeof *out);
    out->type = (games_space_type)sp->type;
    out->period = sp->period;
    out->radius = sp->radius;
    if (has_corners(sp)) {
        out->dim = sp->low.n;
        memcpy(out->low, sp->low.v, sp->low.n * sizeof(double));
        memcpy(out->high, sp->high.v, sp->high.n * sizeof(double));
    } else {
        out->dim = sp->dim != MS_INT_ABSENT ? (size_t)sp->dim : want_dim;
    }
}

void games_space_params_check(const games_space_params *sp, const char *at, size_t want_dim,
                              ms_errlist *errs) {
    char f[MS_ERR_FIELD_MAX];
    const char *tname = games_space_type_names[sp->type];
    if (has_corners(sp)) {
        if (!sp->low.v || !sp->high.v) {
            snprintf(f, sizeof f, "%s/%s", at, sp->low.v ? "high" : "low");
            ms_errlist_addf(errs, MS_EINVAL, f, "is required for a %s", tname);
            return;
        }
        if (sp->low.n != sp->high.n || sp->low.n == 0) {
            snprintf(f, sizeof f, "%s/high", at);
            ms_errlist_addf(errs, MS_EINVAL, f, "has %zu entries, low has %zu", sp->high.n,
                            sp->low.n);
            return;
        }
        if (want_dim && sp->low.n != want_dim) {
            snprintf(f, sizeof f, "%s/low", at);
            ms_errlist_addf(errs, MS_EINVAL, f, "has %zu entries, the variable has %zu", sp->low.n,
                            want_dim);
            return;
        }
        if (sp->dim != MS_INT_ABSENT && (size_t)sp->dim != sp->low.n) {
            snprintf(f, sizeof f, "%s/dim", at);
            ms_errlist_addf(errs, MS_EINVAL, f, "is %lld but low has %zu entries", sp->dim,
                            sp->low.n);
        }
        for (size_t c = 0; c < sp->low.n; c++)
            if (!(sp->high.v[c] > sp->low.v[c])) {
                char lo[32];
                ms_fmt_double(lo, sizeof lo, sp->low.v[c]);
                snprintf(f, sizeof f, "%s/high/%zu", at, c);
                ms_errlist_addf(errs, MS_EINVAL, f, "must be > low (%s)", lo);
                return;
            }
        return;
    }
    snprintf(f, sizeof f, "%s/dim", at);
    if (sp->dim == MS_INT_ABSENT && !want_dim) {
        ms_errlist_addf(errs, MS_EINVAL, f, "is required for a %s", tname);
        return;
    }
    if (sp->dim != MS_INT_ABSENT && want_dim && (size_t)sp->dim != want_dim) {
        ms_errlist_addf(errs, MS_EINVAL, f, "is %lld, the variable has %zu entries", sp->dim,
                        want_dim);
        return;
    }
    long long dim = sp->dim != MS_INT_ABSENT ? sp->dim : (long long)want_dim;
    if (sp->type == GAMES_SPHERE && dim < 2)
        ms_errlist_addf(errs, MS_EINVAL, f, "a sphere needs dim >= 2, got %lld", dim);
}
