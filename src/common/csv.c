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

int
csv_split_quoted(const char *line, size_t len, struct strview *f, int max, char *scratch, size_t scratch_size)
{
	size_t i = 0, used = 0;
	int n = 0;

	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (n == max)
			return max + 1;
		if (i < len && line[i] == '"') {
			size_t b = ++i, q;
			bool doubled = false;
			for (;;) {
				const char *c = memchr(line + i, '"', len - i);
				if (c == NULL)
					return -1;
				q = (size_t)(c - line);
				if (q + 1 < len && line[q + 1] == '"') {
					doubled = true;
					i = q + 2;
					continue;
				}
				break;
			}
			if (!doubled)
				f[n] = (struct strview){ .ptr = line + b, .len = q - b };
			else {
				size_t k = 0;
				if (q - b > scratch_size - used)
					return -1;
				for (size_t c = b; c < q; c++) {
					scratch[used + k++] = line[c];
					if (line[c] == '"')
						c++;          /* the second of the pair */
				}
				f[n] = (struct strview){ .ptr = scratch + used, .len = k };
				used += k;
			}
			n++;
			i = q + 1;
			while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
				i++;
			if (i == len)
				return n;
			if (line[i] != ',')
				return -1;
			i++;
			continue;
		}
		const char *comma = memchr(line + i, ',', len - i);
		size_t e = comma != NULL ? (size_t)(comma - line) : len;
		while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
			e--;
		f[n++] = (struct strview){ .ptr = line + i, .len = e - i };
		if (comma == NULL)
			return n;
		i = (size_t)(comma - line) + 1;
	}
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
