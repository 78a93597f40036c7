/* test_games_minmax.c — gradient methods on min-max games against exact
 * per-step factors (bilinear game) and the local diagnostics against the
 * spectra quoted in games.md §8 (quadratic_minmax, [P2]). */
#include "test_util.h"

#include <string.h>

#include "games_diag.h"
#include "games_minmax_internal.h"
#include "kind_harness.h"
#define MS_FAULT_INJECTION 1 /* the tests link the fault-injecting allocator */
#include "ms_alloc.h"

extern const ms_kind games_minmax_kind;

typedef games_minmax_params mm_params;

static void defaults(mm_params *P, const char *payoff, const double *z0, size_t d, size_t e) {
    assert_int_equal(games_minmax_kind.params->size, sizeof(mm_params));
    ms_params_defaults(games_minmax_kind.params, P);
    if (payoff)
        P->payoff = ms_strdup(payoff);
    ms_vec_alloc(&P->x0, d);
    ms_vec_alloc(&P->y0, e);
    memcpy(P->x0.v, z0, d * sizeof(double));
    memcpy(P->y0.v, z0 + d, e * sizeof(double));
}

static ms_value *run(mm_params *P) {
    ms_err err;
    harness_opts o = {.threads = 1};
    ms_value *r = harness_run(&games_minmax_kind, P, &o, &err);
    if (!r)
        print_error("%s: %s\n", err.field, err.msg);
    assert_non_null(r);
    return r;
}

static double znorm(const ms_value *r) {
    size_t a, b, c, d;
    const double *x = ms_value_data(ms_value_get(r, "x"), &a, &b);
    const double *y = ms_value_data(ms_value_get(r, "y"), &c, &d);
    double s = 0;
    for (size_t k = 0; k < a * b; k++)
        s += x[k] * x[k];
    for (size_t k = 0; k < c * d; k++)
        s += y[k] * y[k];
    return sqrt(s);
}

static double method_radius(const ms_value *r, const char *method, double eta) {
    const ms_value *m = ms_value_get(ms_value_get(r, "diagnostics"), "methods");
    for (const ms_value *o = ms_value_child(m); o; o = ms_value_next(o))
        if (!strcmp(ms_value_str(ms_value_get(o, "method")), method) &&
            ms_value_getnum(o, "eta") == eta)
            return ms_value_getnum(o, "spectral_radius");
    fail();
    return NAN;
}

/* f = x·y: ‖z_k‖ = c^k ‖z_0‖ exactly, GDA c = √(1+η²), PP c = 1/√(1+η²),
 * EG c = √(1−η²+η⁴) (§8, derived); the diagnostics predict the same c. */
static void minmax_bilinear_exact_factors(void **st) {
    (void)st;
    const double z0[2] = {1.3, -0.4}, eta = 0.15;
    const double n0 = hypot(z0[0], z0[1]);
    const int methods[3] = {0, 2, 4}; /* gda, extragradient, proximal_point */
    const char *names[3] = {"gda", "extragradient", "proximal_point"};
    const double c[3] = {sqrt(1 + eta * eta), sqrt(1 - eta * eta + eta * eta * eta * eta),
                         1 / sqrt(1 + eta * eta)};
    for (int k = 0; k < 3; k++) {
        mm_params P;
        defaults(&P, "x1*y1", z0, 1, 1);
        P.method = methods[k];
        P.eta = eta;
        P.max_iter = 40;
        P.tol = 0;
        ms_value *r = run(&P);
        double want = n0 * pow(c[k], 40);
        print_message("%s: |z_40| %.15g, exact %.15g\n", names[k], znorm(r), want);
        assert_close(znorm(r), want, 1e-11, 0);
        assert_close(method_radius(r, names[k], eta), c[k], 1e-9, 0);
        assert_close(ms_value_getnum(r, "observed_factor"), c[k], 1e-9, 0);
        ms_value_free(r);
        ms_params_free(games_minmax_kind.params, &P);
    }
}

