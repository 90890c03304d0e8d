/*
 * ident.c — who held an address when (ident.h).
 *
 * Two hash tables: networks (one entry per bound address or prefix: its holder now and
 * the one before, with their intervals) and subscribers (the id once, shared by its
 * networks, with the list of what it holds now). A lookup masks the address to each
 * prefix length ever bound, longest first. Every change is also written to the store's
 * address history; memory answers every lookup it can, the store the older ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"
#include "ident/ident.h"

#define IDENT_ORIGINS_MAX 4096

struct ident_sub {
	struct htable_node node;
	uint32_t refs;                     /* networks naming it as holder now or before */
	uint32_t held;                     /* networks it holds now */
	struct ident_net *bound;           /* those, through ident_net.sub_next */
	uint16_t len;
	char id[];
};

struct ident_net {
	struct htable_node node;
	struct cidr net;
	struct ident_sub *cur;             /* the holder now; NULL: nobody */
	usec_t cur_from, cur_expires;      /* cur_expires 0: until a stop */
	struct ident_sub *prev;            /* the holder before; NULL: nobody memory knows */
	usec_t prev_from, prev_until;
	usec_t known_from;                 /* memory knows every holder from this time on */
	struct ident_net *sub_next, **sub_pprev;   /* in cur->bound */
	char *session;                     /* cur's session, NUL-terminated; NULL: none */
	struct addr nas;
	uint16_t origin;                   /* into ident.origins */
	uint8_t source;
};

struct ident {
	struct store *st;
	struct htable nets, subs;
	char (*origins)[STORE_ORIGIN_MAX];
	size_t origin_count;
	uint8_t lengths4[33], lengths6[129];   /* prefix lengths ever bound */
	bool length_fresh;                 /* one was added since the last store write */
	usec_t complete_since;             /* no entry: nobody held it at or after this */
	ident_change_fn observer;
	void *observer_arg;
	struct ident_stats stats;
	struct ident_holder scratch;       /* ident_holder_id's answer from the store */
	size_t sweep_cursor;               /* ident_sweep_some's place in nets */
	size_t memory;
};

static const char *const source_names[IDENT_SOURCE_COUNT] = { "radius", "dhcp4", "dhcp6" };

const char *
ident_source_name(enum ident_source s)
{
	return (unsigned)s < IDENT_SOURCE_COUNT ? source_names[s] : "unknown";
}

static enum ident_source
source_of(const char *name)
{
	for (int i = 0; i < IDENT_SOURCE_COUNT; i++)
		if (strcmp(name, source_names[i]) == 0)
			return (enum ident_source)i;
	return IDENT_RADIUS;
}

static size_t
net_bytes(const struct cidr *net)
{
	return net->addr.family == AF_INET ? 4 : 16;
}

static uint32_t
net_hash(const struct cidr *net)
{
	return (uint32_t)hash_cidr(net);
}

static bool
net_same(const struct cidr *a, const struct cidr *b)
{
	return a->addr.family == b->addr.family && a->prefix == b->prefix &&
	    memcmp(a->addr.bytes, b->addr.bytes, net_bytes(a)) == 0;
}

static struct ident_net *
net_find(const struct ident *id, const struct cidr *net)
{
	uint32_t h = net_hash(net);

	for (struct htable_node *n = htable_first(&id->nets, h); n != NULL; n = htable_next(n, h)) {
		struct ident_net *e = htable_entry(n, struct ident_net, node);
		if (net_same(&e->net, net))
			return e;
	}
	return NULL;
}

void
ident_prefetch(const struct ident *id, const struct cidr *nets, size_t n)
{
	uint32_t h[192];

	if (n > sizeof(h) / sizeof(h[0]))
		n = sizeof(h) / sizeof(h[0]);
	for (size_t i = 0; i < n; i++) {
		struct cidr net = nets[i];
		addr_mask(&net.addr, net.prefix);
		h[i] = net_hash(&net);
		htable_prefetch(&id->nets, h[i]);
	}
	for (size_t i = 0; i < n; i++)
		htable_prefetch_node(&id->nets, h[i]);
	/* then what a lookup that finds its network reads next: the holder it compares with the
	 * request's subscriber and the session it compares with the request's (an Interim-Update,
	 * most of the traffic, reads both and writes nothing) */
	for (size_t i = 0; i < n; i++) {
		const struct htable_node *node = htable_first(&id->nets, h[i]);
		if (node == NULL)
			continue;
		const struct ident_net *e = htable_entry_const(node, struct ident_net, node);
		if (e->cur != NULL)
			__builtin_prefetch(e->cur);
		if (e->session != NULL)
			__builtin_prefetch(e->session);
	}
}

