/*
 * policy.c — framing and parsing of Postfix SMTP access policy requests
 * (SMTPD_POLICY_README): "name=value\n" lines ended by an empty line.
 *
 * Runs once per request at relay speed, so: no allocation, each line framed and
 * parsed in one go (policy_frame_parse), one memchr for NULs over the whole request,
 * a switch on the name's length before any string compare.
 */
#include <stdint.h>
#include <string.h>

#include "sense/policy.h"

/* The only request type the Postfix SMTP server sends. */
#define POLICY_REQUEST_TYPE "smtpd_access_policy"

static const char *const policy_state_names[POLICY_STATE_COUNT] = {
	[POLICY_STATE_UNKNOWN] = "unknown",
	[POLICY_STATE_CONNECT] = "CONNECT",
	[POLICY_STATE_EHLO] = "EHLO",
	[POLICY_STATE_MAIL] = "MAIL",
	[POLICY_STATE_RCPT] = "RCPT",
	[POLICY_STATE_DATA] = "DATA",
	[POLICY_STATE_END_OF_MESSAGE] = "END-OF-MESSAGE",
	[POLICY_STATE_VRFY] = "VRFY",
	[POLICY_STATE_ETRN] = "ETRN",
};

/* True when the line holds nothing but its terminator ("" or "\r" before '\n'). */
static int
policy_line_empty(const uint8_t *line, size_t n)
{
	return n == 0 || (n == 1 && line[0] == '\r');
}

/*
 * A decimal number of at most max, digits only: no sign, no space, no hex.
 * The empty string is 0 (Postfix's "unavailable").
 */
static int
policy_number(struct strview v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < v.len; i++) {
		unsigned d = (unsigned)(unsigned char)v.ptr[i] - '0';

		if (d > 9)
			return POLICY_ERR_BAD_NUMBER;
		if (n > (max - d) / 10)
			return POLICY_ERR_BAD_NUMBER;
		n = n * 10 + d;
	}
	*out = n;
	return POLICY_OK;
}

static enum policy_state
policy_state_parse(struct strview v)
{
	int s;

	/* Postfix reports HELO and EHLO apart; lazaret does not tell them apart. */
	if (strview_eq(v, "HELO"))
		return POLICY_STATE_EHLO;
	for (s = POLICY_STATE_CONNECT; s < POLICY_STATE_COUNT; s++)
		if (strview_eq(v, policy_state_names[s]))
			return (enum policy_state)s;
	return POLICY_STATE_UNKNOWN;
}

/*
 * Stores one attribute in req (the request type in *type), ignoring names lazaret
 * does not use. Returns POLICY_OK or POLICY_ERR_BAD_NUMBER.
 */
static inline __attribute__((always_inline)) int
policy_attribute(struct policy_request *req, struct strview *type,
    const char *name, size_t nlen, struct strview value)
{
	struct strview *dst = NULL;
	uint64_t n;
	int rc;

#define NAME_IS(lit) (nlen == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)
	switch (nlen) {
	case 4:
		if (NAME_IS("size"))
			return policy_number(value, UINT64_MAX, &req->size);
		break;
	case 6:
		if (NAME_IS("sender"))
			dst = &req->sender;
		break;
	case 7:
		if (NAME_IS("request"))
			dst = type;
		break;
	case 8:
		if (NAME_IS("queue_id"))
			dst = &req->queue_id;
		else if (NAME_IS("instance"))
			dst = &req->instance;
		break;
	case 9:
		if (NAME_IS("recipient"))
			dst = &req->recipient;
		else if (NAME_IS("helo_name"))
			dst = &req->helo_name;
		break;
	case 11:
		if (NAME_IS("client_name"))
			dst = &req->client_name;
		else if (NAME_IS("client_port"))
			dst = &req->client_port;
		else if (NAME_IS("sasl_method"))
			dst = &req->sasl_method;
		else if (NAME_IS("sasl_sender"))
			dst = &req->sasl_sender;
		else if (NAME_IS("server_port"))
			dst = &req->server_port;
		break;
	case 13:
		if (NAME_IS("protocol_name"))
			dst = &req->protocol_name;
		else if (NAME_IS("sasl_username"))
			dst = &req->sasl_username;
		break;
	case 14:
		if (NAME_IS("client_address"))
			dst = &req->client_address;
		else if (NAME_IS("protocol_state")) {
			req->protocol_state = policy_state_parse(value);
			dst = &req->protocol_state_raw;
		} else if (NAME_IS("server_address"))
			dst = &req->server_address;
		else if (NAME_IS("policy_context"))
			dst = &req->policy_context;
		break;
	case 15:
		if (NAME_IS("recipient_count")) {
			if ((rc = policy_number(value, UINT32_MAX, &n)) != POLICY_OK)
				return rc;
			req->recipient_count = (uint32_t)n;
		}
		break;
	case 19:
		if (NAME_IS("reverse_client_name"))
			dst = &req->reverse_client_name;
		break;
	}
#undef NAME_IS
	if (dst != NULL)
		*dst = value;
	return POLICY_OK;
}