static ms_value *quadratic_run(double theta, double s, int method, double eta, size_t T,
                               const double *etas, size_t ne) {
    const double z0[4] = {0.3, -0.2, 0.5, 0.1};
    mm_params P;
    defaults(&P, NULL, z0, 2, 2);
    P.quadratic.present = 1;
    ms_mat_alloc(&P.quadratic.P, 2, 2);
    ms_mat_alloc(&P.quadratic.B, 2, 2);
    ms_mat_alloc(&P.quadratic.Q, 2, 2);
    P.quadratic.P.v[0] = s;
    /* B = R(θ) diag(1, 2). */
    double cth = cos(theta), sth = sin(theta);
    P.quadratic.B.v[0] = cth;
    P.quadratic.B.v[1] = -2 * sth;
    P.quadratic.B.v[2] = sth;
    P.quadratic.B.v[3] = 2 * cth;
    if (etas) {
        ms_vec_alloc(&P.etas, ne);
        memcpy(P.etas.v, etas, ne * sizeof(double));
    }
    P.method = method;
    P.eta = eta;
    P.max_iter = (long long)T;
    P.tol = 0;
    ms_value *r = run(&P);
    ms_params_free(games_minmax_kind.params, &P);
    return r;
}

static void eig_pairs(const ms_value *r, double *re, double *im) {
    const ms_value *D = ms_value_get(r, "diagnostics");
    size_t a, b;
    memcpy(re, ms_value_data(ms_value_get(D, "eig_J_re"), &a, &b), 4 * sizeof(double));
    memcpy(im, ms_value_data(ms_value_get(D, "eig_J_im"), &a, &b), 4 * sizeof(double));
}

/* §8 quadratic_minmax: P = diag(s, 0), Q = 0, B = R(θ)diag(1, 2). */
static void minmax_quadratic_partial_curvature(void **st) {
    (void)st;
    double re[4], im[4];
    const double etas[3] = {0.02, 0.05, 0.1};
    /* θ = 0, s = 0.2: eig(J) = 0.1 ± 0.995i, ±2i; the ±2i eigenvectors of A
     * lie in ker S (not in general position): min Re λ = 0. */
    ms_value *r = quadratic_run(0, 0.2, 2, 0.1, 200, etas, 3);
    eig_pairs(r, re, im);
    assert_close(re[0], 0, 0, 1e-8);
    assert_close(re[1], 0, 0, 1e-8);
    assert_close(fabs(im[0]), 2, 0, 1e-8);
    assert_close(re[2], 0.1, 0, 1e-8);
    assert_close(fabs(im[2]), sqrt(1 - 0.01), 0, 1e-8);
    const ms_value *D = ms_value_get(r, "diagnostics");
    assert_close(ms_value_getnum(D, "mean_eig_S"), 0.05, 0, 1e-9);
    assert_close(ms_value_getnum(D, "general_position"), 0, 0, 1e-8);
    assert_int_equal(ms_value_num(ms_value_get(D, "is_local_nash")), 1);
    /* GDA diverges at every step size (|1 − 2iη| > 1); EG and PP contract,
     * but only at 1 − O(η²) along the ±2i directions. */
    for (int k = 0; k < 3; k++) {
        assert_true(method_radius(r, "gda", etas[k]) > 1);
        double eg = method_radius(r, "extragradient", etas[k]);
        double pp = method_radius(r, "proximal_point", etas[k]);
        assert_true(eg < 1 && pp < 1);
        /* PP: max over λ of 1/|1 + ηλ|; on λ = 2i it is 1 − 2η² + O(η⁴). */
        double h = etas[k], w = sqrt(1 - 0.01);
        double want = fmax(1 / sqrt(1 + 4 * h * h), 1 / hypot(1 + 0.1 * h, w * h));
        assert_close(pp, want, 1e-8, 0);
    }
    ms_value_free(r);
    /* θ = π/4: generic position; every Re λ ≈ tr(S)/dim = 0.05 (spec:
     * 0.0498 ± 1.996i, 0.0502 ± 1.0004i). */
    r = quadratic_run(M_PI / 4, 0.2, 2, 0.1, 400, etas, 3);
    eig_pairs(r, re, im);
    print_message("theta pi/4: %.4f±%.4fi, %.4f±%.4fi\n", re[0], fabs(im[0]), re[2], fabs(im[2]));
    assert_close(re[0], 0.0498, 0, 1e-4);
    assert_close(re[2], 0.0502, 0, 1e-4);
    assert_close(fabs(im[0]), 1.996, 0, 1e-3);
    assert_close(fabs(im[2]), 1.0004, 0, 1e-4);
    D = ms_value_get(r, "diagnostics");
    assert_close(ms_value_getnum(D, "min_re_eig_J"), 0.0498, 0, 1e-4);
    assert_true(ms_value_getnum(D, "general_position") > 0.01);
    /* GDA converges only for η < 2 Re λ/|λ|² ≈ 0.025. */
    assert_true(method_radius(r, "gda", 0.02) < 1);
    assert_true(method_radius(r, "gda", 0.05) > 1);
    /* EG's observed per-step factor on this linear game is its predicted
     * spectral radius. */
    double obs = ms_value_getnum(r, "observed_factor");
    double pred = method_radius(r, "extragradient", 0.1);
    print_message("EG at eta 0.1: observed %.8f predicted %.8f\n", obs, pred);
    assert_close(obs, pred, 1e-3, 0);
    ms_value_free(r);
}

