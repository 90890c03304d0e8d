/*
 * shared.c — the shared store's sync thread and change format (shared.h).
 */
#include "store/shared.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jansson.h>

#include "common/background.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/level.h"
#include "common/log.h"
#include "common/strview.h"
#include "common/subject_text.h"
#include "store/pg.h"
#include "store/pg_schema.h"

#define SHARED_PUSH_BATCH  2048         /* outbox rows per INSERT (5 parameters each, and the node) */
#define SHARED_PUSH_TURN   4            /* batches pushed before the next pull */
/* Changes per SELECT and per hand-over to the loop: four full batch rows. Fewer a query made
 * PostgreSQL and the sync thread of every node take a round trip a row in a burst (bench/README,
 * "Batches compressed with lz4, four rows a query"). */
#define SHARED_PULL_BATCH  8192
#define SHARED_APPLY_TURN  1000         /* changes or publications the loop applies a turn */
#define SHARED_STATE_ROWS  1000         /* lz_evidence rows a query (shared_pull_rows) */
/* Batches waiting for the loop before the pull waits: with the one it applies, three (a
 * change is 1.5 KiB in memory, a batch has room for SHARED_BATCH_CHANGES: 16 MiB) */
#define SHARED_QUEUE_MAX   2
#define SHARED_BEAT        USEC_PER_SEC
/* After a failover, the changes re-read: a promoted standby may have given the numbers of
 * the old primary's last changes, lost with it, to others (each node pushes its own again;
 * changes already applied are known by (node, node_seq) and skipped). */
#define SHARED_REREAD      100000
#define SHARED_ORIGINS_MAX 256          /* nodes whose last applied node_seq is remembered */
/* The lock every push of changes takes: "lzchange" as a number. Pushes are serialized by
 * it, so the order of seq, given inside, is the order of the commits: a pull that read up to
 * seq N never finds a smaller seq committed later. Evidence has a lock of its own for the
 * same reason (its seq is another sequence, read by another pull): a burst of evidence
 * from one node never waits behind another node's verdicts, nor they behind it. */
#define SHARED_PUSH_LOCK   "7816113209573599077"
#define SHARED_EV_LOCK     "7816113209573599079"
/* The feed's trim, by whichever node gets the lock first, every hour: a change superseded by a
 * newer one of its subject goes once older than this (a node catching up needs only each
 * subject's newest: a change carries the whole verdict), and so does evidence not renewed
 * for as long (decayed to nothing by then); 10 000 rows a statement. */
#define SHARED_RETENTION   (30LL * 86400 * USEC_PER_SEC)
#define SHARED_TRIM_EVERY  (3600 * USEC_PER_SEC)
#define SHARED_TRIM_LOCK   "7816113209573599078"
/* A batch row has no subject to find a newer change by: once a day, under the same lock, the
 * batch rows older than the retention are rewritten to keep only the lines that are their
 * subject's newest change, or deleted when none is (shared_compact). */
#define SHARED_COMPACT_EVERY (86400 * USEC_PER_SEC)
#define SHARED_EV_BATCH    2000         /* publications per log row, and per fold's upsert */
/* A publication waits this long for others to go with it (a busy relay republishes the same
 * hosts' rate evidence many times a second: the newest of a key replaces the one waiting),
 * unless a whole batch is waiting. Evidence adds up across nodes "within a few seconds" (issue 12). */
#define SHARED_EV_LINGER   (USEC_PER_SEC / 20)
/* a change in JSON made this long after migration 3 (the nodes' clocks against the server's)
 * comes from a node of an older version */
#define SHARED_OUTDATED_SLACK (60 * USEC_PER_SEC)
#define SHARED_PUB_MAX     2000000      /* publications waiting at most: beyond, the oldest go */
/* The evidence log: each node folds its publications into lz_evidence this often, unless a
 * burst is going on (then as soon as it has been quiet for SHARED_FOLD_QUIET, or after
 * SHARED_FOLD_LATE in any case); log rows go once folded and older than SHARED_LOG_KEEP.
 * A node away for longer than half of that reads the evidence from the start again. The
 * pull reads SHARED_LOG_ROWS rows a query (each up to SHARED_EV_BATCH lines). */
#define SHARED_FOLD_EVERY  (60 * USEC_PER_SEC)
#define SHARED_FOLD_QUIET  (2 * USEC_PER_SEC)
#define SHARED_FOLD_LATE   (300 * USEC_PER_SEC)
#define SHARED_LOG_KEEP    (3600LL * USEC_PER_SEC)
#define SHARED_LOG_ROWS    4
#define SHARED_UNFOLDED_PAGE 16         /* own log rows a query when a run loads what it left unfolded */
/* The owners' hash: the same on every node (hash_bytes is keyed per process) */
static const uint8_t shared_owner_key[16] = "lazaret-owner-1";

/* Changes or evidence for the loop, n of one kind (room for cap), in the same allocation. */
struct shared_batch {
	struct shared_batch *next;
	size_t n, cap;
	struct shared_change *changes;
	struct shared_evidence *evidence;
};
/* Batches the loop is done with, kept for the next pulls (a batch is megabytes: fresh memory
 * each time cost the sync thread a page fault every 4 KiB, a sixth of its time in a burst);
 * of each kind as many as may be in use at once, and freed after a second with nothing
 * pulled. Every batch of a kind has the room of the largest pull, so any spare serves any
 * pull (spares of the size of the pull that made them served few of the next ones: a mass
 * quarantine's nodes faulted in most of their 150 MB of changes afresh). */
#define SHARED_SPARE_MAX (SHARED_QUEUE_MAX + 1)
#define SHARED_BATCH_CHANGES  (SHARED_PULL_BATCH + SHARED_PUSH_BATCH - 1)  /* the window's most */
#define SHARED_BATCH_EVIDENCE (SHARED_LOG_ROWS * SHARED_EV_BATCH)

/* One of this node's evidence lines, pushed and not yet folded: the newest per (subject, kind),
 * the key being the line up to its second tab. */
struct shared_line {
	struct htable_node hnode;
	size_t key_len, len;
	char line[];
};

/*
 * A publication waiting for PostgreSQL: the newest per (subject, kind), its strings in text
 * at their length (a struct shared_evidence is 800 bytes of fixed fields, and a mass
 * quarantine's report read here queues 100 000 of them, each new memory the loop faults in).
 */
struct shared_pub {
	struct htable_node hnode;          /* not in sh->pubs once dead */
	struct shared_pub *next;
	bool dead;                         /* replaced by a newer one that did not fit: skipped */
	double value;
	usec_t value_time;
	usec_t first_seen;
	usec_t last_seen;
	uint64_t count;
	uint16_t kind_at, summary_at, room;
	char text[];                       /* subject NUL kind NUL summary NUL, room bytes */
};

struct shared_origin {
	char node[SHARED_NODE_MAX];
	int64_t node_seq;
};

struct shared {
	char *conninfo;
	char node[SHARED_NODE_MAX];
	char role[64];
	char enforcing[64];
	struct store *st;
	uv_loop_t *loop;
	uv_async_t *async;              /* own allocation: freed by its close callback */
	shared_apply_fn apply;
	shared_link_fn link;
	void *arg;
	int wake_fd;                    /* eventfd: the outbox has rows, or stop */
	pthread_t thread;
	bool started;
	usec_t started_at;              /* when this run began: lz_nodes.started */
	atomic_bool stopping;
	atomic_bool fold_asked;         /* shared_fold_soon */
	atomic_bool compact_asked;      /* shared_compact_soon */
	atomic_bool up;
	atomic_int_fast64_t applied;    /* the newest seq the loop applied */

	/* sync thread only */
	struct pg_conn *pg;
	uint64_t generation;
	uint64_t sysid;
	uint32_t timeline;
	bool migrated;
	bool push_single;               /* a batch was refused: rows one by one until one goes */
	bool was_up;
	bool link_known;                /* was_up tells something: the first state is told too */
	bool origins_loaded;            /* shared_load_origins ran at this run's first contact */
	int64_t pushed;                 /* the highest node_seq PostgreSQL has of ours */
	int64_t fetched;                /* the highest seq handed to the loop */
	usec_t next_beat;
	usec_t next_trim;
	usec_t next_compact;
	struct shared_origin origins[SHARED_ORIGINS_MAX];
	size_t origin_count;
	struct log_limit skip_log;
	struct log_limit outdated_log;
	int64_t lines_since;            /* when migration 3 was applied (µs, the server's clock), or 0 */

	pthread_mutex_t mu;             /* guards what follows */
	pthread_cond_t room;            /* the loop took batches */
	struct shared_batch *head, *tail;
	size_t batches;
	struct shared_batch *spare;     /* SHARED_SPARE_MAX at most of each kind, freed by shared_free */
	size_t spare_count[2];          /* [evidence] */
	bool link_changed;
	bool link_up;
	struct shared_stats stats;
	struct shared_node *nodes;
	size_t node_count;
	struct htable pubs;             /* publications by (subject, kind) */
	struct shared_pub *pub_head, *pub_tail;
	size_t pub_count;
	usec_t pub_since;               /* monotonic: when the oldest waiting publication came (0: none) */
	uint64_t *owners_next;          /* the live nodes' seeds from the last heartbeat */
	size_t owners_next_count;
	bool owners_changed;

	/* loop thread only */
	struct shared_batch *current;   /* taken from the queue, applied up to current_at so far */
	size_t current_at;
	shared_evidence_fn evidence_fn;
	shared_prefetch_fn prefetch_fn;
	uint64_t *owners;               /* the live nodes' seeds, this one's among them */
	size_t owner_count;
	uint64_t my_seed;

	/* sync thread: the other nodes' evidence */
	enum { SHARED_EV_START, SHARED_EV_STATE, SHARED_EV_LOG } ev_phase;
	int64_t ev_state_after;         /* the newest lz_evidence seq read (SHARED_EV_STATE) */
	int64_t ev_fetched;             /* the newest lz_evidence_log seq read */
	struct shared_origin ev_floors[SHARED_ORIGINS_MAX];     /* each node's fold as read at the start */
	size_t ev_floor_count;
	usec_t last_turn;               /* monotonic: the last turn that reached PostgreSQL */
	usec_t last_pulled;             /* monotonic: the last turn that pulled changes or evidence */
	/* sync thread: this node's own publications pushed and not folded yet, the newest line
	 * per (subject, kind); a fold round's lines taken out of it */
	struct htable unfolded;
	size_t unfolded_count;
	bool unfolded_loaded;           /* what an earlier run left unfolded is in it */
	struct shared_line **fold;
	size_t fold_n, fold_i;
	int64_t fold_upto;              /* the log seq the round's fold covers */
	int64_t fold_unrecorded;        /* a round's seq whose record failed (0: none) */
	usec_t next_fold;               /* monotonic */
	usec_t busy_until;              /* monotonic: a burst went on lately; folds wait */
};

bool
shared_node_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= SHARED_NODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- the change format ---------------------------------------------------------------- */

/* Appends a JSON string of src (NUL-terminated) at *o: quoted, `"`, `\` and control
 * characters escaped. The room it needs is at most 6 bytes a byte and 2; false when src is
 * not UTF-8. */
static bool
json_put_string(char *dst, size_t *o, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t len = strlen(src), k = *o;

	dst[k++] = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			uint32_t cp;
			size_t n = utf8_decode(s + i, len - i, &cp);   /* as strictly as jansson */
			if (n == 0)
				return false;
			memcpy(dst + k, s + i, n);
			k += n;
			i += n;
			continue;
		}
		if (c == '"' || c == '\\') {
			dst[k++] = '\\';
			dst[k++] = (char)c;
		} else if (c < 0x20) {
			memcpy(dst + k, "\\u00", 4);
			dst[k + 4] = hex[c >> 4];
			dst[k + 5] = hex[c & 15];
			k += 6;
		} else
			dst[k++] = (char)c;
		i++;
	}
	dst[k++] = '"';
	*o = k;
	return true;
}

/* Appends text (a literal or a level's name: nothing to escape) at *o. */
static void
json_put_raw(char *dst, size_t *o, const char *text)
{
	size_t n = strlen(text);

	memcpy(dst + *o, text, n);
	*o += n;
}

/* Appends x in decimal at *o (at most 20 bytes). */
static void
json_put_int(char *dst, size_t *o, int64_t x)
{
	char digits[24];
	size_t n = 0;
	uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;

	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (x < 0)
		dst[(*o)++] = '-';
	while (n > 0)
		dst[(*o)++] = digits[--n];
}

/* Whether v is a verdict every node's decoder would take (the making one's too): levels in
 * range, times not negative, a tag below 2^63, an actor, each text ended within its field. */
static bool
shared_verdict_writable(const struct shared_verdict *v)
{
	return v->level >= 0 && v->level < LEVEL_COUNT && v->old_level >= 0 && v->old_level < LEVEL_COUNT &&
	    v->manual_level >= -1 && v->manual_level < LEVEL_COUNT && v->tag <= INT64_MAX && v->actor[0] != '\0' &&
	    v->manual_until >= 0 && v->grace_until >= 0 && v->time >= 0 &&
	    memchr(v->manual_reason, '\0', sizeof(v->manual_reason)) != NULL &&
	    memchr(v->actor, '\0', sizeof(v->actor)) != NULL && memchr(v->reason, '\0', sizeof(v->reason)) != NULL;
}

/*
 * The body written by hand rather than through jansson's json_pack: a node encodes one for
 * every verdict it makes, a third of a mass quarantine's 100 000 each, and building and
 * dumping a jansson object took a tenth of a node's CPU. Every decoder (jansson's, the
 * fuzzers' round trip, PostgreSQL's jsonb) reads it as the object json_pack made.
 */
int
shared_verdict_encode(const struct shared_verdict *v, char **out)
{
	*out = NULL;
	if (!shared_verdict_writable(v))
		return -EINVAL;
	/* the texts at 6 bytes a byte at most (\u00XX), their quotes, the rest well under 512 */
	size_t size = 6 * (strnlen(v->manual_reason, sizeof(v->manual_reason)) + strnlen(v->actor, sizeof(v->actor)) +
	    strnlen(v->reason, sizeof(v->reason))) + 512, o = 0;
	char *b = malloc(size);

	if (b == NULL)
		return -ENOMEM;
	json_put_raw(b, &o, "{\"level\":\"");
	json_put_raw(b, &o, level_name(v->level));
	json_put_raw(b, &o, "\",\"old\":\"");
	json_put_raw(b, &o, level_name(v->old_level));
	json_put_raw(b, &o, "\",\"manual_level\":");
	json_put_int(b, &o, v->manual_level);
	json_put_raw(b, &o, ",\"manual_until\":");
	json_put_int(b, &o, v->manual_until);
	json_put_raw(b, &o, ",\"manual_reason\":");
	if (!json_put_string(b, &o, v->manual_reason))
		goto refused;
	json_put_raw(b, &o, v->self_release ? ",\"self_release\":true" : ",\"self_release\":false");
	json_put_raw(b, &o, ",\"grace_until\":");
	json_put_int(b, &o, v->grace_until);
	json_put_raw(b, &o, ",\"time\":");
	json_put_int(b, &o, v->time);
	json_put_raw(b, &o, ",\"actor\":");
	if (!json_put_string(b, &o, v->actor))
		goto refused;
	json_put_raw(b, &o, ",\"reason\":");
	if (!json_put_string(b, &o, v->reason))
		goto refused;
	json_put_raw(b, &o, v->reset ? ",\"v\":\"1\",\"reset\":true,\"tag\":" : ",\"v\":\"1\",\"reset\":false,\"tag\":");
	json_put_int(b, &o, (int64_t)v->tag);
	json_put_raw(b, &o, "}");
	b[o] = '\0';
	*out = b;
	return 0;
refused:
	free(b);                        /* a text that is not UTF-8 (or not ended) among them */
	return -EINVAL;
}

