/* ms_err.h — status codes and error values shared by every part of measured.
 *
 * What it is for: one list of failure causes (an X-macro, like libuv's
 * UV_ERRNO_MAP) with a message and the HTTP status the server maps each to,
 * and a fixed-size error value that names the offending parameter so error
 * paths never allocate.
 *
 * What it is not for: logging or process-wide error state. lib/ has none;
 * every fallible function fills a caller-provided ms_err.
 */
#ifndef MS_ERR_H
#define MS_ERR_H

#include <stddef.h>

/* X(name, value, http_status, message) */
#define MS_STATUS_MAP(X)                                                \
    X(MS_OK, 0, 200, "ok")                                              \
    X(MS_EINVAL, 1, 422, "invalid parameter")                           \
    X(MS_ENOMEM, 2, 503, "out of memory")                               \
    X(MS_ENUMERIC, 3, 422, "numerical failure")                         \
    X(MS_ECANCELLED, 4, 409, "cancelled")                               \
    X(MS_ETIMEOUT, 5, 408, "deadline exceeded")                         \
    X(MS_ETOOBIG, 6, 422, "problem too large")                          \
    X(MS_EUNSUPPORTED, 7, 422, "unsupported combination of parameters") \
    X(MS_EINTERNAL, 8, 500, "internal error")

typedef enum {
#define MS__STATUS_ENUM(name, value, http, msg) name = value,
    MS_STATUS_MAP(MS__STATUS_ENUM)
#undef MS__STATUS_ENUM
} ms_status;

#define MS_ERR_FIELD_MAX 64
#define MS_ERR_MSG_MAX 256

/* An error: the cause, the parameter path it concerns ("" when it concerns
 * no single parameter; components separated by '/', e.g. "target/weights/3")
 * and a human-readable sentence. Fixed size: filling it never allocates. */
typedef struct ms_err {
    ms_status code;
    char field[MS_ERR_FIELD_MAX];
    char msg[MS_ERR_MSG_MAX];
} ms_err;

/* Short message of a status ("invalid parameter"); never NULL. */
const char *ms_status_str(ms_status s);
/* Symbolic name of a status ("MS_EINVAL"); never NULL. */
const char *ms_status_name(ms_status s);
/* HTTP status a server should answer for a failure with this cause. */
int ms_status_http(ms_status s);

/* Fill err (which may be NULL) and return code. field may be NULL or "".
 * The message is printf-formatted and truncated to fit. */
ms_status ms_fail(ms_err *err, ms_status code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset err to MS_OK with empty field and message. */
void ms_err_clear(ms_err *err);

/* Prepend a path component: "weights/3" becomes "source/weights/3". Used when
 * a nested validator reports a field relative to its own object. */
void ms_err_prefix(ms_err *err, const char *component);

/* A bounded list of errors, so that validation can report every offending
 * field at once (the API answers one entry per field). Extra errors past
 * MS_ERRLIST_MAX are counted in `dropped`, not stored. */
#define MS_ERRLIST_MAX 16
typedef struct ms_errlist {
    size_t n;
    size_t dropped;
    ms_err e[MS_ERRLIST_MAX];
} ms_errlist;

void ms_errlist_clear(ms_errlist *l);
/* Append a copy of err; returns err->code for convenience. */
ms_status ms_errlist_add(ms_errlist *l, const ms_err *err);
/* Format and append; returns code. */
ms_status ms_errlist_addf(ms_errlist *l, ms_status code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* x as the shortest of %.15g, %.16g, %.17g that reads back as the same
 * double (0.9, not 0.90000000000000002; every double round-trips), for
 * messages and JSON numbers alike. Writes at most cap bytes (32 suffice);
 * returns the length written. */
int ms_fmt_double(char *buf, size_t cap, double x);

#endif
