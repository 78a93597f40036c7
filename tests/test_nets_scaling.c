/* test_nets_scaling.c — the scaling path / lazy regime against the oracles
 * of mean-field.md §10: lazy limit (10: displacement ∝ 1/α and distance to the
 * kernel interpolant ∝ 1/α in output scale), the exact equivalence of init
 * scale α and output scale α² (spec §5), and the rich side (small α moves
 * the parameters by O(1) and the kernel a lot). */
#include "nets_testlib.h"

#include "nets_internal.h"

extern const ms_kind nets_scaling_path;
extern const ms_fields nets__scaling_fields;

#ifndef LAZY_ITERS
#define LAZY_ITERS 5000
#endif
#ifndef LAZY_STEP
#define LAZY_STEP 0.5
#endif

typedef struct {
    unsigned char raw[512];
} spp;

static void *fld(spp *p, const char *name) {
    const ms_field *f = ms_fields_find(&nets__scaling_fields, name);
    assert_non_null(f);
    return p->raw + f->offset;
}
#define SETI(p, name, v) (*(long long *)fld(p, name) = (v))
#define SETD(p, name, v) (*(double *)fld(p, name) = (v))
#define SETE(p, name, v) (*(int *)fld(p, name) = (v))

static void base(spp *p, const double *alphas, size_t na) {
    assert_true(nets__scaling_fields.size <= sizeof p->raw);
    ms_params_defaults(&nets__scaling_fields, p);
    SETI(p, "n", 6);
    SETI(p, "m", 100);
    SETI(p, "grid", 41);
    SETI(p, "seed", 5);
    nt_set_vec(fld(p, "alphas"), alphas, na);
}

static double max_diff(const double *a, const double *b, size_t n) {
    double mx = 0;
    for (size_t k = 0; k < n; k++)
        mx = fabs(a[k] - b[k]) > mx ? fabs(a[k] - b[k]) : mx;
    return mx;
}

/* Oracle 10 (output scale, [COB19]): for α ∈ {10, 100} the parameters move
 * ∝ 1/α (ratio ≈ 10 ± 30%) and the predictor approaches the kernel dynamics
 * like 1/α. The spec compares end points with the kernel interpolant; on
 * this instance kernel GD needs far more than 5·10^4 steps to interpolate
 * (train loss still 3e-5: K(X,X) is ill-conditioned), so the comparison is
 * made step for step with the linearised dynamics run for the same number
 * of steps, which is the same statement at finite time. The activation is
 * tanh: with ReLU a neuron whose kink sits within O(1/α) of an evaluation
 * point adds an error O(1/m) that does not shrink with α until α exceeds
 * 1/|w·x| (seen here: x = 0 kept 8e-4 at α = 1e3); the lazy theory assumes
 * a smooth model. */
static void lazy_limit(void **st) {
    (void)st;
    const double al[2] = {10, 100};
    spp p;
    base(&p, al, 2);
    SETE(&p, "scale_mode", 1);
    SETE(&p, "activation", 1); /* tanh, see below */
    SETD(&p, "loss_tol", 1e-12);
    SETI(&p, "max_iter", LAZY_ITERS);
    SETD(&p, "step", LAZY_STEP);
    ms_value *v = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    size_t n, rows, cols;

    const double *disp = nt_vec(v, "rel_displacement", &n);
    const double *f = nt_data(v, "f", &rows, &cols);
    const double *fk = nt_data(v, "f_kernel_gd", &rows, &cols);
    double e10 = max_diff(f, fk, cols), e100 = max_diff(f + cols, fk + cols, cols);
    assert_true(disp[0] / disp[1] > 10 / 1.3 && disp[0] / disp[1] < 10 * 1.3);
    assert_true(e10 / e100 > 10 / 1.3 && e10 / e100 < 10 * 1.3);
    ms_value_free(v);
    ms_params_free(&nets__scaling_fields, &p);
}

/* Spec §5: by 2-homogeneity, init scale α with step η·α^-2 is output scale
 * α² with step η, step for step: the predictors agree to round-off. */
