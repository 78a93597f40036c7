/* games_space.c — strategy spaces. See games_space.h. */
#include "games_space.h"

#include <math.h>
#include <string.h>

static void project_ball(double *z, size_t d, double r) {
    double s = 0;
    for (size_t c = 0; c < d; c++)
        s += z[c] * z[c];
    s = sqrt(s);
    if (s > r)
        for (size_t c = 0; c < d; c++)
            z[c] = r > 0 ? z[c] * (r / s) : 0;
}

/* Coordinates that never move: the sample index, the neuron's sign. */
static int frozen(const games_space *sp, size_t c) {
    return (sp->type == GAMES_SAMPLES && c == 0) ||
           (sp->type == GAMES_SIGNED_SPHERE && c + 1 == sp->dim);
}

/* Atoms on different frozen coordinates are far apart. */
static int apart(const games_space *sp, const double *a, const double *b) {
    return (sp->type == GAMES_SAMPLES && nearbyint(a[0]) != nearbyint(b[0])) ||
           (sp->type == GAMES_SIGNED_SPHERE && (a[sp->dim - 1] >= 0) != (b[sp->dim - 1] >= 0));
}

void games_space_retract(const games_space *sp, double *z) {
    size_t d = sp->dim;
    switch (sp->type) {
    case GAMES_TORUS:
        for (size_t c = 0; c < d; c++) {
            double w = z[c] - sp->period * floor(z[c] / sp->period);
            /* floor can leave w == period by rounding when z is a tiny
             * negative number. */
            z[c] = w >= sp->period ? 0.0 : w;
        }
        break;
    case GAMES_BOX:
        for (size_t c = 0; c < d; c++)
            z[c] = z[c] < sp->low[c] ? sp->low[c] : z[c] > sp->high[c] ? sp->high[c] : z[c];
        break;
    case GAMES_SPHERE: {
        double s = 0;
        for (size_t c = 0; c < d; c++)
            s += z[c] * z[c];
        s = sqrt(s);
        if (s > 0)
            for (size_t c = 0; c < d; c++)
                z[c] /= s;
        else
            for (size_t c = 0; c < d; c++)
                z[c] = c == 0;
        break;
    }
    case GAMES_BALL:
        project_ball(z, d, sp->radius);
        break;
    case GAMES_EUCLIDEAN:
        break;
    case GAMES_SAMPLES: {
        double k = nearbyint(z[0]), hi = (double)sp->n_samples - 1;
        z[0] = k < 0 ? 0 : k > hi ? hi : k;
        project_ball(z + 1, d - 1, sp->radius);
        break;
    }
    case GAMES_SIGNED_SPHERE: {
        games_space unit = {.type = GAMES_SPHERE, .dim = d - 1};
        games_space_retract(&unit, z);
        z[d - 1] = z[d - 1] >= 0 ? 1.0 : -1.0;
        break;
    }
    }
}

void games_space_step(const games_space *sp, double *z, const double *g, double t) {
    size_t d = sp->dim;
    double gz = 0;
    if (sp->type == GAMES_SPHERE || sp->type == GAMES_SIGNED_SPHERE) {
        size_t D = sp->type == GAMES_SPHERE ? d : d - 1;
        for (size_t c = 0; c < D; c++)
            gz += g[c] * z[c];
    }
    for (size_t c = 0; c < d; c++)
        if (!frozen(sp, c))
            z[c] += t * (g[c] - gz * z[c]);
    games_space_retract(sp, z);
}

void games_space_diff(const games_space *sp, const double *a, const double *b, double *out) {
    for (size_t c = 0; c < sp->dim; c++) {
        double v = frozen(sp, c) ? 0 : b[c] - a[c];
        if (sp->type == GAMES_TORUS)
            v -= sp->period * nearbyint(v / sp->period);
        out[c] = v;
    }
}

double games_space_dist2(const games_space *sp, const double *a, const double *b) {
    if (apart(sp, a, b))
        return 1e30;
    double s = 0;
    for (size_t c = 0; c < sp->dim; c++) {
        double v = frozen(sp, c) ? 0 : b[c] - a[c];
        if (sp->type == GAMES_TORUS)
            v -= sp->period * nearbyint(v / sp->period);
        s += v * v;
    }
    return s;
}

