/* test_deep_chain.c — the deep linear chain against its oracles (spec
 * deep-networks.md §2.5): finite-difference gradients and Hessian-vector
 * products, batch backprop = data-free form, Lanczos = dense eigensolver and
 * = the exact minimiser sharpness of §1.5, the lower bound S_min, and the
 * least-squares helpers of deep_data.h. */
#include "test_util.h"

#include "deep_chain.h"
#include "deep_data.h"
#include "deep_fixtures.h"
#include "deep_lanczos.h"

/* A problem: data, moments, chain and a parameter vector. */
typedef struct {
    size_t n, d;
    double *X, *y, *sigma, *c, yy;
    deep_moments mom;
    deep_chain *ch;
    double *theta;
} problem;

static void problem_data(problem *p, size_t n, size_t d, uint64_t seed) {
    memset(p, 0, sizeof *p);
    p->n = n;
    p->d = d;
    p->X = ms_malloc(n * d, sizeof(double));
    p->y = ms_malloc(n, sizeof(double));
    p->sigma = ms_malloc(d * d, sizeof(double));
    p->c = ms_malloc(d, sizeof(double));
    double *wt = ms_malloc(d, sizeof(double));
    ms_rng r;
    ms_rng_init(&r, seed, 0);
    ms_rng_normals(&r, wt, d);
    deep_data_gaussian(&r, n, d, 1.0, wt, p->X, p->y);
    deep_data_moments(p->X, p->y, n, d, p->sigma, p->c, &p->yy);
    p->mom = (deep_moments){d, p->sigma, p->c, p->yy};
    ms_free(wt);
}

static void problem_chain(problem *p, size_t L, const size_t *dims, const double *u, double scale,
                          uint64_t seed) {
    ms_err err;
    p->ch = deep_chain_alloc(L, dims, u, &err);
    assert_non_null(p->ch);
    p->theta = ms_malloc(p->ch->nparams, sizeof(double));
    ms_rng r;
    ms_rng_init(&r, seed, 7);
    ms_rng_normals(&r, p->theta, p->ch->nparams);
    cblas_dscal((int)p->ch->nparams, scale, p->theta, 1);
}

static void problem_free(problem *p) {
    ms_free(p->X), ms_free(p->y), ms_free(p->sigma), ms_free(p->c), ms_free(p->theta);
    deep_chain_free(p->ch);
}

static double chain_loss(void *user, const double *theta, double *g) {
    problem *p = user;
    return deep_chain_grad(p->ch, &p->mom, theta, g, NULL);
}

typedef struct {
    problem *p;
    const double *theta;
} at_point;

static void chain_hvp_op(void *user, const double *x, double *y) {
    at_point *a = user;
    deep_chain_hvp(a->p->ch, &a->p->mom, a->theta, x, y);
}

/* Three shapes: square d×d chain with scalar head (spec §2.1), a wider
 * hidden layer, and the residual variant with a fixed unit readout u. */
static void make_shape(problem *p, int which) {
    static const size_t sq[] = {4, 4, 4, 4, 1}, wide[] = {4, 6, 3, 1}, res[] = {4, 4, 4, 4};
    if (which == 0)
        problem_chain(p, 4, sq, NULL, 0.7, 21);
    else if (which == 1)
        problem_chain(p, 3, wide, NULL, 0.6, 22);
    else {
        double u[4] = {0.5, -0.5, 0.5, 0.5};
        problem_chain(p, 3, res, u, 0.8, 23);
    }
}

