/* ms_value.c — result trees. See ms_value.h. */
#include "ms_value.h"

#include <math.h>
#include <string.h>

#include "ms_alloc.h"

struct ms_value {
    ms_vtype type;
    char *key;
    ms_value *root; /* where allocation failures are recorded */
    int oom;        /* meaningful on the root only */
    union {
        int b;
        double num;
        long long i;
        char *str;
        struct {
            double *data;
            size_t rows, cols;
        } dense;
        struct {
            long long *data;
            size_t n;
        } idense;
    } u;
    ms_value *child, *last, *next;
    size_t count;
};

ms_value *ms_value_new_object(void) {
    ms_value *v = ms_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->type = MS_V_OBJ;
    v->root = v;
    return v;
}

static void free_node(ms_value *v) {
    while (v) {
        ms_value *next = v->next;
        free_node(v->child);
        ms_free(v->key);
        if (v->type == MS_V_STR)
            ms_free(v->u.str);
        else if (v->type == MS_V_VEC || v->type == MS_V_MAT)
            ms_free(v->u.dense.data);
        else if (v->type == MS_V_IVEC)
            ms_free(v->u.idense.data);
        ms_free(v);
        v = next;
    }
}

void ms_value_free(ms_value *root) {
    free_node(root);
}

ms_status ms_value_status(const ms_value *root) {
    if (!root)
        return MS_ENOMEM;
    return root->root->oom ? MS_ENOMEM : MS_OK;
}

/* Create a node of `type` under parent (object when key != NULL). */
static ms_value *add(ms_value *parent, const char *key, ms_vtype type) {
    if (!parent)
        return NULL;
    ms_value *v = ms_calloc(1, sizeof *v);
    if (!v)
        goto oom;
    v->type = type;
    v->root = parent->root;
    if (key) {
        v->key = ms_strdup(key);
        if (!v->key) {
            ms_free(v);
            goto oom;
        }
    }
    if (parent->last)
        parent->last->next = v;
    else
        parent->child = v;
    parent->last = v;
    parent->count++;
    return v;
oom:
    parent->root->oom = 1;
    return NULL;
}

static ms_status st(ms_value *v) {
    return v ? MS_OK : MS_ENOMEM;
}

ms_status ms_obj_null(ms_value *obj, const char *key) {
    return st(add(obj, key, MS_V_NULL));
}

ms_status ms_obj_bool(ms_value *obj, const char *key, int b) {
    ms_value *v = add(obj, key, MS_V_BOOL);
    if (v)
        v->u.b = b != 0;
    return st(v);
}

ms_status ms_obj_num(ms_value *obj, const char *key, double x) {
    ms_value *v = add(obj, key, MS_V_NUM);
    if (v)
        v->u.num = x;
    return st(v);
}

ms_status ms_obj_int(ms_value *obj, const char *key, long long x) {
    ms_value *v = add(obj, key, MS_V_INT);
    if (v)
        v->u.i = x;
    return st(v);
}

static ms_status set_str(ms_value *v, const char *s) {
    if (!v)
        return MS_ENOMEM;
    v->u.str = ms_strdup(s ? s : "");
    if (!v->u.str) {
        v->type = MS_V_NULL;
        v->root->oom = 1;
        return MS_ENOMEM;
    }
    return MS_OK;
}

ms_status ms_obj_str(ms_value *obj, const char *key, const char *s) {
    return set_str(add(obj, key, MS_V_STR), s);
}

static ms_status set_dense(ms_value *v, const double *a, size_t rows, size_t cols, size_t lda) {
    if (!v)
        return MS_ENOMEM;
    v->u.dense.data = ms_malloc(rows * cols != 0 ? rows * cols : 1, sizeof(double));
    if (!v->u.dense.data) {
        v->type = MS_V_NULL;
        v->root->oom = 1;
        return MS_ENOMEM;
    }
    v->u.dense.rows = rows;
    v->u.dense.cols = cols;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            v->u.dense.data[i * cols + j] = a[i * lda + j];
    return MS_OK;
}

ms_status ms_obj_vec(ms_value *obj, const char *key, const double *a, size_t n, size_t stride) {
    /* A strided vector is an n×1 block with leading dimension `stride`. */
    ms_value *v = add(obj, key, MS_V_VEC);
    ms_status s = set_dense(v, a, n, 1, stride ? stride : 1);
    if (v && s == MS_OK) {
        v->u.dense.cols = n;
        v->u.dense.rows = 1;
    }
    return s;
}

