/* ms_softmin.c — the log-sum-exp kernel of entropic transport. See
 * ms_softmin.h for the operation and its conventions.
 *
 * Layout: each direction ("side") sees its rows as points x_i (row-major,
 * n×d) and its columns as points y_j stored by coordinate (d×m), so that the
 * inner loop over j reads contiguous memory. Per row i, with inv = 1/eps,
 *     z_j = (h_j - |y_j|²)·inv + 2·inv·Σ_k x_ik y_kj
 *     LSE_j z_j = M + log Σ_j exp(z_j - M)
 *     out_i = -eps·LSE_j z_j + |x_i|²
 * computed tile by tile (TILE columns in an L1-resident buffer): one pass
 * writes z and its maximum, a second sums the exponentials; tiles combine
 * with the usual running-maximum rescaling. No allocation per call.
 */
#include "ms_softmin.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_simd_internal.h"
#include "ms_vmath_internal.h"

#define TILE 512

typedef struct side {
    size_t n, m, d;
    const double *x;   /* n×d rows' points (centred), or NULL for dense */
    const double *xsq; /* n: |x_i|² */
    const double *yt;  /* d×m columns' points by coordinate (centred) */
    const double *ysq; /* m */
    const double *c;   /* n×m dense cost (rows of this side), or NULL */
} side;

struct ms_softmin {
    size_t n, m, d;
    side fwd, bwd;    /* fwd: rows = x, cols = y; bwd: rows = y, cols = x */
    double *mem;      /* one block holding every array */
    double centre[1]; /* flexible: d entries (allocated with the struct) */
};

size_t ms_softmin_points_bytes(size_t n, size_t m, size_t d) {
    /* x, y row-major + by coordinate (2·(n+m)·d) and squared norms (n+m). */
    return sizeof(ms_softmin) + d * sizeof(double) + (2 * (n + m) * d + (n + m)) * sizeof(double);
}

size_t ms_softmin_matrix_bytes(size_t n, size_t m) {
    return sizeof(ms_softmin) + 2 * n * m * sizeof(double);
}

static void place_points(ms_softmin *s, const double *x, const double *yorig);

static ms_softmin *alloc_obj(size_t d) {
    ms_softmin *s = ms_calloc(1, sizeof *s + (d ? d : 1) * sizeof(double));
    return s;
}

ms_softmin *ms_softmin_points(const double *x, size_t n, const double *y, size_t m, size_t d,
                              ms_err *err) {
    if (n == 0 || m == 0 || d == 0) {
        ms_fail(err, MS_EINVAL, "", "softmin: empty point cloud");
        return NULL;
    }
    ms_softmin *s = alloc_obj(d);
    double *mem = s ? ms_malloc_aligned(2 * (n + m) * d + (n + m), sizeof(double)) : NULL;
    if (!mem) {
        ms_free(s);
        ms_fail(err, MS_ENOMEM, "", "softmin: cannot allocate %zu points", n + m);
        return NULL;
    }
    s->n = n;
    s->m = m;
    s->d = d;
    s->mem = mem;
    place_points(s, x, y);
    return s;
}

/* Centre both clouds at their common mean and fill the four layouts and the
 * squared norms; y is read from yorig (row-major) or, when NULL, from the
 * current centred copy. */
static void place_points(ms_softmin *s, const double *x, const double *yorig) {
    const size_t n = s->n, m = s->m, d = s->d;
    double *xr = s->mem, *yr = xr + n * d, *xt = yr + m * d, *yt = xt + n * d;
    double *xsq = yt + m * d, *ysq = xsq + n;
    for (size_t k = 0; k < d; k++) {
        double acc = 0;
        for (size_t i = 0; i < n; i++)
            acc += x[i * d + k];
        for (size_t j = 0; j < m; j++)
            acc += yorig ? yorig[j * d + k] : yr[j * d + k] + s->centre[k];
        double c = acc / (double)(n + m);
        /* Shift y from the old centre to the new one. */
        for (size_t j = 0; j < m; j++)
            yr[j * d + k] = (yorig ? yorig[j * d + k] : yr[j * d + k] + s->centre[k]) - c;
        s->centre[k] = c;
    }
    for (size_t i = 0; i < n; i++) {
        double q = 0;
        for (size_t k = 0; k < d; k++) {
            double v = x[i * d + k] - s->centre[k];
            xr[i * d + k] = v;
            xt[k * n + i] = v;
            q += v * v;
        }
        xsq[i] = q;
    }
    for (size_t j = 0; j < m; j++) {
        double q = 0;
        for (size_t k = 0; k < d; k++) {
            double v = yr[j * d + k];
            yt[k * m + j] = v;
            q += v * v;
        }
        ysq[j] = q;
    }
    s->fwd = (side){n, m, d, xr, xsq, yt, ysq, NULL};
    s->bwd = (side){m, n, d, yr, ysq, xt, xsq, NULL};
}

