/*
 * store_bindings.c — the address history: who held an address or prefix when
 * (store.h, "The address history").
 *
 * One row per interval. An address is its network bytes (4 or 16) and prefix length;
 * a lookup names the exact network, and the identity layer (ident/ident.h) tries each
 * prefix length ever bound (address_lengths, a handful of rows). The subscriber is kept
 * as a blob: it is whatever bytes a NAS or a lease said, not text we vouch for.
 * Indexes: (net, plen, start) for lookups by time, the open intervals (a partial index)
 * for the start and for closing, and the ended ones by their end for the retention sweep.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"
#include "common/log.h"
#include "store/store.h"
#include "store/store_int.h"

const char store_bindings_schema[] =
	"CREATE TABLE IF NOT EXISTS address_history ("
	" id INTEGER PRIMARY KEY,"
	" family INTEGER NOT NULL,"
	" net BLOB NOT NULL,"
	" plen INTEGER NOT NULL,"
	" subscriber BLOB NOT NULL,"
	" session TEXT NOT NULL,"
	" origin TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" start INTEGER NOT NULL,"
	" stop INTEGER"
	");"
	"CREATE INDEX IF NOT EXISTS address_history_net ON address_history (net, plen, start);"
	"CREATE INDEX IF NOT EXISTS address_history_open ON address_history (net, plen) WHERE stop IS NULL;"
	"CREATE INDEX IF NOT EXISTS address_history_stop ON address_history (stop) WHERE stop IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS address_journal ("
	" seq INTEGER PRIMARY KEY,"
	" events INTEGER NOT NULL,"
	" packed BLOB NOT NULL"
	");"
	"CREATE TABLE IF NOT EXISTS address_lengths ("
	" family INTEGER NOT NULL,"
	" plen INTEGER NOT NULL,"
	" PRIMARY KEY (family, plen)"
	") WITHOUT ROWID;";

/* the writer's statement slots (store_writer_stmt; store_int.h lists each part's) */
enum {
	SLOT_CLOSE_ANY, SLOT_INSERT, SLOT_LENGTH, SLOT_CLOSE_HOLDER, SLOT_EXPIRE, SLOT_HISTORY,
	SLOT_JOURNAL = STORE_SLOT_BINDINGS_JOURNAL, SLOT_FOLD_READ = STORE_SLOT_BINDINGS_FOLD_READ,
	SLOT_FOLD_DELETE = STORE_SLOT_BINDINGS_FOLD_DELETE
};

#define FAMILY_CODE(f) ((f) == AF_INET ? 4 : 6)

static int
net_len(const struct cidr *net)
{
	return net->addr.family == AF_INET ? 4 : 16;
}

static bool
net_valid(const struct cidr *net)
{
	return (net->addr.family == AF_INET && net->prefix <= 32) ||
	    (net->addr.family == AF_INET6 && net->prefix <= 128);
}

/*
 * The journal's filter (struct store_journal): one bit per hash of a network, set before
 * a journal row of it is committed and all cleared once the journal is empty, so that a
 * lookup of a network whose bit is clear needs no look at the journal, which has no
 * index (a lookup of a network whose bit is set scans it: rare outside a storm).
 */
static uint64_t
journal_filter_hash(const struct cidr *net)
{
	return hash_cidr(net) % STORE_JOURNAL_FILTER_BITS;
}

static void
journal_filter_set(struct store *st, const struct cidr *net)
{
	uint64_t h = journal_filter_hash(net);

	atomic_fetch_or(&store_journal(st)->filter[h / 64], (uint64_t)1 << (h % 64));
}

static bool
journal_filter_test(struct store *st, const struct cidr *net)
{
	uint64_t h = journal_filter_hash(net);

	return (atomic_load(&store_journal(st)->filter[h / 64]) >> (h % 64)) & 1;
}

/*
 * A journal row packs the events of one transaction, each:
 *   u8 open (1) or close (0), u8 family (4, 6), u8 prefix length, the network (4 or 16
 *   bytes), u8 length + the subscriber, u8 length + the session, u8 length + the origin,
 *   u8 length + the source, 8 bytes of time (little-endian, microseconds)
 * A close carries empty session, origin and source.
 */
