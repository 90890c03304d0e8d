/*
 * radius_load.c — a BNG's RADIUS accounting, open loop (bench/radius.sh, bench/README.md).
 *
 * N subscribers ("sub0000000"...), each with an IPv4 address in 100.64.0.0/10 and a
 * delegated /56 in 2001:db8::/32, both numbered by (generation * N + index), so that a
 * reconnect (a new generation) is a new address and prefix. Accounting-Requests are
 * sent at a fixed rate over loopback UDP from several sockets (256 Identifiers each: a
 * request in flight holds its socket's Identifier until answered or timed out), signed
 * as a NAS signs them (sense/radius.h: radius_acct_sign); an answer counts when it is an
 * Accounting-Response with the Response Authenticator the secret makes.
 *
 * Modes (-m):
 *   starts  every subscriber's Start, in order (fills the server's tables)
 *   mix     a random subscriber each time: Start when it has no session, otherwise an
 *           Interim-Update (80 %) or a Stop (20 %): in the steady state 1/6 Starts,
 *           1/6 Stops, 2/3 Interims
 *   storm   -c subscribers from the -o-th (0) reconnect: Stop on the old address, Start on a new
 *           one (-r is Starts a second; twice as many records). With -p POLICY and -w K,
 *           every K-th of them is a candidate, watched when quarantined beforehand (its
 *           old address refused by the relay: asked first), and after its Start is sent
 *           the policy service is asked about the new address every 2 ms (4 connections,
 *           not waiting for the answer: the load keeps its pace) until it
 *           answers REJECT: the move's latency. At the end the old addresses are asked
 *           again (freed: no longer REJECT). A watched Start that found no free Identifier
 *           is not sent: counted (unsent), not waited for.
 * -4 leaves the delegated prefix out (the IPv4 address alone).
 * -G sends a message a request; by default a socket's requests of one length go as
 *    segmented messages (UDP_SEGMENT), each still a datagram to the server.
 * -s FILE keeps which subscribers hold a session (and their generation) between runs.
 *
 * Output: one line of key=value (answered_per_s, p50_us...; storm: move_p50_ms ...).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sense/radius.h"

#define MAX_SOCKETS 256
#define IDS 256
#define POLL_EVERY_NS 2000000LL        /* a watched subscriber's new address asked this often */
#define BURST 512                      /* requests built before they are sent */
#define RECV_BATCH 64                  /* answers one recvmmsg reads at most */

enum mode { MODE_STARTS, MODE_MIX, MODE_STORM };

struct slot {
	bool busy;
	int64_t sent_ns;
	uint8_t auth[16];
};

struct sock {
	int fd;
	struct slot slots[IDS];
	uint8_t free_ids[IDS];
	int nfree;
};

struct watch {
	uint32_t sub;
	int64_t start_ns;               /* the Start sent; 0: not yet */
	int64_t next_poll_ns;
	int64_t moved_ns;               /* 0: not yet refused at its new address */
	bool asking;                    /* a question about it is in flight */
	bool unsent;                    /* its Start found no free Identifier (moved_ns -1) */
};

static struct {
	enum mode mode;
	struct sockaddr_storage server;
	socklen_t server_len;
	const uint8_t *secret;
	size_t secret_len;
	uint32_t subscribers;
	double rate, duration;
	unsigned nsockets;
	int64_t timeout_ns;
	uint32_t storm_count, storm_first, watch_every;
	const char *policy, *state_file;
	uint64_t seed;
	bool v4_only;
} opt = {
	.mode = MODE_MIX, .subscribers = 1000000, .rate = 10000, .duration = 5, .nsockets = 32,
	.timeout_ns = 2000000000LL, .storm_count = 500000, .seed = 1,
};

