/* deep_mlp.c — batch forward, backward, JVP and R-operator HVP of ReLU MLPs
 * and ResNets. See deep_mlp.h and spec deep-networks.md §1.2–1.3, §4.6.
 *
 * One recursion covers both architectures, with skip = 1 and c_k = β for
 * the ResNet and skip = 0, c_k = 1 for the MLP (k = 2..L−1):
 *   h_k = skip·h_{k-1} + c_k W_k a_{k-1},  a_k = φ(h_k);
 *   g_{k-1} = skip·g_k + φ'(h_{k-1}) ⊙ (c_k W_kᵀ g_k),  ∇W_k = c_k g_k a_{k-1}ᵀ;
 * readout f = α W_L a_{L-1}, e = ∂L/∂f = (f − y)/B, g_{L-1} = φ'(h_{L-1}) ⊙ (α W_Lᵀ e),
 * ∇W_L = α e a_{L-1}ᵀ, ∇W_1 = g_1 xᵀ. The R-operator differentiates each line
 * along V (φ'' = 0): R{h_k} = skip·R{h_{k-1}} + c_k(V_k a_{k-1} + W_k R{a_{k-1}}),
 * R{a} = φ'(h) ⊙ R{h}; R{g_{k-1}} = skip·R{g_k} + φ' ⊙ c_k(V_kᵀ g_k + W_kᵀ R{g_k}),
 * (Hv)_k = c_k(R{g_k} a_{k-1}ᵀ + g_k R{a_{k-1}}ᵀ).
 */
#include "deep_mlp.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "deep_internal.h"
#include "ms_alloc.h"

void deep_mlp_free(deep_mlp *net) {
    if (!net)
        return;
    double *b[] = {net->X, net->Y, net->H,  net->A,  net->F,  net->Hp, net->Ap,  net->Fp,
                   net->E, net->G, net->RH, net->RF, net->RG, net->RE, net->tmp, net->tmp2};
    for (size_t i = 0; i < sizeof b / sizeof *b; i++)
        ms_free(b[i]);
    ms_free(net->off);
    ms_free(net);
}

size_t deep_mlp_rows(const deep_mlp *net, size_t k) {
    return k == net->L ? net->dout : net->n;
}

size_t deep_mlp_cols(const deep_mlp *net, size_t k) {
    return k == 1 ? net->d : net->n;
}

deep_mlp *deep_mlp_alloc(size_t L, size_t d, size_t n, size_t dout, size_t B, int resnet, int relu,
                         int with_hvp, ms_err *err) {
    if (L < 2 || d == 0 || n == 0 || dout == 0 || B == 0) {
        ms_fail(err, MS_EINVAL, "depth", "an MLP needs depth ≥ 2 and non-empty layers");
        return NULL;
    }
    deep_mlp *net = ms_calloc(1, sizeof *net);
    if (!net)
        goto oom;
    net->L = L, net->d = d, net->n = n, net->dout = dout, net->B = B;
    net->resnet = resnet, net->relu = relu, net->beta = 1, net->alpha = 1;
    net->off = ms_malloc(L + 1, sizeof *net->off);
    if (!net->off)
        goto oom;
    size_t p = 0;
    for (size_t k = 1; k <= L; k++) {
        net->off[k - 1] = p;
        p += deep_mlp_rows(net, k) * deep_mlp_cols(net, k);
    }
    net->off[L] = net->nparams = p;
    const size_t hb = (L - 1) * n * B, fb = dout * B;
    net->X = ms_malloc(d * B, sizeof(double));
    net->Y = ms_malloc(fb, sizeof(double));
    net->H = ms_malloc(hb, sizeof(double));
    net->A = ms_malloc(hb, sizeof(double));
    net->Hp = ms_malloc(hb, sizeof(double));
    net->Ap = ms_malloc(hb, sizeof(double));
    net->G = ms_malloc(hb, sizeof(double));
    net->RH = ms_malloc(hb, sizeof(double));
    net->F = ms_malloc(fb, sizeof(double));
    net->Fp = ms_malloc(fb, sizeof(double));
    net->E = ms_malloc(fb, sizeof(double));
    net->RF = ms_malloc(fb, sizeof(double));
    net->tmp = ms_malloc(n * B, sizeof(double));
    net->tmp2 = ms_malloc(n * B, sizeof(double));
    if (!net->X || !net->Y || !net->H || !net->A || !net->Hp || !net->Ap || !net->G || !net->RH ||
        !net->F || !net->Fp || !net->E || !net->RF || !net->tmp || !net->tmp2)
        goto oom;
    if (with_hvp) {
        net->RG = ms_malloc(hb, sizeof(double));
        net->RE = ms_malloc(fb, sizeof(double));
        if (!net->RG || !net->RE)
            goto oom;
    }
    return net;
oom:
    deep_mlp_free(net);
    ms_fail(err, MS_ENOMEM, "width", "network workspace (depth %zu, width %zu, batch %zu)", L, n,
            B);
    return NULL;
}