#define EVENT_MAX (3 + 16 + 4 * 256 + 8)

/* Puts text, cut to fit a field of size bytes with its NUL (at most 255 bytes). */
static size_t
event_put_text(uint8_t *p, const void *text, size_t len, size_t size)
{
	if (len > size - 1)
		len = size - 1;
	if (len > 255)
		len = 255;
	p[0] = (uint8_t)len;
	memcpy(p + 1, text, len);
	return 1 + len;
}

/* Encodes an event into p (EVENT_MAX bytes); its length. Any thread. */
static size_t
event_encode(uint8_t *p, bool open, const struct cidr *net, const void *subscriber, size_t len,
    const char *session, const char *origin, const char *source, usec_t at)
{
	size_t n = 0;

	p[n++] = open;
	p[n++] = (uint8_t)FAMILY_CODE(net->addr.family);
	p[n++] = (uint8_t)net->prefix;
	memcpy(p + n, net->addr.bytes, (size_t)net_len(net));
	n += (size_t)net_len(net);
	n += event_put_text(p + n, subscriber, len, STORE_SUBSCRIBER_MAX);
	n += event_put_text(p + n, session, strlen(session), STORE_SESSION_MAX);
	n += event_put_text(p + n, origin, strlen(origin), STORE_ORIGIN_MAX);
	n += event_put_text(p + n, source, strlen(source), sizeof(((struct store_binding *)0)->source));
	uint64_t t = (uint64_t)at;
	for (int i = 0; i < 8; i++)
		p[n++] = (uint8_t)(t >> (8 * i));
	return n;
}

/* Appends an encoded event to the transaction's buffer (written at COMMIT by
 * store_bindings_journal_flush), its network marked in the filter first. */
static int
journal_append(struct store *st, const uint8_t *ev, size_t len)
{
	struct store_journal *j = store_journal(st);
	struct cidr net = { 0 };

	if (j->cap - j->len < len) {
		size_t cap = j->cap != 0 ? j->cap * 2 : 65536;
		uint8_t *p = realloc(j->buf, cap);
		if (p == NULL)
			return SQLITE_NOMEM;
		j->buf = p;
		j->cap = cap;
	}
	net.addr.family = ev[1] == 4 ? AF_INET : AF_INET6;
	net.prefix = ev[2];
	memcpy(net.addr.bytes, ev + 3, (size_t)net_len(&net));
	journal_filter_set(st, &net);
	memcpy(j->buf + j->len, ev, len);
	j->len += len;
	j->buffered++;
	return SQLITE_OK;
}

