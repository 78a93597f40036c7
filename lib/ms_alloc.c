/* ms_alloc.c — see ms_alloc.h. */
#include "ms_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef MS_FAULT_INJECTION
/* Test builds only: a per-thread countdown to the next injected failure. */
static _Thread_local long fail_after = -1;
static _Thread_local long count;

void ms_alloc_fail_after(long n) {
    fail_after = n;
    count = 0;
}

long ms_alloc_count(void) {
    return count;
}

static int should_fail(void) {
    count++;
    if (fail_after < 0)
        return 0;
    if (fail_after == 0) {
        fail_after = -1;
        return 1;
    }
    fail_after--;
    return 0;
}
#else
static int should_fail(void) {
    return 0;
}
#endif

static int mul_overflows(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b)
        return 1;
    *out = a * b;
    return 0;
}

void *ms_malloc(size_t count_, size_t size) {
    size_t n;
    if (mul_overflows(count_, size, &n) || should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *ms_calloc(size_t count_, size_t size) {
    size_t n;
    if (mul_overflows(count_, size, &n) || should_fail())
        return NULL;
    return calloc(n ? count_ : 1, n ? size : 1);
}

void *ms_realloc(void *p, size_t count_, size_t size) {
    size_t n;
    if (mul_overflows(count_, size, &n) || should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void *ms_malloc_aligned(size_t count_, size_t size) {
    size_t n;
    if (mul_overflows(count_, size, &n) || n > SIZE_MAX - 64 || should_fail())
        return NULL;
    n = (n + 63) & ~(size_t)63;
    return aligned_alloc(64, n ? n : 64);
}

void ms_free(void *p) {
    free(p);
}
void ms_free_aligned(void *p) {
    free(p);
}

char *ms_strdup(const char *s) {
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = ms_malloc(n, 1);
    if (d)
        memcpy(d, s, n);
    return d;
}
