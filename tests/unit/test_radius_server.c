/*
 * test_radius_server.c — the accounting server's checks and its memory of
 * retransmissions, on radclient's packets (tests/unit/data/radius/): an unknown
 * client, a wrong secret, a malformed packet, a packet of another code are dropped and
 * counted by reason; a good request is answered and handed on once, its retransmission
 * answered again and not handed on.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "sense/radius_server.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data/radius"
#endif

#define T0 ((usec_t)1764800000 * USEC_PER_SEC)

static uint8_t start_pkt[512];
static size_t start_len;

struct handed {
	int count;
	char client[64];
	uint8_t identifier;
	uint32_t status;
};

static void
on_request(void *arg, const char *client, const struct radius_packet *p, const struct udprecv_peer *from,
    usec_t now)
{
	struct handed *h = arg;

	(void)from;
	(void)now;
	h->count++;
	snprintf(h->client, sizeof(h->client), "%s", client);
	h->identifier = p->identifier;
	h->status = p->acct_status_type;
}

static int
load(void **state)
{
	(void)state;
	uint8_t buf[4096];
	FILE *fp = fopen(DATA_DIR "/acct-requests.bin", "rb");
	if (fp == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	if (n < 2)
		return -1;
	start_len = (size_t)buf[0] << 8 | buf[1];
	if (start_len > sizeof(start_pkt) || start_len + 2 > n)
		return -1;
	memcpy(start_pkt, buf + 2, start_len);
	return 0;
}

static struct udprecv_peer
peer(const char *ip, uint16_t port)
{
	struct udprecv_peer p = { 0 };
	assert_int_equal(addr_parse(ip, strlen(ip), &p.addr), 0);
	p.port = port;
	return p;
}

static struct radius_client_conf
client(const char *name, const char *net, const char *secret)
{
	struct radius_client_conf c = { 0 };
	snprintf(c.name, sizeof(c.name), "%s", name);
	assert_int_equal(cidr_parse(net, &c.net), 0);
	c.secret_len = strlen(secret);
	memcpy(c.secret, secret, c.secret_len);
	return c;
}

static void
test_checks_and_retransmissions(void **state)
{
	(void)state;
	struct radius_client_conf clients[2] = { client("lab", "127.0.0.0/8", "wrong-secret"),
	    client("bng1", "127.0.0.1/32", "testing123") };
	struct handed h = { 0 };
	struct radius_server *rs = radius_server_new(clients, 2, on_request, &h);
	uint8_t answer[RADIUS_HEADER_LEN];
	struct udprecv_peer bng = peer("127.0.0.1", 40000), other = peer("127.0.0.2", 40000),
	    stranger = peer("198.51.100.1", 40000);
	const char *name;
	const struct radius_client_stats *st;

	assert_non_null(rs);
	/* from no client's network */
	assert_int_equal(radius_server_handle(rs, &stranger, start_pkt, start_len, T0, answer), 0);
	assert_int_equal(radius_server_stats(rs)->unknown_client, 1);
	/* the most specific client's secret: answered, handed on */
	assert_int_equal(radius_server_handle(rs, &bng, start_pkt, start_len, T0, answer), 1);
	assert_int_equal(h.count, 1);
	assert_string_equal(h.client, "bng1");
	assert_int_equal(h.status, RADIUS_STATUS_START);
	assert_int_equal(answer[0], RADIUS_ACCOUNTING_RESPONSE);
	assert_int_equal(answer[1], 195);
	/* its retransmission: the same answer, not handed on again */
	uint8_t again[RADIUS_HEADER_LEN];
	assert_int_equal(radius_server_handle(rs, &bng, start_pkt, start_len, T0 + 3 * USEC_PER_SEC, again), 1);
	assert_memory_equal(answer, again, sizeof(answer));
	assert_int_equal(h.count, 1);
	/* the same packet from another source port is another request */
	struct udprecv_peer bng2 = peer("127.0.0.1", 40001);
	assert_int_equal(radius_server_handle(rs, &bng2, start_pkt, start_len, T0 + 4 * USEC_PER_SEC, again), 1);
	assert_int_equal(h.count, 2);
	/* and after RADIUS_SERVER_DUPLICATE_AGE, a new one */
	assert_int_equal(radius_server_handle(rs, &bng, start_pkt, start_len, T0 + RADIUS_SERVER_DUPLICATE_AGE +
	    USEC_PER_SEC, again), 1);
	assert_int_equal(h.count, 3);
	assert_true(radius_server_client(rs, 1, &name, &st));
	assert_string_equal(name, "bng1");
	assert_int_equal(st->requests, 4);
	assert_int_equal(st->duplicates, 1);
	assert_int_equal(st->by_status[RADIUS_STATUS_START], 3);

	/* the other client's secret does not make this authenticator */
	assert_int_equal(radius_server_handle(rs, &other, start_pkt, start_len, T0, answer), 0);
	assert_true(radius_server_client(rs, 0, &name, &st));
	assert_int_equal(st->dropped[RADIUS_E_AUTHENTICATOR], 1);
	/* malformed, and an Accounting-Response sent to us */
	assert_int_equal(radius_server_handle(rs, &other, start_pkt, 10, T0, answer), 0);
	assert_int_equal(st->dropped[RADIUS_E_SHORT], 1);
	uint8_t resp[RADIUS_HEADER_LEN];
	memcpy(resp, answer, sizeof(resp));
	assert_int_equal(radius_server_handle(rs, &other, resp, sizeof(resp), T0, answer), 0);
	assert_int_equal(st->dropped[RADIUS_E_CODE], 1);
	/* a tampered request from the right client */
	uint8_t bad[512];
	memcpy(bad, start_pkt, start_len);
	bad[start_len - 1] ^= 1;
	assert_int_equal(radius_server_handle(rs, &bng, bad, start_len, T0 + 100 * USEC_PER_SEC, answer), 0);
	assert_true(radius_server_client(rs, 1, &name, &st));
	assert_int_equal(st->dropped[RADIUS_E_AUTHENTICATOR], 1);
	assert_int_equal(h.count, 3);
	assert_string_equal(radius_drop_name(RADIUS_DROP_UNKNOWN_CLIENT), "unknown_client");
	assert_string_equal(radius_drop_name(RADIUS_E_AUTHENTICATOR), "authenticator");

	/* a reload keeps a client's counts by name */
	struct radius_client_conf one = client("bng1", "127.0.0.0/8", "testing123");
	assert_int_equal(radius_server_set_clients(rs, &one, 1), 0);
	assert_true(radius_server_client(rs, 0, &name, &st));
	assert_int_equal(st->requests, 4);
	assert_false(radius_server_client(rs, 1, &name, &st));
	radius_server_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks_and_retransmissions),
	};
	return cmocka_run_group_tests(tests, load, NULL);
}
