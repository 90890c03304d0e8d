/*
 * report_formats.h — which reader a report file needs, and feeding it (report_intake.c's
 * worker thread).
 *
 * A file is sniffed from its first bytes: a CSV header line naming a time and an address
 * column is a CSV report (Shadowserver's, report_csv.h), a JSON object an X-ARF JSON
 * report, anything else a mail message (ARF, X-ARF, a forwarded complaint: report_mail.h).
 * A mail message is read whole, up to max_size; a CSV file is streamed line by line
 * (lines up to REPORT_LINE_MAX), so its size is not limited and memory stays flat.
 */
#ifndef LAZARET_SENSE_REPORT_FORMATS_H
#define LAZARET_SENSE_REPORT_FORMATS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "sense/report.h"

struct report_csv_reader;

#define REPORT_LINE_MAX 65536
#define REPORT_READ_CHUNK (1 << 20)

enum report_reader_kind { REPORT_READER_NONE, REPORT_READER_MAIL, REPORT_READER_CSV, REPORT_READER_JSON };

struct report_reader {
	enum report_reader_kind kind;
	const char *format;                /* for the log: "mail", "csv", "json", "unknown" */
	const char *failure;               /* why the whole file failed: a reason name */
	int fd;                            /* not owned */
	size_t size, max_size;
	const char *const *relay_names;
	size_t relay_name_count;
	const struct cidr *relay_nets;
	size_t relay_net_count;
	char name[256];                    /* the file's name: Shadowserver's says the report type */
	/* a mail message or JSON report, whole */
	char *whole;
	bool done;
	/* a CSV file, streamed */
	char *buf;
	size_t len, off;
	bool eof, skipping;                /* skipping: the rest of a line over REPORT_LINE_MAX */
	struct report_csv_reader *csv;     /* the CSV reader's state */
	char reason_text[256];             /* a failure found by a reader mid-file */
};

/* What the readers need from [reports] (kept by reference). */
struct report_reader_options {
	size_t max_size;                   /* a mail or JSON report larger is refused */
	const char *const *relay_names;    /* our relays' names in Received headers (complaints) */
	size_t relay_name_count;
	const struct cidr *relay_nets;     /* the addresses they send from (complaints); none: names alone */
	size_t relay_net_count;
};

/*
 * report_reader_open — set r up for the file open at fd (size bytes; head: its first
 * bytes, name: its name). 0, or -1 with the reason in reason (and r->failure).
 */
int report_reader_open(struct report_reader *r, const char *head, size_t headlen, const char *name, int fd,
    size_t size, const struct report_reader_options *opt, char *reason, size_t reasonlen);

/*
 * report_reader_step — emit events (at most about max for a CSV file); refused(arg, why)
 * for each line or part a reader skipped. 1: more to read; 0: the end; -1: the file
 * failed as a whole (reason, r->failure).
 */
int report_reader_step(struct report_reader *r, size_t max, report_emit_cb emit,
    void (*refused)(void *arg, const char *reason), void *arg, char *reason, size_t reasonlen);

void report_reader_close(struct report_reader *r);
const char *report_reader_format(const struct report_reader *r);
/* The reason name of a whole-file failure ("too_large", "not_a_report", ...). */
const char *report_reader_failure(const struct report_reader *r);

#endif