const char *const shared_verdict_fields[SHARED_F_COUNT] = {
	[SHARED_F_LEVEL] = "level", [SHARED_F_OLD] = "old", [SHARED_F_MANUAL_LEVEL] = "manual_level",
	[SHARED_F_MANUAL_UNTIL] = "manual_until", [SHARED_F_MANUAL_REASON] = "manual_reason",
	[SHARED_F_SELF_RELEASE] = "self_release", [SHARED_F_GRACE_UNTIL] = "grace_until", [SHARED_F_TIME] = "time",
	[SHARED_F_ACTOR] = "actor", [SHARED_F_REASON] = "reason", [SHARED_F_RESET] = "reset", [SHARED_F_TAG] = "tag",
	[SHARED_F_VERSION] = "v",
};

/* The JSON type each member has in a body this version writes. */
static const json_type shared_field_type[SHARED_F_COUNT] = {
	[SHARED_F_LEVEL] = JSON_STRING, [SHARED_F_OLD] = JSON_STRING, [SHARED_F_MANUAL_LEVEL] = JSON_INTEGER,
	[SHARED_F_MANUAL_UNTIL] = JSON_INTEGER, [SHARED_F_MANUAL_REASON] = JSON_STRING,
	[SHARED_F_SELF_RELEASE] = JSON_TRUE, [SHARED_F_GRACE_UNTIL] = JSON_INTEGER, [SHARED_F_TIME] = JSON_INTEGER,
	[SHARED_F_ACTOR] = JSON_STRING, [SHARED_F_REASON] = JSON_STRING, [SHARED_F_RESET] = JSON_TRUE,
	[SHARED_F_TAG] = JSON_INTEGER, [SHARED_F_VERSION] = JSON_STRING,
};

/* Copies a text member into dst (size bytes); false when absent, holding a NUL, or too long. */
static bool
field_text(const char *v, size_t len, char *dst, size_t size)
{
	if (v == NULL || len >= size || memchr(v, '\0', len) != NULL)
		return false;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return true;
}

/* A member in plain decimal (digits after an optional "-": no "+", space, leading zero or "-0")
 * within [min, max]. */
