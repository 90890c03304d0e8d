/*
 * test_nfdump_csv.c — the nfdump CSV reader on real nfdump 1.7.1 output
 * (tests/unit/data/flows/nfdump-1.7.1.csv: nfcapd 1.7.1 fed the softflowd and pmacct
 * captures beside it, then `nfdump -r FILE -o csv`; see the README there) and on every
 * way a line can be wrong.
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

#include "sense/nfdump_csv.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data/flows"
#endif

#define HEADER "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb," \
	"svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
#define TAIL ",0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00," \
	"00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000," \
	"127.0.0.1,0/0,1,2026-12-04 19:51:07.756"

static int
line(struct nfdump_csv *c, const char *text, struct flow_record *r)
{
	return nfdump_csv_line(c, text, strlen(text), r);
}

/* Every record of the real file: 25, as nfdump's own summary says, each as it printed it. */
static void
test_real_file(void **state)
{
	(void)state;
	FILE *fp = fopen(DATA_DIR "/nfdump-1.7.1.csv", "r");
	char buf[8192];
	struct nfdump_csv c;
	struct flow_record r, first = { 0 }, v6 = { 0 };
	size_t records = 0, skipped = 0;
	uint64_t packets = 0, bytes = 0;

	assert_non_null(fp);
	nfdump_csv_init(&c);
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		size_t len = strcspn(buf, "\n");
		int rc = nfdump_csv_line(&c, buf, len, &r);
		if (rc == 1) {
			if (records == 0)
				first = r;
			if (r.src.family == AF_INET6 && v6.src.family == 0)
				v6 = r;
			records++;
			packets += r.packets;
			bytes += r.bytes;
		} else if (rc < 0)
			skipped++;
	}
	fclose(fp);
	assert_int_equal(records, 25);          /* "Summary ... 25,19904,90" */
	assert_int_equal(bytes, 19904);
	assert_int_equal(packets, 90);
	assert_int_equal(skipped, 0);
	/* 2026-12-04 19:26:42,2026-12-04 19:26:44,2.039,127.0.0.2,127.0.0.3,0,2048,ICMP,........,...,3,252 */
	assert_int_equal(first.src.family, AF_INET);
	assert_memory_equal(first.src.bytes, "\x7f\x00\x00\x02", 4);
	assert_memory_equal(first.dst.bytes, "\x7f\x00\x00\x03", 4);
	assert_int_equal(first.proto, 1);
	assert_int_equal(first.dst_port, 2048);            /* echo request: type 8 << 8 */
	assert_int_equal(first.packets, 3);
	assert_int_equal(first.bytes, 252);
	assert_int_equal(first.last - first.first, 2 * USEC_PER_SEC);
	assert_memory_equal(first.exporter.bytes, "\x7f\x00\x00\x01", 4);
	/* [::1]:40003 > [::1]:9998 UDP, 2 packets, 496 bytes */
	assert_int_equal(v6.proto, 17);
	assert_int_equal(v6.src_port, 40003);
	assert_int_equal(v6.dst_port, 9998);
	assert_int_equal(v6.bytes, 496);
}

static void
test_fields(void **state)
{
	(void)state;
	struct nfdump_csv c;
	struct flow_record r;

	nfdump_csv_init(&c);
	assert_int_equal(line(&c, HEADER, &r), 0);
	assert_int_equal(line(&c, "2026-12-04 19:26:44.250,2026-12-04 19:26:44.750,0.500,198.51.100.7,203.0.113.9,"
	    "49152,25,TCP,......S.,0,0,1,60" TAIL, &r), 1);
	assert_int_equal(r.tcp_flags, 0x02);
	assert_int_equal(r.proto, 6);
	assert_int_equal(r.dst_port, 25);
	assert_int_equal(r.last - r.first, 500000);
	assert_int_equal(line(&c, "2026-12-04 19:26:44,2026-12-04 19:26:44,0.000,198.51.100.7,203.0.113.9,"
	    "1,2,47,CEUAPRSF,0,0,18446744073709551615,1" TAIL, &r), 1);   /* a number as protocol; every flag */
	assert_int_equal(r.proto, 47);
	assert_int_equal(r.tcp_flags, 0xff);
	assert_int_equal(r.packets, UINT64_MAX);
	/* the columns by name: another order, fewer columns, no ra */
	assert_int_equal(line(&c, "ts,te,sa,da,sp,dp,pr,flg,ipkt,ibyt", &r), 0);
	assert_int_equal(line(&c, "2026-12-04 19:26:44,2026-12-04 19:26:45,2001:db8::1,2001:db8::2,1,2,UDP,........,"
	    "2,200", &r), 1);
	assert_int_equal(r.src.family, AF_INET6);
	assert_int_equal(r.exporter.family, 0);
	assert_int_equal(r.bytes, 200);
	/* the totals after "Summary" are no flows */
	assert_int_equal(line(&c, "Summary", &r), 0);
	assert_int_equal(line(&c, "flows,bytes,packets,avg_bps,avg_pps,avg_bpp", &r), 0);
	assert_int_equal(line(&c, "25,19904,90,0,0,221", &r), 0);
}

/* Each bad line: refused with its reason, the reader going on with the next. */
static void
test_bad_lines(void **state)
{
	(void)state;
	static const struct { const char *line; int rc; } cases[] = {
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_NO_HEADER },
		{ "ts,te,sa,da,sp,dp,pr,flg,ipkt", -NFDUMP_E_HEADER },           /* no ibyt */
		{ HEADER, 0 },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1,1", -NFDUMP_E_COLUMNS },
		{ "2026-13-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_TIME },
		{ "2026-12-04T19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_TIME },
		{ "2026-12-04 19:26:44,2026-12-04 19:26,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_TIME },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.400,5.6.7.8,1,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_ADDRESS },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,host.example,1,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_ADDRESS },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,65536,2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_NUMBER },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,-2,TCP,........,0,0,1,1" TAIL, -NFDUMP_E_NUMBER },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1.5 M,1" TAIL, -NFDUMP_E_NUMBER },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,18446744073709551616,1" TAIL, -NFDUMP_E_NUMBER },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,XTP,........,0,0,1,1" TAIL, -NFDUMP_E_PROTOCOL },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,256,........,0,0,1,1" TAIL, -NFDUMP_E_PROTOCOL },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,...AP.S,0,0,1,1" TAIL, -NFDUMP_E_FLAGS },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,...AP.SX,0,0,1,1" TAIL, -NFDUMP_E_FLAGS },
		{ "", 0 },
		{ "2026-12-04 19:26:44,2026-12-04 19:26:44,0.0,1.2.3.4,5.6.7.8,1,2,TCP,........,0,0,1,1" TAIL, 1 },
	};
	struct nfdump_csv c;
	struct flow_record r;

	nfdump_csv_init(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = line(&c, cases[i].line, &r);
		if (rc != cases[i].rc)
			fail_msg("line %zu (%.60s...): %d (%s), expected %d", i, cases[i].line, rc, nfdump_csv_error_name(rc),
			    cases[i].rc);
	}
	/* too long, and a name for every error */
	static char big[NFDUMP_CSV_LINE_MAX + 2];
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(line(&c, big, &r), -NFDUMP_E_TOO_LONG);
	for (int e = 1; e < NFDUMP_CSV_ERROR_COUNT; e++)
		assert_string_not_equal(nfdump_csv_error_name(-e), "unknown");
	assert_string_equal(nfdump_csv_error_name(0), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_file),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_bad_lines),
	};
	setenv("TZ", "UTC", 1);           /* nfdump printed the file's times in UTC */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
