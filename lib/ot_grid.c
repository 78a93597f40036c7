/* ot_grid.c — separable soft-min on regular grids. See ot_grid.h.
 *
 * Layout: a batch of nb functions on the grid is nb·N doubles, each
 * function row-major over the axes. Processing axis a views the data as
 * nb·P slabs of n_a × Q doubles (P = Π_{b<a} n_b, Q = Π_{b>a} n_b); the sum
 * runs over the slab's first index. In "value form" u (u = h on entry),
 * one axis pass is
 *     u'[.., i, ..] = eps · log Σ_j exp((u[.., j, ..] - step_a²(i - j)²) / eps)
 * and the result is out = -u after the last axis.
 *
 * Kernel domain (per line, i.e. per slab column q): m = max_j u_j,
 * e_j = exp((u_j - m)/eps) ∈ [0, 1] with max 1, s_i = Σ_j k(i - j) e_j with
 * k(t) = exp(-step²t²/eps) read from ksym[t + n - 1] (a Toeplitz product),
 * u'_i = m + eps·log s_i. Since k >= e^-OT_GRID_KERNEL_MAX and the largest
 * e_j is 1, s_i >= e^-600 and underflowed terms are negligible.
 * Log domain: the line is gathered contiguous and reduced tile by tile
 * with a running maximum and ms_vmath's SIMD sum of exponentials.
 */
#include "ot_grid.h"

#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_simd_internal.h"
#include "ms_vmath.h"

/* Work units: lines per block (row form), columns per block (column form),
 * outputs per block. Fixed sizes, so the split does not depend on the
 * thread count. */
#define ROW_LINES 4
#define ROW_OUT 256
#define COL_COLS 64
/* Below this many multiply-adds (or exps) per axis pass, one thread: waking
 * a team costs more than it saves on a busy machine. */
#define PAR_MIN_WORK 200000

struct ot_grid {
    size_t d, N, batch;
    size_t n[OT_GRID_MAXDIM];
    double lo[OT_GRID_MAXDIM], step[OT_GRID_MAXDIM], ext2[OT_GRID_MAXDIM];
    double keps[OT_GRID_MAXDIM];  /* eps the kernel table holds (NaN: none) */
    double *ksym[OT_GRID_MAXDIM]; /* 2n-1 kernel values k(t - (n-1)) */
    double *u, *t, *off;          /* batch·N each */
};

size_t ot_grid_bytes(size_t d, const size_t *shape, size_t batch) {
    size_t N = 1, bytes = sizeof(ot_grid);
    for (size_t a = 0; a < d; a++) {
        N *= shape[a];
        bytes += 2 * shape[a] * sizeof(double);
    }
    return bytes + 3 * batch * N * sizeof(double);
}

void ot_grid_free(ot_grid *g) {
    if (!g)
        return;
    for (size_t a = 0; a < OT_GRID_MAXDIM; a++) {
        ms_free_aligned(g->ksym[a]);
    }
    ms_free_aligned(g->u);
    ms_free_aligned(g->t);
    ms_free_aligned(g->off);
    ms_free(g);
}

ot_grid *ot_grid_alloc(size_t d, const size_t *shape, const double *lo, const double *hi,
                       size_t batch, ms_err *err) {
    if (d == 0 || d > OT_GRID_MAXDIM || batch == 0) {
        ms_fail(err, MS_EINVAL, "", "grid: dimension must be 1..%d", OT_GRID_MAXDIM);
        return NULL;
    }
    size_t N = 1;
    for (size_t a = 0; a < d; a++) {
        if (shape[a] == 0 || N > ((size_t)1 << 40) / shape[a]) {
            ms_fail(err, MS_EINVAL, "", "grid: bad shape");
            return NULL;
        }
        N *= shape[a];
    }
    ot_grid *g = ms_calloc(1, sizeof *g);
    if (!g)
        goto oom;
    g->d = d;
    g->N = N;
    g->batch = batch;
    for (size_t a = 0; a < d; a++) {
        size_t n = shape[a];
        g->n[a] = n;
        g->lo[a] = lo[a];
        g->step[a] = n > 1 ? (hi[a] - lo[a]) / (double)(n - 1) : 0;
        g->ext2[a] = n > 1 ? (hi[a] - lo[a]) * (hi[a] - lo[a]) : 0;
        g->keps[a] = NAN;
        g->ksym[a] = ms_malloc_aligned(2 * n, sizeof(double));
        if (!g->ksym[a])
            goto oom;
    }
    g->u = ms_malloc_aligned(batch * N, sizeof(double));
    g->t = ms_malloc_aligned(batch * N, sizeof(double));
    g->off = ms_malloc_aligned(batch * N, sizeof(double));
    if (!g->u || !g->t || !g->off)
        goto oom;
    return g;
oom:
    ot_grid_free(g);
    ms_fail(err, MS_ENOMEM, "", "grid: cannot allocate workspace for %zu points", N);
    return NULL;
}

