/*
 * test_delivery.c — the delivery-error sensor: correlation of client= lines with
 * delivery and reject lines (per logging host), the bounded queue-ID table, the four
 * rules (bounce_ratio with its Wilson lower bound, recipient_domains,
 * spam_rejected, account_networks) and log time. Real Postfix line formats, a judge
 * without a store (level changes commit at once), config_defaults() tweaked per test.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "judge/subjects.h"
#include "sense/delivery.h"
#include "sense/maillog.h"

#define SEC(n)     ((usec_t)(n) * USEC_PER_SEC)
#define MINUTES(n) SEC((n) * 60)
#define HOURS(n)   SEC((n) * 3600)

/* 2026-11-27T06:00:00Z: on a boundary of every window used here (5 min, 15 min, 1 h). */
#define T0 SEC(INT64_C(1795759200))

/* ---- real line formats: Postfix 3.7.11 and published remote replies ---- */

#define L_CLIENT   "postfix/smtpd[18274]: %s: client=unknown[%s]"
#define L_SUBMIT   "postfix/submission/smtpd[18325]: %s: client=pc.dsl.example.net[%s], " \
	"sasl_method=PLAIN, sasl_username=%s"
#define L_REMOVED  "postfix/qmgr[18252]: %s: removed"
#define L_SENT     "postfix/smtp[3113]: %s: to=<%s>, relay=mx.example.org[203.0.113.9]:25, delay=5.4, " \
	"delays=0.08/0.01/3.5/1.9, tls=dane, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4cbdb56t4MzPjfw)"
#define L_UNKNOWN  "postfix/smtp[18281]: %s: to=<%s>, relay=gmail-smtp-in.l.google.com[142.250.27.26]:25, " \
	"delay=0.9, delays=0.01/0/0.4/0.5, dsn=5.1.1, status=bounced (host gmail-smtp-in.l.google.com" \
	"[142.250.27.26] said: 550-5.1.1 The email account that you tried to reach does not exist. " \
	"Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 " \
	"unnecessary spaces. Learn more at 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser " \
	"a1-20020a05600c000100b0040e3 - gsmtp (in reply to RCPT TO command))"
#define L_SPAM_OUTLOOK "postfix/smtp[18281]: %s: to=<%s>, relay=example-com.mail.protection.outlook.com" \
	"[52.101.68.1]:25, delay=1.2, delays=0.01/0/0.6/0.6, dsn=5.7.1, status=bounced (host " \
	"example-com.mail.protection.outlook.com[52.101.68.1] said: 550 5.7.1 Unfortunately, messages " \
	"from [203.0.113.5] weren't sent. Please contact your Internet service provider since part of " \
	"their network is on our block list (S3150). (in reply to MAIL FROM command))"
#define L_SPAM_YAHOO "postfix/smtp[18281]: %s: to=<%s>, relay=mta7.am0.yahoodns.net[67.195.204.72]:25, " \
	"delay=0.7, delays=0.01/0/0.3/0.4, dsn=5.7.1, status=bounced (host mta7.am0.yahoodns.net" \
	"[67.195.204.72] said: 553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, " \
	"because the ip is in Spamhaus's list; see https://postmaster.yahooinc.com/error-codes (in " \
	"reply to MAIL FROM command))"
#define L_POLICY   "postfix/smtp[18281]: %s: to=<%s>, relay=gmail-smtp-in.l.google.com[142.250.27.26]:25, " \
	"delay=0.9, delays=0.01/0/0.4/0.5, dsn=5.7.26, status=bounced (host gmail-smtp-in.l.google.com" \
	"[142.250.27.26] said: 550-5.7.26 This mail has been blocked because the sender is " \
	"unauthenticated. 550-5.7.26 Gmail requires all senders to authenticate with either SPF or " \
	"DKIM. (in reply to end of DATA command))"
#define L_DEFERRED "postfix/smtp[18281]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:48597, delay=5.9, " \
	"delays=5.9/0.01/0.02/0.01, dsn=4.3.0, status=deferred (host 127.0.0.1[127.0.0.1] said: " \
	"450 4.3.0 Error: command failed (in reply to RCPT TO command))"

enum rcpt_kind { R_SENT, R_UNKNOWN, R_SPAM_OUTLOOK, R_SPAM_YAHOO, R_POLICY, R_DEFERRED };

static const char *const rcpt_formats[] = {
	[R_SENT] = L_SENT, [R_UNKNOWN] = L_UNKNOWN, [R_SPAM_OUTLOOK] = L_SPAM_OUTLOOK,
	[R_SPAM_YAHOO] = L_SPAM_YAHOO, [R_POLICY] = L_POLICY, [R_DEFERRED] = L_DEFERRED,
};

/* ---- fixture ---- */

struct fx {
	struct config cfg;
	struct judge *j;
	struct delivery *d;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	log_set_level(LOG_LEVEL_ERROR);
	setenv("TZ", "UTC", 1);
	tzset();
	config_defaults(&f->cfg);
	snprintf(f->cfg.path, sizeof(f->cfg.path), "test.conf");
	if ((f->j = judge_new(&f->cfg, NULL)) == NULL || (f->d = delivery_new(f->j, &f->cfg)) == NULL)
		return -1;
	if (judge_configure(f->j, &f->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "judge_configure: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	delivery_free(f->d);
	judge_free(f->j);
	config_free(&f->cfg);
	free(f);
	unsetenv("TZ");
	tzset();
	return 0;
}

/* Any bounce is evidence: one recipient is enough and any bound above 1 % counts. */
static void
fx_sensitive(struct fx *f)
{
	f->cfg.maillog.bounce_min_recipients = 1;
	f->cfg.maillog.bounce_threshold = 0.01;
	delivery_configure(f->d, &f->cfg);
}

/* ---- feeding lines ---- */

/* "2026-11-27T06:40:01.000000Z" */
static void
rfc3339(usec_t t, char *buf, size_t size)
{
	time_t secs = (time_t)(t / USEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(t % USEC_PER_SEC));
}

/* Feeds "TIME HOST TEXT" at time t (also `now`); returns what delivery_line returned. */
static int __attribute__((format(printf, 4, 5)))
feed(struct fx *f, usec_t t, const char *host, const char *fmt, ...)
{
	char line[4096], ts[40];
	va_list ap;
	int n;

	rfc3339(t, ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s %s ", ts, host);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	return delivery_line(f->d, line, (size_t)n, t);
}

static void
client(struct fx *f, usec_t t, const char *host, const char *qid, const char *addr, const char *account)
{
	int kind = account ? feed(f, t, host, L_SUBMIT, qid, addr, account) : feed(f, t, host, L_CLIENT, qid, addr);

	assert_int_equal(kind, MAILLOG_CLIENT);
}

static void
rcpt(struct fx *f, usec_t t, const char *host, const char *qid, const char *to, enum rcpt_kind k)
{
	/* the format is one of the fixed strings above */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	char text[2048];
	snprintf(text, sizeof(text), rcpt_formats[k], qid, to);
#pragma GCC diagnostic pop
	assert_int_equal(feed(f, t, host, "%s", text), MAILLOG_DELIVERY);
}

static void
removed(struct fx *f, usec_t t, const char *host, const char *qid)
{
	assert_int_equal(feed(f, t, host, L_REMOVED, qid), MAILLOG_REMOVED);
}

/* ---- looking at the judge ---- */

static const struct evidence_item *
evidence(struct fx *f, const char *subject, const char *kind)
{
	struct subject *s = judge_lookup(f->j, subject);
	int k = judge_kind_id(f->j, kind);

	assert_true(k >= 0);
	return s ? judge_evidence(s, k) : NULL;
}

static const char *
summary(struct fx *f, const char *subject, const char *kind)
{
	const struct evidence_item *e = evidence(f, subject, kind);

	if (e == NULL)
		fail_msg("no %s evidence for %s", kind, subject);
	return e->summary;
}

static int
level(struct fx *f, const char *subject)
{
	struct subject *s = judge_lookup(f->j, subject);

	return s ? s->level : LEVEL_NORMAL;
}

static void
assert_contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static uint64_t
outcomes_total(const struct delivery_stats *st)
{
	uint64_t n = 0;

	for (size_t i = 0; i < MAILLOG_OUTCOME_COUNT; i++)
		n += st->outcomes[i];
	return n;
}

/* ---- the four kinds ---- */

static void
test_kinds_registered(void **state)
{
	struct fx *f = *state;

	assert_true(judge_kind_id(f->j, "bounce_ratio") >= 0);
	assert_true(judge_kind_id(f->j, "recipient_domains") >= 0);
	assert_true(judge_kind_id(f->j, "spam_rejected") >= 0);
	assert_true(judge_kind_id(f->j, "account_networks") >= 0);
	/* a second sensor on the same judge (lazaretd -n does this) gets the same kinds */
	int bounce = judge_kind_id(f->j, "bounce_ratio");
	struct delivery *d2 = delivery_new(f->j, &f->cfg);
	assert_non_null(d2);
	delivery_free(d2);
	assert_int_equal(judge_kind_id(f->j, "bounce_ratio"), bounce);
}

/* ---- correlation ---- */

static void
test_correlation_host_and_account(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	client(f, T0, "relay", "4A3C2B1D0E", "192.0.2.7", "alice@example.net");
	assert_int_equal(st->queue_ids_open, 1);
	rcpt(f, T0 + SEC(1), "relay", "4A3C2B1D0E", "nobody1@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(2), "relay", "4A3C2B1D0E", "nobody2@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(3), "relay", "4A3C2B1D0E", "nobody3@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(4), "relay", "4A3C2B1D0E", "bob@example.org", R_SENT);

	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT], 3);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_DELIVERED], 1);
	assert_int_equal(st->unattributed, 0);
	assert_int_equal(st->kinds[MAILLOG_CLIENT], 1);
	assert_int_equal(st->kinds[MAILLOG_DELIVERY], 4);
	assert_int_equal(st->lines, 5);

	/* both the host and the SASL account carry the same outcomes */
	assert_contains(summary(f, "192.0.2.7", "bounce_ratio"), "3 of 4 recipients");
	assert_contains(summary(f, "192.0.2.7", "bounce_ratio"), "(3 unknown)");
	assert_contains(summary(f, "account:alice@example.net", "bounce_ratio"), "3 of 4 recipients");
	assert_null(judge_lookup(f->j, "192.0.2.8"));

	/* removed closes the queue ID: later lines for it are not attributed */
	removed(f, T0 + SEC(5), "relay", "4A3C2B1D0E");
	assert_int_equal(st->queue_ids_open, 0);
	rcpt(f, T0 + SEC(6), "relay", "4A3C2B1D0E", "nobody4@example.org", R_UNKNOWN);
	assert_int_equal(st->unattributed, 1);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT], 3);
	assert_contains(summary(f, "192.0.2.7", "bounce_ratio"), "3 of 4 recipients");
}

/*
 * Long queue IDs with a 'z' in their time part (enable_long_queue_ids; issue 14):
 * their outcomes count for the host and account that opened them, and a line whose
 * queue ID Postfix could not have written is skipped under "queue_id", not lost
 * among the lines lazaret does not use.
 */