/* Uniform in the ball: a uniform direction, radius r·U^{1/d}. */
static void sample_ball(ms_rng *rng, double *z, size_t d, double radius) {
    if (d == 0)
        return;
    ms_rng_normals(rng, z, d);
    double s = 0;
    for (size_t c = 0; c < d; c++)
        s += z[c] * z[c];
    double r = radius * pow(ms_rng_uniform(rng), 1.0 / (double)d) / sqrt(s > 0 ? s : 1);
    for (size_t c = 0; c < d; c++)
        z[c] *= r;
}

void games_space_sample(const games_space *sp, ms_rng *rng, double *z) {
    size_t d = sp->dim;
    switch (sp->type) {
    case GAMES_TORUS:
        for (size_t c = 0; c < d; c++)
            z[c] = sp->period * ms_rng_uniform(rng);
        break;
    case GAMES_BOX:
    case GAMES_EUCLIDEAN:
        for (size_t c = 0; c < d; c++)
            z[c] = sp->low[c] + (sp->high[c] - sp->low[c]) * ms_rng_uniform(rng);
        break;
    case GAMES_SPHERE:
        ms_rng_normals(rng, z, d);
        games_space_retract(sp, z);
        break;
    case GAMES_BALL:
        sample_ball(rng, z, d, sp->radius);
        break;
    case GAMES_SAMPLES:
        z[0] = (double)ms_rng_below(rng, sp->n_samples);
        sample_ball(rng, z + 1, d - 1, sp->radius);
        break;
    case GAMES_SIGNED_SPHERE: {
        games_space unit = {.type = GAMES_SPHERE, .dim = d - 1};
        games_space_sample(&unit, rng, z);
        z[d - 1] = ms_rng_uniform(rng) < 0.5 ? 1.0 : -1.0;
        break;
    }
    }
}

double games_space_extent(const games_space *sp) {
    switch (sp->type) {
    case GAMES_TORUS:
        return sp->period;
    case GAMES_BOX:
    case GAMES_EUCLIDEAN: {
        double w = 0;
        for (size_t c = 0; c < sp->dim; c++)
            w = fmax(w, sp->high[c] - sp->low[c]);
        return w;
    }
    case GAMES_SPHERE:
    case GAMES_SIGNED_SPHERE:
        return 2.0;
    case GAMES_BALL:
        return 2.0 * sp->radius;
    case GAMES_SAMPLES:
        return sp->radius > 0 ? 2.0 * sp->radius : 1.0;
    }
    return 1.0;
}

/* Smallest N with N^d ≥ m. */
static size_t root_up(size_t m, size_t d) {
    size_t N = (size_t)floor(pow((double)m, 1.0 / (double)d));
    if (N < 1)
        N = 1;
    for (;;) {
        double p = pow((double)N, (double)d);
        if (p >= (double)m)
            return N;
        N++;
    }
}

/* Point `idx` of the tensor grid with N points per axis: coordinate c uses
 * digit c of idx in base N, mapped by `f`. */
static void tensor_point(const games_space *sp, size_t idx, size_t N, int inclusive, double *z) {
    for (size_t c = 0; c < sp->dim; c++) {
        size_t k = idx % N;
        idx /= N;
        double lo, hi;
        if (sp->type == GAMES_TORUS) {
            lo = 0;
            hi = sp->period;
        } else if (sp->type == GAMES_BOX || sp->type == GAMES_EUCLIDEAN) {
            lo = sp->low[c];
            hi = sp->high[c];
        } else {
            lo = -sp->radius;
            hi = sp->radius;
        }
        if (inclusive)
            z[c] = N == 1 ? 0.5 * (lo + hi) : lo + (hi - lo) * (double)k / (double)(N - 1);
        else
            z[c] = lo + (hi - lo) * (double)k / (double)N;
    }
}

static void circle_point(size_t k, size_t N, double *z) {
    double t = 2 * M_PI * (double)k / (double)N;
    z[0] = cos(t);
    z[1] = sin(t);
}

/* Fibonacci lattice on S²: quasi-uniform, N points. */
static void fibonacci_point(size_t k, size_t N, double *z) {
    double golden = M_PI * (3.0 - sqrt(5.0));
    double u = 1.0 - (2.0 * (double)k + 1.0) / (double)N;
    double r = sqrt(fmax(0.0, 1.0 - u * u));
    z[0] = r * cos(golden * (double)k);
    z[1] = r * sin(golden * (double)k);
    z[2] = u;
}

