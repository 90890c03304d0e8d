/*
 * portal.c — the walled garden's desk, in the main process: who is asking, what they
 * see, tokens and the self-release. The HTTP side, the front (front.c), runs in a
 * process of its own and asks one question per request over a wire.h channel; this
 * file also starts that process, and starts it again when it dies.
 */
#include "portal/portal.h"
#include "sense/report.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/httpd.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "portal/front.h"
#include "portal/page.h"
#include "portal/settings.h"
#include "portal/token.h"
#include "portal/wire.h"

#define PORTAL_HISTORY_MAX   1000
#define PORTAL_RELEASE_REASON "self-release via portal"
#define PORTAL_ACTOR         "portal"
#define PORTAL_RECENT        64     /* self-releases remembered, so a second press is answered alike */
#define PORTAL_CACHE_SLOTS   256    /* history digests of recent visitors */
#define PORTAL_CACHE_TTL     (1 * USEC_PER_SEC)
#define PORTAL_LOG_BURST     20     /* lines visitors can cause per PORTAL_LOG_INTERVAL, then counted */
#define PORTAL_LOG_INTERVAL  (10 * USEC_PER_SEC)
#define PORTAL_RESTART_BURST 5      /* front restarts at once; then one per PORTAL_RESTART_DELAY */
#define PORTAL_RESTART_DELAY (5 * 1000)
#define PORTAL_TERM_GRACE    500    /* ms: a front stopped by SIGTERM, before a new one */

struct portal_request;

/* A self-release on its way to the store, and the requests waiting for its verdict. */
struct portal_job {
	struct portal *p;
	struct portal_job *next;
	struct portal_request *waiters;
	char subject[STORE_SUBJECT_MAX];
	char address[ADDR_TEXT_MAX];
	char case_id[32];
	uint64_t episode;             /* the one the tokens were checked against */
	usec_t old_grace;
	unsigned used_before;
};

/* What the history says about a quarantined subject. */
struct portal_history {
	usec_t now, window_start;
	unsigned releases;            /* self-releases within the window */
	uint64_t episode;             /* time of the newest level change: binds tokens to this quarantine */
	usec_t since;                 /* when the current quarantine began */
	usec_t opened;                /* the first quarantine within the window: the case */
	int error;                    /* the store could not read it: 0 or a negative errno-style code */
};

/*
 * A history digest for the notices of one subject, reused for a second at most and only
 * while the subject's level state is as it was: a quarantined host's browser and OS
 * probes ask many times a minute, and each read is an SQLite query. Releases always
 * read afresh.
 */
struct portal_cached {
	char subject[STORE_SUBJECT_MAX];
	usec_t at;
	usec_t manual_until;
	uint8_t level, target_level;
	int8_t manual_level;
	uint8_t manual_flags;         /* the operator allowing self-release is a new page */
	struct portal_history h;
};

/* A token that released its address: pressing it again is answered "released", not 403. */
struct portal_recent {
	char address[ADDR_TEXT_MAX];
	char token[TOKEN_TEXT_MAX];
	usec_t until;
};

struct portal {
	uv_loop_t *loop;
	struct portal_context ctx;
	struct portal_settings set;
	struct pages *pages;
	struct token_key key;
	int listen_fd;                /* the portal's listening socket, bound before privileges went */
	struct portal_chan chan;      /* to the front */
	struct portal_front *front;   /* in this process (tests, benchmarks), else NULL */
	pid_t front_pid;              /* the front's process, -1: none */
	unsigned restarts;            /* front processes started since the last quiet minute */
	usec_t restart_window;        /* monotonic start of that minute */
	uv_timer_t restart_timer;
	bool timer_open;
	uv_check_t flush_check;       /* sends the front one flush at the end of a turn with level changes */
	bool check_open;
	bool flush_due;               /* a level changed since the last flush went to the front */
	unsigned waiting;             /* requests waiting for a release's verdict */
	struct portal_job *jobs;
	unsigned jobs_pending;
	bool stopping;
	struct portal_stats stats;
	struct portal_recent recent[PORTAL_RECENT];
	unsigned recent_next;
	struct portal_cached cache[PORTAL_CACHE_SLOTS];
	struct log_limit refusal_log;   /* refused releases: any visitor can make one */
};

static void portal_flush_front(struct portal *p);

/* A query from the front, until it is answered. */
struct portal_request {
	struct portal *p;
	uint64_t id;
	uint8_t method;               /* enum portal_method */
	bool release;                 /* the release form's path */
	bool has_token;
	bool answered;
	bool suspended;               /* waits for a release's verdict */
	bool done;                    /* the release this request waited for has its verdict */
	int status;
	struct portal_job *job;
	struct portal_request *next_waiter;
	char address[ADDR_TEXT_MAX];
	char subject[STORE_SUBJECT_MAX];
	char token[TOKEN_TEXT_MAX];   /* the form's token, once read */
};

/* One visit of a quarantined subject: everything its page shows. */
struct portal_visit {
	struct subject *s;
	struct portal_history h;
	struct page_evidence ev[PORTAL_EVIDENCE_MAX];
	size_t ev_count;
	char case_id[32];
	enum page_offer offer;        /* the button, later, or the abuse desk (case_id) */
	bool operator_only;           /* an operator's quarantine without self-release */
	usec_t release_at;            /* PAGE_OFFER_LATER: when; 0 = not known */
};


/* The portal's settings from its section of the configuration, and the guard rails that
 * only the benchmark moves (settings.h). */
