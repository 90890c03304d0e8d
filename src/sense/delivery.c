/*
 * delivery.c — correlation of the relay's log and the delivery-error rules; see
 * delivery.h for the model. This file: the sensor's life, each line and its outcome;
 * the parts are listed in delivery_int.h.
 */
#include "sense/delivery.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/subject_text.h"
#include "judge/kinds.h"
#include "sense/delivery_int.h"

/* The one-sided quantile of the standard normal distribution, by bisection. */
static double
normal_quantile(double p)
{
	double lo = -10, hi = 10;
	for (int i = 0; i < 100; i++) {
		double mid = (lo + hi) / 2;
		if (0.5 * erfc(-mid / M_SQRT2) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* Wilson score interval, lower bound, for f failures in n trials at quantile z. */
double
delivery_wilson_lower(double f, double n, double z)
{
	if (n <= 0)
		return 0;
	double p = f / n, z2 = z * z;
	double centre = p + z2 / (2 * n);
	double spread = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
	double lb = (centre - spread) / (1 + z2 / n);
	return lb < 0 ? 0 : lb;
}

struct delivery *
delivery_new(struct judge *j, const struct config *cfg)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->judge = j;
	d->refused_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	int qrc = htable_init(&d->qids.table, 4096);
	int src = htable_init(&d->stats_by_subject, 4096);
	int xrc = htable_init(&d->sessions, 256);
	/* weights, half-lives and what each means: judge/kinds.c */
	d->kind_bounce = evidence_kind_register(j, "bounce_ratio");
	d->kind_domains = evidence_kind_register(j, "recipient_domains");
	d->kind_spam = evidence_kind_register(j, "spam_rejected");
	d->kind_networks = evidence_kind_register(j, "account_networks");
	d->kind_addresses = evidence_kind_register(j, "account_addresses");
	d->kind_sessions = evidence_kind_register(j, "account_sessions");
	if (qrc != 0 || src != 0 || xrc != 0 ||
	    d->kind_bounce < 0 || d->kind_domains < 0 || d->kind_spam < 0 || d->kind_networks < 0 ||
	    d->kind_addresses < 0 || d->kind_sessions < 0) {
		delivery_free(d);
		return NULL;
	}
	delivery_configure(d, cfg);
	return d;
}

void
delivery_dstat_free(struct dstat *s)
{
	free(s->dom_hashes);
	free(s->nets);
	free(s->addrs);
	free(s->sess);
	free(s);
}

void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	config_unref(d->cfg);
	for (struct held_outcome *h = d->held, *n; h != NULL; h = n) {
		n = h->next;
		free(h);
	}
	for (struct qid_entry *e = d->qids.oldest, *n; e != NULL; e = n) {
		n = e->newer;
		free(e);
	}
	size_t cursor = 0;
	for (struct htable_node *n = d->stats_by_subject.buckets ? htable_iter(&d->stats_by_subject, &cursor, NULL) :
	    NULL, *next; n != NULL; n = next) {
		next = htable_iter(&d->stats_by_subject, &cursor, n);
		delivery_dstat_free(htable_entry(n, struct dstat, node));
	}
	cursor = 0;
	for (struct htable_node *n = d->sessions.buckets ? htable_iter(&d->sessions, &cursor, NULL) : NULL, *next;
	    n != NULL; n = next) {
		next = htable_iter(&d->sessions, &cursor, n);
		free(htable_entry(n, struct session, node));
	}
	htable_fini(&d->qids.table);
	htable_fini(&d->stats_by_subject);
	htable_fini(&d->sessions);
	free(d);
}

/* The length snprintf wrote into a buffer of size bytes (what fitted of it). */
static size_t
fitted(int n, size_t size)
{
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

void
delivery_configure(struct delivery *d, const struct config *cfg)
{
	char win[32];

	config_unref(d->cfg);
	d->cfg = config_ref(cfg);
	d->z = normal_quantile(cfg->maillog.bounce_confidence);
	duration_format(cfg->maillog.bounce_window, win, sizeof(win));
	d->bounce_mid_len = fitted(snprintf(d->bounce_mid, sizeof(d->bounce_mid),
	    " recipients refused permanently in the last %s via the relay (", win), sizeof(d->bounce_mid));
	d->bounce_tail_len = fitted(snprintf(d->bounce_tail, sizeof(d->bounce_tail), "%% at %.0f%% confidence",
	    cfg->maillog.bounce_confidence * 100), sizeof(d->bounce_tail));
}

const struct delivery_stats *
delivery_stats(const struct delivery *d)
{
	return &d->stats;
}

/* --- time ------------------------------------------------------------------------- */

usec_t
delivery_time(const struct maillog_time *t, usec_t now)
{
	int year = t->year;
	int64_t secs;

	if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31)
		return now;
	if (year == 0) {
		time_t nt = (time_t)(now / USEC_PER_SEC);
		struct tm tm;
		localtime_r(&nt, &tm);
		year = tm.tm_year + 1900;
		/* "Dec 31" read on Jan 1 is last year's; "Jan 1" read on Dec 31 (a clock
		 * slightly ahead) is next year's */
		if (t->month > tm.tm_mon + 2)
			year--;
		else if (t->month + 10 < tm.tm_mon + 1)
			year++;
	}
	if (t->has_tz) {
		secs = time_days_from_civil(year, t->month, t->day) * 86400 + t->hour * 3600 + t->minute * 60 +
		    t->second - (int64_t)t->tz_minutes * 60;
		return secs * USEC_PER_SEC + t->usec;
	}
	/* local time: the hour's start from the zone's rules, arithmetic within it */
	return time_local_hour(year, t->month, t->day, t->hour) + ((usec_t)t->minute * 60 + t->second) *
	    USEC_PER_SEC + t->usec;
}

/* --- outcomes ------------------------------------------------------------------------- */

static bool
outcome_permanent(enum maillog_outcome o)
{
	return o == MAILLOG_OUTCOME_UNKNOWN_RECIPIENT || o == MAILLOG_OUTCOME_SPAM_REJECTED ||
	    o == MAILLOG_OUTCOME_POLICY_REJECTED || o == MAILLOG_OUTCOME_OTHER_PERMANENT;
}

/* One final outcome (a recipient delivered or refused) for subject s. */
static void
outcome(struct delivery *d, struct subject *s, const struct maillog_line *l, usec_t t)
{
	struct dstat *st;

	if (s == NULL || (st = delivery_dstat_get(d, s)) == NULL)
		return;
	st->last_seen = t;
	delivery_bounce_advance(d, st, t);
	size_t i = (size_t)(st->bucket_no % DELIVERY_BUCKETS);
	st->rcpt[i]++;
	if (outcome_permanent(l->outcome))
		st->fail[i]++;
	if (l->outcome == MAILLOG_OUTCOME_UNKNOWN_RECIPIENT)
		st->unknown[i]++;
	delivery_bounce_rule(d, s, st, t);
	delivery_domains_rule(d, s, st, l->to, t);
	if (l->outcome == MAILLOG_OUTCOME_SPAM_REJECTED)
		delivery_spam_rule(d, s, l, t);
}

static void held_release(struct delivery *d, struct held_outcome **at, bool linked);

/*
 * Holds the outcome in line text[0, len) (read at now, logged at t) of queue ID e, which
 * the relay itself opened with no account from an address a content filter re-injects
 * from (delivery_reinjector): perhaps a re-injection whose
 * "queued as" (the filter's answer to the first hop) may be logged after the re-injected
 * message's own outcomes when the machine is loaded. Returns false when it cannot
 * (memory): the caller charges it at once.
 */
static bool
held_add(struct delivery *d, const struct qid_entry *e, const char *text, size_t len, usec_t now, usec_t t)
{
	struct held_outcome *h;

	if (d->held_count >= DELIVERY_HELD_MAX)
		held_release(d, &d->held, false);          /* the oldest: it waited longest */
	if (len > UINT32_MAX || (h = malloc(sizeof(*h) + e->key_len + len)) == NULL)
		return false;
	h->next = NULL;
	h->t = t;
	h->now = now;
	h->addr = e->addr;
	h->key_len = e->key_len;
	h->len = (uint32_t)len;
	memcpy(h->data, e->data, e->key_len);
	memcpy(h->data + e->key_len, text, len);
	if (d->held == NULL)
		d->held_tail = &d->held;
	*d->held_tail = h;
	d->held_tail = &h->next;
	d->held_count++;
	d->stats.outcomes_held++;
	return true;
}

/* Charges outcome l of queue ID e (at t) to the host and account that opened it. */
static void
outcome_charge(struct delivery *d, const struct qid_entry *e, const struct maillog_line *l, usec_t t)
{
	d->stats.outcomes[l->outcome]++;
	if (e->has_addr)
		outcome(d, judge_host(d->judge, &e->addr, t), l, t);
	if (e->account_len > 0)
		outcome(d, judge_account(d->judge, e->data + e->key_len, e->account_len, t), l, t);
}

/*
 * The outcome in l (line text[0, len), read at now) for whoever opened its queue ID,
 * host and account; unattributed when nobody did that we know of. A queue ID the relay
 * itself opened waits for a content filter's link first (held_add).
 */
static void
outcome_of_queue_id(struct delivery *d, const struct maillog_line *l, const char *text, size_t len, usec_t now,
    usec_t t)
{
	struct qid_entry *e = delivery_qid_lookup(d, l);

	if (e == NULL) {
		d->stats.unattributed++;
		return;
	}
	if (!e->linked && e->account_len == 0 && e->has_addr && delivery_address_own(d, &e->addr) &&
	    delivery_reinjector(d, &e->addr) && held_add(d, e, text, len, now, t))
		return;
	outcome_charge(d, e, l, t);
}

/* Takes held outcome h off the list (whose link to it is *at) and charges it: linked, to
 * the submitter its queue ID is linked to now; else to the client that opened it. */
static void
held_release(struct delivery *d, struct held_outcome **at, bool linked)
{
	struct held_outcome *h = *at;
	struct maillog_line l;
	struct qid_entry *e;

	*at = h->next;
	if (d->held_tail == &h->next)
		d->held_tail = at;
	d->held_count--;
	/* it parsed when it was read */
	if (maillog_parse_line((const uint8_t *)h->data + h->key_len, h->len, &l) >= 0) {
		if (linked && (e = delivery_qid_lookup(d, &l)) != NULL && e->linked) {
			d->stats.held_linked++;
			outcome_charge(d, e, &l, h->t);
		} else {
			struct qid_entry own = { .has_addr = true, .addr = h->addr };
			d->stats.held_unlinked++;
			outcome_charge(d, &own, &l, h->t);
		}
	}
	free(h);
}

/* The outcomes held for queue ID key, in the order they were read: linked now. */
void
delivery_held_release_key(struct delivery *d, const char *key, size_t klen)
{
	for (struct held_outcome **at = &d->held; *at != NULL;) {
		struct held_outcome *h = *at;
		if (h->key_len == klen && memcmp(h->data, key, klen) == 0)
			held_release(d, at, true);
		else
			at = &h->next;
	}
}

/* The outcomes no link came for: to the clients that opened their queue IDs. */
void
delivery_release_held(struct delivery *d, usec_t t)
{
	while (d->held != NULL && d->held->t + DELIVERY_HOLD < t)
		held_release(d, &d->held, false);
}

void
delivery_flush(struct delivery *d)
{
	while (d->held != NULL)
		held_release(d, &d->held, false);
}

/* --- logins from outside the relay (Dovecot, webmail) ------------------------------- */

static const char *const login_source_names[DELIVERY_LOGIN_SOURCES] = {
	[DELIVERY_LOGIN_SMTP] = "smtp",
	[DELIVERY_LOGIN_IMAP] = "imap",
	[DELIVERY_LOGIN_POP3] = "pop3",
	[DELIVERY_LOGIN_SUBMISSION] = "submission",
	[DELIVERY_LOGIN_SIEVE] = "managesieve",
	[DELIVERY_LOGIN_WEBMAIL] = "webmail",
	[DELIVERY_LOGIN_OTHER] = "other",
};

static const char *const login_skip_names[DELIVERY_LOGIN_SKIPS] = {
	[DELIVERY_LOGIN_SKIP_OFF] = "off",
	[DELIVERY_LOGIN_SKIP_FRONT_END] = "front_end",
	[DELIVERY_LOGIN_SKIP_IGNORED] = "ignored",
	[DELIVERY_LOGIN_SKIP_ADDRESS] = "address",
	[DELIVERY_LOGIN_SKIP_ACCOUNT] = "account",
};

const char *
delivery_login_source_name(enum delivery_login_source src)
{
	return (unsigned)src < DELIVERY_LOGIN_SOURCES ? login_source_names[src] : "unknown";
}

const char *
delivery_login_skip_name(enum delivery_login_skip why)
{
	return (unsigned)why < DELIVERY_LOGIN_SKIPS ? login_skip_names[why] : "unknown";
}

/* The source of a Dovecot login by its service: "imap-login" ... */
static enum delivery_login_source
login_source(struct strview service)
{
	if (strview_eq(service, "imap-login"))
		return DELIVERY_LOGIN_IMAP;
	if (strview_eq(service, "pop3-login"))
		return DELIVERY_LOGIN_POP3;
	if (strview_eq(service, "submission-login"))
		return DELIVERY_LOGIN_SUBMISSION;
	if (strview_eq(service, "managesieve-login"))
		return DELIVERY_LOGIN_SIEVE;
	return DELIVERY_LOGIN_OTHER;
}

bool
delivery_login(struct delivery *d, enum delivery_login_source src, const char *user, size_t len,
    struct strview text, usec_t t)
{
	struct subject *acct;
	struct dstat *st;
	struct addr a;
	enum delivery_login_skip why;

	if ((unsigned)src >= DELIVERY_LOGIN_SOURCES)
		src = DELIVERY_LOGIN_OTHER;
	if (addr_parse(text.ptr, text.len, &a) != 0)
		why = DELIVERY_LOGIN_SKIP_ADDRESS;
	else if (config_address_allowed(d->cfg, &a))
		why = DELIVERY_LOGIN_SKIP_FRONT_END;       /* the webmail server, for its user */
	else if (config_address_ignored(d->cfg, &a))
		why = DELIVERY_LOGIN_SKIP_IGNORED;
	else if ((acct = judge_account(d->judge, user, len, t)) == NULL || (st = delivery_dstat_get(d, acct)) == NULL)
		why = DELIVERY_LOGIN_SKIP_ACCOUNT;
	else {
		st->last_seen = t;
		d->stats.logins[src]++;
		delivery_networks_rule(d, acct, st, &a, t, src);
		delivery_addresses_rule(d, acct, st, &a, t, src);
		return true;
	}
	d->stats.logins_skipped[why]++;
	return false;
}

int
delivery_webmail_line(struct delivery *d, const char *line, size_t len, usec_t now)
{
	struct roundcube_login l;
	int kind = roundcube_parse_line((const uint8_t *)line, len, &l);
	struct strview from;
	struct addr a;

	d->stats.webmail_lines++;
	if (kind < 0) {
		if (-kind <= ROUNDCUBE_ERROR_COUNT)
			d->stats.webmail_errors[-kind]++;
		return kind;
	}
	if (kind == ROUNDCUBE_LOGIN_FAILED) {
		d->stats.logins_failed[DELIVERY_LOGIN_WEBMAIL]++;
		return kind;
	}
	/* Behind our own proxy, the client is what it forwarded: the headers' entries from the
	 * right, past our proxies; further left is what the client itself claimed. */
	from = l.remote_addr;
	if (l.forwarded.len > 0 && addr_parse(from.ptr, from.len, &a) == 0 && config_address_allowed(d->cfg, &a)) {
		size_t pos = l.forwarded.len;
		struct strview f;
		while (roundcube_forwarded_next(l.forwarded, &pos, &f) == 0) {
			from = f;
			if (addr_parse(f.ptr, f.len, &a) != 0 || !config_address_allowed(d->cfg, &a))
				break;
		}
	}
	(void)delivery_login(d, DELIVERY_LOGIN_WEBMAIL, l.user.ptr, l.user.len, from, delivery_time(&l.time, now));
	return kind;
}

#define OWN_TEXT_CUT_MIN 24   /* bytes of a cut-short text that still name it */

/*
 * Is reply lazaret's own answer (its reject, defer or the operator's ignore text)? Also
 * when a syslog relay cut the line inside the text: the reply then ends in the text's
 * first OWN_TEXT_CUT_MIN or more bytes (a few common words at the end are not enough).
 */
static bool
own_reject(const struct delivery *d, struct strview reply)
{
	const char *texts[] = { d->cfg->policy.reject_text, d->cfg->policy.defer_text, d->cfg->maillog.ignore_text };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(texts[i]);
		if (n > 0 && n <= reply.len && memmem(reply.ptr, reply.len, texts[i], n) != NULL)
			return true;
		for (size_t k = n < reply.len ? n : reply.len; k >= OWN_TEXT_CUT_MIN; k--)
			if (memcmp(reply.ptr + reply.len - k, texts[i], k) == 0)
				return true;
	}
	return false;
}

