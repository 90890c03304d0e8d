/*
 * policy_load.c — closed-loop load generator for Postfix policy servers.
 *
 * It plays C smtpd processes (64 by default): each holds one connection to
 * the policy server, sends one request and waits for the whole answer before
 * it sends the next, as Postfix does. Requests are what Postfix 3.7 sends
 * from smtpd_data_restrictions (protocol_state=DATA, recipient_count 1..3),
 * client_address cycling over H hosts in 10.0.0.0/8, optionally with a SASL
 * login among A accounts. One thread, epoll, non-blocking sockets.
 *
 * After a warm-up it measures for a fixed time (or until SIGTERM/SIGINT):
 * requests/s, the latency of every request (send to complete answer; kept,
 * sorted, exact percentiles) and how often each action was answered.
 *
 * With -r RATE it is an open loop instead: requests are due at a fixed rate
 * whatever the server does (as new SMTP sessions keep coming while the
 * server is stuck), each connection sending its next due request as soon as
 * its previous answer is in, and a request's latency counts from when it was
 * due, not from when it could be sent. A server that stalls for a second
 * then shows a second's worth of slow requests, where the closed loop would
 * show one per connection (coordinated omission). At the end (or SIGTERM) no
 * new request falls due, and the answers to those that did are awaited (up
 * to 30 s) and counted, however late; how many fell due after the warm-up
 * and how many of those were never answered is reported too (due=,
 * unanswered=).
 *
 * With -n COUNT the closed loop ends once COUNT requests were answered after the
 * warm-up (or at -d, whichever comes first): a test that needs that many distinct
 * clients gets them however slow the machine. With -f FIRST the requests are
 * numbered from FIRST, not 0: a second run with -f past the first run's count
 * sends clients the first never sent (each of H hosts once per H requests).
 *
 * usage: policy_load [-m] [-a accounts] [-c conns] [-d seconds] [-f first] [-H hosts]
 *	[-l label] [-n count] [-r rate] [-s percent] [-T file] [-w seconds] TARGET
 *	TARGET is HOST:PORT, [V6ADDR]:PORT or unix:/PATH.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy_request.h"
#include "tool_args.h"

#define REQ_BUF_SIZE	POLICY_REQUEST_BUF
#define REPLY_BUF_SIZE	4096
#define MAX_ACTIONS	32
#define ACTION_NAME_MAX	40
#define MAX_EVENTS	256
#define NSEC		1000000000ULL

struct conn {
	int		 fd;
	int		 busy;		/* a request is outstanding */
	int		 want_out;	/* EPOLLOUT is armed */
	uint64_t	 sent_ns;	/* when the request was handed to the kernel (-r: was due) */
	uint64_t	 due_ns;	/* -r: when the next request is due */
	uint64_t	 first_due_ns;	/* -r: when its first one was */
	size_t		 woff, wlen;	/* unsent part of wbuf */
	size_t		 rlen;
	char		 wbuf[REQ_BUF_SIZE];
	char		 rbuf[REPLY_BUF_SIZE];
};

struct action_count {
	char		 name[ACTION_NAME_MAX];
	uint64_t	 count;
};

/* options */
static int		 nconns = 64;
static struct policy_mix mix = { .hosts = 10000, .sasl_percent = 30 };
static unsigned		 warmup_s = 2;
static unsigned		 duration_s = 10;
static uint64_t		 max_answers;	/* -n: 0, no limit */
static int		 machine;
static const char	*label = "server";
static const char	*target;
static unsigned long	 rate;		/* -r: requests/s in all, open loop; 0: closed loop */
static uint64_t		 interval_ns;	/* -r: between two requests of one connection */
static volatile sig_atomic_t stop_now;	/* SIGTERM/SIGINT: end the measurement now */

/* target address */
static struct sockaddr_storage target_ss;
static socklen_t	 target_len;

static int		 epfd;
static struct conn	*conns;
static uint64_t		 seq;		/* requests generated, for variety */

