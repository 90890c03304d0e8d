/*
 * fuzz_policy.c — libFuzzer target for the Postfix policy framer and parser.
 *
 * Parses the input whole, as any caller of policy_parse might, then treats it as
 * what a policy connection delivers and consumes it: frame a request off the front,
 * parse it, repeat, stop at the first error. Each framed request is copied to a
 * buffer of exactly its size so that AddressSanitizer sees any read past its end,
 * and the cross-checks below abort on a framer and parser that disagree, and on a
 * policy_frame_parse (what the server calls) that says anything else than
 * policy_frame followed by policy_parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sense/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char fuzz_policy_sink;

/* Reads every byte of v and checks that it lies inside buf[0..len). */
static void
fuzz_policy_touch(struct strview v, const uint8_t *buf, size_t len)
{
	unsigned char acc = 0;
	size_t i;

	if (v.len == 0)
		return;
	if ((const uint8_t *)v.ptr < buf || v.len > len ||
	    (size_t)((const uint8_t *)v.ptr - buf) > len - v.len)
		abort();
	for (i = 0; i < v.len; i++) {
		/* Values never span lines and never hold NUL. */
		if (v.ptr[i] == '\n' || v.ptr[i] == '\0')
			abort();
		acc ^= (unsigned char)v.ptr[i];
	}
	fuzz_policy_sink ^= acc;
}

static void
fuzz_policy_check(const struct policy_request *r, const uint8_t *buf, size_t len)
{
	const struct strview views[] = {
		r->protocol_state_raw, r->protocol_name, r->client_address,
		r->client_name, r->reverse_client_name, r->helo_name, r->sender,
		r->recipient, r->queue_id, r->instance, r->sasl_method,
		r->sasl_username, r->sasl_sender, r->server_address, r->server_port,
		r->client_port, r->policy_context,
	};
	size_t i;

	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		fuzz_policy_touch(views[i], buf, len);
	if ((unsigned)r->protocol_state >= POLICY_STATE_COUNT)
		abort();
	if (policy_state_name(r->protocol_state) == NULL)
		abort();
	/* Every counted attribute is a line of at least "x=\n". */
	if (r->attributes == 0 || (size_t)r->attributes * 3 + 1 > len)
		abort();
}

/* The views of a (in buffer abuf) and b (in bbuf) sit at the same offsets; same numbers. */
static void
fuzz_policy_same(const struct policy_request *a, const uint8_t *abuf,
    const struct policy_request *b, const uint8_t *bbuf)
{
#define SAME(f) do { \
		if (a->f.len != b->f.len || (a->f.len > 0 && \
		    (const uint8_t *)a->f.ptr - abuf != (const uint8_t *)b->f.ptr - bbuf)) \
			abort(); \
	} while (0)
	SAME(protocol_state_raw); SAME(protocol_name); SAME(client_address);
	SAME(client_name); SAME(reverse_client_name); SAME(helo_name); SAME(sender);
	SAME(recipient); SAME(queue_id); SAME(instance); SAME(sasl_method);
	SAME(sasl_username); SAME(sasl_sender); SAME(server_address); SAME(server_port);
	SAME(client_port); SAME(policy_context);
#undef SAME
	if (a->protocol_state != b->protocol_state || a->recipient_count != b->recipient_count ||
	    a->size != b->size || a->attributes != b->attributes)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_request whole;
	size_t off = 0;
	int rc;

	/*
	 * The parser must be safe on any bytes, not only on what the framer passes it.
	 * libFuzzer's data is already an exact-size allocation.
	 */
	if ((rc = policy_parse(data, size, &whole)) == POLICY_OK) {
		size_t n = 0;

		fuzz_policy_check(&whole, data, size);
		/* What the parser accepts whole, the framer frames whole. */
		if (policy_frame(data, size, &n) != 1 || n != size)
			abort();
	} else if (rc > 0 || policy_strerror(rc) == NULL)
		abort();

	while (off < size) {
		struct policy_request req, one, scratch;
		size_t n = 0, probe = 0, one_len = 0;
		uint8_t *copy;
		int one_rc = policy_frame_parse(data + off, size - off, &one_len, &one);

		rc = policy_frame(data + off, size - off, &n);
		if (rc < 0) {
			if (policy_strerror(rc) == NULL || one_rc != rc)
				abort();
			break;
		}
		if (rc == 0) {
			if (one_rc != 0)
				abort();
			break;
		}
		if (rc != 1 || n == 0 || n > size - off || n > POLICY_MAX_REQUEST)
			abort();
		/* The same request one byte short must still be incomplete. */
		if (policy_frame(data + off, n - 1, &probe) != 0 ||
		    policy_frame_parse(data + off, n - 1, &probe, &scratch) != 0)
			abort();
		/* Given exactly the request: what follows it changes nothing. */
		if (policy_frame_parse(data + off, n, &probe, &scratch) != one_rc)
			abort();

		if ((copy = malloc(n)) == NULL)
			abort();
		memcpy(copy, data + off, n);
		rc = policy_parse(copy, n, &req);
		if (rc == POLICY_OK) {
			fuzz_policy_check(&req, copy, n);
			if (one_rc != 1 || one_len != n)
				abort();
			fuzz_policy_check(&one, data + off, n);
			fuzz_policy_same(&req, copy, &one, data + off);
		} else if (one_rc != rc || rc == POLICY_ERR_NUL || rc == POLICY_ERR_LINE_TOO_LONG ||
		    rc == POLICY_ERR_TOO_LARGE || rc == POLICY_ERR_UNTERMINATED ||
		    rc == POLICY_ERR_TRAILING || rc > 0)
			abort();	/* the framer would not have framed it */
		free(copy);
		if (rc != POLICY_OK)
			break;
		off += n;
	}
	return 0;
}
