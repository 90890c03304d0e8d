/*
 * flow_state.c — the flow decoder's templates and announced sampling rates as bytes, so
 * a restarted daemon decodes v9/IPFIX data at once instead of dropping it until every
 * exporter has sent its templates again (minutes, for some routers).
 *
 * Format, version 1, big-endian:
 *   "LZFT" u16 version u16 0 u32 exporters
 *   per exporter: u8 family u8[16] address u16 domains u16 templates
 *     per domain:   u32 id u32 sampling
 *     per template: u32 domain u16 id u8 flags (1 options, 2 ipfix) u16 scope u16 fields
 *       per field:  u16 id u16 length u32 enterprise
 *   u64 SipHash-2-4 (key of zeros) of everything before it
 * The hash catches damage, not forgery: the store is ours, not an outsider's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "sense/flow_int.h"

#define FLOW_STATE_VERSION 1

struct flow_wbuf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

static void
flow_put(struct flow_wbuf *w, const void *data, size_t n)
{
	if (w->failed)
		return;
	if (w->cap - w->len < n) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *p;

		while (cap - w->len < n)
			cap *= 2;
		if ((p = realloc(w->p, cap)) == NULL) {
			w->failed = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void
flow_put8(struct flow_wbuf *w, uint8_t v)
{
	flow_put(w, &v, 1);
}

static void
flow_put16(struct flow_wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	flow_put(w, b, 2);
}

static void
flow_put32(struct flow_wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	flow_put(w, b, 4);
}

static uint64_t
flow_state_hash(const uint8_t *p, size_t n)
{
	static const uint8_t key[16];

	return hash_siphash(2, 4, key, p, n);
}

int
flow_decoder_save(const struct flow_decoder *dec, uint8_t **out, size_t *len)
{
	struct flow_wbuf w = { NULL, 0, 0, false };
	uint64_t h;

	flow_put(&w, "LZFT", 4);
	flow_put16(&w, FLOW_STATE_VERSION);
	flow_put16(&w, 0);
	flow_put32(&w, dec->nexp);
	for (unsigned i = 0; i < dec->nexp; i++) {
		const struct flow_exporter *e = dec->exp[i];

		flow_put8(&w, (uint8_t)(e->st.exporter.family == AF_INET6 ? 6 : 4));
		flow_put(&w, e->st.exporter.bytes, 16);
		flow_put16(&w, (uint16_t)e->ndom);
		flow_put16(&w, (uint16_t)e->ntpl);
		for (unsigned j = 0; j < e->ndom; j++) {
			flow_put32(&w, e->dom[j].id);
			flow_put32(&w, e->dom[j].sampling);
		}
		for (unsigned j = 0; j < e->ntpl; j++) {
			const struct flow_template *t = &e->tpl[j];

			flow_put32(&w, t->domain);
			flow_put16(&w, t->id);
			flow_put8(&w, (uint8_t)((t->options ? 1 : 0) | (t->ipfix ? 2 : 0)));
			flow_put16(&w, t->scope);
			flow_put16(&w, t->nfields);
			for (unsigned k = 0; k < t->nfields; k++) {
				flow_put16(&w, t->fields[k].id);
				flow_put16(&w, t->fields[k].len);
				flow_put32(&w, t->fields[k].pen);
			}
		}
	}
	if (w.failed)
		goto fail;
	h = flow_state_hash(w.p, w.len);
	flow_put32(&w, (uint32_t)(h >> 32));
	flow_put32(&w, (uint32_t)h);
	if (w.failed)
		goto fail;
	*out = w.p;
	*len = w.len;
	return 0;
fail:
	free(w.p);
	return -ENOMEM;
}

struct flow_rbuf {
	const uint8_t *p;
	size_t n;
};

static bool
flow_get(struct flow_rbuf *r, size_t n, const uint8_t **p)
{
	if (r->n < n)
		return false;
	*p = r->p;
	r->p += n;
	r->n -= n;
	return true;
}

/*
 * Reads the state in r into dec (a fresh decoder when checking, the real one when
 * applying). -EINVAL on anything out of shape, -ENOMEM.
 */
