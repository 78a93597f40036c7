/* ot_barycenter.c — the `barycenter` kind: the (λ,τ) doubly regularised
 * Wasserstein barycenter of measures (Chizat, "Doubly Regularized Entropic
 * Wasserstein Barycenters", arXiv:2303.11844),
 *
 *     μ* = argmin_μ  Σ_k w_k EOT_λ(μ, ν_k) + τ H(μ),
 *
 * with EOT_λ(μ,ν) = min_π <C,π> + λ KL(π | μ⊗ν), C = |x - y|² (job units,
 * no 1/2) and H the entropy relative to the reference ρ on a fixed support
 * (counting measure by default) or to Lebesgue for free particles.
 *
 * This file holds the parameters (field table), the cross-field checks, the
 * set-up shared by every algorithm (weights, marginals, support, operators)
 * and the result. The algorithms live beside it (ot_barycenter_internal.h):
 * damped Sinkhorn (Algorithm A) on a fixed support or grid, noisy particle
 * gradient descent (Algorithm C) and Monte Carlo damped Sinkhorn
 * (Algorithm B) for free supports.
 * Spec: shared/docs/algorithms/optimal-transport.md §2-§8.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ms_alloc.h"
#include "ot_barycenter_internal.h"

static const char *const methods[] = {"damped_sinkhorn", "npgd", "mc_damped_sinkhorn", NULL};

#define S(field) offsetof(bary_support, field)
static const ms_field support_fields[] = {
    {.name = "points",
     .type = MS_F_MAT,
     .offset = S(points),
     .doc = "Fixed support: n×d points where the barycenter's weights are computed."},
    {.name = "particles",
     .type = MS_F_INT,
     .offset = S(particles),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e6,
     .def = NAN,
     .doc = "Free support: the number N of particles (uniform weights) that represent the "
            "barycenter."},
    {.name = "init",
     .type = MS_F_MAT,
     .offset = S(init),
     .doc = "Free support: N×d initial particle positions. Default: points drawn (seeded) from "
            "the weighted mixture of the measures."},
};
#undef S
static const ms_fields support_table = MS_FIELDS(bary_support, support_fields);

#define G(field) offsetof(bary_gridp, field)
static const ms_field grid_fields[] = {
    {.name = "shape",
     .type = MS_F_VEC,
     .offset = G(shape),
     .flags = MS_FF_REQUIRED | MS_FF_INTEGER | MS_FF_MIN,
     .min = 1,
     .max_len = OT_GRID_MAXDIM,
     .doc = "Points per axis [n_0, ..., n_{d-1}], 1 <= d <= 3 (e.g. [256, 256] for an image)."},
    {.name = "bounds",
     .type = MS_F_MAT,
     .offset = G(bounds),
     .flags = MS_FF_REQUIRED,
     .doc = "d×2 array [[low, high], ...]: axis a has n_a points evenly spaced from low to high "
            "(both included), low < high when n_a > 1."},
    {.name = "values",
     .type = MS_F_MAT,
     .offset = G(values),
     .flags = MS_FF_REQUIRED | MS_FF_MIN,
     .min = 0,
     .doc = "K×N array: row k holds the weights of measure k at the N = Π n_a grid points in "
            "row-major order (last axis fastest; an image flattened row by row). Non-negative, "
            "positive sum, normalised. The barycenter lives on the same grid."},
};
#undef G
static const ms_fields grid_table = MS_FIELDS(bary_gridp, grid_fields);

#define P(field) offsetof(bary_params, field)
static const ms_field fields[] = {
    {.name = "measures",
     .type = MS_F_MEASURES,
     .offset = P(measures),
     .flags = MS_FF_POINTS_OPTIONAL,
     .doc = "The K measures ν_k {points, weights}; weights are normalised. On a fixed support a "
            "measure may give weights alone: a histogram on the support points. Required "
            "unless grid is given."},
    {.name = "grid",
     .type = MS_F_OBJECT,
     .offset = P(grid),
     .sub = &grid_table,
     .doc = "Measures on a shared regular grid (instead of measures and support): "
            "{shape, bounds, values}. Uses separable sums along each axis, O(N·Σ n_a) per "
            "iteration."},
    {.name = "weights",
     .type = MS_F_VEC,
     .offset = P(weights),
     .flags = MS_FF_MIN,
     .min = 0,
     .doc = "Barycentric weights w_k (one per measure, non-negative, positive sum, normalised). "
            "Default uniform."},
    {.name = "lambda",
     .type = MS_F_DOUBLE,
     .offset = P(lambda),
     .flags = MS_FF_REQUIRED | MS_FF_MIN_EXCL,
     .min = 0,
     .def = NAN,
     .doc = "Inner entropic regularisation λ > 0 of each EOT_λ(μ, ν_k), in cost units "
            "(cost |x-y|², no 1/2)."},
    {.name = "tau",
     .type = MS_F_DOUBLE,
     .offset = P(tau),
     .flags = MS_FF_MIN | MS_FF_NULLABLE,
     .min = 0,
     .def = NAN,
     .doc = "Outer entropic regularisation τ >= 0 of the barycenter. Default λ/2 (the debiased "
            "choice: O(λ²) bias for smooth densities). τ = λ with the counting reference is the "
            "classical entropic barycenter (POT's ot.bregman.barycenter); τ = 0 is solved by "
            "mirror descent on a fixed support."},
    {.name = "support",
     .type = MS_F_OBJECT,
     .offset = P(support),
     .sub = &support_table,
     .doc = "{\"points\": [...]} for a fixed support, or {\"particles\": N} for a free "
            "(grid-free) support. Required unless grid is given."},
    {.name = "method",
     .type = MS_F_ENUM,
     .offset = P(method),
     .choices = methods,
     .flags = MS_FF_NULLABLE,
     .doc = "damped_sinkhorn (fixed support or grid; the default there), npgd (noisy particle "
            "gradient descent; the default for particles) or mc_damped_sinkhorn (Monte Carlo "
            "damped Sinkhorn, particles)."},
    {.name = "eta",
     .type = MS_F_DOUBLE,
     .offset = P(eta),
     .flags = MS_FF_MIN_EXCL | MS_FF_MAX | MS_FF_NULLABLE,
     .min = 0,
     .max = 1,
     .def = NAN,
     .doc = "Damping of the Sinkhorn step, in (0, 1]. Default min(1, τ/λ), which converges for "
            "every λ, τ > 0 (η = 1 diverges when τ < λ/2)."},
    {.name = "reference",
     .type = MS_F_VEC,
     .offset = P(reference),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .doc = "Reference weights ρ_i > 0 on the fixed support or grid (one per point) for the "
            "entropy Σ μ_i log(μ_i/ρ_i). Default 1 (counting measure)."},
    {.name = "gap_every",
     .type = MS_F_INT,
     .offset = P(gap_every),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e9,
     .def = 50,
     .doc = "Every this many iterations, evaluate the primal objective F(μ) (K inner Sinkhorn "
            "solves) and the duality gap."},
    {.name = "inner_tol",
     .type = MS_F_DOUBLE,
     .offset = P(inner_tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1e-9,
     .doc = "Marginal error (L1, weighted over measures) at which inner Sinkhorn solves stop. "
            "The primal objective is accurate to about inner_tol times the potentials' range, "
            "so a converged duality_gap may be that much below 0."},
    {.name = "inner_max_iter",
     .type = MS_F_INT,
     .offset = P(inner_max_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e7,
     .def = 1000,
     .doc = "Bound on the iterations of each inner Sinkhorn solve."},
    {.name = "step",
     .type = MS_F_DOUBLE,
     .offset = P(step),
     .flags = MS_FF_MIN_EXCL | MS_FF_MAX,
     .min = 0,
     .max = 1,
     .def = 0.2,
     .doc = "npgd: step η of X ← (1-η)X + η·Σ_k w_k ȳ_k(X) + sqrt(ητ)ξ (Euler-Maruyama with "
            "time step η/2)."},
    {.name = "langevin_step",
     .type = MS_F_DOUBLE,
     .offset = P(langevin_step),
     .flags = MS_FF_MIN_EXCL,
     .min = 0,
     .def = 0.025,
     .doc = "mc_damped_sinkhorn: step h of the unadjusted Langevin chains X ← X - h∇V(X) + "
            "sqrt(2hτ)ξ (in squared length units)."},
    {.name = "langevin_steps",
     .type = MS_F_INT,
     .offset = P(langevin_steps),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e6,
     .def = 20,
     .doc = "mc_damped_sinkhorn: Langevin steps per outer iteration."},
    {.name = "samples",
     .type = MS_F_INT,
     .offset = P(samples),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e7,
     .def = NAN,
     .doc = "mc_damped_sinkhorn: Langevin chains used for the Monte Carlo integrals (>= the "
            "particles; default: the particles). The first N chains are returned."},
    {.name = "lambda_scaling",
     .type = MS_F_BOOL,
     .offset = P(lambda_scaling),
     .def = 1,
     .doc = "Damped Sinkhorn: anneal (λ, τ) together from the largest cost down to (lambda, "
            "tau), ratio τ/λ fixed, warm-starting the potentials (robust at small λ)."},
    {.name = "scaling_factor",
     .type = MS_F_DOUBLE,
     .offset = P(scaling_factor),
     .flags = MS_FF_MIN_EXCL | MS_FF_MAX_EXCL,
     .min = 0,
     .max = 1,
     .def = 0.5,
     .doc = "Ratio between successive λ of the annealing."},
    {.name = "scaling_iter",
     .type = MS_F_INT,
     .offset = P(scaling_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e6,
     .def = 50,
     .doc = "Most iterations spent at each intermediate λ."},
    {.name = "scaling_tol",
     .type = MS_F_DOUBLE,
     .offset = P(scaling_tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1e-3,
     .doc = "Marginal error at which an intermediate λ stage ends early."},
    {.name = "seed",
     .type = MS_F_INT,
     .offset = P(seed),
     .def = 0,
     .doc = "Seed of the particles' initial draw and noise (fixed supports are deterministic)."},
    {.name = "threads",
     .type = MS_F_INT,
     .offset = P(threads),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1024,
     .def = 1,
     .doc = "Threads inside each iteration; results do not depend on it."},
    {.name = "max_iter",
     .type = MS_F_INT,
     .offset = P(max_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e9,
     .def = 10000,
     .doc = "Bound on the outer iterations (all λ stages included)."},
    {.name = "tol",
     .type = MS_F_DOUBLE,
     .offset = P(tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1e-9,
     .doc = "Damped Sinkhorn: stop when the marginal error Σ_k w_k |ν_k^t - ν_k|_1 <= tol "
            "(τ = 0: when the L1 change of μ <= tol). npgd: when the window average of the "
            "transport objective moves less than tol. 0 runs to max_iter."},
};
#undef P
static const ms_fields table = MS_FIELDS(bary_params, fields);

static int is_grid(const bary_params *p) {
    return p->grid.present;
}
static int is_particles(const bary_params *p) {
    return !is_grid(p) && p->support.present && p->support.particles != MS_INT_ABSENT;
}

/* The method a run uses: the given one or the support's default. */
static int method_of(const bary_params *p) {
    if (p->method >= 0)
        return p->method;
    return is_particles(p) ? BARY_NPGD : BARY_DAMPED;
}

