/*
 * store.c — the SQLite store: a writer thread with group commit, done callbacks on
 * the libuv loop, reads on a second connection on the caller's thread.
 *
 * Threads and connections:
 *  - store_put/store_forget copy the write into one allocation and append it to a
 *    mutex/condvar-protected queue; they never touch SQLite.
 *  - The writer thread owns the writer connection (opened SQLITE_OPEN_NOMUTEX: no
 *    other thread uses it while the thread runs). It takes everything queued and
 *    commits it in one transaction of at most STORE_TXN_MAX writes, with
 *    synchronous=FULL, so the WAL is on disk before any done callback runs.
 *  - A write that carries an outbox row (store_put_outbox: a verdict for the shared
 *    store, pushed only once committed here) waits in a queue of its own, which the
 *    writer takes first, in a transaction of its own: a verdict never waits behind a
 *    burst of other writes. The writes queued before it for the same subject come after
 *    it then, and leave the subject's row alone (the verdict's row is newer: every put is
 *    the subject whole, as the loop held it); their history entries are still written,
 *    after the verdict's (the history is in the order written, each entry with its time).
 *    Everything else keeps its order.
 *  - Completed writes go to a list; uv_async_send wakes the loop, which runs the done
 *    callbacks in the order of their transactions. Without a loop they run on the
 *    writer thread, before store_flush returns.
 *  - The reader connection (serialized mode, query_only) serves store_load and the
 *    history reads on whatever thread calls them; WAL lets it read while the writer
 *    commits.
 *
 * Opening (store_open_with) refuses rather than guesses: a missing or empty file is a
 * new store only when the caller says so (STORE_OPEN_CREATE: lazaretd --init-store),
 * since SQLite would silently make an empty database of it and every quarantine and
 * its history would be forgotten; a file it cannot read, a damaged one
 * (STORE_OPEN_CHECK: PRAGMA quick_check) or one it cannot write is refused with the
 * reason. Reads report errors as errors: nothing a caller gets back is "no rows" when
 * the database could not be read.
 *
 * Schema (PRAGMA user_version 1): subjects, one row per subject with its evidence
 * encoded in the row (see store_evidence_encode); history, append-only, AUTOINCREMENT
 * ids so an id is never reused, indexed on (subject, id). Added within version 1 and
 * created on open when missing: the state table, subjects.grace_until,
 * subjects.manual_self_release.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <uv.h>

#include "common/background.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"
#include "common/subject_text.h"
#include "common/timeutil.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store/store_test.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_TXN_MAX        10000     /* writes in one transaction at most */
/* The address journal (store_int.h): folded this many rows a transaction once the writer
 * has had nothing to do for STORE_FOLD_QUIET (a transaction of them takes ~20 ms, the
 * longest a write queued meanwhile waits; and while writes keep coming, the CPU is the
 * daemon's answers', not the fold's), and a batch after every commit once it holds
 * STORE_JOURNAL_FORCE rows, so that it stays bounded under a load that never pauses. */
#define STORE_FOLD_BATCH     1024
#define STORE_FOLD_QUIET     (USEC_PER_SEC / 50)   /* 20 ms */
#define STORE_JOURNAL_FORCE  1000000L
/* Group commit under a steady stream of writes: a transaction begun within STORE_LINGER of
 * the last one's beginning, when that one had STORE_LINGER_STREAM writes or more, waits out
 * the rest of it for more writes, unless it already has STORE_LINGER_WRITES. A write after
 * a pause, or one at a time, is committed at once; under load a commit (its WAL frames
 * and fdatasync) carries a few hundred writes rather than a dozen. */
#define STORE_LINGER         (USEC_PER_SEC / 500)   /* 2 ms */
#define STORE_LINGER_STREAM  8
#define STORE_LINGER_WRITES  512
#define STORE_BUSY_MS        5000
/* Checkpoint once the writer has had nothing to write for STORE_WAL_QUIET with this many WAL
 * pages, or in any case at the second figure: a burst is not slowed by copying pages it may
 * write again (a mass quarantine's writer goes idle between most of its commits, and
 * checkpointing at each of those copied every page of the subjects table many times over). */
#define STORE_WAL_IDLE_PAGES  1000
#define STORE_WAL_FORCE_PAGES 16384
#define STORE_WAL_QUIET       (USEC_PER_SEC / 5)    /* 200 ms */

const double store_latency_bounds_us[STORE_LATENCY_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 250000, 1000000,
};

enum store_op_type {
	STORE_OP_PUT,
	STORE_OP_FORGET,
	STORE_OP_STATE,      /* subject = key, manual_reason = value (bytes when state_bytes) */
	STORE_OP_RATES,      /* rates[0..nrates): counters only */
	STORE_OP_CUSTOM,     /* write(st, data): a store part's own (store_int.h) */
};

/* One subject of a STORE_OP_RATES write. */
struct store_rate_rec {
	const char *subject;
	size_t subject_len;
	int level;
	usec_t rate_tat[2];
	usec_t updated;
};

/*
 * A queued write: fixed fields, then the encoded evidence and the strings, all in
 * one malloc, so a put costs one allocation and one copy.
 */
struct store_op {
	struct store_op *next;
	uint64_t seq;
	enum store_op_type type;
	int status;
	store_done_cb done;
	void *arg;

	const char *subject;
	size_t subject_len;
	int level;
	int manual_level;
	usec_t manual_until;
	const char *manual_reason;
	size_t manual_reason_len;
	usec_t rate_tat[2];
	usec_t updated;
	usec_t grace_until;
	bool manual_self_release;
	bool state_bytes;
	void *owned;               /* freed with the op: a value handed over by the caller */

	bool has_history;
	usec_t h_time;
	int h_old;
	int h_new;
	const char *h_subject;
	size_t h_subject_len;
	const char *h_actor;
	size_t h_actor_len;
	const char *h_reason;
	size_t h_reason_len;

	const uint8_t *evidence;       /* store_evidence_encode() format */
	size_t evidence_len;

	const char *outbox_kind;       /* store_put_outbox: the change for the shared store */
	const char *outbox_body;
	size_t outbox_body_len;

	const struct store_rate_rec *rates;
	size_t nrates;
	store_write_fn write;          /* STORE_OP_CUSTOM: its context is data[] */
	_Alignas(8) uint8_t data[];
};

struct store_list {
	struct store_op *head;
	struct store_op *tail;
	size_t n;
};

/* A subject whose outbox write went ahead of writes queued before it: those, seq below
 * this one's, leave the subject's row alone (store_ahead_covers). */
struct store_ahead {
	struct htable_node node;
	uint64_t seq;
	size_t len;
	char subject[];
};

struct store {
	sqlite3 *wdb;                  /* writer thread only, once started */
	sqlite3 *rdb;                  /* readers, any thread (serialized mode) */
	sqlite3_stmt *s_begin;
	sqlite3_stmt *s_commit;
	sqlite3_stmt *s_rollback;
	sqlite3_stmt *s_subject;
	sqlite3_stmt *s_history;
	sqlite3_stmt *s_forget;
	sqlite3_stmt *s_state;
	sqlite3_stmt *s_rates;
	sqlite3_stmt *s_custom[STORE_WRITER_STMTS];   /* store_writer_stmt's */

	int wal_pages;                 /* writer thread only: WAL size after the last commit */
	struct htable ahead;           /* writer thread only: struct store_ahead by subject */
	uint64_t ahead_max;            /* ... the highest seq in it */
	struct store_journal journal;  /* the address journal (store_int.h) */
	uv_loop_t *loop;
	uv_async_t *async;             /* own allocation: freed by its uv_close callback */

	pthread_t thread;
	bool thread_started;

	pthread_mutex_t mu;            /* guards everything below */
	pthread_cond_t wake;           /* writer: work queued or stopping */
	pthread_cond_t flushed;        /* store_flush: seq_done advanced */
	struct store_list queue;       /* waiting for the writer */
	struct store_list urgent;      /* ... writes with an outbox row: taken first */
	size_t carried;                /* taken by the writer, not yet in a transaction */
	struct store_list completed;   /* committed or failed, callbacks not yet run */
	uint64_t seq_queued;
	uint64_t seq_done;
	bool stopping;
	unsigned fault_txns;
	unsigned fault_reads;
	bool fold_held;                /* store_test_hold_fold */
	bool writes_held;              /* store_test_hold_writes */
	bool lingering;                /* the writer waits for more writes: no need to wake it */
	void (*outbox_hook)(void *);   /* store_set_outbox_hook: after a commit with outbox rows */
	void *outbox_hook_arg;
	struct store_stats stats;
};

static const char store_schema[] =
	"CREATE TABLE subjects ("
	" subject TEXT PRIMARY KEY NOT NULL,"
	" level INTEGER NOT NULL,"
	" manual_level INTEGER NOT NULL,"
	" manual_until INTEGER NOT NULL,"
	" manual_reason TEXT NOT NULL,"
	" tat_messages INTEGER NOT NULL,"
	" tat_recipients INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" evidence BLOB NOT NULL,"
	" grace_until INTEGER NOT NULL DEFAULT 0,"
	" manual_self_release INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE TABLE history ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER NOT NULL,"
	" subject TEXT NOT NULL,"
	" old_level INTEGER NOT NULL,"
	" new_level INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" reason TEXT NOT NULL"
	");"
	"CREATE INDEX history_subject ON history (subject, id);";

