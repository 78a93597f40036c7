/* games_payoff.h — payoffs f(x, y) of continuous games: the built-in
 * families of games.md §2 and compiled expressions, with gradients, and the
 * "fields" every particle method needs (first variations against atomic
 * measures and their gradients).
 *
 * What it is for: one interface the solvers call,
 *   games_payoff_eval    f, ∇ₓf, ∇ᵧf at one pair (tests, searches);
 *   games_payoff_fields  for μ = Σ a_i δ_{x_i}, ν = Σ b_j δ_{y_j}:
 *     U_i = Σ_j b_j f(x_i, y_j),  G_i = Σ_j b_j ∇ₓf(x_i, y_j),
 *     W_j = Σ_i a_i f(x_i, y_j),  H_j = Σ_i a_i ∇ᵧf(x_i, y_j).
 * Generic payoffs loop over pairs (rows split among threads for U, G;
 * columns for W, H; each sum in a fixed order, so the bits do not depend
 * on the thread count). `random_fourier` is separable,
 * f = Re φ(x)ᵀCψ(y) with φ_k(x) = e^{2πi k·x}, and costs O((m+n)F + F²)
 * instead of O(mnF²) (F features per player).
 *
 * Families (x, y ∈ [0,1) tori unless said; [P1] and the spec's §8):
 *   random_fourier  Re Σ_{k∈{−K..K}^d, l∈{−L..L}^e} c_kl e^{2πi(k·x + l·y)},
 *                   re, im of c_kl ~ N(0, coef_std²) from a seed
 *   trig_2x2        ¼ + ¾cos2πx + ¼cos2πy + 7/4 cos2πx cos2πy + β(1 − cos4πx)
 *                   − γ(1 − cos4πy) + δ[sin2πx(cos2πy + 3/7) + sin2πy(cos2πx + 1/7)]
 *   trig_singular   sin4πx + sin4πy + 2cos2π(x + y)
 *   cos_diff        cos 2π(x − y)
 *   quartic         xy + ε(φ(x) − φ(y)), φ(z) = z⁴/4 − z²/2 (on a box)
 *   quadratic_box   (x − y)² (on a box)
 *   max_margin_2nn  [P1] §6.8: x = (k) a data index, y = (θ, s) a neuron on
 *                   S^{d_in} with output sign s: f = s·y_k·σ(θ·(x_k, 1))
 *   dro_2nn         the same with x = (k, u), u an adversarial shift of
 *                   sample k in a ball: f = s·y_k·σ(θ·(x_k + u, 1))
 *                   (σ: relu^p, abs, sigmoid, tanh; spaces games_space.h's
 *                   samples and signed sphere)
 *
 * What it is not for: matrix games (games_lp.h, games_mp.h).
 */
#ifndef GAMES_PAYOFF_H
#define GAMES_PAYOFF_H

#include <stddef.h>

#include "games_expr.h"
#include "ms_kind.h"
#include "ms_rng.h"

typedef enum {
    GAMES_FAM_RANDOM_FOURIER,
    GAMES_FAM_TRIG_2X2,
    GAMES_FAM_TRIG_SINGULAR,
    GAMES_FAM_COS_DIFF,
    GAMES_FAM_QUARTIC,
    GAMES_FAM_QUADRATIC_BOX,
    GAMES_FAM_MAX_MARGIN_2NN,
    GAMES_FAM_DRO_2NN,
    GAMES_FAM_EXPRESSION /* not a family: a compiled expression */
} games_family;

/* Family names in enum order (NULL-terminated, without "expression"). */
extern const char *const games_family_names[];

/* Upper bound on the random Fourier feature count (2K+1)^d·(2L+1)^e. */
#define GAMES_RF_MAX_TERMS 100000

typedef struct games_payoff {
    games_family family;
    size_t d, e;
    double beta, gamma, delta, eps; /* trig_2x2 (β, γ, δ), quartic (ε) */
    games_expr *expr;               /* owned */
    size_t Kx, Ky, Fx, Fy;          /* random_fourier orders and features */
    double *C;                      /* Fx×Fy complex (re, im interleaved) */
    double *sx, *sy, *Csy, *Ctsx;   /* random_fourier field workspaces */
    double *part;                   /* nblocks partial feature sums */
    size_t nblocks;
    size_t scratch;        /* doubles of scratch per evaluation */
    double *data, *labels; /* 2nn: N×d_in samples, N labels ±1 (owned) */
    size_t n_samples, din;
    int act, power; /* activation (games_activation), relu power */
} games_payoff;

typedef enum { GAMES_ACT_RELU, GAMES_ACT_ABS, GAMES_ACT_SIGMOID, GAMES_ACT_TANH } games_activation;
extern const char *const games_activation_names[];

/* The two-layer network games: copies data (N×din) and labels (N).
 * d = 1 (+ din for dro_2nn), e = din + 2. All-or-nothing. */
ms_status games_payoff_init_2nn(games_payoff *p, games_family fam, const double *data,
                                const double *labels, size_t N, size_t din, games_activation act,
                                int power, ms_err *err);

/* Families: fixed dimension 1 except random_fourier (d, e given). The
 * random coefficients are drawn from (seed, stream 0). All-or-nothing;
 * MS_ETOOBIG if the feature count exceeds GAMES_RF_MAX_TERMS. */
ms_status games_payoff_init_family(games_payoff *p, games_family fam, size_t d, size_t e, size_t Kx,
                                   size_t Ky, double coef_std, unsigned long long seed, double beta,
                                   double gamma, double delta, double eps, ms_err *err);
/* Takes ownership of a compiled expression (even on failure). */
ms_status games_payoff_init_expr(games_payoff *p, games_expr *ex, size_t d, size_t e);
void games_payoff_fini(games_payoff *p);

/* f(x, y) and (when not NULL) the gradients; scratch holds p->scratch
 * doubles. Returns a GAMES_EXPR_* code (families only fail on non-finite
 * input). */
int games_payoff_eval(const games_payoff *p, const double *x, const double *y, double *f,
                      double *gx, double *gy, double *scratch);

/* The fields above; any of U, G, W, H may be NULL (then not computed), and
 * a / b may be NULL when nothing needs them. scratch holds
 * ms_ctx_threads(ctx) × p->scratch doubles. On failure returns a
 * GAMES_EXPR_* code and, in *bad_i / *bad_j, the pair where it happened.
 * Never allocates. The random_fourier workspaces make concurrent calls on
 * one payoff unsafe. */
int games_payoff_fields(games_payoff *p, const double *x, const double *a, size_t m,
                        const double *y, const double *b, size_t n, double *U, double *G, double *W,
                        double *H, double *scratch, const ms_ctx *ctx, size_t *bad_i,
                        size_t *bad_j);

/* Blocks of rows of games_payoff_fields_both (fixed: the bits do not
 * depend on the thread count). */
#define GAMES_FIELD_BLOCKS 16

/* U, G, W, H at once for payoffs evaluated pair by pair (not
 * random_fourier, whose fields are separable): one evaluation per pair
 * instead of one per pass. Rows are split into GAMES_FIELD_BLOCKS fixed
 * blocks, each accumulating its partial W, H into part (GAMES_FIELD_BLOCKS ×
 * n × (1 + e) doubles), summed in block order. Same contract as
 * games_payoff_fields otherwise (the failing pair is the first in row-major
 * order). */
int games_payoff_fields_both(games_payoff *p, const double *x, const double *a, size_t m,
                             const double *y, const double *b, size_t n, double *U, double *G,
                             double *W, double *H, double *part, double *scratch, const ms_ctx *ctx,
                             size_t *bad_i, size_t *bad_j);

#endif
