/* ms_value.h — result trees: what a solver hands back to whoever runs it.
 *
 * What it is for: a kind's `result` function describes its answer as a small
 * tree of objects, arrays, numbers, strings and dense numeric blocks (vectors
 * and row-major matrices stored as one copy of the doubles, not one node per
 * number). The server writes the tree as JSON; tests read it back with the
 * getters below. lib/ stays free of any JSON library.
 *
 * What it is not for: parsing input (that is the server's codec and the
 * kinds' field tables, ms_params.h).
 *
 * Ownership: ms_value_new_object() returns a root the caller frees with
 * ms_value_free(); every node added below it belongs to the root. Adders
 * never fail loudly: on allocation failure they return NULL / MS_ENOMEM and
 * mark the whole tree, so a result function may add everything and check
 * ms_value_status(root) once at the end.
 *
 * Numbers that are not finite (NaN, ±Inf) are written as JSON null.
 */
#ifndef MS_VALUE_H
#define MS_VALUE_H

#include <stddef.h>

#include "ms_err.h"

typedef enum {
    MS_V_NULL,
    MS_V_BOOL,
    MS_V_NUM,
    MS_V_INT,
    MS_V_STR,
    MS_V_VEC,  /* dense vector of doubles */
    MS_V_MAT,  /* dense row-major matrix of doubles, written as array of rows */
    MS_V_IVEC, /* dense vector of integers (indices, counts) */
    MS_V_OBJ,
    MS_V_ARR
} ms_vtype;

typedef struct ms_value ms_value;

ms_value *ms_value_new_object(void);
void ms_value_free(ms_value *root);
/* MS_OK, or MS_ENOMEM if any add on this tree failed. */
ms_status ms_value_status(const ms_value *root);

/* Object members. key is copied. Adding a key twice keeps both (avoid it). */
ms_status ms_obj_null(ms_value *obj, const char *key);
ms_status ms_obj_bool(ms_value *obj, const char *key, int b);
ms_status ms_obj_num(ms_value *obj, const char *key, double v);
ms_status ms_obj_int(ms_value *obj, const char *key, long long v);
ms_status ms_obj_str(ms_value *obj, const char *key, const char *s);
/* Copies n values read with stride `stride` (1 for contiguous). */
ms_status ms_obj_vec(ms_value *obj, const char *key, const double *v, size_t n, size_t stride);
ms_status ms_obj_ivec(ms_value *obj, const char *key, const long long *v, size_t n);
/* Copies a rows×cols block of a row-major matrix with leading dimension lda. */
ms_status ms_obj_mat(ms_value *obj, const char *key, const double *a, size_t rows, size_t cols,
                     size_t lda);
/* New empty object / array member; NULL on allocation failure. */
ms_value *ms_obj_obj(ms_value *obj, const char *key);
ms_value *ms_obj_arr(ms_value *obj, const char *key);
/* A measure {"points": rows×d, "weights": n} as a member. */
ms_status ms_obj_measure(ms_value *obj, const char *key, const double *points, size_t n, size_t d,
                         const double *weights);

/* Array elements. */
ms_status ms_arr_num(ms_value *arr, double v);
ms_status ms_arr_int(ms_value *arr, long long v);
ms_status ms_arr_str(ms_value *arr, const char *s);
ms_status ms_arr_vec(ms_value *arr, const double *v, size_t n, size_t stride);
ms_value *ms_arr_obj(ms_value *arr);
ms_value *ms_arr_arr(ms_value *arr);

/* Reading (tests, encoders). */
ms_vtype ms_value_type(const ms_value *v);
/* Member of an object by key, or NULL. */
const ms_value *ms_value_get(const ms_value *obj, const char *key);
/* Number of members / elements / vector entries / matrix rows. */
size_t ms_value_count(const ms_value *v);
/* First child and next sibling, for iteration over objects and arrays. */
const ms_value *ms_value_child(const ms_value *v);
const ms_value *ms_value_next(const ms_value *v);
/* Key of an object member, or NULL. */
const char *ms_value_key(const ms_value *v);
/* The number of a NUM/INT/BOOL node; NaN for anything else or NULL. */
double ms_value_num(const ms_value *v);
/* Convenience: ms_value_num(ms_value_get(obj, key)). */
double ms_value_getnum(const ms_value *obj, const char *key);
const char *ms_value_str(const ms_value *v);
/* Dense data of a VEC/MAT node (row-major), its rows and columns (1 for VEC). */
const double *ms_value_data(const ms_value *v, size_t *rows, size_t *cols);
const long long *ms_value_idata(const ms_value *v, size_t *n);

#endif
