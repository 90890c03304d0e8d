/*
 * delivery.h — delivery errors as evidence: the relay's log lines, tied to the client
 * host and SASL account that submitted each message, become outcomes per subject,
 * and outcomes become evidence the judge weighs.
 *
 * A client= line opens a queue ID with its host and account; each to=... status=
 * line and each NOQUEUE reject is an outcome for them. Four rules, all configurable:
 *   bounce_ratio       the Wilson lower bound of permanent failures over recipients in
 *                      the last window exceeds a threshold, with enough recipients;
 *   recipient_domains  many distinct recipient domains in a short window for a
 *                      subject that usually mails few;
 *   spam_rejected      the subject's mail refused as spam, by remote servers or by
 *                      this relay's own blocklists, checks and milters;
 *   account_networks   one SASL account used from many client networks in 24 h; its
 *                      logins at the relay, and with [logins] Dovecot's IMAP/POP3 logins
 *                      and Roundcube's webmail logins (delivery_login), alike.
 * Time comes from the log lines, so the same code serves the daemon and the offline
 * `lazaretctl analyze`.
 */
#ifndef LAZARET_SENSE_DELIVERY_H
#define LAZARET_SENSE_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "judge/judge.h"
#include "sense/maillog.h"
#include "sense/roundcube.h"

/* An outcome of a queue ID the relay itself opened (a content filter re-injecting) waits
 * this long of log time for the filter's "queued as" that names its submitter; at most
 * this many wait at once (the oldest is charged first). */
#define DELIVERY_HOLD         (15 * USEC_PER_SEC)
#define DELIVERY_HELD_MAX     4096

/* Where an account logged in from a network (account_networks' summary names them). */
enum delivery_login_source {
	DELIVERY_LOGIN_SMTP = 0,        /* SMTP AUTH at the relay (its client= lines) */
	DELIVERY_LOGIN_IMAP,            /* Dovecot's imap-login */
	DELIVERY_LOGIN_POP3,            /* pop3-login */
	DELIVERY_LOGIN_SUBMISSION,      /* Dovecot's submission-login */
	DELIVERY_LOGIN_SIEVE,           /* managesieve-login */
	DELIVERY_LOGIN_WEBMAIL,         /* Roundcube's userlogins */
	DELIVERY_LOGIN_OTHER,           /* another of Dovecot's *-login services */
	DELIVERY_LOGIN_SOURCES
};

/* Why a login from outside the relay (Dovecot, webmail) was not evidence. */
enum delivery_login_skip {
	DELIVERY_LOGIN_SKIP_OFF = 0,    /* [logins] dovecot = no */
	DELIVERY_LOGIN_SKIP_FRONT_END,  /* from an [allowlist] network: the webmail front end */
	DELIVERY_LOGIN_SKIP_IGNORED,    /* from a [judge] ignore network */
	DELIVERY_LOGIN_SKIP_ADDRESS,    /* the remote address does not parse */
	DELIVERY_LOGIN_SKIP_ACCOUNT,    /* no account subject (memory) */
	DELIVERY_LOGIN_SKIPS
};

struct delivery_stats {
	uint64_t lines;                                  /* lines seen */
	uint64_t kinds[MAILLOG_KIND_COUNT];              /* parsed, by kind */
	uint64_t errors[MAILLOG_ERROR_COUNT + 1];        /* skipped, by -error */
	uint64_t outcomes[MAILLOG_OUTCOME_COUNT];        /* attributed outcomes */
	uint64_t unattributed;                           /* outcomes whose queue ID was not open */
	uint64_t own_rejects;                            /* lazaret's own refusals, not counted */
	uint64_t filter_hops;                            /* deliveries to this relay's content filter */
	uint64_t filter_links;                           /* ... whose re-injected queue ID was linked */
	uint64_t outcomes_held;                          /* outcomes of a queue ID the relay itself
	                                                    opened, held for a filter's link */
	uint64_t held_linked;                            /* ... then charged to the linked submitter */
	uint64_t held_unlinked;                          /* ... then, no link came, to that client */
	uint64_t queue_ids_open;
	uint64_t queue_ids_expired;                      /* dropped for age */
	uint64_t queue_ids_evicted;                      /* dropped because the table was full */
	uint64_t evidence_updates;
	uint64_t logins[DELIVERY_LOGIN_SOURCES];         /* logins that were evidence, by source */
	uint64_t logins_failed[DELIVERY_LOGIN_SOURCES];  /* failed logins seen (not evidence) */
	uint64_t logins_skipped[DELIVERY_LOGIN_SKIPS];   /* logins that were not evidence, by reason */
	uint64_t webmail_lines;                          /* [logins] roundcube_log lines seen */
	uint64_t webmail_errors[ROUNDCUBE_ERROR_COUNT + 1];  /* ... skipped, by -error */
};

