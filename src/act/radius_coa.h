/*
 * radius_coa.h — RADIUS Change-of-Authorization and Disconnect towards the NAS or BNG
 * that holds a subscriber's session (RFC 5176; issue 10 item 5): the packets
 * (radius_coa.c) and the client that sends them on the libuv loop and waits for their
 * answers (radius_coa_client.c).
 *
 * A request (CoA-Request 43 or Disconnect-Request 40) names the session with the
 * attributes that NAS finds sessions by (per NAS: NAS-IP-Address, NAS-Identifier,
 * User-Name, Acct-Session-Id, Framed-IP-Address, Framed-IPv6-Prefix,
 * Calling-Station-Id, from the session's values the caller passes), then carries the
 * operator's attributes (radius_dict.h). Its Request Authenticator is MD5(Code |
 * Identifier | Length | 16 zero octets | Attributes | secret) as for accounting
 * (RFC 5176 §2.3, RFC 2866 §3). With message_authenticator a Message-Authenticator (80)
 * goes first, HMAC-MD5(secret) over the packet with a zero Request Authenticator and
 * itself zero (RFC 5176 §3.1, RFC 3579 §3.2), made before the Request Authenticator.
 *
 * An answer counts only when it comes from the NAS's address and port, carries the
 * Identifier of a request outstanding there, is the ACK or NAK of that request's code
 * (41/42 for a Disconnect, 44/45 for a CoA) and its Response Authenticator is
 * MD5(Code | Identifier | Length | Request Authenticator | Attributes | secret); a
 * Message-Authenticator in it, if any, must be right too (HMAC-MD5 over the answer with
 * the request's authenticator in place). Anything else is counted by reason and
 * dropped, and the request keeps waiting for its real answer. A NAK's Error-Cause (101)
 * is read with its RFC 5176 §3.5 name.
 */
#ifndef LAZARET_ACT_RADIUS_COA_H
#define LAZARET_ACT_RADIUS_COA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "act/radius_dict.h"
#include "common/addr.h"
#include "common/strview.h"
#include "common/timeutil.h"

#define RADIUS_COA_PORT 3799             /* RFC 5176 §3.1 */
#define RADIUS_COA_MAX_LEN 4096
#define RADIUS_COA_SECRET_MAX 128
#define RADIUS_COA_OUTSTANDING 256       /* one Identifier space per NAS */
#define RADIUS_COA_AVPS_MAX 16           /* operator's attributes a request carries at most */

enum radius_coa_code {
	RADIUS_DISCONNECT_REQUEST = 40,
	RADIUS_DISCONNECT_ACK = 41,
	RADIUS_DISCONNECT_NAK = 42,
	RADIUS_COA_REQUEST = 43,
	RADIUS_COA_ACK = 44,
	RADIUS_COA_NAK = 45,
};

/* The attributes that may identify a session to a NAS (a bit mask, per NAS). */
enum radius_ident {
	RADIUS_IDENT_NAS_IP = 1 << 0,            /* NAS-IP-Address (4), or NAS-IPv6-Address (95) */
	RADIUS_IDENT_NAS_IDENTIFIER = 1 << 1,    /* 32 */
	RADIUS_IDENT_USER_NAME = 1 << 2,         /* 1 */
	RADIUS_IDENT_ACCT_SESSION_ID = 1 << 3,   /* 44 */
	RADIUS_IDENT_FRAMED_IP = 1 << 4,         /* 8 */
	RADIUS_IDENT_FRAMED_IPV6_PREFIX = 1 << 5,/* 97 */
	RADIUS_IDENT_CALLING_STATION_ID = 1 << 6,/* 31 */
};

/* A subscriber's session as accounting reported it; absent values are empty / family 0. */
struct radius_session {
	struct strview acct_session_id, user_name, calling_station_id, nas_identifier;
	struct addr nas_ip;
	struct addr framed_ip;
	bool has_framed_ipv6_prefix;
	struct cidr framed_ipv6_prefix;
};

