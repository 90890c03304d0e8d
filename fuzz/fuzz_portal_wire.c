/*
 * fuzz_portal_wire.c — what the portal's desk accepts from the front (a process that
 * parses every subscriber's HTTP and may be taken over) and what the front accepts
 * from the desk: any bytes as one SEQPACKET message. An accepted query must carry a
 * terminated address that parses and a terminated token; an accepted answer must turn
 * into a page_info whose strings all end within the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[128];
	struct addr a;

	if (size > sizeof(struct portal_answer) + 16)
		return 0;
	/* exactly size bytes, aligned, so that ASan sees any read beyond them */
	void *msg = malloc(size ? size : 1);
	if (msg == NULL)
		return 0;
	memcpy(msg, data, size);
	if (portal_wire_query_check(msg, size, why, sizeof(why)) == 0) {
		const struct portal_query *q = msg;
		if (strnlen(q->address, sizeof(q->address)) == sizeof(q->address) ||
		    strnlen(q->token, sizeof(q->token)) == sizeof(q->token) ||
		    addr_parse(q->address, strlen(q->address), &a) != 0)
			abort();
	}
	if (portal_wire_answer_check(msg, size, why, sizeof(why)) == 0) {
		struct page_info in;
		struct page_evidence ev[PORTAL_EVIDENCE_MAX];
		portal_wire_page_info(msg, &in, ev);
		size_t total = strlen(in.address) + strlen(in.subject) + (in.token ? strlen(in.token) : 0) +
		    (in.case_id ? strlen(in.case_id) : 0) + (in.error ? strlen(in.error) : 0);
		for (size_t i = 0; i < in.evidence_count; i++)
			total += strlen(ev[i].kind) + strlen(ev[i].summary);
		if (total > size || in.evidence_count > PORTAL_EVIDENCE_MAX)
			abort();
	}
	free(msg);
	return 0;
}
