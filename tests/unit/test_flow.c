/*
 * test_flow.c — the flow decoders against real exporter output (softflowd 1.1.0 v5, v9,
 * IPFIX and sampled v9; pmacct 1.7.7 nfprobe v9/IPFIX and sfprobe sFlow, captured in
 * tests/unit/data/flows/, README.md there) and hand-made datagrams for every edge the
 * parsers of other collectors crashed on, sampling, sequence numbers, caps and saved state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "sense/flow.h"

#ifndef FLOW_DATA
#define FLOW_DATA "tests/unit/data/flows"
#endif

/* --- collecting records -------------------------------------------------------- */

struct got {
	struct flow_record r[512];
	size_t n;
};

static void
collect(void *arg, const struct flow_record *r)
{
	struct got *g = arg;

	assert_true(g->n < 512);
	assert_true(r->src.family == AF_INET || r->src.family == AF_INET6);
	assert_int_equal(r->src.family, r->dst.family);
	assert_true(r->sampling >= 1);
	g->r[g->n++] = *r;
}

static struct addr
A(const char *text)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(addr_parse(text, strlen(text), &a), 0);
	return a;
}

struct stats_query {
	struct addr a;
	struct flow_exporter_stats s;
	bool found;
};

static void
stats_match(void *arg, const struct flow_exporter_stats *s)
{
	struct stats_query *q = arg;

	if (addr_equal(&q->a, &s->exporter)) {
		q->s = *s;
		q->found = true;
	}
}

static struct flow_exporter_stats
stats_of(const struct flow_decoder *dec, const char *exporter)
{
	struct stats_query q;

	memset(&q, 0, sizeof(q));
	q.a = A(exporter);
	flow_decoder_foreach_exporter(dec, stats_match, &q);
	assert_true(q.found);
	return q.s;
}

/* --- building datagrams -------------------------------------------------------- */

struct pkt {
	uint8_t b[4096];
	size_t n;
};

static void
put8(struct pkt *p, unsigned v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = (uint8_t)v;
}

static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void
put_addr(struct pkt *p, const char *text)
{
	struct addr a = A(text);

	for (size_t i = 0; i < (a.family == AF_INET ? 4u : 16u); i++)
		put8(p, a.bytes[i]);
}

static void
patch16(struct pkt *p, size_t at, size_t v)
{
	p->b[at] = (uint8_t)(v >> 8);
	p->b[at + 1] = (uint8_t)v;
}

static size_t
set_begin(struct pkt *p, unsigned id)
{
	size_t at = p->n;

	put16(p, id);
	put16(p, 0);
	return at;
}

static void
set_end(struct pkt *p, size_t at)
{
	patch16(p, at + 2, p->n - at);
}

static void
v9_header(struct pkt *p, uint32_t seq, uint32_t source)
{
	p->n = 0;
	put16(p, 9);
	put16(p, 0);
	put32(p, 100000);          /* uptime 100 s */
	put32(p, 1800000000);      /* 2027-01-15T08:00:00Z */
	put32(p, seq);
	put32(p, source);
}

static void
ipfix_header(struct pkt *p, uint32_t seq, uint32_t domain)
{
	p->n = 0;
	put16(p, 10);
	put16(p, 0);
	put32(p, 1800000000);
	put32(p, seq);
	put32(p, domain);
}

static void
ipfix_end(struct pkt *p)
{
	patch16(p, 2, p->n);
}

/* A v9/IPFIX template of (type, length) pairs, ended by 0. */
static void
put_template(struct pkt *p, unsigned id, const unsigned *fields)
{
	size_t count_at;
	unsigned n = 0;

	put16(p, id);
	count_at = p->n;
	put16(p, 0);
	for (; fields[0] != 0; fields += 2, n++) {
		put16(p, fields[0]);
		put16(p, fields[1]);
	}
	patch16(p, count_at, n);
}

/* src, dst, sport, dport, proto, packets, bytes: the template most tests use. */
static const unsigned basic_fields[] = { 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 2, 4, 1, 4, 0 };

static void
put_basic(struct pkt *p, const char *src, const char *dst, unsigned sport, unsigned dport,
    unsigned proto, uint32_t pkts, uint32_t bytes)
{
	put_addr(p, src);
	put_addr(p, dst);
	put16(p, sport);
	put16(p, dport);
	put8(p, proto);
	put32(p, pkts);
	put32(p, bytes);
}

/*
 * With FLOW_WRITE_SEEDS=DIR set, every hand-made datagram is also appended, framed as the
 * captures are, to DIR/FORMAT/TEST: the fuzz targets' seeds of edge cases (fuzz/seeds/).
 */
static void
write_seed(const char *test, const struct pkt *p)
{
	const char *dir = getenv("FLOW_WRITE_SEEDS"), *fmt;
	char path[512];
	FILE *fp;

	if (dir == NULL || p->n < 4)
		return;
	if (p->b[0] == 0 && p->b[1] == 0 && p->b[2] == 0 && p->b[3] == 5)
		fmt = "sflow";
	else if (p->b[1] == 5)
		fmt = "netflow5";
	else if (p->b[1] == 9)
		fmt = "netflow9";
	else if (p->b[1] == 10)
		fmt = "ipfix";
	else
		return;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, fmt, test);
	if ((fp = fopen(path, "ab")) == NULL)
		return;
	fputc((int)(p->n >> 8), fp);
	fputc((int)(p->n & 0xff), fp);
	fwrite(p->b, 1, p->n, fp);
	fclose(fp);
}

static int
decode_at(const char *test, struct flow_decoder *dec, const char *exporter, const struct pkt *p, struct got *g)
{
	struct addr e = A(exporter);

	write_seed(test, p);
	return flow_decode(dec, &e, p->b, p->n, 1800000500 * USEC_PER_SEC, collect, g);
}

#define decode(dec, exporter, p, g) decode_at(__func__, (dec), (exporter), (p), (g))

/* --- real exporters ------------------------------------------------------------ */

/* A flow as the traffic made it (traffic.py): records summed by 5-tuple must equal these. */
struct want_flow {
	const char *src;
	unsigned sport;
	const char *dst;
	unsigned dport;
	unsigned proto;
	unsigned flags;
	uint64_t packets, bytes;
};

/* ping -c 3 -s 56 both ways; 4 UDP of 100 bytes; a TCP exchange of 1000 up and 2000 down; 2 IPv6 UDP of 200. */
static const struct want_flow traffic[] = {
	{ "127.0.0.2", 0, "127.0.0.3", 0x0800, 1, 0, 3, 252 },      /* echo request: type 8 */
	{ "127.0.0.3", 0, "127.0.0.2", 0, 1, 0, 3, 252 },           /* echo reply: type 0 */
	{ "127.0.0.2", 40001, "127.0.0.3", 9999, 17, 0, 4, 512 },
	{ "127.0.0.2", 40002, "127.0.0.3", 8080, 6, 0x1b, 6, 1320 }, /* SYN, ACK, PSH 1000, ACK, FIN, ACK */
	{ "127.0.0.3", 8080, "127.0.0.2", 40002, 6, 0x1b, 5, 2268 }, /* SYN-ACK, ACK, PSH 2000, FIN, ACK */
	{ "::1", 40003, "::1", 9998, 17, 0, 2, 496 },
	{ NULL, 0, NULL, 0, 0, 0, 0, 0 },
};

