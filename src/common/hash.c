/*
 * hash.c — SipHash-1-3 (Aumasson and Bernstein; one compression round per block, three
 * finalisation rounds, the variant Rust's HashMap and Redis use for speed), keyed once
 * per process. See hash.h.
 */
#include "common/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint8_t hash_key[16];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static inline uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#define SIPROUND do { \
	v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32); \
	v2 += v3; v3 = rotl(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rotl(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32); \
} while (0)

uint64_t
hash_siphash(int c_rounds, int d_rounds, const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, full = len & ~(size_t)7;

	for (i = 0; i < full; i += 8) {
		m = load64(in + i);
		v3 ^= m;
		for (int r = 0; r < c_rounds; r++)
			SIPROUND;
		v0 ^= m;
	}
	switch (len & 7) {
	case 7: b |= (uint64_t)in[i + 6] << 48; /* fall through */
	case 6: b |= (uint64_t)in[i + 5] << 40; /* fall through */
	case 5: b |= (uint64_t)in[i + 4] << 32; /* fall through */
	case 4: b |= (uint64_t)in[i + 3] << 24; /* fall through */
	case 3: b |= (uint64_t)in[i + 2] << 16; /* fall through */
	case 2: b |= (uint64_t)in[i + 1] << 8;  /* fall through */
	case 1: b |= (uint64_t)in[i];           /* fall through */
	default: break;
	}
	v3 ^= b;
	for (int r = 0; r < c_rounds; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < d_rounds; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The key from the kernel; should getrandom fail (never after boot), at least not a constant. */
static void
hash_key_init(void)
{
	if (getrandom(hash_key, sizeof(hash_key), 0) != (ssize_t)sizeof(hash_key)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t a = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32), c = (uint64_t)ts.tv_sec ^ (uintptr_t)&ts;
		memcpy(hash_key, &a, 8);
		memcpy(hash_key + 8, &c, 8);
	}
}

uint64_t
hash_bytes(const void *data, size_t len)
{
	pthread_once(&hash_once, hash_key_init);
	return hash_siphash(1, 3, hash_key, data, len);
}

uint64_t
hash_cidr(const struct cidr *net)
{
	uint8_t key[18];
	size_t len = net->addr.family == AF_INET ? 4 : 16;

	key[0] = (uint8_t)net->addr.family;
	key[1] = (uint8_t)net->prefix;
	memcpy(key + 2, net->addr.bytes, len);
	return hash_bytes(key, 2 + len);
}
