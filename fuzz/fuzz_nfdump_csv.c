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

#include "fuzz_lines.h"
#include "sense/nfdump_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_line(void *arg, const char *line, size_t len)
{
	struct flow_record r;
	int rc = nfdump_csv_line(arg, line, len, &r);

	if (rc == 1 && ((r.src.family != AF_INET && r.src.family != AF_INET6) ||
	    (r.dst.family != AF_INET && r.dst.family != AF_INET6)))
		abort();
	if (rc < 0 && strcmp(nfdump_csv_error_name(rc), "unknown") == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfdump_csv c;

	nfdump_csv_init(&c);
	fuzz_each_line(data, size, one_line, &c);
	return 0;
}
