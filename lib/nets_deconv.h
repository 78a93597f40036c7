/* nets_deconv.h — sparse deconvolution on the torus as a particle system
 * (internal to lib/nets_deconv*.c and tests).
 *
 * What it is for: T3 of mean-field.md §7: a signed measure of spikes on
 * T^D = [0, 2π)^D (D = 1 or 2), observed through a kernel ψ on the grid
 * x_s = 2πs/N (N^D points), and the particle model
 *   f(x) = (1/m) Σ_i c_i ψ(x − θ_i),  c_i = r_i (PGD lift) or r_i|r_i| (conic),
 *   R = (1/(2N^D)) Σ_s (f(x_s) − y_s)²,
 * its certificate g(θ) = Σ_s e_s ψ(x_s − θ), e_s = (f_s − y_s)/N^D, and ∇g.
 * In 2-D ψ(x) = ψ1(x1) ψ1(x2) (tensor kernel) and everything factorises
 * into products of N×m matrices.
 */
#ifndef NETS_DECONV_H
#define NETS_DECONV_H

#include <stddef.h>

#include "ms_err.h"

typedef enum { NETS_DIRICHLET, NETS_GAUSSIAN } nets_kernel_kind;

typedef struct nets_kernel {
    nets_kernel_kind kind;
    int K;        /* Dirichlet order: ψ(t) = Σ_{|k|≤K} e^{ikt} */
    double sigma; /* Gaussian width (periodised over |p| ≤ 2) */
} nets_kernel;

/* ψ1(t) and ψ1'(t) (dpsi may be NULL). */
double nets__psi(const nets_kernel *k, double t, double *dpsi);

typedef struct nets_deconv {
    nets_kernel ker;
    size_t D, N, nobs, m; /* nobs = N^D */
    int fixed;            /* positions never move: kernel matrices computed once */
    int have_mats;
    const double *y; /* nobs observations, row-major in 2-D (borrowed) */
    /* Workspaces, N×m each (axis 1, axis 2 and their derivatives), and
     * T = E·A2, Tp = E·A2' (2-D only). */
    double *A1, *A1p, *A2, *A2p, *T, *Tp;
    double *f, *e; /* nobs */
    double *c;     /* m: the weights c_i */
} nets_deconv;

ms_status nets__deconv_alloc(nets_deconv *dc, size_t D, size_t N, size_t m);
void nets__deconv_free(nets_deconv *dc);
/* Forward at positions th (m×D) and weights c: f, e; returns R. */
double nets__deconv_forward(nets_deconv *dc, const double *th, const double *c);
/* After a forward: g(θ_i) into g (m) and ∇g(θ_i) into dg (m×D). */
void nets__deconv_grad(nets_deconv *dc, double *g, double *dg);
/* max over a grid of G points per axis of |g|, with e from the last
 * forward. ws: G·N + (D == 2 ? G·N + G·G : G) doubles. */
double nets__deconv_cert(const nets_deconv *dc, size_t G, double *ws);
size_t nets__deconv_cert_ws(size_t D, size_t N, size_t G);
/* Wrap into [0, 2π). */
double nets__wrap(double t);
/* Wrap-around distance on the circle, in [0, π]. */
double nets__circ_dist(double a, double b);

/* Merge particles closer than `radius` (torus distance per axis, max
 * norm), heaviest first; outputs cluster positions (≤ m rows of D) and
 * summed weights; returns the cluster count. w are the particle weights
 * (c_i/m). ws: m ints' worth (size_t). */
size_t nets__merge(const double *th, const double *w, size_t m, size_t D, double radius,
                   double *pos, double *wt, size_t *ws);

#endif
