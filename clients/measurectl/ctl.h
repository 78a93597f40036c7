/* ctl.h — what the parts of measurectl share: the connection settings, one
 * HTTP exchange, the event stream, and the exit codes.
 *
 * measurectl is a client of the HTTP API only (docs/api.md); it links
 * libcurl and cJSON and nothing of lib/ or server/.
 */
#ifndef CTL_H
#define CTL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Exit codes (documented in `measurectl --help` and README.md). */
enum {
    CTL_OK = 0,          /* done; a followed job succeeded */
    CTL_JOB_FAILED = 1,  /* the job failed or was cancelled, or is in no state to answer (409) */
    CTL_USAGE = 2,       /* bad command line, invalid body (400/422), unknown id (404), 401 */
    CTL_UNREACHABLE = 3, /* no connection, timeout, or the server could not serve (5xx) */
};

typedef struct ctl {
    char url[512];     /* base URL without a trailing slash */
    const char *token; /* bearer token or NULL */
    int json;          /* --json: machine-readable output */
    int quiet;         /* -q: no progress output */
} ctl;

typedef struct ctl_resp {
    long status; /* HTTP status, or 0 when no answer came */
    char *body;  /* NUL-terminated, free() */
    size_t len;
    cJSON *json;        /* parsed body or NULL */
    char location[256]; /* the Location header, if any */
    char error[256];    /* curl's message when status is 0 */
} ctl_resp;

/* One request to c->url + path. body may be NULL; hdrs is a NULL-terminated
 * list of "Name: value" strings or NULL; timeout_s 0 means no bound. Returns
 * CTL_OK when an HTTP answer came (whatever its status), CTL_UNREACHABLE
 * otherwise (out->error says why). Free out with ctl_resp_free. */
int ctl_request(const ctl *c, const char *method, const char *path, const char *body,
                size_t body_len, const char *const *hdrs, double timeout_s, ctl_resp *out);
void ctl_resp_free(ctl_resp *r);

/* The exit code for an HTTP status that is not a success. */
int ctl_status_code(long status);
/* Print the answer's problem+json (or body) on stderr, prefixed by what. */
void ctl_print_problem(const char *what, const ctl_resp *r);

/* Called for each event of a stream: id, type, data (parsed) and the NDJSON
 * line as received. Return non-zero to stop following. */
typedef int (*ctl_event_fn)(void *user, long long id, const char *type, const cJSON *data,
                            const char *line);

/* Follow GET /v1/jobs/{id}/events (NDJSON) from event after+1 until the
 * `end` event, reconnecting with Last-Event-ID after a dropped connection
 * (up to a bound of consecutive failed attempts). Returns CTL_OK when the
 * end event (or a stop from fn) came, else the exit code of the failure
 * (message on stderr). *last receives the last event id seen. */
int ctl_follow(const ctl *c, const char *id, long long after, ctl_event_fn fn, void *user,
               long long *last);

/* Read a whole file ("-" is standard input) into a NUL-terminated buffer
 * (free()); NULL with errno set on failure. */
char *ctl_read_file(const char *path, size_t *len);

#endif
