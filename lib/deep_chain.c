/* deep_chain.c — deep linear chain: product, loss, gradient, Hessian-vector
 * products, minimiser sharpness and structure statistics. See deep_chain.h
 * and spec deep-networks.md §1.1 (backprop, data-free form), §1.3 (the
 * R-operator of Pearlmutter 1994), §1.5 (sharpness at a minimiser) and §2.4.
 *
 * Data-free form (every vector below has O(maxdim) entries, so a gradient
 * costs O(Σ_k d_k d_{k-1}) whatever n is):
 *   q_L = u, q_{k-1} = W_kᵀ q_k, w = q_0;  g = ∇_w R = 2(Σw − c);
 *   a_1 = g, a_{k+1} = W_k a_k  (a_k = p_k g);  ∇_{W_k} R = q_k a_kᵀ.
 * Its R-operator along V = (V_1..V_L):
 *   R{q_L} = 0, R{q_{k-1}} = V_kᵀ q_k + W_kᵀ R{q_k};  R{g} = 2Σ R{q_0};
 *   R{a_1} = R{g}, R{a_{k+1}} = V_k a_k + W_k R{a_k};
 *   (Hv)_k = R{q_k} a_kᵀ + q_k R{a_k}ᵀ.
 */
#include "deep_chain.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "deep_internal.h"
#include "ms_alloc.h"

struct deep_chain_scratch {
    size_t *voff;              /* voff[k] = d_0 + … + d_{k-1}: block of a d_k-vector, k = 0..L */
    double *q, *rq;            /* q_k at voff[k], k = 0..L */
    double *a, *ra;            /* a_k at voff[k-1], k = 1..L */
    double *g, *rg;            /* d */
    double *left, *right;      /* top singular vectors: left_k at voff[k], right_k at voff[k-1] */
    double *sig1, *sig2;       /* L each */
    double *gram, *eig, *work; /* maxdim², maxdim, lwork */
    size_t lwork;
};

static void scratch_free(deep_chain_scratch *s) {
    if (!s)
        return;
    ms_free(s->voff);
    ms_free(s->q);
    ms_free(s->rq);
    ms_free(s->a);
    ms_free(s->ra);
    ms_free(s->g);
    ms_free(s->rg);
    ms_free(s->left);
    ms_free(s->right);
    ms_free(s->sig1);
    ms_free(s->sig2);
    ms_free(s->gram);
    ms_free(s->eig);
    ms_free(s->work);
    ms_free(s);
}

void deep_chain_free(deep_chain *ch) {
    if (!ch)
        return;
    ms_free(ch->dims);
    ms_free(ch->off);
    ms_free(ch->u);
    scratch_free(ch->s);
    ms_free(ch);
}

/* Workspace size LAPACK's dsyev wants for order m (a query allocates nothing
 * in column-major mode). */
static size_t syev_lwork(size_t m) {
    double q = 0, dummy = 0;
    if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', (int)m, &dummy, (int)m, &dummy, &q, -1) != 0)
        return 3 * m;
    size_t lw = (size_t)q;
    return lw > 3 * m ? lw : 3 * m;
}

