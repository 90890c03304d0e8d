/*
 * flowdetect.c — the flow detectors; see flowdetect.h.
 */
#include "sense/flowdetect.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/hll.h"
#include "common/htable.h"
#include "common/log.h"
#include "common/lpm.h"
#include "judge/kinds.h"
#include "sense/blocklist.h"
#include "sense/ewma.h"
#include "sense/trw.h"
#include "store/store.h"

/* Distinct addresses are held exactly up to this many (the array grows with them, 2 KiB
 * at most), then in a 1 KiB sketch (3 % error): every threshold up to 255 is met exactly,
 * the same in every run, and only counts far past one are estimates. */
#define FD_EXACT_MAX HLL_EXACT_MAX
#define FD_HLL_P 10

/* scanning's fan-out follows this many TCP ports per host and window. A further port
 * takes the slot with the fewest destinations when that one has fewer than
 * FD_PORT_KEEP; otherwise it is not counted in this window: a scanner of many ports at
 * once is caught on the ones it began with, and a host's few stray failures never keep
 * a slot from a scan. */
#define FD_PORT_SLOTS 4
#define FD_PORT_KEEP 8

/* hosting's services: what a fast-flux node or a proxy bot answers on. */
#define FD_SERVICES 4
static const struct { uint8_t proto; uint16_t port; const char *name; } fd_services[FD_SERVICES] = {
	{ IPPROTO_TCP, 80, "TCP/80" }, { IPPROTO_TCP, 443, "TCP/443" }, { IPPROTO_TCP, 53, "TCP/53" },
	{ IPPROTO_UDP, 53, "UDP/53" },
};

struct fd_port {
	struct hll dst;                /* distinct destinations of attempts on this port */
	uint32_t reported;             /* the count last reported in the window; 0: none */
	uint16_t port;
	bool used;
};

/* What a host keeps only while it sends: the windows' counters. Allocated at its first
 * record after a quiet spell, freed by flow_detect_expire once every window has closed. */
struct fd_active {
	/* direct_mx */
	int64_t mx_window;             /* the window mx counts in (now / window) */
	struct hll mx;                 /* distinct TCP/25 destinations in it */
	uint32_t mx_reported;          /* the count last reported in it; 0: none yet */
	/* scanning */
	int64_t scan_window;           /* the window the port slots count in */
	struct fd_port ports[FD_PORT_SLOTS];
	/* outbound_dos: the top target (Misra-Gries with one counter, by packets: a target
	 * that gets most of the packets holds it) and SYN-only flows in this minute and the last */
	struct addr top;
	uint64_t top_weight;
	uint16_t top_port;
	uint8_t top_proto;
	int64_t minute;
	uint32_t flows[2], syn_only[2];  /* [0] this minute, [1] the last */
	/* hosting */
	int64_t host_window;           /* the window clients count in */
	struct hll clients;            /* distinct outside addresses served in it */
	uint32_t host_reported;        /* the count last reported in it; 0: none */
	uint32_t served[FD_SERVICES];  /* their records by service (fd_services), for the summary */
};

/* One subscriber host: what stays while it is quiet (the walk's decision, later the
 * rates' baselines), and its active part while it sends. */
struct fd_host {
	struct htable_node node;
	struct addr key;               /* the judge's host subject: the address under host_prefix */
	usec_t last;                   /* last record */
	struct fd_active *act;         /* NULL while quiet */
	struct trw_host trw;           /* scanning: the walk over first contacts (its memory freed when quiet) */
	struct ewma_host out;          /* outbound_dos: the rates and their baselines */
	usec_t dos_since;              /* outbound_dos: the flood began (0: none now) */
	usec_t dos_told;               /* ... its summary was last brought up to date */
	usec_t dos_unit;               /* ... its last unit of evidence */
	usec_t cc_told;                /* cc_contact: the last unit */
};

static_assert(sizeof(struct fd_host) <= 256, "an idle flow host must cost at most 256 bytes (issue 9)");

