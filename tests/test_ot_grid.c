/* test_ot_grid.c — the separable grid soft-min against the direct O(N²)
 * log-sum-exp over all pairs of grid points, in 1-D, 2-D and 3-D, in the
 * kernel domain and the log domain, with dropped (-Inf) entries, potentials
 * of large range, batches, thread invariance and allocation failure. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "ms_alloc.h"
#include "ot_grid.h"

/* out[x] = -eps log Σ_y exp((h[y] - |x-y|²)/eps), max-shifted, in long
 * double for a reference an order more accurate than the code under test. */
static void direct(const ot_grid *g, const double *h, double eps, double *out) {
    size_t N = ot_grid_size(g), d = ot_grid_dim(g);
    double *pts = malloc(N * d * sizeof *pts);
    for (size_t i = 0; i < N; i++)
        ot_grid_point(g, i, pts + i * d);
    for (size_t i = 0; i < N; i++) {
        long double M = -INFINITY;
        for (size_t j = 0; j < N; j++) {
            long double c = 0;
            for (size_t a = 0; a < d; a++)
                c += (long double)(pts[i * d + a] - pts[j * d + a]) *
                     (pts[i * d + a] - pts[j * d + a]);
            long double z = ((long double)h[j] - c) / eps;
            M = z > M ? z : M;
        }
        long double S = 0;
        for (size_t j = 0; j < N; j++) {
            long double c = 0;
            for (size_t a = 0; a < d; a++)
                c += (long double)(pts[i * d + a] - pts[j * d + a]) *
                     (pts[i * d + a] - pts[j * d + a]);
            if (h[j] > -INFINITY)
                S += expl(((long double)h[j] - c) / eps - M);
        }
        out[i] = (double)(-(long double)eps * (M + logl(S)));
    }
    free(pts);
}

/* Compare on one grid for several eps, batch 2, threads 1 and 2. */
static void check_grid(size_t d, const size_t *shape, const double *lo, const double *hi,
                       double hscale, uint64_t seed) {
    ms_err err;
    ot_grid *g = ot_grid_alloc(d, shape, lo, hi, 2, &err);
    assert_non_null(g);
    size_t N = ot_grid_size(g);
    double *h = malloc(2 * N * sizeof *h), *out = malloc(2 * N * sizeof *out);
    double *out2 = malloc(2 * N * sizeof *out2), *ref = malloc(N * sizeof *ref);
    for (size_t i = 0; i < 2 * N; i++)
        h[i] = hscale * (2 * test_uniform(&seed) - 1);
    if (N > 4) {
        h[3] = -INFINITY; /* zero weights */
        h[N + N / 2] = -INFINITY;
    }
    double ext = fmax(ot_grid_cost_bound(g), 1.0);
    /* From the kernel domain on every axis down to the log domain. */
    const double ratio[4] = {0.5, 0.05, 0.004, 1e-4};
    for (int e = 0; e < 4; e++) {
        double eps = ext * ratio[e];
        ms_ctx one = {1, NULL}, two = {2, NULL};
        assert_int_equal(ot_grid_softmin(g, h, 2, eps, out, &one), MS_OK);
        assert_int_equal(ot_grid_softmin(g, h, 2, eps, out2, &two), MS_OK);
        assert_memory_equal(out, out2, 2 * N * sizeof(double));
        for (size_t b = 0; b < 2; b++) {
            direct(g, h + b * N, eps, ref);
            for (size_t i = 0; i < N; i++) {
                /* Round-off of an LSE: a few ulps of the potentials' scale. */
                double tol = 1e-13 * (fabs(ref[i]) + hscale + ext);
                if (!(fabs(out[b * N + i] - ref[i]) <= tol))
                    print_error("d=%zu eps=%g b=%zu i=%zu kernel(axis0)=%d\n", d, eps, b, i,
                                ot_grid_kernel_domain(g, 0, eps));
                assert_close(out[b * N + i], ref[i], 0, tol);
            }
        }
    }
    /* In place. */
    memcpy(out, h, 2 * N * sizeof(double));
    assert_int_equal(ot_grid_softmin(g, out, 2, ext * 0.05, out, NULL), MS_OK);
    assert_int_equal(ot_grid_softmin(g, h, 2, ext * 0.05, out2, NULL), MS_OK);
    assert_memory_equal(out, out2, 2 * N * sizeof(double));
    /* More functions than the batch holds. */
    assert_int_equal(ot_grid_softmin(g, h, 3, 1.0, out, NULL), MS_EINVAL);
    free(h);
    free(out);
    free(out2);
    free(ref);
    ot_grid_free(g);
}

