/*
 * flowdetect_rules.c — the flow detectors themselves, one record at a time: direct_mx,
 * scanning (the walk and the fan-out), outbound_dos, hosting, cc_contact, and the words
 * of their summaries. See flowdetect.h for what each looks for, flowdetect_int.h for the
 * state they share.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"
#include "judge/judge.h"
#include "sense/flowdetect_int.h"
#include "store/store.h"

static const struct { uint8_t proto; uint16_t port; const char *name; } fd_services[FD_SERVICES] = {
	{ IPPROTO_TCP, 80, "TCP/80" }, { IPPROTO_TCP, 443, "TCP/443" }, { IPPROTO_TCP, 53, "TCP/53" },
	{ IPPROTO_UDP, 53, "UDP/53" },
};

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

/* Appends to out (STORE_SUMMARY_MAX bytes, *off used): cut at the end, never past it. */
static void __attribute__((format(printf, 3, 4)))
summary_add(char *out, size_t *off, const char *fmt, ...)
{
	va_list ap;

	if (*off >= STORE_SUMMARY_MAX - 1)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(out + *off, STORE_SUMMARY_MAX - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < STORE_SUMMARY_MAX ? *off + (size_t)n : STORE_SUMMARY_MAX - 1;
}

/* A rate for a sentence, whole and bounded (a baseline of almost nothing makes ratios huge). */
static uint64_t
whole(double v)
{
	return !(v > 0) ? 0 : v >= 1e15 ? (uint64_t)1e15 : (uint64_t)llround(v);
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
void
flow_detect_direct_mx(struct flow_detect *fd, struct fd_host *x, uint64_t dst_hash, usec_t now)
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
	size_t off = 0;
	summary_add(summary, &off, "tried to reach %s mail servers directly in %s", group_digits(n, count, sizeof(count)),
	    window_words(c->direct_mx_window, win, sizeof(win)));
	if (fd->cfg->network.relay_count > 0)
		summary_add(summary, &off, "; the relay is %s", addr_format(&fd->cfg->network.relays[0], relay, sizeof(relay)));
	bool first = a->mx_reported == 0;
	a->mx_reported = n;
	fd->stats.evidence[FLOW_DETECT_DIRECT_MX]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_DIRECT_MX], first ? 1 : 0, first ? 1 : 0, now, summary);
	if (first)       /* one line a decision; the summary's updates are not news */
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