static void gradient_matches_finite_differences(void **st) {
    (void)st;
    for (int which = 0; which < 3; which++) {
        problem p;
        problem_data(&p, 9, 4, 100 + which);
        make_shape(&p, which);
        size_t P = p.ch->nparams;
        double *g = ms_malloc(P, sizeof *g), *gfd = ms_malloc(P, sizeof *gfd);
        chain_loss(&p, p.theta, g);
        double eps = 1e-6 * fmax(1, fx_maxabs(p.theta, P));
        fx_fd_grad(chain_loss, &p, p.theta, P, eps, gfd);
        double rel = fx_rel(gfd, g, P);
        print_message("shape %d: gradient rel. error %.2e\n", which, rel);
        assert_true(rel <= 1e-6);
        ms_free(g), ms_free(gfd);
        problem_free(&p);
    }
}

static void batch_backprop_equals_data_free_form(void **st) {
    (void)st;
    for (int which = 0; which < 3; which++) {
        problem p;
        problem_data(&p, 13, 4, 200 + which);
        make_shape(&p, which);
        size_t P = p.ch->nparams;
        double *g = ms_malloc(P, sizeof *g), *gb = ms_malloc(P, sizeof *gb);
        double *v = ms_malloc(P, sizeof *v), *hv = ms_malloc(P, sizeof *hv),
               *hb = ms_malloc(P, sizeof *hb);
        ms_rng r;
        ms_rng_init(&r, 5, which);
        fx_unit(&r, v, P);
        double l = chain_loss(&p, p.theta, g), lb = 0;
        deep_chain_hvp(p.ch, &p.mom, p.theta, v, hv);
        ms_err err;
        assert_int_equal(deep_chain_batch(p.ch, p.X, p.y, p.n, p.theta, v, &lb, gb, hb, &err),
                         MS_OK);
        assert_close(l, lb, 1e-12, 0);
        assert_true(fx_rel(g, gb, P) <= 1e-12);
        assert_true(fx_rel(hv, hb, P) <= 1e-12);
        ms_free(g), ms_free(gb), ms_free(v), ms_free(hv), ms_free(hb);
        problem_free(&p);
    }
}

static void hvp_matches_finite_differences(void **st) {
    (void)st;
    for (int which = 0; which < 3; which++) {
        problem p;
        problem_data(&p, 11, 4, 300 + which);
        make_shape(&p, which);
        size_t P = p.ch->nparams;
        double *v = ms_malloc(P, sizeof *v), *hv = ms_malloc(P, sizeof *hv),
               *hfd = ms_malloc(P, sizeof *hfd);
        ms_rng r;
        ms_rng_init(&r, 6, which);
        fx_unit(&r, v, P);
        deep_chain_hvp(p.ch, &p.mom, p.theta, v, hv);
        /* §1.3: ε = 1e-6·max(1, ‖θ‖_∞), central. */
        fx_fd_hvp(chain_loss, &p, p.theta, v, P, 1e-6 * fmax(1, fx_maxabs(p.theta, P)), hfd);
        double rel = fx_rel(hfd, hv, P);
        print_message("shape %d: HVP rel. error %.2e\n", which, rel);
        assert_true(rel <= 1e-7);
        ms_free(v), ms_free(hv), ms_free(hfd);
        problem_free(&p);
    }
}

/* Away from minimisers the Hessian is indefinite: Lanczos must return the
 * largest algebraic eigenvalue of the dense Hessian. */
static void lanczos_matches_dense_hessian(void **st) {
    (void)st;
    for (int which = 0; which < 3; which++) {
        problem p;
        problem_data(&p, 10, 4, 400 + which);
        make_shape(&p, which);
        size_t P = p.ch->nparams;
        at_point a = {&p, p.theta};
        double *lam = ms_malloc(P, sizeof *lam);
        assert_int_equal(fx_dense_eigs(chain_hvp_op, &a, P, lam), 0);
        ms_err err;
        deep_lanczos *lz = deep_lanczos_alloc(P, P, &err);
        ms_rng r;
        ms_rng_init(&r, 8, which);
        deep_eig e;
        assert_int_equal(deep_lanczos_top(lz, chain_hvp_op, &a, &r, 0, 1e-12, &e, &err), MS_OK);
        print_message("shape %d: Lanczos %.12g dense %.12g (min %.4g), %zu steps\n", which, e.value,
                      lam[P - 1], lam[0], e.iterations);
        assert_close(e.value, lam[P - 1], 1e-9, 0);
        deep_lanczos_free(lz);
        ms_free(lam);
        problem_free(&p);
    }
}

