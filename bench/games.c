/* bench/games.c — iterations per second of conic particle mirror prox
 * (lib/games_cp.c) on a 1-D random Fourier game (order 3, [P1] §5), and a
 * dump of the game and of the state after a few iterations so that
 * bench/games_numpy.py can run the same update on the same game and check
 * that it computes the same numbers before timing itself.
 *
 * Usage: build/bench/games M N ITERS THREADS [DUMP_FILE | expr]
 * Prints one line: "c cp_mirror_prox m=M n=N threads=T its_per_s=R".
 * With "expr" instead of a dump file, the payoff is the expression
 * cos(2*pi*(x1-y1)) + 0.5*sin(2*pi*x1)*cos(2*pi*y1) evaluated pair by pair
 * (the generic path: tape + reverse sweep per pair).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "games_cp.h"
#include "games_payoff.h"
#include "ms_rng.h"

#define CHECK_ITS 5

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void dump_state(FILE *f, const char *tag, const games_cp *cp) {
    fprintf(f, "%s\n", tag);
    for (size_t i = 0; i < cp->m; i++)
        fprintf(f, "%.17g %.17g\n", cp->s.x[i], cp->s.a[i]);
    for (size_t j = 0; j < cp->n; j++)
        fprintf(f, "%.17g %.17g\n", cp->s.y[j], cp->s.b[j]);
}

int main(int argc, char **argv) {
    size_t m = argc > 1 ? (size_t)atol(argv[1]) : 1000, n = argc > 2 ? (size_t)atol(argv[2]) : 1000;
    int iters = argc > 3 ? atoi(argv[3]) : 200, threads = argc > 4 ? atoi(argv[4]) : 1;
    const char *dump = argc > 5 ? argv[5] : NULL;
    int expr = dump && strcmp(dump, "expr") == 0;
    games_payoff p;
    ms_err err;
    if (expr) {
        games_expr *ex = NULL;
        if (games_expr_compile("cos(2*pi*(x1-y1)) + 0.5*sin(2*pi*x1)*cos(2*pi*y1)", 1, 1, NULL,
                               NULL, 0, "payoff", "params", &ex, NULL, &err) != MS_OK ||
            games_payoff_init_expr(&p, ex, 1, 1) != MS_OK) {
            fprintf(stderr, "payoff: %s\n", err.msg);
            return 1;
        }
        dump = NULL;
    } else if (games_payoff_init_family(&p, GAMES_FAM_RANDOM_FOURIER, 1, 1, 3, 3, sqrt(0.5), 1, 0,
                                        0, 0, 0, &err) != MS_OK) {
        fprintf(stderr, "payoff: %s\n", err.msg);
        return 1;
    }
    games_space t = {.type = GAMES_TORUS, .dim = 1, .period = 1};
    games_cp cp;
    if (games_cp_init(&cp, &p, &t, &t, m, n, (size_t)threads) != MS_OK)
        return 1;
    ms_rng r;
    ms_rng_init(&r, 1, 1);
    for (size_t i = 0; i < m; i++)
        cp.s.x[i] = ms_rng_uniform(&r);
    for (size_t j = 0; j < n; j++)
        cp.s.y[j] = ms_rng_uniform(&r);
    cp.K = 2;
    cp.true_prox = 1;
    cp.eta_a = cp.eta_b = 0.04;
    cp.eta_x = cp.eta_y = 5e-4;
    ms_ctx ctx = {threads, NULL};
    FILE *f = dump ? fopen(dump, "w") : NULL;
    if (f) {
        fprintf(f, "%zu %zu %zu %zu %d %.17g %.17g\n", m, n, p.Kx, p.Ky, CHECK_ITS, cp.eta_a,
                cp.eta_x);
        for (size_t k = 0; k < p.Fx * p.Fy; k++)
            fprintf(f, "%.17g %.17g\n", p.C[2 * k], p.C[2 * k + 1]);
        dump_state(f, "initial", &cp);
    }
    for (int it = 0; it < CHECK_ITS; it++)
        if (games_cp_step(&cp, &ctx) != 0)
            return 1;
    if (f) {
        dump_state(f, "after", &cp);
        fclose(f);
    }
    double t0 = now();
    for (int it = 0; it < iters; it++)
        if (games_cp_step(&cp, &ctx) != 0)
            return 1;
    double dt = now() - t0;
    printf("c cp_mirror_prox%s m=%zu n=%zu threads=%d its_per_s=%.2f local_gap=%.3g\n",
           expr ? " (expression payoff)" : "", m, n, threads, iters / dt, cp.local_ni);
    games_cp_fini(&cp);
    games_payoff_fini(&p);
    return 0;
}
