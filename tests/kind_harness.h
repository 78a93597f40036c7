/* kind_harness.h — drive a kind to completion in unit tests, the way the
 * daemon's workers do (init, step until done, result, fini), without a server. */
#ifndef KIND_HARNESS_H
#define KIND_HARNESS_H

#include <stddef.h>

#include "ms_kind.h"

typedef struct harness_opts {
    int threads;       /* default 1 */
    size_t max_steps;  /* safety cap on step calls; 0 = 10^7 */
    ms_progress *last; /* receives the last progress, if not NULL */
    /* Called after every step when not NULL (e.g. to record a metric). */
    void (*on_step)(const ms_progress *p, void *user);
    void *user;
} harness_opts;

/* Run kind k on params (already defaulted and filled). Validates first.
 * Returns the result tree (caller frees with ms_value_free) or NULL with
 * err filled (validation, init, step or result failure). */
ms_value *harness_run(const ms_kind *k, const void *params, const harness_opts *opts, ms_err *err);

/* Params built by field name, as the server's codec does (tests only).
 * harness_params: calloc + defaults; free with harness_params_free.
 * harness_field: address of a top-level field ("name") or of a field of a
 * nested object ("unbalanced/rho"; the object is marked present). Aborts
 * the test (cmocka fail) if the name is unknown. */
void *harness_params(const ms_kind *k);
void harness_params_free(const ms_kind *k, void *p);
void *harness_field(const ms_kind *k, void *p, const char *path);
void harness_set_double(const ms_kind *k, void *p, const char *path, double v);
void harness_set_int(const ms_kind *k, void *p, const char *path, long long v);
void harness_set_bool(const ms_kind *k, void *p, const char *path, int v);
/* Replace a measure by n points of dimension d (pts may be NULL: weights
 * only) with weights w (NULL: uniform). */
void harness_set_measure(ms_measure *m, const double *pts, size_t n, size_t d, const double *w);

/* Validation of params must fail with an error on `field` whose message
 * contains `words` (the test fails, listing the errors it got, otherwise);
 * the params are freed either way. */
void harness_expect_invalid(const ms_kind *k, void *params, const char *field, const char *words);

/* Run kind k on params (one thread) with the n-th allocation failing, for
 * n = 0, 1, ... up to max_fail: every failing run must end in MS_ENOMEM
 * (no crash, no leak under ASan), and some n must let the run succeed. */
void harness_alloc_failures(const ms_kind *k, const void *params, long max_fail);

#endif
