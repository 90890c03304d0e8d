/*
 * enforce_none.c — the backend that enforces nothing: it logs a summary of each
 * batch it would apply and keeps the quarantine sets in memory, timeouts included,
 * so that `list` answers as the kernel would. For enforcement = none and for running
 * without privilege. It refuses the same batches the nft backend would.
 */
#include "act/enforce.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

/* Elements named in a log line before "... (+N more)". */

struct none_elem {
	struct cidr net;
	usec_t expires;         /* monotonic; 0: never */
	size_t order;
};

struct enforce_none {
	struct enforce_config cfg;
	struct none_elem *v;    /* sorted by cidr, no duplicates (after none_compact) */
	size_t n, cap;
	size_t sorted;          /* v[0..sorted) as the last none_compact left it; appended after */
};

void *
enforce_none_new(void)
{
	struct enforce_none *b = calloc(1, sizeof(*b));

	if (b != NULL)
		snprintf(b->cfg.table, sizeof(b->cfg.table), "lazaret");
	return b;
}

static int
cidr_cmp(const struct cidr *x, const struct cidr *y)
{
	int c;

	if (x->addr.family != y->addr.family)
		return x->addr.family == AF_INET ? -1 : 1;
	if ((c = memcmp(x->addr.bytes, y->addr.bytes, 16)) != 0)
		return c;
	return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

static int
none_elem_cmp(const void *pa, const void *pb)
{
	const struct none_elem *x = pa, *y = pb;
	int c = cidr_cmp(&x->net, &y->net);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
none_reserve(struct enforce_none *b, size_t more)
{
	if (b->n + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + more)
		cap *= 2;
	struct none_elem *v = realloc(b->v, cap * sizeof(*v));
	if (v == NULL)
		return -1;
	b->v = v;
	b->cap = cap;
	return 0;
}

/*
 * Sorts, keeps the last of identical elements, drops the expired (and the marked: expires < 0).
 * Only what was appended since the last time is sorted, then merged with the rest: a garden
 * of half a million elements (2 000 quarantined /56s) changed by a few is not sorted whole
 * at every batch.
 */
static void
none_compact(struct enforce_none *b, usec_t now)
{
	size_t out = 0, s = b->sorted <= b->n ? b->sorted : 0;

	if (b->n == 0)
		return;
	if (s < b->n)
		qsort(b->v + s, b->n - s, sizeof(*b->v), none_elem_cmp);
	if (s > 0 && s < b->n) {
		struct none_elem *m = malloc(b->n * sizeof(*m));
		if (m == NULL)
			qsort(b->v, b->n, sizeof(*b->v), none_elem_cmp);
		else {
			/* the older first among equals: the pass below keeps the last */
			size_t i = 0, j = s, k = 0;
			while (i < s && j < b->n)
				m[k++] = cidr_cmp(&b->v[i].net, &b->v[j].net) <= 0 ? b->v[i++] : b->v[j++];
			while (i < s)
				m[k++] = b->v[i++];
			while (j < b->n)
				m[k++] = b->v[j++];
			memcpy(b->v, m, b->n * sizeof(*m));
			free(m);
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		if (i + 1 < b->n && cidr_cmp(&b->v[i].net, &b->v[i + 1].net) == 0)
			continue;
		if (b->v[i].expires < 0 || (b->v[i].expires != 0 && b->v[i].expires <= now))
			continue;
		b->v[out] = b->v[i];
		b->v[out].order = out;
		out++;
	}
	b->n = out;
	b->sorted = out;
}

static struct none_elem *
none_find(struct enforce_none *b, const struct cidr *c)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cidr_cmp(&b->v[mid].net, c);
		if (r == 0)
			return &b->v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Appends the entries (their timeouts counted from now) after the existing elements. */
static int
none_append(struct enforce_none *b, const struct enforce_entry *e, size_t n, usec_t now)
{
	if (none_reserve(b, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct none_elem *x = &b->v[b->n];
		usec_t t = e[i].timeout != 0 ? e[i].timeout : b->cfg.element_timeout;
		memset(x, 0, sizeof(*x));
		x->net.addr.family = e[i].net.addr.family;
		memcpy(x->net.addr.bytes, e[i].net.addr.bytes, 16);
		x->net.prefix = e[i].net.prefix;
		addr_mask(&x->net.addr, x->net.prefix);
		if (t > 0) {
			/* the kernel counts whole seconds: enforce_batch rounds up */
			usec_t secs = (t + USEC_PER_SEC - 1) / USEC_PER_SEC;
			x->expires = now + secs * USEC_PER_SEC;
		}
		x->order = b->n;
		b->n++;
	}
	return 0;
}

static int none_reconcile(void *be, const struct enforce_entry *all, size_t n, char *err, size_t errlen);

static int
none_setup(void *be, const struct enforce_config *cfg, const struct enforce_entry *all, size_t n_all,
           char *err, size_t errlen)
{
	struct enforce_none *b = be;
	char *buf;
	size_t size = 256 * 1024;
	int n;

	if ((buf = malloc(size)) == NULL) {
		snprintf(err, errlen, "setup: out of memory");
		return -1;
	}
	if ((n = enforce_ruleset(cfg, buf, size)) < 0) {
		snprintf(err, errlen, "setup: bad enforcement configuration (table name, remediation protocol, portal family)");
		free(buf);
		return -1;
	}
	b->cfg = *cfg;
	if (b->cfg.table[0] == '\0')
		snprintf(b->cfg.table, sizeof(b->cfg.table), "lazaret");
	/* Like the kernel: the table is replaced, the quarantine sets start empty. */
	b->n = b->sorted = 0;
	log_info("enforce=none setup table=\"inet %s\" subscribers=%zu relays=%zu resolvers=%zu remediation=%zu "
	         "portal=%s ruleset_bytes=%d (not applied)", b->cfg.table, cfg->subscriber_count,
	         cfg->relay_count, cfg->resolver_count, cfg->remediation_count,
	         cfg->portal_v4.family || cfg->portal_v6.family ? "yes" : "no", n);
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n"))
			log_debug("enforce=none ruleset: %s", line);
	}
	free(buf);
	return n_all > 0 ? none_reconcile(be, all, n_all, err, errlen) : 0;
}

static int
none_apply(void *be, const struct enforce_entry *add, size_t nadd, const struct cidr *del, size_t ndel,
           char *err, size_t errlen)
{
	struct enforce_none *b = be;
	usec_t now = time_mono();
	char *script, sa[512], sd[512];
	int n;

	/* The script is not used, but building it refuses what nft would refuse. */
	if ((n = enforce_batch(&b->cfg, add, nadd, del, ndel, &script)) < 0) {
		snprintf(err, errlen, "apply: %s", n == -EINVAL ?
		         "an IPv4 entry that is not a /32, an IPv6 entry that is not a /64, or a bad table name" : strerror(-n));
		return -1;
	}
	free(script);
	none_compact(b, now);
	for (size_t i = 0; i < ndel; i++) {
		struct cidr c = del[i];
		addr_mask(&c.addr, c.prefix);
		struct none_elem *x = none_find(b, &c);
		if (x != NULL)
			x->expires = -1;
	}
	if (none_append(b, add, nadd, now) != 0) {
		none_compact(b, now);
		snprintf(err, errlen, "apply: out of memory");
		return -1;
	}
	none_compact(b, now);
	enforce_elements_text(add, NULL, nadd, sa, sizeof(sa));
	enforce_elements_text(NULL, del, ndel, sd, sizeof(sd));
	log_info("enforce=none apply add=%zu del=%zu quarantined=%zu added=%s removed=%s (not applied)",
	         nadd, ndel, b->n, sa, sd);
	return 0;
}

static int
none_reconcile(void *be, const struct enforce_entry *all, size_t n, char *err, size_t errlen)
{
	struct enforce_none *b = be;
	usec_t now = time_mono();
	char *script, sa[512];
	int rc;

	if ((rc = enforce_reconcile_batch(&b->cfg, all, n, &script)) < 0) {
		snprintf(err, errlen, "reconcile: %s", rc == -EINVAL ?
		         "an IPv4 entry that is not a /32, an IPv6 entry that is not a /64, or a bad table name" : strerror(-rc));
		return -1;
	}
	free(script);
	b->n = b->sorted = 0;
	if (none_append(b, all, n, now) != 0) {
		snprintf(err, errlen, "reconcile: out of memory");
		return -1;
	}
	none_compact(b, now);
	enforce_elements_text(all, NULL, n, sa, sizeof(sa));
	log_info("enforce=none reconcile entries=%zu quarantined=%zu elements=%s (not applied)", n, b->n, sa);
	return 0;
}

static int
none_list(void *be, struct cidr **out, size_t *n, char *err, size_t errlen)
{
	struct enforce_none *b = be;

	none_compact(b, time_mono());
	*out = NULL;
	*n = 0;
	if (b->n == 0)
		return 0;
	if ((*out = malloc(b->n * sizeof(**out))) == NULL) {
		snprintf(err, errlen, "list: out of memory");
		return -1;
	}
	for (size_t i = 0; i < b->n; i++)
		(*out)[i] = b->v[i].net;
	*n = b->n;
	return 0;
}

static void
none_free(void *be)
{
	struct enforce_none *b = be;

	if (b == NULL)
		return;
	free(b->v);
	free(b);
}

const struct enforcer_ops enforce_none_ops = {
	.name = "none",
	.setup = none_setup,
	.apply = none_apply,
	.reconcile = none_reconcile,
	.list = none_list,
	.free = none_free,
};
