/*
 * radius_server.h — lazaretd as a RADIUS accounting server (RFC 2866) for the BNGs and
 * NASes, or a `replicate` target of the operator's FreeRADIUS: issue 10's identity
 * source. Every datagram is checked in this order, and counted by the first reason it
 * fails: a known client (its source address inside a configured client's network),
 * a well-formed packet (sense/radius.h), an Accounting-Request, the Request
 * Authenticator made with that client's secret. A request that passes is answered with
 * an Accounting-Response and, unless it is a retransmission, handed on.
 *
 * Retransmissions (RFC 5080 §2.2.2: same client, source port, Identifier and Request
 * Authenticator) are answered again but not handed on twice. They are remembered in a
 * table of RADIUS_SERVER_DUPLICATES recent requests, indexed by a keyed hash of that
 * key: a retransmission whose entry another request took since is handed on again,
 * which the identity store must take in its stride (a Start or Stop seen twice).
 */
#ifndef LAZARET_SENSE_RADIUS_SERVER_H
#define LAZARET_SENSE_RADIUS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/timeutil.h"
#include "common/udprecv.h"
#include "sense/radius.h"

#define RADIUS_SERVER_DUPLICATES 4096
#define RADIUS_SERVER_DUPLICATE_AGE (30 * USEC_PER_SEC)   /* a retransmission comes within this */
#define RADIUS_SECRET_MAX 128

/* A NAS, BNG or FreeRADIUS that may send accounting, and the secret it shares with us. */
struct radius_client_conf {
	char name[64];
	struct cidr net;
	uint8_t secret[RADIUS_SECRET_MAX];
	size_t secret_len;
};

/* Why a datagram was dropped, beside radius.h's malformed reasons. */
enum radius_drop {
	RADIUS_DROP_UNKNOWN_CLIENT = RADIUS_ERROR_COUNT,
	RADIUS_DROP_COUNT
};

struct radius_client_stats {
	uint64_t requests;               /* Accounting-Requests that passed every check */
	uint64_t duplicates;             /* ... of them retransmissions, answered again only */
	uint64_t by_status[9];           /* by Acct-Status-Type (index 0: other or none) */
	uint64_t dropped[RADIUS_DROP_COUNT];   /* by enum radius_error (and wrong code, authenticator) */
};

struct radius_server_stats {
	uint64_t datagrams;
	uint64_t unknown_client;         /* from no configured client's network */
	uint64_t answered;
	uint64_t answer_errors;
};

/* A request that passed every check, for the first time: client's name, the packet
 * (views into the datagram, valid during the call) and who sent it. */
typedef void (*radius_request_fn)(void *arg, const char *client, const struct radius_packet *p,
    const struct udprecv_peer *from, usec_t now);

struct radius_server;

/* A server for clients[0..n) (copied), handing requests to fn. NULL on ENOMEM. */
struct radius_server *radius_server_new(const struct radius_client_conf *clients, size_t n, radius_request_fn fn,
    void *arg);
void radius_server_free(struct radius_server *rs);

/* New clients and secrets (a reload); the retransmission table is kept. 0 or -ENOMEM. */
int radius_server_set_clients(struct radius_server *rs, const struct radius_client_conf *clients, size_t n);

/*
 * radius_server_handle — one datagram from `from` at now: checked, counted, handed on.
 * 1 with the Accounting-Response in answer (send it back to from), 0 when dropped. The
 * socket-free core: the listener calls it, and so do the tests.
 */
int radius_server_handle(struct radius_server *rs, const struct udprecv_peer *from, const uint8_t *buf,
    size_t len, usec_t now, uint8_t answer[RADIUS_HEADER_LEN]);

/* One socket of the server: its datagrams through radius_server_handle, the answers
 * sent back on it. radius_server_datagram is its udprecv_fn, with the listener as arg. */
struct radius_listener {
	struct radius_server *rs;
	struct udprecv *u;
};
void radius_server_datagram(void *arg, const struct udprecv_peer *from, const uint8_t *buf, size_t len,
    usec_t now);

const struct radius_server_stats *radius_server_stats(const struct radius_server *rs);

/* Client i's name and counts; false past the last. */
bool radius_server_client(const struct radius_server *rs, size_t i, const char **name,
    const struct radius_client_stats **st);

/* The name of radius_client_stats.by_status[i] in stats and metrics ("start", "interim",
 * "accounting_on", "other" for 0); NULL for the indices no status counts in. */
const char *radius_status_name(unsigned i);

/* "unknown_client", or radius_error_name's. */
const char *radius_drop_name(int reason);

#endif
