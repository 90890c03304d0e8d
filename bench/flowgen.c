/*
 * flowgen.c — a NetFlow v9 / IPFIX exporter simulator for the flow benchmark.
 *
 * It plays a router exporting flow records to a collector over UDP, as fast
 * and as evenly as asked: a template first and again every -t datagrams,
 * then data records, -n (30) to a datagram, each an IPv4 5-tuple with
 * packets, bytes, TCP flags and first/last switched (v9: sysUptime ms;
 * IPFIX: flowStart/EndMilliseconds). Sources are -H active hosts spread
 * over the subscriber prefix -p (10 000 inside 100.64.0.0/10); destinations,
 * ports and protocols vary as a subscriber's traffic does; -R makes a share
 * of the records the inbound replies, -b a share "bad behaviour" from 1 % of
 * the hosts (TCP/25 fan-out to many destinations, SYN-only scans) so the
 * same load can feed the detectors.
 *
 * Pacing: the datagrams are due at fixed times from the start (rate / -n a
 * second); whatever is due is built and handed to the kernel with one
 * sendmmsg per batch (up to -B), and the sender sleeps (clock_nanosleep,
 * absolute) until the next one is due. A sender that cannot keep up sends
 * back to back and says how far behind it ended (behind_ms). -P runs that
 * many sender processes, each with its share of the rate and its own source
 * id / observation domain (-i, -i+1, ...), each with its own sequence:
 * v9 counts export datagrams, IPFIX data records (RFC 7011), so a
 * collector can count what it lost.
 *
 * usage: flowgen [-f v9|ipfix] [-r records/s] [-d seconds] [-H hosts]
 *	[-p prefix/len] [-n records] [-t every] [-R percent] [-b percent]
 *	[-P senders] [-B batch] [-i source_id] [-s seed] TARGET
 *	TARGET is HOST:PORT or [V6ADDR]:PORT.
 * At the end it prints one line of what it sent (key=value), with the CPU
 * time the senders used (cpu_s; on loopback that includes the kernel's work
 * of queueing each datagram on the receiver's socket).
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC		1000000000ULL
#define MAX_RECORDS	60		/* per datagram: 2 348 B of IPFIX with the template */
#define MAX_BATCH	256
#define DGRAM_MAX	2400
#define MAX_SENDERS	16
#define TEMPLATE_ID	256

enum flow_format { FORMAT_V9 = 9, FORMAT_IPFIX = 10 };

/* One field of the template: information element id and length. */
struct field {
	uint16_t	 id;
	uint16_t	 len;
};

/* v9 and IPFIX share the element ids 1-22; only the timestamps differ. */
static const struct field v9_fields[] = {
	{ 8, 4 },	/* IPV4_SRC_ADDR */
	{ 12, 4 },	/* IPV4_DST_ADDR */
	{ 7, 2 },	/* L4_SRC_PORT */
	{ 11, 2 },	/* L4_DST_PORT */
	{ 4, 1 },	/* PROTOCOL */
	{ 6, 1 },	/* TCP_FLAGS */
	{ 2, 4 },	/* IN_PKTS */
	{ 1, 4 },	/* IN_BYTES */
	{ 22, 4 },	/* FIRST_SWITCHED (sysUptime ms) */
	{ 21, 4 },	/* LAST_SWITCHED */
};
static const struct field ipfix_fields[] = {
	{ 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 6, 1 },
	{ 2, 4 },	/* packetDeltaCount */
	{ 1, 4 },	/* octetDeltaCount */
	{ 152, 8 },	/* flowStartMilliseconds */
	{ 153, 8 },	/* flowEndMilliseconds */
};
#define NFIELDS		(sizeof(v9_fields) / sizeof(v9_fields[0]))
#define V9_RECORD	30
#define IPFIX_RECORD	38

struct gen_opts {
	enum flow_format format;
	double		 rate;		/* records/s, all senders together */
	double		 duration;	/* seconds */
	uint32_t	 hosts;
	uint32_t	 prefix;	/* host order */
	unsigned	 prefix_len;
	unsigned	 records;	/* per datagram */
	unsigned	 template_every;
	unsigned	 reply_pct;
	unsigned	 bad_pct;
	unsigned	 senders;
	unsigned	 batch;
	uint32_t	 source_id;
	uint64_t	 seed;
	struct sockaddr_storage target;
	socklen_t	 target_len;
};

/* What one sender did; in shared memory so the parent can add them up. */
struct sender_stats {
	uint64_t	 datagrams, records, templates, packets, bytes;
	uint64_t	 bad_records, send_errors;
	double		 seconds;
	double		 behind_ms;	/* how late the last datagram left */
	int		 done;
};

