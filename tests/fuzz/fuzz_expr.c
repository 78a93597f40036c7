/* fuzz_expr.c — libFuzzer target: the payoff expression language
 * (lib/games_expr.h). The input is the source text; it is compiled over
 * x1..x4, y1..y3 with four parameters (one huge, one tiny), and again over
 * y1 alone with none; what compiles is evaluated at three points (zeros, an
 * ordinary point, extreme values) by the reverse sweep and by forward mode.
 *
 * Invariants (abort() when broken): a refusal is MS_EINVAL (or MS_ENOMEM)
 * with no tape, the field named, a message, and a position within the
 * source; a tape uses no variable beyond d, e; evaluation returns one of the
 * three documented codes, and OK means a finite value and finite gradients;
 * both evaluators agree on the value when both succeed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "games_expr.h"

#ifndef FUZZ_REQUIRE
#define FUZZ_REQUIRE(c)                                                                     \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)
#endif

static void fuzz_expr_eval(const games_expr *ex, size_t d, size_t e) {
    static const double pts[3][7] = {{0, 0, 0, 0, 0, 0, 0},
                                     {0.3, -1.7, 2.5, 1, 0.25, 4, -0.5},
                                     {1e308, -0.0, 1e-320, -1e300, 700, -745, 1e-300}};
    size_t n = games_expr_ws_size(ex), nf = games_expr_fwd_ws_size(ex);
    double *ws = malloc((n > nf ? n : nf) * sizeof *ws + 1);
    FUZZ_REQUIRE(ws != NULL);
    for (int p = 0; p < 3; p++) {
        double gx[GAMES_EXPR_MAX_DIM], gy[GAMES_EXPR_MAX_DIM], f = NAN, ff = NAN;
        const double *x = pts[p], *y = pts[p] + 4;
        int rc = games_expr_eval(ex, x, y, &f, gx, gy, ws);
        FUZZ_REQUIRE(rc == GAMES_EXPR_OK || rc == GAMES_EXPR_DOMAIN || rc == GAMES_EXPR_NONFINITE);
        if (rc == GAMES_EXPR_OK) {
            FUZZ_REQUIRE(isfinite(f));
            for (size_t i = 0; i < d; i++)
                FUZZ_REQUIRE(isfinite(gx[i]));
            for (size_t i = 0; i < e; i++)
                FUZZ_REQUIRE(isfinite(gy[i]));
        }
        double v = NAN;
        FUZZ_REQUIRE(games_expr_eval(ex, x, y, &v, NULL, NULL, ws) == rc || rc != GAMES_EXPR_OK);
        int rcf = games_expr_eval_forward(ex, x, y, &ff, gx, gy, ws);
        FUZZ_REQUIRE(rcf == GAMES_EXPR_OK || rcf == GAMES_EXPR_DOMAIN ||
                     rcf == GAMES_EXPR_NONFINITE);
        if (rc == GAMES_EXPR_OK && rcf == GAMES_EXPR_OK)
            FUZZ_REQUIRE(fabs(f - ff) <= 1e-12 * fmax(1, fabs(f)));
    }
    free(ws);
}

static int fuzz_expr(const uint8_t *data, size_t size) {
    if (size > 2 * GAMES_EXPR_MAX_SRC)
        return 0; /* the limit check is one strlen: nothing to learn past it */
    char *src = malloc(size + 1);
    FUZZ_REQUIRE(src != NULL);
    memcpy(src, data, size);
    src[size] = '\0';
    size_t len = strlen(src);
    static const char *const names[] = {"a", "k_2", "big", "tiny"};
    static const double values[] = {0.5, 2, 1e300, -1e-300};
    static const struct { size_t d, e, np; } cfg[2] = {{4, 3, 4}, {0, 1, 0}};
    for (int c = 0; c < 2; c++) {
        games_expr *ex = NULL;
        ms_err err;
        size_t pos = (size_t)-1;
        ms_status s = games_expr_compile(src, cfg[c].d, cfg[c].e, names, values, cfg[c].np,
                                         "game/payoff", "game/params", &ex, &pos, &err);
        if (s != MS_OK) {
            FUZZ_REQUIRE(ex == NULL && err.code == s && (s == MS_EINVAL || s == MS_ENOMEM));
            FUZZ_REQUIRE(err.msg[0] != '\0');
            if (s == MS_EINVAL && strcmp(err.field, "game/payoff") == 0)
                FUZZ_REQUIRE(pos <= len);
            continue;
        }
        FUZZ_REQUIRE(ex != NULL);
        FUZZ_REQUIRE(games_expr_max_x(ex) <= cfg[c].d && games_expr_max_y(ex) <= cfg[c].e);
        FUZZ_REQUIRE(games_expr_length(ex) >= 1);
        fuzz_expr_eval(ex, cfg[c].d, cfg[c].e);
        games_expr_free(ex);
    }
    free(src);
    return 0;
}

#ifndef FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_expr(data, size);
}
#endif
