/*
 * addr.c — address parsing and formatting with inet_pton/inet_ntop, nothing clever.
 */
#include "common/addr.h"

#include <netinet/in.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int
addr_parse(const char *text, size_t len, struct addr *out)
{
	char buf[ADDR_TEXT_MAX];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (memchr(buf, ':', len) != NULL) {
		if (inet_pton(AF_INET6, buf, out->bytes) != 1)
			return -1;
		out->family = AF_INET6;
		/* An IPv4-mapped address is the IPv4 host it maps. */
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(out->bytes, mapped, sizeof(mapped)) == 0) {
			memmove(out->bytes, out->bytes + 12, 4);
			memset(out->bytes + 4, 0, 12);
			out->family = AF_INET;
		}
		return 0;
	}
	if (inet_pton(AF_INET, buf, out->bytes) != 1)
		return -1;
	out->family = AF_INET;
	return 0;
}

/* inet_ntop formats IPv4 through sprintf; this is on the path of every log line. */
static char *
addr_format_v4(const uint8_t *b, char *out, size_t size)
{
	char tmp[16], *p = tmp;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	if ((size_t)(p - tmp) > size) {
		if (size)
			out[0] = '\0';
		return out;
	}
	memcpy(out, tmp, (size_t)(p - tmp));
	return out;
}

char *
addr_format(const struct addr *a, char *out, size_t size)
{
	if (a->family == AF_INET)
		return addr_format_v4(a->bytes, out, size);
	if (inet_ntop(a->family, a->bytes, out, (socklen_t)size) == NULL && size)
		out[0] = '\0';
	return out;
}

void
addr_mask(struct addr *a, unsigned prefix)
{
	unsigned bits = a->family == AF_INET ? 32 : 128;

	if (prefix >= bits)
		return;
	a->bytes[prefix / 8] &= (uint8_t)(0xff00u >> (prefix % 8));
	for (unsigned i = prefix / 8 + 1; i < 16; i++)
		a->bytes[i] = 0;
	if (prefix % 8 == 0)
		a->bytes[prefix / 8] = 0;
}

int
cidr_parse(const char *text, struct cidr *out)
{
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned bits;

	if (addr_parse(text, alen, &out->addr) != 0)
		return -1;
	bits = out->addr.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->prefix = bits;
		return 0;
	}
	char *end;
	const char *p = slash + 1;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long n = strtoul(p, &end, 10);
	if (*end != '\0' || n > bits)
		return -1;
	out->prefix = (unsigned)n;
	addr_mask(&out->addr, out->prefix);
	return 0;
}

char *
cidr_format(const struct cidr *net, char *out, size_t size)
{
	char a[ADDR_TEXT_MAX];
	snprintf(out, size, "%s/%u", addr_format(&net->addr, a, sizeof(a)), net->prefix);
	return out;
}

int
listen_addr_parse(const char *text, struct listen_addr *out)
{
	const char *colon;
	size_t hlen;
	struct addr a;

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "unix:", 5) == 0) {
		const char *path = text + 5;
		if (*path == '\0' || strlen(path) >= sizeof(out->path))
			return -1;
		out->kind = LISTEN_UNIX;
		strcpy(out->path, path);
		return 0;
	}
	out->kind = LISTEN_TCP;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		hlen = (size_t)(close - text - 1);
		if (addr_parse(text + 1, hlen, &a) != 0 || a.family != AF_INET6)
			return -1;
		memcpy(out->host, text + 1, hlen);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - text);
		if (addr_parse(text, hlen, &a) != 0 || a.family != AF_INET)
			return -1;
		memcpy(out->host, text, hlen);
	}
	out->host[hlen] = '\0';
	char *end;
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return -1;
	out->port = (uint16_t)port;
	return 0;
}

char *
listen_addr_format(const struct listen_addr *la, char *out, size_t size)
{
	if (la->kind == LISTEN_UNIX)
		snprintf(out, size, "unix:%s", la->path);
	else if (strchr(la->host, ':') != NULL)
		snprintf(out, size, "[%s]:%u", la->host, la->port);
	else
		snprintf(out, size, "%s:%u", la->host, la->port);
	return out;
}

bool
listen_addr_is_local(const struct listen_addr *la)
{
	struct addr a;

	if (la->kind == LISTEN_UNIX)
		return true;
	if (addr_parse(la->host, strlen(la->host), &a) != 0)
		return false;
	if (a.family == AF_INET)
		return a.bytes[0] == 127;
	static const uint8_t loop6[16] = { [15] = 1 };
	return memcmp(a.bytes, loop6, 16) == 0;
}

char *
host_key(const struct addr *a, unsigned prefix_v4, unsigned prefix_v6, char *out, size_t size)
{
	struct cidr net = { .addr = *a };

	net.prefix = a->family == AF_INET ? prefix_v4 : prefix_v6;
	if (net.prefix >= (a->family == AF_INET ? 32u : 128u))
		return addr_format(a, out, size);
	addr_mask(&net.addr, net.prefix);
	return cidr_format(&net, out, size);
}

int
addr_from_sockaddr(const struct sockaddr *sa, struct addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			out->family = AF_INET;
			memcpy(out->bytes, in6->s6_addr + 12, 4);
		} else {
			out->family = AF_INET6;
			memcpy(out->bytes, in6->s6_addr, 16);
		}
		return 0;
	}
	return -1;
}
