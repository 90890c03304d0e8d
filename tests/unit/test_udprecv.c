/*
 * test_udprecv.c — the UDP receiver: datagrams handed on whole with their sender (IPv4,
 * IPv6, IPv4 on a dual-stack socket), a datagram too long counted and dropped, and the
 * kernel's own drops (its buffer full) counted from SO_RXQ_OVFL.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/udprecv.h"

struct seen {
	size_t count;
	size_t bytes;
	struct addr last_from;
	uint8_t last[64];
	size_t last_len;
	struct udprecv_peer last_peer;
};

static void
on_datagram(void *arg, const struct udprecv_peer *from, const uint8_t *buf, size_t len, usec_t now)
{
	struct seen *s = arg;

	assert_true(now > 0);
	assert_true(from->port != 0);
	s->count++;
	s->bytes += len;
	s->last_from = from->addr;
	s->last_peer = *from;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, buf, s->last_len);
}

/* A receiver on host (port chosen by the kernel), its port in *port. */
static struct udprecv *
start(uv_loop_t *loop, const char *host, int rcvbuf, struct seen *s, uint16_t *port)
{
	struct listen_addr la = { .kind = LISTEN_TCP, .port = 0 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char err[256];

	snprintf(la.host, sizeof(la.host), "%s", host);
	int fd = udprecv_open(&la, rcvbuf, err, sizeof(err));
	if (fd < 0)
		fail_msg("udprecv_open %s: %s", host, err);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	struct udprecv *u = udprecv_start(loop, fd, on_datagram, s, err, sizeof(err));
	if (u == NULL)
		fail_msg("udprecv_start: %s", err);
	return u;
}

static void
send_to(const char *host, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd;

	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, host, &s6->sin6_addr), 1);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, host, &s4->sin_addr), 1);
		sl = sizeof(*s4);
	}
	assert_true((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) >= 0);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl), (ssize_t)len);
	close(fd);
}

static void
stop(uv_loop_t *loop, struct udprecv *u)
{
	udprecv_stop(u);
	uv_run(loop, UV_RUN_NOWAIT);
}

