/*
 * test_flowdetect.c — the flow detectors (sense/flowdetect.c) on synthetic flow records
 * with time injected, feeding a judge without a store: which records make a host, each
 * detector below and at its threshold with the exact summary an agent reads out, the
 * windows, the memory of quiet hosts and the cap on hosts.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "judge/subjects.h"
#include "sense/flowdetect.h"
#include "sense/trw.h"

#define SEC(n)     ((usec_t)(n) * USEC_PER_SEC)
#define MINUTES(n) SEC((n) * 60)

/* 2026-11-27T06:00:00Z: on a boundary of every window used here. */
#define T0 SEC(INT64_C(1795759200))

struct fx {
	struct config cfg;
	struct judge *j;
	struct flow_detect *fd;
};

static void
add_cidr(struct config *cfg, const char *text)
{
	cfg->network.subscribers = realloc(cfg->network.subscribers,
	    (cfg->network.subscriber_count + 1) * sizeof(struct cidr));
	assert_non_null(cfg->network.subscribers);
	assert_int_equal(cidr_parse(text, &cfg->network.subscribers[cfg->network.subscriber_count++]), 0);
}

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	log_set_level(LOG_LEVEL_ERROR);
	config_defaults(&f->cfg);
	snprintf(f->cfg.path, sizeof(f->cfg.path), "test.conf");
	add_cidr(&f->cfg, "192.0.2.0/24");
	add_cidr(&f->cfg, "10.0.0.0/8");
	add_cidr(&f->cfg, "2001:db8:100::/40");
	f->cfg.network.relays = calloc(1, sizeof(struct addr));
	f->cfg.network.relay_count = 1;
	if (f->cfg.network.relays == NULL || addr_parse("198.51.100.25", 13, &f->cfg.network.relays[0]) != 0)
		return -1;
	f->cfg.flows.max_hosts = 1000;
	if ((f->j = judge_new(&f->cfg, NULL)) == NULL || (f->fd = flow_detect_new(f->j, &f->cfg)) == NULL)
		return -1;
	if (judge_configure(f->j, &f->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "judge_configure: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	flow_detect_free(f->fd);
	judge_free(f->j);
	config_free(&f->cfg);
	free(f);
	return 0;
}

static struct addr
A(const char *text)
{
	struct addr a;

	assert_int_equal(addr_parse(text, strlen(text), &a), 0);
	return a;
}

/* The i-th address of 203.0.113.0 upwards (into 203.0.114.x and on past 255). */
static struct addr
outside(unsigned i)
{
	struct addr a = A("203.0.113.0");

	a.bytes[1] = (uint8_t)(a.bytes[1] + (i >> 16));
	a.bytes[2] = (uint8_t)(a.bytes[2] + (i >> 8));
	a.bytes[3] = (uint8_t)i;
	return a;
}

static struct flow_record
rec(struct addr src, struct addr dst, uint8_t proto, uint16_t dport, uint8_t flags)
{
	struct flow_record r = { .src = src, .dst = dst, .src_port = 49152, .dst_port = dport, .proto = proto,
	    .tcp_flags = flags, .packets = 1, .bytes = 60, .sampling = 1 };
	return r;
}

/* A SYN-only TCP/25 flow from src to the i-th outside address: what a blocked bot leaves. */
static void
mx_to(struct fx *f, const char *src, unsigned i, usec_t t)
{
	struct flow_record r = rec(A(src), outside(i), IPPROTO_TCP, 25, TRW_TCP_SYN);
	flow_detect_record(f->fd, &r, t);
}

/* The evidence of kind on host text, or NULL. */
static const struct evidence_item *
evidence(struct fx *f, const char *text, const char *kind)
{
	struct subject *s = judge_lookup(f->j, text);

	return s == NULL ? NULL : judge_evidence(s, judge_kind_id(f->j, kind));
}

static void
test_direct_mx_threshold(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;

	for (unsigned i = 0; i < 19; i++) {
		mx_to(f, "192.0.2.7", i, T0 + SEC(i));
		mx_to(f, "192.0.2.7", i, T0 + SEC(i) + 1);     /* a retry: the same destination */
	}
	assert_null(evidence(f, "192.0.2.7", "direct_mx"));
	mx_to(f, "192.0.2.7", 19, T0 + SEC(30));
	const struct evidence_item *e = evidence(f, "192.0.2.7", "direct_mx");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "tried to reach 20 mail servers directly in 10 minutes; the relay is 198.51.100.25");
	assert_null(evidence(f, "192.0.2.7", "scanning"));        /* one behaviour, one kind */
	/* more in the same window: the summary follows each growth by a quarter, one unit of evidence */
	for (unsigned i = 20; i < 40; i++)
		mx_to(f, "192.0.2.7", i, T0 + SEC(40 + i));
	e = evidence(f, "192.0.2.7", "direct_mx");
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "tried to reach 40 mail servers directly in 10 minutes; the relay is 198.51.100.25");
	/* the next window over the threshold: a second unit */
	for (unsigned i = 0; i < 20; i++)
		mx_to(f, "192.0.2.7", 1000 + i, T0 + MINUTES(10) + SEC(i));
	e = evidence(f, "192.0.2.7", "direct_mx");
	assert_int_equal(e->count, 2);
	assert_string_equal(e->summary, "tried to reach 20 mail servers directly in 10 minutes; the relay is 198.51.100.25");
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.evidence[FLOW_DETECT_DIRECT_MX], 5);    /* at 20, 25, 32 and 40; then 20 */
	assert_int_equal(st.hosts, 1);
}

/* Thousands apart in the summary; the count of a sketch is an estimate within its error. */
static void
test_direct_mx_many(void **state)
{
	struct fx *f = *state;
	unsigned n = 0;

	for (unsigned i = 0; i < 1500; i++)
		mx_to(f, "192.0.2.8", i, T0 + SEC(1));
	const struct evidence_item *e = evidence(f, "192.0.2.8", "direct_mx");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_int_equal(sscanf(e->summary, "tried to reach 1 %3u mail servers directly in 10 minutes;", &n), 1);
	/* updated at each growth by a quarter: at least 1500 / 1.25, give or take three standard
	 * errors of the 1 KiB sketch (10 %) */
	assert_in_range(1000 + n, 1080, 1650);
}