void deep_mlp_set_batch(deep_mlp *net, const double *X, const double *Y) {
    for (size_t i = 0; i < net->B; i++) {
        for (size_t j = 0; j < net->d; j++)
            net->X[j * net->B + i] = X[i * net->d + j];
        for (size_t j = 0; j < net->dout; j++)
            net->Y[j * net->B + i] = Y[i * net->dout + j];
    }
}

void deep_mlp_swap(deep_mlp *net) {
    double *t = net->H;
    net->H = net->Hp, net->Hp = t;
    t = net->A, net->A = net->Ap, net->Ap = t;
    t = net->F, net->F = net->Fp, net->Fp = t;
}

static const double *layer(const deep_mlp *net, const double *theta, size_t k) {
    return theta + net->off[k - 1];
}

/* Branch coefficient of W_k in its layer (k = 1..L). */
static double coef(const deep_mlp *net, size_t k) {
    if (k == net->L)
        return net->alpha;
    return k >= 2 && net->resnet ? net->beta : 1.0;
}

/* Input of layer k: x for k = 1, else a_{k-1}. */
static const double *input(const deep_mlp *net, const double *A, size_t k) {
    return k == 1 ? net->X : A + (k - 2) * net->n * net->B;
}

/* out = φ'(h) ⊙ in (out may alias in). */
static void mask(const deep_mlp *net, const double *h, const double *in, double *out, size_t m) {
    if (!net->relu) {
        if (out != in)
            memcpy(out, in, m * sizeof *out);
        return;
    }
    for (size_t i = 0; i < m; i++)
        out[i] = h[i] > 0 ? in[i] : 0.0;
}

/* out (rows(k) × B) = beta_out·out + c·W_k·in. */
static void apply_layer(const deep_mlp *net, const double *W, size_t k, const double *in, double c,
                        double beta_out, double *out, int nt) {
    deep__gemm(nt, CblasNoTrans, CblasNoTrans, deep_mlp_rows(net, k), net->B, deep_mlp_cols(net, k),
               c, W, deep_mlp_cols(net, k), in, net->B, beta_out, out, net->B);
}

double deep_mlp_forward(deep_mlp *net, double *theta, int normalise, int nt) {
    const size_t L = net->L, nB = net->n * net->B;
    for (size_t k = 1; k < L; k++) {
        double *Hk = deep_mlp_block(net, net->H, k), *Ak = deep_mlp_block(net, net->A, k);
        double *W = theta + net->off[k - 1];
        if (k >= 2 && net->resnet)
            memcpy(Hk, Hk - nB, nB * sizeof *Hk);
        int skip = k >= 2 && net->resnet;
        apply_layer(net, W, k, input(net, net->A, k), coef(net, k), skip ? 1.0 : 0.0, Hk, nt);
        if (normalise && (k == 1 || !net->resnet)) {
            /* §4.4 step 1: ‖h_k‖_rms = 1 (h_k is linear in W_k here). */
            double rms = cblas_dnrm2((int)nB, Hk, 1) / sqrt((double)nB);
            if (rms > 0) {
                size_t m = deep_mlp_rows(net, k) * deep_mlp_cols(net, k);
                cblas_dscal((int)m, 1.0 / rms, W, 1);
                cblas_dscal((int)nB, 1.0 / rms, Hk, 1);
            }
        }
        if (net->relu)
            for (size_t i = 0; i < nB; i++)
                Ak[i] = Hk[i] > 0 ? Hk[i] : 0.0;
        else
            memcpy(Ak, Hk, nB * sizeof *Ak);
    }
    apply_layer(net, layer(net, theta, L), L, input(net, net->A, L), net->alpha, 0.0, net->F, nt);
    double loss = 0;
    for (size_t i = 0; i < net->dout * net->B; i++)
        loss += 0.5 * (net->F[i] - net->Y[i]) * (net->F[i] - net->Y[i]);
    return loss / (double)net->B;
}

/* grad_k (rows × cols) = c·D·inᵀ with D rows × B. */
static void outer(const deep_mlp *net, size_t k, double c, const double *D, const double *in,
                  double beta_out, double *grad, int nt) {
    deep__gemm(nt, CblasNoTrans, CblasTrans, deep_mlp_rows(net, k), deep_mlp_cols(net, k), net->B,
               c, D, net->B, in, net->B, beta_out, grad, deep_mlp_cols(net, k));
}

