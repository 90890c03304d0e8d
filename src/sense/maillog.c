/*
 * maillog.c — one Postfix log line, as syslog (RFC 3164 or RFC 3339 time stamps)
 * or Postfix's own maillog_file writes it, into the fields the delivery-error
 * sensor uses.
 *
 * Runs over whole log files offline as well as on the live tail, so: no
 * allocation, no sscanf or regex, memchr for scans, every read bounded by
 * the end of the line. Fields are found by name, never by position.
 */
#include <stdint.h>
#include <string.h>

#include "sense/maillog.h"

#define MAILLOG_QID_MIN   6     /* short IDs: 5 hex digits of microseconds + inode */
#define MAILLOG_QID_MAX   24    /* long IDs: 6+ + 4 + 'z' + a 64-bit inode in base 51 (12) */
#define MAILLOG_TAIL_TRIES 32   /* "; " in a reject tried as the start of its from=/to= tail */
#define MAILLOG_ADDR_MAX  2048  /* bytes in a <...> address (smtpd_line_length_limit) */

static const char *const maillog_kind_names[MAILLOG_KIND_COUNT] = {
	[MAILLOG_OTHER] = "other",
	[MAILLOG_CLIENT] = "client",
	[MAILLOG_FROM] = "from",
	[MAILLOG_DELIVERY] = "delivery",
	[MAILLOG_REJECT] = "reject",
	[MAILLOG_REMOVED] = "removed",
	[MAILLOG_LOGIN] = "login",
	[MAILLOG_LOGIN_FAILED] = "login_failed",
};

/* Indexed by -error. */
static const char *const maillog_error_names[MAILLOG_ERROR_COUNT + 1] = {
	[0] = "none",
	[-MAILLOG_ERR_EMPTY] = "empty",
	[-MAILLOG_ERR_TOO_LONG] = "too_long",
	[-MAILLOG_ERR_TIMESTAMP] = "timestamp",
	[-MAILLOG_ERR_HEADER] = "header",
	[-MAILLOG_ERR_NOT_POSTFIX] = "not_postfix",
	[-MAILLOG_ERR_FIELDS] = "fields",
	[-MAILLOG_ERR_NUL] = "nul",
	[-MAILLOG_ERR_DUPLICATE] = "duplicate",
	[-MAILLOG_ERR_QUEUE_ID] = "queue_id",
};

static const char *const maillog_outcome_names[MAILLOG_OUTCOME_COUNT] = {
	[MAILLOG_OUTCOME_DELIVERED] = "delivered",
	[MAILLOG_OUTCOME_UNKNOWN_RECIPIENT] = "unknown_recipient",
	[MAILLOG_OUTCOME_SPAM_REJECTED] = "spam_rejected",
	[MAILLOG_OUTCOME_POLICY_REJECTED] = "policy_rejected",
	[MAILLOG_OUTCOME_MAILBOX_FULL] = "mailbox_full",
	[MAILLOG_OUTCOME_TEMPORARY] = "temporary",
	[MAILLOG_OUTCOME_OTHER_PERMANENT] = "other_permanent",
};

/* How a "<...>" value may be followed: which separators end it. */
enum maillog_sep {
	MAILLOG_SEP_COMMA,      /* ", " only: the "name=value, name=value" lines */
	MAILLOG_SEP_REJECT,     /* " ", ", " or ": ": the "; from=<S> to=<R> ..." tail */
};

static inline int
maillog_isdigit(int c)
{
	return (unsigned)c - '0' < 10;
}

static inline int
maillog_isalnum(int c)
{
	return maillog_isdigit(c) || (unsigned)(c | 0x20) - 'a' < 26;
}

static inline struct strview
maillog_sv(const char *p, const char *end)
{
	struct strview v = { p, (size_t)(end - p) };

	return v;
}

/* The first "c " (c, then a space) in [p, end), or NULL: ", " and "; " separators. */
static const char *
maillog_sep_find(const char *p, const char *end, int c)
{
	const char *q;

	while ((q = memchr(p, c, (size_t)(end - p))) != NULL) {
		if (q + 1 < end && q[1] == ' ')
			return q;
		p = q + 1;
	}
	return NULL;
}

/*
 * Where the peer's own words start in a status text "host NAME[ADDR] said: ...",
 * or NULL when the text quotes no peer.
 */
static const char *
maillog_said(const char *p, const char *end)
{
	const char *q;

	if (end - p < 5 || memcmp(p, "host ", 5) != 0)
		return NULL;
	for (p += 5; (q = memchr(p, ']', (size_t)(end - p))) != NULL; p = q + 1)
		if (end - q >= 8 && memcmp(q, "] said: ", 8) == 0)
			return q + 8;
	return NULL;
}

