/*
 * hll.h — a distinct counter that costs little while small: an exact set of up to
 * exact_max 64-bit hashes (a small array that doubles from 4), promoted to a HyperLogLog
 * sketch of 2^p one-byte registers (p = 10..12: 1-4 KiB) when one more distinct hash
 * arrives. Nothing is allocated until the first add, and hll_reset gives it all back:
 * an idle host's counter is the 16-byte struct alone.
 *
 * The hashes are the caller's, from common/hash.h (keyed: nobody who picks the
 * destinations can aim them at one register). The estimate is Ertl's improved
 * estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017),
 * unbiased from 0 to far beyond 2^32 without the linear-counting switch-over; its
 * standard error is about 1.04/sqrt(2^p) (1.6 % at p = 12, 3.3 % at p = 10).
 */
#ifndef LAZARET_COMMON_HLL_H
#define LAZARET_COMMON_HLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HLL_P_MIN 4
#define HLL_P_MAX 16
#define HLL_EXACT_MAX 255          /* exact_max is kept in a byte */

struct hll {
	void *mem;          /* NULL while empty; uint64_t[cap] exact, or uint8_t[1 << p] registers */
	uint16_t count;     /* exact phase: hashes held */
	uint16_t cap;       /* exact phase: slots allocated */
	uint8_t p;          /* precision of the sketch */
	uint8_t exact_max;  /* distinct hashes held exactly before promotion */
	bool sketch;        /* promoted */
};

/* hll_init — an empty counter: precision p (HLL_P_MIN..HLL_P_MAX) once promoted, exact up
 * to exact_max (0..HLL_EXACT_MAX) distinct hashes. 0 or -EINVAL. Allocates nothing. */
int hll_init(struct hll *h, unsigned p, unsigned exact_max);

/*
 * hll_add — count hash. Returns 1 when it changed the counter, 0 when not, -ENOMEM when
 * the array or the sketch could not be allocated (the counter is as before). In the
 * exact phase 1 means "not seen before", exactly. In the sketch phase 1 means "a register
 * grew": a hash seen before never returns 1, but most new ones return 0 once the count
 * is well past 2^p (they fall in registers already as high).
 */
int hll_add(struct hll *h, uint64_t hash);

/* hll_estimate — the distinct hashes added since init or reset: exact in the exact
 * phase, Ertl's estimate of the sketch afterwards. */
double hll_estimate(const struct hll *h);

/* hll_reset — empty again, its memory freed; p and exact_max kept. */
void hll_reset(struct hll *h);

/* hll_bytes — what the counter costs: the struct and its heap block. */
size_t hll_bytes(const struct hll *h);

/* hll_is_sketch — whether the counter has been promoted. */
static inline bool
hll_is_sketch(const struct hll *h)
{
	return h->sketch;
}

#endif