static bool
field_int(const char *v, size_t len, int64_t min, int64_t max, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t n = 0, limit;

	if (v == NULL)
		return false;
	if (i < len && v[i] == '-') {
		neg = true;
		i++;
	}
	if (i == len || (v[i] == '0' && len - i > 1))
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (v[i] < '0' || v[i] > '9' || n > (limit - (uint64_t)(v[i] - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (neg && n == 0)
		return false;           /* "-0": no writer makes it */
	int64_t x = neg ? (n == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n) : (int64_t)n;
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

static bool
field_bool(const char *v, size_t len, bool *out)
{
	if (v != NULL && len == 4 && memcmp(v, "true", 4) == 0)
		*out = true;
	else if (v != NULL && len == 5 && memcmp(v, "false", 5) == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool
field_level(const char *v, size_t len, int *out)
{
	char name[32];

	if (!field_text(v, len, name, sizeof(name)))
		return false;
	*out = level_parse(name);
	return *out >= 0 && *out < LEVEL_COUNT;
}

int
shared_verdict_from_fields(const char *const value[SHARED_F_COUNT], const size_t len[SHARED_F_COUNT],
    struct shared_verdict *out)
{
	int64_t manual_level, manual_until, grace_until, time, tag;

	memset(out, 0, sizeof(*out));
#define F(i) value[SHARED_F_##i], len[SHARED_F_##i]
	if (!field_level(F(LEVEL), &out->level) || !field_level(F(OLD), &out->old_level) ||
	    !field_int(F(MANUAL_LEVEL), -1, LEVEL_COUNT - 1, &manual_level) ||
	    !field_int(F(MANUAL_UNTIL), 0, INT64_MAX, &manual_until) ||
	    !field_int(F(GRACE_UNTIL), 0, INT64_MAX, &grace_until) || !field_int(F(TIME), 0, INT64_MAX, &time) ||
	    !field_int(F(TAG), 0, INT64_MAX, &tag) || !field_bool(F(SELF_RELEASE), &out->self_release) ||
	    !field_bool(F(RESET), &out->reset) ||
	    !field_text(F(MANUAL_REASON), out->manual_reason, sizeof(out->manual_reason)) ||
	    !field_text(F(ACTOR), out->actor, sizeof(out->actor)) || out->actor[0] == '\0' ||
	    !field_text(F(REASON), out->reason, sizeof(out->reason)) ||
	    value[SHARED_F_VERSION] == NULL || len[SHARED_F_VERSION] != 1 || value[SHARED_F_VERSION][0] != '1') {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
#undef F
	out->manual_level = (int)manual_level;
	out->manual_until = manual_until;
	out->grace_until = grace_until;
	out->time = time;
	out->tag = (uint64_t)tag;
	return 0;
}

/*
 * The JSON body: each member must have the type this version writes; it is then put as
 * the text PostgreSQL's ->> would give, and read by shared_verdict_from_fields.
 */
int
shared_verdict_decode(const char *body, size_t len, struct shared_verdict *out)
{
	const char *value[SHARED_F_COUNT];
	size_t vlen[SHARED_F_COUNT];
	char num[SHARED_F_COUNT][24];
	json_error_t jerr;
	json_t *o;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return -EINVAL;
	if (!json_is_object(o))
		goto done;
	for (int i = 0; i < SHARED_F_COUNT; i++) {
		json_t *m = json_object_get(o, shared_verdict_fields[i]);
		value[i] = NULL;
		vlen[i] = 0;
		if (m == NULL)
			continue;
		switch (shared_field_type[i]) {
		case JSON_STRING:
			if (!json_is_string(m))
				goto done;
			value[i] = json_string_value(m);
			vlen[i] = json_string_length(m);
			break;
		case JSON_INTEGER:
			if (!json_is_integer(m))
				goto done;
			vlen[i] = (size_t)snprintf(num[i], sizeof(num[i]), "%" JSON_INTEGER_FORMAT, json_integer_value(m));
			value[i] = num[i];
			break;
		default:              /* a boolean */
			if (!json_is_boolean(m))
				goto done;
			value[i] = json_is_true(m) ? "true" : "false";
			vlen[i] = strlen(value[i]);
			break;
		}
	}
	rc = shared_verdict_from_fields(value, vlen, out);
done:
	json_decref(o);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* The bytes a line's text holds as they are: ASCII but NUL, tab, newline and backslash
 * (the 128 bytes from 0x80 on are 0: UTF-8, checked one sequence at a time). */
static const uint8_t line_plain[256] = {
	0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1,       /* 0x00: NUL, tab, newline */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,       /* 0x50: backslash */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Appends src (NUL-terminated, UTF-8) as a line's text at *o, within size with room left
 * for a NUL: a backslash, tab or newline escaped. False when src is not UTF-8 or does not fit.
 * Runs of plain ASCII go at once: the event loop encodes every verdict it makes, and a byte
 * at a time this took it 7 000 instructions a verdict. */
static bool
line_put_text(char *dst, size_t size, size_t *o, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t k = *o;

	for (size_t i = 0; s[i] != '\0';) {
		size_t run = 0;
		while (line_plain[s[i + run]])
			run++;
		if (run > 0) {
			if (k + run >= size)    /* (and the NUL after it) */
				return false;
			memcpy(dst + k, s + i, run);
			k += run;
			i += run;
			continue;
		}
		unsigned char c = s[i];
		size_t n = 1;
		if (c >= 0x80) {
			uint32_t cp;
			/* never past the NUL: a sequence cut by it fails at the NUL, no continuation byte */
			if ((n = utf8_decode(s + i, 4, &cp)) == 0)   /* as PostgreSQL's text wants */
				return false;
		}
		bool escaped = c == '\\' || c == '\t' || c == '\n';
		if (k + (escaped ? 2 : n) >= size)
			return false;
		if (escaped) {
			dst[k++] = '\\';
			dst[k++] = c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
		} else {
			memcpy(dst + k, s + i, n);
			k += n;
		}
		i += n;
	}
	*o = k;
	return true;
}

int
shared_verdict_line(const struct shared_verdict *v, char *buf, size_t size)
{
	char num[SHARED_F_COUNT][24];
	const char *text[SHARED_F_COUNT];
	size_t o = 0, n;

	if (!shared_verdict_writable(v))
		return -EINVAL;
#define NUM(f, x) (n = 0, json_put_int(num[f], &n, (x)), num[f][n] = '\0', text[f] = num[f])
	text[SHARED_F_LEVEL] = level_name(v->level);
	text[SHARED_F_OLD] = level_name(v->old_level);
	NUM(SHARED_F_MANUAL_LEVEL, v->manual_level);
	NUM(SHARED_F_MANUAL_UNTIL, v->manual_until);
	text[SHARED_F_MANUAL_REASON] = v->manual_reason;
	text[SHARED_F_SELF_RELEASE] = v->self_release ? "true" : "false";
	NUM(SHARED_F_GRACE_UNTIL, v->grace_until);
	NUM(SHARED_F_TIME, v->time);
	text[SHARED_F_ACTOR] = v->actor;
	text[SHARED_F_REASON] = v->reason;
	text[SHARED_F_RESET] = v->reset ? "true" : "false";
	NUM(SHARED_F_TAG, (int64_t)v->tag);
	text[SHARED_F_VERSION] = "1";
#undef NUM
	for (int f = 0; f < SHARED_F_COUNT; f++) {
		if (f > 0) {
			if (o + 1 >= size)
				return -EINVAL;
			buf[o++] = '\t';
		}
		if (!line_put_text(buf, size, &o, text[f]))
			return -EINVAL;
	}
	buf[o] = '\0';
	return (int)o;
}

/*
 * line_split — a line's members (tab-separated, `\\` `\t` `\n` escaped as line_put_text
 * writes them) unescaped into plain (size bytes, never less than len + 1), value[i] and
 * vlen[i] each member's. 0 when the line holds exactly n members and no raw newline nor an
 * escape line_put_text never writes; -EINVAL otherwise.
 */
static int
line_split(const char *line, size_t len, char *plain, size_t size, const char **value, size_t *vlen, int n)
{
	size_t o = 0;
	int f = 0;

	if (len >= size)
		return -EINVAL;
	value[0] = plain;
	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (c == '\t') {
			vlen[f] = (size_t)(plain + o - value[f]);
			if (++f == n)
				return -EINVAL;         /* a member too many */
			value[f] = plain + o;
			continue;
		}
		if (c == '\n')
			return -EINVAL;
		if (c == '\\') {
			if (++i == len)
				return -EINVAL;
			c = line[i] == 't' ? '\t' : line[i] == 'n' ? '\n' : line[i] == '\\' ? '\\' : '\0';
			if (c == '\0')
				return -EINVAL;         /* no other escape is written */
		}
		plain[o++] = c;
	}
	vlen[f] = (size_t)(plain + o - value[f]);
	return f == n - 1 ? 0 : -EINVAL;
}

int
shared_verdict_line_decode(const char *line, size_t len, struct shared_verdict *out)
{
	/* the members unescaped, one after the other: never longer than the line, which is
	 * never longer than the longest line written */
	char plain[SHARED_LINE_MAX];
	const char *value[SHARED_F_COUNT];
	size_t vlen[SHARED_F_COUNT];
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	/* the texts UTF-8, as shared_verdict_line writes them: what a node reads, it can pass on */
	if (line_split(line, len, plain, sizeof(plain), value, vlen, SHARED_F_COUNT) == 0 &&
	    utf8_valid(value[SHARED_F_MANUAL_REASON], vlen[SHARED_F_MANUAL_REASON]) &&
	    utf8_valid(value[SHARED_F_ACTOR], vlen[SHARED_F_ACTOR]) && utf8_valid(value[SHARED_F_REASON], vlen[SHARED_F_REASON]))
		rc = shared_verdict_from_fields(value, vlen, out);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* The members of an evidence line, in their order; the node is the log row's. */
static const enum shared_evidence_column shared_ev_line_order[SHARED_EV_LINE_FIELDS] = {
	SHARED_E_SUBJECT, SHARED_E_KIND, SHARED_E_VALUE, SHARED_E_VALUE_TIME, SHARED_E_COUNT,
	SHARED_E_FIRST_SEEN, SHARED_E_LAST_SEEN, SHARED_E_SUMMARY,
};

int
shared_evidence_line(const struct shared_evidence *e, char *buf, size_t size)
{
	char subject[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)], num[SHARED_E_COLUMNS][32];
	const char *text[SHARED_E_COLUMNS];
	size_t o = 0, subject_len = strnlen(e->subject, sizeof(e->subject));

	/* what shared_evidence_from_columns accepts, and nothing else */
	if (subject_len == 0 || subject_len == sizeof(e->subject) || !(e->value >= 0 && e->value < 1e300) ||
	    e->value_time < 0 || e->first_seen < 0 || e->last_seen < 0 || e->count > INT64_MAX ||
	    memchr(e->kind, '\0', sizeof(e->kind)) == NULL || memchr(e->summary, '\0', sizeof(e->summary)) == NULL)
		return -EINVAL;
	subject_text_encode(subject, sizeof(subject), e->subject, subject_len);
	text[SHARED_E_SUBJECT] = subject;
	text[SHARED_E_KIND] = e->kind;
	text[SHARED_E_SUMMARY] = e->summary;
	/* -0 written "0": one spelling of zero (the decoder then refuses "-0") */
	snprintf(num[SHARED_E_VALUE], sizeof(num[0]), "%.17g", e->value == 0 ? 0.0 : e->value);
	snprintf(num[SHARED_E_VALUE_TIME], sizeof(num[0]), "%" PRId64, (int64_t)e->value_time);
	snprintf(num[SHARED_E_COUNT], sizeof(num[0]), "%" PRIu64, e->count);
	snprintf(num[SHARED_E_FIRST_SEEN], sizeof(num[0]), "%" PRId64, (int64_t)e->first_seen);
	snprintf(num[SHARED_E_LAST_SEEN], sizeof(num[0]), "%" PRId64, (int64_t)e->last_seen);
	for (int c = SHARED_E_VALUE; c <= SHARED_E_LAST_SEEN; c++)
		text[c] = num[c];
	for (int f = 0; f < SHARED_EV_LINE_FIELDS; f++) {
		if (f > 0) {
			if (o + 1 >= size)
				return -EINVAL;
			buf[o++] = '\t';
		}
		if (!line_put_text(buf, size, &o, text[shared_ev_line_order[f]]))
			return -EINVAL;
	}
	buf[o] = '\0';
	return (int)o;
}

int
shared_evidence_line_decode(const char *line, size_t len, const char *node, struct shared_evidence *out)
{
	char plain[SHARED_EV_LINE_MAX], again[SHARED_EV_LINE_MAX];
	const char *field[SHARED_EV_LINE_FIELDS], *value[SHARED_E_COLUMNS];
	size_t flen[SHARED_EV_LINE_FIELDS], vlen[SHARED_E_COLUMNS];

	memset(out, 0, sizeof(*out));
	if (line_split(line, len, plain, sizeof(plain), field, flen, SHARED_EV_LINE_FIELDS) != 0)
		return -EINVAL;
	for (int f = 0; f < SHARED_EV_LINE_FIELDS; f++) {
		value[shared_ev_line_order[f]] = field[f];
		vlen[shared_ev_line_order[f]] = flen[f];
	}
	value[SHARED_E_NODE] = node;
	vlen[SHARED_E_NODE] = strlen(node);
	/* one spelling of each line: what is accepted is what this version writes, byte for byte
	 * (a number's other spellings, a subject's, a text not UTF-8 are not) */
	if (shared_evidence_from_columns(value, vlen, out) != 0 ||
	    shared_evidence_line(out, again, sizeof(again)) != (int)len || memcmp(again, line, len) != 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}

/* ---- batch rows (schema 5) ---- */

int
shared_batch_line(int64_t node_seq, int64_t at, const char *subject, const char *verdict, char *buf, size_t size)
{
	if (node_seq < 1 || at < 0 || strpbrk(subject, "\t\n") != NULL || strpbrk(verdict, "\n") != NULL)
		return -EINVAL;
	int n = snprintf(buf, size, "%" PRId64 "\t%" PRId64 "\t%s\t%s\n", node_seq, at, subject, verdict);
	return n < 0 || (size_t)n >= size ? -EINVAL : n;
}

int
shared_batch_line_decode(const char *line, size_t len, struct shared_change *out)
{
	const char *end = line + len, *member[3];
	size_t mlen[3];
	const char *p = line;
	char again[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];
	size_t subject_len = 0;

	/* three members up to a tab each, the verdict line after the third */
	for (int f = 0; f < 3; f++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (tab == NULL)
			return -EINVAL;
		member[f] = p;
		mlen[f] = (size_t)(tab - p);
		p = tab + 1;
	}
	if (memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL)
		return -EINVAL;
	if (!field_int(member[0], mlen[0], 1, INT64_MAX, &out->node_seq) ||
	    !field_int(member[1], mlen[1], 0, INT64_MAX, &out->at) || mlen[2] == 0 ||
	    mlen[2] >= sizeof(again) ||
	    subject_text_decode(out->subject, sizeof(out->subject), &subject_len, member[2], mlen[2]) != 0 ||
	    subject_text_encode(again, sizeof(again), out->subject, subject_len) != mlen[2] ||
	    memcmp(again, member[2], mlen[2]) != 0 ||
	    shared_verdict_line_decode(p, (size_t)(end - p), &out->verdict) != 0)
		return -EINVAL;
	return 0;
}

/* ---- the loop's side ------------------------------------------------------------------ */

static void shared_batch_done(struct shared *sh, struct shared_batch *b);

static void
shared_async_cb(uv_async_t *handle)
{
	struct shared *sh = handle->data;
	bool link_changed, link_up, was_full = false, more;

	/* SHARED_APPLY_TURN changes or publications a turn of the loop, out of the batch taken
	 * from the queue (a pull hands over up to SHARED_PULL_BATCH at once): the policy service
	 * and the API are served between slices. Applying all that waited (8 000 changes) held
	 * their answers up by tens of milliseconds whenever the feed ran full. */
	pthread_mutex_lock(&sh->mu);
	if (sh->current == NULL && sh->head != NULL) {
		was_full = sh->batches >= SHARED_QUEUE_MAX;
		sh->current = sh->head;
		sh->current_at = 0;
		sh->head = sh->current->next;
		if (sh->head == NULL)
			sh->tail = NULL;
		sh->current->next = NULL;
		sh->batches--;
		pthread_cond_broadcast(&sh->room);
	}
	link_changed = sh->link_changed;
	link_up = sh->link_up;
	sh->link_changed = false;
	if (sh->owners_changed) {
		free(sh->owners);
		sh->owners = sh->owners_next;
		sh->owner_count = sh->owners_next_count;
		sh->owners_next = NULL;
		sh->owners_next_count = 0;
		sh->owners_changed = false;
	}
	pthread_mutex_unlock(&sh->mu);
	if (was_full)
		shared_kick(sh);            /* it stopped reading for us: room again */

	int64_t applied = atomic_load(&sh->applied);
	struct shared_batch *b = sh->current;
	if (b != NULL) {
		size_t end = b->n - sh->current_at > SHARED_APPLY_TURN ? sh->current_at + SHARED_APPLY_TURN : b->n;
		for (size_t i = sh->current_at; i < end; i++) {
			if ((i - sh->current_at) % SHARED_PREFETCH == 0 && sh->prefetch_fn != NULL) {
				size_t run = end - i < SHARED_PREFETCH ? end - i : SHARED_PREFETCH;
				sh->prefetch_fn(sh->arg, b->evidence == NULL ? b->changes + i : NULL,
				    b->evidence != NULL ? b->evidence + i : NULL, run);
			}
			if (b->evidence != NULL) {
				if (sh->evidence_fn != NULL)
					sh->evidence_fn(sh->arg, &b->evidence[i]);
				continue;
			}
			sh->apply(sh->arg, &b->changes[i]);
			if (!b->changes[i].refused)
				applied = b->changes[i].upto;
		}
		sh->current_at = end;
		if (end == b->n) {
			sh->current = NULL;
			shared_batch_done(sh, b);
		}
	}
	pthread_mutex_lock(&sh->mu);
	more = sh->current != NULL || sh->head != NULL;
	pthread_mutex_unlock(&sh->mu);
	if (more)
		uv_async_send(sh->async);   /* the next slice on the next turn */
	if (applied != atomic_load(&sh->applied)) {
		char value[32];
		atomic_store(&sh->applied, applied);
		snprintf(value, sizeof(value), "%" PRId64, applied);
		store_state_put(sh->st, SHARED_APPLIED_KEY, value);
	}
	if (link_changed && sh->link != NULL)
		sh->link(sh->arg, link_up);
}

static void
shared_async_free(uv_handle_t *handle)
{
	free(handle);
}

/* ---- the sync thread ------------------------------------------------------------------ */

static void
shared_set_up(struct shared *sh, bool up)
{
	if (sh->link_known && sh->was_up == up)
		return;
	sh->link_known = true;
	sh->was_up = up;
	atomic_store(&sh->up, up);
	if (!up)
		log_warnx("ALARM shared store %s unreachable node=%s error=\"%s\": existing verdicts stay in force, "
		    "new ones wait in the local outbox", pg_conn_target(sh->pg), sh->node, pg_conn_error(sh->pg));
	pthread_mutex_lock(&sh->mu);
	sh->link_changed = true;
	sh->link_up = up;
	sh->stats.up = up;
	pthread_mutex_unlock(&sh->mu);
	uv_async_send(sh->async);
}

/* Waits up to ms for the wake fd (the outbox, or stop); drains it. */
static void
shared_sleep(struct shared *sh, int ms)
{
	struct pollfd p = { .fd = sh->wake_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) > 0 && read(sh->wake_fd, &v, sizeof(v)) < 0)
		return;
}

static int
shared_query_i64(struct shared *sh, const char *sql, int n, const char *const *params, int64_t *out)
{
	PGresult *res = NULL;
	int rc;

	if ((rc = pg_exec_params(sh->pg, sql, n, params, NULL, NULL, &res)) != 0)
		return rc;
	*out = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return 0;
}

static bool shared_origin_new(struct shared *sh, const char *node, int64_t node_seq);
static void shared_fold_abort(struct shared *sh);
static int shared_load_unfolded(struct shared *sh);
static int shared_beat(struct shared *sh);

/*
 * shared_load_origins — each node's newest change among the last SHARED_REREAD up to
 * sh->fetched, into the origins: what this run received before it began (an earlier run
 * applied it), which a failover's re-read must skip like what this run applied itself.
 * Without it a restarted node applied every other node's last changes again after a
 * failover, its own too. 0 or an error code.
 */
static int
shared_load_origins(struct shared *sh)
{
	char from[24], upto[24];
	const char *params[2] = { from, upto };
	PGresult *res = NULL;
	int rc;

	snprintf(from, sizeof(from), "%" PRId64, sh->fetched > SHARED_REREAD ? sh->fetched - SHARED_REREAD : 0);
	snprintf(upto, sizeof(upto), "%" PRId64, sh->fetched);
	if ((rc = pg_exec_params(sh->pg, "SELECT node, max(node_seq) FROM lz_changes WHERE seq > $1 AND seq <= $2"
	    " GROUP BY node", 2, params, NULL, NULL, &res)) != 0)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		if ((size_t)PQgetlength(res, i, 0) < SHARED_NODE_MAX)
			shared_origin_new(sh, PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10));
	PQclear(res);
	return 0;
}

/* The first contact of a generation: schema, node row and lock, where our pushes resume. */
static int
shared_on_connect(struct shared *sh)
{
	const struct pg_server *srv = pg_conn_server(sh->pg);
	const char *params[1] = { sh->node };
	int64_t pgmax = 0, pending, last, locked = 0;
	int rc;

	if (!sh->migrated) {
		int from = 0, to = 0;
		if ((rc = pg_schema_migrate(sh->pg, sh->node, &from, &to)) != 0) {
			if (rc == -EPROTO)
				log_warnx("ALARM shared store %s: its schema is newer than this lazaret knows; "
				    "not using it (upgrade this node)", pg_conn_target(sh->pg));
			return rc;
		}
		sh->migrated = true;
	}
	/* since when every node writes verdict lines: a change in JSON made later is a node of an
	 * older version still running (shared_decode_change) */
	if ((rc = shared_query_i64(sh, "SELECT coalesce((SELECT (extract(epoch FROM applied_at) * 1000000)::bigint "
	    "FROM lz_schema WHERE version = 3), 0)", 0, NULL, &sh->lines_since)) != 0)
		return rc;
	/* one process per node name: two would number their changes alike, and one's would be lost */
	if ((rc = shared_query_i64(sh, "SELECT pg_try_advisory_lock(hashtextextended('lazaret node ' || $1, 0))::int",
	    1, params, &locked)) != 0)
		return rc;
	if (!locked) {
		log_warnx("ALARM shared store: another lazaretd named node=%s is connected to %s; this one "
		    "neither pushes nor pulls until it is gone (give each node its own [daemon] node)", sh->node,
		    pg_conn_target(sh->pg));
		return -EEXIST;
	}
	bool failover = sh->sysid != 0 && (srv->system_identifier != sh->sysid || srv->timeline != sh->timeline);
	/*
	 * This run's first contact with the server it applied changes from before (the same
	 * system and timeline as its stored record): what it received then is known as applied,
	 * for a failover's re-read to skip. After a failover while it was down they cannot be
	 * known (the promoted standby may have given their numbers to other changes): it applies
	 * the re-read window again, each change's verdict over the last, ending as the feed does.
	 */
	if (!sh->origins_loaded) {
		if (!failover && sh->fetched > 0 && (rc = shared_load_origins(sh)) != 0)
			return rc;
		sh->origins_loaded = true;
	}
	if (failover) {
		log_warnx("shared store: the primary changed (system %" PRIu64 " timeline %u, was %" PRIu64
		    " timeline %u): this node's changes since the server's last are pushed again and the last %d "
		    "changes read again", srv->system_identifier, srv->timeline, sh->sysid, sh->timeline,
		    SHARED_REREAD);
		sh->fetched = sh->fetched > SHARED_REREAD ? sh->fetched - SHARED_REREAD : 0;
		sh->ev_phase = SHARED_EV_START;     /* publications replace each other: reading all again is harmless */
	}
	if (sh->sysid != srv->system_identifier || sh->timeline != srv->timeline) {
		/* remembered across restarts: a node down during a failover re-reads too */
		char value[48];
		snprintf(value, sizeof(value), "%" PRIu64 " %u", srv->system_identifier, srv->timeline);
		store_state_put(sh->st, SHARED_SERVER_KEY, value);
	}
	sh->sysid = srv->system_identifier;
	sh->timeline = srv->timeline;
	/* where our pushes resume: PostgreSQL's record, not ours (a standby may lack the last) */
	if ((rc = shared_query_i64(sh, "SELECT coalesce(max(node_seq), 0) FROM lz_changes WHERE node = $1", 1, params,
	    &pgmax)) != 0)
		return rc;
	if ((rc = store_outbox_count(sh->st, &pending, &last)) != 0)
		return rc;
	if (pgmax > last) {
		log_warnx("shared store: it holds changes of node=%s up to %" PRId64 " but this node's local store "
		    "numbered only %" PRId64 " (a new local store?): its changes are numbered from %" PRId64 " on",
		    sh->node, pgmax, last, pgmax + 1);
		if ((rc = store_outbox_renumber(sh->st, pgmax)) != 0)
			return rc;
	}
	sh->pushed = pgmax;
	/* what the shared store holds is pushed, whatever this node recorded: a kill between a
	 * push's commit and the local record of it left rows counted as waiting (and "changes
	 * not yet in it" said) until this node's next verdict (a renumbering queued above comes
	 * first: the rows it moves past pgmax stay to be pushed) */
	if (pending > 0 && pgmax > 0 && (rc = store_outbox_pushed(sh->st, pgmax, time_now())) != 0)
		return rc;
	if ((rc = pg_listen(sh->pg, "lz_changes")) != 0)
		return rc;
	/* the evidence: away longer than the log is kept, rows this node had still to read may be
	 * gone (their lines folded): all of it from the start; a fold round cut short waits again */
	if (sh->last_turn != 0 && time_mono() - sh->last_turn > SHARED_LOG_KEEP / 2)
		sh->ev_phase = SHARED_EV_START;
	if (sh->fold != NULL)
		shared_fold_abort(sh);
	if (!sh->unfolded_loaded && (rc = shared_load_unfolded(sh)) != 0)
		return rc;
	/* this node in lz_nodes before anything it pushes: a node starting to read the evidence
	 * reads the log from the least of the listed nodes' folds */
	if ((rc = shared_beat(sh)) != 0)
		return rc;
	sh->generation = pg_conn_generation(sh->pg);
	sh->next_beat = time_mono() + SHARED_BEAT;
	pthread_mutex_lock(&sh->mu);
	sh->stats.connects++;
	pthread_mutex_unlock(&sh->mu);
	log_info("shared store %s: connected node=%s server=%d timeline=%u pushed=%" PRId64 " applied=%" PRId64,
	    pg_conn_target(sh->pg), sh->node, srv->version, srv->timeline, sh->pushed, sh->fetched);
	return 0;
}

/* A batch with room for n changes or evidence: a spare one large enough, or a new one. */
static struct shared_batch *
shared_batch_new(struct shared *sh, size_t n, bool evidence)
{
	size_t each = evidence ? sizeof(struct shared_evidence) : sizeof(struct shared_change);
	struct shared_batch *b = NULL, **pp;

	pthread_mutex_lock(&sh->mu);
	for (pp = &sh->spare; *pp != NULL; pp = &(*pp)->next)
		if (((*pp)->evidence != NULL) == evidence && (*pp)->cap >= n) {
			b = *pp;
			*pp = b->next;
			sh->spare_count[evidence]--;
			break;
		}
	pthread_mutex_unlock(&sh->mu);
	if (b == NULL) {
		/* the largest pull's size, so that it serves any other */
		size_t full = evidence ? SHARED_BATCH_EVIDENCE : SHARED_BATCH_CHANGES;
		size_t cap = n > full ? n : full;
		if ((b = malloc(sizeof(*b) + cap * each)) == NULL)
			return NULL;
		b->cap = cap;
		b->changes = evidence ? NULL : (struct shared_change *)(void *)(b + 1);
		b->evidence = evidence ? (struct shared_evidence *)(void *)(b + 1) : NULL;
	}
	b->next = NULL;
	b->n = 0;
	return b;
}

/* The spare batches freed (the sync thread, when quiet; shared_free). */
static void
shared_spares_free(struct shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	struct shared_batch *list = sh->spare;
	sh->spare = NULL;
	sh->spare_count[0] = sh->spare_count[1] = 0;
	pthread_mutex_unlock(&sh->mu);
	while (list != NULL) {
		struct shared_batch *b = list;
		list = b->next;
		free(b);
	}
}

/* b done with (any thread): kept as a spare, or freed when SHARED_SPARE_MAX are kept. */
static void
shared_batch_done(struct shared *sh, struct shared_batch *b)
{
	if (b == NULL)
		return;
	bool evidence = b->evidence != NULL;
	pthread_mutex_lock(&sh->mu);
	if (sh->spare_count[evidence] < SHARED_SPARE_MAX) {
		b->next = sh->spare;
		sh->spare = b;
		sh->spare_count[evidence]++;
		b = NULL;
	}
	pthread_mutex_unlock(&sh->mu);
	free(b);
}

/* Whether the loop is SHARED_QUEUE_MAX batches behind (a pull then stops for this turn). */
static bool
shared_loop_behind(struct shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	bool full = sh->batches >= SHARED_QUEUE_MAX;
	pthread_mutex_unlock(&sh->mu);
	return full;
}

/* Hands b to the loop, waiting while it is behind by SHARED_QUEUE_MAX batches. */
static void
shared_hand_over(struct shared *sh, struct shared_batch *b)
{
	pthread_mutex_lock(&sh->mu);
	while (sh->batches >= SHARED_QUEUE_MAX && !atomic_load(&sh->stopping))
		pthread_cond_wait(&sh->room, &sh->mu);
	if (sh->tail != NULL)
		sh->tail->next = b;
	else
		sh->head = b;
	sh->tail = b;
	sh->batches++;
	if (b->evidence != NULL)
		sh->stats.evidence_read += b->n;
	else
		sh->stats.pulled += b->n;
	pthread_mutex_unlock(&sh->mu);
	uv_async_send(sh->async);
}

/* A text that grows (a push's parameters, the lines of one push), kept NUL-terminated. */
struct text_buf {
	char *p;
	size_t len, cap;
};

static bool
text_buf_add(struct text_buf *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 65536;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *grown = realloc(t->p, cap);
		if (grown == NULL)
			return false;
		t->p = grown;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
	return true;
}

struct push_rows {
	size_t n;                       /* lines in text */
	size_t rows;                    /* outbox rows read (a row that cannot be written is not a line) */
	int64_t last, last_at;          /* the last row's node_seq and at: the batch row's */
	struct text_buf text;           /* the batch row's lines (shared_batch_line) */
};

static int
push_collect(void *arg, const struct store_outbox_row *r)
{
	struct push_rows *p = arg;
	char subject[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)], line[SHARED_LINE_MAX], out[SHARED_BATCH_LINE_MAX];
	const char *verdict = r->body;
	struct shared_verdict old;
	int len;

	p->rows++;
	p->last = r->node_seq;
	/* as subject text: an account's or subscriber's name may hold any byte, PostgreSQL's text
	 * only UTF-8 without NUL; one that it refused would hold up every change after it */
	subject_text_encode(subject, sizeof(subject), r->subject, strlen(r->subject));
	/* the verdict line; an outbox row written before schema 3 holds the JSON body instead */
	if (r->body[0] == '{')
		verdict = shared_verdict_decode(r->body, strlen(r->body), &old) == 0 &&
		    shared_verdict_line(&old, line, sizeof(line)) >= 0 ? line : NULL;
	if (verdict == NULL || strcmp(r->kind, SHARED_KIND_VERDICT) != 0 ||
	    (len = shared_batch_line(r->node_seq, (int64_t)r->at, subject, verdict, out, sizeof(out))) < 0) {
		log_warnx("shared store: outbox row node_seq=%" PRId64 " cannot be read; not pushed, no other "
		    "node will see it", r->node_seq);
		return p->rows == SHARED_PUSH_BATCH;
	}
	if (!text_buf_add(&p->text, out, (size_t)len))
		return -1;
	p->n++;
	p->last_at = (int64_t)r->at;
	return p->rows == SHARED_PUSH_BATCH;
}

/*
 * shared_push — the outbox after sh->pushed into lz_changes as one batch row (schema 5), under
 * the push lock, NOTIFY with it, in one round trip (pg_exec_notify: the lock is never held
 * while this thread waits for a CPU). A batch the server refuses goes again a row a line
 * (push_single), and a line it refuses alone is set aside. Returns the outbox rows pushed (0:
 * none waiting) or an error.
 */
static int
shared_push(struct shared *sh)
{
	/* the lock inside the statement: the server takes the text when it binds the parameters,
	 * before it runs the statement, so not under the lock */
	static const char sql[] = "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(" SHARED_PUSH_LOCK ")) "
	    "INSERT INTO lz_changes (node, node_seq, count, at, kind, subject, verdict) "
	    "SELECT $1, $2::bigint, $3::integer, $4::bigint, '" SHARED_KIND_BATCH "', '', $5 FROM l "
	    "ON CONFLICT (node, node_seq) DO NOTHING";
	struct push_rows *p = calloc(1, sizeof(*p));
	char last[24], count[24], at[24];
	int rc;

	if (p == NULL)
		return -ENOMEM;
	if ((rc = store_outbox_read(sh->st, sh->pushed, sh->push_single ? 1 : SHARED_PUSH_BATCH, push_collect, p)) <= 0)
		goto done;
	rc = 0;
	if (p->rows == 0)
		goto done;
	if (p->n > 0) {
		snprintf(last, sizeof(last), "%" PRId64, p->last);
		snprintf(count, sizeof(count), "%zu", p->n);
		snprintf(at, sizeof(at), "%" PRId64, p->last_at);
		const char *params[5] = { sh->node, last, count, at, p->text.p };
		rc = pg_exec_notify(sh->pg, sql, 5, params, "lz_changes", sh->node);
	}
	if (rc != 0 && pg_conn_up(sh->pg) && rc != -EAGAIN) {
		/* the server refused the batch itself (not the connection): one row at a time, and a
		 * row it refuses alone is set aside, loudly, rather than holding up every change after */
		if (!sh->push_single) {
			sh->push_single = true;
			goto done;
		}
		struct shared_change refused;
		memset(&refused, 0, sizeof(refused));
		bool readable = p->n == 1 && shared_batch_line_decode(p->text.p, p->text.len - 1, &refused) == 0;
		log_warnx("ALARM shared store: change node_seq=%" PRId64 " subject=%.64s refused by the server "
		    "(sqlstate=%s: %s); set aside, the other nodes will not see it", p->last,
		    readable ? refused.subject : "?", pg_conn_sqlstate(sh->pg), pg_conn_error(sh->pg));
		pthread_mutex_lock(&sh->mu);
		sh->stats.skipped++;
		pthread_mutex_unlock(&sh->mu);
		/* whoever waits for it here is told it failed, and this node undoes it too */
		struct shared_batch *b = readable ? shared_batch_new(sh, 1, false) : NULL;
		if (b != NULL) {
			struct shared_change *c = &b->changes[0];
			*c = refused;
			c->own = c->refused = true;
			snprintf(c->node, sizeof(c->node), "%s", sh->node);
			b->n = 1;
			shared_hand_over(sh, b);
		}
		rc = 0;
	} else if (rc != 0)
		goto done;
	else
		sh->push_single = false;
	sh->pushed = p->last;
	store_outbox_pushed(sh->st, sh->pushed, time_now());
	pthread_mutex_lock(&sh->mu);
	sh->stats.pushed += p->n;
	pthread_mutex_unlock(&sh->mu);
	rc = (int)p->rows;
done:
	free(p->text.p);
	free(p);
	return rc;
}

/* The node_seq of node's newest change applied, remembered (skips a change read twice). */
static bool
shared_origin_new(struct shared *sh, const char *node, int64_t node_seq)
{
	for (size_t i = 0; i < sh->origin_count; i++)
		if (strcmp(sh->origins[i].node, node) == 0) {
			if (node_seq <= sh->origins[i].node_seq)
				return false;
			sh->origins[i].node_seq = node_seq;
			return true;
		}
	if (sh->origin_count < SHARED_ORIGINS_MAX) {
		snprintf(sh->origins[sh->origin_count].node, SHARED_NODE_MAX, "%s", node);
		sh->origins[sh->origin_count++].node_seq = node_seq;
	}
	return true;
}

/* Counts and logs (within the limit) a row of the feed that cannot be read. */
static void
shared_unreadable(struct shared *sh, const char *what, const char *seq, const char *node)
{
	log_limited(&sh->skip_log, LOG_LEVEL_WARN, "shared store: %s seq=%.24s node=%.64s cannot be read; skipped",
	    what, seq, node);
	pthread_mutex_lock(&sh->mu);
	sh->stats.skipped++;
	pthread_mutex_unlock(&sh->mu);
}

/* The feed's query: each change's columns, then its verdict line; a change written before
 * schema 3 has none, and its JSON body instead. */
/* The rows after $1, at most $2 of them, and no more than make $2 changes (the first always):
 * a batch row holds up to SHARED_PUSH_BATCH (2 048). Each row's count is taken within 1..2 048
 * for the window: a count out of range (a row no node writes: it is read as unreadable) must not
 * let more rows in, so that a pull never holds more than SHARED_BATCH_CHANGES. */
static const char shared_pull_sql[] = "SELECT seq, node, node_seq, at, kind, subject, verdict, body, count FROM "
    "(SELECT seq, node, node_seq, at, kind, subject, verdict, CASE WHEN verdict IS NULL THEN body::text END AS body, "
    "count, n, sum(n) OVER (ORDER BY seq) AS upto FROM (SELECT *, least(greatest(count, 1), 2048) AS n "
    "FROM lz_changes WHERE seq > $1 ORDER BY seq LIMIT $2) r) w WHERE upto - n < $2 ORDER BY seq";

/* Row i of a changes query into the batch's next change; false when it is skipped. */
static bool
shared_decode_change(struct shared *sh, PGresult *res, int i, struct shared_batch *b)
{
	const char *node = PQgetvalue(res, i, 1), *kind = PQgetvalue(res, i, 4);
	const char *subject = PQgetvalue(res, i, 5);
	struct shared_change *c = &b->changes[b->n];
	bool line = PQnfields(res) == 9 && !PQgetisnull(res, i, 6);
	size_t subject_len = 0;

	memset(c, 0, sizeof(*c));
	c->seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	c->node_seq = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	c->at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
	if (PQnfields(res) != 9 || strcmp(kind, SHARED_KIND_VERDICT) != 0 ||
	    (size_t)PQgetlength(res, i, 1) >= sizeof(c->node) || PQgetlength(res, i, 5) == 0 ||
	    subject_text_decode(c->subject, sizeof(c->subject), &subject_len, subject,
	    (size_t)PQgetlength(res, i, 5)) != 0 ||
	    (line ? shared_verdict_line_decode(PQgetvalue(res, i, 6), (size_t)PQgetlength(res, i, 6), &c->verdict) :
	    shared_verdict_decode(PQgetvalue(res, i, 7), (size_t)PQgetlength(res, i, 7), &c->verdict)) != 0) {
		shared_unreadable(sh, "change", PQgetvalue(res, i, 0), node);
		return false;
	}
	if (!shared_origin_new(sh, node, c->node_seq))
		return false;       /* read again after a failover: applied already */
	if (!line && sh->lines_since > 0 && c->at > sh->lines_since + SHARED_OUTDATED_SLACK) {
		/* made after the migration, yet in JSON: its node reads this version's lines as
		 * unreadable, and misses every verdict the upgraded nodes make */
		log_limited(&sh->outdated_log, LOG_LEVEL_WARN, "ALARM shared store: node=%.64s still writes changes "
		    "of schema 2 (seq=%.24s): it cannot read what this version writes; upgrade it", node,
		    PQgetvalue(res, i, 0));
		pthread_mutex_lock(&sh->mu);
		sh->stats.outdated++;
		pthread_mutex_unlock(&sh->mu);
	}
	memcpy(c->node, node, (size_t)PQgetlength(res, i, 1) + 1);
	c->own = strcmp(node, sh->node) == 0;
	c->upto = c->seq;
	return true;
}

/*
 * Row i of a changes query (shared_pull_sql) into b: a change, or a batch row's changes in
 * their order (b has room for its count). A row or line that cannot be read is counted and
 * skipped, so is a change read again after a failover. before: the seq read before the row.
 */
static void
shared_decode_row(struct shared *sh, PGresult *res, int i, int64_t before, struct shared_batch *b)
{
	const char *seq = PQgetvalue(res, i, 0), *node = PQgetvalue(res, i, 1), *text = PQgetvalue(res, i, 6);
	long count = strtol(PQgetvalue(res, i, 8), NULL, 10);
	size_t len = (size_t)PQgetlength(res, i, 6), got = 0, bad = 0, first = b->n;

	if (strcmp(PQgetvalue(res, i, 4), SHARED_KIND_BATCH) != 0) {
		if (shared_decode_change(sh, res, i, b))
			b->n++;
		return;
	}
	if (count <= 0 || count > SHARED_PUSH_BATCH || (size_t)PQgetlength(res, i, 1) >= SHARED_NODE_MAX ||
	    PQgetisnull(res, i, 6)) {
		shared_unreadable(sh, "change", seq, node);
		return;
	}
	for (size_t o = 0; o < len;) {
		const char *nl = memchr(text + o, '\n', len - o);
		size_t n = nl != NULL ? (size_t)(nl - (text + o)) : len - o;
		struct shared_change *c = &b->changes[b->n];
		o += n + 1;
		if (got + bad == (size_t)count || nl == NULL) {
			bad++;          /* past the row's count (b has room for count of them), or unended */
			continue;
		}
		memset(c, 0, sizeof(*c));
		if (shared_batch_line_decode(text + o - n - 1, n, c) != 0)
			bad++;
		else {
			got++;
			c->seq = strtoll(seq, NULL, 10);
			c->upto = before;
			memcpy(c->node, node, (size_t)PQgetlength(res, i, 1) + 1);
			c->own = strcmp(node, sh->node) == 0;
			if (shared_origin_new(sh, node, c->node_seq))
				b->n++;
		}
	}
	if (b->n > first)
		b->changes[b->n - 1].upto = b->changes[b->n - 1].seq;   /* the row read in full with it */
	if (bad > 0 || got != (size_t)count)
		shared_unreadable(sh, "change", seq, node);
}

/*
 * shared_pull_rows — every row of sql after *after to the loop, SHARED_STATE_ROWS a query
 * ($1 the seq after which, $2 the batch, $3 this node's name when nparams is 3 or more, $4
 * extra when nparams is 4; prepared once a connection, pg_exec_cached), column 0
 * each row's seq, decode() filling the batch; *done (when not NULL) set once the last row
 * is read. The rows read, or an error.
 */
static int
shared_pull_rows(struct shared *sh, const char *sql, int nparams, const char *extra, bool evidence,
    int64_t *after, bool (*decode)(struct shared *, PGresult *, int, struct shared_batch *), bool *done)
{
	int total = 0;

	for (;;) {
		char from[24], limit[24];
		const char *params[4] = { from, limit, sh->node, extra };

		/* the loop behind: read on once it took what waits (it wakes this thread), and push
		 * meanwhile rather than wait for it (the node's own verdicts are in that feed) */
		if (shared_loop_behind(sh))
			return total;
		PGresult *res = NULL;
		int rc;

		snprintf(from, sizeof(from), "%" PRId64, *after);
		snprintf(limit, sizeof(limit), "%d", SHARED_STATE_ROWS);
		if ((rc = pg_exec_cached(sh->pg, sql, nparams, params, &res)) != 0)
			return rc;
		int rows = PQntuples(res);
		struct shared_batch *b = rows > 0 ? shared_batch_new(sh, (size_t)rows, evidence) : NULL;
		if (rows > 0 && b == NULL) {
			PQclear(res);
			return -ENOMEM;
		}
		for (int i = 0; i < rows; i++) {
			*after = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			if (decode(sh, res, i, b))
				b->n++;
		}
		PQclear(res);
		if (b != NULL && b->n > 0)
			shared_hand_over(sh, b);
		else
			shared_batch_done(sh, b);
		total += rows;
		if (rows < SHARED_STATE_ROWS && done != NULL)
			*done = true;
		if (rows < SHARED_STATE_ROWS || atomic_load(&sh->stopping))
			return total;
	}
}

/* shared_pull — every change after sh->fetched to the loop, a query's at a time (shared_pull_sql).
 * The rows read, or an error. */
static int
shared_pull(struct shared *sh)
{
	int total = 0;

	for (;;) {
		char from[24], limit[24];
		const char *params[2] = { from, limit };

		/* the loop behind: read on once it took what waits (it wakes this thread), and push
		 * meanwhile rather than wait for it (the node's own verdicts are in that feed) */
		if (shared_loop_behind(sh))
			return total;
		PGresult *res = NULL;
		int rc;

		snprintf(from, sizeof(from), "%" PRId64, sh->fetched);
		snprintf(limit, sizeof(limit), "%d", SHARED_PULL_BATCH);
		if ((rc = pg_exec_cached(sh->pg, shared_pull_sql, 2, params, &res)) != 0)
			return rc;
		int rows = PQntuples(res);
		size_t room = 0;
		for (int i = 0; i < rows; i++) {
			long count = strtol(PQgetvalue(res, i, 8), NULL, 10);
			room += strcmp(PQgetvalue(res, i, 4), SHARED_KIND_BATCH) != 0 ? 1 :
			    count > 0 && count <= SHARED_PUSH_BATCH ? (size_t)count : 0;
		}
		struct shared_batch *b = rows > 0 ? shared_batch_new(sh, room > 0 ? room : 1, false) : NULL;
		if (rows > 0 && b == NULL) {
			PQclear(res);
			return -ENOMEM;
		}
		for (int i = 0; i < rows; i++) {
			int64_t before = sh->fetched;
			sh->fetched = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			if (b != NULL && PQnfields(res) == 9)
				shared_decode_row(sh, res, i, before, b);
		}
		PQclear(res);
		if (b != NULL && b->n > 0)
			shared_hand_over(sh, b);
		else
			shared_batch_done(sh, b);
		total += rows;
		/* fewer rows than asked, and fewer changes: nothing more after them */
		if ((rows < SHARED_PULL_BATCH && room < SHARED_PULL_BATCH) || atomic_load(&sh->stopping))
			return total;
	}
}

/* ---- evidence ------------------------------------------------------------------------- */

static uint32_t
shared_pub_hash(const struct shared_evidence *e)
{
	char key[STORE_SUBJECT_MAX + STORE_KIND_MAX + 1];
	size_t a = strlen(e->subject), b = strlen(e->kind);

	memcpy(key, e->subject, a);
	key[a] = '\0';
	memcpy(key + a + 1, e->kind, b);
	return (uint32_t)hash_bytes(key, a + 1 + b);
}

static struct shared_pub *
shared_pub_find(struct shared *sh, const char *subject, const char *kind, uint32_t h)
{
	for (struct htable_node *n = htable_first(&sh->pubs, h); n != NULL; n = htable_next(n, h)) {
		struct shared_pub *p = htable_entry(n, struct shared_pub, hnode);
		if (strcmp(p->text, subject) == 0 && strcmp(p->text + p->kind_at, kind) == 0)
			return p;
	}
	return NULL;
}

/* The bytes of text e's strings take in a publication (each with its NUL). */
static size_t
shared_pub_room(const struct shared_evidence *e)
{
	return strnlen(e->subject, sizeof(e->subject) - 1) + 1 + strnlen(e->kind, sizeof(e->kind) - 1) + 1 +
	    strnlen(e->summary, sizeof(e->summary) - 1) + 1;
}

/* e into p, whose text has room for it (shared_pub_room). */
static void
shared_pub_fill(struct shared_pub *p, const struct shared_evidence *e)
{
	size_t a = strnlen(e->subject, sizeof(e->subject) - 1), b = strnlen(e->kind, sizeof(e->kind) - 1);
	size_t c = strnlen(e->summary, sizeof(e->summary) - 1);

	p->value = e->value;
	p->value_time = e->value_time;
	p->first_seen = e->first_seen;
	p->last_seen = e->last_seen;
	p->count = e->count;
	memcpy(p->text, e->subject, a);
	p->text[a] = '\0';
	p->kind_at = (uint16_t)(a + 1);
	memcpy(p->text + p->kind_at, e->kind, b);
	p->text[p->kind_at + b] = '\0';
	p->summary_at = (uint16_t)(p->kind_at + b + 1);
	memcpy(p->text + p->summary_at, e->summary, c);
	p->text[p->summary_at + c] = '\0';
}

/* The publication p as the line encoder takes it, node's. */
static void
shared_pub_evidence(const struct shared_pub *p, const char *node, struct shared_evidence *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->subject, sizeof(out->subject), "%s", p->text);
	snprintf(out->node, sizeof(out->node), "%s", node);
	snprintf(out->kind, sizeof(out->kind), "%s", p->text + p->kind_at);
	snprintf(out->summary, sizeof(out->summary), "%s", p->text + p->summary_at);
	out->value = p->value;
	out->value_time = p->value_time;
	out->first_seen = p->first_seen;
	out->last_seen = p->last_seen;
	out->count = p->count;
}

/* Under sh->mu: e as the newest publication of its (subject, kind). */
static int
shared_pub_put(struct shared *sh, const struct shared_evidence *e)
{
	uint32_t h = shared_pub_hash(e);
	struct shared_pub *p = shared_pub_find(sh, e->subject, e->kind, h);
	size_t room = shared_pub_room(e);

	if (p != NULL && room <= p->room) {
		shared_pub_fill(p, e);          /* in its place in line */
		return 0;
	}
	if (p != NULL) {
		/* longer than the one it replaces: that one is skipped, this one goes in line */
		htable_del(&sh->pubs, &p->hnode);
		p->dead = true;
	} else if (sh->pub_count >= SHARED_PUB_MAX && sh->pub_head != NULL) {
		/* PostgreSQL away for long under a storm: the oldest go (republished when they change) */
		struct shared_pub *old = sh->pub_head;
		sh->pub_head = old->next;
		if (sh->pub_head == NULL)
			sh->pub_tail = NULL;
		if (!old->dead)
			htable_del(&sh->pubs, &old->hnode);
		sh->pub_count--;
		free(old);
	}
	if ((p = malloc(sizeof(*p) + room)) == NULL)
		return -ENOMEM;
	p->room = (uint16_t)room;
	p->dead = false;
	shared_pub_fill(p, e);
	p->next = NULL;
	p->hnode.hash = h;
	htable_add(&sh->pubs, &p->hnode);
	if (sh->pub_tail != NULL)
		sh->pub_tail->next = p;
	else
		sh->pub_head = p;
	sh->pub_tail = p;
	if (sh->pub_count++ == 0)
		sh->pub_since = time_mono();
	return 0;
}

void
shared_set_evidence(struct shared *sh, shared_evidence_fn fn)
{
	sh->evidence_fn = fn;
}

void
shared_set_prefetch(struct shared *sh, shared_prefetch_fn fn)
{
	sh->prefetch_fn = fn;
}

int
shared_publish(struct shared *sh, const struct shared_evidence *e)
{
	int rc;

	pthread_mutex_lock(&sh->mu);
	rc = shared_pub_put(sh, e);     /* its node, this one's, is written at the push */
	/* the sync thread is told of the first one (it then waits SHARED_EV_LINGER for more) and
	 * of a whole batch, not of every one */
	bool kick = rc == 0 && (sh->pub_count == 1 || sh->pub_count == SHARED_EV_BATCH);
	pthread_mutex_unlock(&sh->mu);
	if (kick)
		shared_kick(sh);
	return rc;
}

void
shared_compact_soon(struct shared *sh)
{
	atomic_store(&sh->compact_asked, true);
	shared_kick(sh);
}

void
shared_fold_soon(struct shared *sh)
{
	atomic_store(&sh->fold_asked, true);
	shared_kick(sh);
}

/* Whether the publications waiting are to go now: a whole batch, or the oldest has waited
 * SHARED_EV_LINGER, or the thread is stopping. */
static bool
shared_evidence_due(struct shared *sh, usec_t now)
{
	pthread_mutex_lock(&sh->mu);
	bool due = sh->pub_count >= SHARED_EV_BATCH || (sh->pub_since != 0 && now >= sh->pub_since + SHARED_EV_LINGER);
	pthread_mutex_unlock(&sh->mu);
	return due || atomic_load(&sh->stopping);
}

/* ---- this node's lines not yet folded ---- */

/* The key of an evidence line: up to its second tab (subject and kind); 0 when it has none. */
static size_t
line_key_len(const char *line, size_t len)
{
	const char *tab = memchr(line, '\t', len);

	if (tab == NULL || (tab = memchr(tab + 1, '\t', len - (size_t)(tab + 1 - line))) == NULL)
		return 0;
	return (size_t)(tab - line);
}

static struct shared_line *
unfolded_find(struct shared *sh, const char *key, size_t key_len, uint32_t h)
{
	for (struct htable_node *n = htable_first(&sh->unfolded, h); n != NULL; n = htable_next(n, h)) {
		struct shared_line *l = htable_entry(n, struct shared_line, hnode);
		if (l->key_len == key_len && memcmp(l->line, key, key_len) == 0)
			return l;
	}
	return NULL;
}

/* l (taken) as the newest unfolded line of its key, unless newer says a newer one may be
 * there already (a fold round's line going back): then it goes only where none is. */
static void
unfolded_put(struct shared *sh, struct shared_line *l, bool newer)
{
	struct shared_line *old = unfolded_find(sh, l->line, l->key_len, l->hnode.hash);

	if (old != NULL && newer) {
		free(l);
		return;
	}
	if (old != NULL) {
		htable_del(&sh->unfolded, &old->hnode);
		free(old);
		sh->unfolded_count--;
	}
	htable_add(&sh->unfolded, &l->hnode);
	sh->unfolded_count++;
}

/* A copy of line (len bytes, no newline) for unfolded_put; NULL when it has no key or
 * memory ran out (it is then left to the next publication of its key). */
static struct shared_line *
shared_line_new(const char *line, size_t len)
{
	size_t key_len = line_key_len(line, len);
	struct shared_line *l;

	if (key_len == 0 || (l = malloc(sizeof(*l) + len + 1)) == NULL)
		return NULL;
	l->key_len = key_len;
	l->len = len;
	memcpy(l->line, line, len);
	l->line[len] = '\0';
	l->hnode.hash = (uint32_t)hash_bytes(line, key_len);
	return l;
}

/* Each line of a log row's lines (text, len bytes, each line ended by a newline) as
 * unfolded: what an earlier run of this node pushed and did not fold. */
static void
unfolded_put_text(struct shared *sh, const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
		struct shared_line *l = shared_line_new(text + i, n);
		if (l != NULL)
			unfolded_put(sh, l, false);
		i += n + 1;
	}
}

/* A fold round ended short (an error, a reconnect): its lines not folded go back, where no
 * newer line of their key came meanwhile. */
static void
shared_fold_abort(struct shared *sh)
{
	for (size_t i = sh->fold_i; i < sh->fold_n; i++)
		unfolded_put(sh, sh->fold[i], true);
	free(sh->fold);
	sh->fold = NULL;
	sh->fold_n = sh->fold_i = 0;
}

/*
 * shared_load_unfolded — at this run's first contact: this node's log rows after its last
 * fold (an earlier run's pushes it did not fold before it stopped) as unfolded, for the next
 * fold, which otherwise would record them folded without their lines in lz_evidence. Read
 * SHARED_UNFOLDED_PAGE rows a query: after folds that failed for days there may be
 * gigabytes of them, which one result would hold in memory at once (the table keeps only
 * the newest line per subject and kind).
 */
static int
shared_load_unfolded(struct shared *sh)
{
	char after[24], limit[24];
	const char *params[3] = { sh->node, after, limit };
	int64_t from = 0;
	PGresult *res = NULL;
	int rc, rows;

	if ((rc = shared_query_i64(sh, "SELECT coalesce((SELECT evidence_folded FROM lz_nodes WHERE name = $1), 0)",
	    1, params, &from)) != 0)
		return rc;
	snprintf(limit, sizeof(limit), "%d", SHARED_UNFOLDED_PAGE);
	do {
		snprintf(after, sizeof(after), "%" PRId64, from);
		if ((rc = pg_exec_params(sh->pg, "SELECT seq, lines FROM lz_evidence_log WHERE node = $1 AND seq > $2 "
		    "ORDER BY seq LIMIT $3", 3, params, NULL, NULL, &res)) != 0)
			return rc;
		rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			from = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			unfolded_put_text(sh, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
		}
		PQclear(res);
	} while (rows == SHARED_UNFOLDED_PAGE && !atomic_load(&sh->stopping));
	sh->unfolded_loaded = rows < SHARED_UNFOLDED_PAGE;
	return 0;
}

/* ---- pushing: the log ---- */

/* Any byte of s that is not UTF-8 as '?' (a summary built from what the network sent). */
static void
text_make_utf8(char *s)
{
	size_t len = strlen(s);
	unsigned char *u = (unsigned char *)s;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = u[i] < 0x80 ? 1 : utf8_decode(u + i, len - i, &cp);
		if (n == 0) {
			u[i] = '?';
			n = 1;
		}
		i += n;
	}
}

/*
 * shared_push_evidence — up to SHARED_EV_BATCH publications as one row of lz_evidence_log (a
 * line each), inserted under the evidence lock (seq in commit order) with a NOTIFY, in one
 * round trip. Pushed, they wait in unfolded for the next fold; when the push fails they go
 * back in line, unless a newer one took their place meanwhile. The publications pushed, or
 * an error.
 */
static int
shared_push_evidence(struct shared *sh)
{
	struct shared_pub **take = malloc(SHARED_EV_BATCH * sizeof(*take));
	size_t n = 0, lines = 0;
	struct text_buf text = { 0 };
	int rc = 0;

	if (take == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&sh->mu);
	while (n < SHARED_EV_BATCH && sh->pub_head != NULL) {
		struct shared_pub *p = sh->pub_head;
		sh->pub_head = p->next;
		sh->pub_count--;
		if (p->dead) {
			free(p);
			continue;
		}
		htable_del(&sh->pubs, &p->hnode);
		take[n++] = p;
	}
	if (sh->pub_head == NULL)
		sh->pub_tail = NULL;
	sh->pub_since = sh->pub_count > 0 ? time_mono() : 0;
	pthread_mutex_unlock(&sh->mu);
	if (n == 0) {
		free(take);
		return 0;
	}

	for (size_t i = 0; i < n && rc == 0; i++) {
		char line[SHARED_EV_LINE_MAX];
		struct shared_evidence e;
		shared_pub_evidence(take[i], sh->node, &e);
		int len = shared_evidence_line(&e, line, sizeof(line));
		if (len < 0) {
			text_make_utf8(e.summary);
			len = shared_evidence_line(&e, line, sizeof(line));
		}
		if (len < 0) {
			/* nothing the judge makes: a subject too long, a number out of range */
			log_limited(&sh->skip_log, LOG_LEVEL_WARN, "shared store: evidence kind=%.48s about a subject "
			    "cannot be written; not published", e.kind);
			take[i]->dead = true;      /* not pushed, not put back */
			continue;
		}
		if (!text_buf_add(&text, line, (size_t)len) || !text_buf_add(&text, "\n", 1))
			rc = -ENOMEM;
		lines++;
	}
	char count[24];
	snprintf(count, sizeof(count), "%zu", lines);
	const char *params[3] = { sh->node, count, text.p };
	if (rc == 0 && lines > 0)
		rc = pg_exec_notify(sh->pg, "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(" SHARED_EV_LOCK ")) "
		    "INSERT INTO lz_evidence_log (node, count, lines) SELECT $1, $2::integer, $3 FROM l", 3, params,
		    "lz_changes", sh->node);
	if (rc == 0) {
		/* this thread's own: the lines wait for the fold */
		for (size_t i = 0, o = 0; i < lines; i++) {
			const char *nl = memchr(text.p + o, '\n', text.len - o);
			struct shared_line *l = shared_line_new(text.p + o, (size_t)(nl - (text.p + o)));
			if (l != NULL)
				unfolded_put(sh, l, false);
			o = (size_t)(nl - text.p) + 1;
		}
	}
	free(text.p);
	pthread_mutex_lock(&sh->mu);
	if (rc == 0)
		sh->stats.evidence_published += lines;
	for (size_t i = 0; i < n; i++) {
		/* back in line when not pushed and nothing newer came meanwhile */
		if (rc != 0 && !take[i]->dead && shared_pub_find(sh, take[i]->text, take[i]->text + take[i]->kind_at,
		    take[i]->hnode.hash) == NULL) {
			take[i]->next = sh->pub_head;
			sh->pub_head = take[i];
			if (sh->pub_tail == NULL)
				sh->pub_tail = take[i];
			htable_add(&sh->pubs, &take[i]->hnode);
			if (sh->pub_count++ == 0)
				sh->pub_since = time_mono();
		} else
			free(take[i]);
	}
	pthread_mutex_unlock(&sh->mu);
	free(take);
	return rc == 0 ? (int)n : rc;
}

/* ---- folding: lz_evidence ---- */

/*
 * shared_fold_upsert — evidence e[0..n) of this node upserted into lz_evidence, one
 * statement under the evidence lock (a node of schema 3 still reads lz_evidence by its seq).
 * 0 or an error.
 */
static int
shared_fold_upsert(struct shared *sh, const struct shared_evidence *e, size_t n)
{
	static const char sql[] = "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(" SHARED_EV_LOCK ")) "
	    "INSERT INTO lz_evidence (node, subject, kind, value, value_time, count, "
	    "first_seen, last_seen, summary, seq) SELECT $1, u.subject, u.kind, u.value, u.value_time, u.count, "
	    "u.first_seen, u.last_seen, u.summary, nextval('lz_evidence_seq') "
	    "FROM l, unnest($2::text[], $3::text[], $4::float8[], $5::bigint[], $6::bigint[], $7::bigint[], "
	    "$8::bigint[], $9::text[]) AS u (subject, kind, value, value_time, count, first_seen, last_seen, summary) "
	    "ON CONFLICT (subject, node, kind) DO UPDATE SET value = excluded.value, "
	    "value_time = excluded.value_time, count = excluded.count, first_seen = excluded.first_seen, "
	    "last_seen = excluded.last_seen, summary = excluded.summary, seq = excluded.seq";
	struct pg_array col[8] = { 0 };
	const char *params[9] = { sh->node };
	char subject[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)], num[5][32];
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = subject_text_encode(subject, sizeof(subject), e[i].subject, strlen(e[i].subject));
		int nl[5];
		nl[0] = snprintf(num[0], sizeof(num[0]), "%.17g", e[i].value);
		nl[1] = snprintf(num[1], sizeof(num[1]), "%" PRId64, (int64_t)e[i].value_time);
		nl[2] = snprintf(num[2], sizeof(num[2]), "%" PRIu64, e[i].count);
		nl[3] = snprintf(num[3], sizeof(num[3]), "%" PRId64, (int64_t)e[i].first_seen);
		nl[4] = snprintf(num[4], sizeof(num[4]), "%" PRId64, (int64_t)e[i].last_seen);
		pg_array_add(&col[0], subject, len);
		pg_array_add(&col[1], e[i].kind, strlen(e[i].kind));
		for (int k = 0; k < 5; k++)
			pg_array_add(&col[2 + k], num[k], (size_t)nl[k]);
		pg_array_add(&col[7], e[i].summary, strlen(e[i].summary));
	}
	for (size_t k = 0; k < 8; k++)
		if ((params[1 + k] = pg_array_text(&col[k])) == NULL)
			rc = -ENOMEM;
	if (rc == 0)
		rc = pg_exec_cached(sh->pg, sql, 9, params, NULL);
	for (size_t k = 0; k < 8; k++)
		pg_array_free(&col[k]);
	return rc;
}

/*
 * shared_fold_record — a fold round's end: the log seq it covers recorded in lz_nodes, and
 * this node's log rows it covers that are older than SHARED_LOG_KEEP deleted. When that
 * fails, the next round records it (or, with nothing to fold, the next attempt on its own:
 * until then the log keeps rows the fold covers, and nodes starting read them again).
 */
static int
shared_fold_record(struct shared *sh, int64_t upto)
{
	char seq[24], keep[24];
	const char *params[3] = { sh->node, seq, keep };
	int rc;

	snprintf(seq, sizeof(seq), "%" PRId64, upto);
	snprintf(keep, sizeof(keep), "%lld", (long long)SHARED_LOG_KEEP);
	if ((rc = pg_exec_cached(sh->pg, "UPDATE lz_nodes SET evidence_folded = greatest(evidence_folded, $2::bigint) "
	    "WHERE name = $1", 2, params, NULL)) != 0 ||
	    (rc = pg_exec_cached(sh->pg, "DELETE FROM lz_evidence_log WHERE node = $1 AND seq <= $2::bigint AND "
	    "at < (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - $3::bigint", 3, params,
	    NULL)) != 0) {
		sh->fold_unrecorded = upto;
		return rc;
	}
	sh->fold_unrecorded = 0;
	return 0;
}

/*
 * shared_fold_step — one step of folding this node's publications into lz_evidence. A
 * round begins every SHARED_FOLD_EVERY when lines wait and no burst is going on: the log
 * seq it will cover is this node's newest row (every line up to it is among those waiting,
 * or folded before), and the waiting lines are taken out. Each step upserts SHARED_EV_BATCH
 * of them; the last records the round (shared_fold_record). Lines pushed meanwhile
 * wait for the next round (their rows come after the seq recorded). The lines folded (0:
 * nothing to do), or an error (the round's lines then wait again).
 */
static int
shared_fold_step(struct shared *sh, usec_t now)
{
	const char *params[1] = { sh->node };
	int rc = 0;

	if (sh->fold == NULL) {
		if (now < sh->next_fold || (now < sh->busy_until && now < sh->next_fold + SHARED_FOLD_LATE))
			return 0;
		if (sh->unfolded_count == 0 || !sh->unfolded_loaded) {
			sh->next_fold = now + SHARED_FOLD_EVERY;
			return sh->fold_unrecorded > 0 ? shared_fold_record(sh, sh->fold_unrecorded) : 0;
		}
		if ((rc = shared_query_i64(sh, "SELECT coalesce(max(seq), 0) FROM lz_evidence_log WHERE node = $1", 1,
		    params, &sh->fold_upto)) != 0)
			return rc;
		if ((sh->fold = malloc(sh->unfolded_count * sizeof(*sh->fold))) == NULL)
			return -ENOMEM;
		size_t cursor = 0;
		sh->fold_n = sh->fold_i = 0;
		for (struct htable_node *n = htable_iter(&sh->unfolded, &cursor, NULL); n != NULL;
		    n = htable_iter(&sh->unfolded, &cursor, n))
			sh->fold[sh->fold_n++] = htable_entry(n, struct shared_line, hnode);
		htable_clear(&sh->unfolded);
		sh->unfolded_count = 0;
	}

	size_t n = sh->fold_n - sh->fold_i < SHARED_EV_BATCH ? sh->fold_n - sh->fold_i : SHARED_EV_BATCH, good = 0;
	struct shared_evidence *e = n > 0 ? malloc(n * sizeof(*e)) : NULL;
	if (n > 0 && e == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct shared_line *l = sh->fold[sh->fold_i + i];
		if (shared_evidence_line_decode(l->line, l->len, sh->node, &e[good]) == 0)
			good++;             /* (a line loaded from an earlier run's rows that is not: dropped) */
	}
	if (rc == 0 && good > 0)
		rc = shared_fold_upsert(sh, e, good);
	free(e);
	if (rc != 0) {
		if (pg_conn_up(sh->pg))     /* (a lost link says so itself) */
			log_limited(&sh->skip_log, LOG_LEVEL_WARN, "shared store: folding %zu publications into lz_evidence "
			    "failed (%s); tried again in %d s node=%s", n, strerror(-rc),
			    (int)(SHARED_FOLD_QUIET / USEC_PER_SEC), sh->node);
		shared_fold_abort(sh);
		sh->next_fold = now + SHARED_FOLD_QUIET;
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		free(sh->fold[sh->fold_i + i]);
	sh->fold_i += n;
	pthread_mutex_lock(&sh->mu);
	sh->stats.evidence_folded += good;
	pthread_mutex_unlock(&sh->mu);
	if (sh->fold_i < sh->fold_n)
		return (int)n;

	free(sh->fold);
	sh->fold = NULL;
	sh->fold_n = sh->fold_i = 0;
	sh->next_fold = now + SHARED_FOLD_EVERY;
	if ((rc = shared_fold_record(sh, sh->fold_upto)) != 0)
		return rc;
	return (int)n;
}

/* A column in decimal notation ("3.5", "1e-05", as PostgreSQL writes a float8) that is a finite
 * number in [0, 1e300); NaN, infinities, hexadecimal and spaces are not. */
static bool
field_double(const char *v, size_t len, double *out)
{
	char buf[64];
	char *end;

	if (v == NULL || len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, v, len);               /* v need not end in a NUL */
	buf[len] = '\0';
	if (strspn(buf, "0123456789.eE+-") < len)
		return false;
	*out = strtod(buf, &end);
	return end == buf + len && *out >= 0 && *out < 1e300;
}

int
shared_evidence_from_columns(const char *const value[SHARED_E_COLUMNS], const size_t len[SHARED_E_COLUMNS],
    struct shared_evidence *out)
{
	int64_t value_time, count, first_seen, last_seen;
	size_t subject_len = 0;

	memset(out, 0, sizeof(*out));
#define C(i) value[SHARED_E_##i], len[SHARED_E_##i]
	if (value[SHARED_E_SUBJECT] == NULL || len[SHARED_E_SUBJECT] == 0 ||
	    subject_text_decode(out->subject, sizeof(out->subject), &subject_len, C(SUBJECT)) != 0 ||
	    !field_text(C(NODE), out->node, sizeof(out->node)) || !field_text(C(KIND), out->kind, sizeof(out->kind)) ||
	    !field_text(C(SUMMARY), out->summary, sizeof(out->summary)) || !field_double(C(VALUE), &out->value) ||
	    !field_int(C(VALUE_TIME), 0, INT64_MAX, &value_time) || !field_int(C(COUNT), 0, INT64_MAX, &count) ||
	    !field_int(C(FIRST_SEEN), 0, INT64_MAX, &first_seen) || !field_int(C(LAST_SEEN), 0, INT64_MAX, &last_seen)) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
#undef C
	out->value_time = value_time;
	out->count = (uint64_t)count;
	out->first_seen = first_seen;
	out->last_seen = last_seen;
	return 0;
}

/* Row i of an evidence query (seq, then the columns in enum shared_evidence_column's order)
 * into the batch's next publication; false when it is skipped. */
static bool
shared_decode_evidence(struct shared *sh, PGresult *res, int i, struct shared_batch *b)
{
	const char *value[SHARED_E_COLUMNS];
	size_t len[SHARED_E_COLUMNS];

	for (int c = 0; c < SHARED_E_COLUMNS; c++) {
		bool null = PQgetisnull(res, i, 1 + c);
		value[c] = null ? NULL : PQgetvalue(res, i, 1 + c);
		len[c] = null ? 0 : (size_t)PQgetlength(res, i, 1 + c);
	}
	if (PQnfields(res) != 1 + SHARED_E_COLUMNS || shared_evidence_from_columns(value, len, &b->evidence[b->n]) != 0) {
		shared_unreadable(sh, "evidence", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2));
		return false;
	}
	return true;
}

/* The fold of node as read at the start of the evidence (0: none, or not read). */
static int64_t
shared_ev_floor(const struct shared *sh, const char *node)
{
	for (size_t i = 0; i < sh->ev_floor_count; i++)
		if (strcmp(sh->ev_floors[i].node, node) == 0)
			return sh->ev_floors[i].node_seq;
	return 0;
}

/*
 * shared_ev_start — the start of reading the other nodes' evidence from nothing: each
 * node's fold (lz_nodes.evidence_folded), read before lz_evidence, so that lz_evidence holds
 * at least what each fold covers (a fold committed meanwhile only brings it nearer the log);
 * the log is then read from the smallest of them, each node's rows after its own fold.
 */
static int
shared_ev_start(struct shared *sh)
{
	const char *params[1] = { sh->node };
	PGresult *res = NULL;
	int64_t least = -1;
	bool overflow = false;
	int rc;

	if ((rc = pg_exec_params(sh->pg, "SELECT name, evidence_folded FROM lz_nodes WHERE name <> $1 ORDER BY "
	    "evidence_folded DESC", 1, params, NULL, NULL, &res)) != 0)
		return rc;
	sh->ev_floor_count = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t folded = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		if (least < 0 || folded < least)
			least = folded;
		if (sh->ev_floor_count < SHARED_ORIGINS_MAX && (size_t)PQgetlength(res, i, 0) < SHARED_NODE_MAX) {
			struct shared_origin *f = &sh->ev_floors[sh->ev_floor_count++];
			memcpy(f->node, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0) + 1);
			f->node_seq = folded;
		} else
			overflow = true;
	}
	PQclear(res);
	/* more nodes than the table holds (more than any network has): the whole log, no row
	 * skipped. Harmless: the newest of a key's rows at or below its node's fold is the line
	 * the fold put in lz_evidence, and a newer row comes after it. */
	if (overflow) {
		sh->ev_floor_count = 0;
		least = 0;
	}
	sh->ev_fetched = least > 0 ? least : 0;
	sh->ev_state_after = 0;
	sh->ev_phase = SHARED_EV_STATE;
	return 0;
}