ms_status ms_softmin_set_x(ms_softmin *s, const double *x) {
    if (s->fwd.c)
        return MS_EINVAL;
    place_points(s, x, NULL);
    return MS_OK;
}

ms_softmin *ms_softmin_matrix(const double *c, size_t n, size_t m, size_t ldc, ms_err *err) {
    if (n == 0 || m == 0) {
        ms_fail(err, MS_EINVAL, "", "softmin: empty cost matrix");
        return NULL;
    }
    ms_softmin *s = alloc_obj(1);
    double *mem = s ? ms_malloc_aligned(2 * n * m, sizeof(double)) : NULL;
    if (!mem) {
        ms_free(s);
        ms_fail(err, MS_ENOMEM, "", "softmin: cannot allocate a %zu x %zu cost", n, m);
        return NULL;
    }
    s->n = n;
    s->m = m;
    s->d = 0;
    s->mem = mem;
    double *cr = mem, *ct = mem + n * m;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            cr[i * m + j] = c[i * ldc + j];
            ct[j * n + i] = c[i * ldc + j];
        }
    s->fwd = (side){n, m, 0, NULL, NULL, NULL, NULL, cr};
    s->bwd = (side){m, n, 0, NULL, NULL, NULL, NULL, ct};
    return s;
}

void ms_softmin_free(ms_softmin *s) {
    if (!s)
        return;
    ms_free_aligned(s->mem);
    ms_free(s);
}

size_t ms_softmin_n(const ms_softmin *s) {
    return s->n;
}
size_t ms_softmin_m(const ms_softmin *s) {
    return s->m;
}

double ms_softmin_cost(const ms_softmin *s, size_t i, size_t j) {
    if (s->fwd.c)
        return s->fwd.c[i * s->m + j];
    double q = 0;
    for (size_t k = 0; k < s->d; k++) {
        double v = s->fwd.x[i * s->d + k] - s->fwd.yt[k * s->m + j];
        q += v * v;
    }
    return q;
}

double ms_softmin_cost_bound(const ms_softmin *s) {
    if (s->fwd.c) {
        double mx = -INFINITY;
        for (size_t i = 0; i < s->n * s->m; i++)
            mx = s->fwd.c[i] > mx ? s->fwd.c[i] : mx;
        return mx;
    }
    /* max |x - y|² ≤ Σ_k (largest coordinate gap between the two boxes)². */
    double b = 0;
    for (size_t k = 0; k < s->d; k++) {
        double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
        for (size_t i = 0; i < s->n; i++) {
            double v = s->fwd.x[i * s->d + k];
            xlo = v < xlo ? v : xlo;
            xhi = v > xhi ? v : xhi;
        }
        for (size_t j = 0; j < s->m; j++) {
            double v = s->bwd.x[j * s->d + k];
            ylo = v < ylo ? v : ylo;
            yhi = v > yhi ? v : yhi;
        }
        double g = fmax(fabs(xhi - ylo), fabs(yhi - xlo));
        b += g * g;
    }
    return b;
}

/* ---- tile fillers: z for columns [j0, j0+len) of row i; return max z ---- */

static double fill_points_scalar(const double *xs, const side *sd, const double *h, double inv,
                                 size_t j0, size_t len, double *z) {
    double mx = -INFINITY;
    for (size_t t = 0; t < len; t++) {
        size_t j = j0 + t;
        double dot = 0;
        for (size_t k = 0; k < sd->d; k++)
            dot = fma(xs[k], sd->yt[k * sd->m + j], dot);
        double v = fma(dot, 2.0 * inv, (h[j] - sd->ysq[j]) * inv);
        z[t] = v;
        mx = v > mx ? v : mx;
    }
    return mx;
}

