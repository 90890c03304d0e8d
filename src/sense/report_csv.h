/*
 * report_csv.h — Shadowserver's daily CSV reports (issue 11), line by line, into report
 * events (report.h).
 *
 * The first line names the columns; the reader finds what it needs by name, since the
 * names differ between report types and have changed over the years (the old
 * botnet_drone's ip/port/infection, the event4_* reports' src_ip/src_port/family/tag).
 * Unknown columns are ignored. The report type comes from the file name Shadowserver
 * gives it ("2024-11-20-botnet_drone-as64496-isp.csv"), handed in as a hint, or, without
 * one, from the columns present. Each type maps to one evidence kind:
 *
 *   botnet_drone, event4_drone, event4_sinkhole, event4_sinkhole_http,
 *   event4_sinkhole_dns, sinkhole_http_drone, microsoft_sinkhole,
 *   event4_microsoft_sinkhole(_http)          REPORT_INFECTION: a bot on the address
 *                                             talked to a sinkhole or was seen as a drone;
 *                                             the family from family/infection/malware/tag
 *                                             (the old sinkhole_http_drone and
 *                                             microsoft_sinkhole put it in "type")
 *   event4_honeypot_brute_force, drone_brute_force, event4_honeypot_http_scan,
 *   event4_honeypot_darknet, darknet, event4_ip_spoofer,
 *   event4_ddos_participant                   REPORT_SCAN: the address attacked, scanned
 *                                             or spoofed towards others' honeypots
 *   scan_*, scan6_*, blocklist,
 *   compromised_website                       REPORT_OTHER: something on the address
 *                                             others can reach (an open or vulnerable
 *                                             service Shadowserver found by scanning it,
 *                                             a listing, a hacked site): not the
 *                                             subscriber attacking anyone
 *
 * Shadowserver has no report of an address sending spam: spam_url lists the sites that
 * spam advertises (its address is the site's host, not the sender's, so it is left
 * unknown rather than read as spam), and a spam bot shows up in the drone reports under
 * its family. So no row is REPORT_SPAM: feedback loops and complaints bring those.
 * event4_honeypot_ddos_amp and event4_honeypot_ddos_target name the victims of attacks
 * (the spoofed source of amplified traffic): counted as REPORT_CSV_E_IGNORED_TYPE, never
 * evidence. event6_ and scan6_ reports are their event4_ and scan_ twins over IPv6.
 *
 * Every field is untrusted (the report is mail or a download; its agent strings and
 * URLs come from the bots themselves): text is copied with report_text_copy.
 */
#ifndef LAZARET_SENSE_REPORT_CSV_H
#define LAZARET_SENSE_REPORT_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sense/report.h"

enum report_csv_error {
	REPORT_CSV_E_NO_HEADER = 1,   /* a row before any header */
	REPORT_CSV_E_HEADER,          /* a header without a timestamp or an address column */
	REPORT_CSV_E_MANY_COLUMNS,    /* a header of more than REPORT_CSV_COLUMNS_MAX columns */
	REPORT_CSV_E_FIELDS,          /* a row with fewer fields than the columns we read */
	REPORT_CSV_E_QUOTE,           /* an unterminated quote, text after a closing quote */
	REPORT_CSV_E_ADDRESS,         /* not an IPv4 or IPv6 address */
	REPORT_CSV_E_TIME,            /* not a time of the forms Shadowserver writes */
	REPORT_CSV_E_PORT,            /* a port that is not a number 0-65535 */
	REPORT_CSV_E_TOO_LONG,        /* a line longer than REPORT_CSV_LINE_MAX */
	REPORT_CSV_E_UNKNOWN_TYPE,    /* a report type we do not know: nothing read */
	REPORT_CSV_E_IGNORED_TYPE,    /* a report about victims, not evidence (ddos_amp) */
};
#define REPORT_CSV_ERROR_COUNT 12     /* one more than the last */
#define REPORT_CSV_LINE_MAX 65536
#define REPORT_CSV_COLUMNS_MAX 256    /* Shadowserver's widest reports have about 100 */

enum report_csv_col { RCC_TIME, RCC_ADDR, RCC_PORT, RCC_FAMILY, RCC_INFECTION, RCC_MALWARE, RCC_TYPE, RCC_PROTOCOL, RCC_DST,
	RCC_DST_PORT, RCC_HOST, RCC_TAG, RCC_COUNT };

struct report_csv_type;

struct report_csv_reader {
	int col[RCC_COUNT];           /* each column's position; -1: absent */
	int need;                     /* fields a row must have: the last column read + 1 */
	bool header;                  /* a header was read */
	bool seen;                    /* a line other than a blank one was */
	const struct report_csv_type *type;   /* NULL: unknown (or ignored) */
	int type_rc;                  /* 0, -REPORT_CSV_E_UNKNOWN_TYPE or _IGNORED_TYPE */
	char type_name[REPORT_TYPE_MAX];      /* the hint's name, or the one guessed */
	char hint[REPORT_TYPE_MAX];   /* the type named by the file, "" none */
	char scratch[REPORT_CSV_LINE_MAX];    /* quoted fields with "" unescaped */
};

/*
 * report_csv_reader_init — hint is the file's name (with or without its directory), a
 * bare report type ("botnet_drone") or NULL: then the type comes from the header's
 * columns.
 */
void report_csv_reader_init(struct report_csv_reader *r, const char *hint);

/*
 * report_csv_line — one line (no newline; a quoted field may hold one). 1: an event in
 * *out; 0: none (the header, a blank line); -REPORT_CSV_E_x: refused for that reason.
 * The first line that is not blank is the header, and so is any later line whose first
 * field is "timestamp" (files appended to one another).
 */
int report_csv_line(struct report_csv_reader *r, const char *line, size_t len, struct report_event *out);

struct report_csv_stats {
	uint64_t rows;                /* records that gave an event or were refused */
	uint64_t events;
	uint64_t refused[REPORT_CSV_ERROR_COUNT];   /* by -rc */
};

/*
 * report_csv_read — a whole file: records end at a newline outside quotes; emits each
 * event and counts the rest in *st (added to). 0, emit's non-zero return, or -ENOMEM.
 */
int report_csv_read(const char *buf, size_t len, const char *hint, report_emit_cb emit, void *arg,
	struct report_csv_stats *st);

/*
 * report_csv_record_end — where the record at p ends in [p, end): the first newline
 * outside quotes (a quoted field may hold one), at most 8 lines and REPORT_CSV_LINE_MAX
 * bytes on; a stray quote ends it at its first newline instead. end when there is no
 * newline. A streaming caller holds REPORT_CSV_LINE_MAX bytes past p (or the file's end)
 * before it asks.
 */
const char *report_csv_record_end(const char *p, const char *end);

/* "no_header", "address", ...; "unknown" otherwise. */
const char *report_csv_error_name(int rc);

#endif
