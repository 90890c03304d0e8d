/*
 * test_store.c — the SQLite store: round trips, history, done callbacks on the loop,
 * group commit, schema checks, failed commits, and kill -9 in the middle of writing.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <uv.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "store/store.h"
#include "store/store_test.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
fixture_setup(void **state)
{
	struct fixture *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/lazaret-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	*state = f;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *de;
	char name[512];
	DIR *d;

	if ((d = opendir(f->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s", f->dir, de->d_name);
			unlink(name);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct store *
open_store(const char *path, uv_loop_t *loop)
{
	char err[512] = "";
	struct store *st;

	st = store_open(path, loop, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open %s: %s", path, err);
	return st;
}

static void
subject_init(struct store_subject *s, const char *name, int level)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->subject, sizeof(s->subject), "%s", name);
	s->level = level;
	s->manual_level = -1;
}

/* Two evidence items, the first of kind and summary as given, the second a bounce ratio. */
static void
evidence_pair(struct store_evidence ev[2], const char *kind, const char *summary)
{
	memset(ev, 0, 2 * sizeof(*ev));
	snprintf(ev[0].kind, sizeof(ev[0].kind), "%s", kind);
	snprintf(ev[0].summary, sizeof(ev[0].summary), "%s", summary);
	snprintf(ev[1].kind, sizeof(ev[1].kind), "bounce_ratio");
	snprintf(ev[1].summary, sizeof(ev[1].summary), "61 of 80 recipients bounced (5.1.1)");
}

static void
history_init(struct store_history *h, usec_t t, int old_level, int new_level,
    const char *actor, const char *reason)
{
	memset(h, 0, sizeof(*h));
	h->time = t;
	h->old_level = old_level;
	h->new_level = new_level;
	snprintf(h->actor, sizeof(h->actor), "%s", actor);
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
}

/* Collects store_load's output: copies of subjects with their evidence. */
struct loaded {
	size_t n;
	struct store_subject s[16];
	struct store_evidence ev[16][8];
};

static int
collect_subject(void *arg, const struct store_subject *s)
{
	struct loaded *l = arg;
	size_t i;

	assert_true(l->n < 16);
	assert_true(s->evidence_count <= 8);
	l->s[l->n] = *s;
	for (i = 0; i < s->evidence_count; i++)
		l->ev[l->n][i] = s->evidence[i];
	if (s->evidence_count == 0)
		assert_null(s->evidence);
	l->s[l->n].evidence = s->evidence_count > 0 ? l->ev[l->n] : NULL;
	l->n++;
	return 0;
}

static const struct store_subject *
loaded_find(const struct loaded *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->s[i].subject, name) == 0)
			return &l->s[i];
	return NULL;
}

static const struct store_evidence *
evidence_find(const struct store_subject *s, const char *kind)
{
	size_t i;

	for (i = 0; i < s->evidence_count; i++)
		if (strcmp(s->evidence[i].kind, kind) == 0)
			return &s->evidence[i];
	return NULL;
}

struct histories {
	size_t n;
	struct store_history h[32];
};

static int
collect_history(void *arg, const struct store_history *h)
{
	struct histories *hs = arg;

	assert_true(hs->n < 32);
	hs->h[hs->n++] = *h;
	return 0;
}

static void
assert_evidence_equal(const struct store_evidence *a, const struct store_evidence *b)
{
	assert_string_equal(a->kind, b->kind);
	assert_true(a->count == b->count);
	assert_true(a->value == b->value);
	assert_true(a->value_time == b->value_time);
	assert_true(a->first_seen == b->first_seen);
	assert_true(a->last_seen == b->last_seen);
	assert_string_equal(a->summary, b->summary);
}

/* Every field, boundary values on purpose: the largest uint64 count, negative and
 * fractional values, strings one short of their field. */
static void
test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev[3];
	struct store_subject s, t, u;
	const struct store_subject *got;
	struct loaded *l;
	struct store *st;
	size_t i;

	memset(ev, 0, sizeof(ev));
	snprintf(ev[0].kind, sizeof(ev[0].kind), "ratelimit_messages");
	ev[0].count = UINT64_MAX;
	ev[0].value = 1234.5625;
	ev[0].value_time = INT64_C(1790000000123456);
	ev[0].first_seen = INT64_C(1780000000000001);
	ev[0].last_seen = INT64_C(1790000000123455);
	snprintf(ev[0].summary, sizeof(ev[0].summary), "1234 messages in 15 min, limit 100");
	snprintf(ev[1].kind, sizeof(ev[1].kind), "bounce_ratio");
	ev[1].count = 0;
	ev[1].value = -0.125;
	ev[1].value_time = 0;
	ev[1].first_seen = -1;
	ev[1].last_seen = INT64_MAX;
	memset(ev[1].summary, 'x', sizeof(ev[1].summary) - 1);
	memset(ev[2].kind, 'k', sizeof(ev[2].kind) - 1);
	ev[2].count = 7;
	ev[2].value = 1e-300;
	snprintf(ev[2].summary, sizeof(ev[2].summary), "unicode: caf\xc3\xa9 \xe2\x80\x94 ok");

	subject_init(&s, "192.0.2.7", 3);
	s.manual_level = 4;
	s.manual_until = INT64_C(1799999999999999);
	snprintf(s.manual_reason, sizeof(s.manual_reason), "ticket 4711: suspended by abuse desk");
	s.rate_tat[0] = INT64_C(1790000000000007);
	s.rate_tat[1] = INT64_C(1790000000000008);
	s.updated = INT64_C(1790000000000009);
	s.reset_at = INT64_C(1790000000000010);       /* released once, on some node */
	s.evidence = ev;
	s.evidence_count = 3;

	subject_init(&t, "", 0);
	memset(t.subject, 'a', sizeof(t.subject) - 1);
	memset(t.manual_reason, 'r', sizeof(t.manual_reason) - 1);
	t.reset_at = INT64_MAX;                         /* a release without evidence left */

	st = open_store(f->path, NULL);
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	assert_int_equal(store_put(st, &t, NULL, NULL, NULL), 0);
	/* evidence_count without evidence is a caller bug, refused up front */
	t.evidence_count = 1;
	assert_int_equal(store_put(st, &t, NULL, NULL, NULL), -EINVAL);
	t.evidence_count = 0;
	/* so is a subject without a name */
	subject_init(&u, "", 1);
	assert_int_equal(store_put(st, &u, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(store_forget(st, ""), -EINVAL);
	store_flush(st);

	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 2);

	assert_non_null(got = loaded_find(l, "192.0.2.7"));
	assert_int_equal(got->level, 3);
	assert_int_equal(got->manual_level, 4);
	assert_true(got->manual_until == s.manual_until);
	assert_string_equal(got->manual_reason, s.manual_reason);
	assert_true(got->rate_tat[0] == s.rate_tat[0]);
	assert_true(got->rate_tat[1] == s.rate_tat[1]);
	assert_true(got->updated == s.updated);
	assert_true(got->reset_at == s.reset_at);
	assert_int_equal(got->evidence_count, 3);
	for (i = 0; i < 3; i++) {
		const struct store_evidence *e = evidence_find(got, ev[i].kind);

		assert_non_null(e);
		assert_evidence_equal(e, &ev[i]);
	}
	/* evidence keeps the order it was given in */
	for (i = 0; i < 3; i++)
		assert_string_equal(got->evidence[i].kind, ev[i].kind);

	assert_non_null(got = loaded_find(l, t.subject));
	assert_int_equal(got->level, 0);
	assert_int_equal(got->manual_level, -1);
	assert_string_equal(got->manual_reason, t.manual_reason);
	assert_int_equal(got->evidence_count, 0);
	assert_null(got->evidence);
	assert_true(got->reset_at == INT64_MAX);

	free(l);
	store_close(st);
}

static int
stop_at_first(void *arg, const struct store_subject *s)
{
	(*(int *)arg)++;
	return 42;
}

static void
test_evidence_replaced(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev[3];
	struct store_subject s;
	const struct store_subject *got;
	struct loaded *l;
	struct store *st;
	int calls = 0;

	memset(ev, 0, sizeof(ev));
	snprintf(ev[0].kind, sizeof(ev[0].kind), "a");
	snprintf(ev[1].kind, sizeof(ev[1].kind), "b");
	snprintf(ev[2].kind, sizeof(ev[2].kind), "c");
	ev[2].count = 3;

	st = open_store(f->path, NULL);
	subject_init(&s, "account:alice", 1);
	s.evidence = ev;
	s.evidence_count = 2;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	/* a neighbour whose evidence must not be touched */
	subject_init(&s, "account:bob", 1);
	s.evidence = ev;
	s.evidence_count = 1;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);

	subject_init(&s, "account:alice", 2);
	s.evidence = &ev[2];
	s.evidence_count = 1;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);

	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 2);
	assert_non_null(got = loaded_find(l, "account:alice"));
	assert_int_equal(got->level, 2);
	assert_int_equal(got->evidence_count, 1);
	assert_string_equal(got->evidence[0].kind, "c");
	assert_true(got->evidence[0].count == 3);
	assert_non_null(got = loaded_find(l, "account:bob"));
	assert_int_equal(got->evidence_count, 1);
	assert_string_equal(got->evidence[0].kind, "a");

	/* no evidence at all clears it */
	subject_init(&s, "account:alice", 0);
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_non_null(got = loaded_find(l, "account:alice"));
	assert_int_equal(got->evidence_count, 0);

	/* the callback's non-zero value stops the walk and is returned */
	assert_int_equal(store_load(st, stop_at_first, &calls), 42);
	assert_int_equal(calls, 1);

	free(l);
	store_close(st);
}

