/*
 * test_shared.c — the shared store's sync (src/store/shared.c) against a real PostgreSQL
 * cluster started once for the program (tests/pg/cluster.sh): two nodes, "a" and "b", each
 * with its own SQLite store and sync thread, on one libuv loop. The tests run in order on
 * the same cluster and nodes, each building on what the previous one left:
 *
 *   propagation   a change put into a's outbox reaches b's apply, and a's own, in seq
 *                 order and within a second; every node sees one order; the outbox is
 *                 marked pushed
 *   outage        the cluster stopped: both links go down (and say so), a change put
 *                 meanwhile stays pending; started again: it arrives, once
 *   restart       a node's shared store freed and started again with the seq it had
 *                 applied re-delivers nothing old
 *   namesake      a second instance named "a" is refused while "a" is connected (the
 *                 advisory lock) and pushes nothing; once "a" is gone it comes up and
 *                 its change is numbered after a's
 *   new_local     a's local store lost after its changes were pushed: the new store's
 *                 change, numbered 1 again, is renumbered above PostgreSQL's record
 *                 instead of being dropped by ON CONFLICT
 *   undecodable   a change no node can read, written into lz_changes by hand, is skipped
 *                 and counted, and the next change still arrives
 *   hostile_names keys of any byte but NUL reach the other node intact; a change the server
 *                 refuses is set aside, told to its node, and the next one goes through
 *   evidence      a's publications reach b through the log (a row a push, a line each),
 *                 the newest per subject and kind; a's fold puts them in lz_evidence and
 *                 records the log seq it covers; c, starting from nothing, reads the fold,
 *                 then only the log rows after it (a row the fold covers, made stale by
 *                 hand, is not read); a restarted before its fold folds what its earlier
 *                 run pushed (more rows than one page of its query), and c does not
 *                 read the fold's rows again; a node of schema
 *                 3 (lz_evidence only, no log) is read within a heartbeat or two; a row
 *                 with a bad line is counted, its good line still read; the log's rows go
 *                 once folded and an hour old (a node's own after its fold, a gone node's
 *                 in the hourly trim), a node's never folded stay
 *   batches       a push of many changes is a few batch rows (schema 5), read back in order;
 *                 rows written by hand read as far as they can be; the daily compaction
 *                 keeps of the old batch rows each subject's newest change only
 *   failover      nodes restarted on a multi-host conninfo, the primary killed and its
 *                 standby promoted: the last changes re-read from the new primary are
 *                 skipped, those this run received before it began included, and a change
 *                 made during the failover arrives once
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include <uv.h>

#include "common/level.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "store/pg.h"
#include "store/shared.h"
#include "store/store.h"

#include "pg_cluster.h"

#define CHANGES_MAX 64
#define EVIDENCE_MAX 256
#define SECOND_MS   1000

struct node {
	char name[SHARED_NODE_MAX];
	char dir[64];
	char path[128];
	struct store *st;
	struct shared *sh;
	size_t n;                       /* changes applied, in the order they came */
	struct shared_change ch[CHANGES_MAX];
	uint64_t turn;                  /* the loop's turn of the last change applied */
	size_t turn_n, turn_most;       /* changes applied in that turn; the most in one turn */
	int ups, downs;                 /* link callbacks */
	bool link;                      /* as the last one said */
	bool evidence;                  /* reads the other nodes' evidence (test_evidence) */
	size_t ev_n;                    /* their publications received, in order */
	struct shared_evidence ev[EVIDENCE_MAX];
};

static struct pg_cluster cluster;
static char conninfo[PATH_MAX + 128];
static uv_loop_t loop;
static struct node node_a, node_b, twin;     /* twin: a second "a" */
static struct node node_c;                   /* test_evidence: a node starting from nothing */
static int64_t next_tag = 1;
static uv_prepare_t turns;                   /* counts the loop's turns */
static uint64_t turn_count;

static void
turn_cb(uv_prepare_t *h)
{
	(void)h;
	turn_count++;
}

static void
apply_cb(void *arg, const struct shared_change *c)
{
	struct node *n = arg;

	if (n->n < CHANGES_MAX)
		n->ch[n->n] = *c;
	n->n++;
	if (n->turn != turn_count) {
		n->turn = turn_count;
		n->turn_n = 0;
	}
	if (++n->turn_n > n->turn_most)
		n->turn_most = n->turn_n;
}

static void
evidence_cb(void *arg, const struct shared_evidence *e)
{
	struct node *n = arg;

	if (n->ev_n < EVIDENCE_MAX)
		n->ev[n->ev_n] = *e;
	n->ev_n++;
}

static void
link_cb(void *arg, bool up)
{
	struct node *n = arg;

	if (up)
		n->ups++;
	else
		n->downs++;
	n->link = up;
}

/* Runs the loop until cond(arg) or ms have passed; whether cond came true. */
static bool
run_until(bool (*cond)(void *), void *arg, int ms)
{
	usec_t end = time_mono() + (usec_t)ms * 1000;

	for (;;) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (cond(arg))
			return true;
		if (time_mono() >= end)
			return false;
		usleep(1000);
	}
}

