/* games_payoff.c — built-in payoff families, expressions, and the fields of
 * particle methods. See games_payoff.h. */
#include "games_payoff.h"

#include <math.h>
#include <string.h>

#include "ms_alloc.h"

#ifdef _OPENMP
#include <omp.h>
#endif

const char *const games_activation_names[] = {"relu", "abs", "sigmoid", "tanh", NULL};

const char *const games_family_names[] = {"random_fourier", "trig_2x2", "trig_singular",
                                          "cos_diff",       "quartic",  "quadratic_box",
                                          "max_margin_2nn", "dro_2nn",  NULL};

#define TWO_PI (2.0 * M_PI)
#define RF_BLOCKS 16

static size_t ipow(size_t b, size_t e) {
    size_t r = 1;
    while (e--)
        r *= b;
    return r;
}

ms_status games_payoff_init_family(games_payoff *p, games_family fam, size_t d, size_t e, size_t Kx,
                                   size_t Ky, double coef_std, unsigned long long seed, double beta,
                                   double gamma, double delta, double eps, ms_err *err) {
    memset(p, 0, sizeof *p);
    p->family = fam;
    p->beta = beta;
    p->gamma = gamma;
    p->delta = delta;
    p->eps = eps;
    p->d = fam == GAMES_FAM_RANDOM_FOURIER ? d : 1;
    p->e = fam == GAMES_FAM_RANDOM_FOURIER ? e : 1;
    p->scratch = 1;
    if (fam != GAMES_FAM_RANDOM_FOURIER)
        return MS_OK;
    double fx = pow(2.0 * (double)Kx + 1, (double)d), fy = pow(2.0 * (double)Ky + 1, (double)e);
    if (fx * fy > GAMES_RF_MAX_TERMS)
        return ms_fail(err, MS_ETOOBIG, "game/order_x",
                       "(2K+1)^d (2L+1)^e = %.0f Fourier terms, at most %d", fx * fy,
                       GAMES_RF_MAX_TERMS);
    p->Kx = Kx;
    p->Ky = Ky;
    p->Fx = ipow(2 * Kx + 1, d);
    p->Fy = ipow(2 * Ky + 1, e);
    p->C = ms_malloc(2 * p->Fx * p->Fy, sizeof(double));
    p->sx = ms_malloc(2 * p->Fx, sizeof(double));
    p->sy = ms_malloc(2 * p->Fy, sizeof(double));
    p->Csy = ms_malloc(2 * p->Fx, sizeof(double));
    p->Ctsx = ms_malloc(2 * p->Fy, sizeof(double));
    /* Feature sums over particles are split into a fixed number of blocks
     * (independent of the thread count, so the bits are too); fewer blocks
     * for very many features to bound the buffer. */
    size_t Fmax = p->Fx > p->Fy ? p->Fx : p->Fy;
    p->nblocks = RF_BLOCKS;
    while (p->nblocks > 1 && p->nblocks * 2 * Fmax > ((size_t)1 << 21))
        p->nblocks /= 2;
    p->part = ms_malloc(p->nblocks * 2 * Fmax, sizeof(double));
    if (!p->C || !p->sx || !p->sy || !p->Csy || !p->Ctsx || !p->part) {
        games_payoff_fini(p);
        return ms_fail(err, MS_ENOMEM, "game", "random Fourier coefficients");
    }
    ms_rng r;
    ms_rng_init(&r, seed, 0);
    for (size_t k = 0; k < 2 * p->Fx * p->Fy; k++)
        p->C[k] = coef_std * ms_rng_normal(&r);
    /* Scratch: per-coordinate exponentials for both players, the feature
     * vectors of one x and one y. */
    p->scratch = 2 * (d * (2 * Kx + 1) + e * (2 * Ky + 1)) + 2 * (p->Fx + p->Fy);
    return MS_OK;
}

ms_status games_payoff_init_expr(games_payoff *p, games_expr *ex, size_t d, size_t e) {
    memset(p, 0, sizeof *p);
    p->family = GAMES_FAM_EXPRESSION;
    p->expr = ex;
    p->d = d;
    p->e = e;
    p->scratch = games_expr_ws_size(ex);
    return MS_OK;
}