/* OGDA and alternating GDA: the map the diagnostics predict is the one the
 * iteration applies (observed factor = spectral radius). */
static void minmax_ogda_and_alternating_match_prediction(void **st) {
    (void)st;
    const int methods[2] = {3, 1};
    const char *names[2] = {"ogda", "alt_gda"};
    for (int k = 0; k < 2; k++) {
        ms_value *r = quadratic_run(M_PI / 4, 0.2, methods[k], 0.02, 3000, NULL, 0);
        double obs = ms_value_getnum(r, "observed_factor");
        double pred = method_radius(r, names[k], 0.02);
        print_message("%s: observed %.8f predicted %.8f\n", names[k], obs, pred);
        assert_true(pred < 1);
        assert_close(obs, pred, 2e-4, 0);
        ms_value_free(r);
    }
}

static void minmax_jacobian_of_an_expression(void **st) {
    (void)st;
    /* f = x² + xy − y²: v = (2x + y, −x + 2y), J = [[2, 1], [−1, 2]], a
     * strict local Nash point at 0 with eigenvalues 2 ± i. */
    const double z0[2] = {0.7, -0.3};
    mm_params P;
    defaults(&P, "x1^2 + x1*y1 - y1^2", z0, 1, 1);
    P.eta = 0.2;
    P.max_iter = 1000;
    ms_value *r = run(&P);
    assert_int_equal(ms_value_num(ms_value_get(r, "converged")), 1);
    const ms_value *D = ms_value_get(r, "diagnostics");
    size_t a, b;
    const double *J = ms_value_data(ms_value_get(D, "jacobian"), &a, &b);
    const double want[4] = {2, 1, -1, 2};
    for (int k = 0; k < 4; k++)
        assert_close(J[k], want[k], 0, 1e-8);
    assert_close(ms_value_getnum(D, "min_re_eig_J"), 2, 0, 1e-8);
    assert_int_equal(ms_value_num(ms_value_get(D, "is_local_nash")), 1);
    ms_value_free(r);
    ms_params_free(games_minmax_kind.params, &P);
}

