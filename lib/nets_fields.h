/* nets_fields.h — short-hands for the field tables of the nets_* kinds.
 *
 * What it is for: one line per parameter in the tables of two_layer,
 * deconvolution and scaling_path (ms_params.h describes the columns).
 * Each macro needs `P` defined as the params struct type.
 */
#ifndef NETS_FIELDS_H
#define NETS_FIELDS_H

#include <math.h>
#include <stddef.h>

#include "ms_params.h"

#define NF_DBL(nm, fl, lo, hi, def, doc) \
    { #nm, MS_F_DOUBLE, offsetof(P, nm), (fl), (lo), (hi), (def), NULL, NULL, NULL, 0, (doc) }
#define NF_INT(nm, fl, lo, hi, def, doc) \
    { #nm, MS_F_INT, offsetof(P, nm), (fl), (lo), (hi), (def), NULL, NULL, NULL, 0, (doc) }
#define NF_BOOL(nm, def, doc) \
    { #nm, MS_F_BOOL, offsetof(P, nm), 0, 0, 0, (def), NULL, NULL, NULL, 0, (doc) }
#define NF_ENUM(nm, choices, def, doc) \
    { #nm, MS_F_ENUM, offsetof(P, nm), 0, 0, 0, NAN, (def), (choices), NULL, 0, (doc) }
#define NF_MAT(nm, maxn, doc) \
    { #nm, MS_F_MAT, offsetof(P, nm), 0, 0, 0, NAN, NULL, NULL, NULL, (maxn), (doc) }
#define NF_VEC(nm, fl, lo, hi, maxn, doc) \
    { #nm, MS_F_VEC, offsetof(P, nm), (fl), (lo), (hi), NAN, NULL, NULL, NULL, (maxn), (doc) }

#define NF_MINMAX (MS_FF_MIN | MS_FF_MAX)
#define NF_POS MS_FF_MIN_EXCL
#define NF_NONNEG MS_FF_MIN

/* Entries of one input array: 2^26 doubles (512 MiB). */
#define NF_MAXN ((size_t)1 << 26)

#endif
