/* gw_log.h - leveled logging to stderr, thread-safe.
 *
 * Never log a password, an Authorization header or message content: log
 * user names, hosts, codes and sizes only.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

enum gw_log_level { GW_LOG_ERROR = 0, GW_LOG_WARN, GW_LOG_INFO, GW_LOG_DEBUG };

/* Sets the threshold; messages above it are dropped. Default GW_LOG_INFO. */
void gw_log_set_level(enum gw_log_level level);
enum gw_log_level gw_log_get_level(void);

/* Parses "error" | "warn" | "info" | "debug". Returns 0, or -1 if unknown. */
int gw_log_level_parse(const char *name, enum gw_log_level *out);

void gw_log(enum gw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gw_log_error(...) gw_log(GW_LOG_ERROR, __VA_ARGS__)
#define gw_log_warn(...) gw_log(GW_LOG_WARN, __VA_ARGS__)
#define gw_log_info(...) gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_log_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)

#endif
