/* bench/ot_sinkhorn.c — time per Sinkhorn iteration of the `ot` engine and
 * the machine's exp-throughput bound, on the data bench/ot_data.py wrote.
 *
 *   build/bench/ot_sinkhorn DATA.bin N EPS THREADS ITERS [matrix]
 *   build/bench/ot_sinkhorn --bound          (exp throughput, G/s)
 *   build/bench/ot_sinkhorn --memory N D     (peak RSS of a point-cloud solve)
 *
 * DATA.bin: 2·N·2 float64 (source then target points, 2-D). Prints one JSON
 * line per measurement for bench/ot.sh to tabulate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ms_rng.h"
#include "ms_softmin.h"
#include "ms_vmath.h"
#include "ot_sinkhorn.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exp throughput on L1-resident data: the bound every soft-min pass meets. */
static double exp_rate(void) {
    enum { N = 4096, R = 4000 };
    static double x[N];
    for (int i = 0; i < N; i++)
        x[i] = -(double)(i % 700) * 0.01;
    double best = 0, sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t = now();
        for (int r = 0; r < R; r++)
            sink += ms_sum_exp(x, N, 0.0);
        t = now() - t;
        double rate = (double)N * R / t;
        best = rate > best ? rate : best;
    }
    if (sink == 0)
        printf("impossible\n");
    return best;
}

static int memory_mode(size_t n, size_t d) {
    ms_rng r;
    ms_rng_init(&r, 1, 0);
    double *x = malloc(n * d * sizeof *x), *y = malloc(n * d * sizeof *y);
    double *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n * d; i++) {
        x[i] = ms_rng_uniform(&r);
        y[i] = ms_rng_uniform(&r);
    }
    for (size_t i = 0; i < n; i++)
        a[i] = 1.0 / (double)n;
    ms_softmin *K = ms_softmin_points(x, n, y, n, d, NULL);
    ot_sinkhorn *S = ot_sinkhorn_alloc(K, a, a, INFINITY, 0, NULL);
    ms_ctx ctx = {2, NULL};
    double err;
    int stopped;
    double t = now();
    for (int k = 0; k < 2; k++)
        ot_sinkhorn_iterate(S, 0.05, -1, &ctx, &err, &stopped);
    t = now() - t;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"mode\": \"memory\", \"n\": %zu, \"d\": %zu, \"max_rss_mb\": %.1f, "
           "\"s_per_iter\": %.2f}\n",
           n, d, ru.ru_maxrss / 1024.0, t / 2);
    ot_sinkhorn_free(S);
    ms_softmin_free(K);
    free(x);
    free(y);
    free(a);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--bound") == 0) {
        printf("{\"mode\": \"bound\", \"isa\": \"%s\", \"gexp_per_s\": %.3f}\n", ms_vmath_isa(),
               exp_rate() / 1e9);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "--memory") == 0)
        return memory_mode((size_t)atol(argv[2]), (size_t)atol(argv[3]));
    if (argc < 6) {
        fprintf(stderr, "usage: %s DATA.bin N EPS THREADS ITERS [matrix]\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)atol(argv[2]);
    double eps = atof(argv[3]);
    int threads = atoi(argv[4]), iters = atoi(argv[5]);
    int matrix = argc > 6 && strcmp(argv[6], "matrix") == 0;
    double *xy = malloc(4 * n * sizeof *xy), *a = malloc(n * sizeof *a);
    FILE *fh = fopen(argv[1], "rb");
    if (!fh || fread(xy, sizeof(double), 4 * n, fh) != 4 * n) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(fh);
    for (size_t i = 0; i < n; i++)
        a[i] = 1.0 / (double)n;
    ms_softmin *K;
    if (matrix) {
        double *c = malloc(n * n * sizeof *c);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double dx = xy[2 * i] - xy[2 * n + 2 * j],
                       dy = xy[2 * i + 1] - xy[2 * n + 2 * j + 1];
                c[i * n + j] = dx * dx + dy * dy;
            }
        K = ms_softmin_matrix(c, n, n, n, NULL);
        free(c);
    } else {
        K = ms_softmin_points(xy, n, xy + 2 * n, n, 2, NULL);
    }
    ot_sinkhorn *S = ot_sinkhorn_alloc(K, a, a, INFINITY, 0, NULL);
    ot_sinkhorn_set_omega(S, 1.0); /* plain iterations, comparable to POT's */
    ms_ctx ctx = {threads, NULL};
    double err;
    int stopped;
    /* Warm up: a few iterations at eps so hints are in place, as in a run. */
    for (int k = 0; k < 3; k++)
        ot_sinkhorn_iterate(S, eps, -1, &ctx, &err, &stopped);
    double *t = malloc((size_t)iters * sizeof *t);
    for (int k = 0; k < iters; k++) {
        double t0 = now();
        ot_sinkhorn_iterate(S, eps, -1, &ctx, &err, &stopped);
        t[k] = now() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp);
    ot_values v;
    ot_sinkhorn_values(S, eps, &ctx, &v);
    printf("{\"mode\": \"%s\", \"n\": %zu, \"eps\": %g, \"threads\": %d, "
           "\"ms_per_iter\": %.3f, \"finite\": %s, \"plan_mass\": %.17g, "
           "\"marginal_error\": %.3e}\n",
           matrix ? "measured-matrix" : "measured-points", n, eps, threads, 1e3 * t[iters / 2],
           isfinite(v.objective) ? "true" : "false", v.mass, v.marginal_error);
    free(t);
    ot_sinkhorn_free(S);
    ms_softmin_free(K);
    free(xy);
    free(a);
    return 0;
}