static size_t count_of(const bary_params *p) {
    return is_grid(p) ? p->grid.values.rows : p->measures.count;
}

static void check_grid(const bary_params *p, ms_errlist *errs) {
    const bary_gridp *g = &p->grid;
    size_t d = g->shape.n, N = 1;
    if (d == 0) {
        ms_errlist_addf(errs, MS_EINVAL, "grid/shape", "must have 1 to %d entries", OT_GRID_MAXDIM);
        return;
    }
    for (size_t a = 0; a < d; a++) {
        double n = g->shape.v[a];
        if (n > 1e8 || N * n > 1e8) {
            ms_errlist_addf(errs, MS_EINVAL, "grid/shape", "has more than 1e8 points");
            return;
        }
        N *= (size_t)n;
    }
    if (g->bounds.rows != d || g->bounds.cols != 2) {
        ms_errlist_addf(errs, MS_EINVAL, "grid/bounds",
                        "must be %zu×2 (one [low, high] per axis), got %zu×%zu", d, g->bounds.rows,
                        g->bounds.cols);
    } else {
        for (size_t a = 0; a < d; a++)
            if (g->shape.v[a] > 1 && !(g->bounds.v[2 * a] < g->bounds.v[2 * a + 1])) {
                char at[32];
                snprintf(at, sizeof at, "grid/bounds/%zu", a);
                ms_errlist_addf(errs, MS_EINVAL, at, "low must be < high");
            }
    }
    if (g->values.cols != N) {
        ms_errlist_addf(errs, MS_EINVAL, "grid/values",
                        "rows must hold %zu values (the product of grid/shape), got %zu", N,
                        g->values.cols);
        return;
    }
    for (size_t k = 0; k < g->values.rows; k++) {
        double sum = 0;
        for (size_t i = 0; i < N; i++)
            sum += g->values.v[k * N + i];
        if (!(sum > 0) || !isfinite(sum)) {
            char at[32];
            snprintf(at, sizeof at, "grid/values/%zu", k);
            ms_errlist_addf(errs, MS_EINVAL, at, "must have a positive finite sum");
        }
    }
    if (p->support.present)
        ms_errlist_addf(errs, MS_EINVAL, "support",
                        "must be absent with grid (the grid is "
                        "the support)");
    if (p->method >= 0 && p->method != BARY_DAMPED)
        ms_errlist_addf(errs, MS_EINVAL, "method", "must be damped_sinkhorn on a grid");
    if (p->reference.v && p->reference.n != N)
        ms_errlist_addf(errs, MS_EINVAL, "reference",
                        "must have %zu entries (one per grid "
                        "point), got %zu",
                        N, p->reference.n);
}

