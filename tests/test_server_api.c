/* test_server_api.c — the daemon end to end over HTTP: every route and error
 * code, the job lifecycle, SSE and NDJSON with Last-Event-ID replay,
 * long-polls, cancellation of queued and running jobs, idempotency keys,
 * backpressure, admission by memory, timeouts, token auth, priorities,
 * restart after kill -9 and after SIGTERM, concurrent submitters, malformed,
 * truncated and oversized bodies, slow and vanishing clients.
 *
 * The daemon is the real code (daemon_main) in a child process with a
 * test-local kind (server_kind.h), so timings are controlled here. */
#include "test_util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"
#include "server_harness.h"
#include "server_kind.h"

#define JOB(steps, step_ms) \
    "{\"kind\":\"sleepy\",\"params\":{\"steps\":" #steps ",\"step_ms\":" #step_ms "}}"

static char *get_status(const daemon_proc *d, const char *id) {
    static char st[32];
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    http_resp r;
    http_do(d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    snprintf(st, sizeof st, "%s", jstr(r.json, "status"));
    http_free(&r);
    return st;
}

/* Poll until the job has the status (or 10 s pass). */
static void await_status(const daemon_proc *d, const char *id, const char *want) {
    for (int i = 0; i < 1000; i++) {
        if (strcmp(get_status(d, id), want) == 0)
            return;
        usleep(10000);
    }
    fail_msg("job %s never reached %s (is %s)", id, want, get_status(d, id));
}

static void expect(const daemon_proc *d, const char *method, const char *path, const char *body,
                   long code, const char *type) {
    http_resp r;
    http_do(d, method, path, body, body ? strlen(body) : 0, NULL, 0, &r);
    if (r.status != code)
        fail_msg("%s %s: expected %ld, got %ld: %s", method, path, code, r.status, r.body);
    if (type) {
        char ct[128];
        assert_non_null(http_resp_header(&r, "Content-Type", ct, sizeof ct));
        assert_string_equal(ct, "application/problem+json");
        char want[128];
        snprintf(want, sizeof want, "/problems/%s", type);
        assert_string_equal(jstr(r.json, "type"), want);
        assert_int_equal((long)jnum(r.json, "status"), code);
        assert_non_null(jstr(r.json, "title"));
        assert_non_null(jstr(r.json, "detail"));
    }
    http_free(&r);
}

/* ---- routes and errors ------------------------------------------------ */

static void test_routes(void **state) {
    (void)state;
    daemon_proc d;
    const char *args[] = {"--max-body", "4096", NULL};
    dm_start(&d, args);
    http_resp r;
    http_do(&d, "GET", "/healthz", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "status"), "ok");
    char rid[80];
    assert_non_null(http_resp_header(&r, "X-Request-Id", rid, sizeof rid));
    http_free(&r);
    const char *mine[] = {"X-Request-Id: trace-42", NULL};
    http_do(&d, "GET", "/healthz", NULL, 0, mine, 0, &r);
    assert_string_equal(http_resp_header(&r, "X-Request-Id", rid, sizeof rid), "trace-42");
    http_free(&r);
    http_do(&d, "GET", "/readyz", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    http_free(&r);
    http_do(&d, "GET", "/v1/kinds", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    cJSON *k0 = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "kinds"), 0);
    assert_string_equal(jstr(k0, "name"), "sleepy");
    cJSON *schema = cJSON_GetObjectItem(k0, "params_schema");
    assert_true(jnum(cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"), "steps"),
                     "default") == 5);
    http_free(&r);
    http_do(&d, "GET", "/v1/kinds/sleepy", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "name"), "sleepy");
    assert_non_null(cJSON_GetObjectItem(r.json, "example"));
    http_free(&r);
    expect(&d, "GET", "/v1/kinds/nope", NULL, 404, "not-found");
    http_do(&d, "GET", "/v1/openapi.json", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "openapi"), "3.1.0");
    assert_non_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "components"), "schemas"),
        "params_sleepy"));
    http_free(&r);
    /* Unknown routes, methods, jobs. */
    expect(&d, "GET", "/nope", NULL, 404, "not-found");
    expect(&d, "GET", "/v1/jobs/0123/nope", NULL, 404, "not-found");
    expect(&d, "PUT", "/v1/jobs", "{}", 405, "method-not-allowed");
    expect(&d, "GET", "/v1/jobs/ffffffffffffffff", NULL, 404, "not-found");
    expect(&d, "DELETE", "/v1/jobs/ffffffffffffffff", NULL, 404, "not-found");
    expect(&d, "GET", "/v1/jobs/ffffffffffffffff/result", NULL, 404, "not-found");
    expect(&d, "GET", "/v1/jobs/ffffffffffffffff/events", NULL, 404, "not-found");
    /* Bodies: malformed, truncated, empty, wrong shapes, invalid, too big. */
    expect(&d, "POST", "/v1/jobs", "{\"kind\": \"sleepy\", \"par", 400, "malformed-json");
    expect(&d, "POST", "/v1/jobs", "", 400, "malformed-json");
    expect(&d, "POST", "/v1/jobs", "{} {}", 400, "malformed-json");
    expect(&d, "POST", "/v1/jobs", "[1,2]", 422, "invalid-job");
    /* Every 422 carries errors[]; pointer "" is the whole body. */
    http_do(&d, "POST", "/v1/jobs", "[1,2]", 5, NULL, 0, &r);
    assert_string_equal(
        jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0), "pointer"), "");
    http_free(&r);
    /* Bodies are UTF-8: anything else is malformed, never echoed back. */
    expect(&d, "POST", "/v1/jobs", "{\"kind\":\"sleepy\",\"label\":\"\xff\",\"params\":{}}", 400,
           "malformed-json");
    expect(&d, "POST", "/v1/jobs", "{\"kind\":\"sleepy\",\"label\":\"\xc0\xaf\",\"params\":{}}",
           400, "malformed-json");
    expect(&d, "POST", "/v1/jobs", "{\"kind\":\"sleepy\",\"label\":\"\xed\xa0\x80\",\"params\":{}}",
           400, "malformed-json");
    http_do(&d, "POST", "/v1/jobs",
            "{\"kind\":\"sleepy\",\"label\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
            "\"params\":{\"steps\":1}}",
            63, NULL, 0, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "label"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    http_free(&r);
    expect(&d, "POST", "/v1/jobs", "{\"kind\":\"ot\",\"params\":{}}", 422, "invalid-params");
    http_do(&d, "POST", "/v1/jobs",
            "{\"kind\":\"sleepy\",\"params\":{\"steps\":0,\"bogus\":1,\"step_ms\":\"x\"}}", 62,
            NULL, 0, &r);
    assert_int_equal(r.status, 422);
    cJSON *errs = cJSON_GetObjectItem(r.json, "errors");
    /* Every offending field at once: type errors first, then bounds. */
    assert_int_equal(cJSON_GetArraySize(errs), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(errs, 0), "pointer"), "/params/bogus");
    assert_string_equal(jstr(cJSON_GetArrayItem(errs, 1), "pointer"), "/params/step_ms");
    assert_string_equal(jstr(cJSON_GetArrayItem(errs, 2), "pointer"), "/params/steps");
    http_free(&r);
    http_do(&d, "POST", "/v1/jobs", "{\"kind\":\"sleepy\",\"params\":{\"steps\":0}}", 38, NULL, 0,
            &r);
    assert_int_equal(r.status, 422);
    assert_string_equal(
        jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0), "pointer"),
        "/params/steps");
    http_free(&r);
    char big[8192];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"kind\":\"sleepy\",\"params\":{}", 27);
    big[sizeof big - 1] = '}';
    http_do(&d, "POST", "/v1/jobs", big, sizeof big, NULL, 0, &r);
    assert_int_equal(r.status, 413);
    http_free(&r);
    /* List parameters. */
    expect(&d, "GET", "/v1/jobs?status=bogus", NULL, 400, "bad-request");
    expect(&d, "GET", "/v1/jobs?limit=0", NULL, 400, "bad-request");
    expect(&d, "GET", "/v1/jobs?limit=x", NULL, 400, "bad-request");
    /* Metrics name routes and codes. */
    http_do(&d, "GET", "/metrics", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body, "measured_http_requests_total{route=\"GET /healthz\",code=\"200\"} 2"));
    assert_non_null(strstr(r.body, "code=\"413\"} 1"));
    assert_non_null(strstr(r.body, "measured_queue_depth 0"));
    assert_non_null(strstr(r.body, "measured_jobs{kind=\"sleepy\",status=\"queued\"} 0"));
    http_free(&r);
    assert_true(dm_alive(&d));
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

