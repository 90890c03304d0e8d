/*
 * maillog.h — Postfix log lines, as the relay writes them, parsed into the fields
 * the delivery-error sensor uses; and Dovecot's login lines found in the same log
 * (MAILLOG_LOGIN).
 *
 * Pure and allocation-free: (bytes, length) in, a struct of views into those bytes
 * out. Handles RFC 3164 ("Nov 27 06:40:01") and RFC 3339
 * ("2026-11-27T06:40:01.123456+00:00", "+0200", "2026-11-27 06:40:01") timestamps,
 * RFC 5424 framing ("<PRI>1 TIME HOST APP PROCID MSGID SD MSG"), Postfix's own maillog_file
 * (postlog) lines, short and long queue IDs, syslog_name variants
 * ("postfix/submission/smtpd", multi-instance "postfix-out/smtp"), and reads
 * "name=value, name=value" fields by name, never by position (Postfix 3.11 inserted
 * tls= into delivery lines).
 *
 * Clients write into these lines too: HELO, MAIL FROM and its AUTH= parameter, RCPT
 * TO, header and body text; remote servers their replies. Whom a line names is read
 * only where Postfix writes it ahead of such text: a client= line up to its
 * sasl_sender=, the "from NAME[ADDR]" that opens smtpd's and postscreen's rejects.
 * cleanup's header/body rejects name nobody (their queue ID does), and a field that
 * Postfix writes once but a line holds twice refuses the line.
 */
#ifndef LAZARET_SENSE_MAILLOG_H
#define LAZARET_SENSE_MAILLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/strview.h"

#define MAILLOG_MAX_LINE 8192   /* longer lines are refused (MAILLOG_ERR_TOO_LONG) */

/* What a line is. Values >= 0 are returned by maillog_parse_line on success. */
enum maillog_kind {
	MAILLOG_OTHER = 0,      /* a Postfix line lazaret does not use (pickup, cleanup, qmgr ...) */
	MAILLOG_CLIENT,         /* QID: client=NAME[ADDR](, sasl_method=M, sasl_username=U ...);
	                           from sasl_sender= on (the client's MAIL FROM AUTH=) all is opaque */
	MAILLOG_FROM,           /* QID: from=<S>, size=N, nrcpt=N (queue active); also
	                           QID: from=<S>, status=expired, returned to sender (status set) */
	MAILLOG_DELIVERY,       /* QID: to=<R>, (orig_to=<O>,) relay=..., dsn=X.Y.Z, status=S (TEXT) */
	MAILLOG_REJECT,         /* NOQUEUE: reject: RCPT from NAME[ADDR]: CODE DSN <R>: TEXT; from=<S> to=<R> ...
	                           also a QID instead of NOQUEUE, milter-reject:, other stages (MAIL, DATA,
	                           CONNECT, END-OF-MESSAGE), postscreen's [ADDR]:PORT, and cleanup's
	                           "QID: reject: header|body|content ... from NAME[ADDR]; from=<S> ...: DSN TEXT"
	                           (no client: see client_addr). An smtpd/postscreen reject cut short
	                           before or inside its "; from=" tail is one too, without from and,
	                           unless its reply opens with "<R>: ", without to. hold/discard/redirect/filter/warn
	                           actions are MAILLOG_OTHER. */
	MAILLOG_REMOVED,        /* QID: removed */
	MAILLOG_LOGIN,          /* Dovecot's "imap-login: Login: user=<U>, method=M, rip=ADDR, ..." (program
	                           "dovecot" in syslog; "imap-login: Info: Login: ..." in its own log_path
	                           file): login_user, client_addr (rip), sasl_method, service ("imap-login") */
	MAILLOG_LOGIN_FAILED,   /* Dovecot's "Disconnected (auth failed, ...)" and "Aborted login (auth
	                           failed, ...)": a password tried, not an account used (service set) */
	MAILLOG_KIND_COUNT
};

/* Errors: the line is counted under its reason and skipped. */
enum maillog_error {
	MAILLOG_ERR_EMPTY = -1,         /* empty or only white space */
	MAILLOG_ERR_TOO_LONG = -2,      /* longer than MAILLOG_MAX_LINE */
	MAILLOG_ERR_TIMESTAMP = -3,     /* no RFC 3164 or RFC 3339 timestamp */
	MAILLOG_ERR_HEADER = -4,        /* no "host program[pid]: " after the timestamp */
	MAILLOG_ERR_NOT_POSTFIX = -5,   /* another program's line (not an error for the log, just not
	                                   ours); Dovecot's lines other than its logins too */
	MAILLOG_ERR_FIELDS = -6,        /* a line of a kind we use whose fields do not parse */
	MAILLOG_ERR_NUL = -7,           /* a NUL byte */
	MAILLOG_ERR_DUPLICATE = -8,     /* a field Postfix writes once appears twice: text a client
	                                   wrote posing as Postfix's own (never attributed); also a
	                                   Dovecot login whose user name holds what would read as
	                                   Dovecot's own fields (see maillog_parse_login) */
	MAILLOG_ERR_QUEUE_ID = -9,      /* "X: " where the queue ID goes, X shaped like one
	                                   (letters and digits, a digit among them) but not
	                                   one Postfix writes: never left uncounted as "other" */
};
#define MAILLOG_ERROR_COUNT 9

enum maillog_status {
	MAILLOG_STATUS_NONE = 0,
	MAILLOG_STATUS_SENT,
	MAILLOG_STATUS_DEFERRED,
	MAILLOG_STATUS_BOUNCED,
	MAILLOG_STATUS_EXPIRED,
	MAILLOG_STATUS_OTHER,           /* e.g. "deliverable", "undeliverable" from sendmail -bv */
};

