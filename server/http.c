/* http.c — libmicrohttpd on the libuv loop: connections, routing, bodies,
 * suspended requests and event streams.
 *
 * What it is for: running libmicrohttpd in external mode with its epoll fd
 * watched by a uv_poll_t and MHD_get_timeout re-armed into a uv_timer_t, so
 * that every HTTP callback runs on the loop thread that owns the jobs.
 * Long-polls and event streams suspend their connection and are resumed on
 * this thread when their job reports (http_job_changed), when their deadline
 * passes or a keepalive is due (the tick timer), or at shutdown.
 *
 * What it is not for: what each route answers (http_routes.c) or the job
 * lifecycle (daemon.c). No handler ever blocks or runs a solver.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "ms_alloc.h"
#include "runner.h"

#define TICK_MS 100
#define STREAM_CHUNK 65536

double http_now(void) {
    return runner_now();
}

static void run_mhd(srv *s);

static void on_mhd_timer(uv_timer_t *t) {
    run_mhd(t->data);
}

static void on_mhd_poll(uv_poll_t *p, int status, int events) {
    (void)status;
    (void)events;
    run_mhd(p->data);
}

static void run_mhd(srv *s) {
    if (!s->mhd)
        return;
    MHD_run(s->mhd);
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(s->mhd, &to) == MHD_YES)
        uv_timer_start(&s->mhd_timer, on_mhd_timer, to, 0);
    else
        uv_timer_stop(&s->mhd_timer);
}

/* Let MHD process resumed connections soon (on this loop iteration). */
static void kick(srv *s) {
    uv_timer_start(&s->mhd_timer, on_mhd_timer, 0, 0);
}

/* ---- suspension --------------------------------------------------------- */

static void unfollow(req *r) {
    if (!r->suspended)
        return;
    srv *s = r->s;
    if (r->fprev)
        r->fprev->fnext = r->fnext;
    else
        r->job->followers = r->fnext;
    if (r->fnext)
        r->fnext->fprev = r->fprev;
    if (r->sprev)
        r->sprev->snext = r->snext;
    else
        s->suspended = r->snext;
    if (r->snext)
        r->snext->sprev = r->sprev;
    r->fnext = r->fprev = r->snext = r->sprev = NULL;
    r->suspended = 0;
}

static void wake(req *r) {
    unfollow(r);
    MHD_resume_connection(r->conn);
    kick(r->s);
}

void http_hold(req *r, job *j) {
    if (r->job == j)
        return;
    if (r->job)
        srv_release(r->s, r->job);
    r->job = j;
    if (j)
        j->refs++;
}

void http_follow(req *r, job *j, int mode) {
    srv *s = r->s;
    http_hold(r, j);
    r->mode = mode;
    r->suspended = 1;
    r->fnext = j->followers;
    if (r->fnext)
        r->fnext->fprev = r;
    j->followers = r;
    r->snext = s->suspended;
    if (r->snext)
        r->snext->sprev = r;
    s->suspended = r;
    MHD_suspend_connection(r->conn);
}

void http_job_changed(srv *s, job *j) {
    (void)s;
    for (req *r = j->followers, *next; r; r = next) {
        next = r->fnext;
        if (r->mode == MODE_STREAM || job_terminal(j))
            wake(r);
    }
}

static void on_tick(uv_timer_t *t) {
    srv *s = t->data;
    double now = http_now();
    for (req *r = s->suspended, *next; r; r = next) {
        next = r->snext;
        if (r->mode == MODE_WAIT && now >= r->deadline) {
            wake(r);
        } else if (r->mode == MODE_STREAM && now - r->last_write >= s->cfg.keepalive) {
            /* A suspended connection never notices a vanished client; the
             * keepalive write does. */
            r->keepalive_due = 1;
            wake(r);
        }
    }
}

void http_quiesce(srv *s) {
    if (s->mhd && s->quiesced_fd < 0)
        s->quiesced_fd = MHD_quiesce_daemon(s->mhd);
    while (s->suspended) {
        s->suspended->shutdown = 1;
        wake(s->suspended);
    }
}

/* ---- streams ------------------------------------------------------------ */

static void format_event(req *r, int64_t seq, event_type type, const char *data, size_t len) {
    if (r->ndjson) {
        sbuf_printf(&r->out, "{\"id\":%lld,\"event\":\"%s\",\"data\":", (long long)seq,
                    event_type_name(type));
        sbuf_putn(&r->out, data, len);
        sbuf_puts(&r->out, "}\n");
    } else {
        sbuf_printf(&r->out, "id: %lld\nevent: %s\ndata: ", (long long)seq, event_type_name(type));
        sbuf_putn(&r->out, data, len);
        sbuf_puts(&r->out, "\n\n");
    }
    r->s->m.events++;
    if (type == EV_END)
        r->ended = 1;
}

