/*
 * policy_hold.c — a hostile peer for the policy service's integration tests: opens
 * CONNS connections (from SOURCE when given), sends each BYTES of a request that never
 * ends (no empty line; 0: nothing at all), then watches them for SECONDS and reports
 * which the server closed and when, counted from the moment each had sent its bytes:
 *
 *   opened=N connect_failed=F closed=C open=O min_ms=X max_ms=Y
 *
 * (min_ms and max_ms over the closed ones, -1 when none was). Exit 0, or 1 on usage
 * errors. Run it with a file descriptor limit above CONNS.
 *
 * usage: policy_hold [-b SOURCE] [-n CONNS] [-s BYTES] [-t SECONDS] ADDRESS:PORT|[V6]:PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses ADDRESS:PORT, [V6]:PORT or a bare address (port 0) into ss. 0 or -1. */
static int
parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon = strrchr(text, ':');
	int port = 0;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || (size_t)(end - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':')
			port = atoi(end + 2);
	} else if (colon != NULL && strchr(text, ':') == colon) {
		if ((size_t)(colon - text) >= sizeof(host))
			return -1;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = atoi(colon + 1);
	} else {
		snprintf(host, sizeof(host), "%s", text);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	const char *source = NULL;
	int conns = 10, seconds = 3, ch;
	size_t bytes = 100;
	struct sockaddr_storage to, from;
	socklen_t to_len, from_len = 0;

	while ((ch = getopt(argc, argv, "b:n:s:t:")) != -1) {
		switch (ch) {
		case 'b': source = optarg; break;
		case 'n': conns = atoi(optarg); break;
		case 's': bytes = (size_t)strtoul(optarg, NULL, 10); break;
		case 't': seconds = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || conns < 1 || seconds < 0 || parse_addr(argv[optind], &to, &to_len) != 0 ||
	    (source != NULL && parse_addr(source, &from, &from_len) != 0))
		goto usage;

	/* the request that never ends: its first line, then attribute lines of filler */
	char *req = malloc(bytes + 1);
	if (req == NULL)
		return 1;
	static const char head[] = "request=smtpd_access_policy\n";
	size_t n = 0;
	memcpy(req, head, bytes < sizeof(head) - 1 ? bytes : sizeof(head) - 1);
	n = bytes < sizeof(head) - 1 ? bytes : sizeof(head) - 1;
	while (n < bytes) {
		size_t line = bytes - n < 1000 ? bytes - n : 1000;
		memcpy(req + n, "x=", line < 2 ? line : 2);
		for (size_t i = 2; i + 1 < line; i++)
			req[n + i] = 'a';
		if (line > 2)
			req[n + line - 1] = '\n';
		n += line;
	}

	struct pollfd *p = calloc((size_t)conns, sizeof(*p));
	long long *sent_at = calloc((size_t)conns, sizeof(*sent_at));
	int opened = 0, failed = 0;
	if (p == NULL || sent_at == NULL) {
		free(p);
		free(sent_at);
		free(req);
		return 1;
	}
	for (int i = 0; i < conns; i++) {
		int fd = socket(to.ss_family, SOCK_STREAM, 0), one = 1;
		p[i].fd = -1;
		if (fd < 0) {
			failed++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if ((source != NULL && bind(fd, (struct sockaddr *)&from, from_len) != 0) ||
		    connect(fd, (struct sockaddr *)&to, to_len) != 0) {
			close(fd);
			failed++;
			continue;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		for (size_t off = 0; off < bytes;) {
			ssize_t w = send(fd, req + off, bytes - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			if (w < 0 && errno == EAGAIN) {
				struct pollfd wp = { .fd = fd, .events = POLLOUT };
				if (poll(&wp, 1, 1000) > 0)
					continue;
			}
			break;                 /* closed by the server, or stuck: watched below all the same */
		}
		p[i].fd = fd;
		p[i].events = POLLIN;
		sent_at[i] = now_ms();
		opened++;
	}

	int closed = 0;
	long long min_ms = -1, max_ms = -1, end = now_ms() + (long long)seconds * 1000;
	for (;;) {
		long long left = end - now_ms();
		if (left <= 0 || closed == opened)
			break;
		if (poll(p, (nfds_t)conns, (int)(left < 100 ? left : 100)) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < conns; i++) {
			char buf[4096];
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			ssize_t r = recv(p[i].fd, buf, sizeof(buf), 0);
			if (r > 0)
				continue;      /* an answer: none is expected, but not a close */
			if (r < 0 && errno == EAGAIN)
				continue;
			long long ms = now_ms() - sent_at[i];
			if (min_ms < 0 || ms < min_ms)
				min_ms = ms;
			if (ms > max_ms)
				max_ms = ms;
			closed++;
			close(p[i].fd);
			p[i].fd = -1;
		}
	}
	printf("opened=%d connect_failed=%d closed=%d open=%d min_ms=%lld max_ms=%lld\n", opened, failed, closed,
	    opened - closed, min_ms, max_ms);
	for (int i = 0; i < conns; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	free(sent_at);
	free(req);
	return 0;
usage:
	fprintf(stderr, "usage: policy_hold [-b SOURCE] [-n CONNS] [-s BYTES] [-t SECONDS] ADDRESS:PORT\n");
	return 1;
}
