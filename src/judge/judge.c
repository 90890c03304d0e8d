/*
 * judge.c — evidence, scores and levels; see judge.h for the model.
 */
#include "judge/judge.h"
#include "ident/ident.h"
#include "judge/kinds.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/hash.h"
#include "common/strview.h"
#include "store/shared.h"

#define JUDGE_MAX_EVIDENCE 32   /* kinds per subject */
#define JUDGE_DROP_SCAN    8    /* least recently seen subjects looked at to make room for one */
/* A subject seen again within this of its last sighting keeps its place on the recency
 * list: a busy host moves once a second, not once per request. */
#define JUDGE_RECENCY_STEP USEC_PER_SEC

struct judge_kind {
	char name[STORE_KIND_MAX];
	char description[128];
	double default_weight;
	usec_t default_half_life;
	double weight;
	usec_t half_life;
};

struct judge {
	const struct config *cfg;
	struct store *st;
	struct subjects *subjects;
	struct judge_kind kinds[JUDGE_MAX_KINDS];
	int kind_count;
	/* [subject kind][rate index][0 normal, 1 throttled] */
	struct rate_limit limits[2][2][2];
	judge_observer_cb observer;
	void *observer_arg;
	struct subject **dirty;
	size_t dirty_count, dirty_cap;
	struct subject **notable;        /* see judge_notable_next; each knows its place */
	size_t notable_count, notable_cap;
	bool notable_lost;               /* out of memory once: list by walking every subject */
	struct store_rate *rates;        /* the checkpoint's, kept between rounds */
	size_t rates_cap;
	size_t sweep_cursor;
	usec_t now_hint;                 /* the time of the evaluation under way */
	struct judge_stats stats;
	/* the times of the last committed automatic quarantines, a ring of quarantine_cap
	 * slots, oldest first from cap_head; and those on their way to the store, which hold
	 * a slot until their commit (into the ring) or its failure (given back) */
	usec_t *cap_ring;
	uint32_t cap_size, cap_head, cap_count;
	uint32_t cap_inflight;
	/* max_subjects: the last two subjects handed out are never dropped (see judge.h) */
	struct subject *recent[2];
	struct ident *ident;              /* who held an address when; NULL: addresses are the subjects */
	struct shared *shared;            /* the shared store; NULL: this node's store is the truth */
	struct htable awaiting;           /* shared: changes committed here, waiting for the feed, by tag */
	uint64_t tag_next;
	struct htable contribs;           /* shared: the other nodes' latest evidence, per subject, kind, node */
	char (*origins)[SHARED_NODE_MAX]; /* shared: the other nodes' names, by the index contribs use */
	size_t origin_count;
	struct log_limit drop_log, full_log;
};

#define JUDGE_CAP_WINDOW (3600 * USEC_PER_SEC)
/* How long an operator waits for the shared store to bring a verdict back before being told
 * it is queued (judge_sweep, every second) */
#define JUDGE_SHARED_WAIT (2 * USEC_PER_SEC)
/* How often one evidence item is published at most, outside the checkpoint */
#define JUDGE_PUBLISH_EVERY (10 * USEC_PER_SEC)
/* A level another node's judge raised is not lowered by this node's own score for this long:
 * the evidence it was raised on is published at once, but reaches this node on its own feed,
 * after the verdict or before it; within a publication period it has arrived (and if it has
 * not, the other node is gone and its evidence with it). Without it, a node that had just
 * become the subject's owner (a node joining, the owners' views not yet the same) released
 * at once a quarantine it had no evidence for. */
#define JUDGE_SHARED_SETTLE JUDGE_PUBLISH_EVERY

/* What a level change remembers until the store says it is durable. */
/* What an operator's or subscriber's action changed in memory, to put back if the
 * store cannot commit it: nothing may look released or quarantined that is not. */
struct judge_undo {
	int manual_level;
	uint8_t manual_flags;
	usec_t manual_until;
	char manual_reason[STORE_REASON_MAX];
	size_t values;
	double value[JUDGE_MAX_EVIDENCE];
	usec_t value_time[JUDGE_MAX_EVIDENCE];
};

/*
 * One level change on its way to the store: a single allocation of just what it
 * needs (a mass infection puts a hundred thousand of these in flight at once). The
 * undo copy, only for operators' and subscribers' actions, and the texts follow the
 * struct in mem.
 */
struct judge_change {
	struct htable_node await;      /* shared: in judge.awaiting until the feed brings it back */
	uint64_t tag;
	usec_t committed_at;           /* shared: committed here (monotonic) */
	bool reset;                    /* a release: the decayed evidence goes on every node */
	struct judge *j;
	struct subject *s;
	int old_level;
	int new_level;
	double score;
	usec_t time;
	bool cap_slot;                 /* an automatic quarantine: holds one of the cap's slots */
	const char *actor;
	const char *reason;
	store_done_cb done;
	void *arg;
	bool has_undo;
	int undo_manual_level;
	uint8_t undo_manual_flags;
	usec_t undo_manual_until;
	const char *undo_manual_reason;
	size_t undo_values;
	const double *undo_value;
	const usec_t *undo_value_time;
	_Alignas(8) char mem[];
};

static void
judge_undo_save(const struct subject *s, struct judge_undo *u)
{
	u->manual_level = s->manual_level;
	u->manual_until = s->manual_until;
	u->manual_reason[0] = '\0';
	u->manual_flags = 0;
	u->values = 0;
	if (s->detail == NULL)
		return;
	snprintf(u->manual_reason, sizeof(u->manual_reason), "%s", subject_manual_reason(s));
	u->manual_flags = s->detail->manual_flags;
	for (size_t i = 0; i < s->detail->evidence_count && i < JUDGE_MAX_EVIDENCE; i++) {
		u->value[i] = s->detail->evidence[i].value;
		u->value_time[i] = s->detail->evidence[i].value_time;
		u->values++;
	}
}

/* Puts back what c's action changed (c->has_undo). */
static void
judge_undo_apply(struct subject *s, const struct judge_change *c)
{
	s->manual_level = (int8_t)c->undo_manual_level;
	s->manual_until = c->undo_manual_until;
	if (s->detail == NULL)
		return;
	if (subject_set_manual_reason(s, c->undo_manual_reason) != 0)
		log_warnx("judge: out of memory putting back an operator's note; the undone action's stays");
	s->detail->manual_flags = c->undo_manual_flags;
	for (size_t i = 0; i < c->undo_values && i < s->detail->evidence_count; i++) {
		s->detail->evidence[i].value = c->undo_value[i];
		s->detail->evidence[i].value_time = c->undo_value_time[i];
	}
}

