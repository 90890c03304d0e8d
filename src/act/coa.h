/*
 * coa.h — quarantine on the NAS ([enforce] mode = radius): the act layer's RADIUS
 * enforcer (RFC 5176).
 *
 * When a subscriber's committed level crosses into quarantine (or suspend), every
 * session it holds is told: a CoA-Request with its NAS's quarantine attributes, or a
 * Disconnect-Request where the NAS is set to `method = disconnect`; when it leaves, a
 * CoA with the release attributes (nothing for a Disconnect NAS: the subscriber comes
 * back through the AAA server's normal profile). A quarantined subscriber's new session
 * (a Start after a reconnect) is told at once. At start every quarantined subscriber's
 * sessions are told again, so the NAS is brought in line after either side restarted:
 * the store stays the truth.
 *
 * A session belongs to the [radius nas NAME] whose address is its NAS-IP-Address, or
 * whose identifier (the section's name by default) is its NAS-Identifier; sessions of
 * no configured NAS are counted and skipped. One request per session (a session's IPv4
 * address and IPv6 prefixes share it). The client (act/radius_coa.h) retries with a
 * doubling wait; every outcome — ACK, NAK with its Error-Cause, timeout — is logged,
 * recorded in the subscriber's history (actor "coa") and kept per subscriber for
 * `lazaretctl quarantines`.
 */
#ifndef LAZARET_ACT_COA_H
#define LAZARET_ACT_COA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "act/radius_coa.h"
#include "common/config.h"
#include "ident/ident.h"
#include "judge/judge.h"
#include "store/store.h"

/* The newest request's outcome for a subscriber. */
enum coa_state { COA_STATE_NONE, COA_STATE_PENDING, COA_STATE_ACKED, COA_STATE_NAKED, COA_STATE_FAILED };

struct coa_status {
	enum coa_state state;
	bool release;                  /* it was a release's */
	char nas[64];
	uint32_t error_cause;          /* NAKED: the NAS's cause, 0 when it gave none */
	usec_t time;                   /* when it was sent, or answered */
};

struct coa_stats {
	uint64_t requests;             /* sessions told */
	uint64_t no_nas;               /* sessions of no configured NAS */
	uint64_t no_session;           /* quarantined subscribers holding nothing: nothing to tell */
	uint64_t refused;              /* requests the client could not send (-EBUSY, no session attribute) */
	uint64_t resent;               /* subscribers told again after their NAS never answered */
};

struct coa;

/*
 * coa_resend — every subscriber whose last request got no answer at all (timed out, or
 * could not be sent) at least [radius] coa_resend ago is told again, if their level still
 * asks for it: a NAS that was down or unreachable is brought in line without waiting for a
 * restart or a new session. A NAK is the NAS's answer and is not repeated. Cheap to call
 * every second: it looks at most once a coa_resend (and once a minute at most often).
 */
void coa_resend(struct coa *c, usec_t now);

/*
 * coa_check — what coa_new would refuse in cfg, for `lazaretd -n`: the dictionary, each
 * NAS's identify list and attributes, as "file:line: message". 0 or -1.
 */
int coa_check(const struct config *cfg, char *err, size_t errlen);

/* The enforcer for cfg's [radius nas] sections on loop, reading subscribers from j and
 * their sessions from id, recording outcomes in st's history. NULL with err. */
struct coa *coa_new(uv_loop_t *loop, const struct config *cfg, struct judge *j, struct ident *id, struct store *st,
    char *err, size_t errlen);
void coa_free(struct coa *c);

/* Every quarantined subscriber's sessions told again (at start). */
void coa_start(struct coa *c);

/* The judge's observer: s crossed quarantine (a subscriber; others are ignored). */
void coa_level_changed(struct coa *c, const struct subject *s, int old_level, int new_level);

/* The identity layer's observer: a quarantined subscriber's new session is told. */
void coa_holder_changed(struct coa *c, const char *subscriber, size_t len, const struct cidr *net, bool held);

/* The newest outcome for subscriber (an id, not a key); false when none was sent. */
bool coa_status(const struct coa *c, const char *subscriber, size_t len, struct coa_status *out);

const struct radius_coa_client *coa_client(const struct coa *c);
void coa_stats_get(const struct coa *c, struct coa_stats *out);

const char *coa_state_name(enum coa_state s);

#endif