/* The relay, other ports, UDP, and windows that each stay below: nothing. */
static void
test_direct_mx_not(void **state)
{
	struct fx *f = *state;
	struct flow_record r;

	for (unsigned i = 0; i < 100; i++) {
		r = rec(A("192.0.2.9"), A("198.51.100.25"), IPPROTO_TCP, 25, TRW_TCP_SYN);
		flow_detect_record(f->fd, &r, T0 + SEC(i));
		r = rec(A("192.0.2.9"), outside(i), IPPROTO_TCP, 587, TRW_TCP_SYN);
		flow_detect_record(f->fd, &r, T0 + SEC(i));
		r = rec(A("192.0.2.9"), outside(i), IPPROTO_UDP, 25, 0);
		flow_detect_record(f->fd, &r, T0 + SEC(i));
	}
	/* 15 in one window and 15 in the next: never 20 in one */
	for (unsigned i = 0; i < 15; i++) {
		mx_to(f, "192.0.2.9", i, T0 + MINUTES(9));
		mx_to(f, "192.0.2.9", 100 + i, T0 + MINUTES(11));
	}
	assert_null(evidence(f, "192.0.2.9", "direct_mx"));
}

/* Direction from [network] subscribers: neither or both sides inside make no host. */
static void
test_direction(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;
	struct flow_record r;

	for (unsigned i = 0; i < 50; i++) {
		r = rec(A("198.18.0.1"), outside(i), IPPROTO_TCP, 25, TRW_TCP_SYN);      /* neither */
		flow_detect_record(f->fd, &r, T0);
		r = rec(A("192.0.2.10"), A("10.1.2.3"), IPPROTO_TCP, 25, TRW_TCP_SYN);   /* both */
		r.dst.bytes[3] = (uint8_t)i;
		flow_detect_record(f->fd, &r, T0);
		r = rec(outside(i), A("192.0.2.11"), IPPROTO_TCP, 25, TRW_TCP_SYN);      /* inbound */
		flow_detect_record(f->fd, &r, T0);
	}
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.records, 150);
	assert_int_equal(st.outside, 50);
	assert_int_equal(st.internal, 50);
	assert_int_equal(st.hosts, 0);
	assert_null(judge_lookup(f->j, "192.0.2.10"));
	assert_null(judge_lookup(f->j, "192.0.2.11"));
	assert_null(judge_lookup(f->j, "198.18.0.1"));
}

/* An IPv6 host is its /64, as the judge's subject: two addresses of it count together. */
static void
test_ipv6_host(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;
	struct flow_record r;

	for (unsigned i = 0; i < 20; i++) {
		r = rec(A(i % 2 ? "2001:db8:100:1::5" : "2001:db8:100:1::77"), A("2001:db8:ffff::1"), IPPROTO_TCP, 25,
		    TRW_TCP_SYN);
		r.dst.bytes[15] = (uint8_t)i;
		flow_detect_record(f->fd, &r, T0 + SEC(i));
	}
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 1);
	assert_non_null(evidence(f, "2001:db8:100:1::/64", "direct_mx"));
}

/* A quiet host gives its counters back after a window and is forgotten after an hour. */
static void
test_expire(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;

	for (unsigned h = 0; h < 10; h++)
		for (unsigned i = 0; i < 60; i++) {
			char src[32];
			snprintf(src, sizeof(src), "192.0.2.%u", 100 + h);
			mx_to(f, src, i, T0 + SEC(1));
		}
	size_t busy = flow_detect_bytes(f->fd);
	assert_true(busy > 10 * 256);                /* 60 hashes of 8 bytes each, at least */
	flow_detect_expire(f->fd, T0 + MINUTES(5), SIZE_MAX);
	assert_int_equal(flow_detect_bytes(f->fd), busy);      /* still in their window */
	flow_detect_expire(f->fd, T0 + SEC(1) + MINUTES(10), SIZE_MAX);
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 10);
	assert_true(flow_detect_bytes(f->fd) <= 10 * 256);
	/* back at it: the counting starts again from nothing */
	for (unsigned i = 0; i < 19; i++)
		mx_to(f, "192.0.2.100", i, T0 + MINUTES(20) + SEC(1));
	assert_int_equal(evidence(f, "192.0.2.100", "direct_mx")->count, 1);
	flow_detect_expire(f->fd, T0 + MINUTES(20) + SEC(1) + FLOW_DETECT_FORGET - 1, SIZE_MAX);
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 1);
	flow_detect_expire(f->fd, T0 + MINUTES(20) + SEC(1) + FLOW_DETECT_FORGET, SIZE_MAX);
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 0);
	assert_int_equal(flow_detect_bytes(f->fd), 0);
}

/* A budget: a part of the hosts a call, going on from where the last one stopped. */
static void
test_expire_budget(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;
	struct addr src = A("10.0.0.0");

	for (unsigned h = 0; h < 1000; h++) {
		src.bytes[2] = (uint8_t)(h >> 8);
		src.bytes[3] = (uint8_t)h;
		struct flow_record r = rec(src, outside(h), IPPROTO_TCP, 443, TRW_TCP_SYN);
		flow_detect_record(f->fd, &r, T0);
	}
	flow_detect_expire(f->fd, T0 + FLOW_DETECT_FORGET, 300);
	flow_detect_stats_get(f->fd, &st);
	assert_in_range(st.hosts, 1, 700);
	for (int i = 0; i < 4; i++)
		flow_detect_expire(f->fd, T0 + FLOW_DETECT_FORGET, 300);
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 0);
}

/* max_hosts: the 1001st host is refused and counted; a host followed already is not. */
static void
test_host_cap(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;
	struct addr src = A("10.0.0.0");

	for (unsigned h = 0; h < 1001; h++) {
		src.bytes[2] = (uint8_t)(h >> 8);
		src.bytes[3] = (uint8_t)h;
		struct flow_record r = rec(src, outside(h), IPPROTO_TCP, 25, TRW_TCP_SYN);
		flow_detect_record(f->fd, &r, T0);
	}
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 1000);
	assert_int_equal(st.hosts_refused, 1);
	mx_to(f, "10.0.0.0", 7, T0 + 1);
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts_refused, 1);
}

/* A TCP record of host src to the i-th outside address on port: failed (SYN only) or
 * working (SYN, ACK, FIN in 10 packets), 1-in-sampling sampled. */
