/* test_nets_mfld.c — mean-field Langevin dynamics and the bilevel reduction
 * against the oracles of mean-field.md §10: Langevin invariants (9: Gaussian
 * stationary variance with its discretisation bias, sphere moments, noise
 * increments, unit norms), bilevel inner solve and outer drift (8), the
 * entropy estimate and the annealing schedules. */
#include "nets_testlib.h"

#include "nets_internal.h"
#include "nets_run_internal.h"

extern const ms_kind nets_two_layer;

/* A data set of one zero input: every feature vanishes, so only the
 * penalty and the noise act (spec §10.9 "no data"). */
static void no_data(nets_2l_params *p, size_t din) {
    ms_params_defaults(&nets__2l_fields, p);
    p->task = NETS_TASK_DATA;
    assert_int_equal(ms_mat_alloc(&p->x, 1, din), MS_OK);
    assert_int_equal(ms_vec_alloc(&p->y, 1), MS_OK);
    p->tol = 0;
    p->heavy_every = 1000000000;
    p->stream_every = 1000000000;
}

static void moments(const double *v, size_t n, size_t stride, double *mean, double *var) {
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i * stride];
    s /= (double)n;
    for (size_t i = 0; i < n; i++)
        q += (v[i * stride] - s) * (v[i * stride] - s);
    *mean = s;
    *var = q / (double)(n - 1);
}

/* Oracle 9: V = (λ/2)|u|², no data: the stationary variance of the Euler
 * scheme is τ/(λ(1 − ηλ/2)) (exact for this quadratic); with κ the output
 * weights see step κη, hence τ/(λ(1 − κηλ/2)). m = 2·10⁴, within 3%. */
static void lifting_gaussian_stationary_variance(void **st) {
    (void)st;
    nets_2l_params p;
    no_data(&p, 1);
    p.method = M_MFLD_LIFT;
    p.m = 20000;
    p.lambda = 1.0;
    p.step = 0.1;
    p.tau = 0.1;
    p.kappa = 2.0;
    /* Start near the law (variance τ/λ) so that 60 steps of contraction
     * (1 − κηλ)^{2k} ≤ 0.8^{120} leave no trace of the start. */
    p.max_iter = 60;
    p.init_scale = sqrt(p.tau / p.lambda);
    ms_value *v = nt_run(&nets_two_layer, &p, 1, NULL, NULL, NULL);
    const double *a = nt_data(v, "particles/a", NULL, NULL);
    const double *w = nt_data(v, "particles/w", NULL, NULL);
    double ma, va, mw, vw;
    moments(a, 20000, 1, &ma, &va);
    moments(w, 20000, 1, &mw, &vw);
    double want_w = p.tau / (p.lambda * (1 - p.step * p.lambda / 2));
    double want_a = p.tau / (p.lambda * (1 - p.kappa * p.step * p.lambda / 2));
    assert_close(vw, want_w, 0.03, 0);
    assert_close(va, want_a, 0.03, 0);
    assert_true(fabs(ma) < 3 * sqrt(want_a / 20000) + 1e-12);
    ms_value_free(v);
    ms_params_free(&nets__2l_fields, &p);
}

/* Oracle 9: zero drift (λ = 0, no data): one step moves each coordinate by
 * sqrt(2ητ)·ξ, so the increment variance is 2ητ. */
static void zero_drift_increment_variance(void **st) {
    (void)st;
    nets_2l_params p;
    no_data(&p, 3);
    p.method = M_MFLD_LIFT;
    p.lambda = 0;
    p.step = 0.07;
    p.tau = 0.3;
    p.max_iter = 1;
    const size_t m = 5000;
    assert_int_equal(ms_mat_alloc(&p.init_particles, m, 4), MS_OK);
    for (size_t k = 0; k < m * 4; k++)
        p.init_particles.v[k] = 0.25;
    ms_value *v = nt_run(&nets_two_layer, &p, 1, NULL, NULL, NULL);
    const double *w = nt_data(v, "particles/w", NULL, NULL);
    double mean, var;
    moments(w, m * 3, 1, &mean, &var);
    assert_close(var, 2 * p.step * p.tau, 0.03, 0);
    assert_close(mean, 0.25, 0, 3 * sqrt(2 * p.step * p.tau / (3.0 * m)));
    ms_value_free(v);
    ms_params_free(&nets__2l_fields, &p);
}

