/*
 * report_mail.h — abuse reports that arrive as mail (issue 11): ARF feedback reports
 * (RFC 5965), X-ARF (the 0.2 YAML form and the JSON of v3/v4), and a plain complaint
 * with a forwarded spam message, each turned into report events (report.h).
 *
 * One whole RFC 5322 message in, events out through a report_emit_cb; the reader
 * attributes, judges and stores nothing. GMime 3 parses the MIME structure straight
 * from the caller's bytes (no copy: a 50 MB attachment is never copied or decoded);
 * only the small parts a report lives in are decoded, at most REPORT_MAIL_PART_MAX bytes
 * of each. Everything in the message is untrusted; which headers of a forwarded message
 * can be believed is the one piece of judgement here (report_mail_read).
 */
#ifndef LAZARET_SENSE_REPORT_MAIL_H
#define LAZARET_SENSE_REPORT_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/timeutil.h"
#include "sense/report.h"

/* Why a message gave no event, or what was noted on the way (-rc, and the stats). */
enum report_mail_error {
	REPORT_MAIL_E_TOO_BIG = 1,    /* longer than max_size */
	REPORT_MAIL_E_PARTS,          /* more MIME parts than max_parts */
	REPORT_MAIL_E_DEPTH,          /* MIME nested deeper than max_depth */
	REPORT_MAIL_E_MIME,           /* GMime made no message of it */
	REPORT_MAIL_E_NOT_A_REPORT,   /* none of the forms below */
	REPORT_MAIL_E_SOURCE,         /* a report without a source address, or with garbage there */
	REPORT_MAIL_E_NOT_OURS,       /* a forwarded message that no relay of ours received */
	REPORT_MAIL_E_YAML,           /* X-ARF YAML refused: syntax, alias, anchor, depth, size */
	REPORT_MAIL_E_JSON,           /* X-ARF JSON refused: syntax, not an object, no report */
	REPORT_MAIL_E_NOT_SPAM,       /* noted: an ARF not-spam report (emits nothing) */
	REPORT_MAIL_E_DATE,           /* noted: a date in no known form (the event's time is 0) */
};
#define REPORT_MAIL_ERROR_COUNT 12    /* one more than the last */

#define REPORT_MAIL_SIZE_DEFAULT (64u << 20)
#define REPORT_MAIL_DEPTH_DEFAULT 32
#define REPORT_MAIL_PARTS_DEFAULT 1000
#define REPORT_MAIL_PART_MAX (256u << 10)  /* decoded bytes read of a report's own part */
#define REPORT_MAIL_JSON_MAX (4u << 20)    /* ... of an X-ARF JSON part (v4 inlines evidence) */
#define REPORT_MAIL_SUBJECT_MAX 80         /* bytes of a reported message's Subject kept */

/*
 * What the pipeline tells the reader ([reports] in the configuration). Zeroes mean the
 * defaults above.
 *   relays     our own relays' host names, as they write themselves in the `by` clause
 *              of their Received headers ("relay1.isp.example"), compared without case;
 *              none: plain complaints are not read (not_a_report)
 *   relay_nets the addresses our relays send from, as the next hop's Received header
 *              names them. Given, a header "by" our relay counts only below one naming
 *              such an address (otherwise the sender forged it: not_our_relay), and a
 *              hop between two of our relays is followed down to the client. None: the
 *              topmost header by our relay's name is believed as it stands
 *   max_size   a longer message is refused (too_big) before it is parsed
 *   max_depth  multiparts and attached messages nested deeper are refused (too_deep)
 *   max_parts  a message with more parts is refused (too_many_parts); the count is made
 *              on the raw bytes before GMime builds anything (lines opening with
 *              "Content-Type" or a "--boundary"; "-- " lines a quarter each), so a
 *              million parts or nesting levels cost one scan
 */
struct report_mail_options {
	const char *const *relays;
	size_t nrelays;
	const struct cidr *relay_nets;
	size_t nrelay_nets;
	size_t max_size;
	unsigned max_depth;
	unsigned max_parts;
};

