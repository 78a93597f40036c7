/* nets_meanfield.c — per-step timing of the two_layer kind (mean-field.md
 * §12): B1 PGD step (ReLU, square loss, full batch), B2 MFLD-lifting step,
 * B3 MFLD-bilevel step, at sizes S, M, L, and the machine's dgemm rate on the
 * forward GEMM's shape (the "dgemm bound" of the issue); B4, one conic step
 * of the deconvolution kind with m = 100, 1000, 4000 (sizes S, M, L).
 *
 * Usage: nets_meanfield [--threads T] [--sizes S,M,L,X] [--bench B1,B2,B3]
 *                       [--precision f64,f32] [--reps R] [--dump DIR]
 * Prints one line per (bench, size, precision): median and p90 seconds per
 * step, GFLOP/s with the spec's flop counts, and the step time over the
 * dgemm bound (sgemm for float32). --dump DIR writes the S-size B1 inputs and
 * the particles after one step in each precision (raw float64) for the
 * PyTorch script's agreement check (oracle 12).
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
#include "ms_value.h"
#include "nets_run_internal.h"

extern const ms_kind nets_two_layer;
extern const ms_kind nets_deconvolution;

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

/* dgemm (sgemm when single) rate on the forward shape (n×d)(d×m), split in
 * row blocks over `threads` as the library does. */
static double gemm_rate(size_t n, size_t d, size_t m, int threads, int single) {
    double *x = malloc(n * d * sizeof(double)), *w = malloc(m * d * sizeof(double));
    double *h = malloc(n * m * sizeof(double));
    float *xs = (float *)x, *ws = (float *)w, *hs = (float *)h;
    for (size_t k = 0; k < n * d; k++)
        x[k] = sin((double)k);
    for (size_t k = 0; k < m * d; k++)
        w[k] = cos((double)k);
    if (single) {
        for (size_t k = 0; k < n * d; k++)
            xs[k] = (float)x[k];
        for (size_t k = 0; k < m * d; k++)
            ws[k] = (float)w[k];
    }
    double best = INFINITY;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        size_t nb = (n + 255) / 256;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < nb; b++) {
            size_t j0 = b * 256, r = n - j0 < 256 ? n - j0 : 256;
            if (single)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)m, (int)d, 1.0f,
                            xs + j0 * d, (int)d, ws, (int)d, 0.0f, hs + j0 * m, (int)m);
            else
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

