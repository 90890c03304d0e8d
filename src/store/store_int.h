/*
 * store_int.h — what the store's own parts outside store.c (store_bindings.c) use of
 * it: a write of their own run inside the writer's group commit, prepared statements
 * kept on the writer's connection, and the reader connection. Nothing outside src/store
 * includes this.
 */
#ifndef LAZARET_STORE_STORE_INT_H
#define LAZARET_STORE_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* A write of a store part: runs on the writer thread inside the open transaction;
 * returns an SQLite code (SQLITE_OK or the failure, which rolls the batch back). */
typedef int (*store_write_fn)(struct store *st, const void *ctx);

/*
 * store_enqueue_write — queues fn(st, ctx) like any write: committed with the others,
 * done(arg, status) on the loop after. ctx (ctx_len bytes) is copied into the queued
 * write. 0, -ENOMEM or -ESHUTDOWN.
 */
int store_enqueue_write(struct store *st, store_write_fn fn, const void *ctx, size_t ctx_len,
    store_done_cb done, void *arg);

#define STORE_WRITER_STMTS 19
/* The slots of each part: store_bindings.c 0-5 and these, store_reports.c: */
#define STORE_SLOT_BINDINGS_JOURNAL 6       /* its INSERT */
#define STORE_SLOT_BINDINGS_FOLD_READ 7
#define STORE_SLOT_REPORT_REMEMBER 8
#define STORE_SLOT_REPORT_FORGET 9
#define STORE_SLOT_BINDINGS_FOLD_DELETE 10
/* store_outbox.c: */
#define STORE_SLOT_OUTBOX_INSERT 11
#define STORE_SLOT_OUTBOX_PUSHED 12
#define STORE_SLOT_OUTBOX_TRIM 13
#define STORE_SLOT_OUTBOX_SEQ 14          /* renumber: its sequence (two statements: 14, 15) */
#define STORE_SLOT_OUTBOX_NEG 16          /* renumber: its rows (16, 17) */
#define STORE_SLOT_OUTBOX_PUSHES_TRIM 18

/* The writer's prepared statement in slot (< STORE_WRITER_STMTS) for sql, prepared on
 * first use and kept until the store closes; NULL on error. Writer thread only. */
sqlite3_stmt *store_writer_stmt(struct store *st, unsigned slot, const char *sql);

/* The reader connection (serialized mode: any thread). */
sqlite3 *store_reader(struct store *st);

/* Steps a write statement to completion and resets it; an SQLite code. */
int store_step(sqlite3_stmt *stmt);

/* An SQLite result code as a negative errno-style code (0 for OK/DONE/ROW). */
int store_errno(int rc);

/* Copies src (srclen bytes, maybe unterminated) into dst, truncating, always terminated. */
void store_copy(char *dst, size_t size, const void *src, size_t srclen);

/* True when a read is to fail (store_test_fail_reads): counts it down. */
bool store_read_fault(struct store *st);

/*
 * The address journal (store_bindings.c): the Starts and Stops of a transaction are
 * buffered as they are written and appended at its COMMIT as one row of packed events
 * (store_bindings_journal_flush), unindexed, and folded into the indexed address history
 * in batches while the writer has nothing else to do (or alongside, once the journal is
 * long): a storm of them costs a few bytes each rather than a random write into every
 * index and a row each. Lookups read the journal's events on top of the history.
 */
#define STORE_JOURNAL_FILTER_BITS (1u << 24)
struct store_journal {
	/* networks with journal events: one bit per hash, set before an event of the network
	 * is committed, all cleared by the store once the journal is empty (any thread reads) */
	_Atomic uint64_t *filter;
	/* writer thread only */
	uint8_t *buf;                  /* the open transaction's events, packed */
	size_t len, cap;
	long buffered;                 /* events in buf */
	long events;                   /* events in the table */
	long delta;                    /* ... gained or lost in the open transaction */
};
struct store_journal *store_journal(struct store *st);

/* store_journal_changed — writer thread, inside a write: the table gained (delta > 0) or
 * lost events; counted once the transaction commits. */
void store_journal_changed(struct store *st, long delta);

/* store_bindings_journal_flush — writer thread, before COMMIT: the buffered events as one
 * journal row. An SQLite code. */
int store_bindings_journal_flush(struct store *st);

/* store_bindings_fold — writer thread, inside a transaction: folds the oldest journal rows
 * (about max events); the events folded, or -1 with an SQLite code in *rc. */
long store_bindings_fold(struct store *st, size_t max, int *rc);

/* The address history's tables (store_bindings.c), created on open when missing. */
extern const char store_bindings_schema[];
/* The reports' memory (store_reports.c). */
extern const char store_reports_schema[];
/* The outbox of changes for the shared store (store_outbox.c). */
extern const char store_outbox_schema[];

/* store_outbox_insert — writer thread, inside a write: one change into the outbox. An
 * SQLite code. */
int store_outbox_insert(struct store *st, usec_t at, const char *kind, const char *subject, size_t subject_len,
    const char *body, size_t body_len);

#endif