/* A change for s with its texts and (undo != NULL) its compact undo copy; NULL on ENOMEM. */
static struct judge_change *
judge_change_new(const char *actor, const char *reason, const struct judge_undo *undo)
{
	size_t alen = strnlen(actor, STORE_ACTOR_MAX - 1), rlen = strnlen(reason, STORE_REASON_MAX - 1);
	size_t values = undo != NULL ? undo->values : 0;
	size_t mlen = undo != NULL ? strnlen(undo->manual_reason, STORE_REASON_MAX - 1) : 0;
	size_t size = sizeof(struct judge_change) + values * (sizeof(double) + sizeof(usec_t)) + alen + 1 + rlen + 1 +
	    (undo != NULL ? mlen + 1 : 0);
	struct judge_change *c = malloc(size);

	if (c == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	char *p = c->mem;
	if (undo != NULL) {
		double *v = (double *)(void *)p;
		usec_t *t = (usec_t *)(void *)(p + values * sizeof(double));
		for (size_t i = 0; i < values; i++) {
			v[i] = undo->value[i];
			t[i] = undo->value_time[i];
		}
		c->has_undo = true;
		c->undo_manual_level = undo->manual_level;
		c->undo_manual_until = undo->manual_until;
		c->undo_manual_flags = undo->manual_flags;
		c->undo_values = values;
		c->undo_value = v;
		c->undo_value_time = t;
		p += values * (sizeof(double) + sizeof(usec_t));
		memcpy(p, undo->manual_reason, mlen);
		p[mlen] = '\0';
		c->undo_manual_reason = p;
		p += mlen + 1;
	}
	memcpy(p, actor, alen);
	p[alen] = '\0';
	c->actor = p;
	p += alen + 1;
	memcpy(p, reason, rlen);
	p[rlen] = '\0';
	c->reason = p;
	return c;
}

static void judge_evaluate(struct judge *j, struct subject *s, usec_t now);
static struct evidence_item *judge_item(struct subject *s, int kind, usec_t now);
static void judge_summary_copy(char *dst, size_t size, const char *src);

/* Another node's latest publication about one kind of one subject's evidence. */
struct judge_contrib {
	struct htable_node node;
	uint16_t kind;
	uint16_t origin;                /* index into j->origins */
	double value;
	usec_t value_time;
	uint64_t count;
	uint16_t key_len;
	char key[];
};


struct judge *
judge_new(const struct config *cfg, struct store *st)
{
	struct judge *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	config_unref(j->cfg);
	j->cfg = config_ref(cfg);
	j->st = st;
	j->drop_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	j->full_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	if ((j->subjects = subjects_new()) == NULL) {
		free(j);
		return NULL;
	}
	/* Every kind of the table from the start, whether its sensor runs or not: an
	 * [evidence NAME] section is good for any of them (the shipped file names the flow
	 * detectors' kinds whether or not [flows] is on), its weight is applied by the first
	 * judge_configure, and evidence of a kind saved by a run that had its sensor loads. */
	for (size_t i = 0; i < evidence_kind_count; i++)
		if (judge_register_kind(j, evidence_kinds[i].name, evidence_kinds[i].weight, evidence_kinds[i].half_life,
		    evidence_kinds[i].description) < 0) {
			judge_free(j);
			return NULL;
		}
	return j;
}

void
judge_free(struct judge *j)
{
	if (j == NULL)
		return;
	config_unref(j->cfg);
	if (j->awaiting.buckets != NULL) {
		size_t cursor = 0;
		struct htable_node *n;
		while ((n = htable_iter(&j->awaiting, &cursor, NULL)) != NULL) {
			htable_del(&j->awaiting, n);
			free(htable_entry(n, struct judge_change, await));
		}
		htable_fini(&j->awaiting);
	}
	if (j->contribs.buckets != NULL) {
		size_t cursor = 0;
		struct htable_node *n;
		while ((n = htable_iter(&j->contribs, &cursor, NULL)) != NULL) {
			htable_del(&j->contribs, n);
			free(htable_entry(n, struct judge_contrib, node));
		}
		htable_fini(&j->contribs);
	}
	free(j->origins);
	subjects_free(j->subjects);
	free(j->dirty);
	free(j->notable);
	free(j->rates);
	free(j->cap_ring);
	free(j);
}

int
judge_register_kind(struct judge *j, const char *name, double weight, usec_t half_life,
    const char *description)
{
	int id = judge_kind_id(j, name);

	if (id >= 0)
		return id;
	if (j->kind_count == JUDGE_MAX_KINDS || strlen(name) >= STORE_KIND_MAX || half_life <= 0)
		return -1;
	struct judge_kind *k = &j->kinds[j->kind_count];
	snprintf(k->name, sizeof(k->name), "%s", name);
	snprintf(k->description, sizeof(k->description), "%s", description ? description : "");
	k->default_weight = k->weight = weight;
	k->default_half_life = k->half_life = half_life;
	return j->kind_count++;
}

int
judge_kind_id(const struct judge *j, const char *name)
{
	for (int i = 0; i < j->kind_count; i++)
		if (strcmp(j->kinds[i].name, name) == 0)
			return i;
	return -1;
}

const char *
judge_kind_name(const struct judge *j, int kind)
{
	if (kind < 0 || kind >= j->kind_count)
		return "unknown";
	return j->kinds[kind].name;
}

static void
judge_set_limit(struct rate_limit pair[2], const struct rate_spec *r, double throttle)
{
	rate_limit_init(&pair[0], r->count, r->period, r->burst, 1.0);
	rate_limit_init(&pair[1], r->count, r->period, r->burst, throttle);
}

static bool
judge_allowlisted(const struct judge *j, const struct subject *s)
{
	if (s->kind == SUBJECT_ACCOUNT)
		return config_account_allowed(j->cfg, s->key + 8);
	struct cidr net;
	if (cidr_parse(s->key, &net) != 0)
		return false;
	for (size_t i = 0; i < j->cfg->allowlist.network_count; i++) {
		const struct cidr *a = &j->cfg->allowlist.networks[i];
		if (a->addr.family == net.addr.family && a->prefix <= net.prefix && cidr_contains(a, &net.addr))
			return true;
	}
	return false;
}

/* The cap's ring for size slots, keeping the newest times. 0 or -ENOMEM. */
static int
judge_cap_resize(struct judge *j, uint32_t size)
{
	usec_t *ring = NULL;
	uint32_t keep = 0;

	if (size == j->cap_size)
		return 0;
	if (size > 0 && (ring = calloc(size, sizeof(*ring))) == NULL)
		return -ENOMEM;
	keep = j->cap_count < size ? j->cap_count : size;
	/* oldest first: the newest `keep` of the old ring */
	for (uint32_t i = 0; i < keep; i++) {
		uint32_t from = (j->cap_head + j->cap_size - keep + i) % j->cap_size;
		ring[i] = j->cap_ring[from];
	}
	free(j->cap_ring);
	j->cap_ring = ring;
	j->cap_size = size;
	j->cap_count = keep;
	j->cap_head = size > 0 ? keep % size : 0;
	return 0;
}

/* Automatic quarantines in the hour before now (at most the cap). */
static uint32_t
judge_cap_used(const struct judge *j, usec_t now)
{
	uint32_t used = 0;

	for (uint32_t i = 0; i < j->cap_count; i++) {
		uint32_t at = (j->cap_head + j->cap_size - 1 - i) % j->cap_size;
		if (j->cap_ring[at] + JUDGE_CAP_WINDOW <= now)
			break;
		used++;
	}
	return used;
}

/*
 * True when one more automatic quarantine fits in the hour before now, counting those
 * committed in the hour and those on their way to the store. The ring is in time order,
 * so those still in the window are its newest: room means that at least
 * count + inflight - size + 1 of the oldest have left it.
 */
static bool
judge_cap_allows(const struct judge *j, usec_t now)
{
	if (j->cap_size == 0)
		return true;
	if (j->cap_inflight >= j->cap_size)
		return false;
	if (j->cap_count + j->cap_inflight < j->cap_size)
		return true;
	uint32_t k = j->cap_count + j->cap_inflight - j->cap_size;    /* < cap_count */
	uint32_t oldest = (j->cap_head + j->cap_size - j->cap_count) % j->cap_size;
	return j->cap_ring[(oldest + k) % j->cap_size] + JUDGE_CAP_WINDOW <= now;
}

/* An automatic quarantine committed at now: into the ring (kept in time order). */
static void
judge_cap_take(struct judge *j, usec_t now)
{
	if (j->cap_size == 0)
		return;
	if (j->cap_count > 0) {
		usec_t newest = j->cap_ring[(j->cap_head + j->cap_size - 1) % j->cap_size];
		if (now < newest)
			now = newest;
	}
	j->cap_ring[j->cap_head] = now;
	j->cap_head = (j->cap_head + 1) % j->cap_size;
	if (j->cap_count < j->cap_size)
		j->cap_count++;
}

static bool
judge_is_notable(const struct subject *s)
{
	return s->level != LEVEL_NORMAL || (s->flags & SUBJECT_F_HELD);
}

/* Puts s in the notable list or takes it out, as it now is or is not notable. */
static void
judge_notable_update(struct judge *j, struct subject *s)
{
	bool want = judge_is_notable(s);

	if (want && s->notable == 0) {
		if (j->notable_count == j->notable_cap) {
			size_t cap = j->notable_cap ? j->notable_cap * 2 : 256;
			struct subject **grown = cap <= UINT32_MAX ? realloc(j->notable, cap * sizeof(*grown)) : NULL;
			if (grown == NULL) {
				if (!j->notable_lost)
					log_warnx("judge: out of memory for the list of notable subjects; listing them "
					    "walks every subject from now on");
				j->notable_lost = true;
				return;
			}
			j->notable = grown;
			j->notable_cap = cap;
		}
		j->notable[j->notable_count++] = s;
		s->notable = (uint32_t)j->notable_count;
	} else if (!want && s->notable != 0) {
		size_t at = s->notable - 1;
		struct subject *last = j->notable[--j->notable_count];
		j->notable[at] = last;
		last->notable = (uint32_t)(at + 1);
		s->notable = 0;
	}
}

struct subject *
judge_notable_next(struct judge *j, size_t *cursor, struct subject *prev)
{
	if (!j->notable_lost)
		return *cursor < j->notable_count ? j->notable[(*cursor)++] : NULL;
	struct subject *s = subjects_next(j->subjects, cursor, prev);
	while (s != NULL && !judge_is_notable(s))
		s = subjects_next(j->subjects, cursor, s);
	return s;
}

static void
judge_unhold(struct judge *j, struct subject *s)
{
	if (!(s->flags & SUBJECT_F_HELD))
		return;
	s->flags &= (uint8_t)~SUBJECT_F_HELD;
	judge_notable_update(j, s);
	if (--j->stats.held == 0)
		log_info("quarantine cap: no subject is held any more");
}

int
judge_configure(struct judge *j, const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->evidence_count; i++) {
		if (judge_kind_id(j, cfg->evidence[i].kind) < 0) {
			char known[512] = "";
			for (int k = 0; k < j->kind_count; k++) {
				strncat(known, k ? ", " : "", sizeof(known) - strlen(known) - 1);
				strncat(known, j->kinds[k].name, sizeof(known) - strlen(known) - 1);
			}
			snprintf(err, errlen, "%s:%d: [evidence %s]: no sensor reports this kind (known: %s)",
			    cfg->path, cfg->evidence[i].line, cfg->evidence[i].kind, known);
			return -1;
		}
	}
	if (judge_cap_resize(j, cfg->judge.quarantine_cap) != 0) {
		snprintf(err, errlen, "%s: out of memory for quarantine_cap", cfg->path);
		return -1;
	}
	config_unref(j->cfg);
	j->cfg = config_ref(cfg);
	for (int k = 0; k < j->kind_count; k++) {
		struct judge_kind *kind = &j->kinds[k];
		const struct evidence_conf *e = config_evidence(cfg, kind->name);
		kind->weight = e && e->weight >= 0 ? e->weight : kind->default_weight;
		kind->half_life = e && e->half_life > 0 ? e->half_life : kind->default_half_life;
	}
	judge_set_limit(j->limits[SUBJECT_HOST][RATE_MESSAGES], &cfg->limits.host_messages, cfg->limits.throttle_factor);
	judge_set_limit(j->limits[SUBJECT_HOST][RATE_RECIPIENTS], &cfg->limits.host_recipients, cfg->limits.throttle_factor);
	judge_set_limit(j->limits[SUBJECT_ACCOUNT][RATE_MESSAGES], &cfg->limits.account_messages, cfg->limits.throttle_factor);
	judge_set_limit(j->limits[SUBJECT_ACCOUNT][RATE_RECIPIENTS], &cfg->limits.account_recipients,
	    cfg->limits.throttle_factor);

	/* The allowlist may have changed: recompute every flag. */
	size_t cursor = 0;
	for (struct subject *s = subjects_next(j->subjects, &cursor, NULL); s != NULL;
	    s = subjects_next(j->subjects, &cursor, s)) {
		if (judge_allowlisted(j, s))
			s->flags |= SUBJECT_F_ALLOWLISTED;
		else
			s->flags &= (uint8_t)~SUBJECT_F_ALLOWLISTED;
	}
	return 0;
}

void
judge_set_observer(struct judge *j, judge_observer_cb cb, void *arg)
{
	j->observer = cb;
	j->observer_arg = arg;
}

struct subjects *
judge_subjects(struct judge *j)
{
	return j->subjects;
}