/* Runs the loop for ms, whatever happens. */
static void
run_for(int ms)
{
	usec_t end = time_mono() + (usec_t)ms * 1000;

	while (time_mono() < end) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

struct count_wait {
	struct node *n;
	size_t want;
};

static bool
has_changes(void *arg)
{
	struct count_wait *w = arg;
	return w->n->n >= w->want;
}

static bool
wait_changes(struct node *n, size_t want, int ms)
{
	struct count_wait w = { n, want };
	return run_until(has_changes, &w, ms);
}

static bool
is_up(void *arg)
{
	struct node *n = arg;
	return shared_up(n->sh) && n->link;
}

static bool
is_down(void *arg)
{
	struct node *n = arg;
	return !shared_up(n->sh) && !n->link && n->downs > 0;
}

static bool
outbox_empty(void *arg)
{
	struct node *n = arg;
	int64_t pending = -1, last;

	return store_outbox_count(n->st, &pending, &last) == 0 && pending == 0;
}

static int64_t
applied_of(struct node *n)
{
	char value[32];

	if (store_state_get(n->st, SHARED_APPLIED_KEY, value, sizeof(value)) != 0)
		return 0;
	return strtoll(value, NULL, 10);
}

/* Starts n's shared store on its local store, from the seq its store says it applied. */
static void
node_start(struct node *n)
{
	char err[256] = "";

	n->ups = n->downs = 0;
	n->link = false;
	n->sh = shared_new(conninfo, n->name, "relay", "none", n->st, &loop, apply_cb, link_cb, n, err, sizeof(err));
	if (n->sh == NULL)
		fail_msg("shared_new %s: %s", n->name, err);
	if (n->evidence)
		shared_set_evidence(n->sh, evidence_cb);
	store_flush(n->st);
	assert_int_equal(shared_start(n->sh, applied_of(n)), 0);
}

/* A node with a new local store in a directory of its own. */
static void
node_open(struct node *n, const char *name)
{
	char err[256] = "";

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->dir, sizeof(n->dir), "/tmp/lazaret-shared-XXXXXX");
	assert_non_null(mkdtemp(n->dir));
	snprintf(n->path, sizeof(n->path), "%s/local.db", n->dir);
	if ((n->st = store_open(n->path, &loop, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", n->path, err);
}

/* Stops n's shared store (on the loop, which then closes its handle). */
static void
node_stop(struct node *n)
{
	if (n->sh == NULL)
		return;
	shared_free(n->sh);
	n->sh = NULL;
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* Stops everything of n and removes its directory. */
static void
node_close(struct node *n)
{
	node_stop(n);
	if (n->st != NULL) {
		store_close(n->st);
		n->st = NULL;
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	if (n->dir[0] != '\0') {
		rmtree(n->dir);
		n->dir[0] = '\0';
	}
}

static void
verdict_of(struct shared_verdict *v, int64_t tag, const char *reason)
{
	memset(v, 0, sizeof(*v));
	v->level = LEVEL_QUARANTINE;
	v->old_level = LEVEL_NORMAL;
	v->manual_level = -1;
	v->time = time_now();
	v->tag = (uint64_t)tag;
	snprintf(v->actor, sizeof(v->actor), "judge");
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

/* A verdict on subject into n's store and outbox, as the judge puts it (its verdict line;
 * with json, the JSON body a node before schema 3 put there); its tag. */
static int64_t
put_change_as(struct node *n, const char *subject, const char *reason, bool json)
{
	struct shared_verdict v;
	struct store_subject s;
	struct store_history h;
	char *body = NULL, line[SHARED_LINE_MAX];
	int64_t tag = next_tag++;

	verdict_of(&v, tag, reason);
	memset(&s, 0, sizeof(s));
	snprintf(s.subject, sizeof(s.subject), "%s", subject);
	s.level = v.level;
	s.manual_level = -1;
	s.updated = v.time;
	memset(&h, 0, sizeof(h));
	h.time = v.time;
	h.old_level = v.old_level;
	h.new_level = v.level;
	snprintf(h.actor, sizeof(h.actor), "judge");
	snprintf(h.reason, sizeof(h.reason), "%s", reason);
	if (json)
		assert_int_equal(shared_verdict_encode(&v, &body), 0);
	else
		assert_true(shared_verdict_line(&v, line, sizeof(line)) > 0);
	assert_int_equal(store_put_outbox(n->st, &s, &h, SHARED_KIND_VERDICT, json ? body : line, NULL, NULL), 0);
	free(body);
	return tag;
}

static int64_t
put_change(struct node *n, const char *subject, const char *reason)
{
	return put_change_as(n, subject, reason, false);
}

/* Whether change a comes after b in the feed: a later row, or a later line of the same batch
 * row (schema 5: one push of a node's, one row). */
static bool
feed_after(const struct shared_change *a, const struct shared_change *b)
{
	return a->seq > b->seq || (a->seq == b->seq && strcmp(a->node, b->node) == 0 && a->node_seq > b->node_seq);
}

/* The index of the change with tag in n's, or -1; fails if it came more than once. */
static long
find_tag(const struct node *n, int64_t tag)
{
	long at = -1;

	for (size_t i = 0; i < n->n && i < CHANGES_MAX; i++)
		if (n->ch[i].verdict.tag == (uint64_t)tag) {
			if (at >= 0)
				fail_msg("node %s: the change with tag %" PRId64 " applied twice (seq %" PRId64 " and %"
				    PRId64 ")", n->name, tag, n->ch[at].seq, n->ch[i].seq);
			at = (long)i;
		}
	return at;
}

/* A connection of the test's own, for what no node would do. */
static struct pg_conn *
admin_conn(void)
{
	struct pg_conn *c = pg_conn_new(conninfo, "test_shared");

	assert_non_null(c);
	assert_int_equal(pg_conn_ensure(c), 0);
	return c;
}

static int
cluster_setup(void **state)
{
	(void)state;
	if (pg_cluster_init(&cluster) < 0)
		return -1;
	if (pg_cluster_start(&cluster, "p", conninfo, sizeof(conninfo)) < 0) {
		pg_cluster_cleanup(&cluster);
		return -1;
	}
	if (uv_loop_init(&loop) != 0) {
		pg_cluster_cleanup(&cluster);
		return -1;
	}
	uv_prepare_init(&loop, &turns);
	uv_prepare_start(&turns, turn_cb);
	uv_unref((uv_handle_t *)&turns);
	return 0;
}

static int
cluster_teardown(void **state)
{
	(void)state;
	/* a test that failed half-way leaves its nodes: closed here, the loop bounded */
	node_close(&twin);
	node_close(&node_c);
	node_close(&node_a);
	node_close(&node_b);
	uv_close((uv_handle_t *)&turns, NULL);
	usec_t end = time_mono() + 2 * USEC_PER_SEC;
	while (uv_loop_alive(&loop) && time_mono() < end)
		uv_run(&loop, UV_RUN_NOWAIT);
	uv_loop_close(&loop);
	pg_cluster_cleanup(&cluster);
	return 0;
}

static void
test_propagation(void **state)
{
	struct shared_stats sa, sb;

	(void)state;
	node_open(&node_a, "a");
	node_open(&node_b, "b");
	node_start(&node_a);
	node_start(&node_b);
	/* the first connect migrates the schema: give it time, then time the changes */
	assert_true(run_until(is_up, &node_a, 15 * SECOND_MS));
	assert_true(run_until(is_up, &node_b, 15 * SECOND_MS));
	assert_int_equal(node_a.ups, 1);
	assert_int_equal(node_b.ups, 1);
	assert_int_equal(node_a.downs, 0);

	usec_t t0 = time_mono();
	int64_t t1 = put_change(&node_a, "192.0.2.1", "first");
	int64_t t2 = put_change(&node_a, "192.0.2.2", "second");
	int64_t t3 = put_change(&node_a, "account:alice@example.net", "third");
	assert_true(wait_changes(&node_b, 3, SECOND_MS));
	usec_t tb = time_mono() - t0;
	assert_true(wait_changes(&node_a, 3, SECOND_MS));
	usec_t ta = time_mono() - t0;
	print_message("a's three changes reached b in %.1f ms, a's own feed in %.1f ms\n", tb / 1000.0, ta / 1000.0);
	assert_true(tb < USEC_PER_SEC && ta < USEC_PER_SEC);

	const int64_t tags[3] = { t1, t2, t3 };
	const char *subjects[3] = { "192.0.2.1", "192.0.2.2", "account:alice@example.net" };
	const char *reasons[3] = { "first", "second", "third" };
	for (size_t i = 0; i < 3; i++) {
		for (int k = 0; k < 2; k++) {
			const struct node *n = k == 0 ? &node_b : &node_a;
			const struct shared_change *c = &n->ch[i];
			/* in the order a made them, each once */
			assert_int_equal(find_tag(n, tags[i]), (long)i);
			assert_string_equal(c->node, "a");
			assert_int_equal(c->own, k == 1);
			assert_int_equal(c->node_seq, (int64_t)i + 1);
			assert_string_equal(c->subject, subjects[i]);
			assert_string_equal(c->verdict.reason, reasons[i]);
			assert_int_equal(c->verdict.level, LEVEL_QUARANTINE);
			assert_int_equal(c->verdict.manual_level, -1);
			if (i > 0)
				assert_true(feed_after(c, &n->ch[i - 1]));
		}
		assert_true(node_a.ch[i].seq == node_b.ch[i].seq);
	}

	/* changes from both sides: every node applies them all in one order */
	int64_t tb1 = put_change(&node_b, "192.0.2.10", "from b");
	int64_t ta4 = put_change(&node_a, "192.0.2.11", "from a");
	int64_t tb2 = put_change(&node_b, "192.0.2.12", "from b again");
	assert_true(wait_changes(&node_a, 6, SECOND_MS));
	assert_true(wait_changes(&node_b, 6, SECOND_MS));
	assert_int_equal(node_a.n, 6);
	assert_int_equal(node_b.n, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_true(node_a.ch[i].seq == node_b.ch[i].seq);
		assert_string_equal(node_a.ch[i].node, node_b.ch[i].node);
		assert_true(node_a.ch[i].verdict.tag == node_b.ch[i].verdict.tag);
		assert_int_equal(node_a.ch[i].own, strcmp(node_a.ch[i].node, "a") == 0);
		assert_int_equal(node_b.ch[i].own, strcmp(node_b.ch[i].node, "b") == 0);
	}
	assert_true(find_tag(&node_a, tb1) >= 3 && find_tag(&node_a, ta4) >= 3 && find_tag(&node_a, tb2) >= 3);
	assert_true(find_tag(&node_b, tb1) < find_tag(&node_b, tb2));
	assert_int_equal(node_b.ch[find_tag(&node_b, tb2)].node_seq, 2);
	assert_int_equal(node_a.ch[find_tag(&node_a, ta4)].node_seq, 4);

	/* PostgreSQL has them: the outboxes are marked pushed, the applied seq is stored */
	assert_true(run_until(outbox_empty, &node_a, SECOND_MS));
	assert_true(run_until(outbox_empty, &node_b, SECOND_MS));
	shared_stats_get(node_a.sh, &sa);
	shared_stats_get(node_b.sh, &sb);
	assert_true(sa.up && sb.up);
	assert_int_equal(sa.pushed, 4);
	assert_int_equal(sb.pushed, 2);
	assert_int_equal(sa.pulled, 6);
	assert_int_equal(sb.pulled, 6);
	assert_int_equal(sa.skipped, 0);
	assert_int_equal(sa.outbox, 0);
	assert_true(sa.applied == node_a.ch[5].seq);
	store_flush(node_a.st);
	assert_true(applied_of(&node_a) == node_a.ch[5].seq);
}

static void
test_outage(void **state)
{
	struct shared_stats sa;
	int64_t pending, last;

	(void)state;
	size_t na = node_a.n, nb = node_b.n;
	assert_int_equal(pg_cluster_cmd(&cluster, "stop", "p", NULL), 0);
	assert_true(run_until(is_down, &node_a, 10 * SECOND_MS));
	assert_true(run_until(is_down, &node_b, 10 * SECOND_MS));
	assert_int_equal(node_a.downs, 1);
	assert_int_equal(node_b.downs, 1);

	/* made while PostgreSQL is away: durable locally, pending, nowhere yet */
	int64_t tag = put_change(&node_a, "192.0.2.20", "during the outage");
	store_flush(node_a.st);
	run_for(300);
	assert_int_equal(store_outbox_count(node_a.st, &pending, &last), 0);
	assert_int_equal(pending, 1);
	shared_stats_get(node_a.sh, &sa);
	assert_false(sa.up);
	assert_int_equal(sa.outbox, 1);
	assert_int_equal(node_b.n, nb);
	assert_int_equal(node_a.n, na);

	assert_int_equal(pg_cluster_cmd(&cluster, "start", "p", NULL), 0);
	assert_true(run_until(is_up, &node_a, 15 * SECOND_MS));
	assert_true(run_until(is_up, &node_b, 15 * SECOND_MS));
	assert_int_equal(node_a.ups, 2);
	assert_int_equal(node_b.ups, 2);
	assert_true(wait_changes(&node_b, nb + 1, 5 * SECOND_MS));
	assert_true(wait_changes(&node_a, na + 1, 5 * SECOND_MS));
	/* once: nothing more comes, old or new */
	run_for(500);
	assert_int_equal(node_b.n, nb + 1);
	assert_int_equal(node_a.n, na + 1);
	assert_int_equal(find_tag(&node_b, tag), (long)nb);
	assert_int_equal(find_tag(&node_a, tag), (long)na);
	assert_true(node_a.ch[na].own);
	assert_false(node_b.ch[nb].own);
	assert_int_equal(node_b.ch[nb].node_seq, 5);
	assert_true(feed_after(&node_b.ch[nb], &node_b.ch[nb - 1]));
	assert_true(run_until(outbox_empty, &node_a, SECOND_MS));
}

static void
test_restart(void **state)
{
	(void)state;
	size_t na = node_a.n;
	int64_t applied = node_a.ch[na - 1].seq;

	store_flush(node_a.st);
	node_stop(&node_a);
	assert_true(applied_of(&node_a) == applied);
	/* killed between a push's commit and the local record of it: its last change, in the
	 * shared store, still unpushed here */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(node_a.path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM outbox_pushes WHERE upto = (SELECT max(upto) FROM outbox_pushes)",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_close(db);
	assert_false(outbox_empty(&node_a));
	node_start(&node_a);
	assert_true(run_until(is_up, &node_a, 10 * SECOND_MS));
	/* reconnected, it knows from the shared store that the change is there: nothing is
	 * left in its outbox, though it has pushed nothing since (lazaretctl nodes and
	 * lazaret_store_outbox said "1 change not yet in it" until its next verdict) */
	assert_true(run_until(outbox_empty, &node_a, SECOND_MS));
	/* a change after the restart comes; none of those before it come again */
	int64_t tag = put_change(&node_b, "192.0.2.30", "after a's restart");
	assert_true(wait_changes(&node_a, na + 1, 5 * SECOND_MS));
	run_for(300);
	assert_int_equal(node_a.n, na + 1);
	assert_int_equal(find_tag(&node_a, tag), (long)na);
	assert_true(node_a.ch[na].seq > applied);
}

/* The highest node_seq of node's changes that n applied. */
static int64_t
max_node_seq(const struct node *n, const char *node)
{
	int64_t max = 0;

	for (size_t i = 0; i < n->n && i < CHANGES_MAX; i++)
		if (strcmp(n->ch[i].node, node) == 0 && n->ch[i].node_seq > max)
			max = n->ch[i].node_seq;
	return max;
}

static void
test_namesake(void **state)
{
	(void)state;
	node_open(&twin, "a");
	node_start(&twin);
	/* while "a" is connected, the second "a" never comes up, and says so */
	run_for(1500);
	assert_false(shared_up(twin.sh));
	assert_int_equal(twin.ups, 0);
	assert_int_equal(twin.downs, 1);
	assert_true(shared_up(node_a.sh));
	/* nor pushes: its change stays in its outbox, numbered a:1 like the real a's first */
	size_t nb = node_b.n;
	int64_t tag = put_change(&twin, "192.0.2.40", "from the twin");
	run_for(500);
	assert_int_equal(node_b.n, nb);

	/* once "a" is gone the name is free: the twin comes up (its retry waits 5 s), its
	 * change renumbered after the real a's a:1..5 */
	node_stop(&node_a);
	assert_true(run_until(is_up, &twin, 8 * SECOND_MS));
	assert_true(wait_changes(&node_b, nb + 1, 5 * SECOND_MS));
	assert_int_equal(find_tag(&node_b, tag), (long)nb);
	assert_int_equal(node_b.ch[nb].node_seq, 6);
	assert_true(wait_changes(&twin, 1, 5 * SECOND_MS));
	node_close(&twin);

	/* the real a back: it takes the change made under its name as its own */
	size_t na = node_a.n;
	node_start(&node_a);
	assert_true(run_until(is_up, &node_a, 10 * SECOND_MS));
	assert_true(wait_changes(&node_a, na + 1, 5 * SECOND_MS));
	assert_int_equal(find_tag(&node_a, tag), (long)na);
	assert_true(node_a.ch[na].own);
	/* its own outbox, still holding a:1..5 (pushed, kept STORE_OUTBOX_KEEP), was numbered
	 * on after a:6 without being pushed again: no node gets those verdicts a second time */
	run_for(500);
	assert_int_equal(node_b.n, nb + 1);
	for (size_t i = 0; i < node_b.n; i++)
		find_tag(&node_b, (int64_t)node_b.ch[i].verdict.tag);
	assert_int_equal(max_node_seq(&node_b, "a"), 6);
}

static void
test_new_local(void **state)
{
	int64_t pending, last;

	(void)state;
	/* a's local store lost after its changes reached PostgreSQL (a:1 to a:6) */
	int64_t pgmax = max_node_seq(&node_b, "a");
	assert_int_equal(pgmax, 6);
	assert_true(run_until(outbox_empty, &node_a, SECOND_MS));
	node_close(&node_a);
	node_open(&node_a, "a");
	/* its first change, made before the link is up, is numbered 1 again */
	int64_t tag = put_change(&node_a, "192.0.2.50", "from a new local store");
	store_flush(node_a.st);
	assert_int_equal(store_outbox_count(node_a.st, &pending, &last), 0);
	assert_int_equal(last, 1);
	size_t nb = node_b.n;
	node_start(&node_a);
	assert_true(run_until(is_up, &node_a, 10 * SECOND_MS));
	assert_true(wait_changes(&node_b, nb + 1, 5 * SECOND_MS));
	assert_int_equal(find_tag(&node_b, tag), (long)nb);
	assert_int_equal(node_b.ch[nb].node_seq, pgmax + 1);
	assert_string_equal(node_b.ch[nb].node, "a");
	/* the new store caught up from the start, its own change last */
	assert_true(wait_changes(&node_a, nb + 1, 5 * SECOND_MS));
	assert_true(node_a.ch[node_a.n - 1].verdict.tag == (uint64_t)tag);
	assert_true(node_a.ch[node_a.n - 1].own);
	assert_true(run_until(outbox_empty, &node_a, SECOND_MS));
}

static void
test_undecodable(void **state)
{
	struct shared_stats sb;
	struct pg_conn *c;

	(void)state;
	size_t nb = node_b.n;
	shared_stats_get(node_b.sh, &sb);
	assert_int_equal(sb.skipped, 0);
	/* what another node, of another version or broken, could write */
	c = admin_conn();
	assert_int_equal(pg_exec(c, "INSERT INTO lz_changes (node, node_seq, at, kind, subject, body) VALUES "
	    "('x', 1, 0, 'verdict', '192.0.2.60', '{\"level\":\"quarantined\"}'), "
	    "('x', 2, 0, 'verdict', '192.0.2.61', '[1, 2]'), "
	    "('x', 3, 0, 'evidence', '192.0.2.62', '{}'), "
	    "('x', 4, 0, 'verdict', '', '{}')"), 0);
	/* and verdict lines (schema 3) that are not */
	assert_int_equal(pg_exec(c, "INSERT INTO lz_changes (node, node_seq, at, kind, subject, verdict) VALUES "
	    "('x', 5, 0, 'verdict', '192.0.2.64', 'quarantine'), "
	    "('x', 6, 0, 'verdict', '192.0.2.65', E'quarantine\\tnormal\\t-1\\t0\\t\\tfalse\\t0\\t1\\tjudge\\tr\\tfalse\\t1\\t2')"),
	    0);
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	pg_conn_free(c);
	int64_t tag = put_change(&node_a, "192.0.2.63", "after the unreadable ones");
	assert_true(wait_changes(&node_b, nb + 1, 5 * SECOND_MS));
	run_for(200);
	assert_int_equal(node_b.n, nb + 1);
	assert_int_equal(find_tag(&node_b, tag), (long)nb);
	shared_stats_get(node_b.sh, &sb);
	assert_int_equal(sb.skipped, 6);
	assert_true(sb.up);
	/* and the applied seq is past them: a restart does not read them again */
	assert_true(sb.applied == node_b.ch[nb].seq);
}

/*
 * What nodes before schema 3 left: a change in the feed with its JSON body and no verdict
 * line, read by every node as any other; an outbox row holding the JSON body, pushed as a
 * verdict line. And this version's own changes are lines, the body left empty.
 */
static void
test_schema2_rows(void **state)
{
	struct pg_conn *c;
	PGresult *res = NULL;
	struct shared_verdict v;
	char *body = NULL, tag_text[24];
	const char *params[1] = { tag_text };

	(void)state;
	size_t na = node_a.n, nb = node_b.n;
	int64_t old_tag = next_tag++;
	verdict_of(&v, old_tag, "written by schema 2");
	assert_int_equal(shared_verdict_encode(&v, &body), 0);
	const char *row[2] = { "192.0.2.80", body };
	c = admin_conn();
	/* made before the migration (at 0): a change of the past, read as any other */
	assert_int_equal(pg_exec_params(c, "INSERT INTO lz_changes (node, node_seq, at, kind, subject, body) "
	    "VALUES ('old', 1, 0, 'verdict', $1, $2::jsonb)", 2, row, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	free(body);
	int64_t outbox_tag = put_change_as(&node_a, "192.0.2.81", "an outbox row of schema 2", true);
	int64_t line_tag = put_change(&node_a, "192.0.2.82", "a line");
	assert_true(wait_changes(&node_b, nb + 3, 5 * SECOND_MS));
	assert_true(wait_changes(&node_a, na + 3, 5 * SECOND_MS));
	for (int k = 0; k < 2; k++) {
		const struct node *n = k == 0 ? &node_a : &node_b;
		long i = find_tag(n, old_tag), j = find_tag(n, outbox_tag), l = find_tag(n, line_tag);
		assert_true(i >= 0 && j >= 0 && l >= 0);
		assert_string_equal(n->ch[i].node, "old");
		assert_string_equal(n->ch[i].subject, "192.0.2.80");
		assert_string_equal(n->ch[i].verdict.reason, "written by schema 2");
		assert_string_equal(n->ch[j].verdict.reason, "an outbox row of schema 2");
		assert_string_equal(n->ch[l].verdict.reason, "a line");
		assert_int_equal(n->ch[j].verdict.level, LEVEL_QUARANTINE);
	}
	struct shared_stats st;
	shared_stats_get(node_b.sh, &st);
	assert_int_equal(st.outdated, 0);
	/* both of a's went into PostgreSQL as lines of batch rows (the tag: the verdict line's
	 * twelfth member, the batch line's fifteenth) */
	for (int k = 0; k < 2; k++) {
		struct shared_change ch;
		snprintf(tag_text, sizeof(tag_text), "%" PRId64, k == 0 ? outbox_tag : line_tag);
		assert_int_equal(pg_exec_params(c, "SELECT l, body::text FROM lz_changes, regexp_split_to_table(rtrim("
		    "verdict, E'\\n'), E'\\n') AS l WHERE node = 'a' AND kind = '" SHARED_KIND_BATCH "' AND "
		    "split_part(l, E'\\t', 15) = $1", 1, params, NULL, NULL, &res), 0);
		assert_int_equal(PQntuples(res), 1);
		assert_string_equal(PQgetvalue(res, 0, 1), "{}");
		memset(&ch, 0, sizeof(ch));
		assert_int_equal(shared_batch_line_decode(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), &ch), 0);
		assert_true(ch.verdict.tag == (uint64_t)(k == 0 ? outbox_tag : line_tag));
		assert_string_equal(ch.subject, k == 0 ? "192.0.2.81" : "192.0.2.82");
		PQclear(res);
	}

	/* one in JSON made well after the migration (which this test's first node made seconds
	 * ago: two minutes on, past the allowance for the nodes' clocks): a node of the older
	 * version still runs, and every node says so */
	int64_t late_tag = next_tag++;
	verdict_of(&v, late_tag, "schema 2, made after the migration");
	assert_int_equal(shared_verdict_encode(&v, &body), 0);
	char at[24];
	snprintf(at, sizeof(at), "%" PRId64, (int64_t)(time_now() + 120 * USEC_PER_SEC));
	const char *late[3] = { "192.0.2.83", body, at };
	assert_int_equal(pg_exec_params(c, "INSERT INTO lz_changes (node, node_seq, at, kind, subject, body) "
	    "VALUES ('old', 2, $3, 'verdict', $1, $2::jsonb)", 3, late, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	free(body);
	assert_true(wait_changes(&node_b, nb + 4, 5 * SECOND_MS));
	assert_true(wait_changes(&node_a, na + 4, 5 * SECOND_MS));
	for (int k = 0; k < 2; k++) {
		const struct node *n = k == 0 ? &node_a : &node_b;
		assert_true(find_tag(n, late_tag) >= 0);       /* applied all the same */
		shared_stats_get(n->sh, &st);
		assert_int_equal(st.outdated, 1);
	}
	pg_conn_free(c);
}

/* ---- evidence ---- */

static struct shared_evidence
publication(const char *subject, const char *kind, double value, const char *summary)
{
	struct shared_evidence e;

	memset(&e, 0, sizeof(e));
	snprintf(e.subject, sizeof(e.subject), "%s", subject);
	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	e.value = value;
	e.value_time = e.last_seen = time_now();
	e.first_seen = e.value_time - 1000;
	e.count = (uint64_t)value;
	snprintf(e.summary, sizeof(e.summary), "%s", summary);
	return e;
}

struct ev_wait {
	struct node *n;
	size_t want;
};

static bool
has_evidence(void *arg)
{
	struct ev_wait *w = arg;
	return w->n->ev_n >= w->want;
}

static bool
wait_evidence(struct node *n, size_t want, int ms)
{
	struct ev_wait w = { n, want };
	return run_until(has_evidence, &w, ms);
}

/* The last publication n received about subject and kind, or NULL. */
static const struct shared_evidence *
last_of(const struct node *n, const char *subject, const char *kind)
{
	const struct shared_evidence *found = NULL;

	for (size_t i = 0; i < n->ev_n && i < EVIDENCE_MAX; i++)
		if (strcmp(n->ev[i].subject, subject) == 0 && strcmp(n->ev[i].kind, kind) == 0)
			found = &n->ev[i];
	return found;
}

/* The integer sql's first row and column give (a test's own query, no parameters). */
static int64_t
query_int(const char *sql)
{
	struct pg_conn *c = admin_conn();
	PGresult *res = NULL;
	int64_t v;

	assert_int_equal(pg_exec_params(c, sql, 0, NULL, NULL, NULL, &res), 0);
	assert_int_equal(PQntuples(res), 1);
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	pg_conn_free(c);
	return v;
}

struct fold_wait {
	int64_t upto;
};

static bool
folded(void *arg)
{
	struct fold_wait *w = arg;
	return query_int("SELECT evidence_folded FROM lz_nodes WHERE name = 'a'") >= w->upto;
}

/* a folds, and lz_nodes says so: the log seq its fold covers, which is a's newest row. */
static int64_t
fold_a(void)
{
	struct fold_wait w = { query_int("SELECT max(seq) FROM lz_evidence_log WHERE node = 'a'") };

	shared_fold_soon(node_a.sh);
	assert_true(run_until(folded, &w, 5 * SECOND_MS));
	return w.upto;
}

static void
test_evidence(void **state)
{
	struct shared_stats sa, sb, sc;
	struct shared_evidence e;
	char stale[SHARED_EV_LINE_MAX];

	(void)state;
	/* b reads evidence from now on: restarted with its evidence callback */
	node_stop(&node_b);
	node_b.evidence = true;
	node_start(&node_b);
	assert_true(run_until(is_up, &node_b, 10 * SECOND_MS));

	/* 1. three publications of a, two of them twice before they went (the newer one's text
	 * longer, then as long): b gets the newest */
	size_t nb = node_b.ev_n;
	e = publication("192.0.2.90", "rate_limit", 2, "two deferred");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	e = publication("192.0.2.90", "rate_limit", 3, "three deferred");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	e = publication("192.0.2.90", "bounce_ratio", 0.5, "half bounced");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	e = publication("192.0.2.90", "bounce_ratio", 0.75, "most bounced");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	e = publication("account:b\tob\n\\", "spam_rejected", 1, "a name with a tab, a newline, a backslash");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	assert_true(wait_evidence(&node_b, nb + 3, 5 * SECOND_MS));
	run_for(200);
	assert_int_equal(node_b.ev_n, nb + 3);
	const struct shared_evidence *got = last_of(&node_b, "192.0.2.90", "rate_limit");
	assert_non_null(got);
	assert_true(got->value == 3);
	assert_string_equal(got->summary, "three deferred");
	assert_string_equal(got->node, "a");
	assert_non_null(got = last_of(&node_b, "192.0.2.90", "bounce_ratio"));
	assert_true(got->value == 0.75);
	assert_string_equal(got->summary, "most bounced");
	assert_non_null(got = last_of(&node_b, "account:b\tob\n\\", "spam_rejected"));
	assert_string_equal(got->summary, "a name with a tab, a newline, a backslash");
	/* one row for the push, none in lz_evidence before a fold */
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence_log WHERE node = 'a'"), 1);
	assert_int_equal(query_int("SELECT sum(count) FROM lz_evidence_log WHERE node = 'a'"), 3);
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence WHERE node = 'a'"), 0);

	/* 2. a newer one, then the fold: lz_evidence holds each key's newest, the fold its seq */
	e = publication("192.0.2.90", "rate_limit", 5, "five deferred");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	assert_true(wait_evidence(&node_b, nb + 4, 5 * SECOND_MS));
	int64_t upto = fold_a();
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence WHERE node = 'a'"), 3);
	assert_int_equal(query_int("SELECT count FROM lz_evidence WHERE node = 'a' AND kind = 'rate_limit'"), 5);
	shared_stats_get(node_a.sh, &sa);
	assert_int_equal(sa.evidence_published, 4);
	assert_int_equal(sa.evidence_folded, 3);
	assert_int_equal(sa.evidence_pending, 0);

	/* the fold covers a's first row: made stale by hand, a node starting from nothing must
	 * not read it (it would take the value 1 for the newest, 5) */
	e = publication("192.0.2.90", "rate_limit", 1, "stale: the fold covers this row");
	int len = shared_evidence_line(&e, stale, sizeof(stale));
	assert_true(len > 0);
	struct pg_conn *c = admin_conn();
	char seq[24];
	snprintf(seq, sizeof(seq), "%" PRId64, upto);
	const char *params[2] = { stale, seq };
	assert_int_equal(pg_exec_params(c, "UPDATE lz_evidence_log SET lines = $1 || E'\\n', count = 1 WHERE seq = "
	    "(SELECT min(seq) FROM lz_evidence_log WHERE node = 'a') AND seq <= $2::bigint", 2, params, NULL, NULL, NULL),
	    0);
	pg_conn_free(c);

	/* 3. after the fold: a's next publication is in the log only */
	e = publication("192.0.2.91", "rate_limit", 7, "after the fold");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	assert_true(wait_evidence(&node_b, nb + 5, 5 * SECOND_MS));

	/* 4. c starts from nothing: the fold's three, then the log after it */
	node_open(&node_c, "c");
	node_c.evidence = true;
	node_start(&node_c);
	assert_true(run_until(is_up, &node_c, 10 * SECOND_MS));
	assert_true(wait_evidence(&node_c, 4, 5 * SECOND_MS));
	run_for(300);
	assert_int_equal(node_c.ev_n, 4);
	assert_non_null(got = last_of(&node_c, "192.0.2.90", "rate_limit"));
	assert_true(got->value == 5);
	assert_string_equal(got->summary, "five deferred");
	assert_non_null(got = last_of(&node_c, "account:b\tob\n\\", "spam_rejected"));
	assert_non_null(got = last_of(&node_c, "192.0.2.91", "rate_limit"));
	assert_true(got->value == 7);
	assert_true(node_c.ev[3].value == 7);           /* the log after the fold's rows */

	/* 5. a stopped before its next fold, restarted: what its earlier run pushed is folded */
	size_t nc = node_c.ev_n;
	e = publication("192.0.2.92", "rate_limit", 9, "pushed, then a stopped");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	assert_true(wait_evidence(&node_b, nb + 6, 5 * SECOND_MS));
	/* and 40 rows more of a's, a line each, as if its folds had failed for a long time: more
	 * than one query's page of them when a loads them back (SHARED_UNFOLDED_PAGE, 16) */
	c = admin_conn();
	for (int i = 0; i < 40; i++) {
		char subject[32], line[SHARED_EV_LINE_MAX];
		snprintf(subject, sizeof(subject), "198.51.100.%d", i);
		e = publication(subject, "rate_limit", i + 1, "left unfolded");
		assert_true(shared_evidence_line(&e, line, sizeof(line)) > 0);
		const char *one[1] = { line };
		assert_int_equal(pg_exec_params(c, "INSERT INTO lz_evidence_log (node, count, lines) VALUES "
		    "('a', 1, $1 || E'\\n')", 1, one, NULL, NULL, NULL), 0);
	}
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	pg_conn_free(c);
	assert_true(wait_evidence(&node_c, nc + 41, 5 * SECOND_MS));
	node_stop(&node_a);
	node_start(&node_a);
	assert_true(run_until(is_up, &node_a, 10 * SECOND_MS));
	fold_a();
	assert_int_equal(query_int("SELECT count FROM lz_evidence WHERE node = 'a' AND subject = '192.0.2.92'"), 9);
	assert_int_equal(query_int("SELECT count FROM lz_evidence WHERE node = 'a' AND subject = '192.0.2.91'"), 7);
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence WHERE node = 'a' AND subject LIKE '198.51.100.%'"),
	    40);
	assert_int_equal(query_int("SELECT count FROM lz_evidence WHERE node = 'a' AND subject = '198.51.100.39'"), 40);
	shared_stats_get(node_a.sh, &sa);
	assert_int_equal(sa.evidence_folded, 42);
	/* the fold's rows are not read again by c (it read a's log), nor is anything else */
	run_for(1500);
	assert_int_equal(node_c.ev_n, nc + 41);
	nc += 40;       /* the rows made by hand */

	/* 5b. a node of schema 3 still running (an upgrade under way) upserts into lz_evidence
	 * and never writes the log: b and c read its rows within a heartbeat or two */
	c = admin_conn();
	assert_int_equal(pg_exec(c, "INSERT INTO lz_evidence (subject, node, kind, value, value_time, count, first_seen, "
	    "last_seen, summary, seq) VALUES ('192.0.2.95', 'old', 'rate_limit', 4, 1, 4, 1, 1, 'from a node of schema 3', "
	    "nextval('lz_evidence_seq'))"), 0);
	pg_conn_free(c);
	nb = node_b.ev_n;
	assert_true(wait_evidence(&node_b, nb + 1, 5 * SECOND_MS));
	assert_true(wait_evidence(&node_c, nc + 2, 5 * SECOND_MS));
	assert_non_null(got = last_of(&node_c, "192.0.2.95", "rate_limit"));
	assert_string_equal(got->node, "old");
	assert_string_equal(got->summary, "from a node of schema 3");
	run_for(1500);
	assert_int_equal(node_c.ev_n, nc + 2);

	/* 6. a row of another node with one good line and one bad: the good one read, the row
	 * counted as unreadable; so is a row whose count is not its lines' */
	shared_stats_get(node_b.sh, &sb);
	shared_stats_get(node_c.sh, &sc);
	nb = node_b.ev_n;
	nc = node_c.ev_n;
	char good[SHARED_EV_LINE_MAX];
	e = publication("192.0.2.93", "scanning", 1, "from x");
	assert_true(shared_evidence_line(&e, good, sizeof(good)) > 0);
	const char *rows[2] = { good };
	c = admin_conn();
	assert_int_equal(pg_exec_params(c, "INSERT INTO lz_evidence_log (node, count, lines) VALUES "
	    "('x', 2, $1 || E'\\n' || E'192.0.2.94\\tscanning\\t1.0\\t1\\t1\\t1\\t1\\tone\\n'), "
	    "('x', 3, $1 || E'\\n')", 1, rows, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	pg_conn_free(c);
	assert_true(wait_evidence(&node_b, nb + 2, 5 * SECOND_MS));
	assert_true(wait_evidence(&node_c, nc + 2, 5 * SECOND_MS));
	run_for(200);
	assert_int_equal(node_b.ev_n, nb + 2);
	assert_string_equal(node_b.ev[nb].node, "x");
	assert_string_equal(node_b.ev[nb].summary, "from x");
	struct shared_stats sb2, sc2;
	shared_stats_get(node_b.sh, &sb2);
	shared_stats_get(node_c.sh, &sc2);
	assert_int_equal(sb2.skipped, sb.skipped + 2);
	assert_int_equal(sc2.skipped, sc.skipped + 2);

	/* 7. the log's trims. a's rows made two hours old: its next fold deletes those the fold
	 * covers, and keeps the rows pushed since (one before the fold, one after). A node gone ("gone"), its rows two hours old
	 * and folded: the hourly trim (which a node runs at its start) deletes them; x's rows, of a
	 * node never listed in lz_nodes (nothing of them is folded), stay. */
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence_log WHERE node = 'x'"), 2);
	c = admin_conn();
	assert_int_equal(pg_exec(c, "UPDATE lz_evidence_log SET at = at - 7200000000"), 0);
	assert_int_equal(pg_exec(c, "INSERT INTO lz_nodes (name, evidence_folded) VALUES ('gone', 1000000)"), 0);
	assert_int_equal(pg_exec(c, "INSERT INTO lz_evidence_log (node, at, count, lines) VALUES "
	    "('gone', 0, 1, 'x'), ('gone', 0, 1, 'y')"), 0);
	pg_conn_free(c);
	e = publication("192.0.2.96", "rate_limit", 3, "before the fold");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	nb = node_b.ev_n;
	assert_true(wait_evidence(&node_b, nb + 1, 5 * SECOND_MS));
	upto = fold_a();
	e = publication("192.0.2.97", "rate_limit", 3, "after the fold");
	assert_int_equal(shared_publish(node_a.sh, &e), 0);
	assert_true(wait_evidence(&node_b, nb + 2, 5 * SECOND_MS));
	char keep_sql[160];
	/* (the row pushed just before the fold is covered by it, but not an hour old) */
	snprintf(keep_sql, sizeof(keep_sql), "SELECT count(*) FROM lz_evidence_log WHERE node = 'a' AND seq <= %" PRId64,
	    upto);
	assert_int_equal(query_int(keep_sql), 1);
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence_log WHERE node = 'a'"), 2);
	node_stop(&node_b);
	node_start(&node_b);
	assert_true(run_until(is_up, &node_b, 10 * SECOND_MS));
	run_for(500);
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence_log WHERE node = 'gone'"), 0);
	assert_int_equal(query_int("SELECT count(*) FROM lz_evidence_log WHERE node = 'x'"), 2);

	node_close(&node_c);
}

/*
 * Names a subscriber controls: an account's or subscriber's key may hold any byte but NUL,
 * which PostgreSQL's text refuses (not UTF-8) — each arrives on the other node byte for byte,
 * and nothing after it is held up. Then a change the server refuses for its own reasons (a
 * constraint here) is set aside, its refusal handed back to its node, and the next arrives.
 */
static void
test_hostile_names(void **state)
{
	static const char *const keys[] = {
		"account:b\xffo\xfe b",                   /* not UTF-8, and a space */
		"subscriber:%41\x01\x7f\xc3",             /* a '%' escape's look-alike, controls, a cut character */
		"account:\xe2\x80\xae" "evil",             /* U+202E, right-to-left override */
	};
	struct pg_conn *c;
	int64_t tags[3];

	(void)state;
	size_t na = node_a.n, nb = node_b.n;
	for (size_t i = 0; i < 3; i++)
		tags[i] = put_change(&node_a, keys[i], "odd bytes");
	int64_t after = put_change(&node_a, "192.0.2.70", "after the odd ones");
	assert_true(wait_changes(&node_b, nb + 4, 5 * SECOND_MS));
	for (size_t i = 0; i < 3; i++) {
		long at = find_tag(&node_b, tags[i]);
		assert_true(at >= 0);
		assert_string_equal(node_b.ch[at].subject, keys[i]);
		assert_false(node_b.ch[at].refused);
	}
	assert_true(find_tag(&node_b, after) >= 0);

	/* refused by the server: set aside, the node told, the next one through */
	c = admin_conn();
	assert_int_equal(pg_exec(c, "ALTER TABLE lz_changes ADD CONSTRAINT no_71 CHECK (verdict NOT LIKE "
	    "E'%\\t192.0.2.71\\t%')"), 0);
	assert_true(wait_changes(&node_a, na + 4, 5 * SECOND_MS));
	na = node_a.n;
	nb = node_b.n;
	int64_t refused = put_change(&node_a, "192.0.2.71", "refused");
	int64_t next = put_change(&node_a, "192.0.2.72", "after the refused one");
	assert_true(wait_changes(&node_b, nb + 1, 5 * SECOND_MS));
	assert_true(wait_changes(&node_a, na + 2, 5 * SECOND_MS));
	run_for(200);
	assert_int_equal(node_b.n, nb + 1);
	assert_true(find_tag(&node_b, next) >= 0);
	assert_int_equal(find_tag(&node_b, refused), -1);
	long at = find_tag(&node_a, refused);
	assert_true(at >= 0);
	assert_true(node_a.ch[at].refused);
	assert_true(node_a.ch[at].own);
	assert_false(node_a.ch[find_tag(&node_a, next)].refused);
	assert_int_equal(pg_exec(c, "ALTER TABLE lz_changes DROP CONSTRAINT no_71"), 0);
	pg_conn_free(c);
	assert_true(run_until(outbox_empty, &node_a, 5 * SECOND_MS));
}

/* A batch row's line: node's change node_seq for subject, reason its verdict's reason. */
static void
batch_line_of(char *out, size_t size, int64_t node_seq, const char *subject, const char *reason)
{
	struct shared_verdict v;
	char verdict[SHARED_LINE_MAX], text[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];

	verdict_of(&v, next_tag++, reason);
	assert_true(shared_verdict_line(&v, verdict, sizeof(verdict)) > 0);
	subject_text_encode(text, sizeof(text), subject, strlen(subject));
	assert_true(shared_batch_line(node_seq, 1000 + node_seq, text, verdict, out, size) > 0);
}

/* A row of node's written by hand: a batch row (lines, count) or, with kind "verdict", a
 * single row of schema 3 (lines: its verdict line, subject its subject). */
static void
insert_row(struct pg_conn *c, const char *node, int64_t node_seq, int count, usec_t at, const char *kind,
    const char *subject, const char *lines)
{
	char seq[24], cnt[24], when[24];
	const char *params[7] = { node, seq, cnt, when, kind, subject, lines };

	snprintf(seq, sizeof(seq), "%" PRId64, node_seq);
	snprintf(cnt, sizeof(cnt), "%d", count);
	snprintf(when, sizeof(when), "%" PRId64, (int64_t)at);
	assert_int_equal(pg_exec_params(c, "INSERT INTO lz_changes (node, node_seq, count, at, kind, subject, verdict) "
	    "VALUES ($1, $2::bigint, $3::integer, $4::bigint, $5, $6, $7)", 7, params, NULL, NULL, NULL), 0);
}

struct rows_wait {
	const char *sql;
	int64_t want;
};

static bool
rows_are(void *arg)
{
	const struct rows_wait *w = arg;
	return query_int(w->sql) == w->want;
}

/*
 * Schema 5's batch rows: a node's push of many changes is a few rows, each read back as its
 * changes in order, each once; rows another node could write are read as far as they can be
 * (a line past the row's count, a line that cannot be read, a count of 0, a change read
 * before: skipped, the row counted unreadable, the rest applied); the daily compaction keeps
 * of the batch rows past the retention only each subject's newest change (a row rewritten to
 * its lines that are, or deleted), and the single rows a batch line supersedes go too.
 */
static void
test_batches(void **state)
{
	struct shared_stats sb0, sb;
	char l1[SHARED_BATCH_LINE_MAX], l2[SHARED_BATCH_LINE_MAX], l3[SHARED_BATCH_LINE_MAX];
	char text[4 * SHARED_BATCH_LINE_MAX];
	struct pg_conn *c;

	(void)state;
	/* 1. three thousand of a's: more than one row, and fewer rows than changes; read in
	 * one query or two, applied 1 000 at most a turn of the loop */
	size_t nb = node_b.n;
	node_b.turn_most = 0;
	int64_t before = query_int("SELECT coalesce(max(node_seq), 0) FROM lz_changes WHERE node = 'a'");
	for (int i = 0; i < 3000; i++) {
		char subject[32];
		snprintf(subject, sizeof(subject), "10.1.%d.%d", i / 256, i % 256);
		put_change(&node_a, subject, "one of many");
	}
	assert_true(wait_changes(&node_b, nb + 3000, 20 * SECOND_MS));
	run_for(300);
	assert_int_equal(node_b.n, nb + 3000);
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM lz_changes WHERE node = 'a' AND node_seq > %" PRId64, before);
	int64_t rows = query_int(sql);
	print_message("a's 3000 changes went as %lld rows\n", (long long)rows);
	assert_true(rows >= 2 && rows < 3000);
	snprintf(sql, sizeof(sql), "SELECT sum(count) FROM lz_changes WHERE node = 'a' AND node_seq > %" PRId64, before);
	assert_int_equal(query_int(sql), 3000);
	assert_true(query_int("SELECT max(count) FROM lz_changes") <= 2048);
	assert_true(run_until(outbox_empty, &node_a, 5 * SECOND_MS));
	print_message("b applied %zu at most in a turn of the loop\n", node_b.turn_most);
	assert_true(node_b.turn_most >= 2 && node_b.turn_most <= 1000);

	/* 2. rows of node y's, written by hand as another node could (the nodes' records start
	 * again: they hold CHANGES_MAX) */
	node_a.n = node_b.n = 0;
	shared_stats_get(node_b.sh, &sb0);
	nb = node_b.n;
	c = admin_conn();
	batch_line_of(l1, sizeof(l1), 1, "192.0.2.101", "y1");
	batch_line_of(l2, sizeof(l2), 2, "192.0.2.102", "y2");
	batch_line_of(l3, sizeof(l3), 3, "192.0.2.103", "y3");
	snprintf(text, sizeof(text), "%s%s%s", l1, l2, l3);
	insert_row(c, "y", 3, 3, 0, SHARED_KIND_BATCH, "", text);                  /* three */
	batch_line_of(l1, sizeof(l1), 4, "192.0.2.104", "y4");
	batch_line_of(l2, sizeof(l2), 5, "192.0.2.105", "past the count");
	snprintf(text, sizeof(text), "%s%s", l1, l2);
	insert_row(c, "y", 5, 1, 0, SHARED_KIND_BATCH, "", text);                  /* one of two */
	batch_line_of(l1, sizeof(l1), 6, "192.0.2.106", "y6");
	batch_line_of(l3, sizeof(l3), 8, "192.0.2.108", "y8");
	snprintf(text, sizeof(text), "%s7\tnot\ta line\n%s", l1, l3);
	insert_row(c, "y", 8, 3, 0, SHARED_KIND_BATCH, "", text);                  /* two of three */
	insert_row(c, "y", 9, 0, 0, SHARED_KIND_BATCH, "", l1);                    /* none */
	batch_line_of(l1, sizeof(l1), 2, "192.0.2.102", "read before");
	batch_line_of(l2, sizeof(l2), 11, "192.0.2.111", "y11");
	snprintf(text, sizeof(text), "%s%s", l1, l2);
	insert_row(c, "y", 11, 2, 0, SHARED_KIND_BATCH, "", text);                 /* one: the other again */
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	int64_t tag = put_change(&node_a, "192.0.2.112", "after y's");
	assert_true(wait_changes(&node_b, nb + 8, 5 * SECOND_MS));
	run_for(300);
	assert_int_equal(node_b.n, nb + 8);
	static const char *const got[] = { "192.0.2.101", "192.0.2.102", "192.0.2.103", "192.0.2.104", "192.0.2.106",
		"192.0.2.108", "192.0.2.111", "192.0.2.112" };
	for (size_t i = 0; i < 8 && nb + i < CHANGES_MAX; i++)
		assert_string_equal(node_b.ch[nb + i].subject, got[i]);
	assert_true(find_tag(&node_b, tag) >= 0);
	shared_stats_get(node_b.sh, &sb);
	assert_int_equal(sb.skipped - sb0.skipped, 3);

	/* a row alone in its query that says 1 000 and holds a line more: the thousand, no more
	 * (the batch has room for what the count says; ASan: nothing written past it) */
	size_t big = 1001 * SHARED_BATCH_LINE_MAX;
	char *many = malloc(big);
	assert_non_null(many);
	size_t used = 0;
	for (int i = 0; i < 1001; i++) {
		char subject[32];
		snprintf(subject, sizeof(subject), "10.2.%d.%d", i / 256, i % 256);
		batch_line_of(l1, sizeof(l1), 12 + i, subject, "one of a thousand");
		used += (size_t)snprintf(many + used, big - used, "%s", l1);
	}
	insert_row(c, "y", 1011, 1000, 0, SHARED_KIND_BATCH, "", many);
	free(many);
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	node_a.n = node_b.n = 0;
	assert_true(wait_changes(&node_b, 1000, 5 * SECOND_MS));
	run_for(300);
	assert_int_equal(node_b.n, 1000);
	shared_stats_get(node_b.sh, &sb);
	assert_int_equal(sb.skipped - sb0.skipped, 4);

	/* a row whose count is far below zero: unreadable, and no more rows in its query for it
	 * (the window takes each count within 1..2 048); the row after it still comes */
	batch_line_of(l1, sizeof(l1), 1100, "192.0.2.110", "negative count");
	insert_row(c, "y", 1100, -1000000, 0, SHARED_KIND_BATCH, "", l1);
	batch_line_of(l1, sizeof(l1), 1101, "192.0.2.111", "after it");
	insert_row(c, "y", 1101, 1, 0, SHARED_KIND_BATCH, "", l1);
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	node_a.n = node_b.n = 0;
	assert_true(wait_changes(&node_b, 1, 5 * SECOND_MS));
	run_for(300);
	assert_int_equal(node_b.n, 1);
	assert_string_equal(node_b.ch[0].subject, "192.0.2.111");
	shared_stats_get(node_b.sh, &sb);
	assert_int_equal(sb.skipped - sb0.skipped, 5);

	/* 3. node z's rows, all but two past the retention: the compaction's */
	usec_t old = time_now() - 40LL * 86400 * USEC_PER_SEC, now = time_now();
	char verdict[SHARED_LINE_MAX];
	struct shared_verdict v;
	verdict_of(&v, next_tag++, "z single");
	assert_true(shared_verdict_line(&v, verdict, sizeof(verdict)) > 0);
	insert_row(c, "z", 1, 1, old, SHARED_KIND_VERDICT, "192.0.2.121", verdict);     /* R0: Q, single */
	batch_line_of(l1, sizeof(l1), 2, "192.0.2.120", "P");
	batch_line_of(l2, sizeof(l2), 3, "192.0.2.121", "Q");
	batch_line_of(l3, sizeof(l3), 4, "192.0.2.120", "P again");
	snprintf(text, sizeof(text), "%s%s%s", l1, l2, l3);
	insert_row(c, "z", 4, 3, old, SHARED_KIND_BATCH, "", text);                    /* R1: P Q P */
	batch_line_of(l1, sizeof(l1), 5, "192.0.2.121", "Q newest");
	insert_row(c, "z", 5, 1, old, SHARED_KIND_BATCH, "", l1);                      /* R2: Q */
	batch_line_of(l1, sizeof(l1), 6, "192.0.2.122", "S newest");
	insert_row(c, "z", 6, 1, old, SHARED_KIND_BATCH, "", l1);                      /* R3: S */
	insert_row(c, "z", 7, 1, old, SHARED_KIND_VERDICT, "192.0.2.120", verdict);     /* R4: P, single */
	batch_line_of(l1, sizeof(l1), 8, "192.0.2.123", "T newest");
	batch_line_of(l2, sizeof(l2), 9, "192.0.2.120", "P newest");
	snprintf(text, sizeof(text), "%s%s", l1, l2);
	insert_row(c, "z", 9, 2, now, SHARED_KIND_BATCH, "", text);                    /* R5: T P, young */
	batch_line_of(l1, sizeof(l1), 10, "192.0.2.124", "U newest");
	batch_line_of(l2, sizeof(l2), 11, "192.0.2.125", "V");
	batch_line_of(l3, sizeof(l3), 12, "192.0.2.126", "W newest");
	snprintf(text, sizeof(text), "%s%s%s", l1, l2, l3);
	insert_row(c, "z", 12, 3, old, SHARED_KIND_BATCH, "", text);                   /* R6: U V W */
	batch_line_of(l1, sizeof(l1), 13, "192.0.2.125", "V newest");
	insert_row(c, "z", 13, 1, now, SHARED_KIND_BATCH, "", l1);                     /* R7: V, young */
	/* the nodes read them all before the compaction (13 changes) */
	assert_int_equal(pg_exec(c, "NOTIFY lz_changes"), 0);
	nb = node_b.n;
	size_t na = node_a.n;
	assert_true(wait_changes(&node_b, nb + 13, 5 * SECOND_MS));
	assert_true(wait_changes(&node_a, na + 13, 5 * SECOND_MS));
	shared_compact_soon(node_a.sh);
	struct rows_wait w = { "SELECT count(*) FROM lz_changes WHERE node = 'z'", 5 };
	assert_true(run_until(rows_are, &w, 5 * SECOND_MS));
	/* R2, R3, R5 and R7 as they were; R6 with its two lines that are their subject's newest */
	assert_int_equal(query_int("SELECT (string_agg(node_seq::text || ':' || count, ',' ORDER BY seq) = "
	    "'5:1,6:1,9:2,12:2,13:1')::int FROM lz_changes WHERE node = 'z'"), 1);
	PGresult *res = NULL;
	assert_int_equal(pg_exec_params(c, "SELECT verdict FROM lz_changes WHERE node = 'z' AND node_seq = 12", 0, NULL,
	    NULL, NULL, &res), 0);
	const char *kept = PQgetvalue(res, 0, 0);
	assert_true(strncmp(kept, "10\t", 3) == 0);
	assert_non_null(strstr(kept, "\n12\t"));
	assert_null(strstr(kept, "192.0.2.125"));
	PQclear(res);
	/* y's rows were old too: the one that held a line past its count keeps its count, the
	 * line no node read is not made one */
	assert_int_equal(query_int("SELECT count FROM lz_changes WHERE node = 'y' AND node_seq = 1011"), 1000);
	/* every subject's newest is there once: P, Q, S, T, U, V, W */
	assert_int_equal(query_int("SELECT count(DISTINCT split_part(l, E'\\t', 3)) FROM lz_changes, "
	    "regexp_split_to_table(rtrim(verdict, E'\\n'), E'\\n') AS l WHERE node = 'z' AND kind = 'verdicts'"), 7);
	pg_conn_free(c);
	/* z's came to the nodes too, before the compaction: the next test starts from here */
	run_for(300);
	node_a.n = node_b.n = 0;
}

/* The last change of node n, or fails. */
static int64_t
last_tag(const struct node *n)
{
	assert_true(n->n > 0 && n->n <= CHANGES_MAX);
	return (int64_t)n->ch[n->n - 1].verdict.tag;
}

static void
test_failover(void **state)
{
	char standby[PATH_MAX + 128], pport[16], sport[16], pdir[PATH_MAX], sdir[PATH_MAX];
	struct pg_conn *c;
	const char *p;

	(void)state;
	/* both nodes restarted on a multi-host conninfo, the primary's streaming standby second */
	node_stop(&node_a);
	node_stop(&node_b);
	assert_int_equal(pg_cluster_run(&cluster, "standby", "p", "s", standby, sizeof(standby)), 0);
	snprintf(pdir, sizeof(pdir), "%s/p", cluster.base);
	snprintf(sdir, sizeof(sdir), "%s/s", cluster.base);
	assert_non_null(p = strstr(conninfo, "port="));
	snprintf(pport, sizeof(pport), "%.*s", (int)strcspn(p + 5, " "), p + 5);
	assert_non_null(p = strstr(standby, "port="));
	snprintf(sport, sizeof(sport), "%.*s", (int)strcspn(p + 5, " "), p + 5);
	snprintf(conninfo, sizeof(conninfo), "host=%s,%s port=%s,%s dbname=lazaret user=lazaret "
	    "target_session_attrs=read-write", pdir, sdir, pport, sport);
	node_start(&node_a);
	node_start(&node_b);
	assert_true(run_until(is_up, &node_a, 10 * SECOND_MS));
	assert_true(run_until(is_up, &node_b, 10 * SECOND_MS));
	/* this run of each has received only b's next change: a's earlier ones it knows from its
	 * store's applied seq alone */
	size_t na = node_a.n, nb = node_b.n;
	int64_t before = put_change(&node_b, "192.0.2.70", "before the failover");
	assert_true(wait_changes(&node_a, na + 1, 5 * SECOND_MS));
	assert_true(wait_changes(&node_b, nb + 1, 5 * SECOND_MS));
	run_for(1000);          /* replayed on the standby by then */

	/* the primary dies, the standby is promoted; a change made meanwhile */
	assert_int_equal(pg_cluster_cmd(&cluster, "kill", "p", NULL), 0);
	assert_int_equal(pg_cluster_cmd(&cluster, "promote", "s", NULL), 0);
	int64_t after = put_change(&node_b, "192.0.2.71", "after the failover");
	assert_true(run_until(is_up, &node_a, 20 * SECOND_MS));
	assert_true(run_until(is_up, &node_b, 20 * SECOND_MS));
	c = admin_conn();
	assert_int_equal(pg_conn_server(c)->timeline, 2);       /* a failover: the re-read ran */
	pg_conn_free(c);
	assert_true(wait_changes(&node_a, na + 2, 10 * SECOND_MS));
	assert_true(wait_changes(&node_b, nb + 2, 10 * SECOND_MS));
	run_for(1000);
	/* the re-read of the last changes applied none of them again, on either node */
	assert_int_equal(node_a.n, na + 2);
	assert_int_equal(node_b.n, nb + 2);
	for (int k = 0; k < 2; k++) {
		struct node *n = k == 0 ? &node_a : &node_b;
		for (size_t i = 0; i < n->n; i++)
			find_tag(n, (int64_t)n->ch[i].verdict.tag);
		assert_true(last_tag(n) == after);
		assert_true(n->ch[n->n - 2].verdict.tag == (uint64_t)before);
	}
	assert_true(run_until(outbox_empty, &node_b, SECOND_MS));
}

int
main(void)
{
	/* in this order, on one cluster: each test builds on the state the previous left */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_propagation),
		cmocka_unit_test(test_outage),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_namesake),
		cmocka_unit_test(test_new_local),
		cmocka_unit_test(test_undecodable),
		cmocka_unit_test(test_schema2_rows),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_failover),
	};

	log_init("test_shared", 0, LOG_LEVEL_WARN);
	return cmocka_run_group_tests_name("shared", tests, cluster_setup, cluster_teardown) ? 1 : 0;
}
