/*
 * shared.h — several nodes, one truth: the shared store on PostgreSQL ([daemon] store =
 * postgresql://...; doc/SPEC-dev.md, "The shared store on PostgreSQL").
 *
 * Each node keeps its SQLite store as its durable local truth and outbox: a verdict is
 * committed there with an outbox row (store_put_outbox) before anything else. A sync
 * thread per node, with a libpq connection of its own (store/pg.h), pushes the outbox to
 * PostgreSQL's change feed (lz_changes: since schema 5 a push of up to SHARED_PUSH_BATCH
 * changes is one row, a line each, numbered by (node, its last node_seq), so a push
 * repeated after a reconnect or a failover lands once; seq is one order for all rows, given
 * under a lock so that it is also the order of the commits), and pulls every change after the
 * last one it handed on — after a NOTIFY wakes it and, unconditionally, after every
 * reconnect, so a lost notification never leaves a node behind. Changes reach the loop
 * in seq order through shared_apply_fn; the node's own come back the same way, so every
 * node applies every verdict in one order and all end up alike. Nothing on the loop ever
 * waits for PostgreSQL: when it is unreachable the outbox grows on the local disk and
 * existing verdicts stay in force; the pushes resume from PostgreSQL's own record of this
 * node's last change once it is back.
 *
 * A heartbeat (every second) records the node in lz_nodes (its last contact and the
 * newest change it applied) and reads every node's row back for shared_nodes.
 */
#ifndef LAZARET_STORE_SHARED_H
#define LAZARET_STORE_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/subject_text.h"
#include "common/timeutil.h"
#include "store/store.h"

#define SHARED_NODE_MAX 64          /* a node's name and its NUL */
#define SHARED_KIND_VERDICT "verdict"

struct shared;

/* A level change, as every node applies it (the body of a "verdict" change). */
struct shared_verdict {
	int level;                          /* enum level: the subject's level from now */
	int old_level;                      /* as the node that made it saw it */
	int manual_level;                   /* -1: none */
	usec_t manual_until;
	usec_t grace_until;
	usec_t time;                        /* when it was made */
	bool self_release;                  /* the manual level lets the subscriber release it */
	bool reset;                         /* a release: the subject's decayed evidence goes */
	uint64_t tag;                       /* the making node's handle on it (below 2^63) */
	char manual_reason[STORE_REASON_MAX];
	char actor[STORE_ACTOR_MAX];
	char reason[STORE_REASON_MAX];
};

/*
 * shared_verdict_encode — v as the JSON body of a change, malloc'd into *out (the caller
 * frees it). 0, -EINVAL (a level out of range) or -ENOMEM. Nodes before schema 3 wrote
 * this body (lz_changes.body), and their outbox rows hold it; today's write the line below.
 */
int shared_verdict_encode(const struct shared_verdict *v, char **out);

/*
 * shared_verdict_decode — a change's body (len bytes, from PostgreSQL: written by another
 * node, read as untrusted) into *out. 0, or -EINVAL for anything that is not an object with
 * every field of the right type and range (texts that do not fit, levels outside enum
 * level, negative times, a "v" other than "1"): such a change is counted and skipped.
 */
int shared_verdict_decode(const char *body, size_t len, struct shared_verdict *out);

/* The body's members, in the order shared_verdict_fields names them. */
enum shared_verdict_field {
	SHARED_F_LEVEL, SHARED_F_OLD, SHARED_F_MANUAL_LEVEL, SHARED_F_MANUAL_UNTIL, SHARED_F_MANUAL_REASON,
	SHARED_F_SELF_RELEASE, SHARED_F_GRACE_UNTIL, SHARED_F_TIME, SHARED_F_ACTOR, SHARED_F_REASON,
	SHARED_F_RESET, SHARED_F_TAG, SHARED_F_VERSION, SHARED_F_COUNT
};
extern const char *const shared_verdict_fields[SHARED_F_COUNT];

/*
 * shared_verdict_from_fields — a verdict from its members as texts: value[i] NULL when
 * member i is absent, len[i] its bytes (a text may hold a NUL, which is refused). Strings
 * as they are, numbers in decimal, booleans "true" or "false". Both decoders end here (the
 * verdict line's, once it is split and unescaped; the JSON body's, each member put as this
 * text): 0, or -EINVAL with *out zeroed.
 */
