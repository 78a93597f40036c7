/* games_diag.c — spectra of the linearised game. See games_diag.h. */
#include "games_diag.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "ms_alloc.h"

const char *const games_method_names[] = {"gda",  "alt_gda",        "extragradient",
                                          "ogda", "proximal_point", NULL};

/* Eigenvalues of the symmetric part of an n×n block (row stride ld). */
static int sym_eig(const double *a, size_t n, size_t ld, double *w, double *work) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            work[i * n + j] = 0.5 * (a[i * ld + j] + a[j * ld + i]);
    return LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)n, work, (lapack_int)n, w);
}

/* Spectral radius of a general m×m matrix (destroyed). */
static int radius(double *T, size_t m, double *wr, double *wi, double *rho) {
    lapack_int info = LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)m, T, (lapack_int)m, wr,
                                    wi, NULL, 1, NULL, 1);
    double r = 0;
    for (size_t k = 0; k < m; k++)
        r = fmax(r, hypot(wr[k], wi[k]));
    *rho = r;
    return info;
}

ms_status games_diag_radius(const double *J, size_t d, size_t e, games_method method, double eta,
                            double *rho, ms_err *err) {
    size_t n = d + e, m = method == GAMES_M_OGDA ? 2 * n : n;
    double *T = ms_calloc(m * m, sizeof(double)), *wr = ms_malloc(m, sizeof(double)),
           *wi = ms_malloc(m, sizeof(double)), *B = ms_malloc(n * n, sizeof(double));
    lapack_int *piv = ms_malloc(n, sizeof(lapack_int));
    ms_status s = MS_OK;
    if (!T || !wr || !wi || !B || !piv) {
        s = ms_fail(err, MS_ENOMEM, "", "diagnostics workspace");
        goto done;
    }
    switch (method) {
    case GAMES_M_GDA:
    case GAMES_M_EXTRAGRADIENT:
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double J2 = 0;
                if (method == GAMES_M_EXTRAGRADIENT)
                    for (size_t k = 0; k < n; k++)
                        J2 += J[i * n + k] * J[k * n + j];
                T[i * n + j] = (i == j) - eta * J[i * n + j] + eta * eta * J2;
            }
        break;
    case GAMES_M_PROXIMAL_POINT:
        /* T = (I + ηJ)⁻¹: solve (I + ηJ) T = I. */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                B[i * n + j] = (i == j) + eta * J[i * n + j];
                T[i * n + j] = i == j;
            }
        if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)n, B, (lapack_int)n, piv, T,
                          (lapack_int)n) != 0) {
            s = ms_fail(err, MS_ENUMERIC, "", "I + eta J is singular");
            goto done;
        }
        break;
    case GAMES_M_OGDA:
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                T[i * m + j] = (i == j) - 2 * eta * J[i * n + j];
                T[i * m + n + j] = eta * J[i * n + j];
                T[(n + i) * m + j] = i == j;
            }
        break;
    case GAMES_M_ALT_GDA:
        /* x⁺ = x − η(J_xx x + J_xy y); y⁺ = y − η(J_yx x⁺ + J_yy y) (v_y =
         * −∇ᵧf, so the y rows of J already carry the sign). */
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < n; j++)
                T[i * n + j] = (i == j) - eta * J[i * n + j];
        for (size_t i = d; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double acc = 0;
                for (size_t k = 0; k < d; k++)
                    acc += J[i * n + k] * T[k * n + j];
                T[i * n + j] = (i == j) - eta * (acc + (j >= d ? J[i * n + j] : 0));
            }
        break;
    }
    if (radius(T, m, wr, wi, rho) != 0)
        s = ms_fail(err, MS_ENUMERIC, "", "eigenvalues did not converge");
done:
    ms_free(T);
    ms_free(wr);
    ms_free(wi);
    ms_free(B);
    ms_free(piv);
    return s;
}

void games_diag_fini(games_diag *g) {
    if (!g)
        return;
    ms_free(g->eig_re);
    ms_free(g->eig_im);
    ms_free(g->eig_S);
    ms_free(g->eig_hxx);
    ms_free(g->eig_hyy);
    memset(g, 0, sizeof *g);
}

