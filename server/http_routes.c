/* http_routes.c — the routes table and what each route answers.
 *
 * What it is for: the API contract (docs/api.md) route by route. Handlers
 * answer at once from the job table (or, for jobs evicted from it, from the
 * store: retain.c), or suspend their connection (?wait, event streams)
 * through http.c; none blocks, none runs a solver.
 *
 * What it is not for: connection handling (http.c) or the job lifecycle
 * (daemon.c). The dashboard's files are served by http_static.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "http_static.h"
#include "ms_alloc.h"
#include "registry.h"
#include "runner.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define WAIT_MAX 60.0
#define IDEM_KEY_MAX 255

static enum MHD_Result no_memory(req *r) {
    return http_error(r, 503, "out-of-memory", "Out of memory", "retry later");
}

static enum MHD_Result bad_request(req *r, const char *detail) {
    return http_error(r, 400, "bad-request", "Bad request", detail);
}

static enum MHD_Result reply_job(req *r, int code, const job *j, const char *const *hdrs) {
    sbuf b = SBUF_INIT;
    job_write(&b, j);
    return http_reply_sbuf(r, code, &b, hdrs);
}

static enum MHD_Result no_store(req *r) {
    return http_error(r, 503, "unavailable", "Service unavailable",
                      "the job store cannot be read; retry later");
}

/* The job the path names, in memory or read back from the store (then a
 * view: free it with done_job). NULL when an answer (404, 503) is queued
 * in *answer. */
static job *find_job(req *r, int *view, enum MHD_Result *answer) {
    job *j = NULL;
    int rc = srv_lookup(r->s, r->arg, &j);
    *view = rc == LOOKUP_VIEW;
    if (rc == LOOKUP_NONE) {
        char d[200];
        snprintf(d, sizeof d, "no job with id %s", r->arg);
        *answer = http_error(r, 404, "not-found", "Job not found", d);
    } else if (rc == LOOKUP_ERROR) {
        *answer = no_store(r);
    }
    return j;
}

static void done_job(job *j, int view) {
    if (view)
        job_free(j);
}

/* POST /v1/jobs */
static enum MHD_Result h_submit(req *r) {
    srv *s = r->s;
    if (s->stopping)
        return http_error(r, 503, "shutting-down", "Shutting down",
                          "the daemon is stopping; retry on its successor");
    const char *key = http_header(r, "Idempotency-Key");
    uint64_t hash = jobs_hash(r->body.s ? r->body.s : "", r->body.len);
    if (key) {
        if (!key[0] || strlen(key) > IDEM_KEY_MAX)
            return bad_request(r, "Idempotency-Key must have 1 to 255 characters");
        job *old = NULL;
        int rc = srv_lookup_idem(s, key, &old);
        if (rc == LOOKUP_ERROR)
            return no_store(r);
        if (old) {
            enum MHD_Result a;
            if (old->body_hash == hash) {
                a = reply_job(r, 200, old, NULL);
            } else {
                char d[160];
                snprintf(d, sizeof d, "Idempotency-Key was used for job %s with another body",
                         old->id);
                a = http_error(r, 409, "idempotency-conflict", "Conflict", d);
            }
            done_job(old, rc == LOOKUP_VIEW);
            return a;
        }
    }
    codec_job cj;
    codec_problem pb;
    if (codec_job_parse(r->body.s ? r->body.s : "", r->body.len, &cj, &pb) != MS_OK) {
        static const char *const retry[] = {"Retry-After", "1", NULL};
        return http_problem(r, &pb, pb.status == 503 ? retry : NULL);
    }
    /* Capped first: the memory estimate may count per-thread workspaces. */
    runner_cap_threads(cj.kind, cj.params, s->cfg.cores);
    uint64_t est = runner_memory(cj.kind, cj.params);
    if (est > s->cfg.max_job_memory) {
        char extra[128];
        snprintf(extra, sizeof extra, "\"estimated_bytes\":%llu,\"limit_bytes\":%llu",
                 (unsigned long long)est, (unsigned long long)s->cfg.max_job_memory);
        codec_problem_init(&pb);
        codec_problem_set(&pb, 422, "too-much-memory", "Job too large",
                          "the job needs an estimated %llu bytes; the limit is %llu "
                          "(--max-job-memory)",
                          (unsigned long long)est, (unsigned long long)s->cfg.max_job_memory);
        pb.extra = extra;
        ms_errlist_addf(&pb.errors, MS_ETOOBIG, "params", "needs an estimated %llu bytes",
                        (unsigned long long)est);
        s->m.rejected_memory++;
        codec_job_free(&cj);
        return http_problem(r, &pb, NULL);
    }
    job *j = NULL;
    int code = srv_accept(s, cj.kind, cj.params, cj.label, cj.priority, cj.timeout_s,
                          r->body.s ? r->body.s : "", r->body.len, key, &j);
    if (!j) {
        codec_job_free(&cj);
        if (code == 429) {
            s->m.rejected_queue_full++;
            return http_error(r, 429, "queue-full", "Queue full",
                              "the queue is full (--max-queue); retry later");
        }
        return http_error(r, 503, "unavailable", "Service unavailable",
                          "the job could not be recorded; retry later");
    }
    cj.params = NULL; /* the job owns them now */
    codec_job_free(&cj);
    char loc[64];
    snprintf(loc, sizeof loc, "/v1/jobs/%s", j->id);
    const char *h[] = {"Location", loc, NULL};
    return reply_job(r, 201, j, h);
}

