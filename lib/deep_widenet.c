/* deep_widenet.c — finite-width mean-field linear networks and their limit
 * ODEs. See deep_widenet.h and spec deep-networks.md §3.2–3.3.
 *
 * Finite width, L = 2 (all from old values):
 *   β = Uᵀv/N, g = Σβ − c;  u_i −= η v_i g,  v_i −= η u_iᵀg.
 * L = 3: A = WU/N (rows A_i), z = Wᵀv/N, β = Aᵀv/N;
 *   u_j −= η z_j g,  v_i −= η A_iᵀg,  W_ij −= η v_i (u_jᵀg).
 * These are GD on R with learning rates ηN (u, v) and ηN² (W): the
 * mean-field scaling under which t = ηk has a limit as N → ∞.
 */
#include "deep_widenet.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "deep_internal.h"
#include "ms_alloc.h"

void deep_widenet_free(deep_widenet *net) {
    if (!net)
        return;
    double *bufs[] = {net->U,    net->v,   net->W,     net->U0, net->v0, net->W0,
                      net->beta, net->y,   net->ybeta, net->Ug, net->Ag, net->z,
                      net->A,    net->g,   net->k1,    net->k2, net->k3, net->k4,
                      net->ytmp, net->dd1, net->dd2,   net->e};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        ms_free(bufs[i]);
    ms_free(net);
}

/* Initial limit state: C = diag(σ_u² I, σ_v²) for L = 2; B = I, m = 0,
 * ν = 1 for L = 3. */
static void limit_init(deep_widenet *net) {
    const size_t d = net->d;
    memset(net->y, 0, deep_widenet_state_size(d) * sizeof *net->y);
    for (size_t i = 0; i < d; i++)
        net->y[i * d + i] = net->depth == 2 ? net->su2 : 1.0;
    net->y[d * d + d] = net->depth == 2 ? net->sv2 : 1.0;
    deep_widenet_limit_beta(net, net->y, net->ybeta);
}

deep_widenet *deep_widenet_alloc(size_t depth, size_t N, size_t d, double sigma_u, double sigma_v,
                                 double sigma_w, const double *sigma, const double *c, double yy,
                                 int keep_init, ms_rng *rng, ms_err *err) {
    if ((depth != 2 && depth != 3) || N == 0 || d == 0) {
        ms_fail(err, MS_EINVAL, "depth", "wide linear networks have depth 2 or 3 and N, d ≥ 1");
        return NULL;
    }
    deep_widenet *net = ms_calloc(1, sizeof *net);
    if (!net)
        goto oom;
    *net = (deep_widenet){.depth = depth,
                          .N = N,
                          .d = d,
                          .su2 = sigma_u * sigma_u,
                          .sv2 = sigma_v * sigma_v,
                          .sw2 = sigma_w * sigma_w,
                          .sigma = sigma,
                          .c = c,
                          .yy = yy};
    const size_t S = deep_widenet_state_size(d), NN = depth == 3 ? N * N : 0;
    net->U = ms_malloc(N * d, sizeof(double));
    net->v = ms_malloc(N, sizeof(double));
    net->beta = ms_malloc(d, sizeof(double));
    net->y = ms_malloc(S, sizeof(double));
    net->ybeta = ms_malloc(d, sizeof(double));
    net->Ug = ms_malloc(N, sizeof(double));
    net->Ag = ms_malloc(N, sizeof(double));
    net->z = ms_malloc(N, sizeof(double));
    net->g = ms_malloc(d, sizeof(double));
    net->k1 = ms_malloc(S, sizeof(double));
    net->k2 = ms_malloc(S, sizeof(double));
    net->k3 = ms_malloc(S, sizeof(double));
    net->k4 = ms_malloc(S, sizeof(double));
    net->ytmp = ms_malloc(S, sizeof(double));
    net->dd1 = ms_malloc(S, sizeof(double));
    net->dd2 = ms_malloc(S, sizeof(double));
    net->e = ms_malloc(d, sizeof(double));
    if (!net->U || !net->v || !net->beta || !net->y || !net->ybeta || !net->Ug || !net->Ag ||
        !net->z || !net->g || !net->k1 || !net->k2 || !net->k3 || !net->k4 || !net->ytmp ||
        !net->dd1 || !net->dd2 || !net->e)
        goto oom;
    if (depth == 3) {
        net->W = ms_malloc(NN, sizeof(double));
        net->A = ms_malloc(N * d, sizeof(double));
        if (!net->W || !net->A)
            goto oom;
    }
    if (keep_init) {
        net->U0 = ms_malloc(N * d, sizeof(double));
        net->v0 = ms_malloc(N, sizeof(double));
        net->W0 = depth == 3 ? ms_malloc(NN, sizeof(double)) : NULL;
        if (!net->U0 || !net->v0 || (depth == 3 && !net->W0))
            goto oom;
    }
    ms_rng_normals(rng, net->U, N * d);
    cblas_dscal((int)(N * d), sigma_u, net->U, 1);
    ms_rng_normals(rng, net->v, N);
    cblas_dscal((int)N, sigma_v, net->v, 1);
    if (depth == 3) {
        ms_rng_normals(rng, net->W, NN);
        for (size_t i = 0; i < NN; i++)
            net->W[i] *= sigma_w;
    }
    if (keep_init) {
        memcpy(net->U0, net->U, N * d * sizeof(double));
        memcpy(net->v0, net->v, N * sizeof(double));
        if (depth == 3)
            memcpy(net->W0, net->W, NN * sizeof(double));
    }
    limit_init(net);
    return net;
oom:
    deep_widenet_free(net);
    ms_fail(err, MS_ENOMEM, "width", "wide network of width %zu (depth %zu)", N, depth);
    return NULL;
}