/* ---- lifecycle, results, events ------------------------------------------ */

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_lifecycle_and_events(void **state) {
    (void)state;
    daemon_proc d;
    dm_start(&d, NULL);
    http_resp r;
    const char *body = "{\"kind\":\"sleepy\",\"params\":{\"steps\":6,\"step_ms\":40,\"seed\":7},"
                       "\"label\":\"first\",\"priority\":7}";
    http_do(&d, "POST", "/v1/jobs", body, strlen(body), NULL, 0, &r);
    assert_int_equal(r.status, 201);
    char id[64], loc[128], want[128];
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    snprintf(want, sizeof want, "/v1/jobs/%s", id);
    assert_string_equal(http_resp_header(&r, "Location", loc, sizeof loc), want);
    assert_string_equal(jstr(r.json, "label"), "first");
    assert_int_equal((int)jnum(r.json, "priority"), 7);
    assert_string_equal(jstr(r.json, "kind"), "sleepy");
    assert_non_null(jstr(r.json, "created_at"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "finished_at")));
    assert_string_equal(jstr(cJSON_GetObjectItem(r.json, "links"), "events"),
                        strcat(want, "/events"));
    http_free(&r);
    /* The result is a conflict until the job succeeds. */
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 409);
    assert_non_null(jstr(r.json, "job_status"));
    http_free(&r);
    /* Follow live over SSE: every event, in order, ending with end. */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    http_do(&d, "GET", path, NULL, 0, NULL, 20000, &r);
    assert_int_equal(r.status, 200);
    char ct[64];
    assert_string_equal(http_resp_header(&r, "Content-Type", ct, sizeof ct), "text/event-stream");
    assert_non_null(strstr(r.body, "id: 1\nevent: status\ndata: {\"status\":\"queued\"}\n\n"));
    assert_non_null(strstr(r.body, "event: status\ndata: {\"status\":\"running\"}"));
    assert_non_null(strstr(r.body, "\"iteration\":6,\"fraction\":1"));
    assert_non_null(strstr(r.body, "event: end\ndata: {\"status\":\"succeeded\"}\n\n"));
    int nev = count(r.body, "id: ");
    assert_true(nev >= 4);
    /* Ids are 1..n without gaps. */
    char idline[32];
    for (int i = 1; i <= nev; i++) {
        snprintf(idline, sizeof idline, "id: %d\n", i);
        assert_non_null(strstr(r.body, idline));
    }
    http_free(&r);
    /* Replay after Last-Event-ID: only later events. */
    const char *last[] = {"Last-Event-ID: 2", NULL};
    http_do(&d, "GET", path, NULL, 0, last, 5000, &r);
    assert_null(strstr(r.body, "id: 2\n"));
    assert_non_null(strstr(r.body, "id: 3\n"));
    assert_int_equal(count(r.body, "id: "), nev - 2);
    http_free(&r);
    /* NDJSON, from ?after. */
    char p2[200];
    snprintf(p2, sizeof p2, "%s?after=%d", path, nev - 1);
    const char *nd[] = {"Accept: application/x-ndjson", NULL};
    http_do(&d, "GET", p2, NULL, 0, nd, 5000, &r);
    assert_string_equal(http_resp_header(&r, "Content-Type", ct, sizeof ct),
                        "application/x-ndjson");
    cJSON *line = cJSON_Parse(r.body);
    assert_non_null(line);
    assert_int_equal((int)jnum(line, "id"), nev);
    assert_string_equal(jstr(line, "event"), "end");
    assert_string_equal(jstr(cJSON_GetObjectItem(line, "data"), "status"), "succeeded");
    cJSON_Delete(line);
    http_free(&r);
    expect(&d, "GET", path, NULL, 200, NULL);
    const char *badlast[] = {"Last-Event-ID: x", NULL};
    http_do(&d, "GET", path, NULL, 0, badlast, 0, &r);
    assert_int_equal(r.status, 400);
    http_free(&r);
    /* Id 0 is "from the start"; the last id replays nothing and closes; an
     * id the job never issued (or one that overflows) is a bad request, not
     * a stream that stays silent, nor one that wraps to the start. */
    const char *zero[] = {"Last-Event-ID: 0", NULL};
    http_do(&d, "GET", path, NULL, 0, zero, 5000, &r);
    assert_int_equal(count(r.body, "id: "), nev);
    http_free(&r);
    char lastid[48], beyond[48];
    snprintf(lastid, sizeof lastid, "Last-Event-ID: %d", nev);
    const char *atlast[] = {lastid, NULL};
    http_do(&d, "GET", path, NULL, 0, atlast, 5000, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count(r.body, "id: "), 0);
    http_free(&r);
    snprintf(beyond, sizeof beyond, "Last-Event-ID: %d", nev + 1);
    const char *past[] = {beyond, NULL};
    const char *huge[] = {"Last-Event-ID: 9223372036854775807", NULL};
    const char *wrap[] = {"Last-Event-ID: 99999999999999999999999", NULL};
    const char *signd[] = {"Last-Event-ID: +1", NULL};
    const char *const *bad_ids[] = {past, huge, wrap, signd};
    for (int i = 0; i < 4; i++) {
        http_do(&d, "GET", path, NULL, 0, bad_ids[i], 5000, &r);
        if (r.status != 400)
            fail_msg("%s: expected 400, got %ld: %.200s", bad_ids[i][0], r.status, r.body);
        assert_string_equal(jstr(r.json, "type"), "/problems/bad-request");
        http_free(&r);
    }
    snprintf(p2, sizeof p2, "%s?after=%d", path, nev + 5);
    expect(&d, "GET", p2, NULL, 400, "bad-request");
    /* The job object and the result. */
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_string_equal(jstr(r.json, "status"), "succeeded");
    cJSON *prog = cJSON_GetObjectItem(r.json, "progress");
    assert_int_equal((int)jnum(prog, "iteration"), 6);
    assert_close(jnum(cJSON_GetObjectItem(prog, "metrics"), "residual"), 1.0 / 6, 1e-15, 0);
    assert_non_null(jstr(r.json, "started_at"));
    assert_non_null(jstr(r.json, "finished_at"));
    assert_null(cJSON_GetObjectItem(r.json, "error"));
    http_free(&r);
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "id"), id);
    cJSON *res = cJSON_GetObjectItem(r.json, "result");
    assert_int_equal((int)jnum(res, "iterations"), 6);
    assert_int_equal((int)jnum(res, "seed"), 7);
    assert_true(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "v"), 1)->valuedouble == 1.0 / 3.0);
    http_free(&r);
    /* Deleting a finished job is a conflict. */
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    expect(&d, "DELETE", path, NULL, 409, "job-state");
    /* A failing run: failed, with an error; its result names it. */
    char fid[64];
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{\"steps\":9,\"fail_at\":3}}", fid, sizeof fid);
    char st[32];
    dm_wait(&d, fid, 10, st, sizeof st);
    assert_string_equal(st, "failed");
    snprintf(path, sizeof path, "/v1/jobs/%s/result", fid);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(jstr(r.json, "job_status"), "failed");
    assert_string_equal(jstr(cJSON_GetObjectItem(r.json, "job_error"), "type"),
                        "/problems/numerical-failure");
    http_free(&r);
    /* A job past its timeout fails as such. */
    char tid[64];
    dm_submit(&d,
              "{\"kind\":\"sleepy\",\"params\":{\"steps\":1000,\"step_ms\":10},"
              "\"timeout_s\":0.2}",
              tid, sizeof tid);
    dm_wait(&d, tid, 10, st, sizeof st);
    assert_string_equal(st, "failed");
    snprintf(path, sizeof path, "/v1/jobs/%s", tid);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_string_equal(jstr(cJSON_GetObjectItem(r.json, "error"), "type"),
                        "/problems/deadline-exceeded");
    http_free(&r);
    /* Listing: newest first, filters, cursors. */
    http_do(&d, "GET", "/v1/jobs?limit=2", NULL, 0, NULL, 0, &r);
    cJSON *jobs = cJSON_GetObjectItem(r.json, "jobs");
    assert_int_equal(cJSON_GetArraySize(jobs), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(jobs, 0), "id"), tid);
    assert_string_equal(jstr(cJSON_GetArrayItem(jobs, 1), "id"), fid);
    char cur[64], p3[160];
    snprintf(cur, sizeof cur, "%s", jstr(r.json, "next_cursor"));
    http_free(&r);
    snprintf(p3, sizeof p3, "/v1/jobs?limit=2&cursor=%s", cur);
    http_do(&d, "GET", p3, NULL, 0, NULL, 0, &r);
    jobs = cJSON_GetObjectItem(r.json, "jobs");
    assert_int_equal(cJSON_GetArraySize(jobs), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(jobs, 0), "id"), id);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")));
    http_free(&r);
    http_do(&d, "GET", "/v1/jobs?status=failed&kind=sleepy", NULL, 0, NULL, 0, &r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs")), 2);
    http_free(&r);
    /* A filter that names no kind, or a cursor no page gave, is a mistake
     * to report (naming the parameter), not an empty or a first page. */
    http_do(&d, "GET", "/v1/jobs?kind=other", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(jstr(r.json, "detail"), "kind"));
    http_free(&r);
    http_do(&d, "GET", "/v1/jobs?cursor=zzz", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(jstr(r.json, "detail"), "cursor"));
    http_free(&r);
    expect(&d, "GET", "/v1/jobs?cursor=0123456789ABCDEF", NULL, 400, "bad-request");
    http_do(&d, "GET", "/v1/jobs?cursor=ffffffffffffffff&kind=sleepy", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs")), 3);
    http_free(&r);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

/* ---- cancel, wait, priority, backpressure --------------------------------- */

static void test_cancel_and_queue(void **state) {
    (void)state;
    daemon_proc d;
    const char *args[] = {"--workers", "1", "--max-queue", "2", NULL};
    dm_start(&d, args);
    char a[64], b[64], c[64], path[128], st[32];
    dm_submit(&d, JOB(100000, 10), a, sizeof a); /* runs ~forever */
    await_status(&d, a, "running");
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{},\"priority\":1}", b, sizeof b);
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{},\"priority\":9}", c, sizeof c);
    /* The queue holds two: the third is refused with Retry-After. */
    http_resp r;
    const char *body = JOB(1, 0);
    http_do(&d, "POST", "/v1/jobs", body, strlen(body), NULL, 0, &r);
    assert_int_equal(r.status, 429);
    char ra[16];
    assert_non_null(http_resp_header(&r, "Retry-After", ra, sizeof ra));
    assert_string_equal(jstr(r.json, "type"), "/problems/queue-full");
    http_free(&r);
    /* ?wait on a running job returns after the wait, still running. */
    double t0 = runner_now();
    dm_wait(&d, a, 0.5, st, sizeof st);
    double waited = runner_now() - t0;
    assert_string_equal(st, "running");
    assert_true(waited >= 0.45 && waited < 3);
    expect(&d, "GET", "/v1/jobs/x?wait=-1", NULL, 404, "not-found");
    snprintf(path, sizeof path, "/v1/jobs/%s?wait=abc", a);
    expect(&d, "GET", path, NULL, 400, "bad-request");
    /* Cancel the queued low-priority job: at once. */
    snprintf(path, sizeof path, "/v1/jobs/%s", b);
    http_do(&d, "DELETE", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(jstr(r.json, "status"), "cancelled");
    http_free(&r);
    expect(&d, "DELETE", path, NULL, 409, "job-state");
    /* Cancel the running one: it stops at its next iteration, well under
     * a second; the high-priority job then runs. */
    snprintf(path, sizeof path, "/v1/jobs/%s", a);
    t0 = runner_now();
    http_do(&d, "DELETE", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 202);
    http_free(&r);
    dm_wait(&d, a, 10, st, sizeof st);
    assert_string_equal(st, "cancelled");
    assert_true(runner_now() - t0 < 1.0);
    dm_wait(&d, c, 10, st, sizeof st);
    assert_string_equal(st, "succeeded");
    /* The cancelled job's stream ends with end: cancelled. */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", b);
    http_do(&d, "GET", path, NULL, 0, NULL, 5000, &r);
    assert_non_null(strstr(r.body, "event: end\ndata: {\"status\":\"cancelled\"}"));
    assert_null(strstr(r.body, "running"));
    http_free(&r);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

static void test_priority_order(void **state) {
    (void)state;
    daemon_proc d;
    const char *args[] = {"--workers", "1", NULL};
    dm_start(&d, args);
    char blk[64], lo[64], hi[64], mid[64], st[32];
    dm_submit(&d, JOB(20, 10), blk, sizeof blk);
    await_status(&d, blk, "running");
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{},\"priority\":0}", lo, sizeof lo);
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{},\"priority\":9}", hi, sizeof hi);
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{}}", mid, sizeof mid);
    dm_wait(&d, lo, 10, st, sizeof st);
    assert_string_equal(st, "succeeded");
    /* Started in priority order: hi, mid, lo. */
    const char *ids[3] = {hi, mid, lo};
    char started[3][40];
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/jobs/%s", ids[i]);
        http_resp r;
        http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
        snprintf(started[i], sizeof started[i], "%s", jstr(r.json, "started_at"));
        http_free(&r);
    }
    assert_true(strcmp(started[0], started[1]) <= 0 && strcmp(started[1], started[2]) <= 0);
    assert_int_equal(dm_stop(&d, SIGINT), 0);
}

