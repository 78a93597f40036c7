/* nets_twolayer_kind.c — the `two_layer` job kind: two-layer networks
 * trained as particle systems (spec §0–§4, §7–§9).
 *
 * What it is for: the field table (the one declaration of the parameters),
 * cross-field checks, init (data, particles, workspaces), the step
 * dispatch, the result tree and fini. Algorithms: particle gradient descent
 * [CB18], the conic network variant of [C19], mean-field Langevin dynamics
 * by lifting and by the bilevel reduction [WMC24] with annealing [C22].
 *
 * What it is not for: the numerics (nets_twolayer.c, nets_pgd.c,
 * nets_langevin.c, nets_bilevel.c, nets_monitor.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ms_alloc.h"
#include "nets_fields.h"
#include "nets_run_internal.h"

#define P nets_2l_params

static const char *const task_choices[] = {"teacher",  "single_neuron", "regression1d",
                                           "clusters", "data",          NULL};
static const char *const act_choices[] = {"relu", "tanh", "sigmoid", NULL};
static const char *const loss_choices[] = {"square", "logistic", NULL};
static const char *const method_choices[] = {"pgd", "conic", "mfld_lifting", "mfld_bilevel", NULL};
static const char *const penalty_choices[] = {"weight_decay", "output_l1", NULL};
static const char *const init_choices[] = {"gaussian", "sphere", NULL};
static const char *const decay_choices[] = {"constant", "inv_sqrt", NULL};
static const char *const anneal_choices[] = {"none", "geometric", "logarithmic", NULL};
static const char *const precision_choices[] = {"float64", "float32", NULL};

static const ms_field fields[] = {
    NF_INT(seed, 0, 0, 0, 0, "Seed of every random draw (data, init, noise)."),
    NF_INT(threads, NF_MINMAX, 1, 256, 1, "Threads inside one step."),
    NF_INT(max_iter, NF_MINMAX, 1, 1e9, 1000, "Iterations at most; then converged=false."),
    NF_DBL(tol, NF_NONNEG, 0, 0, 1e-9,
           "Stop when |F_k - F_{k-20}| <= tol*max(1,|F_k|) (MFLD: windowed means of 100 "
           "iterations); 0 disables."),
    NF_DBL(tol_grad, NF_NONNEG, 0, 0, 0, "Stop when grad_norm <= tol_grad; 0 disables."),
    NF_ENUM(task, task_choices, "teacher",
            "Data: teacher (T1 teacher-student), single_neuron (T2), regression1d (T4), clusters "
            "(T5, logistic), or data (arrays x, y given)."),
    NF_MAT(x, NF_MAXN, "Training inputs, n x d (task=data)."),
    NF_VEC(y, 0, 0, 0, NF_MAXN, "Training targets, n (labels +-1 for the logistic loss)."),
    NF_MAT(x_test, NF_MAXN, "Optional test inputs (task=data); test_loss is streamed."),
    NF_VEC(y_test, 0, 0, 0, NF_MAXN, "Test targets, matching x_test."),
    NF_MAT(x_eval, NF_MAXN, "Optional inputs (d columns, no bias) where the result gives f."),
    NF_INT(d, NF_MINMAX, 1, 1e5, 20, "Input dimension of synthetic tasks (clusters: >= 2)."),
    NF_INT(n, NF_MINMAX, 1, 1e7, 1000, "Training samples of synthetic tasks."),
    NF_INT(n_test, NF_MINMAX, 0, 1e7, 1000, "Fresh test samples of synthetic tasks (0: none)."),
    NF_INT(batch, NF_MINMAX, 0, 1e7, 0,
           "0: full batch on the n samples; B > 0: a fresh batch of B samples each step "
           "(online, synthetic tasks only)."),
    NF_INT(teacher_m0, NF_MINMAX, 1, 1e5, 5, "Teacher neurons (T1)."),
    NF_BOOL(teacher_normalize, 0, "Teacher scale c = 1/m0 instead of 1 (T1)."),
    NF_BOOL(teacher_random_signs, 0, "Teacher output weights random +-1 instead of +1 (T1)."),
    NF_ENUM(teacher_activation, act_choices, "relu", "Teacher activation (T1, T2)."),
    NF_BOOL(gaussian_inputs, 0, "Inputs N(0, I) instead of uniform on the sphere (T1, T2)."),
    NF_BOOL(smooth_target, 1, "T4: y = sin(pi x); false: random targets in [-1, 1]."),
    NF_INT(clusters_k, NF_MINMAX, 1, 100, 3, "T5: k x k clusters."),
    NF_DBL(label_noise, NF_NONNEG, 0, 0, 0, "Gaussian label noise sigma (T1, T2, T4)."),
    NF_BOOL(bias, 0, "Append a constant 1 to every input (T4 and T5 always do)."),
    NF_INT(m, NF_MINMAX, 1, 1e7, 100, "Number of particles (neurons)."),
    NF_ENUM(activation, act_choices, "relu", "Activation sigma of the student."),
    NF_ENUM(loss, loss_choices, "square",
            "Loss: square 1/2 (f-y)^2 or logistic softplus(-y f) (default for clusters)."),
    NF_ENUM(method, method_choices, "pgd",
            "pgd: particle gradient descent; conic: conic network variant (w.|w| input weights, "
            "fixed output signs); mfld_lifting: noisy GD on (a, w); mfld_bilevel: Langevin on "
            "the sphere with the output weights solved exactly."),
    NF_ENUM(penalty, penalty_choices, "weight_decay",
            "pgd: weight_decay (lambda/2)|u|^2 (2-homogeneous lift) or output_l1 lambda|a| with "
            "a proximal step and w on the unit sphere for ReLU (1-homogeneous lift)."),
    NF_ENUM(init, init_choices, "gaussian",
            "Initial particles: gaussian N(0, init_scale^2) entries, or sphere (u uniform on "
            "the sphere of radius init_scale)."),
    NF_MAT(init_particles, NF_MAXN,
           "Optional initial particles, one row (a, w_1..w_D) each, D the input dimension with "
           "the bias column; overrides m and init. conic: a gives the output signs."),
    NF_BOOL(symmetric, 0, "Initialise in pairs (a, w), (-a, w) so that f_0 = 0 (m even)."),
    NF_DBL(init_scale, NF_POS, 0, 0, 1, "Scale of the initial particles."),
    NF_DBL(lambda, NF_NONNEG, 0, 0, 1e-3, "Regularisation strength lambda."),
    NF_DBL(step, NF_POS, 0, 0, 0.1, "Step size eta of the mean-field step rule."),
    NF_ENUM(step_decay, decay_choices, "constant", "Step schedule: eta or eta/sqrt(t+1)."),
    NF_BOOL(safe, 0, "Halve eta and retry when the objective rises (deterministic methods)."),
    NF_DBL(conic_ratio, NF_NONNEG, 0, 0, 1,
           "conic: beta/alpha, step of the tangential part relative to the radial part."),
    NF_DBL(tau, NF_NONNEG, 0, 0, 1e-3, "MFLD temperature tau (initial one when annealing)."),
    NF_DBL(kappa, NF_POS, 0, 0, 1, "mfld_lifting: step kappa*eta on the output weights."),
    NF_ENUM(anneal, anneal_choices, "none",
            "Temperature schedule: none; geometric tau_k = tau gamma^k for stage_iters*(tau/"
            "tau_k)^power iterations until tau_k < tau_min; logarithmic tau/log(e + t/t0)."),
    NF_DBL(anneal_gamma, MS_FF_MIN_EXCL | MS_FF_MAX_EXCL, 0, 1, 0.5, "Geometric factor gamma."),
    NF_DBL(anneal_power, NF_NONNEG, 0, 0, 0, "Stage length exponent p."),
    NF_INT(anneal_stage_iters, NF_MINMAX, 1, 1e9, 1000, "Iterations T_0 of the first stage."),
    NF_DBL(tau_min, NF_POS, 0, 0, 1e-6, "Geometric annealing stops below this temperature."),
    NF_DBL(anneal_t0, NF_POS, 0, 0, 100, "Time constant t0 of the logarithmic schedule."),
    NF_INT(inner_iter, NF_MINMAX, 1, 1000, 20, "mfld_bilevel, logistic: Newton iterations."),
    NF_DBL(inner_tol, NF_POS, 0, 0, 1e-10, "mfld_bilevel, logistic: Newton gradient tolerance."),
    NF_INT(stream_every, NF_MINMAX, 1, 1e9, 10, "Cheap metrics every this many iterations."),
    NF_INT(heavy_every, NF_MINMAX, 1, 1e9, 100,
           "Certificate, entropy and kernel drift every this many iterations."),
    NF_INT(cert_directions, NF_MINMAX, 0, 1e6, 1024,
           "Random directions searched by the ReLU certificate (plus particles and ascent)."),
    NF_BOOL(kernel_drift, 0, "Stream |K_t - K_0|/|K_0| of the tangent kernel on <= 256 inputs."),
    NF_BOOL(return_particles, 1, "Return the particles and the represented measure."),
    NF_ENUM(precision, precision_choices, "float64",
            "Arithmetic of the step's heavy part: float64, or float32 (the two GEMMs and the "
            "n x m activation passes in single precision, about twice as fast; particles, "
            "updates, losses and metrics stay float64, results agree with float64 to ~1e-6 "
            "relative per step)."),
};

const ms_fields nets__2l_fields = MS_FIELDS(nets_2l_params, fields);
#undef P

static ms_status check(const void *vp, ms_errlist *errs) {
    const nets_2l_params *p = vp;
    size_t before = errs->n;
    int data = p->task == NETS_TASK_DATA;
    if (data && !p->x.v)
        ms_errlist_addf(errs, MS_EINVAL, "x", "is required when task is data");
    if (data && !p->y.v)
        ms_errlist_addf(errs, MS_EINVAL, "y", "is required when task is data");
    if (data && p->x.v && p->y.v && p->y.n != p->x.rows)
        ms_errlist_addf(errs, MS_EINVAL, "y", "has %zu entries, x has %zu rows", p->y.n, p->x.rows);
    if (!p->x_test.v != !p->y_test.v)
        ms_errlist_addf(errs, MS_EINVAL, p->x_test.v ? "y_test" : "x_test",
                        "x_test and y_test go together");
    if (p->x_test.v && p->y_test.v && p->y_test.n != p->x_test.rows)
        ms_errlist_addf(errs, MS_EINVAL, "y_test", "has %zu entries, x_test has %zu rows",
                        p->y_test.n, p->x_test.rows);
    size_t din = data && p->x.v ? p->x.cols : p->task == NETS_TASK_REGRESS ? 1 : (size_t)p->d;
    if (p->x_test.v && data && p->x.v && p->x_test.cols != din)
        ms_errlist_addf(errs, MS_EINVAL, "x_test", "has %zu columns, x has %zu", p->x_test.cols,
                        din);
    if (p->x_eval.v && p->x_eval.cols != din)
        ms_errlist_addf(errs, MS_EINVAL, "x_eval", "has %zu columns, inputs have %zu",
                        p->x_eval.cols, din);
    if (p->batch > 0 && data)
        ms_errlist_addf(errs, MS_EINVAL, "batch", "online batches need a synthetic task");
    if (p->task == NETS_TASK_CLUSTERS && p->d < 2)
        ms_errlist_addf(errs, MS_EINVAL, "d", "clusters need d >= 2");
    size_t dtot =
        din + (p->bias || p->task == NETS_TASK_REGRESS || p->task == NETS_TASK_CLUSTERS ? 1 : 0);
    if (p->init_particles.v && p->init_particles.cols != dtot + 1)
        ms_errlist_addf(errs, MS_EINVAL, "init_particles", "needs %zu columns (a, w), got %zu",
                        dtot + 1, p->init_particles.cols);
    if (p->symmetric && p->m % 2 && !p->init_particles.v)
        ms_errlist_addf(errs, MS_EINVAL, "m", "symmetric init needs an even m, got %lld", p->m);
    if (p->method == M_MFLD_BILEVEL && !(p->lambda > 0))
        ms_errlist_addf(errs, MS_EINVAL, "lambda", "mfld_bilevel needs lambda > 0");
    if (p->method == M_MFLD_BILEVEL && p->activation == NETS_RELU && din + (p->bias != 0) < 2)
        ms_errlist_addf(errs, MS_EINVAL, "d", "the sphere of mfld_bilevel needs dimension >= 2");
    if (p->loss == NETS_LOGISTIC && data && p->y.v)
        for (size_t j = 0; j < p->y.n; j++)
            if (fabs(p->y.v[j]) != 1.0) {
                char at[32];
                snprintf(at, sizeof at, "y/%zu", j);
                ms_errlist_addf(errs, MS_EINVAL, at, "logistic labels must be -1 or +1");
                break;
            }
    return errs->n > before ? MS_EINVAL : MS_OK;
}

/* Copy rows of `src` (rows×din) into dst (rows×(din+bias)) with the bias column. */
static void copy_rows(double *dst, const double *src, size_t rows, size_t din, int bias) {
    size_t d = din + (bias ? 1 : 0);
    for (size_t j = 0; j < rows; j++) {
        memcpy(dst + j * d, src + j * din, din * sizeof(double));
        if (bias)
            dst[j * d + din] = 1.0;
    }
}

