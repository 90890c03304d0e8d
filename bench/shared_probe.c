/*
 * shared_probe.c — verdict propagation between two lazaretd nodes sharing a store
 * (bench/shared.sh): N operator quarantines sent to node A's API at a paced rate, and node
 * B's policy service asked about each quarantined address until it answers REJECT.
 *
 *   shared_probe [-n N] [-r RATE] [-b A.B] [-t SECONDS] [-i USEC] API_SOCKET POLICY_TARGET
 *
 * API_SOCKET: node A's [api] socket (POST /v1/subjects/ADDR/quarantine, as `lazaretctl
 * quarantine ADDR --reason R` sends it). POLICY_TARGET: node B's policy service, HOST:PORT
 * or unix:/PATH. Addresses A.B.x.y (default 100.80.0.1 on), one per quarantine.
 *
 * One thread, no library: each quarantine is a connection of its own to A's API, opened
 * when it falls due (RATE a second) and read whenever it answers (A answers once the
 * verdict came back from the shared store); meanwhile one connection to B asks, about
 * every address sent and not yet refused, a Postfix RCPT request (which counts no
 * message: B's rate limits and judge never see the probes), every -i microseconds (1000)
 * at most. Times are the wall clock (CLOCK_REALTIME), the clock lazaretd's log lines and
 * lz_changes.at use, so bench/shared.sh can put them side by side.
 *
 * Output, a line per address, then a summary:
 *   probe addr=100.80.0.1 sent_us=... ack_us=... status=200 reject_us=...
 *   probe_done n=200 acked=200 rejected=200 seconds=10.2 probes=12345
 * (0 for a time that never came: no answer, or no REJECT within -t seconds of the send).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tool_args.h"

#define PROBE_ANSWER_MAX 1024           /* a policy answer: "action=..." and the empty line */
#define PROBE_HTTP_MAX   4096           /* the API's answer: status line, headers, a short JSON */

struct probe {
	char addr[16];
	uint64_t sent_us, ack_us, reject_us;
	int status;
	int fd;                         /* the API connection while its answer is awaited, or -1 */
	size_t len;
	char http[PROBE_HTTP_MAX];
};

static struct sockaddr_storage policy_ss;
static socklen_t policy_len;


static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}



