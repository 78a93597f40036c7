/* jobs.c — the job table and job objects. See jobs.h. */
#include "jobs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ms_alloc.h"
#include "runner.h"

/* Open-addressing map from a string key to a job; keys live in the jobs.
 * Removed entries become tombstones; a rehash (at a size fitted to the live
 * entries) clears them, so that eviction does not make the map grow. */
typedef struct map {
    job **slot;
    size_t cap, used; /* used counts tombstones too */
    size_t live;
} map;

static job tombstone;

struct jobs {
    job **all; /* in id order (ids grow with creation time) */
    size_t n, cap;
    map by_id, by_key;
    uint64_t last_id;
    uint64_t order;
    size_t nstatus[JOB_NSTATUS];
    char older[24]; /* the newest evicted id, or "" */
};

uint64_t jobs_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static const char *key_of(const job *j, int idem) {
    return idem ? j->idem_key : j->id;
}

static int map_rehash(map *m, int idem) {
    size_t cap = 1024;
    while (cap < (m->live + 1) * 4)
        cap *= 2;
    job **slot = ms_calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        job *j = m->slot[i];
        if (!j || j == &tombstone)
            continue;
        const char *k = key_of(j, idem);
        size_t h = (size_t)jobs_hash(k, strlen(k)) & (cap - 1);
        while (slot[h])
            h = (h + 1) & (cap - 1);
        slot[h] = j;
    }
    ms_free(m->slot);
    m->slot = slot;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

static job **map_find(const map *m, const char *key, int idem) {
    if (!m->cap)
        return NULL;
    size_t h = (size_t)jobs_hash(key, strlen(key)) & (m->cap - 1);
    for (;;) {
        job *j = m->slot[h];
        if (!j)
            return NULL;
        if (j != &tombstone && strcmp(key_of(j, idem), key) == 0)
            return &m->slot[h];
        h = (h + 1) & (m->cap - 1);
    }
}

static int map_put(map *m, job *j, int idem) {
    if ((m->used + 1) * 2 > m->cap && map_rehash(m, idem))
        return -1;
    const char *k = key_of(j, idem);
    size_t h = (size_t)jobs_hash(k, strlen(k)) & (m->cap - 1);
    while (m->slot[h] && m->slot[h] != &tombstone)
        h = (h + 1) & (m->cap - 1);
    if (!m->slot[h])
        m->used++;
    m->slot[h] = j;
    m->live++;
    return 0;
}

/* Remove j's entry (if it is j's). */
static void map_del(map *m, const char *key, const job *j, int idem) {
    job **s = key ? map_find(m, key, idem) : NULL;
    if (s && *s == j) {
        *s = &tombstone;
        m->live--;
    }
}

jobs *jobs_new(void) {
    return ms_calloc(1, sizeof(jobs));
}

void job_free(job *j) {
    if (!j)
        return;
    job_release_params(j);
    ms_free(j->label);
    ms_free(j->idem_key);
    ms_free(j->progress);
    ms_free(j->error);
    ms_free(j->result);
    for (size_t i = 0; i < j->nev; i++)
        ms_free(j->ev[i].data);
    ms_free(j->ev);
    ms_free(j);
}

void jobs_free(jobs *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        job_free(t->all[i]);
    ms_free(t->all);
    ms_free(t->by_id.slot);
    ms_free(t->by_key.slot);
    ms_free(t);
}

/* Insert j at the end of `all` (its id is the largest so far). */
static job *insert(jobs *t, job *j) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        job **all = ms_realloc(t->all, cap, sizeof *all);
        if (!all)
            return NULL;
        t->all = all;
        t->cap = cap;
    }
    if (map_put(&t->by_id, j, 0))
        return NULL;
    t->all[t->n++] = j;
    j->heap_at = (size_t)-1;
    j->first_seq = 1;
    j->order = ++t->order;
    t->nstatus[j->status]++;
    return j;
}

job *jobs_create(jobs *t, const ms_kind *k, void *params, const char *label, int priority,
                 double timeout_s, int64_t now_ms) {
    job *j = ms_calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (label && !(j->label = ms_strdup(label))) {
        ms_free(j);
        return NULL;
    }
    /* Ids sort like creation times: milliseconds then a counter. */
    uint64_t id = (uint64_t)now_ms << 12;
    if (id <= t->last_id)
        id = t->last_id + 1;
    snprintf(j->id, sizeof j->id, "%016llx", (unsigned long long)id);
    j->kind = k;
    j->priority = priority;
    j->timeout_s = timeout_s;
    j->status = JOB_QUEUED;
    j->created_ms = now_ms;
    if (!insert(t, j)) {
        ms_free(j->label);
        ms_free(j);
        return NULL;
    }
    t->last_id = id;
    j->params = params;
    return j;
}