static struct ident_sub *
sub_find(const struct ident *id, const char *sid, size_t len)
{
	uint32_t h = (uint32_t)hash_bytes(sid, len);

	for (struct htable_node *n = htable_first(&id->subs, h); n != NULL; n = htable_next(n, h)) {
		struct ident_sub *s = htable_entry(n, struct ident_sub, node);
		if (s->len == len && memcmp(s->id, sid, len) == 0)
			return s;
	}
	return NULL;
}

/* The subscriber, created when missing, with one more reference; NULL on ENOMEM. */
static struct ident_sub *
sub_ref(struct ident *id, const char *sid, size_t len)
{
	struct ident_sub *s = sub_find(id, sid, len);

	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s) + len)) == NULL)
			return NULL;
		s->len = (uint16_t)len;
		memcpy(s->id, sid, len);
		s->node.hash = (uint32_t)hash_bytes(sid, len);
		htable_add(&id->subs, &s->node);
		id->memory += sizeof(*s) + len;
	}
	s->refs++;
	return s;
}

static void
sub_unref(struct ident *id, struct ident_sub *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	htable_del(&id->subs, &s->node);
	id->memory -= sizeof(*s) + s->len;
	free(s);
}

static uint16_t
origin_index(struct ident *id, const char *origin)
{
	if (origin == NULL)
		origin = "";
	for (size_t i = 0; i < id->origin_count; i++)
		if (strcmp(id->origins[i], origin) == 0)
			return (uint16_t)i;
	if (id->origin_count == IDENT_ORIGINS_MAX)
		return 0;
	snprintf(id->origins[id->origin_count], STORE_ORIGIN_MAX, "%s", origin);
	return (uint16_t)id->origin_count++;
}

struct ident *
ident_new(struct store *st)
{
	struct ident *id = calloc(1, sizeof(*id));

	if (id == NULL)
		return NULL;
	id->st = st;
	if (htable_init(&id->nets, 1024) != 0 || htable_init(&id->subs, 1024) != 0 ||
	    (id->origins = calloc(IDENT_ORIGINS_MAX, sizeof(*id->origins))) == NULL) {
		ident_free(id);
		return NULL;
	}
	origin_index(id, "");             /* index 0: none */
	return id;
}

void
ident_free(struct ident *id)
{
	size_t cursor = 0;
	struct htable_node *n;

	if (id == NULL)
		return;
	if (id->nets.buckets != NULL) {
		while ((n = htable_iter(&id->nets, &cursor, NULL)) != NULL) {
			struct ident_net *e = htable_entry(n, struct ident_net, node);
			htable_del(&id->nets, n);
			free(e->session);
			free(e);
		}
		htable_fini(&id->nets);
	}
	cursor = 0;
	if (id->subs.buckets != NULL) {
		while ((n = htable_iter(&id->subs, &cursor, NULL)) != NULL) {
			htable_del(&id->subs, n);
			free(htable_entry(n, struct ident_sub, node));
		}
		htable_fini(&id->subs);
	}
	free(id->origins);
	free(id);
}

void
ident_set_observer(struct ident *id, ident_change_fn fn, void *arg)
{
	id->observer = fn;
	id->observer_arg = arg;
}

/* Marks net's prefix length as bound; true when it was not before. */
static bool
note_length(struct ident *id, const struct cidr *net)
{
	uint8_t *bit = net->addr.family == AF_INET ? &id->lengths4[net->prefix] : &id->lengths6[net->prefix];
	bool fresh = *bit == 0;

	*bit = 1;
	return fresh;
}

static struct ident_net *
net_add(struct ident *id, const struct cidr *net, usec_t known_from)
{
	struct ident_net *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->net = *net;
	e->known_from = known_from;
	e->node.hash = net_hash(net);
	htable_add(&id->nets, &e->node);
	id->length_fresh |= note_length(id, net);
	id->memory += sizeof(*e);
	return e;
}

