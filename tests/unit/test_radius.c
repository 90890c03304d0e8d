/*
 * test_radius.c — the RADIUS accounting parser on radclient's own packets
 * (tests/unit/data/radius/, README.md there), the authenticator both ways, and every
 * way a packet can be malformed (RFC 2865 §3, §5; RFC 3162 for the IPv6 prefixes).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sense/radius.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data/radius"
#endif

static uint8_t capture[4096];
static size_t off[3], lens[3];

static int
load(void **state)
{
	(void)state;
	FILE *fp = fopen(DATA_DIR "/acct-requests.bin", "rb");
	size_t n, o = 0;

	if (fp == NULL)
		return -1;
	n = fread(capture, 1, sizeof(capture), fp);
	fclose(fp);
	for (int i = 0; i < 3; i++) {
		if (o + 2 > n)
			return -1;
		lens[i] = (size_t)capture[o] << 8 | capture[o + 1];
		off[i] = o + 2;
		o += 2 + lens[i];
	}
	return o == n ? 0 : -1;
}

static const uint8_t secret[] = "testing123";
#define SECRET secret, sizeof(secret) - 1

static bool
sv_is(struct strview v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

static void
test_radclient_start(void **state)
{
	(void)state;
	struct radius_packet p;
	const uint8_t *b = capture + off[0];
	char text[64];

	assert_int_equal(radius_parse(b, lens[0], &p), 0);
	assert_int_equal(p.code, RADIUS_ACCOUNTING_REQUEST);
	assert_int_equal(p.identifier, 195);
	assert_int_equal(p.length, 173);
	assert_int_equal(p.acct_status_type, RADIUS_STATUS_START);
	assert_true(sv_is(p.user_name, "alice@isp.example"));
	assert_true(sv_is(p.acct_session_id, "0A000001-00000001"));
	assert_true(sv_is(p.calling_station_id, "02-00-00-00-00-01"));
	assert_true(sv_is(p.nas_identifier, "bng1.example"));
	assert_true(sv_is(p.nas_port_id, "xe-0/0/1.100:100"));
	assert_string_equal(addr_format(&p.framed_ip, text, sizeof(text)), "100.64.0.10");
	assert_string_equal(addr_format(&p.nas_ip, text, sizeof(text)), "192.0.2.1");
	assert_true(p.framed_ipv6_prefix.set);
	assert_string_equal(cidr_format(&p.framed_ipv6_prefix.net, text, sizeof(text)), "2001:db8:10:1::/64");
	assert_string_equal(cidr_format(&p.delegated_ipv6_prefix.net, text, sizeof(text)), "2001:db8:1000:100::/56");
	assert_true(p.has_event_timestamp);
	assert_int_equal(p.event_timestamp, 1764800000);
	assert_int_equal(p.attributes, 11);
	assert_true(radius_acct_verify(b, &p, SECRET));
	assert_false(radius_acct_verify(b, &p, (const uint8_t *)"testing124", 10));
	assert_false(radius_acct_verify(b, &p, secret, sizeof(secret) - 2));   /* "testing12" */
}

static void
test_radclient_stop_and_on(void **state)
{
	(void)state;
	struct radius_packet p;

	assert_int_equal(radius_parse(capture + off[1], lens[1], &p), 0);
	assert_int_equal(p.acct_status_type, RADIUS_STATUS_STOP);
	assert_int_equal(p.event_timestamp, 1764803600);
	assert_true(sv_is(p.acct_session_id, "0A000001-00000001"));
	assert_false(p.framed_ipv6_prefix.set);
	assert_true(radius_acct_verify(capture + off[1], &p, SECRET));
	assert_int_equal(radius_parse(capture + off[2], lens[2], &p), 0);
	assert_int_equal(p.acct_status_type, RADIUS_STATUS_ON);
	assert_int_equal(p.user_name.len, 0);
	assert_int_equal(p.framed_ip.family, 0);
	assert_true(radius_acct_verify(capture + off[2], &p, SECRET));
}