/* softflowd -s 2: one packet in two seen, announced by an options template, scaled back ×2. */
static const struct want_flow traffic_sampled[] = {
	{ "127.0.0.2", 0, "127.0.0.3", 0x0800, 1, 0, 6, 504 },
	{ "127.0.0.2", 40001, "127.0.0.3", 9999, 17, 0, 4, 512 },
	{ "127.0.0.2", 40002, "127.0.0.3", 8080, 6, 0x12, 8, 432 },
	{ "127.0.0.3", 8080, "127.0.0.2", 40002, 6, 0x10, 4, 208 },
	{ "::1", 40003, "::1", 9998, 17, 0, 2, 496 },
	{ NULL, 0, NULL, 0, 0, 0, 0, 0 },
};

struct capture {
	const char *file;
	enum flow_format format;
	size_t datagrams, records;
	uint32_t sampling;
	const struct want_flow *flows;
	usec_t icmp_first;          /* the first ping's time (from traffic.pcap), 0: not checked */
};

#define PING_US INT64_C(1796412402720607)   /* the first echo request in traffic.pcap */

static const struct capture captures[] = {
	{ "softflowd-v5.bin", FLOW_FORMAT_NETFLOW5, 1, 5, 1, traffic, PING_US },   /* v5 has no IPv6 */
	{ "softflowd-v9.bin", FLOW_FORMAT_NETFLOW9, 1, 6, 1, traffic, PING_US },
	{ "softflowd-ipfix.bin", FLOW_FORMAT_IPFIX, 1, 6, 1, traffic, PING_US },
	{ "softflowd-v9-sampled.bin", FLOW_FORMAT_NETFLOW9, 1, 5, 2, traffic_sampled, PING_US },
	{ "pmacct-v9.bin", FLOW_FORMAT_NETFLOW9, 2, 8, 1, traffic, 0 },   /* ping split by its 1 s timeout */
	{ "pmacct-ipfix.bin", FLOW_FORMAT_IPFIX, 2, 6, 1, traffic, 0 },
	{ "pmacct-sflow.bin", FLOW_FORMAT_SFLOW5, 4, 23, 1, traffic, 0 },  /* a sample per packet */
};

static uint8_t *
read_file(const char *name, size_t *len)
{
	char path[512];
	uint8_t *buf;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/%s", FLOW_DATA, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Feeds each datagram of a capture (2-byte length, bytes: tests/tools/udp_dump.c). */
static size_t
feed_capture(struct flow_decoder *dec, const uint8_t *buf, size_t len, struct got *g)
{
	struct addr e = A("127.0.0.1");
	size_t off = 0, n = 0;

	while (off < len) {
		size_t dl;

		assert_true(len - off >= 2);
		dl = (size_t)buf[off] << 8 | buf[off + 1];
		off += 2;
		assert_true(len - off >= dl);
		assert_int_equal(flow_decode(dec, &e, buf + off, dl, 1796412500 * USEC_PER_SEC, collect, g), 0);
		off += dl;
		n++;
	}
	return n;
}

static void
test_captures(void **state)
{
	for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
		const struct capture *cap = &captures[c];
		struct flow_decoder *dec = flow_decoder_new(NULL);
		struct flow_exporter_stats s;
		struct got *g = calloc(1, sizeof(*g));
		size_t len, nflows = 0;
		uint8_t *buf = read_file(cap->file, &len);

		print_message("%s\n", cap->file);
		assert_int_equal(feed_capture(dec, buf, len, g), cap->datagrams);
		assert_int_equal(g->n, cap->records);
		for (const struct want_flow *w = cap->flows; w->src != NULL; w++) {
			struct addr src = A(w->src), dst = A(w->dst);
			uint64_t pk = 0, by = 0;
			unsigned flags = 0, hits = 0;

			if (cap->format == FLOW_FORMAT_NETFLOW5 && src.family == AF_INET6)
				continue;
			nflows++;
			for (size_t i = 0; i < g->n; i++) {
				const struct flow_record *r = &g->r[i];

				if (!addr_equal(&r->src, &src) || !addr_equal(&r->dst, &dst) ||
				    r->src_port != w->sport || r->dst_port != w->dport || r->proto != w->proto)
					continue;
				hits++;
				pk += r->packets;
				by += r->bytes;
				flags |= r->tcp_flags;
				assert_int_equal(r->sampling, cap->sampling);
				assert_int_equal(r->format, cap->format);
				assert_true(r->first <= r->last);
				/* no interfaces on lo; pmacct's sFlow says 0x3fffffff, "internal" */
				assert_int_equal(r->in_if, 0);
				assert_int_equal(r->out_if, 0);
				if (cap->icmp_first != 0 && r->proto == 1 && r->src.bytes[3] == 2)
					/* v9 and IPFIX headers carry whole seconds */
					assert_true(r->first > cap->icmp_first - USEC_PER_SEC &&
					    r->first < cap->icmp_first + USEC_PER_SEC);
			}
			print_message("  %s %u > %s %u/%u: %u records, %llu packets, %llu bytes\n", w->src, w->sport,
			    w->dst, w->dport, w->proto, hits, (unsigned long long)pk, (unsigned long long)by);
			assert_true(hits >= 1);
			assert_int_equal(pk, w->packets);
			assert_int_equal(by, w->bytes);
			assert_int_equal(flags, w->flags);
		}
		/* nothing decoded that the traffic did not make */
		{
			size_t matched = 0;

			for (size_t i = 0; i < g->n; i++)
				for (const struct want_flow *w = cap->flows; w->src != NULL; w++) {
					struct addr src = A(w->src), dst = A(w->dst);

					if (addr_equal(&g->r[i].src, &src) && addr_equal(&g->r[i].dst, &dst) &&
					    g->r[i].src_port == w->sport && g->r[i].dst_port == w->dport) {
						matched++;
						break;
					}
				}
			assert_int_equal(matched, g->n);
		}
		assert_true(nflows > 0);
		s = stats_of(dec, "127.0.0.1");
		assert_int_equal(s.packets, cap->datagrams);
		assert_int_equal(s.records, cap->records);
		assert_int_equal(s.unknown_template, 0);
		assert_int_equal(s.seq_lost, 0);
		for (int i = 0; i < FLOW_ERROR_COUNT; i++)
			assert_int_equal(s.malformed[i], 0);
		free(buf);
		free(g);
		flow_decoder_free(dec);
	}
}

