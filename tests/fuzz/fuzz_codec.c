/* fuzz_codec.c — libFuzzer target: the request path of POST /v1/jobs, from
 * raw bytes to a validated job: JSON parsing, the envelope, every kind's
 * params through its field table, ms_kind_validate, then the memory
 * estimate and the thread cap, as http_routes.c does before admission.
 *
 * Invariants checked (abort() when broken, so the fuzzer reports a crash):
 * a refusal is 400, 422 or 503 and its problem+json is valid JSON with the
 * same status and pointers starting with '/'; an accepted job has a kind,
 * params, a priority 0..9 and a label within the limit. ASan/UBSan and
 * LeakSanitizer catch the rest.
 *
 * fuzz_job.c includes this file (FUZZ_JOB) and also runs the accepted
 * job for a few milliseconds; tests/test_fuzz_replay.c includes both and
 * replays the committed corpus and every past crash in `make test`.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ms_alloc.h"
#include "runner.h"

#define FUZZ_REQUIRE(c)                                                                     \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* text (len bytes) is a JSON document; returns its root (cJSON_Delete it). */
static cJSON *fuzz_json(const char *text, size_t len) {
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j)
        fprintf(stderr, "not JSON: %.*s\n", (int)(len > 400 ? 400 : len), text);
    FUZZ_REQUIRE(j != NULL);
    return j;
}

static void fuzz_check_problem(const codec_problem *pb) {
    FUZZ_REQUIRE(pb->status == 400 || pb->status == 422 || pb->status == 503);
    sbuf b = SBUF_INIT;
    codec_problem_write(&b, pb);
    if (sbuf_oom(&b)) { /* only under memory pressure */
        sbuf_free(&b);
        return;
    }
    cJSON *j = fuzz_json(b.s, b.len);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    FUZZ_REQUIRE(cJSON_IsNumber(st) && st->valuedouble == pb->status);
    FUZZ_REQUIRE(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "detail")));
    const cJSON *e, *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
    cJSON_ArrayForEach(e, errs) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "pointer");
        FUZZ_REQUIRE(cJSON_IsString(p) && (p->valuestring[0] == '/' || !p->valuestring[0]));
    }
    cJSON_Delete(j);
    sbuf_free(&b);
}

/* The job is run (run_ms > 0) only when its memory estimate is below this:
 * the fuzzer looks for crashes, not for the admission limit. */
#define FUZZ_RUN_MEMORY (16u << 20)

static void fuzz_run(const codec_job *cj, double run_ms) {
    if (runner_memory(cj->kind, cj->params) > FUZZ_RUN_MEMORY)
        return;
    runner_opts o = {1, NULL, runner_now() + run_ms / 1000, 0, NULL, NULL};
    ms_value *v = NULL;
    ms_err err;
    ms_status s = runner_run(cj->kind, cj->params, &o, &v, NULL, &err);
    sbuf b = SBUF_INIT;
    if (s == MS_OK) {
        FUZZ_REQUIRE(v != NULL);
        if (codec_value_write(&b, v) == MS_OK)
            cJSON_Delete(fuzz_json(b.s, b.len));
        ms_value_free(v);
    } else {
        FUZZ_REQUIRE(v == NULL && err.code == s);
        codec_error_write(&b, &err);
        if (!sbuf_oom(&b))
            cJSON_Delete(fuzz_json(b.s, b.len));
    }
    sbuf_free(&b);
}

/* One request body. run_ms > 0 also runs an accepted job that long. */
static int fuzz_request(const uint8_t *data, size_t size, double run_ms) {
    codec_job cj;
    codec_problem pb;
    ms_status s = codec_job_parse((const char *)data, size, &cj, &pb);
    if (s != MS_OK) {
        FUZZ_REQUIRE(cj.kind == NULL && cj.params == NULL && cj.label == NULL);
        fuzz_check_problem(&pb);
        return 0;
    }
    FUZZ_REQUIRE(cj.kind && cj.params);
    FUZZ_REQUIRE(cj.priority >= 0 && cj.priority <= 9 && cj.timeout_s >= 0);
    FUZZ_REQUIRE(!cj.label || strlen(cj.label) <= CODEC_LABEL_MAX);
    (void)runner_memory(cj.kind, cj.params);
    runner_cap_threads(cj.kind, cj.params, 1);
    FUZZ_REQUIRE(runner_threads(cj.kind, cj.params) == 1);
    if (run_ms > 0)
        fuzz_run(&cj, run_ms);
    codec_job_free(&cj);
    return 0;
}

#if !defined(FUZZ_REPLAY) && !defined(FUZZ_JOB)
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    codec_json_hooks_install();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_request(data, size, 0);
}
#endif