static void grid_1d(void **st) {
    (void)st;
    size_t shape[1] = {57};
    double lo[1] = {-1.3}, hi[1] = {2.385};
    check_grid(1, shape, lo, hi, 1.0, 1);
    /* Potentials of a range far beyond 700·eps: the per-line shift keeps
     * the kernel domain exact. */
    check_grid(1, shape, lo, hi, 40.0, 2);
    /* One point. */
    size_t one[1] = {1};
    check_grid(1, one, lo, hi, 1.0, 3);
}

static void grid_2d(void **st) {
    (void)st;
    size_t shape[2] = {13, 9};
    double lo[2] = {0, -0.5}, hi[2] = {1, 0.75};
    check_grid(2, shape, lo, hi, 0.3, 4);
    check_grid(2, shape, lo, hi, 25.0, 5);
    /* Columns beyond one 32-wide SIMD block and a degenerate axis. */
    size_t wide[2] = {6, 70};
    check_grid(2, wide, lo, hi, 1.0, 6);
    size_t flat[2] = {1, 11};
    check_grid(2, flat, lo, hi, 1.0, 7);
}

static void grid_3d(void **st) {
    (void)st;
    size_t shape[3] = {5, 4, 6};
    double lo[3] = {0, 0, 0}, hi[3] = {1, 2, 0.5};
    check_grid(3, shape, lo, hi, 0.5, 8);
}

/* A whole line of -Inf (an empty row of an image) stays out of the sums. */
static void empty_lines(void **st) {
    (void)st;
    size_t shape[2] = {6, 5};
    double lo[2] = {0, 0}, hi[2] = {1, 1};
    ms_err err;
    ot_grid *g = ot_grid_alloc(2, shape, lo, hi, 1, &err);
    double h[30], out[30], ref[30];
    uint64_t seed = 9;
    for (int i = 0; i < 30; i++)
        h[i] = i / 5 == 2 || i % 5 == 4 ? -INFINITY : test_uniform(&seed);
    const double eps[2] = {0.5, 1e-3};
    for (int e = 0; e < 2; e++) {
        assert_int_equal(ot_grid_softmin(g, h, 1, eps[e], out, NULL), MS_OK);
        direct(g, h, eps[e], ref);
        for (int i = 0; i < 30; i++)
            assert_close(out[i], ref[i], 0, 1e-13 * (fabs(ref[i]) + 2));
    }
    ot_grid_free(g);
}

static void bad_and_oom(void **st) {
    (void)st;
    ms_err err;
    size_t shape[4] = {3, 3, 3, 3};
    double lo[4] = {0}, hi[4] = {1, 1, 1, 1};
    assert_null(ot_grid_alloc(4, shape, lo, hi, 1, &err));
    assert_int_equal(err.code, MS_EINVAL);
    size_t zero[1] = {0};
    assert_null(ot_grid_alloc(1, zero, lo, hi, 1, &err));
    for (long k = 0; k < 40; k++) {
        ms_alloc_fail_after(k);
        ot_grid *g = ot_grid_alloc(3, shape, lo, hi, 2, &err);
        ms_alloc_fail_after(-1);
        if (g) {
            ot_grid_free(g);
            break;
        }
        assert_int_equal(err.code, MS_ENOMEM);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grid_1d),     cmocka_unit_test(grid_2d),     cmocka_unit_test(grid_3d),
        cmocka_unit_test(empty_lines), cmocka_unit_test(bad_and_oom),
    };
    return TEST_RUN(tests, NULL, NULL);
}