/* An smtpd session's start or end, on a line that is otherwise MAILLOG_OTHER. */
enum maillog_session {
	MAILLOG_SESSION_NONE = 0,
	MAILLOG_SESSION_CONNECT,        /* "connect from NAME[ADDR]" */
	MAILLOG_SESSION_DISCONNECT,     /* "disconnect from NAME[ADDR] ehlo=1 ... commands=N" */
};

/* How a delivery or rejection came out, from the DSN and the remote reply. */
enum maillog_outcome {
	MAILLOG_OUTCOME_DELIVERED = 0,
	MAILLOG_OUTCOME_UNKNOWN_RECIPIENT,   /* 5.1.x: no such user, bad destination mailbox/domain */
	MAILLOG_OUTCOME_SPAM_REJECTED,       /* 5.7.x with spam / blocklist / reputation wording */
	MAILLOG_OUTCOME_POLICY_REJECTED,     /* other 5.7.x */
	MAILLOG_OUTCOME_MAILBOX_FULL,        /* x.2.2, "over quota", "mailbox full" */
	MAILLOG_OUTCOME_TEMPORARY,           /* other 4.x.x, status=deferred */
	MAILLOG_OUTCOME_OTHER_PERMANENT,     /* other 5.x.x */
	MAILLOG_OUTCOME_COUNT
};

struct maillog_time {
	int year;              /* 0 when the format has none (RFC 3164): the caller supplies it */
	int month;             /* 1-12 */
	int day, hour, minute, second;
	int usec;              /* 0 when absent */
	int tz_minutes;        /* offset east of UTC */
	int has_tz;            /* 0 for RFC 3164 and "2026-11-27 06:40:01": local time */
};

struct maillog_line {
	struct maillog_time time;
	struct strview host;           /* the logging host */
	struct strview program;        /* "postfix/smtpd", "postfix/submission/smtpd", "postfix-out/smtp" */
	struct strview syslog_name;    /* program without the last component: "postfix/submission" */
	struct strview service;        /* the last component: "smtpd", "smtp", "qmgr" ... */
	uint32_t pid;
	struct strview message;        /* what follows "program[pid]: ", for every line whose header
	                                  parses (another program's too: MAILLOG_ERR_NOT_POSTFIX) */
	struct strview queue_id;       /* empty for NOQUEUE */

	/*
	 * MAILLOG_CLIENT, MAILLOG_REJECT: the client as Postfix wrote it, ahead of any text
	 * the client chose. Empty for cleanup's header/body/content rejects: their
	 * "from NAME[ADDR]" follows the message's own text and cannot be told from it, so
	 * the caller attributes those through queue_id and its client= line.
	 */
	struct strview client_name;
	struct strview client_addr;    /* without brackets; "unknown" names stay as given */
	struct strview sasl_method;
	struct strview sasl_username;
	struct strview login_user;     /* MAILLOG_LOGIN: the user=<...> Dovecot logged, any bytes but
	                                  ">, " (a client chose it, the passdb accepted it) */
	struct strview orig_queue_id;  /* MAILLOG_CLIENT: XFORWARD's, from a content filter's
	                                  re-injection; empty when not a queue ID */
	/* MAILLOG_OTHER: smtpd's "connect from" / "disconnect from" lines, with client_name
	 * and client_addr; the kind stays MAILLOG_OTHER (counted as before) */
	enum maillog_session session;

	/* MAILLOG_FROM */
	struct strview from;           /* without <>; also set for MAILLOG_REJECT */
	uint64_t size;
	uint32_t nrcpt;

	/* MAILLOG_DELIVERY, MAILLOG_REJECT */
	struct strview to;             /* without <> */
	struct strview orig_to;
	struct strview relay;          /* "mx.example.org[203.0.113.9]:25", "none", "local" */
	struct strview dsn;            /* "5.1.1" */
	enum maillog_status status;
	struct strview reply;          /* the text in parentheses after status=, or the reject text */
	struct strview reject_code;    /* "550" for MAILLOG_REJECT; empty where the line has none (cleanup) */
	enum maillog_outcome outcome;  /* MAILLOG_DELIVERY, MAILLOG_REJECT only */

	/* MAILLOG_REJECT */
	struct strview action;         /* "reject", "milter-reject" */
	struct strview reject_stage;   /* "RCPT", "MAIL", "DATA", "CONNECT", "END-OF-MESSAGE"; cleanup's "header", "body" */
};

/*
 * maillog_parse_line — parse one line (without its newline; a trailing "\r" is
 * ignored) into *out, views pointing into buf. Returns an enum maillog_kind (>= 0)
 * or a negative enum maillog_error; *out is unspecified on error.
 */
int maillog_parse_line(const uint8_t *buf, size_t len, struct maillog_line *out);

/* maillog_is_qid — true when [p, p + n) is a queue ID as Postfix writes one, short or long. */
int maillog_is_qid(const char *p, size_t n);

/*
 * maillog_classify — the outcome of a DSN ("5.1.1") and reply text, with the status
 * for deliveries (MAILLOG_STATUS_NONE for rejects). Pure; used by the parser to set
 * out->outcome and exposed for tests.
 */
enum maillog_outcome maillog_classify(struct strview dsn, struct strview reply, enum maillog_status status);

/* Names for logs, metrics labels and JSON: "client", "delivery", ... / "timestamp", ... */
const char *maillog_kind_name(int kind);
const char *maillog_error_name(int err);
const char *maillog_outcome_name(enum maillog_outcome o);

#endif
