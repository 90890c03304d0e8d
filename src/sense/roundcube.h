/*
 * roundcube.h — Roundcube's userlogins log, one line at a time: who logged in to the
 * webmail, from where, when (issue 11: webmail logins as account evidence).
 *
 * Roundcube 1.6 (rcmail::log_login, rcube::write_log) writes, with log_driver "file"
 * (logs/userlogins.log, Debian: /var/log/roundcube/userlogins.log):
 *   [05-Dec-2026 03:12:45 +0000]: <k3vd8s2a> Successful login for alice@example.net (ID: 1)
 *       from 192.0.2.7 in session k3vd8s2a0fj3m2kd
 *   [05-Dec-2026 03:12:45 +0000]: <k3vd8s2a> Failed login for mallory from 192.0.2.7 in
 *       session k3vd8s2a0fj3m2kd (error: 0)
 * and with log_driver "syslog" the same message after "HOST roundcube: " (syslog_id).
 * The time stamp is log_date_format's default "d-M-Y H:i:s O"; "<...>" is
 * log_session_id's session prefix, absent without a session. The address is
 * rcube_utils::remote_ip(): REMOTE_ADDR, then " (X-Real-IP: A,X-Forwarded-For: B, C)"
 * when the request carried those headers, which the client chose unless a proxy in
 * front of Roundcube set them.
 *
 * Pure and allocation-free, views into the line. A user name Roundcube accepted from
 * the IMAP server and the headers a client sent can both hold Roundcube's words: a line
 * with " (ID: " more than once cannot be told apart and is refused
 * (ROUNDCUBE_ERR_AMBIGUOUS) rather than read as another account's login.
 */
#ifndef LAZARET_SENSE_ROUNDCUBE_H
#define LAZARET_SENSE_ROUNDCUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strview.h"
#include "sense/maillog.h"

#define ROUNDCUBE_MAX_LINE 4096     /* longer lines are refused */

/* What a line is; values >= 0 from roundcube_parse_line. */
enum roundcube_kind {
	ROUNDCUBE_LOGIN = 0,            /* "Successful login for ..." */
	ROUNDCUBE_LOGIN_FAILED,         /* "Failed login for ...": a password tried, not evidence */
	ROUNDCUBE_KIND_COUNT
};

enum roundcube_error {
	ROUNDCUBE_ERR_EMPTY = -1,       /* empty or blanks */
	ROUNDCUBE_ERR_TOO_LONG = -2,    /* longer than ROUNDCUBE_MAX_LINE */
	ROUNDCUBE_ERR_TIMESTAMP = -3,   /* no "[d-M-Y H:i:s O]: " and no syslog header */
	ROUNDCUBE_ERR_OTHER = -4,       /* another line (another program's, another message) */
	ROUNDCUBE_ERR_FIELDS = -5,      /* a login line whose fields do not parse */
	ROUNDCUBE_ERR_AMBIGUOUS = -6,   /* " (ID: " twice: a user name or a header posing as fields */
	ROUNDCUBE_ERR_NUL = -7,         /* a NUL byte */
};
#define ROUNDCUBE_ERROR_COUNT 7

struct roundcube_login {
	struct maillog_time time;       /* delivery_time() resolves it */
	struct strview user;            /* MAILLOG_LOGIN: as Roundcube logged it */
	uint64_t user_id;               /* Roundcube's user ID */
	struct strview remote_addr;     /* REMOTE_ADDR: Roundcube's TCP peer */
	struct strview forwarded;       /* what remote_ip() appended in "( )", without them:
	                                   "X-Real-IP: A,X-Forwarded-For: B, C"; empty when none */
};

/*
 * roundcube_parse_line — one line (no newline; a trailing "\r" is ignored) into *out.
 * Returns an enum roundcube_kind or a negative enum roundcube_error. For
 * ROUNDCUBE_LOGIN_FAILED only time is set.
 */
int roundcube_parse_line(const uint8_t *buf, size_t len, struct roundcube_login *out);

/*
 * roundcube_forwarded_next — the address a proxy in front of Roundcube saw, read from the
 * right of out->forwarded: each call returns the next entry leftwards (the last entry of
 * X-Forwarded-For, then the one before ..., then X-Real-IP), *pos keeping the place
 * (start with *pos = forwarded.len). 0 and *addr, or -1 when none is left. The caller
 * walks past its own proxies ([allowlist] network) and takes the first other entry:
 * entries further left are what the client itself sent.
 */
int roundcube_forwarded_next(struct strview forwarded, size_t *pos, struct strview *addr);

const char *roundcube_kind_name(int kind);
const char *roundcube_error_name(int err);

#endif