/* Links e into its holder's list of what it holds now. */
static void
bound_link(struct ident *id, struct ident_net *e)
{
	struct ident_sub *s = e->cur;

	e->sub_next = s->bound;
	if (s->bound != NULL)
		s->bound->sub_pprev = &e->sub_next;
	s->bound = e;
	e->sub_pprev = &s->bound;
	if (s->held++ == 0)
		id->stats.subscribers++;
	id->stats.bound++;
}

static void
bound_unlink(struct ident *id, struct ident_net *e)
{
	struct ident_sub *s = e->cur;

	*e->sub_pprev = e->sub_next;
	if (e->sub_next != NULL)
		e->sub_next->sub_pprev = e->sub_pprev;
	e->sub_next = NULL;
	e->sub_pprev = NULL;
	if (--s->held == 0)
		id->stats.subscribers--;
	id->stats.bound--;
}

static void
set_session(struct ident *id, struct ident_net *e, const char *session, size_t len)
{
	if (e->session != NULL)
		id->memory -= strlen(e->session) + 1;
	free(e->session);
	e->session = NULL;
	if (session == NULL || len == 0)
		return;
	if (len >= STORE_SESSION_MAX)
		len = STORE_SESSION_MAX - 1;
	if ((e->session = malloc(len + 1)) == NULL)
		return;                   /* the session is for CoA and the record: lookups do without */
	memcpy(e->session, session, len);
	e->session[len] = '\0';
	id->memory += len + 1;
}

static void
store_result(struct ident *id, int rc)
{
	if (rc != 0)
		id->stats.store_errors++;
}

static void
tell(struct ident *id, const struct ident_sub *s, const struct cidr *net, bool held)
{
	if (id->observer != NULL)
		id->observer(id->observer_arg, s->id, s->len, net, held);
}

/* e's holder stops holding it at `at`: it becomes the holder before. */
static int
end_current(struct ident *id, struct ident_net *e, usec_t at)
{
	struct ident_sub *s = e->cur;
	int rc = 0;

	if (id->st != NULL)
		rc = store_binding_close(id->st, &e->net, s->id, s->len, at, NULL, NULL);
	bound_unlink(id, e);
	sub_unref(id, e->prev);
	e->prev = s;                      /* its reference moves along */
	e->prev_from = e->cur_from;
	e->prev_until = at;
	e->known_from = e->prev_from;
	e->cur = NULL;
	e->cur_expires = 0;
	set_session(id, e, NULL, 0);
	tell(id, s, &e->net, false);
	return rc;
}

static int
apply_start(struct ident *id, const struct ident_event *e)
{
	struct ident_net *n = net_find(id, &e->net);
	bool told = false;
	int rc = 0;

	if (n != NULL && n->cur != NULL && n->cur->len == e->subscriber_len &&
	    memcmp(n->cur->id, e->subscriber, e->subscriber_len) == 0) {
		/* the same holder: a renewal, an Interim-Update or a new session on the same address
		 * (kept as set_session keeps it: cut at STORE_SESSION_MAX - 1 bytes) */
		size_t slen = e->session_len < STORE_SESSION_MAX - 1 ? e->session_len : STORE_SESSION_MAX - 1;
		bool same_session = n->session != NULL ? e->session != NULL && strlen(n->session) == slen &&
		    memcmp(n->session, e->session, slen) == 0 : slen == 0;
		n->cur_expires = e->expires;
		if (same_session)
			return 0;
		set_session(id, n, e->session, e->session_len);
		/* a new session on a sticky address: the observer hears of it, as of any Start (a
		 * quarantined subscriber's new session must be told to its NAS) */
		told = true;
	} else {
		if (n != NULL && e->at < (n->cur != NULL ? n->cur_from : n->prev_until)) {
			id->stats.stale++;
			return 0;
		}
		if (n == NULL && (n = net_add(id, &e->net, e->at >= id->complete_since ? id->complete_since :
		    e->at)) == NULL)
			return -ENOMEM;
		struct ident_sub *s = sub_ref(id, e->subscriber, e->subscriber_len);
		if (s == NULL)
			return -ENOMEM;
		if (n->cur != NULL) {
			id->stats.moves++;
			struct ident_sub *old = n->cur;
			bound_unlink(id, n);
			sub_unref(id, n->prev);
			n->prev = old;
			n->prev_from = n->cur_from;
			n->prev_until = e->at;
			n->known_from = n->prev_from;
			tell(id, old, &n->net, false);
		}
		n->cur = s;
		n->cur_from = e->at;
		n->cur_expires = e->expires;
		set_session(id, n, e->session, e->session_len);
		bound_link(id, n);
		told = true;
	}
	n->nas = e->nas;
	n->origin = origin_index(id, e->origin);
	n->source = (uint8_t)e->source;
	if (told)                         /* with its NAS and session set: the observer may tell the NAS */
		tell(id, n->cur, &n->net, true);
	id->stats.starts++;
	if (id->st != NULL) {
		rc = store_binding_open_event(id->st, &e->net, e->subscriber, e->subscriber_len, n->session,
		    id->origins[n->origin], ident_source_name(e->source), e->at, id->length_fresh, NULL, NULL);
		if (rc == 0)
			id->length_fresh = false;
	}
	return rc;
}

