/*
 * log.h — one logger for the daemon and its tools: leveled, key=value fields,
 * stderr in the foreground, syslog when asked.
 *
 * Decisions are logged as one line each with host=/account=, level= and reason=.
 * log_warn appends strerror(errno); log_warnx does not. fatal/fatalx exit(1) and
 * are for start-up errors and broken invariants only.
 */
#ifndef LAZARET_COMMON_LOG_H
#define LAZARET_COMMON_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* ident names the program; to_syslog selects syslog(3) over stderr. */
void log_init(const char *ident, int to_syslog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 otherwise. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
