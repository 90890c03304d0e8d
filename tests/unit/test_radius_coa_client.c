/*
 * test_radius_coa_client.c — the CoA / Disconnect client on a real libuv loop against a
 * NAS played here on loopback (IPv4 and IPv6): ACK and NAK with Error-Cause, bad answers
 * counted and dropped while the request waits for its real one, retransmissions with a
 * doubling wait and the timeout after them, 256 outstanding requests, and what each NAS
 * is configured to get on quarantine and release.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nettle/md5.h>
#include <uv.h>

#include "act/radius_coa.h"
#include "act/radius_dict.h"
#include "common/timeutil.h"

static const char secret[] = "s3cret";

/* What the NAS played here does with the request it gets, one action per datagram. */
enum act {
	ACT_SILENT,
	ACT_ACK,
	ACT_NAK_503,
	ACT_BAD_AUTH_THEN_ACK,       /* nothing, a wrong authenticator, a wrong Identifier, a broken one, then the ACK */
	ACT_OTHER_PORT_THEN_ACK,     /* a right answer from another port first */
};

struct nas_sim {
	uv_udp_t udp, other;
	uint16_t port;
	enum act act;
	unsigned got;
	uint8_t last[RADIUS_COA_MAX_LEN];
	size_t last_len;
	uint64_t at[8];              /* when each datagram came (ms, loop time) */
	uint8_t first[RADIUS_COA_MAX_LEN];
	size_t first_len;
	bool ids[256];
	unsigned distinct;           /* Identifiers seen */
};

struct outcome {
	int calls;
	struct radius_coa_result r;
	uv_loop_t *stop;             /* stop this loop after this many calls */
	int stop_after;
};

static uint8_t rbuf[RADIUS_COA_MAX_LEN];

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h, (void)suggested;
	*buf = uv_buf_init((char *)rbuf, sizeof(rbuf));
}

static size_t
answer(const uint8_t *req, uint8_t code, uint8_t id, const uint8_t *attrs, size_t alen, const char *key, uint8_t *out)
{
	size_t len = 20 + alen;
	struct md5_ctx m;

	out[0] = code;
	out[1] = id;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memcpy(out + 4, req + 4, 16);
	if (alen > 0)
		memcpy(out + 20, attrs, alen);
	md5_init(&m);
	md5_update(&m, len, out);
	md5_update(&m, strlen(key), (const uint8_t *)key);
	md5_digest(&m, 16, out + 4);
	return len;
}

static void
send_to(uv_udp_t *u, const struct sockaddr *to, uint8_t *b, size_t n)
{
	uv_buf_t buf = uv_buf_init((char *)b, (unsigned)n);
	assert_int_equal(uv_udp_try_send(u, &buf, 1, to), (int)n);
}

static void
nas_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct nas_sim *ns = u->data;
	const uint8_t *req = (const uint8_t *)buf->base;
	uint8_t out[256];
	uint8_t ack = req[0] == RADIUS_COA_REQUEST ? RADIUS_COA_ACK : RADIUS_DISCONNECT_ACK;
	static const uint8_t cause503[] = { 101, 6, 0, 0, 0x01, 0xf7 };
	static const uint8_t broken[] = { 18, 0 };

	(void)flags;
	if (nread <= 0 || from == NULL)
		return;
	if (ns->got < 8)
		ns->at[ns->got] = uv_hrtime() / 1000000;     /* not uv_now: that is the loop turn's start */
	if (ns->got == 0) {
		memcpy(ns->first, req, (size_t)nread);
		ns->first_len = (size_t)nread;
	}
	ns->got++;
	if (!ns->ids[req[1]]) {
		ns->ids[req[1]] = true;
		ns->distinct++;
	}
	memcpy(ns->last, req, (size_t)nread);
	ns->last_len = (size_t)nread;
	switch (ns->act) {
	case ACT_SILENT:
		return;
	case ACT_ACK:
		send_to(u, from, out, answer(req, ack, req[1], NULL, 0, secret, out));
		return;
	case ACT_NAK_503:
		send_to(u, from, out, answer(req, (uint8_t)(ack + 1), req[1], cause503, sizeof(cause503), secret, out));
		return;
	case ACT_BAD_AUTH_THEN_ACK:
		send_to(u, from, out, 0);                           /* an empty datagram */
		send_to(u, from, out, answer(req, ack, req[1], NULL, 0, "wrong", out));
		send_to(u, from, out, answer(req, ack, (uint8_t)(req[1] + 1), NULL, 0, secret, out));
		send_to(u, from, out, answer(req, ack, req[1], broken, sizeof(broken), secret, out));
		send_to(u, from, out, answer(req, ack, req[1], NULL, 0, secret, out));
		return;
	case ACT_OTHER_PORT_THEN_ACK:
		send_to(&ns->other, from, out, answer(req, ack, req[1], NULL, 0, secret, out));
		send_to(u, from, out, answer(req, ack, req[1], NULL, 0, secret, out));
		return;
	}
}

