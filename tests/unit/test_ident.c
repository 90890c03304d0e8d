/*
 * test_ident.c — who held an address when (src/ident): interval bookkeeping with
 * injected time, in memory and through a real store in a temporary directory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/addr.h"
#include "ident/ident.h"
#include "store/store.h"

#define T0 ((usec_t)1764000000 * USEC_PER_SEC)
#define S(n) ((usec_t)(n) * USEC_PER_SEC)

static struct cidr
net_of(const char *text)
{
	struct cidr n;
	assert_int_equal(cidr_parse(text, &n), 0);
	return n;
}

static struct addr
addr_of(const char *text)
{
	struct addr a;
	assert_int_equal(addr_parse(text, strlen(text), &a), 0);
	return a;
}

static int
start(struct ident *id, const char *sub, const char *net, usec_t at, const char *session)
{
	struct ident_event e = { .start = true, .net = net_of(net), .subscriber = sub, .subscriber_len = strlen(sub),
		.session = session, .session_len = session ? strlen(session) : 0, .origin = "bng1",
		.source = IDENT_RADIUS, .at = at };
	return ident_apply(id, &e);
}

static int
stop(struct ident *id, const char *sub, const char *net, usec_t at)
{
	struct ident_event e = { .start = false, .net = net_of(net), .subscriber = sub, .subscriber_len = strlen(sub),
		.origin = "bng1", .source = IDENT_RADIUS, .at = at };
	return ident_apply(id, &e);
}

/* The holder's id at `at` as a string, "" for nobody. */
static const char *
who(struct ident *id, const char *addr, usec_t at)
{
	static char buf[IDENT_ID_MAX + 1];
	struct ident_holder h;
	struct addr a = addr_of(addr);
	int rc = ident_who(id, &a, at, &h);

	assert_true(rc >= 0);
	if (rc == 0)
		return "";
	snprintf(buf, sizeof(buf), "%.*s", (int)h.subscriber_len, h.subscriber);
	/* the hot path agrees */
	size_t len;
	const char *fast = ident_holder_id(id, &a, at, &len);
	assert_non_null(fast);
	assert_int_equal(len, h.subscriber_len);
	assert_memory_equal(fast, h.subscriber, len);
	return buf;
}

/* Start, Stop, Start elsewhere; the address to someone else: each time answered right. */
static void
test_start_stop_move(void **state)
{
	(void)state;
	struct ident *id = ident_new(NULL);
	ident_load(id, T0);

	assert_int_equal(start(id, "alice", "100.64.0.10/32", T0 + S(10), "s1"), 0);
	assert_string_equal(who(id, "100.64.0.10", T0 + S(5)), "");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(10)), "alice");
	assert_int_equal(stop(id, "alice", "100.64.0.10/32", T0 + S(100)), 0);
	assert_int_equal(start(id, "alice", "100.64.0.20/32", T0 + S(101), "s2"), 0);
	assert_int_equal(start(id, "bob", "100.64.0.10/32", T0 + S(102), "s3"), 0);

	assert_string_equal(who(id, "100.64.0.10", T0 + S(99)), "alice");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(100)), "");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(101)), "");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(102)), "bob");
	assert_string_equal(who(id, "100.64.0.20", T0 + S(102)), "alice");
	assert_string_equal(who(id, "100.64.0.20", T0 + S(50)), "");

	struct cidr nets[4];
	assert_int_equal(ident_networks(id, "alice", 5, nets, 4), 1);
	char text[ADDR_TEXT_MAX];
	assert_string_equal(cidr_format(&nets[0], text, sizeof(text)), "100.64.0.20/32");
	struct ident_holder h;
	assert_true(ident_session(id, "alice", 5, &h));
	assert_string_equal(h.session, "s2");
	assert_string_equal(h.origin, "bng1");

	struct ident_stats st;
	ident_stats_get(id, &st);
	assert_int_equal(st.starts, 3);
	assert_int_equal(st.stops, 1);
	assert_int_equal(st.bound, 2);
	assert_int_equal(st.subscribers, 2);
	ident_free(id);
}