static void
portal_settings_from_section(const struct config_portal *c, struct portal_settings *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->listen = c->listen;
	snprintf(ps->url, sizeof(ps->url), "%s", c->url);
	snprintf(ps->templates, sizeof(ps->templates), "%s", c->templates);
	snprintf(ps->support_contact, sizeof(ps->support_contact), "%s", c->support_contact);
	snprintf(ps->abuse_contact, sizeof(ps->abuse_contact), "%s", c->abuse_contact);
	ps->self_release_limit = c->self_release_limit;
	ps->self_release_window = c->self_release_window;
	ps->grace = c->grace;
	ps->min_quarantine = c->min_quarantine;
	ps->token_ttl = c->token_ttl;
	snprintf(ps->secret_file, sizeof(ps->secret_file), "%s", c->secret_file);
	ps->max_connections = c->max_connections;
	ps->per_ip_connections = c->max_connections_per_address;
	ps->request_timeout = c->request_timeout;
	ps->timeout_seconds = 15;
	ps->memory_per_connection = 32 * 1024;
	ps->answer_cache = 1 * USEC_PER_SEC;
}

/* The [portal] defaults are the configuration's (its key table), not written again here. */
void
portal_settings_defaults(struct portal_settings *ps)
{
	struct config *defaults = malloc(sizeof(*defaults));

	if (defaults == NULL) {        /* a tool's start only (the harness): nothing to fall back on */
		memset(ps, 0, sizeof(*ps));
		return;
	}
	config_defaults(defaults);
	portal_settings_from_section(&defaults->portal, ps);
	config_free(defaults);
	free(defaults);
}

void
portal_settings_from_config(const struct config *cfg, struct portal_settings *ps)
{
	portal_settings_from_section(&cfg->portal, ps);
}

#define PORTAL_CLOSE 0              /* an answer's code that closes the visitor's connection */
#define PORTAL_HTTP_OK 200
#define PORTAL_HTTP_FORBIDDEN 403
#define PORTAL_HTTP_NOT_ALLOWED 405
#define PORTAL_HTTP_UNAVAILABLE 503
#define PORTAL_HTTP_NOTICE 511          /* RFC 6585 Network Authentication Required */

static void
text_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/*
 * Answers r: the page kind with code and info goes to the front, which renders it
 * (code PORTAL_CLOSE: the front closes the connection). r is answered from now on.
 */
static int
portal_page(struct portal_request *r, unsigned code, enum page_kind kind, const struct page_info *in)
{
	struct portal *p = r->p;
	struct portal_answer *a = calloc(1, sizeof(*a));

	r->answered = true;
	if (a == NULL)
		return 0;        /* the front waits for the request deadline, then closes it */
	a->magic = PORTAL_WIRE_MAGIC;
	a->type = PORTAL_WIRE_ANSWER;
	a->id = r->id;
	a->code = (uint16_t)code;
	a->page = (uint8_t)kind;
	if (in != NULL) {
		a->level = in->level;
		a->now = in->now;
		a->since = in->since;
		a->token_expires = in->token_expires;
		a->release_at = in->release_at;
		a->release_window = in->release_window;
		a->grace = in->grace;
		a->min_quarantine = in->min_quarantine;
		a->releases_used = in->releases_used;
		a->release_limit = in->release_limit;
		a->by_operator = in->by_operator;
		a->release_later = in->release_later;
		a->has_token = in->token != NULL;
		a->has_case = in->case_id != NULL;
		a->has_error = in->error != NULL;
		text_copy(a->address, sizeof(a->address), in->address);
		text_copy(a->subject, sizeof(a->subject), in->subject);
		text_copy(a->token, sizeof(a->token), in->token);
		text_copy(a->case_id, sizeof(a->case_id), in->case_id);
		text_copy(a->error, sizeof(a->error), in->error);
		for (size_t i = 0; i < in->evidence_count && i < PORTAL_EVIDENCE_MAX; i++) {
			const struct page_evidence *e = &in->evidence[i];
			text_copy(a->ev[i].kind, sizeof(a->ev[i].kind), e->kind);
			text_copy(a->ev[i].summary, sizeof(a->ev[i].summary), e->summary);
			text_copy(a->ev[i].advice, sizeof(a->ev[i].advice), e->advice);
			a->ev[i].count = e->count;
			a->ev[i].first_seen = e->first_seen;
			a->ev[i].last_seen = e->last_seen;
			a->evidence_count++;
		}
	}
	portal_flush_front(p);          /* the front forgets older answers before it keeps this one */
	if (p->chan.open && portal_chan_send(&p->chan, a, PORTAL_ANSWER_LEN(a->evidence_count)) != 0)
		log_limited(&p->refusal_log, LOG_LEVEL_WARN, "portal: cannot answer the front (%s)", r->address);
	free(a);
	return 0;
}

/* Answers r by closing the visitor's connection (out of memory). */
static int
portal_close(struct portal_request *r)
{
	return portal_page(r, PORTAL_CLOSE, PAGE_OK, NULL);
}

static void
portal_info_base(const struct portal *p, const struct portal_request *r, struct page_info *in)
{
	memset(in, 0, sizeof(*in));
	in->now = time_now();
	in->address = r->address;
	in->subject = r->subject[0] ? r->subject : r->address;
	in->release_limit = p->set.self_release_limit;
	in->release_window = p->set.self_release_window;
	in->grace = p->set.grace;
}