void deep_widenet_set_reference(deep_widenet *net, const double *beta_ref, double r_ref) {
    net->bref = beta_ref;
    net->rref = r_ref;
}

double deep_widenet_loss(const deep_widenet *net, const double *beta) {
    const size_t d = net->d;
    double q = 0;
    if (net->bref) {
        for (size_t i = 0; i < d; i++)
            net->e[i] = beta[i] - net->bref[i];
        for (size_t i = 0; i < d; i++)
            q += net->e[i] * cblas_ddot((int)d, net->sigma + i * d, 1, net->e, 1);
        return net->rref + 0.5 * q;
    }
    for (size_t i = 0; i < d; i++)
        q += beta[i] * (0.5 * cblas_ddot((int)d, net->sigma + i * d, 1, beta, 1) - net->c[i]);
    return q + 0.5 * net->yy;
}

/* g = Σβ − c. */
static void residual_gradient(const deep_widenet *net, const double *beta, double *g) {
    const size_t d = net->d;
    memcpy(g, net->c, d * sizeof *g);
    cblas_dsymv(CblasRowMajor, CblasUpper, (int)d, 1.0, net->sigma, (int)d, beta, 1, -1.0, g, 1);
}

double deep_widenet_predict(deep_widenet *net, int nt) {
    const size_t N = net->N, d = net->d;
    const double invN = 1.0 / (double)N;
    if (net->depth == 2) {
        deep__gemv(CblasTrans, d, N, invN, net->U, d, net->v, 0.0, net->beta);
    } else {
        deep__gemm(nt, CblasNoTrans, CblasNoTrans, N, d, N, invN, net->W, N, net->U, d, 0.0, net->A,
                   d);
        deep__gemv(CblasTrans, N, N, invN, net->W, N, net->v, 0.0, net->z);
        deep__gemv(CblasTrans, d, N, invN, net->A, d, net->v, 0.0, net->beta);
    }
    return deep_widenet_loss(net, net->beta);
}

