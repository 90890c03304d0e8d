/*
 * radius_coa.c — the RFC 5176 packets: requests built, answers parsed and checked (see
 * radius_coa.h). Pure: no sockets, no clock.
 */
#include "act/radius_coa.h"
#include "sense/radius.h"

_Static_assert((int)RADIUS_COA_E_SHORT == (int)RADIUS_E_SHORT && (int)RADIUS_COA_E_LENGTH == (int)RADIUS_E_LENGTH &&
    (int)RADIUS_COA_E_ATTRIBUTE == (int)RADIUS_E_ATTRIBUTE, "radius_frame's codes are the answer parser's");

#include <errno.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <string.h>
#include <sys/socket.h>

#define HDR 20

enum {
	ATTR_USER_NAME = 1,
	ATTR_NAS_IP_ADDRESS = 4,
	ATTR_FRAMED_IP_ADDRESS = 8,
	ATTR_CALLING_STATION_ID = 31,
	ATTR_NAS_IDENTIFIER = 32,
	ATTR_ACCT_SESSION_ID = 44,
	ATTR_MESSAGE_AUTHENTICATOR = 80,
	ATTR_NAS_IPV6_ADDRESS = 95,
	ATTR_FRAMED_IPV6_PREFIX = 97,
	ATTR_ERROR_CAUSE = 101,
};

/* RFC 5176 §3.5, with FreeRADIUS's names (dictionary.rfc5176). */
static const struct {
	uint32_t cause;
	const char *name;
} causes[] = {
	{ 201, "Residual-Context-Removed" }, { 202, "Invalid-EAP-Packet" },
	{ 401, "Unsupported-Attribute" }, { 402, "Missing-Attribute" }, { 403, "NAS-Identification-Mismatch" },
	{ 404, "Invalid-Request" }, { 405, "Unsupported-Service" }, { 406, "Unsupported-Extension" },
	{ 407, "Invalid-Attribute-Value" },
	{ 501, "Administratively-Prohibited" }, { 502, "Proxy-Request-Not-Routable" },
	{ 503, "Session-Context-Not-Found" }, { 504, "Session-Context-Not-Removable" },
	{ 505, "Proxy-Processing-Error" }, { 506, "Resources-Unavailable" }, { 507, "Request-Initiated" },
	{ 508, "Multiple-Session-Selection-Unsupported" },
};
_Static_assert(sizeof(causes) / sizeof(causes[0]) + 1 <= 19, "naked_by_cause too small");

const char *
radius_error_cause_name(uint32_t cause)
{
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (causes[i].cause == cause)
			return causes[i].name;
	return NULL;
}

unsigned
radius_coa_cause_index(uint32_t cause)
{
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (causes[i].cause == cause)
			return (unsigned)i + 1;
	return 0;
}

uint32_t
radius_coa_cause_at(unsigned index)
{
	return index >= 1 && index <= sizeof(causes) / sizeof(causes[0]) ? causes[index - 1].cause : 0;
}

const char *
radius_coa_code_name(unsigned code)
{
	switch (code) {
	case RADIUS_DISCONNECT_REQUEST: return "Disconnect-Request";
	case RADIUS_DISCONNECT_ACK: return "Disconnect-ACK";
	case RADIUS_DISCONNECT_NAK: return "Disconnect-NAK";
	case RADIUS_COA_REQUEST: return "CoA-Request";
	case RADIUS_COA_ACK: return "CoA-ACK";
	case RADIUS_COA_NAK: return "CoA-NAK";
	default: return "unknown";
	}
}

const char *
radius_coa_error_name(int rc)
{
	static const char *const names[RADIUS_COA_ERROR_COUNT] = {
		[RADIUS_COA_E_SHORT] = "short", [RADIUS_COA_E_LENGTH] = "length",
		[RADIUS_COA_E_ATTRIBUTE] = "attribute", [RADIUS_COA_E_VALUE] = "value",
		[RADIUS_COA_E_CODE] = "code", [RADIUS_COA_E_IDENTIFIER] = "identifier",
		[RADIUS_COA_E_AUTHENTICATOR] = "authenticator",
		[RADIUS_COA_E_MESSAGE_AUTHENTICATOR] = "message_authenticator",
		[RADIUS_COA_E_SOURCE] = "unknown_source",
	};
	int e = -rc;
	return e > 0 && e < RADIUS_COA_ERROR_COUNT && names[e] != NULL ? names[e] : "unknown";
}