static void
test_correlation_long_qid_with_z(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	client(f, T0, "relay", "4Pbzwt5dNXz3tBb", "192.0.2.70", "zoe@example.net");
	rcpt(f, T0 + SEC(1), "relay", "4Pbzwt5dNXz3tBb", "nobody1@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(2), "relay", "4Pbzwt5dNXz3tBb", "bob@example.org", R_SENT);
	assert_int_equal(st->unattributed, 0);
	assert_int_equal(st->kinds[MAILLOG_OTHER], 0);
	assert_contains(summary(f, "192.0.2.70", "bounce_ratio"), "1 of 2 recipients");
	assert_contains(summary(f, "account:zoe@example.net", "bounce_ratio"), "1 of 2 recipients");
	removed(f, T0 + SEC(3), "relay", "4Pbzwt5dNXz3tBb");
	assert_int_equal(st->queue_ids_open, 0);

	/* the last 'z' at 9: no ID Postfix writes */
	assert_int_equal(feed(f, T0 + SEC(4), "relay", L_REMOVED, "4Pbzwt5dNz3tBb"),
	    MAILLOG_ERR_QUEUE_ID);
	assert_int_equal(st->errors[-MAILLOG_ERR_QUEUE_ID], 1);
	assert_int_equal(st->kinds[MAILLOG_OTHER], 0);
}

/*
 * Regression test for a bug, since fixed (src/sense/delivery.c, qid_open): for a client= line without
 * sasl_username — every port-25 message — qid_open calls
 * memcpy(e->data + klen, l->sasl_username.ptr, 0) with a NULL source: undefined
 * behaviour, and UBSan (halt_on_error=1, as tests/meson.build runs it) stops the test
 * program at the first such line. Fix: `if (alen > 0) memcpy(...)`. In the plain
 * build this test passes; under -fsanitize=undefined it is where the run stops.
 */
static void
test_correlation_client_without_sasl(void **state)
{
	struct fx *f = *state;

	fx_sensitive(f);
	client(f, T0, "relay", "3D0F1A7E590", "192.0.2.50", NULL);
	rcpt(f, T0 + SEC(1), "relay", "3D0F1A7E590", "bounce1@bad.test", R_UNKNOWN);
	assert_non_null(evidence(f, "192.0.2.50", "bounce_ratio"));
	assert_int_equal(delivery_stats(f->d)->unattributed, 0);
}

static void
test_correlation_unknown_queue_id(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	struct judge_stats js;

	fx_sensitive(f);
	rcpt(f, T0, "relay", "3D0F1A7E590", "bounce1@bad.test", R_UNKNOWN);
	rcpt(f, T0, "relay", "3D0F1A7E590", "ok@good.test", R_SENT);
	assert_int_equal(st->unattributed, 2);
	assert_int_equal(outcomes_total(st), 0);
	judge_stats_get(f->j, &js);
	assert_int_equal(js.tracked, 0);
	/* a removed line for an unknown ID is harmless */
	removed(f, T0, "relay", "3D0F1A7E590");
	assert_int_equal(st->queue_ids_open, 0);
}

static void
test_correlation_deferred_not_final(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	client(f, T0, "relay", "7C490A7E590", "192.0.2.9", NULL);
	for (int i = 0; i < 3; i++)
		rcpt(f, T0 + MINUTES(5 * i), "relay", "7C490A7E590", "later@tmp.test", R_DEFERRED);
	assert_int_equal(outcomes_total(st), 0);
	assert_int_equal(st->unattributed, 0);
	assert_null(evidence(f, "192.0.2.9", "bounce_ratio"));

	/* the final answer after the retries is the one outcome */
	rcpt(f, T0 + MINUTES(20), "relay", "7C490A7E590", "later@tmp.test", R_UNKNOWN);
	assert_int_equal(outcomes_total(st), 1);
	assert_contains(summary(f, "192.0.2.9", "bounce_ratio"), "1 of 1 recipients");
}

static void
test_correlation_logging_hosts_apart(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	/* the same short queue ID on two relays */
	client(f, T0, "relay1", "3D0F1A7E590", "192.0.2.1", NULL);
	client(f, T0, "relay2", "3D0F1A7E590", "192.0.2.2", NULL);
	assert_int_equal(st->queue_ids_open, 2);
	rcpt(f, T0 + SEC(1), "relay1", "3D0F1A7E590", "x1@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(1), "relay1", "3D0F1A7E590", "x2@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(1), "relay2", "3D0F1A7E590", "y1@example.org", R_SENT);
	assert_contains(summary(f, "192.0.2.1", "bounce_ratio"), "2 of 2 recipients");
	assert_null(evidence(f, "192.0.2.2", "bounce_ratio"));

	/* removed on relay1 leaves relay2's message open */
	removed(f, T0 + SEC(2), "relay1", "3D0F1A7E590");
	assert_int_equal(st->queue_ids_open, 1);
	rcpt(f, T0 + SEC(3), "relay2", "3D0F1A7E590", "y2@example.org", R_UNKNOWN);
	assert_int_equal(st->unattributed, 0);
	assert_contains(summary(f, "192.0.2.2", "bounce_ratio"), "1 of 2 recipients");
	assert_contains(summary(f, "192.0.2.1", "bounce_ratio"), "2 of 2 recipients");
}

static void
test_correlation_reused_queue_id(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	/* a second client= line for the same ID (no removed seen): the newer one wins */
	client(f, T0, "relay", "F2E85A7E590", "192.0.2.21", NULL);
	client(f, T0 + SEC(1), "relay", "F2E85A7E590", "192.0.2.22", NULL);
	assert_int_equal(st->queue_ids_open, 1);
	rcpt(f, T0 + SEC(2), "relay", "F2E85A7E590", "x@example.org", R_UNKNOWN);
	assert_null(evidence(f, "192.0.2.21", "bounce_ratio"));
	assert_non_null(evidence(f, "192.0.2.22", "bounce_ratio"));
}

/* ---- NOQUEUE rejects ---- */

struct reject_case {
	const char *name;
	const char *addr;        /* the client, unique per row */
	const char *text;        /* after "NOQUEUE: reject: RCPT from unknown[ADDR]: " */
	bool counted;            /* an outcome for the client host */
	int own;                 /* 1: counted as lazaret's own, 0: not, -1: either */
};

#define IGNORE_TEXT "Blocked by the abuse desk of Example ISP"

static const struct reject_case reject_cases[] = {
	{ "550 5.1.1 user unknown", "192.0.2.31",
	  "550 5.1.1 <nouser@ok.test>: Recipient address rejected: User unknown in virtual mailbox "
	  "table; from=<a@example.net> to=<nouser@ok.test> proto=ESMTP helo=<vm>", true, 0 },
	{ "554 5.7.1 DNSBL", "192.0.2.32",
	  "554 5.7.1 <spam@ok.test>: Recipient address rejected: Service unavailable; Client host "
	  "blocked using zen.spamhaus.org; from=<a@example.net> to=<spam@ok.test> proto=ESMTP helo=<vm>",
	  true, 0 },
	{ "550 5.1.1 cut short before its tail (issue 14)", "192.0.2.41",
	  "550 5.1.1 <nouser2@ok.test>: Recipient address rejected: User unknown in virtual", true, 0 },
	{ "554 5.7.1 DNSBL cut short: no recipient named, no outcome", "192.0.2.42",
	  "554 5.7.1 Service unavailable; Client host [192.0.2.42] blocked using zen.spamhaus.org",
	  false, 0 },
	{ "452 4.2.2 mailbox full", "192.0.2.33",
	  "452 4.2.2 <full@ok.test>: Recipient address rejected: Mailbox full; from=<a@example.net> "
	  "to=<full@ok.test> proto=ESMTP helo=<vm>", false, 0 },
	{ "454 4.7.1 relay access denied", "192.0.2.34",
	  "454 4.7.1 <stranger@elsewhere.test>: Relay access denied; from=<a@example.net> "
	  "to=<stranger@elsewhere.test> proto=ESMTP helo=<vm>", false, 0 },
	{ "lazaret's reject_text", "192.0.2.35",
	  "554 5.7.1 <bob@example.org>: Recipient address rejected: Mail from your connection is "
	  "blocked because your computer or account appears to be compromised; see "
	  "http://portal.example.net/; from=<a@example.net> to=<bob@example.org> proto=ESMTP helo=<pc>",
	  false, 1 },
	{ "lazaret's reject_text, the line cut short inside it (a syslog relay's limit)", "192.0.2.43",
	  "554 5.7.1 <carl@example.org>: Recipient address rejected: Mail from your connection is "
	  "blocked because your comp", false, 1 },
	{ "a refusal that ends in a few words lazaret's text begins with: not lazaret's", "192.0.2.44",
	  "550 5.1.1 <mail@ok.test>: Recipient address rejected: No Mail from", true, 0 },
	{ "lazaret's defer_text (DEFER_IF_PERMIT)", "192.0.2.36",
	  "450 4.7.1 <bob@example.org>: Recipient address rejected: Too much mail from your "
	  "connection in a short time; please try again later; from=<a@example.net> "
	  "to=<bob@example.org> proto=ESMTP helo=<pc>", false, -1 },
	{ "the operator's ignore_text", "192.0.2.37",
	  "550 5.7.1 <bob@example.org>: Recipient address rejected: " IGNORE_TEXT " (ticket 4711); "
	  "from=<a@example.net> to=<bob@example.org> proto=ESMTP helo=<pc>", false, 1 },
};

static void
test_noqueue_rejects(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	snprintf(f->cfg.maillog.ignore_text, sizeof(f->cfg.maillog.ignore_text), "%s", IGNORE_TEXT);
	for (size_t i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
		const struct reject_case *c = &reject_cases[i];
		uint64_t outcomes = outcomes_total(st), own = st->own_rejects;

		int kind = feed(f, T0 + SEC(i), "relay", "postfix/smtpd[18274]: NOQUEUE: reject: RCPT from "
		    "unknown[%s]: %s", c->addr, c->text);
		if (kind != MAILLOG_REJECT)
			fail_msg("%s: parsed as %d", c->name, kind);
		if ((outcomes_total(st) - outcomes == 1) != c->counted)
			fail_msg("%s: %s as an outcome", c->name, c->counted ? "not counted" : "counted");
		if ((evidence(f, c->addr, "bounce_ratio") != NULL) != c->counted)
			fail_msg("%s: evidence %s", c->name, c->counted ? "missing" : "present");
		if (c->own >= 0 && (st->own_rejects - own == 1) != (c->own == 1))
			fail_msg("%s: own_rejects went from %llu to %llu", c->name, (unsigned long long)own,
			    (unsigned long long)st->own_rejects);
	}
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT], 3);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_SPAM_REJECTED], 1);
	assert_int_equal(st->unattributed, 0);

	/* rejects with no recipient (CONNECT, MAIL) are not recipient outcomes */
	uint64_t before = outcomes_total(st);
	assert_int_equal(feed(f, T0 + MINUTES(1), "relay", "postfix/smtpd[18274]: NOQUEUE: reject: CONNECT "
	    "from unknown[192.0.2.38]: 554 5.7.1 <unknown[192.0.2.38]>: Client host rejected: Access "
	    "denied; proto=SMTP"), MAILLOG_REJECT);
	assert_int_equal(outcomes_total(st), before);
}

/* A changed reject_text applies from the next line on (the daemon's reload). */
static void
test_own_reject_text_configured(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	const char *line = "postfix/smtpd[18274]: NOQUEUE: reject: RCPT from unknown[192.0.2.40]: 554 5.7.1 "
	    "<bob@example.org>: Recipient address rejected: Your PC sends spam, call 0800 123 456; "
	    "from=<a@example.net> to=<bob@example.org> proto=ESMTP helo=<pc>";

	fx_sensitive(f);
	assert_int_equal(feed(f, T0, "relay", "%s", line), MAILLOG_REJECT);
	assert_int_equal(st->own_rejects, 0);
	assert_int_equal(outcomes_total(st), 1);
	snprintf(f->cfg.policy.reject_text, sizeof(f->cfg.policy.reject_text), "Your PC sends spam, call");
	delivery_configure(f->d, &f->cfg);
	assert_int_equal(feed(f, T0 + SEC(1), "relay", "%s", line), MAILLOG_REJECT);
	assert_int_equal(st->own_rejects, 1);
	assert_int_equal(outcomes_total(st), 1);
}

/* ---- bounded queue IDs ---- */

static void
test_queue_ids_evicted(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	f->cfg.maillog.max_queue_ids = 3;
	client(f, T0, "relay", "A00000001", "192.0.2.51", NULL);
	client(f, T0 + SEC(1), "relay", "A00000002", "192.0.2.52", NULL);
	client(f, T0 + SEC(2), "relay", "A00000003", "192.0.2.53", NULL);
	assert_int_equal(st->queue_ids_open, 3);
	assert_int_equal(st->queue_ids_evicted, 0);
	client(f, T0 + SEC(3), "relay", "A00000004", "192.0.2.54", NULL);
	assert_int_equal(st->queue_ids_open, 3);
	assert_int_equal(st->queue_ids_evicted, 1);

	/* the oldest went */
	rcpt(f, T0 + SEC(4), "relay", "A00000001", "x@example.org", R_UNKNOWN);
	assert_int_equal(st->unattributed, 1);
	assert_null(evidence(f, "192.0.2.51", "bounce_ratio"));
	rcpt(f, T0 + SEC(4), "relay", "A00000002", "x@example.org", R_UNKNOWN);
	rcpt(f, T0 + SEC(4), "relay", "A00000004", "x@example.org", R_UNKNOWN);
	assert_int_equal(st->unattributed, 1);
	assert_non_null(evidence(f, "192.0.2.52", "bounce_ratio"));
	assert_non_null(evidence(f, "192.0.2.54", "bounce_ratio"));

	/* removing one makes room: no eviction */
	removed(f, T0 + SEC(5), "relay", "A00000002");
	client(f, T0 + SEC(6), "relay", "A00000005", "192.0.2.55", NULL);
	assert_int_equal(st->queue_ids_evicted, 1);
	assert_int_equal(st->queue_ids_open, 3);
}

static void
test_queue_ids_expired(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	f->cfg.maillog.queue_id_max_age = HOURS(1);
	client(f, T0, "relay", "B00000001", "192.0.2.61", NULL);
	client(f, T0 + MINUTES(50), "relay", "B00000002", "192.0.2.62", NULL);

	delivery_expire(f->d, T0 + MINUTES(59));
	assert_int_equal(st->queue_ids_expired, 0);
	assert_int_equal(st->queue_ids_open, 2);

	delivery_expire(f->d, T0 + MINUTES(61));
	assert_int_equal(st->queue_ids_expired, 1);
	assert_int_equal(st->queue_ids_open, 1);
	rcpt(f, T0 + MINUTES(62), "relay", "B00000001", "x@example.org", R_UNKNOWN);
	assert_int_equal(st->unattributed, 1);
	rcpt(f, T0 + MINUTES(62), "relay", "B00000002", "x@example.org", R_UNKNOWN);
	assert_int_equal(st->unattributed, 1);
	assert_non_null(evidence(f, "192.0.2.62", "bounce_ratio"));

	delivery_expire(f->d, T0 + MINUTES(111));
	assert_int_equal(st->queue_ids_expired, 2);
	assert_int_equal(st->queue_ids_open, 0);
	assert_int_equal(st->queue_ids_evicted, 0);
}

/* ---- bounce_ratio ---- */

/* One message from addr with `sent` delivered recipients, then `bounced` unknown ones. */
static void
message(struct fx *f, usec_t t, const char *qid, const char *addr, const char *account, int sent, int bounced)
{
	char to[64];

	client(f, t, "relay", qid, addr, account);
	for (int i = 0; i < sent; i++) {
		snprintf(to, sizeof(to), "friend%d@example.org", i);
		rcpt(f, t, "relay", qid, to, R_SENT);
	}
	for (int i = 0; i < bounced; i++) {
		snprintf(to, sizeof(to), "guess%d@example.org", i);
		rcpt(f, t, "relay", qid, to, R_UNKNOWN);
	}
	removed(f, t, "relay", qid);
}

static void
test_bounce_three_of_four(void **state)
{
	struct fx *f = *state;

	/* the shipped defaults: 3 of 4, 2 of 3 — far below bounce_min_recipients */
	message(f, T0, "C00000001", "192.0.2.71", "frank@example.net", 1, 3);
	message(f, T0 + SEC(10), "C00000002", "192.0.2.72", NULL, 1, 2);
	assert_null(evidence(f, "192.0.2.71", "bounce_ratio"));
	assert_null(evidence(f, "account:frank@example.net", "bounce_ratio"));
	assert_null(evidence(f, "192.0.2.72", "bounce_ratio"));
	assert_int_equal(level(f, "192.0.2.71"), LEVEL_NORMAL);
	assert_int_equal(level(f, "account:frank@example.net"), LEVEL_NORMAL);

	/* enough recipients, a raw ratio above the threshold (35 % > 30 %), but the Wilson
	 * lower bound is 20 %: no evidence */
	message(f, T0 + SEC(20), "C00000003", "192.0.2.73", NULL, 13, 7);
	assert_null(evidence(f, "192.0.2.73", "bounce_ratio"));
	assert_int_equal(level(f, "192.0.2.73"), LEVEL_NORMAL);

	/* the same with the minimum lowered: 2 of 3 has a bound of 25 %, still no evidence */
	f->cfg.maillog.bounce_min_recipients = 1;
	message(f, T0 + SEC(30), "C00000004", "192.0.2.74", NULL, 1, 2);
	assert_null(evidence(f, "192.0.2.74", "bounce_ratio"));
}

static void
test_bounce_412_of_520(void **state)
{
	struct fx *f = *state;
	char to[64];

	/* five messages of 104 recipients within ten minutes, 412 unknown in all */
	int left_bounce = 412, left_sent = 108;
	for (int m = 0; m < 5; m++) {
		char qid[16];
		usec_t t = T0 + MINUTES(2 * m);
		snprintf(qid, sizeof(qid), "D0000000%d", m);
		client(f, t, "relay", qid, "198.51.100.86", "mallory@example.net");
		for (int r = 0; r < 104; r++) {
			/* mix: roughly four of five fail */
			bool fail = left_bounce > 0 && (r % 5 != 4 || left_sent == 0);
			snprintf(to, sizeof(to), "info%d@example.com", m * 104 + r);
			rcpt(f, t + SEC(r), "relay", qid, to, fail ? R_UNKNOWN : R_SENT);
			if (fail)
				left_bounce--;
			else
				left_sent--;
		}
		removed(f, t + SEC(104), "relay", qid);
	}
	assert_int_equal(left_bounce, 0);
	assert_int_equal(left_sent, 0);

	const char *want[] = { "198.51.100.86", "account:mallory@example.net" };
	for (size_t i = 0; i < 2; i++) {
		const struct evidence_item *e = evidence(f, want[i], "bounce_ratio");
		assert_non_null(e);
		assert_contains(e->summary, "412 of 520");
		assert_contains(e->summary, "(412 unknown)");
		assert_contains(e->summary, "at least 76% at 95% confidence");
		assert_true(fabs(e->value - 0.761570763542578) < 1e-9);
		assert_true(level(f, want[i]) >= LEVEL_THROTTLE);
	}
	const struct delivery_stats *st = delivery_stats(f->d);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT], 412);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_DELIVERED], 108);
	assert_int_equal(st->queue_ids_open, 0);
}

static void
test_bounce_window_slides(void **state)
{
	struct fx *f = *state;

	/* defaults: a one-hour window, 20 recipients at least */
	message(f, T0, "E00000001", "192.0.2.81", NULL, 0, 25);
	assert_contains(summary(f, "192.0.2.81", "bounce_ratio"), "25 of 25 recipients");
	assert_contains(summary(f, "192.0.2.81", "bounce_ratio"), "in the last 1h");

	/* half an hour later: still in the window */
	message(f, T0 + MINUTES(30), "E00000002", "192.0.2.81", NULL, 5, 0);
	assert_contains(summary(f, "192.0.2.81", "bounce_ratio"), "25 of 30 recipients");

	/* 75 minutes after the first: its 25 no longer count, the 5 of T0+30m still do */
	message(f, T0 + MINUTES(75), "E00000003", "192.0.2.81", NULL, 0, 20);
	assert_contains(summary(f, "192.0.2.81", "bounce_ratio"), "20 of 25 recipients");

	/* two hours after the last: everything before is gone; a clean message alone does
	 * not reach bounce_min_recipients and leaves the old summary as it was */
	message(f, T0 + MINUTES(200), "E00000004", "192.0.2.81", NULL, 19, 0);
	assert_contains(summary(f, "192.0.2.81", "bounce_ratio"), "20 of 25 recipients");
	message(f, T0 + MINUTES(201), "E00000005", "192.0.2.81", NULL, 0, 20);
	assert_contains(summary(f, "192.0.2.81", "bounce_ratio"), "20 of 39 recipients");
}

