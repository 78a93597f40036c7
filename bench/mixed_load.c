/* mixed_load.c — a mixed client load on one daemon, for bench/soak.sh and
 * tests/integration/daemon_faults.sh (shell loops of curl processes are far
 * too slow here: a process start costs ~30 ms on these machines).
 *
 *   mixed_load PORT SECONDS RATE DIR
 *
 * DIR holds tiny.json, medium.json and endless.json (job bodies). For
 * SECONDS (or until DIR/stop exists), on keep-alive connections:
 *   2 submitters  RATE jobs/s in all: 1 in 40 endless, 1 in 10 medium, the
 *                 rest tiny; every 201 is appended to DIR/ids as "ID LABEL"
 *                 and flushed at once (so the list survives a kill -9 of the
 *                 daemon: it holds only jobs answered 201);
 *   2 streamers   follow a recent medium job's events (NDJSON) to `end`;
 *   1 canceller   DELETE each endless job 0.2 s after its 201, and every
 *                 7th job of any label;
 *   1 reader      GET a recent job, its result once it succeeded (saved as
 *                 DIR/results/ID, byte for byte, the first time), a page of
 *                 the list.
 * Prints one line per (role, outcome) with a count: HTTP codes, "conn" for
 * a failed connection (expected while the daemon is down), "noend" for a
 * stream that closed without `end`. Exit 0.
 *
 * Not a test by itself: the scripts decide which outcomes are failures.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mixed_load: cannot read %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
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
    char *q = realloc(b->p, b->n + k + 1);
    if (!q)
        return 0;
    b->p = q;
    memcpy(b->p + b->n, ptr, k);
    b->n += k;
    b->p[b->n] = '\0';
    return k;
}

/* ---- shared state ---------------------------------------------------------- */

enum { MAX_IDS = 1 << 20, NOUT = 64 };