size_t games_space_init_grid(const games_space *sp, size_t m, double *z) {
    size_t d = sp->dim;
    if (sp->type == GAMES_SAMPLES || sp->type == GAMES_SIGNED_SPHERE)
        return 0; /* set up by the kind */
    if (sp->type == GAMES_SPHERE) {
        if (d != 2 && d != 3)
            return 0;
        for (size_t k = 0; z && k < m; k++) {
            if (d == 2)
                circle_point(k, m, z + k * d);
            else
                fibonacci_point(k, m, z + k * d);
        }
        return m;
    }
    if (sp->type == GAMES_BALL && d > 1)
        return 0;
    size_t N = root_up(m, d), count = 1;
    for (size_t c = 0; c < d; c++)
        count *= N;
    for (size_t k = 0; z && k < count; k++)
        tensor_point(sp, k, N, sp->type == GAMES_BALL, z + k * d);
    return count;
}

size_t games_space_search_grid(const games_space *sp, double h, size_t max_points, double *z) {
    size_t d = sp->dim;
    double ext = games_space_extent(sp);
    if (sp->type == GAMES_SAMPLES) {
        /* Without perturbations the space is finite: the grid is exact. */
        if (d > 1)
            return 0;
        for (size_t k = 0; z && k < sp->n_samples; k++)
            z[k] = (double)k;
        return sp->n_samples;
    }
    if (sp->type == GAMES_SIGNED_SPHERE) {
        /* The sphere's grid once per sign. */
        games_space unit = {.type = GAMES_SPHERE, .dim = d - 1};
        size_t half = games_space_search_grid(&unit, h, max_points / 2, NULL);
        for (size_t k = 0; z && k < half; k++)
            for (size_t s = 0; s < 2; s++) {
                double *p = z + (s * half + k) * d;
                if (d - 1 == 2)
                    circle_point(k, half, p);
                else
                    fibonacci_point(k, half, p);
                p[d - 1] = s ? -1.0 : 1.0;
            }
        return 2 * half;
    }
    if (sp->type == GAMES_SPHERE) {
        if (d != 2 && d != 3)
            return 0;
        /* Points about h apart: the circle has 2π/h, the sphere 4π/h². */
        double want = d == 2 ? 2 * M_PI / h : 4 * M_PI / (h * h);
        size_t N = want > (double)max_points ? max_points : (size_t)ceil(want);
        if (N < 8)
            N = 8;
        for (size_t k = 0; z && k < N; k++) {
            if (d == 2)
                circle_point(k, N, z + k * d);
            else
                fibonacci_point(k, N, z + k * d);
        }
        return N;
    }
    if (d > 2)
        return 0;
    int inclusive = sp->type != GAMES_TORUS;
    size_t N = (size_t)ceil(ext / h) + (inclusive ? 1 : 0);
    size_t cap = d == 1 ? max_points : (size_t)floor(sqrt((double)max_points));
    if (N > cap)
        N = cap;
    if (N < 2)
        N = 2;
    size_t count = 0;
    size_t total = d == 1 ? N : N * N;
    for (size_t k = 0; k < total; k++) {
        double p[2];
        tensor_point(sp, k, N, inclusive, p);
        if (sp->type == GAMES_BALL && d == 2 && p[0] * p[0] + p[1] * p[1] > sp->radius * sp->radius)
            continue;
        if (z)
            memcpy(z + count * d, p, d * sizeof(double));
        count++;
    }
    return count;
}

size_t games_space_aggregate(const games_space *sp, const double *x, const double *w, size_t n,
                             double tau, double *out_x, double *out_w, unsigned char *taken) {
    size_t d = sp->dim, k = 0;
    memset(taken, 0, n);
    for (;;) {
        size_t s = n;
        for (size_t i = 0; i < n; i++)
            if (!taken[i] && (s == n || w[i] > w[s]))
                s = i;
        if (s == n)
            break;
        double *c = out_x + k * d, W = 0, acc[GAMES_SPACE_MAX_DIM] = {0}, dz[GAMES_SPACE_MAX_DIM];
        for (size_t i = 0; i < n; i++) {
            if (taken[i] || games_space_dist2(sp, x + s * d, x + i * d) > tau * tau)
                continue;
            taken[i] = 1;
            games_space_diff(sp, x + s * d, x + i * d, dz);
            for (size_t a = 0; a < d; a++)
                acc[a] += w[i] * dz[a];
            W += w[i];
        }
        for (size_t a = 0; a < d; a++)
            c[a] = x[s * d + a] + (W > 0 ? acc[a] / W : 0);
        games_space_retract(sp, c);
        out_w[k++] = W;
    }
    return k;
}
