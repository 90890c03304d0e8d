/*
 * fuzz_radius_coa.c — libFuzzer target for the CoA / Disconnect answer check: the input
 * is one datagram, checked as the answer to a CoA-Request (even sizes) or a
 * Disconnect-Request (odd) with the input's Identifier; what parses stays inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "act/radius_coa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned fuzz_radius_coa_sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), req[20] = { RADIUS_COA_REQUEST };
	struct radius_coa_answer a;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (size % 2)
		req[0] = RADIUS_DISCONNECT_REQUEST;
	req[1] = size > 1 ? data[1] : 0;
	memset(req + 4, 0x5a, 16);
	int rc = radius_coa_answer_check(buf, size, req, (const uint8_t *)"testing123", 10, &a);
	if (rc == 0 || rc < -RADIUS_COA_E_LENGTH) {
		if (a.length < 20 || a.length > size || a.length > RADIUS_COA_MAX_LEN)
			abort();
	}
	if (rc == 0 && a.code != RADIUS_COA_ACK && a.code != RADIUS_COA_NAK && a.code != RADIUS_DISCONNECT_ACK &&
	    a.code != RADIUS_DISCONNECT_NAK)
		abort();
	if (strcmp(radius_coa_error_name(rc), "unknown") == 0 && rc != 0)
		abort();
	fuzz_radius_coa_sink += a.error_cause;
	free(buf);
	return 0;
}
