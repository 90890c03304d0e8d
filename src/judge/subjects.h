/*
 * subjects.h — the in-memory table of every host and account lazaret tracks.
 *
 * A chained hash table keyed by the subject's canonical text ("192.0.2.7",
 * "2001:db8:1:2::/64", "account:alice"). Entries are small (96 bytes plus the key)
 * because a mid-size ISP has a million of each; evidence and operator notes live in a
 * separate detail block that most subjects never get. Every entry is also on a
 * recency list, newest first (subjects_touch), from which the judge drops the least
 * recently seen when the table is full.
 */
#ifndef LAZARET_JUDGE_SUBJECTS_H
#define LAZARET_JUDGE_SUBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/htable.h"
#include "common/subject_text.h"
#include "common/timeutil.h"
#include "store/store.h"

/* A subscriber is the subject when an identity source (ident/ident.h) says who held a
 * host's address: its key is "subscriber:" and the id the source gave. */
enum subject_kind { SUBJECT_HOST = 0, SUBJECT_ACCOUNT = 1, SUBJECT_SUBSCRIBER = 2 };

/* An account's key is this prefix and the SASL user name; a host's is its address. */
#define SUBJECT_ACCOUNT_PREFIX "account:"
#define SUBJECT_ACCOUNT_PREFIX_LEN (sizeof(SUBJECT_ACCOUNT_PREFIX) - 1)

#define SUBJECT_SUBSCRIBER_PREFIX "subscriber:"
#define SUBJECT_SUBSCRIBER_PREFIX_LEN (sizeof(SUBJECT_SUBSCRIBER_PREFIX) - 1)

/* Whether key[0..len) is a subscriber's key. */
static inline bool
subject_key_is_subscriber(const char *key, size_t len)
{
	return len > SUBJECT_SUBSCRIBER_PREFIX_LEN &&
	    memcmp(key, SUBJECT_SUBSCRIBER_PREFIX, SUBJECT_SUBSCRIBER_PREFIX_LEN) == 0;
}

/* The kind of a key: by its prefix. */
static inline enum subject_kind
subject_key_kind(const char *key, size_t len)
{
	if (len > SUBJECT_SUBSCRIBER_PREFIX_LEN && memcmp(key, SUBJECT_SUBSCRIBER_PREFIX, SUBJECT_SUBSCRIBER_PREFIX_LEN) == 0)
		return SUBJECT_SUBSCRIBER;
	if (len > SUBJECT_ACCOUNT_PREFIX_LEN && memcmp(key, SUBJECT_ACCOUNT_PREFIX, SUBJECT_ACCOUNT_PREFIX_LEN) == 0)
		return SUBJECT_ACCOUNT;
	return SUBJECT_HOST;
}

/* How many bytes of a key of this kind are its prefix ("account:", "subscriber:"). */
static inline size_t
subject_prefix_len(enum subject_kind kind)
{
	return kind == SUBJECT_ACCOUNT ? SUBJECT_ACCOUNT_PREFIX_LEN :
	    kind == SUBJECT_SUBSCRIBER ? SUBJECT_SUBSCRIBER_PREFIX_LEN : 0;
}

/* Whether key[0..len) is an account's key. */
static inline bool
subject_key_is_account(const char *key, size_t len)
{
	return len > SUBJECT_ACCOUNT_PREFIX_LEN && memcmp(key, SUBJECT_ACCOUNT_PREFIX, SUBJECT_ACCOUNT_PREFIX_LEN) == 0;
}

enum rate_index { RATE_MESSAGES = 0, RATE_RECIPIENTS = 1 };

#define SUBJECT_F_ALLOWLISTED 0x01   /* never raised above watch automatically */
#define SUBJECT_F_DIRTY       0x02   /* on the checkpoint list */
#define SUBJECT_F_HELD        0x04   /* deserves quarantine, held at throttle by the hourly cap */
#define SUBJECT_F_DIRTY_FULL  0x08   /* more than its counters changed: the checkpoint writes it whole */
#define SUBJECT_F_WRITTEN     0x10   /* on the checkpoint list, but queued whole since (a verdict's row)
                                      * and not touched after: the checkpoint has nothing to write */

/* subject_detail.manual_flags: what the operator said with the manual level */
#define SUBJECT_MANUAL_SELF_RELEASE 0x01   /* the subscriber may release it at the portal */

/* A subject's name as subject text (common/subject_text.h), with its NUL. */
#define SUBJECT_NAME_MAX SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)

struct evidence_item {
	uint16_t kind;                    /* judge kind id */
	uint8_t unpublished;              /* shared store: the own part changed since it was published */
	uint64_t count;                   /* events, never decayed */
	double value;                     /* decayed amount as of value_time */
	usec_t value_time;
	usec_t first_seen;
	usec_t last_seen;
	/* the shared store: the other nodes' part, their latest publications added up (the
	 * own part above is what this node saw and what it saves and publishes) */
	usec_t published_at;              /* when the own part was last published (wall clock) */
	double remote_value;              /* decayed amount as of remote_time */
	usec_t remote_time;
	uint64_t remote_count;
	char summary[STORE_SUMMARY_MAX];
};

