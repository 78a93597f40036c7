/* jobs.h — the job table: the jobs the daemon keeps in memory, owned by the
 * loop thread.
 *
 * What it is for: the job objects (status, times, progress, error), the
 * recent part of their append-only event logs (status / progress / end,
 * numbered from 1), lookup by id and by idempotency key, listing newest
 * first with cursors, the JSON of a job as the API shows it, and eviction:
 * the table holds every unfinished job but only a bounded number of
 * finished ones. Evicted jobs live on in the store (retain.c reads them
 * back). The table remembers the newest evicted id (`older`): every job
 * created after it is in memory, and those before it that still are
 * ("stragglers": unfinished, or pinned) are few.
 *
 * What it is not for: running (pool.c), HTTP (http*.c) or storage (store.c).
 *
 * Thread-safety: the loop thread owns everything here. While a job runs, a
 * worker reads its kind, params and timeout (never written then) and the
 * atomic cancel flag; nothing else crosses threads.
 */
#ifndef JOBS_H
#define JOBS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_kind.h"
#include "sbuf.h"

typedef enum {
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    JOB_FAILED,
    JOB_CANCELLED,
    JOB_NSTATUS
} job_status;

typedef enum { EV_STATUS, EV_PROGRESS, EV_END } event_type;

typedef struct job_event {
    event_type type;
    char *data; /* JSON text, owned */
    size_t len;
} job_event;

struct req; /* a suspended HTTP request following the job (http.c) */

typedef struct job {
    char id[24];
    const ms_kind *kind;
    char *label;
    int priority;
    double timeout_s; /* 0 = none */
    job_status status;
    int64_t created_ms, started_ms, finished_ms; /* unix ms; 0 = none */
    int attempts;                                /* runs started (re-runs after a crash) */
    void *params;                                /* owned until the job is terminal */
    char *idem_key;
    uint64_t body_hash;
    atomic_int cancel; /* RUNNER_* values */
    int cancel_requested;
    char *progress; /* latest progress JSON, owned, or NULL */
    char *error;    /* {"type","title","detail"} of a failed job, or NULL */
    job_event *ev;  /* ev[i] has sequence number first_seq + i */
    size_t nev, cap_ev;
    int64_t first_seq;
    struct req *followers; /* suspended requests (http.c links them) */
    int refs;              /* requests holding a pointer to the job (http.c) */
    /* What the store lacks (persist.c). */
    int64_t saved_seq; /* events 1..saved_seq are stored */
    int row_dirty;     /* the row has changes the store lacks */
    char *result;      /* a result not yet stored (owned), or NULL */
    size_t result_len;
    int dirty; /* in the daemon's retry list */
    struct job *dnext, *dprev;
    /* Queue bookkeeping, under the pool's lock while queued. */
    size_t heap_at;
    uint64_t order;
    double run_t0; /* runner_now() when it started running */
} job;

typedef struct jobs jobs;

jobs *jobs_new(void);
/* Frees every job (and its params) and the table. */
void jobs_free(jobs *t);

/* A new job (queued, no events) with a fresh id, owned by the table; NULL on
 * no memory. label may be NULL; params ownership passes to the job. */
job *jobs_create(jobs *t, const ms_kind *k, void *params, const char *label, int priority,
                 double timeout_s, int64_t now_ms);
/* Insert a job rebuilt from the store (its id kept), in id order. */
job *jobs_restore(jobs *t, const char *id, const ms_kind *k, job_status st, int64_t created_ms);
/* Remove a job that was never accepted (store failure). */
void jobs_discard(jobs *t, job *j);
/* Free a job that is not in the table (a view read back from the store). */
void job_free(job *j);

/* Change a job's status (the table counts jobs by status). */
void jobs_set_status(jobs *t, job *j, job_status st);
size_t jobs_in_status(const jobs *t, job_status st);
size_t jobs_finished(const jobs *t); /* succeeded + failed + cancelled */

/* A job that may not leave memory: followed by a request, or holding
 * changes the store lacks. */
static inline int job_pinned(const job *j) {
    return j->refs > 0 || j->dirty || j->followers;
}

/* Evict finished, unpinned jobs: oldest id first until at most `keep`
 * finished jobs remain (once more than keep + keep/16 are held, so that
 * evictions come in batches), and any finished straggler. on_evict(j, user)
 * is called before each is freed. Returns how many were evicted. */
size_t jobs_evict(jobs *t, size_t keep, void (*on_evict)(job *j, void *user), void *user);
/* The newest evicted id ("" when none): ids above it are all in memory. */
const char *jobs_older(const jobs *t);
void jobs_set_older(jobs *t, const char *id);
/* How many jobs in memory have ids at or below jobs_older. */
size_t jobs_stragglers(const jobs *t);

/* Is s shaped like a job id (16 lowercase hex digits)? */
int job_id_valid(const char *s);

job *jobs_find(jobs *t, const char *id);
job *jobs_find_idem(jobs *t, const char *key);
/* Remember an idempotency key for job j (copied). 0 on success. */
int jobs_set_idem(jobs *t, job *j, const char *key, uint64_t body_hash);

/* Append an event; data is copied. Returns its sequence number, 0 on no
 * memory. */
int64_t job_event_add(job *j, event_type type, const char *data, size_t len);
/* Forget the in-memory events with sequence numbers <= through (the store
 * has them). */
void job_events_forget(job *j, int64_t through);
/* Sequence number of the last event (0 when none). */
int64_t job_last_seq(const job *j);
/* Event with sequence number seq, or NULL (never, or no longer, in
 * memory). */
const job_event *job_event_at(const job *j, int64_t seq);
const char *event_type_name(event_type t);
int event_type_parse(const char *s);

const char *job_status_name(job_status s);
int job_status_parse(const char *s); /* -1 when unknown */
static inline int job_terminal(const job *j) {
    return j->status >= JOB_SUCCEEDED;
}

/* Replace the latest progress JSON (copied); 0 on success. */
int job_set_progress(job *j, const char *json, size_t len);
/* Free what only a live job needs (params). */
void job_release_params(job *j);

/* The job object of the API. */
void job_write(sbuf *b, const job *j);
/* "2026-01-02T03:04:05.678Z", or null when ms == 0. */
void write_time(sbuf *b, int64_t ms);

/* Newest first: jobs in memory older than `cursor` (all when NULL) matching
 * the filters (status < 0 / kind NULL: any). Writes up to limit jobs into
 * out and returns the count; *more says whether others remain. */
size_t jobs_list(jobs *t, const char *cursor, int status, const char *kind, size_t limit, job **out,
                 int *more);
size_t jobs_count(const jobs *t); /* jobs in memory */

/* FNV-1a 64 of bytes (idempotency: "the same body"). */
uint64_t jobs_hash(const char *s, size_t n);

#endif