/* GET /v1/jobs */
static enum MHD_Result h_list(req *r) {
    const char *st = http_query(r, "status"), *kind = http_query(r, "kind");
    const char *lim = http_query(r, "limit"), *cursor = http_query(r, "cursor");
    int status = -1;
    if (st && st[0] && (status = job_status_parse(st)) < 0)
        return bad_request(r, "status must be queued, running, succeeded, failed or cancelled");
    if (kind && kind[0] && !ms_registry_find(kind))
        return bad_request(r, "kind must be the name of a kind (see /v1/kinds)");
    if (cursor && cursor[0] && !job_id_valid(cursor))
        return bad_request(r, "cursor must be the next_cursor of a previous page");
    long limit = LIST_DEFAULT;
    if (lim) {
        char *end;
        limit = strtol(lim, &end, 10);
        if (*end || end == lim || limit < 1 || limit > LIST_MAX)
            return bad_request(r, "limit must be an integer from 1 to 1000");
    }
    sbuf b = SBUF_INIT;
    if (srv_list(r->s, cursor && cursor[0] ? cursor : NULL, status, kind && kind[0] ? kind : NULL,
                 (size_t)limit, &b)) {
        sbuf_free(&b);
        return no_store(r);
    }
    return http_reply_sbuf(r, 200, &b, NULL);
}

/* GET /v1/jobs/{id}[?wait=S] */
static enum MHD_Result h_get(req *r) {
    if (r->mode == MODE_WAIT) /* resumed: terminal, timed out or shutting down */
        return reply_job(r, 200, r->job, NULL);
    int view;
    enum MHD_Result a;
    job *j = find_job(r, &view, &a);
    if (!j)
        return a;
    const char *w = http_query(r, "wait");
    double wait = 0;
    if (w) {
        char *end;
        wait = strtod(w, &end);
        if (*end || end == w || !(wait >= 0) || !isfinite(wait)) {
            done_job(j, view);
            return bad_request(r, "wait must be a number of seconds from 0 to 60");
        }
        if (wait > WAIT_MAX)
            wait = WAIT_MAX;
    }
    /* A view is of an evicted job: finished, nothing to wait for. */
    if (wait > 0 && !view && !job_terminal(j) && !r->s->stopping) {
        r->deadline = http_now() + wait;
        http_follow(r, j, MODE_WAIT);
        return MHD_YES;
    }
    a = reply_job(r, 200, j, NULL);
    done_job(j, view);
    return a;
}

static enum MHD_Result conflict(req *r, const job *j, const char *what) {
    char extra[1400];
    int n = snprintf(extra, sizeof extra, "\"job_status\":\"%s\"", job_status_name(j->status));
    if (j->status == JOB_FAILED && j->error)
        snprintf(extra + n, sizeof extra - (size_t)n, ",\"job_error\":%s", j->error);
    codec_problem pb;
    codec_problem_init(&pb);
    codec_problem_set(&pb, 409, "job-state", "Conflict", "job %s is %s: %s", j->id,
                      job_status_name(j->status), what);
    pb.extra = extra;
    return http_problem(r, &pb, NULL);
}

