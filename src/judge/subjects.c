/*
 * subjects.c — the subjects in the one hash table (common/htable.h, keyed hashes from
 * common/hash.h), and the recency list through every entry.
 */
#include "judge/subjects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

struct subjects {
	struct htable table;
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
	if (htable_init(&t->table, 1024) != 0) {
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
		free(s->detail->manual_reason);
		free(s->detail);
	}
	free(s);
}

void
subjects_free(struct subjects *t)
{
	if (t == NULL)
		return;
	for (struct subject *s = t->oldest, *newer; s != NULL; s = newer) {
		newer = s->newer;
		subject_free(s);
	}
	htable_fini(&t->table);
	free(t);
}

struct subject *
subjects_find(const struct subjects *t, const char *key, size_t len)
{
	uint32_t h = subjects_hash(key, len);

	for (struct htable_node *n = htable_first(&t->table, h); n != NULL; n = htable_next(n, h)) {
		struct subject *s = htable_entry(n, struct subject, node);
		if (s->key_len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
	return NULL;
}

void
subjects_prefetch(const struct subjects *t, const char *const *keys, size_t n)
{
	uint32_t h[SUBJECTS_PREFETCH_MAX];

	if (n > SUBJECTS_PREFETCH_MAX)
		n = SUBJECTS_PREFETCH_MAX;
	for (size_t i = 0; i < n; i++) {
		h[i] = subjects_hash(keys[i], strlen(keys[i]));
		htable_prefetch(&t->table, h[i]);
	}
	for (size_t i = 0; i < n; i++)
		htable_prefetch_node(&t->table, h[i]);
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
	s->node.hash = subjects_hash(key, len);
	s->kind = (uint8_t)kind;
	s->manual_level = -1;
	s->key_len = (uint16_t)len;
	memcpy(s->key, key, len);
	htable_add(&t->table, &s->node);
	subjects_link_newest(t, s);
	t->bytes += size;
	return s;
}

void
subjects_remove(struct subjects *t, struct subject *s)
{
	htable_del(&t->table, &s->node);
	subjects_unlink(t, s);
	t->bytes -= sizeof(*s) + s->key_len + 1;
	subject_free(s);
}

size_t
subjects_count(const struct subjects *t)
{
	return t->table.count;
}

struct subject *
subjects_next(const struct subjects *t, size_t *cursor, struct subject *prev)
{
	struct htable_node *n = htable_iter(&t->table, cursor, prev != NULL ? &prev->node : NULL);

	return n != NULL ? htable_entry(n, struct subject, node) : NULL;
}

struct subject_detail *
subject_detail(struct subject *s)
{
	if (s->detail == NULL)
		s->detail = calloc(1, sizeof(*s->detail));
	return s->detail;
}

const char *
subject_manual_reason(const struct subject *s)
{
	return s->detail != NULL && s->detail->manual_reason != NULL ? s->detail->manual_reason : "";
}

int
subject_set_manual_reason(struct subject *s, const char *reason)
{
	size_t n = reason != NULL ? strnlen(reason, STORE_REASON_MAX - 1) : 0;
	char *copy = NULL;

	if (n == 0) {
		if (s->detail != NULL) {
			free(s->detail->manual_reason);
			s->detail->manual_reason = NULL;
		}
		return 0;
	}
	if (subject_detail(s) == NULL || (copy = malloc(n + 1)) == NULL)
		return -ENOMEM;
	memcpy(copy, reason, n);
	copy[n] = '\0';
	free(s->detail->manual_reason);
	s->detail->manual_reason = copy;
	return 0;
}

size_t
subjects_longest_chain(const struct subjects *t)
{
	return htable_longest_chain(&t->table);
}

size_t
subjects_memory(const struct subjects *t)
{
	return sizeof(*t) + (t->table.mask + 1) * sizeof(*t->table.buckets) + t->bytes;
}

const char *
subject_kind_name(enum subject_kind kind)
{
	return kind == SUBJECT_ACCOUNT ? "account" : kind == SUBJECT_SUBSCRIBER ? "subscriber" : "host";
}

const char *
subject_field(const struct subject *s)
{
	return subject_kind_name(s->kind);
}

const char *
subject_name(const struct subject *s, char *buf, size_t size)
{
	size_t skip = subject_prefix_len((enum subject_kind)s->kind);

	if (skip > s->key_len)
		skip = 0;

	subject_text_encode(buf, size, s->key + skip, s->key_len - skip);
	return buf;
}
