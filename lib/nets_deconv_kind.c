/* nets_deconv_kind.c — the `deconvolution` job kind: sparse deconvolution of
 * spikes on the torus T^D (D = 1, 2) by over-parameterised particle descent.
 *
 * What it is for: J(μ) = R(ψ*μ) + λ|μ|(T^D) with μ = (1/m) Σ c_i δ_{θ_i}
 * (mean-field.md §1, §7 T3), minimised by
 *   pgd   — forward–backward particle descent on (r, θ) [CB18] (spec §2):
 *           θ_i ← θ_i − η r_i ∇g(θ_i), r_i ← S_{ηλ}(r_i − η g(θ_i)), c = r;
 *   conic — conic particle descent, Wasserstein–Fisher–Rao [C19] (spec §3):
 *           r_i ← r_i exp(−2αG_i) (or r_i(1 − 2αG_i)), θ_i ← θ_i − β s_i ∇g(θ_i),
 *           G_i = s_i g(θ_i) + λ, c = r|r|.
 * Planted spikes (min separation, signed weights) or user spikes or user
 * observations. Returns the recovered measure, the merged spikes and the
 * certificate max|g|/λ on a fine grid (≤ 1 at the global optimum).
 *
 * What it is not for: kernels and linear algebra (nets_deconv.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_kind.h"
#include "ms_rng.h"
#include "nets_deconv.h"
#include "nets_fields.h"

typedef struct dc_params {
    long long seed, threads, max_iter;
    double tol, tol_cert;
    long long dim;
    int kernel;
    long long K;
    double sigma;
    long long grid;
    long long m0;
    double separation;
    int signed_weights;
    ms_mat spike_points;
    ms_vec spike_weights, y;
    double noise;
    long long m;
    int method;
    double lambda, step, alpha, beta;
    int retraction, init_positions, init_signs, fixed_positions;
    double init_r;
    ms_mat init_points;
    ms_vec init_weights;
    long long stream_every, heavy_every, cert_grid, trajectory_every;
    double merge_radius;
} dc_params;

#define P dc_params
static const char *const kernel_choices[] = {"dirichlet", "gaussian", NULL};
static const char *const method_choices[] = {"pgd", "conic", NULL};
static const char *const retr_choices[] = {"mirror", "canonical", NULL};
static const char *const initpos_choices[] = {"grid", "random", NULL};
static const char *const signs_choices[] = {"alternate", "positive", NULL};

static const ms_field fields[] = {
    NF_INT(seed, 0, 0, 0, 0, "Seed of the planted spikes, noise and random init."),
    NF_INT(threads, NF_MINMAX, 1, 256, 1, "Threads (the steps are small; kept for the contract)."),
    NF_INT(max_iter, NF_MINMAX, 1, 1e9, 2000, "Iterations at most; then converged=false."),
    NF_DBL(tol, NF_NONNEG, 0, 0, 1e-10,
           "Stop when |F_k - F_{k-20}| <= tol*max(1,|F_k|); 0 disables."),
    NF_DBL(tol_cert, NF_NONNEG, 0, 0, 0,
           "When > 0, stopping also needs certificate <= 1 + tol_cert (checked every "
           "heavy_every)."),
    NF_INT(dim, NF_MINMAX, 1, 2, 1, "Torus dimension D: 1 ([0,2pi)) or 2 ([0,2pi)^2)."),
    NF_ENUM(kernel, kernel_choices, "dirichlet",
            "Kernel: dirichlet psi(t) = sum_{|k|<=K} e^{ikt}, or periodised gaussian of width "
            "sigma; tensor product in 2-D."),
    NF_INT(K, NF_MINMAX, 0, 1000, 10, "Dirichlet order K."),
    NF_DBL(sigma, NF_POS, 0, 0, 0.1, "Gaussian kernel width."),
    NF_INT(grid, NF_MINMAX, 0, 1e5, 0,
           "Observation grid N per axis, x_s = 2 pi s/N; 0: 2K+1 (Dirichlet, exact quadrature) "
           "or 128 (1-D) / 32 (2-D) for the Gaussian."),
    NF_INT(m0, NF_MINMAX, 1, 1000, 3, "Planted spikes (when spike_points and y are absent)."),
    NF_DBL(separation, NF_NONNEG, 0, 0, 1.0,
           "Minimal wrap-around distance between planted spikes (rad)."),
    NF_BOOL(signed_weights, 1, "Planted weights +-U[0.5,1.5] (else U[0.5,1.5])."),
    NF_MAT(spike_points, NF_MAXN, "Given spike positions, m0 x D."),
    NF_VEC(spike_weights, 0, 0, 0, NF_MAXN, "Given spike weights (signed), m0."),
    NF_VEC(y, 0, 0, 0, NF_MAXN,
           "Given observations on the grid (N^D values, row-major in 2-D); then no truth."),
    NF_DBL(noise, NF_NONNEG, 0, 0, 0, "Gaussian noise added to planted observations."),
    NF_INT(m, NF_MINMAX, 1, 1e6, 50, "Number of particles."),
    NF_ENUM(method, method_choices, "conic",
            "pgd: forward-backward particle descent on (r, theta), mu = (1/m) sum r_i delta; "
            "conic: conic particle descent (Wasserstein-Fisher-Rao), mu = (1/m) sum r_i|r_i| "
            "delta."),
    NF_DBL(lambda, NF_NONNEG, 0, 0, 1e-2, "Total-variation penalty lambda."),
    NF_DBL(step, NF_POS, 0, 0, 0.1, "pgd: step eta."),
    NF_DBL(alpha, NF_NONNEG, 0, 0, 0.01,
           "conic: step alpha of the mass (Fisher-Rao) part (stable while ~84 alpha M < 2 for "
           "K = 10, M the mass near one spike)."),
    NF_DBL(beta, NF_NONNEG, 0, 0, 0.001,
           "conic: step beta of the position (Wasserstein) part (stable while beta M |psi''(0)| < "
           "2)."),
    NF_ENUM(retraction, retr_choices, "mirror",
            "conic: r <- r exp(-2 alpha G) (mirror, keeps signs) or r (1 - 2 alpha G)."),
    NF_ENUM(init_positions, initpos_choices, "grid",
            "Initial positions: uniform grid (1-D: 2 pi i/m; 2-D: a q x q grid, m = q^2) or "
            "uniform random."),
    NF_DBL(init_r, MS_FF_NULLABLE, 0, 0, NAN,
           "Initial |r_i|; default 0 for pgd (spec: r(0) = 0) and 0.5 for conic."),
    NF_ENUM(init_signs, signs_choices, "alternate", "Signs of r(0): alternate +-, or positive."),
    NF_MAT(init_points, NF_MAXN, "Given initial positions m x D (then m is its row count)."),
    NF_VEC(init_weights, 0, 0, 0, NF_MAXN, "Given initial r (m values), with init_points."),
    NF_BOOL(fixed_positions, 0, "Keep the positions fixed (a Lasso on the initial support)."),
    NF_INT(stream_every, NF_MINMAX, 1, 1e9, 10, "Cheap metrics every this many iterations."),
    NF_INT(heavy_every, NF_MINMAX, 1, 1e9, 100, "Certificate and spike errors every this many."),
    NF_INT(cert_grid, NF_MINMAX, 0, 1e6, 0,
           "Certificate grid per axis; 0: 4096 (1-D) or 256 (2-D)."),
    NF_DBL(merge_radius, NF_NONNEG, 0, 0, 0.05,
           "Particles closer than this (rad) merge into one recovered spike."),
    NF_INT(trajectory_every, NF_MINMAX, 0, 1e9, 0,
           "When > 0, return the particles (r, theta) every this many iterations (<= 2000 "
           "snapshots)."),
};
#undef P

const ms_fields nets__deconv_fields = MS_FIELDS(dc_params, fields);

enum { HIST_MAX = 20000, TRAJ_MAX = 2000 };

typedef struct dc_run {
    const dc_params *p;
    size_t D, N, m, m0, G;
    int conic, has_truth;
    nets_deconv dc;
    double *y, *sp, *sw;           /* observations, true spikes */
    double *r, *th, *g, *dg, *cws; /* particles, gradients, certificate ws */
    double *mpos, *mw, *pw;        /* merged spikes, particle weights c/m */
    size_t *mws, nmerged;
    size_t it;
    double loss, obj, obj0, cert, gnorm, pos_err, w_err;
    double ring[21];
    int converged;
    size_t hist_n, hist_cap, traj_n, traj_cap;
    double *h_it, *h_obj, *h_cert, *t_it, *t_r, *t_th;
} dc_run;

