/* test_kinds_contract.c — every kind of the registry honours the contract
 * (GSL runs every minimizer on every test problem; this suite runs every
 * kind on its own example):
 *   - metadata: name, title, description, a documented field table, an
 *     example that parses and validates;
 *   - the example runs init/step/result/fini to a result with `iterations`
 *     and `converged`, which encodes as JSON;
 *   - the same params and seed give the same result, and so does another
 *     thread count (up to round-off);
 *   - an out-of-range value, a wrong type and an unknown field are refused
 *     with a JSON Pointer naming the field;
 *   - a cancel request stops the run; every allocation failure ends in
 *     MS_ENOMEM without a leak (ASan) or a crash. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <string.h>

#include "codec.h"
#include "ms_alloc.h"
#include "registry.h"
#include "runner.h"
#include "sbuf.h"

static char *body_of(const ms_kind *k, const cJSON *params) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "kind", k->name);
    cJSON_AddItemToObject(root, "params", cJSON_Duplicate(params, 1));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static cJSON *example_of(const ms_kind *k) {
    assert_non_null(k->example);
    cJSON *ex = cJSON_Parse(k->example);
    if (!ex)
        fail_msg("kind %s: example is not JSON", k->name);
    return ex;
}

/* Parse a body; returns the status and fills job / pb. */
static ms_status parse(const ms_kind *k, const cJSON *params, codec_job *job, codec_problem *pb) {
    char *body = body_of(k, params);
    ms_status s = codec_job_parse(body, strlen(body), job, pb);
    cJSON_free(body);
    return s;
}

/* Run a parsed job; returns the result JSON text (caller frees) or NULL. */
static char *run_json(const codec_job *job, int threads, atomic_int *cancel, ms_err *err) {
    runner_opts o = {.threads = threads, .cancel = cancel};
    ms_value *v = NULL;
    ms_status s = runner_run(job->kind, job->params, &o, &v, NULL, err);
    if (s != MS_OK)
        return NULL;
    sbuf b = SBUF_INIT;
    codec_value_write(&b, v);
    ms_value_free(v);
    char *text = sbuf_take(&b);
    if (!text)
        ms_fail(err, MS_ENOMEM, "", "encoding the result");
    return text;
}

static int has_pointer(const codec_problem *pb, const char *pointer) {
    for (size_t i = 0; i < pb->errors.n; i++)
        if (strcmp(pb->errors.e[i].field, pointer) == 0)
            return 1;
    return 0;
}

static void metadata_and_fields(void **st) {
    (void)st;
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        const ms_kind *k = ks[i];
        assert_true(k->name && k->name[0]);
        assert_true(k->title && k->title[0]);
        assert_true(k->description && strlen(k->description) > 20);
        assert_non_null(k->init);
        assert_non_null(k->step);
        assert_non_null(k->result);
        assert_non_null(k->fini);
        assert_true(k->state_size > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ks[j]->name, k->name);
        for (size_t f = 0; f < k->params->n; f++) {
            const ms_field *fd = &k->params->f[f];
            if (!fd->doc || !fd->doc[0])
                fail_msg("kind %s: field %s has no doc", k->name, fd->name);
            if (fd->type == MS_F_ENUM && fd->def_str && ms_enum_index(fd->choices, fd->def_str) < 0)
                fail_msg("kind %s: enum %s default is not a choice", k->name, fd->name);
        }
        cJSON *schema = codec_kind_json(k);
        assert_non_null(schema);
        cJSON_Delete(schema);
    }
}

/* Numbers in two JSON documents agree to rtol (structure identical). */
static void assert_json_close(const cJSON *a, const cJSON *b, double rtol, const char *path) {
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        double x = a->valuedouble, y = b->valuedouble;
        if (!(fabs(x - y) <= rtol * (1 + fabs(y))))
            fail_msg("%s: %.17g vs %.17g", path, x, y);
        return;
    }
    if (a->type != b->type)
        fail_msg("%s: types differ", path);
    const cJSON *ca = a->child, *cb = b->child;
    for (; ca && cb; ca = ca->next, cb = cb->next)
        assert_json_close(ca, cb, rtol, ca->string ? ca->string : path);
    if (ca || cb)
        fail_msg("%s: lengths differ", path);
}

