/* kind_harness.c — see kind_harness.h. */
#include "kind_harness.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ms_alloc.h"

ms_value *harness_run(const ms_kind *k, const void *params, const harness_opts *opts, ms_err *err) {
    ms_errlist errs;
    ms_errlist_clear(&errs);
    if (ms_kind_validate(k, params, &errs) != MS_OK) {
        if (err)
            *err = errs.e[0];
        return NULL;
    }
    ms_ctx ctx = {opts && opts->threads > 0 ? opts->threads : 1, NULL};
    size_t cap = opts && opts->max_steps ? opts->max_steps : 10000000;
    void *state = ms_calloc(1, k->state_size);
    if (!state) {
        ms_fail(err, MS_ENOMEM, "", "state");
        return NULL;
    }
    ms_value *out = NULL;
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    prog.fraction = 0;
    ms_status s = k->init(state, params, &ctx, err);
    for (size_t i = 0; s == MS_OK && !prog.done && i < cap; i++) {
        s = k->step(state, &ctx, &prog, err);
        if (s == MS_OK && opts && opts->on_step)
            opts->on_step(&prog, opts->user);
    }
    if (s == MS_OK && !prog.done)
        s = ms_fail(err, MS_EINTERNAL, "", "harness: kind did not finish in %zu steps", cap);
    if (s == MS_OK) {
        out = ms_value_new_object();
        if (!out)
            s = ms_fail(err, MS_ENOMEM, "", "result");
        else if ((s = k->result(state, out, err)) == MS_OK && ms_value_status(out) != MS_OK)
            s = ms_fail(err, MS_ENOMEM, "", "result");
        if (s != MS_OK) {
            ms_value_free(out);
            out = NULL;
        }
    }
    if (opts && opts->last)
        *opts->last = prog;
    k->fini(state);
    ms_free(state);
    return out;
}

void *harness_params(const ms_kind *k) {
    void *p = calloc(1, k->params->size);
    assert_non_null(p);
    ms_params_defaults(k->params, p);
    return p;
}

void harness_params_free(const ms_kind *k, void *p) {
    ms_params_free(k->params, p);
    free(p);
}

void *harness_field(const ms_kind *k, void *p, const char *path) {
    const ms_fields *fs = k->params;
    char *base = p;
    char name[128];
    snprintf(name, sizeof name, "%s", path);
    char *save = NULL;
    for (char *part = strtok_r(name, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        const ms_field *f = ms_fields_find(fs, part);
        if (!f) {
            print_error("harness: kind %s has no field %s\n", k->name, path);
            fail();
        }
        base += f->offset;
        if (f->type == MS_F_OBJECT) {
            *(int *)base = 1; /* present */
            fs = f->sub;
        }
    }
    return base;
}

void harness_set_double(const ms_kind *k, void *p, const char *path, double v) {
    *(double *)harness_field(k, p, path) = v;
}

void harness_set_int(const ms_kind *k, void *p, const char *path, long long v) {
    *(long long *)harness_field(k, p, path) = v;
}

void harness_set_bool(const ms_kind *k, void *p, const char *path, int v) {
    *(int *)harness_field(k, p, path) = v;
}

void harness_set_measure(ms_measure *m, const double *pts, size_t n, size_t d, const double *w) {
    ms_measure_free(m);
    assert_int_equal(ms_measure_alloc(m, n, pts ? d : 0), MS_OK);
    if (pts)
        memcpy(m->points, pts, n * d * sizeof(double));
    if (w) {
        memcpy(m->weights, w, n * sizeof(double));
        m->weights_given = 1;
    }
}

void harness_expect_invalid(const ms_kind *k, void *params, const char *field, const char *words) {
    ms_errlist errs;
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(k, params, &errs), MS_EINVAL);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        if (!strcmp(errs.e[i].field, field) && strstr(errs.e[i].msg, words))
            found = 1;
    if (!found)
        for (size_t i = 0; i < errs.n; i++)
            print_error("got %s: %s\n", errs.e[i].field, errs.e[i].msg);
    assert_true(found);
    ms_params_free(k->params, params);
}

void harness_alloc_failures(const ms_kind *k, const void *params, long max_fail) {
    int ok = 0;
    for (long n = 0; n < max_fail && !ok; n++) {
        harness_opts o = {1, 0, NULL, NULL, NULL};
        ms_err err;
        ms_alloc_fail_after(n);
        ms_value *v = harness_run(k, params, &o, &err);
        ms_alloc_fail_after(-1);
        if (v) {
            ok = 1;
            ms_value_free(v);
        } else {
            assert_int_equal(err.code, MS_ENOMEM);
        }
    }
    assert_true(ok);
}