static size_t memory(const void *vp) {
    const nets_2l_params *p = vp;
    size_t n = p->task == NETS_TASK_DATA ? p->x.rows
               : p->batch > 0            ? (size_t)p->batch
                                         : (size_t)p->n;
    size_t m = (size_t)p->m, d = (size_t)p->d + 1;
    /* In the working precision: bilevel, the n×m activations (twice for the
     * logistic); otherwise (fused, nets_tl) a block of them and the partial
     * sums per row chunk. The rest in doubles. */
    size_t nc = nets__tl_chunks(n), rows = n < NETS_ROW_BLOCK ? n : NETS_ROW_BLOCK;
    size_t big = p->method != M_MFLD_BILEVEL ? nc * (rows * m + m * d + m)
                                             : n * m * (p->loss == NETS_LOGISTIC ? 2 : 1);
    size_t words = NETS_ROW_BLOCK * (m + n) + 8 * m * d + 3 * n * d;
    if (p->method == M_MFLD_BILEVEL)
        words += (n < m ? n : m) * (n < m ? n : m) * (p->precision ? 2 : 1);
    return big * (p->precision ? sizeof(float) : sizeof(double)) + words * sizeof(double);
}

static ms_status alloc_all(nets_run *S, const nets_2l_params *p) {
    const size_t m = S->m, d = S->d, md = m * d;
    size_t np = S->n_probe;
    double **arrs[] = {&S->a,      &S->w,      &S->a0,    &S->w0,      &S->ga,      &S->gw,
                       &S->a_prev, &S->w_prev, &S->v,     &S->pred_ws, &S->cert_ws, &S->ent_ws,
                       &S->h_it,   &S->h_loss, &S->h_obj, &S->h_test,  &S->h_tau};
    size_t sizes[] = {m,
                      md,
                      m,
                      md,
                      m,
                      md,
                      m,
                      md,
                      md,
                      NETS_ROW_BLOCK * m,
                      nets__cert_ws(S->n, d),
                      m * (d + 2),
                      S->hist_cap,
                      S->hist_cap,
                      S->hist_cap,
                      S->hist_cap,
                      S->hist_cap};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        if (!(*arrs[k] = ms_malloc(sizes[k] ? sizes[k] : 1, sizeof(double))))
            return MS_ENOMEM;
    if (S->n_test && !(S->ftest = ms_malloc(S->n_test, sizeof(double))))
        return MS_ENOMEM;
    if (S->n_eval && !(S->feval = ms_malloc(S->n_eval, sizeof(double))))
        return MS_ENOMEM;
    if (p->kernel_drift) {
        S->probe = ms_malloc(np * d, sizeof(double));
        S->K0 = ms_malloc(np * np, sizeof(double));
        S->Kt = ms_malloc(np * np, sizeof(double));
        S->kern_ws = ms_malloc(2 * np * m, sizeof(double));
        if (!S->probe || !S->K0 || !S->Kt || !S->kern_ws)
            return MS_ENOMEM;
    }
    /* The bilevel inner solve needs the features Φ = h after the forward. */
    if (nets__tl_alloc(&S->tl, S->n, d, m, p->precision, S->method != M_MFLD_BILEVEL) != MS_OK)
        return MS_ENOMEM;
    if (S->method == M_MFLD_BILEVEL &&
        nets__bilevel_alloc(&S->bl, S->n, m, d, (nets_loss)p->loss, p->precision) != MS_OK)
        return MS_ENOMEM;
    return MS_OK;
}