/* May s be dropped to make room under max_subjects (see judge.h)? */
static bool
judge_droppable(const struct judge *j, const struct subject *s, usec_t now)
{
	return s->level == LEVEL_NORMAL && s->target_level == LEVEL_NORMAL && s->pending == 0 &&
	    s->manual_level < 0 && !(s->flags & (SUBJECT_F_HELD | SUBJECT_F_DIRTY)) && s->notable == 0 &&
	    s != j->recent[0] && s != j->recent[1] && (s->detail == NULL || s->detail->grace_until <= now) &&
	    !(s->kind == SUBJECT_SUBSCRIBER && j->ident != NULL &&
	    ident_networks(j->ident, s->key + SUBJECT_SUBSCRIBER_PREFIX_LEN, s->key_len - SUBJECT_SUBSCRIBER_PREFIX_LEN,
	    NULL, 0) > 0);
}

/* Nothing of s would be missed: its rate counters have run out and its evidence weighs nothing. */
static bool
judge_quiet(const struct judge *j, const struct subject *s, usec_t now)
{
	return s->tat[0] <= now && s->tat[1] <= now && judge_score(j, s, now) < 0.01;
}

/*
 * judge_make_room — drop one subject to make room for a new one: among the
 * JUDGE_DROP_SCAN least recently seen, the oldest droppable and quiet one, else the
 * oldest droppable one. Those that may not be dropped are moved to the newest end on
 * the way, so that the next call does not look at them again: the cost stays a few
 * pointer moves per new subject however many are quarantined. True when one was dropped.
 */
static bool
judge_make_room(struct judge *j, usec_t now)
{
	struct subject *s = subjects_oldest(j->subjects), *pick = NULL, *newer;

	for (int i = 0; i < JUDGE_DROP_SCAN && s != NULL; i++, s = newer) {
		newer = s->newer;
		if (!judge_droppable(j, s, now)) {
			subjects_touch(j->subjects, s);
			continue;
		}
		if (judge_quiet(j, s, now)) {
			pick = s;
			break;
		}
		if (pick == NULL)
			pick = s;
	}
	if (pick == NULL)
		return false;
	log_limited(&j->drop_log, LOG_LEVEL_INFO, "judge: max_subjects=%u reached: dropped %s=%s, the least recently "
	    "seen at level normal%s", j->cfg->judge.max_subjects, subject_field(pick),
	    pick->key + subject_prefix_len((enum subject_kind)pick->kind),
	    judge_quiet(j, pick, now) ? "" : " (its rate counters or evidence were live)");
	if (j->st != NULL && (pick->detail != NULL || pick->tat[0] || pick->tat[1]))
		store_forget(j->st, pick->key);
	j->stats.by_level[pick->level]--;
	j->stats.dropped++;
	subjects_remove(j->subjects, pick);
	return true;
}

/*
 * The subject with this key, created when missing: above max_subjects only when force
 * (the store's subjects at start, an operator's), else after dropping one or not at all.
 */
static struct subject *
judge_get(struct judge *j, enum subject_kind kind, const char *key, size_t len, usec_t now, bool force)
{
	struct subject *s = subjects_find(j->subjects, key, len);

	if (s != NULL) {
		if (now - s->last_seen >= JUDGE_RECENCY_STEP || now < s->last_seen)
			subjects_touch(j->subjects, s);
	} else {
		if (subjects_count(j->subjects) >= j->cfg->judge.max_subjects && !judge_make_room(j, now) && !force) {
			j->stats.untracked++;
			log_limited(&j->full_log, LOG_LEVEL_WARN, "judge: max_subjects=%u reached and none of the least "
			    "recently seen may be dropped: %s=%s is not tracked", j->cfg->judge.max_subjects,
			    subject_kind_name(kind), key + subject_prefix_len(kind));
			return NULL;
		}
		if ((s = subjects_add(j->subjects, kind, key, len)) == NULL)
			return NULL;
		j->stats.by_level[LEVEL_NORMAL]++;
		if (judge_allowlisted(j, s))
			s->flags |= SUBJECT_F_ALLOWLISTED;
	}
	if (j->recent[0] != s) {
		j->recent[1] = j->recent[0];
		j->recent[0] = s;
	}
	s->last_seen = now;
	return s;
}

struct subject *
judge_address(struct judge *j, const struct addr *a, usec_t now)
{
	char key[ADDR_TEXT_MAX];

	if (config_address_ignored(j->cfg, a))
		return NULL;
	host_key(a, j->cfg->limits.host_prefix_v4, j->cfg->limits.host_prefix_v6, key, sizeof(key));
	return judge_get(j, SUBJECT_HOST, key, strlen(key), now, false);
}

struct subject *
judge_subscriber(struct judge *j, const char *id, size_t len, usec_t now)
{
	char key[STORE_SUBJECT_MAX];

	if (len == 0 || len > JUDGE_SUBSCRIBER_MAX || memchr(id, '\0', len) != NULL)
		return NULL;
	memcpy(key, SUBJECT_SUBSCRIBER_PREFIX, SUBJECT_SUBSCRIBER_PREFIX_LEN);
	memcpy(key + SUBJECT_SUBSCRIBER_PREFIX_LEN, id, len);
	return judge_get(j, SUBJECT_SUBSCRIBER, key, len + SUBJECT_SUBSCRIBER_PREFIX_LEN, now, false);
}

struct subject *
judge_host(struct judge *j, const struct addr *a, usec_t now)
{
	if (config_address_ignored(j->cfg, a))
		return NULL;
	if (j->ident != NULL) {
		size_t len;
		const char *id = ident_holder_id(j->ident, a, now, &len);
		if (id != NULL)
			return judge_subscriber(j, id, len, now);
	}
	return judge_address(j, a, now);
}

const struct subject *
judge_enforced_subject(struct judge *j, const struct addr *a, usec_t now, bool hosts)
{
	char key[STORE_SUBJECT_MAX];

	if (j->ident != NULL) {
		size_t len;
		const char *id = ident_holder_id(j->ident, a, now, &len);
		if (id != NULL) {
			if (len > JUDGE_SUBSCRIBER_MAX)
				return NULL;
			memcpy(key, SUBJECT_SUBSCRIBER_PREFIX, SUBJECT_SUBSCRIBER_PREFIX_LEN);
			memcpy(key + SUBJECT_SUBSCRIBER_PREFIX_LEN, id, len);
			return subjects_find(j->subjects, key, SUBJECT_SUBSCRIBER_PREFIX_LEN + len);
		}
	}
	if (!hosts)
		return NULL;
	host_key(a, j->cfg->limits.host_prefix_v4, j->cfg->limits.host_prefix_v6, key, sizeof(key));
	return subjects_find(j->subjects, key, strlen(key));
}

void
judge_set_ident(struct judge *j, struct ident *id)
{
	j->ident = id;
}

struct ident *
judge_ident(const struct judge *j)
{
	return j->ident;
}

struct subject *
judge_account(struct judge *j, const char *name, size_t len, usec_t now)
{
	char key[STORE_SUBJECT_MAX];

	/* judge_normalize takes the same names, so an operator can name every account judged */
	if (len == 0 || len > JUDGE_ACCOUNT_MAX || memchr(name, '\0', len) != NULL)
		return NULL;
	memcpy(key, SUBJECT_ACCOUNT_PREFIX, SUBJECT_ACCOUNT_PREFIX_LEN);
	memcpy(key + SUBJECT_ACCOUNT_PREFIX_LEN, name, len);
	return judge_get(j, SUBJECT_ACCOUNT, key, len + SUBJECT_ACCOUNT_PREFIX_LEN, now, false);
}

/* judge_normalize, and with holder an address held by a subscriber names the subscriber. */
static int
judge_normalize_key(const struct judge *j, const char *text, char *out, size_t size, enum subject_kind *kind,
    bool holder)
{
	struct cidr net;

	if (strncmp(text, SUBJECT_SUBSCRIBER_PREFIX, SUBJECT_SUBSCRIBER_PREFIX_LEN) == 0) {
		size_t len = strlen(text + SUBJECT_SUBSCRIBER_PREFIX_LEN);
		if (len == 0 || len > JUDGE_SUBSCRIBER_MAX || len + SUBJECT_SUBSCRIBER_PREFIX_LEN + 1 > size)
			return -1;
		memcpy(out, text, len + SUBJECT_SUBSCRIBER_PREFIX_LEN + 1);
		*kind = SUBJECT_SUBSCRIBER;
		return 0;
	}
	if (strncmp(text, "account:", 8) == 0) {
		/* any bytes, as judge_account takes them from the network: spaces, controls, not UTF-8 */
		size_t len = strlen(text + 8);
		if (len == 0 || len > JUDGE_ACCOUNT_MAX || len + 9 > size)
			return -1;
		memcpy(out, text, len + 9);
		*kind = SUBJECT_ACCOUNT;
		return 0;
	}
	if (cidr_parse(text, &net) != 0)
		return -1;
	unsigned full = net.addr.family == AF_INET ? 32 : 128;
	unsigned host = net.addr.family == AF_INET ? j->cfg->limits.host_prefix_v4 : j->cfg->limits.host_prefix_v6;
	if (net.prefix != full && net.prefix != host)
		return -1;
	if (size < ADDR_TEXT_MAX)
		return -1;
	/* an address held by a subscriber now names the subscriber: its verdicts are theirs */
	if (holder && j->ident != NULL) {
		size_t len;
		const char *id = ident_holder_id(j->ident, &net.addr, time_now(), &len);
		if (id != NULL && len <= JUDGE_SUBSCRIBER_MAX && len + SUBJECT_SUBSCRIBER_PREFIX_LEN + 1 <= size) {
			memcpy(out, SUBJECT_SUBSCRIBER_PREFIX, SUBJECT_SUBSCRIBER_PREFIX_LEN);
			memcpy(out + SUBJECT_SUBSCRIBER_PREFIX_LEN, id, len);
			out[SUBJECT_SUBSCRIBER_PREFIX_LEN + len] = '\0';
			*kind = SUBJECT_SUBSCRIBER;
			return 0;
		}
	}
	host_key(&net.addr, j->cfg->limits.host_prefix_v4, j->cfg->limits.host_prefix_v6, out, size);
	*kind = SUBJECT_HOST;
	return 0;
}

int
judge_normalize(const struct judge *j, const char *text, char *out, size_t size, enum subject_kind *kind)
{
	return judge_normalize_key(j, text, out, size, kind, true);
}

struct subject *
judge_lookup(struct judge *j, const char *text)
{
	char key[STORE_SUBJECT_MAX];
	enum subject_kind kind;

	if (judge_normalize(j, text, key, sizeof(key), &kind) != 0)
		return NULL;
	return subjects_find(j->subjects, key, strlen(key));
}

