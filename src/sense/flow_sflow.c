/*
 * flow_sflow.c — sFlow v5 datagrams (sflow.org sflow_version_5.txt): flow samples and
 * expanded flow samples into flow records, counter samples skipped.
 *
 * A flow sample becomes one record: the first raw packet header record (Ethernet with
 * 802.1Q/QinQ tags, or bare IPv4/IPv6) or sampled IPv4/IPv6 record in it, counted as one
 * packet of the sampled packet's IP length (its frame length when it carries no IP
 * header), both multiplied by the sample's sampling rate. Counts that do not fit what
 * is left of the datagram (FastNetMon's CVE-2024-56072 trusted the sample count) and
 * headers too short for the layers they claim (goflow2 #251 panicked on short Ethernet)
 * are errors that end the datagram, never reads past it.
 */
#include <string.h>

#include "sense/flow_int.h"

#define SFLOW_SEQ_WINDOW (1u << 16)
#define SFLOW_MAX_VLAN_TAGS 4
#define SFLOW_MAX_IPV6_EXT 8

/* A bounded reader over one sample or record. */
struct sflow_rd {
	const uint8_t *p;
	size_t n;
};

static bool
sflow_u32(struct sflow_rd *r, uint32_t *v)
{
	if (r->n < 4)
		return false;
	*v = flow_rd32(r->p);
	r->p += 4;
	r->n -= 4;
	return true;
}

/* Takes len bytes (padded to 4, as XDR pads opaque data) as a reader of their own. */
static bool
sflow_take(struct sflow_rd *r, size_t len, struct sflow_rd *out)
{
	size_t padded = (len + 3) & ~(size_t)3;

	if (len > r->n || padded > r->n)
		return false;
	out->p = r->p;
	out->n = len;
	r->p += padded;
	r->n -= padded;
	return true;
}

/* The transport ports and flags of an L4 header at p[0..n), when present. */
static void
sflow_l4(struct flow_record *rec, const uint8_t *p, size_t n)
{
	switch (rec->proto) {
	case 6:
		if (n >= 14)
			rec->tcp_flags = p[13];
		/* fall through */
	case 17: case 132:
		if (n >= 4) {
			rec->src_port = flow_rd16(p);
			rec->dst_port = flow_rd16(p + 2);
		}
		break;
	case 1: case 58:
		if (n >= 2)
			rec->dst_port = (uint16_t)(p[0] << 8 | p[1]);
		break;
	default:
		break;
	}
}

/* An IPv4 packet header at p[0..n). 0 or -FLOW_E_SFLOW_HEADER. */
static int
sflow_ipv4(struct flow_record *rec, const uint8_t *p, size_t n)
{
	size_t ihl;

	if (n < 20 || (p[0] >> 4) != 4 || (ihl = (size_t)(p[0] & 0x0f) * 4) < 20)
		return -FLOW_E_SFLOW_HEADER;
	rec->src.family = rec->dst.family = AF_INET;
	memcpy(rec->src.bytes, p + 12, 4);
	memcpy(rec->dst.bytes, p + 16, 4);
	rec->proto = p[9];
	rec->bytes = flow_rd16(p + 2);
	/* Only a first fragment carries the transport header. */
	if ((flow_rd16(p + 6) & 0x1fff) == 0 && ihl <= n)
		sflow_l4(rec, p + ihl, n - ihl);
	return 0;
}

/* An IPv6 packet header at p[0..n), its extension headers walked within n. */
static int
sflow_ipv6(struct flow_record *rec, const uint8_t *p, size_t n)
{
	size_t off = 40;
	uint8_t next;

	if (n < 40 || (p[0] >> 4) != 6)
		return -FLOW_E_SFLOW_HEADER;
	rec->src.family = rec->dst.family = AF_INET6;
	memcpy(rec->src.bytes, p + 8, 16);
	memcpy(rec->dst.bytes, p + 24, 16);
	rec->bytes = (uint64_t)flow_rd16(p + 4) + 40;
	next = p[6];
	for (unsigned i = 0; i < SFLOW_MAX_IPV6_EXT; i++) {
		size_t hlen;

		if (next != 0 && next != 43 && next != 44 && next != 60 && next != 51)
			break;
		if (n - off < 8) {
			next = 59;      /* cut short: no transport header to read */
			break;
		}
		if (next == 44) {
			if ((flow_rd16(p + off + 2) & 0xfff8) != 0) {
				rec->proto = p[off];
				return 0;
			}
			hlen = 8;
		} else if (next == 51) {
			hlen = ((size_t)p[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)p[off + 1] + 1) * 8;
		}
		next = p[off];
		if (hlen > n - off) {
			rec->proto = next;
			return 0;
		}
		off += hlen;
	}
	rec->proto = next;
	sflow_l4(rec, p + off, n - off);
	return 0;
}

