/*
 * flow_decode.c — the flow decoder: its exporters, their domains and sequence numbers,
 * and the NetFlow v5, NetFlow v9 and IPFIX formats (RFC 3954, RFC 7011). Templates are
 * in flow_template.c, sFlow v5 in flow_sflow.c, template save/restore in flow_state.c.
 *
 * Every read is checked against the datagram's (or set's, or record's) end before it
 * is made; a field is read only when it is one we use and has a width we store
 * (integers 1-8 bytes, addresses 4 or 16), so no length an exporter sends is ever
 * copied into a fixed buffer. State grows only up to the caps in flow_decoder_limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "sense/flow_int.h"

#define FLOW_DEF_EXPORTERS 256
#define FLOW_DEF_TEMPLATES 128
#define FLOW_DEF_FIELDS 64
#define FLOW_DEF_DOMAINS 16
#define FLOW_MAX_SAMPLING_NETS 1024

/* Sequence windows: a jump larger than this is an exporter restart, not loss. */
#define FLOW_SEQ_WINDOW_RECORDS (1u << 24)
#define FLOW_SEQ_WINDOW_PACKETS (1u << 16)

static const char *const flow_error_names[FLOW_ERROR_COUNT] = {
	[0] = "ok",
	[FLOW_E_TRUNCATED_HEADER] = "truncated_header",
	[FLOW_E_BAD_VERSION] = "bad_version",
	[FLOW_E_BAD_LENGTH] = "bad_length",
	[FLOW_E_BAD_SET] = "bad_set",
	[FLOW_E_BAD_TEMPLATE] = "bad_template",
	[FLOW_E_TEMPLATE_TOO_LONG] = "template_too_long",
	[FLOW_E_SHORT_RECORD] = "short_record",
	[FLOW_E_SFLOW_SAMPLE] = "sflow_bad_sample",
	[FLOW_E_SFLOW_HEADER] = "sflow_short_header",
	[FLOW_E_EXPORTER_CAP] = "exporter_cap",
	[FLOW_E_NOMEM] = "out_of_memory",
};

const char *
flow_error_name(int rc)
{
	if (rc <= 0 && rc > -FLOW_ERROR_COUNT)
		return flow_error_names[-rc];
	return "unknown";
}

struct flow_decoder *
flow_decoder_new(const struct flow_decoder_limits *limits)
{
	struct flow_decoder *dec;
	unsigned n = 1;

	if ((dec = calloc(1, sizeof(*dec))) == NULL)
		return NULL;
	if (limits != NULL)
		dec->lim = *limits;
	if (dec->lim.max_exporters == 0)
		dec->lim.max_exporters = FLOW_DEF_EXPORTERS;
	if (dec->lim.max_templates == 0)
		dec->lim.max_templates = FLOW_DEF_TEMPLATES;
	if (dec->lim.max_template_fields == 0)
		dec->lim.max_template_fields = FLOW_DEF_FIELDS;
	if (dec->lim.max_template_fields > 65535)
		dec->lim.max_template_fields = 65535;
	if (dec->lim.max_domains == 0)
		dec->lim.max_domains = FLOW_DEF_DOMAINS;
	if (dec->lim.max_exporters > (1u << 24))
		dec->lim.max_exporters = 1u << 24;
	while (n < 2 * dec->lim.max_exporters)
		n <<= 1;
	if ((dec->slots = calloc(n, sizeof(*dec->slots))) == NULL ||
	    (dec->scratch = calloc(dec->lim.max_template_fields, sizeof(*dec->scratch))) == NULL ||
	    (dec->exp = calloc(dec->lim.max_exporters, sizeof(*dec->exp))) == NULL) {
		flow_decoder_free(dec);
		return NULL;
	}
	dec->slot_mask = n - 1;
	return dec;
}

void
flow_decoder_free(struct flow_decoder *dec)
{
	if (dec == NULL)
		return;
	for (unsigned i = 0; i < dec->nexp; i++) {
		flow_exporter_clear(dec->exp[i]);
		free(dec->exp[i]->tpl);
		free(dec->exp[i]->dom);
		free(dec->exp[i]);
	}
	free(dec->exp);
	free(dec->slots);
	free(dec->samp);
	free(dec->scratch);
	free(dec);
}

