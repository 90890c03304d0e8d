/*
 * report_mail.c — ARF, X-ARF and forwarded complaints out of one mail message
 * (report_mail.h). GMime parses the MIME tree from the caller's bytes; libyaml's event
 * API reads X-ARF 0.2's YAML, jansson the JSON of v3 and v4. What is ours: which part
 * is the report, which fields mean what, and which Received header can be believed.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <jansson.h>
#include <yaml.h>

#include "common/strview.h"
#include "sense/report_mail.h"

#define HDR_VALUE_MAX 2048        /* an unfolded header value kept; longer ones are cut */
#define YAML_DEPTH_MAX 4          /* X-ARF 0.2 is one flat mapping */
#define YAML_SCALAR_MAX 8192
#define YAML_EVENTS_MAX 4096

static const char *const error_names[REPORT_MAIL_ERROR_COUNT] = {
	[REPORT_MAIL_E_TOO_BIG] = "too_big",
	[REPORT_MAIL_E_PARTS] = "too_many_parts",
	[REPORT_MAIL_E_DEPTH] = "too_deep",
	[REPORT_MAIL_E_MIME] = "mime",
	[REPORT_MAIL_E_NOT_A_REPORT] = "not_a_report",
	[REPORT_MAIL_E_SOURCE] = "source",
	[REPORT_MAIL_E_NOT_OURS] = "not_our_relay",
	[REPORT_MAIL_E_YAML] = "yaml",
	[REPORT_MAIL_E_JSON] = "json",
	[REPORT_MAIL_E_NOT_SPAM] = "not_spam",
	[REPORT_MAIL_E_DATE] = "date",
};

const char *
report_mail_error_name(int rc)
{
	if (rc < 0)
		rc = -rc;
	if (rc > 0 && rc < REPORT_MAIL_ERROR_COUNT && error_names[rc] != NULL)
		return error_names[rc];
	return "unknown";
}

/* One message's reading: what every step needs. */
struct reader {
	const struct report_mail_options *opt;
	report_emit_cb emit;
	void *arg;
	struct report_mail_stats *stats;
	unsigned max_depth, parts;
	int stop;                     /* emit's non-zero return, once given */
	int emitted;
	int reason;                   /* the last refusal met, returned when nothing was emitted */
	char msgid[REPORT_ID_MAX];    /* the report's own Message-ID */
	bool xarf;                    /* an "X-ARF: yes" or "X-XARF: PLAIN" header */
	unsigned not_spam;            /* ARF not-spam reports met */
	bool xarf_done;               /* an X-ARF message holds one report: the first one read */
	char *buf;                    /* the part being read (part_text), grown to what it needs */
	size_t cap;
};

static void
note(struct reader *r, int reason)
{
	if (r->stats != NULL)
		r->stats->reasons[reason]++;
}

static void
refuse(struct reader *r, int reason)
{
	r->reason = reason;
}

static int
emit(struct reader *r, struct report_event *ev)
{
	int rc;

	if (r->stop != 0)
		return r->stop;
	rc = r->emit(r->arg, ev);
	if (rc != 0)
		r->stop = rc;
	else
		r->emitted++;
	return rc;
}

/* ---- dates ---------------------------------------------------------------------- */

static const char *
skip_cfws(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth > 0) {
			depth--;
		} else if (*p == '\\' && depth > 0 && p + 1 < end) {
			p++;
		} else if (depth == 0 && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			break;
		}
		p++;
	}
	return p;
}

