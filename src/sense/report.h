/*
 * report.h — evidence from outside (issue 11): what an abuse report says, in one shape
 * for every format.
 *
 * Each format's reader (report_mail.h: ARF, X-ARF, a forwarded complaint; report_csv.h:
 * Shadowserver's CSV files) turns bytes it does not trust into report events and hands
 * them to a report_emit_cb; it never attributes, judges or stores anything itself. The
 * pipeline (report_intake.h) then deduplicates each event, maps a CGNAT address and port
 * to the private address (common/nat.h), finds who held the address at the event's time
 * (ident) and adds evidence of the event's kind to that subject, weighted by the
 * source's trust.
 *
 * Every text field is untrusted: a report's author chose it. Readers copy it cut to the
 * field's size (never mid UTF-8 sequence), with control characters replaced by '?'
 * (report_text_copy); the log, the API and the portal escape it again as for any
 * outsider's text.
 */
#ifndef LAZARET_SENSE_REPORT_H
#define LAZARET_SENSE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/timeutil.h"

/* The evidence kinds a report can add (kinds.c: report_spam, report_infection,
 * report_scan, report_other). */
enum report_kind {
	REPORT_SPAM,          /* a feedback loop's complaint, a forwarded spam complaint */
	REPORT_INFECTION,     /* a sinkhole or drone report: a bot is running there */
	REPORT_SCAN,          /* the address scanned or attacked others */
	REPORT_OTHER,         /* anything else (phishing hosted, open resolver, ...) */
};
#define REPORT_KIND_COUNT 4

#define REPORT_FAMILY_MAX 64
#define REPORT_TYPE_MAX 64
#define REPORT_DETAIL_MAX 256
#define REPORT_ID_MAX 256

/*
 * One thing a report says about one address. time is when it happened (the report's
 * Arrival-Date, a CSV row's timestamp), not when the report arrived: the identity layer
 * attributes it to whoever held the address then. 0 when the report gives no time (the
 * pipeline then uses the report's own date and says so).
 */
struct report_event {
	enum report_kind kind;
	struct addr addr;                 /* the source address the report names */
	bool has_port;
	uint16_t port;                    /* the source port, when given (CGNAT needs it) */
	usec_t time;
	char family[REPORT_FAMILY_MAX];   /* malware family ("andromeda"), lower case; "" unknown */
	char type[REPORT_TYPE_MAX];       /* the format's own type: "abuse" (Feedback-Type),
	                                   * "botnet-drone", "sinkhole-http-event", "scan-ssh", ... */
	char detail[REPORT_DETAIL_MAX];   /* a few plain words for the summary: the reported
	                                   * domain, the sinkhole, the protocol; "" none */
	char id[REPORT_ID_MAX];           /* the source's own id for dedup (a report's Message-ID,
	                                   * an X-ARF report_id), "" when it has none */
	const char *format;               /* "arf", "xarf-yaml", "xarf-json", "complaint",
	                                   * "shadowserver": a static string */
};

/* How report_summary names a family, so that report_summary_family finds it again. */
#define REPORT_FAMILY_OPEN "the '"
#define REPORT_FAMILY_CLOSE "' bot on this connection"

/* Called once per event; a non-zero return stops the reader, which returns it. */
typedef int (*report_emit_cb)(void *arg, const struct report_event *ev);

/* "report_spam", ...: the evidence kind's name; "report_other" for an unknown value. */
const char *report_kind_name(enum report_kind kind);

/*
 * report_text_copy — copy untrusted bytes into a report_event text field: at most
 * size - 1 bytes, never cutting a UTF-8 sequence, invalid UTF-8 and control characters
 * as '?', leading and trailing blanks dropped. Always NUL-terminates; returns the length.
 */
size_t report_text_copy(char *dst, size_t size, const char *src, size_t len);

/* report_text_lower — the same, ASCII letters lowered (malware families, types). */
size_t report_text_lower(char *dst, size_t size, const char *src, size_t len);

/*
 * report_summary_family — the malware family a summary of report_intake.h's
 * report_summary names ("... the 'andromeda' bot on this connection ..."), for the
 * portal's advice. true with it in out (cut to size), false when it names none.
 */
bool report_summary_family(const char *summary, char *out, size_t size);

#endif