/* store_put_rates: counters only for rows the store has, whole default rows for the rest. */
static void
test_put_rates(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev[1];
	struct store_subject s;
	const struct store_subject *got;
	struct loaded *l;
	struct store *st;

	memset(ev, 0, sizeof(ev));
	snprintf(ev[0].kind, sizeof(ev[0].kind), "rate_limit");
	ev[0].count = 7;
	snprintf(ev[0].summary, sizeof(ev[0].summary), "seven deferrals");
	st = open_store(f->path, NULL);
	subject_init(&s, "192.0.2.1", 3);
	s.manual_level = 3;
	snprintf(s.manual_reason, sizeof(s.manual_reason), "ticket 5");
	s.grace_until = 1234;
	s.rate_tat[0] = 10;
	s.rate_tat[1] = 20;
	s.updated = 100;
	s.evidence = ev;
	s.evidence_count = 1;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);

	struct store_rate rates[] = {
		{ .subject = "192.0.2.1", .subject_len = 9, .level = 0, .rate_tat = { 11, 21 }, .updated = 200 },
		{ .subject = "192.0.2.2", .subject_len = 9, .level = 1, .rate_tat = { 12, 22 }, .updated = 200 },
	};
	assert_int_equal(store_put_rates(st, rates, 2), 0);
	assert_int_equal(store_put_rates(st, rates, 0), 0);
	assert_int_equal(store_put_rates(st, NULL, 1), -EINVAL);
	struct store_rate bad = { .subject = "x", .subject_len = 0 };
	assert_int_equal(store_put_rates(st, &bad, 1), -EINVAL);
	store_flush(st);

	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 2);
	/* the existing row: counters and time replaced, everything else as it was */
	assert_non_null(got = loaded_find(l, "192.0.2.1"));
	assert_true(got->rate_tat[0] == 11 && got->rate_tat[1] == 21 && got->updated == 200);
	assert_int_equal(got->level, 3);
	assert_int_equal(got->manual_level, 3);
	assert_string_equal(got->manual_reason, "ticket 5");
	assert_true(got->grace_until == 1234);
	assert_int_equal(got->evidence_count, 1);
	assert_evidence_equal(&got->evidence[0], &ev[0]);
	/* the new one: a plain row */
	assert_non_null(got = loaded_find(l, "192.0.2.2"));
	assert_true(got->rate_tat[0] == 12 && got->rate_tat[1] == 22 && got->updated == 200);
	assert_int_equal(got->level, 1);
	assert_int_equal(got->manual_level, -1);
	assert_int_equal(got->evidence_count, 0);
	struct store_stats ss;
	store_stats_get(st, &ss);
	assert_true(ss.writes == 3);
	free(l);
	store_close(st);
}

/*
 * subjects.manual_self_release: saved and loaded with the manual level; a store made
 * before the column gets it on open (its rows without the permission), and the rate
 * checkpoint never touches it.
 */
static void
test_manual_self_release(void **state)
{
	struct fixture *f = *state;
	struct store_subject s;
	const struct store_subject *got;
	struct loaded *l;
	struct store *st;
	sqlite3 *db;

	/* the schema as it was before the column */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE subjects (subject TEXT PRIMARY KEY NOT NULL, level INTEGER NOT NULL,"
	    " manual_level INTEGER NOT NULL, manual_until INTEGER NOT NULL, manual_reason TEXT NOT NULL,"
	    " tat_messages INTEGER NOT NULL, tat_recipients INTEGER NOT NULL, updated INTEGER NOT NULL,"
	    " evidence BLOB NOT NULL, grace_until INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	    "CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
	    " subject TEXT NOT NULL, old_level INTEGER NOT NULL, new_level INTEGER NOT NULL,"
	    " actor TEXT NOT NULL, reason TEXT NOT NULL);"
	    "CREATE INDEX history_subject ON history (subject, id);"
	    "INSERT INTO subjects VALUES ('192.0.2.8', 3, 3, 0, 'ticket 8', 0, 0, 1, X'', 0);"
	    "PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = open_store(f->path, NULL);
	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 1);
	assert_non_null(got = loaded_find(l, "192.0.2.8"));
	assert_string_equal(got->manual_reason, "ticket 8");
	assert_false(got->manual_self_release);

	subject_init(&s, "account:a b\xff", 3);
	s.manual_level = 3;
	snprintf(s.manual_reason, sizeof(s.manual_reason), "ticket 9");
	s.manual_self_release = true;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	struct store_rate rate = { .subject = s.subject, .subject_len = strlen(s.subject), .level = 3,
	    .rate_tat = { 5, 6 }, .updated = 7 };
	assert_int_equal(store_put_rates(st, &rate, 1), 0);
	store_close(st);

	st = open_store(f->path, NULL);
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 2);
	assert_non_null(got = loaded_find(l, "account:a b\xff"));
	assert_true(got->manual_self_release);
	assert_true(got->rate_tat[0] == 5);
	assert_false(loaded_find(l, "192.0.2.8")->manual_self_release);
	free(l);
	store_close(st);
}

static void
test_history_order_limit(void **state)
{
	struct fixture *f = *state;
	struct store_subject s;
	struct store_history h;
	struct histories *hs;
	struct store *st;
	char reason[16];
	int i;

	st = open_store(f->path, NULL);
	for (i = 0; i < 10; i++) {
		subject_init(&s, "198.51.100.1", i % 5);
		snprintf(reason, sizeof(reason), "x%d", i);
		history_init(&h, 1000 + i, (i + 4) % 5, i % 5, "judge", reason);
		assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
		/* interleaved entries of another subject */
		subject_init(&s, "198.51.100.2", 1);
		snprintf(reason, sizeof(reason), "y%d", i);
		history_init(&h, 2000 + i, 0, 1, "operator", reason);
		assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
		if (i == 4)
			store_flush(st);
	}
	store_flush(st);

	assert_non_null(hs = calloc(1, sizeof(*hs)));
	assert_int_equal(store_history_read(st, "198.51.100.1", 3, collect_history, hs), 0);
	assert_int_equal(hs->n, 3);
	for (i = 0; i < 3; i++) {
		snprintf(reason, sizeof(reason), "x%d", 7 + i);
		assert_string_equal(hs->h[i].reason, reason);
		assert_string_equal(hs->h[i].subject, "198.51.100.1");
		assert_string_equal(hs->h[i].actor, "judge");
		assert_true(hs->h[i].time == 1007 + i);
		assert_int_equal(hs->h[i].new_level, (7 + i) % 5);
		assert_int_equal(hs->h[i].old_level, (7 + i + 4) % 5);
	}

	memset(hs, 0, sizeof(*hs));
	assert_int_equal(store_history_read(st, "198.51.100.1", 100, collect_history, hs), 0);
	assert_int_equal(hs->n, 10);
	for (i = 0; i < 10; i++) {
		snprintf(reason, sizeof(reason), "x%d", i);
		assert_string_equal(hs->h[i].reason, reason);
	}

	memset(hs, 0, sizeof(*hs));
	assert_int_equal(store_history_read(st, "198.51.100.1", 0, collect_history, hs), 0);
	assert_int_equal(hs->n, 0);
	assert_int_equal(store_history_read(st, "203.0.113.9", 10, collect_history, hs), 0);
	assert_int_equal(hs->n, 0);
	assert_int_equal(store_history_read(st, "198.51.100.2", SIZE_MAX, collect_history, hs), 0);
	assert_int_equal(hs->n, 10);
	assert_string_equal(hs->h[9].reason, "y9");

	assert_int_equal(store_history_count(st), 20);
	free(hs);
	store_close(st);
}

static void
test_history_survives_forget(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev;
	struct store_subject s;
	struct store_history h;
	struct histories *hs;
	struct loaded *l;
	struct store *st;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.kind, sizeof(ev.kind), "direct_mx");
	st = open_store(f->path, NULL);
	subject_init(&s, "2001:db8:1:2::/64", 3);
	s.evidence = &ev;
	s.evidence_count = 1;
	history_init(&h, 1, 0, 3, "judge", "direct-to-MX from 58 destinations");
	assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
	subject_init(&s, "192.0.2.99", 1);
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	assert_int_equal(store_forget(st, "2001:db8:1:2::/64"), 0);
	assert_int_equal(store_forget(st, "never-seen"), 0);
	store_flush(st);

	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->s[0].subject, "192.0.2.99");

	assert_non_null(hs = calloc(1, sizeof(*hs)));
	assert_int_equal(store_history_read(st, "2001:db8:1:2::/64", 10, collect_history, hs), 0);
	assert_int_equal(hs->n, 1);
	assert_string_equal(hs->h[0].reason, "direct-to-MX from 58 destinations");
	assert_int_equal(store_history_count(st), 1);

	/* a later put brings the subject back without evidence from before the forget */
	subject_init(&s, "2001:db8:1:2::/64", 0);
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(loaded_find(l, "2001:db8:1:2::/64")->evidence_count, 0);

	free(hs);
	free(l);
	store_close(st);
}

/* Done callbacks with a loop: on the loop thread, in order, after the row is readable. */
struct loop_ctx {
	struct store *st;
	pthread_t loop_thread;
	int done;
	int expect_next;
	int bad_thread;
	int bad_order;
	int bad_status;
	int unreadable;
	struct store *closing;     /* set while store_close runs */
	int put_while_closing;
};

struct loop_arg {
	struct loop_ctx *ctx;
	int index;
};

static int
count_subject(void *arg, const struct store_subject *s)
{
	(*(int *)arg)++;
	return 0;
}

static int
count_history(void *arg, const struct store_history *h)
{
	(*(int *)arg)++;
	return 0;
}

static void
loop_done(void *arg, int status)
{
	struct loop_arg *a = arg;
	struct loop_ctx *ctx = a->ctx;
	char name[32];
	int n = 0;

	if (!pthread_equal(pthread_self(), ctx->loop_thread))
		ctx->bad_thread++;
	if (a->index != ctx->expect_next)
		ctx->bad_order++;
	ctx->expect_next = a->index + 1;
	if (status != 0)
		ctx->bad_status++;
	if (ctx->st != NULL) {
		snprintf(name, sizeof(name), "loop-%d", a->index);
		if (store_history_read(ctx->st, name, 1, count_history, &n) != 0 || n != 1)
			ctx->unreadable++;
	}
	if (ctx->closing != NULL) {
		struct store_subject s;

		subject_init(&s, "too-late", 1);
		ctx->put_while_closing = store_put(ctx->closing, &s, NULL, NULL, NULL);
	}
	ctx->done++;
}

static void
test_done_on_loop(void **state)
{
	struct fixture *f = *state;
	struct store_subject s;
	struct store_history h;
	struct loop_arg *args;
	struct loop_ctx ctx;
	uv_loop_t loop;
	struct store *st;
	int i, n = 500;

	memset(&ctx, 0, sizeof(ctx));
	ctx.loop_thread = pthread_self();
	assert_non_null(args = calloc((size_t)n + 1, sizeof(*args)));
	assert_int_equal(uv_loop_init(&loop), 0);
	st = open_store(f->path, &loop);
	ctx.st = st;
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "loop-%d", i);
		subject_init(&s, name, 3);
		history_init(&h, i, 0, 3, "judge", "test");
		args[i].ctx = &ctx;
		args[i].index = i;
		assert_int_equal(store_put(st, &s, &h, loop_done, &args[i]), 0);
	}
	while (ctx.done < n)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(ctx.done, n);
	assert_int_equal(ctx.bad_thread, 0);
	assert_int_equal(ctx.bad_order, 0);
	assert_int_equal(ctx.bad_status, 0);
	assert_int_equal(ctx.unreadable, 0);

	/* a callback still pending at store_close runs inside store_close, committed */
	subject_init(&s, "late", 1);
	args[n].ctx = &ctx;
	args[n].index = n;
	ctx.st = NULL;
	assert_int_equal(store_put(st, &s, NULL, loop_done, &args[n]), 0);
	ctx.closing = st;
	store_close(st);
	assert_int_equal(ctx.done, n + 1);
	assert_int_equal(ctx.bad_status, 0);
	/* ... where a new write is refused, not lost silently */
	assert_int_equal(ctx.put_while_closing, -ESHUTDOWN);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);

	st = open_store(f->path, NULL);
	i = 0;
	assert_int_equal(store_load(st, count_subject, &i), 0);
	assert_int_equal(i, n + 1);
	assert_int_equal(store_history_count(st), n);
	store_close(st);
	free(args);
}