static struct sock socks[MAX_SOCKETS];
static uint8_t *started;                /* per subscriber: holds a session */
static uint8_t *gen;                    /* its address generation */
static uint16_t *session;               /* its session counter */
static uint32_t *lat_us;
static size_t lat_n, lat_cap;
static uint64_t n_sent, n_answered, n_timeouts, n_skipped, n_bad, n_by_type[4];
static uint64_t rng;
static int64_t last_answer_ns;
static int policy_fd = -1;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
die(const char *what)
{
	fprintf(stderr, "radius_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint8_t *
attr(uint8_t *p, uint8_t type, const void *v, size_t n)
{
	p[0] = type;
	p[1] = (uint8_t)(n + 2);
	memcpy(p + 2, v, n);
	return p + 2 + n;
}

static uint8_t *
attr32(uint8_t *p, uint8_t type, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return attr(p, type, b, 4);
}

static uint8_t *
attrs(uint8_t *p, uint8_t type, const char *s)
{
	return attr(p, type, s, strlen(s));
}

/* The subscriber's IPv4 address of generation g: 100.64.0.0/10 holds 4 M. */
static uint32_t
v4_of(uint32_t sub, unsigned g)
{
	return 0x64400000u | (uint32_t)(((uint64_t)g * opt.subscribers + sub) & 0x3fffff);
}

static void
v4_text(uint32_t a, char *out, size_t len)
{
	snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/*
 * Builds the Accounting-Request of type status for subscriber sub, its current
 * generation and session, with Identifier id, into buf: its length.
 */
static size_t
build(uint8_t *buf, uint8_t id, uint32_t status, uint32_t sub)
{
	char text[64];
	uint8_t *p = buf + RADIUS_HEADER_LEN;
	uint32_t idx = (uint32_t)(((uint64_t)gen[sub] * opt.subscribers + sub) & 0xffffff);
	uint8_t px[2 + 7] = { 0, 56, 0x20, 0x01, 0x0d, 0xb8, (uint8_t)(idx >> 16), (uint8_t)(idx >> 8), (uint8_t)idx };

	buf[0] = RADIUS_ACCOUNTING_REQUEST;
	buf[1] = id;
	snprintf(text, sizeof(text), "sub%07u", sub);
	p = attrs(p, 1, text);                                  /* User-Name */
	p = attr32(p, 40, status);                              /* Acct-Status-Type */
	snprintf(text, sizeof(text), "%08X-%04X", sub, session[sub]);
	p = attrs(p, 44, text);                                 /* Acct-Session-Id */
	p = attr32(p, 8, v4_of(sub, gen[sub]));                 /* Framed-IP-Address */
	if (!opt.v4_only)
		p = attr(p, 123, px, sizeof(px));               /* Delegated-IPv6-Prefix */
	snprintf(text, sizeof(text), "02-00-%02X-%02X-%02X-%02X", sub >> 24, (sub >> 16) & 255, (sub >> 8) & 255,
	    sub & 255);
	p = attrs(p, 31, text);                                 /* Calling-Station-Id */
	snprintf(text, sizeof(text), "bng%u", sub % 8);
	p = attrs(p, 32, text);                                 /* NAS-Identifier */
	p = attr32(p, 4, 0xc0000201u + sub % 8);                /* NAS-IP-Address 192.0.2.1..8 */
	snprintf(text, sizeof(text), "ge-0/0/%u.%u", sub % 8, sub % 4000);
	p = attrs(p, 87, text);                                 /* NAS-Port-Id */
	p = attr32(p, 6, 2);                                    /* Service-Type Framed */
	p = attr32(p, 7, 1);                                    /* Framed-Protocol PPP */
	p = attr32(p, 55, (uint32_t)time(NULL));                /* Event-Timestamp */
	if (status != RADIUS_STATUS_START) {
		p = attr32(p, 46, (uint32_t)(rnd() % 86400));   /* Acct-Session-Time */
		p = attr32(p, 42, (uint32_t)rnd());             /* Acct-Input-Octets */
		p = attr32(p, 43, (uint32_t)rnd());             /* Acct-Output-Octets */
		p = attr32(p, 47, (uint32_t)rnd() % 1000000);   /* Acct-Input-Packets */
		p = attr32(p, 48, (uint32_t)rnd() % 1000000);   /* Acct-Output-Packets */
	}
	if (status == RADIUS_STATUS_STOP)
		p = attr32(p, 49, 1);                           /* Acct-Terminate-Cause User-Request */
	size_t len = (size_t)(p - buf);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	radius_acct_sign(buf, len, opt.secret, opt.secret_len);
	return len;
}

/*
 * Requests are built into `pending` and sent by flush(), a sendmmsg per run of requests
 * on one socket: a socket is used until its Identifiers run out, so the runs are long and
 * the generator spends on system calls as little as it can of the CPUs it shares with the
 * server it measures.
 */
struct pending {
	unsigned sock;
	size_t len;
	uint8_t buf[RADIUS_MAX_LEN];
};
static struct pending pending[BURST];
static unsigned npending, next_sock;

/* Takes a free Identifier (on the socket in use, or the next that has one) and builds the
 * request into pending; false when no socket has a free Identifier. */
static bool
send_one(uint32_t status, uint32_t sub, int64_t now)
{
	for (unsigned tries = 0; tries < opt.nsockets && npending < BURST; tries++) {
		struct sock *s = &socks[next_sock];
		if (s->nfree == 0) {
			next_sock = (next_sock + 1) % opt.nsockets;
			continue;
		}
		uint8_t id = s->free_ids[--s->nfree];
		struct pending *pd = &pending[npending++];
		pd->sock = next_sock;
		pd->len = build(pd->buf, id, status, sub);
		s->slots[id].busy = true;
		s->slots[id].sent_ns = now;
		memcpy(s->slots[id].auth, pd->buf + 4, 16);
		n_sent++;
		n_by_type[status == RADIUS_STATUS_START ? 1 : status == RADIUS_STATUS_STOP ? 2 : 3]++;
		return true;
	}
	n_skipped++;
	return false;
}

static int
cmp_len(const void *a, const void *b)
{
	size_t x = pending[*(const unsigned *)a].len, y = pending[*(const unsigned *)b].len;
	return x < y ? -1 : x > y;
}

static bool gso_off;

/*
 * Sends what send_one built: one sendmmsg per run of one socket's requests (the sockets
 * block, so a call sends all of its run unless it fails). Within a run the requests of one
 * length (a Start, an Interim, a Stop each have theirs) go as segmented messages of up to 64
 * (UDP_SEGMENT): the kernel builds and routes each message once and cuts it into datagrams,
 * so the server still gets one datagram a request, and the generator takes less of the CPUs
 * it shares with the server (-G: one message a request, as before).
 */
static void
flush(void)
{
	static struct mmsghdr msgs[BURST];
	static struct iovec iov[BURST];
	static unsigned idx[BURST];
	static union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} control[BURST];

	for (unsigned i = 0; i < npending;) {
		unsigned k = 0, m = 0, sock = pending[i].sock;
		while (i + k < npending && pending[i + k].sock == sock) {
			idx[k] = i + k;
			k++;
		}
		if (!gso_off)
			qsort(idx, k, sizeof(*idx), cmp_len);
		for (unsigned j = 0; j < k; j++)
			iov[j] = (struct iovec){ .iov_base = pending[idx[j]].buf, .iov_len = pending[idx[j]].len };
		for (unsigned j = 0; j < k;) {
			unsigned g = 1;
			while (!gso_off && j + g < k && g < 64 && iov[j + g].iov_len == iov[j].iov_len)
				g++;
			struct msghdr *h = &msgs[m].msg_hdr;
			*h = (struct msghdr){ .msg_name = &opt.server, .msg_namelen = opt.server_len, .msg_iov = &iov[j],
			    .msg_iovlen = g };
			if (g > 1) {
				h->msg_control = control[m].buf;
				h->msg_controllen = sizeof(control[m].buf);
				struct cmsghdr *c = CMSG_FIRSTHDR(h);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				uint16_t size = (uint16_t)iov[j].iov_len;
				memcpy(CMSG_DATA(c), &size, sizeof(size));
			}
			m++;
			j += g;
		}
		for (unsigned done = 0; done < m;) {
			int n = sendmmsg(socks[sock].fd, msgs + done, m - done, 0);
			if (n < 0 && errno != EINTR) {
				if (gso_off || (errno != EIO && errno != EINVAL && errno != EOPNOTSUPP))
					die("sendmmsg");
				gso_off = true;         /* not on this kernel: the rest one by one */
				for (unsigned r = done; r < m; r++)
					for (size_t q = 0; q < msgs[r].msg_hdr.msg_iovlen; q++) {
						struct msghdr one = { .msg_name = &opt.server, .msg_namelen = opt.server_len,
						    .msg_iov = &msgs[r].msg_hdr.msg_iov[q], .msg_iovlen = 1 };
						if (sendmsg(socks[sock].fd, &one, 0) < 0)
							die("sendmsg");
					}
				break;
			}
			done += n > 0 ? (unsigned)n : 0;
		}
		i += k;
	}
	npending = 0;
}

static void
record_latency(int64_t ns)
{
	if (lat_n == lat_cap) {
		lat_cap = lat_cap ? lat_cap * 2 : 1 << 20;
		if ((lat_us = realloc(lat_us, lat_cap * sizeof(*lat_us))) == NULL)
			die("realloc");
	}
	lat_us[lat_n++] = (uint32_t)(ns / 1000);
}

static int epoll_fd = -1;

/* Reads the answers waiting on the sockets epoll says are readable, RECV_BATCH a call. */
static void
receive(int64_t now)
{
	static uint8_t bufs[RECV_BATCH][RADIUS_MAX_LEN];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct epoll_event ev[MAX_SOCKETS];
	int nev = epoll_wait(epoll_fd, ev, MAX_SOCKETS, 0);

	for (int e = 0; e < nev; e++) {
		struct sock *s = &socks[ev[e].data.u32];
		int n;
		do {
			for (int k = 0; k < RECV_BATCH; k++) {
				iov[k] = (struct iovec){ .iov_base = bufs[k], .iov_len = sizeof(bufs[k]) };
				msgs[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
			}
			n = recvmmsg(s->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
			for (int k = 0; k < n; k++) {
				const uint8_t *buf = bufs[k];
				struct slot *sl = &s->slots[buf[1]];
				struct radius_packet req = { .identifier = buf[1] };
				uint8_t want[RADIUS_HEADER_LEN];

				if (msgs[k].msg_len != RADIUS_HEADER_LEN || !sl->busy) {
					n_bad++;
					continue;
				}
				memcpy(req.authenticator, sl->auth, 16);
				radius_acct_response(&req, opt.secret, opt.secret_len, want);
				if (memcmp(want, buf, RADIUS_HEADER_LEN) != 0) {
					n_bad++;
					continue;
				}
				sl->busy = false;
				s->free_ids[s->nfree++] = buf[1];
				n_answered++;
				last_answer_ns = now;
				record_latency(now - sl->sent_ns);
			}
		} while (n == RECV_BATCH);
	}
}

static void
expire(int64_t now)
{
	for (unsigned i = 0; i < opt.nsockets; i++)
		for (int id = 0; id < IDS; id++) {
			struct slot *sl = &socks[i].slots[id];
			if (sl->busy && now - sl->sent_ns > opt.timeout_ns) {
				sl->busy = false;
				socks[i].free_ids[socks[i].nfree++] = (uint8_t)id;
				n_timeouts++;
			}
		}
}

static unsigned
in_flight(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < opt.nsockets; i++)
		n += IDS - (unsigned)socks[i].nfree;
	return n;
}

/* The policy request Postfix makes at RCPT for mail from the IPv4 address a: its length. */
static int
policy_request(uint32_t a, char *req, size_t len)
{
	char addr[32];

	v4_text(a, addr, sizeof(addr));
	return snprintf(req, len, "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
	    "client_address=%s\nclient_name=unknown\nsender=a@example.net\nrecipient=b@example.org\n\n", addr);
}

/* The action word of a complete answer ("REJECT", "DUNNO"...) into out. */
static void
policy_word(const char *resp, char *out, size_t outlen)
{
	out[0] = '\0';
	if (strncmp(resp, "action=", 7) == 0) {
		size_t k = strcspn(resp + 7, " \n");
		snprintf(out, outlen, "%.*s", (int)(k < outlen - 1 ? k : outlen - 1), resp + 7);
	}
}

/* The relay's action for mail from a, asked and waited for (before and after the storm). */
static const char *
policy_action(uint32_t a, char *out, size_t outlen)
{
	char req[512], resp[1024];
	size_t got = 0;
	int n = policy_request(a, req, sizeof(req));

	if (write(policy_fd, req, (size_t)n) != n)
		die("policy write");
	while (got < sizeof(resp) - 1) {
		ssize_t r = read(policy_fd, resp + got, sizeof(resp) - 1 - got);
		if (r <= 0)
			die("policy read");
		got += (size_t)r;
		resp[got] = '\0';
		if (strstr(resp, "\n\n") != NULL)
			break;
	}
	policy_word(resp, out, outlen);
	return out;
}

/*
 * During the storm the watched are asked without waiting: the load keeps its pace while
 * the relay answers. ASKERS connections, one question in flight on each.
 */
#define ASKERS 4
struct asker {
	int fd;
	long watch;                     /* the index asked about; -1: idle */
	size_t got;
	char resp[1024];
};
static struct asker askers[ASKERS];

static int
policy_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	if (strncmp(path, "unix:", 5) == 0)
		path += 5;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		die(path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads what the askers got, and asks about watched subscribers due again: never blocks
 * on an answer. */
static void
askers_run(struct watch *w, size_t from, size_t to, int64_t now)
{
	char req[512], word[32];

	for (int k = 0; k < ASKERS; k++) {
		struct asker *a = &askers[k];
		if (a->watch >= 0) {
			ssize_t r = recv(a->fd, a->resp + a->got, sizeof(a->resp) - 1 - a->got, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				die("policy read");
			if (r < 0)
				continue;
			a->got += (size_t)r;
			a->resp[a->got] = '\0';
			if (strstr(a->resp, "\n\n") == NULL)
				continue;
			struct watch *x = &w[a->watch];
			policy_word(a->resp, word, sizeof(word));
			if (strcmp(word, "REJECT") == 0)
				x->moved_ns = now_ns();
			else
				x->next_poll_ns = now + POLL_EVERY_NS;
			x->asking = false;
			a->watch = -1;
		}
		/* the one due longest: those whose Start was lost must not starve the others */
		struct watch *x = NULL;
		for (size_t i = from; i < to && a->watch < 0; i++)
			if (w[i].moved_ns == 0 && !w[i].asking && now >= w[i].next_poll_ns &&
			    (x == NULL || w[i].next_poll_ns < x->next_poll_ns))
				x = &w[i];
		if (x != NULL) {
			int n = policy_request(v4_of(x->sub, gen[x->sub]), req, sizeof(req));
			if (write(a->fd, req, (size_t)n) != n)
				die("policy write");
			x->asking = true;
			a->watch = (long)(x - w);
			a->got = 0;
		}
	}
}

static void
state_load(void)
{
	FILE *fp;

	if (opt.state_file == NULL || (fp = fopen(opt.state_file, "rb")) == NULL)
		return;
	if (fread(started, 1, opt.subscribers, fp) != opt.subscribers ||
	    fread(gen, 1, opt.subscribers, fp) != opt.subscribers ||
	    fread(session, sizeof(*session), opt.subscribers, fp) != opt.subscribers) {
		fprintf(stderr, "radius_load: %s: not a state of %u subscribers\n", opt.state_file, opt.subscribers);
		exit(1);
	}
	fclose(fp);
}

static void
state_save(void)
{
	FILE *fp;

	if (opt.state_file == NULL)
		return;
	if ((fp = fopen(opt.state_file, "wb")) == NULL ||
	    fwrite(started, 1, opt.subscribers, fp) != opt.subscribers ||
	    fwrite(gen, 1, opt.subscribers, fp) != opt.subscribers ||
	    fwrite(session, sizeof(*session), opt.subscribers, fp) != opt.subscribers || fclose(fp) != 0)
		die(opt.state_file);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void
parse_server(const char *arg)
{
	char host[128];
	const char *colon = strrchr(arg, ':');

	if (colon == NULL || (size_t)(colon - arg) >= sizeof(host))
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	int port = atoi(colon + 1);
	struct sockaddr_in *in4 = (struct sockaddr_in *)&opt.server;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&opt.server;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		opt.server_len = sizeof(*in4);
		return;
	}
	if (host[0] == '[' && strlen(host) > 2) {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		opt.server_len = sizeof(*in6);
		return;
	}
bad:
	fprintf(stderr, "radius_load: -a wants ADDRESS:PORT, not %s\n", arg);
	exit(2);
}

static void
usage(void)
{
	fprintf(stderr, "usage: radius_load -a ADDRESS:PORT -k SECRET [-m starts|mix|storm] [-n SUBSCRIBERS] [-r RATE]\n"
	    "       [-d SECONDS] [-S SOCKETS] [-t TIMEOUT_MS] [-s STATE_FILE] [-c STORM_COUNT] [-o FIRST] [-p POLICY -w EVERY]\n"
	    "       [-x SEED] [-4] [-G]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "4Ga:k:m:n:o:r:d:S:t:s:c:p:w:x:")) != -1) {
		switch (c) {
		case '4': opt.v4_only = true; break;
		case 'G': gso_off = true; break;
		case 'a': parse_server(optarg); break;
		case 'k': opt.secret = (const uint8_t *)optarg; opt.secret_len = strlen(optarg); break;
		case 'm':
			opt.mode = strcmp(optarg, "starts") == 0 ? MODE_STARTS : strcmp(optarg, "storm") == 0 ? MODE_STORM :
			    strcmp(optarg, "mix") == 0 ? MODE_MIX : (usage(), MODE_MIX);
			break;
		case 'n': opt.subscribers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': opt.rate = strtod(optarg, NULL); break;
		case 'd': opt.duration = strtod(optarg, NULL); break;
		case 'S': opt.nsockets = (unsigned)atoi(optarg); break;
		case 't': opt.timeout_ns = strtoll(optarg, NULL, 10) * 1000000LL; break;
		case 's': opt.state_file = optarg; break;
		case 'o': opt.storm_first = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c': opt.storm_count = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': opt.policy = optarg; break;
		case 'w': opt.watch_every = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'x': opt.seed = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (opt.server_len == 0 || opt.secret == NULL || opt.subscribers == 0 || opt.subscribers > 4000000 ||
	    opt.rate <= 0 || opt.nsockets == 0 || opt.nsockets > MAX_SOCKETS ||
	    (opt.watch_every > 0 && opt.policy == NULL))
		usage();
	rng = opt.seed * 0x9E3779B97F4A7C15ull + 1;
	if ((started = calloc(opt.subscribers, 1)) == NULL || (gen = calloc(opt.subscribers, 1)) == NULL ||
	    (session = calloc(opt.subscribers, sizeof(*session))) == NULL)
		die("calloc");
	state_load();

	for (unsigned i = 0; i < opt.nsockets; i++) {
		int rcvbuf = 1 << 20;
		if ((socks[i].fd = socket(opt.server.ss_family, SOCK_DGRAM, 0)) < 0)
			die("socket");
		setsockopt(socks[i].fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		for (int id = 0; id < IDS; id++)
			socks[i].free_ids[id] = (uint8_t)(IDS - 1 - id);
		socks[i].nfree = IDS;
	}
	if ((epoll_fd = epoll_create1(0)) < 0)
		die("epoll_create1");
	for (unsigned i = 0; i < opt.nsockets; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, socks[i].fd, &ev) != 0)
			die("epoll_ctl");
	}

	/* storm: which subscribers reconnect, which of them are watched */
	uint64_t total = opt.mode == MODE_STARTS ? opt.subscribers :
	    opt.mode == MODE_STORM ? (uint64_t)opt.storm_count * 2 : (uint64_t)(opt.rate * opt.duration);
	struct watch *w = NULL;
	size_t nw = 0, candidates = 0;
	char action[32];
	if (opt.mode == MODE_STORM) {
		if (opt.storm_first >= opt.subscribers)
			usage();
		if (opt.storm_count > opt.subscribers - opt.storm_first)
			opt.storm_count = opt.subscribers - opt.storm_first;
		total = (uint64_t)opt.storm_count * 2;
		opt.rate *= 2;                      /* a Stop and a Start per subscriber */
		opt.duration = (double)total / opt.rate;
		if (opt.watch_every > 0) {
			policy_fd = policy_connect(opt.policy);
			for (int k = 0; k < ASKERS; k++)
				askers[k] = (struct asker){ .fd = policy_connect(opt.policy), .watch = -1 };
			if ((w = calloc(opt.storm_count / opt.watch_every + 1, sizeof(*w))) == NULL)
				die("calloc");
			/* only those the relay refuses now are watched: quarantined beforehand */
			for (uint32_t s = opt.storm_first; s - opt.storm_first < opt.storm_count; s += opt.watch_every) {
				candidates++;
				if (strcmp(policy_action(v4_of(s, gen[s]), action, sizeof(action)), "REJECT") == 0)
					w[nw++].sub = s;
			}
		}
	} else if (opt.mode == MODE_STARTS) {
		opt.duration = (double)total / opt.rate;
	}

	int64_t t0 = now_ns(), end = t0 + (int64_t)(opt.duration * 1e9), last_expire = t0, last_sent_ns = 0;
	uint64_t seq = 0;
	size_t next_watch = 0, watch_done = 0;
	for (;;) {
		int64_t now = now_ns();
		uint64_t due = now >= end ? total : (uint64_t)((double)(now - t0) * opt.rate / 1e9);
		if (due > total)
			due = total;
		bool blocked = false;
		for (unsigned burst = 0; seq < due && burst < BURST; burst++, seq++) {
			uint32_t sub, status;
			if (opt.mode == MODE_STARTS) {
				sub = (uint32_t)seq;
				status = RADIUS_STATUS_START;
			} else if (opt.mode == MODE_STORM) {
				sub = opt.storm_first + (uint32_t)(seq / 2);
				status = seq % 2 == 0 ? RADIUS_STATUS_STOP : RADIUS_STATUS_START;
			} else {
				sub = (uint32_t)(rnd() % opt.subscribers);
				status = !started[sub] ? RADIUS_STATUS_START :
				    rnd() % 10 < 8 ? RADIUS_STATUS_INTERIM : RADIUS_STATUS_STOP;
			}
			if (status == RADIUS_STATUS_START) {
				session[sub]++;
				if (opt.mode == MODE_STORM)
					gen[sub]++;           /* the new address */
			}
			bool sent = send_one(status, sub, now);
			if (!sent && opt.mode == MODE_STARTS) {
				n_skipped--;                  /* closed loop: sent when an answer frees one */
				session[sub]--;
				blocked = true;
				break;
			}
			started[sub] = status != RADIUS_STATUS_STOP;
			if (opt.mode == MODE_STORM && status == RADIUS_STATUS_START && next_watch < nw &&
			    w[next_watch].sub == sub) {
				w[next_watch].start_ns = now;
				w[next_watch].next_poll_ns = now;
				/* a Start never sent (no Identifier free) cannot move anything: not watched */
				if (!sent) {
					w[next_watch].unsent = true;
					w[next_watch].moved_ns = -1;
				}
				next_watch++;
			}
		}
		flush();
		receive(now);
		if (now - last_expire > 10000000) {
			expire(now);
			last_expire = now;
		}
		/* the watched: the relay asked about each new address until it refuses it */
		if (nw > 0)
			askers_run(w, watch_done, next_watch, now);
		while (watch_done < next_watch && w[watch_done].moved_ns != 0)
			watch_done++;
		if (seq >= total) {
			if (last_sent_ns == 0)
				last_sent_ns = now;     /* the waits count from the last request */
			bool watching = watch_done < nw && now - last_sent_ns < 10000000000LL;
			if ((in_flight() == 0 || now - last_sent_ns > opt.timeout_ns) && !watching)
				break;
		}
		if (seq >= due || blocked) {
			struct pollfd pfd[MAX_SOCKETS + ASKERS];
			unsigned np = 0;
			for (unsigned i = 0; i < opt.nsockets; i++)
				pfd[np++] = (struct pollfd){ .fd = socks[i].fd, .events = POLLIN };
			for (int k = 0; k < ASKERS && nw > 0; k++)
				if (askers[k].watch >= 0)
					pfd[np++] = (struct pollfd){ .fd = askers[k].fd, .events = POLLIN };
			poll(pfd, np, 1);
		}
	}
	expire(now_ns() + opt.timeout_ns + 1);   /* what is still out is lost */
	/* starts go as fast as answers free Identifiers: the time is until the last answer */
	double secs = opt.mode == MODE_STARTS && last_answer_ns > t0 ? (double)(last_answer_ns - t0) / 1e9 :
	    (double)(end - t0) / 1e9;

	qsort(lat_us, lat_n, sizeof(*lat_us), cmp_u32);
#define PCT(p) (lat_n ? lat_us[(size_t)((double)(lat_n - 1) * (p))] : 0)
	printf("mode=%s subscribers=%u rate=%.0f seconds=%.2f sent=%llu starts=%llu interims=%llu stops=%llu "
	    "answered=%llu timeouts=%llu skipped=%llu bad=%llu answered_per_s=%.0f p50_us=%u p99_us=%u max_us=%u",
	    opt.mode == MODE_STARTS ? "starts" : opt.mode == MODE_STORM ? "storm" : "mix", opt.subscribers, opt.rate,
	    secs, (unsigned long long)n_sent, (unsigned long long)n_by_type[1], (unsigned long long)n_by_type[3],
	    (unsigned long long)n_by_type[2], (unsigned long long)n_answered, (unsigned long long)n_timeouts,
	    (unsigned long long)n_skipped, (unsigned long long)n_bad, (double)n_answered / secs, PCT(0.5), PCT(0.99),
	    lat_n ? lat_us[lat_n - 1] : 0);
	if (opt.watch_every > 0) {
		int64_t *ms = calloc(nw + 1, sizeof(*ms));
		size_t moved = 0, freed = 0, unsent = 0;
		if (ms == NULL)
			die("calloc");
		for (size_t i = 0; i < nw; i++) {
			if (w[i].unsent)
				unsent++;
			else if (w[i].moved_ns != 0)
				ms[moved++] = w[i].moved_ns - w[i].start_ns;
			uint32_t old = v4_of(w[i].sub, (unsigned)gen[w[i].sub] - 1);
			if (strcmp(policy_action(old, action, sizeof(action)), "REJECT") != 0)
				freed++;
		}
		qsort(ms, moved, sizeof(*ms), cmp_i64);
		printf(" candidates=%zu watched=%zu unsent=%zu moved=%zu old_freed=%zu move_p50_ms=%.1f move_p99_ms=%.1f "
		    "move_max_ms=%.1f", candidates, nw, unsent, moved, freed, moved ? ms[(moved - 1) / 2] / 1e6 : -1.0,
		    moved ? ms[(size_t)((double)(moved - 1) * 0.99)] / 1e6 : -1.0, moved ? ms[moved - 1] / 1e6 : -1.0);
		free(ms);
	}
	printf("\n");
	state_save();
	free(w);
	free(lat_us);
	free(started);
	free(gen);
	free(session);
	return 0;
}
