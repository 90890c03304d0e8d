/*
 * nat.c — see nat.h.
 */
#include "common/nat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static uint32_t
v4(const struct addr *a)
{
	return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 | (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

static void
set_v4(struct addr *a, uint32_t x)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->bytes[0] = (uint8_t)(x >> 24), a->bytes[1] = (uint8_t)(x >> 16);
	a->bytes[2] = (uint8_t)(x >> 8), a->bytes[3] = (uint8_t)x;
}

/* "A.B.C.D/N", "A.B.C.D" or "A.B.C.D-E.F.G.H" into [*first, *last]. 0, -1, or -2 for IPv6. */
static int
range_parse(const char *s, size_t len, uint32_t *first, uint32_t *last)
{
	char buf[ADDR_TEXT_MAX * 2];
	const char *dash;
	struct cidr c;
	struct addr a, b;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((dash = strchr(buf, '-')) != NULL) {
		if (addr_parse(buf, (size_t)(dash - buf), &a) != 0 || addr_parse(dash + 1, strlen(dash + 1), &b) != 0)
			return -1;
		if (a.family != AF_INET || b.family != AF_INET)
			return -2;
		if (v4(&a) > v4(&b))
			return -1;
		*first = v4(&a), *last = v4(&b);
		return 0;
	}
	if (cidr_parse(buf, &c) != 0)
		return -1;
	if (c.addr.family != AF_INET)
		return -2;
	if (strchr(buf, '/') != NULL) {        /* bits past the prefix: not the network it says */
		if (addr_parse(buf, (size_t)(strchr(buf, '/') - buf), &a) != 0 || !addr_equal(&a, &c.addr))
			return -1;
	}
	*first = v4(&c.addr);
	*last = *first + (uint32_t)((UINT64_C(1) << (32 - c.prefix)) - 1);
	return 0;
}

int
nat_pool_parse(const char *text, struct nat_pool *out, const char **why)
{
	const char *w[5];
	size_t wl[5];
	int n = 0;
	unsigned long ports, first_port = 1024;
	char num[16], *end;

	*why = "PUBLIC PRIVATE PORTS_PER_SUBSCRIBER [FIRST_PORT]";
	for (const char *p = text; *p != '\0' && n < 5;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		w[n] = p;
		wl[n] = strcspn(p, " \t");
		p += wl[n++];
	}
	if (n < 3 || n > 4)
		return -1;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 2; i++) {
		int rc = range_parse(w[i], wl[i], i == 0 ? &out->public_first : &out->private_first,
			i == 0 ? &out->public_last : &out->private_last);
		if (rc == -2)
			*why = "IPv4 ranges: RFC 7422's deterministic NAT maps IPv4 only";
		if (rc != 0)
			return -1;
	}
	for (int i = 2; i < n; i++) {
		unsigned long v;
		if (wl[i] >= sizeof(num) || w[i][0] < '0' || w[i][0] > '9')
			return -1;
		memcpy(num, w[i], wl[i]);
		num[wl[i]] = '\0';
		v = strtoul(num, &end, 10);
		if (*end != '\0' || v < 1 || v > 65535)
			return -1;
		*(i == 2 ? &ports : &first_port) = v;
	}
	if (ports > 65536 - first_port) {
		*why = "PORTS_PER_SUBSCRIBER at most 65536 - FIRST_PORT";
		return -1;
	}
	out->ports = (uint32_t)ports;
	out->first_port = (uint32_t)first_port;
	out->per_public = (uint32_t)((65536 - first_port) / ports);
	uint64_t room = ((uint64_t)out->public_last - out->public_first + 1) * out->per_public;
	if ((uint64_t)out->private_last - out->private_first + 1 > room) {
		*why = "no more private addresses than the public addresses' ports hold "
		       "((65536 - FIRST_PORT) / PORTS_PER_SUBSCRIBER each)";
		return -1;
	}
	return 0;
}

/* The range as a network when it is one, else FIRST-LAST. */
static size_t
range_format(uint32_t first, uint32_t last, char *out, size_t size)
{
	struct addr a, b;
	char x[ADDR_TEXT_MAX], y[ADDR_TEXT_MAX];
	uint64_t count = (uint64_t)last - first + 1;
	unsigned prefix = 32;

	set_v4(&a, first);
	while (prefix > 0 && (UINT64_C(1) << (32 - prefix)) < count)
		prefix--;
	if ((UINT64_C(1) << (32 - prefix)) == count && (first & (uint32_t)(count - 1)) == 0)
		return (size_t)snprintf(out, size, prefix == 32 ? "%s" : "%s/%u", addr_format(&a, x, sizeof(x)), prefix);
	set_v4(&b, last);
	return (size_t)snprintf(out, size, "%s-%s", addr_format(&a, x, sizeof(x)), addr_format(&b, y, sizeof(y)));
}

char *
nat_pool_format(const struct nat_pool *p, char *out, size_t size)
{
	char pub[ADDR_TEXT_MAX * 2], priv[ADDR_TEXT_MAX * 2];

	range_format(p->public_first, p->public_last, pub, sizeof(pub));
	range_format(p->private_first, p->private_last, priv, sizeof(priv));
	snprintf(out, size, "%s %s %u %u", pub, priv, p->ports, p->first_port);
	return out;
}

bool
nat_pools_overlap(const struct nat_pool *a, const struct nat_pool *b)
{
	return (a->public_first <= b->public_last && b->public_first <= a->public_last) ||
	       (a->private_first <= b->private_last && b->private_first <= a->private_last);
}

int
nat_lookup(const struct nat_pool *pools, size_t n, const struct addr *pub, bool has_port, uint16_t port,
	struct addr *priv)
{
	if (pub->family != AF_INET)
		return 0;
	uint32_t a = v4(pub);
	for (size_t i = 0; i < n; i++) {
		const struct nat_pool *p = &pools[i];
		if (a < p->public_first || a > p->public_last)
			continue;
		if (!has_port)
			return -NAT_E_NO_PORT;
		if (port < p->first_port)
			return -NAT_E_LOW_PORT;
		uint32_t block = (port - p->first_port) / p->ports;
		if (block >= p->per_public)
			return -NAT_E_UNMAPPED;
		uint64_t idx = (uint64_t)(a - p->public_first) * p->per_public + block;
		if (idx > (uint64_t)p->private_last - p->private_first)
			return -NAT_E_UNMAPPED;
		set_v4(priv, p->private_first + (uint32_t)idx);
		return 1;
	}
	return 0;
}

int
nat_reverse(const struct nat_pool *pools, size_t n, const struct addr *priv, struct addr *pub, uint16_t *lo,
	uint16_t *hi)
{
	if (priv->family != AF_INET)
		return 0;
	uint32_t a = v4(priv);
	for (size_t i = 0; i < n; i++) {
		const struct nat_pool *p = &pools[i];
		if (a < p->private_first || a > p->private_last)
			continue;
		uint32_t idx = a - p->private_first;
		set_v4(pub, p->public_first + idx / p->per_public);
		*lo = (uint16_t)(p->first_port + (idx % p->per_public) * p->ports);
		*hi = (uint16_t)(*lo + p->ports - 1);
		return 1;
	}
	return 0;
}

const char *
nat_error_name(int rc)
{
	static const char *const names[NAT_ERROR_COUNT] = {
		[NAT_E_NO_PORT] = "no_port", [NAT_E_LOW_PORT] = "low_port", [NAT_E_UNMAPPED] = "unmapped",
	};
	int e = -rc;
	return e > 0 && e < NAT_ERROR_COUNT && names[e] != NULL ? names[e] : "unknown";
}
