/* nets_internal.h — shared internals of the mean-field network family.
 *
 * What it is for: the pieces the kinds `two_layer`, `deconvolution` and
 * `scaling_path` (and their tests) share: the two-layer model with its
 * forward pass and mean-field gradients (nets_twolayer.c), the synthetic
 * tasks (nets_tasks.c), Langevin noise, retractions, annealing and the
 * entropy estimate (nets_mfld.c), the bilevel inner solve (nets_bilevel.c),
 * the network certificate (nets_cert.c), the tangent kernel
 * (nets_kernel.c) and the penalised scaling path (nets_scaling_pen.c).
 * Spec: shared/docs/algorithms/mean-field.md (§ numbers below refer to it).
 *
 * What it is not for: public API. Nothing here is stable outside lib/nets_*
 * and tests/test_nets_*.
 *
 * Layout: every matrix is row-major with its natural leading dimension:
 * data x is n×d (one sample per row, the bias column already appended when
 * asked), input weights w are m×d (one particle per row).
 */
#ifndef NETS_INTERNAL_H
#define NETS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ms_err.h"
#include "ms_kind.h"
#include "ms_rng.h"

typedef enum { NETS_RELU, NETS_TANH, NETS_SIGMOID } nets_act;
typedef enum { NETS_SQUARE, NETS_LOGISTIC } nets_loss;

/* ---- the two-layer model, nets_twolayer.c, nets_twolayer32.c ----------
 * f(x) = s·(1/m) Σ_i a_i σ(w_i·x) with output scale s (1 except in the lazy
 * regime, §5). R = (1/n) Σ_j ℓ(f(x_j), y_j). The residual weights stored in
 * `e` carry the factor of the output-scaled objective F = R(s f_u)/s²:
 * e_j = ℓ'(f_j, y_j)/(n s), so that the mean-field gradient of F is
 * Σ_j e_j ∇_u [a σ(w·x_j)].
 *
 * Precision: the particles, gradients, f, e and every metric are float64.
 * In float32 mode (`single`) the two GEMMs and the n×m passes between them
 * run in float32 (sgemm, float workspaces): the weights are rounded to float
 * at each forward, the products widened back to double. */
typedef struct nets_tl {
    size_t n, d, m;
    nets_act act;
    nets_loss loss;
    double out_scale;
    const double *x, *y; /* n×d and n, borrowed */
    int single;          /* float32 GEMMs and workspaces */
    /* Fused mode (set at allocation): the forward also computes the data
     * gradient's row sums, block by block while σ(P) is in cache, and no
     * n×m matrix is kept; the backward only adds the chunks' partials.
     * Unfused (the bilevel solve, which needs Φ = h): the forward keeps
     * h = σ(x wᵀ) and the backward makes its two GEMMs from it. */
    int fused;
    /* Workspaces (owned), float64 mode: */
    double *h;         /* unfused, n×m: σ(x wᵀ) after forward; σ' after backward */
    double *xe;        /* n×d: rows e_j x_j */
    double *gw2, *ga2; /* unfused, m×d, m: second row half's partials (nets__tl_splits) */
    /* fused, per chunk of rows (nets__tl_chunks): a NETS_ROW_BLOCK×m block
     * of σ(P), the m×d partial Σ_j σ'(p_ji) e_j x_j and (tanh, sigmoid)
     * the m partial Σ_j e_j σ(p_ji). */
    double *hb, *acc, *gacc;
    /* float32 mode: the same in float, x rounded once per nets__tl_set_data,
     * the weights of the last forward, the backward's m×d products and
     * scratch vectors (e: n, ga: m, matrix-vector products: n + m). */
    float *hs, *xs, *xes, *ws, *as, *gs, *es, *gas, *vs; /* unfused gs, gas: 2 halves */
    float *hbs, *accs, *gaccs;
    double *f, *e; /* n: predictor (with scale s) and residual weights */
    double *part;  /* per row block partial losses */
    size_t n_cap;  /* rows the workspaces were sized for */
} nets_tl;

/* Most rows per forward block (the block is ~1 MiB of h, a function of m)
 * and particles per backward block. Fixed for a given size, so the results
 * are bitwise the same whatever the thread count. */