/* A missing Stop: the next Start on the address takes it over; the old holder keeps the
 * time before. A late Start older than the holder's is stale; a Stop by a non-holder
 * changes nothing. */
static void
test_missing_stop_and_stale(void **state)
{
	(void)state;
	struct ident *id = ident_new(NULL);
	ident_load(id, T0);

	start(id, "alice", "100.64.0.10/32", T0 + S(10), "s1");
	start(id, "bob", "100.64.0.10/32", T0 + S(20), "s2");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(15)), "alice");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(25)), "bob");
	assert_int_equal(ident_networks(id, "alice", 5, NULL, 0), 0);

	start(id, "carol", "100.64.0.10/32", T0 + S(18), "s3");      /* older than bob's: stale */
	assert_string_equal(who(id, "100.64.0.10", T0 + S(25)), "bob");
	stop(id, "alice", "100.64.0.10/32", T0 + S(30));              /* alice no longer holds it */
	assert_string_equal(who(id, "100.64.0.10", T0 + S(35)), "bob");

	struct ident_stats st;
	ident_stats_get(id, &st);
	assert_int_equal(st.moves, 1);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.unknown_stops, 1);
	ident_free(id);
}

/* An IPv6 delegated prefix: every address inside resolves to its holder; a longer framed
 * prefix held by someone else wins inside it. */
static void
test_prefixes(void **state)
{
	(void)state;
	struct ident *id = ident_new(NULL);
	ident_load(id, T0);

	start(id, "alice", "2001:db8:100::/56", T0 + S(1), NULL);
	start(id, "bob", "2001:db8:100:ff::/64", T0 + S(1), NULL);
	assert_string_equal(who(id, "2001:db8:100:12::", T0 + S(2)), "alice");
	assert_string_equal(who(id, "2001:db8:100:12::99", T0 + S(2)), "alice");
	assert_string_equal(who(id, "2001:db8:100:ff::", T0 + S(2)), "bob");
	assert_string_equal(who(id, "2001:db8:101::", T0 + S(2)), "");
	/* a host address in a /64 of the prefix, an IPv4 of nobody */
	assert_string_equal(who(id, "100.64.0.1", T0 + S(2)), "");
	/* an address passed with host bits (masked by ident) */
	assert_int_equal(start(id, "carol", "100.64.1.0/24", T0 + S(3), NULL), 0);
	assert_string_equal(who(id, "100.64.1.77", T0 + S(4)), "carol");
	ident_free(id);
}

static int changes;
static char last_change[64];

static void
on_change(void *arg, const char *sub, size_t len, const struct cidr *net, bool held)
{
	char text[ADDR_TEXT_MAX];
	struct ident *id = arg;
	changes++;
	if (held) {
		/* the observer sees the session whole: its NAS and session are set before it is told */
		struct ident_holder h;
		assert_true(ident_session(id, sub, len, &h));
		assert_true(h.origin[0] != '\0');
	}
	snprintf(last_change, sizeof(last_change), "%c%.*s %s", held ? '+' : '-', (int)len, sub,
	    cidr_format(net, text, sizeof(text)));
}

/* Leases lapse at their expiry (before the sweep ends them too); a NAS's Accounting-On
 * ends its sessions; the observer hears every change of what is held now. */
