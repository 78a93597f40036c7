/* test_games_payoff.c — payoff families and fields: gradients against
 * finite differences, the separable random Fourier fields against brute
 * force, thread-count independence, the families' closed-form first
 * variations (games.md §8), and the strategy spaces' geometry. */
#include "test_util.h"

#include <string.h>

#include "games_br.h"
#include "games_lp.h"
#include "games_payoff.h"
#include "games_space.h"
#include "ms_alloc.h"

static void init_family(games_payoff *p, games_family f, size_t d, size_t e) {
    ms_err err;
    assert_int_equal(games_payoff_init_family(p, f, d, e, 3, 2, 0.7, 11, 1.3, 0.8, 1, 1.7, &err),
                     MS_OK);
}

static void families_gradients_match_differences(void **st) {
    (void)st;
    uint64_t s = 3;
    for (int f = 0; f <= GAMES_FAM_QUADRATIC_BOX; f++) {
        games_payoff p;
        size_t d = f == GAMES_FAM_RANDOM_FOURIER ? 2 : 1, e = 1;
        init_family(&p, (games_family)f, d, e);
        double *sc = ms_malloc(p.scratch, sizeof *sc);
        for (int t = 0; t < 20; t++) {
            double z[3], g[3], fz;
            for (size_t k = 0; k < d + e; k++)
                z[k] = 2 * test_uniform(&s) - 0.5;
            assert_int_equal(games_payoff_eval(&p, z, z + d, &fz, g, g + d, sc), GAMES_EXPR_OK);
            for (size_t k = 0; k < d + e; k++) {
                double fd = 0;
                for (int r = 0; r < 2; r++) { /* Richardson: error O(h⁴) */
                    double h = r ? 5e-5 : 1e-4, zp[3], zm[3], fp, fm;
                    memcpy(zp, z, sizeof z);
                    memcpy(zm, z, sizeof z);
                    zp[k] += h;
                    zm[k] -= h;
                    games_payoff_eval(&p, zp, zp + d, &fp, NULL, NULL, sc);
                    games_payoff_eval(&p, zm, zm + d, &fm, NULL, NULL, sc);
                    fd += (r ? 4.0 / 3 : -1.0 / 3) * (fp - fm) / (2 * h);
                }
                if (fabs(fd - g[k]) > 1e-6 * (1 + fabs(g[k])))
                    print_error("family %s var %zu: %.17g vs %.17g\n", games_family_names[f], k,
                                g[k], fd);
                assert_close(g[k], fd, 1e-6, 1e-6);
            }
        }
        ms_free(sc);
        games_payoff_fini(&p);
    }
}

/* The network families: gradients in θ (y) and in the perturbation u (x)
 * against differences, for every activation; the frozen coordinates (the
 * sample index, the output sign) have zero gradient. */
static void network_gradients_match_differences(void **st) {
    (void)st;
    const double data[6] = {0.3, -1.2, 0.8, 0.5, -0.4, 1.1}, labels[3] = {1, -1, 1};
    uint64_t s = 17;
    for (int act = 0; act <= GAMES_ACT_TANH; act++)
        for (int power = 1; power <= (act == 0 ? 4 : 1); power++) {
            games_payoff p;
            ms_err err;
            assert_int_equal(games_payoff_init_2nn(&p, GAMES_FAM_DRO_2NN, data, labels, 3, 2,
                                                   (games_activation)act, power, &err),
                             MS_OK);
            assert_int_equal(p.d, 3);
            assert_int_equal(p.e, 4);
            for (int t = 0; t < 20; t++) {
                double x[3] = {(double)(t % 3), 0.2 * test_uniform(&s), -0.1 * test_uniform(&s)};
                double y[4] = {2 * test_uniform(&s) - 1, 2 * test_uniform(&s) - 1,
                               2 * test_uniform(&s) - 1, t % 2 ? 1.0 : -1.0};
                double f, gx[3], gy[4], sc[1];
                assert_int_equal(games_payoff_eval(&p, x, y, &f, gx, gy, sc), GAMES_EXPR_OK);
                assert_true(gx[0] == 0 && gy[3] == 0);
                for (int k = 0; k < 5; k++) {
                    double *z = k < 2 ? x + 1 + k : y + (k - 2), g = k < 2 ? gx[1 + k] : gy[k - 2];
                    double z0 = *z, h = 1e-6, fp, fm;
                    *z = z0 + h;
                    games_payoff_eval(&p, x, y, &fp, NULL, NULL, sc);
                    *z = z0 - h;
                    games_payoff_eval(&p, x, y, &fm, NULL, NULL, sc);
                    *z = z0;
                    /* Kinks of relu and abs: random points miss them by far more than h. */
                    assert_close(g, (fp - fm) / (2 * h), 1e-6, 1e-6);
                }
            }
            games_payoff_fini(&p);
        }
}