size_t ot_grid_size(const ot_grid *g) {
    return g->N;
}
size_t ot_grid_dim(const ot_grid *g) {
    return g->d;
}

void ot_grid_point(const ot_grid *g, size_t idx, double *x) {
    for (size_t a = g->d; a-- > 0;) {
        size_t i = idx % g->n[a];
        idx /= g->n[a];
        x[a] = g->lo[a] + g->step[a] * (double)i;
    }
}

double ot_grid_cost_bound(const ot_grid *g) {
    double c = 0;
    for (size_t a = 0; a < g->d; a++)
        c += g->ext2[a];
    return c;
}

int ot_grid_kernel_domain(const ot_grid *g, size_t a, double eps) {
    return g->ext2[a] <= OT_GRID_KERNEL_MAX * eps;
}

/* ---- y[i] = off[i·os] + eps·log x[i]: back from the kernel domain ---- */

static void log_affine_scalar(const double *x, double *y, size_t n, const double *off, size_t os,
                              double eps) {
    for (size_t i = 0; i < n; i++)
        y[i] = off[i * os] + eps * log(x[i]);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* log x = e·ln2 + 2·atanh(s), x = 2^e·m, m in [√½, √2), s = (m-1)/(m+1),
 * |s| <= 0.1716: the atanh series to s^23 leaves < 1e-19 relative. 0 gives
 * -Inf (getexp(0) = -Inf), as log does. */
__attribute__((target("avx512f,avx512dq"))) static inline __m512d vlog8(__m512d x) {
    const __m512d one = _mm512_set1_pd(1.0);
    __m512d e = _mm512_getexp_pd(x);
    __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    e = _mm512_mask_add_pd(e, big, e, one);
    __m512d s = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
    __m512d z = _mm512_mul_pd(s, s);
    __m512d p = _mm512_set1_pd(1.0 / 23);
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 21));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 19));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 17));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 15));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 13));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 11));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 9));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 7));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 5));
    p = _mm512_fmadd_pd(p, z, _mm512_set1_pd(1.0 / 3));
    p = _mm512_fmadd_pd(p, z, one);
    __m512d r = _mm512_mul_pd(_mm512_add_pd(s, s), p);
    r = _mm512_fmadd_pd(e, _mm512_set1_pd(1.9082149292705877e-10), r);
    return _mm512_fmadd_pd(e, _mm512_set1_pd(6.9314718036912382e-01), r);
}

__attribute__((target("avx512f,avx512dq"))) static void
log_affine_avx512(const double *x, double *y, size_t n, const double *off, size_t os, double eps) {
    __m512d ve = _mm512_set1_pd(eps);
    size_t i = 0;
    for (; i < n; i += 8) {
        __mmask8 k = n - i >= 8 ? 0xff : (__mmask8)((1u << (n - i)) - 1);
        __m512d v = _mm512_mask_loadu_pd(_mm512_set1_pd(1.0), k, x + i);
        __m512d o = os ? _mm512_maskz_loadu_pd(k, off + i) : _mm512_set1_pd(off[0]);
        _mm512_mask_storeu_pd(y + i, k, _mm512_fmadd_pd(ve, vlog8(v), o));
    }
}
#endif

static void log_affine(const double *x, double *y, size_t n, const double *off, size_t os,
                       double eps, int level) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (level == MS__SIMD_AVX512) {
        log_affine_avx512(x, y, n, off, os, eps);
        return;
    }
