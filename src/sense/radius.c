/*
 * radius.c — see radius.h.
 */
#include "sense/radius.h"

#include <nettle/md5.h>
#include <string.h>
#include <sys/socket.h>

enum {
	ATTR_USER_NAME = 1,
	ATTR_NAS_IP_ADDRESS = 4,
	ATTR_FRAMED_IP_ADDRESS = 8,
	ATTR_CALLING_STATION_ID = 31,
	ATTR_NAS_IDENTIFIER = 32,
	ATTR_ACCT_STATUS_TYPE = 40,
	ATTR_ACCT_SESSION_ID = 44,
	ATTR_EVENT_TIMESTAMP = 55,
	ATTR_NAS_PORT_ID = 87,
	ATTR_NAS_IPV6_ADDRESS = 95,
	ATTR_FRAMED_IPV6_PREFIX = 97,
	ATTR_DELEGATED_IPV6_PREFIX = 123,
};

const char *
radius_error_name(int rc)
{
	static const char *const names[RADIUS_ERROR_COUNT] = {
		[RADIUS_E_SHORT] = "short", [RADIUS_E_LENGTH] = "length", [RADIUS_E_ATTRIBUTE] = "attribute",
		[RADIUS_E_VALUE] = "value", [RADIUS_E_CODE] = "code", [RADIUS_E_AUTHENTICATOR] = "authenticator",
	};
	int e = -rc;
	return e > 0 && e < RADIUS_ERROR_COUNT && names[e] != NULL ? names[e] : "unknown";
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 3162 §2.3: Reserved (1), Prefix-Length (1), Prefix (0..16 bytes, only the bits
 * the length covers need be sent). The prefix is masked: bits past its length are not ours. */
static int
ipv6_prefix(const uint8_t *v, size_t n, struct radius_prefix *out)
{
	if (n < 2 || n > 18 || v[1] > 128 || (size_t)(v[1] + 7) / 8 > n - 2)
		return -1;
	memset(out, 0, sizeof(*out));
	out->set = true;
	out->net.addr.family = AF_INET6;
	out->net.prefix = v[1];
	memcpy(out->net.addr.bytes, v + 2, n - 2);
	addr_mask(&out->net.addr, v[1]);
	return 0;
}

int
radius_frame(const uint8_t *buf, size_t len, uint16_t *length)
{
	if (len < RADIUS_HEADER_LEN)
		return -RADIUS_E_SHORT;
	*length = (uint16_t)(buf[2] << 8 | buf[3]);
	if (*length < RADIUS_HEADER_LEN || *length > RADIUS_MAX_LEN || *length > len)
		return -RADIUS_E_LENGTH;
	return 0;
}

int
radius_attr_next(const uint8_t *buf, uint16_t length, size_t *off, uint8_t *type, const uint8_t **value, size_t *vlen)
{
	size_t o = *off;

	if (o >= length)
		return 0;
	if (length - o < 2 || buf[o + 1] < 2 || buf[o + 1] > length - o)
		return -RADIUS_E_ATTRIBUTE;
	*type = buf[o];
	*value = buf + o + 2;
	*vlen = (size_t)buf[o + 1] - 2;
	*off = o + buf[o + 1];
	return 1;
}

int
radius_parse(const uint8_t *buf, size_t len, struct radius_packet *out)
{
	uint8_t type;
	const uint8_t *v;
	size_t n, off = RADIUS_HEADER_LEN;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = radius_frame(buf, len, &out->length)) != 0) {
		if (len >= RADIUS_HEADER_LEN) {
			out->code = buf[0];
			out->identifier = buf[1];
		}
		return rc;
	}
	out->code = buf[0];
	out->identifier = buf[1];
	memcpy(out->authenticator, buf + 4, 16);
	while ((rc = radius_attr_next(buf, out->length, &off, &type, &v, &n)) == 1) {
		struct strview sv = { .ptr = (const char *)v, .len = n };

		out->attributes++;
		switch (type) {
		case ATTR_USER_NAME: out->user_name = sv; break;
		case ATTR_CALLING_STATION_ID: out->calling_station_id = sv; break;
		case ATTR_NAS_IDENTIFIER: out->nas_identifier = sv; break;
		case ATTR_ACCT_SESSION_ID: out->acct_session_id = sv; break;
		case ATTR_NAS_PORT_ID: out->nas_port_id = sv; break;
		case ATTR_NAS_IP_ADDRESS:
		case ATTR_FRAMED_IP_ADDRESS: {
			struct addr *a = type == ATTR_NAS_IP_ADDRESS ? &out->nas_ip : &out->framed_ip;
			if (n != 4)
				return -RADIUS_E_VALUE;
			memset(a, 0, sizeof(*a));
			a->family = AF_INET;
			memcpy(a->bytes, v, 4);
			break;
		}
		case ATTR_NAS_IPV6_ADDRESS:
			if (n != 16)
				return -RADIUS_E_VALUE;
			if (out->nas_ip.family == 0) {       /* NAS-IP-Address names the NAS first */
				out->nas_ip.family = AF_INET6;
				memcpy(out->nas_ip.bytes, v, 16);
			}
			break;
		case ATTR_ACCT_STATUS_TYPE:
		case ATTR_EVENT_TIMESTAMP:
			if (n != 4)
				return -RADIUS_E_VALUE;
			if (type == ATTR_ACCT_STATUS_TYPE)
				out->acct_status_type = rd32(v);
			else {
				out->event_timestamp = rd32(v);
				out->has_event_timestamp = true;
			}
			break;
		case ATTR_FRAMED_IPV6_PREFIX:
		case ATTR_DELEGATED_IPV6_PREFIX:
			if (ipv6_prefix(v, n, type == ATTR_FRAMED_IPV6_PREFIX ? &out->framed_ipv6_prefix :
			    &out->delegated_ipv6_prefix) != 0)
				return -RADIUS_E_VALUE;
			break;
		default:
			break;                      /* Class, VSAs and the rest: not lazaret's */
		}
	}
	return rc;                                  /* 0 at the end, or the attribute that broke the frame */
}

