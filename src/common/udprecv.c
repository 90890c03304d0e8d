/*
 * udprecv.c — see udprecv.h.
 */
#include "common/udprecv.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


struct udprecv {
	uv_poll_t poll;
	int fd;
	udprecv_fn fn;
	void *arg;
	udprecv_batch_fn batch_fn;       /* udprecv_set_batch */
	void *batch_arg;
	uint32_t drops_seen;             /* the kernel's cumulative count, as last read */
	struct udprecv_stats stats;
	struct mmsghdr msgs[UDPRECV_BATCH];
	struct iovec iov[UDPRECV_BATCH];
	struct sockaddr_storage from[UDPRECV_BATCH];
	/* SO_RXQ_OVFL's uint32_t, aligned for a cmsghdr */
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} control[UDPRECV_BATCH];
	/* udprecv_reply's queue, sent after each batch */
	bool in_batch;
	unsigned nout;
	struct mmsghdr out_msgs[UDPRECV_BATCH];
	struct iovec out_iov[UDPRECV_BATCH];
	struct sockaddr_storage out_to[UDPRECV_BATCH];
	uint8_t out_data[UDPRECV_BATCH][UDPRECV_REPLY_MAX];
	/* the queue as sent: a run of replies of one size to one peer as one message the kernel
	 * cuts into datagrams (UDP_SEGMENT), each other reply as it is */
	bool gso_off;                    /* the kernel or the route cannot segment: not tried again */
	struct mmsghdr gso_msgs[UDPRECV_BATCH];
	unsigned gso_count[UDPRECV_BATCH];       /* replies in each */
	bool gso_refused[UDPRECV_BATCH];         /* a segmented one the kernel refused */
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} gso_control[UDPRECV_BATCH];
	uint8_t data[];                  /* UDPRECV_BATCH datagrams of UDPRECV_MAX_SIZE + 1 */
};

/* Sends msgs[0..n) with as few sendmmsg calls as the kernel takes them in; a message it
 * refuses is lost, as a sendto would lose it, and the rest are tried after it. With counts
 * (counts[i] replies in msgs[i]), a message of several refused as a segmented one (EIO,
 * EINVAL, EOPNOTSUPP: no GSO on this kernel, route or device) is marked in
 * u->gso_refused[i] instead of counted lost; returns whether any was. Any other error (a
 * full buffer) loses its replies like a sendto's, and leaves segmenting on. */
static bool
replies_send(struct udprecv *u, struct mmsghdr *msgs, const unsigned *counts, unsigned n)
{
	unsigned sent = 0;
	bool refused = false;

	while (sent < n) {
		int k = sendmmsg(u->fd, msgs + sent, n - sent, MSG_DONTWAIT);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (counts != NULL && counts[sent] > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP))
				refused = u->gso_refused[sent] = true;
			else if (counts != NULL && counts[sent] > 1) {
				u->stats.send_errors += counts[sent];
				u->stats.segmented -= counts[sent];     /* lost, not sent */
			} else
				u->stats.send_errors++;
			sent++;
			continue;
		}
		sent += (unsigned)k;
	}
	return refused;
}

static bool
same_peer(const struct mmsghdr *a, const struct mmsghdr *b)
{
	return a->msg_hdr.msg_namelen == b->msg_hdr.msg_namelen && a->msg_hdr.msg_iov->iov_len == b->msg_hdr.msg_iov->iov_len &&
	    memcmp(a->msg_hdr.msg_name, b->msg_hdr.msg_name, a->msg_hdr.msg_namelen) == 0;
}

/*
 * Sends the queued replies. Consecutive replies of one size to one peer (a NAS's burst from
 * one port: every RADIUS Accounting-Response is 20 bytes) go as one message with UDP_SEGMENT,
 * which the kernel routes and builds once and cuts into datagrams (GSO): a NAS still gets
 * one datagram an answer, for a fraction of the sending's cost. A kernel, route or device
 * that refuses it (an error for a segmented message) turns it off for good; those replies
 * are then sent one by one.
 */
