/*
 * report_csv.c — see report_csv.h.
 */
#include "sense/report_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/csv.h"
#include "common/strview.h"

/* How a report type's rows become events. */
struct report_csv_type {
	const char *name;             /* as in Shadowserver's file names; a trailing '*': a prefix */
	enum report_kind kind;
	bool type_is_family;          /* the old sinkhole reports: "type" holds the bot's name */
	bool ignored;                 /* about victims: never evidence */
};

static const struct report_csv_type types[] = {
	{ "botnet_drone", REPORT_INFECTION, false, false },
	{ "event4_drone", REPORT_INFECTION, false, false },
	{ "event4_sinkhole", REPORT_INFECTION, false, false },
	{ "event4_sinkhole_http", REPORT_INFECTION, false, false },
	{ "event4_sinkhole_http_referer", REPORT_INFECTION, false, false },
	{ "event4_sinkhole_dns", REPORT_INFECTION, false, false },
	{ "event4_microsoft_sinkhole", REPORT_INFECTION, false, false },
	{ "event4_microsoft_sinkhole_http", REPORT_INFECTION, false, false },
	{ "sinkhole_http_drone", REPORT_INFECTION, true, false },
	{ "microsoft_sinkhole", REPORT_INFECTION, true, false },
	{ "event4_honeypot_brute_force", REPORT_SCAN, false, false },
	{ "drone_brute_force", REPORT_SCAN, false, false },
	{ "event4_honeypot_http_scan", REPORT_SCAN, false, false },
	{ "event4_honeypot_darknet", REPORT_SCAN, false, false },
	{ "darknet", REPORT_SCAN, false, false },
	{ "event4_ip_spoofer", REPORT_SCAN, false, false },
	{ "event4_ddos_participant", REPORT_SCAN, false, false },
	{ "event4_honeypot_ddos_amp", REPORT_OTHER, false, true },
	{ "event4_honeypot_ddos_target", REPORT_OTHER, false, true },
	{ "blocklist", REPORT_OTHER, false, false },
	{ "compromised_website", REPORT_OTHER, false, false },
	{ "scan_*", REPORT_OTHER, false, false },
};
#define TYPE_COUNT (sizeof(types) / sizeof(types[0]))

/*
 * The names each column goes by, in order of preference. The address: the event4_
 * reports' src_ip, the older ones' ip; the port the same (sinkhole_http_drone has ip with
 * src_port). In the scan_ reports "port" is the open service's port on the address: a
 * CGNAT's port-forward lies in its subscriber's block too.
 */
static const char *const *const col_names[RCC_COUNT] = {
	[RCC_TIME] = (const char *const[]){ "timestamp", NULL },
	[RCC_ADDR] = (const char *const[]){ "src_ip", "ip", NULL },
	[RCC_PORT] = (const char *const[]){ "src_port", "port", NULL },
	[RCC_FAMILY] = (const char *const[]){ "family", NULL },
	[RCC_INFECTION] = (const char *const[]){ "infection", NULL },
	[RCC_MALWARE] = (const char *const[]){ "malware", NULL },
	[RCC_TYPE] = (const char *const[]){ "type", NULL },
	[RCC_PROTOCOL] = (const char *const[]){ "protocol", NULL },
	[RCC_DST] = (const char *const[]){ "dst_ip", "cc_ip", "sinkhole", "cc", NULL },
	[RCC_DST_PORT] = (const char *const[]){ "dst_port", "cc_port", NULL },
	[RCC_HOST] = (const char *const[]){ "http_host", "cc_dns", "query", "host", NULL },
	[RCC_TAG] = (const char *const[]){ "tag", NULL },
};

const char *
report_csv_error_name(int rc)
{
	static const char *const names[REPORT_CSV_ERROR_COUNT] = {
		[REPORT_CSV_E_NO_HEADER] = "no_header", [REPORT_CSV_E_HEADER] = "header",
		[REPORT_CSV_E_MANY_COLUMNS] = "many_columns", [REPORT_CSV_E_FIELDS] = "fields",
		[REPORT_CSV_E_QUOTE] = "quote", [REPORT_CSV_E_ADDRESS] = "address", [REPORT_CSV_E_TIME] = "time",
		[REPORT_CSV_E_PORT] = "port", [REPORT_CSV_E_TOO_LONG] = "too_long",
		[REPORT_CSV_E_UNKNOWN_TYPE] = "unknown_type", [REPORT_CSV_E_IGNORED_TYPE] = "ignored_type",
	};
	int e = -rc;
	return e > 0 && e < REPORT_CSV_ERROR_COUNT && names[e] != NULL ? names[e] : "unknown";
}

