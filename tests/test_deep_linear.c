/* test_deep_linear.c — the deep_linear kind against the oracles of spec
 * deep-networks.md §2.5 (5: sharpness at convergence between S_min and
 * 8LΛ‖w*‖^{2−2/L}; 6: balance drift O(lr), ≈ 0 under RK4; 7: the 2/S_min
 * learning-rate threshold) and the edge-of-stability claim of §2.2.
 *
 * Data: the §2.6 synthetic set (n = 50, d = 5, noise 1, ‖w*‖ = 1), seed 1
 * unless said otherwise; its S_min is 14.57 (2/S_min = 0.137). */
#include "test_util.h"

#include "deep_chain.h"
#include "deep_data.h"
#include "deep_fixtures.h"

extern const ms_kind deep_linear_kind;
#define K (&deep_linear_kind)

#define num ms_value_getnum

static void *spec_params(uint64_t seed, double scale, double lr, double max_iter) {
    void *p = fx_params_new(K);
    fx_set(K, p, "seed", (double)seed);
    fx_set(K, p, "depth", 10);
    fx_set(K, p, "scale", scale);
    fx_set(K, p, "lr", lr);
    fx_set(K, p, "max_iter", max_iter);
    fx_set(K, p, "tol", 1e-9);
    return p;
}

/* Oracle 5, and §2.2: smaller initial scale ends flatter. */
static void converged_sharpness_lies_between_the_bounds(void **st) {
    (void)st;
    double ratio[2];
    const double scales[2] = {0.25, 0.2};
    for (int i = 0; i < 2; i++) {
        ms_value *r = fx_run_free(K, spec_params(1, scales[i], 0.02, 6000));
        double S = num(r, "sharpness"), Smin = num(r, "sharpness_lower_bound");
        print_message("s = %.2f: %g steps, S = %.6g, S_min = %.6g, ratio %.4f, 8LΛ = %.4g\n",
                      scales[i], num(r, "iterations"), S, Smin, S / Smin,
                      num(r, "sharpness_reference_upper"));
        assert_true(num(r, "converged") == 1);
        assert_true(num(r, "dist2_wstar") < 1e-15);
        assert_true(S >= Smin * (1 - 1e-6));
        assert_true(S <= num(r, "sharpness_reference_upper"));
        /* At a minimiser Lanczos agrees with the §1.5 closed form. */
        assert_close(S, num(r, "sharpness_minimiser_formula"), 1e-6, 0);
        assert_true(num(r, "sharpness_residual") < 1e-3 * S);
        ratio[i] = S / Smin;
        ms_value_free(r);
    }
    /* Calibrated (seed 1): 1.151 at s = 0.25, 1.082 at s = 0.2 (spec, other
     * data: 1.12 / 1.06). */
    assert_true(ratio[1] < ratio[0]);
}

/* Oracle 7: residual init s = 0.25, 1000 steps, lr = f·2/S_min. Calibrated
 * dist2 (seed 2): f = 0.7 → 9e-32 .. 7e-26; f = 1.1 → 0.044 .. 0.072 over
 * L = 5..40 (and f = 0.9 → 3e-6 .. 5e-5, slower than the spec's data). */
static void learning_rate_threshold_two_over_s_min(void **st) {
    (void)st;
    const double Ls[] = {5, 10, 20, 40}, fs[] = {0.7, 1.1};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 2; b++) {
            void *p = spec_params(2, 0.25, fs[b], 1000);
            fx_set(K, p, "depth", Ls[a]);
            fx_set_enum(K, p, "init", "residual");
            fx_set_enum(K, p, "lr_unit", "threshold");
            fx_set(K, p, "tol", 0);
            fx_set(K, p, "sharpness_every", 0);
            ms_value *r = fx_run_free(K, p);
            double d2 = num(r, "dist2_wstar");
            print_message("L = %g, lr = %.1f·2/S_min: dist2 = %.3g\n", Ls[a], fs[b], d2);
            assert_close(num(r, "lr"), fs[b] * 2 / num(r, "sharpness_lower_bound"), 1e-15, 0);
            if (b == 0)
                assert_true(d2 < 1e-12);
            else
                assert_true(d2 > 1e-3);
            ms_value_free(r);
        }
}

