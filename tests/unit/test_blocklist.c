/*
 * test_blocklist.c — the C&C list parsers and loader (sense/blocklist.c): each format
 * from samples shaped like the real files (see fuzz/fuzz_blocklist.c for where they come
 * from), the entries and ports they give, every line counted by reason, the format
 * detected from content, and blocklist_load replacing a table only when the whole file
 * is good (a malformed line names its number and keeps the old list).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/lpm.h"
#include "sense/blocklist.h"

#define MAXE 16

struct got {
	size_t n;
	char text[MAXE][ADDR_TEXT_MAX + 8 + BLOCKLIST_FAMILY_MAX];   /* "prefix", "prefix:port", "... family" */
};

static int
collect(void *arg, const struct blocklist_entry *e)
{
	struct got *g = arg;
	char net[ADDR_TEXT_MAX];

	if (g->n < MAXE) {
		cidr_format(&e->net, net, sizeof(net));
		int n = e->port != 0 ? snprintf(g->text[g->n], sizeof(g->text[0]), "%s:%u", net, e->port) :
		                       snprintf(g->text[g->n], sizeof(g->text[0]), "%s", net);
		if (e->family != NULL)
			snprintf(g->text[g->n] + n, sizeof(g->text[0]) - (size_t)n, " %s", e->family);
	}
	g->n++;
	return 0;
}

/* Parses text and checks the entries (a NULL-ended list) and the counts. */
struct expect {
	enum blocklist_format format;      /* asked for */
	enum blocklist_format parsed;      /* as parsed (detected) */
	const char *entries[MAXE];
	size_t blank, comment, metadata, malformed, too_long, first_error_line;
};

static void
check(const char *name, const char *text, size_t len, const struct expect *x)
{
	struct got g = { 0 };
	struct blocklist_stats st;
	size_t n = 0;

	assert_int_equal(blocklist_parse((const uint8_t *)text, len, x->format, collect, &g, &st), 0);
	while (n < MAXE && x->entries[n] != NULL)
		n++;
	if (g.n != n || st.entries != n)
		fail_msg("%s: %zu entries (%zu counted), expected %zu", name, g.n, st.entries, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(g.text[i], x->entries[i]) != 0)
			fail_msg("%s: entry %zu is %s, expected %s", name, i, g.text[i], x->entries[i]);
	if (st.format != x->parsed || st.blank != x->blank || st.comment != x->comment ||
	    st.metadata != x->metadata || st.malformed != x->malformed || st.too_long != x->too_long ||
	    st.first_error_line != x->first_error_line)
		fail_msg("%s: format %s blank %zu comment %zu metadata %zu malformed %zu too_long %zu first %zu", name,
		         blocklist_format_name(st.format), st.blank, st.comment, st.metadata, st.malformed,
		         st.too_long, st.first_error_line);
	assert_int_equal(st.lines, st.entries + st.blank + st.comment + st.metadata + st.malformed + st.too_long);
}

#define CHECK(name, text, ...) check(name, text, sizeof(text) - 1, &(struct expect){ __VA_ARGS__ })

static void
test_drop_text(void **state)
{
	(void)state;
	CHECK("drop", "; Spamhaus DROP List 2016/03/23 - (c) 2016 The Spamhaus Project\n"
	      "; Last-Modified: Tue, 22 Mar 2016 18:59:56 GMT\n"
	      "1.4.0.0/17 ; SBL256893\n"
	      "1.10.16.0/20 ; SBL256894\n"
	      "2a06:e480::/29 ; SBL301771\n",
	      .format = BLOCKLIST_DROP_TEXT, .parsed = BLOCKLIST_DROP_TEXT,
	      .entries = { "1.4.0.0/17", "1.10.16.0/20", "2a06:e480::/29" }, .comment = 2);
	/* CRLF, blank lines, no final newline, detected */
	CHECK("drop crlf", "; Spamhaus DROP List\r\n1.10.16.0/20 ; SBL256894\r\n\r\n1.19.0.0/16 ; SBL434604",
	      .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_DROP_TEXT,
	      .entries = { "1.10.16.0/20", "1.19.0.0/16" }, .comment = 1, .blank = 1);
	/* words after the address, a bad prefix: malformed, the first one's line kept */
	CHECK("drop bad", "1.2.3.0/24 ; ok\n1.2.3.0/24 SBL1\n1.2.3.0/33 ; no\nnot an address\n",
	      .format = BLOCKLIST_DROP_TEXT, .parsed = BLOCKLIST_DROP_TEXT,
	      .entries = { "1.2.3.0/24" }, .malformed = 3, .first_error_line = 2);
}