/* Up to max digits; the count read (0: none). */
static int
digits(const char **pp, const char *end, int max, int *out)
{
	const char *p = *pp;
	int n = 0, v = 0;

	while (p < end && n < max && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0'), n++;
	if (p < end && *p >= '0' && *p <= '9')
		return 0;             /* more digits than the field has */
	*pp = p;
	*out = v;
	return n;
}

static int
word(const char **pp, const char *end, char *buf, size_t size)
{
	const char *p = *pp;
	size_t n = 0;

	while (p < end && isalpha((unsigned char)*p)) {
		if (n + 1 >= size)
			return 0;
		buf[n++] = (char)tolower((unsigned char)*p++);
	}
	buf[n] = '\0';
	*pp = p;
	return (int)n;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Named zones of RFC 5322 §4.3, in minutes east; military letters are -0000 (unknown). */
static int
zone_name(const char *w, int *minutes)
{
	static const struct { const char *name; int min; } zones[] = {
		{ "ut", 0 }, { "gmt", 0 }, { "utc", 0 }, { "z", 0 },
		{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
		{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strcmp(w, zones[i].name) == 0)
			return *minutes = zones[i].min, 0;
	if (strlen(w) == 1 && w[0] != 'j')
		return *minutes = 0, 0;
	return -1;
}

int
report_mail_date(const char *text, size_t len, usec_t *out)
{
	static const char months[12][4] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
		"oct", "nov", "dec" };
	static const char wdays[7][4] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
	const char *p = text, *end = text + len;
	char w[8];
	int day, mon = 0, year, hour, min, sec = 0, zone = 0, n;
	int64_t t;

	p = skip_cfws(p, end);
	if (p < end && isalpha((unsigned char)*p)) {
		bool ok = false;
		if (word(&p, end, w, sizeof(w)) != 3)
			return -1;
		for (int i = 0; i < 7; i++)
			ok |= strcmp(w, wdays[i]) == 0;
		p = skip_cfws(p, end);
		if (!ok || p >= end || *p++ != ',')
			return -1;
		p = skip_cfws(p, end);
	}
	if (digits(&p, end, 2, &day) == 0)
		return -1;
	p = skip_cfws(p, end);
	if (word(&p, end, w, sizeof(w)) != 3)
		return -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(w, months[i]) == 0)
			mon = i + 1;
	if (mon == 0)
		return -1;
	p = skip_cfws(p, end);
	n = digits(&p, end, 4, &year);
	if (n == 2)
		year += year < 50 ? 2000 : 1900;      /* §4.3: obs-year */
	else if (n == 3)
		year += 1900;
	else if (n != 4 || year < 1900)
		return -1;
	if (day < 1 || day > month_days(year, mon))
		return -1;
	p = skip_cfws(p, end);
	if (digits(&p, end, 2, &hour) == 0 || hour > 23)
		return -1;
	p = skip_cfws(p, end);
	if (p >= end || *p++ != ':')
		return -1;
	p = skip_cfws(p, end);
	if (digits(&p, end, 2, &min) == 0 || min > 59)
		return -1;
	p = skip_cfws(p, end);
	if (p < end && *p == ':') {
		p = skip_cfws(p + 1, end);
		if (digits(&p, end, 2, &sec) == 0 || sec > 60)
			return -1;
		p = skip_cfws(p, end);
	}
	if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p++ == '-' ? -1 : 1, hhmm;
		if (digits(&p, end, 4, &hhmm) != 4 || hhmm % 100 > 59)
			return -1;
		zone = sign * (hhmm / 100 * 60 + hhmm % 100);
	} else if (p < end && isalpha((unsigned char)*p)) {
		if (word(&p, end, w, sizeof(w)) == 0 || zone_name(w, &zone) < 0)
			return -1;
	} else {
		return -1;
	}
	if (skip_cfws(p, end) != end)
		return -1;
	if (sec == 60)
		sec = 59;             /* a leap second: the second before it */
	t = time_days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - zone * 60;
	*out = t * USEC_PER_SEC;
	return 0;
}

/* ISO 8601 as X-ARF writes it: 2024-01-15T14:30:25[.fff](Z|+01:00|+0100). 0 or -1. */
static int
iso_date(const char *p, const char *end, usec_t *out)
{
	int y, mo, d, h, mi, s, zone = 0;
	int64_t t;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (digits(&p, end, 4, &y) != 4 || p >= end || *p++ != '-' || digits(&p, end, 2, &mo) != 2 ||
	    p >= end || *p++ != '-' || digits(&p, end, 2, &d) != 2 || p >= end || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, end, 2, &h) != 2 || p >= end || *p++ != ':' || digits(&p, end, 2, &mi) != 2 ||
	    p >= end || *p++ != ':' || digits(&p, end, 2, &s) != 2)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || s > 60)
		return -1;
	if (p < end && (*p == '.' || *p == ',')) {
		p++;
		if (p >= end || !isdigit((unsigned char)*p))
			return -1;
		while (p < end && isdigit((unsigned char)*p))
			p++;
	}
	if (p < end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (p < end && (*p == '+' || *p == '-')) {
		int sign = *p++ == '-' ? -1 : 1, zh, zm;
		if (digits(&p, end, 2, &zh) != 2)
			return -1;
		if (p < end && *p == ':')
			p++;
		if (digits(&p, end, 2, &zm) != 2 || zh > 23 || zm > 59)
			return -1;
		zone = sign * (zh * 60 + zm);
	} else {
		return -1;    /* no zone: whose local time? */
	}
	if (p != end)
		return -1;
	if (s == 60)
		s = 59;
	t = time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - zone * 60;
	*out = t * USEC_PER_SEC;
	return 0;
}

/* A report's date in either form; 0 (noted) when neither. */
static usec_t
any_date(struct reader *r, const char *text, size_t len)
{
	usec_t t;

	if (report_mail_date(text, len, &t) == 0 || iso_date(text, text + len, &t) == 0)
		return t;
	note(r, REPORT_MAIL_E_DATE);
	return 0;
}

/* ---- kinds ---------------------------------------------------------------------- */

static bool
in_list(const char *s, const char *const *list)
{
	char buf[REPORT_TYPE_MAX];
	size_t n;

	for (n = 0; s[n] != '\0' && n + 1 < sizeof(buf); n++)
		buf[n] = s[n] == '-' || s[n] == ' ' ? '_' : (char)tolower((unsigned char)s[n]);
	buf[n] = '\0';
	for (; *list != NULL; list++)
		if (strcmp(buf, *list) == 0)
			return true;
	return false;
}

enum report_kind
report_mail_kind(const char *category, const char *type)
{
	static const char *const spam[] = { "spam", "bulk_messaging", "messaging", NULL };
	static const char *const infection[] = { "bot", "botnet", "malware", "infected", "infected_host", "drone",
		"botnet_drone", "malware_attack", "infrastructure", NULL };
	static const char *const scan[] = { "scan", "port_scan", "portscan", "attack", "login_attack", "ddos",
		"ddos_amplification", "auth_failure", "brute_force", "bruteforce", "vulnerability_scan",
		"vuln_scanning", "reconnaissance", "connection", NULL };
	const char *const *lists[3] = { spam, infection, scan };
	static const enum report_kind kinds[3] = { REPORT_SPAM, REPORT_INFECTION, REPORT_SCAN };
	const char *which[2] = { type, category };

	for (int w = 0; w < 2; w++) {
		if (which[w] == NULL || which[w][0] == '\0')
			continue;
		for (int k = 0; k < 3; k++)
			if (in_list(which[w], lists[k]))
				return kinds[k];
		if (w == 0 && !in_list(which[w], (const char *const[]){ "other", "unknown", NULL }))
			return REPORT_OTHER;   /* a type we know no kind of decides */
	}
	return REPORT_OTHER;
}

/* ---- header fields in text (a feedback-report part, rfc822-headers, pasted headers) -- */

struct hdr_iter {
	const char *p, *end;
};

/*
 * The next field of a header block: its name and its value unfolded (CRLF and the
 * folding white space as one space, cut to size - 1 bytes). 1, or 0 at the blank line
 * or the end. Lines without a colon are skipped: a pasted header often has a stray one.
 */
static int
hdr_next(struct hdr_iter *it, struct strview *name, char *val, size_t size, size_t *vlen)
{
	const char *p = it->p, *end = it->end, *eol, *colon;
	size_t n = 0;

	for (;;) {
		if (p >= end)
			return 0;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		const char *le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (le == p) {
			it->p = end;
			return 0;
		}
		if (*p == ' ' || *p == '\t' || (colon = memchr(p, ':', (size_t)(le - p))) == NULL) {
			p = eol < end ? eol + 1 : end;
			continue;
		}
		name->ptr = p;
		name->len = (size_t)(colon - p);
		while (name->len > 0 && (p[name->len - 1] == ' ' || p[name->len - 1] == '\t'))
			name->len--;
		p = colon + 1;
		for (;;) {
			for (const char *q = p; q < le; q++)
				if (n + 1 < size)
					val[n++] = *q;
			p = eol < end ? eol + 1 : end;
			if (p >= end || (*p != ' ' && *p != '\t'))
				break;
			eol = memchr(p, '\n', (size_t)(end - p));
			if (eol == NULL)
				eol = end;
			le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
			if (n + 1 < size)
				val[n++] = ' ';
		}
		val[n] = '\0';
		*vlen = n;
		it->p = p;
		return 1;
	}
}