int
store_bindings_journal_flush(struct store *st)
{
	struct store_journal *j = store_journal(st);
	sqlite3_stmt *s;
	int rc;

	if (j->buffered == 0)
		return SQLITE_OK;
	if ((s = store_writer_stmt(st, SLOT_JOURNAL, "INSERT INTO address_journal (events, packed)"
	    " VALUES (?1, ?2)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, j->buffered);
	sqlite3_bind_blob(s, 2, j->buf, (int)j->len, SQLITE_STATIC);
	if ((rc = store_step(s)) == SQLITE_OK)
		store_journal_changed(st, j->buffered);
	j->len = 0;
	j->buffered = 0;
	return rc;
}

static bool
event_get_text(const uint8_t *p, size_t len, size_t *off, char *dst, size_t size, size_t *out_len)
{
	if (*off >= len || p[*off] >= size || len - *off - 1 < p[*off])
		return false;
	size_t n = p[(*off)++];
	memcpy(dst, p + *off, n);
	dst[n] = '\0';
	*off += n;
	if (out_len != NULL)
		*out_len = n;
	return true;
}

/*
 * The next event of a journal row p[0..len) from *off into b (an open's binding from its
 * time, or a close's network, subscriber and time in b->start) and *open: 1, 0 at the
 * row's end, -1 when the row is damaged (the rest of it is then unreadable).
 */
static int
event_next(const uint8_t *p, size_t len, size_t *off, struct store_binding *b, bool *open)
{
	size_t o = *off, nlen;

	if (o == len)
		return 0;
	memset(b, 0, sizeof(*b));
	if (len - o < 3 || p[o] > 1 || (p[o + 1] != 4 && p[o + 1] != 6))
		return -1;
	*open = p[o] == 1;
	b->net.addr.family = p[o + 1] == 4 ? AF_INET : AF_INET6;
	b->net.prefix = p[o + 2];
	nlen = (size_t)net_len(&b->net);
	o += 3;
	if (!net_valid(&b->net) || len - o < nlen)
		return -1;
	memcpy(b->net.addr.bytes, p + o, nlen);
	o += nlen;
	if (!event_get_text(p, len, &o, b->subscriber, sizeof(b->subscriber), &b->subscriber_len) ||
	    b->subscriber_len == 0 || memchr(b->subscriber, '\0', b->subscriber_len) != NULL ||
	    !event_get_text(p, len, &o, b->session, sizeof(b->session), NULL) ||
	    !event_get_text(p, len, &o, b->origin, sizeof(b->origin), NULL) ||
	    !event_get_text(p, len, &o, b->source, sizeof(b->source), NULL) || len - o < 8)
		return -1;
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t |= (uint64_t)p[o + (size_t)i] << (8 * i);
	b->start = (usec_t)t;
	*off = o + 8;
	return 1;
}

/* The indexed history's side of an open: the address's open interval ends, b's begins. */
static int
history_open(struct store *st, const struct store_binding *b)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_writer_stmt(st, SLOT_CLOSE_ANY, "UPDATE address_history SET stop = ?1"
	    " WHERE net = ?2 AND plen = ?3 AND stop IS NULL")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, b->start);
	sqlite3_bind_blob(s, 2, b->net.addr.bytes, net_len(&b->net), SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)b->net.prefix);
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
	if ((s = store_writer_stmt(st, SLOT_INSERT, "INSERT INTO address_history (family, net, plen,"
	    " subscriber, session, origin, source, start, stop) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int(s, 1, FAMILY_CODE(b->net.addr.family));
	sqlite3_bind_blob(s, 2, b->net.addr.bytes, net_len(&b->net), SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)b->net.prefix);
	sqlite3_bind_blob(s, 4, b->subscriber, (int)b->subscriber_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, b->session, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, b->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, b->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, b->start);
	return store_step(s);
}

/* The indexed history's side of a close: the open interval of net ends, if subscriber's. */
static int
history_close(struct store *st, const struct cidr *net, const void *subscriber, size_t len, usec_t stop)
{
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, SLOT_CLOSE_HOLDER, "UPDATE address_history SET stop = ?1"
	    " WHERE net = ?2 AND plen = ?3 AND stop IS NULL AND subscriber = ?4")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, stop);
	sqlite3_bind_blob(s, 2, net->addr.bytes, net_len(net), SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)net->prefix);
	sqlite3_bind_blob(s, 4, subscriber, (int)len, SQLITE_STATIC);
	return store_step(s);
}

/* A queued open or close: whether the open's prefix length is new, then the event. */
struct event_ctx {
	bool new_length;
	uint16_t len;
	uint8_t event[EVENT_MAX];
};

