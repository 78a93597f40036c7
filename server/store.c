/* store.c — SQLite persistence of jobs, params, results and events.
 * See store.h.
 *
 * WAL with synchronous=NORMAL: a process crash (kill -9) loses no committed
 * transaction; an operating system crash may lose the last few, which is
 * the documented trade for a thousand submissions a second.
 *
 * A write that fails (disk full, file size limit, read-only file, I/O
 * error) is reported to the caller, with SQLite's message kept for
 * store_error; inside a transaction it dooms the transaction, which
 * store_commit rolls back as a whole. What to do about it (log, retry
 * later, answer 503) is the daemon's business: this file prints nothing.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "ms_alloc.h"

enum {
    Q_INSERT_JOB,
    Q_INSERT_PARAMS,
    Q_UPDATE_JOB,
    Q_EVENT,
    Q_RESULT,
    Q_GET_RESULT,
    Q_GET_BODY,
    Q_GET_JOB,
    Q_FIND_IDEM,
    Q_EVENTS,
    Q_DEL_JOB,
    Q_DEL_PARAMS,
    Q_DEL_RESULT,
    Q_DEL_EVENTS,
    Q_PROBE,
    Q_COUNT
};

/* The columns every read of a job row selects, in store_job order. */
#define JOB_COLS                                                                         \
    "id, kind, label, status, idem_key, progress, error, priority, attempts, timeout_s," \
    " created_at, started_at, finished_at, body_hash,"                                   \
    " (SELECT max(seq) FROM events e WHERE e.job_id = j.id)"

static const char *const queries[Q_COUNT] = {
    "INSERT INTO jobs(id, kind, label, priority, timeout_s, status, created_at, started_at,"
    " finished_at, idem_key, body_hash, progress, error, attempts)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    "INSERT INTO params(job_id, body) VALUES (?1, ?2)",
    "UPDATE jobs SET status = ?2, started_at = ?3, finished_at = ?4, progress = ?5, error = ?6,"
    " attempts = ?7 WHERE id = ?1",
    "INSERT OR REPLACE INTO events(job_id, seq, type, data) VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR REPLACE INTO results(job_id, result) VALUES (?1, ?2)",
    "SELECT result FROM results WHERE job_id = ?1",
    "SELECT body FROM params WHERE job_id = ?1",
    "SELECT " JOB_COLS " FROM jobs j WHERE id = ?1",
    "SELECT " JOB_COLS " FROM jobs j WHERE idem_key = ?1 ORDER BY id LIMIT 1",
    "SELECT seq, type, data FROM events WHERE job_id = ?1 AND seq >= ?2 AND seq <= ?3"
    " ORDER BY seq LIMIT ?4",
    "DELETE FROM jobs WHERE id = ?1",
    "DELETE FROM params WHERE job_id = ?1",
    "DELETE FROM results WHERE job_id = ?1",
    "DELETE FROM events WHERE job_id = ?1",
    "INSERT OR REPLACE INTO probe(k, t) VALUES (1, ?1)",
};

/* Listing uses one of 16 statements (with or without each of its four
 * conditions), prepared on first use, so that SQLite picks an index for
 * each combination. */
enum { L_BEFORE = 1, L_UPTO = 2, L_STATUS = 4, L_KIND = 8, L_VARIANTS = 16 };

/* Secondary indexes: listing by status or kind newest first, idempotency
 * keys of jobs no longer in memory. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT,"
    " priority INTEGER NOT NULL, timeout_s REAL, status TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, idem_key TEXT,"
    " body_hash INTEGER, progress TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS params(job_id TEXT PRIMARY KEY, body BLOB NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS results(job_id TEXT PRIMARY KEY, result TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS events(job_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " type TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY(job_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS probe(k INTEGER PRIMARY KEY, t INTEGER);"
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, id);"
    "CREATE INDEX IF NOT EXISTS jobs_kind ON jobs(kind, id);"
    "CREATE INDEX IF NOT EXISTS jobs_idem ON jobs(idem_key) WHERE idem_key IS NOT NULL;";

struct store {
    int lock_fd; /* flock on PATH.lock: one daemon per store */
    int memory;  /* opened as ":memory:" */
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    sqlite3_stmt *list[L_VARIANTS];
    int depth;     /* nesting of store_begin */
    int in_tx;     /* the outermost BEGIN succeeded */
    int doomed;    /* a write failed inside the current transaction */
    int failed;    /* the last write failed */
    char err[256]; /* SQLite's message for the last failure */
    int err_code;
};