static int
portal_history_each(void *arg, const struct store_history *e)
{
	struct portal_history *h = arg;
	bool in_window = e->time >= h->window_start;

	/* level changes only: an enforcer's note (a NAS's answer to a CoA) is no new quarantine,
	 * and must not void the release tokens of the page the subscriber has open */
	if (e->old_level != e->new_level)
		h->episode = (uint64_t)e->time;
	/* a self-release here ("portal") or, with a shared store, through another node's portal
	 * ("portal@gw2"): the limit is the subscriber's, wherever they release themselves */
	if (in_window && e->new_level == LEVEL_NORMAL && (strcmp(e->actor, PORTAL_ACTOR) == 0 ||
	    strncmp(e->actor, PORTAL_ACTOR "@", sizeof(PORTAL_ACTOR)) == 0))
		h->releases++;
	if (e->new_level >= LEVEL_QUARANTINE && e->old_level < LEVEL_QUARANTINE) {
		h->since = e->time;
		if (in_window && h->opened == 0)
			h->opened = e->time;
	}
	return 0;
}

/* The digest of subject's history; h->error says when the store could not read it. */
static void
portal_history_read(struct portal *p, const char *subject, struct portal_history *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	h->now = time_now();
	h->window_start = h->now - p->set.self_release_window;
	if (p->ctx.store != NULL &&
	    (rc = store_history_read(p->ctx.store, subject, PORTAL_HISTORY_MAX, portal_history_each, h)) < 0) {
		log_warnx("portal: host=%s history unreadable: %s", subject, strerror(-rc));
		h->error = rc;
	}
	if (h->opened == 0)
		h->opened = h->since;
}

/* The history digest of s from the cache when it may be, else from the store. */
static void
portal_history_cached(struct portal *p, const struct subject *s, const char *subject, struct portal_history *h)
{
	struct portal_cached *c = &p->cache[s->node.hash % PORTAL_CACHE_SLOTS];
	uint8_t flags = s->detail != NULL ? s->detail->manual_flags : 0;
	usec_t now = time_now();

	if (s->pending == 0 && c->at <= now && now - c->at < PORTAL_CACHE_TTL && c->level == s->level &&
	    c->target_level == s->target_level && c->manual_level == s->manual_level &&
	    c->manual_until == s->manual_until && c->manual_flags == flags && strcmp(c->subject, subject) == 0) {
		*h = c->h;
		return;
	}
	portal_history_read(p, subject, h);
	if (s->pending == 0 && h->error == 0) {
		snprintf(c->subject, sizeof(c->subject), "%s", subject);
		c->at = now;
		c->level = s->level;
		c->target_level = s->target_level;
		c->manual_level = s->manual_level;
		c->manual_until = s->manual_until;
		c->manual_flags = flags;
		c->h = *h;
	}
}

/* Gathers what the page of a quarantined or suspended subject shows (fresh: no cache). */
static void
portal_visit_read(struct portal *p, struct portal_request *r, struct subject *s, struct portal_visit *v,
    bool fresh)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	if (fresh)
		portal_history_read(p, r->subject, &v->h);
	else
		portal_history_cached(p, s, r->subject, &v->h);
	if (s->detail != NULL) {
		for (size_t i = 0; i < s->detail->evidence_count && v->ev_count < PORTAL_EVIDENCE_MAX; i++) {
			const struct evidence_item *e = &s->detail->evidence[i];
			if (e->summary[0] == '\0')
				continue;
			/* newest first */
			size_t k = v->ev_count++;
			while (k > 0 && v->ev[k - 1].last_seen < e->last_seen) {
				v->ev[k] = v->ev[k - 1];
				k--;
			}
			char family[REPORT_FAMILY_MAX];
			v->ev[k] = (struct page_evidence){ .kind = judge_kind_name(p->ctx.judge, e->kind),
			    .summary = e->summary, .count = judge_item_count(e), .first_seen = e->first_seen,
			    .last_seen = e->last_seen,
			    .advice = report_summary_family(e->summary, family, sizeof(family)) ?
			    pages_advice(p->pages, family) : NULL };
		}
	}
	usec_t now = time_now();
	enum judge_self_release who = judge_self_release(s, now);
	struct page_release_facts f = { .suspended = s->level == LEVEL_SUSPEND,
	    .operator_only = who == JUDGE_SELF_RELEASE_NO, .automatic = who == JUDGE_SELF_RELEASE_AUTO,
	    .releases_used = v->h.releases, .release_limit = p->set.self_release_limit, .since = v->h.since,
	    .min_quarantine = p->set.min_quarantine, .now = now };
	v->operator_only = f.operator_only;
	v->offer = page_release_offer(&f, &v->release_at);
	if (v->offer == PAGE_OFFER_ABUSE_DESK)
		page_case_id(r->subject, v->h.opened, v->case_id, sizeof(v->case_id));
}

/* The notice (511, or code) for a quarantined visitor: with a fresh token, or at the limit. */
static int
portal_notice(struct portal *p, struct portal_request *r, const struct portal_visit *v, unsigned code,
    const char *error)
{
	struct page_info in;
	char token[TOKEN_TEXT_MAX];

	portal_info_base(p, r, &in);
	in.level = v->s->level;
	in.since = v->h.since;
	in.evidence = v->ev;
	in.evidence_count = v->ev_count;
	in.releases_used = v->h.releases;
	in.error = error;
	if (code == PORTAL_HTTP_NOTICE)
		p->stats.notices++;
	in.min_quarantine = p->set.min_quarantine;
	if (v->offer == PAGE_OFFER_ABUSE_DESK) {
		in.case_id = v->case_id;
		in.by_operator = v->operator_only;
		return portal_page(r, code, PAGE_LIMIT, &in);
	}
	if (v->offer == PAGE_OFFER_LATER) {
		in.release_later = true;
		in.release_at = v->release_at;
		return portal_page(r, code, PAGE_NOTICE, &in);
	}
	in.token_expires = in.now + p->set.token_ttl;
	token_make(&p->key, r->address, v->h.episode, in.token_expires, token);
	in.token = token;
	return portal_page(r, code, PAGE_NOTICE, &in);
}

