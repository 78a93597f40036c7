/* test_deep_hist.c — bounded histories keep at most cap evenly spaced rows,
 * the first row and a forced final row. */
#include "test_util.h"

#include "deep_internal.h"

static void thinning_keeps_even_spacing(void **st) {
    (void)st;
    deep__hist h;
    assert_true(deep__hist_init(&h, sizeof(size_t), 10));
    for (size_t i = 0; i < 1000; i++)
        deep__hist_push(&h, &i, i == 999);
    assert_true(h.n <= 10 && h.n >= 5);
    const size_t *first = deep__hist_row(&h, 0);
    assert_int_equal(*first, 0);
    for (size_t i = 0; i + 2 < h.n; i++) {
        const size_t *a = deep__hist_row(&h, i), *b = deep__hist_row(&h, i + 1);
        assert_int_equal(*b - *a, h.stride);
    }
    const size_t *last = deep__hist_row(&h, h.n - 1);
    assert_int_equal(*last, 999);
    deep__hist_fini(&h);
    /* Below the cap nothing is dropped. */
    assert_true(deep__hist_init(&h, sizeof(size_t), 50));
    for (size_t i = 0; i < 50; i++)
        deep__hist_push(&h, &i, 0);
    assert_int_equal(h.n, 50);
    assert_int_equal(h.stride, 1);
    deep__hist_fini(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(thinning_keeps_even_spacing)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
