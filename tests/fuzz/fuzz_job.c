/* fuzz_job.c — libFuzzer target: the request path of fuzz_codec.c, then the
 * accepted job itself for up to 20 ms (init, steps, result, fini; one
 * thread; only jobs the kind estimates below 16 MiB). Validation promises
 * that whatever it accepts runs without a crash, assert or leak: a job that
 * passes it and then misbehaves in init or a step is a bug of the kind's
 * validation or of the solver. A valid result must be valid JSON.
 */
#define FUZZ_JOB 1
#include "fuzz_codec.c"

/* Milliseconds each accepted job runs (a deadline checked between steps). */
#define FUZZ_JOB_MS 20.0

static int fuzz_job(const uint8_t *data, size_t size) {
    return fuzz_request(data, size, FUZZ_JOB_MS);
}

#ifndef FUZZ_REPLAY
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    codec_json_hooks_install();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_job(data, size);
}
#endif