/* Every prefix of every captured datagram: an error or fewer records, never a read past it. */
static void
test_capture_prefixes(void **state)
{
	for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
		size_t len, off = 0;
		uint8_t *buf = read_file(captures[c].file, &len);
		struct got *g = calloc(1, sizeof(*g));

		while (off + 2 <= len) {
			size_t dl = (size_t)buf[off] << 8 | buf[off + 1];

			off += 2;
			for (size_t cut = 0; cut <= dl; cut++) {
				struct flow_decoder *dec = flow_decoder_new(NULL);
				struct addr e = A("192.0.2.1");
				uint8_t *copy = malloc(cut ? cut : 1);
				int rc;

				memcpy(copy, buf + off, cut);
				g->n = 0;
				rc = flow_decode(dec, &e, copy, cut, 0, collect, g);
				assert_true(rc <= 0 && rc > -FLOW_ERROR_COUNT);
				assert_string_not_equal(flow_error_name(rc), "unknown");
				free(copy);
				flow_decoder_free(dec);
			}
			off += dl;
		}
		free(g);
		free(buf);
	}
}

/* --- NetFlow v5 ------------------------------------------------------------------ */

static void
v5_datagram(struct pkt *p, unsigned count, uint32_t seq, unsigned sampling)
{
	p->n = 0;
	put16(p, 5);
	put16(p, count);
	put32(p, 100000);          /* uptime 100 s */
	put32(p, 1800000000);
	put32(p, 500000000);       /* + 0.5 s */
	put32(p, seq);
	put8(p, 1);                /* engine type */
	put8(p, 2);                /* engine id */
	put16(p, sampling);
	for (unsigned i = 0; i < count; i++) {
		put_addr(p, "198.51.100.7");
		put_addr(p, "203.0.113.25");
		put32(p, 0);             /* next hop */
		put16(p, 3);
		put16(p, 4);
		put32(p, 10);            /* packets */
		put32(p, 1500);          /* bytes */
		put32(p, 90000);         /* first: 10 s before the export */
		put32(p, 99000);
		put16(p, 51000 + i);
		put16(p, 25);
		put8(p, 0);
		put8(p, 0x1b);
		put8(p, 6);
		put8(p, 0);
		put32(p, 0);
		put32(p, 0);
	}
}

static void
test_v5(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	struct flow_exporter_stats s;

	v5_datagram(&p, 2, 1000, 0);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	assert_true(addr_equal(&g.r[0].src, &(struct addr){ 0 }) == false);
	assert_int_equal(g.r[1].src_port, 51001);
	assert_int_equal(g.r[0].dst_port, 25);
	assert_int_equal(g.r[0].proto, 6);
	assert_int_equal(g.r[0].tcp_flags, 0x1b);
	assert_int_equal(g.r[0].packets, 10);
	assert_int_equal(g.r[0].bytes, 1500);
	assert_int_equal(g.r[0].in_if, 3);
	assert_int_equal(g.r[0].out_if, 4);
	assert_int_equal(g.r[0].domain, 0x0102);
	assert_int_equal(g.r[0].first, INT64_C(1800000000500000) - 10 * USEC_PER_SEC);
	assert_int_equal(g.r[0].last, INT64_C(1800000000500000) - 1 * USEC_PER_SEC);

	/* the header's sampling interval (mode in the top 2 bits) scales the counts */
	g.n = 0;
	v5_datagram(&p, 1, 1002, 0x4000 | 100);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[0].sampling, 100);
	assert_int_equal(g.r[0].packets, 1000);
	assert_int_equal(g.r[0].bytes, 150000);

	/* a count the datagram does not hold */
	v5_datagram(&p, 2, 1003, 0);
	p.n -= 1;
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_BAD_LENGTH);
	s = stats_of(dec, "192.0.2.1");
	assert_int_equal(s.malformed[FLOW_E_BAD_LENGTH], 1);
	assert_int_equal(s.records, 3);
	assert_int_equal(s.packets, 3);
	flow_decoder_free(dec);
}

/* --- NetFlow v9 and IPFIX templates ----------------------------------------------- */

static void
test_v9_unknown_then_template(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;
	struct flow_exporter_stats s;

	/* data before its template: counted and skipped, not an error */
	v9_header(&p, 1, 7);
	at = set_begin(&p, 256);
	put_basic(&p, "10.1.2.3", "192.0.2.99", 40000, 25, 6, 3, 180);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 0);
	s = stats_of(dec, "192.0.2.1");
	assert_int_equal(s.unknown_template, 1);

	/* the template, then two records with 2 bytes of padding */
	v9_header(&p, 2, 7);
	at = set_begin(&p, 0);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_basic(&p, "10.1.2.3", "192.0.2.99", 40000, 25, 6, 3, 180);
	put_basic(&p, "10.1.2.4", "192.0.2.98", 40001, 587, 6, 4, 240);
	put16(&p, 0);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[1].dst_port, 587);
	assert_int_equal(g.r[1].packets, 4);
	assert_int_equal(g.r[1].bytes, 240);
	assert_int_equal(g.r[1].domain, 7);
	assert_int_equal(g.r[1].format, FLOW_FORMAT_NETFLOW9);
	/* no time fields: the arrival time */
	assert_int_equal(g.r[1].first, 1800000500 * USEC_PER_SEC);

	/* the same template id under another source id is another template */
	v9_header(&p, 1, 8);
	at = set_begin(&p, 256);
	put_basic(&p, "10.1.2.3", "192.0.2.99", 40000, 25, 6, 3, 180);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	s = stats_of(dec, "192.0.2.1");
	assert_int_equal(s.unknown_template, 2);
	assert_int_equal(s.templates, 1);
	flow_decoder_free(dec);
}

static void
test_v9_times(void **state)
{
	static const unsigned fields[] = { 8, 4, 12, 4, 22, 4, 21, 4, 0 };
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 300, fields);
	set_end(&p, at);
	at = set_begin(&p, 300);
	put_addr(&p, "10.0.0.1");
	put_addr(&p, "10.0.0.2");
	put32(&p, 40000);          /* first: 60 s before the export (uptime 100 s) */
	put32(&p, 99500);
	/* an uptime counter that wrapped: first before the wrap, last after */
	put_addr(&p, "10.0.0.1");
	put_addr(&p, "10.0.0.2");
	put32(&p, 0xffffffffu - 899);   /* 900 ms before the wrap, i.e. 100.9 s before the export */
	put32(&p, 100000);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].first, INT64_C(1800000000000000) - 60 * USEC_PER_SEC);
	assert_int_equal(g.r[0].last, INT64_C(1800000000000000) - 500000);
	assert_int_equal(g.r[1].first, INT64_C(1800000000000000) - 100900000);
	assert_int_equal(g.r[1].last, INT64_C(1800000000000000));
	flow_decoder_free(dec);
}

/* icmpTypeCodeIPv4 before a destination port of 0 in the same record: the type and code win. */
static void
test_icmp_type_code(void **state)
{
	static const unsigned fields[] = { 8, 4, 32, 2, 12, 4, 11, 2, 4, 1, 0 };
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 256, fields);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_addr(&p, "10.0.0.1");
	put16(&p, 0x0303);         /* port unreachable */
	put_addr(&p, "10.0.0.2");
	put16(&p, 0);
	put8(&p, 1);
	put_addr(&p, "10.0.0.1");
	put16(&p, 0);
	put_addr(&p, "10.0.0.2");
	put16(&p, 0x0800);         /* an exporter that puts it in the port field */
	put8(&p, 1);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].dst_port, 0x0303);
	assert_int_equal(g.r[1].dst_port, 0x0800);
	flow_decoder_free(dec);
}