/* A raw packet header record (format 1). 0, 1 when not IP, or -FLOW_E_x. */
static int
sflow_raw_header(struct flow_record *rec, struct sflow_rd *r)
{
	uint32_t proto, frame_len, stripped, hlen;
	struct sflow_rd h;
	size_t off = 12;
	uint16_t type;

	if (!sflow_u32(r, &proto) || !sflow_u32(r, &frame_len) || !sflow_u32(r, &stripped) ||
	    !sflow_u32(r, &hlen) || !sflow_take(r, hlen, &h))
		return -FLOW_E_SFLOW_SAMPLE;
	rec->bytes = frame_len;
	switch (proto) {
	case 11:
		return sflow_ipv4(rec, h.p, h.n);
	case 12:
		return sflow_ipv6(rec, h.p, h.n);
	case 1:
		break;
	default:
		return 1;
	}
	if (h.n < 14)
		return -FLOW_E_SFLOW_HEADER;
	type = flow_rd16(h.p + off);
	/* 802.1Q, 802.1ad and the older QinQ type: each tag 4 bytes before the next type */
	for (unsigned i = 0; i < SFLOW_MAX_VLAN_TAGS &&
	    (type == 0x8100 || type == 0x88a8 || type == 0x9100); i++) {
		off += 4;
		if (h.n < off + 2)
			return -FLOW_E_SFLOW_HEADER;
		type = flow_rd16(h.p + off);
	}
	off += 2;
	if (type == 0x0800)
		return sflow_ipv4(rec, h.p + off, h.n - off);
	if (type == 0x86dd)
		return sflow_ipv6(rec, h.p + off, h.n - off);
	return 1;
}

/* A sampled IPv4 (format 3) or IPv6 (format 4) record: addresses and ports already parsed. */
static int
sflow_sampled_ip(struct flow_record *rec, struct sflow_rd *r, bool v6)
{
	size_t alen = v6 ? 16 : 4;
	uint32_t len, proto;

	if (r->n < 8 + 2 * alen + 12)
		return -FLOW_E_SFLOW_SAMPLE;
	len = flow_rd32(r->p);
	proto = flow_rd32(r->p + 4);
	rec->src.family = rec->dst.family = v6 ? AF_INET6 : AF_INET;
	memcpy(rec->src.bytes, r->p + 8, alen);
	memcpy(rec->dst.bytes, r->p + 8 + alen, alen);
	rec->bytes = len;
	rec->proto = (uint8_t)proto;
	rec->src_port = (uint16_t)flow_rd32(r->p + 8 + 2 * alen);
	rec->dst_port = (uint16_t)flow_rd32(r->p + 12 + 2 * alen);
	rec->tcp_flags = (uint8_t)flow_rd32(r->p + 16 + 2 * alen);
	return 0;
}

