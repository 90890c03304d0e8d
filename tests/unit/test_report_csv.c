/*
 * test_report_csv.c — Shadowserver's CSV reports: every file of the corpus
 * tests/data/reports/shadowserver/ (README.md there) read under its own name and
 * compared with its .expect file, the type guessed from the columns without a name, the
 * quoted splitter, and every way a line can be hostile.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "common/csv.h"
#include "sense/report_csv.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data/reports/shadowserver"
#endif

struct text {
	char *buf;
	size_t len, size;
};

static void
text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n + 1 > t->size) {
		t->size = (t->len + n + 1) * 2;
		assert_non_null(t->buf = realloc(t->buf, t->size));
	}
	memcpy(t->buf + t->len, s, n + 1);
	t->len += n;
}

/* One event as the .expect files write it: tab-separated, "-" for nothing. */
static int
print_event(void *arg, const struct report_event *ev)
{
	char line[1024], a[ADDR_TEXT_MAX], t[64], port[8];

	snprintf(port, sizeof(port), "%u", ev->port);
	snprintf(line, sizeof(line), "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", report_kind_name(ev->kind),
		addr_format(&ev->addr, a, sizeof(a)), ev->has_port ? port : "-",
		ev->time != 0 ? time_format(ev->time, t, sizeof(t)) : "-", ev->family[0] ? ev->family : "-", ev->type,
		ev->detail[0] ? ev->detail : "-");
	assert_string_equal(ev->format, "shadowserver");
	text_add(arg, line);
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* The events and the refusals of one file, as its .expect has them. */
static void
run_file(const char *name)
{
	char path[1024], *csv, *expect;
	size_t len, elen;
	struct text got = { 0 };
	struct report_csv_stats st = { 0 };

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	assert_non_null(csv = slurp(path, &len));
	assert_int_equal(report_csv_read(csv, len, path, print_event, &got, &st), 0);
	for (int e = 1; e < REPORT_CSV_ERROR_COUNT; e++)
		if (st.refused[e] > 0) {
			char line[128];
			snprintf(line, sizeof(line), "refused\t%s\t%llu\n", report_csv_error_name(-e),
				(unsigned long long)st.refused[e]);
			text_add(&got, line);
		}
	text_add(&got, "");
	snprintf(path + strlen(path) - 4, 8, ".expect");
	if (getenv("REPORT_CSV_UPDATE") != NULL) {
		/* REPORT_CSV_UPDATE=1: rewrite the .expect files (review the diff) */
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(got.buf, fp);
		fclose(fp);
	}
	expect = slurp(path, &elen);
	if (expect == NULL || strcmp(expect, got.buf) != 0) {
		print_message("%s: got\n%s", name, got.buf);
		fail_msg("%s differs from %s", name, path);
	}
	free(expect);
	free(got.buf);
	free(csv);
}

static void
test_corpus(void **state)
{
	(void)state;
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	int files = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n > 4 && strcmp(de->d_name + n - 4, ".csv") == 0) {
			run_file(de->d_name);
			files++;
		}
	}
	closedir(d);
	assert_true(files >= 12);
}

#define SINKHOLE_HEADER "\"timestamp\",\"protocol\",\"src_ip\",\"src_port\",\"dst_ip\",\"dst_port\",\"infection\"," \
	"\"family\",\"tag\",\"http_url\",\"http_host\""
#define ROW "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\",51234,\"203.0.113.100\",80,,\"andromeda\",,\"/\",\"x.example\""

static int
line(struct report_csv_reader *r, const char *s, struct report_event *ev)
{
	return report_csv_line(r, s, strlen(s), ev);
}

/* Without a file name, the columns say which report it is; a name we do not know
 * reads nothing, however good its rows. */