/* The walk has just found x a scanner: its one unit of evidence. */
static void
walk_decided(struct flow_detect *fd, struct fd_host *x, usec_t now)
{
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

/*
 * scanning, the walk: each first contact of an outbound TCP record, its outcome from
 * the record (a refused or unanswered attempt is SYN only, a working connection has ACK
 * in more than 2 packets) or, when the record does not say, from the reply's record
 * (NetFlow records one direction): the destination then waits in x's pending ring for
 * flow_detect_scan_reply. The decision is one unit of evidence, once.
 */
void
flow_detect_scan_walk(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, uint64_t dst_hash,
    usec_t now)
{
	struct trw_flow tf = { .proto = r->proto, .tcp_flags = r->tcp_flags, .sampled = r->sampling > 1,
	    .packets = r->sampling > 1 ? r->packets / r->sampling : r->packets };
	enum trw_outcome o = trw_classify_tcp(&tf);
	struct fd_active *a = x->act;
	bool before = x->trw.scanner;

	if (o == TRW_OUTCOME_UNKNOWN && !before) {
		uint32_t key = (uint32_t)dst_hash;
		for (int i = 0; i < a->walk_pending_count; i++)
			if (a->walk_pending[i] == key)
				return;
		a->walk_pending[a->walk_pending_next] = key;
		a->walk_pending_next = (uint8_t)((a->walk_pending_next + 1) % FD_WALK_PENDING);
		if (a->walk_pending_count < FD_WALK_PENDING)
			a->walk_pending_count++;
		return;
	}
	if (trw_observe(&fd->trw, &x->trw, dst_hash, o) == TRW_SCANNER && !before)
		walk_decided(fd, x, now);
}

/*
 * scanning, the walk's replies: an inbound TCP record from an address x contacted with
 * an outcome still unknown (its pending ring) is that contact's reply: SYN and ACK, the
 * destination accepted; a reset without SYN, it refused (trw_classify_tcp's rules 2 and
 * 3). The address leaves the ring either way; any other record leaves it waiting.
 */
void
flow_detect_scan_reply(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now)
{
	struct fd_active *a = x->act;
	uint8_t f = r->tcp_flags;

	if (a->walk_pending_count == 0 || x->trw.scanner ||
	    !((f & (TRW_TCP_SYN | TRW_TCP_ACK)) == (TRW_TCP_SYN | TRW_TCP_ACK) || ((f & TRW_TCP_RST) && !(f & TRW_TCP_SYN))))
		return;
	uint64_t src_hash = hash_bytes(r->src.bytes, r->src.family == AF_INET ? 4 : 16);
	int i;
	for (i = 0; i < a->walk_pending_count && a->walk_pending[i] != (uint32_t)src_hash; i++)
		;
	if (i == a->walk_pending_count)
		return;
	/* out of the ring: the last entry takes its place (the ring's order only picks whom a
	 * full ring forgets first) */
	a->walk_pending[i] = a->walk_pending[--a->walk_pending_count];
	a->walk_pending_next = a->walk_pending_count;
	struct trw_flow tf = { .proto = IPPROTO_TCP, .reply_seen = true, .reply_flags = f };
	if (trw_observe(&fd->trw, &x->trw, src_hash, trw_classify_tcp(&tf)) == TRW_SCANNER)
		walk_decided(fd, x, now);
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

/* The target slot of dst in x's current window: found, free, or taken from the one with
 * the fewest ports (FD_TARGET_SLOTS, FD_PORT_KEEP), its first port port; NULL when every
 * slot has more. *fresh: taken now (port is its first, already counted as lo). */
static struct fd_target *
target_slot(struct fd_active *a, const struct addr *dst, uint16_t port, bool *fresh)
{
	struct fd_target *least = NULL;

	*fresh = false;
	for (int i = 0; i < FD_TARGET_SLOTS; i++) {
		struct fd_target *t = &a->targets[i];
		if (t->dst.family != 0 && addr_equal(&t->dst, dst))
			return t;
		if (least == NULL || t->n < least->n)       /* a free slot's n is 0 */
			least = t;
	}
	if (least->n >= FD_PORT_KEEP)
		return NULL;
	if (least->n > 1)       /* one port has nothing allocated: a horizontal scanner's churn costs no call */
		hll_reset(&least->ports);
	least->dst = *dst;
	least->lo = least->hi = port;
	least->n = 1;
	least->reported = 0;
	*fresh = true;
	return least;
}

/* Adds port to target t: whether it is a distinct port not counted before (t->n then
 * the new count). */
static bool
target_add(struct fd_target *t, uint16_t port)
{
	if (t->n == 1) {
		if (port == t->lo)
			return false;
		uint16_t first = t->lo;
		if (hll_add(&t->ports, hash_bytes(&first, sizeof(first))) < 0)
			return false;
	}
	if (hll_add(&t->ports, hash_bytes(&port, sizeof(port))) != 1)
		return false;
	double est = hll_estimate(&t->ports);
	t->n = est >= UINT32_MAX ? UINT32_MAX : est < 2 ? 2 : (uint32_t)llround(est);
	t->lo = port < t->lo ? port : t->lo;
	t->hi = port > t->hi ? port : t->hi;
	return true;
}

/*
 * scanning, the vertical fan-out: the same failed attempts as distinct ports per
 * destination per window (nmap -p- against one address). At scan_ports on one target
 * the host gets one unit for the window (a scanner of several targets at once is one
 * scanner), and the summary, naming the target and the ports' range, is brought up to
 * date as for direct_mx, for whichever target grew.
 */
static void
scan_vertical(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now)
{
	const struct config_flows *c = &fd->cfg->flows;
	struct fd_active *a = x->act;
	bool fresh;
	struct fd_target *t = target_slot(a, &r->dst, r->dst_port, &fresh);

	if (t == NULL || fresh || !target_add(t, r->dst_port))
		return;
	uint32_t n = t->n;
	if (n < c->scan_ports || (t->reported != 0 && 4 * (uint64_t)n < 5 * (uint64_t)t->reported))
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], count[32], win[32], ip[ADDR_TEXT_MAX], who[ADDR_TEXT_MAX];
	addr_format(&t->dst, ip, sizeof(ip));
	snprintf(summary, sizeof(summary), "probed %s TCP ports of %s in %s (ports %u-%u)",
	    group_digits(n, count, sizeof(count)), ip, window_words(c->scan_window, win, sizeof(win)), t->lo, t->hi);
	bool first = !a->vertical_unit;
	a->vertical_unit = true;
	t->reported = n;
	fd->stats.evidence[FLOW_DETECT_SCANNING]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_SCANNING], first ? 1 : 0, first ? 1 : 0, now, summary);
	if (first)       /* one line a decision; the summary's updates are not news */
		log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=scanning reason=vertical target=%s "
		    "ports=%u window=%s", addr_format(&x->key, who, sizeof(who)), ip, n,
		    duration_format(c->scan_window, win, sizeof(win)));
}

