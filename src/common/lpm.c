/*
 * lpm.c — the path-compressed binary trie. See lpm.h.
 *
 * Addresses are two 64-bit words, most significant bit first (IPv4 in the top 32 bits
 * of the first word), so "does this node's prefix cover the address" is two XORs and
 * masks, and "which child next" one shift.
 */
#include "common/lpm.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lpm_node {
	uint64_t key[2];          /* the prefix, bits past plen zero */
	uint32_t child[2];        /* by the bit at position plen; 0 = none */
	uint32_t value;
	uint8_t plen;
	uint8_t has_value;        /* a prefix inserted here, not only a branch point */
};

_Static_assert(sizeof(struct lpm_node) == 32, "two trie nodes to a cache line");

/* A first-level slot: where the walk goes on, and the best match above it. */
struct lpm_slot {
	uint32_t node;            /* the first node of LPM_STRIDE bits or more on the path; 0 none */
	uint32_t best;            /* the longest valued node of fewer bits covering the slot; 0 none */
};

#define LPM_SLOTS ((size_t)1 << LPM_STRIDE)

static inline void
lpm_key(const struct addr *a, uint64_t key[2])
{
	if (a->family == AF_INET) {
		uint32_t w;
		memcpy(&w, a->bytes, 4);
		key[0] = (uint64_t)be32toh(w) << 32;
		key[1] = 0;
	} else {
		uint64_t w[2];
		memcpy(w, a->bytes, 16);
		key[0] = be64toh(w[0]);
		key[1] = be64toh(w[1]);
	}
}

/* The mask of the first plen bits of word w (0 or 1). */
static inline uint64_t
lpm_mask(unsigned plen, int w)
{
	unsigned bits = w == 0 ? (plen > 64 ? 64 : plen) : (plen > 64 ? plen - 64 : 0);

	return bits == 0 ? 0 : ~UINT64_C(0) << (64 - bits);
}

static inline unsigned
lpm_bit(const uint64_t key[2], unsigned pos)
{
	return pos < 64 ? (unsigned)(key[0] >> (63 - pos)) & 1 : (unsigned)(key[1] >> (127 - pos)) & 1;
}

/* Whether the first plen bits of a and b agree. */
static inline bool
lpm_covers(const uint64_t a[2], const uint64_t b[2], unsigned plen)
{
	return ((a[0] ^ b[0]) & lpm_mask(plen, 0)) == 0 && ((a[1] ^ b[1]) & lpm_mask(plen, 1)) == 0;
}

/* How many leading bits a and b share, at most max. */
static unsigned
lpm_common(const uint64_t a[2], const uint64_t b[2], unsigned max)
{
	uint64_t x = a[0] ^ b[0];
	unsigned n = x != 0 ? (unsigned)__builtin_clzll(x) : 64;

	if (n == 64) {
		x = a[1] ^ b[1];
		n += x != 0 ? (unsigned)__builtin_clzll(x) : 64;
	}
	return n < max ? n : max;
}

/* An IPv4-mapped IPv6 address as the IPv4 address it maps, in *out; false for others. */
static bool
lpm_unmap(const struct addr *a, struct addr *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family != AF_INET6 || memcmp(a->bytes, mapped, sizeof(mapped)) != 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	memcpy(out->bytes, a->bytes + 12, 4);
	return true;
}

void
lpm_init(struct lpm *t)
{
	memset(t, 0, sizeof(*t));
}

void
lpm_free(struct lpm *t)
{
	free(t->index);
	free(t->nodes);
	lpm_init(t);
}

/* Room for two more nodes (the most one insert adds), so that no pointer into the
 * array moves while an insert links them. 0 or -ENOMEM. */