#define NETS_ROW_BLOCK 256
#define NETS_COL_BLOCK 256
/* Most row chunks of the fused pass (each has its own partial sums). */
#define NETS_CHUNKS 8

/* Allocate the workspaces for up to n_cap rows and m particles, float32
 * ones when `single`, fused (see nets_tl) or not; all-or-nothing. */
ms_status nets__tl_alloc(nets_tl *t, size_t n_cap, size_t d, size_t m, int single, int fused);
void nets__tl_free(nets_tl *t);
/* Point the model at data (n <= n_cap rows). Call again whenever the
 * contents of x change (float32 mode keeps a rounded copy). */
void nets__tl_set_data(nets_tl *t, const double *x, const double *y, size_t n);
/* Forward pass: fills f, e (and unfused h = σ(x wᵀ); fused, the gradient's
 * partials) and returns R (the data loss of the scaled predictor). nt
 * threads. */
double nets__tl_forward(nets_tl *t, const double *a, const double *w, int nt);
/* Data part of the mean-field gradient at the last forward (same a, w) and
 * the current e: ga_i = Σ_j e_j σ(w_i·x_j), gw_i = a_i Σ_j e_j σ'(w_i·x_j)
 * x_j. Unfused: from the current e, destroys h; fused: the forward's e
 * (the partials were summed then). ga (m) and gw (m×d) are outputs. */
void nets__tl_backward(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                       int nt);
/* Matrix-vector products with the n×m matrix h of the last unfused
 * forward (whatever its precision): out (m) = α hᵀ v for v (n), and
 * out (n) = α h v for v (m). */
void nets__tl_htv(nets_tl *t, double alpha, const double *v, double *out);
void nets__tl_hv(nets_tl *t, double alpha, const double *v, double *out);
/* Predictor only, on other inputs (nx×d), in blocks of NETS_ROW_BLOCK rows
 * through ws (NETS_ROW_BLOCK×m doubles). out[j] = s (1/m) Σ a_i σ(w_i·x_j).
 * Always float64. */
void nets__tl_predict(const nets_tl *t, const double *a, const double *w, const double *x,
                      size_t nx, double *out, double *ws);
/* float32 pieces (nets_twolayer32.c). */
/* The forward: the weights rounded into ws, as; then rows
 * [j0, j0+nb), as the float64 block (fused: of chunk c). */
struct nets_simd;
void nets__tl_round32(nets_tl *t, const double *a, const double *w);
double nets__tl_block32(nets_tl *t, const struct nets_simd *k, size_t c, size_t j0, size_t nb,
                        int first);
void nets__tl_backward32(nets_tl *t, const double *a, const double *w, double *ga, double *gw,
                         int nt);
/* Threads worth starting for this size (below ~10^6 multiply-adds a
 * parallel region costs more than it saves). */
int nets__tl_threads(const nets_tl *t, int nt);
/* Rows per forward block: a function of m and the precision only. */
size_t nets__tl_row_block(const nets_tl *t);
/* Row halves of the unfused backward: 2 when m <= NETS_COL_BLOCK (one
 * column block) and n >= 2 NETS_ROW_BLOCK, else 1. A function of the sizes
 * only. */
size_t nets__tl_splits(const nets_tl *t);
/* Row chunks of the fused pass for n rows: min(NETS_CHUNKS, blocks of
 * NETS_ROW_BLOCK rows). A function of n only. */
size_t nets__tl_chunks(size_t n);

/* Elementwise passes over rows of h, compiled for the CPU's vector width
 * (nets_simd.c); pick the table once per call. */
