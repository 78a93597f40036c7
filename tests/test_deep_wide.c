/* test_deep_wide.c — the wide_linear kind and its model against the oracles
 * of spec deep-networks.md §3.5: the limit ODEs converge exponentially to
 * the minimum-norm solution X⁺y without leaving range(Xᵀ); the L = 2
 * invariant tr C_uu − C_vv holds under RK4; the finite-width predictor
 * approaches the limit as N grows (log–log slope in [−0.8, −0.25]); the
 * law of the neurons (covariance for L = 2, fitted ν, B, m for L = 3)
 * approaches the prediction at the same rate.
 *
 * Data: synthetic, n = 8 < d = 12 (under-determined), σ's = 1, η = 0.01. */
#include "test_util.h"

#include "deep_data.h"
#include "deep_fixtures.h"

extern const ms_kind deep_wide_kind;
#define K (&deep_wide_kind)
#define num ms_value_getnum

static void *wide_params(int depth, double width, double steps, uint64_t seed) {
    void *p = fx_params_new(K);
    fx_set(K, p, "depth", depth);
    fx_set(K, p, "width", width);
    fx_set(K, p, "max_iter", steps);
    fx_set(K, p, "seed", (double)seed);
    return p;
}

/* A history column (dense vector) and its length. */
static const double *column(const ms_value *r, const char *key, size_t *n) {
    size_t rows, cols;
    const ms_value *c = ms_value_get(ms_value_get(r, "history"), key);
    *n = ms_value_count(c);
    const double *v = ms_value_data(c, &rows, &cols);
    assert_non_null(v);
    return v;
}

/* Slope of log(y) against t between history rows i and j. */
static double log_slope(const ms_value *r, const char *key, size_t i, size_t j) {
    size_t n;
    const double *t = column(r, "time", &n), *y = column(r, key, &n);
    return (log(y[j]) - log(y[i])) / (t[j] - t[i]);
}

/* Oracles 1 and 3. Calibrated (seed 1, Euler): at t = 30 the L = 2 limit is
 * 1.7e-3 from β† (loss rate −0.53), the L = 3 limit 8e-6 (rate −0.94); ker X
 * components stay at 3e-14 / 5e-14. At t = 60 / 40 they are below 1e-5
 * (5.7e-7 for L = 2). */
static void limit_reaches_the_minimum_norm_solution_exponentially(void **st) {
    (void)st;
    for (int depth = 2; depth <= 3; depth++) {
        void *p = wide_params(depth, 20, depth == 2 ? 6000 : 4000, 1);
        fx_set(K, p, "record_every", 100);
        ms_value *r = fx_run_free(K, p);
        double dist = num(r, "dist_min_norm_limit"), nul = num(r, "null_component_limit");
        size_t rows;
        column(r, "time", &rows);
        /* The log-loss is linear in t over the second half: equal slopes on
         * its two quarters (calibrated: within 2%). */
        double s1 = log_slope(r, "loss_limit", rows / 2, 3 * rows / 4);
        double s2 = log_slope(r, "loss_limit", 3 * rows / 4, rows - 1);
        print_message("L = %d: ‖β∞ − β†‖ = %.3g, loss %.3g, ker X part %.2g, slopes %.4f %.4f\n",
                      depth, dist, num(r, "loss_limit"), nul, s1, s2);
        assert_true(dist < 1e-5);
        assert_true(nul <= 1e-12);
        assert_true(s1 < 0 && s2 < 0 && fabs(s1 / s2 - 1) < 0.1);
        assert_close(num(r, "log_loss_slope"), s2, 0.1, 0);
        ms_value_free(r);
    }
}

/* Oracle 3 (the invariant tr C_uu − C_vv is linear, so every Runge–Kutta
 * method keeps it to rounding: it checks the right-hand side), and the
 * integrators' consistency: Euler with k substeps approaches RK4 at first
 * order (errors halve as k doubles). Calibrated (seed 2, t = 5): relative
 * Euler errors 2.8e-4 / 1.4e-4 / 6.7e-5 for k = 1 / 2 / 4. */