deep_chain *deep_chain_alloc(size_t L, const size_t *dims, const double *u, ms_err *err) {
    if (L == 0)
        return ms_fail(err, MS_EINVAL, "depth", "must be at least 1"), NULL;
    for (size_t k = 0; k <= L; k++)
        if (dims[k] == 0)
            return ms_fail(err, MS_EINVAL, "width", "layer %zu has no units", k), NULL;
    deep_chain *ch = ms_calloc(1, sizeof *ch);
    if (!ch)
        goto oom;
    ch->L = L;
    ch->d = dims[0];
    ch->dims = ms_malloc(L + 1, sizeof *ch->dims);
    ch->off = ms_malloc(L + 1, sizeof *ch->off);
    ch->u = ms_malloc(dims[L], sizeof *ch->u);
    ch->s = ms_calloc(1, sizeof *ch->s);
    if (!ch->dims || !ch->off || !ch->u || !ch->s)
        goto oom;
    deep_chain_scratch *s = ch->s;
    s->voff = ms_malloc(L + 2, sizeof *s->voff);
    if (!s->voff)
        goto oom;
    size_t vtot = 0, p = 0;
    ch->maxdim = 0;
    for (size_t k = 0; k <= L; k++) {
        ch->dims[k] = dims[k];
        s->voff[k] = vtot;
        vtot += dims[k];
        if (dims[k] > ch->maxdim)
            ch->maxdim = dims[k];
        if (k >= 1) {
            ch->off[k - 1] = p;
            p += dims[k] * dims[k - 1];
        }
    }
    s->voff[L + 1] = vtot;
    ch->off[L] = p;
    ch->nparams = p;
    for (size_t i = 0; i < dims[L]; i++)
        ch->u[i] = u ? u[i] : 1.0;
    const size_t m = ch->maxdim;
    s->lwork = syev_lwork(m);
    s->q = ms_malloc(vtot, sizeof(double));
    s->rq = ms_malloc(vtot, sizeof(double));
    s->a = ms_malloc(vtot, sizeof(double));
    s->ra = ms_malloc(vtot, sizeof(double));
    s->g = ms_malloc(ch->d, sizeof(double));
    s->rg = ms_malloc(ch->d, sizeof(double));
    s->left = ms_calloc(vtot, sizeof(double));
    s->right = ms_calloc(vtot, sizeof(double));
    s->sig1 = ms_calloc(L, sizeof(double));
    s->sig2 = ms_calloc(L, sizeof(double));
    s->gram = ms_malloc(m * m, sizeof(double));
    s->eig = ms_malloc(m, sizeof(double));
    s->work = ms_malloc(s->lwork, sizeof(double));
    if (!s->q || !s->rq || !s->a || !s->ra || !s->g || !s->rg || !s->left || !s->right ||
        !s->sig1 || !s->sig2 || !s->gram || !s->eig || !s->work)
        goto oom;
    return ch;
oom:
    deep_chain_free(ch);
    ms_fail(err, MS_ENOMEM, "", "deep linear chain workspace");
    return NULL;
}

/* W_k as a pointer into θ (k = 1..L). */
static const double *layer(const deep_chain *ch, const double *theta, size_t k) {
    return theta + ch->off[k - 1];
}

/* q_k for k = L..0 into s->q. */
static void backward_q(deep_chain *ch, const double *theta) {
    deep_chain_scratch *s = ch->s;
    const size_t *dm = ch->dims;
    memcpy(s->q + s->voff[ch->L], ch->u, dm[ch->L] * sizeof(double));
    for (size_t k = ch->L; k >= 1; k--)
        deep__gemv(CblasTrans, dm[k - 1], dm[k], 1.0, layer(ch, theta, k), dm[k - 1],
                   s->q + s->voff[k], 0.0, s->q + s->voff[k - 1]);
}

void deep_chain_product(deep_chain *ch, const double *theta, double *w) {
    backward_q(ch, theta);
    memcpy(w, ch->s->q, ch->d * sizeof *w);
}

/* Quadratic loss wᵀΣw − 2cᵀw + yy and g = 2(Σw − c). */
static double loss_and_g(const deep_moments *mom, const double *w, double *g) {
    const size_t d = mom->d;
    cblas_dsymv(CblasRowMajor, CblasUpper, (int)d, 1.0, mom->sigma, (int)d, w, 1, 0.0, g, 1);
    double wSw = cblas_ddot((int)d, w, 1, g, 1);
    double cw = cblas_ddot((int)d, mom->c, 1, w, 1);
    cblas_daxpy((int)d, -1.0, mom->c, 1, g, 1);
    cblas_dscal((int)d, 2.0, g, 1);
    return wSw - 2 * cw + mom->yy;
}

/* a_k = p_k g for k = 1..L (a_1 = g already in place). */
static void forward_a(deep_chain *ch, const double *theta, double *a, const double *g) {
    const size_t *dm = ch->dims, *vo = ch->s->voff;
    memcpy(a, g, ch->d * sizeof(double));
    for (size_t k = 1; k < ch->L; k++)
        deep__gemv(CblasNoTrans, dm[k], dm[k - 1], 1.0, layer(ch, theta, k), dm[k - 1],
                   a + vo[k - 1], 0.0, a + vo[k]);
}

