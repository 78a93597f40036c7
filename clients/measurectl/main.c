/* main.c — measurectl, the command-line client of the measured daemon.
 *
 * What it is for: the command line (global options anywhere, one command,
 * its arguments), one function per command, and the exit codes. Every
 * command is one or two requests of docs/api.md; `follow` and `run` read the
 * event stream (http.c resumes it after a dropped connection).
 *
 * What it is not for: formatting (show.c) or HTTP details (http.c).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "show.h"

static const char usage_text[] =
    "usage: measurectl [options] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  submit FILE|-        submit a job body ({\"kind\", \"params\", ...}); prints its id\n"
    "  follow ID            live progress until the job ends; exits with its outcome\n"
    "  run FILE|-           submit, follow (progress on stderr), print the result\n"
    "  status ID            the job (--wait S: until it ends or S seconds pass)\n"
    "  list                 jobs, newest first (--status, --kind, --limit, --cursor)\n"
    "  result ID            the result of a succeeded job\n"
    "  cancel ID            cancel a queued or running job\n"
    "  kinds [NAME]         job kinds; with NAME its parameters, defaults and example\n"
    "                       (--example: print the example as a job body)\n"
    "\n"
    "options:\n"
    "  --url URL            daemon address (env MEASURED_URL, default http://127.0.0.1:8080)\n"
    "  --token TOKEN        bearer token (env MEASURED_TOKEN)\n"
    "  --json               machine-readable output: the server's JSON; follow prints\n"
    "                       the events as JSON lines\n"
    "  -q, --quiet          no progress output (follow, run)\n"
    "  --kind K             submit/run: FILE holds the params of kind K, not a job body\n"
    "  --label L, --priority P, --timeout S, --idempotency-key KEY   submit/run\n"
    "  --after N            follow: start after event N\n"
    "\n"
    "exit codes: 0 ok (a followed job succeeded); 1 the job failed or was cancelled,\n"
    "or is in no state for the request (409); 2 usage error, invalid body (400/422),\n"
    "unknown id (404) or bad token (401); 3 server unreachable or unavailable (5xx).\n";

typedef struct opts {
    const char *kind, *label, *priority, *timeout, *idem, *status, *limit, *cursor, *wait;
    long long after;
    int example;
    const char *args[4];
    int nargs;
} opts;

static int usage(const char *msg) {
    if (msg)
        fprintf(stderr, "measurectl: %s\n\n", msg);
    fputs(usage_text, stderr);
    return CTL_USAGE;
}

/* ---- helpers ------------------------------------------------------------ */

static void print_json(const cJSON *j, int pretty) {
    char *t = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    if (t)
        puts(t);
    cJSON_free(t);
}

/* GET path into r; on anything but 200 print the problem and return the
 * exit code. */
static int get(const ctl *c, const char *path, const char *what, ctl_resp *r) {
    if (ctl_request(c, "GET", path, NULL, 0, NULL, 0, r) != CTL_OK || r->status != 200) {
        ctl_print_problem(what, r);
        return r->status ? ctl_status_code(r->status) : CTL_UNREACHABLE;
    }
    if (!r->json) {
        fprintf(stderr, "measurectl: %s: the answer is not JSON\n", what);
        return CTL_UNREACHABLE;
    }
    return CTL_OK;
}