static void
nas_start(uv_loop_t *loop, struct nas_sim *ns, const char *ip)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(ns, 0, sizeof(*ns));
	if (strchr(ip, ':') != NULL)
		assert_int_equal(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss), 0);
	else
		assert_int_equal(uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss), 0);
	assert_int_equal(uv_udp_init(loop, &ns->udp), 0);
	assert_int_equal(uv_udp_init(loop, &ns->other), 0);
	ns->udp.data = ns->other.data = ns;
	assert_int_equal(uv_udp_bind(&ns->udp, (const struct sockaddr *)&ss, 0), 0);
	assert_int_equal(uv_udp_bind(&ns->other, (const struct sockaddr *)&ss, 0), 0);
	assert_int_equal(uv_udp_getsockname(&ns->udp, (struct sockaddr *)&ss, &len), 0);
	ns->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	assert_int_equal(uv_udp_recv_start(&ns->udp, on_alloc, nas_recv), 0);
}

static void
nas_stop(struct nas_sim *ns)
{
	uv_close((uv_handle_t *)&ns->udp, NULL);
	uv_close((uv_handle_t *)&ns->other, NULL);
}

static void
done(void *arg, const struct radius_coa_result *r)
{
	struct outcome *o = arg;

	o->calls++;
	o->r = *r;
	if (o->stop != NULL && o->calls >= o->stop_after)
		uv_stop(o->stop);
}

static struct radius_nas_conf
nas_conf(const char *name, const char *ip, uint16_t port)
{
	struct radius_nas_conf n = { .port = port, .secret_len = strlen(secret) };

	snprintf(n.name, sizeof(n.name), "%s", name);
	assert_int_equal(addr_parse(ip, strlen(ip), &n.addr), 0);
	memcpy(n.secret, secret, strlen(secret));
	return n;
}

static const struct radius_session session = {
	.acct_session_id = { "0A000001-00000001", 17 },
	.user_name = { "alice@isp.example", 17 },
	.nas_ip = { .family = AF_INET, .bytes = { 192, 0, 2, 1 } },
};

static void
guard_expired(uv_timer_t *t)
{
	*(bool *)t->data = true;
	uv_stop(t->loop);
}

/* The loop turned until o has seen its calls (5 s at most: a failure). */
static void
run(uv_loop_t *loop, struct outcome *o)
{
	uv_timer_t guard;
	bool expired = false;

	o->stop = loop;
	if (o->stop_after == 0)
		o->stop_after = 1;
	uv_timer_init(loop, &guard);
	guard.data = &expired;
	uv_timer_start(&guard, guard_expired, 5000, 0);
	if (o->calls < o->stop_after)
		uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	assert_false(expired);
}

