/*
 * relay_policy.c — levels first, then rate limits; see relay_policy.h.
 */
#include "act/relay_policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/htable.h"
#include "common/log.h"
#include "judge/kinds.h"

/* The end of a rate_limit summary, " for going over 3600 messages per 1h from this host",
 * for one subject kind and rate, and the limit it was made for. */
struct relay_tail {
	uint32_t count;
	usec_t period;
	size_t len;
	char text[128];
};

/*
 * What the relay's log said last about a subject it refused ([policy] repeat_log_interval):
 * the relay's own memory, by subject key, of subjects refused lately. Kept in the order
 * of their last line, oldest first; past RELAY_REFUSALS_MAX the oldest goes.
 */
struct refusal_log {
	struct htable_node node;           /* node.hash: subjects_hash(key) */
	struct refusal_log *older, *newer;
	usec_t logged;                     /* when the last line about it was written */
	uint32_t unlogged;                 /* refusals since, counted instead of logged */
	uint8_t action;                    /* the enum policy_action of that line */
	uint16_t key_len;
	char key[];
};

#define RELAY_REFUSALS_MAX 65536
/* a count not yet on a line is kept this long for the subject's next refusal at most */
#define RELAY_REFUSAL_KEEP (86400 * USEC_PER_SEC)

struct relay {
	struct judge *judge;
	const struct config *cfg;
	int kind;                   /* rate_limit evidence */
	struct relay_tail tails[2][2];    /* [enum subject_kind][enum rate_index], made on first use */
	struct htable refusals;     /* struct refusal_log */
	struct refusal_log *oldest, *newest;
};

struct relay *
relay_new(struct judge *j, const struct config *cfg)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->judge = j;
	config_unref(r->cfg);
	r->cfg = config_ref(cfg);
	r->kind = evidence_kind_register(j, RELAY_EVIDENCE_KIND);     /* its weight: judge/kinds.c */
	if (r->kind < 0 || htable_init(&r->refusals, 256) != 0) {
		relay_free(r);
		return NULL;
	}
	return r;
}

/* Out of the age list (not the table). */
static void
refusal_list_unlink(struct relay *r, struct refusal_log *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		r->newest = e->older;
}

/* Into the age list, as the newest. */
static void
refusal_list_append(struct relay *r, struct refusal_log *e)
{
	e->newer = NULL;
	e->older = r->newest;
	if (r->newest)
		r->newest->newer = e;
	else
		r->oldest = e;
	r->newest = e;
}

static void
refusal_unlink(struct relay *r, struct refusal_log *e)
{
	htable_del(&r->refusals, &e->node);
	refusal_list_unlink(r, e);
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	for (struct refusal_log *e = r->oldest, *n; e != NULL; e = n) {
		n = e->newer;
		free(e);
	}
	htable_fini(&r->refusals);
	config_unref(r->cfg);
	free(r);
}

static struct refusal_log *
refusal_find(const struct relay *r, const struct subject *s, uint32_t h)
{
	for (struct htable_node *n = htable_first(&r->refusals, h); n != NULL; n = htable_next(n, h)) {
		struct refusal_log *e = htable_entry(n, struct refusal_log, node);
		if (e->key_len == s->key_len && memcmp(e->key, s->key, s->key_len) == 0)
			return e;
	}
	return NULL;
}

/*
 * The relay's memory of s's refusals, made when missing (NULL on ENOMEM). Lines older
 * than the interval are forgotten first, a few at a time, unless a count waits on them
 * (then up to RELAY_REFUSAL_KEEP); past RELAY_REFUSALS_MAX the oldest goes anyway.
 */
static struct refusal_log *
refusal_get(struct relay *r, const struct subject *s, usec_t now)
{
	uint32_t h = subjects_hash(s->key, s->key_len);
	struct refusal_log *e = refusal_find(r, s, h);
	usec_t interval = r->cfg->policy.repeat_log_interval;

	if (e != NULL)
		return e;
	for (int i = 0; i < 8 && r->oldest != NULL && now - r->oldest->logged > interval; i++) {
		struct refusal_log *old = r->oldest;
		if (old->unlogged > 0 && now - old->logged < RELAY_REFUSAL_KEEP &&
		    r->refusals.count < RELAY_REFUSALS_MAX)
			break;
		refusal_unlink(r, old);
		free(old);
	}
	if (r->refusals.count >= RELAY_REFUSALS_MAX) {
		struct refusal_log *old = r->oldest;
		refusal_unlink(r, old);
		free(old);
	}
	if ((e = calloc(1, sizeof(*e) + s->key_len)) == NULL)
		return NULL;
	e->node.hash = h;
	e->key_len = s->key_len;
	memcpy(e->key, s->key, s->key_len);
	htable_add(&r->refusals, &e->node);
	refusal_list_append(r, e);
	return e;
}

