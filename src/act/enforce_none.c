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

#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"

/* One element of the quarantine sets, in a hash table by its network. */
struct none_elem {
	struct htable_node node;
	struct cidr net;
	usec_t expires;         /* monotonic; 0: never */
};

struct enforce_none {
	struct enforce_config cfg;
	struct htable set;      /* struct none_elem: what the kernel's sets would hold */
	usec_t next_expiry;     /* the earliest expiry among them (monotonic), 0: none */
};

void *
enforce_none_new(void)
{
	struct enforce_none *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if (htable_init(&b->set, 1024) != 0) {
		free(b);
		return NULL;
	}
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

static uint32_t
none_hash(const struct cidr *c)
{
	return (uint32_t)hash_cidr(c);
}

/* The element of c (masked), or NULL. */
static struct none_elem *
none_find(struct enforce_none *b, const struct cidr *c)
{
	uint32_t h = none_hash(c);

	for (struct htable_node *n = htable_first(&b->set, h); n != NULL; n = htable_next(n, h)) {
		struct none_elem *x = htable_entry(n, struct none_elem, node);
		if (cidr_cmp(&x->net, c) == 0)
			return x;
	}
	return NULL;
}

static void
none_clear(struct enforce_none *b)
{
	size_t cursor = 0;
	struct htable_node *n = NULL;

	while ((n = htable_iter(&b->set, &cursor, n)) != NULL) {
		struct none_elem *x = htable_entry(n, struct none_elem, node);
		htable_del(&b->set, n);
		free(x);
		n = NULL;
	}
	b->next_expiry = 0;
}

/* Drops the elements whose timeout ran out, as the kernel would; only when one is due. */
static void
none_expire(struct enforce_none *b, usec_t now)
{
	size_t cursor = 0;
	struct htable_node *n = NULL;
	usec_t next = 0;

	if (b->next_expiry == 0 || now < b->next_expiry)
		return;
	while ((n = htable_iter(&b->set, &cursor, n)) != NULL) {
		struct none_elem *x = htable_entry(n, struct none_elem, node);
		if (x->expires != 0 && x->expires <= now) {
			htable_del(&b->set, n);
			free(x);
			n = NULL;           /* htable_iter goes on from the same bucket */
		} else if (x->expires != 0 && (next == 0 || x->expires < next))
			next = x->expires;
	}
	b->next_expiry = next;
}

/* Adds or refreshes the entries (their timeouts counted from now). */
static int
none_append(struct enforce_none *b, const struct enforce_entry *e, size_t n, usec_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct cidr c = e[i].net;
		usec_t t = e[i].timeout != 0 ? e[i].timeout : b->cfg.element_timeout;
		addr_mask(&c.addr, c.prefix);
		struct none_elem *x = none_find(b, &c);
		if (x == NULL) {
			if ((x = calloc(1, sizeof(*x))) == NULL)
				return -1;
			x->net = c;
			x->node.hash = none_hash(&c);
			htable_add(&b->set, &x->node);
		}
		x->expires = 0;
		if (t > 0) {
			/* the kernel counts whole seconds: enforce_batch rounds up */
			usec_t secs = (t + USEC_PER_SEC - 1) / USEC_PER_SEC;
			x->expires = now + secs * USEC_PER_SEC;
			if (b->next_expiry == 0 || x->expires < b->next_expiry)
				b->next_expiry = x->expires;
		}
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
	none_clear(b);
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
	none_expire(b, now);
	for (size_t i = 0; i < ndel; i++) {
		struct cidr c = del[i];
		addr_mask(&c.addr, c.prefix);
		struct none_elem *x = none_find(b, &c);
		if (x != NULL) {
			htable_del(&b->set, &x->node);
			free(x);
		}
	}
	if (none_append(b, add, nadd, now) != 0) {
		snprintf(err, errlen, "apply: out of memory");
		return -1;
	}
	enforce_elements_text(add, NULL, nadd, sa, sizeof(sa));
	enforce_elements_text(NULL, del, ndel, sd, sizeof(sd));
	log_info("enforce=none apply add=%zu del=%zu quarantined=%zu added=%s removed=%s (not applied)",
	         nadd, ndel, b->set.count, sa, sd);
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
	none_clear(b);
	if (none_append(b, all, n, now) != 0) {
		snprintf(err, errlen, "reconcile: out of memory");
		return -1;
	}
	enforce_elements_text(all, NULL, n, sa, sizeof(sa));
	log_info("enforce=none reconcile entries=%zu quarantined=%zu elements=%s (not applied)", n, b->set.count,
	    sa);
	return 0;
}

static int
cidr_order(const void *x, const void *y)
{
	return cidr_cmp(x, y);
}

/* What the sets hold, sorted (as `nft list` would show them). */
static int
none_list(void *be, struct cidr **out, size_t *n, char *err, size_t errlen)
{
	struct enforce_none *b = be;
	size_t cursor = 0, k = 0;
	struct htable_node *x = NULL;

	none_expire(b, time_mono());
	*out = NULL;
	*n = 0;
	if (b->set.count == 0)
		return 0;
	if ((*out = malloc(b->set.count * sizeof(**out))) == NULL) {
		snprintf(err, errlen, "list: out of memory");
		return -1;
	}
	while ((x = htable_iter(&b->set, &cursor, x)) != NULL && k < b->set.count)
		(*out)[k++] = htable_entry(x, struct none_elem, node)->net;
	qsort(*out, k, sizeof(**out), cidr_order);
	*n = k;
	return 0;
}

static void
none_free(void *be)
{
	struct enforce_none *b = be;

	if (b == NULL)
		return;
	none_clear(b);
	htable_fini(&b->set);
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
