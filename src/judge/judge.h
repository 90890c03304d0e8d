/*
 * judge.h — from evidence to verdicts.
 *
 * Every host and account carries evidence items (kind, count, first/last seen, a
 * one-line summary, a value that decays with the kind's half-life). The score is the
 * sum of weight × decayed value; the level follows the score through the configured
 * thresholds (allowlisted subjects stop at watch; suspend is manual only), and
 * steps down only when the score falls below release_ratio × the current threshold.
 *
 * Mass-infection cap: at most [judge] quarantine_cap automatic quarantines in any
 * hour. A subject that deserves quarantine beyond it is held at throttle (flag
 * SUBJECT_F_HELD: the queue the abuse desk sees) and quarantined when the cap allows,
 * on its next evaluation (evidence or the sweep). Operators' quarantines do not count.
 * A slot is held from the moment an automatic quarantine is asked of the store (so a
 * burst cannot overshoot the cap) and counts for the hour after its commit; a commit
 * that fails (a full disk) gives it back, and the sweep asks again.
 *
 * Subject cap: at most [judge] max_subjects are tracked. A new one takes the place of
 * the least recently seen subject that may be dropped — level normal, no operator's
 * level, not held, no write in flight or checkpoint pending, no grace — preferring one
 * with no live rate counters or evidence; subjects that may not be dropped are never
 * dropped, nor is a subscriber who holds an address now (the relay looks up the
 * subscriber, the address and the account of one request). When none may be, a sensor's new subject is not tracked (judge_host and
 * judge_account return NULL); the store's and the operator's are, above the cap, and
 * the sweep trims the excess. The two subjects a caller got last are never dropped, so
 * a host and its account can be looked up one after the other.
 *
 * A level change is written to the store with a history entry first; the subject's
 * `level` — the one enforcement acts on — changes only when that write is committed.
 * Sensors register their evidence kinds at start-up; the judge knows nothing of them.
 */
#ifndef LAZARET_JUDGE_JUDGE_H
#define LAZARET_JUDGE_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/level.h"
#include "judge/rate.h"
#include "judge/subjects.h"
#include "store/store.h"

#define JUDGE_MAX_KINDS 64
/* The longest SASL user name judged (and named by operators): the key is "account:" + it. */
#define JUDGE_ACCOUNT_MAX (STORE_SUBJECT_MAX - 9)
/* The longest subscriber id judged: the key is "subscriber:" + it. */
#define JUDGE_SUBSCRIBER_MAX (STORE_SUBJECT_MAX - 12)

struct judge;

struct judge_stats {
	size_t tracked;
	size_t by_level[LEVEL_COUNT];
	uint64_t level_changes;
	uint64_t evidence_events;
	uint64_t evicted;
	uint64_t dropped;           /* to make room under max_subjects */
	uint64_t untracked;         /* new subjects not tracked: full, and none could be dropped */
	uint32_t max_subjects;      /* [judge] max_subjects in force */
	/* committed changes into quarantine or above, and out of it, by who made them */
	uint64_t quarantines_auto, quarantines_manual;
	uint64_t releases_self, releases_operator, releases_auto;
	/* the mass-infection cap: subjects held at throttle now, and ever */
	size_t held;
	uint64_t held_total;
	uint32_t cap_used;          /* automatic quarantines in the last hour (up to the cap) */
};

/* Actors the judge knows by name: its own decisions and a subscriber's self-release. */
#define JUDGE_ACTOR_JUDGE  "judge"
#define JUDGE_ACTOR_PORTAL "portal"

/* Called after a level change is committed (enforcers hang off this); actor is who made it. */
typedef void (*judge_observer_cb)(void *arg, const struct subject *s, int old_level, int new_level,
                                  const char *actor);

/* A judge on cfg (kept by reference until the next judge_configure) writing to st (may be NULL in tests). */
struct judge *judge_new(const struct config *cfg, struct store *st);
void judge_free(struct judge *j);

/*
 * judge_register_kind — declare an evidence kind with its default weight and
 * half-life and a short description. Returns the kind id (>= 0) or -1. Registering a
 * name again returns the same id.
 */
int judge_register_kind(struct judge *j, const char *name, double weight, usec_t half_life,
                        const char *description);
int judge_kind_id(const struct judge *j, const char *name);
const char *judge_kind_name(const struct judge *j, int kind);

/*
 * judge_configure — apply cfg (thresholds, weights from [evidence NAME] sections,
 * allowlist, limits). Fails with "file:line: ..." in err for a section naming a kind
 * no sensor registered. Existing subjects keep their state.
 */
int judge_configure(struct judge *j, const struct config *cfg, char *err, size_t errlen);