/* A cc_contact list as loaded: the table stays when a reload of its file fails. */
struct fd_list {
	char name[32];
	struct lpm table;
};

#define FD_LISTS 16                /* [flows] blocklist's max_count */
#define FD_CC_EVERY (600 * USEC_PER_SEC)   /* a host's contacts give a unit at most this often */

struct flow_detect {
	struct judge *judge;
	struct fd_list lists[FD_LISTS];
	size_t list_count;
	const struct config *cfg;
	struct lpm subscribers;        /* [network] subscribers */
	struct lpm relays;             /* [network] relay, as /32 and /128 */
	struct lpm allowed;            /* [flows] allow_destination */
	struct ewma_params ewma;
	struct htable hosts;
	struct flow_detect_stats stats;
	struct log_limit log;          /* any subscriber can make lines: bounded */
	size_t expire_at;              /* the bucket flow_detect_expire goes on from */
	struct trw_model trw;          /* [flows] scan_theta0 ... scan_beta */
	int kind[FLOW_DETECT_KINDS];   /* judge kind ids */
};

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

/* n with its thousands apart, as an agent reads it out: "1 204". Returns buf. */
static char *
group_digits(uint64_t n, char *buf, size_t size)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
	size_t off = 0;

	for (int i = 0; i < len && off + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[off++] = ' ';
		buf[off++] = digits[i];
	}
	buf[off] = '\0';
	return buf;
}

/* A window as a sentence says it: "10 minutes", "1 hour", "90 seconds". Returns buf. */
static char *
window_words(usec_t d, char *buf, size_t size)
{
	long long s = (long long)(d / USEC_PER_SEC);

	if (s % 3600 == 0)
		snprintf(buf, size, "%lld hour%s", s / 3600, s == 3600 ? "" : "s");
	else if (s % 60 == 0)
		snprintf(buf, size, "%lld minute%s", s / 60, s == 60 ? "" : "s");
	else
		snprintf(buf, size, "%lld second%s", s, s == 1 ? "" : "s");
	return buf;
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
				lpm_init(&fd->lists[k].table);
			}
		(void)blocklist_format_parse(c->format, &fmt);      /* the configuration checked the name */
		int rc = blocklist_load(c->path, fmt, &next[n].table, (uint32_t)n, &st);
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
	for (size_t k = 0; k < fd->list_count; k++)
		lpm_free(&fd->lists[k].table);
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
	for (size_t k = 0; k < fd->list_count; k++)
		lpm_free(&fd->lists[k].table);
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
 * max_hosts (counted) or on ENOMEM. */
static struct fd_host *
host_get(struct flow_detect *fd, const struct addr *a, usec_t now)
{
	struct addr key = *a;
	addr_mask(&key, key.family == AF_INET ? fd->cfg->limits.host_prefix_v4 : fd->cfg->limits.host_prefix_v6);
	uint32_t h = host_hash(&key);
	struct fd_host *x = host_find(fd, &key, h);

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
		x->act = act;
	}
	x->last = now;
	return x;
}

/* The distinct count of h once it changed: whether n is worth a report, at threshold or
 * grown by a quarter since the last one (reported; 0: none yet), in *n. */
static bool
count_due(const struct hll *h, uint32_t threshold, uint32_t reported, uint32_t *n)
{
	double est = hll_estimate(h);

	*n = est >= UINT32_MAX ? UINT32_MAX : (uint32_t)llround(est);
	return *n >= threshold && (reported == 0 || 4 * (uint64_t)*n >= 5 * (uint64_t)reported);
}

/*
 * direct_mx: r is outbound TCP/25 of host x to a destination that is not a relay. The
 * destination counts once per window; at the threshold the host gets one unit of
 * evidence for the window, and the summary is brought up to date each time the count
 * has grown by a quarter since (an agent reading it hears how far it went, within a
 * quarter, and the judge is asked a few dozen times, not for every destination).
 */
