/*
 * nfdump_csv.c — see nfdump_csv.h.
 */
#include "sense/nfdump_csv.h"

#include <string.h>
#include <sys/socket.h>

#include "common/csv.h"
#include "common/strview.h"
#include "common/timeutil.h"

#define NFDUMP_MAX_FIELDS 128

static const char *const col_names[NFC_COUNT] = {
	[NFC_TS] = "ts", [NFC_TE] = "te", [NFC_SA] = "sa", [NFC_DA] = "da", [NFC_SP] = "sp", [NFC_DP] = "dp",
	[NFC_PR] = "pr", [NFC_FLG] = "flg", [NFC_IPKT] = "ipkt", [NFC_IBYT] = "ibyt", [NFC_RA] = "ra",
	[NFC_IN] = "in", [NFC_OUT] = "out",
};

/* The columns a record cannot do without. */
static const enum nfdump_col required[] = { NFC_TS, NFC_TE, NFC_SA, NFC_DA, NFC_SP, NFC_DP, NFC_PR, NFC_FLG,
	NFC_IPKT, NFC_IBYT };

/* nfdump's names for the protocols it names (others it prints as numbers). */
static const struct { const char *name; uint8_t proto; } protocols[] = {
	{ "ICMP", 1 }, { "IGMP", 2 }, { "IPIP", 4 }, { "TCP", 6 }, { "EGP", 8 }, { "UDP", 17 }, { "IPv6", 41 },
	{ "RSVP", 46 }, { "GRE", 47 }, { "ESP", 50 }, { "AH", 51 }, { "ICMP6", 58 }, { "EIGRP", 88 },
	{ "OSPF", 89 }, { "PIM", 103 }, { "VRRP", 112 }, { "L2TP", 115 }, { "SCTP", 132 },
};

void
nfdump_csv_init(struct nfdump_csv *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < NFC_COUNT; i++)
		c->col[i] = -1;
}

const char *
nfdump_csv_error_name(int rc)
{
	static const char *const names[NFDUMP_CSV_ERROR_COUNT] = {
		[NFDUMP_E_NO_HEADER] = "no_header", [NFDUMP_E_HEADER] = "header", [NFDUMP_E_COLUMNS] = "columns",
		[NFDUMP_E_TIME] = "time", [NFDUMP_E_ADDRESS] = "address", [NFDUMP_E_NUMBER] = "number",
		[NFDUMP_E_PROTOCOL] = "protocol", [NFDUMP_E_FLAGS] = "flags", [NFDUMP_E_TOO_LONG] = "too_long",
	};
	int e = -rc;
	return e > 0 && e < NFDUMP_CSV_ERROR_COUNT && names[e] != NULL ? names[e] : "unknown";
}

/* digits at s[0..n), no sign */
static bool
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* "2026-12-04 19:26:42" or with ".123" (milliseconds), local time. */
static bool
timestamp(struct strview v, usec_t *out)
{
	int y, mo, d, h, mi, s, ms = 0;
	const char *p = v.ptr;

	if (v.len != 19 && v.len != 23)
		return false;
	if (p[4] != '-' || p[7] != '-' || p[10] != ' ' || p[13] != ':' || p[16] != ':' ||
	    !digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d) || !digits(p + 11, 2, &h) ||
	    !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &s))
		return false;
	if (v.len == 23 && (p[19] != '.' || !digits(p + 20, 3, &ms)))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return false;
	*out = time_local_hour(y, mo, d, h) + ((usec_t)mi * 60 + s) * USEC_PER_SEC + (usec_t)ms * 1000;
	return true;
}

static bool
protocol(struct strview v, uint8_t *out)
{
	uint64_t n;

	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (strview_eq(v, protocols[i].name)) {
			*out = protocols[i].proto;
			return true;
		}
	if (!csv_number(v, 255, &n))
		return false;
	*out = (uint8_t)n;
	return true;
}

