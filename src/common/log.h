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
#include <stdbool.h>
#include <stdint.h>

#include "common/timeutil.h"

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

/*
 * log_buffer — on: the calling thread's info and debug lines are held and written together
 * by log_flush (or when 64 KiB are held, or before the thread's next warning or error),
 * one write for many lines: the daemon's loop thread holds a turn's lines (a mass
 * quarantine logs 100 000 verdicts) and flushes them before it waits again. Lines held
 * when the process dies by a signal are lost: they are decisions' lines, and the
 * decisions themselves are in the store. off: flushed, and every line written at once
 * again. No effect with syslog. Flush before a fork, so a child does not write them too.
 */
void log_buffer(bool on);
void log_flush(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A budget for log lines that someone outside can trigger (a peer's bad request, a
 * visitor's access line): at most `burst` lines per `interval`; the rest are counted,
 * and the next line that passes says how many it stands for (" suppressed=N").
 * Initialise with LOG_LIMIT_INIT; not thread-safe: one limiter per thread.
 */
struct log_limit {
	usec_t interval;
	unsigned burst;
	unsigned used;            /* lines written in the current window */
	usec_t window_start;      /* monotonic */
	uint64_t suppressed;      /* withheld since the last line written */
};
#define LOG_LIMIT_INIT(burst_, interval_) { .interval = (interval_), .burst = (burst_) }

/*
 * log_limit_pass — may a line be written at monotonic time now? true at most `burst`
 * times per window; then *suppressed (if not NULL) receives the lines withheld since
 * the last one written and the count restarts. false counts a withheld line, also in
 * log_suppressed_total().
 */
bool log_limit_pass(struct log_limit *l, usec_t now, uint64_t *suppressed);

/* log_limited — log at level through l's budget, appending " suppressed=N" when lines
 * were withheld before it. A line below the log level costs nothing and counts nothing. */
void log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Lines withheld by every limiter since start, for /metrics. */
uint64_t log_suppressed_total(void);

/*
 * log_escape — copy src[0..len) into dst (size > 0, always NUL-terminated) so it
 * cannot break a log line: control bytes (C0, DEL, C1), backslash and bytes that are
 * not valid UTF-8 become \xNN (backslash as \\); valid UTF-8 is kept. Returns dst.
 * Truncates at a whole escape; every line log.c writes goes through it.
 */
char *log_escape(char *dst, size_t size, const char *src, size_t len);

/*
 * log_quoted — src as the value of a quoted field (reason="..."), into dst (size > 0,
 * NUL-terminated, truncated): each '"' becomes '\'', so text from outside (a remote
 * server's reply in an evidence summary) cannot end the value early and forge fields
 * after it. The whole text stays in the store and the API. Returns dst.
 */
char *log_quoted(char *dst, size_t size, const char *src);

_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