/* Added within schema version 1: created on open when missing. */
static const char store_state_schema[] =
	"CREATE TABLE IF NOT EXISTS state ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL"
	") WITHOUT ROWID;";

static void *store_writer(void *);
static atomic_bool store_test_hold_at_open;     /* store_test_hold_fold_at_open */

/* Maps an SQLite result code to a negative errno-style code. */
int
store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* Copies src (srclen bytes, maybe unterminated) into dst, truncating, always terminated. */
void
store_copy(char *dst, size_t size, const void *src, size_t srclen)
{
	if (size == 0)
		return;
	if (src == NULL)
		srclen = 0;
	if (srclen >= size)
		srclen = size - 1;
	if (srclen > 0)
		memcpy(dst, src, srclen);
	dst[srclen] = '\0';
}

/*
 * A subject's evidence lives in its row as one blob, so a put is one row write: an
 * evidence table (delete + one insert per item) cost 2.6 times the instructions per
 * put. Format, integers little-endian: a version byte (1), then per item the kind
 * length (1 byte) and kind, count (8), value (8, IEEE 754 bits), value_time,
 * first_seen, last_seen (8 each), the summary length (2) and summary. No evidence is
 * an empty blob. Items keep the order the caller gave. A subject released on a node of
 * a shared store has version 2: the version byte, the release's time (8), then the
 * items as in version 1 (none or more); a node restarted after a release must still
 * know the other nodes' older publications count nothing.
 */
#define STORE_EV_VERSION  1
#define STORE_EV_VERSION_RESET 2
#define STORE_EV_RESET_LEN (1 + 8)
#define STORE_EV_FIXED    (1 + 5 * 8 + 2)
#define STORE_EV_BLOB_MAX (1024 * 1024)

static void
store_put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
store_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static size_t
store_strlen(const char *s, size_t max)
{
	return s != NULL ? strnlen(s, max - 1) : 0;
}

/* Bytes store_evidence_encode needs for ev[0..n) and reset_at, or 0 when both are none. */
static size_t
store_evidence_size(const struct store_evidence *ev, size_t n, usec_t reset_at)
{
	size_t i, size;

	if (n == 0 && reset_at == 0)
		return 0;
	size = reset_at != 0 ? STORE_EV_RESET_LEN : 1;
	for (i = 0; i < n; i++)
		size += STORE_EV_FIXED + store_strlen(ev[i].kind, sizeof(ev[i].kind)) +
		    store_strlen(ev[i].summary, sizeof(ev[i].summary));
	return size;
}

static void
store_evidence_encode(uint8_t *p, const struct store_evidence *ev, size_t n, usec_t reset_at)
{
	uint64_t bits;
	size_t i, klen, slen;

	if (n == 0 && reset_at == 0)
		return;
	if (reset_at != 0) {
		*p++ = STORE_EV_VERSION_RESET;
		store_put_le64(p, (uint64_t)reset_at);
		p += 8;
	} else
		*p++ = STORE_EV_VERSION;
	for (i = 0; i < n; i++) {
		klen = store_strlen(ev[i].kind, sizeof(ev[i].kind));
		slen = store_strlen(ev[i].summary, sizeof(ev[i].summary));
		*p++ = (uint8_t)klen;
		memcpy(p, ev[i].kind, klen);
		p += klen;
		store_put_le64(p, ev[i].count);
		memcpy(&bits, &ev[i].value, sizeof(bits));
		store_put_le64(p + 8, bits);
		store_put_le64(p + 16, (uint64_t)ev[i].value_time);
		store_put_le64(p + 24, (uint64_t)ev[i].first_seen);
		store_put_le64(p + 32, (uint64_t)ev[i].last_seen);
		p += 40;
		*p++ = (uint8_t)(slen & 0xff);
		*p++ = (uint8_t)(slen >> 8);
		memcpy(p, ev[i].summary, slen);
		p += slen;
	}
}

/*
 * store_evidence_decode — parses a blob of store_evidence_encode's format. Fills
 * out[0..cap) when out is not NULL (pass NULL to count), and *reset_at (0 in a version
 * 1 blob). Returns the number of items, or -EBADMSG when the blob is not well formed;
 * never reads outside buf[0..len).
 */
static int
store_evidence_decode(const uint8_t *buf, size_t len, struct store_evidence *out,
    size_t cap, usec_t *reset_at)
{
	struct store_evidence *e;
	size_t off, klen, slen;
	uint64_t bits;
	int n = 0;

	*reset_at = 0;
	if (len == 0)
		return 0;
	if (buf == NULL || len > STORE_EV_BLOB_MAX)
		return -EBADMSG;
	if (buf[0] == STORE_EV_VERSION)
		off = 1;
	else if (buf[0] == STORE_EV_VERSION_RESET && len >= STORE_EV_RESET_LEN &&
	    store_get_le64(buf + 1) <= (uint64_t)INT64_MAX) {
		*reset_at = (usec_t)store_get_le64(buf + 1);
		off = STORE_EV_RESET_LEN;
	} else
		return -EBADMSG;
	for (; off < len; n++) {
		klen = buf[off];
		if (klen >= STORE_KIND_MAX || len - off < STORE_EV_FIXED + klen)
			return -EBADMSG;
		slen = buf[off + 1 + klen + 40] | (size_t)buf[off + 1 + klen + 41] << 8;
		if (slen >= STORE_SUMMARY_MAX || len - off - STORE_EV_FIXED - klen < slen)
			return -EBADMSG;
		if (out != NULL && (size_t)n < cap) {
			e = &out[n];
			store_copy(e->kind, sizeof(e->kind), buf + off + 1, klen);
			e->count = store_get_le64(buf + off + 1 + klen);
			bits = store_get_le64(buf + off + 1 + klen + 8);
			memcpy(&e->value, &bits, sizeof(e->value));
			e->value_time = (usec_t)store_get_le64(buf + off + 1 + klen + 16);
			e->first_seen = (usec_t)store_get_le64(buf + off + 1 + klen + 24);
			e->last_seen = (usec_t)store_get_le64(buf + off + 1 + klen + 32);
			store_copy(e->summary, sizeof(e->summary),
			    buf + off + STORE_EV_FIXED + klen, slen);
		}
		off += STORE_EV_FIXED + klen + slen;
	}
	return n;
}

static void
store_list_append(struct store_list *l, struct store_list *more)
{
	if (more->head == NULL)
		return;
	if (l->tail != NULL)
		l->tail->next = more->head;
	else
		l->head = more->head;
	l->tail = more->tail;
	l->n += more->n;
	more->head = more->tail = NULL;
	more->n = 0;
}

/* Moves the first at most max ops of from into to (which must be empty). */
static void
store_list_take(struct store_list *from, struct store_list *to, size_t max)
{
	struct store_op *op, *last = NULL;
	size_t n = 0;

	if (from->n <= max) {
		*to = *from;
		from->head = from->tail = NULL;
		from->n = 0;
		return;
	}
	for (op = from->head; n < max; op = op->next) {
		last = op;
		n++;
	}
	to->head = from->head;
	to->tail = last;
	to->n = n;
	from->head = last->next;
	from->n -= n;
	last->next = NULL;
}

static void
store_op_free(struct store_op *op)
{
	free(op->owned);
	free(op);
}

static void
store_list_free(struct store_list *l)
{
	struct store_op *op, *next;

	for (op = l->head; op != NULL; op = next) {
		next = op->next;
		store_op_free(op);
	}
	l->head = l->tail = NULL;
	l->n = 0;
}

/* Runs the done callbacks of l in order, on the current thread, and frees the ops. */
static void
store_list_finish(struct store_list *l)
{
	struct store_op *op, *next;

	for (op = l->head; op != NULL; op = next) {
		next = op->next;
		if (op->done != NULL)
			op->done(op->arg, op->status);
		store_op_free(op);
	}
	l->head = l->tail = NULL;
	l->n = 0;
}

/* ---- writes that went ahead (writer thread only) ---- */

static struct store_ahead *
store_ahead_find(const struct store *st, const char *subject, size_t len, uint32_t h)
{
	for (struct htable_node *n = htable_first(&st->ahead, h); n != NULL; n = htable_next(n, h)) {
		struct store_ahead *a = htable_entry(n, struct store_ahead, node);
		if (a->len == len && memcmp(a->subject, subject, len) == 0)
			return a;
	}
	return NULL;
}

/*
 * store_ahead_note — the outbox write op, committed while writes queued before it were
 * still waiting: they must not write its subject's row after it. False when out of
 * memory: the caller then has those writes go as they are (an older row, until the next
 * write of the subject).
 */
