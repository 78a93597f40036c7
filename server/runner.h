/* runner.h — drive one job of a kind from params to result.
 *
 * What it is for: the loop every runner of a kind shares (the daemon's
 * workers and `measured solve`): validate, init, step until done, cancelled,
 * past the deadline or failed; report progress between steps, throttled,
 * with the latest state always delivered last; build the result; fini.
 *
 * What it is not for: threads, queues or I/O; the caller decides where the
 * progress goes and what to do with the result.
 *
 * Thread-safety: runner_run is reentrant; it reads `cancel` atomically, and
 * calls on_progress on the calling thread.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdatomic.h>

#include "ms_kind.h"

/* Values of the cancel flag. Any non-zero value stops the run. */
enum { RUNNER_RUN = 0, RUNNER_CANCEL = 1, RUNNER_SHUTDOWN = 2 };

typedef struct runner_opts {
    int threads;         /* >= 1 */
    atomic_int *cancel;  /* may be NULL */
    double deadline;     /* runner_now() seconds; 0 = none */
    double min_interval; /* seconds between progress reports; 0 = every step */
    void (*on_progress)(const ms_progress *p, void *user); /* may be NULL */
    void *user;
} runner_opts;

/* Run kind k on params (filled and validated by the codec; validated again
 * here, cheaply). On MS_OK *out is the result tree (free with
 * ms_value_free). Otherwise *out is NULL and err says why: MS_ECANCELLED
 * (the cancel flag was set; read it to know whether by a user or a
 * shutdown), MS_ETIMEOUT (deadline), or the kind's own failure. The last
 * progress seen is always reported before returning, and copied to *last
 * when last is not NULL. */
ms_status runner_run(const ms_kind *k, const void *params, const runner_opts *o, ms_value **out,
                     ms_progress *last, ms_err *err);

/* Monotonic clock in seconds. */
double runner_now(void);

/* The kind's `threads` param (1 when it has none), and capping it in place
 * at `max` (a job may not ask for more threads than the daemon's cores). */
int runner_threads(const ms_kind *k, const void *params);
void runner_cap_threads(const ms_kind *k, void *params, int max);

/* The kind's memory estimate in bytes (0 when it gives none). */
size_t runner_memory(const ms_kind *k, const void *params);

#endif
