/* sbuf.c — growable text buffer and JSON writing helpers. See sbuf.h. */
#include "sbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_alloc.h"
#include "ms_err.h"

void sbuf_init(sbuf *b) {
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void sbuf_free(sbuf *b) {
    ms_free(b->s);
    sbuf_init(b);
}

void sbuf_reset(sbuf *b) {
    b->len = 0;
    b->oom = 0;
    if (b->s)
        b->s[0] = '\0';
}

int sbuf_reserve(sbuf *b, size_t n) {
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *s = ms_realloc(b->s, cap, 1);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void sbuf_putn(sbuf *b, const char *s, size_t n) {
    if (sbuf_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sbuf_puts(sbuf *b, const char *s) {
    sbuf_putn(b, s, strlen(s));
}

void sbuf_putc(sbuf *b, char c) {
    if (sbuf_reserve(b, 1))
        return;
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

void sbuf_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sbuf_putn(b, tmp, (size_t)n);
        return;
    }
    if (sbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence starting at s (1-4), or 0. */
static size_t utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        n = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0xFF >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void sbuf_json_str(sbuf *b, const char *str) {
    if (!str) {
        sbuf_putn(b, "null", 4);
        return;
    }
    const unsigned char *s = (const unsigned char *)str;
    sbuf_putc(b, '"');
    while (*s) {
        const unsigned char *run = s;
        while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
            s++;
        if (s > run)
            sbuf_putn(b, (const char *)run, (size_t)(s - run));
        if (!*s)
            break;
        unsigned c = *s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sbuf_putn(b, e, 2);
            s++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n':
                sbuf_putn(b, "\\n", 2);
                break;
            case '\r':
                sbuf_putn(b, "\\r", 2);
                break;
            case '\t':
                sbuf_putn(b, "\\t", 2);
                break;
            default:
                sbuf_printf(b, "\\u%04x", c);
            }
            s++;
        } else {
            size_t n = utf8_len(s);
            if (n) {
                sbuf_putn(b, (const char *)s, n);
                s += n;
            } else {
                sbuf_puts(b, "\xEF\xBF\xBD");
                s++;
            }
        }
    }
    sbuf_putc(b, '"');
}

void sbuf_json_num(sbuf *b, double x) {
    if (!isfinite(x)) {
        sbuf_putn(b, "null", 4);
        return;
    }
    /* Integers that a double holds exactly print without an exponent. */
    if (x == floor(x) && fabs(x) < 1e15) {
        sbuf_json_int(b, (long long)x);
        return;
    }
    if (sbuf_reserve(b, 32))
        return;
    /* 0.1 stays "0.1" rather than "0.10000000000000001", and every double
     * still round-trips exactly. */
    b->len += (size_t)ms_fmt_double(b->s + b->len, 32, x);
}

void sbuf_json_int(sbuf *b, long long x) {
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        *--p = '-';
    sbuf_putn(b, p, (size_t)(tmp + sizeof tmp - p));
}

const char *sbuf_cstr(sbuf *b) {
    return b->s && !b->oom ? b->s : "";
}

char *sbuf_take(sbuf *b) {
    if (b->oom) {
        sbuf_free(b);
        return NULL;
    }
    if (!b->s && sbuf_reserve(b, 0))
        return NULL;
    b->s[b->len] = '\0';
    char *s = b->s;
    sbuf_init(b);
    return s;
}

int sbuf_oom(const sbuf *b) {
    return b->oom;
}