/* Brute-force fields by pairwise evaluation. */
static void brute_fields(games_payoff *p, const double *x, const double *a, size_t m,
                         const double *y, const double *b, size_t n, double *U, double *G,
                         double *W, double *H, double *sc) {
    size_t d = p->d, e = p->e;
    memset(U, 0, m * sizeof *U);
    memset(G, 0, m * d * sizeof *G);
    memset(W, 0, n * sizeof *W);
    memset(H, 0, n * e * sizeof *H);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double f, gx[4], gy[4];
            assert_int_equal(games_payoff_eval(p, x + i * d, y + j * e, &f, gx, gy, sc), 0);
            U[i] += b[j] * f;
            W[j] += a[i] * f;
            for (size_t c = 0; c < d; c++)
                G[i * d + c] += b[j] * gx[c];
            for (size_t c = 0; c < e; c++)
                H[j * e + c] += a[i] * gy[c];
        }
}

static void fields_match_brute_force_and_ignore_threads(void **st) {
    (void)st;
    enum { M = 37, N = 29, D = 2, E = 1 };
    games_payoff rf, ex;
    init_family(&rf, GAMES_FAM_RANDOM_FOURIER, D, E);
    games_expr *tape = NULL;
    ms_err err;
    assert_int_equal(games_expr_compile("cos(2*pi*(x1-y1))*sin(x2+0.3) + x2*y1^2", D, E, NULL, NULL,
                                        0, "f", "p", &tape, NULL, &err),
                     MS_OK);
    games_payoff_init_expr(&ex, tape, D, E);
    games_payoff *ps[2] = {&rf, &ex};
    uint64_t s = 9;
    double x[M * D], y[N * E], a[M], b[N];
    for (size_t i = 0; i < M * D; i++)
        x[i] = test_uniform(&s);
    for (size_t j = 0; j < N * E; j++)
        y[j] = test_uniform(&s);
    for (size_t i = 0; i < M; i++)
        a[i] = test_uniform(&s) / M;
    for (size_t j = 0; j < N; j++)
        b[j] = test_uniform(&s) / N;
    for (int k = 0; k < 2; k++) {
        games_payoff *p = ps[k];
        double *sc = ms_malloc(2 * p->scratch, sizeof *sc);
        double U[M], G[M * D], W[N], H[N * E], U0[M], G0[M * D], W0[N], H0[N * E];
        brute_fields(p, x, a, M, y, b, N, U0, G0, W0, H0, sc);
        for (int nt = 1; nt <= 2; nt++) {
            ms_ctx ctx = {nt, NULL};
            size_t bi, bj;
            assert_int_equal(
                games_payoff_fields(p, x, a, M, y, b, N, U, G, W, H, sc, &ctx, &bi, &bj), 0);
            for (size_t i = 0; i < M; i++)
                assert_close(U[i], U0[i], 1e-12, 1e-12);
            for (size_t i = 0; i < M * D; i++)
                assert_close(G[i], G0[i], 1e-12, 1e-11);
            for (size_t j = 0; j < N; j++)
                assert_close(W[j], W0[j], 1e-12, 1e-12);
            for (size_t j = 0; j < N * E; j++)
                assert_close(H[j], H0[j], 1e-12, 1e-11);
            if (nt == 1) {
                memcpy(U0, U, sizeof U);
                memcpy(W0, W, sizeof W);
            } else { /* bit-identical whatever the thread count */
                assert_memory_equal(U0, U, sizeof U);
                assert_memory_equal(W0, W, sizeof W);
            }
            if (p->family != GAMES_FAM_RANDOM_FOURIER) {
                /* The one-pass variant: same fields, thread-independent. */
                double part[GAMES_FIELD_BLOCKS * N * (1 + E)], U1[M], G1[M * D], W1[N], H1[N * E];
                assert_int_equal(games_payoff_fields_both(p, x, a, M, y, b, N, U1, G1, W1, H1, part,
                                                          sc, &ctx, &bi, &bj),
                                 0);
                for (size_t i = 0; i < M; i++)
                    assert_close(U1[i], U[i], 1e-12, 1e-12);
                for (size_t i = 0; i < M * D; i++)
                    assert_close(G1[i], G[i], 1e-12, 1e-11);
                for (size_t j = 0; j < N; j++)
                    assert_close(W1[j], W[j], 1e-12, 1e-12);
                for (size_t j = 0; j < N * E; j++)
                    assert_close(H1[j], H[j], 1e-12, 1e-11);
                static double Wref[N];
                if (nt == 1)
                    memcpy(Wref, W1, sizeof W1);
                else
                    assert_memory_equal(Wref, W1, sizeof W1);
            }
        }
        ms_free(sc);
    }
    games_payoff_fini(&rf);
    games_payoff_fini(&ex);
}

