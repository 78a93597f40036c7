/* test_fuzz_replay.c — every input the fuzzers keep in the repository,
 * replayed through the same checks as the libFuzzer targets
 * (tests/fuzz/fuzz_*.c), under the normal and the ASan builds: the seed
 * corpora (tests/fuzz/corpus/<target>/) and every input that once crashed
 * a target (tests/fuzz/regress/<target>/, one file per crash, named after
 * what it found). A broken invariant aborts, so the suite fails.
 *
 * Run from the repository root (as tests/run.sh does). */
#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REPLAY 1
#include "fuzz/fuzz_expr.c"
#include "fuzz/fuzz_job.c"

#define FUZZ_DIR "tests/fuzz"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Replay every regular file of dir (missing dir: 0 files). */
static size_t replay_dir(const char *dir, fuzz_fn fn) {
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *data = slurp(path, &len);
        fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
        fn(data, len);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

static size_t replay(const char *target, fuzz_fn fn) {
    char dir[256];
    snprintf(dir, sizeof dir, FUZZ_DIR "/corpus/%s", target);
    size_t seeds = replay_dir(dir, fn);
    snprintf(dir, sizeof dir, FUZZ_DIR "/regress/%s", target);
    size_t crashes = replay_dir(dir, fn);
    print_message("%s: %zu seeds, %zu past crashes replayed\n", target, seeds, crashes);
    /* No seeds means the test runs from the wrong directory: say so. */
    if (seeds == 0)
        fail_msg("no seed corpus in " FUZZ_DIR "/corpus/%s (run from the repository root)", target);
    return seeds + crashes;
}

/* The request path: parse, validate, estimate, and run what is accepted. */
static void replay_requests(void **st) {
    (void)st;
    replay("codec", fuzz_job);
    replay("job", fuzz_job);
}

static void replay_expressions(void **st) {
    (void)st;
    replay("expr", fuzz_expr);
}

int main(void) {
    codec_json_hooks_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_requests),
        cmocka_unit_test(replay_expressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