static void
direct_mx(struct flow_detect *fd, struct fd_host *x, uint64_t dst_hash, usec_t now)
{
	const struct config_flows *c = &fd->cfg->flows;
	struct fd_active *a = x->act;
	int64_t no = now / c->direct_mx_window;

	if (no != a->mx_window) {
		hll_reset(&a->mx);
		a->mx_window = no;
		a->mx_reported = 0;
	}
	uint32_t n;
	if (hll_add(&a->mx, dst_hash) != 1 || !count_due(&a->mx, c->direct_mx_destinations, a->mx_reported, &n))
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], count[32], win[32], relay[ADDR_TEXT_MAX], who[ADDR_TEXT_MAX];
	int off = snprintf(summary, sizeof(summary), "tried to reach %s mail servers directly in %s",
	    group_digits(n, count, sizeof(count)), window_words(c->direct_mx_window, win, sizeof(win)));
	if (fd->cfg->network.relay_count > 0 && off > 0 && (size_t)off < sizeof(summary))
		snprintf(summary + off, sizeof(summary) - (size_t)off, "; the relay is %s",
		    addr_format(&fd->cfg->network.relays[0], relay, sizeof(relay)));
	bool first = a->mx_reported == 0;
	a->mx_reported = n;
	fd->stats.evidence[FLOW_DETECT_DIRECT_MX]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_DIRECT_MX], first ? 1 : 0, first ? 1 : 0, now, summary);
	log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=direct_mx destinations=%u window=%s",
	    addr_format(&x->key, who, sizeof(who)), n, duration_format(c->direct_mx_window, win, sizeof(win)));
}

/* What the walk says, for the fan-out's summary, into buf: the first contacts that had
 * failed when it decided (it stops counting then), the share so far while it has not,
 * "" before any contact. */
static const char *
failed_share(const struct trw_host *t, char *buf, size_t size)
{
	unsigned all = (unsigned)t->failures + t->successes;

	if (all == 0)
		buf[0] = '\0';
	else if (t->scanner)
		snprintf(buf, size, "; a scanner to the walk after %u of %u first contacts failed", t->failures, all);
	else
		snprintf(buf, size, "; %u %% of %u first contacts failed", (unsigned)(100.0 * t->failures / all + 0.5), all);
	return buf;
}

/*
 * scanning, the walk: each first contact of an outbound TCP record, its outcome from
 * the record alone (NetFlow records one direction: the reply is another record, not
 * paired here; a refused or unanswered attempt is SYN only, a working connection has
 * ACK in more than 2 packets). The decision is one unit of evidence, once.
 */
static void
scan_walk(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, uint64_t dst_hash, usec_t now)
{
	struct trw_flow tf = { .proto = r->proto, .tcp_flags = r->tcp_flags, .sampled = r->sampling > 1,
	    .packets = r->sampling > 1 ? r->packets / r->sampling : r->packets };
	bool before = x->trw.scanner;

	if (trw_observe(&fd->trw, &x->trw, dst_hash, trw_classify_tcp(&tf)) != TRW_SCANNER || before)
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], who[ADDR_TEXT_MAX];
	unsigned all = (unsigned)x->trw.failures + x->trw.successes;
	snprintf(summary, sizeof(summary), "%u of its first %u contacts with new addresses failed "
	    "(Threshold Random Walk: a scanner)", x->trw.failures, all);
	fd->stats.evidence[FLOW_DETECT_SCANNING]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_SCANNING], 1, 1, now, summary);
	log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=scanning reason=trw failures=%u successes=%u",
	    addr_format(&x->key, who, sizeof(who)), x->trw.failures, x->trw.successes);
}

/* The port slot of port in x's current window: found, free, or taken from the emptiest
 * (FD_PORT_SLOTS, FD_PORT_KEEP); NULL when every slot is busier. */
