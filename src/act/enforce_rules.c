/*
 * enforce_rules.c — the nft scripts behind enforcement, as pure functions: the
 * ruleset that setup loads, the element batches of apply and reconcile, and the
 * parser of `list set` output. Every address in a script is formatted here from a
 * parsed struct addr or struct cidr; nothing else reaches the text but the table
 * name, which must be a plain identifier.
 */
#include "act/enforce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Elements per `add element`/`delete element` command. A batch is one transaction
 * whatever the number of commands; bounded commands keep nft's error messages (which
 * quote the whole offending line) short.
 */
#define ENFORCE_CHUNK 1024

#define ENFORCE_DEFAULT_TABLE "lazaret"

/*
 * IPv6 hosts are quarantined by /64: quarantine_v6 is a hash set of /64 network
 * addresses, matched with the source address masked. Not an interval set: nft 1.0.6
 * loads and re-checks every element of an interval set on each change (a batch took
 * 2-3 s with 100 000 of them present) and its deletes are quadratic (4 000 took 8 s).
 */
#define ENFORCE_V6_PREFIX 64
#define V6_MASK "& ffff:ffff:ffff:ffff::"

/* ---- a string buffer: fixed (enforce_ruleset) or growing (the batches) ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool fixed;
	int err;                /* 0, -ENOSPC (fixed and full) or -ENOMEM */
};

static void
sb_reserve(struct sbuf *b, size_t more)
{
	size_t want = b->len + more + 1;

	if (b->err != 0 || want <= b->cap)
		return;
	if (b->fixed) {
		b->err = -ENOSPC;
		return;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < want)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->err = -ENOMEM;
		return;
	}
	b->p = p;
	b->cap = cap;
	b->p[b->len] = '\0';
}

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (b->err != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (b->err == 0)
			b->err = -EINVAL;       /* no line of ours is that long */
		return;
	}
	sb_put(b, tmp, (size_t)n);
}

/* ---- formatting what we parsed ---- */

/* An address, or "addr/prefix" when the prefix is shorter than the address. */
static size_t
fmt_cidr(const struct cidr *c, char *out, size_t size)
{
	unsigned bits = c->addr.family == AF_INET ? 32 : 128;

	if (inet_ntop(c->addr.family, c->addr.bytes, out, (socklen_t)size) == NULL) {
		out[0] = '\0';
		return 0;
	}
	size_t n = strlen(out);
	if (c->prefix < bits)
		n += (size_t)snprintf(out + n, size - n, "/%u", c->prefix);
	return n;
}

static size_t
fmt_addr(const struct addr *a, char *out, size_t size)
{
	struct cidr c = { .addr = *a, .prefix = a->family == AF_INET ? 32 : 128 };
	return fmt_cidr(&c, out, size);
}