typedef struct nets_simd {
    /* For nb rows of h (m entries each, contiguous): acc_j = Σ_i a_i
     * relu(h_ji); h ← 1[h > 0] (mask) or relu(h) (keep). */
    void (*relu_mask_d)(double *restrict h, const double *restrict a, size_t nb, size_t m,
                        double *restrict acc);
    void (*relu_keep_d)(double *restrict h, const double *restrict a, size_t nb, size_t m,
                        double *restrict acc);
    void (*relu_mask_f)(float *restrict h, const float *restrict a, size_t nb, size_t m,
                        float *restrict acc);
    void (*relu_keep_f)(float *restrict h, const float *restrict a, size_t nb, size_t m,
                        float *restrict acc);
    double (*dot_d)(const double *restrict x, const double *restrict a, size_t m);
    float (*dot_f)(const float *restrict x, const float *restrict a, size_t m);
    /* σ' in place from h = σ(p): nb rows of mb entries at stride ld. */
    void (*dact_d)(nets_act act, double *restrict h, size_t nb, size_t mb, size_t ld);
    void (*dact_f)(nets_act act, float *restrict h, size_t nb, size_t mb, size_t ld);
    /* out_j = e_j x_j for nb rows of d entries. */
    void (*scale_d)(double *restrict out, const double *restrict x, const double *restrict e,
                    size_t nb, size_t d);
    void (*scale_f)(float *restrict out, const float *restrict x, const float *restrict e,
                    size_t nb, size_t d);
    /* For nb rows φ_j of phi (m entries each, contiguous): u_j = φ_j·v
     * (stored when u), acc += (α u_j − β y_j) φ_j (y NULL: 0) and, when
     * acc2, acc2 += y_j φ_j; in double. */
    void (*gram_d)(const double *restrict phi, const double *restrict v, const double *restrict y,
                   double alpha, double beta, size_t nb, size_t m, double *restrict u,
                   double *restrict acc, double *restrict acc2);
    void (*gram_f)(const float *restrict phi, const double *restrict v, const double *restrict y,
                   double alpha, double beta, size_t nb, size_t m, double *restrict u,
                   double *restrict acc, double *restrict acc2);
} nets_simd;
const nets_simd *nets__simd_table(void);
/* σ applied in place to n floats (through float64 exp for tanh, sigmoid). */
void nets__act32(nets_act act, float *v, size_t n);
/* Loss ℓ(f, y) and derivative ℓ'(f, y). */
double nets__loss(nets_loss l, double f, double y, double *dl);
/* σ applied in place to n values. */
void nets__act(nets_act act, double *v, size_t n);
/* σ' expressed through h = σ(p). */
static inline double nets__dact(nets_act act, double h) {
    switch (act) {
    case NETS_RELU:
        return h > 0 ? 1.0 : 0.0;
    case NETS_TANH:
        return 1.0 - h * h;
    default:
        return h * (1.0 - h);
    }
}

/* ---- synthetic tasks, nets_tasks.c (§7) -------------------------------- */
typedef enum {
    NETS_TASK_TEACHER,  /* T1 */
    NETS_TASK_NEURON,   /* T2 */
    NETS_TASK_REGRESS,  /* T4 */
    NETS_TASK_CLUSTERS, /* T5 */
    NETS_TASK_DATA      /* arrays given in the request */
} nets_task_kind;

typedef struct nets_task {
    nets_task_kind kind;
    size_t d_in;      /* input dimension before the bias column */
    int bias;         /* append a constant 1 */
    int gaussian;     /* inputs N(0, I) instead of uniform on the sphere */
    nets_act act;     /* teacher activation */
    size_t m0;        /* teacher neurons */
    double c;         /* teacher scale */
    int random_signs; /* T1: teacher output weights ±1 at random */
    double noise;     /* label noise σ */
    int smooth;       /* T4: smooth target (else random) */
    size_t k;         /* T5: clusters per axis */
    double *wstar;    /* m0×d_in teacher input weights */
    double *astar;    /* m0 teacher output weights */
    double *labels;   /* T5: k² cluster labels ±1 */
} nets_task;

/* Draw the teacher (T1/T2) or cluster labels (T5) from rng; all-or-nothing. */
ms_status nets__task_init(nets_task *t, ms_rng *rng);
void nets__task_free(nets_task *t);
/* Input dimension with the bias column. */
static inline size_t nets__task_dim(const nets_task *t) {
    return t->d_in + (t->bias ? 1 : 0);
}
/* Draw n samples: x (n × nets__task_dim), y (n). Not for NETS_TASK_DATA. */
void nets__task_sample(const nets_task *t, ms_rng *rng, size_t n, double *x, double *y);
/* Noise-free target of the task at one input row (d_in entries, no bias). */
double nets__task_target(const nets_task *t, const double *x);