static struct fd_port *
port_slot(struct fd_active *a, uint16_t port)
{
	struct fd_port *least = NULL;
	double least_n = 0;

	for (int i = 0; i < FD_PORT_SLOTS; i++) {
		struct fd_port *p = &a->ports[i];
		if (p->used && p->port == port)
			return p;
	}
	for (int i = 0; i < FD_PORT_SLOTS; i++) {
		struct fd_port *p = &a->ports[i];
		double n = p->used ? hll_estimate(&p->dst) : -1;
		if (least == NULL || n < least_n) {
			least = p;
			least_n = n;
		}
	}
	if (least_n >= FD_PORT_KEEP)
		return NULL;
	hll_reset(&least->dst);
	least->used = true;
	least->port = port;
	least->reported = 0;
	return least;
}

/*
 * scanning, the fan-out: outbound TCP attempts that never completed a handshake (SYN
 * without ACK: unanswered, refused, or reset by a half-open scanner) as distinct
 * destinations per port per window; at the threshold one unit of evidence for the
 * window, the summary brought up to date as for direct_mx.
 */
static void
scan_fanout(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, uint64_t dst_hash, usec_t now)
{
	const struct config_flows *c = &fd->cfg->flows;
	struct fd_active *a = x->act;
	int64_t no = now / c->scan_window;
	struct fd_port *p;
	uint32_t n;

	if ((r->tcp_flags & (TRW_TCP_SYN | TRW_TCP_ACK)) != TRW_TCP_SYN)
		return;
	if (no != a->scan_window) {
		for (int i = 0; i < FD_PORT_SLOTS; i++) {
			hll_reset(&a->ports[i].dst);
			a->ports[i].used = false;
		}
		a->scan_window = no;
	}
	if ((p = port_slot(a, r->dst_port)) == NULL || hll_add(&p->dst, dst_hash) != 1 ||
	    !count_due(&p->dst, c->scan_destinations, p->reported, &n))
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], count[32], win[32], share[64], who[ADDR_TEXT_MAX];
	snprintf(summary, sizeof(summary), "scanned %s addresses on TCP/%u in %s%s", group_digits(n, count, sizeof(count)),
	    p->port, window_words(c->scan_window, win, sizeof(win)), failed_share(&x->trw, share, sizeof(share)));
	bool first = p->reported == 0;
	p->reported = n;
	fd->stats.evidence[FLOW_DETECT_SCANNING]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_SCANNING], first ? 1 : 0, first ? 1 : 0, now, summary);
	log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=scanning reason=fanout port=tcp/%u "
	    "destinations=%u window=%s", addr_format(&x->key, who, sizeof(who)), p->port, n,
	    duration_format(c->scan_window, win, sizeof(win)));
}

/* How long, for a sentence: "40 seconds", "3 minutes", "2 hours". Returns buf. */
static char *
span_words(usec_t d, char *buf, size_t size)
{
	long long s = (long long)(d / USEC_PER_SEC);

	if (s < 120)
		snprintf(buf, size, "%lld second%s", s, s == 1 ? "" : "s");
	else if (s < 7200)
		snprintf(buf, size, "%lld minutes", s / 60);
	else
		snprintf(buf, size, "%lld hours", s / 3600);
	return buf;
}

/* A target as an agent reads it out: "203.0.113.9:80 (TCP)", "[2001:db8::1]:53 (UDP)",
 * "203.0.113.9 (ICMP)". Returns buf. */
static char *
target_words(const struct fd_active *a, char *buf, size_t size)
{
	char ip[ADDR_TEXT_MAX], proto[16];

	addr_format(&a->top, ip, sizeof(ip));
	switch (a->top_proto) {
	case IPPROTO_TCP: snprintf(proto, sizeof(proto), "TCP"); break;
	case IPPROTO_UDP: snprintf(proto, sizeof(proto), "UDP"); break;
	case IPPROTO_ICMP: case IPPROTO_ICMPV6: snprintf(proto, sizeof(proto), "ICMP"); break;
	default: snprintf(proto, sizeof(proto), "protocol %u", a->top_proto); break;
	}
	if (a->top_proto == IPPROTO_TCP || a->top_proto == IPPROTO_UDP)
		snprintf(buf, size, a->top.family == AF_INET6 ? "[%s]:%u (%s)" : "%s:%u (%s)", ip, a->top_port, proto);
	else
		snprintf(buf, size, "%s (%s)", ip, proto);
	return buf;
}

