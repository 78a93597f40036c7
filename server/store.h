/* store.h — the durable record of jobs: SQLite (WAL), or ":memory:".
 *
 * What it is for: keeping what the daemon accepted and produced so that a
 * restart after a crash loses nothing: jobs (status, times, progress,
 * error), params (the original request body), results (JSON text) and the
 * event history. Also where whatever the daemon no longer keeps in memory is
 * read back from: results (never kept in memory once written), and the
 * jobs, histories and idempotency keys of jobs evicted from memory.
 *
 * What it is not for: deciding anything about jobs (jobs.c, daemon.c,
 * persist.c, retain.c).
 *
 * Writes: every write belongs to a transaction (store_begin/store_commit)
 * or is one by itself. A statement that fails inside a transaction dooms it:
 * store_commit then rolls the whole transaction back and fails, so the
 * store never holds half of a change. store_ok() says whether the last
 * write (or commit) succeeded.
 *
 * Thread-safety: none. One thread (the loop thread) owns a store.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;

/* The columns of one job row. Strings are borrowed for the call. */
typedef struct store_job {
    const char *id, *kind, *label, *status, *idem_key, *progress, *error;
    int priority, attempts;
    double timeout_s;
    int64_t created_ms, started_ms, finished_ms; /* 0 = none */
    uint64_t body_hash;
    int64_t last_seq; /* read back: the highest stored event (0 none) */
} store_job;

typedef void (*store_job_fn)(const store_job *j, void *user);
typedef void (*store_event_fn)(const char *job_id, int64_t seq, const char *type, const char *data,
                               void *user);

/* Open (creating) the store at path; ":memory:" keeps nothing across
 * restarts. NULL on failure with a message in err. */
store *store_open(const char *path, char *err, size_t cap);
void store_close(store *s);
/* Was it opened as ":memory:"? */
int store_is_memory(const store *s);

/* Group writes in one transaction (nested calls are counted; the outermost
 * commit decides). store_commit returns 0 when everything since the
 * outermost store_begin is durable, -1 when it was all rolled back. */
int store_begin(store *s);
int store_commit(store *s);

/* A new job with its request body, in one transaction. 0 on success. */
int store_insert_job(store *s, const store_job *j, const char *body, size_t len);
/* Update the mutable columns of a job row. */
int store_update_job(store *s, const store_job *j);
int store_add_event(store *s, const char *job_id, int64_t seq, const char *type, const char *data,
                    size_t len);
int store_put_result(store *s, const char *job_id, const char *json, size_t len);
/* Forget a job: its row, body, result and events. */
int store_delete_job(store *s, const char *job_id);
/* A small write that touches the database file (readiness after a failure). */
int store_probe(store *s);

/* The stored result text (ms_free it), or NULL when there is none. */
char *store_get_result(store *s, const char *job_id, size_t *len);
/* The request body of a job (ms_free it), or NULL. */
char *store_get_body(store *s, const char *job_id, size_t *len);

/* Reads of job rows call fn with a borrowed row (strings valid during the
 * call). They return how many rows they delivered, or -1 on a store error. */
int store_get_job(store *s, const char *id, store_job_fn fn, void *user);
/* The job that holds an idempotency key. */
int store_find_idem(store *s, const char *key, store_job_fn fn, void *user);
/* Newest first: jobs with id < before (NULL: no bound) and id <= upto
 * (NULL: no bound), with the given status and kind (NULL: any), at most
 * limit rows. */
int store_list(store *s, const char *before, const char *upto, const char *status, const char *kind,
               size_t limit, store_job_fn fn, void *user);
/* Events of a job with from <= seq <= to, in order, at most limit. */
int store_events(store *s, const char *job_id, int64_t from, int64_t to, size_t limit,
                 store_event_fn fn, void *user);

/* Start-up: every job that is queued or running, and the `retain` newest
 * other (finished) jobs, in id order. *older receives the id of the newest
 * finished job left out ("" when none is): every job above it is loaded.
 * Returns rows delivered or -1. */
int store_load(store *s, size_t retain, char *older, size_t cap, store_job_fn fn, void *user);
/* Jobs by kind and status (a full scan: start-up only). */
typedef void (*store_count_fn)(const char *kind, const char *status, int64_t n, void *user);
int store_count(store *s, store_count_fn fn, void *user);

/* Did the last write succeed (readiness)? */
int store_ok(const store *s);
/* SQLite's message (and extended code) for the last failure. */
const char *store_error(const store *s, int *code);

#endif