static void check_measures(const bary_params *p, ms_errlist *errs) {
    const bary_support *sp = &p->support;
    char at[48];
    if (!sp->present) {
        ms_errlist_addf(errs, MS_EINVAL, "support", "is required with measures");
        return;
    }
    int fixed = sp->points.v != NULL, parts = sp->particles != MS_INT_ABSENT;
    if (fixed == parts) {
        ms_errlist_addf(errs, MS_EINVAL, "support", "give exactly one of points, particles");
        return;
    }
    size_t d = fixed ? sp->points.cols : 0, n = fixed ? sp->points.rows : 0;
    for (size_t k = 0; k < p->measures.count; k++) {
        const ms_measure *m = &p->measures.m[k];
        if (!m->points) {
            snprintf(at, sizeof at, "measures/%zu/points", k);
            if (parts)
                ms_errlist_addf(errs, MS_EINVAL, at, "is required with particles");
            else if (m->n != n) {
                snprintf(at, sizeof at, "measures/%zu/weights", k);
                ms_errlist_addf(errs, MS_EINVAL, at,
                                "a measure without points is a histogram on the support: it "
                                "needs %zu weights, got %zu",
                                n, m->n);
            }
            continue;
        }
        if (d == 0)
            d = m->d;
        if (m->d != d) {
            snprintf(at, sizeof at, "measures/%zu/points", k);
            ms_errlist_addf(errs, MS_EINVAL, at, "dimension %zu differs from %s's %zu", m->d,
                            fixed ? "the support" : "measure 0", d);
        }
    }
    int method = method_of(p);
    if (fixed && method != BARY_DAMPED)
        ms_errlist_addf(errs, MS_EINVAL, "method", "must be damped_sinkhorn on a fixed support");
    if (parts && method == BARY_DAMPED)
        ms_errlist_addf(errs, MS_EINVAL, "method",
                        "damped_sinkhorn needs a fixed support; use npgd or mc_damped_sinkhorn");
    if (parts && sp->init.v && (sp->init.rows != (size_t)sp->particles || sp->init.cols != d))
        ms_errlist_addf(errs, MS_EINVAL, "support/init", "must be %lld×%zu, got %zu×%zu",
                        sp->particles, d, sp->init.rows, sp->init.cols);
    if (p->reference.v && (parts || p->reference.n != n))
        ms_errlist_addf(errs, MS_EINVAL, "reference",
                        parts ? "applies to a fixed support only"
                              : "must have one entry per support point");
    if (method == BARY_MC && !(p->tau > 0))
        ms_errlist_addf(errs, MS_EINVAL, "tau", "must be > 0 for mc_damped_sinkhorn");
    if (method == BARY_MC && p->samples != MS_INT_ABSENT && p->samples < sp->particles)
        ms_errlist_addf(errs, MS_EINVAL, "samples", "must be >= support/particles (%lld)",
                        sp->particles);
}

