/*
 * policy_send.c — a test client for the policy service: connects to ADDRESS:PORT,
 * [IPV6]:PORT or unix:/PATH, sends standard input, half-closes, and prints whatever
 * comes back until the server closes or TIMEOUT_MS (default 2000) passes.
 * Exit 0 when the server closed the connection, 3 on timeout, 1 on errors.
 * -b SOURCE connects from that local address (a loopback one: 127.0.0.N).
 *
 * usage: policy_send [-b SOURCE] ADDRESS [TIMEOUT_MS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
connect_to(const char *where, const char *source)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[128];
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (strncmp(where, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", where + 5);
		len = sizeof(*un);
	} else {
		const char *colon = strrchr(where, ':');
		if (colon == NULL || (size_t)(colon - where) >= sizeof(host))
			return -1;
		if (where[0] == '[') {
			memcpy(host, where + 1, (size_t)(colon - where - 2));
			host[colon - where - 2] = '\0';
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
				return -1;
			len = sizeof(*s6);
		} else {
			memcpy(host, where, (size_t)(colon - where));
			host[colon - where] = '\0';
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)atoi(colon + 1));
			if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
				return -1;
			len = sizeof(*s4);
		}
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) < 0)
		return -1;
	if (source != NULL) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, source, &src.sin_addr) != 1 || bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	const char *source = NULL;
	int fd, timeout;

	if (argc > 2 && strcmp(argv[1], "-b") == 0) {
		source = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: policy_send [-b SOURCE] ADDRESS [TIMEOUT_MS]\n");
		return 1;
	}
	timeout = argc > 2 ? atoi(argv[2]) : 2000;
	signal(SIGPIPE, SIG_IGN);      /* a server that closes at once: EPIPE, then read what came */
	if ((fd = connect_to(argv[1], source)) < 0) {
		fprintf(stderr, "policy_send: cannot connect to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0) {
				/* the server may close on a malformed request before reading it all */
				goto drain;
			}
			off += w;
		}
drain:
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int rc = poll(&p, 1, timeout);
		if (rc == 0)
			return 3;
		if (rc < 0)
			return 1;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return n == 0 || errno == ECONNRESET ? 0 : 1;
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
}
