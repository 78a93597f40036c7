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
    assert_int_equal(nets__tl_alloc(&f->tl, n, d, m, single, 0), MS_OK);
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

/* Reallocate the model fused or unfused (nets_tl); data, particles, the
 * activation, loss and output scale stay. */
static void fx_set_fused(fixture *f, int fused) {
    nets_tl old = f->tl;
    nets__tl_free(&f->tl);
    assert_int_equal(nets__tl_alloc(&f->tl, f->n, f->d, f->m, old.single, fused), MS_OK);
    f->tl.act = old.act;
    f->tl.loss = old.loss;
    f->tl.out_scale = old.out_scale;
    nets__tl_set_data(&f->tl, f->x, f->y, f->n);
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

extern const ms_kind nets_two_layer;

/* The two_layer kind run on p with one and with two threads ends with the
 * same particles, bit for bit, and the same objective. */
static void tl_same_bits_on_two_threads(const void *p) {
    ms_value *v1 = nt_run(&nets_two_layer, p, 1, NULL, NULL, NULL);
    ms_value *v2 = nt_run(&nets_two_layer, p, 2, NULL, NULL, NULL);
    size_t r1, c1, r2, c2;
    const double *w1 = nt_data(v1, "signed_measure/points", &r1, &c1);
    const double *w2 = nt_data(v2, "signed_measure/points", &r2, &c2);
    assert_int_equal(r1 * c1, r2 * c2);
    assert_memory_equal(w1, w2, r1 * c1 * sizeof(double));
    assert_true(ms_value_getnum(v1, "objective") == ms_value_getnum(v2, "objective"));
    ms_value_free(v1);
    ms_value_free(v2);
}

#endif