/* Data: synthetic draws or copies of the request's arrays. */
static ms_status load_data(nets_run *S, const nets_2l_params *p) {
    nets_task *t = &S->task;
    const size_t d = S->d;
    int bias = t->bias;
    if (!(S->x = ms_malloc(S->n * d, sizeof(double))) || !(S->y = ms_malloc(S->n, sizeof(double))))
        return MS_ENOMEM;
    if (S->n_test && (!(S->xt = ms_malloc(S->n_test * d, sizeof(double))) ||
                      !(S->yt = ms_malloc(S->n_test, sizeof(double)))))
        return MS_ENOMEM;
    if (S->n_eval && !(S->xe = ms_malloc(S->n_eval * d, sizeof(double))))
        return MS_ENOMEM;
    if (p->x_eval.v)
        copy_rows(S->xe, p->x_eval.v, S->n_eval, t->d_in, bias);
    if (t->kind == NETS_TASK_DATA) {
        copy_rows(S->x, p->x.v, S->n, t->d_in, bias);
        memcpy(S->y, p->y.v, S->n * sizeof(double));
        if (S->n_test) {
            copy_rows(S->xt, p->x_test.v, S->n_test, t->d_in, bias);
            memcpy(S->yt, p->y_test.v, S->n_test * sizeof(double));
        }
        return MS_OK;
    }
    ms_rng r;
    ms_rng_init(&r, S->seed, 1);
    if (nets__task_init(t, &r) != MS_OK)
        return MS_ENOMEM;
    ms_rng_init(&S->data_rng, S->seed, 2);
    nets__task_sample(t, &S->data_rng, S->n, S->x, S->y);
    ms_rng_init(&r, S->seed, 3);
    if (S->n_test)
        nets__task_sample(t, &r, S->n_test, S->xt, S->yt);
    return MS_OK;
}