/* Oracle 9 on the sphere: from a point mass, tangent noise and
 * renormalisation reach the uniform law: |mean| ≤ 3/sqrt(m)·(scale),
 * E[θθᵀ] ≈ I/d, unit norms to 1e-12. */
static void sphere_noise_reaches_uniform_moments(void **st) {
    (void)st;
    const size_t m = 20000, d = 3;
    nets_2l_params p;
    no_data(&p, d);
    p.method = M_MFLD_BILEVEL;
    p.lambda = 0.1;
    p.step = 0.1;
    p.tau = 1.0;
    p.max_iter = 60; /* first harmonic ~ exp(−2τηk) = e^-12 */
    assert_int_equal(ms_mat_alloc(&p.init_particles, m, d + 1), MS_OK);
    for (size_t i = 0; i < m; i++)
        p.init_particles.v[i * (d + 1) + 1] = 1.0; /* θ = e1 */
    ms_value *v = nt_run(&nets_two_layer, &p, 1, NULL, NULL, NULL);
    const double *th = nt_data(v, "particles/theta", NULL, NULL);
    double M[3][3] = {{0}}, mu[3] = {0};
    for (size_t i = 0; i < m; i++) {
        double nrm = 0;
        for (size_t k = 0; k < d; k++) {
            nrm += th[i * d + k] * th[i * d + k];
            mu[k] += th[i * d + k] / (double)m;
            for (size_t l = 0; l < d; l++)
                M[k][l] += th[i * d + k] * th[i * d + l] / (double)m;
        }
        assert_close(nrm, 1.0, 0, 1e-12);
    }
    /* Each coordinate of a uniform point has variance 1/d. */
    for (size_t k = 0; k < d; k++) {
        assert_true(fabs(mu[k]) <= 3 / sqrt((double)m * d));
        for (size_t l = 0; l < d; l++)
            assert_close(M[k][l], k == l ? 1.0 / d : 0.0, 0, 0.01);
    }
    /* The entropy estimate relative to the uniform law is then ≈ 0. */
    ms_value_free(v);
    ms_params_free(&nets__2l_fields, &p);
}

/* Kozachenko–Leonenko against closed forms: N(0, σ²I_D) has
 * ∫ν log ν = −(D/2) log(2πeσ²); uniform on the sphere has 0 relative to
 * uniform. */
static void entropy_estimate_matches_closed_forms(void **st) {
    (void)st;
    const size_t m = 4000;
    double *pts = ms_malloc(m * 3, sizeof(double)), *ws = ms_malloc(m, sizeof(double));
    ms_rng r;
    ms_rng_init(&r, 5, 0);
    const double sig = 0.37;
    for (size_t D = 1; D <= 3; D++) {
        for (size_t k = 0; k < m * D; k++)
            pts[k] = sig * ms_rng_normal(&r);
        double est = nets__entropy_kl(pts, m, D, D, 0, ws, 1);
        double want = -0.5 * (double)D * log(2 * M_PI * M_E * sig * sig);
        assert_close(est, want, 0, 0.05 * (double)D);
    }
    for (size_t i = 0; i < m; i++) {
        ms_rng_normals(&r, pts + 3 * i, 3);
        nets__normalize(pts + 3 * i, 3);
    }
    assert_close(nets__entropy_kl(pts, m, 3, 2, 1, ws, 1), 0.0, 0, 0.05);
    assert_close(nets__digamma(1.0), -0.57721566490153286, 1e-12, 0);
    assert_close(nets__digamma(0.5), -1.9635100260214235, 1e-12, 0);
    /* ψ(10) = H_9 − γ, and the recurrence across the switch to the series. */
    assert_close(nets__digamma(10.0), 2.251752589066721, 1e-13, 0);
    assert_close(nets__digamma(38.5), nets__digamma(37.5) + 1 / 37.5, 1e-13, 0);
    assert_close(nets__digamma(9.5), nets__digamma(10.5) - 1 / 9.5, 1e-13, 0);
    ms_free(pts);
    ms_free(ws);
}