void judge_set_observer(struct judge *j, judge_observer_cb cb, void *arg);

/*
 * The shared store (store/shared.h). With judge_set_shared, a level change is committed
 * locally with its outbox row and is in force only once the change feed brings it back
 * (judge_apply_shared), on this node as on the others; its done callback runs then with 0,
 * or earlier with STORE_QUEUED while the shared store is unreachable (judge_shared_link) or
 * when it has not brought the change back within 2 s (judge_sweep).
 * judge_apply_shared applies any node's change in the feed's order: the subject's level,
 * operator's level, grace and (a release) its evidence reset, logged, counted against the
 * hourly cap, recorded in the local history (actor@node) and told to the observer. Only the
 * subject's owner (shared_owns) makes automatic changes; every node adds every node's
 * evidence (judge_apply_evidence), and publishes its own at each checkpoint.
 */
struct shared;
struct shared_change;
void judge_set_shared(struct judge *j, struct shared *sh);
bool judge_is_shared(const struct judge *j);
void judge_apply_shared(struct judge *j, const struct shared_change *c);
void judge_shared_link(struct judge *j, bool up);
/* Another node's latest evidence about a subject (created when missing): added to this
 * node's in place of that node's previous publication, and judged here when this node owns
 * the subject (shared_owns). Unknown kinds are skipped. */
struct shared_evidence;
void judge_apply_evidence(struct judge *j, const struct shared_evidence *e);
/* Before applying changes c[0..n) or evidence e[0..n) (one of them NULL): asks the CPU for
 * the subjects (and the publications) they will look up (subjects_prefetch). Hints only. */
void judge_prefetch_shared(struct judge *j, const struct shared_change *c, const struct shared_evidence *e,
    size_t n);

/* Restores every subject from the store (at start). Returns 0 or a negative code. */
int judge_load(struct judge *j);

/* The host subject of an address (created when missing), or NULL on ENOMEM, when a
 * new one cannot be tracked (max_subjects, above), or when the address is in [judge]
 * ignore (loopback by default): the relay's own local pickup, content filters and
 * scripts are not subscribers, so the sensors gather no evidence for them and no rate
 * limit applies; an account seen from there is judged as ever. Unlike [allowlist], no
 * subject is tracked at all. An operator may still name such a host by hand. */
struct subject *judge_host(struct judge *j, const struct addr *a, usec_t now);
/*
 * With an identity layer (judge_set_ident), judge_host returns the subject the evidence
 * about the address belongs to: the subscriber who held it at `now` (the observation's
 * time), or the address's own host subject when nobody did. judge_address always returns
 * the address's host subject (the relay's rate counters are per address); judge_subscriber
 * the subscriber's, of an id of 1 to JUDGE_SUBSCRIBER_MAX bytes other than NUL.
 */
struct subject *judge_address(struct judge *j, const struct addr *a, usec_t now);
struct subject *judge_subscriber(struct judge *j, const char *id, size_t len, usec_t now);
/* The subject whose level enforcement applies to address a now: its holder (a
 * subscriber) when an identity source names one, else its own host subject (only when
 * hosts: a caller that knows no host subject is isolated passes false and saves the
 * lookup); NULL when that subject is not tracked (level normal). Creates nothing. */
const struct subject *judge_enforced_subject(struct judge *j, const struct addr *a, usec_t now, bool hosts);
struct ident;
/* Who held which address when (NULL: nobody is known; the default). Kept by reference. */
void judge_set_ident(struct judge *j, struct ident *id);
struct ident *judge_ident(const struct judge *j);
/* The account subject of a SASL user name of 1 to JUDGE_ACCOUNT_MAX bytes other than NUL
 * (created when missing), or NULL. */
struct subject *judge_account(struct judge *j, const char *name, size_t len, usec_t now);

/*
 * judge_normalize — turn operator input ("192.0.2.7", "2001:db8::1", "2001:db8::/64",
 * "account:alice") into the canonical key. An account name is taken byte for byte, as
 * judge_account takes it (callers decode subject text first). Returns 0 or -1 (with
 * nothing written).
 */
int judge_normalize(const struct judge *j, const char *text, char *out, size_t size,
                    enum subject_kind *kind);
/* Finds a subject by operator input; NULL when unknown or invalid. */
struct subject *judge_lookup(struct judge *j, const char *text);
/* Finds or creates a subject by operator input; NULL when invalid. */
struct subject *judge_lookup_or_create(struct judge *j, const char *text, usec_t now);

/* The rate limit of index idx for s, tightened when s is at throttle. */
const struct rate_limit *judge_limit(const struct judge *j, const struct subject *s, enum rate_index idx);
/* The same under level (the level of the address's holder, which the address's limit follows). */
const struct rate_limit *judge_limit_at(const struct judge *j, const struct subject *s, enum rate_index idx,
    int level);

