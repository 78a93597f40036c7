/* test_games_lp.c — matrix games: the simplex against closed forms and its
 * own optimality certificates, mirror prox against the simplex (games.md §8). */
#include "test_util.h"

#include <string.h>

#include "games_lp.h"
#include "games_mp.h"
#define MS_FAULT_INJECTION 1 /* the tests link the fault-injecting allocator */
#include "ms_alloc.h"

static void check_simplex(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(v[i] >= 0);
        s += v[i];
    }
    assert_close(s, 1.0, 0, 1e-12);
}

/* Solve by LP and check the certificate: p, q are distributions and
 * max_j (Mᵀp)_j = min_i (Mq)_i, i.e. p guarantees at most what q guarantees
 * at least: both are optimal and the common number is the value. */
static double lp_certified(const double *M, size_t m, size_t n, double *p, double *q) {
    double v, pv;
    ms_err err;
    assert_int_equal(games_lp_solve(M, m, n, p, q, &v, &err), MS_OK);
    check_simplex(p, m);
    check_simplex(q, n);
    double maxabs = 0;
    for (size_t k = 0; k < m * n; k++)
        maxabs = fmax(maxabs, fabs(M[k]));
    double gap = games_matrix_gap(M, m, n, p, q, &pv);
    assert_true(gap >= -1e-12);
    assert_true(gap <= 1e-9 * (1 + maxabs));
    assert_close(pv, v, 0, 1e-9 * (1 + maxabs));
    return v;
}

static void lp_closed_forms(void **st) {
    (void)st;
    double p[3], q[3];
    const double rps[9] = {0, -1, 1, 1, 0, -1, -1, 1, 0};
    assert_close(lp_certified(rps, 3, 3, p, q), 0.0, 0, 1e-12);
    for (int i = 0; i < 3; i++) {
        assert_close(p[i], 1.0 / 3, 0, 1e-12);
        assert_close(q[i], 1.0 / 3, 0, 1e-12);
    }
    const double pennies[4] = {1, -1, -1, 1};
    assert_close(lp_certified(pennies, 2, 2, p, q), 0.0, 0, 1e-12);
    assert_close(p[0], 0.5, 0, 1e-12);
    assert_close(q[0], 0.5, 0, 1e-12);
    const double g17[4] = {3, -1, -2, 1};
    assert_close(lp_certified(g17, 2, 2, p, q), 1.0 / 7, 0, 1e-12);
    assert_close(p[0], 3.0 / 7, 0, 1e-12);
    assert_close(p[1], 4.0 / 7, 0, 1e-12);
    assert_close(q[0], 2.0 / 7, 0, 1e-12);
    assert_close(q[1], 5.0 / 7, 0, 1e-12);
    /* A saddle point in pure strategies (row 1, column 0: min of its row... ):
     * M = [[4, 5], [2, 3]]: the row player takes row 1, the column player
     * column 1, value 3. */
    const double pure[4] = {4, 5, 2, 3};
    assert_close(lp_certified(pure, 2, 2, p, q), 3.0, 0, 1e-12);
    assert_close(p[1], 1.0, 0, 1e-12);
    assert_close(q[1], 1.0, 0, 1e-12);
    /* 1×n and m×1 games. */
    const double row[3] = {2.5, -1.25, 7.0};
    assert_close(lp_certified(row, 1, 3, p, q), 7.0, 0, 1e-12);
    assert_close(lp_certified(row, 3, 1, p, q), -1.25, 0, 1e-12);
}

static double *random_matrix(size_t m, size_t n, uint64_t seed, int integer) {
    double *M = ms_malloc(m * n, sizeof *M);
    assert_non_null(M);
    uint64_t s = seed;
    for (size_t k = 0; k < m * n; k++) {
        double u = test_uniform(&s);
        /* Small integers make massively degenerate LPs (ties everywhere). */
        M[k] = integer ? floor(5 * u) - 2 : 4.0 * u - 1.7;
    }
    return M;
}

