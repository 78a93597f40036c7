/* ot_eot.c — the `ot` kind: entropic optimal transport between two measures,
 * its Sinkhorn divergence and its unbalanced (KL-penalised) variant.
 *
 * Problem (API contract, job units: cost |x - y|², no 1/2):
 *     EOT_eps(α, β) = min_π <C,π> + eps·KL(π | a⊗b)
 * with marginals a, b (normalised), or with marginal penalties
 * rho·KL(π1|a) + rho·KL(πᵀ1|b) when `unbalanced` is given (a, b as given).
 * debiased: S_eps = EOT(α,β) - EOT(α,α)/2 - EOT(β,β)/2 (Feydy et al. 2019;
 * for unbalanced measures + eps/2·(m(α) - m(β))², Séjourné et al. 2019).
 *
 * Algorithm: log-domain Sinkhorn (ot_sinkhorn.h) with eps-scaling:
 * eps_0 = max C (a bound for point clouds), eps_{s+1} = max(eps, q·eps_s);
 * each stage iterates until its marginal error falls below
 * `scaling_tol` or `scaling_iter` iterations pass, then the last stage
 * (eps itself) runs to `tol`. Potentials carry over between stages.
 * Updates are over-relaxed with a factor adapted to the observed rate
 * (ot_sinkhorn_set_omega), which divides iteration counts by 3-30 at small
 * eps while keeping the dual objective increasing. When eps is small against
 * the spacing of the points, Sinkhorn enters a regime where its error decays
 * like 1/t; `method: auto` then finishes with sparse Newton steps
 * (ot_newton.h), which converge superlinearly (1e-6 → 1e-10 in a few steps
 * where Sinkhorn needs 10^5 iterations and more).
 * Spec: shared/docs/algorithms/optimal-transport.md §1, §1.1.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_kind.h"
#include "ot_newton.h"
#include "ot_sinkhorn.h"

typedef struct ot_unbalanced {
    int present;
    double rho;
} ot_unbalanced;

typedef struct ot_eot_params {
    ms_measure source, target;
    double epsilon;
    ms_mat cost_matrix;
    ot_unbalanced unbalanced;
    int debiased;
    int return_plan;
    long long max_iter;
    double tol;
    int eps_scaling;
    double scaling_factor;
    long long scaling_iter;
    double scaling_tol;
    double omega;
    int method;
    long long seed;
    long long threads;
} ot_eot_params;

static const ms_field unbalanced_fields[] = {
    {.name = "rho",
     .type = MS_F_DOUBLE,
     .offset = offsetof(ot_unbalanced, rho),
     .flags = MS_FF_REQUIRED | MS_FF_MIN_EXCL,
     .min = 0,
     .def = NAN,
     .doc = "Strength of the KL penalties on both marginals (> 0); rho → ∞ recovers "
            "balanced transport."},
};
static const ms_fields unbalanced_table = MS_FIELDS(ot_unbalanced, unbalanced_fields);

enum { METHOD_AUTO, METHOD_SINKHORN };
static const char *const methods[] = {"auto", "sinkhorn", NULL};

/* Newton takes over when Sinkhorn at the target eps has not halved its
 * error over this many iterations; after a refusal Sinkhorn runs this many
 * times longer before the next attempt. */
#define NEWTON_WINDOW 50
#define NEWTON_COOLDOWN 4
/* Entries kept per row of the sparse plan. */
#define NEWTON_CAP 32