/*
 * shared_pull_log — the other nodes' log rows after the last read, SHARED_LOG_ROWS a query,
 * their lines to the loop as publications (a row at or below its node's fold as read at the
 * start is in lz_evidence, read before: skipped). A row or line that cannot be read is
 * counted and skipped. The rows read, or an error.
 */
static int
shared_pull_log(struct shared *sh)
{
	int total = 0;

	for (;;) {
		char from[24], limit[24];
		const char *params[3] = { from, limit, sh->node };

		if (shared_loop_behind(sh))
			return total;
		PGresult *res = NULL;
		int rc;

		snprintf(from, sizeof(from), "%" PRId64, sh->ev_fetched);
		snprintf(limit, sizeof(limit), "%d", SHARED_LOG_ROWS);
		if ((rc = pg_exec_cached(sh->pg, "SELECT seq, node, count, lines FROM lz_evidence_log WHERE seq > $1 "
		    "AND node <> $3 ORDER BY seq LIMIT $2", 3, params, &res)) != 0)
			return rc;
		int rows = PQntuples(res);
		size_t room = 0;
		for (int i = 0; i < rows; i++) {
			long count = strtol(PQgetvalue(res, i, 2), NULL, 10);
			room += count > 0 && count <= SHARED_EV_BATCH ? (size_t)count : 0;
		}
		struct shared_batch *b = room > 0 ? shared_batch_new(sh, room, true) : NULL;
		if (room > 0 && b == NULL) {
			PQclear(res);
			return -ENOMEM;
		}
		for (int i = 0; i < rows; i++) {
			const char *seq = PQgetvalue(res, i, 0), *node = PQgetvalue(res, i, 1), *text = PQgetvalue(res, i, 3);
			size_t len = (size_t)PQgetlength(res, i, 3), got = 0, bad = 0;
			long count = strtol(PQgetvalue(res, i, 2), NULL, 10);
			sh->ev_fetched = strtoll(seq, NULL, 10);
			if (sh->ev_fetched <= shared_ev_floor(sh, node))
				continue;
			if (count <= 0 || count > SHARED_EV_BATCH || (size_t)PQgetlength(res, i, 1) >= SHARED_NODE_MAX) {
				shared_unreadable(sh, "evidence", seq, node);
				continue;
			}
			for (size_t o = 0; o < len;) {
				const char *nl = memchr(text + o, '\n', len - o);
				size_t n = nl != NULL ? (size_t)(nl - (text + o)) : len - o;
				if (got + bad == (size_t)count || nl == NULL ||
				    shared_evidence_line_decode(text + o, n, node, &b->evidence[b->n]) != 0)
					bad++;
				else {
					b->n++;
					got++;
				}
				o += n + 1;
			}
			if (bad > 0 || got != (size_t)count)
				shared_unreadable(sh, "evidence", seq, node);
		}
		PQclear(res);
		if (b != NULL && b->n > 0)
			shared_hand_over(sh, b);
		else
			shared_batch_done(sh, b);
		total += rows;
		if (rows < SHARED_LOG_ROWS || atomic_load(&sh->stopping))
			return total;
	}
}