/* ---- Langevin pieces, nets_mfld.c (§4) --------------------------------- */
/* Stream of the noise of particle i at iteration `it`: counter-based, so
 * the bits do not depend on how particles are split among threads. */
static inline uint64_t nets__noise_stream(size_t it, size_t i) {
    return ((uint64_t)(it + 1) << 32) + (uint64_t)i;
}
/* Project v on the tangent space of the unit sphere at th (d entries). */
void nets__tangent(const double *th, double *v, size_t d);
/* Renormalise to unit length (leaves a zero vector unchanged). */
void nets__normalize(double *v, size_t d);
/* Kozachenko–Leonenko estimate of ∫ν log ν for m points of dimension D
 * (rows of length ld) with k-th neighbour distances (k = 4). On the sphere
 * (sphere != 0) D is the intrinsic dimension, distances are chordal and the
 * result is relative to the uniform law. Allocation-free: ws holds m
 * doubles. Returns NaN when m <= k. */
double nets__entropy_kl(const double *pts, size_t m, size_t ld, size_t D, int sphere, double *ws,
                        int nt);
/* Digamma for x > 0. */
double nets__digamma(double x);

typedef enum { NETS_ANNEAL_NONE, NETS_ANNEAL_GEOMETRIC, NETS_ANNEAL_LOG } nets_anneal_kind;
typedef struct nets_anneal {
    nets_anneal_kind kind;
    double tau0, gamma, power, tau_min, t0;
    size_t stage_iters;
    /* running state */
    size_t stage, stage_left;
    double tau;
    int finished; /* geometric: τ fell below τ_min */
} nets_anneal;
void nets__anneal_start(nets_anneal *s);
/* Temperature for iteration t (0-based); advances the stage counter. */
double nets__anneal_next(nets_anneal *s, size_t t);

/* ---- bilevel inner solve, nets_bilevel.c (§4) -------------------------- */
typedef struct nets_bilevel {
    size_t n, m, d;
    double lambda;
    nets_loss loss;
    size_t newton_iter;
    double newton_tol;
    double *sys;  /* min(n,m)² (square) or m² (logistic) system */
    double *rhs;  /* max(n,m) */
    double *dl2;  /* 2n + m: Newton scratch (logistic) */
    double *phid; /* n×m: Φ diag(ℓ'') for the Newton matrix (logistic only) */
    /* float32 mode: the Gram matrix is formed in float (sys32) and widened
     * into sys; the Cholesky solve stays float64 (O(min(n,m)³), a small
     * share of the step, and robust for small λ). phid32 replaces phid. */
    float *sys32, *phid32;
    double inner_residual;
    /* Square loss, m <= n: the factor left in sys by the last direct solve
     * preconditions conjugate gradients on the next systems (nets_bilevel.c);
     * `reuse` (set by the caller: full-batch data) allows it. cg: 5m +
     * 2·NETS_CHUNKS·m scratch. */
    int reuse, have_fac;
    size_t cg_iters; /* the last solve's CG iterations (0: direct) */
    size_t cg_rest;  /* solves left before CG is tried again */
    size_t fac_age;  /* solves since the factor was made */
    double *cg;
    void *half; /* k×k, working precision: the Gram matrix's second half (small k) */
} nets_bilevel;
ms_status nets__bilevel_alloc(nets_bilevel *b, size_t n, size_t m, size_t d, nets_loss loss,
                              int single);
void nets__bilevel_free(nets_bilevel *b);
/* Given Φ = t's h (after a non-fused forward with a = r), solve the inner problem for
 * r (in/out: warm start for logistic), then refresh t->f, t->e and return R.
 * Fails with MS_ENUMERIC when the system is not positive definite. */
ms_status nets__bilevel_solve(nets_bilevel *b, nets_tl *t, double *r, double *loss, ms_err *err,
                              int nt);

/* ---- certificate of the ReLU TV problem, nets_cert.c (§1, §8) ---------- */
/* Lower bound of max_{|w̄|=1} |Σ_j e_j relu(w̄·x_j)| over the particle
 * directions, `n_rand` random directions from rng and a few projected
 * ascent steps. ws: NETS_ROW_BLOCK·n + 3d doubles. */
