/* show.c — measurectl's human-readable output: job summaries, tables, the
 * kinds' parameters and the live progress bar.
 *
 * What it is not for: HTTP (http.c) or choosing what to print (main.c).
 * Everything here reads the server's JSON as documented in docs/api.md and
 * tolerates members it does not know.
 */
#include "show.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *str(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *or_dash(const char *s) {
    return s && s[0] ? s : "-";
}

/* "it 120  40%" or "it 120" when the fraction is unknown. */
static void progress_text(char *buf, size_t cap, const cJSON *prog) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(prog, "iteration");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(prog, "fraction");
    int n = snprintf(buf, cap, "it %.0f", cJSON_IsNumber(it) ? it->valuedouble : 0.0);
    if (cJSON_IsNumber(fr) && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  %3.0f%%", 100 * fr->valuedouble);
}

/* "name=value name=value" for the metrics object, at most cap bytes. */
static void metrics_text(char *buf, size_t cap, const cJSON *metrics) {
    size_t n = 0;
    buf[0] = '\0';
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics) {
        char one[128];
        if (cJSON_IsNumber(m))
            snprintf(one, sizeof one, "%s%s=%.4g", n ? " " : "", m->string, m->valuedouble);
        else
            snprintf(one, sizeof one, "%s%s=null", n ? " " : "", m->string);
        size_t k = strlen(one);
        if (n + k + 1 > cap)
            break;
        memcpy(buf + n, one, k + 1);
        n += k;
    }
}

void show_job(FILE *f, const cJSON *job) {
    char prog[64], met[2048];
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(job, "progress");
    progress_text(prog, sizeof prog, p);
    metrics_text(met, sizeof met, cJSON_GetObjectItemCaseSensitive(p, "metrics"));
    fprintf(f, "id        %s\n", or_dash(str(job, "id")));
    fprintf(f, "kind      %s\n", or_dash(str(job, "kind")));
    fprintf(f, "status    %s\n", or_dash(str(job, "status")));
    if (str(job, "label"))
        fprintf(f, "label     %s\n", str(job, "label"));
    fprintf(f, "progress  %s\n", prog);
    if (met[0])
        fprintf(f, "metrics   %s\n", met);
    fprintf(f, "created   %s\n", or_dash(str(job, "created_at")));
    fprintf(f, "started   %s\n", or_dash(str(job, "started_at")));
    fprintf(f, "finished  %s\n", or_dash(str(job, "finished_at")));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(job, "error");
    if (cJSON_IsObject(e))
        fprintf(f, "error     %s: %s\n", or_dash(str(e, "title")), or_dash(str(e, "detail")));
}

void show_list(FILE *f, const cJSON *page) {
    fprintf(f, "%-16s  %-18s  %-9s  %-14s  %-24s  %s\n", "ID", "KIND", "STATUS", "PROGRESS",
            "CREATED", "LABEL");
    const cJSON *j;
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(page, "jobs")) {
        char prog[64];
        progress_text(prog, sizeof prog, cJSON_GetObjectItemCaseSensitive(j, "progress"));
        fprintf(f, "%-16s  %-18s  %-9s  %-14s  %-24s  %s\n", or_dash(str(j, "id")),
                or_dash(str(j, "kind")), or_dash(str(j, "status")), prog,
                or_dash(str(j, "created_at")), str(j, "label") ? str(j, "label") : "");
    }
}

void show_kinds(FILE *f, const cJSON *kinds) {
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(kinds, "kinds")) {
        fprintf(f, "%-18s  %s\n", or_dash(str(k, "name")), or_dash(str(k, "title")));
    }
}

/* The type of a schema node, the way a person reads it. */
static void type_text(char *buf, size_t cap, const cJSON *s) {
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (cJSON_IsArray(en)) {
        size_t n = 0;
        const cJSON *v;
        buf[0] = '\0';
        cJSON_ArrayForEach(v, en) {
            if (cJSON_IsString(v) && n + strlen(v->valuestring) + 2 < cap)
                n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "|" : "", v->valuestring);
        }
        return;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    const char *ty = cJSON_IsString(t) ? t->valuestring : "any";
    if (cJSON_IsArray(t)) { /* ["number", "null"]: nullable */
        const cJSON *first = cJSON_GetArrayItem(t, 0);
        snprintf(buf, cap, "%s|null", cJSON_IsString(first) ? first->valuestring : "any");
        return;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    if (strcmp(ty, "array") == 0 && items) {
        char in[64];
        type_text(in, sizeof in, items);
        snprintf(buf, cap, "%s[]", in);
    } else if (strcmp(ty, "object") == 0 && cJSON_GetObjectItemCaseSensitive(props, "points")) {
        snprintf(buf, cap, "measure");
    } else {
        snprintf(buf, cap, "%s", ty);
    }
}

/* Bounds as "> 0", ">= 1, <= 256". */
static void bounds_text(char *buf, size_t cap, const cJSON *s) {
    static const struct {
        const char *key, *op;
    } b[] = {{"exclusiveMinimum", "> "},
             {"minimum", ">= "},
             {"exclusiveMaximum", "< "},
             {"maximum", "<= "}};
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, b[i].key);
        if (cJSON_IsNumber(v) && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s%g", n ? ", " : "", b[i].op,
                                  v->valuedouble);
    }
}

