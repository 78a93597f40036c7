/* ot_sinkhorn.c — log-domain Sinkhorn iterations. See ot_sinkhorn.h.
 *
 * Notation (Peyré & Cuturi, Computational OT, §4.4): potentials f (n), g (m);
 * the soft-min operators
 *     T_f(g)_i = -eps·LSE_j(log b_j + (g_j - C_ij)/eps)      (ms_softmin_rows)
 *     T_g(f)_j = -eps·LSE_i(log a_i + (f_i - C_ij)/eps)      (ms_softmin_cols)
 * Balanced iteration: g ← T_g(f), f ← T_f(g). Unbalanced with KL penalty
 * rho: the same scaled by lam = rho/(rho+eps) (Chizat et al. 2018, Prop. 3.1
 * in the log domain; also Séjourné et al. 2019, eq. (7)).
 * The plan π_ij = a_i b_j exp((f_i + g_j - C_ij)/eps) has row sums
 * r_i = a_i exp((f_i - T_f(g)_i)/eps) and column sums
 * c_j = b_j exp((g_j - T_g(f)_j)/eps): the next half-step gives the marginal
 * error of the current plan for free.
 */
#include "ot_sinkhorn.h"

#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "ot_newton.h"

#ifndef OMEGA_MAX
#define OMEGA_MAX 1.95
#endif

struct ot_sinkhorn {
    const ms_softmin *K;
    size_t n, m;
    double rho; /* +Inf: balanced */
    int symmetric;
    int fresh; /* no full iteration yet at last_eps */
    double last_eps;
    double omega;    /* over-relaxation factor, 1 = plain Sinkhorn */
    int adaptive;    /* omega re-estimated from the observed rate */
    size_t nhist;    /* errors recorded at last_eps */
    double hist[11]; /* the last 11 of them, hist[k % 11] */
    double row_err;  /* row error of the current plan (f, g), from the last f update */
    double mass_a, mass_b;
    double *a, *b, *loga, *logb; /* weights and their logs (-Inf for 0) */
    double *f, *g, *gnew;
    double *h, *t, *rc; /* scratch of length max(n, m) */
    double *mem;
};

size_t ot_sinkhorn_bytes(size_t n, size_t m) {
    size_t k = n > m ? n : m;
    return sizeof(ot_sinkhorn) + (3 * n + 4 * m + 3 * k) * sizeof(double);
}

ot_sinkhorn *ot_sinkhorn_alloc(const ms_softmin *K, const double *a, const double *b, double rho,
                               int symmetric, ms_err *err) {
    size_t n = ms_softmin_n(K), m = ms_softmin_m(K);
    if (symmetric && n != m) {
        ms_fail(err, MS_EINTERNAL, "", "symmetric Sinkhorn needs a square cost");
        return NULL;
    }
    ot_sinkhorn *s = ms_calloc(1, sizeof *s);
    size_t k = n > m ? n : m;
    double *mem = s ? ms_malloc(3 * n + 4 * m + 3 * k, sizeof(double)) : NULL;
    if (!mem) {
        ms_free(s);
        ms_fail(err, MS_ENOMEM, "", "sinkhorn: cannot allocate potentials for %zu x %zu", n, m);
        return NULL;
    }
    s->K = K;
    s->n = n;
    s->m = m;
    s->rho = rho;
    s->symmetric = symmetric;
    s->fresh = 1;
    s->last_eps = NAN;
    s->omega = 1.0;
    s->row_err = 0;
    s->mem = mem;
    s->a = mem;
    s->loga = s->a + n;
    s->f = s->loga + n;
    s->b = s->f + n;
    s->logb = s->b + m;
    s->g = s->logb + m;
    s->gnew = s->g + m;
    s->h = s->gnew + m;
    s->t = s->h + k;
    s->rc = s->t + k;
    s->mass_a = s->mass_b = 0;
    for (size_t i = 0; i < n; i++) {
        s->a[i] = a[i];
        s->loga[i] = a[i] > 0 ? log(a[i]) : -INFINITY;
        s->f[i] = 0;
        s->mass_a += a[i];
    }
    for (size_t j = 0; j < m; j++) {
        s->b[j] = b[j];
        s->logb[j] = b[j] > 0 ? log(b[j]) : -INFINITY;
        s->g[j] = 0;
        s->mass_b += b[j];
    }
    return s;
}