static bool
store_ahead_note(struct store *st, const struct store_op *op)
{
	uint32_t h = (uint32_t)hash_bytes(op->subject, op->subject_len);
	struct store_ahead *a;

	if (st->ahead.buckets == NULL && htable_init(&st->ahead, 256) != 0)
		return false;
	if ((a = store_ahead_find(st, op->subject, op->subject_len, h)) == NULL) {
		if ((a = malloc(sizeof(*a) + op->subject_len)) == NULL)
			return false;
		a->len = op->subject_len;
		memcpy(a->subject, op->subject, op->subject_len);
		a->node.hash = h;
		htable_add(&st->ahead, &a->node);
	}
	a->seq = op->seq;
	if (op->seq > st->ahead_max)
		st->ahead_max = op->seq;
	return true;
}

/* Whether a write of seq for subject was overtaken by an outbox write of it: its row is older. */
static bool
store_ahead_covers(const struct store *st, const char *subject, size_t len, uint64_t seq)
{
	if (st->ahead.count == 0)
		return false;
	const struct store_ahead *a = store_ahead_find(st, subject, len, (uint32_t)hash_bytes(subject, len));
	return a != NULL && a->seq > seq;
}

static void
store_ahead_clear(struct store *st)
{
	struct htable_node *n;
	size_t cursor = 0;

	if (st->ahead.buckets == NULL || st->ahead.count == 0)
		return;
	while ((n = htable_iter(&st->ahead, &cursor, NULL)) != NULL) {
		htable_del(&st->ahead, n);
		free(htable_entry(n, struct store_ahead, node));
	}
	st->ahead_max = 0;
}

static int
store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sql, msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return store_errno(rc);
	}
	return 0;
}

/* Runs a single-value query (a PRAGMA) and returns its first column as an integer. */
static int
store_query_int(sqlite3 *db, const char *sql, int64_t *out, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(stmt, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE)
			rc = SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	return store_errno(rc);
}

/* Adds subjects.column (an INTEGER NOT NULL DEFAULT 0) to a store made before it. */
static int
store_add_column(sqlite3 *db, const char *column, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT %s FROM subjects LIMIT 0", column);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK) {
		sqlite3_finalize(stmt);
		return 0;
	}
	snprintf(sql, sizeof(sql), "ALTER TABLE subjects ADD COLUMN %s INTEGER NOT NULL DEFAULT 0", column);
	return store_exec(db, sql, err, errlen);
}

/*
 * Sets the writer connection up: WAL, synchronous=FULL, and the schema, created on
 * an empty database or checked on an existing one. A database that is not ours, or
 * whose user_version is not one we know, is refused untouched.
 */
static int
store_schema_init(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *stmt = NULL;
	int64_t version, tables;
	const unsigned char *mode;
	int rc;

	if ((rc = store_query_int(db, "PRAGMA user_version", &version, err, errlen)) != 0)
		return rc;
	if (version > STORE_SCHEMA_VERSION || version < 0) {
		snprintf(err, errlen, "schema version %lld is not one this lazaret knows "
		    "(it knows %d); refusing to touch it", (long long)version,
		    STORE_SCHEMA_VERSION);
		return -EPROTO;
	}
	if ((rc = store_query_int(db, "SELECT count(*) FROM sqlite_master", &tables,
	    err, errlen)) != 0)
		return rc;
	if (version == 0 && tables > 0) {
		snprintf(err, errlen, "not a lazaret database (schema version 0 with %lld "
		    "objects); refusing to touch it", (long long)tables);
		return -EPROTO;
	}

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		snprintf(err, errlen, "journal_mode=WAL: %s", sqlite3_errmsg(db));
		rc = store_errno(sqlite3_errcode(db));
		sqlite3_finalize(stmt);
		return rc != 0 ? rc : -EIO;
	}
	mode = sqlite3_column_text(stmt, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		snprintf(err, errlen, "cannot switch to WAL (journal_mode is %s)",
		    mode != NULL ? (const char *)mode : "unknown");
		sqlite3_finalize(stmt);
		return -EIO;
	}
	sqlite3_finalize(stmt);

	if ((rc = store_exec(db, "PRAGMA synchronous=FULL", err, errlen)) != 0 ||
	    (rc = store_exec(db, "PRAGMA cache_size=-16384", err, errlen)) != 0 ||
	    /* after a checkpoint, cut a WAL that a burst let grow */
	    (rc = store_exec(db, "PRAGMA journal_size_limit=67108864", err, errlen)) != 0)
		return rc;
	if (version == STORE_SCHEMA_VERSION) {
		if ((rc = store_exec(db, store_state_schema, err, errlen)) != 0 ||
		    (rc = store_exec(db, store_bindings_schema, err, errlen)) != 0 ||
		    (rc = store_exec(db, store_reports_schema, err, errlen)) != 0 ||
		    (rc = store_exec(db, store_outbox_schema, err, errlen)) != 0)
			return rc;
		/* a store from before grace_until, or before manual_self_release */
		if ((rc = store_add_column(db, "grace_until", err, errlen)) != 0)
			return rc;
		return store_add_column(db, "manual_self_release", err, errlen);
	}

	if ((rc = store_exec(db, "BEGIN IMMEDIATE", err, errlen)) != 0)
		return rc;
	/* Re-check under the write lock: another process may have created it meanwhile. */
	if ((rc = store_query_int(db, "PRAGMA user_version", &version, err, errlen)) != 0)
		goto fail;
	if (version == 0) {
		if ((rc = store_exec(db, store_schema, err, errlen)) != 0 ||
		    (rc = store_exec(db, "PRAGMA user_version=1", err, errlen)) != 0)
			goto fail;
	} else if (version != STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %lld is not one this lazaret knows "
		    "(it knows %d)", (long long)version, STORE_SCHEMA_VERSION);
		rc = -EPROTO;
		goto fail;
	}
	if ((rc = store_exec(db, store_state_schema, err, errlen)) != 0 ||
	    (rc = store_exec(db, store_bindings_schema, err, errlen)) != 0 ||
	    (rc = store_exec(db, store_reports_schema, err, errlen)) != 0 ||
	    (rc = store_exec(db, store_outbox_schema, err, errlen)) != 0 ||
	    (rc = store_exec(db, "COMMIT", err, errlen)) != 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int
store_prepare(struct store *st, sqlite3_stmt **stmt, const char *sql, char *err,
    size_t errlen)
{
	int rc;

	rc = sqlite3_prepare_v3(st->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "prepare %s: %s", sql, sqlite3_errmsg(st->wdb));
		return store_errno(rc);
	}
	return 0;
}

static int
store_prepare_all(struct store *st, char *err, size_t errlen)
{
	int rc;

	if ((rc = store_prepare(st, &st->s_begin, "BEGIN IMMEDIATE", err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_commit, "COMMIT", err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_rollback, "ROLLBACK", err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_subject,
	    "INSERT INTO subjects (subject, level, manual_level, manual_until, manual_reason,"
	    " tat_messages, tat_recipients, updated, evidence, grace_until, manual_self_release)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
	    " ON CONFLICT (subject) DO UPDATE SET level = excluded.level,"
	    " manual_level = excluded.manual_level, manual_until = excluded.manual_until,"
	    " manual_reason = excluded.manual_reason, tat_messages = excluded.tat_messages,"
	    " tat_recipients = excluded.tat_recipients, updated = excluded.updated,"
	    " evidence = excluded.evidence, grace_until = excluded.grace_until,"
	    " manual_self_release = excluded.manual_self_release",
	    err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_history,
	    "INSERT INTO history (time, subject, old_level, new_level, actor, reason)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_state,
	    "INSERT INTO state (key, value) VALUES (?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value", err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_rates,
	    "INSERT INTO subjects (subject, level, manual_level, manual_until, manual_reason,"
	    " tat_messages, tat_recipients, updated, evidence, grace_until)"
	    " VALUES (?1, ?2, -1, 0, '', ?3, ?4, ?5, X'', 0)"
	    " ON CONFLICT (subject) DO UPDATE SET tat_messages = excluded.tat_messages,"
	    " tat_recipients = excluded.tat_recipients, updated = excluded.updated",
	    err, errlen)) != 0 ||
	    (rc = store_prepare(st, &st->s_forget,
	    "DELETE FROM subjects WHERE subject = ?1", err, errlen)) != 0)
		return rc;
	return 0;
}

static void
store_finalize_all(struct store *st)
{
	sqlite3_finalize(st->s_begin);
	sqlite3_finalize(st->s_commit);
	sqlite3_finalize(st->s_rollback);
	sqlite3_finalize(st->s_subject);
	sqlite3_finalize(st->s_history);
	sqlite3_finalize(st->s_forget);
	sqlite3_finalize(st->s_rates);
	sqlite3_finalize(st->s_state);
	for (size_t i = 0; i < STORE_WRITER_STMTS; i++)
		sqlite3_finalize(st->s_custom[i]);
}

/* Called on the writer thread after each commit with the WAL size in pages. */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;

	st->wal_pages = pages;
	return SQLITE_OK;
}