static size_t grid_n(const dc_params *p) {
    if (p->grid > 0)
        return (size_t)p->grid;
    if (p->kernel == NETS_DIRICHLET)
        return 2 * (size_t)p->K + 1;
    return p->dim == 2 ? 32 : 128;
}

static ms_status check(const void *vp, ms_errlist *errs) {
    const dc_params *p = vp;
    size_t before = errs->n, D = (size_t)p->dim, N = grid_n(p);
    size_t nobs = D == 2 ? N * N : N;
    if (p->y.v && p->y.n != nobs)
        ms_errlist_addf(errs, MS_EINVAL, "y", "needs N^D = %zu values, got %zu", nobs, p->y.n);
    if (p->spike_points.v && p->spike_points.cols != D)
        ms_errlist_addf(errs, MS_EINVAL, "spike_points", "needs %zu columns, got %zu", D,
                        p->spike_points.cols);
    if (!p->spike_points.v != !p->spike_weights.v)
        ms_errlist_addf(errs, MS_EINVAL, p->spike_points.v ? "spike_weights" : "spike_points",
                        "spike_points and spike_weights go together");
    if (p->spike_points.v && p->spike_weights.v && p->spike_weights.n != p->spike_points.rows)
        ms_errlist_addf(errs, MS_EINVAL, "spike_weights", "needs %zu values, got %zu",
                        p->spike_points.rows, p->spike_weights.n);
    if (p->init_points.v && p->init_points.cols != D)
        ms_errlist_addf(errs, MS_EINVAL, "init_points", "needs %zu columns, got %zu", D,
                        p->init_points.cols);
    if (p->init_weights.v && (!p->init_points.v || p->init_weights.n != p->init_points.rows))
        ms_errlist_addf(errs, MS_EINVAL, "init_weights", "needs init_points and one value per row");
    if (p->kernel == NETS_DIRICHLET && N < 2 * (size_t)p->K + 1)
        ms_errlist_addf(errs, MS_EINVAL, "grid", "Dirichlet needs N >= 2K+1 = %lld, got %zu",
                        2 * p->K + 1, N);
    if (!p->spike_points.v && !p->y.v && p->separation * (double)p->m0 > 2 * M_PI * (double)D)
        ms_errlist_addf(errs, MS_EINVAL, "separation", "m0 spikes cannot be %g apart",
                        p->separation);
    return errs->n > before ? MS_EINVAL : MS_OK;
}