/*
 * The Wilson score lower bound, computed here another way: the smallest p in [0, p̂]
 * with n (p̂ - p)² <= z² p (1 - p), by bisection.
 */
static double
wilson_by_bisection(double f, double n, double z)
{
	double phat = f / n, lo = 0, hi = phat;

	if (f == 0)
		return 0;
	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;
		if (n * (phat - mid) * (phat - mid) <= z * z * mid * (1 - mid))
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

struct wilson_case {
	int f, n;
	double confidence;
	double want;     /* from bc(1): (b - sqrt(b² - 4ac)) / 2a, a = 1 + z²/n, b = 2f/n + z²/n, c = (f/n)² */
};

static const struct wilson_case wilson_cases[] = {
	{ 412, 520, 0.95, 0.761570763542578535 },
	{ 3, 4, 0.95, 0.356168008598506358 },
	{ 2, 3, 0.95, 0.253533868281224166 },
	{ 7, 20, 0.95, 0.202260040056761027 },
	{ 15, 20, 0.95, 0.567798249839875463 },
	{ 20, 20, 0.95, 0.880842162639035520 },
	{ 1, 1, 0.95, 0.269865948784054203 },
	{ 100, 1000, 0.95, 0.085458581107733031 },
	{ 50, 100, 0.95, 0.418847796112529507 },
	{ 30, 40, 0.95, 0.624027059540183102 },
	{ 412, 520, 0.99, 0.748016797201796173 },
	{ 3, 4, 0.99, 0.247810142128655433 },
	{ 20, 20, 0.99, 0.787033019291911163 },
	{ 7, 20, 0.99, 0.159525456814107089 },
};

static void
test_bounce_wilson_bound(void **state)
{
	struct fx *f = *state;

	fx_sensitive(f);
	for (size_t i = 0; i < sizeof(wilson_cases) / sizeof(wilson_cases[0]); i++) {
		const struct wilson_case *c = &wilson_cases[i];
		char addr[32], qid[16];
		/* z of the one-sided bound at this confidence */
		double z = c->confidence == 0.95 ? 1.6448536269514722 : 2.3263478740408408;

		f->cfg.maillog.bounce_confidence = c->confidence;
		delivery_configure(f->d, &f->cfg);
		snprintf(addr, sizeof(addr), "203.0.113.%zu", i + 1);
		snprintf(qid, sizeof(qid), "F%08zu", i);
		/* sent first, bounces last, so the last evaluation is the one for (f, n) */
		message(f, T0 + MINUTES(i), qid, addr, NULL, c->n - c->f, c->f);
		const struct evidence_item *e = evidence(f, addr, "bounce_ratio");
		if (e == NULL)
			fail_msg("%d of %d at %.2f: no evidence", c->f, c->n, c->confidence);
		double other = wilson_by_bisection(c->f, c->n, z);
		if (fabs(c->want - other) > 1e-9)
			fail_msg("the test's own tables disagree: %.12f vs %.12f", c->want, other);
		if (fabs(e->value - c->want) > 1e-9)
			fail_msg("%d of %d at %.2f: bound %.12f, want %.12f", c->f, c->n, c->confidence,
			    e->value, c->want);
		/* the summary, byte for byte what printf made of it before bounce_summary */
		char want[STORE_SUMMARY_MAX], win[32];
		snprintf(want, sizeof(want), "%llu of %llu recipients refused permanently in the last %s via "
		    "the relay (%llu unknown); at least %.0f%% at %.0f%% confidence", (unsigned long long)c->f,
		    (unsigned long long)c->n, duration_format(f->cfg.maillog.bounce_window, win, sizeof(win)),
		    (unsigned long long)c->f, e->value * 100, c->confidence * 100);
		assert_string_equal(e->summary, want);
	}
}

/* ---- recipient_domains ---- */

/* n sent recipients at distinct domains dFIRST..dFIRST+n-1.example.com, one a second. */
static void
domains(struct fx *f, usec_t t, const char *qid, const char *addr, const char *account, int first, int n)
{
	char to[64];

	client(f, t, "relay", qid, addr, account);
	for (int i = 0; i < n; i++) {
		snprintf(to, sizeof(to), "contact@d%d.example.com", first + i);
		rcpt(f, t + SEC(i), "relay", qid, to, R_SENT);
	}
	removed(f, t + SEC(n), "relay", qid);
}

static void
test_domains_flagged_once_per_window(void **state)
{
	struct fx *f = *state;

	/* defaults: a 15-minute window, 30 domains at least, 5 times the usual */
	domains(f, T0, "6A0000001", "192.0.2.91", "grace@example.net", 0, 40);
	const struct evidence_item *e = evidence(f, "192.0.2.91", "recipient_domains");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_contains(e->summary, "30 different recipient domains within 15m");
	assert_contains(e->summary, "this host usually mails 0");
	e = evidence(f, "account:grace@example.net", "recipient_domains");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_contains(e->summary, "this account usually mails 0");
	assert_null(evidence(f, "192.0.2.91", "bounce_ratio"));

	/* the same window: more of the same and more new domains do not flag again */
	domains(f, T0 + MINUTES(2), "6A0000002", "192.0.2.91", "grace@example.net", 0, 40);
	domains(f, T0 + MINUTES(4), "6A0000003", "192.0.2.91", "grace@example.net", 40, 20);
	assert_int_equal(evidence(f, "192.0.2.91", "recipient_domains")->count, 1);
	assert_int_equal(evidence(f, "account:grace@example.net", "recipient_domains")->count, 1);

	/* the next window, far more again: once more */
	domains(f, T0 + MINUTES(15), "6A0000004", "192.0.2.91", "grace@example.net", 100, 120);
	assert_int_equal(evidence(f, "192.0.2.91", "recipient_domains")->count, 2);
	assert_int_equal(evidence(f, "account:grace@example.net", "recipient_domains")->count, 2);

	/* fewer than domains_min never flag */
	domains(f, T0, "6A0000005", "192.0.2.92", NULL, 0, 29);
	assert_null(evidence(f, "192.0.2.92", "recipient_domains"));
}

static void
test_domains_high_baseline(void **state)
{
	struct fx *f = *state;

	/* a newsletter host: 25 domains in each of four windows, then 40 */
	for (int w = 0; w < 4; w++) {
		char qid[16];
		snprintf(qid, sizeof(qid), "6B000000%d", w);
		domains(f, T0 + MINUTES(15 * w), qid, "192.0.2.95", NULL, 0, 25);
	}
	domains(f, T0 + MINUTES(60), "6B0000009", "192.0.2.95", NULL, 1000, 40);
	assert_null(evidence(f, "192.0.2.95", "recipient_domains"));

	/* a host with no history doing the same is flagged */
	domains(f, T0 + MINUTES(60), "6B0000010", "192.0.2.96", NULL, 1000, 40);
	assert_non_null(evidence(f, "192.0.2.96", "recipient_domains"));
}

/* ---- saving and restoring the rules' state ---- */

/* A restart: the judge and the delivery start again, the delivery from bytes. */
static void
restart(struct fx *f, const uint8_t *bytes, size_t len, int want)
{
	char err[512];

	delivery_free(f->d);
	judge_free(f->j);
	assert_non_null(f->j = judge_new(&f->cfg, NULL));
	assert_non_null(f->d = delivery_new(f->j, &f->cfg));
	assert_int_equal(judge_configure(f->j, &f->cfg, err, sizeof(err)), 0);
	if (bytes != NULL)
		assert_int_equal(delivery_restore(f->d, bytes, len), want);
}

/* A newsletter host with a baseline of 25 domains, a message still open, a bounce window. */
static void
snapshot_scene(struct fx *f)
{
	for (int w = 0; w < 4; w++) {
		char qid[16];
		snprintf(qid, sizeof(qid), "6D000000%d", w);
		domains(f, T0 + MINUTES(15 * w), qid, "192.0.2.95", NULL, 0, 25);
	}
	/* submitted before the restart, bounced after it */
	client(f, T0 + MINUTES(59), "relay", "6D0000010", "192.0.2.97", NULL);
	/* an account seen from a few networks */
	client(f, T0 + MINUTES(59), "relay", "6D0000011", "198.51.100.7", "kim@example.net");
	client(f, T0 + MINUTES(59), "relay", "6D0000012", "203.0.113.7", "kim@example.net");
}

/*
 * After a restart from a snapshot, the rules go on as if there had been none: the
 * newsletter host keeps its baseline (40 domains are not unusual for it), a bounce of
 * mail submitted before the restart is tied to its sender. From nothing, the same lines
 * would accuse the host and lose the bounce.
 */
static void
test_snapshot_restart(void **state)
{
	struct fx *f = *state;
	uint8_t *bytes;
	size_t len;

	fx_sensitive(f);
	snapshot_scene(f);
	assert_int_equal(delivery_save(f->d, T0 + MINUTES(59), &bytes, &len), 0);
	assert_true(len > 100);

	restart(f, bytes, len, 0);
	fx_sensitive(f);
	assert_int_equal(delivery_stats(f->d)->queue_ids_open, 3);
	domains(f, T0 + MINUTES(60), "6D0000020", "192.0.2.95", NULL, 1000, 40);
	assert_null(evidence(f, "192.0.2.95", "recipient_domains"));
	rcpt(f, T0 + MINUTES(61), "relay", "6D0000010", "nobody@example.org", R_UNKNOWN);
	assert_int_equal(delivery_stats(f->d)->unattributed, 0);
	assert_non_null(evidence(f, "192.0.2.97", "bounce_ratio"));
	/* restoring into a delivery in use is refused */
	assert_int_equal(delivery_restore(f->d, bytes, len), -EBUSY);

	/* the same without the snapshot */
	restart(f, NULL, 0, 0);
	fx_sensitive(f);
	domains(f, T0 + MINUTES(60), "6D0000020", "192.0.2.95", NULL, 1000, 40);
	assert_non_null(evidence(f, "192.0.2.95", "recipient_domains"));
	rcpt(f, T0 + MINUTES(61), "relay", "6D0000010", "nobody@example.org", R_UNKNOWN);
	assert_int_equal(delivery_stats(f->d)->unattributed, 1);

	/* a changed domains_window: the window numbers are dropped, the baseline kept */
	f->cfg.maillog.domains_window = MINUTES(10);
	restart(f, bytes, len, 0);
	domains(f, T0 + MINUTES(60), "6D0000020", "192.0.2.95", NULL, 1000, 40);
	assert_null(evidence(f, "192.0.2.95", "recipient_domains"));
	free(bytes);
}

/* An empty delivery's snapshot: what a damaged one must leave behind. */
static void
empty_snapshot(struct fx *f, uint8_t **bytes, size_t *len)
{
	assert_int_equal(delivery_save(f->d, T0, bytes, len), 0);
}

/* Every damaged snapshot is refused and changes nothing; none crashes the reader. */
static void
test_snapshot_damaged(void **state)
{
	struct fx *f = *state;
	uint8_t *good, *bad, *empty, *after;
	size_t len, elen, alen;

	snapshot_scene(f);
	assert_int_equal(delivery_save(f->d, T0 + MINUTES(59), &good, &len), 0);
	restart(f, NULL, 0, 0);
	empty_snapshot(f, &empty, &elen);
	assert_non_null(bad = malloc(len + 1));

	/* cut anywhere, or one byte too many */
	for (size_t k = 0; k < len; k++) {
		memcpy(bad, good, k);
		assert_int_equal(delivery_restore(f->d, bad, k), -EINVAL);
	}
	memcpy(bad, good, len);
	bad[len] = 0;
	assert_int_equal(delivery_restore(f->d, bad, len + 1), -EINVAL);
	/* any byte changed: refused or taken, never a crash (ASan/UBSan watch the reads) */
	size_t taken = 0;
	for (size_t k = 0; k < len; k++) {
		for (unsigned v = 0; v < 256; v += 51) {
			memcpy(bad, good, len);
			bad[k] ^= (uint8_t)(v | 1);
			int rc = delivery_restore(f->d, bad, len);
			assert_true(rc == 0 || rc == -EINVAL);
			if (rc == 0) {
				taken++;
				restart(f, NULL, 0, 0);
			}
		}
	}
	assert_true(taken > 0);     /* counts and times may take other values */
	/* a subject twice: found while applying, and undone. Subjects without open queue
	 * IDs: the header (32 bytes), the count, the records, a zero count of queue IDs. */
	restart(f, NULL, 0, 0);
	domains(f, T0, "6D0000030", "192.0.2.98", NULL, 0, 3);
	domains(f, T0, "6D0000031", "192.0.2.99", NULL, 0, 3);
	uint8_t *subjects, *twice;
	size_t slen, head = 4 + 4 + 8 + 8 + 8;
	assert_int_equal(delivery_save(f->d, T0, &subjects, &slen), 0);
	assert_int_equal(subjects[head], 2);
	assert_int_equal(delivery_stats(f->d)->queue_ids_open, 0);
	size_t recs = slen - head - 4 - 4;
	assert_non_null(twice = malloc(slen + recs));
	memcpy(twice, subjects, head);
	memcpy(twice + head, "\x04\0\0\0", 4);
	memcpy(twice + head + 4, subjects + head + 4, recs);
	memcpy(twice + head + 4 + recs, subjects + head + 4, recs);
	memcpy(twice + head + 4 + 2 * recs, "\0\0\0\0", 4);
	restart(f, subjects, slen, 0);            /* the original is fine */
	restart(f, twice, slen + recs, -EINVAL);
	free(subjects);
	free(twice);
	/* nothing of all that stayed */
	assert_int_equal(delivery_save(f->d, T0, &after, &alen), 0);
	assert_int_equal(alen, elen);
	assert_memory_equal(after, empty, elen);
	free(after);
	free(bad);
	free(good);
	free(empty);
}

/* ---- spam_rejected ---- */

static void
test_spam_rejected(void **state)
{
	struct fx *f = *state;
	const struct evidence_item *e;

	client(f, T0, "relay", "6C0000001", "192.0.2.101", "carol@example.net");
	rcpt(f, T0 + SEC(1), "relay", "6C0000001", "a@example.com", R_SPAM_OUTLOOK);
	e = evidence(f, "192.0.2.101", "spam_rejected");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "1 message refused as spam since "
	    "2026-11-27T06:00:01Z; last by example-com.mail.protection.outlook.com");

	rcpt(f, T0 + SEC(2), "relay", "6C0000001", "b@example.com", R_SPAM_OUTLOOK);
	rcpt(f, T0 + SEC(3), "relay", "6C0000001", "c@yahoo.com", R_SPAM_YAHOO);
	e = evidence(f, "192.0.2.101", "spam_rejected");
	assert_int_equal(e->count, 3);
	assert_string_equal(e->summary, "3 messages refused as spam since "
	    "2026-11-27T06:00:01Z; last by mta7.am0.yahoodns.net");
	e = evidence(f, "account:carol@example.net", "spam_rejected");
	assert_non_null(e);
	assert_int_equal(e->count, 3);
	assert_contains(e->summary, "; last by mta7.am0.yahoodns.net");

	/* other 5.7.x refusals (authentication policy) and unknown users are not spam */
	rcpt(f, T0 + SEC(4), "relay", "6C0000001", "d@gmail.com", R_POLICY);
	rcpt(f, T0 + SEC(5), "relay", "6C0000001", "e@gmail.com", R_UNKNOWN);
	assert_int_equal(evidence(f, "192.0.2.101", "spam_rejected")->count, 3);
	const struct delivery_stats *st = delivery_stats(f->d);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_SPAM_REJECTED], 3);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_POLICY_REJECTED], 1);

	/* our own relay refusing the host by a DNS blocklist is spam_rejected too */
	assert_int_equal(feed(f, T0 + SEC(6), "relay", "postfix/smtpd[18274]: NOQUEUE: reject: RCPT from "
	    "unknown[192.0.2.102]: 554 5.7.1 <spam@ok.test>: Recipient address rejected: Service "
	    "unavailable; Client host blocked using zen.spamhaus.org; from=<a@example.net> "
	    "to=<spam@ok.test> proto=ESMTP helo=<vm>"), MAILLOG_REJECT);
	e = evidence(f, "192.0.2.102", "spam_rejected");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	/* ... and says so: not "by remote servers" */
	assert_string_equal(e->summary, "1 message refused as spam since 2026-11-27T06:00:06Z; "
	    "last by this relay (blocklist zen.spamhaus.org)");
}