/* The flush due (portal_level_changed) to the front now, if any. */
static void
portal_flush_front(struct portal *p)
{
	struct portal_wire_flush m = { .magic = PORTAL_WIRE_MAGIC, .type = PORTAL_WIRE_FLUSH };

	if (!p->flush_due)
		return;
	p->flush_due = false;
	uv_check_stop(&p->flush_check);
	if (p->chan.open)
		(void)portal_chan_send(&p->chan, &m, sizeof(m));
}

static void
portal_flush_check(uv_check_t *h)
{
	portal_flush_front(h->data);
}

static void
portal_maybe_free(struct portal *p)
{
	if (p->stopping && !p->chan.closing && !p->timer_open && !p->check_open && p->front == NULL &&
	    p->jobs_pending == 0) {
		pages_free(p->pages);
		memset(&p->key, 0, sizeof(p->key));
		config_unref(p->ctx.cfg);
		free(p);
	}
}

static void
portal_recent_add(struct portal *p, const char *address, const char *token)
{
	struct portal_recent *e = &p->recent[p->recent_next++ % PORTAL_RECENT];

	snprintf(e->address, sizeof(e->address), "%s", address);
	snprintf(e->token, sizeof(e->token), "%s", token);
	e->until = time_now() + p->set.token_ttl;
}

static bool
portal_recent_find(const struct portal *p, const char *address, const char *token)
{
	usec_t now = time_now();

	for (size_t i = 0; i < PORTAL_RECENT; i++) {
		const struct portal_recent *e = &p->recent[i];
		if (e->until > now && strcmp(e->address, address) == 0 && strcmp(e->token, token) == 0)
			return true;
	}
	return false;
}

static int portal_release_answer(struct portal *p, struct portal_request *r);

/* The store's verdict on a self-release: grace on success, and answer whoever waits. */
static void
portal_job_done(void *arg, int status)
{
	struct portal_job *job = arg;
	struct portal *p = job->p;
	struct judge *j = p->ctx.judge;
	struct subject *s = subjects_find(judge_subjects(j), job->subject, strlen(job->subject));
	char window[48];

	/* on this node's disk, in force everywhere once the shared store is reachable again */
	if (status == STORE_QUEUED)
		status = 0;
	for (struct portal_job **pp = &p->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			break;
		}
	p->jobs_pending--;
	if (s != NULL)
		p->cache[s->node.hash % PORTAL_CACHE_SLOTS].at = 0;     /* its history changed */
	if (status == 0) {
		p->stats.self_releases++;
		log_info("portal: host=%s address=%s released itself (%u of %u in %s)", job->subject, job->address,
		    job->used_before + 1, p->set.self_release_limit,
		    page_duration(p->set.self_release_window, window, sizeof(window)));
		if (job->used_before + 1 >= p->set.self_release_limit)
			log_info("portal: host=%s reached the self-release limit; next time only the abuse desk "
			    "releases it (case=%s)", job->subject, job->case_id);
	} else {
		log_warnx("portal: host=%s self-release not committed (store error %d)", job->subject, status);
		if (s != NULL)
			judge_set_grace(j, s, job->old_grace);
	}
	while (job->waiters != NULL) {
		struct portal_request *w = job->waiters;
		job->waiters = w->next_waiter;
		w->next_waiter = NULL;
		w->job = NULL;
		w->done = true;
		w->status = status;
		if (status == 0)
			portal_recent_add(p, w->address, w->token);
		if (w->suspended) {
			w->suspended = false;
			p->waiting--;
			portal_release_answer(p, w);
			free(w);
		}
	}
	free(job);
	portal_maybe_free(p);
}

/* After the verdict: the released page, or the notice with what went wrong. */
static int
portal_release_answer(struct portal *p, struct portal_request *r)
{
	struct subject *s = subjects_find(judge_subjects(p->ctx.judge), r->subject, strlen(r->subject));
	struct page_info in;
	struct portal_history h;

	if (s != NULL && s->level >= LEVEL_QUARANTINE) {
		struct portal_visit v;
		portal_visit_read(p, r, s, &v, true);
		return portal_notice(p, r, &v, r->status == 0 ? PORTAL_HTTP_NOTICE :
		    PORTAL_HTTP_UNAVAILABLE, r->status == 0 ? NULL :
		    "Your release could not be saved just now. Nothing has changed; please try again in a minute.");
	}
	portal_info_base(p, r, &in);
	portal_history_read(p, r->subject, &h);
	in.level = s ? s->level : LEVEL_NORMAL;
	in.releases_used = h.releases;
	return portal_page(r, PORTAL_HTTP_OK, PAGE_RELEASED, &in);
}

static struct portal_job *
portal_job_find(struct portal *p, const char *subject)
{
	for (struct portal_job *job = p->jobs; job != NULL; job = job->next)
		if (strcmp(job->subject, subject) == 0)
			return job;
	return NULL;
}

static void
portal_job_wait(struct portal_job *job, struct portal_request *r)
{
	r->job = job;
	r->next_waiter = job->waiters;
	job->waiters = r;
}

static bool
portal_read_token(struct portal_request *r)
{
	return r->has_token && r->token[0] != '\0';
}

/*
 * A release the rules do not allow (suspended, an operator's quarantine, the limit, too
 * early): 403 with the page that says why, and a line in the log, rate-limited.
 */
