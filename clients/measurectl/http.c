/* http.c — measurectl's side of HTTP: one request, and following a job's
 * event stream across dropped connections.
 *
 * What it is for: libcurl easy handles with the bearer token, answers
 * collected in memory, problem+json printed the same way for every command,
 * and the NDJSON event stream parsed line by line and resumed with
 * Last-Event-ID when the connection drops (a daemon restart, say).
 *
 * What it is not for: deciding what a command prints (main.c, show.c).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* After a connection that carried events drops, keep reconnecting for this
 * long (a daemon restart takes well under a second; a deployment a bit
 * longer) before giving up with CTL_UNREACHABLE. */
#define RESUME_FOR_S 30.0
/* A stream that carries nothing, not even the daemon's keepalive (every 15 s
 * by default), for this long is taken as dead and resumed. */
#define STREAM_SILENCE_S 45L

typedef struct grow {
    char *p;
    size_t n;
} grow;

static int grow_put(grow *g, const char *s, size_t k) {
    char *p = realloc(g->p, g->n + k + 1);
    if (!p)
        return -1;
    memcpy(p + g->n, s, k);
    g->n += k;
    p[g->n] = '\0';
    g->p = p;
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user) {
    size_t k = size * nmemb;
    return grow_put(user, ptr, k) == 0 ? k : 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *user) {
    ctl_resp *r = user;
    size_t k = size * nmemb;
    if (k > 9 && strncasecmp(ptr, "Location:", 9) == 0) {
        const char *v = ptr + 9;
        size_t n = k - 9;
        while (n && (*v == ' ' || *v == '\t'))
            v++, n--;
        while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
            n--;
        snprintf(r->location, sizeof r->location, "%.*s", (int)n, v);
    }
    return k;
}

/* Headers every request carries: the token, and no "Expect: 100-continue"
 * (the daemon answers at once; the round trip would only add latency). */
static struct curl_slist *base_headers(const ctl *c, const char *const *extra) {
    struct curl_slist *l = NULL;
    char auth[1024];
    if (c->token && c->token[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        l = curl_slist_append(l, auth);
    }
    l = curl_slist_append(l, "Expect:");
    for (size_t i = 0; extra && extra[i]; i++)
        l = curl_slist_append(l, extra[i]);
    return l;
}

static CURL *easy(const ctl *c, const char *method, const char *path, struct curl_slist *hdrs) {
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    char url[1024];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "measurectl/1");
    return h;
}

int ctl_request(const ctl *c, const char *method, const char *path, const char *body,
                size_t body_len, const char *const *hdrs, double timeout_s, ctl_resp *out) {
    memset(out, 0, sizeof *out);
    struct curl_slist *l = base_headers(c, hdrs);
    CURL *h = easy(c, method, path, l);
    if (!h) {
        curl_slist_free_all(l);
        snprintf(out->error, sizeof out->error, "cannot create a curl handle");
        return CTL_UNREACHABLE;
    }
    grow b = {NULL, 0};
    char err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    if (timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    else
        snprintf(out->error, sizeof out->error, "%s: %s", c->url,
                 err[0] ? err : curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    curl_slist_free_all(l);
    out->body = b.p ? b.p : calloc(1, 1);
    out->len = b.n;
    out->json = out->body ? cJSON_ParseWithLength(out->body, out->len) : NULL;
    return rc == CURLE_OK ? CTL_OK : CTL_UNREACHABLE;
}

void ctl_resp_free(ctl_resp *r) {
    free(r->body);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

int ctl_status_code(long status) {
    if (status == 409)
        return CTL_JOB_FAILED;
    if (status >= 400 && status < 500 && status != 429)
        return CTL_USAGE;
    return CTL_UNREACHABLE;
}

void ctl_print_problem(const char *what, const ctl_resp *r) {
    if (r->status == 0) {
        fprintf(stderr, "measurectl: %s: cannot reach the server: %s\n", what, r->error);
        return;
    }
    const cJSON *j = r->json;
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(j, "title");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(j, "detail");
    if (!cJSON_IsString(title)) {
        fprintf(stderr, "measurectl: %s: HTTP %ld: %.300s\n", what, r->status, r->body);
        return;
    }
    fprintf(stderr, "measurectl: %s: %ld %s%s%s\n", what, r->status, title->valuestring,
            cJSON_IsString(detail) ? ": " : "", cJSON_IsString(detail) ? detail->valuestring : "");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "errors")) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "pointer");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
        fprintf(stderr, "  %s: %s\n", cJSON_IsString(p) ? p->valuestring : "?",
                cJSON_IsString(d) ? d->valuestring : "?");
    }
    const cJSON *je = cJSON_GetObjectItemCaseSensitive(j, "job_error");
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(je, "detail");
    if (cJSON_IsString(jd))
        fprintf(stderr, "  job error: %s\n", jd->valuestring);
}

/* ---- event streams ------------------------------------------------------ */

