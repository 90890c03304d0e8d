/*
 * test_nat.c — deterministic CGNAT (RFC 7422): the RFC's own example (section 2.3),
 * pools over several public addresses, the last subscriber, port 65535, ports below the
 * first one and past the last block, the reverse mapping of every subscriber, and the
 * pools nat_pool_parse refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/nat.h"

static struct nat_pool
pool(const char *text)
{
	struct nat_pool p;
	const char *why;

	if (nat_pool_parse(text, &p, &why) != 0)
		fail_msg("%s: refused: %s", text, why);
	return p;
}

static struct addr
a(const char *s)
{
	struct addr x;
	assert_int_equal(addr_parse(s, strlen(s), &x), 0);
	return x;
}

struct lookup_case {
	const char *pub;
	int port;                 /* -1: none */
	int rc;
	const char *priv;
};

static void
run(const struct nat_pool *pools, size_t n, const struct lookup_case *c, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct addr pub = a(c[i].pub), priv;
		char buf[ADDR_TEXT_MAX];
		int rc = nat_lookup(pools, n, &pub, c[i].port >= 0, (uint16_t)(c[i].port >= 0 ? c[i].port : 0), &priv);
		if (rc != c[i].rc)
			fail_msg("%s:%d: %d (%s), want %d", c[i].pub, c[i].port, rc, nat_error_name(rc), c[i].rc);
		if (rc == 1 && strcmp(addr_format(&priv, buf, sizeof(buf)), c[i].priv) != 0)
			fail_msg("%s:%d: %s, want %s", c[i].pub, c[i].port, buf, c[i].priv);
	}
}

/* RFC 7422 section 2.3: inside 198.51.100.1-14 behind 192.0.2.1, 4032 ports each from
 * 1024 (its table), the RFC's two abuse reports: port 2001 is subscriber 1, port 58204
 * lies in the dynamic pool (57472-65535) only the CGN's log can attribute. */
static void
test_rfc7422_example(void **state)
{
	(void)state;
	struct nat_pool p = pool("192.0.2.1 198.51.100.1-198.51.100.14 4032");
	static const struct lookup_case c[] = {
		{ "192.0.2.1", 2001, 1, "198.51.100.1" },
		{ "192.0.2.1", 58204, -NAT_E_UNMAPPED, NULL },
		{ "192.0.2.1", 1024, 1, "198.51.100.1" },
		{ "192.0.2.1", 5055, 1, "198.51.100.1" },
		{ "192.0.2.1", 5056, 1, "198.51.100.2" },
		{ "192.0.2.1", 9087, 1, "198.51.100.2" },
		{ "192.0.2.1", 53440, 1, "198.51.100.14" },
		{ "192.0.2.1", 57471, 1, "198.51.100.14" },
		{ "192.0.2.1", 57472, -NAT_E_UNMAPPED, NULL },
		{ "192.0.2.1", 65535, -NAT_E_UNMAPPED, NULL },
		{ "192.0.2.1", 1023, -NAT_E_LOW_PORT, NULL },
		{ "192.0.2.1", 0, -NAT_E_LOW_PORT, NULL },
		{ "192.0.2.1", -1, -NAT_E_NO_PORT, NULL },
		{ "192.0.2.2", 2001, 0, NULL },
		{ "198.51.100.1", 2001, 0, NULL },
		{ "2001:db8::1", 2001, 0, NULL },
	};
	run(&p, 1, c, sizeof(c) / sizeof(c[0]));

	/* the RFC's table, every row, both ways */
	for (unsigned i = 1; i <= 14; i++) {
		char s[32];
		struct addr pub, priv;
		uint16_t lo, hi;
		snprintf(s, sizeof(s), "198.51.100.%u", i);
		priv = a(s);
		assert_int_equal(nat_reverse(&p, 1, &priv, &pub, &lo, &hi), 1);
		struct addr want = a("192.0.2.1");
		assert_true(addr_equal(&pub, &want));
		assert_int_equal(lo, 1024 + (i - 1) * 4032);
		assert_int_equal(hi, 1024 + i * 4032 - 1);
	}
	struct addr out = a("198.51.100.15"), pub;
	uint16_t lo, hi;
	assert_int_equal(nat_reverse(&p, 1, &out, &pub, &lo, &hi), 0);
}

/* Several public addresses: each takes floor((65536 - first) / ports) subscribers in
 * turn; the last subscriber; port 65535 when the ports divide evenly; a private range
 * that fills the public ports only part way. */