/*
 * Who refused, as the spam summary names it: a remote server by the host name of
 * relay=, this relay by what in it refused. Never an empty name.
 */
struct refuser_case {
	const char *what;
	const char *line;       /* after "TIME relay "; %s is the queue ID where there is one */
	const char *who;        /* the summary's end, after "; last by " */
};

#define RF_SMTP(relay, text) "postfix/smtp[18281]: %s: to=<a@example.com>, relay=" relay ", " \
	"delay=1.2, delays=0.01/0/0.6/0.6, dsn=5.7.1, status=bounced (" text ")"
#define RF_SAID "host mx.example.org[203.0.113.9] said: 554 5.7.1 Message rejected as spam " \
	"(in reply to end of DATA command)"

static const struct refuser_case refuser_cases[] = {
	{ "a remote server: the host name of relay=",
	  RF_SMTP("mx.example.org[203.0.113.9]:25", RF_SAID), "mx.example.org" },
	{ "a remote server without a name: its address",
	  RF_SMTP("[203.0.113.9]:25", RF_SAID), "203.0.113.9" },
	{ "a remote server with neither: relay= as written",
	  RF_SMTP("[]:25", RF_SAID), "a remote server (relay=[]:25)" },
	{ "a remote server's name that is not UTF-8, with control bytes: as subject text",
	  RF_SMTP("mx\xf6\x1b\xc2\x9b.example.org[203.0.113.9]:25", RF_SAID), "mx%F6%1B%C2%9B.example.org" },
	{ "a remote server's long name: 64 bytes of it",
	  RF_SMTP("m%%20123456789012345678901234567890123456789012345678901234567890123456789.example[203.0.113.9]:25",
	  RF_SAID), "m%2520123456789012345678901234567890123456789012345678901234567890" },
	{ "a delivery line without relay=",
	  "postfix/smtp[18281]: %s: to=<a@example.com>, delay=1.2, delays=0.01/0/0.6/0.6, "
	  "dsn=5.7.1, status=bounced (" RF_SAID ")", "an unnamed server" },
	{ "a local delivery agent",
	  "postfix/pipe[2201]: %s: to=<a@example.com>, relay=dovecot, delay=0.1, "
	  "delays=0.01/0/0/0.09, dsn=5.7.1, status=bounced (554 5.7.1 spam refused by sieve)",
	  "this relay (transport dovecot)" },
	{ "a local delivery agent whose name is not UTF-8",
	  "postfix/pipe[2201]: %s: to=<a@example.com>, relay=dove\xff" "cot\x7f, delay=0.1, "
	  "delays=0.01/0/0/0.09, dsn=5.7.1, status=bounced (554 5.7.1 spam refused by sieve)",
	  "this relay (transport dove%FFcot%7F)" },
	{ "relay=none",
	  RF_SMTP("none", "554 5.7.1 spam refused"), "this relay" },
	{ "smtpd, reject_rbl_client",
	  "postfix/smtpd[18274]: NOQUEUE: reject: RCPT from unknown[192.0.2.120]: 554 5.7.1 "
	  "Service unavailable; Client host [192.0.2.120] blocked using zen.spamhaus.org; "
	  "https://www.spamhaus.org/query/ip/192.0.2.120; from=<a@example.net> to=<b@example.org> "
	  "proto=ESMTP helo=<pc>", "this relay (blocklist zen.spamhaus.org)" },
	{ "postscreen dnsbl",
	  "postfix/postscreen[1931]: NOQUEUE: reject: RCPT from [192.0.2.120]:40112: 550 5.7.1 "
	  "Service unavailable; client [192.0.2.120] blocked using bl.spamcop.net; "
	  "from=<a@example.net>, to=<b@example.org>, proto=ESMTP, helo=<pc>",
	  "this relay (blocklist bl.spamcop.net)" },
	{ "a recipient address naming a blocklist is not one",
	  "postfix/smtpd[18274]: NOQUEUE: reject: RCPT from unknown[192.0.2.120]: 554 5.7.1 "
	  "<\"blocked using evil.example\"@example.org>: Recipient address rejected: spam source; "
	  "from=<a@example.net> to=<\"blocked using evil.example\"@example.org> proto=ESMTP "
	  "helo=<pc>", "this relay" },
	{ "a milter",
	  "postfix/cleanup[6768]: %s: milter-reject: END-OF-MESSAGE from unknown[192.0.2.120]: "
	  "5.7.1 Spam message rejected; from=<a@example.net> to=<b@example.org> proto=ESMTP "
	  "helo=<pc>", "this relay (milter)" },
	{ "body_checks",
	  "postfix/cleanup[6768]: %s: reject: body buy now from unknown[192.0.2.120]; "
	  "from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<pc>: 5.7.1 spam",
	  "this relay (body_checks)" },
};

static void
test_spam_refusers(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(refuser_cases) / sizeof(refuser_cases[0]); i++) {
		const struct refuser_case *c = &refuser_cases[i];
		char qid[16], want[256];
		const char *got;

		snprintf(qid, sizeof(qid), "6D00000%03zu", i);
		client(f, T0, "relay", qid, "192.0.2.120", NULL);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		int kind = feed(f, T0 + SEC(1), "relay", c->line, qid);
#pragma GCC diagnostic pop
		if (kind != MAILLOG_DELIVERY && kind != MAILLOG_REJECT)
			fail_msg("%s: the line was not read (%d)", c->what, kind);
		got = summary(f, "192.0.2.120", "spam_rejected");
		snprintf(want, sizeof(want), "; last by %s", c->who);
		if (strlen(got) < strlen(want) || strcmp(got + strlen(got) - strlen(want), want) != 0)
			fail_msg("%s: \"%s\" does not end in \"%s\"", c->what, got, want);
		if (strstr(got, "remote servers") != NULL)
			fail_msg("%s: \"%s\"", c->what, got);
	}
	assert_int_equal(evidence(f, "192.0.2.120", "spam_rejected")->count, i);
}

/* ---- account_networks ---- */

/* A submission from addr for account at t. */
static void
login(struct fx *f, usec_t t, const char *account, const char *addr)
{
	static unsigned n;
	char qid[16];

	snprintf(qid, sizeof(qid), "6D%07X", n++);
	client(f, t, "relay", qid, addr, account);
}

/* ---- logins from outside the relay: Dovecot in the mail log, webmail ---- */

#define L_DOVECOT  "dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.1, mpid=4711, " \
	"TLS, session=<lBT0IffqbtDAAAIH>"

static int
dovecot(struct fx *f, usec_t t, const char *service, const char *user, const char *rip)
{
	return feed(f, t, "mail", L_DOVECOT, service, user, rip);
}

/*
 * A Dovecot login adds its network to the account's account_networks as an SMTP AUTH
 * does, one item whatever the source, whose summary names the sources; only with
 * [logins] dovecot = yes. Logins from the webmail front end ([allowlist] network) and
 * failed logins are counted, never evidence.
 */
static void
test_dovecot_logins(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *ds = delivery_stats(f->d);
	char addr[32];

	/* off by default: counted, not evidence */
	for (int i = 0; i < 12; i++) {
		snprintf(addr, sizeof(addr), "198.19.%d.7", i);
		assert_int_equal(dovecot(f, T0 + MINUTES(i), "imap", "erin@example.net", addr), MAILLOG_LOGIN);
	}
	assert_null(evidence(f, "account:erin@example.net", "account_networks"));
	assert_int_equal(ds->logins_skipped[DELIVERY_LOGIN_SKIP_OFF], 12);
	assert_int_equal(ds->logins[DELIVERY_LOGIN_IMAP], 0);

	f->cfg.logins.dovecot = true;
	f->cfg.allowlist.networks = calloc(1, sizeof(struct cidr));
	assert_non_null(f->cfg.allowlist.networks);
	assert_int_equal(cidr_parse("192.0.2.0/28", &f->cfg.allowlist.networks[0]), 0);
	f->cfg.allowlist.network_count = 1;
	delivery_configure(f->d, &f->cfg);
	/* the webmail front end's IMAP logins for its users: not the account's networks */
	for (int i = 0; i < 20; i++)
		assert_int_equal(dovecot(f, T0 + HOURS(1) + SEC(i), "imap", "erin@example.net", "192.0.2.10"),
		    MAILLOG_LOGIN);
	assert_int_equal(ds->logins_skipped[DELIVERY_LOGIN_SKIP_FRONT_END], 20);
	/* failed logins: a password tried, not an account used */
	for (int i = 0; i < 30; i++) {
		snprintf(addr, sizeof(addr), "203.0.%d.9", i);
		assert_int_equal(feed(f, T0 + HOURS(1) + SEC(i), "mail", "dovecot: imap-login: Disconnected (auth "
		    "failed, 1 attempts in 2 secs): user=<erin@example.net>, method=PLAIN, rip=%s, lip=192.0.2.1, "
		    "TLS, session=<a>", addr), MAILLOG_LOGIN_FAILED);
	}
	assert_int_equal(ds->logins_failed[DELIVERY_LOGIN_IMAP], 30);
	assert_null(evidence(f, "account:erin@example.net", "account_networks"));

	/* 6 IMAP, 1 POP3, 2 webmail and 2 SMTP AUTH networks: 11, one more than account_networks */
	for (int i = 0; i < 6; i++) {
		snprintf(addr, sizeof(addr), "198.19.%d.8", i);
		assert_int_equal(dovecot(f, T0 + HOURS(2) + MINUTES(i), "imap", "erin@example.net", addr),
		    MAILLOG_LOGIN);
	}
	assert_int_equal(dovecot(f, T0 + HOURS(2) + MINUTES(7), "pop3", "erin@example.net", "2001:db8:7:1::5"),
	    MAILLOG_LOGIN);
	assert_true(delivery_login(f->d, DELIVERY_LOGIN_WEBMAIL, "erin@example.net", 16,
	    (struct strview){ "198.51.100.4", 12 }, T0 + HOURS(2) + MINUTES(8)));
	assert_true(delivery_login(f->d, DELIVERY_LOGIN_WEBMAIL, "erin@example.net", 16,
	    (struct strview){ "203.0.113.77", 12 }, T0 + HOURS(2) + MINUTES(9)));
	login(f, T0 + HOURS(2) + MINUTES(10), "erin@example.net", "100.64.3.3");
	assert_null(evidence(f, "account:erin@example.net", "account_networks"));
	login(f, T0 + HOURS(2) + MINUTES(11), "erin@example.net", "100.64.4.4");
	const struct evidence_item *e = evidence(f, "account:erin@example.net", "account_networks");
	assert_non_null(e);
	assert_int_equal(e->count, 11);
	assert_contains(e->summary, "used from 11 client networks within 1d (logins by IMAP, webmail, POP3, "
	    "SMTP AUTH): 100.64.4.0/24, 100.64.3.0/24, 203.0.113.0/24, 198.51.100.0/24, 2001:db8:7:1::/64, "
	    "198.19.5.0/24");
	if (strstr(e->summary, "192.0.2.") != NULL || strstr(e->summary, "203.0.0.") != NULL)
		fail_msg("a front end's or a failed login's network in \"%s\"", e->summary);
	assert_int_equal(ds->logins[DELIVERY_LOGIN_IMAP], 6);
	assert_int_equal(ds->logins[DELIVERY_LOGIN_POP3], 1);
	assert_int_equal(ds->logins[DELIVERY_LOGIN_WEBMAIL], 2);
	assert_int_equal(ds->logins[DELIVERY_LOGIN_SMTP], 2);
	assert_true(level(f, "account:erin@example.net") >= LEVEL_THROTTLE);
	/* an IMAP login from a network SMTP AUTH saw: still one network */
	assert_int_equal(dovecot(f, T0 + HOURS(2) + MINUTES(12), "imap", "erin@example.net", "100.64.4.9"),
	    MAILLOG_LOGIN);
	assert_int_equal(evidence(f, "account:erin@example.net", "account_networks")->count, 11);

	/* [judge] ignore (loopback by default), a garbage rip: counted, skipped */
	assert_int_equal(dovecot(f, T0 + HOURS(3), "imap", "erin@example.net", "127.0.0.1"), MAILLOG_LOGIN);
	assert_int_equal(ds->logins_skipped[DELIVERY_LOGIN_SKIP_IGNORED], 1);
	assert_int_equal(dovecot(f, T0 + HOURS(3), "imap", "erin@example.net", "198.19.999.1"), MAILLOG_LOGIN);
	assert_int_equal(ds->logins_skipped[DELIVERY_LOGIN_SKIP_ADDRESS], 1);

	/* one network, many logins: normal */
	for (int i = 0; i < 50; i++) {
		snprintf(addr, sizeof(addr), "198.18.77.%d", 1 + i % 3);
		assert_int_equal(dovecot(f, T0 + HOURS(4) + MINUTES(i), "imap", "fay@example.net", addr),
		    MAILLOG_LOGIN);
	}
	assert_null(evidence(f, "account:fay@example.net", "account_networks"));
	assert_int_equal(level(f, "account:fay@example.net"), LEVEL_NORMAL);
}

/*
 * A user name a client chose that smuggles in Dovecot's fields ("bob>, rip=...") never
 * moves a login to another account nor from another network: the lines are refused.
 */
static void
test_dovecot_smuggled_user(void **state)
{
	struct fx *f = *state;
	char user[64];

	f->cfg.logins.dovecot = true;
	delivery_configure(f->d, &f->cfg);
	for (int i = 0; i < 15; i++) {
		snprintf(user, sizeof(user), "bob>, rip=198.19.%d.1", i);
		assert_int_equal(dovecot(f, T0 + MINUTES(i), "imap", user, "203.0.113.5"), MAILLOG_ERR_DUPLICATE);
		snprintf(user, sizeof(user), "bob>, lport=%d", i);
		assert_int_equal(dovecot(f, T0 + MINUTES(i), "imap", user, "198.18.0.5"), MAILLOG_ERR_DUPLICATE);
	}
	assert_null(judge_lookup(f->j, "account:bob"));
	assert_int_equal(delivery_stats(f->d)->errors[-MAILLOG_ERR_DUPLICATE], 30);
	/* what Dovecot wrote for bob himself, from one network, counts as bob's */
	assert_int_equal(dovecot(f, T0 + HOURS(1), "imap", "bob", "203.0.113.5"), MAILLOG_LOGIN);
	assert_non_null(judge_lookup(f->j, "account:bob"));
	assert_null(evidence(f, "account:bob", "account_networks"));
}

