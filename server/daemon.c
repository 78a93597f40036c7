/* daemon.c — the daemon: configuration, the job lifecycle, recovery from the
 * store, and graceful stop.
 *
 * What it is for: main's daemon mode. It reads flags and MEASURED_*
 * variables (flags win), opens the store and replays it (queued jobs run
 * again, interrupted ones re-run with the same params and seed), starts the
 * pool and HTTP, and then reacts on the loop thread to what the workers
 * report: events appended and stored, followers woken, results stored
 * before the terminal event. SIGTERM/SIGINT stop accepting, let running jobs
 * reach an iteration boundary, record them as queued, and exit 0.
 *
 * What it is not for: routes (http_routes.c), connections (http.c).
 */
#include "daemon.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "ms_alloc.h"
#include "registry.h"
#include "runner.h"
#include "server.h"

/* ---- the job lifecycle (loop thread) ----------------------------------- */

/* Every change is made in memory, then written (srv_persist: the row when
 * row_dirty, the new events, a result) in one transaction, then shown to
 * the requests that follow the job. */
static void changed(srv *s, job *j) {
    srv_persist(s, j);
    http_job_changed(s, j);
}

static void add_event(srv *s, job *j, event_type t, const char *data, size_t len) {
    if (!job_event_add(j, t, data, len))
        log_msg(s, 3, "event lost (no memory)", "\"job\":\"%s\"", j->id);
}

static void add_status(srv *s, job *j, event_type t, const char *reason) {
    char d[128];
    int n = snprintf(d, sizeof d, "{\"status\":\"%s\"%s%s%s}", job_status_name(j->status),
                     reason ? ",\"reason\":\"" : "", reason ? reason : "", reason ? "\"" : "");
    add_event(s, j, t, d, (size_t)n);
}

/* Move a job to a terminal status: times, end event, row, followers. A
 * result (j->result) is written in the same transaction as the end event,
 * so that a reader who sees `end` can always fetch it. */
static void finish(srv *s, job *j, job_status st, int64_t at_ms) {
    jobs_set_status(s->jobs, j, st);
    j->finished_ms = at_ms;
    j->row_dirty = 1;
    job_release_params(j);
    add_status(s, j, EV_END, NULL);
    changed(s, j);
    /* No eviction here: the caller may still use j (a DELETE answers with
     * it). on_msg, the maintenance timer and released requests evict. */
}

static void set_error(job *j, const ms_err *err) {
    sbuf b = SBUF_INIT;
    codec_error_write(&b, err);
    ms_free(j->error);
    j->error = sbuf_take(&b);
}

static void on_started(srv *s, job *j, int64_t at) {
    jobs_set_status(s->jobs, j, JOB_RUNNING);
    j->started_ms = at;
    j->finished_ms = 0;
    j->attempts++;
    j->row_dirty = 1;
    add_status(s, j, EV_STATUS, NULL);
    changed(s, j);
}

static void on_done(srv *s, job *j, pool_msg *m) {
    metrics_job_done(&s->m, srv_kind_index(j->kind), m->seconds);
    if (m->status == MS_OK) {
        ms_free(j->result);
        j->result = m->data; /* owned by the job until the store has it */
        j->result_len = m->len;
        m->data = NULL;
        finish(s, j, JOB_SUCCEEDED, m->at_ms);
        return;
    }
    if (m->status == MS_ECANCELLED && atomic_load(&j->cancel) == RUNNER_SHUTDOWN) {
        /* Stopped by a graceful shutdown: queued again, re-run on restart. */
        jobs_set_status(s->jobs, j, JOB_QUEUED);
        j->row_dirty = 1;
        add_status(s, j, EV_STATUS, "shutdown");
        changed(s, j);
        return;
    }
    if (m->status == MS_ECANCELLED) {
        finish(s, j, JOB_CANCELLED, m->at_ms);
        return;
    }
    set_error(j, &m->err);
    log_msg(s, 1, "job failed", "\"job\":\"%s\",\"code\":\"%s\"", j->id, ms_status_name(m->status));
    finish(s, j, JOB_FAILED, m->at_ms);
}

