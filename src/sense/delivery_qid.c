/*
 * delivery_qid.c — the delivery sensor's open queue IDs: who submitted each message,
 * followed through after-queue content filters (see delivery.h).
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

/* --- open queue IDs ---------------------------------------------------------------- */

void
delivery_qid_unlink(struct qid_table *t, struct qid_entry *e)
{
	htable_del(&t->table, &e->node);
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	free(e);
}

static struct qid_entry *
qid_find(const struct qid_table *t, const char *key, size_t len, uint32_t h)
{
	for (struct htable_node *n = htable_first(&t->table, h); n != NULL; n = htable_next(n, h)) {
		struct qid_entry *e = htable_entry(n, struct qid_entry, node);
		if (e->key_len == len && memcmp(e->data, key, len) == 0)
			return e;
	}
	return NULL;
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
struct qid_entry *
delivery_qid_insert(struct delivery *d, const char *key, size_t klen, const char *account, size_t alen,
    const struct addr *a, usec_t t)
{
	struct qid_table *q = &d->qids;
	struct qid_entry *e;
	uint32_t h = subjects_hash(key, klen);

	if ((e = qid_find(q, key, klen, h)) != NULL)
		delivery_qid_unlink(q, e);          /* a reused ID: the newer line wins */
	while (q->table.count >= d->cfg->maillog.max_queue_ids && q->oldest != NULL) {
		delivery_qid_unlink(q, q->oldest);
		d->stats.queue_ids_evicted++;
	}
	if ((e = malloc(sizeof(*e) + klen + alen)) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->node.hash = h;
	e->key_len = (uint16_t)klen;
	e->account_len = (uint16_t)alen;
	e->opened = t;
	memcpy(e->data, key, klen);
	if (alen > 0)
		memcpy(e->data + klen, account, alen);
	e->has_addr = a != NULL;
	if (a != NULL)
		e->addr = *a;
	htable_add(&q->table, &e->node);
	e->older = q->newest;
	if (q->newest)
		q->newest->newer = e;
	else
		q->oldest = e;
	q->newest = e;
	return e;
}

/* Loopback (127.0.0.0/8, ::1) or an address in [judge] ignore: this relay's own. */
bool
delivery_address_own(const struct delivery *d, const struct addr *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	if (a->family == AF_INET && a->bytes[0] == 127)
		return true;
	if (a->family == AF_INET6 && memcmp(a->bytes, v6_loopback, 16) == 0)
		return true;
	return config_address_ignored(d->cfg, a);
}

/* Remembers *a, the relay's own client that opened a queue ID a content filter's link
 * names: that filter's re-injections come from it (the oldest forgotten past a few). */
static void
reinjector_learn(struct delivery *d, const struct addr *a)
{
	if (delivery_reinjector(d, a))
		return;
	d->reinjectors[d->reinjector_next] = *a;
	d->reinjector_next = (d->reinjector_next + 1) % DELIVERY_REINJECTORS;
	if (d->reinjector_count < DELIVERY_REINJECTORS)
		d->reinjector_count++;
}

/*
 * Does a content filter re-inject from *a? Those seen doing it, and before any was seen
 * the usual ones: 127.0.0.1 and ::1 (amavis's and Postfix's defaults). An outcome of a
 * queue ID one of them opened may be the filter's, logged before its link (held_add).
 */
bool
delivery_reinjector(const struct delivery *d, const struct addr *a)
{
	static const uint8_t v4[4] = { 127, 0, 0, 1 }, v6[16] = { [15] = 1 };

	if ((a->family == AF_INET && memcmp(a->bytes, v4, 4) == 0) ||
	    (a->family == AF_INET6 && memcmp(a->bytes, v6, 16) == 0))
		return true;
	for (size_t i = 0; i < d->reinjector_count; i++)
		if (addr_equal(&d->reinjectors[i], a))
			return true;
	return false;
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
	if (n != NULL && !n->linked && n->has_addr && delivery_address_own(d, &n->addr))
		reinjector_learn(d, &n->addr);    /* the filter's own client= came first */
	if ((n = delivery_qid_insert(d, key, klen, account, alen, has_addr ? &a : NULL, t)) != NULL) {
		n->linked = true;
		if (!again)
			d->stats.filter_links++;
		/* outcomes logged before this link waited for it */
		if (d->held_count > 0)
			delivery_held_release_key(d, key, klen);
	}
}

void
delivery_qid_open(struct delivery *d, const struct maillog_line *l, usec_t t)
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
	if (l->orig_queue_id.len > 0 && has_addr && delivery_address_own(d, &a)) {
		char okey[512];
		size_t olen = l->host.len + 1 + l->orig_queue_id.len;
		struct qid_entry *from;
		if (olen <= sizeof(okey)) {
			memcpy(okey, l->host.ptr, l->host.len);
			okey[l->host.len] = ' ';
			memcpy(okey + l->host.len + 1, l->orig_queue_id.ptr, l->orig_queue_id.len);
			if ((from = qid_find(&d->qids, okey, olen, subjects_hash(okey, olen))) != NULL) {
				reinjector_learn(d, &a);
				qid_link(d, l->host, l->queue_id, from, t);
				return;
			}
		}
	}
	/* A message a content filter re-injected already belongs to its first sender; the
	 * filter's own client= (localhost) does not take it back, a real client would. */
	struct qid_entry *e = qid_find(&d->qids, key, klen, subjects_hash(key, klen));
	if (e != NULL && e->linked && (!has_addr || delivery_address_own(d, &a)))
		return;
	delivery_qid_insert(d, key, klen, l->sasl_username.ptr, l->sasl_username.len, has_addr ? &a : NULL, t);
}

struct qid_entry *
delivery_qid_lookup(struct delivery *d, const struct maillog_line *l)
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
bool
delivery_filter_relay(const struct delivery *d, struct strview relay)
{
	const char *lb = memchr(relay.ptr, '[', relay.len), *rb;
	struct addr a;

	if (lb == NULL || (rb = memchr(lb, ']', (size_t)(relay.ptr + relay.len - lb))) == NULL)
		return false;
	return addr_parse(lb + 1, (size_t)(rb - lb - 1), &a) == 0 && delivery_address_own(d, &a);
}

/*
 * The queue ID a filter's reply ends in: "... 250 2.0.0 Ok: queued as 3F2A1B2C3D" (the
 * Postfix smtpd that took the re-injected message, quoted by amavis or by Postfix's own
 * smtp client). The last "queued as " only, and only when a queue ID runs from there to
 * the end: the reply's earlier text is not read. Empty when there is none.
 */
struct strview
delivery_filter_queued_as(struct strview reply)
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
void
delivery_filter_link(struct delivery *d, const struct maillog_line *l, struct strview new_qid, usec_t t)
{
	struct qid_entry *e = delivery_qid_lookup(d, l);

	d->stats.filter_hops++;
	if (e != NULL)
		qid_link(d, l->host, new_qid, e, t);
}

void
delivery_expire(struct delivery *d, usec_t now)
{
	struct qid_table *q = &d->qids;

	delivery_release_held(d, now);

	while (q->oldest != NULL && q->oldest->opened + d->cfg->maillog.queue_id_max_age < now) {
		delivery_qid_unlink(q, q->oldest);
		d->stats.queue_ids_expired++;
	}
	d->stats.queue_ids_open = q->table.count;

	/* Sessions whose end never came: DELIVERY_SESSION_MAX_AGE after they were seen. */
	size_t scur = 0;
	for (struct htable_node *n = htable_iter(&d->sessions, &scur, NULL), *next; n != NULL; n = next) {
		struct session *x = htable_entry(n, struct session, node);
		next = htable_iter(&d->sessions, &scur, n);      /* before x may go */
		if (x->since + DELIVERY_SESSION_MAX_AGE < now)
			delivery_session_end(d, x->id);
	}

	/* Forget rule state nobody needs any more: idle for longer than every window. */
	usec_t keep = d->cfg->maillog.bounce_window;
	if (d->cfg->maillog.domains_window * 8 > keep)
		keep = d->cfg->maillog.domains_window * 8;    /* the baseline spans a few windows */
	if (d->cfg->maillog.account_window > keep)
		keep = d->cfg->maillog.account_window;
	size_t cursor = 0;
	for (struct htable_node *n = htable_iter(&d->stats_by_subject, &cursor, NULL), *next; n != NULL; n = next) {
		struct dstat *st = htable_entry(n, struct dstat, node);
		next = htable_iter(&d->stats_by_subject, &cursor, n);     /* before n goes */
		if (st->last_seen + keep < now) {
			htable_del(&d->stats_by_subject, n);
			delivery_dstat_free(st);
		}
	}
}