/* A Roundcube userlogins line at t: "[05-Dec-2026 03:12:45 +0000]: <k3vd8s2a> TEXT". */
static int __attribute__((format(printf, 3, 4)))
roundcube(struct fx *f, usec_t t, const char *fmt, ...)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
		"Nov", "Dec" };
	char line[1024];
	time_t secs = (time_t)(t / USEC_PER_SEC);
	struct tm tm;
	va_list ap;
	int n;

	gmtime_r(&secs, &tm);
	n = snprintf(line, sizeof(line), "[%02d-%s-%04d %02d:%02d:%02d +0000]: <k3vd8s2a> ", tm.tm_mday, mon[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	return delivery_webmail_line(f->d, line, (size_t)n, t);
}

/*
 * Roundcube's logins count for account_networks as the others do, from the client's
 * address: behind our proxy ([allowlist] network) the one it forwarded (X-Forwarded-For
 * from the right), never what the client itself put in the header; the proxy alone, with
 * nothing forwarded, is the front end. Failed logins and refused lines are counted.
 */
static void
test_webmail_logins(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *ds = delivery_stats(f->d);

	f->cfg.allowlist.networks = calloc(1, sizeof(struct cidr));
	assert_non_null(f->cfg.allowlist.networks);
	assert_int_equal(cidr_parse("10.0.0.0/24", &f->cfg.allowlist.networks[0]), 0);
	f->cfg.allowlist.network_count = 1;
	delivery_configure(f->d, &f->cfg);

	/* direct: REMOTE_ADDR is the client; a header it sent changes nothing */
	for (int i = 0; i < 5; i++)
		assert_int_equal(roundcube(f, T0 + MINUTES(i), "Successful login for hal@example.net (ID: 4) from "
		    "198.18.%d.5 (X-Forwarded-For: 203.0.113.%d) in session k3vd8s2a0fj3m2kd", i, i), ROUNDCUBE_LOGIN);
	/* through the proxy 10.0.0.5: the address it appended, past a second proxy of ours */
	for (int i = 0; i < 5; i++)
		assert_int_equal(roundcube(f, T0 + MINUTES(10 + i), "Successful login for hal@example.net (ID: 4) "
		    "from 10.0.0.5 (X-Real-IP: 10.0.0.6,X-Forwarded-For: 192.0.2.%d, 198.19.%d.5, 10.0.0.6) in "
		    "session k3vd8s2a0fj3m2kd", i, i), ROUNDCUBE_LOGIN);
	/* the proxy with nothing forwarded: the front end itself */
	assert_int_equal(roundcube(f, T0 + MINUTES(20), "Successful login for hal@example.net (ID: 4) from 10.0.0.5 "
	    "in session k3vd8s2a0fj3m2kd"), ROUNDCUBE_LOGIN);
	assert_int_equal(ds->logins_skipped[DELIVERY_LOGIN_SKIP_FRONT_END], 1);
	/* failed logins, a smuggled ID, another message: counted */
	for (int i = 0; i < 4; i++)
		assert_int_equal(roundcube(f, T0 + MINUTES(21), "Failed login for hal@example.net from 198.51.%d.1 in "
		    "session k3vd8s2a0fj3m2kd (error: 0)", i), ROUNDCUBE_LOGIN_FAILED);
	assert_int_equal(roundcube(f, T0 + MINUTES(22), "Successful login for ivy (ID: 1) from 198.51.100.1 (ID: 4) "
	    "from 10.0.0.5 in session k3vd8s2a0fj3m2kd"), ROUNDCUBE_ERR_AMBIGUOUS);
	assert_int_equal(roundcube(f, T0 + MINUTES(22), "IMAP Error: Login failed for x from 198.51.100.1"),
	    ROUNDCUBE_ERR_OTHER);
	assert_null(judge_lookup(f->j, "account:ivy"));
	assert_int_equal(ds->logins_failed[DELIVERY_LOGIN_WEBMAIL], 4);
	assert_int_equal(ds->webmail_errors[-ROUNDCUBE_ERR_AMBIGUOUS], 1);
	assert_int_equal(ds->webmail_errors[-ROUNDCUBE_ERR_OTHER], 1);
	assert_int_equal(ds->webmail_lines, 17);
	assert_int_equal(ds->logins[DELIVERY_LOGIN_WEBMAIL], 10);
	assert_null(evidence(f, "account:hal@example.net", "account_networks"));

	/* the eleventh network */
	assert_int_equal(roundcube(f, T0 + MINUTES(30), "Successful login for hal@example.net (ID: 4) from "
	    "2001:db8:9::1 in session k3vd8s2a0fj3m2kd"), ROUNDCUBE_LOGIN);
	const struct evidence_item *e = evidence(f, "account:hal@example.net", "account_networks");
	assert_non_null(e);
	assert_int_equal(e->count, 11);
	assert_contains(e->summary, "used from 11 client networks within 1d (logins by webmail): 2001:db8:9::/64, "
	    "198.19.4.0/24, 198.19.3.0/24");
	assert_contains(e->summary, "198.18.0.0/24");
	if (strstr(e->summary, "203.0.113.") != NULL || strstr(e->summary, "192.0.2.") != NULL ||
	    strstr(e->summary, "10.0.0.") != NULL)
		fail_msg("a header the client sent or a proxy counted: \"%s\"", e->summary);
	/* the line's own time: a login logged an hour ago is an hour old */
	assert_int_equal(e->last_seen, T0 + MINUTES(30));
}

/*
 * Where an account's logins came from survives a restart: the networks restored from the
 * snapshot still name IMAP and SMTP AUTH when the eleventh, a webmail login, raises it.
 */
static void
test_snapshot_login_sources(void **state)
{
	struct fx *f = *state;
	uint8_t *bytes;
	size_t len;
	char addr[32];

	f->cfg.logins.dovecot = true;
	delivery_configure(f->d, &f->cfg);
	for (int i = 0; i < 9; i++) {
		snprintf(addr, sizeof(addr), "198.19.%d.8", i);
		assert_int_equal(dovecot(f, T0 + MINUTES(i), "imap", "lea@example.net", addr), MAILLOG_LOGIN);
	}
	login(f, T0 + MINUTES(10), "lea@example.net", "100.64.3.3");
	assert_null(evidence(f, "account:lea@example.net", "account_networks"));
	assert_int_equal(delivery_save(f->d, T0 + MINUTES(11), &bytes, &len), 0);
	restart(f, bytes, len, 0);
	assert_true(delivery_login(f->d, DELIVERY_LOGIN_WEBMAIL, "lea@example.net", 15,
	    (struct strview){ "203.0.113.77", 12 }, T0 + MINUTES(12)));
	assert_contains(summary(f, "account:lea@example.net", "account_networks"),
	    "used from 11 client networks within 1d (logins by IMAP, webmail, SMTP AUTH): 203.0.113.0/24, "
	    "100.64.3.0/24, 198.19.8.0/24");
	free(bytes);
}

static void
test_account_networks(void **state)
{
	struct fx *f = *state;
	char addr[32];

	/* defaults: more than 10 /24s in a day */
	for (int i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.%d", i, 10 + i);
		login(f, T0 + MINUTES(10 * i), "dave@example.net", addr);
	}
	assert_null(evidence(f, "account:dave@example.net", "account_networks"));
	login(f, T0 + MINUTES(100), "dave@example.net", "198.18.10.77");
	const struct evidence_item *e = evidence(f, "account:dave@example.net", "account_networks");
	assert_non_null(e);
	assert_contains(e->summary, "used from 11 client networks within 1d");
	for (int i = 0; i <= 10; i++) {
		char net[32];
		snprintf(net, sizeof(net), "198.18.%d.0/24", i);
		assert_contains(e->summary, net);
	}
	assert_true(level(f, "account:dave@example.net") >= LEVEL_THROTTLE);
	/* the hosts themselves are not blamed for the account */
	assert_null(evidence(f, "198.18.10.77", "account_networks"));

	/* the same network again adds nothing; the count is the number of networks */
	login(f, T0 + MINUTES(101), "dave@example.net", "198.18.10.78");
	assert_int_equal(evidence(f, "account:dave@example.net", "account_networks")->count, 11);
	/* one more network: the evidence grows */
	login(f, T0 + MINUTES(102), "dave@example.net", "198.18.11.1");
	e = evidence(f, "account:dave@example.net", "account_networks");
	assert_int_equal(e->count, 12);
	assert_contains(e->summary, "used from 12 client networks");
}

/* ---- account_addresses ---- */

static void
test_account_addresses(void **state)
{
	struct fx *f = *state;
	char addr[32];

	/* the published threshold: more than 20 addresses in 24 h; all of one /24 here,
	 * which account_networks alone never flags */
	for (int i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", 10 + i);
		login(f, T0 + MINUTES(i), "hal@example.net", addr);
	}
	login(f, T0 + MINUTES(21), "hal@example.net", "198.51.100.10");      /* seen: still 20 */
	assert_null(evidence(f, "account:hal@example.net", "account_addresses"));
	login(f, T0 + MINUTES(22), "hal@example.net", "198.51.100.99");
	const struct evidence_item *e = evidence(f, "account:hal@example.net", "account_addresses");
	assert_non_null(e);
	assert_int_equal(e->count, 21);
	assert_contains(e->summary, "account hal@example.net was used from 21 different addresses within 1d:");
	assert_contains(e->summary, "within 1d: 198.51.100.99, 198.51.100.29, ");   /* newest first */
	assert_contains(e->summary, " more");
	assert_null(evidence(f, "account:hal@example.net", "account_networks"));
	assert_true(level(f, "account:hal@example.net") >= LEVEL_THROTTLE);
	/* the hosts are not blamed */
	assert_null(evidence(f, "198.51.100.99", "account_addresses"));

	/* a day later the old addresses are out of the window: 2, no new report */
	login(f, T0 + HOURS(25), "hal@example.net", "198.51.100.200");
	login(f, T0 + HOURS(25), "hal@example.net", "198.51.100.201");
	assert_int_equal(evidence(f, "account:hal@example.net", "account_addresses")->count, 21);

	/* configurable, with its bound */
	f->cfg.maillog.account_addresses = 3;
	delivery_configure(f->d, &f->cfg);
	for (int i = 0; i < 3; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%d", 1 + i);
		login(f, T0 + MINUTES(i), "ivy@example.net", addr);
	}
	assert_null(evidence(f, "account:ivy@example.net", "account_addresses"));
	login(f, T0 + MINUTES(5), "ivy@example.net", "2001:db8::99");
	assert_contains(summary(f, "account:ivy@example.net", "account_addresses"),
	    "account ivy@example.net was used from 4 different addresses within 1d: 2001:db8::99, 2001:db8::3, "
	    "2001:db8::2, 2001:db8::1");
}

/* ---- account_sessions ---- */

#define L_SESS_CLIENT "postfix/submission/smtpd[%u]: %s: client=pc.example.net[%s], sasl_method=PLAIN, " \
	"sasl_username=%s"

/* smtpd PID pid: "connect from" addr */
static void
sess_connect(struct fx *f, usec_t t, unsigned pid, const char *addr)
{
	assert_int_equal(feed(f, t, "relay", "postfix/submission/smtpd[%u]: connect from pc.example.net[%s]",
	    pid, addr), MAILLOG_OTHER);
}

static void
sess_disconnect(struct fx *f, usec_t t, unsigned pid, const char *addr)
{
	assert_int_equal(feed(f, t, "relay", "postfix/submission/smtpd[%u]: disconnect from pc.example.net[%s] "
	    "ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6", pid, addr), MAILLOG_OTHER);
}

/* smtpd PID pid: a message submitted by account from addr (a session's client= line) */
static void
sess_client(struct fx *f, usec_t t, unsigned pid, const char *addr, const char *account)
{
	static unsigned n;
	char qid[16];

	snprintf(qid, sizeof(qid), "7E%07X", n++);
	assert_int_equal(feed(f, t, "relay", L_SESS_CLIENT, pid, qid, addr, account), MAILLOG_CLIENT);
}

/* A session of PID pid from addr for account: connect, then a message. */
static void
sess_open(struct fx *f, usec_t t, unsigned pid, const char *addr, const char *account)
{
	sess_connect(f, t, pid, addr);
	sess_client(f, t + SEC(1), pid, addr, account);
}

static void
test_account_sessions(void **state)
{
	struct fx *f = *state;
	const char *acct = "account:jo@example.net";

	/* the default: three different addresses at once; two are not */
	sess_open(f, T0, 101, "192.0.2.1", "jo@example.net");
	sess_open(f, T0 + SEC(5), 102, "192.0.2.2", "jo@example.net");
	sess_client(f, T0 + SEC(9), 102, "192.0.2.2", "jo@example.net");     /* a second message */
	assert_null(evidence(f, acct, "account_sessions"));
	sess_open(f, T0 + SEC(10), 103, "192.0.2.3", "jo@example.net");
	const struct evidence_item *e = evidence(f, acct, "account_sessions");
	assert_non_null(e);
	assert_int_equal(e->count, 3);
	assert_contains(e->summary,
	    "account jo@example.net was logged in from 3 different addresses at once (3 sessions open): "
	    "192.0.2.3, 192.0.2.2, 192.0.2.1");
	assert_true(level(f, acct) >= LEVEL_THROTTLE);
	/* not the addresses rule: three addresses are few */
	assert_null(evidence(f, acct, "account_addresses"));
}

static void
test_account_sessions_same_address(void **state)
{
	struct fx *f = *state;

	/* a mail client with several connections from one address (one NAT): not counted */
	for (unsigned pid = 201; pid < 211; pid++)
		sess_open(f, T0 + SEC(pid), pid, "192.0.2.50", "kai@example.net");
	sess_open(f, T0 + SEC(300), 211, "192.0.2.51", "kai@example.net");
	assert_null(evidence(f, "account:kai@example.net", "account_sessions"));
	/* a third address while all are open */
	sess_open(f, T0 + SEC(400), 212, "192.0.2.52", "kai@example.net");
	assert_int_equal(evidence(f, "account:kai@example.net", "account_sessions")->count, 3);

	/* client= lines of five smtpds whose connect lines the log lacks (filtered out, or
	 * before its start): when they began and ended is unknown, so none counts */
	for (unsigned pid = 601; pid < 606; pid++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "203.0.113.%u", pid - 600);
		sess_client(f, T0 + SEC(pid), pid, addr, "lea@example.net");
	}
	assert_null(evidence(f, "account:lea@example.net", "account_sessions"));
}

static void
test_account_sessions_end(void **state)
{
	struct fx *f = *state;
	const char *acct = "account:lu@example.net";

	/* one after the other from three addresses: never more than two at once */
	sess_open(f, T0, 301, "192.0.2.61", "lu@example.net");
	sess_open(f, T0 + SEC(10), 302, "192.0.2.62", "lu@example.net");
	sess_disconnect(f, T0 + SEC(20), 301, "192.0.2.61");
	sess_open(f, T0 + SEC(30), 303, "192.0.2.63", "lu@example.net");
	assert_null(evidence(f, acct, "account_sessions"));
	/* a connect on an smtpd whose disconnect line was lost ends that session too */
	sess_connect(f, T0 + SEC(40), 302, "192.0.2.99");
	sess_open(f, T0 + SEC(50), 304, "192.0.2.64", "lu@example.net");
	assert_null(evidence(f, acct, "account_sessions"));
	/* a session whose end never came stops counting after an hour */
	sess_open(f, T0 + HOURS(2), 305, "192.0.2.65", "lu@example.net");
	assert_null(evidence(f, acct, "account_sessions"));
	/* a PID on another relay is another session */
	assert_int_equal(feed(f, T0 + HOURS(2) + SEC(1), "relay2", "postfix/submission/smtpd[305]: connect from "
	    "pc.example.net[192.0.2.66]"), MAILLOG_OTHER);
	assert_int_equal(feed(f, T0 + HOURS(2) + SEC(2), "relay2", L_SESS_CLIENT, 305u, "7F0000001", "192.0.2.66",
	    "lu@example.net"), MAILLOG_CLIENT);
	sess_open(f, T0 + HOURS(2) + SEC(3), 306, "192.0.2.67", "lu@example.net");
	assert_int_equal(evidence(f, acct, "account_sessions")->count, 3);

	/* a higher threshold */
	f->cfg.maillog.account_sessions = 4;
	delivery_configure(f->d, &f->cfg);
	sess_open(f, T0 + HOURS(3), 401, "198.51.100.1", "mo@example.net");
	sess_open(f, T0 + HOURS(3), 402, "198.51.100.2", "mo@example.net");
	sess_open(f, T0 + HOURS(3), 403, "198.51.100.3", "mo@example.net");
	assert_null(evidence(f, "account:mo@example.net", "account_sessions"));
	sess_open(f, T0 + HOURS(3), 404, "198.51.100.4", "mo@example.net");
	assert_int_equal(evidence(f, "account:mo@example.net", "account_sessions")->count, 4);
}

