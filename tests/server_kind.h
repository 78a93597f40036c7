/* server_kind.h — a test-local kind for the daemon suites, "sleepy": each
 * step sleeps step_ms (polling the cancel flag) and reports progress; it
 * can fail at a chosen iteration and claims `mem` bytes for admission.
 * Suites that include this define the registry the daemon sees. */
#ifndef SERVER_KIND_H
#define SERVER_KIND_H

#include <string.h>
#include <time.h>

#include "ms_alloc.h"
#include "registry.h"

typedef struct sleepy_p {
    long long steps, fail_at, seed, threads, mem;
    double step_ms;
} sleepy_p;

static const ms_field sleepy_f[] = {
    {"steps", MS_F_INT, offsetof(sleepy_p, steps), MS_FF_MIN | MS_FF_MAX, 1, 1e9, 5, NULL, NULL,
     NULL, 0, "iterations"},
    {"step_ms", MS_F_DOUBLE, offsetof(sleepy_p, step_ms), MS_FF_MIN, 0, 0, 0, NULL, NULL, NULL, 0,
     "sleep per step"},
    {"fail_at", MS_F_INT, offsetof(sleepy_p, fail_at), 0, 0, 0, -1, NULL, NULL, NULL, 0,
     "fail with a numerical error at this iteration"},
    {"mem", MS_F_INT, offsetof(sleepy_p, mem), MS_FF_MIN, 0, 0, 0, NULL, NULL, NULL, 0,
     "claimed memory"},
    {"seed", MS_F_INT, offsetof(sleepy_p, seed), 0, 0, 0, 0, NULL, NULL, NULL, 0, "seed"},
    {"threads", MS_F_INT, offsetof(sleepy_p, threads), MS_FF_MIN, 1, 0, 1, NULL, NULL, NULL, 0,
     "threads"},
};
static const ms_fields sleepy_fs = MS_FIELDS(sleepy_p, sleepy_f);

typedef struct sleepy_s {
    const sleepy_p *p;
    size_t it;
    int threads;
} sleepy_s;

static ms_status sl_init(void *st, const void *params, const ms_ctx *ctx, ms_err *err) {
    (void)err;
    sleepy_s *s = st;
    s->p = params;
    s->threads = ms_ctx_threads(ctx);
    return MS_OK;
}

static ms_status sl_step(void *st, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    sleepy_s *s = st;
    double left = s->p->step_ms;
    while (left > 0) {
        if (ms_ctx_cancelled(ctx))
            return ms_fail(err, MS_ECANCELLED, "", "cancelled");
        double ms = left > 5 ? 5 : left;
        struct timespec ts = {0, (long)(ms * 1e6)};
        nanosleep(&ts, NULL);
        left -= ms;
    }
    s->it++;
    if ((long long)s->it == s->p->fail_at)
        return ms_fail(err, MS_ENUMERIC, "", "NaN at iteration %zu", s->it);
    prog->iteration = s->it;
    prog->fraction = (double)s->it / (double)s->p->steps;
    ms_progress_set(prog, "residual", 1.0 / (double)s->it);
    prog->done = (long long)s->it >= s->p->steps;
    return MS_OK;
}

static ms_status sl_result(void *st, ms_value *out, ms_err *err) {
    (void)err;
    sleepy_s *s = st;
    ms_obj_int(out, "iterations", (long long)s->it);
    ms_obj_bool(out, "converged", 1);
    ms_obj_int(out, "seed", s->p->seed);
    ms_obj_int(out, "threads", s->threads);
    double v[3] = {0.5, 1.0 / 3.0, -2};
    ms_obj_vec(out, "v", v, 3, 1);
    return ms_value_status(out);
}

static void sl_fini(void *st) {
    (void)st;
}

static size_t sl_memory(const void *params) {
    return (size_t)((const sleepy_p *)params)->mem;
}

static const ms_kind sleepy_kind = {
    "sleepy",   "Sleepy",         "Sleeps step_ms per step; a test kind.",
    &sleepy_fs, "{\"steps\": 3}", sizeof(sleepy_s),
    NULL,       sl_memory,        sl_init,
    sl_step,    sl_result,        sl_fini};

static const ms_kind *const test_kinds[] = {&sleepy_kind, NULL};

/* The registry the daemon code sees in this executable (the library's
 * registry.o is then not linked in). */
const ms_kind *const *ms_registry(size_t *n) {
    *n = 1;
    return test_kinds;
}

const ms_kind *ms_registry_find(const char *name) {
    return name && strcmp(name, "sleepy") == 0 ? &sleepy_kind : NULL;
}

#endif