void ot_sinkhorn_free(ot_sinkhorn *s) {
    if (!s)
        return;
    ms_free(s->mem);
    ms_free(s);
}

const double *ot_sinkhorn_f(const ot_sinkhorn *s) {
    return s->f;
}
const double *ot_sinkhorn_g(const ot_sinkhorn *s) {
    return s->symmetric ? s->f : s->g;
}

void ot_sinkhorn_set(ot_sinkhorn *s, const double *f, const double *g) {
    if (f)
        memcpy(s->f, f, s->n * sizeof(double));
    if (g && !s->symmetric)
        memcpy(s->g, g, s->m * sizeof(double));
    s->fresh = 1;
}

static double lam(const ot_sinkhorn *s, double eps) {
    return isinf(s->rho) ? 1.0 : s->rho / (s->rho + eps);
}

/* h = pot + eps·logw (the soft-min's input). */
static void shifted(double *h, const double *pot, const double *logw, double eps, size_t n) {
    for (size_t i = 0; i < n; i++)
        h[i] = pot[i] + eps * logw[i];
}

/* Σ_i |w_i exp((p_i - that_i)/eps) - target_i|, target_i = w_i (balanced)
 * or w_i exp(-p_i/rho) (unbalanced). */
static double marginal_residual(const double *w, const double *p, const double *that, size_t n,
                                double eps, double rho) {
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] > 0))
            continue;
        double have = w[i] * exp((p[i] - that[i]) / eps);
        double want = isinf(rho) ? w[i] : w[i] * exp(-p[i] / rho);
        e += fabs(have - want);
    }
    return e;
}

static int all_finite(const double *v, size_t n) {
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += v[i] * 0.0; /* NaN or Inf anywhere makes acc NaN */
    return acc == 0.0;
}

static ms_status iterate_symmetric(ot_sinkhorn *s, double eps, double stop_tol, const ms_ctx *ctx,
                                   double *err_out, int *stopped) {
    const double l = lam(s, eps);
    shifted(s->h, s->f, s->loga, eps, s->n);
    ms_status st = ms_softmin_rows(s->K, s->h, eps, s->fresh ? NULL : s->t, s->t, ctx);
    if (st != MS_OK)
        return st;
    s->fresh = 0;
    double e = marginal_residual(s->a, s->f, s->t, s->n, eps, s->rho);
    *err_out = e;
    if (stop_tol >= 0 && e <= stop_tol) {
        *stopped = 1;
        return MS_OK;
    }
    for (size_t i = 0; i < s->n; i++)
        s->f[i] = 0.5 * (s->f[i] + l * s->t[i]);
    return all_finite(s->f, s->n) ? MS_OK : MS_ENUMERIC;
}

/* Block dual of potential p against its soft-min target that (both at eps):
 * D(p) = <w,p> - eps Σ w exp((p - that)/eps) when balanced, with <w,p>
 * replaced by -rho <w, exp(-p/rho) - 1> when unbalanced. Sinkhorn's update
 * maximises D; an over-relaxed step is kept only if it does not lower D. */
static double block_dual(const double *w, const double *p, const double *that, size_t n, double eps,
                         double rho) {
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] > 0))
            continue;
        double lin = isinf(rho) ? p[i] : -rho * (exp(-p[i] / rho) - 1);
        d += w[i] * (lin - eps * exp((p[i] - that[i]) / eps));
    }
    return d;
}

/* p ← (1-ω) p + ω·lam·that, falling back to ω = 1 if the block dual drops.
 * scratch holds n doubles. */
static void relaxed_update(double *p, const double *that, const double *w, size_t n, double eps,
                           double rho, double l, double omega, double *scratch) {
    if (omega != 1.0) {
        double before = block_dual(w, p, that, n, eps, rho);
        for (size_t i = 0; i < n; i++)
            scratch[i] = (1 - omega) * p[i] + omega * l * that[i];
        if (block_dual(w, scratch, that, n, eps, rho) >= before) {
            memcpy(p, scratch, n * sizeof(double));
            return;
        }
    }
    for (size_t i = 0; i < n; i++)
        p[i] = l * that[i];
}

void ot_sinkhorn_set_omega(ot_sinkhorn *s, double omega) {
    s->adaptive = isnan(omega);
    s->omega = s->adaptive ? 1.0 : omega;
}

