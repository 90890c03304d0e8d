/*
 * delivery_rules.c — what the delivery rules remember of each subject, and the rules:
 * bounce_ratio, recipient_domains, spam_rejected, account_networks, account_addresses,
 * account_sessions (see delivery.h).
 */
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

/* --- per-subject rule state ----------------------------------------------------------- */

/* The rule state for key, whose hash (subjects_hash, as its subject's) is h; or NULL. */
struct dstat *
delivery_dstat_find_key(const struct htable *t, const char *key, size_t len, uint32_t h)
{
	for (struct htable_node *n = htable_first(t, h); n != NULL; n = htable_next(n, h)) {
		struct dstat *st = htable_entry(n, struct dstat, node);
		if (st->key_len == len && memcmp(st->key, key, len) == 0)
			return st;
	}
	return NULL;
}

struct dstat *
delivery_dstat_get(struct delivery *d, const struct subject *s)
{
	struct htable *t = &d->stats_by_subject;
	uint32_t h = s->node.hash;
	struct dstat *st = delivery_dstat_find_key(t, s->key, s->key_len, h);

	if (st != NULL)
		return st;
	if ((st = calloc(1, sizeof(*st) + s->key_len + 1)) == NULL)
		return NULL;
	st->node.hash = h;
	st->key_len = s->key_len;
	st->is_account = s->kind == SUBJECT_ACCOUNT;
	st->bucket_no = INT64_MIN;
	st->dom_window_no = INT64_MIN;
	memcpy(st->key, s->key, s->key_len);
	htable_add(t, &st->node);
	return st;
}


