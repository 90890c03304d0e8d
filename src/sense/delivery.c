/*
 * delivery.c — correlation of the relay's log and the delivery-error rules; see
 * delivery.h for the model.
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

#define DELIVERY_BUCKETS     12      /* the bounce window in twelfths */
#define DELIVERY_DOMAINS_CAP 4096    /* distinct domains remembered per window at most */
#define DELIVERY_NETS_CAP    256     /* client networks remembered per account at most */
#define DELIVERY_ADDRS_CAP   256     /* client addresses remembered per account at most */
#define DELIVERY_SESSIONS_CAP 64     /* open smtpd sessions remembered per account at most */
#define DELIVERY_SESSIONS_MAX 65536  /* open smtpd sessions followed, all relays */
/* A session counts this long after its connect at most: its disconnect line may never come
 * (a lost line, a killed smtpd). */
#define DELIVERY_SESSION_MAX_AGE (3600 * USEC_PER_SEC)

/* An open queue ID: who submitted the message. */
struct qid_entry {
	struct qid_entry *chain;
	struct qid_entry *older, *newer;   /* age order, oldest first */
	uint32_t hash;
	uint16_t key_len;
	uint16_t account_len;
	bool has_addr;
	bool linked;                       /* opened by a content filter's "queued as" */
	struct addr addr;
	usec_t opened;
	char data[];                       /* key ("host qid"), then the account */
};

struct qid_table {
	struct qid_entry **buckets;
	size_t mask;
	size_t count;
	struct qid_entry *oldest, *newest;
};

struct net_seen {
	struct addr net;
	usec_t last;
};

/* One of an account's smtpd sessions open now (account_sessions). */
struct sess_open {
	uint64_t id;                       /* session_id(): the relay, the smtpd and its PID */
	struct addr addr;
	usec_t since;
};

/* An smtpd session open now, from its "connect from", by its id; acct_len is 0 until its
 * client= line names the account, which its disconnect then finds. */
struct session {
	struct session *chain;
	uint64_t id;
	usec_t since;
	uint32_t acct_hash;                /* the account's subject hash and key */
	uint16_t acct_len;
	char acct[];
};

struct session_table {
	struct session **buckets;
	size_t mask;
	size_t count;
};

/* What the rules remember of one subject (host or account). */
struct dstat {
	struct dstat *chain;
	uint32_t hash;
	uint16_t key_len;
	bool is_account;
	usec_t last_seen;
	/* bounce_ratio: a sliding window in DELIVERY_BUCKETS buckets */
	int64_t bucket_no;                 /* the newest bucket's number (time / width) */
	uint32_t rcpt[DELIVERY_BUCKETS];
	uint32_t fail[DELIVERY_BUCKETS];
	uint32_t unknown[DELIVERY_BUCKETS];
	bool bounce_flagged;
	/* recipient_domains: a tumbling window and a baseline over past windows */
	int64_t dom_window_no;
	uint32_t dom_count;
	uint32_t dom_cap;
	uint32_t *dom_hashes;
	double dom_baseline;
	bool dom_flagged;
	/* account_networks */
	struct net_seen *nets;
	uint16_t net_count, net_cap;
	uint32_t nets_reported;
	/* account_addresses: the same over whole addresses */
	struct net_seen *addrs;
	uint16_t addr_count, addr_cap;
	uint32_t addrs_reported;
	/* account_sessions: its smtpd sessions open now */
	struct sess_open *sess;
	uint16_t sess_count, sess_cap;
	uint32_t sess_reported;
	char key[];
};

struct dstat_table {
	struct dstat **buckets;
	size_t mask;
	size_t count;
};

struct delivery {
	struct judge *judge;
	const struct config *cfg;
	int kind_bounce, kind_domains, kind_spam, kind_networks, kind_addresses, kind_sessions;
	double z;                          /* one-sided normal quantile of bounce_confidence */
	struct qid_table qids;
	struct dstat_table stats_by_subject;
	struct session_table sessions;
	struct delivery_stats stats;
	struct log_limit refused_log;      /* lines a client forged fields into */
	/* bounce_rule's summary around its numbers, as the configuration fixes it */
	char bounce_mid[112];              /* " recipients refused permanently in the last 1h via the relay (" */
	char bounce_tail[48];              /* "% at 95% confidence" */
	size_t bounce_mid_len, bounce_tail_len;
};

static void session_end(struct delivery *d, uint64_t id);

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
static double
wilson_lower(double f, double n, double z)
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
	d->qids.mask = 4095;
	d->stats_by_subject.mask = 4095;
	d->qids.buckets = calloc(d->qids.mask + 1, sizeof(*d->qids.buckets));
	d->stats_by_subject.buckets = calloc(d->stats_by_subject.mask + 1, sizeof(*d->stats_by_subject.buckets));
	d->sessions.mask = 255;
	d->sessions.buckets = calloc(d->sessions.mask + 1, sizeof(*d->sessions.buckets));
	/* weights, half-lives and what each means: judge/kinds.c */
	d->kind_bounce = evidence_kind_register(j, "bounce_ratio");
	d->kind_domains = evidence_kind_register(j, "recipient_domains");
	d->kind_spam = evidence_kind_register(j, "spam_rejected");
	d->kind_networks = evidence_kind_register(j, "account_networks");
	d->kind_addresses = evidence_kind_register(j, "account_addresses");
	d->kind_sessions = evidence_kind_register(j, "account_sessions");
	if (d->qids.buckets == NULL || d->stats_by_subject.buckets == NULL || d->sessions.buckets == NULL ||
	    d->kind_bounce < 0 || d->kind_domains < 0 || d->kind_spam < 0 || d->kind_networks < 0 ||
	    d->kind_addresses < 0 || d->kind_sessions < 0) {
		delivery_free(d);
		return NULL;
	}
	delivery_configure(d, cfg);
	return d;
}

static void
dstat_free(struct dstat *s)
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
	for (struct qid_entry *e = d->qids.oldest, *n; e != NULL; e = n) {
		n = e->newer;
		free(e);
	}
	for (size_t i = 0; d->stats_by_subject.buckets && i <= d->stats_by_subject.mask; i++)
		for (struct dstat *s = d->stats_by_subject.buckets[i], *n; s != NULL; s = n) {
			n = s->chain;
			dstat_free(s);
		}
	for (size_t i = 0; d->sessions.buckets && i <= d->sessions.mask; i++)
		for (struct session *x = d->sessions.buckets[i], *n; x != NULL; x = n) {
			n = x->chain;
			free(x);
		}
	free(d->qids.buckets);
	free(d->stats_by_subject.buckets);
	free(d->sessions.buckets);
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

	d->cfg = cfg;
	d->z = normal_quantile(cfg->bounce_confidence);
	duration_format(cfg->bounce_window, win, sizeof(win));
	d->bounce_mid_len = fitted(snprintf(d->bounce_mid, sizeof(d->bounce_mid),
	    " recipients refused permanently in the last %s via the relay (", win), sizeof(d->bounce_mid));
	d->bounce_tail_len = fitted(snprintf(d->bounce_tail, sizeof(d->bounce_tail), "%% at %.0f%% confidence",
	    cfg->bounce_confidence * 100), sizeof(d->bounce_tail));
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

/* --- open queue IDs ---------------------------------------------------------------- */

static void
qid_unlink(struct qid_table *t, struct qid_entry *e)
{
	struct qid_entry **pp = &t->buckets[e->hash & t->mask];
	for (; *pp != NULL; pp = &(*pp)->chain)
		if (*pp == e) {
			*pp = e->chain;
			break;
		}
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	t->count--;
	free(e);
}

static struct qid_entry *
qid_find(const struct qid_table *t, const char *key, size_t len, uint32_t h)
{
	for (struct qid_entry *e = t->buckets[h & t->mask]; e != NULL; e = e->chain)
		if (e->hash == h && e->key_len == len && memcmp(e->data, key, len) == 0)
			return e;
	return NULL;
}

