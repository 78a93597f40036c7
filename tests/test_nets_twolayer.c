/* test_nets_twolayer.c — the two-layer model and the deterministic steps of
 * the `two_layer` kind against the oracles of mean-field.md §10:
 * finite-difference gradients of every block (1), duplication invariance
 * (2), monotone objective (3), agreement with a convex Lasso on a grid of
 * directions (7), thread-count independence and the error paths. */
#include "nets_tlfixture.h"

#include "nets_internal.h"
#include "nets_run_internal.h"

extern const ms_kind nets_two_layer;

#ifndef LASSO_LAMBDA
#define LASSO_LAMBDA 5e-2
#define LASSO_STEP 2.0
#define LASSO_ITERS 30000
#define LASSO_DECAY 1
#endif

/* Smallest |w_i·x_j| over j (ReLU kinks must be avoided by finite
 * differences). */
static double min_preact(const fixture *f, size_t i) {
    double mn = INFINITY;
    for (size_t j = 0; j < f->n; j++) {
        double p = 0;
        for (size_t k = 0; k < f->d; k++)
            p += f->w[i * f->d + k] * f->x[j * f->d + k];
        mn = fabs(p) < mn ? fabs(p) : mn;
    }
    return mn;
}

/* Oracle 1: m ∂(R(s f)/s²)/∂u by central differences (h = 1e-6) equals the
 * mean-field gradient, every activation, both losses, two output scales;
 * with n = 530 rows the backward splits its rows in two halves
 * (nets__tl_splits), with n = 23 it does not. ReLU: the input weights of a
 * particle with a pre-activation |w_i·x_j| < 1e-5 are skipped (a difference
 * of step h crosses the kink only below h|x_j| <= 2e-6; spec §10.1's 1e-3
 * is a wider margin, which 530 rows rarely leave); at least half of all
 * coordinates are checked. */
static void gradients_match_finite_differences(void **st) {
    (void)st;
    const double h = 1e-6;
    for (int act = 0; act < 3; act++)
        for (int loss = 0; loss < 2; loss++)
            for (int sc = 0; sc < 2; sc++) {
                fixture f;
                uint64_t seed = 11 + (uint64_t)(act * 4 + loss * 2 + sc);
                size_t n = loss ? 530 : 23, checked = 0;
                fx_make(&f, n, 4, 6, (nets_act)act, (nets_loss)loss, 0, seed);
                assert_int_equal(nets__tl_splits(&f.tl), loss ? 2 : 1);
                f.tl.out_scale = sc ? 2.385 : 1.0;
                fx_set_fused(&f, sc); /* both paths */
                const double s2 = f.tl.out_scale * f.tl.out_scale;
                nets__tl_forward(&f.tl, f.a, f.w, 1);
                nets__tl_backward(&f.tl, f.a, f.w, f.ga, f.gw, 1);
                for (size_t k = 0; k < f.m * (f.d + 1); k++) {
                    if (k >= f.m && act == NETS_RELU && min_preact(&f, (k - f.m) / f.d) < 1e-5)
                        continue;
                    double *u = k < f.m ? f.a + k : f.w + (k - f.m);
                    double an = k < f.m ? f.ga[k] : f.gw[k - f.m];
                    double u0 = *u;
                    *u = u0 + h;
                    double fp = nets__tl_forward(&f.tl, f.a, f.w, 1) / s2;
                    *u = u0 - h;
                    double fm = nets__tl_forward(&f.tl, f.a, f.w, 1) / s2;
                    *u = u0;
                    double fd = (double)f.m * (fp - fm) / (2 * h);
                    assert_close(fd, an, 1e-6, 1e-8);
                    checked++;
                }
                assert_true(checked >= f.m * (f.d + 1) / 2);
                fx_free(&f);
            }
}

/* Same bits whatever the thread count: fixed blocks (several of each), the
 * two row halves of a single column block (unfused), and the fused pass's
 * row chunks, one block each or (n = 2600: 8 chunks of 325 rows) two. */