/* Initial particles, spec §1–§4. */
static void init_particles(nets_run *S, const nets_2l_params *p) {
    size_t m = S->m;
    const size_t d = S->d;
    const double s = p->init_scale;
    const int unit_theta = S->method == M_MFLD_BILEVEL || S->penalty == P_OUTPUT_L1;
    ms_rng r;
    ms_rng_init(&r, S->seed, 4);
    if (p->init_particles.v) {
        for (size_t i = 0; i < m; i++) {
            S->a[i] = p->init_particles.v[i * (d + 1)];
            memcpy(S->w + i * d, p->init_particles.v + i * (d + 1) + 1, d * sizeof(double));
            if (unit_theta)
                nets__normalize(S->w + i * d, d);
        }
        m = 0; /* nothing to draw */
    }
    for (size_t i = 0; i < m; i += p->symmetric ? 2 : 1) {
        double *wi = S->w + i * d;
        double ai = ms_rng_normal(&r), nrm = 1.0 / s;
        ms_rng_normals(&r, wi, d);
        if (p->init == I_SPHERE) { /* (a, w) uniform on the sphere of radius s */
            nrm = ai * ai;
            for (size_t k = 0; k < d; k++)
                nrm += wi[k] * wi[k];
            nrm = sqrt(nrm) / s;
        }
        ai /= nrm;
        for (size_t k = 0; k < d; k++)
            wi[k] /= nrm;
        if (unit_theta) {
            /* θ spread on the unit sphere, r(0) = 0 (spec §1); the bilevel
             * inner solve sets r before the first step anyway. */
            nets__normalize(wi, d);
            ai = 0;
        }
        if (S->method == M_CONIC)
            ai = i % 2 ? -1.0 : 1.0; /* fixed output signs, both present */
        S->a[i] = ai;
        if (p->symmetric) {
            S->a[i + 1] = -ai;
            memcpy(S->w + (i + 1) * d, wi, d * sizeof(double));
        }
    }
    memcpy(S->a0, S->a, S->m * sizeof(double));
    memcpy(S->w0, S->w, S->m * d * sizeof(double));
}

