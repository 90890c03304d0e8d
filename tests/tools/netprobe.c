/*
 * netprobe.c — the far ends and the probe of the enforcement test (network
 * namespaces): tiny TCP, UDP and HTTP servers that say who they are, and a client
 * that says what became of a connection attempt, in one word.
 *
 *   netprobe serve SPEC...        SPEC: KIND,LABEL,ADDR,PORT  (KIND: tcp, udp, http, http511)
 *       tcp      sends "LABEL\n" on accept, then echoes what it reads
 *       udp      answers every datagram with "LABEL\n"
 *       http     answers one request with 200 and the body "LABEL\n"
 *       http511  the same with 511 Network Authentication Required, no caching (RFC 6585)
 *     Prints "ready" once every socket listens; runs until killed.
 *
 *   netprobe connect [-t MS] [-s SRC] tcp|udp ADDR PORT
 *       Prints one line: "open LABEL", "refused" (RST or port unreachable),
 *       "unreachable" (ICMP host unreachable or admin-prohibited, IPv4), "prohibited"
 *       (ICMPv6 admin-prohibited), "reset", "timeout" or "error WHAT"; then " ms=N".
 *       Exit status 0 whatever the outcome, 2 on bad usage.
 *
 *   netprobe hold [-t MS] [-s SRC] ADDR PORT SECONDS
 *       Opens a TCP connection (to a tcp server), then every 100 ms sends a line and
 *       waits for its echo. Prints "connected LABEL", and at the end "alive", or
 *       "reset", "stalled" (no echo within -t MS) or "closed", with " ms=N" since start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/errqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 512

enum kind { K_TCP, K_UDP, K_HTTP, K_HTTP511, K_CONN_TCP, K_CONN_HTTP };

struct slot {
	enum kind kind;
	const char *label;
	char buf[4096];
	size_t len;
};

static long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: netprobe serve KIND,LABEL,ADDR,PORT...\n"
	        "       netprobe connect [-t MS] [-s SRC] tcp|udp ADDR PORT\n"
	        "       netprobe hold [-t MS] [-s SRC] ADDR PORT SECONDS\n");
	exit(2);
}

/* ADDR and PORT into a sockaddr; 0 or -1. */
static int
sockaddr_make(const char *addr, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	if (*port == '\0' || *end != '\0' || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static void
http_reply(int fd, enum kind kind, const char *label)
{
	char out[1024];
	int n;

	if (kind == K_HTTP511)
		n = snprintf(out, sizeof(out), "HTTP/1.1 511 Network Authentication Required\r\n"
		             "Cache-Control: no-store\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		             "Connection: close\r\n\r\n%s\n", strlen(label) + 1, label);
	else
		n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n", strlen(label) + 1, label);
	(void)!write(fd, out, (size_t)n);
}

static int
serve(int argc, char **argv)
{
	static struct pollfd pfd[MAX_FDS];
	static struct slot slot[MAX_FDS];
	int nfd = 0, one = 1;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < argc; i++) {
		char *spec = strdup(argv[i]);
		char *kind = strtok(spec, ","), *label = strtok(NULL, ","), *addr = strtok(NULL, ","),
		     *port = strtok(NULL, ",");
		struct sockaddr_storage ss;
		socklen_t sl;
		enum kind k;

		if (port == NULL || sockaddr_make(addr, port, &ss, &sl) != 0 || nfd >= MAX_FDS)
			usage();
		if (strcmp(kind, "tcp") == 0)
			k = K_TCP;
		else if (strcmp(kind, "udp") == 0)
			k = K_UDP;
		else if (strcmp(kind, "http") == 0)
			k = K_HTTP;
		else if (strcmp(kind, "http511") == 0)
			k = K_HTTP511;
		else
			usage();
		int fd = socket(ss.ss_family, k == K_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
		if (fd < 0)
			return perror("socket"), 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
			fprintf(stderr, "netprobe: bind %s port %s: %s\n", addr, port, strerror(errno));
			return 1;
		}
		if (k != K_UDP && listen(fd, 64) != 0)
			return perror("listen"), 1;
		pfd[nfd].fd = fd;
		pfd[nfd].events = POLLIN;
		slot[nfd].kind = k;
		slot[nfd].label = label;
		nfd++;
	}
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		if (poll(pfd, (nfds_t)nfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			return perror("poll"), 1;
		}
		for (int i = 0; i < nfd; i++) {
			if (pfd[i].revents == 0)
				continue;
			struct slot *s = &slot[i];
			char buf[2048];
			ssize_t r;
			if (s->kind == K_UDP) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				if (recvfrom(pfd[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) >= 0) {
					int n = snprintf(buf, sizeof(buf), "%s\n", s->label);
					sendto(pfd[i].fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
				}
			} else if (s->kind == K_TCP || s->kind == K_HTTP || s->kind == K_HTTP511) {
				int c = accept(pfd[i].fd, NULL, NULL);
				if (c < 0)
					continue;
				if (nfd >= MAX_FDS) {
					close(c);
					continue;
				}
				pfd[nfd].fd = c;
				pfd[nfd].events = POLLIN;
				pfd[nfd].revents = 0;
				slot[nfd].kind = s->kind == K_TCP ? K_CONN_TCP : K_CONN_HTTP;
				slot[nfd].label = s->label;
				slot[nfd].len = 0;
				if (s->kind != K_TCP) {
					/* remember which reply: 200 or 511 */
					slot[nfd].buf[0] = s->kind == K_HTTP511;
					slot[nfd].len = 1;
				} else {
					int n = snprintf(buf, sizeof(buf), "%s\n", s->label);
					(void)!write(c, buf, (size_t)n);
				}
				nfd++;
			} else {
				r = read(pfd[i].fd, buf, sizeof(buf));
				int done = r <= 0;
				if (!done && s->kind == K_CONN_TCP) {
					(void)!write(pfd[i].fd, buf, (size_t)r);
				} else if (!done) {
					size_t room = sizeof(s->buf) - 1 - s->len;
					size_t take = (size_t)r < room ? (size_t)r : room;
					memcpy(s->buf + s->len, buf, take);
					s->len += take;
					s->buf[s->len] = '\0';
					if (strstr(s->buf + 1, "\r\n\r\n") != NULL || strstr(s->buf + 1, "\n\n") != NULL ||
					    take < (size_t)r) {
						http_reply(pfd[i].fd, s->buf[0] ? K_HTTP511 : K_HTTP, s->label);
						done = 1;
					}
				}
				if (done) {
					close(pfd[i].fd);
					pfd[i] = pfd[nfd - 1];
					slot[i] = slot[nfd - 1];
					nfd--;
					i--;
				}
			}
		}
	}
}

static const char *
errno_word(int err)
{
	switch (err) {
	case ECONNREFUSED: return "refused";
	case EHOSTUNREACH: case ENETUNREACH: return "unreachable";
	case EACCES: case EPERM: return "prohibited";
	case ECONNRESET: return "reset";
	case ETIMEDOUT: return "timeout";
	default: return NULL;
	}
}

static int
client_socket(int type, const char *src, const struct sockaddr_storage *dst)
{
	int fd = socket(dst->ss_family, type | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (src != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl;
		if (sockaddr_make(src, "0", &ss, &sl) != 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0) {
			fprintf(stderr, "netprobe: cannot bind to %s: %s\n", src, strerror(errno));
			exit(2);
		}
	}
	return fd;
}

/* Waits for events on fd until deadline; the poll result. */
static int
wait_fd(int fd, short events, long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long left = deadline - now_ms();

	if (left < 0)
		left = 0;
	int r;
	while ((r = poll(&p, 1, (int)left)) < 0 && errno == EINTR)
		;
	return r;
}

/*
 * The errno of the ICMP error queued on fd (IP_RECVERR), or 0. The kernel reports an
 * ICMP error that arrives while connect() still holds the socket (over a veth it can
 * come back that fast) only as a soft error and retries the SYN a second later; the
 * error queue has it at once.
 */
static int
icmp_queued_error(int fd)
{
	char data[256], control[512];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
	                      .msg_controllen = sizeof(control) };

	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			return (int)ee.ee_errno;
		}
	}
	return 0;
}

/* A TCP connection to dst, waiting until deadline. fd >= 0, or -1 with *word set. */
static int
tcp_open(const char *src, const struct sockaddr_storage *dst, socklen_t dl, long deadline, const char **word,
         int *err)
{
	int fd = client_socket(SOCK_STREAM, src, dst);

	*err = 0;
	if (fd < 0) {
		*word = "error socket";
		return -1;
	}
	int one = 1;
	if (dst->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)dst, dl) != 0 && errno != EINPROGRESS) {
		*err = errno;
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, deadline) == 0) {
		*word = "timeout";
		close(fd);
		return -1;
	}
	socklen_t el = sizeof(*err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &el);
	if (*err == 0)
		*err = icmp_queued_error(fd);
	if (*err != 0)
		goto fail;
	return fd;
