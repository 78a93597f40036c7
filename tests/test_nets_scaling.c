/* test_nets_scaling.c — the scaling path / lazy regime against the oracles
 * of mean-field.md §10: lazy limit (10: displacement ∝ 1/α and distance to the
 * kernel interpolant ∝ 1/α in output scale), the exact equivalence of init
 * scale α and output scale α² (spec §5), and the rich side (small α moves
 * the parameters by O(1) and the kernel a lot). */
#include "nets_testlib.h"

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
    ms_params_free(&nets__scaling_fields, &p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_limit),
        cmocka_unit_test(init_scale_is_output_scale_squared),
        cmocka_unit_test(small_init_scale_is_rich),
        cmocka_unit_test(bad_params_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