/* e was just logged about: the newest. */
static void
refusal_touch(struct relay *r, struct refusal_log *e)
{
	if (r->newest == e)
		return;
	refusal_list_unlink(r, e);
	refusal_list_append(r, e);
}

uint32_t
relay_refusals_unlogged(const struct relay *r, const struct subject *s)
{
	struct refusal_log *e = refusal_find(r, s, subjects_hash(s->key, s->key_len));

	return e != NULL ? e->unlogged : 0;
}

void
relay_configure(struct relay *r, const struct config *cfg)
{
	config_unref(r->cfg);
	r->cfg = config_ref(cfg);
}

static const char *
relay_unit(enum rate_index idx)
{
	return idx == RATE_MESSAGES ? "messages" : "recipients";
}

/* The tail of s's summaries for rate idx under the limit in force; formatted again
 * only when the configured limit changes. */
static const struct relay_tail *
relay_tail(struct relay *r, const struct subject *s, enum rate_index idx)
{
	const struct rate_spec *spec;
	struct relay_tail *t = &r->tails[s->kind == SUBJECT_HOST ? 0 : 1][idx];
	char per[32];
	int n;

	if (s->kind == SUBJECT_HOST)
		spec = idx == RATE_MESSAGES ? &r->cfg->limits.host_messages : &r->cfg->limits.host_recipients;
	else
		spec = idx == RATE_MESSAGES ? &r->cfg->limits.account_messages : &r->cfg->limits.account_recipients;
	if (t->len > 0 && t->count == spec->count && t->period == spec->period)
		return t;
	duration_format(spec->period, per, sizeof(per));
	n = snprintf(t->text, sizeof(t->text), " for going over %u %s per %s%s", spec->count, relay_unit(idx),
	    per, s->kind == SUBJECT_HOST ? " from this host" : " from this account");
	t->len = n < 0 ? 0 : (size_t)n < sizeof(t->text) ? (size_t)n : sizeof(t->text) - 1;
	t->count = spec->count;
	t->period = spec->period;
	return t;
}

/* True for the counts a summary is written at: 1 to 9, then 10, 20, ..., 90, 100, 200, ... */
static bool
relay_count_step(uint64_t n)
{
	while (n >= 10 && n % 10 == 0)
		n /= 10;
	return n < 10;
}

/* n itself below 10, else n cut to one significant digit: the last step at or below n. */
static uint64_t
relay_round_down(uint64_t n)
{
	uint64_t p = 1;

	while (n / p >= 10)
		p *= 10;
	return n / p * p;
}

/*
 * Records one deferral of counted (the subject whose limit it went over: an address or
 * an account) as evidence for s (the same, or the subscriber who holds the address), with a summary an agent can read out:
 * "mail deferred 3 times since 2026-11-27T06:40:00Z for going over 3600 messages per
 * 1h from this host", and from ten on "20+ times", "100+ times": true until the next
 * such step, where it is written again (the exact count is the evidence item's own,
 * shown beside the summary). So a flood of deferrals is not a flood of snprintf and
 * time formatting: the judge gets a new summary only at those steps, for a deferral
 * on the other rate or under a changed limit.
 */
