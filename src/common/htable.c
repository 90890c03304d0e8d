/*
 * htable.c — see htable.h.
 */
#include "common/htable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
htable_init(struct htable *t, size_t buckets)
{
	t->count = 0;
	t->mask = buckets - 1;
	if ((t->buckets = calloc(buckets, sizeof(*t->buckets))) == NULL)
		return -ENOMEM;
	return 0;
}

void
htable_fini(struct htable *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

struct htable_node *
htable_first(const struct htable *t, uint32_t h)
{
	struct htable_node *n = t->buckets[h & t->mask];

	while (n != NULL && n->hash != h)
		n = n->next;
	return n;
}

struct htable_node *
htable_next(const struct htable_node *n, uint32_t h)
{
	struct htable_node *x = n->next;

	while (x != NULL && x->hash != h)
		x = x->next;
	return x;
}

static void
htable_grow(struct htable *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct htable_node **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct htable_node *n = t->buckets[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			n->next = nb[n->hash & nmask];
			nb[n->hash & nmask] = n;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = nmask;
}

void
htable_add(struct htable *t, struct htable_node *n)
{
	if (t->count >= t->mask + 1)
		htable_grow(t);
	n->next = t->buckets[n->hash & t->mask];
	t->buckets[n->hash & t->mask] = n;
	t->count++;
}

void
htable_del(struct htable *t, struct htable_node *n)
{
	for (struct htable_node **pp = &t->buckets[n->hash & t->mask]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->count--;
			return;
		}
}

void
htable_clear(struct htable *t)
{
	memset(t->buckets, 0, (t->mask + 1) * sizeof(*t->buckets));
	t->count = 0;
}

struct htable_node *
htable_iter(const struct htable *t, size_t *cursor, const struct htable_node *prev)
{
	if (prev != NULL && prev->next != NULL)
		return prev->next;
	if (prev != NULL)
		(*cursor)++;
	else if (*cursor <= t->mask) {
		/* the current bucket again: the caller removed the node it held */
		if (t->buckets[*cursor] != NULL)
			return t->buckets[*cursor];
		(*cursor)++;
	}
	for (; *cursor <= t->mask; (*cursor)++)
		if (t->buckets[*cursor] != NULL)
			return t->buckets[*cursor];
	return NULL;
}

size_t
htable_longest_chain(const struct htable *t)
{
	size_t longest = 0;

	for (size_t i = 0; i <= t->mask; i++) {
		size_t n = 0;
		for (const struct htable_node *x = t->buckets[i]; x != NULL; x = x->next)
			n++;
		if (n > longest)
			longest = n;
	}
	return longest;
}
