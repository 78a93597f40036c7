/* ms_params.h — field tables: the one declaration of a kind's parameters.
 *
 * What it is for: a kind declares its parameters once, as a table of plain C
 * metadata (name, type, offset into its params struct, bounds, default,
 * documentation). From that table alone:
 *   - lib/ sets defaults, validates bounds, finiteness and measures, and frees
 *     what the params own (this file);
 *   - the server fills the struct from JSON, writes the JSON Schema shown in
 *     /v1/kinds and the OpenAPI document, and turns errors into JSON Pointers.
 * Nothing about a parameter is restated by hand in a second place.
 *
 * What it is not for: cross-field rules ("source and target share a
 * dimension"); a kind checks those in its own `check` function (ms_kind.h).
 *
 * Storage conventions (the type each field type writes at its offset):
 *   MS_F_DOUBLE  double      (NaN = absent; a required double left NaN fails)
 *   MS_F_INT     long long   (MS_INT_ABSENT = absent)
 *   MS_F_BOOL    int         (0 / 1)
 *   MS_F_STRING  char *      (owned, NUL-terminated, NULL = absent)
 *   MS_F_ENUM    int         (index into `choices`, -1 = absent)
 *   MS_F_VEC     ms_vec      (owned doubles)
 *   MS_F_MAT     ms_mat      (owned row-major doubles)
 *   MS_F_MEASURE ms_measure  (owned points and weights)
 *   MS_F_MEASURES ms_measures (owned array of ms_measure)
 *   MS_F_DICT    ms_dict     (owned names and values)
 *   MS_F_OBJECT  a struct described by `sub`, whose first member is
 *                `int present` (1 when the object was given)
 *   MS_F_LIST    ms_list     (owned array of `sub`-described structs)
 */
#ifndef MS_PARAMS_H
#define MS_PARAMS_H

#include <limits.h>
#include <stddef.h>

#include "ms_err.h"

typedef enum {
    MS_F_DOUBLE,
    MS_F_INT,
    MS_F_BOOL,
    MS_F_STRING,
    MS_F_ENUM,
    MS_F_VEC,
    MS_F_MAT,
    MS_F_MEASURE,
    MS_F_MEASURES,
    MS_F_DICT,
    MS_F_OBJECT,
    MS_F_LIST
} ms_ftype;

enum {
    MS_FF_REQUIRED = 1u << 0,
    MS_FF_MIN = 1u << 1,             /* value (or every element) >= min */
    MS_FF_MIN_EXCL = 1u << 2,        /* value > min (implies a lower bound) */
    MS_FF_MAX = 1u << 3,             /* value <= max */
    MS_FF_MAX_EXCL = 1u << 4,        /* value < max */
    MS_FF_INTEGER = 1u << 5,         /* VEC/MAT entries must be integers */
    MS_FF_POINTS_OPTIONAL = 1u << 6, /* MEASURE: weights alone are enough */
    MS_FF_ALLOW_NONFINITE = 1u << 7, /* VEC/MAT may hold ±Inf (never NaN) */
    MS_FF_NULLABLE = 1u << 8         /* JSON null means absent (auto) */
};

#define MS_INT_ABSENT LLONG_MIN

typedef struct ms_vec {
    size_t n;
    double *v;
} ms_vec;

typedef struct ms_mat {
    size_t rows, cols;
    double *v; /* rows×cols, row-major */
} ms_mat;

/* A measure Σ_i w_i δ_{x_i}. points is n×d row-major, or NULL when the
 * field allows weights alone and none were given (then d = 0). weights is
 * always allocated (uniform when not given) but is not normalised here:
 * kinds that work with probabilities call ms_measure_normalize. */
typedef struct ms_measure {
    size_t n, d;
    double *points;
    double *weights;
    int weights_given;
} ms_measure;

typedef struct ms_measures {
    size_t count;
    ms_measure *m;
} ms_measures;

typedef struct ms_dict {
    size_t n;
    char **names;
    double *values;
} ms_dict;

typedef struct ms_list {
    size_t n;
    void *items; /* n structs of sub->size bytes */
} ms_list;

struct ms_fields;

typedef struct ms_field {
    const char *name;
    ms_ftype type;
    size_t offset;
    unsigned flags;
    double min, max;             /* bounds, active with MS_FF_MIN/MAX(_EXCL) */
    double def;                  /* default: DOUBLE, INT, BOOL; NaN = none */
    const char *def_str;         /* default: STRING, or ENUM (a choice) */
    const char *const *choices;  /* ENUM: NULL-terminated list */
    const struct ms_fields *sub; /* OBJECT, LIST */
    size_t max_len;              /* VEC/MAT/MEASURE entries, STRING bytes,
                                    LIST items, DICT entries; 0 = no limit */
    const char *doc;
} ms_field;

typedef struct ms_fields {
    const ms_field *f;
    size_t n;
    size_t size; /* sizeof the struct the table describes */
} ms_fields;

#define MS_FIELDS(struct_type, table) \
    { (table), sizeof(table) / sizeof((table)[0]), sizeof(struct_type) }

/* Zero p (fs->size bytes) and write every default. Does not allocate. */
void ms_params_defaults(const ms_fields *fs, void *p);

/* Check what a table can check: presence of required fields, bounds,
 * finiteness, integrality, enum ranges, lengths, and measures (non-empty,
 * finite points, finite non-negative weights with positive sum, one
 * dimension). Every offending field is appended to errs with its path
 * ("source/weights/3"). Returns MS_OK or MS_EINVAL. */
ms_status ms_params_validate(const ms_fields *fs, const void *p, ms_errlist *errs);

/* Release what p owns; p stays valid (zeroed arrays) and may be freed again. */
void ms_params_free(const ms_fields *fs, void *p);

/* Look a field up by name (NULL when absent). */
const ms_field *ms_fields_find(const ms_fields *fs, const char *name);

/* Index of `s` in a NULL-terminated choices list, or -1. */
int ms_enum_index(const char *const *choices, const char *s);

/* Normalise weights to sum 1 (the sum must be positive and finite). */
void ms_measure_normalize(ms_measure *m);
/* Sum of weights. */
double ms_measure_mass(const ms_measure *m);
/* Allocate an n×d measure (d may be 0: weights only) with uniform weights
 * 1/n; all-or-nothing. */
ms_status ms_measure_alloc(ms_measure *m, size_t n, size_t d);
void ms_measure_free(ms_measure *m);
ms_status ms_vec_alloc(ms_vec *v, size_t n);
ms_status ms_mat_alloc(ms_mat *m, size_t rows, size_t cols);

#endif