/* The balanced rank-one minimiser of §2.2 for w*: W_1 = ρ u_1 ŵᵀ,
 * W_k = ρ u_k u_{k-1}ᵀ, W_L = ρ u_{L-1}ᵀ, ρ = ‖w*‖^{1/L}. */
static void balanced_minimiser(const deep_chain *ch, const double *wstar, uint64_t seed,
                               double *theta) {
    const size_t d = ch->d, L = ch->L;
    double nw = fx_norm(wstar, d), rho = pow(nw, 1.0 / (double)L);
    double *uprev = ms_malloc(d, sizeof *uprev), *uk = ms_malloc(d, sizeof *uk);
    ms_rng r;
    ms_rng_init(&r, seed, 3);
    for (size_t i = 0; i < d; i++)
        uprev[i] = wstar[i] / nw;
    for (size_t k = 1; k <= L; k++) {
        size_t rows = ch->dims[k];
        if (rows == 1)
            uk[0] = 1;
        else
            fx_unit(&r, uk, rows);
        double *W = theta + ch->off[k - 1];
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < d; j++)
                W[i * d + j] = rho * uk[i] * uprev[j];
        memcpy(uprev, uk, rows * sizeof *uk);
    }
    ms_free(uprev), ms_free(uk);
}

static double lanczos_sharpness(problem *p, const double *theta) {
    at_point a = {p, theta};
    ms_err err;
    deep_lanczos *lz = deep_lanczos_alloc(p->ch->nparams, 80, &err);
    ms_rng r;
    ms_rng_init(&r, 77, 0);
    deep_eig e;
    assert_int_equal(deep_lanczos_top(lz, chain_hvp_op, &a, &r, 0, 1e-13, &e, &err), MS_OK);
    deep_lanczos_free(lz);
    return e.value;
}

