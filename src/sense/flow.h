/*
 * flow.h — the flow decoders: NetFlow v5, NetFlow v9, IPFIX and sFlow v5 datagrams
 * into flow records, with the per-exporter state they need (templates, announced
 * sampling rates, sequence numbers) held under fixed caps.
 *
 * One entry point, flow_decode(), takes one UDP datagram as it came and the address it
 * came from; it reads nothing outside buf[0..len), allocates only when it learns a
 * template or meets a new exporter (never past the caps), and does no I/O. The
 * collector (sockets, configuration, store, metrics) lives elsewhere.
 */
#ifndef LAZARET_SENSE_FLOW_H
#define LAZARET_SENSE_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/timeutil.h"

/* Why a datagram (or the rest of it) was not decoded. flow_decode returns -FLOW_E_x. */
enum flow_error {
	FLOW_E_TRUNCATED_HEADER = 1,  /* shorter than its format's header */
	FLOW_E_BAD_VERSION,           /* none of 5, 9, 10 or sFlow 5 */
	FLOW_E_BAD_LENGTH,            /* a length or count that does not fit the datagram */
	FLOW_E_BAD_SET,               /* a v9 flowset / IPFIX set shorter than 4 or past the end */
	FLOW_E_BAD_TEMPLATE,          /* a template with no record length or cut short */
	FLOW_E_TEMPLATE_TOO_LONG,     /* more fields than limits.max_template_fields */
	FLOW_E_SHORT_RECORD,          /* a data set too short for one record, or a variable-length field past its record */
	FLOW_E_SFLOW_SAMPLE,          /* an sFlow sample or record whose length does not fit */
	FLOW_E_SFLOW_HEADER,          /* an sFlow sampled packet header too short for its layers */
	FLOW_E_EXPORTER_CAP,          /* a new exporter past limits.max_exporters: refused */
	FLOW_E_NOMEM,                 /* an allocation failed */
};
#define FLOW_ERROR_COUNT 12           /* one more than the last enum flow_error */

enum flow_format {
	FLOW_FORMAT_NETFLOW5 = 1,
	FLOW_FORMAT_NETFLOW9,
	FLOW_FORMAT_IPFIX,
	FLOW_FORMAT_SFLOW5,
};

/*
 * One flow as the exporter saw it. Counts are already multiplied by the sampling rate
 * (saturating at UINT64_MAX). Times are µs since the epoch: NetFlow's uptime-relative
 * times converted with the header's clock, IPFIX's absolute times as sent, and the
 * arrival time when the exporter sends none (sFlow always). Records without both
 * addresses, or with addresses of two families, are skipped: src and dst always share one.
 */
struct flow_record {
	struct addr exporter;
	struct addr src, dst;
	uint16_t src_port, dst_port;  /* ICMP: 0 and type << 8 | code, as NetFlow exports it */
	uint8_t proto;
	uint8_t tcp_flags;            /* OR over the flow (sFlow: the sampled packet's) */
	enum flow_format format;
	uint32_t domain;              /* v5 engine type << 8 | id, v9 source id, IPFIX domain, sFlow sub-agent */
	uint64_t packets, bytes;      /* scaled by sampling */
	usec_t first, last;
	uint32_t sampling;            /* the rate applied: 1 when unsampled */
	uint32_t in_if, out_if;       /* SNMP ifIndex, 0 when absent */
};

/* The caps: nothing an exporter sends grows the decoder past them. 0 means the default. */
struct flow_decoder_limits {
	unsigned max_exporters;        /* exporter addresses (default 256) */
	unsigned max_templates;        /* templates per exporter, all domains (default 128) */
	unsigned max_template_fields;  /* fields per template (default 64) */
	unsigned max_domains;          /* source ids / observation domains per exporter (default 16) */
};

