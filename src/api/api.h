/*
 * api.h — the operator API: HTTP + JSON for lazaretctl, /metrics for Prometheus.
 *
 * libmicrohttpd runs without threads of its own: its epoll descriptor is watched
 * by the libuv loop, so every handler runs on the loop thread beside the policy
 * service and touches the judge without locks. A quarantine or release answers only
 * once its verdict is committed (the connection is suspended until then).
 */
#ifndef LAZARET_API_API_H
#define LAZARET_API_API_H

#include <uv.h>

#include "act/garden.h"
#include "common/config.h"
#include "judge/judge.h"
#include "portal/portal.h"
#include "sense/delivery.h"
#include "sense/logfollow.h"
#include "sense/policy_server.h"
#include "store/store.h"

/* Connections each API listener holds at most; lazaretd counts them in its descriptor budget. */
#define API_MAX_CONNECTIONS 64

struct flow_collector;
struct flow_detect;
struct lease_follow;
struct report_intake;

struct api_context {
	struct judge *judge;
	struct store *store;
	struct policy_server *policy;
	struct delivery *delivery;
	struct logfollow *const *followers;   /* the followed mail logs, for their backlog */
	size_t follower_count;
	struct portal *portal;      /* may be NULL; set after the portal starts */
	struct garden *garden;      /* may be NULL (tests) */
	struct flow_collector *flows;   /* NULL without [flows] listen */
	struct flow_detect *flow_detect;    /* the flow detectors: NULL without [flows] listen */
	struct ident *ident;        /* the address history: NULL without an identity source */
	struct radius_acct *radius; /* RADIUS accounting: NULL without [radius] listen */
	struct coa *coa;            /* CoA to the NASes: NULL without [enforce] mode = radius */
	struct lease_follow *leases;        /* Kea's lease files: NULL without [dhcp] lease_file */
	struct report_intake *reports;      /* the report spool: NULL without [reports] directory */
	struct shared *shared;      /* the shared store: NULL with SQLite alone */
	const struct config *cfg;
	usec_t started;
	int socket_fd;              /* the Unix socket made by api_socket_bind, or -1: api_start makes it */
};

struct ident;
struct shared;
struct radius_acct;
struct coa;
struct api;

/*
 * api_socket_bind — make cfg->api.socket now (mode 0660, group api_socket_group or else
 * default_gid), for a process about to give up the right to chown it: lazaretd calls it
 * before dropping privileges and hands the descriptor to api_start in socket_fd. The
 * descriptor, -1 when no socket is configured (err empty), or -1 with err set.
 */
int api_socket_bind(const struct config *cfg, gid_t default_gid, char *err, size_t errlen);

/*
 * Listens on the Unix socket cfg->api.socket (mode 0660, group api_socket_group; no token
 * asked) and, if set, on TCP cfg->api.listen (bearer token on every request; HTTPS with
 * api_tls_cert). NULL with a message in err on failure.
 */
struct api *api_start(uv_loop_t *loop, const struct api_context *ctx, char *err, size_t errlen);

/* New configuration (token, texts); the address needs a restart. */
void api_configure(struct api *a, const struct config *cfg);

/* Stops listening and closes the loop handles; suspended requests must be done first. */
void api_stop(struct api *a);

/* The portal whose counters /metrics shows (it starts after the API). */
void api_set_portal(struct api *a, struct portal *p);

/* Requests still waiting for their verdict to commit. */
unsigned api_waiting(const struct api *a);

#endif
