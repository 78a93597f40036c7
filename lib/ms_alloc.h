/* ms_alloc.h — the allocation functions every part of lib/ uses.
 *
 * What it is for: one place where lib/ asks for memory, so that tests can
 * make the n-th allocation fail (SQLite's fault injection) and prove every
 * error path releases what it took.
 *
 * What it is not for: pooling or arenas. In production builds these are
 * plain malloc/calloc/realloc/free. Only a build with -DMS_FAULT_INJECTION
 * (the test build of the library) carries the hook, whose countdown is
 * thread-local so concurrent tests do not disturb each other.
 */
#ifndef MS_ALLOC_H
#define MS_ALLOC_H

#include <stddef.h>

/* malloc(n) with overflow-checked count*size; NULL on failure (or n*size == 0
 * returns a valid unique pointer, as malloc(1) would). */
void *ms_malloc(size_t count, size_t size);
/* Zero-initialised, overflow-checked. */
void *ms_calloc(size_t count, size_t size);
/* realloc with overflow check; on failure p is left untouched. */
void *ms_realloc(void *p, size_t count, size_t size);
/* 64-byte aligned allocation (SIMD loads), freed with ms_free_aligned. */
void *ms_malloc_aligned(size_t count, size_t size);
void ms_free(void *p);
void ms_free_aligned(void *p);
/* strdup through ms_malloc; NULL in, NULL out. */
char *ms_strdup(const char *s);

#ifdef MS_FAULT_INJECTION
/* Make the allocation after `n` more successful ones fail (n = 0: the next
 * one). A negative n disables injection. Thread-local. */
void ms_alloc_fail_after(long n);
/* Allocations made on this thread since the last ms_alloc_fail_after. */
long ms_alloc_count(void);
#endif

#endif