static void
test_ipfix_enterprise_varlen(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	ipfix_header(&p, 0, 5);
	at = set_begin(&p, 2);
	put16(&p, 400);
	put16(&p, 7);
	put16(&p, 27); put16(&p, 16);                 /* sourceIPv6Address */
	put16(&p, 0x8000 | 1); put16(&p, 8); put32(&p, 29305);  /* enterprise "1": not octetDeltaCount */
	put16(&p, 82); put16(&p, 65535);              /* interfaceName, variable */
	put16(&p, 28); put16(&p, 16);
	put16(&p, 0x8000 | 12); put16(&p, 65535); put32(&p, 9);  /* enterprise, variable */
	put16(&p, 2); put16(&p, 8);                   /* packetDeltaCount */
	put16(&p, 152); put16(&p, 8);                 /* flowStartMilliseconds */
	set_end(&p, at);
	at = set_begin(&p, 400);
	/* record 1: 1-byte lengths */
	put_addr(&p, "2001:db8::1");
	for (int i = 0; i < 8; i++) put8(&p, 0xee);
	put8(&p, 4); put32(&p, 0x65746830);
	put_addr(&p, "2001:db8:1::2");
	put8(&p, 0);
	put32(&p, 0); put32(&p, 9);
	put32(&p, 419); put32(&p, 1718000000u);       /* 1800000000000 ms as 64 bits */
	/* record 2: the 3-byte length form (255, then 2 bytes) */
	put_addr(&p, "2001:db8::3");
	for (int i = 0; i < 8; i++) put8(&p, 0xee);
	put8(&p, 255); put16(&p, 300);
	for (int i = 0; i < 300; i++) put8(&p, 'x');
	put_addr(&p, "2001:db8:1::4");
	put8(&p, 255); put16(&p, 2); put16(&p, 0xabcd);
	put32(&p, 0); put32(&p, 11);
	put32(&p, 0); put32(&p, 0);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "2001:db8:ffff::1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	assert_true(addr_equal(&g.r[0].src, &(struct addr){ 0 }) == false);
	{
		struct addr s1 = A("2001:db8::1"), d1 = A("2001:db8:1::2"), s2 = A("2001:db8::3"), d2 = A("2001:db8:1::4");

		assert_true(addr_equal(&g.r[0].src, &s1));
		assert_true(addr_equal(&g.r[0].dst, &d1));
		assert_true(addr_equal(&g.r[1].src, &s2));
		assert_true(addr_equal(&g.r[1].dst, &d2));
	}
	assert_int_equal(g.r[0].packets, 9);
	assert_int_equal(g.r[0].bytes, 0);            /* the enterprise field 1 was not taken as bytes */
	assert_int_equal(g.r[0].first, ((INT64_C(419) << 32) + 1718000000) * 1000);
	assert_int_equal(g.r[1].packets, 11);
	assert_int_equal(g.r[1].format, FLOW_FORMAT_IPFIX);
	assert_int_equal(g.r[1].domain, 5);

	/* found by fuzz-ipfix: an IPv6 source with an IPv4 destination is skipped, not handed out */
	{
		static const unsigned mixed[] = { 27, 16, 12, 4, 2, 4, 0 };

		g.n = 0;
		ipfix_header(&p, 2, 5);
		at = set_begin(&p, 2);
		put_template(&p, 401, mixed);
		set_end(&p, at);
		at = set_begin(&p, 401);
		put_addr(&p, "2001:db8::1");
		put_addr(&p, "10.0.0.1");
		put32(&p, 1);
		set_end(&p, at);
		ipfix_end(&p);
		assert_int_equal(decode(dec, "2001:db8:ffff::1", &p, &g), 0);
		assert_int_equal(g.n, 0);
	}

	/* a variable-length field that reaches past its set */
	ipfix_header(&p, 2, 5);
	at = set_begin(&p, 400);
	put_addr(&p, "2001:db8::1");
	for (int i = 0; i < 8; i++) put8(&p, 0xee);
	put8(&p, 255); put16(&p, 60000);
	for (int i = 0; i < 40; i++) put8(&p, 'x');
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "2001:db8:ffff::1", &p, &g), -FLOW_E_SHORT_RECORD);
	assert_int_equal(stats_of(dec, "2001:db8:ffff::1").malformed[FLOW_E_SHORT_RECORD], 1);
	flow_decoder_free(dec);
}

/* FastNetMon CVE-2024-56073: a template whose records have no length. */
static void
test_zero_length_template(void **state)
{
	static const unsigned zero[] = { 8, 0, 12, 0, 0 };
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 256, zero);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put32(&p, 0);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_BAD_TEMPLATE);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates, 0);

	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 2);
	put_template(&p, 256, zero);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.2", &p, &g), -FLOW_E_BAD_TEMPLATE);
	assert_int_equal(stats_of(dec, "192.0.2.2").malformed[FLOW_E_BAD_TEMPLATE], 1);

	/* a v9 template with no fields is a withdrawal by convention, not an error */
	v9_header(&p, 2, 0);
	at = set_begin(&p, 0);
	put16(&p, 256);
	put16(&p, 0);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 0);
	flow_decoder_free(dec);
}

/* nfdump #171: a withdrawal with fewer than 4 bytes left in its set. */
static void
test_withdrawal_short(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 2);
	put_template(&p, 256, basic_fields);
	put_template(&p, 257, basic_fields);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates, 2);

	/* a withdrawal of 256, then 2 bytes: not a record, not read */
	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 2);
	put16(&p, 256);
	put16(&p, 0);
	put16(&p, 0x0101);
	set_end(&p, at);
	/* a set of 2 bytes after its header */
	at = set_begin(&p, 2);
	put16(&p, 257);
	set_end(&p, at);
	/* an options withdrawal cut after its template id */
	at = set_begin(&p, 3);
	put16(&p, 258);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates, 1);

	/* 256 is gone: its data is unknown; 257 still decodes */
	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 1, 100);
	set_end(&p, at);
	at = set_begin(&p, 257);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 1, 100);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(stats_of(dec, "192.0.2.1").unknown_template, 1);

	/* withdraw all (template id 2) */
	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 2);
	put16(&p, 2);
	put16(&p, 0);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates, 0);
	flow_decoder_free(dec);
}

/* pmacct #934: a field longer than we store, and a record longer than its set. */
static void
test_field_longer_than_record(void **state)
{
	/* src, dst, then octetDeltaCount 64 bytes wide and sourceIPv4Address 32 bytes wide */
	static const unsigned wide[] = { 8, 4, 12, 4, 1, 64, 8, 32, 2, 4, 0 };
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 256, wide);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_addr(&p, "10.0.0.1");
	put_addr(&p, "10.0.0.2");
	for (int i = 0; i < 64; i++) put8(&p, 0xff);
	for (int i = 0; i < 32; i++) put8(&p, 0x41);
	put32(&p, 5);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].bytes, 0);
	assert_int_equal(g.r[0].packets, 5);
	assert_int_equal(g.r[0].src.bytes[0], 10);   /* the 32-byte "address" was not copied over it */

	/* a data set shorter than one record of its template */
	v9_header(&p, 2, 0);
	at = set_begin(&p, 256);
	for (int i = 0; i < 40; i++) put8(&p, 0);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_SHORT_RECORD);
	assert_int_equal(g.n, 1);
	flow_decoder_free(dec);
}

