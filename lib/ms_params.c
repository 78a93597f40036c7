/* ms_params.c — defaults, validation and release driven by field tables.
 * See ms_params.h for the storage conventions. */
#include "ms_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_alloc.h"

#define AT(p, off, type) ((type *)((char *)(p) + (off)))
#define CAT(p, off, type) ((const type *)((const char *)(p) + (off)))

void ms_params_defaults(const ms_fields *fs, void *p) {
    memset(p, 0, fs->size);
    for (size_t k = 0; k < fs->n; k++) {
        const ms_field *f = &fs->f[k];
        switch (f->type) {
        case MS_F_DOUBLE:
            *AT(p, f->offset, double) = f->def;
            break;
        case MS_F_INT:
            *AT(p, f->offset, long long) = isnan(f->def) ? MS_INT_ABSENT : (long long)f->def;
            break;
        case MS_F_BOOL:
            *AT(p, f->offset, int) = !isnan(f->def) && f->def != 0;
            break;
        case MS_F_ENUM:
            *AT(p, f->offset, int) = f->def_str ? ms_enum_index(f->choices, f->def_str) : -1;
            break;
        case MS_F_OBJECT:
            /* The nested struct starts with `int present`; its defaults are
             * written so that a kind may read them even when absent. */
            ms_params_defaults(f->sub, AT(p, f->offset, char));
            break;
        default:
            break; /* strings, arrays, measures, dicts, lists: zero = absent */
        }
    }
}

/* Path of a field below `prefix` ("" at top level). */
static void join(char *out, size_t cap, const char *prefix, const char *name) {
    if (prefix && prefix[0])
        snprintf(out, cap, "%s/%s", prefix, name);
    else
        snprintf(out, cap, "%s", name);
}

static int out_of_bounds(const ms_field *f, double x, char *why, size_t cap) {
    const char *op = NULL;
    double lim = 0;
    if ((f->flags & MS_FF_MIN_EXCL) && !(x > f->min))
        op = ">", lim = f->min;
    else if ((f->flags & MS_FF_MIN) && !(x >= f->min))
        op = ">=", lim = f->min;
    else if ((f->flags & MS_FF_MAX_EXCL) && !(x < f->max))
        op = "<", lim = f->max;
    else if ((f->flags & MS_FF_MAX) && !(x <= f->max))
        op = "<=", lim = f->max;
    if (!op)
        return 0;
    char a[32], b[32];
    ms_fmt_double(a, sizeof a, lim);
    ms_fmt_double(b, sizeof b, x);
    snprintf(why, cap, "must be %s %s, got %s", op, a, b);
    return 1;
}

/* Check an array of doubles against the field's element rules; reports the
 * first offending entry only (one error per field). */
static void check_array(const ms_field *f, const double *v, size_t n, size_t cols, const char *path,
                        ms_errlist *errs) {
    char why[160], at[MS_ERR_FIELD_MAX];
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        const char *bad = NULL;
        if (isnan(x) || (isinf(x) && !(f->flags & MS_FF_ALLOW_NONFINITE)))
            bad = "must be a finite number";
        else if ((f->flags & MS_FF_INTEGER) && x != floor(x))
            bad = "must be an integer";
        else if (out_of_bounds(f, x, why, sizeof why))
            bad = why;
        if (bad) {
            if (cols)
                snprintf(at, sizeof at, "%s/%zu/%zu", path, i / cols, i % cols);
            else
                snprintf(at, sizeof at, "%s/%zu", path, i);
            ms_errlist_addf(errs, MS_EINVAL, at, "%s", bad);
            return;
        }
    }
}

static void check_measure(const ms_field *f, const ms_measure *m, const char *path,
                          ms_errlist *errs) {
    char at[MS_ERR_FIELD_MAX];
    if (m->n == 0) {
        ms_errlist_addf(errs, MS_EINVAL, path, "measure must have at least one point");
        return;
    }
    if (f->max_len && m->n > f->max_len) {
        ms_errlist_addf(errs, MS_EINVAL, path, "measure has %zu points, at most %zu allowed", m->n,
                        f->max_len);
        return;
    }
    if (!m->points && !(f->flags & MS_FF_POINTS_OPTIONAL)) {
        join(at, sizeof at, path, "points");
        ms_errlist_addf(errs, MS_EINVAL, at, "is required");
        return;
    }
    if (m->points) {
        if (m->d == 0) {
            join(at, sizeof at, path, "points/0");
            ms_errlist_addf(errs, MS_EINVAL, at, "points must have dimension >= 1");
            return;
        }
        for (size_t i = 0; i < m->n * m->d; i++)
            if (!isfinite(m->points[i])) {
                snprintf(at, sizeof at, "%s/points/%zu/%zu", path, i / m->d, i % m->d);
                ms_errlist_addf(errs, MS_EINVAL, at, "must be a finite number");
                return;
            }
    }
    double sum = 0;
    for (size_t i = 0; i < m->n; i++) {
        double w = m->weights[i];
        if (!isfinite(w) || w < 0) {
            snprintf(at, sizeof at, "%s/weights/%zu", path, i);
            ms_errlist_addf(errs, MS_EINVAL, at, "weights must be finite and non-negative");
            return;
        }
        sum += w;
    }
    if (!(sum > 0) || !isfinite(sum)) {
        join(at, sizeof at, path, "weights");
        ms_errlist_addf(errs, MS_EINVAL, at, "weights must have a positive finite sum");
    }
}

