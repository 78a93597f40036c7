/* nets_simd.c — the elementwise passes of the two-layer model over rows of
 * the n×m activation matrix, in float64 and float32, compiled for AVX-512,
 * AVX2 and the baseline and chosen at run time (ms__simd_level()).
 *
 * What it is for: the O(nm) work between the two GEMMs of a step
 * (nets_twolayer.c, spec §2 "Cost"): Σ_i a_i relu(p_i) together with the
 * ReLU or its mask 1[p > 0] written in place (one pass per row, the row is
 * in L1), the plain dot product, and the activations' derivatives. At the
 * spec's size S (m = 100, d = 20) these passes cost as much as a GEMM when
 * they run two doubles at a time, which is all the portable build gives.
 *
 * How: every kernel body is written once as a macro over the element type
 * and stamped out with three target attributes; `#pragma omp simd` does the
 * vectorising. The functions are picked once per call of the model through
 * a table (nets__simd_table()). The AVX-512 variant and the others differ in
 * the order of the reduction's partial sums, so results are reproducible on
 * one machine (the same variant always runs), whatever the thread count.
 *
 * Why `no-trapping-math`: without it GCC 12 does not if-convert the
 * `p > 0 ? p : 0` select for AVX2 and the baseline (the comparison might
 * raise FE_INVALID) and the loops stay scalar with a branch that
 * mispredicts half of the time. lib/ never reads the floating-point
 * exception flags, so the assumption costs nothing.
 *
 * What it is not for: GEMMs (BLAS), transcendental activations (ms_vexp).
 */
#pragma GCC optimize("no-trapping-math")

#include "ms_simd_internal.h"
#include "nets_internal.h"

/* For each of nb rows of h (length m, stride m): acc_j = Σ_i a_i relu(h_ji)
 * and h_j ← 1[h_j > 0] (MASK) or relu(h_j). */
#define K_RELU_ROWS(T, NAME, ATTR, MASK)                                           \
    ATTR static void NAME(T *restrict h, const T *restrict a, size_t nb, size_t m, \
                          T *restrict acc) {                                       \
        for (size_t j = 0; j < nb; j++) {                                          \
            T *restrict row = h + j * m, s = 0;                                    \
            _Pragma("omp simd reduction(+ : s)") for (size_t i = 0; i < m; i++) {  \
                T v = row[i];                                                      \
                T r = v > 0 ? v : (T)0;                                            \
                s += a[i] * r;                                                     \
                row[i] = MASK ? (v > 0 ? (T)1 : (T)0) : r;                         \
            }                                                                      \
            acc[j] = s;                                                            \
        }                                                                          \
    }

#define K_DOT(T, NAME, ATTR)                                                                      \
    ATTR static T NAME(const T *restrict x, const T *restrict a, size_t m) {                      \
        T acc = 0;                                                                                \
        _Pragma("omp simd reduction(+ : acc)") for (size_t i = 0; i < m; i++) acc += a[i] * x[i]; \
        return acc;                                                                               \
    }

/* σ' in place from h = σ(p), nb rows of length mb at stride ld: ReLU
 * 1[h > 0], tanh 1 − h², sigmoid h(1 − h). */
#define K_DACT(T, NAME, ATTR)                                                                      \
    ATTR static void NAME(nets_act act, T *restrict h, size_t nb, size_t mb, size_t ld) {          \
        for (size_t j = 0; j < nb; j++) {                                                          \
            T *restrict v = h + j * ld;                                                            \
            if (act == NETS_RELU) {                                                                \
                _Pragma("omp simd") for (size_t i = 0; i < mb; i++) v[i] = v[i] > 0 ? (T)1 : (T)0; \
            } else if (act == NETS_TANH) {                                                         \
                _Pragma("omp simd") for (size_t i = 0; i < mb; i++) v[i] = (T)1 - v[i] * v[i];     \
            } else {                                                                               \
                _Pragma("omp simd") for (size_t i = 0; i < mb; i++) v[i] = v[i] * ((T)1 - v[i]);   \
            }                                                                                      \
        }                                                                                          \
    }