/* §2.2 edge of stability: when gradient flow would end sharper than 2/lr
 * (lr < 2/S_min), GD still converges, to a minimiser just below 2/lr.
 * Calibrated (seed 1, s = 0.4): flow ends at S = 46.35; GD at lr = 0.1 ends
 * at 19.957 (2/lr = 20), at lr = 0.12 at 16.657 (2/lr = 16.667). */
static void edge_of_stability(void **st) {
    (void)st;
    void *p = spec_params(1, 0.4, 0.01, 20000);
    fx_set_enum(K, p, "method", "flow");
    fx_set(K, p, "sharpness_every", 100);
    ms_value *flow = fx_run_free(K, p);
    assert_true(num(flow, "converged") == 1);
    double Sflow = num(flow, "sharpness");
    ms_value_free(flow);
    const double lrs[] = {0.1, 0.12};
    for (int i = 0; i < 2; i++) {
        p = spec_params(1, 0.4, lrs[i], 20000);
        fx_set(K, p, "sharpness_every", 50);
        ms_value *r = fx_run_free(K, p);
        double S = num(r, "sharpness"), thr = num(r, "stability_threshold");
        print_message("flow S = %.4g; GD lr %.2f: S = %.5g, 2/lr = %.5g, %g steps\n", Sflow, lrs[i],
                      S, thr, num(r, "iterations"));
        assert_true(Sflow > thr);
        assert_true(num(r, "converged") == 1);
        assert_true(lrs[i] < 2 / num(r, "sharpness_lower_bound"));
        assert_true(S <= thr && S >= 0.98 * thr);
        ms_value_free(r);
    }
}

/* Oracle 6: gradient flow conserves W_{k+1}ᵀW_{k+1} − W_kW_kᵀ; GD drifts by
 * O(lr) per unit time; RK4 flow keeps it to rounding-level. */
static void balance_drift_vanishes_with_the_step(void **st) {
    (void)st;
    const double T = 10, lrs[] = {0.02, 0.01, 0.005};
    double drift[3];
    for (int i = 0; i < 3; i++) {
        void *p = spec_params(3, 0.25, lrs[i], T / lrs[i]);
        fx_set(K, p, "tol", 0);
        fx_set(K, p, "sharpness_every", 0);
        ms_value *r = fx_run_free(K, p);
        drift[i] = num(r, "balance_drift");
        ms_value_free(r);
    }
    void *p = spec_params(3, 0.25, 0.02, T / 0.02);
    fx_set_enum(K, p, "method", "flow");
    fx_set(K, p, "tol", 0);
    fx_set(K, p, "sharpness_every", 0);
    ms_value *r = fx_run_free(K, p);
    double rk4 = num(r, "balance_drift");
    ms_value_free(r);
    print_message("balance drift at t = %g: GD %.3g / %.3g / %.3g, RK4 %.3g\n", T, drift[0],
                  drift[1], drift[2], rk4);
    for (int i = 0; i < 2; i++) {
        double q = drift[i] / drift[i + 1];
        assert_true(q > 1.7 && q < 2.3);
    }
    assert_true(rk4 < 1e-3 * drift[2]);
}

static void divergence_is_a_result(void **st) {
    (void)st;
    ms_value *r = fx_run_free(K, spec_params(1, 0.5, 0.1, 1000));
    assert_true(num(r, "diverged") == 1);
    assert_true(num(r, "converged") == 0);
    assert_true(num(r, "iterations") < 1000);
    assert_true(isnan(num(r, "sharpness"))); /* written as JSON null */
    ms_value_free(r);
}

/* Given data: w* is X⁺y (no normalisation), the test loss is the loss of
 * w on the test set, results do not depend on the thread count. */
