/* test_ot_pot.c — the `ot` kind against POT (Debian's python3-pot 0.8.2)
 * on the seeded instances of tests/fixtures/ot_pot.json, made by
 * tests/fixtures/make_ot_fixtures.py: plans, potentials (up to a constant),
 * objectives, unbalanced plans and Sinkhorn divergences. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "kind_harness.h"
#include "pot_fixtures.h"
#include "registry.h"

static const ms_kind *K;
static cJSON *fixtures;

static int setup(void **st) {
    (void)st;
    K = ms_registry_find("ot");
    fixtures = fixture_load("ot_pot.json");
    if (!K || !fixtures)
        return -1;
    return 0;
}

static int teardown(void **st) {
    (void)st;
    cJSON_Delete(fixtures);
    return 0;
}

static const cJSON *find_case(const char *name) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fixtures, "cases")) {
        if (strcmp(cJSON_GetObjectItem(c, "name")->valuestring, name) == 0)
            return c;
    }
    fail_msg("no fixture %s", name);
    return NULL;
}

static void load_measure(void *p, const char *field, const cJSON *m) {
    size_t n, one, d = 0;
    double *w = fixture_flat(cJSON_GetObjectItem(m, "weights"), &n, &one);
    double *pts = NULL;
    const cJSON *jp = cJSON_GetObjectItem(m, "points");
    if (jp) {
        size_t n2;
        pts = fixture_flat(jp, &n2, &d);
        assert_int_equal(n2, n);
    }
    harness_set_measure(harness_field(K, p, field), pts, n, d, w);
    free(w);
    free(pts);
}

static void *params_of(const cJSON *c) {
    void *p = harness_params(K);
    load_measure(p, "source", cJSON_GetObjectItem(c, "source"));
    load_measure(p, "target", cJSON_GetObjectItem(c, "target"));
    harness_set_double(K, p, "epsilon", cJSON_GetObjectItem(c, "epsilon")->valuedouble);
    harness_set_double(K, p, "tol", 1e-13);
    const cJSON *cm = cJSON_GetObjectItem(c, "cost_matrix");
    if (cm) {
        /* ms_alloc is plain malloc in production and in the test build
         * without an armed fault, so the params may own this buffer. */
        ms_mat *mat = harness_field(K, p, "cost_matrix");
        mat->v = fixture_flat(cm, &mat->rows, &mat->cols);
    }
    const cJSON *rho = cJSON_GetObjectItem(c, "rho");
    if (rho)
        harness_set_double(K, p, "unbalanced/rho", rho->valuedouble);
    if (cJSON_IsTrue(cJSON_GetObjectItem(c, "debiased")))
        harness_set_bool(K, p, "debiased", 1);
    harness_set_bool(K, p, "return_plan", cJSON_GetObjectItem(c, "plan") != NULL);
    return p;
}

static ms_value *solve(void *p) {
    ms_err err;
    harness_opts o = {.threads = 1};
    ms_value *v = harness_run(K, p, &o, &err);
    if (!v)
        fail_msg("%s: %s", err.field, err.msg);
    return v;
}

static void compare_plan(const ms_value *v, const cJSON *c, double atol) {
    size_t r, cc, r2, c2;
    const double *P = ms_value_data(ms_value_get(v, "plan"), &r, &cc);
    double *Q = fixture_flat(cJSON_GetObjectItem(c, "plan"), &r2, &c2);
    assert_int_equal(r, r2);
    assert_int_equal(cc, c2);
    double worst = 0;
    for (size_t i = 0; i < r * cc; i++)
        worst = fmax(worst, fabs(P[i] - Q[i]));
    print_message("%s: max |plan - POT| = %.2e\n", cJSON_GetObjectItem(c, "name")->valuestring,
                  worst);
    assert_true(worst <= atol);
    free(Q);
}

/* Potentials agree with POT's up to one additive constant. */
static void compare_potentials(const ms_value *v, const cJSON *c, double atol) {
    size_t n, one, m;
    const double *f = ms_value_data(ms_value_get(v, "f"), NULL, &n);
    const double *g = ms_value_data(ms_value_get(v, "g"), NULL, &m);
    double *pf = fixture_flat(cJSON_GetObjectItem(c, "f"), &n, &one);
    double *pg = fixture_flat(cJSON_GetObjectItem(c, "g"), &m, &one);
    double k = f[0] - pf[0];
    for (size_t i = 0; i < n; i++)
        assert_close(f[i] - k, pf[i], 0, atol);
    for (size_t j = 0; j < m; j++)
        assert_close(g[j] + k, pg[j], 0, atol);
    free(pf);
    free(pg);
}

static void balanced_case(const char *name) {
    const cJSON *c = find_case(name);
    void *p = params_of(c);
    ms_value *v = solve(p);
    compare_plan(v, c, 1e-11);
    compare_potentials(v, c, 1e-9);
    assert_close(ms_value_getnum(v, "objective"), cJSON_GetObjectItem(c, "objective")->valuedouble,
                 1e-10, 0);
    assert_close(ms_value_getnum(v, "transport_cost"),
                 cJSON_GetObjectItem(c, "transport_cost")->valuedouble, 1e-10, 0);
    ms_value_free(v);
    harness_params_free(K, p);
}

static void clouds_2d(void **st) {
    (void)st;
    balanced_case("clouds_2d");
}
static void clouds_3d_small_eps(void **st) {
    (void)st;
    balanced_case("clouds_3d_small_eps");
}
static void l1_cost_matrix(void **st) {
    (void)st;
    balanced_case("l1_cost_matrix");
}

static void unbalanced_2d(void **st) {
    (void)st;
    const cJSON *c = find_case("unbalanced_2d");
    void *p = params_of(c);
    ms_value *v = solve(p);
    compare_plan(v, c, 1e-10);
    assert_close(ms_value_getnum(v, "mass"), cJSON_GetObjectItem(c, "mass")->valuedouble, 1e-9, 0);
    ms_value_free(v);
    harness_params_free(K, p);
}

static void divergence_2d(void **st) {
    (void)st;
    const cJSON *c = find_case("divergence_2d");
    void *p = params_of(c);
    ms_value *v = solve(p);
    assert_close(ms_value_getnum(v, "divergence"),
                 cJSON_GetObjectItem(c, "divergence")->valuedouble, 1e-9, 0);
    ms_value_free(v);
    harness_params_free(K, p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clouds_2d),      cmocka_unit_test(clouds_3d_small_eps),
        cmocka_unit_test(l1_cost_matrix), cmocka_unit_test(unbalanced_2d),
        cmocka_unit_test(divergence_2d),
    };
    return TEST_RUN(tests, setup, teardown);
}