static void init_scale_is_output_scale_squared(void **st) {
    (void)st;
    const double ai[1] = {sqrt(10.0)}, ao[1] = {10.0};
    spp p, q;
    base(&p, ai, 1);
    base(&q, ao, 1);
    SETE(&q, "scale_mode", 1);
    SETI(&p, "max_iter", 300);
    SETI(&q, "max_iter", 300);
    ms_value *vp = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    ms_value *vq = nt_run(&nets_scaling_path, &q, 1, NULL, NULL, NULL);
    size_t r1, c1, r2, c2;
    const double *fp = nt_data(vp, "f", &r1, &c1), *fq = nt_data(vq, "f", &r2, &c2);
    assert_int_equal(c1, c2);
    for (size_t k = 0; k < c1; k++)
        assert_close(fp[k], fq[k], 1e-10, 1e-12);
    assert_close(ms_value_getnum(vp, "iterations"), ms_value_getnum(vq, "iterations"), 0, 0);
    ms_value_free(vp);
    ms_value_free(vq);
    ms_params_free(&nets__scaling_fields, &p);
    ms_params_free(&nets__scaling_fields, &q);
}

/* The rich side: a small init scale moves the parameters by much more than
 * their size and changes the tangent kernel by O(1), a large one barely. */
static void small_init_scale_is_rich(void **st) {
    (void)st;
    const double al[2] = {0.05, 20};
    spp p;
    base(&p, al, 2);
    SETD(&p, "loss_tol", 1e-6);
    SETI(&p, "max_iter", 5000);
    ms_value *v = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    size_t n;
    const double *disp = nt_vec(v, "rel_displacement", &n);
    const double *kd = nt_vec(v, "kernel_drift", &n);
    assert_true(disp[0] > 1.0 && disp[1] < 0.05);
    assert_true(kd[0] > 0.5 && kd[1] < 0.05);
    ms_value_free(v);
    ms_params_free(&nets__scaling_fields, &p);
}

/* Oracle 1 for method (B): m ∂J/∂u by central differences (h = 1e-6) of
 * J(u) = (1/m) Σ|u_i − u0_i|² + L(f_u)/ρ equals the mean-field gradient G,
 * for ρ = 1 and ρ = 1e-6, fused ReLU (the kind's mode) and tanh. ReLU input
 * weights of a particle with |w_i·x_j| < 1e-3 are skipped (spec §10.1);
 * the draw leaves at least half the coordinates. Also: set_rho at the same
 * point gives the gradient a fresh eval and grad would. */
static void penalized_gradient_matches_finite_differences(void **st) {
    (void)st;
    const size_t n = 7, d = 2, m = 8, N = m * (1 + d);
    const double h = 1e-6;
    double x[7 * 2], y[7], u[8 * 3], u0[8 * 3], g1[8 * 3];
    uint64_t s = 42;
    for (size_t j = 0; j < n; j++) {
        x[j * d] = 2 * test_uniform(&s) - 1;
        x[j * d + 1] = 1.0;
        y[j] = 2 * test_uniform(&s) - 1;
    }
    for (size_t k = 0; k < N; k++) {
        u[k] = 2 * test_uniform(&s) - 1;
        u0[k] = u[k] + 0.3 * (2 * test_uniform(&s) - 1);
    }
    for (int act = 0; act < 2; act++)
        for (int r = 0; r < 2; r++) {
            const double rho = r ? 1e-6 : 1.0;
            nets_tl tl;
            nets_pen P;
            assert_int_equal(nets__tl_alloc(&tl, n, d, m, 0, !act), MS_OK);
            assert_int_equal(nets__pen_alloc(&P, n, m, d, 3), MS_OK);
            tl.act = act ? NETS_TANH : NETS_RELU;
            tl.loss = NETS_SQUARE;
            nets__tl_set_data(&tl, x, y, n);
            nets__pen_set_rho(&P, rho, u, u0);
            nets__pen_eval(&P, &tl, u, u0, 1);
            nets__pen_grad(&P, &tl, u, u0, 1);
            memcpy(g1, P.g, sizeof g1);
            size_t checked = 0;
            for (size_t k = 0; k < N; k++) {
                if (k >= m && !act) {
                    size_t i = (k - m) / d;
                    double mn = INFINITY;
                    for (size_t j = 0; j < n; j++)
                        mn = fmin(mn, fabs(u[m + i * d] * x[j * d] + u[m + i * d + 1]));
                    if (mn < 1e-3)
                        continue;
                }
                double uk = u[k];
                u[k] = uk + h;
                double jp = nets__pen_eval(&P, &tl, u, u0, 1);
                u[k] = uk - h;
                double jm = nets__pen_eval(&P, &tl, u, u0, 1);
                u[k] = uk;
                assert_close((double)m * (jp - jm) / (2 * h), g1[k], 1e-6, 1e-6 * P.gscale);
                checked++;
            }
            assert_true(checked >= N / 2);
            /* ρ changed at a fixed point: J and G rebuilt from the stored parts. */
            nets__pen_eval(&P, &tl, u, u0, 1);
            nets__pen_grad(&P, &tl, u, u0, 1);
            double J1 = P.obj;
            nets__pen_set_rho(&P, 10 * rho, u, u0);
            nets__pen_set_rho(&P, rho, u, u0);
            assert_close(P.obj, J1, 1e-15, 0);
            for (size_t k = 0; k < N; k++)
                assert_close(P.g[k], g1[k], 1e-12, 1e-12 * P.gscale);
            nets__pen_free(&P);
            nets__tl_free(&tl);
        }
}