static int
lpm_reserve(struct lpm *t)
{
	if (t->used + 2 <= t->cap)
		return 0;
	if (t->cap >= UINT32_MAX / 2)
		return -ENOMEM;
	uint32_t cap = t->cap == 0 ? 64 : t->cap * 2;
	struct lpm_node *n = realloc(t->nodes, (size_t)cap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	t->nodes = n;
	t->cap = cap;
	if (t->used == 0)
		t->used = 1;                  /* index 0 stays "none" */
	return 0;
}

/* A new node holding the first plen bits of key and, when val, value (room reserved). */
static uint32_t
lpm_node_new(struct lpm *t, const uint64_t key[2], unsigned plen, const uint32_t *val)
{
	struct lpm_node *n = &t->nodes[t->used];

	memset(n, 0, sizeof(*n));
	n->key[0] = key[0] & lpm_mask(plen, 0);
	n->key[1] = key[1] & lpm_mask(plen, 1);
	n->plen = (uint8_t)plen;
	if (val != NULL) {
		n->value = *val;
		n->has_value = 1;
		t->prefixes++;
	}
	return t->used++;
}

/*
 * Down from the family's root: a node whose prefix the new one extends is passed
 * through; one it equals takes the value; one they only share a head with is split
 * there, by a new node that is the new prefix itself (when the new prefix is that head)
 * or a branch point with no value, holding the old node and the new leaf.
 */
int
lpm_insert(struct lpm *t, const struct cidr *net, uint32_t value)
{
	unsigned fam, plen = net->prefix;
	uint64_t key[2];
	uint32_t *link;
	struct cidr v4;

	if (net->prefix >= 96 && net->prefix <= 128 && lpm_unmap(&net->addr, &v4.addr)) {
		v4.prefix = net->prefix - 96;
		net = &v4;
		plen = v4.prefix;
	}
	if (net->addr.family == AF_INET)
		fam = 0;
	else if (net->addr.family == AF_INET6)
		fam = 1;
	else
		return -EINVAL;
	if (plen > (fam == 0 ? 32u : 128u))
		return -EINVAL;
	if (lpm_reserve(t) < 0)
		return -ENOMEM;
	free(t->index);                   /* stale from here on */
	t->index = NULL;
	lpm_key(&net->addr, key);
	for (link = &t->root[fam]; *link != 0;) {
		uint32_t idx = *link;
		struct lpm_node *n = &t->nodes[idx];
		unsigned common = lpm_common(n->key, key, plen < n->plen ? plen : n->plen);

		if (common == n->plen && plen == n->plen) {
			int fresh = !n->has_value;
			n->value = value;
			n->has_value = 1;
			t->prefixes += (uint32_t)fresh;
			return fresh;
		}
		if (common == n->plen) {
			link = &n->child[lpm_bit(key, n->plen)];
			continue;
		}
		if (common == plen) {
			uint32_t up = lpm_node_new(t, key, plen, &value);
			t->nodes[up].child[lpm_bit(n->key, plen)] = idx;
			*link = up;
			return 1;
		}
		uint32_t glue = lpm_node_new(t, key, common, NULL);
		uint32_t leaf = lpm_node_new(t, key, plen, &value);
		t->nodes[glue].child[lpm_bit(n->key, common)] = idx;
		t->nodes[glue].child[lpm_bit(key, common)] = leaf;
		*link = glue;
		return 1;
	}
	*link = lpm_node_new(t, key, plen, &value);
	return 1;
}

bool
lpm_lookup(const struct lpm *t, const struct addr *a, uint32_t *value, struct cidr *match)
{
	unsigned fam = a->family == AF_INET ? 0 : 1, bits = fam == 0 ? 32 : 128;
	uint64_t key[2];
	const struct lpm_node *best = NULL;
	uint32_t idx;
	struct addr v4;

	if (lpm_unmap(a, &v4)) {
		a = &v4;
		fam = 0;
		bits = 32;
	}
	if (a->family != AF_INET && a->family != AF_INET6)
		return false;
	lpm_key(a, key);
	idx = t->root[fam];
	if (t->index != NULL) {
		const struct lpm_slot *s = &t->index[(fam << LPM_STRIDE) | (size_t)(key[0] >> (64 - LPM_STRIDE))];
		idx = s->node;
		best = s->best != 0 ? &t->nodes[s->best] : NULL;
	}
	while (idx != 0) {
		const struct lpm_node *n = &t->nodes[idx];
		if (!lpm_covers(n->key, key, n->plen))
			break;
		if (n->has_value)
			best = n;
		if (n->plen >= bits)
			break;
		idx = n->child[lpm_bit(key, n->plen)];
	}
	if (best == NULL)
		return false;
	if (value != NULL)
		*value = best->value;
	if (match != NULL) {
		match->addr = *a;
		addr_mask(&match->addr, best->plen);
		match->prefix = best->plen;
	}
	return true;
}

/*
 * Each slot's walk from the root, as a lookup of an address with the slot's bits would
 * go, while the nodes are shorter than the stride (their branch bit is within the
 * slot's bits): valued covering nodes are the best so far; the first node of the stride
 * or longer is where lookups go on (it is checked in full there).
 */
int
lpm_index(struct lpm *t)
{
	struct lpm_slot *index = malloc(2 * LPM_SLOTS * sizeof(*index));

	if (index == NULL)
		return -ENOMEM;
	for (size_t fam = 0; fam < 2; fam++)
		for (size_t s = 0; s < LPM_SLOTS; s++) {
			uint64_t key[2] = { (uint64_t)s << (64 - LPM_STRIDE), 0 };
			struct lpm_slot *slot = &index[(fam << LPM_STRIDE) | s];
			uint32_t idx = t->root[fam];

			slot->best = slot->node = 0;
			while (idx != 0) {
				const struct lpm_node *n = &t->nodes[idx];
				if (n->plen >= LPM_STRIDE) {
					slot->node = idx;
					break;
				}
				if (!lpm_covers(n->key, key, n->plen))
					break;
				if (n->has_value)
					slot->best = idx;
				idx = n->child[lpm_bit(key, n->plen)];
			}
		}
	free(t->index);
	t->index = index;
	return 0;
}

int
lpm_build(struct lpm *t, const struct lpm_entry *e, size_t n)
{
	int rc;

	lpm_init(t);
	for (size_t i = 0; i < n; i++)
		if ((rc = lpm_insert(t, &e[i].net, e[i].value)) < 0)
			goto fail;
	if ((rc = lpm_index(t)) < 0)
		goto fail;
	return 0;
fail:
	lpm_free(t);
	return rc;
}

size_t
lpm_bytes(const struct lpm *t)
{
	return sizeof(*t) + (size_t)t->cap * sizeof(struct lpm_node) +
	       (t->index != NULL ? 2 * LPM_SLOTS * sizeof(struct lpm_slot) : 0);
}