static void
test_group_commit(void **state)
{
	struct fixture *f = *state;
	struct store_stats stats;
	struct store_subject s;
	struct store_history h;
	struct store *st;
	uint64_t buckets = 0;
	int i, n = 25000;
	size_t b;

	st = open_store(f->path, NULL);
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "10.0.%d.%d", i / 256, i % 256);
		subject_init(&s, name, 1);
		history_init(&h, i, 0, 1, "judge", "group");
		assert_int_equal(store_put(st, &s, i % 2 ? &h : NULL, NULL, NULL), 0);
	}
	store_flush(st);
	store_stats_get(st, &stats);
	print_message("group commit: %d writes in %" PRIu64 " transactions\n", n,
	    stats.transactions);
	assert_true(stats.writes == (uint64_t)n);
	assert_true(stats.history_rows == (uint64_t)n / 2);
	assert_true(stats.transactions < stats.writes / 10);
	/* no transaction holds more than 10 000 writes */
	assert_true(stats.transactions >= 3);
	assert_true(stats.failures == 0);
	assert_true(stats.queued == 0);
	assert_true(stats.latency_count == stats.transactions);
	for (b = 0; b < STORE_LATENCY_BUCKETS; b++)
		buckets += stats.latency_bucket[b];
	assert_true(buckets == stats.latency_count);
	assert_true(stats.latency_sum_us > 0);
	for (b = 1; b < STORE_LATENCY_BUCKETS - 1; b++)
		assert_true(store_latency_bounds_us[b - 1] < store_latency_bounds_us[b]);
	assert_int_equal(store_history_count(st), n / 2);
	store_close(st);
}

/*
 * The WAL is copied into the database once the writer has been quiet a while, not after
 * each commit of a burst: a burst of some thousand pages, then the database file itself
 * holds them within seconds (a reader would find them either way; this is about the file).
 */
static void
test_wal_checkpoint_when_quiet(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev[2];
	struct store_subject s;
	struct store_history h;
	struct store *st;
	struct stat sb;
	int n = 20000;

	evidence_pair(ev, "report_infection", "Shadowserver report (event4_drone): the 'mirai' bot");
	st = open_store(f->path, NULL);
	assert_int_equal(stat(f->path, &sb), 0);
	off_t empty = sb.st_size;
	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "10.1.%d.%d", i / 256, i % 256);
		subject_init(&s, name, 3);
		s.evidence = ev;
		s.evidence_count = 2;
		history_init(&h, i, 0, 3, "judge", "score 3.50 reached quarantine (3)");
		assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
	}
	store_flush(st);
	/* some thousand pages of 4 KiB were written: the file holds them once checkpointed */
	for (int waited = 0; waited < 5000; waited += 20) {
		assert_int_equal(stat(f->path, &sb), 0);
		if (sb.st_size > empty + 4 * 1024 * 1024)
			break;
		usleep(20 * 1000);
	}
	print_message("database file %lld bytes after %d puts and a quiet while (empty: %lld)\n",
	    (long long)sb.st_size, n, (long long)empty);
	assert_true(sb.st_size > empty + 4 * 1024 * 1024);
	assert_int_equal(store_history_count(st), n);
	store_close(st);
}

/* 100 000 puts of distinct subjects with two evidence items each, no history. */
static void
test_bench_100k(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev[2];
	struct store_stats stats;
	struct store_subject s;
	struct store *st;
	usec_t t0, t1, t2;
	int i, n = 100000;

	evidence_pair(ev, "ratelimit_messages", "412 messages in 15 min, limit 100");

	st = open_store(f->path, NULL);
	t0 = time_mono();
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		subject_init(&s, name, i % 4);
		s.updated = i;
		ev[0].count = (uint64_t)i;
		ev[1].value = i * 0.5;
		s.evidence = ev;
		s.evidence_count = 2;
		assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	}
	t1 = time_mono();
	store_flush(st);
	t2 = time_mono();
	store_stats_get(st, &stats);
	print_message("store bench: %d puts queued in %.1f ms, all committed after %.1f ms "
	    "(%" PRIu64 " transactions, synchronous=FULL, 2 evidence items each)\n", n,
	    (double)(t1 - t0) / 1000.0, (double)(t2 - t0) / 1000.0, stats.transactions);
	assert_true(stats.writes == (uint64_t)n);
	store_close(st);
}

static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct store_subject s;
	struct store_history h;
	struct histories *hs;
	struct store *st;
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		char reason[8];

		st = open_store(f->path, NULL);
		subject_init(&s, "192.0.2.1", i + 1);
		snprintf(reason, sizeof(reason), "r%d", i);
		history_init(&h, i, i, i + 1, "judge", reason);
		assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
		subject_init(&s, reason, 0);
		assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
		/* no flush: store_close commits what is queued */
		store_close(st);
	}
	st = open_store(f->path, NULL);
	assert_int_equal(store_load(st, count_subject, &n), 0);
	assert_int_equal(n, 4);
	assert_non_null(hs = calloc(1, sizeof(*hs)));
	assert_int_equal(store_history_read(st, "192.0.2.1", 10, collect_history, hs), 0);
	assert_int_equal(hs->n, 3);
	assert_string_equal(hs->h[0].reason, "r0");
	assert_string_equal(hs->h[2].reason, "r2");
	assert_int_equal(hs->h[2].new_level, 3);
	free(hs);
	store_close(st);
}