static void
replies_flush(struct udprecv *u)
{
	unsigned m = 0;

	if (u->gso_off || u->nout < 2) {
		replies_send(u, u->out_msgs, NULL, u->nout);
		u->nout = 0;
		return;
	}
	for (unsigned i = 0; i < u->nout;) {
		unsigned k = 1;
		while (i + k < u->nout && k < UDPRECV_GSO_MAX && same_peer(&u->out_msgs[i], &u->out_msgs[i + k]))
			k++;
		struct msghdr *h = &u->gso_msgs[m].msg_hdr;
		*h = u->out_msgs[i].msg_hdr;
		h->msg_iov = &u->out_iov[i];             /* the run's iovecs are consecutive */
		h->msg_iovlen = k;
		if (k > 1) {
			h->msg_control = u->gso_control[m].buf;
			h->msg_controllen = sizeof(u->gso_control[m].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t size = (uint16_t)u->out_iov[i].iov_len;
			memcpy(CMSG_DATA(c), &size, sizeof(size));
			u->stats.segmented += k;
		}
		u->gso_refused[m] = false;
		u->gso_count[m++] = k;
		i += k;
	}
	if (replies_send(u, u->gso_msgs, u->gso_count, m)) {
		/* refused as segments: those replies alone, and no more segmenting */
		u->gso_off = true;
		unsigned at = 0;
		for (unsigned g = 0; g < m; at += u->gso_count[g++]) {
			if (!u->gso_refused[g])
				continue;
			u->stats.segmented -= u->gso_count[g];
			replies_send(u, &u->out_msgs[at], NULL, u->gso_count[g]);
		}
	}
	u->nout = 0;
}

int
udprecv_open(const struct listen_addr *la, int rcvbuf, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char name[128];
	int fd, one = 1;

	listen_addr_format(la, name, sizeof(name));
	memset(&ss, 0, sizeof(ss));
	/* a host and port, whatever the transport (listen_addr's TCP kind) */
	if (la->kind != LISTEN_TCP || (strchr(la->host, ':') != NULL ?
	    uv_ip6_addr(la->host, la->port, (struct sockaddr_in6 *)&ss) :
	    uv_ip4_addr(la->host, la->port, (struct sockaddr_in *)&ss)) != 0) {
		snprintf(err, errlen, "listen %s: expected ADDRESS:PORT or [IPV6]:PORT", name);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", name, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		int v6only = strcmp(la->host, "::") == 0 ? 0 : 1;      /* "::" takes IPv4 too */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	/* beyond net.core.rmem_max only with CAP_NET_ADMIN; without it, as much as allowed */
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0) {
		snprintf(err, errlen, "listen %s: SO_RXQ_OVFL: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		snprintf(err, errlen, "listen %s (UDP): %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The kernel's drop count on one datagram, when it carries one (after the first drop). */
static void
udprecv_drops(struct udprecv *u, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		uint32_t total;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL ||
		    c->cmsg_len < CMSG_LEN(sizeof(total)))
			continue;
		memcpy(&total, CMSG_DATA(c), sizeof(total));
		/* cumulative, 32 bits: what it grew by since last read (it may wrap) */
		uint32_t grew = total - u->drops_seen;
		if (grew > 0 && grew < 0x80000000u) {
			u->stats.kernel_drops += grew;
			u->drops_seen = total;
		}
	}
}

size_t
udprecv_read(struct udprecv *u, size_t budget)
{
	size_t done = 0;

	while (done < budget) {
		unsigned want = budget - done < UDPRECV_BATCH ? (unsigned)(budget - done) : UDPRECV_BATCH;
		for (unsigned i = 0; i < want; i++) {
			struct msghdr *mh = &u->msgs[i].msg_hdr;
			u->iov[i].iov_base = u->data + (size_t)i * (UDPRECV_MAX_SIZE + 1);
			u->iov[i].iov_len = UDPRECV_MAX_SIZE + 1;       /* one more: a longer one shows */
			mh->msg_name = &u->from[i];
			mh->msg_namelen = sizeof(u->from[i]);
			mh->msg_iov = &u->iov[i];
			mh->msg_iovlen = 1;
			mh->msg_control = u->control[i].buf;
			mh->msg_controllen = sizeof(u->control[i].buf);
			mh->msg_flags = 0;
		}
		int n = recvmmsg(u->fd, u->msgs, want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				u->stats.errors++;
			break;
		}
		usec_t now = time_now();
		if (u->batch_fn != NULL && n > 0) {
			const uint8_t *bufs[UDPRECV_BATCH];
			size_t lens[UDPRECV_BATCH];
			unsigned k = 0;
			for (int i = 0; i < n; i++)
				if (!(u->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) && u->msgs[i].msg_len <= UDPRECV_MAX_SIZE) {
					bufs[k] = u->iov[i].iov_base;
					lens[k++] = u->msgs[i].msg_len;
				}
			u->batch_fn(u->batch_arg, bufs, lens, k);
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &u->msgs[i].msg_hdr;
			size_t len = u->msgs[i].msg_len;
			struct udprecv_peer from;
			udprecv_drops(u, mh);
			if ((mh->msg_flags & MSG_TRUNC) || len > UDPRECV_MAX_SIZE) {
				u->stats.truncated++;
				continue;
			}
			if (addr_from_sockaddr((const struct sockaddr *)&u->from[i], &from.addr) != 0)
				continue;
			from.sa = u->from[i];
			from.salen = mh->msg_namelen;
			from.port = ntohs(u->from[i].ss_family == AF_INET6 ?
			    ((const struct sockaddr_in6 *)&u->from[i])->sin6_port :
			    ((const struct sockaddr_in *)&u->from[i])->sin_port);
			u->stats.datagrams++;
			u->stats.bytes += len;
			u->in_batch = true;
			u->fn(u->arg, &from, u->iov[i].iov_base, len, now);
			u->in_batch = false;
		}
		if (u->nout > 0)
			replies_flush(u);
		done += (size_t)n;
		if ((unsigned)n < want)
			break;                       /* the socket is empty for now */
	}
	return done;
}

void
udprecv_set_batch(struct udprecv *u, udprecv_batch_fn fn, void *arg)
{
	u->batch_fn = fn;
	u->batch_arg = arg;
}

int
udprecv_reply(struct udprecv *u, const struct udprecv_peer *to, const void *buf, size_t len)
{
	if (!u->in_batch || len > UDPRECV_REPLY_MAX || u->nout == UDPRECV_BATCH || to->salen > sizeof(u->out_to[0])) {
		if (u->nout > 0)
			replies_flush(u);         /* what was queued goes first: answers keep their order */
		return udprecv_send(u, to, buf, len);
	}
	unsigned i = u->nout++;
	memcpy(u->out_data[i], buf, len);
	memcpy(&u->out_to[i], &to->sa, to->salen);
	u->out_iov[i] = (struct iovec){ .iov_base = u->out_data[i], .iov_len = len };
	u->out_msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &u->out_to[i], .msg_namelen = to->salen,
		.msg_iov = &u->out_iov[i], .msg_iovlen = 1 } };
	return 0;
}

