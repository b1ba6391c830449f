/* SPDX-License-Identifier: MIT */
/* Logging: one stderr line per event, "ts level module msg"; level checked before formatting. */
#include "core.h"

#include <stdio.h>
#include <time.h>

static cr_log_level g_level = CR_LOG_WARN;

void cr_log_set_level(cr_log_level level)
{
    g_level = level;
}

cr_log_level cr_log_get_level(void)
{
    return g_level;
}

void cr_log(cr_log_level level, const char *module, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < g_level || level >= CR_LOG_OFF) {
        return;
    }
    char ts[21];
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cr_now_iso8601(ts);
    fprintf(stderr, "%s %s %s %s\n", ts, names[level], module, line);
}

void cr_now_iso8601(char out[21])
{
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

double cr_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
