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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
	"CREATE TABLE IF NOT EXISTS address_lengths ("
	" family INTEGER NOT NULL,"
	" plen INTEGER NOT NULL,"
	" PRIMARY KEY (family, plen)"
	") WITHOUT ROWID;";

/* the writer's statement slots (store_writer_stmt) */
enum { SLOT_CLOSE_ANY, SLOT_INSERT, SLOT_LENGTH, SLOT_CLOSE_HOLDER, SLOT_EXPIRE, SLOT_HISTORY };

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

static int
write_open(struct store *st, const void *ctx)
{
	const struct store_binding *b = ctx;
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
	if ((rc = store_step(s)) != SQLITE_OK)
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
	    b->subscriber_len >= sizeof(b->subscriber))
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
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, SLOT_CLOSE_HOLDER, "UPDATE address_history SET stop = ?1"
	    " WHERE net = ?2 AND plen = ?3 AND stop IS NULL AND subscriber = ?4")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, c->stop);
	sqlite3_bind_blob(s, 2, c->net.addr.bytes, net_len(&c->net), SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)c->net.prefix);
	sqlite3_bind_blob(s, 4, c->subscriber, (int)c->subscriber_len, SQLITE_STATIC);
	return store_step(s);
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

/* Runs q (bound) over its rows into each(); damaged rows are logged and skipped. */
static int
each_row(sqlite3_stmt *q, const char *what, int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	struct store_binding *b;
	int rc, ret = 0;

	if ((b = malloc(sizeof(*b))) == NULL)
		return -ENOMEM;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (!row_binding(q, b)) {
			log_warnx("store: %s: a damaged address history row skipped", what);
			continue;
		}
		if ((ret = each(arg, b)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		log_warnx("store: %s: %s", what, sqlite3_errmsg(sqlite3_db_handle(q)));
		ret = store_errno(rc);
		if (ret == 0)
			ret = -EIO;
	}
	free(b);
	return ret;
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

int
store_bindings_load_open(struct store *st, int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = prepare_read(st, "SELECT " ROW_COLUMNS " FROM address_history WHERE stop IS NULL", &q,
	    "open address bindings")) != 0)
		return rc;
	rc = each_row(q, "open address bindings", each, arg);
	sqlite3_finalize(q);
	return rc;
}

struct first {
	struct store_binding *out;
	bool found;
};

static int
take_first(void *arg, const struct store_binding *b)
{
	struct first *f = arg;

	*f->out = *b;
	f->found = true;
	return 1;
}

int
store_binding_at(struct store *st, const struct cidr *net, usec_t at, struct store_binding *out)
{
	struct first f = { out, false };
	sqlite3_stmt *q = NULL;
	int rc;

	if (!net_valid(net))
		return -EINVAL;
	/* the newest interval that began at or before `at`: it covers `at` unless it ended before */
	if ((rc = prepare_read(st, "SELECT " ROW_COLUMNS " FROM address_history WHERE net = ?1 AND plen = ?2"
	    " AND start <= ?3 ORDER BY start DESC, id DESC LIMIT 1", &q, "address lookup")) != 0)
		return rc;
	sqlite3_bind_blob(q, 1, net->addr.bytes, net_len(net), SQLITE_STATIC);
	sqlite3_bind_int(q, 2, (int)net->prefix);
	sqlite3_bind_int64(q, 3, at);
	rc = each_row(q, "address lookup", take_first, &f);
	sqlite3_finalize(q);
	if (rc < 0)
		return rc;
	if (!f.found || (out->stop != 0 && out->stop <= at))
		return 0;
	return 1;
}

int
store_binding_history(struct store *st, const struct cidr *net, size_t limit,
    int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (!net_valid(net))
		return -EINVAL;
	if ((rc = prepare_read(st, "SELECT " ROW_COLUMNS " FROM address_history WHERE net = ?1 AND plen = ?2"
	    " ORDER BY start DESC, id DESC LIMIT ?3", &q, "address history")) != 0)
		return rc;
	sqlite3_bind_blob(q, 1, net->addr.bytes, net_len(net), SQLITE_STATIC);
	sqlite3_bind_int(q, 2, (int)net->prefix);
	sqlite3_bind_int64(q, 3, limit > INT32_MAX ? INT32_MAX : (sqlite3_int64)limit);
	rc = each_row(q, "address history", each, arg);
	sqlite3_finalize(q);
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