/* Named values: text, and bytes of any kind (NULs, a megabyte), across a reopen. */
static void
test_state_values(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f->path, NULL);
	size_t big = 1u << 20, len;
	uint8_t *bytes = malloc(big), *got;
	char text[64];

	assert_non_null(bytes);
	for (size_t i = 0; i < big; i++)
		bytes[i] = (uint8_t)(i * 7 % 251);     /* NULs included */
	assert_int_equal(store_state_put(st, "maillog:/var/log/mail.log", "12 34"), 0);
	/* the store takes the buffers it is given, refused ones too (ASan sees leaks) */
	uint8_t *given = malloc(big);
	assert_non_null(given);
	memcpy(given, bytes, big);
	assert_int_equal(store_state_put_bytes(st, "sensor", given, big), 0);
	assert_int_equal(store_state_put_bytes(st, "empty", NULL, 0), 0);
	assert_int_equal(store_state_put_bytes(st, "", malloc(1), 1), -EINVAL);
	assert_int_equal(store_state_put_bytes(st, "huge", malloc(1), STORE_STATE_BYTES_MAX + 1), -EINVAL);
	store_close(st);

	st = open_store(f->path, NULL);
	assert_int_equal(store_state_get(st, "maillog:/var/log/mail.log", text, sizeof(text)), 0);
	assert_string_equal(text, "12 34");
	assert_int_equal(store_state_get_bytes(st, "sensor", &got, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(got, bytes, big);
	free(got);
	assert_int_equal(store_state_get_bytes(st, "empty", &got, &len), 0);
	assert_int_equal(len, 0);
	free(got);
	assert_int_equal(store_state_get_bytes(st, "missing", &got, &len), -ENOENT);
	assert_null(got);
	/* a newer value replaces the older */
	bytes[0] ^= 1;
	assert_non_null(given = malloc(10));
	memcpy(given, bytes, 10);
	assert_int_equal(store_state_put_bytes(st, "sensor", given, 10), 0);
	store_flush(st);
	assert_int_equal(store_state_get_bytes(st, "sensor", &got, &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(got, bytes, 10);
	free(got);
	store_close(st);
	free(bytes);
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *q = NULL;
	sqlite3 *db = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static void
test_schema_refused(void **state)
{
	struct fixture *f = *state;
	char err[512], other[160];
	struct store *st;
	FILE *fp;

	/* a database from a newer lazaret */
	st = open_store(f->path, NULL);
	store_close(st);
	raw_exec(f->path, "PRAGMA user_version=99");
	err[0] = '\0';
	assert_null(store_open(f->path, NULL, err, sizeof(err)));
	print_message("refused: %s\n", err);
	assert_non_null(strstr(err, "schema version 99"));
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 99);

	/* someone else's database: left untouched, still in its own journal mode */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	raw_exec(other, "CREATE TABLE t (x); INSERT INTO t VALUES (1)");
	err[0] = '\0';
	assert_null(store_open(other, NULL, err, sizeof(err)));
	print_message("refused: %s\n", err);
	assert_non_null(strstr(err, "not a lazaret database"));
	assert_int_equal(raw_int(other, "SELECT count(*) FROM t"), 1);
	{
		sqlite3 *db;
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_open(other, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0), "delete");
		sqlite3_finalize(q);
		sqlite3_close(db);
	}

	/* not a database at all */
	snprintf(other, sizeof(other), "%s/garbage.db", f->dir);
	assert_non_null(fp = fopen(other, "w"));
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	err[0] = '\0';
	assert_null(store_open(other, NULL, err, sizeof(err)));
	print_message("refused: %s\n", err);
	assert_true(err[0] != '\0');

	/* a directory that does not exist */
	err[0] = '\0';
	assert_null(store_open("/nonexistent-lazaret-dir/store.db", NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

/* store_open_with's answer for path: NULL expected, err must contain want. */
static void
expect_refused(const char *path, unsigned flags, const char *want)
{
	char err[1024] = "";
	struct store *st = store_open_with(path, NULL, flags, err, sizeof(err));

	if (st != NULL) {
		store_close(st);
		fail_msg("%s was opened; expected a refusal saying \"%s\"", path, want);
	}
	print_message("refused: %s\n", err);
	if (strstr(err, want) == NULL)
		fail_msg("refusal of %s says \"%s\", not \"%s\"", path, err, want);
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/*
 * At start, what is not a store in working order is refused with its reason, and left
 * as it was: a missing file or an empty one (unless asked to create the store), a
 * damaged one (PRAGMA quick_check), one that is not a database.
 */
static void
test_open_refusals(void **state)
{
	struct fixture *f = *state;
	char path[160], err[512];
	struct store_subject s;
	struct store_history h;
	struct store *st;
	FILE *fp;

	/* missing: refused, not created; STORE_OPEN_CREATE creates it */
	expect_refused(f->path, STORE_OPEN_CHECK, "does not exist. If this is a new install, start once with --init-store");
	assert_int_equal(file_size(f->path), -1);
	assert_non_null(st = store_open_with(f->path, NULL, STORE_OPEN_CREATE | STORE_OPEN_CHECK, err, sizeof(err)));
	store_close(st);
	assert_true(file_size(f->path) > 0);
	/* a store that exists opens without being asked to create, and is checked */
	assert_non_null(st = store_open_with(f->path, NULL, STORE_OPEN_CHECK, err, sizeof(err)));
	store_close(st);

	/* 0 bytes: SQLite would have made a new, empty store of it */
	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	expect_refused(path, STORE_OPEN_CHECK, "the file is empty (0 bytes, no tables)");
	assert_int_equal(file_size(path), 0);
	assert_non_null(st = store_open_with(path, NULL, STORE_OPEN_CREATE | STORE_OPEN_CHECK, err, sizeof(err)));
	store_close(st);
	assert_true(raw_int(path, "PRAGMA user_version") == 1);

	/* not a database: refused even when asked to create one, and untouched */
	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	expect_refused(path, STORE_OPEN_CREATE | STORE_OPEN_CHECK, "it is not an SQLite database, or it is damaged");
	assert_int_equal(file_size(path), 200 * 31);

	/* damaged in the middle: a store of a few hundred history rows, one page overwritten */
	snprintf(path, sizeof(path), "%s/damaged.db", f->dir);
	assert_non_null(st = store_open(path, NULL, err, sizeof(err)));
	for (int i = 0; i < 400; i++) {
		char name[32];
		snprintf(name, sizeof(name), "192.0.2.%d", i % 250);
		subject_init(&s, name, i % 4);
		history_init(&h, i + 1, 0, i % 4, "judge", "a reason long enough to fill some pages of history");
		assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
	}
	store_close(st);
	int64_t pages = raw_int(path, "PRAGMA page_count"), root = raw_int(path,
	    "SELECT rootpage FROM sqlite_master WHERE name = 'history'");
	assert_true(pages > 4 && root > 1);
	{
		char junk[512];
		memset(junk, 0xa5, sizeof(junk));
		assert_non_null(fp = fopen(path, "r+"));
		assert_int_equal(fseek(fp, (long)((root - 1) * 4096), SEEK_SET), 0);
		assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
		fclose(fp);
	}
	expect_refused(path, STORE_OPEN_CHECK, "the database is damaged");
	/* unchecked, it opens (what lazaretd did) and the history cannot be read: an error, not "none" */
	assert_non_null(st = store_open(path, NULL, err, sizeof(err)));
	assert_true(store_history_read(st, "192.0.2.7", 100, count_history, &(int){ 0 }) < 0);
	store_close(st);
}

/* The same refusals that depend on permissions, as an unprivileged user (root may write anything). */
static void
test_open_read_only(void **state)
{
	struct fixture *f = *state;
	char path[160], dir[160], err[512];
	struct store *st;
	int status, fds[2];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/ro.db", f->dir);
	assert_non_null(st = store_open(path, NULL, err, sizeof(err)));
	store_close(st);
	snprintf(dir, sizeof(dir), "%s/rodir", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(err, sizeof(err), "%s/ro.db", dir);
	assert_non_null(st = store_open(err, NULL, err + 256, 256));
	store_close(st);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(path, 0444), 0);           /* the file read-only */
	assert_int_equal(chmod(err, 0666), 0);            /* the file writable, its directory not */
	assert_int_equal(chmod(dir, 0555), 0);
	if (geteuid() != 0) {
		expect_refused(path, STORE_OPEN_CHECK, "cannot write it (opened read-only");
		expect_refused(err, STORE_OPEN_CHECK, "is not writable");
		return;
	}
	/* as root: the same in a child that has become nobody */
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		char e1[1024] = "", e2[1024] = "";
		struct store *s1, *s2;
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		s1 = store_open_with(path, NULL, STORE_OPEN_CHECK, e1, sizeof(e1));
		s2 = store_open_with(err, NULL, STORE_OPEN_CHECK, e2, sizeof(e2));
		dprintf(fds[1], "%s\n%s\n", e1, e2);
		_exit(s1 == NULL && s2 == NULL ? 0 : 1);
	}
	close(fds[1]);
	char out[2100] = "";
	ssize_t n, got = 0;
	while ((n = read(fds[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	out[got > 0 ? got : 0] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	print_message("as nobody: %s", out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(out, "ro.db: cannot write it (opened read-only"));
	assert_non_null(strstr(out, "rodir is not writable"));
	chmod(dir, 0755);
	unlink(err);
	rmdir(dir);
}

/* A read the database cannot answer is an error to every reader, never "nothing there". */
static void
test_read_faults(void **state)
{
	struct fixture *f = *state;
	struct store_subject s;
	struct store_history h;
	struct loaded *l;
	struct store *st;
	char value[64];
	int n = 0;

	st = open_store(f->path, NULL);
	subject_init(&s, "192.0.2.9", 3);
	history_init(&h, 1, 0, 3, "judge", "quarantined");
	assert_int_equal(store_put(st, &s, &h, NULL, NULL), 0);
	assert_int_equal(store_state_put(st, "k", "v"), 0);
	store_flush(st);

	assert_non_null(l = calloc(1, sizeof(*l)));
	store_test_fail_reads(st, 4);
	assert_int_equal(store_history_read(st, "192.0.2.9", 10, count_history, &n), -EIO);
	assert_int_equal(n, 0);
	assert_int_equal(store_load(st, collect_subject, l), -EIO);
	assert_int_equal(store_state_get(st, "k", value, sizeof(value)), -EIO);
	assert_int_equal(store_history_count(st), -EIO);
	/* and then the store reads again */
	assert_int_equal(store_history_read(st, "192.0.2.9", 10, count_history, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 1);
	assert_int_equal(store_state_get(st, "k", value, sizeof(value)), 0);
	assert_string_equal(value, "v");
	free(l);
	store_close(st);
}

struct damaged_ctx {
	int rows;
	int good_ok;
	size_t damaged_evidence;
	usec_t reset_at;
};

static int
damaged_each(void *arg, const struct store_subject *s)
{
	struct damaged_ctx *c = arg;

	c->rows++;
	if (strcmp(s->subject, "good") == 0)
		c->good_ok = s->evidence_count == 2 && s->evidence[1].count == 99;
	else {
		c->damaged_evidence = s->evidence_count;
		c->reset_at = s->reset_at;
	}
	return 0;
}

/* A damaged evidence blob (an edited or corrupted row) never crashes store_load, costs
 * only that row its evidence, and is never over-read: every truncation of a real blob,
 * a wrong version byte, oversized lengths, random bytes. */
static void
test_evidence_damaged(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev[2];
	struct damaged_ctx c;
	struct store_subject s;
	struct store *st;
	int64_t len, k, first_end;
	char sql[256];

	/* the damage is logged once per load: keep the test output short */
	log_set_level(LOG_LEVEL_ERROR);
	memset(ev, 0, sizeof(ev));
	snprintf(ev[0].kind, sizeof(ev[0].kind), "ratelimit_messages");
	snprintf(ev[0].summary, sizeof(ev[0].summary), "412 messages in 15 min");
	snprintf(ev[1].kind, sizeof(ev[1].kind), "bounce_ratio");
	ev[1].count = 99;
	st = open_store(f->path, NULL);
	subject_init(&s, "good", 1);
	s.evidence = ev;
	s.evidence_count = 2;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	subject_init(&s, "bad", 3);
	s.evidence = ev;
	s.evidence_count = 2;
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);

	first_end = 1 + 43 + (int64_t)strlen(ev[0].kind) + (int64_t)strlen(ev[0].summary);
	len = raw_int(f->path, "SELECT length(evidence) FROM subjects WHERE subject = 'bad'");
	assert_true(len > 2 * 43);
	raw_exec(f->path, "CREATE TABLE keep AS SELECT evidence FROM subjects"
	    " WHERE subject = 'bad'");
	for (k = 1; k < len; k++) {
		snprintf(sql, sizeof(sql), "UPDATE subjects SET evidence = substr((SELECT evidence"
		    " FROM keep), 1, %" PRId64 ") WHERE subject = 'bad'", k);
		raw_exec(f->path, sql);
		memset(&c, 0, sizeof(c));
		assert_int_equal(store_load(st, damaged_each, &c), 0);
		assert_int_equal(c.rows, 2);
		assert_true(c.good_ok);
		/* a cut blob never yields an item that was not wholly there; cut right
		 * after the first item, it is a well-formed blob of one */
		assert_true(c.damaged_evidence == (k == first_end ? 1u : 0u));
	}
	{
		static const char *const blobs[] = {
			"x'03'",                          /* unknown version */
			"x'02'",                          /* version 2 without its release time */
			"x'0201000000000000'",            /* ... cut short */
			"x'020000000000000080'",          /* a release time past INT64_MAX */
			"x'01'",                          /* version, no item */
			"x'01ff'",                        /* kind length over the field */
			"randomblob(200)",
			"x'0100' || zeroblob(40) || x'ffff'",  /* summary length over the field */
		};
		size_t i;

		for (i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
			snprintf(sql, sizeof(sql), "UPDATE subjects SET evidence = %s"
			    " WHERE subject = 'bad'", blobs[i]);
			raw_exec(f->path, sql);
			memset(&c, 0, sizeof(c));
			assert_int_equal(store_load(st, damaged_each, &c), 0);
			assert_int_equal(c.rows, 2);
			assert_true(c.good_ok);
		}
	}
	/* version 2: the release time and no item, or the items after it */
	raw_exec(f->path, "UPDATE subjects SET evidence = x'020100000000000000' WHERE subject = 'bad'");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_load(st, damaged_each, &c), 0);
	assert_int_equal(c.damaged_evidence, 0);
	assert_int_equal(c.reset_at, 1);
	raw_exec(f->path, "UPDATE subjects SET evidence = x'02ffffffffffffff7f00' || zeroblob(40) || x'0000'"
	    " WHERE subject = 'bad'");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_load(st, damaged_each, &c), 0);
	assert_int_equal(c.damaged_evidence, 1);
	assert_int_equal(c.reset_at, INT64_MAX);
	/* version byte and one item with empty kind and summary: well formed */
	raw_exec(f->path, "UPDATE subjects SET evidence = x'0100' || zeroblob(40) || x'0000'"
	    " WHERE subject = 'bad'");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_load(st, damaged_each, &c), 0);
	assert_int_equal(c.damaged_evidence, 1);
	store_close(st);
	log_set_level(LOG_LEVEL_INFO);
}

struct fail_ctx {
	pthread_t main_thread;
	int status;
	int calls;
	int on_main;
};

static void
fail_done(void *arg, int status)
{
	struct fail_ctx *c = arg;

	c->status = status;
	c->calls++;
	if (pthread_equal(pthread_self(), c->main_thread))
		c->on_main++;
}

static void
test_failed_commit(void **state)
{
	struct fixture *f = *state;
	struct store_evidence ev;
	struct store_stats stats;
	struct store_subject s;
	struct store_history h;
	struct fail_ctx a, b, c;
	const struct store_subject *got;
	struct loaded *l;
	struct store *st;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	a.main_thread = b.main_thread = c.main_thread = pthread_self();
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.kind, sizeof(ev.kind), "kept");

	st = open_store(f->path, NULL);
	subject_init(&s, "192.0.2.50", 1);
	s.evidence = &ev;
	s.evidence_count = 1;
	history_init(&h, 1, 0, 1, "judge", "first");
	assert_int_equal(store_put(st, &s, &h, fail_done, &a), 0);
	store_flush(st);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	/* without a loop, callbacks run on the writer thread */
	assert_int_equal(a.on_main, 0);

	store_test_fail_next(st, 1);
	subject_init(&s, "192.0.2.50", 3);
	s.evidence_count = 0;
	history_init(&h, 2, 1, 3, "judge", "lost");
	assert_int_equal(store_put(st, &s, &h, fail_done, &b), 0);
	store_flush(st);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, -EIO);
	store_stats_get(st, &stats);
	assert_true(stats.failures == 1);
	assert_true(stats.transactions == 1);
	assert_true(stats.writes == 1);

	/* nothing of the failed transaction is visible: level, evidence, history */
	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 1);
	assert_non_null(got = loaded_find(l, "192.0.2.50"));
	assert_int_equal(got->level, 1);
	assert_int_equal(got->evidence_count, 1);
	assert_string_equal(got->evidence[0].kind, "kept");
	assert_int_equal(store_history_count(st), 1);

	/* and the writer carries on */
	subject_init(&s, "192.0.2.50", 2);
	history_init(&h, 3, 1, 2, "judge", "after");
	assert_int_equal(store_put(st, &s, &h, fail_done, &c), 0);
	store_flush(st);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.status, 0);
	assert_int_equal(store_history_count(st), 2);
	store_stats_get(st, &stats);
	assert_true(stats.failures == 1);
	assert_true(stats.transactions == 2);
	free(l);
	store_close(st);
}

/*
 * The crash test. A child writes in a loop — subject crash-(n % 8) at level n % 5 with
 * evidence count n and a history entry with reason "n" — and reports each n to a pipe
 * from its done callback. The parent kills it with SIGKILL at a random moment, then
 * checks the database: integrity, every reported n present, each subject's level and
 * evidence from its newest history entry, history in commit order with an unbroken
 * old_level → new_level chain per subject.
 */
#define CRASH_SUBJECTS  8
#define CRASH_INFLIGHT  64

struct crash_child {
	struct store *st;
	int fd;
	uint64_t next;
	int level[CRASH_SUBJECTS];
};

static struct crash_child crash;

static void crash_put(void);

static void
crash_done(void *arg, int status)
{
	uint64_t n = (uint64_t)(uintptr_t)arg;

	if (status != 0)
		_exit(3);
	if (write(crash.fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		_exit(4);
	crash_put();
}

static void
crash_put(void)
{
	struct store_evidence ev;
	struct store_subject s;
	struct store_history h;
	char name[32], reason[32];
	uint64_t n = crash.next++;
	int k = (int)(n % CRASH_SUBJECTS);

	snprintf(name, sizeof(name), "crash-%d", k);
	snprintf(reason, sizeof(reason), "%" PRIu64, n);
	subject_init(&s, name, (int)(n % 5));
	s.updated = (usec_t)n;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.kind, sizeof(ev.kind), "crash");
	ev.count = n;
	s.evidence = &ev;
	s.evidence_count = 1;
	history_init(&h, (usec_t)n, crash.level[k], (int)(n % 5), "test", reason);
	crash.level[k] = (int)(n % 5);
	if (store_put(crash.st, &s, &h, crash_done, (void *)(uintptr_t)n) != 0)
		_exit(5);
}

static int
crash_load_level(void *arg, const struct store_subject *s)
{
	int k;

	if (sscanf(s->subject, "crash-%d", &k) == 1 && k >= 0 && k < CRASH_SUBJECTS)
		crash.level[k] = s->level;
	return 0;
}

static _Noreturn void
crash_child_run(const char *path, uint64_t base, int fd)
{
	char err[512];
	uv_loop_t loop;
	int i;

	memset(&crash, 0, sizeof(crash));
	crash.fd = fd;
	crash.next = base;
	if (uv_loop_init(&loop) != 0)
		_exit(2);
	if ((crash.st = store_open(path, &loop, err, sizeof(err))) == NULL) {
		fprintf(stderr, "crash child: %s\n", err);
		_exit(2);
	}
	if (store_load(crash.st, crash_load_level, NULL) != 0)
		_exit(2);
	for (i = 0; i < CRASH_INFLIGHT; i++)
		crash_put();
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(6);
}

struct crash_check {
	int64_t newest_n[CRASH_SUBJECTS];
	int newest_level[CRASH_SUBJECTS];
	int subjects;
	int bad;
};

static int
crash_check_subject(void *arg, const struct store_subject *s)
{
	struct crash_check *c = arg;
	int k;

	if (sscanf(s->subject, "crash-%d", &k) != 1 || k < 0 || k >= CRASH_SUBJECTS) {
		c->bad++;
		return 0;
	}
	c->subjects++;
	if (c->newest_n[k] < 0 || s->level != c->newest_level[k] ||
	    s->evidence_count != 1 || s->evidence[0].count != (uint64_t)c->newest_n[k] ||
	    s->updated != c->newest_n[k]) {
		print_message("torn: %s level %d evidence %zu/%" PRIu64 ", newest history "
		    "n=%" PRId64 " level %d\n", s->subject, s->level, s->evidence_count,
		    s->evidence_count ? s->evidence[0].count : 0, c->newest_n[k],
		    c->newest_level[k]);
		c->bad++;
	}
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Checks the database after a kill; reported[0..nreported) must all be in history. */
static void
crash_verify(const char *path, const uint64_t *reported, size_t nreported)
{
	struct crash_check check;
	int chain_level[CRASH_SUBJECTS];
	uint64_t *ns = NULL, *tmp;
	size_t nn = 0, cap = 0, i;
	int64_t last_id = 0, rows = 0;
	uint64_t last_n = 0;
	sqlite3_stmt *q;
	struct store *st;
	sqlite3 *db;
	int k, rc;

	st = open_store(path, NULL);

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
	sqlite3_finalize(q);

	for (k = 0; k < CRASH_SUBJECTS; k++) {
		chain_level[k] = 0;
		check.newest_n[k] = -1;
		check.newest_level[k] = -1;
	}
	check.subjects = check.bad = 0;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, subject, old_level, new_level,"
	    " reason FROM history ORDER BY id", -1, &q, NULL), SQLITE_OK);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		const char *subject = (const char *)sqlite3_column_text(q, 1);
		int old_level = sqlite3_column_int(q, 2);
		int new_level = sqlite3_column_int(q, 3);
		uint64_t n = strtoull((const char *)sqlite3_column_text(q, 4), NULL, 10);

		assert_true(id > last_id);
		/* commit order is queue order */
		assert_true(rows == 0 || n > last_n);
		assert_int_equal(sscanf(subject, "crash-%d", &k), 1);
		assert_true(k == (int)(n % CRASH_SUBJECTS));
		assert_int_equal(new_level, (int)(n % 5));
		/* no committed change lost between two others of the same subject */
		assert_int_equal(old_level, chain_level[k]);
		chain_level[k] = new_level;
		check.newest_n[k] = (int64_t)n;
		check.newest_level[k] = new_level;
		last_id = id;
		last_n = n;
		rows++;
		if (nn == cap) {
			cap = cap ? cap * 2 : 1024;
			assert_non_null(tmp = realloc(ns, cap * sizeof(*ns)));
			ns = tmp;
		}
		ns[nn++] = n;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);

	for (i = 0; i < nreported; i++)
		if (bsearch(&reported[i], ns, nn, sizeof(*ns), u64_cmp) == NULL)
			fail_msg("n=%" PRIu64 " was reported done but is not in history",
			    reported[i]);

	assert_int_equal(store_load(st, crash_check_subject, &check), 0);
	assert_int_equal(check.bad, 0);
	for (k = 0; k < CRASH_SUBJECTS; k++)
		if (check.newest_n[k] >= 0)
			check.subjects--;
	assert_int_equal(check.subjects, 0);
	assert_int_equal(store_history_count(st), rows);
	free(ns);
	store_close(st);
}

static unsigned
crash_seed(void)
{
	const char *e = getenv("LAZARET_TEST_SEED");

	if (e != NULL)
		return (unsigned)strtoul(e, NULL, 10);
	return (unsigned)time(NULL) ^ (unsigned)getpid();
}

static void
test_crash(void **state)
{
	struct fixture *f = *state;
	uint64_t *reported = NULL, *tmp, buf[256];
	size_t nreported = 0, cap = 0, have = 0, whole, i;
	unsigned seed = crash_seed();
	int round, rounds = 24, p[2], wstatus;
	const char *e;
	ssize_t r;
	pid_t pid;

	if ((e = getenv("LAZARET_CRASH_ROUNDS")) != NULL)
		rounds = atoi(e);
	srandom(seed);
	print_message("crash test: seed %u (LAZARET_TEST_SEED), %d rounds\n", seed, rounds);

	for (round = 0; round < rounds; round++) {
		/* some rounds die while opening or recovering, most while writing */
		size_t target = round % 4 == 0 ? 0 : (size_t)(random() % 3000);
		size_t before = nreported, got = 0;
		bool killed = false;

		assert_int_equal(pipe(p), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			crash_child_run(f->path, (uint64_t)(round + 1) * 10000000u, p[1]);
		}
		close(p[1]);
		if (target == 0) {
			usleep((useconds_t)(random() % 20000));
			kill(pid, SIGKILL);
			killed = true;
		}
		for (;;) {
			r = read(p[0], (char *)buf + have, sizeof(buf) - have);
			if (r < 0 && errno == EINTR)
				continue;
			assert_true(r >= 0);
			if (r == 0)
				break;
			have += (size_t)r;
			whole = have / sizeof(buf[0]);
			if (nreported + whole > cap) {
				cap = (nreported + whole) * 2;
				assert_non_null(tmp = realloc(reported, cap * sizeof(*tmp)));
				reported = tmp;
			}
			for (i = 0; i < whole; i++)
				reported[nreported++] = buf[i];
			got += whole;
			have -= whole * sizeof(buf[0]);
			memmove(buf, &buf[whole], have);
			if (!killed && got >= target) {
				usleep((useconds_t)(random() % 3000));
				kill(pid, SIGKILL);
				killed = true;
			}
		}
		close(p[0]);
		assert_int_equal(have, 0);
		assert_int_equal(waitpid(pid, &wstatus, 0), pid);
		if (!WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL)
			fail_msg("crash child did not die by SIGKILL: status %d", wstatus);
		print_message("crash round %d: killed after %zu reported commits\n", round,
		    nreported - before);
		crash_verify(f->path, reported, nreported);
	}
	print_message("crash test: %zu commits reported over %d rounds, all found\n",
	    nreported, rounds);
	free(reported);
}

/*
 * The address journal: lookups that read the journal on top of the indexed history must
 * answer exactly what they answer once it is folded. Random Starts and Stops (times often
 * equal, Stops by the holder and by others) on IPv4 /32s and IPv6 /56s, in rounds: each
 * round's events are held in the journal and every address is looked up at every time
 * (and its history read), then the journal is folded and everything is asked again.
 */
#define JOURNAL_NETS 6
#define JOURNAL_ROUNDS 4
#define JOURNAL_EVENTS 60

static void
journal_net(int i, struct cidr *net)
{
	memset(net, 0, sizeof(*net));
	if (i % 2 == 0) {
		uint8_t v4[4] = { 100, 64, 0, (uint8_t)(10 + i) };
		net->addr.family = AF_INET;
		memcpy(net->addr.bytes, v4, 4);
		net->prefix = 32;
	} else {
		uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, (uint8_t)i };
		net->addr.family = AF_INET6;
		memcpy(net->addr.bytes, v6, 16);
		net->prefix = 56;
	}
}

