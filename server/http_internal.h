/* http_internal.h — what http.c (the libmicrohttpd/libuv glue) shares with
 * http_routes.c (the handlers). Not a public header. */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include <microhttpd.h>

#include "codec.h"
#include "server.h"

enum { MODE_PLAIN, MODE_WAIT, MODE_STREAM };

/* One HTTP request: born on the first callback, freed on completion. */
typedef struct req {
    srv *s;
    struct MHD_Connection *conn;
    char rid[72];
    double t0;
    int route; /* index in http_routes, or -1 */
    int code;  /* status answered (0 before) */
    const char *method;
    char path[256];
    char arg[128]; /* the path segment a '*' matched */
    sbuf body;
    int too_big;
    int unauthorized; /* no valid token: the body is discarded, not kept */
    /* Following a job (long-poll or event stream): held (job->refs) from
     * http_hold until the request completes, so that it stays in memory. */
    job *job;
    int mode;
    int suspended;
    int shutdown;
    double deadline;
    struct req *fnext, *fprev; /* job->followers */
    struct req *snext, *sprev; /* srv->suspended */
    /* Event stream. A job no longer in memory streams from the store:
     * job is NULL, sid names it and slast is its last event. */
    int ndjson;
    char sid[24];
    int64_t slast;
    int64_t next_seq;
    sbuf out;
    size_t out_off;
    double last_write;
    int keepalive_due;
    int ended;
} req;

typedef enum MHD_Result (*route_fn)(req *r);

typedef struct route {
    const char *method;
    const char *pattern; /* '*' matches one path segment */
    route_fn fn;
    const char *name; /* metrics label */
    int open;         /* no token needed (health probes) */
} route;

extern const route http_routes[];
extern const size_t http_nroutes;

/* Answer with body (ms_malloc'd, ownership passes; NULL = empty). hdrs is a
 * NULL-terminated list of name, value pairs, or NULL. */
enum MHD_Result http_reply(req *r, int code, const char *ctype, char *body, size_t len,
                           const char *const *hdrs);
/* Answer a JSON text held in an sbuf (taken). */
enum MHD_Result http_reply_sbuf(req *r, int code, sbuf *b, const char *const *hdrs);
/* Answer a problem+json. */
enum MHD_Result http_problem(req *r, const codec_problem *pb, const char *const *hdrs);
enum MHD_Result http_error(req *r, int code, const char *type, const char *title,
                           const char *detail);
/* Hold j for r (j->refs) until r completes. */
void http_hold(req *r, job *j);
/* Suspend r until the job changes (streams) or ends (waits) or the
 * deadline passes. */
void http_follow(req *r, job *j, int mode);
/* The stream response for r (events of r->job from r->next_seq). */
enum MHD_Result http_stream(req *r);
const char *http_query(req *r, const char *name);
const char *http_header(req *r, const char *name);
double http_now(void);

#endif