static bool
name_is(struct strview name, const char *s)
{
	return name.len == strlen(s) && strncasecmp(name.ptr, s, name.len) == 0;
}

/* ---- Received ------------------------------------------------------------------- */

static bool
relay_ours(const struct report_mail_options *opt, const char *host, size_t len)
{
	if (len > 0 && host[len - 1] == '.')
		len--;
	for (size_t i = 0; i < opt->nrelays; i++) {
		const char *name = opt->relays[i];
		if (name != NULL && strlen(name) == len && strncasecmp(name, host, len) == 0)
			return true;
	}
	return false;
}

/* The first [address] in p..end that parses ("[IPv6:2001:db8::1]" too). */
static int
bracket_addr(const char *p, const char *end, struct addr *out)
{
	while ((p = memchr(p, '[', (size_t)(end - p))) != NULL) {
		const char *a = p + 1, *close = memchr(a, ']', (size_t)(end - a));
		if (close == NULL)
			return -1;
		if (close - a > 5 && strncasecmp(a, "IPv6:", 5) == 0)
			a += 5;
		if (addr_parse(a, (size_t)(close - a), out) == 0)
			return 0;
		p = close;
	}
	return -1;
}

/* The client's address in a comment of a from clause: the first bracketed one (Postfix,
 * Sendmail, Exim, Gmail), else the first bare word that is one (Microsoft's
 * "from helo (203.0.113.10)"). */
static int
comment_addr(const char *p, const char *end, struct addr *out)
{
	if (bracket_addr(p, end, out) == 0)
		return 0;
	while (p < end) {
		while (p < end && strchr(" \t()=,;", *p) != NULL)
			p++;
		const char *w = p;
		while (p < end && strchr(" \t()=,;", *p) == NULL)
			p++;
		if (p > w && addr_parse(w, (size_t)(p - w), out) == 0)
			return 0;
	}
	return -1;
}

/* What one Received header says, as far as a complaint needs it. */
struct received {
	bool by_ours;                 /* its `by` host is one of opt->relays */
	bool has_client;              /* the from clause gave an address: client */
	struct addr client;
	struct strview date;          /* after the last ';' (by_ours only) */
};

/*
 * received_parse — one Received value (unfolded): is its `by` host one of our relays, and
 * which address does its from clause name. The address is the one the receiving server
 * found, in a comment ("from helo (name [addr])" as Postfix writes it), not the HELO,
 * which the client chose and may be "[192.0.2.1]"; only when no comment holds one (Exim's
 * "from [addr] (helo=x)") the first bracketed address of the clause.
 */
static void
received_parse(const struct report_mail_options *opt, const char *v, size_t len, struct received *out)
{
	const char *p = v, *end = v + len, *semi = NULL, *from_start = NULL, *by_at = NULL;
	int tokens = 0;
	bool in_comment = false;

	memset(out, 0, sizeof(*out));
	for (const char *q = v; q < end; q++)
		if (*q == ';')
			semi = q;
	if (semi != NULL)
		end = semi;
	while (p < end) {
		const char *t;
		size_t tl;
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == '(') {
			const char *open = p;
			int depth = 0;
			do {
				if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
				p++;
			} while (p < end && depth > 0);
			if (from_start != NULL && by_at == NULL && !in_comment &&
			    comment_addr(open, p, &out->client) == 0)
				in_comment = true;
			continue;
		}
		t = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '(')
			p++;
		tl = (size_t)(p - t);
		tokens++;
		if (by_at != NULL) {
			out->by_ours = relay_ours(opt, t, tl);
			break;
		}
		if (tokens == 1 && tl == 4 && strncasecmp(t, "from", 4) == 0)
			from_start = p;
		else if (tl == 2 && strncasecmp(t, "by", 2) == 0 && !(from_start != NULL && tokens == 2))
			by_at = t;            /* (the HELO may be "by": the token after "from" is the HELO) */
	}
	if (in_comment)
		out->has_client = true;
	else if (from_start != NULL && by_at != NULL && bracket_addr(from_start, by_at, &out->client) == 0)
		out->has_client = true;
	if (out->by_ours) {
		out->date.ptr = semi != NULL ? semi + 1 : v + len;
		out->date.len = semi != NULL ? (size_t)(v + len - semi - 1) : 0;
	}
}

/* ---- reading parts -------------------------------------------------------------- */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_start(void)
{
	g_mime_init();
}

/*
 * A leaf part's content, decoded from its transfer encoding, into r->buf: at most size
 * bytes (REPORT_MAIL_PART_MAX; REPORT_MAIL_JSON_MAX for X-ARF JSON) (a longer one is cut: a report's own part is small; an
 * attachment never gets here in full). The buffer grows to the part's encoded length,
 * which decoding never exceeds, so a small part costs a small allocation. The length
 * read, or -1. r->buf stays valid until the next call.
 */
static ssize_t
part_text_max(struct reader *r, GMimePart *part, size_t size)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *src, *in;
	GMimeContentEncoding enc;
	size_t n = 0;
	ssize_t got;
	gint64 slen;

	if (w == NULL || (src = g_mime_data_wrapper_get_stream(w)) == NULL)
		return -1;
	if (g_mime_stream_reset(src) < 0)
		return -1;
	if ((slen = g_mime_stream_length(src)) >= 0 && (uint64_t)slen < size)
		size = (size_t)slen;
	if (size + 1 > r->cap) {
		char *nb = realloc(r->buf, size + 1);
		if (nb == NULL)
			return -1;
		r->buf = nb;
		r->cap = size + 1;
	}
	char *buf = r->buf;
	enc = g_mime_data_wrapper_get_encoding(w);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);
		in = g_mime_stream_filter_new(src);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(in), f);
		g_object_unref(f);
	} else {
		in = src;
		g_object_ref(in);
	}
	while (n < size && (got = g_mime_stream_read(in, buf + n, size - n)) > 0)
		n += (size_t)got;
	g_object_unref(in);
	return (ssize_t)n;
}