static void on_msg(pool_msg *m, void *user) {
    srv *s = user;
    job *j = m->job;
    switch (m->type) {
    case POOL_STARTED:
        on_started(s, j, m->at_ms);
        break;
    case POOL_PROGRESS:
        if (!job_terminal(j) && job_set_progress(j, m->data, m->len) == 0) {
            add_event(s, j, EV_PROGRESS, m->data, m->len);
            changed(s, j);
        }
        break;
    case POOL_DONE:
        on_done(s, j, m);
        srv_trim(s); /* j is not used past this point */
        break;
    }
    pool_msg_free(m);
}

void srv_cancel(srv *s, job *j) {
    if (job_terminal(j))
        return;
    j->cancel_requested = 1;
    if (j->status == JOB_QUEUED && pool_remove(s->pool, j)) {
        finish(s, j, JOB_CANCELLED, wall_ms());
        return;
    }
    /* Running (or just taken by a worker): stop at the next iteration. */
    atomic_store(&j->cancel, RUNNER_CANCEL);
}

int srv_accept(srv *s, const ms_kind *k, void *params, const char *label, int priority,
               double timeout_s, const char *body, size_t len, const char *idem_key, job **out) {
    *out = NULL;
    /* Only this thread pushes; workers only take: a depth below the bound
     * now is still below it when we push. */
    if (pool_depth(s->pool) >= pool_capacity(s->pool))
        return 429;
    job *j = jobs_create(s->jobs, k, NULL, label, priority, timeout_s, wall_ms());
    if (!j)
        return 503;
    j->body_hash = jobs_hash(body, len);
    static const char queued[] = "{\"status\":\"queued\"}";
    if ((idem_key && jobs_set_idem(s->jobs, j, idem_key, j->body_hash)) ||
        !job_event_add(j, EV_STATUS, queued, sizeof queued - 1)) {
        jobs_discard(s->jobs, j);
        return 503;
    }
    /* 201 means stored: the row, the body and event 1 in one transaction.
     * A store that refuses them refuses the job (503), never half of it. */
    store_job row = {j->id, k->name,      j->label, "queued",  j->idem_key,   NULL,
                     NULL,  priority,     0,        timeout_s, j->created_ms, 0,
                     0,     j->body_hash, 0};
    store_begin(s->store);
    store_insert_job(s->store, &row, body, len);
    store_add_event(s->store, j->id, 1, "status", queued, sizeof queued - 1);
    int bad = store_commit(s->store);
    srv_store_check(s);
    if (bad) {
        jobs_discard(s->jobs, j);
        return 503;
    }
    j->saved_seq = 1;
    j->params = params;
    pool_push_force(s->pool, j);
    *out = j;
    return 201;
}

int srv_ready(srv *s) {
    return !s->stopping && s->store && store_ok(s->store) && s->ndirty == 0 && s->pool &&
           pool_workers(s->pool) > 0;
}

/* ---- recovery ------------------------------------------------------------ */

typedef struct loader {
    srv *s;
    job **rerun;
    size_t nrerun, cap;
    int bad;
} loader;

static void load_job(const store_job *row, void *user) {
    loader *L = user;
    srv *s = L->s;
    if (L->bad)
        return;
    job *j = jobs_restore(s->jobs, row->id, ms_registry_find(row->kind), srv_row_status(row),
                          row->created_ms);
    if (!j || srv_row_to_job(j, row) ||
        (row->idem_key && jobs_set_idem(s->jobs, j, row->idem_key, row->body_hash))) {
        L->bad = 1;
        return;
    }
    if (!job_terminal(j)) {
        if (L->nrerun == L->cap) {
            size_t cap = L->cap ? 2 * L->cap : 64;
            job **r = ms_realloc(L->rerun, cap, sizeof *r);
            if (!r) {
                L->bad = 1;
                return;
            }
            L->rerun = r;
            L->cap = cap;
        }
        L->rerun[L->nrerun++] = j;
    }
}

