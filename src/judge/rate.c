/*
 * rate.c — GCRA, as described in rate.h.
 */
#include "judge/rate.h"

#include <math.h>

#define RATE_SPAN_MAX 3.2e14   /* about ten years in microseconds */

void
rate_limit_init(struct rate_limit *l, uint32_t count, usec_t period, uint32_t burst, double factor)
{
	double interval = (double)period / (double)count / factor;
	double b = floor((double)burst * factor + 1e-9);   /* 100 × 0.29 is 29, not 28 */

	if (b < 1)
		b = 1;
	if (interval < 1)
		interval = 1;
	/* Saturate far beyond any sane limit, so nothing below can overflow int64. */
	if (interval > RATE_SPAN_MAX)
		interval = RATE_SPAN_MAX;
	l->interval = (usec_t)interval;
	l->burst = (uint32_t)b;
	l->tolerance = b * interval > RATE_SPAN_MAX ? (usec_t)RATE_SPAN_MAX : (usec_t)(b * interval);
}

bool
rate_check(usec_t tat, const struct rate_limit *l, uint32_t cost, usec_t now, usec_t *new_tat)
{
	usec_t base = tat > now ? tat : now;
	usec_t next;

	if (cost > l->burst)
		cost = l->burst;
	if ((double)cost * (double)l->interval > (double)l->tolerance)
		return false;
	next = base + (usec_t)cost * l->interval;
	if (next - now > l->tolerance)
		return false;
	*new_tat = next;
	return true;
}

double
rate_level(usec_t tat, const struct rate_limit *l, usec_t now)
{
	if (tat <= now)
		return 0;
	return (double)(tat - now) / (double)l->interval;
}
