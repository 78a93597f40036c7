/* deep_hist.c — bounded, evenly thinned histories for the deep-network
 * kinds' results. See deep_internal.h. What it is not for: streaming (the
 * progress metrics carry every step). */
#include <string.h>

#include "deep_internal.h"
#include "ms_alloc.h"

int deep__hist_init(deep__hist *h, size_t size, size_t want) {
    memset(h, 0, sizeof *h);
    h->size = size;
    h->cap = want < 4 ? 4 : want > DEEP_HIST_MAX ? DEEP_HIST_MAX : want;
    h->stride = 1;
    h->rows = ms_malloc(h->cap, size);
    return h->rows != NULL;
}

void deep__hist_fini(deep__hist *h) {
    ms_free(h->rows);
    memset(h, 0, sizeof *h);
}

void deep__hist_push(deep__hist *h, const void *row, int force) {
    size_t c = h->count++;
    if (!force && c % h->stride != 0)
        return;
    if (h->n == h->cap) {
        size_t keep = (h->n + 1) / 2;
        for (size_t i = 1; i < keep; i++)
            memcpy(h->rows + i * h->size, h->rows + 2 * i * h->size, h->size);
        h->n = keep;
        h->stride *= 2;
        if (!force && c % h->stride != 0)
            return;
    }
    memcpy(h->rows + h->n * h->size, row, h->size);
    h->n++;
}

void deep__hist_write(const deep__hist *h, ms_value *obj, const char *const *names) {
    const size_t ncols = h->size / sizeof(double);
    const double *rows = (const double *)(const void *)h->rows;
    for (size_t j = 0; obj && j < ncols; j++)
        ms_obj_vec(obj, names[j], rows + j, h->n, ncols);
}
