/* test_games_expr.c — the payoff expression language: values, error
 * positions, limits, and reverse-mode gradients against forward mode and
 * central finite differences on random expressions at random points. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "games_expr.h"
#define MS_FAULT_INJECTION 1 /* the tests link the fault-injecting allocator */
#include "ms_alloc.h"

static games_expr *compile(const char *src, size_t d, size_t e) {
    games_expr *ex = NULL;
    ms_err err;
    ms_status s =
        games_expr_compile(src, d, e, NULL, NULL, 0, "game/payoff", "game/params", &ex, NULL, &err);
    if (s != MS_OK)
        print_error("compile '%s': %s\n", src, err.msg);
    assert_int_equal(s, MS_OK);
    return ex;
}

static double value(const char *src, const double *x, const double *y) {
    games_expr *ex = compile(src, 3, 2);
    double *ws = ms_malloc(games_expr_ws_size(ex), sizeof *ws), f;
    assert_int_equal(games_expr_eval(ex, x, y, &f, NULL, NULL, ws), GAMES_EXPR_OK);
    ms_free(ws);
    games_expr_free(ex);
    return f;
}

static void expr_values_and_precedence(void **st) {
    (void)st;
    const double x[3] = {0.3, -1.7, 2.5}, y[2] = {0.25, 4.0};
    assert_close(value("1+2*3", x, y), 7, 0, 0);
    assert_close(value("2^3^2", x, y), 512, 0, 0);
    assert_close(value("-2^2", x, y), -4, 0, 0);
    assert_close(value("2^-1", x, y), 0.5, 0, 0);
    assert_close(value("(1+2)*3 - 8/4/2", x, y), 8, 0, 0);
    assert_close(value("x1*y2 - x2^2 + x3/y1", x, y), 0.3 * 4 - 1.7 * 1.7 + 10, 1e-15, 0);
    assert_close(value("cos(2*pi*(x1-y1))", x, y), cos(2 * M_PI * 0.05), 1e-15, 0);
    assert_close(value("log(e) + sqrt(y2) + abs(x2) + max(x1, y1) + min(x1, y1)", x, y),
                 1 + 2 + 1.7 + 0.3 + 0.25, 1e-15, 0);
    assert_close(value("relu(x2) + relu(x1) + sigmoid(0) + softplus(0) + tanh(0) + atan(1)", x, y),
                 0.3 + 0.5 + log(2) + M_PI / 4, 1e-15, 0);
    assert_close(value("pow(y2, 0.5) + pow(x2, 3) + 1.5e-1 + .5", x, y), 2 + pow(-1.7, 3) + 0.65,
                 1e-14, 0);
    assert_close(value("exp(x1)*tan(y1)", x, y), exp(0.3) * tan(0.25), 1e-15, 0);
    /* Parameters resolve at compile time and fold. */
    const char *names[] = {"a", "k_2"};
    const double vals[] = {0.5, 2};
    games_expr *ex = NULL;
    ms_err err;
    assert_int_equal(
        games_expr_compile("a*x1^k_2 + k_2", 1, 0, names, vals, 2, "p", "q", &ex, NULL, &err),
        MS_OK);
    double ws[64], f, g;
    assert_true(games_expr_ws_size(ex) <= 64);
    /* x1^k_2 is an integer power, so a negative base is fine. */
    const double xm = -3;
    assert_int_equal(games_expr_eval(ex, &xm, NULL, &f, &g, NULL, ws), GAMES_EXPR_OK);
    assert_close(f, 6.5, 0, 1e-15);
    assert_close(g, -3, 0, 1e-15);
    /* Folded: a, k_2, the constant power and the sum collapse. */
    assert_true(games_expr_length(ex) == 6); /* a x1 ^ * 2 + */
    games_expr_free(ex);
}

static void expect_error(const char *src, size_t d, size_t e, size_t pos, const char *words) {
    games_expr *ex = NULL;
    ms_err err;
    size_t at = (size_t)-1;
    ms_status s =
        games_expr_compile(src, d, e, NULL, NULL, 0, "game/payoff", "game/params", &ex, &at, &err);
    if (s == MS_OK)
        print_error("'%s' compiled\n", src);
    assert_int_equal(s, MS_EINVAL);
    assert_null(ex);
    assert_string_equal(err.field, "game/payoff");
    if (at != pos || !strstr(err.msg, words))
        print_error("'%s': position %zu, message '%s'\n", src, at, err.msg);
    assert_int_equal(at, pos);
    assert_non_null(strstr(err.msg, words));
    char want[32];
    snprintf(want, sizeof want, "at position %zu", pos);
    assert_non_null(strstr(err.msg, want));
}