/* Sets that claim more than the message holds, or less than their own header. */
static void
test_bad_sets(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	patch16(&p, at + 2, p.n - at + 1);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_BAD_SET);
	patch16(&p, at + 2, 3);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_BAD_SET);

	ipfix_header(&p, 0, 0);
	ipfix_end(&p);
	patch16(&p, 2, 17);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_BAD_LENGTH);
	p.n = 10;
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_TRUNCATED_HEADER);
	p.b[1] = 11;
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), -FLOW_E_BAD_VERSION);
	assert_string_equal(flow_error_name(-FLOW_E_BAD_VERSION), "bad_version");
	assert_string_equal(flow_error_name(1), "unknown");
	flow_decoder_free(dec);
}

/* --- sampling -------------------------------------------------------------------- */

static void
test_options_sampling(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	/* v9: an options template (scope: system, 4 bytes; SAMPLING_INTERVAL, SAMPLING_ALGORITHM) */
	v9_header(&p, 1, 3);
	at = set_begin(&p, 1);
	put16(&p, 260);
	put16(&p, 4);              /* scope length in bytes */
	put16(&p, 8);              /* option length in bytes */
	put16(&p, 1); put16(&p, 4);
	put16(&p, 34); put16(&p, 4);
	put16(&p, 35); put16(&p, 1);
	put16(&p, 0);              /* padding */
	set_end(&p, at);
	at = set_begin(&p, 0);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	/* data before the rate is known: unscaled */
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 2, 200);
	set_end(&p, at);
	at = set_begin(&p, 260);
	put32(&p, 0);
	put32(&p, 1000);
	put8(&p, 2);
	put8(&p, 0); put8(&p, 0); put8(&p, 0);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 2, 200);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].sampling, 1);
	assert_int_equal(g.r[0].packets, 2);
	assert_int_equal(g.r[1].sampling, 1000);
	assert_int_equal(g.r[1].packets, 2000);
	assert_int_equal(g.r[1].bytes, 200000);
	/* later datagrams of the same source id keep it; another source id does not */
	v9_header(&p, 2, 3);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 1, 1);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[2].packets, 1000);
	assert_int_equal(stats_of(dec, "192.0.2.1").sampling, 1000);

	/* IPFIX: selector algorithm 1 with packet interval 1 and space 999 (RFC 5477): 1 in 1000 */
	g.n = 0;
	ipfix_header(&p, 0, 9);
	at = set_begin(&p, 3);
	put16(&p, 270);
	put16(&p, 4);              /* fields */
	put16(&p, 1);              /* scope fields */
	put16(&p, 302); put16(&p, 4);
	put16(&p, 304); put16(&p, 1);
	put16(&p, 305); put16(&p, 4);
	put16(&p, 306); put16(&p, 4);
	set_end(&p, at);
	at = set_begin(&p, 270);
	put32(&p, 1);
	put8(&p, 1);
	put32(&p, 1);
	put32(&p, 999);
	set_end(&p, at);
	at = set_begin(&p, 2);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 3, 300);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.2", &p, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].sampling, 1000);
	assert_int_equal(g.r[0].packets, 3000);
	assert_int_equal(g.r[0].bytes, 300000);

	/* selectorAlgorithm 3, random n-out-of-N: 1 of 100; then 2, time-based: no packet rate */
	{
		static const struct { unsigned algo; uint32_t a, b; unsigned f1, f2; uint32_t want; } sel[] = {
			{ 3, 1, 100, 309, 310, 100 },
			{ 2, 1, 999, 305, 306, 1 },
			{ 1, 1, 99, 305, 306, 100 },
		};

		for (unsigned i = 0; i < 3; i++) {
			g.n = 0;
			ipfix_header(&p, 0, 20 + i);
			at = set_begin(&p, 3);
			put16(&p, 271);
			put16(&p, 4);
			put16(&p, 1);
			put16(&p, 302); put16(&p, 4);
			put16(&p, 304); put16(&p, 1);
			put16(&p, sel[i].f1); put16(&p, 4);
			put16(&p, sel[i].f2); put16(&p, 4);
			set_end(&p, at);
			at = set_begin(&p, 271);
			put32(&p, 7);
			put8(&p, sel[i].algo);
			put32(&p, sel[i].a);
			put32(&p, sel[i].b);
			set_end(&p, at);
			at = set_begin(&p, 2);
			put_template(&p, 256, basic_fields);
			set_end(&p, at);
			at = set_begin(&p, 256);
			put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 3, 300);
			set_end(&p, at);
			ipfix_end(&p);
			assert_int_equal(decode(dec, "192.0.2.3", &p, &g), 0);
			assert_int_equal(g.n, 1);
			assert_int_equal(g.r[0].sampling, sel[i].want);
			assert_int_equal(g.r[0].packets, 3 * sel[i].want);
		}
	}

	/* a rate in the data record itself (field 34 per record) wins for that record */
	g.n = 0;
	{
		static const unsigned f[] = { 8, 4, 12, 4, 2, 4, 34, 4, 0 };

		ipfix_header(&p, 2, 9);
		at = set_begin(&p, 2);
		put_template(&p, 280, f);
		set_end(&p, at);
		at = set_begin(&p, 280);
		put_addr(&p, "10.0.0.1");
		put_addr(&p, "10.0.0.2");
		put32(&p, 7);
		put32(&p, 64);
		set_end(&p, at);
		ipfix_end(&p);
		assert_int_equal(decode(dec, "192.0.2.2", &p, &g), 0);
		assert_int_equal(g.r[0].sampling, 64);
		assert_int_equal(g.r[0].packets, 448);
	}

	/* counts saturate instead of wrapping */
	g.n = 0;
	v9_header(&p, 3, 3);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 0xffffffffu, 0xffffffffu);
	set_end(&p, at);
	{
		static const unsigned f[] = { 8, 4, 12, 4, 1, 8, 0 };

		at = set_begin(&p, 0);
		put_template(&p, 290, f);
		set_end(&p, at);
		at = set_begin(&p, 290);
		put_addr(&p, "10.0.0.1");
		put_addr(&p, "10.0.0.2");
		put32(&p, 0xffffffffu);
		put32(&p, 0xffffffffu);
		set_end(&p, at);
	}
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[0].packets, UINT64_C(0xffffffff) * 1000);
	assert_int_equal(g.r[1].bytes, UINT64_MAX);
	flow_decoder_free(dec);
}