struct sender {
	const struct gen_opts *o;
	uint32_t	 source_id;
	uint32_t	 sequence;	/* v9: datagrams; IPFIX: data records */
	uint64_t	 rng;
	uint32_t	 host_mask;
	uint32_t	 bad_hosts;
	uint64_t	 start_ns;	/* monotonic */
	uint64_t	 wall_start_ms;	/* realtime, for IPFIX and v9 unix_secs */
	struct sender_stats *st;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64*: a few ns a draw, good enough to vary a benchmark's traffic. */
static inline uint64_t
rnd(struct sender *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

/* A uniform draw in [0, n) from the high 32 bits, without a division. */
static inline uint32_t
rnd_below(struct sender *s, uint32_t n)
{
	return (uint32_t)(((rnd(s) >> 32) * (uint64_t)n) >> 32);
}

static inline uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *
put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

/*
 * The address of host number idx (< hosts <= prefix size): an odd multiplier
 * modulo the prefix size is a bijection, so the hosts are distinct and spread
 * over the whole prefix instead of packed at its start.
 */
static inline uint32_t
host_addr(const struct sender *s, uint32_t idx)
{
	return s->o->prefix | ((idx * 0x9E3779B1u) & s->host_mask);
}

/* A destination "on the Internet": first octet 11-210, never 100 or 127. */
static inline uint32_t
remote_addr(struct sender *s)
{
	uint32_t r = (uint32_t)(rnd(s) >> 32);
	uint32_t o1 = 11 + (r >> 24) % 200;

	if (o1 == 100 || o1 == 127)
		o1++;
	return (o1 << 24) | (r & 0xFFFFFF);
}

struct flow {
	uint32_t	 src, dst;
	uint16_t	 sport, dport;
	uint8_t		 proto, flags;
	uint32_t	 packets, bytes;
	uint32_t	 age_ms, dur_ms;	/* last switched this long ago; lasted */
};

static const uint16_t scan_ports[] = { 22, 23, 445, 3389, 8080, 5900, 1433, 2323 };

/* One record of traffic: mostly a subscriber's ordinary outbound flows. */
static void
make_flow(struct sender *s, struct flow *f)
{
	uint32_t r = (uint32_t)(rnd(s) >> 32);
	uint32_t pick = r % 100;
	uint32_t host;

	f->age_ms = rnd_below(s, 2000);
	f->dur_ms = rnd_below(s, 60000);
	if (s->o->bad_pct && rnd_below(s, 100) < s->o->bad_pct) {
		host = rnd_below(s, s->bad_hosts);
		f->src = host_addr(s, host);
		f->sport = (uint16_t)(32768 + rnd_below(s, 28000));
		f->proto = 6;
		f->packets = 1 + (r & 1);
		f->dur_ms = f->packets > 1 ? 3000 : 0;
		if (host & 1) {
			/* spam bot: TCP/25 straight to many mail servers */
			f->dst = remote_addr(s);
			f->dport = 25;
			f->flags = (r & 2) ? 0x02 : 0x1b;
			f->packets = (r & 2) ? f->packets : 12;
			f->bytes = f->packets * 60;
		} else {
			/* scanner: SYN only, one /16 a host, a handful of ports */
			f->dst = (remote_addr(s) & 0xFFFF0000) ^ (host << 16) ^
			    (uint32_t)rnd_below(s, 65536);
			f->dport = scan_ports[rnd_below(s, 8)];
			f->flags = 0x02;
			f->bytes = f->packets * 44;
		}
		s->st->bad_records++;
		return;
	}
	f->src = host_addr(s, rnd_below(s, s->o->hosts));
	f->dst = remote_addr(s);
	f->sport = (uint16_t)(32768 + rnd_below(s, 28000));
	if (pick < 45) {
		f->proto = 6; f->dport = 443;
	} else if (pick < 60) {
		f->proto = 6; f->dport = 80;
	} else if (pick < 75) {
		f->proto = 17; f->dport = 53;
	} else if (pick < 78) {
		f->proto = 17; f->dport = 123;
	} else if (pick < 90) {
		f->proto = 6; f->dport = (uint16_t)(1024 + rnd_below(s, 64000));
	} else {
		f->proto = 17; f->dport = (uint16_t)(1024 + rnd_below(s, 64000));
	}
	f->packets = 1 + rnd_below(s, (r & 0xF00) == 0 ? 2000 : 40);
	f->bytes = f->packets * (40 + rnd_below(s, 1460));
	f->flags = f->proto == 6 ? ((r & 0x200) ? 0x1b : 0x18) : 0;
	if (s->o->reply_pct && rnd_below(s, 100) < s->o->reply_pct) {
		/* the answer coming back to the subscriber */
		uint32_t a = f->src;
		uint16_t p = f->sport;

		f->src = f->dst;
		f->dst = a;
		f->sport = f->dport;
		f->dport = p;
		if (f->proto == 6)
			f->flags |= 0x10;
	}
}

static size_t
put_template(const struct sender *s, uint8_t *p)
{
	const struct field *fl = s->o->format == FORMAT_V9 ? v9_fields : ipfix_fields;
	uint8_t *q = p;
	size_t i;

	/* v9: flowset id 0; IPFIX: set id 2. Then the length, one template. */
	q = put16(q, s->o->format == FORMAT_V9 ? 0 : 2);
	q = put16(q, (uint16_t)(8 + 4 * NFIELDS));
	q = put16(q, TEMPLATE_ID);
	q = put16(q, (uint16_t)NFIELDS);
	for (i = 0; i < NFIELDS; i++) {
		q = put16(q, fl[i].id);
		q = put16(q, fl[i].len);
	}
	return (size_t)(q - p);
}

/*
 * Builds the next export datagram into buf (DGRAM_MAX bytes): header, the
 * template when it is due, one data set of o->records records. Returns its
 * length. Advances the sequence and the counters.
 */
static size_t
build_datagram(struct sender *s, uint8_t *buf, uint64_t now_ns)
{
	const struct gen_opts *o = s->o;
	int with_template = o->template_every &&
	    s->st->datagrams % o->template_every == 0;
	uint64_t up_ms = 3600000 + (now_ns - s->start_ns) / 1000000;
	uint64_t wms = s->wall_start_ms + (now_ns - s->start_ns) / 1000000;
	size_t rec_len = o->format == FORMAT_V9 ? V9_RECORD : IPFIX_RECORD;
	size_t hdr = o->format == FORMAT_V9 ? 20 : 16;
	uint8_t *p = buf + hdr;
	size_t len, set_len;
	unsigned i;

	if (with_template) {
		p += put_template(s, p);
		s->st->templates++;
	}
	set_len = 4 + rec_len * o->records;
	p = put16(p, TEMPLATE_ID);
	p = put16(p, (uint16_t)set_len);
	for (i = 0; i < o->records; i++) {
		struct flow f;

		make_flow(s, &f);
		p = put32(p, f.src);
		p = put32(p, f.dst);
		p = put16(p, f.sport);
		p = put16(p, f.dport);
		*p++ = f.proto;
		*p++ = f.flags;
		p = put32(p, f.packets);
		p = put32(p, f.bytes);
		if (o->format == FORMAT_V9) {
			p = put32(p, (uint32_t)(up_ms - f.age_ms - f.dur_ms));
			p = put32(p, (uint32_t)(up_ms - f.age_ms));
		} else {
			p = put64(p, wms - f.age_ms - f.dur_ms);
			p = put64(p, wms - f.age_ms);
		}
		s->st->packets += f.packets;
		s->st->bytes += f.bytes;
	}
	len = (size_t)(p - buf);
	if (o->format == FORMAT_V9) {
		p = buf;
		p = put16(p, 9);
		p = put16(p, (uint16_t)(o->records + (with_template ? 1 : 0)));
		p = put32(p, (uint32_t)up_ms);
		p = put32(p, (uint32_t)(wms / 1000));
		p = put32(p, s->sequence);
		put32(p, s->source_id);
		s->sequence++;
	} else {
		p = buf;
		p = put16(p, 10);
		p = put16(p, (uint16_t)len);
		p = put32(p, (uint32_t)(wms / 1000));
		p = put32(p, s->sequence);
		put32(p, s->source_id);
		s->sequence += o->records;
	}
	s->st->datagrams++;
	s->st->records += o->records;
	return len;
}

/* One sender: its share of the rate, for the duration. 0 or -errno. */
static int
sender_run(const struct gen_opts *o, unsigned idx, struct sender_stats *st)
{
	static uint8_t bufs[MAX_BATCH][DGRAM_MAX];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct sender s;
	double share = o->rate / o->senders;
	double interval_ns = (double)NSEC * o->records / share;
	uint64_t total = (uint64_t)(share * o->duration / o->records + 0.5);
	uint64_t sent = 0, now;
	int fd, sndbuf = 8 << 20;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.st = st;
	s.source_id = o->source_id + idx;
	s.rng = o->seed * 0x9E3779B97F4A7C15ULL + idx + 1;
	s.host_mask = o->prefix_len == 0 ? 0xFFFFFFFFu :
	    (o->prefix_len >= 32 ? 0 : (1u << (32 - o->prefix_len)) - 1);
	s.bad_hosts = o->hosts / 100 ? o->hosts / 100 : 1;

	fd = socket(o->target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (connect(fd, (const struct sockaddr *)&o->target, o->target_len) == -1) {
		int e = errno;

		close(fd);
		return -e;
	}
	memset(msgs, 0, sizeof(msgs));
	s.start_ns = mono_ns();
	s.wall_start_ms = wall_ms();
	now = s.start_ns;
	while (sent < total) {
		uint64_t due = (uint64_t)((double)(now - s.start_ns) / interval_ns) + 1;
		unsigned n, i;
		int r;

		if (due > total)
			due = total;
		if (due <= sent) {
			uint64_t at = s.start_ns + (uint64_t)((double)sent * interval_ns);
			struct timespec ts = { (time_t)(at / NSEC), (long)(at % NSEC) };

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			now = mono_ns();
			continue;
		}
		n = due - sent > o->batch ? o->batch : (unsigned)(due - sent);
		for (i = 0; i < n; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = build_datagram(&s, bufs[i], now);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		for (i = 0; i < n; ) {
			r = sendmmsg(fd, msgs + i, n - i, 0);
			if (r > 0) {
				i += (unsigned)r;
				continue;
			}
			if (r == -1 && errno == EINTR)
				continue;
			/* ECONNREFUSED (nobody listening yet), ENOBUFS: counted, dropped */
			st->send_errors += n - i;
			break;
		}
		sent += n;
		now = mono_ns();
	}
	st->seconds = (double)(now - s.start_ns) / NSEC;
	st->behind_ms = ((double)(now - s.start_ns) - (double)(total - 1) * interval_ns) / 1e6;
	if (st->behind_ms < 0)
		st->behind_ms = 0;
	st->done = 1;
	close(fd);
	return 0;
}

static int
parse_target(const char *arg, struct gen_opts *o)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res;
	size_t hl;

	if (arg[0] == '[') {
		const char *e = strchr(arg, ']');

		if (e == NULL || e[1] != ':')
			return -EINVAL;
		hl = (size_t)(e - arg - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, arg + 1, hl);
		port = e + 2;
	} else {
		const char *c = strrchr(arg, ':');

		if (c == NULL)
			return -EINVAL;
		hl = (size_t)(c - arg);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, arg, hl);
		port = c + 1;
	}
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EINVAL;
	memcpy(&o->target, res->ai_addr, res->ai_addrlen);
	o->target_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
parse_prefix(const char *arg, struct gen_opts *o)
{
	char buf[32];
	const char *slash = strchr(arg, '/');
	struct in_addr a;
	char *end;
	long len;
	size_t n;

	if (slash == NULL || (n = (size_t)(slash - arg)) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, arg, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	len = strtol(slash + 1, &end, 10);
	if (*end != '\0' || len < 0 || len > 32)
		return -EINVAL;
	o->prefix_len = (unsigned)len;
	o->prefix = ntohl(a.s_addr);
	if (len < 32)
		o->prefix &= len == 0 ? 0 : ~((1u << (32 - len)) - 1);
	return 0;
}

static double
num_arg(const char *arg, double min, double max, const char *what)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "flowgen: bad %s: %s\n", what, arg);
		exit(2);
	}
	return v;
}

static void
usage(void)
{
	fprintf(stderr, "usage: flowgen [-f v9|ipfix] [-r records/s] [-d seconds] [-H hosts]\n"
	    "\t[-p prefix/len] [-n records] [-t every] [-R percent] [-b percent]\n"
	    "\t[-P senders] [-B batch] [-i source_id] [-s seed] HOST:PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct gen_opts o = {
		.format = FORMAT_V9, .rate = 100000, .duration = 5, .hosts = 10000,
		.records = 30, .template_every = 100, .senders = 1, .batch = 64,
		.source_id = 1, .seed = 1,
	};
	struct sender_stats *st, tot;
	double seconds = 0, behind = 0, cpu_s = 0;
	struct rusage ru;
	unsigned i;
	int c, status = 0;

	parse_prefix("100.64.0.0/10", &o);
	while ((c = getopt(argc, argv, "B:b:d:f:H:i:n:P:p:R:r:s:t:")) != -1) {
		switch (c) {
		case 'B': o.batch = (unsigned)num_arg(optarg, 1, MAX_BATCH, "batch"); break;
		case 'b': o.bad_pct = (unsigned)num_arg(optarg, 0, 100, "bad percent"); break;
		case 'd': o.duration = num_arg(optarg, 0.001, 86400, "duration"); break;
		case 'f':
			if (strcmp(optarg, "v9") == 0)
				o.format = FORMAT_V9;
			else if (strcmp(optarg, "ipfix") == 0)
				o.format = FORMAT_IPFIX;
			else
				usage();
			break;
		case 'H': o.hosts = (uint32_t)num_arg(optarg, 1, 4294967295.0, "hosts"); break;
		case 'i': o.source_id = (uint32_t)num_arg(optarg, 0, 4294967295.0, "source id"); break;
		case 'n': o.records = (unsigned)num_arg(optarg, 1, MAX_RECORDS, "records"); break;
		case 'P': o.senders = (unsigned)num_arg(optarg, 1, MAX_SENDERS, "senders"); break;
		case 'p':
			if (parse_prefix(optarg, &o) != 0) {
				fprintf(stderr, "flowgen: bad prefix: %s\n", optarg);
				return 2;
			}
			break;
		case 'R': o.reply_pct = (unsigned)num_arg(optarg, 0, 100, "reply percent"); break;
		case 'r': o.rate = num_arg(optarg, 1, 1e9, "rate"); break;
		case 's': o.seed = (uint64_t)num_arg(optarg, 0, 1e18, "seed"); break;
		case 't': o.template_every = (unsigned)num_arg(optarg, 0, 1e9, "template interval"); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || parse_target(argv[optind], &o) != 0)
		usage();
	if (o.prefix_len < 32 && o.prefix_len > 0 &&
	    o.hosts > (1u << (32 - o.prefix_len))) {
		fprintf(stderr, "flowgen: %u hosts do not fit in a /%u\n", o.hosts, o.prefix_len);
		return 2;
	}
	if (o.prefix_len == 32 && o.hosts > 1) {
		fprintf(stderr, "flowgen: %u hosts do not fit in a /32\n", o.hosts);
		return 2;
	}

	st = mmap(NULL, sizeof(*st) * o.senders, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		perror("flowgen: mmap");
		return 1;
	}
	memset(st, 0, sizeof(*st) * o.senders);
	if (o.senders == 1) {
		int r = sender_run(&o, 0, &st[0]);

		if (r < 0) {
			fprintf(stderr, "flowgen: %s\n", strerror(-r));
			return 1;
		}
	} else {
		for (i = 0; i < o.senders; i++) {
			pid_t pid = fork();

			if (pid == -1) {
				perror("flowgen: fork");
				return 1;
			}
			if (pid == 0) {
				int r = sender_run(&o, i, &st[i]);

				if (r < 0)
					fprintf(stderr, "flowgen: sender %u: %s\n", i, strerror(-r));
				_exit(r < 0);
			}
		}
		for (i = 0; i < o.senders; i++) {
			int ws;

			if (wait(&ws) == -1 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
				status = 1;
		}
	}
	/* the senders' CPU: this process's with one, its children's with several */
	if (getrusage(o.senders == 1 ? RUSAGE_SELF : RUSAGE_CHILDREN, &ru) == 0)
		cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < o.senders; i++) {
		tot.datagrams += st[i].datagrams;
		tot.records += st[i].records;
		tot.templates += st[i].templates;
		tot.packets += st[i].packets;
		tot.bytes += st[i].bytes;
		tot.bad_records += st[i].bad_records;
		tot.send_errors += st[i].send_errors;
		if (st[i].seconds > seconds)
			seconds = st[i].seconds;
		if (st[i].behind_ms > behind)
			behind = st[i].behind_ms;
	}
	printf("flowgen: format=%s senders=%u target_rate=%.0f seconds=%.3f datagrams=%llu "
	    "records=%llu rate=%.0f templates=%llu packets=%llu bytes=%llu bad_records=%llu "
	    "send_errors=%llu behind_ms=%.1f cpu_s=%.2f\n",
	    o.format == FORMAT_V9 ? "v9" : "ipfix", o.senders, o.rate, seconds,
	    (unsigned long long)tot.datagrams, (unsigned long long)tot.records,
	    seconds > 0 ? (double)tot.records / seconds : 0,
	    (unsigned long long)tot.templates, (unsigned long long)tot.packets,
	    (unsigned long long)tot.bytes, (unsigned long long)tot.bad_records,
	    (unsigned long long)tot.send_errors, behind, cpu_s);
	return status;
}
