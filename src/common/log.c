/*
 * log.c — the logger described in log.h.
 */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/strview.h"

static const char *log_ident = "lazaret";
static int log_to_syslog;
static enum log_level log_threshold = LOG_LEVEL_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };
static _Atomic uint64_t log_suppressed;

void
log_init(const char *ident, int to_syslog, enum log_level level)
{
	log_ident = ident;
	log_to_syslog = to_syslog;
	log_threshold = level;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level
log_get_level(void)
{
	return log_threshold;
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(name, log_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(log_names) / sizeof(log_names[0]))
		return "invalid";
	return log_names[level];
}

char *
log_escape(char *dst, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;

	while (i < len) {
		/* a run of printable ASCII but '\\' goes as it is: most of every line */
		size_t run = i;
		while (run < len && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '\\')
			run++;
		if (run > i) {
			size_t n = run - i < size - 1 - o ? run - i : size - 1 - o;
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
			if (i < run)
				break;          /* dst is full */
			continue;
		}
		unsigned char c = s[i];
		size_t n = 1;
		uint32_t cp;

		if (c >= 0x80 && ((n = utf8_decode(s + i, len - i, &cp)) == 0 || cp < 0xa0))
			n = 1;                /* not UTF-8, or a C1 control: escaped byte by byte */
		if (c >= 0x80 && n > 1) {
			if (o + n >= size)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
		} else if (c < 0x20 || c >= 0x7f) {
			if (o + 4 >= size)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else if (c == '\\') {
			if (o + 2 >= size)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 1 >= size)
				break;
			dst[o++] = (char)c;
		}
		i += n;
	}
	dst[o] = '\0';
	return dst;
}

/* A thread's lines held for one write (log_buffer); LOG_BUFFER_SIZE bytes, flushed before
 * a line that would not fit. */
#define LOG_BUFFER_SIZE (64 * 1024)
static _Thread_local char *log_held;
static _Thread_local size_t log_held_len;

/* Writes all of buf to stderr, whatever how many writes it takes; lost on an error as a
 * line written by stdio would be. */
static void
log_write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void
log_flush(void)
{
	if (log_held == NULL || log_held_len == 0)
		return;
	log_write_all(log_held, log_held_len);
	log_held_len = 0;
}

void
log_buffer(bool on)
{
	log_flush();
	if (on && log_held == NULL && !log_to_syslog)
		log_held = malloc(LOG_BUFFER_SIZE);     /* none: every line is written at once */
	else if (!on) {
		free(log_held);
		log_held = NULL;
	}
}

/*
 * Writes one formatted line with a single write so lines from threads never interleave,
 * or adds it to the thread's held lines (info and debug only: a warning is written at
 * once, after the lines held before it). The text is escaped (log_escape) first: values
 * in it may come from the network.
 */
static void
log_write(enum log_level level, const char *raw)
{
	char msg[2048 * 2];

	log_escape(msg, sizeof(msg), raw, strlen(raw));
	if (log_to_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		syslog(prio[level], "%s", msg);
		return;
	}

	/* the second's stamp made once a second per thread, not once a line */
	static _Thread_local char stamp[40];
	static _Thread_local time_t stamp_sec = -1;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (tv.tv_sec != stamp_sec) {
		struct tm tm;
		gmtime_r(&tv.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		stamp_sec = tv.tv_sec;
	}
	if (log_held != NULL && level >= LOG_LEVEL_INFO) {
		for (int tries = 0; tries < 2; tries++) {
			size_t room = LOG_BUFFER_SIZE - log_held_len;
			int n = snprintf(log_held + log_held_len, room, "%s.%03ldZ %s[%s]: %s\n", stamp,
			    (long)(tv.tv_usec / 1000), log_ident, log_names[level], msg);
			if (n >= 0 && (size_t)n < room) {
				log_held_len += (size_t)n;
				return;
			}
			log_flush();            /* full: what is held goes first, then this line */
		}
	}
	log_flush();
	fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", stamp, (long)(tv.tv_usec / 1000),
	    log_ident, log_names[level], msg);
}

static void
log_emit(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char raw[2048];
	int n;

	if (level > log_threshold)
		return;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if (errstr != NULL && (size_t)n < sizeof(raw))
		snprintf(raw + n, sizeof(raw) - (size_t)n, ": %s", errstr);
	log_write(level, raw);
}

char *
log_quoted(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = src[i] == '"' ? '\'' : src[i];
	dst[i] = '\0';
	return dst;
}

bool
log_limit_pass(struct log_limit *l, usec_t now, uint64_t *suppressed)
{
	if (now - l->window_start >= l->interval || now < l->window_start) {
		l->window_start = now;
		l->used = 0;
	}
	if (l->used >= l->burst) {
		l->suppressed++;
		log_suppressed++;
		return false;
	}
	l->used++;
	if (suppressed != NULL)
		*suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

void
log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	char line[2048];
	uint64_t withheld;
	va_list ap;
	int n;

	if (level > log_threshold || !log_limit_pass(l, time_mono(), &withheld))
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (withheld > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, " suppressed=%llu", (unsigned long long)withheld);
	log_write(level, line);
}

uint64_t
log_suppressed_total(void)
{
	return log_suppressed;
}

#define LOG_BODY(level, errstr) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_emit(level, errstr, fmt, ap);	\
	va_end(ap);				\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LEVEL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	LOG_BODY(LOG_LEVEL_ERROR, e);
	log_flush();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
	log_flush();
	exit(1);
}
