/*
 * flowdetect.c — the flow detectors' hosts, configuration and lists, and which detector
 * reads a record; the detectors are in flowdetect_rules.c. See flowdetect.h.
 */
#include "sense/flowdetect.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "judge/kinds.h"
#include "sense/blocklist.h"
#include "sense/flowdetect_int.h"

static const char *const kind_names[FLOW_DETECT_KINDS] = {
	[FLOW_DETECT_DIRECT_MX] = "direct_mx", [FLOW_DETECT_SCANNING] = "scanning",
	[FLOW_DETECT_OUTBOUND_DOS] = "outbound_dos", [FLOW_DETECT_HOSTING] = "hosting",
	[FLOW_DETECT_CC_CONTACT] = "cc_contact",
};

const char *
flow_detect_kind_name(enum flow_detect_kind k)
{
	return (unsigned)k < FLOW_DETECT_KINDS ? kind_names[k] : "unknown";
}

static int
build_lpms(const struct config *cfg, struct lpm *subs, struct lpm *relays, struct lpm *allowed)
{
	lpm_init(subs);
	lpm_init(relays);
	lpm_init(allowed);
	for (size_t i = 0; i < cfg->network.subscriber_count; i++)
		if (lpm_insert(subs, &cfg->network.subscribers[i], 1) < 0)
			goto fail;
	for (size_t i = 0; i < cfg->flows.allow_destination_count; i++)
		if (lpm_insert(allowed, &cfg->flows.allow_destinations[i], 1) < 0)
			goto fail;
	for (size_t i = 0; i < cfg->network.relay_count; i++) {
		struct cidr c = { .addr = cfg->network.relays[i],
		    .prefix = cfg->network.relays[i].family == AF_INET ? 32 : 128 };
		if (lpm_insert(relays, &c, 1) < 0)
			goto fail;
	}
	/* without the first level the lookups are right, only slower */
	(void)lpm_index(subs);
	return 0;
fail:
	lpm_free(subs);
	lpm_free(relays);
	lpm_free(allowed);
	return -ENOMEM;
}

struct flow_detect *
flow_detect_new(struct judge *j, const struct config *cfg)
{
	struct flow_detect *fd = calloc(1, sizeof(*fd));

	if (fd == NULL)
		return NULL;
	fd->judge = j;
	fd->log = (struct log_limit)LOG_LIMIT_INIT(20, 60 * USEC_PER_SEC);
	lpm_init(&fd->subscribers);
	lpm_init(&fd->relays);
	lpm_init(&fd->allowed);
	fd->ewma = (struct ewma_params)EWMA_PARAMS_DEFAULT;
	/* weights, half-lives and what each means: judge/kinds.c */
	for (int k = 0; k < FLOW_DETECT_KINDS; k++)
		if ((fd->kind[k] = evidence_kind_register(j, kind_names[k])) < 0)
			goto fail;
	if (htable_init(&fd->hosts, 4096) != 0 || flow_detect_configure(fd, cfg) != 0)
		goto fail;
	return fd;
fail:
	flow_detect_free(fd);
	return NULL;
}

/*
 * The lists of cfg, each loaded from its file into the table it had (kept by name), the
 * table before kept when the file cannot be loaded (logged with file:line); lists no
 * longer configured are dropped.
 */
static void
load_lists(struct flow_detect *fd, const struct config *cfg)
{
	struct fd_list next[FD_LISTS];
	size_t n = 0;

	for (size_t i = 0; i < cfg->flows.blocklist_count && n < FD_LISTS; i++, n++) {
		const struct flow_blocklist_conf *c = &cfg->flows.blocklists[i];
		struct blocklist_stats st;
		enum blocklist_format fmt = BLOCKLIST_AUTO;
		memset(&next[n], 0, sizeof(next[n]));
		snprintf(next[n].name, sizeof(next[n].name), "%s", c->name);
		lpm_init(&next[n].table);
		for (size_t k = 0; k < fd->list_count; k++)
			if (strcmp(fd->lists[k].name, c->name) == 0) {
				next[n].table = fd->lists[k].table;
				next[n].families = fd->lists[k].families;
				lpm_init(&fd->lists[k].table);
				fd->lists[k].families = (struct blocklist_families){ NULL, 0 };
			}
		(void)blocklist_format_parse(c->format, &fmt);      /* the configuration checked the name */
		int rc = blocklist_load(c->path, fmt, &next[n].table, &next[n].families, &st);
		if (rc == -EBADMSG)
			log_warnx("flows: blocklist %s: %s:%zu: not a line of %s; the list loaded before stays (%u prefixes)",
			    c->name, c->path, st.first_error_line, blocklist_format_name(st.format), next[n].table.prefixes);
		else if (rc != 0)
			log_warnx("flows: blocklist %s: %s: %s; the list loaded before stays (%u prefixes)", c->name, c->path,
			    strerror(-rc), next[n].table.prefixes);
		else
			log_info("flows: blocklist %s: %u prefixes from %s (%s)", c->name, next[n].table.prefixes, c->path,
			    blocklist_format_name(st.format));
	}
	for (size_t k = 0; k < fd->list_count; k++) {
		lpm_free(&fd->lists[k].table);
		blocklist_families_free(&fd->lists[k].families);
	}
	memcpy(fd->lists, next, n * sizeof(next[0]));
	fd->list_count = n;
}