double nets__cert_relu(const double *x, const double *e, size_t n, size_t d, const double *w,
                       size_t m, size_t n_rand, ms_rng *rng, double *ws);
size_t nets__cert_ws(size_t n, size_t d);

/* ---- tangent kernel, nets_kernel.c (§5) -------------------------------- */
/* K(x,x') = (1/m) Σ_i [σ_i(x)σ_i(x') + a_i² σ'_i(x)σ'_i(x') x·x'] on the
 * rows of xp (p×d); K is p×p. ws: 2·p·m doubles. */
void nets__tangent_kernel(const nets_tl *t, const double *a, const double *w, const double *xp,
                          size_t p, double *K, double *ws);

/* ---- penalised scaling path (B), nets_scaling_pen.c (§6) --------------
 * J(u) = (1/m) Σ_i |u_i − u0_i|² + L(f_u)/ρ over u = [a (m) | w (m×d)]
 * (one contiguous block, u0 likewise; t's output scale must be 1), one
 * L-BFGS iteration per call. G = m ∇J (mean-field units). */
#define NETS_PEN_KINKS 2 /* kinks relaxed per particle */
#define NETS_PEN_MAXD 64 /* kinks are relaxed only when d <= this */
typedef struct nets_pen {
    size_t n, m, d, N, pairs; /* data, particles, input dim, N = m(1+d), pairs kept */
    double inv_rho;           /* 1/ρ */
    /* At the current point: J, its parts, |G|_rms, |2(u−u0)|_rms + |gd/ρ|_rms */
    double obj, loss, pen, gnorm, gscale;
    double *g, *gd;             /* N: G and the data part gd = m ∇L (kinks relaxed) */
    double *gb, *e;             /* N: the backward's gd; n: its residual weights */
    size_t *kink;               /* m×NETS_PEN_KINKS: 1 + j of a kink w_i·x_j ≈ 0, or 0 */
    double *theta;              /* m×NETS_PEN_KINKS: its coefficient in [0, 1] */
    const double *x;            /* the data of the last grad (borrowed) */
    double *gd_old, *u_old, *p; /* N: previous point and gd, direction */
    double *S, *DG, *Y;         /* pairs×N: steps s, Δgd, y = 2s + Δgd/ρ */
    double *ry, *coef;          /* pairs: 1/(sᵀy) (0: pair skipped), two-loop scratch */
    size_t npairs, head, evals; /* pairs stored, next slot, objective evaluations */
} nets_pen;
/* All-or-nothing; n data rows, pairs >= 1. ρ starts at 1. */
ms_status nets__pen_alloc(nets_pen *P, size_t n, size_t m, size_t d, size_t pairs);
void nets__pen_free(nets_pen *P);
/* J at u (one forward of t): sets obj, loss, pen; returns J. */
double nets__pen_eval(nets_pen *P, nets_tl *t, const double *u, const double *u0, int nt);
/* G at u, right after nets__pen_eval at the same u (one backward). ReLU
 * with d <= NETS_PEN_MAXD: the terms of kinks w_i·x_j ≈ 0 (J is not
 * differentiable there) take the coefficient in [0, 1] that minimises |G|,
 * and iterations keep particles on kinks where that coefficient is inside. */
void nets__pen_grad(nets_pen *P, nets_tl *t, const double *u, const double *u0, int nt);
/* New ρ at the same point: J, G and the stored pairs are rebuilt without
 * evaluating the network (after eval and grad at u). */
void nets__pen_set_rho(nets_pen *P, double rho, const double *u, const double *u0);
/* |G|_rms / (|2(u−u0)|_rms + |gd/ρ|_rms), 0 when both parts vanish. */
double nets__pen_rel_grad(const nets_pen *P);
/* Drop the curvature pairs. */
void nets__pen_forget(nets_pen *P);
/* One L-BFGS iteration with Armijo backtracking from the current point
 * (eval and grad done): u, J, G updated. Returns 0, or 1 when no step
 * decreased J (u and the state unchanged, pairs dropped). */
int nets__pen_iterate(nets_pen *P, nets_tl *t, double *u, const double *u0, int nt);

#endif