/* measurement */
static uint64_t		 measure_start, measure_end;
static uint64_t		 due_end;	/* -r: no request falls due from then on */
#define DRAIN_NS	(30 * NSEC)	/* -r: how long the answers to requests due before due_end are awaited */
static uint64_t		*lat;		/* every measured latency, ns */
static uint64_t		*lat_done;	/* -T: when each was answered, ns after measure_start */
static size_t		 nlat, lat_cap;
static const char	*timeline_path;	/* -T FILE */
static struct action_count actions[MAX_ACTIONS];
static int		 nactions;
static uint64_t		 n_errors, n_reconnects, n_all;
static uint64_t		 n_due_answered;	/* -r: answers to requests due in the measurement, however late */
static uint64_t		 run_start;

static void	usage(void) __attribute__((noreturn));
static uint64_t	now_ns(void);
static int	open_conn(struct conn *);
static void	reconnect(struct conn *);
static void	send_request(struct conn *);
static void	send_due(uint64_t);
static void	on_stop(int);
static void	flush_out(struct conn *);
static void	set_out(struct conn *, int);
static void	handle_in(struct conn *, uint64_t);
static void	record(uint64_t, uint64_t, const char *, size_t);
static int	cmp_u64(const void *, const void *);
static double	pct(double);
static void	report(void);
static double	self_cpu(void);

static void
usage(void)
{
	fprintf(stderr, "usage: policy_load [-m] [-a accounts] [-c conns] "
	    "[-d seconds] [-f first] [-H hosts] [-l label]\n"
	    "\t[-n count] [-r rate] [-s sasl-percent] [-T timeline-file]\n\t[-w warmup-seconds] "
	    "HOST:PORT|[V6]:PORT|unix:PATH\n");
	exit(2);
}


static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}



/*
 * Connect (blocking: loopback, and it happens outside the measurement
 * except on a reconnect), then switch to non-blocking; -1 on failure.
 */
static int
open_conn(struct conn *c)
{
	struct epoll_event ev;
	int		 fd, one = 1;

	if ((fd = socket(target_ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&target_ss, target_len) == -1) {
		close(fd);
		return -1;
	}
	if (target_ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		close(fd);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->busy = 0;
	c->want_out = 0;
	c->rlen = 0;
	c->woff = c->wlen = 0;
	return 0;
}

/*
 * The server closed or broke the connection: count it, and come back as
 * Postfix would, with a new connection and a new request.
 */
static void
reconnect(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	n_reconnects++;
	if (open_conn(c) == -1)
		fatal("reconnect to %s: %s", target, strerror(errno));
	if (rate == 0)
		send_request(c);
}

static void
set_out(struct conn *c, int on)
{
	struct epoll_event ev;

	if (c->want_out == on)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
	c->want_out = on;
}

static void
flush_out(struct conn *c)
{
	ssize_t	 n;

	while (c->woff < c->wlen) {
		n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_out(c, 1);
				return;
			}
			n_errors++;
			reconnect(c);
			return;
		}
		c->woff += (size_t)n;
	}
	set_out(c, 0);
}

static void
send_request(struct conn *c)
{
	c->wlen = policy_request_build(&mix, c->wbuf, seq++);
	c->woff = 0;
	c->rlen = 0;
	c->busy = 1;
	if (rate == 0)
		c->sent_ns = now_ns();
	else {
		c->sent_ns = c->due_ns;
		c->due_ns += interval_ns;
	}
	flush_out(c);
}

/* -r: every idle connection sends the request that is due; a late one counts from when it was due. */
static void
send_due(uint64_t now)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i].fd >= 0 && !conns[i].busy && conns[i].due_ns <= now && conns[i].due_ns < due_end)
			send_request(&conns[i]);
}

static void
on_stop(int sig)
{
	(void)sig;
	stop_now = 1;
}

static void
record(uint64_t sent, uint64_t done, const char *reply, size_t len)
{
	const char	*w, *e;
	size_t		 wl, i;
	int		 k;
	char		 name[ACTION_NAME_MAX];