typedef struct stream {
    CURL *h;
    ctl_event_fn fn;
    void *user;
    long long last; /* last event id delivered */
    long status;    /* HTTP status of this attempt, once known */
    grow line;      /* the partial line being received */
    grow errbody;   /* the body of a non-200 answer */
    int events;     /* events delivered by this attempt */
    int ended, stopped, bad;
} stream;

static void on_line(stream *s, const char *line) {
    if (!line[0]) /* an NDJSON keepalive */
        return;
    cJSON *j = cJSON_Parse(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!cJSON_IsNumber(id) || !cJSON_IsString(ev)) {
        s->bad = 1;
        cJSON_Delete(j);
        return;
    }
    s->last = (long long)id->valuedouble;
    s->events++;
    if (strcmp(ev->valuestring, "end") == 0)
        s->ended = 1;
    if (s->fn(s->user, s->last, ev->valuestring, data, line))
        s->stopped = 1;
    cJSON_Delete(j);
}

static size_t on_stream(char *ptr, size_t size, size_t nmemb, void *user) {
    stream *s = user;
    size_t k = size * nmemb;
    if (!s->status)
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200)
        return grow_put(&s->errbody, ptr, k) == 0 ? k : 0;
    for (size_t i = 0; i < k; i++) {
        if (ptr[i] != '\n') {
            if (grow_put(&s->line, ptr + i, 1))
                return 0;
            continue;
        }
        on_line(s, s->line.p ? s->line.p : "");
        s->line.n = 0;
        if (s->line.p)
            s->line.p[0] = '\0';
        if (s->ended || s->stopped || s->bad)
            return 0; /* done: abort the transfer */
    }
    return k;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* One connection: events after s->last until the stream closes. */
static CURLcode attempt(const ctl *c, const char *path, stream *s, char *err) {
    char last[64];
    snprintf(last, sizeof last, "Last-Event-ID: %lld", s->last);
    const char *extra[] = {"Accept: application/x-ndjson", last, NULL};
    struct curl_slist *l = base_headers(c, extra);
    s->h = easy(c, "GET", path, l);
    if (!s->h) {
        curl_slist_free_all(l);
        return CURLE_FAILED_INIT;
    }
    s->status = 0;
    s->events = 0;
    s->line.n = s->errbody.n = 0;
    curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->h, CURLOPT_LOW_SPEED_TIME, STREAM_SILENCE_S);
    err[0] = '\0';
    CURLcode rc = curl_easy_perform(s->h);
    if (!s->status)
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    curl_easy_cleanup(s->h);
    curl_slist_free_all(l);
    s->h = NULL;
    return rc;
}

int ctl_follow(const ctl *c, const char *id, long long after, ctl_event_fn fn, void *user,
               long long *last) {
    char path[256];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
    stream s = {.fn = fn, .user = user, .last = after};
    char err[CURL_ERROR_SIZE];
    int connected = 0, code = CTL_OK;
    double give_up = 0, backoff = 0.1;
    for (;;) {
        CURLcode rc = attempt(c, path, &s, err);
        if (s.ended || s.stopped)
            break;
        if (s.bad) {
            fprintf(stderr, "measurectl: follow: the event stream is not NDJSON\n");
            code = CTL_UNREACHABLE;
            break;
        }
        if (s.status && s.status != 200 && s.status != 503) {
            ctl_resp r = {.status = s.status, .body = s.errbody.p ? s.errbody.p : ""};
            r.json = cJSON_Parse(r.body);
            ctl_print_problem("follow", &r);
            cJSON_Delete(r.json);
            code = ctl_status_code(s.status);
            break;
        }
        /* Dropped (or 503 while the daemon is busy or stopping): resume
         * from the last event, for a while after the last sign of life. */
        if (s.status == 200) {
            connected = 1;
            if (s.events)
                backoff = 0.1;
        }
        if (!connected && rc != CURLE_OK) {
            fprintf(stderr, "measurectl: follow: cannot reach the server: %s: %s\n", c->url,
                    err[0] ? err : curl_easy_strerror(rc));
            code = CTL_UNREACHABLE;
            break;
        }
        if (s.events || give_up == 0)
            give_up = now_s() + RESUME_FOR_S;
        if (now_s() > give_up) {
            fprintf(stderr, "measurectl: follow: lost the server after event %lld: %s\n", s.last,
                    err[0] ? err : "the stream ended early");
            code = CTL_UNREACHABLE;
            break;
        }
        sleep_s(backoff);
        backoff = backoff * 2 > 2 ? 2 : backoff * 2;
    }
    free(s.line.p);
    free(s.errbody.p);
    if (last)
        *last = s.last;
    return code;
}

char *ctl_read_file(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    grow g = {NULL, 0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (grow_put(&g, buf, n)) {
            free(g.p);
            g.p = NULL;
            errno = ENOMEM;
            break;
        }
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        free(g.p);
        errno = EIO;
        return NULL;
    }
    if (!g.p)
        g.p = calloc(1, 1);
    *len = g.n;
    return g.p;
}
