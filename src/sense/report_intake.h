/*
 * report_intake.h — abuse reports from outside become evidence (issue 11): the spool
 * directory, the readers run off the loop, dedup, attribution by time, trust per source.
 *
 * One pipeline for every way in. The spool is [reports] directory: a file dropped at its
 * top is read with the source "directory", one in a subdirectory with the subdirectory's
 * name as its source (DIRECTORY/shadowserver/...). `lazaretctl report` and POST
 * /v1/reports write their body into the spool first (report_intake_submit: written,
 * fsync'ed, renamed in) and are answered only then, so an accepted report is on disk
 * before anyone forgets it. Each file is read once, on a libuv worker thread (a mail
 * message whole, up to max_size; a CSV file streamed in chunks of events), and moved to
 * done/ or, with a NAME.reason file beside it, to failed/; nothing is deleted.
 *
 * On the loop each event is then: refused when its address is outside [network]
 * subscribers (when any are set); counted once within [reports] dedup_window (by its
 * id — a report's Message-ID, an X-ARF report id — or else by source, time, address,
 * port and type; a file whose bytes were read before is not read again); mapped from
 * a CGNAT public address and port to the private address; attributed to whoever held
 * the address at the event's time (judge_host: the subscriber with an identity source,
 * the host otherwise); and added to that subject as one unit of its kind times the
 * source's trust, with a summary in plain words. One log line per file.
 */
#ifndef LAZARET_SENSE_REPORT_INTAKE_H
#define LAZARET_SENSE_REPORT_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "judge/judge.h"
#include "sense/report.h"
#include "store/store.h"

#define REPORT_REASONS_MAX 48          /* distinct refusal reasons counted by name */

struct report_reason_count {
	const char *name;                  /* a reader's static reason name */
	uint64_t count;
};

struct report_intake_stats {
	uint64_t files;                    /* read to the end and moved to done/ */
	uint64_t files_failed;             /* moved to failed/ */
	uint64_t files_duplicate;          /* the same bytes as a file read before */
	uint64_t submitted;                /* spooled by report_intake_submit */
	uint64_t submit_failures;
	uint64_t events;                   /* events the readers emitted */
	uint64_t applied;                  /* added as evidence */
	uint64_t duplicates;               /* the same report again within the window */
	uint64_t outside;                  /* an address outside [network] subscribers */
	uint64_t unattributed;             /* nobody to attribute to (ignored, untracked, CGNAT without a port) */
	uint64_t undated;                  /* no time in the report: the file's arrival time used */
	uint64_t nat_mapped;               /* a CGNAT public address and port mapped to the private one */
	uint64_t nat_unattributed;         /* a CGNAT address naming nobody (no port, ...): in unattributed too */
	uint64_t by_kind[REPORT_KIND_COUNT];
	uint64_t rows_refused;             /* lines or parts a reader skipped (by reason below) */
	struct report_reason_count reasons[REPORT_REASONS_MAX];
	size_t reason_count;
	uint64_t dedup_entries;            /* remembered now */
	uint64_t backlog;                  /* files waiting in the spool at the last look */
};

struct report_intake;

/*
 * report_intake_new — the pipeline for cfg's [reports] (directory set), judging into j,
 * remembering in st. Makes the directory and its done/ and failed/ when missing. NULL
 * with a reason in err.
 */
struct report_intake *report_intake_new(uv_loop_t *loop, const struct config *cfg, struct judge *j,
    struct store *st, char *err, size_t errlen);

/* Starts looking at the directory every poll_interval. */
void report_intake_start(struct report_intake *ri);

/* A new configuration (SIGHUP): trust, dedup window. Kept by reference until the next. */
void report_intake_reload(struct report_intake *ri, const struct config *cfg);

/* Stops the timer and waits for the step in flight. A file half applied stays in the
 * spool; the next start reads it again and skips the events applied before (the store
 * keeps the file's digest and how far it got after each chunk). */
void report_intake_stop(struct report_intake *ri);
void report_intake_free(struct report_intake *ri);

/*
 * report_intake_submit — spool body (len bytes) as a report from source (a name of
 * [a-zA-Z0-9_.-], not starting with '.'; NULL or "": "api") off the loop: written to
 * DIRECTORY/.incoming, fsync'ed, renamed into DIRECTORY/SOURCE/. done(arg, status, name)
 * runs on the loop: status 0 and the spooled file's name relative to the directory, or
 * a negative errno. The body is copied. Returns 0 or -EINVAL (bad source, too large),
 * -EBUSY (too many submissions in flight), -ENOMEM.
 */
typedef void (*report_submit_cb)(void *arg, int status, const char *name);
int report_intake_submit(struct report_intake *ri, const char *source, const void *body, size_t len,
    report_submit_cb done, void *arg);

/* True when name is a usable source name. */
bool report_source_valid(const char *name);

/*
 * report_intake_apply — one event from source as the pipeline applies it (the readers'
 * path ends here; tests call it directly). arrived stands in for an event without a
 * time. Returns what became of it: 0 applied, or REPORT_DUPLICATE, REPORT_OUTSIDE,
 * REPORT_UNATTRIBUTED.
 */
enum { REPORT_APPLIED = 0, REPORT_DUPLICATE, REPORT_OUTSIDE, REPORT_UNATTRIBUTED };
int report_intake_apply(struct report_intake *ri, const char *source, const struct report_event *ev,
    usec_t arrived, usec_t now);

/*
 * report_summary — the plain words an operator, an agent on the phone and the
 * subscriber read: "Shadowserver report (event4_sinkhole_http): the 'andromeda' bot on
 * this connection contacted a sinkhole at 03:12 UTC on 20 November 2026 (source port
 * 51234)". Always NUL-terminated.
 */
void report_summary(const char *source, const struct report_event *ev, char *out, size_t size);

void report_intake_stats_get(const struct report_intake *ri, struct report_intake_stats *out);

#endif