/* True when [p, end) starts with the string literal lit. */
#define MAILLOG_HAS(p, end, lit) \
	((size_t)((end) - (p)) >= sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* The two digits at p (the caller checked they are there) as an int, or -1: every time
 * stamp has six to eight such pairs, and a loop per pair was a tenth of the parse. */
static inline int
maillog_d2(const char *p)
{
	unsigned a = (unsigned)(unsigned char)p[0] - '0', b = (unsigned)(unsigned char)p[1] - '0';

	return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

/* A whole view as a decimal number no larger than max: digits only. */
static int
maillog_u64(struct strview v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0, lim = max / 10, last = max % 10;   /* n * 10 + d <= max, no division a digit */
	size_t i;

	if (v.len == 0)
		return -1;
	for (i = 0; i < v.len; i++) {
		unsigned d = (unsigned)(unsigned char)v.ptr[i] - '0';

		if (d > 9 || n > lim || (n == lim && d > last))
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/*
 * "HH:MM:SS" and an optional ".fraction" (1-9 digits, kept to microseconds).
 * Returns the end of what it read, or NULL.
 */
static const char *
maillog_clock(const char *p, const char *end, struct maillog_time *t)
{
	int n = 0, v = 0;

	if (end - p < 8 || p[2] != ':' || p[5] != ':')
		return NULL;
	if ((t->hour = maillog_d2(p)) < 0 || t->hour > 23 ||
	    (t->minute = maillog_d2(p + 3)) < 0 || t->minute > 59 ||
	    (t->second = maillog_d2(p + 6)) < 0 || t->second > 60)
		return NULL;
	p += 8;
	if (p == end || *p != '.')
		return p;
	/* rsyslog's six digits of microseconds, the common case, by pairs */
	if (end - p >= 7 && (p + 7 == end || !maillog_isdigit(p[7]))) {
		int d0 = maillog_d2(p + 1), d1 = maillog_d2(p + 3), d2 = maillog_d2(p + 5);

		if (d0 >= 0 && d1 >= 0 && d2 >= 0) {
			t->usec = d0 * 10000 + d1 * 100 + d2;
			return p + 7;
		}
	}
	for (p++; p < end && maillog_isdigit(*p); p++, n++) {
		if (n == 9)
			return NULL;
		if (n < 6)
			v = v * 10 + (*p - '0');
	}
	if (n == 0)
		return NULL;
	for (; n < 6; n++)
		v *= 10;
	t->usec = v;
	return p;
}

/* "Nov 27 06:40:01", "Nov  7 06:40:01", "Nov 07 ..." (postlog), with a fraction. */
static const char *
maillog_time_3164(const char *p, const char *end, struct maillog_time *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int m;

	if (end - p < 4 || p[3] != ' ')
		return NULL;
	for (m = 0; m < 12; m++)
		if (memcmp(p, months + 3 * m, 3) == 0)
			break;
	if (m == 12)
		return NULL;
	t->month = m + 1;
	p += 4;
	if (p < end && *p == ' ')
		p++;
	if (p == end || !maillog_isdigit(*p))
		return NULL;
	t->day = *p++ - '0';
	if (p < end && maillog_isdigit(*p))
		t->day = t->day * 10 + (*p++ - '0');
	if (t->day < 1 || t->day > 31 || p == end || *p != ' ')
		return NULL;
	return maillog_clock(p + 1, end, t);
}

/*
 * "2026-11-27T06:40:01[.123456](Z|+01:00|-05:30)", the offset also without its
 * colon ("+0200", as journalctl -o short-iso writes it), or "2026-11-27 06:40:01"
 * with a space and no zone (local time, like RFC 3164, with a year).
 */
static const char *
maillog_time_3339(const char *p, const char *end, struct maillog_time *t)
{
	int hh, mm, space, cy, yy;
	size_t n;

	if (end - p < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' '))
		return NULL;
	space = p[10] == ' ';
	if ((cy = maillog_d2(p)) < 0 || (yy = maillog_d2(p + 2)) < 0 ||
	    (t->month = maillog_d2(p + 5)) < 1 || t->month > 12 ||
	    (t->day = maillog_d2(p + 8)) < 1 || t->day > 31)
		return NULL;
	t->year = cy * 100 + yy;
	if ((p = maillog_clock(p + 11, end, t)) == NULL)
		return NULL;
	if (space && (p == end || *p == ' '))
		return p;
	if (p == end)
		return NULL;
	t->has_tz = 1;
	if (*p == 'Z' || *p == 'z')
		return p + 1;
	if (*p != '+' && *p != '-')
		return NULL;
	n = end - p >= 6 && p[3] == ':' ? 6 : 5;
	if ((size_t)(end - p) < n ||
	    (hh = maillog_d2(p + 1)) < 0 || hh > 23 ||
	    (mm = maillog_d2(p + n - 2)) < 0 || mm > 59)
		return NULL;
	t->tz_minutes = (*p == '-' ? -1 : 1) * (hh * 60 + mm);
	return p + n;
}

/*
 * Postfix's queue IDs (src/global/mail_queue.h):
 *  - short: the microseconds in 5 upper-case hex digits, then the inode number in
 *    upper-case hex;
 *  - long (enable_long_queue_ids): the seconds in base 52, 6 digits or more, the
 *    microseconds in base 52, exactly 4 digits, 'z', then the inode number in base 51.
 * safe_ultostr's base-52 alphabet is the digits and the consonants of both cases
 * ("0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"); base 51 is all of it
 * but its last digit, 'z'. So 'z' may appear anywhere in the time part and the
 * separator is the LAST 'z' (Postfix's MQID_FIND_LG_INUM_SEPARATOR: strrchr, at
 * least 10 bytes in).
 */
#define MAILLOG_QID_LG_TIME 10  /* MQID_LG_TIME_PAD: 6 of seconds + 4 of microseconds */

/* True for a digit of safe_ultostr's base-52 alphabet: letters and digits, no vowel. */
static int
maillog_b52(int c)
{
	unsigned l = (unsigned)(c | 0x20);

	return maillog_isalnum(c) && (maillog_isdigit(c) ||
	    (l != 'a' && l != 'e' && l != 'i' && l != 'o' && l != 'u'));
}

/* True when [p, p + n) is a queue ID as Postfix writes one, short or long. */
int
maillog_is_qid(const char *p, size_t n)
{
	size_t i, sep;
	int hex = 1;

	if (n < MAILLOG_QID_MIN || n > MAILLOG_QID_MAX)
		return 0;
	for (i = 0; i < n && hex; i++)
		hex = maillog_isdigit(p[i]) || (unsigned)p[i] - 'A' < 6;
	if (hex)
		return 1;
	for (i = 0; i < n; i++)
		if (!maillog_b52(p[i]))
			return 0;
	for (sep = n; sep > 0 && p[sep - 1] != 'z'; sep--)
		;
	/*
	 * The last 'z' (so the inode part has none), after the time, before an inode.
	 * The time's value is not checked: a generator or another build writing the
	 * digits of its own base would otherwise lose every line to a skip.
	 */
	return sep-- > 0 && sep >= MAILLOG_QID_LG_TIME && sep + 1 < n;
}

/*
 * True when [p, p + n), followed by ": " where a queue ID goes, is shaped like
 * one: letters and digits only, of a queue ID's length, with a digit — unlike the
 * words Postfix writes there ("warning", "statistics", postsuper's "Deleted").
 * When it is no queue ID Postfix writes, the line is skipped as
 * MAILLOG_ERR_QUEUE_ID, counted, rather than taken for a line lazaret does not use.
 */
static int
maillog_qid_shaped(const char *p, size_t n)
{
	size_t i;
	int digit = 0;

	if (n < MAILLOG_QID_MIN || n > MAILLOG_QID_MAX + 1)
		return 0;
	for (i = 0; i < n; i++) {
		if (!maillog_isalnum(p[i]))
			return 0;
		digit |= maillog_isdigit(p[i]);
	}
	return digit;
}

/* True when [p, end) is a place where a "<...>" value may end under mode. */
static int
maillog_sep_ok(const char *p, const char *end, enum maillog_sep mode)
{
	if (p == end)
		return 1;
	if (end - p >= 2 && p[0] == ',' && p[1] == ' ')
		return 1;
	if (mode == MAILLOG_SEP_REJECT)
		return p[0] == ' ' || (end - p >= 2 && p[0] == ':' && p[1] == ' ');
	return 0;
}

/*
 * The '>' that closes the "<" at v: the first one outside double quotes that is
 * followed by a separator, else (an unbalanced quote) the first one followed by a
 * separator at all, so that both to=<"a, b"@x> and Postfix's older unquoted
 * to=<a, b@x> read whole. NULL when there is none within MAILLOG_ADDR_MAX bytes:
 * that bound keeps a line of many unclosed "<" from costing a pass each to its end.
 */
static const char *
maillog_angle_close(const char *v, const char *end, enum maillog_sep mode)
{
	const char *p = v + 1, *gt, *lim;
	int quoted = 0;

	lim = end - p > MAILLOG_ADDR_MAX ? p + MAILLOG_ADDR_MAX + 1 : end;
	/* The common case: no quote before the first '>'. */
	if ((gt = memchr(p, '>', (size_t)(lim - p))) == NULL)
		return NULL;
	if (memchr(p, '"', (size_t)(gt - p)) == NULL) {
		if (maillog_sep_ok(gt + 1, end, mode))
			return gt;
		if (memchr(gt, '"', (size_t)(lim - gt)) == NULL) {
			/* No quote at all: the next '>' before a separator. */
			for (gt++; (gt = memchr(gt, '>', (size_t)(lim - gt))) != NULL; gt++)
				if (maillog_sep_ok(gt + 1, end, mode))
					return gt;
			return NULL;
		}
	}
	for (; p < lim; p++) {
		if (quoted) {
			if (*p == '\\' && p + 1 < lim)
				p++;
			else if (*p == '"')
				quoted = 0;
		} else if (*p == '"')
			quoted = 1;
		else if (*p == '>' && maillog_sep_ok(p + 1, end, mode))
			return p;
	}
	for (p = v + 1; p < lim; p++)
		if (*p == '>' && maillog_sep_ok(p + 1, end, mode))
			return p;
	return NULL;
}

/* Reads "name=" at *pp: a run of [a-z_] then '='. */
static int
maillog_name(const char **pp, const char *end, struct strview *name)
{
	const char *p = *pp, *s = p;

	while (p < end && (((unsigned)*p - 'a' < 26) || *p == '_'))
		p++;
	if (p == s || p == end || *p != '=')
		return -1;
	*name = maillog_sv(s, p);
	*pp = p + 1;
	return 0;
}

/*
 * Reads the value at *pp of a ", "-separated field: "<...>" (returned without the
 * brackets) or bare text up to the next ", ". Leaves *pp after the separator, or at
 * end. Sets *angled when the value was bracketed.
 */
static int
maillog_value(const char **pp, const char *end, struct strview *value, int *angled)
{
	const char *p = *pp, *e;

	*angled = 0;
	if (p < end && *p == '<') {
		if ((e = maillog_angle_close(p, end, MAILLOG_SEP_COMMA)) == NULL)
			return -1;
		*value = maillog_sv(p + 1, e);
		*angled = 1;
		e++;
	} else {
		if ((e = maillog_sep_find(p, end, ',')) == NULL)
			e = end;
		*value = maillog_sv(p, e);
	}
	*pp = e == end ? end : e + 2;
	return 0;
}

/* A client "NAME[ADDR]" (or "[ADDR]" from postscreen); "local" from cleanup. */
static int
maillog_client(struct strview v, struct maillog_line *out)
{
	const char *lb, *end = v.ptr + v.len;

	if (v.len == 0 || v.ptr[v.len - 1] != ']' ||
	    (lb = memchr(v.ptr, '[', v.len)) == NULL || lb + 2 > end - 1)
		return -1;
	out->client_name = maillog_sv(v.ptr, lb);
	out->client_addr = maillog_sv(lb + 1, end - 1);
	if (memchr(out->client_addr.ptr, '[', out->client_addr.len) != NULL ||
	    memchr(out->client_addr.ptr, ']', out->client_addr.len) != NULL)
		return -1;
	return 0;
}

/*
 * "QID: client=NAME[ADDR](:PORT)(, sasl_method=M)(, sasl_username=U)(, sasl_sender=S)
 * (, orig_queue_id=Q, orig_client=NAME[ADDR])", in that order (smtpd.c). S is the
 * client's own MAIL FROM AUTH= parameter, any printable text: with
 * AUTH="x, client=victim[192.0.2.9], sasl_username=victim" it would read as fields.
 * So everything from sasl_sender= on is opaque, and a field that matters seen twice
 * before it (which Postfix never writes) refuses the line. No value here is in <>:
 * each runs to the next ", ", so none can hide a ", sasl_sender=" from the split.
 */
static int
maillog_parse_client(const char *p, const char *end, struct maillog_line *out)
{
	struct strview name, value;
	const char *e;
	int seen = 0, seen_method = 0, seen_user = 0, seen_orig = 0;

	while (p < end) {
		if (maillog_name(&p, end, &name) < 0)
			return MAILLOG_ERR_FIELDS;
		if (strview_eq(name, "sasl_sender"))
			break;
		if ((e = maillog_sep_find(p, end, ',')) == NULL)
			e = end;
		value = maillog_sv(p, e);
		p = e == end ? end : e + 2;
		if (strview_eq(name, "client")) {
			const char *rb;

			if (seen++)
				return MAILLOG_ERR_DUPLICATE;
			/* smtpd_client_port_logging adds ":PORT" after the ']'. */
			if ((rb = memrchr(value.ptr, ']', value.len)) != NULL)
				value.len = (size_t)(rb - value.ptr) + 1;
			if (maillog_client(value, out) < 0)
				return MAILLOG_ERR_FIELDS;
		} else if (strview_eq(name, "sasl_method")) {
			if (seen_method++)
				return MAILLOG_ERR_DUPLICATE;
			out->sasl_method = value;
		} else if (strview_eq(name, "sasl_username")) {
			if (seen_user++)
				return MAILLOG_ERR_DUPLICATE;
			out->sasl_username = value;
		} else if (strview_eq(name, "orig_queue_id")) {
			if (seen_orig++)
				return MAILLOG_ERR_DUPLICATE;
			if (maillog_is_qid(value.ptr, value.len))
				out->orig_queue_id = value;
		}
	}
	return seen ? MAILLOG_CLIENT : MAILLOG_ERR_FIELDS;
}

static enum maillog_status
maillog_status_parse(struct strview v)
{
	switch (v.len) {
	case 4:
		if (memcmp(v.ptr, "sent", 4) == 0)
			return MAILLOG_STATUS_SENT;
		break;
	case 7:
		if (memcmp(v.ptr, "bounced", 7) == 0)
			return MAILLOG_STATUS_BOUNCED;
		if (memcmp(v.ptr, "expired", 7) == 0)
			return MAILLOG_STATUS_EXPIRED;
		break;
	case 8:
		if (memcmp(v.ptr, "deferred", 8) == 0)
			return MAILLOG_STATUS_DEFERRED;
		break;
	}
	return MAILLOG_STATUS_OTHER;
}

/*
 * "QID: from=<S>, size=N, nrcpt=N (queue active)", and the queue manager's
 * "QID: from=<S>, status=expired, returned to sender". Both fixed endings are
 * required, so that a line cut short is refused rather than read with a shorter
 * number.
 */
static int
maillog_parse_from(const char *p, const char *end, struct maillog_line *out)
{
	static const char active[] = " (queue active)";
	static const char expired[] = ", returned to sender";
	struct strview name, value, size = { NULL, 0 }, nrcpt = { NULL, 0 };
	uint64_t n;
	int angled, seen = 0;

	if ((size_t)(end - p) > sizeof(active) - 1 &&
	    memcmp(end - (sizeof(active) - 1), active, sizeof(active) - 1) == 0)
		end -= sizeof(active) - 1;
	else if ((size_t)(end - p) > sizeof(expired) - 1 &&
	    memcmp(end - (sizeof(expired) - 1), expired, sizeof(expired) - 1) == 0)
		end -= sizeof(expired) - 1;
	else
		return MAILLOG_ERR_FIELDS;

	while (p < end) {
		if (maillog_name(&p, end, &name) < 0 ||
		    maillog_value(&p, end, &value, &angled) < 0)
			return MAILLOG_ERR_FIELDS;
		if (strview_eq(name, "from")) {
			if (!angled)
				return MAILLOG_ERR_FIELDS;
			out->from = value;
			seen = 1;
		} else if (strview_eq(name, "size"))
			size = value;
		else if (strview_eq(name, "nrcpt"))
			nrcpt = value;
		else if (strview_eq(name, "status"))
			out->status = maillog_status_parse(value);
	}
	if (!seen)
		return MAILLOG_ERR_FIELDS;
	if (out->status == MAILLOG_STATUS_EXPIRED)
		return MAILLOG_FROM;
	if (maillog_u64(size, UINT64_MAX, &out->size) < 0 ||
	    maillog_u64(nrcpt, UINT32_MAX, &n) < 0)
		return MAILLOG_ERR_FIELDS;
	out->nrcpt = (uint32_t)n;
	return MAILLOG_FROM;
}

/* "5.1.1": class digit, 1-3 digits, 1-3 digits. Returns its length or 0. */
static size_t
maillog_dsn_len(const char *p, const char *end)
{
	const char *s = p;
	int part, n;

	if (p == end || (*p != '2' && *p != '4' && *p != '5'))
		return 0;
	p++;
	for (part = 0; part < 2; part++) {
		if (p == end || *p != '.')
			return 0;
		for (p++, n = 0; p < end && maillog_isdigit(*p); p++)
			if (++n > 3)
				return 0;
		if (n == 0)
			return 0;
	}
	return (size_t)(p - s);
}

/*
 * The outcome of a reject, whose DSN may be missing: then the class comes from
 * the SMTP code, as Postfix itself does it.
 */
static enum maillog_outcome
maillog_reject_outcome(const struct maillog_line *out)
{
	static const char *const fallback[] = { "4.0.0", "5.0.0" };
	struct strview dsn = out->dsn;

	if (dsn.len == 0 && out->reject_code.len == 3 &&
	    (out->reject_code.ptr[0] == '4' || out->reject_code.ptr[0] == '5')) {
		dsn.ptr = fallback[out->reject_code.ptr[0] == '5'];
		dsn.len = 5;
	}
	return maillog_classify(dsn, out->reply, MAILLOG_STATUS_NONE);
}

/*
 * Whether a status text (without its outer parentheses) is whole, not the start
 * of one cut short at a ')'. Postfix quotes a remote server as "host NAME[ADDR]
 * said: REPLY (in reply to COMMAND)", where REPLY is the peer's and may hold
 * any parentheses: such a text is whole when it ends in that "(in reply to ...)".
 * Any other text must have its parentheses balanced.
 */
static int
maillog_reply_whole(struct strview t)
{
	static const char inreply[] = " (in reply to ";
	const char *end = t.ptr + t.len, *last;
	int depth = 0;

	if (t.len > 0 && maillog_said(t.ptr, end) != NULL) {
		/* No command name holds '(': the last one opens "(in reply to". */
		if (t.ptr[t.len - 1] != ')' ||
		    (last = memrchr(t.ptr, '(', t.len)) == NULL || last == t.ptr ||
		    end - (last - 1) < (ptrdiff_t)sizeof(inreply) ||
		    memcmp(last - 1, inreply, sizeof(inreply) - 1) != 0 ||
		    memchr(last, ')', (size_t)(end - 1 - last)) != NULL)
			return -1;
		return 0;
	}
	/* Parentheses are rare in these texts (every "250 2.0.0 Ok: queued as ..." is one):
	 * from one to the next with memchr, not a byte at a time. */
	const char *open = memchr(t.ptr, '(', t.len), *close = memchr(t.ptr, ')', t.len);
	while (open != NULL || close != NULL) {
		if (close == NULL || (open != NULL && open < close)) {
			depth++;
			open = memchr(open + 1, '(', (size_t)(end - (open + 1)));
		} else {
			if (--depth < 0)
				return -1;
			close = memchr(close + 1, ')', (size_t)(end - (close + 1)));
		}
	}
	return depth == 0 ? 0 : -1;
}

/*
 * "QID: to=<R>, orig_to=<O>, relay=R, (conn_use=N,) delay=D, delays=a/b/c/d,
 * (tls=T,) dsn=X.Y.Z, status=S (TEXT)". status= is always last and its text runs
 * to the end of the line; a text cut short is refused (maillog_reply_whole). R and O
 * are the client's, quoted by Postfix where they hold specials; a to=, orig_to=,
 * relay= or dsn= seen twice is not Postfix's writing and refuses the line.
 */
static int
maillog_parse_delivery(const char *p, const char *end, struct maillog_line *out)
{
	struct strview name, value;
	int angled, seen_to = 0, seen_orig = 0, seen_relay = 0, seen_dsn = 0;

	while (p < end) {
		if (maillog_name(&p, end, &name) < 0)
			return MAILLOG_ERR_FIELDS;
		if (strview_eq(name, "status")) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			if (sp == NULL || sp == p || end - sp < 3 || sp[1] != '(' ||
			    end[-1] != ')')
				return MAILLOG_ERR_FIELDS;
			out->status = maillog_status_parse(maillog_sv(p, sp));
			out->reply = maillog_sv(sp + 2, end - 1);
			if (maillog_reply_whole(out->reply) < 0)
				return MAILLOG_ERR_FIELDS;
			break;
		}
		if (maillog_value(&p, end, &value, &angled) < 0)
			return MAILLOG_ERR_FIELDS;
		if (strview_eq(name, "to")) {
			if (!angled)
				return MAILLOG_ERR_FIELDS;
			if (seen_to++)
				return MAILLOG_ERR_DUPLICATE;
			out->to = value;
		} else if (strview_eq(name, "orig_to")) {
			if (seen_orig++)
				return MAILLOG_ERR_DUPLICATE;
			out->orig_to = value;
		} else if (strview_eq(name, "relay")) {
			if (seen_relay++)
				return MAILLOG_ERR_DUPLICATE;
			out->relay = value;
		} else if (strview_eq(name, "dsn")) {
			if (maillog_dsn_len(value.ptr, value.ptr + value.len) != value.len)
				return MAILLOG_ERR_FIELDS;
			if (seen_dsn++)
				return MAILLOG_ERR_DUPLICATE;
			out->dsn = value;
		}
	}
	if (!seen_to || out->status == MAILLOG_STATUS_NONE)
		return MAILLOG_ERR_FIELDS;
	out->outcome = maillog_classify(out->dsn, out->reply, out->status);
	return MAILLOG_DELIVERY;
}

/*
 * Reads the tail Postfix appends to a reject, " from=<S> to=<R> proto=P
 * helo=<H>" (any of them may be missing; postscreen separates them with ", ")
 * starting at p, just after the ';'. It ends at the end of the line or, when
 * text_after (cleanup's header/body rejects), at ": " with the reply after it;
 * *stop is set there. Returns 0, or -1 when p does not start such a tail.
 */
static int
maillog_reject_tail(const char *p, const char *end, int text_after,
    struct maillog_line *out, const char **stop)
{
	struct strview name, value, from = { NULL, 0 }, to = { NULL, 0 };
	int first = 1, proto = 0, seen_from = 0, seen_to = 0, seen_helo = 0;

	for (;;) {
		const char *v;

		if (p == end || *p != ' ')
			return -1;
		p++;
		if (maillog_name(&p, end, &name) < 0)
			return -1;
		if (first && !strview_eq(name, "from") && !strview_eq(name, "to") &&
		    !strview_eq(name, "proto") && !strview_eq(name, "helo"))
			return -1;
		first = 0;
		if (p < end && *p == '<') {
			if ((v = maillog_angle_close(p, end, MAILLOG_SEP_REJECT)) == NULL)
				return -1;
			value = maillog_sv(p + 1, v);
			p = v + 1;
		} else {
			for (v = p; v < end && *v != ' ' && *v != ',' && *v != ':'; v++)
				;
			value = maillog_sv(p, v);
			p = v;
		}
		/* Postfix writes each once: a repeat is a sender's or recipient's text. */
		if (strview_eq(name, "from")) {
			if (seen_from++)
				return -1;
			from = value;
		} else if (strview_eq(name, "to")) {
			if (seen_to++)
				return -1;
			to = value;
		} else if (strview_eq(name, "proto")) {
			if (proto++)
				return -1;
		} else if (strview_eq(name, "helo") && seen_helo++)
			return -1;
		if (p == end)
			break;
		if (*p == ',' && end - p >= 2 && p[1] == ' ')
			p++;
		else if (*p == ':') {
			if (!text_after || end - p < 2 || p[1] != ' ')
				return -1;
			break;
		}
	}
	/*
	 * smtpd and postscreen always log proto=, after from= and to=: without it the
	 * line was cut short and to= may be missing. cleanup ends in ": TEXT".
	 */
	if (text_after ? p == end : !proto)
		return -1;
	out->from = from;
	out->to = to;
	*stop = p;
	return 0;
}

/*
 * Finds the "; from=<S> ..." tail in [p, end): the first "; " that starts a tail
 * reaching the end of the line (or, for cleanup, a ": " reply). Any "; " inside a
 * remote reply ("Service unavailable; Client host [x] blocked using ...") does not
 * start a tail and is skipped. Returns the ';' or NULL. Each try may read to the
 * end of the line, so tries are capped: a line crafted with thousands of
 * "; from=<" costs MAILLOG_TAIL_TRIES passes, not thousands.
 */
static const char *
maillog_find_tail(const char *p, const char *end, int text_after,
    struct maillog_line *out, const char **stop)
{
	const char *semi;
	int tries = 0;

	while (tries++ < MAILLOG_TAIL_TRIES &&
	    (semi = maillog_sep_find(p, end, ';')) != NULL) {
		if (maillog_reject_tail(semi + 1, end, text_after, out, stop) == 0)
			return semi;
		p = semi + 1;
	}
	return NULL;
}

/* Splits "550 5.1.1 <r>: text" into reject_code and dsn; reply is all of it. */
static void
maillog_reply_codes(struct strview reply, struct maillog_line *out)
{
	const char *p = reply.ptr, *end = reply.ptr + reply.len;
	size_t n;

	out->reply = reply;
	if (end - p >= 4 && (p[0] == '4' || p[0] == '5') && maillog_isdigit(p[1]) &&
	    maillog_isdigit(p[2]) && p[3] == ' ') {
		out->reject_code = maillog_sv(p, p + 3);
		p += 4;
	}
	if ((n = maillog_dsn_len(p, end)) > 0 && (p + n == end || p[n] == ' '))
		out->dsn = maillog_sv(p, p + n);
}

/*
 * True when the ';' at q starts a reject's tail, whole or cut: "; " and a field
 * name it opens with (from=<, to=<, proto=, helo=<), or as much of them as the line
 * still holds.
 */
static int
maillog_tail_start(const char *q, const char *end)
{
	static const char *const names[] = { "; from=<", "; to=<", "; proto=", "; helo=<" };
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if ((size_t)(end - q) < n)
			n = (size_t)(end - q);
		if (memcmp(q, names[i], n) == 0)
			return 1;
	}
	return 0;
}

/*
 * An smtpd or postscreen reject cut short (a syslog relay's line limit) before or
 * inside its "; from=<S> to=<R> proto=P" tail, p at its reply: the client was read
 * already. The reply runs to the first "; " and a tail's first field name (from=<,
 * to=<, proto=, helo=<), or what the line holds of them, or to the end; it
 * must hold the reply code and DSN, or the line is refused. A RCPT reject's
 * recipient is the "<R>: " that opens smtpd's reply after the codes (the tail's
 * to= repeats it); other replies name none and the caller counts no recipient.
 */
static int
maillog_reject_cut(const char *p, const char *end, struct maillog_line *out)
{
	const char *q = p, *r, *v, *close;

	while ((q = memchr(q, ';', (size_t)(end - q))) != NULL && !maillog_tail_start(q, end))
		q++;
	r = q != NULL ? q : end;
	maillog_reply_codes(maillog_sv(p, r), out);
	if (out->reject_code.len == 0 || out->dsn.len == 0)
		return MAILLOG_ERR_FIELDS;
	v = out->dsn.ptr + out->dsn.len;
	if (strview_eq(out->reject_stage, "RCPT") && r - v >= 2 && v[0] == ' ' && v[1] == '<' &&
	    (close = maillog_angle_close(v + 1, r, MAILLOG_SEP_REJECT)) != NULL &&
	    close + 1 < r && close[1] == ':')
		out->to = maillog_sv(v + 2, close);
	out->outcome = maillog_reject_outcome(out);
	return MAILLOG_REJECT;
}

/*
 * After "reject: " or "milter-reject: ":
 *   smtpd:   "STAGE from NAME[ADDR]: CODE DSN TEXT; from=<S> to=<R> proto=P helo=<H>"
 *   postscreen: "RCPT from [ADDR]:PORT: CODE TEXT; from=<S>, to=<R>, proto=P, helo=<H>"
 *   cleanup: "header|body|content TEXT from NAME[ADDR]; from=<S> to=<R> proto=P helo=<H>: DSN TEXT"
 * smtpd and postscreen write the client before anything a client chose (NAME is a
 * checked host name or "unknown"), so it is read from there. cleanup writes it after
 * up to 200 bytes of the message's own header or body, which may hold a whole fake
 * "from victim[ADDR]; from=<a> to=<b> proto=ESMTP helo=<h>: ": no client is read from
 * such a line, the caller goes by the queue ID; S, R and the DSN found there are the
 * sender's own business (they only shape the outcome counted for that sender).
 */
static int
maillog_parse_reject(const char *p, const char *end, struct maillog_line *out)
{
	const char *sp, *semi, *stop, *q;

	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL || sp == p)
		return MAILLOG_ERR_FIELDS;
	out->reject_stage = maillog_sv(p, sp);

	if (strview_eq(out->reject_stage, "header") || strview_eq(out->reject_stage, "body") ||
	    strview_eq(out->reject_stage, "content")) {
		if (out->queue_id.len == 0 ||
		    maillog_find_tail(sp, end, 1, out, &stop) == NULL)
			return MAILLOG_ERR_FIELDS;
		maillog_reply_codes(maillog_sv(stop + 2, end), out);
		out->outcome = maillog_reject_outcome(out);
		return MAILLOG_REJECT;
	}

	/* "STAGE from " then the client up to its ']' and an optional ":PORT". */
	for (q = p; q < sp; q++)
		if (!(((unsigned)*q - 'A' < 26) || *q == '-'))
			return MAILLOG_ERR_FIELDS;
	p = sp + 1;
	if (!MAILLOG_HAS(p, end, "from "))
		return MAILLOG_ERR_FIELDS;
	p += 5;
	if ((q = memchr(p, ']', (size_t)(end - p))) == NULL ||
	    maillog_client(maillog_sv(p, q + 1), out) < 0)
		return MAILLOG_ERR_FIELDS;
	p = q + 1;
	if (p < end && *p == ':' && p + 1 < end && maillog_isdigit(p[1]))
		for (p++; p < end && maillog_isdigit(*p); p++)
			;
	if (!MAILLOG_HAS(p, end, ": "))
		return MAILLOG_ERR_FIELDS;
	p += 2;
	if ((semi = maillog_find_tail(p, end, 0, out, &stop)) == NULL)
		return maillog_reject_cut(p, end, out);
	maillog_reply_codes(maillog_sv(p, semi), out);
	out->outcome = maillog_reject_outcome(out);
	return MAILLOG_REJECT;
}