static size_t
flow_addr_len(const struct addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

/* The configured rate for a: the longest prefix that holds it, 0 when none. */
static uint32_t
flow_default_rate(const struct flow_decoder *dec, const struct addr *a)
{
	uint32_t rate = 0;
	unsigned best = 0;
	bool found = false;

	for (unsigned i = 0; i < dec->nsamp; i++)
		if (cidr_contains(&dec->samp[i].net, a) && (!found || dec->samp[i].net.prefix >= best)) {
			found = true;
			best = dec->samp[i].net.prefix;
			rate = dec->samp[i].rate;
		}
	return rate;
}

int
flow_decoder_set_sampling(struct flow_decoder *dec, const struct cidr *net, uint32_t rate)
{
	unsigned i;

	if ((net->addr.family != AF_INET && net->addr.family != AF_INET6) ||
	    net->prefix > (net->addr.family == AF_INET ? 32u : 128u))
		return -EINVAL;
	for (i = 0; i < dec->nsamp; i++)
		if (dec->samp[i].net.prefix == net->prefix && addr_equal(&dec->samp[i].net.addr, &net->addr))
			break;
	if (rate == 0) {
		if (i < dec->nsamp)
			dec->samp[i] = dec->samp[--dec->nsamp];
	} else if (i < dec->nsamp) {
		dec->samp[i].rate = rate;
	} else {
		struct flow_sampling_net *s;

		if (dec->nsamp >= FLOW_MAX_SAMPLING_NETS)
			return -ENOSPC;
		if ((s = realloc(dec->samp, (dec->nsamp + 1) * sizeof(*s))) == NULL)
			return -ENOMEM;
		dec->samp = s;
		s[dec->nsamp].net = *net;
		s[dec->nsamp].rate = rate;
		dec->nsamp++;
	}
	for (i = 0; i < dec->nexp; i++)
		dec->exp[i]->default_rate = flow_default_rate(dec, &dec->exp[i]->st.exporter);
	return 0;
}

/*
 * Exporters are never evicted: at max_exporters a new address is refused (and counted
 * in exporters_refused), so datagrams with forged source addresses cannot push a real
 * router's templates out. The table is open addressing under the process's keyed hash
 * (the addresses are chosen by whoever sends), with no deletions, so probing ends at an
 * empty slot; it is at most half full.
 */
struct flow_exporter *
flow_exporter_get(struct flow_decoder *dec, const struct addr *addr, bool create)
{
	struct flow_exporter *e;
	uint32_t h;

	if (dec->nexp > 0 && addr_equal(&dec->exp[dec->last_exp]->st.exporter, addr))
		return dec->exp[dec->last_exp];
	h = (uint32_t)hash_bytes(addr->bytes, flow_addr_len(addr)) & dec->slot_mask;
	for (;; h = (h + 1) & dec->slot_mask) {
		uint32_t s = dec->slots[h];

		if (s == 0)
			break;
		if (addr_equal(&dec->exp[s - 1]->st.exporter, addr)) {
			dec->last_exp = s - 1;
			return dec->exp[s - 1];
		}
	}
	if (!create || dec->nexp >= dec->lim.max_exporters)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->st.exporter.family = addr->family;
	memcpy(e->st.exporter.bytes, addr->bytes, flow_addr_len(addr));
	e->default_rate = flow_default_rate(dec, addr);
	dec->exp[dec->nexp] = e;
	dec->slots[h] = ++dec->nexp;
	dec->last_exp = dec->nexp - 1;
	return e;
}

struct flow_domain *
flow_domain_get(struct flow_decoder *dec, struct flow_exporter *e, uint32_t id)
{
	struct flow_domain *d;

	for (unsigned i = 0; i < e->ndom; i++)
		if (e->dom[i].id == id)
			return &e->dom[i];
	if (e->ndom >= dec->lim.max_domains)
		return NULL;
	if ((d = realloc(e->dom, (e->ndom + 1) * sizeof(*d))) == NULL)
		return NULL;
	e->dom = d;
	d = &e->dom[e->ndom++];
	memset(d, 0, sizeof(*d));
	d->id = id;
	return d;
}

void
flow_seq(struct flow_exporter *e, struct flow_domain *d, uint8_t format, uint32_t seq,
    uint32_t count, uint32_t window)
{
	uint32_t ahead = seq - d->seq_next, behind = d->seq_next - seq;

	if (!d->seq_valid || d->format != format) {
		d->seq_valid = true;
		d->format = format;
		d->seq_next = seq + count;
		return;
	}
	if (ahead == 0) {
		d->seq_next = seq + count;
	} else if (ahead <= window) {
		e->st.seq_lost += ahead;
		d->seq_next = seq + count;
	} else if (behind <= window) {
		/* A late export: the gap it left was counted as lost; take it back. */
		uint64_t back = count < e->st.seq_lost ? count : e->st.seq_lost;

		e->st.seq_lost -= back;
		e->st.seq_reordered++;
	} else {
		e->st.seq_resets++;
		d->seq_next = seq + count;
	}
}

/* --- records ----------------------------------------------------------------- */

/*
 * One record's fields as read, before times and sampling are worked out: addresses
 * straight into the record, every other field we use into v[] by its kind. v[k] is
 * meaningful only when bit k of have is set, so a record costs no clearing of v.
 */
struct flow_acc {
	struct flow_record r;
	uint32_t have;
	uint64_t v[FLOW_K_COUNT];
};
_Static_assert(FLOW_K_COUNT <= 32, "flow_acc.have has a bit per kind");

/* A big-endian integer of n (1-8) bytes; the widths exporters use most read at once. */
static inline uint64_t
flow_rdn(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	switch (n) {
	case 1:
		return p[0];
	case 2:
		return flow_rd16(p);
	case 4:
		return flow_rd32(p);
	case 8:
		return (uint64_t)flow_rd32(p) << 32 | flow_rd32(p + 4);
	default:
		for (unsigned i = 0; i < n; i++)
			v = v << 8 | p[i];
		return v;
	}
}

/* Reads one field of kind at p (len bytes, all inside the record) into a. */
static inline void
flow_field_read(struct flow_acc *a, uint8_t kind, const uint8_t *p, unsigned len)
{
	if (kind >= FLOW_K_SRC4 && kind <= FLOW_K_DST6) {
		bool v6 = kind >= FLOW_K_SRC6;
		struct addr *d = kind == FLOW_K_SRC4 || kind == FLOW_K_SRC6 ? &a->r.src : &a->r.dst;

		if (len == (v6 ? 16u : 4u)) {
			d->family = v6 ? AF_INET6 : AF_INET;
			memcpy(d->bytes, p, len);
		}
		return;
	}
	/* Integers only at widths we store: a 64-byte "counter" is skipped, not copied. */
	if (len == 0 || len > 8)
		return;
	a->v[kind] = flow_rdn(p, len);
	a->have |= 1u << kind;
}

#define FLOW_HAS(a, k) (((a)->have >> (k)) & 1u)
/* Field k, or o when k was not sent (a start without an end, or the reverse); o must have been. */
#define FLOW_EITHER(a, k, o) (FLOW_HAS(a, k) ? (a)->v[k] : (a)->v[o])

/*
 * The "1 in N" a record announces, 0 when none. With selectorAlgorithm (304, RFC 5477)
 * the algorithm says which fields count: 1 systematic count-based, packet interval and
 * space (305/306: N = (interval + space) / interval); 3 random n-out-of-N (309/310:
 * N = population / size); any other (time-based, probabilistic, hash) announces no
 * packet rate we can scale by. Without it: 305/306 (305 alone taken as N, as exporters
 * that send it without 306 mean), then 309/310, then samplingInterval (34, 50).
 * selectorId (302) is read as a scope, not kept: the rate is the domain's.
 */
static uint32_t
flow_acc_rate(const struct flow_acc *a)
{
	uint64_t algo = FLOW_HAS(a, FLOW_K_SAMP_ALGO) ? a->v[FLOW_K_SAMP_ALGO] : 0, n = 0;

	if ((algo == 0 || algo == 1) && FLOW_HAS(a, FLOW_K_SAMP_INTERVAL) &&
	    a->v[FLOW_K_SAMP_INTERVAL] > 0)
		n = FLOW_HAS(a, FLOW_K_SAMP_SPACE) ?
		    (a->v[FLOW_K_SAMP_INTERVAL] + (a->v[FLOW_K_SAMP_SPACE] > UINT32_MAX ? UINT32_MAX :
		    a->v[FLOW_K_SAMP_SPACE])) / a->v[FLOW_K_SAMP_INTERVAL] : a->v[FLOW_K_SAMP_INTERVAL];
	else if ((algo == 0 || algo == 3) && FLOW_HAS(a, FLOW_K_SAMP_SIZE) && a->v[FLOW_K_SAMP_SIZE] > 0 &&
	    FLOW_HAS(a, FLOW_K_SAMP_POP) && a->v[FLOW_K_SAMP_POP] >= a->v[FLOW_K_SAMP_SIZE])
		n = a->v[FLOW_K_SAMP_POP] / a->v[FLOW_K_SAMP_SIZE];
	else if (algo == 0 && FLOW_HAS(a, FLOW_K_SAMPLING))
		n = a->v[FLOW_K_SAMPLING];
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* What a v9/IPFIX message's header says, for the records in it. */
struct flow_msg {
	struct flow_exporter *e;
	struct flow_domain *d;
	bool ipfix;
	uint32_t domain;
	uint32_t uptime_ms;           /* v9 */
	usec_t export_us;
	usec_t now;
	uint32_t data_records;        /* IPFIX: for the sequence number */
	bool unknown;                 /* a data set was skipped: its records cannot be counted */
	void (*on_record)(void *arg, const struct flow_record *r);
	void *arg;
};

static usec_t
flow_ms_us(uint64_t ms)
{
	return ms > (uint64_t)INT64_MAX / 1000 ? INT64_MAX : (usec_t)ms * 1000;
}

/* One record read into a: remember what an options record announces, emit a data record. */
static void
flow_record_done(struct flow_msg *m, const struct flow_template *t, struct flow_acc *a)
{
	uint32_t rate = flow_acc_rate(a);

	if (t->options) {
		if (m->d != NULL) {
			if (rate != 0)
				m->d->sampling = rate;
			if (FLOW_HAS(a, FLOW_K_SYSINIT_MS))
				m->d->sysinit_ms = a->v[FLOW_K_SYSINIT_MS] > INT64_MAX ? INT64_MAX :
				    (int64_t)a->v[FLOW_K_SYSINIT_MS];
		}
		return;
	}
	/* A source of one family and a destination of the other is no flow we can name. */
	if (a->r.src.family == 0 || a->r.src.family != a->r.dst.family)
		return;
	a->r.bytes = FLOW_HAS(a, FLOW_K_BYTES) ? a->v[FLOW_K_BYTES] :
	    FLOW_HAS(a, FLOW_K_BYTES_TOTAL) ? a->v[FLOW_K_BYTES_TOTAL] : 0;
	a->r.packets = FLOW_HAS(a, FLOW_K_PKTS) ? a->v[FLOW_K_PKTS] :
	    FLOW_HAS(a, FLOW_K_PKTS_TOTAL) ? a->v[FLOW_K_PKTS_TOTAL] : 0;
	a->r.proto = FLOW_HAS(a, FLOW_K_PROTO) ? (uint8_t)a->v[FLOW_K_PROTO] : 0;
	a->r.tcp_flags = FLOW_HAS(a, FLOW_K_TCP_FLAGS) ? (uint8_t)a->v[FLOW_K_TCP_FLAGS] : 0;
	a->r.src_port = FLOW_HAS(a, FLOW_K_SRC_PORT) ? (uint16_t)a->v[FLOW_K_SRC_PORT] : 0;
	a->r.dst_port = FLOW_HAS(a, FLOW_K_DST_PORT) ? (uint16_t)a->v[FLOW_K_DST_PORT] : 0;
	a->r.in_if = FLOW_HAS(a, FLOW_K_IN_IF) ? (uint32_t)a->v[FLOW_K_IN_IF] : 0;
	a->r.out_if = FLOW_HAS(a, FLOW_K_OUT_IF) ? (uint32_t)a->v[FLOW_K_OUT_IF] : 0;
	if (FLOW_HAS(a, FLOW_K_ICMP) && a->r.dst_port == 0)
		a->r.dst_port = (uint16_t)a->v[FLOW_K_ICMP];
	if (FLOW_HAS(a, FLOW_K_FIRST_MS) || FLOW_HAS(a, FLOW_K_LAST_MS)) {
		a->r.first = flow_ms_us(FLOW_EITHER(a, FLOW_K_FIRST_MS, FLOW_K_LAST_MS));
		a->r.last = flow_ms_us(FLOW_EITHER(a, FLOW_K_LAST_MS, FLOW_K_FIRST_MS));
	} else if (FLOW_HAS(a, FLOW_K_FIRST_S) || FLOW_HAS(a, FLOW_K_LAST_S)) {
		a->r.first = flow_ms_us((FLOW_EITHER(a, FLOW_K_FIRST_S, FLOW_K_LAST_S)) * 1000);
		a->r.last = flow_ms_us((FLOW_EITHER(a, FLOW_K_LAST_S, FLOW_K_FIRST_S)) * 1000);
	} else if ((FLOW_HAS(a, FLOW_K_FIRST_UP) || FLOW_HAS(a, FLOW_K_LAST_UP)) && !m->ipfix) {
		/* v9: uptime-relative, against the header's uptime and clock (wraps at 2^32 ms). */
		uint32_t f = (uint32_t)(FLOW_EITHER(a, FLOW_K_FIRST_UP, FLOW_K_LAST_UP));
		uint32_t l = (uint32_t)(FLOW_EITHER(a, FLOW_K_LAST_UP, FLOW_K_FIRST_UP));

		a->r.first = m->export_us - (usec_t)(int32_t)(m->uptime_ms - f) * 1000;
		a->r.last = m->export_us - (usec_t)(int32_t)(m->uptime_ms - l) * 1000;
	} else if ((FLOW_HAS(a, FLOW_K_FIRST_UP) || FLOW_HAS(a, FLOW_K_LAST_UP)) &&
	    (FLOW_HAS(a, FLOW_K_SYSINIT_MS) || (m->d != NULL && m->d->sysinit_ms != 0))) {
		/*
		 * IPFIX flowStart/EndSysUpTime: ms since systemInitTimeMilliseconds, a 32-bit
		 * counter that wraps after 49.7 days (and that softflowd -r fills from a capture's
		 * older clock): taken as signed distances from the uptime at export time, as v9's.
		 */
		uint64_t init = FLOW_HAS(a, FLOW_K_SYSINIT_MS) ? a->v[FLOW_K_SYSINIT_MS] : (uint64_t)m->d->sysinit_ms;
		uint32_t up = (uint32_t)((uint64_t)(m->export_us / 1000) - init);
		uint32_t f = (uint32_t)(FLOW_EITHER(a, FLOW_K_FIRST_UP, FLOW_K_LAST_UP));
		uint32_t l = (uint32_t)(FLOW_EITHER(a, FLOW_K_LAST_UP, FLOW_K_FIRST_UP));

		a->r.first = m->export_us - (usec_t)(int32_t)(up - f) * 1000;
		a->r.last = m->export_us - (usec_t)(int32_t)(up - l) * 1000;
	} else {
		a->r.first = a->r.last = m->now;
	}
	flow_emit(m->e, &a->r, rate != 0 ? rate : flow_rate(m->e, m->d), m->on_record, m->arg);
}

static inline void
flow_acc_init(struct flow_acc *a, const struct flow_msg *m, enum flow_format format)
{
	memset(&a->r, 0, sizeof(a->r));
	a->have = 0;
	a->r.exporter = m->e->st.exporter;
	a->r.format = format;
	a->r.domain = m->domain;
}

/*
 * Decodes the records of data set p[0..n) with template t. A set too short for even
 * one record (beyond 3 bytes of padding) is -FLOW_E_SHORT_RECORD; what is left after
 * the last whole record is padding. A variable-length field (1-byte length, or 255 and
 * a 2-byte length) reaching past the set is -FLOW_E_SHORT_RECORD.
 */
static int
flow_data_set(struct flow_msg *m, const struct flow_template *t, const uint8_t *p, size_t n)
{
	enum flow_format format = m->ipfix ? FLOW_FORMAT_IPFIX : FLOW_FORMAT_NETFLOW9;
	struct flow_acc a;
	size_t off = 0;
	unsigned done = 0;

	while (n - off >= t->reclen) {
		flow_acc_init(&a, m, format);
		if (!t->varlen) {
			const uint8_t *rec = p + off;

			for (unsigned i = 0; i < t->nops; i++)
				flow_field_read(&a, t->ops[i].kind, rec + t->ops[i].off, t->ops[i].len);
			off += t->reclen;
		} else {
			for (unsigned i = 0; i < t->nfields; i++) {
				const struct flow_field *f = &t->fields[i];
				size_t flen = f->len;

				if (flen == FLOW_VARLEN) {
					if (n - off < 1)
						return -FLOW_E_SHORT_RECORD;
					flen = p[off++];
					if (flen == 255) {
						if (n - off < 2)
							return -FLOW_E_SHORT_RECORD;
						flen = flow_rd16(p + off);
						off += 2;
					}
				}
				if (n - off < flen)
					return -FLOW_E_SHORT_RECORD;
				if (f->kind != FLOW_K_SKIP)
					flow_field_read(&a, f->kind, p + off, (unsigned)flen);
				off += flen;
			}
		}
		done++;
		m->data_records++;
		flow_record_done(m, t, &a);
	}
	if (done == 0 && n > 3)
		return -FLOW_E_SHORT_RECORD;
	return 0;
}

/*
 * Reads the template records of one template set p[0..n) (v9 flowset 0/1, IPFIX set 2/3)
 * and stores them. A record with no fields is a withdrawal (IPFIX; v9 exporters do the
 * same). Fewer than 4 bytes left (or 6 for a v9 options template) is padding: a
 * withdrawal there is not read past the set (nfdump #171 underflowed on it).
 */
static int
flow_template_set(struct flow_decoder *dec, struct flow_msg *m, bool options, const uint8_t *p, size_t n)
{
	struct flow_field *fields = dec->scratch;
	size_t off = 0;
	int rc = 0;

	while (n - off >= 4) {
		uint16_t id = flow_rd16(p + off), count, scope = 0;
		size_t hdr = 4;

		if (!m->ipfix && options) {
			uint16_t scope_len, opt_len;

			if (n - off < 6)
				break;
			scope_len = flow_rd16(p + off + 2);
			opt_len = flow_rd16(p + off + 4);
			if (scope_len % 4 != 0 || opt_len % 4 != 0) {
				rc = -FLOW_E_BAD_TEMPLATE;
				goto out;
			}
			scope = scope_len / 4;
			count = (uint16_t)(scope + opt_len / 4);
			hdr = 6;
		} else {
			count = flow_rd16(p + off + 2);
			if (m->ipfix && options && count != 0) {
				if (n - off < 6) {
					rc = -FLOW_E_BAD_TEMPLATE;
					goto out;
				}
				scope = flow_rd16(p + off + 4);
				hdr = 6;
				if (scope > count) {
					rc = -FLOW_E_BAD_TEMPLATE;
					goto out;
				}
			}
		}
		off += hdr;
		if (count == 0) {
			flow_template_withdraw(m->e, m->domain, id, m->ipfix);
			continue;
		}
		if (id < 256) {
			rc = -FLOW_E_BAD_TEMPLATE;
			goto out;
		}
		if (count > dec->lim.max_template_fields) {
			rc = -FLOW_E_TEMPLATE_TOO_LONG;
			goto out;
		}
		for (unsigned i = 0; i < count; i++) {
			if (n - off < 4) {
				rc = -FLOW_E_BAD_TEMPLATE;
				goto out;
			}
			fields[i].id = flow_rd16(p + off);
			fields[i].len = flow_rd16(p + off + 2);
			fields[i].pen = 0;
			off += 4;
			if (m->ipfix && (fields[i].id & 0x8000)) {
				if (n - off < 4) {
					rc = -FLOW_E_BAD_TEMPLATE;
					goto out;
				}
				fields[i].id &= 0x7fff;
				fields[i].pen = flow_rd32(p + off);
				off += 4;
			}
		}
		if ((rc = flow_template_put(dec, m->e, m->domain, id, options, m->ipfix, scope, fields, count)) < 0)
			goto out;
		rc = 0;
	}
out:
	return rc;
}

/* A NetFlow v9 (RFC 3954) or IPFIX (RFC 7011) message. */
static int
flow_decode_v9_ipfix(struct flow_decoder *dec, struct flow_msg *m, const uint8_t *buf, size_t len)
{
	size_t off, end;
	uint32_t seq;

	if (m->ipfix) {
		if (len < 16)
			return -FLOW_E_TRUNCATED_HEADER;
		end = flow_rd16(buf + 2);
		if (end < 16 || end > len)
			return -FLOW_E_BAD_LENGTH;
		m->export_us = (usec_t)flow_rd32(buf + 4) * USEC_PER_SEC;
		seq = flow_rd32(buf + 8);
		m->domain = flow_rd32(buf + 12);
		off = 16;
	} else {
		if (len < 20)
			return -FLOW_E_TRUNCATED_HEADER;
		end = len;
		m->uptime_ms = flow_rd32(buf + 4);
		m->export_us = (usec_t)flow_rd32(buf + 8) * USEC_PER_SEC;
		seq = flow_rd32(buf + 12);
		m->domain = flow_rd32(buf + 16);
		off = 20;
	}
	if ((m->d = flow_domain_get(dec, m->e, m->domain)) == NULL)
		m->e->st.templates_refused++;
	if (!m->ipfix && m->d != NULL)
		flow_seq(m->e, m->d, FLOW_FORMAT_NETFLOW9, seq, 1, FLOW_SEQ_WINDOW_PACKETS);
	while (end - off >= 4) {
		uint16_t set = flow_rd16(buf + off), slen = flow_rd16(buf + off + 2);
		const uint8_t *body = buf + off + 4;
		const struct flow_template *t;
		int rc = 0;

		if (slen < 4 || slen > end - off) {
			if (m->ipfix && m->d != NULL)
				m->d->seq_valid = false;
			return -FLOW_E_BAD_SET;
		}
		if (set >= 256) {
			if ((t = flow_template_find(m->e, m->domain, set)) == NULL) {
				m->e->st.unknown_template++;
				m->unknown = true;
			} else {
				rc = flow_data_set(m, t, body, slen - 4u);
			}
		} else if (set == (m->ipfix ? 2 : 0) || set == (m->ipfix ? 3 : 1)) {
			rc = flow_template_set(dec, m, set == (m->ipfix ? 3 : 1), body, slen - 4u);
		}
		if (rc < 0) {
			if (m->ipfix && m->d != NULL)
				m->d->seq_valid = false;
			return rc;
		}
		off += slen;
	}
	/* IPFIX counts data records, so a message with a set we could not read cannot be checked. */
	if (m->ipfix && m->d != NULL) {
		if (m->unknown)
			m->d->seq_valid = false;
		else
			flow_seq(m->e, m->d, FLOW_FORMAT_IPFIX, seq, m->data_records, FLOW_SEQ_WINDOW_RECORDS);
	}
	return 0;
}

/* NetFlow v5: a 24-byte header and count 48-byte records. */
static int
flow_decode_v5(struct flow_decoder *dec, struct flow_msg *m, const uint8_t *buf, size_t len)
{
	uint16_t count, si;
	uint32_t uptime, rate;
	struct flow_domain *d;
	usec_t export_us;

	if (len < 24)
		return -FLOW_E_TRUNCATED_HEADER;
	count = flow_rd16(buf + 2);
	if (count == 0 || len < 24 + (size_t)count * 48)
		return -FLOW_E_BAD_LENGTH;
	uptime = flow_rd32(buf + 4);
	export_us = (usec_t)flow_rd32(buf + 8) * USEC_PER_SEC + flow_rd32(buf + 12) / 1000 % USEC_PER_SEC;
	m->domain = (uint32_t)buf[20] << 8 | buf[21];
	/* The top 2 bits are the sampling mode, the other 14 the interval. */
	si = flow_rd16(buf + 22) & 0x3fff;
	if ((d = flow_domain_get(dec, m->e, m->domain)) != NULL)
		flow_seq(m->e, d, FLOW_FORMAT_NETFLOW5, flow_rd32(buf + 16), count, FLOW_SEQ_WINDOW_RECORDS);
	rate = si != 0 ? si : flow_rate(m->e, d);
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *p = buf + 24 + (size_t)i * 48;
		struct flow_record r;

		memset(&r, 0, sizeof(r));
		r.exporter = m->e->st.exporter;
		r.format = FLOW_FORMAT_NETFLOW5;
		r.domain = m->domain;
		r.src.family = r.dst.family = AF_INET;
		memcpy(r.src.bytes, p, 4);
		memcpy(r.dst.bytes, p + 4, 4);
		r.in_if = flow_rd16(p + 12);
		r.out_if = flow_rd16(p + 14);
		r.packets = flow_rd32(p + 16);
		r.bytes = flow_rd32(p + 20);
		r.first = export_us - (usec_t)(int32_t)(uptime - flow_rd32(p + 24)) * 1000;
		r.last = export_us - (usec_t)(int32_t)(uptime - flow_rd32(p + 28)) * 1000;
		r.src_port = flow_rd16(p + 32);
		r.dst_port = flow_rd16(p + 34);
		r.tcp_flags = p[37];
		r.proto = p[38];
		flow_emit(m->e, &r, rate, m->on_record, m->arg);
	}
	return 0;
}

int
flow_decode(struct flow_decoder *dec, const struct addr *exporter, const uint8_t *buf,
    size_t len, usec_t now, void (*on_record)(void *arg, const struct flow_record *r), void *arg)
{
	struct flow_msg m;
	int rc;

	if ((m.e = flow_exporter_get(dec, exporter, true)) == NULL) {
		dec->exporters_refused++;
		return -FLOW_E_EXPORTER_CAP;
	}
	m.e->st.packets++;
	m.d = NULL;
	m.domain = 0;
	m.uptime_ms = 0;
	m.export_us = 0;
	m.now = now;
	m.data_records = 0;
	m.unknown = false;
	m.on_record = on_record;
	m.arg = arg;
	m.ipfix = false;
	if (len < 4) {
		rc = -FLOW_E_TRUNCATED_HEADER;
	} else if (flow_rd32(buf) == 5) {
		rc = flow_sflow_decode(dec, m.e, buf, len, now, on_record, arg);
	} else {
		switch (flow_rd16(buf)) {
		case 5:
			rc = flow_decode_v5(dec, &m, buf, len);
			break;
		case 9:
			rc = flow_decode_v9_ipfix(dec, &m, buf, len);
			break;
		case 10:
			m.ipfix = true;
			rc = flow_decode_v9_ipfix(dec, &m, buf, len);
			break;
		default:
			rc = -FLOW_E_BAD_VERSION;
		}
	}
	if (rc < 0 && rc > -FLOW_ERROR_COUNT)
		m.e->st.malformed[-rc]++;
	return rc;
}

void
flow_decoder_foreach_exporter(const struct flow_decoder *dec,
    void (*fn)(void *arg, const struct flow_exporter_stats *s), void *arg)
{
	for (unsigned i = 0; i < dec->nexp; i++)
		fn(arg, &dec->exp[i]->st);
}

uint64_t
flow_decoder_exporters_refused(const struct flow_decoder *dec)
{
	return dec->exporters_refused;
}