static void
test_default_sampling(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct cidr net, host, v6;
	struct pkt p;
	size_t at;

	assert_int_equal(cidr_parse("192.0.2.0/24", &net), 0);
	assert_int_equal(cidr_parse("192.0.2.9/32", &host), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &v6), 0);
	assert_int_equal(flow_decoder_set_sampling(dec, &net, 512), 0);
	assert_int_equal(flow_decoder_set_sampling(dec, &v6, 16), 0);

	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 2, 100);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[0].sampling, 512);
	assert_int_equal(g.r[0].packets, 1024);
	assert_int_equal(g.r[0].bytes, 51200);

	/* a more specific prefix, set after the exporter was first seen, wins */
	assert_int_equal(flow_decoder_set_sampling(dec, &host, 100), 0);
	assert_int_equal(decode(dec, "192.0.2.9", &p, &g), 0);
	assert_int_equal(g.r[1].sampling, 100);
	/* an exporter outside every prefix: unsampled */
	assert_int_equal(decode(dec, "198.51.100.1", &p, &g), 0);
	assert_int_equal(g.r[2].sampling, 1);

	/* v5 with a header interval: the announced rate wins over the configured one */
	v5_datagram(&p, 1, 0, 10);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[3].sampling, 10);
	v5_datagram(&p, 1, 1, 0);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[4].sampling, 512);

	/* removing it */
	assert_int_equal(flow_decoder_set_sampling(dec, &net, 0), 0);
	v5_datagram(&p, 1, 2, 0);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.r[5].sampling, 1);
	net.prefix = 33;
	assert_int_equal(flow_decoder_set_sampling(dec, &net, 4), -EINVAL);
	flow_decoder_free(dec);
}

/* --- sequence numbers -------------------------------------------------------------- */

static void
test_sequence(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	struct flow_exporter_stats s;
	struct pkt p;
	size_t at;

	/* v5 counts flows: 2 at 100, then 1 at 105 (3 lost), then the late 102 (3 records back) */
	v5_datagram(&p, 2, 100, 0);
	assert_int_equal(decode(dec, "192.0.2.5", &p, &g), 0);
	v5_datagram(&p, 1, 105, 0);
	assert_int_equal(decode(dec, "192.0.2.5", &p, &g), 0);
	s = stats_of(dec, "192.0.2.5");
	assert_int_equal(s.seq_lost, 3);
	v5_datagram(&p, 3, 102, 0);
	assert_int_equal(decode(dec, "192.0.2.5", &p, &g), 0);
	s = stats_of(dec, "192.0.2.5");
	assert_int_equal(s.seq_lost, 0);
	assert_int_equal(s.seq_reordered, 1);
	/* a restart (sequence back to 0) is neither loss nor late */
	v5_datagram(&p, 1, 0x70000000, 0);
	assert_int_equal(decode(dec, "192.0.2.5", &p, &g), 0);
	v5_datagram(&p, 1, 0, 0);
	assert_int_equal(decode(dec, "192.0.2.5", &p, &g), 0);
	v5_datagram(&p, 1, 1, 0);
	assert_int_equal(decode(dec, "192.0.2.5", &p, &g), 0);
	s = stats_of(dec, "192.0.2.5");
	assert_int_equal(s.seq_lost, 0);
	assert_int_equal(s.seq_resets, 2);

	/* v9 counts datagrams, per source id; wraps at 2^32 */
	v9_header(&p, 0xfffffffeu, 1);
	assert_int_equal(decode(dec, "192.0.2.6", &p, &g), 0);
	v9_header(&p, 0xffffffffu, 2);   /* another source id: its own numbers */
	assert_int_equal(decode(dec, "192.0.2.6", &p, &g), 0);
	v9_header(&p, 2, 1);             /* 0xffffffff, 0 and 1 lost */
	assert_int_equal(decode(dec, "192.0.2.6", &p, &g), 0);
	v9_header(&p, 0, 2);
	assert_int_equal(decode(dec, "192.0.2.6", &p, &g), 0);
	s = stats_of(dec, "192.0.2.6");
	assert_int_equal(s.seq_lost, 3);

	/* IPFIX counts data records: 2 records at 10, then 12 (none lost), then 20 (6 lost) */
	ipfix_header(&p, 10, 4);
	at = set_begin(&p, 2);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 1, 100);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 1, 100);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.7", &p, &g), 0);
	ipfix_header(&p, 12, 4);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 1, 100);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "192.0.2.7", &p, &g), 0);
	p.b[11] = 20;
	assert_int_equal(decode(dec, "192.0.2.7", &p, &g), 0);
	s = stats_of(dec, "192.0.2.7");
	assert_int_equal(s.seq_lost, 7);
	assert_int_equal(s.records, 4);
	flow_decoder_free(dec);
}

/* --- caps ------------------------------------------------------------------------- */

static void
test_caps(void **state)
{
	struct flow_decoder_limits lim = { .max_exporters = 2, .max_templates = 2, .max_template_fields = 5 };
	static const unsigned six[] = { 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 2, 4, 0 };
	struct flow_decoder *dec = flow_decoder_new(&lim);
	struct got g = { .n = 0 };
	struct pkt p;
	size_t at;

	v5_datagram(&p, 1, 0, 0);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(decode(dec, "192.0.2.2", &p, &g), 0);
	assert_int_equal(decode(dec, "192.0.2.3", &p, &g), -FLOW_E_EXPORTER_CAP);
	assert_int_equal(decode(dec, "192.0.2.4", &p, &g), -FLOW_E_EXPORTER_CAP);
	assert_int_equal(flow_decoder_exporters_refused(dec), 2);
	assert_int_equal(decode(dec, "192.0.2.2", &p, &g), 0);   /* the known ones still work */
	assert_int_equal(g.n, 3);

	/* 3 templates where 2 fit: the third is refused, the first two kept (never evicted) */
	static const unsigned five[] = { 8, 4, 12, 4, 7, 2, 11, 2, 2, 4, 0 };
	v9_header(&p, 1, 0);
	at = set_begin(&p, 0);
	put_template(&p, 256, five);
	put_template(&p, 257, five);
	put_template(&p, 258, five);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates, 2);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates_refused, 1);
	/* a redefinition of a known one is not a new one */
	v9_header(&p, 2, 0);
	at = set_begin(&p, 0);
	put_template(&p, 257, five);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates_refused, 1);
	v9_header(&p, 3, 0);
	at = set_begin(&p, 258);
	put_addr(&p, "10.0.0.1"); put_addr(&p, "10.0.0.2"); put32(&p, 0); put32(&p, 1);
	set_end(&p, at);
	at = set_begin(&p, 256);
	put_addr(&p, "10.0.0.1"); put_addr(&p, "10.0.0.2"); put32(&p, 0); put32(&p, 1);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	assert_int_equal(g.n, 4);
	assert_int_equal(stats_of(dec, "192.0.2.1").unknown_template, 1);

	/* more fields than max_template_fields */
	v9_header(&p, 4, 0);
	at = set_begin(&p, 0);
	put_template(&p, 300, six);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.2", &p, &g), -FLOW_E_TEMPLATE_TOO_LONG);
	assert_int_equal(stats_of(dec, "192.0.2.2").malformed[FLOW_E_TEMPLATE_TOO_LONG], 1);

	/* domains: 16 by default, the 17th source id gets no state of its own but still decodes v5 */
	flow_decoder_free(dec);
	dec = flow_decoder_new(NULL);
	g.n = 0;
	for (unsigned i = 0; i < 20; i++) {
		v5_datagram(&p, 1, 0, 0);
		p.b[21] = (uint8_t)i;
		assert_int_equal(decode(dec, "192.0.2.1", &p, &g), 0);
	}
	assert_int_equal(g.n, 20);
	assert_int_equal(stats_of(dec, "192.0.2.1").templates_refused, 0);
	flow_decoder_free(dec);
}

