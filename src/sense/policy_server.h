/*
 * policy_server.h — the policy service's listeners and connections on the libuv loop.
 *
 * Accepts Postfix's connections (TCP over IPv4/IPv6, unix sockets), frames and parses
 * requests, asks the decide callback for each answer (lazaretd wires it to the relay's
 * decision, act/relay_policy: the sensor knows nothing of what acts on its requests),
 * and keeps the counters /metrics shows.
 * A malformed request is logged and its connection closed without an answer; every
 * other connection carries on.
 *
 * Against peers that are not Postfix: a TCP peer outside [policy] allow is closed at
 * once (unix sockets are guarded by their permissions); one address holds at most
 * max_connections_per_peer connections; a request must be whole request_timeout after
 * its first byte. Connections read into one shared buffer; only a request split across
 * reads is kept, in a buffer of its connection's own that is freed once it is answered:
 * up to POLICY_BUF_SMALL bytes each, and beyond that POLICY_BUF_BUDGET bytes for all
 * connections together. Every log line a peer can cause goes through a rate limit.
 */
#ifndef LAZARET_SENSE_POLICY_SERVER_H
#define LAZARET_SENSE_POLICY_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "sense/policy.h"

#define POLICY_BUF_SMALL  4096u           /* a partial request any connection may keep */
#define POLICY_BUF_BUDGET (16u << 20)     /* partial requests beyond that, all connections */

/* Decision latency buckets, upper bounds in microseconds; the last bucket is +Inf. */
#define POLICY_LATENCY_BUCKETS 12
extern const double policy_latency_bounds_us[POLICY_LATENCY_BUCKETS - 1];

struct policy_stats {
	uint64_t requests[POLICY_STATE_COUNT][POLICY_ACTION_COUNT];
	uint64_t malformed;
	uint64_t connections_total;
	uint64_t connections_open;
	uint64_t connections_refused;     /* over max_connections */
	uint64_t idle_closed;
	uint64_t denied;                  /* peer not in [policy] allow */
	uint64_t peer_refused;            /* over max_connections_per_peer */
	uint64_t request_timeouts;        /* a request not whole within request_timeout */
	uint64_t buffer_refused;          /* a partial request over POLICY_BUF_BUDGET */
	uint64_t buffer_bytes;            /* held now for partial requests */
	uint64_t latency_bucket[POLICY_LATENCY_BUCKETS];
	uint64_t latency_count;
	double latency_sum_us;
};

struct policy_server;

/*
 * The answer to one request at now: writes "action=...\n\n" into answer (at most
 * POLICY_ANSWER_MAX bytes), sets *len and returns the action, for the counters. Runs on
 * the loop thread and must not block.
 */
typedef enum policy_action (*policy_decide_fn)(void *arg, const struct policy_request *req, usec_t now,
                                               char *answer, size_t *len);

struct policy_server *policy_server_new(uv_loop_t *loop, policy_decide_fn decide, void *arg,
                                        const struct config *cfg);

/* Binds and listens on every configured address. 0, or -1 with a message in err. */
int policy_server_start(struct policy_server *ps, char *err, size_t errlen);

/* Picks up limits and timeouts from cfg (addresses need a restart). */
void policy_server_configure(struct policy_server *ps, const struct config *cfg);

/* Stops listening and closes every connection; the loop finishes the closes. */
void policy_server_stop(struct policy_server *ps);
void policy_server_free(struct policy_server *ps);

const struct policy_stats *policy_server_stats(const struct policy_server *ps);

#endif
