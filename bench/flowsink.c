/*
 * flowsink.c — the ceiling of the flow benchmark: a NetFlow v9 / IPFIX
 * receiver that only counts.
 *
 * One thread, one UDP socket with a large receive buffer (-b, set with
 * SO_RCVBUFFORCE as root so net.core.rmem_max does not cap it), recvmmsg in
 * batches of -B. For each datagram it walks the sets just far enough to
 * count: templates learnt per (exporter address and port, source id /
 * observation domain, template id) for their record length, data records
 * counted from each data set's length, the export sequence followed per
 * exporter (v9: datagrams, IPFIX: records) to count what was lost on the
 * way, and the kernel's drops on the socket read back from SO_RXQ_OVFL.
 * Whatever a collector does on this machine, it cannot count more than this.
 *
 * usage: flowsink [-b bytes] [-B batch] HOST:PORT
 * SIGUSR1 prints the totals so far (one line, key=value) on stdout;
 * SIGINT/SIGTERM print them and exit.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH	256
#define DGRAM_MAX	65536
#define MAX_TEMPLATES	256	/* (exporter, domain, id) triples remembered */
#define MAX_EXPORTERS	64	/* sequences followed */

struct template {
	struct sockaddr_storage from;
	uint32_t	 domain;
	uint16_t	 id;
	uint16_t	 version;
	uint32_t	 rec_len;	/* 0: has a variable-length field */
};

struct exporter {
	struct sockaddr_storage from;
	uint32_t	 domain;
	uint16_t	 version;
	int		 seen;
	uint32_t	 next_seq;
};

static struct template	 templates[MAX_TEMPLATES];
static unsigned		 ntemplates;
static struct exporter	 exporters[MAX_EXPORTERS];
static unsigned		 nexporters;

static struct {
	uint64_t	 datagrams, bytes, records, template_records;
	uint64_t	 unknown_sets, malformed, seq_lost, seq_lost_records;
	uint32_t	 kernel_drops;
} tot;

static volatile sig_atomic_t want_print, want_exit;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_print = 1;
	else
		want_exit = 1;
}

static inline uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	return memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
}

static struct template *
template_find(const struct sockaddr_storage *from, uint16_t version, uint32_t domain, uint16_t id)
{
	unsigned i;

	for (i = 0; i < ntemplates; i++)
		if (templates[i].id == id && templates[i].domain == domain &&
		    templates[i].version == version && same_addr(&templates[i].from, from))
			return &templates[i];
	return NULL;
}

/*
 * One template set (v9 flowset 0 or IPFIX set 2), body p..p+len: each
 * template's record length remembered. A template running past the set is
 * malformed and ends the set.
 */
static void
learn_templates(const struct sockaddr_storage *from, uint16_t version, uint32_t domain,
    const uint8_t *p, size_t len)
{
	while (len >= 4) {
		uint16_t id = get16(p), nf = get16(p + 2);
		uint32_t rec_len = 0;
		int variable = 0;
		struct template *t;
		size_t off = 4;
		unsigned i;

		if (id < 256) {
			tot.malformed++;
			return;
		}
		for (i = 0; i < nf; i++) {
			uint16_t fid, flen;

			if (off + 4 > len) {
				tot.malformed++;
				return;
			}
			fid = get16(p + off);
			flen = get16(p + off + 2);
			off += 4;
			if (version == 10 && (fid & 0x8000)) {
				if (off + 4 > len) {
					tot.malformed++;
					return;
				}
				off += 4;	/* enterprise number */
			}
			if (version == 10 && flen == 65535)
				variable = 1;
			rec_len += flen;
		}
		tot.template_records++;
		t = template_find(from, version, domain, id);
		if (t == NULL && ntemplates < MAX_TEMPLATES) {
			t = &templates[ntemplates++];
			t->from = *from;
			t->version = version;
			t->domain = domain;
			t->id = id;
		}
		if (t != NULL)
			t->rec_len = variable ? 0 : rec_len;
		p += off;
		len -= off;
	}
}

static void
follow_sequence(const struct sockaddr_storage *from, uint16_t version, uint32_t domain,
    uint32_t seq, uint32_t advance)
{
	struct exporter *e = NULL;
	unsigned i;

	for (i = 0; i < nexporters; i++)
		if (exporters[i].domain == domain && exporters[i].version == version &&
		    same_addr(&exporters[i].from, from)) {
			e = &exporters[i];
			break;
		}
	if (e == NULL) {
		if (nexporters == MAX_EXPORTERS)
			return;
		e = &exporters[nexporters++];
		e->from = *from;
		e->version = version;
		e->domain = domain;
	}
	/* a jump forward of under 2^31 is a loss; anything else a restart or reordering */
	if (e->seen && seq != e->next_seq && (uint32_t)(seq - e->next_seq) < 0x80000000u) {
		if (version == 9)
			tot.seq_lost += seq - e->next_seq;
		else
			tot.seq_lost_records += seq - e->next_seq;
	}
	e->seen = 1;
	e->next_seq = seq + advance;
}

