/* ms_simd_internal.h — vector exp for the kernels of lib/ (internal).
 *
 * What it is for: exp(x) on 4 (AVX2) or 8 (AVX-512) doubles at once, with
 * the accuracy of libm (≤ 1 ulp measured against exp() on 10^7 points, see
 * tests/test_ms_vmath.c) over the whole double range: subnormal results,
 * 0 below -745.14, +Inf above 709.78, NaN in → NaN out. The builds are
 * portable (no -mavx flags); these functions carry target attributes and
 * callers choose a variant at run time with ms__simd_level().
 *
 * Method: x = k ln2 + r with |r| <= ln2/2 (Cody–Waite split of ln2), e^r by
 * its Taylor polynomial of degree 13 (truncation < 1e-17 relative) in
 * Horner form, then scaling by 2^k built in the
 * exponent bits (two factors when k leaves the normal range).
 *
 * What it is not for: public use; see ms_vmath.h for the public entry points.
 */
#ifndef MS_SIMD_INTERNAL_H
#define MS_SIMD_INTERNAL_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

enum { MS__SIMD_SCALAR = 0, MS__SIMD_AVX2 = 1, MS__SIMD_AVX512 = 2 };

/* The best variant this CPU runs. No caching (no mutable state in lib/):
 * __builtin_cpu_supports reads libgcc's CPU model, filled at load time. */
static inline int ms__simd_level(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return MS__SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return MS__SIMD_AVX2;
#endif
    return MS__SIMD_SCALAR;
}

#define MS__EXP_LOG2E 1.4426950408889634074
#define MS__EXP_LN2HI 6.93147180369123816490e-01
#define MS__EXP_LN2LO 1.90821492927058770002e-10
#define MS__EXP_SHIFT 0x1.8p52
#define MS__EXP_HI 709.782712893383973096 /* above: +Inf */
#define MS__EXP_LO (-745.1332191019412)   /* below: 0 */
#define MS__EXP_NORMAL_LO (-708.0)        /* between these two bounds, */
#define MS__EXP_NORMAL_HI 709.0           /* 2^k is one normal number */

/* Taylor coefficients 1/n!, n = 0..13. */
#define MS__C0 1.0
#define MS__C1 1.0
#define MS__C2 0.5
#define MS__C3 1.66666666666666666667e-01
#define MS__C4 4.16666666666666666667e-02
#define MS__C5 8.33333333333333333333e-03
#define MS__C6 1.38888888888888888889e-03
#define MS__C7 1.98412698412698412698e-04
#define MS__C8 2.48015873015873015873e-05
#define MS__C9 2.75573192239858906526e-06
#define MS__C10 2.75573192239858906526e-07
#define MS__C11 2.50521083854417187751e-08
#define MS__C12 2.08767569878680989792e-09
#define MS__C13 1.60590438368216145994e-10

#if defined(__x86_64__) && defined(__GNUC__)

__attribute__((target("avx2,fma"))) static inline __m256d ms__exp4(__m256d x) {
    const __m256d shift = _mm256_set1_pd(MS__EXP_SHIFT);
    __m256d t = _mm256_fmadd_pd(x, _mm256_set1_pd(MS__EXP_LOG2E), shift);
    __m256d k = _mm256_sub_pd(t, shift);
    __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(MS__EXP_LN2HI), x);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(MS__EXP_LN2LO), r);
    /* Horner's scheme: its rounding error stays below one ulp; across
     * independent vectors the out-of-order core hides the FMA latency. */
    __m256d p = _mm256_set1_pd(MS__C13);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C12));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C11));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C10));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C9));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C8));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C7));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C6));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C4));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C3));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C2));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C1));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(MS__C0));
    const __m256i bias = _mm256_set1_epi64x(0x4338000000000000LL - 1023);
    /* Fast path: k in [-1021, 1023], so 2^k is one normal number. */
    __m256d out = _mm256_or_pd(_mm256_cmp_pd(x, _mm256_set1_pd(MS__EXP_NORMAL_LO), _CMP_LT_OQ),
                               _mm256_cmp_pd(x, _mm256_set1_pd(MS__EXP_NORMAL_HI), _CMP_GT_OQ));
    if (__builtin_expect(_mm256_movemask_pd(out) == 0, 1)) {
        __m256i e = _mm256_slli_epi64(_mm256_sub_epi64(_mm256_castpd_si256(t), bias), 52);
        p = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
    } else {
        /* k outside the normal range: 2^k = 2^k1 · 2^k2, both factors normal. */
        __m256d k1 = _mm256_floor_pd(_mm256_mul_pd(k, _mm256_set1_pd(0.5)));
        __m256d k2 = _mm256_sub_pd(k, k1);
        __m256i e1 = _mm256_slli_epi64(
            _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(k1, shift)), bias), 52);
        __m256i e2 = _mm256_slli_epi64(
            _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(k2, shift)), bias), 52);
        p = _mm256_mul_pd(_mm256_mul_pd(p, _mm256_castsi256_pd(e1)), _mm256_castsi256_pd(e2));
        p = _mm256_blendv_pd(p, _mm256_setzero_pd(),
                             _mm256_cmp_pd(x, _mm256_set1_pd(MS__EXP_LO), _CMP_LT_OQ));
    }
    p = _mm256_blendv_pd(p, _mm256_set1_pd(INFINITY),
                         _mm256_cmp_pd(x, _mm256_set1_pd(MS__EXP_HI), _CMP_GT_OQ));
    return p;
}

