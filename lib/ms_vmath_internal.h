/* ms_vmath_internal.h — variant-forcing entry points of ms_vmath.c, so tests
 * and benchmarks can check every SIMD path the CPU supports (internal). */
#ifndef MS_VMATH_INTERNAL_H
#define MS_VMATH_INTERNAL_H

#include <stddef.h>

/* level: MS__SIMD_SCALAR, MS__SIMD_AVX2 or MS__SIMD_AVX512 (ms_simd_internal.h);
 * the caller makes sure the CPU supports it. */
void ms__vexp_level(const double *x, double *y, size_t n, int level);
double ms__sum_exp_level(const double *x, size_t n, double shift, int level);

#endif