int shared_verdict_from_fields(const char *const value[SHARED_F_COUNT], const size_t len[SHARED_F_COUNT],
    struct shared_verdict *out);

/*
 * The verdict line: a change's verdict as nodes of schema 3 on write it (lz_changes.verdict;
 * the local outbox holds the same line). Its members as shared_verdict_from_fields reads them,
 * in shared_verdict_fields' order, separated by one tab each; a backslash, tab or newline in a
 * text written as \\, \t, \n, so a line holds neither a tab of its own nor a newline.
 * SHARED_LINE_MAX: the longest line (every text at twice its bytes), with its NUL.
 */
#define SHARED_LINE_MAX (2 * (2 * STORE_REASON_MAX + STORE_ACTOR_MAX) + 256)

/*
 * shared_verdict_line — v's line into buf (size bytes, SHARED_LINE_MAX always does), ended by
 * a NUL. Its length, or -EINVAL for what shared_verdict_encode refuses too (a level out of
 * range, a text not UTF-8 or not ended within its array, an empty actor) or a buf too small.
 */
int shared_verdict_line(const struct shared_verdict *v, char *buf, size_t size);

/*
 * shared_verdict_line_decode — a verdict line (len bytes, from PostgreSQL or this node's
 * outbox: read as untrusted; need not end in a NUL) into *out. 0, or -EINVAL with *out
 * zeroed: not exactly SHARED_F_COUNT members, an escape other than the three, a raw newline,
 * a text that is not UTF-8, or a member shared_verdict_from_fields refuses.
 */
int shared_verdict_line_decode(const char *line, size_t len, struct shared_verdict *out);

/* One change of the feed, as the loop gets it. */
struct shared_change {
	int64_t seq;                        /* its place in the one order of all changes: its row's */
	int64_t upto;                       /* the feed's seq applied in full once this change is: seq,
	                                     * or for all but the last line of a batch row, the seq
	                                     * before its row (a crash in a row reads it again) */
	int64_t node_seq;
	usec_t at;
	bool own;                           /* made by this node (this run's or an earlier one's) */
	bool refused;                       /* own, and refused by the server: set aside, never in the feed */
	char node[SHARED_NODE_MAX];
	char subject[STORE_SUBJECT_MAX];
	struct shared_verdict verdict;
};

/*
 * A batch row (schema 5): a push of several of one node's changes as one row of lz_changes,
 * kind SHARED_KIND_BATCH, its subject empty, its node_seq and at its last change's, its
 * verdict column a line a change, each ended by a newline: the change's node_seq and at in
 * decimal, its subject as subject_text_encode writes it, its verdict line, separated by one
 * tab each (the subject text and the verdict line hold no tab nor newline of their own).
 * SHARED_BATCH_LINE_MAX: the longest line, its newline and a NUL.
 */
#define SHARED_KIND_BATCH "verdicts"
#define SHARED_BATCH_LINE_MAX (2 * 21 + SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX) + SHARED_LINE_MAX + 4)

/*
 * shared_batch_line — a batch row's line for a change (subject: its subject text, verdict: its
 * verdict line, both as this node wrote them) into buf, its newline and a NUL after it. Its
 * length with the newline, or -EINVAL: a number below 0 (node_seq below 1), a member with a
 * tab or a newline, or buf too small.
 */
int shared_batch_line(int64_t node_seq, int64_t at, const char *subject, const char *verdict, char *buf,
    size_t size);

/*
 * shared_batch_line_decode — one line of a batch row (len bytes without its newline; read as
 * untrusted) into out's node_seq, at, subject and verdict (the rest of out untouched). Only
 * what shared_batch_line writes is accepted: numbers in decimal without a sign or a leading
 * zero, the subject text as subject_text_encode writes it, the verdict line as
 * shared_verdict_line_decode takes it. 0, or -EINVAL.
 */
int shared_batch_line_decode(const char *line, size_t len, struct shared_change *out);

/* On the loop, in seq order. */
typedef void (*shared_apply_fn)(void *arg, const struct shared_change *c);
/* On the loop: the link to PostgreSQL came up or went down. */
typedef void (*shared_link_fn)(void *arg, bool up);

