/* ms_rng.c — xoshiro256** seeded by splitmix64. See ms_rng.h.
 * Reference: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021. */
#include "ms_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void ms_rng_init(ms_rng *r, uint64_t seed, uint64_t stream) {
    /* Mix the stream index through one splitmix step so that neighbouring
     * streams start far apart in the seeding sequence. */
    uint64_t x = seed;
    uint64_t h = stream;
    x ^= splitmix64(&h);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* the all-zero state is the one fixed point */
    r->has_spare = 0;
    r->spare = 0.0;
}

uint64_t ms_rng_u64(ms_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ms_rng_uniform(ms_rng *r) {
    return (double)(ms_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t ms_rng_below(ms_rng *r, uint64_t n) {
    /* Lemire's nearly divisionless method would be faster; rejection on the
     * top of the range is simple and exact. */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = ms_rng_u64(r);
    while (v >= lim);
    return v % n;
}

double ms_rng_normal(ms_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * ms_rng_uniform(r) - 1.0;
        v = 2.0 * ms_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

void ms_rng_normals(ms_rng *r, double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = ms_rng_normal(r);
}
