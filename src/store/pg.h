/*
 * pg.h — one blocking libpq connection to PostgreSQL, owned by one dedicated thread (the
 * store's writer and sync threads each own one): connect and reconnect with backoff to a
 * read-write primary, statements with every failure mapped to a code, LISTEN/NOTIFY and a
 * wait on the socket. Nothing here may run on the libuv loop: every call can block for as
 * long as the server or the network takes (connect_timeout bounds a connection attempt).
 * Not thread-safe: a connection belongs to the thread that calls it.
 *
 * Error convention: 0 (or a count, or a flag set) on success, a negative errno-style code:
 *   -ENOTCONN  not connected, or the connection died (the statement's outcome is unknown)
 *   -EROFS     the server is a standby or went read-only (25006): not usable for writes
 *   -EAGAIN    pg_conn_ensure within its backoff, or a serialization failure / deadlock
 *   -EEXIST    unique violation (23505)
 *   -ECANCELED statement cancelled (57014), or a COMMIT that rolled back
 *   -EINVAL    a bad argument (a channel name that is no identifier)
 *   -ENOMEM    out of memory
 *   -EIO       any other error the server reported (its SQLSTATE in pg_conn_sqlstate)
 * -ENOTCONN and -EROFS mark the connection down: the next pg_conn_ensure reconnects.
 */
#ifndef LAZARET_STORE_PG_H
#define LAZARET_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/timeutil.h"

struct pg_conn;

/*
 * pg_conninfo_check — 0 if libpq accepts conninfo (a URI postgresql:// or postgres://,
 * multi-host included, or a key=value string), else -EINVAL with libpq's reason in err
 * (NUL-terminated, truncated to errlen), every password in it masked.
 */
int pg_conninfo_check(const char *conninfo, char *err, size_t errlen);

/*
 * pg_conninfo_is_pg — does a value of [daemon] store name PostgreSQL rather than an SQLite
 * file? True for a URI with the scheme postgresql:// or postgres://, and for a key=value
 * string whose first key is one libpq knows (host=, dbname=, service=, ...). Anything else
 * is a file path: "var/lazaret.db", "/srv/a=b.db" ("/srv/a" is no libpq key). A file that
 * must be called "host=x" is written "./host=x".
 */
bool pg_conninfo_is_pg(const char *store);

/*
 * pg_conninfo_mask — text (a conninfo, or a message that may quote one) into out (size > 0,
 * NUL-terminated, truncated) with every password conninfo holds (password=..., the
 * user:password@ of a URI, ?password=) replaced by "****". Returns out.
 */
char *pg_conninfo_mask(const char *conninfo, const char *text, char *out, size_t size);

/*
 * pg_backoff — how long to wait before connection attempt number `failures` + 1 after
 * `failures` attempts in a row failed: 0 after none, then 100 ms doubling to a cap of 5 s,
 * each drawn in [half, whole] of that step by rnd (any 32 random bits), so that nodes that
 * lost the server together do not come back in step. Pure.
 */
usec_t pg_backoff(unsigned failures, uint32_t rnd);
#define PG_BACKOFF_FIRST (100 * (USEC_PER_SEC / 1000))
#define PG_BACKOFF_MAX   (5 * USEC_PER_SEC)

/*
 * pg_conn_new — a connection object for conninfo (not connected yet: pg_conn_ensure
 * connects). application_name (the node's name; may be NULL) names its sessions in
 * pg_stat_activity, over any the conninfo sets; connect_timeout is 5 s unless the conninfo
 * sets one. NULL when out of memory.
 */
struct pg_conn *pg_conn_new(const char *conninfo, const char *application_name);
void pg_conn_free(struct pg_conn *c);

/*
 * pg_conn_ensure — 0 when c is connected to a read-write primary, connecting first if it is
 * down. A server in recovery (a standby, whatever target_session_attrs let through) is
 * refused (-EROFS) and treated as down. After a failed attempt, further calls return -EAGAIN
 * without touching the network until pg_backoff's delay has passed (pg_conn_retry_in), so a
 * thread looping on it never hammers a dead server. After each successful connect the
 * generation is one higher, the server's identity read again and every channel of
 * pg_listen listened on again.
 */
int pg_conn_ensure(struct pg_conn *c);
/* Microseconds until pg_conn_ensure will try again (0: it will now). */
usec_t pg_conn_retry_in(const struct pg_conn *c);
bool pg_conn_up(const struct pg_conn *c);
/* Successful connects so far: a caller that saw generation g and now sees another runs its
 * catch-up (notifications sent while it was away are lost). */
uint64_t pg_conn_generation(const struct pg_conn *c);

/*
 * The server the current (or last) connection reached, read at connect. A promoted standby
 * keeps its primary's system_identifier and has a higher timeline: same identifier and a
 * new timeline is a failover, another identifier another cluster altogether.
 */
struct pg_server {
	uint64_t system_identifier;  /* pg_control_system() */
	uint32_t timeline;           /* of pg_current_wal_lsn(), as pg_walfile_name() names it */
	uint64_t lsn;                /* pg_current_wal_lsn() at connect */
	int version;                 /* PQserverVersion: 150018 */
	int backend_pid;             /* PQbackendPID: the sender pid other sessions' notifications carry */
};
const struct pg_server *pg_conn_server(const struct pg_conn *c);