static void limit_integrators(void **st) {
    (void)st;
    ms_value *ref = NULL;
    double errs[3];
    for (int k = -1; k < 3; k++) {
        void *p = wide_params(2, 20, 500, 2);
        if (k < 0) {
            fx_set_enum(K, p, "limit_method", "rk4");
            fx_set(K, p, "limit_substeps", 4);
        } else {
            fx_set(K, p, "limit_substeps", 1 << k);
        }
        ms_value *r = fx_run_free(K, p);
        print_message("invariant drift %.3g\n", num(r, "invariant_drift"));
        assert_true(num(r, "invariant_drift") <= 1e-10);
        if (k < 0) {
            ref = r;
            continue;
        }
        size_t rows, cols;
        const double *b = ms_value_data(ms_value_get(r, "beta_limit"), &rows, &cols);
        const double *b0 = ms_value_data(ms_value_get(ref, "beta_limit"), &rows, &cols);
        errs[k] = fx_rel(b, b0, 12);
        ms_value_free(r);
    }
    print_message("Euler vs RK4: %.3g %.3g %.3g\n", errs[0], errs[1], errs[2]);
    for (int k = 0; k < 2; k++)
        assert_true(errs[k] / errs[k + 1] > 1.8 && errs[k] / errs[k + 1] < 2.2);
    ms_value_free(ref);
}

/* Mean over seeds of ‖β_N − β_∞‖ and of the law error at t = 1, for three
 * widths; returns the log–log slopes (first to last width). */
static void sweep(int depth, const double *Ns, int seeds, double *slope_gap, double *slope_law,
                  double *slope_null) {
    double gap[3] = {0}, law[3] = {0}, nul[3] = {0};
    for (int i = 0; i < 3; i++) {
        for (int s = 1; s <= seeds; s++) {
            void *p = wide_params(depth, Ns[i], 100, (uint64_t)s);
            fx_set(K, p, "record_every", 100);
            ms_value *r = fx_run_free(K, p);
            gap[i] += num(r, "gap_to_limit") / seeds;
            law[i] += num(r, "law_error") / seeds;
            nul[i] += num(r, "null_component") / seeds;
            ms_value_free(r);
        }
        print_message("L = %d, N = %5g: gap %.4f, law error %.4f, ker X part %.4f\n", depth, Ns[i],
                      gap[i], law[i], nul[i]);
    }
    *slope_gap = log(gap[2] / gap[0]) / log(Ns[2] / Ns[0]);
    *slope_law = log(law[2] / law[0]) / log(Ns[2] / Ns[0]);
    *slope_null = log(nul[2] / nul[0]) / log(Ns[2] / Ns[0]);
}

/* Oracles 2 and 5. Calibrated (t = 1, 4 seeds): L = 2 gaps 0.27 / 0.091 /
 * 0.033 at N = 100 / 1000 / 10000 (slope −0.46); L = 3 gaps 0.36 / 0.16 /
 * 0.085 at N = 50 / 200 / 800 (slope −0.52); law errors alike. */
static void finite_width_approaches_the_limit(void **st) {
    (void)st;
    const double N2[3] = {100, 1000, 10000}, N3[3] = {50, 200, 800};
    double sg, sl, sn;
    for (int depth = 2; depth <= 3; depth++) {
        sweep(depth, depth == 2 ? N2 : N3, depth == 2 ? 4 : 3, &sg, &sl, &sn);
        print_message("L = %d slopes: gap %.3f, law %.3f, ker X part %.3f\n", depth, sg, sl, sn);
        assert_true(sg >= -0.8 && sg <= -0.25);
        assert_true(sl >= -0.8 && sl <= -0.25);
        /* §3.4: the finite network's ker X part averages out like N^{-1/2}. */
        assert_true(sn >= -0.8 && sn <= -0.25);
    }
}

/* Given data: β† is X⁺y; with n > d it equals Σ⁻¹c; the depth-3 products
 * split over threads give the same predictor. */
