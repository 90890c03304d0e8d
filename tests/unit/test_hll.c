/*
 * test_hll.c — the distinct counter (common/hll.c): exact below its threshold, the
 * sketch's error within three standard errors (3 x 1.04/sqrt(m)) at 1e3..1e6 distinct
 * hashes with a fixed SipHash key, "new" meaning what hll.h says in each phase, the
 * memory it costs in each phase, and nothing held after reset.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/hash.h"
#include "common/hll.h"

/* what an idle host's distinct counter may cost: the struct alone, no heap */
static_assert(sizeof(struct hll) <= 16, "struct hll grew past 16 bytes");

static const uint8_t key[16] = { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* A keyed hash of i (standing in for a destination address), repeatable across runs. */
static uint64_t
h_of(uint64_t i)
{
	return hash_siphash(1, 3, key, &i, sizeof(i));
}

static void
test_init_bounds(void **state)
{
	struct hll h;

	(void)state;
	assert_int_equal(hll_init(&h, HLL_P_MIN - 1, 32), -EINVAL);
	assert_int_equal(hll_init(&h, HLL_P_MAX + 1, 32), -EINVAL);
	assert_int_equal(hll_init(&h, 12, HLL_EXACT_MAX + 1), -EINVAL);
	assert_int_equal(hll_init(&h, 12, 32), 0);
	assert_null(h.mem);
	assert_true(hll_estimate(&h) == 0);
	assert_int_equal(hll_bytes(&h), sizeof(struct hll));
}

static void
test_exact_below_threshold(void **state)
{
	struct hll h;

	(void)state;
	assert_int_equal(hll_init(&h, 12, 32), 0);
	for (uint64_t i = 0; i < 32; i++) {
		assert_int_equal(hll_add(&h, h_of(i)), 1);
		assert_int_equal(hll_add(&h, h_of(i)), 0);      /* a repeat is not new */
		assert_true(hll_estimate(&h) == (double)(i + 1));
		assert_false(hll_is_sketch(&h));
	}
	/* every earlier one is still known exactly */
	for (uint64_t i = 0; i < 32; i++)
		assert_int_equal(hll_add(&h, h_of(i)), 0);
	assert_int_equal(hll_bytes(&h), sizeof(struct hll) + 32 * sizeof(uint64_t));
	/* the 33rd distinct hash promotes it; the estimate stays close */
	assert_true(hll_add(&h, h_of(32)) >= 0);
	assert_true(hll_is_sketch(&h));
	assert_int_equal(hll_bytes(&h), sizeof(struct hll) + 4096);
	assert_true(fabs(hll_estimate(&h) - 33) < 2);
	/* repeats never change a register */
	for (uint64_t i = 0; i <= 32; i++)
		assert_int_equal(hll_add(&h, h_of(i)), 0);
	hll_reset(&h);
	assert_null(h.mem);
	assert_false(hll_is_sketch(&h));
	assert_true(hll_estimate(&h) == 0);
	assert_int_equal(hll_bytes(&h), sizeof(struct hll));
	/* reusable after reset, same parameters */
	assert_int_equal(hll_add(&h, h_of(1)), 1);
	assert_true(hll_estimate(&h) == 1);
	hll_reset(&h);
}

/* The memory of each phase: the array doubles from 4 up to exact_max, then 2^p bytes. */
static void
test_memory(void **state)
{
	struct hll h;
	size_t expect[] = { 4, 4, 4, 4, 8, 8, 8, 8, 16 };

	(void)state;
	assert_int_equal(hll_init(&h, 10, 20), 0);
	for (uint64_t i = 0; i < 9; i++) {
		assert_int_equal(hll_add(&h, h_of(i)), 1);
		assert_int_equal(hll_bytes(&h), sizeof(struct hll) + expect[i] * 8);
	}
	for (uint64_t i = 9; i < 20; i++)
		assert_int_equal(hll_add(&h, h_of(i)), 1);
	assert_int_equal(hll_bytes(&h), sizeof(struct hll) + 20 * 8);   /* capped at exact_max */
	assert_true(hll_add(&h, h_of(20)) >= 0);
	assert_int_equal(hll_bytes(&h), sizeof(struct hll) + 1024);
	print_message("hll bytes: idle %zu, exact 20 %zu, sketch p=10 %zu\n", sizeof(struct hll),
	              sizeof(struct hll) + 20 * 8, hll_bytes(&h));
	hll_reset(&h);
}

/* Every cardinality, at p = 10, 11 and 12: |estimate - n| / n within 3 x 1.04/sqrt(m). */
static void
test_error_bound(void **state)
{
	static const uint64_t ns[] = { 1000, 10000, 100000, 1000000 };

	(void)state;
	for (unsigned p = 10; p <= 12; p++) {
		double m = (double)(1u << p), bound = 3 * 1.04 / sqrt(m);
		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
			struct hll h;
			uint64_t base = (uint64_t)p << 40;

			assert_int_equal(hll_init(&h, p, 32), 0);
			for (uint64_t i = 0; i < ns[k]; i++)
				assert_true(hll_add(&h, h_of(base + i)) >= 0);
			/* adding them all again changes nothing */
			for (uint64_t i = 0; i < ns[k] && i < 10000; i++)
				assert_int_equal(hll_add(&h, h_of(base + i)), 0);
			double e = hll_estimate(&h), rel = fabs(e - (double)ns[k]) / (double)ns[k];
			print_message("p=%u n=%llu estimate=%.0f error=%.2f%% bound=%.2f%%\n", p,
			              (unsigned long long)ns[k], e, rel * 100, bound * 100);
			assert_true(rel <= bound);
			hll_reset(&h);
		}
	}
}

/* Between the exact threshold and 2.5 m (where the classic estimator's switch-over to
 * linear counting sits and biases it), the estimate stays within the bound too. */
static void
test_small_range(void **state)
{
	(void)state;
	for (uint64_t n = 40; n <= 20000; n = n * 3 / 2) {
		struct hll h;
		double bound = 3 * 1.04 / sqrt(1024.0);

		assert_int_equal(hll_init(&h, 10, 32), 0);
		for (uint64_t i = 0; i < n; i++)
			assert_true(hll_add(&h, h_of((n << 32) + i)) >= 0);
		double rel = fabs(hll_estimate(&h) - (double)n) / (double)n;
		assert_true(rel <= bound);
		hll_reset(&h);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_bounds),
		cmocka_unit_test(test_exact_below_threshold),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_error_bound),
		cmocka_unit_test(test_small_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
