/*
 * fuzz_flow.h — what the four flow fuzz targets share (fuzz_netflow5.c, fuzz_netflow9.c,
 * fuzz_ipfix.c, fuzz_sflow.c): each defines FUZZ_FLOW_FORMAT and includes this, which
 * defines LLVMFuzzerTestOneInput.
 *
 * The input is a sequence of datagrams, each a 2-byte big-endian length and its bytes
 * (what tests/tools/udp_dump writes, so the captures in tests/unit/data/flows are
 * seeds as they are); what is left when a length does not fit is one last datagram.
 * Each datagram's version is set to the target's format so the mutations stay in it, and
 * is copied into a buffer of exactly its length (AddressSanitizer sees any read past
 * it). One decoder with small caps sees them all, so templates learnt from one are
 * used by the next. Every record is checked; the counters must add up; the state saved
 * must restore into a fresh decoder and save again to the same bytes; the input itself
 * is offered to restore.
 */
#ifndef LAZARET_FUZZ_FLOW_H
#define LAZARET_FUZZ_FLOW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sense/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_flow {
	struct addr exporter;
	uint64_t records;
};

static void
fuzz_flow_record(void *arg, const struct flow_record *r)
{
	struct fuzz_flow *f = arg;

	if ((r->src.family != AF_INET && r->src.family != AF_INET6) || r->dst.family != r->src.family)
		abort();
	if (!addr_equal(&r->exporter, &f->exporter) || r->sampling == 0)
		abort();
	if ((int)r->format != FUZZ_FLOW_FORMAT)
		abort();
	f->records++;
}

static void
fuzz_flow_stats(void *arg, const struct flow_exporter_stats *s)
{
	uint64_t *records = arg;

	*records += s->records;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_decoder_limits lim = { .max_exporters = 4, .max_templates = 8,
	    .max_template_fields = 32, .max_domains = 4 };
	struct flow_decoder *dec, *again;
	struct fuzz_flow f;
	struct cidr net;
	uint8_t *saved = NULL, *saved2 = NULL;
	size_t off = 0, saved_len, saved2_len;
	uint64_t counted = 0;

	if ((dec = flow_decoder_new(&lim)) == NULL)
		abort();
	memset(&f, 0, sizeof(f));
	if (addr_parse("192.0.2.1", 9, &f.exporter) != 0 || cidr_parse("192.0.2.0/24", &net) != 0 ||
	    flow_decoder_set_sampling(dec, &net, 64) != 0)
		abort();
	while (off < size) {
		size_t n = size - off;
		const uint8_t *p = data + off;
		uint8_t *copy;
		int rc;

		if (n >= 2 && ((size_t)p[0] << 8 | p[1]) <= n - 2) {
			n = (size_t)p[0] << 8 | p[1];
			p += 2;
			off += 2;
		}
		if ((copy = malloc(n ? n : 1)) == NULL)
			abort();
		memcpy(copy, p, n);
		if (FUZZ_FLOW_FORMAT == FLOW_FORMAT_SFLOW5 && n >= 4) {
			copy[0] = copy[1] = copy[2] = 0;
			copy[3] = 5;
		} else if (FUZZ_FLOW_FORMAT != FLOW_FORMAT_SFLOW5 && n >= 2) {
			copy[0] = 0;
			copy[1] = FUZZ_FLOW_FORMAT == FLOW_FORMAT_NETFLOW5 ? 5 :
			    FUZZ_FLOW_FORMAT == FLOW_FORMAT_NETFLOW9 ? 9 : 10;
		}
		rc = flow_decode(dec, &f.exporter, copy, n, 1800000000 * USEC_PER_SEC, fuzz_flow_record, &f);
		if (rc > 0 || rc <= -FLOW_ERROR_COUNT || strcmp(flow_error_name(rc), "unknown") == 0)
			abort();
		free(copy);
		off += n;
	}
	flow_decoder_foreach_exporter(dec, fuzz_flow_stats, &counted);
	if (counted != f.records)
		abort();

	if (flow_decoder_save(dec, &saved, &saved_len) != 0)
		abort();
	if ((again = flow_decoder_new(&lim)) == NULL)
		abort();
	if (flow_decoder_restore(again, saved, saved_len) != 0 ||
	    flow_decoder_save(again, &saved2, &saved2_len) != 0)
		abort();
	if (saved2_len != saved_len || memcmp(saved, saved2, saved_len) != 0)
		abort();
	{
		int rc = flow_decoder_restore(again, data, size);

		if (rc != 0 && rc != -EINVAL)
			abort();
	}
	free(saved);
	free(saved2);
	flow_decoder_free(again);
	flow_decoder_free(dec);
	return 0;
}

#endif