ms_status games_payoff_init_2nn(games_payoff *p, games_family fam, const double *data,
                                const double *labels, size_t N, size_t din, games_activation act,
                                int power, ms_err *err) {
    memset(p, 0, sizeof *p);
    p->family = fam;
    p->data = ms_malloc(N * din, sizeof(double));
    p->labels = ms_malloc(N, sizeof(double));
    if (!p->data || !p->labels) {
        games_payoff_fini(p);
        return ms_fail(err, MS_ENOMEM, "game/data", "copy of the data");
    }
    memcpy(p->data, data, N * din * sizeof(double));
    memcpy(p->labels, labels, N * sizeof(double));
    p->n_samples = N;
    p->din = din;
    p->act = act;
    p->power = power;
    p->d = fam == GAMES_FAM_DRO_2NN ? 1 + din : 1;
    p->e = din + 2;
    p->scratch = 1;
    return MS_OK;
}

void games_payoff_fini(games_payoff *p) {
    if (!p)
        return;
    ms_free(p->data);
    ms_free(p->labels);
    games_expr_free(p->expr);
    ms_free(p->C);
    ms_free(p->sx);
    ms_free(p->sy);
    ms_free(p->Csy);
    ms_free(p->Ctsx);
    ms_free(p->part);
    memset(p, 0, sizeof *p);
}

/* ---- random Fourier features ----------------------------------------- */

/* φ(z)_k = Π_c e^{2πi k_c z_c} for the multi-index k (digit c of k in base
 * 2K+1, shifted by −K), complex interleaved into phi (F entries); tmp holds
 * 2·dim·(2K+1) doubles. */
static void features(const double *z, size_t dim, size_t K, size_t F, double *phi, double *tmp) {
    size_t B = 2 * K + 1;
    for (size_t c = 0; c < dim; c++) {
        /* e^{2πikz} for k = 0..K by repeated products of e^{2πiz} (one sincos
         * per coordinate; error grows like k ulp, k ≤ 50), negative k by
         * conjugation. */
        double *e = tmp + 2 * c * B;
        double br = cos(TWO_PI * z[c]), bi = sin(TWO_PI * z[c]), re = 1, im = 0;
        for (size_t k = 0; k <= K; k++) {
            e[2 * (K + k)] = re;
            e[2 * (K + k) + 1] = im;
            e[2 * (K - k)] = re;
            e[2 * (K - k) + 1] = -im;
            double nr = re * br - im * bi;
            im = re * bi + im * br;
            re = nr;
        }
    }
    if (dim == 1) {
        memcpy(phi, tmp, 2 * F * sizeof(double));
        return;
    }
    for (size_t f = 0; f < F; f++) {
        double re = 1, im = 0;
        size_t idx = f;
        for (size_t c = 0; c < dim; c++) {
            size_t k = idx % B;
            idx /= B;
            double a = tmp[2 * (c * B + k)], b = tmp[2 * (c * B + k) + 1];
            double nr = re * a - im * b;
            im = re * b + im * a;
            re = nr;
        }
        phi[2 * f] = re;
        phi[2 * f + 1] = im;
    }
}

/* Re Σ_f φ_f s_f and the gradient −2π Σ_f k_{f,c} Im(φ_f s_f) per coordinate
 * (since ∂_c φ_f = 2πi k_{f,c} φ_f). */
static double feature_dot(const double *phi, const double *s, size_t dim, size_t K, size_t F,
                          double *grad) {
    size_t B = 2 * K + 1;
    double v = 0;
    for (size_t c = 0; grad && c < dim; c++)
        grad[c] = 0;
    for (size_t f = 0; f < F; f++) {
        double re = phi[2 * f] * s[2 * f] - phi[2 * f + 1] * s[2 * f + 1];
        double im = phi[2 * f] * s[2 * f + 1] + phi[2 * f + 1] * s[2 * f];
        v += re;
        if (grad) {
            size_t idx = f;
            for (size_t c = 0; c < dim; c++) {
                double k = (double)(idx % B) - (double)K;
                idx /= B;
                grad[c] -= TWO_PI * k * im;
            }
        }
    }
    return v;
}

