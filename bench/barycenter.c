/* bench/barycenter.c — time the `barycenter` kind on the grids of
 * bench/barycenter.sh (the same data as bench/barycenter_pot.py builds).
 *
 *   barycenter 1d N LAMBDA ITERS THREADS [OUT]
 *   barycenter 2d N LAMBDA ITERS THREADS [OUT]
 *
 * 1d: N points on [0,1], K = 3 Gaussian histograms; 2d: an N×N grid on
 * [0,1]², K = 3 Gaussian blobs; weights (0.2, 0.3, 0.5); tau = lambda (the
 * problem POT's barycenter and convolutional_barycenter2d solve). ITERS > 0:
 * exactly ITERS damped Sinkhorn iterations from zero potentials with no
 * lambda-scaling (POT's iteration, started the same way) and the median
 * time per iteration over them; ITERS = 0: solve to tol 1e-12 with the
 * defaults. Prints one line of key=value pairs; OUT receives the weights.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ms_kind.h"
#include "registry.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Address of a (nested, "a/b") field of params p; marks objects present. */
static void *field(const ms_kind *k, void *p, const char *path) {
    const ms_fields *fs = k->params;
    char *base = p, name[64];
    snprintf(name, sizeof name, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(name, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        const ms_field *f = ms_fields_find(fs, part);
        if (!f) {
            fprintf(stderr, "no field %s\n", path);
            exit(2);
        }
        base += f->offset;
        if (f->type == MS_F_OBJECT) {
            *(int *)base = 1;
            fs = f->sub;
        }
    }
    return base;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s 1d|2d N LAMBDA ITERS THREADS [OUT]\n", argv[0]);
        return 2;
    }
    int two = strcmp(argv[1], "2d") == 0;
    size_t n = (size_t)atol(argv[2]), N = two ? n * n : n;
    double lam = atof(argv[3]);
    long iters = atol(argv[4]);
    int threads = atoi(argv[5]);
    const ms_kind *K = ms_registry_find("barycenter");
    void *p = calloc(1, K->params->size);
    ms_params_defaults(K->params, p);
    ms_vec *shape = field(K, p, "grid/shape");
    ms_mat *bounds = field(K, p, "grid/bounds");
    ms_mat *values = field(K, p, "grid/values");
    ms_vec *w = field(K, p, "weights");
    size_t d = two ? 2 : 1;
    ms_vec_alloc(shape, d);
    ms_mat_alloc(bounds, d, 2);
    ms_mat_alloc(values, 3, N);
    ms_vec_alloc(w, 3);
    for (size_t a = 0; a < d; a++) {
        shape->v[a] = (double)n;
        bounds->v[2 * a] = 0;
        bounds->v[2 * a + 1] = 1;
    }
    const double wt[3] = {0.2, 0.3, 0.5};
    const double m1[3] = {0.25, 0.5, 0.75}, s1[3] = {0.05, 0.08, 0.06};
    const double cx[3] = {0.3, 0.7, 0.5}, cy[3] = {0.3, 0.4, 0.7}, s2[3] = {0.08, 0.1, 0.06};
    for (int k = 0; k < 3; k++) {
        w->v[k] = wt[k];
        double tot = 0;
        for (size_t i = 0; i < N; i++) {
            double v;
            if (two) {
                double x = (double)(i / n) / (double)(n - 1), y = (double)(i % n) / (double)(n - 1);
                v = exp(-((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k])) /
                        (2 * s2[k] * s2[k]));
            } else {
                double x = (double)i / (double)(n - 1);
                v = exp(-(x - m1[k]) * (x - m1[k]) / (2 * s1[k] * s1[k]));
            }
            values->v[k * N + i] = v;
            tot += v;
        }
        for (size_t i = 0; i < N; i++)
            values->v[k * N + i] /= tot;
    }
    *(double *)field(K, p, "lambda") = lam;
    *(double *)field(K, p, "tau") = lam;
    *(long long *)field(K, p, "threads") = threads;
    if (iters > 0) {
        *(double *)field(K, p, "tol") = 0;
        *(long long *)field(K, p, "max_iter") = iters;
        *(int *)field(K, p, "lambda_scaling") = 0;
        *(long long *)field(K, p, "gap_every") = 1000000000;
    } else {
        *(double *)field(K, p, "tol") = 1e-12;
        *(long long *)field(K, p, "max_iter") = 1000000;
        *(long long *)field(K, p, "gap_every") = 1000000000;
    }
    ms_errlist errs;
    ms_errlist_clear(&errs);
    if (ms_kind_validate(K, p, &errs) != MS_OK) {
        fprintf(stderr, "invalid: %s: %s\n", errs.e[0].field, errs.e[0].msg);
        return 1;
    }
    ms_ctx ctx = {threads, NULL};
    ms_err err;
    void *state = calloc(1, K->state_size);
    if (K->init(state, p, &ctx, &err) != MS_OK) {
        fprintf(stderr, "init: %s\n", err.msg);
        return 1;
    }
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    size_t cap = iters > 0 ? (size_t)iters : 1000000, steps = 0;
    double *t = malloc(cap * sizeof *t), t0 = now();
    while (!prog.done) {
        double a = now();
        if (K->step(state, &ctx, &prog, &err) != MS_OK) {
            fprintf(stderr, "step: %s\n", err.msg);
            return 1;
        }
        if (steps < cap)
            t[steps] = now() - a;
        steps++;
    }
    double total = now() - t0;
    /* The last iteration also evaluates the primal objective: leave it out. */
    size_t nt = steps > 1 ? steps - 1 : steps;
    qsort(t, nt, sizeof *t, cmp);
    ms_value *out = ms_value_new_object();
    K->result(state, out, &err);
    size_t r, c;
    const double *mu = ms_value_data(ms_value_get(ms_value_get(out, "support"), "weights"), &r, &c);
    double mass = 0;
    int finite = 1;
    for (size_t i = 0; i < c; i++) {
        mass += mu[i];
        finite &= isfinite(mu[i]) != 0;
    }
    printf("ms_per_iter=%.3f iterations=%zu total_s=%.3f converged=%d mass=%.15f finite=%d "
           "gap=%.3g\n",
           1e3 * t[nt / 2], steps, total, (int)ms_value_getnum(out, "converged"), mass, finite,
           ms_value_getnum(out, "duality_gap"));
    if (argc > 6) {
        FILE *fh = fopen(argv[6], "w");
        for (size_t i = 0; i < c; i++)
            fprintf(fh, "%.17g\n", mu[i]);
        fclose(fh);
    }
    ms_value_free(out);
    K->fini(state);
    free(state);
    free(t);
    ms_params_free(K->params, p);
    free(p);
    return 0;
}