static int
write_event(struct store *st, const void *ctx)
{
	const struct event_ctx *c = ctx;
	sqlite3_stmt *s;
	int rc;

	if ((rc = journal_append(st, c->event, c->len)) != SQLITE_OK)
		return rc;
	if (!c->new_length)            /* the caller knows the lengths: one statement less per Start */
		return SQLITE_OK;
	if ((s = store_writer_stmt(st, SLOT_LENGTH, "INSERT OR IGNORE INTO address_lengths (family, plen)"
	    " VALUES (?1, ?2)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int(s, 1, c->event[1]);        /* the family's code and the length, as encoded */
	sqlite3_bind_int(s, 2, c->event[2]);
	return store_step(s);
}

/* Queues an encoded event: only its bytes are copied into the write, not a whole binding. */
static int
enqueue_event(struct store *st, bool open, const struct cidr *net, const char *subscriber, size_t len,
    const char *session, const char *origin, const char *source, usec_t at, bool new_length,
    store_done_cb done, void *arg)
{
	struct event_ctx c;
	size_t n;

	if (st == NULL || net == NULL || !net_valid(net) || subscriber == NULL || len == 0 ||
	    len >= STORE_SUBSCRIBER_MAX || memchr(subscriber, '\0', len) != NULL)
		return -EINVAL;
	c.new_length = new_length;
	n = event_encode(c.event, open, net, subscriber, len, session != NULL ? session : "",
	    origin != NULL ? origin : "", source != NULL ? source : "", at);
	c.len = (uint16_t)n;
	return store_enqueue_write(st, write_event, &c, offsetof(struct event_ctx, event) + n, done, arg);
}

int
store_binding_open_event(struct store *st, const struct cidr *net, const char *subscriber, size_t len,
    const char *session, const char *origin, const char *source, usec_t start, bool new_length,
    store_done_cb done, void *arg)
{
	return enqueue_event(st, true, net, subscriber, len, session, origin, source, start, new_length, done, arg);
}

int
store_binding_open(struct store *st, const struct store_binding *b, store_done_cb done, void *arg)
{
	char session[STORE_SESSION_MAX], origin[STORE_ORIGIN_MAX], source[sizeof(b->source)];

	if (b == NULL || b->subscriber_len >= sizeof(b->subscriber))
		return -EINVAL;
	store_copy(session, sizeof(session), b->session, strnlen(b->session, sizeof(b->session)));
	store_copy(origin, sizeof(origin), b->origin, strnlen(b->origin, sizeof(b->origin)));
	store_copy(source, sizeof(source), b->source, strnlen(b->source, sizeof(b->source)));
	return enqueue_event(st, true, &b->net, b->subscriber, b->subscriber_len, session, origin, source, b->start,
	    b->new_length, done, arg);
}

int
store_binding_close(struct store *st, const struct cidr *net, const char *subscriber, size_t len, usec_t stop,
    store_done_cb done, void *arg)
{
	return enqueue_event(st, false, net, subscriber, len, "", "", "", stop, false, done, arg);
}

static int
write_expire(struct store *st, const void *ctx)
{
	const usec_t *before = ctx;
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, SLOT_EXPIRE, "DELETE FROM address_history WHERE id IN (SELECT id"
	    " FROM address_history WHERE stop IS NOT NULL AND stop < ?1 LIMIT 10000)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, *before);
	return store_step(s);
}

int
store_bindings_expire(struct store *st, usec_t before)
{
	if (st == NULL)
		return -EINVAL;
	return store_enqueue_write(st, write_expire, &before, sizeof(before), NULL, NULL);
}

/* Fills b from a row of (family, net, plen, subscriber, session, origin, source, start, stop); false
 * when the row is damaged (a net of the wrong size). */
static bool
row_binding(sqlite3_stmt *q, struct store_binding *b)
{
	int family = sqlite3_column_int(q, 0);
	const void *net = sqlite3_column_blob(q, 1);
	int nlen = sqlite3_column_bytes(q, 1);
	int plen = sqlite3_column_int(q, 2);

	memset(b, 0, sizeof(*b));
	if ((family == 4 && nlen == 4 && plen >= 0 && plen <= 32) ||
	    (family == 6 && nlen == 16 && plen >= 0 && plen <= 128)) {
		b->net.addr.family = family == 4 ? AF_INET : AF_INET6;
		memcpy(b->net.addr.bytes, net, (size_t)nlen);
		b->net.prefix = (unsigned)plen;
	} else
		return false;
	size_t slen = (size_t)sqlite3_column_bytes(q, 3);
	const void *sub = sqlite3_column_blob(q, 3);
	if (slen == 0 || slen >= sizeof(b->subscriber) || sub == NULL || memchr(sub, '\0', slen) != NULL)
		return false;
	memcpy(b->subscriber, sub, slen);
	b->subscriber_len = slen;
	store_copy(b->session, sizeof(b->session), sqlite3_column_text(q, 4), (size_t)sqlite3_column_bytes(q, 4));
	store_copy(b->origin, sizeof(b->origin), sqlite3_column_text(q, 5), (size_t)sqlite3_column_bytes(q, 5));
	store_copy(b->source, sizeof(b->source), sqlite3_column_text(q, 6), (size_t)sqlite3_column_bytes(q, 6));
	b->start = sqlite3_column_int64(q, 7);
	b->stop = sqlite3_column_type(q, 8) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 8);
	return true;
}

#define ROW_COLUMNS "family, net, plen, subscriber, session, origin, source, start, stop"

/* One journal event being folded. */
struct fold_event {
	struct store_binding b;       /* an open's binding, or a close's net and subscriber (b.start: when) */
	bool open;
	size_t order;                 /* its place in the journal */
};

static int
fold_order(const void *x, const void *y)
{
	const struct fold_event *a = x, *b = y;
	int c;

	if (a->b.net.addr.family != b->b.net.addr.family)
		return a->b.net.addr.family < b->b.net.addr.family ? -1 : 1;
	if ((c = memcmp(a->b.net.addr.bytes, b->b.net.addr.bytes, sizeof(a->b.net.addr.bytes))) != 0)
		return c;
	if (a->b.net.prefix != b->b.net.prefix)
		return a->b.net.prefix < b->b.net.prefix ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/*
 * store_bindings_fold — writer thread, inside a transaction: the oldest journal rows, whole,
 * until they hold `max` events, are applied to the indexed history and deleted. The events
 * are applied sorted by network (each network's events still in their order, which is all
 * that matters: an event touches only its own network's intervals), so neighbouring index
 * pages are written together. Returns the rows folded (0: the journal is empty) or -1
 * with an SQLite code in *rc. A damaged row's readable events are folded, the rest logged.
 */
long
store_bindings_fold(struct store *st, size_t max, int *rc)
{
	struct fold_event *ev = NULL, *grown;
	sqlite3_stmt *q, *s;
	sqlite3_int64 last = 0;
	size_t n = 0, cap = 0, i;
	long stated = 0, rows = 0;

	*rc = SQLITE_OK;
	if ((q = store_writer_stmt(st, SLOT_FOLD_READ, "SELECT seq, events, packed FROM address_journal"
	    " ORDER BY seq")) == NULL) {
		*rc = SQLITE_ERROR;
		return -1;
	}
	while (n < max && (*rc = sqlite3_step(q)) == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(q, 2);
		size_t len = (size_t)sqlite3_column_bytes(q, 2), off = 0;
		int got;

		last = sqlite3_column_int64(q, 0);
		stated += (long)sqlite3_column_int64(q, 1);
		rows++;
		for (;;) {
			if (n == cap) {
				cap = cap != 0 ? cap * 2 : 1024;
				if ((grown = realloc(ev, cap * sizeof(*ev))) == NULL) {
					*rc = SQLITE_NOMEM;
					goto out;
				}
				ev = grown;
			}
			if ((got = event_next(p, len, &off, &ev[n].b, &ev[n].open)) <= 0)
				break;
			ev[n].order = n;
			n++;
		}
		if (got < 0)
			log_warnx("store: address journal: row %lld is damaged from byte %zu on: its events from"
			    " there are lost", (long long)last, off);
	}
	if (*rc != SQLITE_DONE && *rc != SQLITE_ROW)
		goto out;
	sqlite3_reset(q);
	*rc = SQLITE_OK;
	if (last == 0)
		goto out;
	qsort(ev, n, sizeof(*ev), fold_order);
	for (i = 0; i < n && *rc == SQLITE_OK; i++) {
		if (ev[i].open)
			*rc = history_open(st, &ev[i].b);
		else
			*rc = history_close(st, &ev[i].b.net, ev[i].b.subscriber, ev[i].b.subscriber_len, ev[i].b.start);
	}
	if (*rc != SQLITE_OK)
		goto out;
	if ((s = store_writer_stmt(st, SLOT_FOLD_DELETE, "DELETE FROM address_journal WHERE seq <= ?1")) == NULL) {
		*rc = SQLITE_ERROR;
		goto out;
	}
	sqlite3_bind_int64(s, 1, last);
	if ((*rc = store_step(s)) == SQLITE_OK)
		store_journal_changed(st, -stated);
out:
	sqlite3_reset(q);
	free(ev);
	return *rc == SQLITE_OK ? rows : -1;
}

/* A write that folds the whole journal (store_bindings_load_open: before reading the open
 * intervals, so that they are the indexed history's alone). */
static int
write_fold_all(struct store *st, const void *ctx)
{
	long n;
	int rc;

	(void)ctx;
	if ((rc = store_bindings_journal_flush(st)) != SQLITE_OK)   /* this transaction's own, first */
		return rc;
	while ((n = store_bindings_fold(st, 4096, &rc)) > 0)
		;
	return n < 0 ? rc : SQLITE_OK;
}

/*
 * An address's intervals as a lookup sees them: the indexed history's rows the lookup
 * asked for, then the journal's events for the address applied on top in their order,
 * the way the fold will apply them. Every interval still open is among the history rows
 * a lookup reads (it asks for them), so every interval an event can end is here.
 */
struct intervals {
	struct store_binding *v;
	size_t n, cap;
	sqlite3_int64 *ids;            /* the history rows' ids (a row asked for twice is kept once) */
};

static struct store_binding *
intervals_add(struct intervals *iv)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap != 0 ? iv->cap * 2 : 8;
		struct store_binding *v = realloc(iv->v, cap * sizeof(*v));
		sqlite3_int64 *ids = realloc(iv->ids, cap * sizeof(*ids));
		if (v != NULL)
			iv->v = v;
		if (ids != NULL)
			iv->ids = ids;
		if (v == NULL || ids == NULL)
			return NULL;
		iv->cap = cap;
	}
	return &iv->v[iv->n++];
}

/* Applies a journal event to the intervals, as history_open/history_close do to the table. */
static int
intervals_apply(struct intervals *iv, const struct store_binding *e, bool open)
{
	for (size_t i = 0; i < iv->n; i++) {
		struct store_binding *b = &iv->v[i];
		if (b->stop != 0)
			continue;
		if (open || (b->subscriber_len == e->subscriber_len &&
		    memcmp(b->subscriber, e->subscriber, e->subscriber_len) == 0))
			b->stop = e->start;
	}
	if (open) {
		struct store_binding *b = intervals_add(iv);
		if (b == NULL)
			return -ENOMEM;
		*b = *e;
		b->stop = 0;
		iv->ids[iv->n - 1] = -1;
	}
	return 0;
}

/* Applies the events of journal row p[0..len) about net to iv. */
static int
intervals_journal(struct intervals *iv, const struct cidr *net, const uint8_t *p, size_t len, const char *what)
{
	struct store_binding e;
	size_t off = 0;
	bool open;
	int got;

	while ((got = event_next(p, len, &off, &e, &open)) > 0)
		if (e.net.addr.family == net->addr.family && e.net.prefix == net->prefix &&
		    memcmp(e.net.addr.bytes, net->addr.bytes, (size_t)net_len(net)) == 0 &&
		    intervals_apply(iv, &e, open) != 0)
			return -ENOMEM;
	if (got < 0)
		log_warnx("store: %s: a damaged address journal row: its events from byte %zu on are not read", what, off);
	return 0;
}

/*
 * Reads q's rows into iv: the history's rows (ROW_COLUMNS, 0, id) then the journal's
 * (nine NULLs, 1, seq, packed), whose events about net are applied on top.
 */
static int
intervals_read(sqlite3_stmt *q, const struct cidr *net, const char *what, struct intervals *iv)
{
	struct store_binding b;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_int64 order = sqlite3_column_int64(q, 10);
		if (sqlite3_column_int(q, 9) != 0) {
			if (intervals_journal(iv, net, sqlite3_column_blob(q, 11), (size_t)sqlite3_column_bytes(q, 11),
			    what) != 0)
				return -ENOMEM;
			continue;
		}
		if (!row_binding(q, &b)) {
			log_warnx("store: %s: a damaged address history row skipped", what);
			continue;
		}
		size_t i;
		for (i = 0; i < iv->n && iv->ids[i] != order; i++)
			;
		if (i < iv->n)
			continue;
		struct store_binding *dst = intervals_add(iv);
		if (dst == NULL)
			return -ENOMEM;
		*dst = b;
		iv->ids[iv->n - 1] = order;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: %s: %s", what, sqlite3_errmsg(sqlite3_db_handle(q)));
		rc = store_errno(rc);
		return rc != 0 ? rc : -EIO;
	}
	return 0;
}