static int
journal_history_line(void *arg, const struct store_binding *b)
{
	fprintf(arg, " [%.*s %s %" PRId64 "-%" PRId64 "]", (int)b->subscriber_len, b->subscriber, b->session,
	    (int64_t)b->start, (int64_t)b->stop);
	return 0;
}

/* Every lookup the store answers about the journal's addresses up to time `until`, as text. */
static char *
journal_snapshot(struct store *st, usec_t until)
{
	struct store_binding b;
	struct cidr net;
	size_t len;
	char *text = NULL;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	for (int i = 0; i < JOURNAL_NETS; i++) {
		journal_net(i, &net);
		for (usec_t t = 0; t <= until; t++) {
			int rc = store_binding_at(st, &net, t, &b);
			assert_true(rc == 0 || rc == 1);
			if (rc == 1)
				fprintf(out, "net %d at %" PRId64 ": %.*s %s %s %" PRId64 "-%" PRId64 "\n", i, (int64_t)t,
				    (int)b.subscriber_len, b.subscriber, b.session, b.source, (int64_t)b.start,
				    (int64_t)b.stop);
			else
				fprintf(out, "net %d at %" PRId64 ": nobody\n", i, (int64_t)t);
		}
		fprintf(out, "net %d newest 3:", i);
		assert_int_equal(store_binding_history(st, &net, 3, journal_history_line, out), 0);
		fprintf(out, "\nnet %d all:", i);
		assert_int_equal(store_binding_history(st, &net, 1000, journal_history_line, out), 0);
		fprintf(out, "\n");
	}
	fclose(out);
	return text;
}