/* out = C s (Fx) or Cᵀ s (Fy), complex, no conjugation. */
static void cmatvec(const double *C, size_t Fx, size_t Fy, const double *s, double *out, int t) {
    if (!t) {
        for (size_t k = 0; k < Fx; k++) {
            double re = 0, im = 0;
            const double *row = C + 2 * k * Fy;
            for (size_t l = 0; l < Fy; l++) {
                re += row[2 * l] * s[2 * l] - row[2 * l + 1] * s[2 * l + 1];
                im += row[2 * l] * s[2 * l + 1] + row[2 * l + 1] * s[2 * l];
            }
            out[2 * k] = re;
            out[2 * k + 1] = im;
        }
    } else {
        memset(out, 0, 2 * Fy * sizeof(double));
        for (size_t k = 0; k < Fx; k++) {
            const double *row = C + 2 * k * Fy;
            double sr = s[2 * k], si = s[2 * k + 1];
            for (size_t l = 0; l < Fy; l++) {
                out[2 * l] += row[2 * l] * sr - row[2 * l + 1] * si;
                out[2 * l + 1] += row[2 * l] * si + row[2 * l + 1] * sr;
            }
        }
    }
}

static int rf_eval(const games_payoff *p, const double *x, const double *y, double *f, double *gx,
                   double *gy, double *scratch) {
    size_t Fx = p->Fx, Fy = p->Fy;
    double *tmp = scratch, *phi = tmp + 2 * (p->d * (2 * p->Kx + 1) + p->e * (2 * p->Ky + 1));
    double *psi = phi + 2 * Fx;
    features(x, p->d, p->Kx, Fx, phi, tmp);
    features(y, p->e, p->Ky, Fy, psi, tmp);
    /* f = Re Σ_k φ_k (Cψ)_k; reuse tmp-free loops to stay allocation-free. */
    double v = 0, gxs[GAMES_EXPR_MAX_DIM] = {0}, gys[GAMES_EXPR_MAX_DIM] = {0};
    size_t Bx = 2 * p->Kx + 1, By = 2 * p->Ky + 1;
    for (size_t k = 0; k < Fx; k++)
        for (size_t l = 0; l < Fy; l++) {
            const double *c = p->C + 2 * (k * Fy + l);
            double pr = phi[2 * k] * psi[2 * l] - phi[2 * k + 1] * psi[2 * l + 1];
            double pi = phi[2 * k] * psi[2 * l + 1] + phi[2 * k + 1] * psi[2 * l];
            double re = c[0] * pr - c[1] * pi, im = c[0] * pi + c[1] * pr;
            v += re;
            size_t idx = k;
            for (size_t a = 0; a < p->d; a++) {
                gxs[a] -= TWO_PI * ((double)(idx % Bx) - (double)p->Kx) * im;
                idx /= Bx;
            }
            idx = l;
            for (size_t a = 0; a < p->e; a++) {
                gys[a] -= TWO_PI * ((double)(idx % By) - (double)p->Ky) * im;
                idx /= By;
            }
        }
    *f = v;
    if (gx)
        memcpy(gx, gxs, p->d * sizeof(double));
    if (gy)
        memcpy(gy, gys, p->e * sizeof(double));
    return isfinite(v) ? GAMES_EXPR_OK : GAMES_EXPR_NONFINITE;
}

/* ---- the one-dimensional families ------------------------------------ */

