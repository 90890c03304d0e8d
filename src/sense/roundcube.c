/*
 * roundcube.c — Roundcube's userlogins lines (see roundcube.h): the file's own
 * "[d-M-Y H:i:s O]: " lines, and syslog's through maillog's header parser.
 */
#include "sense/roundcube.h"

#include <string.h>

static const char *const roundcube_kind_names[ROUNDCUBE_KIND_COUNT] = {
	[ROUNDCUBE_LOGIN] = "login",
	[ROUNDCUBE_LOGIN_FAILED] = "login_failed",
};

/* Indexed by -error. */
static const char *const roundcube_error_names[ROUNDCUBE_ERROR_COUNT + 1] = {
	[0] = "none",
	[-ROUNDCUBE_ERR_EMPTY] = "empty",
	[-ROUNDCUBE_ERR_TOO_LONG] = "too_long",
	[-ROUNDCUBE_ERR_TIMESTAMP] = "timestamp",
	[-ROUNDCUBE_ERR_OTHER] = "other",
	[-ROUNDCUBE_ERR_FIELDS] = "fields",
	[-ROUNDCUBE_ERR_AMBIGUOUS] = "ambiguous",
	[-ROUNDCUBE_ERR_NUL] = "nul",
};

#define RC_HAS(p, end, lit) \
	((size_t)((end) - (p)) >= sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* The n digits at p as a number, or -1. */
static int
rc_digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + (int)d;
	}
	return v;
}

/*
 * "05-Dec-2026 03:12:45 +0000" (PHP's d-M-Y H:i:s O) at p, exactly 26 bytes, into *t.
 * Returns 0 or -1.
 */
static int
rc_time(const char *p, const char *end, struct maillog_time *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int tz;

	if (end - p != 26 || p[2] != '-' || p[6] != '-' || p[11] != ' ' || p[14] != ':' || p[17] != ':' ||
	    p[20] != ' ' || (p[21] != '+' && p[21] != '-'))
		return -1;
	t->month = 0;
	for (int m = 0; m < 12; m++)
		if (memcmp(p + 3, months + 3 * m, 3) == 0)
			t->month = m + 1;
	t->day = rc_digits(p, 2);
	t->year = rc_digits(p + 7, 4);
	t->hour = rc_digits(p + 12, 2);
	t->minute = rc_digits(p + 15, 2);
	t->second = rc_digits(p + 18, 2);
	tz = rc_digits(p + 22, 4);
	if (t->month == 0 || t->day < 1 || t->day > 31 || t->year < 1970 || t->hour < 0 || t->hour > 23 ||
	    t->minute < 0 || t->minute > 59 || t->second < 0 || t->second > 60 || tz < 0 || tz % 100 > 59 ||
	    tz / 100 > 23)
		return -1;
	t->usec = 0;
	t->tz_minutes = (tz / 100 * 60 + tz % 100) * (p[21] == '-' ? -1 : 1);
	t->has_tz = 1;
	return 0;
}

/* The number of times lit (n bytes) occurs in [p, end). */
static size_t
rc_count(const char *p, const char *end, const char *lit, size_t n)
{
	size_t c = 0;
	const char *q;

	while ((q = memmem(p, (size_t)(end - p), lit, n)) != NULL) {
		c++;
		p = q + 1;
	}
	return c;
}

/*
 * "[<SESS>] Successful login for USER (ID: N) from ADDR[ (HEADERS)] in session S" or
 * "Failed login for ...". USER runs to the one " (ID: "; ADDR to the next blank; S
 * is the last word after the last " in session ", so headers holding that text end
 * up among the headers.
 */