static struct {
    int port;
    double end;
    double rate;
    const char *dir;
    char *body[3]; /* tiny, medium, endless */
    pthread_mutex_t mu;
    char (*ids)[17];
    unsigned char *label; /* 0 tiny, 1 medium, 2 endless */
    double *at;
    size_t nids;
    FILE *idf;
    struct {
        char role[12], what[12];
        long count;
    } out[NOUT];
    int nout;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const labels[3] = {"tiny", "medium", "endless"};

static int stopping(void) {
    char p[1024];
    snprintf(p, sizeof p, "%s/stop", G.dir);
    return now() >= G.end || access(p, F_OK) == 0;
}

static void count(const char *role, long code) {
    char what[12];
    if (code > 0)
        snprintf(what, sizeof what, "%ld", code);
    else
        snprintf(what, sizeof what, "%s", code == 0 ? "conn" : "noend");
    pthread_mutex_lock(&G.mu);
    int i = 0;
    while (i < G.nout && (strcmp(G.out[i].role, role) || strcmp(G.out[i].what, what)))
        i++;
    if (i == G.nout && G.nout < NOUT) {
        snprintf(G.out[i].role, sizeof G.out[i].role, "%s", role);
        snprintf(G.out[i].what, sizeof G.out[i].what, "%s", what);
        G.nout++;
    }
    if (i < NOUT)
        G.out[i].count++;
    pthread_mutex_unlock(&G.mu);
}

static void add_id(const char *id, int label) {
    pthread_mutex_lock(&G.mu);
    if (G.nids < MAX_IDS) {
        memcpy(G.ids[G.nids], id, 16);
        G.ids[G.nids][16] = '\0';
        G.label[G.nids] = (unsigned char)label;
        G.at[G.nids] = now();
        G.nids++;
        fprintf(G.idf, "%.16s %s\n", id, labels[label]);
        fflush(G.idf);
    }
    pthread_mutex_unlock(&G.mu);
}

/* The most recent id with this label (-1: any), or "" . */
static void recent(int label, char *out) {
    out[0] = '\0';
    pthread_mutex_lock(&G.mu);
    for (size_t i = G.nids; i-- > 0 && G.nids - i < 1000;)
        if (label < 0 || G.label[i] == label) {
            memcpy(out, G.ids[i], 17);
            break;
        }
    pthread_mutex_unlock(&G.mu);
}

/* One request on a keep-alive handle. Returns the HTTP code, 0 when the
 * connection failed; the body in b (reset first). */
static long request(CURL *h, const char *method, const char *path, const char *body,
                    const char *accept, double timeout, buf *b) {
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", G.port, path);
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
    struct curl_slist *hd = NULL;
    if (accept) {
        char a[128];
        snprintf(a, sizeof a, "Accept: %s", accept);
        hd = curl_slist_append(hd, a);
    }
    hd = curl_slist_append(hd, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hd);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    return code;
}

/* ---- roles ----------------------------------------------------------------- */

static void *submitter(void *arg) {
    long seq = (long)(size_t)arg;
    CURL *h = curl_easy_init();
    buf b = {0};
    double period = 2.0 / G.rate, next = now();
    while (!stopping()) {
        seq += 2;
        int label = seq % 40 == 0 ? 2 : seq % 10 == 3 ? 1 : 0;
        long code = request(h, "POST", "/v1/jobs", G.body[label], NULL, 10, &b);
        count("submit", code);
        const char *p = code == 201 && b.p ? strstr(b.p, "\"id\":\"") : NULL;
        if (p)
            add_id(p + 6, label);
        if (code == 0)
            nap(0.05);
        next += period;
        double d = next - now();
        if (d > 0)
            nap(d);
        else if (d < -1)
            next = now();
    }
    free(b.p);
    curl_easy_cleanup(h);
    return NULL;
}

static void *streamer(void *arg) {
    (void)arg;
    CURL *h = curl_easy_init();
    buf b = {0};
    while (!stopping()) {
        char id[17], path[64];
        recent(1, id);
        if (!id[0]) {
            nap(0.05);
            continue;
        }
        snprintf(path, sizeof path, "/v1/jobs/%s/events", id);
        long code = request(h, "GET", path, NULL, "application/x-ndjson", 30, &b);
        if (code == 200) {
            const char *last = b.p ? b.p + b.n : NULL;
            while (last && last > b.p && last[-1] == '\n')
                last--;
            while (last && last > b.p && last[-1] != '\n')
                last--;
            code = last && strstr(last, "\"event\":\"end\"") ? 200 : -1;
        }
        count("stream", code);
        if (code <= 0)
            nap(0.05);
    }
    free(b.p);
    curl_easy_cleanup(h);
    return NULL;
}

static void *canceller(void *arg) {
    (void)arg;
    CURL *h = curl_easy_init();
    buf b = {0};
    size_t next = 0;
    while (!stopping()) {
        char id[17] = "";
        int due = 0;
        pthread_mutex_lock(&G.mu);
        if (next < G.nids && now() - G.at[next] >= 0.2) {
            due = 1;
            if (G.label[next] == 2 || next % 7 == 0)
                memcpy(id, G.ids[next], 17);
            next++;
        }
        pthread_mutex_unlock(&G.mu);
        if (!id[0]) {
            if (due)
                continue;
            nap(0.02);
            continue;
        }
        char path[64];
        snprintf(path, sizeof path, "/v1/jobs/%s", id);
        count("cancel", request(h, "DELETE", path, NULL, NULL, 10, &b));
    }
    free(b.p);
    curl_easy_cleanup(h);
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    CURL *h = curl_easy_init();
    buf b = {0};
    while (!stopping()) {
        char id[17], path[96], file[1024];
        recent(0, id);
        if (!id[0]) {
            nap(0.05);
            continue;
        }
        snprintf(path, sizeof path, "/v1/jobs/%s?wait=5", id);
        long code = request(h, "GET", path, NULL, NULL, 10, &b);
        count("get", code);
        if (code == 200 && b.p && strstr(b.p, "\"status\":\"succeeded\"")) {
            snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
            code = request(h, "GET", path, NULL, NULL, 10, &b);
            count("result", code);
            snprintf(file, sizeof file, "%s/results/%s", G.dir, id);
            FILE *f = code == 200 && access(file, F_OK) != 0 ? fopen(file, "wb") : NULL;
            if (f) {
                fwrite(b.p, 1, b.n, f);
                fclose(f);
            }
        }
        count("list", request(h, "GET", "/v1/jobs?limit=50", NULL, NULL, 10, &b));
    }
    free(b.p);
    curl_easy_cleanup(h);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: mixed_load PORT SECONDS RATE DIR\n");
        return 2;
    }
    G.port = atoi(argv[1]);
    G.end = now() + atof(argv[2]);
    G.rate = atof(argv[3]) > 0 ? atof(argv[3]) : 100;
    G.dir = argv[4];
    char p[1024];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s.json", G.dir, labels[i]);
        G.body[i] = slurp(p);
    }
    snprintf(p, sizeof p, "%s/results", G.dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/ids", G.dir);
    G.idf = fopen(p, "a");
    G.ids = malloc(MAX_IDS * sizeof *G.ids);
    G.label = malloc(MAX_IDS);
    G.at = malloc(MAX_IDS * sizeof *G.at);
    if (!G.idf || !G.ids || !G.label || !G.at)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    void *(*roles[])(void *) = {submitter, submitter, streamer, streamer, canceller, reader};
    enum { NR = sizeof roles / sizeof *roles };
    pthread_t t[NR];
    for (size_t i = 0; i < NR; i++)
        pthread_create(&t[i], NULL, roles[i], (void *)i);
    for (size_t i = 0; i < NR; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < G.nout; i++)
        printf("%s %s %ld\n", G.out[i].role, G.out[i].what, G.out[i].count);
    fclose(G.idf);
    free(G.ids);
    free(G.label);
    free(G.at);
    for (int i = 0; i < 3; i++)
        free(G.body[i]);
    curl_global_cleanup();
    return 0;
}