static void minmax_rejects_bad_input(void **st) {
    (void)st;
    const double z0[2] = {1, 2};
    mm_params P;
    ms_errlist errs;
    defaults(&P, "x1*y1 + (", z0, 1, 1);
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(&games_minmax_kind, &P, &errs), MS_EINVAL);
    assert_string_equal(errs.e[0].field, "payoff");
    assert_non_null(strstr(errs.e[0].msg, "at position 9"));
    ms_params_free(games_minmax_kind.params, &P);

    defaults(&P, "x1*y1", z0, 1, 1);
    P.quadratic.present = 1;
    ms_mat_alloc(&P.quadratic.P, 1, 1);
    ms_mat_alloc(&P.quadratic.B, 1, 1);
    ms_mat_alloc(&P.quadratic.Q, 1, 1);
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(&games_minmax_kind, &P, &errs), MS_EINVAL);
    assert_string_equal(errs.e[0].field, "payoff");
    ms_free(P.payoff);
    P.payoff = NULL;
    ms_free(P.quadratic.B.v);
    ms_mat_alloc(&P.quadratic.B, 2, 1);
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(&games_minmax_kind, &P, &errs), MS_EINVAL);
    assert_string_equal(errs.e[0].field, "quadratic/B");
    ms_params_free(games_minmax_kind.params, &P);

    /* Divergence is a result, not an error: GDA on x·y with a big step. The
     * diagnostics can still be taken at the known solution z* = 0. */
    defaults(&P, "x1*y1", z0, 1, 1);
    P.method = 0;
    P.eta = 2;
    P.max_iter = 1000;
    P.diagnose_at = 1;
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(&games_minmax_kind, &P, &errs), MS_EINVAL);
    assert_string_equal(errs.e[0].field, "reference");
    ms_vec_alloc(&P.reference, 2);
    ms_value *r = run(&P);
    assert_int_equal(ms_value_num(ms_value_get(r, "diverged")), 1);
    assert_int_equal(ms_value_num(ms_value_get(r, "converged")), 0);
    assert_close(method_radius(r, "gda", 2), sqrt(5), 1e-9, 0); /* |1 ± 2i| */
    ms_value_free(r);
    ms_params_free(games_minmax_kind.params, &P);

    /* A domain error during the run is MS_ENUMERIC naming the iteration. */
    defaults(&P, "log(x1) * y1", z0, 1, 1);
    P.method = 0;
    P.eta = 1;
    ms_err err;
    harness_opts o = {.threads = 1};
    assert_null(harness_run(&games_minmax_kind, &P, &o, &err));
    assert_int_equal(err.code, MS_ENUMERIC);
    assert_non_null(strstr(err.msg, "iteration"));
    ms_params_free(games_minmax_kind.params, &P);
}

static void set_box(games_space_params *sp, double lo, double hi) {
    sp->present = 1;
    sp->type = GAMES_BOX;
    ms_vec_alloc(&sp->low, 1);
    ms_vec_alloc(&sp->high, 1);
    sp->low.v[0] = lo;
    sp->high.v[0] = hi;
}

static double coord(const ms_value *r, const char *who, size_t k) {
    size_t a, b;
    return ms_value_data(ms_value_get(r, who), &a, &b)[k];
}

/* Runs every method on P (domains set) from its x0, y0 with η = 0.1 to the
 * residual 1e-11 and checks the final point against z* (x then y) and ‖v‖
 * there; then runs 1..25 iterations and checks that each final iterate is
 * `inside` the domain (the invariant). Frees P. */
static void projected_runs(mm_params *P, const double *zstar, double vstar,
                           int (*inside)(const ms_value *r)) {
    size_t d = P->x0.n, e = P->y0.n;
    for (int m = 0; m <= GAMES_M_PROXIMAL_POINT; m++) {
        P->method = m;
        P->eta = 0.1;
        P->max_iter = 3000;
        P->tol = 1e-11;
        P->diagnostics = 0;
        ms_value *r = run(P);
        print_message("%s: x1 %.15f y1 %.15f f %.15f |v| %.9g residual %.3g iterations %g\n",
                      games_method_names[m], coord(r, "x", 0), coord(r, "y", 0),
                      ms_value_getnum(r, "f"), ms_value_getnum(r, "grad_norm"),
                      ms_value_getnum(r, "residual"), ms_value_getnum(r, "iterations"));
        assert_int_equal(ms_value_num(ms_value_get(r, "converged")), 1);
        for (size_t k = 0; k < d + e; k++)
            assert_close(coord(r, k < d ? "x" : "y", k < d ? k : k - d), zstar[k], 0, 1e-9);
        assert_close(ms_value_getnum(r, "grad_norm"), vstar, 0, 1e-8);
        ms_value_free(r);
        for (long long k = 1; k <= 25; k++) {
            P->max_iter = k;
            r = run(P);
            assert_true(inside(r));
            ms_value_free(r);
        }
    }
    ms_params_free(games_minmax_kind.params, P);
}

static int in_box(const ms_value *r) {
    double x = coord(r, "x", 0);
    return x >= -1 && x <= 1;
}