static ssize_t
part_text(struct reader *r, GMimePart *part)
{
	return part_text_max(r, part, REPORT_MAIL_PART_MAX);
}

static bool
type_is(GMimeObject *o, const char *type, const char *subtype)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

/* Calls fn on every part of the tree under o, depth first, in order; stops at a
 * non-zero return (returned). Refuses a tree deeper than max_depth or with more than
 * max_parts parts (GMime built it; the raw scan let it through). */
typedef int (*part_fn)(struct reader *r, GMimeObject *part, GMimeObject *parent);

static int
walk(struct reader *r, GMimeObject *o, GMimeObject *parent, unsigned depth, part_fn fn)
{
	int rc;

	if (o == NULL)
		return 0;
	if (depth > r->max_depth)
		return -REPORT_MAIL_E_DEPTH;
	if (++r->parts > r->opt->max_parts)
		return -REPORT_MAIL_E_PARTS;
	if ((rc = fn(r, o, parent)) != 0)
		return rc;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int count = g_mime_multipart_get_count(mp);
		for (int i = 0; i < count; i++)
			if ((rc = walk(r, g_mime_multipart_get_part(mp, i), o, depth + 1, fn)) != 0)
				return rc;
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m != NULL)
			return walk(r, g_mime_message_get_mime_part(m), o, depth + 1, fn);
	}
	return 0;
}

/* ---- ARF ------------------------------------------------------------------------ */

struct arf_fields {
	char feedback_type[REPORT_TYPE_MAX];
	char source_ip[64];
	char arrival[128];
	char domain[128];
	char mail_from[128];
	char incidents[16];
	bool has_arrival, has_source;
};

/* The reported message's Subject and Message-ID (id, REPORT_ID_MAX bytes): a
 * message/rfc822 or text/rfc822-headers sibling of the feedback-report part. */
static void
arf_original(struct reader *r, GMimeObject *parent, char *subject, size_t ssize, char *id)
{
	GMimeMultipart *mp;
	int count;

	subject[0] = '\0';
	id[0] = '\0';
	if (parent == NULL || !GMIME_IS_MULTIPART(parent))
		return;
	mp = GMIME_MULTIPART(parent);
	count = g_mime_multipart_get_count(mp);
	for (int i = 0; i < count; i++) {
		GMimeObject *o = g_mime_multipart_get_part(mp, i);
		if (GMIME_IS_MESSAGE_PART(o)) {
			GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
			const char *s = m != NULL ? g_mime_message_get_subject(m) : NULL;
			if (s != NULL)
				report_text_copy(subject, ssize, s, strlen(s));
			if (m != NULL && (s = g_mime_message_get_message_id(m)) != NULL)
				report_text_copy(id, REPORT_ID_MAX, s, strlen(s));
			return;
		}
		if (GMIME_IS_PART(o) && type_is(o, "text", "rfc822-headers")) {
			char val[HDR_VALUE_MAX];
			struct strview name;
			size_t vlen;
			ssize_t n = part_text(r, GMIME_PART(o));
			struct hdr_iter it = { r->buf, r->buf + (n > 0 ? n : 0) };
			while (hdr_next(&it, &name, val, sizeof(val), &vlen) == 1) {
				if (name_is(name, "Subject") && subject[0] == '\0') {
					char *d = g_mime_utils_header_decode_text(NULL, val);
					report_text_copy(subject, ssize, d != NULL ? d : val, strlen(d != NULL ? d : val));
					g_free(d);
				} else if (name_is(name, "Message-ID") && id[0] == '\0') {
					char *d = g_mime_utils_decode_message_id(val);
					if (d != NULL)
						report_text_copy(id, REPORT_ID_MAX, d, strlen(d));
					g_free(d);
				}
			}
			return;
		}
	}
}

static int
arf_part(struct reader *r, GMimeObject *o, GMimeObject *parent)
{
	char val[HDR_VALUE_MAX], subject[REPORT_MAIL_SUBJECT_MAX + 1], detail[REPORT_DETAIL_MAX * 2];
	char orig_id[REPORT_ID_MAX];
	struct arf_fields f = { 0 };
	struct report_event ev = { 0 };
	struct strview name;
	size_t vlen, dl = 0;
	ssize_t n;

	if (!GMIME_IS_PART(o) || !type_is(o, "message", "feedback-report"))
		return 0;
	if ((n = part_text(r, GMIME_PART(o))) < 0) {
		refuse(r, REPORT_MAIL_E_MIME);
		return 0;
	}
	struct hdr_iter it = { r->buf, r->buf + n };
	while (hdr_next(&it, &name, val, sizeof(val), &vlen) == 1) {
		if (name_is(name, "Feedback-Type"))
			report_text_lower(f.feedback_type, sizeof(f.feedback_type), val, vlen);
		else if (name_is(name, "Source-IP"))
			f.has_source = true, report_text_copy(f.source_ip, sizeof(f.source_ip), val, vlen);
		else if (name_is(name, "Arrival-Date") || (name_is(name, "Received-Date") && !f.has_arrival))
			f.has_arrival = true, report_text_copy(f.arrival, sizeof(f.arrival), val, vlen);
		else if (name_is(name, "Reported-Domain") && f.domain[0] == '\0')
			report_text_copy(f.domain, sizeof(f.domain), val, vlen);
		else if (name_is(name, "Original-Mail-From"))
			report_text_copy(f.mail_from, sizeof(f.mail_from), val, vlen);
		else if (name_is(name, "Incidents"))
			report_text_copy(f.incidents, sizeof(f.incidents), val, vlen);
	}
	if (strcmp(f.feedback_type, "not-spam") == 0) {
		r->not_spam++;
		note(r, REPORT_MAIL_E_NOT_SPAM);
		return 0;
	}
	if (!f.has_source || addr_parse(f.source_ip, strlen(f.source_ip), &ev.addr) < 0) {
		note(r, REPORT_MAIL_E_SOURCE);
		refuse(r, REPORT_MAIL_E_SOURCE);
		return 0;
	}
	ev.kind = strcmp(f.feedback_type, "abuse") == 0 || strcmp(f.feedback_type, "fraud") == 0 ? REPORT_SPAM :
		REPORT_OTHER;
	ev.time = f.has_arrival ? any_date(r, f.arrival, strlen(f.arrival)) : 0;
	snprintf(ev.type, sizeof(ev.type), "%s", f.feedback_type[0] != '\0' ? f.feedback_type : "unknown");
	arf_original(r, parent, subject, sizeof(subject), orig_id);
	detail[0] = '\0';
#define ADD(...) (dl += (size_t)snprintf(detail + dl, dl < sizeof(detail) ? sizeof(detail) - dl : 0, __VA_ARGS__), \
	dl = dl < sizeof(detail) ? dl : sizeof(detail) - 1)
	if (f.domain[0] != '\0')
		ADD("%s", f.domain);
	if (f.mail_from[0] != '\0')
		ADD("%sfrom %s", dl > 0 ? "; " : "", f.mail_from);
	if (subject[0] != '\0')
		ADD("%s\"%s\"", dl > 0 ? "; " : "", subject);
	if (f.incidents[0] != '\0' && strspn(f.incidents, "0123456789") == strlen(f.incidents))
		ADD("%s%s incidents", dl > 0 ? "; " : "", f.incidents);
