/* ms_kind.c — helpers of the solver contract. See ms_kind.h. */
#include "ms_kind.h"

#include <math.h>
#include <string.h>

void ms_progress_set(ms_progress *p, const char *name, double value) {
    for (size_t i = 0; i < p->n_metrics; i++)
        if (p->metrics[i].name == name || strcmp(p->metrics[i].name, name) == 0) {
            p->metrics[i].value = value;
            return;
        }
    if (p->n_metrics < MS_METRICS_MAX) {
        p->metrics[p->n_metrics].name = name;
        p->metrics[p->n_metrics].value = value;
        p->n_metrics++;
    }
}

double ms_progress_get(const ms_progress *p, const char *name) {
    for (size_t i = 0; i < p->n_metrics; i++)
        if (strcmp(p->metrics[i].name, name) == 0)
            return p->metrics[i].value;
    return NAN;
}

void ms_progress_clear_metrics(ms_progress *p) {
    p->n_metrics = 0;
}

ms_status ms_kind_validate(const ms_kind *k, const void *params, ms_errlist *errs) {
    ms_status s = ms_params_validate(k->params, params, errs);
    /* Cross-field checks assume each field is valid on its own. */
    if (s == MS_OK && k->check)
        s = k->check(params, errs);
    return s;
}