fail:
	*word = errno_word(*err);
	close(fd);
	return -1;
}

/* Reads one line into buf until deadline: its length, 0 on EOF, -1 on error (errno), -2 on timeout. */
static int
read_line(int fd, char *buf, size_t size, long deadline)
{
	size_t len = 0;

	while (len + 1 < size) {
		if (wait_fd(fd, POLLIN, deadline) == 0)
			return -2;
		ssize_t r = read(fd, buf + len, 1);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return (int)len;
}

static int
probe(int argc, char **argv, long timeout, const char *src)
{
	struct sockaddr_storage dst;
	socklen_t dl;
	long t0 = now_ms(), deadline = t0 + timeout;
	char line[256], out[300];
	const char *word = NULL;
	int err = 0;

	if (argc != 3 || sockaddr_make(argv[1], argv[2], &dst, &dl) != 0)
		usage();
	if (strcmp(argv[0], "tcp") == 0) {
		int fd = tcp_open(src, &dst, dl, deadline, &word, &err);
		if (fd >= 0) {
			int n = read_line(fd, line, sizeof(line), deadline);
			if (n > 0) {
				snprintf(out, sizeof(out), "open %s", line);
				word = out;
			} else if (n == -2) {
				word = "open-silent";
			} else if (n == 0) {
				word = "closed";
			} else {
				err = errno;
				word = errno_word(err);
			}
			close(fd);
		}
	} else if (strcmp(argv[0], "udp") == 0) {
		int fd = client_socket(SOCK_DGRAM, src, &dst);
		if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dl) != 0) {
			err = errno;
		} else {
			(void)!send(fd, "ping\n", 5, 0);
			for (;;) {
				if (wait_fd(fd, POLLIN, deadline) == 0) {
					word = "timeout";
					break;
				}
				ssize_t r = recv(fd, line, sizeof(line) - 1, 0);
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r < 0) {
					err = errno;
					word = errno_word(err);
					break;
				}
				line[r] = '\0';
				line[strcspn(line, "\n")] = '\0';
				snprintf(out, sizeof(out), "open %s", line);
				word = out;
				break;
			}
		}
		if (fd >= 0)
			close(fd);
	} else {
		usage();
	}
	if (word == NULL) {
		snprintf(out, sizeof(out), "error %s", strerror(err));
		word = out;
	}
	printf("%s ms=%ld\n", word, now_ms() - t0);
	return 0;
}