double deep_chain_grad(deep_chain *ch, const deep_moments *mom, const double *theta, double *grad,
                       double *wout) {
    deep_chain_scratch *s = ch->s;
    const size_t *dm = ch->dims;
    backward_q(ch, theta);
    double loss = loss_and_g(mom, s->q, s->g);
    if (wout)
        memcpy(wout, s->q, ch->d * sizeof *wout);
    if (!grad)
        return loss;
    forward_a(ch, theta, s->a, s->g);
    for (size_t k = 1; k <= ch->L; k++) {
        const double *qk = s->q + s->voff[k], *ak = s->a + s->voff[k - 1];
        double *G = grad + ch->off[k - 1];
        for (size_t i = 0; i < dm[k]; i++)
            for (size_t j = 0; j < dm[k - 1]; j++)
                G[i * dm[k - 1] + j] = qk[i] * ak[j];
    }
    return loss;
}

void deep_chain_hvp(deep_chain *ch, const deep_moments *mom, const double *theta, const double *v,
                    double *hv) {
    deep_chain_scratch *s = ch->s;
    const size_t *dm = ch->dims, *vo = s->voff;
    const size_t L = ch->L, d = ch->d;
    backward_q(ch, theta);
    loss_and_g(mom, s->q, s->g);
    forward_a(ch, theta, s->a, s->g);
    /* R{q}: backward from R{q_L} = 0. */
    memset(s->rq + vo[L], 0, dm[L] * sizeof(double));
    for (size_t k = L; k >= 1; k--) {
        double *out = s->rq + vo[k - 1];
        deep__gemv(CblasTrans, dm[k - 1], dm[k], 1.0, layer(ch, v, k), dm[k - 1], s->q + vo[k], 0.0,
                   out);
        deep__gemv(CblasTrans, dm[k - 1], dm[k], 1.0, layer(ch, theta, k), dm[k - 1], s->rq + vo[k],
                   1.0, out);
    }
    /* R{g} = 2Σ R{w}, then R{a} forward. */
    cblas_dsymv(CblasRowMajor, CblasUpper, (int)d, 2.0, mom->sigma, (int)d, s->rq, 1, 0.0, s->rg,
                1);
    memcpy(s->ra, s->rg, d * sizeof(double));
    for (size_t k = 1; k < L; k++) {
        double *out = s->ra + vo[k];
        deep__gemv(CblasNoTrans, dm[k], dm[k - 1], 1.0, layer(ch, v, k), dm[k - 1],
                   s->a + vo[k - 1], 0.0, out);
        deep__gemv(CblasNoTrans, dm[k], dm[k - 1], 1.0, layer(ch, theta, k), dm[k - 1],
                   s->ra + vo[k - 1], 1.0, out);
    }
    for (size_t k = 1; k <= L; k++) {
        const double *qk = s->q + vo[k], *rqk = s->rq + vo[k];
        const double *ak = s->a + vo[k - 1], *rak = s->ra + vo[k - 1];
        double *H = hv + ch->off[k - 1];
        for (size_t i = 0; i < dm[k]; i++)
            for (size_t j = 0; j < dm[k - 1]; j++)
                H[i * dm[k - 1] + j] = rqk[i] * ak[j] + qk[i] * rak[j];
    }
}

/* Batch backpropagation (§1.1) and its R-operator (§1.3):
 *   H_0 = Xᵀ, H_k = W_k H_{k-1}, F = uᵀH_L, D_L = u ⊗ (2/n)(F − yᵀ),
 *   G_k = D_k H_{k-1}ᵀ, D_{k-1} = W_kᵀ D_k;
 *   R{H_k} = V_k H_{k-1} + W_k R{H_{k-1}}, R{D_L} = u ⊗ (2/n) R{F},
 *   (Hv)_k = R{D_k} H_{k-1}ᵀ + D_k R{H_{k-1}}ᵀ, R{D_{k-1}} = V_kᵀD_k + W_kᵀR{D_k}. */