static double tdist(const double *a, const double *b, size_t D) {
    double s = 0;
    for (size_t k = 0; k < D; k++) {
        double d = nets__circ_dist(a[k], b[k]);
        s += d * d;
    }
    return sqrt(s);
}

/* Planted spikes by rejection sampling (spec §7 T3). */
static ms_status plant(dc_run *S, ms_rng *r, ms_err *err) {
    const dc_params *p = S->p;
    for (int attempt = 0; attempt < 100000; attempt++) {
        int ok = 1;
        for (size_t k = 0; k < S->m0 && ok; k++) {
            for (size_t q = 0; q < S->D; q++)
                S->sp[k * S->D + q] = 2 * M_PI * ms_rng_uniform(r);
            for (size_t j = 0; j < k && ok; j++)
                ok = tdist(S->sp + k * S->D, S->sp + j * S->D, S->D) >= p->separation;
        }
        if (ok) {
            for (size_t k = 0; k < S->m0; k++) {
                double w = 0.5 + ms_rng_uniform(r);
                S->sw[k] = p->signed_weights && ms_rng_uniform(r) < 0.5 ? -w : w;
            }
            return MS_OK;
        }
    }
    return ms_fail(err, MS_EINVAL, "separation",
                   "could not place %zu spikes %g apart in 100000 draws", S->m0, p->separation);
}

/* Observations y_s = Σ_k w_k ψ(x_s − θ*_k) + noise. */
static void observe(dc_run *S, ms_rng *r) {
    const size_t N = S->N, D = S->D;
    for (size_t s = 0; s < S->dc.nobs; s++) {
        double x[2] = {2 * M_PI * (double)(D == 2 ? s / N : s) / (double)N,
                       2 * M_PI * (double)(s % N) / (double)N};
        double v = 0;
        for (size_t k = 0; k < S->m0; k++) {
            double t = S->sw[k];
            for (size_t q = 0; q < D; q++)
                t *= nets__psi(&S->dc.ker, x[q] - S->sp[k * D + q], NULL);
            v += t;
        }
        S->y[s] = v + (S->p->noise > 0 ? S->p->noise * ms_rng_normal(r) : 0);
    }
}

