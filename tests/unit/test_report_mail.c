/*
 * test_report_mail.c — mail abuse reports (report_mail.h): every sample of
 * tests/data/reports/mail/ against its .expect (README.md there), then what no file in a
 * repository should hold: a message past the size limit, a million parts, a huge header,
 * deep nesting made on the fly; the date reader and the kind mapping on their own.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sense/report_mail.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data/reports/mail"
#endif

#define OUT_MAX 8192

struct out {
	char text[OUT_MAX];
	size_t len;
	int events;
};

static void
out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(o->text + o->len, sizeof(o->text) - o->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(o->text) - o->len);
	o->len += (size_t)n;
}

/* One event as the .expect files write it. */
static int
record(void *arg, const struct report_event *ev)
{
	struct out *o = arg;
	char a[64], t[32], port[8];

	addr_format(&ev->addr, a, sizeof(a));
	if (ev->time == 0)
		snprintf(t, sizeof(t), "0");
	else
		time_format(ev->time, t, sizeof(t));
	snprintf(port, sizeof(port), "%u", ev->port);
	assert_non_null(ev->format);
	out_add(o, "event %s %s %s %s %s %s %s\n", report_kind_name(ev->kind), a, ev->has_port ? port : "-", t,
		ev->family[0] ? ev->family : "-", ev->type[0] ? ev->type : "-", ev->id[0] ? ev->id : "-");
	if (ev->detail[0] != '\0')
		out_add(o, "detail %s\n", ev->detail);
	o->events++;
	return 0;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Runs one message; what it gave in the .expect form. */
static int
run(const char *msg, size_t len, const struct report_mail_options *opt, struct out *o)
{
	struct report_mail_stats st = { 0 };
	int rc;

	memset(o, 0, sizeof(*o));
	rc = report_mail_read(msg, len, opt, record, o, &st);
	if (rc >= 0)
		assert_int_equal(rc, o->events);
	for (int i = 1; i < REPORT_MAIL_ERROR_COUNT; i++)
		if (st.reasons[i] > 0 && !(rc < 0 && -rc == i))
			out_add(o, "count %s %llu\n", report_mail_error_name(i), (unsigned long long)st.reasons[i]);
	if (rc < 0) {
		assert_string_not_equal(report_mail_error_name(rc), "unknown");
		assert_int_equal(st.reasons[-rc], 1);
		out_add(o, "error %s\n", report_mail_error_name(rc));
	}
	return rc;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_corpus(void **state)
{
	(void)state;
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	char *names[256];
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".eml") == 0) {
			assert_true(n < 256);
			names[n++] = strdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	assert_true(n >= 15);
	for (size_t i = 0; i < n; i++) {
		char path[1024], want[OUT_MAX] = "", *msg, *exp, *line, *save = NULL;
		const char *relays[8];
		struct cidr nets[8];
		struct report_mail_options opt = { .relays = relays, .relay_nets = nets };
		struct out got;
		size_t len, elen, wl = 0;

		snprintf(path, sizeof(path), "%s/%s", DATA_DIR, names[i]);
		msg = slurp(path, &len);
		snprintf(path + strlen(path) - 4, 8, ".expect");
		exp = slurp(path, &elen);
		for (line = strtok_r(exp, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
			if (line[0] == '#')
				continue;
			if (strncmp(line, "relays ", 7) == 0) {
				char *s2 = NULL;
				for (char *r = strtok_r(line + 7, " ", &s2); r != NULL && opt.nrelays < 8;
				     r = strtok_r(NULL, " ", &s2))
					relays[opt.nrelays++] = r;
				continue;
			}
			if (strncmp(line, "relay_nets ", 11) == 0) {
				char *s2 = NULL;
				for (char *r = strtok_r(line + 11, " ", &s2); r != NULL && opt.nrelay_nets < 8;
				     r = strtok_r(NULL, " ", &s2))
					assert_int_equal(cidr_parse(r, &nets[opt.nrelay_nets++]), 0);
				continue;
			}
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%s\n", line);
		}
		run(msg, len, &opt, &got);
		if (strcmp(got.text, want) != 0) {
			print_error("%s:\n--- expected\n%s--- got\n%s", names[i], want, got.text);
			fail();
		}
		free(msg);
		free(exp);
		free(names[i]);
	}
}

static const char arf_head[] =
	"From: fbl@mailbox.example\r\nMessage-ID: <gen@mailbox.example>\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n";
static const char arf_body[] =
	"\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nSource-IP: 192.0.2.1\r\n"
	"Arrival-Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n--b--\r\n";

/* A message of arf_head, then filler, then arf_body. */
static char *
arf_with(const char *filler, size_t count, size_t *len)
{
	size_t fl = strlen(filler), n = strlen(arf_head) + fl * count + strlen(arf_body);
	char *m = malloc(n), *p = m;

	assert_non_null(m);
	memcpy(p, arf_head, strlen(arf_head)), p += strlen(arf_head);
	for (size_t i = 0; i < count; i++)
		memcpy(p, filler, fl), p += fl;
	memcpy(p, arf_body, strlen(arf_body));
	*len = n;
	return m;
}

static void
test_limits(void **state)
{
	(void)state;
	struct report_mail_options opt = { 0 };
	struct out o;
	size_t len;
	char *m;

	/* the generated ARF itself reads */
	m = arf_with("", 0, &len);
	assert_int_equal(run(m, len, &opt, &o), 1);
	/* one byte over the limit: refused before parsing */
	opt.max_size = len - 1;
	assert_int_equal(run(m, len, &opt, &o), -REPORT_MAIL_E_TOO_BIG);
	opt.max_size = len;
	assert_int_equal(run(m, len, &opt, &o), 1);
	free(m);
	opt.max_size = 0;

	/* a million empty parts before the report */
	m = arf_with("\r\n--b\r\n", 1000000, &len);
	usec_t t0 = time_mono();
	assert_int_equal(run(m, len, &opt, &o), -REPORT_MAIL_E_PARTS);
	assert_true(time_mono() - t0 < USEC_PER_SEC);
	free(m);
	/* ... or behind a boundary that opens with a space ("-- x"), as a signature does */
	{
		static const char head[] = "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\" x\"\r\n\r\n";
		size_t cap = sizeof(head) + 1000000 * 8, l = 0;
		char *sp = malloc(cap);
		assert_non_null(sp);
		memcpy(sp, head, sizeof(head) - 1), l = sizeof(head) - 1;
		for (int i = 0; i < 1000000; i++)
			memcpy(sp + l, "-- x\r\n\r\n", 8), l += 8;
		/* refused by the raw count, not after GMime built the million (~8 s, 1.3 GB):
		 * the margin is wide enough for a loaded machine and the sanitizers */
		t0 = time_mono();
		assert_int_equal(run(sp, l, &opt, &o), -REPORT_MAIL_E_PARTS);
		assert_true(time_mono() - t0 < USEC_PER_SEC);
		free(sp);
	}
	/* 999 are fine */
	m = arf_with("\r\n--b\r\n", 990, &len);
	assert_int_equal(run(m, len, &opt, &o), 1);
	free(m);

	/* a 1 MB header line, and 50 000 header fields: read, cut, no crash. (A field folded
	 * 100 000 times costs GMime ~10 ms, but 22 s under ASan, whose realloc copies.) */
	{
		size_t big = 1u << 20;
		char *line = malloc(big + 16);
		assert_non_null(line);
		memcpy(line, "X-Junk: ", 8);
		memset(line + 8, 'a', big);
		memcpy(line + 8 + big, "\r\n", 3);
		m = arf_with(line, 1, &len);
		assert_int_equal(run(m, len, &opt, &o), 1);
		free(m);
		free(line);
	}
	m = arf_with("X-Junk: aaaaaaaa\r\n", 50000, &len);
	assert_int_equal(run(m, len, &opt, &o), 1);
	free(m);

	/* 100 000 levels of nesting, each its own Content-Type: refused by the raw count */
	{
		size_t cap = 100000 * 64 + 1024, l = 0;
		char *deep = malloc(cap);
		assert_non_null(deep);
		l += (size_t)snprintf(deep + l, cap - l, "MIME-Version: 1.0\r\n");
		for (int i = 0; i < 100000; i++)
			l += (size_t)snprintf(deep + l, cap - l, "Content-Type: multipart/mixed; boundary=\"%d\"\r\n\r\n--%d\r\n",
				i, i);
		assert_int_equal(run(deep, l, &opt, &o), -REPORT_MAIL_E_PARTS);
		/* 999 levels: as deep as the raw count lets GMime's parser recurse */
		l = (size_t)snprintf(deep, cap, "MIME-Version: 1.0\r\n");
		for (int i = 0; i < 998; i++)
			l += (size_t)snprintf(deep + l, cap - l, "Content-Type: multipart/mixed; boundary=\"%d\"\r\n\r\n--%d\r\n",
				i, i);
		assert_int_equal(run(deep, l, &opt, &o), -REPORT_MAIL_E_DEPTH);
		/* 33 levels: under the part count, over the depth */
		l = (size_t)snprintf(deep, cap, "MIME-Version: 1.0\r\n");
		for (int i = 0; i < 33; i++)
			l += (size_t)snprintf(deep + l, cap - l, "Content-Type: multipart/mixed; boundary=\"%d\"\r\n\r\n--%d\r\n",
				i, i);
		l += (size_t)snprintf(deep + l, cap - l, "%s", arf_body + 7);
		assert_int_equal(run(deep, l, &opt, &o), -REPORT_MAIL_E_DEPTH);
		opt.max_depth = 40;
		assert_int_equal(run(deep, l, &opt, &o), 1);
		opt.max_depth = 0;
		free(deep);
	}
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 50 MB attachment beside the report: read without a copy of the message or a decoded
 * copy of the attachment, so the peak RSS grows by far less than 50 MB (the message itself
 * is resident before). */
static void
test_big_attachment(void **state)
{
	(void)state;
	struct report_mail_options opt = { 0 };
	static const char head[] = "From: fbl@mailbox.example\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nSource-IP: 192.0.2.1\r\n"
		"\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n";
	size_t n = 50u << 20, len = strlen(head) + n + 16;
	char *m = malloc(len), *p;
	struct out o;

	assert_non_null(m);
	memcpy(m, head, strlen(head));
	p = m + strlen(head);
	for (size_t i = 0; i < n; i++)
		p[i] = (i % 77 == 76) ? '\n' : 'A';
	memcpy(p + n, "\r\n--b--\r\n", 9);
	len = strlen(head) + n + 9;
	long before = maxrss_kb();
	assert_int_equal(run(m, len, &opt, &o), 1);
	long grew = maxrss_kb() - before;
	if (grew > 8 * 1024) {
		print_error("peak RSS grew by %ld kB reading a 50 MB attachment\n", grew);
		fail();
	}
	free(m);
}

static int
stop(void *arg, const struct report_event *ev)
{
	(void)ev;
	return *(int *)arg;
}

/* The callback's refusal stops the reader and is what it returns; it is the callback's,
 * not a reason of ours, even when its value is one. */
static void
test_emit_stops(void **state)
{
	(void)state;
	struct report_mail_options opt = { 0 };
	struct report_mail_stats st = { 0 };
	size_t len;
	char *m = arf_with("", 0, &len);
	int ret = -99;

	assert_int_equal(report_mail_read(m, len, &opt, stop, &ret, NULL), -99);
	ret = -REPORT_MAIL_E_MIME;
	assert_int_equal(report_mail_read(m, len, &opt, stop, &ret, &st), -REPORT_MAIL_E_MIME);
	for (int i = 0; i < REPORT_MAIL_ERROR_COUNT; i++)
		assert_int_equal(st.reasons[i], 0);
	free(m);
}

/* The default size limit, 64 MB: one byte more is refused before a byte of it is read
 * (the buffer's pages are never touched). */
static void
test_default_size(void **state)
{
	(void)state;
	struct report_mail_options opt = { 0 };
	struct report_mail_stats st = { 0 };
	char *m = malloc(REPORT_MAIL_SIZE_DEFAULT + 1);

	assert_non_null(m);
	assert_int_equal(report_mail_read(m, REPORT_MAIL_SIZE_DEFAULT + 1, &opt, record, NULL, &st),
		-REPORT_MAIL_E_TOO_BIG);
	assert_int_equal(st.reasons[REPORT_MAIL_E_TOO_BIG], 1);
	free(m);
}

/* A forwarded Subject is cut to REPORT_MAIL_SUBJECT_MAX bytes, on a character. */
static void
test_subject_cut(void **state)
{
	(void)state;
	static const char *const relays[] = { "relay1.isp.example" };
	struct report_mail_options opt = { .relays = relays, .nrelays = 1 };
	char msg[2048], subj[600] = "";
	struct out o;
	int n;

	for (int i = 0; i < 200; i++)
		strcat(subj, "\xc3\xa9");               /* é: two bytes */
	n = snprintf(msg, sizeof(msg), "From: v@victim.example\r\nMessage-ID: <c@victim.example>\r\n"
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nForwarded:\r\n\r\n"
		"Received: from pc (dsl [192.0.2.42]) by relay1.isp.example; Fri, 04 Dec 2026 08:01:02 +0100\r\n"
		"Subject: %s\r\n\r\nbody\r\n", subj);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
	assert_int_equal(run(msg, (size_t)n, &opt, &o), 1);
	const char *d = strstr(o.text, "\ndetail ");
	assert_non_null(d);
	d += 8;
	size_t dl = strcspn(d, "\n");
	assert_int_equal(dl, REPORT_MAIL_SUBJECT_MAX);   /* 40 whole characters of 2 bytes */
	assert_memory_equal(d, subj, dl);
}

/* XARF v4 JSON on its own (a spool file, a POST body), and inside a mail with 1 MB of
 * evidence inline (past the 256 KB cut of other parts, within the JSON one). */
static void
test_json(void **state)
{
	(void)state;
	static const char json[] = "{\"xarf_version\": \"4.0.0\", \"report_id\": \"r-1\", "
		"\"timestamp\": \"2026-12-04T10:15:00Z\", \"source_identifier\": \"192.0.2.61\", "
		"\"source_port\": 5555, \"category\": \"connection\", \"type\": \"ddos\"";
	struct report_mail_options opt = { 0 };
	struct report_mail_stats st = { 0 };
	struct out o;
	char buf[512];
	int n;

	memset(&o, 0, sizeof(o));
	n = snprintf(buf, sizeof(buf), "%s}", json);
	assert_int_equal(report_mail_read_json(buf, (size_t)n, &opt, record, &o, &st), 1);
	assert_string_equal(o.text, "event report_scan 192.0.2.61 5555 2026-12-04T10:15:00Z - ddos r-1\n");
	assert_int_equal(report_mail_read_json(json, strlen(json), &opt, record, &o, &st), -REPORT_MAIL_E_JSON);
	assert_int_equal(report_mail_read_json("{\"a\": 1}", 8, &opt, record, &o, &st), -REPORT_MAIL_E_JSON);
	n = snprintf(buf, sizeof(buf), "%s, \"source_identifier\": \"x\"}", json);
	assert_int_equal(report_mail_read_json(buf, (size_t)n, &opt, record, &o, &st), -REPORT_MAIL_E_JSON);
	n = snprintf(buf, sizeof(buf), "{\"xarf_version\": \"4.0.0\", \"source_identifier\": \"bad.example\"}");
	assert_int_equal(report_mail_read_json(buf, (size_t)n, &opt, record, &o, &st), -REPORT_MAIL_E_SOURCE);
	assert_int_equal(st.reasons[REPORT_MAIL_E_JSON], 3);
	assert_int_equal(st.reasons[REPORT_MAIL_E_SOURCE], 1);
	opt.max_size = 10;
	assert_int_equal(report_mail_read_json(json, strlen(json), &opt, record, &o, &st), -REPORT_MAIL_E_TOO_BIG);
	opt.max_size = 0;

	static const char head[] = "From: ids@hoster.example\r\nMessage-ID: <j@hoster.example>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: application/json\r\n\r\n";
	size_t ev = 1u << 20, cap = sizeof(head) + sizeof(json) + ev + 256, l;
	char *m = malloc(cap);
	assert_non_null(m);
	l = (size_t)snprintf(m, cap, "%s%s, \"evidence\": [{\"content_type\": \"text/plain\", \"payload\": \"", head, json);
	memset(m + l, 'Q', ev), l += ev;
	l += (size_t)snprintf(m + l, cap - l, "\"}]}\r\n");
	assert_int_equal(run(m, l, &opt, &o), 1);
	assert_non_null(strstr(o.text, "event report_scan 192.0.2.61 5555"));
	free(m);
}

static void
test_dates(void **state)
{
	(void)state;
	static const struct { const char *text; const char *want; } ok[] = {
		{ "Thu, 8 Mar 2005 14:00:00 EDT", "2005-03-08T18:00:00Z" },
		{ "8 Mar 2005 14:00 -0400", "2005-03-08T18:00:00Z" },
		{ "Tue, 01 Dec 26 09:15:02 +0100 (CET)", "2026-12-01T08:15:02Z" },
		{ "Tue, 01 Dec 99 09:15:02 GMT", "1999-12-01T09:15:02Z" },
		{ "Wed, 1 Dec 104 00:00:00 UT", "2004-12-01T00:00:00Z" },
		{ "Thu,\r\n 29 Feb 2024 23:59:60 +0000", "2024-02-29T23:59:59Z" },
		{ "(comment) Fri, 4 Dec 2026 08:01:02 PST", "2026-12-04T16:01:02Z" },
		{ "Fri, 4 Dec 2026 08:01:02 A", "2026-12-04T08:01:02Z" },     /* military: -0000 */
	};
	static const char *const bad[] = {
		"", "2026-12-04T08:01:02Z", "Fri, 31 Nov 2026 08:01:02 +0000", "Fri, 29 Feb 2025 08:01:02 +0000",
		"Fri, 4 Dec 2026 24:00:00 +0000", "Fri, 4 Dec 2026 08:01:02", "Fri, 4 Dec 2026 08:01:02 +01",
		"Fri, 4 Dec 2026 08:01:02 +0000 trailing", "Fri, 4 Dex 2026 08:01:02 +0000", "Fri 4 Dec 2026 08:01:02 +0000",
		"Fri, 4 Dec 2026 08:61:02 +0000", "Fri, 4 Dec 20266 08:01:02 +0000", "Fri, 4 Dec 2026 08:01:02 XYZ",
		"Fri, 4 Dec 2026 08:01:02 J", "Fri, 4 Dec 2026 08:01:02 +0099", "Fri, 4 Dec 2026 (unclosed 08:01:02 +0000",
	};
	char buf[32];
	usec_t t;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(report_mail_date(ok[i].text, strlen(ok[i].text), &t), 0);
		assert_string_equal(time_format(t, buf, sizeof(buf)), ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (report_mail_date(bad[i], strlen(bad[i]), &t) == 0) {
			print_error("accepted: %s\n", bad[i]);
			fail();
		}
}

static void
test_kinds(void **state)
{
	(void)state;
	assert_int_equal(report_mail_kind("messaging", "spam"), REPORT_SPAM);
	assert_int_equal(report_mail_kind("abuse", "Spam"), REPORT_SPAM);
	assert_int_equal(report_mail_kind("infrastructure", "botnet"), REPORT_INFECTION);
	assert_int_equal(report_mail_kind(NULL, "malware"), REPORT_INFECTION);
	assert_int_equal(report_mail_kind("abuse", "malware-attack"), REPORT_INFECTION);
	assert_int_equal(report_mail_kind("connection", "port_scan"), REPORT_SCAN);
	assert_int_equal(report_mail_kind("abuse", "login-attack"), REPORT_SCAN);
	assert_int_equal(report_mail_kind("connection", "DDoS"), REPORT_SCAN);
	assert_int_equal(report_mail_kind("connection", NULL), REPORT_SCAN);
	assert_int_equal(report_mail_kind("content", "phishing"), REPORT_OTHER);
	assert_int_equal(report_mail_kind("messaging", "phishing"), REPORT_OTHER);   /* the type decides */
	assert_int_equal(report_mail_kind(NULL, NULL), REPORT_OTHER);
	assert_string_equal(report_mail_error_name(-REPORT_MAIL_E_NOT_A_REPORT), "not_a_report");
	assert_string_equal(report_mail_error_name(REPORT_MAIL_ERROR_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_big_attachment),
		cmocka_unit_test(test_emit_stops),
		cmocka_unit_test(test_default_size),
		cmocka_unit_test(test_subject_cut),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