static void params_for(nets_2l_params *p, const size_def *s, int bench, int single) {
    ms_params_defaults(&nets__2l_fields, p);
    p->precision = single;
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

static void run(const size_def *s, int bench, int threads, int reps, int single) {
    nets_2l_params p;
    params_for(&p, s, bench, single);
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
    int warm = s->name[0] == 'S' || s->name[0] == 'M' ? 20 : 2; /* spec §12: 20 */
    double *t = malloc((size_t)reps * sizeof(double));
    double n = (double)s->n, m = (double)s->m, d = (double)s->d;
    /* Flops of the step actually taken. B3's inner solve either factors the
     * smaller Gram system (k = min(n, m): the dual n x n one when n < m, as
     * at X; nmk flops to form, k^3/3 to factor), or (nets_bilevel.c) runs
     * CG iterations preconditioned by the last factor: per iteration one
     * pass over Phi (4nm) and two triangular solves (2m^2), plus the first
     * pass (residual and right-hand side, 6nm) and the last (refresh and
     * true residual, 4nm). */
    double k3 = n < m ? n : m, flops = 0, its = 0;
    for (int k = 0; k < warm + reps; k++) {
        double t0 = now();
        if (nets_two_layer.step(S, &ctx, &prog, &err) != MS_OK) {
            printf("B%d %s: step failed: %s\n", bench, s->name, err.msg);
            break;
        }
        if (k < warm)
            continue;
        t[k - warm] = now() - t0;
        double f = 4 * n * m * d, cg = (double)S->bl.cg_iters;
        if (bench == 3)
            f += cg > 0 ? (cg + 2.5) * 4 * n * m + cg * 2 * m * m : n * m * k3 + k3 * k3 * k3 / 3;
        flops += f / reps;
        its += cg / reps;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    double med = t[reps / 2], p90 = t[(reps * 9) / 10], best = t[0];
    double rate = gemm_rate(s->n, s->d, s->m, threads, single);
    printf("B%d %s n=%zu d=%zu m=%zu threads=%d %s: median %.3f ms  p90 %.3f ms  best %.3f ms"
           "  %.1f GFLOP/s  %s %.1f GFLOP/s  step/bound %.2f",
           bench, s->name, s->n, s->d, s->m, threads, single ? "f32" : "f64", 1e3 * med, 1e3 * p90,
           1e3 * best, flops / med * 1e-9, single ? "sgemm" : "dgemm", rate * 1e-9,
           med / (flops / rate));
    if (bench == 3)
        printf("  cg %.1f it/step", its);
    printf("\n");
    fflush(stdout);
    free(t);
    nets_two_layer.fini(S);
    free(S);
    ms_params_free(&nets__2l_fields, &p);
}

/* B4 of §12: one conic step of the deconvolution kind (1-D, Dirichlet
 * K = 8, m0 = 5 planted spikes) with m = 100, 1000, 4000 particles for the
 * sizes S, M, L. The kind works in the grid form (N = 2K + 1 observations:
 * O(Nm) kernel values per step); the spec's torch anchor in the Gram form
 * (O(m²)); both compute the same step (quadrature exact for the Dirichlet
 * kernel, mean-field.md §7), which --dump/--check verifies. The kind's
 * parameters are set by name through its field table. */
static void set_field(const ms_fields *fs, void *p, const char *name, double v) {
    const ms_field *f = ms_fields_find(fs, name);
    char *at = (char *)p + f->offset;
    if (f->type == MS_F_DOUBLE)
        *(double *)at = v;
    else if (f->type == MS_F_INT)
        *(long long *)at = (long long)v;
    else
        *(int *)at = (int)v; /* BOOL, ENUM index */
}

static const size_t b4_m[] = {100, 1000, 4000};

static void *b4_params(size_t m) {
    const ms_fields *fs = nets_deconvolution.params;
    void *p = calloc(1, fs->size);
    ms_params_defaults(fs, p);
    set_field(fs, p, "K", 8);
    set_field(fs, p, "m0", 5);
    set_field(fs, p, "m", (double)m);
    set_field(fs, p, "method", ms_enum_index(ms_fields_find(fs, "method")->choices, "conic"));
    set_field(fs, p, "lambda", 1e-2);
    set_field(fs, p, "alpha", 1e-3);
    set_field(fs, p, "beta", 1e-4);
    set_field(fs, p, "tol", 0);
    set_field(fs, p, "max_iter", 1e9);
    set_field(fs, p, "stream_every", 1e9);
    set_field(fs, p, "heavy_every", 1e9);
    set_field(fs, p, "seed", 1);
    return p;
}

static void run_b4(size_t k, int threads, int reps) {
    const ms_kind *kd = &nets_deconvolution;
    void *p = b4_params(b4_m[k]);
    ms_ctx ctx = {threads, NULL};
    ms_err err;
    void *S = calloc(1, kd->state_size);
    if (kd->init(S, p, &ctx, &err) != MS_OK) {
        printf("B4 %s: init failed: %s\n", sizes[k].name, err.msg);
        exit(1);
    }
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    int warm = 20;
    double *t = malloc((size_t)reps * sizeof(double));
    for (int q = 0; q < warm + reps; q++) {
        double t0 = now();
        if (kd->step(S, &ctx, &prog, &err) != MS_OK) {
            printf("B4 %s: step failed: %s\n", sizes[k].name, err.msg);
            exit(1);
        }
        if (q >= warm)
            t[q - warm] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    printf("B4 %s m=%zu m0=5 K=8 threads=%d f64: median %.3f ms  p90 %.3f ms  best %.3f ms\n",
           sizes[k].name, b4_m[k], threads, 1e3 * t[reps / 2], 1e3 * t[(reps * 9) / 10],
           1e3 * t[0]);
    fflush(stdout);
    free(t);
    kd->fini(S);
    free(S);
    ms_params_free(kd->params, p);
    free(p);
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
 * noise-free (τ = 0) bilevel step; each in float64 and (names with _f32)
 * with precision float32 from the same inputs. */
static void dump(const char *dir) {
    for (int single = 0; single <= 1; single++)
        for (int bench = 1; bench <= 3; bench += 2) {
            nets_2l_params p;
            params_for(&p, &sizes[0], bench, single);
            p.tau = 0;
            ms_ctx ctx = {1, NULL};
            ms_err err;
            nets_run *S = calloc(1, sizeof *S);
            if (nets_two_layer.init(S, &p, &ctx, &err) != MS_OK)
                exit(1);
            const size_t m = S->m, md = S->m * S->d;
            const char *sfx = single ? "_f32" : "";
            char nm[32];
#define NAME(base) (snprintf(nm, sizeof nm, "%s%s", base, sfx), nm)
            if (bench == 1 && !single) {
                write_bin(dir, "x", S->x, S->n * S->d);
                write_bin(dir, "y", S->y, S->n);
            }
            write_bin(dir, NAME(bench == 1 ? "a0" : "r0"), S->a, m);
            write_bin(dir, NAME(bench == 1 ? "w0" : "th0"), S->w, md);
            ms_progress prog;
            memset(&prog, 0, sizeof prog);
            if (nets_two_layer.step(S, &ctx, &prog, &err) != MS_OK)
                exit(1);
            if (bench == 1)
                write_bin(dir, NAME("a1"), S->a, m);
            write_bin(dir, NAME(bench == 1 ? "w1" : "th1"), S->w, md);
#undef NAME
            nets_two_layer.fini(S);
            free(S);
            ms_params_free(&nets__2l_fields, &p);
        }
    /* B4, m = 100: the state before and after one conic step, and the spikes. */
    const ms_kind *kd = &nets_deconvolution;
    void *p = b4_params(b4_m[0]);
    ms_ctx ctx = {1, NULL};
    ms_err err;
    void *S = calloc(1, kd->state_size);
    if (kd->init(S, p, &ctx, &err) != MS_OK)
        exit(1);
    for (int q = 0; q < 2; q++) {
        ms_value *v = ms_value_new_object();
        if (!v || kd->result(S, v, &err) != MS_OK)
            exit(1);
        size_t r, c;
        const ms_value *mu = ms_value_get(v, "signed_measure"), *sp = ms_value_get(v, "spikes");
        const double *rr = ms_value_data(ms_value_get(v, "r"), &r, &c);
        write_bin(dir, q ? "b4_r1" : "b4_r0", rr, r * c);
        const double *th = ms_value_data(ms_value_get(mu, "points"), &r, &c);
        write_bin(dir, q ? "b4_th1" : "b4_th0", th, r * c);
        if (!q) {
            const double *spp = ms_value_data(ms_value_get(sp, "points"), &r, &c);
            write_bin(dir, "b4_sp", spp, r * c);
            const double *spw = ms_value_data(ms_value_get(sp, "weights"), &r, &c);
            write_bin(dir, "b4_sw", spw, r * c);
        }
        ms_value_free(v);
        ms_progress prog;
        memset(&prog, 0, sizeof prog);
        if (!q && kd->step(S, &ctx, &prog, &err) != MS_OK)
            exit(1);
    }
    kd->fini(S);
    free(S);
    ms_params_free(kd->params, p);
    free(p);
    printf("dump: S size, B1 and B3 (tau = 0), float64 and float32; B4 (m = 100)\n");
}

int main(int argc, char **argv) {
    int threads = 1, reps = 50;
    const char *which = "S,M,L", *benches = "B1,B2,B3", *prec = "f64,f32";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sizes"))
            which = argv[i + 1];
        else if (!strcmp(argv[i], "--bench"))
            benches = argv[i + 1];
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--precision"))
            prec = argv[i + 1];
        else if (!strcmp(argv[i], "--dump")) {
            dump(argv[i + 1]);
            return 0;
        }
    }
    for (int b = 1; b <= 4; b++) {
        char tag[4];
        snprintf(tag, sizeof tag, "B%d", b);
        if (!strstr(benches, tag))
            continue;
        for (size_t k = 0; k < NSIZES; k++) {
            if (!strstr(which, sizes[k].name))
                continue;
            if (b == 4) {
                if (k < 3) /* S, M, L: m = 100, 1000, 4000 */
                    run_b4(k, threads, reps);
                continue;
            }
            int r = sizes[k].name[0] == 'L' ? (reps < 10 ? reps : 10) : reps;
            /* Both precisions back to back, so that they see the same load. */
            for (int single = 0; single <= 1; single++)
                if (strstr(prec, single ? "f32" : "f64"))
                    run(&sizes[k], b, threads, r, single);
        }
    }
    return 0;
}
