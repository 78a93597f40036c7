/* test_ms_vmath.c — the vector exp and log-sum-exp against libm. */
#include "test_util.h"

#include <float.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_simd_internal.h"
#include "ms_vmath.h"
#include "ms_vmath_internal.h"

/* Distance in units in the last place between two doubles of equal sign. */
static double ulp_diff(double a, double b) {
    if (a == b)
        return 0;
    if (!isfinite(a) || !isfinite(b))
        return INFINITY;
    double u = nextafter(fabs(b), INFINITY) - fabs(b);
    return fabs(a - b) / u;
}

static void exp_matches_libm_over_the_whole_range(void **st) {
    (void)st;
    enum { N = 1 << 20 };
    double *x = ms_malloc(N, sizeof *x), *y = ms_malloc(N, sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    uint64_t s = 7;
    for (size_t i = 0; i < N; i++)
        x[i] = -760.0 + 1480.0 * test_uniform(&s);
    /* Points around the edges of each path. */
    const double edges[] = {0.0,      -0.0,   1e-300, -1e-300, 708.0,   709.0,  709.5,
                            709.7827, 709.79, -708.0, -708.5,  -744.0,  -745.0, -745.13,
                            -745.2,   -1000,  1000,   0.34657, -0.34657};
    memcpy(x, edges, sizeof edges);
    for (int level = 0; level <= ms__simd_level(); level++) {
        ms__vexp_level(x, y, N - 3, level); /* odd length exercises the tail */
        double worst = 0;
        for (size_t i = 0; i < N - 3; i++) {
            double ref = exp(x[i]);
            double d = ulp_diff(y[i], ref);
            if (ref < DBL_MIN) /* subnormal results: absolute error */
                d = fabs(y[i] - ref) / 4.9406564584124654e-324;
            if (d > worst)
                worst = d;
            if (d > 2) {
                print_error("exp(%.17g): got %.17g, libm %.17g (%.1f ulp)\n", x[i], y[i], ref, d);
                fail();
            }
        }
        print_message("vexp worst error %.2f ulp (level %d)\n", worst, level);
    }
    ms_free(x);
    ms_free(y);
}

static void exp_special_values(void **st) {
    (void)st;
    double x[9] = {NAN, INFINITY, -INFINITY, 0, 1, -1, 710, -746, 2};
    double y[9];
    for (int level = 0; level <= ms__simd_level(); level++) {
        ms__vexp_level(x, y, 9, level);
        assert_true(isnan(y[0]));
        assert_true(isinf(y[1]) && y[1] > 0);
        assert_true(y[2] == 0);
        assert_true(y[3] == 1);
        assert_close(y[4], M_E, 2e-16, 0);
        assert_close(y[5], 1 / M_E, 2e-16, 0);
        assert_true(isinf(y[6]));
        assert_true(y[7] == 0);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512dq"))) static void fast_exp8(const double *x, double *y) {
    _mm512_storeu_pd(y, ms__exp8_fast(_mm512_loadu_pd(x)));
}
#endif

/* The soft-min kernels' exp: within 2 ulp on [-745, 709], 0 at -Inf and
 * below -746, NaN kept. */
static void fast_exp_accuracy(void **st) {
    (void)st;
#if defined(__x86_64__) && defined(__GNUC__)
    if (ms__simd_level() < MS__SIMD_AVX512) {
        print_message("no AVX-512: skipped\n");
        return;
    }
    uint64_t s = 11;
    double worst = 0;
    for (int it = 0; it < 200000; it++) {
        double x[8], y[8];
        for (int k = 0; k < 8; k++)
            x[k] = it < 10 ? -745.0 + k * 0.01 * it : -745.0 + 1454.0 * test_uniform(&s);
        fast_exp8(x, y);
        for (int k = 0; k < 8; k++) {
            double ref = exp(x[k]);
            double d =
                ref < DBL_MIN ? fabs(y[k] - ref) / 4.9406564584124654e-324 : ulp_diff(y[k], ref);
            worst = d > worst ? d : worst;
            if (d > 2)
                fail_msg("fast exp(%.17g) = %.17g, libm %.17g (%.1f ulp)", x[k], y[k], ref, d);
        }
    }
    double x[8] = {-INFINITY, -746.5, -1e300, 0, NAN, 709.7, 1e-300, -0.0}, y[8];
    fast_exp8(x, y);
    assert_true(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 1);
    assert_true(isnan(y[4]));
    assert_close(y[5], exp(709.7), 4e-16, 0);
    assert_true(y[6] == 1 && y[7] == 1);
    print_message("fast exp worst error %.2f ulp\n", worst);
#endif
}

static void lse_is_overflow_safe(void **st) {
    (void)st;
    double x[5] = {1000, 1000, 1000, 1000, -INFINITY};
    assert_close(ms_lse(x, 5), 1000 + log(4.0), 1e-15, 0);
    double y[3] = {-1e6, -1e6 + log(2.0), -INFINITY};
    assert_close(ms_lse(y, 3), -1e6 + log(3.0), 1e-15, 0);
    double z[2] = {-INFINITY, -INFINITY};
    assert_true(isinf(ms_lse(z, 2)) && ms_lse(z, 2) < 0);
    assert_true(isinf(ms_lse(z, 0)));
    double w[6] = {0.5, 2.385, -1, 3, 0, 1};
    double ref = log(exp(0.5) + exp(2.385) + exp(-1));
    assert_close(ms_lse_strided(w, 3, 1), ref, 1e-15, 0);
    assert_close(ms_lse_strided(w, 3, 2), log(exp(0.5) + exp(-1) + exp(0)), 1e-15, 0);
}

static void sum_exp_all_lengths(void **st) {
    (void)st;
    double x[40];
    uint64_t s = 3;
    for (int i = 0; i < 40; i++)
        x[i] = 4 * test_uniform(&s) - 2;
    for (size_t n = 0; n <= 40; n++) {
        double ref = 0;
        for (size_t i = 0; i < n; i++)
            ref += exp(x[i] - 0.7);
        for (int level = 0; level <= ms__simd_level(); level++)
            assert_close(ms__sum_exp_level(x, n, 0.7, level), ref, 1e-14, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_matches_libm_over_the_whole_range),
        cmocka_unit_test(exp_special_values),
        cmocka_unit_test(fast_exp_accuracy),
        cmocka_unit_test(lse_is_overflow_safe),
        cmocka_unit_test(sum_exp_all_lengths),
    };
    return TEST_RUN(tests, NULL, NULL);
}