static void
journal_compare(const char *held, const char *folded, int round)
{
	if (strcmp(held, folded) == 0)
		return;
	const char *a = held, *b = folded;
	while (*a != '\0' && *a == *b)
		a++, b++;
	while (a > held && a[-1] != '\n')
		a--, b--;
	fail_msg("round %d: the journal's answer differs from the folded history's:\n  journal: %.*s\n  folded:  %.*s",
	    round, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

static uint64_t journal_rng = 0x9e3779b97f4a7c15ull;

static unsigned
journal_random(unsigned n)
{
	journal_rng ^= journal_rng << 13;
	journal_rng ^= journal_rng >> 7;
	journal_rng ^= journal_rng << 17;
	return (unsigned)(journal_rng % n);
}

/* Waits (bounded) for the writer to fold the whole journal. */
static void
journal_wait_folded(struct store *st)
{
	struct store_stats ss;

	for (int i = 0; i < 500; i++) {
		store_flush(st);
		store_stats_get(st, &ss);
		if (ss.journal == 0)
			return;
		usleep(10000);
	}
	fail_msg("the journal was not folded in 5 s (%" PRIu64 " rows left)", ss.journal);
}

static void
journal_events(struct store *st, usec_t *t)
{
	struct store_binding b;
	struct cidr net;

	for (int e = 0; e < JOURNAL_EVENTS; e++) {
		char sub[16];
		*t += journal_random(3);           /* 0: the same time as the event before */
		journal_net((int)journal_random(JOURNAL_NETS), &net);
		snprintf(sub, sizeof(sub), "sub%u", journal_random(4));
		if (journal_random(3) != 0) {
			memset(&b, 0, sizeof(b));
			b.net = net;
			b.subscriber_len = strlen(sub);
			memcpy(b.subscriber, sub, b.subscriber_len);
			snprintf(b.session, sizeof(b.session), "s%d", e);
			snprintf(b.origin, sizeof(b.origin), "nas1");
			snprintf(b.source, sizeof(b.source), "radius");
			b.start = *t;
			b.new_length = e < 2;
			assert_int_equal(store_binding_open(st, &b, NULL, NULL), 0);
		} else
			assert_int_equal(store_binding_close(st, &net, sub, strlen(sub), *t, NULL, NULL), 0);
	}
	store_flush(st);
}

static int
journal_count_open(void *arg, const struct store_binding *b)
{
	(void)b;
	++*(int *)arg;
	return 0;
}

static void
test_binding_journal(void **state)
{
	struct fixture *f = *state;
	struct store_stats ss;
	struct store *st = open_store(f->path, NULL);
	usec_t t = 1;
	char *held, *folded;

	for (int round = 0; round < JOURNAL_ROUNDS; round++) {
		store_test_hold_fold(st, true);
		journal_events(st, &t);
		store_stats_get(st, &ss);
		assert_int_equal(ss.journal, JOURNAL_EVENTS);
		held = journal_snapshot(st, t + 1);
		store_test_hold_fold(st, false);
		journal_wait_folded(st);
		folded = journal_snapshot(st, t + 1);
		journal_compare(held, folded, round);
		free(held);
		free(folded);
	}
	store_stats_get(st, &ss);
	assert_int_equal(ss.journal_folded, JOURNAL_ROUNDS * JOURNAL_EVENTS);

	/* a journal left by a stop: read at the next start, folded when the open intervals are loaded */
	store_test_hold_fold(st, true);
	journal_events(st, &t);
	held = journal_snapshot(st, t + 1);
	store_close(st);
	/* left to store_bindings_load_open: held from the writer's start, which would fold it
	 * at once (a fresh Debian run's writer did, before a hold after the open) */
	store_test_hold_fold_at_open(true);
	st = open_store(f->path, NULL);
	store_test_hold_fold_at_open(false);
	store_stats_get(st, &ss);
	assert_int_equal(ss.journal, JOURNAL_EVENTS);
	folded = journal_snapshot(st, t + 1);
	journal_compare(held, folded, JOURNAL_ROUNDS);
	free(folded);
	int open = 0;
	/* a fold that fails (the disk) is an error, never the history's half of the answer */
	store_test_fail_next(st, 1);
	assert_int_equal(store_bindings_load_open(st, journal_count_open, &open), -EIO);
	assert_int_equal(open, 0);
	assert_int_equal(store_bindings_load_open(st, journal_count_open, &open), 0);
	store_stats_get(st, &ss);
	assert_int_equal(ss.journal, 0);
	assert_true(open > 0 && open <= JOURNAL_NETS);
	folded = journal_snapshot(st, t + 1);
	journal_compare(held, folded, JOURNAL_ROUNDS + 1);
	free(held);
	free(folded);

	/* texts longer than their fields are cut to fit, in the journal as in the history */
	char session[400], origin[100];
	struct cidr net;
	struct store_binding b;
	memset(session, 's', sizeof(session) - 1);
	session[sizeof(session) - 1] = '\0';
	memset(origin, 'o', sizeof(origin) - 1);
	origin[sizeof(origin) - 1] = '\0';
	journal_net(0, &net);
	for (int fold = 0; fold < 2; fold++) {
		store_test_hold_fold(st, fold == 0);
		if (fold == 0)
			assert_int_equal(store_binding_open_event(st, &net, "long", 4, session, origin, "radius", t + 10,
			    false, NULL, NULL), 0);
		else
			journal_wait_folded(st);
		store_flush(st);
		assert_int_equal(store_binding_at(st, &net, t + 10, &b), 1);
		assert_int_equal(strlen(b.session), STORE_SESSION_MAX - 1);
		assert_int_equal(strlen(b.origin), STORE_ORIGIN_MAX - 1);
		assert_string_equal(b.source, "radius");
	}
	store_close(st);
}

/* ---- the outbox (store_outbox.c): the changes this node owes the shared store ---- */

struct outbox_rows {
	size_t n, stop_at;
	int64_t seq[64];
	usec_t at[64];
	char subject[64][64];
	char body[64][128];
	char kind[64][16];
};

static int
outbox_collect(void *arg, const struct store_outbox_row *r)
{
	struct outbox_rows *o = arg;

	assert_true(o->n < 64);
	o->seq[o->n] = r->node_seq;
	o->at[o->n] = r->at;
	snprintf(o->subject[o->n], sizeof(o->subject[0]), "%s", r->subject);
	snprintf(o->body[o->n], sizeof(o->body[0]), "%s", r->body);
	snprintf(o->kind[o->n], sizeof(o->kind[0]), "%s", r->kind);
	o->n++;
	return o->n == o->stop_at;
}

static int
outbox_read(struct store *st, int64_t after, size_t max, size_t stop_at, struct outbox_rows *o)
{
	memset(o, 0, sizeof(*o));
	o->stop_at = stop_at;
	return store_outbox_read(st, after, max, outbox_collect, o);
}

/* One verdict with its outbox row: subject name, body "change-i". */
static int
outbox_put(struct store *st, const char *name, int i, store_done_cb done, void *arg)
{
	struct store_subject s;
	struct store_history h;
	char body[32];

	subject_init(&s, name, 3);
	s.updated = 1000 + i;
	history_init(&h, 1000 + i, 0, 3, "judge", "outbox");
	snprintf(body, sizeof(body), "{\"change\":%d}", i);
	return store_put_outbox(st, &s, &h, "verdict", body, done, arg);
}

static void
outbox_counts(struct store *st, int64_t want_pending, int64_t want_last)
{
	int64_t pending = -1, last = -1;

	assert_int_equal(store_outbox_count(st, &pending, &last), 0);
	if (pending != want_pending || last != want_last)
		fail_msg("outbox: pending %" PRId64 " last %" PRId64 ", want %" PRId64 " and %" PRId64, pending, last,
		    want_pending, want_last);
}

/* Each done callback's turn among all of them, and its status. */
struct turn {
	int *clock;
	int at;
	int status;
};

static void
turn_done(void *arg, int status)
{
	struct turn *t = arg;

	t->at = ++*t->clock;
	t->status = status;
}

static void
plain_put(struct store *st, const char *name, int level, bool history, struct turn *t)
{
	struct store_subject s;
	struct store_history h;

	subject_init(&s, name, level);
	history_init(&h, 500, 0, level, "judge@other", "applied");
	assert_int_equal(store_put(st, &s, history ? &h : NULL, t != NULL ? turn_done : NULL, t), 0);
}

/*
 * A verdict with its outbox row is not written behind the writes queued before it: it
 * commits first, on its own; the writes of the same subject queued before it then leave
 * the subject's row alone (a put, a rate update, a forget), their history still written;
 * everything queued after it comes after it; store_flush still waits for all of it.
 */
static void
test_outbox_goes_first(void **state)
{
	struct fixture *f = *state;
	struct turn ta = { 0 }, tz = { 0 }, tx = { 0 }, ty = { 0 }, tw = { 0 }, tv = { 0 }, tv_out = { 0 };
	const struct store_subject *got;
	struct store_stats stats;
	struct histories *hs;
	struct loaded *l;
	struct store *st;
	int clock = 0;

	ta.clock = tz.clock = tx.clock = ty.clock = tw.clock = tv.clock = tv_out.clock = &clock;
	st = open_store(f->path, NULL);
	store_test_hold_writes(st, true);
	plain_put(st, "192.0.2.10", 1, true, &ta);         /* X: another node's verdict, applied */
	struct store_rate r = { .subject = "192.0.2.10", .subject_len = 10, .level = 1, .rate_tat = { 7, 7 } };
	assert_int_equal(store_put_rates(st, &r, 1), 0);
	plain_put(st, "192.0.2.11", 2, false, NULL);       /* Y: a checkpoint, then forgotten */
	assert_int_equal(store_forget(st, "192.0.2.11"), 0);
	plain_put(st, "192.0.2.12", 2, false, &tz);        /* Z: nothing to do with the verdicts */
	assert_int_equal(outbox_put(st, "192.0.2.10", 1, turn_done, &tx), 0);
	assert_int_equal(outbox_put(st, "192.0.2.11", 2, turn_done, &ty), 0);
	assert_int_equal(outbox_put(st, "192.0.2.13", 3, turn_done, &tw), 0);
	plain_put(st, "192.0.2.13", 0, false, NULL);       /* W: a write after its verdict */
	store_stats_get(st, &stats);
	assert_int_equal(stats.queued, 9);
	store_test_hold_writes(st, false);
	store_flush(st);

	/* the verdicts first, in their order; then the rest, in theirs */
	assert_int_equal(tx.at, 1);
	assert_int_equal(ty.at, 2);
	assert_int_equal(tw.at, 3);
	assert_int_equal(ta.at, 4);
	assert_int_equal(tz.at, 5);
	assert_true(tx.status == 0 && ta.status == 0 && tz.status == 0);
	store_stats_get(st, &stats);
	assert_int_equal(stats.queued, 0);

	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_non_null(got = loaded_find(l, "192.0.2.10"));
	assert_int_equal(got->level, 3);                   /* not the older put's 1 */
	assert_true(got->rate_tat[0] == 0);                /* nor the older rates */
	assert_non_null(got = loaded_find(l, "192.0.2.11"));
	assert_int_equal(got->level, 3);                   /* not forgotten after its verdict */
	assert_non_null(got = loaded_find(l, "192.0.2.12"));
	assert_int_equal(got->level, 2);
	assert_non_null(got = loaded_find(l, "192.0.2.13"));
	assert_int_equal(got->level, 0);                   /* the later write is the newer */
	/* the overtaken put's history entry is there too, written after the verdict's (the
	 * history is in the order written; each entry has its own time) */
	assert_non_null(hs = calloc(1, sizeof(*hs)));
	assert_int_equal(store_history_read(st, "192.0.2.10", 10, collect_history, hs), 0);
	assert_int_equal(hs->n, 2);
	assert_string_equal(hs->h[0].actor, "judge");
	assert_string_equal(hs->h[1].actor, "judge@other");
	assert_true(hs->h[1].time < hs->h[0].time);
	outbox_counts(st, 3, 3);

	/* a verdict whose commit fails went nowhere: the write queued before it is the row */
	store_test_hold_writes(st, true);
	plain_put(st, "192.0.2.14", 1, false, &tv);
	assert_int_equal(outbox_put(st, "192.0.2.14", 4, turn_done, &tv_out), 0);
	store_test_fail_next(st, 1);
	store_test_hold_writes(st, false);
	store_flush(st);
	assert_int_equal(tv_out.status, -EIO);
	assert_int_equal(tv.status, 0);
	assert_true(tv_out.at < tv.at);
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_non_null(got = loaded_find(l, "192.0.2.14"));
	assert_int_equal(got->level, 1);
	outbox_counts(st, 3, 3);

	/* once everything overtaken is written, a subject's writes go as they come again */
	plain_put(st, "192.0.2.10", 2, false, NULL);
	store_flush(st);
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_non_null(got = loaded_find(l, "192.0.2.10"));
	assert_int_equal(got->level, 2);
	free(hs);
	free(l);
	store_close(st);
}

/* The subject row, its history and the outbox row commit together, or none of them does. */
static void
test_outbox_put(void **state)
{
	struct fixture *f = *state;
	struct outbox_rows o;
	struct fail_ctx a, b;
	struct loaded *l;
	struct store *st;
	int n = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.main_thread = b.main_thread = pthread_self();
	st = open_store(f->path, NULL);
	outbox_counts(st, 0, 0);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 0);

	/* no kind, an empty one, no body: refused before anything is queued */
	struct store_subject s;
	subject_init(&s, "192.0.2.1", 3);
	assert_int_equal(store_put_outbox(st, &s, NULL, NULL, "{}", NULL, NULL), -EINVAL);
	assert_int_equal(store_put_outbox(st, &s, NULL, "", "{}", NULL, NULL), -EINVAL);
	assert_int_equal(store_put_outbox(st, &s, NULL, "verdict", NULL, NULL, NULL), -EINVAL);

	assert_int_equal(outbox_put(st, "192.0.2.1", 1, fail_done, &a), 0);
	store_flush(st);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 1);
	assert_int_equal(o.seq[0], 1);
	assert_true(o.at[0] == 1001);
	assert_string_equal(o.kind[0], "verdict");
	assert_string_equal(o.subject[0], "192.0.2.1");
	assert_string_equal(o.body[0], "{\"change\":1}");
	assert_int_equal(store_history_count(st), 1);
	outbox_counts(st, 1, 1);

	/* a commit that fails leaves none of the three, and its number is not spent */
	store_test_fail_next(st, 1);
	assert_int_equal(outbox_put(st, "192.0.2.2", 2, fail_done, &b), 0);
	store_flush(st);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.status, -EIO);
	assert_non_null(l = calloc(1, sizeof(*l)));
	assert_int_equal(store_load(st, collect_subject, l), 0);
	assert_int_equal(l->n, 1);
	assert_null(loaded_find(l, "192.0.2.2"));
	assert_int_equal(store_history_count(st), 1);
	assert_int_equal(store_history_read(st, "192.0.2.2", 10, count_history, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 1);
	outbox_counts(st, 1, 1);

	assert_int_equal(outbox_put(st, "192.0.2.3", 3, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 2);
	assert_int_equal(o.seq[1], 2);
	assert_string_equal(o.subject[1], "192.0.2.3");
	assert_int_equal(store_history_count(st), 2);
	outbox_counts(st, 2, 2);
	/* a plain store_put adds no outbox row */
	subject_init(&s, "192.0.2.4", 1);
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);
	outbox_counts(st, 2, 2);
	free(l);
	store_close(st);
}

