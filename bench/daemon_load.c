/* daemon_load.c — load drivers for bench/daemon.sh (wrk covers plain GETs).
 *
 *   daemon_load streams PORT N BODYFILE   N subscribers on one job's event
 *       stream (raw HTTP/1.0 sockets, one poll loop); each must receive
 *       every event id 1..last and the end event. Prints subscribers that
 *       got everything, events per subscriber, and the wall time.
 *   daemon_load jobs PORT N THREADS BODYFILE   submit N jobs from THREADS
 *       keep-alive connections (retrying 429s), then wait for all of them;
 *       prints jobs per second from the first submit to the last finish.
 *
 * Not a test: timing lives here, correctness in tests/.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    s[n] = '\0';
    fclose(f);
    return s;
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t sink(char *ptr, size_t size, size_t nmemb, void *user) {
    buf *b = user;
    size_t k = size * nmemb;
    b->p = realloc(b->p, b->n + k + 1);
    memcpy(b->p + b->n, ptr, k);
    b->n += k;
    b->p[b->n] = '\0';
    return k;
}

/* POST body; returns HTTP status, the id in id (if 201). */
static long post(CURL *c, int port, const char *body, char *id, size_t cap) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/jobs", port);
    buf b = {NULL, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code == 201 && b.p) {
        char *p = strstr(b.p, "\"id\":\"");
        if (p)
            snprintf(id, cap, "%.16s", p + 6);
    }
    free(b.p);
    return code;
}

static long get(CURL *c, int port, const char *path, buf *b) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* ---- streams ---------------------------------------------------------- */

static int streams(int port, int n, const char *body) {
    CURL *c = curl_easy_init();
    char id[32] = "";
    if (post(c, port, body, id, sizeof id) != 201) {
        fprintf(stderr, "submit failed\n");
        return 1;
    }
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    buf *got = calloc((size_t)n, sizeof *got);
    char req[256];
    snprintf(req, sizeof req, "GET /v1/jobs/%s/events HTTP/1.0\r\nHost: x\r\n\r\n", id);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) || write(fd, req, strlen(req)) < 0) {
            fprintf(stderr, "connect %d failed\n", i);
            return 1;
        }
        pf[i].fd = fd;
        pf[i].events = POLLIN;
    }
    int open = n;
    char tmp[65536];
    while (open > 0 && now() - t0 < 600) {
        if (poll(pf, (nfds_t)n, 1000) < 0)
            break;
        for (int i = 0; i < n; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = read(pf[i].fd, tmp, sizeof tmp);
            if (k <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                open--;
                continue;
            }
            sink(tmp, 1, (size_t)k, &got[i]);
        }
    }
    double t1 = now();
    /* Everyone must hold ids 1..last without a gap, and the end event. */
    int complete = 0;
    long last = 0;
    for (int i = 0; i < n; i++) {
        long expect = 1, max = 0;
        int ok = got[i].p && strstr(got[i].p, "event: end\n");
        for (char *p = got[i].p; ok && (p = strstr(p, "\nid: ")); p++) {
            long v = strtol(p + 5, NULL, 10);
            if (v != expect)
                ok = 0;
            expect = v + 1;
            max = v;
        }
        if (ok && (last == 0 || max == last))
            complete++;
        if (ok && last == 0)
            last = max;
        free(got[i].p);
    }
    printf("streams: %d/%d subscribers received all %ld events (ids 1..%ld and end) in %.2f s\n",
           complete, n, last, last, t1 - t0);
    free(pf);
    free(got);
    curl_easy_cleanup(c);
    return complete == n ? 0 : 1;
}

/* ---- tiny jobs ---------------------------------------------------------- */

typedef struct worker {
    int port, count;
    const char *body;
    char (*ids)[32];
    long rejected;
} worker;

static void *submitter(void *arg) {
    worker *w = arg;
    CURL *c = curl_easy_init();
    for (int i = 0; i < w->count; i++) {
        long code;
        while ((code = post(c, w->port, w->body, w->ids[i], sizeof w->ids[i])) == 429) {
            w->rejected++;
            usleep(1000);
        }
        if (code != 201)
            fprintf(stderr, "submit answered %ld\n", code);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int jobs(int port, int n, int threads, const char *body) {
    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    char(*ids)[32] = calloc((size_t)n, sizeof *ids);
    double t0 = now();
    int per = n / threads;
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){port, per, body, ids + i * per, 0};
        pthread_create(&t[i], NULL, submitter, &w[i]);
    }
    long rejected = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        rejected += w[i].rejected;
    }
    double t_sub = now() - t0;
    /* Wait for every job, in submission order. */
    CURL *c = curl_easy_init();
    int ok = 0;
    for (int i = 0; i < per * threads; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/jobs/%s?wait=60", ids[i]);
        buf b = {NULL, 0};
        if (get(c, port, path, &b) == 200 && strstr(b.p, "\"status\":\"succeeded\""))
            ok++;
        free(b.p);
    }
    double t1 = now() - t0;
    printf("jobs: %d/%d succeeded; submitted in %.2f s (%ld 429s retried); all finished in "
           "%.2f s: %.0f jobs/s\n",
           ok, per * threads, t_sub, rejected, t1, ok / t1);
    curl_easy_cleanup(c);
    free(w);
    free(t);
    free(ids);
    return ok == per * threads ? 0 : 1;
}

int main(int argc, char **argv) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (argc == 5 && strcmp(argv[1], "streams") == 0)
        rc = streams(atoi(argv[2]), atoi(argv[3]), slurp(argv[4]));
    else if (argc == 6 && strcmp(argv[1], "jobs") == 0)
        rc = jobs(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), slurp(argv[5]));
    else
        fprintf(stderr, "usage: daemon_load streams PORT N BODY | jobs PORT N THREADS BODY\n");
    curl_global_cleanup();
    return rc;
}
