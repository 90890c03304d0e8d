/*
 * delivery_int.h — the delivery sensor's parts, shared by its files and nothing else:
 * delivery.c (the sensor's life, its lines and their outcomes), delivery_qid.c (open
 * queue IDs and after-queue content filters), delivery_rules.c (what the rules remember
 * of each subject, and the rules), delivery_snapshot.c (their state across restarts).
 */
#ifndef LAZARET_SENSE_DELIVERY_INT_H
#define LAZARET_SENSE_DELIVERY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/htable.h"
#include "common/log.h"
#include "common/strview.h"
#include "sense/delivery.h"
#include "sense/maillog.h"

#define DELIVERY_BUCKETS     12      /* the bounce window in twelfths */
#define DELIVERY_DOMAINS_CAP 4096    /* distinct domains remembered per window at most */
#define DELIVERY_NETS_CAP    256     /* client networks remembered per account at most */
#define DELIVERY_ADDRS_CAP   256     /* client addresses remembered per account at most */
#define DELIVERY_SESSIONS_CAP 64     /* open smtpd sessions remembered per account at most */
#define DELIVERY_SESSIONS_MAX 65536  /* open smtpd sessions followed, all relays */
/* A session counts this long after its connect at most: its disconnect line may never come
 * (a lost line, a killed smtpd). */
#define DELIVERY_SESSION_MAX_AGE (3600 * USEC_PER_SEC)

#define DELIVERY_REINJECTORS 16      /* content filters' addresses remembered at most */

/* An open queue ID: who submitted the message. */
struct qid_entry {
	struct htable_node node;           /* node.hash: subjects_hash of the key */
	struct qid_entry *older, *newer;   /* age order, oldest first */
	uint16_t key_len;
	uint16_t account_len;
	bool has_addr;
	bool linked;                       /* opened by a content filter's "queued as" */
	struct addr addr;
	usec_t opened;
	char data[];                       /* key ("host qid"), then the account */
};

/*
 * An outcome held for a link (delivery_held_add): its line as read, to be parsed again
 * when the link comes (then it is the submitter's) or DELIVERY_HOLD later (then it is
 * the re-injecting client's, as it would have been at once).
 */
struct held_outcome {
	struct held_outcome *next;         /* arrival order */
	usec_t t;                          /* the line's time */
	usec_t now;                        /* the time it was read at (a year for RFC 3164 lines) */
	struct addr addr;                  /* the relay's own client that opened its queue ID */
	uint16_t key_len;
	uint32_t len;
	char data[];                       /* key ("host qid"), then the line */
};

struct qid_table {
	struct htable table;
	struct qid_entry *oldest, *newest;
};

struct net_seen {
	struct addr net;
	usec_t last;
	uint8_t sources;                   /* 1 << enum delivery_login_source; 0: not known
	                                      (restored from a snapshot) */
};

/* One of an account's smtpd sessions open now (account_sessions). */
struct sess_open {
	uint64_t id;                       /* session_id(): the relay, the smtpd and its PID */
	struct addr addr;
	usec_t since;
};

/* An smtpd session open now, from its "connect from", by its id; acct_len is 0 until its
 * client= line names the account, which its disconnect then finds. */
struct session {
	struct htable_node node;           /* node.hash: the id's two halves folded */
	uint64_t id;
	usec_t since;
	uint32_t acct_hash;                /* the account's subject hash and key */
	uint16_t acct_len;
	char acct[];
};


/* What the rules remember of one subject (host or account). */
struct dstat {
	struct htable_node node;           /* node.hash: its subject's (subjects_hash of the key) */
	uint16_t key_len;
	bool is_account;
	usec_t last_seen;
	/* bounce_ratio: a sliding window in DELIVERY_BUCKETS buckets */
	int64_t bucket_no;                 /* the newest bucket's number (time / width) */
	uint32_t rcpt[DELIVERY_BUCKETS];
	uint32_t fail[DELIVERY_BUCKETS];
	uint32_t unknown[DELIVERY_BUCKETS];
	bool bounce_flagged;
	/* recipient_domains: a tumbling window and a baseline over past windows */
	int64_t dom_window_no;
	uint32_t dom_count;
	uint32_t dom_cap;
	uint32_t *dom_hashes;
	double dom_baseline;
	bool dom_flagged;
	/* account_networks */
	struct net_seen *nets;
	uint16_t net_count, net_cap;
	uint32_t nets_reported;
	/* account_addresses: the same over whole addresses */
	struct net_seen *addrs;
	uint16_t addr_count, addr_cap;
	uint32_t addrs_reported;
	/* account_sessions: its smtpd sessions open now */
	struct sess_open *sess;
	uint16_t sess_count, sess_cap;
	uint32_t sess_reported;
	char key[];
};