ms_status deep_chain_batch(const deep_chain *ch, const double *X, const double *y, size_t n,
                           const double *theta, const double *v, double *loss, double *grad,
                           double *hv, ms_err *err) {
    const size_t L = ch->L, *dm = ch->dims, m = ch->maxdim;
    size_t tot = 0;
    for (size_t k = 0; k <= L; k++)
        tot += dm[k] * n;
    double *H = ms_malloc(tot, sizeof *H), *RH = ms_calloc(tot, sizeof *RH);
    double *D = ms_malloc(2 * m * n, sizeof *D), *RD = ms_calloc(2 * m * n, sizeof *RD);
    double *F = ms_malloc(2 * n, sizeof *F);
    size_t *ho = ms_malloc(L + 1, sizeof *ho);
    if (!H || !RH || !D || !RD || !F || !ho) {
        ms_free(H), ms_free(RH), ms_free(D), ms_free(RD), ms_free(F), ms_free(ho);
        return ms_fail(err, MS_ENOMEM, "", "batch activations (%zu values)", tot);
    }
    for (size_t k = 0, o = 0; k <= L; k++) {
        ho[k] = o;
        o += dm[k] * n;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ch->d; j++)
            H[j * n + i] = X[i * ch->d + j];
    for (size_t k = 1; k <= L; k++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)dm[k], (int)n, (int)dm[k - 1],
                    1.0, layer(ch, theta, k), (int)dm[k - 1], H + ho[k - 1], (int)n, 0.0, H + ho[k],
                    (int)n);
        if (v) {
            double *R = RH + ho[k];
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)dm[k], (int)n,
                        (int)dm[k - 1], 1.0, layer(ch, v, k), (int)dm[k - 1], H + ho[k - 1], (int)n,
                        0.0, R, (int)n);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)dm[k], (int)n,
                        (int)dm[k - 1], 1.0, layer(ch, theta, k), (int)dm[k - 1], RH + ho[k - 1],
                        (int)n, 1.0, R, (int)n);
        }
    }
    /* F (residual) and R{F} in F[0..n) and F[n..2n). */
    double *rF = F + n, l = 0;
    deep__gemv(CblasTrans, n, dm[L], 1.0, H + ho[L], n, ch->u, 0.0, F);
    deep__gemv(CblasTrans, n, dm[L], 1.0, RH + ho[L], n, ch->u, 0.0, rF);
    for (size_t i = 0; i < n; i++) {
        F[i] -= y[i];
        l += F[i] * F[i];
    }
    *loss = l / (double)n;
    double *Dk = D, *Dn = D + m * n, *RDk = RD, *RDn = RD + m * n;
    for (size_t r = 0; r < dm[L]; r++)
        for (size_t i = 0; i < n; i++) {
            Dk[r * n + i] = ch->u[r] * 2.0 / (double)n * F[i];
            RDk[r * n + i] = ch->u[r] * 2.0 / (double)n * rF[i];
        }
    for (size_t k = L; k >= 1; k--) {
        const double *W = layer(ch, theta, k);
        const size_t r = dm[k], c = dm[k - 1];
        if (grad)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)c, (int)n, 1.0, Dk,
                        (int)n, H + ho[k - 1], (int)n, 0.0, grad + ch->off[k - 1], (int)c);
        if (v) {
            double *Hk = hv + ch->off[k - 1];
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)c, (int)n, 1.0, RDk,
                        (int)n, H + ho[k - 1], (int)n, 0.0, Hk, (int)c);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)c, (int)n, 1.0, Dk,
                        (int)n, RH + ho[k - 1], (int)n, 1.0, Hk, (int)c);
            /* R{D_{k-1}} uses the old D_k. */
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c, (int)n, (int)r, 1.0,
                        layer(ch, v, k), (int)c, Dk, (int)n, 0.0, RDn, (int)n);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c, (int)n, (int)r, 1.0, W,
                        (int)c, RDk, (int)n, 1.0, RDn, (int)n);
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c, (int)n, (int)r, 1.0, W, (int)c,
                    Dk, (int)n, 0.0, Dn, (int)n);
        double *t = Dk;
        Dk = Dn, Dn = t;
        t = RDk, RDk = RDn, RDn = t;
    }
    ms_free(H), ms_free(RH), ms_free(D), ms_free(RD), ms_free(F), ms_free(ho);
    return MS_OK;
}

/* Symmetric square root of a PSD d×d matrix A into R (negative eigenvalues
 * from rounding are clamped to 0). Q, lam and work are scratch. */
static int sym_sqrt(size_t d, const double *A, double *R, double *Q, double *lam, double *work,
                    size_t lwork) {
    memcpy(Q, A, d * d * sizeof *Q);
    int info =
        LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', (int)d, Q, (int)d, lam, work, (int)lwork);
    if (info != 0)
        return info;
    /* Column j of Q (contiguous at Q + j·d) is eigenvector j: R = Σ_j √λ_j q_j q_jᵀ. */
    memset(R, 0, d * d * sizeof *R);
    for (size_t j = 0; j < d; j++)
        cblas_dsyr(CblasRowMajor, CblasUpper, (int)d, lam[j] > 0 ? sqrt(lam[j]) : 0.0, Q + j * d, 1,
                   R, (int)d);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            R[i * d + j] = R[j * d + i];
    return 0;
}