static void
test_pools(void **state)
{
	(void)state;
	struct nat_pool p[3] = {
		pool("198.51.100.0/30 100.64.0.0/24 1000 1024"),   /* 64 a public address, the /24 exactly */
		pool("192.0.2.0/31 100.64.1.0/29 16128"),          /* 4 each, 1024 + 4 * 16128 = 65536 */
		pool("192.0.2.8/30 100.64.2.0-100.64.2.9 16128"),  /* 10 of 16 places used */
	};
	static const struct lookup_case c[] = {
		{ "198.51.100.0", 1024, 1, "100.64.0.0" },
		{ "198.51.100.0", 2024, 1, "100.64.0.1" },
		{ "198.51.100.0", 65023, 1, "100.64.0.63" },
		{ "198.51.100.1", 1024, 1, "100.64.0.64" },
		{ "198.51.100.3", 64024, 1, "100.64.0.255" },       /* the last subscriber */
		{ "198.51.100.3", 65023, 1, "100.64.0.255" },
		{ "198.51.100.3", 65024, -NAT_E_UNMAPPED, NULL },   /* 64512 % 1000: nobody's */
		{ "198.51.100.3", 65535, -NAT_E_UNMAPPED, NULL },
		{ "198.51.100.4", 2000, 0, NULL },
		{ "192.0.2.1", 65535, 1, "100.64.1.7" },
		{ "192.0.2.0", 65535, 1, "100.64.1.3" },
		{ "192.0.2.1", 1024, 1, "100.64.1.4" },
		{ "192.0.2.10", 17152, 1, "100.64.2.9" },
		{ "192.0.2.10", 33280, -NAT_E_UNMAPPED, NULL },     /* past the last private address */
		{ "192.0.2.11", 1024, -NAT_E_UNMAPPED, NULL },
		{ "192.0.2.11", 80, -NAT_E_LOW_PORT, NULL },
		{ "192.0.2.11", -1, -NAT_E_NO_PORT, NULL },
	};
	run(p, 3, c, sizeof(c) / sizeof(c[0]));

	/* every subscriber of every pool back and forth: its first and last port name it,
	 * the port after its block someone else or nobody */
	for (size_t i = 0; i < 3; i++)
		for (uint32_t x = p[i].private_first; x <= p[i].private_last; x++) {
			struct addr priv = { .family = AF_INET, .bytes = { x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255 } };
			struct addr pub, back;
			uint16_t lo, hi;
			assert_int_equal(nat_reverse(p, 3, &priv, &pub, &lo, &hi), 1);
			assert_int_equal(hi - lo + 1, p[i].ports);
			assert_int_equal(nat_lookup(p, 3, &pub, true, lo, &back), 1);
			assert_true(addr_equal(&back, &priv));
			assert_int_equal(nat_lookup(p, 3, &pub, true, hi, &back), 1);
			assert_true(addr_equal(&back, &priv));
			if (hi < 65535 && nat_lookup(p, 3, &pub, true, (uint16_t)(hi + 1), &back) == 1)
				assert_false(addr_equal(&back, &priv));
		}
	assert_string_equal(nat_error_name(-NAT_E_NO_PORT), "no_port");
	assert_string_equal(nat_error_name(-NAT_ERROR_COUNT), "unknown");
}

static void
test_parse(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "192.0.2.1", "192.0.2.1 100.64.0.0/24", "x y 10", "192.0.2.1 100.64.0.0/24 0",
		"192.0.2.1 100.64.0.0/24 70000", "192.0.2.1 100.64.0.0/24 1000 0", "192.0.2.1 100.64.0.0/24 1000 70000",
		"192.0.2.1 100.64.0.0/24 1000 1024 5", "192.0.2.1 100.64.0.0/24 -1", "192.0.2.1 100.64.0.0/24 10x",
		"192.0.2.1 100.64.0.0/24 1000",             /* 256 subscribers, 64 places */
		"192.0.2.1 100.64.0.1 64513",               /* more than 65536 - 1024 ports */
		"192.0.2.1 100.64.0.1 1 65535 ",            /* fine: one port */
		"192.0.2.5-192.0.2.1 100.64.0.1 1000",      /* reversed */
		"192.0.2.1/24 100.64.0.1 1000",             /* bits past the prefix */
		"2001:db8::/64 100.64.0.0/24 1000",
		"192.0.2.0/24 2001:db8::-2001:db8::ff 1000",
	};
	struct nat_pool p;
	const char *why;
	char buf[NAT_POOL_TEXT_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = nat_pool_parse(bad[i], &p, &why);
		if (i == 13)
			assert_int_equal(rc, 0);
		else if (rc != -1)
			fail_msg("%s: read", bad[i]);
	}
	assert_int_equal(nat_pool_parse("2001:db8::/64 100.64.0.0/24 1000", &p, &why), -1);
	assert_non_null(strstr(why, "IPv4"));
	assert_int_equal(nat_pool_parse("192.0.2.1 100.64.0.0/24 1000", &p, &why), -1);
	assert_non_null(strstr(why, "private"));

	/* printed as read, the networks as networks, the first port always */
	p = pool("192.0.2.0/24  100.64.0.0/18\t1000");
	assert_string_equal(nat_pool_format(&p, buf, sizeof(buf)), "192.0.2.0/24 100.64.0.0/18 1000 1024");
	p = pool("192.0.2.1 198.51.100.1-198.51.100.14 4032 1024");
	assert_string_equal(nat_pool_format(&p, buf, sizeof(buf)), "192.0.2.1 198.51.100.1-198.51.100.14 4032 1024");
	struct nat_pool q = pool(buf);
	assert_memory_equal(&p, &q, sizeof(p));

	struct nat_pool x = pool("192.0.2.0/30 100.64.0.0/24 1000"), y = pool("192.0.2.3 100.65.0.0/26 1000"),
	                z = pool("192.0.2.4/30 100.64.0.255 1000"), w = pool("192.0.2.4/30 100.64.1.0/24 1000");
	assert_true(nat_pools_overlap(&x, &y));      /* a public address */
	assert_true(nat_pools_overlap(&x, &z));      /* a private one */
	assert_false(nat_pools_overlap(&x, &w));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7422_example),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
