/*
 * ident.h — who held an address when: the subscriber behind every address and prefix,
 * over time (issue 10).
 *
 * Identity sources (RADIUS accounting, DHCP leases) report sessions: subscriber S holds
 * network N from time t (a /32, an IPv6 /64 or delegated prefix), until a Stop, an
 * expiry, another holder or the NAS's restart. ident keeps what is held now and who held
 * each address just before, in memory, and every interval in the store (the address
 * history, kept for [identity] retention). A lookup names the holder of an address at a
 * time: the sensors attribute an observation to whoever held the address when it was
 * observed, so evidence never lands on the next customer of a dynamic address.
 *
 * Lookups by time are answered from memory for every time memory covers: since the
 * daemon started and within the last IDENT_MEMORY_HORIZON, or since the address's
 * earliest remembered interval; older times (a backlog read at start, a report weeks
 * late) go to the store. Addresses inside a bound prefix resolve to the prefix's holder,
 * the longest bound prefix first.
 *
 * Out-of-order events: a session event older than what the address already has (a Start
 * at t0 arriving after another holder's Start at t1 > t0) is stale and ignored, counted.
 */
#ifndef LAZARET_IDENT_IDENT_H
#define LAZARET_IDENT_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/timeutil.h"
#include "store/store.h"

#define IDENT_ID_MAX (STORE_SUBSCRIBER_MAX - 1)   /* a subscriber id's bytes at most */
#define IDENT_MEMORY_HORIZON (3600 * USEC_PER_SEC)

enum ident_source { IDENT_RADIUS, IDENT_DHCP4, IDENT_DHCP6, IDENT_SOURCE_COUNT };

/* A session event from an identity source. Strings are bytes (untrusted: escaped when
 * shown); origin is the configured RADIUS client's or lease file's name. */
struct ident_event {
	bool start;                       /* true: held from `at`; false: no longer held */
	struct cidr net;
	const char *subscriber;
	size_t subscriber_len;            /* 1..IDENT_ID_MAX, no NUL */
	const char *session;              /* may be NULL */
	size_t session_len;
	const char *origin;
	enum ident_source source;
	usec_t at;
	usec_t expires;                   /* start: when it lapses unless renewed (leases); 0: never */
	struct addr nas;                  /* RADIUS: the NAS's address (for CoA); family 0: none */
};

/* Who held an address: the holder's id and session, the network bound and the interval. */
struct ident_holder {
	struct cidr net;
	char subscriber[IDENT_ID_MAX + 1];
	size_t subscriber_len;
	char session[STORE_SESSION_MAX];
	char origin[STORE_ORIGIN_MAX];
	enum ident_source source;
	usec_t from;
	usec_t until;                     /* 0: still held */
	struct addr nas;                  /* family 0: unknown (history read from the store) */
};

struct ident_stats {
	uint64_t starts, stops;           /* events applied */
	uint64_t moves;                   /* starts that took an address from another holder */
	uint64_t stale;                   /* events older than what the address had: ignored */
	uint64_t unknown_stops;           /* stops for an address the subscriber did not hold */
	uint64_t origin_resets;           /* Accounting-On/Off: a NAS's sessions ended at once */
	uint64_t expired;                 /* leases lapsed */
	uint64_t store_lookups;           /* lookups older than memory */
	uint64_t store_errors;            /* writes or reads the store refused */
	uint64_t bound;                   /* networks held now */
	uint64_t subscribers;             /* subscribers holding one now */
};

/* Told when a subscriber starts or stops holding a network now (enforcement follows). */
typedef void (*ident_change_fn)(void *arg, const char *subscriber, size_t len, const struct cidr *net,
    bool held);

struct ident;

/* An empty table writing to st (NULL in tests: memory only). NULL on ENOMEM. */
struct ident *ident_new(struct store *st);
void ident_free(struct ident *id);

/* Reads the open intervals and prefix lengths back from the store; memory covers times
 * from now on. 0 or a negative code. */
int ident_load(struct ident *id, usec_t now);

void ident_set_observer(struct ident *id, ident_change_fn fn, void *arg);