/* One attribute of n value bytes at out + *off, if it fits in room. */
static int
put_attr(uint8_t *out, size_t room, size_t *off, uint8_t type, const void *v, size_t n)
{
	if (n > 253 || *off + 2 + n > room)
		return -ENOSPC;
	out[*off] = type;
	out[*off + 1] = (uint8_t)(2 + n);
	memcpy(out + *off + 2, v, n);
	*off += 2 + n;
	return 0;
}

/* HMAC-MD5(secret) over buf[0..len) into mac (RFC 3579 §3.2). */
static void
message_authenticator(const uint8_t *buf, size_t len, const uint8_t *secret, size_t secret_len, uint8_t mac[16])
{
	struct hmac_md5_ctx h;

	hmac_md5_set_key(&h, secret_len, secret);
	hmac_md5_update(&h, len, buf);
	hmac_md5_digest(&h, 16, mac);
}

int
radius_coa_build(uint8_t code, uint8_t id, unsigned ident, const struct radius_session *s,
    const struct radius_avp *avps, size_t n, bool message_auth, const uint8_t *secret, size_t secret_len,
    uint8_t *out, size_t room)
{
	static const uint8_t zeros[16];
	size_t off = HDR, ma_off = 0;
	bool session = false;
	struct md5_ctx ctx;
	int rc = 0;

	if (code != RADIUS_COA_REQUEST && code != RADIUS_DISCONNECT_REQUEST)
		return -EINVAL;
	if (room < HDR)
		return -ENOSPC;
	if (room > RADIUS_COA_MAX_LEN)
		room = RADIUS_COA_MAX_LEN;
	memset(out, 0, HDR);
	out[0] = code;
	out[1] = id;
	if (message_auth) {
		ma_off = off;
		rc = put_attr(out, room, &off, ATTR_MESSAGE_AUTHENTICATOR, zeros, 16);
	}
	if (rc == 0 && (ident & RADIUS_IDENT_NAS_IP) && s->nas_ip.family == AF_INET)
		rc = put_attr(out, room, &off, ATTR_NAS_IP_ADDRESS, s->nas_ip.bytes, 4);
	if (rc == 0 && (ident & RADIUS_IDENT_NAS_IP) && s->nas_ip.family == AF_INET6)
		rc = put_attr(out, room, &off, ATTR_NAS_IPV6_ADDRESS, s->nas_ip.bytes, 16);
	if (rc == 0 && (ident & RADIUS_IDENT_NAS_IDENTIFIER) && s->nas_identifier.len > 0)
		rc = put_attr(out, room, &off, ATTR_NAS_IDENTIFIER, s->nas_identifier.ptr, s->nas_identifier.len);
	if (rc == 0 && (ident & RADIUS_IDENT_USER_NAME) && s->user_name.len > 0) {
		rc = put_attr(out, room, &off, ATTR_USER_NAME, s->user_name.ptr, s->user_name.len);
		session = true;
	}
	if (rc == 0 && (ident & RADIUS_IDENT_ACCT_SESSION_ID) && s->acct_session_id.len > 0) {
		rc = put_attr(out, room, &off, ATTR_ACCT_SESSION_ID, s->acct_session_id.ptr, s->acct_session_id.len);
		session = true;
	}
	if (rc == 0 && (ident & RADIUS_IDENT_FRAMED_IP) && s->framed_ip.family == AF_INET) {
		rc = put_attr(out, room, &off, ATTR_FRAMED_IP_ADDRESS, s->framed_ip.bytes, 4);
		session = true;
	}
	if (rc == 0 && (ident & RADIUS_IDENT_FRAMED_IPV6_PREFIX) && s->has_framed_ipv6_prefix) {
		/* all 16 bytes, masked (struct cidr), as FreeRADIUS sends it (RFC 3162 §2.3 allows it) */
		uint8_t v[18] = { 0, (uint8_t)s->framed_ipv6_prefix.prefix };
		if (s->framed_ipv6_prefix.prefix > 128 || s->framed_ipv6_prefix.addr.family != AF_INET6)
			return -EINVAL;
		memcpy(v + 2, s->framed_ipv6_prefix.addr.bytes, 16);
		rc = put_attr(out, room, &off, ATTR_FRAMED_IPV6_PREFIX, v, sizeof(v));
		session = true;
	}
	if (rc == 0 && (ident & RADIUS_IDENT_CALLING_STATION_ID) && s->calling_station_id.len > 0) {
		rc = put_attr(out, room, &off, ATTR_CALLING_STATION_ID, s->calling_station_id.ptr,
		    s->calling_station_id.len);
		session = true;
	}
	if (rc != 0)
		return rc;
	if (!session)
		return -ENODATA;
	for (size_t i = 0; i < n; i++) {
		int w = radius_avp_encode(&avps[i], out + off, room - off);
		if (w < 0)
			return w;
		off += (size_t)w;
	}
	out[2] = (uint8_t)(off >> 8);
	out[3] = (uint8_t)off;
	/* the Message-Authenticator first, over a zero Request Authenticator; then that */
	if (message_auth)
		message_authenticator(out, off, secret, secret_len, out + ma_off + 2);
	md5_init(&ctx);
	md5_update(&ctx, off, out);                 /* the authenticator field is still zero */
	md5_update(&ctx, secret_len, secret);
	md5_digest(&ctx, 16, out + 4);
	return (int)off;
}