static int
hold(int argc, char **argv, long timeout, const char *src)
{
	struct sockaddr_storage dst;
	socklen_t dl;
	long t0 = now_ms();
	char line[256];
	const char *word = NULL;
	int err;

	if (argc != 3 || sockaddr_make(argv[0], argv[1], &dst, &dl) != 0)
		usage();
	long end = t0 + atol(argv[2]) * 1000;
	signal(SIGPIPE, SIG_IGN);
	int fd = tcp_open(src, &dst, dl, t0 + timeout, &word, &err);
	if (fd < 0) {
		printf("%s ms=%ld\n", word ? word : "error", now_ms() - t0);
		return 0;
	}
	if (read_line(fd, line, sizeof(line), t0 + timeout) <= 0) {
		printf("no-banner ms=%ld\n", now_ms() - t0);
		return 0;
	}
	printf("connected %s\n", line);
	fflush(stdout);
	while (now_ms() < end) {
		if (write(fd, "ping\n", 5) < 0) {
			word = errno_word(errno) ? errno_word(errno) : "error";
			break;
		}
		int n = read_line(fd, line, sizeof(line), now_ms() + timeout);
		if (n == -2) {
			word = "stalled";
			break;
		}
		if (n == 0) {
			word = "closed";
			break;
		}
		if (n < 0) {
			word = errno_word(errno) ? errno_word(errno) : "error";
			break;
		}
		usleep(100 * 1000);
	}
	printf("%s ms=%ld\n", word ? word : "alive", now_ms() - t0);
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	long timeout = 2000;
	const char *src = NULL;
	int c;

	if (argc < 2)
		usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "serve") == 0)
		return serve(argc - 2, argv + 2);
	optind = 2;
	while ((c = getopt(argc, argv, "+t:s:")) != -1) {
		switch (c) {
		case 't': timeout = atol(optarg); break;
		case 's': src = optarg; break;
		default: usage();
		}
	}
	if (strcmp(cmd, "connect") == 0)
		return probe(argc - optind, argv + optind, timeout, src);
	if (strcmp(cmd, "hold") == 0)
		return hold(argc - optind, argv + optind, timeout, src);
	usage();
}