ms_status ms_obj_ivec(ms_value *obj, const char *key, const long long *a, size_t n) {
    ms_value *v = add(obj, key, MS_V_IVEC);
    if (!v)
        return MS_ENOMEM;
    v->u.idense.data = ms_malloc(n ? n : 1, sizeof(long long));
    if (!v->u.idense.data) {
        v->type = MS_V_NULL;
        v->root->oom = 1;
        return MS_ENOMEM;
    }
    if (n)
        memcpy(v->u.idense.data, a, n * sizeof(long long));
    v->u.idense.n = n;
    return MS_OK;
}

ms_status ms_obj_mat(ms_value *obj, const char *key, const double *a, size_t rows, size_t cols,
                     size_t lda) {
    return set_dense(add(obj, key, MS_V_MAT), a, rows, cols, lda);
}

ms_value *ms_obj_obj(ms_value *obj, const char *key) {
    return add(obj, key, MS_V_OBJ);
}
ms_value *ms_obj_arr(ms_value *obj, const char *key) {
    return add(obj, key, MS_V_ARR);
}

ms_status ms_obj_measure(ms_value *obj, const char *key, const double *points, size_t n, size_t d,
                         const double *weights) {
    ms_value *m = ms_obj_obj(obj, key);
    if (!m)
        return MS_ENOMEM;
    ms_obj_mat(m, "points", points, n, d, d);
    return ms_obj_vec(m, "weights", weights, n, 1);
}

ms_status ms_arr_num(ms_value *arr, double x) {
    return ms_obj_num(arr, NULL, x);
}
ms_status ms_arr_int(ms_value *arr, long long x) {
    return ms_obj_int(arr, NULL, x);
}
ms_status ms_arr_str(ms_value *arr, const char *s) {
    return ms_obj_str(arr, NULL, s);
}
ms_status ms_arr_vec(ms_value *arr, const double *v, size_t n, size_t stride) {
    return ms_obj_vec(arr, NULL, v, n, stride);
}
ms_value *ms_arr_obj(ms_value *arr) {
    return add(arr, NULL, MS_V_OBJ);
}
ms_value *ms_arr_arr(ms_value *arr) {
    return add(arr, NULL, MS_V_ARR);
}

ms_vtype ms_value_type(const ms_value *v) {
    return v ? v->type : MS_V_NULL;
}

const ms_value *ms_value_get(const ms_value *obj, const char *key) {
    if (!obj || obj->type != MS_V_OBJ)
        return NULL;
    for (const ms_value *c = obj->child; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

size_t ms_value_count(const ms_value *v) {
    if (!v)
        return 0;
    switch (v->type) {
    case MS_V_OBJ:
    case MS_V_ARR:
        return v->count;
    case MS_V_VEC:
        return v->u.dense.cols;
    case MS_V_MAT:
        return v->u.dense.rows;
    case MS_V_IVEC:
        return v->u.idense.n;
    default:
        return 0;
    }
}

const ms_value *ms_value_child(const ms_value *v) {
    return v ? v->child : NULL;
}
const ms_value *ms_value_next(const ms_value *v) {
    return v ? v->next : NULL;
}
const char *ms_value_key(const ms_value *v) {
    return v ? v->key : NULL;
}

double ms_value_num(const ms_value *v) {
    if (!v)
        return NAN;
    switch (v->type) {
    case MS_V_NUM:
        return v->u.num;
    case MS_V_INT:
        return (double)v->u.i;
    case MS_V_BOOL:
        return v->u.b;
    default:
        return NAN;
    }
}

double ms_value_getnum(const ms_value *obj, const char *key) {
    return ms_value_num(ms_value_get(obj, key));
}

const char *ms_value_str(const ms_value *v) {
    return v && v->type == MS_V_STR ? v->u.str : NULL;
}

const double *ms_value_data(const ms_value *v, size_t *rows, size_t *cols) {
    if (!v || (v->type != MS_V_VEC && v->type != MS_V_MAT))
        return NULL;
    if (rows)
        *rows = v->u.dense.rows;
    if (cols)
        *cols = v->u.dense.cols;
    return v->u.dense.data;
}

const long long *ms_value_idata(const ms_value *v, size_t *n) {
    if (!v || v->type != MS_V_IVEC)
        return NULL;
    if (n)
        *n = v->u.idense.n;
    return v->u.idense.data;
}