static int
portal_release_refused(struct portal *p, struct portal_request *r, const struct portal_visit *v)
{
	char msg[256], when[32], stamp[40];
	const char *why;

	if (v->offer == PAGE_OFFER_LATER) {
		if (v->release_at > 0)
			snprintf(msg, sizeof(msg), "It is too early to restore this connection yourself: the button "
			    "to do so is offered from %s. Do the steps below meanwhile.",
			    page_time(v->release_at, when, sizeof(when)));
		else
			snprintf(msg, sizeof(msg), "It is too early to restore this connection yourself. Do the "
			    "steps below meanwhile and load this page again later.");
		log_limited(&p->refusal_log, LOG_LEVEL_INFO, "portal: host=%s address=%s release refused: too early "
		    "(automatic quarantine since %s, min_quarantine not over)", r->subject, r->address,
		    v->h.since > 0 ? time_format(v->h.since, stamp, sizeof(stamp)) : "unknown");
		return portal_notice(p, r, v, PORTAL_HTTP_FORBIDDEN, msg);
	}
	if (v->s->level == LEVEL_SUSPEND)
		why = "suspended";
	else if (v->operator_only)
		why = "operator quarantine";
	else
		why = "self-release limit reached";
	log_limited(&p->refusal_log, LOG_LEVEL_INFO, "portal: host=%s address=%s release refused: %s case=%s",
	    r->subject, r->address, why, v->case_id);
	return portal_notice(p, r, v, PORTAL_HTTP_FORBIDDEN, v->s->level == LEVEL_SUSPEND ?
	    "This connection was suspended by our abuse desk: only they can restore it." : v->operator_only ?
	    "Our abuse desk restricted this connection: only they can restore it. Contact them with your "
	    "case number." :
	    "You have used every self-release allowed: only our abuse desk can restore this connection now.");
}

/* POST /release from a quarantined visitor. */
static int
portal_release(struct portal *p, struct portal_request *r, struct portal_visit *v)
{
	struct judge *j = p->ctx.judge;
	struct subject *s = v->s;
	struct portal_job *job;
	int rc;

	/*
	 * A second press while the first is being saved shares its verdict. Checked first:
	 * the store's reader may already see the release (a new episode, one more release
	 * counted) before its commit reaches us on the loop.
	 */
	if ((job = portal_job_find(p, r->subject)) != NULL) {
		if (!portal_read_token(r) ||
		    token_check(&p->key, r->address, job->episode, r->token, strlen(r->token), time_now()) != TOKEN_OK) {
			p->stats.refused_releases++;
			return portal_notice(p, r, v, PORTAL_HTTP_FORBIDDEN, "A release of this connection is being saved "
			    "just now. Load this page again in a moment.");
		}
		log_debug("portal: host=%s address=%s waits for the release in flight", r->subject, r->address);
		portal_job_wait(job, r);
		r->suspended = true;
		p->waiting++;
		return 0;
	}
	/* Releases are counted in the history: one that cannot be read cannot be counted,
	 * and a limit counted as 0 would be no limit. */
	if (v->h.error != 0) {
		p->stats.refused_releases++;
		log_limited(&p->refusal_log, LOG_LEVEL_WARN, "portal: host=%s address=%s release refused: its "
		    "history cannot be read, so its self-releases cannot be counted", r->subject, r->address);
		return portal_notice(p, r, v, PORTAL_HTTP_UNAVAILABLE, "Your connection's record cannot be "
		    "read just now, so it cannot be released from here. Nothing has changed; please try again in "
		    "a few minutes, or contact our support.");
	}
	if (v->offer != PAGE_OFFER_BUTTON) {
		/* whatever the token: a script that kept one cannot outlast the rule */
		p->stats.refused_releases++;
		return portal_release_refused(p, r, v);
	}
	rc = TOKEN_INVALID;
	if (portal_read_token(r))
		rc = token_check(&p->key, r->address, v->h.episode, r->token, strlen(r->token), time_now());
	if (rc != TOKEN_OK) {
		p->stats.refused_releases++;
		log_limited(&p->refusal_log, LOG_LEVEL_INFO, "portal: host=%s address=%s release refused: %s token",
		    r->subject, r->address, rc == TOKEN_EXPIRED ? "expired" : "invalid");
		return portal_notice(p, r, v, PORTAL_HTTP_FORBIDDEN, rc == TOKEN_EXPIRED ?
		    "The page you used is too old: its button works for a limited time only. "
		    "Read the steps below again and press the button on this fresh page." :
		    "The button you pressed was not made for this connection, or this quarantine, "
		    "or it was altered. Read the steps below and press the button on this page.");
	}
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return portal_close(r);
	job->p = p;
	snprintf(job->subject, sizeof(job->subject), "%s", r->subject);
	snprintf(job->address, sizeof(job->address), "%s", r->address);
	page_case_id(r->subject, v->h.opened, job->case_id, sizeof(job->case_id));
	job->used_before = v->h.releases;
	job->episode = v->h.episode;
	job->old_grace = s->detail != NULL ? s->detail->grace_until : 0;
	p->cache[s->node.hash % PORTAL_CACHE_SLOTS].at = 0;
	job->next = p->jobs;
	p->jobs = job;
	p->jobs_pending++;
	portal_job_wait(job, r);
	/* grace first, so no evidence arriving before the commit quarantines it again */
	if (judge_set_grace(j, s, time_now() + p->set.grace) != 0 ||
	    (rc = judge_release(j, s, PORTAL_RELEASE_REASON, PORTAL_ACTOR, portal_job_done, job)) != 0) {
		/* done is never called: undo by hand */
		judge_set_grace(j, s, job->old_grace);
		p->jobs = job->next;
		p->jobs_pending--;
		free(job);
		r->job = NULL;
		r->next_waiter = NULL;
		return portal_notice(p, r, v, PORTAL_HTTP_UNAVAILABLE,
		    "Your release could not be saved just now. Nothing has changed; please try again in a minute.");
	}
	if (r->done)       /* committed at once (a judge without a store) */
		return portal_release_answer(p, r);
	r->suspended = true;
	p->waiting++;
	return 0;
}

