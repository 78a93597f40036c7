/* persist.c — keeping the store in step with the job table, and what the
 * daemon does when the store refuses writes.
 *
 * What it is for: every change to a job (status, times, progress row,
 * events, result) is made in memory first and then written by
 * srv_persist, all of what the store lacks of that job in one
 * transaction: the store always holds a prefix of each job's history, never
 * half of a change. When the write fails (disk full, file size limit,
 * read-only file, I/O error), the job keeps its changes in memory (events,
 * and a result not yet stored), is marked dirty and pinned in memory, and
 * the maintenance timer retries it every second, oldest first, until the
 * store takes it. Meanwhile /readyz answers 503 and submissions that cannot
 * be stored are answered 503; clients still read everything from memory. If
 * the process dies before the store recovers, the restart finds the last
 * state the store took (a job it holds as queued or running is run again,
 * same params and seed): nothing answered 201 is lost, but a job finished
 * or cancelled during the outage may run again.
 *
 * What it is not for: what changes (daemon.c), eviction (retain.c).
 */
#include "ms_alloc.h"
#include "server.h"

/* In-memory events of a running job beyond this many (and stored) are
 * dropped, keeping the newest half: a stream that needs them reads them
 * back from the store. A finished job keeps none once they are stored. */
#define EV_WINDOW 512

static void row_of(const job *j, store_job *row) {
    store_job r = {j->id,
                   j->kind ? j->kind->name : "?",
                   j->label,
                   job_status_name(j->status),
                   j->idem_key,
                   j->progress,
                   j->error,
                   j->priority,
                   j->attempts,
                   j->timeout_s,
                   j->created_ms,
                   j->started_ms,
                   j->finished_ms,
                   j->body_hash,
                   0};
    *row = r;
}

/* Write what the store lacks of j in one transaction. */
static int write_job(srv *s, job *j) {
    int64_t last = job_last_seq(j);
    store_begin(s->store);
    if (j->result)
        store_put_result(s->store, j->id, j->result, j->result_len);
    if (j->row_dirty) {
        store_job row;
        row_of(j, &row);
        store_update_job(s->store, &row);
    }
    for (int64_t seq = j->saved_seq + 1; seq <= last; seq++) {
        const job_event *ev = job_event_at(j, seq);
        if (ev)
            store_add_event(s->store, j->id, seq, event_type_name(ev->type), ev->data, ev->len);
    }
    if (store_commit(s->store))
        return -1;
    j->saved_seq = last;
    j->row_dirty = 0;
    ms_free(j->result);
    j->result = NULL;
    j->result_len = 0;
    return 0;
}

static void dirty_add(srv *s, job *j) {
    if (j->dirty)
        return;
    j->dirty = 1;
    j->dnext = NULL;
    j->dprev = s->dirty_tail;
    if (s->dirty_tail)
        s->dirty_tail->dnext = j;
    else
        s->dirty = j;
    s->dirty_tail = j;
    s->ndirty++;
}

static void dirty_remove(srv *s, job *j) {
    if (!j->dirty)
        return;
    if (j->dprev)
        j->dprev->dnext = j->dnext;
    else
        s->dirty = j->dnext;
    if (j->dnext)
        j->dnext->dprev = j->dprev;
    else
        s->dirty_tail = j->dprev;
    j->dnext = j->dprev = NULL;
    j->dirty = 0;
    s->ndirty--;
}

/* After a successful write: drop the events the store now has. */
static void trim_events(job *j) {
    if (job_terminal(j))
        job_events_forget(j, j->saved_seq);
    else if (j->nev > EV_WINDOW)
        job_events_forget(j, job_last_seq(j) - EV_WINDOW / 2);
}

void srv_store_check(srv *s) {
    int down = !store_ok(s->store);
    if (down == s->store_down)
        return;
    s->store_down = down;
    if (!down) {
        log_msg(s, 1, "store writes work again", NULL);
        return;
    }
    int code;
    sbuf e = SBUF_INIT;
    sbuf_json_str(&e, store_error(s->store, &code));
    log_msg(s, 3, "store write failed", "\"error\":%s,\"code\":%d", sbuf_cstr(&e), code);
    sbuf_free(&e);
}

int srv_persist(srv *s, job *j) {
    /* A job that already failed to be written waits for the retry timer:
     * retrying its growing backlog on every progress report would cost more
     * than the outage itself. */
    if (j->dirty)
        return -1;
    if (write_job(s, j)) {
        srv_store_check(s);
        dirty_add(s, j);
        log_msg(s, 2, "job kept in memory until the store takes it",
                "\"job\":\"%s\",\"status\":\"%s\"", j->id, job_status_name(j->status));
        return -1;
    }
    srv_store_check(s);
    trim_events(j);
    return 0;
}

size_t srv_retry(srv *s, int all) {
    size_t done = 0;
    for (job *j = s->dirty, *next; j; j = next) {
        next = j->dnext;
        if (write_job(s, j)) {
            if (!all)
                break; /* still failing: try again in a second */
            continue;
        }
        dirty_remove(s, j);
        trim_events(j);
        done++;
    }
    if (done)
        log_msg(s, 1, "store caught up", "\"jobs\":%zu,\"still_pending\":%zu", done, s->ndirty);
    /* Nothing pending but the last write failed (a refused submission):
     * find out whether the store takes writes again. */
    if (!s->dirty && !store_ok(s->store))
        store_probe(s->store);
    srv_store_check(s);
    return s->ndirty;
}