static void
test_type_from_columns(void **state)
{
	(void)state;
	static struct report_csv_reader r;
	struct report_event ev;

	report_csv_reader_init(&r, NULL);
	assert_int_equal(line(&r, SINKHOLE_HEADER, &ev), 0);
	assert_int_equal(line(&r, ROW, &ev), 1);
	assert_string_equal(ev.type, "event4_sinkhole_http");
	assert_string_equal(ev.family, "andromeda");
	assert_int_equal(ev.kind, REPORT_INFECTION);
	assert_true(ev.has_port && ev.port == 51234);

	report_csv_reader_init(&r, "/var/spool/lazaret/reports/2024-11-20-event4_honeypot_ddos_target-as64496.csv");
	assert_int_equal(line(&r, SINKHOLE_HEADER, &ev), 0);
	assert_int_equal(line(&r, ROW, &ev), -REPORT_CSV_E_IGNORED_TYPE);
	report_csv_reader_init(&r, "2024-11-20-spam_url-as64496-example.csv");
	assert_int_equal(line(&r, SINKHOLE_HEADER, &ev), 0);
	assert_int_equal(line(&r, ROW, &ev), -REPORT_CSV_E_UNKNOWN_TYPE);
	report_csv_reader_init(&r, NULL);
	assert_int_equal(line(&r, "\"timestamp\",\"src_ip\",\"src_port\"", &ev), 0);
	assert_int_equal(line(&r, "\"2024-11-20 03:12:45\",\"192.0.2.1\",1", &ev), -REPORT_CSV_E_UNKNOWN_TYPE);
	/* a header in another order, not starting with the time, is still the first line */
	report_csv_reader_init(&r, "botnet_drone");
	assert_int_equal(line(&r, "", &ev), 0);
	assert_int_equal(line(&r, "ip,port,timestamp,infection", &ev), 0);
	assert_int_equal(line(&r, "192.0.2.1,1,2024-11-20 03:12:45,Conficker", &ev), 1);
	/* the bare type name as the hint */
	report_csv_reader_init(&r, "botnet_drone");
	assert_int_equal(line(&r, "timestamp,ip,port,infection", &ev), 0);
	assert_int_equal(line(&r, "2024-11-20 03:12:45,192.0.2.1,1,Conficker", &ev), 1);
	assert_string_equal(ev.family, "conficker");
	assert_string_equal(ev.type, "botnet_drone");
}

static void
test_split_quoted(void **state)
{
	(void)state;
	struct strview f[8];
	char scratch[64];
	const char *s = "\"a,b\", \"say \"\"hi\"\"\" ,plain , ,\"\"";

	assert_int_equal(csv_split_quoted(s, strlen(s), f, 8, scratch, sizeof(scratch)), 5);
	assert_true(f[0].len == 3 && memcmp(f[0].ptr, "a,b", 3) == 0);
	assert_true(f[1].len == 8 && memcmp(f[1].ptr, "say \"hi\"", 8) == 0);
	assert_true(f[2].len == 5 && memcmp(f[2].ptr, "plain", 5) == 0);
	assert_int_equal(f[3].len, 0);
	assert_int_equal(f[4].len, 0);
	assert_int_equal(csv_split_quoted("a,b,c", 5, f, 2, scratch, sizeof(scratch)), 3);
	assert_int_equal(csv_split_quoted("a,b", 3, f, 2, scratch, sizeof(scratch)), 2);
	assert_int_equal(csv_split_quoted("a,", 2, f, 8, scratch, sizeof(scratch)), 2);
	assert_int_equal(csv_split_quoted("\"a", 2, f, 8, scratch, sizeof(scratch)), -1);
	assert_int_equal(csv_split_quoted("\"a\"b,c", 6, f, 8, scratch, sizeof(scratch)), -1);
	assert_int_equal(csv_split_quoted("\"\"\"\"", 4, f, 8, scratch, 0), -1);
}