int
flow_detect_configure(struct flow_detect *fd, const struct config *cfg)
{
	struct lpm subs, relays, allowed;
	struct trw_params tp = TRW_PARAMS_DEFAULT;

	fd->cfg = cfg;      /* the caller drops the old one: the windows and caps apply anyway */
	tp.theta0 = cfg->flows.scan_theta0;
	tp.theta1 = cfg->flows.scan_theta1;
	tp.alpha = cfg->flows.scan_alpha;
	tp.beta = cfg->flows.scan_beta;
	/* the key table's bounds make every combination valid; the defaults otherwise */
	if (trw_model_init(&fd->trw, &tp) != 0) {
		tp = (struct trw_params)TRW_PARAMS_DEFAULT;
		(void)trw_model_init(&fd->trw, &tp);
	}
	if (build_lpms(cfg, &subs, &relays, &allowed) != 0)
		return -ENOMEM;
	lpm_free(&fd->subscribers);
	lpm_free(&fd->relays);
	lpm_free(&fd->allowed);
	fd->subscribers = subs;
	fd->relays = relays;
	fd->allowed = allowed;
	load_lists(fd, cfg);
	return 0;
}

/* The host went quiet: its active part and the walk's memory of destinations go. */
static void
host_idle(struct fd_host *h)
{
	if (h->act != NULL) {
		hll_reset(&h->act->mx);
		hll_reset(&h->act->clients);
		for (int i = 0; i < FD_PORT_SLOTS; i++)
			hll_reset(&h->act->ports[i].dst);
		for (int i = 0; i < FD_TARGET_SLOTS; i++)
			hll_reset(&h->act->targets[i].ports);
		free(h->act);
		h->act = NULL;
	}
	trw_host_idle(&h->trw);
}

static void
host_free(struct flow_detect *fd, struct fd_host *h)
{
	htable_del(&fd->hosts, &h->node);
	host_idle(h);
	free(h);
}

void
flow_detect_free(struct flow_detect *fd)
{
	size_t cursor = 0;
	struct htable_node *n;

	if (fd == NULL)
		return;
	if (fd->hosts.buckets != NULL) {
		while ((n = htable_iter(&fd->hosts, &cursor, NULL)) != NULL)
			host_free(fd, htable_entry(n, struct fd_host, node));
		htable_fini(&fd->hosts);
	}
	lpm_free(&fd->subscribers);
	lpm_free(&fd->relays);
	lpm_free(&fd->allowed);
	for (size_t k = 0; k < fd->list_count; k++) {
		lpm_free(&fd->lists[k].table);
		blocklist_families_free(&fd->lists[k].families);
	}
	free(fd);
}

static uint32_t
host_hash(const struct addr *key)
{
	return (uint32_t)hash_bytes(key->bytes, key->family == AF_INET ? 4 : 16);
}

static struct fd_host *
host_find(const struct flow_detect *fd, const struct addr *key, uint32_t h)
{
	for (struct htable_node *n = htable_first(&fd->hosts, h); n != NULL; n = htable_next(n, h)) {
		struct fd_host *x = htable_entry(n, struct fd_host, node);
		if (addr_equal(&x->key, key))
			return x;
	}
	return NULL;
}

/* The host of subscriber address a, created when missing, with its active part; NULL past
 * max_hosts (counted) or on ENOMEM. With only_active, neither is made: the host if it is
 * active, else NULL, and its time of last record left as it was. */
static struct fd_host *
host_get(struct flow_detect *fd, const struct addr *a, bool only_active, usec_t now)
{
	struct addr key = *a;
	addr_mask(&key, key.family == AF_INET ? fd->cfg->limits.host_prefix_v4 : fd->cfg->limits.host_prefix_v6);
	uint32_t h = host_hash(&key);
	struct fd_host *x = host_find(fd, &key, h);

	if (only_active)
		return x != NULL && x->act != NULL ? x : NULL;
	if (x == NULL) {
		if (fd->hosts.count >= fd->cfg->flows.max_hosts || (x = calloc(1, sizeof(*x))) == NULL) {
			fd->stats.hosts_refused++;
			return NULL;
		}
		x->key = key;
		trw_host_init(&x->trw, &fd->trw);
		ewma_host_init(&x->out);
		x->node.hash = h;
		htable_add(&fd->hosts, &x->node);
	}
	if (x->act == NULL) {
		struct fd_active *act = calloc(1, sizeof(*act));
		if (act == NULL)
			return NULL;
		act->mx_window = act->scan_window = act->minute = act->host_window = INT64_MIN;
		hll_init(&act->mx, FD_HLL_P, FD_EXACT_MAX);
		hll_init(&act->clients, FD_HLL_P, FD_EXACT_MAX);
		for (int i = 0; i < FD_PORT_SLOTS; i++)
			hll_init(&act->ports[i].dst, FD_HLL_P, FD_EXACT_MAX);
		for (int i = 0; i < FD_TARGET_SLOTS; i++)
			hll_init(&act->targets[i].ports, FD_HLL_P, FD_EXACT_MAX);
		ewma_host_init(&act->in);
		x->act = act;
	}
	x->last = now;
	return x;
}