static void annealing_schedules(void **st) {
    (void)st;
    nets_anneal g = {NETS_ANNEAL_GEOMETRIC, 1.0, 0.5, 1.0, 0.1, 1.0, 3, 0, 0, 0, 0};
    nets__anneal_start(&g);
    /* Stages of 3, 6, 12, 24 iterations at τ = 1, 1/2, 1/4, 1/8; then 1/16 < τ_min. */
    size_t len[5] = {0};
    size_t t = 0;
    for (; !g.finished && t < 1000; t++) {
        double tau = nets__anneal_next(&g, t);
        if (!g.finished)
            len[(size_t)lround(-log2(tau))]++;
    }
    assert_int_equal(len[0], 3);
    assert_int_equal(len[1], 6);
    assert_int_equal(len[2], 12);
    assert_int_equal(len[3], 24);
    assert_int_equal(t, 46);
    nets_anneal l = {NETS_ANNEAL_LOG, 2.0, 0, 0, 0, 10.0, 0, 0, 0, 0, 0};
    nets__anneal_start(&l);
    assert_close(nets__anneal_next(&l, 0), 2.0, 1e-15, 0);
    assert_close(nets__anneal_next(&l, 50), 2.0 / log(M_E + 5.0), 1e-15, 0);
}

/* Bilevel fixtures: n samples, m particles θ on the sphere. */
typedef struct {
    size_t n, d, m;
    double *x, *y, *th, *r, *ga, *gw;
    nets_tl tl;
    nets_bilevel bl;
} bfix;

/* θ_i uniform in the cube, normalised. */
static void random_thetas(double *th, size_t m, size_t d, uint64_t *s) {
    for (size_t i = 0; i < m; i++) {
        for (size_t k = 0; k < d; k++)
            th[i * d + k] = 2 * test_uniform(s) - 1;
        nets__normalize(th + i * d, d);
    }
}

static void bfix_make_prec(bfix *b, size_t n, size_t d, size_t m, nets_loss loss, nets_act act,
                           uint64_t seed, int single) {
    b->n = n;
    b->d = d;
    b->m = m;
    b->x = ms_malloc(n * d, sizeof(double));
    b->y = ms_malloc(n, sizeof(double));
    b->th = ms_malloc(m * d, sizeof(double));
    b->r = ms_calloc(m, sizeof(double));
    b->ga = ms_malloc(m, sizeof(double));
    b->gw = ms_malloc(m * d, sizeof(double));
    uint64_t s = seed;
    for (size_t k = 0; k < n * d; k++)
        b->x[k] = 2 * test_uniform(&s) - 1;
    for (size_t j = 0; j < n; j++)
        b->y[j] = loss == NETS_LOGISTIC ? (b->x[j * d] + 0.3 * b->x[j * d + 1] > 0 ? 1.0 : -1.0)
                                        : sin(2.385 * b->x[j * d]);
    random_thetas(b->th, m, d, &s);
    assert_int_equal(nets__tl_alloc(&b->tl, n, d, m, single, 0), MS_OK);
    b->tl.act = act;
    b->tl.loss = loss;
    nets__tl_set_data(&b->tl, b->x, b->y, n);
    assert_int_equal(nets__bilevel_alloc(&b->bl, n, m, d, loss, single), MS_OK);
    b->bl.lambda = 0.0371;
    b->bl.newton_iter = 100;
    b->bl.newton_tol = 1e-13;
}

static void bfix_make(bfix *b, size_t n, size_t d, size_t m, nets_loss loss, nets_act act,
                      uint64_t seed) {
    bfix_make_prec(b, n, d, m, loss, act, seed, 0);
}