	/* -r: every request due in the measurement counts, however late its answer */
	if (sent < measure_start || (rate != 0 ? sent >= due_end : done > measure_end))
		return;
	if (nlat == lat_cap) {
		lat_cap = lat_cap ? lat_cap * 2 : 1 << 20;
		if ((lat = realloc(lat, lat_cap * sizeof(*lat))) == NULL ||
		    (timeline_path != NULL && (lat_done = realloc(lat_done, lat_cap * sizeof(*lat_done))) == NULL))
			fatal("out of memory");
	}
	if (timeline_path != NULL)
		lat_done[nlat] = done - measure_start;
	lat[nlat++] = done - sent;
	if (max_answers != 0 && rate == 0 && nlat >= max_answers)
		stop_now = 1;

	/* "action=WORD rest\n\n": count WORD, upper-cased */
	if (len < 8 || strncmp(reply, "action=", 7) != 0) {
		n_errors++;
		return;
	}
	w = reply + 7;
	e = reply + len;
	for (wl = 0; w + wl < e && w[wl] != ' ' && w[wl] != '\t' &&
	    w[wl] != '\n'; wl++)
		;
	if (wl == 0 || wl >= ACTION_NAME_MAX) {
		n_errors++;
		return;
	}
	for (i = 0; i < wl; i++)
		name[i] = (w[i] >= 'a' && w[i] <= 'z') ? w[i] - 32 : w[i];
	name[wl] = '\0';
	for (k = 0; k < nactions; k++)
		if (strcmp(actions[k].name, name) == 0)
			break;
	if (k == nactions) {
		if (nactions == MAX_ACTIONS) {
			n_errors++;
			return;
		}
		memcpy(actions[k].name, name, wl + 1);
		nactions++;
	}
	actions[k].count++;
}

static void
handle_in(struct conn *c, uint64_t now)
{
	const char	*end;
	ssize_t		 n;

	for (;;) {
		n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen,
		    0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			n_errors++;
			reconnect(c);
			return;
		}
		if (n == 0) {		/* the server hung up */
			n_errors++;
			reconnect(c);
			return;
		}
		c->rlen += (size_t)n;
		if (!c->busy) {		/* unasked-for bytes */
			n_errors++;
			reconnect(c);
			return;
		}
		end = memmem(c->rbuf, c->rlen, "\n\n", 2);
		if (end == NULL) {
			if (c->rlen == sizeof(c->rbuf)) {
				n_errors++;
				reconnect(c);
				return;
			}
			continue;
		}
		if ((size_t)(end + 2 - c->rbuf) != c->rlen) {
			/* more than one answer to one request */
			n_errors++;
			reconnect(c);
			return;
		}
		n_all++;
		if (rate != 0 && c->sent_ns >= measure_start && c->sent_ns < due_end)
			n_due_answered++;
		record(c->sent_ns, now, c->rbuf, c->rlen);
		c->busy = 0;
		if (rate == 0)
			send_request(c);
		return;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* our own CPU use since the start, in percent of one CPU */
static double
self_cpu(void)
{
	struct rusage	 ru;
	double		 used, wall;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	used = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	wall = (double)(now_ns() - run_start) / 1e9;
	return wall > 0 ? 100 * used / wall : 0;
}

/*
 * -r: how many requests fell due in the measurement, sent or not (a connection still
 * waiting for an answer at the end of the drain never sent its later ones): each
 * connection's are first_due_ns + k * interval_ns.
 */
static uint64_t
due_count(void)
{
	uint64_t n = 0;

	for (int i = 0; i < nconns; i++) {
		uint64_t f = conns[i].first_due_ns, k0, k1;

		k0 = f >= measure_start ? 0 : (measure_start - f + interval_ns - 1) / interval_ns;
		k1 = f >= due_end ? 0 : (due_end - f + interval_ns - 1) / interval_ns;
		n += k1 > k0 ? k1 - k0 : 0;
	}
	return n;
}

/* the p-th percentile of the sorted latencies, in milliseconds */
static double
pct(double p)
{
	size_t	 i;

	if (nlat == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)nlat + 0.999999);
	if (i > 0)
		i--;
	if (i >= nlat)
		i = nlat - 1;
	return (double)lat[i] / 1e6;
}

