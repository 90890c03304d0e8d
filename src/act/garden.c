/*
 * garden.c — quarantine in the network, driven by the judge; see garden.h.
 *
 * Loop thread: the wanted set (every quarantined host, with whether the last applied
 * batch put it in the kernel), the queue of changes, the timers. Worker (one libuv
 * work request at a time, so the backend is never used by two threads at once): the
 * backend call and nothing else. The two share only the job, which the loop does not
 * touch while it is out.
 */
#include "act/garden.h"
#include "ident/ident.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "act/enforce.h"
#include "act/enforce_priv.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"

#define GARDEN_RETRY_MIN_MS   1000
#define GARDEN_RETRY_MAX_MS   60000

const double garden_latency_bounds_us[GARDEN_LATENCY_BUCKETS - 1] = {
	1e3, 5e3, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 5e6,
};

/* One quarantined host in the wanted set: an IPv4 address or the /64 of an IPv6 one. */
/* A host the judge wants in the garden, in the wanted set (common/htable). */
struct wanted {
	struct htable_node node; /* node.hash: net_hash() */
	struct cidr net;
	bool in_kernel;         /* added by a batch that succeeded */
};

struct change {
	struct cidr net;
	bool add;
	usec_t queued;          /* time_mono() when the judge reported it */
};

enum job_kind { JOB_APPLY, JOB_REBUILD, JOB_SETUP };

/* What one worker run does and what it found. */
struct job {
	enum job_kind kind;
	struct enforce_config ecfg;       /* JOB_SETUP */
	struct enforce_entry *add;        /* JOB_APPLY: the additions; JOB_REBUILD/SETUP: everything */
	size_t nadd;
	struct cidr *del;
	size_t ndel;
	usec_t oldest;                    /* JOB_APPLY: when its oldest change was queued */
	int rc;
	double seconds;
	char err[512];
};

struct garden {
	uv_loop_t *loop;
	const struct config *cfg;
	struct judge *judge;
	const struct enforcer_ops *ops;
	void *be;
	bool nftables;                    /* the nftables backend (not the logging one) */
	struct enforce_config ecfg;       /* what the kernel was last set up with */
	struct enforce_config want_ecfg;  /* what it should be set up with (config, resolved names) */
	bool ecfg_stale;                  /* the ruleset must be set up again: want_ecfg changed */
	uint64_t generation;              /* configurations seen: a lookup of an older one is dropped */

	struct htable set;                /* struct wanted: every host the judge wants isolated */
	struct htable groups;             /* struct group: the set's IPv6 /64s counted per /56 */
	size_t hosts_quarantined;         /* host subjects (not subscribers) at quarantine or above */
	struct log_limit wide_log;        /* networks held that the sets cannot hold */

	struct change *queue;
	size_t queue_len, queue_cap;

	bool rebuild_wanted;
	bool busy;                        /* a job is out on the worker */
	bool stopping;
	uv_work_t work;
	struct job *job;
	uint64_t retry_ms;

	uv_timer_t refresh_timer, retry_timer, resolve_timer;
	bool timers_started;
	size_t resolving;                 /* name lookups in flight */
	struct garden_stats stats;
};

static void garden_kick(struct garden *g);
static void on_retry(uv_timer_t *t);

/* ---- the wanted set ---- */

static uint64_t
net_hash(const struct cidr *n)
{
	size_t len = n->addr.family == AF_INET ? 4 : 8;    /* a /64: its first 8 bytes */

	return hash_bytes(n->addr.bytes, len) ^ (uint64_t)n->addr.family;
}

static bool
net_equal(const struct cidr *a, const struct cidr *b)
{
	return a->addr.family == b->addr.family && a->prefix == b->prefix &&
	    memcmp(a->addr.bytes, b->addr.bytes, 16) == 0;
}

/* The wanted entry of net, or NULL. */
static struct wanted *
set_find(const struct garden *g, const struct cidr *net)
{
	uint32_t h = (uint32_t)net_hash(net);

	for (struct htable_node *n = htable_first(&g->set, h); n != NULL; n = htable_next(n, h)) {
		struct wanted *w = htable_entry(n, struct wanted, node);
		if (net_equal(&w->net, net))
			return w;
	}
	return NULL;
}

/*
 * The set's IPv6 elements counted per /56: a subscriber's Start or Stop on a delegated
 * prefix asks whether any of its 256 /64s is in the set, or may have to be, in one lookup
 * instead of 256 (issue 10's reconnect storm spent most of its time there).
 */
