/* codec.c — job bodies and params from JSON, problem documents.
 *
 * What it is for: the generic reader that fills any kind's params struct from
 * a cJSON tree by walking the kind's field table (lib/ms_params.h storage
 * conventions), and the envelope of a job body. Every error names the field
 * with a JSON Pointer; unknown and duplicate fields are errors.
 *
 * What it is not for: bounds and cross-field rules (lib/ validates those
 * after parsing: ms_params_validate and the kind's check), or writing
 * results (codec_value.c).
 */
#include "codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ms_alloc.h"
#include "registry.h"

#define AT(p, off, type) ((type *)((char *)(p) + (off)))
#define PATH_MAX_ MS_ERR_FIELD_MAX

/* ---- cJSON allocation hooks ------------------------------------------ */

static _Thread_local int json_oom;

static void *json_malloc(size_t sz) {
    void *p = ms_malloc(sz ? sz : 1, 1);
    if (!p)
        json_oom = 1;
    return p;
}

static void json_free(void *p) {
    ms_free(p);
}

void codec_json_hooks_install(void) {
    cJSON_Hooks h = {json_malloc, json_free};
    cJSON_InitHooks(&h);
}

/* ---- problems -------------------------------------------------------- */

void codec_problem_init(codec_problem *pb) {
    memset(pb, 0, sizeof *pb);
    pb->status = 500;
    pb->type = "internal-error";
    pb->title = "Internal error";
}

void codec_problem_set(codec_problem *pb, int status, const char *type, const char *title,
                       const char *fmt, ...) {
    pb->status = status;
    pb->type = type;
    pb->title = title;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pb->detail, sizeof pb->detail, fmt, ap);
    va_end(ap);
}

void codec_status_slug(ms_status s, char *out, size_t cap) {
    snprintf(out, cap, "%s", ms_status_str(s));
    for (char *p = out; *p; p++)
        if (*p == ' ')
            *p = '-';
}

void codec_problem_write(sbuf *b, const codec_problem *pb) {
    sbuf_puts(b, "{\"type\":\"/problems/");
    sbuf_puts(b, pb->type);
    sbuf_puts(b, "\",\"title\":");
    sbuf_json_str(b, pb->title);
    sbuf_printf(b, ",\"status\":%d,\"detail\":", pb->status);
    sbuf_json_str(b, pb->detail);
    if (pb->extra && pb->extra[0]) {
        sbuf_putc(b, ',');
        sbuf_puts(b, pb->extra);
    }
    if (pb->errors.n) {
        sbuf_puts(b, ",\"errors\":[");
        for (size_t i = 0; i < pb->errors.n; i++) {
            const ms_err *e = &pb->errors.e[i];
            /* A JSON Pointer (~0, ~1 escaped) of names from the request,
             * which may hold quotes, backslashes, control characters or
             * bytes that are not UTF-8: written as a JSON string. */
            char ptr[MS_ERR_FIELD_MAX + 2];
            snprintf(ptr, sizeof ptr, "%s%s", e->field[0] ? "/" : "", e->field);
            sbuf_puts(b, i ? ",{\"pointer\":" : "{\"pointer\":");
            sbuf_json_str(b, ptr);
            sbuf_puts(b, ",\"detail\":");
            sbuf_json_str(b, e->msg);
            sbuf_putc(b, '}');
        }
        sbuf_putc(b, ']');
        if (pb->errors.dropped)
            sbuf_printf(b, ",\"errors_omitted\":%zu", pb->errors.dropped);
    }
    sbuf_putc(b, '}');
}

void codec_error_write(sbuf *b, const ms_err *err) {
    char slug[64];
    codec_status_slug(err->code, slug, sizeof slug);
    sbuf_puts(b, "{\"type\":\"/problems/");
    sbuf_puts(b, slug);
    sbuf_puts(b, "\",\"title\":");
    sbuf_json_str(b, ms_status_str(err->code));
    sbuf_puts(b, ",\"detail\":");
    if (err->field[0]) {
        char d[MS_ERR_FIELD_MAX + MS_ERR_MSG_MAX + 8];
        snprintf(d, sizeof d, "%s: %s", err->field, err->msg);
        sbuf_json_str(b, d);
    } else {
        sbuf_json_str(b, err->msg);
    }
    sbuf_putc(b, '}');
}