/*
 * radius_coa_build — request `code` with Identifier id into out[0..room): the identifying
 * attributes of ident that s has, in enum radius_ident's order, then avps[0..n). The
 * length, or -ENODATA when s has none of the session attributes ident asks for (NAS-IP
 * and NAS-Identifier alone name no session), -ENOSPC when it does not fit, -EINVAL for
 * a bad code or value. Pure.
 */
int radius_coa_build(uint8_t code, uint8_t id, unsigned ident, const struct radius_session *s,
    const struct radius_avp *avps, size_t n, bool message_authenticator, const uint8_t *secret,
    size_t secret_len, uint8_t *out, size_t room);

/* Why an answer was dropped; radius_coa_answer_* return -RADIUS_COA_E_x. */
enum radius_coa_error {
	RADIUS_COA_E_SHORT = 1,              /* shorter than 20 bytes */
	RADIUS_COA_E_LENGTH,                 /* Length under 20, over 4096 or past the datagram */
	RADIUS_COA_E_ATTRIBUTE,              /* an attribute shorter than 2 or past Length */
	RADIUS_COA_E_VALUE,                  /* Error-Cause or Message-Authenticator of the wrong size */
	RADIUS_COA_E_CODE,                   /* not an answer to the request's code */
	RADIUS_COA_E_IDENTIFIER,             /* no request outstanding with its Identifier */
	RADIUS_COA_E_AUTHENTICATOR,          /* the Response Authenticator is wrong */
	RADIUS_COA_E_MESSAGE_AUTHENTICATOR,  /* its Message-Authenticator is wrong */
	RADIUS_COA_E_SOURCE,                 /* from no NAS's address and port (the client's count) */
};
#define RADIUS_COA_ERROR_COUNT 10            /* one more than the last */

struct radius_coa_answer {
	uint8_t code, identifier;
	uint16_t length;
	bool has_error_cause;
	uint32_t error_cause;                /* 101, RFC 5176 §3.5 */
	bool has_message_authenticator;
};

/* The answer's framing and the attributes read: 0, or -RADIUS_COA_E_SHORT..VALUE. Pure. */
int radius_coa_answer_parse(const uint8_t *buf, size_t len, struct radius_coa_answer *out);

/*
 * radius_coa_answer_check — buf parsed as the answer to request (the bytes sent, at least
 * its 20-byte header) under secret: code, Identifier, Response Authenticator and
 * Message-Authenticator checked in that order. 0 and *out, or -RADIUS_COA_E_x.
 */
int radius_coa_answer_check(const uint8_t *buf, size_t len, const uint8_t *request, const uint8_t *secret,
    size_t secret_len, struct radius_coa_answer *out);

/* "CoA-Request", "Disconnect-NAK", ...; "unknown" otherwise. */
const char *radius_coa_code_name(unsigned code);
/* "short", "authenticator", ... (RADIUS_COA_E_x); "unknown" otherwise. */
const char *radius_coa_error_name(int rc);
/* RFC 5176 §3.5's causes as FreeRADIUS names them ("Session-Context-Not-Found"); NULL for others. */
const char *radius_error_cause_name(uint32_t cause);

/* ---- the client ---- */

/* A NAS lazaretd may send requests to, with what it takes. */
struct radius_nas_conf {
	char name[64];
	struct addr addr;
	uint16_t port;                       /* 0: RADIUS_COA_PORT */
	uint8_t secret[RADIUS_COA_SECRET_MAX];
	size_t secret_len;
	unsigned ident;                      /* enum radius_ident bits; 0: Acct-Session-Id and NAS-IP */
	bool disconnect;                     /* quarantine and release by Disconnect-Request, not CoA */
	bool message_authenticator;          /* add Message-Authenticator to requests */
	struct radius_avp quarantine[RADIUS_COA_AVPS_MAX];   /* what a CoA on quarantine carries */
	size_t nquarantine;
	struct radius_avp release[RADIUS_COA_AVPS_MAX];      /* ... and on release */
	size_t nrelease;
};

struct radius_coa_conf {
	unsigned retries;                    /* retransmissions after the first send (e.g. 3) */
	usec_t timeout;                      /* the first wait; doubled at each retry (1 s, 2 s, 4 s ...) */
	struct addr source;                  /* family 0: the kernel chooses */
};

