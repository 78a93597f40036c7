/* metrics.h — counters for GET /metrics (Prometheus text exposition).
 *
 * What it is for: HTTP requests by route and code, job durations by kind
 * (histogram), jobs finished by kind and outcome. Gauges that the job table
 * and the pool already know (jobs by status, queue depth) are read at
 * exposition time instead of being counted twice.
 *
 * Thread-safety: loop thread only.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

#define METRICS_ROUTES 24
#define METRICS_CODES 16
#define METRICS_BUCKETS 12
#define METRICS_KINDS 32

typedef struct metrics {
    const char *route_names[METRICS_ROUTES];
    int codes[METRICS_CODES]; /* distinct HTTP codes seen */
    uint64_t requests[METRICS_ROUTES][METRICS_CODES];
    uint64_t dur_bucket[METRICS_KINDS][METRICS_BUCKETS + 1]; /* last = +Inf */
    double dur_sum[METRICS_KINDS];
    uint64_t dur_count[METRICS_KINDS];
    uint64_t events, rejected_queue_full, rejected_memory, stream_drops;
} metrics;

extern const double metrics_bounds[METRICS_BUCKETS];

void metrics_request(metrics *m, int route, int code);
void metrics_job_done(metrics *m, size_t kind_index, double seconds);

#endif