static void validate_in(const ms_fields *fs, const void *p, const char *prefix, ms_errlist *errs) {
    char path[MS_ERR_FIELD_MAX], why[160];
    for (size_t k = 0; k < fs->n; k++) {
        const ms_field *f = &fs->f[k];
        int req = (f->flags & MS_FF_REQUIRED) != 0;
        join(path, sizeof path, prefix, f->name);
        switch (f->type) {
        case MS_F_DOUBLE: {
            double x = *CAT(p, f->offset, double);
            if (isnan(x)) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            } else if (!isfinite(x)) {
                ms_errlist_addf(errs, MS_EINVAL, path, "must be a finite number");
            } else if (out_of_bounds(f, x, why, sizeof why)) {
                ms_errlist_addf(errs, MS_EINVAL, path, "%s", why);
            }
            break;
        }
        case MS_F_INT: {
            long long x = *CAT(p, f->offset, long long);
            if (x == MS_INT_ABSENT) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            } else if (out_of_bounds(f, (double)x, why, sizeof why)) {
                /* Bounds print as doubles; integers below 2^53 print exactly. */
                ms_errlist_addf(errs, MS_EINVAL, path, "%s", why);
            }
            break;
        }
        case MS_F_BOOL:
            break;
        case MS_F_STRING: {
            const char *s = *CAT(p, f->offset, char *);
            if (!s && req)
                ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            else if (s && f->max_len && strlen(s) > f->max_len)
                ms_errlist_addf(errs, MS_EINVAL, path, "is longer than %zu bytes", f->max_len);
            break;
        }
        case MS_F_ENUM: {
            int i = *CAT(p, f->offset, int);
            if (i < 0 && req)
                ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            break;
        }
        case MS_F_VEC: {
            const ms_vec *v = CAT(p, f->offset, ms_vec);
            if (!v->v) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            } else if (f->max_len && v->n > f->max_len) {
                ms_errlist_addf(errs, MS_EINVAL, path, "has %zu entries, at most %zu allowed", v->n,
                                f->max_len);
            } else {
                check_array(f, v->v, v->n, 0, path, errs);
            }
            break;
        }
        case MS_F_MAT: {
            const ms_mat *m = CAT(p, f->offset, ms_mat);
            if (!m->v) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            } else if (m->rows == 0 || m->cols == 0) {
                ms_errlist_addf(errs, MS_EINVAL, path, "must not be empty");
            } else if (f->max_len && m->rows * m->cols > f->max_len) {
                ms_errlist_addf(errs, MS_EINVAL, path, "has %zu entries, at most %zu allowed",
                                m->rows * m->cols, f->max_len);
            } else {
                check_array(f, m->v, m->rows * m->cols, m->cols, path, errs);
            }
            break;
        }
        case MS_F_MEASURE: {
            const ms_measure *m = CAT(p, f->offset, ms_measure);
            if (!m->weights) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            } else {
                check_measure(f, m, path, errs);
            }
            break;
        }
        case MS_F_MEASURES: {
            const ms_measures *ms = CAT(p, f->offset, ms_measures);
            if (!ms->m) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
                break;
            }
            if (ms->count == 0) {
                ms_errlist_addf(errs, MS_EINVAL, path, "must hold at least one measure");
                break;
            }
            char at[MS_ERR_FIELD_MAX];
            for (size_t i = 0; i < ms->count; i++) {
                snprintf(at, sizeof at, "%s/%zu", path, i);
                check_measure(f, &ms->m[i], at, errs);
            }
            break;
        }
        case MS_F_DICT: {
            const ms_dict *d = CAT(p, f->offset, ms_dict);
            char at[MS_ERR_FIELD_MAX];
            if (!d->names && req)
                ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            if (f->max_len && d->n > f->max_len)
                ms_errlist_addf(errs, MS_EINVAL, path, "has %zu entries, at most %zu allowed", d->n,
                                f->max_len);
            for (size_t i = 0; i < d->n; i++)
                if (!isfinite(d->values[i])) {
                    join(at, sizeof at, path, d->names[i]);
                    ms_errlist_addf(errs, MS_EINVAL, at, "must be a finite number");
                }
            break;
        }
        case MS_F_OBJECT: {
            const void *sub = CAT(p, f->offset, char);
            if (!*(const int *)sub) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
            } else {
                validate_in(f->sub, sub, path, errs);
            }
            break;
        }
        case MS_F_LIST: {
            const ms_list *l = CAT(p, f->offset, ms_list);
            char at[MS_ERR_FIELD_MAX];
            if (!l->items) {
                if (req)
                    ms_errlist_addf(errs, MS_EINVAL, path, "is required");
                break;
            }
            if (f->max_len && l->n > f->max_len) {
                ms_errlist_addf(errs, MS_EINVAL, path, "has %zu items, at most %zu allowed", l->n,
                                f->max_len);
                break;
            }
            for (size_t i = 0; i < l->n; i++) {
                snprintf(at, sizeof at, "%s/%zu", path, i);
                validate_in(f->sub, (const char *)l->items + i * f->sub->size, at, errs);
            }
            break;
        }
        }
    }
}