static ms_status check(const void *params, ms_errlist *errs) {
    const bary_params *p = params;
    size_t before = errs->n + errs->dropped;
    if (is_grid(p) && p->measures.m)
        ms_errlist_addf(errs, MS_EINVAL, "grid", "give measures or grid, not both");
    else if (!is_grid(p) && !p->measures.m)
        ms_errlist_addf(errs, MS_EINVAL, "measures", "is required (or give grid)");
    else if (is_grid(p))
        check_grid(p, errs);
    else
        check_measures(p, errs);
    size_t K = count_of(p);
    if (p->weights.v) {
        double sum = 0;
        for (size_t k = 0; k < p->weights.n; k++)
            sum += p->weights.v[k];
        if (p->weights.n != K)
            ms_errlist_addf(errs, MS_EINVAL, "weights",
                            "must have %zu entries (one per measure), "
                            "got %zu",
                            K, p->weights.n);
        else if (!(sum > 0) || !isfinite(sum))
            ms_errlist_addf(errs, MS_EINVAL, "weights", "must have a positive finite sum");
    }
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}

static size_t memory(const void *params) {
    const bary_params *p = params;
    size_t K = count_of(p), n, d, mtot = 0;
    if (is_grid(p)) {
        size_t shape[OT_GRID_MAXDIM];
        d = p->grid.shape.n;
        n = 1;
        for (size_t a = 0; a < d; a++) {
            shape[a] = (size_t)p->grid.shape.v[a];
            n *= shape[a];
        }
        mtot = K * n;
        return ot_grid_bytes(d, shape, K) + (12 * K * n + 8 * n + n * d) * sizeof(double);
    }
    size_t bytes = 0;
    d = p->support.points.v ? p->support.points.cols : p->measures.m[0].d;
    n = p->support.points.v ? p->support.points.rows : (size_t)p->support.particles;
    if (method_of(p) == BARY_MC && p->samples != MS_INT_ABSENT)
        n = (size_t)p->samples;
    for (size_t k = 0; k < K; k++) {
        size_t m = p->measures.m[k].n;
        mtot += m;
        bytes += ms_softmin_points_bytes(n, p->measures.m[k].points ? m : n, d) +
                 ot_sinkhorn_bytes(n, m);
    }
    return bytes + (8 * mtot + 4 * K * n + (8 + 4 * d) * n) * sizeof(double);
}

