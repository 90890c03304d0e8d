/*
 * delivery_snapshot.c — the delivery rules' state saved for the next start and read back
 * (see delivery_save and delivery_restore in delivery.h).
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

/* --- saving the rules' state across restarts ------------------------------------------ */

/*
 * The snapshot, little-endian throughout:
 *   "LZDS" u32 version (3; 1 and 2 are read too) u64 saved_at u64 bounce bucket width u64 domains_window
 *   u32 subjects, each: u8 is_account u16 key_len key i64 last_seen
 *       i64 bucket_no u16 mask of the buckets with recipients, for each in it
 *       (lowest first) u32 rcpt u32 fail u32 unknown; u8 bounce_flagged
 *       i64 dom_window_no f64 dom_baseline u8 dom_flagged u32 dom_count u32 hash[dom_count]
 *       u32 nets_reported u16 net_count, each: u8 4|6 u8 addr[16] i64 last (version 3:) u8 sources
 *       (version 2:) u32 addrs_reported u16 addr_count, each: u8 4|6 u8 addr[16] i64 last
 *           (version 3:) u8 sources
 *       u32 sess_reported u16 sess_count, each: u64 session id u8 4|6 u8 addr[16] i64 since
 *   u32 queue IDs, oldest first, each: u16 key_len key u16 account_len account
 *       u8 has_addr [u8 4|6 u8 addr[16]] i64 opened
 * and nothing after. Windows saved under another bucket width or domains_window are
 * not restored (their numbers would mean other times); baselines and the rest are.
 * sources: where the logins of a network or address came from (1 << enum
 * delivery_login_source), which account_networks' summary names; 0 from versions 1 and 2.
 */
#define SNAPSHOT_MAGIC   "LZDS"
#define SNAPSHOT_VERSION 3u

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
	size_t n = 4 + 4 + 8 + 8 + 8 + 4 + 4, cursor = 0;

	for (struct htable_node *x = htable_iter(&d->stats_by_subject, &cursor, NULL); x != NULL;
	    x = htable_iter(&d->stats_by_subject, &cursor, x)) {
		const struct dstat *st = htable_entry(x, struct dstat, node);
		n += 1 + 2 + st->key_len + 8 + 8 + 2 + 3 * 4 * (size_t)__builtin_popcount(snap_buckets_used(st)) +
		    1 + 8 + 8 + 1 + 4 + 4 * (size_t)st->dom_count + 4 + 2 + (1 + 16 + 8) * (size_t)st->net_count +
		    4 + 2 + (1 + 16 + 8) * (size_t)st->addr_count + 4 + 2 + (8 + 1 + 16 + 8) * (size_t)st->sess_count;
	}
	for (const struct qid_entry *e = d->qids.oldest; e != NULL; e = e->newer)
		n += 2 + e->key_len + 2 + e->account_len + 1 + (e->has_addr ? 17 : 0) + 8;
	return n;
}

int
delivery_save(const struct delivery *d, usec_t now, uint8_t **out, size_t *len)
{
	struct snap_out o = { 0 };
	const struct htable *t = &d->stats_by_subject;

	if (!snap_grow(&o, snap_size(d)))
		return -ENOMEM;
	snap_put(&o, SNAPSHOT_MAGIC, 4);
	snap_put_u(&o, SNAPSHOT_VERSION, 4);
	snap_put_u(&o, (uint64_t)now, 8);
	snap_put_u(&o, (uint64_t)(d->cfg->maillog.bounce_window / DELIVERY_BUCKETS), 8);
	snap_put_u(&o, (uint64_t)d->cfg->maillog.domains_window, 8);
	snap_put_u(&o, t->count, 4);
	size_t cursor = 0;
	for (struct htable_node *x = htable_iter(t, &cursor, NULL); x != NULL; x = htable_iter(t, &cursor, x)) {
		const struct dstat *st = htable_entry(x, struct dstat, node);
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
			snap_put_u(&o, st->nets[k].sources, 1);
		}
		snap_put_u(&o, st->addrs_reported, 4);
		snap_put_u(&o, st->addr_count, 2);
		for (uint16_t k = 0; k < st->addr_count; k++) {
			snap_put_addr(&o, &st->addrs[k].net);
			snap_put_u(&o, (uint64_t)st->addrs[k].last, 8);
			snap_put_u(&o, st->addrs[k].sources, 1);
		}
		snap_put_u(&o, st->sess_reported, 4);
		snap_put_u(&o, st->sess_count, 2);
		for (uint16_t k = 0; k < st->sess_count; k++) {
			snap_put_u(&o, st->sess[k].id, 8);
			snap_put_addr(&o, &st->sess[k].addr);
			snap_put_u(&o, (uint64_t)st->sess[k].since, 8);
		}
	}
	snap_put_u(&o, d->qids.table.count, 4);
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
/* A network's or address's sources (version 3; none before): false when not such bits. */
static bool
snap_sources(struct snap_in *in, uint64_t version, uint8_t *sources)
{
	uint64_t v = version >= 3 ? snap_get_u(in, 1) : 0;

	*sources = (uint8_t)v;
	return !in->bad && v >> DELIVERY_LOGIN_SOURCES == 0;
}

