/* ms_vmath.c — vectorised exp and log-sum-exp. See ms_vmath.h. */
#include "ms_vmath.h"

#include <math.h>

#include "ms_simd_internal.h"
#include "ms_vmath_internal.h"

const char *ms_vmath_isa(void) {
    switch (ms__simd_level()) {
    case MS__SIMD_AVX512:
        return "avx512";
    case MS__SIMD_AVX2:
        return "avx2";
    default:
        return "scalar";
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512dq"))) static void vexp_avx512(const double *x, double *y,
                                                                    size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm512_storeu_pd(y + i, ms__exp8(_mm512_loadu_pd(x + i)));
    if (i < n) {
        __mmask8 m = (__mmask8)((1u << (n - i)) - 1);
        _mm512_mask_storeu_pd(y + i, m, ms__exp8(_mm512_maskz_loadu_pd(m, x + i)));
    }
}

__attribute__((target("avx2,fma"))) static void vexp_avx2(const double *x, double *y, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, ms__exp4(_mm256_loadu_pd(x + i)));
    for (; i < n; i++)
        y[i] = exp(x[i]);
}

__attribute__((target("avx512f,avx512dq"))) static double sum_exp_avx512(const double *x, size_t n,
                                                                         double shift) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    __m512d sh = _mm512_set1_pd(shift);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm512_add_pd(s0, ms__exp8_fast(_mm512_sub_pd(_mm512_loadu_pd(x + i), sh)));
        s1 = _mm512_add_pd(s1, ms__exp8_fast(_mm512_sub_pd(_mm512_loadu_pd(x + i + 8), sh)));
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm512_add_pd(s0, ms__exp8_fast(_mm512_sub_pd(_mm512_loadu_pd(x + i), sh)));
    if (i < n) {
        __mmask8 m = (__mmask8)((1u << (n - i)) - 1);
        __m512d v =
            _mm512_mask_blend_pd(m, _mm512_set1_pd(-INFINITY), _mm512_maskz_loadu_pd(m, x + i));
        s1 = _mm512_add_pd(s1, ms__exp8_fast(_mm512_sub_pd(v, sh)));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

__attribute__((target("avx2,fma"))) static double sum_exp_avx2(const double *x, size_t n,
                                                               double shift) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256d sh = _mm256_set1_pd(shift);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = _mm256_add_pd(s0, ms__exp4(_mm256_sub_pd(_mm256_loadu_pd(x + i), sh)));
        s1 = _mm256_add_pd(s1, ms__exp4(_mm256_sub_pd(_mm256_loadu_pd(x + i + 4), sh)));
    }
    double buf[4];
    _mm256_storeu_pd(buf, _mm256_add_pd(s0, s1));
    double s = (buf[0] + buf[1]) + (buf[2] + buf[3]);
    for (; i < n; i++)
        s += exp(x[i] - shift);
    return s;
}
#endif

void ms_vexp(const double *x, double *y, size_t n) {
    ms__vexp_level(x, y, n, ms__simd_level());
}

double ms_sum_exp(const double *x, size_t n, double shift) {
    return ms__sum_exp_level(x, n, shift, ms__simd_level());
}

void ms__vexp_level(const double *x, double *y, size_t n, int level) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (level) {
    case MS__SIMD_AVX512:
        vexp_avx512(x, y, n);
        return;
    case MS__SIMD_AVX2:
        vexp_avx2(x, y, n);
        return;
    default:
        break;
    }
#endif
    for (size_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}

double ms__sum_exp_level(const double *x, size_t n, double shift, int level) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (level) {
    case MS__SIMD_AVX512:
        return sum_exp_avx512(x, n, shift);
    case MS__SIMD_AVX2:
        return sum_exp_avx2(x, n, shift);
    default:
        break;
    }
#endif
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += exp(x[i] - shift);
    return s;
}

double ms_vmax(const double *x, size_t n) {
    /* Four accumulators let the compiler vectorise without -ffast-math. */
    double m0 = -INFINITY, m1 = -INFINITY, m2 = -INFINITY, m3 = -INFINITY;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        m0 = x[i] > m0 ? x[i] : m0;
        m1 = x[i + 1] > m1 ? x[i + 1] : m1;
        m2 = x[i + 2] > m2 ? x[i + 2] : m2;
        m3 = x[i + 3] > m3 ? x[i + 3] : m3;
    }
    for (; i < n; i++)
        m0 = x[i] > m0 ? x[i] : m0;
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    return m2 > m0 ? m2 : m0;
}

double ms_lse(const double *x, size_t n) {
    double m = ms_vmax(x, n);
    if (!isfinite(m))
        return m; /* -Inf (empty or all -Inf) or +Inf */
    return m + log(ms_sum_exp(x, n, m));
}

double ms_lse_strided(const double *x, size_t n, size_t stride) {
    if (stride == 1)
        return ms_lse(x, n);
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        m = x[i * stride] > m ? x[i * stride] : m;
    if (!isfinite(m))
        return m;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += exp(x[i * stride] - m);
    return m + log(s);
}
