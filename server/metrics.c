/* metrics.c — counters behind GET /metrics. See metrics.h. */
#include "metrics.h"

const double metrics_bounds[METRICS_BUCKETS] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                1,     5,     10,   60,   300, 3600};

void metrics_request(metrics *m, int route, int code) {
    if (route < 0 || route >= METRICS_ROUTES)
        route = METRICS_ROUTES - 1;
    for (int i = 0; i < METRICS_CODES; i++) {
        if (m->codes[i] == code || m->codes[i] == 0) {
            m->codes[i] = code;
            m->requests[route][i]++;
            return;
        }
    }
}

void metrics_job_done(metrics *m, size_t k, double seconds) {
    if (k >= METRICS_KINDS)
        return;
    size_t b = 0;
    while (b < METRICS_BUCKETS && seconds > metrics_bounds[b])
        b++;
    m->dur_bucket[k][b]++;
    m->dur_sum[k] += seconds;
    m->dur_count[k]++;
}