/* --- saved state ------------------------------------------------------------------- */

static void
learn(struct flow_decoder *dec, struct got *g)
{
	struct pkt p;
	size_t at;

	v9_header(&p, 1, 3);
	at = set_begin(&p, 1);
	put16(&p, 260);
	put16(&p, 4);
	put16(&p, 4);
	put16(&p, 1); put16(&p, 4);
	put16(&p, 34); put16(&p, 4);
	set_end(&p, at);
	at = set_begin(&p, 0);
	put_template(&p, 256, basic_fields);
	set_end(&p, at);
	at = set_begin(&p, 260);
	put32(&p, 0);
	put32(&p, 100);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, g), 0);
	/* found by fuzz-netflow9: v9 field types use all 16 bits (no enterprise bit), and save */
	v9_header(&p, 2, 3);
	at = set_begin(&p, 0);
	put16(&p, 257);
	put16(&p, 1);
	put16(&p, 0x8123);
	put16(&p, 4);
	set_end(&p, at);
	assert_int_equal(decode(dec, "192.0.2.1", &p, g), 0);
	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 2);
	put16(&p, 400);
	put16(&p, 3);
	put16(&p, 27); put16(&p, 16);
	put16(&p, 0x8000 | 82); put16(&p, 65535); put32(&p, 2636);
	put16(&p, 28); put16(&p, 16);
	set_end(&p, at);
	ipfix_end(&p);
	assert_int_equal(decode(dec, "2001:db8::1", &p, g), 0);
}

static int
use(struct flow_decoder *dec, struct got *g)
{
	struct pkt p;
	size_t at;
	int rc;

	v9_header(&p, 9, 3);
	at = set_begin(&p, 256);
	put_basic(&p, "10.0.0.1", "10.0.0.2", 1, 2, 17, 2, 100);
	set_end(&p, at);
	if ((rc = decode(dec, "192.0.2.1", &p, g)) != 0)
		return rc;
	ipfix_header(&p, 0, 0);
	at = set_begin(&p, 400);
	put_addr(&p, "2001:db8::5");
	put8(&p, 3); put8(&p, 'e'); put8(&p, 't'); put8(&p, '0');
	put_addr(&p, "2001:db8::6");
	set_end(&p, at);
	ipfix_end(&p);
	return decode(dec, "2001:db8::1", &p, g);
}