/* ---- paths ----------------------------------------------------------- */

/* prefix + "/" + name with JSON Pointer escaping of name (~ → ~0, / → ~1). */
static void join(char *out, const char *prefix, const char *name) {
    size_t n = 0;
    if (prefix && prefix[0])
        n = (size_t)snprintf(out, PATH_MAX_, "%s/", prefix);
    if (n >= PATH_MAX_)
        n = PATH_MAX_ - 1;
    for (const char *s = name; *s && n + 2 < PATH_MAX_; s++) {
        if (*s == '~' || *s == '/') {
            out[n++] = '~';
            out[n++] = *s == '~' ? '0' : '1';
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

static void join_index(char *out, const char *prefix, size_t i) {
    if (prefix && prefix[0])
        snprintf(out, PATH_MAX_, "%s/%zu", prefix, i);
    else
        snprintf(out, PATH_MAX_, "%zu", i);
}

/* ---- field readers --------------------------------------------------- */

typedef struct pctx {
    ms_errlist *errs;
    int oom;
} pctx;

static void bad(pctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(pctx *c, const char *path, const char *fmt, ...) {
    char msg[MS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ms_errlist_addf(c->errs, MS_EINVAL, path, "%s", msg);
}

static const char *jtype(const cJSON *j) {
    if (cJSON_IsNull(j))
        return "null";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsNumber(j))
        return "a number";
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsArray(j))
        return "an array";
    return "an object";
}

static size_t arr_len(const cJSON *a) {
    size_t n = 0;
    for (const cJSON *e = a->child; e; e = e->next)
        n++;
    return n;
}

/* An array of numbers into a freshly allocated vector (n ≥ 0). Returns 0 on
 * success, 1 on a type error (reported), -1 on no memory. */
static int read_numbers(pctx *c, const cJSON *a, const char *path, double **out, size_t *n) {
    if (!cJSON_IsArray(a)) {
        bad(c, path, "must be an array of numbers, got %s", jtype(a));
        return 1;
    }
    size_t len = arr_len(a);
    double *v = ms_malloc(len ? len : 1, sizeof(double));
    if (!v)
        return -1;
    size_t i = 0;
    char at[PATH_MAX_];
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e)) {
            join_index(at, path, i);
            bad(c, at, "must be a number, got %s", jtype(e));
            ms_free(v);
            return 1;
        }
        v[i] = e->valuedouble;
    }
    *out = v;
    *n = len;
    return 0;
}

/* An array of equal-length arrays of numbers into a row-major block. */
static int read_matrix(pctx *c, const cJSON *a, const char *path, double **out, size_t *rows,
                       size_t *cols) {
    if (!cJSON_IsArray(a)) {
        bad(c, path, "must be an array of arrays of numbers, got %s", jtype(a));
        return 1;
    }
    size_t r = arr_len(a), k = 0, i = 0;
    char at[PATH_MAX_], at2[PATH_MAX_];
    if (r && !cJSON_IsArray(a->child)) {
        join_index(at, path, 0);
        bad(c, at, "must be an array of numbers, got %s", jtype(a->child));
        return 1;
    }
    if (r)
        k = arr_len(a->child);
    if (k && r > ((size_t)-1) / sizeof(double) / k)
        return -1;
    double *v = ms_malloc(r * k != 0 ? r * k : 1, sizeof(double));
    if (!v)
        return -1;
    for (const cJSON *row = a->child; row; row = row->next, i++) {
        join_index(at, path, i);
        if (!cJSON_IsArray(row)) {
            bad(c, at, "must be an array of numbers, got %s", jtype(row));
            goto fail;
        }
        size_t j = 0;
        for (const cJSON *e = row->child; e; e = e->next, j++) {
            if (j >= k) {
                bad(c, at, "has more than %zu entries (row 0 has %zu)", k, k);
                goto fail;
            }
            if (!cJSON_IsNumber(e)) {
                join_index(at2, at, j);
                bad(c, at2, "must be a number, got %s", jtype(e));
                goto fail;
            }
            v[i * k + j] = e->valuedouble;
        }
        if (j != k) {
            bad(c, at, "has %zu entries, expected %zu like row 0", j, k);
            goto fail;
        }
    }
    *out = v;
    *rows = r;
    *cols = k;
    return 0;
fail:
    ms_free(v);
    return 1;
}