bool
radius_acct_verify(const uint8_t *buf, const struct radius_packet *pkt, const uint8_t *secret, size_t secret_len)
{
	static const uint8_t zeros[16];
	uint8_t digest[MD5_DIGEST_SIZE], diff = 0;
	struct md5_ctx ctx;

	md5_init(&ctx);
	md5_update(&ctx, 4, buf);
	md5_update(&ctx, 16, zeros);
	md5_update(&ctx, pkt->length - RADIUS_HEADER_LEN, buf + RADIUS_HEADER_LEN);
	md5_update(&ctx, secret_len, secret);
	md5_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < 16; i++)            /* every byte, whatever the first difference */
		diff |= (uint8_t)(digest[i] ^ pkt->authenticator[i]);
	return diff == 0;
}

void
radius_acct_sign(uint8_t *buf, size_t len, const uint8_t *secret, size_t secret_len)
{
	struct md5_ctx ctx;

	memset(buf + 4, 0, 16);
	md5_init(&ctx);
	md5_update(&ctx, len, buf);
	md5_update(&ctx, secret_len, secret);
	md5_digest(&ctx, 16, buf + 4);
}

void
radius_acct_response(const struct radius_packet *pkt, const uint8_t *secret, size_t secret_len,
    uint8_t out[RADIUS_HEADER_LEN])
{
	struct md5_ctx ctx;

	out[0] = RADIUS_ACCOUNTING_RESPONSE;
	out[1] = pkt->identifier;
	out[2] = 0;
	out[3] = RADIUS_HEADER_LEN;
	md5_init(&ctx);
	md5_update(&ctx, 4, out);
	md5_update(&ctx, 16, pkt->authenticator);
	md5_update(&ctx, secret_len, secret);
	md5_digest(&ctx, 16, out + 4);
}