/*
 * shared_pull_unlogged — the lz_evidence rows after the last read of nodes that never wrote
 * to the log: nodes of schema 3 still running during an upgrade, which upsert every
 * publication there. The rows of nodes that write the log (their folds) are passed over, not
 * read again: their log was. Up to the newest row as of the call, so that each row is passed
 * over once. Once a second, with the heartbeat. (A node of this version quiet for an hour,
 * its log rows folded and trimmed, counts as one that never wrote: a fold it makes then is
 * read here too, the same lines its log brought before, harmless.) The rows read, or an
 * error.
 */
static int
shared_pull_unlogged(struct shared *sh)
{
	char upto[24];
	int64_t newest = 0;
	bool done = false;
	int rc;

	if (sh->evidence_fn == NULL || sh->ev_phase != SHARED_EV_LOG)
		return 0;
	if ((rc = shared_query_i64(sh, "SELECT coalesce(max(seq), 0) FROM lz_evidence", 0, NULL, &newest)) != 0)
		return rc;
	if (newest <= sh->ev_state_after)
		return 0;
	snprintf(upto, sizeof(upto), "%" PRId64, newest);
	if ((rc = shared_pull_rows(sh, "SELECT seq, subject, node, kind, value, value_time, count, first_seen, last_seen, "
	    "summary FROM lz_evidence e WHERE seq > $1 AND seq <= $4::bigint AND node <> $3 AND NOT EXISTS "
	    "(SELECT 1 FROM lz_evidence_log l WHERE l.node = e.node) ORDER BY seq LIMIT $2", 4, upto, true,
	    &sh->ev_state_after, shared_decode_evidence, &done)) >= 0 && done)
		sh->ev_state_after = newest;
	return rc;
}