/* Runs the done callbacks the writer finished; on the loop thread. */
static void
store_async_cb(uv_async_t *handle)
{
	struct store *st = handle->data;
	struct store_list done;

	pthread_mutex_lock(&st->mu);
	done = st->completed;
	st->completed.head = st->completed.tail = NULL;
	st->completed.n = 0;
	pthread_mutex_unlock(&st->mu);
	store_list_finish(&done);
}

static void
store_async_free(uv_handle_t *handle)
{
	free(handle);
}

/* Adds to msg why path's directory may be the trouble: SQLite keeps FILE-wal and FILE-shm there. */
static void
store_dir_hint(const char *path, char *msg, size_t size)
{
	char copy[PATH_MAX], *dir;
	size_t len = strlen(msg);

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (access(dir, W_OK) != 0 && len < size)
		snprintf(msg + len, size - len, " (the directory %s is not writable: %s; SQLite keeps its "
		    "write-ahead log and index beside the database)", dir, strerror(errno));
}

/*
 * store_check_start — what the file at path holds, before anything is written: it can
 * be read, it is not an empty database unless STORE_OPEN_CREATE, and with
 * STORE_OPEN_CHECK it passes PRAGMA quick_check. *fresh is set when the schema is to be
 * created. 0 or a negative errno-style code with the reason in msg.
 */
static int
store_check_start(sqlite3 *db, const char *path, unsigned flags, bool existed, off_t size, bool *fresh,
    char *msg, size_t msglen)
{
	sqlite3_stmt *q = NULL;
	int64_t version, tables;
	char sub[256];
	int rc;

	if ((rc = store_query_int(db, "PRAGMA user_version", &version, sub, sizeof(sub))) != 0 ||
	    (rc = store_query_int(db, "SELECT count(*) FROM sqlite_master", &tables, sub, sizeof(sub))) != 0) {
		snprintf(msg, msglen, "cannot %s it: %s", rc == -EBADMSG ? "read" : "use", sqlite3_errmsg(db));
		if (rc == -EBADMSG)
			snprintf(msg + strlen(msg), msglen - strlen(msg), ": it is not an SQLite database, or it "
			    "is damaged; lazaretd leaves it as it is: restore the store from a backup, or move "
			    "the file aside and start with --init-store to begin an empty one");
		else
			store_dir_hint(path, msg, msglen);
		return rc;
	}
	*fresh = version == 0 && tables == 0;
	if (*fresh && existed && !(flags & STORE_OPEN_CREATE)) {
		snprintf(msg, msglen, "the file is empty (%lld bytes, no tables): it has no subjects, no "
		    "quarantines and no history. If this is a new install, start once with --init-store; if "
		    "it was the store, it is lost: restore it from a backup rather than start with nothing",
		    (long long)size);
		return -ENODATA;
	}
	if (*fresh || !(flags & STORE_OPEN_CHECK))
		return 0;

	usec_t t0 = time_mono();
	size_t n = 0, len;
	msg[0] = '\0';
	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(3)", -1, &q, NULL)) == SQLITE_OK) {
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			const char *line = (const char *)sqlite3_column_text(q, 0);
			if (line == NULL || strcmp(line, "ok") == 0)
				continue;
			len = strlen(msg);
			snprintf(msg + len, msglen - len, "%s%s", n++ ? "; " : "", line);
		}
		for (char *c = msg; *c != '\0'; c++)      /* its lines, on one line */
			if (*c == '\n')
				*c = ' ';
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		snprintf(msg, msglen, "PRAGMA quick_check failed: %s: the database is damaged or cannot be read; "
		    "restore it from a backup (or try: sqlite3 FILE .recover)", sqlite3_errmsg(db));
		rc = store_errno(rc);
		return rc != 0 ? rc : -EIO;
	}
	if (n > 0) {
		snprintf(sub, sizeof(sub), "%.200s", msg);
		snprintf(msg, msglen, "the database is damaged (PRAGMA quick_check: %s); lazaretd does not start "
		    "on a damaged store: restore it from a backup (or try: sqlite3 FILE .recover)", sub);
		return -EBADMSG;
	}
	log_info("store: %s passed PRAGMA quick_check in %.1f ms", path, (double)(time_mono() - t0) / 1000.0);
	return 0;
}

/*
 * store_probe_write — commit one small write (the time the store was opened) so that a
 * file, directory or disk that cannot take writes is found before anything is served,
 * not by the first verdict. 0 or a negative errno-style code with the reason in msg.
 */