static void
tcp_to(struct fx *f, const char *src, unsigned i, uint16_t port, bool ok, uint32_t sampling, usec_t t)
{
	struct flow_record r = rec(A(src), outside(i), IPPROTO_TCP, port,
	    ok ? TRW_TCP_SYN | TRW_TCP_ACK | TRW_TCP_FIN : TRW_TCP_SYN);
	r.sampling = sampling;
	r.packets = (ok ? 10 : 1) * (uint64_t)sampling;
	flow_detect_record(f->fd, &r, t);
}

/* First contacts to make a decision with the default walk: ceil(log(eta) / log(step)). */
static unsigned
walk_steps(double from, double eta, double step)
{
	return (unsigned)ceil((log(eta) - from) / log(step));
}

/* The walk: a scanner at the contact the arithmetic says, and only then. */
static void
test_scanning_walk(void **state)
{
	struct fx *f = *state;
	unsigned n = walk_steps(0, 0.99 / 0.01, 0.8 / 0.2);         /* x4 per failure up to 99: the 4th */

	assert_int_equal(n, 4);
	for (unsigned i = 0; i < n - 1; i++) {
		tcp_to(f, "192.0.2.20", i, 80, false, 1, T0 + SEC(i));
		tcp_to(f, "192.0.2.20", i, 80, false, 1, T0 + SEC(i) + 1);   /* a retry is no new contact */
	}
	assert_null(evidence(f, "192.0.2.20", "scanning"));
	tcp_to(f, "192.0.2.20", n - 1, 80, false, 1, T0 + SEC(10));
	const struct evidence_item *e = evidence(f, "192.0.2.20", "scanning");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "4 of its first 4 contacts with new addresses failed (Threshold Random Walk: a scanner)");
	/* decided once: more failures add nothing */
	for (unsigned i = n; i < 20; i++)
		tcp_to(f, "192.0.2.20", i, 80, false, 1, T0 + SEC(20));
	assert_int_equal(evidence(f, "192.0.2.20", "scanning")->count, 1);

	/* three working connections first: the walk needs more failures to climb back */
	for (unsigned i = 0; i < 3; i++)
		tcp_to(f, "192.0.2.21", i, 443, true, 1, T0 + SEC(i));
	n = walk_steps(3 * log(0.2 / 0.8), 0.99 / 0.01, 0.8 / 0.2);
	assert_int_equal(n, 7);
	for (unsigned i = 0; i < n - 1; i++)
		tcp_to(f, "192.0.2.21", 100 + i, 445, false, 1, T0 + SEC(10 + i));
	assert_null(evidence(f, "192.0.2.21", "scanning"));
	tcp_to(f, "192.0.2.21", 200, 445, false, 1, T0 + SEC(30));
	assert_string_equal(evidence(f, "192.0.2.21", "scanning")->summary,
	    "7 of its first 10 contacts with new addresses failed (Threshold Random Walk: a scanner)");
}

/* Working connections, and SYN-only records of a sampling exporter (their fate unknown),
 * never walk to a scanner. */
static void
test_scanning_walk_benign(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < 500; i++)
		tcp_to(f, "192.0.2.22", i, 443, true, 1, T0 + SEC(i));
	for (unsigned i = 0; i < 40; i++)
		tcp_to(f, "192.0.2.23", i, 443, false, 100, T0 + SEC(i));
	assert_null(evidence(f, "192.0.2.22", "scanning"));
	assert_null(evidence(f, "192.0.2.23", "scanning"));
}

/* The reply of the i-th outside address to src's contact: a TCP record with flags back. */
static void
reply_from(struct fx *f, unsigned i, const char *dst, uint8_t flags, uint32_t sampling, usec_t t)
{
	struct flow_record r = rec(outside(i), A(dst), IPPROTO_TCP, 49152, flags);
	r.src_port = 443;
	r.sampling = sampling;
	r.packets = sampling;
	flow_detect_record(f->fd, &r, t);
}

/* The walk reads a contact's outcome from its reply when the host's own record does not
 * say (a sampled SYN): resets back are failures, SYN-ACKs successes; a reply from an
 * address the host never contacted (backscatter) is nothing. */
static void
test_scanning_walk_replies(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < 4; i++)
		tcp_to(f, "192.0.2.24", i, 443, false, 10, T0 + SEC(i));
	for (unsigned i = 0; i < 3; i++)
		reply_from(f, i, "192.0.2.24", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(5));
	reply_from(f, 0, "192.0.2.24", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(5));    /* answered once */
	assert_null(evidence(f, "192.0.2.24", "scanning"));
	reply_from(f, 3, "192.0.2.24", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(6));
	const struct evidence_item *e = evidence(f, "192.0.2.24", "scanning");
	assert_non_null(e);
	assert_string_equal(e->summary, "4 of its first 4 contacts with new addresses failed (Threshold Random Walk: a scanner)");

	/* backscatter: resets from 40 addresses a host never called */
	tcp_to(f, "192.0.2.25", 1000, 443, true, 1, T0);
	for (unsigned i = 0; i < 40; i++)
		reply_from(f, i, "192.0.2.25", TRW_TCP_RST | TRW_TCP_ACK, 1, T0 + SEC(1));
	assert_null(evidence(f, "192.0.2.25", "scanning"));

	/* accepted: SYN-ACKs back make successes, and three failures after four of them
	 * are no scanner (0.25^4 took the walk to benign; 4^3 = 64 < 99) */
	for (unsigned i = 0; i < 4; i++) {
		tcp_to(f, "192.0.2.26", i, 443, false, 10, T0 + SEC(i));
		reply_from(f, i, "192.0.2.26", TRW_TCP_SYN | TRW_TCP_ACK, 10, T0 + SEC(i));
	}
	for (unsigned i = 10; i < 13; i++) {
		tcp_to(f, "192.0.2.26", i, 443, false, 10, T0 + SEC(i));
		reply_from(f, i, "192.0.2.26", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(i));
	}
	assert_null(evidence(f, "192.0.2.26", "scanning"));
	tcp_to(f, "192.0.2.26", 13, 443, false, 10, T0 + SEC(20));
	reply_from(f, 13, "192.0.2.26", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(20));
	assert_string_equal(evidence(f, "192.0.2.26", "scanning")->summary,
	    "4 of its first 8 contacts with new addresses failed (Threshold Random Walk: a scanner)");

	/* a host with more unknown contacts than its ring forgets the oldest: 12 sampled
	 * SYNs, then resets from the first 4 (forgotten) and the last 4 */
	for (unsigned i = 0; i < 12; i++)
		tcp_to(f, "192.0.2.27", i, 443, false, 10, T0 + SEC(i));
	for (unsigned i = 0; i < 4; i++)
		reply_from(f, i, "192.0.2.27", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(20));
	assert_null(evidence(f, "192.0.2.27", "scanning"));
	for (unsigned i = 8; i < 12; i++)
		reply_from(f, i, "192.0.2.27", TRW_TCP_RST | TRW_TCP_ACK, 10, T0 + SEC(21));
	assert_non_null(evidence(f, "192.0.2.27", "scanning"));
}

