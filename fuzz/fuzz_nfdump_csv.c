/*
 * fuzz_nfdump_csv.c — libFuzzer target for the nfdump CSV reader (lazaretctl analyze
 * --flows): the input split at '\n' as analyze splits a file, each line copied into a
 * buffer of exactly its length (AddressSanitizer sees any read past it) and read in
 * order by one reader; every record it returns must have addresses of a known family
 * and a name for every error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sense/nfdump_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfdump_csv c;
	struct flow_record r;
	size_t off = 0;

	nfdump_csv_init(&c);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - data - off) : size - off;
		char *line = malloc(len ? len : 1);
		if (line == NULL)
			abort();
		memcpy(line, data + off, len);
		int rc = nfdump_csv_line(&c, line, len, &r);
		if (rc == 1 && ((r.src.family != AF_INET && r.src.family != AF_INET6) ||
		    (r.dst.family != AF_INET && r.dst.family != AF_INET6)))
			abort();
		if (rc < 0 && strcmp(nfdump_csv_error_name(rc), "unknown") == 0)
			abort();
		free(line);
		off += len + 1;
	}
	return 0;
}
