/*
 * csv.h — the plain comma-separated lines other programs write (nfdump -o csv, Kea's
 * lease files): no quoting, a comma only between fields. The readers on top of it
 * find their columns by the header's names.
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

/* A decimal number of at most max (no sign, no blanks); false on anything else. */
bool csv_number(struct strview v, uint64_t max, uint64_t *out);

/* The position of each of names[0..n) in the header fields (-1 when absent). */
void csv_columns(const struct strview *fields, int nfields, const char *const *names, int n, int *col);

#endif