/* The fan-out: distinct destinations on one port in the window, with the walk's share. */
static void
test_scanning_fanout(void **state)
{
	struct fx *f = *state;

	/* sampled SYNs: the walk learns nothing, the fan-out counts them */
	for (unsigned i = 0; i < 49; i++)
		tcp_to(f, "192.0.2.30", i, 445, false, 10, T0 + SEC(i));
	assert_null(evidence(f, "192.0.2.30", "scanning"));
	tcp_to(f, "192.0.2.30", 49, 445, false, 10, T0 + SEC(60));
	const struct evidence_item *e = evidence(f, "192.0.2.30", "scanning");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "scanned 50 addresses on TCP/445 in 5 minutes");

	/* unsampled: the walk decides at the 4th, the fan-out at the 50th says the share */
	for (unsigned i = 0; i < 3; i++)
		tcp_to(f, "192.0.2.31", i, 443, true, 1, T0 + SEC(i));
	for (unsigned i = 0; i < 50; i++)
		tcp_to(f, "192.0.2.31", 1000 + i, 445, false, 1, T0 + SEC(10 + i));
	e = evidence(f, "192.0.2.31", "scanning");
	assert_int_equal(e->count, 2);
	assert_string_equal(e->summary,
	    "scanned 50 addresses on TCP/445 in 5 minutes; a scanner to the walk after 7 of 10 first contacts failed");

	/* 30 in a window and 30 in the next: never 50 in one */
	for (unsigned i = 0; i < 30; i++) {
		tcp_to(f, "192.0.2.32", i, 23, false, 10, T0 + MINUTES(4));
		tcp_to(f, "192.0.2.32", 100 + i, 23, false, 10, T0 + MINUTES(6));
	}
	assert_null(evidence(f, "192.0.2.32", "scanning"));
}

/* Four port slots: a few stray failures give theirs up to a scan; four busy ones keep them. */
static void
test_scanning_port_slots(void **state)
{
	struct fx *f = *state;

	for (unsigned p = 0; p < 4; p++)
		for (unsigned i = 0; i < 2; i++)
			tcp_to(f, "192.0.2.40", 10 * p + i, (uint16_t)(6881 + p), false, 10, T0 + SEC(1));
	for (unsigned i = 0; i < 50; i++)
		tcp_to(f, "192.0.2.40", 1000 + i, 445, false, 10, T0 + SEC(2));
	assert_string_equal(evidence(f, "192.0.2.40", "scanning")->summary, "scanned 50 addresses on TCP/445 in 5 minutes");
	/* a walk still undecided gives its share: 2 working connections, 1 failure */
	tcp_to(f, "192.0.2.42", 0, 443, true, 1, T0);
	tcp_to(f, "192.0.2.42", 1, 443, true, 1, T0);
	tcp_to(f, "192.0.2.42", 2, 445, false, 1, T0);
	for (unsigned i = 0; i < 50; i++)
		tcp_to(f, "192.0.2.42", 1000 + i, 445, false, 10, T0 + SEC(2));
	assert_string_equal(evidence(f, "192.0.2.42", "scanning")->summary,
	    "scanned 50 addresses on TCP/445 in 5 minutes; 33 % of 3 first contacts failed");

	for (unsigned p = 0; p < 4; p++)
		for (unsigned i = 0; i < 8; i++)
			tcp_to(f, "192.0.2.41", 10 * p + i, (uint16_t)(6881 + p), false, 10, T0 + SEC(1));
	for (unsigned i = 0; i < 50; i++)
		tcp_to(f, "192.0.2.41", 1000 + i, 445, false, 10, T0 + SEC(2));
	assert_null(evidence(f, "192.0.2.41", "scanning"));
	/* the next window starts with free slots */
	for (unsigned i = 0; i < 50; i++)
		tcp_to(f, "192.0.2.41", 1000 + i, 445, false, 10, T0 + MINUTES(5));
	assert_non_null(evidence(f, "192.0.2.41", "scanning"));
}

/* A failed attempt (SYN only) from src to dst:port, sampled 1 in 10: the walk learns
 * nothing from it, so that only the fan-outs speak. */
static void
probe(struct fx *f, const char *src, struct addr dst, uint16_t port, usec_t t)
{
	struct flow_record r = rec(A(src), dst, IPPROTO_TCP, port, TRW_TCP_SYN);
	r.sampling = 10;
	r.packets = 10;
	flow_detect_record(f->fd, &r, t);
}

/* The vertical fan-out: distinct ports of one destination in the window, the target
 * named; one unit a window however many targets; stray failures to other addresses
 * beside it, working connections, and two half windows do not make it. */