static int family_eval(const games_payoff *p, double x, double y, double *f, double *gx,
                       double *gy) {
    double v, dx, dy;
    switch (p->family) {
    case GAMES_FAM_TRIG_2X2: {
        double cx = cos(TWO_PI * x), sx = sin(TWO_PI * x), cy = cos(TWO_PI * y),
               sy = sin(TWO_PI * y);
        v = 0.25 + 0.75 * cx + 0.25 * cy + 1.75 * cx * cy + p->beta * (1 - cos(2 * TWO_PI * x)) -
            p->gamma * (1 - cos(2 * TWO_PI * y)) +
            p->delta * (sx * (cy + 3.0 / 7) + sy * (cx + 1.0 / 7));
        dx = TWO_PI * (-0.75 * sx - 1.75 * sx * cy + 2 * p->beta * sin(2 * TWO_PI * x) +
                       p->delta * (cx * (cy + 3.0 / 7) - sy * sx));
        dy = TWO_PI * (-0.25 * sy - 1.75 * cx * sy - 2 * p->gamma * sin(2 * TWO_PI * y) +
                       p->delta * (-sx * sy + cy * (cx + 1.0 / 7)));
        break;
    }
    case GAMES_FAM_TRIG_SINGULAR:
        v = sin(2 * TWO_PI * x) + sin(2 * TWO_PI * y) + 2 * cos(TWO_PI * (x + y));
        dx = 2 * TWO_PI * cos(2 * TWO_PI * x) - 2 * TWO_PI * sin(TWO_PI * (x + y));
        dy = 2 * TWO_PI * cos(2 * TWO_PI * y) - 2 * TWO_PI * sin(TWO_PI * (x + y));
        break;
    case GAMES_FAM_COS_DIFF:
        v = cos(TWO_PI * (x - y));
        dx = -TWO_PI * sin(TWO_PI * (x - y));
        dy = -dx;
        break;
    case GAMES_FAM_QUARTIC:
        v = x * y + p->eps * ((x * x * x * x / 4 - x * x / 2) - (y * y * y * y / 4 - y * y / 2));
        dx = y + p->eps * (x * x * x - x);
        dy = x - p->eps * (y * y * y - y);
        break;
    case GAMES_FAM_QUADRATIC_BOX:
        v = (x - y) * (x - y);
        dx = 2 * (x - y);
        dy = -dx;
        break;
    default:
        return GAMES_EXPR_NONFINITE;
    }
    *f = v;
    if (gx)
        *gx = dx;
    if (gy)
        *gy = dy;
    return isfinite(v) && isfinite(dx) && isfinite(dy) ? GAMES_EXPR_OK : GAMES_EXPR_NONFINITE;
}

/* σ and σ' of the network's activation. */
static double activation(const games_payoff *p, double z, double *ds) {
    switch ((games_activation)p->act) {
    case GAMES_ACT_RELU: {
        if (z <= 0) {
            *ds = 0;
            return 0;
        }
        double zp = 1;
        for (int k = 1; k < p->power; k++)
            zp *= z;
        *ds = p->power * zp;
        return zp * z;
    }
    case GAMES_ACT_ABS:
        *ds = z > 0 ? 1 : z < 0 ? -1 : 0;
        return fabs(z);
    case GAMES_ACT_SIGMOID: {
        double s = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
        *ds = s * (1 - s);
        return s;
    }
    case GAMES_ACT_TANH: {
        double t = tanh(z);
        *ds = 1 - t * t;
        return t;
    }
    }
    *ds = 0;
    return 0;
}

/* f = s·y_k·σ(θ·(x_k + u, 1)) with x = (k, u), y = (θ, s) (games.md §6.8). */
static int net_eval(const games_payoff *p, const double *x, const double *y, double *f, double *gx,
                    double *gy) {
    size_t din = p->din, k = (size_t)x[0];
    int dro = p->family == GAMES_FAM_DRO_2NN;
    const double *xk = p->data + k * din;
    double z = y[din]; /* bias: the appended 1 */
    for (size_t c = 0; c < din; c++)
        z += y[c] * (xk[c] + (dro ? x[1 + c] : 0));
    double ds, sg = p->labels[k] * (y[din + 1] >= 0 ? 1.0 : -1.0);
    *f = sg * activation(p, z, &ds);
    if (gx) {
        gx[0] = 0;
        for (size_t c = 0; dro && c < din; c++)
            gx[1 + c] = sg * ds * y[c];
    }
    if (gy) {
        for (size_t c = 0; c < din; c++)
            gy[c] = sg * ds * (xk[c] + (dro ? x[1 + c] : 0));
        gy[din] = sg * ds;
        gy[din + 1] = 0;
    }
    return isfinite(*f) ? GAMES_EXPR_OK : GAMES_EXPR_NONFINITE;
}

