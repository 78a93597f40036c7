/* nets_bilevel.c — the exact inner solve of the bilevel reduction of
 * mean-field Langevin dynamics for signed measures [WMC24] (spec §4).
 *
 * What it is for: given the features Φ_ji = σ(θ_i·x_j) of the current
 * particles, the optimal output weights
 *   r = argmin_r R(Φ r/m) + (λ/2)(1/m) Σ r_i².
 * Square loss: one Cholesky solve of the smaller of the two systems,
 *   primal (m ≤ n):  (ΦᵀΦ/(nm) + λI) r = Φᵀy/n,
 *   dual   (n < m):  (ΦΦᵀ/m + λnI) z = y,  r = Φᵀz  (then f − y = −λn z).
 * Logistic loss: damped Newton on r, warm-started from the previous step,
 * with the gradient norm reported as `inner_residual`.
 * The outer drift −r_i ∇g(θ_i) is ordinary back-propagation with r plugged
 * in (nets__tl_backward), done by the caller.
 *
 * What it is not for: the outer Langevin step (the two_layer kind).
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "nets_internal.h"

ms_status nets__bilevel_alloc(nets_bilevel *b, size_t n, size_t m, size_t d, nets_loss loss) {
    memset(b, 0, sizeof *b);
    size_t k = loss == NETS_SQUARE && n < m ? n : m;
    b->sys = ms_malloc(k * k, sizeof(double));
    b->rhs = ms_malloc(n > m ? n : m, sizeof(double));
    b->dl2 = ms_malloc(2 * n + m, sizeof(double));
    if (loss == NETS_LOGISTIC)
        b->phid = ms_malloc(n * m, sizeof(double));
    if (!b->sys || !b->rhs || !b->dl2 || (loss == NETS_LOGISTIC && !b->phid)) {
        nets__bilevel_free(b);
        return MS_ENOMEM;
    }
    b->n = n;
    b->m = m;
    b->d = d;
    b->loss = loss;
    return MS_OK;
}

void nets__bilevel_free(nets_bilevel *b) {
    if (!b)
        return;
    ms_free(b->sys);
    ms_free(b->rhs);
    ms_free(b->dl2);
    ms_free(b->phid);
    b->sys = b->rhs = b->dl2 = b->phid = NULL;
}

enum { GB = 256 };

/* Upper triangle of C = α AᵀA (trans, A rows×cols → cols×cols) or α AAᵀ
 * (rows×rows), by fixed block rows so that threads do not change the bits. */
static void gram_upper(const double *A, size_t rows, size_t cols, int trans, double alpha,
                       double *C, int nt) {
    size_t k = trans ? cols : rows, inner = trans ? rows : cols;
    size_t nb = (k + GB - 1) / GB;
    CBLAS_TRANSPOSE ta = trans ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tb = trans ? CblasNoTrans : CblasTrans;
    if ((double)k * (double)k * (double)inner < 1e6)
        nt = 1; /* too small to be worth a parallel region */
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic)
    for (size_t bi = 0; bi < nb; bi++) {
        size_t i0 = bi * GB, w = k - i0 < GB ? k - i0 : GB;
        const double *Ai = trans ? A + i0 : A + i0 * cols;
        cblas_dsyrk(CblasRowMajor, CblasUpper, ta, (int)w, (int)inner, alpha, Ai, (int)cols, 0.0,
                    C + i0 * k + i0, (int)k);
        size_t rest = k - i0 - w;
        if (rest) {
            const double *Aj = trans ? A + i0 + w : A + (i0 + w) * cols;
            cblas_dgemm(CblasRowMajor, ta, tb, (int)w, (int)rest, (int)inner, alpha, Ai, (int)cols,
                        Aj, (int)cols, 0.0, C + i0 * k + i0 + w, (int)k);
        }
    }
}

/* f = Φr/m, e, and the loss. */
static double refresh(nets_tl *t, const double *r) {
    const size_t n = t->n, m = t->m;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, 1.0 / (double)m, t->h, (int)m, r, 1,
                0.0, t->f, 1);
    double sum = 0;
    for (size_t j = 0; j < n; j++) {
        double dl;
        sum += nets__loss(t->loss, t->f[j], t->y[j], &dl);
        t->e[j] = dl / (double)n;
    }
    return sum / (double)n;
}