/* The body to send: the file as it is, or rebuilt when options change it. */
static char *job_body(const opts *o, const char *file, size_t *len) {
    char *text = ctl_read_file(file, len);
    if (!text) {
        fprintf(stderr, "measurectl: cannot read %s: %s\n", file, strerror(errno));
        return NULL;
    }
    if (!o->kind && !o->label && !o->priority && !o->timeout)
        return text;
    cJSON *in = cJSON_ParseWithLength(text, *len);
    free(text);
    if (!in) {
        fprintf(stderr, "measurectl: %s is not JSON\n", file);
        return NULL;
    }
    cJSON *body = in;
    if (o->kind) {
        body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "kind", o->kind);
        cJSON_AddItemToObject(body, "params", in);
    }
    if (!cJSON_IsObject(body)) {
        fprintf(stderr, "measurectl: %s is not a JSON object\n", file);
        cJSON_Delete(body);
        return NULL;
    }
    if (o->label) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "label");
        cJSON_AddStringToObject(body, "label", o->label);
    }
    /* Numbers go in as given; the server validates them (a bad one is 422
     * with a pointer, like any other field). */
    const char *num[][2] = {{"priority", o->priority}, {"timeout_s", o->timeout}};
    for (size_t i = 0; i < 2; i++) {
        if (!num[i][1])
            continue;
        cJSON *v = cJSON_Parse(num[i][1]);
        if (!v)
            v = cJSON_CreateString(num[i][1]);
        cJSON_DeleteItemFromObjectCaseSensitive(body, num[i][0]);
        cJSON_AddItemToObject(body, num[i][0], v);
    }
    char *t = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    *len = t ? strlen(t) : 0;
    return t;
}

/* POST /v1/jobs; copies the new job's id. */
static int submit(const ctl *c, const opts *o, const char *file, char *id, size_t cap) {
    size_t len;
    char *body = job_body(o, file, &len);
    if (!body)
        return CTL_USAGE;
    char idem[300];
    const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
    if (o->idem) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", o->idem);
        hdrs[1] = idem;
    }
    ctl_resp r;
    int rc = ctl_request(c, "POST", "/v1/jobs", body, len, hdrs, 60, &r);
    free(body);
    if (rc != CTL_OK || (r.status != 201 && r.status != 200)) {
        ctl_print_problem("submit", &r);
        rc = r.status ? ctl_status_code(r.status) : CTL_UNREACHABLE;
        ctl_resp_free(&r);
        return rc;
    }
    const cJSON *jid = cJSON_GetObjectItemCaseSensitive(r.json, "id");
    if (!cJSON_IsString(jid)) {
        fprintf(stderr, "measurectl: submit: the answer has no job id\n");
        ctl_resp_free(&r);
        return CTL_UNREACHABLE;
    }
    snprintf(id, cap, "%s", jid->valuestring);
    if (c->json) /* `run` clears json: it prints only the result */
        print_json(r.json, 0);
    ctl_resp_free(&r);
    return CTL_OK;
}

/* ---- following ---------------------------------------------------------- */

typedef struct follower {
    const ctl *c;
    show_progress bar;
    int show;  /* human progress */
    int lines; /* --json: echo the NDJSON lines */
    char outcome[16];
} follower;

static int on_event(void *user, long long id, const char *type, const cJSON *data,
                    const char *line) {
    (void)id;
    follower *fl = user;
    if (fl->lines) {
        puts(line);
        fflush(stdout);
    } else if (fl->show) {
        show_progress_event(&fl->bar, type, data);
    }
    if (strcmp(type, "end") == 0) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(data, "status");
        snprintf(fl->outcome, sizeof fl->outcome, "%s", cJSON_IsString(st) ? st->valuestring : "?");
    }
    return 0;
}

/* Follow the job to its end; the exit code says how it ended. */
static int follow(const ctl *c, const char *id, long long after, FILE *out, int lines) {
    follower fl = {.c = c, .show = !c->quiet && !lines, .lines = lines};
    show_progress_init(&fl.bar, out, id);
    int rc = ctl_follow(c, id, after, on_event, &fl, NULL);
    show_progress_done(&fl.bar);
    if (rc != CTL_OK)
        return rc;
    if (strcmp(fl.outcome, "succeeded") == 0)
        return CTL_OK;
    /* Say why on stderr: the job's error, if it has one. */
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    ctl_resp r;
    if (ctl_request(c, "GET", path, NULL, 0, NULL, 10, &r) == CTL_OK && r.status == 200) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(r.json, "error");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
        fprintf(stderr, "measurectl: job %s %s%s%s\n", id, fl.outcome,
                cJSON_IsString(d) ? ": " : "", cJSON_IsString(d) ? d->valuestring : "");
    } else {
        fprintf(stderr, "measurectl: job %s %s\n", id, fl.outcome);
    }
    ctl_resp_free(&r);
    return CTL_JOB_FAILED;
}

