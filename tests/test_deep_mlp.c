/* test_deep_mlp.c — ReLU MLP / ResNet derivatives against finite
 * differences (spec deep-networks.md §4.7 oracle 6, §1.3) and the feature
 * speed identity of §4.2 with JVP updates (oracle 1). */
#include "test_util.h"

#include "deep_fixtures.h"
#include "deep_mlp.h"

typedef struct {
    deep_mlp *net;
    double *theta;
} mlp_case;

/* Arch 0: ReLU MLP, 1: ReLU ResNet (β = 0.6), 2: linear MLP. Batch of 3,
 * d = 4, width 5, two outputs, depth 4, α = 1.3. */
static mlp_case make_case(int arch, int with_hvp, uint64_t seed) {
    ms_err err;
    mlp_case c;
    c.net = deep_mlp_alloc(4, 4, 5, 2, 3, arch == 1, arch != 2, with_hvp, &err);
    assert_non_null(c.net);
    c.net->alpha = 1.3;
    c.net->beta = 0.6;
    c.theta = ms_malloc(c.net->nparams, sizeof(double));
    assert_int_equal(
        deep_mlp_init_weights(c.net, c.theta, DEEP_INIT_GAUSSIAN, 2.0, 1.0, seed, 0, &err), MS_OK);
    double X[12], Y[6];
    ms_rng r;
    ms_rng_init(&r, seed, 99);
    ms_rng_normals(&r, X, 12);
    ms_rng_normals(&r, Y, 6);
    deep_mlp_set_batch(c.net, X, Y);
    return c;
}

static void free_case(mlp_case *c) {
    deep_mlp_free(c->net);
    ms_free(c->theta);
}

static double mlp_loss(void *user, const double *theta, double *g) {
    mlp_case *c = user;
    double l = deep_mlp_forward(c->net, (double *)theta, 0, 1);
    if (g)
        deep_mlp_backward(c->net, theta, g, 1);
    return l;
}

/* Smallest |h| over all pre-activations: finite differences of size ε are
 * exact only when no ReLU kink lies within reach. */
static double kink_margin(const deep_mlp *net) {
    double m = INFINITY;
    for (size_t i = 0; i < (net->L - 1) * net->n * net->B; i++)
        m = fmin(m, fabs(net->H[i]));
    return m;
}

static void gradient_matches_finite_differences(void **st) {
    (void)st;
    for (int arch = 0; arch < 3; arch++) {
        mlp_case c = make_case(arch, 0, 10 + arch);
        size_t P = c.net->nparams;
        double *g = ms_malloc(P, sizeof *g), *gfd = ms_malloc(P, sizeof *gfd);
        mlp_loss(&c, c.theta, g);
        assert_true(kink_margin(c.net) > 1e-4);
        fx_fd_grad(mlp_loss, &c, c.theta, P, 1e-6, gfd);
        double rel = fx_rel(gfd, g, P);
        print_message("arch %d: gradient rel. error %.2e (kink margin %.2g)\n", arch, rel,
                      kink_margin(c.net));
        assert_true(rel < 1e-7);
        ms_free(g), ms_free(gfd);
        free_case(&c);
    }
}

static void hvp_matches_finite_differences(void **st) {
    (void)st;
    for (int arch = 0; arch < 3; arch++) {
        mlp_case c = make_case(arch, 1, 20 + arch);
        size_t P = c.net->nparams;
        double *v = ms_malloc(P, sizeof *v), *hv = ms_malloc(P, sizeof *hv),
               *hfd = ms_malloc(P, sizeof *hfd), *g = ms_malloc(P, sizeof *g);
        ms_rng r;
        ms_rng_init(&r, 5, arch);
        fx_unit(&r, v, P);
        mlp_loss(&c, c.theta, g);
        deep_mlp_hvp(c.net, c.theta, v, hv, 1);
        fx_fd_hvp(mlp_loss, &c, c.theta, v, P, 1e-6, hfd);
        double rel = fx_rel(hfd, hv, P);
        print_message("arch %d: HVP rel. error %.2e\n", arch, rel);
        assert_true(rel < 1e-7);
        /* Symmetry: uᵀ(Hv) = vᵀ(Hu). */
        double *u = ms_malloc(P, sizeof *u), *hu = ms_malloc(P, sizeof *hu);
        fx_unit(&r, u, P);
        mlp_loss(&c, c.theta, g);
        deep_mlp_hvp(c.net, c.theta, u, hu, 1);
        assert_close(cblas_ddot((int)P, u, 1, hv, 1), cblas_ddot((int)P, v, 1, hu, 1), 1e-12,
                     1e-14);
        ms_free(v), ms_free(hv), ms_free(hfd), ms_free(g), ms_free(u), ms_free(hu);
        free_case(&c);
    }
}