static struct radius_coa_client *
client(uv_loop_t *loop, const struct radius_nas_conf *nases, size_t n, unsigned retries, usec_t timeout)
{
	struct radius_coa_conf conf = { .retries = retries, .timeout = timeout };
	char err[256];
	struct radius_coa_client *c = radius_coa_client_new(loop, &conf, nases, n, err, sizeof(err));

	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

static void
finish_loop(uv_loop_t *loop, struct radius_coa_client *c, struct nas_sim *ns)
{
	radius_coa_client_free(c);
	if (ns != NULL)
		nas_stop(ns);
	uv_run(loop, UV_RUN_DEFAULT);             /* every handle closed: the loop ends */
	assert_int_equal(uv_loop_close(loop), 0);
}

/* Does pkt[0..len) carry attribute type with value v? */
static bool
has_attr(const uint8_t *pkt, size_t len, uint8_t type, const void *v, size_t vlen)
{
	for (size_t off = 20; off + 2 <= len && pkt[off + 1] >= 2; off += pkt[off + 1])
		if (pkt[off] == type && pkt[off + 1] == vlen + 2 && memcmp(pkt + off + 2, v, vlen) == 0)
			return true;
	return false;
}

static void
test_ack_and_nak(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct nas_sim ns;
	const struct radius_coa_nas_stats *st;
	const char *name;

	uv_loop_init(&loop);
	nas_start(&loop, &ns, "127.0.0.1");
	struct radius_nas_conf nc = nas_conf("bng1", "127.0.0.1", ns.port);
	struct radius_coa_client *c = client(&loop, &nc, 1, 3, 1000 * 1000);
	struct outcome o = { 0 };

	ns.act = ACT_ACK;
	assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), 0);
	assert_int_equal(o.calls, 0);                       /* never before radius_coa_send returns */
	run(&loop, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_ACK);
	assert_string_equal(o.r.nas, "bng1");
	assert_int_equal(o.r.code, RADIUS_COA_REQUEST);
	assert_int_equal(o.r.sends, 1);
	assert_false(o.r.has_error_cause);
	/* the default identification: Acct-Session-Id and NAS-IP-Address, not User-Name */
	assert_true(has_attr(ns.last, ns.last_len, 44, "0A000001-00000001", 17));
	assert_true(has_attr(ns.last, ns.last_len, 4, session.nas_ip.bytes, 4));
	assert_false(has_attr(ns.last, ns.last_len, 1, "alice@isp.example", 17));

	ns.act = ACT_NAK_503;
	o = (struct outcome){ 0 };
	assert_int_equal(radius_coa_send(c, 0, RADIUS_DISCONNECT_REQUEST, &session, NULL, 0, done, &o), 0);
	run(&loop, &o);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_NAK);
	assert_int_equal(o.r.code, RADIUS_DISCONNECT_REQUEST);
	assert_true(o.r.has_error_cause);
	assert_int_equal(o.r.error_cause, 503);

	assert_true(radius_coa_nas(c, 0, &name, &st));
	assert_string_equal(name, "bng1");
	assert_int_equal(st->sent, 2);
	assert_int_equal(st->acked, 1);
	assert_int_equal(st->naked, 1);
	assert_int_equal(st->naked_by_cause[radius_coa_cause_index(503)], 1);
	assert_int_equal(st->retransmitted, 0);
	assert_int_equal(st->outstanding, 0);
	assert_false(radius_coa_nas(c, 1, &name, &st));
	finish_loop(&loop, c, &ns);
}

/* An empty datagram, a wrong authenticator, wrong Identifier, a broken packet and an answer from another
 * port are each counted and dropped; the request still takes its real answer. */