#undef ADD
	report_text_copy(ev.detail, sizeof(ev.detail), detail, strlen(detail));
	/* a report without a Message-ID of its own (RFC 5965 B.2) is known by the reported
	 * message's: two reports of one message are one event */
	memcpy(ev.id, r->msgid[0] != '\0' ? r->msgid : orig_id, sizeof(ev.id));
	ev.format = "arf";
	return emit(r, &ev);
}

/* ---- X-ARF ---------------------------------------------------------------------- */

struct xarf_fields {
	char source[64], port[16], date[128], category[REPORT_TYPE_MAX], type[REPORT_TYPE_MAX];
	char family[REPORT_FAMILY_MAX], id[REPORT_ID_MAX], service[64], dport[16];
	bool has_source;
};

static int
xarf_emit(struct reader *r, struct xarf_fields *f, const char *format)
{
	struct report_event ev = { 0 };

	if (!f->has_source || addr_parse(f->source, strlen(f->source), &ev.addr) < 0) {
		note(r, REPORT_MAIL_E_SOURCE);
		refuse(r, REPORT_MAIL_E_SOURCE);
		return 0;
	}
	if (f->port[0] != '\0') {
		char *e;
		errno = 0;
		unsigned long p = strtoul(f->port, &e, 10);
		if (*e == '\0' && errno == 0 && p > 0 && p <= 65535 && isdigit((unsigned char)f->port[0]))
			ev.has_port = true, ev.port = (uint16_t)p;
	}
	ev.kind = report_mail_kind(f->category, f->type);
	ev.time = f->date[0] != '\0' ? any_date(r, f->date, strlen(f->date)) : 0;
	if (f->date[0] == '\0')
		note(r, REPORT_MAIL_E_DATE);
	memcpy(ev.family, f->family, sizeof(ev.family));
	snprintf(ev.type, sizeof(ev.type), "%s", f->type[0] != '\0' ? f->type : f->category);
	if (f->service[0] != '\0' || f->dport[0] != '\0') {
		char d[96];
		snprintf(d, sizeof(d), "%s%s%s", f->service, f->service[0] != '\0' && f->dport[0] != '\0' ? " port " :
			f->dport[0] != '\0' ? "port " : "", f->dport);
		report_text_copy(ev.detail, sizeof(ev.detail), d, strlen(d));
	}
	memcpy(ev.id, f->id[0] != '\0' ? f->id : r->msgid, sizeof(ev.id));
	ev.format = format;
	return emit(r, &ev);
}

static void
xarf_field(struct xarf_fields *f, const char *key, size_t klen, const char *v, size_t vlen)
{
#define K(s) (klen == strlen(s) && strncasecmp(key, s, klen) == 0)
	if (K("Source") || K("source_identifier") || K("SourceIp"))
		f->has_source = true, report_text_copy(f->source, sizeof(f->source), v, vlen);
	else if (K("Port") || K("destination_port") || K("DestinationPort"))
		report_text_copy(f->dport, sizeof(f->dport), v, vlen);   /* the attacked service's */
	else if (K("source_port") || K("SourcePort"))
		report_text_copy(f->port, sizeof(f->port), v, vlen);
	else if (K("Date") || K("timestamp"))
		report_text_copy(f->date, sizeof(f->date), v, vlen);
	else if (K("Category") || K("class") || K("ReportClass"))
		report_text_lower(f->category, sizeof(f->category), v, vlen);
	else if (K("Report-Type") || K("type") || K("ReportType"))
		report_text_lower(f->type, sizeof(f->type), v, vlen);
	else if (K("malware_family") || K("Malware-Family") || K("family"))
		report_text_lower(f->family, sizeof(f->family), v, vlen);
	else if (K("Report-ID") || K("report_id") || K("ReportId"))
		report_text_copy(f->id, sizeof(f->id), v, vlen);
	else if (K("Service") || K("service") || K("protocol"))
		report_text_copy(f->service, sizeof(f->service), v, vlen);
#undef K
}

/*
 * X-ARF 0.2's report: one flat YAML mapping ("Source: 192.0.2.1"). Read through
 * libyaml's events with everything that makes YAML expensive refused before it costs:
 * an alias or an anchor (the billion laughs), nesting past YAML_DEPTH_MAX, a scalar past
 * YAML_SCALAR_MAX, more than YAML_EVENTS_MAX events. 0 (fields in f), or -1.
 */