/*
 * scanning, the fan-out: outbound TCP attempts that never completed a handshake (SYN
 * without ACK: unanswered, refused, or reset by a half-open scanner) as distinct
 * destinations per port per window; at the threshold one unit of evidence for the
 * window, the summary brought up to date as for direct_mx. The same attempts go to the
 * vertical fan-out (scan_vertical).
 */
void
flow_detect_scan_fanout(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, uint64_t dst_hash,
    usec_t now)
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
		for (int i = 0; i < FD_TARGET_SLOTS; i++) {
			hll_reset(&a->targets[i].ports);
			a->targets[i].dst.family = 0;
			a->targets[i].n = 0;
		}
		a->vertical_unit = false;
		a->scan_window = no;
	}
	scan_vertical(fd, x, r, now);
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
	if (first)       /* one line a decision; the summary's updates are not news */
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

/* Whether rates h are over outbound_dos's absolute thresholds scaled by scale. */
static bool
rates_over(const struct flow_detect *fd, const struct ewma_host *h, double scale)
{
	const struct config_flows *c = &fd->cfg->flows;

	return ewma_rate(&fd->ewma, h, EWMA_PACKETS) >= scale * c->dos_packets ||
	    ewma_rate(&fd->ewma, h, EWMA_BITS) >= scale * c->dos_megabits * 1e6 ||
	    ewma_rate(&fd->ewma, h, EWMA_FLOWS) >= scale * c->dos_flows;
}

/* Whether x's rates are over outbound_dos's thresholds scaled by scale (1: to begin a
 * flood; 0.5: to go on with one, so that a rate around a threshold is one flood, not many). */
static bool
dos_over(const struct flow_detect *fd, const struct fd_host *x, double scale)
{
	const struct config_flows *c = &fd->cfg->flows;
	double pps = ewma_rate(&fd->ewma, &x->out, EWMA_PACKETS), ratio;

	if (rates_over(fd, &x->out, scale))
		return true;
	return pps >= c->dos_factor_floor && ewma_ratio(&fd->ewma, &x->out, EWMA_PACKETS, &ratio) == 0 &&
	    ratio >= scale * c->dos_factor;
}

/* The flood's summary into out (STORE_SUMMARY_MAX bytes). */
static void
dos_summary(const struct flow_detect *fd, const struct fd_host *x, usec_t now, char *out)
{
	const struct fd_active *a = x->act;
	char num[32], span[32], target[ADDR_TEXT_MAX + 32];
	double bits = ewma_rate(&fd->ewma, &x->out, EWMA_BITS) / 1e6, ratio;
	size_t off = 0;

	out[0] = '\0';
	summary_add(out, &off, "sent %s packets/s (%.*f Mbit/s)",
	    group_digits(whole(ewma_rate(&fd->ewma, &x->out, EWMA_PACKETS)), num, sizeof(num)), bits < 10 ? 1 : 0, bits);
	if (now - x->dos_since >= 10 * USEC_PER_SEC)
		summary_add(out, &off, " for %s", span_words(now - x->dos_since, span, sizeof(span)));
	if (ewma_ratio(&fd->ewma, &x->out, EWMA_PACKETS, &ratio) == 0 && isfinite(ratio) && ratio >= 2)
		summary_add(out, &off, ", %s times its usual rate", group_digits(whole(ratio), num, sizeof(num)));
	if (a->top.family != 0)
		summary_add(out, &off, "; top target %s", target_words(a, target, sizeof(target)));
	uint32_t flows = a->flows[0] + a->flows[1], syn = a->syn_only[0] + a->syn_only[1];
	if (syn > 0)
		summary_add(out, &off, "; %u %% of its flows SYN only", (unsigned)(100.0 * syn / flows + 0.5));
}

/*
 * Whether an outbound record is what a host sends back to traffic it did not ask for:
 * SYN-ACKs (a SYN flood's answers, SYN cookies or not), resets without a SYN of its own
 * (a closed port's answer), ICMP but echo requests (a UDP flood's port unreachables, an
 * echo flood's replies; the type is in the destination port's high byte, as NetFlow and
 * IPFIX exporters put it). A flow of SYN and RST is a flooder's or a scanner's own: its
 * SYN, and the reset its kernel sends to the answer (hping3, nmap -sS), in one record.
 */
