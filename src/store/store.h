/*
 * store.h — the durable truth: subjects with their level and evidence, and an
 * append-only history of every level change. SQLite in WAL mode.
 *
 * Writes go through a queue to a writer thread with its own connection, so a slow
 * disk never stalls a policy answer. The writer commits whatever is queued in one
 * transaction (group commit) with synchronous=FULL, and only then reports each write
 * as done on the libuv loop: a caller that must not act before its verdict is durable
 * acts in the done callback. Reads use a second connection on the caller's thread.
 */
#ifndef LAZARET_STORE_STORE_H
#define LAZARET_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/addr.h"
#include "common/timeutil.h"

#define STORE_SUBJECT_MAX  320   /* "account:" + a 255-byte SASL name + room */
#define STORE_KIND_MAX     48
#define STORE_SUMMARY_MAX  320
#define STORE_REASON_MAX   512
#define STORE_ACTOR_MAX    64

struct store_evidence {
	char kind[STORE_KIND_MAX];         /* "ratelimit_messages", "bounce_ratio", ... */
	uint64_t count;                    /* raw events, never decayed */
	double value;                      /* decayed amount as of value_time */
	usec_t value_time;
	usec_t first_seen;
	usec_t last_seen;
	char summary[STORE_SUMMARY_MAX];   /* one line an abuse-desk agent can read out */
};

struct store_subject {
	char subject[STORE_SUBJECT_MAX];   /* "192.0.2.7", "2001:db8:1:2::/64", "account:alice" */
	int level;                         /* enum level in force */
	int manual_level;                  /* enum level set by an operator, -1 when none */
	usec_t manual_until;               /* when the manual level lapses, 0 = never */
	char manual_reason[STORE_REASON_MAX];
	bool manual_self_release;          /* the manual level lets the subscriber release it at the portal */
	usec_t rate_tat[2];                /* rate-limit state: messages, recipients */
	usec_t grace_until;                /* no automatic quarantine before (after a self-release) */
	usec_t reset_at;                   /* shared store: its last release on any node; another node's
	                                    * evidence made before it counts nothing (0: none) */
	usec_t updated;
	size_t evidence_count;
	const struct store_evidence *evidence;   /* store_put copies it */
};

struct store_history {
	usec_t time;
	char subject[STORE_SUBJECT_MAX];
	int old_level;
	int new_level;
	char actor[STORE_ACTOR_MAX];       /* "judge", "operator", "portal", ... */
	char reason[STORE_REASON_MAX];
};

/* Commit latency buckets, upper bounds in microseconds; the last is +Inf. */
#define STORE_LATENCY_BUCKETS 12
extern const double store_latency_bounds_us[STORE_LATENCY_BUCKETS - 1];

struct store_stats {
	uint64_t writes;          /* subject rows written */
	uint64_t history_rows;    /* history entries appended */
	uint64_t journal;         /* address journal rows not yet folded into the address history */
	uint64_t journal_folded;  /* ... folded since the start */
	uint64_t transactions;    /* commits */
	uint64_t failures;        /* failed commits */
	uint64_t queued;          /* writes waiting now */
	uint64_t latency_count;
	double latency_sum_us;
	uint64_t latency_bucket[STORE_LATENCY_BUCKETS];   /* cumulative is computed by the reader */
};

struct store;

/* status: 0 when committed, a negative errno-style code when the write failed; for a verdict
 * with a shared store (judge_set_shared), STORE_QUEUED: durable on this node, in force once the
 * shared store, out of reach now, has it. */
#define STORE_QUEUED 1
typedef void (*store_done_cb)(void *arg, int status);

/*
 * store_open — open or create the database at path (schema created or checked),
 * start the writer thread, and deliver done callbacks on loop (may be NULL for
 * tools that only read, or for tests that call store_flush). On failure returns NULL
 * with a message in err. Call it on the loop thread. The store keeps an active async
 * handle on the loop until store_close, so uv_run(UV_RUN_DEFAULT) does not return on
 * its own while the store is open (uv_stop it). Without a loop, done callbacks run on
 * the writer thread, before store_flush returns; they must not call store_flush or
 * store_close.
 */
struct store *store_open(const char *path, uv_loop_t *loop, char *err, size_t errlen);

/*
 * store_open_with — store_open with flags; store_open is STORE_OPEN_CREATE alone (tools,
 * tests). Without STORE_OPEN_CREATE a missing file, or one that holds no database (0
 * bytes), is refused: SQLite would make an empty store of it, forgetting every
 * quarantine. Always refused, with the reason in err: a file that cannot be read or is
 * not a database, one that cannot be written (read-only file, directory or file system,
 * a full disk: a small write is committed to find out), and with STORE_OPEN_CHECK one
 * that fails PRAGMA quick_check (which reads the whole file: 0.4-0.7 s for 200 MB, a
 * million subjects and a million history entries, from the page cache; ~5 s cold).
 */