static void given_data_and_threads(void **st) {
    (void)st;
    enum { N = 15, D = 6 };
    double X[N * D], y[N], wt[D] = {1, -2, 0.5, 0.25, 3, -1}, b[D];
    ms_rng r;
    ms_rng_init(&r, 9, 0);
    deep_data_gaussian(&r, N, D, 0.1, wt, X, y);
    ms_err err;
    assert_int_equal(deep_lstsq(X, y, N, D, DEEP_LSQ_SVD, b, NULL, &err), MS_OK);
    ms_value *res[2];
    for (int t = 0; t < 2; t++) {
        void *p = wide_params(3, 300, 50, 4);
        fx_set_mat(K, p, "X", N, D, X);
        fx_set_vec(K, p, "y", N, y);
        res[t] = fx_run(K, p, t + 1);
        fx_params_free(K, p);
    }
    size_t rows, cols;
    const double *bd = ms_value_data(ms_value_get(res[0], "beta_min_norm"), &rows, &cols);
    assert_true(fx_rel(bd, b, D) < 1e-12);
    assert_int_equal(num(res[0], "rank"), D);
    assert_true(num(res[0], "null_component") < 1e-12); /* ker X = {0} */
    const double *b1 = ms_value_data(ms_value_get(res[0], "beta"), &rows, &cols);
    const double *b2 = ms_value_data(ms_value_get(res[1], "beta"), &rows, &cols);
    assert_true(fx_rel(b2, b1, D) < 1e-12);
    ms_value_free(res[0]);
    ms_value_free(res[1]);
}

static void invalid_params_name_the_field(void **st) {
    (void)st;
    void *p = fx_params_new(K);
    fx_set(K, p, "depth", 4);
    fx_expect_invalid(K, p, "depth");
    fx_set(K, p, "depth", 3);
    fx_set(K, p, "width", 20000);
    fx_expect_invalid(K, p, "width");
    fx_set(K, p, "width", 10);
    fx_set(K, p, "lr", 0);
    fx_expect_invalid(K, p, "lr");
    fx_set(K, p, "lr", 0.01);
    double X[4] = {1, 2, 3, 4};
    fx_set_mat(K, p, "X", 2, 2, X);
    fx_expect_invalid(K, p, "y");
    fx_params_free(K, p);
    p = fx_params_new(K);
    double *wide = ms_calloc(3000, sizeof *wide);
    fx_set_mat(K, p, "X", 1, 3000, wide);
    fx_set_vec(K, p, "y", 1, X);
    fx_expect_invalid(K, p, "X");
    ms_free(wide);
    fx_params_free(K, p);
}

static void divergence_and_allocation_failures(void **st) {
    (void)st;
    void *p = wide_params(2, 30, 500, 1);
    fx_set(K, p, "lr", 3.0);
    ms_value *r = fx_run_free(K, p);
    assert_true(num(r, "diverged") == 1);
    ms_value_free(r);
    p = wide_params(3, 12, 5, 1);
    fx_alloc_failures(K, p);
    fx_params_free(K, p);
}

/* Steps allocate nothing (depth 2 and 3, law statistics every step). */
static void steps_allocate_nothing(void **st) {
    (void)st;
    for (int depth = 2; depth <= 3; depth++) {
        void *p = wide_params(depth, 40, 20, 1);
        fx_set(K, p, "record_every", 1);
        fx_set_enum(K, p, "limit_method", "rk4");
        assert_int_equal(fx_step_allocations(K, p, 20), 0);
        fx_params_free(K, p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limit_reaches_the_minimum_norm_solution_exponentially),
        cmocka_unit_test(limit_integrators),
        cmocka_unit_test(finite_width_approaches_the_limit),
        cmocka_unit_test(given_data_and_threads),
        cmocka_unit_test(invalid_params_name_the_field),
        cmocka_unit_test(divergence_and_allocation_failures),
        cmocka_unit_test(steps_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