static int read_measure(pctx *c, const ms_field *f, const cJSON *j, const char *path,
                        ms_measure *m) {
    char at[PATH_MAX_];
    if (!cJSON_IsObject(j)) {
        bad(c, path, "must be a measure {\"points\": [[...]], \"weights\": [...]}, got %s",
            jtype(j));
        return 1;
    }
    const cJSON *pts = NULL, *w = NULL;
    int rc = 0;
    for (const cJSON *e = j->child; e; e = e->next) {
        const cJSON **slot = strcmp(e->string, "points") == 0    ? &pts
                             : strcmp(e->string, "weights") == 0 ? &w
                                                                 : NULL;
        join(at, path, e->string);
        if (!slot) {
            bad(c, at, "unknown field (a measure has points and weights)");
            rc = 1;
        } else if (*slot) {
            bad(c, at, "duplicate field");
            rc = 1;
        } else {
            *slot = e;
        }
    }
    if (rc)
        return 1;
    if (!pts && !(f->flags & MS_FF_POINTS_OPTIONAL)) {
        join(at, path, "points");
        bad(c, at, "is required");
        return 1;
    }
    if (!pts && !w) {
        join(at, path, "weights");
        bad(c, at, "is required when points are not given");
        return 1;
    }
    double *x = NULL, *wt = NULL;
    size_t n = 0, d = 0, nw = 0;
    if (pts) {
        join(at, path, "points");
        if ((rc = read_matrix(c, pts, at, &x, &n, &d)) != 0)
            return rc;
    }
    if (w) {
        join(at, path, "weights");
        if ((rc = read_numbers(c, w, at, &wt, &nw)) != 0) {
            ms_free(x);
            return rc;
        }
        if (pts && nw != n) {
            bad(c, at, "has %zu entries but there are %zu points", nw, n);
            ms_free(x);
            ms_free(wt);
            return 1;
        }
        n = nw;
    } else {
        wt = ms_malloc(n ? n : 1, sizeof(double));
        if (!wt) {
            ms_free(x);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            wt[i] = 1.0 / (double)n;
    }
    m->n = n;
    m->d = pts ? d : 0;
    m->points = x;
    m->weights = wt;
    m->weights_given = w != NULL;
    return 0;
}

static int parse_object(pctx *c, const ms_fields *fs, const cJSON *j, void *p, const char *prefix);

static int parse_field(pctx *c, const ms_field *f, const cJSON *j, void *p, const char *path) {
    if (cJSON_IsNull(j) && (f->flags & MS_FF_NULLABLE))
        return 0; /* absent: the default (already written) stands */
    switch (f->type) {
    case MS_F_DOUBLE:
        if (!cJSON_IsNumber(j)) {
            bad(c, path, "must be a number, got %s", jtype(j));
            return 1;
        }
        *AT(p, f->offset, double) = j->valuedouble;
        return 0;
    case MS_F_INT: {
        double x = j->valuedouble;
        /* cJSON holds numbers as doubles: integers are exact up to 2^53. */
        if (!cJSON_IsNumber(j) || x != floor(x) || fabs(x) > 9007199254740992.0) {
            bad(c, path, "must be an integer (|n| <= 2^53), got %s",
                cJSON_IsNumber(j) ? "a fraction or a huge number" : jtype(j));
            return 1;
        }
        /* The contract caps `threads` rather than refusing it: above the
         * kind's own bound it is lowered to it here (and to the daemon's
         * cores by runner_cap_threads); the lower bound still applies. */
        if (strcmp(path, "threads") == 0 && (f->flags & MS_FF_MAX) && x > f->max)
            x = f->max;
        *AT(p, f->offset, long long) = (long long)x;
        return 0;
    }
    case MS_F_BOOL:
        if (!cJSON_IsBool(j)) {
            bad(c, path, "must be true or false, got %s", jtype(j));
            return 1;
        }
        *AT(p, f->offset, int) = cJSON_IsTrue(j);
        return 0;
    case MS_F_STRING: {
        if (!cJSON_IsString(j)) {
            bad(c, path, "must be a string, got %s", jtype(j));
            return 1;
        }
        char *s = ms_strdup(j->valuestring);
        if (!s)
            return -1;
        char **slot = AT(p, f->offset, char *);
        ms_free(*slot);
        *slot = s;
        return 0;
    }
    case MS_F_ENUM: {
        int i = cJSON_IsString(j) ? ms_enum_index(f->choices, j->valuestring) : -1;
        if (i < 0) {
            char list[200] = "";
            size_t n = 0;
            for (size_t k = 0; f->choices && f->choices[k] && n < sizeof list; k++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", k ? ", " : "",
                                      f->choices[k]);
            bad(c, path, "must be one of %s", list);
            return 1;
        }
        *AT(p, f->offset, int) = i;
        return 0;
    }
    case MS_F_VEC: {
        ms_vec *v = AT(p, f->offset, ms_vec);
        return read_numbers(c, j, path, &v->v, &v->n);
    }
    case MS_F_MAT: {
        ms_mat *m = AT(p, f->offset, ms_mat);
        return read_matrix(c, j, path, &m->v, &m->rows, &m->cols);
    }
    case MS_F_MEASURE:
        return read_measure(c, f, j, path, AT(p, f->offset, ms_measure));
    case MS_F_MEASURES: {
        if (!cJSON_IsArray(j)) {
            bad(c, path, "must be an array of measures, got %s", jtype(j));
            return 1;
        }
        ms_measures *ms = AT(p, f->offset, ms_measures);
        size_t n = arr_len(j), i = 0;
        ms->m = ms_calloc(n ? n : 1, sizeof(ms_measure));
        if (!ms->m)
            return -1;
        ms->count = n;
        int rc = 0;
        char at[PATH_MAX_];
        for (const cJSON *e = j->child; e; e = e->next, i++) {
            join_index(at, path, i);
            int r = read_measure(c, f, e, at, &ms->m[i]);
            if (r < 0)
                return -1;
            rc |= r;
        }
        return rc;
    }
    case MS_F_DICT: {
        if (!cJSON_IsObject(j)) {
            bad(c, path, "must be an object of numbers, got %s", jtype(j));
            return 1;
        }
        ms_dict *d = AT(p, f->offset, ms_dict);
        size_t n = arr_len(j), i = 0;
        d->names = ms_calloc(n ? n : 1, sizeof(char *));
        d->values = ms_malloc(n ? n : 1, sizeof(double));
        if (!d->names || !d->values)
            return -1;
        char at[PATH_MAX_];
        for (const cJSON *e = j->child; e; e = e->next) {
            join(at, path, e->string);
            if (!cJSON_IsNumber(e)) {
                bad(c, at, "must be a number, got %s", jtype(e));
                return 1;
            }
            for (size_t k = 0; k < i; k++)
                if (strcmp(d->names[k], e->string) == 0) {
                    bad(c, at, "duplicate field");
                    return 1;
                }
            d->names[i] = ms_strdup(e->string);
            if (!d->names[i])
                return -1;
            d->values[i] = e->valuedouble;
            d->n = ++i;
        }
        return 0;
    }
    case MS_F_OBJECT: {
        void *sub = AT(p, f->offset, char);
        if (!cJSON_IsObject(j)) {
            bad(c, path, "must be an object, got %s", jtype(j));
            return 1;
        }
        *(int *)sub = 1;
        return parse_object(c, f->sub, j, sub, path);
    }
    case MS_F_LIST: {
        if (!cJSON_IsArray(j)) {
            bad(c, path, "must be an array of objects, got %s", jtype(j));
            return 1;
        }
        ms_list *l = AT(p, f->offset, ms_list);
        size_t n = arr_len(j), i = 0;
        l->items = ms_calloc(n ? n : 1, f->sub->size);
        if (!l->items)
            return -1;
        int rc = 0;
        char at[PATH_MAX_];
        for (const cJSON *e = j->child; e; e = e->next, i++) {
            void *item = (char *)l->items + i * f->sub->size;
            ms_params_defaults(f->sub, item);
            l->n = i + 1; /* owned from now on, so that a failure frees it */
            join_index(at, path, i);
            if (!cJSON_IsObject(e)) {
                bad(c, at, "must be an object, got %s", jtype(e));
                rc = 1;
                continue;
            }
            int r = parse_object(c, f->sub, e, item, at);
            if (r < 0)
                return -1;
            rc |= r;
        }
        return rc;
    }
    }
    return 1;
}

static int parse_object(pctx *c, const ms_fields *fs, const cJSON *j, void *p, const char *prefix) {
    int rc = 0;
    char path[PATH_MAX_];
    for (const cJSON *e = j->child; e; e = e->next) {
        join(path, prefix, e->string);
        const ms_field *f = ms_fields_find(fs, e->string);
        if (!f) {
            bad(c, path, "unknown field");
            rc = 1;
            continue;
        }
        int dup = 0;
        for (const cJSON *o = j->child; o != e; o = o->next)
            dup |= strcmp(o->string, e->string) == 0;
        if (dup) {
            bad(c, path, "duplicate field");
            rc = 1;
            continue;
        }
        int r = parse_field(c, f, e, p, path);
        if (r < 0)
            return -1;
        rc |= r;
    }
    return rc;
}

/* Fill params from j without releasing anything: 0, 1 (type errors
 * reported; the fields without one are filled) or -1 (no memory). */
static int parse_params(const ms_fields *fs, const cJSON *j, void *params, ms_errlist *errs) {
    ms_params_defaults(fs, params);
    pctx c = {errs, 0};
    if (!cJSON_IsObject(j)) {
        bad(&c, "", "params must be an object, got %s", jtype(j));
        return 1;
    }
    return parse_object(&c, fs, j, params, "");
}

static ms_status release(const ms_fields *fs, void *params, ms_status s) {
    if (s != MS_OK) {
        ms_params_free(fs, params);
        ms_params_defaults(fs, params);
    }
    return s;
}

ms_status codec_params_parse(const ms_fields *fs, const cJSON *j, void *params, ms_errlist *errs) {
    int rc = parse_params(fs, j, params, errs);
    return release(fs, params, rc == 0 ? MS_OK : rc < 0 ? MS_ENOMEM : MS_EINVAL);
}

/* Do two paths name the same field or one field inside the other? */
static int overlap(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;
    if (n == 0 || strncmp(a, b, n) != 0)
        return n == 0; /* "" is the whole params object */
    return na == nb || (na < nb ? b[n] : a[n]) == '/';
}

ms_status codec_params_read(const ms_fields *fs, ms_status (*check)(const void *, ms_errlist *),
                            const cJSON *j, void *params, ms_errlist *errs) {
    size_t from = errs->n, dropped = errs->dropped;
    int rc = parse_params(fs, j, params, errs);
    if (rc < 0)
        return release(fs, params, MS_ENOMEM);
    if (rc == 0) {
        /* Cross-field rules assume every field valid on its own. */
        ms_status s = ms_params_validate(fs, params, errs);
        if (s == MS_OK && check)
            s = check(params, errs);
        return release(fs, params, s);
    }
    /* Some fields have type errors: the table still validates the others
     * (bounds, finiteness, measures), one entry per offending field, so
     * that a client learns every mistake at once. A field with a type
     * error stays absent (its default) and must not be reported again
     * ("is required"), nor anything inside or around it. When type errors
     * were dropped (past MS_ERRLIST_MAX) they cannot be matched: the list
     * is full anyway. */
    if (errs->dropped == dropped) {
        ms_errlist more;
        ms_errlist_clear(&more);
        ms_params_validate(fs, params, &more);
        for (size_t i = 0; i < more.n; i++) {
            int seen = 0;
            for (size_t k = from; k < errs->n && !seen; k++)
                seen = overlap(more.e[i].field, errs->e[k].field);
            if (!seen)
                ms_errlist_add(errs, &more.e[i]);
        }
        errs->dropped += more.dropped;
    }
    return release(fs, params, MS_EINVAL);
}

/* ---- the job envelope ------------------------------------------------ */

void codec_job_free(codec_job *job) {
    if (!job)
        return;
    if (job->params) {
        ms_params_free(job->kind->params, job->params);
        ms_free(job->params);
    }
    ms_free(job->label);
    memset(job, 0, sizeof *job);
}

static ms_status nomem(codec_problem *pb) {
    codec_problem_set(pb, 503, "out-of-memory", "Out of memory",
                      "the server could not allocate memory for this request; retry later");
    return MS_ENOMEM;
}

/* Prefix "params/" (or "params" alone) to every error added since `from`. */
static void prefix_params(ms_errlist *l, size_t from) {
    for (size_t i = from; i < l->n; i++) {
        char tmp[MS_ERR_FIELD_MAX];
        if (l->e[i].field[0])
            snprintf(tmp, sizeof tmp, "params/%s", l->e[i].field);
        else
            snprintf(tmp, sizeof tmp, "params");
        memcpy(l->e[i].field, tmp, sizeof tmp);
    }
}

static void envelope(const cJSON *root, codec_job *job, codec_problem *pb, const cJSON **kind,
                     const cJSON **params) {
    ms_errlist *errs = &pb->errors;
    char path[PATH_MAX_];
    for (const cJSON *e = root->child; e; e = e->next) {
        join(path, "", e->string);
        int dup = 0;
        for (const cJSON *o = root->child; o != e; o = o->next)
            dup |= strcmp(o->string, e->string) == 0;
        if (dup) {
            ms_errlist_addf(errs, MS_EINVAL, path, "duplicate field");
        } else if (strcmp(e->string, "kind") == 0) {
            *kind = e;
        } else if (strcmp(e->string, "params") == 0) {
            *params = e;
        } else if (strcmp(e->string, "label") == 0) {
            if (cJSON_IsNull(e))
                continue;
            if (!cJSON_IsString(e))
                ms_errlist_addf(errs, MS_EINVAL, path, "must be a string, got %s", jtype(e));
            else if (strlen(e->valuestring) > CODEC_LABEL_MAX)
                ms_errlist_addf(errs, MS_EINVAL, path, "is longer than %d bytes", CODEC_LABEL_MAX);
            else if (!(job->label = ms_strdup(e->valuestring)))
                pb->status = 503;
        } else if (strcmp(e->string, "priority") == 0) {
            double x = e->valuedouble;
            if (!cJSON_IsNumber(e) || x != floor(x) || x < 0 || x > 9)
                ms_errlist_addf(errs, MS_EINVAL, path, "must be an integer from 0 to 9");
            else
                job->priority = (int)x;
        } else if (strcmp(e->string, "timeout_s") == 0) {
            if (cJSON_IsNull(e))
                continue;
            if (!cJSON_IsNumber(e) || !(e->valuedouble > 0) || !isfinite(e->valuedouble))
                ms_errlist_addf(errs, MS_EINVAL, path, "must be a number of seconds > 0");
            else
                job->timeout_s = e->valuedouble;
        } else {
            ms_errlist_addf(errs, MS_EINVAL, path,
                            "unknown field (a job has kind, params, label, priority, timeout_s)");
        }
    }
}

static ms_status parse_root(const cJSON *root, codec_job *job, codec_problem *pb) {
    ms_errlist *errs = &pb->errors;
    const cJSON *kind = NULL, *params = NULL;
    if (!cJSON_IsObject(root)) {
        codec_problem_set(pb, 422, "invalid-job", "Invalid job",
                          "the body must be a JSON object, got %s", jtype(root));
        /* Pointer "" is the whole body: every 422 names what it refuses. */
        ms_errlist_addf(errs, MS_EINVAL, "", "must be an object, got %s", jtype(root));
        return MS_EINVAL;
    }
    job->priority = CODEC_PRIORITY_DEFAULT;
    envelope(root, job, pb, &kind, &params);
    if (pb->status == 503)
        return nomem(pb);
    if (!kind)
        ms_errlist_addf(errs, MS_EINVAL, "kind", "is required");
    else if (!cJSON_IsString(kind))
        ms_errlist_addf(errs, MS_EINVAL, "kind", "must be a string, got %s", jtype(kind));
    else if (!(job->kind = ms_registry_find(kind->valuestring))) {
        size_t n;
        const ms_kind *const *ks = ms_registry(&n);
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     ks[i]->name);
        ms_errlist_addf(errs, MS_EINVAL, "kind", "unknown kind; known kinds: %s",
                        n ? list : "(none)");
    }
    if (!params)
        ms_errlist_addf(errs, MS_EINVAL, "params", "is required");
    if (job->kind && params) {
        const ms_fields *fs = job->kind->params;
        job->params = ms_calloc(1, fs->size ? fs->size : 1);
        if (!job->params)
            return nomem(pb);
        size_t from = errs->n;
        if (codec_params_read(fs, job->kind->check, params, job->params, errs) == MS_ENOMEM)
            return nomem(pb);
        prefix_params(errs, from);
        /* A validator that ran out of memory (compiling an expression, say)
         * did not find the input invalid. */
        for (size_t i = from; i < errs->n; i++)
            if (errs->e[i].code == MS_ENOMEM) {
                errs->n = from;
                return nomem(pb);
            }
    }
    if (errs->n || errs->dropped) {
        size_t n = errs->n + errs->dropped;
        codec_problem_set(pb, 422, "invalid-params", "Invalid job",
                          "%zu field%s failed validation; see errors", n, n == 1 ? "" : "s");
        return MS_EINVAL;
    }
    return MS_OK;
}