static bool
is_reply(const struct flow_record *r)
{
	uint8_t flags = r->tcp_flags;

	switch (r->proto) {
	case IPPROTO_ICMP: return r->dst_port >> 8 != 8;
	case IPPROTO_ICMPV6: return r->dst_port >> 8 != 128;
	case IPPROTO_TCP:
		return (flags & (TRW_TCP_SYN | TRW_TCP_ACK)) == (TRW_TCP_SYN | TRW_TCP_ACK) ||
		    ((flags & TRW_TCP_RST) && !(flags & TRW_TCP_SYN));
	default: return false;
	}
}

/*
 * Whether x, whose outbound rates are over the thresholds, is only answering a flood it
 * receives: flooded now (or its inbound rates, folded to now, over half the thresholds:
 * the replies may be read before the flood they answer) and at least half of its
 * outbound packets in this minute and the last were replies. A victim answering 30 000
 * SYNs/s with 30 000 SYN-ACKs/s is not an attacker; an attacker flooded back is, its own
 * packets being SYNs, not replies.
 */
static bool
dos_is_answer(const struct flow_detect *fd, struct fd_host *x, usec_t now)
{
	struct fd_active *a = x->act;
	uint64_t all = a->packets[0] + a->packets[1], replies = a->replies[0] + a->replies[1];

	if (2 * replies < all)
		return false;
	ewma_update(&fd->ewma, &a->in, now);
	return a->in_since != 0 || rates_over(fd, &a->in, 0.5);
}

/*
 * outbound_dos: every outbound record of x but those to [flows] allow_destination goes
 * into its rates; when a fold has happened they are compared with the thresholds. A
 * flood begins with one unit of evidence, gets one more each 5 minutes it goes on, and
 * its summary is brought up to date each minute; it ends when the rates fall under half
 * the thresholds. A host over them with replies to a flood it receives (dos_is_answer)
 * does not begin one.
 */
void
flow_detect_outbound_dos(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now)
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
		a->packets[1] = next ? a->packets[0] : 0;
		a->replies[1] = next ? a->replies[0] : 0;
		a->flows[0] = a->syn_only[0] = 0;
		a->packets[0] = a->replies[0] = 0;
		a->minute = minute;
	}
	a->flows[0] += a->flows[0] < UINT32_MAX;
	a->packets[0] += r->packets;
	if (is_reply(r))
		a->replies[0] += r->packets;
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
	if (begins && dos_is_answer(fd, x, now))
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

/*
 * Inbound floods: every inbound record to active host x but those from allow_destination
 * (the caller's) goes into its inbound rates, compared after a fold with outbound_dos's
 * absolute thresholds (the host's usual inbound rate is no measure: a download is many
 * times it). A flood begins over them and ends under half, as outbound; its beginning is
 * one log line and a count, and nothing for the judge: the host is the victim. The top
 * source is a one-counter Misra-Gries by packets, as outbound_dos's top target.
 */
void
flow_detect_inbound(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, usec_t now)
{
	struct fd_active *a = x->act;

	if (a->in_top_weight > 0 && addr_equal(&a->in_top, &r->src))
		a->in_top_weight += r->packets;
	else if (a->in_top_weight > r->packets)
		a->in_top_weight -= r->packets;
	else {
		a->in_top = r->src;
		a->in_top_weight = r->packets - a->in_top_weight + 1;
	}
	ewma_add(&fd->ewma, &a->in, now, r->packets, r->bytes, 1);
	if (a->in.last == a->in_checked)
		return;         /* no new rates (dos_is_answer may have folded them: checked here all the same) */
	a->in_checked = a->in.last;
	if (!rates_over(fd, &a->in, a->in_since == 0 ? 1 : 0.5)) {
		a->in_since = 0;
		return;
	}
	if (a->in_since != 0)
		return;
	a->in_since = now;
	fd->stats.inbound_floods++;
	char who[ADDR_TEXT_MAX], top[ADDR_TEXT_MAX];
	log_limited(&fd->log, LOG_LEVEL_WARN, "flows: host=%s reason=inbound_flood pps=%.0f bits_per_s=%.0f "
	    "flows_per_s=%.1f top_source=%s", addr_format(&x->key, who, sizeof(who)),
	    ewma_rate(&fd->ewma, &a->in, EWMA_PACKETS), ewma_rate(&fd->ewma, &a->in, EWMA_BITS),
	    ewma_rate(&fd->ewma, &a->in, EWMA_FLOWS), addr_format(&a->in_top, top, sizeof(top)));
}