ms_status games_diag_compute(const double *J, size_t d, size_t e, double tol, games_diag *out,
                             ms_err *err) {
    size_t n = d + e;
    memset(out, 0, sizeof *out);
    out->d = d;
    out->e = e;
    out->n = n;
    out->eig_re = ms_malloc(n, sizeof(double));
    out->eig_im = ms_malloc(n, sizeof(double));
    out->eig_S = ms_malloc(n, sizeof(double));
    out->eig_hxx = ms_malloc(d ? d : 1, sizeof(double));
    out->eig_hyy = ms_malloc(e ? e : 1, sizeof(double));
    double *work = ms_malloc(n * n, sizeof(double)), *S = ms_malloc(n * n, sizeof(double)),
           *A = ms_malloc(n * n, sizeof(double)), *V = ms_malloc(n * n, sizeof(double)),
           *wr = ms_malloc(n, sizeof(double)), *wi = ms_malloc(n, sizeof(double));
    ms_status s = MS_OK;
    if (!out->eig_re || !out->eig_im || !out->eig_S || !out->eig_hxx || !out->eig_hyy || !work ||
        !S || !A || !V || !wr || !wi) {
        s = ms_fail(err, MS_ENOMEM, "", "diagnostics workspace");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            S[i * n + j] = 0.5 * (J[i * n + j] + J[j * n + i]);
            A[i * n + j] = 0.5 * (J[i * n + j] - J[j * n + i]);
        }
    /* Blocks: J_xx = ∇²ₓₓf, J_yy = −∇²ᵧᵧf. */
    int info = 0;
    if (d)
        info |= sym_eig(J, d, n, out->eig_hxx, work);
    if (e) {
        for (size_t i = 0; i < e; i++)
            for (size_t j = 0; j < e; j++)
                V[i * e + j] = -J[(d + i) * n + d + j];
        info |= sym_eig(V, e, e, out->eig_hyy, work);
    }
    info |= sym_eig(S, n, n, out->eig_S, work);
    memcpy(work, J, n * n * sizeof(double));
    info |= LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)n, work, (lapack_int)n,
                          out->eig_re, out->eig_im, NULL, 1, NULL, 1);
    /* Eigenvectors of A (unit norm; a complex pair is stored as the real
     * and imaginary parts in columns k, k+1). */
    memcpy(work, A, n * n * sizeof(double));
    info |= LAPACKE_dgeev(LAPACK_ROW_MAJOR, 'N', 'V', (lapack_int)n, work, (lapack_int)n, wr, wi,
                          NULL, 1, V, (lapack_int)n);
    if (info != 0) {
        s = ms_fail(err, MS_ENUMERIC, "", "eigenvalue computation failed (LAPACK info %d)", info);
        goto done;
    }
    /* Sort J's eigenvalues by real part (insertion: n is small). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out->eig_re[j] < out->eig_re[j - 1]; j--) {
            double t = out->eig_re[j];
            out->eig_re[j] = out->eig_re[j - 1];
            out->eig_re[j - 1] = t;
            t = out->eig_im[j];
            out->eig_im[j] = out->eig_im[j - 1];
            out->eig_im[j - 1] = t;
        }
    out->min_re = n ? out->eig_re[0] : 0;
    double tr = 0;
    for (size_t i = 0; i < n; i++)
        tr += out->eig_S[i];
    out->mean_S = tr / (double)n;
    out->min_S = out->eig_S[0];
    double gp = INFINITY;
    for (size_t k = 0; k < n; k++) {
        int pair = wi[k] != 0 && k + 1 < n;
        double num = 0, den = 0;
        for (int part = 0; part <= pair; part++) {
            const double *u = V + k + (size_t)part; /* column k (+1) */
            for (size_t i = 0; i < n; i++) {
                double su = 0;
                for (size_t j = 0; j < n; j++)
                    su += S[i * n + j] * u[j * n];
                num += su * su;
                den += u[i * n] * u[i * n];
            }
        }
        gp = fmin(gp, den > 0 ? sqrt(num / den) : 0);
        if (pair)
            k++;
    }
    out->general_position = gp;
    out->is_local_nash = 1;
    for (size_t i = 0; i < d; i++)
        if (out->eig_hxx[i] < -tol)
            out->is_local_nash = 0;
    for (size_t i = 0; i < e; i++)
        if (out->eig_hyy[i] > tol)
            out->is_local_nash = 0;
done:
    ms_free(work);
    ms_free(S);
    ms_free(A);
    ms_free(V);
    ms_free(wr);
    ms_free(wi);
    if (s != MS_OK)
        games_diag_fini(out);
    return s;
}
