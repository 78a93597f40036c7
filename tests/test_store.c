/* test_store.c — the SQLite store: a job, its body, events and result
 * written, read back, and replayed by store_load after a reopen; updates;
 * a file that is not a database. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ms_alloc.h"
#include "store.h"

typedef struct seen {
    int jobs, events;
    char status[16], progress[64], idem[16];
    int attempts;
    int64_t last_seq, started;
    uint64_t hash;
    char ev[8][64];
} seen;

static void on_job(const store_job *j, void *user) {
    seen *s = user;
    s->jobs++;
    snprintf(s->status, sizeof s->status, "%s", j->status);
    snprintf(s->progress, sizeof s->progress, "%s", j->progress ? j->progress : "");
    snprintf(s->idem, sizeof s->idem, "%s", j->idem_key ? j->idem_key : "");
    s->attempts = j->attempts;
    s->last_seq = j->last_seq;
    s->started = j->started_ms;
    s->hash = j->body_hash;
}

static void on_event(const char *id, int64_t seq, const char *type, const char *data, void *user) {
    seen *s = user;
    assert_string_equal(id, "00000000000000aa");
    if (s->events < 8)
        snprintf(s->ev[s->events], sizeof s->ev[0], "%lld %s %s", (long long)seq, type, data);
    s->events++;
}

static void test_round_trip(void **state) {
    (void)state;
    char path[] = "/tmp/measured-store-test-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    char err[256];
    store *s = store_open(path, err, sizeof err);
    assert_non_null(s);
    store_job j = {
        "00000000000000aa",    "ot", "lbl", "queued", "key-1", NULL, NULL, 7, 0, 2.5, 1000, 0, 0,
        0xfedcba9876543210ULL, 0};
    const char body[] = "{\"kind\":\"ot\"}";
    assert_int_equal(store_insert_job(s, &j, body, sizeof body - 1), 0);
    /* The same id twice is refused (primary key) and leaves no trace. */
    assert_int_not_equal(store_insert_job(s, &j, body, sizeof body - 1), 0);
    assert_int_equal(store_add_event(s, j.id, 1, "status", "{\"status\":\"queued\"}", 19), 0);
    store_begin(s);
    j.status = "succeeded";
    j.started_ms = 1500;
    j.finished_ms = 2000;
    j.attempts = 1;
    j.progress = "{\"iteration\":3}";
    assert_int_equal(store_update_job(s, &j), 0);
    assert_int_equal(store_add_event(s, j.id, 2, "end", "{\"status\":\"succeeded\"}", 22), 0);
    assert_int_equal(store_put_result(s, j.id, "{\"x\":1}", 7), 0);
    assert_int_equal(store_commit(s), 0);
    assert_true(store_ok(s));
    store_close(s);
    /* Reopen: everything is there. */
    s = store_open(path, err, sizeof err);
    assert_non_null(s);
    size_t len = 0;
    char *b = store_get_body(s, j.id, &len);
    assert_int_equal(len, sizeof body - 1);
    assert_memory_equal(b, body, len);
    ms_free(b);
    char *r = store_get_result(s, j.id, &len);
    assert_string_equal(r, "{\"x\":1}");
    ms_free(r);
    assert_null(store_get_result(s, "nope", &len));
    seen sn;
    memset(&sn, 0, sizeof sn);
    char older[24];
    assert_int_equal(store_load(s, 10, older, sizeof older, on_job, &sn), 1);
    assert_string_equal(older, "");
    assert_int_equal(store_events(s, j.id, 1, 100, 10, on_event, &sn), 2);
    assert_int_equal(sn.jobs, 1);
    assert_string_equal(sn.status, "succeeded");
    assert_string_equal(sn.progress, "{\"iteration\":3}");
    assert_string_equal(sn.idem, "key-1");
    assert_int_equal(sn.attempts, 1);
    assert_int_equal(sn.last_seq, 2);
    assert_int_equal(sn.started, 1500);
    assert_true(sn.hash == 0xfedcba9876543210ULL);
    assert_int_equal(sn.events, 2);
    assert_string_equal(sn.ev[0], "1 status {\"status\":\"queued\"}");
    assert_string_equal(sn.ev[1], "2 end {\"status\":\"succeeded\"}");
    /* One daemon per store: a second open is refused while the first holds it. */
    assert_null(store_open(path, err, sizeof err));
    assert_non_null(strstr(err, "in use"));
    store_close(s);
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s.lock", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static void test_memory_and_bad_file(void **state) {
    (void)state;
    char err[256];
    store *s = store_open(":memory:", err, sizeof err);
    assert_non_null(s);
    assert_true(store_ok(s));
    store_close(s);
    char path[] = "/tmp/measured-store-bad-XXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, "this is not a database, not at all, really not.", 47) == 47);
    close(fd);
    assert_null(store_open(path, err, sizeof err));
    assert_non_null(strstr(err, path));
    unlink(path);
    char lock[300];
    snprintf(lock, sizeof lock, "%s.lock", path);
    unlink(lock);
    assert_null(store_open("/nonexistent-dir/x/y.db", err, sizeof err));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_memory_and_bad_file),
    };
    return TEST_RUN(tests, NULL, NULL);
}
