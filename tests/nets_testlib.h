/* nets_testlib.h — helpers shared by the tests/test_nets_*.c suites: build
 * defaulted params for a nets kind, run it, read results. Header-only
 * (static functions) so each suite stays one executable. */
#ifndef NETS_TESTLIB_H
#define NETS_TESTLIB_H

#include "test_util.h"

#include <string.h>

#include "kind_harness.h"
#include "ms_alloc.h"
#include "ms_params.h"

/* The test build links the fault-injecting allocator (ms_alloc.h). */
#ifndef MS_FAULT_INJECTION
void ms_alloc_fail_after(long n);
#endif

/* Fill a MAT field from rows×cols doubles (copied). */
static inline void nt_set_mat(ms_mat *m, const double *v, size_t rows, size_t cols) {
    assert_int_equal(ms_mat_alloc(m, rows, cols), MS_OK);
    memcpy(m->v, v, rows * cols * sizeof(double));
}

static inline void nt_set_vec(ms_vec *m, const double *v, size_t n) {
    assert_int_equal(ms_vec_alloc(m, n), MS_OK);
    memcpy(m->v, v, n * sizeof(double));
}

/* Run and require success; the caller frees the tree. */
static inline ms_value *nt_run(const ms_kind *k, const void *p, int threads, ms_progress *last,
                               void (*on_step)(const ms_progress *, void *), void *user) {
    harness_opts o = {threads, 0, last, on_step, user};
    ms_err err;
    ms_err_clear(&err);
    ms_value *v = harness_run(k, p, &o, &err);
    if (!v)
        print_error("run failed: %s (field '%s'): %s\n", ms_status_name(err.code), err.field,
                    err.msg);
    assert_non_null(v);
    return v;
}

/* Data of a VEC/MAT member at a '/'-separated path; *rows × *cols entries
 * (a vector is one row). */
static inline const double *nt_data(const ms_value *v, const char *path, size_t *rows,
                                    size_t *cols) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const ms_value *cur = v;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/")) {
        cur = ms_value_get(cur, tok);
        assert_non_null(cur);
    }
    size_t r, c;
    const double *d = ms_value_data(cur, &r, &c);
    assert_non_null(d);
    if (rows)
        *rows = r;
    if (cols)
        *cols = c;
    return d;
}

/* Expect validation or init to fail with `code` naming `field`. */
static inline void nt_expect_fail(const ms_kind *k, const void *p, ms_status code,
                                  const char *field) {
    harness_opts o = {1, 0, NULL, NULL, NULL};
    ms_err err;
    ms_err_clear(&err);
    ms_value *v = harness_run(k, p, &o, &err);
    assert_null(v);
    if (err.code != code || strcmp(err.field, field) != 0)
        print_error("expected %s on '%s', got %s on '%s': %s\n", ms_status_name(code), field,
                    ms_status_name(err.code), err.field, err.msg);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
}

/* Length of a vector member. */
static inline const double *nt_vec(const ms_value *v, const char *path, size_t *n) {
    size_t r, c;
    const double *d = nt_data(v, path, &r, &c);
    *n = r * c;
    return d;
}

/* Lasso over a fixed dictionary by cyclic coordinate descent:
 * min_c (1/2n)|Φc − y|² + λ|c|_1, Φ n×K row-major, until the duality gap is
 * below gap_rel relative. Returns the primal objective (an upper bound of the
 * optimum within gap_rel). */
static inline double nt_lasso_cd(const double *phi, const double *y, size_t n, size_t K, double lam,
                                 double *c, double gap_rel) {
    double *res = ms_malloc(n, sizeof(double)), *nrm = ms_malloc(K, sizeof(double));
    for (size_t j = 0; j < n; j++)
        res[j] = -y[j];
    for (size_t k = 0; k < K; k++) {
        c[k] = 0;
        nrm[k] = 0;
        for (size_t j = 0; j < n; j++)
            nrm[k] += phi[j * K + k] * phi[j * K + k] / (double)n;
    }
    double obj = INFINITY;
    for (int sweep = 0; sweep < 100000; sweep++) {
        /* Every 10th sweep visits all coordinates; the others only the
         * nonzero ones (the usual active-set speed-up; the gap test below
         * runs after full sweeps only, so the answer is unchanged). */
        int full = sweep % 10 == 0;
        for (size_t k = 0; k < K; k++) {
            if (nrm[k] == 0 || (!full && c[k] == 0))
                continue;
            double g = 0;
            for (size_t j = 0; j < n; j++)
                g += phi[j * K + k] * res[j] / (double)n;
            double z = c[k] - g / nrm[k], t = lam / nrm[k];
            double cn = z > t ? z - t : z < -t ? z + t : 0.0;
            if (cn != c[k]) {
                for (size_t j = 0; j < n; j++)
                    res[j] += (cn - c[k]) * phi[j * K + k];
                c[k] = cn;
            }
        }
        double o = 0;
        for (size_t j = 0; j < n; j++)
            o += res[j] * res[j] / (2.0 * (double)n);
        for (size_t k = 0; k < K; k++)
            o += lam * fabs(c[k]);
        obj = o;
        /* Duality gap: u = r/n scaled into {|Φᵀu|∞ ≤ λ}, D = −(n/2)|u|² − uᵀy. */
        if (full) {
            double mx = 0, uu = 0, uy = 0;
            for (size_t k = 0; k < K; k++) {
                double g = 0;
                for (size_t j = 0; j < n; j++)
                    g += phi[j * K + k] * res[j] / (double)n;
                mx = fabs(g) > mx ? fabs(g) : mx;
            }
            double sc = mx > lam ? lam / mx : 1.0;
            for (size_t j = 0; j < n; j++) {
                double u = sc * res[j] / (double)n;
                uu += u * u;
                uy += u * y[j];
            }
            double dual = -0.5 * (double)n * uu - uy;
            if (obj - dual <= gap_rel * obj)
                break;
        }
    }
    ms_free(res);
    ms_free(nrm);
    return obj;
}

/* Lower bound of the Lasso min_c (1/2n)|Φc − y|² + λ|c|_1 from any c: the
 * dual point u = (Φc − y)/n, scaled into {|Φᵀu|∞ ≤ λ}, has value
 * D(u) = −(n/2)|u|² − uᵀy ≤ optimum (weak duality). */
static inline double nt_lasso_dual(const double *phi, const double *y, size_t n, size_t K,
                                   double lam, const double *c) {
    double *u = ms_malloc(n, sizeof(double)), mx = 0, uu = 0, uy = 0;
    for (size_t s = 0; s < n; s++) {
        u[s] = -y[s];
        for (size_t k = 0; k < K; k++)
            u[s] += phi[s * K + k] * c[k];
        u[s] /= (double)n;
    }
    for (size_t k = 0; k < K; k++) {
        double g = 0;
        for (size_t s = 0; s < n; s++)
            g += phi[s * K + k] * u[s];
        mx = fabs(g) > mx ? fabs(g) : mx;
    }
    double sc = mx > lam ? lam / mx : 1.0;
    for (size_t s = 0; s < n; s++) {
        uu += sc * sc * u[s] * u[s];
        uy += sc * u[s] * y[s];
    }
    ms_free(u);
    return -0.5 * (double)n * uu - uy;
}

#endif