/* AVX-512 variant: a finer reduction x = (k/8)·ln2 + r, |r| <= ln2/16, with
 * 2^(j/8) (j = k mod 8) read from an in-register table (vpermpd), so a
 * Taylor polynomial of degree 8 suffices (truncation < 2e-18 relative).
 * The table holds each 2^(j/8) as a pair hi + lo, so that the product
 * keeps the accuracy of the polynomial. */
__attribute__((target("avx512f,avx512dq"))) static inline __m512d ms__exp8(__m512d x) {
    const __m512d shift = _mm512_set1_pd(MS__EXP_SHIFT);
    const __m512d thi =
        _mm512_set_pd(1.8340080864093424, 1.681792830507429, 1.5422108254079407, 1.4142135623730951,
                      1.2968395546510096, 1.189207115002721, 1.0905077326652577, 1.0);
    const __m512d tlo = _mm512_set_pd(
        3.283107224245627e-17, 8.199010020581497e-17, 7.949834809697621e-17, -9.667293313452913e-17,
        2.5382502794888315e-17, 3.982015231465646e-17, -3.046782079812471e-17, 0.0);
    __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(8 * MS__EXP_LOG2E), shift);
    __m512d k = _mm512_sub_pd(t, shift); /* round(8 x log2 e) */
    __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(MS__EXP_LN2HI / 8), x);
    r = _mm512_fnmadd_pd(k, _mm512_set1_pd(MS__EXP_LN2LO / 8), r);
    __m512i j = _mm512_castpd_si512(t); /* vpermpd reads its low 3 bits: k mod 8 */
    __m512d th = _mm512_permutexvar_pd(j, thi), tl = _mm512_permutexvar_pd(j, tlo);
    __m512d e = _mm512_roundscale_pd(_mm512_mul_pd(k, _mm512_set1_pd(0.125)),
                                     _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512d p = _mm512_set1_pd(MS__C8);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C7));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C4));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C3));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C2));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C1));
    /* e^r - 1 carried separately keeps the last additions exact enough:
     * T·e^r = T + T·(e^r - 1) with T = th + tl. */
    __m512d pm1 = _mm512_mul_pd(p, r);
    p = _mm512_fmadd_pd(th, pm1, _mm512_fmadd_pd(tl, pm1, tl));
    p = _mm512_add_pd(th, p);
    /* scalef computes p·2^e with one rounding, subnormal results included. */
    p = _mm512_scalef_pd(p, e);
    p = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(MS__EXP_LO), _CMP_LT_OQ), p,
                             _mm512_setzero_pd());
    p = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(MS__EXP_HI), _CMP_GT_OQ), p,
                             _mm512_set1_pd(INFINITY));
    return p;
}

/* Fast AVX-512 variant for the soft-min kernels, where the argument is a
 * log-weight minus a running maximum: x <= 709 or -Inf, never +Inf or NaN
 * by construction (NaN still propagates). A 16-entry table 2^(j/16) read
 * with one vpermt2pd, |r| <= ln2/32, Taylor degree 7 (truncation 1.2e-18),
 * no blends: scalef turns very negative exponents into 0 and large ones
 * into +Inf, and -Inf is clamped to -746 (exp = 0). About 25% fewer
 * operations than ms__exp8; at most 2 ulp from libm on [-745, 709]
 * (tests/test_ms_vmath.c). */
__attribute__((target("avx512f,avx512dq"))) static inline __m512d ms__exp8_fast(__m512d x) {
    const __m512d shift = _mm512_set1_pd(MS__EXP_SHIFT);
    const __m512d t0 =
        _mm512_set_pd(1.3542555469368927, 1.2968395546510096, 1.241857812073484, 1.189207115002721,
                      1.1387886347566916, 1.0905077326652577, 1.0442737824274138, 1.0);
    const __m512d t1 = _mm512_set_pd(1.9152065613971474, 1.8340080864093424, 1.7562521603732995,
                                     1.681792830507429, 1.6104903319492543, 1.5422108254079407,
                                     1.4768261459394993, 1.4142135623730951);
    /* max(-746, x) with the constant first: a NaN x is returned as is. */
    x = _mm512_max_pd(_mm512_set1_pd(-746.0), x);
    __m512d t = _mm512_fmadd_pd(x, _mm512_set1_pd(16 * MS__EXP_LOG2E), shift);
    __m512d k = _mm512_sub_pd(t, shift); /* round(16 x log2 e) */
    __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(MS__EXP_LN2HI / 16), x);
    r = _mm512_fnmadd_pd(k, _mm512_set1_pd(MS__EXP_LN2LO / 16), r);
    __m512d tj = _mm512_permutex2var_pd(t0, _mm512_castpd_si512(t), t1); /* k mod 16 */
    __m512d p = _mm512_set1_pd(MS__C7);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C4));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C3));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C2));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(MS__C1));
    p = _mm512_mul_pd(p, r); /* e^r - 1 */
    p = _mm512_fmadd_pd(tj, p, tj);
    /* scalef uses floor(k/16): the exponent of 2^(k/16) = 2^floor(k/16) 2^(j/16). */
    return _mm512_scalef_pd(p, _mm512_mul_pd(k, _mm512_set1_pd(0.0625)));
}

#endif /* x86_64 */

#endif
