/*
 * subjects.c — the subject hash table: keyed hashes (common/hash.h), power-of-two buckets, chains,
 * growth by doubling when the load passes 1; and the recency list through every entry.
 */
#include "judge/subjects.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

struct subjects {
	struct subject **buckets;
	size_t mask;            /* bucket count - 1 */
	size_t count;
	size_t bytes;           /* subject entries; detail blocks are not counted */
	struct subject *newest, *oldest;
};

uint32_t
subjects_hash(const char *key, size_t len)
{
	return (uint32_t)hash_bytes(key, len);
}

struct subjects *
subjects_new(void)
{
	struct subjects *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->mask = 1023;
	if ((t->buckets = calloc(t->mask + 1, sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void
subject_free(struct subject *s)
{
	if (s->detail != NULL) {
		free(s->detail->evidence);
		free(s->detail);
	}
	free(s);
}

void
subjects_free(struct subjects *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct subject *s = t->buckets[i], *next;
		for (; s != NULL; s = next) {
			next = s->next;
			subject_free(s);
		}
	}
	free(t->buckets);
	free(t);
}

struct subject *
subjects_find(const struct subjects *t, const char *key, size_t len)
{
	uint32_t h = subjects_hash(key, len);

	for (struct subject *s = t->buckets[h & t->mask]; s != NULL; s = s->next)
		if (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

static void
subjects_grow(struct subjects *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct subject **nb = calloc(nmask + 1, sizeof(*nb));

	if (nb == NULL)
		return;         /* longer chains, still correct */
	for (size_t i = 0; i <= t->mask; i++) {
		struct subject *s = t->buckets[i], *next;
		for (; s != NULL; s = next) {
			next = s->next;
			s->next = nb[s->hash & nmask];
			nb[s->hash & nmask] = s;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = nmask;
}

static void
subjects_unlink(struct subjects *t, struct subject *s)
{
	if (s->newer != NULL)
		s->newer->older = s->older;
	else
		t->newest = s->older;
	if (s->older != NULL)
		s->older->newer = s->newer;
	else
		t->oldest = s->newer;
	s->newer = s->older = NULL;
}

static void
subjects_link_newest(struct subjects *t, struct subject *s)
{
	s->newer = NULL;
	s->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = s;
	else
		t->oldest = s;
	t->newest = s;
}

void
subjects_touch(struct subjects *t, struct subject *s)
{
	if (t->newest == s)
		return;
	subjects_unlink(t, s);
	subjects_link_newest(t, s);
}

struct subject *
subjects_oldest(const struct subjects *t)
{
	return t->oldest;
}

struct subject *
subjects_get(struct subjects *t, enum subject_kind kind, const char *key, size_t len)
{
	struct subject *s = subjects_find(t, key, len);

	return s != NULL ? s : subjects_add(t, kind, key, len);
}

struct subject *
subjects_add(struct subjects *t, enum subject_kind kind, const char *key, size_t len)
{
	struct subject *s;
	size_t size;

	if (len >= STORE_SUBJECT_MAX)
		return NULL;
	size = sizeof(*s) + len + 1;
	if ((s = calloc(1, size)) == NULL)
		return NULL;
	s->hash = subjects_hash(key, len);
	s->kind = (uint8_t)kind;
	s->manual_level = -1;
	s->key_len = (uint16_t)len;
	memcpy(s->key, key, len);
	if (t->count >= t->mask + 1)
		subjects_grow(t);
	s->next = t->buckets[s->hash & t->mask];
	t->buckets[s->hash & t->mask] = s;
	subjects_link_newest(t, s);
	t->count++;
	t->bytes += size;
	return s;
}

void
subjects_remove(struct subjects *t, struct subject *s)
{
	struct subject **pp = &t->buckets[s->hash & t->mask];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != s)
			continue;
		*pp = s->next;
		subjects_unlink(t, s);
		t->count--;
		t->bytes -= sizeof(*s) + s->key_len + 1;
		subject_free(s);
		return;
	}
}

size_t
subjects_count(const struct subjects *t)
{
	return t->count;
}

struct subject *
subjects_next(const struct subjects *t, size_t *cursor, struct subject *prev)
{
	if (prev != NULL && prev->next != NULL)
		return prev->next;
	if (prev != NULL)
		(*cursor)++;
	else if (*cursor <= t->mask) {
		/* restart the current bucket: the caller removed what it held */
		if (t->buckets[*cursor] != NULL)
			return t->buckets[*cursor];
		(*cursor)++;
	}
	for (; *cursor <= t->mask; (*cursor)++)
		if (t->buckets[*cursor] != NULL)
			return t->buckets[*cursor];
	return NULL;
}

struct subject_detail *
subject_detail(struct subject *s)
{
	if (s->detail == NULL)
		s->detail = calloc(1, sizeof(*s->detail));
	return s->detail;
}

size_t
subjects_longest_chain(const struct subjects *t)
{
	size_t longest = 0;

	for (size_t i = 0; i <= t->mask; i++) {
		size_t n = 0;
		for (const struct subject *s = t->buckets[i]; s != NULL; s = s->next)
			n++;
		if (n > longest)
			longest = n;
	}
	return longest;
}

size_t
subjects_memory(const struct subjects *t)
{
	return sizeof(*t) + (t->mask + 1) * sizeof(*t->buckets) + t->bytes;
}

const char *
subject_kind_name(enum subject_kind kind)
{
	return kind == SUBJECT_ACCOUNT ? "account" : "host";
}

const char *
subject_field(const struct subject *s)
{
	return subject_kind_name(s->kind);
}

const char *
subject_name(const struct subject *s, char *buf, size_t size)
{
	size_t skip = s->kind == SUBJECT_ACCOUNT && s->key_len >= SUBJECT_ACCOUNT_PREFIX_LEN ?
	    SUBJECT_ACCOUNT_PREFIX_LEN : 0;

	subject_text_encode(buf, size, s->key + skip, s->key_len - skip);
	return buf;
}