job *jobs_restore(jobs *t, const char *id, const ms_kind *k, job_status st, int64_t created_ms) {
    job *j = ms_calloc(1, sizeof *j);
    if (!j)
        return NULL;
    snprintf(j->id, sizeof j->id, "%s", id);
    j->kind = k;
    j->status = st;
    j->created_ms = created_ms;
    if (!insert(t, j)) {
        ms_free(j);
        return NULL;
    }
    unsigned long long v = 0;
    if (sscanf(id, "%llx", &v) == 1 && v > t->last_id)
        t->last_id = v;
    return j;
}

/* Take j out of the maps and the counts (not out of `all`). */
static void unlink_job(jobs *t, job *j) {
    map_del(&t->by_id, j->id, j, 0);
    map_del(&t->by_key, j->idem_key, j, 1);
    t->nstatus[j->status]--;
}

void jobs_discard(jobs *t, job *j) {
    unlink_job(t, j);
    for (size_t i = t->n; i-- > 0;)
        if (t->all[i] == j) {
            memmove(&t->all[i], &t->all[i + 1], (t->n - i - 1) * sizeof *t->all);
            t->n--;
            break;
        }
    job_free(j);
}

int job_id_valid(const char *s) {
    size_t n = strspn(s, "0123456789abcdef");
    return n == 16 && s[n] == '\0';
}

job *jobs_find(jobs *t, const char *id) {
    job **s = map_find(&t->by_id, id, 0);
    return s ? *s : NULL;
}

job *jobs_find_idem(jobs *t, const char *key) {
    job **s = map_find(&t->by_key, key, 1);
    return s ? *s : NULL;
}

int jobs_set_idem(jobs *t, job *j, const char *key, uint64_t body_hash) {
    char *k = ms_strdup(key);
    if (!k)
        return -1;
    map_del(&t->by_key, j->idem_key, j, 1);
    ms_free(j->idem_key);
    j->idem_key = k;
    j->body_hash = body_hash;
    return map_put(&t->by_key, j, 1);
}

size_t jobs_count(const jobs *t) {
    return t->n;
}

void jobs_set_status(jobs *t, job *j, job_status st) {
    t->nstatus[j->status]--;
    t->nstatus[st]++;
    j->status = st;
}

size_t jobs_in_status(const jobs *t, job_status st) {
    return t->nstatus[st];
}

size_t jobs_finished(const jobs *t) {
    return t->nstatus[JOB_SUCCEEDED] + t->nstatus[JOB_FAILED] + t->nstatus[JOB_CANCELLED];
}

