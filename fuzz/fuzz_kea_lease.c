/*
 * fuzz_kea_lease.c — libFuzzer target for Kea's lease-file reader: the input split at
 * '\n' as a follower splits the file, each line in a buffer of exactly its length, read
 * in order by one reader; every lease's views lie inside its line and its prefix is
 * masked; the unescaper never writes past its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lines.h"
#include "sense/kea_lease.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(struct strview v, const char *line, size_t len)
{
	if (v.len > 0 && (v.ptr < line || (size_t)(v.ptr - line) + v.len > len))
		abort();
}

static void
one_line(void *arg, const char *line, size_t len)
{
	struct kea_lease l;
	char small[8];
	int rc = kea_lease_line(arg, line, len, &l);

	if (rc == 1) {
		inside(l.hwaddr, line, len);
		inside(l.client_id, line, len);
		inside(l.hostname, line, len);
		inside(l.user_context, line, len);
		if (l.net.prefix > 128 || kea_unescape(l.user_context, small, sizeof(small)) >= sizeof(small))
			abort();
	} else if (rc < 0 && strcmp(kea_lease_error_name(rc), "unknown") == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kea_lease_reader r;

	kea_lease_reader_init(&r);
	fuzz_each_line(data, size, one_line, &r);
	return 0;
}