/* The addresses and open sessions of accounts survive a restart from the snapshot. */
static void
test_account_snapshot(void **state)
{
	struct fx *f = *state;
	uint8_t *bytes;
	size_t len;
	char addr[32];

	for (int i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", 10 + i);
		login(f, T0 + MINUTES(i), "nia@example.net", addr);
	}
	sess_open(f, T0 + MINUTES(30), 501, "192.0.2.1", "nia@example.net");
	sess_open(f, T0 + MINUTES(30), 502, "192.0.2.2", "nia@example.net");
	assert_int_equal(delivery_save(f->d, T0 + MINUTES(31), &bytes, &len), 0);
	restart(f, bytes, len, 0);
	free(bytes);
	/* the restored session 501 ends by its disconnect; 502 is still open */
	sess_disconnect(f, T0 + MINUTES(32), 501, "192.0.2.1");
	sess_open(f, T0 + MINUTES(33), 503, "192.0.2.3", "nia@example.net");
	assert_null(evidence(f, "account:nia@example.net", "account_sessions"));
	sess_open(f, T0 + MINUTES(34), 504, "192.0.2.4", "nia@example.net");
	assert_int_equal(evidence(f, "account:nia@example.net", "account_sessions")->count, 3);
	/* the 20 logins' addresses and the 4 sessions', across the restart */
	assert_int_equal(evidence(f, "account:nia@example.net", "account_addresses")->count, 24);

	/* snapshots of version 1 (before these rules) and 2 (before the logins' sources) are
	 * still read */
	restart(f, NULL, 0, 0);
	assert_int_equal(delivery_save(f->d, T0, &bytes, &len), 0);
	assert_int_equal(bytes[4], 3);
	bytes[4] = 2;
	restart(f, bytes, len, 0);
	bytes[4] = 1;
	restart(f, bytes, len, 0);
	free(bytes);
}

static void
test_account_networks_same_net(void **state)
{
	struct fx *f = *state;
	char addr[32];

	/* a CGNAT pool or a DSL line with changing addresses: one /24, hundreds of logins */
	for (int i = 0; i < 200; i++) {
		snprintf(addr, sizeof(addr), "100.64.7.%d", 1 + i);
		login(f, T0 + MINUTES(i), "erin@example.net", addr);
	}
	assert_null(evidence(f, "account:erin@example.net", "account_networks"));
	/* IPv6: the /64 is the network */
	for (int i = 0; i < 20; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:5:7::%x", 1 + i);
		login(f, T0 + MINUTES(i), "erin6@example.net", addr);
	}
	assert_null(evidence(f, "account:erin6@example.net", "account_networks"));
	for (int i = 0; i < 11; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:%x::1", 0x100 + i);
		login(f, T0 + MINUTES(30 + i), "erin6@example.net", addr);
	}
	const struct evidence_item *e = evidence(f, "account:erin6@example.net", "account_networks");
	assert_non_null(e);
	assert_contains(e->summary, "used from 12 client networks");
	assert_contains(e->summary, "2001:db8:10a::/64");
}

static void
test_account_networks_window(void **state)
{
	struct fx *f = *state;
	char addr[32];

	/* ten networks yesterday, two today more than a day later: 2, not 12 */
	for (int i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.1", 50 + i);
		login(f, T0 + MINUTES(i), "frida@example.net", addr);
		login(f, T0 + MINUTES(i), "gus@example.net", addr);
	}
	login(f, T0 + HOURS(25), "frida@example.net", "198.18.70.1");
	login(f, T0 + HOURS(25), "frida@example.net", "198.18.71.1");
	assert_null(evidence(f, "account:frida@example.net", "account_networks"));

	/* the same within the day is flagged */
	login(f, T0 + HOURS(23), "gus@example.net", "198.18.70.1");
	assert_non_null(evidence(f, "account:gus@example.net", "account_networks"));

	/* a shorter window from the configuration */
	f->cfg.maillog.account_window = HOURS(1);
	for (int i = 0; i < 11; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.1", 100 + i);
		login(f, T0 + MINUTES(10 * i), "hank@example.net", addr);
	}
	assert_null(evidence(f, "account:hank@example.net", "account_networks"));
	assert_contains(summary(f, "account:gus@example.net", "account_networks"), "within 1d");
}

/*
 * Loopback is the relay itself (local pickup, a content filter re-injecting, scripts),
 * never a subscriber: by default ([judge] ignore = 127.0.0.0/8, ::1) its messages'
 * outcomes are counted but judge no host, and its address is no network an account was
 * used from; an account that logged in there is judged as ever. With ignore = none
 * loopback is judged like any host.
 */
static void
test_loopback_not_judged(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	struct judge_stats js;
	char addr[32];

	fx_sensitive(f);
	client(f, T0, "relay", "3D0F1A7E591", "127.0.0.1", NULL);
	rcpt(f, T0 + SEC(1), "relay", "3D0F1A7E591", "bounce1@bad.test", R_UNKNOWN);
	client(f, T0, "relay", "3D0F1A7E592", "::1", "carol@example.net");
	rcpt(f, T0 + SEC(1), "relay", "3D0F1A7E592", "bounce2@bad.test", R_UNKNOWN);
	assert_int_equal(feed(f, T0 + SEC(2), "relay", "postfix/smtpd[18274]: NOQUEUE: reject: RCPT from "
	    "localhost[127.0.0.2]: 550 5.1.1 <bounce3@bad.test>: Recipient address rejected: User unknown; "
	    "from=<a@example.net> to=<bounce3@bad.test> proto=ESMTP helo=<localhost>"), MAILLOG_REJECT);
	/* 127.0.0.1's bounce waits for a content filter's link that does not come */
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT], 2);
	assert_int_equal(st->outcomes_held, 1);
	delivery_flush(f->d);
	assert_int_equal(st->outcomes[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT], 3);
	assert_int_equal(st->held_linked, 0);
	assert_int_equal(st->unattributed, 0);
	assert_null(judge_lookup(f->j, "127.0.0.1"));
	assert_null(judge_lookup(f->j, "127.0.0.2"));
	assert_null(judge_lookup(f->j, "::1"));
	assert_non_null(evidence(f, "account:carol@example.net", "bounce_ratio"));
	judge_stats_get(f->j, &js);
	assert_int_equal(js.tracked, 1);
	assert_int_equal(js.untracked, 0);

	/* ten networks and loopback are ten, not the eleven that flag an account */
	for (int i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.1", i);
		login(f, T0 + MINUTES(i), "erin@example.net", addr);
	}
	login(f, T0 + MINUTES(11), "erin@example.net", "127.0.0.1");
	login(f, T0 + MINUTES(12), "erin@example.net", "::1");
	assert_null(evidence(f, "account:erin@example.net", "account_networks"));

	/* [judge] ignore = none: loopback is a host like any other */
	f->cfg.judge.ignore_count = 0;
	client(f, T0 + SEC(3), "relay", "3D0F1A7E593", "127.0.0.1", NULL);
	rcpt(f, T0 + SEC(4), "relay", "3D0F1A7E593", "bounce4@bad.test", R_UNKNOWN);
	assert_null(evidence(f, "127.0.0.1", "bounce_ratio"));       /* held for a link, */
	delivery_flush(f->d);                                         /* which never came */
	assert_non_null(evidence(f, "127.0.0.1", "bounce_ratio"));
	login(f, T0 + MINUTES(13), "erin@example.net", "127.0.0.1");
	assert_int_equal(evidence(f, "account:erin@example.net", "account_networks")->count, 11);
}

/*
 * Regression test for a bug, since fixed (src/sense/delivery.c, networks_rule): `nets_reported` remembers the
 * count last reported and is never reset when the networks age out, and a new count
 * equal to it is not reported. An account hijacked twice — 11 networks on day 0,
 * then only its home network for days, then 11 networks again on day 3 — is not
 * flagged the second time until a 12th network, and its evidence keeps day 0's
 * networks in the summary. Fix: reset nets_reported to 0 when net_count falls to
 * account_networks or below (or report whenever the set of networks changed).
 */
static void
test_account_networks_second_incident(void **state)
{
	struct fx *f = *state;
	char addr[32];

	for (int i = 0; i < 11; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.1", i);
		login(f, T0 + MINUTES(i), "ivan@example.net", addr);
	}
	assert_int_equal(evidence(f, "account:ivan@example.net", "account_networks")->count, 11);
	/* the owner alone, from home, once a day: the old networks age out */
	for (int day = 1; day <= 3; day++)
		login(f, T0 + HOURS(24 * day), "ivan@example.net", "198.18.0.1");
	/* hijacked again: ten new networks plus home, eleven within the day */
	for (int i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "198.18.%d.1", 100 + i);
		login(f, T0 + HOURS(72) + MINUTES(1 + i), "ivan@example.net", addr);
	}
	const struct evidence_item *e = evidence(f, "account:ivan@example.net", "account_networks");
	assert_contains(e->summary, "198.18.109.0/24");
	assert_int_equal(e->count, 11);     /* networks in the window: ten new ones and home */
}

/* ---- time ---- */

static usec_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi,
	    .tm_sec = s };

	return SEC(timegm(&tm));
}

/* The time of a parsed line. */
static usec_t
line_time(const char *line, usec_t now)
{
	struct maillog_line l;

	assert_true(maillog_parse_line((const uint8_t *)line, strlen(line), &l) >= 0);
	return delivery_time(&l.time, now);
}

struct time_case {
	const char *tz;
	const char *line;
	usec_t now;
	usec_t want;
};

#define TAIL " relay postfix/qmgr[38982]: D8C136A3A: removed"
#define CET "CET-1CEST,M3.5.0,M10.5.0/3"
#define EST "EST5EDT,M3.2.0,M11.1.0"

/*
 * delivery_time keeps one hour of mktime per thread, keyed by the date and hour but
 * not by TZ: the RFC 3164 rows below never share a (year, month, day, hour) across
 * zones, so that the cache cannot answer for another zone.
 */
static void
test_time(void **state)
{
	const struct time_case cases[] = {
		/* RFC 3164: the year from now, local time */
		{ "UTC", "Nov 27 06:40:01" TAIL, utc(2026, 11, 27, 7, 0, 0), utc(2026, 11, 27, 6, 40, 1) },
		{ "UTC", "Dec 31 23:59:59" TAIL, utc(2028, 1, 1, 0, 0, 30), utc(2027, 12, 31, 23, 59, 59) },
		{ "UTC", "Jan  1 00:00:10" TAIL, utc(2028, 1, 1, 0, 0, 30), utc(2028, 1, 1, 0, 0, 10) },
		{ "UTC", "Nov 30 23:59:59" TAIL, utc(2027, 1, 2, 0, 0, 0), utc(2026, 11, 30, 23, 59, 59) },
		{ "UTC", "Mar  1 10:00:00.250000" TAIL, utc(2028, 3, 1, 11, 0, 0),
		  utc(2028, 3, 1, 10, 0, 0) + 250000 },
		{ CET, "Jul 15 12:00:00" TAIL, utc(2026, 7, 15, 10, 30, 0), utc(2026, 7, 15, 10, 0, 0) },
		{ CET, "Jan 20 12:00:00" TAIL, utc(2026, 1, 20, 12, 30, 0), utc(2026, 1, 20, 11, 0, 0) },
		/* Jan 1 00:30 in Berlin is still 2026 in UTC: the local year decides */
		{ CET, "Dec 31 23:59:00" TAIL, utc(2026, 12, 31, 23, 30, 0), utc(2026, 12, 31, 22, 59, 0) },
		/* Dec 31 22:00 in New York is already 2027 in UTC */
		{ EST, "Dec 31 21:59:00" TAIL, utc(2027, 1, 1, 3, 0, 0), utc(2027, 1, 1, 2, 59, 0) },
		/* RFC 3339: the offset decides, not TZ nor now */
		{ EST, "2026-11-27T06:40:01Z" TAIL, 0, utc(2026, 11, 27, 6, 40, 1) },
		{ EST, "2026-11-27T06:40:01.123456+00:00" TAIL, 0, utc(2026, 11, 27, 6, 40, 1) + 123456 },
		{ CET, "2021-02-05T14:17:51+01:00" TAIL, 0, utc(2021, 2, 5, 13, 17, 51) },
		{ "UTC", "2026-03-01T23:59:60.5-05:30" TAIL, 0, utc(2026, 3, 2, 5, 30, 0) + 500000 },
		{ "UTC", "2024-02-29T00:30:00+14:00" TAIL, utc(2030, 1, 1, 0, 0, 0), utc(2024, 2, 28, 10, 30, 0) },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct time_case *c = &cases[i];
		setenv("TZ", c->tz, 1);
		tzset();
		usec_t got = line_time(c->line, c->now);
		if (got != c->want)
			fail_msg("%s (TZ=%s): %lld, want %lld (off by %lld s)", c->line, c->tz, (long long)got,
			    (long long)c->want, (long long)((got - c->want) / USEC_PER_SEC));
	}
	setenv("TZ", "UTC", 1);
	tzset();
}

/* The year decides what delivery_line does with a "Dec 31" line read on Jan 1. */
static void
test_time_year_in_correlation(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	const char *line = "Dec 31 23:59:59 relay postfix/smtpd[18274]: 5E6F7A8B9C: client=unknown[192.0.2.111]";
	usec_t jan1 = utc(2027, 1, 1, 0, 0, 30);

	f->cfg.maillog.queue_id_max_age = HOURS(1);
	assert_int_equal(delivery_line(f->d, line, strlen(line), jan1), MAILLOG_CLIENT);
	assert_int_equal(st->queue_ids_open, 1);
	/* opened 2026-12-31T23:59:59Z: an hour later it is gone */
	delivery_expire(f->d, utc(2027, 1, 1, 0, 30, 0));
	assert_int_equal(st->queue_ids_open, 1);
	delivery_expire(f->d, utc(2027, 1, 1, 1, 0, 0));
	assert_int_equal(st->queue_ids_open, 0);
	assert_int_equal(st->queue_ids_expired, 1);
}

/*
 * Regression test for a minor bug, since fixed (src/sense/delivery.c, delivery_time): the year rule only looks
 * backwards. A "Jan  1 00:00:00" line read at 23:59:59.9 on Dec 31 — a relay whose
 * clock is a fraction of a second ahead of lazaret's — is put in January of the
 * current year, 364 days in the past: its queue ID is expired at the next
 * delivery_expire and its outcomes lose their attribution. Fix: when the line's
 * month is more than 10 months before now's month (Jan read in Dec), take year + 1.
 */
static void
test_time_new_year_skew(void **state)
{
	(void)state;
	usec_t now = utc(2026, 12, 31, 23, 59, 59) + 900000;
	usec_t got = line_time("Jan  1 00:00:00" TAIL, now);
	if (got != utc(2027, 1, 1, 0, 0, 0))
		fail_msg("a Jan 1 line read 0.1 s before the new year is %lld s from now",
		    (long long)((got - now) / USEC_PER_SEC));
}

/* ---- errors and odd lines ---- */

