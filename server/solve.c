/* solve.c — `measured solve`: one job body in the foreground. See solve.h.
 *
 * Not for: anything the daemon does besides running (no store, no HTTP).
 */
#include "solve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "ms_alloc.h"
#include "runner.h"

static atomic_int interrupted;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&interrupted, RUNNER_CANCEL);
}

/* Read a whole file ("-" = stdin) into an ms_malloc'd buffer. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    sbuf b = SBUF_INIT;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        sbuf_putn(&b, tmp, n);
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    *len = b.len;
    char *s = sbuf_take(&b);
    if (bad) {
        ms_free(s);
        return NULL;
    }
    return s;
}

static void print_problem(const codec_problem *pb) {
    sbuf b = SBUF_INIT;
    codec_problem_write(&b, pb);
    fprintf(stderr, "%s\n", sbuf_cstr(&b));
    sbuf_free(&b);
}

static void on_progress(const ms_progress *p, void *user) {
    sbuf *b = user;
    sbuf_reset(b);
    sbuf_puts(b, "{\"event\":\"progress\",\"data\":");
    codec_progress_write(b, p);
    sbuf_puts(b, "}\n");
    fputs(sbuf_cstr(b), stderr);
}

int solve_main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: measured solve FILE.json|-\n");
        return 2;
    }
    codec_json_hooks_install();
    codec_problem pb;
    codec_problem_init(&pb);
    size_t len = 0;
    char *body = slurp(argv[1], &len);
    if (!body) {
        codec_problem_set(&pb, 400, "unreadable-input", "Unreadable input", "cannot read %s",
                          argv[1]);
        print_problem(&pb);
        return 2;
    }
    codec_job job;
    ms_status s = codec_job_parse(body, len, &job, &pb);
    ms_free(body);
    if (s != MS_OK) {
        print_problem(&pb);
        return s == MS_ENOMEM ? 1 : 2;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    runner_cap_threads(job.kind, job.params, cores > 0 ? (int)cores : 1);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sbuf line = SBUF_INIT;
    runner_opts o = {runner_threads(job.kind, job.params),
                     &interrupted,
                     job.timeout_s > 0 ? runner_now() + job.timeout_s : 0,
                     0.1,
                     on_progress,
                     &line};
    ms_value *out = NULL;
    ms_err err;
    s = runner_run(job.kind, job.params, &o, &out, NULL, &err);
    sbuf_free(&line);
    int rc = 0;
    sbuf b = SBUF_INIT;
    if (s == MS_OK && codec_value_write(&b, out) == MS_OK) {
        fwrite(b.s, 1, b.len, stdout);
        fputc('\n', stdout);
        rc = fflush(stdout) == 0 ? 0 : 1;
    } else {
        if (s == MS_OK)
            ms_fail(&err, MS_ENOMEM, "", "no memory to write the result");
        char slug[64];
        codec_status_slug(err.code, slug, sizeof slug);
        codec_problem_set(&pb, ms_status_http(err.code), slug, ms_status_str(err.code), "%s%s%s",
                          err.field, err.field[0] ? ": " : "", err.msg);
        print_problem(&pb);
        rc = 1;
    }
    sbuf_free(&b);
    ms_value_free(out);
    codec_job_free(&job);
    return rc;
}
