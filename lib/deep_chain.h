/* deep_chain.h — deep linear chains for regression (spec deep-networks.md
 * §1.1, §1.3, §1.5, §2.4).
 *
 * What it is for: the network f(x) = uᵀ W_L ⋯ W_1 x with trainable
 * W_k ∈ R^{d_k × d_{k-1}} (d_0 = d) and a fixed readout u ∈ R^{d_L} (u = 1
 * when d_L = 1, a unit vector for the residual variant [C]), trained on the
 * square loss R = (1/n) Σ_i (f(x_i) − y_i)² (no ½, spec §0/§2). It computes
 *   - the end-to-end vector w = (uᵀ W_L ⋯ W_1)ᵀ, so f(x) = wᵀx;
 *   - loss and exact gradient in the data-free form (cost independent of n):
 *     R = wᵀΣw − 2cᵀw + ‖y‖²/n, ∇_w R = 2(Σw − c), ∇_{W_k} R = q_k (p_k ∇_w R)ᵀ;
 *   - exact Hessian-vector products (Pearlmutter's R-operator on that form);
 *   - the same loss, gradient and HVP by batch backpropagation over X (the
 *     reference the data-free form is tested against);
 *   - the exact sharpness at a global minimiser (§1.5) and the structure
 *     statistics of §2.4 (balance drift, rank-one ratio, alignments).
 *
 * What it is not for: non-linear networks (deep_mlp.h), or training loops
 * (deep_linear.c).
 *
 * Parameters θ are one vector: W_1, W_2, …, W_L, each row-major, W_k at
 * offset off[k-1] (off[L] = nparams). Notation: p_k = W_{k-1}⋯W_1 (p_1 = I),
 * q_k = (uᵀ W_L ⋯ W_{k+1})ᵀ (q_L = u), q_0 = w.
 *
 * A chain owns scratch: one chain serves one thread at a time. Calls other
 * than alloc and the min-sharpness formula allocate nothing.
 */
#ifndef DEEP_CHAIN_H
#define DEEP_CHAIN_H

#include <stddef.h>

#include "ms_err.h"

/* Second moments of the data: Σ = XᵀX/n (d×d, row-major), c = Xᵀy/n,
 * yy = ‖y‖²/n. Not owned by whoever holds this struct. */
typedef struct deep_moments {
    size_t d;
    const double *sigma;
    const double *c;
    double yy;
} deep_moments;

typedef struct deep_chain_scratch deep_chain_scratch;

typedef struct deep_chain {
    size_t L;     /* trainable layers, ≥ 1 */
    size_t d;     /* input dimension d_0 */
    size_t *dims; /* d_0..d_L */
    size_t *off;  /* off[0..L]: W_k starts at off[k-1]; off[L] = nparams */
    size_t nparams;
    size_t maxdim; /* max_k d_k */
    double *u;     /* fixed readout (d_L values) */
    deep_chain_scratch *s;
} deep_chain;

/* A chain of L layers with dims[0..L]; u (dims[L] values) is copied, NULL
 * means all ones (use it with dims[L] = 1). All-or-nothing; NULL with err
 * filled on failure. */
deep_chain *deep_chain_alloc(size_t L, const size_t *dims, const double *u, ms_err *err);
void deep_chain_free(deep_chain *ch);

/* w = (uᵀ W_L ⋯ W_1)ᵀ (d values). */
void deep_chain_product(deep_chain *ch, const double *theta, double *w);

/* Loss R(θ) in the data-free form; grad (nparams, may be NULL) receives ∇R.
 * If wout is not NULL it receives w (d values). */
double deep_chain_grad(deep_chain *ch, const deep_moments *mom, const double *theta, double *grad,
                       double *wout);

/* hv = ∇²R(θ) v, exact to rounding (R-operator, §1.3). */
void deep_chain_hvp(deep_chain *ch, const deep_moments *mom, const double *theta, const double *v,
                    double *hv);

/* Batch backpropagation over X (n×d row-major) and y (n): same loss,
 * gradient (grad may be NULL) and, with v not NULL, hv = ∇²R v by the batch
 * R-operator. Allocates its activations (d_k × n per layer) and frees them;
 * MS_ENOMEM on failure. For tests and small n. */
ms_status deep_chain_batch(const deep_chain *ch, const double *X, const double *y, size_t n,
                           const double *theta, const double *v, double *loss, double *grad,
                           double *hv, ms_err *err);

/* Exact sharpness at a global minimiser (§1.5): S = 2 λ_max(Σ^½ M Σ^½),
 * M = Σ_k ‖q_k‖² p_kᵀ p_k. Equals the top Hessian eigenvalue only where the
 * normal equations Σw = c hold. Allocates O(d² + maxdim·d) scratch. */
ms_status deep_chain_min_sharpness(deep_chain *ch, const deep_moments *mom, const double *theta,
                                   double *S, ms_err *err);

/* Lower bound on the sharpness of every global minimiser (§2.2, [MC24]):
 * S_min = 2 L a ‖w*‖^{2−2/L}, a = w*ᵀΣw* / ‖w*‖² (loss without ½). */
double deep_sharpness_lower_bound(size_t L, const deep_moments *mom, const double *wstar);

/* Number of doubles of the balance matrices W_{k+1}ᵀW_{k+1} − W_k W_kᵀ,
 * k = 1..L−1 (each d_k × d_k, stored one after the other). */
size_t deep_chain_balance_size(const deep_chain *ch);
void deep_chain_balance(const deep_chain *ch, const double *theta, double *bal);

typedef struct deep_chain_stats {
    double balance_drift;   /* max_k ‖B_k(θ) − B_k(θ_0)‖_F (NaN without a reference) */
    double rank1_ratio;     /* max_k σ₂(W_k)/σ₁(W_k) over layers of rank ≥ 2 possible */
    double layer_alignment; /* min_k |⟨left sv₁(W_k), right sv₁(W_{k+1})⟩| (NaN if L = 1) */
    double input_alignment; /* |⟨right sv₁(W_1), ŵ⟩| (NaN without ŵ) */
    double sigma1_max, sigma1_min; /* range of the layers' top singular values */
} deep_chain_stats;

/* Structure statistics of §2.4. bal0 (balance at step 0, or NULL) and
 * w_hat (unit target direction, or NULL) are optional. Returns MS_ENUMERIC
 * if LAPACK's symmetric eigensolver fails. Allocates nothing. */
ms_status deep_chain_structure(deep_chain *ch, const double *theta, const double *bal0,
                               const double *w_hat, deep_chain_stats *st, ms_err *err);

/* Top singular value of W_k computed by the last deep_chain_structure call
 * (k = 1..L). */
double deep_chain_sigma1(const deep_chain *ch, size_t k);
double deep_chain_sigma2(const deep_chain *ch, size_t k);

#endif