/* out_j = e_j x_j for nb rows of length d. */
#define K_SCALE_ROWS(T, NAME, ATTR)                                                                \
    ATTR static void NAME(T *restrict out, const T *restrict x, const T *restrict e, size_t nb,    \
                          size_t d) {                                                              \
        for (size_t j = 0; j < nb; j++) {                                                          \
            const T ej = e[j];                                                                     \
            _Pragma("omp simd") for (size_t q = 0; q < d; q++) out[j * d + q] = ej * x[j * d + q]; \
        }                                                                                          \
    }

/* The Gram operator's row pass (nets_bilevel.c): for nb rows φ_j of phi
 * (m entries each, contiguous), u_j = φ_j·v (stored when u), then
 * acc += (α u_j − β y_j) φ_j (y: nb values or NULL for 0) and, when acc2,
 * acc2 += y_j φ_j; in double whatever the type of phi, one read of each
 * row. */
#define K_GRAM_ROWS(T, NAME, ATTR)                                                                 \
    ATTR static void NAME(const T *restrict phi, const double *restrict v,                         \
                          const double *restrict y, double alpha, double beta, size_t nb,          \
                          size_t m, double *restrict u, double *restrict acc,                      \
                          double *restrict acc2) {                                                 \
        for (size_t j = 0; j < nb; j++) {                                                          \
            const T *restrict row = phi + j * m;                                                   \
            double s = 0;                                                                          \
            _Pragma("omp simd reduction(+ : s)") for (size_t i = 0; i < m; i++) s +=               \
                (double)row[i] * v[i];                                                             \
            if (u)                                                                                 \
                u[j] = s;                                                                          \
            const double w = alpha * s - (y ? beta * y[j] : 0.0);                                  \
            _Pragma("omp simd") for (size_t i = 0; i < m; i++) acc[i] += w * (double)row[i];       \
            if (acc2) {                                                                            \
                const double yj = y[j];                                                            \
                _Pragma("omp simd") for (size_t i = 0; i < m; i++) acc2[i] += yj * (double)row[i]; \
            }                                                                                      \
        }                                                                                          \
    }

