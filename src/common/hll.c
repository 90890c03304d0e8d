/*
 * hll.c — the exact small set and its HyperLogLog sketch. See hll.h.
 */
#include "common/hll.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int
hll_init(struct hll *h, unsigned p, unsigned exact_max)
{
	if (p < HLL_P_MIN || p > HLL_P_MAX || exact_max > HLL_EXACT_MAX)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	h->p = (uint8_t)p;
	h->exact_max = (uint8_t)exact_max;
	return 0;
}

/* The register a hash falls in (its top p bits) and the rank of the rest: the position
 * of its first 1 bit, 1-based, or 64 - p + 1 when the rest is all zeros. */
static inline void
hll_split(const struct hll *h, uint64_t hash, size_t *idx, uint8_t *rank)
{
	uint64_t w = hash << h->p;

	*idx = (size_t)(hash >> (64 - h->p));
	*rank = (uint8_t)(w == 0 ? 64 - h->p + 1 : __builtin_clzll(w) + 1);
}

static inline int
hll_set_register(struct hll *h, uint64_t hash)
{
	uint8_t *reg = h->mem, rank;
	size_t idx;

	hll_split(h, hash, &idx, &rank);
	if (reg[idx] >= rank)
		return 0;
	reg[idx] = rank;
	return 1;
}

/* The exact hashes replayed into a fresh sketch, which replaces the array. */
static int
hll_promote(struct hll *h)
{
	uint64_t *set = h->mem;
	uint8_t *reg = calloc((size_t)1 << h->p, 1);

	if (reg == NULL)
		return -ENOMEM;
	h->mem = reg;
	h->sketch = true;
	for (size_t i = 0; i < h->count; i++)
		(void)hll_set_register(h, set[i]);
	free(set);
	h->count = h->cap = 0;
	return 0;
}

int
hll_add(struct hll *h, uint64_t hash)
{
	uint64_t *set = h->mem;

	if (h->sketch)
		return hll_set_register(h, hash);
	for (size_t i = 0; i < h->count; i++)
		if (set[i] == hash)
			return 0;
	if (h->count >= h->exact_max) {
		int rc = hll_promote(h);
		return rc < 0 ? rc : hll_set_register(h, hash);
	}
	if (h->count == h->cap) {
		size_t cap = h->cap == 0 ? 4 : (size_t)h->cap * 2;
		if (cap > h->exact_max)
			cap = h->exact_max;
		set = realloc(set, cap * sizeof(*set));
		if (set == NULL)
			return -ENOMEM;
		h->mem = set;
		h->cap = (uint16_t)cap;
	}
	set[h->count++] = hash;
	return 1;
}

/* Ertl's sigma and tau (2017, Algorithm 6): the corrections for the registers still at
 * zero and for those at the maximum rank, by series that stop when they stop changing. */
static double
hll_sigma(double x)
{
	double y = 1, z = x, zp;

	if (x == 1)
		return INFINITY;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double
hll_tau(double x)
{
	double y = 1, z = 1 - x, zp;

	if (x == 0 || x == 1)
		return 0;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zp);
	return z / 3;
}

double
hll_estimate(const struct hll *h)
{
	const uint8_t *reg = h->mem;
	unsigned q = 64 - h->p;
	uint32_t c[64 + 2] = { 0 };
	double m = (double)((size_t)1 << h->p), z;

	if (!h->sketch)
		return h->count;
	for (size_t i = 0; i < ((size_t)1 << h->p); i++)
		c[reg[i]]++;
	if (c[0] == (uint32_t)m)
		return 0;
	z = m * hll_tau(1 - c[q + 1] / m);
	for (unsigned k = q; k >= 1; k--)
		z = 0.5 * (z + c[k]);
	z += m * hll_sigma(c[0] / m);
	return m * m / (2 * log(2) * z);
}

void
hll_reset(struct hll *h)
{
	free(h->mem);
	h->mem = NULL;
	h->count = h->cap = 0;
	h->sketch = false;
}

size_t
hll_bytes(const struct hll *h)
{
	if (h->sketch)
		return sizeof(*h) + ((size_t)1 << h->p);
	return sizeof(*h) + (size_t)h->cap * sizeof(uint64_t);
}
