/* test_server_runner.c — the runner's loop on a kind defined here: completion
 * with the final progress delivered, throttling, cancellation, deadlines,
 * failures, thread capping and allocation failures. */
#include "test_util.h"

#include <string.h>

#include "ms_alloc.h"
#include "runner.h"

typedef struct count_p {
    long long n, fail_at, threads;
} count_p;

static const ms_field count_f[] = {
    {"n", MS_F_INT, offsetof(count_p, n), MS_FF_MIN, 1, 0, 5, NULL, NULL, NULL, 0, "steps"},
    {"fail_at", MS_F_INT, offsetof(count_p, fail_at), 0, 0, 0, -1, NULL, NULL, NULL, 0, "NaN"},
    {"threads", MS_F_INT, offsetof(count_p, threads), MS_FF_MIN, 1, 0, 1, NULL, NULL, NULL, 0,
     "threads"},
};
static const ms_fields count_fs = MS_FIELDS(count_p, count_f);

typedef struct count_s {
    const count_p *p;
    double *work;
    size_t it;
} count_s;

static ms_status c_init(void *st, const void *params, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    count_s *s = st;
    s->p = params;
    s->work = ms_malloc(16, sizeof(double));
    return s->work ? MS_OK : ms_fail(err, MS_ENOMEM, "", "work");
}

static ms_status c_step(void *st, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    (void)ctx;
    count_s *s = st;
    s->it++;
    if ((long long)s->it == s->p->fail_at)
        return ms_fail(err, MS_ENUMERIC, "", "NaN at iteration %zu", s->it);
    prog->iteration = s->it;
    prog->fraction = (double)s->it / (double)s->p->n;
    ms_progress_set(prog, "it", (double)s->it);
    prog->done = (long long)s->it >= s->p->n;
    return MS_OK;
}

static ms_status c_result(void *st, ms_value *out, ms_err *err) {
    (void)err;
    count_s *s = st;
    ms_obj_int(out, "iterations", (long long)s->it);
    ms_obj_bool(out, "converged", 1);
    return ms_value_status(out);
}

static void c_fini(void *st) {
    count_s *s = st;
    ms_free(s->work);
}

static size_t c_memory(const void *params) {
    return (size_t)((const count_p *)params)->n * 8;
}

static const ms_kind count_kind = {"count", "Count",         "counts", &count_fs,
                                   "{}",    sizeof(count_s), NULL,     c_memory,
                                   c_init,  c_step,          c_result, c_fini};

typedef struct seen {
    int calls;
    ms_progress last;
} seen;

static void on_prog(const ms_progress *p, void *user) {
    seen *s = user;
    s->calls++;
    s->last = *p;
}

static count_p params(long long n, long long fail_at) {
    count_p p;
    ms_params_defaults(&count_fs, &p);
    p.n = n;
    p.fail_at = fail_at;
    return p;
}

static void test_completes(void **state) {
    (void)state;
    count_p p = params(7, -1);
    seen s = {0};
    runner_opts o = {1, NULL, 0, 0, on_prog, &s};
    ms_value *out;
    ms_err err;
    assert_int_equal(runner_run(&count_kind, &p, &o, &out, NULL, &err), MS_OK);
    assert_int_equal(s.calls, 7);
    assert_true(s.last.done && s.last.iteration == 7);
    assert_close(s.last.fraction, 1, 0, 0);
    assert_close(ms_value_getnum(out, "iterations"), 7, 0, 0);
    ms_value_free(out);
}

static void test_throttled_but_last_delivered(void **state) {
    (void)state;
    count_p p = params(50, -1);
    seen s = {0};
    runner_opts o = {1, NULL, 0, 3600, on_prog, &s};
    ms_value *out;
    ms_err err;
    ms_progress last;
    assert_int_equal(runner_run(&count_kind, &p, &o, &out, &last, &err), MS_OK);
    assert_int_equal(s.calls, 2); /* the first step, then the final state */
    assert_int_equal(s.last.iteration, 50);
    assert_int_equal(last.iteration, 50);
    ms_value_free(out);
}

static void test_cancel_and_deadline(void **state) {
    (void)state;
    count_p p = params(5, -1);
    atomic_int cancel = RUNNER_CANCEL;
    runner_opts o = {1, &cancel, 0, 0, NULL, NULL};
    ms_value *out;
    ms_err err;
    assert_int_equal(runner_run(&count_kind, &p, &o, &out, NULL, &err), MS_ECANCELLED);
    assert_null(out);
    atomic_store(&cancel, 0);
    o.deadline = runner_now() - 1;
    assert_int_equal(runner_run(&count_kind, &p, &o, &out, NULL, &err), MS_ETIMEOUT);
    assert_null(out);
}

static void test_failure_reports_last_progress(void **state) {
    (void)state;
    count_p p = params(10, 4);
    seen s = {0};
    runner_opts o = {1, NULL, 0, 3600, on_prog, &s};
    ms_value *out;
    ms_err err;
    assert_int_equal(runner_run(&count_kind, &p, &o, &out, NULL, &err), MS_ENUMERIC);
    assert_non_null(strstr(err.msg, "iteration 4"));
    assert_int_equal(s.last.iteration, 3);
    assert_null(out);
}

static void test_invalid_params(void **state) {
    (void)state;
    count_p p = params(0, -1);
    runner_opts o = {1, NULL, 0, 0, NULL, NULL};
    ms_value *out;
    ms_err err;
    assert_int_equal(runner_run(&count_kind, &p, &o, &out, NULL, &err), MS_EINVAL);
    assert_string_equal(err.field, "n");
}

static void test_threads_and_memory(void **state) {
    (void)state;
    count_p p = params(3, -1);
    p.threads = 64;
    assert_int_equal(runner_threads(&count_kind, &p), 64);
    runner_cap_threads(&count_kind, &p, 2);
    assert_int_equal(runner_threads(&count_kind, &p), 2);
    assert_int_equal(runner_memory(&count_kind, &p), 24);
}

static void test_fault_injection(void **state) {
    (void)state;
    count_p p = params(3, -1);
    runner_opts o = {1, NULL, 0, 0, NULL, NULL};
    for (long n = 0;; n++) {
        ms_value *out;
        ms_err err;
        ms_alloc_fail_after(n);
        ms_status s = runner_run(&count_kind, &p, &o, &out, NULL, &err);
        ms_alloc_fail_after(-1);
        ms_value_free(out);
        if (s == MS_OK)
            break;
        assert_int_equal(s, MS_ENOMEM);
        assert_null(out);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completes),
        cmocka_unit_test(test_throttled_but_last_delivered),
        cmocka_unit_test(test_cancel_and_deadline),
        cmocka_unit_test(test_failure_reports_last_progress),
        cmocka_unit_test(test_invalid_params),
        cmocka_unit_test(test_threads_and_memory),
        cmocka_unit_test(test_fault_injection),
    };
    return TEST_RUN(tests, NULL, NULL);
}