/*
 * Parses one non-empty line of n bytes (its '\n' not included) into req.
 * Returns POLICY_OK, POLICY_ERR_NO_EQUALS, POLICY_ERR_EMPTY_NAME or
 * POLICY_ERR_BAD_NUMBER. Attribute names are short, hence a plain loop for '='.
 */
static int
policy_line(struct policy_request *req, struct strview *type, const uint8_t *line, size_t n)
{
	const uint8_t *eq = line, *end;
	struct strview value;
	int rc;

	if (line[n - 1] == '\r')
		n--;
	end = line + n;
	while (eq < end && *eq != '=')
		eq++;
	if (eq == end)
		return POLICY_ERR_NO_EQUALS;
	if (eq == line)
		return POLICY_ERR_EMPTY_NAME;
	value.ptr = (const char *)eq + 1;
	value.len = (size_t)(end - eq) - 1;
	if ((rc = policy_attribute(req, type, (const char *)line, (size_t)(eq - line), value)) != POLICY_OK)
		return rc;
	req->attributes++;
	return POLICY_OK;
}

/* What a whole request needs besides well-formed lines. */
static int
policy_request_check(const struct policy_request *req, struct strview type)
{
	if (req->attributes == 0)
		return POLICY_ERR_EMPTY;
	if (!strview_eq(type, POLICY_REQUEST_TYPE))
		return POLICY_ERR_BAD_REQUEST;
	return POLICY_OK;
}

/*
 * The framer reads at most POLICY_MAX_REQUEST bytes, one line at a time, and gives
 * up at the first byte that proves the request bad: a NUL, the byte that makes the
 * current line too long even before its newline arrives, or the byte past
 * POLICY_MAX_REQUEST. A peer sending megabytes without a newline is therefore cut
 * off after POLICY_MAX_LINE bytes.
 *
 * With out != NULL each line is also parsed as it is framed, so that the server
 * reads every byte once: the first parse error is kept and reported only when the
 * request is whole and free of framing errors, which makes the result exactly that
 * of policy_frame followed by policy_parse. NULs are looked for once, over every
 * byte the line loop looked at: the same bytes the per-line check of a separate
 * framer would cover, and one long memchr is cheaper than one short call per line.
 */
static int
policy_scan(const uint8_t *buf, size_t len, size_t *request_len, struct policy_request *out)
{
	struct strview type = { NULL, 0 };
	size_t limit, seen, pos = 0;
	int rc, parse_rc = POLICY_OK;

	if (len == 0)
		return 0;
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	limit = len < POLICY_MAX_REQUEST ? len : POLICY_MAX_REQUEST;
	for (;;) {
		const uint8_t *line = buf + pos, *nl;
		size_t scan, n;

		if (pos == limit) {
			seen = pos;
			rc = len >= POLICY_MAX_REQUEST ? POLICY_ERR_TOO_LARGE : 0;
			break;
		}
		/* A newline further on than this would make the line too long. */
		scan = limit - pos < POLICY_MAX_LINE ? limit - pos : POLICY_MAX_LINE;
		if ((nl = memchr(line, '\n', scan)) == NULL) {
			seen = pos + scan;
			if (scan == POLICY_MAX_LINE)
				rc = POLICY_ERR_LINE_TOO_LONG;
			else
				rc = len >= POLICY_MAX_REQUEST ? POLICY_ERR_TOO_LARGE : 0;
			break;
		}
		n = (size_t)(nl - line);
		pos += n + 1;
		if (policy_line_empty(line, n)) {
			seen = pos;
			rc = 1;
			break;
		}
		if (out != NULL && parse_rc == POLICY_OK)
			parse_rc = policy_line(out, &type, line, n);
	}
	if (memchr(buf, '\0', seen) != NULL)
		return POLICY_ERR_NUL;
	if (rc != 1)
		return rc;
	if (out != NULL && parse_rc == POLICY_OK)
		parse_rc = policy_request_check(out, type);
	if (parse_rc != POLICY_OK)
		return parse_rc;
	*request_len = pos;
	return 1;
}

int
policy_frame(const uint8_t *buf, size_t len, size_t *request_len)
{
	return policy_scan(buf, len, request_len, NULL);
}

