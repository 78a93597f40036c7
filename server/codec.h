/* codec.h — JSON ⇄ lib structs, driven only by each kind's field table.
 *
 * What it is for: turning a job body into a kind's params struct (types,
 * unknown fields, defaults, then the kind's own validation), every error a
 * JSON Pointer into the body; writing result trees, progress and problem
 * documents as JSON text; deriving the JSON Schema of a kind's params and the
 * OpenAPI document of the whole API from the registry. Nothing about a
 * parameter is restated here: a new kind needs no codec change.
 *
 * What it is not for: HTTP, queues or storage. Every function is pure
 * (no global state besides the cJSON allocation hooks set once by
 * codec_json_hooks_install) and may be called from any thread.
 *
 * Ownership: every cJSON tree the codec parses is deleted before it returns;
 * params structs it fills own only ms_alloc memory (ms_params_free).
 */
#ifndef CODEC_H
#define CODEC_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "ms_kind.h"
#include "sbuf.h"

/* Limits of the job envelope (documented in docs/api.md). */
#define CODEC_LABEL_MAX 1024
#define CODEC_PRIORITY_DEFAULT 5

/* A problem (RFC 9457) being prepared. errors[i].field holds a JSON Pointer
 * relative to the request body without its leading '/' ("params/epsilon"). */
typedef struct codec_problem {
    int status;       /* HTTP status */
    const char *type; /* slug: "invalid-params" is written "/problems/invalid-params" */
    const char *title;
    char detail[512];
    const char *extra; /* more members as raw JSON ("\"a\":1,\"b\":2"), borrowed, or NULL */
    ms_errlist errors;
} codec_problem;

void codec_problem_init(codec_problem *pb);
void codec_problem_set(codec_problem *pb, int status, const char *type, const char *title,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Slug of a status: ms_status_str with '-' for spaces ("numerical-failure"). */
void codec_status_slug(ms_status s, char *out, size_t cap);
/* The problem as application/problem+json text. */
void codec_problem_write(sbuf *b, const codec_problem *pb);
/* The job error object {"type","title","detail"} for a failed run. */
void codec_error_write(sbuf *b, const ms_err *err);

/* Fill `params` (fs->size bytes, defaults written here first) from the JSON
 * object j. Type errors and unknown fields are appended to errs with paths
 * relative to the params object ("source/weights/3"). Returns MS_OK,
 * MS_EINVAL (params released) or MS_ENOMEM (params released). Bounds,
 * finiteness and measures are ms_params_validate's business, not this one's. */
ms_status codec_params_parse(const ms_fields *fs, const cJSON *j, void *params, ms_errlist *errs);

/* Parse and validate, reporting every offending field once: type errors and
 * unknown fields (codec_params_parse), then what the table checks
 * (ms_params_validate: bounds, finiteness, measures, required) for every
 * field that parsed, even when others did not, and, only when every field
 * is valid on its own, the cross-field `check` (may be NULL). An error is
 * not repeated for a field (or a part of it) that already has a type
 * error. Returns MS_OK, MS_EINVAL or MS_ENOMEM; params are released unless
 * MS_OK. A check that ran out of memory appends an MS_ENOMEM entry. */
ms_status codec_params_read(const ms_fields *fs, ms_status (*check)(const void *, ms_errlist *),
                            const cJSON *j, void *params, ms_errlist *errs);

/* A parsed job body. */
typedef struct codec_job {
    const ms_kind *kind;
    void *params;     /* kind->params->size bytes, owned */
    char *label;      /* owned, NULL when absent */
    int priority;     /* 0..9, higher runs first */
    double timeout_s; /* 0 = none */
} codec_job;

/* Parse and validate a whole job body (len bytes, not necessarily
 * NUL-terminated): envelope, then params (codec_params_read with the
 * kind's check). On success job owns its params; otherwise pb says why
 * (400 malformed JSON, 422 invalid with pointers, 503 out of memory) and job
 * holds nothing. */
ms_status codec_job_parse(const char *body, size_t len, codec_job *job, codec_problem *pb);
void codec_job_free(codec_job *job);

/* Route cJSON's allocations through ms_alloc (so fault injection reaches
 * them) and let the codec tell a parse failure from a lack of memory.
 * Call once at process start, before any thread parses. */
void codec_json_hooks_install(void);

/* Write a result tree as JSON: dense blocks without a node per number,
 * shortest round-trip numbers (ms_fmt_double), non-finite numbers as null.
 * MS_ENOMEM if the buffer could not grow. */
ms_status codec_value_write(sbuf *b, const ms_value *v);
/* {"iteration": i, "fraction": f|null, "metrics": {...}} */
void codec_progress_write(sbuf *b, const ms_progress *p);

/* JSON Schema (2020-12) of a field table: types, bounds, defaults, enums,
 * descriptions, required, additionalProperties false. NULL on no memory. */
cJSON *codec_schema(const ms_fields *fs);
/* {"name","title","description","params_schema","example"} of a kind. */
cJSON *codec_kind_json(const ms_kind *k);
/* OpenAPI 3.1 document of the whole API, params schemas from the registry. */
cJSON *codec_openapi(void);

#endif