/*
 * shared_pull_evidence — the other nodes' evidence to the loop: from nothing (a start, a
 * failover, a long absence) their folds in lz_evidence first, then their log; otherwise the
 * log after the last row read. The rows read, or an error.
 */
static int
shared_pull_evidence(struct shared *sh)
{
	int rc;

	if (sh->evidence_fn == NULL)
		return 0;
	if (sh->ev_phase == SHARED_EV_START && (rc = shared_ev_start(sh)) != 0)
		return rc;
	if (sh->ev_phase == SHARED_EV_STATE) {
		bool done = false;
		rc = shared_pull_rows(sh, "SELECT seq, subject, node, kind, value, value_time, count, first_seen, "
		    "last_seen, summary FROM lz_evidence WHERE seq > $1 AND node <> $3 ORDER BY seq LIMIT $2", 3, NULL,
		    true, &sh->ev_state_after, shared_decode_evidence, &done);
		if (rc < 0 || !done)
			return rc;
		sh->ev_phase = SHARED_EV_LOG;
	}
	return shared_pull_log(sh);
}

/* ---- ownership ------------------------------------------------------------------------ */

static uint64_t
shared_seed(const char *node)
{
	return hash_siphash(1, 3, shared_owner_key, node, strlen(node));
}

/* splitmix64's finalizer: one subject's score at one node */
static uint64_t
shared_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

