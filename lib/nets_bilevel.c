/* nets_bilevel.c — the exact inner solve of the bilevel reduction of
 * mean-field Langevin dynamics for signed measures [WMC24] (spec §4).
 *
 * What it is for: given the features Φ_ji = σ(θ_i·x_j) of the current
 * particles, the optimal output weights
 *   r = argmin_r R(Φ r/m) + (λ/2)(1/m) Σ r_i².
 * Square loss: one Cholesky solve of the smaller of the two systems,
 *   primal (m ≤ n):  (ΦᵀΦ/(nm) + λI) r = Φᵀy/n,
 *   dual   (n < m):  (ΦΦᵀ/m + λnI) z = y,  r = Φᵀz  (then f − y = −λn z).
 * Between steps of the outer dynamics the particles move little, so the
 * primal system changes little: from m = 256 and with full-batch data, the
 * factor of the last direct solve preconditions conjugate gradients on the
 * next systems, warm-started from the previous r, each iteration one pass
 * over Φ (≈ 4nm flops against the n·m² of forming the Gram matrix; the
 * first pass also gives the right-hand side, the last is the refresh of f
 * and e and gives the true residual). They
 * stop at a max-norm residual of 1e-12 relative to the right-hand side,
 * checked on the true residual; when they do not get there in m/32
 * iterations (8 to 100) the step forms and factors its own system (and,
 * if even a one-step-old factor did not suffice, the next 16 steps do
 * too).
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

enum { GB = 256 };

/* Small Gram matrices (k <= 2 GB) over many rows (inner >= 4k) are the
 * sum of two SYRKs over the halves of the inner dimension, one per thread,
 * the second into `half` (k×k, in the working precision, allocated when
 * the split applies at the allocated size), added in order:
 * at the bench's size S (k = 100, 1000 rows) that takes 13% off a float32
 * bilevel step against three tiles. The split depends on the size only. */
static int gram_split(size_t k, size_t inner) {
    return k <= 2 * GB && inner >= 4 * k;
}

ms_status nets__bilevel_alloc(nets_bilevel *b, size_t n, size_t m, size_t d, nets_loss loss,
                              int single) {
    memset(b, 0, sizeof *b);
    size_t k = loss == NETS_SQUARE && n < m ? n : m;
    b->sys = ms_malloc(k * k, sizeof(double));
    b->rhs = ms_malloc(n > m ? n : m, sizeof(double));
    b->dl2 = ms_malloc(2 * n + m, sizeof(double));
    int ok = b->sys && b->rhs && b->dl2;
    if (single) {
        b->sys32 = ms_malloc(k * k, sizeof(float));
        ok = ok && b->sys32;
    }
    if (loss == NETS_SQUARE && m <= n) {
        b->cg = ms_malloc((5 + 2 * NETS_CHUNKS) * m, sizeof(double));
        ok = ok && b->cg;
    }
    if (gram_split(k, loss == NETS_SQUARE && n < m ? m : n)) {
        b->half = ms_malloc(k * k, single ? sizeof(float) : sizeof(double));
        ok = ok && b->half;
    }
    if (loss == NETS_LOGISTIC) {
        if (single)
            b->phid32 = ms_malloc(n * m, sizeof(float));
        else
            b->phid = ms_malloc(n * m, sizeof(double));
        ok = ok && (b->phid || b->phid32);
    }
    if (!ok) {
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
    ms_free(b->sys32);
    ms_free(b->phid32);
    ms_free(b->cg);
    ms_free(b->half);
    b->half = NULL;
    b->sys = b->rhs = b->dl2 = b->phid = b->cg = NULL;
    b->sys32 = b->phid32 = NULL;
}

static void gram_halves(const double *ad, const float *af, size_t cols, int trans, size_t k,
                        size_t inner, double alpha, double *C, float *c32, void *half, int nt) {
    CBLAS_TRANSPOSE ta = trans ? CblasTrans : CblasNoTrans;
    const size_t h = inner / 2;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int q = 0; q < 2; q++) {
        size_t o = q ? h : 0, len = q ? inner - h : h, off = trans ? o * cols : o;
        if (af)
            cblas_ssyrk(CblasRowMajor, CblasUpper, ta, (int)k, (int)len, (float)alpha, af + off,
                        (int)cols, 0.0f, q ? (float *)half : c32, (int)k);
        else
            cblas_dsyrk(CblasRowMajor, CblasUpper, ta, (int)k, (int)len, alpha, ad + off, (int)cols,
                        0.0, q ? (double *)half : C, (int)k);
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = i; j < k; j++)
            C[i * k + j] = af ? (double)c32[i * k + j] + (double)((float *)half)[i * k + j]
                              : C[i * k + j] + ((double *)half)[i * k + j];
}

