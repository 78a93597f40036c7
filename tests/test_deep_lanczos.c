/* test_deep_lanczos.c — Lanczos top eigenvalue against a dense eigensolver
 * and constructed spectra, and power iteration's different answer near
 * saddles (spec deep-networks.md §1.4, §2.5 oracle 3). */
#include "test_util.h"

#include "deep_fixtures.h"
#include "deep_lanczos.h"
#include "ms_alloc.h"

/* A = Q diag(λ) Qᵀ with a random orthogonal Q (Householder products). */
typedef struct {
    size_t n;
    double *A;
} sym_op;

static void sym_apply(void *user, const double *x, double *y) {
    sym_op *s = user;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)s->n, (int)s->n, 1.0, s->A, (int)s->n, x, 1, 0.0,
                y, 1);
}

static void make_sym(sym_op *s, size_t n, const double *lam, uint64_t seed) {
    s->n = n;
    s->A = ms_calloc(n * n, sizeof *s->A);
    for (size_t i = 0; i < n; i++)
        s->A[i * n + i] = lam[i];
    ms_rng r;
    ms_rng_init(&r, seed, 0);
    double *v = ms_malloc(n, sizeof *v), *t = ms_malloc(n * n, sizeof *t);
    /* Three reflections H = I − 2vvᵀ applied on both sides: A ← H A H. */
    for (int rep = 0; rep < 3; rep++) {
        fx_unit(&r, v, n);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                t[i * n + j] = (i == j) - 2 * v[i] * v[j];
        double *tmp = ms_malloc(n * n, sizeof *tmp);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, t,
                    (int)n, s->A, (int)n, 0.0, tmp, (int)n);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0, tmp,
                    (int)n, t, (int)n, 0.0, s->A, (int)n);
        ms_free(tmp);
    }
    ms_free(v);
    ms_free(t);
}

static void lanczos_finds_lambda_max_of_a_quadratic(void **st) {
    (void)st;
    enum { N = 60 };
    double lam[N];
    for (size_t i = 0; i < N; i++)
        lam[i] = -1.3 + 3.71 * (double)i / (N - 1) + 0.01 * sin((double)i);
    sym_op s;
    make_sym(&s, N, lam, 11);
    double lmax = lam[N - 1];
    ms_err err;
    deep_lanczos *lz = deep_lanczos_alloc(N, 40, &err);
    assert_non_null(lz);
    ms_rng r;
    ms_rng_init(&r, 3, 0);
    deep_eig e;
    assert_int_equal(deep_lanczos_top(lz, sym_apply, &s, &r, 0, 1e-13, &e, &err), MS_OK);
    print_message("lambda_max %.15g vs %.15g, %zu steps, residual %.2e\n", e.value, lmax,
                  e.iterations, e.residual);
    assert_close(e.value, lmax, 1e-10, 0);
    assert_true(e.residual < 1e-4);
    deep_lanczos_free(lz);
    ms_free(s.A);
    /* With a spectral gap, a warm start from the previous Ritz vector needs
     * fewer steps than a cold one. */
    lam[N - 1] = lam[N - 2] + 0.4;
    make_sym(&s, N, lam, 12);
    lz = deep_lanczos_alloc(N, 40, &err);
    deep_eig cold, warm;
    assert_int_equal(deep_lanczos_top(lz, sym_apply, &s, &r, 0, 1e-10, &cold, &err), MS_OK);
    assert_int_equal(deep_lanczos_top(lz, sym_apply, &s, &r, 1, 1e-10, &warm, &err), MS_OK);
    print_message("cold %zu steps, warm %zu steps\n", cold.iterations, warm.iterations);
    assert_close(cold.value, lam[N - 1], 1e-10, 0);
    assert_close(warm.value, lam[N - 1], 1e-10, 0);
    assert_true(cold.converged && warm.converged);
    assert_true(warm.iterations < cold.iterations);
    deep_lanczos_free(lz);
    ms_free(s.A);
}

/* λ_min = −2 λ_max: Lanczos still returns λ_max; power iteration returns
 * |λ_min|; power iteration on A + σI with σ ≥ −λ_min returns λ_max. */