#endif
    (void)level;
    log_affine_scalar(x, y, n, off, os, eps);
}

/* ---- Toeplitz products with the axis kernel k(t) = ks[t + n - 1] ----
 * Row form: S[l][i] = Σ_j k(j - i) E[l][j], lines l < nl of E (stride ldE),
 * outputs i in [i0, i1). Column form: S[i][q] = Σ_j k(j - i) E[j][q] for
 * q < nq (row stride ld for both E and S), all i < n. */

static void row_scalar(const double *ks, size_t n, const double *E, size_t ldE, size_t nl,
                       size_t i0, size_t i1, double *S, size_t ldS) {
    for (size_t l = 0; l < nl; l++)
        for (size_t i = i0; i < i1; i++) {
            const double *kr = ks + (n - 1 - i);
            double acc = 0;
            for (size_t j = 0; j < n; j++)
                acc += kr[j] * E[l * ldE + j];
            S[l * ldS + i] = acc;
        }
}

static void col_scalar(const double *ks, size_t n, const double *E, double *S, size_t ld,
                       size_t nq) {
    for (size_t i = 0; i < n; i++) {
        const double *kr = ks + (n - 1 - i);
        for (size_t q = 0; q < nq; q++)
            S[i * ld + q] = 0;
        for (size_t j = 0; j < n; j++)
            for (size_t q = 0; q < nq; q++)
                S[i * ld + q] += kr[j] * E[j * ld + q];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
/* 4 outputs × 4 lines per block, written out so that the 16 accumulators
 * stay in registers; missing lines alias line 0 and missing outputs output
 * i, and their sums are dropped. */
#define ROW_FMA(r, kv)                              \
    do {                                            \
        a##r##0 = _mm512_fmadd_pd(kv, e0, a##r##0); \
        a##r##1 = _mm512_fmadd_pd(kv, e1, a##r##1); \
        a##r##2 = _mm512_fmadd_pd(kv, e2, a##r##2); \
        a##r##3 = _mm512_fmadd_pd(kv, e3, a##r##3); \
    } while (0)
#define ROW_STEP(LOAD)                                \
    do {                                              \
        __m512d e0 = LOAD(l0 + j), e1 = LOAD(l1 + j); \
        __m512d e2 = LOAD(l2 + j), e3 = LOAD(l3 + j); \
        ROW_FMA(0, LOAD(k0 + j));                     \
        ROW_FMA(1, LOAD(k1 + j));                     \
        ROW_FMA(2, LOAD(k2 + j));                     \
        ROW_FMA(3, LOAD(k3 + j));                     \
    } while (0)
#define LOADU(p) _mm512_loadu_pd(p)
#define LOADM(p) _mm512_maskz_loadu_pd(tail, p)

__attribute__((target("avx512f,avx512dq"))) static void row_avx512(const double *ks, size_t n,
                                                                   const double *E, size_t ldE,
                                                                   size_t nl, size_t i0, size_t i1,
                                                                   double *S, size_t ldS) {
    const double *l0 = E, *l1 = E + (nl > 1 ? ldE : 0), *l2 = E + (nl > 2 ? 2 * ldE : 0),
                 *l3 = E + (nl > 3 ? 3 * ldE : 0);
    const size_t nv = n & ~(size_t)7;
    const __mmask8 tail = (__mmask8)((1u << (n - nv)) - 1);
    for (size_t i = i0; i < i1; i += 4) {
        size_t ni = i1 - i < 4 ? i1 - i : 4;
        const double *k0 = ks + (n - 1 - i), *k1 = ni > 1 ? k0 - 1 : k0, *k2 = ni > 2 ? k0 - 2 : k0,
                     *k3 = ni > 3 ? k0 - 3 : k0;
        __m512d a00 = _mm512_setzero_pd(), a01 = a00, a02 = a00, a03 = a00;
        __m512d a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        __m512d a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        __m512d a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        size_t j = 0;
        for (; j < nv; j += 8)
            ROW_STEP(LOADU);
        if (tail)
            ROW_STEP(LOADM);
        double r[4][4] = {{_mm512_reduce_add_pd(a00), _mm512_reduce_add_pd(a01),
                           _mm512_reduce_add_pd(a02), _mm512_reduce_add_pd(a03)},
                          {_mm512_reduce_add_pd(a10), _mm512_reduce_add_pd(a11),
                           _mm512_reduce_add_pd(a12), _mm512_reduce_add_pd(a13)},
                          {_mm512_reduce_add_pd(a20), _mm512_reduce_add_pd(a21),
                           _mm512_reduce_add_pd(a22), _mm512_reduce_add_pd(a23)},
                          {_mm512_reduce_add_pd(a30), _mm512_reduce_add_pd(a31),
                           _mm512_reduce_add_pd(a32), _mm512_reduce_add_pd(a33)}};
        for (size_t o = 0; o < ni; o++)
            for (size_t l = 0; l < nl; l++)
                S[l * ldS + i + o] = r[o][l];
    }
}

/* 4 outputs × 32 columns per block, accumulators in registers likewise. */
#define COL_FMA(r)                                  \
    do {                                            \
        __m512d kv = _mm512_set1_pd(k##r[j]);       \
        c##r##0 = _mm512_fmadd_pd(kv, e0, c##r##0); \
        c##r##1 = _mm512_fmadd_pd(kv, e1, c##r##1); \
        c##r##2 = _mm512_fmadd_pd(kv, e2, c##r##2); \
        c##r##3 = _mm512_fmadd_pd(kv, e3, c##r##3); \
    } while (0)
#define COL_STORE(r)                                    \
    do {                                                \
        if (r < ni) {                                   \
            double *o = S + (i + r) * ld + q;           \
            _mm512_mask_storeu_pd(o, m0, c##r##0);      \
            _mm512_mask_storeu_pd(o + 8, m1, c##r##1);  \
            _mm512_mask_storeu_pd(o + 16, m2, c##r##2); \
            _mm512_mask_storeu_pd(o + 24, m3, c##r##3); \
        }                                               \
    } while (0)

static __mmask8 col_mask(size_t q0, size_t nq) {
    return q0 >= nq ? 0 : nq - q0 >= 8 ? 0xff : (__mmask8)((1u << (nq - q0)) - 1);
}

__attribute__((target("avx512f,avx512dq"))) static void
col_avx512(const double *ks, size_t n, const double *E, double *S, size_t ld, size_t nq) {
    for (size_t q = 0; q < nq; q += 32) {
        const __mmask8 m0 = col_mask(q, nq), m1 = col_mask(q + 8, nq), m2 = col_mask(q + 16, nq),
                       m3 = col_mask(q + 24, nq);
        for (size_t i = 0; i < n; i += 4) {
            size_t ni = n - i < 4 ? n - i : 4;
            const double *k0 = ks + (n - 1 - i), *k1 = ni > 1 ? k0 - 1 : k0,
                         *k2 = ni > 2 ? k0 - 2 : k0, *k3 = ni > 3 ? k0 - 3 : k0;
            __m512d c00 = _mm512_setzero_pd(), c01 = c00, c02 = c00, c03 = c00;
            __m512d c10 = c00, c11 = c00, c12 = c00, c13 = c00;
            __m512d c20 = c00, c21 = c00, c22 = c00, c23 = c00;
            __m512d c30 = c00, c31 = c00, c32 = c00, c33 = c00;
            for (size_t j = 0; j < n; j++) {
                const double *ej = E + j * ld + q;
                __m512d e0 = _mm512_maskz_loadu_pd(m0, ej), e1 = _mm512_maskz_loadu_pd(m1, ej + 8);
                __m512d e2 = _mm512_maskz_loadu_pd(m2, ej + 16),
                        e3 = _mm512_maskz_loadu_pd(m3, ej + 24);
                COL_FMA(0);
                COL_FMA(1);
                COL_FMA(2);
                COL_FMA(3);
            }
            COL_STORE(0);
            COL_STORE(1);
            COL_STORE(2);
            COL_STORE(3);
        }
    }
}
#endif

static void row_product(const double *ks, size_t n, const double *E, size_t ldE, size_t nl,
                        size_t i0, size_t i1, double *S, size_t ldS, int level) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (level == MS__SIMD_AVX512) {
        row_avx512(ks, n, E, ldE, nl, i0, i1, S, ldS);
        return;
    }
#endif
    (void)level;
    row_scalar(ks, n, E, ldE, nl, i0, i1, S, ldS);
}

static void col_product(const double *ks, size_t n, const double *E, double *S, size_t ld,
                        size_t nq, int level) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (level == MS__SIMD_AVX512) {
        col_avx512(ks, n, E, S, ld, nq);
        return;
    }
#endif
    (void)level;
    col_scalar(ks, n, E, S, ld, nq);
}

/* ---- one axis pass ---- */

/* The kernel table of axis a at eps (recomputed only when eps changes). */
static void kernel_table(ot_grid *g, size_t a, double eps) {
    if (g->keps[a] == eps)
        return;
    size_t n = g->n[a];
    double *ks = g->ksym[a];
    for (size_t t = 0; t + 1 < 2 * n; t++) {
        double dx = g->step[a] * ((double)t - (double)(n - 1));
        ks[t] = -dx * dx / eps;
    }
    ms_vexp(ks, ks, 2 * n - 1);
    g->keps[a] = eps;
}

/* e[j] = exp((u[j·st] - m)/eps) over n entries, m = their maximum (written
 * to *mo); all zero when every entry is -Inf. */
static void shift_exp(const double *u, size_t n, size_t st, double eps, double *e, size_t est,
                      double *mo) {
    double m = -INFINITY;
    for (size_t j = 0; j < n; j++)
        m = u[j * st] > m ? u[j * st] : m;
    *mo = m;
    for (size_t j = 0; j < n; j++)
        e[j * est] = m > -INFINITY ? (u[j * st] - m) / eps : -INFINITY;
}

static ms_status axis_kernel(ot_grid *g, size_t a, size_t P, size_t Q, double eps,
                             const ms_ctx *ctx) {
    const size_t n = g->n[a];
    const int nt = P * Q * n * n >= PAR_MIN_WORK ? ms_ctx_threads(ctx) : 1;
    const int level = ms__simd_level();
    const double *ks = g->ksym[a];
    double *u = g->u, *E = g->t, *m = g->off;
    int cancelled = 0;
    kernel_table(g, a, eps);
    if (Q == 1) {
        /* Lines are contiguous rows of n: offsets and exponentials, then
         * blocks of (ROW_LINES lines) × (ROW_OUT outputs). */
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (size_t l = 0; l < P; l++) {
            shift_exp(u + l * n, n, 1, eps, E + l * n, 1, &m[l]);
            ms_vexp(E + l * n, E + l * n, n);
        }
        const size_t lb = (P + ROW_LINES - 1) / ROW_LINES, ib = (n + ROW_OUT - 1) / ROW_OUT;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
        for (size_t blk = 0; blk < lb * ib; blk++) {
            if (ms_ctx_cancelled(ctx)) {
                cancelled = 1;
                continue;
            }
            size_t l0 = (blk / ib) * ROW_LINES, i0 = (blk % ib) * ROW_OUT;
            size_t nl = P - l0 < ROW_LINES ? P - l0 : ROW_LINES;
            size_t i1 = i0 + ROW_OUT < n ? i0 + ROW_OUT : n;
            row_product(ks, n, E + l0 * n, n, nl, i0, i1, u + l0 * n, n, level);
            for (size_t l = l0; l < l0 + nl; l++)
                log_affine(u + l * n + i0, u + l * n + i0, i1 - i0, &m[l], 0, eps, level);
        }
        return cancelled ? MS_ECANCELLED : MS_OK;
    }
    /* Slabs of n × Q: each block of COL_COLS columns is independent. */
    const size_t cb = (Q + COL_COLS - 1) / COL_COLS;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (size_t blk = 0; blk < P * cb; blk++) {
        if (ms_ctx_cancelled(ctx)) {
            cancelled = 1;
            continue;
        }
        size_t s = blk / cb, q0 = (blk % cb) * COL_COLS;
        size_t nq = Q - q0 < COL_COLS ? Q - q0 : COL_COLS;
        double *us = u + s * n * Q + q0, *Es = E + s * n * Q + q0, *ms = m + s * Q + q0;
        for (size_t q = 0; q < nq; q++)
            shift_exp(us + q, n, Q, eps, Es + q, Q, &ms[q]);
        for (size_t j = 0; j < n; j++)
            ms_vexp(Es + j * Q, Es + j * Q, nq);
        col_product(ks, n, Es, us, Q, nq, level);
        for (size_t i = 0; i < n; i++)
            log_affine(us + i * Q, us + i * Q, nq, ms, 1, eps, level);
    }
    return cancelled ? MS_ECANCELLED : MS_OK;
}

/* out_i = eps·LSE_j((u_j - step²(i - j)²)/eps) for one contiguous line, in
 * tiles of LSE_TILE with a running maximum (ms_vmath's sum of exps). */
#define LSE_TILE 256
static void line_lse(const double *u, size_t n, double step, double eps, double *out) {
    const double inv = 1.0 / eps, s2 = step * step * inv;
    double z[LSE_TILE];
    for (size_t i = 0; i < n; i++) {
        double M = -INFINITY, S = 0;
        for (size_t j0 = 0; j0 < n; j0 += LSE_TILE) {
            size_t len = n - j0 < LSE_TILE ? n - j0 : LSE_TILE;
            double cm = -INFINITY;
            for (size_t t = 0; t < len; t++) {
                double dj = (double)(j0 + t) - (double)i;
                z[t] = u[j0 + t] * inv - s2 * dj * dj;
                cm = z[t] > cm ? z[t] : cm;
            }
            if (!(cm > -INFINITY))
                continue; /* every entry of this tile is -Inf */
            if (cm > M) {
                S *= exp(M - cm);
                M = cm;
            }
            S += ms_sum_exp(z, len, M);
        }
        out[i] = M > -INFINITY ? eps * (M + log(S)) : -INFINITY;
    }
}

static ms_status axis_log(ot_grid *g, size_t a, size_t P, size_t Q, double eps, const ms_ctx *ctx) {
    const size_t n = g->n[a];
    const int nt = P * Q * n * n >= PAR_MIN_WORK ? ms_ctx_threads(ctx) : 1;
    double *u = g->u, *lines = g->t, *res = g->off;
    int cancelled = 0;
    /* Lines contiguous: line (s, q) of slab s goes to lines[(s·Q + q)·n]. */
    if (Q > 1) {
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (size_t s = 0; s < P; s++)
            for (size_t j = 0; j < n; j++)
                for (size_t q = 0; q < Q; q++)
                    lines[(s * Q + q) * n + j] = u[(s * n + j) * Q + q];
    } else {
        lines = u;
    }
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (size_t l = 0; l < P * Q; l++) {
        if (ms_ctx_cancelled(ctx)) {
            cancelled = 1;
            continue;
        }
        line_lse(lines + l * n, n, g->step[a], eps, res + l * n);
    }
    if (cancelled)
        return MS_ECANCELLED;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (size_t s = 0; s < P; s++)
        for (size_t j = 0; j < n; j++)
            for (size_t q = 0; q < Q; q++)
                u[(s * n + j) * Q + q] = res[(s * Q + q) * n + j];
    return MS_OK;
}

ms_status ot_grid_softmin(ot_grid *g, const double *h, size_t nb, double eps, double *out,
                          const ms_ctx *ctx) {
    if (nb > g->batch)
        return MS_EINVAL;
    const size_t N = g->N;
    memcpy(g->u, h, nb * N * sizeof(double));
    for (size_t a = g->d; a-- > 0;) {
        if (g->n[a] == 1)
            continue; /* a single point: the sum has one term of cost 0 */
        size_t P = nb, Q = 1;
        for (size_t b = 0; b < a; b++)
            P *= g->n[b];
        for (size_t b = a + 1; b < g->d; b++)
            Q *= g->n[b];
        ms_status st = ot_grid_kernel_domain(g, a, eps) ? axis_kernel(g, a, P, Q, eps, ctx)
                                                        : axis_log(g, a, P, Q, eps, ctx);
        if (st != MS_OK)
            return st;
    }
    for (size_t i = 0; i < nb * N; i++)
        out[i] = -g->u[i];
    return MS_OK;
}
