/*
 * fuzz_radius_dict.c — libFuzzer target for the FreeRADIUS dictionary parser and the
 * attribute text an operator writes: the input up to its first NUL is a dictionary
 * (without $INCLUDE), each line after it an attribute resolved against it and encoded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "act/radius_dict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned fuzz_radius_dict_sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t dlen = nul != NULL ? (size_t)(nul - data) : size;
	char *text = malloc(dlen ? dlen : 1), err[512];
	struct radius_dict *d = radius_dict_new();

	if (text == NULL || d == NULL)
		abort();
	memcpy(text, data, dlen);
	int rc = radius_dict_parse(d, "fuzz", NULL, text, dlen, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc != 0 && strncmp(err, "fuzz:", 5) != 0)
		abort();
	for (size_t pos = dlen + 1; nul != NULL && pos < size;) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t n = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
		char line[1100];
		struct radius_avp avp;
		uint8_t enc[300];

		if (n < sizeof(line)) {
			memcpy(line, data + pos, n);
			line[n] = '\0';
			if (radius_dict_avp_parse(d, line, &avp, err, sizeof(err)) == 0) {
				int w = radius_avp_encode(&avp, enc, sizeof(enc));
				if (w != -ENOSPC && (w < 3 || w > 255 || enc[1] != w))
					abort();
				fuzz_radius_dict_sink += (unsigned)w;
			}
		}
		pos += n + 1;
	}
	radius_dict_free(d);
	free(text);
	return 0;
}