static void
test_plain(void **state)
{
	(void)state;
	CHECK("plain", "# a list\n192.0.2.1\n198.51.100.7/24   # host bits masked\n; semicolon comment\n\n"
	      "  2001:db8::1  \n2001:db8:1::/48\n::ffff:203.0.113.9\n",
	      .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_PLAIN,
	      .entries = { "192.0.2.1/32", "198.51.100.0/24", "2001:db8::1/128", "2001:db8:1::/48",
	                   "203.0.113.9/32" },
	      .comment = 2, .blank = 1);
	CHECK("empty", "", .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_PLAIN);
	CHECK("comments only", "# nothing\n# listed\n", .format = BLOCKLIST_PLAIN, .parsed = BLOCKLIST_PLAIN,
	      .comment = 2);
}

static void
test_drop_json(void **state)
{
	(void)state;
	CHECK("drop_v4.json",
	      "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n"
	      "{\"cidr\":\"1.19.0.0/16\",\"sblid\":\"SBL434604\",\"rir\":\"apnic\"}\n"
	      "{\"type\":\"metadata\",\"timestamp\":1790072042,\"size\":104461,\"records\":2,"
	      "\"copyright\":\"(c) 2026 The Spamhaus Project SLU\",\"terms\":\"https://www.spamhaus.org/drop/terms/\"}\n",
	      .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_DROP_JSON,
	      .entries = { "1.10.16.0/20", "1.19.0.0/16" }, .metadata = 1);
	/* the escaped slash JSON allows */
	CHECK("drop_v6.json", "{\"cidr\":\"2a06:e480::\\/29\",\"sblid\":\"SBL301771\",\"rir\":\"ripencc\"}\n"
	      "{\"type\":\"metadata\",\"timestamp\":1791060242}\n",
	      .format = BLOCKLIST_DROP_JSON, .parsed = BLOCKLIST_DROP_JSON,
	      .entries = { "2a06:e480::/29" }, .metadata = 1);
	/* anything but an object with a good "cidr" is malformed, comments included */
	CHECK("json bad", "{\"cidr\":\"1.10.16.0/20\"}\n"
	      "[\"not\", \"an\", \"object\"]\n"
	      "{\"cidr\":\"300.1.1.0/24\"}\n"
	      "{\"cidr\":5}\n"
	      "{\"sblid\":\"SBL3\"}\n"
	      "{\"cidr\":\"1.2.3.0/24\"} trailing\n"
	      "{\"cidr\":\"1.2.3.0/24\\u0000x\"}\n"
	      "# a comment\n"
	      "\n",
	      .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_DROP_JSON,
	      .entries = { "1.10.16.0/20" }, .malformed = 7, .first_error_line = 2, .blank = 1);
}