/*
 * Evidence. Each node publishes its own evidence about each subject (shared_publish: the
 * latest state of one kind, not a delta, so a publication repeated or lost and made again
 * counts once). Since schema 4 a push of publications is one row of lz_evidence_log, a line
 * each (the evidence line, below); every node reads the other nodes' rows after the last it
 * read and adds their publications to its own: a subject's evidence is the sum over nodes,
 * as if one node had seen everything. Once a minute, outside a burst, each node folds the
 * newest of its publications since its last fold into lz_evidence (one row per subject,
 * node and kind) and records the log seq the fold covers (lz_nodes.evidence_folded): a node
 * starting from nothing, or after a failover or a long absence, reads lz_evidence, then
 * each node's log rows after its fold. Log rows go once folded and an hour old.
 * Publications wait in memory, the newest per (subject, kind), while PostgreSQL is away.
 */
struct shared_evidence {
	char subject[STORE_SUBJECT_MAX];
	char node[SHARED_NODE_MAX];        /* whose (filled in on the way out) */
	char kind[STORE_KIND_MAX];
	double value;                      /* decayed amount as of value_time */
	usec_t value_time;
	usec_t first_seen;
	usec_t last_seen;
	uint64_t count;
	char summary[STORE_SUMMARY_MAX];
};
/* The columns of an lz_evidence row as the feed reads them. */
enum shared_evidence_column {
	SHARED_E_SUBJECT, SHARED_E_NODE, SHARED_E_KIND, SHARED_E_VALUE, SHARED_E_VALUE_TIME, SHARED_E_COUNT,
	SHARED_E_FIRST_SEEN, SHARED_E_LAST_SEEN, SHARED_E_SUMMARY, SHARED_E_COLUMNS
};

/*
 * shared_evidence_from_columns — another node's evidence row (written by it, read as
 * untrusted) from its columns' texts: value[i] NULL when column i is NULL, len[i] its bytes.
 * The subject as subject text (decoded), node, kind and summary texts that fit their fields
 * without a NUL, the value a finite number in [0, 1e300), times and count plain decimals,
 * none negative. 0, or -EINVAL with *out zeroed: the row is counted and skipped.
 */
int shared_evidence_from_columns(const char *const value[SHARED_E_COLUMNS], const size_t len[SHARED_E_COLUMNS],
    struct shared_evidence *out);

/*
 * The evidence line (schema 4): a publication as one line of lz_evidence_log.lines, where
 * each push of a node is one row of many lines, each ended by a newline. Its members, tab-separated,
 * each escaped as the verdict line's texts (`\\`, `\t`, `\n`): the subject as subject
 * text, kind, value ("%.17g"), value_time, count, first_seen, last_seen, summary; the node is
 * the row's. SHARED_EV_LINE_MAX: the longest line, with its NUL.
 */
#define SHARED_EV_LINE_FIELDS 8
#define SHARED_EV_LINE_MAX (2 * (SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX) + STORE_KIND_MAX + STORE_SUMMARY_MAX) + 8 * 32)
/*
 * shared_evidence_line — e's line (its node aside) into buf (size bytes; SHARED_EV_LINE_MAX
 * always does), NUL-terminated, without the newline. Its length, or -EINVAL for what
 * shared_evidence_line_decode would refuse (an empty subject, a value not in [0, 1e300),
 * a negative time, a count beyond INT64_MAX, a kind or summary not UTF-8) or a short buf.
 */
int shared_evidence_line(const struct shared_evidence *e, char *buf, size_t size);
/*
 * shared_evidence_line_decode — an evidence line (len bytes, no newline; read as untrusted)
 * of node's into *out. Exactly the lines shared_evidence_line writes are accepted, byte for
 * byte. 0, or -EINVAL with *out zeroed.
 */
int shared_evidence_line_decode(const char *line, size_t len, const char *node, struct shared_evidence *out);

/* On the loop: another node's evidence (never this node's own). */
typedef void (*shared_evidence_fn)(void *arg, const struct shared_evidence *e);
/* Before shared_start: where other nodes' evidence goes (NULL: it is not read). */
void shared_set_evidence(struct shared *sh, shared_evidence_fn fn);
/* On the loop, before a run of at most SHARED_PREFETCH changes c[0..n) or publications
 * e[0..n) (the other NULL) is applied: a chance to ask for the memory they will touch. */
#define SHARED_PREFETCH 32
typedef void (*shared_prefetch_fn)(void *arg, const struct shared_change *c, const struct shared_evidence *e,
    size_t n);
