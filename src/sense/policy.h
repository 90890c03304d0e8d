/*
 * policy.h — the Postfix SMTP access policy delegation protocol (SMTPD_POLICY_README).
 *
 * Pure, allocation-free parsing: the framer finds where one request ends in a byte
 * stream, the parser turns one framed request into views of the attributes lazaret
 * uses, and policy_frame_parse does both in one pass. Views point into the caller's
 * buffer and live as long as it does.
 */
#ifndef LAZARET_SENSE_POLICY_H
#define LAZARET_SENSE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/strview.h"

/* Postfix's own attributes are short; certificate subjects and long sender
 * addresses are the largest values seen in practice. */
#define POLICY_MAX_LINE    4096u    /* bytes in one name=value line, newline included */
#define POLICY_MAX_REQUEST 65536u   /* bytes in one request, final empty line included */

enum policy_error {
	POLICY_OK = 0,
	POLICY_ERR_NO_EQUALS = -1,     /* a line without '=' */
	POLICY_ERR_LINE_TOO_LONG = -2, /* a line longer than POLICY_MAX_LINE */
	POLICY_ERR_TOO_LARGE = -3,     /* a request longer than POLICY_MAX_REQUEST */
	POLICY_ERR_NUL = -4,           /* a NUL byte anywhere */
	POLICY_ERR_EMPTY_NAME = -5,    /* "=value" */
	POLICY_ERR_BAD_REQUEST = -6,   /* request= missing or not smtpd_access_policy */
	POLICY_ERR_BAD_NUMBER = -7,    /* recipient_count, size, ... not a decimal number */
	POLICY_ERR_EMPTY = -8,         /* an empty line with no attributes before it */
	POLICY_ERR_UNTERMINATED = -9,  /* parser given bytes not ending in "\n\n" */
	POLICY_ERR_TRAILING = -10,     /* parser given bytes after the empty line that ends a request */
};

/* SMTP protocol states Postfix reports in protocol_state=. */
enum policy_state {
	POLICY_STATE_UNKNOWN = 0,      /* absent or a value we do not know */
	POLICY_STATE_CONNECT,
	POLICY_STATE_EHLO,             /* EHLO and HELO */
	POLICY_STATE_MAIL,
	POLICY_STATE_RCPT,
	POLICY_STATE_DATA,
	POLICY_STATE_END_OF_MESSAGE,
	POLICY_STATE_VRFY,
	POLICY_STATE_ETRN,
	POLICY_STATE_COUNT
};

/*
 * One parsed request. Every view is empty (len 0) when the attribute was absent.
 * Attributes of any Postfix version up to 3.12 are accepted; those not listed
 * here are ignored, as the protocol asks.
 */
struct policy_request {
	enum policy_state protocol_state;
	struct strview protocol_state_raw;
	struct strview protocol_name;      /* SMTP, ESMTP, LMTP */
	struct strview client_address;
	struct strview client_name;
	struct strview reverse_client_name;
	struct strview helo_name;
	struct strview sender;
	struct strview recipient;
	struct strview queue_id;
	struct strview instance;
	struct strview sasl_method;
	struct strview sasl_username;
	struct strview sasl_sender;
	struct strview server_address;
	struct strview server_port;
	struct strview client_port;        /* Postfix >= 3.0; with client_address, names a CGNAT subscriber */
	struct strview policy_context;     /* Postfix >= 3.1: the operator's tag for this policy check */
	uint32_t recipient_count;          /* 0 when absent or before DATA */
	uint64_t size;                     /* message size, 0 when absent */
	unsigned attributes;               /* number of name=value lines seen */
};

/*
 * policy_frame — find the end of the first request in buf[0..len).
 * Returns 1 and sets *request_len (bytes up to and including the empty line) when a
 * whole request is there; 0 when more bytes are needed; a negative enum policy_error
 * when the bytes seen so far can never become a valid request (NUL byte, a line
 * longer than POLICY_MAX_LINE, more than POLICY_MAX_REQUEST bytes without an end).
 * A leading empty line is framed as a request of its own, for policy_parse to reject.
 * Cheap to call again on the same, grown buffer: it keeps no state and reads at most
 * POLICY_MAX_REQUEST bytes.
 */
int policy_frame(const uint8_t *buf, size_t len, size_t *request_len);

/*
 * policy_parse — parse one framed request (as delimited by policy_frame, ending in
 * "\n\n"). Fills *out (views into buf) and returns POLICY_OK, or a negative
 * enum policy_error and leaves *out unspecified. Tolerates "\r\n" line endings.
 * A value runs from the first '=' to the end of the line and may be empty; an empty
 * recipient_count or size reads as 0, as Postfix sends for "unavailable". When an
 * attribute repeats, the last one wins.
 */
int policy_parse(const uint8_t *buf, size_t len, struct policy_request *out);

/*
 * The actions lazaret answers with (Postfix's access(5) actions): DUNNO, the soft
 * DEFER_IF_PERMIT 4.7.1 and the hard REJECT 5.7.1. An answer is one line
 * "action=...\n" and the empty line, at most POLICY_ANSWER_MAX bytes.
 */
enum policy_action {
	POLICY_DUNNO = 0,
	POLICY_DEFER,
	POLICY_REJECT,
	POLICY_ACTION_COUNT
};

#define POLICY_ANSWER_MAX 1024

/* "DUNNO", "DEFER_IF_PERMIT", "REJECT"; "invalid" otherwise. */
const char *policy_action_name(enum policy_action a);

/*
 * policy_frame_parse — policy_frame and policy_parse in one pass, for a server reading
 * a stream: returns 1, sets *request_len and fills *out (views into buf) when the first
 * request in buf[0..len) is whole and valid; 0 when more bytes are needed; a negative
 * enum policy_error otherwise. The result is always what policy_frame, then
 * policy_parse on the framed bytes, would give: framing errors win, and parse errors
 * are reported only once the request's empty line has arrived. *out is unspecified
 * unless 1 is returned. Stateless, like policy_frame: call it again on the grown buffer.
 */
int policy_frame_parse(const uint8_t *buf, size_t len, size_t *request_len, struct policy_request *out);

/* A fixed English description of a policy_error code, for logs. */
const char *policy_strerror(int err);

/* "DATA", "RCPT", ... for logs and metrics labels; "unknown" for POLICY_STATE_UNKNOWN. */
const char *policy_state_name(enum policy_state state);

#endif