static void remember_error(store *s) {
    snprintf(s->err, sizeof s->err, "%s", s->db ? sqlite3_errmsg(s->db) : "no database");
    s->err_code = s->db ? sqlite3_extended_errcode(s->db) : 0;
}

static int exec(store *s, const char *sql) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        remember_error(s);
        return -1;
    }
    return 0;
}

store *store_open(const char *path, char *err, size_t cap) {
    store *s = ms_calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    s->lock_fd = -1;
    s->memory = strcmp(path, ":memory:") == 0;
    if (!s->memory) {
        /* Two daemons on one store would both re-run its interrupted jobs. */
        char lock[4200];
        snprintf(lock, sizeof lock, "%s.lock", path);
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->lock_fd < 0) {
            snprintf(err, cap, "cannot create %s: %s", lock, strerror(errno));
            store_close(s);
            return NULL;
        }
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            snprintf(err, cap, "%s is in use by another process (%s is locked)", path, lock);
            store_close(s);
            return NULL;
        }
    }
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, cap, "cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (exec(s, "PRAGMA journal_mode=WAL") || exec(s, "PRAGMA synchronous=NORMAL") ||
        exec(s, "PRAGMA foreign_keys=OFF") || exec(s, schema)) {
        snprintf(err, cap, "cannot initialise %s: %s", path, s->err);
        store_close(s);
        return NULL;
    }
    for (int i = 0; i < Q_COUNT; i++)
        if (sqlite3_prepare_v2(s->db, queries[i], -1, &s->q[i], NULL) != SQLITE_OK) {
            snprintf(err, cap, "cannot prepare: %s", sqlite3_errmsg(s->db));
            store_close(s);
            return NULL;
        }
    return s;
}

void store_close(store *s) {
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->q[i]);
    for (int i = 0; i < L_VARIANTS; i++)
        sqlite3_finalize(s->list[i]);
    sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    ms_free(s);
}

int store_is_memory(const store *s) {
    return s->memory;
}

int store_ok(const store *s) {
    return s && !s->failed;
}

const char *store_error(const store *s, int *code) {
    if (code)
        *code = s->err_code;
    return s->err;
}

static void write_failed(store *s) {
    remember_error(s);
    s->failed = 1;
}

int store_begin(store *s) {
    if (s->depth++ > 0)
        return s->doomed ? -1 : 0;
    s->doomed = 0;
    s->in_tx = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    if (!s->in_tx) {
        write_failed(s);
        s->doomed = 1;
        return -1;
    }
    return 0;
}

int store_commit(store *s) {
    if (s->depth == 0)
        return -1;
    if (--s->depth > 0)
        return s->doomed ? -1 : 0;
    if (!s->in_tx)
        return -1;
    s->in_tx = 0;
    if (!s->doomed && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
        s->failed = 0;
        return 0;
    }
    if (!s->doomed)
        write_failed(s);
    /* A failed COMMIT may leave the transaction open (SQLITE_BUSY, FULL):
     * end it, so that nothing of it is written later by accident. */
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->doomed = 0;
    return -1;
}

static void bind_text(sqlite3_stmt *q, int i, const char *t) {
    if (t)
        sqlite3_bind_text(q, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static void bind_time(sqlite3_stmt *q, int i, int64_t t) {
    if (t)
        sqlite3_bind_int64(q, i, t);
    else
        sqlite3_bind_null(q, i);
}

/* Run a write statement. Inside a transaction a failure dooms it; outside,
 * the statement was its own transaction. */
static int run(store *s, sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE && !s->doomed)
        write_failed(s); /* before the reset, which would clear the message */
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_DONE) {
        if (s->depth > 0)
            s->doomed = 1;
        return -1;
    }
    if (s->depth == 0)
        s->failed = 0;
    return 0;
}