int
ident_apply(struct ident *id, const struct ident_event *e)
{
	int rc;

	if (e->subscriber == NULL || e->subscriber_len == 0 || e->subscriber_len > IDENT_ID_MAX ||
	    memchr(e->subscriber, '\0', e->subscriber_len) != NULL ||
	    (e->net.addr.family != AF_INET && e->net.addr.family != AF_INET6) ||
	    e->net.prefix > (e->net.addr.family == AF_INET ? 32u : 128u))
		return -EINVAL;
	struct cidr net = e->net;
	addr_mask(&net.addr, net.prefix);
	struct ident_event ev = *e;
	ev.net = net;
	if (e->start)
		rc = apply_start(id, &ev);
	else {
		struct ident_net *n = net_find(id, &net);
		if (n == NULL || n->cur == NULL || n->cur->len != e->subscriber_len ||
		    memcmp(n->cur->id, e->subscriber, e->subscriber_len) != 0) {
			id->stats.unknown_stops++;
			return 0;
		}
		if (e->at < n->cur_from) {
			id->stats.stale++;
			return 0;
		}
		id->stats.stops++;
		rc = end_current(id, n, e->at);
	}
	store_result(id, rc);
	return rc;
}

size_t
ident_end_origin(struct ident *id, const char *origin, usec_t at)
{
	size_t cursor = 0, ended = 0;
	struct htable_node *n = NULL;
	uint16_t idx = 0;

	for (size_t i = 1; i < id->origin_count; i++)
		if (strcmp(id->origins[i], origin) == 0)
			idx = (uint16_t)i;
	if (idx == 0)
		return 0;
	while ((n = htable_iter(&id->nets, &cursor, n)) != NULL) {
		struct ident_net *e = htable_entry(n, struct ident_net, node);
		if (e->cur != NULL && e->origin == idx && e->cur_from <= at) {
			store_result(id, end_current(id, e, at));
			ended++;
		}
	}
	id->stats.origin_resets++;
	return ended;
}

/* What memory says of e at `at`: 1 held (by *who), 0 nobody, -1 memory does not know. */
static int
net_at(const struct ident_net *e, usec_t at, const struct ident_sub **who)
{
	if (e->cur != NULL && at >= e->cur_from && (e->cur_expires == 0 || at < e->cur_expires)) {
		*who = e->cur;
		return 1;
	}
	if (e->prev != NULL && at >= e->prev_from && at < e->prev_until) {
		*who = e->prev;
		return 1;
	}
	if (at < e->known_from)
		return -1;
	return 0;
}

static void
holder_from(const struct ident *id, const struct ident_net *e, const struct ident_sub *s, struct ident_holder *out)
{
	memset(out, 0, sizeof(*out));
	out->net = e->net;
	memcpy(out->subscriber, s->id, s->len);
	out->subscriber_len = s->len;
	if (s == e->cur) {
		if (e->session != NULL)
			snprintf(out->session, sizeof(out->session), "%s", e->session);
		snprintf(out->origin, sizeof(out->origin), "%s", id->origins[e->origin]);
		out->source = (enum ident_source)e->source;
		out->from = e->cur_from;
		out->until = e->cur_expires;
		out->nas = e->nas;
	} else {
		out->from = e->prev_from;
		out->until = e->prev_until;
	}
}