const double *ot_bary__ypoints(const bary_state *s, size_t k) {
    const ms_measure *m = &s->p->measures.m[k];
    return m->points ? m->points : s->x;
}

static void fini(void *state) {
    bary_state *s = state;
    for (size_t k = 0; s->op && k < s->K; k++)
        if (s->op[k] != s->shared)
            ms_softmin_free(s->op[k]);
    for (size_t k = 0; s->sk && k < s->K; k++)
        ot_sinkhorn_free(s->sk[k]);
    ms_softmin_free(s->shared);
    ot_grid_free(s->grid);
    double *arrays[] = {s->w,   s->b,    s->logb,  s->x,    s->logrho,  s->psi,  s->psihat,
                        s->phi, s->V,    s->logmu, s->mu,   s->mu_prev, s->hbuf, s->fin,
                        s->gin, s->ghat, s->xnew,  s->bary, s->grad,    s->lse,  s->avg_window};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        ms_free(arrays[i]);
    ms_free(s->off);
    ms_free(s->op);
    ms_free(s->sk);
    ms_free(s->rng);
    memset(s, 0, sizeof *s);
}

/* Weights, marginals and the support common to every method. */
static ms_status setup(bary_state *s, ms_err *err) {
    const bary_params *p = s->p;
    const size_t K = s->K;
    s->off = ms_malloc(K + 1, sizeof(size_t));
    s->w = ms_malloc(K, sizeof(double));
    if (!s->off || !s->w)
        return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate weights");
    double ws = 0;
    for (size_t k = 0; k < K; k++)
        ws += s->w[k] = p->weights.v ? p->weights.v[k] : 1.0;
    for (size_t k = 0; k < K; k++)
        s->w[k] /= ws;
    s->off[0] = 0;
    for (size_t k = 0; k < K; k++)
        s->off[k + 1] = s->off[k] + (is_grid(p) ? p->grid.values.cols : p->measures.m[k].n);
    s->mtot = s->off[K];
    s->b = ms_malloc(s->mtot, sizeof(double));
    s->logb = ms_malloc(s->mtot, sizeof(double));
    if (!s->b || !s->logb)
        return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate marginals");
    for (size_t k = 0; k < K; k++) {
        size_t m = s->off[k + 1] - s->off[k];
        const double *src = is_grid(p) ? p->grid.values.v + k * m : p->measures.m[k].weights;
        double sum = 0;
        for (size_t j = 0; j < m; j++)
            sum += src[j];
        for (size_t j = 0; j < m; j++) {
            double v = src[j] / sum;
            s->b[s->off[k] + j] = v;
            s->logb[s->off[k] + j] = v > 0 ? log(v) : -INFINITY;
        }
    }
    if (is_grid(p)) {
        size_t shape[OT_GRID_MAXDIM];
        double lo[OT_GRID_MAXDIM], hi[OT_GRID_MAXDIM];
        s->d = p->grid.shape.n;
        for (size_t a = 0; a < s->d; a++) {
            shape[a] = (size_t)p->grid.shape.v[a];
            lo[a] = p->grid.bounds.v[2 * a];
            hi[a] = p->grid.bounds.v[2 * a + 1];
        }
        s->grid = ot_grid_alloc(s->d, shape, lo, hi, K, err);
        if (!s->grid)
            return err ? err->code : MS_ENOMEM;
        s->n = ot_grid_size(s->grid);
        s->x = ms_malloc(s->n * s->d, sizeof(double));
        if (!s->x)
            return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate grid points");
        for (size_t i = 0; i < s->n; i++)
            ot_grid_point(s->grid, i, s->x + i * s->d);
    } else if (!is_particles(p)) {
        s->n = p->support.points.rows;
        s->d = p->support.points.cols;
        s->x = ms_malloc(s->n * s->d, sizeof(double));
        if (!s->x)
            return ms_fail(err, MS_ENOMEM, "", "barycenter: cannot allocate the support");
        memcpy(s->x, p->support.points.v, s->n * s->d * sizeof(double));
    } else {
        s->d = p->measures.m[0].d;
        s->n = (size_t)p->support.particles;
    }
    return MS_OK;
}

