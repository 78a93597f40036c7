/* server_harness.c — see server_harness.h. */
#include "server_harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#include "daemon.h"

void dm_child_main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--daemon") != 0)
        return;
    argv[1] = argv[0];
    exit(daemon_main(argc - 1, argv + 1));
}

void dm_start(daemon_proc *d, const char *const *args) {
    memset(d, 0, sizeof *d);
    snprintf(d->log, sizeof d->log, "/tmp/measured-test-XXXXXX");
    int fd = mkstemp(d->log);
    assert_true(fd >= 0);
    const char *argv[64];
    size_t n = 0;
    int has_listen = 0, has_store = 0;
    argv[n++] = "/proc/self/exe";
    argv[n++] = "--daemon";
    for (size_t i = 0; args && args[i] && n < 60; i++) {
        has_listen |= strcmp(args[i], "--listen") == 0;
        has_store |= strcmp(args[i], "--store") == 0;
        argv[n++] = args[i];
    }
    if (!has_listen) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    if (!has_store) {
        argv[n++] = "--store";
        argv[n++] = ":memory:";
    }
    argv[n] = NULL;
    char exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(el > 0);
    exe[el] = '\0';
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A suite that fails half-way must not leave its daemon behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 2);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(fd);
    d->pid = pid;
    for (int tries = 0; tries < 400 && !d->port; tries++) {
        usleep(25000);
        FILE *f = fopen(d->log, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "listening on ");
            if (p && strrchr(p, ':'))
                d->port = atoi(strrchr(p, ':') + 1);
        }
        if (f)
            fclose(f);
        if (!dm_alive(d))
            break;
    }
    if (!d->port) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "cat %s >&2", d->log);
        (void)system(cmd);
        fail_msg("daemon did not start");
    }
}

int dm_alive(const daemon_proc *d) {
    return d->pid > 0 && kill(d->pid, 0) == 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

int dm_stop(daemon_proc *d, int sig) {
    int st = 0;
    if (d->pid <= 0)
        return -1;
    kill(d->pid, sig);
    for (int i = 0; i < 3000; i++) { /* 30 s */
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid)
            break;
        if (i == 2999) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &st, 0);
        }
        usleep(10000);
    }
    d->pid = 0;
    if (getenv("KEEP_LOGS") == NULL)
        unlink(d->log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

typedef struct grow {
    char *p;
    size_t n;
} grow;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user) {
    grow *g = user;
    size_t k = size * nmemb;
    char *p = realloc(g->p, g->n + k + 1);
    if (!p)
        return 0;
    memcpy(p + g->n, ptr, k);
    g->n += k;
    p[g->n] = '\0';
    g->p = p;
    return k;
}

void http_do(const daemon_proc *d, const char *method, const char *path, const char *body,
             size_t body_len, const char *const *hdrs, long timeout_ms, http_resp *out) {
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", d->port, path);
    grow b = {NULL, 0}, h = {NULL, 0};
    struct curl_slist *list = NULL;
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        list = curl_slist_append(list, hdrs[i]);
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT && rc != CURLE_PARTIAL_FILE)
        out->status = -(long)rc;
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    out->body = b.p ? b.p : calloc(1, 1);
    out->len = b.n;
    out->headers = h.p ? h.p : calloc(1, 1);
    out->json = cJSON_Parse(out->body);
}

void http_free(http_resp *r) {
    free(r->body);
    free(r->headers);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

const char *http_resp_header(const http_resp *r, const char *name, char *buf, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(buf, cap, "%.*s", (int)(eol - v), v);
            return buf;
        }
        p = eol + 2;
    }
    return NULL;
}

const char *jstr(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double jnum(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

void dm_submit(const daemon_proc *d, const char *body, char *id, size_t cap) {
    http_resp r;
    http_do(d, "POST", "/v1/jobs", body, strlen(body), NULL, 0, &r);
    if (r.status != 201)
        fail_msg("submit answered %ld: %s", r.status, r.body);
    snprintf(id, cap, "%s", jstr(r.json, "id"));
    http_free(&r);
}

void dm_wait(const daemon_proc *d, const char *id, double wait_s, char *status, size_t cap) {
    char path[256];
    snprintf(path, sizeof path, "/v1/jobs/%s?wait=%g", id, wait_s);
    http_resp r;
    http_do(d, "GET", path, NULL, 0, NULL, (long)(wait_s * 1000) + 30000, &r);
    assert_int_equal(r.status, 200);
    snprintf(status, cap, "%s", jstr(r.json, "status"));
    http_free(&r);
}

double dm_metric(const daemon_proc *d, const char *series, const char *const *hdrs) {
    http_resp r;
    http_do(d, "GET", "/metrics", NULL, 0, hdrs, 0, &r);
    assert_int_equal(r.status, 200);
    char want[256];
    snprintf(want, sizeof want, "\n%s ", series);
    const char *p = strstr(r.body, want);
    double v = p ? strtod(p + strlen(want), NULL) : NAN;
    http_free(&r);
    return v;
}

void dm_new_store(char *path, size_t cap) {
    snprintf(path, cap, "/tmp/measured-store-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
}

void dm_rm_store(const char *path) {
    static const char *const side[] = {"", "-wal", "-shm", ".lock"};
    char p[4200];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, side[i]);
        unlink(p);
    }
}
