/* kind_harness.c — see kind_harness.h. */
#include "kind_harness.h"

#include <string.h>

#include "ms_alloc.h"

ms_value *harness_run(const ms_kind *k, const void *params, const harness_opts *opts, ms_err *err) {
    ms_errlist errs;
    ms_errlist_clear(&errs);
    if (ms_kind_validate(k, params, &errs) != MS_OK) {
        if (err)
            *err = errs.e[0];
        return NULL;
    }
    ms_ctx ctx = {opts && opts->threads > 0 ? opts->threads : 1, NULL};
    size_t cap = opts && opts->max_steps ? opts->max_steps : 10000000;
    void *state = ms_calloc(1, k->state_size);
    if (!state) {
        ms_fail(err, MS_ENOMEM, "", "state");
        return NULL;
    }
    ms_value *out = NULL;
    ms_progress prog;
    memset(&prog, 0, sizeof prog);
    prog.fraction = 0;
    ms_status s = k->init(state, params, &ctx, err);
    for (size_t i = 0; s == MS_OK && !prog.done && i < cap; i++) {
        s = k->step(state, &ctx, &prog, err);
        if (s == MS_OK && opts && opts->on_step)
            opts->on_step(&prog, opts->user);
    }
    if (s == MS_OK && !prog.done)
        s = ms_fail(err, MS_EINTERNAL, "", "harness: kind did not finish in %zu steps", cap);
    if (s == MS_OK) {
        out = ms_value_new_object();
        if (!out)
            s = ms_fail(err, MS_ENOMEM, "", "result");
        else if ((s = k->result(state, out, err)) == MS_OK && ms_value_status(out) != MS_OK)
            s = ms_fail(err, MS_ENOMEM, "", "result");
        if (s != MS_OK) {
            ms_value_free(out);
            out = NULL;
        }
    }
    if (opts && opts->last)
        *opts->last = prog;
    k->fini(state);
    ms_free(state);
    return out;
}