static void
test_bad_answers_dropped(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct nas_sim ns;
	const struct radius_coa_nas_stats *st;
	const char *name;

	uv_loop_init(&loop);
	nas_start(&loop, &ns, "127.0.0.1");
	struct radius_nas_conf nc = nas_conf("bng1", "127.0.0.1", ns.port);
	struct radius_coa_client *c = client(&loop, &nc, 1, 3, 1000 * 1000);
	struct outcome o = { 0 };

	ns.act = ACT_BAD_AUTH_THEN_ACK;
	assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), 0);
	run(&loop, &o);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_ACK);
	ns.act = ACT_OTHER_PORT_THEN_ACK;
	o = (struct outcome){ 0 };
	assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), 0);
	run(&loop, &o);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_ACK);
	assert_int_equal(o.calls, 1);

	assert_true(radius_coa_nas(c, 0, &name, &st));
	assert_int_equal(st->acked, 2);
	assert_int_equal(st->dropped[RADIUS_COA_E_AUTHENTICATOR], 1);
	assert_int_equal(st->dropped[RADIUS_COA_E_IDENTIFIER], 1);
	assert_int_equal(st->dropped[RADIUS_COA_E_ATTRIBUTE], 1);
	assert_int_equal(st->dropped[RADIUS_COA_E_SHORT], 1);
	assert_int_equal(radius_coa_unknown_source(c), 1);
	finish_loop(&loop, c, &ns);
}

/* A NAS that never answers: the same bytes again after 40, 80, 160 ms, then TIMEOUT. */
static void
test_retries_then_timeout(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct nas_sim ns;
	const struct radius_coa_nas_stats *st;
	const char *name;

	uv_loop_init(&loop);
	nas_start(&loop, &ns, "127.0.0.1");
	struct radius_nas_conf nc = nas_conf("bng1", "127.0.0.1", ns.port);
	struct radius_coa_client *c = client(&loop, &nc, 1, 3, 40 * 1000);
	struct outcome o = { 0 };

	ns.act = ACT_SILENT;
	uv_update_time(&loop);
	uint64_t start = uv_now(&loop);
	assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), 0);
	run(&loop, &o);
	uint64_t took = uv_now(&loop) - start;
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_TIMEOUT);
	assert_int_equal(o.r.sends, 4);
	assert_int_equal(ns.got, 4);
	assert_int_equal(ns.first_len, ns.last_len);
	assert_memory_equal(ns.first, ns.last, ns.last_len);       /* a retransmission is the same packet */
	/* waits of 40, 80, 160 and 320 ms: each gap its wait (libuv's timers count whole
	 * milliseconds from the loop turn's start, hence a millisecond or two early) */
	assert_true(ns.at[1] - ns.at[0] >= 38);
	assert_true(ns.at[2] - ns.at[1] >= 78);
	assert_true(ns.at[3] - ns.at[2] >= 158);
	assert_true(ns.at[3] - ns.at[2] < 320);
	assert_true(took >= 600);
	assert_true(radius_coa_nas(c, 0, &name, &st));
	assert_int_equal(st->sent, 1);
	assert_int_equal(st->retransmitted, 3);
	assert_int_equal(st->timed_out, 1);
	assert_int_equal(st->outstanding, 0);
	finish_loop(&loop, c, &ns);
}

/* 256 requests wait at once, each with its own Identifier; the 257th is refused; freeing
 * the client ends them all CANCELLED. */
static void
test_outstanding_limit(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct nas_sim ns;
	struct outcome o = { 0 };

	uv_loop_init(&loop);
	nas_start(&loop, &ns, "127.0.0.1");
	struct radius_nas_conf nc = nas_conf("bng1", "127.0.0.1", ns.port);
	struct radius_coa_client *c = client(&loop, &nc, 1, 1, 10 * 1000 * 1000);

	ns.act = ACT_SILENT;
	/* a session the NAS cannot find: nothing sent */
	struct radius_session none = { .nas_ip = session.nas_ip };
	assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &none, NULL, 0, done, &o), -ENODATA);
	for (int i = 0; i < RADIUS_COA_OUTSTANDING; i++)
		assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), 0);
	assert_int_equal(radius_coa_send(c, 0, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), -EBUSY);
	assert_int_equal(radius_coa_send(c, 1, RADIUS_COA_REQUEST, &session, NULL, 0, done, &o), -ENOENT);
	/* every request reached the NAS, each under another Identifier */
	while (ns.got < RADIUS_COA_OUTSTANDING)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(ns.distinct, RADIUS_COA_OUTSTANDING);
	assert_int_equal(o.calls, 0);
	radius_coa_client_free(c);
	assert_int_equal(o.calls, RADIUS_COA_OUTSTANDING);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_CANCELLED);
	nas_stop(&ns);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Per NAS: CoA with the quarantine or release attributes, or a Disconnect; over IPv6 too. */