static void
qid_grow(struct qid_table *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct qid_entry **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;
	for (struct qid_entry *e = t->oldest; e != NULL; e = e->newer) {
		e->chain = nb[e->hash & nmask];
		nb[e->hash & nmask] = e;
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = nmask;
}

/* The table key: the logging host and the queue ID, so several relays' logs never mix. */
static size_t
qid_key(const struct maillog_line *l, char *key, size_t size)
{
	size_t n = l->host.len + 1 + l->queue_id.len;
	if (n > size)
		return 0;
	memcpy(key, l->host.ptr, l->host.len);
	key[l->host.len] = ' ';
	memcpy(key + l->host.len + 1, l->queue_id.ptr, l->queue_id.len);
	return n;
}

/*
 * Opens queue ID key (klen < 512) for account (alen <= 255) and the client address
 * *a (NULL: none) at time t, as the newest; a reused ID replaces the older entry and a
 * full table drops its oldest. NULL on ENOMEM.
 */
static struct qid_entry *
qid_insert(struct delivery *d, const char *key, size_t klen, const char *account, size_t alen,
    const struct addr *a, usec_t t)
{
	struct qid_table *q = &d->qids;
	struct qid_entry *e;
	uint32_t h = subjects_hash(key, klen);

	if ((e = qid_find(q, key, klen, h)) != NULL)
		qid_unlink(q, e);          /* a reused ID: the newer line wins */
	while (q->count >= d->cfg->max_queue_ids && q->oldest != NULL) {
		qid_unlink(q, q->oldest);
		d->stats.queue_ids_evicted++;
	}
	if ((e = malloc(sizeof(*e) + klen + alen)) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->key_len = (uint16_t)klen;
	e->account_len = (uint16_t)alen;
	e->opened = t;
	memcpy(e->data, key, klen);
	if (alen > 0)
		memcpy(e->data + klen, account, alen);
	e->has_addr = a != NULL;
	if (a != NULL)
		e->addr = *a;
	if (q->count >= q->mask + 1)
		qid_grow(q);
	e->chain = q->buckets[h & q->mask];
	q->buckets[h & q->mask] = e;
	e->older = q->newest;
	if (q->newest)
		q->newest->newer = e;
	else
		q->oldest = e;
	q->newest = e;
	q->count++;
	return e;
}

/* Loopback (127.0.0.0/8, ::1) or an address in [judge] ignore: this relay's own. */
static bool
address_own(const struct delivery *d, const struct addr *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	if (a->family == AF_INET && a->bytes[0] == 127)
		return true;
	if (a->family == AF_INET6 && memcmp(a->bytes, v6_loopback, 16) == 0)
		return true;
	return config_address_ignored(d->cfg, a);
}

/*
 * A content filter re-injected the message of open queue ID *from as new_qid (logged
 * by host): new_qid now belongs to whoever submitted *from, since its own client= is
 * the filter's localhost, so the re-injected message's bounces and spam refusals count
 * for them. The link is an ordinary open queue ID (same table, bound, age and
 * snapshot); "linked" only keeps the filter's own client= line from taking it back,
 * and is not saved.
 */
static void
qid_link(struct delivery *d, struct strview host, struct strview new_qid, const struct qid_entry *from,
    usec_t t)
{
	char key[512], account[256];
	struct qid_entry *n;
	struct addr a = from->addr;
	size_t klen = host.len + 1 + new_qid.len, alen = from->account_len;
	bool has_addr = from->has_addr;

	if (klen > sizeof(key))
		return;
	/* copies first: inserting may evict *from */
	memcpy(account, from->data + from->key_len, alen);
	memcpy(key, host.ptr, host.len);
	key[host.len] = ' ';
	memcpy(key + host.len + 1, new_qid.ptr, new_qid.len);
	n = qid_find(&d->qids, key, klen, subjects_hash(key, klen));
	bool again = n != NULL && n->linked;      /* orig_queue_id, then "queued as" */
	if ((n = qid_insert(d, key, klen, account, alen, has_addr ? &a : NULL, t)) != NULL) {
		n->linked = true;
		if (!again)
			d->stats.filter_links++;
	}
}

static void
qid_open(struct delivery *d, const struct maillog_line *l, usec_t t)
{
	char key[512];
	size_t klen = qid_key(l, key, sizeof(key));
	struct addr a;
	bool has_addr;

	if (klen == 0 || l->sasl_username.len > 255)
		return;
	has_addr = addr_parse(l->client_addr.ptr, l->client_addr.len, &a) == 0;
	/* Postfix logs orig_queue_id= (XFORWARD IDENT) only for smtpd_authorized_xforward_hosts;
	 * followed from the relay's own addresses only, like a filter's "queued as". */
	if (l->orig_queue_id.len > 0 && has_addr && address_own(d, &a)) {
		char okey[512];
		size_t olen = l->host.len + 1 + l->orig_queue_id.len;
		struct qid_entry *from;
		if (olen <= sizeof(okey)) {
			memcpy(okey, l->host.ptr, l->host.len);
			okey[l->host.len] = ' ';
			memcpy(okey + l->host.len + 1, l->orig_queue_id.ptr, l->orig_queue_id.len);
			if ((from = qid_find(&d->qids, okey, olen, subjects_hash(okey, olen))) != NULL) {
				qid_link(d, l->host, l->queue_id, from, t);
				return;
			}
		}
	}
	/* A message a content filter re-injected already belongs to its first sender; the
	 * filter's own client= (localhost) does not take it back, a real client would. */
	struct qid_entry *e = qid_find(&d->qids, key, klen, subjects_hash(key, klen));
	if (e != NULL && e->linked && (!has_addr || address_own(d, &a)))
		return;
	qid_insert(d, key, klen, l->sasl_username.ptr, l->sasl_username.len, has_addr ? &a : NULL, t);
}

static struct qid_entry *
qid_lookup(struct delivery *d, const struct maillog_line *l)
{
	char key[512];
	size_t klen = qid_key(l, key, sizeof(key));
	if (klen == 0)
		return NULL;
	return qid_find(&d->qids, key, klen, subjects_hash(key, klen));
}

/* --- after-queue content filters ------------------------------------------------------ */

/*
 * Is relay= ("127.0.0.1[127.0.0.1]:10024", "localhost[::1]:10024") this relay's own
 * content filter? Only then is its reply the operator's own words: a remote MX writes
 * what it likes into its reply, "queued as" any queue ID of ours included.
 */
static bool
filter_relay(const struct delivery *d, struct strview relay)
{
	const char *lb = memchr(relay.ptr, '[', relay.len), *rb;
	struct addr a;

	if (lb == NULL || (rb = memchr(lb, ']', (size_t)(relay.ptr + relay.len - lb))) == NULL)
		return false;
	return addr_parse(lb + 1, (size_t)(rb - lb - 1), &a) == 0 && address_own(d, &a);
}

/*
 * The queue ID a filter's reply ends in: "... 250 2.0.0 Ok: queued as 3F2A1B2C3D" (the
 * Postfix smtpd that took the re-injected message, quoted by amavis or by Postfix's own
 * smtp client). The last "queued as " only, and only when a queue ID runs from there to
 * the end: the reply's earlier text is not read. Empty when there is none.
 */
static struct strview
filter_queued_as(struct strview reply)
{
	static const char mark[] = "queued as ";
	const char *end = reply.ptr + reply.len, *q = NULL;

	while (end > reply.ptr && end[-1] == ' ')
		end--;
	for (const char *p = reply.ptr; (size_t)(end - p) >= sizeof(mark) - 1; p++) {
		p = memmem(p, (size_t)(end - p), mark, sizeof(mark) - 1);
		if (p == NULL)
			break;
		q = p + sizeof(mark) - 1;
	}
	if (q == NULL || !maillog_is_qid(q, (size_t)(end - q)))
		return (struct strview){ 0 };
	return (struct strview){ .ptr = q, .len = (size_t)(end - q) };
}

/* A delivery of l's queue ID to the relay's own content filter, which re-injected the
 * message as new_qid: see qid_link. The hop itself is no outcome for anyone. */
static void
filter_link(struct delivery *d, const struct maillog_line *l, struct strview new_qid, usec_t t)
{
	struct qid_entry *e = qid_lookup(d, l);

	d->stats.filter_hops++;
	if (e != NULL)
		qid_link(d, l->host, new_qid, e, t);
}

void
delivery_expire(struct delivery *d, usec_t now)
{
	struct qid_table *q = &d->qids;

	while (q->oldest != NULL && q->oldest->opened + d->cfg->queue_id_max_age < now) {
		qid_unlink(q, q->oldest);
		d->stats.queue_ids_expired++;
	}
	d->stats.queue_ids_open = q->count;

	/* Sessions whose end never came: DELIVERY_SESSION_MAX_AGE after they were seen. */
	for (size_t i = 0; i <= d->sessions.mask; i++)
		for (struct session *x = d->sessions.buckets[i], *n; x != NULL; x = n) {
			n = x->chain;
			if (x->since + DELIVERY_SESSION_MAX_AGE < now)
				session_end(d, x->id);
		}

	/* Forget rule state nobody needs any more: idle for longer than every window. */
	usec_t keep = d->cfg->bounce_window;
	if (d->cfg->domains_window * 8 > keep)
		keep = d->cfg->domains_window * 8;    /* the baseline spans a few windows */
	if (d->cfg->account_window > keep)
		keep = d->cfg->account_window;
	struct dstat_table *t = &d->stats_by_subject;
	for (size_t i = 0; i <= t->mask; i++) {
		struct dstat **pp = &t->buckets[i];
		while (*pp != NULL) {
			struct dstat *st = *pp;
			if (st->last_seen + keep < now) {
				*pp = st->chain;
				t->count--;
				dstat_free(st);
			} else
				pp = &st->chain;
		}
	}
}

/* --- per-subject rule state ----------------------------------------------------------- */

/* Doubles the bucket array when the table holds more than one entry per bucket. */
static void
dstat_rehash(struct dstat_table *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct dstat **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;           /* longer chains, still correct */
	for (size_t i = 0; i <= t->mask; i++)
		for (struct dstat *x = t->buckets[i], *n; x != NULL; x = n) {
			n = x->chain;
			x->chain = nb[x->hash & nmask];
			nb[x->hash & nmask] = x;
		}
	free(t->buckets);
	t->buckets = nb;
	t->mask = nmask;
}

/* The rule state for key, whose hash (subjects_hash, as its subject's) is h; or NULL. */
static struct dstat *
dstat_find_key(const struct dstat_table *t, const char *key, size_t len, uint32_t h)
{
	for (struct dstat *st = t->buckets[h & t->mask]; st != NULL; st = st->chain)
		if (st->hash == h && st->key_len == len && memcmp(st->key, key, len) == 0)
			return st;
	return NULL;
}

static struct dstat *
dstat_get(struct delivery *d, const struct subject *s)
{
	struct dstat_table *t = &d->stats_by_subject;
	uint32_t h = s->hash;
	struct dstat *st = dstat_find_key(t, s->key, s->key_len, h);

	if (st != NULL)
		return st;
	if ((st = calloc(1, sizeof(*st) + s->key_len + 1)) == NULL)
		return NULL;
	st->hash = h;
	st->key_len = s->key_len;
	st->is_account = s->kind == SUBJECT_ACCOUNT;
	st->bucket_no = INT64_MIN;
	st->dom_window_no = INT64_MIN;
	memcpy(st->key, s->key, s->key_len);
	if (t->count >= t->mask + 1)
		dstat_rehash(t);
	st->chain = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = st;
	t->count++;
	return st;
}


/* Moves the bounce window forward to time t, clearing buckets that fell out of it. */
static void
bounce_advance(struct delivery *d, struct dstat *st, usec_t t)
{
	usec_t width = d->cfg->bounce_window / DELIVERY_BUCKETS;
	int64_t no = t / (width > 0 ? width : 1);

	if (st->bucket_no == INT64_MIN || no - st->bucket_no >= DELIVERY_BUCKETS) {
		memset(st->rcpt, 0, sizeof(st->rcpt));
		memset(st->fail, 0, sizeof(st->fail));
		memset(st->unknown, 0, sizeof(st->unknown));
		st->bucket_no = no;
		return;
	}
	while (st->bucket_no < no) {
		st->bucket_no++;
		size_t i = (size_t)(st->bucket_no % DELIVERY_BUCKETS);
		st->rcpt[i] = st->fail[i] = st->unknown[i] = 0;
	}
	/* an older line than the newest seen lands in the newest bucket */
}

/* v in decimal at p (room for 20 digits); returns the end. */
static char *
put_u64(char *p, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

static char *
put_bytes(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

_Static_assert(STORE_SUMMARY_MAX >= 3 * 20 + sizeof(" of ") + sizeof(((struct delivery *)0)->bounce_mid) +
    sizeof(" unknown); at least ") + 20 + sizeof(((struct delivery *)0)->bounce_tail),
    "bounce_summary fits its buffer");

/*
 * The bounce evidence's summary into out (STORE_SUMMARY_MAX bytes), the bytes
 * snprintf(out, STORE_SUMMARY_MAX, "%llu of %llu recipients refused permanently in the
 * last %s via the relay (%llu unknown); at least %.0f%% at %.0f%% confidence", ...) writes.
 * bounce_rule runs on every outcome of a subject above the threshold (a bot's every
 * recipient), and printf's number formatting was a tenth of analyze's instructions on a
 * log with bots. %.0f rounds the exact binary value to the nearest integer, ties to
 * even: nearbyint in the default rounding mode.
 */
static void
bounce_summary(const struct delivery *d, uint64_t f, uint64_t n, uint64_t u, double lb, char *out)
{
	double pct = lb * 100;
	char *p = out;

	if (!(pct >= 0 && pct <= 100)) {        /* never for a Wilson bound; printf's word then */
		snprintf(out, STORE_SUMMARY_MAX, "%llu of %llu%s%llu unknown); at least %.0f%s",
		    (unsigned long long)f, (unsigned long long)n, d->bounce_mid, (unsigned long long)u, pct,
		    d->bounce_tail);
		return;
	}
	p = put_u64(p, f);
	p = put_bytes(p, " of ", 4);
	p = put_u64(p, n);
	p = put_bytes(p, d->bounce_mid, d->bounce_mid_len);
	p = put_u64(p, u);
	p = put_bytes(p, " unknown); at least ", 20);
	p = put_u64(p, (uint64_t)nearbyint(pct));
	p = put_bytes(p, d->bounce_tail, d->bounce_tail_len);
	*p = '\0';
}

static void
bounce_rule(struct delivery *d, struct subject *s, struct dstat *st, usec_t t)
{
	uint64_t n = 0, f = 0, u = 0;
	char summary[STORE_SUMMARY_MAX];

	for (size_t i = 0; i < DELIVERY_BUCKETS; i++) {
		n += st->rcpt[i];
		f += st->fail[i];
		u += st->unknown[i];
	}
	if (n < d->cfg->bounce_min_recipients)
		return;
	double lb = wilson_lower((double)f, (double)n, d->z);
	if (lb < d->cfg->bounce_threshold) {
		if (st->bounce_flagged) {
			/* Fell back under the threshold: the evidence decays from here. */
			st->bounce_flagged = false;
		}
		return;
	}
	bounce_summary(d, f, n, u, lb, summary);
	st->bounce_flagged = true;
	d->stats.evidence_updates++;
	judge_set_evidence(d->judge, s, d->kind_bounce, lb, f, t, summary);
}

static bool
domain_seen(struct dstat *st, uint32_t h)
{
	for (uint32_t i = 0; i < st->dom_count; i++)
		if (st->dom_hashes[i] == h)
			return true;
	return false;
}

static void
domains_rule(struct delivery *d, struct subject *s, struct dstat *st, struct strview rcpt, usec_t t)
{
	const char *at = rcpt.len ? memchr(rcpt.ptr, '@', rcpt.len) : NULL;
	int64_t no = t / d->cfg->domains_window;
	char summary[STORE_SUMMARY_MAX], win[32];

	if (at == NULL)
		return;
	if (no != st->dom_window_no) {
		if (st->dom_window_no != INT64_MIN)
			st->dom_baseline = st->dom_baseline == 0 && !st->dom_flagged ? st->dom_count :
			    0.8 * st->dom_baseline + 0.2 * st->dom_count;
		st->dom_window_no = no;
		st->dom_count = 0;
		st->dom_flagged = false;
	}
	size_t dlen = rcpt.len - (size_t)(at + 1 - rcpt.ptr);
	char lower[256];
	if (dlen == 0 || dlen > sizeof(lower))
		return;
	for (size_t i = 0; i < dlen; i++) {
		char c = at[1 + i];
		lower[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	uint32_t h = subjects_hash(lower, dlen);
	if (domain_seen(st, h) || st->dom_count >= DELIVERY_DOMAINS_CAP)
		return;
	if (st->dom_count == st->dom_cap) {
		uint32_t cap = st->dom_cap ? st->dom_cap * 2 : 8;
		uint32_t *grown = realloc(st->dom_hashes, cap * sizeof(*grown));
		if (grown == NULL)
			return;
		st->dom_hashes = grown;
		st->dom_cap = cap;
	}
	st->dom_hashes[st->dom_count++] = h;
	double usual = st->dom_baseline > 1 ? st->dom_baseline : 1;
	if (!st->dom_flagged && st->dom_count >= d->cfg->domains_min &&
	    st->dom_count >= d->cfg->domains_factor * usual) {
		st->dom_flagged = true;
		duration_format(d->cfg->domains_window, win, sizeof(win));
		snprintf(summary, sizeof(summary),
		    "mail to %u different recipient domains within %s; this %s usually mails %.0f",
		    st->dom_count, win, subject_field(s), st->dom_baseline);
		d->stats.evidence_updates++;
		judge_add_evidence(d->judge, s, d->kind_domains, 1, 1, t, summary);
	}
}

/*
 * The blocklist named by Postfix's own reject_rbl_client / reject_rhsbl_* /
 * postscreen text, "... blocked using zen.spamhaus.org; ...", outside any <...>
 * (a recipient or sender address, which its sender chose). Copies at most size - 1
 * bytes of [A-Za-z0-9._-] into buf; returns their count, 0 when there is none.
 */
static size_t
spam_blocklist(struct strview reply, char *buf, size_t size)
{
	static const char using[] = "blocked using ";
	const char *p = reply.ptr, *end = reply.ptr + reply.len;
	size_t n = 0;

	while (p < end) {
		if (*p == '<') {
			const char *gt = memchr(p, '>', (size_t)(end - p));

			if (gt == NULL)
				return 0;
			p = gt + 1;
			continue;
		}
		if ((size_t)(end - p) > sizeof(using) - 1 && memcmp(p, using, sizeof(using) - 1) == 0)
			break;
		p++;
	}
	if (p == end)
		return 0;
	for (p += sizeof(using) - 1; p < end && n + 1 < size; p++) {
		unsigned char c = (unsigned char)*p;

		if (!((unsigned)(c | 0x20) - 'a' < 26u || (unsigned)c - '0' < 10u || c == '.' ||
		    c == '-' || c == '_'))
			break;
		buf[n++] = (char)c;
	}
	while (n > 0 && buf[n - 1] == '.')
		n--;
	buf[n] = '\0';
	return n;
}

/* At most 64 bytes of a name from the log, as subject text, into buf. */
static const char *
spam_name(struct strview name, char *buf, size_t size)
{
	subject_text_encode(buf, size, name.ptr, name.len < 64 ? name.len : 64);
	return buf;
}

/*
 * Who refused l as spam, for a summary; never empty. A remote server by the host
 * name of relay= ("mx.example.org", its address where the name is empty). This
 * relay itself for its own rejects (they have no relay=), by what refused: "this
 * relay (blocklist zen.spamhaus.org)", "this relay (header_checks)", "this relay
 * (milter)". A local delivery agent by its transport ("this relay (transport
 * dovecot)"); relay=none is this relay too. A delivery line without relay=, which
 * Postfix does not write, names "an unnamed server". Names from the log are written
 * as subject text (common/subject_text.h), at most 64 of their bytes: a relay's name
 * need not be UTF-8 and may hold control bytes, and a summary reaches the API's and
 * analyze's JSON, terminals and Postfix's reply text, which take neither.
 */
static void
spam_refuser(const struct maillog_line *l, char *buf, size_t size)
{
	struct strview r = l->relay;
	const char *lb = r.len ? memchr(r.ptr, '[', r.len) : NULL;
	char list[64], text[SUBJECT_TEXT_SIZE(64)];

	if (lb != NULL) {
		struct strview name = { r.ptr, (size_t)(lb - r.ptr) };

		if (name.len == 0) {
			const char *rb = memchr(lb, ']', (size_t)(r.ptr + r.len - lb));

			name.ptr = lb + 1;
			name.len = rb != NULL ? (size_t)(rb - name.ptr) : 0;
		}
		if (name.len > 0)
			snprintf(buf, size, "%s", spam_name(name, text, sizeof(text)));
		else
			snprintf(buf, size, "a remote server (relay=%s)", spam_name(r, text, sizeof(text)));
	} else if (r.len > 0 && !strview_eq(r, "none"))
		snprintf(buf, size, "this relay (transport %s)", spam_name(r, text, sizeof(text)));
	else if (strview_eq(l->action, "milter-reject"))
		snprintf(buf, size, "this relay (milter)");
	else if (strview_eq(l->reject_stage, "header") || strview_eq(l->reject_stage, "body"))
		snprintf(buf, size, "this relay (%.*s_checks)", (int)l->reject_stage.len, l->reject_stage.ptr);
	else if (l->action.len > 0 && spam_blocklist(l->reply, list, sizeof(list)) > 0)
		snprintf(buf, size, "this relay (blocklist %s)", list);
	else if (l->action.len > 0 || r.len > 0)
		snprintf(buf, size, "this relay");
	else
		snprintf(buf, size, "an unnamed server");
}

static void
spam_rule(struct delivery *d, struct subject *s, const struct maillog_line *l, usec_t t)
{
	const struct evidence_item *e = judge_evidence(s, d->kind_spam);
	char summary[STORE_SUMMARY_MAX], since[40], who[SUBJECT_TEXT_SIZE(64) + 32];
	uint64_t n = (e ? e->count : 0) + 1;

	spam_refuser(l, who, sizeof(who));
	time_format(e ? e->first_seen : t, since, sizeof(since));
	snprintf(summary, sizeof(summary), "%llu message%s refused as spam since %s; last by %s",
	    (unsigned long long)n, n == 1 ? "" : "s", since, who);
	d->stats.evidence_updates++;
	judge_add_evidence(d->judge, s, d->kind_spam, 1, 1, t, summary);
}

/*
 * Notes x (a network or an address) seen at t in an account's list of them: entries not
 * seen within window are dropped first, and when the list holds cap entries the least
 * recently seen goes. Returns the number kept, x included (x may be left out, and the
 * list as it was, only when memory runs out).
 */
static uint16_t
seen_note(struct net_seen **list, uint16_t *count, uint16_t *cap, uint16_t max, const struct addr *x,
    usec_t t, usec_t window)
{
	struct net_seen *l = *list;
	size_t i, live = 0;
	bool found = false;

	for (i = 0; i < *count; i++) {
		struct net_seen *n = &l[i];
		if (n->last + window < t)
			continue;
		if (n->net.family == x->family && memcmp(n->net.bytes, x->bytes, 16) == 0) {
			n->last = t;
			found = true;
		}
		l[live++] = *n;
	}
	*count = (uint16_t)live;
	if (found)
		return *count;
	if (*count == max) {
		/* forget the least recently seen */
		size_t old = 0;
		for (i = 1; i < *count; i++)
			if (l[i].last < l[old].last)
				old = i;
		l[old] = l[--*count];
	}
	if (*count == *cap) {
		uint16_t grown_cap = *cap ? (uint16_t)(*cap * 2 < max ? *cap * 2 : max) : 4;
		struct net_seen *grown = realloc(l, grown_cap * sizeof(*grown));
		if (grown == NULL)
			return *count;
		*list = l = grown;
		*cap = grown_cap;
	}
	l[(*count)++] = (struct net_seen){ *x, t };
	return *count;
}

/*
 * Appends ", A, B ... and N more" to summary (offset off, size size): the entries of
 * list, newest first, as many as fit with room for the end; prefix > 0 writes them as
 * networks A/prefix (prefix6 for IPv6).
 */
static void
seen_list_format(char *summary, size_t size, int off, const struct net_seen *list, size_t count,
    unsigned prefix4, unsigned prefix6)
{
	size_t shown = 0;

	for (size_t i = count; i-- > 0 && off > 0 && (size_t)off < size - 64;) {
		char text[ADDR_TEXT_MAX];
		unsigned prefix = list[i].net.family == AF_INET ? prefix4 : prefix6;
		struct cidr c = { list[i].net, prefix };

		off += snprintf(summary + off, size - (size_t)off, "%s %s", shown ? "," : "",
		    prefix > 0 ? cidr_format(&c, text, sizeof(text)) : addr_format(&list[i].net, text, sizeof(text)));
		shown++;
	}
	if (shown < count && off > 0 && (size_t)off < size)
		snprintf(summary + off, size - (size_t)off, " and %zu more", count - shown);
}

static void
networks_rule(struct delivery *d, struct subject *s, struct dstat *st, const struct addr *a, usec_t t)
{
	struct addr net = *a;
	char summary[STORE_SUMMARY_MAX], win[32];

	addr_mask(&net, a->family == AF_INET ? d->cfg->account_prefix_v4 : d->cfg->account_prefix_v6);
	seen_note(&st->nets, &st->net_count, &st->net_cap, DELIVERY_NETS_CAP, &net, t, d->cfg->account_window);
	if (st->net_count <= d->cfg->account_networks)
		st->nets_reported = 0;         /* back to normal: a later incident is new */
	if (st->net_count <= d->cfg->account_networks || st->net_count == st->nets_reported)
		return;
	st->nets_reported = st->net_count;

	duration_format(d->cfg->account_window, win, sizeof(win));
	int off = snprintf(summary, sizeof(summary), "used from %u client networks within %s:", st->net_count, win);
	seen_list_format(summary, sizeof(summary), off, st->nets, st->net_count, d->cfg->account_prefix_v4,
	    d->cfg->account_prefix_v6);
	d->stats.evidence_updates++;
	judge_set_evidence(d->judge, s, d->kind_networks,
	    (double)st->net_count / (double)d->cfg->account_networks, st->net_count, t, summary);
}

/* The account's name for a summary: subject text, at most 64 of its bytes. */
static const char *
account_label(const struct subject *s, char *buf, size_t size)
{
	size_t n = s->key_len > SUBJECT_ACCOUNT_PREFIX_LEN ? s->key_len - SUBJECT_ACCOUNT_PREFIX_LEN : 0;

	subject_text_encode(buf, size, s->key + SUBJECT_ACCOUNT_PREFIX_LEN, n < 64 ? n : 64);
	return buf;
}

/*
 * account_addresses: distinct client addresses over account_window, the published
 * threshold ("more than 20 addresses in 24 h"). Where account_networks counts /24s, this
 * sees a credential used from a dozen addresses of one provider's network.
 */
static void
addresses_rule(struct delivery *d, struct subject *s, struct dstat *st, const struct addr *a, usec_t t)
{
	char summary[STORE_SUMMARY_MAX], win[32], name[SUBJECT_TEXT_SIZE(64)];

	seen_note(&st->addrs, &st->addr_count, &st->addr_cap, DELIVERY_ADDRS_CAP, a, t, d->cfg->account_window);
	if (st->addr_count <= d->cfg->account_addresses)
		st->addrs_reported = 0;
	if (st->addr_count <= d->cfg->account_addresses || st->addr_count == st->addrs_reported)
		return;
	st->addrs_reported = st->addr_count;

	duration_format(d->cfg->account_window, win, sizeof(win));
	int off = snprintf(summary, sizeof(summary), "account %s was used from %u different addresses within %s:",
	    account_label(s, name, sizeof(name)), st->addr_count, win);
	seen_list_format(summary, sizeof(summary), off, st->addrs, st->addr_count, 0, 0);
	d->stats.evidence_updates++;
	judge_set_evidence(d->judge, s, d->kind_addresses,
	    (double)st->addr_count / (double)d->cfg->account_addresses, st->addr_count, t, summary);
}

/* --- account_sessions: smtpd sessions open at once ------------------------------------ */

static bool
same_addr(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/*
 * An smtpd session's id: the logging host and program, hashed, and the PID, which one
 * smtpd process keeps for one connection at a time. Two relays' smtpds with the same
 * PID differ by host; a hash collision between two of them is not worth a key.
 */
static uint64_t
session_id(const struct maillog_line *l)
{
	char buf[512];
	size_t hl = l->host.len < 255 ? l->host.len : 255, pl = l->program.len < 255 ? l->program.len : 255;

	memcpy(buf, l->host.ptr, hl);
	buf[hl] = '\0';
	memcpy(buf + hl + 1, l->program.ptr, pl);
	return (uint64_t)subjects_hash(buf, hl + 1 + pl) << 32 | l->pid;
}

static struct session **
session_slot(struct session_table *t, uint64_t id)
{
	struct session **pp = &t->buckets[(id ^ id >> 32) & t->mask];

	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->chain;
	return pp;
}

/* Removes session id from st's open sessions; clears the report under the threshold. */
static void
sess_drop(struct delivery *d, struct dstat *st, uint64_t id)
{
	for (uint16_t i = 0; i < st->sess_count; i++)
		if (st->sess[i].id == id) {
			st->sess[i] = st->sess[--st->sess_count];
			break;
		}
	uint32_t distinct = 0;
	for (uint16_t i = 0; i < st->sess_count; i++) {
		uint16_t k;
		for (k = 0; k < i; k++)
			if (same_addr(&st->sess[k].addr, &st->sess[i].addr))
				break;
		distinct += k == i;
	}
	if (distinct < d->cfg->account_sessions)
		st->sess_reported = 0;
}

/* The session id ended (its disconnect, or a new connect on the same smtpd): forgotten. */
static void
session_end(struct delivery *d, uint64_t id)
{
	struct session **pp = session_slot(&d->sessions, id), *x = *pp;

	if (x == NULL)
		return;
	struct dstat *st = dstat_find_key(&d->stats_by_subject, x->acct, x->acct_len, x->acct_hash);
	if (st != NULL)
		sess_drop(d, st, id);
	*pp = x->chain;
	d->sessions.count--;
	free(x);
}

static void
session_rehash(struct session_table *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct session **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		for (struct session *x = t->buckets[i], *n; x != NULL; x = n) {
			n = x->chain;
			x->chain = nb[(x->id ^ x->id >> 32) & nmask];
			nb[(x->id ^ x->id >> 32) & nmask] = x;
		}
	free(t->buckets);
	t->buckets = nb;
	t->mask = nmask;
}

/*
 * Opens session id at t (its "connect from"), not yet tied to an account; then, with
 * key (an account subject's key, hash h, len > 0), tied to it. Returns the entry, or
 * NULL when it cannot (DELIVERY_SESSIONS_MAX open, no memory): the session is not counted.
 */
static struct session *
session_add(struct delivery *d, const char *key, uint16_t len, uint32_t h, uint64_t id, usec_t t)
{
	struct session_table *tab = &d->sessions;
	struct session *x;

	if (tab->count >= DELIVERY_SESSIONS_MAX || (x = calloc(1, sizeof(*x) + len + 1)) == NULL)
		return NULL;
	x->id = id;
	x->since = t;
	x->acct_hash = h;
	x->acct_len = len;
	if (len > 0)
		memcpy(x->acct, key, len);
	if (tab->count >= tab->mask + 1)
		session_rehash(tab);
	struct session **pp = &tab->buckets[(id ^ id >> 32) & tab->mask];
	x->chain = *pp;
	*pp = x;
	tab->count++;
	return x;
}

/* Ties the session in *pp, opened without an account, to account subject s; false when it cannot. */
static bool
session_authenticated(struct session **pp, const struct subject *s)
{
	struct session *x = realloc(*pp, sizeof(**pp) + s->key_len + 1);

	if (x == NULL)
		return false;
	*pp = x;                           /* the chain's link to it */
	x->acct_hash = s->hash;
	x->acct_len = s->key_len;
	memcpy(x->acct, s->key, s->key_len);
	return true;
}

/*
 * account_sessions: a client= line of smtpd session id says account s is logged in
 * from a there. Counts the different addresses among s's sessions open now and turns
 * account_sessions or more of them into evidence: one person does not log in from
 * three places at the same minute; a stolen password shared among bots does. Only a
 * session whose "connect from" was read counts: without it (a log with the session
 * lines filtered out, or cut) there is no telling when it began or ended, and each of
 * a day's logins one after the other would look open at once.
 */
static void
sessions_rule(struct delivery *d, struct subject *s, struct dstat *st, uint64_t id, const struct addr *a,
    usec_t t)
{
	struct session **pp = session_slot(&d->sessions, id);
	char summary[STORE_SUMMARY_MAX], name[SUBJECT_TEXT_SIZE(64)];

	if (*pp == NULL)
		return;                        /* its connect was not seen */
	if ((*pp)->acct_len == 0 && !session_authenticated(pp, s))
		return;
	if ((*pp)->acct_len != s->key_len || memcmp((*pp)->acct, s->key, s->key_len) != 0)
		return;                        /* one AUTH per session: the first account's */
	usec_t since = (*pp)->since;       /* pp is not used past here: ending sessions moves links */
	/* sessions whose end was never logged stop counting */
	for (uint16_t i = 0; i < st->sess_count;) {
		uint64_t old = st->sess[i].id;

		if (st->sess[i].since + DELIVERY_SESSION_MAX_AGE >= t) {
			i++;
			continue;
		}
		session_end(d, old);
		sess_drop(d, st, old);         /* also when its id serves another account now */
		i = 0;
	}
	uint16_t i;
	for (i = 0; i < st->sess_count && st->sess[i].id != id; i++)
		;
	if (i == st->sess_count) {
		if (st->sess_count == DELIVERY_SESSIONS_CAP)
			return;                /* enough to tell: the cap is above any threshold */
		if (st->sess_count == st->sess_cap) {
			uint16_t cap = st->sess_cap ? (uint16_t)(st->sess_cap * 2) : 4;
			struct sess_open *grown = realloc(st->sess, cap * sizeof(*grown));
			if (grown == NULL)
				return;
			st->sess = grown;
			st->sess_cap = cap;
		}
		st->sess[st->sess_count++] = (struct sess_open){ id, *a, since };
	}
	/* the different addresses, newest first */
	struct net_seen seen[DELIVERY_SESSIONS_CAP];
	size_t distinct = 0;
	for (size_t k = st->sess_count; k-- > 0;) {
		size_t m;
		for (m = 0; m < distinct && !same_addr(&seen[m].net, &st->sess[k].addr); m++)
			;
		if (m == distinct)
			seen[distinct++] = (struct net_seen){ st->sess[k].addr, st->sess[k].since };
	}
	if (distinct < d->cfg->account_sessions) {
		st->sess_reported = 0;
		return;
	}
	if (distinct <= st->sess_reported)
		return;
	st->sess_reported = (uint32_t)distinct;
	/* seen_list_format lists from the end: newest last */
	for (size_t k = 0; k < distinct / 2; k++) {
		struct net_seen x = seen[k];
		seen[k] = seen[distinct - 1 - k];
		seen[distinct - 1 - k] = x;
	}
	int off = snprintf(summary, sizeof(summary),
	    "account %s was logged in from %zu different addresses at once (%u sessions open):",
	    account_label(s, name, sizeof(name)), distinct, st->sess_count);
	seen_list_format(summary, sizeof(summary), off, seen, distinct, 0, 0);
	d->stats.evidence_updates++;
	judge_set_evidence(d->judge, s, d->kind_sessions, (double)distinct / (double)d->cfg->account_sessions,
	    distinct, t, summary);
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

	if (s == NULL || (st = dstat_get(d, s)) == NULL)
		return;
	st->last_seen = t;
	bounce_advance(d, st, t);
	size_t i = (size_t)(st->bucket_no % DELIVERY_BUCKETS);
	st->rcpt[i]++;
	if (outcome_permanent(l->outcome))
		st->fail[i]++;
	if (l->outcome == MAILLOG_OUTCOME_UNKNOWN_RECIPIENT)
		st->unknown[i]++;
	bounce_rule(d, s, st, t);
	domains_rule(d, s, st, l->to, t);
	if (l->outcome == MAILLOG_OUTCOME_SPAM_REJECTED)
		spam_rule(d, s, l, t);
}

/* The outcome in l for whoever opened its queue ID, host and account; unattributed when
 * nobody did that we know of. */
static void
outcome_of_queue_id(struct delivery *d, const struct maillog_line *l, usec_t t)
{
	struct qid_entry *e = qid_lookup(d, l);

	if (e == NULL) {
		d->stats.unattributed++;
		return;
	}
	d->stats.outcomes[l->outcome]++;
	if (e->has_addr)
		outcome(d, judge_host(d->judge, &e->addr, t), l, t);
	if (e->account_len > 0)
		outcome(d, judge_account(d->judge, e->data + e->key_len, e->account_len, t), l, t);
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
	const char *texts[] = { d->cfg->reject_text, d->cfg->defer_text, d->cfg->ignore_text };
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
			    "maillog: line refused reason=duplicate_field (a field Postfix writes once "
			    "appears twice; not attributed): %.*s", (int)(len < 400 ? len : 400), text);
		return kind;
	}
	d->stats.kinds[kind]++;
	if (l.session != MAILLOG_SESSION_NONE && l.pid != 0 && strview_eq(l.service, "smtpd")) {
		uint64_t id = session_id(&l);

		/* a connect on an smtpd process also ends the session it had, whose end we missed */
		session_end(d, id);
		if (l.session == MAILLOG_SESSION_CONNECT)
			(void)session_add(d, NULL, 0, 0, id, delivery_time(&l.time, now));
		return kind;
	}
	if (kind == MAILLOG_OTHER || kind == MAILLOG_FROM)
		return kind;
	t = delivery_time(&l.time, now);

	switch (kind) {
	case MAILLOG_CLIENT: {
		qid_open(d, &l, t);
		if (l.sasl_username.len > 0) {
			struct addr a;
			struct subject *acct = judge_account(d->judge, l.sasl_username.ptr, l.sasl_username.len, t);
			struct dstat *st;
			/* the relay's own address is not a network the account was used from */
			if (acct != NULL && addr_parse(l.client_addr.ptr, l.client_addr.len, &a) == 0 &&
			    !config_address_ignored(d->cfg, &a) && (st = dstat_get(d, acct)) != NULL) {
				st->last_seen = t;
				networks_rule(d, acct, st, &a, t);
				addresses_rule(d, acct, st, &a, t);
				if (l.pid != 0 && strview_eq(l.service, "smtpd"))
					sessions_rule(d, acct, st, session_id(&l), &a, t);
			}
		}
		break;
	}
	case MAILLOG_REMOVED: {
		struct qid_entry *e = qid_lookup(d, &l);
		if (e != NULL)
			qid_unlink(&d->qids, e);
		break;
	}
	case MAILLOG_DELIVERY: {
		if (l.status != MAILLOG_STATUS_SENT && l.status != MAILLOG_STATUS_BOUNCED &&
		    l.status != MAILLOG_STATUS_EXPIRED)
			break;                 /* deferred: not final, retried later */
		struct strview new_qid;
		if (l.status == MAILLOG_STATUS_SENT && filter_relay(d, l.relay) &&
		    (new_qid = filter_queued_as(l.reply)).len > 0) {
			filter_link(d, &l, new_qid, t);
			break;
		}
		outcome_of_queue_id(d, &l, t);
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
			outcome_of_queue_id(d, &l, t);
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
	d->stats.queue_ids_open = d->qids.count;
	return kind;
}

/* --- saving the rules' state across restarts ------------------------------------------ */

/*
 * The snapshot, little-endian throughout:
 *   "LZDS" u32 version (2; 1 is read too) u64 saved_at u64 bounce bucket width u64 domains_window
 *   u32 subjects, each: u8 is_account u16 key_len key i64 last_seen
 *       i64 bucket_no u16 mask of the buckets with recipients, for each in it
 *       (lowest first) u32 rcpt u32 fail u32 unknown; u8 bounce_flagged
 *       i64 dom_window_no f64 dom_baseline u8 dom_flagged u32 dom_count u32 hash[dom_count]
 *       u32 nets_reported u16 net_count, each: u8 4|6 u8 addr[16] i64 last
 *       (version 2:) u32 addrs_reported u16 addr_count, each: u8 4|6 u8 addr[16] i64 last
 *       u32 sess_reported u16 sess_count, each: u64 session id u8 4|6 u8 addr[16] i64 since
 *   u32 queue IDs, oldest first, each: u16 key_len key u16 account_len account
 *       u8 has_addr [u8 4|6 u8 addr[16]] i64 opened
 * and nothing after. Windows saved under another bucket width or domains_window are
 * not restored (their numbers would mean other times); baselines and the rest are.
 */
#define SNAPSHOT_MAGIC   "LZDS"
#define SNAPSHOT_VERSION 2u

struct snap_out {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

/* Makes room for n more bytes; false (and oom) when there is no memory. */
static bool __attribute__((noinline))
snap_grow(struct snap_out *o, size_t n)
{
	size_t cap = o->cap ? o->cap : 4096;

	if (o->oom)
		return false;
	while (cap - o->len < n)
		cap *= 2;
	uint8_t *grown = realloc(o->p, cap);
	if (grown == NULL) {
		o->oom = true;
		return false;
	}
	o->p = grown;
	o->cap = cap;
	return true;
}

static inline void
snap_put(struct snap_out *o, const void *v, size_t n)
{
	if (o->cap - o->len < n && !snap_grow(o, n))
		return;
	if (n > 0)
		memcpy(o->p + o->len, v, n);
	o->len += n;
}

static inline void
snap_put_u(struct snap_out *o, uint64_t v, size_t bytes)
{
	uint8_t b[8];

	for (size_t i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	snap_put(o, b, bytes);
}

static void
snap_put_addr(struct snap_out *o, const struct addr *a)
{
	snap_put_u(o, a->family == AF_INET6 ? 6 : 4, 1);
	snap_put(o, a->bytes, 16);
}

/* Bit b set when bounce bucket b has recipients: only those are saved (most are empty). */
static unsigned
snap_buckets_used(const struct dstat *st)
{
	unsigned used = 0;

	for (unsigned b = 0; b < DELIVERY_BUCKETS; b++)
		if (st->rcpt[b] != 0 || st->fail[b] != 0 || st->unknown[b] != 0)
			used |= 1u << b;
	return used;
}

/* The bytes delivery_save writes for d: one allocation of the right size. */
static size_t
snap_size(const struct delivery *d)
{
	const struct dstat_table *t = &d->stats_by_subject;
	size_t n = 4 + 4 + 8 + 8 + 8 + 4 + 4;

	for (size_t i = 0; i <= t->mask; i++)
		for (const struct dstat *st = t->buckets[i]; st != NULL; st = st->chain)
			n += 1 + 2 + st->key_len + 8 + 8 + 2 + 3 * 4 * (size_t)__builtin_popcount(snap_buckets_used(st)) +
			    1 + 8 + 8 + 1 + 4 + 4 * (size_t)st->dom_count + 4 + 2 + (1 + 16 + 8) * (size_t)st->net_count +
			    4 + 2 + (1 + 16 + 8) * (size_t)st->addr_count + 4 + 2 + (8 + 1 + 16 + 8) * (size_t)st->sess_count;
	for (const struct qid_entry *e = d->qids.oldest; e != NULL; e = e->newer)
		n += 2 + e->key_len + 2 + e->account_len + 1 + (e->has_addr ? 17 : 0) + 8;
	return n;
}

int
delivery_save(const struct delivery *d, usec_t now, uint8_t **out, size_t *len)
{
	struct snap_out o = { 0 };
	const struct dstat_table *t = &d->stats_by_subject;

	if (!snap_grow(&o, snap_size(d)))
		return -ENOMEM;
	snap_put(&o, SNAPSHOT_MAGIC, 4);
	snap_put_u(&o, SNAPSHOT_VERSION, 4);
	snap_put_u(&o, (uint64_t)now, 8);
	snap_put_u(&o, (uint64_t)(d->cfg->bounce_window / DELIVERY_BUCKETS), 8);
	snap_put_u(&o, (uint64_t)d->cfg->domains_window, 8);
	snap_put_u(&o, t->count, 4);
	for (size_t i = 0; i <= t->mask; i++)
		for (const struct dstat *st = t->buckets[i]; st != NULL; st = st->chain) {
			uint64_t bits;
			snap_put_u(&o, st->is_account, 1);
			snap_put_u(&o, st->key_len, 2);
			snap_put(&o, st->key, st->key_len);
			snap_put_u(&o, (uint64_t)st->last_seen, 8);
			snap_put_u(&o, (uint64_t)st->bucket_no, 8);
			unsigned used = snap_buckets_used(st);
			snap_put_u(&o, used, 2);
			for (unsigned b = 0; b < DELIVERY_BUCKETS; b++)
				if (used & (1u << b)) {
					snap_put_u(&o, st->rcpt[b], 4);
					snap_put_u(&o, st->fail[b], 4);
					snap_put_u(&o, st->unknown[b], 4);
				}
			snap_put_u(&o, st->bounce_flagged, 1);
			snap_put_u(&o, (uint64_t)st->dom_window_no, 8);
			memcpy(&bits, &st->dom_baseline, sizeof(bits));
			snap_put_u(&o, bits, 8);
			snap_put_u(&o, st->dom_flagged, 1);
			snap_put_u(&o, st->dom_count, 4);
			for (uint32_t k = 0; k < st->dom_count; k++)
				snap_put_u(&o, st->dom_hashes[k], 4);
			snap_put_u(&o, st->nets_reported, 4);
			snap_put_u(&o, st->net_count, 2);
			for (uint16_t k = 0; k < st->net_count; k++) {
				snap_put_addr(&o, &st->nets[k].net);
				snap_put_u(&o, (uint64_t)st->nets[k].last, 8);
			}
			snap_put_u(&o, st->addrs_reported, 4);
			snap_put_u(&o, st->addr_count, 2);
			for (uint16_t k = 0; k < st->addr_count; k++) {
				snap_put_addr(&o, &st->addrs[k].net);
				snap_put_u(&o, (uint64_t)st->addrs[k].last, 8);
			}
			snap_put_u(&o, st->sess_reported, 4);
			snap_put_u(&o, st->sess_count, 2);
			for (uint16_t k = 0; k < st->sess_count; k++) {
				snap_put_u(&o, st->sess[k].id, 8);
				snap_put_addr(&o, &st->sess[k].addr);
				snap_put_u(&o, (uint64_t)st->sess[k].since, 8);
			}
		}
	snap_put_u(&o, d->qids.count, 4);
	for (const struct qid_entry *e = d->qids.oldest; e != NULL; e = e->newer) {
		snap_put_u(&o, e->key_len, 2);
		snap_put(&o, e->data, e->key_len);
		snap_put_u(&o, e->account_len, 2);
		snap_put(&o, e->data + e->key_len, e->account_len);
		snap_put_u(&o, e->has_addr, 1);
		if (e->has_addr)
			snap_put_addr(&o, &e->addr);
		snap_put_u(&o, (uint64_t)e->opened, 8);
	}
	if (o.oom) {
		free(o.p);
		return -ENOMEM;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}

/* A reader that turns bad from the first byte it cannot give; then everything reads 0. */
struct snap_in {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static const uint8_t *
snap_take(struct snap_in *in, size_t n)
{
	if (in->bad || in->len - in->off < n) {
		in->bad = true;
		return NULL;
	}
	in->off += n;
	return in->p + in->off - n;
}

static uint64_t
snap_get_u(struct snap_in *in, size_t bytes)
{
	const uint8_t *b = snap_take(in, bytes);
	uint64_t v = 0;

	for (size_t i = 0; b != NULL && i < bytes; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static bool
snap_get_addr(struct snap_in *in, struct addr *a)
{
	uint64_t fam = snap_get_u(in, 1);
	const uint8_t *b = snap_take(in, 16);

	memset(a, 0, sizeof(*a));
	if (b == NULL || (fam != 4 && fam != 6))
		return false;
	a->family = fam == 6 ? AF_INET6 : AF_INET;
	memcpy(a->bytes, b, 16);
	if (fam == 4)
		for (size_t i = 4; i < 16; i++)
			if (b[i] != 0)
				return false;
	return true;
}

/* Times and window numbers: from 0 to far beyond any clock, so that no sum overflows. */
#define SNAPSHOT_TIME_MAX ((int64_t)1 << 60)

static bool
snap_time_ok(usec_t t)
{
	return t >= 0 && t <= SNAPSHOT_TIME_MAX;
}

/* A window number, or INT64_MIN for "none yet". */
static bool
snap_number_ok(int64_t n)
{
	return n == INT64_MIN || (n >= 0 && n <= SNAPSHOT_TIME_MAX);
}

/*
 * One pass over a snapshot: checks every field, and with apply also builds the state.
 * Returns 0, -EINVAL at the first thing that is not as delivery_save writes it, or
 * -ENOMEM (apply only).
 */
static int
delivery_restore_pass(struct delivery *d, const uint8_t *buf, size_t len, bool apply)
{
	struct snap_in in = { .p = buf, .len = len };
	const uint8_t *magic = snap_take(&in, 4);

	uint64_t version = magic != NULL ? snap_get_u(&in, 4) : 0;

	if (magic == NULL || memcmp(magic, SNAPSHOT_MAGIC, 4) != 0 || version < 1 || version > SNAPSHOT_VERSION)
		return -EINVAL;
	(void)snap_get_u(&in, 8);       /* saved_at: for a reader of the bytes */
	bool same_buckets = snap_get_u(&in, 8) == (uint64_t)(d->cfg->bounce_window / DELIVERY_BUCKETS);
	bool same_domains = snap_get_u(&in, 8) == (uint64_t)d->cfg->domains_window;
	uint64_t nstats = snap_get_u(&in, 4);

	for (uint64_t n = 0; n < nstats && !in.bad; n++) {
		struct dstat tmp;
		uint64_t is_account = snap_get_u(&in, 1), klen = snap_get_u(&in, 2), bits;
		const char *key = (const char *)snap_take(&in, klen);

		memset(&tmp, 0, sizeof(tmp));
		if (in.bad || is_account > 1 || klen == 0 || klen >= STORE_SUBJECT_MAX ||
		    memchr(key, '\0', klen) != NULL ||
		    (is_account != 0) != subject_key_is_account(key, klen))
			return -EINVAL;
		tmp.last_seen = (usec_t)snap_get_u(&in, 8);
		tmp.bucket_no = (int64_t)snap_get_u(&in, 8);
		uint64_t used = snap_get_u(&in, 2);
		if (used >> DELIVERY_BUCKETS != 0)
			return -EINVAL;
		for (unsigned b = 0; b < DELIVERY_BUCKETS; b++)
			if (used & (1u << b)) {
				tmp.rcpt[b] = (uint32_t)snap_get_u(&in, 4);
				tmp.fail[b] = (uint32_t)snap_get_u(&in, 4);
				tmp.unknown[b] = (uint32_t)snap_get_u(&in, 4);
				if (tmp.rcpt[b] == 0 && tmp.fail[b] == 0 && tmp.unknown[b] == 0)
					return -EINVAL;      /* not how delivery_save writes an empty bucket */
			}
		uint64_t bflag = snap_get_u(&in, 1);
		tmp.dom_window_no = (int64_t)snap_get_u(&in, 8);
		bits = snap_get_u(&in, 8);
		memcpy(&tmp.dom_baseline, &bits, sizeof(bits));
		uint64_t dflag = snap_get_u(&in, 1), dcount = snap_get_u(&in, 4);
		if (in.bad || bflag > 1 || dflag > 1 || dcount > DELIVERY_DOMAINS_CAP ||
		    !isfinite(tmp.dom_baseline) || tmp.dom_baseline < 0)
			return -EINVAL;
		for (size_t b = 0; b < DELIVERY_BUCKETS; b++)
			if (tmp.fail[b] > tmp.rcpt[b] || tmp.unknown[b] > tmp.rcpt[b])
				return -EINVAL;
		if (!snap_time_ok(tmp.last_seen) || !snap_number_ok(tmp.bucket_no) || !snap_number_ok(tmp.dom_window_no))
			return -EINVAL;
		const uint8_t *hashes = snap_take(&in, dcount * 4);
		tmp.nets_reported = (uint32_t)snap_get_u(&in, 4);
		uint64_t ncount = snap_get_u(&in, 2);
		if (in.bad || ncount > DELIVERY_NETS_CAP || (ncount > 0 && !is_account))
			return -EINVAL;
		struct net_seen nets[DELIVERY_NETS_CAP];
		for (uint64_t k = 0; k < ncount; k++) {
			if (!snap_get_addr(&in, &nets[k].net))
				return -EINVAL;
			nets[k].last = (usec_t)snap_get_u(&in, 8);
			if (!snap_time_ok(nets[k].last))
				return -EINVAL;
		}
		uint64_t acount = 0, scount = 0;
		struct net_seen addrs[DELIVERY_ADDRS_CAP];
		struct sess_open sess[DELIVERY_SESSIONS_CAP];
		if (version >= 2) {
			tmp.addrs_reported = (uint32_t)snap_get_u(&in, 4);
			acount = snap_get_u(&in, 2);
			if (in.bad || acount > DELIVERY_ADDRS_CAP || (acount > 0 && !is_account))
				return -EINVAL;
			for (uint64_t k = 0; k < acount; k++) {
				if (!snap_get_addr(&in, &addrs[k].net))
					return -EINVAL;
				addrs[k].last = (usec_t)snap_get_u(&in, 8);
				if (!snap_time_ok(addrs[k].last))
					return -EINVAL;
			}
			tmp.sess_reported = (uint32_t)snap_get_u(&in, 4);
			scount = snap_get_u(&in, 2);
			if (in.bad || scount > DELIVERY_SESSIONS_CAP || (scount > 0 && !is_account))
				return -EINVAL;
			for (uint64_t k = 0; k < scount; k++) {
				sess[k].id = snap_get_u(&in, 8);
				if (!snap_get_addr(&in, &sess[k].addr))
					return -EINVAL;
				sess[k].since = (usec_t)snap_get_u(&in, 8);
				if (!snap_time_ok(sess[k].since))
					return -EINVAL;
			}
		}
		if (in.bad)
			return -EINVAL;
		uint32_t h = subjects_hash(key, klen);
		if (dstat_find_key(&d->stats_by_subject, key, klen, h) != NULL)
			return -EINVAL;        /* twice in one snapshot, or a delivery already in use */
		if (!apply)
			continue;

		struct dstat *st = calloc(1, sizeof(*st) + klen + 1);
		if (st == NULL)
			return -ENOMEM;
		*st = tmp;
		st->hash = h;
		st->key_len = (uint16_t)klen;
		st->is_account = is_account != 0;
		st->bounce_flagged = bflag != 0;
		st->dom_flagged = dflag != 0;
		memcpy(st->key, key, klen);
		if (!same_buckets) {
			st->bucket_no = INT64_MIN;
			memset(st->rcpt, 0, sizeof(st->rcpt));
			memset(st->fail, 0, sizeof(st->fail));
			memset(st->unknown, 0, sizeof(st->unknown));
			st->bounce_flagged = false;
		}
		if (!same_domains) {
			st->dom_window_no = INT64_MIN;
			dcount = 0;
			st->dom_flagged = false;
		}
		if (dcount > 0) {
			st->dom_cap = (uint32_t)dcount;
			if ((st->dom_hashes = malloc(dcount * sizeof(*st->dom_hashes))) == NULL) {
				free(st);
				return -ENOMEM;
			}
			for (uint64_t k = 0; k < dcount; k++)
				st->dom_hashes[k] = (uint32_t)hashes[4 * k] | (uint32_t)hashes[4 * k + 1] << 8 |
				    (uint32_t)hashes[4 * k + 2] << 16 | (uint32_t)hashes[4 * k + 3] << 24;
		}
		st->dom_count = (uint32_t)dcount;
		if (ncount > 0) {
			if ((st->nets = malloc(ncount * sizeof(*st->nets))) == NULL) {
				dstat_free(st);
				return -ENOMEM;
			}
			memcpy(st->nets, nets, ncount * sizeof(*st->nets));
			st->net_cap = st->net_count = (uint16_t)ncount;
		}
		if (acount > 0) {
			if ((st->addrs = malloc(acount * sizeof(*st->addrs))) == NULL) {
				dstat_free(st);
				return -ENOMEM;
			}
			memcpy(st->addrs, addrs, acount * sizeof(*st->addrs));
			st->addr_cap = st->addr_count = (uint16_t)acount;
		}
		if (scount > 0) {
			if ((st->sess = malloc(scount * sizeof(*st->sess))) == NULL) {
				dstat_free(st);
				return -ENOMEM;
			}
			memcpy(st->sess, sess, scount * sizeof(*st->sess));
			st->sess_cap = st->sess_count = (uint16_t)scount;
			/* each session's disconnect finds its account again; an id that two
			 * accounts claim is the first's (the other's entry ages out) */
			for (uint64_t k = 0; k < scount; k++)
				if (*session_slot(&d->sessions, sess[k].id) == NULL &&
				    session_add(d, st->key, st->key_len, h, sess[k].id, sess[k].since) == NULL)
					return -ENOMEM;
		}
		struct dstat_table *t = &d->stats_by_subject;
		st->chain = t->buckets[h & t->mask];
		t->buckets[h & t->mask] = st;
		t->count++;
		if (t->count > t->mask + 1)
			dstat_rehash(t);
	}

	uint64_t nqids = in.bad ? 0 : snap_get_u(&in, 4);
	for (uint64_t n = 0; n < nqids && !in.bad; n++) {
		uint64_t klen = snap_get_u(&in, 2);
		const char *key = (const char *)snap_take(&in, klen);
		uint64_t alen = snap_get_u(&in, 2);
		const char *account = (const char *)snap_take(&in, alen);
		uint64_t has_addr = snap_get_u(&in, 1);
		struct addr a;
		memset(&a, 0, sizeof(a));
		if (in.bad || klen == 0 || klen > 511 || alen > 255 || has_addr > 1 ||
		    memchr(key, ' ', klen) == NULL || (has_addr && !snap_get_addr(&in, &a)))
			return -EINVAL;
		usec_t opened = (usec_t)snap_get_u(&in, 8);
		if (in.bad || !snap_time_ok(opened))
			return -EINVAL;
		if (apply && qid_insert(d, key, klen, account, alen, has_addr ? &a : NULL, opened) == NULL)
			return -ENOMEM;
	}
	if (in.bad || in.off != in.len)
		return -EINVAL;
	return 0;
}

/* Empties the rules' state and the open queue IDs. */
static void
delivery_clear(struct delivery *d)
{
	while (d->qids.oldest != NULL)
		qid_unlink(&d->qids, d->qids.oldest);
	struct dstat_table *t = &d->stats_by_subject;
	for (size_t i = 0; i <= t->mask; i++) {
		for (struct dstat *s = t->buckets[i], *n; s != NULL; s = n) {
			n = s->chain;
			dstat_free(s);
		}
		t->buckets[i] = NULL;
	}
	t->count = 0;
	for (size_t i = 0; i <= d->sessions.mask; i++) {
		for (struct session *x = d->sessions.buckets[i], *n; x != NULL; x = n) {
			n = x->chain;
			free(x);
		}
		d->sessions.buckets[i] = NULL;
	}
	d->sessions.count = 0;
}

int
delivery_restore(struct delivery *d, const uint8_t *buf, size_t len)
{
	int rc;

	if (d->stats_by_subject.count > 0 || d->qids.count > 0 || d->sessions.count > 0)
		return -EBUSY;
	/* check it all first; a subject twice is only seen while applying: undo then */
	if ((rc = delivery_restore_pass(d, buf, len, false)) == 0 &&
	    (rc = delivery_restore_pass(d, buf, len, true)) != 0)
		delivery_clear(d);
	d->stats.queue_ids_open = d->qids.count;
	return rc;
}