/*
 * The fast path's view of the request: 64 bytes at a time, a bit per byte for each
 * of '\n', '=' and NUL. With SSE2 (every x86-64) sixteen bytes are compared at once;
 * elsewhere, or built with POLICY_SCALAR_SCAN (the unit tests run both), eight at a
 * time in a 64-bit word. Bytes at or past n are never read and their bits are clear.
 */
struct policy_block {
	uint64_t nl, eq, nul;
};

#if defined(__SSE2__) && !defined(POLICY_SCALAR_SCAN)
#include <emmintrin.h>

static void
policy_block_load(const uint8_t *p, size_t n, struct policy_block *b)
{
	uint8_t tail[64];
	const __m128i vnl = _mm_set1_epi8('\n'), veq = _mm_set1_epi8('='), vz = _mm_setzero_si128();

	if (n < 64) {
		memset(tail, 0xff, sizeof(tail));       /* neither '\n', '=' nor NUL */
		memcpy(tail, p, n);
		p = tail;
	}
	b->nl = b->eq = b->nul = 0;
	for (unsigned i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
		b->nl |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vnl)) << (16 * i);
		b->eq |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, veq)) << (16 * i);
		b->nul |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vz)) << (16 * i);
	}
}
#else
/* 0x80 in each byte of w that is zero, exactly (no false positives from borrows). */
static uint64_t
policy_zero_bytes(uint64_t w)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((w & low7) + low7) | w | low7);
}

/* The 0x80 bits of m gathered into the low 8 bits, byte i of the word to bit i. */
static unsigned
policy_gather(uint64_t m, int little_endian)
{
	unsigned out = 0;

	for (unsigned i = 0; i < 8; i++)
		if (m & (0x80ULL << (8 * (little_endian ? i : 7 - i))))
			out |= 1u << i;
	return out;
}

static void
policy_block_load(const uint8_t *p, size_t n, struct policy_block *b)
{
	uint8_t tail[64];
	const uint64_t ones = 0x0101010101010101ULL;
	const uint16_t probe = 1;
	int le = *(const uint8_t *)&probe == 1;

	if (n < 64) {
		memset(tail, 0xff, sizeof(tail));
		memcpy(tail, p, n);
		p = tail;
	}
	b->nl = b->eq = b->nul = 0;
	for (unsigned i = 0; i < 8; i++) {
		uint64_t w;
		memcpy(&w, p + 8 * i, 8);
		b->nl |= (uint64_t)policy_gather(policy_zero_bytes(w ^ (ones * '\n')), le) << (8 * i);
		b->eq |= (uint64_t)policy_gather(policy_zero_bytes(w ^ (ones * '=')), le) << (8 * i);
		b->nul |= (uint64_t)policy_gather(policy_zero_bytes(w), le) << (8 * i);
	}
}
#endif

/* Bits at and above i (i < 64). */
#define POLICY_BITS_FROM(i) (~0ULL << (i))

/*
 * The common case, fast: a whole, valid request at the front of buf. Returns 1 with
 * *request_len and *out set exactly as policy_scan would, or 0 to say "ask
 * policy_scan": on anything else (more bytes needed, a NUL, a line too long, a line
 * without '=', a bad number or request type) it gives up without an answer, so that
 * every error, and the order errors win in, stays policy_scan's alone.
 */