/* out (cols(k) × B) = c·W_kᵀ·D + beta_out·out. */
static void apply_transpose(const deep_mlp *net, const double *W, size_t k, const double *D,
                            double c, double beta_out, double *out, int nt) {
    deep__gemm(nt, CblasTrans, CblasNoTrans, deep_mlp_cols(net, k), net->B, deep_mlp_rows(net, k),
               c, W, deep_mlp_cols(net, k), D, net->B, beta_out, out, net->B);
}

void deep_mlp_backward(deep_mlp *net, const double *theta, double *grad, int nt) {
    const size_t L = net->L, nB = net->n * net->B;
    for (size_t i = 0; i < net->dout * net->B; i++)
        net->E[i] = (net->F[i] - net->Y[i]) / (double)net->B;
    outer(net, L, net->alpha, net->E, input(net, net->A, L), 0.0, grad + net->off[L - 1], nt);
    apply_transpose(net, layer(net, theta, L), L, net->E, net->alpha, 0.0, net->tmp, nt);
    mask(net, deep_mlp_block(net, net->H, L - 1), net->tmp, deep_mlp_block(net, net->G, L - 1), nB);
    for (size_t k = L - 1; k >= 2; k--) {
        const double *Gk = deep_mlp_block(net, net->G, k);
        double *Gm = deep_mlp_block(net, net->G, k - 1);
        outer(net, k, coef(net, k), Gk, input(net, net->A, k), 0.0, grad + net->off[k - 1], nt);
        apply_transpose(net, layer(net, theta, k), k, Gk, coef(net, k), 0.0, net->tmp, nt);
        mask(net, deep_mlp_block(net, net->H, k - 1), net->tmp, Gm, nB);
        if (net->resnet)
            cblas_daxpy((int)nB, 1.0, Gk, 1, Gm, 1);
    }
    outer(net, 1, 1.0, net->G, net->X, 0.0, grad, nt);
}

void deep_mlp_jvp(deep_mlp *net, const double *theta, const double *V, const double *s, int nt) {
    const size_t L = net->L, nB = net->n * net->B;
    for (size_t k = 1; k <= L; k++) {
        double sk = s ? s[k - 1] : 1.0, c = coef(net, k);
        double *out = k < L ? deep_mlp_block(net, net->RH, k) : net->RF;
        int skip = k >= 2 && k < L && net->resnet;
        if (skip)
            memcpy(out, out - nB, nB * sizeof *out);
        apply_layer(net, layer(net, V, k), k, input(net, net->A, k), c * sk, skip ? 1.0 : 0.0, out,
                    nt);
        if (k >= 2) { /* + c·W_k R{a_{k-1}} */
            mask(net, deep_mlp_block(net, net->H, k - 1), deep_mlp_block(net, net->RH, k - 1),
                 net->tmp, nB);
            apply_layer(net, layer(net, theta, k), k, net->tmp, c, 1.0, out, nt);
        }
    }
}

void deep_mlp_hvp(deep_mlp *net, const double *theta, const double *v, double *hv, int nt) {
    const size_t L = net->L, nB = net->n * net->B;
    deep_mlp_jvp(net, theta, v, NULL, nt);
    for (size_t i = 0; i < net->dout * net->B; i++)
        net->RE[i] = net->RF[i] / (double)net->B;
    /* Readout: (Hv)_L = α(R{e} a_{L-1}ᵀ + e R{a_{L-1}}ᵀ). */
    double *tmp = net->tmp, *tmp2 = net->tmp2;
    mask(net, deep_mlp_block(net, net->H, L - 1), deep_mlp_block(net, net->RH, L - 1), tmp, nB);
    outer(net, L, net->alpha, net->RE, input(net, net->A, L), 0.0, hv + net->off[L - 1], nt);
    outer(net, L, net->alpha, net->E, tmp, 1.0, hv + net->off[L - 1], nt);
    apply_transpose(net, layer(net, v, L), L, net->E, net->alpha, 0.0, tmp2, nt);
    apply_transpose(net, layer(net, theta, L), L, net->RE, net->alpha, 1.0, tmp2, nt);
    mask(net, deep_mlp_block(net, net->H, L - 1), tmp2, deep_mlp_block(net, net->RG, L - 1), nB);
    for (size_t k = L - 1; k >= 2; k--) {
        const double c = coef(net, k);
        const double *Gk = deep_mlp_block(net, net->G, k), *RGk = deep_mlp_block(net, net->RG, k);
        double *RGm = deep_mlp_block(net, net->RG, k - 1), *hk = hv + net->off[k - 1];
        mask(net, deep_mlp_block(net, net->H, k - 1), deep_mlp_block(net, net->RH, k - 1), tmp, nB);
        outer(net, k, c, RGk, input(net, net->A, k), 0.0, hk, nt);
        outer(net, k, c, Gk, tmp, 1.0, hk, nt);
        apply_transpose(net, layer(net, v, k), k, Gk, c, 0.0, tmp2, nt);
        apply_transpose(net, layer(net, theta, k), k, RGk, c, 1.0, tmp2, nt);
        mask(net, deep_mlp_block(net, net->H, k - 1), tmp2, RGm, nB);
        if (net->resnet)
            cblas_daxpy((int)nB, 1.0, RGk, 1, RGm, 1);
    }
    outer(net, 1, 1.0, net->RG, net->X, 0.0, hv, nt);
}