/* DELETE /v1/jobs/{id} */
static enum MHD_Result h_cancel(req *r) {
    int view;
    enum MHD_Result a;
    job *j = find_job(r, &view, &a);
    if (!j)
        return a;
    if (job_terminal(j)) {
        a = conflict(r, j, "a finished job cannot be cancelled");
    } else {
        srv_cancel(r->s, j);
        a = reply_job(r, 202, j, NULL);
    }
    done_job(j, view);
    return a;
}

/* GET /v1/jobs/{id}/result */
static enum MHD_Result h_result(req *r) {
    int view;
    enum MHD_Result a;
    job *j = find_job(r, &view, &a);
    if (!j)
        return a;
    if (j->status != JOB_SUCCEEDED) {
        a = conflict(r, j, "the result exists once the job has succeeded");
        done_job(j, view);
        return a;
    }
    size_t len = j->result_len;
    /* A result the store has not taken yet is served from memory. */
    char *res = j->result ? ms_strdup(j->result) : store_get_result(r->s->store, j->id, &len);
    if (!res) {
        log_msg(r->s, 3, "result missing", "\"job\":\"%s\"", j->id);
        done_job(j, view);
        return http_error(r, 503, "unavailable", "Service unavailable",
                          "the stored result could not be read; retry later");
    }
    sbuf b = SBUF_INIT;
    if (sbuf_reserve(&b, len + 128) == 0) {
        sbuf_puts(&b, "{\"id\":\"");
        sbuf_puts(&b, j->id);
        sbuf_puts(&b, "\",\"kind\":");
        sbuf_json_str(&b, j->kind ? j->kind->name : "?");
        sbuf_puts(&b, ",\"result\":");
        sbuf_putn(&b, res, len);
        sbuf_putc(&b, '}');
    }
    ms_free(res);
    done_job(j, view);
    return http_reply_sbuf(r, 200, &b, NULL);
}

/* GET /v1/jobs/{id}/events */
static enum MHD_Result h_events(req *r) {
    srv *s = r->s;
    int view;
    enum MHD_Result a;
    job *j = find_job(r, &view, &a);
    if (!j)
        return a;
    /* An evicted job streams from the store: its history is complete. */
    if (view) {
        snprintf(r->sid, sizeof r->sid, "%s", j->id);
        r->slast = job_last_seq(j);
        job_free(j);
        j = NULL;
    }
    if (s->streams >= s->cfg.max_streams)
        return http_error(r, 503, "too-many-streams", "Too many streams",
                          "the limit of concurrent event streams is reached (--max-streams)");
    const char *last = http_header(r, "Last-Event-ID");
    const char *after = http_query(r, "after");
    const char *from = last && last[0] ? last : after;
    int64_t seq = 0, top = j ? job_last_seq(j) : r->slast;
    if (from && from[0]) {
        /* Decimal digits only, and an id the job has issued: a larger one
         * (another daemon's, or a lost history's) would otherwise hold the
         * stream silent until ids catch up and then skip events. */
        size_t n = strspn(from, "0123456789");
        if (from[n] || n > 18)
            return bad_request(r, "Last-Event-ID (or after) must be an event id");
        seq = strtoll(from, NULL, 10);
        if (seq > top) {
            char d[160];
            snprintf(d, sizeof d,
                     "Last-Event-ID (or after) %lld is beyond the job's last event (%lld)",
                     (long long)seq, (long long)top);
            return bad_request(r, d);
        }
    }
    const char *accept = http_header(r, "Accept");
    r->ndjson = accept && strstr(accept, "application/x-ndjson") != NULL;
    http_hold(r, j);
    r->next_seq = seq + 1;
    return http_stream(r);
}

static enum MHD_Result h_kinds(req *r) {
    char *copy = ms_malloc(r->s->kinds_len + 1, 1);
    if (!copy)
        return no_memory(r);
    memcpy(copy, r->s->kinds_json, r->s->kinds_len + 1);
    return http_reply(r, 200, "application/json", copy, r->s->kinds_len, NULL);
}

static enum MHD_Result h_kind(req *r) {
    const ms_kind *k = ms_registry_find(r->arg);
    if (!k)
        return http_error(r, 404, "not-found", "Kind not found", "no such kind; see /v1/kinds");
    cJSON *j = codec_kind_json(k);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return no_memory(r);
    /* cJSON's allocations are ms_alloc's (codec_json_hooks_install). */
    return http_reply(r, 200, "application/json", text, strlen(text), NULL);
}