struct subject *
judge_lookup_or_create(struct judge *j, const char *text, usec_t now)
{
	char key[STORE_SUBJECT_MAX];
	enum subject_kind kind;

	if (judge_normalize(j, text, key, sizeof(key), &kind) != 0)
		return NULL;
	return judge_get(j, kind, key, strlen(key), now, true);
}

/*
 * The subject of exactly this canonical key (created when missing), as another node named
 * it: never resolved to an address's holder here. NULL for a key that is not canonical
 * (what judge_normalize would make of it without an identity layer) or cannot be tracked.
 */
static struct subject *
judge_lookup_key(struct judge *j, const char *key, usec_t now)
{
	char canon[STORE_SUBJECT_MAX];
	enum subject_kind kind;
	size_t len = strlen(key);
	struct subject *s = subjects_find(j->subjects, key, len);

	if (s != NULL)
		return s;
	if (judge_normalize_key(j, key, canon, sizeof(canon), &kind, false) != 0 || strcmp(canon, key) != 0)
		return NULL;
	return judge_get(j, kind, key, len, now, true);
}

const struct rate_limit *
judge_limit(const struct judge *j, const struct subject *s, enum rate_index idx)
{
	return judge_limit_at(j, s, idx, s->level);
}

const struct rate_limit *
judge_limit_at(const struct judge *j, const struct subject *s, enum rate_index idx, int level)
{
	/* a subscriber has no counters of its own (the relay counts addresses): a host's limits */
	return &j->limits[s->kind == SUBJECT_ACCOUNT][idx][level == LEVEL_THROTTLE];
}

static double
judge_decay(const struct judge *j, int kind, double value, usec_t at, usec_t now)
{
	double age = (double)(now - at);

	if (age <= 0 || value == 0)
		return value;
	return value * exp2(-age / (double)j->kinds[kind].half_life);
}

/* This node's own part of an item, decayed to now: what it adds to and publishes. */
static double
judge_own_decayed(const struct judge *j, const struct evidence_item *e, usec_t now)
{
	return judge_decay(j, e->kind, e->value, e->value_time, now);
}

/* The item's whole amount now: this node's part and, with a shared store, the others'. */
static double
judge_decayed(const struct judge *j, const struct evidence_item *e, usec_t now)
{
	return judge_own_decayed(j, e, now) + judge_decay(j, e->kind, e->remote_value, e->remote_time, now);
}

double
judge_item_score(const struct judge *j, const struct evidence_item *e, usec_t now)
{
	if (e->kind >= j->kind_count)
		return 0;
	return j->kinds[e->kind].weight * judge_decayed(j, e, now);
}

double
judge_score(const struct judge *j, const struct subject *s, usec_t now)
{
	double score = 0;

	if (s->detail == NULL)
		return 0;
	for (size_t i = 0; i < s->detail->evidence_count; i++)
		score += judge_item_score(j, &s->detail->evidence[i], now);
	return score;
}

const char *
judge_top_summary(const struct judge *j, const struct subject *s, usec_t now)
{
	const char *best = "";
	double best_score = -1;

	if (s->detail == NULL)
		return best;
	for (size_t i = 0; i < s->detail->evidence_count; i++) {
		const struct evidence_item *e = &s->detail->evidence[i];
		double sc = judge_item_score(j, e, now);
		if (sc > best_score && e->summary[0] != '\0') {
			best_score = sc;
			best = e->summary;
		}
	}
	return best;
}

const struct evidence_item *
judge_evidence(const struct subject *s, int kind)
{
	if (s->detail == NULL)
		return NULL;
	for (size_t i = 0; i < s->detail->evidence_count; i++)
		if (s->detail->evidence[i].kind == kind)
			return &s->detail->evidence[i];
	return NULL;
}

/* Puts s on the checkpoint list (once). */
static void
judge_mark_dirty(struct judge *j, struct subject *s)
{
	s->flags &= (uint8_t)~SUBJECT_F_WRITTEN;     /* changed after the row last queued */
	if (s->flags & SUBJECT_F_DIRTY)
		return;
	if (j->dirty_count == j->dirty_cap) {
		size_t cap = j->dirty_cap ? j->dirty_cap * 2 : 1024;
		struct subject **grown = realloc(j->dirty, cap * sizeof(*grown));
		if (grown == NULL) {
			char name[SUBJECT_NAME_MAX];
			log_warnx("judge: out of memory for the checkpoint list; %s=%s is saved later", subject_field(s),
			    subject_name(s, name, sizeof(name)));
			return;
		}
		j->dirty = grown;
		j->dirty_cap = cap;
	}
	j->dirty[j->dirty_count++] = s;
	s->flags |= SUBJECT_F_DIRTY;
}

void
judge_touch(struct judge *j, struct subject *s)
{
	judge_mark_dirty(j, s);
	if (s->flags & SUBJECT_F_DIRTY)
		s->flags |= SUBJECT_F_DIRTY_FULL;
}

void
judge_touch_rates(struct judge *j, struct subject *s)
{
	judge_mark_dirty(j, s);
}

/* The store's view of s; evidence points into the caller's array of JUDGE_MAX_EVIDENCE. */
static void
judge_snapshot(const struct subject *s, struct store_subject *row, struct store_evidence *ev, usec_t now)
{
	memset(row, 0, sizeof(*row));
	memcpy(row->subject, s->key, s->key_len);
	row->subject[s->key_len] = '\0';
	row->level = s->target_level;
	row->manual_level = s->manual_level;
	row->manual_until = s->manual_until;
	row->rate_tat[0] = s->tat[0];
	row->rate_tat[1] = s->tat[1];
	row->updated = now;
	row->evidence = ev;
	if (s->detail == NULL)
		return;
	str_copy(row->manual_reason, sizeof(row->manual_reason), subject_manual_reason(s));
	row->manual_self_release = (s->detail->manual_flags & SUBJECT_MANUAL_SELF_RELEASE) != 0;
	row->grace_until = s->detail->grace_until;
	row->reset_at = s->detail->reset_at;
	for (size_t i = 0; i < s->detail->evidence_count && i < JUDGE_MAX_EVIDENCE; i++) {
		const struct evidence_item *e = &s->detail->evidence[i];
		struct store_evidence *o = &ev[row->evidence_count++];
		memset(o, 0, sizeof(*o));
		/* kind names are filled by the caller, which knows the judge */
		o->count = e->count;
		o->value = e->value;
		o->value_time = e->value_time;
		o->first_seen = e->first_seen;
		o->last_seen = e->last_seen;
		memcpy(o->summary, e->summary, sizeof(o->summary));
	}
}

static void
judge_snapshot_kinds(const struct judge *j, const struct subject *s, struct store_evidence *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		str_copy(ev[i].kind, sizeof(ev[i].kind), judge_kind_name(j, s->detail->evidence[i].kind));
}

static void
judge_log_verdict(const struct judge *j, const struct judge_change *c)
{
	const struct subject *s = c->s;

	char name[SUBJECT_NAME_MAX], reason[STORE_REASON_MAX];

	log_info("verdict %s=%s level=%s previous=%s score=%.2f by=%s%s%s reason=\"%s\"",
	    subject_field(s), subject_name(s, name, sizeof(name)),
	    level_name(c->new_level), level_name(c->old_level), c->score, c->actor,
	    j->shared != NULL ? " node=" : "", j->shared != NULL ? shared_node_name(j->shared) : "",
	    log_quoted(reason, sizeof(reason), c->reason));
}

static void
judge_count_change(struct judge *j, int old, int new, const char *actor)
{
	bool judge = strcmp(actor, JUDGE_ACTOR_JUDGE) == 0;

	if (new >= LEVEL_QUARANTINE && old < LEVEL_QUARANTINE) {
		if (judge)
			j->stats.quarantines_auto++;
		else
			j->stats.quarantines_manual++;
	} else if (old >= LEVEL_QUARANTINE && new < LEVEL_QUARANTINE) {
		if (judge)
			j->stats.releases_auto++;
		else if (strcmp(actor, JUDGE_ACTOR_PORTAL) == 0)
			j->stats.releases_self++;
		else
			j->stats.releases_operator++;
	}
}

/* The store's done callback for a level change: only now does enforcement see it. */
static void
judge_committed(void *arg, int status)
{
	struct judge_change *c = arg;
	struct judge *j = c->j;
	struct subject *s = c->s;

	s->pending--;
	if (c->cap_slot) {
		/* the slot counts only once the quarantine is durable; a failed one gives it back */
		j->cap_inflight--;
		if (status == 0)
			judge_cap_take(j, c->time);
	}
	if (status == 0) {
		int old = s->level;
		j->stats.by_level[old]--;
		j->stats.by_level[c->new_level]++;
		j->stats.level_changes++;
		s->level = (uint8_t)c->new_level;
		judge_notable_update(j, s);
		judge_log_verdict(j, c);
		judge_count_change(j, old, c->new_level, c->actor);
		if (j->observer != NULL && old != c->new_level)
			j->observer(j->observer_arg, s, old, c->new_level, c->actor);
	} else {
		char name[SUBJECT_NAME_MAX];
		log_warnx("verdict %s=%s level=%s by=%s not committed (store error %d); it stays %s%s",
		    subject_field(s), subject_name(s, name, sizeof(name)), level_name(c->new_level), c->actor,
		    status, level_name(s->level), c->has_undo ? " and the action is undone" : " and is retried");
		if (s->target_level == c->new_level && s->pending == 0) {
			s->target_level = s->level;
			if (c->has_undo)
				judge_undo_apply(s, c);
		}
		judge_touch(j, s);
	}
	if (c->done != NULL)
		c->done(c->arg, status);
	free(c);
}

/* ---- the shared store (store/shared.h) ---- */

static uint32_t
judge_tag_hash(uint64_t tag)
{
	return (uint32_t)hash_bytes(&tag, sizeof(tag));
}

/*
 * The store's done callback for a change on its way to the shared store: committed here
 * (with its outbox row), it waits in j->awaiting until the feed brings it back
 * (judge_apply_shared), and only then is it in force — on this node as on every other.
 * Whoever waits for it is answered now with STORE_QUEUED when the shared store is out of
 * reach: the verdict is safe on this node's disk and takes effect once it is back.
 */
