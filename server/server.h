/* server.h — the daemon's shared state and the calls between its parts.
 *
 * What it is for: one context (`srv`) owned by the loop thread: the
 * configuration, the libuv loop, the HTTP daemon, the job table, the pool,
 * the store, the metrics and the suspended connections. daemon.c builds it
 * and runs the job lifecycle; persist.c writes jobs to the store; retain.c
 * bounds the job table and reads evicted jobs back; http.c serves;
 * http_routes.c answers.
 *
 * Thread-safety: everything here belongs to the loop thread.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdint.h>
#include <uv.h>

#include "jobs.h"
#include "metrics.h"
#include "pool.h"
#include "store.h"

typedef struct srv_config {
    char host[256];
    int port;
    char store_path[4096];
    int workers;
    char token[512]; /* empty: no authentication */
    size_t max_queue;
    size_t max_body;
    uint64_t max_job_memory;
    unsigned max_connections;
    unsigned max_streams;
    unsigned idle_timeout; /* seconds; also the slow-client bound */
    double keepalive;      /* seconds between stream keepalive comments */
    double progress_interval;
    size_t retain_jobs; /* finished jobs kept in memory */
    int log_level;      /* 0 debug, 1 info, 2 warn, 3 error */
    int cores;
} srv_config;

struct req;
struct MHD_Daemon;

typedef struct srv {
    srv_config cfg;
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t mhd_poll;
    uv_timer_t mhd_timer;
    uv_timer_t tick;
    uv_timer_t stop_timer;
    uv_timer_t maint; /* every second: store retries, eviction */
    uv_signal_t sig_term, sig_int;
    jobs *jobs;
    pool *pool;
    store *store;
    struct req *suspended; /* every suspended request (waits and streams) */
    unsigned streams;      /* open event streams */
    int stopping;
    int quiesced_fd;  /* the listen socket once quiesced (ours to close), or -1 */
    char *kinds_json; /* GET /v1/kinds, built once */
    size_t kinds_len;
    char *openapi_json;
    size_t openapi_len;
    metrics m;
    uint64_t next_req;
    /* Jobs whose changes the store has not taken yet (persist.c). */
    job *dirty, *dirty_tail;
    size_t ndirty;
    int store_down; /* the last write failed (logged once per outage) */
    /* Finished jobs evicted from memory, by kind (METRICS_KINDS: unknown)
     * and status, for the measured_jobs gauge. */
    uint64_t gone[METRICS_KINDS + 1][JOB_NSTATUS];
} srv;

/* ---- daemon.c: the job lifecycle -------------------------------------- */

/* Cancel: a queued job at once; a running one at its next iteration. */
void srv_cancel(srv *s, job *j);
/* Accept a parsed job: store it, queue it. On failure returns the HTTP
 * status to answer (429 queue full, 503 store failure) and *j stays NULL. */
int srv_accept(srv *s, const ms_kind *k, void *params, const char *label, int priority,
               double timeout_s, const char *body, size_t len, const char *idem_key, job **out);
int srv_ready(srv *s);
/* Index of a kind in the registry (METRICS_KINDS when unknown or past it). */
size_t srv_kind_index(const ms_kind *k);

/* ---- persist.c: the store in step with memory ------------------------- */

/* Write what the store lacks of j (row when row_dirty, events after
 * saved_seq, a pending result) in one transaction. On failure j is kept
 * dirty and pinned in memory for srv_retry. 0 on success. */
int srv_persist(srv *s, job *j);
/* Retry dirty jobs, oldest first, stopping at the first failure unless
 * `all`; probe the store when nothing is pending but a write failed.
 * Returns how many jobs are still pending. */
size_t srv_retry(srv *s, int all);
/* Log when the store starts or stops refusing writes (once each). */
void srv_store_check(srv *s);

/* ---- retain.c: a bounded job table --------------------------------------- */

/* Evict finished jobs past --retain-jobs (jobs_evict). Frees jobs: call
 * it only where no job pointer is held across the call. */
void srv_trim(srv *s);
/* A request lets go of a job it held (refs). */
void srv_release(srv *s, job *j);
/* Find a job by id or idempotency key: in memory (LOOKUP_MEMORY), or read
 * back from the store as a detached view the caller frees with job_free
 * (LOOKUP_VIEW); LOOKUP_NONE, or LOOKUP_ERROR when the store cannot be
 * read or memory is short. */
enum { LOOKUP_ERROR = -1, LOOKUP_MEMORY = 0, LOOKUP_NONE = 1, LOOKUP_VIEW = 2 };
int srv_lookup(srv *s, const char *id, job **out);
int srv_lookup_idem(srv *s, const char *key, job **out);
/* The body of GET /v1/jobs: memory and store merged, newest first. 0, or -1
 * when the store cannot be read or memory is short. */
int srv_list(srv *s, const char *cursor, int status, const char *kind, size_t limit, sbuf *b);
/* A job row into a job (everything but id, kind, status, created_ms and
 * the idempotency key); -1 on no memory. */
int srv_row_to_job(job *j, const store_job *row);
job_status srv_row_status(const store_job *row);
/* At start-up: count the finished jobs the store has and memory lacks. */
int srv_count_evicted(srv *s);

/* ---- http.c ------------------------------------------------------------ */

int http_start(srv *s, char *err, size_t cap);
/* Stop accepting and resume every suspended request (they answer at once). */
void http_quiesce(srv *s);
void http_stop(srv *s);
/* The job has a new event: resume the requests that follow it. */
void http_job_changed(srv *s, job *j);

/* ---- log.c ----------------------------------------------------------- */
void log_msg(const srv *s, int level, const char *msg, const char *fmt_kv, ...)
    __attribute__((format(printf, 4, 5)));

#endif