static enum MHD_Result h_openapi(req *r) {
    char *copy = ms_malloc(r->s->openapi_len + 1, 1);
    if (!copy)
        return no_memory(r);
    memcpy(copy, r->s->openapi_json, r->s->openapi_len + 1);
    return http_reply(r, 200, "application/json", copy, r->s->openapi_len, NULL);
}

static enum MHD_Result h_healthz(req *r) {
    static const char ok[] = "{\"status\":\"ok\"}";
    char *b = ms_malloc(sizeof ok, 1);
    if (!b)
        return no_memory(r);
    memcpy(b, ok, sizeof ok);
    return http_reply(r, 200, "application/json", b, sizeof ok - 1, NULL);
}

static enum MHD_Result h_readyz(req *r) {
    srv *s = r->s;
    if (!srv_ready(s))
        return http_error(r, 503, "not-ready", "Not ready",
                          s->stopping                        ? "the daemon is stopping"
                          : !store_ok(s->store) || s->ndirty ? "the store refuses writes"
                                                             : "the worker pool is down");
    sbuf b = SBUF_INIT;
    sbuf_printf(&b, "{\"status\":\"ready\",\"workers\":%d,\"queue_depth\":%zu}",
                pool_workers(s->pool), pool_depth(s->pool));
    return http_reply_sbuf(r, 200, &b, NULL);
}

static void write_metrics(srv *s, sbuf *b) {
    size_t nk;
    const ms_kind *const *ks = ms_registry(&nk);
    /* Jobs by kind and status: those in memory, counted from the table,
     * and those evicted from it (finished; counted as they left). */
    uint64_t counts[METRICS_KINDS + 1][JOB_NSTATUS];
    memcpy(counts, s->gone, sizeof counts);
    size_t n = jobs_count(s->jobs);
    job **all = ms_malloc(n ? n : 1, sizeof *all);
    int more;
    n = all ? jobs_list(s->jobs, NULL, -1, NULL, n, all, &more) : 0;
    for (size_t i = 0; i < n; i++)
        counts[srv_kind_index(all[i]->kind)][all[i]->status]++;
    ms_free(all);
    sbuf_puts(b, "# HELP measured_jobs Jobs known to the daemon, by kind and status.\n"
                 "# TYPE measured_jobs gauge\n");
    for (size_t k = 0; k < nk && k < METRICS_KINDS; k++)
        for (int st = 0; st < JOB_NSTATUS; st++)
            sbuf_printf(b, "measured_jobs{kind=\"%s\",status=\"%s\"} %llu\n", ks[k]->name,
                        job_status_name(st), (unsigned long long)counts[k][st]);
    for (int st = 0; st < JOB_NSTATUS; st++)
        if (counts[METRICS_KINDS][st])
            sbuf_printf(b, "measured_jobs{kind=\"unknown\",status=\"%s\"} %llu\n",
                        job_status_name(st), (unsigned long long)counts[METRICS_KINDS][st]);
    sbuf_printf(b,
                "# HELP measured_queue_depth Jobs waiting for a worker.\n"
                "# TYPE measured_queue_depth gauge\nmeasured_queue_depth %zu\n"
                "# HELP measured_queue_capacity The queue bound (--max-queue).\n"
                "# TYPE measured_queue_capacity gauge\nmeasured_queue_capacity %zu\n"
                "# HELP measured_workers_busy Workers running a job.\n"
                "# TYPE measured_workers_busy gauge\nmeasured_workers_busy %d\n"
                "# HELP measured_workers Worker threads.\n"
                "# TYPE measured_workers gauge\nmeasured_workers %d\n"
                "# HELP measured_event_streams Open event streams.\n"
                "# TYPE measured_event_streams gauge\nmeasured_event_streams %u\n"
                "# HELP measured_jobs_in_memory Jobs held in memory (--retain-jobs).\n"
                "# TYPE measured_jobs_in_memory gauge\nmeasured_jobs_in_memory %zu\n"
                "# HELP measured_store_pending_jobs Jobs with changes the store refused.\n"
                "# TYPE measured_store_pending_jobs gauge\nmeasured_store_pending_jobs %zu\n",
                pool_depth(s->pool), pool_capacity(s->pool), pool_busy(s->pool),
                pool_workers(s->pool), s->streams, jobs_count(s->jobs), s->ndirty);
    sbuf_printf(b,
                "# HELP measured_events_sent_total Events written to streams.\n"
                "# TYPE measured_events_sent_total counter\nmeasured_events_sent_total %llu\n"
                "# HELP measured_jobs_rejected_total Submissions refused, by reason.\n"
                "# TYPE measured_jobs_rejected_total counter\n"
                "measured_jobs_rejected_total{reason=\"queue_full\"} %llu\n"
                "measured_jobs_rejected_total{reason=\"memory\"} %llu\n",
                (unsigned long long)s->m.events, (unsigned long long)s->m.rejected_queue_full,
                (unsigned long long)s->m.rejected_memory);
    sbuf_puts(b, "# HELP measured_job_duration_seconds Run time of finished jobs.\n"
                 "# TYPE measured_job_duration_seconds histogram\n");
    for (size_t k = 0; k < nk && k < METRICS_KINDS; k++) {
        uint64_t cum = 0;
        for (int i = 0; i <= METRICS_BUCKETS; i++) {
            cum += s->m.dur_bucket[k][i];
            if (i < METRICS_BUCKETS)
                sbuf_printf(b, "measured_job_duration_seconds_bucket{kind=\"%s\",le=\"%g\"} %llu\n",
                            ks[k]->name, metrics_bounds[i], (unsigned long long)cum);
            else
                sbuf_printf(b,
                            "measured_job_duration_seconds_bucket{kind=\"%s\",le=\"+Inf\"} %llu\n",
                            ks[k]->name, (unsigned long long)cum);
        }
        sbuf_printf(b, "measured_job_duration_seconds_sum{kind=\"%s\"} %.6f\n", ks[k]->name,
                    s->m.dur_sum[k]);
        sbuf_printf(b, "measured_job_duration_seconds_count{kind=\"%s\"} %llu\n", ks[k]->name,
                    (unsigned long long)s->m.dur_count[k]);
    }
    sbuf_puts(b, "# HELP measured_http_requests_total HTTP requests by route and code.\n"
                 "# TYPE measured_http_requests_total counter\n");
    for (int rt = 0; rt < METRICS_ROUTES; rt++)
        for (int c = 0; c < METRICS_CODES && s->m.codes[c]; c++)
            if (s->m.requests[rt][c])
                sbuf_printf(b, "measured_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                            rt < (int)http_nroutes ? http_routes[rt].name : "other", s->m.codes[c],
                            (unsigned long long)s->m.requests[rt][c]);
}