static void given_data_and_test_set(void **st) {
    (void)st;
    enum { N = 30, D = 4, NT = 20 };
    double X[N * D], y[N], Xt[NT * D], yt[NT], wt[D] = {0.8, -1.1, 0.35, 2.0}, ws[D];
    ms_rng r;
    ms_rng_init(&r, 42, 0);
    deep_data_gaussian(&r, N, D, 0.3, wt, X, y);
    deep_data_gaussian(&r, NT, D, 0.3, wt, Xt, yt);
    ms_err err;
    assert_int_equal(deep_lstsq(X, y, N, D, DEEP_LSQ_QR, ws, NULL, &err), MS_OK);
    ms_value *res[2];
    for (int t = 0; t < 2; t++) {
        void *p = spec_params(5, 0.3, 0.01, 300);
        fx_set(K, p, "depth", 3);
        fx_set(K, p, "width", 7);
        fx_set(K, p, "normalize_wstar", 0);
        fx_set_mat(K, p, "X", N, D, X);
        fx_set_vec(K, p, "y", N, y);
        fx_set_mat(K, p, "X_test", NT, D, Xt);
        fx_set_vec(K, p, "y_test", NT, yt);
        harness_opts o = {.threads = t + 1};
        res[t] = harness_run(K, p, &o, &err);
        assert_non_null(res[t]);
        fx_params_free(K, p);
    }
    size_t rows, cols;
    const double *w = ms_value_data(ms_value_get(res[0], "w"), &rows, &cols);
    const double *wsr = ms_value_data(ms_value_get(res[0], "w_star"), &rows, &cols);
    assert_int_equal(ms_value_count(ms_value_get(res[0], "w")), D);
    assert_true(fx_rel(wsr, ws, D) < 1e-12);
    double tl = 0;
    for (size_t i = 0; i < NT; i++) {
        double f = cblas_ddot(D, Xt + i * D, 1, w, 1) - yt[i];
        tl += f * f / NT;
    }
    assert_close(num(res[0], "test_loss"), tl, 1e-10, 0);
    assert_true(num(res[0], "loss") < 0.2);
    const double *w2 = ms_value_data(ms_value_get(res[1], "w"), &rows, &cols);
    assert_true(memcmp(w, w2, D * sizeof *w) == 0);
    assert_true(num(res[0], "sharpness") == num(res[1], "sharpness"));
    ms_value_free(res[0]);
    ms_value_free(res[1]);
}

/* init_seed changes the weights, not the data (same w*, S_min). */
static void init_seed_keeps_the_data(void **st) {
    (void)st;
    ms_value *r[2];
    for (int i = 0; i < 2; i++) {
        void *p = spec_params(1, 0.3, 0.02, 50);
        fx_set(K, p, "init_seed", 10 + i);
        r[i] = fx_run_free(K, p);
    }
    assert_true(num(r[0], "sharpness_lower_bound") == num(r[1], "sharpness_lower_bound"));
    assert_true(num(r[0], "sharpness_initial") != num(r[1], "sharpness_initial"));
    ms_value_free(r[0]);
    ms_value_free(r[1]);
}