/*
 * "connect from NAME[ADDR](:PORT)" and "disconnect from NAME[ADDR](:PORT) ehlo=1 ...":
 * an smtpd session's ends, which tell how many sessions a client has open at once.
 * NAME is the client's verified host name (letters, digits, '-', '.') or "unknown".
 * The line stays MAILLOG_OTHER; session is set only when NAME[ADDR] parses.
 */
static int
maillog_parse_session(const char *p, const char *end, enum maillog_session what, struct maillog_line *out)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p)), *rb;
	struct strview v = maillog_sv(p, sp != NULL ? sp : end);

	if ((rb = memrchr(v.ptr, ']', v.len)) != NULL)
		v.len = (size_t)(rb - v.ptr) + 1;       /* smtpd_client_port_logging's ":PORT" */
	if (maillog_client(v, out) == 0)
		out->session = what;
	else
		out->client_name = out->client_addr = (struct strview){ 0 };
	return MAILLOG_OTHER;
}

/* The message after "program[pid]: ": queue ID first, then the kind by its first word. */
static int
maillog_parse_message(const char *p, const char *end, struct maillog_line *out)
{
	const char *colon;
	size_t n;
	int noqueue;

	if (MAILLOG_HAS(p, end, "connect from "))
		return maillog_parse_session(p + 13, end, MAILLOG_SESSION_CONNECT, out);
	if (MAILLOG_HAS(p, end, "disconnect from "))
		return maillog_parse_session(p + 16, end, MAILLOG_SESSION_DISCONNECT, out);

	n = (size_t)(end - p) < MAILLOG_QID_MAX + 2 ? (size_t)(end - p) : MAILLOG_QID_MAX + 2;
	if ((colon = memchr(p, ':', n)) == NULL || colon + 1 >= end || colon[1] != ' ')
		return MAILLOG_OTHER;
	n = (size_t)(colon - p);
	noqueue = n == 7 && memcmp(p, "NOQUEUE", 7) == 0;
	if (!noqueue && !maillog_is_qid(p, n))
		return maillog_qid_shaped(p, n) ? MAILLOG_ERR_QUEUE_ID : MAILLOG_OTHER;
	if (!noqueue)
		out->queue_id = maillog_sv(p, colon);
	p = colon + 2;

	if (MAILLOG_HAS(p, end, "reject: ")) {
		out->action = maillog_sv(p, p + 6);
		return maillog_parse_reject(p + 8, end, out);
	}
	if (MAILLOG_HAS(p, end, "milter-reject: ")) {
		out->action = maillog_sv(p, p + 13);
		return maillog_parse_reject(p + 15, end, out);
	}
	if (noqueue)
		return MAILLOG_OTHER;
	if (MAILLOG_HAS(p, end, "to=<"))
		return maillog_parse_delivery(p, end, out);
	if (MAILLOG_HAS(p, end, "client="))
		return maillog_parse_client(p, end, out);
	if (MAILLOG_HAS(p, end, "from=<"))
		return maillog_parse_from(p, end, out);
	if (end - p == 7 && memcmp(p, "removed", 7) == 0)
		return MAILLOG_REMOVED;
	return MAILLOG_OTHER;
}