static double sup_kernel(const ms_value *v, size_t row) {
    size_t r, c, r2, c2;
    const double *f = nt_data(v, "f", &r, &c), *fk = nt_data(v, "f_kernel", &r2, &c2);
    assert_true(row < r && c == c2);
    return max_diff(f + row * c, fk, c);
}

/* Method (B): every stage of the continuation ρ = 1e-2 → 1e-6 reaches the
 * relative gradient tolerance (the measure is the FD-checked gradient
 * above, kinks relaxed), within the budget, at a rich-ish and a lazy-ish
 * α. Calibration (seed 5, m = 100, n = 6): 5889 and 1329 iterations in
 * all at rho_end = 1e-4; 20000 were not enough at α = 1 for 1e-6, so the
 * tolerance test runs to 1e-4 and the interpolation test below at α = 10.
 * Also: the predictor interpolates better when ρ is smaller (the ρ → 0
 * limit is an interpolant): train loss 8.7e-5 → 1.0e-8 at α = 10 from
 * rho_end 1e-4 to 1e-6 (not the ρ² of a fixed multiplier: the local
 * minimum changes); frozen as loss < 1e-6 and a ratio above 100. */
static void penalized_stages_meet_tolerance_and_interpolate(void **st) {
    (void)st;
    const double al[2] = {1, 10}, al10[1] = {10};
    spp p;
    base(&p, al, 2);
    SETE(&p, "method", 1);
    SETD(&p, "rho_end", 1e-4);
    ms_value *v = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    size_t r, c, n;
    const double *sg = nt_data(v, "stage_rel_grad", &r, &c);
    assert_int_equal(r, 2);
    assert_int_equal(c, 3); /* 1e-2, 1e-3, 1e-4 */
    for (size_t k = 0; k < r * c; k++)
        assert_true(sg[k] <= 1e-5);
    assert_true(ms_value_getnum(v, "converged") == 1);
    const double *loss = nt_vec(v, "loss", &n);
    double loss_1e4 = loss[1];
    ms_value_free(v);
    ms_params_free(&nets__scaling_fields, &p);

    base(&p, al10, 1);
    SETE(&p, "method", 1);
    v = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    loss = nt_vec(v, "loss", &n);
    assert_true(ms_value_getnum(v, "converged") == 1);
    assert_true(loss[0] < 1e-6 && loss[0] < loss_1e4 / 100);
    ms_value_free(v);
    ms_params_free(&nets__scaling_fields, &p);
}

/* Method (B), the α → ∞ limit (spec §5, §6): the predictor tends to the
 * kernel interpolant of the tangent kernel at ū that the kind returns.
 * Calibration (seed 1, m = 100, n = 6, grid 41 in [-1.5, 1.5]): sup-norm
 * distance 0.72 at α = 10, 4.5e-6 at α = 1000 (whose stages do not reach
 * the tolerance in 2·10^4 iterations: the curvature grows like α²/ρ;
 * converged is false, the predictor is nevertheless there). Frozen as
 * > 0.1 and < 1e-4. */
static void penalized_large_alpha_is_the_kernel_interpolant(void **st) {
    (void)st;
    const double al[2] = {10, 1000};
    spp p;
    base(&p, al, 2);
    SETI(&p, "seed", 1);
    SETE(&p, "method", 1);
    ms_value *v = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    double s10 = sup_kernel(v, 0), s1000 = sup_kernel(v, 1);
    assert_true(s10 > 0.1);
    assert_true(s1000 < 1e-4);
    ms_value_free(v);
    ms_params_free(&nets__scaling_fields, &p);
}