/*
 * judge_add_evidence — add amount to the kind's decayed value and events to its count,
 * replace the summary, re-evaluate the level. summary may be NULL to keep the old one.
 */
void judge_add_evidence(struct judge *j, struct subject *s, int kind, double amount, uint64_t events,
                        usec_t now, const char *summary);
/* judge_set_evidence — like add, but the value becomes amount and the count becomes
 * events (for ratios and bounds: "412 failures in the window", "12 networks"). */
void judge_set_evidence(struct judge *j, struct subject *s, int kind, double amount, uint64_t events,
                        usec_t now, const char *summary);

/* The events an item counts: this node's and, with a shared store, every other node's. */
static inline uint64_t
judge_item_count(const struct evidence_item *e)
{
	return e->count + e->remote_count;
}

/* The evidence item of kind, or NULL. */
const struct evidence_item *judge_evidence(const struct subject *s, int kind);

double judge_score(const struct judge *j, const struct subject *s, usec_t now);
/* One evidence item's contribution to the score now. */
double judge_item_score(const struct judge *j, const struct evidence_item *e, usec_t now);

/*
 * judge_set_manual — an operator's level (quarantine, suspend, ...) until `until`
 * (0 = no expiry), recorded in history with actor and reason. done runs once the
 * verdict is committed (status 0) or failed. Returns 0 or -EINVAL/-ENOMEM.
 */
int judge_set_manual(struct judge *j, struct subject *s, int level, usec_t until, const char *reason,
                     const char *actor, store_done_cb done, void *arg);
/* The same with SUBJECT_MANUAL_* flags, kept and saved with the manual level (a
 * quarantine the subscriber may release at the portal: SUBJECT_MANUAL_SELF_RELEASE). */
int judge_set_manual_flags(struct judge *j, struct subject *s, int level, usec_t until, unsigned flags,
                           const char *reason, const char *actor, store_done_cb done, void *arg);

/* Who may release a quarantined subject, as far as the judge knows (the portal adds its
 * self-release limit and minimum time in quarantine). */
enum judge_self_release {
	JUDGE_SELF_RELEASE_NO,         /* an operator's level made without self-release, or a suspend */
	JUDGE_SELF_RELEASE_OPERATOR,   /* an operator's quarantine that allows self-release */
	JUDGE_SELF_RELEASE_AUTO,       /* the judge's own quarantine */
};
enum judge_self_release judge_self_release(const struct subject *s, usec_t now);

/*
 * judge_release — clear any manual level and the decayed evidence (counts and
 * summaries stay for the record), back to normal, with a history entry.
 */
int judge_release(struct judge *j, struct subject *s, const char *reason, const char *actor,
                  store_done_cb done, void *arg);

/*
 * judge_set_grace — no automatic level above throttle for s until `until` (the grace
 * period after a subscriber released themselves); saved with the subject, so it
 * survives a restart. 0 or -ENOMEM.
 */
int judge_set_grace(struct judge *j, struct subject *s, usec_t until);

/* Remember that s changed (evidence, notes) so the next checkpoint saves it whole. */
void judge_touch(struct judge *j, struct subject *s);

/* Remember that s's rate counters changed, nothing else: the next checkpoint saves just
 * those, many subjects in one store write (the policy service's every request). */
void judge_touch_rates(struct judge *j, struct subject *s);

/* Save every changed subject to the store (counters lose at most one interval). */
void judge_checkpoint(struct judge *j);

/*
 * judge_sweep — periodic upkeep at now: lapse expired manual levels, step levels down
 * as evidence decays, forget idle normal subjects. Visits at most `budget` subjects
 * per call, resuming where the last call stopped.
 */
void judge_sweep(struct judge *j, usec_t now, size_t budget);

void judge_stats_get(const struct judge *j, struct judge_stats *out);

struct subjects *judge_subjects(struct judge *j);

/*
 * judge_notable_next — iterates over the notable subjects: those whose committed level
 * is above normal, and those held at throttle by the quarantine cap. The judge keeps
 * them in a list of their own, so that listing them (the API, the walled garden's
 * start) costs what they number, not what every tracked subject does. Start with
 * *cursor = 0 and prev = NULL; pass the previous result as prev; NULL at the end.
 * Nothing may be added or removed meanwhile (the loop thread calls it in one go).
 */
struct subject *judge_notable_next(struct judge *j, size_t *cursor, struct subject *prev);

/* The strongest evidence summary of s, or "" (for reject texts and logs). */
const char *judge_top_summary(const struct judge *j, const struct subject *s, usec_t now);

#endif