static void sharpness_at_a_minimiser(void **st) {
    (void)st;
    enum { D = 5, L = 10 };
    problem p;
    problem_data(&p, 50, D, 500);
    size_t dims[L + 1];
    for (size_t k = 0; k < L; k++)
        dims[k] = D;
    dims[L] = 1;
    problem_chain(&p, L, dims, NULL, 1.0, 1);
    double wstar[D], w[D];
    ms_err err;
    assert_int_equal(deep_lstsq(p.X, p.y, p.n, D, DEEP_LSQ_SVD, wstar, NULL, &err), MS_OK);
    balanced_minimiser(p.ch, wstar, 4, p.theta);
    deep_chain_product(p.ch, p.theta, w);
    assert_true(fx_rel(w, wstar, D) < 1e-12);
    /* At a global minimiser the gradient vanishes. */
    double *g = ms_malloc(p.ch->nparams, sizeof *g);
    chain_loss(&p, p.theta, g);
    assert_true(fx_norm(g, p.ch->nparams) < 1e-12);
    double Sf = 0;
    assert_int_equal(deep_chain_min_sharpness(p.ch, &p.mom, p.theta, &Sf, &err), MS_OK);
    double Sl = lanczos_sharpness(&p, p.theta);
    double Smin = deep_sharpness_lower_bound(L, &p.mom, wstar);
    print_message("balanced rank one: Lanczos %.14g formula %.14g S_min %.14g (ratio %.5f)\n", Sl,
                  Sf, Smin, Sf / Smin);
    assert_close(Sl, Sf, 1e-8, 0);
    assert_true(Sf >= Smin);
    /* §2.2: the balanced rank-one minimiser exceeds S_min only by the first
     * layer's p_1 = I term (0.2% at d = 5, L = 10 on the spec's data; this
     * data set gives the same order). */
    assert_true(Sf / Smin < 1.01);
    /* Unbalanced rescaling keeps w and raises the sharpness. */
    for (size_t i = 0; i < D * D; i++) {
        p.theta[p.ch->off[0] + i] *= 3.0;
        p.theta[p.ch->off[1] + i] /= 3.0;
    }
    deep_chain_product(p.ch, p.theta, w);
    assert_true(fx_rel(w, wstar, D) < 1e-12);
    double Su = 0;
    assert_int_equal(deep_chain_min_sharpness(p.ch, &p.mom, p.theta, &Su, &err), MS_OK);
    assert_close(lanczos_sharpness(&p, p.theta), Su, 1e-8, 0);
    print_message("unbalanced (c = 3): %.6g\n", Su);
    assert_true(Su > 1.5 * Sf);
    /* Structure: exactly balanced, rank one, aligned. */
    deep_chain_stats stt;
    balanced_minimiser(p.ch, wstar, 4, p.theta);
    double *bal = ms_calloc(deep_chain_balance_size(p.ch), sizeof *bal);
    double what[D];
    for (size_t i = 0; i < D; i++)
        what[i] = wstar[i] / fx_norm(wstar, D);
    assert_int_equal(deep_chain_structure(p.ch, p.theta, bal, what, &stt, &err), MS_OK);
    assert_true(stt.balance_drift < 1e-12);
    assert_true(stt.rank1_ratio < 1e-6);
    assert_close(stt.layer_alignment, 1, 1e-12, 0);
    assert_close(stt.input_alignment, 1, 1e-12, 0);
    assert_close(stt.sigma1_min, pow(fx_norm(wstar, D), 1.0 / L), 1e-12, 0);
    ms_free(bal), ms_free(g);
    problem_free(&p);
}

/* L = 1: the Hessian is the constant 2Σ, so S = 2Λ. L = 2, d = 1: the hand
 * oracle S = 2Σ(w_1² + w_2²) ≥ 4Σ|w*| with equality when balanced. */
