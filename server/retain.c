/* retain.c — a bounded job table, and the jobs that left it.
 *
 * What it is for: keeping the daemon's memory flat however long it runs.
 * The table holds every queued and running job and the `--retain-jobs`
 * newest finished ones; older finished jobs are evicted once the store has
 * all of them and no request holds them (jobs.c, job_pinned). Everything
 * about an evicted job is read back from the store on demand: its object
 * (GET, DELETE, the 409 of /result), its idempotency key, its place in
 * listings (merged with the table, newest first), its result and its
 * events (http.c streams them from the store). With `--store :memory:` an
 * evicted job is deleted from the store as well: it is forgotten (404).
 *
 * What it is not for: writing changes (persist.c) or the job lifecycle
 * (daemon.c).
 */
#include <string.h>

#include "ms_alloc.h"
#include "registry.h"
#include "server.h"

size_t srv_kind_index(const ms_kind *k) {
    size_t n;
    const ms_kind *const *ks = ms_registry(&n);
    for (size_t i = 0; i < n && i < METRICS_KINDS; i++)
        if (ks[i] == k)
            return i;
    return METRICS_KINDS; /* unknown */
}

/* ---- eviction ------------------------------------------------------------- */

static void on_evict(job *j, void *user) {
    srv *s = user;
    if (store_is_memory(s->store)) {
        store_delete_job(s->store, j->id); /* nothing to read it back from */
        return;
    }
    s->gone[srv_kind_index(j->kind)][j->status]++;
}

void srv_trim(srv *s) {
    jobs_evict(s->jobs, s->cfg.retain_jobs, on_evict, s);
}

void srv_release(srv *s, job *j) {
    if (--j->refs == 0 && job_terminal(j) && !job_pinned(j))
        srv_trim(s);
}

/* ---- rows into jobs ----------------------------------------------------- */

static int copy_str(char **to, const char *from) {
    ms_free(*to);
    *to = NULL;
    return from && !(*to = ms_strdup(from)) ? -1 : 0;
}

job_status srv_row_status(const store_job *row) {
    int st = job_status_parse(row->status ? row->status : "");
    return st < 0 ? JOB_FAILED : (job_status)st;
}

int srv_row_to_job(job *j, const store_job *row) {
    if (!j->id[0])
        snprintf(j->id, sizeof j->id, "%s", row->id);
    j->priority = row->priority;
    j->timeout_s = row->timeout_s;
    j->started_ms = row->started_ms;
    j->finished_ms = row->finished_ms;
    j->attempts = row->attempts;
    j->body_hash = row->body_hash;
    /* Its events are in the store: the in-memory log starts after them. */
    j->first_seq = row->last_seq + 1;
    j->saved_seq = row->last_seq;
    if (copy_str(&j->label, row->label) || copy_str(&j->progress, row->progress) ||
        copy_str(&j->error, row->error))
        return -1;
    return 0;
}

/* A detached job (not in the table) from a row: a view to answer with. */
static job *view_of(const store_job *row) {
    job *j = ms_calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = ms_registry_find(row->kind);
    j->status = srv_row_status(row);
    j->created_ms = row->created_ms;
    j->heap_at = (size_t)-1;
    if (srv_row_to_job(j, row) || copy_str(&j->idem_key, row->idem_key)) {
        job_free(j);
        return NULL;
    }
    return j;
}

typedef struct one {
    job *view;
    int oom;
} one;

static void take_one(const store_job *row, void *user) {
    one *o = user;
    if (!o->view && !o->oom && !(o->view = view_of(row)))
        o->oom = 1;
}

static int lookup_done(int n, one *o, job **out) {
    if (n < 0 || o->oom) {
        job_free(o->view);
        return LOOKUP_ERROR;
    }
    *out = o->view;
    return o->view ? LOOKUP_VIEW : LOOKUP_NONE;
}

