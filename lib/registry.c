/* registry.c — the list of job kinds (one line per kind). See registry.h. */
#include "registry.h"

#include <string.h>

/* X(symbol): each symbol is a `const ms_kind` defined in its solver file. */
/* clang-format off */
#define MS_KINDS(X)                                                          \
    X(ot_eot_kind)                                                           \
    X(ot_barycenter_kind)                                                    \
    X(games_nash_kind)                                                       \
    X(games_minmax_kind)                                                     \
    X(nets_two_layer)                                                        \
    X(nets_deconvolution)                                                    \
    X(nets_scaling_path)                                                     \
    X(deep_linear_kind)                                                      \
    X(deep_wide_kind)                                                        \
    X(deep_align_kind)
/* clang-format on */

#define MS__DECLARE(sym) extern const ms_kind sym;
MS_KINDS(MS__DECLARE)
#undef MS__DECLARE

#define MS__ENTRY(sym) &sym,
static const ms_kind *const kinds[] = {MS_KINDS(MS__ENTRY) NULL};
#undef MS__ENTRY

const ms_kind *const *ms_registry(size_t *n) {
    *n = sizeof kinds / sizeof kinds[0] - 1;
    return kinds;
}

const ms_kind *ms_registry_find(const char *name) {
    if (!name)
        return NULL;
    for (const ms_kind *const *k = kinds; *k; k++)
        if (strcmp((*k)->name, name) == 0)
            return *k;
    return NULL;
}