int
radius_coa_answer_parse(const uint8_t *buf, size_t len, struct radius_coa_answer *out)
{
	uint8_t type;
	const uint8_t *v;
	size_t n, off = HDR;
	int rc;

	/* radius_frame's and radius_attr_next's codes are RADIUS_COA_E_SHORT, _LENGTH, _ATTRIBUTE */
	memset(out, 0, sizeof(*out));
	if (len >= HDR) {
		out->code = buf[0];
		out->identifier = buf[1];
	}
	if ((rc = radius_frame(buf, len, &out->length)) != 0)
		return rc;
	while ((rc = radius_attr_next(buf, out->length, &off, &type, &v, &n)) == 1) {
		if (type == ATTR_ERROR_CAUSE) {
			if (n != 4)
				return -RADIUS_COA_E_VALUE;
			out->has_error_cause = true;
			out->error_cause = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
		} else if (type == ATTR_MESSAGE_AUTHENTICATOR) {
			if (n != 16)
				return -RADIUS_COA_E_VALUE;
			out->has_message_authenticator = true;
		}
	}
	return rc;
}

static bool
equal16(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < 16; i++)            /* every byte, whatever the first difference */
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

/* Is the Message-Authenticator of answer buf[0..len) right: HMAC-MD5 over it with the
 * request's authenticator in its authenticator field and itself zero? */
static bool
answer_message_authenticator_ok(const uint8_t *buf, size_t len, const uint8_t *req_auth, const uint8_t *secret,
    size_t secret_len)
{
	uint8_t copy[RADIUS_COA_MAX_LEN], mac[16], got[16];
	bool found = false;

	memcpy(copy, buf, len);
	memcpy(copy + 4, req_auth, 16);
	for (size_t off = HDR; off + 2 <= len; off += copy[off + 1])
		if (copy[off] == ATTR_MESSAGE_AUTHENTICATOR && copy[off + 1] == 18) {
			memcpy(got, copy + off + 2, 16);
			memset(copy + off + 2, 0, 16);
			found = true;
			break;
		}
	if (!found)
		return false;
	message_authenticator(copy, len, secret, secret_len, mac);
	return equal16(mac, got);
}

int
radius_coa_answer_check(const uint8_t *buf, size_t len, const uint8_t *request, const uint8_t *secret,
    size_t secret_len, struct radius_coa_answer *out)
{
	uint8_t digest[MD5_DIGEST_SIZE];
	struct md5_ctx ctx;
	int rc = radius_coa_answer_parse(buf, len, out);

	if (rc != 0)
		return rc;
	if (request[0] == RADIUS_COA_REQUEST ? out->code != RADIUS_COA_ACK && out->code != RADIUS_COA_NAK :
	    out->code != RADIUS_DISCONNECT_ACK && out->code != RADIUS_DISCONNECT_NAK)
		return -RADIUS_COA_E_CODE;
	if (out->identifier != request[1])
		return -RADIUS_COA_E_IDENTIFIER;
	md5_init(&ctx);
	md5_update(&ctx, 4, buf);
	md5_update(&ctx, 16, request + 4);
	md5_update(&ctx, out->length - HDR, buf + HDR);
	md5_update(&ctx, secret_len, secret);
	md5_digest(&ctx, sizeof(digest), digest);
	if (!equal16(digest, buf + 4))
		return -RADIUS_COA_E_AUTHENTICATOR;
	if (out->has_message_authenticator &&
	    !answer_message_authenticator_ok(buf, out->length, request + 4, secret, secret_len))
		return -RADIUS_COA_E_MESSAGE_AUTHENTICATOR;
	return 0;
}