static void
test_feodo(void **state)
{
	(void)state;
	CHECK("ipblocklist.csv",
	      "################################################################\n"
	      "# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n"
	      "# Last updated: 2021-08-17 15:00:42 UTC                        #\n"
	      "#\n"
	      "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
	      "\"2021-01-17 07:30:05\",\"67.213.75.205\",\"443\",\"offline\",\"2021-08-18\",\"Dridex\"\n"
	      "\"2021-01-17 07:44:46\",\"51.178.161.32\",\"4643\",\"online\",\"2021-08-18\",\"Dridex\"\n"
	      "\"2022-06-04 21:24:53\",\"162.243.103.246\",\"8080\",\"offline\",\"2026-03-07\",\"Emotet\"\n"
	      "# END 3 entries\n",
	      .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_FEODO_CSV,
	      .entries = { "67.213.75.205/32:443 Dridex", "51.178.161.32/32:4643 Dridex", "162.243.103.246/32:8080 Emotet" },
	      .comment = 5, .metadata = 1);
	/* columns found by the header's names; "" escapes; unquoted fields; an IPv6 host; a
	 * family that is not one plain word (a quote, a space, too long, empty) left out */
	CHECK("feodo reordered",
	      "first_seen_utc,malware,dst_port,dst_ip\n"
	      "\"2021-01-17 07:30:05\",\"Dri\"\"dex\",\"443\",\"67.213.75.205\"\n"
	      "2021-01-17 07:30:05, Dridex , 8080 , 2001:db8::5 \n"
	      "\"2021-01-17 07:30:05\",\"Dridex\",\"\",\"67.213.75.206\"\n"
	      "\"2021-01-17 07:30:05\",\"Bumble Bee\",\"443\",\"67.213.75.207\"\n"
	      "\"2021-01-17 07:30:05\",\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"443\",\"67.213.75.208\"\n"
	      "\"2021-01-17 07:30:05\",\"\",\"443\",\"67.213.75.209\"\n",
	      .format = BLOCKLIST_FEODO_CSV, .parsed = BLOCKLIST_FEODO_CSV,
	      .entries = { "67.213.75.205/32:443", "2001:db8::5/128:8080 Dridex", "67.213.75.206/32 Dridex",
	                   "67.213.75.207/32:443", "67.213.75.208/32:443", "67.213.75.209/32:443" },
	      .metadata = 1);
	/* no malware column in the header: no family */
	CHECK("feodo no family", "first_seen_utc,dst_ip,dst_port\n2021-01-17 07:30:05,67.213.75.205,443\n",
	      .format = BLOCKLIST_FEODO_CSV, .parsed = BLOCKLIST_FEODO_CSV, .entries = { "67.213.75.205/32:443" },
	      .metadata = 1);
	/* without a header: dst_ip and dst_port are the 2nd and 3rd fields */
	CHECK("feodo bad",
	      "\"2021-01-17 07:30:05\",\"67.213.75.205\",\"443\",\"online\",\"2021-08-18\",\"Dridex\"\n"
	      "\"2021-01-17 07:30:05\",\"67.213.75.207\",\"70000\",\"online\",\"2021-08-18\",\"Dridex\"\n"
	      "\"2021-01-17 07:30:05\",\"67.213.75.0/24\",\"443\",\"online\",\"2021-08-18\",\"Dridex\"\n"
	      "\"2021-01-17 07:30:05\",\"67.213.75.208\",\"44x\"\n"
	      "\"unterminated\n"
	      "\"a\"b,\"c\"\n"
	      "just one field\n",
	      .format = BLOCKLIST_AUTO, .parsed = BLOCKLIST_FEODO_CSV,
	      .entries = { "67.213.75.205/32:443 Dridex" }, .malformed = 6, .first_error_line = 2);
}