void deep_widenet_step(deep_widenet *net, double eta, int nt) {
    const size_t N = net->N, d = net->d;
    residual_gradient(net, net->beta, net->g);
    deep__gemv(CblasNoTrans, N, d, 1.0, net->U, d, net->g, 0.0, net->Ug);
    if (net->depth == 2) {
        cblas_dger(CblasRowMajor, (int)N, (int)d, -eta, net->v, 1, net->g, 1, net->U, (int)d);
        cblas_daxpy((int)N, -eta, net->Ug, 1, net->v, 1);
        return;
    }
    deep__gemv(CblasNoTrans, N, d, 1.0, net->A, d, net->g, 0.0, net->Ag);
    /* W first: its update reads the old v. */
    deep__ger(nt, N, N, -eta, net->v, net->Ug, net->W, N);
    cblas_dger(CblasRowMajor, (int)N, (int)d, -eta, net->z, 1, net->g, 1, net->U, (int)d);
    cblas_daxpy((int)N, -eta, net->Ag, 1, net->v, 1);
}

void deep_widenet_limit_beta(const deep_widenet *net, const double *y, double *beta) {
    const size_t d = net->d;
    if (net->depth == 2) {
        memcpy(beta, y + d * d, d * sizeof *beta); /* β = C_uv */
        return;
    }
    /* β = σ_u²σ_v² ν B m */
    deep__gemv(CblasNoTrans, d, d, net->su2 * net->sv2 * y[d * d + d], y, d, y + d * d, 0.0, beta);
}

void deep_widenet_limit_rhs(deep_widenet *net, const double *y, double *dy) {
    const size_t d = net->d;
    double *beta = net->dd1, *g = net->dd2;
    deep_widenet_limit_beta(net, y, beta);
    residual_gradient(net, beta, g);
    const double *M = y, *vec = y + d * d, sc = y[d * d + d];
    double *dM = dy, *dvec = dy + d * d;
    if (net->depth == 2) {
        /* M = C_uu, vec = C_uv, sc = C_vv. */
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                dM[i * d + j] = -(g[i] * vec[j] + vec[i] * g[j]);
        deep__gemv(CblasNoTrans, d, d, -1.0, M, d, g, 0.0, dvec);
        cblas_daxpy((int)d, -sc, g, 1, dvec, 1);
        dy[d * d + d] = -2 * cblas_ddot((int)d, g, 1, vec, 1);
        return;
    }
    /* M = B, vec = m, sc = ν. Bm goes in beta's buffer (β is no longer needed). */
    double *Bm = beta;
    deep__gemv(CblasNoTrans, d, d, 1.0, M, d, vec, 0.0, Bm);
    deep__gemv(CblasTrans, d, d, -sc, M, d, g, 0.0, dvec);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            dM[i * d + j] = -net->sv2 * sc * g[i] * vec[j];
    dy[d * d + d] = -net->su2 * cblas_ddot((int)d, g, 1, Bm, 1);
}

double deep_widenet_limit_advance(deep_widenet *net, double dt, int rk4) {
    const int S = (int)deep_widenet_state_size(net->d);
    double *y = net->y;
    deep_widenet_limit_rhs(net, y, net->k1);
    if (!rk4) {
        cblas_daxpy(S, dt, net->k1, 1, y, 1);
    } else {
        double *k[4] = {net->k1, net->k2, net->k3, net->k4};
        static const double c[4] = {0, 0.5, 0.5, 1};
        for (int i = 1; i < 4; i++) {
            cblas_dcopy(S, y, 1, net->ytmp, 1);
            cblas_daxpy(S, c[i] * dt, k[i - 1], 1, net->ytmp, 1);
            deep_widenet_limit_rhs(net, net->ytmp, k[i]);
        }
        cblas_daxpy(S, dt / 6, net->k1, 1, y, 1);
        cblas_daxpy(S, dt / 3, net->k2, 1, y, 1);
        cblas_daxpy(S, dt / 3, net->k3, 1, y, 1);
        cblas_daxpy(S, dt / 6, net->k4, 1, y, 1);
    }
    deep_widenet_limit_beta(net, y, net->ybeta);
    return deep_widenet_loss(net, net->ybeta);
}