static void init_particles(dc_run *S, ms_rng *rng) {
    const dc_params *p = S->p;
    const size_t m = S->m, D = S->D;
    double r0 = isnan(p->init_r) ? (S->conic ? 0.5 : 0.0) : p->init_r;
    size_t q = (size_t)llround(sqrt((double)m));
    int grid2 = D == 2 && q * q == m;
    for (size_t i = 0; i < m; i++) {
        if (p->init_points.v) {
            for (size_t k = 0; k < D; k++)
                S->th[i * D + k] = nets__wrap(p->init_points.v[i * D + k]);
        } else if (p->init_positions == 0 && D == 1) {
            S->th[i] = 2 * M_PI * (double)i / (double)m;
        } else if (p->init_positions == 0 && grid2) {
            S->th[2 * i] = 2 * M_PI * ((double)(i / q) + 0.5) / (double)q;
            S->th[2 * i + 1] = 2 * M_PI * ((double)(i % q) + 0.5) / (double)q;
        } else {
            for (size_t k = 0; k < D; k++)
                S->th[i * D + k] = 2 * M_PI * ms_rng_uniform(rng);
        }
        if (p->init_weights.v)
            S->r[i] = p->init_weights.v[i];
        else
            S->r[i] = p->init_signs == 0 && i % 2 ? -r0 : r0;
    }
}

static void weights(dc_run *S) {
    for (size_t i = 0; i < S->m; i++)
        S->dc.c[i] = S->conic ? S->r[i] * fabs(S->r[i]) : S->r[i];
}

static double objective(dc_run *S) {
    double pen = 0;
    for (size_t i = 0; i < S->m; i++)
        pen += S->conic ? S->r[i] * S->r[i] : fabs(S->r[i]);
    return S->loss + S->p->lambda * pen / (double)S->m;
}

static void refresh(dc_run *S) {
    weights(S);
    S->loss = nets__deconv_forward(&S->dc, S->th, S->dc.c);
    S->obj = objective(S);
}

static void fini(void *vs);

