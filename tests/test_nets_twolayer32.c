/* test_nets_twolayer32.c — the float32 path of the two-layer model
 * (lib/nets_twolayer32.c, the `precision: "float32"` option of two_layer):
 * agreement with the float64 path to float32 round-off, block by block and
 * for one step of every method (B1–B3 of mean-field.md §12 and the conic
 * variant); finite-difference gradients at float32 tolerance; the same bits
 * whatever the thread count; a long run ends where the float64 run ends;
 * allocation failures. */
#include "nets_tlfixture.h"

#include "nets_internal.h"
#include "nets_run_internal.h"

extern const ms_kind nets_two_layer;

/* max_k |u_k − v_k| / max_k |v_k|. */
static double rel_err(const double *u, const double *v, size_t n) {
    double num = 0, den = 0;
    for (size_t k = 0; k < n; k++) {
        num = fmax(num, fabs(u[k] - v[k]));
        den = fmax(den, fabs(v[k]));
    }
    return den > 0 ? num / den : num;
}

/* Forward and backward in float32 equal float64 to float32 round-off: every
 * activation, both losses, fused and not, two output scales, m across the
 * column block size. Measured max relative errors 1e-8 (loss) and 6e-7
 * (gradients); bound 2e-5 (float32 round-off of sums of ~300 terms, with
 * margin), far below anything a missing factor or a wrong index gives. */
static void single_matches_double(void **st) {
    (void)st;
    double worst_l = 0, worst_g = 0;
    for (int act = 0; act < 3; act++)
        for (int loss = 0; loss < 2; loss++)
            for (int v = 0; v < 2; v++) {
                fixture f64, f32;
                size_t n = v ? 300 : 57, m = v ? 300 : 13, d = v ? 9 : 4;
                uint64_t seed = 100 + (uint64_t)(act * 4 + loss * 2 + v);
                fx_make(&f64, n, d, m, (nets_act)act, (nets_loss)loss, 0, seed);
                fx_make(&f32, n, d, m, (nets_act)act, (nets_loss)loss, 1, seed);
                fx_set_fused(&f64, v);
                fx_set_fused(&f32, v);
                f64.tl.out_scale = f32.tl.out_scale = v ? 1.0 : 2.385;
                double l64 = nets__tl_forward(&f64.tl, f64.a, f64.w, 1);
                double l32 = nets__tl_forward(&f32.tl, f32.a, f32.w, 1);
                assert_close(l32, l64, 2e-5, 0);
                assert_true(rel_err(f32.tl.f, f64.tl.f, n) < 2e-5);
                assert_true(rel_err(f32.tl.e, f64.tl.e, n) < 2e-5);
                nets__tl_backward(&f64.tl, f64.a, f64.w, f64.ga, f64.gw, 1);
                nets__tl_backward(&f32.tl, f32.a, f32.w, f32.ga, f32.gw, 1);
                double ea = rel_err(f32.ga, f64.ga, m), ew = rel_err(f32.gw, f64.gw, m * d);
                if (ea >= 2e-5 || ew >= 2e-5)
                    print_error("act %d loss %d v %d: ga %.3g gw %.3g\n", act, loss, v, ea, ew);
                assert_true(ea < 2e-5);
                assert_true(ew < 2e-5);
                worst_l = fmax(worst_l, fabs(l32 - l64) / l64);
                worst_g = fmax(worst_g, fmax(ea, ew));
                fx_free(&f64);
                fx_free(&f32);
            }
    print_message("worst relative error: loss %.3g, gradients %.3g\n", worst_l, worst_g);
}

/* Would a central difference of step h on w_ik cross a ReLU kink
 * (|w_i·x_j| <= h |x_jk| for some j)? */
static int crosses_kink(const fixture *f, size_t i, size_t k, double h) {
    for (size_t j = 0; j < f->n; j++) {
        double p = 0;
        for (size_t q = 0; q < f->d; q++)
            p += f->w[i * f->d + q] * f->x[j * f->d + q];
        if (fabs(p) <= 1.01 * h * fabs(f->x[j * f->d + k]))
            return 1;
    }
    return 0;
}

