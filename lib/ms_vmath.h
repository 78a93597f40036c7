/* ms_vmath.h — vectorised exp and log-sum-exp over arrays.
 *
 * What it is for: the elementwise kernels every solver shares. The SIMD
 * variant (AVX-512, AVX2 or scalar libm) is chosen at run time for the CPU,
 * so portable builds still run at the machine's speed; all variants agree
 * with libm's exp to about 1 ulp.
 *
 * What it is not for: the fused cost + log-sum-exp passes of entropic OT,
 * which live in ms_softmin.h and use the same exp.
 *
 * All functions are thread-safe and allocate nothing.
 */
#ifndef MS_VMATH_H
#define MS_VMATH_H

#include <stddef.h>

/* y[i] = exp(x[i]) for i < n; x and y may be the same array. */
void ms_vexp(const double *x, double *y, size_t n);
/* Σ_i exp(x[i] - shift), for x[i] - shift <= 709 or -Inf (a log-sum-exp
 * shifted by its maximum): each term within 2 ulp of libm's (the AVX-512
 * path uses a faster exp than ms_vexp's). */
double ms_sum_exp(const double *x, size_t n, double shift);
/* max_i x[i]; -Inf for n = 0. NaN entries are ignored. */
double ms_vmax(const double *x, size_t n);
/* log Σ_i exp(x[i]), overflow-safe (max subtracted first); -Inf for n = 0 or
 * when every entry is -Inf. */
double ms_lse(const double *x, size_t n);
/* log Σ_i exp(x[i*stride]) for strided data (short axes of grids). */
double ms_lse_strided(const double *x, size_t n, size_t stride);
/* Name of the SIMD variant in use: "avx512", "avx2" or "scalar". */
const char *ms_vmath_isa(void);

#endif