static void
intervals_free(struct intervals *iv)
{
	free(iv->v);
	free(iv->ids);
}

static int
prepare_read(struct store *st, const char *sql, sqlite3_stmt **q, const char *what)
{
	int rc;

	if (store_read_fault(st)) {
		log_warnx("store: %s: injected read fault", what);
		return -EIO;
	}
	if ((rc = sqlite3_prepare_v2(store_reader(st), sql, -1, q, NULL)) != SQLITE_OK) {
		log_warnx("store: %s: %s", what, sqlite3_errmsg(store_reader(st)));
		rc = store_errno(rc);
		return rc != 0 ? rc : -EIO;
	}
	return 0;
}

/*
 * Reads net's intervals into iv: the history's rows `rows` selects (a WHERE on net = ?1
 * AND plen = ?2, with ?3 free for it), its open ones, and the journal's events for net when
 * its filter bit is set — in one statement, so one snapshot: a fold committed between two
 * reads could otherwise hide its rows from both.
 */
static int
intervals_of(struct store *st, const struct cidr *net, const char *rows, sqlite3_int64 arg3,
    struct intervals *iv, const char *what)
{
	char sql[1024];
	sqlite3_stmt *q = NULL;
	int rc;

	snprintf(sql, sizeof(sql),
	    "SELECT * FROM (SELECT " ROW_COLUMNS ", 0, id, NULL FROM address_history WHERE net = ?1 AND plen = ?2 %s)"
	    " UNION ALL SELECT " ROW_COLUMNS ", 0, id, NULL FROM address_history WHERE net = ?1 AND plen = ?2"
	    " AND stop IS NULL%s ORDER BY 10, 11", rows,
	    journal_filter_test(st, net) ? " UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
	    " 1, seq, packed FROM address_journal" : "");
	if ((rc = prepare_read(st, sql, &q, what)) != 0)
		return rc;
	sqlite3_bind_blob(q, 1, net->addr.bytes, net_len(net), SQLITE_STATIC);
	sqlite3_bind_int(q, 2, (int)net->prefix);
	sqlite3_bind_int64(q, 3, arg3);
	rc = intervals_read(q, net, what, iv);
	sqlite3_finalize(q);
	return rc;
}