/* A line past the limit or holding a NUL is refused as a whole, not cut and read. */
static void
test_line_limits(void **state)
{
	size_t n = BLOCKLIST_LINE_MAX + 100;
	char *text = malloc(n + 32);
	struct got g = { 0 };
	struct blocklist_stats st;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', n);
	memcpy(text, "1.2.3.4", 7);
	memcpy(text + n, "\n10.0.0.0/8\n", 13);
	assert_int_equal(blocklist_parse((const uint8_t *)text, n + 12, BLOCKLIST_PLAIN, collect, &g, &st), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.text[0], "10.0.0.0/8");
	assert_int_equal(st.too_long, 1);
	assert_int_equal(st.first_error_line, 1);
	free(text);
	static const char nul[] = "10.0.0.0/8\n1.2.3.4\0junk\n";
	g.n = 0;
	assert_int_equal(blocklist_parse((const uint8_t *)nul, sizeof(nul) - 1, BLOCKLIST_PLAIN, collect, &g, &st), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(st.too_long, 1);
	assert_int_equal(st.first_error_line, 2);
	/* an unknown format */
	assert_int_equal(blocklist_parse((const uint8_t *)"", 0, (enum blocklist_format)99, collect, &g, &st), -EINVAL);
}

static void
test_format_names(void **state)
{
	enum blocklist_format f;

	(void)state;
	for (int i = BLOCKLIST_AUTO; i <= BLOCKLIST_FEODO_CSV; i++) {
		assert_int_equal(blocklist_format_parse(blocklist_format_name((enum blocklist_format)i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(blocklist_format_parse("drop_v4", &f), -EINVAL);
}

static char tmpdir[] = "/tmp/test_blocklist.XXXXXX";

static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
	return path;
}

static bool
listed(const struct lpm *t, const char *text, uint32_t *id)
{
	struct addr a;

	assert_int_equal(addr_parse(text, strlen(text), &a), 0);
	return lpm_lookup(t, &a, id, NULL);
}

static void
test_load(void **state)
{
	struct lpm t;
	struct blocklist_families fam = { NULL, 0 };
	struct blocklist_stats st;
	uint32_t v;

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	lpm_init(&t);
	const char *p = write_file("drop_v4.json",
	                           "{\"cidr\":\"1.10.16.0/20\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n"
	                           "{\"type\":\"metadata\",\"timestamp\":1790072042}\n");
	assert_int_equal(blocklist_load(p, BLOCKLIST_AUTO, &t, &fam, &st), 0);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.format, BLOCKLIST_DROP_JSON);
	assert_non_null(t.index);
	assert_true(listed(&t, "1.10.20.1", &v));
	assert_int_equal(v, 0);                 /* a network: no port, no family */
	assert_null(blocklist_family(&fam, v));
	assert_false(listed(&t, "1.10.32.1", &v));

	/* a malformed line on line 3: refused with its number, the old table kept whole */
	p = write_file("drop_v4.json", "{\"cidr\":\"5.8.37.0/24\"}\n{\"cidr\":\"5.34.242.0/23\"}\n<html>\n");
	assert_int_equal(blocklist_load(p, BLOCKLIST_AUTO, &t, &fam, &st), -EBADMSG);
	assert_int_equal(st.first_error_line, 3);
	assert_int_equal(st.malformed, 1);
	assert_true(listed(&t, "1.10.20.1", &v));
	assert_false(listed(&t, "5.8.37.1", &v));

	/* a missing file, a directory: errno, table kept */
	assert_int_equal(blocklist_load("/nonexistent/list.txt", BLOCKLIST_AUTO, &t, &fam, &st), -ENOENT);
	assert_int_equal(blocklist_load(tmpdir, BLOCKLIST_AUTO, &t, &fam, &st), -EINVAL);
	assert_true(listed(&t, "1.10.20.1", &v));

	/* a good new file replaces the table: the old entries are gone; each entry keeps its
	 * port and family in its value, the family names once each; a host listed on two
	 * ports keeps no port, with two families no family */
	p = write_file("feodo.csv", "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.211\",\"443\",\"online\",\"2026-03-12\",\"QakBot\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.212\",\"447\",\"online\",\"2026-03-12\",\"Dridex\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.213\",\"8080\",\"online\",\"2026-03-12\",\"QakBot\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.214\",\"443\",\"online\",\"2026-03-12\",\"Dridex\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.214\",\"8443\",\"online\",\"2026-03-12\",\"Dridex\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.215\",\"443\",\"online\",\"2026-03-12\",\"Dridex\"\n"
	                            "\"2025-12-30 13:56:31\",\"50.16.16.215\",\"443\",\"online\",\"2026-03-12\",\"Emotet\"\n");
	assert_int_equal(blocklist_load(p, BLOCKLIST_FEODO_CSV, &t, &fam, &st), 0);
	assert_int_equal(fam.count, 3);
	assert_true(listed(&t, "50.16.16.211", &v));
	assert_int_equal(BLOCKLIST_PORT(v), 443);
	assert_string_equal(blocklist_family(&fam, v), "QakBot");
	assert_true(listed(&t, "50.16.16.212", &v));
	assert_int_equal(BLOCKLIST_PORT(v), 447);
	assert_string_equal(blocklist_family(&fam, v), "Dridex");
	assert_true(listed(&t, "50.16.16.213", &v));
	assert_int_equal(BLOCKLIST_PORT(v), 8080);
	assert_string_equal(blocklist_family(&fam, v), "QakBot");
	assert_true(listed(&t, "50.16.16.214", &v));
	assert_int_equal(BLOCKLIST_PORT(v), 0);
	assert_string_equal(blocklist_family(&fam, v), "Dridex");
	assert_true(listed(&t, "50.16.16.215", &v));
	assert_int_equal(BLOCKLIST_PORT(v), 443);
	assert_null(blocklist_family(&fam, v));
	assert_false(listed(&t, "50.16.16.210", &v));
	assert_false(listed(&t, "1.10.20.1", &v));
	/* a failed load keeps the families with the table */
	p = write_file("drop_v4.json", "<html>\n");
	assert_int_equal(blocklist_load(p, BLOCKLIST_AUTO, &t, &fam, &st), -EBADMSG);
	assert_true(listed(&t, "50.16.16.212", &v));
	assert_string_equal(blocklist_family(&fam, v), "Dridex");
	lpm_free(&t);
	blocklist_families_free(&fam);
	static const char *const files[] = { "drop_v4.json", "feodo.csv" };
	for (size_t i = 0; i < 2; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(tmpdir), 0);
}

/* A list naming more families than a value can index: the first BLOCKLIST_FAMILIES
 * keep their names, the rest load without one. */
static void
test_families_cap(void **state)
{
	size_t n = BLOCKLIST_FAMILIES + 5, cap = 64 * n + 64, off = 0;
	char *text = malloc(cap), path[64] = "/tmp/test_blocklist-fam-XXXXXX";
	struct lpm t;
	struct blocklist_families fam = { NULL, 0 };
	struct blocklist_stats st;
	uint32_t v;
	struct addr a;

	(void)state;
	assert_non_null(text);
	off += (size_t)snprintf(text, cap, "first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, cap - off, "2026-01-01 00:00:00,10.0.%zu.%zu,443,online,2026-01-01,Fam%zu\n",
		                        i / 256, i % 256, i);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, off), (ssize_t)off);
	close(fd);
	lpm_init(&t);
	assert_int_equal(blocklist_load(path, BLOCKLIST_AUTO, &t, &fam, &st), 0);
	assert_int_equal(fam.count, BLOCKLIST_FAMILIES);
	assert_int_equal(addr_parse("10.0.0.254", 10, &a), 0);
	assert_true(lpm_lookup(&t, &a, &v, NULL));
	assert_string_equal(blocklist_family(&fam, v), "Fam254");
	assert_int_equal(addr_parse("10.0.1.0", 8, &a), 0);
	assert_true(lpm_lookup(&t, &a, &v, NULL));
	assert_null(blocklist_family(&fam, v));
	assert_int_equal(BLOCKLIST_PORT(v), 443);
	lpm_free(&t);
	blocklist_families_free(&fam);
	unlink(path);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_text),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_drop_json),
		cmocka_unit_test(test_feodo),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_families_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