static void lanczos_and_power_near_a_saddle(void **st) {
    (void)st;
    enum { N = 30 };
    double lam[N];
    for (size_t i = 0; i < N; i++)
        lam[i] = 0.3 * (double)i / (N - 1); /* interior in [0, 0.3] */
    lam[0] = -2.0 * 1.237;
    lam[N - 1] = 1.237;
    sym_op s;
    make_sym(&s, N, lam, 5);
    ms_err err;
    deep_lanczos *lz = deep_lanczos_alloc(N, 30, &err);
    ms_rng r;
    ms_rng_init(&r, 9, 0);
    deep_eig e;
    assert_int_equal(deep_lanczos_top(lz, sym_apply, &s, &r, 0, 1e-13, &e, &err), MS_OK);
    assert_close(e.value, 1.237, 1e-10, 0);
    double x[N], y[N];
    fx_unit(&r, x, N);
    double p = deep_power_top(N, sym_apply, &s, 0.0, 200, x, y);
    assert_close(p, 2 * 1.237, 1e-8, 0); /* the modulus of λ_min, not λ_max */
    fx_unit(&r, x, N);
    p = deep_power_top(N, sym_apply, &s, 2.5, 400, x, y);
    assert_close(p, 1.237, 1e-6, 0);
    deep_lanczos_free(lz);
    ms_free(s.A);
}

/* Random symmetric matrices: Lanczos = dense eigensolver's largest. */
static void lanczos_matches_dense_eigensolver(void **st) {
    (void)st;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        const size_t n = 8 + 3 * seed;
        ms_rng r;
        ms_rng_init(&r, seed, 1);
        sym_op s = {n, ms_malloc(n * n, sizeof(double))};
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j <= i; j++)
                s.A[i * n + j] = s.A[j * n + i] = ms_rng_normal(&r);
        double *lam = ms_malloc(n, sizeof *lam);
        assert_int_equal(fx_dense_eigs(sym_apply, &s, n, lam), 0);
        ms_err err;
        deep_lanczos *lz = deep_lanczos_alloc(n, 60, &err); /* capped at n: exact */
        deep_eig e;
        assert_int_equal(deep_lanczos_top(lz, sym_apply, &s, &r, 0, 1e-14, &e, &err), MS_OK);
        if (fabs(e.value - lam[n - 1]) > 1e-10 * fabs(lam[n - 1]))
            print_error("seed %llu\n", (unsigned long long)seed);
        assert_close(e.value, lam[n - 1], 1e-10, 0);
        deep_lanczos_free(lz);
        ms_free(lam);
        ms_free(s.A);
    }
}

static void nan_operator(void *user, const double *x, double *y) {
    size_t n = *(size_t *)user;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * NAN;
}

static void non_finite_operator_is_an_error(void **st) {
    (void)st;
    size_t n = 4;
    ms_err err;
    deep_lanczos *lz = deep_lanczos_alloc(n, 4, &err);
    ms_rng r;
    ms_rng_init(&r, 1, 0);
    deep_eig e;
    assert_int_equal(deep_lanczos_top(lz, nan_operator, &n, &r, 0, 1e-6, &e, &err), MS_ENUMERIC);
    deep_lanczos_free(lz);
    assert_null(deep_lanczos_alloc(0, 4, &err));
    assert_int_equal(err.code, MS_EINVAL);
}

static void allocation_failures_release_everything(void **st) {
    (void)st;
    ms_err err;
    for (long k = 0;; k++) {
        ms_alloc_fail_after(k);
        deep_lanczos *lz = deep_lanczos_alloc(50, 20, &err);
        ms_alloc_fail_after(-1);
        if (lz) {
            deep_lanczos_free(lz);
            assert_true(k > 3);
            break;
        }
        assert_int_equal(err.code, MS_ENOMEM);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lanczos_finds_lambda_max_of_a_quadratic),
        cmocka_unit_test(lanczos_and_power_near_a_saddle),
        cmocka_unit_test(lanczos_matches_dense_eigensolver),
        cmocka_unit_test(non_finite_operator_is_an_error),
        cmocka_unit_test(allocation_failures_release_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
