/*
 * store_test.h — the store's test hooks, kept out of store.h so that nothing but a test
 * (or the test tools) reaches them.
 */
#ifndef LAZARET_STORE_STORE_TEST_H
#define LAZARET_STORE_STORE_TEST_H

#include "store/store.h"

/*
 * store_test_fail_next — the next n transactions are written, then rolled back instead
 * of committed, counted as failures and reported to their done callbacks as -EIO: the
 * path a failing COMMIT (I/O error, disk full) takes.
 */
void store_test_fail_next(struct store *st, unsigned n);

/*
 * store_test_fail_reads — the next n reads (store_load, store_history_read,
 * store_history_count, store_state_get*) fail with -EIO, as a damaged page or an I/O
 * error would make them.
 */
void store_test_fail_reads(struct store *st, unsigned n);

/*
 * store_test_hold_fold — while hold, the writer leaves the address journal unfolded when
 * idle (a lookup must then read it); false lets it fold again.
 */
void store_test_hold_fold(struct store *st, bool hold);

/*
 * store_test_hold_writes — while hold, the writer takes nothing queued (a test then queues
 * writes in the order it wants them to meet); false lets it go on. store_close lets it go.
 */
void store_test_hold_writes(struct store *st, bool hold);

/*
 * store_test_hold_fold_at_open — while hold, every store opened starts with its fold held
 * (store_test_hold_fold): a journal left by a stop stays for the test to read, where a
 * writer started at open may fold it before the test could hold it.
 */
void store_test_hold_fold_at_open(bool hold);

#endif