static int
portal_route(struct portal *p, struct portal_request *r)
{
	struct judge *j = p->ctx.judge;
	bool post = r->method == PORTAL_METHOD_POST;
	bool get = r->method == PORTAL_METHOD_GET;
	struct subject *s;
	struct page_info in;

	s = judge_lookup(j, r->address);
	if (s != NULL) {
		memcpy(r->subject, s->key, s->key_len);
		r->subject[s->key_len] = '\0';
	}
	if (s == NULL || s->level < LEVEL_QUARANTINE) {
		portal_info_base(p, r, &in);
		in.level = s ? s->level : LEVEL_NORMAL;
		if (!get && !post)
			return portal_page(r, PORTAL_HTTP_NOT_ALLOWED, PAGE_OK, &in);
		if (post && r->release) {
			if (portal_read_token(r) && portal_recent_find(p, r->address, r->token))
				return portal_release_answer(p, r);    /* pressed again: same answer */
			p->stats.refused_releases++;
			in.error = "There is nothing to release: this connection is not restricted.";
			return portal_page(r, PORTAL_HTTP_FORBIDDEN, PAGE_OK, &in);
		}
		p->stats.not_quarantined++;
		return portal_page(r, PORTAL_HTTP_OK, PAGE_OK, &in);
	}
	struct portal_visit v;
	bool release = post && r->release;
	portal_visit_read(p, r, s, &v, release);
	if (release)
		return portal_release(p, r, &v);
	/* RFC 6585 §6: every path, every method, captive-portal probes included */
	return portal_notice(p, r, &v, PORTAL_HTTP_NOTICE, NULL);
}

/* A message from the front: a query to answer, its counters, or the end of the channel. */
static void
portal_on_message(void *arg, const void *msg, size_t len)
{
	struct portal *p = arg;
	struct portal_query q;
	struct portal_request *r;
	char why[128];

	if (len == 0) {
		/* the front is gone (its exit is reaped by portal_child_exited, which restarts it) */
		log_debug("portal: the channel to the front closed");
		return;
	}
	if (len == sizeof(struct portal_wire_stats) &&
	    ((const struct portal_wire_stats *)msg)->magic == PORTAL_WIRE_MAGIC &&
	    ((const struct portal_wire_stats *)msg)->type == PORTAL_WIRE_STATS) {
		memcpy(&p->stats.http, &((const struct portal_wire_stats *)msg)->http, sizeof(p->stats.http));
		return;
	}
	if (portal_wire_query_check(msg, len, why, sizeof(why)) != 0) {
		/* the front parses what every subscriber sends: it may have been taken over */
		log_limited(&p->refusal_log, LOG_LEVEL_WARN, "portal: refused a message from the front: %s", why);
		return;
	}
	memcpy(&q, msg, sizeof(q));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	r->p = p;
	r->id = q.id;
	r->method = q.method;
	r->release = q.release;
	r->has_token = q.has_token;
	snprintf(r->address, sizeof(r->address), "%s", q.address);
	snprintf(r->token, sizeof(r->token), "%s", q.token);
	portal_route(p, r);
	if (!r->suspended)
		free(r);
}

/* Templates and secret for ps: both ready, or neither (err says why). */
static int
portal_prepare(const struct portal_settings *ps, struct pages **pages, struct token_key *key, char *err,
    size_t errlen)
{
	char why[512];

	if ((*pages = pages_load(ps->templates, ps->url, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "portal templates: %s", why);
		return -1;
	}
	if (ps->secret_file[0] != '\0' ? token_key_from_file(key, ps->secret_file, why, sizeof(why)) != 0 :
	    token_key_random(key) != 0) {
		snprintf(err, errlen, "portal: %s", ps->secret_file[0] ? why : "no random numbers for the secret");
		pages_free(*pages);
		*pages = NULL;
		return -1;
	}
	return 0;
}

static void
portal_chan_closed(void *arg)
{
	portal_maybe_free(arg);
}

/* Closes every descriptor but stdio and the two given. */
static void
close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0u, 0);
}

static void
front_gone_exit(void *arg)
{
	uv_stop(arg);
}

/*
 * The front's process, after the fork: nothing of the main process's but the
 * listening socket, the channel and stdio; its own loop; a filter that allows no
 * open() (the pages were loaded before the fork), so it can reach neither the store
 * nor any other file. It lives until the channel closes or a signal ends it.
 */
static void __attribute__((noreturn))
portal_front_main(struct portal *p, int fd)
{
	const struct config *cfg = p->ctx.cfg;
	char err[256];
	sigset_t none;
	uv_loop_t loop;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGINT, SIG_IGN);        /* ^C reaches the main process, which closes our channel */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	int lfd = dup(p->listen_fd);    /* libmicrohttpd closes its socket when it stops */
	close_all_but(lfd, fd);
	prctl(PR_SET_NAME, "lazaretd-portal", 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() == 1)
		_exit(0);                   /* the main process is already gone */
	log_init("lazaretd-portal", cfg != NULL && cfg->daemon.syslog, log_get_level());
	if (lfd < 0 || uv_loop_init(&loop) != 0)
		_exit(1);
	struct portal_front *f = portal_front_start(&loop, lfd, fd, &p->set, p->pages, front_gone_exit, &loop,
	    err, sizeof(err));
	if (f == NULL) {
		log_warnx("%s", err);
		_exit(1);
	}
	/* glibc's strftime (the pages' dates, our log lines) loads the time zone on first
	 * use by opening /etc/localtime, which the filter kills us for: when the main
	 * process had not yet loaded it before the fork (log_level = warn, nothing logged
	 * yet) the first notice page took the front down. Load it while we may. */
	tzset();
	if (sandbox_seccomp(SANDBOX_PORTAL, cfg != NULL ? cfg->daemon.seccomp : SECCOMP_MODE_KILL, err, sizeof(err)) != 0) {
		log_warnx("portal: %s", err);
		_exit(1);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(0);
}