static int
store_probe_write(sqlite3 *db, const char *path, char *msg, size_t msglen)
{
	char sub[256];
	int rc;

	rc = store_exec(db, "INSERT INTO state (key, value) VALUES ('store:opened', strftime('%Y-%m-%dT%H:%M:%SZ'))"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value", sub, sizeof(sub));
	if (rc != 0) {
		snprintf(msg, msglen, "cannot write it: %s%s", sqlite3_errmsg(db),
		    rc == -ENOSPC ? " (the disk is full)" : "");
		store_dir_hint(path, msg, msglen);
	}
	return rc;
}

struct store *
store_open(const char *path, uv_loop_t *loop, char *err, size_t errlen)
{
	return store_open_with(path, loop, STORE_OPEN_CREATE, err, errlen);
}

struct store *
store_open_with(const char *path, uv_loop_t *loop, unsigned flags, char *err, size_t errlen)
{
	struct store *st;
	struct stat sb;
	sigset_t all, old;
	char msg[768] = "out of memory";
	bool existed, fresh = false;
	int64_t journal = 0;
	int rc, locks = 0;

	if (stat(path, &sb) == 0) {
		existed = true;
		if (!S_ISREG(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return NULL;
		}
	} else if (errno == ENOENT) {
		existed = false;
		if (!(flags & STORE_OPEN_CREATE)) {
			snprintf(err, errlen, "%s: does not exist. If this is a new install, start once with "
			    "--init-store to create an empty store; if the store was here, it is gone (a disk not "
			    "mounted? another path?) and an empty one would forget every quarantine and its history",
			    path);
			return NULL;
		}
	} else {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}

	if ((st = calloc(1, sizeof(*st))) == NULL)
		goto fail;
	st->loop = loop;

	snprintf(msg, sizeof(msg), "cannot initialise locks");
	if (pthread_mutex_init(&st->mu, NULL) != 0)
		goto fail;
	locks = 1;
	/* the writer waits on it with a timeout (store_writer: the fold), on the monotonic clock */
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		goto fail;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&st->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		goto fail;
	locks = 2;
	if (pthread_cond_init(&st->flushed, NULL) != 0)
		goto fail;
	locks = 3;
	snprintf(msg, sizeof(msg), "out of memory");

	rc = sqlite3_open_v2(path, &st->wdb, SQLITE_OPEN_READWRITE |
	    (flags & STORE_OPEN_CREATE ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "cannot open it: %s",
		    st->wdb != NULL ? sqlite3_errmsg(st->wdb) : sqlite3_errstr(rc));
		store_dir_hint(path, msg, sizeof(msg));
		goto fail;
	}
	sqlite3_extended_result_codes(st->wdb, 1);
	sqlite3_busy_timeout(st->wdb, STORE_BUSY_MS);
	/* SQLite falls back to read-only when it may not write the file, and says nothing */
	if (sqlite3_db_readonly(st->wdb, "main") == 1) {
		snprintf(msg, sizeof(msg), "cannot write it (opened read-only: the file or its file system is "
		    "read-only, or lazaretd may not write it); every verdict is written before it is acted on");
		goto fail;
	}
	if (store_check_start(st->wdb, path, flags, existed, existed ? sb.st_size : 0, &fresh, msg,
	    sizeof(msg)) != 0)
		goto fail;
	if (store_schema_init(st->wdb, msg, sizeof(msg)) != 0 ||
	    store_probe_write(st->wdb, path, msg, sizeof(msg)) != 0 ||
	    store_prepare_all(st, msg, sizeof(msg)) != 0)
		goto fail;
	if (fresh)
		log_info("store: %s: a new, empty store was created", path);
	/* the address journal left by the last run: every lookup reads it until it is folded */
	snprintf(msg, sizeof(msg), "out of memory");
	if ((st->journal.filter = calloc(STORE_JOURNAL_FILTER_BITS / 64, sizeof(*st->journal.filter))) == NULL)
		goto fail;
	if (store_query_int(st->wdb, "SELECT coalesce(sum(events), 0) FROM address_journal", &journal, msg,
	    sizeof(msg)) != 0)
		goto fail;
	if (journal > 0) {
		st->journal.events = (long)journal;
		st->stats.journal = (uint64_t)journal;
		for (size_t i = 0; i < STORE_JOURNAL_FILTER_BITS / 64; i++)
			st->journal.filter[i] = UINT64_MAX;
		log_info("store: %s: %lld address journal events to fold", path, (long long)journal);
	}
	/* replaces SQLite's autocheckpoint, which runs inside COMMIT: see store_writer */
	sqlite3_wal_hook(st->wdb, store_wal_hook, st);

	rc = sqlite3_open_v2(path, &st->rdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "reader: %s",
		    st->rdb != NULL ? sqlite3_errmsg(st->rdb) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->rdb, 1);
	sqlite3_busy_timeout(st->rdb, STORE_BUSY_MS);
	if (store_exec(st->rdb, "PRAGMA query_only=1", msg, sizeof(msg)) != 0)
		goto fail;

	if (loop != NULL) {
		if ((st->async = malloc(sizeof(*st->async))) == NULL)
			goto fail;
		if ((rc = uv_async_init(loop, st->async, store_async_cb)) != 0) {
			snprintf(msg, sizeof(msg), "uv_async_init: %s", uv_strerror(rc));
			free(st->async);
			st->async = NULL;
			goto fail;
		}
		st->async->data = st;
	}

	st->fold_held = atomic_load(&store_test_hold_at_open);
	/* The writer takes no signals: the daemon's handlers belong to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->thread, NULL, store_writer, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "writer thread: %s", strerror(rc));
		goto fail;
	}
	st->thread_started = true;
	return st;

fail:
	snprintf(err, errlen, "%s: %s", path, msg);
	if (st == NULL)
		return NULL;
	if (st->async != NULL)
		uv_close((uv_handle_t *)st->async, store_async_free);
	store_finalize_all(st);
	sqlite3_close(st->rdb);
	sqlite3_close(st->wdb);
	free(st->journal.filter);
	free(st->journal.buf);
	if (locks > 2)
		pthread_cond_destroy(&st->flushed);
	if (locks > 1)
		pthread_cond_destroy(&st->wake);
	if (locks > 0)
		pthread_mutex_destroy(&st->mu);
	free(st);
	return NULL;
}

/*
 * store_close — stops taking writes, lets the writer commit everything queued, joins
 * it, runs the done callbacks still pending (on this thread, which must be the loop
 * thread when there is a loop), closes the async handle and the database. With a
 * loop, run the loop once more afterwards so uv_close can release the handle.
 */
void
store_close(struct store *st)
{
	struct store_list rest;

	if (st == NULL)
		return;
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->mu);
	if (st->thread_started)
		pthread_join(st->thread, NULL);

	pthread_mutex_lock(&st->mu);
	rest = st->completed;
	st->completed.head = st->completed.tail = NULL;
	st->completed.n = 0;
	pthread_mutex_unlock(&st->mu);
	store_list_finish(&rest);

	if (st->async != NULL)
		uv_close((uv_handle_t *)st->async, store_async_free);
	store_finalize_all(st);
	sqlite3_close(st->rdb);
	if (sqlite3_close(st->wdb) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(st->wdb));
	store_list_free(&st->queue);
	store_list_free(&st->urgent);
	store_ahead_clear(st);
	htable_fini(&st->ahead);
	free(st->journal.filter);
	free(st->journal.buf);
	pthread_cond_destroy(&st->flushed);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* Copies len bytes of s to *pp, terminates them, advances *pp; returns the copy. */
static const char *
store_pack(char **pp, const char *s, size_t len)
{
	char *d = *pp;

	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	*pp = d + len + 1;
	return d;
}

/* Appends op to the queue and wakes the writer; -ESHUTDOWN once store_close began. */
static int
store_enqueue(struct store *st, struct store_op *op)
{
	pthread_mutex_lock(&st->mu);
	if (st->stopping) {
		pthread_mutex_unlock(&st->mu);
		store_op_free(op);
		return -ESHUTDOWN;
	}
	struct store_list *q = op->outbox_body != NULL ? &st->urgent : &st->queue;
	op->next = NULL;
	op->seq = ++st->seq_queued;
	if (q->tail != NULL)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	q->n++;
	if (!st->lingering)
		pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

/*
 * store_put — see store.h for the return values. The history row's subject is
 * history->subject, or the subject's own name when that is empty. Strings that fill
 * their field without a NUL are cut one byte short of it.
 */
static int
store_put_op(struct store *st, const struct store_subject *s, const struct store_history *h,
    const char *kind, const char *body, store_done_cb done, void *arg)
{
	struct store_op *op;
	size_t subject_len, reason_len, hs_len = 0, ha_len = 0, hr_len = 0, kind_len = 0, body_len = 0;
	size_t ev_len, size;
	char *p;

	if (st == NULL || s == NULL || (s->evidence_count > 0 && s->evidence == NULL))
		return -EINVAL;
	if (body != NULL) {
		kind_len = strlen(kind);
		body_len = strlen(body);
	}
	if (s->evidence_count > STORE_EV_BLOB_MAX / STORE_EV_FIXED)
		return -E2BIG;
	if ((ev_len = store_evidence_size(s->evidence, s->evidence_count, s->reset_at)) >
	    STORE_EV_BLOB_MAX)
		return -E2BIG;

	if ((subject_len = store_strlen(s->subject, sizeof(s->subject))) == 0)
		return -EINVAL;
	reason_len = store_strlen(s->manual_reason, sizeof(s->manual_reason));
	size = sizeof(*op) + ev_len + subject_len + 1 + reason_len + 1;
	if (h != NULL) {
		hs_len = store_strlen(h->subject, sizeof(h->subject));
		ha_len = store_strlen(h->actor, sizeof(h->actor));
		hr_len = store_strlen(h->reason, sizeof(h->reason));
		size += hs_len + 1 + ha_len + 1 + hr_len + 1;
	}
	if (body != NULL)
		size += kind_len + 1 + body_len + 1;
	if ((op = malloc(size)) == NULL)
		return -ENOMEM;
	memset(op, 0, sizeof(*op));      /* the fixed part; the data that follows is all written */
	op->type = STORE_OP_PUT;
	op->status = 0;
	op->done = done;
	op->arg = arg;
	store_evidence_encode(op->data, s->evidence, s->evidence_count, s->reset_at);
	op->evidence = op->data;
	op->evidence_len = ev_len;
	p = (char *)op->data + ev_len;

	op->subject_len = subject_len;
	op->subject = store_pack(&p, s->subject, subject_len);
	op->level = s->level;
	op->manual_level = s->manual_level;
	op->manual_until = s->manual_until;
	op->manual_reason_len = reason_len;
	op->manual_reason = store_pack(&p, s->manual_reason, reason_len);
	op->rate_tat[0] = s->rate_tat[0];
	op->rate_tat[1] = s->rate_tat[1];
	op->updated = s->updated;
	op->grace_until = s->grace_until;
	op->manual_self_release = s->manual_self_release;

	op->has_history = h != NULL;
	if (h != NULL) {
		op->h_time = h->time;
		op->h_old = h->old_level;
		op->h_new = h->new_level;
		if (hs_len > 0) {
			op->h_subject_len = hs_len;
			op->h_subject = store_pack(&p, h->subject, hs_len);
		} else {
			op->h_subject_len = subject_len;
			op->h_subject = op->subject;
		}
		op->h_actor_len = ha_len;
		op->h_actor = store_pack(&p, h->actor, ha_len);
		op->h_reason_len = hr_len;
		op->h_reason = store_pack(&p, h->reason, hr_len);
	}
	if (body != NULL) {
		op->outbox_kind = store_pack(&p, kind, kind_len);
		op->outbox_body_len = body_len;
		op->outbox_body = store_pack(&p, body, body_len);
	}
	return store_enqueue(st, op);
}

int
store_put(struct store *st, const struct store_subject *s,
    const struct store_history *h, store_done_cb done, void *arg)
{
	return store_put_op(st, s, h, NULL, NULL, done, arg);
}

int
store_put_outbox(struct store *st, const struct store_subject *s, const struct store_history *h,
    const char *kind, const char *body, store_done_cb done, void *arg)
{
	if (kind == NULL || *kind == '\0' || body == NULL)
		return -EINVAL;
	return store_put_op(st, s, h, kind, body, done, arg);
}

void
store_set_outbox_hook(struct store *st, void (*hook)(void *), void *arg)
{
	pthread_mutex_lock(&st->mu);
	st->outbox_hook = hook;
	st->outbox_hook_arg = arg;
	pthread_mutex_unlock(&st->mu);
}

int
store_put_rates(struct store *st, const struct store_rate *v, size_t n)
{
	struct store_op *op;
	struct store_rate_rec *rec;
	size_t size = sizeof(*op), len;
	char *p;

	if (st == NULL || (n > 0 && v == NULL))
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / (sizeof(*rec) + STORE_SUBJECT_MAX))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (v[i].subject == NULL || v[i].subject_len == 0 || v[i].subject_len >= STORE_SUBJECT_MAX)
			return -EINVAL;
		size += sizeof(*rec) + v[i].subject_len + 1;
	}
	if ((op = malloc(size)) == NULL)
		return -ENOMEM;
	memset(op, 0, sizeof(*op));
	op->type = STORE_OP_RATES;
	rec = (struct store_rate_rec *)(void *)op->data;
	p = (char *)(rec + n);
	for (size_t i = 0; i < n; i++) {
		len = v[i].subject_len;
		rec[i].subject_len = len;
		rec[i].subject = store_pack(&p, v[i].subject, len);
		rec[i].level = v[i].level;
		rec[i].rate_tat[0] = v[i].rate_tat[0];
		rec[i].rate_tat[1] = v[i].rate_tat[1];
		rec[i].updated = v[i].updated;
	}
	op->rates = rec;
	op->nrates = n;
	return store_enqueue(st, op);
}

int
store_forget(struct store *st, const char *subject)
{
	struct store_op *op;
	size_t len;
	char *p;

	if (st == NULL || subject == NULL)
		return -EINVAL;
	if ((len = store_strlen(subject, STORE_SUBJECT_MAX)) == 0)
		return -EINVAL;
	if ((op = calloc(1, sizeof(*op) + len + 1)) == NULL)
		return -ENOMEM;
	p = (char *)op->data;
	op->type = STORE_OP_FORGET;
	op->subject_len = len;
	op->subject = store_pack(&p, subject, len);
	return store_enqueue(st, op);
}

int
store_enqueue_write(struct store *st, store_write_fn fn, const void *ctx, size_t ctx_len, store_done_cb done,
    void *arg)
{
	struct store_op *op;

	if (st == NULL || fn == NULL || (ctx == NULL && ctx_len > 0))
		return -EINVAL;
	if ((op = calloc(1, sizeof(*op) + ctx_len)) == NULL)
		return -ENOMEM;
	op->type = STORE_OP_CUSTOM;
	op->write = fn;
	op->done = done;
	op->arg = arg;
	if (ctx_len > 0)
		memcpy(op->data, ctx, ctx_len);
	return store_enqueue(st, op);
}

sqlite3_stmt *
store_writer_stmt(struct store *st, unsigned slot, const char *sql)
{
	if (slot >= STORE_WRITER_STMTS)
		return NULL;
	if (st->s_custom[slot] == NULL &&
	    sqlite3_prepare_v3(st->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->s_custom[slot], NULL) != SQLITE_OK) {
		log_warnx("store: prepare %s: %s", sql, sqlite3_errmsg(st->wdb));
		return NULL;
	}
	return st->s_custom[slot];
}

sqlite3 *
store_reader(struct store *st)
{
	return st->rdb;
}

void
store_flush(struct store *st)
{
	uint64_t target;

	pthread_mutex_lock(&st->mu);
	target = st->seq_queued;
	while (st->seq_done < target)
		pthread_cond_wait(&st->flushed, &st->mu);
	pthread_mutex_unlock(&st->mu);
}

/*
 * store_test_fail_next — for tests: the next n transactions are written, then rolled
 * back instead of committed and reported as -EIO, the path a failing COMMIT takes.
 */
void
store_test_fail_next(struct store *st, unsigned n)
{
	pthread_mutex_lock(&st->mu);
	st->fault_txns = n;
	pthread_mutex_unlock(&st->mu);
}

void
store_test_fail_reads(struct store *st, unsigned n)
{
	pthread_mutex_lock(&st->mu);
	st->fault_reads = n;
	pthread_mutex_unlock(&st->mu);
}

void
store_test_hold_writes(struct store *st, bool hold)
{
	pthread_mutex_lock(&st->mu);
	st->writes_held = hold;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->mu);
}

void
store_test_hold_fold_at_open(bool hold)
{
	atomic_store(&store_test_hold_at_open, hold);
}

void
store_test_hold_fold(struct store *st, bool hold)
{
	pthread_mutex_lock(&st->mu);
	st->fold_held = hold;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->mu);
}

