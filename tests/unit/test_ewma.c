/*
 * test_ewma.c — per-host rates and baselines (sense/ewma.c) with injected time: a steady
 * input converges to its rate, regular or irregular steps; a new host shows its rate at
 * once; a host at its usual (noisy) rate stays under 3 times its baseline for hours, the
 * same host at 50 times is far above it within seconds; a gap decays both averages by
 * exp(-gap/tau); no ratio before the baseline has its history.
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

#include "common/hll.h"
#include "sense/ewma.h"
#include "sense/trw.h"

/* one host, one direction; two of them and the rest fit the 256 bytes of a quiet host */
static_assert(sizeof(struct ewma_host) <= 56, "struct ewma_host grew past 56 bytes");

/* The budget of issue 9 item 3 for a subscriber host with no recent traffic, with what a
 * flow host will hold of these modules: rates both ways, a walk, three distinct counters
 * (direct-to-MX destinations, fan-out per port and per destination; their heap freed when
 * idle), and 64 bytes left for its key, table link and evidence times. */
static_assert(2 * sizeof(struct ewma_host) + sizeof(struct trw_host) + 3 * sizeof(struct hll) + 64 <= 256,
              "a quiet flow host's parts no longer fit 256 bytes");

static const struct ewma_params params = EWMA_PARAMS_DEFAULT;
static const usec_t T0 = INT64_C(1700000000) * USEC_PER_SEC;
#define MS (USEC_PER_SEC / 1000)

static uint64_t rng = 88172645463325252ULL;

static double
uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static void
assert_near(double got, double want, double rel)
{
	if (fabs(got - want) > rel * fabs(want))
		fail_msg("%g, expected %g within %.1f%%", got, want, rel * 100);
}

/* pps packets/s of size bytes, flows/s, every step from *t for duration; *t advances. */
static void
feed(struct ewma_host *h, usec_t *t, usec_t duration, usec_t step, double pps, double size, double fps)
{
	for (usec_t end = *t + duration; *t < end; *t += step) {
		double secs = (double)step / (double)USEC_PER_SEC;
		ewma_add(&params, h, *t, (uint64_t)llround(pps * secs), (uint64_t)llround(pps * secs * size),
		         (uint64_t)llround(fps * secs));
	}
}

static void
test_params_check(void **state)
{
	struct ewma_params p = EWMA_PARAMS_DEFAULT;

	(void)state;
	assert_int_equal(ewma_params_check(&p), 0);
	p.tick = 0;
	assert_int_equal(ewma_params_check(&p), -EINVAL);
	p = (struct ewma_params)EWMA_PARAMS_DEFAULT;
	p.slow = p.fast - 1;
	assert_int_equal(ewma_params_check(&p), -EINVAL);
}

static void
test_steady_converges(void **state)
{
	struct ewma_host h;
	usec_t t = T0;

	(void)state;
	ewma_host_init(&h);
	assert_true(ewma_rate(&params, &h, EWMA_PACKETS) == 0);
	feed(&h, &t, 120 * USEC_PER_SEC, 100 * MS, 1000, 1500, 10);
	ewma_update(&params, &h, t);
	assert_near(ewma_rate(&params, &h, EWMA_PACKETS), 1000, 0.02);
	assert_near(ewma_rate(&params, &h, EWMA_BITS), 1000 * 1500 * 8, 0.02);
	assert_near(ewma_rate(&params, &h, EWMA_FLOWS), 10, 0.02);
	/* the baseline, bias-corrected, is the same rate after two minutes of it */
	assert_near(ewma_baseline(&params, &h, EWMA_PACKETS), 1000, 0.02);
}

/* Steps of 50 ms to 3 s, each carrying what the rate gives its length. */
static void
test_irregular_steps(void **state)
{
	struct ewma_host h;
	usec_t t = T0;

	(void)state;
	ewma_host_init(&h);
	while (t < T0 + 300 * USEC_PER_SEC) {
		usec_t step = (usec_t)(50 * MS + uniform() * 2950 * MS);
		t += step;
		ewma_add(&params, &h, t, (uint64_t)llround(200.0 * (double)step / USEC_PER_SEC), 0, 0);
	}
	ewma_update(&params, &h, t + params.tick);
	assert_near(ewma_rate(&params, &h, EWMA_PACKETS), 200, 0.1);
	assert_near(ewma_baseline(&params, &h, EWMA_PACKETS), 200, 0.05);
}

/* A host that starts flooding is seen at its rate at once, not after a ramp of tau. */
static void
test_new_host_at_once(void **state)
{
	struct ewma_host h;
	usec_t t = T0;

	(void)state;
	ewma_host_init(&h);
	feed(&h, &t, 2 * USEC_PER_SEC, 10 * MS, 50000, 60, 5000);
	ewma_update(&params, &h, t);
	assert_near(ewma_rate(&params, &h, EWMA_PACKETS), 50000, 0.05);
	double ratio;
	assert_int_equal(ewma_ratio(&params, &h, EWMA_PACKETS, &ratio), -EAGAIN);
}

