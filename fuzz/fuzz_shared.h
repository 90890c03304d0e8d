/*
 * fuzz_shared.h — for the shared store's targets (a change's JSON body, its verdict line, the
 * feed's members, the evidence line): what must hold of a verdict a decoder accepted, and
 * whether two are the same; what must hold of accepted evidence.
 */
#ifndef LAZARET_FUZZ_SHARED_H
#define LAZARET_FUZZ_SHARED_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/level.h"
#include "store/shared.h"

/* A text field ended by a NUL within its size bytes. */
static inline bool
fuzz_text_ended(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

/* A verdict this node can hold: levels of enum level, manual -1 or a level, no negative time,
 * a tag below 2^63, each text ended within its field, an actor. */
static inline bool
fuzz_verdict_holdable(const struct shared_verdict *v)
{
	return v->level >= 0 && v->level < LEVEL_COUNT && v->old_level >= 0 && v->old_level < LEVEL_COUNT &&
	    v->manual_level >= -1 && v->manual_level < LEVEL_COUNT && v->manual_until >= 0 && v->grace_until >= 0 &&
	    v->time >= 0 && v->tag <= (uint64_t)INT64_MAX && fuzz_text_ended(v->manual_reason, sizeof(v->manual_reason)) &&
	    fuzz_text_ended(v->actor, sizeof(v->actor)) && fuzz_text_ended(v->reason, sizeof(v->reason)) &&
	    v->actor[0] != '\0';
}

/* Whether a and b are the same verdict, member by member. */
static inline bool
fuzz_verdict_same(const struct shared_verdict *a, const struct shared_verdict *b)
{
	return a->level == b->level && a->old_level == b->old_level && a->manual_level == b->manual_level &&
	    a->manual_until == b->manual_until && a->grace_until == b->grace_until && a->time == b->time &&
	    a->self_release == b->self_release && a->reset == b->reset && a->tag == b->tag &&
	    strcmp(a->manual_reason, b->manual_reason) == 0 && strcmp(a->actor, b->actor) == 0 &&
	    strcmp(a->reason, b->reason) == 0;
}

/*
 * decode() of the input into *v: false when it is refused (-EINVAL, *v all zero), true when
 * accepted (a verdict this node can hold); anything else aborts.
 */
static inline bool
fuzz_verdict_decoded(int (*decode)(const char *, size_t, struct shared_verdict *), const uint8_t *data,
    size_t size, struct shared_verdict *v)
{
	static const struct shared_verdict zero;
	int rc;

	memset(v, 0xa5, sizeof(*v));
	rc = decode((const char *)data, size, v);
	if (rc == -EINVAL) {
		if (memcmp(v, &zero, sizeof(*v)) != 0)
			abort();
		return false;
	}
	if (rc != 0 || !fuzz_verdict_holdable(v))
		abort();
	return true;
}

/* Evidence this node can hold, from node: a subject, each text ended within its field, a
 * finite value in [0, 1e300) (never -0), no negative time, a count below 2^63. */
static inline bool
fuzz_evidence_holdable(const struct shared_evidence *e, const char *node)
{
	return e->subject[0] != '\0' && fuzz_text_ended(e->subject, sizeof(e->subject)) &&
	    fuzz_text_ended(e->node, sizeof(e->node)) && strcmp(e->node, node) == 0 &&
	    fuzz_text_ended(e->kind, sizeof(e->kind)) && fuzz_text_ended(e->summary, sizeof(e->summary)) &&
	    isfinite(e->value) && !signbit(e->value) && e->value < 1e300 && e->value_time >= 0 && e->first_seen >= 0 &&
	    e->last_seen >= 0 && e->count <= (uint64_t)INT64_MAX;
}

#endif