int
udprecv_send(struct udprecv *u, const struct udprecv_peer *to, const void *buf, size_t len)
{
	if (sendto(u->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&to->sa, to->salen) == (ssize_t)len)
		return 0;
	u->stats.send_errors++;
	return errno != 0 ? -errno : -EIO;
}

static void
udprecv_on_readable(uv_poll_t *h, int status, int events)
{
	struct udprecv *u = h->data;

	(void)events;
	if (status < 0) {
		u->stats.errors++;
		return;
	}
	udprecv_read(u, UDPRECV_BUDGET);
}

static void
udprecv_closed(uv_handle_t *h)
{
	struct udprecv *u = h->data;

	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

struct udprecv *
udprecv_start(uv_loop_t *loop, int fd, udprecv_fn fn, void *arg, char *err, size_t errlen)
{
	struct udprecv *u = calloc(1, sizeof(*u) + (size_t)UDPRECV_BATCH * (UDPRECV_MAX_SIZE + 1));
	socklen_t sl = sizeof(int);
	int rc;

	if (u == NULL) {
		snprintf(err, errlen, "UDP receiver: out of memory");
		return NULL;
	}
	u->fd = fd;
	u->fn = fn;
	u->arg = arg;
	/* Linux reports twice what it grants for data (its own bookkeeping in the rest) */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &u->stats.rcvbuf, &sl) == 0)
		u->stats.rcvbuf /= 2;
	if ((rc = uv_poll_init(loop, &u->poll, fd)) != 0) {
		snprintf(err, errlen, "UDP receiver: %s", uv_strerror(rc));
		free(u);
		return NULL;
	}
	u->poll.data = u;
	if ((rc = uv_poll_start(&u->poll, UV_READABLE, udprecv_on_readable)) != 0) {
		snprintf(err, errlen, "UDP receiver: %s", uv_strerror(rc));
		u->fd = -1;                      /* on failure the descriptor stays the caller's */
		uv_close((uv_handle_t *)&u->poll, udprecv_closed);
		return NULL;
	}
	return u;
}


void
udprecv_stop(struct udprecv *u)
{
	if (u == NULL)
		return;
	uv_poll_stop(&u->poll);
	uv_close((uv_handle_t *)&u->poll, udprecv_closed);
}

const struct udprecv_stats *
udprecv_stats(const struct udprecv *u)
{
	return &u->stats;
}