/*
 * -T FILE: a first line "# start UNIX_SECONDS", then "MS LATENCY_US" a line, every
 * measured request in the order answered (MS: when, after the measurement began): whether
 * the slow ones come together (the server stalled) or spread (it shared the CPU), which the
 * percentiles alone do not tell.
 */
static void
write_timeline(void)
{
	FILE		*f = fopen(timeline_path, "w");
	struct timespec	 wall;

	if (f == NULL)
		fatal("%s: %s", timeline_path, strerror(errno));
	/* the measurement's start on the wall clock, to set beside the server's log */
	clock_gettime(CLOCK_REALTIME, &wall);
	fprintf(f, "# start %.3f (Unix time, s)\n", ((double)wall.tv_sec * 1e9 + (double)wall.tv_nsec -
	    (double)(now_ns() - measure_start)) / 1e9);
	for (size_t i = 0; i < nlat; i++)
		fprintf(f, "%.3f %llu\n", (double)lat_done[i] / 1e6, (unsigned long long)(lat[i] / 1000));
	if (fclose(f) != 0)
		fatal("%s: %s", timeline_path, strerror(errno));
}

static void
report(void)
{
	double	 secs = (double)((rate != 0 ? due_end : measure_end) - measure_start) / 1e9;
	double	 cpu = self_cpu();
	double	 rps = (double)nlat / secs;
	int	 k;

	if (timeline_path != NULL)
		write_timeline();
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	if (machine) {
		printf("label=%s rps=%.1f requests=%zu p50_ms=%.3f p90_ms=%.3f "
		    "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f errors=%llu reconnects=%llu "
		    "load_cpu=%.0f all=%llu actions=", label, rps, nlat, pct(50),
		    pct(90), pct(99), pct(99.9), pct(100), (unsigned long long)n_errors,
		    (unsigned long long)n_reconnects, cpu,
		    (unsigned long long)n_all);
		for (k = 0; k < nactions; k++)
			printf("%s%s:%llu", k ? "," : "", actions[k].name,
			    (unsigned long long)actions[k].count);
		if (nactions == 0)
			printf("-");
		if (rate != 0)
			printf(" due=%llu unanswered=%llu", (unsigned long long)due_count(),
			    (unsigned long long)(due_count() - n_due_answered));
		printf("\n");
		return;
	}
	printf("%s: %s, %d connections, %lu hosts, %lu accounts (%u%% of "
	    "requests), %u s warm-up, %.2f s measured", label, target, nconns,
	    mix.hosts, mix.accounts, mix.accounts ? mix.sasl_percent : 0, warmup_s,
	    secs);
	if (rate != 0)
		printf(", open loop at %lu/s (latency from when each was due)", rate);
	printf("\n");
	printf("  requests   %zu in %.2f s = %.1f/s\n", nlat, secs, rps);
	printf("  latency    p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  "
	    "p99.9 %.3f ms  max %.3f ms\n", pct(50), pct(90), pct(99), pct(99.9),
	    pct(100));
	if (rate != 0)
		printf("  due        %llu after the warm-up, %llu of them unanswered\n",
		    (unsigned long long)due_count(),
		    (unsigned long long)(due_count() - n_due_answered));
	printf("  actions   ");
	for (k = 0; k < nactions; k++)
		printf(" %s %llu", actions[k].name,
		    (unsigned long long)actions[k].count);
	printf("\n  errors     %llu (reconnects %llu)\n",
	    (unsigned long long)n_errors, (unsigned long long)n_reconnects);
	printf("  load cpu   %.0f %% of one CPU (this generator, warm-up included)\n",
	    cpu);
}