int store_insert_job(store *s, const store_job *j, const char *body, size_t len) {
    store_begin(s);
    sqlite3_stmt *q = s->q[Q_INSERT_JOB];
    bind_text(q, 1, j->id);
    bind_text(q, 2, j->kind);
    bind_text(q, 3, j->label);
    sqlite3_bind_int(q, 4, j->priority);
    if (j->timeout_s > 0)
        sqlite3_bind_double(q, 5, j->timeout_s);
    bind_text(q, 6, j->status);
    sqlite3_bind_int64(q, 7, j->created_ms);
    bind_time(q, 8, j->started_ms);
    bind_time(q, 9, j->finished_ms);
    bind_text(q, 10, j->idem_key);
    sqlite3_bind_int64(q, 11, (int64_t)j->body_hash);
    bind_text(q, 12, j->progress);
    bind_text(q, 13, j->error);
    sqlite3_bind_int(q, 14, j->attempts);
    if (run(s, q) == 0) {
        q = s->q[Q_INSERT_PARAMS];
        bind_text(q, 1, j->id);
        sqlite3_bind_blob(q, 2, body, (int)len, SQLITE_STATIC);
        run(s, q);
    }
    return store_commit(s);
}

int store_update_job(store *s, const store_job *j) {
    sqlite3_stmt *q = s->q[Q_UPDATE_JOB];
    bind_text(q, 1, j->id);
    bind_text(q, 2, j->status);
    bind_time(q, 3, j->started_ms);
    bind_time(q, 4, j->finished_ms);
    bind_text(q, 5, j->progress);
    bind_text(q, 6, j->error);
    sqlite3_bind_int(q, 7, j->attempts);
    return run(s, q);
}

int store_add_event(store *s, const char *job_id, int64_t seq, const char *type, const char *data,
                    size_t len) {
    sqlite3_stmt *q = s->q[Q_EVENT];
    bind_text(q, 1, job_id);
    sqlite3_bind_int64(q, 2, seq);
    bind_text(q, 3, type);
    sqlite3_bind_text(q, 4, data, (int)len, SQLITE_STATIC);
    return run(s, q);
}

int store_put_result(store *s, const char *job_id, const char *json, size_t len) {
    sqlite3_stmt *q = s->q[Q_RESULT];
    bind_text(q, 1, job_id);
    sqlite3_bind_text(q, 2, json, (int)len, SQLITE_STATIC);
    return run(s, q);
}

int store_delete_job(store *s, const char *job_id) {
    store_begin(s);
    for (int i = Q_DEL_JOB; i <= Q_DEL_EVENTS; i++) {
        bind_text(s->q[i], 1, job_id);
        if (run(s, s->q[i]))
            break;
    }
    return store_commit(s);
}

int store_probe(store *s) {
    sqlite3_bind_int64(s->q[Q_PROBE], 1, (int64_t)time(NULL));
    return run(s, s->q[Q_PROBE]);
}

static char *get_blob(store *s, int which, const char *job_id, size_t *len) {
    sqlite3_stmt *q = s->q[which];
    bind_text(q, 1, job_id);
    char *out = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(q, 0);
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        out = ms_malloc(n + 1, 1);
        if (out) {
            if (n)
                memcpy(out, p, n);
            out[n] = '\0';
            *len = n;
        }
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return out;
}

char *store_get_result(store *s, const char *job_id, size_t *len) {
    return get_blob(s, Q_GET_RESULT, job_id, len);
}

char *store_get_body(store *s, const char *job_id, size_t *len) {
    return get_blob(s, Q_GET_BODY, job_id, len);
}

/* ---- reads of job rows ------------------------------------------------ */

static const char *col(sqlite3_stmt *q, int i) {
    return (const char *)sqlite3_column_text(q, i);
}

