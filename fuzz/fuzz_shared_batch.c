/*
 * fuzz_shared_batch.c — libFuzzer target for a batch row's lines (shared_batch_line_decode,
 * store/shared.c; schema 5): other nodes write them into PostgreSQL (lz_changes.verdict of a
 * row of kind "verdicts", a line a change), this node reads them as untrusted. The input is a
 * row's text: split at each newline, as shared_decode_row does, every line decoded. A refusal
 * is -EINVAL; what is accepted is a change whose node_seq is 1 or more, whose at is not
 * negative, whose subject and verdict shared_batch_line writes again, byte for byte the line
 * that was read.
 *
 * Seeds (fuzz/seeds/shared_batch/): valid-* are shared_batch_line's output (one line; three
 * lines of three nodes' subjects, an account with the escapes among them; numbers at their
 * bounds); the rest are broken on purpose: a member missing, numbers in forms no writer makes
 * (a leading zero, a sign, 2^63), a subject escaped where it need not be, a verdict line cut
 * short, a raw NUL, a line without its newline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	static char line[SHARED_BATCH_LINE_MAX], again[SHARED_BATCH_LINE_MAX];
	static char subject[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)], verdict[SHARED_LINE_MAX];
	static struct shared_change c;

	for (size_t o = 0; o < size;) {
		const char *nl = memchr(text + o, '\n', size - o);
		size_t n = nl != NULL ? (size_t)(nl - (text + o)) : size - o;
		memset(&c, 0, sizeof(c));
		if (n < sizeof(line) && shared_batch_line_decode(text + o, n, &c) == 0) {
			/* what a node accepted, it can pass on: the same line, written again */
			if (c.node_seq < 1 || c.at < 0 || shared_verdict_line(&c.verdict, verdict, sizeof(verdict)) < 0)
				abort();
			subject_text_encode(subject, sizeof(subject), c.subject, strlen(c.subject));
			int len = shared_batch_line(c.node_seq, c.at, subject, verdict, again, sizeof(again));
			memcpy(line, text + o, n);
			if (len < 0 || (size_t)len != n + 1 || memcmp(again, line, n) != 0)
				abort();
		}
		o += n + 1;
	}
	return 0;
}
