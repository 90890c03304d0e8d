/*
 * fuzz_blocklist.c — the C&C list parsers (sense/blocklist.c) on any bytes, in every
 * format and detected: each entry a valid masked prefix of its family, every line counted
 * once under one reason, the first error's line within the lines, a malware family one
 * plain word within its bound, a stopping callback obeyed.
 *
 * Seeds (fuzz/seeds/blocklist/), realistic samples kept short:
 *   drop-text     the head of Spamhaus drop.txt of 2016/03/23 as quoted in a public test
 *                 suite (found with the code search: "; Spamhaus DROP List 2016/03/23");
 *   drop-v6-text  dropv6.txt's header form with 2a06:e480::/29 (SBL301771, a real entry);
 *   drop-v4-json  drop_v4.json lines and its metadata line as Spamhaus documents them
 *                 ({"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}, a repeated
 *                 entry as seen in a captured file, "copyright"/"terms" in the metadata);
 *   drop-v6-json  drop_v6.json with the escaped slash ("2a06:e480::\/29") some copies carry;
 *   feodo-csv     the head of abuse.ch's ipblocklist.csv of 2021-08-17 as shown in the
 *                 VAST/Tenzir documentation, two 2022/2025 rows and the "# END" trailer;
 *   plain, drop-crlf-no-final-newline, mixed-malformed, feodo-odd (columns reordered,
 *   "" escapes, a bad port, a prefix, quotes left open), too-long-line, nul-byte: ours.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sense/blocklist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
	size_t n, stop_at;
};

static int
check_entry(void *arg, const struct blocklist_entry *e)
{
	struct count *c = arg;
	unsigned bits;
	struct addr masked;

	if (e->net.addr.family == AF_INET)
		bits = 32;
	else if (e->net.addr.family == AF_INET6)
		bits = 128;
	else
		abort();
	if (e->net.prefix > bits)
		abort();
	masked = e->net.addr;
	addr_mask(&masked, e->net.prefix);
	if (memcmp(&masked, &e->net.addr, sizeof(masked)) != 0)
		abort();
	/* a family is one plain word, ended within its bound (summaries and log lines quote it) */
	if (e->family != NULL) {
		size_t n = strnlen(e->family, BLOCKLIST_FAMILY_MAX);
		if (n == 0 || n == BLOCKLIST_FAMILY_MAX || strspn(e->family, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.+_-") != n)
			abort();
	}
	if (++c->n == c->stop_at)
		return -ECANCELED;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int f = BLOCKLIST_AUTO; f <= BLOCKLIST_FEODO_CSV; f++) {
		struct blocklist_stats st;
		struct count c = { 0, 0 };

		if (blocklist_parse(data, size, (enum blocklist_format)f, check_entry, &c, &st) != 0)
			abort();
		if (c.n != st.entries ||
		    st.lines != st.entries + st.blank + st.comment + st.metadata + st.malformed + st.too_long)
			abort();
		if ((st.malformed + st.too_long > 0) != (st.first_error_line != 0) || st.first_error_line > st.lines)
			abort();
		if (f != BLOCKLIST_AUTO && st.format != (enum blocklist_format)f)
			abort();
		/* a callback that stops at the second entry stops the parse there */
		if (st.entries >= 2) {
			struct count s = { 0, 2 };
			if (blocklist_parse(data, size, (enum blocklist_format)f, check_entry, &s, &st) != -ECANCELED ||
			    s.n != 2 || st.entries != 2)
				abort();
		}
	}
	return 0;
}