static void fini(void *vs);

static ms_status init(void *vs, const void *vp, const ms_ctx *ctx, ms_err *err) {
    nets_run *S = vs;
    const nets_2l_params *p = vp;
    memset(S, 0, sizeof *S);
    S->p = p;
    S->seed = (uint64_t)p->seed;
    S->method = (nets_method)p->method;
    S->penalty = p->method == M_PGD ? (nets_penalty)p->penalty : P_WEIGHT_DECAY;
    S->lambda = p->lambda;
    nets_task *t = &S->task;
    t->kind = (nets_task_kind)p->task;
    t->d_in = t->kind == NETS_TASK_DATA      ? p->x.cols
              : t->kind == NETS_TASK_REGRESS ? 1
                                             : (size_t)p->d;
    t->bias = p->bias || t->kind == NETS_TASK_REGRESS || t->kind == NETS_TASK_CLUSTERS;
    t->gaussian = p->gaussian_inputs;
    t->act = (nets_act)p->teacher_activation;
    t->m0 = (size_t)p->teacher_m0;
    t->c = p->teacher_normalize ? 1.0 / (double)p->teacher_m0 : 1.0;
    t->random_signs = p->teacher_random_signs;
    t->noise = p->label_noise;
    t->smooth = p->smooth_target;
    t->k = (size_t)p->clusters_k;
    S->d = nets__task_dim(t);
    S->m = p->init_particles.v ? p->init_particles.rows : (size_t)p->m;
    S->online = p->batch > 0;
    S->n = t->kind == NETS_TASK_DATA ? p->x.rows : S->online ? (size_t)p->batch : (size_t)p->n;
    S->n_test = t->kind == NETS_TASK_DATA ? (p->x_test.v ? p->x_test.rows : 0) : (size_t)p->n_test;
    S->n_eval = p->x_eval.v ? p->x_eval.rows : 0;
    S->n_probe = S->n < 256 ? S->n : 256;
    size_t every = (size_t)p->stream_every;
    S->hist_cap = (size_t)p->max_iter / every + 2;
    if (S->hist_cap > NETS_HIST_MAX)
        S->hist_cap = NETS_HIST_MAX;
    if (load_data(S, p) != MS_OK || alloc_all(S, p) != MS_OK) {
        fini(S);
        return ms_fail(err, MS_ENOMEM, "", "two_layer: out of memory (n=%zu, m=%zu, d=%zu)", S->n,
                       S->m, S->d);
    }
    S->tl.act = (nets_act)p->activation;
    S->tl.loss = (nets_loss)p->loss;
    nets__tl_set_data(&S->tl, S->x, S->y, S->n);
    S->bl.lambda = p->lambda;
    S->bl.reuse = !S->online; /* the data, hence Φ, change with every batch */
    S->bl.newton_iter = (size_t)p->inner_iter;
    S->bl.newton_tol = p->inner_tol;
    S->an = (nets_anneal){(nets_anneal_kind)p->anneal,
                          p->tau,
                          p->anneal_gamma,
                          p->anneal_power,
                          p->tau_min,
                          p->anneal_t0,
                          (size_t)p->anneal_stage_iters,
                          0,
                          0,
                          0,
                          0};
    nets__anneal_start(&S->an);
    S->tau = p->tau;
    S->eta = p->step;
    /* The certificate of §1 holds for any convex loss (e_j = ℓ'/n). */
    S->relu_tv = S->tl.act == NETS_RELU && S->lambda > 0 && S->method != M_CONIC;
    S->win_prev = NAN;
    S->certificate = S->entropy = S->test_loss = NAN;
    init_particles(S, p);
    if (S->method == M_CONIC)
        nets__conic_v(S->w, S->v, S->m * S->d);
    if (S->K0) {
        memcpy(S->probe, S->x, S->n_probe * S->d * sizeof(double));
        nets__tangent_kernel(&S->tl, S->a, S->method == M_CONIC ? S->v : S->w, S->probe, S->n_probe,
                             S->K0, S->kern_ws);
    }
    ms_status st = nets__refresh(S, ctx, err);
    if (st != MS_OK) {
        fini(S);
        return st;
    }
    S->obj0 = S->obj;
    return MS_OK;
}

