/*
 * htable.h — the one hash table: chains through nodes embedded in the caller's entries
 * (no allocation per entry), power-of-two buckets, doubling at a load of 1. The hash is
 * the caller's, from common/hash.h (keyed: nobody who chooses keys can make chains long),
 * stored in the node so that growth and lookups compare it before the keys. The caller
 * compares keys: the table knows nothing of them, and an entry may sit in several tables.
 *
 *   struct thing { struct htable_node node; ... char key[]; };
 *   for (n = htable_first(&t, h); n != NULL; n = htable_next(n, h)) {
 *       struct thing *x = htable_entry(n, struct thing, node);
 *       if (keys equal) return x;
 *   }
 */
#ifndef LAZARET_COMMON_HTABLE_H
#define LAZARET_COMMON_HTABLE_H

#include <stddef.h>
#include <stdint.h>

struct htable_node {
	struct htable_node *next;
	uint32_t hash;
};

struct htable {
	struct htable_node **buckets;
	size_t mask;                 /* bucket count - 1 */
	size_t count;
};

/* The entry of type that holds node in its member. */
#define htable_entry(node, type, member) ((type *)(void *)((char *)(node) - offsetof(type, member)))
/* The same for a node the caller may only read. */
#define htable_entry_const(node, type, member) \
	((const type *)(const void *)((const char *)(node) - offsetof(type, member)))

/* htable_init — an empty table of buckets (a power of two). 0 or -ENOMEM. */
int htable_init(struct htable *t, size_t buckets);

/* htable_fini — the buckets go; the entries are the caller's. */
void htable_fini(struct htable *t);

/*
 * Looking ahead for a batch of lookups whose hashes are known (memory, not the CPU, is
 * what a lookup in a table of millions waits for): htable_prefetch for every hash asks for
 * the buckets, then htable_prefetch_node for every hash asks for the first node of each
 * (its bucket is in the cache by then), then the lookups find both there. Hints only:
 * they change nothing.
 */
static inline void
htable_prefetch(const struct htable *t, uint32_t h)
{
	__builtin_prefetch(&t->buckets[h & t->mask]);
}

static inline void
htable_prefetch_node(const struct htable *t, uint32_t h)
{
	const struct htable_node *n = t->buckets[h & t->mask];

	if (n != NULL)
		__builtin_prefetch(n);
}

/* The first node with hash h, then the next one after n: the caller compares the keys. */
struct htable_node *htable_first(const struct htable *t, uint32_t h);
struct htable_node *htable_next(const struct htable_node *n, uint32_t h);

/* htable_add — link n, its hash set in n->hash; the table doubles at a load of 1 (when
 * that allocation fails the chains grow longer, and every lookup still works). */
void htable_add(struct htable *t, struct htable_node *n);

/* htable_del — unlink n, which is in t. */
void htable_del(struct htable *t, struct htable_node *n);

/* htable_clear — unlink every node at once; the entries are the caller's. */
void htable_clear(struct htable *t);

/* htable_iter — every node once, in no particular order: start with *cursor = 0 and prev
 * NULL, pass the last node back; NULL at the end. Having removed the node just returned,
 * pass prev NULL with the same cursor: the walk goes on from its bucket. No adds meanwhile. */
struct htable_node *htable_iter(const struct htable *t, size_t *cursor, const struct htable_node *prev);

/* The longest chain: what one lookup may walk (tests, metrics). */
size_t htable_longest_chain(const struct htable *t);

#endif