static void
judge_local_committed(void *arg, int status)
{
	struct judge_change *c = arg;
	struct judge *j = c->j;

	if (status != 0) {
		judge_committed(c, status);
		return;
	}
	c->await.hash = judge_tag_hash(c->tag);
	c->committed_at = time_mono();
	htable_add(&j->awaiting, &c->await);
	if (!shared_up(j->shared) && c->done != NULL) {
		store_done_cb done = c->done;
		c->done = NULL;
		done(c->arg, STORE_QUEUED);
	}
}

/* judge_change's way to the store in shared mode: the verdict as the feed's change too. */
static int
judge_put_shared(struct judge *j, struct judge_change *c, const struct store_subject *row,
    const struct store_history *h)
{
	struct shared_verdict v;
	char line[SHARED_LINE_MAX];
	int rc;

	memset(&v, 0, sizeof(v));
	v.level = c->new_level;
	v.old_level = c->old_level;
	v.manual_level = row->manual_level;
	v.manual_until = row->manual_until;
	v.grace_until = row->grace_until;
	v.time = c->time;
	v.self_release = row->manual_self_release;
	v.reset = c->reset;
	v.tag = c->tag = ++j->tag_next;
	str_copy(v.manual_reason, sizeof(v.manual_reason), row->manual_reason);
	str_copy(v.actor, sizeof(v.actor), c->actor);
	str_copy(v.reason, sizeof(v.reason), c->reason);
	if ((rc = shared_verdict_line(&v, line, sizeof(line))) < 0)
		return rc;
	return store_put_outbox(j->st, row, h, SHARED_KIND_VERDICT, line, judge_local_committed, c);
}

#define JUDGE_ORIGINS_MAX 256

static uint32_t
judge_contrib_hash(const char *key, size_t len, int kind, int origin)
{
	char buf[STORE_SUBJECT_MAX + 4];

	memcpy(buf, key, len);
	buf[len] = (char)(kind & 0xff);
	buf[len + 1] = (char)(kind >> 8);
	buf[len + 2] = (char)(origin & 0xff);
	buf[len + 3] = (char)(origin >> 8);
	return (uint32_t)hash_bytes(buf, len + 4);
}

static struct judge_contrib *
judge_contrib_find(struct judge *j, const char *key, size_t len, int kind, int origin, uint32_t h)
{
	for (struct htable_node *n = htable_first(&j->contribs, h); n != NULL; n = htable_next(n, h)) {
		struct judge_contrib *c = htable_entry(n, struct judge_contrib, node);
		if (c->kind == kind && c->origin == origin && c->key_len == len && memcmp(c->key, key, len) == 0)
			return c;
	}
	return NULL;
}

/* The index of another node's name, learnt on first sight; -1 when there are too many. */
/* The index of node among the publications' origins; -1 when none came from it yet. */
static int
judge_origin_find(const struct judge *j, const char *node)
{
	for (size_t i = 0; i < j->origin_count; i++)
		if (strcmp(j->origins[i], node) == 0)
			return (int)i;
	return -1;
}

static int
judge_origin(struct judge *j, const char *node)
{
	int found = judge_origin_find(j, node);

	if (found >= 0)
		return found;
	if (j->origin_count == JUDGE_ORIGINS_MAX)
		return -1;
	if (j->origins == NULL && (j->origins = calloc(JUDGE_ORIGINS_MAX, sizeof(*j->origins))) == NULL)
		return -1;
	snprintf(j->origins[j->origin_count], SHARED_NODE_MAX, "%s", node);
	return (int)j->origin_count++;
}

void
judge_prefetch_shared(struct judge *j, const struct shared_change *c, const struct shared_evidence *e, size_t n)
{
	const char *keys[SUBJECTS_PREFETCH_MAX];

	if (n > SUBJECTS_PREFETCH_MAX)
		n = SUBJECTS_PREFETCH_MAX;
	for (size_t i = 0; i < n; i++)
		keys[i] = c != NULL ? c[i].subject : e[i].subject;
	subjects_prefetch(j->subjects, keys, n);
	if (e == NULL || j->contribs.count == 0)
		return;
	/* and each publication's previous one, which it replaces */
	uint32_t h[SUBJECTS_PREFETCH_MAX];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int kind = judge_kind_id(j, e[i].kind), origin = judge_origin_find(j, e[i].node);
		if (kind >= 0 && origin >= 0) {
			h[k] = judge_contrib_hash(e[i].subject, strlen(e[i].subject), kind, origin);
			htable_prefetch(&j->contribs, h[k++]);
		}
	}
	for (size_t i = 0; i < k; i++)
		htable_prefetch_node(&j->contribs, h[i]);
}

/* Forget every other node's publications about s (it is forgotten here). */
static void
judge_contribs_drop(struct judge *j, const struct subject *s)
{
	for (int k = 0; k < j->kind_count; k++)
		for (size_t o = 0; o < j->origin_count; o++) {
			uint32_t h = judge_contrib_hash(s->key, s->key_len, k, (int)o);
			struct judge_contrib *c = judge_contrib_find(j, s->key, s->key_len, k, (int)o, h);
			if (c != NULL) {
				htable_del(&j->contribs, &c->node);
				free(c);
			}
		}
}

/*
 * A release on any node: the subject's decayed evidence goes, this node's part and the
 * others' (their publications count from zero again: a publication made before the release
 * that arrives after it adds nothing).
 */
static void
judge_reset_shared(struct judge *j, struct subject *s, usec_t at)
{
	struct subject_detail *d = s->detail;

	if (d == NULL)
		return;
	d->reset_at = at;
	for (size_t i = 0; i < d->evidence_count; i++) {
		if (d->evidence[i].value != 0)
			d->evidence[i].unpublished = 1;   /* the others learn its part is zero now */
		d->evidence[i].value = 0;
		d->evidence[i].value_time = at;
		d->evidence[i].remote_value = 0;
		d->evidence[i].remote_time = at;
	}
	for (int k = 0; k < j->kind_count; k++)
		for (size_t o = 0; o < j->origin_count; o++) {
			uint32_t h = judge_contrib_hash(s->key, s->key_len, k, (int)o);
			struct judge_contrib *c = judge_contrib_find(j, s->key, s->key_len, k, (int)o, h);
			if (c != NULL) {
				c->value = 0;
				c->value_time = at;
			}
		}
}

void
judge_apply_evidence(struct judge *j, const struct shared_evidence *e)
{
	int kind = judge_kind_id(j, e->kind), origin;
	usec_t now = time_now();
	struct subject *s;
	struct evidence_item *item;

	if (kind < 0 || (origin = judge_origin(j, e->node)) < 0)
		return;
	if (j->contribs.buckets == NULL && htable_init(&j->contribs, 1024) != 0)
		return;
	if ((s = judge_lookup_key(j, e->subject, now)) == NULL)
		return;
	size_t len = s->key_len;
	uint32_t h = judge_contrib_hash(s->key, len, kind, origin);
	struct judge_contrib *c = judge_contrib_find(j, s->key, len, kind, origin, h);
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c) + len)) == NULL)
			return;
		c->kind = (uint16_t)kind;
		c->origin = (uint16_t)origin;
		c->key_len = (uint16_t)len;
		memcpy(c->key, s->key, len);
		c->node.hash = h;
		htable_add(&j->contribs, &c->node);
	}
	if ((item = judge_item(s, kind, now)) == NULL)
		return;
	/* made before the subject's last release: it counts nothing (its events stay counted) */
	double value = s->detail->reset_at != 0 && e->value_time <= s->detail->reset_at ? 0 : e->value;
	double remote = judge_decay(j, kind, item->remote_value, item->remote_time, now) -
	    judge_decay(j, kind, c->value, c->value_time, now) + judge_decay(j, kind, value, e->value_time, now);
	item->remote_value = remote > 0 ? remote : 0;
	item->remote_time = now;
	item->remote_count = item->remote_count >= c->count ? item->remote_count - c->count + e->count : e->count;
	if (e->first_seen != 0 && e->first_seen < item->first_seen)
		item->first_seen = e->first_seen;       /* an item is made with first_seen now */
	if (e->last_seen >= item->last_seen) {
		item->last_seen = e->last_seen;
		if (e->summary[0] != '\0')
			judge_summary_copy(item->summary, sizeof(item->summary), e->summary);
	}
	c->value = value;
	c->value_time = e->value_time;
	c->count = e->count;
	if (e->last_seen > s->last_seen)
		s->last_seen = e->last_seen;
	judge_evaluate(j, s, now);      /* only its owner judges */
}

/* This node's own part of one item of s, for the other nodes (the newest per subject and
 * kind waits for the sync thread, which sends it within milliseconds). */
static void
judge_publish_item(struct judge *j, const struct subject *s, struct evidence_item *it)
{
	struct shared_evidence e;

	memset(&e, 0, sizeof(e));
	memcpy(e.subject, s->key, s->key_len);
	str_copy(e.kind, sizeof(e.kind), judge_kind_name(j, it->kind));
	e.value = it->value;
	e.value_time = it->value_time;
	e.count = it->count;
	e.first_seen = it->first_seen;
	e.last_seen = it->last_seen;
	memcpy(e.summary, it->summary, sizeof(e.summary));
	if (shared_publish(j->shared, &e) != 0)
		log_warnx("judge: out of memory publishing evidence (published at the next checkpoint)");
	else {
		it->unpublished = 0;
		it->published_at = time_now();
	}
}

/* At a checkpoint: what is left unpublished of s's own evidence (a release's zeros, an item
 * whose publication ran out of memory). Only what changed: a subject is written whole for
 * many reasons (a verdict applied from the feed among them), and a mass quarantine's
 * subjects published again for nothing kept PostgreSQL busy. */
static void
judge_publish(struct judge *j, struct subject *s)
{
	if (s->detail == NULL)
		return;
	for (size_t i = 0; i < s->detail->evidence_count; i++)
		if (s->detail->evidence[i].unpublished)
			judge_publish_item(j, s, &s->detail->evidence[i]);
}