/* Q (r×c row-major, r ≥ c): orthonormal columns from the QR of a Gaussian
 * matrix, signs fixed by R's diagonal (Haar measure). M, tau: scratch. */
static ms_status random_orthonormal(ms_rng *rng, size_t r, size_t c, double *Q, double *M,
                                    double *tau, ms_err *err) {
    ms_rng_normals(rng, M, r * c); /* column-major r×c */
    double q = 0;
    if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (int)r, (int)c, M, (int)r, tau, &q, -1) != 0)
        return ms_fail(err, MS_ENUMERIC, "", "QR workspace query failed");
    double q2 = 0;
    if (LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, (int)r, (int)c, (int)c, M, (int)r, tau, &q2, -1) != 0)
        return ms_fail(err, MS_ENUMERIC, "", "QR workspace query failed");
    size_t lw = (size_t)fmax(q, q2) + c;
    double *work = ms_malloc(lw, sizeof *work), *sg = ms_malloc(c, sizeof *sg);
    ms_status st = MS_OK;
    if (!work || !sg)
        st = ms_fail(err, MS_ENOMEM, "", "QR workspace");
    else if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (int)r, (int)c, M, (int)r, tau, work, (int)lw) !=
             0)
        st = ms_fail(err, MS_ENUMERIC, "", "QR factorisation failed");
    if (st == MS_OK) {
        for (size_t j = 0; j < c; j++)
            sg[j] = M[j * r + j] < 0 ? -1.0 : 1.0;
        if (LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, (int)r, (int)c, (int)c, M, (int)r, tau, work,
                                (int)lw) != 0)
            st = ms_fail(err, MS_ENUMERIC, "", "QR: forming Q failed");
    }
    if (st == MS_OK)
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++)
                Q[i * c + j] = sg[j] * M[j * r + i];
    ms_free(work);
    ms_free(sg);
    return st;
}

ms_status deep_mlp_init_weights(const deep_mlp *net, double *theta, deep_mlp_init_kind kind,
                                double gain, double readout_std, unsigned long long seed,
                                unsigned long long stream0, ms_err *err) {
    const size_t L = net->L, n = net->n, d = net->d;
    double *M = NULL, *tau = NULL, *Q = NULL;
    ms_status st = MS_OK;
    if (kind == DEEP_INIT_ORTHOGONAL) {
        size_t big = n > d ? n : d;
        M = ms_malloc(big * big, sizeof *M);
        Q = ms_malloc(big * big, sizeof *Q);
        tau = ms_malloc(big, sizeof *tau);
        if (!M || !Q || !tau) {
            st = ms_fail(err, MS_ENOMEM, "", "orthogonal initialisation scratch");
            goto out;
        }
    }
    for (size_t k = 1; k <= L && st == MS_OK; k++) {
        ms_rng r;
        ms_rng_init(&r, seed, stream0 + k);
        const size_t rows = deep_mlp_rows(net, k), cols = deep_mlp_cols(net, k), m = rows * cols;
        double *W = theta + net->off[k - 1];
        if (k == L || kind == DEEP_INIT_GAUSSIAN) {
            double sd = k == L   ? readout_std
                        : k == 1 ? 1.0 / sqrt((double)d)
                                 : sqrt(gain / (double)n);
            ms_rng_normals(&r, W, m);
            cblas_dscal((int)m, sd, W, 1);
        } else if (rows >= cols) {
            st = random_orthonormal(&r, rows, cols, W, M, tau, err);
            if (k > 1)
                cblas_dscal((int)m, sqrt(gain), W, 1);
        } else { /* W_1 with n < d: orthonormal rows */
            st = random_orthonormal(&r, cols, rows, Q, M, tau, err);
            for (size_t i = 0; st == MS_OK && i < rows; i++)
                for (size_t j = 0; j < cols; j++)
                    W[i * cols + j] = Q[j * rows + i];
        }
    }
out:
    ms_free(M);
    ms_free(Q);
    ms_free(tau);
    return st;
}