/* Step q to the end, handing each row (JOB_COLS) to fn; resets q. */
static int each_job(sqlite3_stmt *q, store_job_fn fn, void *user) {
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        store_job j = {col(q, 0),
                       col(q, 1),
                       col(q, 2),
                       col(q, 3),
                       col(q, 4),
                       col(q, 5),
                       col(q, 6),
                       sqlite3_column_int(q, 7),
                       sqlite3_column_int(q, 8),
                       sqlite3_column_double(q, 9),
                       sqlite3_column_int64(q, 10),
                       sqlite3_column_int64(q, 11),
                       sqlite3_column_int64(q, 12),
                       (uint64_t)sqlite3_column_int64(q, 13),
                       sqlite3_column_int64(q, 14)};
        fn(&j, user);
        n++;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? n : -1;
}

int store_get_job(store *s, const char *id, store_job_fn fn, void *user) {
    bind_text(s->q[Q_GET_JOB], 1, id);
    return each_job(s->q[Q_GET_JOB], fn, user);
}

int store_find_idem(store *s, const char *key, store_job_fn fn, void *user) {
    bind_text(s->q[Q_FIND_IDEM], 1, key);
    return each_job(s->q[Q_FIND_IDEM], fn, user);
}

static sqlite3_stmt *list_stmt(store *s, int v) {
    if (s->list[v])
        return s->list[v];
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " JOB_COLS " FROM jobs j WHERE 1%s%s%s%s ORDER BY id DESC LIMIT ?5",
             v & L_BEFORE ? " AND id < ?1" : "", v & L_UPTO ? " AND id <= ?2" : "",
             v & L_STATUS ? " AND status = ?3" : "", v & L_KIND ? " AND kind = ?4" : "");
    if (sqlite3_prepare_v2(s->db, sql, -1, &s->list[v], NULL) != SQLITE_OK)
        s->list[v] = NULL;
    return s->list[v];
}

int store_list(store *s, const char *before, const char *upto, const char *status, const char *kind,
               size_t limit, store_job_fn fn, void *user) {
    int v = (before ? L_BEFORE : 0) | (upto ? L_UPTO : 0) | (status ? L_STATUS : 0) |
            (kind ? L_KIND : 0);
    sqlite3_stmt *q = list_stmt(s, v);
    if (!q)
        return -1;
    bind_text(q, 1, before);
    bind_text(q, 2, upto);
    bind_text(q, 3, status);
    bind_text(q, 4, kind);
    sqlite3_bind_int64(q, 5, (int64_t)limit);
    return each_job(q, fn, user);
}

int store_events(store *s, const char *job_id, int64_t from, int64_t to, size_t limit,
                 store_event_fn fn, void *user) {
    sqlite3_stmt *q = s->q[Q_EVENTS];
    bind_text(q, 1, job_id);
    sqlite3_bind_int64(q, 2, from);
    sqlite3_bind_int64(q, 3, to);
    sqlite3_bind_int64(q, 4, (int64_t)limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        fn(job_id, sqlite3_column_int64(q, 0), col(q, 1), col(q, 2), user);
        n++;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_DONE ? n : -1;
}

int store_load(store *s, size_t retain, char *older, size_t cap, store_job_fn fn, void *user) {
    sqlite3_stmt *q;
    older[0] = '\0';
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id FROM jobs WHERE status NOT IN ('queued', 'running')"
                           " ORDER BY id DESC LIMIT 1 OFFSET ?1",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(q, 1, (int64_t)retain);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && col(q, 0))
        snprintf(older, cap, "%s", col(q, 0));
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    /* Everything above `older`, and the unfinished jobs below it. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " JOB_COLS " FROM jobs j WHERE id > ?1 UNION ALL"
                           " SELECT " JOB_COLS " FROM jobs j WHERE id <= ?1"
                           " AND status IN ('queued', 'running') ORDER BY 1",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(q, 1, older, -1, SQLITE_STATIC);
    int n = each_job(q, fn, user);
    sqlite3_finalize(q);
    return n;
}

int store_count(store *s, store_count_fn fn, void *user) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT kind, status, count(*) FROM jobs GROUP BY kind, status",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        fn(col(q, 0), col(q, 1), sqlite3_column_int64(q, 2), user);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}