void
judge_set_shared(struct judge *j, struct shared *sh)
{
	j->shared = sh;
	if (sh == NULL)                 /* stopping: what still awaits the feed is answered as queued */
		return;
	if (sh != NULL && ((j->awaiting.buckets == NULL && htable_init(&j->awaiting, 64) != 0) ||
	    (j->contribs.buckets == NULL && htable_init(&j->contribs, 1024) != 0)))
		j->shared = NULL;
	/* tags of this run never meet an earlier run's, which the feed may still bring */
	j->tag_next = ((uint64_t)time_now() << 16) & (UINT64_MAX >> 2);
}

bool
judge_is_shared(const struct judge *j)
{
	return j->shared != NULL;
}

/* Answers, with STORE_QUEUED, whoever waits for a change committed here before `before`
 * (monotonic; 0: all of them) that the feed has not brought back yet. */
static void
judge_answer_queued(struct judge *j, usec_t before)
{
	size_t cursor = 0;
	struct htable_node *n = NULL;

	if (j->awaiting.buckets == NULL)
		return;
	while ((n = htable_iter(&j->awaiting, &cursor, n)) != NULL) {
		struct judge_change *c = htable_entry(n, struct judge_change, await);
		if (c->done != NULL && (before == 0 || c->committed_at < before)) {
			store_done_cb done = c->done;
			c->done = NULL;
			done(c->arg, STORE_QUEUED);
		}
	}
}

void
judge_shared_link(struct judge *j, bool up)
{
	if (!up)
		judge_answer_queued(j, 0);
}

static struct judge_change *
judge_awaiting_take(struct judge *j, uint64_t tag)
{
	uint32_t h = judge_tag_hash(tag);

	for (struct htable_node *n = htable_first(&j->awaiting, h); n != NULL; n = htable_next(n, h)) {
		struct judge_change *c = htable_entry(n, struct judge_change, await);
		if (c->tag == tag) {
			htable_del(&j->awaiting, n);
			return c;
		}
	}
	return NULL;
}

void
judge_apply_shared(struct judge *j, const struct shared_change *ch)
{
	const struct shared_verdict *v = &ch->verdict;
	struct judge_change *c = ch->own ? judge_awaiting_take(j, v->tag) : NULL;
	struct subject *s;
	char name[SUBJECT_NAME_MAX], reason[STORE_REASON_MAX];

	if (ch->refused) {
		/* set aside by the sync thread: it never takes effect, here or anywhere */
		if (c != NULL) {
			if (c->done == NULL)        /* its waiter heard "queued": the log says otherwise now */
				log_warnx("shared store: a verdict acknowledged as queued was refused by the server: "
				    "%s=%s stays %s", subject_field(c->s), subject_name(c->s, name, sizeof(name)),
				    level_name(c->s->level));
			judge_committed(c, -EIO);
		}
		return;
	}
	if (c != NULL) {
		/* this run's own: in force now, its waiter answered, as a local commit would (the
		 * local store has its row already, written with the outbox's); a release also
		 * clears the other nodes' part here, and the checkpoint writes that and publishes
		 * this node's part at zero */
		if (v->reset) {
			judge_reset_shared(j, c->s, v->time);
			judge_touch(j, c->s);
		}
		judge_committed(c, 0);
		return;
	}
	if ((s = judge_lookup_key(j, ch->subject, time_now())) == NULL) {
		log_warnx("shared store: change seq=%lld from node=%s names no subject this node can track; skipped",
		    (long long)ch->seq, ch->node);
		return;
	}
	struct subject_detail *d = subject_detail(s);
	s->manual_level = (int8_t)v->manual_level;
	s->manual_until = v->manual_until;
	if (d != NULL) {
		if (subject_set_manual_reason(s, v->manual_reason) != 0)
			log_warnx("shared store: change seq=%lld: out of memory for the operator's note; it is "
			    "not shown here", (long long)ch->seq);
		d->manual_flags = v->self_release ? SUBJECT_MANUAL_SELF_RELEASE : 0;
		d->grace_until = v->grace_until;
		if (v->reset)
			judge_reset_shared(j, s, v->time);
	}
	if (v->level >= LEVEL_QUARANTINE || s->manual_level >= 0)
		judge_unhold(j, s);
	int old = s->level;
	if (d != NULL)
		d->settle_until = strcmp(v->actor, JUDGE_ACTOR_JUDGE) == 0 && v->level > old ?
		    time_now() + JUDGE_SHARED_SETTLE : 0;
	if (s->pending == 0)
		s->target_level = (uint8_t)v->level;
	if (strcmp(v->actor, JUDGE_ACTOR_JUDGE) == 0 && v->level >= LEVEL_QUARANTINE && old < LEVEL_QUARANTINE &&
	    j->cap_size > 0)
		judge_cap_take(j, v->time);     /* the hour's cap counts every node's */
	if (v->reset || j->st == NULL)
		judge_touch(j, s);           /* the checkpoint publishes this node's part, zero now */
	if (old != v->level) {
		j->stats.by_level[old]--;
		j->stats.by_level[v->level]++;
		j->stats.level_changes++;
		s->level = (uint8_t)v->level;
		judge_notable_update(j, s);
		log_info("verdict %s=%s level=%s previous=%s by=%s node=%s seq=%lld reason=\"%s\"", subject_field(s),
		    subject_name(s, name, sizeof(name)), level_name(v->level), level_name(old), v->actor, ch->node,
		    (long long)ch->seq, log_quoted(reason, sizeof(reason), v->reason));
		judge_count_change(j, old, v->level, v->actor);
	}
	if (j->st != NULL) {
		/*
		 * Written now, not at the next checkpoint: the newest change applied, recorded
		 * after this callback, is queued behind this row, so a crash never leaves the
		 * record past a verdict the local store does not hold. The history of every node
		 * tells the whole story, with who made each change where.
		 */
		struct store_subject row;
		struct store_evidence ev[JUDGE_MAX_EVIDENCE];
		struct store_history h;
		bool history = !ch->own && old != v->level;
		usec_t now = time_now();

		judge_snapshot(s, &row, ev, now);
		if (row.evidence_count)
			judge_snapshot_kinds(j, s, ev, row.evidence_count);
		memset(&h, 0, sizeof(h));
		h.time = v->time;
		memcpy(h.subject, s->key, s->key_len);
		h.old_level = old;
		h.new_level = v->level;
		snprintf(h.actor, sizeof(h.actor), "%.40s@%.20s", v->actor, ch->node);
		str_copy(h.reason, sizeof(h.reason), v->reason);
		if (store_put(j->st, &row, history ? &h : NULL, NULL, NULL) != 0)
			log_warnx("shared store: change seq=%lld for %s=%s not written here (out of memory); the "
			    "checkpoint tries again", (long long)ch->seq, subject_field(s), subject_name(s, name, sizeof(name)));
	}
	if (old != v->level && j->observer != NULL)
		j->observer(j->observer_arg, s, old, v->level, v->actor);
}

/*
 * judge_change — ask the store to make new_level durable with a history entry;
 * s->level follows in judge_committed. Returns 0 or -ENOMEM.
 */
static int
judge_change(struct judge *j, struct subject *s, int new_level, usec_t now, const char *actor,
    const char *reason, store_done_cb done, void *arg, const struct judge_undo *undo, bool reset)
{
	struct judge_change *c = judge_change_new(actor, reason, undo);
	struct store_subject row;
	struct store_evidence ev[JUDGE_MAX_EVIDENCE];
	struct store_history h;

	if (c == NULL)
		return -ENOMEM;
	c->j = j;
	c->s = s;
	c->old_level = s->target_level;
	c->new_level = new_level;
	c->score = judge_score(j, s, now);
	c->time = now;
	c->done = done;
	c->arg = arg;
	c->reset = reset;
	/* the judge's own way into quarantine (counted as quarantines_auto once committed) */
	c->cap_slot = j->cap_size > 0 && strcmp(actor, JUDGE_ACTOR_JUDGE) == 0 && new_level >= LEVEL_QUARANTINE &&
	    c->old_level < LEVEL_QUARANTINE;
	if (c->cap_slot)
		j->cap_inflight++;

	s->target_level = (uint8_t)new_level;
	s->pending++;
	judge_snapshot(s, &row, ev, now);
	if (row.evidence_count)
		judge_snapshot_kinds(j, s, ev, row.evidence_count);
	memset(&h, 0, sizeof(h));
	h.time = now;
	memcpy(h.subject, row.subject, sizeof(h.subject));
	h.old_level = c->old_level;
	h.new_level = new_level;
	str_copy(h.actor, sizeof(h.actor), c->actor);
	str_copy(h.reason, sizeof(h.reason), c->reason);

	if (j->st == NULL) {
		judge_committed(c, 0);
		return 0;
	}
	if ((j->shared != NULL ? judge_put_shared(j, c, &row, &h) : store_put(j->st, &row, &h, judge_committed, c)) != 0) {
		s->pending--;
		if (c->cap_slot)
			j->cap_inflight--;
		s->target_level = (uint8_t)c->old_level;
		if (c->has_undo)
			judge_undo_apply(s, c);
		free(c);
		return -ENOMEM;
	}
	/* the row queued is all the checkpoint would write; if its commit fails, judge_committed
	 * touches the subject again */
	if (s->flags & SUBJECT_F_DIRTY)
		s->flags |= SUBJECT_F_WRITTEN;
	return 0;
}

static int
judge_level_for(const struct judge *j, double score)
{
	for (int l = LEVEL_QUARANTINE; l >= LEVEL_WATCH; l--)
		if (score >= j->cfg->judge.threshold[l])
			return l;
	return LEVEL_NORMAL;
}

static bool
judge_manual_active(const struct subject *s, usec_t now)
{
	return s->manual_level >= 0 && (s->manual_until == 0 || s->manual_until > now);
}

/* The automatic level for s now, with hysteresis against its current level. */
static int
judge_automatic_level(const struct judge *j, const struct subject *s, double score, int current)
{
	int target = judge_level_for(j, score);

	if (current <= LEVEL_QUARANTINE && target < current &&    /* above: a lapsed suspend */
	    score >= j->cfg->judge.release_ratio * j->cfg->judge.threshold[current])
		target = current;
	/* last, so hysteresis never holds an allowlisted subject above watch */
	if (s->flags & SUBJECT_F_ALLOWLISTED && target > LEVEL_WATCH)
		target = LEVEL_WATCH;
	if (target > LEVEL_THROTTLE && s->detail != NULL && s->detail->grace_until > j->now_hint)
		target = LEVEL_THROTTLE;
	return target;
}