static void test_idempotency_auth_memory(void **state) {
    (void)state;
    daemon_proc d;
    const char *args[] = {"--token", "s3cret", "--max-job-memory", "1M", NULL};
    dm_start(&d, args);
    const char *auth[] = {"Authorization: Bearer s3cret", "Idempotency-Key: k-1", NULL};
    const char *wrong[] = {"Authorization: Bearer nope", NULL};
    http_resp r;
    const char *body = JOB(2, 0);
    http_do(&d, "POST", "/v1/jobs", body, strlen(body), NULL, 0, &r);
    assert_int_equal(r.status, 401);
    char h[64];
    assert_non_null(http_resp_header(&r, "WWW-Authenticate", h, sizeof h));
    http_free(&r);
    http_do(&d, "GET", "/v1/jobs", NULL, 0, wrong, 0, &r);
    assert_int_equal(r.status, 401);
    http_free(&r);
    http_do(&d, "GET", "/healthz", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    http_free(&r);
    http_do(&d, "GET", "/readyz", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    http_free(&r);
    http_do(&d, "GET", "/metrics", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    http_free(&r);
    http_do(&d, "POST", "/v1/jobs", body, strlen(body), auth, 0, &r);
    assert_int_equal(r.status, 201);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    http_free(&r);
    http_do(&d, "POST", "/v1/jobs", body, strlen(body), auth, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "id"), id);
    http_free(&r);
    const char *other = JOB(3, 0);
    http_do(&d, "POST", "/v1/jobs", other, strlen(other), auth, 0, &r);
    assert_int_equal(r.status, 409);
    assert_string_equal(jstr(r.json, "type"), "/problems/idempotency-conflict");
    http_free(&r);
    /* Admission: a job estimated over --max-job-memory is refused. */
    const char *huge = "{\"kind\":\"sleepy\",\"params\":{\"mem\":2000000}}";
    const char *auth_only[] = {"Authorization: Bearer s3cret", NULL};
    http_do(&d, "POST", "/v1/jobs", huge, strlen(huge), auth_only, 0, &r);
    assert_int_equal(r.status, 422);
    assert_true(jnum(r.json, "estimated_bytes") == 2000000);
    assert_true(jnum(r.json, "limit_bytes") == 1048576);
    assert_string_equal(
        jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "errors"), 0), "pointer"), "/params");
    http_free(&r);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

