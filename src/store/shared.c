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

#include "common/level.h"
#include "common/log.h"
#include "store/pg.h"
#include "store/pg_schema.h"

#define SHARED_PUSH_BATCH  256          /* outbox rows per INSERT (6 parameters each) */
#define SHARED_PULL_BATCH  1000         /* changes per SELECT, and per hand-over to the loop */
#define SHARED_QUEUE_MAX   8            /* batches waiting for the loop before the pull waits */
#define SHARED_BEAT        USEC_PER_SEC
/* After a failover, the changes re-read: a promoted standby may have given the numbers of
 * the old primary's last changes, lost with it, to others (each node pushes its own again;
 * changes already applied are known by (node, node_seq) and skipped). */
#define SHARED_REREAD      100000
#define SHARED_ORIGINS_MAX 256          /* nodes whose last applied node_seq is remembered */
/* The lock every push takes: "lzchange" as a number. Pushes are serialized by it, so the
 * order of seq, given inside, is the order of the commits: a pull that read up to seq N
 * never finds a smaller seq committed later. */
#define SHARED_PUSH_LOCK   "7816113209573599077"

struct shared_batch {
	struct shared_batch *next;
	size_t n;
	struct shared_change changes[];
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
	atomic_bool up;
	atomic_int_fast64_t applied;    /* the newest seq the loop applied */

	/* sync thread only */
	struct pg_conn *pg;
	uint64_t generation;
	uint64_t sysid;
	uint32_t timeline;
	bool migrated;
	bool was_up;
	bool link_known;                /* was_up tells something: the first state is told too */
	int64_t pushed;                 /* the highest node_seq PostgreSQL has of ours */
	int64_t fetched;                /* the highest seq handed to the loop */
	usec_t next_beat;
	struct shared_origin origins[SHARED_ORIGINS_MAX];
	size_t origin_count;
	struct log_limit skip_log;