static void
test_scanning_vertical(void **state)
{
	struct fx *f = *state;
	struct addr target = A("203.0.113.9");

	/* nmap -p 1001-2000 (TCP/25 is direct_mx's) with a failure to another address every
	 * 10 probes */
	for (unsigned p = 1; p < 100; p++) {
		probe(f, "192.0.2.80", target, (uint16_t)(1000 + p), T0 + SEC(p / 10));
		if (p % 10 == 0)
			probe(f, "192.0.2.80", outside(500 + p), (uint16_t)(1000 + p), T0 + SEC(p / 10));
	}
	probe(f, "192.0.2.80", target, 1099, T0 + SEC(11));          /* a retry is no new port */
	assert_null(evidence(f, "192.0.2.80", "scanning"));
	probe(f, "192.0.2.80", target, 1100, T0 + SEC(12));
	const struct evidence_item *e = evidence(f, "192.0.2.80", "scanning");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "probed 100 TCP ports of 203.0.113.9 in 5 minutes (ports 1001-1100)");
	for (unsigned p = 101; p <= 1000; p++)
		probe(f, "192.0.2.80", target, (uint16_t)(1000 + p), T0 + SEC(12 + p / 10));
	e = evidence(f, "192.0.2.80", "scanning");
	assert_int_equal(e->count, 1);
	assert_true(strncmp(e->summary, "probed ", 7) == 0);
	assert_non_null(strstr(e->summary, " TCP ports of 203.0.113.9 in 5 minutes (ports 1001-"));
	/* a second target in the same window: its summary, no second unit */
	for (unsigned p = 0; p < 100; p++)
		probe(f, "192.0.2.80", A("2001:db8:5::9"), (uint16_t)(8000 + p), T0 + SEC(200));
	e = evidence(f, "192.0.2.80", "scanning");
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "probed 100 TCP ports of 2001:db8:5::9 in 5 minutes (ports 8000-8099)");
	/* the next window: a unit again */
	for (unsigned p = 0; p < 100; p++)
		probe(f, "192.0.2.80", target, (uint16_t)(p + 1000), T0 + MINUTES(5) + SEC(1));
	assert_int_equal(evidence(f, "192.0.2.80", "scanning")->count, 2);

	/* four targets at once, ports interleaved, and stray failures: each counted */
	for (unsigned p = 0; p < 100; p++)
		for (unsigned k = 0; k < 5; k++)
			probe(f, "192.0.2.81", k < 4 ? outside(k) : outside(1000 + p), (uint16_t)(1000 + p), T0 + SEC(1));
	e = evidence(f, "192.0.2.81", "scanning");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_non_null(strstr(e->summary, "probed 100 TCP ports of 203.0.113."));

	/* 99 ports in a window, 99 in the next; working connections to 200 ports of one
	 * server (passive FTP, a game); a horizontal scan (one port of many addresses) */
	for (unsigned p = 0; p < 99; p++) {
		probe(f, "192.0.2.82", target, (uint16_t)(1000 + p), T0 + MINUTES(4));
		probe(f, "192.0.2.82", target, (uint16_t)(1200 + p), T0 + MINUTES(6));
	}
	for (unsigned p = 0; p < 200; p++) {
		struct flow_record r = rec(A("192.0.2.83"), target, IPPROTO_TCP, (uint16_t)(30000 + p),
		    TRW_TCP_SYN | TRW_TCP_ACK | TRW_TCP_FIN);
		r.packets = 10;
		flow_detect_record(f->fd, &r, T0 + SEC(p));
	}
	for (unsigned i = 0; i < 40; i++)
		tcp_to(f, "192.0.2.84", i, 445, false, 10, T0 + SEC(i));
	assert_null(evidence(f, "192.0.2.82", "scanning"));
	assert_null(evidence(f, "192.0.2.83", "scanning"));
	assert_null(evidence(f, "192.0.2.84", "scanning"));
}

/* UDP makes a host (its rates count) but no scanning or direct_mx. */
static void
test_udp_host(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;

	for (unsigned i = 0; i < 100; i++) {
		struct flow_record r = rec(A("192.0.2.50"), outside(i), IPPROTO_UDP, 25, 0);
		flow_detect_record(f->fd, &r, T0);
	}
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 1);
	assert_null(judge_lookup(f->j, "192.0.2.50"));
}

/* One record a second from src to dst:port of pps packets of 60 bytes, for secs seconds
 * from t; SYN only when TCP. */
static void
stream(struct fx *f, const char *src, const char *dst, uint8_t proto, uint16_t port, uint64_t pps, unsigned secs,
    usec_t t)
{
	for (unsigned i = 0; i < secs; i++) {
		struct flow_record r = rec(A(src), A(dst), proto, port, proto == IPPROTO_TCP ? TRW_TCP_SYN : 0);
		r.packets = pps;
		r.bytes = 60 * pps;
		flow_detect_record(f->fd, &r, t + SEC(i));
	}
}

/* Over the absolute threshold: a unit when the flood begins, a summary each minute, a
 * unit more each 5 minutes. */
static void
test_dos_absolute(void **state)
{
	struct fx *f = *state;

	stream(f, "192.0.2.60", "203.0.113.9", IPPROTO_TCP, 80, 19000, 120, T0);
	assert_null(evidence(f, "192.0.2.60", "outbound_dos"));               /* under 20 000/s */
	stream(f, "192.0.2.61", "203.0.113.9", IPPROTO_TCP, 80, 30000, 2, T0);
	const struct evidence_item *e = evidence(f, "192.0.2.61", "outbound_dos");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "sent 30 000 packets/s (14 Mbit/s); top target 203.0.113.9:80 (TCP); "
	    "100 % of its flows SYN only");
	stream(f, "192.0.2.61", "203.0.113.9", IPPROTO_TCP, 80, 30000, 180, T0 + SEC(2));
	e = evidence(f, "192.0.2.61", "outbound_dos");
	assert_int_equal(e->count, 1);
	assert_non_null(strstr(e->summary, " for 3 minutes; top target 203.0.113.9:80 (TCP)"));
	stream(f, "192.0.2.61", "203.0.113.9", IPPROTO_TCP, 80, 30000, 200, T0 + SEC(182));
	assert_int_equal(evidence(f, "192.0.2.61", "outbound_dos")->count, 2);
	/* bits and flows have thresholds of their own: 1 Gbit/s of UDP in 1 000 packets of 125 kB */
	for (unsigned i = 0; i < 3; i++) {
		struct flow_record r = rec(A("192.0.2.62"), A("203.0.113.10"), IPPROTO_UDP, 443, 0);
		r.packets = 1000;
		r.bytes = 125000000;
		flow_detect_record(f->fd, &r, T0 + SEC(i));
	}
	assert_non_null(strstr(evidence(f, "192.0.2.62", "outbound_dos")->summary,
	    "sent 1 000 packets/s (1000 Mbit/s); top target 203.0.113.10:443 (UDP)"));
}

/* The host's own baseline: at its usual rate for hours, nothing; at 50 times, a flood;
 * the same rate from a host with no history is under every threshold. */
static void
test_dos_baseline(void **state)
{
	struct fx *f = *state;
	unsigned i;

	stream(f, "192.0.2.70", "198.18.0.1", IPPROTO_UDP, 443, 100, 7200, T0);
	assert_null(evidence(f, "192.0.2.70", "outbound_dos"));
	for (i = 0; i < 60 && evidence(f, "192.0.2.70", "outbound_dos") == NULL; i++)
		stream(f, "192.0.2.70", "198.18.0.1", IPPROTO_UDP, 443, 5000, 1, T0 + SEC(7200 + i));
	const struct evidence_item *e = evidence(f, "192.0.2.70", "outbound_dos");
	assert_non_null(e);
	assert_true(i <= 10);              /* the 10 s average crosses 20 times the usual within seconds */
	assert_non_null(strstr(e->summary, " times its usual rate; top target 198.18.0.1:443 (UDP)"));
	stream(f, "192.0.2.71", "198.18.0.1", IPPROTO_UDP, 443, 5000, 600, T0);
	assert_null(evidence(f, "192.0.2.71", "outbound_dos"));
}