struct group {
	struct htable_node node;
	uint8_t key[7];
	uint32_t count;
};

static struct group *
group_find(const struct garden *g, const uint8_t bytes[16])
{
	uint32_t h = (uint32_t)hash_bytes(bytes, 7);

	for (struct htable_node *n = htable_first(&g->groups, h); n != NULL; n = htable_next(n, h)) {
		struct group *gr = htable_entry(n, struct group, node);
		if (memcmp(gr->key, bytes, 7) == 0)
			return gr;
	}
	return NULL;
}

/* One more (delta 1) or one less (-1) element of the set in net's /56; IPv6 only. */
static void
group_count(struct garden *g, const struct cidr *net, int delta)
{
	struct group *gr;

	if (net->addr.family != AF_INET6)
		return;
	if ((gr = group_find(g, net->addr.bytes)) == NULL) {
		if (delta < 0 || (gr = calloc(1, sizeof(*gr))) == NULL) {
			g->rebuild_wanted = g->rebuild_wanted || delta > 0;
			return;
		}
		memcpy(gr->key, net->addr.bytes, 7);
		gr->node.hash = (uint32_t)hash_bytes(gr->key, 7);
		htable_add(&g->groups, &gr->node);
	}
	if (delta > 0)
		gr->count++;
	else if (--gr->count == 0) {
		htable_del(&g->groups, &gr->node);
		free(gr);
	}
}

/* How many of the set's elements lie in net's /56 (IPv6). */
static uint32_t
group_of(const struct garden *g, const struct cidr *net)
{
	const struct group *gr = group_find(g, net->addr.bytes);

	return gr != NULL ? gr->count : 0;
}

/* The host a subject key names as a set element, or -1 when it cannot be one. */
static int
host_element(const char *key, struct cidr *out)
{
	if (cidr_parse(key, out) != 0)
		return -1;
	if (out->addr.family == AF_INET ? out->prefix != 32 : out->prefix != 64)
		return -1;
	return 0;
}

/* ---- the enforcement configuration ---- */

static void
dest_add(struct enforce_config *e, const struct cidr *net, const struct remediation_conf *r)
{
	if (e->remediation_count >= ENFORCE_MAX_LIST)
		return;
	struct enforce_dest *d = &e->remediation[e->remediation_count++];
	d->net = *net;
	d->port = r->port;
	d->proto = r->proto;
}

/*
 * Resolves name (blocking; the loop thread only at start) into e's remediation list.
 * Returns the number of addresses added.
 */