	pthread_mutex_t mu;             /* guards what follows */
	pthread_cond_t room;            /* the loop took batches */
	struct shared_batch *head, *tail;
	size_t batches;
	bool link_changed;
	bool link_up;
	struct shared_stats stats;
	struct shared_node *nodes;
	size_t node_count;
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

int
shared_verdict_encode(const struct shared_verdict *v, char **out)
{
	json_t *o;

	*out = NULL;
	if (v->level < 0 || v->level >= LEVEL_COUNT || v->old_level < 0 || v->old_level >= LEVEL_COUNT ||
	    v->manual_level < -1 || v->manual_level >= LEVEL_COUNT || v->tag > INT64_MAX)
		return -EINVAL;
	o = json_pack("{s:s, s:s, s:i, s:I, s:s, s:b, s:I, s:I, s:s, s:s, s:s, s:b, s:I}",
	    "level", level_name(v->level), "old", level_name(v->old_level),
	    "manual_level", v->manual_level, "manual_until", (json_int_t)v->manual_until,
	    "manual_reason", v->manual_reason, "self_release", v->self_release,
	    "grace_until", (json_int_t)v->grace_until, "time", (json_int_t)v->time,
	    "actor", v->actor, "reason", v->reason, "v", "1", "reset", v->reset, "tag", (json_int_t)v->tag);
	if (o == NULL)                  /* a text that is not UTF-8 among them, or no memory */
		return -EINVAL;
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out != NULL ? 0 : -ENOMEM;
}

/* Copies a JSON string member into dst (size bytes); false when absent, not a string, holding
 * a NUL, or too long. */
static bool
decode_text(json_t *o, const char *key, char *dst, size_t size)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return false;
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (len >= size || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

static bool
decode_time(json_t *o, const char *key, usec_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (usec_t)json_integer_value(v);
	return true;
}

static bool
decode_level(json_t *o, const char *key, int *out)
{
	char name[32];

	if (!decode_text(o, key, name, sizeof(name)))
		return false;
	*out = level_parse(name);
	return *out >= 0 && *out < LEVEL_COUNT;
}

int
shared_verdict_decode(const char *body, size_t len, struct shared_verdict *out)
{
	json_error_t jerr;
	json_t *o, *v;
	usec_t tag;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return -EINVAL;
	if (!json_is_object(o) || !decode_level(o, "level", &out->level) || !decode_level(o, "old", &out->old_level) ||
	    !decode_time(o, "manual_until", &out->manual_until) || !decode_time(o, "grace_until", &out->grace_until) ||
	    !decode_time(o, "time", &out->time) || !decode_time(o, "tag", &tag) ||
	    !decode_text(o, "manual_reason", out->manual_reason, sizeof(out->manual_reason)) ||
	    !decode_text(o, "actor", out->actor, sizeof(out->actor)) || out->actor[0] == '\0' ||
	    !decode_text(o, "reason", out->reason, sizeof(out->reason)))
		goto done;
	out->tag = (uint64_t)tag;
	v = json_object_get(o, "manual_level");
	if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) >= LEVEL_COUNT)
		goto done;
	out->manual_level = (int)json_integer_value(v);
	if (!json_is_boolean(v = json_object_get(o, "self_release")))
		goto done;
	out->self_release = json_is_true(v);
	if (!json_is_boolean(v = json_object_get(o, "reset")))
		goto done;
	out->reset = json_is_true(v);
	rc = 0;
done:
	json_decref(o);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- the loop's side ------------------------------------------------------------------ */

static void
shared_async_cb(uv_async_t *handle)
{
	struct shared *sh = handle->data;
	struct shared_batch *list;
	bool link_changed, link_up;

	pthread_mutex_lock(&sh->mu);
	list = sh->head;
	sh->head = sh->tail = NULL;
	sh->batches = 0;
	link_changed = sh->link_changed;
	link_up = sh->link_up;
	sh->link_changed = false;
	pthread_cond_broadcast(&sh->room);
	pthread_mutex_unlock(&sh->mu);

	int64_t applied = atomic_load(&sh->applied);
	while (list != NULL) {
		struct shared_batch *b = list;
		list = b->next;
		for (size_t i = 0; i < b->n; i++) {
			sh->apply(sh->arg, &b->changes[i]);
			applied = b->changes[i].seq;
		}
		free(b);
	}
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
	if (sh->sysid != 0 && (srv->system_identifier != sh->sysid || srv->timeline != sh->timeline)) {
		log_warnx("shared store: the primary changed (system %" PRIu64 " timeline %u, was %" PRIu64
		    " timeline %u): this node's changes since the server's last are pushed again and the last %d "
		    "changes read again", srv->system_identifier, srv->timeline, sh->sysid, sh->timeline,
		    SHARED_REREAD);
		sh->fetched = sh->fetched > SHARED_REREAD ? sh->fetched - SHARED_REREAD : 0;
	}
	/* this run's first contact: what it received before it began, known as applied */
	if (sh->sysid == 0 && sh->fetched > 0 && (rc = shared_load_origins(sh)) != 0)
		return rc;
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
	if ((rc = pg_listen(sh->pg, "lz_changes")) != 0)
		return rc;
	sh->generation = pg_conn_generation(sh->pg);
	sh->next_beat = 0;
	pthread_mutex_lock(&sh->mu);
	sh->stats.connects++;
	pthread_mutex_unlock(&sh->mu);
	log_info("shared store %s: connected node=%s server=%d timeline=%u pushed=%" PRId64 " applied=%" PRId64,
	    pg_conn_target(sh->pg), sh->node, srv->version, srv->timeline, sh->pushed, sh->fetched);
	return 0;
}

struct push_rows {
	size_t n;
	int64_t last;
	char *text;                     /* the parameters' texts, NUL-separated */
	size_t len, cap;
	size_t off[SHARED_PUSH_BATCH * 5];      /* where each row's five texts begin */
};

static int
push_add_text(struct push_rows *p, const char *s)
{
	size_t n = strlen(s) + 1;

	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 65536;
		while (cap < p->len + n)
			cap *= 2;
		char *grown = realloc(p->text, cap);
		if (grown == NULL)
			return -ENOMEM;
		p->text = grown;
		p->cap = cap;
	}
	memcpy(p->text + p->len, s, n);
	p->len += n;
	return 0;
}

static int
push_collect(void *arg, const struct store_outbox_row *r)
{
	struct push_rows *p = arg;
	char seq[24], at[24];
	size_t base = p->n * 5;

	snprintf(seq, sizeof(seq), "%" PRId64, r->node_seq);
	snprintf(at, sizeof(at), "%" PRId64, (int64_t)r->at);
	const char *v[5] = { seq, at, r->kind, r->subject, r->body };
	for (size_t i = 0; i < 5; i++) {
		p->off[base + i] = p->len;
		if (push_add_text(p, v[i]) != 0)
			return -1;
	}
	p->n++;
	p->last = r->node_seq;
	return p->n == SHARED_PUSH_BATCH;
}