static void fields_report_the_failing_pair(void **st) {
    (void)st;
    games_expr *tape = NULL;
    ms_err err;
    assert_int_equal(
        games_expr_compile("log(x1 - y1)", 1, 1, NULL, NULL, 0, "f", "p", &tape, NULL, &err),
        MS_OK);
    games_payoff p;
    games_payoff_init_expr(&p, tape, 1, 1);
    double x[3] = {5, 0.5, 0.2}, y[2] = {0.1, 0.3}, a[3] = {.3, .3, .4}, b[2] = {.5, .5}, U[3],
           W[2], sc[64];
    assert_true(p.scratch <= 64);
    ms_ctx ctx = {1, NULL};
    size_t bi, bj;
    /* Row pass: x2 = 0.2 against y2 = 0.3 is the first failure (row 2). */
    assert_int_equal(
        games_payoff_fields(&p, x, a, 3, y, b, 2, U, NULL, NULL, NULL, sc, &ctx, &bi, &bj),
        GAMES_EXPR_DOMAIN);
    assert_int_equal(bi, 2);
    assert_int_equal(bj, 1);
    /* One pass: the first failure in row-major order is the same pair. */
    double G[3], H[2], part[GAMES_FIELD_BLOCKS * 2 * 2];
    assert_int_equal(
        games_payoff_fields_both(&p, x, a, 3, y, b, 2, U, G, W, H, part, sc, &ctx, &bi, &bj),
        GAMES_EXPR_DOMAIN);
    assert_int_equal(bi, 2);
    assert_int_equal(bj, 1);
    /* Column pass: y1 = 0.3 fails first against x3 = 0.2. */
    assert_int_equal(
        games_payoff_fields(&p, x, a, 3, y, b, 2, NULL, NULL, W, NULL, sc, &ctx, &bi, &bj),
        GAMES_EXPR_DOMAIN);
    assert_int_equal(bi, 2);
    assert_int_equal(bj, 1);
    games_payoff_fini(&p);
}

/* Closed-form first variations of §8: at the stated equilibria, U_ν* ≥ V
 * with equality on supp μ*, W_μ* ≤ V with equality on supp ν*. */
static void check_equilibrium(games_payoff *p, const double *xs, const double *as, size_t m,
                              const double *ys, const double *bs, size_t n, double lo, double hi,
                              double V) {
    double sc[256];
    assert_true(p->scratch <= 256);
    ms_ctx ctx = {1, NULL};
    size_t bi, bj;
    double Umin = INFINITY, Wmax = -INFINITY;
    for (int k = 0; k <= 4000; k++) {
        double z = lo + (hi - lo) * k / 4000.0, u, w;
        games_payoff_fields(p, &z, NULL, 1, ys, bs, n, &u, NULL, NULL, NULL, sc, &ctx, &bi, &bj);
        games_payoff_fields(p, xs, as, m, &z, NULL, 1, NULL, NULL, &w, NULL, sc, &ctx, &bi, &bj);
        Umin = fmin(Umin, u);
        Wmax = fmax(Wmax, w);
    }
    assert_close(Umin, V, 0, 1e-12);
    assert_close(Wmax, V, 0, 1e-12);
    for (size_t i = 0; i < m; i++) {
        double u;
        games_payoff_fields(p, xs + i, NULL, 1, ys, bs, n, &u, NULL, NULL, NULL, sc, &ctx, &bi,
                            &bj);
        assert_close(u, V, 0, 1e-12);
    }
}