static int
delivery_restore_pass(struct delivery *d, const uint8_t *buf, size_t len, bool apply)
{
	struct snap_in in = { .p = buf, .len = len };
	const uint8_t *magic = snap_take(&in, 4);

	uint64_t version = magic != NULL ? snap_get_u(&in, 4) : 0;

	if (magic == NULL || memcmp(magic, SNAPSHOT_MAGIC, 4) != 0 || version < 1 || version > SNAPSHOT_VERSION)
		return -EINVAL;
	(void)snap_get_u(&in, 8);       /* saved_at: for a reader of the bytes */
	bool same_buckets = snap_get_u(&in, 8) == (uint64_t)(d->cfg->maillog.bounce_window / DELIVERY_BUCKETS);
	bool same_domains = snap_get_u(&in, 8) == (uint64_t)d->cfg->maillog.domains_window;
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
			if (!snap_sources(&in, version, &nets[k].sources) || !snap_time_ok(nets[k].last))
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
				if (!snap_sources(&in, version, &addrs[k].sources))
					return -EINVAL;
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
		if (delivery_dstat_find_key(&d->stats_by_subject, key, klen, h) != NULL)
			return -EINVAL;        /* twice in one snapshot, or a delivery already in use */
		if (!apply)
			continue;

		struct dstat *st = calloc(1, sizeof(*st) + klen + 1);
		if (st == NULL)
			return -ENOMEM;
		*st = tmp;
		st->node.hash = h;
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
				delivery_dstat_free(st);
				return -ENOMEM;
			}
			memcpy(st->nets, nets, ncount * sizeof(*st->nets));
			st->net_cap = st->net_count = (uint16_t)ncount;
		}
		if (acount > 0) {
			if ((st->addrs = malloc(acount * sizeof(*st->addrs))) == NULL) {
				delivery_dstat_free(st);
				return -ENOMEM;
			}
			memcpy(st->addrs, addrs, acount * sizeof(*st->addrs));
			st->addr_cap = st->addr_count = (uint16_t)acount;
		}
		if (scount > 0) {
			if ((st->sess = malloc(scount * sizeof(*st->sess))) == NULL) {
				delivery_dstat_free(st);
				return -ENOMEM;
			}
			memcpy(st->sess, sess, scount * sizeof(*st->sess));
			st->sess_cap = st->sess_count = (uint16_t)scount;
			/* each session's disconnect finds its account again; an id that two
			 * accounts claim is the first's (the other's entry ages out) */
			for (uint64_t k = 0; k < scount; k++)
				if (delivery_session_find(&d->sessions, sess[k].id) == NULL &&
				    delivery_session_add(d, st->key, st->key_len, h, sess[k].id, sess[k].since) == NULL)
					return -ENOMEM;
		}
		htable_add(&d->stats_by_subject, &st->node);
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
		if (apply && delivery_qid_insert(d, key, klen, account, alen, has_addr ? &a : NULL, opened) == NULL)
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
		delivery_qid_unlink(&d->qids, d->qids.oldest);
	size_t cursor = 0;
	for (struct htable_node *n = htable_iter(&d->stats_by_subject, &cursor, NULL), *next; n != NULL; n = next) {
		next = htable_iter(&d->stats_by_subject, &cursor, n);
		delivery_dstat_free(htable_entry(n, struct dstat, node));
	}
	htable_clear(&d->stats_by_subject);
	cursor = 0;
	for (struct htable_node *n = htable_iter(&d->sessions, &cursor, NULL), *next; n != NULL; n = next) {
		next = htable_iter(&d->sessions, &cursor, n);
		free(htable_entry(n, struct session, node));
	}
	htable_clear(&d->sessions);
}

int
delivery_restore(struct delivery *d, const uint8_t *buf, size_t len)
{
	int rc;

	if (d->stats_by_subject.count > 0 || d->qids.table.count > 0 || d->sessions.count > 0)
		return -EBUSY;
	/* check it all first; a subject twice is only seen while applying: undo then */
	if ((rc = delivery_restore_pass(d, buf, len, false)) == 0 &&
	    (rc = delivery_restore_pass(d, buf, len, true)) != 0)
		delivery_clear(d);
	d->stats.queue_ids_open = d->qids.table.count;
	return rc;
}