static void threads_do_not_change_the_bits(void **st) {
    (void)st;
    for (int v = 0; v < 6; v++) {
        fixture f1, f2;
        int fused = v % 2 || v >= 4;
        nets_act act = v == 4 ? NETS_SIGMOID : fused ? NETS_RELU : NETS_TANH;
        size_t n = v < 2 ? 600 : v < 4 ? 900 : 2600, m = v < 2 ? 300 : v < 4 ? 120 : 40;
        fx_make(&f1, n, 7, m, act, NETS_SQUARE, 0, 5);
        fx_make(&f2, n, 7, m, act, NETS_SQUARE, 0, 5);
        assert_int_equal(nets__tl_splits(&f1.tl), v < 2 ? 1 : 2);
        assert_int_equal(nets__tl_chunks(n), v < 2 ? 3 : v < 4 ? 4 : 8);
        fx_set_fused(&f1, fused);
        fx_set_fused(&f2, fused);
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

/* A small data problem for the kind: n points of dimension din. */
static void data_params(nets_2l_params *p, size_t n, size_t din, uint64_t seed, int logistic) {
    ms_params_defaults(&nets__2l_fields, p);
    p->task = NETS_TASK_DATA;
    uint64_t s = seed;
    assert_int_equal(ms_mat_alloc(&p->x, n, din), MS_OK);
    assert_int_equal(ms_vec_alloc(&p->y, n), MS_OK);
    for (size_t k = 0; k < n * din; k++)
        p->x.v[k] = 2.0 * test_uniform(&s) - 1.0;
    for (size_t j = 0; j < n; j++)
        p->y.v[j] = logistic ? (p->x.v[j * din] > 0 ? 1.0 : -1.0) : sin(3.0 * p->x.v[j * din]);
    if (logistic)
        p->loss = NETS_LOGISTIC;
}

static void random_particles(ms_mat *ip, size_t m, size_t cols, uint64_t seed) {
    uint64_t s = seed;
    assert_int_equal(ms_mat_alloc(ip, m, cols), MS_OK);
    for (size_t k = 0; k < m * cols; k++)
        ip->v[k] = 2.0 * test_uniform(&s) - 1.0;
}

/* Objective F_m of the kind's penalty at particles (a, w) on the data. */
static double objective_at(const nets_2l_params *p, const double *a, const double *w, size_t m,
                           int method) {
    size_t n = p->x.rows, d = p->x.cols;
    nets_tl tl;
    assert_int_equal(nets__tl_alloc(&tl, n, d, m, 0, 1), MS_OK);
    tl.act = (nets_act)p->activation;
    tl.loss = (nets_loss)p->loss;
    nets__tl_set_data(&tl, p->x.v, p->y.v, n);
    double pen = 0, *v = ms_malloc(m * d, sizeof(double));
    for (size_t k = 0; k < m * d; k++) {
        v[k] = method == M_CONIC ? w[k] * fabs(w[k]) : w[k];
        pen += w[k] * w[k];
    }
    for (size_t i = 0; i < m && method != M_CONIC; i++)
        pen += a[i] * a[i];
    double r = nets__tl_forward(&tl, a, v, 1);
    ms_free(v);
    nets__tl_free(&tl);
    return r + (method == M_CONIC ? 1.0 : 0.5) * p->lambda * pen / (double)m;
}

/* Oracle 1 at the kind level: one PGD step (weight decay) and one conic step
 * equal the updates built from finite-difference gradients of F_m. */
static void one_step_equals_fd_update(void **st) {
    (void)st;
    for (int method = 0; method < 2; method++) {
        nets_2l_params p;
        data_params(&p, 17, 3, 21, 0);
        const size_t m = 5, d = 3;
        p.activation = NETS_TANH;
        p.method = method ? M_CONIC : M_PGD;
        p.lambda = 0.0371;
        p.step = 0.05;
        p.max_iter = 1;
        p.conic_ratio = 0.37;
        random_particles(&p.init_particles, m, d + 1, 3);
        if (method)
            for (size_t i = 0; i < m; i++)
                p.init_particles.v[i * (d + 1)] = i % 2 ? -1.0 : 1.0;
        ms_value *v = nt_run(&nets_two_layer, &p, 1, NULL, NULL, NULL);
        const double *a1 = nt_data(v, method ? "particles/signs" : "particles/a", NULL, NULL);
        const double *w1 = nt_data(v, "particles/w", NULL, NULL);
        double a[5], w[15], g[20];
        for (size_t i = 0; i < m; i++) {
            a[i] = p.init_particles.v[i * (d + 1)];
            memcpy(w + i * d, p.init_particles.v + i * (d + 1) + 1, d * sizeof(double));
        }
        const double h = 1e-6;
        for (size_t k = 0; k < m * (d + 1); k++) {
            double *u = k < m ? a + k : w + (k - m);
            double u0 = *u;
            *u = u0 + h;
            double fp = objective_at(&p, a, w, m, p.method);
            *u = u0 - h;
            double fm = objective_at(&p, a, w, m, p.method);
            *u = u0;
            g[k] = (double)m * (fp - fm) / (2 * h);
        }
        for (size_t i = 0; i < m; i++) {
            if (!method) {
                assert_close(a1[i], a[i] - p.step * g[i], 1e-9, 1e-10);
                for (size_t k = 0; k < d; k++)
                    assert_close(w1[i * d + k], w[i * d + k] - p.step * g[m + i * d + k], 1e-9,
                                 1e-10);
            } else {
                /* Radial/tangential split of the FD gradient, spec §3. */
                const double *gi = g + m + i * d, *wi = w + i * d;
                double gw = 0, ww = 0;
                for (size_t k = 0; k < d; k++) {
                    gw += gi[k] * wi[k];
                    ww += wi[k] * wi[k];
                }
                assert_true(a1[i] == a[i]);
                for (size_t k = 0; k < d; k++) {
                    double pk = gw / ww * wi[k];
                    double want = wi[k] - p.step * (pk + p.conic_ratio * (gi[k] - pk));
                    assert_close(w1[i * d + k], want, 1e-9, 1e-10);
                }
            }
        }
        ms_value_free(v);
        ms_params_free(&nets__2l_fields, &p);
    }
}

typedef struct {
    double obj[400];
    double loss[400];
    size_t n;
} trace;

static void record(const ms_progress *pr, void *u) {
    trace *t = u;
    if (t->n < 400) {
        t->obj[t->n] = ms_progress_get(pr, "objective");
        t->loss[t->n++] = ms_progress_get(pr, "loss");
    }
}

/* Oracle 2: duplicating every particle leaves the predictor unchanged at every
 * step (deterministic algorithms), for PGD and the conic variant. */
static void duplicating_particles_changes_nothing(void **st) {
    (void)st;
    for (int method = 0; method < 2; method++) {
        nets_2l_params p, q;
        data_params(&p, 31, 2, 8, 0);
        data_params(&q, 31, 2, 8, 0);
        p.activation = q.activation = NETS_TANH;
        p.method = q.method = method ? M_CONIC : M_PGD;
        p.max_iter = q.max_iter = 60;
        p.stream_every = q.stream_every = 1;
        p.step = q.step = 0.3;
        p.lambda = q.lambda = 0.01;
        p.tol = q.tol = 0;
        random_particles(&p.init_particles, 7, 3, 9);
        assert_int_equal(ms_mat_alloc(&q.init_particles, 14, 3), MS_OK);
        for (size_t i = 0; i < 14; i++)
            memcpy(q.init_particles.v + i * 3, p.init_particles.v + (i / 2) * 3,
                   3 * sizeof(double));
        nt_set_mat(&p.x_eval, p.x.v, 10, 2);
        nt_set_mat(&q.x_eval, p.x.v, 10, 2);
        trace tp = {0}, tq = {0};
        ms_value *vp = nt_run(&nets_two_layer, &p, 1, NULL, record, &tp);
        ms_value *vq = nt_run(&nets_two_layer, &q, 1, NULL, record, &tq);
        assert_int_equal(tp.n, tq.n);
        for (size_t k = 0; k < tp.n; k++)
            assert_close(tq.loss[k], tp.loss[k], 1e-12, 1e-15);
        const double *fp = nt_data(vp, "f_eval", NULL, NULL),
                     *fq = nt_data(vq, "f_eval", NULL, NULL);
        for (size_t j = 0; j < 10; j++)
            assert_close(fq[j], fp[j], 1e-12, 1e-14);
        ms_value_free(vp);
        ms_value_free(vq);
        ms_params_free(&nets__2l_fields, &p);
        ms_params_free(&nets__2l_fields, &q);
    }
}

/* Oracle 3: smooth nets (tanh, sigmoid) with small steps decrease the
 * objective at every step (slack 1e-12 relative). */
static void smooth_objective_is_monotone(void **st) {
    (void)st;
    for (int act = 1; act < 3; act++)
        for (int loss = 0; loss < 2; loss++) {
            nets_2l_params p;
            data_params(&p, 40, 3, 4 + (uint64_t)act, loss);
            p.activation = act;
            p.m = 12;
            p.max_iter = 300;
            p.stream_every = 1;
            p.step = 0.2;
            p.lambda = 0.003;
            p.tol = 0;
            trace t = {0};
            ms_value *v = nt_run(&nets_two_layer, &p, 1, NULL, record, &t);
            assert_int_equal(t.n, 300);
            for (size_t k = 1; k < t.n; k++)
                assert_true(t.obj[k] <= t.obj[k - 1] + 1e-12 * fabs(t.obj[k - 1]));
            assert_true(t.obj[t.n - 1] < 0.9 * t.obj[0]);
            ms_value_free(v);
            ms_params_free(&nets__2l_fields, &p);
        }
}

/* Kind-level thread independence, noisy method included; the bilevel one
 * also at n = 1300 (its first inner system is a split Gram matrix, then CG
 * iterations; at n = 700 tiles, then CG). */
static void kind_results_do_not_depend_on_threads(void **st) {
    (void)st;
    for (int v = 0; v < 5; v++) {
        nets_2l_params p;
        int method = v < 4 ? v : M_MFLD_BILEVEL;
        ms_params_defaults(&nets__2l_fields, &p);
        p.d = 6;
        p.n = v < 4 ? 700 : 1300;
        p.n_test = 50;
        p.m = 300;
        p.method = method;
        p.max_iter = 5;
        p.lambda = 0.01;
        p.step = 0.2;
        p.seed = 77;
        p.stream_every = 1;
        tl_same_bits_on_two_threads(&p);
        ms_params_free(&nets__2l_fields, &p);
    }
}

static void bad_params_name_the_field(void **st) {
    (void)st;
    nets_2l_params p;
    data_params(&p, 10, 2, 1, 0);
    p.y.n = 9;
    nt_expect_fail(&nets_two_layer, &p, MS_EINVAL, "y");
    p.y.n = 10;
    p.loss = NETS_LOGISTIC;
    nt_expect_fail(&nets_two_layer, &p, MS_EINVAL, "y/0");
    p.loss = NETS_SQUARE;
    p.x.v[3] = NAN;
    nt_expect_fail(&nets_two_layer, &p, MS_EINVAL, "x/1/1");
    p.x.v[3] = 0.5;
    p.step = -1;
    nt_expect_fail(&nets_two_layer, &p, MS_EINVAL, "step");
    p.step = 1e3; /* diverges: a numerical failure, not a crash */
    p.m = 4;
    p.max_iter = 200;
    nt_expect_fail(&nets_two_layer, &p, MS_ENUMERIC, "step");
    ms_params_free(&nets__2l_fields, &p);
    ms_params_defaults(&nets__2l_fields, &p);
    p.batch = 10;
    p.task = NETS_TASK_DATA;
    nt_expect_fail(&nets_two_layer, &p, MS_EINVAL, "x");
}

/* Every allocation of init may fail; each failure is reported and leaks
 * nothing (ASan checks the latter). */
static void allocation_failures_are_clean(void **st) {
    (void)st;
    for (int method = 0; method < 4; method++) {
        nets_2l_params p;
        ms_params_defaults(&nets__2l_fields, &p);
        p.d = 3;
        p.n = 20;
        p.n_test = 5;
        p.m = 6;
        p.max_iter = 2;
        p.method = method;
        p.kernel_drift = 1;
        nt_set_mat(&p.x_eval, (const double[]){0.1, 0.2, 0.3}, 1, 3);
        harness_alloc_failures(&nets_two_layer, &p, 200);
        ms_params_free(&nets__2l_fields, &p);
    }
}

/* Oracle 7: 1-D input + bias, ReLU with weight decay is the TV problem on the
 * circle; PGD (m = 200) reaches the Lasso optimum over 4096 directions. */
static void relu_pgd_matches_convex_lasso(void **st) {
    (void)st;
    /* 4096 uniform directions plus the 2n directions orthogonal to the lifted
     * data points (x_j, 1): optimal neurons sit on those activation
     * boundaries (spec §1 caveat), which a uniform grid misses by ~1e-4. */
    const size_t n = 8, K = 4096 + 2 * n;
    nets_2l_params p;
    ms_params_defaults(&nets__2l_fields, &p);
    p.task = NETS_TASK_DATA;
    assert_int_equal(ms_mat_alloc(&p.x, n, 1), MS_OK);
    assert_int_equal(ms_vec_alloc(&p.y, n), MS_OK);
    uint64_t s = 17;
    for (size_t j = 0; j < n; j++) {
        p.x.v[j] = -1.0 + 2.0 * ((double)j + 0.3 * test_uniform(&s)) / (double)n;
        p.y.v[j] = sin(3.0 * p.x.v[j]) + 0.5 * test_uniform(&s);
    }
    p.bias = 1;
    p.m = 200;
    p.lambda = LASSO_LAMBDA;
    p.step = LASSO_STEP;
    p.max_iter = LASSO_ITERS;
    p.step_decay = LASSO_DECAY;
    p.tol = 0;
    p.init = I_SPHERE;
    p.init_scale = 0.5;
    p.heavy_every = 1000000;
    p.seed = 3;
    ms_progress last;
    ms_value *v = nt_run(&nets_two_layer, &p, 1, &last, NULL, NULL);
    double *phi = ms_malloc(n * K, sizeof(double)), *c = ms_malloc(K, sizeof(double));
    for (size_t k = 0; k < K; k++) {
        double t = 2.0 * M_PI * (double)k / 4096.0;
        if (k >= 4096) /* w̄ ⊥ (x_j, 1): tan t = −x_j */
            t = atan2(-p.x.v[(k - 4096) / 2], 1.0) + ((k - 4096) % 2 ? M_PI : 0.0);
        for (size_t j = 0; j < n; j++) {
            double pj = cos(t) * p.x.v[j] + sin(t);
            phi[j * K + k] = pj > 0 ? pj : 0;
        }
    }
    /* Gap 1e-8 relative: 10^4 below the tolerance compared. */
    double lasso = nt_lasso_cd(phi, p.y.v, n, K, p.lambda, c, 1e-8);
    double obj = ms_value_getnum(v, "objective"), cert = ms_value_getnum(v, "certificate");
    print_message("lasso %.12g pgd %.12g rel %.3g cert %.6g balance %.3g\n", lasso, obj,
                  (obj - lasso) / lasso, cert, ms_progress_get(&last, "balance"));
    /* Relative imbalance on active neurons. */
    size_t m = 200;
    const double *a = nt_data(v, "particles/a", NULL, NULL),
                 *w = nt_data(v, "particles/w", NULL, NULL);
    double amax = 0, imb = 0;
    for (size_t i = 0; i < m; i++)
        amax = fabs(a[i]) > amax ? fabs(a[i]) : amax;
    for (size_t i = 0; i < m; i++)
        if (fabs(a[i]) > 1e-2 * amax) {
            double w2 = w[2 * i] * w[2 * i] + w[2 * i + 1] * w[2 * i + 1];
            double r = fabs(a[i] * a[i] - w2) / (a[i] * a[i]);
            imb = r > imb ? r : imb;
        }
    print_message("imbalance %.3g\n", imb);
    /* Spec §10.7 with a decaying step: within 1e-4 relative of the Lasso
     * (measured 8.0e-5 with these settings, seed 3; certificate 1.0003, imbalance 2e-4). The grid
     * optimum is a lower bound up to the grid's resolution (~1e-6 here). */
    assert_true(obj >= lasso * (1 - 1e-6));
    assert_true((obj - lasso) / lasso <= 1e-4);
    assert_true(cert <= 1.06);
    assert_true(imb <= 1e-2);
    ms_free(phi);
    ms_free(c);
    ms_value_free(v);
    ms_params_free(&nets__2l_fields, &p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradients_match_finite_differences),
        cmocka_unit_test(threads_do_not_change_the_bits),
        cmocka_unit_test(one_step_equals_fd_update),
        cmocka_unit_test(duplicating_particles_changes_nothing),
        cmocka_unit_test(smooth_objective_is_monotone),
        cmocka_unit_test(kind_results_do_not_depend_on_threads),
        cmocka_unit_test(bad_params_name_the_field),
        cmocka_unit_test(allocation_failures_are_clean),
        cmocka_unit_test(relu_pgd_matches_convex_lasso),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
