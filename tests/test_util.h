/* test_util.h — what every cmocka suite includes first.
 *
 * Debian 12 ships cmocka 1.1.5: its headers need <stdarg.h>, <stddef.h>,
 * <stdint.h> and <setjmp.h> first, and it has no double assertion (its float
 * one rounds to float), so suites compare doubles with assert_close.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

/* |a - b| <= atol + rtol·|b|, printing both values and the location. */
#define assert_close(a, b, rtol, atol) \
    test_assert_close((double)(a), (double)(b), (rtol), (atol), #a, #b, __FILE__, __LINE__)

static inline void test_assert_close(double a, double b, double rtol, double atol, const char *sa,
                                     const char *sb, const char *file, int line) {
    if (!(fabs(a - b) <= atol + rtol * fabs(b))) {
        print_error("%s:%d: %s = %.17g not close to %s = %.17g (diff %.3g, rtol %g, atol %g)\n",
                    file, line, sa, a, sb, b, fabs(a - b), rtol, atol);
        _fail(file, line);
    }
}

/* Run a suite, honouring TEST_FILTER (a cmocka glob on test names), so one
 * test can be run alone: TEST_FILTER=gaussian* build/tests/test_ot_eot. */
#include <stdlib.h>
#define TEST_RUN(tests, setup, teardown)                                              \
    (getenv("TEST_FILTER") ? cmocka_set_test_filter(getenv("TEST_FILTER")) : (void)0, \
     cmocka_run_group_tests(tests, setup, teardown))

/* Seeded uniform numbers for test fixtures (no rand()). */
static inline double test_uniform(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

#endif