/* Before shared_start (NULL: none). */
void shared_set_prefetch(struct shared *sh, shared_prefetch_fn fn);
/* Queue this node's evidence e for publication (loop thread; e->node is ignored). 0 or -ENOMEM. */
int shared_publish(struct shared *sh, const struct shared_evidence *e);
/* The sync thread folds what it has not folded at once, burst or not (any thread; tests). */
void shared_fold_soon(struct shared *sh);
/* The sync thread compacts the batch rows older than the retention now (shared_compact, once a
 * day otherwise), if it gets the trim's lock (any thread; tests). */
void shared_compact_soon(struct shared *sh);

/*
 * Ownership: one node judges each subject — the owner, by rendezvous hashing of the
 * subject's key over the nodes in contact within SHARED_LIVE (as of the last heartbeat),
 * this node always among them. Every node adds every node's evidence; only the owner turns
 * it into automatic verdicts, so two nodes never judge one subject at once, and when a
 * node goes quiet its subjects fall to the others. Loop thread; true before any contact.
 */
#define SHARED_LIVE (10 * USEC_PER_SEC)
bool shared_owns(struct shared *sh, const char *key, size_t len);

struct shared_stats {
	bool up;                            /* connected to a read-write primary, schema checked */
	uint64_t connects;                  /* successful connects (1 after the first) */
	uint64_t pushed;                    /* changes pushed by this run */
	uint64_t pulled;                    /* changes handed to the loop */
	uint64_t skipped;                   /* changes that could not be read (logged) */
	uint64_t outdated;                  /* changes in JSON made after migration 3: an older node runs */
	uint64_t evidence_published;        /* publications this node pushed (lines of the log) */
	uint64_t evidence_folded;           /* its publications folded into lz_evidence */
	uint64_t evidence_read;             /* other nodes' publications handed to the loop */
	uint64_t evidence_pending;          /* publications waiting for PostgreSQL */
	size_t live_nodes;                  /* nodes sharing the judging (ownership), this one included */
	int64_t applied;                    /* the newest change applied (seq) */
	int64_t newest;                     /* the newest change in PostgreSQL, at the last heartbeat */
	int64_t outbox;                     /* this node's changes not yet in PostgreSQL */
};

struct shared_node {
	char name[SHARED_NODE_MAX];
	char role[64];
	char version[32];
	usec_t started;
	usec_t last_contact;
	usec_t age;                         /* since its last contact, by the server's clock */
	int64_t applied;
	char enforcing[64];
};

/*
 * shared_new — the shared store at conninfo for node (a name of [A-Za-z0-9._-], 1-63
 * bytes) with its local store st, applying changes on loop. role and enforcing are what
 * lz_nodes shows of it ("relay", "nftables+radius"). Nothing is connected until
 * shared_start. NULL with a message in err.
 */
struct shared *shared_new(const char *conninfo, const char *node, const char *role, const char *enforcing,
    struct store *st, uv_loop_t *loop, shared_apply_fn apply, shared_link_fn link, void *arg,
    char *err, size_t errlen);

/*
 * shared_start — starts the sync thread, which pulls every change after `applied` (the seq
 * the store's state "shared:applied" holds from an earlier run; 0 the first time). 0 or a
 * negative code.
 */
int shared_start(struct shared *sh, int64_t applied);

/* shared_stop_free — stops the sync thread (a push under way finishes), frees everything;
 * on the loop thread, which must run once more to close the async handle. */
void shared_free(struct shared *sh);

/* Wakes the sync thread: the outbox has rows (any thread; store_set_outbox_hook's hook). */
void shared_kick(void *sh);

bool shared_up(const struct shared *sh);
const char *shared_node_name(const struct shared *sh);
void shared_stats_get(struct shared *sh, struct shared_stats *out);

/* The nodes as the last heartbeat read them: each(arg, node) per node, by name; the count. */
size_t shared_nodes(struct shared *sh, void (*each)(void *arg, const struct shared_node *n), void *arg);

/* The store state keys of the newest change applied, and of the server it came from
 * ("SYSTEM_IDENTIFIER TIMELINE"). */
#define SHARED_APPLIED_KEY "shared:applied"
#define SHARED_SERVER_KEY "shared:server"

/* Whether name is a valid node name. */
bool shared_node_name_valid(const char *name);

#endif