/* Rows after a given node_seq, in order, at most max; each()'s non-zero value stops it. */
static void
test_outbox_read(void **state)
{
	struct fixture *f = *state;
	struct outbox_rows o;
	struct store *st;

	st = open_store(f->path, NULL);
	/* from several subjects, in one group commit and in several */
	for (int i = 1; i <= 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "192.0.2.%d", 21 - i);
		assert_int_equal(outbox_put(st, name, i, NULL, NULL), 0);
		if (i % 7 == 0)
			store_flush(st);
	}
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 20);
	for (size_t i = 0; i < 20; i++) {
		char body[32];
		assert_int_equal(o.seq[i], (int64_t)i + 1);
		snprintf(body, sizeof(body), "{\"change\":%zu}", i + 1);
		assert_string_equal(o.body[i], body);
	}
	assert_int_equal(outbox_read(st, 13, 100, 0, &o), 7);
	assert_int_equal(o.seq[0], 14);
	assert_int_equal(o.seq[6], 20);
	assert_int_equal(outbox_read(st, 5, 3, 0, &o), 3);
	assert_int_equal(o.seq[0], 6);
	assert_int_equal(o.seq[2], 8);
	assert_int_equal(outbox_read(st, 20, 100, 0, &o), 0);
	assert_int_equal(outbox_read(st, 0, 0, 0, &o), 0);
	/* stopped at the fourth: four handed over, no fifth */
	assert_int_equal(outbox_read(st, 2, 100, 4, &o), 4);
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[3], 6);
	/* a read that fails is an error, not an empty outbox */
	store_test_fail_reads(st, 1);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), -EIO);
	assert_int_equal(o.n, 0);
	store_close(st);
}

