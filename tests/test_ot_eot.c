/* test_ot_eot.c — the `ot` kind against oracles: Dirac and Gaussian closed
 * forms, brute-force assignment as eps → 0, duality, marginals, Sinkhorn
 * divergence identities, invariances, unbalanced limits and closed forms,
 * thread invariance, cancellation, bad input and allocation failure. */
#include "test_util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kind_harness.h"
#include "ms_alloc.h"
#include "registry.h"

static const ms_kind *K;

static void *new_params(void) {
    return harness_params(K);
}
static void *field_ptr(void *p, const char *name) {
    return harness_field(K, p, name);
}
static void set_d(void *p, const char *name, double v) {
    harness_set_double(K, p, name, v);
}
static void set_i(void *p, const char *name, long long v) {
    harness_set_int(K, p, name, v);
}
static void set_b(void *p, const char *name, int v) {
    harness_set_bool(K, p, name, v);
}
static void set_measure(void *p, const char *name, const double *pts, size_t n, size_t d,
                        const double *w) {
    harness_set_measure(field_ptr(p, name), pts, n, d, w);
}
static void free_params(void *p) {
    harness_params_free(K, p);
}

static ms_value *run(void *p, int threads) {
    ms_err err;
    ms_err_clear(&err);
    harness_opts o = {.threads = threads};
    ms_value *v = harness_run(K, p, &o, &err);
    if (!v)
        print_error("run failed: %s (%s): %s\n", ms_status_name(err.code), err.field, err.msg);
    assert_non_null(v);
    return v;
}

static double getd(const ms_value *v, const char *key) {
    double x = ms_value_getnum(v, key);
    return x;
}

static int setup(void **st) {
    (void)st;
    K = ms_registry_find("ot");
    return K ? 0 : -1;
}

/* O3: EOT(δ_x, β) = Σ_j b_j |x - y_j|² for every eps (the plan is a⊗b). */
static void dirac_source_closed_form(void **st) {
    (void)st;
    double x[2] = {0.3, -1.2};
    double y[8] = {1, 2, -0.5, 0.25, 2.385, -1, 0, 0};
    double w[4] = {0.1, 0.2, 0.3, 0.4};
    double ref = 0;
    for (int j = 0; j < 4; j++)
        ref += w[j] * (pow(x[0] - y[2 * j], 2) + pow(x[1] - y[2 * j + 1], 2));
    const double eps[3] = {1e-3, 0.37, 50};
    for (int e = 0; e < 3; e++) {
        void *p = new_params();
        set_measure(p, "source", x, 1, 2, NULL);
        set_measure(p, "target", y, 4, 2, w);
        set_d(p, "epsilon", eps[e]);
        ms_value *v = run(p, 1);
        assert_close(getd(v, "objective"), ref, 1e-12, 0);
        assert_close(getd(v, "transport_cost"), ref, 1e-12, 0);
        assert_true(ms_value_num(ms_value_get(v, "converged")) == 1);
        ms_value_free(v);
        free_params(p);
    }
}

/* O1: 1-D Gaussians N(0,1) and N(1,0.25) at eps = 0.2 have
 * EOT = 1.515939637021242 (spec §6, job units). A fine grid of Gaussian
 * weights reproduces it to ~1e-10. */
static void gaussian_closed_form(void **st) {
    (void)st;
    enum { N = 1200 };
    double *x = malloc(N * sizeof *x), *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    double lo = -8, hi = 7;
    for (int i = 0; i < N; i++) {
        x[i] = lo + (hi - lo) * i / (N - 1);
        a[i] = exp(-0.5 * x[i] * x[i]);
        b[i] = exp(-0.5 * (x[i] - 1) * (x[i] - 1) / 0.25);
    }
    void *p = new_params();
    set_measure(p, "source", x, N, 1, a);
    set_measure(p, "target", x, N, 1, b);
    set_d(p, "epsilon", 0.2);
    set_d(p, "tol", 1e-12);
    ms_value *v = run(p, 2);
    assert_close(getd(v, "objective"), 1.515939637021242, 1e-9, 0);
    /* Primal = dual at convergence. */
    assert_close(getd(v, "dual_objective"), getd(v, "objective"), 1e-10, 0);
    ms_value_free(v);
    free_params(p);
    free(x);
    free(a);
    free(b);
}