/* Whether x's rates are over outbound_dos's thresholds scaled by scale (1: to begin a
 * flood; 0.5: to go on with one, so that a rate around a threshold is one flood, not many). */
static bool
dos_over(const struct flow_detect *fd, const struct fd_host *x, double scale)
{
	const struct config_flows *c = &fd->cfg->flows;
	double pps = ewma_rate(&fd->ewma, &x->out, EWMA_PACKETS), ratio;

	if (pps >= scale * c->dos_packets || ewma_rate(&fd->ewma, &x->out, EWMA_BITS) >= scale * c->dos_megabits * 1e6 ||
	    ewma_rate(&fd->ewma, &x->out, EWMA_FLOWS) >= scale * c->dos_flows)
		return true;
	return pps >= c->dos_factor_floor && ewma_ratio(&fd->ewma, &x->out, EWMA_PACKETS, &ratio) == 0 &&
	    ratio >= scale * c->dos_factor;
}

/* The flood's summary into out (STORE_SUMMARY_MAX bytes). */
static void
dos_summary(const struct flow_detect *fd, const struct fd_host *x, usec_t now, char *out)
{
	const struct fd_active *a = x->act;
	char pps[32], span[32], target[ADDR_TEXT_MAX + 32];
	double bits = ewma_rate(&fd->ewma, &x->out, EWMA_BITS) / 1e6, ratio;
	int off = snprintf(out, STORE_SUMMARY_MAX, "sent %s packets/s (%.*f Mbit/s)",
	    group_digits((uint64_t)llround(ewma_rate(&fd->ewma, &x->out, EWMA_PACKETS)), pps, sizeof(pps)),
	    bits < 10 ? 1 : 0, bits);

	if (now - x->dos_since >= 10 * USEC_PER_SEC)
		off += snprintf(out + off, STORE_SUMMARY_MAX - (size_t)off, " for %s",
		    span_words(now - x->dos_since, span, sizeof(span)));
	if (ewma_ratio(&fd->ewma, &x->out, EWMA_PACKETS, &ratio) == 0 && isfinite(ratio) && ratio >= 2)
		off += snprintf(out + off, STORE_SUMMARY_MAX - (size_t)off, ", %s times its usual rate",
		    group_digits((uint64_t)llround(ratio), pps, sizeof(pps)));
	if (a->top.family != 0)
		off += snprintf(out + off, STORE_SUMMARY_MAX - (size_t)off, "; top target %s",
		    target_words(a, target, sizeof(target)));
	uint32_t flows = a->flows[0] + a->flows[1], syn = a->syn_only[0] + a->syn_only[1];
	if (syn > 0 && off > 0 && (size_t)off < STORE_SUMMARY_MAX)
		snprintf(out + off, STORE_SUMMARY_MAX - (size_t)off, "; %u %% of its flows SYN only",
		    (unsigned)(100.0 * syn / flows + 0.5));
}

/*
 * outbound_dos: every outbound record of x but those to [flows] allow_destination goes
 * into its rates; when a fold has happened they are compared with the thresholds. A
 * flood begins with one unit of evidence, gets one more each 5 minutes it goes on, and
 * its summary is brought up to date each minute; it ends when the rates fall under half
 * the thresholds.
 */