static ms_status init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    bary_state *s = state;
    const bary_params *p = params;
    s->p = p;
    s->K = count_of(p);
    s->method = method_of(p);
    s->tau = isnan(p->tau) ? p->lambda / 2 : p->tau;
    s->lam = p->lambda;
    s->eta = isnan(p->eta) ? fmin(1.0, s->tau / p->lambda) : p->eta;
    s->objective = s->dual = s->gap = s->marginal_error = NAN;
    s->mu_change = s->entropy = s->transport_objective = NAN;
    s->drift_rms = s->spread = s->inner_error = NAN;
    ms_status st = setup(s, err);
    if (st == MS_OK) {
        if (s->method == BARY_DAMPED)
            st = ot_bary__fixed_init(s, ctx, err);
        else if (s->method == BARY_NPGD)
            st = ot_bary__npgd_init(s, ctx, err);
        else
            st = ot_bary__mc_init(s, ctx, err);
    }
    if (st != MS_OK)
        fini(s);
    return st;
}

static ms_status step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    bary_state *s = state;
    if (s->method == BARY_DAMPED)
        return ot_bary__fixed_step(s, ctx, prog, err);
    if (s->method == BARY_NPGD)
        return ot_bary__npgd_step(s, ctx, prog, err);
    return ot_bary__mc_step(s, ctx, prog, err);
}