/* Starts the front: in a process of its own (lazaretd), or on our loop (tests). 0 or -1 with err. */
static int
portal_front_spawn(struct portal *p, char *err, size_t errlen)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "portal: socketpair: %s", strerror(errno));
		return -1;
	}
	if (p->ctx.own_process) {
		log_flush();
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			snprintf(err, errlen, "portal: fork: %s", strerror(errno));
			close(sv[0]);
			close(sv[1]);
			return -1;
		}
		if (pid == 0) {
			log_buffer(false);       /* the parent's lines are its own */
			close(sv[0]);
			portal_front_main(p, sv[1]);
		}
		close(sv[1]);
		p->front_pid = pid;
	} else {
		int lfd = dup(p->listen_fd);
		if (lfd < 0 || (p->front = portal_front_start(p->loop, lfd, sv[1], &p->set, p->pages, NULL, NULL,
		    err, errlen)) == NULL) {
			if (lfd >= 0)
				close(lfd);
			close(sv[0]);
			return -1;
		}
	}
	if (portal_chan_open(&p->chan, p->loop, sv[0], portal_on_message, p) != 0) {
		snprintf(err, errlen, "portal: cannot watch the channel to the front");
		close(sv[0]);
		return -1;
	}
	p->chan.on_closed = portal_chan_closed;
	return 0;
}

static void
portal_restart(uv_timer_t *t)
{
	struct portal *p = t->data;
	char err[256];

	if (p->stopping || p->front_pid > 0 || p->front != NULL)
		return;
	if (p->chan.open || p->chan.closing) {    /* the old channel's handle is still closing */
		uv_timer_start(&p->restart_timer, portal_restart, 10, 0);
		return;
	}
	if (portal_front_spawn(p, err, sizeof(err)) != 0) {
		log_warnx("%s; trying again in %d s", err, PORTAL_RESTART_DELAY / 1000);
		uv_timer_start(&p->restart_timer, portal_restart, PORTAL_RESTART_DELAY, 0);
		return;
	}
	if (p->front_pid > 0)
		log_info("portal: front process pid %d started", (int)p->front_pid);
}

bool
portal_child_exited(struct portal *p, pid_t pid, int status)
{
	char how[64];

	if (p == NULL || pid != p->front_pid || pid <= 0)
		return false;
	p->front_pid = -1;
	portal_chan_close(&p->chan);
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "died of signal %d%s", WTERMSIG(status),
		    WTERMSIG(status) == SIGSYS ? " (a system call outside its seccomp filter)" : "");
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	if (p->stopping) {
		log_debug("portal: front process pid %d %s", (int)pid, how);
		portal_maybe_free(p);
		return true;
	}
	usec_t now = time_mono();
	if (now - p->restart_window > 60 * USEC_PER_SEC) {
		p->restart_window = now;
		p->restarts = 0;
	}
	/* SIGTERM from outside (systemctl stop signals every process of the unit): the
	 * main process's own is on its way, and stops the portal before this timer fires */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) {
		log_info("portal: front process pid %d stopped by SIGTERM; a new one in %d ms unless lazaretd "
		    "stops too", (int)pid, PORTAL_TERM_GRACE);
		uv_timer_start(&p->restart_timer, portal_restart, PORTAL_TERM_GRACE, 0);
		return true;
	}
	bool soon = ++p->restarts <= PORTAL_RESTART_BURST;
	log_warnx("portal: front process pid %d %s; starting a new one%s (enforcement and the relay's answers "
	    "go on meanwhile)", (int)pid, how, soon ? "" : " in 5 s: it keeps dying");
	uv_timer_start(&p->restart_timer, portal_restart, soon ? 0 : PORTAL_RESTART_DELAY, 0);
	return true;
}

static void
portal_check_closed(uv_handle_t *h)
{
	struct portal *p = h->data;

	p->check_open = false;
	portal_maybe_free(p);
}

static void
portal_timer_closed(uv_handle_t *h)
{
	struct portal *p = h->data;

	p->timer_open = false;
	portal_maybe_free(p);
}