size_t jobs_stragglers(const jobs *t) {
    if (!t->older[0])
        return 0;
    size_t lo = 0, hi = t->n; /* the first id above older */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(t->all[mid]->id, t->older) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *jobs_older(const jobs *t) {
    return t->older;
}

void jobs_set_older(jobs *t, const char *id) {
    snprintf(t->older, sizeof t->older, "%s", id);
}

size_t jobs_evict(jobs *t, size_t keep, void (*on_evict)(job *j, void *user), void *user) {
    size_t slack = keep / 16;
    int batch = jobs_finished(t) > keep + slack;
    size_t i = 0, w = 0, gone = 0;
    /* Stragglers sit at the front (the oldest ids); so do the oldest
     * finished jobs. Walk only as far as there is something to do. */
    for (; i < t->n; i++) {
        job *j = t->all[i];
        int straggler = t->older[0] && strcmp(j->id, t->older) <= 0;
        if (!straggler && !(batch && jobs_finished(t) > keep))
            break;
        if (job_terminal(j) && !job_pinned(j)) {
            if (!straggler)
                snprintf(t->older, sizeof t->older, "%s", j->id);
            if (on_evict)
                on_evict(j, user);
            unlink_job(t, j);
            job_free(j);
            gone++;
        } else {
            t->all[w++] = j;
        }
    }
    if (gone) {
        memmove(&t->all[w], &t->all[i], (t->n - i) * sizeof *t->all);
        t->n -= gone;
    }
    return gone;
}

/* ---- events ---------------------------------------------------------- */

static const char *const ev_names[] = {"status", "progress", "end"};

const char *event_type_name(event_type t) {
    return ev_names[t];
}

int event_type_parse(const char *s) {
    for (int i = 0; i < 3; i++)
        if (strcmp(ev_names[i], s) == 0)
            return i;
    return -1;
}

int64_t job_event_add(job *j, event_type type, const char *data, size_t len) {
    if (j->nev == j->cap_ev) {
        size_t cap = j->cap_ev ? j->cap_ev * 2 : 8;
        job_event *ev = ms_realloc(j->ev, cap, sizeof *ev);
        if (!ev)
            return 0;
        j->ev = ev;
        j->cap_ev = cap;
    }
    char *d = ms_malloc(len + 1, 1);
    if (!d)
        return 0;
    memcpy(d, data, len);
    d[len] = '\0';
    j->ev[j->nev].type = type;
    j->ev[j->nev].data = d;
    j->ev[j->nev].len = len;
    j->nev++;
    return job_last_seq(j);
}

void job_events_forget(job *j, int64_t through) {
    size_t k = 0;
    while (k < j->nev && j->first_seq + (int64_t)k <= through)
        ms_free(j->ev[k++].data);
    if (!k)
        return;
    memmove(j->ev, j->ev + k, (j->nev - k) * sizeof *j->ev);
    j->nev -= k;
    j->first_seq += (int64_t)k;
    if (j->nev == 0) { /* a finished job's log: give the array back */
        ms_free(j->ev);
        j->ev = NULL;
        j->cap_ev = 0;
    }
}

int64_t job_last_seq(const job *j) {
    return j->first_seq + (int64_t)j->nev - 1;
}

const job_event *job_event_at(const job *j, int64_t seq) {
    if (seq < j->first_seq || seq > job_last_seq(j))
        return NULL;
    return &j->ev[seq - j->first_seq];
}

/* ---- job objects ----------------------------------------------------- */

static const char *const status_names[] = {"queued", "running", "succeeded", "failed", "cancelled"};

const char *job_status_name(job_status s) {
    return status_names[s];
}

int job_status_parse(const char *s) {
    for (int i = 0; i < JOB_NSTATUS; i++)
        if (strcmp(status_names[i], s) == 0)
            return i;
    return -1;
}

int job_set_progress(job *j, const char *json, size_t len) {
    char *p = ms_malloc(len + 1, 1);
    if (!p)
        return -1;
    memcpy(p, json, len);
    p[len] = '\0';
    ms_free(j->progress);
    j->progress = p;
    return 0;
}

void job_release_params(job *j) {
    if (j->params) {
        ms_params_free(j->kind->params, j->params);
        ms_free(j->params);
        j->params = NULL;
    }
}

void write_time(sbuf *b, int64_t ms) {
    if (!ms) {
        sbuf_puts(b, "null");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    sbuf_printf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

void job_write(sbuf *b, const job *j) {
    sbuf_puts(b, "{\"id\":\"");
    sbuf_puts(b, j->id);
    sbuf_puts(b, "\",\"kind\":");
    sbuf_json_str(b, j->kind ? j->kind->name : "?");
    sbuf_puts(b, ",\"status\":\"");
    sbuf_puts(b, status_names[j->status]);
    sbuf_puts(b, "\",\"label\":");
    sbuf_json_str(b, j->label);
    sbuf_printf(b, ",\"priority\":%d,\"timeout_s\":", j->priority);
    if (j->timeout_s > 0)
        sbuf_json_num(b, j->timeout_s);
    else
        sbuf_puts(b, "null");
    sbuf_puts(b, ",\"created_at\":");
    write_time(b, j->created_ms);
    sbuf_puts(b, ",\"started_at\":");
    write_time(b, j->started_ms);
    sbuf_puts(b, ",\"finished_at\":");
    write_time(b, j->finished_ms);
    sbuf_printf(b, ",\"attempts\":%d,\"progress\":", j->attempts);
    sbuf_puts(b, j->progress ? j->progress : "{\"iteration\":0,\"fraction\":null,\"metrics\":{}}");
    if (j->status == JOB_FAILED && j->error) {
        sbuf_puts(b, ",\"error\":");
        sbuf_puts(b, j->error);
    }
    sbuf_puts(b, ",\"links\":{\"self\":\"/v1/jobs/");
    sbuf_puts(b, j->id);
    sbuf_puts(b, "\",\"events\":\"/v1/jobs/");
    sbuf_puts(b, j->id);
    sbuf_puts(b, "/events\",\"result\":\"/v1/jobs/");
    sbuf_puts(b, j->id);
    sbuf_puts(b, "/result\"}}");
}

size_t jobs_list(jobs *t, const char *cursor, int status, const char *kind, size_t limit, job **out,
                 int *more) {
    size_t i = t->n, n = 0;
    if (cursor) {
        /* Ids are in order: binary search for the first id >= cursor. */
        size_t lo = 0, hi = t->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(t->all[mid]->id, cursor) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
    }
    *more = 0;
    while (i-- > 0) {
        job *j = t->all[i];
        if ((status >= 0 && (int)j->status != status) ||
            (kind && (!j->kind || strcmp(j->kind->name, kind) != 0)))
            continue;
        if (n == limit) {
            *more = 1;
            break;
        }
        out[n++] = j;
    }
    return n;
}