static void
test_usual_vs_50x(void **state)
{
	struct ewma_host h;
	usec_t t = T0;
	double ratio, worst = 0;

	(void)state;
	ewma_host_init(&h);
	/* 100 packets/s give or take 50 %, in bursts of a second, for the baseline's hour */
	for (int s = 0; s < 3600; s++) {
		double pps = 100 * (0.5 + uniform());
		feed(&h, &t, USEC_PER_SEC, 250 * MS, pps, 800, 4);
	}
	/* its usual rate for two more hours: never 3 times the baseline */
	for (int s = 0; s < 7200; s++) {
		double pps = 100 * (0.5 + uniform());
		feed(&h, &t, USEC_PER_SEC, 250 * MS, pps, 800, 4);
		ewma_update(&params, &h, t);
		for (int m = 0; m < EWMA_METRICS; m++) {
			assert_int_equal(ewma_ratio(&params, &h, m, &ratio), 0);
			worst = ratio > worst ? ratio : worst;
			assert_true(ratio < 3);
		}
	}
	assert_near(ewma_baseline(&params, &h, EWMA_PACKETS), 100, 0.1);
	/* then 50 times that: above 3 within seconds; after a minute 50 / (1 + 49 (1 - e^(-60/3600)))
	 * = 27.6 times the baseline, which has started to learn the new rate */
	int above = -1;
	for (int s = 1; s <= 60; s++) {
		feed(&h, &t, USEC_PER_SEC, 250 * MS, 5000, 800, 200);
		ewma_update(&params, &h, t);
		assert_int_equal(ewma_ratio(&params, &h, EWMA_PACKETS, &ratio), 0);
		if (above < 0 && ratio > 3)
			above = s;
	}
	print_message("ewma: usual rate at most %.2f x baseline; at 50x, above 3x after %d s, %.1f x after 60 s\n",
	              worst, above, ratio);
	assert_true(above > 0 && above <= 5);
	assert_true(ratio > 25);
	assert_int_equal(ewma_ratio(&params, &h, EWMA_BITS, &ratio), 0);
	assert_true(ratio > 25);
	assert_int_equal(ewma_ratio(&params, &h, EWMA_FLOWS, &ratio), 0);
	assert_true(ratio > 25);
}

/* Silence after a steady rate: both averages decay by exp(-gap/tau). */
static void
test_gap_decays(void **state)
{
	struct ewma_host h;
	usec_t t = T0;

	(void)state;
	ewma_host_init(&h);
	feed(&h, &t, 7200 * USEC_PER_SEC, USEC_PER_SEC, 1000, 100, 0);
	ewma_update(&params, &h, t);      /* the last second folded */
	double rate = ewma_rate(&params, &h, EWMA_PACKETS), base = ewma_baseline(&params, &h, EWMA_PACKETS);
	assert_near(rate, 1000, 0.01);
	for (int gap = 5; gap <= 40; gap += 5) {
		struct ewma_host g = h;
		ewma_update(&params, &g, t + gap * USEC_PER_SEC);
		assert_near(ewma_rate(&params, &g, EWMA_PACKETS), rate * exp(-gap / 10.0), 0.01);
		assert_near(ewma_baseline(&params, &g, EWMA_PACKETS), base * exp(-gap / 3600.0), 0.01);
	}
	/* a gap is the same whether read in one step or in many */
	struct ewma_host one = h, many = h;
	ewma_update(&params, &one, t + 30 * USEC_PER_SEC);
	for (int s = 1; s <= 30; s++)
		ewma_update(&params, &many, t + s * USEC_PER_SEC);
	assert_near(ewma_rate(&params, &many, EWMA_PACKETS), ewma_rate(&params, &one, EWMA_PACKETS), 0.001);
	/* and less than a tick later nothing is folded yet */
	struct ewma_host soon = h;
	ewma_update(&params, &soon, t + params.tick - 1);
	assert_true(soon.last == h.last);
	/* a day of silence: nothing left of either */
	ewma_update(&params, &h, t + 86400 * USEC_PER_SEC);
	assert_true(ewma_rate(&params, &h, EWMA_PACKETS) < 1e-3);
	assert_true(ewma_baseline(&params, &h, EWMA_PACKETS) < 1e-6);
}

/* Counts past 32 bits in one tick saturate instead of wrapping to a small rate. */
static void
test_saturates(void **state)
{
	struct ewma_host h;

	(void)state;
	ewma_host_init(&h);
	ewma_add(&params, &h, T0, UINT32_MAX - 1, UINT64_MAX - 1, 1);
	ewma_add(&params, &h, T0 + 1, 10, 10, 1);
	assert_int_equal(h.pending_packets, UINT32_MAX);
	assert_true(h.pending_bytes == UINT64_MAX);
	assert_int_equal(h.pending_flows, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_check),
		cmocka_unit_test(test_steady_converges),
		cmocka_unit_test(test_irregular_steps),
		cmocka_unit_test(test_new_host_at_once),
		cmocka_unit_test(test_usual_vs_50x),
		cmocka_unit_test(test_gap_decays),
		cmocka_unit_test(test_saturates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