/* Streamed metrics carry the same numbers as the result. */
static void progress_metrics(void **st) {
    (void)st;
    void *p = spec_params(1, 0.3, 0.05, 40);
    fx_set(K, p, "n_test", 25);
    ms_progress last;
    harness_opts o = {.last = &last};
    ms_err err;
    ms_value *r = harness_run(K, p, &o, &err);
    assert_non_null(r);
    assert_true(last.done);
    assert_int_equal(last.iteration, 40);
    assert_close(last.fraction, 1, 0, 0);
    static const char *const same[] = {"loss",
                                       "test_loss",
                                       "grad_norm",
                                       "dist2_wstar",
                                       "sharpness",
                                       "sharpness_lower_bound",
                                       "stability_threshold",
                                       "balance_drift",
                                       "rank1_ratio",
                                       "layer_alignment",
                                       "input_alignment"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_close(ms_progress_get(&last, same[i]), num(r, same[i]), 0, 0);
    assert_close(ms_progress_get(&last, "stability_threshold"), 2 / 0.05, 1e-15, 0);
    /* History: initial row, every 5 steps, the final row equals the result. */
    const ms_value *h = ms_value_get(r, "history");
    size_t n = ms_value_count(ms_value_get(h, "step")), rows, cols;
    assert_int_equal(n, 40 / 5 + 1);
    const double *step = ms_value_data(ms_value_get(h, "step"), &rows, &cols);
    const double *sh = ms_value_data(ms_value_get(h, "sharpness"), &rows, &cols);
    assert_true(step[0] == 0 && step[1] == 5 && step[n - 1] == 40);
    assert_true(sh[n - 1] == num(r, "sharpness"));
    assert_true(sh[0] == num(r, "sharpness_initial"));
    fx_params_free(K, p);
    ms_value_free(r);
}

static void invalid_params_name_the_field(void **st) {
    (void)st;
    double X[6] = {1, 2, 3, 4, 5, 6}, y[2] = {1, 2};
    void *p = fx_params_new(K);
    fx_set_mat(K, p, "X", 3, 2, X);
    fx_expect_invalid(K, p, "y");
    fx_set_vec(K, p, "y", 2, y);
    fx_expect_invalid(K, p, "y");
    fx_params_free(K, p);
    p = fx_params_new(K);
    fx_set_enum(K, p, "init", "residual");
    fx_set(K, p, "width", 7);
    fx_expect_invalid(K, p, "width");
    fx_set(K, p, "width", 5);
    fx_set(K, p, "depth", 0);
    fx_expect_invalid(K, p, "depth");
    fx_set(K, p, "depth", 3);
    fx_set(K, p, "lr", -1);
    fx_expect_invalid(K, p, "lr");
    fx_set(K, p, "lr", 0.1);
    fx_set(K, p, "width", 2048);
    fx_set_enum(K, p, "init", "gaussian");
    fx_set(K, p, "depth", 512);
    fx_expect_invalid(K, p, "width");
    fx_params_free(K, p);
    /* All-zero targets: w* = 0 cannot be normalised. */
    p = fx_params_new(K);
    double Z[2] = {0, 0};
    fx_set_mat(K, p, "X", 2, 3, (double[6]){1, 0, 2, 0, 1, 1});
    fx_set_vec(K, p, "y", 2, Z);
    ms_err err;
    assert_null(harness_run(K, p, NULL, &err));
    assert_int_equal(err.code, MS_EINVAL);
    assert_string_equal(err.field, "y");
    fx_params_free(K, p);
}

static void allocation_failures_are_clean(void **st) {
    (void)st;
    void *p = spec_params(1, 0.3, 0.05, 10);
    fx_set(K, p, "n_test", 10);
    fx_set_enum(K, p, "method", "flow");
    fx_alloc_failures(K, p);
    fx_params_free(K, p);
}

/* Steps allocate nothing (GD and RK4, sharpness measured every step). */
static void steps_allocate_nothing(void **st) {
    (void)st;
    for (int m = 0; m < 2; m++) {
        void *p = spec_params(1, 0.3, 0.02, 20);
        fx_set(K, p, "sharpness_every", 1);
        fx_set(K, p, "n_test", 10);
        fx_set_enum(K, p, "method", m ? "flow" : "gd");
        assert_int_equal(fx_step_allocations(K, p, 20), 0);
        fx_params_free(K, p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converged_sharpness_lies_between_the_bounds),
        cmocka_unit_test(learning_rate_threshold_two_over_s_min),
        cmocka_unit_test(edge_of_stability),
        cmocka_unit_test(balance_drift_vanishes_with_the_step),
        cmocka_unit_test(divergence_is_a_result),
        cmocka_unit_test(given_data_and_test_set),
        cmocka_unit_test(progress_metrics),
        cmocka_unit_test(init_seed_keeps_the_data),
        cmocka_unit_test(invalid_params_name_the_field),
        cmocka_unit_test(allocation_failures_are_clean),
        cmocka_unit_test(steps_allocate_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