/* Length of the longest valid UTF-8 prefix of s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            unsigned b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
                return i;
        }
        i += n + 1;
    }
    return i;
}

ms_status codec_job_parse(const char *body, size_t len, codec_job *job, codec_problem *pb) {
    memset(job, 0, sizeof *job);
    codec_problem_init(pb);
    size_t good = utf8_valid_prefix((const unsigned char *)body, len);
    if (good < len) {
        codec_problem_set(pb, 400, "malformed-json", "Malformed JSON",
                          "the body is not valid UTF-8 (at byte %zu)", good);
        return MS_EINVAL;
    }
    const char *end = NULL;
    json_oom = 0;
    cJSON *root = len ? cJSON_ParseWithLengthOpts(body, len, &end, 0) : NULL;
    if (!root) {
        if (json_oom)
            return nomem(pb);
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        if (len)
            codec_problem_set(pb, 400, "malformed-json", "Malformed JSON",
                              "the body is not valid JSON (error near byte %zu of %zu)", at, len);
        else
            codec_problem_set(pb, 400, "malformed-json", "Malformed JSON", "the body is empty");
        return MS_EINVAL;
    }
    for (; end && (size_t)(end - body) < len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            cJSON_Delete(root);
            codec_problem_set(pb, 400, "malformed-json", "Malformed JSON",
                              "unexpected data after the JSON value at byte %zu",
                              (size_t)(end - body));
            return MS_EINVAL;
        }
    ms_status s = parse_root(root, job, pb);
    cJSON_Delete(root);
    if (s != MS_OK)
        codec_job_free(job);
    return s;
}