static enum MHD_Result h_metrics(req *r) {
    sbuf b = SBUF_INIT;
    write_metrics(r->s, &b);
    if (sbuf_oom(&b)) {
        sbuf_free(&b);
        return no_memory(r);
    }
    size_t len = b.len;
    return http_reply(r, 200, "text/plain; version=0.0.4", sbuf_take(&b), len, NULL);
}

const route http_routes[] = {
    {"POST", "/v1/jobs", h_submit, "POST /v1/jobs", 0},
    {"GET", "/v1/jobs", h_list, "GET /v1/jobs", 0},
    {"GET", "/v1/jobs/*", h_get, "GET /v1/jobs/{id}", 0},
    {"DELETE", "/v1/jobs/*", h_cancel, "DELETE /v1/jobs/{id}", 0},
    {"GET", "/v1/jobs/*/result", h_result, "GET /v1/jobs/{id}/result", 0},
    {"GET", "/v1/jobs/*/events", h_events, "GET /v1/jobs/{id}/events", 0},
    {"GET", "/v1/kinds", h_kinds, "GET /v1/kinds", 0},
    {"GET", "/v1/kinds/*", h_kind, "GET /v1/kinds/{name}", 0},
    {"GET", "/v1/openapi.json", h_openapi, "GET /v1/openapi.json", 0},
    {"GET", "/healthz", h_healthz, "GET /healthz", 1},
    {"GET", "/readyz", h_readyz, "GET /readyz", 1},
    {"GET", "/metrics", h_metrics, "GET /metrics", 0},
    {"GET", "/", http_static_index, "GET /", 1},
    {"GET", "/ui/*", http_static_asset, "GET /ui/{name}", 1},
};
const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