static ms_status step(void *vs, const ms_ctx *ctx, ms_progress *prog, ms_err *err) {
    nets_run *S = vs;
    ms_status st;
    switch (S->method) {
    case M_PGD:
        st = nets__step_pgd(S, ctx, err);
        break;
    case M_CONIC:
        st = nets__step_conic(S, ctx, err);
        break;
    case M_MFLD_LIFT:
        st = nets__step_mfld_lift(S, ctx, err);
        break;
    default:
        st = nets__step_mfld_bilevel(S, ctx, err);
        break;
    }
    if (st != MS_OK)
        return st;
    S->it++;
    return nets__monitor(S, ctx, prog, err);
}

static ms_status result(void *vs, ms_value *out, ms_err *err) {
    nets_run *S = vs;
    const size_t m = S->m, d = S->d;
    (void)err;
    ms_obj_int(out, "iterations", (long long)S->it);
    ms_obj_bool(out, "converged", S->converged);
    ms_obj_num(out, "loss", S->loss);
    ms_obj_num(out, "objective", S->obj);
    if (S->n_test)
        ms_obj_num(out, "test_loss", S->test_loss);
    ms_obj_num(out, "grad_norm", S->grad_norm);
    if (S->relu_tv)
        ms_obj_num(out, "certificate", S->certificate);
    if (S->method == M_MFLD_LIFT || S->method == M_MFLD_BILEVEL) {
        ms_obj_num(out, "temperature", S->tau);
        ms_obj_num(out, "entropy", S->entropy);
    }
    ms_obj_num(out, "step", S->eta);
    if (S->n_eval) {
        const double *w = S->method == M_CONIC ? S->v : S->w;
        nets__tl_predict(&S->tl, S->a, w, S->xe, S->n_eval, S->feval, S->pred_ws);
        ms_obj_vec(out, "f_eval", S->feval, S->n_eval, 1);
    }
    if (S->p->return_particles) {
        ms_value *pt = ms_obj_obj(out, "particles");
        const char *an = S->method == M_CONIC ? "signs" : S->method == M_MFLD_BILEVEL ? "r" : "a";
        const char *wn = S->method == M_MFLD_BILEVEL ? "theta" : "w";
        ms_obj_vec(pt, an, S->a, m, 1);
        ms_obj_mat(pt, wn, S->w, m, d, d);
        if (S->method == M_CONIC)
            ms_obj_mat(pt, "v", S->v, m, d, d);
        /* The represented signed measure (1/m) Σ mass_i δ_{direction_i}. */
        ms_value *mu = ms_obj_obj(out, "signed_measure");
        const double *w = S->method == M_CONIC ? S->v : S->w;
        for (size_t i = 0; i < m; i++) {
            S->ga[i] = nets__particle_mass(S, i) / (double)m;
            memcpy(S->gw + i * d, w + i * d, d * sizeof(double));
            nets__normalize(S->gw + i * d, d);
        }
        ms_obj_mat(mu, "points", S->gw, m, d, d);
        ms_obj_vec(mu, "weights", S->ga, m, 1);
    }
    if (S->task.wstar) {
        ms_value *te = ms_obj_obj(out, "teacher");
        ms_obj_mat(te, "w", S->task.wstar, S->task.m0, S->task.d_in, S->task.d_in);
        ms_obj_vec(te, "a", S->task.astar, S->task.m0, 1);
        ms_obj_num(te, "c", S->task.c);
    }
    ms_value *h = ms_obj_obj(out, "history");
    ms_obj_vec(h, "iteration", S->h_it, S->hist_n, 1);
    ms_obj_vec(h, "loss", S->h_loss, S->hist_n, 1);
    ms_obj_vec(h, "objective", S->h_obj, S->hist_n, 1);
    if (S->n_test)
        ms_obj_vec(h, "test_loss", S->h_test, S->hist_n, 1);
    if (S->method == M_MFLD_LIFT || S->method == M_MFLD_BILEVEL)
        ms_obj_vec(h, "temperature", S->h_tau, S->hist_n, 1);
    return MS_OK;
}

