/*
 * fuzz_shared_line.c — libFuzzer target for a change's verdict line (shared_verdict_line_decode,
 * store/shared.c): other nodes write it into PostgreSQL (lz_changes.verdict), this node reads it
 * as untrusted. A refusal is -EINVAL with *out all zero; what is accepted is a verdict this node
 * can hold (levels of enum level, manual -1 or a level, no negative time, a tag below 2^63,
 * each text NUL-terminated inside its field and UTF-8, an actor) that shared_verdict_line
 * writes again, byte for byte the same line as the one read.
 *
 * Seeds (fuzz/seeds/shared_line/): valid-* are shared_verdict_line's output (a judge's
 * quarantine, an operator's suspension with a UTF-8 reason and the three escapes, a release
 * with reset, texts at their longest, a tag of INT64_MAX); the rest are broken on purpose: a
 * member short or too many, an escape never written, a lone backslash at the end, a raw
 * newline, a level unknown, numbers in forms no writer makes, a tag of 2^63, a text one byte
 * too long, a NUL, bad UTF-8, an empty actor, a version 2.
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
	struct shared_verdict v;
	char line[SHARED_LINE_MAX];
	int n;

	if (!fuzz_verdict_decoded(shared_verdict_line_decode, data, size, &v))
		return 0;
	/* what a node accepted, it can pass on: the writer makes the very line again (the
	 * decoder lets through one spelling of each member, the writer's) */
	if ((n = shared_verdict_line(&v, line, sizeof(line))) < 0 || (size_t)n != size || memcmp(line, data, size) != 0)
		abort();
	return 0;
}