/* Oracle 1 at float32 tolerance: the float32 gradient equals central
 * differences (h = 1e-3) of the float32 loss. The loss carries ~1e-7
 * relative noise, so the differences are good to ~1e-4 of the largest
 * component; bound 1e-3 of it (a wrong factor is off by O(1)). ReLU: input
 * weights whose difference would cross a kink are skipped (most are
 * checked). n = 530 makes the backward split its rows (nets__tl_splits). */
static void single_gradients_match_finite_differences(void **st) {
    (void)st;
    const double h = 1e-3;
    for (int act = 0; act < 3; act++)
        for (int loss = 0; loss < 2; loss++) {
            fixture f;
            size_t n = loss ? 530 : 23, checked = 0;
            fx_make(&f, n, 4, 6, (nets_act)act, (nets_loss)loss, 1,
                    31 + (uint64_t)(act * 2 + loss));
            assert_int_equal(nets__tl_splits(&f.tl), loss ? 2 : 1);
            fx_set_fused(&f, loss); /* both paths */
            nets__tl_forward(&f.tl, f.a, f.w, 1);
            nets__tl_backward(&f.tl, f.a, f.w, f.ga, f.gw, 1);
            double gmax = 0;
            for (size_t k = 0; k < f.m * (f.d + 1); k++)
                gmax = fmax(gmax, fabs(k < f.m ? f.ga[k] : f.gw[k - f.m]));
            for (size_t k = 0; k < f.m * (f.d + 1); k++) {
                if (k >= f.m && act == NETS_RELU &&
                    crosses_kink(&f, (k - f.m) / f.d, (k - f.m) % f.d, h))
                    continue;
                double *u = k < f.m ? f.a + k : f.w + (k - f.m);
                double an = k < f.m ? f.ga[k] : f.gw[k - f.m];
                double u0 = *u;
                *u = u0 + h;
                double fp = nets__tl_forward(&f.tl, f.a, f.w, 1);
                *u = u0 - h;
                double fm = nets__tl_forward(&f.tl, f.a, f.w, 1);
                *u = u0;
                double fd = (double)f.m * (fp - fm) / (2 * h);
                assert_close(fd, an, 0, 1e-3 * gmax);
                checked++;
            }
            assert_true(checked >= f.m * (f.d + 1) / 2);
            fx_free(&f);
        }
}

/* Same bits whatever the thread count: several row and column blocks, and
 * the two row halves of a single column block (m = 120). */
static void single_threads_do_not_change_the_bits(void **st) {
    (void)st;
    for (int v = 0; v < 6; v++) {
        fixture f1, f2;
        nets_act act = v % 3 == 2 ? NETS_SIGMOID : NETS_RELU;
        size_t m = v < 3 ? 600 : 120;
        fx_make(&f1, 700, 7, m, act, NETS_SQUARE, 1, 5);
        fx_make(&f2, 700, 7, m, act, NETS_SQUARE, 1, 5);
        fx_set_fused(&f1, v % 3 == 0);
        fx_set_fused(&f2, v % 3 == 0);
        double l1 = nets__tl_forward(&f1.tl, f1.a, f1.w, 1);
        double l2 = nets__tl_forward(&f2.tl, f2.a, f2.w, 2);
        assert_true(l1 == l2);
        nets__tl_backward(&f1.tl, f1.a, f1.w, f1.ga, f1.gw, 1);
        nets__tl_backward(&f2.tl, f2.a, f2.w, f2.ga, f2.gw, 2);
        assert_memory_equal(f1.ga, f2.ga, f1.m * sizeof(double));
        assert_memory_equal(f1.gw, f2.gw, f1.m * f1.d * sizeof(double));
        fx_free(&f1);
        fx_free(&f2);
    }
}

/* The matrix-vector products with h used by the bilevel solve and the
 * monitor agree across precisions. */
static void single_matrix_vector_products(void **st) {
    (void)st;
    fixture f64, f32;
    fx_make(&f64, 40, 3, 11, NETS_RELU, NETS_SQUARE, 0, 8);
    fx_make(&f32, 40, 3, 11, NETS_RELU, NETS_SQUARE, 1, 8);
    nets__tl_forward(&f64.tl, f64.a, f64.w, 1);
    nets__tl_forward(&f32.tl, f32.a, f32.w, 1);
    double o64[40], o32[40];
    nets__tl_htv(&f64.tl, 2.385, f64.y, o64);
    nets__tl_htv(&f32.tl, 2.385, f32.y, o32);
    assert_true(rel_err(o32, o64, 11) < 1e-6);
    nets__tl_hv(&f64.tl, 0.5, f64.a, o64);
    nets__tl_hv(&f32.tl, 0.5, f32.a, o32);
    assert_true(rel_err(o32, o64, 40) < 1e-6);
    fx_free(&f64);
    fx_free(&f32);
}