/* JVP = central difference of the features along V. */
static void jvp_matches_finite_differences(void **st) {
    (void)st;
    for (int arch = 0; arch < 3; arch++) {
        mlp_case c = make_case(arch, 0, 30 + arch);
        deep_mlp *net = c.net;
        size_t P = net->nparams, nh = (net->L - 1) * net->n * net->B, nf = net->dout * net->B;
        double *V = ms_malloc(P, sizeof *V), *t = ms_malloc(P, sizeof *t);
        double *Hp = ms_malloc(nh + nf, sizeof *Hp), *Hm = ms_malloc(nh + nf, sizeof *Hm);
        ms_rng r;
        ms_rng_init(&r, 6, arch);
        fx_unit(&r, V, P);
        const double s[4] = {0.5, -1.5, 2.0, 0.25}, eps = 1e-6;
        for (int sign = 0; sign < 2; sign++) {
            double *dst = sign ? Hm : Hp, e = sign ? -eps : eps;
            for (size_t k = 1; k <= net->L; k++)
                for (size_t i = net->off[k - 1]; i < net->off[k]; i++)
                    t[i] = c.theta[i] + e * s[k - 1] * V[i];
            deep_mlp_forward(net, t, 0, 1);
            memcpy(dst, net->H, nh * sizeof *dst);
            memcpy(dst + nh, net->F, nf * sizeof *dst);
        }
        deep_mlp_forward(net, c.theta, 0, 1);
        deep_mlp_jvp(net, c.theta, V, s, 1);
        for (size_t i = 0; i < nh + nf; i++)
            Hp[i] = (Hp[i] - Hm[i]) / (2 * eps);
        double e1 = fx_rel(net->RH, Hp, nh), e2 = fx_rel(net->RF, Hp + nh, nf);
        print_message("arch %d: JVP rel. errors %.2e %.2e\n", arch, e1, e2);
        assert_true(e1 < 1e-8 && e2 < 1e-8);
        ms_free(V), ms_free(t), ms_free(Hp), ms_free(Hm);
        free_case(&c);
    }
}

/* §4.2: with ΔW_k = −η_k ∇_{W_k}L and the JVP δf_ℓ,
 * −⟨b_ℓ, δf_ℓ⟩ = Σ_{k≤ℓ} η_k ‖∇_{W_k}L‖² for every layer, to round-off. */
static void feature_speed_identity(void **st) {
    (void)st;
    for (int arch = 0; arch < 3; arch++) {
        mlp_case c = make_case(arch, 0, 40 + arch);
        deep_mlp *net = c.net;
        size_t P = net->nparams, nB = net->n * net->B;
        double *g = ms_malloc(P, sizeof *g), s[4], eta[4] = {0.3, 1.7, 0.05, 0.9}, cum = 0,
               worst = 0;
        mlp_loss(&c, c.theta, g);
        for (int k = 0; k < 4; k++)
            s[k] = -eta[k];
        deep_mlp_jvp(net, c.theta, g, s, 1);
        for (size_t l = 1; l <= net->L; l++) {
            const double *Gl = g + net->off[l - 1];
            size_t m = net->off[l] - net->off[l - 1];
            cum += eta[l - 1] * cblas_ddot((int)m, Gl, 1, Gl, 1);
            double ip = l < net->L ? cblas_ddot((int)nB, deep_mlp_block(net, net->G, l), 1,
                                                deep_mlp_block(net, net->RH, l), 1)
                                   : cblas_ddot((int)(net->dout * net->B), net->E, 1, net->RF, 1);
            worst = fmax(worst, fabs(-ip - cum) / cum);
        }
        print_message("arch %d: identity worst rel. error %.2e\n", arch, worst);
        assert_true(worst < 1e-12);
        ms_free(g);
        free_case(&c);
    }
}

/* Orthogonal init: hidden layers are √gain·Q with QᵀQ = I; W_1 has
 * orthonormal columns (n ≥ d) or rows (n < d). */
static void orthogonal_init(void **st) {
    (void)st;
    ms_err err;
    for (int wide = 0; wide < 2; wide++) {
        size_t d = wide ? 3 : 9;
        deep_mlp *net = deep_mlp_alloc(3, d, 6, 1, 1, 0, 0, 0, &err);
        double *theta = ms_malloc(net->nparams, sizeof *theta);
        assert_int_equal(
            deep_mlp_init_weights(net, theta, DEEP_INIT_ORTHOGONAL, 2.0, 1.0, 3, 0, &err), MS_OK);
        double G[81];
        const double *W2 = theta + net->off[1];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 6, 6, 6, 1.0, W2, 6, W2, 6, 0.0, G, 6);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
                assert_close(G[i * 6 + j], i == j ? 2.0 : 0.0, 0, 1e-12);
        const double *W1 = theta;
        size_t m = wide ? d : 6; /* Gram of the orthonormal side */
        if (wide)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, 6, 1.0, W1, (int)d,
                        W1, (int)d, 0.0, G, (int)d);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 6, 6, (int)d, 1.0, W1, (int)d, W1,
                        (int)d, 0.0, G, 6);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++)
                assert_close(G[i * m + j], i == j ? 1.0 : 0.0, 0, 1e-12);
        ms_free(theta);
        deep_mlp_free(net);
    }
}

static void allocation_failures(void **st) {
    (void)st;
    ms_err err;
    for (long k = 0;; k++) {
        ms_alloc_fail_after(k);
        deep_mlp *net = deep_mlp_alloc(5, 3, 4, 2, 2, 1, 1, 1, &err);
        ms_alloc_fail_after(-1);
        if (net) {
            deep_mlp_free(net);
            break;
        }
        assert_int_equal(err.code, MS_ENOMEM);
    }
    assert_null(deep_mlp_alloc(1, 3, 4, 2, 2, 1, 1, 1, &err));
    assert_int_equal(err.code, MS_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gradient_matches_finite_differences),
        cmocka_unit_test(hvp_matches_finite_differences),
        cmocka_unit_test(jvp_matches_finite_differences),
        cmocka_unit_test(feature_speed_identity),
        cmocka_unit_test(orthogonal_init),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