/*
 * judge_hold — s deserves quarantine but the hour's cap is used up: it is held at
 * throttle (the queue) and the operator is told. Returns the level to go to.
 */
static int
judge_hold(struct judge *j, struct subject *s, double score, usec_t now)
{
	if (!(s->flags & SUBJECT_F_HELD)) {
		s->flags |= SUBJECT_F_HELD;
		judge_notable_update(j, s);
		j->stats.held_total++;
		if (j->stats.held++ == 0)
			log_warnx("ALARM quarantine cap reached: %u automatic quarantines in the last hour; "
			    "subjects that deserve quarantine are held at throttle until the cap allows "
			    "(lazaretctl quarantines)", j->cfg->judge.quarantine_cap);
		char name[SUBJECT_NAME_MAX];
		log_warnx("held %s=%s level=throttle score=%.2f queued=%zu reason=\"quarantine cap of %u per hour "
		    "reached: %s\"", subject_field(s), subject_name(s, name, sizeof(name)), score, j->stats.held, j->cfg->judge.quarantine_cap,
		    judge_top_summary(j, s, now));
	}
	return s->target_level > LEVEL_THROTTLE ? s->target_level : LEVEL_THROTTLE;
}

static void
judge_evaluate(struct judge *j, struct subject *s, usec_t now)
{
	double score;
	int target;
	bool held = false;
	char reason[STORE_REASON_MAX];

	if (judge_manual_active(s, now))
		return;
	/* with a shared store, one node judges each subject: its owner */
	if (j->shared != NULL && !shared_owns(j->shared, s->key, s->key_len))
		return;
	j->now_hint = now;
	score = judge_score(j, s, now);
	target = judge_automatic_level(j, s, score, s->target_level);
	if (target < s->target_level && s->detail != NULL && now < s->detail->settle_until)
		return;                   /* raised by another node: its evidence has not come yet */
	if (target >= LEVEL_QUARANTINE && s->target_level < LEVEL_QUARANTINE) {
		if (judge_cap_allows(j, now)) {
			judge_unhold(j, s);
		} else {
			target = judge_hold(j, s, score, now);
			held = true;
		}
	} else if (target < LEVEL_QUARANTINE) {
		judge_unhold(j, s);       /* it no longer deserves quarantine */
	}
	if (target == s->target_level)
		return;
	if (held)
		snprintf(reason, sizeof(reason), "score %.2f reached quarantine (%g) but the cap of %u automatic "
		    "quarantines per hour is reached: held at throttle: %s", score,
		    j->cfg->judge.threshold[LEVEL_QUARANTINE], j->cfg->judge.quarantine_cap, judge_top_summary(j, s, now));
	else if (target > s->target_level)
		snprintf(reason, sizeof(reason), "score %.2f reached %s (%g): %s", score, level_name(target),
		    j->cfg->judge.threshold[target], judge_top_summary(j, s, now));
	else
		snprintf(reason, sizeof(reason), "score %.2f fell below %g as evidence aged", score,
		    j->cfg->judge.release_ratio * j->cfg->judge.threshold[s->target_level]);
	/* a quarantine holds a cap slot from here, counted once committed (judge_committed) */
	if (judge_change(j, s, target, now, JUDGE_ACTOR_JUDGE, reason, NULL, NULL, NULL, false) != 0) {
		char name[SUBJECT_NAME_MAX];
		log_warnx("judge: out of memory changing %s=%s to %s", subject_field(s), subject_name(s, name, sizeof(name)),
		    level_name(target));
	}
}

static struct evidence_item *
judge_item(struct subject *s, int kind, usec_t now)
{
	struct subject_detail *d = subject_detail(s);

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < d->evidence_count; i++)
		if (d->evidence[i].kind == kind)
			return &d->evidence[i];
	if (d->evidence_count == JUDGE_MAX_EVIDENCE)
		return NULL;
	if (d->evidence_count == d->evidence_cap) {
		/* one first: most subjects have evidence of one kind (a burst's 100 000 each) */
		uint16_t cap = d->evidence_cap ? (uint16_t)(d->evidence_cap * 2) : 1;
		struct evidence_item *grown = realloc(d->evidence, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		d->evidence = grown;
		d->evidence_cap = cap;
	}
	struct evidence_item *e = &d->evidence[d->evidence_count++];
	memset(e, 0, sizeof(*e));
	e->kind = (uint16_t)kind;
	e->first_seen = now;
	e->value_time = now;
	return e;
}

/*
 * Copies a summary for keeping: valid UTF-8 without control characters, whatever the
 * sensor wrote. Names from the network are subject text in it already (the sensors
 * encode them); this is the net under them. A control byte (C0, DEL, C1) or a byte
 * that is not UTF-8 becomes '?', and a cut falls between characters, never inside
 * one: a summary goes to JSON (the API, analyze), which refuses anything else, to
 * terminals and to Postfix's reply text.
 */
