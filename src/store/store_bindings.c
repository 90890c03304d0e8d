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
	" open INTEGER NOT NULL,"
	" family INTEGER NOT NULL,"
	" net BLOB NOT NULL,"
	" plen INTEGER NOT NULL,"
	" subscriber BLOB NOT NULL,"
	" session TEXT NOT NULL,"
	" origin TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" at INTEGER NOT NULL"
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

/* What a queued close carries. */
struct close_ctx {
	struct cidr net;
	usec_t stop;
	size_t subscriber_len;
	char subscriber[STORE_SUBSCRIBER_MAX];
};

/*
 * The journal's filter (store_journal_filter): one bit per hash of a network, set before
 * a journal row of it is committed and all cleared once the journal is empty, so that a
 * lookup of a network whose bit is clear needs no look at the journal, which has no
 * index (a lookup of a network whose bit is set scans it: rare outside a storm).
 */
static uint64_t
journal_filter_hash(const struct cidr *net)
{
	uint8_t key[17] = { 0 };

	memcpy(key, net->addr.bytes, (size_t)net_len(net));
	key[16] = (uint8_t)(net->prefix | (net->addr.family == AF_INET ? 0x80 : 0));
	return hash_bytes(key, sizeof(key)) % STORE_JOURNAL_FILTER_BITS;
}

static void
journal_filter_set(struct store *st, const struct cidr *net)
{
	uint64_t h = journal_filter_hash(net);

	atomic_fetch_or(&store_journal_filter(st)[h / 64], (uint64_t)1 << (h % 64));
}

static bool
journal_filter_test(struct store *st, const struct cidr *net)
{
	uint64_t h = journal_filter_hash(net);

	return (atomic_load(&store_journal_filter(st)[h / 64]) >> (h % 64)) & 1;
}

/* Appends one event to the journal: an open (b's fields, at b->start) or a close. */
static int
journal_append(struct store *st, bool open, const struct cidr *net, const void *subscriber, size_t len,
    const char *session, const char *origin, const char *source, usec_t at)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_writer_stmt(st, SLOT_JOURNAL, "INSERT INTO address_journal (open, family, net, plen,"
	    " subscriber, session, origin, source, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")) == NULL)
		return SQLITE_ERROR;
	journal_filter_set(st, net);
	sqlite3_bind_int(s, 1, open);
	sqlite3_bind_int(s, 2, FAMILY_CODE(net->addr.family));
	sqlite3_bind_blob(s, 3, net->addr.bytes, net_len(net), SQLITE_STATIC);
	sqlite3_bind_int(s, 4, (int)net->prefix);
	sqlite3_bind_blob(s, 5, subscriber, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, session, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, at);
	if ((rc = store_step(s)) == SQLITE_OK)
		store_journal_changed(st, 1);
	return rc;
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