static void examples_run_and_repeat(void **st) {
    (void)st;
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const ms_kind *k = ks[i];
        cJSON *ex = example_of(k);
        codec_job job;
        codec_problem pb;
        if (parse(k, ex, &job, &pb) != MS_OK)
            fail_msg("kind %s: example refused: %s %s", k->name,
                     pb.errors.n ? pb.errors.e[0].field : "",
                     pb.errors.n ? pb.errors.e[0].msg : pb.detail);
        ms_err err;
        double t0 = runner_now();
        char *r1 = run_json(&job, 1, NULL, &err);
        if (!r1)
            fail_msg("kind %s: example failed: %s: %s", k->name, err.field, err.msg);
        print_message("%-20s example ran in %.2f s\n", k->name, runner_now() - t0);
        cJSON *res = cJSON_Parse(r1);
        assert_non_null(res);
        if (!cJSON_IsNumber(cJSON_GetObjectItem(res, "iterations")))
            fail_msg("kind %s: result has no numeric iterations", k->name);
        if (!cJSON_IsBool(cJSON_GetObjectItem(res, "converged")))
            fail_msg("kind %s: result has no boolean converged", k->name);
        /* Same params, same seed: the same bits. */
        char *r2 = run_json(&job, 1, NULL, &err);
        assert_non_null(r2);
        if (strcmp(r1, r2) != 0)
            fail_msg("kind %s: two runs with one seed differ", k->name);
        /* Another thread count: the same result up to round-off. */
        char *r3 = run_json(&job, 2, NULL, &err);
        assert_non_null(r3);
        cJSON *res3 = cJSON_Parse(r3);
        assert_json_close(res3, res, 1e-9, k->name);
        cJSON_Delete(res);
        cJSON_Delete(res3);
        ms_free(r1);
        ms_free(r2);
        ms_free(r3);
        codec_job_free(&job);
        cJSON_Delete(ex);
    }
}

/* A value just outside a numeric field's bounds, or NaN when it has none. */
static double outside(const ms_field *f) {
    if (f->flags & (MS_FF_MIN | MS_FF_MIN_EXCL))
        return (f->flags & MS_FF_MIN_EXCL) ? f->min : f->min - 1;
    if (f->flags & (MS_FF_MAX | MS_FF_MAX_EXCL))
        return (f->flags & MS_FF_MAX_EXCL) ? f->max : f->max + 1;
    return NAN;
}

static void bad_params_name_the_field(void **st) {
    (void)st;
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const ms_kind *k = ks[i];
        char ptr[160];
        for (size_t f = 0; f < k->params->n; f++) {
            const ms_field *fd = &k->params->f[f];
            snprintf(ptr, sizeof ptr, "params/%s", fd->name);
            /* Out of range. */
            if (fd->type == MS_F_DOUBLE || fd->type == MS_F_INT) {
                double x = outside(fd);
                if (!isnan(x) && isfinite(x)) {
                    cJSON *ex = example_of(k);
                    cJSON_DeleteItemFromObject(ex, fd->name);
                    cJSON_AddNumberToObject(ex, fd->name, x);
                    codec_job job;
                    codec_problem pb;
                    if (parse(k, ex, &job, &pb) == MS_OK)
                        fail_msg("kind %s: %s = %g accepted", k->name, fd->name, x);
                    assert_int_equal(pb.status, 422);
                    if (!has_pointer(&pb, ptr))
                        fail_msg("kind %s: %s = %g: no error at /%s (first: %s)", k->name, fd->name,
                                 x, ptr, pb.errors.n ? pb.errors.e[0].field : "-");
                    cJSON_Delete(ex);
                }
            }
            /* Wrong type: an object where no field takes one, else a string. */
            cJSON *ex = example_of(k);
            cJSON_DeleteItemFromObject(ex, fd->name);
            if (fd->type == MS_F_STRING || fd->type == MS_F_ENUM)
                cJSON_AddItemToObject(ex, fd->name, cJSON_CreateArray());
            else
                cJSON_AddStringToObject(ex, fd->name, "not-this");
            codec_job job;
            codec_problem pb;
            if (parse(k, ex, &job, &pb) == MS_OK)
                fail_msg("kind %s: wrong type for %s accepted", k->name, fd->name);
            if (!has_pointer(&pb, ptr))
                fail_msg("kind %s: wrong type for %s: no error at /%s (first: %s)", k->name,
                         fd->name, ptr, pb.errors.n ? pb.errors.e[0].field : "-");
            cJSON_Delete(ex);
        }
        /* Unknown field. */
        cJSON *ex = example_of(k);
        cJSON_AddNumberToObject(ex, "no_such_parameter", 1);
        codec_job job;
        codec_problem pb;
        assert_int_equal(parse(k, ex, &job, &pb), MS_EINVAL);
        assert_true(has_pointer(&pb, "params/no_such_parameter"));
        cJSON_Delete(ex);
    }
}