static void
test_expiry_origin_observer(void **state)
{
	(void)state;
	struct ident *id = ident_new(NULL);
	ident_load(id, T0);
	ident_set_observer(id, on_change, id);

	struct ident_event e = { .start = true, .net = net_of("100.64.2.5/32"), .subscriber = "01:aa",
		.subscriber_len = 5, .origin = "kea", .source = IDENT_DHCP4, .at = T0 + S(1), .expires = T0 + S(61) };
	assert_int_equal(ident_apply(id, &e), 0);
	assert_string_equal(last_change, "+01:aa 100.64.2.5/32");
	assert_string_equal(who(id, "100.64.2.5", T0 + S(60)), "01:aa");
	assert_string_equal(who(id, "100.64.2.5", T0 + S(61)), "");
	/* a renewal pushes the expiry */
	e.at = T0 + S(31);
	e.expires = T0 + S(91);
	assert_int_equal(ident_apply(id, &e), 0);
	assert_string_equal(who(id, "100.64.2.5", T0 + S(80)), "01:aa");
	ident_sweep(id, T0 + S(100), 0);
	assert_string_equal(last_change, "-01:aa 100.64.2.5/32");
	assert_string_equal(who(id, "100.64.2.5", T0 + S(80)), "01:aa");   /* the time before is kept */
	assert_string_equal(who(id, "100.64.2.5", T0 + S(95)), "");

	start(id, "alice", "100.64.0.10/32", T0 + S(10), "s1");
	start(id, "bob", "100.64.0.11/32", T0 + S(10), "s2");
	/* a new session on the same address is told (its NAS must hear of a quarantine again);
	 * an Interim-Update of the same session is not */
	int before = changes;
	start(id, "alice", "100.64.0.10/32", T0 + S(20), "s1");
	assert_int_equal(changes, before);
	start(id, "alice", "100.64.0.10/32", T0 + S(30), "s3");
	assert_int_equal(changes, before + 1);
	assert_string_equal(last_change, "+alice 100.64.0.10/32");
	before = changes;
	assert_int_equal(ident_end_origin(id, "bng1", T0 + S(200)), 2);
	assert_int_equal(changes, before + 2);
	assert_string_equal(who(id, "100.64.0.11", T0 + S(199)), "bob");
	assert_string_equal(who(id, "100.64.0.11", T0 + S(200)), "");
	assert_int_equal(ident_end_origin(id, "unknown-nas", T0 + S(200)), 0);
	ident_free(id);
}

/* Ids that cannot be a subscriber are refused; ids with odd bytes are kept as they are. */
static void
test_bad_events(void **state)
{
	(void)state;
	struct ident *id = ident_new(NULL);
	ident_load(id, T0);
	struct ident_event e = { .start = true, .net = net_of("100.64.0.10/32"), .subscriber = "a\0b",
		.subscriber_len = 3, .origin = "bng1", .at = T0 + S(1) };
	assert_int_equal(ident_apply(id, &e), -EINVAL);
	e.subscriber_len = 0;
	assert_int_equal(ident_apply(id, &e), -EINVAL);
	e.subscriber = "x";
	e.subscriber_len = IDENT_ID_MAX + 1;
	assert_int_equal(ident_apply(id, &e), -EINVAL);
	e.subscriber = "evil user=\"x\" host=1.2.3.4";
	e.subscriber_len = strlen(e.subscriber);
	assert_int_equal(ident_apply(id, &e), 0);
	assert_string_equal(who(id, "100.64.0.10", T0 + S(1)), "evil user=\"x\" host=1.2.3.4");
	ident_free(id);
}

/* The sweep a budget at a time: every lease that lapsed is ended and every entry memory no
 * longer needs is freed, over as many calls as the budget takes, none visited for good
 * twice in a pass; lookups give the same answers meanwhile. */
