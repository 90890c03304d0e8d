/*
 * jsondump.c — whole JSON texts or none; see jsondump.h.
 */
#include "common/jsondump.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct jsondump_buf {
	char *text;
	size_t len, cap;
	bool failed;            /* sticky: jansson may carry on after a -1 */
};

static int
jsondump_append(const char *part, size_t n, void *arg)
{
	struct jsondump_buf *b = arg;

	if (b->failed)
		return -1;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *grown;

		while (n + 1 > cap - b->len && cap < ((size_t)-1) / 2)
			cap *= 2;
		if (n + 1 > cap - b->len || (grown = realloc(b->text, cap)) == NULL) {
			b->failed = true;
			return -1;
		}
		b->text = grown;
		b->cap = cap;
	}
	memcpy(b->text + b->len, part, n);
	b->len += n;
	b->text[b->len] = '\0';
	return 0;
}

char *
jsondump_text(const json_t *v, size_t flags, size_t *len)
{
	struct jsondump_buf b = { 0 };

	if (v == NULL)
		return NULL;
	if (json_dump_callback(v, jsondump_append, &b, flags) != 0 || b.failed ||
	    (b.text == NULL && jsondump_append("", 0, &b) != 0)) {
		free(b.text);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.text;
}