static void
relay_evidence(struct relay *r, const struct subject *counted, struct subject *s, enum rate_index idx, usec_t now)
{
	const struct evidence_item *e = judge_evidence(s, r->kind);
	const struct relay_tail *t = relay_tail(r, counted, idx);
	uint64_t n = (e ? e->count : 0) + 1;
	char summary[STORE_SUMMARY_MAX], since[40];
	size_t have;

	if (e != NULL && !relay_count_step(n) && (have = strlen(e->summary)) >= t->len &&
	    memcmp(e->summary + have - t->len, t->text, t->len) == 0) {
		judge_add_evidence(r->judge, s, r->kind, 1.0, 1, now, NULL);
		return;
	}
	time_format(e ? e->first_seen : now, since, sizeof(since));
	if (n < 10)
		snprintf(summary, sizeof(summary), "mail deferred %llu time%s since %s%s", (unsigned long long)n,
		    n == 1 ? "" : "s", since, t->text);
	else
		snprintf(summary, sizeof(summary), "mail deferred %llu+ times since %s%s",
		    (unsigned long long)relay_round_down(n), since, t->text);
	judge_add_evidence(r->judge, s, r->kind, 1.0, 1, now, summary);
}

/*
 * Logs a refusal of s at level info, as one line with host=/account=, level=, action=
 * and reason= — unless s was refused the same way, and logged, less than
 * repeat_log_interval ago: then the refusal is only counted, and the next line about s
 * says how many it stands for besides its own (unlogged=N). A bot deferred a thousand
 * times a minute is one line a minute, not a thousand; a change of action is logged
 * at once. Postfix logs every refusal itself.
 */
static void
relay_log_refusal(struct relay *r, struct subject *s, enum policy_action act, enum policy_state state,
    const char *reason, usec_t now)
{
	struct refusal_log *e;
	char unlogged[32] = "", at[32] = "", name[SUBJECT_NAME_MAX];
	usec_t interval = r->cfg->policy.repeat_log_interval;

	if (log_get_level() < LOG_LEVEL_INFO)
		return;
	if (interval > 0 && (e = refusal_get(r, s, now)) != NULL) {
		if (e->logged != 0 && e->action == act && now - e->logged < interval && now >= e->logged) {
			e->unlogged++;
			return;
		}
		if (e->unlogged > 0)
			snprintf(unlogged, sizeof(unlogged), " unlogged=%u", e->unlogged);
		e->logged = now;
		e->action = (uint8_t)act;
		e->unlogged = 0;
		refusal_touch(r, e);
	}
	if (act == POLICY_REJECT)
		snprintf(at, sizeof(at), " state=%s", policy_state_name(state));
	log_info("policy %s=%s level=%s action=%s%s reason=\"%s\"%s", subject_field(s),
	    subject_name(s, name, sizeof(name)), level_name(s->level), policy_action_name(act), at, reason,
	    unlogged);
}