/* The SQLSTATE of the last failure ("" when it had none: a client-side error), and its
 * message, password-masked. Valid until the next call on c. */
const char *pg_conn_sqlstate(const struct pg_conn *c);
const char *pg_conn_error(const struct pg_conn *c);
/* The conninfo with its passwords masked, for logs. */
const char *pg_conn_target(const struct pg_conn *c);

/*
 * pg_exec — run sql (no parameters; may hold several statements) and discard its result.
 * 0 or an error code as above (logged with the SQLSTATE and the server's message).
 */
int pg_exec(struct pg_conn *c, const char *sql);

/*
 * pg_exec_params — run one statement with parameters $1..$n (PQexecParams: values never go
 * into the SQL text). values, lengths and formats as libpq takes them (lengths and formats
 * may be NULL for text). The result is text. On success *out (if out is not NULL) holds the
 * result, the caller's to PQclear; on failure *out is NULL.
 */
int pg_exec_params(struct pg_conn *c, const char *sql, int nparams, const char *const *values,
    const int *lengths, const int *formats, PGresult **out);

/*
 * pg_exec_cached — pg_exec_params (text parameters and result) for a statement a thread runs
 * again and again: prepared on its first use on each connection, then only executed, so the
 * server neither parses nor plans it anew each time (nor copies a batch's arrays into a plan
 * made for their values). A statement is known by its text: one whose text changes (a
 * value written into it) is a new statement each time; give it its values as parameters.
 * Past PG_PREPARED_MAX statements a connection runs the others unprepared. pg_exec_notify
 * prepares its statement the same way.
 */
#define PG_PREPARED_MAX 32
int pg_exec_cached(struct pg_conn *c, const char *sql, int nparams, const char *const *values, PGresult **out);

/*
 * A text array literal built element by element ('{"a","b\\"c"}'), so that a batch of rows
 * goes as one parameter a column (INSERT ... SELECT FROM unnest($2::text[], ...)): one
 * short statement the server parses and plans once, whatever the batch's size. Every
 * element is quoted, '"' and '\\' escaped; a text holds no NUL. Out of memory is sticky:
 * pg_array_text then returns NULL.
 */
struct pg_array {
	char *text;
	size_t len, cap;
	size_t n;                       /* elements added */
	bool failed;
};
void pg_array_add(struct pg_array *a, const char *s, size_t len);
/* The literal, closed (call once, after the last element); NULL when memory ran out. */
const char *pg_array_text(struct pg_array *a);
void pg_array_free(struct pg_array *a);

/*
 * pg_exec_notify — one write transaction in one round trip: sql with its parameters (as
 * pg_exec_params, result discarded), then pg_notify(channel, payload), committed together:
 * libpq's pipeline sends both and a sync point, and the server runs what comes before a sync
 * point as one implicit transaction. An advisory lock sql takes (in a MATERIALIZED CTE its
 * rows are joined with) is held for the server's own work and its commit, never across a
 * round trip to a client that may be waiting for a CPU, and is taken after the server has
 * bound, that is parsed, the parameters. sql is prepared as pg_exec_cached's. 0, or an error code as
 * pg_exec_params (the first statement's that failed): then nothing was committed, except
 * with -ENOTCONN, where the outcome is unknown (the write must be idempotent). Not inside a
 * pg_begin transaction.
 */
int pg_exec_notify(struct pg_conn *c, const char *sql, int nparams, const char *const *values,
    const char *channel, const char *payload);

/* Transactions. A failed pg_commit with -ENOTCONN leaves the outcome unknown: writes that
 * are retried must be idempotent. A COMMIT the server turned into a ROLLBACK (the
 * transaction had failed) returns -ECANCELED. pg_rollback on a dead connection is 0: the
 * server rolled back when the session ended. */
int pg_begin(struct pg_conn *c);
int pg_commit(struct pg_conn *c);
int pg_rollback(struct pg_conn *c);

/*
 * pg_listen — LISTEN on channel (an identifier: letters, digits, _; up to 63 bytes), now if
 * connected and again after every reconnect. 0, -EINVAL, -ENOMEM, or the LISTEN's error
 * (the channel stays remembered: the next connect listens).
 */
int pg_listen(struct pg_conn *c, const char *channel);

/* pg_notify — NOTIFY channel with payload (both parameters of pg_notify(), any text up to
 * the server's 8000 bytes); delivered at commit when inside a transaction. */
int pg_notify(struct pg_conn *c, const char *channel, const char *payload);

typedef void (*pg_notify_fn)(void *arg, const char *channel, const char *payload, int sender_pid);

#define PG_WAIT_NOTIFY 0x1  /* one notification or more handed to each */
#define PG_WAIT_WAKE   0x2  /* wake_fd was readable (and was read once) */

/*
 * pg_wait — wait up to timeout_ms (-1: no limit) for notifications on c's socket or for
 * wake_fd (an eventfd or a pipe's read end the owner thread is woken through; -1: none),
 * and hand every pending notification to each(arg, channel, payload, sender_pid). Returns
 * PG_WAIT_NOTIFY and/or PG_WAIT_WAKE, 0 on timeout (or a signal), or -ENOTCONN when the
 * connection is down or died while waiting (then marked down).
 */
int pg_wait(struct pg_conn *c, int wake_fd, int timeout_ms, pg_notify_fn each, void *arg);

#endif