bool
shared_owns(struct shared *sh, const char *key, size_t len)
{
	if (sh == NULL || sh->owner_count <= 1)
		return true;
	uint64_t h = hash_siphash(1, 3, shared_owner_key, key, len), best = 0, mine = shared_mix(h ^ sh->my_seed);
	for (size_t i = 0; i < sh->owner_count; i++) {
		uint64_t score = shared_mix(h ^ sh->owners[i]);
		if (score > best)
			best = score;
	}
	return mine >= best;
}

/*
 * shared_trim — a batch of the feed's old rows (SHARED_RETENTION) of each table, by one node
 * at a time (a lock the others then skip). The rows deleted, or an error.
 */
static int
shared_trim(struct shared *sh)
{
	char cutoff[24], log_cutoff[24];
	const char *params[2] = { cutoff, log_cutoff };
	int64_t locked = 0, total = 0;
	PGresult *res = NULL;
	int rc;

	snprintf(cutoff, sizeof(cutoff), "%" PRId64, (int64_t)(time_now() - SHARED_RETENTION));
	snprintf(log_cutoff, sizeof(log_cutoff), "%" PRId64, (int64_t)(time_now() - SHARED_LOG_KEEP));
	if ((rc = pg_begin(sh->pg)) != 0)
		return rc;
	if ((rc = shared_query_i64(sh, "SELECT pg_try_advisory_xact_lock(" SHARED_TRIM_LOCK ")::int", 0, NULL,
	    &locked)) != 0 || !locked)
		goto done;
	static const struct {
		int nparams;
		const char *sql;
	} trims[] = {
		{ 1, "DELETE FROM lz_changes WHERE seq IN (SELECT c.seq FROM lz_changes c WHERE c.at < $1 AND c.kind <> '"
		SHARED_KIND_BATCH "' AND EXISTS (SELECT 1 FROM lz_changes d WHERE d.subject = c.subject AND d.seq > c.seq) "
		"ORDER BY c.seq LIMIT 10000)" },
		{ 1, "DELETE FROM lz_evidence WHERE ctid IN (SELECT ctid FROM lz_evidence WHERE last_seen < $1 AND "
		"value_time < $1 LIMIT 10000)" },
		/* the log's rows an hour old that their node folded (each node deletes its own after
		 * its folds: these are the nodes gone), and any past the retention */
		{ 2, "DELETE FROM lz_evidence_log WHERE seq IN (SELECT l.seq FROM lz_evidence_log l LEFT JOIN lz_nodes n "
		"ON n.name = l.node WHERE l.at < $2::bigint AND (l.seq <= n.evidence_folded OR l.at < $1::bigint) "
		"ORDER BY l.seq LIMIT 10000)" },
	};
	/* one batch each: the pushes of this node wait meanwhile (the caller comes back soon) */
	for (size_t i = 0; i < sizeof(trims) / sizeof(trims[0]); i++) {
		if ((rc = pg_exec_params(sh->pg, trims[i].sql, trims[i].nparams, params, NULL, NULL, &res)) != 0)
			goto done;
		total += strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
done:
	if (rc == 0 && (rc = pg_commit(sh->pg)) == 0 && total > 0)
		log_info("shared store: %lld rows older than %lld days trimmed node=%s", (long long)total,
		    (long long)(SHARED_RETENTION / (86400 * USEC_PER_SEC)), sh->node);
	if (rc != 0)
		pg_rollback(sh->pg);
	return rc != 0 ? rc : (int)total;
}

/*
 * shared_compact — the batch rows older than the retention, by one node at a time (the trim's
 * lock): each kept with only the lines that are their subject's newest change in the whole feed
 * (batch lines and single rows alike; a subject's several lines in one row, its last), or
 * deleted when none is; single rows older than the retention that a batch line supersedes go
 * too. A row keeps its seq, so the feed keeps its one order and a node catching up from
 * anywhere still ends with each subject's newest change. The rows changed, or an error.
 */
static int
shared_compact(struct shared *sh)
{
	char cutoff[24];
	const char *params[1] = { cutoff };
	int64_t locked = 0, old = 0, total = 0;
	PGresult *res = NULL;
	int rc;

	snprintf(cutoff, sizeof(cutoff), "%" PRId64, (int64_t)(time_now() - SHARED_RETENTION));
	if ((rc = pg_begin(sh->pg)) != 0)
		return rc;
	if ((rc = shared_query_i64(sh, "SELECT pg_try_advisory_xact_lock(" SHARED_TRIM_LOCK ")::int", 0, NULL,
	    &locked)) != 0 || !locked)
		goto done;
	if ((rc = shared_query_i64(sh, "SELECT count(*) FROM lz_changes WHERE kind = '" SHARED_KIND_BATCH
	    "' AND at < $1::bigint", 1, params, &old)) != 0 || old == 0)
		goto done;
	static const char *const steps[] = {
		/* every subject's newest change: its subject text is a batch line's third member; a
		 * line past its row's count is none (no node reads it: the compaction must not make
		 * it one by counting it) */
		"CREATE TEMP TABLE lz_newest ON COMMIT DROP AS SELECT subject, max(seq) AS seq FROM ("
		"SELECT split_part(l.line, E'\t', 3) AS subject, c.seq FROM lz_changes c, "
		"regexp_split_to_table(rtrim(c.verdict, E'\n'), E'\n') WITH ORDINALITY AS l (line, n) "
		"WHERE c.kind = '" SHARED_KIND_BATCH "' AND l.n <= c.count "
		"UNION ALL SELECT subject, seq FROM lz_changes WHERE kind <> '" SHARED_KIND_BATCH "') a GROUP BY subject",
		"WITH lines AS (SELECT c.seq, l.line, l.n, split_part(l.line, E'\t', 3) AS subject FROM lz_changes c, "
		"regexp_split_to_table(rtrim(c.verdict, E'\n'), E'\n') WITH ORDINALITY AS l (line, n) "
		"WHERE c.kind = '" SHARED_KIND_BATCH "' AND c.at < $1::bigint AND l.n <= c.count), "
		"keep AS (SELECT DISTINCT ON (l.seq, l.subject) l.seq, l.n, l.line FROM lines l "
		"JOIN lz_newest w ON w.subject = l.subject AND w.seq = l.seq ORDER BY l.seq, l.subject, l.n DESC), "
		"kept AS (SELECT seq, string_agg(line || E'\n', '' ORDER BY n) AS verdict, count(*)::integer AS n "
		"FROM keep GROUP BY seq), "
		"rewritten AS (UPDATE lz_changes c SET verdict = k.verdict, count = k.n FROM kept k "
		"WHERE c.seq = k.seq AND c.count <> k.n RETURNING c.seq) "
		"DELETE FROM lz_changes c WHERE c.kind = '" SHARED_KIND_BATCH "' AND c.at < $1::bigint "
		"AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.seq = c.seq)",
		"DELETE FROM lz_changes c USING lz_newest w WHERE c.kind <> '" SHARED_KIND_BATCH "' "
		"AND c.at < $1::bigint AND w.subject = c.subject AND w.seq > c.seq",
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if ((rc = pg_exec_params(sh->pg, steps[i], i == 0 ? 0 : 1, params, NULL, NULL, &res)) != 0)
			goto done;
		if (i > 0)
			total += strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
done:
	if (rc == 0 && (rc = pg_commit(sh->pg)) == 0 && old > 0)
		log_info("shared store: %lld batch rows older than %lld days compacted (%lld deleted) node=%s",
		    (long long)old, (long long)(SHARED_RETENTION / (86400 * USEC_PER_SEC)), (long long)total, sh->node);
	if (rc != 0)
		pg_rollback(sh->pg);
	return rc != 0 ? rc : (int)total;
}

/* The heartbeat: this node's row, then every node's. */
static int
shared_beat(struct shared *sh)
{
	char started[24], applied[24];
	const char *params[6] = { sh->node, sh->role, LAZARET_VERSION, started, applied, sh->enforcing };
	PGresult *res = NULL;
	int rc;

	snprintf(started, sizeof(started), "%" PRId64, (int64_t)sh->started_at);
	snprintf(applied, sizeof(applied), "%" PRId64, (int64_t)atomic_load(&sh->applied));
	if ((rc = pg_exec_cached(sh->pg, "INSERT INTO lz_nodes (name, role, version, started, last_contact, applied, "
	    "enforcing) VALUES ($1, $2, $3, $4, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, $5, $6) "
	    "ON CONFLICT (name) DO UPDATE SET role = excluded.role, version = excluded.version, "
	    "started = excluded.started, last_contact = excluded.last_contact, applied = excluded.applied, "
	    "enforcing = excluded.enforcing", 6, params, NULL)) != 0)
		return rc;
	if ((rc = pg_exec_cached(sh->pg, "SELECT name, role, version, started, last_contact, applied, enforcing, "
	    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint - last_contact, "
	    "(SELECT coalesce(max(seq), 0) FROM lz_changes) FROM lz_nodes ORDER BY name", 0, NULL,
	    &res)) != 0)
		return rc;
	int rows = PQntuples(res);
	struct shared_node *nodes = rows > 0 ? calloc((size_t)rows, sizeof(*nodes)) : NULL;
	int64_t newest = 0;
	for (int i = 0; nodes != NULL && i < rows; i++) {
		struct shared_node *n = &nodes[i];
		snprintf(n->name, sizeof(n->name), "%s", PQgetvalue(res, i, 0));
		snprintf(n->role, sizeof(n->role), "%s", PQgetvalue(res, i, 1));
		snprintf(n->version, sizeof(n->version), "%s", PQgetvalue(res, i, 2));
		n->started = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		n->last_contact = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		n->applied = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		snprintf(n->enforcing, sizeof(n->enforcing), "%s", PQgetvalue(res, i, 6));
		int64_t age = strtoll(PQgetvalue(res, i, 7), NULL, 10);
		n->age = age > 0 ? (usec_t)age : 0;
		newest = strtoll(PQgetvalue(res, i, 8), NULL, 10);
	}
	PQclear(res);
	/* the nodes sharing the judging: in contact lately, this one always */
	uint64_t *seeds = calloc((size_t)rows + 1, sizeof(*seeds));
	size_t live = 0;
	if (seeds != NULL) {
		seeds[live++] = shared_seed(sh->node);
		for (int i = 0; nodes != NULL && i < rows; i++)
			if (nodes[i].age < SHARED_LIVE && strcmp(nodes[i].name, sh->node) != 0)
				seeds[live++] = shared_seed(nodes[i].name);
	}
	pthread_mutex_lock(&sh->mu);
	if (seeds != NULL) {
		bool same = live == sh->stats.live_nodes;
		free(sh->owners_next);
		sh->owners_next = seeds;
		sh->owners_next_count = live;
		sh->owners_changed = true;
		sh->stats.live_nodes = live;
		if (!same)
			log_info("shared store: %zu nodes share the judging node=%s", live, sh->node);
	}
	if (nodes != NULL || rows == 0) {
		free(sh->nodes);
		sh->nodes = nodes;
		sh->node_count = nodes != NULL ? (size_t)rows : 0;
	}
	if (newest > 0)
		sh->stats.newest = newest;
	pthread_mutex_unlock(&sh->mu);
	uv_async_send(sh->async);       /* the loop takes the owners */
	return 0;
}

static void
shared_notified(void *arg, const char *channel, const char *payload, int sender_pid)
{
	(void)arg;
	(void)channel;
	(void)payload;
	(void)sender_pid;           /* the pull that follows reads whatever is new */
}

static void *
shared_thread(void *arg)
{
	struct shared *sh = arg;

	pthread_setname_np(pthread_self(), "lazaretd-shared");   /* top -H, perf: which thread */
	int prio = background_enter();  /* below the loop: common/background.h */
	if (prio != 0)
		log_warnx("shared store: the sync thread stays at the daemon's CPU priority: %s", strerror(-prio));
	while (!atomic_load(&sh->stopping)) {
		int rc = pg_conn_ensure(sh->pg);

		if (rc == 0 && pg_conn_generation(sh->pg) != sh->generation && (rc = shared_on_connect(sh)) != 0 &&
		    pg_conn_up(sh->pg)) {
			/* connected, but not usable (a newer schema, a namesake node): try again later */
			shared_set_up(sh, false);
			shared_sleep(sh, 5000);
			sh->generation = 0;
			continue;
		}
		if (rc != 0) {
			shared_set_up(sh, false);
			usec_t wait = pg_conn_retry_in(sh->pg);
			shared_sleep(sh, wait > 0 ? (int)(wait / 1000) + 1 : 100);
			continue;
		}
		shared_set_up(sh, true);
		int pushed = 0, pulled = 0, ev_pushed = 0, folded = 0;
		/* a few batches first: a burst of verdicts goes out before the feed is read back */
		for (int turn = 0; turn < SHARED_PUSH_TURN && (pushed = shared_push(sh)) == SHARED_PUSH_BATCH; turn++)
			;
		for (int turn = 0; pushed >= 0 && turn < SHARED_PUSH_TURN && shared_evidence_due(sh, time_mono()) &&
		    (ev_pushed = shared_push_evidence(sh)) == SHARED_EV_BATCH; turn++)
			;
		int ev_pulled = 0;
		if (pushed < 0 || ev_pushed < 0 || (pulled = shared_pull(sh)) < 0 ||
		    (ev_pulled = shared_pull_evidence(sh)) < 0) {
			if (!pg_conn_up(sh->pg))
				continue;       /* reconnects, then catches up */
			shared_sleep(sh, 1000);
			continue;
		}
		usec_t now = time_mono();
		sh->last_turn = now;
		if (pulled > 0 || ev_pulled > 0)
			sh->last_pulled = now;
		if (atomic_exchange(&sh->fold_asked, false))
			sh->next_fold = sh->busy_until = 0;
		if (atomic_exchange(&sh->compact_asked, false))
			sh->next_compact = 0;
		if (pushed == SHARED_PUSH_BATCH || ev_pushed == SHARED_EV_BATCH)
			sh->busy_until = now + SHARED_FOLD_QUIET;
		if ((folded = shared_fold_step(sh, now)) < 0 && !pg_conn_up(sh->pg))
			continue;
		if (now >= sh->next_beat) {
			if (now >= sh->last_pulled + SHARED_BEAT)
				shared_spares_free(sh);     /* quiet: the burst's memory goes back */
			if ((shared_beat(sh) != 0 || shared_pull_unlogged(sh) < 0) && !pg_conn_up(sh->pg))
				continue;
			sh->next_beat = now + SHARED_BEAT;
			now = time_mono();
		}
		if (now >= sh->next_compact) {
			if (shared_compact(sh) < 0 && !pg_conn_up(sh->pg))
				continue;
			sh->next_compact = now + SHARED_COMPACT_EVERY;
			now = time_mono();
		}
		if (now >= sh->next_trim) {
			int trimmed = shared_trim(sh);
			/* a full batch: more to do, a second later */
			sh->next_trim = now + (trimmed >= 10000 ? USEC_PER_SEC : SHARED_TRIM_EVERY);
			if (trimmed < 0 && !pg_conn_up(sh->pg))
				continue;
			now = time_mono();
		}
		if (pushed == SHARED_PUSH_BATCH || ev_pushed == SHARED_EV_BATCH || (folded > 0 && sh->fold != NULL))
			continue;           /* more waiting */
		usec_t until = sh->next_beat > now ? sh->next_beat - now : 0;
		pthread_mutex_lock(&sh->mu);
		usec_t since = sh->pub_since;
		pthread_mutex_unlock(&sh->mu);
		if (since != 0)         /* the evidence waiting goes when its linger is over */
			until = since + SHARED_EV_LINGER > now ? (since + SHARED_EV_LINGER - now < until ?
			    since + SHARED_EV_LINGER - now : until) : 0;
		if (pg_wait(sh->pg, sh->wake_fd, (int)(until / 1000) + 1, shared_notified, sh) < 0)
			continue;
	}
	return NULL;
}

/* ---- life --------------------------------------------------------------------------- */

struct shared *
shared_new(const char *conninfo, const char *node, const char *role, const char *enforcing,
    struct store *st, uv_loop_t *loop, shared_apply_fn apply, shared_link_fn link, void *arg,
    char *err, size_t errlen)
{
	struct shared *sh;

	if (pg_conninfo_check(conninfo, err, errlen) != 0)
		return NULL;
	if (!shared_node_name_valid(node)) {
		snprintf(err, errlen, "node name '%s' is not 1 to 63 of A-Z a-z 0-9 . _ -", node);
		return NULL;
	}
	if ((sh = calloc(1, sizeof(*sh))) == NULL || (sh->conninfo = strdup(conninfo)) == NULL ||
	    (sh->async = malloc(sizeof(*sh->async))) == NULL)
		goto nomem;
	sh->wake_fd = -1;
	snprintf(sh->node, sizeof(sh->node), "%s", node);
	snprintf(sh->role, sizeof(sh->role), "%s", role != NULL ? role : "");
	snprintf(sh->enforcing, sizeof(sh->enforcing), "%s", enforcing != NULL ? enforcing : "");
	sh->st = st;
	sh->started_at = time_now();
	sh->loop = loop;
	sh->apply = apply;
	sh->link = link;
	sh->arg = arg;
	sh->skip_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	sh->outdated_log = (struct log_limit)LOG_LIMIT_INIT(1, 60 * USEC_PER_SEC);
	if ((sh->pg = pg_conn_new(conninfo, node)) == NULL)
		goto nomem;
	if ((sh->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (htable_init(&sh->pubs, 1024) != 0 || htable_init(&sh->unfolded, 1024) != 0)
		goto nomem;
	sh->my_seed = shared_seed(sh->node);
	pthread_mutex_init(&sh->mu, NULL);
	pthread_cond_init(&sh->room, NULL);
	if (uv_async_init(loop, sh->async, shared_async_cb) != 0) {
		snprintf(err, errlen, "cannot make the shared store's async handle");
		goto fail;
	}
	sh->async->data = sh;
	return sh;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (sh != NULL) {
		if (sh->wake_fd >= 0)
			close(sh->wake_fd);
		pg_conn_free(sh->pg);
		free(sh->async);
		free(sh->conninfo);
		free(sh);
	}
	return NULL;
}

int
shared_start(struct shared *sh, int64_t applied)
{
	int rc;

	sh->fetched = applied > 0 ? applied : 0;
	/* the server this node last applied changes from: another one now is a failover */
	char value[48];
	unsigned long long sysid;
	unsigned timeline;
	if (store_state_get(sh->st, SHARED_SERVER_KEY, value, sizeof(value)) == 0 &&
	    sscanf(value, "%llu %u", &sysid, &timeline) == 2) {
		sh->sysid = sysid;
		sh->timeline = timeline;
	}
	atomic_store(&sh->applied, sh->fetched);
	sh->stats.applied = sh->fetched;
	store_set_outbox_hook(sh->st, shared_kick, sh);
	if ((rc = pthread_create(&sh->thread, NULL, shared_thread, sh)) != 0)
		return -rc;
	sh->started = true;
	return 0;
}

void
shared_kick(void *arg)
{
	struct shared *sh = arg;
	uint64_t one = 1;

	if (write(sh->wake_fd, &one, sizeof(one)) < 0)
		return;             /* EAGAIN: it is awake already */
}

void
shared_free(struct shared *sh)
{
	if (sh == NULL)
		return;
	store_set_outbox_hook(sh->st, NULL, NULL);
	atomic_store(&sh->stopping, true);
	shared_kick(sh);
	pthread_mutex_lock(&sh->mu);
	pthread_cond_broadcast(&sh->room);
	pthread_mutex_unlock(&sh->mu);
	if (sh->started)
		pthread_join(sh->thread, NULL);
	while (sh->head != NULL) {
		struct shared_batch *b = sh->head;
		sh->head = b->next;
		free(b);
	}
	free(sh->current);
	shared_spares_free(sh);
	uv_close((uv_handle_t *)sh->async, shared_async_free);
	pg_conn_free(sh->pg);
	close(sh->wake_fd);
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->room);
	while (sh->pub_head != NULL) {
		struct shared_pub *p = sh->pub_head;
		sh->pub_head = p->next;
		free(p);
	}
	htable_fini(&sh->pubs);
	if (sh->fold != NULL)
		shared_fold_abort(sh);
	size_t cursor = 0;
	struct htable_node *n = htable_iter(&sh->unfolded, &cursor, NULL);
	while (n != NULL) {
		struct htable_node *next = htable_iter(&sh->unfolded, &cursor, n);
		free(htable_entry(n, struct shared_line, hnode));
		n = next;
	}
	htable_fini(&sh->unfolded);
	free(sh->owners);
	free(sh->owners_next);
	free(sh->nodes);
	free(sh->conninfo);
	free(sh);
}

bool
shared_up(const struct shared *sh)
{
	return sh != NULL && atomic_load(&sh->up);
}

const char *
shared_node_name(const struct shared *sh)
{
	return sh->node;
}

void
shared_stats_get(struct shared *sh, struct shared_stats *out)
{
	pthread_mutex_lock(&sh->mu);
	*out = sh->stats;
	out->evidence_pending = sh->pub_count;
	pthread_mutex_unlock(&sh->mu);
	out->up = atomic_load(&sh->up);
	out->applied = atomic_load(&sh->applied);
	int64_t pending, last;
	if (store_outbox_count(sh->st, &pending, &last) == 0)
		out->outbox = pending;      /* now, not as of the last heartbeat: it grows while PostgreSQL is away */
	if (out->newest < out->applied)
		out->newest = out->applied;
}

size_t
shared_nodes(struct shared *sh, void (*each)(void *arg, const struct shared_node *n), void *arg)
{
	size_t n;

	pthread_mutex_lock(&sh->mu);
	n = sh->node_count;
	for (size_t i = 0; i < n; i++)
		each(arg, &sh->nodes[i]);
	pthread_mutex_unlock(&sh->mu);
	return n;
}