void
flow_detect_record(struct flow_detect *fd, const struct flow_record *r, usec_t now)
{
	bool src_in = lpm_lookup(&fd->subscribers, &r->src, NULL, NULL);
	bool dst_in = lpm_lookup(&fd->subscribers, &r->dst, NULL, NULL);

	fd->stats.records++;
	if (src_in == dst_in) {
		if (src_in)
			fd->stats.internal++;
		else
			fd->stats.outside++;
		return;
	}
	if (!src_in) {
		/* inbound: only a served connection makes a host or keeps it active; any record
		 * counts in the inbound rates of a host active now (the background of scanners
		 * that probe every address must not keep every host's counters). A CDN or a
		 * speed test sending is no flood. */
		int svc = flow_detect_hosting_service(r);
		struct fd_host *x;
		if (lpm_lookup(&fd->allowed, &r->src, NULL, NULL) || (x = host_get(fd, &r->dst, svc < 0, now)) == NULL)
			return;
		flow_detect_inbound(fd, x, r, now);
		if (r->proto == IPPROTO_TCP)
			flow_detect_scan_reply(fd, x, r, now);
		if (svc >= 0)
			flow_detect_hosting(fd, x, r, svc, now);
		return;
	}
	struct fd_host *x = host_get(fd, &r->src, false, now);
	if (x == NULL)
		return;
	flow_detect_outbound_dos(fd, x, r, now);
	for (size_t k = 0; k < fd->list_count; k++) {
		uint32_t value;
		if (lpm_lookup(&fd->lists[k].table, &r->dst, &value, NULL)) {
			flow_detect_cc_contact(fd, x, r, &fd->lists[k], value, now);
			break;
		}
	}
	if (r->proto != IPPROTO_TCP)
		return;
	uint64_t dst_hash = hash_bytes(r->dst.bytes, r->dst.family == AF_INET ? 4 : 16);
	bool mx = r->dst_port == 25 && !lpm_lookup(&fd->relays, &r->dst, NULL, NULL);
	if (mx) {       /* a spam bot's SYNs to mail servers are direct_mx's, not a scan too */
		flow_detect_direct_mx(fd, x, dst_hash, now);
		return;
	}
	flow_detect_scan_walk(fd, x, r, dst_hash, now);
	flow_detect_scan_fanout(fd, x, r, dst_hash, now);
}

void
flow_detect_expire(struct flow_detect *fd, usec_t now, size_t budget)
{
	size_t seen = 0;

	/* bucket by bucket, a whole chain at a time; a table that doubled since the last call
	 * goes on from the same index under its new mask: a host skipped is seen next round */
	for (size_t b = 0; b <= fd->hosts.mask && seen < budget; b++) {
		struct htable_node *n = fd->hosts.buckets[fd->expire_at++ & fd->hosts.mask], *next;
		for (; n != NULL; n = next) {
			struct fd_host *x = htable_entry(n, struct fd_host, node);
			usec_t quiet = now - x->last;
			next = n->next;
			seen++;
			if (quiet >= FLOW_DETECT_FORGET)
				host_free(fd, x);
			/* every window it counted in has closed: nothing in them counts again */
			else if (quiet >= fd->cfg->flows.direct_mx_window && quiet >= fd->cfg->flows.scan_window &&
			    quiet >= fd->cfg->flows.hosting_window)
				host_idle(x);       /* the walk, its decision and the baselines stay */
		}
	}
}

void
flow_detect_stats_get(const struct flow_detect *fd, struct flow_detect_stats *out)
{
	*out = fd->stats;
	out->hosts = fd->hosts.count;
}

size_t
flow_detect_bytes(const struct flow_detect *fd)
{
	size_t cursor = 0, bytes = 0;
	struct htable_node *n = NULL;

	while ((n = htable_iter(&fd->hosts, &cursor, n)) != NULL) {
		const struct fd_host *x = htable_entry(n, struct fd_host, node);
		bytes += sizeof(*x) - sizeof(x->trw.contacts) + hll_bytes(&x->trw.contacts);
		if (x->act != NULL) {
			bytes += sizeof(*x->act) - sizeof(x->act->mx) + hll_bytes(&x->act->mx) - sizeof(x->act->clients) +
			    hll_bytes(&x->act->clients);
			for (int i = 0; i < FD_PORT_SLOTS; i++)
				bytes += hll_bytes(&x->act->ports[i].dst) - sizeof(x->act->ports[i].dst);
			for (int i = 0; i < FD_TARGET_SLOTS; i++)
				bytes += hll_bytes(&x->act->targets[i].ports) - sizeof(x->act->targets[i].ports);
		}
	}
	return bytes;
}