/* Rebuild params from the stored body and queue the job again. */
static void requeue(srv *s, job *j) {
    int was_running = j->status == JOB_RUNNING;
    size_t len = 0;
    char *body = store_get_body(s->store, j->id, &len);
    codec_job cj;
    codec_problem pb;
    ms_status st = body ? codec_job_parse(body, len, &cj, &pb) : MS_EINVAL;
    ms_free(body);
    if (st != MS_OK) {
        ms_err e;
        ms_fail(&e, MS_EINTERNAL, "", "cannot re-run after a restart: %s",
                body ? pb.detail : "the request body is missing from the store");
        set_error(j, &e);
        finish(s, j, JOB_FAILED, wall_ms());
        return;
    }
    runner_cap_threads(cj.kind, cj.params, s->cfg.cores);
    j->kind = cj.kind;
    j->params = cj.params;
    cj.params = NULL;
    codec_job_free(&cj);
    if (was_running) {
        jobs_set_status(s->jobs, j, JOB_QUEUED);
        j->row_dirty = 1;
        add_status(s, j, EV_STATUS, "restart");
        changed(s, j);
    }
    pool_push_force(s->pool, j);
}

static int recover(srv *s) {
    loader L = {s, NULL, 0, 0, 0};
    char older[24];
    if (store_load(s->store, s->cfg.retain_jobs, older, sizeof older, load_job, &L) < 0 || L.bad ||
        srv_count_evicted(s)) {
        ms_free(L.rerun);
        return -1;
    }
    jobs_set_older(s->jobs, older);
    for (size_t i = 0; i < L.nrerun; i++)
        requeue(s, L.rerun[i]);
    if (L.nrerun)
        log_msg(s, 1, "recovered", "\"requeued\":%zu,\"jobs\":%zu", L.nrerun, jobs_count(s->jobs));
    ms_free(L.rerun);
    return 0;
}

/* Every second: what the store refused is tried again; jobs released by
 * their last request are evicted. */
static void on_maint(uv_timer_t *t) {
    srv *s = t->data;
    srv_retry(s, 0);
    srv_trim(s);
}

/* ---- configuration -------------------------------------------------------- */

typedef enum { O_STR, O_INT, O_COUNT, O_SIZE, O_SECONDS, O_LEVEL } opt_type;

typedef struct opt {
    const char *name; /* flag without "--"; env MEASURED_<NAME> */
    opt_type type;
    size_t offset;
    size_t cap;
    const char *help;
} opt;

#define OFF(f) offsetof(srv_config, f)
static const opt opts[] = {
    {"listen", O_STR, OFF(host), 0, "HOST:PORT to listen on (default 127.0.0.1:8080)"},
    {"store", O_STR, OFF(store_path), sizeof(((srv_config *)0)->store_path),
     "SQLite file (default var/measured.db; :memory: keeps nothing)"},
    {"workers", O_INT, OFF(workers), 0, "worker threads (default: the number of cores)"},
    {"token", O_STR, OFF(token), sizeof(((srv_config *)0)->token),
     "require Authorization: Bearer TOKEN (not on /healthz, /readyz)"},
    {"max-queue", O_SIZE, OFF(max_queue), 0, "queued jobs before 429 (default 1024)"},
    {"max-body", O_SIZE, OFF(max_body), 0, "request body limit in bytes (default 64M)"},
    {"max-job-memory", O_SIZE, OFF(max_job_memory), 0,
     "refuse jobs estimated above this (default: half the RAM)"},
    {"max-connections", O_INT, OFF(max_connections), 0, "concurrent connections (default 4096)"},
    {"max-streams", O_INT, OFF(max_streams), 0, "concurrent event streams (default 2048)"},
    {"idle-timeout", O_INT, OFF(idle_timeout), 0,
     "seconds before an idle or stalled connection is closed (default 30)"},
    {"keepalive", O_SECONDS, OFF(keepalive), 0, "seconds between stream keepalives (default 15)"},
    {"progress-interval", O_SECONDS, OFF(progress_interval), 0,
     "minimum seconds between progress events of a job (default 0.1)"},
    {"retain-jobs", O_COUNT, OFF(retain_jobs), 0,
     "finished jobs kept in memory; older ones are read back from the store (default 4096)"},
    {"log-level", O_LEVEL, OFF(log_level), 0, "debug, info, warn or error (default info)"},
};

static int parse_size(const char *v, uint64_t *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    double mul = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mul = 1024.0, end++;
        break;
    case 'm':
    case 'M':
        mul = 1024.0 * 1024, end++;
        break;
    case 'g':
    case 'G':
        mul = 1024.0 * 1024 * 1024, end++;
        break;
    }
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (end == v || *end || errno || !(x >= 0) || x * mul > 1.8e19)
        return -1;
    *out = (uint64_t)(x * mul);
    return 0;
}

