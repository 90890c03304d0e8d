/*
 * fuzz_lines.h — for the targets whose parser reads a file line by line (nfdump's CSV,
 * Kea's lease files): the input split at '\n' as lazaretctl and the followers split a
 * file, each line handed on in a buffer of exactly its length, so that AddressSanitizer
 * sees any read past it.
 */
#ifndef LAZARET_FUZZ_LINES_H
#define LAZARET_FUZZ_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void
fuzz_each_line(const uint8_t *data, size_t size, void (*fn)(void *arg, const char *line, size_t len), void *arg)
{
	for (size_t off = 0; off < size;) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - data - off) : size - off;
		char *line = malloc(len ? len : 1);
		if (line == NULL)
			abort();
		memcpy(line, data + off, len);
		fn(arg, line, len);
		free(line);
		off += len + 1;
	}
}

#endif