int
store_bindings_load_open(struct store *st, int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	sqlite3_stmt *q = NULL;
	struct store_binding *b;
	int rc, ret = 0;

	/* the journal folded first: the open intervals are then the indexed history's (a fold
	 * that failed leaves them half in the journal: an error, not a partial answer) */
	if ((rc = store_enqueue_write(st, write_fold_all, NULL, 0, NULL, NULL)) != 0)
		return rc;
	store_flush(st);
	struct store_stats ss;
	store_stats_get(st, &ss);
	if (ss.journal != 0) {
		log_warnx("store: open address bindings: the address journal could not be folded (%" PRIu64
		    " events left)", ss.journal);
		return -EIO;
	}
	if ((rc = prepare_read(st, "SELECT " ROW_COLUMNS " FROM address_history WHERE stop IS NULL", &q,
	    "open address bindings")) != 0)
		return rc;
	if ((b = malloc(sizeof(*b))) == NULL) {
		sqlite3_finalize(q);
		return -ENOMEM;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (!row_binding(q, b)) {
			log_warnx("store: open address bindings: a damaged address history row skipped");
			continue;
		}
		if ((ret = each(arg, b)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_warnx("store: open address bindings: %s", sqlite3_errmsg(store_reader(st)));
		ret = store_errno(rc);
		if (ret == 0)
			ret = -EIO;
	}
	free(b);
	sqlite3_finalize(q);
	return ret;
}

/* The newest interval that began at or before `at` (the latest written among equals). */
static const struct store_binding *
intervals_at(const struct intervals *iv, usec_t at)
{
	const struct store_binding *best = NULL;

	for (size_t i = 0; i < iv->n; i++)
		if (iv->v[i].start <= at && (best == NULL || iv->v[i].start >= best->start))
			best = &iv->v[i];
	return best;
}

int
store_binding_at(struct store *st, const struct cidr *net, usec_t at, struct store_binding *out)
{
	struct intervals iv = { 0 };
	const struct store_binding *b;
	int rc;

	if (!net_valid(net))
		return -EINVAL;
	/* the newest interval that began at or before `at`: it covers `at` unless it ended before */
	rc = intervals_of(st, net, "AND start <= ?3 ORDER BY start DESC, id DESC LIMIT 1", at, &iv, "address lookup");
	if (rc == 0 && (b = intervals_at(&iv, at)) != NULL && (b->stop == 0 || b->stop > at)) {
		*out = *b;
		rc = 1;
	}
	intervals_free(&iv);
	return rc;
}

/* Sorts v[0..n) newest start first, among equal starts the later in v (written later)
 * first, as ORDER BY start DESC, id DESC did: a stable insertion sort of v reversed. */
static void
sort_newest_first(const struct store_binding **v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		const struct store_binding *x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1]->start < x->start; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

int
store_binding_history(struct store *st, const struct cidr *net, size_t limit,
    int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	struct intervals iv = { 0 };
	int rc;

	if (!net_valid(net))
		return -EINVAL;
	rc = intervals_of(st, net, "ORDER BY start DESC, id DESC LIMIT ?3",
	    limit > INT32_MAX ? INT32_MAX : (sqlite3_int64)limit, &iv, "address history");
	if (rc == 0 && iv.n > 0) {
		const struct store_binding **order = malloc(iv.n * sizeof(*order));
		if (order == NULL)
			rc = -ENOMEM;
		for (size_t i = 0; order != NULL && i < iv.n; i++)
			order[i] = &iv.v[iv.n - 1 - i];
		if (order != NULL)
			sort_newest_first(order, iv.n);
		for (size_t i = 0; order != NULL && i < iv.n && i < limit; i++)
			if ((rc = each(arg, order[i])) != 0)
				break;
		free(order);
	}
	intervals_free(&iv);
	return rc < 0 ? rc : 0;
}

int
store_binding_lengths(struct store *st, uint8_t lengths4[33], uint8_t lengths6[129])
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prepare_read(st, "SELECT family, plen FROM address_lengths", &q, "address lengths")) != 0)
		return rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int family = sqlite3_column_int(q, 0), plen = sqlite3_column_int(q, 1);
		if (family == 4 && plen >= 0 && plen <= 32)
			lengths4[plen] = 1;
		else if (family == 6 && plen >= 0 && plen <= 128)
			lengths6[plen] = 1;
	}
	if (rc != SQLITE_DONE) {
		log_warnx("store: address lengths: %s", sqlite3_errmsg(store_reader(st)));
		rc = store_errno(rc);
		sqlite3_finalize(q);
		return rc != 0 ? rc : -EIO;
	}
	sqlite3_finalize(q);
	return 0;
}

static int
write_history(struct store *st, const void *ctx)
{
	const struct store_history *h = ctx;
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, SLOT_HISTORY, "INSERT INTO history (time, subject, old_level, new_level, actor,"
	    " reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, h->time);
	sqlite3_bind_text(s, 2, h->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, h->old_level);
	sqlite3_bind_int(s, 4, h->new_level);
	sqlite3_bind_text(s, 5, h->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, h->reason, -1, SQLITE_STATIC);
	return store_step(s);
}

/* Here rather than in store.c: a write of its own through store_enqueue_write. */
int
store_history_append(struct store *st, const struct store_history *h)
{
	struct store_history copy;

	if (st == NULL || h == NULL || h->subject[0] == '\0')
		return -EINVAL;
	copy = *h;
	copy.subject[sizeof(copy.subject) - 1] = '\0';
	copy.actor[sizeof(copy.actor) - 1] = '\0';
	copy.reason[sizeof(copy.reason) - 1] = '\0';
	return store_enqueue_write(st, write_history, &copy, sizeof(copy), NULL, NULL);
}
