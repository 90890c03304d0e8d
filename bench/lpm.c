/*
 * lpm.c — lookups per second of common/lpm (bench/README.md, "lpm"): a table the size of
 * Spamhaus DROP (~1 500 prefixes, IPv4 /10../24 and some IPv6 /29../48) and one of
 * 100 000 prefixes (IPv4 /8../32 and IPv6 /16../64), each looked up with random
 * addresses (almost all misses, as a destination seen in flows mostly is) and with
 * addresses inside listed prefixes (hits, the longest walks), with the first level
 * (lpm_index) and through the trie alone. Deterministic input.
 *
 *   build/bench/lpm [LOOKUPS]     (default 20 000 000 per row)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/lpm.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct cidr
random_net(unsigned v4min, unsigned v4max, unsigned v6min, unsigned v6max)
{
	struct cidr c;
	uint64_t r = next_rand(), s = next_rand(), u = next_rand();

	memset(&c, 0, sizeof(c));
	if (r % 8 != 0) {
		c.addr.family = AF_INET;
		memcpy(c.addr.bytes, &s, 4);
		c.prefix = v4min + (unsigned)((r >> 8) % (v4max - v4min + 1));
	} else {
		c.addr.family = AF_INET6;
		memcpy(c.addr.bytes, &s, 8);
		memcpy(c.addr.bytes + 8, &u, 8);
		c.addr.bytes[0] = 0x20;
		c.addr.bytes[1] = (uint8_t)(r >> 8) & 0x0f;
		c.prefix = v6min + (unsigned)((r >> 16) % (v6max - v6min + 1));
	}
	addr_mask(&c.addr, c.prefix);
	return c;
}

static void
row(const char *name, size_t n, unsigned v4min, unsigned v4max, unsigned v6min, unsigned v6max, size_t lookups)
{
	struct lpm_entry *e = calloc(n, sizeof(*e));
	struct addr *q = calloc(65536, sizeof(*q));
	struct lpm t;
	double t0, t1;

	if (e == NULL || q == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		e[i].net = random_net(v4min, v4max, v6min, v6max);
		e[i].value = (uint32_t)i;
	}
	t0 = now_s();
	if (lpm_build(&t, e, n) != 0)
		exit(1);
	t1 = now_s();
	printf("%-14s %7u prefixes %7u nodes %9zu bytes  built in %.1f ms\n", name, t.prefixes, t.used - 1,
	       lpm_bytes(&t), (t1 - t0) * 1e3);
	/* with the first level lpm_build made, then the trie alone (an insert drops it) */
	for (int indexed = 1; indexed >= 0; indexed--) {
		if (!indexed && lpm_insert(&t, &e[n - 1].net, e[n - 1].value) != 0)
			exit(1);
		for (int hits = 0; hits <= 1; hits++) {
			size_t found = 0;
			for (size_t i = 0; i < 65536; i++) {
				if (hits) {
					q[i] = e[next_rand() % n].net.addr;
					q[i].bytes[q[i].family == AF_INET ? 3 : 15] ^= (uint8_t)next_rand();
				} else {
					q[i] = random_net(32, 32, 128, 128).addr;
				}
			}
			t0 = now_s();
			for (size_t i = 0; i < lookups; i++) {
				uint32_t v;
				found += lpm_lookup(&t, &q[i & 65535], &v, NULL);
			}
			t1 = now_s();
			printf("  %-10s %-6s %6.1f M lookups/s  %5.1f ns each  (%.0f%% matched)\n",
			       indexed ? "indexed" : "trie alone", hits ? "hits" : "random",
			       (double)lookups / (t1 - t0) / 1e6, (t1 - t0) * 1e9 / (double)lookups,
			       100.0 * (double)found / (double)lookups);
		}
	}
	lpm_free(&t);
	free(e);
	free(q);
}

int
main(int argc, char **argv)
{
	size_t lookups = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000000;

	row("drop-sized", 1500, 10, 24, 29, 48, lookups);
	row("100k", 100000, 8, 32, 16, 64, lookups);
	return 0;
}