/* Upper triangle (row-major) of C = α AᵀA (trans, A rows×cols → cols×cols)
 * or α AAᵀ (rows×rows), by tiles: diagonal tiles by SYRK, the others by
 * GEMM, each entry by one BLAS call whatever the thread count (the tiles
 * depend on the size only: two per side up to 512, so that two threads
 * share even a small matrix; 256 up to 1024; four per side above, since
 * every call repacks its panels of A: at n = 20000, m = 4000 tiles of 1000
 * instead of 256 take 5% off the step), or by gram_halves. A is float64
 * (ad) or float32 (af); a float32 Gram matrix is formed in c32 and widened
 * into C. */
static void gram_upper(const double *ad, const float *af, size_t rows, size_t cols, int trans,
                       double alpha, double *C, float *c32, void *half, int nt) {
    size_t k = trans ? cols : rows, inner = trans ? rows : cols;
    if ((double)k * (double)k * (double)inner < 1e6)
        nt = 1; /* too small to be worth a parallel region */
    if (half && gram_split(k, inner)) {
        gram_halves(ad, af, cols, trans, k, inner, alpha, C, c32, half, nt);
        return;
    }
    size_t tile = k <= 2 * GB ? (k + 1) / 2 : k <= 4 * GB ? GB : (k + 3) / 4;
    size_t nb = (k + tile - 1) / tile;
    CBLAS_TRANSPOSE ta = trans ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tb = trans ? CblasNoTrans : CblasTrans;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic)
    for (size_t it = 0; it < nb * nb; it++) {
        size_t bi = it / nb, bj = it % nb;
        if (bj < bi)
            continue;
        size_t i0 = bi * tile, j0 = bj * tile;
        size_t wi = k - i0 < tile ? k - i0 : tile, wj = k - j0 < tile ? k - j0 : tile;
        size_t oi = trans ? i0 : i0 * cols, oj = trans ? j0 : j0 * cols;
        if (!af) {
            if (bi == bj)
                cblas_dsyrk(CblasRowMajor, CblasUpper, ta, (int)wi, (int)inner, alpha, ad + oi,
                            (int)cols, 0.0, C + i0 * k + i0, (int)k);
            else
                cblas_dgemm(CblasRowMajor, ta, tb, (int)wi, (int)wj, (int)inner, alpha, ad + oi,
                            (int)cols, ad + oj, (int)cols, 0.0, C + i0 * k + j0, (int)k);
            continue;
        }
        if (bi == bj)
            cblas_ssyrk(CblasRowMajor, CblasUpper, ta, (int)wi, (int)inner, (float)alpha, af + oi,
                        (int)cols, 0.0f, c32 + i0 * k + i0, (int)k);
        else
            cblas_sgemm(CblasRowMajor, ta, tb, (int)wi, (int)wj, (int)inner, (float)alpha, af + oi,
                        (int)cols, af + oj, (int)cols, 0.0f, c32 + i0 * k + j0, (int)k);
        for (size_t i = i0; i < i0 + wi; i++)
            for (size_t j = bi == bj ? i : j0; j < j0 + wj; j++)
                C[i * k + j] = (double)c32[i * k + j];
    }
}

/* Cholesky factor (lower, column-major view) of the k×k matrix A in place,
 * right-looking by blocks of CB columns: the diagonal block by LAPACK, the
 * panel below it by TRSM in row blocks, the trailing matrix by SYRK/GEMM in
 * column blocks, the blocks spread over nt threads. The blocks depend on k
 * only, so the factor has the same bits whatever the thread count (and the
 * O(k³/3) update, the largest serial part of an inner solve otherwise, runs
 * on every thread). Returns LAPACK's info (> 0: the leading minor of that
 * order is not positive definite). */
enum { CB = 256 };