/* Smallest assignment cost over all permutations (n ≤ 7). */
static double brute_force(const double *c, int n) {
    int perm[8], used[8] = {0};
    double best = INFINITY;
    /* Iterative DFS over permutations. */
    int depth = 0;
    perm[0] = -1;
    double partial[9] = {0};
    while (depth >= 0) {
        if (perm[depth] >= 0)
            used[perm[depth]] = 0;
        int next = perm[depth] + 1;
        while (next < n && used[next])
            next++;
        if (next >= n) {
            perm[depth] = -1;
            depth--;
            continue;
        }
        perm[depth] = next;
        used[next] = 1;
        partial[depth + 1] = partial[depth] + c[depth * n + next];
        if (depth + 1 == n) {
            if (partial[n] < best)
                best = partial[n];
        } else {
            depth++;
            perm[depth] = -1;
        }
    }
    return best / n;
}

/* eps → 0 with uniform weights: EOT → OT + eps·log n (the optimal plan is a
 * permutation with KL(π|a⊗b) = log n) up to exponentially small terms. */
static void brute_force_assignment_limit(void **st) {
    (void)st;
    uint64_t seed = 11;
    for (int trial = 0; trial < 6; trial++) {
        int n = 3 + trial % 5;
        double x[14], y[14], c[64];
        for (int i = 0; i < 2 * n; i++) {
            x[i] = test_uniform(&seed);
            y[i] = test_uniform(&seed);
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                c[i * n + j] = pow(x[2 * i] - y[2 * j], 2) + pow(x[2 * i + 1] - y[2 * j + 1], 2);
        double ot = brute_force(c, n);
        double eps = 1e-4;
        void *p = new_params();
        set_measure(p, "source", x, n, 2, NULL);
        set_measure(p, "target", y, n, 2, NULL);
        set_d(p, "epsilon", eps);
        ms_value *v = run(p, 1);
        if (fabs(getd(v, "objective") - (ot + eps * log(n))) > 1e-7)
            print_error("trial %d (seed 11): n=%d\n", trial, n);
        assert_close(getd(v, "objective"), ot + eps * log(n), 0, 1e-7);
        assert_close(getd(v, "transport_cost"), ot, 0, 1e-7);
        ms_value_free(v);
        /* The same through a cost matrix. */
        p = (free_params(p), new_params());
        set_measure(p, "source", NULL, n, 0, NULL);
        set_measure(p, "target", NULL, n, 0, NULL);
        ms_mat *cm = field_ptr(p, "cost_matrix");
        assert_int_equal(ms_mat_alloc(cm, n, n), MS_OK);
        memcpy(cm->v, c, n * n * sizeof(double));
        set_d(p, "epsilon", eps);
        v = run(p, 1);
        assert_close(getd(v, "objective"), ot + eps * log(n), 0, 1e-7);
        ms_value_free(v);
        free_params(p);
    }
}

static void random_cloud(double *x, size_t n, size_t d, uint64_t *seed, double scale,
                         double shift) {
    for (size_t i = 0; i < n * d; i++)
        x[i] = shift + scale * test_uniform(seed);
}

/* Plan marginals equal the inputs; the plan's own value equals objective. */
static void plan_marginals_and_value(void **st) {
    (void)st;
    enum { N = 37, M = 23, D = 3 };
    double x[N * D], y[M * D], a[N], b[M];
    uint64_t seed = 5;
    random_cloud(x, N, D, &seed, 1, 0);
    random_cloud(y, M, D, &seed, 1.5, 0.2);
    for (int i = 0; i < N; i++)
        a[i] = 0.1 + test_uniform(&seed);
    for (int j = 0; j < M; j++)
        b[j] = test_uniform(&seed) < 0.2 ? 0 : 0.1 + test_uniform(&seed); /* some zeros */
    void *p = new_params();
    set_measure(p, "source", x, N, D, a);
    set_measure(p, "target", y, M, D, b);
    set_d(p, "epsilon", 0.05);
    set_b(p, "return_plan", 1);
    ms_value *v = run(p, 1);
    size_t r, c;
    const double *P = ms_value_data(ms_value_get(v, "plan"), &r, &c);
    assert_non_null(P);
    assert_int_equal(r, N);
    assert_int_equal(c, M);
    double sa = 0, sb = 0;
    for (int i = 0; i < N; i++)
        sa += a[i];
    for (int j = 0; j < M; j++)
        sb += b[j];
    double err = 0, tc = 0, kl = 0;
    for (int i = 0; i < N; i++) {
        double row = 0;
        for (int j = 0; j < M; j++) {
            double pij = P[i * M + j], cij = 0;
            for (int k = 0; k < D; k++)
                cij += pow(x[i * D + k] - y[j * D + k], 2);
            row += pij;
            tc += pij * cij;
            if (pij > 0)
                kl += pij * log(pij / (a[i] / sa * b[j] / sb));
        }
        err += fabs(row - a[i] / sa);
    }
    for (int j = 0; j < M; j++) {
        double col = 0;
        for (int i = 0; i < N; i++)
            col += P[i * M + j];
        err += fabs(col - b[j] / sb);
        if (b[j] == 0)
            assert_true(col == 0);
    }
    assert_true(err < 1e-8);
    assert_close(getd(v, "transport_cost"), tc, 1e-10, 1e-14);
    assert_close(getd(v, "objective"), tc + 0.05 * kl, 1e-10, 1e-14);
    assert_close(getd(v, "dual_objective"), getd(v, "objective"), 1e-9, 1e-12);
    /* Potentials are gauge-centred: <a,f> = <b,g>. */
    const double *f = ms_value_data(ms_value_get(v, "f"), NULL, NULL);
    const double *g = ms_value_data(ms_value_get(v, "g"), NULL, NULL);
    double af = 0, bg = 0;
    for (int i = 0; i < N; i++)
        af += a[i] / sa * f[i];
    for (int j = 0; j < M; j++)
        bg += b[j] / sb * g[j];
    assert_close(af, bg, 1e-12, 1e-12);
    ms_value_free(v);
    free_params(p);
}

/* Permuting points changes nothing; a common translation changes nothing;
 * translating one side by t adds |t|² + 2<t, m_a - m_b> (spec O3). */
static void invariances(void **st) {
    (void)st;
    enum { N = 20, M = 15, D = 2 };
    double x[N * D], y[M * D], xp[N * D], yt[M * D], xs[N * D], ys[M * D];
    uint64_t seed = 9;
    random_cloud(x, N, D, &seed, 1, 0);
    random_cloud(y, M, D, &seed, 1, 0.5);
    for (int i = 0; i < N; i++) /* reversed order */
        memcpy(xp + i * D, x + (N - 1 - i) * D, D * sizeof(double));
    double t[2] = {2.385, -1.25};
    for (int i = 0; i < N * D; i++)
        xs[i] = x[i] + t[i % D];
    for (int j = 0; j < M * D; j++) {
        ys[j] = y[j] + t[j % D];
        yt[j] = y[j] + t[j % D];
    }
    double vals[4];
    const double *src[4] = {x, xp, xs, x};
    const double *dst[4] = {y, y, ys, yt};
    for (int k = 0; k < 4; k++) {
        void *p = new_params();
        set_measure(p, "source", src[k], N, D, NULL);
        set_measure(p, "target", dst[k], M, D, NULL);
        set_d(p, "epsilon", 0.02);
        set_d(p, "tol", 1e-12);
        ms_value *v = run(p, 1);
        vals[k] = getd(v, "objective");
        ms_value_free(v);
        free_params(p);
    }
    assert_close(vals[1], vals[0], 1e-11, 0);
    assert_close(vals[2], vals[0], 1e-11, 0);
    double ma[2] = {0}, mb[2] = {0};
    for (int i = 0; i < N; i++)
        for (int k = 0; k < D; k++)
            ma[k] += x[i * D + k] / N;
    for (int j = 0; j < M; j++)
        for (int k = 0; k < D; k++)
            mb[k] += y[j * D + k] / M;
    /* EOT(α, β + t) = EOT(α, β) + |t|² - 2<t, m_α - m_β>. */
    double shift =
        t[0] * t[0] + t[1] * t[1] - 2 * (t[0] * (ma[0] - mb[0]) + t[1] * (ma[1] - mb[1]));
    assert_close(vals[3], vals[0] + shift, 1e-11, 0);
}

/* Sinkhorn divergence: S(α,α) = 0 and S(α, α + t) = |t|² exactly (O2). */
static void divergence_identities(void **st) {
    (void)st;
    enum { N = 30, D = 2 };
    double x[N * D], xt[N * D], w[N];
    uint64_t seed = 21;
    random_cloud(x, N, D, &seed, 1, 0);
    for (int i = 0; i < N; i++)
        w[i] = 0.5 + test_uniform(&seed);
    double t[2] = {0.3, -0.7};
    for (int i = 0; i < N * D; i++)
        xt[i] = x[i] + t[i % D];
    const double eps[2] = {0.01, 1.0};
    for (int e = 0; e < 2; e++) {
        void *p = new_params();
        set_measure(p, "source", x, N, D, w);
        set_measure(p, "target", x, N, D, w);
        set_d(p, "epsilon", eps[e]);
        set_b(p, "debiased", 1);
        set_d(p, "tol", 1e-12);
        ms_value *v = run(p, 1);
        assert_close(getd(v, "divergence"), 0, 0, 1e-10);
        ms_value_free(v);
        set_measure(p, "target", xt, N, D, w);
        v = run(p, 1);
        assert_close(getd(v, "divergence"), t[0] * t[0] + t[1] * t[1], 1e-9, 1e-10);
        assert_true(getd(v, "divergence") >= 0);
        ms_value_free(v);
        free_params(p);
    }
}

/* Unbalanced between two Diracs: p minimises
 *   pC + eps(p log(p/(ma mb)) - p + ma mb) + rho Σ(p log(p/m) - p + m),
 * so log p = (eps log(ma mb) + rho log(ma mb) - C)/(eps + 2 rho). */
static void unbalanced_dirac_closed_form(void **st) {
    (void)st;
    double x[1] = {0.25}, y[1] = {1.5}, wa[1] = {2.0}, wb[1] = {0.7};
    double C = 1.25 * 1.25, eps = 0.3, rho = 0.8;
    double lp = ((eps + rho) * log(wa[0] * wb[0]) - C) / (eps + 2 * rho);
    double pp = exp(lp);
    double obj = pp * C + eps * (pp * log(pp / (wa[0] * wb[0])) - pp + wa[0] * wb[0]) +
                 rho * (pp * log(pp / wa[0]) - pp + wa[0]) +
                 rho * (pp * log(pp / wb[0]) - pp + wb[0]);
    void *p = new_params();
    set_measure(p, "source", x, 1, 1, wa);
    set_measure(p, "target", y, 1, 1, wb);
    set_d(p, "epsilon", eps);
    set_d(p, "unbalanced/rho", rho);
    set_d(p, "tol", 1e-13);
    ms_value *v = run(p, 1);
    assert_close(getd(v, "mass"), pp, 1e-10, 0);
    assert_close(getd(v, "objective"), obj, 1e-10, 0);
    assert_close(getd(v, "dual_objective"), obj, 1e-9, 0);
    ms_value_free(v);
    free_params(p);
}

/* rho → ∞ recovers balanced transport (probability measures). */
static void unbalanced_tends_to_balanced(void **st) {
    (void)st;
    enum { N = 12, M = 9, D = 2 };
    double x[N * D], y[M * D];
    uint64_t seed = 4;
    random_cloud(x, N, D, &seed, 1, 0);
    random_cloud(y, M, D, &seed, 1, 0.3);
    void *p = new_params();
    set_measure(p, "source", x, N, D, NULL);
    set_measure(p, "target", y, M, D, NULL);
    set_d(p, "epsilon", 0.1);
    ms_value *v = run(p, 1);
    double bal = getd(v, "objective");
    ms_value_free(v);
    double prev = INFINITY;
    const double rhos[3] = {10, 1e2, 1e4};
    for (int k = 0; k < 3; k++) {
        set_d(p, "unbalanced/rho", rhos[k]);
        v = run(p, 1);
        double gap = fabs(getd(v, "objective") - bal);
        assert_true(gap < prev);
        prev = gap;
        ms_value_free(v);
    }
    assert_true(prev < 1e-4);
    free_params(p);
}

/* The same bits whatever the thread count. */
static void thread_count_invariance(void **st) {
    (void)st;
    enum { N = 300, M = 250, D = 2 };
    double *x = malloc(N * D * sizeof *x), *y = malloc(M * D * sizeof *y);
    uint64_t seed = 8;
    random_cloud(x, N, D, &seed, 1, 0);
    random_cloud(y, M, D, &seed, 1, 0);
    void *p = new_params();
    set_measure(p, "source", x, N, D, NULL);
    set_measure(p, "target", y, M, D, NULL);
    set_d(p, "epsilon", 0.01);
    ms_value *v1 = run(p, 1), *v2 = run(p, 2);
    size_t n1, n2;
    const double *f1 = ms_value_data(ms_value_get(v1, "f"), NULL, &n1);
    const double *f2 = ms_value_data(ms_value_get(v2, "f"), NULL, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1 * sizeof(double));
    assert_true(getd(v1, "objective") == getd(v2, "objective"));
    ms_value_free(v1);
    ms_value_free(v2);
    free_params(p);
    free(x);
    free(y);
}

/* Small eps on unit-scale data stays finite and converges (spec §1). */
static void small_epsilon_converges(void **st) {
    (void)st;
    /* 600 points: eps is then comparable to the squared spacing. Much
     * sparser clouds at this eps are assignment problems, where Sinkhorn's
     * sublinear phase lasts ~1/(eps·tol) iterations (see ot_eot.c). */
    enum { N = 600, D = 2 };
    static double x[N * D], y[N * D];
    uint64_t seed = 13;
    random_cloud(x, N, D, &seed, 1, 0);
    random_cloud(y, N, D, &seed, 1, 0);
    void *p = new_params();
    set_measure(p, "source", x, N, D, NULL);
    set_measure(p, "target", y, N, D, NULL);
    set_d(p, "epsilon", 1e-4);
    set_d(p, "tol", 1e-4);
    ms_value *v = run(p, 2);
    assert_true(ms_value_num(ms_value_get(v, "converged")) == 1);
    assert_true(isfinite(getd(v, "objective")));
    assert_true(getd(v, "marginal_error") <= 2e-4);
    /* Primal and dual values agree up to the marginal error times the
     * potentials' scale (the plan is feasible only to within tol). */
    assert_close(getd(v, "dual_objective"), getd(v, "objective"), 0, 1e-4);
    print_message("eps=1e-4, n=600: %g iterations\n", getd(v, "iterations"));
    ms_value_free(v);
    free_params(p);
}

/* Sparse clouds at small eps (an assignment problem): Sinkhorn alone is in
 * its 1/t regime (error ~1e-6 after 10^5 iterations); method auto finishes
 * with Newton steps. The certificate: marginal error <= tol and primal =
 * dual to 1e-10 (dual <= optimum <= primal of a plan feasible to tol). */
static void newton_finishes_assignment_regime(void **st) {
    (void)st;
    enum { N = 30, D = 2 };
    double x[N * D], y[N * D];
    uint64_t seed = 17;
    random_cloud(x, N, D, &seed, 1, 0);
    random_cloud(y, N, D, &seed, 1, 0);
    void *p = new_params();
    set_measure(p, "source", x, N, D, NULL);
    set_measure(p, "target", y, N, D, NULL);
    set_d(p, "epsilon", 1e-4);
    set_d(p, "tol", 1e-10);
    ms_value *v = run(p, 1);
    assert_true(ms_value_num(ms_value_get(v, "converged")) == 1);
    assert_true(getd(v, "newton_steps") >= 1);
    assert_true(getd(v, "marginal_error") <= 1e-10);
    assert_close(getd(v, "dual_objective"), getd(v, "objective"), 0, 1e-10);
    print_message("n=30, eps=1e-4: %g iterations (%g Newton)\n", getd(v, "iterations"),
                  getd(v, "newton_steps"));
    ms_value_free(v);
    /* Sinkhorn alone does not get there in 20000 iterations. */
    *(int *)field_ptr(p, "method") = 1;
    set_i(p, "max_iter", 20000);
    v = run(p, 1);
    assert_true(ms_value_num(ms_value_get(v, "converged")) == 0);
    ms_value_free(v);
    free_params(p);
}

/* max_iter reached is a success with converged = false. */
static void max_iter_is_not_an_error(void **st) {
    (void)st;
    double x[6] = {0, 0, 1, 0, 0, 1}, y[4] = {3, 3, 4, 3};
    void *p = new_params();
    set_measure(p, "source", x, 3, 2, NULL);
    set_measure(p, "target", y, 2, 2, NULL);
    set_d(p, "epsilon", 1e-3);
    set_d(p, "tol", 0);
    set_i(p, "max_iter", 7);
    ms_value *v = run(p, 1);
    assert_true(ms_value_num(ms_value_get(v, "converged")) == 0);
    assert_true(getd(v, "iterations") == 7);
    ms_value_free(v);
    free_params(p);
}

static ms_err validate(void *p) {
    ms_errlist errs;
    ms_errlist_clear(&errs);
    ms_err e;
    ms_err_clear(&e);
    if (ms_kind_validate(K, p, &errs) != MS_OK)
        e = errs.e[0];
    return e;
}

static void bad_input_names_the_field(void **st) {
    (void)st;
    double x[4] = {0, 0, 1, 1}, y3[3] = {0, 1, 2}, w[2] = {0.5, 0.5};
    void *p = new_params();
    ms_err e;
    /* Missing everything: source is named first. */
    e = validate(p);
    assert_int_equal(e.code, MS_EINVAL);
    assert_string_equal(e.field, "source");
    set_measure(p, "source", x, 2, 2, w);
    set_measure(p, "target", x, 2, 2, w);
    e = validate(p);
    assert_string_equal(e.field, "epsilon");
    set_d(p, "epsilon", 0);
    e = validate(p);
    assert_string_equal(e.field, "epsilon");
    set_d(p, "epsilon", -1);
    assert_string_equal(validate(p).field, "epsilon");
    set_d(p, "epsilon", INFINITY);
    assert_string_equal(validate(p).field, "epsilon");
    set_d(p, "epsilon", 0.1);
    assert_int_equal(validate(p).code, MS_OK);
    /* NaN point, negative weight, all-zero weights. */
    ms_measure *src = field_ptr(p, "source");
    src->points[3] = NAN;
    assert_string_equal(validate(p).field, "source/points/1/1");
    src->points[3] = 1;
    src->weights[1] = -0.1;
    assert_string_equal(validate(p).field, "source/weights/1");
    src->weights[0] = src->weights[1] = 0;
    assert_string_equal(validate(p).field, "source/weights");
    src->weights[0] = src->weights[1] = 1;
    /* Mismatched dimensions. */
    set_measure(p, "target", y3, 1, 3, NULL);
    e = validate(p);
    assert_string_equal(e.field, "target/points");
    assert_non_null(strstr(e.msg, "dimension"));
    /* Empty measure. */
    ms_measure *tgt = field_ptr(p, "target");
    tgt->n = 0;
    assert_string_equal(validate(p).field, "target");
    set_measure(p, "target", x, 2, 2, NULL);
    /* Cost matrix of the wrong shape. */
    ms_mat *cm = field_ptr(p, "cost_matrix");
    assert_int_equal(ms_mat_alloc(cm, 3, 2), MS_OK);
    assert_string_equal(validate(p).field, "cost_matrix");
    free_params(p);
}

static void cancellation_stops_a_step(void **st) {
    (void)st;
    enum { N = 500, D = 2 };
    double *x = malloc(N * D * sizeof *x);
    uint64_t seed = 3;
    random_cloud(x, N, D, &seed, 1, 0);
    void *p = new_params();
    set_measure(p, "source", x, N, D, NULL);
    set_measure(p, "target", x, N, D, NULL);
    set_d(p, "epsilon", 0.01);
    atomic_int flag = 1;
    ms_ctx ctx = {1, &flag};
    void *state = calloc(1, K->state_size);
    ms_err err;
    assert_int_equal(K->init(state, p, &ctx, &err), MS_OK);
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    assert_int_equal(K->step(state, &ctx, &prog, &err), MS_ECANCELLED);
    K->fini(state);
    free(state);
    free_params(p);
    free(x);
}

/* Every allocation of init, step and result may fail: the run reports
 * MS_ENOMEM and leaks nothing (ASan checks the leak part). */
static void allocation_failures_are_clean(void **st) {
    (void)st;
    double x[6] = {0, 0, 1, 0, 0, 1}, y[4] = {3, 3, 4, 3};
    void *p = new_params();
    set_measure(p, "source", x, 3, 2, NULL);
    set_measure(p, "target", y, 2, 2, NULL);
    set_d(p, "epsilon", 0.5);
    set_b(p, "debiased", 1);
    set_b(p, "return_plan", 1);
    int failures = 0;
    for (long k = 0; k < 200; k++) {
        ms_alloc_fail_after(k);
        ms_err err;
        harness_opts o = {.threads = 1};
        ms_value *v = harness_run(K, p, &o, &err);
        ms_alloc_fail_after(-1);
        if (v) {
            ms_value_free(v);
            break;
        }
        assert_int_equal(err.code, MS_ENOMEM);
        failures++;
    }
    assert_true(failures > 5);
    free_params(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dirac_source_closed_form),
        cmocka_unit_test(gaussian_closed_form),
        cmocka_unit_test(brute_force_assignment_limit),
        cmocka_unit_test(plan_marginals_and_value),
        cmocka_unit_test(invariances),
        cmocka_unit_test(divergence_identities),
        cmocka_unit_test(unbalanced_dirac_closed_form),
        cmocka_unit_test(unbalanced_tends_to_balanced),
        cmocka_unit_test(thread_count_invariance),
        cmocka_unit_test(small_epsilon_converges),
        cmocka_unit_test(newton_finishes_assignment_regime),
        cmocka_unit_test(max_iter_is_not_an_error),
        cmocka_unit_test(bad_input_names_the_field),
        cmocka_unit_test(cancellation_stops_a_step),
        cmocka_unit_test(allocation_failures_are_clean),
    };
    return TEST_RUN(tests, setup, NULL);
}