/*
 * Dovecot's login line after "Login: ", its login_log_format_elements joined by ", "
 * (default "user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>"):
 * "user=<alice@example.net>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=1234, TLS,
 * session=<...>". Dovecot writes the user name as it is: "bob>, rip=198.51.100.9" (a name
 * a passdb with an empty auth_username_chars accepts) reads as a user "bob" and a rip of
 * the client's choosing. The user's value ends at its first '>' followed by ", " or the
 * end; no other field of Dovecot's but session=<ID> holds '<' or '>', and none appears
 * twice: a name that smuggles in fields leaves a stray '>' or a second rip= behind, and
 * refuses the line (MAILLOG_ERR_DUPLICATE) instead of moving the login to another account.
 */
static int
maillog_parse_login(const char *p, const char *end, struct maillog_line *out)
{
	int seen_user = 0, seen_method = 0, seen_rip = 0, seen_lip = 0, seen_mpid = 0, seen_session = 0;

	while (p < end) {
		const char *e, *eq;
		struct strview name, value;

		if (MAILLOG_HAS(p, end, "user=<")) {
			const char *q = p + 6, *gt = q;

			if (seen_user++)
				return MAILLOG_ERR_DUPLICATE;
			while ((gt = memchr(gt, '>', (size_t)(end - gt))) != NULL &&
			    !(gt + 1 == end || (end - gt >= 3 && gt[1] == ',' && gt[2] == ' ')))
				gt++;
			if (gt == NULL || gt == q)
				return MAILLOG_ERR_FIELDS;
			out->login_user = maillog_sv(q, gt);
			p = gt + 1 == end ? end : gt + 3;
			continue;
		}
		if ((e = maillog_sep_find(p, end, ',')) == NULL)
			e = end;
		eq = memchr(p, '=', (size_t)(e - p));
		name = maillog_sv(p, eq != NULL ? eq : e);
		value = eq != NULL ? maillog_sv(eq + 1, e) : maillog_sv(e, e);
		p = e == end ? end : e + 2;
		if (strview_eq(name, "session")) {
			if (seen_session++)
				return MAILLOG_ERR_DUPLICATE;
			if (value.len < 2 || value.ptr[0] != '<' || value.ptr[value.len - 1] != '>' ||
			    memchr(value.ptr + 1, '<', value.len - 2) != NULL ||
			    memchr(value.ptr + 1, '>', value.len - 2) != NULL)
				return MAILLOG_ERR_DUPLICATE;
			continue;
		}
		if (memchr(name.ptr, '<', (size_t)(e - name.ptr)) != NULL ||
		    memchr(name.ptr, '>', (size_t)(e - name.ptr)) != NULL)
			return MAILLOG_ERR_DUPLICATE;
		if (strview_eq(name, "rip")) {
			if (seen_rip++)
				return MAILLOG_ERR_DUPLICATE;
			out->client_addr = value;
		} else if (strview_eq(name, "method")) {
			if (seen_method++)
				return MAILLOG_ERR_DUPLICATE;
			out->sasl_method = value;
		} else if (strview_eq(name, "lip")) {
			if (seen_lip++)
				return MAILLOG_ERR_DUPLICATE;
		} else if (strview_eq(name, "mpid")) {
			if (seen_mpid++)
				return MAILLOG_ERR_DUPLICATE;
		}
	}
	if (out->login_user.len == 0 || out->client_addr.len == 0)
		return MAILLOG_ERR_FIELDS;
	return MAILLOG_LOGIN;
}

