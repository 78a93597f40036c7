/* registry.h — the one list of job kinds.
 *
 * What it is for: /v1/kinds, validation, the OpenAPI document, the dashboard
 * forms, `measurectl kinds` and the contract test suite all walk this list.
 * Adding a kind is one solver file plus one line in registry.c.
 */
#ifndef MS_REGISTRY_H
#define MS_REGISTRY_H

#include <stddef.h>

#include "ms_kind.h"

/* All kinds, in a stable order; *n receives the count. Never NULL. */
const ms_kind *const *ms_registry(size_t *n);
/* The kind named `name`, or NULL. */
const ms_kind *ms_registry_find(const char *name);

#endif