static void families_closed_form_equilibria(void **st) {
    (void)st;
    games_payoff p;
    ms_err err;
    for (int delta = 0; delta <= 1; delta++) {
        assert_int_equal(games_payoff_init_family(&p, GAMES_FAM_TRIG_2X2, 1, 1, 0, 0, 1, 0, 1.0,
                                                  1.0, delta, 0, &err),
                         MS_OK);
        const double xs[2] = {0, .5}, as[2] = {3.0 / 7, 4.0 / 7}, bs[2] = {2.0 / 7, 5.0 / 7};
        check_equilibrium(&p, xs, as, 2, xs, bs, 2, 0, 1, 1.0 / 7);
        games_payoff_fini(&p);
    }
    init_family(&p, GAMES_FAM_TRIG_SINGULAR, 1, 1);
    const double sx[2] = {3.0 / 8, 7.0 / 8}, sy[2] = {1.0 / 8, 5.0 / 8}, half[2] = {.5, .5};
    check_equilibrium(&p, sx, half, 2, sy, half, 2, 0, 1, 0);
    games_payoff_fini(&p);
    assert_int_equal(
        games_payoff_init_family(&p, GAMES_FAM_QUARTIC, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1.0, &err),
        MS_OK);
    const double q[2] = {-1, 1};
    check_equilibrium(&p, q, half, 2, q, half, 2, -2, 2, 0);
    games_payoff_fini(&p);
    init_family(&p, GAMES_FAM_QUADRATIC_BOX, 1, 1);
    const double c = 0.5, one = 1, ends[2] = {0, 1};
    check_equilibrium(&p, &c, &one, 1, ends, half, 2, 0, 1, 0.25);
    games_payoff_fini(&p);
}

static void spaces_geometry(void **st) {
    (void)st;
    games_space t = {.type = GAMES_TORUS, .dim = 2, .period = 2.5};
    double z[3] = {-0.1, 7.6, 0};
    games_space_retract(&t, z);
    assert_close(z[0], 2.4, 0, 1e-15);
    assert_close(z[1], 0.1, 0, 1e-14);
    double a[2] = {0.1, 0.1}, b[2] = {2.4, 0.1};
    assert_close(games_space_dist2(&t, a, b), 0.04, 0, 1e-15);
    games_space sph = {.type = GAMES_SPHERE, .dim = 3};
    double u[3] = {1, 0, 0}, g[3] = {5, 1, 0};
    games_space_step(&sph, u, g, 0.1); /* radial part of g removed */
    assert_close(u[0] * u[0] + u[1] * u[1] + u[2] * u[2], 1, 0, 1e-15);
    assert_close(u[1] / u[0], 0.1, 0, 1e-15);
    games_space ball = {.type = GAMES_BALL, .dim = 2, .radius = 0.5};
    double v[2] = {3, 4};
    games_space_retract(&ball, v);
    assert_close(v[0], 0.3, 0, 1e-15);
    assert_close(v[1], 0.4, 0, 1e-15);
    games_space box = {.type = GAMES_BOX, .dim = 1, .low = {-2}, .high = {2}};
    assert_int_equal(games_space_init_grid(&box, 15, NULL), 15);
    assert_int_equal(games_space_init_grid(&t, 10, NULL), 16);
    assert_int_equal(games_space_search_grid(&box, 1e-3, 100000, NULL), 4001);
    assert_int_equal(games_space_search_grid(&t, 1e-2, 100000, NULL), 250 * 250);
    /* Sampling stays inside. */
    ms_rng r;
    ms_rng_init(&r, 1, 0);
    for (int k = 0; k < 1000; k++) {
        games_space_sample(&ball, &r, v);
        assert_true(v[0] * v[0] + v[1] * v[1] <= 0.25 + 1e-15);
    }
    /* Aggregation merges atoms across the torus seam. */
    games_space t1 = {.type = GAMES_TORUS, .dim = 1, .period = 1};
    double xs[4] = {0.999, 0.001, 0.5, 0.5004}, ws[4] = {.3, .2, .4, .1}, cx[4], cw[4];
    unsigned char taken[4];
    size_t k = games_space_aggregate(&t1, xs, ws, 4, 1e-2, cx, cw, taken);
    assert_int_equal(k, 2);
    assert_close(cw[0], 0.5, 0, 1e-15);
    assert_close(cx[0], 0.5 + 0.1 * 0.0004 / 0.5, 0, 1e-12);
    assert_close(cw[1], 0.5, 0, 1e-15);
    assert_close(cx[1], 0.9998, 0, 1e-12);
}