ms_status deep_chain_min_sharpness(deep_chain *ch, const deep_moments *mom, const double *theta,
                                   double *S, ms_err *err) {
    const size_t d = ch->d, m = ch->maxdim, L = ch->L, *dm = ch->dims;
    const size_t lw = syev_lwork(d);
    double *P = ms_malloc(m * d, sizeof *P), *P2 = ms_malloc(m * d, sizeof *P2);
    double *M = ms_calloc(d * d, sizeof *M), *R = ms_malloc(d * d, sizeof *R);
    double *Q = ms_malloc(d * d, sizeof *Q), *T = ms_malloc(d * d, sizeof *T);
    double *lam = ms_malloc(d, sizeof *lam), *work = ms_malloc(lw, sizeof *work);
    ms_status st = MS_OK;
    if (!P || !P2 || !M || !R || !Q || !T || !lam || !work) {
        st = ms_fail(err, MS_ENOMEM, "", "minimiser sharpness scratch");
        goto out;
    }
    backward_q(ch, theta);
    /* P = p_k (d_{k-1} × d), starting from I. */
    memset(P, 0, d * d * sizeof *P);
    for (size_t i = 0; i < d; i++)
        P[i * d + i] = 1;
    for (size_t k = 1; k <= L; k++) {
        const double *qk = ch->s->q + ch->s->voff[k];
        double qn = cblas_ddot((int)dm[k], qk, 1, qk, 1);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)dm[k - 1], qn, P, (int)d,
                    1.0, M, (int)d);
        if (k < L) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)dm[k], (int)d,
                        (int)dm[k - 1], 1.0, layer(ch, theta, k), (int)dm[k - 1], P, (int)d, 0.0,
                        P2, (int)d);
            double *t = P;
            P = P2, P2 = t;
        }
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            M[i * d + j] = M[j * d + i];
    if (sym_sqrt(d, mom->sigma, R, Q, lam, work, lw) != 0) {
        st = ms_fail(err, MS_ENUMERIC, "", "eigendecomposition of the data covariance failed");
        goto out;
    }
    /* T = R M R, then its top eigenvalue. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, M, (int)d,
                R, (int)d, 0.0, Q, (int)d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, R, (int)d,
                Q, (int)d, 0.0, T, (int)d);
    if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'N', 'U', (int)d, T, (int)d, lam, work, (int)lw) !=
        0) {
        st = ms_fail(err, MS_ENUMERIC, "", "eigenvalues of Σ^½ M Σ^½ failed");
        goto out;
    }
    *S = 2 * lam[d - 1];
out:
    ms_free(P), ms_free(P2), ms_free(M), ms_free(R), ms_free(Q), ms_free(T), ms_free(lam);
    ms_free(work);
    return st;
}

double deep_sharpness_lower_bound(size_t L, const deep_moments *mom, const double *wstar) {
    const size_t d = mom->d;
    double nw2 = cblas_ddot((int)d, wstar, 1, wstar, 1), wSw = 0;
    for (size_t i = 0; i < d; i++)
        wSw += wstar[i] * cblas_ddot((int)d, mom->sigma + i * d, 1, wstar, 1);
    if (!(nw2 > 0))
        return 0;
    return 2.0 * (double)L * (wSw / nw2) * pow(nw2, 1.0 - 1.0 / (double)L);
}

size_t deep_chain_balance_size(const deep_chain *ch) {
    size_t t = 0;
    for (size_t k = 1; k < ch->L; k++)
        t += ch->dims[k] * ch->dims[k];
    return t;
}

/* B_k = W_{k+1}ᵀW_{k+1} − W_k W_kᵀ (d_k × d_k) into out. */
static void balance_block(const deep_chain *ch, const double *theta, size_t k, double *out) {
    const size_t *dm = ch->dims, dk = dm[k];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)dk, (int)dk, (int)dm[k + 1], 1.0,
                layer(ch, theta, k + 1), (int)dk, layer(ch, theta, k + 1), (int)dk, 0.0, out,
                (int)dk);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)dk, (int)dk, (int)dm[k - 1], -1.0,
                layer(ch, theta, k), (int)dm[k - 1], layer(ch, theta, k), (int)dm[k - 1], 1.0, out,
                (int)dk);
}