static double fill_dense_scalar(const double *crow, const double *h, double inv, size_t j0,
                                size_t len, double *z) {
    double mx = -INFINITY;
    for (size_t t = 0; t < len; t++) {
        double v = (h[j0 + t] - crow[j0 + t]) * inv;
        z[t] = v;
        mx = v > mx ? v : mx;
    }
    return mx;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512dq"))) static double
fill_points_avx512(const double *xs, const side *sd, const double *h, double inv, size_t j0,
                   size_t len, double *z) {
    __m512d vinv = _mm512_set1_pd(inv), vtwo = _mm512_set1_pd(2.0 * inv);
    __m512d vmax = _mm512_set1_pd(-INFINITY);
    for (size_t t = 0; t < len; t += 8) {
        size_t j = j0 + t;
        __mmask8 msk = len - t >= 8 ? 0xff : (__mmask8)((1u << (len - t)) - 1);
        __m512d hv = _mm512_maskz_loadu_pd(msk, h + j);
        __m512d qv = _mm512_maskz_loadu_pd(msk, sd->ysq + j);
        __m512d dot = _mm512_setzero_pd();
        for (size_t k = 0; k < sd->d; k++)
            dot = _mm512_fmadd_pd(_mm512_set1_pd(xs[k]),
                                  _mm512_maskz_loadu_pd(msk, sd->yt + k * sd->m + j), dot);
        __m512d v = _mm512_fmadd_pd(dot, vtwo, _mm512_mul_pd(_mm512_sub_pd(hv, qv), vinv));
        _mm512_mask_storeu_pd(z + t, msk, v);
        vmax = _mm512_mask_max_pd(vmax, msk, vmax, v);
    }
    return _mm512_reduce_max_pd(vmax);
}

__attribute__((target("avx512f,avx512dq"))) static double fill_dense_avx512(const double *crow,
                                                                            const double *h,
                                                                            double inv, size_t j0,
                                                                            size_t len, double *z) {
    __m512d vinv = _mm512_set1_pd(inv);
    __m512d vmax = _mm512_set1_pd(-INFINITY);
    for (size_t t = 0; t < len; t += 8) {
        size_t j = j0 + t;
        __mmask8 msk = len - t >= 8 ? 0xff : (__mmask8)((1u << (len - t)) - 1);
        __m512d v = _mm512_mul_pd(
            _mm512_sub_pd(_mm512_maskz_loadu_pd(msk, h + j), _mm512_maskz_loadu_pd(msk, crow + j)),
            vinv);
        _mm512_mask_storeu_pd(z + t, msk, v);
        vmax = _mm512_mask_max_pd(vmax, msk, vmax, v);
    }
    return _mm512_reduce_max_pd(vmax);
}

__attribute__((target("avx2,fma"))) static double fill_points_avx2(const double *xs, const side *sd,
                                                                   const double *h, double inv,
                                                                   size_t j0, size_t len,
                                                                   double *z) {
    __m256d vinv = _mm256_set1_pd(inv), vtwo = _mm256_set1_pd(2.0 * inv);
    __m256d vmax = _mm256_set1_pd(-INFINITY);
    size_t t = 0;
    for (; t + 4 <= len; t += 4) {
        size_t j = j0 + t;
        __m256d dot = _mm256_setzero_pd();
        for (size_t k = 0; k < sd->d; k++)
            dot = _mm256_fmadd_pd(_mm256_set1_pd(xs[k]), _mm256_loadu_pd(sd->yt + k * sd->m + j),
                                  dot);
        __m256d v = _mm256_fmadd_pd(
            dot, vtwo,
            _mm256_mul_pd(_mm256_sub_pd(_mm256_loadu_pd(h + j), _mm256_loadu_pd(sd->ysq + j)),
                          vinv));
        _mm256_storeu_pd(z + t, v);
        vmax = _mm256_max_pd(vmax, v);
    }
    double buf[4];
    _mm256_storeu_pd(buf, vmax);
    double mx = fmax(fmax(buf[0], buf[1]), fmax(buf[2], buf[3]));
    if (t < len) {
        double r = fill_points_scalar(xs, sd, h, inv, j0 + t, len - t, z + t);
        mx = r > mx ? r : mx;
    }
    return mx;
}

__attribute__((target("avx2,fma"))) static double
fill_dense_avx2(const double *crow, const double *h, double inv, size_t j0, size_t len, double *z) {
    __m256d vinv = _mm256_set1_pd(inv);
    __m256d vmax = _mm256_set1_pd(-INFINITY);
    size_t t = 0;
    for (; t + 4 <= len; t += 4) {
        size_t j = j0 + t;
        __m256d v =
            _mm256_mul_pd(_mm256_sub_pd(_mm256_loadu_pd(h + j), _mm256_loadu_pd(crow + j)), vinv);
        _mm256_storeu_pd(z + t, v);
        vmax = _mm256_max_pd(vmax, v);
    }
    double buf[4];
    _mm256_storeu_pd(buf, vmax);
    double mx = fmax(fmax(buf[0], buf[1]), fmax(buf[2], buf[3]));
    if (t < len) {
        double r = fill_dense_scalar(crow, h, inv, j0 + t, len - t, z + t);
        mx = r > mx ? r : mx;
    }
    return mx;
}
#endif

/* ---- fused single pass: Σ_j exp(z_j - M) over a whole row, for a shift M
 * known in advance (the previous iteration's value of this row) ---- */

static double fused_points_scalar(const double *xs, const side *sd, const double *h, double inv,
                                  double M, size_t j0, size_t len) {
    double S = 0;
    for (size_t j = j0; j < j0 + len; j++) {
        double dot = 0;
        for (size_t k = 0; k < sd->d; k++)
            dot = fma(xs[k], sd->yt[k * sd->m + j], dot);
        S += exp(fma(dot, 2.0 * inv, (h[j] - sd->ysq[j]) * inv) - M);
    }
    return S;
}

static double fused_dense_scalar(const double *crow, const double *h, double inv, double M,
                                 size_t j0, size_t len) {
    double S = 0;
    for (size_t j = j0; j < j0 + len; j++)
        S += exp((h[j] - crow[j]) * inv - M);
    return S;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512dq"))) static double
fused_points_avx512(const double *xs, const side *sd, const double *h, double inv, double M) {
    const size_t m = sd->m;
    __m512d vinv = _mm512_set1_pd(inv), vtwo = _mm512_set1_pd(2.0 * inv);
    __m512d vM = _mm512_set1_pd(M);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t j = 0;
    /* Two independent vectors per trip hide the exp's latency. */
    for (; j + 16 <= m; j += 16) {
        __m512d d0 = _mm512_setzero_pd(), d1 = _mm512_setzero_pd();
        for (size_t k = 0; k < sd->d; k++) {
            __m512d xk = _mm512_set1_pd(xs[k]);
            d0 = _mm512_fmadd_pd(xk, _mm512_loadu_pd(sd->yt + k * m + j), d0);
            d1 = _mm512_fmadd_pd(xk, _mm512_loadu_pd(sd->yt + k * m + j + 8), d1);
        }
        __m512d z0 = _mm512_fmsub_pd(
            _mm512_sub_pd(_mm512_loadu_pd(h + j), _mm512_loadu_pd(sd->ysq + j)), vinv, vM);
        __m512d z1 = _mm512_fmsub_pd(
            _mm512_sub_pd(_mm512_loadu_pd(h + j + 8), _mm512_loadu_pd(sd->ysq + j + 8)), vinv, vM);
        s0 = _mm512_add_pd(s0, ms__exp8_fast(_mm512_fmadd_pd(d0, vtwo, z0)));
        s1 = _mm512_add_pd(s1, ms__exp8_fast(_mm512_fmadd_pd(d1, vtwo, z1)));
    }
    for (; j < m; j += 8) {
        __mmask8 msk = m - j >= 8 ? 0xff : (__mmask8)((1u << (m - j)) - 1);
        __m512d d0 = _mm512_setzero_pd();
        for (size_t k = 0; k < sd->d; k++)
            d0 = _mm512_fmadd_pd(_mm512_set1_pd(xs[k]),
                                 _mm512_maskz_loadu_pd(msk, sd->yt + k * m + j), d0);
        __m512d z0 = _mm512_fmsub_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(msk, h + j),
                                                   _mm512_maskz_loadu_pd(msk, sd->ysq + j)),
                                     vinv, vM);
        __m512d e = ms__exp8_fast(_mm512_fmadd_pd(d0, vtwo, z0));
        s0 = _mm512_add_pd(s0, _mm512_maskz_mov_pd(msk, e));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

__attribute__((target("avx512f,avx512dq"))) static double
fused_dense_avx512(const double *crow, const double *h, double inv, double M, size_t m) {
    __m512d vinv = _mm512_set1_pd(inv), vM = _mm512_set1_pd(M);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t j = 0;
    for (; j + 16 <= m; j += 16) {
        __m512d z0 = _mm512_fmsub_pd(
            _mm512_sub_pd(_mm512_loadu_pd(h + j), _mm512_loadu_pd(crow + j)), vinv, vM);
        __m512d z1 = _mm512_fmsub_pd(
            _mm512_sub_pd(_mm512_loadu_pd(h + j + 8), _mm512_loadu_pd(crow + j + 8)), vinv, vM);
        s0 = _mm512_add_pd(s0, ms__exp8_fast(z0));
        s1 = _mm512_add_pd(s1, ms__exp8_fast(z1));
    }
    for (; j < m; j += 8) {
        __mmask8 msk = m - j >= 8 ? 0xff : (__mmask8)((1u << (m - j)) - 1);
        __m512d z0 = _mm512_fmsub_pd(
            _mm512_sub_pd(_mm512_maskz_loadu_pd(msk, h + j), _mm512_maskz_loadu_pd(msk, crow + j)),
            vinv, vM);
        s0 = _mm512_add_pd(s0, _mm512_maskz_mov_pd(msk, ms__exp8_fast(z0)));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

__attribute__((target("avx2,fma"))) static double
fused_points_avx2(const double *xs, const side *sd, const double *h, double inv, double M) {
    const size_t m = sd->m;
    __m256d vinv = _mm256_set1_pd(inv), vtwo = _mm256_set1_pd(2.0 * inv);
    __m256d vM = _mm256_set1_pd(M);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t j = 0;
    for (; j + 8 <= m; j += 8) {
        __m256d d0 = _mm256_setzero_pd(), d1 = _mm256_setzero_pd();
        for (size_t k = 0; k < sd->d; k++) {
            __m256d xk = _mm256_set1_pd(xs[k]);
            d0 = _mm256_fmadd_pd(xk, _mm256_loadu_pd(sd->yt + k * m + j), d0);
            d1 = _mm256_fmadd_pd(xk, _mm256_loadu_pd(sd->yt + k * m + j + 4), d1);
        }
        __m256d z0 = _mm256_fmsub_pd(
            _mm256_sub_pd(_mm256_loadu_pd(h + j), _mm256_loadu_pd(sd->ysq + j)), vinv, vM);
        __m256d z1 = _mm256_fmsub_pd(
            _mm256_sub_pd(_mm256_loadu_pd(h + j + 4), _mm256_loadu_pd(sd->ysq + j + 4)), vinv, vM);
        s0 = _mm256_add_pd(s0, ms__exp4(_mm256_fmadd_pd(d0, vtwo, z0)));
        s1 = _mm256_add_pd(s1, ms__exp4(_mm256_fmadd_pd(d1, vtwo, z1)));
    }
    double buf[4];
    _mm256_storeu_pd(buf, _mm256_add_pd(s0, s1));
    return (buf[0] + buf[1]) + (buf[2] + buf[3]) + fused_points_scalar(xs, sd, h, inv, M, j, m - j);
}

__attribute__((target("avx2,fma"))) static double
fused_dense_avx2(const double *crow, const double *h, double inv, double M, size_t m) {
    __m256d vinv = _mm256_set1_pd(inv), vM = _mm256_set1_pd(M);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t j = 0;
    for (; j + 8 <= m; j += 8) {
        __m256d z0 = _mm256_fmsub_pd(
            _mm256_sub_pd(_mm256_loadu_pd(h + j), _mm256_loadu_pd(crow + j)), vinv, vM);
        __m256d z1 = _mm256_fmsub_pd(
            _mm256_sub_pd(_mm256_loadu_pd(h + j + 4), _mm256_loadu_pd(crow + j + 4)), vinv, vM);
        s0 = _mm256_add_pd(s0, ms__exp4(z0));
        s1 = _mm256_add_pd(s1, ms__exp4(z1));
    }
    double buf[4];
    _mm256_storeu_pd(buf, _mm256_add_pd(s0, s1));
    return (buf[0] + buf[1]) + (buf[2] + buf[3]) + fused_dense_scalar(crow, h, inv, M, j, m - j);
}
#endif

static double fused(const side *sd, size_t i, const double *h, double inv, double M, int level) {
    const double *xs = sd->x ? sd->x + i * sd->d : NULL;
    const double *crow = sd->c ? sd->c + i * sd->m : NULL;
#if defined(__x86_64__) && defined(__GNUC__)
    if (level == MS__SIMD_AVX512)
        return crow ? fused_dense_avx512(crow, h, inv, M, sd->m)
                    : fused_points_avx512(xs, sd, h, inv, M);
    if (level == MS__SIMD_AVX2)
        return crow ? fused_dense_avx2(crow, h, inv, M, sd->m)
                    : fused_points_avx2(xs, sd, h, inv, M);
#endif
    (void)level;
    return crow ? fused_dense_scalar(crow, h, inv, M, 0, sd->m)
                : fused_points_scalar(xs, sd, h, inv, M, 0, sd->m);
}

/* z for row i (xs = its point) over columns [j0, j0+len); returns max z. */
static double fill(const side *sd, size_t i, const double *h, double inv, size_t j0, size_t len,
                   double *z, int level) {
    const double *xs = sd->x ? sd->x + i * sd->d : NULL;
#if defined(__x86_64__) && defined(__GNUC__)
    if (level == MS__SIMD_AVX512)
        return sd->c ? fill_dense_avx512(sd->c + i * sd->m, h, inv, j0, len, z)
                     : fill_points_avx512(xs, sd, h, inv, j0, len, z);
    if (level == MS__SIMD_AVX2)
        return sd->c ? fill_dense_avx2(sd->c + i * sd->m, h, inv, j0, len, z)
                     : fill_points_avx2(xs, sd, h, inv, j0, len, z);
#endif
    (void)level;
    return sd->c ? fill_dense_scalar(sd->c + i * sd->m, h, inv, j0, len, z)
                 : fill_points_scalar(xs, sd, h, inv, j0, len, z);
}

/* -eps·LSE over row i (the soft-min), with the |x_i|² term restored. */
/* The shifted sum is trusted when it stays in this range: then no term that
 * matters overflowed, and the terms lost to underflow are below 1e-58 of
 * the largest one, beyond double precision of the sum. */
#define FUSED_LO 1e-250
#define FUSED_HI 1e250

static double row_softmin(const side *sd, size_t i, const double *h, double eps, double inv,
                          int level, double hint, double *z) {
    const double q = sd->x ? sd->xsq[i] : 0;
    if (isfinite(hint)) {
        /* One pass with the shift the hint predicts: LSE ≈ (q - hint)/eps. */
        double Mh = (q - hint) * inv;
        double Sh = fused(sd, i, h, inv, Mh, level);
        if (Sh >= FUSED_LO && Sh <= FUSED_HI)
            return -eps * (Mh + log(Sh)) + q;
    }
    double M = -INFINITY, S = 0;
    for (size_t j0 = 0; j0 < sd->m; j0 += TILE) {
        size_t len = sd->m - j0 < TILE ? sd->m - j0 : TILE;
        double cm = fill(sd, i, h, inv, j0, len, z, level);
        if (!(cm > -INFINITY))
            continue; /* every weight of this tile is zero */
        if (cm > M) {
            S *= exp(M - cm);
            M = cm;
        }
        S += ms__sum_exp_level(z, len, M, level);
    }
    return -eps * (M + log(S)) + q;
}

static ms_status run_side(const side *sd, const double *h, double eps, const double *hint,
                          double *out, const ms_ctx *ctx) {
    const int level = ms__simd_level();
    const double inv = 1.0 / eps;
    const int nt = ms_ctx_threads(ctx);
    const size_t n = sd->n;
    int cancelled = 0;
    /* Rows in blocks of 64 so a cancel request is seen within a block. */
    const size_t nblk = (n + 63) / 64;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (size_t b = 0; b < nblk; b++) {
        if (ms_ctx_cancelled(ctx)) {
            cancelled = 1;
            continue;
        }
        double z[TILE];
        size_t hi = (b + 1) * 64 < n ? (b + 1) * 64 : n;
        for (size_t i = b * 64; i < hi; i++)
            out[i] = row_softmin(sd, i, h, eps, inv, level, hint ? hint[i] : NAN, z);
    }
    return cancelled ? MS_ECANCELLED : MS_OK;
}

ms_status ms_softmin_rows(const ms_softmin *s, const double *h, double eps, const double *hint,
                          double *out, const ms_ctx *ctx) {
    return run_side(&s->fwd, h, eps, hint, out, ctx);
}

ms_status ms_softmin_cols(const ms_softmin *s, const double *h, double eps, const double *hint,
                          double *out, const ms_ctx *ctx) {
    return run_side(&s->bwd, h, eps, hint, out, ctx);
}

/* ---- sparse rows: the significant entries of each row's softmax ---- */

/* Keep (j, zj) among row i's `cap` largest entries seen so far. */
static void keep_top(uint32_t *idx, double *zv, uint32_t *cnt, size_t cap, uint32_t j, double zj) {
    if (*cnt < cap) {
        idx[*cnt] = j;
        zv[*cnt] = zj;
        (*cnt)++;
        return;
    }
    size_t lo = 0;
    for (size_t k = 1; k < cap; k++)
        if (zv[k] < zv[lo])
            lo = k;
    if (zj > zv[lo]) {
        idx[lo] = j;
        zv[lo] = zj;
    }
}

static void row_sparse(const side *sd, size_t i, const double *h, double eps, double inv, int level,
                       double hint, double log_theta, size_t cap, double *lse, uint32_t *idx,
                       double *val, uint32_t *count, double *dropped, double *z) {
    double out = row_softmin(sd, i, h, eps, inv, level, hint, z);
    lse[i] = out;
    const double q = sd->x ? sd->xsq[i] : 0;
    const double L = (q - out) * inv; /* LSE_j z_j */
    const double thr = L + log_theta;
    uint32_t *ri = idx + i * cap;
    double *rv = val + i * cap;
    uint32_t c = 0;
    for (size_t j0 = 0; j0 < sd->m; j0 += TILE) {
        size_t len = sd->m - j0 < TILE ? sd->m - j0 : TILE;
        double cm = fill(sd, i, h, inv, j0, len, z, level);
        if (!(cm >= thr))
            continue;
        for (size_t t = 0; t < len; t++)
            if (z[t] >= thr)
                keep_top(ri, rv, &c, cap, (uint32_t)(j0 + t), z[t]);
    }
    double kept = 0;
    for (uint32_t k = 0; k < c; k++) {
        rv[k] = exp(rv[k] - L);
        kept += rv[k];
    }
    count[i] = c;
    dropped[i] = kept < 1 ? 1 - kept : 0;
}

static ms_status sparse_side(const side *sd, const double *h, double eps, const double *hint,
                             double theta, size_t cap, double *lse, uint32_t *idx, double *val,
                             uint32_t *count, double *dropped, const ms_ctx *ctx) {
    const int level = ms__simd_level();
    const double inv = 1.0 / eps, lt = log(theta);
    const int nt = ms_ctx_threads(ctx);
    const size_t n = sd->n, nblk = (n + 63) / 64;
    int cancelled = 0;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (size_t b = 0; b < nblk; b++) {
        if (ms_ctx_cancelled(ctx)) {
            cancelled = 1;
            continue;
        }
        double z[TILE];
        size_t hi = (b + 1) * 64 < n ? (b + 1) * 64 : n;
        for (size_t i = b * 64; i < hi; i++)
            row_sparse(sd, i, h, eps, inv, level, hint ? hint[i] : NAN, lt, cap, lse, idx, val,
                       count, dropped, z);
    }
    return cancelled ? MS_ECANCELLED : MS_OK;
}

ms_status ms_softmin_rows_sparse(const ms_softmin *s, const double *h, double eps,
                                 const double *hint, double theta, size_t cap, double *lse,
                                 uint32_t *idx, double *val, uint32_t *count, double *dropped,
                                 const ms_ctx *ctx) {
    return sparse_side(&s->fwd, h, eps, hint, theta, cap, lse, idx, val, count, dropped, ctx);
}

/* ---- moments: lse, expected cost and barycentric projection per row ---- */

static void row_moments(const side *sd, const double *centre, size_t i, const double *h, double eps,
                        double inv, int level, double *z, double *lse, double *cost, double *bary) {
    const size_t d = sd->d;
    double M = -INFINITY, S = 0, Cs = 0;
    /* The barycentre accumulates in place, in the output row. */
    double *acc = bary ? bary + i * d : NULL;
    for (size_t k = 0; k < d && bary; k++)
        acc[k] = 0;
    for (size_t j0 = 0; j0 < sd->m; j0 += TILE) {
        size_t len = sd->m - j0 < TILE ? sd->m - j0 : TILE;
        double cm = fill(sd, i, h, inv, j0, len, z, level);
        if (!(cm > -INFINITY))
            continue;
        if (cm > M) {
            double r = exp(M - cm);
            S *= r;
            Cs *= r;
            for (size_t k = 0; k < d && bary; k++)
                acc[k] *= r;
            M = cm;
        }
        for (size_t t = 0; t < len; t++)
            z[t] -= M;
        ms__vexp_level(z, z, len, level);
        for (size_t t = 0; t < len; t++) {
            size_t j = j0 + t;
            double e = z[t];
            S += e;
            if (cost) {
                double c;
                if (sd->c) {
                    c = sd->c[i * sd->m + j];
                } else {
                    c = 0;
                    for (size_t k = 0; k < d; k++) {
                        double v = sd->x[i * d + k] - sd->yt[k * sd->m + j];
                        c += v * v;
                    }
                }
                /* A zero-weight column (e = 0) must not turn an infinite
                 * cost into NaN. */
                if (e > 0)
                    Cs += e * c;
            }
            for (size_t k = 0; k < d && bary; k++)
                acc[k] += e * sd->yt[k * sd->m + j];
        }
    }
    double l = -eps * (M + log(S));
    if (lse)
        lse[i] = sd->x ? l + sd->xsq[i] : l;
    if (cost)
        cost[i] = Cs / S;
    for (size_t k = 0; k < d && bary; k++)
        bary[i * d + k] = acc[k] / S + centre[k];
}

static ms_status moments_side(const ms_softmin *s, const side *sd, const double *h, double eps,
                              double *lse, double *cost, double *bary, const ms_ctx *ctx) {
    if (bary && !sd->x)
        return MS_EUNSUPPORTED;
    const int level = ms__simd_level();
    const double inv = 1.0 / eps;
    const int nt = ms_ctx_threads(ctx);
    const size_t n = sd->n;
    int cancelled = 0;
    const size_t nblk = (n + 63) / 64;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
    for (size_t b = 0; b < nblk; b++) {
        if (ms_ctx_cancelled(ctx)) {
            cancelled = 1;
            continue;
        }
        double z[TILE];
        size_t hi = (b + 1) * 64 < n ? (b + 1) * 64 : n;
        for (size_t i = b * 64; i < hi; i++)
            row_moments(sd, s->centre, i, h, eps, inv, level, z, lse, cost, bary);
    }
    return cancelled ? MS_ECANCELLED : MS_OK;
}

ms_status ms_softmin_rows_moments(const ms_softmin *s, const double *h, double eps, double *lse,
                                  double *cost, double *bary, const ms_ctx *ctx) {
    return moments_side(s, &s->fwd, h, eps, lse, cost, bary, ctx);
}

ms_status ms_softmin_cols_moments(const ms_softmin *s, const double *h, double eps, double *lse,
                                  double *cost, double *bary, const ms_ctx *ctx) {
    return moments_side(s, &s->bwd, h, eps, lse, cost, bary, ctx);
}