static void expr_error_positions(void **st) {
    (void)st;
    expect_error("x1 + * 2", 1, 1, 5, "unexpected '*'");
    expect_error("sin(x1", 1, 1, 6, "expected ')'");
    expect_error("foo(x1)", 1, 1, 0, "unknown function 'foo'");
    expect_error("x1 + x3", 2, 1, 5, "dimension 2");
    expect_error("y2", 2, 1, 0, "dimension 1");
    expect_error("x0", 2, 1, 0, "unknown name 'x0'");
    expect_error("1 +", 1, 1, 3, "end of expression");
    expect_error("x1 $ 2", 1, 1, 3, "after a complete expression");
    expect_error("2*1e", 1, 1, 3, "malformed exponent");
    expect_error(")", 1, 1, 0, "unexpected ')'");
    expect_error("max(x1)", 1, 1, 6, "expected ','");
    expect_error("sin(x1, y1)", 1, 1, 6, "takes 1 argument");
    expect_error("(x1 + y1", 1, 1, 8, "close the '(' at position 0");
    expect_error("x1 + bogus", 1, 1, 5, "unknown name 'bogus'");
    expect_error("log(-1) + x1", 1, 1, 0, "domain");
    expect_error("1/0", 1, 1, 1, "not finite");
    expect_error("x1 + 1e999", 1, 1, 5, "out of range");
    expect_error("x1 + \x80", 1, 1, 5, "ASCII");
    expect_error("", 1, 1, 0, "end of expression");
}