/* "...AP.SF": C E U A P R S F, each a letter when set and '.' when not. */
static bool
tcp_flags(struct strview v, uint8_t *out)
{
	static const char letters[] = "CEUAPRSF";
	uint8_t f = 0;

	if (v.len != 8)
		return false;
	for (int i = 0; i < 8; i++) {
		if (v.ptr[i] == letters[i])
			f |= (uint8_t)(0x80 >> i);
		else if (v.ptr[i] != '.')
			return false;
	}
	*out = f;
	return true;
}

static int
header(struct nfdump_csv *c, const struct strview *f, int n)
{
	nfdump_csv_init(c);
	csv_columns(f, n, col_names, NFC_COUNT, c->col);
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		if (c->col[required[r]] < 0)
			return -NFDUMP_E_HEADER;
	c->ncols = n;
	c->header = true;
	return 0;
}

int
nfdump_csv_line(struct nfdump_csv *c, const char *line, size_t len, struct flow_record *out)
{
	struct strview f[NFDUMP_MAX_FIELDS];
	uint64_t v;
	int n;

	if (len > NFDUMP_CSV_LINE_MAX)
		return -NFDUMP_E_TOO_LONG;
	if (c->ended)
		return 0;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	if (len == 7 && memcmp(line, "Summary", 7) == 0) {      /* the totals that follow are no flows */
		c->ended = true;
		return 0;
	}
	n = csv_split(line, len, f, NFDUMP_MAX_FIELDS);
	if (len >= 3 && memcmp(line, "ts,", 3) == 0)
		return header(c, f, n);
	if (!c->header)
		return -NFDUMP_E_NO_HEADER;
	if (n < c->ncols)
		return -NFDUMP_E_COLUMNS;

	memset(out, 0, sizeof(*out));
	if (!timestamp(f[c->col[NFC_TS]], &out->first) || !timestamp(f[c->col[NFC_TE]], &out->last))
		return -NFDUMP_E_TIME;
	struct strview sa = f[c->col[NFC_SA]], da = f[c->col[NFC_DA]];
	if (addr_parse(sa.ptr, sa.len, &out->src) != 0 || addr_parse(da.ptr, da.len, &out->dst) != 0)
		return -NFDUMP_E_ADDRESS;
	if (!protocol(f[c->col[NFC_PR]], &out->proto))
		return -NFDUMP_E_PROTOCOL;
	if (!tcp_flags(f[c->col[NFC_FLG]], &out->tcp_flags))
		return -NFDUMP_E_FLAGS;
	if (!csv_number(f[c->col[NFC_SP]], 65535, &v))
		return -NFDUMP_E_NUMBER;
	out->src_port = (uint16_t)v;
	/* ICMP: nfdump prints type and code as type * 256 + code, like NetFlow */
	if (!csv_number(f[c->col[NFC_DP]], 65535, &v))
		return -NFDUMP_E_NUMBER;
	out->dst_port = (uint16_t)v;
	if (!csv_number(f[c->col[NFC_IPKT]], UINT64_MAX, &out->packets) ||
	    !csv_number(f[c->col[NFC_IBYT]], UINT64_MAX, &out->bytes))
		return -NFDUMP_E_NUMBER;
	if (c->col[NFC_IN] >= 0 && csv_number(f[c->col[NFC_IN]], UINT32_MAX, &v))
		out->in_if = (uint32_t)v;
	if (c->col[NFC_OUT] >= 0 && csv_number(f[c->col[NFC_OUT]], UINT32_MAX, &v))
		out->out_if = (uint32_t)v;
	if (c->col[NFC_RA] >= 0) {
		struct strview ra = f[c->col[NFC_RA]];
		if (ra.len > 0 && addr_parse(ra.ptr, ra.len, &out->exporter) != 0)
			return -NFDUMP_E_ADDRESS;
	}
	out->sampling = 1;                 /* nfdump's counts are as it stored them */
	return 1;
}
