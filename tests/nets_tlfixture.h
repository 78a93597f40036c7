/* nets_tlfixture.h — the two-layer model fixture shared by
 * tests/test_nets_twolayer.c and tests/test_nets_twolayer32.c: seeded data,
 * particles and gradient buffers around one nets_tl workspace (float64, or
 * float32 with single = 1). Header-only (static functions), so each suite
 * stays one executable. */
#ifndef NETS_TLFIXTURE_H
#define NETS_TLFIXTURE_H

#include "nets_testlib.h"

#include "nets_internal.h"

typedef struct {
    size_t n, d, m;
    double *x, *y, *a, *w, *ga, *gw;
    nets_tl tl;
} fixture;

static void fx_make(fixture *f, size_t n, size_t d, size_t m, nets_act act, nets_loss loss,
                    int single, uint64_t seed) {
    f->n = n;
    f->d = d;
    f->m = m;
    f->x = ms_malloc(n * d, sizeof(double));
    f->y = ms_malloc(n, sizeof(double));
    f->a = ms_malloc(m, sizeof(double));
    f->w = ms_malloc(m * d, sizeof(double));
    f->ga = ms_malloc(m, sizeof(double));
    f->gw = ms_malloc(m * d, sizeof(double));
    assert_int_equal(nets__tl_alloc(&f->tl, n, d, m, single), MS_OK);
    uint64_t s = seed;
    for (size_t k = 0; k < n * d; k++)
        f->x[k] = 2.0 * test_uniform(&s) - 1.0;
    for (size_t j = 0; j < n; j++)
        f->y[j] = loss == NETS_LOGISTIC ? (test_uniform(&s) < 0.5 ? -1.0 : 1.0)
                                        : 2.385 * test_uniform(&s) - 1.0;
    for (size_t i = 0; i < m; i++)
        f->a[i] = 2.0 * test_uniform(&s) - 1.0;
    for (size_t k = 0; k < m * d; k++)
        f->w[k] = 2.0 * test_uniform(&s) - 1.0;
    f->tl.act = act;
    f->tl.loss = loss;
    nets__tl_set_data(&f->tl, f->x, f->y, n);
}

static void fx_free(fixture *f) {
    nets__tl_free(&f->tl);
    ms_free(f->x);
    ms_free(f->y);
    ms_free(f->a);
    ms_free(f->w);
    ms_free(f->ga);
    ms_free(f->gw);
}

#endif
