/*
 * store_outbox.c — the changes this node owes the shared store (store.h, "The outbox").
 *
 * The outbox is a table of the node's local SQLite store: a verdict goes into it in the
 * transaction that records the verdict, so it is on this node's disk before PostgreSQL is
 * even asked, and stays there until PostgreSQL has it. AUTOINCREMENT keeps node_seq from
 * ever being given twice (a deleted row's number stays used), which is what makes a push
 * idempotent: PostgreSQL keeps one row per (node, node_seq) however often it is sent.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "store/store.h"
#include "store/store_int.h"

/*
 * Which rows are pushed: outbox_pushes, a row per push (upto: the highest node_seq it
 * covered; at: when), not a mark on each row. A row is pushed once a push covers it
 * (node_seq <= max(upto)), at the time of the first push that did; it goes STORE_OUTBOX_KEEP
 * after that. Marking every row cost an UPDATE of each and the upkeep of two indexes on
 * them (8 b-tree operations a row, 2 now); the pushes' rows are a few per second at most. A
 * store of an earlier version (its rows marked in `pushed`, which stays, always 0 now) is
 * converted at open, a push row per marked row; an earlier version opening this store again
 * takes its rows as not pushed and marks them at its next connect (the shared store has
 * them).
 */
const char store_outbox_schema[] =
	"CREATE TABLE IF NOT EXISTS outbox ("
	" node_seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" pushed INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE IF NOT EXISTS outbox_pushes ("
	" upto INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL"
	");"
	"CREATE INDEX IF NOT EXISTS outbox_pushes_at ON outbox_pushes (at);"
	"INSERT OR IGNORE INTO outbox_pushes (upto, at) SELECT node_seq, pushed FROM outbox WHERE pushed != 0;"
	"UPDATE outbox SET pushed = 0 WHERE pushed != 0;"
	"DROP INDEX IF EXISTS outbox_unpushed;"
	"DROP INDEX IF EXISTS outbox_pushed;";

int
store_outbox_insert(struct store *st, usec_t at, const char *kind, const char *subject, size_t subject_len,
    const char *body, size_t body_len)
{
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_INSERT,
	    "INSERT INTO outbox (at, kind, subject, body) VALUES (?1, ?2, ?3, ?4)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, at);
	sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, subject, (int)subject_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, body, (int)body_len, SQLITE_STATIC);
	return store_step(s);
}

int
store_outbox_read(struct store *st, int64_t after, size_t max,
    int (*each)(void *arg, const struct store_outbox_row *r), void *arg)
{
	sqlite3 *db = store_reader(st);
	sqlite3_stmt *s = NULL;
	int rc, n = 0;

	if (store_read_fault(st))
		return -EIO;
	if ((rc = sqlite3_prepare_v2(db, "SELECT node_seq, at, kind, subject, body FROM outbox"
	    " WHERE node_seq > ?1 ORDER BY node_seq LIMIT ?2", -1, &s, NULL)) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_outbox_row r = {
			.node_seq = sqlite3_column_int64(s, 0),
			.at = sqlite3_column_int64(s, 1),
			.kind = (const char *)sqlite3_column_text(s, 2),
			.subject = (const char *)sqlite3_column_text(s, 3),
			.body = (const char *)sqlite3_column_text(s, 4),
		};
		if (r.kind == NULL || r.subject == NULL || r.body == NULL)
			continue;
		n++;
		if (each(arg, &r) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	return n;
fail:
	log_warnx("store: cannot read the outbox: %s", sqlite3_errmsg(db));
	rc = store_errno(rc);
	sqlite3_finalize(s);
	return rc != 0 ? rc : -EIO;
}

struct pushed_ctx {
	int64_t upto;
	usec_t now;
};

static int
write_pushed(struct store *st, const void *ctx)
{
	const struct pushed_ctx *c = ctx;
	sqlite3_stmt *s;
	int rc;

	/* a push of rows pushed before (after a failover) does not make them younger */
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_PUSHED,
	    "INSERT OR IGNORE INTO outbox_pushes (upto, at) VALUES (?1, ?2)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, c->upto);
	sqlite3_bind_int64(s, 2, c->now);
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
	/* kept a while: a standby promoted without the last commits gets them again */
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_TRIM, "DELETE FROM outbox WHERE node_seq <= "
	    "(SELECT coalesce(max(upto), 0) FROM outbox_pushes WHERE at < ?1)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, c->now - STORE_OUTBOX_KEEP);
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
	/* the pushes whose rows went, but the newest (the rows pushed so far) */
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_PUSHES_TRIM, "DELETE FROM outbox_pushes WHERE at < ?1 "
	    "AND upto < (SELECT max(upto) FROM outbox_pushes)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, c->now - STORE_OUTBOX_KEEP);
	return store_step(s);
}

int
store_outbox_pushed(struct store *st, int64_t upto, usec_t now)
{
	struct pushed_ctx c = { upto, now };

	if (st == NULL)
		return -EINVAL;
	return store_enqueue_write(st, write_pushed, &c, sizeof(c), NULL, NULL);
}

int
store_outbox_count(struct store *st, int64_t *pending, int64_t *last)
{
	sqlite3 *db = store_reader(st);
	sqlite3_stmt *s = NULL;
	int rc;

	*pending = *last = 0;
	if (store_read_fault(st))
		return -EIO;
	if ((rc = sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM outbox WHERE node_seq >"
	    " (SELECT coalesce(max(upto), 0) FROM outbox_pushes)),"
	    " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)", -1, &s, NULL)) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		goto fail;
	*pending = sqlite3_column_int64(s, 0);
	*last = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	return 0;
fail:
	log_warnx("store: cannot count the outbox: %s", sqlite3_errmsg(db));
	rc = store_errno(rc);
	sqlite3_finalize(s);
	return rc != 0 ? rc : -EIO;
}

static int
write_renumber(struct store *st, const void *ctx)
{
	const int64_t *floor = ctx;
	sqlite3_stmt *s;
	int rc;

	/* in two steps, so that no row's new number meets another's old one. Rows already
	 * pushed (kept a while for a failover) keep theirs: the shared store has them under
	 * those numbers, and moved above floor they would be pushed again as new changes,
	 * every node applying old verdicts a second time, after newer ones. */
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_NEG, "UPDATE outbox SET node_seq = -node_seq"
	    " WHERE node_seq <= ?1 AND node_seq > (SELECT coalesce(max(upto), 0) FROM outbox_pushes)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, *floor);
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_NEG + 1, "UPDATE outbox SET node_seq = ?1 - node_seq"
	    " WHERE node_seq < 0")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, *floor);
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
	/* sqlite_sequence has the table's row once a row was ever inserted */
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_SEQ, "INSERT INTO sqlite_sequence (name, seq)"
	    " SELECT 'outbox', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox')")) == NULL)
		return SQLITE_ERROR;
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
	if ((s = store_writer_stmt(st, STORE_SLOT_OUTBOX_SEQ + 1, "UPDATE sqlite_sequence SET seq ="
	    " max(seq, ?1, coalesce((SELECT max(node_seq) FROM outbox), 0)) WHERE name = 'outbox'")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, *floor);
	return store_step(s);
}

int
store_outbox_renumber(struct store *st, int64_t floor)
{
	int64_t pending, last;
	int rc;

	if (st == NULL || floor < 0)
		return -EINVAL;
	if ((rc = store_enqueue_write(st, write_renumber, &floor, sizeof(floor), NULL, NULL)) != 0)
		return rc;
	store_flush(st);
	if ((rc = store_outbox_count(st, &pending, &last)) != 0)
		return rc;
	return last >= floor ? 0 : -EIO;
}
