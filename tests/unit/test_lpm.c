/*
 * test_lpm.c — longest-prefix match (common/lpm.c): a table of cases (/0, /32, /128,
 * nested and overlapping prefixes, a value replaced, IPv4-mapped IPv6 kept apart from
 * IPv4, the matched prefix given back), then 100 000 random prefixes of both families,
 * nested on purpose, checked against a linear scan for random and near-prefix addresses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/lpm.h"

static struct cidr
net_of(const char *text)
{
	struct cidr c;

	assert_int_equal(cidr_parse(text, &c), 0);
	return c;
}

static struct addr
addr_of(const char *text)
{
	struct addr a;

	assert_int_equal(addr_parse(text, strlen(text), &a), 0);
	return a;
}

/* What lookup gives for text: the value and prefix, or -1 for no match. */
static long
look(const struct lpm *t, const char *text, char *prefix_out)
{
	struct addr a = addr_of(text);
	struct cidr m;
	uint32_t v;

	if (!lpm_lookup(t, &a, &v, &m))
		return -1;
	if (prefix_out != NULL)
		cidr_format(&m, prefix_out, ADDR_TEXT_MAX);
	return v;
}

static void
test_table(void **state)
{
	static const struct { const char *net; uint32_t value; } nets[] = {
		{ "10.0.0.0/8", 1 },
		{ "10.1.0.0/16", 2 },
		{ "10.1.2.0/24", 3 },
		{ "10.1.2.3/32", 4 },
		{ "10.128.0.0/9", 5 },
		{ "192.0.2.0/25", 6 },
		{ "192.0.2.128/25", 7 },
		{ "2001:db8::/32", 10 },
		{ "2001:db8:1::/48", 11 },
		{ "2001:db8:1::1/128", 12 },
		{ "a00::/8", 13 },            /* the bytes of 10.0.0.0/8, as IPv6 */
		{ "fe80::/10", 14 },
	};
	static const struct { const char *addr; long value; const char *match; } cases[] = {
		{ "10.9.9.9", 1, "10.0.0.0/8" },
		{ "10.1.9.9", 2, "10.1.0.0/16" },
		{ "10.1.2.9", 3, "10.1.2.0/24" },
		{ "10.1.2.3", 4, "10.1.2.3/32" },
		{ "10.1.2.2", 3, "10.1.2.0/24" },
		{ "10.127.255.255", 1, "10.0.0.0/8" },
		{ "10.128.0.0", 5, "10.128.0.0/9" },
		{ "11.0.0.0", -1, NULL },
		{ "9.255.255.255", -1, NULL },
		{ "192.0.2.127", 6, "192.0.2.0/25" },
		{ "192.0.2.128", 7, "192.0.2.128/25" },
		{ "192.0.3.0", -1, NULL },
		{ "2001:db8::5", 10, "2001:db8::/32" },
		{ "2001:db8:1::1", 12, "2001:db8:1::1/128" },
		{ "2001:db8:1::2", 11, "2001:db8:1::/48" },
		{ "2001:db9::", -1, NULL },
		{ "fe80::1", 14, "fe80::/10" },
		{ "febf:ffff::1", 14, "fe80::/10" },
		{ "fec0::1", -1, NULL },
		/* the same leading bytes in the other family never match */
		{ "a00::1", 13, "a00::/8" },
		{ "a01:203::", 13, "a00::/8" },
		{ "0.0.0.1", -1, NULL },
	};
	struct lpm t;
	char m[ADDR_TEXT_MAX];

	(void)state;
	lpm_init(&t);
	assert_false(lpm_lookup(&t, &(struct addr){ .family = AF_INET }, NULL, NULL));
	/* inserted in a shuffled order: the trie must not depend on it */
	for (size_t k = 0; k < 12; k++) {
		size_t i = (k * 5) % 12;
		struct cidr c = net_of(nets[i].net);
		assert_int_equal(lpm_insert(&t, &c, nets[i].value), 1);
	}
	assert_int_equal(t.prefixes, 12);
	/* through the trie alone (inserts drop the index), then through the first level */
	for (int indexed = 0; indexed <= 1; indexed++) {
		assert_true((t.index != NULL) == indexed);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			long v = look(&t, cases[i].addr, m);
			if (v != cases[i].value)
				fail_msg("%s: %ld, expected %ld", cases[i].addr, v, cases[i].value);
			if (cases[i].match != NULL && strcmp(m, cases[i].match) != 0)
				fail_msg("%s matched %s, expected %s", cases[i].addr, m, cases[i].match);
		}
		assert_int_equal(lpm_index(&t), 0);
	}
	/* an IPv4-mapped address, raw as an exporter sends it, is the IPv4 host (as
	 * addr_parse makes it), not an IPv6 address under a00::/8 or ::/0 */
	struct addr mapped = { .family = AF_INET6,
		.bytes = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3 } };
	uint32_t mv;
	struct cidr mm;
	assert_true(lpm_lookup(&t, &mapped, &mv, &mm));
	assert_int_equal(mv, 4);
	assert_string_equal(cidr_format(&mm, m, sizeof(m)), "10.1.2.3/32");
	/* and a mapped prefix of /96 or longer goes in as the IPv4 prefix it maps */
	struct cidr mnet = { .addr = mapped, .prefix = 96 + 24 };
	assert_int_equal(lpm_insert(&t, &mnet, 3), 0);       /* it is 10.1.2.0/24, already there */
	mapped.bytes[12] = 172;
	mnet.addr = mapped;
	assert_int_equal(lpm_insert(&t, &mnet, 50), 1);
	assert_int_equal(look(&t, "172.1.2.9", m), 50);
	assert_string_equal(m, "172.1.2.0/24");
	assert_int_equal(t.prefixes, 13);
	/* the same prefix again replaces the value (and host bits past the prefix are ignored) */
	struct cidr again = { .addr = addr_of("10.1.255.255"), .prefix = 16 };
	assert_int_equal(lpm_insert(&t, &again, 99), 0);
	assert_int_equal(look(&t, "10.1.9.9", NULL), 99);
	assert_int_equal(look(&t, "10.1.2.9", NULL), 3);
	assert_int_equal(t.prefixes, 13);
	/* /0 catches what nothing longer does, per family */
	struct cidr all4 = net_of("0.0.0.0/0"), all6 = net_of("::/0");
	assert_int_equal(lpm_insert(&t, &all4, 40), 1);
	assert_int_equal(look(&t, "11.0.0.0", m), 40);
	assert_string_equal(m, "0.0.0.0/0");
	assert_int_equal(look(&t, "2001:db9::", NULL), -1);
	assert_int_equal(lpm_insert(&t, &all6, 60), 1);
	for (int indexed = 0; indexed <= 1; indexed++) {
		assert_int_equal(look(&t, "2001:db9::", NULL), 60);
		assert_int_equal(look(&t, "10.1.2.3", NULL), 4);
		assert_int_equal(look(&t, "11.0.0.0", NULL), 40);
		assert_int_equal(look(&t, "255.255.255.255", NULL), 40);
		assert_int_equal(look(&t, "10.1.9.9", NULL), 99);
		assert_int_equal(look(&t, "fe80::1", NULL), 14);
		assert_int_equal(lpm_index(&t), 0);
	}
	assert_int_equal(lpm_bytes(&t), sizeof(t) + t.cap * 32 + 2 * 4096 * 8);
	/* bad input refused */
	struct cidr bad = all4;
	bad.prefix = 33;
	assert_int_equal(lpm_insert(&t, &bad, 1), -EINVAL);
	bad.addr.family = AF_UNIX;
	bad.prefix = 8;
	assert_int_equal(lpm_insert(&t, &bad, 1), -EINVAL);
	lpm_free(&t);
	assert_int_equal(look(&t, "10.1.2.3", NULL), -1);
}

