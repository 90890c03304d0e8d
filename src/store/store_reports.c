/*
 * store_reports.c — what the report pipeline remembers across restarts (store.h, "The
 * reports' memory"): the keys of the reports and files it has read, each with when, so
 * that the same report delivered again, or a file dropped twice, counts once.
 *
 * A key is a digest the pipeline makes (a file's SHA-256, a report id's); its bytes
 * are all the table holds. Rows older than the dedup window are deleted in batches.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "store/store.h"
#include "store/store_int.h"

const char store_reports_schema[] =
	"CREATE TABLE IF NOT EXISTS report_seen ("
	" key BLOB PRIMARY KEY,"
	" at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS report_seen_at ON report_seen (at);";

struct remember_ctx {
	usec_t at;
	size_t len;
	uint8_t key[STORE_REPORT_KEY_MAX];
};

static int
write_remember(struct store *st, const void *ctx)
{
	const struct remember_ctx *c = ctx;
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, STORE_SLOT_REPORT_REMEMBER,
	    "INSERT OR REPLACE INTO report_seen (key, at) VALUES (?1, ?2)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_blob(s, 1, c->key, (int)c->len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, c->at);
	return store_step(s);
}

int
store_report_remember(struct store *st, const void *key, size_t len, usec_t at)
{
	struct remember_ctx c = { .at = at, .len = len };

	if (st == NULL || key == NULL || len == 0 || len > sizeof(c.key))
		return -EINVAL;
	memcpy(c.key, key, len);
	return store_enqueue_write(st, write_remember, &c, sizeof(c), NULL, NULL);
}

static int
write_forget(struct store *st, const void *ctx)
{
	const usec_t *before = ctx;
	sqlite3_stmt *s;

	if ((s = store_writer_stmt(st, STORE_SLOT_REPORT_FORGET, "DELETE FROM report_seen WHERE key IN"
	    " (SELECT key FROM report_seen WHERE at < ?1 LIMIT 10000)")) == NULL)
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, *before);
	return store_step(s);
}

int
store_report_forget(struct store *st, usec_t before)
{
	if (st == NULL)
		return -EINVAL;
	return store_enqueue_write(st, write_forget, &before, sizeof(before), NULL, NULL);
}

int
store_report_seen(struct store *st, const void *key, size_t len, usec_t *at)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (st == NULL || key == NULL || len == 0 || len > STORE_REPORT_KEY_MAX)
		return -EINVAL;
	if (store_read_fault(st)) {
		log_warnx("store: report lookup: injected read fault");
		return -EIO;
	}
	if ((rc = sqlite3_prepare_v2(store_reader(st), "SELECT at FROM report_seen WHERE key = ?1", -1, &q,
	    NULL)) != SQLITE_OK) {
		log_warnx("store: report lookup: %s", sqlite3_errmsg(store_reader(st)));
		rc = store_errno(rc);
		return rc != 0 ? rc : -EIO;
	}
	sqlite3_bind_blob(q, 1, key, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		if (at != NULL)
			*at = sqlite3_column_int64(q, 0);
		rc = 1;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else {
		log_warnx("store: report lookup: %s", sqlite3_errmsg(store_reader(st)));
		rc = store_errno(rc);
		rc = rc != 0 ? rc : -EIO;
	}
	sqlite3_finalize(q);
	return rc;
}