static lapack_int chol_blocked(double *A, size_t k, int nt) {
    if (k <= 2 * CB)
        return LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)k, A, (lapack_int)k);
    const int ld = (int)k;
    for (size_t j0 = 0; j0 < k; j0 += CB) {
        size_t jb = k - j0 < CB ? k - j0 : CB, r0 = j0 + jb;
        double *ajj = A + j0 * k + j0;
        lapack_int info =
            LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', (lapack_int)jb, ajj, (lapack_int)k);
        if (info != 0)
            return info + (lapack_int)j0;
        if (r0 >= k)
            break;
        size_t nr = (k - r0 + CB - 1) / CB;
#pragma omp parallel num_threads(nt) if (nt > 1)
        {
            /* L21 = A21 L11^-T, CB rows at a time. */
#pragma omp for schedule(static)
            for (size_t c = 0; c < nr; c++) {
                size_t i0 = r0 + c * CB, h = k - i0 < CB ? k - i0 : CB;
                cblas_dtrsm(CblasColMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)h,
                            (int)jb, 1.0, ajj, ld, A + j0 * k + i0, ld);
            }
            /* A22 −= L21 L21ᵀ (lower part), CB columns at a time. */
#pragma omp for schedule(dynamic)
            for (size_t c = 0; c < nr; c++) {
                size_t c0 = r0 + c * CB, w = k - c0 < CB ? k - c0 : CB, below = k - c0 - w;
                cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)w, (int)jb, -1.0,
                            A + j0 * k + c0, ld, 1.0, A + c0 * k + c0, ld);
                if (below)
                    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)below, (int)w,
                                (int)jb, -1.0, A + j0 * k + c0 + w, ld, A + j0 * k + c0, ld, 1.0,
                                A + c0 * k + c0 + w, ld);
            }
        }
    }
    return 0;
}

/* Cholesky factorisation and solve of the k×k system whose upper triangle
 * (row-major) is in `sys`: that is the lower triangle in LAPACK's
 * column-major view, so no transposition; the _work entry points also skip
 * LAPACKE's O(k²) NaN scan (a NaN fails the factorisation or reaches the
 * solution, where the caller's finiteness checks see it). */
static lapack_int chol_solve(double *sys, size_t k, double *rhs, int nt) {
    lapack_int info = chol_blocked(sys, k, nt);
    if (info == 0)
        info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', (lapack_int)k, 1, sys, (lapack_int)k, rhs,
                                   (lapack_int)k);
    return info;
}

/* f = Φr/m, e, and the loss. */
/* e from f, and the loss. */
static double loss_at_f(nets_tl *t) {
    const size_t n = t->n;
    double sum = 0;
    for (size_t j = 0; j < n; j++) {
        double dl;
        sum += nets__loss(t->loss, t->f[j], t->y[j], &dl);
        t->e[j] = dl / (double)n;
    }
    return sum / (double)n;
}

static double refresh(nets_tl *t, const double *r) {
    nets__tl_hv(t, 1.0 / (double)t->m, r, t->f);
    return loss_at_f(t);
}

/* CG from m = CG_MIN_M; at most m/32 iterations, clamped to [8, 100]: one
 * iteration streams Φ from memory, about m/64 of them cost as much as the
 * direct solve's O(nm²) GEMM work, so an attempt that fails wastes at most
 * about two direct solves. */
enum { CG_MIN_M = 256, CG_BACKOFF = 16 };
#define CG_TOL 1e-12

static double max_abs(const double *v, size_t m) {
    double mx = 0;
    for (size_t i = 0; i < m; i++)
        mx = fabs(v[i]) > mx ? fabs(v[i]) : mx;
    return mx;
}

static double dot(const double *u, const double *v, size_t m) {
    double s = 0;
    for (size_t i = 0; i < m; i++)
        s += u[i] * v[i];
    return s;
}

/* One pass over the rows of Φ (the kernel of nets_simd.c): u_j = φ_j·v
 * (into u when given), out = Σ_j (α u_j − β y_j) φ_j and, when out2,
 * out2 = Σ_j y_j φ_j. Each chunk of rows (nets__tl_chunks) sums into its own
 * partials, added in chunk order (the same bits whatever the thread count). */
