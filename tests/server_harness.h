/* server_harness.h — start the real daemon code in a child process and talk
 * HTTP to it, for the test_server_* suites.
 *
 * The child is this very test executable re-executed with "--daemon ARGS":
 * the suite's main() hands those to daemon_main(), so the daemon runs with
 * the suite's own registry (test-local kinds, never lib/registry.c's). The
 * daemon listens on port 0; the harness reads the port from the
 * "listening on HOST:PORT" line of its stderr (a log file).
 */
#ifndef SERVER_HARNESS_H
#define SERVER_HARNESS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct daemon_proc {
    pid_t pid;
    int port;
    char log[256];
} daemon_proc;

/* Start with extra flags (NULL-terminated); --listen 127.0.0.1:0 and
 * --store :memory: are added unless given. Fails the test on error. */
void dm_start(daemon_proc *d, const char *const *args);
/* Send sig, wait; returns the exit status (or 128+signal). */
int dm_stop(daemon_proc *d, int sig);
/* Is the process still running? */
int dm_alive(const daemon_proc *d);

typedef struct http_resp {
    long status;
    char *body; /* NUL-terminated, free() */
    size_t len;
    char *headers;
    cJSON *json; /* parsed body or NULL */
} http_resp;

/* One request. hdrs: NULL-terminated "Name: value" strings or NULL. body
 * may be NULL. timeout_ms 0 = 30 s. */
void http_do(const daemon_proc *d, const char *method, const char *path, const char *body,
             size_t body_len, const char *const *hdrs, long timeout_ms, http_resp *out);
void http_free(http_resp *r);
/* Value of a response header (case-insensitive), copied into buf. */
const char *http_resp_header(const http_resp *r, const char *name, char *buf, size_t cap);

/* Shortcuts on the parsed JSON. */
const char *jstr(const cJSON *j, const char *key);
double jnum(const cJSON *j, const char *key);

/* Submit a body; returns the job id (static buffer per call site is the
 * caller's: copies into id). Fails the test unless 201. */
void dm_submit(const daemon_proc *d, const char *body, char *id, size_t cap);
/* GET /v1/jobs/{id}?wait=S and return the status string (copied). */
void dm_wait(const daemon_proc *d, const char *id, double wait_s, char *status, size_t cap);

/* The value of a metric in GET /metrics: an unlabelled name, or a labelled
 * series given whole (`measured_jobs{kind="x",status="queued"}`); NAN when
 * absent. hdrs as for http_do (a token). */
double dm_metric(const daemon_proc *d, const char *series, const char *const *hdrs);

/* A fresh path for a file store (nothing there yet), and removing a store
 * with its side files (-wal, -shm, .lock). */
void dm_new_store(char *path, size_t cap);
void dm_rm_store(const char *path);

/* Call from main(): if argv[1] is "--daemon", run the daemon and exit. */
void dm_child_main(int argc, char **argv);

#endif
