/* codec_value.c — result trees and progress as JSON text.
 *
 * What it is for: the fast writer of ms_value trees (lib/ms_value.h). Dense
 * vectors and matrices are written straight from their doubles, never through
 * a node per number, so a 20 000-entry potential costs one pass. Numbers use
 * the shortest of %.15g..%.17g that round-trips exactly; NaN and ±Inf become null.
 *
 * What it is not for: parsing (codec.c) or schemas (codec_schema.c).
 */
#include "codec.h"

static void write_dense_row(sbuf *b, const double *v, size_t n) {
    sbuf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_putc(b, ',');
        sbuf_json_num(b, v[i]);
    }
    sbuf_putc(b, ']');
}

static void write_value(sbuf *b, const ms_value *v) {
    switch (ms_value_type(v)) {
    case MS_V_NULL:
        sbuf_puts(b, "null");
        break;
    case MS_V_BOOL:
        sbuf_puts(b, ms_value_num(v) != 0 ? "true" : "false");
        break;
    case MS_V_NUM:
        sbuf_json_num(b, ms_value_num(v));
        break;
    case MS_V_INT:
        sbuf_json_int(b, (long long)ms_value_num(v));
        break;
    case MS_V_STR:
        sbuf_json_str(b, ms_value_str(v));
        break;
    case MS_V_VEC: {
        size_t rows, cols;
        const double *d = ms_value_data(v, &rows, &cols);
        write_dense_row(b, d, rows * cols);
        break;
    }
    case MS_V_MAT: {
        size_t rows, cols;
        const double *d = ms_value_data(v, &rows, &cols);
        sbuf_putc(b, '[');
        for (size_t i = 0; i < rows; i++) {
            if (i)
                sbuf_putc(b, ',');
            write_dense_row(b, d + i * cols, cols);
        }
        sbuf_putc(b, ']');
        break;
    }
    case MS_V_IVEC: {
        size_t n;
        const long long *d = ms_value_idata(v, &n);
        sbuf_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sbuf_putc(b, ',');
            sbuf_json_int(b, d[i]);
        }
        sbuf_putc(b, ']');
        break;
    }
    case MS_V_OBJ:
        sbuf_putc(b, '{');
        for (const ms_value *c = ms_value_child(v); c; c = ms_value_next(c)) {
            if (c != ms_value_child(v))
                sbuf_putc(b, ',');
            sbuf_json_str(b, ms_value_key(c));
            sbuf_putc(b, ':');
            write_value(b, c);
        }
        sbuf_putc(b, '}');
        break;
    case MS_V_ARR:
        sbuf_putc(b, '[');
        for (const ms_value *c = ms_value_child(v); c; c = ms_value_next(c)) {
            if (c != ms_value_child(v))
                sbuf_putc(b, ',');
            write_value(b, c);
        }
        sbuf_putc(b, ']');
        break;
    }
}

ms_status codec_value_write(sbuf *b, const ms_value *v) {
    if (!v)
        sbuf_puts(b, "null");
    else
        write_value(b, v);
    return sbuf_oom(b) ? MS_ENOMEM : MS_OK;
}

void codec_progress_write(sbuf *b, const ms_progress *p) {
    sbuf_puts(b, "{\"iteration\":");
    sbuf_json_int(b, (long long)p->iteration);
    sbuf_puts(b, ",\"fraction\":");
    sbuf_json_num(b, p->fraction);
    sbuf_puts(b, ",\"metrics\":{");
    for (size_t i = 0; i < p->n_metrics; i++) {
        if (i)
            sbuf_putc(b, ',');
        sbuf_json_str(b, p->metrics[i].name);
        sbuf_putc(b, ':');
        sbuf_json_num(b, p->metrics[i].value);
    }
    sbuf_puts(b, "}}");
}