double ot_sinkhorn_omega(const ot_sinkhorn *s) {
    return s->omega;
}

/* Adaptive over-relaxation. For SOR-type iterations (Young's theory, used
 * for Sinkhorn by Thibault et al. 2021, §3) the rate λ observed with factor
 * ω and the plain rate κ satisfy (λ + ω - 1)² = λ ω² κ, and the best factor
 * is ω* = 2 / (1 + sqrt(1 - κ)). Every 10 iterations at one eps, κ is
 * estimated from the last 10 error ratios and ω moves to ω*. */
static void adapt_omega(ot_sinkhorn *s, double e) {
    s->hist[s->nhist % 11] = e;
    s->nhist++;
    if (!s->adaptive || s->nhist < 21 || s->nhist % 10 != 1)
        return;
    double now = s->hist[(s->nhist - 1) % 11], then = s->hist[(s->nhist - 11) % 11];
    if (!(now > 0 && then > 0 && now < then))
        return;
    double lam_obs = pow(now / then, 0.1), w = s->omega;
    double kappa = (lam_obs + w - 1) * (lam_obs + w - 1) / (lam_obs * w * w);
    if (!(kappa > 0))
        return;
    kappa = kappa < 1 ? kappa : 1;
    double best = 2 / (1 + sqrt(1 - kappa));
    s->omega = best < OMEGA_MAX ? best : OMEGA_MAX;
}

ms_status ot_sinkhorn_iterate(ot_sinkhorn *s, double eps, double stop_tol, const ms_ctx *ctx,
                              double *err_out, int *stopped) {
    *stopped = 0;
    *err_out = NAN;
    if (s->symmetric)
        return iterate_symmetric(s, eps, stop_tol, ctx, err_out, stopped);
    const double l = lam(s, eps);
    /* ĝ = T_g(f) gives the current plan's column sums, then updates g. */
    shifted(s->h, s->f, s->loga, eps, s->n);
    ms_status st = ms_softmin_cols(s->K, s->h, eps, s->fresh ? NULL : s->gnew, s->gnew, ctx);
    if (st != MS_OK)
        return st;
    /* The row error of (f, g) is known from the last f update at this eps;
     * before one, the error is not a stop signal. */
    if (!s->fresh && eps == s->last_eps) {
        double e = s->row_err + marginal_residual(s->b, s->g, s->gnew, s->m, eps, s->rho);
        *err_out = e;
        adapt_omega(s, e);
        if (stop_tol >= 0 && e <= stop_tol) {
            *stopped = 1;
            return MS_OK;
        }
    }
    relaxed_update(s->g, s->gnew, s->b, s->m, eps, s->rho, l, s->omega, s->rc);
    /* f̂ = T_f(g), then f; the row error of the new plan (f, g) follows. */
    shifted(s->h, s->g, s->logb, eps, s->m);
    st = ms_softmin_rows(s->K, s->h, eps, s->fresh ? NULL : s->t, s->t, ctx);
    if (st != MS_OK)
        return st;
    relaxed_update(s->f, s->t, s->a, s->n, eps, s->rho, l, s->omega, s->rc);
    s->row_err = marginal_residual(s->a, s->f, s->t, s->n, eps, s->rho);
    if (eps != s->last_eps)
        s->nhist = 0;
    s->fresh = 0;
    s->last_eps = eps;
    if (!all_finite(s->f, s->n) || !all_finite(s->g, s->m))
        return MS_ENUMERIC;
    return MS_OK;
}