static int
rc_message(const char *p, const char *end, struct roundcube_login *out)
{
	static const char id_lit[] = " (ID: ", sess_lit[] = " in session ";
	const char *q, *id, *sess = NULL;

	if (p < end && *p == '<') {
		if ((q = memchr(p, '>', (size_t)(end - p))) == NULL || q + 1 >= end || q[1] != ' ' ||
		    memchr(p, ' ', (size_t)(q - p)) != NULL)
			return ROUNDCUBE_ERR_OTHER;
		p = q + 2;
	}
	if (RC_HAS(p, end, "Failed login for "))
		return ROUNDCUBE_LOGIN_FAILED;
	if (!RC_HAS(p, end, "Successful login for "))
		return ROUNDCUBE_ERR_OTHER;
	p += sizeof("Successful login for ") - 1;
	if (rc_count(p, end, id_lit, sizeof(id_lit) - 1) > 1)
		return ROUNDCUBE_ERR_AMBIGUOUS;
	if ((id = memmem(p, (size_t)(end - p), id_lit, sizeof(id_lit) - 1)) == NULL || id == p)
		return ROUNDCUBE_ERR_FIELDS;
	for (q = p; (q = memmem(q, (size_t)(end - q), sess_lit, sizeof(sess_lit) - 1)) != NULL; q++)
		sess = q;
	if (sess == NULL || sess < id || sess + sizeof(sess_lit) - 1 == end ||
	    memchr(sess + sizeof(sess_lit) - 1, ' ', (size_t)(end - sess - (sizeof(sess_lit) - 1))) != NULL)
		return ROUNDCUBE_ERR_FIELDS;
	out->user = (struct strview){ p, (size_t)(id - p) };
	q = id + sizeof(id_lit) - 1;
	out->user_id = 0;
	const char *digits = q;
	while (q < sess && (unsigned)(unsigned char)*q - '0' < 10 && q - digits < 19)
		out->user_id = out->user_id * 10 + (uint64_t)(*q++ - '0');
	if (q == digits || !RC_HAS(q, sess, ") from "))
		return ROUNDCUBE_ERR_FIELDS;
	q += sizeof(") from ") - 1;
	const char *sp = memchr(q, ' ', (size_t)(sess - q));
	out->remote_addr = (struct strview){ q, (size_t)((sp != NULL ? sp : sess) - q) };
	if (out->remote_addr.len == 0)
		return ROUNDCUBE_ERR_FIELDS;
	out->forwarded = (struct strview){ 0 };
	if (sp != NULL) {
		/* " (X-Real-IP: A,X-Forwarded-For: B, C)" */
		if (sess - sp < 3 || sp[1] != '(' || sess[-1] != ')')
			return ROUNDCUBE_ERR_FIELDS;
		out->forwarded = (struct strview){ sp + 2, (size_t)(sess - 1 - (sp + 2)) };
	}
	return ROUNDCUBE_LOGIN;
}

int
roundcube_parse_line(const uint8_t *buf, size_t len, struct roundcube_login *out)
{
	const char *p = (const char *)buf, *end;

	memset(out, 0, sizeof(*out));
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len > ROUNDCUBE_MAX_LINE)
		return ROUNDCUBE_ERR_TOO_LONG;
	if (len > 0 && memchr(p, '\0', len) != NULL)
		return ROUNDCUBE_ERR_NUL;
	end = p + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end)
		return ROUNDCUBE_ERR_EMPTY;
	if (*p == '[') {
		/* "[05-Dec-2026 03:12:45 +0000]: " */
		if (end - p < 30 || p[27] != ']' || p[28] != ':' || p[29] != ' ' || rc_time(p + 1, p + 27, &out->time) < 0)
			return ROUNDCUBE_ERR_TIMESTAMP;
		return rc_message(p + 30, end, out);
	}
	/* syslog: "Dec  5 03:12:45 web roundcube: ..." */
	struct maillog_line l;
	int rc = maillog_parse_line((const uint8_t *)p, (size_t)(end - p), &l);
	if (rc == MAILLOG_ERR_TIMESTAMP || rc == MAILLOG_ERR_HEADER)
		return ROUNDCUBE_ERR_TIMESTAMP;
	if (!strview_eq(l.program, "roundcube") || l.message.ptr == NULL)
		return ROUNDCUBE_ERR_OTHER;
	out->time = l.time;
	return rc_message(l.message.ptr, l.message.ptr + l.message.len, out);
}

int
roundcube_forwarded_next(struct strview f, size_t *pos, struct strview *addr)
{
	while (*pos > 0 && *pos <= f.len) {
		const char *start = f.ptr, *e = f.ptr + *pos, *comma = memrchr(start, ',', *pos);
		const char *b = comma != NULL ? comma + 1 : start;

		*pos = comma != NULL ? (size_t)(comma - start) : 0;
		while (b < e && *b == ' ')
			b++;
		if (RC_HAS(b, e, "X-Forwarded-For: "))
			b += sizeof("X-Forwarded-For: ") - 1;
		else if (RC_HAS(b, e, "X-Real-IP: "))
			b += sizeof("X-Real-IP: ") - 1;
		while (b < e && *b == ' ')
			b++;
		while (e > b && e[-1] == ' ')
			e--;
		if (e > b) {
			*addr = (struct strview){ b, (size_t)(e - b) };
			return 0;
		}
	}
	return -1;
}

const char *
roundcube_kind_name(int kind)
{
	return kind >= 0 && kind < ROUNDCUBE_KIND_COUNT ? roundcube_kind_names[kind] : "unknown";
}

const char *
roundcube_error_name(int err)
{
	return err <= 0 && err >= -ROUNDCUBE_ERROR_COUNT ? roundcube_error_names[-err] : "unknown";
}