/*
 * A program's line that is not Postfix's: Dovecot's logins, by syslog ("dovecot:
 * imap-login: Login: ...", Debian's mail.log) or in its own log_path file
 * ("imap-login: Info: Login: ...", no host); its failed logins. Anything else,
 * Dovecot's other lines included, is MAILLOG_ERR_NOT_POSTFIX. service is
 * "imap-login", "pop3-login", "submission-login", "managesieve-login".
 */
static int
maillog_program_dovecot(const char *tag, const char *tagend, const char *p, const char *end,
    struct maillog_line *out)
{
	const char *colon;

	if (tagend - tag == 7 && memcmp(tag, "dovecot", 7) == 0) {
		if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL || colon - p < 7 ||
		    memcmp(colon - 6, "-login", 6) != 0 || !MAILLOG_HAS(colon, end, ": ") ||
		    memchr(p, ' ', (size_t)(colon - p)) != NULL)
			return MAILLOG_ERR_NOT_POSTFIX;
		out->service = maillog_sv(p, colon);
		p = colon + 2;
	} else if (tagend - tag >= 7 && memcmp(tagend - 6, "-login", 6) == 0 && MAILLOG_HAS(p, end, "Info: ")) {
		out->service = maillog_sv(tag, tagend);
		p += 6;
	} else
		return MAILLOG_ERR_NOT_POSTFIX;
	if (MAILLOG_HAS(p, end, "Login: "))
		return maillog_parse_login(p + 7, end, out);
	if ((MAILLOG_HAS(p, end, "Disconnected") || MAILLOG_HAS(p, end, "Aborted login")) &&
	    memmem(p, (size_t)(end - p), "(auth failed, ", 14) != NULL)
		return MAILLOG_LOGIN_FAILED;
	return MAILLOG_ERR_NOT_POSTFIX;
}