static size_t
resolve_into(struct enforce_config *e, const struct remediation_conf *r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	size_t n = 0;
	int rc;

	if ((rc = getaddrinfo(r->name, NULL, &hints, &res)) != 0) {
		log_warnx("enforce: remediation %s: cannot resolve: %s; tried again in the next resolve_interval",
		    r->name, gai_strerror(rc));
		return 0;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		struct cidr net = { 0 };
		if (ai->ai_family == AF_INET) {
			net.addr.family = AF_INET;
			memcpy(net.addr.bytes, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
			net.prefix = 32;
		} else if (ai->ai_family == AF_INET6) {
			net.addr.family = AF_INET6;
			memcpy(net.addr.bytes, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
			net.prefix = 128;
		} else
			continue;
		bool seen = false;
		for (size_t i = 0; i < e->remediation_count && !seen; i++)
			seen = net_equal(&e->remediation[i].net, &net) && e->remediation[i].port == r->port &&
			    e->remediation[i].proto == r->proto;
		if (!seen) {
			dest_add(e, &net, r);
			n++;
		}
	}
	freeaddrinfo(res);
	return n;
}

/*
 * cfg's [enforce] as the backend wants it, except the remediation destinations given
 * by name (those follow, in their order, from resolve_into).
 */
static void
build_enforce_config(const struct config *cfg, struct enforce_config *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->table, sizeof(e->table), "%s", cfg->enforce.table);
	for (size_t i = 0; i < cfg->network.subscriber_count && i < ENFORCE_MAX_LIST; i++)
		e->subscribers[e->subscriber_count++] = cfg->network.subscribers[i];
	for (size_t i = 0; i < cfg->network.relay_count && i < ENFORCE_MAX_LIST; i++)
		e->relays[e->relay_count++] = cfg->network.relays[i];
	for (size_t i = 0; i < cfg->enforce.resolver_count && i < ENFORCE_MAX_LIST; i++)
		e->resolvers[e->resolver_count++] = cfg->enforce.resolvers[i];
	for (size_t i = 0; i < cfg->enforce.remediation_count; i++)
		if (cfg->enforce.remediation[i].name[0] == '\0')
			dest_add(e, &cfg->enforce.remediation[i].net, &cfg->enforce.remediation[i]);
	e->portal_v4 = cfg->enforce.portal_v4;
	e->portal_v6 = cfg->enforce.portal_v6;
	e->portal_port = cfg->enforce.portal_port;
	e->element_timeout = cfg->enforce.element_timeout;
}

/* The remediation entries of cfg given by name, copied (a worker resolves them). */
static size_t
copy_names(const struct config *cfg, struct remediation_conf **out)
{
	size_t n = 0;

	*out = NULL;
	for (size_t i = 0; i < cfg->enforce.remediation_count; i++)
		n += cfg->enforce.remediation[i].name[0] != '\0';
	if (n == 0 || (*out = calloc(n, sizeof(**out))) == NULL)
		return 0;
	n = 0;
	for (size_t i = 0; i < cfg->enforce.remediation_count; i++)
		if (cfg->enforce.remediation[i].name[0] != '\0')
			(*out)[n++] = cfg->enforce.remediation[i];
	return n;
}

static void
resolve_names(struct enforce_config *e, const struct remediation_conf *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		resolve_into(e, &names[i]);
	if (e->remediation_count >= ENFORCE_MAX_LIST)
		log_warnx("enforce: more than %d remediation destinations; the rest are left out", ENFORCE_MAX_LIST);
}

static bool
enforce_config_equal(const struct enforce_config *a, const struct enforce_config *b)
{
	/* built from zeroed memory field by field: padding and unused slots are zero */
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* ---- jobs ---- */

static void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	free(job->add);
	free(job->del);
	free(job);
}

/* Runs on the worker (or, at start and stop, on the loop thread). */
static void
job_run(struct garden *g, struct job *job)
{
	usec_t t0 = time_mono();

	job->err[0] = '\0';
	switch (job->kind) {
	case JOB_APPLY:
		job->rc = g->ops->apply(g->be, job->add, job->nadd, job->del, job->ndel, job->err, sizeof(job->err));
		break;
	case JOB_REBUILD:
		job->rc = g->ops->reconcile(g->be, job->add, job->nadd, job->err, sizeof(job->err));
		break;
	case JOB_SETUP:
		job->rc = g->ops->setup(g->be, &job->ecfg, job->add, job->nadd, job->err, sizeof(job->err));
		break;
	}
	job->seconds = (double)(time_mono() - t0) / 1e6;
}

static void
work_cb(uv_work_t *w)
{
	struct garden *g = w->data;
	job_run(g, g->job);
}

/* Marks the job's additions (or, for a rebuild, every wanted host) as in the kernel. */
static void
mark_in_kernel(struct garden *g, const struct job *job)
{
	if (job->kind != JOB_APPLY) {
		size_t cursor = 0;
		for (struct htable_node *n = htable_iter(&g->set, &cursor, NULL); n != NULL;
		    n = htable_iter(&g->set, &cursor, n))
			htable_entry(n, struct wanted, node)->in_kernel = false;
	}
	for (size_t i = 0; i < job->nadd; i++) {
		struct wanted *w = set_find(g, &job->add[i].net);
		if (w != NULL)
			w->in_kernel = true;
	}
}

/* After a job, on the loop thread: account for it, and decide what comes next. */
static void
job_done(struct garden *g, struct job *job)
{
	static const char *const names[] = { "batch", "rebuild", "setup" };
	char added[256], removed[256];

	g->stats.batches++;
	g->stats.last_batch_seconds = job->seconds;
	if (job->rc != 0) {
		g->stats.failures++;
		g->stats.last_failure = time_now();
		snprintf(g->stats.last_error, sizeof(g->stats.last_error), "%s", job->err);
		g->retry_ms = g->retry_ms ? g->retry_ms * 2 : GARDEN_RETRY_MIN_MS;
		if (g->retry_ms > GARDEN_RETRY_MAX_MS)
			g->retry_ms = GARDEN_RETRY_MAX_MS;
		log_warnx("enforce: %s of %zu additions and %zu removals failed: %s; the sets are rebuilt from the "
		    "store in %.0f s", names[job->kind], job->nadd, job->ndel, job->err, (double)g->retry_ms / 1000);
		/* the changes of an APPLY are in the wanted set: a rebuild carries them */
		g->rebuild_wanted = true;
		if (job->kind == JOB_SETUP)
			g->ecfg_stale = true;
		if (!g->stopping)
			uv_timer_start(&g->retry_timer, on_retry, g->retry_ms, 0);
		return;
	}
	g->retry_ms = 0;
	mark_in_kernel(g, job);
	if (job->kind == JOB_SETUP)
		g->ecfg = job->ecfg;
	if (job->kind == JOB_APPLY) {
		g->stats.elements_added += job->nadd;
		g->stats.elements_removed += job->ndel;
		double latency_us = (double)(time_mono() - job->oldest);
		size_t b = 0;
		while (b < GARDEN_LATENCY_BUCKETS - 1 && latency_us > garden_latency_bounds_us[b])
			b++;
		g->stats.latency_bucket[b]++;
		g->stats.latency_sum_us += latency_us;
		g->stats.latency_count++;
		enforce_elements_text(job->add, NULL, job->nadd, added, sizeof(added));
		enforce_elements_text(NULL, job->del, job->ndel, removed, sizeof(removed));
		log_info("enforce: batch applied added=%zu removed=%zu quarantined=%zu in %.1f ms "
		    "(%.1f ms after the verdict) backend=%s added_hosts=%s removed_hosts=%s", job->nadd, job->ndel,
		    g->set.count, job->seconds * 1e3, latency_us / 1e3, g->stats.backend, added, removed);
	} else {
		g->stats.rebuilds++;
		log_info("enforce: %s applied quarantined=%zu in %.1f ms backend=%s", names[job->kind], job->nadd,
		    job->seconds * 1e3, g->stats.backend);
	}
}

static void
after_work_cb(uv_work_t *w, int status)
{
	struct garden *g = w->data;
	struct job *job = g->job;

	g->job = NULL;
	g->busy = false;
	if (status != 0) {        /* cancelled: treat as failed */
		job->rc = -1;
		snprintf(job->err, sizeof(job->err), "cancelled");
	}
	job_done(g, job);
	job_free(job);
	garden_kick(g);
}

/* Every wanted host as entries (the rebuild's and the setup's content). NULL,0 when none. */
static int
snapshot(struct garden *g, struct enforce_entry **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (g->set.count == 0)
		return 0;
	if ((*out = calloc(g->set.count, sizeof(**out))) == NULL)
		return -ENOMEM;
	size_t cursor = 0;
	for (struct htable_node *e = htable_iter(&g->set, &cursor, NULL); e != NULL; e = htable_iter(&g->set, &cursor, e))
		(*out)[(*n)++].net = htable_entry(e, struct wanted, node)->net;
	return 0;
}

/*
 * The next job, or NULL when there is nothing to do (or no memory: tried again at the
 * next kick). A rebuild takes every queued change with it.
 */
static struct job *
next_job(struct garden *g)
{
	struct job *job;

	if (!g->rebuild_wanted && !g->ecfg_stale && g->queue_len == 0)
		return NULL;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	if (g->rebuild_wanted || g->ecfg_stale) {
		job->kind = g->ecfg_stale ? JOB_SETUP : JOB_REBUILD;
		if (snapshot(g, &job->add, &job->nadd) != 0) {
			free(job);
			return NULL;
		}
		if (job->kind == JOB_SETUP)
			job->ecfg = g->want_ecfg;
		g->rebuild_wanted = g->ecfg_stale = false;
		g->queue_len = 0;
		return job;
	}
	/*
	 * Each network once, as the set wants it now: a host quarantined and released within one
	 * batch (a burst of verdicts, the shared store's feed) is a deletion, not an addition the
	 * batch's deletions would come before, leaving it in the kernel until the next rebuild.
	 */
	job->kind = JOB_APPLY;
	struct queued_net {
		struct htable_node node;
		size_t i;
	} *seen = calloc(g->queue_len, sizeof(*seen));
	struct htable once = { 0 };
	size_t buckets = 16;
	while (buckets < g->queue_len)
		buckets *= 2;
	if (seen == NULL || htable_init(&once, buckets) != 0 ||
	    (job->add = calloc(g->queue_len, sizeof(*job->add))) == NULL ||
	    (job->del = calloc(g->queue_len, sizeof(*job->del))) == NULL) {
		free(seen);
		htable_fini(&once);
		job_free(job);
		return NULL;
	}
	job->oldest = g->queue[0].queued;
	for (size_t i = 0; i < g->queue_len; i++) {
		const struct cidr *net = &g->queue[i].net;
		uint32_t h = (uint32_t)net_hash(net);
		bool dup = false;
		for (struct htable_node *n = htable_first(&once, h); n != NULL && !dup; n = htable_next(n, h))
			dup = net_equal(&g->queue[htable_entry(n, struct queued_net, node)->i].net, net);
		if (dup)
			continue;
		seen[i].i = i;
		seen[i].node.hash = h;
		htable_add(&once, &seen[i].node);
		if (set_find(g, net) != NULL) {
			job->add[job->nadd].net = *net;
			/* it entered quarantine now: the set does not hold it (a wrong guess costs only
			 * a timeout refresh, which the next rebuild does) */
			job->add[job->nadd++].fresh = true;
		} else
			job->del[job->ndel++] = *net;
	}
	htable_fini(&once);
	free(seen);
	g->queue_len = 0;
	return job;
}

static void
garden_kick(struct garden *g)
{
	if (g->busy || g->stopping || uv_is_active((uv_handle_t *)&g->retry_timer))
		return;
	struct job *job = next_job(g);
	if (job == NULL)
		return;
	g->job = job;
	g->busy = true;
	g->work.data = g;
	if (uv_queue_work(g->loop, &g->work, work_cb, after_work_cb) != 0) {
		g->busy = false;
		g->job = NULL;
		job->rc = -1;
		snprintf(job->err, sizeof(job->err), "cannot queue the work");
		job_done(g, job);
		job_free(job);
	}
}

static void
on_retry(uv_timer_t *t)
{
	garden_kick(t->data);
}

static void
on_refresh(uv_timer_t *t)
{
	struct garden *g = t->data;

	/* the timeouts restart; whatever drifted (an nft command by hand) is put right */
	g->rebuild_wanted = true;
	garden_kick(g);
}

/*
 * Resolves the remediation names of one configuration. getaddrinfo blocks, so it runs
 * as its own work request on copies; the result is compared on the loop thread.
 */
struct resolve_job {
	uv_work_t work;
	struct garden *g;
	uint64_t generation;
	struct enforce_config ecfg;      /* the static part in, everything out */
	struct remediation_conf *names;
	size_t nnames;
};

static void
resolve_work(uv_work_t *w)
{
	struct resolve_job *r = w->data;
	resolve_names(&r->ecfg, r->names, r->nnames);
}

static void
resolve_after(uv_work_t *w, int status)
{
	struct resolve_job *r = w->data;
	struct garden *g = r->g;

	g->resolving--;
	if (status == 0 && r->generation == g->generation && !g->stopping &&
	    !enforce_config_equal(&r->ecfg, &g->want_ecfg)) {
		g->want_ecfg = r->ecfg;
		if (!enforce_config_equal(&g->want_ecfg, &g->ecfg)) {
			log_info("enforce: the configuration or the remediation addresses changed; the ruleset is "
			    "set up again with the quarantines");
			g->ecfg_stale = true;
			garden_kick(g);
		}
	}
	free(r->names);
	free(r);
}

/* Starts a lookup of the current configuration's names (and a comparison). */
static void
resolve_start(struct garden *g)
{
	struct resolve_job *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return;
	r->g = g;
	r->generation = g->generation;
	build_enforce_config(g->cfg, &r->ecfg);
	r->nnames = copy_names(g->cfg, &r->names);
	r->work.data = r;
	if (uv_queue_work(g->loop, &r->work, resolve_work, resolve_after) != 0) {
		free(r->names);
		free(r);
		return;
	}
	g->resolving++;
}

static void
on_resolve(uv_timer_t *t)
{
	struct garden *g = t->data;
	struct remediation_conf *names;

	if (g->resolving > 0 || copy_names(g->cfg, &names) == 0)
		return;
	free(names);
	resolve_start(g);
}

/* ---- the interface ---- */

struct garden *
garden_new(uv_loop_t *loop, const struct config *cfg, struct judge *j, int helper_fd, char *err, size_t errlen)
{
	struct garden *g = calloc(1, sizeof(*g));
	char why[256];

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (htable_init(&g->set, 1024) != 0 || htable_init(&g->groups, 256) != 0) {
		htable_fini(&g->set);
		free(g);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->loop = loop;
	g->wide_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	config_unref(g->cfg);
	g->cfg = config_ref(cfg);
	g->judge = j;
	if ((cfg->enforce.mode & ENFORCE_MODE_NFTABLES) && helper_fd >= 0) {
		if ((g->be = enforce_priv_new(helper_fd)) == NULL) {
			close(helper_fd);
			htable_fini(&g->set);
			htable_fini(&g->groups);
			free(g);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		g->ops = &enforce_priv_ops;
		g->nftables = true;
	} else if ((cfg->enforce.mode & ENFORCE_MODE_NFTABLES) && helper_fd == GARDEN_IN_PROCESS) {
		if ((g->be = enforce_nft_new(why, sizeof(why))) != NULL) {
			g->ops = &enforce_nft_ops;
			g->nftables = true;
		} else
			log_warnx("enforce: mode = nftables but %s; quarantines are only logged (enforce=none) "
			    "until lazaretd runs with CAP_NET_ADMIN", why);
	}
	if (g->be == NULL) {
		if ((g->be = enforce_none_new()) == NULL) {
			htable_fini(&g->set);
			htable_fini(&g->groups);
			free(g);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		g->ops = &enforce_none_ops;
	}
	g->stats.backend = g->nftables ? "nftables" : "none";
	uv_timer_init(loop, &g->refresh_timer);
	uv_timer_init(loop, &g->retry_timer);
	uv_timer_init(loop, &g->resolve_timer);
	g->refresh_timer.data = g->retry_timer.data = g->resolve_timer.data = g;
	return g;
}

/* Adds or removes net in the wanted set and queues the change. */
static void
want(struct garden *g, const struct cidr *net, bool add)
{
	struct wanted *w = set_find(g, net);

	if (add && w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL) {
			log_warnx("enforce: out of memory; the next rebuild enforces what is missing");
			g->rebuild_wanted = true;
			return;
		}
		w->net = *net;
		w->node.hash = (uint32_t)net_hash(net);
		htable_add(&g->set, &w->node);
		group_count(g, net, 1);
	} else if (!add && w != NULL) {
		group_count(g, net, -1);
		htable_del(&g->set, &w->node);
		free(w);
	} else {
		return;                 /* already as wanted */
	}
	if (g->queue_len == g->queue_cap) {
		size_t cap = g->queue_cap ? g->queue_cap * 2 : 256;
		struct change *grown = realloc(g->queue, cap * sizeof(*grown));
		if (grown == NULL) {
			g->rebuild_wanted = true;     /* the set is right; a rebuild applies it */
			return;
		}
		g->queue = grown;
		g->queue_cap = cap;
	}
	g->queue[g->queue_len++] = (struct change){ .net = *net, .add = add, .queued = time_mono() };
}

/* One element (an IPv4 host or an IPv6 /64): in the sets when the subject whose level
 * applies to it now — its holder, or itself when nobody holds it — is quarantined. */
static void
element_reconsider(struct garden *g, const struct cidr *element)
{
	/* no quarantined host subject: an address nobody holds is not isolated, no lookup needed */
	const struct subject *s = judge_enforced_subject(g->judge, &element->addr, time_now(), g->hosts_quarantined > 0);

	want(g, element, s != NULL && s->level >= LEVEL_QUARANTINE);
}

/* Whether the level that applies to net's first address now is quarantine: only then is a
 * network the sets cannot hold worth a warning (every subscriber's /48 would log one at each
 * Start otherwise). */
static bool
network_isolated(struct garden *g, const struct cidr *net)
{
	const struct subject *s = judge_enforced_subject(g->judge, &net->addr, time_now(), g->hosts_quarantined > 0);

	return s != NULL && s->level >= LEVEL_QUARANTINE;
}

/* Every element of a network a subscriber holds (an IPv4 address, an IPv6 prefix of /56
 * to /64 as its /64s), reconsidered; a larger prefix is refused at the relay only. */
static void
network_reconsider(struct garden *g, const struct cidr *net)
{
	struct cidr e = *net;

	if (net->addr.family == AF_INET) {
		if (net->prefix != 32) {
			if (network_isolated(g, net))
				log_limited(&g->wide_log, LOG_LEVEL_WARN, "enforce: network %s held by a quarantined subscriber "
				    "is not one address; refused at the relay, not isolated",
				    cidr_format(net, (char[ADDR_TEXT_MAX]){ 0 }, ADDR_TEXT_MAX));
			return;
		}
		element_reconsider(g, &e);
		return;
	}
	if (net->prefix >= 64) {
		e.prefix = 64;
		addr_mask(&e.addr, 64);
		element_reconsider(g, &e);
		return;
	}
	if (net->prefix < 56) {
		if (network_isolated(g, net))
			log_limited(&g->wide_log, LOG_LEVEL_WARN, "enforce: prefix %s held by a quarantined subscriber is larger "
			    "than a /56; refused at the relay, not isolated",
			    cidr_format(net, (char[ADDR_TEXT_MAX]){ 0 }, ADDR_TEXT_MAX));
		return;
	}
	e.prefix = 64;
	/* the first /64's holder is the prefix's (a longer prefix inside held by someone else, if
	 * isolated, has its elements in this /56 and so in the count): nothing in the set here,
	 * no quarantined holder and no quarantined host anywhere — nothing to do */
	const struct subject *holder = judge_enforced_subject(g->judge, &e.addr, time_now(), g->hosts_quarantined > 0);
	if ((holder == NULL || holder->level < LEVEL_QUARANTINE) && group_of(g, net) == 0 && g->hosts_quarantined == 0)
		return;
	for (unsigned i = 0; i < (1u << (64 - net->prefix)); i++) {
		e.addr.bytes[7] = (uint8_t)(net->addr.bytes[7] | i);     /* the /64s inside a /56../63 differ in byte 7 */
		element_reconsider(g, &e);
	}
}

/* Every network subscriber s holds now, reconsidered. */
static void
subscriber_reconsider(struct garden *g, const struct subject *s)
{
	struct ident *id = judge_ident(g->judge);
	struct cidr nets[16];

	if (id == NULL || s->key_len <= SUBJECT_SUBSCRIBER_PREFIX_LEN)
		return;
	size_t n = ident_networks(id, s->key + SUBJECT_SUBSCRIBER_PREFIX_LEN, s->key_len - SUBJECT_SUBSCRIBER_PREFIX_LEN,
	    nets, sizeof(nets) / sizeof(nets[0]));
	if (n > sizeof(nets) / sizeof(nets[0]))
		n = sizeof(nets) / sizeof(nets[0]);
	for (size_t i = 0; i < n; i++)
		network_reconsider(g, &nets[i]);
}

int
garden_start(struct garden *g, char *err, size_t errlen)
{
	size_t cursor = 0, skipped = 0;
	struct job job = { .kind = JOB_SETUP };
	struct subject *s;

	for (s = judge_notable_next(g->judge, &cursor, NULL); s != NULL; s = judge_notable_next(g->judge, &cursor, s)) {
		struct cidr net;
		if (s->level < LEVEL_QUARANTINE)
			continue;
		if (s->kind == SUBJECT_SUBSCRIBER) {
			subscriber_reconsider(g, s);
			continue;
		}
		if (s->kind != SUBJECT_HOST)
			continue;
		g->hosts_quarantined++;
		if (host_element(s->key, &net) != 0) {
			skipped++;
			continue;
		}
		element_reconsider(g, &net);
	}
	if (skipped > 0)
		log_warnx("enforce: %zu quarantined hosts are networks larger than a host (host_prefix_v4/v6) and "
		    "are refused at the relay only", skipped);
	g->queue_len = 0;             /* the setup carries them */
	/* at start, before serving: the lookups may block here */
	struct remediation_conf *names;
	size_t nnames = copy_names(g->cfg, &names);
	build_enforce_config(g->cfg, &job.ecfg);
	resolve_names(&job.ecfg, names, nnames);
	free(names);
	g->want_ecfg = job.ecfg;
	if (snapshot(g, &job.add, &job.nadd) != 0) {
		snprintf(err, errlen, "enforce: out of memory");
		return -1;
	}
	job_run(g, &job);
	if (job.rc != 0) {
		snprintf(err, errlen, "enforce: %s", job.err);
		free(job.add);
		return -1;
	}
	job_done(g, &job);
	free(job.add);

	uint64_t refresh = (uint64_t)(g->cfg->enforce.refresh_interval / 1000);
	uv_timer_start(&g->refresh_timer, on_refresh, refresh, refresh);
	uint64_t resolve = (uint64_t)(g->cfg->enforce.resolve_interval / 1000);
	uv_timer_start(&g->resolve_timer, on_resolve, resolve, resolve);
	g->timers_started = true;
	log_info("enforce: table inet %s %s with %zu quarantined hosts (%.1f ms); element timeout %.0f s, "
	    "rebuilt every %.0f s", g->cfg->enforce.table, g->nftables ? "set up" : "logged (mode none)",
	    g->set.count, job.seconds * 1e3, (double)g->cfg->enforce.element_timeout / 1e6,
	    (double)g->cfg->enforce.refresh_interval / 1e6);
	return 0;
}

void
garden_level_changed(struct garden *g, const struct subject *s, int old_level, int new_level)
{
	bool was = old_level >= LEVEL_QUARANTINE, is = new_level >= LEVEL_QUARANTINE;
	struct cidr net;

	if ((s->kind != SUBJECT_HOST && s->kind != SUBJECT_SUBSCRIBER) || was == is || g->stopping)
		return;
	if (s->kind == SUBJECT_SUBSCRIBER) {
		subscriber_reconsider(g, s);
		garden_kick(g);
		return;
	}
	if (is)
		g->hosts_quarantined++;
	else if (g->hosts_quarantined > 0)
		g->hosts_quarantined--;
	if (host_element(s->key, &net) != 0) {
		log_warnx("enforce: host=%s is a network larger than a host; refused at the relay, not isolated",
		    s->key);
		return;
	}
	element_reconsider(g, &net);
	garden_kick(g);
}

void
garden_holder_changed(struct garden *g, const char *subscriber, size_t len, const struct cidr *net, bool held)
{
	(void)subscriber;
	(void)len;
	(void)held;
	if (g->stopping)
		return;
	network_reconsider(g, net);
	garden_kick(g);
}

void
garden_configure(struct garden *g, const struct config *cfg)
{
	if (((cfg->enforce.mode & ENFORCE_MODE_NFTABLES) != 0) != ((g->cfg->enforce.mode & ENFORCE_MODE_NFTABLES) != 0))
		log_warnx("reload: [enforce] mode changes only on restart");
	config_unref(g->cfg);
	g->cfg = config_ref(cfg);
	g->generation++;
	if (g->timers_started) {
		uint64_t refresh = (uint64_t)(cfg->enforce.refresh_interval / 1000);
		uv_timer_start(&g->refresh_timer, on_refresh, refresh, refresh);
		uint64_t resolve = (uint64_t)(cfg->enforce.resolve_interval / 1000);
		uv_timer_start(&g->resolve_timer, on_resolve, resolve, resolve);
	}
	/* names are looked up again too: a SIGHUP is also how to say "now" */
	resolve_start(g);
}

bool
garden_enforced(const struct garden *g, const char *key)
{
	struct cidr net;

	if (host_element(key, &net) != 0)
		return false;
	const struct wanted *w = set_find(g, &net);
	return w != NULL && w->in_kernel;
}

void
garden_stats_get(const struct garden *g, struct garden_stats *out)
{
	*out = g->stats;
	out->pending = g->queue_len + (g->job != NULL && g->job->kind == JOB_APPLY ? g->job->nadd + g->job->ndel : 0);
	out->elements = g->set.count;
}

void
garden_stop(struct garden *g)
{
	/* the batch in flight first: its callback runs on this loop */
	while (g->busy || g->resolving > 0)
		uv_run(g->loop, UV_RUN_ONCE);
	g->stopping = true;
	uv_close((uv_handle_t *)&g->refresh_timer, NULL);
	uv_close((uv_handle_t *)&g->retry_timer, NULL);
	uv_close((uv_handle_t *)&g->resolve_timer, NULL);
	/* what the judge committed last goes to the kernel before we go */
	struct job *job = next_job(g);
	if (job != NULL) {
		job_run(g, job);
		job_done(g, job);
		job_free(job);
	}
}

void
garden_free(struct garden *g)
{
	if (g == NULL)
		return;
	config_unref(g->cfg);
	job_free(g->job);
	if (g->be != NULL)
		g->ops->free(g->be);
	size_t cursor = 0;
	for (struct htable_node *n = g->set.buckets ? htable_iter(&g->set, &cursor, NULL) : NULL, *next; n != NULL;
	    n = next) {
		next = htable_iter(&g->set, &cursor, n);       /* before n goes */
		free(htable_entry(n, struct wanted, node));
	}
	htable_fini(&g->set);
	cursor = 0;
	for (struct htable_node *n = g->groups.buckets ? htable_iter(&g->groups, &cursor, NULL) : NULL, *next; n != NULL;
	    n = next) {
		next = htable_iter(&g->groups, &cursor, n);
		free(htable_entry(n, struct group, node));
	}
	htable_fini(&g->groups);
	free(g->queue);
	free(g);
}