static int in_ball(const ms_value *r) {
    double y1 = coord(r, "y", 0), y2 = coord(r, "y", 1);
    return y1 * y1 + y2 * y2 <= 1 + 1e-14;
}

/* Projection on a box (§7.1's Π). f = ½x² − ½y² + xy − 4x, x ∈ [−1, 1],
 * y ∈ R. Unconstrained saddle: ∂ₓf = x + y − 4 = 0, ∂ᵧf = x − y = 0, so
 * (2, 2), outside the box. Constrained: y's best response to x is y = x,
 * so x minimises max_y f = x² − 4x over [−1, 1], decreasing there: x = 1,
 * y = 1. KKT: x at its upper bound needs ∂ₓf = 1 + 1 − 4 = −2 ≤ 0 (true)
 * and y interior needs ∂ᵧf = 0 (true); f* = ½ − ½ + 1 − 4 = −3 and
 * ‖v(z*)‖ = |∂ₓf| = 2 while the natural residual is 0. From x0 = 3
 * (projected to 1 first), y0 = −2, every method converges (J = [[1, 1],
 * [−1, 1]], eigenvalues 1 ± i: strongly monotone). */
static void minmax_projected_box_saddle(void **st) {
    (void)st;
    const double z0[2] = {3, -2}, zstar[2] = {1, 1};
    mm_params P;
    defaults(&P, "0.5*x1^2 - 0.5*y1^2 + x1*y1 - 4*x1", z0, 1, 1);
    set_box(&P.x_domain, -1, 1);
    projected_runs(&P, zstar, 2, in_box);
    /* f at the saddle. */
    defaults(&P, "0.5*x1^2 - 0.5*y1^2 + x1*y1 - 4*x1", z0, 1, 1);
    set_box(&P.x_domain, -1, 1);
    P.diagnostics = 0;
    ms_value *r = run(&P);
    assert_close(ms_value_getnum(r, "f"), -3, 0, 1e-9);
    ms_value_free(r);
    ms_params_free(games_minmax_kind.params, &P);
}

/* Projection on a ball: f = ½(x − 1)² + 3y₁ + 4y₂ − 0.05‖y‖², ‖y‖ ≤ 1.
 * For ‖y‖ = ρ the y-terms are at most 5ρ − 0.05ρ² (direction (3, 4)/5),
 * increasing on [0, 1]: y* = (0.6, 0.8), x* = 1; v(z*) = (0, −2.94, −3.92),
 * ‖v‖ = 0.98 × 5 = 4.9. */
static void minmax_projected_ball_saddle(void **st) {
    (void)st;
    const double z0[3] = {0, -2, 0.5}, zstar[3] = {1, 0.6, 0.8};
    mm_params P;
    defaults(&P, "0.5*(x1 - 1)^2 + 3*y1 + 4*y2 - 0.05*(y1^2 + y2^2)", z0, 1, 2);
    P.y_domain.present = 1;
    P.y_domain.type = GAMES_BALL;
    P.y_domain.radius = 1;
    projected_runs(&P, zstar, 4.9, in_ball);
}

static void expect_invalid(mm_params *P, const char *field, const char *words) {
    harness_expect_invalid(&games_minmax_kind, P, field, words);
}