/* /32 and /128 host routes alone, and /0 alone. */
static void
test_edges(void **state)
{
	struct lpm t;
	struct lpm_entry e[] = {
		{ net_of("255.255.255.255/32"), 1 },
		{ net_of("0.0.0.0/32"), 2 },
		{ net_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 3 },
		{ net_of("::/128"), 4 },
		{ net_of("::1/128"), 5 },
	};

	(void)state;
	assert_int_equal(lpm_build(&t, e, 5), 0);
	assert_int_equal(look(&t, "255.255.255.255", NULL), 1);
	assert_int_equal(look(&t, "255.255.255.254", NULL), -1);
	assert_int_equal(look(&t, "0.0.0.0", NULL), 2);
	assert_int_equal(look(&t, "0.0.0.1", NULL), -1);
	assert_int_equal(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL), 3);
	assert_int_equal(look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", NULL), -1);
	assert_int_equal(look(&t, "::", NULL), 4);
	assert_int_equal(look(&t, "::1", NULL), 5);
	assert_int_equal(look(&t, "::2", NULL), -1);
	/* ::1 against the bit in the second word only */
	assert_int_equal(look(&t, "0:0:0:1::1", NULL), -1);
	lpm_free(&t);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random prefixes crowded into few top bytes, so that they nest and overlap a lot. */
static struct cidr
random_net(void)
{
	struct cidr c;
	uint64_t r = next_rand(), s = next_rand();

	memset(&c, 0, sizeof(c));
	if (r & 1) {
		c.addr.family = AF_INET;
		memcpy(c.addr.bytes, &s, 4);
		/* mostly /16../32, and one in 500 /8../15 (few enough that many addresses
		 * fall under a short prefix and no longer one: /0 is in test_table) */
		c.addr.bytes[0] = (uint8_t)(10 + (r >> 8) % 64);
		c.prefix = (r >> 24) % 500 == 0 ? 8 + (unsigned)((r >> 16) % 8) : 16 + (unsigned)((r >> 16) % 17);
	} else {
		c.addr.family = AF_INET6;
		memcpy(c.addr.bytes, &s, 8);
		uint64_t u = next_rand();
		memcpy(c.addr.bytes + 8, &u, 8);
		c.addr.bytes[0] = 0x20;
		c.addr.bytes[1] = (uint8_t)((r >> 8) % 3);
		c.prefix = 16 + (unsigned)((r >> 16) % 113);
	}
	addr_mask(&c.addr, c.prefix);
	return c;
}

/* The last of the longest prefixes containing a (the last value given wins), or -1. */
static long
brute(const struct lpm_entry *e, size_t n, const struct addr *a, unsigned *plen)
{
	long best = -1;

	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&e[i].net, a) && (best < 0 || e[i].net.prefix >= *plen)) {
			best = e[i].value;
			*plen = e[i].net.prefix;
		}
	return best;
}