static ms_status init(void *vs, const void *vp, const ms_ctx *ctx, ms_err *err) {
    dc_run *S = vs;
    const dc_params *p = vp;
    (void)ctx;
    memset(S, 0, sizeof *S);
    S->p = p;
    S->D = (size_t)p->dim;
    S->N = grid_n(p);
    S->m = p->init_points.v ? p->init_points.rows : (size_t)p->m;
    S->conic = p->method == 1;
    S->has_truth = !p->y.v;
    S->m0 = p->spike_points.v ? p->spike_points.rows : p->y.v ? 0 : (size_t)p->m0;
    S->G = p->cert_grid > 0 ? (size_t)p->cert_grid : S->D == 2 ? 256 : 4096;
    S->hist_cap = (size_t)p->max_iter / (size_t)p->stream_every + 2;
    S->hist_cap = S->hist_cap > HIST_MAX ? HIST_MAX : S->hist_cap;
    S->traj_cap =
        p->trajectory_every > 0 ? (size_t)p->max_iter / (size_t)p->trajectory_every + 2 : 0;
    S->traj_cap = S->traj_cap > TRAJ_MAX ? TRAJ_MAX : S->traj_cap;
    const size_t m = S->m, D = S->D;
    int ok = nets__deconv_alloc(&S->dc, D, S->N, m) == MS_OK;
    if (ok) {
        double **arr[] = {&S->y,     &S->sp,     &S->sw,   &S->r,   &S->th,  &S->g,
                          &S->dg,    &S->cws,    &S->mpos, &S->mw,  &S->pw,  &S->h_it,
                          &S->h_obj, &S->h_cert, &S->t_it, &S->t_r, &S->t_th};
        size_t sz[] = {S->dc.nobs,
                       S->m0 * D + 1,
                       S->m0 + 1,
                       m,
                       m * D,
                       m,
                       m * D,
                       nets__deconv_cert_ws(D, S->N, S->G),
                       m * D,
                       m,
                       m,
                       S->hist_cap,
                       S->hist_cap,
                       S->hist_cap,
                       S->traj_cap + 1,
                       S->traj_cap * m + 1,
                       S->traj_cap * m * D + 1};
        for (size_t k = 0; k < sizeof sz / sizeof sz[0] && ok; k++)
            ok = (*arr[k] = ms_malloc(sz[k], sizeof(double))) != NULL;
        ok = ok && (S->mws = ms_malloc(m, sizeof(size_t))) != NULL;
    }
    if (!ok) {
        fini(S);
        return ms_fail(err, MS_ENOMEM, "", "deconvolution: out of memory (m=%zu, N=%zu)", m, S->N);
    }
    S->dc.ker.kind = (nets_kernel_kind)p->kernel;
    S->dc.ker.K = (int)p->K;
    S->dc.ker.sigma = p->sigma;
    S->dc.y = S->y;
    S->dc.fixed = p->fixed_positions;
    ms_rng rng;
    ms_rng_init(&rng, (uint64_t)p->seed, 1);
    ms_status st = MS_OK;
    if (p->y.v) {
        memcpy(S->y, p->y.v, S->dc.nobs * sizeof(double));
    } else {
        if (p->spike_points.v) {
            memcpy(S->sp, p->spike_points.v, S->m0 * D * sizeof(double));
            memcpy(S->sw, p->spike_weights.v, S->m0 * sizeof(double));
        } else {
            st = plant(S, &rng, err);
        }
        ms_rng_init(&rng, (uint64_t)p->seed, 2);
        if (st == MS_OK)
            observe(S, &rng);
    }
    if (st != MS_OK) {
        fini(S);
        return st;
    }
    ms_rng_init(&rng, (uint64_t)p->seed, 3);
    init_particles(S, &rng);
    refresh(S);
    S->obj0 = S->obj;
    S->cert = S->pos_err = S->w_err = NAN;
    return MS_OK;
}

/* Merge, then match each true spike to its nearest merged spike. */
static void spike_errors(dc_run *S) {
    const size_t m = S->m, D = S->D;
    for (size_t i = 0; i < m; i++)
        S->pw[i] = S->dc.c[i] / (double)m;
    S->nmerged = nets__merge(S->th, S->pw, m, D, S->p->merge_radius, S->mpos, S->mw, S->mws);
    if (!S->has_truth)
        return;
    double mx = 0, pe = 0, we = 0;
    for (size_t c = 0; c < S->nmerged; c++)
        mx = fabs(S->mw[c]) > mx ? fabs(S->mw[c]) : mx;
    for (size_t k = 0; k < S->m0; k++) {
        double best = INFINITY;
        size_t bc = 0;
        for (size_t c = 0; c < S->nmerged; c++) {
            if (fabs(S->mw[c]) < 1e-3 * mx)
                continue;
            double dd = tdist(S->sp + k * D, S->mpos + c * D, D);
            if (dd < best) {
                best = dd;
                bc = c;
            }
        }
        pe = best > pe ? best : pe;
        double wr = isfinite(best) ? fabs(S->mw[bc] - S->sw[k]) / fabs(S->sw[k]) : INFINITY;
        we = wr > we ? wr : we;
    }
    S->pos_err = pe;
    S->w_err = we;
}