ms_status ms_params_validate(const ms_fields *fs, const void *p, ms_errlist *errs) {
    size_t before = errs->n + errs->dropped;
    validate_in(fs, p, "", errs);
    return errs->n + errs->dropped > before ? MS_EINVAL : MS_OK;
}

void ms_measure_free(ms_measure *m) {
    ms_free(m->points);
    ms_free(m->weights);
    m->points = m->weights = NULL;
    m->n = m->d = 0;
}

void ms_params_free(const ms_fields *fs, void *p) {
    for (size_t k = 0; k < fs->n; k++) {
        const ms_field *f = &fs->f[k];
        switch (f->type) {
        case MS_F_STRING: {
            char **s = AT(p, f->offset, char *);
            ms_free(*s);
            *s = NULL;
            break;
        }
        case MS_F_VEC: {
            ms_vec *v = AT(p, f->offset, ms_vec);
            ms_free(v->v);
            v->v = NULL;
            v->n = 0;
            break;
        }
        case MS_F_MAT: {
            ms_mat *m = AT(p, f->offset, ms_mat);
            ms_free(m->v);
            m->v = NULL;
            m->rows = m->cols = 0;
            break;
        }
        case MS_F_MEASURE:
            ms_measure_free(AT(p, f->offset, ms_measure));
            break;
        case MS_F_MEASURES: {
            ms_measures *ms = AT(p, f->offset, ms_measures);
            for (size_t i = 0; ms->m && i < ms->count; i++)
                ms_measure_free(&ms->m[i]);
            ms_free(ms->m);
            ms->m = NULL;
            ms->count = 0;
            break;
        }
        case MS_F_DICT: {
            ms_dict *d = AT(p, f->offset, ms_dict);
            for (size_t i = 0; d->names && i < d->n; i++)
                ms_free(d->names[i]);
            ms_free(d->names);
            ms_free(d->values);
            d->names = NULL;
            d->values = NULL;
            d->n = 0;
            break;
        }
        case MS_F_OBJECT:
            ms_params_free(f->sub, AT(p, f->offset, char));
            break;
        case MS_F_LIST: {
            ms_list *l = AT(p, f->offset, ms_list);
            for (size_t i = 0; l->items && i < l->n; i++)
                ms_params_free(f->sub, (char *)l->items + i * f->sub->size);
            ms_free(l->items);
            l->items = NULL;
            l->n = 0;
            break;
        }
        default:
            break;
        }
    }
}

const ms_field *ms_fields_find(const ms_fields *fs, const char *name) {
    for (size_t k = 0; k < fs->n; k++)
        if (strcmp(fs->f[k].name, name) == 0)
            return &fs->f[k];
    return NULL;
}

int ms_enum_index(const char *const *choices, const char *s) {
    if (!choices || !s)
        return -1;
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], s) == 0)
            return i;
    return -1;
}

double ms_measure_mass(const ms_measure *m) {
    double s = 0;
    for (size_t i = 0; i < m->n; i++)
        s += m->weights[i];
    return s;
}

void ms_measure_normalize(ms_measure *m) {
    double s = ms_measure_mass(m);
    if (s > 0 && isfinite(s))
        for (size_t i = 0; i < m->n; i++)
            m->weights[i] /= s;
}

ms_status ms_measure_alloc(ms_measure *m, size_t n, size_t d) {
    double *w = ms_malloc(n, sizeof(double));
    double *x = d ? ms_calloc(n * d != 0 ? n * d : 1, sizeof(double)) : NULL;
    if (!w || (d && !x)) {
        ms_free(w);
        ms_free(x);
        return MS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = 1.0 / (double)n;
    m->n = n;
    m->d = d;
    m->points = x;
    m->weights = w;
    m->weights_given = 0;
    return MS_OK;
}

ms_status ms_vec_alloc(ms_vec *v, size_t n) {
    v->v = ms_calloc(n ? n : 1, sizeof(double));
    if (!v->v)
        return MS_ENOMEM;
    v->n = n;
    return MS_OK;
}

ms_status ms_mat_alloc(ms_mat *m, size_t rows, size_t cols) {
    if (cols && rows > ((size_t)-1) / cols)
        return MS_ENOMEM;
    m->v = ms_calloc(rows * cols != 0 ? rows * cols : 1, sizeof(double));
    if (!m->v)
        return MS_ENOMEM;
    m->rows = rows;
    m->cols = cols;
    return MS_OK;
}