/* True when a read is to fail (store_test_fail_reads): counts it down. */
bool
store_read_fault(struct store *st)
{
	bool fault;

	pthread_mutex_lock(&st->mu);
	fault = st->fault_reads > 0;
	if (fault)
		st->fault_reads--;
	pthread_mutex_unlock(&st->mu);
	return fault;
}

/* Steps a write statement to completion and resets it; SQLite code. */
int
store_step(sqlite3_stmt *stmt)
{
	int rc;

	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The put op: its subject's row (unless an outbox write of the subject went ahead of it),
 * its history entry, its outbox row. */
static int
store_write_put(struct store *st, const struct store_op *op)
{
	sqlite3_stmt *s;
	int rc;

	if (store_ahead_covers(st, op->subject, op->subject_len, op->seq))
		goto history;
	s = st->s_subject;
	sqlite3_bind_text(s, 1, op->subject, (int)op->subject_len, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, op->level);
	sqlite3_bind_int(s, 3, op->manual_level);
	sqlite3_bind_int64(s, 4, op->manual_until);
	sqlite3_bind_text(s, 5, op->manual_reason, (int)op->manual_reason_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, op->rate_tat[0]);
	sqlite3_bind_int64(s, 7, op->rate_tat[1]);
	sqlite3_bind_int64(s, 8, op->updated);
	/* a zero-length blob, not NULL, when there is no evidence */
	sqlite3_bind_blob(s, 9, op->evidence, (int)op->evidence_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, op->grace_until);
	sqlite3_bind_int(s, 11, op->manual_self_release);
	if ((rc = store_step(s)) != SQLITE_OK)
		return rc;
history:
	if (op->has_history) {
		s = st->s_history;
		sqlite3_bind_int64(s, 1, op->h_time);
		sqlite3_bind_text(s, 2, op->h_subject, (int)op->h_subject_len, SQLITE_STATIC);
		sqlite3_bind_int(s, 3, op->h_old);
		sqlite3_bind_int(s, 4, op->h_new);
		sqlite3_bind_text(s, 5, op->h_actor, (int)op->h_actor_len, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, op->h_reason, (int)op->h_reason_len, SQLITE_STATIC);
		if ((rc = store_step(s)) != SQLITE_OK)
			return rc;
	}
	if (op->outbox_body != NULL)
		return store_outbox_insert(st, op->updated, op->outbox_kind, op->subject, op->subject_len,
		    op->outbox_body, op->outbox_body_len);
	return SQLITE_OK;
}

static int
store_write_state(struct store *st, const struct store_op *op)
{
	sqlite3_bind_text(st->s_state, 1, op->subject, (int)op->subject_len, SQLITE_STATIC);
	if (op->state_bytes)
		sqlite3_bind_blob64(st->s_state, 2, op->manual_reason, op->manual_reason_len, SQLITE_STATIC);
	else
		sqlite3_bind_text(st->s_state, 2, op->manual_reason, (int)op->manual_reason_len, SQLITE_STATIC);
	return store_step(st->s_state);
}

static int
store_write_rates(struct store *st, const struct store_op *op)
{
	sqlite3_stmt *s = st->s_rates;
	int rc;

	for (size_t i = 0; i < op->nrates; i++) {
		const struct store_rate_rec *r = &op->rates[i];
		if (store_ahead_covers(st, r->subject, r->subject_len, op->seq))
			continue;
		sqlite3_bind_text(s, 1, r->subject, (int)r->subject_len, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, r->level);
		sqlite3_bind_int64(s, 3, r->rate_tat[0]);
		sqlite3_bind_int64(s, 4, r->rate_tat[1]);
		sqlite3_bind_int64(s, 5, r->updated);
		if ((rc = store_step(s)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

static int
store_write_forget(struct store *st, const struct store_op *op)
{
	if (store_ahead_covers(st, op->subject, op->subject_len, op->seq))
		return SQLITE_OK;
	sqlite3_bind_text(st->s_forget, 1, op->subject, (int)op->subject_len, SQLITE_STATIC);
	return store_step(st->s_forget);
}

/*
 * Writes batch in one transaction. Returns 0 when COMMIT succeeded, otherwise rolls
 * back and returns a negative errno-style code with the SQLite message in err.
 */
static int
store_txn(struct store *st, const struct store_list *batch, bool fault, char *err,
    size_t errlen)
{
	const struct store_op *op;
	int rc;

	st->journal.delta = 0;
	if ((rc = store_step(st->s_begin)) != SQLITE_OK)
		goto fail;
	for (op = batch->head; op != NULL; op = op->next) {
		if (op->type == STORE_OP_PUT)
			rc = store_write_put(st, op);
		else if (op->type == STORE_OP_STATE)
			rc = store_write_state(st, op);
		else if (op->type == STORE_OP_RATES)
			rc = store_write_rates(st, op);
		else if (op->type == STORE_OP_CUSTOM)
			rc = op->write(st, op->data);
		else
			rc = store_write_forget(st, op);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if ((rc = store_bindings_journal_flush(st)) != SQLITE_OK)
		goto fail;
	if (fault) {
		rc = SQLITE_IOERR;
		snprintf(err, errlen, "injected fault instead of COMMIT");
		goto rollback;
	}
	if ((rc = store_step(st->s_commit)) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s", sqlite3_errmsg(st->wdb));
rollback:
	if (!sqlite3_get_autocommit(st->wdb))
		store_step(st->s_rollback);
	st->journal.len = 0;       /* events buffered for a transaction that is not */
	st->journal.buffered = 0;
	rc = store_errno(rc);
	return rc != 0 ? rc : -EIO;
}

static void
store_latency_add(struct store_stats *s, usec_t us)
{
	size_t i;

	for (i = 0; i < STORE_LATENCY_BUCKETS - 1; i++)
		if ((double)us <= store_latency_bounds_us[i])
			break;
	s->latency_bucket[i]++;
	s->latency_count++;
	s->latency_sum_us += (double)us;
}

/* Copies WAL pages into the database without waiting for readers (PASSIVE). */
static void
store_checkpoint(struct store *st)
{
	int rc;

	rc = sqlite3_wal_checkpoint_v2(st->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store: checkpoint: %s", sqlite3_errmsg(st->wdb));
	st->wal_pages = 0;
}

void
store_journal_changed(struct store *st, long delta)
{
	st->journal.delta += delta;
}

struct store_journal *
store_journal(struct store *st)
{
	return &st->journal;
}

/* Writer thread, after a commit: the journal's rows as committed, its filter cleared when
 * it is empty (no network has a row left; the fence before readers see the clear bits). */
static void
store_journal_commit(struct store *st)
{
	long delta = st->journal.delta;

	st->journal.delta = 0;
	if (delta == 0)
		return;
	st->journal.events += delta;
	if (st->journal.events <= 0) {
		st->journal.events = 0;
		for (size_t i = 0; i < STORE_JOURNAL_FILTER_BITS / 64; i++)
			atomic_store_explicit(&st->journal.filter[i], 0, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
	}
	pthread_mutex_lock(&st->mu);
	st->stats.journal = (uint64_t)st->journal.events;
	if (delta < 0)
		st->stats.journal_folded += (uint64_t)-delta;
	pthread_mutex_unlock(&st->mu);
}

/* Writer thread: one transaction folding a batch of the address journal. */
static void
store_fold_txn(struct store *st)
{
	int rc;

	st->journal.delta = 0;
	if ((rc = store_step(st->s_begin)) == SQLITE_OK &&
	    store_bindings_fold(st, STORE_FOLD_BATCH, &rc) >= 0 &&
	    (rc = store_step(st->s_commit)) == SQLITE_OK) {
		store_journal_commit(st);
		return;
	}
	log_warnx("store: address journal: fold failed: %s", sqlite3_errmsg(st->wdb));
	if (!sqlite3_get_autocommit(st->wdb))
		store_step(st->s_rollback);
	st->journal.delta = 0;
}

/* Under st->mu: the lowest seq not yet written, less one (store_flush's mark). */
static uint64_t
store_seq_done(const struct store *st, const struct store_list *carry, const struct store_list *ucarry)
{
	const struct store_op *heads[] = { carry->head, ucarry->head, st->queue.head, st->urgent.head };
	uint64_t lo = UINT64_MAX;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		if (heads[i] != NULL && heads[i]->seq < lo)
			lo = heads[i]->seq;
	return lo == UINT64_MAX ? st->seq_queued : lo - 1;
}

/*
 * The writer thread: takes everything queued, commits it in transactions of at most
 * STORE_TXN_MAX writes, the outbox writes first and on their own, hands the ops to the
 * loop (or runs their callbacks itself when there is no loop), and exits once store_close
 * asked and the queues are empty.
 */
static void *
store_writer(void *arg)
{
	struct store *st = arg;
	struct store_list carry = { NULL, NULL, 0 }, ucarry = { NULL, NULL, 0 }, batch;
	struct store_op *op;
	char err[256];
	uint64_t puts, hist;
	usec_t t0 = 0, t1, last_work = 0;
	size_t last_n = 0;
	bool fault, idle;
	int status;

	pthread_setname_np(pthread_self(), "lazaretd-store");   /* top -H, perf: which thread */
	if ((status = background_enter()) != 0)          /* below the loop: common/background.h */
		log_warnx("store: the writer thread stays at the daemon's CPU priority: %s", strerror(-status));

	for (;;) {
		bool fold = false, checkpoint = false;

		pthread_mutex_lock(&st->mu);
		while (st->writes_held && !st->stopping)
			pthread_cond_wait(&st->wake, &st->mu);
#define STORE_NOTHING_QUEUED (carry.head == NULL && ucarry.head == NULL && st->queue.head == NULL && \
	st->urgent.head == NULL)
		while (STORE_NOTHING_QUEUED && !st->stopping) {
			bool want_fold = st->journal.events != 0 && !st->fold_held;
			bool want_checkpoint = st->wal_pages >= STORE_WAL_IDLE_PAGES;
			if (!want_fold && !want_checkpoint) {
				pthread_cond_wait(&st->wake, &st->mu);
				continue;
			}
			/* the fold first (it writes too), the checkpoint after a longer quiet */
			usec_t now = time_mono(), fold_at = last_work + STORE_FOLD_QUIET;
			usec_t checkpoint_at = last_work + STORE_WAL_QUIET, until_us;
			if (want_fold && now >= fold_at) {
				fold = true;
				break;
			}
			if (!want_fold && now >= checkpoint_at) {
				checkpoint = true;
				break;
			}
			until_us = want_fold ? fold_at : checkpoint_at;
			struct timespec until = { (time_t)(until_us / USEC_PER_SEC), (long)(until_us % USEC_PER_SEC) * 1000 };
			pthread_cond_timedwait(&st->wake, &st->mu, &until);
		}
		if (STORE_NOTHING_QUEUED) {
			pthread_mutex_unlock(&st->mu);
			if (checkpoint) {
				store_checkpoint(st);   /* quiet for a while: copy the WAL into the database */
				continue;
			}
			if (!fold)
				break;          /* stopping */
			store_fold_txn(st);     /* nothing else to do for a while */
			continue;
		}
		/* writes keep coming: a few more in this transaction rather than a commit each */
		usec_t linger = t0 + STORE_LINGER;
		if (!st->stopping && last_n >= STORE_LINGER_STREAM &&
		    carry.n + ucarry.n + st->queue.n + st->urgent.n < STORE_LINGER_WRITES && time_mono() < linger) {
			struct timespec until = { (time_t)(linger / USEC_PER_SEC), (long)(linger % USEC_PER_SEC) * 1000 };
			st->lingering = true;
			while (!st->stopping && pthread_cond_timedwait(&st->wake, &st->mu, &until) == 0)
				;
			st->lingering = false;
		}
		if (st->writes_held && !st->stopping) {
			pthread_mutex_unlock(&st->mu);
			continue;       /* held meanwhile (store_test_hold_writes): wait at the top */
		}
		/* every write queued before the outbox writes taken now is in carry then */
		store_list_append(&carry, &st->queue);
		store_list_append(&ucarry, &st->urgent);
		fault = st->fault_txns > 0;
		if (fault)
			st->fault_txns--;
		bool urgent = ucarry.head != NULL;
		store_list_take(urgent ? &ucarry : &carry, &batch, STORE_TXN_MAX);
		last_n = batch.n;
		st->carried = carry.n + ucarry.n;
		pthread_mutex_unlock(&st->mu);

		t0 = time_mono();
		status = store_txn(st, &batch, fault, err, sizeof(err));
		t1 = last_work = time_mono();
		if (status == 0)
			store_journal_commit(st);
		else
			st->journal.delta = 0;
		if (urgent && status == 0 && carry.head != NULL) {
			/* went ahead of carry's writes: those of the same subjects keep off their rows */
			for (op = batch.head; op != NULL; op = op->next)
				if (op->seq > carry.head->seq && !store_ahead_note(st, op))
					log_warnx("store: out of memory: a subject's row may be older than its verdict "
					    "until its next write");
		} else if (!urgent && (carry.head == NULL || carry.head->seq > st->ahead_max))
			store_ahead_clear(st);  /* every write that was overtaken is written */

		puts = hist = 0;
		size_t outboxed = 0;
		for (op = batch.head; op != NULL; op = op->next) {
			op->status = status;
			if (op->type == STORE_OP_PUT) {
				puts++;
				hist += op->has_history;
				outboxed += op->outbox_body != NULL;
			} else if (op->type == STORE_OP_RATES)
				puts += op->nrates;
		}
		if (status != 0)
			log_warnx("store: commit failed writes=%zu error=\"%s\" (%s)", batch.n,
			    err, strerror(-status));

		if (st->loop == NULL)
			store_list_finish(&batch);

		pthread_mutex_lock(&st->mu);
		if (status == 0) {
			st->stats.transactions++;
			st->stats.writes += puts;
			st->stats.history_rows += hist;
			store_latency_add(&st->stats, t1 - t0);
		} else
			st->stats.failures++;
		if (st->loop != NULL)
			store_list_append(&st->completed, &batch);
		st->seq_done = store_seq_done(st, &carry, &ucarry);
		idle = STORE_NOTHING_QUEUED;
		pthread_cond_broadcast(&st->flushed);
		void (*hook)(void *) = status == 0 && outboxed > 0 ? st->outbox_hook : NULL;
		void *hook_arg = st->outbox_hook_arg;
		pthread_mutex_unlock(&st->mu);
		if (st->loop != NULL)
			uv_async_send(st->async);
		if (hook != NULL)           /* the shared store's sync thread has changes to push */
			hook(hook_arg);

		/* After the callbacks are on their way, not inside COMMIT where SQLite's
		 * autocheckpoint would run and hold them back; below STORE_WAL_FORCE_PAGES, once
		 * the writer has been quiet a while (the wait above). */
		if (st->wal_pages >= STORE_WAL_FORCE_PAGES)
			store_checkpoint(st);
		if (!idle && st->journal.events >= STORE_JOURNAL_FORCE)
			store_fold_txn(st);
	}
	return NULL;
#undef STORE_NOTHING_QUEUED
}

/*
 * store_load — one pass over subjects in key order, evidence decoded from each row.
 * The evidence array handed to each() is only valid during the call. A row whose
 * evidence blob is damaged is logged and handed over without evidence: its level
 * still counts. Returns 0, each()'s non-zero value, or a negative errno-style code.
 */
int
store_load(struct store *st, int (*each)(void *arg, const struct store_subject *s),
    void *arg)
{
	sqlite3_stmt *q = NULL;
	struct store_subject *s = NULL;
	struct store_evidence *ev = NULL, *tmp;
	const uint8_t *blob;
	size_t cap = 0, len;
	int rc, n, ret = 0;

	if (store_read_fault(st)) {
		log_warnx("store: load: injected read fault");
		return -EIO;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(st->rdb, "SELECT subject, level, manual_level, manual_until,"
	    " manual_reason, tat_messages, tat_recipients, updated, evidence, grace_until,"
	    " manual_self_release FROM subjects"
	    " ORDER BY subject", -1, &q, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		store_copy(s->subject, sizeof(s->subject), sqlite3_column_text(q, 0),
		    (size_t)sqlite3_column_bytes(q, 0));
		s->level = sqlite3_column_int(q, 1);
		s->manual_level = sqlite3_column_int(q, 2);
		s->manual_until = sqlite3_column_int64(q, 3);
		store_copy(s->manual_reason, sizeof(s->manual_reason),
		    sqlite3_column_text(q, 4), (size_t)sqlite3_column_bytes(q, 4));
		s->rate_tat[0] = sqlite3_column_int64(q, 5);
		s->rate_tat[1] = sqlite3_column_int64(q, 6);
		s->updated = sqlite3_column_int64(q, 7);
		s->grace_until = sqlite3_column_int64(q, 9);
		s->manual_self_release = sqlite3_column_int(q, 10) != 0;

		blob = sqlite3_column_blob(q, 8);
		len = (size_t)sqlite3_column_bytes(q, 8);
		if ((n = store_evidence_decode(blob, len, NULL, 0, &s->reset_at)) < 0) {
			char name[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];
			subject_text_encode(name, sizeof(name), s->subject, strlen(s->subject));
			log_warnx("store: load subject=%s: evidence unreadable, loaded without it", name);
			n = 0;
		}
		if ((size_t)n > cap) {
			if ((tmp = reallocarray(ev, (size_t)n, sizeof(*ev))) == NULL) {
				ret = -ENOMEM;
				goto out;
			}
			ev = tmp;
			cap = (size_t)n;
		}
		if (n > 0)
			store_evidence_decode(blob, len, ev, cap, &s->reset_at);
		s->evidence_count = (size_t)n;
		s->evidence = n > 0 ? ev : NULL;
		if ((ret = each(arg, s)) != 0)
			goto out;
	}
	if (rc == SQLITE_DONE)
		goto out;
fail:
	log_warnx("store: load: %s", sqlite3_errmsg(st->rdb));
	ret = store_errno(rc);
	if (ret == 0)
		ret = -EIO;
out:
	sqlite3_finalize(q);
	free(ev);
	free(s);
	return ret;
}

int
store_history_read(struct store *st, const char *subject, size_t limit,
    int (*each)(void *arg, const struct store_history *h), void *arg)
{
	sqlite3_stmt *q = NULL;
	struct store_history *h = NULL;
	int rc, ret = 0;

	if (subject == NULL)
		return -EINVAL;
	if (store_read_fault(st)) {
		log_warnx("store: history: injected read fault");
		return -EIO;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	/* Newest first through the (subject, id) index, then back to oldest first. */
	rc = sqlite3_prepare_v2(st->rdb, "SELECT time, subject, old_level, new_level, actor,"
	    " reason FROM (SELECT id, time, subject, old_level, new_level, actor, reason"
	    " FROM history WHERE subject = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id", -1, &q,
	    NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(q, 1, subject, (int)store_strlen(subject, STORE_SUBJECT_MAX),
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		h->time = sqlite3_column_int64(q, 0);
		store_copy(h->subject, sizeof(h->subject), sqlite3_column_text(q, 1),
		    (size_t)sqlite3_column_bytes(q, 1));
		h->old_level = sqlite3_column_int(q, 2);
		h->new_level = sqlite3_column_int(q, 3);
		store_copy(h->actor, sizeof(h->actor), sqlite3_column_text(q, 4),
		    (size_t)sqlite3_column_bytes(q, 4));
		store_copy(h->reason, sizeof(h->reason), sqlite3_column_text(q, 5),
		    (size_t)sqlite3_column_bytes(q, 5));
		if ((ret = each(arg, h)) != 0)
			goto out;
	}
	if (rc == SQLITE_DONE)
		goto out;
fail:
	log_warnx("store: history: %s", sqlite3_errmsg(st->rdb));
	ret = store_errno(rc);
	if (ret == 0)
		ret = -EIO;
out:
	sqlite3_finalize(q);
	free(h);
	return ret;
}

/* Counts history rows (a scan of the smallest index); a negative errno-style code on error. */
int64_t
store_history_count(struct store *st)
{
	char err[256];
	int64_t n = 0;
	int rc;

	if (store_read_fault(st))
		return -EIO;
	if ((rc = store_query_int(st->rdb, "SELECT count(*) FROM history", &n, err,
	    sizeof(err))) != 0) {
		log_warnx("store: %s", err);
		return rc;
	}
	return n;
}

void
store_stats_get(struct store *st, struct store_stats *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->stats;
	out->queued = st->queue.n + st->urgent.n + st->carried;
	pthread_mutex_unlock(&st->mu);
}

int
store_state_put(struct store *st, const char *key, const char *value)
{
	struct store_op *op;
	size_t klen, vlen;
	char *p;

	if (st == NULL || key == NULL || value == NULL)
		return -EINVAL;
	klen = strlen(key);
	vlen = strlen(value);
	if (klen == 0 || klen > 4096 || vlen > 65536)
		return -EINVAL;
	if ((op = calloc(1, sizeof(*op) + klen + vlen + 2)) == NULL)
		return -ENOMEM;
	op->type = STORE_OP_STATE;
	p = (char *)op->data;
	op->subject_len = klen;
	op->subject = store_pack(&p, key, klen);
	op->manual_reason_len = vlen;
	op->manual_reason = store_pack(&p, value, vlen);
	return store_enqueue(st, op);
}

int
store_state_put_bytes(struct store *st, const char *key, void *value, size_t len)
{
	struct store_op *op;
	size_t klen = key != NULL ? strlen(key) : 0;
	char *p;

	if (st == NULL || klen == 0 || klen > 4096 || (value == NULL && len > 0) || len > STORE_STATE_BYTES_MAX) {
		free(value);
		return -EINVAL;
	}
	if ((op = calloc(1, sizeof(*op) + klen + 1)) == NULL) {
		free(value);
		return -ENOMEM;
	}
	op->type = STORE_OP_STATE;
	op->state_bytes = true;
	op->owned = value;
	p = (char *)op->data;
	op->subject_len = klen;
	op->subject = store_pack(&p, key, klen);
	op->manual_reason_len = len;
	op->manual_reason = value != NULL ? value : "";
	return store_enqueue(st, op);
}

int
store_state_get_bytes(struct store *st, const char *key, uint8_t **out, size_t *len)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*out = NULL;
	*len = 0;
	if (store_read_fault(st)) {
		log_warnx("store: state %s: injected read fault", key);
		return -EIO;
	}
	if ((rc = sqlite3_prepare_v2(st->rdb, "SELECT value FROM state WHERE key = ?1", -1, &stmt, NULL)) != SQLITE_OK) {
		log_warnx("store: state %s: %s", key, sqlite3_errmsg(st->rdb));
		rc = store_errno(rc);
		return rc != 0 ? rc : -EIO;
	}
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(stmt, 0);
		size_t n = (size_t)sqlite3_column_bytes(stmt, 0);
		rc = 0;
		if ((*out = malloc(n ? n : 1)) == NULL)
			rc = -ENOMEM;
		else {
			if (n > 0)
				memcpy(*out, v, n);
			*len = n;
		}
	} else if (rc == SQLITE_DONE)
		rc = -ENOENT;
	else {
		log_warnx("store: state %s: %s", key, sqlite3_errmsg(st->rdb));
		rc = store_errno(rc);
		if (rc == 0 || rc == -ENOENT)
			rc = -EIO;
	}
	sqlite3_finalize(stmt);
	return rc;
}

int
store_state_get(struct store *st, const char *key, char *value, size_t size)
{
	uint8_t *bytes;
	size_t len;
	int rc = store_state_get_bytes(st, key, &bytes, &len);

	if (rc != 0)
		return rc;
	if (size > 0)
		snprintf(value, size, "%.*s", (int)(len < INT32_MAX ? len : INT32_MAX), (const char *)bytes);
	free(bytes);
	return 0;
}
