/*
 * test_garden.c — the daemon's side of enforcement on the logging backend (mode
 * none): the start-up setup carries the store's quarantines, committed level changes
 * become batches on the worker, bursts are batched, accounts and non-host prefixes
 * stay out, the stop applies what is queued. The same path against the real kernel
 * is tests/integration/test_garden.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ident_hold.h"
#include <uv.h>

#include "act/garden.h"
#include "ident/ident.h"
#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"

struct fx {
	uv_loop_t loop;
	struct config cfg;
	struct judge *j;
	struct garden *g;
	bool stopped;            /* the test called garden_stop itself */
	int actor_calls;
};

static void
observe(void *arg, const struct subject *s, int old_level, int new_level, const char *actor)
{
	struct fx *f = arg;

	(void)actor;
	f->actor_calls++;
	garden_level_changed(f->g, s, old_level, new_level);
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL || uv_loop_init(&f->loop) != 0)
		return -1;
	log_set_level(LOG_LEVEL_WARN);
	config_defaults(&f->cfg);
	snprintf(f->cfg.path, sizeof(f->cfg.path), "test.conf");
	if ((f->j = judge_new(&f->cfg, NULL)) == NULL || judge_configure(f->j, &f->cfg, err, sizeof(err)) != 0)
		return -1;
	*state = f;
	return 0;
}

static void
close_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f->g != NULL && !f->stopped)
		garden_stop(f->g);
	uv_walk(&f->loop, close_handle, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	garden_free(f->g);
	judge_free(f->j);
	config_free(&f->cfg);
	uv_loop_close(&f->loop);
	free(f);
	return 0;
}

static void
start(struct fx *f)
{
	char err[256];

	f->g = garden_new(&f->loop, &f->cfg, f->j, GARDEN_IN_PROCESS, err, sizeof(err));
	assert_non_null(f->g);
	assert_int_equal(garden_start(f->g, err, sizeof(err)), 0);
	judge_set_observer(f->j, observe, f);
}

/* Runs the loop until no change is queued or in flight (or fails after 5 s). */
static void
settle(struct fx *f)
{
	struct garden_stats gs;
	usec_t deadline = time_mono() + 5 * USEC_PER_SEC;

	for (;;) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		garden_stats_get(f->g, &gs);
		if (gs.pending == 0)
			return;
		if (time_mono() > deadline)
			fail_msg("the garden did not settle: %zu pending", gs.pending);
		uv_sleep(1);
	}
}

static struct subject *
quarantine(struct fx *f, const char *key)
{
	struct subject *s = judge_lookup_or_create(f->j, key, time_now());

	assert_non_null(s);
	assert_int_equal(judge_set_manual(f->j, s, LEVEL_QUARANTINE, 0, "test", "operator", NULL, NULL), 0);
	return s;
}

static void
test_start_carries_the_store(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;

	/* quarantined before the garden exists: as if loaded from the store */
	quarantine(f, "192.0.2.1");
	quarantine(f, "2001:db8:1:2::/64");
	quarantine(f, "account:mallory");
	start(f);
	assert_true(garden_enforced(f->g, "192.0.2.1"));
	assert_true(garden_enforced(f->g, "2001:db8:1:2::/64"));
	assert_false(garden_enforced(f->g, "account:mallory"));
	assert_false(garden_enforced(f->g, "192.0.2.2"));
	garden_stats_get(f->g, &gs);
	assert_string_equal(gs.backend, "none");
	assert_int_equal(gs.elements, 2);
	assert_int_equal(gs.batches, 1);          /* the setup, with both in it */
	assert_int_equal(gs.failures, 0);
}

static void
test_changes_follow_the_judge(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;

	start(f);
	struct subject *a = quarantine(f, "192.0.2.10");
	quarantine(f, "2001:db8:5::1");            /* its /64 */
	quarantine(f, "account:eve");
	settle(f);
	assert_true(garden_enforced(f->g, "192.0.2.10"));
	assert_true(garden_enforced(f->g, "2001:db8:5::/64"));
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 2);
	assert_int_equal(gs.elements_added, 2);
	assert_int_equal(gs.latency_count, gs.batches - 1);

	/* suspend from quarantine: still isolated, nothing to do */
	uint64_t batches = gs.batches;
	assert_int_equal(judge_set_manual(f->j, a, LEVEL_SUSPEND, 0, "worse", "operator", NULL, NULL), 0);
	settle(f);
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.batches, batches);

	/* a release takes it out */
	assert_int_equal(judge_release(f->j, a, "cleaned", "operator", NULL, NULL), 0);
	settle(f);
	assert_false(garden_enforced(f->g, "192.0.2.10"));
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 1);
	assert_int_equal(gs.elements_removed, 1);
}