int srv_lookup(srv *s, const char *id, job **out) {
    *out = jobs_find(s->jobs, id);
    if (*out)
        return LOOKUP_MEMORY;
    /* Every job above the newest evicted id is in memory. */
    const char *older = jobs_older(s->jobs);
    if (!older[0] || strcmp(id, older) > 0)
        return LOOKUP_NONE;
    one o = {NULL, 0};
    return lookup_done(store_get_job(s->store, id, take_one, &o), &o, out);
}

int srv_lookup_idem(srv *s, const char *key, job **out) {
    *out = jobs_find_idem(s->jobs, key);
    if (*out)
        return LOOKUP_MEMORY;
    if (!jobs_older(s->jobs)[0])
        return LOOKUP_NONE; /* nothing was ever evicted: every key is in memory */
    one o = {NULL, 0};
    return lookup_done(store_find_idem(s->store, key, take_one, &o), &o, out);
}

/* ---- listings ------------------------------------------------------------- */

typedef struct page {
    srv *s;
    job **views;
    size_t n, cap;
    int oom;
} page;

static void take_row(const store_job *row, void *user) {
    page *p = user;
    /* A straggler's row may be behind its memory: memory answers for it. */
    if (p->oom || p->n == p->cap || jobs_find(p->s->jobs, row->id))
        return;
    if (!(p->views[p->n] = view_of(row)))
        p->oom = 1;
    else
        p->n++;
}

int srv_list(srv *s, const char *cursor, int status, const char *kind, size_t limit, sbuf *b) {
    size_t need = limit + 1;
    job **mem = ms_malloc(need, sizeof *mem);
    page p = {s, ms_malloc(need, sizeof(job *)), 0, need, 0};
    int rc = -1;
    if (!mem || !p.views)
        goto out;
    int more;
    size_t nm = jobs_list(s->jobs, cursor, status, kind, need, mem, &more);
    /* Jobs at or below the newest evicted id that memory lacks come from the
     * store. Memory may hold a few of those ids (stragglers): ask for enough
     * rows to make up for skipping them. */
    const char *older = jobs_older(s->jobs);
    if (older[0] &&
        (store_list(s->store, cursor, older, status >= 0 ? job_status_name(status) : NULL, kind,
                    need + jobs_stragglers(s->jobs), take_row, &p) < 0 ||
         p.oom))
        goto out;
    /* Merge the two newest-first lists. */
    size_t i = 0, k = 0, n = 0;
    job *last = NULL;
    sbuf_puts(b, "{\"jobs\":[");
    while (n < limit && (i < nm || k < p.n)) {
        job *j = k == p.n || (i < nm && strcmp(mem[i]->id, p.views[k]->id) > 0) ? mem[i++]
                                                                                : p.views[k++];
        if (n++)
            sbuf_putc(b, ',');
        job_write(b, j);
        last = j;
    }
    sbuf_puts(b, "],\"next_cursor\":");
    if (i < nm || k < p.n)
        sbuf_json_str(b, last->id);
    else
        sbuf_puts(b, "null");
    sbuf_putc(b, '}');
    rc = 0;
out:
    for (size_t v = 0; v < p.n; v++)
        job_free(p.views[v]);
    ms_free(p.views);
    ms_free(mem);
    return rc;
}

/* ---- start-up counts -------------------------------------------------------- */

static void count_row(const char *kind, const char *status, int64_t n, void *user) {
    srv *s = user;
    int st = job_status_parse(status ? status : "");
    if (st >= JOB_SUCCEEDED)
        s->gone[srv_kind_index(ms_registry_find(kind))][st] += (uint64_t)n;
}

int srv_count_evicted(srv *s) {
    if (store_count(s->store, count_row, s) < 0)
        return -1;
    /* The finished jobs loaded into memory are counted there. */
    size_t n = jobs_count(s->jobs);
    job **all = ms_malloc(n ? n : 1, sizeof *all);
    if (!all)
        return -1;
    int more;
    n = jobs_list(s->jobs, NULL, -1, NULL, n, all, &more);
    for (size_t i = 0; i < n; i++)
        if (job_terminal(all[i]))
            s->gone[srv_kind_index(all[i]->kind)][all[i]->status]--;
    ms_free(all);
    return 0;
}