static void sharpness_small_cases(void **st) {
    (void)st;
    problem p;
    problem_data(&p, 20, 3, 600);
    static const size_t d1[] = {3, 1};
    problem_chain(&p, 1, d1, NULL, 1.0, 2);
    double lam[3], Q[9];
    memcpy(Q, p.sigma, sizeof Q);
    assert_int_equal(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', 3, Q, 3, lam), 0);
    double Sf = 0;
    ms_err err;
    assert_int_equal(deep_chain_min_sharpness(p.ch, &p.mom, p.theta, &Sf, &err), MS_OK);
    assert_close(Sf, 2 * lam[2], 1e-12, 0);
    assert_close(lanczos_sharpness(&p, p.theta), 2 * lam[2], 1e-12, 0);
    problem_free(&p);

    problem_data(&p, 20, 1, 601);
    static const size_t d2[] = {1, 1, 1};
    problem_chain(&p, 2, d2, NULL, 1.0, 3);
    double wstar = p.c[0] / p.sigma[0], sg = p.sigma[0];
    p.theta[0] = 1.7;
    p.theta[1] = wstar / 1.7;
    assert_int_equal(deep_chain_min_sharpness(p.ch, &p.mom, p.theta, &Sf, &err), MS_OK);
    assert_close(Sf, 2 * sg * (1.7 * 1.7 + wstar * wstar / 2.89), 1e-12, 0);
    assert_close(lanczos_sharpness(&p, p.theta), Sf, 1e-10, 0);
    assert_true(Sf > 4 * sg * fabs(wstar));
    p.theta[0] = sqrt(fabs(wstar));
    p.theta[1] = wstar / p.theta[0];
    assert_close(lanczos_sharpness(&p, p.theta), 4 * sg * fabs(wstar), 1e-10, 0);
    assert_close(deep_sharpness_lower_bound(2, &p.mom, &wstar), 4 * sg * fabs(wstar), 1e-12, 0);
    problem_free(&p);
}

static void least_squares_by_qr_and_svd(void **st) {
    (void)st;
    /* Over-determined: X⁺y = Σ⁻¹c. */
    problem p;
    problem_data(&p, 30, 6, 700);
    double bs[6], bq[6], Sb[6];
    size_t rank = 0;
    ms_err err;
    assert_int_equal(deep_lstsq(p.X, p.y, 30, 6, DEEP_LSQ_SVD, bs, &rank, &err), MS_OK);
    assert_int_equal(rank, 6);
    assert_int_equal(deep_lstsq(p.X, p.y, 30, 6, DEEP_LSQ_QR, bq, &rank, &err), MS_OK);
    assert_true(fx_rel(bq, bs, 6) < 1e-12);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, 6, 6, 1.0, p.sigma, 6, bs, 1, 0.0, Sb, 1);
    assert_true(fx_rel(Sb, p.c, 6) < 1e-12);
    problem_free(&p);
    /* Under-determined (n = 8 < d = 12): both give the minimum-norm solution,
     * which interpolates and has no component in ker X. */
    problem_data(&p, 8, 12, 701);
    double b1[12], b2[12], P[144], Pb[12], r[8];
    assert_int_equal(deep_lstsq(p.X, p.y, 8, 12, DEEP_LSQ_SVD, b1, &rank, &err), MS_OK);
    assert_int_equal(rank, 8);
    assert_int_equal(deep_lstsq(p.X, p.y, 8, 12, DEEP_LSQ_QR, b2, NULL, &err), MS_OK);
    assert_true(fx_rel(b2, b1, 12) < 1e-12);
    memcpy(r, p.y, sizeof r);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, 8, 12, 1.0, p.X, 12, b1, 1, -1.0, r, 1);
    assert_true(fx_norm(r, 8) < 1e-12 * fx_norm(p.y, 8));
    assert_int_equal(deep_null_projector(p.X, 8, 12, P, &rank, &err), MS_OK);
    assert_int_equal(rank, 8);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, 12, 12, 1.0, P, 12, b1, 1, 0.0, Pb, 1);
    assert_true(fx_norm(Pb, 12) < 1e-12 * fx_norm(b1, 12));
    double XP[8 * 12], tr = 0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 8, 12, 12, 1.0, p.X, 12, P, 12, 0.0, XP,
                12);
    assert_true(fx_maxabs(XP, 96) < 1e-12 * fx_maxabs(p.X, 96));
    for (size_t i = 0; i < 12; i++)
        tr += P[i * 12 + i];
    assert_close(tr, 4, 1e-12, 0);
    problem_free(&p);
}

static void allocation_failures_release_everything(void **st) {
    (void)st;
    static const size_t dims[] = {5, 7, 7, 1};
    ms_err err;
    for (long k = 0;; k++) {
        ms_alloc_fail_after(k);
        deep_chain *ch = deep_chain_alloc(3, dims, NULL, &err);
        ms_alloc_fail_after(-1);
        if (ch) {
            deep_chain_free(ch);
            break;
        }
        assert_int_equal(err.code, MS_ENOMEM);
    }
    static const size_t bad[] = {5, 0, 1};
    assert_null(deep_chain_alloc(2, bad, NULL, &err));
    assert_int_equal(err.code, MS_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradient_matches_finite_differences),
        cmocka_unit_test(batch_backprop_equals_data_free_form),
        cmocka_unit_test(hvp_matches_finite_differences),
        cmocka_unit_test(lanczos_matches_dense_hessian),
        cmocka_unit_test(sharpness_at_a_minimiser),
        cmocka_unit_test(sharpness_small_cases),
        cmocka_unit_test(least_squares_by_qr_and_svd),
        cmocka_unit_test(allocation_failures_release_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