/*
 * A host quarantined and released again before the garden's next batch (a burst of verdicts,
 * the shared store's feed) is a deletion in that batch, not an addition it would make after
 * its deletions, which left it in the kernel until the next rebuild; and one released and
 * quarantined again is an addition alone.
 */
static void
test_flap_in_one_batch(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;

	start(f);
	struct subject *b = quarantine(f, "192.0.2.21");
	settle(f);
	garden_stats_get(f->g, &gs);
	uint64_t added = gs.elements_added, removed = gs.elements_removed;

	quarantine(f, "192.0.2.30");            /* a batch in flight: what follows waits for the next */
	struct subject *a = quarantine(f, "192.0.2.20");
	assert_int_equal(judge_release(f->j, a, "a mistake", "operator", NULL, NULL), 0);
	assert_int_equal(judge_release(f->j, b, "cleaned", "operator", NULL, NULL), 0);
	quarantine(f, "192.0.2.21");
	settle(f);
	assert_false(garden_enforced(f->g, "192.0.2.20"));
	assert_true(garden_enforced(f->g, "192.0.2.21"));
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 2);
	assert_int_equal(gs.elements_added - added, 2);       /* .30, and .21 again, once */
	assert_int_equal(gs.elements_removed - removed, 1);   /* .20, never added */
}

/* A thousand verdicts at once become a handful of transactions, not a thousand. */
static void
test_burst_is_batched(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;
	char key[32];

	start(f);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "10.9.%d.%d", i / 250, i % 250 + 1);
		quarantine(f, key);
	}
	settle(f);
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 1000);
	assert_int_equal(gs.elements_added, 1000);
	assert_true(gs.batches <= 3);             /* setup, the first verdict, the other 999 */
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "10.9.%d.%d", i / 250, i % 250 + 1);
		assert_true(garden_enforced(f->g, key));
	}
}

/* Hosts wider than one address (host_prefix_v4 < 32) cannot be set elements. */
static void
test_network_subjects_stay_out(void **state)
{
	struct fx *f = *state;
	char err[256];
	struct garden_stats gs;

	f->cfg.limits.host_prefix_v4 = 24;
	assert_int_equal(judge_configure(f->j, &f->cfg, err, sizeof(err)), 0);
	start(f);
	quarantine(f, "192.0.2.0/24");
	settle(f);
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 0);
	assert_int_equal(gs.failures, 0);
}

/* What was committed just before a stop still reaches the backend. */
static void
test_stop_applies_the_queue(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;

	start(f);
	quarantine(f, "192.0.2.77");
	quarantine(f, "192.0.2.78");
	garden_stop(f->g);
	f->stopped = true;
	assert_true(garden_enforced(f->g, "192.0.2.77"));
	assert_true(garden_enforced(f->g, "192.0.2.78"));
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.pending, 0);
	assert_int_equal(gs.elements, 2);
}

/* A new ruleset (SIGHUP) is set up again with the quarantines in it. */
static void
test_reconfigure_sets_up_again(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;
	static struct config next;
	struct addr relay;

	start(f);
	quarantine(f, "192.0.2.90");
	settle(f);
	garden_stats_get(f->g, &gs);
	uint64_t rebuilds = gs.rebuilds;

	config_defaults(&next);
	assert_int_equal(addr_parse("192.0.2.25", 10, &relay), 0);
	next.network.relays = calloc(1, sizeof(relay));
	assert_non_null(next.network.relays);
	next.network.relays[0] = relay;
	next.network.relay_count = 1;
	garden_configure(f->g, &next);
	usec_t deadline = time_mono() + 5 * USEC_PER_SEC;
	do {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		uv_sleep(1);
		garden_stats_get(f->g, &gs);
	} while (gs.rebuilds == rebuilds && time_mono() < deadline);
	assert_int_equal(gs.rebuilds, rebuilds + 1);
	assert_true(garden_enforced(f->g, "192.0.2.90"));
	assert_int_equal(gs.elements, 1);
	garden_stop(f->g);
	f->stopped = true;
	uv_run(&f->loop, UV_RUN_NOWAIT);
	garden_free(f->g);
	f->g = NULL;
	config_free(&next);
}