struct delivery {
	struct judge *judge;
	const struct config *cfg;
	int kind_bounce, kind_domains, kind_spam, kind_networks, kind_addresses, kind_sessions;
	double z;                          /* one-sided normal quantile of bounce_confidence */
	struct qid_table qids;
	struct htable stats_by_subject;    /* struct dstat */
	struct htable sessions;            /* struct session */
	struct delivery_stats stats;
	struct log_limit refused_log;      /* lines a client forged fields into */
	struct held_outcome *held, **held_tail;
	size_t held_count;
	/* the relay's own clients seen re-injecting a content filter's messages */
	struct addr reinjectors[DELIVERY_REINJECTORS];
	size_t reinjector_count, reinjector_next;
	/* bounce_rule's summary around its numbers, as the configuration fixes it */
	char bounce_mid[112];              /* " recipients refused permanently in the last 1h via the relay (" */
	char bounce_tail[48];              /* "% at 95% confidence" */
	size_t bounce_mid_len, bounce_tail_len;
};

/* Across the parts (delivery_qid.c, delivery_rules.c, delivery_snapshot.c, delivery.c). */
void delivery_addresses_rule(struct delivery *d, struct subject *s, struct dstat *st, const struct addr *a,
    usec_t t, enum delivery_login_source src);
void delivery_bounce_advance(struct delivery *d, struct dstat *st, usec_t t);
void delivery_bounce_rule(struct delivery *d, struct subject *s, struct dstat *st, usec_t t);
void delivery_domains_rule(struct delivery *d, struct subject *s, struct dstat *st, struct strview rcpt,
    usec_t t);
bool delivery_address_own(const struct delivery *d, const struct addr *a);
bool delivery_reinjector(const struct delivery *d, const struct addr *a);
struct dstat *delivery_dstat_find_key(const struct htable *t, const char *key, size_t len, uint32_t h);
void delivery_dstat_free(struct dstat *s);
struct dstat *delivery_dstat_get(struct delivery *d, const struct subject *s);
void delivery_held_release_key(struct delivery *d, const char *key, size_t klen);
void delivery_filter_link(struct delivery *d, const struct maillog_line *l, struct strview new_qid, usec_t t);
struct strview delivery_filter_queued_as(struct strview reply);
bool delivery_filter_relay(const struct delivery *d, struct strview relay);
void delivery_networks_rule(struct delivery *d, struct subject *s, struct dstat *st, const struct addr *a,
    usec_t t, enum delivery_login_source src);
struct qid_entry *delivery_qid_insert(struct delivery *d, const char *key, size_t klen,
    const char *account, size_t alen, const struct addr *a, usec_t t);
struct qid_entry *delivery_qid_lookup(struct delivery *d, const struct maillog_line *l);
void delivery_qid_open(struct delivery *d, const struct maillog_line *l, usec_t t);
void delivery_qid_unlink(struct qid_table *t, struct qid_entry *e);
struct session *delivery_session_add(struct delivery *d, const char *key, uint16_t len, uint32_t h,
    uint64_t id, usec_t t);
void delivery_session_end(struct delivery *d, uint64_t id);
uint64_t delivery_session_id(const struct maillog_line *l);
struct session *delivery_session_find(const struct htable *t, uint64_t id);
void delivery_sessions_rule(struct delivery *d, struct subject *s, struct dstat *st, uint64_t id,
    const struct addr *a, usec_t t);
void delivery_spam_rule(struct delivery *d, struct subject *s, const struct maillog_line *l, usec_t t);
double delivery_wilson_lower(double f, double n, double z);

#endif
