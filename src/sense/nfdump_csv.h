/*
 * nfdump_csv.h — flows an operator already stores, read as nfdump prints them
 * (`nfdump -r FILE -o csv`, nfdump 1.6 and 1.7), for `lazaretctl analyze --flows`.
 *
 * The first line names the columns; the reader finds those it needs by name (ts, te, sa,
 * da, sp, dp, pr, flg, ipkt, ibyt; ra, in and out when present), so a version that adds
 * or moves columns still reads. nfdump ends its output with a "Summary" line and a table
 * of totals, which end the records. Times are nfdump's, in the local time of the machine
 * that ran it. Every line is one call; nothing is kept but the column positions.
 */
#ifndef LAZARET_SENSE_NFDUMP_CSV_H
#define LAZARET_SENSE_NFDUMP_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "sense/flow.h"

/* Why a line was not read; nfdump_csv_line returns -NFDUMP_E_x. */
enum nfdump_csv_error {
	NFDUMP_E_NO_HEADER = 1,       /* a record before the column names */
	NFDUMP_E_HEADER,              /* a header without the columns we need */
	NFDUMP_E_COLUMNS,             /* fewer fields than the header named */
	NFDUMP_E_TIME,                /* ts or te not "YYYY-MM-DD HH:MM:SS[.mmm]" */
	NFDUMP_E_ADDRESS,             /* sa, da or ra not an IPv4 or IPv6 address */
	NFDUMP_E_NUMBER,              /* a port, interface, packet or byte count out of range */
	NFDUMP_E_PROTOCOL,            /* pr neither a known name nor 0-255 */
	NFDUMP_E_FLAGS,               /* flg not 8 of "CEUAPRSF" or '.' */
	NFDUMP_E_TOO_LONG,            /* longer than NFDUMP_CSV_LINE_MAX */
};
#define NFDUMP_CSV_ERROR_COUNT 10     /* one more than the last */
#define NFDUMP_CSV_LINE_MAX 4096

enum nfdump_col { NFC_TS, NFC_TE, NFC_SA, NFC_DA, NFC_SP, NFC_DP, NFC_PR, NFC_FLG, NFC_IPKT, NFC_IBYT,
	NFC_RA, NFC_IN, NFC_OUT, NFC_COUNT };

struct nfdump_csv {
	int col[NFC_COUNT];           /* each column's position; -1: absent */
	int ncols;                    /* fields the header named */
	bool header;                  /* the column names were read */
	bool ended;                   /* the "Summary" line: no more records */
};

void nfdump_csv_init(struct nfdump_csv *c);

/*
 * nfdump_csv_line — one line (no newline). 1: a flow record in *out (counts as nfdump
 * printed them, exporter = ra or unset); 0: no record (the header, a blank line, the
 * summary and what follows it); -NFDUMP_E_x: skipped for that reason.
 */
int nfdump_csv_line(struct nfdump_csv *c, const char *line, size_t len, struct flow_record *out);

/* "no_header", "time", ...; "unknown" for anything else. */
const char *nfdump_csv_error_name(int rc);

#endif