/* Each bound prefix length of a's family, longest first, through *i (start at the top). */
static bool
next_length(const struct ident *id, const struct addr *a, int *i)
{
	const uint8_t *lengths = a->family == AF_INET ? id->lengths4 : id->lengths6;

	while (--*i >= 0)
		if (lengths[*i])
			return true;
	return false;
}

static int
store_who(struct ident *id, const struct addr *a, usec_t at, struct ident_holder *out)
{
	struct store_binding b;
	int i = (a->family == AF_INET ? 32 : 128) + 1;

	if (id->st == NULL)
		return 0;
	id->stats.store_lookups++;
	while (next_length(id, a, &i)) {
		struct cidr net = { .addr = *a, .prefix = (unsigned)i };
		addr_mask(&net.addr, net.prefix);
		int rc = store_binding_at(id->st, &net, at, &b);
		if (rc < 0) {
			id->stats.store_errors++;
			return rc;
		}
		if (rc == 1) {
			memset(out, 0, sizeof(*out));
			out->net = b.net;
			memcpy(out->subscriber, b.subscriber, b.subscriber_len);
			out->subscriber_len = b.subscriber_len;
			snprintf(out->session, sizeof(out->session), "%s", b.session);
			snprintf(out->origin, sizeof(out->origin), "%s", b.origin);
			out->source = source_of(b.source);
			out->from = b.start;
			out->until = b.stop;
			return 1;
		}
	}
	return 0;
}

/* Memory's answer: 1 held (entry and holder), 0 nobody, -1 ask the store. */
static int
memory_who(const struct ident *id, const struct addr *a, usec_t at, const struct ident_net **entry,
    const struct ident_sub **who)
{
	int i = (a->family == AF_INET ? 32 : 128) + 1;
	bool unknown = at < id->complete_since;

	if (a->family != AF_INET && a->family != AF_INET6)
		return 0;
	while (next_length(id, a, &i)) {
		struct cidr net = { .addr = *a, .prefix = (unsigned)i };
		addr_mask(&net.addr, net.prefix);
		const struct ident_net *e = net_find(id, &net);
		if (e == NULL)
			continue;
		int r = net_at(e, at, who);
		if (r == 1) {
			*entry = e;
			return 1;
		}
		if (r < 0)
			unknown = true;
	}
	return unknown ? -1 : 0;
}

int
ident_who(struct ident *id, const struct addr *a, usec_t at, struct ident_holder *out)
{
	const struct ident_net *e;
	const struct ident_sub *s;
	int r = memory_who(id, a, at, &e, &s);

	if (r == 1) {
		holder_from(id, e, s, out);
		return 1;
	}
	if (r == 0)
		return 0;
	return store_who(id, a, at, out);
}

const char *
ident_holder_id(struct ident *id, const struct addr *a, usec_t at, size_t *len)
{
	const struct ident_net *e;
	const struct ident_sub *s;
	int r = memory_who(id, a, at, &e, &s);

	if (r == 1) {
		*len = s->len;
		return s->id;
	}
	if (r == 0 || store_who(id, a, at, &id->scratch) != 1)
		return NULL;
	*len = id->scratch.subscriber_len;
	return id->scratch.subscriber;
}

size_t
ident_networks(const struct ident *id, const char *subscriber, size_t len, struct cidr *out, size_t max)
{
	const struct ident_sub *s = sub_find(id, subscriber, len);
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (const struct ident_net *e = s->bound; e != NULL; e = e->sub_next, n++)
		if (n < max)
			out[n] = e->net;
	return n;
}

bool
ident_session(const struct ident *id, const char *subscriber, size_t len, struct ident_holder *out)
{
	const struct ident_sub *s = sub_find(id, subscriber, len);

	if (s == NULL || s->bound == NULL)
		return false;
	holder_from(id, s->bound, s, out);
	return true;
}

