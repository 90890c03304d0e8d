/*
 * fuzz_shared_evidence_line.c — libFuzzer target for an evidence line (schema 4,
 * shared_evidence_line_decode, store/shared.c): other nodes push their publications into
 * PostgreSQL as lines of lz_evidence_log, this node reads them as untrusted, with the node the
 * log row names ("fuzz" here). A refusal is -EINVAL with *out all zero; what is accepted is
 * evidence this node can hold (a subject, each text NUL-terminated inside its field, the
 * node's name, a finite value in [0, 1e300), no negative time, a count below 2^63) that
 * shared_evidence_line writes again, byte for byte the same line as the one read.
 *
 * Seeds (fuzz/seeds/shared_evidence_line/): valid-* are shared_evidence_line's output (an
 * IPv4 host's rate limit, an account whose name holds a tab, a newline and a backslash as
 * subject text, a UTF-8 summary with the three escapes, a value of 0 and one of 0.1 as
 * "%.17g" writes it, a count of INT64_MAX, texts at their longest); the rest are broken on
 * purpose: a member short or too many, an escape never written, a lone backslash at the end,
 * a raw newline, numbers in forms no writer makes ("1e-05", "+1", a leading zero, a negative
 * time, NaN, inf, hex, "-0"), a count of 2^63, a summary one byte too long, a NUL, bad UTF-8, an
 * empty subject, a subject text spelled otherwise than the writer spells it.
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
	static const struct shared_evidence zero;
	struct shared_evidence e;
	char line[SHARED_EV_LINE_MAX];
	int rc, n;

	memset(&e, 0xa5, sizeof(e));
	rc = shared_evidence_line_decode((const char *)data, size, "fuzz", &e);
	if (rc == -EINVAL) {
		if (memcmp(&e, &zero, sizeof(e)) != 0)
			abort();
		return 0;
	}
	if (rc != 0 || !fuzz_evidence_holdable(&e, "fuzz"))
		abort();
	/* what a node accepted, it can pass on: the writer makes the very line again (the
	 * decoder lets through one spelling of each line, the writer's) */
	if ((n = shared_evidence_line(&e, line, sizeof(line))) < 0 || (size_t)n != size || memcmp(line, data, size) != 0)
		abort();
	return 0;
}
