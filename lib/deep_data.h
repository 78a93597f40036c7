/* deep_data.h — regression data for the deep-network kinds (spec
 * deep-networks.md §2.6, §3.1, §3.5).
 *
 * What it is for: the synthetic Gaussian regression data of the reference
 * experiments, second moments Σ = XᵀX/n and c = Xᵀy/n, the minimum-norm
 * least-squares solution X⁺y (LAPACK: SVD or column-pivoted QR with the rank
 * tolerance max(n, d)·u·σ₁) and the projector onto ker X.
 *
 * What it is not for: training; nothing here runs inside a step. The LAPACK
 * calls use column-major layouts and caller-sized workspaces obtained with
 * ms_malloc, so every allocation is ours and released before returning.
 */
#ifndef DEEP_DATA_H
#define DEEP_DATA_H

#include <stddef.h>

#include "ms_err.h"
#include "ms_params.h"
#include "ms_rng.h"

/* A regression data set owned by its holder: X (n×d row-major), y (n), and
 * for synthetic data the generating vector w_true (d; NULL for given data). */
typedef struct deep_dataset {
    size_t n, d;
    double *X, *y, *w_true;
} deep_dataset;

/* Copy the given X, y (when X->v is not NULL), or draw n samples in
 * dimension d with deep_data_gaussian; w_true is drawn N(0, I) from rng
 * unless given (so that a test set shares the training set's w_true).
 * All-or-nothing; MS_ENOMEM on failure. */
ms_status deep_dataset_make(deep_dataset *ds, const ms_mat *X, const ms_vec *y, size_t n, size_t d,
                            double noise, const double *w_true, ms_rng *rng, ms_err *err);
void deep_dataset_fini(deep_dataset *ds);

/* Largest input dimension (given X or synthetic d): the kinds keep d×d
 * second moments. */
#define DEEP_DATA_MAX_DIM 2048

/* Field-table entries of the data parameters every deep-network kind
 * shares — X (MAT), y (VEC), n, d (INT), noise (DOUBLE) — for a params
 * struct T with members of those names; n_def, d_def: synthetic defaults. */
#define DEEP_DATA_FIELDS(T, n_def, d_def)                                                        \
    {.name = "X",                                                                                \
     .type = MS_F_MAT,                                                                           \
     .offset = offsetof(T, X),                                                                   \
     .max_len = 4000000,                                                                         \
     .doc = "Inputs, n×d (one row per sample). Absent: synthetic data — X iid N(0,1), "       \
            "w_true ~ N(0, I), y = X w_true + noise·ε with ε ~ N(0, I)."},                       \
        {.name = "y",                                                                            \
         .type = MS_F_VEC,                                                                       \
         .offset = offsetof(T, y),                                                               \
         .max_len = 1000000,                                                                     \
         .doc = "Targets (n values); required with X."},                                         \
        {.name = "n",                                                                            \
         .type = MS_F_INT,                                                                       \
         .offset = offsetof(T, n),                                                               \
         .flags = MS_FF_MIN | MS_FF_MAX,                                                         \
         .min = 1,                                                                               \
         .max = 1000000,                                                                         \
         .def = (n_def),                                                                         \
         .doc = "Synthetic data: number of samples."},                                           \
        {.name = "d",                                                                            \
         .type = MS_F_INT,                                                                       \
         .offset = offsetof(T, d),                                                               \
         .flags = MS_FF_MIN | MS_FF_MAX,                                                         \
         .min = 1,                                                                               \
         .max = 2048,                                                                            \
         .def = (d_def),                                                                         \
         .doc = "Synthetic data: input dimension."},                                             \
    {                                                                                            \
        .name = "noise", .type = MS_F_DOUBLE, .offset = offsetof(T, noise), .flags = MS_FF_MIN,  \
        .min = 0, .def = 1.0, .doc = "Synthetic data: standard deviation of the label noise ε." \
    }

/* Field-table entries every deep-network kind ends with: diverge_factor
 * (DOUBLE), seed and threads (INT), for a params struct T with those members. */
#define DEEP_RUN_FIELDS(T)                                                                       \
    {.name = "diverge_factor",                                                                   \
     .type = MS_F_DOUBLE,                                                                        \
     .offset = offsetof(T, diverge_factor),                                                      \
     .flags = MS_FF_MIN_EXCL,                                                                    \
     .min = 1,                                                                                   \
     .def = 1e6,                                                                                 \
     .doc = "The run ends as a success with diverged = true when a loss exceeds this "           \
            "multiple of its initial value or is not finite."},                                  \
        {.name = "seed",                                                                         \
         .type = MS_F_INT,                                                                       \
         .offset = offsetof(T, seed),                                                            \
         .def = 0,                                                                               \
         .doc = "Seed of all randomness (data, weights, start vectors); each use draws from "    \
                "its own stream, so results do not depend on threads."},                         \
    {                                                                                            \
        .name = "threads", .type = MS_F_INT, .offset = offsetof(T, threads), .flags = MS_FF_MIN, \
        .min = 1, .def = 1,                                                                      \
        .doc = "Threads inside a step (row blocks of the large products); results do not "       \
               "depend on it beyond round-off."                                                  \
    }

/* Cross-field rule shared by the kinds: X and y are given together, with
 * one row of X per entry of y. Appends errors naming xname / yname. */
void deep_dataset_check(const ms_mat *X, const ms_vec *y, const char *xname, const char *yname,
                        ms_errlist *errs);

/* X (n×d, row-major) iid N(0,1); y = X w_true + noise·ε, ε ~ N(0, I_n). */
void deep_data_gaussian(ms_rng *rng, size_t n, size_t d, double noise, const double *w_true,
                        double *X, double *y);

/* Σ = XᵀX/n (d×d, full symmetric), c = Xᵀy/n, *yy = ‖y‖²/n. */
void deep_data_moments(const double *X, const double *y, size_t n, size_t d, double *sigma,
                       double *c, double *yy);

typedef enum { DEEP_LSQ_SVD, DEEP_LSQ_QR } deep_lsq_method;

/* β = X⁺y (d values), the minimum-norm minimiser of ‖Xβ − y‖, and the
 * numerical rank of X. MS_ENOMEM / MS_ENUMERIC on failure. */
ms_status deep_lstsq(const double *X, const double *y, size_t n, size_t d, deep_lsq_method method,
                     double *beta, size_t *rank, ms_err *err);

/* P (d×d) = projector onto ker X = I − V_rᵀV_r (V_r: right singular vectors
 * of the r non-negligible singular values). */
ms_status deep_null_projector(const double *X, size_t n, size_t d, double *P, size_t *rank,
                              ms_err *err);

/* Largest eigenvalue of a symmetric d×d matrix (LAPACK dsyev). */
ms_status deep_sym_eig_max(const double *A, size_t d, double *lmax, ms_err *err);

#endif