static void lp_random_games_certified(void **st) {
    (void)st;
    const size_t sizes[][2] = {{5, 5}, {7, 3}, {3, 9}, {50, 50}, {40, 60}, {120, 80}};
    double *p = ms_malloc(200, sizeof *p), *q = ms_malloc(200, sizeof *q);
    for (uint64_t seed = 1; seed <= 6; seed++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            for (int integer = 0; integer <= 1; integer++) {
                double *M = random_matrix(sizes[k][0], sizes[k][1], 1000 * seed + k, integer);
                print_message("seed %llu size %zux%zu integer %d\n", (unsigned long long)seed,
                              sizes[k][0], sizes[k][1], integer);
                lp_certified(M, sizes[k][0], sizes[k][1], p, q);
                ms_free(M);
            }
    ms_free(p);
    ms_free(q);
}

/* Run K-step mirror prox for T iterations; return NI of the average and of
 * the last iterate. */
static void run_mp(const double *M, size_t m, size_t n, size_t K, double eta, size_t T,
                   const double *p0, const double *q0, double *ni_avg, double *ni_last,
                   double *v_last) {
    games_mp mp;
    ms_err err;
    assert_int_equal(games_mp_init(&mp, M, m, n, K, eta, eta, p0, q0), MS_OK);
    ms_ctx ctx = {1, NULL};
    for (size_t t = 0; t < T; t++)
        assert_int_equal(games_mp_step(&mp, &ctx, &err), MS_OK);
    double *pa = ms_malloc(m, sizeof *pa), *qa = ms_malloc(n, sizeof *qa);
    games_mp_average(&mp, pa, qa);
    check_simplex(mp.p, m);
    check_simplex(mp.q, n);
    *ni_avg = games_matrix_gap(M, m, n, pa, qa, NULL);
    *ni_last = games_matrix_gap(M, m, n, mp.p, mp.q, v_last);
    ms_free(pa);
    ms_free(qa);
    games_mp_fini(&mp);
}

static void mp_rock_paper_scissors(void **st) {
    (void)st;
    const double rps[9] = {0, -1, 1, 1, 0, -1, -1, 1, 0};
    const double p0[3] = {.5, .3, .2}, q0[3] = {.2, .2, .6};
    double avg, last, v;
    /* §8: MP, η = 0.1, T = 5000 reaches NI < 1e-3 (spec measured 7e-4). */
    run_mp(rps, 3, 3, 2, 0.1, 5000, p0, q0, &avg, &last, &v);
    print_message("RPS MP: NI last %.3g avg %.3g\n", last, avg);
    assert_true(last < 1e-3);
    /* MDA's last iterate spirals out to the boundary (spec: NI ≈ 2). */
    run_mp(rps, 3, 3, 1, 0.1, 5000, p0, q0, &avg, &last, &v);
    print_message("RPS MDA: NI last %.3g\n", last);
    assert_true(last > 0.5);
}

static void mp_small_closed_forms(void **st) {
    (void)st;
    double avg, last, v;
    const double pennies[4] = {1, -1, -1, 1};
    run_mp(pennies, 2, 2, 2, 0.5, 2000, NULL, NULL, &avg, &last, &v);
    assert_true(last < 1e-9);
    assert_close(v, 0.0, 0, 1e-9);
    const double g17[4] = {3, -1, -2, 1};
    const double p0[2] = {.9, .1}, q0[2] = {.3, .7};
    run_mp(g17, 2, 2, 2, 0.25, 3000, p0, q0, &avg, &last, &v);
    print_message("1/7 game MP last NI %.3g value %.17g\n", last, v);
    assert_true(last < 1e-9);
    assert_close(v, 1.0 / 7, 0, 1e-9);
}

/* Nemirovski's bound on the averaged gradient points, η = 1/max|M|. */
static void mp_average_obeys_the_bound(void **st) {
    (void)st;
    const size_t sizes[][2] = {{14, 12}, {30, 20}};
    const size_t Ts[] = {10, 100, 1000};
    for (size_t k = 0; k < 2; k++)
        for (size_t t = 0; t < 3; t++) {
            size_t m = sizes[k][0], n = sizes[k][1];
            double *M = random_matrix(m, n, 77 + k, 0), L = 0;
            for (size_t i = 0; i < m * n; i++)
                L = fmax(L, fabs(M[i]));
            double avg, last, v;
            run_mp(M, m, n, 2, 1.0 / L, Ts[t], NULL, NULL, &avg, &last, &v);
            double bound = (log((double)m) + log((double)n)) * L / (double)Ts[t];
            print_message("%zux%zu T %zu: NI avg %.3g <= bound %.3g\n", m, n, Ts[t], avg, bound);
            assert_true(avg >= 0);
            assert_true(avg <= bound);
            ms_free(M);
        }
}

/* Priority (1) of the issue: value and strategies of a 50×50 game from
 * mirror prox's last iterate match the simplex to 1e-6. A generic random
 * game has a unique equilibrium, so strategies are comparable. */
static void mp_matches_lp_on_50x50(void **st) {
    (void)st;
    size_t m = 50, n = 50;
    double *M = random_matrix(m, n, 4242, 0);
    double *p = ms_malloc(m, sizeof *p), *q = ms_malloc(n, sizeof *q);
    double v = lp_certified(M, m, n, p, q);
    games_mp mp;
    ms_err err;
    ms_ctx ctx = {2, NULL};
    assert_int_equal(games_mp_init(&mp, M, m, n, 2, 1.0, 1.0, NULL, NULL), MS_OK);
    double gap = 1, val = 0;
    size_t t = 0;
    for (; t < 200000 && gap > 1e-8; t++) {
        assert_int_equal(games_mp_step(&mp, &ctx, &err), MS_OK);
        if (t % 100 == 0)
            gap = games_matrix_gap(M, m, n, mp.p, mp.q, &val);
    }
    gap = games_matrix_gap(M, m, n, mp.p, mp.q, &val);
    print_message("50x50: MP last iterate NI %.3g after %zu its, value %.12f vs LP %.12f\n", gap, t,
                  val, v);
    assert_true(gap <= 1e-8);
    assert_close(val, v, 0, 1e-6);
    for (size_t i = 0; i < m; i++)
        assert_close(mp.p[i], p[i], 0, 1e-6);
    for (size_t j = 0; j < n; j++)
        assert_close(mp.q[j], q[j], 0, 1e-6);
    games_mp_fini(&mp);
    ms_free(M);
    ms_free(p);
    ms_free(q);
}

static void mp_threads_do_not_change_bits(void **st) {
    (void)st;
    size_t m = 300, n = 257;
    double *M = random_matrix(m, n, 9, 0);
    games_mp a, b;
    ms_err err;
    ms_ctx c1 = {1, NULL}, c2 = {2, NULL};
    assert_int_equal(games_mp_init(&a, M, m, n, 2, 0.3, 0.3, NULL, NULL), MS_OK);
    assert_int_equal(games_mp_init(&b, M, m, n, 2, 0.3, 0.3, NULL, NULL), MS_OK);
    for (int t = 0; t < 20; t++) {
        assert_int_equal(games_mp_step(&a, &c1, &err), MS_OK);
        assert_int_equal(games_mp_step(&b, &c2, &err), MS_OK);
    }
    assert_memory_equal(a.p, b.p, m * sizeof(double));
    assert_memory_equal(a.q, b.q, n * sizeof(double));
    games_mp_fini(&a);
    games_mp_fini(&b);
    ms_free(M);
}

static void lp_and_mp_survive_allocation_failures(void **st) {
    (void)st;
    const double g17[4] = {3, -1, -2, 1};
    for (long k = 0; k < 30; k++) {
        games_mp mp;
        ms_alloc_fail_after(k);
        ms_status s = games_mp_init(&mp, g17, 2, 2, 2, 0.1, 0.1, NULL, NULL);
        ms_alloc_fail_after(-1);
        if (s == MS_OK)
            games_mp_fini(&mp);
        else
            assert_int_equal(s, MS_ENOMEM);
        double p[2], q[2], v;
        ms_err err;
        ms_alloc_fail_after(k);
        s = games_lp_solve(g17, 2, 2, p, q, &v, &err);
        ms_alloc_fail_after(-1);
        assert_true(s == MS_OK || s == MS_ENOMEM);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lp_closed_forms),
        cmocka_unit_test(lp_random_games_certified),
        cmocka_unit_test(mp_rock_paper_scissors),
        cmocka_unit_test(mp_small_closed_forms),
        cmocka_unit_test(mp_average_obeys_the_bound),
        cmocka_unit_test(mp_matches_lp_on_50x50),
        cmocka_unit_test(mp_threads_do_not_change_bits),
        cmocka_unit_test(lp_and_mp_survive_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