/* Teacher task for the kind, every method; sizes across the blocks. */
static void teacher_params(nets_2l_params *p, int method, int single) {
    ms_params_defaults(&nets__2l_fields, p);
    p->d = 6;
    p->n = 700;
    p->n_test = 50;
    p->m = 300;
    p->method = method;
    p->lambda = 0.01;
    p->step = 0.2;
    p->tau = 1e-4;
    p->seed = 77;
    p->stream_every = 1;
    p->precision = single;
}

/* One step of B1 (PGD), B2 (MFLD lifting, noise on), B3 (MFLD bilevel) and
 * the conic variant in float32 equals the float64 step to float32
 * round-off. The error of the new particles is measured against the size of
 * the step taken, max|u1 − u0| (bilevel: the new output weights r, solved
 * afresh, against max|r|); the noise is drawn in float64, the same draws.
 * Measured ≤ 1.2e-6 relative (B3's θ); bound 2e-5. B3 includes the inner ridge solve
 * (λ = 0.01) through a float32 Gram matrix. */
static void one_step_single_matches_double(void **st) {
    (void)st;
    const size_t m = 300, d = 6;
    for (int method = 0; method < 4; method++) {
        nets_2l_params p64, p32;
        teacher_params(&p64, method, 0);
        teacher_params(&p32, method, 1);
        p64.max_iter = p32.max_iter = 1;
        ms_mat ip;
        assert_int_equal(ms_mat_alloc(&ip, m, d + 1), MS_OK);
        uint64_t s = 1234;
        for (size_t k = 0; k < m * (d + 1); k++)
            ip.v[k] = 2.0 * test_uniform(&s) - 1.0;
        for (size_t i = 0; method == M_CONIC && i < m; i++)
            ip.v[i * (d + 1)] = i % 2 ? -1.0 : 1.0;
        nt_set_mat(&p64.init_particles, ip.v, m, d + 1);
        nt_set_mat(&p32.init_particles, ip.v, m, d + 1);
        ms_value *v64 = nt_run(&nets_two_layer, &p64, 1, NULL, NULL, NULL);
        ms_value *v32 = nt_run(&nets_two_layer, &p32, 1, NULL, NULL, NULL);
        const char *an = method == M_CONIC          ? "particles/signs"
                         : method == M_MFLD_BILEVEL ? "particles/r"
                                                    : "particles/a";
        const char *wn = method == M_MFLD_BILEVEL ? "particles/theta" : "particles/w";
        const double *a64 = nt_data(v64, an, NULL, NULL), *a32 = nt_data(v32, an, NULL, NULL);
        const double *w64 = nt_data(v64, wn, NULL, NULL), *w32 = nt_data(v32, wn, NULL, NULL);
        double da = 0, dw = 0, ea = 0, ew = 0;
        for (size_t i = 0; i < m; i++) {
            double *u0 = ip.v + i * (d + 1);
            if (method == M_MFLD_BILEVEL)
                nets__normalize(u0 + 1, d);
            da = fmax(da, fabs(method == M_MFLD_BILEVEL ? a64[i] : a64[i] - u0[0]));
            ea = fmax(ea, fabs(a32[i] - a64[i]));
            for (size_t k = 0; k < d; k++) {
                dw = fmax(dw, fabs(w64[i * d + k] - u0[1 + k]));
                ew = fmax(ew, fabs(w32[i * d + k] - w64[i * d + k]));
            }
        }
        double o64 = ms_value_getnum(v64, "objective"), o32 = ms_value_getnum(v32, "objective");
        print_message("method %d: a %.3g (step %.3g) w %.3g (step %.3g) objective %.3g\n", method,
                      da > 0 ? ea / da : ea, da, ew / dw, dw, fabs(o32 - o64) / o64);
        if (method != M_CONIC) /* conic: fixed signs, ea = 0 */
            assert_true(ea < 2e-5 * da);
        assert_true(ew < 2e-5 * dw);
        assert_close(o32, o64, 2e-5, 0);
        ms_value_free(v64);
        ms_value_free(v32);
        ms_free(ip.v);
        ms_params_free(&nets__2l_fields, &p64);
        ms_params_free(&nets__2l_fields, &p32);
    }
}

