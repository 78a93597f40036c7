/* nets_tasks.c — the seeded synthetic tasks of the mean-field spec (§7).
 *
 * What it is for: T1 teacher–student ReLU (also tanh/sigmoid teachers),
 * T2 single neuron, T4 1-D regression, T5 clusters classification (authors'
 * code of "Implicit Bias of Gradient Descent for Wide Two-layer Neural
 * Networks Trained with the Logistic Loss"). A task is drawn once (teacher,
 * cluster labels) and then sampled any number of times from an ms_rng, so
 * online training draws fresh batches from the same law.
 *
 * What it is not for: T3 (spikes on the torus) lives with deconvolution.
 */
#include <math.h>
#include <string.h>

#include "ms_alloc.h"
#include "nets_internal.h"

static void unit_vector(ms_rng *rng, double *v, size_t d) {
    double s;
    do {
        ms_rng_normals(rng, v, d);
        s = 0;
        for (size_t k = 0; k < d; k++)
            s += v[k] * v[k];
    } while (!(s > 1e-300));
    s = 1.0 / sqrt(s);
    for (size_t k = 0; k < d; k++)
        v[k] *= s;
}

ms_status nets__task_init(nets_task *t, ms_rng *rng) {
    t->wstar = t->astar = t->labels = NULL;
    if (t->kind == NETS_TASK_TEACHER || t->kind == NETS_TASK_NEURON) {
        if (t->kind == NETS_TASK_NEURON)
            t->m0 = 1;
        t->wstar = ms_malloc(t->m0 * t->d_in, sizeof(double));
        t->astar = ms_malloc(t->m0, sizeof(double));
        if (!t->wstar || !t->astar) {
            nets__task_free(t);
            return MS_ENOMEM;
        }
        for (size_t k = 0; k < t->m0; k++)
            unit_vector(rng, t->wstar + k * t->d_in, t->d_in);
        for (size_t k = 0; k < t->m0; k++)
            t->astar[k] = 1.0;
        if (t->kind == NETS_TASK_TEACHER && t->random_signs)
            for (size_t k = 0; k < t->m0; k++)
                t->astar[k] = ms_rng_uniform(rng) < 0.5 ? -1.0 : 1.0;
        if (t->kind == NETS_TASK_NEURON)
            t->c = 1.0;
    } else if (t->kind == NETS_TASK_CLUSTERS) {
        size_t kk = t->k * t->k;
        t->labels = ms_malloc(kk, sizeof(double));
        if (!t->labels)
            return MS_ENOMEM;
        /* A random half of the clusters is labelled +1: shuffle, then split. */
        for (size_t i = 0; i < kk; i++)
            t->labels[i] = i < kk / 2 ? 1.0 : -1.0;
        for (size_t i = kk; i > 1; i--) {
            size_t j = (size_t)ms_rng_below(rng, i);
            double tmp = t->labels[i - 1];
            t->labels[i - 1] = t->labels[j];
            t->labels[j] = tmp;
        }
    }
    return MS_OK;
}

void nets__task_free(nets_task *t) {
    if (!t)
        return;
    ms_free(t->wstar);
    ms_free(t->astar);
    ms_free(t->labels);
    t->wstar = t->astar = t->labels = NULL;
}

static double act1(nets_act a, double p) {
    switch (a) {
    case NETS_RELU:
        return p > 0 ? p : 0;
    case NETS_TANH:
        return tanh(p);
    default:
        return 1.0 / (1.0 + exp(-p));
    }
}

/* T5 cluster centre coordinate p (0-based) on one axis: Δ(1+3p) − ½. */
static double centre(size_t k, size_t p) {
    double delta = 1.0 / (3.0 * (double)k - 1.0);
    return delta * (1.0 + 3.0 * (double)p) - 0.5;
}

double nets__task_target(const nets_task *t, const double *x) {
    switch (t->kind) {
    case NETS_TASK_TEACHER:
    case NETS_TASK_NEURON: {
        double f = 0;
        for (size_t k = 0; k < t->m0; k++) {
            const double *w = t->wstar + k * t->d_in;
            double p = 0;
            for (size_t q = 0; q < t->d_in; q++)
                p += w[q] * x[q];
            f += t->astar[k] * act1(t->act, p);
        }
        return t->c * f;
    }
    case NETS_TASK_REGRESS:
        return t->smooth ? sin(M_PI * x[0]) : NAN;
    case NETS_TASK_CLUSTERS: {
        /* Label of the nearest centre. */
        size_t best = 0;
        double bd = INFINITY;
        for (size_t p = 0; p < t->k; p++)
            for (size_t q = 0; q < t->k; q++) {
                double dx = x[0] - centre(t->k, p), dy = x[1] - centre(t->k, q);
                if (dx * dx + dy * dy < bd) {
                    bd = dx * dx + dy * dy;
                    best = p * t->k + q;
                }
            }
        return t->labels[best];
    }
    default:
        return NAN;
    }
}

void nets__task_sample(const nets_task *t, ms_rng *rng, size_t n, double *x, double *y) {
    const size_t d = nets__task_dim(t), din = t->d_in;
    for (size_t j = 0; j < n; j++) {
        double *row = x + j * d;
        switch (t->kind) {
        case NETS_TASK_TEACHER:
        case NETS_TASK_NEURON:
            if (t->gaussian)
                ms_rng_normals(rng, row, din);
            else
                unit_vector(rng, row, din);
            y[j] = nets__task_target(t, row) + (t->noise > 0 ? t->noise * ms_rng_normal(rng) : 0);
            break;
        case NETS_TASK_REGRESS:
            for (size_t q = 0; q < din; q++)
                row[q] = 2.0 * ms_rng_uniform(rng) - 1.0;
            y[j] = t->smooth ? nets__task_target(t, row) : 2.0 * ms_rng_uniform(rng) - 1.0;
            if (t->noise > 0)
                y[j] += t->noise * ms_rng_normal(rng);
            break;
        case NETS_TASK_CLUSTERS: {
            size_t c = (size_t)ms_rng_below(rng, t->k * t->k);
            double delta = 1.0 / (3.0 * (double)t->k - 1.0);
            double rad = delta * ms_rng_uniform(rng), om = 2.0 * M_PI * ms_rng_uniform(rng);
            row[0] = centre(t->k, c / t->k) + rad * cos(om);
            row[1] = centre(t->k, c % t->k) + rad * sin(om);
            for (size_t q = 2; q < din; q++)
                row[q] = ms_rng_uniform(rng) - 0.5;
            y[j] = t->labels[c];
            break;
        }
        default:
            memset(row, 0, din * sizeof(double));
            y[j] = 0;
            break;
        }
        if (t->bias)
            row[din] = 1.0;
    }
}
