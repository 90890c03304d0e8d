/*
 * radius.h — RADIUS accounting packets (RFC 2865 framing, RFC 2866 accounting): the
 * parser and authenticator check lazaretd's accounting listener stands on, and the
 * Accounting-Response it answers with. Issue 10: every address tied to the subscriber
 * who held it.
 *
 * radius_parse reads only buf[0..len): a packet shorter than its Length field, a Length
 * outside 20..4096, an attribute shorter than 2 bytes or running past the packet are
 * errors; octets past Length are padding (RFC 2865 §3) and ignored. The attributes
 * lazaret uses are kept as views into buf (the last of each, but Class and VSAs are not
 * read); every value is untrusted bytes. The Request Authenticator of an
 * Accounting-Request is MD5(Code | Identifier | Length | 16 zero octets | Attributes |
 * secret) (RFC 2866 §3): radius_acct_verify checks it in constant time.
 */
#ifndef LAZARET_SENSE_RADIUS_H
#define LAZARET_SENSE_RADIUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/strview.h"

#define RADIUS_HEADER_LEN 20
#define RADIUS_MAX_LEN    4096

enum radius_code {
	RADIUS_ACCOUNTING_REQUEST = 4,
	RADIUS_ACCOUNTING_RESPONSE = 5,
};

/* Acct-Status-Type (RFC 2866 §5.1) */
enum radius_status {
	RADIUS_STATUS_START = 1,
	RADIUS_STATUS_STOP = 2,
	RADIUS_STATUS_INTERIM = 3,
	RADIUS_STATUS_ON = 7,
	RADIUS_STATUS_OFF = 8,
};

/* Why a packet was refused; radius_parse returns -RADIUS_E_x. */
enum radius_error {
	RADIUS_E_SHORT = 1,           /* shorter than the 20-byte header */
	RADIUS_E_LENGTH,              /* Length under 20, over 4096 or past the datagram */
	RADIUS_E_ATTRIBUTE,           /* an attribute shorter than 2 or past Length */
	RADIUS_E_VALUE,               /* a used attribute of the wrong size (an address of 5 bytes...) */
	RADIUS_E_CODE,                /* not an Accounting-Request */
	RADIUS_E_AUTHENTICATOR,       /* the Request Authenticator does not match the secret */
};
#define RADIUS_ERROR_COUNT 7          /* one more than the last */

/* An IPv6 prefix as Framed-IPv6-Prefix and Delegated-IPv6-Prefix carry it (RFC 3162). */
struct radius_prefix {
	bool set;
	struct cidr net;
};

struct radius_packet {
	uint8_t code, identifier;
	uint16_t length;
	uint8_t authenticator[16];
	/* the attributes lazaret reads; .len 0 (or !set) when absent */
	struct strview user_name;            /* 1 */
	struct strview calling_station_id;   /* 31 */
	struct strview nas_identifier;       /* 32 */
	struct strview acct_session_id;      /* 44 */
	struct strview nas_port_id;          /* 87 */
	struct addr nas_ip;                  /* 4 or 95 (NAS-IPv6-Address); family 0: none */
	struct addr framed_ip;               /* 8 */
	struct radius_prefix framed_ipv6_prefix;     /* 97 */
	struct radius_prefix delegated_ipv6_prefix;  /* 123 */
	uint32_t acct_status_type;           /* 40; 0 when absent */
	bool has_event_timestamp;
	uint32_t event_timestamp;            /* 55: seconds since the epoch */
	unsigned attributes;                 /* all attributes in the packet */
};

/* The framing every RADIUS packet shares (requests and answers, accounting and CoA):
 * radius_frame checks the 20-byte header's Length against len and 20..4096 (0 and
 * *length, or -RADIUS_E_SHORT / -RADIUS_E_LENGTH); radius_attr_next walks the attributes
 * from *off (start at RADIUS_HEADER_LEN): 1 with the next one's type and value, 0 at the
 * end, -RADIUS_E_ATTRIBUTE for one shorter than 2 bytes or past length. */
int radius_frame(const uint8_t *buf, size_t len, uint16_t *length);
int radius_attr_next(const uint8_t *buf, uint16_t length, size_t *off, uint8_t *type, const uint8_t **value,
    size_t *vlen);

/* 0 and *out, or -RADIUS_E_x. Views in *out point into buf. */
int radius_parse(const uint8_t *buf, size_t len, struct radius_packet *out);

/* Does buf (a parsed Accounting-Request, pkt) carry the authenticator secret makes? */
bool radius_acct_verify(const uint8_t *buf, const struct radius_packet *pkt, const uint8_t *secret,
    size_t secret_len);

/*
 * radius_acct_sign — writes the Request Authenticator of the Accounting-Request in
 * buf[0..len) (its Length field already set to len) into buf[4..20): the MD5 that
 * radius_acct_verify checks. For the NAS side: the load generator, tests.
 */
void radius_acct_sign(uint8_t *buf, size_t len, const uint8_t *secret, size_t secret_len);

/*
 * radius_acct_response — the Accounting-Response to request pkt (no attributes): 20
 * bytes into out, Response Authenticator MD5(Code | Identifier | Length |
 * RequestAuthenticator | secret).
 */
void radius_acct_response(const struct radius_packet *pkt, const uint8_t *secret, size_t secret_len,
    uint8_t out[RADIUS_HEADER_LEN]);

/* "short", "length", ...; "unknown" otherwise. */
const char *radius_error_name(int rc);

#endif