static void
test_random_against_scan(void **state)
{
	enum { N = 100000, LOOKUPS = 3000 };
	struct lpm_entry *e = calloc(N, sizeof(*e));
	struct lpm t;

	(void)state;
	assert_non_null(e);
	for (size_t i = 0; i < N; i++) {
		e[i].net = random_net();
		e[i].value = (uint32_t)i;
	}
	assert_int_equal(lpm_build(&t, e, N), 0);
	print_message("lpm: %u prefixes, %u nodes, %zu bytes\n", t.prefixes, t.used - 1, lpm_bytes(&t));
	/* indexed (lpm_build makes the first level), then through the trie alone: the last
	 * entry again, with its own value, changes no answer and drops the index */
	for (int pass = 0; pass < 2; pass++) {
		size_t matched = 0;

		assert_true((t.index != NULL) == (pass == 0));
		for (size_t k = 0; k < LOOKUPS; k++) {
			/* half near a listed prefix (host bits randomised), half anywhere */
			struct addr a;
			if (k & 1) {
				a = e[next_rand() % N].net.addr;
				uint64_t r = next_rand();
				size_t len = a.family == AF_INET ? 4 : 16;
				for (size_t b = len / 2; b < len; b++)
					a.bytes[b] ^= (uint8_t)(r >> (8 * (b % 8)));
			} else {
				/* anywhere, or anywhere under the listed top byte(s) */
				a = random_net().addr;
				uint64_t r = next_rand();
				size_t keep = (k & 2) ? (a.family == AF_INET ? 1 : 2) : 0;
				memcpy(a.bytes + keep, &r, (a.family == AF_INET ? 4 : 8) - keep);
			}
			unsigned want_len = 0;
			long want = brute(e, N, &a, &want_len);
			uint32_t got;
			struct cidr m;
			bool found = lpm_lookup(&t, &a, &got, &m);
			if (found != (want >= 0) || (found && ((long)got != want || m.prefix != want_len))) {
				char text[ADDR_TEXT_MAX];
				fail_msg("%s: lpm %s %u/%u, scan %ld/%u", addr_format(&a, text, sizeof(text)),
				         found ? "found" : "none", found ? got : 0, found ? m.prefix : 0, want, want_len);
			}
			matched += found;
		}
		/* the test means something only if both outcomes were exercised */
		print_message("lpm: %zu of %d lookups matched\n", matched, LOOKUPS);
		assert_true(matched > LOOKUPS / 4 && matched < LOOKUPS);
		assert_int_equal(lpm_insert(&t, &e[N - 1].net, e[N - 1].value), 0);
	}
	/* every listed prefix finds itself, or a later duplicate of itself */
	for (size_t i = 0; i < N; i++) {
		uint32_t got;
		struct cidr m;
		assert_true(lpm_lookup(&t, &e[i].net.addr, &got, &m));
		assert_true(m.prefix >= e[i].net.prefix);
	}
	lpm_free(&t);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random_against_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