#define P(field) offsetof(ot_eot_params, field)
static const ms_field fields[] = {
    {.name = "source",
     .type = MS_F_MEASURE,
     .offset = P(source),
     .flags = MS_FF_REQUIRED | MS_FF_POINTS_OPTIONAL,
     .doc = "Source measure {points, weights}; weights default to uniform and are normalised "
            "(balanced). With cost_matrix, weights alone suffice."},
    {.name = "target",
     .type = MS_F_MEASURE,
     .offset = P(target),
     .flags = MS_FF_REQUIRED | MS_FF_POINTS_OPTIONAL,
     .doc = "Target measure {points, weights}, same dimension as the source."},
    {.name = "epsilon",
     .type = MS_F_DOUBLE,
     .offset = P(epsilon),
     .flags = MS_FF_REQUIRED | MS_FF_MIN_EXCL,
     .min = 0,
     .def = NAN,
     .doc = "Entropic regularisation eps > 0, in cost units (cost |x-y|², no 1/2)."},
    {.name = "cost_matrix",
     .type = MS_F_MAT,
     .offset = P(cost_matrix),
     .doc = "Optional n×m ground cost replacing |x-y|²; then source and target need only "
            "weights."},
    {.name = "unbalanced",
     .type = MS_F_OBJECT,
     .offset = P(unbalanced),
     .sub = &unbalanced_table,
     .doc = "Unbalanced transport: {\"rho\": r} replaces the marginal constraints by "
            "r·KL penalties; weights are then not normalised."},
    {.name = "debiased",
     .type = MS_F_BOOL,
     .offset = P(debiased),
     .def = 0,
     .doc = "Also compute the Sinkhorn divergence S = EOT(a,b) - EOT(a,a)/2 - EOT(b,b)/2 "
            "(needs point clouds)."},
    {.name = "return_plan",
     .type = MS_F_BOOL,
     .offset = P(return_plan),
     .def = 0,
     .doc = "Return the n×m transport plan (memory n·m doubles)."},
    {.name = "max_iter",
     .type = MS_F_INT,
     .offset = P(max_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e9,
     .def = 100000,
     .doc = "Bound on the iterations of each Sinkhorn solve, all eps stages included (the "
            "debiased divergence runs three solves)."},
    {.name = "tol",
     .type = MS_F_DOUBLE,
     .offset = P(tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1e-9,
     .doc = "Stop when the L1 marginal error of the plan is <= tol (optimality residual of "
            "the marginals when unbalanced). 0 runs to max_iter."},
    {.name = "eps_scaling",
     .type = MS_F_BOOL,
     .offset = P(eps_scaling),
     .def = 1,
     .doc = "Anneal eps from the largest cost down to epsilon (faster and robust at small "
            "epsilon)."},
    {.name = "scaling_factor",
     .type = MS_F_DOUBLE,
     .offset = P(scaling_factor),
     .flags = MS_FF_MIN_EXCL | MS_FF_MAX_EXCL,
     .min = 0,
     .max = 1,
     .def = 0.5,
     .doc = "Ratio q between successive eps of the annealing schedule."},
    {.name = "scaling_iter",
     .type = MS_F_INT,
     .offset = P(scaling_iter),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1e6,
     .def = 10,
     .doc = "Most iterations spent at each intermediate eps."},
    {.name = "scaling_tol",
     .type = MS_F_DOUBLE,
     .offset = P(scaling_tol),
     .flags = MS_FF_MIN,
     .min = 0,
     .def = 1e-3,
     .doc = "Marginal error at which an intermediate eps stage ends early."},
    {.name = "omega",
     .type = MS_F_DOUBLE,
     .offset = P(omega),
     .flags = MS_FF_MIN | MS_FF_MAX_EXCL | MS_FF_NULLABLE,
     .min = 1,
     .max = 2,
     .def = NAN,
     .doc = "Over-relaxation factor of the Sinkhorn updates in [1, 2); 1 is plain Sinkhorn. "
            "Absent or null: adapted to the observed convergence rate (safeguarded so the dual "
            "objective never decreases)."},
    {.name = "method",
     .type = MS_F_ENUM,
     .offset = P(method),
     .choices = methods,
     .def_str = "auto",
     .doc = "auto: Sinkhorn, finished by sparse Newton steps when Sinkhorn stalls at small "
            "epsilon (balanced problems); sinkhorn: Sinkhorn iterations only."},
    {.name = "seed",
     .type = MS_F_INT,
     .offset = P(seed),
     .def = 0,
     .doc = "Accepted for uniformity; this solver is deterministic."},
    {.name = "threads",
     .type = MS_F_INT,
     .offset = P(threads),
     .flags = MS_FF_MIN | MS_FF_MAX,
     .min = 1,
     .max = 1024,
     .def = 1,
     .doc = "Threads inside each iteration (capped by the daemon's cores); results do not "
            "depend on it."},
};
#undef P
static const ms_fields table = MS_FIELDS(ot_eot_params, fields);

enum { SUB_XY, SUB_XX, SUB_YY };

typedef struct ot_eot_state {
    const ot_eot_params *p;
    size_t n, m;
    double *a, *b; /* normalised copies (balanced) */
    double rho;
    ms_softmin *K[3];
    ot_sinkhorn *S[3];
    int nsub, sub;
    double eps0, eps;
    int stage, nstages;
    long long stage_iter;
    size_t iterations;     /* all sub-problems */
    size_t sub_iterations; /* the current one: each solve gets max_iter */
    double err, err_first;
    int converged[3];
    ot_values val[3];
    ot_newton *newton; /* allocated when first needed (balanced XY only) */
    int newton_on;     /* the current step is a Newton step */
    size_t newton_steps;
    size_t window_start; /* sub_iterations when the current window began */
    double window_err;   /* error at that point */
    size_t next_try;     /* no Newton attempt before this sub_iteration */
} ot_eot_state;

static int has_cost(const ot_eot_params *p) {
    return p->cost_matrix.v != NULL;
}

static ms_status check(const void *params, ms_errlist *errs) {
    const ot_eot_params *p = params;
    size_t before = errs->n;
    if (has_cost(p)) {
        if (p->cost_matrix.rows != p->source.n || p->cost_matrix.cols != p->target.n)
            ms_errlist_addf(errs, MS_EINVAL, "cost_matrix",
                            "must be %zu x %zu (source x target points), got %zu x %zu",
                            p->source.n, p->target.n, p->cost_matrix.rows, p->cost_matrix.cols);
        if (p->debiased)
            ms_errlist_addf(errs, MS_EINVAL, "debiased",
                            "needs point clouds: a cost_matrix gives no self-costs");
    } else {
        if (!p->source.points)
            ms_errlist_addf(errs, MS_EINVAL, "source/points",
                            "is required when no cost_matrix is given");
        if (!p->target.points)
            ms_errlist_addf(errs, MS_EINVAL, "target/points",
                            "is required when no cost_matrix is given");
        if (p->source.points && p->target.points && p->source.d != p->target.d)
            ms_errlist_addf(errs, MS_EINVAL, "target/points",
                            "dimension %zu differs from the source's %zu", p->target.d,
                            p->source.d);
    }
    return errs->n > before ? MS_EINVAL : MS_OK;
}

static size_t memory(const void *params) {
    const ot_eot_params *p = params;
    size_t n = p->source.n, m = p->target.n, d = p->source.d;
    size_t bytes = ot_sinkhorn_bytes(n, m) + 2 * (n + m) * sizeof(double);
    if (has_cost(p)) {
        bytes += ms_softmin_matrix_bytes(n, m);
    } else {
        bytes += ms_softmin_points_bytes(n, m, d);
        if (p->debiased)
            bytes += ms_softmin_points_bytes(n, n, d) + ms_softmin_points_bytes(m, m, d) +
                     ot_sinkhorn_bytes(n, n) + ot_sinkhorn_bytes(m, m);
    }
    if (p->method == METHOD_AUTO && !p->unbalanced.present)
        bytes += ot_newton_bytes(n, m, NEWTON_CAP);
    if (p->return_plan)
        bytes += n * m * sizeof(double) * 2; /* the plan and its copy in the result */
    /* The result copies f and g. */
    return bytes + (n + m) * sizeof(double);
}

static void fini(void *state) {
    ot_eot_state *s = state;
    for (int k = 0; k < 3; k++) {
        ot_sinkhorn_free(s->S[k]);
        ms_softmin_free(s->K[k]);
    }
    ot_newton_free(s->newton);
    ms_free(s->a);
    ms_free(s->b);
    memset(s, 0, sizeof *s);
}

static void start_sub(ot_eot_state *s) {
    s->sub_iterations = 0;
    s->newton_on = 0;
    s->window_start = 0;
    s->window_err = NAN;
    s->next_try = 0;
    s->stage = 0;
    s->stage_iter = 0;
    s->err = NAN;
    s->err_first = NAN;
    s->eps = s->nstages > 0 ? fmax(s->p->epsilon, s->eps0) : s->p->epsilon;
}

static ms_status init(void *state, const void *params, const ms_ctx *ctx, ms_err *err) {
    (void)ctx;
    ot_eot_state *s = state;
    const ot_eot_params *p = params;
    s->p = p;
    s->n = p->source.n;
    s->m = p->target.n;
    s->rho = p->unbalanced.present ? p->unbalanced.rho : INFINITY;
    s->a = ms_malloc(s->n, sizeof(double));
    s->b = ms_malloc(s->m, sizeof(double));
    if (!s->a || !s->b)
        goto oom;
    memcpy(s->a, p->source.weights, s->n * sizeof(double));
    memcpy(s->b, p->target.weights, s->m * sizeof(double));
    if (!p->unbalanced.present) {
        double ma = ms_measure_mass(&p->source), mb = ms_measure_mass(&p->target);
        for (size_t i = 0; i < s->n; i++)
            s->a[i] /= ma;
        for (size_t j = 0; j < s->m; j++)
            s->b[j] /= mb;
    }
    const size_t d = p->source.d;
    if (has_cost(p))
        s->K[SUB_XY] = ms_softmin_matrix(p->cost_matrix.v, s->n, s->m, s->m, err);
    else
        s->K[SUB_XY] = ms_softmin_points(p->source.points, s->n, p->target.points, s->m, d, err);
    if (!s->K[SUB_XY])
        goto fail;
    s->S[SUB_XY] = ot_sinkhorn_alloc(s->K[SUB_XY], s->a, s->b, s->rho, 0, err);
    if (!s->S[SUB_XY])
        goto fail;
    ot_sinkhorn_set_omega(s->S[SUB_XY], p->omega);
    s->nsub = 1;
    if (p->debiased) {
        s->K[SUB_XX] = ms_softmin_points(p->source.points, s->n, p->source.points, s->n, d, err);
        s->K[SUB_YY] = ms_softmin_points(p->target.points, s->m, p->target.points, s->m, d, err);
        if (!s->K[SUB_XX] || !s->K[SUB_YY])
            goto fail;
        s->S[SUB_XX] = ot_sinkhorn_alloc(s->K[SUB_XX], s->a, s->a, s->rho, 1, err);
        s->S[SUB_YY] = ot_sinkhorn_alloc(s->K[SUB_YY], s->b, s->b, s->rho, 1, err);
        if (!s->S[SUB_XX] || !s->S[SUB_YY])
            goto fail;
        s->nsub = 3;
    }
    /* eps-scaling schedule: eps0 = max C (or a bound), halved (by q) down to eps. */
    s->eps0 = p->epsilon;
    s->nstages = 0;
    if (p->eps_scaling) {
        double c = ms_softmin_cost_bound(s->K[SUB_XY]);
        if (isfinite(c) && c > p->epsilon) {
            s->eps0 = c;
            s->nstages = (int)ceil(log(p->epsilon / c) / log(p->scaling_factor));
        }
    }
    start_sub(s);
    return MS_OK;
oom:
    ms_fail(err, MS_ENOMEM, "", "ot: cannot allocate weights");
fail:
    fini(s);
    return err ? err->code : MS_ENOMEM;
}

static double stage_eps(const ot_eot_state *s) {
    double e = s->eps0 * pow(s->p->scaling_factor, s->stage);
    return e > s->p->epsilon ? e : s->p->epsilon;
}

static void report(ot_eot_state *s, ms_progress *prog) {
    prog->iteration = s->iterations;
    ms_progress_set(prog, "marginal_error", s->err);
    ms_progress_set(prog, "epsilon", s->eps);
    ms_progress_set(prog, "subproblem", s->sub);
    ms_progress_set(prog, "omega", ot_sinkhorn_omega(s->S[s->sub]));
    ms_progress_set(prog, "newton", s->newton_on);
    ot_sinkhorn *S = s->S[s->sub];
    const double *f = ot_sinkhorn_f(S), *g = ot_sinkhorn_g(S);
    /* Marginals of the sub-problem: (a,b), (a,a) or (b,b). */
    const double *a = s->sub == SUB_YY ? s->b : s->a;
    const double *b = s->sub == SUB_XX ? s->a : s->b;
    size_t n = s->sub == SUB_YY ? s->m : s->n, m = s->sub == SUB_XX ? s->n : s->m;
    double dual = 0;
    for (size_t i = 0; i < n; i++)
        dual += a[i] * f[i];
    for (size_t j = 0; j < m; j++)
        dual += b[j] * g[j];
    ms_progress_set(prog, "dual_objective", dual);
    /* Fraction: sub-problems in turn; inside one, stages then the final
     * stage's progress in log(marginal error) toward tol. */
    double within = 0;
    if (s->nstages + 1 > 0) {
        double fin = 0;
        if (s->eps == s->p->epsilon && isfinite(s->err) && isfinite(s->err_first) &&
            s->err_first > s->p->tol && s->p->tol > 0 && s->err > 0)
            fin = fmin(1, fmax(0, log(s->err_first / s->err) / log(s->err_first / s->p->tol)));
        within = (s->stage + fin) / (s->nstages + 1.0);
    }
    double fr = (s->sub + within) / s->nsub;
    double by_iter =
        ((double)s->sub + (double)s->sub_iterations / (double)s->p->max_iter) / s->nsub;
    prog->fraction = fmin(1, fmax(fr, by_iter));
}

/* Decide whether the next step of the XY problem at the target eps should
 * be a Newton step: Sinkhorn has not halved its error over the last window
 * (its sublinear regime at small eps), the problem is balanced, and the
 * workspace could be allocated. */
static void consider_newton(ot_eot_state *s, double e) {
    const ot_eot_params *p = s->p;
    if (p->method != METHOD_AUTO || p->unbalanced.present || s->sub != SUB_XY || isnan(e))
        return;
    if (isnan(s->window_err)) {
        s->window_err = e;
        s->window_start = s->sub_iterations;
        return;
    }
    if (s->sub_iterations - s->window_start < NEWTON_WINDOW)
        return;
    int slow = e > 0.5 * s->window_err;
    s->window_err = e;
    s->window_start = s->sub_iterations;
    if (!slow || s->sub_iterations < s->next_try)
        return;
    if (!s->newton)
        s->newton = ot_newton_alloc(s->K[SUB_XY], s->a, s->b, NEWTON_CAP, NULL);
    s->newton_on = s->newton != NULL; /* without memory, Sinkhorn carries on */
}

static ms_status newton_step(ot_eot_state *s, const ms_ctx *ctx, double *e, int *stopped) {
    int outcome;
    ms_status st =
        ot_sinkhorn_newton(s->S[SUB_XY], s->newton, s->p->epsilon, s->p->tol, ctx, e, &outcome);
    *stopped = outcome == OT_NEWTON_CONVERGED;
    if (st == MS_OK && outcome == OT_NEWTON_ACCEPTED)
        s->newton_steps++;
    if (outcome == OT_NEWTON_UNSUITABLE) {
        s->newton_on = 0;
        s->next_try = s->sub_iterations * NEWTON_COOLDOWN;
    }
    return st;
}

static ms_status step(void *state, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    ot_eot_state *s = state;
    const ot_eot_params *p = s->p;
    ot_sinkhorn *S = s->S[s->sub];
    s->eps = stage_eps(s);
    const int last = s->eps == p->epsilon;
    double e;
    int stopped;
    ms_status st = s->newton_on ? newton_step(s, ctx, &e, &stopped)
                                : ot_sinkhorn_iterate(S, s->eps, last ? p->tol : p->scaling_tol,
                                                      ctx, &e, &stopped);
    if (st == MS_OK && last && !s->newton_on)
        consider_newton(s, e);
    if (st == MS_ENUMERIC)
        return ms_fail(err, st, "", "Sinkhorn potentials became non-finite at iteration %zu",
                       s->iterations + 1);
    if (st != MS_OK)
        return ms_fail(err, st, "", "Sinkhorn interrupted at iteration %zu", s->iterations + 1);
    if (!stopped) {
        s->iterations++;
        s->sub_iterations++;
    }
    if (!isnan(e)) {
        s->err = e;
        if (last && isnan(s->err_first))
            s->err_first = e;
    }
    s->stage_iter++;
    int sub_done = 0;
    if (last) {
        if (stopped) {
            s->converged[s->sub] = 1;
            sub_done = 1;
        }
    } else if (stopped || s->stage_iter >= p->scaling_iter) {
        s->stage++;
        s->stage_iter = 0;
    }
    if (!sub_done && s->sub_iterations >= (size_t)p->max_iter)
        sub_done = 1;
    report(s, prog);
    if (sub_done) {
        /* Values of this sub-problem's final plan. */
        st = ot_sinkhorn_values(S, p->epsilon, ctx, &s->val[s->sub]);
        if (st != MS_OK)
            return ms_fail(err, st, "", "evaluating the plan failed");
        if (s->sub + 1 >= s->nsub) {
            prog->done = 1;
            prog->fraction = 1;
        } else {
            s->sub++;
            start_sub(s);
        }
    }
    return MS_OK;
}

static ms_status result(void *state, ms_value *out, ms_err *err) {
    ot_eot_state *s = state;
    const ot_eot_params *p = s->p;
    ot_sinkhorn *S = s->S[SUB_XY];
    ot_sinkhorn_center(S);
    const ot_values *v = &s->val[SUB_XY];
    int conv = 1;
    for (int k = 0; k < s->nsub; k++)
        conv &= s->converged[k];
    ms_obj_num(out, "objective", v->objective);
    ms_obj_num(out, "transport_cost", v->transport_cost);
    if (p->debiased) {
        double div = v->objective - 0.5 * s->val[SUB_XX].objective - 0.5 * s->val[SUB_YY].objective;
        if (p->unbalanced.present) {
            double dm = ms_measure_mass(&p->source) - ms_measure_mass(&p->target);
            div += 0.5 * p->epsilon * dm * dm;
        }
        ms_obj_num(out, "divergence", div);
        ms_value *self = ms_obj_obj(out, "self_objectives");
        ms_obj_num(self, "source", s->val[SUB_XX].objective);
        ms_obj_num(self, "target", s->val[SUB_YY].objective);
    }
    ms_obj_vec(out, "f", ot_sinkhorn_f(S), s->n, 1);
    ms_obj_vec(out, "g", ot_sinkhorn_g(S), s->m, 1);
    double me = v->marginal_error;
    for (int k = 1; k < s->nsub; k++)
        me += s->val[k].marginal_error;
    ms_obj_num(out, "marginal_error", me);
    ms_obj_num(out, "dual_objective", v->dual);
    if (p->unbalanced.present)
        ms_obj_num(out, "mass", v->mass);
    ms_obj_int(out, "iterations", (long long)s->iterations);
    if (s->newton_steps)
        ms_obj_int(out, "newton_steps", (long long)s->newton_steps);
    ms_obj_bool(out, "converged", conv);
    ms_obj_num(out, "epsilon", p->epsilon);
    if (p->return_plan) {
        double *plan = ms_malloc(s->n * s->m, sizeof(double));
        if (!plan)
            return ms_fail(err, MS_ENOMEM, "return_plan", "cannot allocate the %zu x %zu plan",
                           s->n, s->m);
        ot_sinkhorn_plan(S, p->epsilon, plan);
        ms_obj_mat(out, "plan", plan, s->n, s->m, s->m);
        ms_free(plan);
    }
    if (ms_value_status(out) != MS_OK)
        return ms_fail(err, MS_ENOMEM, "", "no memory for the result");
    return MS_OK;
}

const ms_kind ot_eot_kind = {
    .name = "ot",
    .title = "Entropic optimal transport",
    .description =
        "Entropic optimal transport between two measures by log-domain Sinkhorn with "
        "eps-scaling: objective <C,P> + eps KL(P|a⊗b), dual potentials, optional plan; the "
        "Sinkhorn divergence (debiased) and unbalanced transport with KL marginal penalties. "
        "Cost |x-y|² on point clouds (computed on the fly, memory O((n+m)d)) or a given matrix.",
    .params = &table,
    .example = "{\"source\": {\"points\": [[0, 0], [1, 0], [0, 1]]}, "
               "\"target\": {\"points\": [[2, 2], [3, 2]], \"weights\": [0.25, 0.75]}, "
               "\"epsilon\": 0.1}",
    .state_size = sizeof(ot_eot_state),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