/* The type of a name: event6_ and scan6_ as their IPv4 twins. */
static const struct report_csv_type *
type_lookup(const char *name, size_t len)
{
	char buf[REPORT_TYPE_MAX];

	if (len >= sizeof(buf))
		return NULL;
	if (len > 7 && memcmp(name, "event6_", 7) == 0) {
		memcpy(buf, name, len);
		buf[5] = '4';
		name = buf;
	} else if (len > 6 && memcmp(name, "scan6_", 6) == 0) {
		memcpy(buf, "scan_", 5);
		memcpy(buf + 5, name + 6, len - 6);
		name = buf;
		len--;
	}
	for (size_t i = 0; i < TYPE_COUNT; i++) {
		size_t n = strlen(types[i].name);
		if (types[i].name[n - 1] == '*' ? len > n - 1 && memcmp(name, types[i].name, n - 1) == 0
		                                : len == n && memcmp(name, types[i].name, n) == 0)
			return &types[i];
	}
	return NULL;
}

/*
 * The report type in a file name: Shadowserver names them DATE-TYPE-REST.csv
 * ("2024-11-20-event4_sinkhole_http-as64496-isp.csv"); a type's own name has no '-'.
 * A bare type name is taken as it is.
 */
static void
hint_type(const char *hint, char *out, size_t size)
{
	const char *slash = strrchr(hint, '/'), *p = slash != NULL ? slash + 1 : hint;
	size_t n;

	if (strlen(p) > 11 && p[4] == '-' && p[7] == '-' && p[10] == '-')
		p += 11;
	n = strcspn(p, "-.");
	report_text_lower(out, size, p, n);
}

void
report_csv_reader_init(struct report_csv_reader *r, const char *hint)
{
	r->header = false;
	r->seen = false;
	r->need = 0;
	r->type = NULL;
	r->type_rc = 0;
	r->type_name[0] = '\0';
	r->hint[0] = '\0';
	for (int i = 0; i < RCC_COUNT; i++)
		r->col[i] = -1;
	if (hint != NULL)
		hint_type(hint, r->hint, sizeof(r->hint));
}

static bool
has(const struct strview *f, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strview_eq(f[i], name))
			return true;
	return false;
}

/*
 * Without a file name: the type from the columns only a report of that type has, as
 * Shadowserver's documented column lists name them. Anything else stays unknown.
 */
static const char *
guess_type(const struct strview *f, int n)
{
	if (has(f, n, "cc_ip") && has(f, n, "infection"))
		return "botnet_drone";
	if (has(f, n, "ip") && has(f, n, "http_agent") && has(f, n, "type") && has(f, n, "dst_ip"))
		return "sinkhole_http_drone";
	if (!has(f, n, "src_ip") || !has(f, n, "infection"))
		return NULL;
	if (has(f, n, "http_url"))
		return "event4_sinkhole_http";
	if (has(f, n, "query") && has(f, n, "query_type"))
		return "event4_sinkhole_dns";
	if (has(f, n, "username") && has(f, n, "password"))
		return "event4_honeypot_brute_force";
	if (has(f, n, "routedspoof"))
		return "event4_ip_spoofer";
	if (has(f, n, "request") && has(f, n, "bytes"))
		return "event4_honeypot_ddos_amp";
	return NULL;
}

static int
header(struct report_csv_reader *r, const struct strview *f, int n)
{
	for (int c = 0; c < RCC_COUNT; c++)
		for (const char *const *alias = col_names[c]; *alias != NULL && r->col[c] < 0; alias++)
			for (int i = 0; i < n; i++)
				if (strview_eq(f[i], *alias)) {
					r->col[c] = i;
					break;
				}
	if (r->col[RCC_TIME] < 0 || r->col[RCC_ADDR] < 0)
		return -REPORT_CSV_E_HEADER;
	for (int c = 0; c < RCC_COUNT; c++)
		if (r->col[c] + 1 > r->need)
			r->need = r->col[c] + 1;
	r->header = true;
	return 0;
}

static int
two(const char *s)
{
	return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

/*
 * Shadowserver's times: "2024-11-20 03:12:45" (UTC), and in event4_ columns the ISO form
 * "2024-11-20T03:12:45Z", with a fraction ("...:45.521730Z") or an offset ("+00:00",
 * "+0000"). 0 or -1.
 */
static int
parse_time(struct strview v, usec_t *out)
{
	const char *s = v.ptr;
	size_t len = v.len, i = 19;
	int y, mo, d, h, mi, sec, off = 0;
	usec_t frac = 0;
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
		return -1;
	if (two(s) < 0 || two(s + 2) < 0)
		return -1;
	y = two(s) * 100 + two(s + 2);
	mo = two(s + 5), d = two(s + 8), h = two(s + 11), mi = two(s + 14), sec = two(s + 17);
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 59)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	if (i < len && s[i] == '.') {
		usec_t scale = 100000;
		if (++i == len || s[i] < '0' || s[i] > '9')
			return -1;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
			frac += scale * (s[i] - '0');
	}
	if (i < len && s[i] == 'Z')
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int oh, om, sign = s[i] == '-' ? -1 : 1;
		if (len - i == 6 && s[i + 3] == ':')
			oh = two(s + i + 1), om = two(s + i + 4);
		else if (len - i == 5)
			oh = two(s + i + 1), om = two(s + i + 3);
		else
			return -1;
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
		i = len;
	}
	if (i != len)
		return -1;
	*out = ((usec_t)time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off) * USEC_PER_SEC + frac;
	return 0;
}