static ms_status result(void *state, ms_value *out, ms_err *err) {
    (void)err;
    bary_state *s = state;
    const bary_params *p = s->p;
    if (s->method == BARY_DAMPED) {
        ms_obj_measure(out, "support", s->x, s->n, s->d, s->mu);
        ms_obj_num(out, "objective", s->objective);
        ms_obj_num(out, "dual_objective", s->dual);
        ms_obj_num(out, "duality_gap", s->gap);
        ms_obj_num(out, "entropy", s->entropy);
    } else {
        /* Particles carry uniform weights; mu holds them. */
        ms_obj_measure(out, "support", s->x, (size_t)p->support.particles, s->d, s->mu);
        ms_obj_num(out, "objective", s->transport_objective);
        ms_obj_bool(out, "entropy_included", 0);
        ms_obj_null(out, "dual_objective");
        ms_obj_null(out, "duality_gap");
        ms_obj_num(out, "spread", s->spread);
    }
    ms_obj_num(out, "marginal_error", s->marginal_error);
    ms_obj_int(out, "iterations", (long long)s->iter);
    ms_obj_bool(out, "converged", s->converged);
    ms_obj_str(out, "method", s->mirror ? "mirror_descent" : methods[s->method]);
    ms_obj_num(out, "lambda", p->lambda);
    ms_obj_num(out, "tau", s->tau);
    ms_obj_num(out, "eta", s->method == BARY_NPGD ? p->step : s->eta);
    return ms_value_status(out);
}

const ms_kind ot_barycenter_kind = {
    .name = "barycenter",
    .title = "Doubly regularised Wasserstein barycenter",
    .description =
        "The (λ,τ) barycenter argmin_μ Σ_k w_k EOT_λ(μ,ν_k) + τ H(μ) (Chizat 2023): damped "
        "Sinkhorn with exact max/min steps on a fixed support or a regular grid (separable "
        "sums), with primal objective, dual objective and duality gap; noisy particle gradient "
        "descent or Monte Carlo damped Sinkhorn for a free support of particles. τ = λ with "
        "the counting reference is POT's entropic barycenter; τ = λ/2 is the debiased choice.",
    .params = &table,
    .example = "{\"measures\": [{\"points\": [[0], [1]]}, {\"points\": [[2], [3]]}], "
               "\"lambda\": 0.5, \"tau\": 0.25, "
               "\"support\": {\"points\": [[0], [0.5], [1], [1.5], [2], [2.5], [3]]}}",
    .state_size = sizeof(bary_state),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