static int set_opt(srv_config *c, const opt *o, const char *v) {
    char *p = (char *)c + o->offset;
    switch (o->type) {
    case O_STR:
        if (strcmp(o->name, "listen") == 0) {
            const char *colon = strrchr(v, ':');
            char *end;
            long port = colon ? strtol(colon + 1, &end, 10) : -1;
            if (!colon || colon == v || *end || port < 0 || port > 65535 ||
                (size_t)(colon - v) >= sizeof c->host)
                return -1;
            memcpy(c->host, v, (size_t)(colon - v));
            c->host[colon - v] = '\0';
            c->port = (int)port;
            return 0;
        }
        if (strlen(v) >= o->cap)
            return -1;
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case O_INT: {
        char *end;
        long x = strtol(v, &end, 10);
        if (*end || end == v || x < 1 || x > 1000000)
            return -1;
        if (strcmp(o->name, "workers") == 0)
            *(int *)p = (int)x;
        else
            *(unsigned *)p = (unsigned)x;
        return 0;
    }
    case O_COUNT: {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (*end || end == v || x < 0 || x > 1000000000)
            return -1;
        *(size_t *)p = (size_t)x;
        return 0;
    }
    case O_SIZE: {
        uint64_t x;
        if (parse_size(v, &x) || x == 0)
            return -1;
        if (strcmp(o->name, "max-job-memory") == 0)
            *(uint64_t *)p = x;
        else
            *(size_t *)p = (size_t)x;
        return 0;
    }
    case O_SECONDS: {
        char *end;
        double x = strtod(v, &end);
        if (*end || end == v || !(x >= 0) || x > 86400)
            return -1;
        *(double *)p = x;
        return 0;
    }
    case O_LEVEL: {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, names[i]) == 0) {
                *(int *)p = i;
                return 0;
            }
        return -1;
    }
    }
    return -1;
}

static void usage(FILE *f) {
    fprintf(f, "usage: measured [options]        serve the HTTP API\n"
               "       measured solve FILE|-     run one job body in the foreground\n\n"
               "options (each also as MEASURED_<NAME>, e.g. MEASURED_MAX_QUEUE; flags win):\n");
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        fprintf(f, "  --%-18s %s\n", opts[i].name, opts[i].help);
}

static void defaults(srv_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 8080;
    snprintf(c->store_path, sizeof c->store_path, "var/measured.db");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->cores = cores > 0 ? (int)cores : 1;
    c->workers = c->cores;
    c->max_queue = 1024;
    c->max_body = 64u << 20;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    c->max_job_memory = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz / 2 : (4ull << 30);
    c->max_connections = 4096;
    c->max_streams = 2048;
    c->idle_timeout = 30;
    c->keepalive = 15;
    c->progress_interval = 0.1;
    c->retain_jobs = 4096;
    c->log_level = 1;
}

/* Environment first, then flags (flags win). Returns 0, 1 (exit 0: help)
 * or -1 (usage error). */
static int configure(srv_config *c, int argc, char **argv) {
    defaults(c);
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        char env[64] = "MEASURED_";
        size_t n = strlen(env);
        for (const char *q = opts[i].name; *q && n + 1 < sizeof env; q++)
            env[n++] = *q == '-' ? '_' : (char)(*q - ('a' <= *q && *q <= 'z' ? 32 : 0));
        env[n] = '\0';
        const char *v = getenv(env);
        if (v && set_opt(c, &opts[i], v)) {
            fprintf(stderr, "measured: invalid %s=%s\n", env, v);
            return -1;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        const opt *o = NULL;
        const char *v = NULL;
        for (size_t i = 0; i < sizeof opts / sizeof *opts && !o; i++) {
            size_t n = strlen(opts[i].name);
            if (strncmp(arg, "--", 2) || strncmp(arg + 2, opts[i].name, n))
                continue;
            if (arg[2 + n] == '=')
                o = &opts[i], v = arg + 3 + n;
            else if (arg[2 + n] == '\0' && a + 1 < argc)
                o = &opts[i], v = argv[++a];
        }
        if (!o) {
            fprintf(stderr, "measured: unknown or incomplete option %s\n", arg);
            usage(stderr);
            return -1;
        }
        if (set_opt(c, o, v)) {
            fprintf(stderr, "measured: invalid value for --%s: %s\n", o->name, v);
            return -1;
        }
    }
    return 0;
}