static size_t
relay_format(char *answer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t
relay_format(char *answer, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(answer, POLICY_ANSWER_MAX - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > POLICY_ANSWER_MAX - 3)
		n = POLICY_ANSWER_MAX - 3;
	answer[n++] = '\n';
	answer[n++] = '\n';
	answer[n] = '\0';
	return (size_t)n;
}

/* Appends text to answer[0..*n), cut where relay_format cuts. */
static void
relay_append(char *answer, size_t *n, const char *text)
{
	size_t len = strlen(text), room = POLICY_ANSWER_MAX - 3 - *n;

	if (len > room)
		len = room;
	memcpy(answer + *n, text, len);
	*n += len;
}

/* The deferral answer, without printf (up to a third of the answers under a flood):
 * what relay_format would make of "action=DEFER_IF_PERMIT 4.7.1 %s (over %s %s limit)". */
static size_t
relay_defer(const struct relay *r, const struct subject *s, enum rate_index idx, char *answer)
{
	size_t n = 0;

	relay_append(answer, &n, "action=DEFER_IF_PERMIT 4.7.1 ");
	relay_append(answer, &n, r->cfg->policy.defer_text);
	relay_append(answer, &n, s->kind == SUBJECT_HOST ? " (over the host's " : " (over the account's ");
	relay_append(answer, &n, relay_unit(idx));
	relay_append(answer, &n, " limit)");
	answer[n++] = '\n';
	answer[n++] = '\n';
	answer[n] = '\0';
	return n;
}

/* The common answer, without printf: it is most of what the service says. */
static size_t
relay_dunno(char *answer)
{
	static const char dunno[] = "action=DUNNO\n\n";
	memcpy(answer, dunno, sizeof(dunno));
	return sizeof(dunno) - 1;
}

enum policy_action
relay_decide(struct relay *r, const struct policy_request *req, usec_t now, char *answer, size_t *len)
{
	struct subject *subj[2] = { NULL, NULL };     /* host (the address), account */
	struct subject *verdict[2] = { NULL, NULL };  /* whose level counts: the address's holder, account */
	struct addr a;
	int level = LEVEL_NORMAL;
	enum policy_state state = req->protocol_state;

	if (req->client_address.len && addr_parse(req->client_address.ptr, req->client_address.len, &a) == 0 &&
	    (verdict[0] = judge_host(r->judge, &a, now)) != NULL)
		/* a subscriber holds the address: the verdict is theirs, the counters the address's */
		subj[0] = verdict[0]->kind == SUBJECT_SUBSCRIBER ? judge_address(r->judge, &a, now) : verdict[0];
	if (req->sasl_username.len)
		subj[1] = verdict[1] = judge_account(r->judge, req->sasl_username.ptr, req->sasl_username.len, now);
	for (int i = 0; i < 2; i++)
		if (verdict[i] != NULL && verdict[i]->level > level)
			level = verdict[i]->level;

	if (level >= LEVEL_QUARANTINE && (state == POLICY_STATE_RCPT || state == POLICY_STATE_DATA)) {
		struct subject *who = verdict[0] && verdict[0]->level == level ? verdict[0] : verdict[1];
		relay_log_refusal(r, who, POLICY_REJECT, state, who->kind == SUBJECT_HOST ? "host quarantined" :
		    who->kind == SUBJECT_SUBSCRIBER ? "subscriber quarantined" : "account quarantined", now);
		*len = relay_format(answer, "action=REJECT 5.7.1 %s %s", r->cfg->policy.reject_text, r->cfg->portal.url);
		return POLICY_REJECT;
	}

	/* What one request costs, per rate index, under the counting mode. */
	uint32_t cost[2] = { 0, 0 };
	if (r->cfg->policy.count_at == COUNT_AT_DATA && state == POLICY_STATE_DATA) {
		cost[RATE_MESSAGES] = 1;
		cost[RATE_RECIPIENTS] = req->recipient_count ? req->recipient_count : 1;
	} else if (r->cfg->policy.count_at == COUNT_AT_RCPT && state == POLICY_STATE_RCPT) {
		cost[RATE_RECIPIENTS] = 1;
	}
	if (cost[0] == 0 && cost[1] == 0) {
		*len = relay_dunno(answer);
		return POLICY_DUNNO;
	}

	/* Check every limit first and charge only when all allow: a deferred message costs nothing. */
	usec_t next[2][2];
	bool over = false;
	for (int i = 0; i < 2; i++) {
		struct subject *s = subj[i];
		if (s == NULL || (s->flags & SUBJECT_F_ALLOWLISTED))
			continue;
		for (int idx = 0; idx < 2; idx++) {
			next[i][idx] = s->tat[idx];
			if (cost[idx] == 0)
				continue;
			if (!rate_check(s->tat[idx], judge_limit_at(r->judge, s, (enum rate_index)idx,
			    verdict[i] != NULL ? verdict[i]->level : s->level), cost[idx], now, &next[i][idx])) {
				over = true;
				relay_evidence(r, s, verdict[i] != NULL ? verdict[i] : s, (enum rate_index)idx, now);
				relay_log_refusal(r, s, POLICY_DEFER, state, s->kind == SUBJECT_HOST ?
				    (idx == RATE_MESSAGES ? "over host messages limit" : "over host recipients limit") :
				    (idx == RATE_MESSAGES ? "over account messages limit" : "over account recipients limit"),
				    now);
				*len = relay_defer(r, s, (enum rate_index)idx, answer);
				break;
			}
		}
		if (over)
			break;
	}
	if (over)
		return POLICY_DEFER;
	for (int i = 0; i < 2; i++) {
		struct subject *s = subj[i];
		if (s == NULL || (s->flags & SUBJECT_F_ALLOWLISTED))
			continue;
		rate_commit(&s->tat[RATE_MESSAGES], next[i][RATE_MESSAGES]);
		rate_commit(&s->tat[RATE_RECIPIENTS], next[i][RATE_RECIPIENTS]);
		judge_touch_rates(r->judge, s);
	}
	*len = relay_dunno(answer);
	return POLICY_DUNNO;
}