static void
test_errors_counted(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	const char *other = "2026-11-27T06:40:01Z relay sshd[99]: Accepted publickey for root";
	const char *junk = "not a log line at all";
	const char *cleanup = "Nov 27 06:49:50 relay postfix/cleanup[18278]: 3D0F1A7E590: "
	    "message-id=<20261127064950.018282@vm>";

	assert_int_equal(delivery_line(f->d, "", 0, T0), MAILLOG_ERR_EMPTY);
	assert_int_equal(delivery_line(f->d, other, strlen(other), T0), MAILLOG_ERR_NOT_POSTFIX);
	assert_int_equal(delivery_line(f->d, junk, strlen(junk), T0), MAILLOG_ERR_TIMESTAMP);
	assert_int_equal(delivery_line(f->d, cleanup, strlen(cleanup), T0), MAILLOG_OTHER);
	assert_int_equal(st->lines, 4);
	assert_int_equal(st->errors[-MAILLOG_ERR_EMPTY], 1);
	assert_int_equal(st->errors[-MAILLOG_ERR_NOT_POSTFIX], 1);
	assert_int_equal(st->errors[-MAILLOG_ERR_TIMESTAMP], 1);
	assert_int_equal(st->kinds[MAILLOG_OTHER], 1);

	/* a line longer than any queue-ID key we keep is skipped without harm */
	char host[700];
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	fx_sensitive(f);
	int kind = feed(f, T0, host, L_CLIENT, "3D0F1A7E590", "192.0.2.120");
	assert_true(kind == MAILLOG_CLIENT || kind < 0);
	kind = feed(f, T0, host, L_UNKNOWN, "3D0F1A7E590", "x@example.org");
	assert_true(kind == MAILLOG_DELIVERY || kind < 0);
	assert_null(evidence(f, "192.0.2.120", "bounce_ratio"));
}

/* Rule state of idle subjects is forgotten; the queue-ID table with it stays bounded. */
static void
test_expire_forgets_rule_state(void **state)
{
	struct fx *f = *state;

	message(f, T0, "6E0000001", "192.0.2.130", NULL, 0, 25);
	assert_contains(summary(f, "192.0.2.130", "bounce_ratio"), "25 of 25");
	/* long after every window: rule state goes, a fresh start counts from zero */
	delivery_expire(f->d, T0 + HOURS(48));
	message(f, T0 + HOURS(48), "6E0000002", "192.0.2.130", NULL, 0, 20);
	assert_contains(summary(f, "192.0.2.130", "bounce_ratio"), "20 of 20");
}

/* Thousands of queue IDs and subjects: the tables grow, evict in age order and free. */
static void
test_many_queue_ids(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	char qid[16], addr[32];

	fx_sensitive(f);
	f->cfg.maillog.max_queue_ids = 6000;
	for (int i = 0; i < 20000; i++) {
		snprintf(qid, sizeof(qid), "%010X", 0x100000 + i);
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		client(f, T0 + SEC(i / 10), "relay", qid, addr, NULL);
	}
	assert_int_equal(st->queue_ids_open, 6000);
	assert_int_equal(st->queue_ids_evicted, 14000);
	/* the newest 6000 are attributed to the right host, the older are not */
	for (int i = 13990; i < 20000; i += 7) {
		snprintf(qid, sizeof(qid), "%010X", 0x100000 + i);
		rcpt(f, T0 + SEC(2000), "relay", qid, "x@example.org", R_UNKNOWN);
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		if ((evidence(f, addr, "bounce_ratio") != NULL) != (i >= 14000))
			fail_msg("queue ID %d of 20000: wrong attribution", i);
	}
	assert_int_equal(st->unattributed, 2);
	delivery_expire(f->d, T0 + SEC(2000) + f->cfg.maillog.queue_id_max_age + SEC(1));
	assert_int_equal(st->queue_ids_open, 0);
	assert_int_equal(st->queue_ids_expired, 6000);
}

/* ---- framing: nobody's text moves evidence to someone else ---- */

/*
 * One attempt, repeated: a message from the attacker (host 192.0.2.66, account
 * mallory@example.net when it logs in) whose lines carry, wherever the attacker can
 * put text, the victim's names (host 192.0.2.23 or 10.N.0.1, account
 * victim@example.net). Formats take %1$s, the queue ID, and %2$d, the attempt's number.
 */
struct framing_scenario {
	const char *name;
	const char *lines[2];           /* fed in order; NULL ends */
	const char *charged;            /* who must carry `kind` evidence afterwards, or NULL */
	const char *kind;
	const char *also_charged;       /* a second subject with `kind` evidence, or NULL */
	uint64_t refused;               /* lines counted under "duplicate" */
};

#define F_CLIENT25 "postfix/smtpd[6766]: %1$s: client=unknown[192.0.2.66]"
#define F_SUBMIT   "postfix/submission/smtpd[6794]: %1$s: client=unknown[192.0.2.66], " \
	"sasl_method=PLAIN, sasl_username=mallory@example.net"
#define F_AUTH_EQ  ", sasl_sender=\"x, client=victim.example[192.0.2.23], " \
	"sasl_username=victim@example.net, z=\">"
#define F_BOUNCE   "postfix/smtp[6769]: %1$s: to=<user%2$d@harvested.example>, " \
	"relay=127.0.0.1[127.0.0.1]:23099, delay=0.02, delays=0.01/0.01/0/0.01, dsn=5.1.1, " \
	"status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 Error: no such user here " \
	"(in reply to RCPT TO command))"
#define F_SENT     "postfix/smtp[6769]: %1$s: to=<pal%2$d@good.example>, " \
	"relay=127.0.0.1[127.0.0.1]:29560, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
#define F_FAKE_TAIL "from victim.example[192.0.2.23]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>: 5.7.1 spam"
#define F_HEADER   "postfix/cleanup[6768]: %1$s: reject: header Subject: FREE " F_FAKE_TAIL \
	" from unknown[192.0.2.66]; from=<m@example.net> to=<u%2$d@good.example> proto=ESMTP " \
	"helo=<pc66>: 5.7.1 spam"

static const struct framing_scenario framing_scenarios[] = {
	{ "MAIL FROM AUTH= naming a host and an account (port 25)",
	  { F_CLIENT25 F_AUTH_EQ, F_BOUNCE }, "192.0.2.66", "bounce_ratio", NULL, 0 },
	{ "MAIL FROM AUTH= after logging in as mallory",
	  { F_SUBMIT F_AUTH_EQ, F_BOUNCE }, "account:mallory@example.net", "bounce_ratio",
	  "192.0.2.66", 0 },
	{ "MAIL FROM AUTH= with the victim's account from a new network each time",
	  { F_CLIENT25 ", sasl_sender=\"x, client=victim.example[10.%2$d.0.1], "
	    "sasl_username=victim@example.net, z=\">", F_SENT }, NULL, NULL, NULL, 0 },
	{ "header_checks reject, the Subject a whole fake client and tail",
	  { F_CLIENT25, F_HEADER }, "192.0.2.66", "spam_rejected", NULL, 0 },
	{ "header_checks reject of mallory's mail: her account too",
	  { F_SUBMIT, F_HEADER }, "account:mallory@example.net", "bounce_ratio", "192.0.2.66", 0 },
	{ "body_checks reject, the body naming the victim",
	  { F_CLIENT25, "postfix/cleanup[6768]: %1$s: reject: body hello " F_FAKE_TAIL
	    " from unknown[192.0.2.66]; from=<m@example.net> to=<u%2$d@good.example> proto=ESMTP "
	    "helo=<pc66>: 5.7.1 body spam" }, "192.0.2.66", "bounce_ratio", NULL, 0 },
	{ "NOQUEUE reject: recipient, sender and HELO naming the victim",
	  { "postfix/smtpd[7511]: NOQUEUE: reject: RCPT from unknown[192.0.2.66]: 554 5.1.1 "
	    "<x>; from=<v> to=<w> proto=ESMTP helo=<h> from victim[192.0.2.23]: %2$d@refused.example>: "
	    "Recipient address rejected: no such user; from=<\"a> client=victim[192.0.2.23] "
	    "helo=<h>\"@example.net> to=<\"x>; from=<v> to=<w> proto=ESMTP helo=<h> from "
	    "victim[192.0.2.23]: %2$d\"@refused.example> proto=ESMTP "
	    "helo=<victim[192.0.2.23],client=victim[192.0.2.23]:>", NULL },
	  "192.0.2.66", "bounce_ratio", NULL, 0 },
	{ "a remote server's reply naming the victim",
	  { F_CLIENT25, "postfix/smtp[6769]: %1$s: to=<user%2$d@harvested.example>, relay=mx.evil."
	    "example[203.0.113.9]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host "
	    "mx.evil.example[203.0.113.9] said: 550 5.1.1 %1$s: client=victim[192.0.2.23], "
	    "sasl_username=victim@example.net (in reply to RCPT TO command))" },
	  "192.0.2.66", "bounce_ratio", NULL, 0 },
	{ "client= twice in one line: refused, nobody charged",
	  { F_CLIENT25 ", sasl_username=a, client=victim.example[192.0.2.23]", F_BOUNCE },
	  NULL, NULL, NULL, 30 },
};

static void
test_framing(void **state)
{
	struct fx *f = *state;
	static const char *const victims[] = { "192.0.2.23", "account:victim@example.net" };
	int failed = 0;

	for (size_t i = 0; i < sizeof(framing_scenarios) / sizeof(framing_scenarios[0]); i++) {
		const struct framing_scenario *sc = &framing_scenarios[i];
		char qid[16], text[2048], net[32];
		int bad = 0;

		fx_teardown(state);
		assert_int_equal(fx_setup(state), 0);
		f = *state;
		fx_sensitive(f);
		for (int n = 0; n < 30; n++) {
			snprintf(qid, sizeof(qid), "A%02X%07X", (unsigned)i, (unsigned)n);
			for (size_t k = 0; k < 2 && sc->lines[k] != NULL; k++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
				snprintf(text, sizeof(text), sc->lines[k], qid, n + 1);
#pragma GCC diagnostic pop
				feed(f, T0 + SEC(n), "relay", "%s", text);
			}
		}
		/* the victim gets nothing, is not even tracked */
		for (size_t v = 0; v < 2; v++)
			if (judge_lookup(f->j, victims[v]) != NULL) {
				print_error("%s: %s is tracked (level %d)\n", sc->name, victims[v], level(f, victims[v]));
				bad++;
			}
		for (int n = 1; n <= 30; n++) {
			snprintf(net, sizeof(net), "10.%d.0.1", n);
			if (judge_lookup(f->j, net) != NULL) {
				print_error("%s: %s is tracked\n", sc->name, net);
				bad++;
				break;
			}
		}
		if (sc->charged != NULL && evidence(f, sc->charged, sc->kind) == NULL) {
			print_error("%s: no %s evidence for %s\n", sc->name, sc->kind, sc->charged);
			bad++;
		}
		if (sc->also_charged != NULL && evidence(f, sc->also_charged, sc->kind) == NULL) {
			print_error("%s: no %s evidence for %s\n", sc->name, sc->kind, sc->also_charged);
			bad++;
		}
		if (delivery_stats(f->d)->errors[-MAILLOG_ERR_DUPLICATE] != sc->refused) {
			print_error("%s: %llu lines refused as duplicate, expected %llu\n", sc->name,
			    (unsigned long long)delivery_stats(f->d)->errors[-MAILLOG_ERR_DUPLICATE],
			    (unsigned long long)sc->refused);
			bad++;
		}
		failed += bad != 0;
	}
	print_message("delivery: %zu framing scenarios, %d failed\n",
	    sizeof(framing_scenarios) / sizeof(framing_scenarios[0]), failed);
	assert_int_equal(failed, 0);
}

/* A cleanup reject goes by its queue ID: an ID nobody opened charges nobody. */
static void
test_cleanup_reject_by_queue_id(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	assert_int_equal(feed(f, T0, "relay", F_HEADER, "D5101A78144", 1), MAILLOG_REJECT);
	assert_int_equal(st->unattributed, 1);
	assert_int_equal(outcomes_total(st), 0);
	assert_null(judge_lookup(f->j, "192.0.2.66"));
	assert_null(judge_lookup(f->j, "192.0.2.23"));
	/* the same ID on another relay is another message */
	client(f, T0, "relay2", "D5101A78144", "192.0.2.67", NULL);
	assert_int_equal(feed(f, T0 + SEC(1), "relay", F_HEADER, "D5101A78144", 2), MAILLOG_REJECT);
	assert_int_equal(st->unattributed, 2);
	assert_int_equal(feed(f, T0 + SEC(2), "relay2", F_HEADER, "D5101A78144", 3), MAILLOG_REJECT);
	assert_int_equal(st->unattributed, 2);
	assert_contains(summary(f, "192.0.2.67", "bounce_ratio"), "1 of 1 recipients");
	/* refused by the relay's own header_checks: no remote server to name */
	assert_contains(summary(f, "192.0.2.67", "spam_rejected"), "; last by this relay (header_checks)");
	assert_null(judge_lookup(f->j, "192.0.2.23"));
}

/* ---- after-queue content filters (amavis; Postfix 3.7.11 and amavisd-new 2.13 lines) ---- */

#define L_REINJECT "postfix/smtpd[18300]: %s: client=localhost[127.0.0.1]"
#define L_TO_FILTER "postfix/smtp[18299]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:10024, delay=1.1, " \
	"delays=0.08/0.01/0.01/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): " \
	"250 2.0.0 Ok: queued as %s)"

/*
 * The subscriber's message goes to amavis on 127.0.0.1:10024, which re-injects it on
 * :10025 as a new queue ID whose client= is localhost: the new ID's bounces and spam
 * refusals count for the subscriber's host and account, the hop to the filter for no one.
 */
static void
test_content_filter_amavis(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	/* real order: the re-injection's client= comes before the filter's reply */
	client(f, T0, "relay", "3F2A1B2C01", "198.51.100.23", "dave@example.net");
	assert_int_equal(feed(f, T0 + SEC(1), "relay", L_REINJECT, "4B5C6D7E8F"), MAILLOG_CLIENT);
	assert_int_equal(feed(f, T0 + SEC(2), "relay", L_TO_FILTER, "3F2A1B2C01", "nobody@bad.test",
	    "4B5C6D7E8F"), MAILLOG_DELIVERY);
	removed(f, T0 + SEC(2), "relay", "3F2A1B2C01");
	rcpt(f, T0 + SEC(3), "relay", "4B5C6D7E8F", "nobody@bad.test", R_UNKNOWN);
	removed(f, T0 + SEC(3), "relay", "4B5C6D7E8F");

	assert_contains(summary(f, "198.51.100.23", "bounce_ratio"), "1 of 1 recipients");
	assert_contains(summary(f, "account:dave@example.net", "bounce_ratio"), "1 of 1 recipients");
	assert_null(judge_lookup(f->j, "127.0.0.1"));
	assert_int_equal(outcomes_total(st), 1);          /* the bounce; the hop is none */
	assert_int_equal(st->unattributed, 0);
	assert_int_equal(st->filter_hops, 1);
	assert_int_equal(st->filter_links, 1);

	/* the reply logged before the re-injection's client= (another log order, long IDs):
	 * the filter's localhost does not take the message back; a spam refusal */
	client(f, T0 + SEC(10), "relay", "4Pbzwt5dNXz3tBb", "198.51.100.24", "erin@example.net");
	assert_int_equal(feed(f, T0 + SEC(11), "relay", L_TO_FILTER, "4Pbzwt5dNXz3tBb", "x@example.com",
	    "4Pbzwv0Q1Rz2kLm"), MAILLOG_DELIVERY);
	assert_int_equal(feed(f, T0 + SEC(11), "relay", L_REINJECT, "4Pbzwv0Q1Rz2kLm"), MAILLOG_CLIENT);
	rcpt(f, T0 + SEC(12), "relay", "4Pbzwv0Q1Rz2kLm", "x@example.com", R_SPAM_OUTLOOK);
	assert_non_null(evidence(f, "198.51.100.24", "spam_rejected"));
	assert_non_null(evidence(f, "account:erin@example.net", "spam_rejected"));
	assert_int_equal(st->filter_links, 2);
	assert_int_equal(outcomes_total(st), 2);
	assert_null(judge_lookup(f->j, "127.0.0.1"));

	/* a filter on ::1 is the relay's own too */
	client(f, T0 + SEC(20), "relay", "3F2A1B2C03", "198.51.100.25", NULL);
	assert_int_equal(feed(f, T0 + SEC(21), "relay", "postfix/smtp[18299]: 3F2A1B2C03: to=<y@bad.test>, "
	    "relay=localhost[::1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok, "
	    "id=18811-07, from MTA([::1]:10025): 250 2.0.0 Ok: queued as 4B5C6D7E90)"), MAILLOG_DELIVERY);
	rcpt(f, T0 + SEC(22), "relay", "4B5C6D7E90", "y@bad.test", R_UNKNOWN);
	assert_non_null(evidence(f, "198.51.100.25", "bounce_ratio"));
	assert_int_equal(st->filter_links, 3);
}