/* Kind-level thread independence in float32, every method (noise, inner
 * solve and monitor included). */
static void single_kind_results_do_not_depend_on_threads(void **st) {
    (void)st;
    for (int method = 0; method < 4; method++) {
        nets_2l_params p;
        teacher_params(&p, method, 1);
        p.max_iter = 5;
        tl_same_bits_on_two_threads(&p);
        ms_params_free(&nets__2l_fields, &p);
    }
}

/* A long run: 300 PGD steps (ReLU, square loss) and 100 logistic bilevel
 * steps (damped Newton inner solve) in float32 end where the float64 runs
 * end, to the accumulated round-off (measured 1e-8 relative on the
 * objectives, 1.5e-6 on the online run's test loss; bound 1e-4), and the
 * losses decreased. Online batches too: x
 * is rounded again at every batch. */
static void long_single_runs_follow_double(void **st) {
    (void)st;
    for (int c = 0; c < 3; c++) {
        nets_2l_params p64, p32;
        for (int s = 0; s < 2; s++) {
            nets_2l_params *p = s ? &p32 : &p64;
            teacher_params(p, c == 1 ? M_MFLD_BILEVEL : M_PGD, s);
            p->max_iter = c == 1 ? 100 : 300;
            p->tol = 0;
            p->step = c == 1 ? 0.5 : 1.0;
            p->n = c == 1 ? 120 : 700;
            p->m = c == 1 ? 40 : 300;
            p->tau = 0;
            if (c == 1) {
                p->task = NETS_TASK_CLUSTERS;
                p->loss = NETS_LOGISTIC;
                p->d = 4;
            }
            if (c == 2) {
                p->batch = 200;
                p->n_test = 500;
            }
        }
        ms_value *v64 = nt_run(&nets_two_layer, &p64, 1, NULL, NULL, NULL);
        ms_value *v32 = nt_run(&nets_two_layer, &p32, 1, NULL, NULL, NULL);
        const char *key = c == 2 ? "test_loss" : "objective";
        double o64 = ms_value_getnum(v64, key), o32 = ms_value_getnum(v32, key);
        size_t nh;
        const double *h = nt_vec(v32, c == 2 ? "history/test_loss" : "history/objective", &nh);
        print_message("case %d: %s %.12g (float64) %.12g (float32), rel %.3g, first %.6g\n", c, key,
                      o64, o32, fabs(o32 - o64) / o64, h[0]);
        assert_close(o32, o64, 1e-4, 0);
        assert_true(o32 < 0.9 * h[0]);
        ms_value_free(v64);
        ms_value_free(v32);
        ms_params_free(&nets__2l_fields, &p64);
        ms_params_free(&nets__2l_fields, &p32);
    }
}

/* Every allocation of init may fail in float32 mode too; each failure is
 * reported and leaks nothing (ASan checks the latter). */
static void single_allocation_failures_are_clean(void **st) {
    (void)st;
    for (int method = 0; method < 4; method++)
        for (int loss = 0; loss < 2; loss++) {
            if (loss && method != M_MFLD_BILEVEL)
                continue;
            nets_2l_params p;
            ms_params_defaults(&nets__2l_fields, &p);
            p.d = 3;
            p.n = 20;
            p.n_test = 5;
            p.m = 6;
            p.max_iter = 2;
            p.method = method;
            p.precision = 1;
            if (loss) {
                p.task = NETS_TASK_CLUSTERS;
                p.loss = NETS_LOGISTIC;
            }
            harness_alloc_failures(&nets_two_layer, &p, 200);
            ms_params_free(&nets__2l_fields, &p);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_matches_double),
        cmocka_unit_test(single_gradients_match_finite_differences),
        cmocka_unit_test(single_threads_do_not_change_the_bits),
        cmocka_unit_test(single_matrix_vector_products),
        cmocka_unit_test(one_step_single_matches_double),
        cmocka_unit_test(single_kind_results_do_not_depend_on_threads),
        cmocka_unit_test(long_single_runs_follow_double),
        cmocka_unit_test(single_allocation_failures_are_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