static void
outbound_dos(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now)
{
	struct fd_active *a = x->act;
	usec_t folded = x->out.last;
	int64_t minute = now / (60 * USEC_PER_SEC);

	if (lpm_lookup(&fd->allowed, &r->dst, NULL, NULL))
		return;
	if (minute != a->minute) {
		bool next = minute == a->minute + 1;
		a->flows[1] = next ? a->flows[0] : 0;
		a->syn_only[1] = next ? a->syn_only[0] : 0;
		a->flows[0] = a->syn_only[0] = 0;
		a->minute = minute;
	}
	a->flows[0] += a->flows[0] < UINT32_MAX;
	if (r->proto == IPPROTO_TCP && (r->tcp_flags & (TRW_TCP_SYN | TRW_TCP_ACK | TRW_TCP_RST | TRW_TCP_FIN)) == TRW_TCP_SYN)
		a->syn_only[0] += a->syn_only[0] < UINT32_MAX;
	if (a->top_weight > 0 && addr_equal(&a->top, &r->dst) && a->top_port == r->dst_port && a->top_proto == r->proto)
		a->top_weight += r->packets;
	else if (a->top_weight > r->packets)
		a->top_weight -= r->packets;
	else {
		a->top = r->dst;
		a->top_port = r->dst_port;
		a->top_proto = r->proto;
		a->top_weight = r->packets - a->top_weight + 1;
	}
	ewma_add(&fd->ewma, &x->out, now, r->packets, r->bytes, 1);
	if (x->out.last == folded)
		return;         /* no new rates: nothing new to tell */
	if (x->dos_since == 0 ? !dos_over(fd, x, 1) : !dos_over(fd, x, 0.5)) {
		x->dos_since = 0;
		return;
	}
	bool begins = x->dos_since == 0, unit = begins || now - x->dos_unit >= 300 * USEC_PER_SEC;
	if (!unit && now - x->dos_told < 60 * USEC_PER_SEC)
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], who[ADDR_TEXT_MAX];
	if (begins)
		x->dos_since = now;
	if (unit)
		x->dos_unit = now;
	x->dos_told = now;
	dos_summary(fd, x, now, summary);
	fd->stats.evidence[FLOW_DETECT_OUTBOUND_DOS]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_OUTBOUND_DOS], unit ? 1 : 0, unit ? 1 : 0, now, summary);
	if (begins)
		log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=outbound_dos packets_per_s=%.0f "
		    "bits_per_s=%.0f flows_per_s=%.1f", addr_format(&x->key, who, sizeof(who)),
		    ewma_rate(&fd->ewma, &x->out, EWMA_PACKETS), ewma_rate(&fd->ewma, &x->out, EWMA_BITS),
		    ewma_rate(&fd->ewma, &x->out, EWMA_FLOWS));
}

/* The service of fd_services an inbound record opens a served connection to, or -1: TCP
 * with ACK in more than 2 packets (any ACK when sampled; a scanner's SYN, SYN+RST or
 * lone probe is not served), or UDP/53. */
static int
hosting_service(const struct flow_record *r)
{
	for (int i = 0; i < FD_SERVICES; i++) {
		if (fd_services[i].proto != r->proto || fd_services[i].port != r->dst_port)
			continue;
		if (r->proto == IPPROTO_UDP)
			return i;
		uint64_t packets = r->sampling > 1 ? r->packets / r->sampling : r->packets;
		return (r->tcp_flags & TRW_TCP_ACK) && (r->sampling > 1 || packets > 2) ? i : -1;
	}
	return -1;
}

/*
 * hosting: r is inbound to host x, a connection served on service svc. Its source counts
 * once per window; at the threshold one unit for the window, the summary brought up to
 * date as for direct_mx, naming the service most served.
 */