static bool
family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* The table name: the configured one, or "lazaret"; NULL unless a plain identifier. */
static const char *
table_name(const struct enforce_config *cfg)
{
	const char *t = cfg != NULL && cfg->table[0] != '\0' ? cfg->table : ENFORCE_DEFAULT_TABLE;
	size_t n = strnlen(t, sizeof(cfg->table));

	if (n == 0 || n >= sizeof(cfg->table))
		return NULL;
	if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
		return NULL;
	for (size_t i = 1; i < n; i++) {
		char ch = t[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return NULL;
	}
	return t;
}

/* Seconds, rounded up, of an element timeout; 0 for none. */
static uint64_t
timeout_seconds(usec_t t)
{
	if (t <= 0)
		return 0;
	return ((uint64_t)t + (uint64_t)USEC_PER_SEC - 1) / (uint64_t)USEC_PER_SEC;
}

/* ---- the ruleset ---- */

/* `set NAME { type T; [flags F;] [auto-merge;] elements = { ... } }` of the elements of one family. */
static void
rs_set_cidrs(struct sbuf *b, const char *name, int family, const char *flags, const struct cidr *v, size_t n)
{
	char a[ADDR_TEXT_MAX];
	bool first = true;

	sb_printf(b, "\tset %s {\n\t\ttype %s\n", name, family == AF_INET ? "ipv4_addr" : "ipv6_addr");
	if (flags != NULL)
		sb_printf(b, "\t\tflags %s\n", flags);
	if (flags != NULL && strcmp(flags, "interval") == 0)
		sb_puts(b, "\t\tauto-merge\n");      /* overlapping configured ranges merge instead of failing */
	for (size_t i = 0; i < n; i++) {
		if (v[i].addr.family != family)
			continue;
		fmt_cidr(&v[i], a, sizeof(a));
		sb_puts(b, first ? "\t\telements = { " : ",\n\t\t\t     ");
		sb_puts(b, a);
		first = false;
	}
	if (!first)
		sb_puts(b, " }\n");
	sb_puts(b, "\t}\n");
}

static void
rs_set_addrs(struct sbuf *b, const char *name, int family, const struct addr *v, size_t n)
{
	struct cidr c[ENFORCE_MAX_LIST];

	n = n > ENFORCE_MAX_LIST ? ENFORCE_MAX_LIST : n;
	for (size_t i = 0; i < n; i++) {
		c[i].addr = v[i];
		c[i].prefix = v[i].family == AF_INET ? 32 : 128;
	}
	rs_set_cidrs(b, name, family, NULL, c, n);
}

/* The allow rule of one remediation destination; -1 if it is not one we can express. */
static int
rs_remediation(struct sbuf *b, const struct enforce_dest *d)
{
	char a[ADDR_TEXT_MAX];
	const char *ip = d->net.addr.family == AF_INET ? "ip" : "ip6";

	if (!family_ok(d->net.addr.family))
		return -1;
	fmt_cidr(&d->net, a, sizeof(a));
	if (d->proto != 0 && d->proto != IPPROTO_TCP && d->proto != IPPROTO_UDP)
		return -1;
	const char *proto = d->proto == IPPROTO_TCP ? "tcp" : "udp";
	if (d->port == 0 && d->proto == 0)
		sb_printf(b, "\t\t%s daddr %s meta l4proto { tcp, udp } accept\n", ip, a);
	else if (d->port == 0)
		sb_printf(b, "\t\t%s daddr %s meta l4proto %s accept\n", ip, a, proto);
	else if (d->proto == 0)
		sb_printf(b, "\t\t%s daddr %s meta l4proto { tcp, udp } th dport %u accept\n", ip, a, d->port);
	else
		sb_printf(b, "\t\t%s daddr %s %s dport %u accept\n", ip, a, proto, d->port);
	return 0;
}

/*
 * The set of destinations whose TCP/80 a quarantined host reaches as it is, not through
 * the portal's DNAT: remediation entries that allow TCP port 80 (Windows Update and many
 * antivirus definitions download over plain HTTP) and the resolvers.
 */
static void
rs_set_portal_bypass(struct sbuf *b, const char *name, int family, const struct enforce_config *cfg)
{
	struct cidr c[2 * ENFORCE_MAX_LIST];
	size_t n = 0;

	for (size_t i = 0; i < cfg->remediation_count && i < ENFORCE_MAX_LIST; i++) {
		const struct enforce_dest *d = &cfg->remediation[i];
		if ((d->proto == 0 || d->proto == IPPROTO_TCP) && (d->port == 0 || d->port == 80))
			c[n++] = d->net;
	}
	for (size_t i = 0; i < cfg->resolver_count && i < ENFORCE_MAX_LIST; i++) {
		c[n].addr = cfg->resolvers[i];
		c[n++].prefix = cfg->resolvers[i].family == AF_INET ? 32 : 128;
	}
	rs_set_cidrs(b, name, family, "interval", c, n);
}

/*
 * The ruleset. Only the forward path is filtered: traffic to the gateway itself
 * (DHCP, neighbour discovery, a portal or resolver on the gateway) is left to the
 * operator's own input policy, since rejecting it here could take a quarantined host
 * off the network, and an accept here cannot override another table's drop anyway.
 *
 * Quarantined hosts: packets of connections opened towards them (ct direction reply)
 * and related ICMP pass; packets they send are checked on every packet, established
 * or not, so a connection opened before the quarantine (to a C&C server, say) is cut
 * as well. TCP/80 was DNAT'ed to the portal in prerouting, except to remediation sites
 * and resolvers (portal_bypass_*): a local portal is reached through input, a remote one
 * by the portal rule here.
 */
int
enforce_ruleset(const struct enforce_config *cfg, char *buf, size_t size)
{
	struct sbuf b = { .p = buf, .cap = size, .fixed = true };
	const char *t = table_name(cfg);
	char a[ADDR_TEXT_MAX];
	const char *reject = "reject with icmpx type admin-prohibited";

	if (t == NULL || cfg->subscriber_count > ENFORCE_MAX_LIST || cfg->relay_count > ENFORCE_MAX_LIST ||
	    cfg->resolver_count > ENFORCE_MAX_LIST || cfg->remediation_count > ENFORCE_MAX_LIST ||
	    (cfg->portal_v4.family != 0 && cfg->portal_v4.family != AF_INET) ||
	    (cfg->portal_v6.family != 0 && cfg->portal_v6.family != AF_INET6)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < cfg->subscriber_count; i++)
		if (!family_ok(cfg->subscribers[i].addr.family))
			t = NULL;
	for (size_t i = 0; i < cfg->relay_count; i++)
		if (!family_ok(cfg->relays[i].family))
			t = NULL;
	for (size_t i = 0; i < cfg->resolver_count; i++)
		if (!family_ok(cfg->resolvers[i].family))
			t = NULL;
	if (t == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (size == 0) {
		errno = ENOSPC;
		return -1;
	}
	buf[0] = '\0';
	uint16_t pport = cfg->portal_port ? cfg->portal_port : 80;

	/* add+delete makes the delete succeed on a first start: one transaction replaces the table. */
	sb_printf(&b, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", t, t, t);
	sb_puts(&b, "\tset quarantine_v4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n");
	/* the /64 network addresses of quarantined IPv6 hosts, looked up with the source masked */
	sb_puts(&b, "\tset quarantine_v6 {\n\t\ttype ipv6_addr\n\t\tflags timeout\n\t}\n");
	rs_set_cidrs(&b, "subscribers_v4", AF_INET, "interval", cfg->subscribers, cfg->subscriber_count);
	rs_set_cidrs(&b, "subscribers_v6", AF_INET6, "interval", cfg->subscribers, cfg->subscriber_count);
	rs_set_addrs(&b, "relays_v4", AF_INET, cfg->relays, cfg->relay_count);
	rs_set_addrs(&b, "relays_v6", AF_INET6, cfg->relays, cfg->relay_count);
	rs_set_addrs(&b, "resolvers_v4", AF_INET, cfg->resolvers, cfg->resolver_count);
	rs_set_addrs(&b, "resolvers_v6", AF_INET6, cfg->resolvers, cfg->resolver_count);
	rs_set_portal_bypass(&b, "portal_bypass_v4", AF_INET, cfg);
	rs_set_portal_bypass(&b, "portal_bypass_v6", AF_INET6, cfg);

	sb_puts(&b, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	if (cfg->portal_v4.family == AF_INET) {
		fmt_addr(&cfg->portal_v4, a, sizeof(a));
		sb_printf(&b, "\t\tip saddr @quarantine_v4 ip daddr != @portal_bypass_v4 tcp dport 80 dnat ip to %s:%u\n", a, pport);
	}
	if (cfg->portal_v6.family == AF_INET6) {
		fmt_addr(&cfg->portal_v6, a, sizeof(a));
		sb_printf(&b, "\t\tip6 saddr " V6_MASK " @quarantine_v6 ip6 daddr != @portal_bypass_v6 tcp dport 80 dnat ip6 to [%s]:%u\n", a, pport);
	}
	sb_puts(&b, "\t}\n");

	sb_puts(&b, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n");
	sb_puts(&b, "\t\tip saddr @quarantine_v4 jump quarantined\n");
	sb_puts(&b, "\t\tip6 saddr " V6_MASK " @quarantine_v6 jump quarantined\n");
	sb_printf(&b, "\t\tip saddr @subscribers_v4 tcp dport 25 ip daddr != @relays_v4 %s\n", reject);
	sb_printf(&b, "\t\tip6 saddr @subscribers_v6 tcp dport 25 ip6 daddr != @relays_v6 %s\n", reject);
	sb_puts(&b, "\t}\n");

	sb_puts(&b, "\tchain quarantined {\n");
	sb_puts(&b, "\t\tct direction reply accept\n");
	sb_puts(&b, "\t\tct state related accept\n");
	sb_puts(&b, "\t\tip daddr @resolvers_v4 meta l4proto { tcp, udp } th dport 53 accept\n");
	sb_puts(&b, "\t\tip6 daddr @resolvers_v6 meta l4proto { tcp, udp } th dport 53 accept\n");
	if (cfg->portal_v4.family == AF_INET) {
		fmt_addr(&cfg->portal_v4, a, sizeof(a));
		sb_printf(&b, "\t\tip daddr %s tcp dport %u accept\n", a, pport);
	}
	if (cfg->portal_v6.family == AF_INET6) {
		fmt_addr(&cfg->portal_v6, a, sizeof(a));
		sb_printf(&b, "\t\tip6 daddr %s tcp dport %u accept\n", a, pport);
	}
	for (size_t i = 0; i < cfg->remediation_count; i++) {
		if (rs_remediation(&b, &cfg->remediation[i]) != 0) {
			buf[0] = '\0';
			errno = EINVAL;
			return -1;
		}
	}
	sb_puts(&b, "\t\ttcp dport 443 reject with tcp reset\n");
	sb_printf(&b, "\t\t%s\n", reject);
	sb_puts(&b, "\t}\n}\n");

	if (b.err != 0) {
		buf[0] = '\0';
		errno = -b.err;
		return -1;
	}
	return (int)b.len;
}

/* ---- element batches ---- */

struct elem {
	struct cidr net;
	uint64_t timeout;       /* seconds; 0: none */
	size_t order;           /* position in the request: of identical elements the last wins */
	bool add;
	bool fresh;             /* an add of an element known to be absent: no delete first */
};

static int
elem_cmp(const void *pa, const void *pb)
{
	const struct elem *x = pa, *y = pb;
	int c;

	if (x->net.addr.family != y->net.addr.family)
		return x->net.addr.family == AF_INET ? -1 : 1;
	if ((c = memcmp(x->net.addr.bytes, y->net.addr.bytes, 16)) != 0)
		return c;
	if (x->net.prefix != y->net.prefix)
		return x->net.prefix < y->net.prefix ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Checks and masks one element; -EINVAL unless an IPv4 /32 or an IPv6 /64. */
static int
elem_init(struct elem *e, const struct cidr *net, uint64_t timeout, size_t order, bool add, bool fresh)
{
	if (net->addr.family == AF_INET) {
		if (net->prefix != 32)
			return -EINVAL;         /* quarantine_v4 holds hosts, not ranges */
	} else if (net->addr.family == AF_INET6) {
		if (net->prefix != ENFORCE_V6_PREFIX)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	memset(e, 0, sizeof(*e));
	e->net.addr.family = net->addr.family;
	memcpy(e->net.addr.bytes, net->addr.bytes, net->addr.family == AF_INET ? 4 : 16);
	e->net.prefix = net->prefix;
	addr_mask(&e->net.addr, e->net.prefix);
	e->timeout = timeout;
	e->order = order;
	e->add = add;
	e->fresh = add && fresh;
	return 0;
}

/*
 * Sorts v and merges identical elements: the last in request order wins, and adds
 * are ordered after removals, so an element both removed and added stays, refreshed.
 * A command naming an element twice would fail (its second delete finds nothing).
 * Returns the new count.
 */
static size_t
elems_normalise(struct elem *v, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), elem_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && v[i + 1].net.addr.family == v[i].net.addr.family &&
		    memcmp(v[i + 1].net.addr.bytes, v[i].net.addr.bytes, 16) == 0)
			continue;       /* a later identical element replaces this one */
		v[out++] = v[i];
	}
	return out;
}

/* Which elements of a batch a command names. */
enum elem_pick {
	PICK_TOUCHED,   /* removals and refreshes: all but the fresh adds */
	PICK_ADDS,      /* every add */
};

/*
 * One command per chunk of the elements of family in v that pick selects:
 * "VERB element inet T SET { e1[ timeout Ns], ... }".
 */
static void
emit_elements(struct sbuf *b, const char *verb, const char *table, const struct elem *v, size_t n, int family,
              enum elem_pick pick, bool with_timeout)
{
	const char *set = family == AF_INET ? "quarantine_v4" : "quarantine_v6";
	char a[ADDR_TEXT_MAX + 32];
	size_t in_chunk = 0;

	for (size_t i = 0; i < n && b->err == 0; i++) {
		if (v[i].net.addr.family != family || (pick == PICK_ADDS && !v[i].add) ||
		    (pick == PICK_TOUCHED && v[i].fresh))
			continue;
		if (in_chunk == 0)
			sb_printf(b, "%s element inet %s %s { ", verb, table, set);
		else
			sb_put(b, ", ", 2);
		size_t len = fmt_addr(&v[i].net.addr, a, sizeof(a));   /* v6: the /64 network address */
		if (with_timeout && v[i].timeout != 0)
			len += (size_t)snprintf(a + len, sizeof(a) - len, " timeout %llus", (unsigned long long)v[i].timeout);
		sb_put(b, a, len);
		if (++in_chunk == ENFORCE_CHUNK) {
			sb_put(b, " }\n", 3);
			in_chunk = 0;
		}
	}
	if (in_chunk != 0)
		sb_put(b, " }\n", 3);
}

static uint64_t
entry_timeout(const struct enforce_config *cfg, const struct enforce_entry *e)
{
	return timeout_seconds(e->timeout != 0 ? e->timeout : cfg->element_timeout);
}

/* A batch's end: the script into *out and its length, or (on rc or the builder's own
 * error) nothing and that error; the elements go either way. */
static int
batch_end(struct sbuf *b, struct elem *v, int rc, char **out)
{
	free(v);
	if (rc == 0 && (rc = b->err) == 0 && b->len > INT_MAX)
		rc = -E2BIG;
	if (rc != 0) {
		free(b->p);
		return rc;
	}
	*out = b->p;
	return (int)b->len;
}

/*
 * enforce_batch — see enforce.h. Per family, in one script: `add element` of every
 * added and removed element (a no-op for those present), `delete element` of the
 * same (so no delete can fail on an absent element, which would fail the batch:
 * nft 1.0.6 has no `destroy`), then `add element` of the added ones with their
 * timeouts, which therefore restart. Returns the script's length (0: nothing to do,
 * *out is then an empty string) or -EINVAL (an IPv4 entry that is not a /32, an
 * IPv6 entry that is not a /64, an unknown family, a bad table name) or -ENOMEM.
 */
int
enforce_batch(const struct enforce_config *cfg, const struct enforce_entry *add, size_t nadd,
              const struct cidr *del, size_t ndel, char **out)
{
	const char *t = table_name(cfg);
	struct sbuf b = { 0 };
	struct elem *v = NULL;
	size_t n;
	int rc;

	*out = NULL;
	if (t == NULL)
		return -EINVAL;
	if (nadd + ndel < nadd || nadd + ndel > SIZE_MAX / sizeof(*v))
		return -ENOMEM;
	if (nadd + ndel > 0 && (v = malloc((nadd + ndel) * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < ndel; i++)
		if ((rc = elem_init(&v[i], &del[i], 0, i, false, false)) != 0)
			goto fail;
	for (size_t i = 0; i < nadd; i++)
		if ((rc = elem_init(&v[ndel + i], &add[i].net, entry_timeout(cfg, &add[i]), ndel + i, true,
		    add[i].fresh)) != 0)
			goto fail;
	n = elems_normalise(v, nadd + ndel);
	sb_reserve(&b, n * 3 * 64);
	for (int f = 0; f < 2; f++) {
		int family = f == 0 ? AF_INET : AF_INET6;
		emit_elements(&b, "add", t, v, n, family, PICK_TOUCHED, false);
		emit_elements(&b, "delete", t, v, n, family, PICK_TOUCHED, false);
		emit_elements(&b, "add", t, v, n, family, PICK_ADDS, true);
	}
	rc = 0;
fail:
	return batch_end(&b, v, rc, out);
}

/*
 * enforce_reconcile_batch — the script of reconcile: flush both quarantine sets and
 * add exactly all[0..n) with their timeouts, in one transaction. Same returns and
 * checks as enforce_batch; never empty.
 */
int
enforce_reconcile_batch(const struct enforce_config *cfg, const struct enforce_entry *all, size_t n,
                        char **out)
{
	const char *t = table_name(cfg);
	struct sbuf b = { 0 };
	struct elem *v = NULL;
	size_t m;
	int rc;

	*out = NULL;
	if (t == NULL)
		return -EINVAL;
	if (n > SIZE_MAX / sizeof(*v))
		return -ENOMEM;
	if (n > 0 && (v = malloc(n * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((rc = elem_init(&v[i], &all[i].net, entry_timeout(cfg, &all[i]), i, true, false)) != 0)
			goto fail;
	m = elems_normalise(v, n);
	sb_reserve(&b, m * 64 + 256);
	sb_printf(&b, "flush set inet %s quarantine_v4\nflush set inet %s quarantine_v6\n", t, t);
	emit_elements(&b, "add", t, v, m, AF_INET, PICK_ADDS, true);
	emit_elements(&b, "add", t, v, m, AF_INET6, PICK_ADDS, true);
	rc = 0;
fail:
	return batch_end(&b, v, rc, out);
}

#define ENFORCE_LOG_ELEMENTS 8

void
enforce_elements_text(const struct enforce_entry *e, const struct cidr *c, size_t n, char *out, size_t size)
{
	size_t len = 0;
	char a[ADDR_TEXT_MAX];

	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < n && i < ENFORCE_LOG_ELEMENTS && len < size; i++) {
		const struct cidr *net = e != NULL ? &e[i].net : &c[i];
		if (net->addr.family == AF_INET && net->prefix == 32)
			addr_format(&net->addr, a, sizeof(a));
		else
			cidr_format(net, a, sizeof(a));
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", a);
	}
	if (n > ENFORCE_LOG_ELEMENTS && len < size)
		snprintf(out + len, size - len, " (+%zu more)", n - ENFORCE_LOG_ELEMENTS);
	if (n == 0)
		snprintf(out, size, "-");
}

/* ---- reading `list set` output ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * enforce_parse_elements — the elements of every `elements = { ... }` block in the
 * text of `nft list set` (one or more sets): "192.0.2.7 timeout 1h expires 59m58s",
 * "2001:db8:1::/64 timeout ...", separated by commas and line breaks. Each becomes a
 * cidr (a bare address is a host prefix) in *out (malloc'ed, the caller frees it).
 * Returns 0, -EINVAL on an element that is not an address or prefix (a range, say),
 * or -ENOMEM.
 */
int
enforce_parse_elements(const char *text, struct cidr **out, size_t *n)
{
	static const char marker[] = "elements = {";
	struct cidr *v = NULL;
	size_t len = 0, cap = 0;
	const char *p = text;

	*out = NULL;
	*n = 0;
	while ((p = strstr(p, marker)) != NULL) {
		p += sizeof(marker) - 1;
		for (;;) {
			while (is_space(*p))
				p++;
			if (*p == '}') {
				p++;
				break;
			}
			const char *tok = p;
			while (*p != '\0' && !is_space(*p) && *p != ',' && *p != '}')
				p++;
			size_t tl = (size_t)(p - tok);
			char word[ADDR_TEXT_MAX];
			struct cidr c;
			if (tl == 0 || tl >= sizeof(word))
				goto bad;
			memcpy(word, tok, tl);
			word[tl] = '\0';
			if (cidr_parse(word, &c) != 0)
				goto bad;
			if (len == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct cidr *nv = realloc(v, ncap * sizeof(*v));
				if (nv == NULL) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
				cap = ncap;
			}
			v[len++] = c;
			/* the rest of the element: "timeout 1h expires 59m", a comment, ... */
			while (*p != '\0' && *p != ',' && *p != '}')
				p++;
			if (*p == ',')
				p++;
			else if (*p == '\0')
				goto bad;
		}
	}
	*out = v;
	*n = len;
	return 0;
bad:
	free(v);
	return -EINVAL;
}