enum radius_coa_outcome {
	RADIUS_COA_OUTCOME_ACK,
	RADIUS_COA_OUTCOME_NAK,
	RADIUS_COA_OUTCOME_TIMEOUT,          /* no valid answer after the retries */
	RADIUS_COA_OUTCOME_SEND_ERROR,       /* the socket refused the first send */
	RADIUS_COA_OUTCOME_CANCELLED,        /* the client was freed first */
};

struct radius_coa_result {
	enum radius_coa_outcome outcome;
	const char *nas;                     /* its name */
	uint8_t code;                        /* the request's code */
	uint8_t identifier;
	unsigned sends;                      /* 1 + retransmissions */
	bool has_error_cause;
	uint32_t error_cause;                /* a NAK's, if it gave one (an ACK may, too) */
	int error;                           /* SEND_ERROR: -errno */
};

/* Called once per request, with the outcome; must not free the client. */
typedef void (*radius_coa_done_fn)(void *arg, const struct radius_coa_result *r);

/* A NAS's counts, for stats and metrics. */
struct radius_coa_nas_stats {
	uint64_t sent;                       /* requests (first sends) */
	uint64_t retransmitted;
	uint64_t acked, naked, timed_out, send_errors;
	uint64_t naked_by_cause[19];         /* index radius_coa_cause_index(); 0: none or another */
	uint64_t dropped[RADIUS_COA_ERROR_COUNT];            /* answers by enum radius_coa_error */
	unsigned outstanding;
};

/* naked_by_cause's index of cause: 1..18 for RFC 5176's causes, 0 for none or another. */
unsigned radius_coa_cause_index(uint32_t cause);
/* The cause an index stands for (0 for index 0). */
uint32_t radius_coa_cause_at(unsigned index);

struct radius_coa_client;

/*
 * radius_coa_client_new — a client on loop for nases[0..n) (copied, secrets included),
 * with one UDP socket per address family the NASes use, bound to conf->source's if
 * given. NULL with err.
 */
struct radius_coa_client *radius_coa_client_new(uv_loop_t *loop, const struct radius_coa_conf *conf,
    const struct radius_nas_conf *nases, size_t n, char *err, size_t errlen);

/*
 * radius_coa_client_free — every outstanding request ends CANCELLED (its callback called
 * now); the sockets and timers close on the loop and the memory goes when they have.
 */
void radius_coa_client_free(struct radius_coa_client *c);

/*
 * radius_coa_send — request code (CoA or Disconnect) to NAS nas for session s with
 * avps[0..navps): sent now, retransmitted unchanged after timeout, 2·timeout ... for
 * conf->retries times, then done with TIMEOUT; done with ACK or NAK when the NAS answers.
 * 0 (done will be called, never before this returns), or -ENOENT (no such NAS), -EBUSY
 * (RADIUS_COA_OUTSTANDING requests already wait there), -ENODATA/-ENOSPC/-EINVAL
 * (radius_coa_build's), -ENOMEM; done is then not called.
 */
int radius_coa_send(struct radius_coa_client *c, size_t nas, uint8_t code, const struct radius_session *s,
    const struct radius_avp *avps, size_t navps, radius_coa_done_fn done, void *arg);

/* What the NAS is configured to get on quarantine (release false) or release: a
 * Disconnect-Request (no attributes beside the session's: the subscriber comes back
 * through the AAA server's profile), or a CoA-Request with its quarantine or release
 * attributes (none when that list is empty). As radius_coa_send. */
int radius_coa_apply(struct radius_coa_client *c, size_t nas, bool release, const struct radius_session *s,
    radius_coa_done_fn done, void *arg);

/* The index of the NAS called name, or -1. */
int radius_coa_nas_index(const struct radius_coa_client *c, const char *name);

/* NAS i's name and counts; false past the last. */
bool radius_coa_nas(const struct radius_coa_client *c, size_t i, const char **name,
    const struct radius_coa_nas_stats **st);

/* Answers from no NAS's address and port. */
uint64_t radius_coa_unknown_source(const struct radius_coa_client *c);

#endif