/* One record of pps packets of 60 bytes from src to dst:port with flags, at t. */
static void
burst(struct fx *f, const char *src, const char *dst, uint8_t proto, uint16_t port, uint8_t flags, uint64_t pps,
    usec_t t)
{
	struct flow_record r = rec(A(src), A(dst), proto, port, flags);
	r.packets = pps;
	r.bytes = 60 * pps;
	flow_detect_record(f->fd, &r, t);
}

/* Inbound floods: a subscriber flooded from outside is counted (an episode once), and its
 * SYN-ACKs, resets and ICMP answers at the flood's rate are no outbound_dos of its own,
 * whichever side of the flood the exporter sends first (the answers first: their check
 * folds the inbound rates, which must still be compared); a host that floods and is
 * answered is still an attacker; an address that sends nothing makes no host. */
static void
test_inbound_flood(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;

	/* 30 000 SYNs/s from outside for 3 minutes, answered by SYN-ACKs, some resets and
	 * ICMP unreachables: the answers make the host (and their rates are its first) */
	for (unsigned i = 0; i <= 180; i++) {
		usec_t t = T0 + SEC(i);
		if (i > 120)
			burst(f, "198.18.0.66", "192.0.2.90", IPPROTO_TCP, 80, TRW_TCP_SYN, 30000, t);
		burst(f, "192.0.2.90", "198.18.0.66", IPPROTO_TCP, 49152, TRW_TCP_SYN | TRW_TCP_ACK, 27000, t);
		burst(f, "192.0.2.90", "198.18.0.67", IPPROTO_TCP, 49153, TRW_TCP_RST | TRW_TCP_ACK, 2000, t);
		burst(f, "192.0.2.90", "198.18.0.68", IPPROTO_ICMP, 0x0303, 0, 1000, t);
		if (i <= 120)
			burst(f, "198.18.0.66", "192.0.2.90", IPPROTO_TCP, 80, TRW_TCP_SYN, 30000, t);
		if (i == 60) {
			flow_detect_stats_get(f->fd, &st);
			assert_int_equal(st.inbound_floods, 1);
		}
	}
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.inbound_floods, 1);
	assert_int_equal(st.evidence[FLOW_DETECT_OUTBOUND_DOS], 0);
	assert_null(judge_lookup(f->j, "192.0.2.90"));
	/* it ends (the host online, the flood gone) and a second one is a second episode */
	for (unsigned i = 181; i <= 300; i++)
		burst(f, "192.0.2.90", "198.51.100.53", IPPROTO_UDP, 53, 0, 1, T0 + SEC(i));
	for (unsigned i = 301; i <= 320; i++)
		burst(f, "198.18.0.99", "192.0.2.90", IPPROTO_UDP, 27015, 0, 40000, T0 + SEC(i));
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.inbound_floods, 2);
	assert_null(judge_lookup(f->j, "192.0.2.90"));

	/* the attacker: SYNs out at 30 000/s, its target's SYN-ACKs back as many; as hping3
	 * does it, each flow its SYN and the reset its kernel sends to the SYN-ACK. An echo
	 * flood flooded back with echo replies is an attacker too. Both were online before
	 * (their rates climb from a minute of history, the answers known by the time). */
	burst(f, "192.0.2.91", "198.51.100.53", IPPROTO_UDP, 53, 0, 1, T0 - SEC(60));
	burst(f, "192.0.2.93", "198.51.100.53", IPPROTO_UDP, 53, 0, 1, T0 - SEC(60));
	for (unsigned i = 0; i < 60; i++) {
		burst(f, "203.0.113.9", "192.0.2.91", IPPROTO_TCP, 49152, TRW_TCP_SYN | TRW_TCP_ACK, 30000, T0 + SEC(i));
		burst(f, "192.0.2.91", "203.0.113.9", IPPROTO_TCP, 80, TRW_TCP_SYN | TRW_TCP_RST, 30000, T0 + SEC(i));
		burst(f, "203.0.113.9", "192.0.2.93", IPPROTO_ICMP, 0x0000, 0, 30000, T0 + SEC(i));
		burst(f, "192.0.2.93", "203.0.113.9", IPPROTO_ICMP, 0x0800, 0, 30000, T0 + SEC(i));
	}
	assert_non_null(evidence(f, "192.0.2.91", "outbound_dos"));
	assert_non_null(evidence(f, "192.0.2.93", "outbound_dos"));

	/* a flood at an address that sends nothing makes no host */
	flow_detect_stats_get(f->fd, &st);
	size_t hosts = st.hosts;
	for (unsigned i = 0; i < 10; i++)
		burst(f, "198.18.0.66", "192.0.2.92", IPPROTO_TCP, 80, TRW_TCP_SYN, 30000, T0 + SEC(i));
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, hosts);
}

/* [flows] allow_destination keeps a speed test out. */
static void
test_dos_allowlist(void **state)
{
	struct fx *f = *state;

	f->cfg.flows.allow_destinations = calloc(1, sizeof(struct cidr));
	assert_non_null(f->cfg.flows.allow_destinations);
	assert_int_equal(cidr_parse("203.0.113.0/24", &f->cfg.flows.allow_destinations[0]), 0);
	f->cfg.flows.allow_destination_count = 1;
	assert_int_equal(flow_detect_configure(f->fd, &f->cfg), 0);
	stream(f, "192.0.2.80", "203.0.113.9", IPPROTO_TCP, 8080, 100000, 60, T0);
	assert_null(evidence(f, "192.0.2.80", "outbound_dos"));
	stream(f, "192.0.2.80", "198.18.0.9", IPPROTO_TCP, 8080, 100000, 3, T0 + SEC(60));
	assert_non_null(evidence(f, "192.0.2.80", "outbound_dos"));
}

/* The i-th outside client's record to host dst on proto/port: a served connection (ACK
 * in 6 packets) or a probe (SYN only). */
