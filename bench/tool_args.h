/*
 * tool_args.h — what the bench's network tools (policy_load, shared_probe) share: dying with
 * a message, a number within bounds, and a target (HOST:PORT, [V6]:PORT, unix:PATH or /PATH)
 * resolved to a socket address. Header-only, like policy_request.h; each tool sets
 * tool_name before the first call.
 */
#ifndef LAZARET_BENCH_TOOL_ARGS_H
#define LAZARET_BENCH_TOOL_ARGS_H

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static const char *tool_name = "bench";

static void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* s as a decimal number in [min, max], or fatal naming `what`. */
static unsigned long
number(const char *s, unsigned long min, unsigned long max, const char *what)
{
	char *ep;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &ep, 10);
	if (*s == '\0' || *ep != '\0' || errno != 0 || v < min || v > max)
		fatal("%s: %s must be %lu..%lu", s, what, min, max);
	return v;
}

/* spec as a stream socket's address into *ss and *len, or fatal. */
static void
parse_target(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res;
	char host[256];
	const char *colon, *h;
	size_t hlen;
	int r;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(spec, "unix:", 5) == 0 || spec[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		if (spec[0] != '/')
			spec += 5;
		if (strlen(spec) >= sizeof(sun->sun_path))
			fatal("%s: socket path too long", spec);
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, spec);
		*len = sizeof(*sun);
		return;
	}
	if ((colon = strrchr(spec, ':')) == NULL)
		fatal("%s: want HOST:PORT, [V6]:PORT or unix:PATH", spec);
	h = spec;
	hlen = (size_t)(colon - spec);
	if (h[0] == '[') {
		if (hlen < 2 || h[hlen - 1] != ']')
			fatal("%s: bad [address]", spec);
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		fatal("%s: bad host", spec);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		fatal("%s: %s", spec, gai_strerror(r));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
}

#endif
