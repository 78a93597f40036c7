/* nets_meanfield.c — per-step timing of the two_layer kind (mean-field.md
 * §12): B1 PGD step (ReLU, square loss, full batch), B2 MFLD-lifting step,
 * B3 MFLD-bilevel step, at sizes S, M, L, and the machine's dgemm rate on the
 * forward GEMM's shape (the "dgemm bound" of the issue).
 *
 * Usage: nets_meanfield [--threads T] [--sizes S,M,L] [--bench B1,B2,B3]
 *                       [--reps R] [--dump DIR]
 * Prints one line per (bench, size): median and p90 seconds per step,
 * GFLOP/s with the spec's flop counts, and the step time over the dgemm
 * bound. --dump DIR writes the S-size B1 inputs and the particles after one
 * step (raw float64) for the PyTorch script's agreement check (oracle 12).
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ms_kind.h"
#include "ms_params.h"
#include "nets_run_internal.h"

extern const ms_kind nets_two_layer;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *name;
    size_t n, d, m;
} size_def;

/* S, M, L of the spec (§12); X is the orientation point (B1, d = 20,
 * n = 2000, m = 10^4), where the elementwise passes dominate. */
static const size_def sizes[] = {
    {"S", 1000, 20, 100}, {"M", 4000, 100, 1000}, {"L", 20000, 100, 4000}, {"X", 2000, 20, 10000}};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

/* dgemm rate on the forward shape (n×d)(d×m), split in row blocks over
 * `threads` as the library does. */
static double dgemm_rate(size_t n, size_t d, size_t m, int threads) {
    double *x = malloc(n * d * sizeof(double)), *w = malloc(m * d * sizeof(double));
    double *h = malloc(n * m * sizeof(double));
    for (size_t k = 0; k < n * d; k++)
        x[k] = sin((double)k);
    for (size_t k = 0; k < m * d; k++)
        w[k] = cos((double)k);
    double best = INFINITY;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        size_t nb = (n + 255) / 256;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < nb; b++) {
            size_t j0 = b * 256, r = n - j0 < 256 ? n - j0 : 256;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)m, (int)d, 1.0,
                        x + j0 * d, (int)d, w, (int)d, 0.0, h + j0 * m, (int)m);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    free(x);
    free(w);
    free(h);
    return 2.0 * (double)n * (double)m * (double)d / best;
}

static void params_for(nets_2l_params *p, const size_def *s, int bench) {
    ms_params_defaults(&nets__2l_fields, p);
    p->task = 0; /* teacher */
    p->d = (long long)s->d;
    p->n = (long long)s->n;
    p->n_test = 0;
    p->m = (long long)s->m;
    p->lambda = 1e-3;
    p->step = 0.1;
    p->tol = 0;
    p->max_iter = 1000000000;
    p->stream_every = 1000000000;
    p->heavy_every = 1000000000;
    p->return_particles = 0;
    p->method = bench == 1 ? M_PGD : bench == 2 ? M_MFLD_LIFT : M_MFLD_BILEVEL;
    p->tau = 1e-4;
    p->seed = 1;
}

static void run(const size_def *s, int bench, int threads, int reps) {
    nets_2l_params p;
    params_for(&p, s, bench);
    ms_ctx ctx = {threads, NULL};
    ms_err err;
    nets_run *S = calloc(1, sizeof *S);
    if (nets_two_layer.init(S, &p, &ctx, &err) != MS_OK) {
        printf("B%d %s: init failed: %s\n", bench, s->name, err.msg);
        free(S);
        return;
    }
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    int warm = reps / 10 + 2;
    double *t = malloc((size_t)reps * sizeof(double));
    for (int k = 0; k < warm + reps; k++) {
        double t0 = now();
        if (nets_two_layer.step(S, &ctx, &prog, &err) != MS_OK) {
            printf("B%d %s: step failed: %s\n", bench, s->name, err.msg);
            break;
        }
        if (k >= warm)
            t[k - warm] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    double med = t[reps / 2], p90 = t[(reps * 9) / 10], best = t[0];
    double n = (double)s->n, m = (double)s->m, d = (double)s->d + 0;
    double flops = 4 * n * m * d + (bench == 3 ? n * m * m + m * m * m / 3 : 0);
    double rate = dgemm_rate(s->n, s->d, s->m, threads);
    printf("B%d %s n=%zu d=%zu m=%zu threads=%d f64: median %.3f ms  p90 %.3f ms  best %.3f ms"
           "  %.1f GFLOP/s  dgemm %.1f GFLOP/s  step/bound %.2f\n",
           bench, s->name, s->n, s->d, s->m, threads, 1e3 * med, 1e3 * p90, 1e3 * best,
           flops / med * 1e-9, rate * 1e-9, med / (flops / rate));
    fflush(stdout);
    free(t);
    nets_two_layer.fini(S);
    free(S);
    ms_params_free(&nets__2l_fields, &p);
}

static void write_bin(const char *dir, const char *name, const double *v, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.bin", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(v, sizeof(double), n, f) != n)
        exit(1);
    fclose(f);
}

/* Oracle 12 material, S size: the B1 inputs and the particles after one
 * PGD step; the B3 particles θ0, the inner solution r0 at θ0 and θ1 after one
 * noise-free (τ = 0) bilevel step. */
static void dump(const char *dir) {
    for (int bench = 1; bench <= 3; bench += 2) {
        nets_2l_params p;
        params_for(&p, &sizes[0], bench);
        p.tau = 0;
        ms_ctx ctx = {1, NULL};
        ms_err err;
        nets_run *S = calloc(1, sizeof *S);
        if (nets_two_layer.init(S, &p, &ctx, &err) != MS_OK)
            exit(1);
        const size_t m = S->m, md = S->m * S->d;
        if (bench == 1) {
            write_bin(dir, "x", S->x, S->n * S->d);
            write_bin(dir, "y", S->y, S->n);
        }
        write_bin(dir, bench == 1 ? "a0" : "r0", S->a, m);
        write_bin(dir, bench == 1 ? "w0" : "th0", S->w, md);
        ms_progress prog;
        memset(&prog, 0, sizeof prog);
        if (nets_two_layer.step(S, &ctx, &prog, &err) != MS_OK)
            exit(1);
        if (bench == 1)
            write_bin(dir, "a1", S->a, m);
        write_bin(dir, bench == 1 ? "w1" : "th1", S->w, md);
        nets_two_layer.fini(S);
        free(S);
        ms_params_free(&nets__2l_fields, &p);
    }
    printf("dump: S size, B1 and B3 (tau = 0)\n");
}

int main(int argc, char **argv) {
    int threads = 1, reps = 50;
    const char *which = "S,M,L", *benches = "B1,B2,B3";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sizes"))
            which = argv[i + 1];
        else if (!strcmp(argv[i], "--bench"))
            benches = argv[i + 1];
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dump")) {
            dump(argv[i + 1]);
            return 0;
        }
    }
    for (int b = 1; b <= 3; b++) {
        char tag[4];
        snprintf(tag, sizeof tag, "B%d", b);
        if (!strstr(benches, tag))
            continue;
        for (size_t k = 0; k < NSIZES; k++) {
            if (!strstr(which, sizes[k].name))
                continue;
            int r = sizes[k].name[0] == 'L' ? (reps < 10 ? reps : 10) : reps;
            run(&sizes[k], b, threads, r);
        }
    }
    return 0;
}