/* ---- durability ------------------------------------------------------------ */

static void test_restart_after_kill9(void **state) {
    (void)state;
    char db[64];
    dm_new_store(db, sizeof db);
    daemon_proc d;
    const char *args[] = {"--store", db, "--workers", "1", NULL};
    dm_start(&d, args);
    char done[64], run[64], queued[64], st[32];
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{\"steps\":3,\"seed\":11}}", done, sizeof done);
    dm_wait(&d, done, 10, st, sizeof st);
    assert_string_equal(st, "succeeded");
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{\"steps\":40,\"step_ms\":25,\"seed\":5}}", run,
              sizeof run);
    await_status(&d, run, "running");
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{\"steps\":2,\"seed\":9}}", queued,
              sizeof queued);
    usleep(100000);
    assert_int_equal(dm_stop(&d, SIGKILL), 128 + SIGKILL);
    /* Restart on the same store: nothing accepted is lost. */
    dm_start(&d, args);
    http_resp r;
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", done);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal((int)jnum(cJSON_GetObjectItem(r.json, "result"), "seed"), 11);
    http_free(&r);
    dm_wait(&d, run, 20, st, sizeof st);
    assert_string_equal(st, "succeeded");
    dm_wait(&d, queued, 20, st, sizeof st);
    assert_string_equal(st, "succeeded");
    snprintf(path, sizeof path, "/v1/jobs/%s", run);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal((int)jnum(r.json, "attempts"), 2);
    http_free(&r);
    snprintf(path, sizeof path, "/v1/jobs/%s/result", run);
    http_do(&d, "GET", path, NULL, 0, NULL, 0, &r);
    assert_int_equal((int)jnum(cJSON_GetObjectItem(r.json, "result"), "seed"), 5);
    assert_int_equal((int)jnum(cJSON_GetObjectItem(r.json, "result"), "iterations"), 40);
    http_free(&r);
    /* Its history tells the story: running, restart, running again, end. */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", run);
    http_do(&d, "GET", path, NULL, 0, NULL, 5000, &r);
    assert_non_null(strstr(r.body, "{\"status\":\"queued\",\"reason\":\"restart\"}"));
    assert_int_equal(count(r.body, "{\"status\":\"running\"}"), 2);
    assert_non_null(strstr(r.body, "event: end\ndata: {\"status\":\"succeeded\"}"));
    http_free(&r);
    /* Graceful stop with a running job: exit 0, the job is re-run after. */
    char g[64];
    dm_submit(&d, JOB(100, 20), g, sizeof g);
    await_status(&d, g, "running");
    double t0 = runner_now();
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
    assert_true(runner_now() - t0 < 3);
    dm_start(&d, args);
    dm_wait(&d, g, 20, st, sizeof st);
    assert_string_equal(st, "succeeded");
    snprintf(path, sizeof path, "/v1/jobs/%s/events", g);
    http_do(&d, "GET", path, NULL, 0, NULL, 5000, &r);
    assert_non_null(strstr(r.body, "\"reason\":\"shutdown\""));
    http_free(&r);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
    dm_rm_store(db);
}