static struct strview
field(const struct report_csv_reader *r, const struct strview *f, enum report_csv_col c)
{
	return r->col[c] >= 0 ? f[r->col[c]] : (struct strview){ .ptr = "", .len = 0 };
}

/* Appends "label value[:value2]" to the detail being built, ", " between, an IPv6
 * address with a port in brackets; cut at its end (d is copied cleaned afterwards). */
static void
detail_add(char *d, size_t *n, size_t size, const char *label, struct strview v, struct strview v2)
{
	bool brackets = v2.len > 0 && memchr(v.ptr, ':', v.len) != NULL;
	struct strview parts[6] = {
		{ *n > 0 ? ", " : "", *n > 0 ? 2 : 0 }, { label, strlen(label) }, { " ", label[0] != '\0' },
		{ "[", brackets }, v, { "]", brackets },
	};

	if (v.len == 0)
		return;
	for (size_t i = 0; i < 6; i++)
		for (size_t k = 0; k < parts[i].len && *n + 1 < size; k++)
			d[(*n)++] = parts[i].ptr[k];
	if (v2.len > 0 && *n + 1 < size) {
		d[(*n)++] = ':';
		for (size_t k = 0; k < v2.len && *n + 1 < size; k++)
			d[(*n)++] = v2.ptr[k];
	}
}

/* Which type a header's file is; r->type_rc says when it is none we read. */
static void
settle_type(struct report_csv_reader *r, const struct strview *f, int n)
{
	const char *name = r->hint[0] != '\0' ? r->hint : guess_type(f, n);

	r->type = NULL;
	r->type_rc = -REPORT_CSV_E_UNKNOWN_TYPE;
	if (name == NULL) {
		memcpy(r->type_name, "unknown", sizeof("unknown"));
		return;
	}
	report_text_lower(r->type_name, sizeof(r->type_name), name, strlen(name));
	const struct report_csv_type *t = type_lookup(r->type_name, strlen(r->type_name));
	if (t == NULL)
		return;
	if (t->ignored) {
		r->type_rc = -REPORT_CSV_E_IGNORED_TYPE;
		return;
	}
	r->type = t;
	r->type_rc = 0;
}