static void bfix_free(bfix *b) {
    nets__bilevel_free(&b->bl);
    nets__tl_free(&b->tl);
    ms_free(b->x);
    ms_free(b->y);
    ms_free(b->th);
    ms_free(b->r);
    ms_free(b->ga);
    ms_free(b->gw);
}

/* J_m(θ) = min_r R(Φr/m) + (λ/2m) Σ r², solved exactly. */
static double bilevel_value(bfix *b) {
    ms_err err;
    double loss;
    memset(b->r, 0, b->m * sizeof(double));
    nets__tl_forward(&b->tl, b->r, b->th, 1);
    assert_int_equal(nets__bilevel_solve(&b->bl, &b->tl, b->r, &loss, &err, 1), MS_OK);
    double s = 0;
    for (size_t i = 0; i < b->m; i++)
        s += b->r[i] * b->r[i];
    return loss + 0.5 * b->bl.lambda * s / (double)b->m;
}

/* Oracle 8: r_i = r*(θ_i) = −g(θ_i)/λ (square loss: exact stationarity);
 * the drift −r_i ∇g(θ_i) equals −m ∂J_m/∂θ_i by central differences of the
 * exactly solved inner problem. Primal (m ≤ n) and dual (n < m) systems,
 * square and logistic losses, ReLU and tanh. */
static void bilevel_inner_solve_and_outer_drift(void **st) {
    (void)st;
    const size_t shapes[3][2] = {{25, 6}, {5, 9}, {30, 7}}; /* (n, m) */
    for (int c = 0; c < 3; c++)
        for (int act = 0; act < 2; act++) {
            nets_loss loss = c == 2 ? NETS_LOGISTIC : NETS_SQUARE;
            bfix b;
            bfix_make(&b, shapes[c][0], 3, shapes[c][1], loss, act ? NETS_TANH : NETS_RELU,
                      41 + (uint64_t)(c * 2 + act));
            bilevel_value(&b);
            double r[16];
            memcpy(r, b.r, b.m * sizeof(double));
            nets__tl_backward(&b.tl, b.r, b.th, b.ga, b.gw, 1);
            /* Stationarity of the inner problem: λ r_i + g(θ_i) = 0. */
            for (size_t i = 0; i < b.m; i++)
                assert_close(r[i], -b.ga[i] / b.bl.lambda, 0, 1e-10);
            double drift[64];
            for (size_t k = 0; k < b.m * b.d; k++)
                drift[k] = -b.gw[k];
            const double h = 1e-6;
            for (size_t k = 0; k < b.m * b.d; k++) {
                double t0 = b.th[k];
                b.th[k] = t0 + h;
                double jp = bilevel_value(&b);
                b.th[k] = t0 - h;
                double jm = bilevel_value(&b);
                b.th[k] = t0;
                double fd = -(double)b.m * (jp - jm) / (2 * h);
                assert_close(drift[k], fd, 1e-6, 3e-9);
            }
            bfix_free(&b);
        }
}

/* The blocked Cholesky of inner systems larger than 512 (primal k = m and
 * dual k = n): exact stationarity λ r_i + g(θ_i) = 0 of the solved inner
 * problem, and the same bits with one and two threads. */
static void bilevel_large_systems_blocked_cholesky(void **st) {
    (void)st;
    const size_t shapes[2][2] = {{1100, 700}, {600, 900}}; /* (n, m) */
    for (int c = 0; c < 2; c++) {
        double *r1 = ms_malloc(shapes[c][1], sizeof(double));
        for (int nt = 1; nt <= 2; nt++) {
            bfix b;
            bfix_make(&b, shapes[c][0], 4, shapes[c][1], NETS_SQUARE, NETS_RELU, 77 + (uint64_t)c);
            ms_err err;
            double loss;
            nets__tl_forward(&b.tl, b.r, b.th, nt);
            assert_int_equal(nets__bilevel_solve(&b.bl, &b.tl, b.r, &loss, &err, nt), MS_OK);
            if (nt == 1)
                memcpy(r1, b.r, b.m * sizeof(double));
            else
                assert_memory_equal(r1, b.r, b.m * sizeof(double));
            double *r = ms_malloc(b.m, sizeof(double)), scale = 0;
            memcpy(r, b.r, b.m * sizeof(double));
            nets__tl_backward(&b.tl, b.r, b.th, b.ga, b.gw, nt);
            for (size_t i = 0; i < b.m; i++)
                scale = fmax(scale, fabs(r[i]));
            for (size_t i = 0; i < b.m; i++)
                assert_close(r[i], -b.ga[i] / b.bl.lambda, 0, 1e-9 * scale);
            ms_free(r);
            bfix_free(&b);
        }
        ms_free(r1);
    }
}

