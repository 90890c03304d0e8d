/*
 * csv.h — the comma-separated lines other programs write: csv_split for the plain ones
 * (nfdump -o csv, Kea's lease files: no quoting, a comma only between fields),
 * csv_split_quoted for RFC 4180's quoted fields (Shadowserver's reports). The readers on
 * top of it find their columns by the header's names.
 */
#ifndef LAZARET_COMMON_CSV_H
#define LAZARET_COMMON_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strview.h"

/* Splits line[0, len) at commas into at most max fields (the rest stays in the last),
 * blanks and a CR around each trimmed; the number of fields (at least 1). */
int csv_split(const char *line, size_t len, struct strview *fields, int max);

/*
 * csv_split_quoted — RFC 4180 fields, as Shadowserver writes them: a field in double
 * quotes may hold commas, and "" inside it stands for one quote. Splits line[0, len) into
 * at most max fields, blanks and a CR outside the quotes trimmed; a field with a doubled
 * quote is unescaped into scratch (scratch_size >= len is always enough), the others
 * point into line. The number of fields, max + 1 when the line has more (those are not
 * looked at), or -1 for an unterminated quote, a character after a closing quote or
 * scratch too small.
 */
int csv_split_quoted(const char *line, size_t len, struct strview *fields, int max, char *scratch,
	size_t scratch_size);

/* A decimal number of at most max (no sign, no blanks); false on anything else. */
bool csv_number(struct strview v, uint64_t max, uint64_t *out);

/* The position of each of names[0..n) in the header fields (-1 when absent). */
void csv_columns(const struct strview *fields, int nfields, const char *const *names, int n, int *col);

#endif
