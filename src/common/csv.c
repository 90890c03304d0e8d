/*
 * csv.c — see csv.h.
 */
#include "common/csv.h"

#include <string.h>

int
csv_split(const char *line, size_t len, struct strview *f, int max)
{
	int n = 0;
	const char *p = line, *end = line + len;

	while (n < max) {
		const char *comma = n + 1 < max ? memchr(p, ',', (size_t)(end - p)) : NULL;
		const char *e = comma != NULL ? comma : end, *b = p;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		f[n++] = (struct strview){ .ptr = b, .len = (size_t)(e - b) };
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return n;
}

bool
csv_number(struct strview v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (v.len == 0 || v.len > 20)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return false;
		uint64_t d = (uint64_t)(v.ptr[i] - '0');
		if (d > max || n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

void
csv_columns(const struct strview *f, int nf, const char *const *names, int n, int *col)
{
	for (int k = 0; k < n; k++) {
		col[k] = -1;
		for (int i = 0; i < nf && col[k] < 0; i++)
			if (strview_eq(f[i], names[k]))
				col[k] = i;
	}
}
