/* games_cp.c — conic particle mirror prox / MDA / proximal point. See
 * games_cp.h; update rules from [P1] §3 and the authors' code (§6.2 of the
 * spec), with the old weights in the position metric (hence ρ = a'/a). */
#include "games_cp.h"

#include <math.h>
#include <string.h>

#include "games_mp.h"
#include "ms_alloc.h"

static void state_free(games_cp_state *s) {
    double *bufs[] = {s->la, s->a, s->x, s->lb, s->b, s->y};
    for (size_t k = 0; k < 6; k++)
        ms_free(bufs[k]);
    memset(s, 0, sizeof *s);
}

static int state_alloc(games_cp_state *s, size_t m, size_t n, size_t d, size_t e) {
    s->la = ms_calloc(m, sizeof(double));
    s->a = ms_calloc(m, sizeof(double));
    s->x = ms_calloc(m * d, sizeof(double));
    s->lb = ms_calloc(n, sizeof(double));
    s->b = ms_calloc(n, sizeof(double));
    s->y = ms_calloc(n * e, sizeof(double));
    return s->la && s->a && s->x && s->lb && s->b && s->y;
}

static void state_copy(games_cp_state *dst, const games_cp_state *src, size_t m, size_t n, size_t d,
                       size_t e) {
    memcpy(dst->la, src->la, m * sizeof(double));
    memcpy(dst->a, src->a, m * sizeof(double));
    memcpy(dst->x, src->x, m * d * sizeof(double));
    memcpy(dst->lb, src->lb, n * sizeof(double));
    memcpy(dst->b, src->b, n * sizeof(double));
    memcpy(dst->y, src->y, n * e * sizeof(double));
}

ms_status games_cp_init(games_cp *cp, games_payoff *p, const games_space *X, const games_space *Y,
                        size_t m, size_t n, size_t threads) {
    memset(cp, 0, sizeof *cp);
    size_t d = X->dim, e = Y->dim;
    int ok = state_alloc(&cp->s, m, n, d, e) && state_alloc(&cp->g, m, n, d, e) &&
             state_alloc(&cp->t, m, n, d, e) && state_alloc(&cp->snap, m, n, d, e);
    cp->U = ms_malloc(m, sizeof(double));
    cp->G = ms_malloc(m * d, sizeof(double));
    cp->W = ms_malloc(n, sizeof(double));
    cp->H = ms_malloc(n * e, sizeof(double));
    cp->scratch = ms_malloc((threads ? threads : 1) * p->scratch, sizeof(double));
    /* Pairwise payoffs compute all four fields in one pass (one
     * evaluation per pair); random_fourier has its separable path. */
    if (p->family != GAMES_FAM_RANDOM_FOURIER) {
        cp->part = ms_malloc(GAMES_FIELD_BLOCKS * n * (1 + e), sizeof(double));
        ok = ok && cp->part;
    }
    if (!ok || !cp->U || !cp->G || !cp->W || !cp->H || !cp->scratch) {
        games_cp_fini(cp);
        return MS_ENOMEM;
    }
    cp->p = p;
    cp->X = X;
    cp->Y = Y;
    cp->m = m;
    cp->n = n;
    cp->d = d;
    cp->e = e;
    cp->K = 2;
    cp->true_prox = 1;
    cp->threads = threads ? threads : 1;
    for (size_t i = 0; i < m; i++) {
        cp->s.a[i] = 1.0 / (double)m;
        cp->s.la[i] = -log((double)m);
    }
    for (size_t j = 0; j < n; j++) {
        cp->s.b[j] = 1.0 / (double)n;
        cp->s.lb[j] = -log((double)n);
    }
    return MS_OK;
}

void games_cp_fini(games_cp *cp) {
    if (!cp)
        return;
    state_free(&cp->s);
    state_free(&cp->g);
    state_free(&cp->t);
    state_free(&cp->snap);
    ms_free(cp->U);
    ms_free(cp->G);
    ms_free(cp->W);
    ms_free(cp->H);
    ms_free(cp->scratch);
    ms_free(cp->part);
    memset(cp, 0, sizeof *cp);
}

void games_cp_sync_logs(games_cp *cp) {
    for (size_t i = 0; i < cp->m; i++)
        cp->s.la[i] = log(cp->s.a[i]);
    for (size_t j = 0; j < cp->n; j++)
        cp->s.lb[j] = log(cp->s.b[j]);
}

static int fields_at(games_cp *cp, const games_cp_state *s, int grads, const ms_ctx *ctx) {
    ms_ctx c = {(int)cp->threads, ctx ? ctx->cancel : NULL};
    if (ms_ctx_threads(ctx) < c.threads)
        c.threads = ms_ctx_threads(ctx);
    if (grads && cp->part)
        return games_payoff_fields_both(cp->p, s->x, s->a, cp->m, s->y, s->b, cp->n, cp->U, cp->G,
                                        cp->W, cp->H, cp->part, cp->scratch, &c, &cp->bad_i,
                                        &cp->bad_j);
    return games_payoff_fields(cp->p, s->x, s->a, cp->m, s->y, s->b, cp->n, cp->U,
                               grads ? cp->G : NULL, cp->W, grads ? cp->H : NULL, cp->scratch, &c,
                               &cp->bad_i, &cp->bad_j);
}

