/*
 * report_formats.c — sniffing a report file and feeding its reader (report_formats.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sense/report_csv.h"
#include "sense/report_formats.h"
#include "sense/report_mail.h"

/* Each format's reader behind the sniffing: set up, a whole message, a CSV line, done. */
static int report_formats_begin(struct report_reader *r, char *reason, size_t reasonlen);
static int report_formats_whole(struct report_reader *r, report_emit_cb emit,
    void (*refused)(void *arg, const char *reason), void *arg, char *reason, size_t reasonlen);
static int report_formats_line(struct report_reader *r, const char *line, size_t len, report_emit_cb emit,
    void (*refused)(void *arg, const char *reason), void *arg);
static void report_formats_end(struct report_reader *r);

static void
fail(struct report_reader *r, const char *failure, char *reason, size_t reasonlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void
fail(struct report_reader *r, const char *failure, char *reason, size_t reasonlen, const char *fmt, ...)
{
	va_list ap;

	r->failure = failure;
	va_start(ap, fmt);
	vsnprintf(reason, reasonlen, fmt, ap);
	va_end(ap);
}

/* A first line that reads as CSV column names: commas, no colon-space of a mail header,
 * and a column of time and one of address among them. */
static bool
looks_like_csv(const char *head, size_t len)
{
	const char *nl = memchr(head, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - head) : len;
	char line[4096];

	if (n == 0 || n >= sizeof(line) || memchr(head, ',', n) == NULL)
		return false;
	memcpy(line, head, n);
	line[n] = '\0';
	for (char *c = line; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return strstr(line, ": ") == NULL && strstr(line, "timestamp") != NULL &&
	    (strstr(line, "ip") != NULL || strstr(line, "addr") != NULL);
}

int
report_reader_open(struct report_reader *r, const char *head, size_t headlen, const char *name, int fd,
    size_t size, const struct report_reader_options *opt, char *reason, size_t reasonlen)
{
	size_t i = 0;
	const char *base = strrchr(name, '/');

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->size = size;
	r->max_size = opt->max_size;
	r->relay_names = opt->relay_names;
	r->relay_name_count = opt->relay_name_count;
	r->relay_nets = opt->relay_nets;
	r->relay_net_count = opt->relay_net_count;
	snprintf(r->name, sizeof(r->name), "%s", base != NULL ? base + 1 : name);
	if (headlen >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;                         /* a byte-order mark before a CSV header */
	while (i < headlen && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
		i++;
	if (looks_like_csv(head + i, headlen - i)) {
		r->kind = REPORT_READER_CSV;
		r->format = "csv";
	} else if (i < headlen && head[i] == '{') {
		r->kind = REPORT_READER_JSON;
		r->format = "json";
	} else {
		r->kind = REPORT_READER_MAIL;
		r->format = "mail";
	}
	if (r->kind != REPORT_READER_CSV && size > r->max_size) {
		fail(r, "too_large", reason, reasonlen, "too_large: %zu bytes, more than [reports] max_size (%zu)", size,
		    r->max_size);
		return -1;
	}
	return report_formats_begin(r, reason, reasonlen);
}

/* Reads the whole file into r->whole (NUL-terminated). */
static int
read_whole(struct report_reader *r, char *reason, size_t reasonlen)
{
	size_t got = 0;
	ssize_t n;

	if ((r->whole = malloc(r->size + 1)) == NULL) {
		fail(r, "no_memory", reason, reasonlen, "no_memory: %zu bytes", r->size);
		return -1;
	}
	while (got < r->size && (n = read(r->fd, r->whole + got, r->size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(r, "read_error", reason, reasonlen, "read_error: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	r->size = got;                     /* a file cut short meanwhile: what is there */
	r->whole[got] = '\0';
	return 0;
}

/* Reads more of a streamed file after what is left unread; -1 on a read error. */
static int
refill(struct report_reader *r, char *reason, size_t reasonlen)
{
	ssize_t n;

	memmove(r->buf, r->buf + r->off, r->len - r->off);
	r->len -= r->off;
	r->off = 0;
	for (;;) {
		n = read(r->fd, r->buf + r->len, REPORT_READ_CHUNK + REPORT_LINE_MAX - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(r, "read_error", reason, reasonlen, "read_error: %s", strerror(errno));
			return -1;
		}
		break;
	}
	if (n == 0)
		r->eof = true;
	r->len += (size_t)n;
	return 0;
}

/*
 * The next record of a streamed CSV file into *line (its newline not included; a quoted
 * field may hold one): 1, 0 at the end, -1 on a read error. At least REPORT_LINE_MAX
 * bytes (or the rest of the file) are in the buffer before a record is looked for, so
 * one is never cut where a read stopped. A line longer than that is refused
 * ("line_too_long") and skipped to its end.
 */
static int
next_record(struct report_reader *r, const char **line, size_t *len, void (*refused)(void *, const char *),
    void *arg, char *reason, size_t reasonlen)
{
	for (;;) {
		if (!r->eof && r->len - r->off <= REPORT_LINE_MAX) {
			if (refill(r, reason, reasonlen) != 0)
				return -1;
			continue;
		}
		char *p = r->buf + r->off, *end = r->buf + r->len;
		if (r->skipping) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL) {
				r->off = r->len;
				if (r->eof)
					return 0;
				continue;
			}
			r->off += (size_t)(nl - p) + 1;
			r->skipping = false;
			continue;
		}
		if (p == end)
			return 0;
		const char *e = report_csv_record_end(p, end);
		if (e == end && !r->eof) {
			refused(arg, "line_too_long");
			r->skipping = true;
			continue;
		}
		size_t n = (size_t)(e - p);
		r->off += n + (e < end ? 1 : 0);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		*line = p;
		*len = n;
		return 1;
	}
}

int
report_reader_step(struct report_reader *r, size_t max, report_emit_cb emit,
    void (*refused)(void *arg, const char *reason), void *arg, char *reason, size_t reasonlen)
{
	const char *line;
	size_t len, emitted = 0;
	int rc;

	switch (r->kind) {
	case REPORT_READER_MAIL:
	case REPORT_READER_JSON:
		if (r->done)
			return 0;
		r->done = true;
		if (read_whole(r, reason, reasonlen) != 0)
			return -1;
		return report_formats_whole(r, emit, refused, arg, reason, reasonlen) < 0 ? -1 : 0;
	case REPORT_READER_CSV:
		if (r->buf == NULL && (r->buf = malloc(REPORT_READ_CHUNK + REPORT_LINE_MAX)) == NULL) {
			fail(r, "no_memory", reason, reasonlen, "no_memory");
			return -1;
		}
		while (emitted < max) {
			if ((rc = next_record(r, &line, &len, refused, arg, reason, reasonlen)) <= 0)
				return rc;
			if ((rc = report_formats_line(r, line, len, emit, refused, arg)) < 0) {
				if (r->failure == NULL)
					fail(r, "emit", reason, reasonlen, "emit: %s", strerror(-rc));
				else
					snprintf(reason, reasonlen, "%s", r->reason_text);
				return -1;
			}
			emitted += (size_t)rc;
		}
		return 1;
	case REPORT_READER_NONE:
		break;
	}
	return 0;
}

void
report_reader_close(struct report_reader *r)
{
	report_formats_end(r);
	free(r->whole);
	free(r->buf);
	r->whole = r->buf = NULL;
}

const char *
report_reader_format(const struct report_reader *r)
{
	return r->format != NULL ? r->format : "unknown";
}

const char *
report_reader_failure(const struct report_reader *r)
{
	return r->failure != NULL ? r->failure : "failed";
}

/* --- the readers ---------------------------------------------------------------------------- */

static int
report_formats_begin(struct report_reader *r, char *reason, size_t reasonlen)
{
	if (r->kind != REPORT_READER_CSV)
		return 0;
	if ((r->csv = malloc(sizeof(struct report_csv_reader))) == NULL) {
		fail(r, "no_memory", reason, reasonlen, "no_memory");
		return -1;
	}
	/* Shadowserver's file name says the report type ("2026-12-04-event4_drone-...csv") */
	report_csv_reader_init(r->csv, r->name);
	return 0;
}

/* What an operator reads in NAME.reason for a mail that gave nothing. */
static const char *
mail_failure_text(int rc)
{
	switch (-rc) {
	case REPORT_MAIL_E_TOO_BIG:
		return "larger than [reports] max_size";
	case REPORT_MAIL_E_PARTS:
		return "more MIME parts than a report has";
	case REPORT_MAIL_E_DEPTH:
		return "MIME nested deeper than a report is";
	case REPORT_MAIL_E_MIME:
		return "not a mail message that can be parsed";
	case REPORT_MAIL_E_NOT_A_REPORT:
		return "no ARF or X-ARF report in it, and no forwarded message received by our relay ([reports] relay_name)";
	case REPORT_MAIL_E_SOURCE:
		return "a report without a usable source address";
	case REPORT_MAIL_E_NOT_OURS:
		return "a forwarded message that none of our relays ([reports] relay_name) received";
	case REPORT_MAIL_E_YAML:
		return "X-ARF YAML that could not be read (syntax, aliases, depth or size)";
	case REPORT_MAIL_E_JSON:
		return "X-ARF JSON that could not be read";
	default:
		return "no report read";
	}
}

static int
report_formats_whole(struct report_reader *r, report_emit_cb emit, void (*refused)(void *arg, const char *reason),
    void *arg, char *reason, size_t reasonlen)
{
	struct report_mail_options opt = { .relays = r->relay_names, .nrelays = r->relay_name_count,
	    .relay_nets = r->relay_nets, .nrelay_nets = r->relay_net_count, .max_size = r->max_size };
	struct report_mail_stats st;
	int rc;

	memset(&st, 0, sizeof(st));
	if (r->kind == REPORT_READER_JSON)
		rc = report_mail_read_json(r->whole, r->size, &opt, emit, arg, &st);
	else
		rc = report_mail_read(r->whole, r->size, &opt, emit, arg, &st);
	/* the notes on the way (a date in no known form, a not-spam report), by name; the
	 * reason a message gave nothing is the file's failure below */
	for (int i = 1; i < REPORT_MAIL_ERROR_COUNT; i++)
		for (uint64_t k = (rc < 0 && i == -rc) ? 1 : 0; k < st.reasons[i]; k++)
			refused(arg, report_mail_error_name(-i));
	if (rc >= 0)
		return rc;
	if (rc <= -REPORT_MAIL_ERROR_COUNT || rc == -ENOMEM) {
		fail(r, "emit", reason, reasonlen, "emit: %s", strerror(-rc));
		return -1;
	}
	fail(r, report_mail_error_name(rc), reason, reasonlen, "%s: %s", report_mail_error_name(rc),
	    mail_failure_text(rc));
	return -1;
}

/* One CSV record: 1 an event emitted, 0 none, or a negative code that fails the file. */
static int
report_formats_line(struct report_reader *r, const char *line, size_t len, report_emit_cb emit,
    void (*refused)(void *arg, const char *reason), void *arg)
{
	struct report_csv_reader *csv = r->csv;
	struct report_event ev;
	int rc = report_csv_line(csv, line, len, &ev), e;

	if (rc == 1) {
		if ((e = emit(arg, &ev)) != 0)
			return e < 0 ? e : -EIO;
		return 1;
	}
	if (rc < 0) {
		/* a report type nobody reads is the file's failure, kept in failed/ for a look,
		 * not a million refused rows */
		if (rc == -REPORT_CSV_E_UNKNOWN_TYPE && csv->header) {
			r->failure = report_csv_error_name(rc);
			snprintf(r->reason_text, sizeof(r->reason_text), "unknown_type: no reader for Shadowserver's "
			    "\"%s\" reports (from the file name or the columns)", csv->type_name);
			return -EPROTO;
		}
		refused(arg, report_csv_error_name(rc));
	}
	return 0;
}

static void
report_formats_end(struct report_reader *r)
{
	free(r->csv);
	r->csv = NULL;
}