struct subject_detail {
	uint16_t evidence_count;
	uint16_t evidence_cap;
	struct evidence_item *evidence;
	char *manual_reason;              /* the operator's note, malloc'd; NULL: none (most
	                                   * subjects: 512 bytes inline were a third of a burst's
	                                   * memory); read it with subject_manual_reason */
	uint8_t manual_flags;             /* SUBJECT_MANUAL_*, with the manual level */
	usec_t grace_until;               /* no automatic quarantine before this (after a self-release) */
	usec_t reset_at;                  /* shared store: released then; older publications count nothing */
	usec_t settle_until;              /* shared store: another node's judge raised the level; its
	                                   * evidence is on its way: not lowered by this node before then */
};

struct subject {
	struct htable_node node;          /* in the table: node.hash is subjects_hash(key) */
	uint8_t kind;                     /* enum subject_kind */
	uint8_t level;                    /* committed level: what enforcement acts on */
	uint8_t target_level;             /* newest level asked of the store */
	uint8_t flags;
	int8_t manual_level;              /* -1: none */
	uint8_t pending;                  /* verdict writes in flight */
	uint16_t key_len;
	uint32_t notable;                 /* 1 + its place in the judge's notable list; 0: not in it */
	usec_t manual_until;              /* 0: no expiry */
	usec_t tat[2];                    /* GCRA state per enum rate_index */
	usec_t last_seen;
	struct subject_detail *detail;    /* NULL until it has evidence or a manual note */
	struct subject *newer, *older;    /* the recency list */
	char key[];
};

struct subjects;

struct subjects *subjects_new(void);
void subjects_free(struct subjects *t);

/* The hash of a key (hash_bytes, keyed per process; 32 bits): subject->hash, and what
 * other tables of keys use. Never stored: it differs in every run. */
uint32_t subjects_hash(const char *key, size_t len);

/* The subject with this key, or NULL. */
struct subject *subjects_find(const struct subjects *t, const char *key, size_t len);

/*
 * subjects_prefetch — asks the CPU for what finding keys[0..n) (NUL-terminated) will read:
 * a batch of lookups in a table of millions then waits for memory once, not once a key
 * (htable_prefetch). Hints only; at most SUBJECTS_PREFETCH_MAX keys are looked at.
 */
#define SUBJECTS_PREFETCH_MAX 64
void subjects_prefetch(const struct subjects *t, const char *const *keys, size_t n);

/* The subject with this key, created (level normal) when missing; NULL on ENOMEM. */
struct subject *subjects_get(struct subjects *t, enum subject_kind kind, const char *key, size_t len);

/* A new subject for a key the caller found missing (subjects_find); NULL on ENOMEM. */
struct subject *subjects_add(struct subjects *t, enum subject_kind kind, const char *key, size_t len);

/* Unlinks and frees s. */
void subjects_remove(struct subjects *t, struct subject *s);

/* Puts s first on the recency list (new subjects start there). A few pointer writes. */
void subjects_touch(struct subjects *t, struct subject *s);

/* The least recently touched subject, or NULL; s->newer walks towards the newest. */
struct subject *subjects_oldest(const struct subjects *t);

size_t subjects_count(const struct subjects *t);

/*
 * subjects_next — incremental iteration that tolerates removal of the returned
 * subject: start with *cursor = 0 and prev = NULL; returns NULL at the end. Pass the
 * previous result as prev unless it was removed (then pass NULL and the same cursor).
 */
struct subject *subjects_next(const struct subjects *t, size_t *cursor, struct subject *prev);

/* The detail block, allocated on first use; NULL on ENOMEM. */
struct subject_detail *subject_detail(struct subject *s);

/* The operator's note on s ("" when none). */
const char *subject_manual_reason(const struct subject *s);

/*
 * subject_set_manual_reason — the operator's note on s, a copy of reason cut to
 * STORE_REASON_MAX - 1 bytes (as the store keeps it); NULL or "" removes it (and never
 * fails). 0, or -ENOMEM with the note unchanged.
 */
int subject_set_manual_reason(struct subject *s, const char *reason);

/* "host", "account" or "subscriber": the key of s's field in log lines (host=, ...), its kind in JSON. */
const char *subject_field(const struct subject *s);
const char *subject_kind_name(enum subject_kind kind);

/*
 * subject_name — s's name as every log line shows it, as subject text (percent-escaped:
 * no space, quote, control byte or invalid UTF-8 can forge or garble a key=value line),
 * without the "account:" or "subscriber:" of its key. buf holds SUBJECT_NAME_MAX; returns buf.
 */
const char *subject_name(const struct subject *s, char *buf, size_t size);

/* The longest chain of the table: what one lookup may have to walk (tests, metrics). */
size_t subjects_longest_chain(const struct subjects *t);

/* Bytes used by the table and its subjects (bench and metrics). */
size_t subjects_memory(const struct subjects *t);

#endif