static void
test_save_restore(void **state)
{
	struct flow_decoder *a = flow_decoder_new(NULL), *b = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	uint8_t *buf, *buf2;
	size_t len, len2;

	learn(a, &g);
	assert_int_equal(flow_decoder_save(a, &buf, &len), 0);

	/* a fresh decoder knows nothing: both data sets unknown */
	assert_int_equal(use(b, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(stats_of(b, "192.0.2.1").unknown_template, 1);

	assert_int_equal(flow_decoder_restore(b, buf, len), 0);
	assert_int_equal(use(b, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].sampling, 100);       /* the announced rate came back too */
	assert_int_equal(g.r[0].packets, 200);
	assert_int_equal(g.r[1].src.family, AF_INET6);
	/* the counters of an exporter the decoder already had survive */
	assert_int_equal(stats_of(b, "192.0.2.1").unknown_template, 1);

	/* saved again, the same bytes */
	assert_int_equal(flow_decoder_save(b, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf2);

	/* damage anywhere (each byte flipped, every truncation): refused, the decoder unchanged */
	for (size_t i = 0; i < len; i++) {
		struct flow_decoder *c = flow_decoder_new(NULL);

		buf[i] ^= 0x20;
		assert_int_equal(flow_decoder_restore(c, buf, len), -EINVAL);
		assert_int_equal(flow_decoder_restore(b, buf, len), -EINVAL);
		buf[i] ^= 0x20;
		assert_int_equal(flow_decoder_restore(c, buf, i), -EINVAL);
		flow_decoder_free(c);
	}
	g.n = 0;
	assert_int_equal(use(b, &g), 0);
	assert_int_equal(g.n, 2);

	/* another version, with a checksum that fits it: refused */
	{
		struct flow_decoder *c = flow_decoder_new(NULL);

		buf[5] = 2;
		assert_int_equal(flow_decoder_restore(c, buf, len), -EINVAL);
		flow_decoder_free(c);
	}

	/* past a smaller decoder's caps: what fits is restored */
	{
		struct flow_decoder_limits lim = { .max_exporters = 1 };
		struct flow_decoder *c = flow_decoder_new(&lim);

		buf[5] = 1;
		assert_int_equal(flow_decoder_restore(c, buf, len), 0);
		g.n = 0;
		assert_int_equal(use(c, &g), -FLOW_E_EXPORTER_CAP);
		assert_int_equal(g.n, 1);
		flow_decoder_free(c);
	}
	free(buf);
	flow_decoder_free(a);
	flow_decoder_free(b);
}

/* --- sFlow v5 ---------------------------------------------------------------------- */

static void
sflow_header(struct pkt *p, uint32_t seq, unsigned samples)
{
	p->n = 0;
	put32(p, 5);
	put32(p, 1);
	put_addr(p, "192.0.2.50");
	put32(p, 0);               /* sub-agent */
	put32(p, seq);
	put32(p, 123456);
	put32(p, samples);
}

/* A raw-header record of hdr[0..n) (padded), frame_len bytes on the wire. */
static void
sflow_raw(struct pkt *p, unsigned proto, const uint8_t *hdr, size_t n, uint32_t frame_len)
{
	put32(p, 1);
	put32(p, (uint32_t)(16 + ((n + 3) & ~(size_t)3)));
	put32(p, proto);
	put32(p, frame_len);
	put32(p, 4);
	put32(p, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put8(p, hdr[i]);
	while (p->n % 4)
		put8(p, 0);
}

/* Ethernet + 802.1ad + 802.1Q + IPv4 (total 1500) + TCP 51000 > 25 SYN. */
static size_t
frame_qinq_tcp(uint8_t *h)
{
	static const uint8_t f[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
		0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00,
		0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, 6, 0, 0, 100, 64, 1, 2, 192, 0, 2, 99,
		0xc7, 0x38, 0, 25, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
	};

	memcpy(h, f, sizeof(f));
	return sizeof(f);
}

/* Ethernet + IPv6 + hop-by-hop (8) + destination options (16) + UDP 5353 > 53. */
static size_t
frame_v6_ext_udp(uint8_t *h)
{
	static const uint8_t f[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd,
		0x60, 0, 0, 0, 0, 40, 0, 64,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		60, 0, 0, 0, 0, 0, 0, 0,
		17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x14, 0xe9, 0, 53, 0, 16, 0, 0,
	};

	memcpy(h, f, sizeof(f));
	return sizeof(f);
}

static void
test_sflow(void **state)
{
	struct flow_decoder *dec = flow_decoder_new(NULL);
	struct got g = { .n = 0 };
	uint8_t h[256];
	struct pkt p;
	size_t hn, at;

	sflow_header(&p, 1, 3);
	/* a flow sample, 1 in 400 */
	put32(&p, 1);
	at = p.n;
	put32(&p, 0);
	put32(&p, 1); put32(&p, 7); put32(&p, 400); put32(&p, 4000); put32(&p, 0);
	put32(&p, 11); put32(&p, 12);
	put32(&p, 2);              /* records: an extended switch record, then the header */
	put32(&p, 1001); put32(&p, 16); put32(&p, 100); put32(&p, 0); put32(&p, 200); put32(&p, 0);
	hn = frame_qinq_tcp(h);
	sflow_raw(&p, 1, h, hn, 1522);
	patch16(&p, at + 2, p.n - at - 4);
	/* a counter sample: skipped */
	put32(&p, 2);
	put32(&p, 8);
	put32(&p, 1); put32(&p, 0);
	/* an expanded flow sample, 1 in 2048 */
	put32(&p, 3);
	at = p.n;
	put32(&p, 0);
	put32(&p, 1); put32(&p, 0); put32(&p, 7); put32(&p, 2048); put32(&p, 0); put32(&p, 0);
	put32(&p, 0); put32(&p, 21); put32(&p, 0); put32(&p, 22);
	put32(&p, 1);
	hn = frame_v6_ext_udp(h);
	sflow_raw(&p, 1, h, hn, 98);
	patch16(&p, at + 2, p.n - at - 4);
	assert_int_equal(decode(dec, "192.0.2.50", &p, &g), 0);
	assert_int_equal(g.n, 2);
	{
		struct addr s = A("100.64.1.2"), d = A("192.0.2.99"), s6 = A("2001:db8::1"), d6 = A("2001:db8::2");

		assert_true(addr_equal(&g.r[0].src, &s));
		assert_true(addr_equal(&g.r[0].dst, &d));
		assert_true(addr_equal(&g.r[1].src, &s6));
		assert_true(addr_equal(&g.r[1].dst, &d6));
	}
	assert_int_equal(g.r[0].proto, 6);
	assert_int_equal(g.r[0].src_port, 51000);
	assert_int_equal(g.r[0].dst_port, 25);
	assert_int_equal(g.r[0].tcp_flags, 0x02);
	assert_int_equal(g.r[0].sampling, 400);
	assert_int_equal(g.r[0].packets, 400);
	assert_int_equal(g.r[0].bytes, 1500 * 400);   /* the IP length, as NetFlow counts */
	assert_int_equal(g.r[0].in_if, 11);
	assert_int_equal(g.r[0].out_if, 12);
	assert_int_equal(g.r[0].format, FLOW_FORMAT_SFLOW5);
	assert_int_equal(g.r[0].first, 1800000500 * USEC_PER_SEC);
	assert_int_equal(g.r[1].proto, 17);
	assert_int_equal(g.r[1].src_port, 5353);
	assert_int_equal(g.r[1].dst_port, 53);
	assert_int_equal(g.r[1].bytes, 80 * 2048);
	assert_int_equal(g.r[1].in_if, 21);

	/* FastNetMon CVE-2024-56072: more samples than the datagram can hold */
	sflow_header(&p, 2, 0x10000000);
	put32(&p, 2); put32(&p, 0);
	assert_int_equal(decode(dec, "192.0.2.50", &p, &g), -FLOW_E_BAD_LENGTH);
	/* ... or than it holds */
	sflow_header(&p, 3, 2);
	put32(&p, 2); put32(&p, 0);
	put32(&p, 2); put32(&p, 0);
	p.b[p.n - 1] = 4;          /* the second sample claims 4 bytes it does not have */
	assert_int_equal(decode(dec, "192.0.2.50", &p, &g), -FLOW_E_SFLOW_SAMPLE);

	/* a sampled header whose length is more than its record holds */
	sflow_header(&p, 4, 1);
	put32(&p, 1);
	at = p.n;
	put32(&p, 0);
	put32(&p, 1); put32(&p, 7); put32(&p, 400); put32(&p, 4000); put32(&p, 0);
	put32(&p, 11); put32(&p, 12);
	put32(&p, 1);
	hn = frame_qinq_tcp(h);
	sflow_raw(&p, 1, h, hn, 1522);
	p.b[at + 4 + 32 + 8 + 12 + 3] = 200;   /* header_length 200 */
	patch16(&p, at + 2, p.n - at - 4);
	assert_int_equal(decode(dec, "192.0.2.50", &p, &g), -FLOW_E_SFLOW_SAMPLE);

	/* goflow2 #251: Ethernet headers cut short: before the type, inside the tags, inside IP */
	for (size_t cut = 0; cut < 42; cut++) {
		int rc;

		sflow_header(&p, 5 + (uint32_t)cut, 1);
		put32(&p, 1);
		at = p.n;
		put32(&p, 0);
		put32(&p, 1); put32(&p, 7); put32(&p, 400); put32(&p, 4000); put32(&p, 0);
		put32(&p, 11); put32(&p, 12);
		put32(&p, 1);
		hn = frame_qinq_tcp(h);
		sflow_raw(&p, 1, h, cut, 1522);
		patch16(&p, at + 2, p.n - at - 4);
		rc = decode(dec, "192.0.2.50", &p, &g);
		assert_int_equal(rc, -FLOW_E_SFLOW_HEADER);
	}
	assert_int_equal(g.n, 2);
	assert_int_equal(stats_of(dec, "192.0.2.50").malformed[FLOW_E_SFLOW_HEADER], 42);
	/* cut inside TCP: the addresses, no ports */
	sflow_header(&p, 100, 1);
	put32(&p, 1);
	at = p.n;
	put32(&p, 0);
	put32(&p, 1); put32(&p, 7); put32(&p, 1); put32(&p, 1); put32(&p, 0);
	put32(&p, 0); put32(&p, 0);
	put32(&p, 1);
	hn = frame_qinq_tcp(h);
	sflow_raw(&p, 1, h, 44, 1522);
	patch16(&p, at + 2, p.n - at - 4);
	assert_int_equal(decode(dec, "192.0.2.50", &p, &g), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.r[2].dst_port, 0);
	assert_int_equal(g.r[2].proto, 6);
	/* sequence: 1, 2, ... then 100: the gap counted (datagrams 5..46 all arrived) */
	assert_int_equal(stats_of(dec, "192.0.2.50").seq_lost, 100 - 47);
	flow_decoder_free(dec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures),
		cmocka_unit_test(test_capture_prefixes),
		cmocka_unit_test(test_v5),
		cmocka_unit_test(test_v9_unknown_then_template),
		cmocka_unit_test(test_v9_times),
		cmocka_unit_test(test_icmp_type_code),
		cmocka_unit_test(test_ipfix_enterprise_varlen),
		cmocka_unit_test(test_zero_length_template),
		cmocka_unit_test(test_withdrawal_short),
		cmocka_unit_test(test_field_longer_than_record),
		cmocka_unit_test(test_bad_sets),
		cmocka_unit_test(test_options_sampling),
		cmocka_unit_test(test_default_sampling),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_sflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