static void
test_sweep_in_steps(void **state)
{
	(void)state;
	struct ident *id = ident_new(NULL);
	char net[32], sub[16];
	ident_load(id, T0);
	for (int i = 0; i < 500; i++) {
		snprintf(net, sizeof(net), "100.64.%d.%d/32", i / 250, i % 250 + 1);
		snprintf(sub, sizeof(sub), "s%d", i);
		struct ident_event e = { .start = true, .subscriber = sub, .subscriber_len = strlen(sub), .origin = "kea",
			.source = IDENT_DHCP4, .at = T0 + S(1), .expires = T0 + S(i % 2 ? 100 : 10000) };
		assert_int_equal(cidr_parse(net, &e.net), 0);
		assert_int_equal(ident_apply(id, &e), 0);
	}
	struct ident_stats st;
	size_t calls = 0, seen = 0;
	do {
		seen = ident_sweep_some(id, T0 + S(200), 7);
		calls++;
	} while (seen == 7 && calls < 1000);
	ident_stats_get(id, &st);
	assert_int_equal(st.expired, 250);            /* every odd one lapsed at +100 s */
	assert_int_equal(st.bound, 250);
	assert_true(calls >= 500 / 7);
	assert_string_equal(who(id, "100.64.0.2", T0 + S(150)), "");     /* s1: lapsed */
	assert_string_equal(who(id, "100.64.0.2", T0 + S(50)), "s1");    /* before: still known */
	assert_string_equal(who(id, "100.64.0.1", T0 + S(150)), "s0");
	/* two hours on, the lapsed ones are forgotten (nothing of theirs after the horizon) */
	calls = 0;
	do {
		seen = ident_sweep_some(id, T0 + S(200 + 7200), 13);
		calls++;
	} while (seen == 13 && calls < 1000);
	assert_true(ident_memory(id) > 0);
	assert_string_equal(who(id, "100.64.0.2", T0 + S(7300)), "");
	assert_string_equal(who(id, "100.64.0.1", T0 + S(7300)), "s0");
	ident_free(id);
}

/* Counts history rows; the newest (first) is the open one. */
static int
count(void *arg, const struct store_binding *b)
{
	int *rows = arg;
	assert_true(b->subscriber_len > 0);
	if (*rows == 0)
		assert_true(b->stop == 0);        /* newest first: the open one */
	(*rows)++;
	return 0;
}

/* Through a real store: intervals survive a restart (the open ones back in memory), a
 * lookup older than memory is answered by the store, retention drops ended intervals. */
static void
test_store_round_trip(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_ident.XXXXXX", path[64], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/l.db", dir);

	struct store *st = store_open(path, NULL, err, sizeof(err));
	assert_non_null(st);
	struct ident *id = ident_new(st);
	assert_int_equal(ident_load(id, T0), 0);
	start(id, "alice", "100.64.0.10/32", T0 + S(10), "s1");
	stop(id, "alice", "100.64.0.10/32", T0 + S(100));
	start(id, "bob", "100.64.0.10/32", T0 + S(200), "s2");
	start(id, "alice", "2001:db8:100::/56", T0 + S(210), "s3");
	store_flush(st);
	ident_free(id);
	store_close(st);

	st = store_open_with(path, NULL, 0, err, sizeof(err));
	assert_non_null(st);
	id = ident_new(st);
	assert_int_equal(ident_load(id, T0 + S(1000)), 0);
	/* now: from memory, loaded */
	assert_string_equal(who(id, "100.64.0.10", T0 + S(1000)), "bob");
	assert_string_equal(who(id, "2001:db8:100:5::1", T0 + S(1000)), "alice");
	/* before memory: from the store */
	struct ident_stats s0, s1;
	ident_stats_get(id, &s0);
	assert_string_equal(who(id, "100.64.0.10", T0 + S(50)), "alice");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(150)), "");
	assert_string_equal(who(id, "100.64.0.10", T0 + S(5)), "");
	ident_stats_get(id, &s1);
	assert_true(s1.store_lookups > s0.store_lookups);

	/* the history, newest first */
	struct addr a = addr_of("100.64.0.10");
	int rows = 0;
	assert_int_equal(ident_history(id, &a, 10, count, &rows), 0);
	assert_int_equal(rows, 2);

	/* retention: alice's ended interval (ended at +100 s) goes with a retention of 500 s at +1000 s */
	ident_sweep(id, T0 + S(1000), S(500));
	store_flush(st);
	rows = 0;
	assert_int_equal(ident_history(id, &a, 10, count, &rows), 0);
	assert_int_equal(rows, 1);
	assert_string_equal(who(id, "100.64.0.10", T0 + S(50)), "");
	ident_free(id);
	store_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_stop_move),
		cmocka_unit_test(test_missing_stop_and_stale),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_expiry_origin_observer),
		cmocka_unit_test(test_bad_events),
		cmocka_unit_test(test_sweep_in_steps),
		cmocka_unit_test(test_store_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
