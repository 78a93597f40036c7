/* games_lp.c — dense tableau simplex for matrix games. See games_lp.h.
 *
 * Tableau layout: rows r < n are the constraints (M'ᵀt + s = 1), row n is
 * the objective written as z − 1ᵀt = 0, so a negative entry in row n marks
 * an improving column. Columns k < m are t_k, columns m + j the slack of
 * constraint j, column m + n the right-hand side.
 */
#include "games_lp.h"

#include <math.h>
#include <string.h>

#include "ms_alloc.h"

/* Reduced costs above −EPS count as non-negative (optimality); pivot entries
 * below EPS are treated as zero in the ratio test. The tableau entries are
 * O(1) after the shift makes M' ≥ 1, so absolute thresholds are meaningful. */
#define LP_EPS 1e-11
/* Degenerate pivots in a row before switching to Bland's rule. */
#define LP_BLAND_AFTER 50

#define T(lp, r, k) ((lp)->tab[(r) * (lp)->cols + (k)])

ms_status games_lp_init(games_lp *lp, const double *M, size_t m, size_t n) {
    memset(lp, 0, sizeof *lp);
    size_t cols = m + n + 1;
    double *tab = ms_calloc((n + 1) * cols, sizeof(double));
    size_t *basis = ms_malloc(n, sizeof(size_t));
    if (!tab || !basis) {
        ms_free(tab);
        ms_free(basis);
        return MS_ENOMEM;
    }
    double lo = M[0];
    for (size_t k = 1; k < m * n; k++)
        if (M[k] < lo)
            lo = M[k];
    lp->m = m;
    lp->n = n;
    lp->cols = cols;
    lp->tab = tab;
    lp->basis = basis;
    lp->shift = 1.0 - lo;
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < m; i++)
            T(lp, j, i) = M[i * n + j] + lp->shift;
        T(lp, j, m + j) = 1.0;
        T(lp, j, m + n) = 1.0;
        basis[j] = m + j;
    }
    for (size_t i = 0; i < m; i++)
        T(lp, n, i) = -1.0;
    return MS_OK;
}

void games_lp_fini(games_lp *lp) {
    if (!lp)
        return;
    ms_free(lp->tab);
    ms_free(lp->basis);
    lp->tab = NULL;
    lp->basis = NULL;
}

/* Entering column: the most negative reduced cost (Dantzig) or the first
 * negative one (Bland). Returns cols when optimal. */
static size_t entering(const games_lp *lp, int bland) {
    size_t best = lp->cols;
    double bv = -LP_EPS;
    for (size_t k = 0; k + 1 < lp->cols; k++) {
        double c = T(lp, lp->n, k);
        if (c < bv) {
            best = k;
            if (bland)
                break;
            bv = c;
        }
    }
    return best;
}

/* Leaving row by the minimum ratio test; ties go to the smallest basic
 * variable index (Bland). Returns n when the column is unbounded, which
 * cannot happen here (M' > 0 bounds every t_k). */
static size_t leaving(const games_lp *lp, size_t k) {
    size_t best = lp->n;
    double br = INFINITY;
    for (size_t r = 0; r < lp->n; r++) {
        double a = T(lp, r, k);
        if (a <= LP_EPS)
            continue;
        double ratio = T(lp, r, lp->cols - 1) / a;
        double tie = 1e-14 * (1 + fabs(br));
        if (best == lp->n || ratio < br - tie) {
            best = r;
            br = ratio;
        } else if (ratio <= br + tie && lp->basis[r] < lp->basis[best]) {
            best = r;
            br = ratio < br ? ratio : br;
        }
    }
    return best;
}

static void pivot(games_lp *lp, size_t r, size_t k) {
    size_t cols = lp->cols;
    double *pr = &T(lp, r, 0);
    double inv = 1.0 / pr[k];
    for (size_t c = 0; c < cols; c++)
        pr[c] *= inv;
    pr[k] = 1.0;
    for (size_t s = 0; s <= lp->n; s++) {
        if (s == r)
            continue;
        double *ps = &T(lp, s, 0);
        double f = ps[k];
        if (f == 0)
            continue;
        for (size_t c = 0; c < cols; c++)
            ps[c] -= f * pr[c];
        ps[k] = 0.0;
    }
    lp->basis[r] = k;
}