void deep_chain_balance(const deep_chain *ch, const double *theta, double *bal) {
    for (size_t k = 1; k < ch->L; k++) {
        balance_block(ch, theta, k, bal);
        bal += ch->dims[k] * ch->dims[k];
    }
}

/* Top two singular values and the top singular pair of W (r×c) through the
 * eigendecomposition of the smaller Gram matrix. */
static int top_singular(deep_chain_scratch *s, const double *W, size_t r, size_t c, double *s1,
                        double *s2, double *left, double *right) {
    const size_t g = r <= c ? r : c;
    if (r <= c)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)r, (int)c, 1.0, W, (int)c,
                    W, (int)c, 0.0, s->gram, (int)r);
    else
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c, (int)c, (int)r, 1.0, W, (int)c,
                    W, (int)c, 0.0, s->gram, (int)c);
    int info = LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', (int)g, s->gram, (int)g, s->eig,
                                  s->work, (int)s->lwork);
    if (info != 0)
        return info;
    *s1 = sqrt(fmax(s->eig[g - 1], 0));
    *s2 = g >= 2 ? sqrt(fmax(s->eig[g - 2], 0)) : 0;
    const double *top = s->gram + (g - 1) * g;
    double inv = *s1 > 0 ? 1.0 / *s1 : 0;
    if (r <= c) {
        memcpy(left, top, r * sizeof *left);
        deep__gemv(CblasTrans, c, r, inv, W, c, left, 0.0, right);
    } else {
        memcpy(right, top, c * sizeof *right);
        deep__gemv(CblasNoTrans, r, c, inv, W, c, right, 0.0, left);
    }
    return 0;
}

ms_status deep_chain_structure(deep_chain *ch, const double *theta, const double *bal0,
                               const double *w_hat, deep_chain_stats *st, ms_err *err) {
    deep_chain_scratch *s = ch->s;
    const size_t L = ch->L, *dm = ch->dims, *vo = s->voff;
    st->rank1_ratio = 0;
    st->sigma1_max = 0;
    st->sigma1_min = INFINITY;
    for (size_t k = 1; k <= L; k++) {
        if (top_singular(s, layer(ch, theta, k), dm[k], dm[k - 1], &s->sig1[k - 1], &s->sig2[k - 1],
                         s->left + vo[k], s->right + vo[k - 1]) != 0)
            return ms_fail(err, MS_ENUMERIC, "", "singular values of layer %zu failed", k);
        double s1 = s->sig1[k - 1];
        if (dm[k] >= 2 && dm[k - 1] >= 2 && s1 > 0 && s->sig2[k - 1] / s1 > st->rank1_ratio)
            st->rank1_ratio = s->sig2[k - 1] / s1;
        st->sigma1_max = fmax(st->sigma1_max, s1);
        st->sigma1_min = fmin(st->sigma1_min, s1);
    }
    st->layer_alignment = L > 1 ? INFINITY : NAN;
    for (size_t k = 1; k < L; k++) {
        double al = fabs(cblas_ddot((int)dm[k], s->left + vo[k], 1, s->right + vo[k], 1));
        st->layer_alignment = fmin(st->layer_alignment, al);
    }
    st->input_alignment = w_hat ? fabs(cblas_ddot((int)ch->d, s->right, 1, w_hat, 1)) : NAN;
    st->balance_drift = NAN;
    if (bal0 && L > 1) {
        /* Block by block in the Gram scratch (d_k² ≤ maxdim² values). */
        st->balance_drift = 0;
        const double *b0 = bal0;
        for (size_t k = 1; k < L; k++) {
            const size_t dk = dm[k];
            balance_block(ch, theta, k, s->gram);
            double acc = 0;
            for (size_t i = 0; i < dk * dk; i++)
                acc += (s->gram[i] - b0[i]) * (s->gram[i] - b0[i]);
            st->balance_drift = fmax(st->balance_drift, sqrt(acc));
            b0 += dk * dk;
        }
    }
    return MS_OK;
}

double deep_chain_sigma1(const deep_chain *ch, size_t k) {
    return ch->s->sig1[k - 1];
}

double deep_chain_sigma2(const deep_chain *ch, size_t k) {
    return ch->s->sig2[k - 1];
}