/* The Accounting-Response: its authenticator as computed apart (README.md). */
static void
test_response(void **state)
{
	(void)state;
	static const char *const want[3] = { "05c300145fb10156cce5a5e290388edd5e740acd",
	    "05e20014d44e6221d595704b8c2f5c3b93bfa15e", "05a40014cb3bdd1a96b111c15021a10dda108e6d" };
	struct radius_packet p;
	uint8_t out[RADIUS_HEADER_LEN];
	char hex[2 * RADIUS_HEADER_LEN + 1];

	for (int i = 0; i < 3; i++) {
		assert_int_equal(radius_parse(capture + off[i], lens[i], &p), 0);
		radius_acct_response(&p, SECRET, out);
		for (int k = 0; k < RADIUS_HEADER_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02x", out[k]);
		assert_string_equal(hex, want[i]);
	}
}

/* The NAS's side: radclient's authenticators, made again from the packets and the secret. */
static void
test_sign(void **state)
{
	(void)state;
	uint8_t b[RADIUS_MAX_LEN];

	for (int i = 0; i < 3; i++) {
		memcpy(b, capture + off[i], lens[i]);
		radius_acct_sign(b, lens[i], SECRET);
		assert_memory_equal(b, capture + off[i], lens[i]);
		radius_acct_sign(b, lens[i], (const uint8_t *)"testing124", 10);
		assert_memory_not_equal(b + 4, capture + off[i] + 4, 16);
	}
}

/* A copy of the Start packet to break, in a buffer of exactly its length. */
static uint8_t *
start_copy(size_t extra)
{
	uint8_t *b = malloc(lens[0] + extra);
	assert_non_null(b);
	memcpy(b, capture + off[0], lens[0]);
	memset(b + lens[0], 0, extra);
	return b;
}

static void
test_malformed(void **state)
{
	(void)state;
	struct radius_packet p;
	uint8_t *b;
	size_t n = lens[0];

	/* shorter than a header; Length past the datagram, under 20, over 4096 */
	b = start_copy(0);
	assert_int_equal(radius_parse(b, 19, &p), -RADIUS_E_SHORT);
	assert_int_equal(radius_parse(b, n - 1, &p), -RADIUS_E_LENGTH);
	b[2] = 0, b[3] = 19;
	assert_int_equal(radius_parse(b, n, &p), -RADIUS_E_LENGTH);
	b[2] = 0x10, b[3] = 1;
	assert_int_equal(radius_parse(b, n, &p), -RADIUS_E_LENGTH);
	free(b);

	/* octets past Length are padding: ignored, and the authenticator still holds */
	b = start_copy(7);
	assert_int_equal(radius_parse(b, n + 7, &p), 0);
	assert_int_equal(p.attributes, 11);
	assert_true(radius_acct_verify(b, &p, SECRET));
	free(b);

	/* the first attribute (Acct-Status-Type at 20) with length 0, 1, past the packet */
	b = start_copy(0);
	for (int bad = 0; bad < 3; bad++) {
		b[21] = bad == 2 ? 200 : (uint8_t)bad;
		assert_int_equal(radius_parse(b, n, &p), -RADIUS_E_ATTRIBUTE);
	}
	free(b);

	/* Length cutting the last attribute in two */
	b = start_copy(0);
	b[3] = (uint8_t)(n - 3);
	assert_int_equal(radius_parse(b, n, &p), -RADIUS_E_ATTRIBUTE);
	free(b);

	/* a tampered value: parses, fails the authenticator */
	b = start_copy(0);
	for (size_t i = RADIUS_HEADER_LEN; i + 6 <= n; i += b[i + 1])
		if (b[i] == 8) {
			b[i + 5] = 20;                             /* 100.64.0.20: another subscriber's address */
			break;
		}
	assert_int_equal(radius_parse(b, n, &p), 0);
	assert_int_equal(p.framed_ip.bytes[3], 20);
	assert_false(radius_acct_verify(b, &p, SECRET));
	free(b);
}

/* Used attributes of the wrong size, and the IPv6 prefixes of RFC 3162. */
static void
test_values(void **state)
{
	(void)state;
	static const struct { uint8_t attr[24]; size_t len; int rc; const char *prefix; } cases[] = {
		{ { 8, 7, 100, 64, 0, 10, 1 }, 7, -RADIUS_E_VALUE, NULL },             /* Framed-IP of 5 */
		{ { 4, 5, 192, 0, 2 }, 5, -RADIUS_E_VALUE, NULL },                     /* NAS-IP of 3 */
		{ { 40, 5, 0, 0, 1 }, 5, -RADIUS_E_VALUE, NULL },                      /* a 3-byte integer */
		{ { 97, 3, 0 }, 3, -RADIUS_E_VALUE, NULL },                            /* no length byte */
		{ { 97, 4, 0, 129 }, 4, -RADIUS_E_VALUE, NULL },                       /* /129 */
		{ { 97, 5, 0, 64, 0x20 }, 5, -RADIUS_E_VALUE, NULL },                  /* /64 in 1 byte */
		{ { 97, 4, 0, 0 }, 4, 0, "::/0" },
		{ { 97, 12, 0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x10, 0x00, 0x01, 0xff }, 12, 0, "2001:db8:1000:100::/56" },
		{ { 123, 20, 0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff }, 20, 0, "2001:db8:1::/48" },                            /* bits past /48 masked */
		{ { 97, 21, 0, 64 }, 21, -RADIUS_E_VALUE, NULL },                      /* 17 prefix bytes */
	};
	uint8_t b[64];
	struct radius_packet p;
	char text[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = RADIUS_HEADER_LEN + cases[i].len;
		memset(b, 0, sizeof(b));
		b[0] = RADIUS_ACCOUNTING_REQUEST;
		b[3] = (uint8_t)n;
		memcpy(b + RADIUS_HEADER_LEN, cases[i].attr, cases[i].len);
		b[RADIUS_HEADER_LEN + 1] = (uint8_t)cases[i].len;
		int rc = radius_parse(b, n, &p);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %d (%s), expected %d", i, rc, radius_error_name(rc), cases[i].rc);
		if (cases[i].prefix != NULL) {
			const struct radius_prefix *px = cases[i].attr[0] == 97 ? &p.framed_ipv6_prefix :
			    &p.delegated_ipv6_prefix;
			assert_true(px->set);
			assert_string_equal(cidr_format(&px->net, text, sizeof(text)), cases[i].prefix);
		}
	}
	for (int e = 1; e < RADIUS_ERROR_COUNT; e++)
		assert_string_not_equal(radius_error_name(-e), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_radclient_start),
		cmocka_unit_test(test_radclient_stop_and_on),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests(tests, load, NULL);
}
