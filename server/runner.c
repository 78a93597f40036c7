/* runner.c — drive one job of a kind. See runner.h. */
#include "runner.h"

#include <string.h>
#include <time.h>

#include "ms_alloc.h"

double runner_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const ms_field *threads_field(const ms_kind *k) {
    const ms_field *f = ms_fields_find(k->params, "threads");
    return f && f->type == MS_F_INT ? f : NULL;
}

int runner_threads(const ms_kind *k, const void *params) {
    const ms_field *f = threads_field(k);
    if (!f)
        return 1;
    long long t = *(const long long *)((const char *)params + f->offset);
    return t > 1 && t < 1024 ? (int)t : 1;
}

void runner_cap_threads(const ms_kind *k, void *params, int max) {
    const ms_field *f = threads_field(k);
    if (!f || max < 1)
        return;
    long long *t = (long long *)((char *)params + f->offset);
    if (*t != MS_INT_ABSENT && *t > max)
        *t = max;
}

size_t runner_memory(const ms_kind *k, const void *params) {
    return k->memory ? k->memory(params) : 0;
}

static int stop_reason(const runner_opts *o, ms_err *err) {
    if (o->cancel && atomic_load(o->cancel)) {
        ms_fail(err, MS_ECANCELLED, "", "cancelled");
        return 1;
    }
    if (o->deadline > 0 && runner_now() >= o->deadline) {
        ms_fail(err, MS_ETIMEOUT, "", "the job ran past its timeout_s");
        return 1;
    }
    return 0;
}

ms_status runner_run(const ms_kind *k, const void *params, const runner_opts *o, ms_value **out,
                     ms_progress *last, ms_err *err) {
    *out = NULL;
    ms_err_clear(err);
    ms_errlist errs;
    ms_errlist_clear(&errs);
    if (ms_kind_validate(k, params, &errs) != MS_OK) {
        *err = errs.e[0];
        return err->code;
    }
    ms_ctx ctx = {o->threads > 0 ? o->threads : 1, o->cancel};
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    prog.fraction = 0;
    void *state = ms_calloc(1, k->state_size ? k->state_size : 1);
    if (!state)
        return ms_fail(err, MS_ENOMEM, "", "no memory for the solver state");
    double next_report = 0;
    int reported = 1; /* nothing new to report yet */
    ms_status s = stop_reason(o, err) ? err->code : k->init(state, params, &ctx, err);
    while (s == MS_OK && !prog.done) {
        if (stop_reason(o, err)) {
            s = err->code;
            break;
        }
        s = k->step(state, &ctx, &prog, err);
        if (s != MS_OK)
            break;
        reported = 0;
        double now = o->min_interval > 0 ? runner_now() : 0;
        if (o->on_progress && !prog.done && now >= next_report) {
            o->on_progress(&prog, o->user);
            reported = 1;
            next_report = now + o->min_interval;
        }
    }
    /* A step that polled the flag itself reports cancellation the same way. */
    if (s == MS_ECANCELLED && err->msg[0] == '\0')
        ms_fail(err, MS_ECANCELLED, "", "cancelled");
    if (o->on_progress && !reported)
        o->on_progress(&prog, o->user); /* the latest state, always */
    if (s == MS_OK) {
        ms_value *v = ms_value_new_object();
        if (!v)
            s = ms_fail(err, MS_ENOMEM, "", "no memory for the result");
        else if ((s = k->result(state, v, err)) == MS_OK && ms_value_status(v) != MS_OK)
            s = ms_fail(err, MS_ENOMEM, "", "no memory for the result");
        if (s == MS_OK)
            *out = v;
        else
            ms_value_free(v);
    }
    k->fini(state);
    ms_free(state);
    if (last)
        *last = prog;
    /* A kind that fails without saying why still gets a reason. */
    if (s != MS_OK && err->code == MS_OK)
        ms_fail(err, s, "", "%s", ms_status_str(s));
    return s;
}