static void expr_limits(void **st) {
    (void)st;
    char *src = ms_malloc(GAMES_EXPR_MAX_SRC + 64, 1);
    /* 4097 bytes of spaces around a valid expression: rejected on length. */
    memset(src, ' ', GAMES_EXPR_MAX_SRC + 1);
    memcpy(src, "x1", 2);
    src[GAMES_EXPR_MAX_SRC + 1] = 0;
    games_expr *ex = NULL;
    ms_err err;
    assert_int_equal(games_expr_compile(src, 1, 1, NULL, NULL, 0, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 4096"));
    src[GAMES_EXPR_MAX_SRC] = 0; /* exactly 4096 bytes: accepted */
    assert_int_equal(games_expr_compile(src, 1, 1, NULL, NULL, 0, "f", "p", &ex, NULL, &err),
                     MS_OK);
    games_expr_free(ex);
    /* Nodes: "x1+x1+..." has 2k−1 nodes for k terms. 512 terms = 1023 ok,
     * 513 terms = 1025 nodes rejected at the position of the last '+'. */
    for (int k = 512; k <= 513; k++) {
        src[0] = 0;
        for (int i = 0; i < k; i++)
            strcat(src, i ? "+x1" : "x1");
        ex = NULL;
        size_t at = 0;
        ms_status s = games_expr_compile(src, 1, 1, NULL, NULL, 0, "f", "p", &ex, &at, &err);
        if (k == 512) {
            assert_int_equal(s, MS_OK);
            games_expr_free(ex);
        } else {
            assert_int_equal(s, MS_EINVAL);
            assert_non_null(strstr(err.msg, "more than 1024 nodes"));
            assert_int_equal(at, strlen(src) - 3);
        }
    }
    /* Depth: 63 parentheses around x1 nest 64 levels (ok); with 64 the
     * 65th level is x1 itself, at position 64. */
    for (int k = 63; k <= 64; k++) {
        int n = 0;
        for (int i = 0; i < k; i++)
            src[n++] = '(';
        src[n++] = 'x';
        src[n++] = '1';
        for (int i = 0; i < k; i++)
            src[n++] = ')';
        src[n] = 0;
        ex = NULL;
        size_t at = 0;
        ms_status s = games_expr_compile(src, 1, 1, NULL, NULL, 0, "f", "p", &ex, &at, &err);
        if (k == 63) {
            assert_int_equal(s, MS_OK);
            games_expr_free(ex);
        } else {
            assert_int_equal(s, MS_EINVAL);
            assert_non_null(strstr(err.msg, "nesting deeper than 64"));
            assert_int_equal(at, 64);
        }
    }
    /* A long chain of unary minus is nesting too. */
    memset(src, '-', 200);
    strcpy(src + 200, "x1");
    assert_int_equal(games_expr_compile(src, 1, 1, NULL, NULL, 0, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    /* Dimensions and parameters. */
    assert_int_equal(games_expr_compile("x1", 33, 1, NULL, NULL, 0, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    const char *bad[] = {"1a"}, *res[] = {"sin"}, *var[] = {"y3"};
    const double one = 1, inf = INFINITY;
    assert_int_equal(games_expr_compile("x1", 1, 1, bad, &one, 1, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    assert_string_equal(err.field, "p/1a");
    assert_int_equal(games_expr_compile("x1", 1, 1, res, &one, 1, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    assert_string_equal(err.field, "p/sin");
    assert_int_equal(games_expr_compile("x1", 1, 1, var, &one, 1, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    const char *ok[] = {"a"};
    assert_int_equal(games_expr_compile("x1", 1, 1, ok, &inf, 1, "f", "p", &ex, NULL, &err),
                     MS_EINVAL);
    assert_string_equal(err.field, "p/a");
    ms_free(src);
}

static void expr_domain_errors_at_run_time(void **st) {
    (void)st;
    games_expr *ex = compile("log(x1) + y1", 1, 1);
    double ws[16], f, gx, gy;
    double x = -1, y = 2;
    assert_int_equal(games_expr_eval(ex, &x, &y, &f, &gx, &gy, ws), GAMES_EXPR_DOMAIN);
    games_expr_free(ex);
    ex = compile("1/x1", 1, 1);
    x = 0;
    assert_int_equal(games_expr_eval(ex, &x, &y, &f, &gx, &gy, ws), GAMES_EXPR_NONFINITE);
    games_expr_free(ex);
    ex = compile("sqrt(x1)", 1, 1);
    x = 0; /* value 0 is fine, the gradient is not */
    assert_int_equal(games_expr_eval(ex, &x, &y, &f, NULL, NULL, ws), GAMES_EXPR_OK);
    assert_int_equal(games_expr_eval(ex, &x, &y, &f, &gx, &gy, ws), GAMES_EXPR_NONFINITE);
    games_expr_free(ex);
    /* Branch conventions: abs'(0) = 0, max picks the first on ties. */
    ex = compile("abs(x1) + max(x1, y1)", 1, 1);
    x = 0;
    y = 0;
    assert_int_equal(games_expr_eval(ex, &x, &y, &f, &gx, &gy, ws), GAMES_EXPR_OK);
    assert_close(gx, 1, 0, 0);
    assert_close(gy, 0, 0, 0);
    games_expr_free(ex);
}

/* ---- random expressions --------------------------------------------- */

typedef struct {
    uint64_t s;
    char *out;
    size_t n;
} gen;

static void put(gen *g, const char *t) {
    size_t l = strlen(t);
    memcpy(g->out + g->n, t, l);
    g->n += l;
    g->out[g->n] = 0;
}

static size_t pick(gen *g, size_t n) {
    return (size_t)(test_uniform(&g->s) * (double)n);
}

/* Smooth everywhere on the sampled box (arguments of log/sqrt/pow are kept
 * positive, divisions are by 1 + square), so central differences apply. */
static void random_expr(gen *g, int depth, size_t d, size_t e) {
    char buf[64];
    if (depth == 0 || pick(g, 5) == 0) {
        size_t k = pick(g, 3);
        if (k == 0)
            snprintf(buf, sizeof buf, "%.3f", 2 * test_uniform(&g->s) - 1);
        else if (k == 1)
            snprintf(buf, sizeof buf, "x%zu", 1 + pick(g, d));
        else
            snprintf(buf, sizeof buf, "y%zu", 1 + pick(g, e));
        put(g, buf);
        return;
    }
    static const char *un[] = {"sin(",      "cos(",     "atan(", "tanh(",    "sigmoid(",
                               "softplus(", "exp(0.3*", "-(",    "log(1.5+", "sqrt(2+"};
    static const char *bin[] = {"+", "-", "*"};
    switch (pick(g, 6)) {
    case 0:
    case 1: {
        size_t k = pick(g, sizeof un / sizeof un[0]);
        put(g, un[k]);
        if (k >= 8) { /* log, sqrt: positive argument */
            put(g, "sin(");
            random_expr(g, depth - 1, d, e);
            put(g, "))");
        } else {
            random_expr(g, depth - 1, d, e);
            put(g, ")");
        }
        return;
    }
    case 2:
        put(g, "(");
        random_expr(g, depth - 1, d, e);
        put(g, ")/(1+(");
        random_expr(g, depth - 1, d, e);
        put(g, ")^2)");
        return;
    case 3:
        put(g, "(");
        random_expr(g, depth - 1, d, e);
        snprintf(buf, sizeof buf, ")^%zu", 1 + pick(g, 3));
        put(g, buf);
        return;
    case 4:
        put(g, "pow(2+cos(");
        random_expr(g, depth - 1, d, e);
        put(g, "), sin(");
        random_expr(g, depth - 1, d, e);
        put(g, "))");
        return;
    default:
        put(g, "(");
        random_expr(g, depth - 1, d, e);
        put(g, bin[pick(g, 3)]);
        random_expr(g, depth - 1, d, e);
        put(g, ")");
        return;
    }
}

static void expr_gradients_match_forward_mode_and_differences(void **st) {
    (void)st;
    char *src = ms_malloc(1 << 16, 1);
    size_t checked = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        gen g = {seed * 7919, src, 0};
        size_t d = 1 + pick(&g, 3), e = 1 + pick(&g, 3);
        src[0] = 0;
        random_expr(&g, 5, d, e);
        if (strlen(src) > GAMES_EXPR_MAX_SRC)
            continue;
        games_expr *ex = NULL;
        ms_err err;
        if (games_expr_compile(src, d, e, NULL, NULL, 0, "f", "p", &ex, NULL, &err) != MS_OK) {
            /* Only the node limit may refuse a generated expression. */
            if (!strstr(err.msg, "nodes"))
                print_error("seed %llu '%s': %s\n", (unsigned long long)seed, src, err.msg);
            assert_non_null(strstr(err.msg, "nodes"));
            continue;
        }
        double *ws = ms_malloc(games_expr_fwd_ws_size(ex) + games_expr_ws_size(ex), sizeof *ws);
        for (int pt = 0; pt < 3; pt++) {
            double z[6], gr[6], gf[6], f, ff;
            for (size_t k = 0; k < d + e; k++)
                z[k] = 2 * test_uniform(&g.s) - 1;
            assert_int_equal(games_expr_eval(ex, z, z + d, &f, gr, gr + d, ws), GAMES_EXPR_OK);
            assert_int_equal(games_expr_eval_forward(ex, z, z + d, &ff, gf, gf + d, ws),
                             GAMES_EXPR_OK);
            assert_close(ff, f, 1e-15, 1e-15);
            for (size_t k = 0; k < d + e; k++) {
                assert_close(gf[k], gr[k], 1e-12, 1e-12);
                double fd = 0;
                /* Richardson-extrapolated central differences: error
                 * O(h⁴|f⁽⁵⁾|) + O(ε|f|/h), about 1e-11 for h = 1e-4. */
                for (int r = 0; r < 2; r++) {
                    double h = r ? 5e-5 : 1e-4, zp[6], zm[6], fp, fm;
                    memcpy(zp, z, sizeof z);
                    memcpy(zm, z, sizeof z);
                    zp[k] += h;
                    zm[k] -= h;
                    games_expr_eval(ex, zp, zp + d, &fp, NULL, NULL, ws);
                    games_expr_eval(ex, zm, zm + d, &fm, NULL, NULL, ws);
                    fd += (r ? 4.0 / 3 : -1.0 / 3) * (fp - fm) / (2 * h);
                }
                if (fabs(fd - gr[k]) > 1e-6 * (1 + fabs(gr[k])))
                    print_error("seed %llu var %zu '%s': AD %.17g FD %.17g\n",
                                (unsigned long long)seed, k, src, gr[k], fd);
                assert_close(gr[k], fd, 1e-6, 1e-6);
            }
            checked++;
        }
        ms_free(ws);
        games_expr_free(ex);
    }
    print_message("checked %zu random expression/point pairs\n", checked);
    assert_true(checked > 600);
    ms_free(src);
}

static void expr_compile_survives_allocation_failures(void **st) {
    (void)st;
    for (long k = 0; k < 4; k++) {
        games_expr *ex = NULL;
        ms_err err;
        ms_alloc_fail_after(k);
        ms_status s =
            games_expr_compile("sin(x1)*y1", 1, 1, NULL, NULL, 0, "f", "p", &ex, NULL, &err);
        ms_alloc_fail_after(-1);
        assert_true(s == MS_OK || (s == MS_ENOMEM && !ex));
        games_expr_free(ex);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expr_values_and_precedence),
        cmocka_unit_test(expr_error_positions),
        cmocka_unit_test(expr_limits),
        cmocka_unit_test(expr_domain_errors_at_run_time),
        cmocka_unit_test(expr_gradients_match_forward_mode_and_differences),
        cmocka_unit_test(expr_compile_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