/* ---- commands ----------------------------------------------------------- */

static int cmd_submit(const ctl *c, const opts *o) {
    if (o->nargs != 1)
        return usage("submit takes one FILE (or - for standard input)");
    char id[64];
    int rc = submit(c, o, o->args[0], id, sizeof id);
    if (rc == CTL_OK && !c->json)
        puts(id);
    return rc;
}

static int cmd_follow(const ctl *c, const opts *o) {
    if (o->nargs != 1)
        return usage("follow takes one job ID");
    return follow(c, o->args[0], o->after, stdout, c->json);
}

static int cmd_result(const ctl *c, const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/result", id);
    ctl_resp r;
    int rc = get(c, path, "result", &r);
    if (rc == CTL_OK) {
        if (c->json)
            print_json(r.json, 0);
        else
            print_json(cJSON_GetObjectItemCaseSensitive(r.json, "result"), 1);
    }
    ctl_resp_free(&r);
    return rc;
}

static int cmd_run(const ctl *c, const opts *o) {
    if (o->nargs != 1)
        return usage("run takes one FILE (or - for standard input)");
    char id[64];
    ctl quiet = *c;
    quiet.json = 0; /* the submit answer is not printed by run */
    int rc = submit(&quiet, o, o->args[0], id, sizeof id);
    if (rc != CTL_OK)
        return rc;
    if (!c->quiet)
        fprintf(stderr, "job %s\n", id);
    rc = follow(c, id, 0, stderr, 0);
    return rc == CTL_OK ? cmd_result(c, id) : rc;
}

static int cmd_status(const ctl *c, const opts *o) {
    if (o->nargs != 1)
        return usage("status takes one job ID");
    char path[256];
    snprintf(path, sizeof path, "/v1/jobs/%s%s%s", o->args[0], o->wait ? "?wait=" : "",
             o->wait ? o->wait : "");
    ctl_resp r;
    int rc = get(c, path, "status", &r);
    if (rc == CTL_OK) {
        if (c->json)
            print_json(r.json, 0);
        else
            show_job(stdout, r.json);
    }
    ctl_resp_free(&r);
    return rc;
}

static void add_query(char *path, size_t cap, const char *name, const char *value) {
    if (!value)
        return;
    size_t n = strlen(path);
    char *esc = curl_easy_escape(NULL, value, 0);
    snprintf(path + n, cap - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', name, esc ? esc : "");
    curl_free(esc);
}

static int cmd_list(const ctl *c, const opts *o) {
    if (o->nargs != 0)
        return usage("list takes no arguments");
    char path[1024] = "/v1/jobs";
    add_query(path, sizeof path, "status", o->status);
    add_query(path, sizeof path, "kind", o->kind);
    add_query(path, sizeof path, "limit", o->limit);
    add_query(path, sizeof path, "cursor", o->cursor);
    ctl_resp r;
    int rc = get(c, path, "list", &r);
    if (rc == CTL_OK) {
        if (c->json) {
            print_json(r.json, 0);
        } else {
            show_list(stdout, r.json);
            const cJSON *next = cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor");
            if (cJSON_IsString(next))
                fprintf(stderr, "more: measurectl list --cursor %s\n", next->valuestring);
        }
    }
    ctl_resp_free(&r);
    return rc;
}

static int cmd_cancel(const ctl *c, const opts *o) {
    if (o->nargs != 1)
        return usage("cancel takes one job ID");
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", o->args[0]);
    ctl_resp r;
    int rc = ctl_request(c, "DELETE", path, NULL, 0, NULL, 30, &r);
    if (rc != CTL_OK || r.status != 202) {
        ctl_print_problem("cancel", &r);
        rc = r.status ? ctl_status_code(r.status) : CTL_UNREACHABLE;
    } else if (c->json) {
        print_json(r.json, 0);
    } else {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(r.json, "status");
        int now = cJSON_IsString(st) && strcmp(st->valuestring, "cancelled") == 0;
        printf("%s %s\n", o->args[0],
               now ? "cancelled" : "cancelling (stops at its next iteration boundary)");
    }
    ctl_resp_free(&r);
    return rc;
}

static int cmd_kinds(const ctl *c, const opts *o) {
    if (o->nargs > 1)
        return usage("kinds takes at most one NAME");
    char path[256] = "/v1/kinds";
    if (o->nargs == 1)
        snprintf(path, sizeof path, "/v1/kinds/%s", o->args[0]);
    else if (o->example)
        return usage("--example needs a kind NAME");
    ctl_resp r;
    int rc = get(c, path, "kinds", &r);
    if (rc != CTL_OK) {
        ctl_resp_free(&r);
        return rc;
    }
    if (o->example) {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "kind", o->args[0]);
        cJSON *ex = cJSON_GetObjectItemCaseSensitive(r.json, "example");
        cJSON_AddItemToObject(body, "params", ex ? cJSON_Duplicate(ex, 1) : cJSON_CreateObject());
        print_json(body, 1);
        cJSON_Delete(body);
    } else if (c->json) {
        print_json(r.json, 0);
    } else if (o->nargs == 1) {
        show_kind(stdout, r.json);
    } else {
        show_kinds(stdout, r.json);
    }
    ctl_resp_free(&r);
    return CTL_OK;
}

