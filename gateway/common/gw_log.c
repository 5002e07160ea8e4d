/* gw_log.c - see include/gw_log.h */
#include "gw_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum gw_log_level log_threshold = GW_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void gw_log_set_level(enum gw_log_level level)
{
    __atomic_store_n(&log_threshold, level, __ATOMIC_RELAXED);
}

enum gw_log_level gw_log_get_level(void)
{
    return __atomic_load_n(&log_threshold, __ATOMIC_RELAXED);
}

int gw_log_level_parse(const char *name, enum gw_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum gw_log_level)i;
            return 0;
        }
    }
    return -1;
}

void gw_log(enum gw_log_level level, const char *fmt, ...)
{
    if (level > gw_log_get_level())
        return;

    char stamp[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    /* One lock around the whole line so lines from workers never interleave. */
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ldZ %s: ", stamp, now.tv_nsec / 1000000, level_names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