/* What the decoder has counted for one exporter (flow_decoder_foreach_exporter). */
struct flow_exporter_stats {
	struct addr exporter;
	uint64_t packets;              /* datagrams seen, decoded or not */
	uint64_t records;              /* records handed to on_record */
	uint64_t unknown_template;     /* data sets skipped because their template was unknown */
	uint64_t templates_refused;    /* templates refused at max_templates (or max_domains) */
	uint64_t seq_lost;             /* exports lost by the sequence numbers: records (v5, IPFIX) or datagrams (v9, sFlow) */
	uint64_t seq_reordered;        /* exports that came late (their loss, counted before, taken back) */
	uint64_t seq_resets;           /* sequence jumps too large for loss: exporter restarts */
	uint64_t malformed[FLOW_ERROR_COUNT];  /* datagrams refused or cut short, by enum flow_error */
	unsigned templates;            /* templates held now */
	uint32_t sampling;             /* the rate last applied to a record of this exporter */
};

struct flow_decoder;

/* A decoder with the given caps (NULL: the defaults). NULL when out of memory. */
struct flow_decoder *flow_decoder_new(const struct flow_decoder_limits *limits);
void flow_decoder_free(struct flow_decoder *dec);

/*
 * flow_decoder_set_sampling — the rate for exporters inside net that never announce one
 * (ipt_NETFLOW, some BNGs). A rate the exporter announces (v5 header, v9/IPFIX options or
 * a record's own field, sFlow samples) wins. The most specific of the prefixes set wins;
 * setting one again replaces its rate; rate 0 removes it. 0, -EINVAL (rate and net
 * unusable) or -ENOMEM. At most 1024 prefixes (-ENOSPC past them).
 */
int flow_decoder_set_sampling(struct flow_decoder *dec, const struct cidr *net, uint32_t rate);

/*
 * flow_decode — decodes one datagram that came from exporter, calling on_record once
 * per flow record, in order. now is the arrival time (µs since the epoch).
 *
 * Returns 0 when the whole datagram was decoded, or -FLOW_E_x: the datagram (from the
 * fault on: records before it were delivered) was skipped and counted under that
 * reason for the exporter. Data sets whose template is not known yet are counted and
 * skipped, not an error. Templates, announced sampling rates and sequence numbers are
 * remembered per (exporter, source id / observation domain).
 */
int flow_decode(struct flow_decoder *dec, const struct addr *exporter, const uint8_t *buf,
    size_t len, usec_t now, void (*on_record)(void *arg, const struct flow_record *r), void *arg);

/* The name of rc for logs and metrics: "truncated_header" for -FLOW_E_TRUNCATED_HEADER ...,
 * "ok" for 0, "unknown" for anything else. */
const char *flow_error_name(int rc);

/* Calls fn once per exporter the decoder holds, in the order they were first seen. */
void flow_decoder_foreach_exporter(const struct flow_decoder *dec,
    void (*fn)(void *arg, const struct flow_exporter_stats *s), void *arg);

/* Datagrams refused because max_exporters was reached (they have no exporter to count under). */
uint64_t flow_decoder_exporters_refused(const struct flow_decoder *dec);

/*
 * flow_decoder_save — the templates and announced sampling rates of every exporter as
 * bytes (versioned, checksummed) in a new malloc'd buffer, *out (caller frees). Sequence
 * numbers and counters are not saved. 0 or -ENOMEM.
 *
 * flow_decoder_restore — replaces dec's templates and announced rates with those of a
 * buffer flow_decoder_save made (any version this build reads). -EINVAL on anything
 * damaged, truncated or of another version, with dec left as it was (the whole buffer
 * is checked before dec is touched); -ENOMEM, when dec may hold part of it. Entries past
 * dec's caps are left out, as if never learnt. Meant for a decoder about to start.
 */
int flow_decoder_save(const struct flow_decoder *dec, uint8_t **out, size_t *len);
int flow_decoder_restore(struct flow_decoder *dec, const uint8_t *buf, size_t len);

#endif