/* ---- concurrency and hostile clients -------------------------------------- */

typedef struct submitter {
    const daemon_proc *d;
    int ok;
    char ids[25][24];
} submitter;

static void *submit_many(void *arg) {
    submitter *s = arg;
    for (int i = 0; i < 25; i++) {
        http_resp r;
        const char *body = JOB(2, 0);
        http_do(s->d, "POST", "/v1/jobs", body, strlen(body), NULL, 0, &r);
        if (r.status == 201) {
            snprintf(s->ids[s->ok++], sizeof s->ids[0], "%s", jstr(r.json, "id"));
        }
        http_free(&r);
    }
    return NULL;
}

static void test_concurrent_submitters(void **state) {
    (void)state;
    daemon_proc d;
    dm_start(&d, NULL);
    submitter s[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        s[i].d = &d;
        s[i].ok = 0;
        pthread_create(&t[i], NULL, submit_many, &s[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s[i].ok, 25);
        for (int k = 0; k < 25; k++)
            for (int j = 0; j <= i; j++)
                for (int l = 0; l < (j == i ? k : 25); l++)
                    assert_string_not_equal(s[i].ids[k], s[j].ids[l]);
    }
    char st[32];
    dm_wait(&d, s[3].ids[24], 20, st, sizeof st);
    http_resp r;
    http_do(&d, "GET", "/v1/jobs?status=succeeded&limit=1000", NULL, 0, NULL, 0, &r);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs"));
    http_free(&r);
    for (int tries = 0; n < 100 && tries < 200; tries++) {
        usleep(20000);
        http_do(&d, "GET", "/v1/jobs?status=succeeded&limit=1000", NULL, 0, NULL, 0, &r);
        n = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "jobs"));
        http_free(&r);
    }
    assert_int_equal(n, 100);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