static ms_status step(void *vs, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    dc_run *S = vs;
    const dc_params *p = S->p;
    const size_t m = S->m, D = S->D;
    (void)ctx;
    nets__deconv_grad(&S->dc, S->g, S->dg);
    double gn = 0;
    for (size_t i = 0; i < m; i++) {
        double ri = S->r[i], s = ri > 0 ? 1.0 : ri < 0 ? -1.0 : 0.0, *dg = S->dg + i * D;
        if (S->conic) {
            /* [C19] conic update, spec §3: G_i = s_i g(θ_i) + λ. */
            double G = s * S->g[i] + p->lambda;
            gn += 4 * ri * ri * G * G;
            S->r[i] =
                p->retraction == 0 ? ri * exp(-2 * p->alpha * G) : ri * (1 - 2 * p->alpha * G);
            for (size_t k = 0; k < D && !p->fixed_positions; k++) {
                gn += ri * ri * ri * ri * dg[k] * dg[k];
                S->th[i * D + k] = nets__wrap(S->th[i * D + k] - p->beta * s * dg[k]);
            }
        } else {
            /* Forward–backward, spec §2 (both updates use the old r and g). */
            double z = ri - p->step * S->g[i], t = p->step * p->lambda;
            S->r[i] = z > t ? z - t : z < -t ? z + t : 0.0;
            gn += (S->r[i] - ri) * (S->r[i] - ri) / (p->step * p->step);
            for (size_t k = 0; k < D && !p->fixed_positions; k++) {
                gn += ri * ri * dg[k] * dg[k];
                S->th[i * D + k] = nets__wrap(S->th[i * D + k] - p->step * ri * dg[k]);
            }
        }
    }
    S->gnorm = sqrt(gn / (double)m);
    refresh(S);
    S->it++;
    if (!isfinite(S->obj))
        return ms_fail(err, MS_ENUMERIC, S->conic ? "alpha" : "step",
                       "non-finite objective at iteration %zu (step too large?)", S->it);
    if (S->obj > 1e6 * fmax(S->obj0, 1e-6))
        return ms_fail(err, MS_ENUMERIC, S->conic ? "alpha" : "step",
                       "diverged at iteration %zu: objective %.6g", S->it, S->obj);
    S->ring[S->it % 21] = S->obj;
    int heavy = S->it % (size_t)p->heavy_every == 0;
    if (heavy) {
        S->cert = p->lambda > 0 ? nets__deconv_cert(&S->dc, S->G, S->cws) / p->lambda : NAN;
        spike_errors(S);
    }
    if (S->it >= 20 && p->tol > 0 &&
        fabs(S->obj - S->ring[(S->it - 20) % 21]) <= p->tol * fmax(1.0, fabs(S->obj)) &&
        (!(p->tol_cert > 0) || (heavy && S->cert <= 1 + p->tol_cert)))
        S->converged = 1;
    prog->iteration = S->it;
    prog->fraction = (double)S->it / (double)p->max_iter;
    prog->done = S->converged || S->it >= (size_t)p->max_iter;
    if (prog->done && !heavy) {
        S->cert = p->lambda > 0 ? nets__deconv_cert(&S->dc, S->G, S->cws) / p->lambda : NAN;
        spike_errors(S);
        heavy = 1;
    }
    if (S->it % (size_t)p->stream_every == 0 || prog->done) {
        double mass = 0, mx = 0;
        size_t act = 0;
        for (size_t i = 0; i < m; i++) {
            mass += fabs(S->dc.c[i]);
            mx = fabs(S->dc.c[i]) > mx ? fabs(S->dc.c[i]) : mx;
        }
        for (size_t i = 0; i < m; i++)
            act += fabs(S->dc.c[i]) > 1e-3 * mx;
        ms_progress_set(prog, "loss", S->loss);
        ms_progress_set(prog, "objective", S->obj);
        ms_progress_set(prog, "grad_norm", S->gnorm);
        ms_progress_set(prog, "mass", mass / (double)m);
        ms_progress_set(prog, "n_active", (double)act);
        if (S->hist_n < S->hist_cap) {
            S->h_it[S->hist_n] = (double)S->it;
            S->h_obj[S->hist_n] = S->obj;
            S->h_cert[S->hist_n++] = heavy ? S->cert : NAN;
        }
    }
    if (heavy) {
        ms_progress_set(prog, "certificate", S->cert);
        if (S->has_truth) {
            ms_progress_set(prog, "spike_pos_err", S->pos_err);
            ms_progress_set(prog, "spike_w_err", S->w_err);
        }
    }
    if (p->trajectory_every > 0 && S->it % (size_t)p->trajectory_every == 0 &&
        S->traj_n < S->traj_cap) {
        S->t_it[S->traj_n] = (double)S->it;
        memcpy(S->t_r + S->traj_n * m, S->r, m * sizeof(double));
        memcpy(S->t_th + S->traj_n * m * D, S->th, m * D * sizeof(double));
        S->traj_n++;
    }
    return MS_OK;
}