static int
policy_scan_fast(const uint8_t *buf, size_t len, size_t *request_len, struct policy_request *out)
{
	struct strview type = { NULL, 0 };
	size_t limit = len < POLICY_MAX_REQUEST ? len : POLICY_MAX_REQUEST;
	size_t line = 0;                /* where the current line starts */
	size_t eq = SIZE_MAX;           /* its first '=', once seen */
	size_t have;                    /* bytes in the current block */

	memset(out, 0, sizeof(*out));
	for (size_t base = 0; base < limit; base += have) {
		struct policy_block b;

		/* Never read further than policy_scan would: POLICY_MAX_LINE from the line.
		 * A block cut short by that is followed by one starting right after it. */
		if (base >= line + POLICY_MAX_LINE)
			return 0;
		have = limit - base < 64 ? limit - base : 64;
		if (have > line + POLICY_MAX_LINE - base)
			have = line + POLICY_MAX_LINE - base;
		policy_block_load(buf + base, have, &b);
		uint64_t nl = b.nl;
		while (nl != 0) {
			unsigned i = (unsigned)__builtin_ctzll(nl);
			size_t end = base + i, n = end - line;
			nl &= nl - 1;
			if (n + 1 > POLICY_MAX_LINE)
				return 0;
			if (policy_line_empty(buf + line, n)) {
				/* NULs before the end (earlier blocks had none) */
				if (i < 63 && (b.nul & ~POLICY_BITS_FROM(i + 1)) != 0)
					return 0;
				if (i == 63 && b.nul != 0)
					return 0;
				if (policy_request_check(out, type) != POLICY_OK)
					return 0;
				*request_len = end + 1;
				return 1;
			}
			if (eq == SIZE_MAX) {
				uint64_t m = b.eq & ~POLICY_BITS_FROM(i);
				if (line > base)
					m &= POLICY_BITS_FROM(line - base);
				if (m == 0)
					return 0;          /* no '=': policy_scan says which error */
				eq = base + (unsigned)__builtin_ctzll(m);
			}
			if (eq == line)
				return 0;
			size_t vend = buf[end - 1] == '\r' ? end - 1 : end;
			struct strview value = { (const char *)buf + eq + 1, vend - eq - 1 };
			if (policy_attribute(out, &type, (const char *)buf + line, eq - line, value) != POLICY_OK)
				return 0;
			out->attributes++;
			line = end + 1;
			eq = SIZE_MAX;
		}
		/* The end is further on: this block is all inside the request. */
		if (b.nul != 0)
			return 0;
		if (eq == SIZE_MAX && line < base + have) {
			uint64_t m = line > base ? b.eq & POLICY_BITS_FROM(line - base) : b.eq;
			if (m != 0)
				eq = base + (unsigned)__builtin_ctzll(m);
		}
	}
	return 0;
}

int
policy_frame_parse(const uint8_t *buf, size_t len, size_t *request_len, struct policy_request *out)
{
	if (policy_scan_fast(buf, len, request_len, out) == 1)
		return 1;
	return policy_scan(buf, len, request_len, out);
}

/*
 * Checks every line again rather than trusting the framer, so that the parser is
 * safe on any bytes (the fuzz target and the tests call it directly). The first
 * empty line must be the last line of buf.
 */
int
policy_parse(const uint8_t *buf, size_t len, struct policy_request *out)
{
	struct strview type = { NULL, 0 };
	size_t pos = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > POLICY_MAX_REQUEST)
		return POLICY_ERR_TOO_LARGE;
	if (len == 0 || buf[len - 1] != '\n')
		return POLICY_ERR_UNTERMINATED;

	while (pos < len) {
		const uint8_t *line = buf + pos;
		/* Never NULL: buf ends in '\n'. */
		const uint8_t *nl = memchr(line, '\n', len - pos);
		size_t n = (size_t)(nl - line);

		if (n + 1 > POLICY_MAX_LINE)
			return POLICY_ERR_LINE_TOO_LONG;
		if (n > 0 && memchr(line, '\0', n) != NULL)
			return POLICY_ERR_NUL;
		pos += n + 1;
		if (policy_line_empty(line, n)) {
			if (pos != len)
				return POLICY_ERR_TRAILING;
			return policy_request_check(out, type);
		}
		if ((rc = policy_line(out, &type, line, n)) != POLICY_OK)
			return rc;
	}
	/* Lines all non-empty: the request's end is missing. */
	return POLICY_ERR_UNTERMINATED;
}

const char *
policy_strerror(int err)
{
	switch (err) {
	case POLICY_OK:
		return "no error";
	case POLICY_ERR_NO_EQUALS:
		return "line without '='";
	case POLICY_ERR_LINE_TOO_LONG:
		return "line too long";
	case POLICY_ERR_TOO_LARGE:
		return "request too large";
	case POLICY_ERR_NUL:
		return "NUL byte in request";
	case POLICY_ERR_EMPTY_NAME:
		return "attribute with an empty name";
	case POLICY_ERR_BAD_REQUEST:
		return "request= missing or not smtpd_access_policy";
	case POLICY_ERR_BAD_NUMBER:
		return "numeric attribute not a decimal number in range";
	case POLICY_ERR_EMPTY:
		return "empty request";
	case POLICY_ERR_UNTERMINATED:
		return "request not terminated by an empty line";
	case POLICY_ERR_TRAILING:
		return "bytes after the end of the request";
	}
	return "unknown policy error";
}

const char *
policy_state_name(enum policy_state state)
{
	if ((unsigned)state >= POLICY_STATE_COUNT)
		return policy_state_names[POLICY_STATE_UNKNOWN];
	return policy_state_names[state];
}

static const char *const policy_action_names[POLICY_ACTION_COUNT] = {
	"DUNNO", "DEFER_IF_PERMIT", "REJECT",
};

const char *
policy_action_name(enum policy_action a)
{
	return (unsigned)a < POLICY_ACTION_COUNT ? policy_action_names[a] : "invalid";
}