struct delivery;

/* Registers the four evidence kinds with j. NULL on ENOMEM. */
struct delivery *delivery_new(struct judge *j, const struct config *cfg);
void delivery_free(struct delivery *d);
void delivery_configure(struct delivery *d, const struct config *cfg);

/*
 * delivery_line — one raw log line (no newline); queue IDs are kept apart per logging
 * host, so several relays' logs can share one delivery. Parses it, resolves its time (RFC 3164 lines take
 * the year from `now`), and feeds it to the correlation and the rules. Returns the
 * line's kind or a negative maillog_error (counted, skipped).
 */
int delivery_line(struct delivery *d, const char *line, size_t len, usec_t now);

/*
 * delivery_login — account user[0, len) logged in from the address text addr at t, by
 * src (not DELIVERY_LOGIN_SMTP: the relay's own logins come with their lines): its
 * network and address count for the account's account_networks and account_addresses
 * exactly as an SMTP AUTH at the relay would, one item of evidence whatever the
 * source. A login from an [allowlist] network is the webmail front end logging in for
 * its user, from a [judge] ignore network nobody's: neither counts. Returns true when
 * the login was evidence; else it is counted under its enum delivery_login_skip.
 */
bool delivery_login(struct delivery *d, enum delivery_login_source src, const char *user, size_t len,
    struct strview addr, usec_t t);

/*
 * delivery_webmail_line — one line of Roundcube's userlogins log (no newline), read at
 * now: a successful login is delivery_login's, from the client's address (behind a
 * proxy in [allowlist] network, the address it forwarded: X-Forwarded-For's entries from
 * the right, past the allowlisted ones); a failed one is counted. Returns the line's
 * enum roundcube_kind or a negative roundcube_error (counted, skipped).
 */
int delivery_webmail_line(struct delivery *d, const char *line, size_t len, usec_t now);

/* Names for stats and metrics labels: "smtp", "imap", ... / "front_end", ... */
const char *delivery_login_source_name(enum delivery_login_source src);
const char *delivery_login_skip_name(enum delivery_login_skip why);

/* Drops queue IDs older than the configured age at time `now` (call periodically), and
 * charges the outcomes that waited in vain for a content filter's link. */
void delivery_expire(struct delivery *d, usec_t now);

/*
 * Charges every outcome still held for a content filter's link (see delivery_line) as if
 * none comes. An outcome of a queue ID the relay itself opened without an account (a
 * filter's re-injection, client= localhost) waits up to 15 s of log time for the filter's
 * "queued as" line, which a loaded relay may log after the re-injected message bounced:
 * call this when no more lines come (the end of an analysis, a daemon stopping).
 */
void delivery_flush(struct delivery *d);

/* Charges the outcomes held since before t - DELIVERY_HOLD (log time) as if no link
 * comes: cheap, call every second or so (lines arriving do it too). */
void delivery_release_held(struct delivery *d, usec_t t);

const struct delivery_stats *delivery_stats(const struct delivery *d);

/*
 * delivery_save — the rules' state (bounce windows, recipient domains and their
 * baselines, accounts' networks) and the open queue IDs, as bytes for
 * delivery_restore after a restart: without them every subject would look new (a
 * regular bulk sender "usually mails 0 domains") and mail submitted before the
 * restart could not be tied to its sender. *out is malloc'd. 0 or -ENOMEM.
 */
int delivery_save(const struct delivery *d, usec_t now, uint8_t **out, size_t *len);

/*
 * delivery_restore — puts back what delivery_save wrote, into a delivery that has
 * not seen a line yet. Every byte is checked first: on -EINVAL (not such a snapshot,
 * or damaged) nothing changes; -EBUSY when the delivery is in use; -ENOMEM.
 * Windows saved under another bounce_window or domains_window are left out.
 */
int delivery_restore(struct delivery *d, const uint8_t *buf, size_t len);

/* Resolves a parsed timestamp to microseconds since the epoch; RFC 3164 times are local. */
usec_t delivery_time(const struct maillog_time *t, usec_t now);

#endif