static int raw_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void test_hostile_clients(void **state) {
    (void)state;
    daemon_proc d;
    const char *args[] = {"--idle-timeout", "1", "--keepalive", "0.3", "--max-streams", "2",
                          "--workers",      "1", NULL};
    dm_start(&d, args);
    /* A client that stops half-way through its headers is dropped. */
    int fd = raw_connect(d.port);
    const char *part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    assert_true(write(fd, part, strlen(part)) > 0);
    double t0 = runner_now();
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    assert_true(n <= 0);
    assert_true(runner_now() - t0 < 5);
    close(fd);
    /* A truncated body: Content-Length promises more than arrives. */
    fd = raw_connect(d.port);
    const char *trunc = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"kind\"";
    assert_true(write(fd, trunc, strlen(trunc)) > 0);
    n = read(fd, buf, sizeof buf);
    assert_true(n <= 0);
    close(fd);
    /* Streams: keepalive comments while nothing happens; a limit on their
     * number; a subscriber that vanishes mid-stream. */
    char id[64], q[64], path[128];
    dm_submit(&d, JOB(100000, 10), id, sizeof id);
    dm_submit(&d, JOB(1, 0), q, sizeof q); /* queued behind: a quiet stream */
    snprintf(path, sizeof path, "/v1/jobs/%s/events", q);
    http_resp r;
    http_do(&d, "GET", path, NULL, 0, NULL, 1200, &r);
    assert_non_null(strstr(r.body, "event: status"));
    http_free(&r);
    /* The closed curl stream is found out by its next keepalive writes. */
    int none = 0;
    for (int i = 0; i < 100 && !none; i++) {
        usleep(20000);
        http_do(&d, "GET", "/metrics", NULL, 0, NULL, 0, &r);
        none = strstr(r.body, "measured_event_streams 0") != NULL;
        http_free(&r);
    }
    assert_true(none);
    int s1 = raw_connect(d.port), s2 = raw_connect(d.port);
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    assert_true(write(s1, req, strlen(req)) > 0);
    assert_true(write(s2, req, strlen(req)) > 0);
    int both = 0;
    for (int i = 0; i < 100 && !both; i++) {
        usleep(20000);
        http_do(&d, "GET", "/metrics", NULL, 0, NULL, 0, &r);
        both = strstr(r.body, "measured_event_streams 2") != NULL;
        http_free(&r);
    }
    assert_true(both);
    expect(&d, "GET", path, NULL, 503, "too-many-streams");
    close(s1); /* vanished: found out by the next write */
    char got[4096] = "";
    size_t have = 0;
    t0 = runner_now();
    while (!strstr(got, ": keepalive") && runner_now() - t0 < 5) {
        n = read(s2, got + have, sizeof got - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        got[have] = '\0';
    }
    if (!strstr(got, ": keepalive"))
        print_message("stream got %zd [%s]\n", n, got);
    assert_non_null(strstr(got, ": keepalive"));
    close(s2);
    /* Both slots free again once the keepalive write finds them gone. */
    int free_again = 0;
    for (int i = 0; i < 50 && !free_again; i++) {
        usleep(100000);
        http_do(&d, "GET", "/metrics", NULL, 0, NULL, 0, &r);
        free_again = strstr(r.body, "measured_event_streams 0") != NULL;
        http_free(&r);
    }
    assert_true(free_again);
    /* Garbage instead of HTTP. */
    fd = raw_connect(d.port);
    assert_true(write(fd, "\x01\x02\x03 nonsense\r\n\r\n", 16) > 0);
    n = read(fd, buf, sizeof buf);
    close(fd);
    assert_true(dm_alive(&d));
    http_do(&d, "GET", "/healthz", NULL, 0, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    http_free(&r);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

/* Many subscribers on one job: each gets every event id, in order, and end.
 * (bench/daemon.sh runs 1000 of them and times it.) */
static void test_many_subscribers(void **state) {
    (void)state;
    enum { N = 300 };
    daemon_proc d;
    const char *args[] = {"--progress-interval", "0.02", NULL};
    dm_start(&d, args);
    char id[64], req[160];
    dm_submit(&d, "{\"kind\":\"sleepy\",\"params\":{\"steps\":30,\"step_ms\":20},\"priority\":0}",
              id, sizeof id);
    snprintf(req, sizeof req, "GET /v1/jobs/%s/events HTTP/1.0\r\nHost: x\r\n\r\n", id);
    struct pollfd pf[N];
    static char got[N][16384];
    size_t have[N];
    for (int i = 0; i < N; i++) {
        pf[i].fd = raw_connect(d.port);
        pf[i].events = POLLIN;
        have[i] = 0;
        got[i][0] = '\0';
        assert_true(write(pf[i].fd, req, strlen(req)) > 0);
    }
    int open = N;
    double t0 = runner_now();
    while (open > 0 && runner_now() - t0 < 30) {
        assert_true(poll(pf, N, 1000) >= 0);
        for (int i = 0; i < N; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = read(pf[i].fd, got[i] + have[i], sizeof got[i] - 1 - have[i]);
            if (k <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open--;
                continue;
            }
            have[i] += (size_t)k;
            got[i][have[i]] = '\0';
        }
    }
    assert_int_equal(open, 0);
    long last = -1;
    for (int i = 0; i < N; i++) {
        long expect = 1;
        for (char *p = got[i]; (p = strstr(p, "\nid: ")); p++) {
            long v = strtol(p + 5, NULL, 10);
            if (v != expect)
                fail_msg("subscriber %d: id %ld where %ld was due", i, v, expect);
            expect = v + 1;
        }
        assert_non_null(strstr(got[i], "event: end\ndata: {\"status\":\"succeeded\"}"));
        if (last < 0)
            last = expect - 1;
        assert_int_equal(expect - 1, last);
    }
    assert_true(last >= 5);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
}

/* ---- configuration --------------------------------------------------------- */

/* Every flag is also MEASURED_<NAME>; flags win; a bad value stops the
 * daemon with status 2. */
static void test_environment(void **state) {
    (void)state;
    setenv("MEASURED_WORKERS", "1", 1);
    setenv("MEASURED_TOKEN", "from-env", 1);
    setenv("MEASURED_MAX_QUEUE", "3", 1);
    setenv("MEASURED_RETAIN_JOBS", "2", 1);
    daemon_proc d;
    const char *args[] = {"--token", "from-flag", NULL};
    dm_start(&d, args);
    unsetenv("MEASURED_WORKERS");
    unsetenv("MEASURED_TOKEN");
    unsetenv("MEASURED_MAX_QUEUE");
    unsetenv("MEASURED_RETAIN_JOBS");
    const char *env_tok[] = {"Authorization: Bearer from-env", NULL};
    const char *flag_tok[] = {"Authorization: Bearer from-flag", NULL};
    http_resp r;
    http_do(&d, "GET", "/v1/jobs", NULL, 0, env_tok, 0, &r);
    assert_int_equal(r.status, 401);
    http_free(&r);
    http_do(&d, "GET", "/readyz", NULL, 0, NULL, 0, &r);
    assert_int_equal((int)jnum(r.json, "workers"), 1);
    http_free(&r);
    assert_true(dm_metric(&d, "measured_queue_capacity", flag_tok) == 3);
    const char *body = JOB(1, 0);
    char id[64] = "";
    for (int i = 0; i < 6; i++) {
        const char *h[] = {"Authorization: Bearer from-flag", NULL};
        http_do(&d, "POST", "/v1/jobs", body, strlen(body), h, 0, &r);
        assert_int_equal(r.status, 201);
        snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
        http_free(&r);
        char path[128];
        snprintf(path, sizeof path, "/v1/jobs/%s?wait=10", id);
        http_do(&d, "GET", path, NULL, 0, h, 0, &r);
        assert_string_equal(jstr(r.json, "status"), "succeeded");
        http_free(&r);
    }
    double held = 99;
    for (int i = 0; i < 100 && held > 2; i++) {
        usleep(20000);
        held = dm_metric(&d, "measured_jobs_in_memory", flag_tok);
    }
    assert_true(held <= 2);
    assert_int_equal(dm_stop(&d, SIGTERM), 0);
    char exe[4096], cmd[4300];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    snprintf(cmd, sizeof cmd,
             "MEASURED_WORKERS=lots '%s' --daemon --store :memory: --listen 127.0.0.1:0 "
             "2>/dev/null",
             exe);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    snprintf(cmd, sizeof cmd, "'%s' --daemon --retain-jobs -1 2>/dev/null", exe);
    st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int main(int argc, char **argv) {
    dm_child_main(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_lifecycle_and_events),
        cmocka_unit_test(test_cancel_and_queue),
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_idempotency_auth_memory),
        cmocka_unit_test(test_restart_after_kill9),
        cmocka_unit_test(test_concurrent_submitters),
        cmocka_unit_test(test_hostile_clients),
        cmocka_unit_test(test_many_subscribers),
        cmocka_unit_test(test_environment),
    };
    int rc = TEST_RUN(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