struct portal *
portal_start_with(uv_loop_t *loop, const struct portal_context *ctx, const struct portal_settings *ps,
    char *err, size_t errlen)
{
	struct portal *p = calloc(1, sizeof(*p));
	const struct listen_addr *la = &ps->listen;
	char name[128];

	if (p == NULL) {
		snprintf(err, errlen, "portal: out of memory");
		return NULL;
	}
	p->loop = loop;
	p->ctx = *ctx;
	p->set = *ps;
	p->front_pid = -1;
	p->listen_fd = -1;
	p->refusal_log = (struct log_limit)LOG_LIMIT_INIT(PORTAL_LOG_BURST, PORTAL_LOG_INTERVAL);
	if (la->kind != LISTEN_TCP) {
		snprintf(err, errlen, "portal listen: expected ADDRESS:PORT or [IPV6]:PORT");
		free(p);
		return NULL;
	}
	if (portal_prepare(ps, &p->pages, &p->key, err, errlen) != 0) {
		free(p);
		return NULL;
	}
	listen_addr_format(la, name, sizeof(name));
	if ((p->listen_fd = ctx->listen_fd > 0 ? ctx->listen_fd : httpd_listen_socket(la, err, errlen)) < 0) {
		pages_free(p->pages);
		free(p);
		return NULL;
	}
	config_ref(p->ctx.cfg);              /* dropped where p is freed (portal_maybe_free) */
	uv_timer_init(loop, &p->restart_timer);
	p->restart_timer.data = p;
	p->timer_open = true;
	uv_check_init(loop, &p->flush_check);
	p->flush_check.data = p;
	p->check_open = true;
	p->restart_window = time_mono();
	if (portal_front_spawn(p, err, errlen) != 0) {
		close(p->listen_fd);
		pages_free(p->pages);
		p->stopping = true;
		uv_close((uv_handle_t *)&p->flush_check, portal_check_closed);
		uv_close((uv_handle_t *)&p->restart_timer, portal_timer_closed);   /* frees p */
		return NULL;
	}
	log_info("portal listening on http://%s/ (templates %s; at most %u connections, %u per address, "
	    "a request within %llds%s)", name, ps->templates, ps->max_connections, ps->per_ip_connections,
	    (long long)(ps->request_timeout / USEC_PER_SEC), p->ctx.own_process ? "; HTTP in its own process" : "");
	if (p->front_pid > 0)
		log_info("portal: front process pid %d: no store, no secret, no open(), no capabilities",
		    (int)p->front_pid);
	return p;
}

struct portal *
portal_start(uv_loop_t *loop, const struct portal_context *ctx, char *err, size_t errlen)
{
	struct portal_settings ps;

	portal_settings_from_config(ctx->cfg, &ps);
	return portal_start_with(loop, ctx, &ps, err, errlen);
}

/* A new front with the current settings and pages: the old one is told to go. */
static void
portal_front_replace(struct portal *p)
{
	if (p->front != NULL) {
		portal_front_stop(p->front);
		p->front = NULL;
	}
	if (p->front_pid > 0) {
		kill(p->front_pid, SIGTERM);
		p->front_pid = -1;          /* its exit is not a crash */
	}
	portal_chan_close(&p->chan);
	/* the channel's handle closes with the next loop turn: the restart waits for it */
	uv_timer_start(&p->restart_timer, portal_restart, 0, 0);
}

int
portal_configure_with(struct portal *p, const struct config *cfg, const struct portal_settings *ps,
    char *err, size_t errlen)
{
	struct pages *pages;
	struct token_key key;

	if (portal_prepare(ps, &pages, &key, err, errlen) != 0)
		return -1;
	if (memcmp(&ps->listen, &p->set.listen, sizeof(ps->listen)) != 0)
		log_warnx("portal: the listen address changes only on restart");
	if (ps->max_connections != p->set.max_connections || ps->per_ip_connections != p->set.per_ip_connections)
		log_warnx("portal: max_connections and max_connections_per_address change only on restart");
	/* a random secret stays: tokens on pages already shown keep working */
	if (ps->secret_file[0] != '\0' || p->set.secret_file[0] != '\0')
		p->key = key;
	config_unref(p->ctx.cfg);
	p->ctx.cfg = config_ref(cfg);
	struct listen_addr keep = p->set.listen;
	unsigned keep_max = p->set.max_connections, keep_per_ip = p->set.per_ip_connections;
	p->set = *ps;
	p->set.listen = keep;
	p->set.max_connections = keep_max;
	p->set.per_ip_connections = keep_per_ip;
	/* the front renders the new templates: a new front, with them (the old pages go with the old one) */
	struct pages *old = p->pages;
	p->pages = pages;
	portal_front_replace(p);
	pages_free(old);        /* the old front stopped rendering; a process of its own has its copy */
	return 0;
}

void
portal_configure(struct portal *p, const struct config *cfg)
{
	struct portal_settings ps;
	char err[1024];

	portal_settings_from_config(cfg, &ps);
	if (portal_configure_with(p, cfg, &ps, err, sizeof(err)) != 0)
		log_warnx("reload: %s; the portal keeps its running templates and secret", err);
}

unsigned
portal_waiting(const struct portal *p)
{
	return p->waiting;
}

const struct portal_stats *
portal_stats(const struct portal *p)
{
	return &p->stats;
}

/*
 * portal_stop — the front goes (its process is told to, or it stops on our loop), the
 * channel closes. Requests still waiting for a verdict have their releases committed;
 * the portal's memory goes when the last one has.
 */
void
portal_stop(struct portal *p)
{
	if (p == NULL || p->stopping)
		return;
	p->stopping = true;
	for (struct portal_job *job = p->jobs; job != NULL; job = job->next)
		while (job->waiters != NULL) {
			struct portal_request *w = job->waiters;
			job->waiters = w->next_waiter;
			if (w->suspended)
				p->waiting--;
			free(w);
		}
	if (p->front != NULL) {
		portal_front_stop(p->front);
		p->front = NULL;
	}
	if (p->front_pid > 0)
		kill(p->front_pid, SIGTERM);
	portal_chan_close(&p->chan);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	p->listen_fd = -1;
	uv_timer_stop(&p->restart_timer);
	uv_close((uv_handle_t *)&p->flush_check, portal_check_closed);
	uv_close((uv_handle_t *)&p->restart_timer, portal_timer_closed);
}

/*
 * portal_level_changed — the front is told to forget its answers once per turn of the loop
 * however many levels changed in it (a feed of thousands of verdicts is one message, not
 * thousands), at the end of the turn or before any answer goes to it, whichever is first:
 * no answer the front keeps is older than the newest change.
 */
void
portal_level_changed(struct portal *p)
{
	if (p == NULL || p->stopping || p->flush_due)
		return;
	p->flush_due = true;
	uv_check_start(&p->flush_check, portal_flush_check);
}