static void
on_holder(void *arg, const char *sub, size_t len, const struct cidr *net, bool held)
{
	struct fx *f = arg;

	garden_holder_changed(f->g, sub, len, net, held);
}

/* a BNG's Start or Stop now */
#define session(id, start, sub, net) ident_hold((id), (start), (sub), (net), time_now())

/*
 * A quarantined subscriber's addresses are in the sets, and follow them: a reconnect
 * with a new address moves the element within a settle, the old address (handed to
 * another subscriber) leaves; a delegated /56 is its 256 /64s; a quarantine made on the
 * address before it was handed on does not stay with it; the garden's start carries the
 * subscribers' quarantines too.
 */
static void
test_subscriber_moves(void **state)
{
	struct fx *f = *state;
	struct garden_stats gs;
	struct ident *id = ident_new(NULL);

	assert_int_equal(ident_load(id, time_now() - USEC_PER_SEC), 0);
	judge_set_ident(f->j, id);
	session(id, true, "alice", "100.64.0.10/32");
	quarantine(f, "subscriber:alice");
	quarantine(f, "100.64.0.99");              /* nobody holds it yet */
	start(f);
	ident_set_observer(id, on_holder, f);
	assert_true(garden_enforced(f->g, "100.64.0.10"));
	assert_true(garden_enforced(f->g, "100.64.0.99"));

	session(id, false, "alice", "100.64.0.10/32");
	session(id, true, "alice", "100.64.0.20/32");
	session(id, true, "bob", "100.64.0.10/32");
	session(id, true, "carol", "100.64.0.99/32");   /* the address's old quarantine is not carol's */
	settle(f);
	assert_true(garden_enforced(f->g, "100.64.0.20"));
	assert_false(garden_enforced(f->g, "100.64.0.10"));
	assert_false(garden_enforced(f->g, "100.64.0.99"));

	session(id, true, "alice", "2001:db8:100::/56");
	settle(f);
	assert_true(garden_enforced(f->g, "2001:db8:100::/64"));
	assert_true(garden_enforced(f->g, "2001:db8:100:ff::/64"));
	assert_false(garden_enforced(f->g, "2001:db8:101::/64"));
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 1 + 256);

	/* a quarantined host nobody holds, inside a /56 a subscriber who is not quarantined then
	 * takes: it leaves the set while the prefix is his, and comes back when he stops */
	quarantine(f, "2001:db8:200:5::/64");
	settle(f);
	assert_true(garden_enforced(f->g, "2001:db8:200:5::/64"));
	session(id, true, "bob", "2001:db8:200::/56");
	settle(f);
	assert_false(garden_enforced(f->g, "2001:db8:200:5::/64"));
	session(id, false, "bob", "2001:db8:200::/56");
	settle(f);
	assert_true(garden_enforced(f->g, "2001:db8:200:5::/64"));
	assert_int_equal(judge_release(f->j, judge_lookup(f->j, "2001:db8:200:5::/64"), "test", "operator", NULL, NULL), 0);
	settle(f);
	assert_false(garden_enforced(f->g, "2001:db8:200:5::/64"));

	/* released: every address of hers leaves */
	assert_int_equal(judge_release(f->j, judge_lookup(f->j, "subscriber:alice"), "cleaned", "operator", NULL, NULL), 0);
	settle(f);
	garden_stats_get(f->g, &gs);
	assert_int_equal(gs.elements, 0);
	judge_set_ident(f->j, NULL);
	garden_stop(f->g);
	f->stopped = true;
	ident_free(id);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_start_carries_the_store),
		T(test_changes_follow_the_judge),
		T(test_flap_in_one_batch),
		T(test_burst_is_batched),
		T(test_network_subjects_stay_out),
		T(test_stop_applies_the_queue),
		T(test_reconfigure_sets_up_again),
		T(test_subscriber_moves),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
