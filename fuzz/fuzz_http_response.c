/*
 * fuzz_http_response.c — libFuzzer target for lazaretctl's HTTP response parser.
 *
 * Treats the input as everything a connection delivered before it closed,
 * parses it, reads every byte of the views, and cross-checks the parser with
 * http_response_complete() (what the reader uses to stop early) and with
 * itself on the message cut to its own length. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/http_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char fuzz_http_sink;

/* Reads every byte of [p, p+n) and checks that it lies inside buf[0..len). */
static void
fuzz_http_touch(const void *p, size_t n, const uint8_t *buf, size_t len, int inside)
{
	const uint8_t *b = p;
	unsigned char acc = 0;

	if (n == 0)
		return;
	if (b == NULL)
		abort();
	if (inside && (b < buf || n > len || (size_t)(b - buf) > len - n))
		abort();
	for (size_t i = 0; i < n; i++)
		acc ^= b[i];
	fuzz_http_sink ^= acc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_response r, again;
	int rc, done;

	rc = http_response_parse(data, size, &r);
	done = http_response_complete(data, size);
	if (rc > 0 || done > 1 || http_strerror(rc) == NULL)
		abort();
	if (rc != 0) {
		if (r.owned != NULL || r.body != NULL)
			abort();
		/* What the parser refuses, the reader must not take as whole. */
		if (done == 1)
			abort();
		return 0;
	}

	if (r.status < 200 || r.status > 599 || r.minor < 0 || r.minor > 9 || r.body == NULL)
		abort();
	if (r.header_len > r.message_len || r.message_len > size)
		abort();
	fuzz_http_touch(r.reason.ptr, r.reason.len, data, r.header_len, 1);
	fuzz_http_touch(r.content_type.ptr, r.content_type.len, data, r.header_len, 1);
	fuzz_http_touch(r.body, r.body_len, data, size, r.owned == NULL);
	if (r.body_len > HTTP_BODY_MAX)
		abort();

	switch (r.framing) {
	case HTTP_FRAMING_NONE:
		if (r.body_len != 0 || r.owned != NULL || done != 1)
			abort();
		break;
	case HTTP_FRAMING_LENGTH:
		if (r.content_length < 0 || (size_t)r.content_length != r.body_len ||
		    r.owned != NULL || done != 1 || r.message_len != r.header_len + r.body_len)
			abort();
		break;
	case HTTP_FRAMING_CHUNKED:
		if (done != 1 || (r.body_len > 0) != (r.owned != NULL))
			abort();
		break;
	case HTTP_FRAMING_CLOSE:
		if (done != 0 || r.message_len != size || r.owned != NULL)
			abort();
		break;
	default:
		abort();
	}

	/* A self-delimited message parses the same when cut to its own length. */
	if (r.framing != HTTP_FRAMING_CLOSE) {
		if (http_response_parse(data, r.message_len, &again) != 0 ||
		    again.status != r.status || again.framing != r.framing ||
		    again.body_len != r.body_len || again.message_len != r.message_len ||
		    memcmp(again.body, r.body, r.body_len) != 0)
			abort();
		http_response_free(&again);
		/* And one byte short it is not yet whole. */
		if (http_response_complete(data, r.message_len - 1) == 1)
			abort();
	}
	http_response_free(&r);
	return 0;
}