/* Moves the bounce window forward to time t, clearing buckets that fell out of it. */
void
delivery_bounce_advance(struct delivery *d, struct dstat *st, usec_t t)
{
	usec_t width = d->cfg->maillog.bounce_window / DELIVERY_BUCKETS;
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

void
delivery_bounce_rule(struct delivery *d, struct subject *s, struct dstat *st, usec_t t)
{
	uint64_t n = 0, f = 0, u = 0;
	char summary[STORE_SUMMARY_MAX];

	for (size_t i = 0; i < DELIVERY_BUCKETS; i++) {
		n += st->rcpt[i];
		f += st->fail[i];
		u += st->unknown[i];
	}
	if (n < d->cfg->maillog.bounce_min_recipients)
		return;
	double lb = delivery_wilson_lower((double)f, (double)n, d->z);
	if (lb < d->cfg->maillog.bounce_threshold) {
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

void
delivery_domains_rule(struct delivery *d, struct subject *s, struct dstat *st, struct strview rcpt, usec_t t)
{
	const char *at = rcpt.len ? memchr(rcpt.ptr, '@', rcpt.len) : NULL;
	int64_t no = t / d->cfg->maillog.domains_window;
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
	if (!st->dom_flagged && st->dom_count >= d->cfg->maillog.domains_min &&
	    st->dom_count >= d->cfg->maillog.domains_factor * usual) {
		st->dom_flagged = true;
		duration_format(d->cfg->maillog.domains_window, win, sizeof(win));
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

void
delivery_spam_rule(struct delivery *d, struct subject *s, const struct maillog_line *l, usec_t t)
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
    usec_t t, usec_t window, enum delivery_login_source src)
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
			n->sources |= (uint8_t)(1u << src);
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
	l[(*count)++] = (struct net_seen){ *x, t, (uint8_t)(1u << src) };
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

/* Names in summaries, by enum delivery_login_source. */
static const char *const login_source_labels[DELIVERY_LOGIN_SOURCES] = {
	[DELIVERY_LOGIN_SMTP] = "SMTP AUTH",
	[DELIVERY_LOGIN_IMAP] = "IMAP",
	[DELIVERY_LOGIN_POP3] = "POP3",
	[DELIVERY_LOGIN_SUBMISSION] = "Dovecot submission",
	[DELIVERY_LOGIN_SIEVE] = "ManageSieve",
	[DELIVERY_LOGIN_WEBMAIL] = "webmail",
	[DELIVERY_LOGIN_OTHER] = "other Dovecot logins",
};

/*
 * Appends " (logins by IMAP, webmail, SMTP AUTH)" to summary (offset off, size size):
 * where the logins of list came from, the webmail and IMAP ones first (those the relay
 * never sees); nothing when none is known (entries restored from a snapshot).
 */
static int
seen_sources_format(char *summary, size_t size, int off, const struct net_seen *list, size_t count)
{
	static const enum delivery_login_source order[] = { DELIVERY_LOGIN_IMAP, DELIVERY_LOGIN_WEBMAIL,
		DELIVERY_LOGIN_POP3, DELIVERY_LOGIN_SIEVE, DELIVERY_LOGIN_OTHER, DELIVERY_LOGIN_SUBMISSION,
		DELIVERY_LOGIN_SMTP };
	unsigned seen = 0, n = 0;

	for (size_t i = 0; i < count; i++)
		seen |= list[i].sources;
	if (seen == 0 || off < 0 || (size_t)off >= size)
		return off;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && (size_t)off < size; i++)
		if (seen & 1u << order[i])
			off += snprintf(summary + off, size - (size_t)off, "%s%s", n++ ? ", " : " (logins by ",
			    login_source_labels[order[i]]);
	if ((size_t)off < size)
		off += snprintf(summary + off, size - (size_t)off, ")");
	return off;
}

void
delivery_networks_rule(struct delivery *d, struct subject *s, struct dstat *st, const struct addr *a, usec_t t,
    enum delivery_login_source src)
{
	struct addr net = *a;
	char summary[STORE_SUMMARY_MAX], win[32];

	addr_mask(&net, a->family == AF_INET ? d->cfg->maillog.account_prefix_v4 : d->cfg->maillog.account_prefix_v6);
	seen_note(&st->nets, &st->net_count, &st->net_cap, DELIVERY_NETS_CAP, &net, t, d->cfg->maillog.account_window,
	    src);
	if (st->net_count <= d->cfg->maillog.account_networks)
		st->nets_reported = 0;         /* back to normal: a later incident is new */
	if (st->net_count <= d->cfg->maillog.account_networks || st->net_count == st->nets_reported)
		return;
	st->nets_reported = st->net_count;

	duration_format(d->cfg->maillog.account_window, win, sizeof(win));
	int off = snprintf(summary, sizeof(summary), "used from %u client networks within %s", st->net_count, win);
	off = seen_sources_format(summary, sizeof(summary), off, st->nets, st->net_count);
	if (off >= 0 && (size_t)off < sizeof(summary))
		off += snprintf(summary + off, sizeof(summary) - (size_t)off, ":");
	seen_list_format(summary, sizeof(summary), off, st->nets, st->net_count, d->cfg->maillog.account_prefix_v4,
	    d->cfg->maillog.account_prefix_v6);
	d->stats.evidence_updates++;
	judge_set_evidence(d->judge, s, d->kind_networks,
	    (double)st->net_count / (double)d->cfg->maillog.account_networks, st->net_count, t, summary);
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
void
delivery_addresses_rule(struct delivery *d, struct subject *s, struct dstat *st, const struct addr *a, usec_t t,
    enum delivery_login_source src)
{
	char summary[STORE_SUMMARY_MAX], win[32], name[SUBJECT_TEXT_SIZE(64)];

	seen_note(&st->addrs, &st->addr_count, &st->addr_cap, DELIVERY_ADDRS_CAP, a, t, d->cfg->maillog.account_window,
	    src);
	if (st->addr_count <= d->cfg->maillog.account_addresses)
		st->addrs_reported = 0;
	if (st->addr_count <= d->cfg->maillog.account_addresses || st->addr_count == st->addrs_reported)
		return;
	st->addrs_reported = st->addr_count;

	duration_format(d->cfg->maillog.account_window, win, sizeof(win));
	int off = snprintf(summary, sizeof(summary), "account %s was used from %u different addresses within %s:",
	    account_label(s, name, sizeof(name)), st->addr_count, win);
	seen_list_format(summary, sizeof(summary), off, st->addrs, st->addr_count, 0, 0);
	d->stats.evidence_updates++;
	judge_set_evidence(d->judge, s, d->kind_addresses,
	    (double)st->addr_count / (double)d->cfg->maillog.account_addresses, st->addr_count, t, summary);
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
uint64_t
delivery_session_id(const struct maillog_line *l)
{
	char buf[512];
	size_t hl = l->host.len < 255 ? l->host.len : 255, pl = l->program.len < 255 ? l->program.len : 255;

	memcpy(buf, l->host.ptr, hl);
	buf[hl] = '\0';
	memcpy(buf + hl + 1, l->program.ptr, pl);
	return (uint64_t)subjects_hash(buf, hl + 1 + pl) << 32 | l->pid;
}

/* A session's hash: its id is the keyed hash of its relay and smtpd, and the PID. */
static uint32_t
session_hash(uint64_t id)
{
	return (uint32_t)(id ^ id >> 32);
}

/* The open session id, or NULL. */
struct session *
delivery_session_find(const struct htable *t, uint64_t id)
{
	uint32_t h = session_hash(id);

	for (struct htable_node *n = htable_first(t, h); n != NULL; n = htable_next(n, h)) {
		struct session *x = htable_entry(n, struct session, node);
		if (x->id == id)
			return x;
	}
	return NULL;
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
	if (distinct < d->cfg->maillog.account_sessions)
		st->sess_reported = 0;
}

/* The session id ended (its disconnect, or a new connect on the same smtpd): forgotten. */
void
delivery_session_end(struct delivery *d, uint64_t id)
{
	struct session *x = delivery_session_find(&d->sessions, id);

	if (x == NULL)
		return;
	struct dstat *st = delivery_dstat_find_key(&d->stats_by_subject, x->acct, x->acct_len, x->acct_hash);
	if (st != NULL)
		sess_drop(d, st, id);
	htable_del(&d->sessions, &x->node);
	free(x);
}

/*
 * Opens session id at t (its "connect from"), not yet tied to an account; then, with
 * key (an account subject's key, hash h, len > 0), tied to it. Returns the entry, or
 * NULL when it cannot (DELIVERY_SESSIONS_MAX open, no memory): the session is not counted.
 */
struct session *
delivery_session_add(struct delivery *d, const char *key, uint16_t len, uint32_t h, uint64_t id, usec_t t)
{
	struct session *x;

	if (d->sessions.count >= DELIVERY_SESSIONS_MAX || (x = calloc(1, sizeof(*x) + len + 1)) == NULL)
		return NULL;
	x->id = id;
	x->since = t;
	x->acct_hash = h;
	x->acct_len = len;
	if (len > 0)
		memcpy(x->acct, key, len);
	x->node.hash = session_hash(id);
	htable_add(&d->sessions, &x->node);
	return x;
}

/* Ties session *xp, opened without an account, to account subject s (*xp may move); false
 * when it cannot. */
static bool
session_authenticated(struct delivery *d, struct session **xp, const struct subject *s)
{
	struct session *x;

	htable_del(&d->sessions, &(*xp)->node);      /* realloc may move it: its links go first */
	if ((x = realloc(*xp, sizeof(**xp) + s->key_len + 1)) == NULL) {
		htable_add(&d->sessions, &(*xp)->node);
		return false;
	}
	*xp = x;
	htable_add(&d->sessions, &x->node);
	x->acct_hash = s->node.hash;
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
void
delivery_sessions_rule(struct delivery *d, struct subject *s, struct dstat *st, uint64_t id, const struct addr *a,
    usec_t t)
{
	struct session *sn = delivery_session_find(&d->sessions, id);
	char summary[STORE_SUMMARY_MAX], name[SUBJECT_TEXT_SIZE(64)];

	if (sn == NULL)
		return;                        /* its connect was not seen */
	if (sn->acct_len == 0 && !session_authenticated(d, &sn, s))
		return;
	if (sn->acct_len != s->key_len || memcmp(sn->acct, s->key, s->key_len) != 0)
		return;                        /* one AUTH per session: the first account's */
	usec_t since = sn->since;          /* sn is not used past here: ending sessions frees entries */
	/* sessions whose end was never logged stop counting */
	for (uint16_t i = 0; i < st->sess_count;) {
		uint64_t old = st->sess[i].id;

		if (st->sess[i].since + DELIVERY_SESSION_MAX_AGE >= t) {
			i++;
			continue;
		}
		delivery_session_end(d, old);
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
			seen[distinct++] = (struct net_seen){ st->sess[k].addr, st->sess[k].since, 0 };
	}
	if (distinct < d->cfg->maillog.account_sessions) {
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
	judge_set_evidence(d->judge, s, d->kind_sessions, (double)distinct / (double)d->cfg->maillog.account_sessions,
	    distinct, t, summary);
}
