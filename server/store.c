/* store.c — SQLite persistence of jobs, params, results and events.
 * See store.h.
 *
 * WAL with synchronous=NORMAL: a process crash (kill -9) loses no committed
 * transaction; an operating system crash may lose the last few, which is
 * the documented trade for a thousand submissions a second.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
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
    Q_COUNT
};

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
};

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
    " type TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY(job_id, seq)) WITHOUT ROWID;";

struct store {
    int lock_fd; /* flock on PATH.lock: one daemon per store */
    sqlite3 *db;
    sqlite3_stmt *q[Q_COUNT];
    int depth; /* nesting of store_begin */
    int failed;
};

static int exec(store *s, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        /* A COMMIT that fails (a full disk, a read-only file system) makes
         * the daemon unready until a later one succeeds. */
        s->failed = 1;
        fprintf(stderr,
                "{\"level\":\"error\",\"msg\":\"store write failed\",\"sql\":\"%.40s\","
                "\"error\":\"%s\"}\n",
                sql, msg ? msg : "?");
        sqlite3_free(msg);
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
    if (strcmp(path, ":memory:") != 0) {
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
        snprintf(err, cap, "cannot initialise %s: %s", path, sqlite3_errmsg(s->db));
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
    sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    ms_free(s);
}

int store_begin(store *s) {
    if (s->depth++ == 0)
        return exec(s, "BEGIN");
    return 0;
}

int store_commit(store *s) {
    if (--s->depth == 0) {
        if (exec(s, "COMMIT")) {
            /* SQLite may leave the transaction open after a failed COMMIT
             * (SQLITE_BUSY): end it, or every later BEGIN would fail. */
            if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        s->failed = 0;
    }
    return 0;
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

static int run(store *s, sqlite3_stmt *q) {
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_DONE) {
        s->failed = 1;
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"store write failed\",\"error\":\"%s\"}\n",
                sqlite3_errmsg(s->db));
        return -1;
    }
    if (s->depth == 0) /* inside a transaction, the COMMIT decides */
        s->failed = 0;
    return 0;
}

int store_insert_job(store *s, const store_job *j, const char *body, size_t len) {
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
    if (store_begin(s))
        return -1;
    int rc = run(s, q);
    if (rc == 0) {
        q = s->q[Q_INSERT_PARAMS];
        bind_text(q, 1, j->id);
        sqlite3_bind_blob(q, 2, body, (int)len, SQLITE_STATIC);
        rc = run(s, q);
    }
    if (rc && s->depth == 1) {
        exec(s, "ROLLBACK");
        s->depth = 0;
        return -1;
    }
    return store_commit(s) || rc ? -1 : 0;
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

int store_add_event(store *s, const char *job_id, int64_t seq, const char *type, const char *data) {
    sqlite3_stmt *q = s->q[Q_EVENT];
    bind_text(q, 1, job_id);
    sqlite3_bind_int64(q, 2, seq);
    bind_text(q, 3, type);
    bind_text(q, 4, data);
    return run(s, q);
}

int store_put_result(store *s, const char *job_id, const char *json, size_t len) {
    sqlite3_stmt *q = s->q[Q_RESULT];
    bind_text(q, 1, job_id);
    sqlite3_bind_text(q, 2, json, (int)len, SQLITE_STATIC);
    return run(s, q);
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

static const char *col(sqlite3_stmt *q, int i) {
    return (const char *)sqlite3_column_text(q, i);
}

int store_load(store *s, store_job_fn on_job, store_event_fn on_event, void *user) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, kind, label, priority, timeout_s, status, created_at,"
                           " started_at, finished_at, idem_key, body_hash, progress, error,"
                           " attempts, (SELECT max(seq) FROM events e WHERE e.job_id = j.id)"
                           " FROM jobs j ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(q) == SQLITE_ROW) {
        store_job j = {col(q, 0),
                       col(q, 1),
                       col(q, 2),
                       col(q, 5),
                       col(q, 9),
                       col(q, 11),
                       col(q, 12),
                       sqlite3_column_int(q, 3),
                       sqlite3_column_int(q, 13),
                       sqlite3_column_double(q, 4),
                       sqlite3_column_int64(q, 6),
                       sqlite3_column_int64(q, 7),
                       sqlite3_column_int64(q, 8),
                       (uint64_t)sqlite3_column_int64(q, 10),
                       sqlite3_column_int64(q, 14)};
        on_job(&j, user);
    }
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(s->db, "SELECT job_id, seq, type, data FROM events ORDER BY job_id, seq",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    while (sqlite3_step(q) == SQLITE_ROW)
        on_event(col(q, 0), sqlite3_column_int64(q, 1), col(q, 2), col(q, 3), user);
    sqlite3_finalize(q);
    return 0;
}

int store_ok(store *s) {
    return s && !s->failed;
}
