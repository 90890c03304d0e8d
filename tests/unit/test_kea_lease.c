/*
 * test_kea_lease.c — Kea's memfile lease files, as Kea 2.2.0 wrote them for a real
 * dhclient (tests/unit/data/kea/, README.md there), and every way a line can be wrong.
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

#include "sense/kea_lease.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data/kea"
#endif

#define V4_HEADER "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state," \
	"user_context"
#define V6_HEADER "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd," \
	"fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source"

/* Every lease of file, in order, into out[]; their count. */
static size_t
read_file(const char *name, struct kea_lease *out, size_t max, char lines[][512])
{
	char path[512];
	FILE *fp;
	struct kea_lease_reader r;
	size_t n = 0, i = 0;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	assert_non_null(fp = fopen(path, "r"));
	kea_lease_reader_init(&r);
	while (i < max && fgets(lines[i], 512, fp) != NULL) {
		int rc = kea_lease_line(&r, lines[i], strcspn(lines[i], "\n"), &out[n]);
		assert_true(rc >= 0);
		if (rc == 1)
			n++;
		i++;
	}
	fclose(fp);
	return n;
}

static bool
sv_is(struct strview v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

static void
test_real_v4(void **state)
{
	(void)state;
	static char lines[8][512];
	struct kea_lease l[8];
	char text[64];

	assert_int_equal(read_file("kea-leases4.csv", l, 8, lines), 2);
	assert_string_equal(cidr_format(&l[0].net, text, sizeof(text)), "100.64.0.10/32");
	assert_true(sv_is(l[0].hwaddr, "02:00:00:00:00:01"));
	assert_int_equal(l[0].client_id.len, 0);
	assert_int_equal(l[0].valid_lifetime, 600);
	assert_int_equal(l[0].expire, 1796414843);
	assert_int_equal(l[0].subnet_id, 1);
	assert_true(sv_is(l[0].hostname, "vm"));
	assert_int_equal(l[0].state, 0);
	assert_int_equal(l[0].type, KEA_LEASE_NA);
	assert_string_equal(cidr_format(&l[1].net, text, sizeof(text)), "100.64.0.11/32");
	assert_true(sv_is(l[1].hwaddr, "02:00:00:00:00:02"));
}

static void
test_real_v6(void **state)
{
	(void)state;
	static char lines[8][512];
	struct kea_lease l[8];
	char text[64];

	assert_int_equal(read_file("kea-leases6.csv", l, 8, lines), 3);
	assert_string_equal(cidr_format(&l[0].net, text, sizeof(text)), "2001:db8:10::100/128");
	assert_int_equal(l[0].type, KEA_LEASE_NA);
	assert_true(sv_is(l[0].client_id, "00:01:00:01:32:a5:d7:a5:02:00:00:00:00:01"));
	assert_true(sv_is(l[0].hwaddr, "02:00:00:00:00:01"));
	assert_string_equal(cidr_format(&l[1].net, text, sizeof(text)), "2001:db8:1000::/56");
	assert_int_equal(l[1].type, KEA_LEASE_PD);
	assert_int_equal(l[1].valid_lifetime, 600);
	/* the release: the address again, valid_lifetime 0 */
	assert_string_equal(cidr_format(&l[2].net, text, sizeof(text)), "2001:db8:10::100/128");
	assert_int_equal(l[2].valid_lifetime, 0);
}

static void
test_bad_lines(void **state)
{
	(void)state;
	static const struct { const char *line; int rc; } cases[] = {
		{ "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,vm,0,", -KEA_E_NO_HEADER },
		{ "address,hwaddr,valid_lifetime,expire", -KEA_E_HEADER },            /* no subnet_id */
		{ "address,hwaddr,valid_lifetime,expire,subnet_id", -KEA_E_HEADER },  /* neither v4 nor v6 */
		{ V4_HEADER, 0 },
		{ "100.64.0.10,02:00:00:00:00:01,,600,1796414843", -KEA_E_COLUMNS },
		{ "100.64.0.300,02:00:00:00:00:01,,600,1796414843,1,0,0,vm,0,", -KEA_E_ADDRESS },
		{ "2001:db8::1,02:00:00:00:00:01,,600,1796414843,1,0,0,vm,0,", -KEA_E_ADDRESS },   /* v6 in a v4 file */
		{ "100.64.0.10,02:00:00:00:00:01,,-1,1796414843,1,0,0,vm,0,", -KEA_E_NUMBER },
		{ "100.64.0.10,02:00:00:00:00:01,,600,17964148430000000000000,1,0,0,vm,0,", -KEA_E_NUMBER },
		{ "100.64.0.10,02:00:00:00:00:01,,600,1796414843,x,0,0,vm,0,", -KEA_E_NUMBER },
		{ "100.64.0.10,02:00:00:00:00:01,,600,1796414843,1,0,0,vm,zero,", -KEA_E_NUMBER },
		{ "", 0 },
		{ "100.64.0.12,,01:02:03,600,1796414843,1,0,0,a&#x2cb,0,{ \"ISC\": { \"relay-agent-info\": 1 } }", 1 },
		{ V6_HEADER, 0 },
		{ "100.64.0.12,00:01,600,1796414843,1,300,0,1,128,0,0,,,0,,1,2", -KEA_E_ADDRESS },   /* v4 in a v6 file */
		{ "2001:db8:1000::,00:01,600,1796414843,1,300,2,1,0,0,0,,,0,,1,2", -KEA_E_PREFIX },   /* /0 */
		{ "2001:db8:1000::,00:01,600,1796414843,1,300,2,1,129,0,0,,,0,,1,2", -KEA_E_PREFIX },
		{ "2001:db8:1000:100::,00:01,600,1796414843,1,300,2,1,48,0,0,,,0,,1,2", -KEA_E_PREFIX }, /* bits past /48 */
		{ "2001:db8:1000::,00:01,600,1796414843,1,300,3,1,56,0,0,,,0,,1,2", -KEA_E_NUMBER },   /* lease_type 3 */
		{ "2001:db8:1000::,00:01,600,1796414843,1,300,2,1,56,0,0,,,0,,1,2", 1 },
	};
	struct kea_lease_reader r;
	struct kea_lease l;

	kea_lease_reader_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = kea_lease_line(&r, cases[i].line, strlen(cases[i].line), &l);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): %d (%s), expected %d", i, cases[i].line, rc, kea_lease_error_name(rc),
			    cases[i].rc);
	}
	static char big[KEA_LEASE_LINE_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(kea_lease_line(&r, big, strlen(big), &l), -KEA_E_TOO_LONG);
	for (int e = 1; e < KEA_LEASE_ERROR_COUNT; e++)
		assert_string_not_equal(kea_lease_error_name(-e), "unknown");
}

/* Kea's escaped comma, and a buffer too small. */
static void
test_unescape(void **state)
{
	(void)state;
	char out[16];
	struct strview v = { .ptr = "a&#x2cb&#x2c&#x2", .len = 16 };

	assert_int_equal(kea_unescape(v, out, sizeof(out)), 8);
	assert_string_equal(out, "a,b,&#x2");
	assert_int_equal(kea_unescape(v, out, 3), 2);
	assert_string_equal(out, "a,");
	assert_int_equal(kea_unescape(v, out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_v4),
		cmocka_unit_test(test_real_v6),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_unescape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
