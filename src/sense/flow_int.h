/*
 * flow_int.h — what the flow decoder's files share (flow_decode.c: the decoder, its
 * exporters and NetFlow v5/v9/IPFIX; flow_template.c: templates; flow_sflow.c: sFlow v5;
 * flow_state.c: template save/restore). Not for use outside src/sense/flow_*.c.
 */
#ifndef LAZARET_SENSE_FLOW_INT_H
#define LAZARET_SENSE_FLOW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "sense/flow.h"

/* What a template field is to us; FLOW_K_SKIP for everything we do not read. */
enum flow_kind {
	FLOW_K_SKIP = 0,
	FLOW_K_BYTES, FLOW_K_PKTS, FLOW_K_BYTES_TOTAL, FLOW_K_PKTS_TOTAL,
	FLOW_K_PROTO, FLOW_K_TCP_FLAGS, FLOW_K_SRC_PORT, FLOW_K_DST_PORT, FLOW_K_ICMP,
	FLOW_K_SRC4, FLOW_K_DST4, FLOW_K_SRC6, FLOW_K_DST6, FLOW_K_IN_IF, FLOW_K_OUT_IF,
	FLOW_K_FIRST_UP, FLOW_K_LAST_UP,      /* ms of exporter uptime (v9 header, IPFIX 160) */
	FLOW_K_FIRST_S, FLOW_K_LAST_S, FLOW_K_FIRST_MS, FLOW_K_LAST_MS, FLOW_K_SYSINIT_MS,
	FLOW_K_SAMPLING,                      /* 34, 50: "1 in N" */
	FLOW_K_SAMP_INTERVAL, FLOW_K_SAMP_SPACE,   /* 305, 306 */
	FLOW_K_SAMP_SIZE, FLOW_K_SAMP_POP,    /* 309, 310 */
	FLOW_K_SAMP_ALGO,                     /* 304 selectorAlgorithm */
	FLOW_K_COUNT                          /* at most 32: a bit each in flow_acc.have */
};

#define FLOW_VARLEN 65535             /* an IPFIX field length that means "length prefix" */
#define FLOW_OPS_MAX 32               /* fields read per record: more than any template uses */

struct flow_field {
	uint16_t id;                  /* without the enterprise bit */
	uint16_t len;
	uint32_t pen;                 /* enterprise number, 0 for IANA's */
	uint8_t kind;                 /* enum flow_kind */
};

/* A field read from a fixed-length record: at off, len bytes. */
struct flow_op {
	uint16_t off;
	uint16_t len;
	uint8_t kind;
};

struct flow_template {
	uint32_t domain;
	uint16_t id;
	bool options;
	bool ipfix;
	bool varlen;                  /* has a variable-length field: walk fields, not ops */
	uint16_t scope;               /* scope fields at the head of an options template */
	uint16_t nfields, nops;
	uint32_t reclen;              /* a fixed record's length; with varlen, the least one */
	struct flow_field *fields;
	struct flow_op ops[FLOW_OPS_MAX];
};

/* Per source id / observation domain / sFlow sub-agent. */
struct flow_domain {
	uint32_t id;
	uint8_t format;               /* enum flow_format the sequence numbers belong to */
	bool seq_valid;
	uint32_t seq_next;            /* the sequence number expected next */
	uint32_t sampling;            /* announced by options data, 0 when never */
	int64_t sysinit_ms;           /* IPFIX systemInitTimeMilliseconds from options, 0 when never */
};

struct flow_exporter {
	struct flow_exporter_stats st;
	uint32_t default_rate;        /* from flow_decoder_set_sampling, 0 when none covers it */
	struct flow_template *tpl;
	unsigned ntpl, cap_tpl;
	unsigned last_tpl;            /* where the last lookup hit */
	struct flow_domain *dom;
	unsigned ndom;
};

struct flow_sampling_net {
	struct cidr net;
	uint32_t rate;
};

struct flow_decoder {
	struct flow_decoder_limits lim;
	struct flow_exporter **exp;   /* in the order first seen */
	unsigned nexp;
	uint32_t *slots;              /* open addressing by address: index + 1, 0 empty */
	unsigned slot_mask;
	unsigned last_exp;
	uint64_t exporters_refused;
	struct flow_sampling_net *samp;
	unsigned nsamp;
	struct flow_field *scratch;   /* max_template_fields: a template set's fields as read */
};

static inline uint16_t
flow_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
flow_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
flow_mul_sat(uint64_t v, uint32_t rate)
{
	uint64_t r;

	/* no division per record: the multiply's own overflow flag */
	if (rate <= 1)
		return v;
	return __builtin_mul_overflow(v, (uint64_t)rate, &r) ? UINT64_MAX : r;
}

/* The exporter of addr, made when new and create is set; NULL at max_exporters or out of memory. */
struct flow_exporter *flow_exporter_get(struct flow_decoder *dec, const struct addr *addr, bool create);

/* The domain id of e, made when new; NULL at max_domains or out of memory. */
struct flow_domain *flow_domain_get(struct flow_decoder *dec, struct flow_exporter *e, uint32_t id);

/*
 * flow_template_put — compiles fields[0..n) (copied) into a template of e, replacing the
 * one with the same (domain, id). 0; 1 when refused at max_templates (counted);
 * -FLOW_E_BAD_TEMPLATE (no record length), -FLOW_E_TEMPLATE_TOO_LONG or -FLOW_E_NOMEM.
 */
int flow_template_put(struct flow_decoder *dec, struct flow_exporter *e, uint32_t domain,
    uint16_t id, bool options, bool ipfix, uint16_t scope, const struct flow_field *fields, unsigned n);

/* Drops every template of e (restore). */
void flow_exporter_clear(struct flow_exporter *e);

/* The template (domain, id) of e, NULL when unknown. */
struct flow_template *flow_template_find(struct flow_exporter *e, uint32_t domain, uint16_t id);

/*
 * Withdraws (domain, id) of e; IPFIX's "all" ids (2: every template, 3: every options
 * template, RFC 7011 8.1) withdraw every one of that kind in the domain.
 */
void flow_template_withdraw(struct flow_exporter *e, uint32_t domain, uint16_t id, bool ipfix);

/*
 * flow_seq — checks an export's sequence number seq carrying count units (records or
 * datagrams) against what d expected, counting loss, late arrivals and restarts in e.
 * A jump of more than window units either way is a restart.
 */
void flow_seq(struct flow_exporter *e, struct flow_domain *d, uint8_t format, uint32_t seq,
    uint32_t count, uint32_t window);

/* The rate for a record of e in d with no rate of its own: announced, configured, 1. */
static inline uint32_t
flow_rate(const struct flow_exporter *e, const struct flow_domain *d)
{
	if (d != NULL && d->sampling != 0)
		return d->sampling;
	return e->default_rate != 0 ? e->default_rate : 1;
}

/* Hands r to on_record after scaling its counts by rate, and counts it. */
static inline void
flow_emit(struct flow_exporter *e, struct flow_record *r, uint32_t rate,
    void (*on_record)(void *arg, const struct flow_record *r), void *arg)
{
	r->sampling = rate;
	r->packets = flow_mul_sat(r->packets, rate);
	r->bytes = flow_mul_sat(r->bytes, rate);
	e->st.records++;
	e->st.sampling = rate;
	on_record(arg, r);
}

/* sFlow v5 (flow_sflow.c): 0 or -FLOW_E_x. */
int flow_sflow_decode(struct flow_decoder *dec, struct flow_exporter *e, const uint8_t *buf,
    size_t len, usec_t now, void (*on_record)(void *arg, const struct flow_record *r), void *arg);

#endif