/*
 * The program of a tag ("postfix/smtpd", "postfix-out/smtp"), [tag, tagend) without
 * its "[pid]", into out; then the message at p. The program must start with
 * "postfix" (MAILLOG_ERR_NOT_POSTFIX) and hold no bracket or empty last component.
 */
static int
maillog_program(const char *tag, const char *tagend, const char *p, const char *end,
    struct maillog_line *out)
{
	const char *slash;

	if (tagend == tag || tagend[-1] == '/' ||
	    memchr(tag, '[', (size_t)(tagend - tag)) != NULL ||
	    memchr(tag, ']', (size_t)(tagend - tag)) != NULL)
		return MAILLOG_ERR_HEADER;
	out->program = maillog_sv(tag, tagend);
	out->message = maillog_sv(p, end);
	if (!MAILLOG_HAS(tag, tagend, "postfix"))
		return maillog_program_dovecot(tag, tagend, p, end, out);
	if ((slash = memrchr(tag, '/', (size_t)(tagend - tag))) != NULL) {
		out->syslog_name = maillog_sv(tag, slash);
		out->service = maillog_sv(slash + 1, tagend);
	} else
		out->service = out->program;
	return maillog_parse_message(p, end, out);
}

/* The word at *p up to the next space (or the end) into *w; *p past the space. */
static int
maillog_word(const char **p, const char *end, struct strview *w)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));

	if (sp == NULL || sp == *p)
		return -1;
	*w = maillog_sv(*p, sp);
	*p = sp + 1;
	return 0;
}

/*
 * RFC 5424, after "<PRI>1 ": "TIMESTAMP HOST APP PROCID MSGID SD MSG", HOST,
 * PROCID and MSGID "-" when absent, SD "-" or "[id name="value" ...]..." (a value may hold
 * "\]" and "\""), MSG perhaps after a UTF-8 byte order mark. rsyslog's
 * RSYSLOG_SyslogProtocol23Format writes Postfix's tag as APP "postfix/qmgr" and
 * PROCID "1234".
 */