/* The shared params as the contract words them: `seed` is any integer;
 * `threads` is >= 1 and *capped* (by the daemon's cores), never refused
 * for its size, and its schema shows no maximum. */
static void seed_and_threads_as_the_contract_says(void **st) {
    (void)st;
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const ms_kind *k = ks[i];
        const ms_field *seed = ms_fields_find(k->params, "seed");
        const ms_field *thr = ms_fields_find(k->params, "threads");
        if (!seed || !thr)
            fail_msg("kind %s: no seed or threads param", k->name);
        cJSON *ex = example_of(k);
        cJSON_DeleteItemFromObject(ex, "seed");
        cJSON_AddNumberToObject(ex, "seed", -3);
        cJSON_DeleteItemFromObject(ex, "threads");
        cJSON_AddNumberToObject(ex, "threads", 100000);
        codec_job job;
        codec_problem pb;
        if (parse(k, ex, &job, &pb) != MS_OK)
            fail_msg("kind %s: seed -3, threads 100000 refused: /%s %s", k->name,
                     pb.errors.n ? pb.errors.e[0].field : "-",
                     pb.errors.n ? pb.errors.e[0].msg : "");
        runner_cap_threads(k, job.params, 2);
        assert_int_equal(*(long long *)((char *)job.params + thr->offset), 2);
        assert_int_equal(*(long long *)((char *)job.params + seed->offset), -3);
        codec_job_free(&job);
        cJSON_Delete(ex);
        cJSON *schema = codec_schema(k->params);
        cJSON *ts = cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"), "threads");
        assert_non_null(ts);
        assert_null(cJSON_GetObjectItem(ts, "maximum"));
        assert_int_equal((int)cJSON_GetObjectItem(ts, "minimum")->valuedouble, 1);
        cJSON_Delete(schema);
    }
}

static void cancel_stops_the_run(void **st) {
    (void)st;
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n; i++) {
        cJSON *ex = example_of(ks[i]);
        codec_job job;
        codec_problem pb;
        assert_int_equal(parse(ks[i], ex, &job, &pb), MS_OK);
        atomic_int flag = RUNNER_CANCEL;
        ms_err err;
        char *r = run_json(&job, 1, &flag, &err);
        if (r)
            fail_msg("kind %s: ran to the end despite the cancel flag", ks[i]->name);
        assert_int_equal(err.code, MS_ECANCELLED);
        codec_job_free(&job);
        cJSON_Delete(ex);
    }
}

/* The n-th allocation fails, for every n the run makes (up to a cap): the
 * run ends in MS_ENOMEM (or succeeds when the failed allocation had a
 * fallback), never in a crash or a leak. */
static void allocation_failures(void **st) {
    (void)st;
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n; i++) {
        cJSON *ex = example_of(ks[i]);
        char *body = body_of(ks[i], ex);
        long total = -1;
        for (long f = 0; f < 400; f++) {
            codec_job job;
            codec_problem pb;
            ms_alloc_fail_after(f);
            ms_status s = codec_job_parse(body, strlen(body), &job, &pb);
            ms_err err;
            char *r = NULL;
            if (s == MS_OK)
                r = run_json(&job, 1, NULL, &err);
            long used = ms_alloc_count();
            ms_alloc_fail_after(-1);
            if (s == MS_OK && !r && err.code != MS_ENOMEM)
                fail_msg("kind %s: allocation %ld failed -> %s (%s)", ks[i]->name, f,
                         ms_status_name(err.code), err.msg);
            if (s != MS_OK && pb.status != 503)
                fail_msg("kind %s: allocation %ld failed -> HTTP %d (%s: %s)", ks[i]->name, f,
                         pb.status, pb.errors.n ? pb.errors.e[0].field : "",
                         pb.errors.n ? pb.errors.e[0].msg : pb.detail);
            if (s == MS_OK)
                codec_job_free(&job);
            if (r) {
                ms_free(r);
                if (used <= f) { /* no injected failure happened: all covered */
                    total = used;
                    break;
                }
            }
        }
        print_message("%-20s %ld allocations checked\n", ks[i]->name, total);
        cJSON_free(body);
        cJSON_Delete(ex);
    }
}

int main(void) {
    codec_json_hooks_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metadata_and_fields),
        cmocka_unit_test(examples_run_and_repeat),
        cmocka_unit_test(bad_params_name_the_field),
        cmocka_unit_test(cancel_stops_the_run),
        cmocka_unit_test(seed_and_threads_as_the_contract_says),
        cmocka_unit_test(allocation_failures),
    };
    return TEST_RUN(tests, NULL, NULL);
}