/* Applies one session event. 0; -EINVAL for an event without a usable subscriber or
 * network; -ENOMEM; -EIO when the store refused the write (memory has it anyway). */
int ident_apply(struct ident *id, const struct ident_event *e);

/* Every session of origin (a NAS) ends at `at` (Accounting-On/Off: the NAS restarted).
 * Returns how many ended. */
size_t ident_end_origin(struct ident *id, const char *origin, usec_t at);

/*
 * ident_who — the holder of address a at time `at` (the address, not a prefix; an IPv6
 * host's /64 network address does). 1 with *out, 0 when nobody held it, or a negative
 * code when the store could not say.
 */
int ident_who(struct ident *id, const struct addr *a, usec_t at, struct ident_holder *out);

/*
 * ident_holder_id — the hot path of ident_who for the sensors: the holder's id (not
 * NUL-terminated, *len bytes), valid until the next ident call, or NULL for nobody (and
 * when the store could not say: the address is then its own subject, as without ident).
 */
const char *ident_holder_id(struct ident *id, const struct addr *a, usec_t at, size_t *len);

/* The networks subscriber holds now, up to max into out; returns how many it holds. */
size_t ident_networks(const struct ident *id, const char *subscriber, size_t len, struct cidr *out, size_t max);

/* The session the subscriber holds net by now (for CoA): false when it does not. */
bool ident_session(const struct ident *id, const char *subscriber, size_t len, struct ident_holder *out);

/* Every network the subscriber holds now with its session, NAS and since when, up to max
 * into out; returns how many it holds. */
size_t ident_holdings(const struct ident *id, const char *subscriber, size_t len, struct ident_holder *out,
    size_t max);

/* Ends lapsed leases and forgets what memory no longer needs; the store drops intervals
 * that ended more than retention ago. ident_sweep does it all at once (tests, tools);
 * lazaretd calls ident_sweep_some every second with a budget of networks, going on where
 * the last call stopped, so that a million held networks never stall the loop at once
 * (returns how many it looked at), and ident_expire_history once a minute (at most
 * 10 000 rows a call). */
void ident_sweep(struct ident *id, usec_t now, usec_t retention);
size_t ident_sweep_some(struct ident *id, usec_t now, size_t budget);
void ident_expire_history(struct ident *id, usec_t now, usec_t retention);

/* The address history of the network holding a (exactly, or the longest bound prefix
 * containing it), newest first, into each(). 0 or a negative code. */
int ident_history(struct ident *id, const struct addr *a, size_t limit,
    int (*each)(void *arg, const struct store_binding *b), void *arg);

void ident_stats_get(const struct ident *id, struct ident_stats *out);
size_t ident_memory(const struct ident *id);

const char *ident_source_name(enum ident_source s);

struct radius_packet;

/*
 * ident_radius — an Accounting-Request that passed every check (sense/radius_server),
 * from the [radius client NAME] `client`, applied (ident_radius.c): Start and
 * Interim-Update hold each of Framed-IP-Address, Framed-IPv6-Prefix and
 * Delegated-IPv6-Prefix for the subscriber `which` attribute names, Stop ends them,
 * Accounting-On/Off end every session of the NAS that sent it. The time is the
 * Event-Timestamp, unless absent or more than 5 minutes ahead of now. The NAS is the
 * client's name and the NAS-Identifier or NAS-IP-Address it gave (a FreeRADIUS that
 * replicates speaks for many NASes). Returns how many networks it changed, 0 for a
 * request that names none (counted), or -EINVAL when it names no subscriber.
 */
int ident_radius(struct ident *id, enum radius_subscriber_id which, const char *client,
    const struct radius_packet *p, usec_t now);

/*
 * ident_prefetch — asks the CPU for the table entries of nets[0..n) (as ident_apply masks
 * them) ahead of their lookups; ident_radius_prefetch does it for the addresses of a
 * batch of datagrams, before they are checked and applied one by one. Hints: nothing
 * changes, and a datagram that is not a request costs a parse.
 */
void ident_prefetch(const struct ident *id, const struct cidr *nets, size_t n);
void ident_radius_prefetch(const struct ident *id, const uint8_t *const *bufs, const size_t *lens, unsigned n);

#endif