/* Forward at b's θ and inner solve (r warm from its current value);
 * returns the data loss at the solution. */
static double bfix_solve(bfix *b, int nt) {
    ms_err err;
    double loss;
    nets__tl_forward(&b->tl, b->r, b->th, nt);
    assert_int_equal(nets__bilevel_solve(&b->bl, &b->tl, b->r, &loss, &err, nt), MS_OK);
    return loss;
}

/* A direct solve at θ (fresh model, no factor to reuse) into r; returns
 * the loss. */
static double direct_solve_at(const bfix *like, const double *th, double lambda, int single,
                              double *r, int nt) {
    bfix c;
    bfix_make_prec(&c, like->n, like->d, like->m, NETS_SQUARE, NETS_RELU, 91, single);
    c.bl.lambda = lambda;
    memcpy(c.th, th, c.m * c.d * sizeof(double));
    double loss = bfix_solve(&c, nt);
    assert_int_equal(c.bl.cg_iters, 0);
    memcpy(r, c.r, c.m * sizeof(double));
    bfix_free(&c);
    return loss;
}

/* Conjugate gradients preconditioned by the last factor (square loss,
 * m >= 256, reused data), float64 and float32 features:
 *  - after a small move of every θ_i (1e-3) the solve takes CG iterations,
 *    its true residual is below 1e-12 of the right-hand side, and r and the
 *    loss its last pass refreshes agree with a fresh direct solve at the
 *    same θ (1e-10 relative; float32: the direct solve's Gram matrix is
 *    rounded to float, 1e-4 and 1e-5);
 *  - the same bits on one and two threads;
 *  - after a jump to fresh θ with a tiny λ, CG gives up within its m/32
 *    iterations: the step forms and factors its own system (the same bits
 *    as the direct solve); when even a one-solve-old factor failed, the
 *    next 16 solves skip CG. */