int games_payoff_eval(const games_payoff *p, const double *x, const double *y, double *f,
                      double *gx, double *gy, double *scratch) {
    if (p->family == GAMES_FAM_MAX_MARGIN_2NN || p->family == GAMES_FAM_DRO_2NN)
        return net_eval(p, x, y, f, gx, gy);
    if (p->family == GAMES_FAM_EXPRESSION)
        return games_expr_eval(p->expr, x, y, f, gx, gy, scratch);
    if (p->family == GAMES_FAM_RANDOM_FOURIER)
        return rf_eval(p, x, y, f, gx, gy, scratch);
    return family_eval(p, x[0], y[0], f, gx, gy);
}

/* ---- fields ---------------------------------------------------------- */

/* Threads for a loop of `items` of about `cost` flops each: entering an
 * OpenMP region costs a team start even with if(0), so small loops (the
 * best-response refinements evaluate one point at a time) stay serial. The
 * threshold, ~10^6 flops (~0.3 ms), is where a region pays on the 2-core
 * development VM: with 2·10^4 the separable random Fourier fields at
 * m = n = 1000 (6·10^4–10^5 flops per loop) ran 1.3-1.9x slower on two
 * threads than on one (bench/games.sh). */
static int threads_for(int nt, size_t items, size_t cost) {
    return nt > 1 && items > 1 && items * cost > 1000000 ? nt : 1;
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* U_i, G_i of one random Fourier atom x_i against C s_y. */
static void rf_row(const games_payoff *p, const double *xi, double *U, double *G, double *tmp) {
    size_t tmpn = 2 * (p->d * (2 * p->Kx + 1) + p->e * (2 * p->Ky + 1));
    double *phi = tmp + tmpn, gi[GAMES_EXPR_MAX_DIM];
    features(xi, p->d, p->Kx, p->Fx, phi, tmp);
    double u = feature_dot(phi, p->Csy, p->d, p->Kx, p->Fx, gi);
    if (U)
        *U = u;
    if (G)
        memcpy(G, gi, p->d * sizeof(double));
}

static void rf_col(const games_payoff *p, const double *yj, double *W, double *H, double *tmp) {
    size_t tmpn = 2 * (p->d * (2 * p->Kx + 1) + p->e * (2 * p->Ky + 1));
    double *psi = tmp + tmpn + 2 * p->Fx, hj[GAMES_EXPR_MAX_DIM];
    features(yj, p->e, p->Ky, p->Fy, psi, tmp);
    double w = feature_dot(psi, p->Ctsx, p->e, p->Ky, p->Fy, hj);
    if (W)
        *W = w;
    if (H)
        memcpy(H, hj, p->e * sizeof(double));
}

/* Partial sums of w_i feat(z_i) over block `blk` of the points. */
static void rf_block(const games_payoff *p, size_t blk, const double *z, const double *w, size_t n,
                     size_t dim, size_t K, size_t F, size_t off, double *tmp) {
    double *part = p->part + blk * 2 * F, *feat = tmp + off;
    size_t lo = blk * n / p->nblocks, hi = (blk + 1) * n / p->nblocks;
    memset(part, 0, 2 * F * sizeof(double));
    for (size_t i = lo; i < hi; i++) {
        features(z + i * dim, dim, K, F, feat, tmp);
        for (size_t k = 0; k < 2 * F; k++)
            part[k] += w[i] * feat[k];
    }
}

/* s = Σ_i w_i feat(z_i) (2F doubles), summed block by block in a fixed
 * order whatever the thread count; the feature vector of one point goes to
 * scratch + off (per thread). */
static void rf_sum(games_payoff *p, const double *z, const double *w, size_t n, size_t dim,
                   size_t K, size_t F, size_t off, double *s, double *scratch, int nt) {
    size_t S = p->scratch, nb = p->nblocks;
    int t = threads_for(nt, n, 8 * F);
    if (t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
        for (size_t blk = 0; blk < nb; blk++)
            rf_block(p, blk, z, w, n, dim, K, F, off, scratch + (size_t)thread_id() * S);
    } else {
        for (size_t blk = 0; blk < nb; blk++)
            rf_block(p, blk, z, w, n, dim, K, F, off, scratch);
    }
    memset(s, 0, 2 * F * sizeof(double));
    for (size_t blk = 0; blk < nb; blk++)
        for (size_t k = 0; k < 2 * F; k++)
            s[k] += p->part[blk * 2 * F + k];
}

static int rf_fields(games_payoff *p, const double *x, const double *a, size_t m, const double *y,
                     const double *b, size_t n, double *U, double *G, double *W, double *H,
                     double *scratch, int nt, size_t *bad) {
    size_t Fx = p->Fx, Fy = p->Fy, d = p->d, e = p->e, S = p->scratch;
    size_t tmpn = 2 * (d * (2 * p->Kx + 1) + e * (2 * p->Ky + 1));
    int rc = GAMES_EXPR_OK;
    if (U || G) {
        /* s_y = Σ_j b_j ψ(y_j), then C s_y. */
        rf_sum(p, y, b, n, e, p->Ky, Fy, tmpn + 2 * Fx, p->sy, scratch, nt);
        cmatvec(p->C, Fx, Fy, p->sy, p->Csy, 0);
        int t = threads_for(nt, m, 8 * Fx * (d + 1));
        if (t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
            for (size_t i = 0; i < m; i++)
                rf_row(p, x + i * d, U ? U + i : NULL, G ? G + i * d : NULL,
                       scratch + (size_t)thread_id() * S);
        } else {
            for (size_t i = 0; i < m; i++)
                rf_row(p, x + i * d, U ? U + i : NULL, G ? G + i * d : NULL, scratch);
        }
        for (size_t i = 0; i < m && rc == GAMES_EXPR_OK; i++)
            if (U && !isfinite(U[i])) {
                rc = GAMES_EXPR_NONFINITE;
                *bad = i;
            }
    }
    if (W || H) {
        rf_sum(p, x, a, m, d, p->Kx, Fx, tmpn, p->sx, scratch, nt);
        cmatvec(p->C, Fx, Fy, p->sx, p->Ctsx, 1);
        int t = threads_for(nt, n, 8 * Fy * (e + 1));
        if (t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
            for (size_t j = 0; j < n; j++)
                rf_col(p, y + j * e, W ? W + j : NULL, H ? H + j * e : NULL,
                       scratch + (size_t)thread_id() * S);
        } else {
            for (size_t j = 0; j < n; j++)
                rf_col(p, y + j * e, W ? W + j : NULL, H ? H + j * e : NULL, scratch);
        }
        for (size_t j = 0; j < n && rc == GAMES_EXPR_OK; j++)
            if (W && !isfinite(W[j])) {
                rc = GAMES_EXPR_NONFINITE;
                *bad = j;
            }
    }
    return rc;
}

/* U_i and G_i of a generic payoff; returns the outcome and, on failure, the
 * failing partner in *bad. */
static int generic_row(const games_payoff *p, const double *xi, const double *y, const double *b,
                       size_t n, double *U, double *G, double *sc, size_t *bad) {
    size_t d = p->d, e = p->e;
    double u = 0, g[GAMES_EXPR_MAX_DIM] = {0}, gx[GAMES_EXPR_MAX_DIM], f;
    int rc = GAMES_EXPR_OK;
    for (size_t j = 0; j < n; j++) {
        rc = games_payoff_eval(p, xi, y + j * e, &f, G ? gx : NULL, NULL, sc);
        if (rc != GAMES_EXPR_OK) {
            *bad = j;
            break;
        }
        u += b[j] * f;
        for (size_t c = 0; G && c < d; c++)
            g[c] += b[j] * gx[c];
    }
    if (U)
        *U = u;
    if (G)
        memcpy(G, g, d * sizeof(double));
    return rc;
}

static int generic_col(const games_payoff *p, const double *x, const double *a, size_t m,
                       const double *yj, double *W, double *H, double *sc, size_t *bad) {
    size_t d = p->d, e = p->e;
    double w = 0, h[GAMES_EXPR_MAX_DIM] = {0}, gy[GAMES_EXPR_MAX_DIM], f;
    int rc = GAMES_EXPR_OK;
    for (size_t i = 0; i < m; i++) {
        rc = games_payoff_eval(p, x + i * d, yj, &f, NULL, H ? gy : NULL, sc);
        if (rc != GAMES_EXPR_OK) {
            *bad = i;
            break;
        }
        w += a[i] * f;
        for (size_t c = 0; H && c < e; c++)
            h[c] += a[i] * gy[c];
    }
    if (W)
        *W = w;
    if (H)
        memcpy(H, h, e * sizeof(double));
    return rc;
}

int games_payoff_fields(games_payoff *p, const double *x, const double *a, size_t m,
                        const double *y, const double *b, size_t n, double *U, double *G, double *W,
                        double *H, double *scratch, const ms_ctx *ctx, size_t *bad_i,
                        size_t *bad_j) {
    int nt = ms_ctx_threads(ctx);
    size_t d = p->d, e = p->e, S = p->scratch;
    *bad_i = *bad_j = 0;
    if (p->family == GAMES_FAM_RANDOM_FOURIER) {
        size_t bad = 0;
        int rc = rf_fields(p, x, a, m, y, b, n, U, G, W, H, scratch, nt, &bad);
        *bad_i = bad;
        return rc;
    }
    /* Each row (column) records its own outcome; the lowest failing row
     * (column) is reported, so the answer does not depend on threads. */
    size_t cost = (p->expr ? games_expr_length(p->expr) : 20) * 4;
    if (U || G) {
        size_t first = m, partner = 0;
        int rc_first = GAMES_EXPR_OK;
        int t = threads_for(nt, m, n * cost);
        if (t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
            for (size_t i = 0; i < m; i++) {
                size_t bad = 0;
                int rc = generic_row(p, x + i * d, y, b, n, U ? U + i : NULL, G ? G + i * d : NULL,
                                     scratch + (size_t)thread_id() * S, &bad);
                if (rc != GAMES_EXPR_OK) {
#pragma omp critical(games_fields_err)
                    if (i < first) {
                        first = i;
                        partner = bad;
                        rc_first = rc;
                    }
                }
            }
        } else {
            for (size_t i = 0; i < m && first == m; i++) {
                size_t bad = 0;
                int rc = generic_row(p, x + i * d, y, b, n, U ? U + i : NULL, G ? G + i * d : NULL,
                                     scratch, &bad);
                if (rc != GAMES_EXPR_OK) {
                    first = i;
                    partner = bad;
                    rc_first = rc;
                }
            }
        }
        if (rc_first != GAMES_EXPR_OK) {
            *bad_i = first;
            *bad_j = partner;
            return rc_first;
        }
    }
    if (W || H) {
        size_t first = n, partner = 0;
        int rc_first = GAMES_EXPR_OK;
        int t = threads_for(nt, n, m * cost);
        if (t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
            for (size_t j = 0; j < n; j++) {
                size_t bad = 0;
                int rc = generic_col(p, x, a, m, y + j * e, W ? W + j : NULL, H ? H + j * e : NULL,
                                     scratch + (size_t)thread_id() * S, &bad);
                if (rc != GAMES_EXPR_OK) {
#pragma omp critical(games_fields_err)
                    if (j < first) {
                        first = j;
                        partner = bad;
                        rc_first = rc;
                    }
                }
            }
        } else {
            for (size_t j = 0; j < n && first == n; j++) {
                size_t bad = 0;
                int rc = generic_col(p, x, a, m, y + j * e, W ? W + j : NULL, H ? H + j * e : NULL,
                                     scratch, &bad);
                if (rc != GAMES_EXPR_OK) {
                    first = j;
                    partner = bad;
                    rc_first = rc;
                }
            }
        }
        if (rc_first != GAMES_EXPR_OK) {
            *bad_i = partner;
            *bad_j = first;
            return rc_first;
        }
    }
    return GAMES_EXPR_OK;
}

/* Rows lo..hi of the one-pass fields: U_i, G_i, and this block's partial
 * W, H (wh: n × (1 + e), W_j first then H_j). Returns the outcome; on
 * failure *bi, *bj name the pair. */
static int both_block(const games_payoff *p, const double *x, const double *a, size_t lo, size_t hi,
                      const double *y, const double *b, size_t n, double *U, double *G, double *wh,
                      double *sc, size_t *bi, size_t *bj) {
    size_t d = p->d, e = p->e, s = 1 + e;
    memset(wh, 0, n * s * sizeof(double));
    for (size_t i = lo; i < hi; i++) {
        double u = 0, g[GAMES_EXPR_MAX_DIM] = {0}, gx[GAMES_EXPR_MAX_DIM], gy[GAMES_EXPR_MAX_DIM],
               f;
        for (size_t j = 0; j < n; j++) {
            int rc = games_payoff_eval(p, x + i * d, y + j * e, &f, gx, gy, sc);
            if (rc != GAMES_EXPR_OK) {
                *bi = i;
                *bj = j;
                return rc;
            }
            u += b[j] * f;
            for (size_t c = 0; c < d; c++)
                g[c] += b[j] * gx[c];
            double *w = wh + j * s;
            w[0] += a[i] * f;
            for (size_t c = 0; c < e; c++)
                w[1 + c] += a[i] * gy[c];
        }
        U[i] = u;
        memcpy(G + i * d, g, d * sizeof(double));
    }
    return GAMES_EXPR_OK;
}

int games_payoff_fields_both(games_payoff *p, const double *x, const double *a, size_t m,
                             const double *y, const double *b, size_t n, double *U, double *G,
                             double *W, double *H, double *part, double *scratch, const ms_ctx *ctx,
                             size_t *bad_i, size_t *bad_j) {
    size_t e = p->e, s = 1 + e, S = p->scratch, nb = GAMES_FIELD_BLOCKS;
    int rcs[GAMES_FIELD_BLOCKS];
    size_t bis[GAMES_FIELD_BLOCKS], bjs[GAMES_FIELD_BLOCKS];
    size_t cost = (p->expr ? games_expr_length(p->expr) : 20) * 8;
    int t = threads_for(ms_ctx_threads(ctx), m, n * cost);
    if (t > 1) {
#pragma omp parallel for num_threads(t) schedule(static)
        for (size_t blk = 0; blk < nb; blk++)
            rcs[blk] = both_block(p, x, a, blk * m / nb, (blk + 1) * m / nb, y, b, n, U, G,
                                  part + blk * n * s, scratch + (size_t)thread_id() * S, &bis[blk],
                                  &bjs[blk]);
    } else {
        for (size_t blk = 0; blk < nb; blk++)
            rcs[blk] = both_block(p, x, a, blk * m / nb, (blk + 1) * m / nb, y, b, n, U, G,
                                  part + blk * n * s, scratch, &bis[blk], &bjs[blk]);
    }
    for (size_t blk = 0; blk < nb; blk++)
        if (rcs[blk] != GAMES_EXPR_OK) {
            *bad_i = bis[blk];
            *bad_j = bjs[blk];
            return rcs[blk];
        }
    for (size_t j = 0; j < n; j++) {
        double w = 0, hj[GAMES_EXPR_MAX_DIM] = {0};
        for (size_t blk = 0; blk < nb; blk++) {
            const double *q = part + (blk * n + j) * s;
            w += q[0];
            for (size_t c = 0; c < e; c++)
                hj[c] += q[1 + c];
        }
        W[j] = w;
        memcpy(H + j * e, hj, e * sizeof(double));
    }
    return GAMES_EXPR_OK;
}