static void minmax_rejects_bad_domains(void **st) {
    (void)st;
    const double z0[3] = {1, 2, 3};
    mm_params P;
    defaults(&P, "x1*y1", z0, 1, 2);
    set_box(&P.x_domain, -1, 1);
    ms_free(P.x_domain.low.v);
    ms_vec_alloc(&P.x_domain.low, 2);
    P.x_domain.high.n = 2; /* lengths agree with each other, not with x0 */
    ms_free(P.x_domain.high.v);
    ms_vec_alloc(&P.x_domain.high, 2);
    expect_invalid(&P, "x_domain/low", "has 2 entries, the variable has 1");

    defaults(&P, "x1*y1", z0, 1, 2);
    set_box(&P.x_domain, 1, 1);
    expect_invalid(&P, "x_domain/high/0", "must be > low");

    defaults(&P, "x1*y1", z0, 1, 2);
    P.y_domain.present = 1;
    P.y_domain.type = GAMES_BALL;
    P.y_domain.radius = 0;
    expect_invalid(&P, "y_domain/radius", "");

    defaults(&P, "x1*y1", z0, 1, 2);
    P.y_domain.present = 1;
    P.y_domain.type = GAMES_BALL;
    P.y_domain.dim = 3;
    expect_invalid(&P, "y_domain/dim", "the variable has 2");

    defaults(&P, "x1*y1", z0, 1, 2);
    P.x_domain.present = 1;
    P.x_domain.type = GAMES_SPHERE;
    expect_invalid(&P, "x_domain/dim", "sphere needs dim >= 2");

    defaults(&P, "x1*y1", z0, 1, 2);
    set_box(&P.x_domain, -1, 1);
    P.x_domain.type = GAMES_EUCLIDEAN;
    expect_invalid(&P, "x_domain/type", "omit");
}

/* Admission (games.md §2): x1*y1 is a tape of 3 entries (x1, y1, *) and
 * d + e + 1 = 3, so one evaluation costs 9 units. Extragradient: 2
 * evaluations per iteration, 1 at the start, 2(d + e) = 4 for the
 * diagnostics' central differences: 1000 iterations → 9 × 2005 = 18045.
 * Proximal point, pp_max_inner 100, 10 iterations: 9 × (1 + 101 × 10 + 4)
 * = 9135. A budget equal to the estimate passes, one unit less fails at
 * max_iter; the quadratic payoff is not an expression (no budget). */
static void minmax_expression_budget(void **st) {
    (void)st;
    const double z0[2] = {1, 2};
    const int methods[2] = {GAMES_M_EXTRAGRADIENT, GAMES_M_PROXIMAL_POINT};
    const long long iters[2] = {1000, 10};
    const double work[2] = {9.0 * 2005, 9.0 * 1015};
    for (int k = 0; k < 2; k++)
        for (int over = 0; over < 2; over++) {
            mm_params P;
            defaults(&P, "x1*y1", z0, 1, 1);
            P.method = methods[k];
            P.max_iter = iters[k];
            P.expr_budget = over ? work[k] - 1 : work[k];
            if (over) {
                expect_invalid(&P, "max_iter", "exceeds expr_budget");
                continue;
            }
            ms_errlist errs;
            ms_errlist_clear(&errs);
            assert_int_equal(ms_kind_validate(&games_minmax_kind, &P, &errs), MS_OK);
            ms_params_free(games_minmax_kind.params, &P);
        }
    mm_params P;
    defaults(&P, NULL, z0, 1, 1);
    P.quadratic.present = 1;
    ms_mat_alloc(&P.quadratic.P, 1, 1);
    ms_mat_alloc(&P.quadratic.B, 1, 1);
    ms_mat_alloc(&P.quadratic.Q, 1, 1);
    P.expr_budget = 1;
    ms_errlist errs;
    ms_errlist_clear(&errs);
    assert_int_equal(ms_kind_validate(&games_minmax_kind, &P, &errs), MS_OK);
    ms_params_free(games_minmax_kind.params, &P);
}

static void minmax_survives_allocation_failures(void **st) {
    (void)st;
    const double z0[2] = {1, 2};
    mm_params P;
    defaults(&P, "x1*y1 + 0.1*x1^2", z0, 1, 1);
    P.max_iter = 5;
    harness_alloc_failures(&games_minmax_kind, &P, 300);
    ms_params_free(games_minmax_kind.params, &P);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minmax_bilinear_exact_factors),
        cmocka_unit_test(minmax_quadratic_partial_curvature),
        cmocka_unit_test(minmax_ogda_and_alternating_match_prediction),
        cmocka_unit_test(minmax_jacobian_of_an_expression),
        cmocka_unit_test(minmax_rejects_bad_input),
        cmocka_unit_test(minmax_projected_box_saddle),
        cmocka_unit_test(minmax_projected_ball_saddle),
        cmocka_unit_test(minmax_rejects_bad_domains),
        cmocka_unit_test(minmax_expression_budget),
        cmocka_unit_test(minmax_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