/* Each refusal and note by reason (index: enum report_mail_error), added to. */
struct report_mail_stats {
	uint64_t reasons[REPORT_MAIL_ERROR_COUNT];
};

/*
 * report_mail_read — the events one message gives, in the order of its parts.
 *
 * ARF: every message/feedback-report part gives one event: kind report_spam for abuse
 * and fraud, report_other for virus and other (not-spam gives none and is noted);
 * format "arf", type the Feedback-Type, time the Arrival-Date, id the report's own
 * Message-ID (the reported message's when the report has none), detail the
 * Reported-Domain, Original-Mail-From, the reported message's Subject (cut to
 * REPORT_MAIL_SUBJECT_MAX bytes) and Incidents.
 * X-ARF: one report a message. The YAML part of a message marked "X-ARF: yes" (0.1) or
 * "X-XARF: PLAIN" (0.2), whose Port is the attacked service's (detail, not the event's
 * port); or a JSON part (application/json, named *.json, or any text part of a marked
 * message) holding a v4 report (xarf_version, source_identifier, source_port, timestamp,
 * category or class, type, malware_family, report_id) or a v3 one (Report.SourceIp,
 * SourcePort, Date, ReportClass, ReportType). Format "xarf-yaml" / "xarf-json", kind by
 * report_mail_kind, dates in RFC 5322 or ISO 8601 form with a zone.
 * Complaint: a forwarded message (a message/rfc822 or text/rfc822-headers part, or its
 * headers pasted into a text body): the topmost Received header whose `by` host is one
 * of opt->relays names the client in its from clause (checked against the hop above it
 * with opt->relay_nets); the headers below it were there when our relay took the
 * message, so the sender may have written them, and they are never read, nor are the
 * complaint's own headers (its way to our abuse mailbox). Format "complaint", time the
 * date of that Received header, id the complaint's Message-ID, detail the forwarded
 * Subject.
 *
 * Returns the number of events emitted (0: a report that asks nothing, e.g. not-spam),
 * -REPORT_MAIL_E_x when the message gave none for that reason, or the first non-zero
 * value emit returned (which stops the reader). stats, when not NULL, counts the
 * reason returned (not emit's own value) and every note. Thread-safe; g_mime_init is
 * called once inside.
 */
int report_mail_read(const char *msg, size_t len, const struct report_mail_options *opt,
	report_emit_cb emit, void *arg, struct report_mail_stats *stats);

/*
 * report_mail_read_json — an X-ARF JSON report on its own, not in a mail message (a file
 * dropped in the spool, a POST body), read as report_mail_read reads a JSON part: the
 * number of events (1), -REPORT_MAIL_E_TOO_BIG past REPORT_MAIL_JSON_MAX or
 * opt->max_size, -REPORT_MAIL_E_JSON when it is no X-ARF JSON, -REPORT_MAIL_E_SOURCE, or
 * emit's value. The id is the report's report_id ("" when it has none).
 */
int report_mail_read_json(const char *json, size_t len, const struct report_mail_options *opt,
	report_emit_cb emit, void *arg, struct report_mail_stats *stats);

/*
 * report_mail_kind — an X-ARF category and type (either may be NULL; any case, '-' and
 * '_' alike) as an evidence kind: spam → report_spam; bot, botnet, malware, infected
 * → report_infection; scans, attacks, login attacks, DDoS → report_scan; else
 * report_other. A type decides (phishing under messaging is report_other); the
 * category only when the type is missing, "other" or "unknown".
 */
enum report_kind report_mail_kind(const char *category, const char *type);

/*
 * report_mail_date — an RFC 5322 date-time ("Thu, 8 Mar 2005 17:40:36 EST"), with the
 * obsolete forms of §4.3 (two- and three-digit years, named and military zones, comments
 * and folding), strictly: a day past its month's end, hour 24 or trailing words are
 * refused. 0 and *out, or -1.
 */
int report_mail_date(const char *text, size_t len, usec_t *out);

/* "too_big", "not_a_report", ...; "unknown" otherwise (rc may be negative). */
const char *report_mail_error_name(int rc);

#endif
