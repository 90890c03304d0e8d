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

#include "fuzz_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shared_verdict v, again;
	char *body;

	if (!fuzz_verdict_decoded(shared_verdict_decode, data, size, &v))
		return 0;
	/* what a node accepted, it can pass on: encoded again and read back the same */
	if (shared_verdict_encode(&v, &body) != 0)
		abort();
	memset(&again, 0xa5, sizeof(again));
	if (shared_verdict_decode(body, strlen(body), &again) != 0)
		abort();
	if (!fuzz_verdict_same(&v, &again))
		abort();
	free(body);
	return 0;
}