static void
client(struct fx *f, unsigned i, const char *dst, uint8_t proto, uint16_t port, bool served, usec_t t)
{
	struct flow_record r = rec(outside(i), A(dst), proto, port,
	    proto != IPPROTO_TCP ? 0 : served ? TRW_TCP_SYN | TRW_TCP_ACK | TRW_TCP_FIN : TRW_TCP_SYN);
	r.packets = proto == IPPROTO_TCP && served ? 6 : 1;
	flow_detect_record(f->fd, &r, t);
}

static void
test_hosting(void **state)
{
	struct fx *f = *state;
	struct flow_detect_stats st;

	for (unsigned i = 0; i < 99; i++) {
		client(f, i, "192.0.2.90", IPPROTO_TCP, 443, true, T0 + SEC(i));
		client(f, i, "192.0.2.90", IPPROTO_TCP, 443, true, T0 + SEC(i) + 1);    /* the same client again */
	}
	assert_null(evidence(f, "192.0.2.90", "hosting"));
	client(f, 99, "192.0.2.90", IPPROTO_TCP, 443, true, T0 + SEC(200));
	const struct evidence_item *e = evidence(f, "192.0.2.90", "hosting");
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "served 100 outside addresses in 10 minutes, most on TCP/443 (a web, proxy or "
	    "DNS server on a subscriber line: fast flux or a proxy bot)");

	/* DNS over UDP counts, and the summary names the busiest service */
	for (unsigned i = 0; i < 60; i++)
		client(f, i, "192.0.2.91", IPPROTO_UDP, 53, true, T0 + SEC(1));
	for (unsigned i = 0; i < 40; i++)
		client(f, 1000 + i, "192.0.2.91", IPPROTO_TCP, 80, true, T0 + SEC(2));
	assert_non_null(strstr(evidence(f, "192.0.2.91", "hosting")->summary, "served 100 outside addresses in 10 "
	    "minutes, most on UDP/53 "));

	/* the internet's scanners probe every address: SYN alone, or other ports, make no host */
	for (unsigned i = 0; i < 500; i++) {
		client(f, i, "192.0.2.92", IPPROTO_TCP, 80, false, T0 + SEC(1));
		client(f, i, "192.0.2.92", IPPROTO_TCP, 8080, true, T0 + SEC(1));
	}
	assert_null(evidence(f, "192.0.2.92", "hosting"));
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.hosts, 2);

	/* 60 in a window and 60 in the next: never 100 in one */
	for (unsigned i = 0; i < 60; i++) {
		client(f, i, "192.0.2.93", IPPROTO_TCP, 80, true, T0 + MINUTES(9));
		client(f, 100 + i, "192.0.2.93", IPPROTO_TCP, 80, true, T0 + MINUTES(11));
	}
	assert_null(evidence(f, "192.0.2.93", "hosting"));
}

/* allow_destination: clients there are not counted (a CDN fetching from its origin). */
static void
test_hosting_allowlist(void **state)
{
	struct fx *f = *state;

	f->cfg.flows.allow_destinations = calloc(1, sizeof(struct cidr));
	assert_non_null(f->cfg.flows.allow_destinations);
	assert_int_equal(cidr_parse("203.0.112.0/22", &f->cfg.flows.allow_destinations[0]), 0);
	f->cfg.flows.allow_destination_count = 1;
	assert_int_equal(flow_detect_configure(f->fd, &f->cfg), 0);
	for (unsigned i = 0; i < 300; i++)                  /* 203.0.113.0 to 203.0.114.43 */
		client(f, i, "192.0.2.94", IPPROTO_TCP, 443, true, T0 + SEC(1));
	assert_null(evidence(f, "192.0.2.94", "hosting"));
	struct flow_record r = rec(A("198.18.0.1"), A("192.0.2.94"), IPPROTO_TCP, 443, TRW_TCP_SYN | TRW_TCP_ACK);
	r.packets = 6;
	for (unsigned i = 0; i < 100; i++) {
		r.src.bytes[3] = (uint8_t)i;
		flow_detect_record(f->fd, &r, T0 + SEC(2));
	}
	assert_non_null(evidence(f, "192.0.2.94", "hosting"));
}

/* A file of text in a new temporary path (the caller unlinks it). */
static void
list_file(char *path, const char *text)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
set_lists(struct fx *f, size_t n, const char *const names[], const char *const formats[], char paths[][64])
{
	free(f->cfg.flows.blocklists);
	f->cfg.flows.blocklists = calloc(n + 1, sizeof(struct flow_blocklist_conf));
	assert_non_null(f->cfg.flows.blocklists);
	for (size_t i = 0; i < n; i++) {
		snprintf(f->cfg.flows.blocklists[i].name, sizeof(f->cfg.flows.blocklists[i].name), "%s", names[i]);
		snprintf(f->cfg.flows.blocklists[i].format, sizeof(f->cfg.flows.blocklists[i].format), "%s", formats[i]);
		snprintf(f->cfg.flows.blocklists[i].path, sizeof(f->cfg.flows.blocklists[i].path), "%s", paths[i]);
	}
	f->cfg.flows.blocklist_count = n;
	assert_int_equal(flow_detect_configure(f->fd, &f->cfg), 0);
}

/* cc_contact: the list and the destination named, with the family and the port a Feodo
 * list gives, a unit at most each 10 minutes and the contacts between counted; a list
 * whose file turns bad keeps what it had; a list no longer configured is gone. */
