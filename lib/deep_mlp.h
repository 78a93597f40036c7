/* deep_mlp.h — ReLU MLPs and ResNets on a batch: forward, backward, forward-
 * mode derivatives (JVP) and exact Hessian-vector products (spec
 * deep-networks.md §1.2, §1.3, §4.6).
 *
 * What it is for: the networks of the feature-speed study (Chizat &
 * Netrapalli, arXiv:2311.18718),
 *   MLP:    h_1 = W_1 x, h_k = W_k φ(h_{k-1}) (k = 2..L−1), f = α W_L φ(h_{L-1});
 *   ResNet: h_1 = W_1 x, h_k = h_{k-1} + β W_k φ(h_{k-1}),  f = α W_L φ(h_{L-1});
 * φ = ReLU (φ'(0) := 0) or the identity, W_1 ∈ R^{n×d}, W_k ∈ R^{n×n},
 * W_L ∈ R^{d_out×n}; loss L = (1/B) Σ_i ½‖f(x_i) − y_i‖² over a batch of B.
 * Features are f_ℓ = h_ℓ (ℓ < L) and f_L = f; backward signals
 * b_ℓ = ∂L/∂h_ℓ (= g_ℓ) and b_L = ∂L/∂f.
 *
 * What it is not for: training loops and learning-rate rules (deep_align.c),
 * or other losses.
 *
 * Layout: parameters θ are one vector W_1, …, W_L (row-major; W_k at
 * off[k-1]). Batch matrices are neurons × samples, row-major (n×B), so a
 * layer is one GEMM, split over the threads `nt` by rows (deep_internal.h).
 * The workspace holds two sets of forward buffers (current and previous) so
 * that a realised feature change f(θ + Δθ) − f(θ) can be read after a step.
 * Nothing here allocates after deep_mlp_alloc.
 */
#ifndef DEEP_MLP_H
#define DEEP_MLP_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_rng.h"

typedef struct deep_mlp {
    size_t L, d, n, dout, B;
    int resnet, relu;
    double beta;  /* ResNet branch scale */
    double alpha; /* output multiplier */
    size_t *off;  /* off[0..L] */
    size_t nparams;
    double *X, *Y;        /* inputs d×B and targets d_out×B (transposed copies) */
    double *H, *A, *F;    /* current forward: h_k, φ(h_k) ((L−1) blocks n×B), f */
    double *Hp, *Ap, *Fp; /* previous forward (see deep_mlp_swap) */
    double *E, *G;        /* ∂L/∂f (d_out×B), g_k ((L−1) blocks n×B) */
    double *RH, *RF;      /* JVP: δh_k, δf */
    double *RG, *RE;      /* R-operator backward (only with hvp) */
    double *tmp, *tmp2;   /* n×B scratch */
} deep_mlp;

/* A network of L ≥ 2 layers on batches of B samples. with_hvp allocates the
 * R-operator backward buffers. All-or-nothing; NULL with err filled. */
deep_mlp *deep_mlp_alloc(size_t L, size_t d, size_t n, size_t dout, size_t B, int resnet, int relu,
                         int with_hvp, ms_err *err);
void deep_mlp_free(deep_mlp *net);

/* Copy a batch: X (B×d row-major), Y (B×d_out row-major). */
void deep_mlp_set_batch(deep_mlp *net, const double *X, const double *Y);

/* Rows and columns of W_k (k = 1..L). */
size_t deep_mlp_rows(const deep_mlp *net, size_t k);
size_t deep_mlp_cols(const deep_mlp *net, size_t k);

/* Block of a (L−1)-block batch buffer for layer k (1..L−1): base + (k−1)·n·B. */
static inline double *deep_mlp_block(const deep_mlp *net, double *base, size_t k) {
    return base + (k - 1) * net->n * net->B;
}

typedef enum { DEEP_INIT_GAUSSIAN, DEEP_INIT_ORTHOGONAL } deep_mlp_init_kind;

/* Initial weights into θ (§1.2). gaussian: W_1 ~ N(0, 1/d), hidden (ResNet:
 * branch) W_k ~ N(0, gain/n). orthogonal: W_1 with orthonormal columns
 * (rows when n < d), hidden W_k = √gain·Q_k with Q_k Haar-orthogonal.
 * Readout W_L ~ N(0, readout_std²) in both. Layer k draws from stream
 * stream0 + k of seed, so the weights do not depend on threads.
 * MS_ENOMEM or MS_ENUMERIC (QR) on failure; allocates QR scratch. */
ms_status deep_mlp_init_weights(const deep_mlp *net, double *theta, deep_mlp_init_kind kind,
                                double gain, double readout_std, unsigned long long seed,
                                unsigned long long stream0, ms_err *err);

/* Forward pass at θ into the current buffers; returns the loss. With
 * normalise, each W_ℓ (ℓ < L) of an MLP is rescaled in θ on the way so that
 * ‖h_ℓ‖_rms = 1 on this batch (§4.4 step 1; for a ResNet only W_1). */
double deep_mlp_forward(deep_mlp *net, double *theta, int normalise, int nt);

/* Backward pass after deep_mlp_forward at the same θ: E, G and the gradient
 * (nparams values). */
void deep_mlp_backward(deep_mlp *net, const double *theta, double *grad, int nt);

/* Forward-mode derivative along V (nparams values) with per-layer scales
 * s[0..L) applied to V's blocks (NULL: all 1), at the θ of the last
 * forward: RH = δh_k, RF = δf. */
void deep_mlp_jvp(deep_mlp *net, const double *theta, const double *V, const double *s, int nt);

/* hv = ∇²L(θ) v, exact for the linear activation and almost everywhere for
 * ReLU (φ'' = 0); needs forward and backward at θ and with_hvp. */
void deep_mlp_hvp(deep_mlp *net, const double *theta, const double *v, double *hv, int nt);

/* Exchange the current and previous forward buffers. */
void deep_mlp_swap(deep_mlp *net);

#endif
