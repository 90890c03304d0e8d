/*
 * flow_template.c — the flow decoder's v9/IPFIX templates: what each field is to us,
 * compiling a template into the reads a record needs, finding, replacing and
 * withdrawing them under the per-exporter cap.
 *
 * A fixed-length template becomes a list of (offset, width, kind) for the fields we use,
 * so a record costs only those reads; one with a variable-length field keeps its whole
 * field list and is walked. At max_templates a new template is refused and counted,
 * never swapped for an old one: the exporter's real templates stay.
 */
#include <stdlib.h>
#include <string.h>

#include "sense/flow_int.h"

void
flow_exporter_clear(struct flow_exporter *e)
{
	for (unsigned i = 0; i < e->ntpl; i++)
		free(e->tpl[i].fields);
	e->ntpl = 0;
	e->last_tpl = 0;
	e->st.templates = 0;
}

/* What IANA element id (or v9 field type: the same below 128) is to us. */
static uint8_t
flow_field_kind(uint16_t id)
{
	switch (id) {
	case 1: return FLOW_K_BYTES;
	case 2: return FLOW_K_PKTS;
	case 4: return FLOW_K_PROTO;
	case 6: return FLOW_K_TCP_FLAGS;
	case 7: return FLOW_K_SRC_PORT;
	case 8: return FLOW_K_SRC4;
	case 10: return FLOW_K_IN_IF;
	case 11: return FLOW_K_DST_PORT;
	case 12: return FLOW_K_DST4;
	case 14: return FLOW_K_OUT_IF;
	case 21: return FLOW_K_LAST_UP;
	case 22: return FLOW_K_FIRST_UP;
	case 27: return FLOW_K_SRC6;
	case 28: return FLOW_K_DST6;
	case 32: case 139: return FLOW_K_ICMP;
	case 34: case 50: return FLOW_K_SAMPLING;
	case 85: return FLOW_K_BYTES_TOTAL;
	case 86: return FLOW_K_PKTS_TOTAL;
	case 150: return FLOW_K_FIRST_S;
	case 151: return FLOW_K_LAST_S;
	case 152: return FLOW_K_FIRST_MS;
	case 153: return FLOW_K_LAST_MS;
	case 160: return FLOW_K_SYSINIT_MS;
	case 304: return FLOW_K_SAMP_ALGO;
	case 305: return FLOW_K_SAMP_INTERVAL;
	case 306: return FLOW_K_SAMP_SPACE;
	case 309: return FLOW_K_SAMP_SIZE;
	case 310: return FLOW_K_SAMP_POP;
	default: return FLOW_K_SKIP;
	}
}

struct flow_template *
flow_template_find(struct flow_exporter *e, uint32_t domain, uint16_t id)
{
	struct flow_template *t;

	if (e->last_tpl < e->ntpl) {
		t = &e->tpl[e->last_tpl];
		if (t->id == id && t->domain == domain)
			return t;
	}
	for (unsigned i = 0; i < e->ntpl; i++) {
		t = &e->tpl[i];
		if (t->id == id && t->domain == domain) {
			e->last_tpl = i;
			return t;
		}
	}
	return NULL;
}

static void
flow_template_remove(struct flow_exporter *e, unsigned i)
{
	free(e->tpl[i].fields);
	e->tpl[i] = e->tpl[--e->ntpl];
	e->last_tpl = 0;
	e->st.templates = e->ntpl;
}

void
flow_template_withdraw(struct flow_exporter *e, uint32_t domain, uint16_t id, bool ipfix)
{
	for (unsigned i = e->ntpl; i-- > 0;) {
		struct flow_template *t = &e->tpl[i];

		if (t->domain != domain)
			continue;
		if (ipfix && (id == 2 || id == 3) ? t->options == (id == 3) : t->id == id)
			flow_template_remove(e, i);
	}
}

static bool
flow_fields_equal(const struct flow_field *a, const struct flow_field *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i].id != b[i].id || a[i].len != b[i].len || a[i].pen != b[i].pen)
			return false;
	return true;
}

int
flow_template_put(struct flow_decoder *dec, struct flow_exporter *e, uint32_t domain,
    uint16_t id, bool options, bool ipfix, uint16_t scope, const struct flow_field *fields, unsigned n)
{
	struct flow_template t, *slot;
	uint32_t off = 0;

	if (n > dec->lim.max_template_fields)
		return -FLOW_E_TEMPLATE_TOO_LONG;
	memset(&t, 0, sizeof(t));
	t.domain = domain;
	t.id = id;
	t.options = options;
	t.ipfix = ipfix;
	t.scope = scope;
	t.nfields = (uint16_t)n;
	for (unsigned i = 0; i < n; i++) {
		if (ipfix && fields[i].len == FLOW_VARLEN) {
			t.varlen = true;
			t.reclen += 1;
		} else {
			t.reclen += fields[i].len;
		}
	}
	/* A record of no bytes would be read forever (FastNetMon's CVE-2024-56073 divided by it). */
	if (t.reclen == 0)
		return -FLOW_E_BAD_TEMPLATE;
	slot = flow_template_find(e, domain, id);
	/* Exporters resend their templates every few datagrams: an unchanged one costs a compare. */
	if (slot != NULL && slot->nfields == n && slot->options == options && slot->ipfix == ipfix &&
	    slot->scope == scope && flow_fields_equal(slot->fields, fields, n))
		return 0;
	if (slot == NULL) {
		if (e->ntpl >= dec->lim.max_templates) {
			e->st.templates_refused++;
			return 1;
		}
		if (e->ntpl == e->cap_tpl) {
			unsigned cap = e->cap_tpl ? e->cap_tpl * 2 : 4;
			struct flow_template *tpl;

			if (cap > dec->lim.max_templates)
				cap = dec->lim.max_templates;
			if ((tpl = realloc(e->tpl, cap * sizeof(*tpl))) == NULL)
				return -FLOW_E_NOMEM;
			e->tpl = tpl;
			e->cap_tpl = cap;
		}
	}
	if ((t.fields = malloc((n ? n : 1) * sizeof(*t.fields))) == NULL)
		return -FLOW_E_NOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct flow_field f = fields[i];

		/* Scope fields (v9's scope types collide with element ids) and enterprise ones are skipped. */
		f.kind = i < scope || f.pen != 0 ? FLOW_K_SKIP : flow_field_kind(f.id);
		t.fields[i] = f;
		if (!t.varlen && f.kind != FLOW_K_SKIP && t.nops < FLOW_OPS_MAX && off <= UINT16_MAX) {
			t.ops[t.nops].off = (uint16_t)off;
			t.ops[t.nops].len = f.len;
			t.ops[t.nops].kind = f.kind;
			t.nops++;
		}
		off += f.len;
	}
	if (slot != NULL) {
		free(slot->fields);
	} else {
		slot = &e->tpl[e->ntpl++];
		e->st.templates = e->ntpl;
	}
	*slot = t;
	return 0;
}