static int
xarf_yaml(const char *text, size_t len, struct xarf_fields *f)
{
	yaml_parser_t p;
	yaml_event_t e;
	int depth = 0, events = 0, rc = -1, maps = 0;
	char key[64];
	size_t klen = 0;
	bool want_key = true, done = false;

	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &e))
			goto out;
		bool bad = ++events > YAML_EVENTS_MAX;
		switch (e.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = maps > 0 || e.type == YAML_STREAM_END_EVENT;
			break;
		case YAML_ALIAS_EVENT:
			bad = true;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT: {
			const yaml_char_t *anchor = e.type == YAML_MAPPING_START_EVENT ? e.data.mapping_start.anchor :
				e.data.sequence_start.anchor;
			bad |= anchor != NULL || ++depth > YAML_DEPTH_MAX;
			if (depth == 1 && e.type == YAML_MAPPING_START_EVENT)
				maps++;
			else if (depth == 2)
				want_key = true;     /* a nested value: its key was read, it is skipped */
			break;
		}
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			bad |= e.data.scalar.anchor != NULL || e.data.scalar.length > YAML_SCALAR_MAX;
			if (bad || depth != 1)
				break;
			if (want_key) {
				klen = e.data.scalar.length < sizeof(key) ? e.data.scalar.length : 0;
				memcpy(key, e.data.scalar.value, klen);
			} else if (klen > 0) {
				xarf_field(f, key, klen, (const char *)e.data.scalar.value, e.data.scalar.length);
			}
			want_key = !want_key;
			break;
		default:
			break;
		}
		yaml_event_delete(&e);
		if (bad)
			goto out;
	}
	rc = maps > 0 ? 0 : -1;
out:
	yaml_parser_delete(&p);
	return rc;
}