#define K_REST(ISA, ATTR)                     \
    K_GRAM_ROWS(double, gram_d_##ISA, ATTR)   \
    K_GRAM_ROWS(float, gram_f_##ISA, ATTR)    \
    K_DOT(double, dot_d_##ISA, ATTR)          \
    K_DOT(float, dot_f_##ISA, ATTR)           \
    K_DACT(double, dact_d_##ISA, ATTR)        \
    K_DACT(float, dact_f_##ISA, ATTR)         \
    K_SCALE_ROWS(double, scale_d_##ISA, ATTR) \
    K_SCALE_ROWS(float, scale_f_##ISA, ATTR)

#define K_ALL(ISA, ATTR)                            \
    K_RELU_ROWS(double, relu_mask_d_##ISA, ATTR, 1) \
    K_RELU_ROWS(double, relu_keep_d_##ISA, ATTR, 0) \
    K_RELU_ROWS(float, relu_mask_f_##ISA, ATTR, 1)  \
    K_RELU_ROWS(float, relu_keep_f_##ISA, ATTR, 0)  \
    K_REST(ISA, ATTR)

#define K_TABLE(ISA)                                                                \
    static const nets_simd table_##ISA = {                                          \
        relu_mask_d_##ISA, relu_keep_d_##ISA, relu_mask_f_##ISA, relu_keep_f_##ISA, \
        dot_d_##ISA,       dot_f_##ISA,       dact_d_##ISA,      dact_f_##ISA,      \
        scale_d_##ISA,     scale_f_##ISA,     gram_d_##ISA,      gram_f_##ISA,      \
    };

K_ALL(base, )
K_TABLE(base)
#if defined(__x86_64__) && defined(__GNUC__)
K_ALL(avx2, __attribute__((target("avx2,fma"))))
K_TABLE(avx2)

/* AVX-512: the ReLU row passes by hand. GCC's `omp simd` reduction ends
 * each row with a scalar loop over the 16 lanes through memory and a
 * scalar, branching remainder; at m = 100 that cost more than the pass.
 * Here: two accumulators, a masked remainder, a shuffle reduction. */
#define AVX512 __attribute__((target("avx512f,avx512dq")))

#define RELU_STEP(V, K, AV, S, MASK, ONE, OUT) \
    do {                                       \
        __typeof__(V) r_ = MASKZ(K, V);        \
        S = ADD(S, MUL(AV, r_));               \
        OUT = MASK ? MASKZ(K, ONE) : r_;       \
    } while (0)

#define K_RELU512(T, NAME, W, VT, MT, LOADU, MLOADU, STOREU, MSTOREU, SET1, CMP, REDUCE, MASK) \
    AVX512 static void NAME(T *restrict h, const T *restrict a, size_t nb, size_t m,           \
                            T *restrict acc) {                                                 \
        const VT zero = SET1(0), one = SET1(1);                                                \
        const size_t m2 = m - m % (2 * W), m1 = m - m % W;                                     \
        const MT tail = (MT)((1u << (m - m1)) - 1);                                            \
        for (size_t j = 0; j < nb; j++) {                                                      \
            T *restrict row = h + j * m;                                                       \
            VT s0 = zero, s1 = zero, v, o;                                                     \
            size_t i = 0;                                                                      \
            for (; i < m2; i += 2 * W) {                                                       \
                v = LOADU(row + i);                                                            \
                RELU_STEP(v, CMP(v, zero, _CMP_GT_OQ), LOADU(a + i), s0, MASK, one, o);        \
                STOREU(row + i, o);                                                            \
                v = LOADU(row + i + W);                                                        \
                RELU_STEP(v, CMP(v, zero, _CMP_GT_OQ), LOADU(a + i + W), s1, MASK, one, o);    \
                STOREU(row + i + W, o);                                                        \
            }                                                                                  \
            if (i < m1) {                                                                      \
                v = LOADU(row + i);                                                            \
                RELU_STEP(v, CMP(v, zero, _CMP_GT_OQ), LOADU(a + i), s0, MASK, one, o);        \
                STOREU(row + i, o);                                                            \
                i += W;                                                                        \
            }                                                                                  \
            if (tail) {                                                                        \
                v = MLOADU(tail, row + i);                                                     \
                RELU_STEP(v, CMP(v, zero, _CMP_GT_OQ), MLOADU(tail, a + i), s1, MASK, one, o); \
                MSTOREU(row + i, tail, o);                                                     \
            }                                                                                  \
            acc[j] = REDUCE(ADD(s0, s1));                                                      \
        }                                                                                      \
    }

#define MASKZ _mm512_maskz_mov_ps
#define ADD _mm512_add_ps
#define MUL _mm512_mul_ps
K_RELU512(float, relu_mask_f_avx512, 16, __m512, __mmask16, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
          _mm512_storeu_ps, _mm512_mask_storeu_ps, _mm512_set1_ps, _mm512_cmp_ps_mask,
          _mm512_reduce_add_ps, 1)
K_RELU512(float, relu_keep_f_avx512, 16, __m512, __mmask16, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
          _mm512_storeu_ps, _mm512_mask_storeu_ps, _mm512_set1_ps, _mm512_cmp_ps_mask,
          _mm512_reduce_add_ps, 0)
#undef MASKZ
#undef ADD
#undef MUL
#define MASKZ _mm512_maskz_mov_pd
#define ADD _mm512_add_pd
#define MUL _mm512_mul_pd
K_RELU512(double, relu_mask_d_avx512, 8, __m512d, __mmask8, _mm512_loadu_pd, _mm512_maskz_loadu_pd,
          _mm512_storeu_pd, _mm512_mask_storeu_pd, _mm512_set1_pd, _mm512_cmp_pd_mask,
          _mm512_reduce_add_pd, 1)
K_RELU512(double, relu_keep_d_avx512, 8, __m512d, __mmask8, _mm512_loadu_pd, _mm512_maskz_loadu_pd,
          _mm512_storeu_pd, _mm512_mask_storeu_pd, _mm512_set1_pd, _mm512_cmp_pd_mask,
          _mm512_reduce_add_pd, 0)
#undef MASKZ
#undef ADD
#undef MUL
K_REST(avx512, __attribute__((target("avx512f,avx512dq,prefer-vector-width=512"))))
K_TABLE(avx512)
#endif

const nets_simd *nets__simd_table(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (ms__simd_level()) {
    case MS__SIMD_AVX512:
        return &table_avx512;
    case MS__SIMD_AVX2:
        return &table_avx2;
    default:
        break;
    }
#endif
    return &table_base;
}