/* The best response over a full grid with refinement finds the maximiser of
 * W_μ(y) = Σ a_i cos 2π(x_i − y) to round-off. */
static void best_response_is_exact_on_a_grid(void **st) {
    (void)st;
    games_payoff p;
    init_family(&p, GAMES_FAM_COS_DIFF, 1, 1);
    games_space t = {.type = GAMES_TORUS, .dim = 1, .period = 1};
    games_br_opts o = {1e-2, 100000, 16, 8, 50};
    games_br br;
    assert_int_equal(games_br_init(&br, &t, 3, &o, 1, 0), MS_OK);
    const double x[2] = {0.1234, 0.2}, a[2] = {0.7, 0.3}, own[1] = {0.9};
    double sc[8], best, arg;
    ms_ctx ctx = {1, NULL};
    assert_int_equal(games_br_search(&br, &p, 1, x, a, 2, own, 1, sc, &ctx, &best, &arg), 0);
    /* Closed form: |Σ a_i e^{2πi x_i}| at the angle of that sum. */
    double re = 0.7 * cos(2 * M_PI * 0.1234) + 0.3 * cos(2 * M_PI * 0.2);
    double im = 0.7 * sin(2 * M_PI * 0.1234) + 0.3 * sin(2 * M_PI * 0.2);
    assert_close(best, hypot(re, im), 0, 1e-14);
    assert_close(arg, atan2(im, re) / (2 * M_PI), 0, 1e-7);
    assert_int_equal(br.full_grid, 1);
    games_br_fini(&br);
    games_payoff_fini(&p);
}

/* §8 trig_singular: the LP on a 400-point grid puts its mass next to the
 * exact supports {3/8, 7/8} and {1/8, 5/8}, with value 0. */
static void trig_singular_grid_lp_finds_the_supports(void **st) {
    (void)st;
    enum { N = 400 };
    games_payoff p;
    init_family(&p, GAMES_FAM_TRIG_SINGULAR, 1, 1);
    double *M = ms_malloc(N * N, sizeof *M), *pw = ms_malloc(N, sizeof *pw),
           *qw = ms_malloc(N, sizeof *qw), sc[8], v;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double x = (double)i / N, y = (double)j / N;
            games_payoff_eval(&p, &x, &y, &M[i * N + j], NULL, NULL, sc);
        }
    ms_err err;
    assert_int_equal(games_lp_solve(M, N, N, pw, qw, &v, &err), MS_OK);
    assert_close(v, 0, 0, 1e-12); /* 3/8, 7/8, 1/8, 5/8 are grid points */
    const double sx[2] = {3.0 / 8, 7.0 / 8}, sy[2] = {1.0 / 8, 5.0 / 8};
    for (int k = 0; k < 2; k++) {
        double mx = 0, my = 0;
        for (int i = 0; i < N; i++) {
            if (fabs((double)i / N - sx[k]) < 0.01)
                mx += pw[i];
            if (fabs((double)i / N - sy[k]) < 0.01)
                my += qw[i];
        }
        assert_close(mx, 0.5, 0, 1e-9);
        assert_close(my, 0.5, 0, 1e-9);
    }
    ms_free(M);
    ms_free(pw);
    ms_free(qw);
    games_payoff_fini(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(families_gradients_match_differences),
        cmocka_unit_test(network_gradients_match_differences),
        cmocka_unit_test(fields_match_brute_force_and_ignore_threads),
        cmocka_unit_test(fields_report_the_failing_pair),
        cmocka_unit_test(families_closed_form_equilibria),
        cmocka_unit_test(spaces_geometry),
        cmocka_unit_test(best_response_is_exact_on_a_grid),
        cmocka_unit_test(trig_singular_grid_lp_finds_the_supports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