static void
json_field(struct xarf_fields *f, const char *key, json_t *v)
{
	char num[24];

	if (json_is_string(v)) {
		xarf_field(f, key, strlen(key), json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		if (strcasecmp(key, "timestamp") == 0 || strcasecmp(key, "Date") == 0) {
			usec_t t = (usec_t)json_integer_value(v);
			if (t > 0 && t < INT64_C(1) << 40)   /* seconds since the epoch */
				time_format(t * USEC_PER_SEC, num, sizeof(num));
		}
		xarf_field(f, key, strlen(key), num, strlen(num));
	}
}

/* A JSON X-ARF report: v4's flat object, or v3's {"Version", "Report": {...}}. 0, or -1
 * when the text is no X-ARF JSON. */
static int
xarf_json(const char *text, size_t len, struct xarf_fields *f)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *obj = NULL, *v;
	const char *key;
	int rc = -1;

	if (root == NULL || !json_is_object(root))
		goto out;
	if (json_object_get(root, "xarf_version") != NULL || json_object_get(root, "source_identifier") != NULL)
		obj = root;
	else if (json_is_object(json_object_get(root, "Report")))
		obj = json_object_get(root, "Report");
	if (obj == NULL)
		goto out;
	json_object_foreach(obj, key, v)
		json_field(f, key, v);
	if (obj != root) {
		v = json_object_get(root, "ReportId");
		if (json_is_string(v))
			json_field(f, "ReportId", v);
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static bool
looks_json(const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	return i < n && s[i] == '{';
}

static int
xarf_part(struct reader *r, GMimeObject *o, GMimeObject *parent)
{
	struct xarf_fields f = { 0 };
	bool json_type, yaml_type;
	ssize_t n;

	(void)parent;
	if (!GMIME_IS_PART(o) || r->xarf_done)
		return 0;
	/* a v4 report may come as application/octet-stream named xarf.json */
	const char *fname = g_mime_part_get_filename(GMIME_PART(o));
	size_t fl = fname != NULL ? strlen(fname) : 0;
	json_type = type_is(o, "application", "json") || (fl >= 5 && strcasecmp(fname + fl - 5, ".json") == 0);
	yaml_type = type_is(o, "application", "x-yaml") || type_is(o, "text", "yaml") ||
		type_is(o, "text", "x-yaml");
	if (!json_type && !yaml_type && !(r->xarf && type_is(o, "text", "plain")))
		return 0;
	/* v4 JSON may carry its evidence inline, base64 in the report: a larger cut */
	if ((n = part_text_max(r, GMIME_PART(o), REPORT_MAIL_JSON_MAX)) <= 0)
		return 0;
	const char *buf = r->buf;
	if (!json_type && !looks_json(buf, (size_t)n) && n > (ssize_t)REPORT_MAIL_PART_MAX)
		n = REPORT_MAIL_PART_MAX;          /* YAML: the smaller cut */
	if (json_type || looks_json(buf, (size_t)n)) {
		if (xarf_json(buf, (size_t)n, &f) < 0) {
			if (json_type || r->xarf)
				refuse(r, REPORT_MAIL_E_JSON);
			return 0;
		}
		r->xarf_done = true;
		return xarf_emit(r, &f, "xarf-json");
	}
	if (!r->xarf)
		return 0;
	/* The 0.2 form: the report is the part that is YAML; the greeting before it is prose. */
	if (xarf_yaml(buf, (size_t)n, &f) < 0) {
		if (yaml_type || (n >= 3 && memcmp(buf, "---", 3) == 0) || memmem(buf, (size_t)n, "Report-Type", 11))
			refuse(r, REPORT_MAIL_E_YAML);
		return 0;
	}
	if (!f.has_source && f.type[0] == '\0' && f.category[0] == '\0')
		return 0;              /* prose that happens to read as YAML */
	r->xarf_done = true;
	return xarf_emit(r, &f, "xarf-yaml");
}

/* ---- complaints ----------------------------------------------------------------- */

/* The forwarded message's subject and our relay's header, once found. */
struct complaint {
	bool forwarded, found, forged;
	bool seen;                    /* a Received header above the one being read */
	bool above_ours;              /* ... whose client address is one of our relays' */
	struct addr client;           /* family 0: our relay's header names no client */
	usec_t time;
	char subject[REPORT_MAIL_SUBJECT_MAX + 1];
};

/*
 * complaint_received — the forwarded message's Received headers, top down, one at a time
 * until the client is known. The topmost header by one of our relays names it; what lies
 * below was in the message when our relay took it, so the sender may have written it, and
 * is never read. With opt->relay_nets, two more things: the header above ours must name one
 * of our relays' addresses as its client (the next hop's server found that address on its
 * socket; a spammer who never passed our relay and wrote a "by our relay" header of his own
 * is caught there), and a header of ours whose client is one of our relays is a hop
 * between our relays: the one below it names the client.
 */
static void
complaint_received(struct reader *r, struct complaint *c, const char *v, size_t len)
{
	const struct report_mail_options *o = r->opt;
	struct received h;

	if (c->found)
		return;
	received_parse(o, v, len, &h);
	bool from_relay = h.has_client && cidr_list_contains(o->relay_nets, o->nrelay_nets, &h.client);
	if (h.by_ours) {
		if (o->nrelay_nets > 0 && c->seen && !c->above_ours) {
			c->found = c->forged = true;
			return;
		}
		if (!from_relay) {
			c->found = true;
			c->client = h.client;
			if (!h.has_client)
				c->client.family = 0;
			else
				c->time = h.date.len > 0 ? any_date(r, h.date.ptr, h.date.len) : 0;
			return;
		}
	}
	c->seen = true;
	c->above_ours = from_relay;
}

static void
complaint_headers_text(struct reader *r, struct complaint *c, const char *text, size_t len)
{
	char val[HDR_VALUE_MAX];
	struct strview name;
	size_t vlen;
	struct hdr_iter it = { text, text + len };

	c->forwarded = true;
	while (hdr_next(&it, &name, val, sizeof(val), &vlen) == 1) {
		if (name_is(name, "Received")) {
			complaint_received(r, c, val, vlen);
		} else if (name_is(name, "Subject") && c->subject[0] == '\0') {
			char *d = g_mime_utils_header_decode_text(NULL, val);
			report_text_copy(c->subject, sizeof(c->subject), d != NULL ? d : val, strlen(d != NULL ? d : val));
			g_free(d);
		}
	}
}

/* Where pasted headers start in a text body: a line opening with "Received:". */
static const char *
pasted_headers(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while (p < end) {
		if ((size_t)(end - p) >= 9 && strncasecmp(p, "Received:", 9) == 0) {
			/* the block starts at the first header line above it that is not blank */
			const char *start = p;
			while (start > s) {
				const char *prev = start - 1;          /* the '\n' ending the line above */
				const char *ls = prev;
				while (ls > s && ls[-1] != '\n')
					ls--;
				size_t ll = (size_t)(prev - ls);
				if (ll > 0 && ls[ll - 1] == '\r')
					ll--;
				if (ll == 0 || (*ls != ' ' && *ls != '\t' && memchr(ls, ':', ll) == NULL))
					break;
				start = ls;
			}
			return start;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return NULL;
}

static struct complaint *complaint_of(struct reader *r);

static int
complaint_part(struct reader *r, GMimeObject *o, GMimeObject *parent)
{
	struct complaint *c = complaint_of(r);
	ssize_t n;

	(void)parent;
	if (c->forwarded)
		return 1;              /* the first forwarded message decides */
	if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		GMimeHeaderList *hl;
		if (m == NULL)
			return 0;
		c->forwarded = true;
		hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
		int count = g_mime_header_list_get_count(hl);
		for (int i = 0; i < count && !c->found; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
			const char *name = g_mime_header_get_name(h), *v = g_mime_header_get_value(h);
			if (name != NULL && v != NULL && strcasecmp(name, "Received") == 0) {
				/* GMime keeps the folding: unfold, cut as hdr_next does */
				char val[HDR_VALUE_MAX];
				size_t vl = 0;
				for (; *v != '\0' && vl + 1 < sizeof(val); v++)
					val[vl++] = *v == '\r' || *v == '\n' || *v == '\t' ? ' ' : *v;
				val[vl] = '\0';
				complaint_received(r, c, val, vl);
			}
		}
		const char *s = g_mime_message_get_subject(m);
		if (s != NULL)
			report_text_copy(c->subject, sizeof(c->subject), s, strlen(s));
		return 1;
	}
	if (!GMIME_IS_PART(o))
		return 0;
	if (type_is(o, "text", "rfc822-headers")) {
		if ((n = part_text(r, GMIME_PART(o))) > 0)
			complaint_headers_text(r, c, r->buf, (size_t)n);
		return c->forwarded ? 1 : 0;
	}
	if (type_is(o, "text", "plain")) {
		const char *start;
		if ((n = part_text(r, GMIME_PART(o))) > 0 &&
		    (start = pasted_headers(r->buf, (size_t)n)) != NULL)
			complaint_headers_text(r, c, start, (size_t)(r->buf + n - start));
		return c->forwarded ? 1 : 0;
	}
	return 0;
}

/* The complaint being read rides with the reader (walk's callback has one argument). */
struct complaint_reader {
	struct reader r;
	struct complaint c;
};

static struct complaint *
complaint_of(struct reader *r)
{
	return &((struct complaint_reader *)(void *)r)->c;
}

/* ---- the message ---------------------------------------------------------------- */

/*
 * How many parts the raw message could hold at most: lines opening with Content-Type
 * (every multipart and attached message needs one) or a boundary delimiter ("--x"). A
 * boundary may open with a space, but so do signatures and SQL comments ("-- "): those
 * lines count a quarter each, so a million parts behind "-- x" are refused too and a text
 * with a few thousand such lines still reads (GMime builds 4 000 empty parts in ~35 ms).
 * The scan stops once past limit.
 */
static unsigned
raw_parts(const char *s, size_t n, unsigned limit)
{
	const char *p = s, *end = s + n;
	unsigned ct = 0, dash = 0, spaced = 0;

	while (p < end && ct <= limit && dash + spaced / 4 <= limit) {
		size_t left = (size_t)(end - p);
		if (left >= 12 && (*p == 'C' || *p == 'c') && strncasecmp(p, "Content-Type", 12) == 0)
			ct++;
		else if (left >= 3 && p[0] == '-' && p[1] == '-' && p[2] != '\r' && p[2] != '\n')
			*(p[2] == ' ' || p[2] == '\t' ? &spaced : &dash) += 1;
		const char *nl = memchr(p, '\n', left);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return ct > dash + spaced / 4 ? ct : dash + spaced / 4;
}

int
report_mail_read(const char *msg, size_t len, const struct report_mail_options *opt,
	report_emit_cb emit_cb, void *arg, struct report_mail_stats *stats)
{
	struct complaint_reader cr;
	struct reader *r = &cr.r;
	struct report_mail_options o = *opt;
	GByteArray bytes;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *body;
	const char *v;
	int rc;

	memset(&cr, 0, sizeof(cr));
	if (o.max_size == 0)
		o.max_size = REPORT_MAIL_SIZE_DEFAULT;
	if (o.max_depth == 0)
		o.max_depth = REPORT_MAIL_DEPTH_DEFAULT;
	if (o.max_parts == 0)
		o.max_parts = REPORT_MAIL_PARTS_DEFAULT;
	r->opt = &o;
	r->emit = emit_cb;
	r->arg = arg;
	r->stats = stats;
	r->max_depth = o.max_depth;
	r->reason = REPORT_MAIL_E_NOT_A_REPORT;

	if (len > o.max_size || len > G_MAXUINT) {
		rc = -REPORT_MAIL_E_TOO_BIG;
		goto out;
	}
	/* GMime's parser recurses once per nesting level and allocates per part: the raw
	 * count keeps a million parts or levels away from it. */
	if (raw_parts(msg, len, o.max_parts) > o.max_parts) {
		rc = -REPORT_MAIL_E_PARTS;
		goto out;
	}
	pthread_once(&gmime_once, gmime_start);
	/* The caller's bytes as GMime's memory stream, not copied (the stream does not own
	 * them and only reads): parts' contents are substreams of it, never copies. */
	bytes.data = (guint8 *)(uintptr_t)msg;
	bytes.len = (guint)len;
	stream = g_mime_stream_mem_new_with_byte_array(&bytes);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	m = g_mime_parser_construct_message(parser, NULL);
	if (m == NULL) {
		rc = -REPORT_MAIL_E_MIME;
		goto out;
	}
	if ((v = g_mime_message_get_message_id(m)) != NULL)
		report_text_copy(r->msgid, sizeof(r->msgid), v, strlen(v));
	/* X-ARF 0.1 says "X-ARF: yes", 0.2 "X-XARF: PLAIN" (or SECURE, signed) */
	v = g_mime_object_get_header(GMIME_OBJECT(m), "X-ARF");
	r->xarf = v != NULL && strncasecmp(v, "yes", 3) == 0;
	v = g_mime_object_get_header(GMIME_OBJECT(m), "X-XARF");
	r->xarf |= v != NULL && (strncasecmp(v, "plain", 5) == 0 || strncasecmp(v, "secure", 6) == 0);
	body = g_mime_message_get_mime_part(m);

	/* ARF first: a feedback report carries the reported message, which may itself look
	 * like anything. Then X-ARF, then a forwarded message. */
	if ((rc = walk(r, body, NULL, 0, arf_part)) != 0 || r->emitted > 0 || r->reason != REPORT_MAIL_E_NOT_A_REPORT ||
	    r->not_spam > 0)
		goto done;
	r->parts = 0;
	/* a JSON or YAML part that is no X-ARF report does not make the message one, unless
	 * its header says it is: a complaint may attach anything */
	if ((rc = walk(r, body, NULL, 0, xarf_part)) != 0 || r->emitted > 0 || r->xarf_done ||
	    (r->xarf && r->reason != REPORT_MAIL_E_NOT_A_REPORT))
		goto done;
	if (o.nrelays == 0)
		goto done;
	r->parts = 0;
	rc = walk(r, body, NULL, 0, complaint_part);
	if (rc < 0)
		goto done;
	rc = 0;
	if (cr.c.forwarded) {
		struct report_event ev = { 0 };
		if (!cr.c.found || cr.c.forged) {
			refuse(r, REPORT_MAIL_E_NOT_OURS);
			goto done;
		}
		if (cr.c.client.family == 0) {
			note(r, REPORT_MAIL_E_SOURCE);
			refuse(r, REPORT_MAIL_E_SOURCE);
			goto done;
		}
		ev.kind = REPORT_SPAM;
		ev.addr = cr.c.client;
		ev.time = cr.c.time;
		snprintf(ev.type, sizeof(ev.type), "complaint");
		memcpy(ev.detail, cr.c.subject, sizeof(cr.c.subject));
		memcpy(ev.id, r->msgid, sizeof(ev.id));
		ev.format = "complaint";
		rc = emit(r, &ev);
	}
done:
	if (rc == 0 && r->stop != 0)
		rc = r->stop;
	if (rc == 0)
		rc = r->emitted > 0 || (r->not_spam > 0 && r->reason == REPORT_MAIL_E_NOT_A_REPORT) ? r->emitted :
			-r->reason;
out:
	free(r->buf);
	if (m != NULL)
		g_object_unref(m);
	if (parser != NULL)
		g_object_unref(parser);
	if (stream != NULL)
		g_object_unref(stream);
	/* a source refusal was noted where it was met; emit's own value is not ours to count */
	if (rc < 0 && rc > -REPORT_MAIL_ERROR_COUNT && stats != NULL && rc != -REPORT_MAIL_E_SOURCE && r->stop == 0)
		stats->reasons[-rc]++;
	return rc;
}

int
report_mail_read_json(const char *json, size_t len, const struct report_mail_options *opt,
	report_emit_cb emit_cb, void *arg, struct report_mail_stats *stats)
{
	struct reader r = { 0 };
	struct xarf_fields f = { 0 };
	int rc;

	r.opt = opt;
	r.emit = emit_cb;
	r.arg = arg;
	r.stats = stats;
	r.reason = REPORT_MAIL_E_NOT_A_REPORT;
	if (len > REPORT_MAIL_JSON_MAX || (opt->max_size != 0 && len > opt->max_size))
		rc = -REPORT_MAIL_E_TOO_BIG;
	else if (xarf_json(json, len, &f) < 0)
		rc = -REPORT_MAIL_E_JSON;
	else if ((rc = xarf_emit(&r, &f, "xarf-json")) == 0)
		rc = r.emitted > 0 ? r.emitted : -r.reason;
	if (rc < 0 && rc > -REPORT_MAIL_ERROR_COUNT && stats != NULL && rc != -REPORT_MAIL_E_SOURCE && r.stop == 0)
		stats->reasons[-rc]++;
	return rc;
}