static void on_stored_event(const char *job_id, int64_t seq, const char *type, const char *data,
                            void *user) {
    (void)job_id;
    req *r = user;
    int t = event_type_parse(type ? type : "");
    if (t >= 0 && data && !r->ended)
        format_event(r, seq, (event_type)t, data, strlen(data));
    r->next_seq = seq + 1;
}

/* Events the job no longer keeps in memory (or a job no longer in memory)
 * come from the store, a batch at a time, up to `to`. */
#define STORE_BATCH 256

static int fill_from_store(req *r, int64_t to) {
    const char *id = r->job ? r->job->id : r->sid;
    int n = store_events(r->s->store, id, r->next_seq, to, STORE_BATCH, on_stored_event, r);
    if (n < 0)
        return -1;
    if (n == 0) /* a gap in the stored history: skip it */
        r->next_seq = to + 1;
    return 0;
}

static int fill(req *r) {
    job *j = r->job;
    int64_t last = j ? job_last_seq(j) : r->slast;
    while (r->next_seq <= last && r->out.len < STREAM_CHUNK && !r->ended) {
        const job_event *ev = j ? job_event_at(j, r->next_seq) : NULL;
        int64_t to = j ? j->first_seq - 1 : last; /* the newest not in memory */
        if (ev) {
            format_event(r, r->next_seq, ev->type, ev->data, ev->len);
            r->next_seq++;
        } else if (to < r->next_seq) {
            r->next_seq++; /* lost (no memory when it happened): skip it */
        } else if (fill_from_store(r, to)) {
            return -1;
        }
    }
    if (r->out.len == 0 && r->keepalive_due)
        sbuf_puts(&r->out, r->ndjson ? "\n" : ": keepalive\n\n");
    r->keepalive_due = 0;
    return 0;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    req *r = cls;
    if (r->out_off == r->out.len) {
        sbuf_reset(&r->out);
        r->out_off = 0;
        if (fill(r) || sbuf_oom(&r->out)) {
            r->s->m.stream_drops++;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    if (r->out_off < r->out.len) {
        size_t n = r->out.len - r->out_off;
        if (n > max)
            n = max;
        memcpy(buf, r->out.s + r->out_off, n);
        r->out_off += n;
        r->last_write = http_now();
        return (ssize_t)n;
    }
    /* A terminal job whose replay is done ends even if its end event was
     * never recorded (it always is; this is belt and braces). A job read
     * back from the store is always terminal. */
    if (r->ended || r->shutdown || r->s->stopping || !r->job ||
        (job_terminal(r->job) && r->next_seq > job_last_seq(r->job)))
        return MHD_CONTENT_READER_END_OF_STREAM;
    http_follow(r, r->job, MODE_STREAM);
    return 0;
}

enum MHD_Result http_stream(req *r) {
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, stream_reader, r, NULL);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r->ndjson ? "application/x-ndjson" : "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    r->code = 200;
    r->mode = MODE_STREAM;
    r->last_write = http_now();
    r->s->streams++;
    enum MHD_Result rc = MHD_queue_response(r->conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- replies ------------------------------------------------------------ */

enum MHD_Result http_reply(req *r, int code, const char *ctype, char *body, size_t len,
                           const char *const *hdrs) {
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer_with_free_callback(len, body, ms_free)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        ms_free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    for (size_t i = 0; hdrs && hdrs[i]; i += 2)
        MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
    r->code = code;
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)code, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result http_reply_sbuf(req *r, int code, sbuf *b, const char *const *hdrs) {
    if (sbuf_oom(b)) {
        sbuf_free(b);
        return http_error(r, 503, "out-of-memory", "Out of memory", "retry later");
    }
    size_t len = b->len;
    char *s = sbuf_take(b);
    if (!s)
        return http_error(r, 503, "out-of-memory", "Out of memory", "retry later");
    return http_reply(r, code, "application/json", s, len, hdrs);
}

enum MHD_Result http_problem(req *r, const codec_problem *pb, const char *const *hdrs) {
    sbuf b = SBUF_INIT;
    codec_problem_write(&b, pb);
    if (sbuf_oom(&b)) {
        sbuf_free(&b);
        return MHD_NO;
    }
    size_t len = b.len;
    return http_reply(r, pb->status, "application/problem+json", sbuf_take(&b), len, hdrs);
}

enum MHD_Result http_error(req *r, int code, const char *type, const char *title,
                           const char *detail) {
    codec_problem pb;
    codec_problem_init(&pb);
    codec_problem_set(&pb, code, type, title, "%s", detail);
    static const char *const retry[] = {"Retry-After", "1", NULL};
    return http_problem(r, &pb, code == 429 || code == 503 ? retry : NULL);
}

const char *http_query(req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- routing ------------------------------------------------------------ */

/* Does path match pattern? A '*' segment matches one non-empty segment,
 * copied to arg. */
static int match(const char *pattern, const char *path, char *arg, size_t cap) {
    while (*pattern && *path) {
        if (*pattern == '*') {
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (n == 0 || n >= cap)
                return 0;
            memcpy(arg, path, n);
            arg[n] = '\0';
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* Constant-time comparison of the bearer token. */
static int token_ok(srv *s, const char *auth) {
    const char *tok = s->cfg.token;
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    auth += 7;
    size_t a = strlen(auth), t = strlen(tok);
    unsigned diff = (unsigned)(a ^ t);
    for (size_t i = 0; i < a; i++)
        diff |= (unsigned char)auth[i] ^ (unsigned char)tok[i % (t ? t : 1)];
    return diff == 0;
}

/* Does a route serve this method? HEAD is served by every GET route but the
 * event stream (libmicrohttpd sends the headers of the GET answer and no
 * body; a stream has no answer to stop at). */
static int serves(const route *rt, const char *method) {
    if (strcmp(rt->method, method) == 0)
        return 1;
    size_t n = strlen(rt->pattern);
    return strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0 &&
           !(n >= 7 && strcmp(rt->pattern + n - 7, "/events") == 0);
}

/* Does the request need a token it does not carry? Decided from the
 * headers, before any of the body is kept. */
static int lacks_token(req *r, const char *url) {
    srv *s = r->s;
    if (!s->cfg.token[0] || token_ok(s, http_header(r, "Authorization")))
        return 0;
    char arg[sizeof r->arg];
    for (size_t i = 0; i < http_nroutes; i++)
        if (http_routes[i].open && serves(&http_routes[i], r->method) &&
            match(http_routes[i].pattern, url, arg, sizeof arg))
            return 0;
    return 1;
}

static enum MHD_Result dispatch(req *r, const char *url) {
    srv *s = r->s;
    int path_known = 0;
    char allow[64] = "";
    for (size_t i = 0; i < http_nroutes; i++) {
        const route *rt = &http_routes[i];
        if (!match(rt->pattern, url, r->arg, sizeof r->arg))
            continue;
        path_known = 1;
        if (!serves(rt, r->method)) {
            size_t n = strlen(allow);
            snprintf(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", rt->method);
            if (serves(rt, "HEAD") && strcmp(rt->method, "HEAD") != 0) {
                n = strlen(allow);
                snprintf(allow + n, sizeof allow - n, ", HEAD");
            }
            continue;
        }
        r->route = (int)i;
        if (s->cfg.token[0] && !rt->open && !token_ok(s, http_header(r, "Authorization"))) {
            static const char *const h[] = {"WWW-Authenticate", "Bearer realm=\"measured\"", NULL};
            codec_problem pb;
            codec_problem_init(&pb);
            codec_problem_set(&pb, 401, "unauthorized", "Unauthorized",
                              "send Authorization: Bearer <token>");
            return http_problem(r, &pb, h);
        }
        return rt->fn(r);
    }
    if (path_known) {
        const char *h[] = {"Allow", allow, NULL};
        codec_problem pb;
        codec_problem_init(&pb);
        codec_problem_set(&pb, 405, "method-not-allowed", "Method not allowed",
                          "%s is not allowed here; allowed: %s", r->method, allow);
        return http_problem(r, &pb, h);
    }
    return http_error(r, 404, "not-found", "Not found", "no such route");
}

/* ---- MHD callbacks ------------------------------------------------------- */

static void set_rid(req *r) {
    const char *given = http_header(r, "X-Request-Id");
    size_t n = given ? strlen(given) : 0;
    int ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++) {
        char c = given[i];
        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             c == '-' || c == '_' || c == '.';
    }
    if (ok)
        memcpy(r->rid, given, n + 1);
    else
        snprintf(r->rid, sizeof r->rid, "%08x-%llx", (unsigned)(uintptr_t)r->s & 0xffffffffu,
                 (unsigned long long)++r->s->next_req);
}

static enum MHD_Result too_big(req *r) {
    static const char *const h[] = {"Connection", "close", NULL};
    codec_problem pb;
    codec_problem_init(&pb);
    codec_problem_set(&pb, 413, "payload-too-large", "Payload too large",
                      "the body exceeds the limit of %zu bytes", r->s->cfg.max_body);
    return http_problem(r, &pb, h);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    srv *s = cls;
    req *r = *con_cls;
    if (!r) {
        r = ms_calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->s = s;
        r->conn = conn;
        r->t0 = http_now();
        r->route = -1;
        r->method = method;
        snprintf(r->path, sizeof r->path, "%s", url);
        *con_cls = r;
        set_rid(r);
        const char *cl = http_header(r, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body)
            return too_big(r);
        /* An unauthenticated client may not make the daemon hold a body:
         * it is read and dropped, and the answer is 401. */
        r->unauthorized = lacks_token(r, url);
        /* Answer on the next call, once the request is complete: a response
         * queued now would cost the connection its keep-alive. */
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_big && !r->unauthorized) {
            if (r->body.len + *upload_size > s->cfg.max_body) {
                r->too_big = 1;
                sbuf_free(&r->body);
            } else {
                sbuf_putn(&r->body, upload_data, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->mode == MODE_WAIT) /* resumed long-poll */
        return http_routes[r->route].fn(r);
    if (r->too_big)
        return too_big(r);
    if (sbuf_oom(&r->body))
        return http_error(r, 503, "out-of-memory", "Out of memory", "retry later");
    return dispatch(r, url);
}

static void log_request(req *r) {
    srv *s = r->s;
    if (s->cfg.log_level > 1 && r->code < 500)
        return;
    log_msg(s, r->code >= 500 ? 3 : 1, "request",
            "\"rid\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"ms\":%.3f", r->rid,
            r->method, r->path, r->code, (http_now() - r->t0) * 1e3);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    srv *s = cls;
    req *r = *con_cls;
    if (!r)
        return;
    unfollow(r);
    http_hold(r, NULL);
    if (r->mode == MODE_STREAM) {
        s->streams--;
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->ended && !r->shutdown)
            log_msg(s, 1, "stream closed", "\"rid\":\"%s\",\"reason\":%d", r->rid, (int)toe);
    }
    if (!r->code)
        r->code = 499; /* the client went away before an answer */
    metrics_request(&s->m, r->route, r->code);
    log_request(r);
    sbuf_free(&r->body);
    sbuf_free(&r->out);
    ms_free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    srv *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sbuf b = SBUF_INIT;
    sbuf_json_str(&b, msg);
    log_msg(s, 2, "http", "\"detail\":%s", sbuf_cstr(&b));
    sbuf_free(&b);
}

/* ---- start and stop ------------------------------------------------------ */

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    char h[256];
    snprintf(h, sizeof h, "%s", host);
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        memmove(h, h + 1, n - 2);
        h[n - 2] = '\0';
    }
    if (strcmp(h, "localhost") == 0)
        snprintf(h, sizeof h, "127.0.0.1");
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return AF_INET;
    }
    if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return AF_INET6;
    }
    return -1;
}

int http_start(srv *s, char *err, size_t cap) {
    struct sockaddr_storage ss;
    int fam = parse_addr(s->cfg.host, s->cfg.port, &ss);
    if (fam < 0) {
        snprintf(err, cap, "cannot parse listen address %s (use an IP address)", s->cfg.host);
        return -1;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG |
                     (fam == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->mhd = MHD_start_daemon(
        flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, s, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        s->cfg.idle_timeout, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(err, cap, "cannot listen on %s:%d", s->cfg.host, s->cfg.port);
        return -1;
    }
    const union MHD_DaemonInfo *fd = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *port = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (port)
        s->cfg.port = port->port;
    uv_timer_init(s->loop, &s->mhd_timer);
    uv_timer_init(s->loop, &s->tick);
    s->mhd_timer.data = s->tick.data = s->mhd_poll.data = s;
    if (!fd || uv_poll_init(s->loop, &s->mhd_poll, fd->epoll_fd) ||
        uv_poll_start(&s->mhd_poll, UV_READABLE, on_mhd_poll)) {
        snprintf(err, cap, "cannot watch the HTTP daemon's epoll descriptor");
        return -1;
    }
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    kick(s);
    return 0;
}

void http_stop(srv *s) {
    if (!s->mhd)
        return;
    uv_poll_stop(&s->mhd_poll);
    uv_close((uv_handle_t *)&s->mhd_poll, NULL);
    uv_close((uv_handle_t *)&s->mhd_timer, NULL);
    uv_close((uv_handle_t *)&s->tick, NULL);
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    if (s->quiesced_fd >= 0) /* ours to close, after the stop */
        close(s->quiesced_fd);
    s->quiesced_fd = -1;
}
