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

#define K_ALL(ISA, ATTR)                                                                           \
    K_RELU_ROWS(double, relu_mask_d_##ISA, ATTR, 1)                                                \
    K_RELU_ROWS(double, relu_keep_d_##ISA, ATTR, 0)                                                \
    K_RELU_ROWS(float, relu_mask_f_##ISA, ATTR, 1)                                                 \
    K_RELU_ROWS(float, relu_keep_f_##ISA, ATTR, 0)                                                 \
    K_DOT(double, dot_d_##ISA, ATTR)                                                               \
    K_DOT(float, dot_f_##ISA, ATTR)                                                                \
    K_DACT(double, dact_d_##ISA, ATTR)                                                             \
    K_DACT(float, dact_f_##ISA, ATTR)                                                              \
    K_SCALE_ROWS(double, scale_d_##ISA, ATTR)                                                      \
    K_SCALE_ROWS(float, scale_f_##ISA, ATTR)                                                       \
    static const nets_simd table_##ISA = {                                                         \
        relu_mask_d_##ISA, relu_keep_d_##ISA, relu_mask_f_##ISA, relu_keep_f_##ISA, dot_d_##ISA,   \
        dot_f_##ISA,       dact_d_##ISA,      dact_f_##ISA,      scale_d_##ISA,     scale_f_##ISA, \
    };

K_ALL(base, )
#if defined(__x86_64__) && defined(__GNUC__)
K_ALL(avx2, __attribute__((target("avx2,fma"))))
K_ALL(avx512, __attribute__((target("avx512f,avx512dq,prefer-vector-width=512"))))
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