#define STORE_OPEN_CREATE 0x1     /* create the database when the file is missing or empty */
#define STORE_OPEN_CHECK  0x2     /* PRAGMA quick_check before anything is served */
struct store *store_open_with(const char *path, uv_loop_t *loop, unsigned flags, char *err, size_t errlen);

/*
 * Commits everything queued, stops the writer, runs the done callbacks still pending,
 * closes the database. With a loop: call it on the loop thread and let the loop run
 * once more afterwards, so uv_close can release the async handle.
 */
void store_close(struct store *st);

/*
 * store_put — queue a subject's state, and when history is not NULL a history entry,
 * to be committed together atomically. The subject's evidence replaces what the store
 * had. Copies everything; done (may be NULL) runs on the loop after the commit.
 * Returns 0 or -ENOMEM; also -EINVAL (no subject name, evidence_count without
 * evidence), -E2BIG (evidence over 1 MiB encoded), -ESHUTDOWN (store_close began).
 * When it returns an error, done is never called.
 */
int store_put(struct store *st, const struct store_subject *subject,
              const struct store_history *history, store_done_cb done, void *arg);

/* One subject's rate-limit state, for store_put_rates. */
struct store_rate {
	const char *subject;               /* at most STORE_SUBJECT_MAX - 1 bytes */
	size_t subject_len;
	int level;                         /* for a subject the store has no row of yet */
	usec_t rate_tat[2];
	usec_t updated;
};

/*
 * store_put_rates — queue the rate-limit state of v[0..n) as one write, committed with
 * the writes queued around it: a row the store has gets its counters and `updated`
 * replaced and nothing else; a missing row is created with level, no evidence, no
 * manual level. For the checkpoint of subjects whose only change is their counters:
 * one allocation for all of them. 0, -EINVAL, -ENOMEM or -ESHUTDOWN.
 */
int store_put_rates(struct store *st, const struct store_rate *v, size_t n);

/*
 * The outbox (store_outbox.c): with a shared store (store/shared.h), the changes every
 * node must learn of. store_put_outbox is store_put plus one outbox row (kind, the body the
 * shared store's format gives it) in the same transaction: the change is durable on this
 * node's disk before anything else happens to it, whether PostgreSQL answers or not. Rows
 * are numbered in commit order (node_seq, never reused, even once deleted) and read back by
 * the sync thread, which pushes them and records each push (the highest node_seq it
 * covered); pushed rows go STORE_OUTBOX_KEEP after the first push that covered them
 * (pushed again after a failover to a standby that lacks them).
 * store_set_outbox_hook's hook runs on the writer thread after each commit that added rows.
 */
#define STORE_OUTBOX_KEEP (600 * USEC_PER_SEC)
int store_put_outbox(struct store *st, const struct store_subject *subject, const struct store_history *history,
    const char *kind, const char *body, store_done_cb done, void *arg);
void store_set_outbox_hook(struct store *st, void (*hook)(void *), void *arg);

struct store_outbox_row {
	int64_t node_seq;
	usec_t at;
	const char *kind;
	const char *subject;
	const char *body;
};
/* Rows with node_seq > after, in order, at most max; each()'s non-zero value stops it. The
 * number handed over, or a negative code. Any thread (the reader connection). */
int store_outbox_read(struct store *st, int64_t after, size_t max,
    int (*each)(void *arg, const struct store_outbox_row *r), void *arg);
/* Queued: rows up to upto are in the shared store (pushed at `now`); pushed rows older than
 * STORE_OUTBOX_KEEP go. 0 or a negative code. */
int store_outbox_pushed(struct store *st, int64_t upto, usec_t now);
/* The rows no push covered yet (*pending) and the highest node_seq ever given (*last). */
int store_outbox_count(struct store *st, int64_t *pending, int64_t *last);
/* Queued, and waited for (not on the loop): every row up to floor not yet pushed renumbered
 * above it, in order, and the numbering continued from there (a node whose local store is
 * newer than its changes in the shared store: its node_seq must not repeat those). Pushed
 * rows keep their numbers. 0 or a negative code. */
int store_outbox_renumber(struct store *st, int64_t floor);

/* store_forget — queue the deletion of a subject row and its evidence (history stays).
 * Returns 0, -EINVAL, -ENOMEM or -ESHUTDOWN. */
int store_forget(struct store *st, const char *subject);

/* Blocks until everything queued before the call is committed (tests, shutdown, bench). */
void store_flush(struct store *st);

/*
 * store_load — call each(arg, subject) for every subject row, with its evidence; stops
 * and returns the callback's value when it is non-zero. Reads on the caller's thread.
 * Like every read here, a database that cannot be read is a negative errno-style code
 * (logged with SQLite's message), never an empty answer.
 */
int store_load(struct store *st, int (*each)(void *arg, const struct store_subject *s), void *arg);

/* store_history_read — the newest `limit` entries for subject, oldest first; 0, each()'s
 * non-zero value, or a negative errno-style code when the history cannot be read (the
 * entries handed to each() before the error are not the whole answer). */
int store_history_read(struct store *st, const char *subject, size_t limit,
                       int (*each)(void *arg, const struct store_history *h), void *arg);