static void gram_pass(nets_bilevel *b, const nets_tl *t, const double *v, double alpha, double beta,
                      double *u, double *out, double *out2, int nt) {
    const size_t n = t->n, m = t->m, nc = nets__tl_chunks(n);
    const nets_simd *k = nets__simd_table();
    double *part = b->cg + 5 * m, *part2 = part + NETS_CHUNKS * m;
    const double *y = beta != 0 || out2 ? t->y : NULL;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (size_t c = 0; c < nc; c++) {
        size_t r0 = n * c / nc, r1 = n * (c + 1) / nc;
        double *acc = part + c * m, *acc2 = out2 ? part2 + c * m : NULL;
        memset(acc, 0, m * sizeof(double));
        if (acc2)
            memset(acc2, 0, m * sizeof(double));
        if (t->single)
            k->gram_f(t->hs + r0 * m, v, y ? y + r0 : NULL, alpha, beta, r1 - r0, m,
                      u ? u + r0 : NULL, acc, acc2);
        else
            k->gram_d(t->h + r0 * m, v, y ? y + r0 : NULL, alpha, beta, r1 - r0, m,
                      u ? u + r0 : NULL, acc, acc2);
    }
    for (size_t i = 0; i < m; i++) {
        double a = part[i], a2 = out2 ? part2[i] : 0;
        for (size_t c = 1; c < nc; c++) {
            a += part[c * m + i];
            if (out2)
                a2 += part2[c * m + i];
        }
        out[i] = a;
        if (out2)
            out2[i] = a2;
    }
}

/* z ← (factor in sys)⁻¹ z. */
static void precond(const nets_bilevel *b, size_t m, double *z) {
    LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', (lapack_int)m, 1, b->sys, (lapack_int)m, z,
                        (lapack_int)m);
}

/* Preconditioned conjugate gradients on A r = c, A = ΦᵀΦ/(nm) + λI and
 * c = Φᵀy/n (the primal system), from the r given. The first pass over Φ
 * gives both A r and c; each iteration one pass for A p; the last pass is
 * the refresh at the solution: f = Φr/m, e = (f − y)/n and Φᵀe, so that
 * the true residual c − A r = −(Φᵀe + λr) is checked at no extra pass.
 * Returns 1 with r, f, e, *loss and inner_residual (the true residual's
 * max norm) set when it reaches CG_TOL·max|c|, else 0 with r untouched
 * (f and e are then stale: the caller's direct solve refreshes them). */
static int solve_cg(nets_bilevel *b, nets_tl *t, double *r, double *loss, int nt) {
    const size_t n = t->n, m = t->m;
    const double lam = b->lambda, s = 1.0 / ((double)n * (double)m), in = 1.0 / (double)n;
    double *x = b->cg, *res = x + m, *z = res + m, *p = z + m, *ap = p + m, *c = b->rhs;
    const size_t max_it = m / 32 < 8 ? 8 : m / 32 > 100 ? 100 : m / 32;
    memcpy(x, r, m * sizeof(double));
    gram_pass(b, t, x, 1.0, 0.0, NULL, ap, c, nt);
    for (size_t i = 0; i < m; i++) {
        c[i] *= in;
        res[i] = c[i] - (s * ap[i] + lam * x[i]);
    }
    const double tol = CG_TOL * max_abs(c, m);
    size_t it = 0;
    if (max_abs(res, m) > tol) {
        memcpy(z, res, m * sizeof(double));
        precond(b, m, z);
        memcpy(p, z, m * sizeof(double));
        double rz = dot(res, z, m);
        for (it = 1;; it++) {
            if (it > max_it)
                return 0;
            gram_pass(b, t, p, 1.0, 0.0, NULL, ap, NULL, nt);
            for (size_t i = 0; i < m; i++)
                ap[i] = s * ap[i] + lam * p[i];
            double pap = dot(p, ap, m);
            if (!(pap > 0) || !(rz > 0))
                return 0;
            const double alpha = rz / pap;
            for (size_t i = 0; i < m; i++) {
                x[i] += alpha * p[i];
                res[i] -= alpha * ap[i];
            }
            if (max_abs(res, m) <= tol)
                break;
            memcpy(z, res, m * sizeof(double));
            precond(b, m, z);
            double rz1 = dot(res, z, m);
            const double beta = rz1 / rz;
            rz = rz1;
            for (size_t i = 0; i < m; i++)
                p[i] = z[i] + beta * p[i];
        }
    }
    /* The refresh, which also gives the true residual (the recurrence's
     * drifts from it): accept on the true residual only. */
    gram_pass(b, t, x, s, in, t->f, ap, NULL, nt);
    for (size_t i = 0; i < m; i++)
        res[i] = -(ap[i] + lam * x[i]);
    if (max_abs(res, m) > tol)
        return 0;
    for (size_t j = 0; j < n; j++)
        t->f[j] /= (double)m;
    *loss = loss_at_f(t);
    memcpy(r, x, m * sizeof(double));
    b->inner_residual = max_abs(res, m);
    b->cg_iters = it;
    return 1;
}

