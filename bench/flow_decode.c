/*
 * flow_decode.c — what decoding costs the flow collector, in process: no sockets, no
 * store, no detectors. Builds NetFlow v9 and IPFIX datagrams of 30 records each, as a
 * router exports them (IPv4 addresses, ports, protocol, flags, interfaces, packets,
 * bytes, start and end; sources spread over 10 000 hosts of 100.64.0.0/10), and decodes
 * them over and over on one thread for a few seconds per format.
 *
 * Prints, per format: records/s and ns per record (the callback only sums the bytes).
 *
 * usage: flow_decode [-T] [-d seconds] [-r records per datagram]   (defaults: 3 s, 30)
 * -T: the template in every datagram instead of one in 20.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sense/flow.h"

#define DATAGRAMS 512      /* built up front, decoded in turn */
#define HOSTS 10000

struct bench_buf {
	uint8_t b[8192];
	size_t n;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
put(struct bench_buf *p, uint64_t v, unsigned bytes)
{
	while (bytes-- > 0)
		p->b[p->n++] = (uint8_t)(v >> (8 * bytes));
}

/* (element id, length): a Cisco-like v9 template, 45 bytes a record. */
static const uint16_t fields[][2] = {
	{ 8, 4 }, { 12, 4 }, { 15, 4 }, { 10, 4 }, { 14, 4 }, { 2, 4 }, { 1, 4 },
	{ 22, 4 }, { 21, 4 }, { 7, 2 }, { 11, 2 }, { 6, 1 }, { 4, 1 }, { 5, 1 }, { 16, 2 },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static void
build(struct bench_buf *p, int ipfix, unsigned seq, unsigned records, unsigned *host, int with_template)
{
	size_t set;

	p->n = 0;
	put(p, ipfix ? 10 : 9, 2);
	put(p, ipfix ? 0 : records + 1, 2);
	if (!ipfix)
		put(p, 3600000, 4);               /* uptime */
	put(p, 1800000000, 4);
	put(p, ipfix ? seq * records : seq, 4);
	put(p, 0, 4);
	/* the template in one datagram of 20 (Cisco's default refresh), or in all with -T */
	if (!with_template)
		goto data;
	put(p, ipfix ? 2 : 0, 2);
	put(p, 4 + 4 + 4 * NFIELDS, 2);
	put(p, 256, 2);
	put(p, NFIELDS, 2);
	for (size_t i = 0; i < NFIELDS; i++) {
		put(p, fields[i][0], 2);
		put(p, fields[i][1], 2);
	}
data:
	set = p->n;
	put(p, 256, 2);
	put(p, 0, 2);
	for (unsigned r = 0; r < records; r++) {
		unsigned h = (*host)++ % HOSTS;

		put(p, 0x64400000u + h * 97, 4);  /* a source in 100.64.0.0/10 */
		put(p, 0xc6336400u + r, 4);       /* 198.51.100.x */
		put(p, 0, 4);
		put(p, 3, 4);
		put(p, 4, 4);
		put(p, 1 + r % 50, 4);
		put(p, 40 + r * 100, 4);
		put(p, 3590000, 4);
		put(p, 3599000, 4);
		put(p, 1024 + h, 2);
		put(p, r % 2 ? 443 : 25, 2);
		put(p, 0x1b, 1);
		put(p, 6, 1);
		put(p, 0, 1);
		put(p, 0, 2);
	}
	p->b[set + 2] = (uint8_t)((p->n - set) >> 8);
	p->b[set + 3] = (uint8_t)(p->n - set);
	if (ipfix) {
		p->b[2] = (uint8_t)(p->n >> 8);
		p->b[3] = (uint8_t)p->n;
	}
}

static void
sum(void *arg, const struct flow_record *r)
{
	*(uint64_t *)arg += r->bytes;
}

int
main(int argc, char **argv)
{
	static struct bench_buf bufs[DATAGRAMS];
	unsigned seconds = 3, records = 30;
	int opt, every = 0;

	while ((opt = getopt(argc, argv, "d:r:T")) != -1) {
		switch (opt) {
		case 'd': seconds = (unsigned)atoi(optarg); break;
		case 'r': records = (unsigned)atoi(optarg); break;
		case 'T': every = 1; break;
		default:
			fprintf(stderr, "usage: flow_decode [-T] [-d seconds] [-r records]\n");
			return 2;
		}
	}
	if (records == 0 || records > 150 || seconds == 0) {
		fprintf(stderr, "flow_decode: 1-150 records, at least 1 second\n");
		return 2;
	}
	for (int ipfix = 0; ipfix <= 1; ipfix++) {
		struct flow_decoder *dec = flow_decoder_new(NULL);
		struct addr exporter = { .family = AF_INET, .bytes = { 192, 0, 2, 1 } };
		uint64_t bytes = 0, done = 0;
		unsigned host = 0;
		double t0, t;

		for (unsigned i = 0; i < DATAGRAMS; i++)
			build(&bufs[i], ipfix, i, records, &host, every || i % 20 == 0);
		t0 = now_s();
		do {
			for (unsigned i = 0; i < DATAGRAMS; i++)
				if (flow_decode(dec, &exporter, bufs[i].b, bufs[i].n, 0, sum, &bytes) != 0) {
					fprintf(stderr, "flow_decode: datagram %u refused\n", i);
					return 1;
				}
			done += (uint64_t)DATAGRAMS * records;
		} while ((t = now_s() - t0) < seconds);
		printf("%-6s %u records/datagram, %u B, template %s: %.2f M records/s, %.1f ns/record (%.0f datagrams/s) [%llu]\n",
		    ipfix ? "ipfix" : "v9", records, (unsigned)bufs[1].n, every ? "in each" : "1 in 20", (double)done / t / 1e6,
		    t * 1e9 / (double)done, (double)done / records / t, (unsigned long long)(bytes & 1));
		flow_decoder_free(dec);
	}
	return 0;
}
