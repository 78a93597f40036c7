/* games_br.c — best-response searches. See games_br.h. */
#include "games_br.h"

#include <math.h>
#include <string.h>

#include "ms_alloc.h"

ms_status games_br_init(games_br *br, const games_space *sp, size_t own_max, const games_br_opts *o,
                        unsigned long long seed, unsigned long long stream) {
    memset(br, 0, sizeof *br);
    size_t d = sp->dim;
    size_t ng = games_space_search_grid(sp, o->grid_step, o->grid_max, NULL);
    size_t base = ng ? ng : o->starts;
    size_t cap = base + own_max;
    br->cand = ms_malloc(cap * d, sizeof(double));
    br->val = ms_malloc(cap, sizeof(double));
    br->grad = ms_malloc(cap * d, sizeof(double));
    br->z = ms_malloc(2 * d, sizeof(double));
    if (!br->cand || !br->val || !br->grad || !br->z) {
        games_br_fini(br);
        return MS_ENOMEM;
    }
    br->zt = br->z + d;
    br->sp = sp;
    br->o = *o;
    br->base = base;
    br->has_grid = ng > 0;
    /* A grid of a euclidean space covers only its search box. */
    br->full_grid = ng > 0 && sp->type != GAMES_EUCLIDEAN;
    br->cap = cap;
    if (ng)
        games_space_search_grid(sp, o->grid_step, o->grid_max, br->cand);
    ms_rng_init(&br->rng, seed, stream);
    return MS_OK;
}

void games_br_fini(games_br *br) {
    if (!br)
        return;
    ms_free(br->cand);
    ms_free(br->val);
    ms_free(br->grad);
    ms_free(br->z);
    memset(br, 0, sizeof *br);
}

/* Values (and gradients) of the maximised function g at k points z. */
static int evaluate(games_payoff *p, int side, const double *other, const double *w_other,
                    size_t n_other, const double *z, size_t k, double *val, double *grad,
                    double *scratch, const ms_ctx *ctx) {
    size_t bi, bj;
    int rc;
    if (side == 0) {
        rc = games_payoff_fields(p, z, NULL, k, other, w_other, n_other, val, grad, NULL, NULL,
                                 scratch, ctx, &bi, &bj);
        for (size_t i = 0; i < k; i++)
            val[i] = -val[i];
        for (size_t i = 0; grad && i < k * p->d; i++)
            grad[i] = -grad[i];
    } else {
        rc = games_payoff_fields(p, other, w_other, n_other, z, NULL, k, NULL, NULL, val, grad,
                                 scratch, ctx, &bi, &bj);
    }
    return rc;
}

int games_br_search(games_br *br, games_payoff *p, int side, const double *other,
                    const double *w_other, size_t n_other, const double *own, size_t n_own,
                    double *scratch, const ms_ctx *ctx, double *best, double *argbest) {
    const games_space *sp = br->sp;
    size_t d = sp->dim;
    if (n_own > br->cap - br->base)
        n_own = br->cap - br->base;
    if (!br->has_grid)
        for (size_t k = 0; k < br->base; k++)
            games_space_sample(sp, &br->rng, br->cand + k * d);
    memcpy(br->cand + br->base * d, own, n_own * d * sizeof(double));
    size_t G = br->base + n_own;
    int rc = evaluate(p, side, other, w_other, n_other, br->cand, G, br->val, NULL, scratch, ctx);
    if (rc != GAMES_EXPR_OK)
        return rc;
    size_t ib = 0;
    for (size_t k = 1; k < G; k++)
        if (br->val[k] > br->val[ib])
            ib = k;
    *best = br->val[ib];
    memcpy(argbest, br->cand + ib * d, d * sizeof(double));
    /* Refine the best few candidates: pick them by repeated scans (R is
     * small), marking each taken one with −Inf. */
    double ext = games_space_extent(sp);
    for (size_t r = 0; r < br->o.refine && r < G; r++) {
        size_t k = 0;
        for (size_t c = 1; c < G; c++)
            if (br->val[c] > br->val[k])
                k = c;
        if (br->val[k] == -INFINITY)
            break;
        double *z = br->z, *zt = br->zt, g[GAMES_SPACE_MAX_DIM], gt[GAMES_SPACE_MAX_DIM], v, vt;
        memcpy(z, br->cand + k * d, d * sizeof(double));
        br->val[k] = -INFINITY;
        rc = evaluate(p, side, other, w_other, n_other, z, 1, &v, g, scratch, ctx);
        if (rc != GAMES_EXPR_OK)
            return rc;
        double gn = 0;
        for (size_t c = 0; c < d; c++)
            gn += g[c] * g[c];
        double t = gn > 0 ? 1e-2 * ext / sqrt(gn) : 0;
        for (size_t s = 0; s < br->o.refine_steps && t > 0; s++) {
            int accepted = 0;
            for (int h = 0; h < 40 && !accepted; h++) {
                memcpy(zt, z, d * sizeof(double));
                games_space_step(sp, zt, g, t);
                double dz[GAMES_SPACE_MAX_DIM], slope = 0;
                games_space_diff(sp, z, zt, dz);
                for (size_t c = 0; c < d; c++)
                    slope += g[c] * dz[c];
                rc = evaluate(p, side, other, w_other, n_other, zt, 1, &vt, gt, scratch, ctx);
                if (rc != GAMES_EXPR_OK)
                    return rc;
                /* Armijo on the actual displacement (the retraction may
                 * shorten the step); slope ≤ 0 means no ascent direction
                 * is left inside the space. */
                if (slope > 0 && vt >= v + 1e-4 * slope) {
                    accepted = 1;
                } else {
                    t *= 0.5;
                }
            }
            if (!accepted)
                break;
            double gain = vt - v;
            memcpy(z, zt, d * sizeof(double));
            memcpy(g, gt, d * sizeof(double));
            v = vt;
            t *= 2;
            if (gain <= 1e-16 * (1 + fabs(v)))
                break;
        }
        if (v > *best) {
            *best = v;
            memcpy(argbest, z, d * sizeof(double));
        }
    }
    return GAMES_EXPR_OK;
}