void show_kind(FILE *f, const cJSON *kind) {
    fprintf(f, "%s — %s\n", or_dash(str(kind, "name")), or_dash(str(kind, "title")));
    if (str(kind, "description"))
        fprintf(f, "\n%s\n", str(kind, "description"));
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(kind, "params_schema");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
    fprintf(f, "\n%-20s  %-16s  %-12s  %-14s  %s\n", "PARAM", "TYPE", "DEFAULT", "BOUNDS", "DOC");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(schema, "properties")) {
        char ty[128], bd[96], def[64] = "-";
        type_text(ty, sizeof ty, p);
        bounds_text(bd, sizeof bd, p);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "default");
        if (d) {
            char *t = cJSON_PrintUnformatted(d);
            snprintf(def, sizeof def, "%s", t ? t : "?");
            cJSON_free(t);
        }
        const cJSON *r;
        cJSON_ArrayForEach(r, req) {
            if (cJSON_IsString(r) && strcmp(r->valuestring, p->string) == 0)
                snprintf(def, sizeof def, "(required)");
        }
        fprintf(f, "%-20s  %-16s  %-12s  %-14s  %s\n", p->string, ty, def, bd[0] ? bd : "-",
                or_dash(str(p, "description")));
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(kind, "example");
    if (ex) {
        char *t = cJSON_PrintUnformatted(ex);
        fprintf(f, "\nexample params (measurectl kinds %s --example prints a job body):\n%s\n",
                or_dash(str(kind, "name")), t ? t : "?");
        cJSON_free(t);
    }
}

/* ---- live progress ------------------------------------------------------ */

void show_progress_init(show_progress *p, FILE *f, const char *id) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = isatty(fileno(f));
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->status, sizeof p->status, "queued");
    p->width = 80;
    struct winsize ws;
    if (p->tty && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        p->width = ws.ws_col;
}

static void draw_bar(show_progress *p, const cJSON *data) {
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(data, "fraction");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(data, "iteration");
    char line[1024], met[512];
    enum { BAR = 24 };
    char bar[BAR + 1];
    double frac = cJSON_IsNumber(fr) ? fr->valuedouble : -1;
    for (int i = 0; i < BAR; i++)
        bar[i] = frac < 0 ? (i == (int)(cJSON_IsNumber(it) ? it->valuedouble : 0) % BAR ? '#' : '.')
                          : (i < (int)(frac * BAR + 0.5) ? '#' : '.');
    bar[BAR] = '\0';
    char pct[8] = "  ?%";
    if (frac >= 0)
        snprintf(pct, sizeof pct, "%3.0f%%", 100 * (frac > 1 ? 1 : frac));
    metrics_text(met, sizeof met, cJSON_GetObjectItemCaseSensitive(data, "metrics"));
    int n = snprintf(line, sizeof line, "%s [%s] %s it %.0f  %s", p->id, bar, pct,
                     cJSON_IsNumber(it) ? it->valuedouble : 0.0, met);
    if (n > p->width - 1)
        n = p->width - 1;
    fprintf(p->f, "\r\033[K%.*s", n, line);
    fflush(p->f);
    p->drawn = 1;
}

void show_progress_event(show_progress *p, const char *type, const cJSON *data) {
    const char *st = str(data, "status");
    if (st)
        snprintf(p->status, sizeof p->status, "%s", st);
    if (p->tty) {
        if (strcmp(type, "progress") == 0) {
            draw_bar(p, data);
        } else if (strcmp(type, "end") == 0) {
            show_progress_done(p);
            fprintf(p->f, "%s %s\n", p->id, or_dash(st));
        } else if (!p->drawn) {
            fprintf(p->f, "\r\033[K%s %s", p->id, or_dash(st));
            fflush(p->f);
        }
        return;
    }
    if (strcmp(type, "progress") == 0) {
        char prog[64], met[4096];
        progress_text(prog, sizeof prog, data);
        metrics_text(met, sizeof met, cJSON_GetObjectItemCaseSensitive(data, "metrics"));
        fprintf(p->f, "progress %s  %s\n", prog, met);
    } else {
        const char *reason = str(data, "reason");
        fprintf(p->f, "%s %s%s%s\n", type, or_dash(st), reason ? " reason=" : "",
                reason ? reason : "");
    }
    fflush(p->f);
}

void show_progress_done(show_progress *p) {
    if (p->tty && p->drawn) {
        fputc('\n', p->f);
        fflush(p->f);
    }
    p->drawn = 0;
}
