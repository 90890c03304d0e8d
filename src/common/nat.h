/*
 * nat.h — deterministic carrier-grade NAT (RFC 7422): which subscriber's private address
 * sent from a public address and port, without the CGN's logs.
 *
 * A pool is a range of public IPv4 addresses, a range of private ones, the ports each
 * subscriber gets and the first port handed out (RFC 7422's reserved ports R are those
 * below it). RFC 7422's sequential algorithm (A = 0, its section 2.3 example): the
 * private addresses in order each take the next block of `ports` ports, from first_port
 * up, on the first public address until it holds floor((65536 - first_port) / ports)
 * blocks, then on the next. When the ports do not divide evenly, the ports past the
 * last whole block of every public address belong to nobody (the RFC's dynamic pool,
 * which only the CGN's own logs can attribute), and so do the blocks past the last
 * private address. RFC 7422 is IPv4 only (DS-Lite's IPv6 subscribers are not mapped).
 */
#ifndef LAZARET_COMMON_NAT_H
#define LAZARET_COMMON_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define NAT_POOL_TEXT_MAX 128

struct nat_pool {
	uint32_t public_first, public_last;   /* IPv4, host order, inclusive */
	uint32_t private_first, private_last;
	uint32_t ports;                       /* per subscriber */
	uint32_t first_port;                  /* the ports below are never handed out */
	uint32_t per_public;                  /* subscribers per public address */
};

enum nat_error {
	NAT_E_NO_PORT = 1,            /* a pool's public address without a port: names nobody */
	NAT_E_LOW_PORT,               /* a port below the pool's first port (reserved) */
	NAT_E_UNMAPPED,               /* a port in no subscriber's block (the dynamic rest) */
};
#define NAT_ERROR_COUNT 4

/*
 * nat_pool_parse — "PUBLIC PRIVATE PORTS [FIRST_PORT]": each range a network
 * ("198.51.100.0/24"), an address or FIRST-LAST ("100.64.0.1-100.64.0.14"), IPv4 only;
 * FIRST_PORT 1024 when left out. 0, or -1 with *why saying what is wrong (IPv6, ports
 * that do not fit, more private addresses than the public ports can hold).
 */
int nat_pool_parse(const char *text, struct nat_pool *out, const char **why);

/* The pool as nat_pool_parse reads it (ranges as networks when they are one); returns out. */
char *nat_pool_format(const struct nat_pool *p, char *out, size_t size);

/* Whether two pools share a public or a private address. */
bool nat_pools_overlap(const struct nat_pool *a, const struct nat_pool *b);

/*
 * nat_lookup — the private address behind a public address and source port, in the
 * pools pools[0, n). 1: *priv set; 0: the address is in no pool (not NAT: the address
 * is the subscriber's own); -NAT_E_x: a pool's address that names nobody for that
 * reason.
 */
int nat_lookup(const struct nat_pool *pools, size_t n, const struct addr *pub, bool has_port, uint16_t port,
	struct addr *priv);

/* nat_reverse — the public address and the ports [*lo, *hi] of a private address. 1, or
 * 0 when it is in no pool. */
int nat_reverse(const struct nat_pool *pools, size_t n, const struct addr *priv, struct addr *pub, uint16_t *lo,
	uint16_t *hi);

/* "no_port", "low_port", "unmapped"; "unknown" otherwise. */
const char *nat_error_name(int rc);

#endif