static void fini(void *vs) {
    nets_run *S = vs;
    double *arrs[] = {S->x,       S->y,       S->xt,    S->yt,      S->xe,     S->a,      S->w,
                      S->a0,      S->w0,      S->ga,    S->gw,      S->a_prev, S->w_prev, S->v,
                      S->pred_ws, S->ftest,   S->feval, S->cert_ws, S->ent_ws, S->probe,  S->K0,
                      S->Kt,      S->kern_ws, S->h_it,  S->h_loss,  S->h_obj,  S->h_test, S->h_tau};
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++)
        ms_free(arrs[k]);
    nets__tl_free(&S->tl);
    nets__bilevel_free(&S->bl);
    nets__task_free(&S->task);
    memset(S, 0, sizeof *S);
}

const ms_kind nets_two_layer = {
    .name = "two_layer",
    .title = "Two-layer network as a particle system",
    .description =
        "Trains f(x) = (1/m) sum_i a_i sigma(w_i.x) with the mean-field step rule: particle "
        "gradient descent (Chizat & Bach 2018), the conic network variant (Chizat 2019), mean-"
        "field Langevin dynamics by lifting or by the bilevel reduction with exact inner ridge "
        "solve (Wang, Mousavi-Hosseini & Chizat 2024) and annealing (Chizat 2022). Square or "
        "logistic loss; synthetic teacher-student, single-neuron, 1-D regression and clusters "
        "tasks, or data arrays; float64 or float32 (precision) arithmetic in the step's GEMMs. "
        "Streams loss, objective, test_loss, grad_norm, mass, n_active, "
        "balance, certificate, temperature, entropy, free_energy, rel_displacement, "
        "kernel_drift, inner_residual.",
    .params = &nets__2l_fields,
    .example = "{\"task\": \"teacher\", \"d\": 5, \"n\": 200, \"n_test\": 200, \"m\": 50, "
               "\"lambda\": 0.001, \"step\": 0.5, \"max_iter\": 200, \"seed\": 1}",
    .state_size = sizeof(nets_run),
    .check = check,
    .memory = memory,
    .init = init,
    .step = step,
    .result = result,
    .fini = fini,
};