/* ---- start and stop --------------------------------------------------------- */

/* mkdir -p of the directory holding path. */
static void make_parent(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    mkdir(dir, 0755);
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void finish_stop(uv_timer_t *t) {
    srv *s = t->data;
    uv_close((uv_handle_t *)t, NULL);
    uv_close((uv_handle_t *)&s->maint, NULL);
    /* Workers stop at their next iteration boundary; what they report is
     * recorded (interrupted jobs as queued) before the pool is gone. */
    pool_stop(s->pool);
    http_stop(s);
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
}

static void on_signal(uv_signal_t *h, int sig) {
    srv *s = h->data;
    if (s->stopping)
        return;
    s->stopping = 1;
    log_msg(s, 1, "stopping", "\"signal\":%d", sig);
    http_quiesce(s);
    size_t n = jobs_count(s->jobs);
    job **all = ms_malloc(n ? n : 1, sizeof *all);
    int more;
    n = all ? jobs_list(s->jobs, NULL, -1, NULL, n, all, &more) : 0;
    for (size_t i = 0; i < n; i++)
        if (!job_terminal(all[i]))
            atomic_store(&all[i]->cancel, RUNNER_SHUTDOWN);
    ms_free(all);
    /* Give resumed connections a moment to get their answers out. */
    uv_timer_init(s->loop, &s->stop_timer);
    s->stop_timer.data = s;
    uv_timer_start(&s->stop_timer, finish_stop, 100, 0);
}

static int build_docs(srv *s) {
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "kinds");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, codec_kind_json(ks[i]));
    s->kinds_json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    cJSON *api = codec_openapi();
    s->openapi_json = api ? cJSON_PrintUnformatted(api) : NULL;
    cJSON_Delete(api);
    if (!s->kinds_json || !s->openapi_json)
        return -1;
    s->kinds_len = strlen(s->kinds_json);
    s->openapi_len = strlen(s->openapi_json);
    return 0;
}

int daemon_main(int argc, char **argv) {
    static srv S; /* the one server of this process */
    srv *s = &S;
    int rc = configure(&s->cfg, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    codec_json_hooks_install();
    raise_fd_limit();
    s->quiesced_fd = -1;
    s->loop = uv_default_loop();
    char err[512] = "";
    if (strcmp(s->cfg.store_path, ":memory:") != 0)
        make_parent(s->cfg.store_path);
    if (build_docs(s) || !(s->jobs = jobs_new()) ||
        !(s->store = store_open(s->cfg.store_path, err, sizeof err)) ||
        !(s->pool = pool_new(s->loop, s->cfg.workers, s->cfg.max_queue, s->cfg.progress_interval,
                             on_msg, s)) ||
        http_start(s, err, sizeof err) || recover(s)) {
        log_msg(s, 3, "cannot start", "\"detail\":\"%s\"", err[0] ? err : "out of memory");
        return 1;
    }
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    /* A store past the file size limit fails its writes (and is retried);
     * it does not kill the daemon. */
    signal(SIGXFSZ, SIG_IGN);
    uv_timer_init(s->loop, &s->maint);
    s->maint.data = s;
    uv_timer_start(&s->maint, on_maint, 1000, 1000);
    log_msg(s, 1, "started",
            "\"listen\":\"%s:%d\",\"store\":\"%s\",\"workers\":%d,\"auth\":%s,\"jobs\":%zu",
            s->cfg.host, s->cfg.port, s->cfg.store_path, pool_workers(s->pool),
            s->cfg.token[0] ? "true" : "false", jobs_count(s->jobs));
    fprintf(stderr, "listening on %s:%d\n", s->cfg.host, s->cfg.port);
    fflush(stderr);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_walk(s->loop, close_walk, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_loop_close(s->loop);
    size_t left = srv_retry(s, 1);
    if (left)
        log_msg(s, 3, "the store did not take every change; a restart resumes from what it has",
                "\"jobs\":%zu", left);
    store_close(s->store);
    jobs_free(s->jobs);
    cJSON_free(s->kinds_json);
    cJSON_free(s->openapi_json);
    log_msg(NULL, 1, "stopped", NULL);
    return 0;
}