ms_status games_lp_iterate(games_lp *lp, size_t max_pivots, ms_err *err) {
    for (size_t it = 0; it < max_pivots && !lp->done; it++) {
        size_t k = entering(lp, lp->degenerate_run >= LP_BLAND_AFTER);
        if (k == lp->cols) {
            lp->done = 1;
            break;
        }
        size_t r = leaving(lp, k);
        if (r == lp->n)
            return ms_fail(err, MS_EINTERNAL, "game/matrix", "simplex: unbounded column %zu", k);
        double rhs = T(lp, r, lp->cols - 1);
        lp->degenerate_run = rhs <= LP_EPS ? lp->degenerate_run + 1 : 0;
        pivot(lp, r, k);
        lp->pivots++;
        if (!isfinite(T(lp, lp->n, lp->cols - 1)))
            return ms_fail(err, MS_ENUMERIC, "game/matrix",
                           "simplex: non-finite objective at pivot %zu", lp->pivots);
    }
    return MS_OK;
}

/* Clip at zero and normalise; uniform if everything vanished (cannot happen
 * at an optimum, but keeps the output a distribution). */
static void to_simplex(double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] > 0))
            v[i] = 0;
        s += v[i];
    }
    for (size_t i = 0; i < n; i++)
        v[i] = s > 0 ? v[i] / s : 1.0 / (double)n;
}

void games_lp_solution(const games_lp *lp, double *p, double *q, double *value) {
    size_t m = lp->m, n = lp->n;
    for (size_t i = 0; i < m; i++)
        p[i] = 0;
    for (size_t r = 0; r < n; r++)
        if (lp->basis[r] < m)
            p[lp->basis[r]] = T(lp, r, lp->cols - 1);
    /* Dual values: reduced costs of the slacks. */
    for (size_t j = 0; j < n; j++)
        q[j] = T(lp, n, m + j);
    double z = T(lp, n, lp->cols - 1); /* 1ᵀt = 1/V' */
    to_simplex(p, m);
    to_simplex(q, n);
    if (value)
        *value = 1.0 / z - lp->shift;
}

ms_status games_lp_solve(const double *M, size_t m, size_t n, double *p, double *q, double *value,
                         ms_err *err) {
    games_lp lp;
    if (games_lp_init(&lp, M, m, n) != MS_OK)
        return ms_fail(err, MS_ENOMEM, "game/matrix", "simplex tableau %zu×%zu", n + 1, m + n + 1);
    ms_status s = MS_OK;
    /* Each pivot strictly improves or is degenerate; Bland's rule bounds the
     * total, and the cap below is only a guard against round-off loops. */
    size_t cap = 50 * (m + n) + 1000;
    while (s == MS_OK && !lp.done && lp.pivots < cap)
        s = games_lp_iterate(&lp, 100, err);
    if (s == MS_OK && !lp.done)
        s = ms_fail(err, MS_ENUMERIC, "game/matrix", "simplex did not terminate in %zu pivots",
                    cap);
    if (s == MS_OK)
        games_lp_solution(&lp, p, q, value);
    games_lp_fini(&lp);
    return s;
}

double games_matrix_gap(const double *M, size_t m, size_t n, const double *p, const double *q,
                        double *value) {
    double best_col = -INFINITY, best_row = INFINITY, v = 0;
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        for (size_t i = 0; i < m; i++)
            s += p[i] * M[i * n + j];
        if (s > best_col)
            best_col = s;
        v += s * q[j];
    }
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        const double *row = M + i * n;
        for (size_t j = 0; j < n; j++)
            s += row[j] * q[j];
        if (s < best_row)
            best_row = s;
    }
    if (value)
        *value = v;
    return best_col - best_row;
}