ms_status ot_sinkhorn_values(ot_sinkhorn *s, double eps, const ms_ctx *ctx, ot_values *v) {
    const size_t n = s->n, m = s->m;
    const double *g = ot_sinkhorn_g(s);
    const double *logb = s->symmetric ? s->loga : s->logb;
    const double *b = s->symmetric ? s->a : s->b;
    /* Rows: fhat and the expected cost of each row's conditional plan. */
    double *fhat = s->t, *rowcost = s->rc;
    shifted(s->h, g, logb, eps, m);
    ms_status st = ms_softmin_rows_moments(s->K, s->h, eps, fhat, rowcost, NULL, ctx);
    if (st != MS_OK)
        return st;
    double tc = 0, mass = 0, rf = 0, resid = 0, kla = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(s->a[i] > 0))
            continue;
        double lr = (s->f[i] - fhat[i]) / eps; /* log(r_i / a_i) */
        double r = s->a[i] * exp(lr);
        tc += r * rowcost[i];
        mass += r;
        rf += r * s->f[i];
        double want = isinf(s->rho) ? s->a[i] : s->a[i] * exp(-s->f[i] / s->rho);
        resid += fabs(r - want);
        kla += r * lr - r + s->a[i];
    }
    /* Columns: ghat, then c_j = b_j exp((g_j - ghat_j)/eps). */
    double cg = 0, klb = 0;
    if (s->symmetric) {
        cg = rf;
        klb = kla;
        resid *= 2;
    } else {
        double *ghat = s->gnew;
        shifted(s->h, s->f, s->loga, eps, n);
        st = ms_softmin_cols(s->K, s->h, eps, NULL, ghat, ctx);
        if (st != MS_OK)
            return st;
        for (size_t j = 0; j < m; j++) {
            if (!(b[j] > 0))
                continue;
            double lr = (g[j] - ghat[j]) / eps;
            double c = b[j] * exp(lr);
            cg += c * g[j];
            double want = isinf(s->rho) ? b[j] : b[j] * exp(-g[j] / s->rho);
            resid += fabs(c - want);
            klb += c * lr - c + b[j];
        }
    }
    double prod = s->mass_a * s->mass_b;
    double af = 0, bg = 0;
    for (size_t i = 0; i < n; i++)
        af += s->a[i] > 0 ? s->a[i] * s->f[i] : 0;
    for (size_t j = 0; j < m; j++)
        bg += b[j] > 0 ? b[j] * g[j] : 0;
    v->transport_cost = tc;
    v->mass = mass;
    v->marginal_error = resid;
    /* eps·KL(π|a⊗b) = <r,f> + <c,g> - <C,π> - eps(mass - m_a m_b). */
    double obj = rf + cg - eps * (mass - prod);
    if (isinf(s->rho)) {
        v->dual = af + bg - eps * (mass - prod);
    } else {
        obj += s->rho * (kla + klb);
        double da = 0, db = 0;
        for (size_t i = 0; i < n; i++)
            da += s->a[i] * (exp(-s->f[i] / s->rho) - 1);
        for (size_t j = 0; j < m; j++)
            db += b[j] * (exp(-g[j] / s->rho) - 1);
        v->dual = -s->rho * (da + db) - eps * (mass - prod);
    }
    v->objective = obj;
    return MS_OK;
}

void ot_sinkhorn_center(ot_sinkhorn *s) {
    if (!isinf(s->rho) || s->symmetric)
        return;
    double af = 0, bg = 0;
    for (size_t i = 0; i < s->n; i++)
        af += s->a[i] * s->f[i];
    for (size_t j = 0; j < s->m; j++)
        bg += s->b[j] * s->g[j];
    double k = (bg - af) / 2;
    for (size_t i = 0; i < s->n; i++)
        s->f[i] += k;
    for (size_t j = 0; j < s->m; j++)
        s->g[j] -= k;
}

void ot_sinkhorn_plan(const ot_sinkhorn *s, double eps, double *plan) {
    const double *g = ot_sinkhorn_g(s);
    const double *logb = s->symmetric ? s->loga : s->logb;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->m; j++) {
            double z = s->loga[i] + logb[j] + (s->f[i] + g[j] - ms_softmin_cost(s->K, i, j)) / eps;
            plan[i * s->m + j] = exp(z);
        }
}

ms_status ot_sinkhorn_newton(ot_sinkhorn *s, ot_newton *nw, double eps, double tol,
                             const ms_ctx *ctx, double *err_out, int *outcome) {
    ot_newton_outcome o;
    ms_status st = ot_newton_step(nw, eps, tol, s->f, s->g, ctx, err_out, &o);
    *outcome = (int)o;
    if (st != MS_OK)
        return st;
    /* f = T_f(g) exactly after a Newton step: the plan's rows are exact and
     * the next Sinkhorn iteration may stop on its column error. */
    s->row_err = 0;
    s->fresh = 0;
    s->last_eps = eps;
    s->nhist = 0;
    if (!all_finite(s->f, s->n) || !all_finite(s->g, s->m))
        return MS_ENUMERIC;
    return MS_OK;
}
