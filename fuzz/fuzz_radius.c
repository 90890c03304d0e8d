/*
 * fuzz_radius.c — libFuzzer target for the RADIUS accounting parser: the input is one
 * datagram, copied into a buffer of exactly its size; a packet that parses has every
 * view inside it, its authenticator checked and an answer built.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sense/radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char fuzz_radius_sink;

static void
touch(struct strview v, const uint8_t *buf, size_t len)
{
	if (v.len == 0)
		return;
	if ((const uint8_t *)v.ptr < buf || (size_t)((const uint8_t *)v.ptr - buf) + v.len > len)
		abort();
	for (size_t i = 0; i < v.len; i++)
		fuzz_radius_sink ^= (unsigned char)v.ptr[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), out[RADIUS_HEADER_LEN];
	struct radius_packet p;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	int rc = radius_parse(buf, size, &p);
	if (rc == 0) {
		if (p.length < RADIUS_HEADER_LEN || p.length > size)
			abort();
		touch(p.user_name, buf, p.length);
		touch(p.calling_station_id, buf, p.length);
		touch(p.nas_identifier, buf, p.length);
		touch(p.acct_session_id, buf, p.length);
		touch(p.nas_port_id, buf, p.length);
		if (p.framed_ipv6_prefix.set && p.framed_ipv6_prefix.net.prefix > 128)
			abort();
		fuzz_radius_sink ^= (unsigned char)radius_acct_verify(buf, &p, (const uint8_t *)"testing123", 10);
		radius_acct_response(&p, (const uint8_t *)"testing123", 10, out);
		fuzz_radius_sink ^= out[4];
	} else if (strcmp(radius_error_name(rc), "unknown") == 0)
		abort();
	free(buf);
	return 0;
}
