/*
 * slowhttp.c — a slowloris for the integration tests: many HTTP connections from many
 * loopback source addresses, each trickling a request header that never ends, and a
 * report of what the server did with them.
 *
 *   slowhttp [-a ADDRESSES] [-c PER_ADDRESS] [-b BASE] [-i MS] [-t SECONDS] HOST PORT
 *
 *   ADDRESSES source addresses (default 75): BASE (default 127.10.0.1), then the next ones
 *             (127.10.0.1 .. 127.10.0.250, 127.10.1.1 ...); PER_ADDRESS connections from
 *             each (default 16). Every MS milliseconds (default 1000) each open connection
 *             sends one more byte of "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa..." and never
 *             the blank line. Runs SECONDS (default 15), then closes everything.
 *
 * Prints "ready open=N failed=N" once every connect has finished (failed: refused or
 * reset before the first byte could go), then at the end one line:
 *   done open=N refused=N closed=N alive=N min_close_ms=N max_close_ms=N
 * where refused counts connections the server closed within 500 ms of opening (a
 * connection cap), closed those it closed later (a deadline), with the least and
 * greatest time from connect to close among them, and alive those still open at the end.
 * Exit 0, or 2 on bad usage, 1 on errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOW_MAX_CONNS  20000
#define SLOW_REFUSED_MS 500

static const char slow_request[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";

enum slot_state { S_CONNECTING, S_OPEN, S_CLOSED, S_FAILED };

struct slot {
	int fd;
	enum slot_state state;
	long opened_ms;
	size_t sent;
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
	fprintf(stderr, "usage: slowhttp [-a ADDRESSES] [-c PER_ADDRESS] [-b BASE] [-i MS] [-t SECONDS] HOST PORT\n");
	exit(2);
}

/* One more byte of the never-ending header. */
static void
trickle(struct slot *s)
{
	char c = s->sent < sizeof(slow_request) - 1 ? slow_request[s->sent] : 'a';

	if (send(s->fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
		s->sent++;
}

int
main(int argc, char **argv)
{
	unsigned long addresses = 75, per = 16, interval = 1000, seconds = 15;
	const char *base = "127.10.0.1";
	struct in_addr base_addr, dst;
	int ch;

	while ((ch = getopt(argc, argv, "a:c:b:i:t:")) != -1) {
		switch (ch) {
		case 'a': addresses = strtoul(optarg, NULL, 10); break;
		case 'c': per = strtoul(optarg, NULL, 10); break;
		case 'b': base = optarg; break;
		case 'i': interval = strtoul(optarg, NULL, 10); break;
		case 't': seconds = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || addresses == 0 || per == 0 || interval == 0 || addresses * per > SLOW_MAX_CONNS ||
	    inet_pton(AF_INET, base, &base_addr) != 1 || inet_pton(AF_INET, argv[optind], &dst) != 1)
		usage();
	unsigned long port = strtoul(argv[optind + 1], NULL, 10);
	if (port == 0 || port > 65535)
		usage();

	/* we need a descriptor per connection too */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	size_t n = addresses * per;
	struct slot *slots = calloc(n, sizeof(*slots));
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	if (slots == NULL || pfd == NULL) {
		fprintf(stderr, "slowhttp: out of memory\n");
		return 1;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = dst };
	uint32_t first = ntohl(base_addr.s_addr);
	for (size_t i = 0; i < n; i++) {
		unsigned long a = i / per;
		/* 250 hosts per /24, skipping .0 and .251-.255 */
		uint32_t src = (first & 0xffff0000u) + (uint32_t)(((first >> 8) & 0xff) + a / 250) * 256 +
		    (uint32_t)((first & 0xff) + a % 250);
		struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(src) };
		struct slot *s = &slots[i];
		s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (s->fd < 0) {
			fprintf(stderr, "slowhttp: socket: %s\n", strerror(errno));
			return 1;
		}
		if (bind(s->fd, (struct sockaddr *)&from, sizeof(from)) != 0) {
			fprintf(stderr, "slowhttp: bind %s: %s\n", inet_ntoa(from.sin_addr), strerror(errno));
			return 1;
		}
		s->state = S_CONNECTING;
		s->opened_ms = now_ms();
		if (connect(s->fd, (struct sockaddr *)&to, sizeof(to)) == 0)
			s->state = S_OPEN;
		else if (errno != EINPROGRESS)
			s->state = S_FAILED;
	}

	long start = now_ms(), end = start + (long)seconds * 1000, next_tick = start;
	bool ready = false;
	size_t refused = 0, closed = 0;
	long min_close = -1, max_close = -1;
	for (;;) {
		long now = now_ms();
		size_t connecting = 0;
		if (now >= end)
			break;
		for (size_t i = 0; i < n; i++) {
			pfd[i].fd = slots[i].state == S_OPEN || slots[i].state == S_CONNECTING ? slots[i].fd : -1;
			pfd[i].events = slots[i].state == S_CONNECTING ? POLLOUT : POLLIN;
			pfd[i].revents = 0;
			connecting += slots[i].state == S_CONNECTING;
		}
		if (!ready && connecting == 0) {
			size_t open = 0, bad = 0;
			for (size_t i = 0; i < n; i++) {
				open += slots[i].state == S_OPEN;
				bad += slots[i].state == S_FAILED;
			}
			printf("ready open=%zu failed=%zu\n", open, bad);
			fflush(stdout);
			ready = true;
		}
		long wait = (next_tick < end ? next_tick : end) - now;
		if (poll(pfd, n, wait < 0 ? 0 : (int)wait) < 0 && errno != EINTR) {
			fprintf(stderr, "slowhttp: poll: %s\n", strerror(errno));
			return 1;
		}
		now = now_ms();
		for (size_t i = 0; i < n; i++) {
			struct slot *s = &slots[i];
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (s->state == S_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err != 0) {
					s->state = S_FAILED;
					continue;
				}
				s->state = S_OPEN;
				trickle(s);
				continue;
			}
			char buf[512];
			ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;        /* an answer (a 408, say) is read and dropped; the close follows */
			long lived = now - s->opened_ms;
			s->state = S_CLOSED;
			close(s->fd);
			s->fd = -1;
			if (lived < SLOW_REFUSED_MS) {
				refused++;
				continue;
			}
			closed++;
			if (min_close < 0 || lived < min_close)
				min_close = lived;
			if (lived > max_close)
				max_close = lived;
		}
		if (now >= next_tick) {
			for (size_t i = 0; i < n; i++)
				if (slots[i].state == S_OPEN)
					trickle(&slots[i]);
			next_tick = now + (long)interval;
		}
	}
	size_t open_total = 0, alive = 0;
	for (size_t i = 0; i < n; i++) {
		if (slots[i].state == S_OPEN)
			alive++;
		if (slots[i].state != S_FAILED)
			open_total++;
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	}
	printf("done open=%zu refused=%zu closed=%zu alive=%zu min_close_ms=%ld max_close_ms=%ld\n", open_total,
	    refused, closed, alive, min_close, max_close);
	free(slots);
	free(pfd);
	return 0;
}
