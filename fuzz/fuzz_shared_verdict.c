/*
 * fuzz_shared_verdict.c — libFuzzer target for the body of a shared-store change
 * (shared_verdict_decode, store/shared.c): other nodes write it into PostgreSQL, this node
 * reads it as untrusted. A refusal is -EINVAL with *out all zero; what is accepted is a
 * verdict this node can hold (levels of enum level, manual -1 or a level, no negative time,
 * a tag below 2^63, each text NUL-terminated inside its field, an actor) that the encoder
 * writes again and the decoder reads back the same.
 *
 * Seeds (fuzz/seeds/shared_verdict/): valid-* are shared_verdict_encode's output (a judge's
 * quarantine, an operator's suspension with a UTF-8 reason, a release with reset, texts at
 * their longest, a tag of INT64_MAX, a future member ignored); the rest are broken on
 * purpose: not JSON, an array, a field missing, of another type or out of range, a tag of
 * 2^63 or negative, a text one byte too long, \u0000, bad UTF-8, a key twice, bytes after
 * the object, a body cut short, nesting 10 000 deep.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/level.h"
#include "store/shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
text_ok(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

static void
check_same(const struct shared_verdict *a, const struct shared_verdict *b)
{
	if (a->level != b->level || a->old_level != b->old_level || a->manual_level != b->manual_level ||
	    a->manual_until != b->manual_until || a->grace_until != b->grace_until || a->time != b->time ||
	    a->self_release != b->self_release || a->reset != b->reset || a->tag != b->tag ||
	    strcmp(a->manual_reason, b->manual_reason) != 0 || strcmp(a->actor, b->actor) != 0 ||
	    strcmp(a->reason, b->reason) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct shared_verdict zero;
	struct shared_verdict v, again;
	char *body;
	int rc;

	memset(&v, 0xa5, sizeof(v));
	rc = shared_verdict_decode((const char *)data, size, &v);
	if (rc == -EINVAL) {
		if (memcmp(&v, &zero, sizeof(v)) != 0)
			abort();
		return 0;
	}
	if (rc != 0)
		abort();
	if (v.level < 0 || v.level >= LEVEL_COUNT || v.old_level < 0 || v.old_level >= LEVEL_COUNT ||
	    v.manual_level < -1 || v.manual_level >= LEVEL_COUNT || v.manual_until < 0 || v.grace_until < 0 ||
	    v.time < 0 || v.tag > (uint64_t)INT64_MAX)
		abort();
	if (!text_ok(v.manual_reason, sizeof(v.manual_reason)) || !text_ok(v.actor, sizeof(v.actor)) ||
	    !text_ok(v.reason, sizeof(v.reason)) || v.actor[0] == '\0')
		abort();
	/* what a node accepted, it can pass on: encoded again and read back the same */
	if (shared_verdict_encode(&v, &body) != 0)
		abort();
	memset(&again, 0xa5, sizeof(again));
	if (shared_verdict_decode(body, strlen(body), &again) != 0)
		abort();
	check_same(&v, &again);
	free(body);
	return 0;
}
