/*
 * linesplit.c — see linesplit.h.
 */
#include "common/linesplit.h"

#include <string.h>

size_t
linesplit_run(struct linesplit *ls, const char *buf, size_t len, bool flush, linesplit_cb cb, void *arg)
{
	size_t start = 0;

	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - (buf + start)) : len - start;
		size_t used = nl ? n + 1 : n;

		if (ls->skipping) {
			/* inside a cut line: drop it up to and including its newline */
			if (nl != NULL)
				ls->skipping = false;
		} else if (n >= LINESPLIT_MAX && (nl != NULL || n > LINESPLIT_MAX || !flush)) {
			cb(arg, buf + start, LINESPLIT_MAX);
			ls->lines++;
			ls->too_long++;
			if (nl == NULL)
				ls->skipping = true;
		} else if (nl != NULL || flush) {
			cb(arg, buf + start, n);
			ls->lines++;
		} else
			break;              /* a partial line: wait for its newline */
		start += used;
	}
	if (flush)
		ls->skipping = false;
	return start;
}
