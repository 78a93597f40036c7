/* server.h — the daemon's shared state and the calls between its parts.
 *
 * What it is for: one context (`srv`) owned by the loop thread: the
 * configuration, the libuv loop, the HTTP daemon, the job table, the pool,
 * the store, the metrics and the suspended connections. daemon.c builds it
 * and runs the job lifecycle; http.c serves; http_routes.c answers.
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
    int log_level; /* 0 debug, 1 info, 2 warn, 3 error */
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
} srv;

/* ---- daemon.c: the job lifecycle -------------------------------------- */

/* Append an event to the job, store it and wake its followers. */
void srv_emit(srv *s, job *j, event_type t, const char *data, size_t len);
/* Persist the job row (status, times, progress, error). */
void srv_save(srv *s, job *j);
/* Cancel: a queued job at once; a running one at its next iteration. */
void srv_cancel(srv *s, job *j);
/* Accept a parsed job: store it, queue it. On failure returns the HTTP
 * status to answer (429 queue full, 503 store failure) and *j stays NULL. */
int srv_accept(srv *s, const ms_kind *k, void *params, const char *label, int priority,
               double timeout_s, const char *body, size_t len, const char *idem_key, job **out);
int srv_ready(srv *s);

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
