/* ms_kind.h — the solver contract every job kind follows.
 *
 * What it is for: a job kind is a const type (GSL's minimizer types, FFTW's
 * solver tables): a field table for its parameters and five functions,
 *   check  (cross-field validation, after ms_params_validate),
 *   init   (allocate the state's workspaces from the params),
 *   step   (one iteration; sets prog->done when finished),
 *   result (describe the answer as an ms_value tree),
 *   fini   (release everything init took; safe after a failed init).
 * Whoever runs a kind (the daemon's workers, `measured solve`, tests) drives
 * the loop: it calls step, publishes progress, and checks cancellation and
 * deadlines between steps. Solvers call no callbacks.
 *
 * What it is not for: I/O, clocks, JSON or threads of its own (parallel loops
 * inside a step take their thread count from ms_ctx).
 *
 * Lifetime: params outlive the state (init may keep a pointer to them).
 * The state is caller storage of kind->state_size bytes, zeroed before init.
 */
#ifndef MS_KIND_H
#define MS_KIND_H

#include <stdatomic.h>
#include <stddef.h>

#include "ms_err.h"
#include "ms_params.h"
#include "ms_value.h"

/* Context of one run. threads >= 1 bounds the parallelism inside a step.
 * cancel, when not NULL, is set by another thread to ask the solver to stop;
 * long steps may poll it (ms_ctx_cancelled) and return MS_ECANCELLED. */
typedef struct ms_ctx {
    int threads;
    const atomic_int *cancel;
} ms_ctx;

static inline int ms_ctx_cancelled(const ms_ctx *ctx) {
    return ctx && ctx->cancel && atomic_load_explicit(ctx->cancel, memory_order_relaxed);
}

static inline int ms_ctx_threads(const ms_ctx *ctx) {
    return ctx && ctx->threads > 1 ? ctx->threads : 1;
}

#define MS_METRICS_MAX 24

/* Progress after a step: iteration count, fraction done in [0,1] (NaN when
 * unknown), and named metrics (names are string literals owned by the kind).
 * `done` is set by step when the run is finished (converged or max_iter). */
typedef struct ms_progress {
    size_t iteration;
    double fraction;
    size_t n_metrics;
    struct {
        const char *name;
        double value;
    } metrics[MS_METRICS_MAX];
    int done;
} ms_progress;

/* Set (or add) a metric by name; silently ignores metrics past the cap. */
void ms_progress_set(ms_progress *p, const char *name, double value);
/* Value of a metric, or NaN. */
double ms_progress_get(const ms_progress *p, const char *name);
/* Forget all metrics (keeps iteration and fraction). */
void ms_progress_clear_metrics(ms_progress *p);

typedef struct ms_kind {
    const char *name;        /* the API's "kind" value, e.g. "ot" */
    const char *title;       /* a few words */
    const char *description; /* a paragraph: what it computes, references */
    const ms_fields *params;
    /* A small, valid, fast params object as JSON text. lib/ never parses it:
     * it is metadata for the API docs, the dashboard's "example" button,
     * `measurectl kinds` and the contract suite that runs every kind. */
    const char *example;
    size_t state_size;
    /* Cross-field validation; may append several errors. Optional (NULL). */
    ms_status (*check)(const void *params, ms_errlist *errs);
    /* Bytes the run will need, for admission control. Optional (NULL). */
    size_t (*memory)(const void *params);
    ms_status (*init)(void *state, const void *params, const ms_ctx *ctx, ms_err *err);
    ms_status (*step)(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err);
    ms_status (*result)(void *state, ms_value *out, ms_err *err);
    void (*fini)(void *state);
} ms_kind;

/* Validate params with the kind's table, then its check. */
ms_status ms_kind_validate(const ms_kind *k, const void *params, ms_errlist *errs);

#endif
