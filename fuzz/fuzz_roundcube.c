/*
 * fuzz_roundcube.c — libFuzzer target for the Roundcube userlogins line parser: the input
 * split at '\n' as the follower splits the file, each line in a buffer of exactly its
 * length; every view of a login lies inside its line, its user never holds " (ID: "
 * (a line with it twice is refused), and every forwarded entry lies inside the headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lines.h"
#include "sense/roundcube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(struct strview v, const char *line, size_t len)
{
	if (v.len == 0)
		return;
	if (v.ptr < line || v.len > len || (size_t)(v.ptr - line) > len - v.len)
		abort();
	for (size_t i = 0; i < v.len; i++)
		if (v.ptr[i] == '\0')
			abort();
}

static void
one_line(void *arg, const char *line, size_t len)
{
	struct roundcube_login l;
	int rc = roundcube_parse_line((const uint8_t *)line, len, &l);

	(void)arg;
	if (rc < 0) {
		if (strcmp(roundcube_error_name(rc), "unknown") == 0)
			abort();
		return;
	}
	if (rc >= ROUNDCUBE_KIND_COUNT || strcmp(roundcube_kind_name(rc), "unknown") == 0)
		abort();
	if (l.time.month < 1 || l.time.month > 12 || l.time.day < 1 || l.time.day > 31)
		abort();
	if (rc != ROUNDCUBE_LOGIN)
		return;
	inside(l.user, line, len);
	inside(l.remote_addr, line, len);
	inside(l.forwarded, line, len);
	if (l.user.len == 0 || l.remote_addr.len == 0 || memmem(l.user.ptr, l.user.len, " (ID: ", 6) != NULL ||
	    memchr(l.remote_addr.ptr, ' ', l.remote_addr.len) != NULL)
		abort();
	size_t pos = l.forwarded.len, n = 0;
	struct strview f;
	while (roundcube_forwarded_next(l.forwarded, &pos, &f) == 0) {
		inside(f, l.forwarded.ptr, l.forwarded.len);
		if (f.len == 0 || ++n > l.forwarded.len)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_line(data, size, one_line, NULL);
	return 0;
}
