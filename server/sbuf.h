/* sbuf.h — a growable text buffer with JSON writing helpers.
 *
 * What it is for: building HTTP bodies, JSON documents, log lines and SQL
 * values without a node per value (results hold large dense matrices). All
 * memory goes through ms_alloc, so fault-injection tests reach every path.
 *
 * What it is not for: parsing (cJSON does that, in codec.c).
 *
 * Errors are sticky: after an allocation failure every append is a no-op and
 * sbuf_oom() is true; check once at the end. Not thread-safe (one owner).
 */
#ifndef SBUF_H
#define SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *s;    /* NUL-terminated when len > 0 or after sbuf_cstr */
    size_t len; /* bytes written, not counting the NUL */
    size_t cap;
    int oom;
} sbuf;

#define SBUF_INIT \
    { NULL, 0, 0, 0 }

void sbuf_init(sbuf *b);
/* Release the buffer; b is left empty and reusable. */
void sbuf_free(sbuf *b);
/* Forget the contents, keep the capacity (and clear the error). */
void sbuf_reset(sbuf *b);
/* Make room for n more bytes; 0 on success, -1 on allocation failure. */
int sbuf_reserve(sbuf *b, size_t n);
void sbuf_putn(sbuf *b, const char *s, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_putc(sbuf *b, char c);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal with quotes; NULL writes null. Invalid UTF-8 bytes
 * are replaced by U+FFFD so that the output is always valid JSON. */
void sbuf_json_str(sbuf *b, const char *s);
/* A JSON number, the shortest form that round-trips the double
 * (ms_fmt_double); NaN and ±Inf write null. */
void sbuf_json_num(sbuf *b, double x);
void sbuf_json_int(sbuf *b, long long x);
/* The text so far, NUL-terminated (never NULL: "" when empty or oom). */
const char *sbuf_cstr(sbuf *b);
/* Hand the text over: a NUL-terminated string to release with ms_free, or
 * NULL after an allocation failure. b is left empty. */
char *sbuf_take(sbuf *b);
int sbuf_oom(const sbuf *b);

#endif