static void bilevel_cg_warm_solves_match_direct(void **st) {
    (void)st;
    for (int single = 0; single < 2; single++) {
        double *r1 = NULL;
        for (int nt = 1; nt <= 2; nt++) {
            bfix b;
            bfix_make_prec(&b, 700, 4, 300, NETS_SQUARE, NETS_RELU, 91, single);
            b.bl.reuse = 1;
            bfix_solve(&b, nt);
            assert_int_equal(b.bl.cg_iters, 0);
            uint64_t s = 5;
            for (size_t i = 0; i < b.m; i++) {
                for (size_t k = 0; k < b.d; k++)
                    b.th[i * b.d + k] += 1e-3 * (2 * test_uniform(&s) - 1);
                nets__normalize(b.th + i * b.d, b.d);
            }
            double loss = bfix_solve(&b, nt);
            assert_true(b.bl.cg_iters > 0 && b.bl.cg_iters <= 9); /* m/32 */
            double *c = ms_malloc(b.m, sizeof(double)), *rd = ms_malloc(b.m, sizeof(double));
            nets__tl_htv(&b.tl, 1.0 / (double)b.n, b.y, c);
            double cmax = 0, rmax = 0, diff = 0;
            for (size_t i = 0; i < b.m; i++)
                cmax = fmax(cmax, fabs(c[i]));
            assert_true(b.bl.inner_residual <= 1e-12 * cmax);
            double loss_d = direct_solve_at(&b, b.th, b.bl.lambda, single, rd, nt);
            assert_close(loss, loss_d, single ? 1e-5 : 1e-10, 0);
            for (size_t i = 0; i < b.m; i++) {
                rmax = fmax(rmax, fabs(rd[i]));
                diff = fmax(diff, fabs(rd[i] - b.r[i]));
            }
            assert_true(diff <= (single ? 1e-4 : 1e-10) * rmax);
            if (nt == 1) {
                r1 = ms_malloc(b.m, sizeof(double));
                memcpy(r1, b.r, b.m * sizeof(double));
            } else {
                assert_memory_equal(r1, b.r, b.m * sizeof(double));
            }
            /* The jumps: with a factor two solves old, then one solve old. */
            b.bl.lambda = 1e-8;
            for (int j = 0; j < 2; j++) {
                random_thetas(b.th, b.m, b.d, &s);
                bfix_solve(&b, nt);
                assert_int_equal(b.bl.cg_iters, 0);
                assert_int_equal(b.bl.cg_rest, j ? 16 : 0);
                direct_solve_at(&b, b.th, 1e-8, single, rd, nt);
                assert_memory_equal(rd, b.r, b.m * sizeof(double));
            }
            for (int k = 0; k < 16; k++)
                bfix_solve(&b, nt);
            assert_int_equal(b.bl.cg_rest, 0);
            assert_int_equal(b.bl.cg_iters, 0);
            ms_free(c);
            ms_free(rd);
            bfix_free(&b);
        }
        ms_free(r1);
    }
}

/* Bilevel through the kind on a teacher task: the inner residual streamed
 * is at round-off, the objective decreases, annealing ends the run with
 * converged = true once τ < τ_min. */
static void bilevel_kind_runs_and_anneals(void **st) {
    (void)st;
    nets_2l_params p;
    ms_params_defaults(&nets__2l_fields, &p);
    p.task = NETS_TASK_NEURON;
    p.d = 5;
    p.n = 50;
    p.n_test = 100;
    p.m = 64;
    p.method = M_MFLD_BILEVEL;
    p.lambda = 1e-2;
    p.step = 0.5;
    p.tau = 1e-3;
    p.anneal = NETS_ANNEAL_GEOMETRIC;
    p.anneal_stage_iters = 50;
    p.tau_min = 1e-5;
    p.max_iter = 5000;
    p.stream_every = 1;
    p.heavy_every = 50;
    ms_progress last;
    ms_value *v = nt_run(&nets_two_layer, &p, 1, &last, NULL, NULL);
    assert_true(ms_value_get(v, "converged") && ms_value_num(ms_value_get(v, "converged")) == 1);
    /* Stages τ = 1e-3 · 2^-k for k = 0..6 (7 stages of 50) then τ < 1e-5. */
    assert_int_equal((size_t)ms_value_getnum(v, "iterations"), 7 * 50 + 1);
    assert_true(ms_progress_get(&last, "inner_residual") < 1e-10);
    size_t n;
    const double *obj = nt_vec(v, "history/objective", &n);
    assert_true(obj[n - 1] < 0.5 * obj[0]);
    assert_true(isfinite(ms_progress_get(&last, "entropy")));
    assert_true(isfinite(ms_progress_get(&last, "free_energy")));
    assert_true(ms_progress_get(&last, "certificate") >= 1.0 - 1e-12);
    ms_value_free(v);
    ms_params_free(&nets__2l_fields, &p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lifting_gaussian_stationary_variance),
        cmocka_unit_test(zero_drift_increment_variance),
        cmocka_unit_test(sphere_noise_reaches_uniform_moments),
        cmocka_unit_test(entropy_estimate_matches_closed_forms),
        cmocka_unit_test(annealing_schedules),
        cmocka_unit_test(bilevel_inner_solve_and_outer_drift),
        cmocka_unit_test(bilevel_large_systems_blocked_cholesky),
        cmocka_unit_test(bilevel_cg_warm_solves_match_direct),
        cmocka_unit_test(bilevel_kind_runs_and_anneals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
