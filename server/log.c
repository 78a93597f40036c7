/* log.c — structured logs: one JSON object per line on standard error.
 *
 * Not for: metrics (metrics.c) or the event history of jobs (store.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "server.h"

static const char *const levels[] = {"debug", "info", "warn", "error"};

void log_msg(const srv *s, int level, const char *msg, const char *fmt_kv, ...) {
    if (s && level < s->cfg.log_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\","
                     "\"msg\":\"%s\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, levels[level & 3], msg);
    if (fmt_kv && fmt_kv[0] && n > 0 && (size_t)n < sizeof line - 1) {
        line[n++] = ',';
        va_list ap;
        va_start(ap, fmt_kv);
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt_kv, ap);
        va_end(ap);
        n = m < 0 ? n : n + m;
    }
    if (n > (int)sizeof line - 3)
        n = (int)sizeof line - 3; /* truncated: still one line, maybe not JSON */
    line[n++] = '}';
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
