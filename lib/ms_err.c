/* ms_err.c — status strings and the ms_err helpers. See ms_err.h. */
#include "ms_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ms_status_str(ms_status s) {
    switch (s) {
#define MS__STATUS_STR(name, value, http, msg) \
    case name:                                 \
        return msg;
        MS_STATUS_MAP(MS__STATUS_STR)
#undef MS__STATUS_STR
    }
    return "unknown status";
}

const char *ms_status_name(ms_status s) {
    switch (s) {
#define MS__STATUS_NAME(name, value, http, msg) \
    case name:                                  \
        return #name;
        MS_STATUS_MAP(MS__STATUS_NAME)
#undef MS__STATUS_NAME
    }
    return "MS_EUNKNOWN";
}

int ms_status_http(ms_status s) {
    switch (s) {
#define MS__STATUS_HTTP(name, value, http, msg) \
    case name:                                  \
        return http;
        MS_STATUS_MAP(MS__STATUS_HTTP)
#undef MS__STATUS_HTTP
    }
    return 500;
}

static void vfill(ms_err *err, ms_status code, const char *field, const char *fmt, va_list ap) {
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    if (fmt)
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    else
        snprintf(err->msg, sizeof err->msg, "%s", ms_status_str(code));
}

ms_status ms_fail(ms_err *err, ms_status code, const char *field, const char *fmt, ...) {
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vfill(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void ms_err_clear(ms_err *err) {
    if (!err)
        return;
    err->code = MS_OK;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

void ms_err_prefix(ms_err *err, const char *component) {
    if (!err || !component || !component[0])
        return;
    char tmp[MS_ERR_FIELD_MAX];
    if (err->field[0])
        snprintf(tmp, sizeof tmp, "%s/%s", component, err->field);
    else
        snprintf(tmp, sizeof tmp, "%s", component);
    memcpy(err->field, tmp, sizeof tmp);
}

void ms_errlist_clear(ms_errlist *l) {
    l->n = 0;
    l->dropped = 0;
}

ms_status ms_errlist_add(ms_errlist *l, const ms_err *err) {
    if (l->n < MS_ERRLIST_MAX)
        l->e[l->n++] = *err;
    else
        l->dropped++;
    return err->code;
}

ms_status ms_errlist_addf(ms_errlist *l, ms_status code, const char *field, const char *fmt, ...) {
    if (l->n >= MS_ERRLIST_MAX) {
        l->dropped++;
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    vfill(&l->e[l->n++], code, field, fmt, ap);
    va_end(ap);
    return code;
}

int ms_fmt_double(char *buf, size_t cap, double x) {
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, x);
        if (prec == 17 || strtod(buf, NULL) == x)
            break;
    }
    return n;
}
