/*
 * enforce.h — putting quarantine into the network: the walled garden and the port-25
 * egress policy on the subscriber-facing gateway, behind a small backend table.
 *
 * Backends: nftables (libnftables, table "inet lazaret") for real; "none", which logs
 * the batch it would apply, so lazaretd runs anywhere without privilege. Every call is
 * one atomic batch. The store is the truth: at start the kernel's quarantine sets are
 * rebuilt from it in one batch (reconcile); set elements carry timeouts so a dead
 * daemon does not quarantine forever, and a refresh re-adds elements with delete+add
 * in the same batch (an add of an element already present does not reset its timeout).
 */
#ifndef LAZARET_ACT_ENFORCE_H
#define LAZARET_ACT_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/timeutil.h"

#define ENFORCE_MAX_LIST 256

/* A destination quarantined hosts may still reach: an address or network, and a port (0 = any). */
struct enforce_dest {
	struct cidr net;
	uint16_t port;
	uint8_t proto;          /* IPPROTO_TCP, IPPROTO_UDP, 0 = both */
};

struct enforce_config {
	char table[32];                                  /* "lazaret" */
	struct cidr subscribers[ENFORCE_MAX_LIST];       /* subscriber ranges: port-25 policy applies */
	size_t subscriber_count;
	struct addr relays[ENFORCE_MAX_LIST];            /* the only TCP/25 destinations subscribers may use */
	size_t relay_count;
	struct addr resolvers[ENFORCE_MAX_LIST];         /* DNS (53 udp+tcp) allowed to quarantined hosts */
	size_t resolver_count;
	struct enforce_dest remediation[ENFORCE_MAX_LIST]; /* update and antivirus sites, support */
	size_t remediation_count;
	struct addr portal_v4, portal_v6;                /* DNAT target of quarantined TCP/80 (family 0 = none) */
	uint16_t portal_port;
	usec_t element_timeout;                          /* per-element timeout in the kernel sets */
};

/* One quarantined host: an IPv4 /32 or an IPv6 /64 (other prefixes are refused: the
 * IPv6 set holds /64 network addresses, matched with a mask, because nft 1.0.6's
 * interval sets are quadratic on delete). */
struct enforce_entry {
	struct cidr net;
	usec_t timeout;          /* 0: the configured element_timeout */
	bool fresh;              /* known to be absent from the set: a plain add, no delete+add
	                          * (a third of the work; an add of a present element is a
	                          * no-op, so a wrong guess only misses one timeout refresh) */
};

struct enforce_stats {
	uint64_t batches;
	uint64_t failures;
	uint64_t elements_added;
	uint64_t elements_removed;
	double last_batch_us;
	double total_batch_us;
};

struct enforcer_ops {
	const char *name;
	/* Creates the table, chains and sets (replacing any earlier lazaret table's rules,
	 * never touching other tables) with the quarantine sets holding exactly all[0..n),
	 * in one transaction: no moment without the quarantines. 0 or -1 with a message in err. */
	int (*setup)(void *be, const struct enforce_config *cfg, const struct enforce_entry *all, size_t n,
	             char *err, size_t errlen);
	/* One atomic batch: add (or refresh: delete+add) the entries in add, remove those in del. */
	int (*apply)(void *be, const struct enforce_entry *add, size_t nadd, const struct cidr *del, size_t ndel,
	             char *err, size_t errlen);
	/* One atomic batch: make the quarantine sets contain exactly all[0..n). */
	int (*reconcile)(void *be, const struct enforce_entry *all, size_t n, char *err, size_t errlen);
	/* What the kernel's quarantine sets hold now (tests, verification); caller frees *out. */
	int (*list)(void *be, struct cidr **out, size_t *n, char *err, size_t errlen);
	void (*free)(void *be);
};

/* The caller's handle on a backend; the backends do not fill stats — the caller times
 * and counts each call. */
struct enforcer {
	const struct enforcer_ops *ops;
	void *be;
	struct enforce_stats stats;
};

/* Backends. */
extern const struct enforcer_ops enforce_nft_ops;    /* act/enforce_nft.c */
extern const struct enforcer_ops enforce_none_ops;   /* act/enforce_none.c: logs, keeps a copy in memory */
void *enforce_nft_new(char *err, size_t errlen);     /* NULL when libnftables cannot be used (no privilege) */
void *enforce_none_new(void);

/*
 * enforce_ruleset — the nft script that creates the table, sets and chains for cfg
 * (what setup applies), into buf. Pure, for tests and for `enforce = none` logging.
 * Returns the length, or -1 when buf is too small.
 */
int enforce_ruleset(const struct enforce_config *cfg, char *buf, size_t size);

/*
 * enforce_batch — the nft script for one apply into a malloc'ed string in *out: for
 * every element `add` (a no-op when present), `delete`, then for the entries to keep
 * `add ... timeout Ns` — so a refresh really restarts the timeout and neither a
 * refresh nor a removal of an absent element can fail the batch. Pure; only addresses
 * lazaret parsed itself are ever formatted into it. Returns the script's length, or
 * -EINVAL / -ENOMEM.
 */
int enforce_batch(const struct enforce_config *cfg, const struct enforce_entry *add, size_t nadd,
                  const struct cidr *del, size_t ndel, char **out);

/* enforce_reconcile_batch — flush both quarantine sets, then add exactly all[0..n). */
int enforce_reconcile_batch(const struct enforce_config *cfg, const struct enforce_entry *all, size_t n,
                            char **out);

/* enforce_parse_elements — `nft list set` output into cidrs (caller frees *out). 0 or -EINVAL. */
int enforce_parse_elements(const char *text, struct cidr **out, size_t *n);

/*
 * enforce_elements_text — the first few elements of entries e (or, when e is NULL, of
 * cidrs c) for a log line: "10.0.0.1,2001:db8::/64 (+98 more)", "-" when n is 0.
 * IPv4 hosts without their /32.
 */
void enforce_elements_text(const struct enforce_entry *e, const struct cidr *c, size_t n, char *out, size_t size);

/* enforce_nft_attach — adopt an existing table and its timeout without setup (tools). */
int enforce_nft_attach(void *be, const struct enforce_config *cfg);

#endif