static void local_metrics(games_cp *cp, const games_cp_state *s) {
    double v = 0, umin = INFINITY, wmax = -INFINITY;
    for (size_t i = 0; i < cp->m; i++) {
        v += s->a[i] * cp->U[i];
        umin = fmin(umin, cp->U[i]);
    }
    for (size_t j = 0; j < cp->n; j++)
        wmax = fmax(wmax, cp->W[j]);
    cp->value = v;
    cp->local_ni = wmax - umin;
}

int games_cp_eval_current(games_cp *cp, int grads, const ms_ctx *ctx) {
    int rc = fields_at(cp, &cp->s, grads, ctx);
    if (rc == 0)
        local_metrics(cp, &cp->s);
    return rc;
}

/* out = Φ(s; g) with the fields of g in cp->U, G, W, H. */
static void phi(games_cp *cp, const games_cp_state *s, const games_cp_state *g,
                games_cp_state *out) {
    size_t m = cp->m, n = cp->n, d = cp->d, e = cp->e;
    memcpy(out->la, s->la, m * sizeof(double));
    memcpy(out->lb, s->lb, n * sizeof(double));
    games_entropic_step(out->la, out->a, cp->U, m, cp->eta_a, -1);
    games_entropic_step(out->lb, out->b, cp->W, n, cp->eta_b, +1);
    double step[GAMES_SPACE_MAX_DIM];
    for (size_t i = 0; i < m; i++) {
        double rho = cp->true_prox ? exp(g->la[i] - s->la[i]) : 1.0;
        if (!isfinite(rho))
            rho = 0; /* a weight that underflowed to zero does not move */
        memcpy(out->x + i * d, s->x + i * d, d * sizeof(double));
        for (size_t c = 0; c < d; c++)
            step[c] = -cp->G[i * d + c];
        games_space_step(cp->X, out->x + i * d, step, cp->eta_x * rho);
    }
    for (size_t j = 0; j < n; j++) {
        double sigma = cp->true_prox ? exp(g->lb[j] - s->lb[j]) : 1.0;
        if (!isfinite(sigma))
            sigma = 0;
        memcpy(out->y + j * e, s->y + j * e, e * sizeof(double));
        games_space_step(cp->Y, out->y + j * e, cp->H + j * e, cp->eta_y * sigma);
    }
}

static void swap_states(games_cp_state *a, games_cp_state *b) {
    games_cp_state t = *a;
    *a = *b;
    *b = t;
}

int games_cp_step(games_cp *cp, const ms_ctx *ctx) {
    size_t m = cp->m, n = cp->n, d = cp->d, e = cp->e;
    state_copy(&cp->g, &cp->s, m, n, d, e);
    for (size_t k = 0; k < cp->K; k++) {
        int rc = fields_at(cp, &cp->g, 1, ctx);
        if (rc != 0)
            return rc;
        if (k == 0)
            local_metrics(cp, &cp->s); /* g = s at the first inner step */
        phi(cp, &cp->s, &cp->g, &cp->t);
        swap_states(&cp->g, &cp->t);
    }
    double mv = 0;
    for (size_t i = 0; i < m; i++)
        mv = fmax(mv, games_space_dist2(cp->X, cp->s.x + i * d, cp->g.x + i * d));
    for (size_t j = 0; j < n; j++)
        mv = fmax(mv, games_space_dist2(cp->Y, cp->s.y + j * e, cp->g.y + j * e));
    cp->max_move = sqrt(mv);
    swap_states(&cp->s, &cp->g);
    for (size_t i = 0; i < m; i++)
        if (isnan(cp->s.la[i]) || !isfinite(cp->s.x[i * d]))
            return GAMES_EXPR_NONFINITE;
    for (size_t j = 0; j < n; j++)
        if (isnan(cp->s.lb[j]) || !isfinite(cp->s.y[j * e]))
            return GAMES_EXPR_NONFINITE;
    return 0;
}

void games_cp_snapshot(games_cp *cp) {
    state_copy(&cp->snap, &cp->s, cp->m, cp->n, cp->d, cp->e);
}

void games_cp_restore(games_cp *cp) {
    state_copy(&cp->s, &cp->snap, cp->m, cp->n, cp->d, cp->e);
}

double games_eff_support(const double *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += w[i] * w[i];
    return s > 0 ? 1.0 / s : 0;
}

void games_lyapunov(const games_space *sp, const double *x, const double *a, size_t n,
                    const double *xr, const double *ar, size_t nr, double alpha, double lambda,
                    double tau, double eta_w, double eta_pos, double out[3]) {
    size_t d = sp->dim;
    double vw = 0, vpos = 0, inside = 0;
    for (size_t I = 0; I < nr; I++) {
        double ahat = 0;
        for (size_t i = 0; i < n; i++) {
            double d2 = games_space_dist2(sp, xr + I * d, x + i * d), r = sqrt(d2) / tau;
            if (r > lambda)
                continue;
            double phi = exp(-pow(r, alpha) / alpha);
            ahat += phi * a[i];
            vpos += a[i] * phi * d2 / (2 * eta_pos);
        }
        inside += ahat;
        vw += ar[I] > 0 ? ar[I] * log(ar[I] / ahat) / eta_w : 0;
    }
    out[0] = vw;
    out[1] = eta_pos > 0 ? vpos : 0;
    out[2] = (1 - inside) / eta_w;
}