/* ---- command line ------------------------------------------------------- */

/* Options take their value as the next argument or after '='. */
static int take(int argc, char **argv, int *i, const char *name, const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        *val = NULL;
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

static int parse(int argc, char **argv, ctl *c, opts *o, const char **cmd) {
    const char *url = getenv("MEASURED_URL"), *after = NULL;
    c->token = getenv("MEASURED_TOKEN");
    struct {
        const char *name;
        const char **val;
    } valued[] = {{"--url", &url},
                  {"--token", &c->token},
                  {"--kind", &o->kind},
                  {"--label", &o->label},
                  {"--priority", &o->priority},
                  {"--timeout", &o->timeout},
                  {"--idempotency-key", &o->idem},
                  {"--status", &o->status},
                  {"--limit", &o->limit},
                  {"--cursor", &o->cursor},
                  {"--wait", &o->wait},
                  {"--after", &after}};
    *cmd = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int hit = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !hit; k++) {
            hit = take(argc, argv, &i, valued[k].name, valued[k].val);
            if (hit < 0) {
                fprintf(stderr, "measurectl: %s needs a value\n", valued[k].name);
                return -1;
            }
        }
        if (hit)
            continue;
        if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            c->quiet = 1;
        } else if (strcmp(a, "--example") == 0) {
            o->example = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            exit(CTL_OK);
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "measurectl: unknown option %s\n", a);
            return -1;
        } else if (!*cmd) {
            *cmd = a;
        } else if (o->nargs < 4) {
            o->args[o->nargs++] = a;
        } else {
            fprintf(stderr, "measurectl: too many arguments\n");
            return -1;
        }
    }
    snprintf(c->url, sizeof c->url, "%s", url && url[0] ? url : "http://127.0.0.1:8080");
    size_t n = strlen(c->url);
    while (n && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    if (after) {
        char *end;
        o->after = strtoll(after, &end, 10);
        if (*end || o->after < 0) {
            fprintf(stderr, "measurectl: --after needs an event id\n");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    ctl c = {0};
    opts o = {0};
    const char *cmd;
    if (parse(argc, argv, &c, &o, &cmd) != 0)
        return usage(NULL);
    if (!cmd)
        return usage("no command");
    static const struct {
        const char *name;
        int (*fn)(const ctl *, const opts *);
    } cmds[] = {{"submit", cmd_submit}, {"follow", cmd_follow}, {"run", cmd_run},
                {"status", cmd_status}, {"list", cmd_list},     {"cancel", cmd_cancel},
                {"kinds", cmd_kinds}};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = -1;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            rc = cmds[i].fn(&c, &o);
    if (strcmp(cmd, "result") == 0)
        rc = o.nargs == 1 ? cmd_result(&c, o.args[0]) : usage("result takes one job ID");
    if (rc < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "unknown command %s", cmd);
        rc = usage(msg);
    }
    curl_global_cleanup();
    return rc;
}
