/*
 * lpm.h — longest-prefix match over IPv4 and IPv6 prefixes, a value per prefix: a
 * path-compressed binary trie (each node holds the whole prefix it stands for, so a
 * lookup compares it in two 64-bit words and skips the single-child runs), one trie per
 * family. Nodes are 32 bytes in one array that doubles, linked by index: a lookup walks
 * at most one node per distinct prefix length on the address's path.
 *
 * lpm_index adds a direct-indexed first level (poptrie's idea, one stride): 4 096 slots
 * per family by the address's first 12 bits, each holding the longest prefix of 12 bits
 * or fewer that covers it and the node to walk on from, so that a lookup skips the top
 * of the trie, where its branches are least predictable. 64 KiB; lpm_build and
 * blocklist_load make it, an insert drops it (lookups stay right, only slower).
 *
 * It answers "is this address a subscriber's, a relay's, on a C&C list, allowlisted?".
 * IPv4 and IPv6 prefixes never match an address of the other family, whatever its bytes
 * (10.0.0.0/8 does not hold a00::1, a00::/8 does not hold 10.0.0.1). An IPv4-mapped IPv6
 * address (::ffff:192.0.2.1, as an exporter's IPv6 fields may carry it) is the IPv4 host
 * it maps, as addr_parse makes it: looked up among the IPv4 prefixes, and a mapped prefix
 * of /96 or longer is inserted as the IPv4 prefix it maps.
 */
#ifndef LAZARET_COMMON_LPM_H
#define LAZARET_COMMON_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct lpm_node;
struct lpm_slot;

#define LPM_STRIDE 12             /* bits of the direct-indexed first level */

struct lpm {
	struct lpm_node *nodes;   /* [0] unused: index 0 means "none" */
	uint32_t used, cap;       /* nodes in use (with [0]) and allocated */
	uint32_t root[2];         /* IPv4, IPv6 */
	struct lpm_slot *index;   /* NULL, or 2 << LPM_STRIDE slots: IPv4's, then IPv6's */
	uint32_t prefixes;        /* prefixes holding a value */
};

/* A prefix and its value, for lpm_build. */
struct lpm_entry {
	struct cidr net;
	uint32_t value;
};

/* lpm_init — an empty table (allocates nothing). */
void lpm_init(struct lpm *t);

/* lpm_free — every node goes; the table is empty and usable again. */
void lpm_free(struct lpm *t);

/*
 * lpm_insert — net (masked, as cidr_parse gives it; bits past the prefix are ignored)
 * with value. Returns 1 when the prefix is new, 0 when it was there (its value is
 * replaced), -EINVAL for a family other than AF_INET/AF_INET6 or a prefix too long,
 * -ENOMEM (the table is as before).
 */
int lpm_insert(struct lpm *t, const struct cidr *net, uint32_t value);

/*
 * lpm_lookup — the longest prefix that contains a: true with its value in *value and the
 * prefix in *match (either may be NULL), false when none does.
 */
bool lpm_lookup(const struct lpm *t, const struct addr *a, uint32_t *value, struct cidr *match);

/*
 * lpm_build — a new table in *t (which lpm_init need not have seen) from n entries; a
 * prefix given twice keeps the last value. 0, or -EINVAL/-ENOMEM with *t left empty.
 */
int lpm_build(struct lpm *t, const struct lpm_entry *e, size_t n);

/* lpm_index — (re)build the first level once the prefixes are in. 0 or -ENOMEM (the
 * table still answers, through the trie alone). */
int lpm_index(struct lpm *t);

/* lpm_bytes — what the table costs (the struct, its node array and its index). */
size_t lpm_bytes(const struct lpm *t);

#endif