static void
test_apply_per_nas(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct nas_sim ns4, ns6;
	struct radius_dict *d = radius_dict_new();
	char err[256];

	uv_loop_init(&loop);
	nas_start(&loop, &ns4, "127.0.0.1");
	nas_start(&loop, &ns6, "::1");
	struct radius_nas_conf nc[2] = { nas_conf("bng-coa", "127.0.0.1", ns4.port),
		nas_conf("wlc-disconnect", "::1", ns6.port) };
	assert_int_equal(radius_dict_avp_parse(d, "Filter-Id = \"walled-garden\"", &nc[0].quarantine[0], err,
	    sizeof(err)), 0);
	nc[0].nquarantine = 1;
	assert_int_equal(radius_dict_avp_parse(d, "Filter-Id = \"normal\"", &nc[0].release[0], err, sizeof(err)), 0);
	nc[0].nrelease = 1;
	nc[0].ident = RADIUS_IDENT_USER_NAME;
	nc[1].disconnect = true;
	nc[1].message_authenticator = true;
	struct radius_coa_client *c = client(&loop, nc, 2, 3, 1000 * 1000);
	struct outcome o = { 0 };

	ns4.act = ns6.act = ACT_ACK;
	assert_int_equal(radius_coa_nas_index(c, "wlc-disconnect"), 1);
	assert_int_equal(radius_coa_nas_index(c, "nope"), -1);
	assert_int_equal(radius_coa_apply(c, 0, false, &session, done, &o), 0);
	run(&loop, &o);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_ACK);
	assert_int_equal(ns4.last[0], RADIUS_COA_REQUEST);
	assert_true(has_attr(ns4.last, ns4.last_len, 11, "walled-garden", 13));
	assert_true(has_attr(ns4.last, ns4.last_len, 1, "alice@isp.example", 17));
	assert_false(has_attr(ns4.last, ns4.last_len, 44, "0A000001-00000001", 17));
	o = (struct outcome){ 0 };
	assert_int_equal(radius_coa_apply(c, 0, true, &session, done, &o), 0);
	run(&loop, &o);
	assert_true(has_attr(ns4.last, ns4.last_len, 11, "normal", 6));

	o = (struct outcome){ 0 };
	assert_int_equal(radius_coa_apply(c, 1, false, &session, done, &o), 0);
	run(&loop, &o);
	assert_int_equal(o.r.outcome, RADIUS_COA_OUTCOME_ACK);
	assert_string_equal(o.r.nas, "wlc-disconnect");
	assert_int_equal(ns6.last[0], RADIUS_DISCONNECT_REQUEST);
	assert_int_equal(ns6.last[20], 80);                 /* Message-Authenticator first */
	assert_int_equal(ns6.last[21], 18);
	assert_false(has_attr(ns6.last, ns6.last_len, 11, "walled-garden", 13));
	radius_dict_free(d);
	nas_stop(&ns4);
	finish_loop(&loop, c, &ns6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ack_and_nak),
		cmocka_unit_test(test_bad_answers_dropped),
		cmocka_unit_test(test_retries_then_timeout),
		cmocka_unit_test(test_outstanding_limit),
		cmocka_unit_test(test_apply_per_nas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