static void
judge_summary_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, left = strlen(src);

	while (left > 0) {
		uint32_t cp = p[0];
		size_t n = p[0] < 0x80 ? 1 : utf8_decode(p, left, &cp);
		bool bad = n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0);

		if (n == 0)
			n = 1;
		if (o + (bad ? 1 : n) >= size)
			break;
		if (bad)
			dst[o++] = '?';
		else {
			memcpy(dst + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	dst[o] = '\0';
}

static void
judge_record(struct judge *j, struct subject *s, int kind, double amount, uint64_t events, usec_t now,
    const char *summary, bool accumulate)
{
	struct evidence_item *e;

	if (kind < 0 || kind >= j->kind_count)
		return;
	if ((e = judge_item(s, kind, now)) == NULL) {
		char name[SUBJECT_NAME_MAX];
		log_warnx("judge: cannot record %s evidence for %s=%s (out of memory)", judge_kind_name(j, kind),
		    subject_field(s), subject_name(s, name, sizeof(name)));
		return;
	}
	e->value = accumulate ? judge_own_decayed(j, e, now) + amount : amount;
	e->value_time = now;
	if (accumulate)
		e->count += events;
	else
		e->count = events;
	e->last_seen = now;
	e->unpublished = 1;
	if (summary != NULL)
		judge_summary_copy(e->summary, sizeof(e->summary), summary);
	j->stats.evidence_events += events;
	judge_touch(j, s);
	/* at once, not at the checkpoint: the subject's owner may be another node; but once a
	 * ten seconds at most (the checkpoint sends the rest), or a host deferred a thousand times a
	 * second would be published as often, and PostgreSQL kept busy for nothing */
	if (j->shared != NULL && (e->published_at == 0 || now - e->published_at >= JUDGE_PUBLISH_EVERY ||
	    now < e->published_at))
		judge_publish_item(j, s, e);
	judge_evaluate(j, s, now);
}

void
judge_add_evidence(struct judge *j, struct subject *s, int kind, double amount, uint64_t events,
    usec_t now, const char *summary)
{
	judge_record(j, s, kind, amount, events, now, summary, true);
}

void
judge_set_evidence(struct judge *j, struct subject *s, int kind, double amount, uint64_t events,
    usec_t now, const char *summary)
{
	judge_record(j, s, kind, amount, events, now, summary, false);
}

int
judge_set_manual(struct judge *j, struct subject *s, int level, usec_t until, const char *reason,
    const char *actor, store_done_cb done, void *arg)
{
	return judge_set_manual_flags(j, s, level, until, 0, reason, actor, done, arg);
}

int
judge_set_manual_flags(struct judge *j, struct subject *s, int level, usec_t until, unsigned flags,
    const char *reason, const char *actor, store_done_cb done, void *arg)
{
	struct subject_detail *d;
	char why[STORE_REASON_MAX];
	char d1[32];
	usec_t now = time_now();

	struct judge_undo undo;

	if (level < LEVEL_NORMAL || level >= LEVEL_COUNT || reason == NULL || *reason == '\0' ||
	    (flags & ~(unsigned)SUBJECT_MANUAL_SELF_RELEASE) != 0 ||
	    ((flags & SUBJECT_MANUAL_SELF_RELEASE) && level == LEVEL_SUSPEND))
		return -EINVAL;
	if ((d = subject_detail(s)) == NULL)
		return -ENOMEM;
	judge_undo_save(s, &undo);
	if (subject_set_manual_reason(s, reason) != 0)
		return -ENOMEM;             /* before anything else changes */
	judge_unhold(j, s);
	s->manual_level = (int8_t)level;
	s->manual_until = until;
	d->manual_flags = (uint8_t)flags;
	if (until != 0)
		snprintf(why, sizeof(why), "%s for %s: %s", level_name(level),
		    duration_format(until - now, d1, sizeof(d1)), reason);
	else
		snprintf(why, sizeof(why), "%s: %s", level_name(level), reason);
	return judge_change(j, s, level, now, actor, why, done, arg, &undo, false);
}

int
judge_release(struct judge *j, struct subject *s, const char *reason, const char *actor,
    store_done_cb done, void *arg)
{
	char why[STORE_REASON_MAX];
	usec_t now = time_now();
	struct judge_undo undo;

	judge_undo_save(s, &undo);
	judge_unhold(j, s);
	s->manual_level = -1;
	s->manual_until = 0;
	if (s->detail != NULL) {
		(void)subject_set_manual_reason(s, NULL);       /* a removal: no allocation */
		s->detail->manual_flags = 0;
		for (size_t i = 0; i < s->detail->evidence_count; i++) {
			if (s->detail->evidence[i].value != 0)
				s->detail->evidence[i].unpublished = 1;
			s->detail->evidence[i].value = 0;
			s->detail->evidence[i].value_time = now;
		}
	}
	snprintf(why, sizeof(why), "released%s%s", reason && *reason ? ": " : "", reason ? reason : "");
	return judge_change(j, s, LEVEL_NORMAL, now, actor, why, done, arg, &undo, true);
}

int
judge_set_grace(struct judge *j, struct subject *s, usec_t until)
{
	struct subject_detail *d = subject_detail(s);

	if (d == NULL)
		return -ENOMEM;
	d->grace_until = until;
	judge_touch(j, s);
	return 0;
}

enum judge_self_release
judge_self_release(const struct subject *s, usec_t now)
{
	if (s->level == LEVEL_SUSPEND || s->target_level == LEVEL_SUSPEND)
		return JUDGE_SELF_RELEASE_NO;
	if (!judge_manual_active(s, now))
		return JUDGE_SELF_RELEASE_AUTO;
	return s->detail != NULL && (s->detail->manual_flags & SUBJECT_MANUAL_SELF_RELEASE) ?
	    JUDGE_SELF_RELEASE_OPERATOR : JUDGE_SELF_RELEASE_NO;
}

/*
 * judge_checkpoint — subjects with more than their counters changed are written whole,
 * one store_put each; those with only their counters changed go in one store_put_rates
 * (under load that is nearly every subject, tens of thousands every interval, and the
 * loop thread should not spend milliseconds on them). A subject whose write cannot be
 * queued stays on the list for the next round.
 */
void
judge_checkpoint(struct judge *j)
{
	usec_t now = time_now();
	struct store_subject row;
	struct store_evidence ev[JUDGE_MAX_EVIDENCE];
	struct store_rate *rates = NULL;
	size_t nrates = 0, keep = 0;

	if (j->st == NULL) {
		for (size_t i = 0; i < j->dirty_count; i++)
			j->dirty[i]->flags &= (uint8_t)~(SUBJECT_F_DIRTY | SUBJECT_F_DIRTY_FULL);
		j->dirty_count = 0;
		return;
	}
	if (j->dirty_count > j->rates_cap) {
		struct store_rate *grown = realloc(j->rates, j->dirty_count * sizeof(*grown));
		if (grown != NULL) {              /* else everything goes whole */
			j->rates = grown;
			j->rates_cap = j->dirty_count;
		}
	}
	if (j->dirty_count <= j->rates_cap)
		rates = j->rates;
	for (size_t i = 0; i < j->dirty_count; i++) {
		struct subject *s = j->dirty[i];
		if (!(s->flags & SUBJECT_F_DIRTY_FULL) && rates != NULL) {
			rates[nrates++] = (struct store_rate){ .subject = s->key, .subject_len = s->key_len,
			    .level = s->level, .rate_tat = { s->tat[0], s->tat[1] }, .updated = now };
			continue;
		}
		if (s->flags & SUBJECT_F_WRITTEN) {
			/* a verdict's row, queued after it went on the list, holds all of it (a failed
			 * commit of that row touches it again) */
			if (j->shared != NULL)
				judge_publish(j, s);
			s->flags &= (uint8_t)~(SUBJECT_F_DIRTY | SUBJECT_F_DIRTY_FULL | SUBJECT_F_WRITTEN);
			continue;
		}
		judge_snapshot(s, &row, ev, now);
		if (row.evidence_count)
			judge_snapshot_kinds(j, s, ev, row.evidence_count);
		if (j->shared != NULL)
			judge_publish(j, s);
		if (store_put(j->st, &row, NULL, NULL, NULL) != 0) {
			char name[SUBJECT_NAME_MAX];
			log_warnx("judge: checkpoint of %s=%s failed (out of memory); tried again next round",
			    subject_field(s), subject_name(s, name, sizeof(name)));
			j->dirty[keep++] = s;          /* still flagged */
			continue;
		}
		s->flags &= (uint8_t)~(SUBJECT_F_DIRTY | SUBJECT_F_DIRTY_FULL);
	}
	if (nrates > 0 && store_put_rates(j->st, rates, nrates) != 0) {
		log_warnx("judge: checkpoint of %zu rate counters failed (out of memory); tried again next round",
		    nrates);
		for (size_t i = 0; i < nrates; i++)
			j->dirty[keep++] = (struct subject *)(void *)((char *)(uintptr_t)rates[i].subject -
			    offsetof(struct subject, key));
		nrates = 0;
	}
	for (size_t i = 0; i < nrates; i++) {
		struct subject *s = (struct subject *)(void *)((char *)(uintptr_t)rates[i].subject -
		    offsetof(struct subject, key));
		s->flags &= (uint8_t)~SUBJECT_F_DIRTY;
	}
	j->dirty_count = keep;
}

/* An idle normal subject with nothing worth keeping. */
static bool
judge_forgettable(const struct judge *j, const struct subject *s, usec_t now)
{
	if (s->level != LEVEL_NORMAL || s->target_level != LEVEL_NORMAL || s->pending ||
	    (s->flags & SUBJECT_F_DIRTY) || s->manual_level >= 0)
		return false;
	if (s->last_seen + j->cfg->daemon.idle_expiry > now)
		return false;
	if (s->tat[0] > now || s->tat[1] > now)
		return false;
	return judge_score(j, s, now) < 0.01;
}

void
judge_sweep(struct judge *j, usec_t now, size_t budget)
{
	struct subject *s, *prev = NULL;
	char reason[STORE_REASON_MAX], name[SUBJECT_NAME_MAX];

	/* a shared store that takes long (a server hung without a reset): the verdicts are safe
	 * on this node's disk, and whoever asked for them is not kept waiting for it */
	if (j->shared != NULL)
		judge_answer_queued(j, time_mono() - JUDGE_SHARED_WAIT);
	/* Between operations: nobody holds a subject. Then the excess over max_subjects
	 * (a lowered max_subjects, or the store's and operators' subjects above it). */
	j->recent[0] = j->recent[1] = NULL;
	while (subjects_count(j->subjects) > j->cfg->judge.max_subjects && budget > 0 && judge_make_room(j, now))
		budget--;
	s = subjects_next(j->subjects, &j->sweep_cursor, NULL);
	for (; s != NULL && budget > 0; budget--) {
		if (s->manual_level >= 0 && s->manual_until != 0 && s->manual_until <= now && s->pending == 0 &&
		    (j->shared == NULL || shared_owns(j->shared, s->key, s->key_len))) {
			double score = judge_score(j, s, now);
			j->now_hint = now;
			int target = judge_automatic_level(j, s, score, LEVEL_NORMAL);
			snprintf(reason, sizeof(reason), "operator's %s expired (%s)", level_name(s->manual_level),
			    subject_manual_reason(s));
			s->manual_level = -1;
			s->manual_until = 0;
			if (s->detail != NULL)
				s->detail->manual_flags = 0;
			if (judge_change(j, s, target, now, JUDGE_ACTOR_JUDGE, reason, NULL, NULL, NULL, false) != 0)
				log_warnx("judge: out of memory lapsing %s=%s", subject_field(s),
				    subject_name(s, name, sizeof(name)));
		} else if (s->pending == 0 && (s->detail != NULL || s->target_level != LEVEL_NORMAL)) {
			judge_evaluate(j, s, now);
		}
		if (judge_forgettable(j, s, now)) {
			if (j->st != NULL && s->detail != NULL)
				store_forget(j->st, s->key);
			else if (j->st != NULL && (s->tat[0] || s->tat[1]))
				store_forget(j->st, s->key);
			if (j->shared != NULL)
				judge_contribs_drop(j, s);
			j->stats.by_level[s->level]--;
			j->stats.evicted++;
			if (s->notable != 0) {        /* not so by judge_forgettable; never leave a stale pointer */
				s->level = LEVEL_NORMAL;
				s->flags &= (uint8_t)~SUBJECT_F_HELD;
				judge_notable_update(j, s);
			}
			subjects_remove(j->subjects, s);
			prev = NULL;
		} else
			prev = s;
		s = subjects_next(j->subjects, &j->sweep_cursor, prev);
	}
	if (s == NULL)
		j->sweep_cursor = 0;
}

static int
judge_load_one(void *arg, const struct store_subject *row)
{
	struct judge *j = arg;
	enum subject_kind kind = subject_key_kind(row->subject, strlen(row->subject));
	struct subject *s = judge_get(j, kind, row->subject, strlen(row->subject), row->updated, true);

	if (s == NULL)
		return -ENOMEM;
	if (row->level < 0 || row->level >= LEVEL_COUNT)
		return -EINVAL;
	j->stats.by_level[s->level]--;
	s->level = s->target_level = (uint8_t)row->level;
	j->stats.by_level[s->level]++;
	judge_notable_update(j, s);
	s->manual_level = (int8_t)(row->manual_level >= 0 && row->manual_level < LEVEL_COUNT ? row->manual_level : -1);
	s->manual_until = row->manual_until;
	s->tat[0] = row->rate_tat[0];
	s->tat[1] = row->rate_tat[1];
	if (row->manual_reason[0] != '\0' || row->evidence_count > 0 || row->grace_until != 0 ||
	    row->manual_self_release || row->reset_at != 0) {
		struct subject_detail *d = subject_detail(s);
		if (d == NULL)
			return -ENOMEM;
		if (subject_set_manual_reason(s, row->manual_reason) != 0)
			return -ENOMEM;
		d->manual_flags = row->manual_self_release && s->manual_level >= 0 ? SUBJECT_MANUAL_SELF_RELEASE : 0;
		d->grace_until = row->grace_until;
		d->reset_at = row->reset_at;    /* the other nodes' older publications count nothing still */
	}
	for (size_t i = 0; i < row->evidence_count; i++) {
		const struct store_evidence *e = &row->evidence[i];
		int k = judge_kind_id(j, e->kind);
		if (k < 0) {
			/* a kind from a sensor this build lacks: kept, but it weighs nothing */
			k = judge_register_kind(j, e->kind, 0, 86400 * USEC_PER_SEC, "no longer reported");
			log_warnx("judge: evidence kind %s in the store is not reported by any sensor; kept with weight 0",
			    e->kind);
			if (k < 0)
				continue;
		}
		struct evidence_item *it = judge_item(s, k, e->first_seen);
		if (it == NULL)
			return -ENOMEM;
		it->count = e->count;
		it->value = e->value;
		it->value_time = e->value_time;
		it->first_seen = e->first_seen;
		it->last_seen = e->last_seen;
		snprintf(it->summary, sizeof(it->summary), "%s", e->summary);
	}
	return 0;
}

int
judge_load(struct judge *j)
{
	if (j->st == NULL)
		return 0;
	return store_load(j->st, judge_load_one, j);
}

void
judge_stats_get(const struct judge *j, struct judge_stats *out)
{
	*out = j->stats;
	out->tracked = subjects_count(j->subjects);
	out->max_subjects = j->cfg->judge.max_subjects;
	out->cap_used = judge_cap_used(j, time_now());
}