static int
maillog_parse_5424(const char *p, const char *end, struct maillog_line *out)
{
	struct strview host, app, procid, msgid;
	uint64_t pid;

	/* A nil time stamp ("-") is refused like any line without one. */
	if ((p = maillog_time_3339(p, end, &out->time)) == NULL || p == end ||
	    *p++ != ' ' || !out->time.has_tz)
		return MAILLOG_ERR_TIMESTAMP;
	if (maillog_word(&p, end, &host) < 0 || maillog_word(&p, end, &app) < 0 ||
	    maillog_word(&p, end, &procid) < 0 || maillog_word(&p, end, &msgid) < 0)
		return MAILLOG_ERR_HEADER;
	if (!strview_eq(host, "-"))
		out->host = host;
	if (!strview_eq(procid, "-")) {
		if (maillog_u64(procid, UINT32_MAX, &pid) < 0)
			return MAILLOG_ERR_HEADER;
		out->pid = (uint32_t)pid;
	}
	if (p < end && *p == '-')
		p++;
	else if (p < end && *p == '[') {
		while (p < end && *p == '[') {
			int quoted = 0;

			for (p++; p < end && (quoted || *p != ']'); p++) {
				if (quoted && *p == '\\' && p + 1 < end)
					p++;
				else if (*p == '"')
					quoted = !quoted;
			}
			if (p == end)
				return MAILLOG_ERR_HEADER;
			p++;
		}
	} else
		return MAILLOG_ERR_HEADER;
	if (p < end && *p++ != ' ')
		return MAILLOG_ERR_HEADER;
	if (MAILLOG_HAS(p, end, "\xef\xbb\xbf"))
		p += 3;
	return maillog_program(app.ptr, app.ptr + app.len, p, end, out);
}

/*
 * The syslog header: time stamp, host (absent in some relays' output), then
 * "program[pid]: " or "program: ". After a "<PRI>", "1 " starts RFC 5424.
 */
int
maillog_parse_line(const uint8_t *buf, size_t len, struct maillog_line *out)
{
	const char *p = (const char *)buf, *end, *sp, *tag, *tagend;
	struct strview first;

	memset(out, 0, sizeof(*out));
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	/* Blanks after the last field (some relays pad the status text): never Postfix's. */
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len > MAILLOG_MAX_LINE)
		return MAILLOG_ERR_TOO_LONG;
	if (len > 0 && memchr(p, '\0', len) != NULL)
		return MAILLOG_ERR_NUL;
	end = p + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end)
		return MAILLOG_ERR_EMPTY;

	/* A "<PRI>" left in front by syslog relays that store what they receive. */
	if (*p == '<') {
		const char *q = p + 1;

		while (q < end && q - p <= 3 && maillog_isdigit(*q))
			q++;
		if (q == p + 1 || q == end || *q != '>')
			return MAILLOG_ERR_TIMESTAMP;
		p = q + 1;
		if (MAILLOG_HAS(p, end, "1 "))
			return maillog_parse_5424(p + 2, end, out);
	}
	if (p == end)
		return MAILLOG_ERR_TIMESTAMP;
	if (maillog_isdigit(*p))
		p = maillog_time_3339(p, end, &out->time);
	else
		p = maillog_time_3164(p, end, &out->time);
	if (p == NULL || (p < end && *p != ' '))
		return MAILLOG_ERR_TIMESTAMP;
	if (p == end)
		return MAILLOG_ERR_HEADER;
	while (p < end && *p == ' ')
		p++;

	/* Host, unless the first word already is the tag ("program[pid]:"). */
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return MAILLOG_ERR_HEADER;
	first = maillog_sv(p, sp);
	if (first.len > 0 && first.ptr[first.len - 1] == ':') {
		tag = p;
		tagend = sp - 1;
	} else {
		out->host = first;
		tag = sp + 1;
		if ((sp = memchr(tag, ' ', (size_t)(end - tag))) == NULL) {
			/* "program[pid]:" with no message at all. */
			if (end > tag && end[-1] == ':')
				sp = end;
			else
				return MAILLOG_ERR_HEADER;
		}
		if (sp == tag || sp[-1] != ':')
			return MAILLOG_ERR_HEADER;
		tagend = sp - 1;
	}

	/* "program[pid]" or "program" */
	if (tagend > tag && tagend[-1] == ']') {
		const char *lb = memrchr(tag, '[', (size_t)(tagend - tag));
		uint64_t pid;

		if (lb == NULL || maillog_u64(maillog_sv(lb + 1, tagend - 1),
		    UINT32_MAX, &pid) < 0)
			return MAILLOG_ERR_HEADER;
		out->pid = (uint32_t)pid;
		tagend = lb;
	}
	return maillog_program(tag, tagend, sp < end ? sp + 1 : end, end, out);
}

/* Wording classes found in a remote reply. */
#define MAILLOG_WORD_FULL    0x1u       /* the mailbox is full */
#define MAILLOG_WORD_SPAM    0x2u       /* spam, listings, reputation */
#define MAILLOG_WORD_UNKNOWN 0x4u       /* no such recipient */

/* A byte that continues a word: a letter or digit, '_', or part of a UTF-8 letter. */
static int
maillog_wordbyte(unsigned char c)
{
	return (unsigned)c - 'a' < 26u || (unsigned)c - '0' < 10u || c == '_' || c >= 0x80;
}

/*
 * The wording classes of the phrases starting at s (lower case, n bytes left,
 * s at the start of a word). A phrase matches on word boundaries: "rbl" is not
 * found in "marblecraft", nor "listed" in "unlisted". W() also wants the phrase's
 * end to be a word's end; P() lets the word go on ("blacklist" finds
 * "blacklisted", "spam" finds "spamhaus", "spammer"). "listed" alone is no spam
 * wording: Domino says "User not listed in public Name & Address Book", a
 * sender check "not listed in the allowed senders"; a listing reads "is listed",
 * "listed at/by/on". Each phrase was checked against real replies (the table in
 * tests/unit/test_maillog.c): Gmail, Outlook/Exchange Online, Yahoo, GMX, AT&T,
 * Comcast, Spamhaus, SpamCop, SORBS and Barracuda listings, Dovecot and Postfix
 * local delivery. One switch on the first letter keeps the scan to one pass.
 */
