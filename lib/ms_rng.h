/* ms_rng.h — the seeded random generator of measured.
 *
 * What it is for: every random number in lib/ comes from an ms_rng seeded by
 * the request's `seed`. The generator is xoshiro256** (Blackman & Vigna),
 * seeded through splitmix64 from the pair (seed, stream). Parallel code that
 * must give the same bits whatever the thread count draws item i from its own
 * stream (ms_rng_init(&r, seed, i)), never from a generator shared by threads.
 *
 * What it is not for: cryptography.
 */
#ifndef MS_RNG_H
#define MS_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms_rng {
    uint64_t s[4];
    double spare; /* second normal of the last polar pair */
    int has_spare;
} ms_rng;

/* Seed the generator for stream `stream` of `seed`. Distinct (seed, stream)
 * pairs give statistically independent sequences. */
void ms_rng_init(ms_rng *r, uint64_t seed, uint64_t stream);
/* 64 random bits. */
uint64_t ms_rng_u64(ms_rng *r);
/* Uniform on [0, 1) with 53 random bits. */
double ms_rng_uniform(ms_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t ms_rng_below(ms_rng *r, uint64_t n);
/* Standard normal (Marsaglia's polar method). */
double ms_rng_normal(ms_rng *r);
/* Fill x[0..n) with independent standard normals. */
void ms_rng_normals(ms_rng *r, double *x, size_t n);

#endif