int
report_csv_line(struct report_csv_reader *r, const char *line, size_t len, struct report_event *out)
{
	struct strview f[REPORT_CSV_COLUMNS_MAX];
	uint64_t v;
	int n;

	if (len > REPORT_CSV_LINE_MAX)
		return -REPORT_CSV_E_TOO_LONG;
	if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3, len -= 3;       /* a byte order mark before the header */
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 0;
	bool first = !r->seen;
	r->seen = true;
	if (first || (len >= 9 && memcmp(line, "timestamp", 9) == 0) ||
	    (len >= 11 && memcmp(line, "\"timestamp\"", 11) == 0)) {
		char hint[REPORT_TYPE_MAX];
		n = csv_split_quoted(line, len, f, REPORT_CSV_COLUMNS_MAX, r->scratch, sizeof(r->scratch));
		if (n < 0)
			return -REPORT_CSV_E_QUOTE;
		memcpy(hint, r->hint, sizeof(hint));
		report_csv_reader_init(r, NULL);
		memcpy(r->hint, hint, sizeof(hint));
		r->seen = true;
		if (n > REPORT_CSV_COLUMNS_MAX)
			return -REPORT_CSV_E_MANY_COLUMNS;
		int rc = header(r, f, n);
		if (rc < 0)
			return rc;
		settle_type(r, f, n);
		return 0;
	}
	if (!r->header)
		return -REPORT_CSV_E_NO_HEADER;
	if (r->type_rc != 0)
		return r->type_rc;
	n = csv_split_quoted(line, len, f, r->need, r->scratch, sizeof(r->scratch));
	if (n < 0)
		return -REPORT_CSV_E_QUOTE;
	if (n < r->need)
		return -REPORT_CSV_E_FIELDS;

	struct strview a = field(r, f, RCC_ADDR), p = field(r, f, RCC_PORT), none = { "", 0 };
	if (addr_parse(a.ptr, a.len, &out->addr) != 0)
		return -REPORT_CSV_E_ADDRESS;
	if (parse_time(field(r, f, RCC_TIME), &out->time) != 0)
		return -REPORT_CSV_E_TIME;
	out->has_port = false;
	out->port = 0;
	if (p.len > 0) {
		if (!csv_number(p, 65535, &v))
			return -REPORT_CSV_E_PORT;
		out->has_port = true;
		out->port = (uint16_t)v;
	}
	out->kind = r->type->kind;
	out->format = "shadowserver";
	out->id[0] = '\0';
	memcpy(out->type, r->type_name, sizeof(out->type));

	/* the bot's name from the first of its columns this row fills */
	struct strview fam = none, tag = field(r, f, RCC_TAG);
	out->family[0] = '\0';
	if (out->kind == REPORT_INFECTION) {
		static const enum report_csv_col order[] = { RCC_FAMILY, RCC_INFECTION, RCC_MALWARE, RCC_TYPE, RCC_TAG };
		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && fam.len == 0; i++)
			if (order[i] != RCC_TYPE || r->type->type_is_family)
				fam = field(r, f, order[i]);
		report_text_lower(out->family, sizeof(out->family), fam.ptr, fam.len);
	}

	char d[REPORT_DETAIL_MAX];
	size_t dn = 0;
	struct strview service = none;
	if (memcmp(r->type_name, "scan", 4) == 0) {
		const char *u = strchr(r->type_name, '_');
		if (u != NULL)
			service = (struct strview){ u + 1, strlen(u + 1) };
	}
	detail_add(d, &dn, sizeof(d), "service", service, none);
	if (out->kind != REPORT_INFECTION)
		detail_add(d, &dn, sizeof(d), "", field(r, f, RCC_INFECTION), none);
	detail_add(d, &dn, sizeof(d), "", field(r, f, RCC_PROTOCOL), none);
	if (!r->type->type_is_family && r->col[RCC_PROTOCOL] < 0)
		detail_add(d, &dn, sizeof(d), "", field(r, f, RCC_TYPE), none);
	detail_add(d, &dn, sizeof(d), "to", field(r, f, RCC_DST), field(r, f, RCC_DST_PORT));
	detail_add(d, &dn, sizeof(d), "host", field(r, f, RCC_HOST), none);
	/* the tag when it says more than the family or the service */
	if (!(tag.len == fam.len && memcmp(tag.ptr, fam.ptr, tag.len) == 0) &&
	    !(tag.len == service.len && memcmp(tag.ptr, service.ptr, tag.len) == 0))
		detail_add(d, &dn, sizeof(d), "tag", tag, none);
	report_text_copy(out->detail, sizeof(out->detail), d, dn);
	return 1;
}

/*
 * The end of the record at p: the first newline outside quotes (RFC 4180 lets a quoted
 * field hold one). So that a stray quote cannot swallow the rows after it, a record
 * spans at most RECORD_LINES_MAX lines and REPORT_CSV_LINE_MAX bytes; past that, or at
 * the end of the buffer still inside quotes, it ends at its first newline (and is then
 * refused for its quote).
 */
#define RECORD_LINES_MAX 8

const char *
report_csv_record_end(const char *p, const char *end)
{
	const char *first = memchr(p, '\n', (size_t)(end - p)), *nl, *from = p;
	size_t quotes = 0;

	if (first == NULL)
		first = end;
	nl = first;
	for (int lines = 1;; lines++) {
		for (const char *q = from; (q = memchr(q, '"', (size_t)(nl - q))) != NULL; q++)
			quotes++;
		if (quotes % 2 == 0)
			return nl;
		if (nl == end || lines == RECORD_LINES_MAX || (size_t)(nl - p) > REPORT_CSV_LINE_MAX)
			return first;
		from = nl;
		const char *next = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
		nl = next != NULL ? next : end;
	}
}

int
report_csv_read(const char *buf, size_t len, const char *hint, report_emit_cb emit, void *arg,
	struct report_csv_stats *st)
{
	struct report_csv_reader *r = malloc(sizeof(*r));
	struct report_event ev;
	const char *p = buf, *end = buf + len;
	int rc = 0;

	if (r == NULL)
		return -ENOMEM;
	report_csv_reader_init(r, hint);
	while (p < end && rc == 0) {
		const char *e = report_csv_record_end(p, end);
		int lrc = report_csv_line(r, p, (size_t)(e - p), &ev);
		if (lrc != 0)
			st->rows++;
		if (lrc == 1) {
			st->events++;
			rc = emit(arg, &ev);
		} else if (lrc < 0)
			st->refused[-lrc]++;
		p = e + 1;
	}
	free(r);
	return rc;
}
