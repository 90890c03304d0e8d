/*
 * radius_acct.h — lazaretd's RADIUS accounting service: [radius] listen sockets, bound
 * before privileges go, read on the loop, each datagram through the server's checks
 * (sense/radius_server.h: client by source network, authenticator, retransmissions),
 * answered, and applied to the address history (ident_radius). With the address history
 * failing to take a write (the store refused it), the request is still applied in memory
 * and answered; the store's own counters and logs say so.
 */
#ifndef LAZARET_SENSE_RADIUS_ACCT_H
#define LAZARET_SENSE_RADIUS_ACCT_H

#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/udprecv.h"
#include "ident/ident.h"
#include "sense/radius_server.h"

struct radius_acct_stats {
	uint64_t applied;                /* requests that changed the address history */
	uint64_t no_subscriber;          /* Start/Interim/Stop without the subscriber_id attribute */
	uint64_t no_address;             /* ... without an address or prefix */
};

struct radius_acct;

/* The service for cfg's [radius] (listen_count > 0), its clients from the
 * [radius client NAME] sections. NULL with err on ENOMEM. */
struct radius_acct *radius_acct_new(const struct config *cfg, char *err, size_t errlen);
/* Opens and binds the sockets: before privileges go. 0 or -1 with err. */
int radius_acct_bind(struct radius_acct *ra, char *err, size_t errlen);
/* Reads them on loop, applying requests to id. 0 or -1 with err. */
int radius_acct_start(struct radius_acct *ra, uv_loop_t *loop, struct ident *id, char *err, size_t errlen);
/* New clients, secrets and subscriber_id (SIGHUP); listeners change on restart only. */
int radius_acct_configure(struct radius_acct *ra, const struct config *cfg);
void radius_acct_stop(struct radius_acct *ra);
void radius_acct_free(struct radius_acct *ra);

const struct radius_server *radius_acct_server(const struct radius_acct *ra);
const struct radius_acct_stats *radius_acct_stats(const struct radius_acct *ra);
/* Listener i's address and socket counts (datagrams, kernel drops, answers segmented or
 * refused); false past the last. Zeros for a listener not started. */
bool radius_acct_listener(const struct radius_acct *ra, size_t i, struct listen_addr *la, struct udprecv_stats *st);

#endif