size_t
ident_holdings(const struct ident *id, const char *subscriber, size_t len, struct ident_holder *out, size_t max)
{
	const struct ident_sub *s = sub_find(id, subscriber, len);
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (const struct ident_net *e = s->bound; e != NULL; e = e->sub_next, n++)
		if (n < max)
			holder_from(id, e, s, &out[n]);
	return n;
}

static int
load_one(void *arg, const struct store_binding *b)
{
	struct ident *id = arg;
	struct ident_net *n = net_find(id, &b->net);

	if (n == NULL && (n = net_add(id, &b->net, b->start)) == NULL)
		return -ENOMEM;
	if (n->cur != NULL && n->cur_from >= b->start)
		return 0;                 /* two open intervals (should not be): the newest holds */
	if (n->cur != NULL) {
		bound_unlink(id, n);
		sub_unref(id, n->cur);
	}
	if ((n->cur = sub_ref(id, b->subscriber, b->subscriber_len)) == NULL)
		return -ENOMEM;
	n->cur_from = b->start;
	n->known_from = b->start;
	set_session(id, n, b->session, strlen(b->session));
	n->origin = origin_index(id, b->origin);
	n->source = (uint8_t)source_of(b->source);
	bound_link(id, n);
	return 0;
}

int
ident_load(struct ident *id, usec_t now)
{
	int rc;

	id->complete_since = now;
	if (id->st == NULL)
		return 0;
	if ((rc = store_binding_lengths(id->st, id->lengths4, id->lengths6)) != 0)
		return rc;
	return store_bindings_load_open(id->st, load_one, id);
}

void
ident_sweep(struct ident *id, usec_t now, usec_t retention)
{
	ident_sweep_some(id, now, SIZE_MAX);
	ident_expire_history(id, now, retention);
}

void
ident_expire_history(struct ident *id, usec_t now, usec_t retention)
{
	if (id->st != NULL && retention > 0 && now > retention)
		store_result(id, store_bindings_expire(id->st, now - retention));
}

size_t
ident_sweep_some(struct ident *id, usec_t now, size_t budget)
{
	struct htable_node *n = NULL;
	usec_t horizon = now > IDENT_MEMORY_HORIZON ? now - IDENT_MEMORY_HORIZON : 0;
	size_t seen = 0;
	bool whole = false;

	/* from where the last call stopped (a bucket: entries added since may be seen twice, or
	 * next pass; none is missed for good) */
	while (seen < budget) {
		if ((n = htable_iter(&id->nets, &id->sweep_cursor, n)) == NULL) {
			whole = true;
			break;
		}
		seen++;
		struct ident_net *e = htable_entry(n, struct ident_net, node);
		if (e->cur != NULL && e->cur_expires != 0 && e->cur_expires <= now) {
			id->stats.expired++;
			store_result(id, end_current(id, e, e->cur_expires));
		}
		if (e->cur == NULL && e->prev_until < horizon) {
			htable_del(&id->nets, n);
			n = NULL;
			sub_unref(id, e->prev);
			set_session(id, e, NULL, 0);
			id->memory -= sizeof(*e);
			free(e);
		}
	}
	if (whole)
		id->sweep_cursor = 0;             /* a whole pass: the next starts over */
	/* every entry freed had nothing after now - horizon: memory is whole from there on */
	if (horizon > id->complete_since)
		id->complete_since = horizon;
	return seen;
}

/* Every bound network containing a, longest first, each with its newest `limit` intervals. */
int
ident_history(struct ident *id, const struct addr *a, size_t limit,
    int (*each)(void *arg, const struct store_binding *b), void *arg)
{
	int i = (a->family == AF_INET ? 32 : 128) + 1;

	if (id->st == NULL || (a->family != AF_INET && a->family != AF_INET6))
		return 0;
	while (next_length(id, a, &i)) {
		struct cidr net = { .addr = *a, .prefix = (unsigned)i };
		addr_mask(&net.addr, net.prefix);
		int rc = store_binding_history(id->st, &net, limit, each, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
ident_stats_get(const struct ident *id, struct ident_stats *out)
{
	*out = id->stats;
}

size_t
ident_memory(const struct ident *id)
{
	return sizeof(*id) + id->memory + (id->nets.mask + 1 + id->subs.mask + 1) * sizeof(void *) +
	    IDENT_ORIGINS_MAX * STORE_ORIGIN_MAX;
}