/* One flow sample (expanded when ex): its records, one flow record out when one is IP. */
static int
sflow_flow_sample(struct flow_exporter *e, struct flow_domain *d, uint32_t sub_agent,
    struct sflow_rd *s, bool ex, usec_t now,
    void (*on_record)(void *arg, const struct flow_record *r), void *arg)
{
	uint32_t v, rate, in_fmt = 0, in_if, out_fmt = 0, out_if, nrec;
	struct flow_record rec;
	bool found = false;

	/* sequence, source id (1 or 2 words), rate, pool, drops, input, output (2 words each if expanded) */
	if (!sflow_u32(s, &v) || !sflow_u32(s, &v) || (ex && !sflow_u32(s, &v)) ||
	    !sflow_u32(s, &rate) || !sflow_u32(s, &v) || !sflow_u32(s, &v) ||
	    (ex && !sflow_u32(s, &in_fmt)) || !sflow_u32(s, &in_if) ||
	    (ex && !sflow_u32(s, &out_fmt)) || !sflow_u32(s, &out_if) || !sflow_u32(s, &nrec))
		return -FLOW_E_SFLOW_SAMPLE;
	if (!ex) {
		in_fmt = in_if >> 30;
		out_fmt = out_if >> 30;
		in_if &= 0x3fffffff;
		out_if &= 0x3fffffff;
	}
	/* Only format 0 is an ifIndex (1: dropped, 2: several); 0x3fffffff is "internal". */
	if (in_fmt != 0 || in_if == 0x3fffffff)
		in_if = 0;
	if (out_fmt != 0 || out_if == 0x3fffffff)
		out_if = 0;
	/* Each record is at least its 8-byte format and length. */
	if (nrec > s->n / 8)
		return -FLOW_E_SFLOW_SAMPLE;
	memset(&rec, 0, sizeof(rec));
	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t fmt, len;
		struct sflow_rd body;
		int rc = 1;

		if (!sflow_u32(s, &fmt) || !sflow_u32(s, &len) || !sflow_take(s, len, &body))
			return -FLOW_E_SFLOW_SAMPLE;
		if (found)
			continue;
		if (fmt == 1)
			rc = sflow_raw_header(&rec, &body);
		else if (fmt == 3 || fmt == 4)
			rc = sflow_sampled_ip(&rec, &body, fmt == 4);
		if (rc < 0)
			return rc;
		if (rc == 0)
			found = true;
		else
			memset(&rec, 0, sizeof(rec));
	}
	if (!found)
		return 0;
	rec.exporter = e->st.exporter;
	rec.format = FLOW_FORMAT_SFLOW5;
	rec.domain = sub_agent;
	rec.packets = 1;
	rec.first = rec.last = now;
	rec.in_if = in_if;
	rec.out_if = out_if;
	flow_emit(e, &rec, rate != 0 ? rate : flow_rate(e, d), on_record, arg);
	return 0;
}

int
flow_sflow_decode(struct flow_decoder *dec, struct flow_exporter *e, const uint8_t *buf,
    size_t len, usec_t now, void (*on_record)(void *arg, const struct flow_record *r), void *arg)
{
	struct sflow_rd r = { buf, len };
	uint32_t v, atype, sub_agent, seq, nsamples;
	struct flow_domain *d;

	if (!sflow_u32(&r, &v) || !sflow_u32(&r, &atype))
		return -FLOW_E_TRUNCATED_HEADER;
	if (atype != 1 && atype != 2)
		return -FLOW_E_BAD_VERSION;
	if (r.n < (atype == 1 ? 4u : 16u) + 16)
		return -FLOW_E_TRUNCATED_HEADER;
	r.p += atype == 1 ? 4 : 16;
	r.n -= atype == 1 ? 4 : 16;
	sflow_u32(&r, &sub_agent);
	sflow_u32(&r, &seq);
	sflow_u32(&r, &v);              /* uptime: sFlow times are the arrival time */
	sflow_u32(&r, &nsamples);
	if ((d = flow_domain_get(dec, e, sub_agent)) != NULL)
		flow_seq(e, d, FLOW_FORMAT_SFLOW5, seq, 1, SFLOW_SEQ_WINDOW);
	/* Each sample is at least its 8-byte format and length. */
	if (nsamples > r.n / 8)
		return -FLOW_E_BAD_LENGTH;
	for (uint32_t i = 0; i < nsamples; i++) {
		uint32_t fmt, slen;
		struct sflow_rd s;
		int rc = 0;

		if (!sflow_u32(&r, &fmt) || !sflow_u32(&r, &slen) || !sflow_take(&r, slen, &s))
			return -FLOW_E_SFLOW_SAMPLE;
		/* enterprise 0: 1 flow sample, 3 expanded flow sample; counters and the rest skipped */
		if (fmt == 1 || fmt == 3)
			rc = sflow_flow_sample(e, d, sub_agent, &s, fmt == 3, now, on_record, arg);
		if (rc < 0)
			return rc;
	}
	return 0;
}