/*
 * shared_push — the outbox after sh->pushed into lz_changes, a batch per transaction under
 * the push lock, NOTIFY with it. Returns the rows pushed (0: none waiting) or an error.
 */
static int
shared_push(struct shared *sh)
{
	struct push_rows *p = calloc(1, sizeof(*p));
	char *sql = NULL;
	const char **params = NULL;
	int rc;

	if (p == NULL)
		return -ENOMEM;
	if ((rc = store_outbox_read(sh->st, sh->pushed, SHARED_PUSH_BATCH, push_collect, p)) <= 0)
		goto done;
	if (p->n == 0) {
		rc = 0;
		goto done;
	}
	/* one statement for the batch: $1 the node, then five parameters a row */
	size_t sqlcap = 160 + p->n * 64;
	if ((sql = malloc(sqlcap)) == NULL || (params = calloc(1 + p->n * 5, sizeof(*params))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	params[0] = sh->node;
	size_t o = (size_t)snprintf(sql, sqlcap, "INSERT INTO lz_changes (node, node_seq, at, kind, subject, body) VALUES ");
	for (size_t i = 0; i < p->n; i++) {
		size_t b = 1 + i * 5;
		o += (size_t)snprintf(sql + o, sqlcap - o, "%s($1, $%zu, $%zu, $%zu, $%zu, $%zu::jsonb)", i ? ", " : "",
		    b + 1, b + 2, b + 3, b + 4, b + 5);
		for (size_t k = 0; k < 5; k++)
			params[b + k] = p->text + p->off[i * 5 + k];
	}
	snprintf(sql + o, sqlcap - o, " ON CONFLICT (node, node_seq) DO NOTHING");

	if ((rc = pg_begin(sh->pg)) == 0 &&
	    (rc = pg_exec(sh->pg, "SELECT pg_advisory_xact_lock(" SHARED_PUSH_LOCK ")")) == 0 &&
	    (rc = pg_exec_params(sh->pg, sql, (int)(1 + p->n * 5), params, NULL, NULL, NULL)) == 0 &&
	    (rc = pg_notify(sh->pg, "lz_changes", sh->node)) == 0)
		rc = pg_commit(sh->pg);
	else
		pg_rollback(sh->pg);
	if (rc != 0)
		goto done;
	sh->pushed = p->last;
	store_outbox_pushed(sh->st, sh->pushed, time_now());
	pthread_mutex_lock(&sh->mu);
	sh->stats.pushed += p->n;
	pthread_mutex_unlock(&sh->mu);
	rc = (int)p->n;
done:
	free(params);
	free(sql);
	free(p->text);
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
	sh->stats.pulled += b->n;
	pthread_mutex_unlock(&sh->mu);
	uv_async_send(sh->async);
}

/* shared_pull — every change after sh->fetched to the loop. The changes read, or an error. */
static int
shared_pull(struct shared *sh)
{
	int total = 0;

	for (;;) {
		char after[24], limit[24];
		const char *params[2] = { after, limit };
		PGresult *res = NULL;
		int rc;

		snprintf(after, sizeof(after), "%" PRId64, sh->fetched);
		snprintf(limit, sizeof(limit), "%d", SHARED_PULL_BATCH);
		if ((rc = pg_exec_params(sh->pg, "SELECT seq, node, node_seq, at, kind, subject, body::text"
		    " FROM lz_changes WHERE seq > $1 ORDER BY seq LIMIT $2", 2, params, NULL, NULL, &res)) != 0)
			return rc;
		int rows = PQntuples(res);
		struct shared_batch *b = rows > 0 ? malloc(sizeof(*b) + (size_t)rows * sizeof(b->changes[0])) : NULL;
		if (rows > 0 && b == NULL) {
			PQclear(res);
			return -ENOMEM;
		}
		if (b != NULL) {
			b->next = NULL;
			b->n = 0;
		}
		for (int i = 0; i < rows; i++) {
			int64_t seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			const char *node = PQgetvalue(res, i, 1), *kind = PQgetvalue(res, i, 4);
			const char *subject = PQgetvalue(res, i, 5), *body = PQgetvalue(res, i, 6);
			struct shared_change *c = &b->changes[b->n];

			sh->fetched = seq;
			memset(c, 0, sizeof(*c));
			c->seq = seq;
			c->node_seq = strtoll(PQgetvalue(res, i, 2), NULL, 10);
			c->at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
			if (strcmp(kind, SHARED_KIND_VERDICT) != 0 || (size_t)PQgetlength(res, i, 1) >= sizeof(c->node) ||
			    (size_t)PQgetlength(res, i, 5) >= sizeof(c->subject) || PQgetlength(res, i, 5) == 0 ||
			    shared_verdict_decode(body, (size_t)PQgetlength(res, i, 6), &c->verdict) != 0) {
				log_limited(&sh->skip_log, LOG_LEVEL_WARN, "shared store: change seq=%" PRId64 " node=%.64s "
				    "kind=%.32s cannot be read; skipped", seq, node, kind);
				pthread_mutex_lock(&sh->mu);
				sh->stats.skipped++;
				pthread_mutex_unlock(&sh->mu);
				continue;
			}
			if (!shared_origin_new(sh, node, c->node_seq))
				continue;       /* read again after a failover: applied already */
			memcpy(c->node, node, (size_t)PQgetlength(res, i, 1) + 1);
			memcpy(c->subject, subject, (size_t)PQgetlength(res, i, 5) + 1);
			c->own = strcmp(node, sh->node) == 0;
			b->n++;
		}
		PQclear(res);
		if (b != NULL && b->n > 0)
			shared_hand_over(sh, b);
		else
			free(b);
		total += rows;
		if (rows < SHARED_PULL_BATCH || atomic_load(&sh->stopping))
			return total;
	}
}

/* The heartbeat: this node's row, then every node's. */
static int
shared_beat(struct shared *sh)
{
	char started[24], applied[24];
	const char *params[6] = { sh->node, sh->role, LAZARET_VERSION, started, applied, sh->enforcing };
	PGresult *res = NULL;
	int64_t pending = 0, last = 0;
	int rc;

	snprintf(started, sizeof(started), "%" PRId64, (int64_t)sh->started_at);
	snprintf(applied, sizeof(applied), "%" PRId64, (int64_t)atomic_load(&sh->applied));
	if ((rc = pg_exec_params(sh->pg, "INSERT INTO lz_nodes (name, role, version, started, last_contact, applied, "
	    "enforcing) VALUES ($1, $2, $3, $4, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, $5, $6) "
	    "ON CONFLICT (name) DO UPDATE SET role = excluded.role, version = excluded.version, "
	    "started = excluded.started, last_contact = excluded.last_contact, applied = excluded.applied, "
	    "enforcing = excluded.enforcing", 6, params, NULL, NULL, NULL)) != 0)
		return rc;
	if ((rc = pg_exec_params(sh->pg, "SELECT name, role, version, started, last_contact, applied, enforcing, "
	    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint - last_contact, "
	    "(SELECT coalesce(max(seq), 0) FROM lz_changes) FROM lz_nodes ORDER BY name", 0, NULL, NULL, NULL,
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
	store_outbox_count(sh->st, &pending, &last);
	pthread_mutex_lock(&sh->mu);
	if (nodes != NULL || rows == 0) {
		free(sh->nodes);
		sh->nodes = nodes;
		sh->node_count = nodes != NULL ? (size_t)rows : 0;
	}
	if (newest > 0)
		sh->stats.newest = newest;
	sh->stats.outbox = pending;
	pthread_mutex_unlock(&sh->mu);
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
		int pushed = 0, pulled = 0;
		if ((pushed = shared_push(sh)) < 0 || (pulled = shared_pull(sh)) < 0) {
			if (!pg_conn_up(sh->pg))
				continue;       /* reconnects, then catches up */
			shared_sleep(sh, 1000);
			continue;
		}
		usec_t now = time_mono();
		if (now >= sh->next_beat) {
			if (shared_beat(sh) != 0 && !pg_conn_up(sh->pg))
				continue;
			sh->next_beat = now + SHARED_BEAT;
			now = time_mono();
		}
		if (pushed == SHARED_PUSH_BATCH)
			continue;           /* more waiting */
		usec_t until = sh->next_beat > now ? sh->next_beat - now : 0;
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
	if ((sh->pg = pg_conn_new(conninfo, node)) == NULL)
		goto nomem;
	if ((sh->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
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
	uv_close((uv_handle_t *)sh->async, shared_async_free);
	pg_conn_free(sh->pg);
	close(sh->wake_fd);
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->room);
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