/* The service of fd_services an inbound record opens a served connection to, or -1: TCP
 * with ACK in more than 2 packets (any ACK when sampled; a scanner's SYN, SYN+RST or
 * lone probe is not served), or UDP/53. */
int
flow_detect_hosting_service(const struct flow_record *r)
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
void
flow_detect_hosting(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, int svc, usec_t now)
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
	if (first)       /* one line a decision; the summary's updates are not news */
		log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=hosting clients=%u service=%s window=%s",
		    addr_format(&x->key, who, sizeof(who)), n, fd_services[top].name,
		    duration_format(c->hosting_window, win, sizeof(win)));
}

/* Whether a count of n contacts is worth a summary again: each of the first 7, then
 * n with bits in its two highest places only (8, 12, 16, 24, 32...): the summary is exact
 * when written and never more than half behind, and a bot beaconing each second asks the
 * judge a dozen times in its 10 minutes, not 600. */
static bool
contacts_due(uint32_t n)
{
	if (n < 8)
		return true;
	int msb = 31 - __builtin_clz(n);
	return (n & ~(3u << (msb - 1))) == 0;
}

/*
 * cc_contact: host x sent r to an address on list l, its entry's port and family in
 * value (sense/blocklist.h). A unit at most each FD_CC_EVERY per host (a bot calls its
 * C&C every few seconds); the contacts in between counted and the summary brought up to
 * date with their number (contacts_due). A list that names the C&C's family (Feodo) is
 * a list of command-and-control servers: the summary says whose; a contact on another
 * port than the list's still counts (a bot may fall back to another port, and the
 * address is the server's either way) and the summary says which port the list gives,
 * so that an agent can tell a shared host's other service from the C&C itself.
 */
void
flow_detect_cc_contact(struct flow_detect *fd, struct fd_host *x, const struct flow_record *r, const struct fd_list *l,
    uint32_t value, usec_t now)
{
	bool unit = x->cc_told == 0 || now - x->cc_told >= FD_CC_EVERY;

	if (unit)
		x->cc_contacts = 1;
	else if (x->cc_contacts == UINT32_MAX || !contacts_due(++x->cc_contacts))
		return;
	struct subject *s = judge_host(fd->judge, &x->key, now);
	if (s == NULL)
		return;
	char summary[STORE_SUMMARY_MAX], ip[ADDR_TEXT_MAX], who[ADDR_TEXT_MAX], num[32], span[32];
	const char *family = blocklist_family(&l->families, value);
	uint16_t port = BLOCKLIST_PORT(value);
	bool ports = r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP;
	size_t off = 0;
	addr_format(&r->dst, ip, sizeof(ip));
	if (ports)
		summary_add(summary, &off, r->dst.family == AF_INET6 ? "contacted [%s]:%u (%s)" : "contacted %s:%u (%s)", ip,
		    r->dst_port, r->proto == IPPROTO_TCP ? "TCP" : "UDP");
	else
		summary_add(summary, &off, "contacted %s (protocol %u)", ip, r->proto);
	if (value == 0)         /* a list of networks (DROP, plain): what they are is the list's */
		summary_add(summary, &off, ", on the list %s", l->name);
	else if (family != NULL)
		summary_add(summary, &off, ", %s %s command-and-control server on the list %s",
		    strchr("AEIOUaeiou", family[0]) != NULL ? "an" : "a", family, l->name);
	else
		summary_add(summary, &off, ", a command-and-control server on the list %s", l->name);
	if (port != 0 && (!ports || port != r->dst_port))
		summary_add(summary, &off, " (listed on port %u: perhaps another service of that address)", port);
	if (x->cc_contacts > 1)
		summary_add(summary, &off, "; %s contacts with listed addresses in %s",
		    group_digits(x->cc_contacts, num, sizeof(num)), span_words(now - x->cc_told, span, sizeof(span)));
	if (unit)
		x->cc_told = now;
	fd->stats.evidence[FLOW_DETECT_CC_CONTACT]++;
	judge_add_evidence(fd->judge, s, fd->kind[FLOW_DETECT_CC_CONTACT], unit ? 1 : 0, unit ? 1 : 0, now, summary);
	if (unit)       /* one line a decision; the count's updates are not news */
		log_limited(&fd->log, LOG_LEVEL_INFO, "flows: host=%s evidence=cc_contact list=%s destination=%s port=%u "
		    "family=%s listed_port=%u", addr_format(&x->key, who, sizeof(who)), l->name, ip, r->dst_port,
		    family != NULL ? family : "-", port);
}
