/*
 * fuzz_shared_rows.c — libFuzzer target for the shared store's rows as the nodes read them
 * from PostgreSQL (store/shared.c): a change's verdict from its members as texts
 * (shared_verdict_from_fields, where the verdict line's and the JSON body's decoders end) and
 * an lz_evidence row from its
 * columns (shared_evidence_from_columns). Another node wrote them; this node reads them as
 * untrusted, byte for byte (a column may hold any byte, a NUL too, and need not end in one).
 *
 * Input: the first byte's low bit picks the decoder (0: the verdict's members, 1: the
 * evidence columns); the rest is the fields, separated by 0x1f; a field that is a lone 0x1e
 * is SQL NULL; missing fields are NULL, extra ones ignored. Each field is handed over in a
 * buffer of its own exact length, so ASan sees any read past it.
 *
 * A refusal is -EINVAL with *out all zero. An accepted verdict is one this node can hold
 * (the same checks as fuzz_shared_verdict), which encodes to JSON and decodes back the same;
 * accepted evidence has a subject, texts NUL-terminated within their fields, a value in
 * [0, 1e300) and no negative time.
 *
 * Seeds (fuzz/seeds/shared_rows/): verdict-* and evidence-* rows as PostgreSQL returns them
 * (valid ones, and each kind of bad column: NULL, a NUL inside, a number with a sign, a space,
 * a leading zero or out of range, NaN, a text one byte too long, an undecodable subject).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS_MAX 16
_Static_assert((int)SHARED_F_COUNT <= FIELDS_MAX && (int)SHARED_E_COLUMNS <= FIELDS_MAX, "FIELDS_MAX");

static void
verdict_check(const char *const value[], const size_t len[])
{
	static const struct shared_verdict zero;
	struct shared_verdict v, again;
	char *body;

	memset(&v, 0xa5, sizeof(v));
	int rc = shared_verdict_from_fields(value, len, &v);
	if (rc == -EINVAL) {
		if (memcmp(&v, &zero, sizeof(v)) != 0)
			abort();
		return;
	}
	if (rc != 0 || !fuzz_verdict_holdable(&v))
		abort();
	/* texts that are not UTF-8 cannot be JSON: the encoder refuses them, nothing more */
	if (shared_verdict_encode(&v, &body) != 0)
		return;
	memset(&again, 0xa5, sizeof(again));
	if (shared_verdict_decode(body, strlen(body), &again) != 0 || !fuzz_verdict_same(&v, &again))
		abort();
	free(body);
}

static void
evidence_check(const char *const value[], const size_t len[])
{
	static const struct shared_evidence zero;
	struct shared_evidence e;

	memset(&e, 0xa5, sizeof(e));
	int rc = shared_evidence_from_columns(value, len, &e);
	if (rc == -EINVAL) {
		if (memcmp(&e, &zero, sizeof(e)) != 0)
			abort();
		return;
	}
	if (rc != 0 || e.subject[0] == '\0' || !fuzz_text_ended(e.subject, sizeof(e.subject)) ||
	    !fuzz_text_ended(e.node, sizeof(e.node)) || !fuzz_text_ended(e.kind, sizeof(e.kind)) ||
	    !fuzz_text_ended(e.summary, sizeof(e.summary)) || !isfinite(e.value) || e.value < 0 || e.value >= 1e300 ||
	    e.value_time < 0 || e.first_seen < 0 || e.last_seen < 0 || e.count > (uint64_t)INT64_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *value[FIELDS_MAX];
	size_t len[FIELDS_MAX];
	char *own[FIELDS_MAX];
	size_t n = 0, at = 1;

	if (size == 0)
		return 0;
	bool evidence = data[0] & 1;
	size_t want = evidence ? SHARED_E_COLUMNS : SHARED_F_COUNT;
	while (n < want) {
		own[n] = NULL;
		value[n] = NULL;
		len[n] = 0;
		if (at > size) {
			n++;
			continue;
		}
		const uint8_t *sep = memchr(data + at, 0x1f, size - at);
		size_t flen = sep != NULL ? (size_t)(sep - (data + at)) : size - at;
		if (!(flen == 1 && data[at] == 0x1e)) {
			if ((own[n] = malloc(flen ? flen : 1)) == NULL)
				abort();
			memcpy(own[n], data + at, flen);
			value[n] = own[n];
			len[n] = flen;
		}
		at += flen + 1;
		n++;
	}
	if (evidence)
		evidence_check(value, len);
	else
		verdict_check(value, len);
	for (size_t i = 0; i < n; i++)
		free(own[i]);
	return 0;
}