/* Square loss: r, then (refresh) f, e and *loss. */
static ms_status solve_square(nets_bilevel *b, nets_tl *t, double *r, double *loss, ms_err *err,
                              int nt) {
    const size_t n = t->n, m = t->m;
    const double lam = b->lambda;
    lapack_int info;
    if (m <= n) {
        double *c = b->rhs;
        b->fac_age++; /* solves since the factor in sys was made */
        if (b->reuse && b->have_fac && m >= CG_MIN_M && b->cg_rest == 0) {
            if (solve_cg(b, t, r, loss, nets__tl_threads(t, nt)))
                return MS_OK;
            /* Even the last step's factor is too far off: the particles move
             * fast, so skip the attempts for a while. */
            if (b->fac_age == 1)
                b->cg_rest = CG_BACKOFF;
        } else if (b->cg_rest > 0) {
            b->cg_rest--;
        }
        gram_upper(t->h, t->hs, n, m, 1, 1.0 / ((double)n * (double)m), b->sys, b->sys32, b->half,
                   nt);
        for (size_t i = 0; i < m; i++)
            b->sys[i * m + i] += lam;
        nets__tl_htv(t, 1.0 / (double)n, t->y, c);
        memcpy(r, c, m * sizeof(double));
        info = chol_solve(b->sys, m, r, nt);
        b->have_fac = info == 0;
        b->fac_age = 0;
    } else {
        gram_upper(t->h, t->hs, n, m, 0, 1.0 / (double)m, b->sys, b->sys32, b->half, nt);
        for (size_t j = 0; j < n; j++)
            b->sys[j * n + j] += lam * (double)n;
        memcpy(b->rhs, t->y, n * sizeof(double));
        info = chol_solve(b->sys, n, b->rhs, nt);
        if (info == 0)
            nets__tl_htv(t, 1.0, b->rhs, r);
    }
    if (info != 0)
        return ms_fail(err, MS_ENUMERIC, "lambda",
                       "bilevel inner system is not positive definite (LAPACK info %d)", (int)info);
    b->inner_residual = 0;
    b->cg_iters = 0;
    *loss = refresh(t, r);
    return MS_OK;
}

/* Mean-field gradient of the inner objective: Φᵀℓ'/n + λr (= m ∂/∂r). */
static double inner_grad(nets_bilevel *b, nets_tl *t, const double *r, double *g) {
    nets__tl_htv(t, 1.0, t->e, g);
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
            if (t->single)
                for (size_t i = 0; i < m; i++)
                    b->phid32[j * m + i] = (float)sq * t->hs[j * m + i];
            else
                for (size_t i = 0; i < m; i++)
                    b->phid[j * m + i] = sq * t->h[j * m + i];
        }
        gram_upper(b->phid, b->phid32, n, m, 1, 1.0 / ((double)n * (double)m), b->sys, b->sys32,
                   b->half, nt);
        for (size_t i = 0; i < m; i++) {
            b->sys[i * m + i] += b->lambda;
            dir[i] = -g[i];
        }
        lapack_int info = chol_solve(b->sys, m, dir, nt);
        if (info != 0)
            return ms_fail(err, MS_ENUMERIC, "lambda",
                           "bilevel Newton system is not positive definite (LAPACK info %d)",
                           (int)info);
        /* Damped step: backtrack until the inner objective decreases. */
        double f0 = inner_obj(b, t, r, cur), step = 1.0;
        nets__tl_hv(t, 1.0 / (double)m, dir, q);
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
    if (b->loss == NETS_LOGISTIC)
        return solve_logistic(b, t, r, loss, err, nt);
    return solve_square(b, t, r, loss, err, nt);
}