/* store_history_append — a history entry alone, the subject untouched (what an enforcer
 * did about it: a CoA and the NAS's answer). 0 or a negative code. */
int store_history_append(struct store *st, const struct store_history *h);

/* Number of history rows in the whole store (stats), or a negative errno-style code.
 * Counts rows: O(rows), meant for occasional use. */
int64_t store_history_count(struct store *st);

void store_stats_get(struct store *st, struct store_stats *out);

/*
 * store_state_put — queue a small named value (a log follower's position, ...) to be
 * committed with the writes queued before it. 0 or a negative code.
 */
int store_state_put(struct store *st, const char *key, const char *value);

/* store_state_get — the committed value of key into value; 0, -ENOENT or -EIO. */
int store_state_get(struct store *st, const char *key, char *value, size_t size);

/*
 * store_state_put_bytes — like store_state_put, for a value of len bytes of any kind
 * (a sensor's saved state; up to STORE_STATE_BYTES_MAX). Takes value, a malloc'd
 * buffer (or NULL when len is 0): the store frees it once written, or at once when it
 * returns an error — a large state is not copied on the way.
 */
#define STORE_STATE_BYTES_MAX (256u << 20)
int store_state_put_bytes(struct store *st, const char *key, void *value, size_t len);

/*
 * store_state_get_bytes — the committed value of key in a malloc'd buffer (*out, *len;
 * the caller frees it); 0, -ENOENT, -ENOMEM or -EIO.
 */
int store_state_get_bytes(struct store *st, const char *key, uint8_t **out, size_t *len);


/*
 * The address history (store_bindings.c): every interval in which a subscriber held an
 * address or prefix, for [identity] retention after it ended. One interval per address
 * is open at most; opening one closes the address's open one at the same time.
 */
#define STORE_SUBSCRIBER_MAX 256     /* a RADIUS User-Name (253 bytes) and its NUL */
#define STORE_SESSION_MAX    256
#define STORE_ORIGIN_MAX     64

struct store_binding {
	struct cidr net;
	char subscriber[STORE_SUBSCRIBER_MAX];   /* any bytes but NUL: untrusted */
	size_t subscriber_len;
	char session[STORE_SESSION_MAX];         /* Acct-Session-Id, a lease's client id; "" */
	char origin[STORE_ORIGIN_MAX];           /* the RADIUS client or lease file's name */
	char source[16];                         /* "radius", "dhcp4", "dhcp6" */
	usec_t start;
	usec_t stop;                             /* 0: still held */
	bool new_length;                         /* store_binding_open: a prefix length never bound before */
};

/* store_binding_open — b->net held by b's subscriber from b->start (b->stop 0), the
 * address's open interval (another holder's) ending then. 0 or a negative code. */
int store_binding_open(struct store *st, const struct store_binding *b, store_done_cb done, void *arg);

/* store_binding_open_event — store_binding_open from its fields (session, origin and source
 * NUL-terminated, cut to 255 bytes; NULL for none), without a struct store_binding. */
int store_binding_open_event(struct store *st, const struct cidr *net, const char *subscriber, size_t len,
    const char *session, const char *origin, const char *source, usec_t start, bool new_length,
    store_done_cb done, void *arg);

/* store_binding_close — the open interval of net, when subscriber holds it, ends at stop. */
int store_binding_close(struct store *st, const struct cidr *net, const char *subscriber, size_t len,
    usec_t stop, store_done_cb done, void *arg);

/* Intervals that ended before `before` go (at most 10 000 per call: the sweep repeats). */
int store_bindings_expire(struct store *st, usec_t before);

/* Every open interval (at start, before any binding is written: the address journal is
 * folded first, and one left unfolded is -EIO), in no particular order; each()'s non-zero
 * value stops it. */
int store_bindings_load_open(struct store *st, int (*each)(void *arg, const struct store_binding *b), void *arg);

/* The interval of exactly net that covered time at: 1 and *out, 0 when none, or a negative code. */
int store_binding_at(struct store *st, const struct cidr *net, usec_t at, struct store_binding *out);

/* The newest `limit` intervals of exactly net, newest first. */
int store_binding_history(struct store *st, const struct cidr *net, size_t limit,
    int (*each)(void *arg, const struct store_binding *b), void *arg);

/* The prefix lengths ever bound, per family: lengths4[p] / lengths6[p] set to 1 for each. */
int store_binding_lengths(struct store *st, uint8_t lengths4[33], uint8_t lengths6[129]);

/*
 * The reports' memory (sense/report_intake.h): the keys (digests, at most
 * STORE_REPORT_KEY_MAX bytes) of the reports and files read, with when. remember and
 * forget (every key older than before) are queued writes; seen is a read on the reader
 * connection: 1 (and *at, when not NULL), 0, or a negative code.
 */
#define STORE_REPORT_KEY_MAX 32
int store_report_remember(struct store *st, const void *key, size_t len, usec_t at);
int store_report_forget(struct store *st, usec_t before);
int store_report_seen(struct store *st, const void *key, size_t len, usec_t *at);

#endif
