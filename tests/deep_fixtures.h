/* deep_fixtures.h — helpers shared by the deep-network suites
 * (tests/test_deep_*.c): random vectors, norms, finite differences and a
 * dense symmetric eigensolver for small operators. Header-only so each suite
 * stays one executable. */
#ifndef DEEP_FIXTURES_H
#define DEEP_FIXTURES_H

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "deep_lanczos.h"
#include "kind_harness.h"
#include "ms_alloc.h"
#include "ms_kind.h"
#include "ms_params.h"
#include "ms_rng.h"

static inline double fx_norm(const double *x, size_t n) {
    return cblas_dnrm2((int)n, x, 1);
}

/* ‖a − b‖ / ‖b‖. */
static inline double fx_rel(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static inline double fx_maxabs(const double *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

static inline void fx_unit(ms_rng *r, double *x, size_t n) {
    ms_rng_normals(r, x, n);
    cblas_dscal((int)n, 1.0 / fx_norm(x, n), x, 1);
}

/* A gradient oracle: loss at θ, gradient into g (n values). */
typedef double (*fx_grad_fn)(void *user, const double *theta, double *g);

/* Central-difference gradient of the loss (g unused by the oracle is fine). */
static inline void fx_fd_grad(fx_grad_fn f, void *user, const double *theta, size_t n, double eps,
                              double *out) {
    double *t = ms_malloc(n, sizeof *t);
    memcpy(t, theta, n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        double x = t[i];
        t[i] = x + eps;
        double fp = f(user, t, NULL);
        t[i] = x - eps;
        double fm = f(user, t, NULL);
        t[i] = x;
        out[i] = (fp - fm) / (2 * eps);
    }
    ms_free(t);
}

/* Central difference of the gradient along unit v: [∇(θ+εv) − ∇(θ−εv)]/(2ε). */
static inline void fx_fd_hvp(fx_grad_fn f, void *user, const double *theta, const double *v,
                             size_t n, double eps, double *out) {
    double *t = ms_malloc(n, sizeof *t), *g2 = ms_malloc(n, sizeof *g2);
    for (size_t i = 0; i < n; i++)
        t[i] = theta[i] + eps * v[i];
    f(user, t, out);
    for (size_t i = 0; i < n; i++)
        t[i] = theta[i] - eps * v[i];
    f(user, t, g2);
    for (size_t i = 0; i < n; i++)
        out[i] = (out[i] - g2[i]) / (2 * eps);
    ms_free(t);
    ms_free(g2);
}

/* Dense matrix of a symmetric operator (column i = A e_i), symmetrised, and
 * its eigenvalues ascending into lam (n values) by LAPACK dsyev. */
static inline int fx_dense_eigs(deep_matvec_fn op, void *user, size_t n, double *lam) {
    double *A = ms_malloc(n * n, sizeof *A), *e = ms_calloc(n, sizeof *e),
           *col = ms_malloc(n, sizeof *col);
    for (size_t i = 0; i < n; i++) {
        e[i] = 1;
        op(user, e, col);
        e[i] = 0;
        for (size_t j = 0; j < n; j++)
            A[j * n + i] = col[j];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            A[i * n + j] = A[j * n + i] = 0.5 * (A[i * n + j] + A[j * n + i]);
    int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (int)n, A, (int)n, lam);
    ms_free(A);
    ms_free(e);
    ms_free(col);
    return info;
}

/* Params of a kind, set by field name through its table (the structs are
 * private to the kinds' files). */
static inline void *fx_params_new(const ms_kind *k) {
    void *p = ms_calloc(1, k->params->size);
    ms_params_defaults(k->params, p);
    return p;
}

static inline void fx_params_free(const ms_kind *k, void *p) {
    ms_params_free(k->params, p);
    ms_free(p);
}

static inline const ms_field *fx_field(const ms_kind *k, const char *name) {
    const ms_field *f = ms_fields_find(k->params, name);
    if (!f) {
        print_error("kind %s has no field %s\n", k->name, name);
        fail();
    }
    return f;
}

/* DOUBLE, INT or BOOL field. */
static inline void fx_set(const ms_kind *k, void *p, const char *name, double v) {
    const ms_field *f = fx_field(k, name);
    char *at = (char *)p + f->offset;
    if (f->type == MS_F_DOUBLE)
        *(double *)at = v;
    else if (f->type == MS_F_INT)
        *(long long *)at = (long long)v;
    else if (f->type == MS_F_BOOL)
        *(int *)at = v != 0;
    else
        fail_msg("field %s is not a number", name);
}

static inline void fx_set_enum(const ms_kind *k, void *p, const char *name, const char *choice) {
    const ms_field *f = fx_field(k, name);
    int i = ms_enum_index(f->choices, choice);
    assert_true(i >= 0);
    *(int *)((char *)p + f->offset) = i;
}

static inline void fx_set_mat(const ms_kind *k, void *p, const char *name, size_t rows, size_t cols,
                              const double *v) {
    const ms_field *f = fx_field(k, name);
    ms_mat *m = (ms_mat *)((char *)p + f->offset);
    ms_free(m->v);
    assert_int_equal(ms_mat_alloc(m, rows, cols), MS_OK);
    memcpy(m->v, v, rows * cols * sizeof *v);
}

static inline void fx_set_vec(const ms_kind *k, void *p, const char *name, size_t n,
                              const double *v) {
    const ms_field *f = fx_field(k, name);
    ms_vec *x = (ms_vec *)((char *)p + f->offset);
    ms_free(x->v);
    assert_int_equal(ms_vec_alloc(x, n), MS_OK);
    memcpy(x->v, v, n * sizeof *v);
}

/* Run a kind; fails the test with the error when the run fails. */
static inline ms_value *fx_run(const ms_kind *k, const void *p, int threads) {
    harness_opts o = {.threads = threads};
    ms_err err;
    ms_err_clear(&err);
    ms_value *v = harness_run(k, p, &o, &err);
    if (!v) {
        print_error("%s failed: %s [%s] %s\n", k->name, ms_status_name(err.code), err.field,
                    err.msg);
        fail();
    }
    return v;
}

/* fx_run with one thread, then free the params. */
static inline ms_value *fx_run_free(const ms_kind *k, void *p) {
    ms_value *r = fx_run(k, p, 1);
    fx_params_free(k, p);
    return r;
}

/* Validation error for params expected to be rejected: the field path. */
static inline void fx_expect_invalid(const ms_kind *k, const void *p, const char *field) {
    ms_errlist errs;
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(k, p, &errs), MS_EINVAL);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        found |= strcmp(errs.e[i].field, field) == 0;
    if (!found) {
        print_error("expected an error on %s, got %s: %s\n", field, errs.e[0].field, errs.e[0].msg);
        fail();
    }
}

/* Run init, then `steps` steps (fewer if done), counting ms_* allocations
 * made by the steps alone: the contract says a step allocates nothing. */
static inline long fx_step_allocations(const ms_kind *k, const void *p, int steps) {
    void *state = ms_calloc(1, k->state_size);
    ms_ctx ctx = {1, NULL};
    ms_err err;
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    assert_int_equal(k->init(state, p, &ctx, &err), MS_OK);
    ms_alloc_fail_after(-1); /* resets the count */
    for (int i = 0; i < steps && !prog.done; i++)
        assert_int_equal(k->step(state, &ctx, &prog, &err), MS_OK);
    long n = ms_alloc_count();
    k->fini(state);
    ms_free(state);
    return n;
}

/* Make the k-th allocation of a whole run fail, for k = 0, 1, … until the
 * run succeeds: every failure must be a clean MS_ENOMEM (ASan checks that
 * nothing leaks). */
static inline void fx_alloc_failures(const ms_kind *k, const void *p) {
    ms_err err;
    for (long n = 0;; n++) {
        ms_alloc_fail_after(n);
        ms_value *r = harness_run(k, p, NULL, &err);
        ms_alloc_fail_after(-1);
        if (r) {
            ms_value_free(r);
            return;
        }
        assert_int_equal(err.code, MS_ENOMEM);
    }
}

#endif
