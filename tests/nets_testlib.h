/* nets_testlib.h — helpers shared by the tests/test_nets_*.c suites: build
 * defaulted params for a nets kind, run it, read results. Header-only
 * (static functions) so each suite stays one executable. */
#ifndef NETS_TESTLIB_H
#define NETS_TESTLIB_H

#include "test_util.h"

#include <string.h>

#include "kind_harness.h"
#include "ms_alloc.h"
#include "ms_params.h"

/* The test build links the fault-injecting allocator (ms_alloc.h). */
#ifndef MS_FAULT_INJECTION
void ms_alloc_fail_after(long n);
#endif

/* Fill a MAT field from rows×cols doubles (copied). */
static inline void nt_set_mat(ms_mat *m, const double *v, size_t rows, size_t cols) {
    assert_int_equal(ms_mat_alloc(m, rows, cols), MS_OK);
    memcpy(m->v, v, rows * cols * sizeof(double));
}

static inline void nt_set_vec(ms_vec *m, const double *v, size_t n) {
    assert_int_equal(ms_vec_alloc(m, n), MS_OK);
    memcpy(m->v, v, n * sizeof(double));
}

/* Run and require success; the caller frees the tree. */
static inline ms_value *nt_run(const ms_kind *k, const void *p, int threads, ms_progress *last,
                               void (*on_step)(const ms_progress *, void *), void *user) {
    harness_opts o = {threads, 0, last, on_step, user};
    ms_err err;
    ms_err_clear(&err);
    ms_value *v = harness_run(k, p, &o, &err);
    if (!v)
        print_error("run failed: %s (field '%s'): %s\n", ms_status_name(err.code), err.field,
                    err.msg);
    assert_non_null(v);
    return v;
}

/* Data of a VEC/MAT member at a '/'-separated path; *rows × *cols entries
 * (a vector is one row). */
static inline const double *nt_data(const ms_value *v, const char *path, size_t *rows,
                                    size_t *cols) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const ms_value *cur = v;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        cur = ms_value_get(cur, tok);
        assert_non_null(cur);
    }
    size_t r, c;
    const double *d = ms_value_data(cur, &r, &c);
    assert_non_null(d);
    if (rows)
        *rows = r;
    if (cols)
        *cols = c;
    return d;
}

/* Expect validation or init to fail with `code` naming `field`. */
static inline void nt_expect_fail(const ms_kind *k, const void *p, ms_status code,
                                  const char *field) {
    harness_opts o = {1, 0, NULL, NULL, NULL};
    ms_err err;
    ms_err_clear(&err);
    ms_value *v = harness_run(k, p, &o, &err);
    assert_null(v);
    if (err.code != code || strcmp(err.field, field) != 0)
        print_error("expected %s on '%s', got %s on '%s': %s\n", ms_status_name(code), field,
                    ms_status_name(err.code), err.field, err.msg);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
}

/* Length of a vector member. */
static inline const double *nt_vec(const ms_value *v, const char *path, size_t *n) {
    size_t r, c;
    const double *d = nt_data(v, path, &r, &c);
    *n = r * c;
    return d;
}

#endif
