/* store.h — the durable record of jobs: SQLite (WAL), or ":memory:".
 *
 * What it is for: keeping what the daemon accepted and produced so that a
 * restart after a crash loses nothing: jobs (status, times, progress,
 * error), params (the original request body), results (JSON text) and the
 * event history. Also where results are read back from: they are not kept in
 * memory after they are written.
 *
 * What it is not for: deciding anything about jobs (jobs.c, daemon.c).
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
    int64_t last_seq;
} store_job;

/* Open (creating) the store at path; ":memory:" keeps nothing. NULL on
 * failure with a message in err. */
store *store_open(const char *path, char *err, size_t cap);
void store_close(store *s);

/* Group writes in one transaction (nested calls are counted). */
int store_begin(store *s);
int store_commit(store *s);

/* A new job with its request body, in one transaction. 0 on success. */
int store_insert_job(store *s, const store_job *j, const char *body, size_t len);
/* Update the mutable columns of a job row. */
int store_update_job(store *s, const store_job *j);
int store_add_event(store *s, const char *job_id, int64_t seq, const char *type, const char *data);
int store_put_result(store *s, const char *job_id, const char *json, size_t len);
/* The stored result text (ms_free it), or NULL when there is none. */
char *store_get_result(store *s, const char *job_id, size_t *len);
/* The request body of a job (ms_free it), or NULL. */
char *store_get_body(store *s, const char *job_id, size_t *len);

/* Walk every job in id order, then every event in (job, seq) order. */
typedef void (*store_job_fn)(const store_job *j, void *user);
typedef void (*store_event_fn)(const char *job_id, int64_t seq, const char *type, const char *data,
                               void *user);
int store_load(store *s, store_job_fn on_job, store_event_fn on_event, void *user);

/* Is the database answering (readiness)? */
int store_ok(store *s);

#endif