/* Marked pushed, kept STORE_OUTBOX_KEEP, then deleted; numbers never given twice. */
static void
test_outbox_pushed(void **state)
{
	struct fixture *f = *state;
	struct outbox_rows o;
	struct store *st;
	const usec_t now = 1764900000000000;

	st = open_store(f->path, NULL);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(outbox_put(st, "192.0.2.9", i, NULL, NULL), 0);
	store_flush(st);
	outbox_counts(st, 5, 5);
	assert_int_equal(store_outbox_pushed(st, 3, now), 0);
	store_flush(st);
	outbox_counts(st, 2, 5);
	/* pushed rows stay readable: a standby promoted without them gets them again */
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 5);
	/* marked again later: the first mark's time counts */
	assert_int_equal(store_outbox_pushed(st, 3, now + STORE_OUTBOX_KEEP / 2), 0);
	/* at exactly STORE_OUTBOX_KEEP they are kept */
	assert_int_equal(store_outbox_pushed(st, 4, now + STORE_OUTBOX_KEEP), 0);
	store_flush(st);
	outbox_counts(st, 1, 5);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 5);
	/* past it they go; the row pushed since stays */
	assert_int_equal(store_outbox_pushed(st, 4, now + STORE_OUTBOX_KEEP + 1), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 2);
	assert_int_equal(o.seq[0], 4);
	assert_int_equal(o.seq[1], 5);
	outbox_counts(st, 1, 5);
	assert_int_equal(store_outbox_pushed(st, 5, now + 3 * STORE_OUTBOX_KEEP), 0);
	store_flush(st);
	outbox_counts(st, 0, 5);
	/* the row just marked stays its while, the older one went */
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 1);
	assert_int_equal(o.seq[0], 5);
	assert_int_equal(store_outbox_pushed(st, 5, now + 5 * STORE_OUTBOX_KEEP), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 0);

	/* every row deleted: the next is 6, not 1 (AUTOINCREMENT), and so after a reopen */
	assert_int_equal(outbox_put(st, "192.0.2.9", 6, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 1);
	assert_int_equal(o.seq[0], 6);
	assert_int_equal(store_outbox_pushed(st, 6, now + 4 * STORE_OUTBOX_KEEP), 0);
	assert_int_equal(store_outbox_pushed(st, 6, now + 6 * STORE_OUTBOX_KEEP), 0);
	store_close(st);
	st = open_store(f->path, NULL);
	outbox_counts(st, 0, 6);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 0);
	assert_int_equal(outbox_put(st, "192.0.2.9", 7, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 1);
	assert_int_equal(o.seq[0], 7);
	outbox_counts(st, 1, 7);
	store_close(st);
}

/*
 * A store of an earlier version marked each pushed row (outbox.pushed, with two indexes):
 * converted at open into a push row per marked row, the marks and the indexes gone; each row
 * still goes STORE_OUTBOX_KEEP after its own push, and the unmarked ones are pending.
 */
static void
test_outbox_marked_rows(void **state)
{
	struct fixture *f = *state;
	struct outbox_rows o;
	struct store *st;
	const usec_t now = 1764900000000000;
	char sql[512];

	st = open_store(f->path, NULL);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(outbox_put(st, "192.0.2.9", i, NULL, NULL), 0);
	store_flush(st);
	store_close(st);
	/* as the earlier version left them: 1 and 2 pushed at now, 3 at now + KEEP, 4 and 5 not */
	snprintf(sql, sizeof(sql), "DROP TABLE outbox_pushes;"
	    "CREATE INDEX outbox_unpushed ON outbox (node_seq) WHERE pushed = 0;"
	    "CREATE INDEX outbox_pushed ON outbox (pushed) WHERE pushed != 0;"
	    "UPDATE outbox SET pushed = %lld WHERE node_seq <= 2;"
	    "UPDATE outbox SET pushed = %lld WHERE node_seq = 3;", (long long)now, (long long)(now + STORE_OUTBOX_KEEP));
	raw_exec(f->path, sql);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE pushed != 0"), 3);

	st = open_store(f->path, NULL);
	outbox_counts(st, 2, 5);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox WHERE pushed != 0"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('outbox_unpushed', 'outbox_pushed')"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox_pushes"), 3);
	/* a push of 4 just after KEEP: 1 and 2 go, 3 (pushed later) stays */
	assert_int_equal(store_outbox_pushed(st, 4, now + STORE_OUTBOX_KEEP + 1), 0);
	store_flush(st);
	outbox_counts(st, 1, 5);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 3);
	assert_int_equal(o.seq[0], 3);
	/* opened again: nothing converted twice, the pushes of the rows gone are gone too */
	store_close(st);
	st = open_store(f->path, NULL);
	outbox_counts(st, 1, 5);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox_pushes"), 2);
	assert_int_equal(store_outbox_pushed(st, 5, now + 2 * STORE_OUTBOX_KEEP + 1), 0);
	store_flush(st);
	outbox_counts(st, 0, 5);
	/* 3 went; 4 (pushed at exactly KEEP before) and 5 stay their while */
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 2);
	assert_int_equal(o.seq[0], 4);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM outbox_pushes"), 2);
	store_close(st);
}

/* A local store newer than the shared store's record: its rows moved above floor, in order. */
static void
test_outbox_renumber(void **state)
{
	struct fixture *f = *state;
	struct outbox_rows o;
	struct store *st;

	st = open_store(f->path, NULL);
	assert_int_equal(store_outbox_renumber(st, -1), -EINVAL);
	/* an outbox that never had a row: numbering starts above floor */
	assert_int_equal(store_outbox_renumber(st, 50), 0);
	outbox_counts(st, 0, 50);
	assert_int_equal(outbox_put(st, "192.0.2.1", 1, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 1);
	assert_int_equal(o.seq[0], 51);

	/* rows 51..55, 51 and 52 pushed and gone: the rest moved above 1000 */
	for (int i = 2; i <= 5; i++)
		assert_int_equal(outbox_put(st, "192.0.2.1", i, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(store_outbox_pushed(st, 52, 1), 0);
	assert_int_equal(store_outbox_pushed(st, 52, 2 + STORE_OUTBOX_KEEP), 0);
	store_flush(st);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 3);
	/* and 53 pushed, still kept: the shared store has it as 53, it stays 53 */
	assert_int_equal(store_outbox_pushed(st, 53, 3 + STORE_OUTBOX_KEEP), 0);
	assert_int_equal(store_outbox_renumber(st, 1000), 0);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 3);
	assert_int_equal(o.seq[0], 53);
	assert_string_equal(o.body[0], "{\"change\":3}");
	for (size_t i = 1; i < 3; i++) {
		char body[32];
		assert_true(o.seq[i] > 1000);
		if (i > 1)
			assert_true(o.seq[i] > o.seq[i - 1]);
		snprintf(body, sizeof(body), "{\"change\":%zu}", i + 3);
		assert_string_equal(o.body[i], body);
	}
	/* what the sync thread pushes next: the two moved, not the pushed one again */
	assert_int_equal(outbox_read(st, 1000, 100, 0, &o), 2);
	int64_t top = o.seq[1];
	outbox_counts(st, 2, top);
	/* the next insert continues above, across a reopen too */
	assert_int_equal(outbox_put(st, "192.0.2.1", 6, NULL, NULL), 0);
	store_flush(st);
	store_close(st);
	st = open_store(f->path, NULL);
	assert_int_equal(outbox_read(st, top, 100, 0, &o), 1);
	assert_int_equal(o.seq[0], top + 1);
	assert_string_equal(o.body[0], "{\"change\":6}");
	outbox_counts(st, 3, top + 1);
	/* a floor below what was given changes nothing */
	assert_int_equal(store_outbox_renumber(st, 0), 0);
	assert_int_equal(outbox_read(st, 0, 100, 0, &o), 4);
	assert_int_equal(o.seq[0], 53);
	assert_int_equal(o.seq[1], top - 1);
	outbox_counts(st, 3, top + 1);
	store_close(st);
}

/* What the hook saw: the highest node_seq in the file, read by a connection of its own. */
struct hook_ctx {
	const char *path;
	pthread_mutex_t mu;
	size_t n;
	int64_t seen[16];
};

static void
outbox_hook(void *arg)
{
	struct hook_ctx *h = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t seen = -1;

	/* another connection sees the row only once it is committed */
	if (sqlite3_open_v2(h->path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT coalesce(max(node_seq), 0) FROM outbox", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		seen = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	pthread_mutex_lock(&h->mu);
	if (h->n < 16)
		h->seen[h->n] = seen;
	h->n++;
	pthread_mutex_unlock(&h->mu);
}

/* The hook runs on the writer thread after store_flush has returned: wait for its n-th call. */
static size_t
hook_wait(struct hook_ctx *h, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(&h->mu);
		got = h->n;
		pthread_mutex_unlock(&h->mu);
		if (got >= n)
			break;
		usleep(1000);
	}
	return got;
}

static void
test_outbox_hook(void **state)
{
	struct fixture *f = *state;
	struct hook_ctx h = { .path = f->path, .mu = PTHREAD_MUTEX_INITIALIZER };
	struct store_subject s;
	struct store *st;

	st = open_store(f->path, NULL);
	store_set_outbox_hook(st, outbox_hook, &h);
	/* a commit without outbox rows: no call */
	subject_init(&s, "192.0.2.1", 1);
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);
	/* with one: a call, the row committed by then */
	assert_int_equal(outbox_put(st, "192.0.2.1", 1, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(hook_wait(&h, 1), 1);
	/* a plain put, state and rates between, then a failed commit with an outbox row: no call */
	assert_int_equal(store_put(st, &s, NULL, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(store_state_put(st, "k", "v"), 0);
	store_flush(st);
	store_test_fail_next(st, 1);
	assert_int_equal(outbox_put(st, "192.0.2.2", 2, NULL, NULL), 0);
	store_flush(st);
	/* the next committed one: the calls come in order, so had any of these called, this is the third */
	assert_int_equal(outbox_put(st, "192.0.2.3", 3, NULL, NULL), 0);
	store_flush(st);
	assert_int_equal(hook_wait(&h, 2), 2);
	/* several rows in one group commit: at least one call, after all of them */
	for (int i = 4; i <= 8; i++)
		assert_int_equal(outbox_put(st, "192.0.2.4", i, NULL, NULL), 0);
	store_flush(st);
	/* and none once the hook is taken away */
	store_set_outbox_hook(st, NULL, NULL);
	assert_int_equal(outbox_put(st, "192.0.2.5", 9, NULL, NULL), 0);
	store_flush(st);
	store_close(st);
	pthread_mutex_lock(&h.mu);
	assert_true(h.n >= 3 && h.n <= 2 + 5);
	assert_int_equal(h.seen[0], 1);
	assert_int_equal(h.seen[1], 2);
	assert_int_equal(h.seen[h.n - 1], 7);
	pthread_mutex_unlock(&h.mu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_evidence_replaced, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_put_rates, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_manual_self_release, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_history_order_limit, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_history_survives_forget, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_done_on_loop, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_wal_checkpoint_when_quiet, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bench_100k, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reopen, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_state_values, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_schema_refused, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_evidence_damaged, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_open_refusals, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_open_read_only, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_read_faults, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_binding_journal, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_put, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_goes_first, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_read, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_pushed, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_renumber, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_marked_rows, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_hook, fixture_setup, fixture_teardown),
	};

	/* e.g. LAZARET_TEST_FILTER=test_bench_100k to run one test */
	if (getenv("LAZARET_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("LAZARET_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