static int
flow_state_read(struct flow_decoder *dec, struct flow_rbuf r)
{
	struct flow_field *fields = dec->scratch;
	const uint8_t *p;
	uint32_t nexp;

	if (!flow_get(&r, 12, &p) || memcmp(p, "LZFT", 4) != 0 ||
	    flow_rd16(p + 4) != FLOW_STATE_VERSION || flow_rd16(p + 6) != 0)
		return -EINVAL;
	nexp = flow_rd32(p + 8);
	for (uint32_t i = 0; i < nexp; i++) {
		struct flow_exporter *e;
		struct addr a;
		uint16_t ndom, ntpl;

		if (!flow_get(&r, 21, &p) || (p[0] != 4 && p[0] != 6))
			return -EINVAL;
		memset(&a, 0, sizeof(a));
		a.family = p[0] == 4 ? AF_INET : AF_INET6;
		memcpy(a.bytes, p + 1, p[0] == 4 ? 4 : 16);
		ndom = flow_rd16(p + 17);
		ntpl = flow_rd16(p + 19);
		/* Past the caps: read and left out, as if never learnt. */
		e = flow_exporter_get(dec, &a, true);
		for (unsigned j = 0; j < ndom; j++) {
			struct flow_domain *d;

			if (!flow_get(&r, 8, &p))
				return -EINVAL;
			if (e != NULL && (d = flow_domain_get(dec, e, flow_rd32(p))) != NULL)
				d->sampling = flow_rd32(p + 4);
		}
		for (unsigned j = 0; j < ntpl; j++) {
			uint32_t domain;
			uint16_t id, scope, n;
			uint8_t flags;
			int prc;

			if (!flow_get(&r, 11, &p))
				return -EINVAL;
			domain = flow_rd32(p);
			id = flow_rd16(p + 4);
			flags = p[6];
			scope = flow_rd16(p + 7);
			n = flow_rd16(p + 9);
			if (flags > 3 || id < 256 || n == 0 || scope > n)
				return -EINVAL;
			for (unsigned k = 0; k < n; k++) {
				/* v9 field types use all 16 bits; IPFIX's top bit was the enterprise flag */
				if (!flow_get(&r, 8, &p) || ((flags & 2) && (flow_rd16(p) & 0x8000)) ||
				    (!(flags & 2) && flow_rd32(p + 4) != 0))
					return -EINVAL;
				/* past this decoder's max_template_fields: read, left out below */
				if (k < dec->lim.max_template_fields) {
					fields[k].id = flow_rd16(p);
					fields[k].len = flow_rd16(p + 2);
					fields[k].pen = flow_rd32(p + 4);
				}
			}
			if (e == NULL || n > dec->lim.max_template_fields)
				continue;
			prc = flow_template_put(dec, e, domain, id, flags & 1, flags & 2, scope, fields, n);
			if (prc == -FLOW_E_NOMEM)
				return -ENOMEM;
			if (prc == -FLOW_E_BAD_TEMPLATE)
				return -EINVAL;
			/* refused at this decoder's max_templates: left out */
		}
	}
	return r.n == 0 ? 0 : -EINVAL;
}

int
flow_decoder_restore(struct flow_decoder *dec, const uint8_t *buf, size_t len)
{
	struct flow_decoder *check;
	struct flow_rbuf r;
	uint64_t h;
	int rc;

	if (len < 12 + 8)
		return -EINVAL;
	h = (uint64_t)flow_rd32(buf + len - 8) << 32 | flow_rd32(buf + len - 4);
	if (h != flow_state_hash(buf, len - 8))
		return -EINVAL;
	r.p = buf;
	r.n = len - 8;
	/* All or nothing: read it once into a scratch decoder with the same caps first. */
	if ((check = flow_decoder_new(&dec->lim)) == NULL)
		return -ENOMEM;
	rc = flow_state_read(check, r);
	flow_decoder_free(check);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < dec->nexp; i++) {
		flow_exporter_clear(dec->exp[i]);
		for (unsigned j = 0; j < dec->exp[i]->ndom; j++)
			dec->exp[i]->dom[j].sampling = 0;
	}
	return flow_state_read(dec, r);
}