int
main(int argc, char *argv[])
{
	struct epoll_event evs[MAX_EVENTS];
	struct conn	*c;
	uint64_t	 now, start, deadline;
	int		 ch, i, n, timeout_ms;

	tool_name = "policy_load";
	while ((ch = getopt(argc, argv, "a:c:d:f:H:l:mn:r:s:T:w:")) != -1) {
		switch (ch) {
		case 'a':
			mix.accounts = number(optarg, 0, 100000000, "accounts");
			break;
		case 'c':
			nconns = (int)number(optarg, 1, 100000, "connections");
			break;
		case 'd':
			duration_s = (unsigned)number(optarg, 1, 86400,
			    "duration");
			break;
		case 'f':
			seq = number(optarg, 0, 1000000000, "first request");
			break;
		case 'H':
			mix.hosts = number(optarg, 1, (1UL << 24) - 2, "hosts");
			break;
		case 'l':
			label = optarg;
			break;
		case 'm':
			machine = 1;
			break;
		case 'n':
			max_answers = number(optarg, 1, 1000000000, "count");
			break;
		case 'r':
			rate = number(optarg, 0, 10000000, "rate");
			break;
		case 's':
			mix.sasl_percent = (unsigned)number(optarg, 0, 100,
			    "SASL percentage");
			break;
		case 'T':
			timeline_path = optarg;
			break;
		case 'w':
			warmup_s = (unsigned)number(optarg, 0, 3600, "warm-up");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	target = argv[0];
	parse_target(target, &target_ss, &target_len);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	if ((conns = calloc(nconns, sizeof(*conns))) == NULL)
		fatal("out of memory");
	for (i = 0; i < nconns; i++)
		if (open_conn(&conns[i]) == -1)
			fatal("connect to %s: %s", target, strerror(errno));

	start = run_start = now_ns();
	measure_start = start + (uint64_t)warmup_s * NSEC;
	measure_end = measure_start + (uint64_t)duration_s * NSEC;
	due_end = measure_end;
	if (rate != 0) {
		/* each connection carries 1/nconns of the rate, their turns spread evenly */
		interval_ns = (uint64_t)nconns * NSEC / rate;
		for (i = 0; i < nconns; i++)
			conns[i].due_ns = conns[i].first_due_ns = start + (uint64_t)i * interval_ns / (uint64_t)nconns;
		send_due(start);
	} else
		for (i = 0; i < nconns; i++)
			send_request(&conns[i]);

	for (;;) {
		now = now_ns();
		if (rate != 0) {
			/* at the end, wait for the answers to every request that fell due before it */
			if (stop_now && now < due_end)
				due_end = now;
			if (now >= due_end) {
				for (i = 0; i < nconns && !conns[i].busy; i++)
					;
				if (i == nconns || now >= due_end + DRAIN_NS)
					break;
			}
			deadline = now < measure_start ? measure_start : now < due_end ? due_end : due_end + DRAIN_NS;
			/* wake for the next due request, to the nanosecond: its latency runs from then */
			for (i = 0; i < nconns; i++)
				if (!conns[i].busy && conns[i].due_ns < deadline && conns[i].due_ns < due_end)
					deadline = conns[i].due_ns > now ? conns[i].due_ns : now;
			struct timespec ts = { (time_t)((deadline - now) / NSEC), (long)((deadline - now) % NSEC) };
			n = epoll_pwait2(epfd, evs, MAX_EVENTS, &ts, NULL);
		} else {
			if (stop_now && now < measure_end)
				measure_end = now;
			if (now >= measure_end)
				break;
			deadline = now < measure_start ? measure_start : measure_end;
			timeout_ms = (int)((deadline - now) / 1000000) + 1;
			n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait: %s", strerror(errno));
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (evs[i].events & EPOLLOUT)
				flush_out(c);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				handle_in(c, now);
		}
		if (rate != 0)
			send_due(now_ns());
	}
	report();
	return n_errors > 0 && nlat == 0 ? 1 : 0;
}