static void
test_cc_contact(void **state)
{
	struct fx *f = *state;
	char paths[2][64] = { "/tmp/lazaret-feodo-XXXXXX", "/tmp/lazaret-drop-XXXXXX" };
	struct flow_record r;

	list_file(paths[0], "# abuse.ch Feodo Tracker\n"
	    "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n"
	    "\"2026-11-01 07:44:46\",\"203.0.113.5\",\"443\",\"online\",\"2026-11-30\",\"QakBot\"\n"
	    "\"2026-11-01 07:44:46\",\"203.0.113.7\",\"447\",\"online\",\"2026-11-30\",\"Emotet\"\n"
	    "\"2026-11-01 07:44:46\",\"203.0.113.8\",\"8080\",\"online\",\"2026-11-30\",\"\"\n");
	list_file(paths[1], "; Spamhaus DROP\n198.51.100.0/24 ; SBL000001\n2001:db8:bad::/48 ; SBL000002\n");
	set_lists(f, 2, (const char *const[]){ "feodo", "drop" }, (const char *const[]){ "feodo-csv", "auto" }, paths);

	r = rec(A("192.0.2.100"), A("203.0.113.6"), IPPROTO_TCP, 443, TRW_TCP_SYN | TRW_TCP_ACK);
	flow_detect_record(f->fd, &r, T0);
	assert_null(evidence(f, "192.0.2.100", "cc_contact"));
	r.dst = A("203.0.113.5");
	flow_detect_record(f->fd, &r, T0 + SEC(1));
	const struct evidence_item *e = evidence(f, "192.0.2.100", "cc_contact");
	assert_non_null(e);
	assert_string_equal(e->summary, "contacted 203.0.113.5:443 (TCP), a QakBot command-and-control server on the list feodo");
	flow_detect_record(f->fd, &r, T0 + SEC(61));             /* beaconing: one unit per 10 minutes */
	flow_detect_record(f->fd, &r, T0 + SEC(181));
	e = evidence(f, "192.0.2.100", "cc_contact");
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "contacted 203.0.113.5:443 (TCP), a QakBot command-and-control server on the list "
	    "feodo; 3 contacts with listed addresses in 3 minutes");
	r = rec(A("192.0.2.100"), A("198.51.100.77"), IPPROTO_UDP, 53, 0);
	flow_detect_record(f->fd, &r, T0 + MINUTES(11));
	e = evidence(f, "192.0.2.100", "cc_contact");
	assert_int_equal(e->count, 2);
	assert_string_equal(e->summary, "contacted 198.51.100.77:53 (UDP), on the list drop");
	r = rec(A("2001:db8:100:7::1"), A("2001:db8:bad:1::9"), IPPROTO_TCP, 8080, TRW_TCP_SYN);
	flow_detect_record(f->fd, &r, T0);
	assert_string_equal(evidence(f, "2001:db8:100:7::/64", "cc_contact")->summary,
	    "contacted [2001:db8:bad:1::9]:8080 (TCP), on the list drop");
	/* another port than the list's still counts, and says so; "an" before a vowel */
	r = rec(A("192.0.2.103"), A("203.0.113.7"), IPPROTO_TCP, 443, TRW_TCP_SYN);
	flow_detect_record(f->fd, &r, T0);
	assert_string_equal(evidence(f, "192.0.2.103", "cc_contact")->summary, "contacted 203.0.113.7:443 (TCP), an Emotet "
	    "command-and-control server on the list feodo (listed on port 447: perhaps another service of that address)");
	/* a Feodo entry without a family is still a C&C server; a beacon each second for 100
	 * seconds asks the judge at 8, 12, ... 96, not each time */
	r = rec(A("192.0.2.104"), A("203.0.113.8"), IPPROTO_TCP, 8080, TRW_TCP_SYN | TRW_TCP_ACK);
	uint64_t before = 0;
	for (unsigned i = 0; i < 100; i++) {
		struct flow_detect_stats st;
		if (i == 7) {
			flow_detect_stats_get(f->fd, &st);
			before = st.evidence[FLOW_DETECT_CC_CONTACT];
		}
		flow_detect_record(f->fd, &r, T0 + SEC(i));
	}
	struct flow_detect_stats st;
	flow_detect_stats_get(f->fd, &st);
	assert_int_equal(st.evidence[FLOW_DETECT_CC_CONTACT] - before, 8);     /* 8 12 16 24 32 48 64 96 */
	e = evidence(f, "192.0.2.104", "cc_contact");
	assert_int_equal(e->count, 1);
	assert_string_equal(e->summary, "contacted 203.0.113.8:8080 (TCP), a command-and-control server on the list feodo; "
	    "96 contacts with listed addresses in 95 seconds");

	/* the drop file turns bad: the reload keeps its table */
	FILE *fp = fopen(paths[1], "a");
	assert_non_null(fp);
	fputs("not an address\n", fp);
	fclose(fp);
	set_lists(f, 2, (const char *const[]){ "feodo", "drop" }, (const char *const[]){ "feodo-csv", "drop" }, paths);
	r = rec(A("192.0.2.101"), A("198.51.100.1"), IPPROTO_TCP, 80, TRW_TCP_SYN);
	flow_detect_record(f->fd, &r, T0);
	assert_non_null(evidence(f, "192.0.2.101", "cc_contact"));
	/* only feodo now */
	set_lists(f, 1, (const char *const[]){ "feodo" }, (const char *const[]){ "feodo-csv" }, paths);
	r.src = A("192.0.2.102");
	flow_detect_record(f->fd, &r, T0);
	assert_null(evidence(f, "192.0.2.102", "cc_contact"));
	unlink(paths[0]);
	unlink(paths[1]);
}

/* Verdicts are the judge's: two windows of direct_mx quarantine a host, an [allowlist]
 * network stops at watch with the same evidence. */
static void
test_levels(void **state)
{
	struct fx *f = *state;
	char err[512];

	f->cfg.allowlist.networks = calloc(1, sizeof(struct cidr));
	assert_non_null(f->cfg.allowlist.networks);
	assert_int_equal(cidr_parse("192.0.2.201/32", &f->cfg.allowlist.networks[0]), 0);
	f->cfg.allowlist.network_count = 1;
	assert_int_equal(judge_configure(f->j, &f->cfg, err, sizeof(err)), 0);
	for (unsigned w = 0; w < 2; w++) {
		for (unsigned i = 0; i < 20; i++) {
			mx_to(f, "192.0.2.200", 100 * w + i, T0 + MINUTES(10 * w) + SEC(i));
			mx_to(f, "192.0.2.201", 100 * w + i, T0 + MINUTES(10 * w) + SEC(i));
		}
		if (w == 0)
			assert_int_equal(judge_lookup(f->j, "192.0.2.200")->level, LEVEL_THROTTLE);
	}
	assert_int_equal(judge_lookup(f->j, "192.0.2.200")->level, LEVEL_QUARANTINE);
	assert_int_equal(judge_lookup(f->j, "192.0.2.201")->level, LEVEL_WATCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_direct_mx_threshold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_direct_mx_many, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_direct_mx_not, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_direction, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_host, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expire, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_host_cap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_expire_budget, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_scanning_walk, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_scanning_walk_benign, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_scanning_walk_replies, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_scanning_fanout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_scanning_port_slots, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_scanning_vertical, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_udp_host, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dos_absolute, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dos_baseline, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dos_allowlist, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_inbound_flood, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hosting, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hosting_allowlist, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cc_contact, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_levels, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