/*
 * A remote MX's reply is its own text: "queued as" there names a queue ID at the remote
 * server, or one of ours an attacker guessed. It links nothing: the delivery is the
 * sender's ordinary outcome, and our queue ID it names keeps its own sender.
 */
static void
test_content_filter_remote_reply_not_followed(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	client(f, T0, "relay", "3F2A1B2C11", "198.51.100.31", NULL);      /* the remote's sender */
	client(f, T0, "relay", "3F2A1B2C12", "198.51.100.32", NULL);      /* someone else */
	assert_int_equal(feed(f, T0 + SEC(1), "relay", "postfix/smtp[3113]: 3F2A1B2C11: to=<a@example.org>, "
	    "relay=mx.example.org[203.0.113.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent "
	    "(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 3F2A1B2C12)"),
	    MAILLOG_DELIVERY);
	/* nor "queued as" inside a filter's reply that does not end with the ID */
	client(f, T0, "relay", "3F2A1B2C13", "198.51.100.33", NULL);
	assert_int_equal(feed(f, T0 + SEC(1), "relay", "postfix/smtp[18299]: 3F2A1B2C13: to=<b@example.org>, "
	    "relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent "
	    "(250 2.0.0 Ok: queued as 3F2A1B2C12, thank you)"), MAILLOG_DELIVERY);
	rcpt(f, T0 + SEC(2), "relay", "3F2A1B2C12", "c@bad.test", R_UNKNOWN);

	assert_int_equal(st->filter_hops, 0);
	assert_int_equal(st->filter_links, 0);
	assert_int_equal(outcomes_total(st), 3);
	assert_contains(summary(f, "198.51.100.32", "bounce_ratio"), "1 of 1 recipients");
	assert_null(evidence(f, "198.51.100.31", "bounce_ratio"));
	assert_null(evidence(f, "198.51.100.33", "bounce_ratio"));
}

/*
 * A filter that re-injects with XFORWARD: Postfix's smtpd logs the filter as client= and
 * the message's first queue ID as orig_queue_id= (smtpd.c), even when the filter's
 * reply names no queue ID. Followed from the relay's own addresses only.
 */
static void
test_content_filter_xforward(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	client(f, T0, "relay", "3F2A1B2C31", "198.51.100.51", "gina@example.net");
	assert_int_equal(feed(f, T0 + SEC(1), "relay", "postfix/smtpd[18300]: 4B5C6D7EB1: "
	    "client=localhost[127.0.0.1], orig_queue_id=3F2A1B2C31, "
	    "orig_client=pc.dsl.example.net[198.51.100.51]"), MAILLOG_CLIENT);
	/* then amavis's reply names it too: one link, not two */
	assert_int_equal(feed(f, T0 + SEC(2), "relay", L_TO_FILTER, "3F2A1B2C31", "w@bad.test",
	    "4B5C6D7EB1"), MAILLOG_DELIVERY);
	rcpt(f, T0 + SEC(3), "relay", "4B5C6D7EB1", "w@bad.test", R_UNKNOWN);
	assert_contains(summary(f, "198.51.100.51", "bounce_ratio"), "1 of 1 recipients");
	assert_contains(summary(f, "account:gina@example.net", "bounce_ratio"), "1 of 1 recipients");
	assert_int_equal(st->filter_links, 1);

	/* a filter whose reply names nothing */
	client(f, T0 + SEC(10), "relay", "3F2A1B2C32", "198.51.100.52", NULL);
	assert_int_equal(feed(f, T0 + SEC(11), "relay", "postfix/smtpd[18300]: 4B5C6D7EB2: "
	    "client=localhost[127.0.0.1], orig_queue_id=3F2A1B2C32, "
	    "orig_client=pc.dsl.example.net[198.51.100.52]"), MAILLOG_CLIENT);
	rcpt(f, T0 + SEC(12), "relay", "4B5C6D7EB2", "v@bad.test", R_SPAM_YAHOO);
	assert_non_null(evidence(f, "198.51.100.52", "spam_rejected"));
	assert_int_equal(st->filter_links, 2);

	/* from a subscriber's address (a misconfigured smtpd_authorized_xforward_hosts):
	 * its message is its own */
	client(f, T0 + SEC(20), "relay", "3F2A1B2C33", "198.51.100.53", NULL);
	assert_int_equal(feed(f, T0 + SEC(21), "relay", "postfix/smtpd[18300]: 4B5C6D7EB3: "
	    "client=unknown[198.51.100.54], orig_queue_id=3F2A1B2C33, "
	    "orig_client=pc.dsl.example.net[198.51.100.53]"), MAILLOG_CLIENT);
	rcpt(f, T0 + SEC(22), "relay", "4B5C6D7EB3", "u@bad.test", R_UNKNOWN);
	assert_non_null(evidence(f, "198.51.100.54", "bounce_ratio"));
	assert_null(evidence(f, "198.51.100.53", "bounce_ratio"));
	assert_int_equal(st->filter_links, 2);
	assert_null(judge_lookup(f->j, "127.0.0.1"));
}

/*
 * The race a loaded relay shows (issue 14): amavis re-injects the message, Postfix
 * delivers (here: bounces) the re-injected copy and removes it, and only then is the
 * smtp client's line with the filter's "queued as" logged. The bounce waits for that
 * link and then counts for the subscriber, not for the filter's localhost; one whose
 * link never comes counts, DELIVERY_HOLD later, as it would have at once.
 */
static void
test_content_filter_link_after_outcome(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);

	fx_sensitive(f);
	client(f, T0, "relay", "3F2A1B2C41", "198.51.100.61", "hana@example.net");
	assert_int_equal(feed(f, T0 + SEC(1), "relay", L_REINJECT, "4B5C6D7EC1"), MAILLOG_CLIENT);
	rcpt(f, T0 + SEC(1), "relay", "4B5C6D7EC1", "a@bad.test", R_UNKNOWN);
	rcpt(f, T0 + SEC(1), "relay", "4B5C6D7EC1", "b@bad.test", R_UNKNOWN);
	removed(f, T0 + SEC(1), "relay", "4B5C6D7EC1");
	assert_int_equal(outcomes_total(st), 0);
	assert_int_equal(st->outcomes_held, 2);
	assert_null(evidence(f, "198.51.100.61", "bounce_ratio"));
	assert_int_equal(feed(f, T0 + SEC(2), "relay", L_TO_FILTER, "3F2A1B2C41", "a@bad.test",
	    "4B5C6D7EC1"), MAILLOG_DELIVERY);
	assert_int_equal(st->held_linked, 2);
	assert_int_equal(outcomes_total(st), 2);
	assert_contains(summary(f, "198.51.100.61", "bounce_ratio"), "2 of 2 recipients");
	assert_contains(summary(f, "account:hana@example.net", "bounce_ratio"), "2 of 2 recipients");
	assert_null(judge_lookup(f->j, "127.0.0.1"));

	/* another relay's log with the same queue ID is another message */
	client(f, T0 + SEC(3), "relay", "3F2A1B2C42", "198.51.100.62", NULL);
	assert_int_equal(feed(f, T0 + SEC(3), "relay2", L_REINJECT, "4B5C6D7EC2"), MAILLOG_CLIENT);
	rcpt(f, T0 + SEC(3), "relay2", "4B5C6D7EC2", "c@bad.test", R_UNKNOWN);
	assert_int_equal(feed(f, T0 + SEC(4), "relay", L_TO_FILTER, "3F2A1B2C42", "c@bad.test",
	    "4B5C6D7EC2"), MAILLOG_DELIVERY);
	assert_int_equal(st->held_linked, 2);
	assert_null(evidence(f, "198.51.100.62", "bounce_ratio"));

	/* no link within DELIVERY_HOLD of log time: relay2's bounce is its localhost's */
	assert_int_equal(outcomes_total(st), 2);
	rcpt(f, T0 + SEC(3) + DELIVERY_HOLD + 1, "relay", "3F2A1B2C42", "d@example.org", R_SENT);
	assert_int_equal(outcomes_total(st), 4);
	assert_int_equal(st->held_linked, 2);
	assert_null(evidence(f, "198.51.100.62", "bounce_ratio"));
	assert_null(judge_lookup(f->j, "127.0.0.1"));
	assert_int_equal(st->unattributed, 0);

	/* a filter re-injecting from another of the relay's addresses: its first race is
	 * lost (no reason yet to hold 127.0.0.9's outcomes), its link teaches the address */
	usec_t t = T0 + MINUTES(1);
	client(f, t, "relay", "3F2A1B2C43", "198.51.100.63", NULL);
	assert_int_equal(feed(f, t, "relay", "postfix/smtpd[18300]: %s: client=localhost[127.0.0.9]",
	    "4B5C6D7EC3"), MAILLOG_CLIENT);
	rcpt(f, t, "relay", "4B5C6D7EC3", "e@bad.test", R_UNKNOWN);
	assert_int_equal(st->outcomes_held, 3);
	assert_int_equal(feed(f, t, "relay", L_TO_FILTER, "3F2A1B2C43", "e@bad.test", "4B5C6D7EC3"),
	    MAILLOG_DELIVERY);
	assert_null(evidence(f, "198.51.100.63", "bounce_ratio"));
	client(f, t + SEC(1), "relay", "3F2A1B2C44", "198.51.100.63", NULL);
	assert_int_equal(feed(f, t + SEC(1), "relay", "postfix/smtpd[18300]: %s: client=localhost[127.0.0.9]",
	    "4B5C6D7EC4"), MAILLOG_CLIENT);
	rcpt(f, t + SEC(1), "relay", "4B5C6D7EC4", "f@bad.test", R_UNKNOWN);
	assert_int_equal(st->outcomes_held, 4);
	assert_int_equal(feed(f, t + SEC(2), "relay", L_TO_FILTER, "3F2A1B2C44", "f@bad.test", "4B5C6D7EC4"),
	    MAILLOG_DELIVERY);
	assert_int_equal(st->held_linked, 3);
	assert_contains(summary(f, "198.51.100.63", "bounce_ratio"), "1 of 1 recipients");

	/* a subscriber's own outcomes are never held, whatever its address */
	client(f, t + SEC(3), "relay", "3F2A1B2C45", "198.51.100.64", NULL);
	rcpt(f, t + SEC(3), "relay", "3F2A1B2C45", "g@bad.test", R_UNKNOWN);
	assert_int_equal(st->outcomes_held, 4);
	assert_non_null(evidence(f, "198.51.100.64", "bounce_ratio"));
}

/* Local mail the relay submits to itself, with no filter: held at most DELIVERY_HELD_MAX
 * outcomes at once, the oldest charged first, nothing lost. */
static void
test_content_filter_held_bounded(void **state)
{
	struct fx *f = *state;
	const struct delivery_stats *st = delivery_stats(f->d);
	char qid[16];

	fx_sensitive(f);
	for (int i = 0; i < DELIVERY_HELD_MAX + 10; i++) {
		snprintf(qid, sizeof(qid), "5A%08X", (unsigned)i);
		client(f, T0, "relay", qid, "127.0.0.1", NULL);
		rcpt(f, T0, "relay", qid, "x@example.org", R_SENT);
	}
	assert_int_equal(st->outcomes_held, DELIVERY_HELD_MAX + 10);
	assert_int_equal(outcomes_total(st), 10);
	delivery_expire(f->d, T0 + DELIVERY_HOLD + 1);
	assert_int_equal(outcomes_total(st), DELIVERY_HELD_MAX + 10);
	assert_int_equal(st->held_linked, 0);
	assert_int_equal(st->held_unlinked, DELIVERY_HELD_MAX + 10);
}

/* A link is an open queue ID like any other: saved, restored, bounded, expired. */
static void
test_content_filter_snapshot(void **state)
{
	struct fx *f = *state;
	struct fx *g;
	uint8_t *buf;
	size_t len;

	fx_sensitive(f);
	client(f, T0, "relay", "3F2A1B2C21", "198.51.100.41", "frank@example.net");
	assert_int_equal(feed(f, T0 + SEC(1), "relay", L_TO_FILTER, "3F2A1B2C21", "z@bad.test",
	    "4B5C6D7EA1"), MAILLOG_DELIVERY);
	removed(f, T0 + SEC(1), "relay", "3F2A1B2C21");
	assert_int_equal(delivery_save(f->d, T0 + SEC(2), &buf, &len), 0);
	assert_int_equal(fx_setup((void **)&g), 0);
	fx_sensitive(g);
	assert_int_equal(delivery_restore(g->d, buf, len), 0);
	free(buf);
	rcpt(g, T0 + SEC(3), "relay", "4B5C6D7EA1", "z@bad.test", R_UNKNOWN);
	assert_non_null(evidence(g, "198.51.100.41", "bounce_ratio"));
	assert_non_null(evidence(g, "account:frank@example.net", "bounce_ratio"));
	fx_teardown((void **)&g);
}


int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_kinds_registered),
		T(test_correlation_client_without_sasl),
		T(test_correlation_host_and_account),
		T(test_correlation_unknown_queue_id),
		T(test_correlation_deferred_not_final),
		T(test_correlation_logging_hosts_apart),
		T(test_correlation_reused_queue_id),
		T(test_noqueue_rejects),
		T(test_own_reject_text_configured),
		T(test_queue_ids_evicted),
		T(test_queue_ids_expired),
		T(test_bounce_three_of_four),
		T(test_bounce_412_of_520),
		T(test_bounce_window_slides),
		T(test_bounce_wilson_bound),
		T(test_domains_flagged_once_per_window),
		T(test_domains_high_baseline),
		T(test_snapshot_restart),
		T(test_snapshot_damaged),
		T(test_spam_rejected),
		T(test_spam_refusers),
		T(test_dovecot_logins),
		T(test_dovecot_smuggled_user),
		T(test_webmail_logins),
		T(test_snapshot_login_sources),
		T(test_account_networks),
		T(test_account_addresses),
		T(test_account_sessions),
		T(test_account_sessions_same_address),
		T(test_account_sessions_end),
		T(test_account_snapshot),
		T(test_account_networks_same_net),
		T(test_account_networks_window),
		T(test_account_networks_second_incident),
		T(test_loopback_not_judged),
		T(test_time),
		T(test_time_year_in_correlation),
		T(test_time_new_year_skew),
		T(test_errors_counted),
		T(test_correlation_long_qid_with_z),
		T(test_expire_forgets_rule_state),
		T(test_many_queue_ids),
		T(test_framing),
		T(test_cleanup_reject_by_queue_id),
		T(test_content_filter_amavis),
		T(test_content_filter_remote_reply_not_followed),
		T(test_content_filter_xforward),
		T(test_content_filter_snapshot),
		T(test_content_filter_link_after_outcome),
		T(test_content_filter_held_bounded),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