static void
hosting(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, int svc, usec_t now)
{
	const struct config_flows *c = &fd->cfg->flows;
	struct fd_active *a = x->act;
	int64_t no = now / c->hosting_window;
	uint32_t n;

	if (no != a->host_window) {
		hll_reset(&a->clients);
		memset(a->served, 0, sizeof(a->served));
		a->host_window = no;
		a->host_reported = 0;
	}
	a->served[svc] += a->served[svc] < UINT32_MAX;
	if (hll_add(&a->clients, hash_bytes(r->src.bytes, r->src.family == AF_INET ? 4 : 16)) != 1 ||
	    !count_due(&a->clients, c->hosting_sources, a->host_reported, &n))
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	int top = 0;
	for (int i = 1; i < FD_SERVICES; i++)
		if (a->served[i] > a->served[top])
			top = i;
	char summary[STORE_SUMMARY_MAX], count[32], win[32], who[ADDR_TEXT_MAX];
	snprintf(summary, sizeof(summary), "served %s outside addresses in %s, most on %s (a web, proxy or DNS "
	    "server on a subscriber line: fast flux or a proxy bot)", group_digits(n, count, sizeof(count)),
	    window_words(c->hosting_window, win, sizeof(win)), fd_services[top].name);
	bool first = a->host_reported == 0;
	a->host_reported = n;
	fd->stats.evidence[FLOW_DETECT_HOSTING]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_HOSTING], first ? 1 : 0, first ? 1 : 0, now, summary);
	log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=hosting clients=%u service=%s window=%s",
	    addr_format(&x->key, who, sizeof(who)), n, fd_services[top].name,
	    duration_format(c->hosting_window, win, sizeof(win)));
}

/* cc_contact: host x sent r to an address on list l. A unit, at most one each
 * FD_CC_EVERY per host (a bot calls its C&C every few seconds). */
static void
cc_contact(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, const struct fd_list *l, usec_t now)
{
	if (x->cc_told != 0 && now - x->cc_told < FD_CC_EVERY)
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], ip[ADDR_TEXT_MAX], who[ADDR_TEXT_MAX];
	addr_format(&r->dst, ip, sizeof(ip));
	if (r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP)
		snprintf(summary, sizeof(summary), r->dst.family == AF_INET6 ? "contacted [%s]:%u (%s), on the list %s" :
		    "contacted %s:%u (%s), on the list %s", ip, r->dst_port, r->proto == IPPROTO_TCP ? "TCP" : "UDP", l->name);
	else
		snprintf(summary, sizeof(summary), "contacted %s (protocol %u), on the list %s", ip, r->proto, l->name);
	x->cc_told = now;
	fd->stats.evidence[FLOW_DETECT_CC_CONTACT]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_CC_CONTACT], 1, 1, now, summary);
	log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=cc_contact list=%s destination=%s port=%u",
	    addr_format(&x->key, who, sizeof(who)), l->name, ip, r->dst_port);
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
		/* inbound: only a served connection makes a host */
		int svc = hosting_service(r);
		struct fd_host *x;
		if (svc < 0 || lpm_lookup(&fd->allowed, &r->src, NULL, NULL) || (x = host_get(fd, &r->dst, now)) == NULL)
			return;
		hosting(fd, x, r, svc, now);
		return;
	}
	struct fd_host *x = host_get(fd, &r->src, now);
	if (x == NULL)
		return;
	outbound_dos(fd, x, r, now);
	for (size_t k = 0; k < fd->list_count; k++)
		if (lpm_lookup(&fd->lists[k].table, &r->dst, NULL, NULL)) {
			cc_contact(fd, x, r, &fd->lists[k], now);
			break;
		}
	if (r->proto != IPPROTO_TCP)
		return;
	uint64_t dst_hash = hash_bytes(r->dst.bytes, r->dst.family == AF_INET ? 4 : 16);
	bool mx = r->dst_port == 25 && !lpm_lookup(&fd->relays, &r->dst, NULL, NULL);
	if (mx)
		direct_mx(fd, x, dst_hash, now);
	scan_walk(fd, x, r, dst_hash, now);
	if (!mx)        /* a spam bot's fan-out on TCP/25 is direct_mx's, not counted twice */
		scan_fanout(fd, x, r, dst_hash, now);
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
		}
	}
	return bytes;
}