/* Counts one datagram of n bytes from `from`. */
static void
count_datagram(const struct sockaddr_storage *from, const uint8_t *d, size_t n)
{
	uint16_t version;
	uint32_t domain, seq, data_records = 0;
	size_t off;

	tot.datagrams++;
	tot.bytes += n;
	if (n < 16) {
		tot.malformed++;
		return;
	}
	version = get16(d);
	if (version == 9 && n >= 20) {
		seq = get32(d + 12);
		domain = get32(d + 16);
		off = 20;
	} else if (version == 10) {
		if (get16(d + 2) != n) {
			tot.malformed++;
			return;
		}
		seq = get32(d + 8);
		domain = get32(d + 12);
		off = 16;
	} else {
		tot.malformed++;
		return;
	}
	while (off + 4 <= n) {
		uint16_t set_id = get16(d + off), set_len = get16(d + off + 2);
		struct template *t;

		if (set_len < 4 || off + set_len > n) {
			tot.malformed++;
			break;
		}
		if ((version == 9 && set_id == 0) || (version == 10 && set_id == 2))
			learn_templates(from, version, domain, d + off + 4, set_len - 4u);
		else if (set_id >= 256) {
			t = template_find(from, version, domain, set_id);
			if (t == NULL || t->rec_len == 0)
				tot.unknown_sets++;
			else
				data_records += (set_len - 4u) / t->rec_len;
		}
		off += set_len;
	}
	tot.records += data_records;
	follow_sequence(from, version, domain, seq, version == 9 ? 1 : data_records);
}

static void
print_totals(void)
{
	printf("flowsink: datagrams=%llu bytes=%llu records=%llu template_records=%llu "
	    "unknown_sets=%llu malformed=%llu seq_lost_datagrams=%llu seq_lost_records=%llu "
	    "kernel_drops=%u\n",
	    (unsigned long long)tot.datagrams, (unsigned long long)tot.bytes,
	    (unsigned long long)tot.records, (unsigned long long)tot.template_records,
	    (unsigned long long)tot.unknown_sets, (unsigned long long)tot.malformed,
	    (unsigned long long)tot.seq_lost, (unsigned long long)tot.seq_lost_records,
	    tot.kernel_drops);
	fflush(stdout);
}

static int
open_socket(const char *arg, int rcvbuf)
{
	char host[256];
	const char *port, *c;
	struct addrinfo hints, *res;
	struct timeval tv = { 0, 200000 };
	int fd, one = 1;
	size_t hl;

	if (arg[0] == '[') {
		c = strchr(arg, ']');
		if (c == NULL || c[1] != ':')
			return -EINVAL;
		hl = (size_t)(c - arg - 1);
		port = c + 2;
		arg++;
	} else {
		c = strrchr(arg, ':');
		if (c == NULL)
			return -EINVAL;
		hl = (size_t)(c - arg);
		port = c + 1;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EINVAL;
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	/* FORCE goes past net.core.rmem_max (root); otherwise the capped value */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* a timeout so that a signal between two batches is seen within 0.2 s */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	{
		int e = errno;

		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -e;
	}
}

int
main(int argc, char **argv)
{
	static uint8_t bufs[MAX_BATCH][DGRAM_MAX];
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static struct sockaddr_storage from[MAX_BATCH];
	static char ctl[MAX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct sigaction sa;
	unsigned batch = 64, i;
	int rcvbuf = 32 << 20, fd, c, got;
	socklen_t sl = sizeof(rcvbuf);

	while ((c = getopt(argc, argv, "B:b:")) != -1) {
		switch (c) {
		case 'B':
			batch = (unsigned)atoi(optarg);
			if (batch < 1 || batch > MAX_BATCH)
				goto usage;
			break;
		case 'b':
			rcvbuf = atoi(optarg);
			if (rcvbuf < 4096)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	fd = open_socket(argv[optind], rcvbuf);
	if (fd < 0) {
		fprintf(stderr, "flowsink: %s: %s\n", argv[optind], strerror(-fd));
		return 1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl) == 0)
		fprintf(stderr, "flowsink: listening on %s rcvbuf=%d\n", argv[optind], rcvbuf);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: recvmmsg returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!want_exit) {
		if (want_print) {
			want_print = 0;
			print_totals();
		}
		for (i = 0; i < batch; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = DGRAM_MAX;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		got = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, NULL);
		if (got == -1) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			perror("flowsink: recvmmsg");
			return 1;
		}
		for (i = 0; i < (unsigned)got; i++) {
			struct cmsghdr *cm;

			count_datagram(&from[i], bufs[i], msgs[i].msg_len);
			for (cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr); cm != NULL;
			    cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL)
					memcpy(&tot.kernel_drops, CMSG_DATA(cm), sizeof(uint32_t));
		}
	}
	print_totals();
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: flowsink [-b bytes] [-B batch] HOST:PORT\n");
	return 2;
}