static unsigned
maillog_words_at(const char *s, size_t n)
{
	unsigned m = 0;

#define P(lit, cls) do { \
	if (n >= sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0) \
		m |= (cls); \
} while (0)
#define W(lit, cls) do { \
	if (n >= sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0 && \
	    (n == sizeof(lit) - 1 || !maillog_wordbyte((unsigned char)s[sizeof(lit) - 1]))) \
		m |= (cls); \
} while (0)
	switch (s[0]) {
	case 'a':
		W("are listed", MAILLOG_WORD_SPAM);
		break;
	case 'b':
		P("blocklist", MAILLOG_WORD_SPAM);
		P("blacklist", MAILLOG_WORD_SPAM);
		P("block list", MAILLOG_WORD_SPAM);
		P("black list", MAILLOG_WORD_SPAM);
		W("blocked using", MAILLOG_WORD_SPAM);
		W("bulk", MAILLOG_WORD_SPAM);
		W("been listed", MAILLOG_WORD_SPAM);
		break;
	case 'd':
		P("dnsbl", MAILLOG_WORD_SPAM);
		P("denylist", MAILLOG_WORD_SPAM);
		P("does not exist", MAILLOG_WORD_UNKNOWN);
		P("doesn't exist", MAILLOG_WORD_UNKNOWN);
		P("doesn't have a", MAILLOG_WORD_UNKNOWN);
		break;
	case 'e':
		P("exceeded quota", MAILLOG_WORD_FULL);
		P("exceeds quota", MAILLOG_WORD_FULL);
		break;
	case 'i':
		P("insufficient storage", MAILLOG_WORD_FULL);
		P("invalid recipient", MAILLOG_WORD_UNKNOWN);
		W("is listed", MAILLOG_WORD_SPAM);
		break;
	case 'l':
		W("listed at", MAILLOG_WORD_SPAM);
		W("listed by", MAILLOG_WORD_SPAM);
		W("listed on", MAILLOG_WORD_SPAM);
		break;
	case 'm':
		P("mailbox full", MAILLOG_WORD_FULL);
		P("mailbox is full", MAILLOG_WORD_FULL);
		P("mailbox unavailable", MAILLOG_WORD_UNKNOWN);
		P("mailbox not found", MAILLOG_WORD_UNKNOWN);
		break;
	case 'n':
		P("no such user", MAILLOG_WORD_UNKNOWN);
		P("no such recipient", MAILLOG_WORD_UNKNOWN);
		P("no mailbox", MAILLOG_WORD_UNKNOWN);
		break;
	case 'o':
		P("over quota", MAILLOG_WORD_FULL);
		break;
	case 'q':
		P("quota exceeded", MAILLOG_WORD_FULL);
		P("quotaexceeded", MAILLOG_WORD_FULL);
		break;
	case 'r':
		W("rbl", MAILLOG_WORD_SPAM);
		W("rbls", MAILLOG_WORD_SPAM);
		W("reputation", MAILLOG_WORD_SPAM);
		P("recipient not found", MAILLOG_WORD_UNKNOWN);
		P("recipient unknown", MAILLOG_WORD_UNKNOWN);
		break;
	case 's':
		P("spam", MAILLOG_WORD_SPAM);      /* also "spamhaus", "spamcop", "spammer" */
		break;
	case 'u':
		W("unsolicited", MAILLOG_WORD_SPAM);
		W("ube", MAILLOG_WORD_SPAM);       /* unsolicited bulk e-mail (Barracuda) */
		P("user unknown", MAILLOG_WORD_UNKNOWN);
		P("unknown user", MAILLOG_WORD_UNKNOWN);
		P("unknown recipient", MAILLOG_WORD_UNKNOWN);
		P("user not listed", MAILLOG_WORD_UNKNOWN);  /* Domino: "... in public Name & Address Book" */
		break;
	case 'w':
		W("was listed", MAILLOG_WORD_SPAM);
		break;
	}
#undef W
#undef P
	return m;
}

/*
 * The wording classes of a reply (lower case, n bytes), read word by word in the
 * peer's prose only. Skipped: "<...>" (an address, which its sender chose:
 * "<spam@example.org>"; a '<' that nothing closes, to the end), and any blank-separated token holding an '@', or a '.'
 * or '/' between two word bytes — a domain, address, URL, IP address or DSN
 * ("marblecraft.example", "zen.spamhaus.org", "https://.../rbl"). The prose around
 * them names a listing anyway ("blocked using", "listed at"). '-' and ':' split
 * words ("anti-spam", "DNSBL:RBL").
 */
static unsigned
maillog_reply_words(const char *s, size_t n)
{
	unsigned words = 0;
	size_t i = 0, te, j;

	while (i < n) {
		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		if (s[i] == '<') {
			const char *gt = memchr(s + i, '>', n - i);

			i = gt != NULL ? (size_t)(gt - s) + 1 : n;
			continue;
		}
		/* one token: up to a blank or a '<' */
		int skip = 0;

		for (te = i; te < n && s[te] != ' ' && s[te] != '\t' && s[te] != '<'; te++)
			if (s[te] == '@' || ((s[te] == '.' || s[te] == '/') && te > i && te + 1 < n &&
			    maillog_wordbyte((unsigned char)s[te - 1]) &&
			    maillog_wordbyte((unsigned char)s[te + 1])))
				skip = 1;
		if (!skip)
			for (j = i; j < te; j++)
				if ((unsigned)(unsigned char)s[j] - 'a' < 26u &&
				    (j == i || !maillog_wordbyte((unsigned char)s[j - 1])))
					words |= maillog_words_at(s + j, n - j);
		i = te;
	}
	return words;
}

/*
 * The outcome, in this order: delivered (status=sent); mailbox full (x.2.2 or its
 * wording, 4.x.x and 5.x.x alike); temporary (4.x.x and status=deferred, unless the
 * message bounced or expired: then the result is final and read as 5.x.x); unknown
 * recipient (x.1.x); spam (any permanent reply with spam or listing wording);
 * policy (other 5.7.x); unknown recipient by wording (Outlook's 5.5.0 "mailbox
 * unavailable", Yahoo's 5.0.0 "doesn't have a yahoo.com account"); other permanent.
 * Only the peer's words count, not "host NAME[ADDR] said:" before them: a relay
 * named mx.spamexperts.example saying "no such user" gives no spam verdict; nor
 * addresses and domains inside the reply (maillog_reply_words).
 */
enum maillog_outcome
maillog_classify(struct strview dsn, struct strview reply, enum maillog_status status)
{
	char lower[MAILLOG_MAX_LINE];
	const char *end, *p;
	int cls = 0, subject = -1, detail = -1;
	unsigned words = 0;
	size_t i, n;

	if (status == MAILLOG_STATUS_SENT)
		return MAILLOG_OUTCOME_DELIVERED;
	if (dsn.len > 0 && maillog_dsn_len(dsn.ptr, (end = dsn.ptr + dsn.len)) == dsn.len) {
		cls = dsn.ptr[0];
		for (p = dsn.ptr + 2, subject = 0; *p != '.'; p++)
			subject = subject * 10 + (*p - '0');
		for (p++, detail = 0; p < end; p++)
			detail = detail * 10 + (*p - '0');
	}
	if (status == MAILLOG_STATUS_BOUNCED || status == MAILLOG_STATUS_EXPIRED)
		cls = '5';
	else if (status == MAILLOG_STATUS_DEFERRED)
		cls = '4';
	if (cls == '2')
		return MAILLOG_OUTCOME_DELIVERED;
	if (subject == 2 && detail == 2)
		return MAILLOG_OUTCOME_MAILBOX_FULL;
	if (cls == '5' && subject == 1)
		return MAILLOG_OUTCOME_UNKNOWN_RECIPIENT;

	if (reply.len > 0 && (p = maillog_said(reply.ptr, reply.ptr + reply.len)) != NULL) {
		reply.len -= (size_t)(p - reply.ptr);
		reply.ptr = p;
	}
	n = reply.len < sizeof(lower) ? reply.len : sizeof(lower);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)reply.ptr[i];

		lower[i] = (char)(c - 'A' < 26 ? c | 0x20 : c);
	}
	words = maillog_reply_words(lower, n);

	if (words & MAILLOG_WORD_FULL)
		return MAILLOG_OUTCOME_MAILBOX_FULL;
	if (cls == '4')
		return MAILLOG_OUTCOME_TEMPORARY;
	if (subject == 1)
		return MAILLOG_OUTCOME_UNKNOWN_RECIPIENT;
	if (words & MAILLOG_WORD_SPAM)
		return MAILLOG_OUTCOME_SPAM_REJECTED;
	if (subject == 7)
		return MAILLOG_OUTCOME_POLICY_REJECTED;
	if (words & MAILLOG_WORD_UNKNOWN)
		return MAILLOG_OUTCOME_UNKNOWN_RECIPIENT;
	return MAILLOG_OUTCOME_OTHER_PERMANENT;
}

const char *
maillog_kind_name(int kind)
{
	if (kind < 0 || kind >= MAILLOG_KIND_COUNT)
		return "unknown";
	return maillog_kind_names[kind];
}

const char *
maillog_error_name(int err)
{
	if (err > 0 || err < -MAILLOG_ERROR_COUNT)
		return "unknown";
	return maillog_error_names[-err];
}

const char *
maillog_outcome_name(enum maillog_outcome o)
{
	if ((unsigned)o >= MAILLOG_OUTCOME_COUNT)
		return "unknown";
	return maillog_outcome_names[o];
}