static int
write_open(struct store *st, const void *ctx)
{
	const struct store_binding *b = ctx;
	sqlite3_stmt *s;
	int rc;

	if ((rc = journal_append(st, true, &b->net, b->subscriber, b->subscriber_len, b->session, b->origin,
	    b->source, b->start)) != SQLITE_OK)
		return rc;
	if (!b->new_length)            /* the caller knows the lengths: one statement less per Start */
		return SQLITE_OK;
	if ((s = store_writer_stmt(st, SLOT_LENGTH, "INSERT OR IGNORE INTO address_lengths (family, plen)"
	    " VALUES (?1, ?2)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int(s, 1, FAMILY_CODE(b->net.addr.family));
	sqlite3_bind_int(s, 2, (int)b->net.prefix);
	return store_step(s);
}

int
store_binding_open(struct store *st, const struct store_binding *b, store_done_cb done, void *arg)
{
	struct store_binding copy;

	if (st == NULL || b == NULL || !net_valid(&b->net) || b->subscriber_len == 0 ||
	    b->subscriber_len >= sizeof(b->subscriber) || memchr(b->subscriber, '\0', b->subscriber_len) != NULL)
		return -EINVAL;
	copy = *b;
	copy.session[sizeof(copy.session) - 1] = '\0';
	copy.origin[sizeof(copy.origin) - 1] = '\0';
	copy.source[sizeof(copy.source) - 1] = '\0';
	return store_enqueue_write(st, write_open, &copy, sizeof(copy), done, arg);
}

static int
write_close(struct store *st, const void *ctx)
{
	const struct close_ctx *c = ctx;

	return journal_append(st, false, &c->net, c->subscriber, c->subscriber_len, "", "", "", c->stop);
}

int
store_binding_close(struct store *st, const struct cidr *net, const char *subscriber, size_t len, usec_t stop,
    store_done_cb done, void *arg)
{
	struct close_ctx c;

	if (st == NULL || net == NULL || !net_valid(net) || subscriber == NULL || len == 0 ||
	    len >= sizeof(c.subscriber))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.net = *net;
	c.stop = stop;
	c.subscriber_len = len;
	memcpy(c.subscriber, subscriber, len);
	return store_enqueue_write(st, write_close, &c, sizeof(c), done, arg);
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
/* A journal row in row_binding's columns (its time as the start), then whether it opens
 * and its sequence number. */
#define JOURNAL_COLUMNS "family, net, plen, subscriber, session, origin, source, at, NULL, open, seq"

/* One journal row being folded. */
struct fold_row {
	struct store_binding b;       /* an open's binding, or a close's net and subscriber (b.start: when) */
	bool open;
	bool damaged;
	sqlite3_int64 seq;
};

static int
fold_order(const void *x, const void *y)
{
	const struct fold_row *a = x, *b = y;
	int c;

	if (a->b.net.addr.family != b->b.net.addr.family)
		return a->b.net.addr.family < b->b.net.addr.family ? -1 : 1;
	if ((c = memcmp(a->b.net.addr.bytes, b->b.net.addr.bytes, sizeof(a->b.net.addr.bytes))) != 0)
		return c;
	if (a->b.net.prefix != b->b.net.prefix)
		return a->b.net.prefix < b->b.net.prefix ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * store_bindings_fold — writer thread, inside a transaction: the oldest `max` journal rows
 * are applied to the indexed history and deleted. They are applied sorted by network
 * (each network's events still in their order, which is all that matters: an event
 * touches only its own network's intervals), so neighbouring index pages are written
 * together. Returns the rows folded (>= 0) or -1 with an SQLite code in *rc.
 */
long
store_bindings_fold(struct store *st, size_t max, int *rc)
{
	struct fold_row *rows = NULL;
	sqlite3_stmt *s;
	sqlite3_int64 last = 0;
	size_t n = 0, i;

	*rc = SQLITE_OK;
	if ((rows = malloc(max * sizeof(*rows))) == NULL) {
		*rc = SQLITE_NOMEM;
		return -1;
	}
	if ((s = store_writer_stmt(st, SLOT_FOLD_READ, "SELECT " JOURNAL_COLUMNS " FROM address_journal"
	    " ORDER BY seq LIMIT ?1")) == NULL) {
		*rc = SQLITE_ERROR;
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)max);
	while (n < max && (*rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct fold_row *r = &rows[n++];
		r->damaged = !row_binding(s, &r->b);
		r->open = sqlite3_column_int(s, 9) != 0;
		r->seq = last = sqlite3_column_int64(s, 10);
	}
	sqlite3_reset(s);
	if (*rc != SQLITE_DONE && *rc != SQLITE_ROW)
		goto out;
	*rc = SQLITE_OK;
	qsort(rows, n, sizeof(*rows), fold_order);
	for (i = 0; i < n && *rc == SQLITE_OK; i++) {
		if (rows[i].damaged)
			log_warnx("store: address journal: a damaged row skipped");
		else if (rows[i].open)
			*rc = history_open(st, &rows[i].b);
		else
			*rc = history_close(st, &rows[i].b.net, rows[i].b.subscriber, rows[i].b.subscriber_len,
			    rows[i].b.start);
	}
	if (*rc != SQLITE_OK || n == 0)
		goto out;
	if ((s = store_writer_stmt(st, SLOT_FOLD_DELETE, "DELETE FROM address_journal WHERE seq <= ?1")) == NULL) {
		*rc = SQLITE_ERROR;
		goto out;
	}
	sqlite3_bind_int64(s, 1, last);
	if ((*rc = store_step(s)) == SQLITE_OK)
		store_journal_changed(st, -(long)n);
out:
	free(rows);
	return *rc == SQLITE_OK ? (long)n : -1;
}

/* A write that folds the whole journal (store_bindings_load_open: before reading the open
 * intervals, so that they are the indexed history's alone). */
static int
write_fold_all(struct store *st, const void *ctx)
{
	long n;
	int rc;

	(void)ctx;
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

/*
 * Reads q's rows — (ROW_COLUMNS, part, order, open): the history's rows (part 0, order
 * its id) then the journal's (part 1, order its seq) — into iv, the journal's applied.
 */
static int
intervals_read(sqlite3_stmt *q, const char *what, struct intervals *iv)
{
	struct store_binding b;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		bool journal = sqlite3_column_int(q, 9) != 0;
		sqlite3_int64 order = sqlite3_column_int64(q, 10);
		if (!row_binding(q, &b)) {
			log_warnx("store: %s: a damaged address %s row skipped", what, journal ? "journal" : "history");
			continue;
		}
		if (journal) {
			if (intervals_apply(iv, &b, sqlite3_column_int(q, 11) != 0) != 0)
				return -ENOMEM;
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
	    "SELECT * FROM (SELECT " ROW_COLUMNS ", 0, id, 0 FROM address_history WHERE net = ?1 AND plen = ?2 %s)"
	    " UNION ALL SELECT " ROW_COLUMNS ", 0, id, 0 FROM address_history WHERE net = ?1 AND plen = ?2"
	    " AND stop IS NULL%s ORDER BY 10, 11", rows,
	    journal_filter_test(st, net) ? " UNION ALL SELECT family, net, plen, subscriber, session, origin,"
	    " source, at, NULL, 1, seq, open FROM address_journal WHERE net = ?1 AND plen = ?2" : "");
	if ((rc = prepare_read(st, sql, &q, what)) != 0)
		return rc;
	sqlite3_bind_blob(q, 1, net->addr.bytes, net_len(net), SQLITE_STATIC);
	sqlite3_bind_int(q, 2, (int)net->prefix);
	sqlite3_bind_int64(q, 3, arg3);
	rc = intervals_read(q, what, iv);
	sqlite3_finalize(q);
	return rc;
}

int
store_bindings_load_open(struct store *st, int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	sqlite3_stmt *q = NULL;
	struct store_binding *b;
	int rc, ret = 0;

	/* the journal folded first: the open intervals are then the indexed history's */
	if ((rc = store_enqueue_write(st, write_fold_all, NULL, 0, NULL, NULL)) != 0)
		return rc;
	store_flush(st);
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