/* Each hostile line: its reason, and no event. */
static void
test_hostile(void **state)
{
	(void)state;
	static struct report_csv_reader r;
	struct report_event ev;
	static const struct {
		const char *row;
		int rc;
	} rows[] = {
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\"", -REPORT_CSV_E_FIELDS },
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.300\",1,,,,,,,", -REPORT_CSV_E_ADDRESS },
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.3/24\",1,,,,,,,", -REPORT_CSV_E_ADDRESS },
		{ "\"2024-11-20 03:12:45\",\"tcp\",,1,,,,,,,", -REPORT_CSV_E_ADDRESS },
		{ "\"2024-11-20 24:00:00\",\"tcp\",\"192.0.2.30\",1,,,,,,,", -REPORT_CSV_E_TIME },
		{ "\"2023-02-29 10:00:00\",\"tcp\",\"192.0.2.30\",1,,,,,,,", -REPORT_CSV_E_TIME },
		{ "\"20-11-2024 03:12:45\",\"tcp\",\"192.0.2.30\",1,,,,,,,", -REPORT_CSV_E_TIME },
		{ "\"2024-11-20 03:12:45+01\",\"tcp\",\"192.0.2.30\",1,,,,,,,", -REPORT_CSV_E_TIME },
		{ "\"2024-11-20 03:12:45.\",\"tcp\",\"192.0.2.30\",1,,,,,,,", -REPORT_CSV_E_TIME },
		{ "1732072365,\"tcp\",\"192.0.2.30\",1,,,,,,,", -REPORT_CSV_E_TIME },
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\",65536,,,,,,,", -REPORT_CSV_E_PORT },
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\",-1,,,,,,,", -REPORT_CSV_E_PORT },
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\",80x,,,,,,,", -REPORT_CSV_E_PORT },
		{ "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\",1,,,,\"open,,", -REPORT_CSV_E_QUOTE },
	};

	/* a file without its header: the first row taken for one has no column names */
	report_csv_reader_init(&r, "2024-11-20-event4_sinkhole_http-as64496.csv");
	assert_int_equal(line(&r, ROW, &ev), -REPORT_CSV_E_HEADER);
	assert_int_equal(line(&r, ROW, &ev), -REPORT_CSV_E_NO_HEADER);
	assert_int_equal(line(&r, "\"timestamp\",\"protocol\",\"dst_ip\"", &ev), -REPORT_CSV_E_HEADER);
	assert_int_equal(line(&r, ROW, &ev), -REPORT_CSV_E_NO_HEADER);
	assert_int_equal(line(&r, SINKHOLE_HEADER, &ev), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&ev, 0xa5, sizeof(ev));
		if (line(&r, rows[i].row, &ev) != rows[i].rc)
			fail_msg("row %zu: %s: want %s", i, rows[i].row, report_csv_error_name(rows[i].rc));
	}
	/* the good row still reads after them all; the time edges that are right */
	assert_int_equal(line(&r, ROW, &ev), 1);
	assert_int_equal(line(&r, "\"2024-02-29T23:59:59.5Z\",\"tcp\",\"192.0.2.30\",65535,,,,,,,", &ev), 1);
	assert_true(ev.port == 65535 && ev.time == INT64_C(1709251199500000));
	assert_int_equal(line(&r, "\"2024-11-20 04:12:45+01:00\",\"tcp\",\"192.0.2.30\",0,,,,,,,", &ev), 1);
	assert_true(ev.port == 0 && ev.has_port && ev.time == INT64_C(1732072365000000));

	/* a line over the bound */
	size_t big = REPORT_CSV_LINE_MAX + 1;
	char *s = malloc(big);
	assert_non_null(s);
	memset(s, 'a', big);
	assert_int_equal(report_csv_line(&r, s, big, &ev), -REPORT_CSV_E_TOO_LONG);

	/* a header of a million columns is over the line's bound; one of 300 within it
	 * over the columns' bound: refused at once, and then nothing reads */
	size_t cols = 1000000, n = 0;
	char *h = malloc(cols * 2 + 16);
	assert_non_null(h);
	n += (size_t)sprintf(h, "timestamp,src_ip");
	for (size_t i = 0; i < cols; i++)
		h[n++] = ',', h[n++] = 'x';
	assert_int_equal(report_csv_line(&r, h, n, &ev), -REPORT_CSV_E_TOO_LONG);
	assert_int_equal(report_csv_line(&r, h, 16 + 2 * (REPORT_CSV_COLUMNS_MAX - 2), &ev), 0);
	assert_int_equal(report_csv_line(&r, h, 16 + 2 * (REPORT_CSV_COLUMNS_MAX - 1), &ev),
		-REPORT_CSV_E_MANY_COLUMNS);
	assert_int_equal(line(&r, ROW, &ev), -REPORT_CSV_E_NO_HEADER);
	/* ... and a row of a million fields after a good header: the fields past ours unread */
	assert_int_equal(line(&r, SINKHOLE_HEADER, &ev), 0);
	n = (size_t)sprintf(h, "%s", ROW);
	for (size_t i = 0; i < 30000; i++)
		h[n++] = ',', h[n++] = 'x';
	assert_int_equal(report_csv_line(&r, h, n, &ev), 1);
	free(h);
	free(s);
}