static int
policy_connect(void)
{
	int fd, one = 1;

	if ((fd = socket(policy_ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&policy_ss, policy_len) == -1)
		fatal("connect to the policy service: %s", strerror(errno));
	if (policy_ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Writes all of buf (blocking: loopback, small). -1 on error. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Asks B about addr (an RCPT request, as Postfix sends from smtpd_recipient_restrictions)
 * and reads the whole answer: 1 for REJECT, 0 for anything else. A broken connection is
 * fatal: the figure would not mean anything.
 */
static int
policy_ask(int fd, const char *addr, unsigned long seq)
{
	char req[512], ans[PROBE_ANSWER_MAX];
	size_t len = 0;
	int n;

	n = snprintf(req, sizeof(req),
	    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=%s\n"
	    "client_name=unknown\nreverse_client_name=unknown\nhelo_name=probe\nsender=probe@example.net\n"
	    "recipient=r%lu@example.org\nrecipient_count=0\nqueue_id=\ninstance=p.%lu\nsize=0\n\n", addr, seq, seq);
	if (write_all(fd, req, (size_t)n) != 0)
		fatal("writing to the policy service: %s", strerror(errno));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			fatal("the policy service did not answer within 5 s");
		ssize_t r = read(fd, ans + len, sizeof(ans) - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fatal("the policy service closed the connection");
		len += (size_t)r;
		ans[len] = '\0';
		if (len >= 2 && strstr(ans, "\n\n") != NULL)
			break;
		if (len == sizeof(ans) - 1)
			fatal("a policy answer longer than %d bytes", PROBE_ANSWER_MAX);
	}
	return strncmp(ans, "action=REJECT", 13) == 0;
}

/* Opens a connection to the API and sends the quarantine of p->addr; the answer is read later. */
static void
api_send(struct probe *p, const char *api_path)
{
	struct sockaddr_un sun;
	char req[512];
	static const char body[] = "{\"reason\":\"bench/shared.sh propagation\",\"for\":null}";
	int n, fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", api_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("connect to %s: %s", api_path, strerror(errno));
	n = snprintf(req, sizeof(req), "POST /v1/subjects/%s/quarantine HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
	    p->addr, sizeof(body) - 1, body);
	p->sent_us = now_us();
	if (write_all(fd, req, (size_t)n) != 0)
		fatal("writing to the API: %s", strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	p->fd = fd;
	p->len = 0;
}

/* Reads what the API sent; at its end (the server closes), the status and the time. */
static void
api_read(struct probe *p)
{
	for (;;) {
		ssize_t r = read(p->fd, p->http + p->len, sizeof(p->http) - 1 - p->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r > 0) {
			p->len += (size_t)r;
			if (p->len < sizeof(p->http) - 1)
				continue;
		}
		/* closed, failed, or more than we keep: the status line is in what we have */
		p->http[p->len] = '\0';
		p->ack_us = now_us();
		if (sscanf(p->http, "HTTP/1.%*d %d", &p->status) != 1)
			p->status = -1;
		close(p->fd);
		p->fd = -1;
		return;
	}
}

int
main(int argc, char **argv)
{
	unsigned long n = 200, rate = 20, timeout = 10, interval = 1000, seq = 0, probes = 0;
	unsigned a = 100, b = 80;
	const char *api_path;
	struct probe *ps;
	struct pollfd *pfd;
	size_t *who;
	int c, pol;

	tool_name = "shared_probe";
	while ((c = getopt(argc, argv, "n:r:b:t:i:")) != -1) {
		switch (c) {
		case 'n': n = number(optarg, 1, 60000, "-n"); break;
		case 'r': rate = number(optarg, 1, 100000, "-r"); break;
		case 't': timeout = number(optarg, 1, 3600, "-t"); break;
		case 'i': interval = number(optarg, 0, 1000000, "-i"); break;
		case 'b':
			if (sscanf(optarg, "%u.%u", &a, &b) != 2 || a > 255 || b > 255)
				fatal("%s: -b wants A.B (the first two bytes of the addresses)", optarg);
			break;
		default:
			fprintf(stderr, "usage: shared_probe [-n N] [-r RATE] [-b A.B] [-t SECONDS] [-i USEC] "
			    "API_SOCKET POLICY_TARGET\n");
			return 2;
		}
	}
	if (argc - optind != 2)
		fatal("want API_SOCKET POLICY_TARGET");
	api_path = argv[optind];
	parse_target(argv[optind + 1], &policy_ss, &policy_len);
	if ((ps = calloc(n, sizeof(*ps))) == NULL || (pfd = calloc(n, sizeof(*pfd))) == NULL ||
	    (who = calloc(n, sizeof(*who))) == NULL)
		fatal("out of memory");
	for (unsigned long i = 0; i < n; i++) {
		unsigned long k = i + 1;        /* x.y.0.0 is not a host */
		snprintf(ps[i].addr, sizeof(ps[i].addr), "%u.%u.%lu.%lu", a, b, (k >> 8) & 255, k & 255);
		ps[i].fd = -1;
	}
	pol = policy_connect();
	/* every address answers DUNNO before: a REJECT later is the quarantine's */
	for (unsigned long i = 0; i < n; i++)
		if (policy_ask(pol, ps[i].addr, ++seq))
			fatal("%s is refused before its quarantine: not a fresh store?", ps[i].addr);

	uint64_t start = now_us(), last_probe = 0;
	unsigned long next = 0;
	for (;;) {
		uint64_t t = now_us();
		while (next < n && t >= start + next * 1000000u / rate)
			api_send(&ps[next++], api_path);

		bool open = false, waiting = false;
		size_t np = 0;
		for (unsigned long i = 0; i < next; i++) {
			if (ps[i].fd >= 0) {
				pfd[np] = (struct pollfd){ .fd = ps[i].fd, .events = POLLIN };
				who[np++] = i;
				open = true;
			}
			if (ps[i].reject_us == 0 && t < ps[i].sent_us + timeout * 1000000u)
				waiting = true;
		}
		if (next == n && !open && !waiting)
			break;
		if (waiting && t >= last_probe + interval) {
			last_probe = t;
			for (unsigned long i = 0; i < next; i++) {
				if (ps[i].reject_us != 0 || t >= ps[i].sent_us + timeout * 1000000u)
					continue;
				probes++;
				if (policy_ask(pol, ps[i].addr, ++seq))
					ps[i].reject_us = now_us();
			}
			t = now_us();
		}
		/* sleep until the next send, the next probe or an API answer, whichever is first */
		uint64_t wake = UINT64_MAX;
		if (next < n)
			wake = start + next * 1000000u / rate;
		if (waiting && last_probe + interval < wake)
			wake = last_probe + interval;
		int ms = wake == UINT64_MAX ? 100 : wake > t ? (int)((wake - t + 999) / 1000) : 0;
		if (ms > 100)
			ms = 100;
		if (poll(pfd, np, ms) > 0)
			for (size_t k = 0; k < np; k++)
				if (pfd[k].revents != 0)
					api_read(&ps[who[k]]);
	}
	unsigned long acked = 0, rejected = 0;
	for (unsigned long i = 0; i < n; i++) {
		acked += ps[i].status == 200;
		rejected += ps[i].reject_us != 0;
		printf("probe addr=%s sent_us=%llu ack_us=%llu status=%d reject_us=%llu\n", ps[i].addr,
		    (unsigned long long)ps[i].sent_us, (unsigned long long)ps[i].ack_us, ps[i].status,
		    (unsigned long long)ps[i].reject_us);
	}
	printf("probe_done n=%lu acked=%lu rejected=%lu seconds=%.1f probes=%lu\n", n, acked, rejected,
	    (double)(now_us() - start) / 1e6, probes);
	close(pol);
	free(who);
	free(pfd);
	free(ps);
	return acked == n && rejected == n ? 0 : 1;
}