double deep_widenet_invariant2(const deep_widenet *net) {
    const size_t d = net->d;
    double tr = 0;
    for (size_t i = 0; i < d; i++)
        tr += net->y[i * d + i];
    return tr - net->y[d * d + d];
}

double deep_widenet_law2(deep_widenet *net) {
    const size_t N = net->N, d = net->d;
    const double invN = 1.0 / (double)N;
    /* Ĉ_uu = UᵀU/N into k1 (d×d upper), Ĉ_uv = Uᵀv/N, Ĉ_vv = ‖v‖²/N. */
    double *Cuu = net->k1, *Cuv = net->k2;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)N, invN, net->U, (int)d, 0.0,
                Cuu, (int)d);
    deep__gemv(CblasTrans, d, N, invN, net->U, d, net->v, 0.0, Cuv);
    double cvv = cblas_ddot((int)N, net->v, 1, net->v, 1) * invN, e = 0;
    const double *y = net->y;
    for (size_t i = 0; i < d; i++)
        for (size_t j = i; j < d; j++) {
            double t = Cuu[i * d + j] - y[i * d + j];
            e += (i == j ? 1 : 2) * t * t;
        }
    for (size_t i = 0; i < d; i++)
        e += 2 * (Cuv[i] - y[d * d + i]) * (Cuv[i] - y[d * d + i]);
    e += (cvv - y[d * d + d]) * (cvv - y[d * d + d]);
    return sqrt(e);
}

ms_status deep_widenet_law3(deep_widenet *net, double *e_nu, double *e_B, double *e_m,
                            ms_err *err) {
    const size_t N = net->N, d = net->d;
    if (net->depth != 3 || !net->U0)
        return ms_fail(err, MS_EINVAL, "depth", "law fits need depth 3 and the initial weights");
    const double *y = net->y;
    double v0n = cblas_ddot((int)N, net->v0, 1, net->v0, 1);
    double nu_hat = cblas_ddot((int)N, net->v, 1, net->v0, 1) / v0n;
    /* G = U0ᵀU0 (k1), right-hand sides [R | r] column-major in k2:
     * R = U0ᵀU (stored as the row-major UᵀU0), r = U0ᵀ(W − W0)ᵀv0 / ‖v0‖². */
    double *G = net->k1, *rhs = net->k2, *q = net->Ag;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)N, 1.0, net->U0,
                (int)d, net->U0, (int)d, 0.0, G, (int)d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)N, 1.0, net->U,
                (int)d, net->U0, (int)d, 0.0, rhs, (int)d);
    deep__gemv(CblasTrans, N, N, 1.0 / v0n, net->W, N, net->v0, 0.0, q);
    deep__gemv(CblasTrans, N, N, -1.0 / v0n, net->W0, N, net->v0, 1.0, q);
    deep__gemv(CblasTrans, d, N, 1.0, net->U0, d, q, 0.0, rhs + d * d);
    if (LAPACKE_dposv_work(LAPACK_COL_MAJOR, 'U', (int)d, (int)(d + 1), G, (int)d, rhs, (int)d) !=
        0)
        return ms_fail(err, MS_ENUMERIC, "", "U(0)ᵀU(0) is not positive definite (width < d?)");
    /* rhs now holds B̂ᵀ column-major = B̂ row-major, then m̂. */
    double eb = 0, em = 0;
    for (size_t i = 0; i < d * d; i++)
        eb += (rhs[i] - y[i]) * (rhs[i] - y[i]);
    for (size_t i = 0; i < d; i++)
        em += (rhs[d * d + i] - y[d * d + i]) * (rhs[d * d + i] - y[d * d + i]);
    *e_nu = fabs(nu_hat - y[d * d + d]);
    *e_B = sqrt(eb);
    *e_m = sqrt(em);
    return MS_OK;
}