/* Text from the report is copied cut and with controls replaced; a quoted newline
 * stays inside its record; a BOM before the header is no column name. */
static void
test_untrusted_text(void **state)
{
	(void)state;
	const char *csv = "\xef\xbb\xbf" SINKHOLE_HEADER "\r\n"
	                  "\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.30\",1,\"203.0.113.1\",80,,"
	                  "\"AndRo\x1b[31mmeda\",,\"/\",\"line\nbreak.example\"\r\n"
	                  "\"2024-11-20 03:12:46\",\"tcp\",\"192.0.2.31\",2,,,,\""
	                  "0123456789012345678901234567890123456789012345678901234567890123456789\",,,\r\n";
	struct text got = { 0 };
	struct report_csv_stats st = { 0 };

	assert_int_equal(report_csv_read(csv, strlen(csv), "2024-11-20-event4_sinkhole_http-x.csv", print_event, &got,
		&st), 0);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.rows, 2);
	assert_string_equal(got.buf,
		"report_infection\t192.0.2.30\t1\t2024-11-20T03:12:45Z\tandro?[31mmeda\tevent4_sinkhole_http\t"
		"tcp, to 203.0.113.1:80, host line?break.example\n"
		"report_infection\t192.0.2.31\t2\t2024-11-20T03:12:46Z\t"
		"012345678901234567890123456789012345678901234567890123456789012\tevent4_sinkhole_http\ttcp\n");
	free(got.buf);
}

/* A stray quote costs its own row, not the rows after it; a quoted newline within
 * eight lines is one record. */
static void
test_stray_quote(void **state)
{
	(void)state;
	struct report_csv_stats st = { 0 };
	struct text got = { 0 };
	char csv[4096];
	int n = snprintf(csv, sizeof(csv), "%s\n\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.9\",1,,,,\"bad,,,\n", SINKHOLE_HEADER);

	for (int i = 0; i < 12; i++)
		n += snprintf(csv + n, sizeof(csv) - (size_t)n, "%s\n", ROW);
	assert_int_equal(report_csv_read(csv, (size_t)n, "event4_sinkhole_http", print_event, &got, &st), 0);
	assert_int_equal(st.events, 12);
	assert_int_equal(st.refused[REPORT_CSV_E_QUOTE], 1);
	free(got.buf);

	memset(&st, 0, sizeof(st));
	got = (struct text){ 0 };
	n = snprintf(csv, sizeof(csv), "%s\n\"2024-11-20 03:12:45\",\"tcp\",\"192.0.2.9\",1,,,,\"a\n\n\n\n\n\n\nb\",,,\n%s\n",
	    SINKHOLE_HEADER, ROW);
	assert_int_equal(report_csv_read(csv, (size_t)n, "event4_sinkhole_http", print_event, &got, &st), 0);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.rows, 2);
	assert_non_null(strstr(got.buf, "192.0.2.9"));
	free(got.buf);
}

static int
stop(void *arg, const struct report_event *ev)
{
	(void)ev;
	return ++*(int *)arg == 2 ? 7 : 0;
}

static void
test_emit_stops(void **state)
{
	(void)state;
	const char *csv = SINKHOLE_HEADER "\n" ROW "\n" ROW "\n" ROW "\n";
	struct report_csv_stats st = { 0 };
	int calls = 0;

	assert_int_equal(report_csv_read(csv, strlen(csv), "event4_sinkhole_http", stop, &calls, &st), 7);
	assert_int_equal(calls, 2);
	assert_string_equal(report_csv_error_name(-REPORT_CSV_E_PORT), "port");
	assert_string_equal(report_csv_error_name(-REPORT_CSV_ERROR_COUNT), "unknown");
	assert_string_equal(report_csv_error_name(1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_type_from_columns),
		cmocka_unit_test(test_split_quoted),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_untrusted_text),
		cmocka_unit_test(test_stray_quote),
		cmocka_unit_test(test_emit_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