static void
test_datagrams_with_sender(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct seen s = { 0 };
	uint16_t port;
	char buf[32];

	assert_int_equal(uv_loop_init(&loop), 0);
	struct udprecv *u = start(&loop, "127.0.0.1", 0, &s, &port);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(buf, sizeof(buf), "datagram %d", i);
		send_to("127.0.0.1", port, buf, (size_t)n);
	}
	/* the loop reads them: 100, more than one batch */
	for (int i = 0; i < 100 && s.count < 100; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(s.count, 100);
	assert_int_equal(s.last_len, strlen("datagram 99"));
	assert_memory_equal(s.last, "datagram 99", s.last_len);
	assert_int_equal(s.last_from.family, AF_INET);
	assert_memory_equal(s.last_from.bytes, "\x7f\x00\x00\x01", 4);
	const struct udprecv_stats *st = udprecv_stats(u);
	assert_int_equal(st->datagrams, 100);
	assert_int_equal(st->kernel_drops, 0);
	assert_true(st->rcvbuf > 0);

	/* too long to read whole: counted, not handed on */
	static uint8_t big[UDPRECV_MAX_SIZE + 100];
	send_to("127.0.0.1", port, big, sizeof(big));
	send_to("127.0.0.1", port, "after", 5);
	assert_int_equal(udprecv_read(u, 10), 2);
	assert_int_equal(st->truncated, 1);
	assert_int_equal(s.count, 101);
	assert_memory_equal(s.last, "after", 5);
	stop(&loop, u);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* An answer goes back to the sender's address and port (RADIUS answers this way). */
static void
test_send_answer(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct seen s = { 0 };
	uint16_t port;
	struct sockaddr_in to = { .sin_family = AF_INET };
	char got[16];

	assert_int_equal(uv_loop_init(&loop), 0);
	struct udprecv *u = start(&loop, "127.0.0.1", 0, &s, &port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	assert_int_equal(sendto(fd, "ask", 3, 0, (struct sockaddr *)&to, sizeof(to)), 3);
	assert_int_equal(udprecv_read(u, 10), 1);
	assert_int_equal(udprecv_send(u, &s.last_peer, "answer", 6), 0);
	assert_int_equal(recv(fd, got, sizeof(got), 0), 6);
	assert_memory_equal(got, "answer", 6);
	close(fd);
	stop(&loop, u);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* Replies made from the callback go out together after the batch, each to its sender and
 * in order; one too long for the queue goes at once. */
static struct udprecv *reply_u;

static void
on_ask(void *arg, const struct udprecv_peer *from, const uint8_t *buf, size_t len, usec_t now)
{
	struct seen *s = arg;
	char answer[UDPRECV_REPLY_MAX + 8];

	(void)now;
	s->count++;
	int n = snprintf(answer, sizeof(answer), "re:%.*s", (int)len, (const char *)buf);
	if (len == 1 && buf[0] == 'L') {              /* one too long to queue */
		memset(answer, 'L', sizeof(answer));
		n = (int)sizeof(answer);
	}
	assert_int_equal(udprecv_reply(reply_u, from, answer, (size_t)n), 0);
}

/* reply_u on loopback, answering with on_ask into s; its address into *ss, *sl. */
static void
reply_start(uv_loop_t *loop, struct seen *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct listen_addr la = { .kind = LISTEN_TCP, .port = 0 };
	char err[256];

	snprintf(la.host, sizeof(la.host), "127.0.0.1");
	int lfd = udprecv_open(&la, 0, err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)ss, sl), 0);
	assert_non_null(reply_u = udprecv_start(loop, lfd, on_ask, s, err, sizeof(err)));
}

static void
test_replies_batched(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct seen s = { 0 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char got[UDPRECV_REPLY_MAX + 16], ask[16];

	assert_int_equal(uv_loop_init(&loop), 0);
	reply_start(&loop, &s, &ss, &sl);
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(ask, sizeof(ask), "%d", i);
		assert_int_equal(sendto(i % 2 ? b : a, ask, (size_t)n, 0, (struct sockaddr *)&ss, sl), n);
	}
	assert_int_equal(sendto(a, "L", 1, 0, (struct sockaddr *)&ss, sl), 1);
	assert_int_equal(udprecv_read(reply_u, 1000), 101);
	assert_int_equal(s.count, 101);
	/* each sender its own answers, in order; more than one batch of them */
	for (int i = 0; i < 100; i++) {
		ssize_t n = recv(i % 2 ? b : a, got, sizeof(got), MSG_DONTWAIT);
		char want[16];
		snprintf(want, sizeof(want), "re:%d", i);
		assert_int_equal(n, (ssize_t)strlen(want));
		assert_memory_equal(got, want, strlen(want));
	}
	assert_int_equal(recv(a, got, sizeof(got), MSG_DONTWAIT), UDPRECV_REPLY_MAX + 8);
	assert_int_equal(udprecv_stats(reply_u)->send_errors, 0);
	close(a);
	close(b);
	stop(&loop, reply_u);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/*
 * Runs of replies of one size to one peer go as segmented messages (UDP_SEGMENT): the peer
 * still gets one datagram an answer, each whole, in order; a run ends at another peer, at
 * another size and at UDPRECV_GSO_MAX, and the stats count what went segmented.
 */
static void
test_replies_segmented(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct seen s = { 0 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char got[UDPRECV_REPLY_MAX + 16], ask[16], want[32];

	assert_int_equal(uv_loop_init(&loop), 0);
	reply_start(&loop, &s, &ss, &sl);
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	/* a: 70 asks answered in 5 bytes ("re:10".."re:79"): a batch of 64, one run of 64, then 6;
	 * b: 3; a again: 5 answered in 6 bytes ("re:100"..): runs of 6, 3 and 5 in the second batch */
	for (int i = 10; i < 80; i++) {
		int n = snprintf(ask, sizeof(ask), "%d", i);
		assert_int_equal(sendto(a, ask, (size_t)n, 0, (struct sockaddr *)&ss, sl), n);
	}
	for (int i = 80; i < 83; i++) {
		int n = snprintf(ask, sizeof(ask), "%d", i);
		assert_int_equal(sendto(b, ask, (size_t)n, 0, (struct sockaddr *)&ss, sl), n);
	}
	for (int i = 100; i < 105; i++) {
		int n = snprintf(ask, sizeof(ask), "%d", i);
		assert_int_equal(sendto(a, ask, (size_t)n, 0, (struct sockaddr *)&ss, sl), n);
	}
	assert_int_equal(udprecv_read(reply_u, 1000), 78);
	for (int i = 10; i < 105; i++) {
		if (i >= 83 && i < 100)
			continue;
		ssize_t n = recv(i >= 80 && i < 83 ? b : a, got, sizeof(got), MSG_DONTWAIT);
		snprintf(want, sizeof(want), "re:%d", i);
		if (n != (ssize_t)strlen(want) || memcmp(got, want, strlen(want)) != 0)
			fail_msg("answer %d: got %zd bytes '%.*s'", i, n, n > 0 ? (int)n : 0, got);
	}
	assert_int_equal(recv(a, got, sizeof(got), MSG_DONTWAIT), -1);    /* nothing more */
	assert_int_equal(recv(b, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(udprecv_stats(reply_u)->send_errors, 0);
	/* Linux >= 4.18 on loopback (Debian 12's 6.1): every one of them went in a run */
	assert_int_equal(udprecv_stats(reply_u)->segmented, 78);
	close(a);
	close(b);
	stop(&loop, reply_u);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_ipv6_and_dual_stack(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct seen s = { 0 };
	uint16_t port;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct udprecv *u = start(&loop, "::", 0, &s, &port);
	send_to("::1", port, "six", 3);
	assert_int_equal(udprecv_read(u, 10), 1);
	assert_int_equal(s.last_from.family, AF_INET6);
	send_to("127.0.0.1", port, "four", 4);       /* "::" takes IPv4 too, as IPv4 */
	assert_int_equal(udprecv_read(u, 10), 1);
	assert_int_equal(s.last_from.family, AF_INET);
	assert_memory_equal(s.last_from.bytes, "\x7f\x00\x00\x01", 4);
	stop(&loop, u);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* A full buffer: what the kernel dropped is counted once a datagram gets through again. */
static void
test_kernel_drops_counted(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct seen s = { 0 };
	uint16_t port;
	static uint8_t payload[1200];
	const size_t sent = 400;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct udprecv *u = start(&loop, "127.0.0.1", 4096, &s, &port);    /* a tiny buffer */
	for (size_t i = 0; i < sent; i++)
		send_to("127.0.0.1", port, payload, sizeof(payload));
	size_t got = udprecv_read(u, 10000);
	assert_true(got < sent);                      /* the buffer held only a few */
	send_to("127.0.0.1", port, "one more", 8);
	assert_int_equal(udprecv_read(u, 10), 1);
	const struct udprecv_stats *st = udprecv_stats(u);
	assert_int_equal(st->kernel_drops, sent - got);
	assert_int_equal(st->datagrams + st->kernel_drops, sent + 1);
	stop(&loop, u);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_bad_address(void **state)
{
	(void)state;
	struct listen_addr la = { .kind = LISTEN_UNIX };
	char err[256];

	snprintf(la.path, sizeof(la.path), "/tmp/x");
	assert_int_equal(udprecv_open(&la, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected ADDRESS:PORT"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_datagrams_with_sender),
		cmocka_unit_test(test_ipv6_and_dual_stack),
		cmocka_unit_test(test_send_answer),
		cmocka_unit_test(test_replies_batched),
		cmocka_unit_test(test_replies_segmented),
		cmocka_unit_test(test_kernel_drops_counted),
		cmocka_unit_test(test_bad_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
