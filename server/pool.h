/* pool.h — the worker pool: dedicated uv_thread_t workers and a bounded
 * priority queue (priority, then FIFO).
 *
 * What it is for: running jobs off the loop thread. A worker takes the best
 * queued job, drives it with the runner, and hands what happens back to the
 * loop thread as messages (started, progress, done) through one uv_async_t;
 * since uv_async_send coalesces, the loop side always drains the whole
 * outbox.
 *
 * What it is not for: deciding what a message means for the job, the store
 * or the clients (daemon.c does, on the loop thread). libuv's own
 * uv_queue_work pool is not used: it is global, FIFO, shared with file and
 * DNS work, and cannot stop started work.
 *
 * Thread-safety: pool_push/remove/depth are called on the loop thread; the
 * queue is guarded by one mutex shared with the workers.
 */
#ifndef POOL_H
#define POOL_H

#include <stdint.h>
#include <uv.h>

#include "jobs.h"

typedef enum { POOL_STARTED, POOL_PROGRESS, POOL_DONE } pool_msg_type;

typedef struct pool_msg {
    struct pool_msg *next;
    pool_msg_type type;
    job *job;
    int64_t at_ms;    /* wall clock when it happened */
    ms_status status; /* DONE: MS_OK or why it stopped */
    ms_err err;       /* DONE: the failure */
    char *data;       /* PROGRESS: progress JSON; DONE + MS_OK: result JSON (owned) */
    size_t len;
    double seconds; /* DONE: run time */
} pool_msg;

/* Called on the loop thread for each message, in order; it must call
 * pool_msg_free(m) when done with it. */
typedef void (*pool_deliver_fn)(pool_msg *m, void *user);

typedef struct pool pool;

/* Start `workers` threads. max_queue bounds the queued jobs. progress_interval
 * throttles progress messages per job (seconds). NULL on failure. */
pool *pool_new(uv_loop_t *loop, int workers, size_t max_queue, double progress_interval,
               pool_deliver_fn fn, void *user);
/* Queue a job (status queued, params set). 0, or -1 when the queue is full. */
int pool_push(pool *p, job *j);
/* Queue regardless of the bound (jobs recovered from the store). */
void pool_push_force(pool *p, job *j);
/* Take a queued job out of the queue: 1 if it was queued, 0 if a worker
 * already has it (or it was never queued). */
int pool_remove(pool *p, job *j);
size_t pool_depth(pool *p);
size_t pool_capacity(pool *p);
int pool_busy(pool *p); /* workers running a job */
int pool_workers(pool *p);
/* Stop: workers finish their current job (the caller has asked those jobs
 * to stop) and exit; remaining messages are delivered; the async handle is
 * closed. Queued jobs stay queued. The pool is freed once the loop has run
 * the close callback (run the loop after calling this). */
void pool_stop(pool *p);
void pool_msg_free(pool_msg *m);

/* Wall clock in unix milliseconds. */
int64_t wall_ms(void);

#endif