static ms_status solve_square(nets_bilevel *b, nets_tl *t, double *r, ms_err *err, int nt) {
    const size_t n = t->n, m = t->m;
    const double lam = b->lambda;
    lapack_int info;
    if (m <= n) {
        gram_upper(t->h, n, m, 1, 1.0 / ((double)n * (double)m), b->sys, nt);
        for (size_t i = 0; i < m; i++)
            b->sys[i * m + i] += lam;
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, 1.0 / (double)n, t->h, (int)m, t->y,
                    1, 0.0, r, 1);
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, b->sys, (lapack_int)m);
        if (info == 0)
            info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, 1, b->sys, (lapack_int)m, r,
                                  1);
    } else {
        gram_upper(t->h, n, m, 0, 1.0 / (double)m, b->sys, nt);
        for (size_t j = 0; j < n; j++)
            b->sys[j * n + j] += lam * (double)n;
        memcpy(b->rhs, t->y, n * sizeof(double));
        info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, b->sys, (lapack_int)n);
        if (info == 0)
            info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)n, 1, b->sys, (lapack_int)n,
                                  b->rhs, 1);
        if (info == 0)
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)m, 1.0, t->h, (int)m, b->rhs, 1,
                        0.0, r, 1);
    }
    if (info != 0)
        return ms_fail(err, MS_ENUMERIC, "lambda",
                       "bilevel inner system is not positive definite (LAPACK info %d)", (int)info);
    b->inner_residual = 0;
    return MS_OK;
}

/* Mean-field gradient of the inner objective: Φᵀℓ'/n + λr (= m ∂/∂r). */
static double inner_grad(nets_bilevel *b, const nets_tl *t, const double *r, double *g) {
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)t->n, (int)t->m, 1.0, t->h, (int)t->m, t->e, 1, 0.0,
                g, 1);
    double mx = 0;
    for (size_t i = 0; i < t->m; i++) {
        g[i] += b->lambda * r[i];
        mx = fabs(g[i]) > mx ? fabs(g[i]) : mx;
    }
    return mx;
}

static double inner_obj(const nets_bilevel *b, const nets_tl *t, const double *r, double loss) {
    double s = 0;
    for (size_t i = 0; i < t->m; i++)
        s += r[i] * r[i];
    return loss + 0.5 * b->lambda * s / (double)t->m;
}

static ms_status solve_logistic(nets_bilevel *b, nets_tl *t, double *r, double *loss, ms_err *err,
                                int nt) {
    const size_t n = t->n, m = t->m;
    double *g = b->rhs, *q = b->dl2 + n, *dir = b->dl2 + 2 * n;
    double cur = refresh(t, r);
    for (size_t it = 0; it < b->newton_iter; it++) {
        double gmax = inner_grad(b, t, r, g);
        b->inner_residual = gmax;
        if (gmax <= b->newton_tol)
            break;
        /* Hessian (×m): ΦᵀDΦ/(nm) + λI, D = ℓ''; rows of Φ scaled by sqrt(ℓ''). */
        for (size_t j = 0; j < n; j++) {
            double z = -t->y[j] * t->f[j];
            double s = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
            double sq = sqrt(t->y[j] * t->y[j] * s * (1.0 - s));
            for (size_t i = 0; i < m; i++)
                b->phid[j * m + i] = sq * t->h[j * m + i];
        }
        gram_upper(b->phid, n, m, 1, 1.0 / ((double)n * (double)m), b->sys, nt);
        for (size_t i = 0; i < m; i++) {
            b->sys[i * m + i] += b->lambda;
            dir[i] = -g[i];
        }
        lapack_int info =
            LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, b->sys, (lapack_int)m);
        if (info == 0)
            info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', (lapack_int)m, 1, b->sys, (lapack_int)m,
                                  dir, 1);
        if (info != 0)
            return ms_fail(err, MS_ENUMERIC, "lambda",
                           "bilevel Newton system is not positive definite (LAPACK info %d)",
                           (int)info);
        /* Damped step: backtrack until the inner objective decreases. */
        double f0 = inner_obj(b, t, r, cur), step = 1.0;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)m, 1.0 / (double)m, t->h, (int)m, dir,
                    1, 0.0, q, 1);
        for (int ls = 0; ls < 40; ls++, step *= 0.5) {
            double sum = 0, reg = 0;
            for (size_t j = 0; j < n; j++) {
                double dl;
                sum += nets__loss(t->loss, t->f[j] + step * q[j], t->y[j], &dl);
            }
            for (size_t i = 0; i < m; i++)
                reg += (r[i] + step * dir[i]) * (r[i] + step * dir[i]);
            if (sum / (double)n + 0.5 * b->lambda * reg / (double)m <= f0)
                break;
        }
        for (size_t i = 0; i < m; i++)
            r[i] += step * dir[i];
        cur = refresh(t, r);
    }
    b->inner_residual = inner_grad(b, t, r, g);
    *loss = cur;
    return MS_OK;
}

ms_status nets__bilevel_solve(nets_bilevel *b, nets_tl *t, double *r, double *loss, ms_err *err,
                              int nt) {
    ms_status s;
    if (b->loss == NETS_LOGISTIC)
        return solve_logistic(b, t, r, loss, err, nt);
    if ((s = solve_square(b, t, r, err, nt)) != MS_OK)
        return s;
    *loss = refresh(t, r);
    return MS_OK;
}