static ms_status result(void *vs, ms_value *out, ms_err *err) {
    dc_run *S = vs;
    const size_t m = S->m, D = S->D;
    (void)err;
    ms_obj_int(out, "iterations", (long long)S->it);
    ms_obj_bool(out, "converged", S->converged);
    ms_obj_num(out, "objective", S->obj);
    ms_obj_num(out, "loss", S->loss);
    ms_obj_num(out, "certificate", S->cert);
    ms_obj_num(out, "grad_norm", S->gnorm);
    for (size_t i = 0; i < m; i++)
        S->pw[i] = S->dc.c[i] / (double)m;
    ms_value *mu = ms_obj_obj(out, "signed_measure");
    ms_obj_mat(mu, "points", S->th, m, D, D);
    ms_obj_vec(mu, "weights", S->pw, m, 1);
    ms_obj_vec(out, "r", S->r, m, 1);
    /* Merged spikes above 1e-3 of the largest. */
    double mx = 0;
    size_t k = 0;
    for (size_t c = 0; c < S->nmerged; c++)
        mx = fabs(S->mw[c]) > mx ? fabs(S->mw[c]) : mx;
    for (size_t c = 0; c < S->nmerged; c++)
        if (fabs(S->mw[c]) >= 1e-3 * mx) {
            memmove(S->mpos + k * D, S->mpos + c * D, D * sizeof(double));
            S->mw[k++] = S->mw[c];
        }
    ms_value *rec = ms_obj_obj(out, "recovered");
    ms_obj_mat(rec, "points", S->mpos, k, D, D);
    ms_obj_vec(rec, "weights", S->mw, k, 1);
    if (S->has_truth) {
        ms_value *tr = ms_obj_obj(out, "spikes");
        ms_obj_mat(tr, "points", S->sp, S->m0, D, D);
        ms_obj_vec(tr, "weights", S->sw, S->m0, 1);
        ms_obj_num(out, "spike_pos_err", S->pos_err);
        ms_obj_num(out, "spike_w_err", S->w_err);
    }
    ms_obj_vec(out, "observations", S->y, S->dc.nobs, 1);
    ms_value *h = ms_obj_obj(out, "history");
    ms_obj_vec(h, "iteration", S->h_it, S->hist_n, 1);
    ms_obj_vec(h, "objective", S->h_obj, S->hist_n, 1);
    ms_obj_vec(h, "certificate", S->h_cert, S->hist_n, 1);
    if (S->traj_n) {
        ms_value *t = ms_obj_obj(out, "trajectory");
        ms_obj_vec(t, "iteration", S->t_it, S->traj_n, 1);
        ms_obj_mat(t, "r", S->t_r, S->traj_n, m, m);
        ms_obj_mat(t, "theta", S->t_th, S->traj_n, m * D, m * D);
    }
    return MS_OK;
}

static void fini(void *vs) {
    dc_run *S = vs;
    double *arr[] = {S->y,  S->sp, S->sw,   S->r,     S->th,     S->g,    S->dg,  S->cws, S->mpos,
                     S->mw, S->pw, S->h_it, S->h_obj, S->h_cert, S->t_it, S->t_r, S->t_th};
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        ms_free(arr[k]);
    ms_free(S->mws);
    nets__deconv_free(&S->dc);
    memset(S, 0, sizeof *S);
}

static size_t memory(const void *vp) {
    const dc_params *p = vp;
    size_t N = grid_n(p), m = (size_t)p->m;
    return (6 * N * m + 4096 * N + 65536 + 16 * m) * sizeof(double);
}

const ms_kind nets_deconvolution = {
    .name = "deconvolution",
    .title = "Sparse deconvolution on the torus",
    .description =
        "Recovers a signed sum of spikes on the 1-D or 2-D torus from its convolution with a "
        "Dirichlet or Gaussian kernel on a grid, by minimising R + lambda |mu| with "
        "over-parameterised particles: particle gradient descent with a proximal step (Chizat "
        "& Bach 2018) or conic particle descent, a discretised Wasserstein-Fisher-Rao flow "
        "(Chizat 2019). Returns the recovered measure, merged spikes, errors against the "
        "planted truth and the certificate max|g|/lambda (<= 1 at the global optimum).",
    .params = &nets__deconv_fields,
    .example = "{\"K\": 10, \"m0\": 3, \"separation\": 1.3, \"m\": 50, \"lambda\": 0.01, "
               "\"max_iter\": 300, \"seed\": 1}",
    .state_size = sizeof(dc_run),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