int
delivery_line(struct delivery *d, const char *text, size_t len, usec_t now)
{
	struct maillog_line l;
	int kind = maillog_parse_line((const uint8_t *)text, len, &l);
	usec_t t;

	d->stats.lines++;
	if (kind < 0) {
		if (-kind <= MAILLOG_ERROR_COUNT)
			d->stats.errors[-kind]++;
		/* Someone tried to pass their words off as Postfix's: the operator may want the
		 * line (escaped by the logger, cut short; a budget, since senders can repeat it). */
		if (kind == MAILLOG_ERR_DUPLICATE)
			log_limited(&d->refused_log, LOG_LEVEL_WARN,
			    "maillog: line refused reason=duplicate_field (a field Postfix or Dovecot writes "
			    "once appears twice, or a user name holds fields; not attributed): %.*s",
			    (int)(len < 400 ? len : 400), text);
		return kind;
	}
	d->stats.kinds[kind]++;
	if (l.session != MAILLOG_SESSION_NONE && l.pid != 0 && strview_eq(l.service, "smtpd")) {
		uint64_t id = delivery_session_id(&l);

		/* a connect on an smtpd process also ends the session it had, whose end we missed */
		delivery_session_end(d, id);
		if (l.session == MAILLOG_SESSION_CONNECT)
			(void)delivery_session_add(d, NULL, 0, 0, id, delivery_time(&l.time, now));
		return kind;
	}
	if (kind == MAILLOG_OTHER || kind == MAILLOG_FROM)
		return kind;
	t = delivery_time(&l.time, now);
	if (d->held != NULL)
		delivery_release_held(d, t);

	switch (kind) {
	case MAILLOG_LOGIN:
	case MAILLOG_LOGIN_FAILED: {
		enum delivery_login_source src = login_source(l.service);
		if (kind == MAILLOG_LOGIN_FAILED)
			d->stats.logins_failed[src]++;
		else if (!d->cfg->logins.dovecot)
			d->stats.logins_skipped[DELIVERY_LOGIN_SKIP_OFF]++;
		else
			(void)delivery_login(d, src, l.login_user.ptr, l.login_user.len, l.client_addr, t);
		break;
	}
	case MAILLOG_CLIENT: {
		delivery_qid_open(d, &l, t);
		if (l.sasl_username.len > 0) {
			struct addr a;
			struct subject *acct = judge_account(d->judge, l.sasl_username.ptr, l.sasl_username.len, t);
			struct dstat *st;
			/* the relay's own address is not a network the account was used from */
			if (acct != NULL && addr_parse(l.client_addr.ptr, l.client_addr.len, &a) == 0 &&
			    !config_address_ignored(d->cfg, &a) && (st = delivery_dstat_get(d, acct)) != NULL) {
				st->last_seen = t;
				d->stats.logins[DELIVERY_LOGIN_SMTP]++;
				delivery_networks_rule(d, acct, st, &a, t, DELIVERY_LOGIN_SMTP);
				delivery_addresses_rule(d, acct, st, &a, t, DELIVERY_LOGIN_SMTP);
				if (l.pid != 0 && strview_eq(l.service, "smtpd"))
					delivery_sessions_rule(d, acct, st, delivery_session_id(&l), &a, t);
			}
		}
		break;
	}
	case MAILLOG_REMOVED: {
		struct qid_entry *e = delivery_qid_lookup(d, &l);
		if (e != NULL)
			delivery_qid_unlink(&d->qids, e);
		break;
	}
	case MAILLOG_DELIVERY: {
		if (l.status != MAILLOG_STATUS_SENT && l.status != MAILLOG_STATUS_BOUNCED &&
		    l.status != MAILLOG_STATUS_EXPIRED)
			break;                 /* deferred: not final, retried later */
		struct strview new_qid;
		if (l.status == MAILLOG_STATUS_SENT && delivery_filter_relay(d, l.relay) &&
		    (new_qid = delivery_filter_queued_as(l.reply)).len > 0) {
			delivery_filter_link(d, &l, new_qid, t);
			break;
		}
		outcome_of_queue_id(d, &l, text, len, now, t);
		break;
	}
	case MAILLOG_REJECT: {
		struct addr a;
		/* Only permanent refusals of recipients; never lazaret's own answers. */
		/* cleanup's header/body and milter refusals carry only a DSN */
		char klass = l.reject_code.len ? l.reject_code.ptr[0] : l.dsn.len ? l.dsn.ptr[0] : '\0';
		if (klass != '5' || l.to.len == 0)
			break;
		if (own_reject(d, l.reply)) {
			d->stats.own_rejects++;
			break;
		}
		if (l.client_addr.len == 0 && l.queue_id.len > 0) {
			/* cleanup's header/body rejects: whoever opened the queue ID, never
			 * a client named in the message's own text (maillog.h) */
			outcome_of_queue_id(d, &l, text, len, now, t);
			break;
		}
		if (addr_parse(l.client_addr.ptr, l.client_addr.len, &a) != 0) {
			d->stats.unattributed++;
			break;
		}
		d->stats.outcomes[l.outcome]++;
		outcome(d, judge_host(d->judge, &a, t), &l, t);
		break;
	}
	}
	d->stats.queue_ids_open = d->qids.table.count;
	return kind;
}