/* (A) against (B) at moderate α, the paper's "alike" (spec §6). What is
 * checked: (B) minimises the transport cost among (near-)interpolants, so
 * its penalty does not exceed the cost (1/m)|u_A − α ū|² = α² disp_A² of
 * the GD end state (|ū_i| = 1), and both move the particles alike. The
 * predictors are alike, not equal: calibrated (seed 1, m = 100, n = 6,
 * both at train loss ~1e-8/1e-9): sup-norm distance on [-1, 1] 0.136 at
 * α = 1 and 0.226 at α = 3 for predictors of size 1.25 (penalties 17.95
 * vs 18.64 and 10.7 vs 11.35, displacements 4.24 vs 4.32, 1.09 vs 1.12).
 * Frozen: penalty_B <= 1.001 pen_A, displacements within 10%, sup on the
 * data range < 0.3. */
static void path_and_penalized_alike(void **st) {
    (void)st;
    const double al[2] = {1, 3};
    spp p, q;
    base(&p, al, 2);
    base(&q, al, 2);
    SETI(&p, "seed", 1);
    SETI(&q, "seed", 1);
    SETI(&p, "max_iter", 20000);
    SETE(&q, "method", 1);
    ms_value *va = nt_run(&nets_scaling_path, &p, 1, NULL, NULL, NULL);
    ms_value *vb = nt_run(&nets_scaling_path, &q, 1, NULL, NULL, NULL);
    size_t n, r, c;
    const double *la = nt_vec(va, "loss", &n), *lb = nt_vec(vb, "loss", &n);
    const double *da = nt_vec(va, "rel_displacement", &n);
    const double *db = nt_vec(vb, "rel_displacement", &n);
    const double *pb = nt_vec(vb, "penalty", &n);
    const double *fa = nt_data(va, "f", &r, &c), *fb = nt_data(vb, "f", &r, &c);
    const double *xe = nt_data(va, "x_eval", NULL, NULL);
    for (size_t k = 0; k < 2; k++) {
        assert_true(la[k] < 1e-7 && lb[k] < 1e-7);
        assert_true(pb[k] <= 1.001 * al[k] * al[k] * da[k] * da[k]);
        assert_true(fabs(da[k] - db[k]) < 0.1 * da[k]);
        double mx = 0;
        for (size_t j = 0; j < c; j++)
            if (fabs(xe[j]) <= 1)
                mx = fmax(mx, fabs(fa[k * c + j] - fb[k * c + j]));
        assert_true(mx < 0.3);
    }
    ms_value_free(va);
    ms_value_free(vb);
    ms_params_free(&nets__scaling_fields, &p);
    ms_params_free(&nets__scaling_fields, &q);
}

static void bad_params_name_the_field(void **st) {
    (void)st;
    const double al[1] = {1};
    spp p;
    base(&p, al, 1);
    SETI(&p, "m", 7);
    nt_expect_fail(&nets_scaling_path, &p, MS_EINVAL, "m");
    SETI(&p, "m", 8);
    ((ms_vec *)fld(&p, "alphas"))->v[0] = -1;
    nt_expect_fail(&nets_scaling_path, &p, MS_EINVAL, "alphas/0");
    ((ms_vec *)fld(&p, "alphas"))->v[0] = 1;
    SETE(&p, "method", 1);
    SETE(&p, "scale_mode", 1);
    nt_expect_fail(&nets_scaling_path, &p, MS_EINVAL, "scale_mode");
    SETE(&p, "scale_mode", 0);
    SETD(&p, "rho_end", 1.0);
    nt_expect_fail(&nets_scaling_path, &p, MS_EINVAL, "rho_end");
    SETD(&p, "rho_start", 1e300);
    SETD(&p, "rho_end", 1e-300);
    SETD(&p, "rho_factor", 0.9);
    nt_expect_fail(&nets_scaling_path, &p, MS_EINVAL, "rho_factor");
    ms_params_free(&nets__scaling_fields, &p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_limit),
        cmocka_unit_test(init_scale_is_output_scale_squared),
        cmocka_unit_test(small_init_scale_is_rich),
        cmocka_unit_test(penalized_gradient_matches_finite_differences),
        cmocka_unit_test(penalized_stages_meet_tolerance_and_interpolate),
        cmocka_unit_test(penalized_large_alpha_is_the_kernel_interpolant),
        cmocka_unit_test(path_and_penalized_alike),
        cmocka_unit_test(bad_params_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
