/*
 * ewma.c — a host's rates and baselines over irregular time steps. See ewma.h.
 */
#include "sense/ewma.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int
ewma_params_check(const struct ewma_params *p)
{
	if (p->tick <= 0 || p->fast < p->tick || p->slow < p->fast || p->history < 0)
		return -EINVAL;
	return 0;
}

void
ewma_host_init(struct ewma_host *h)
{
	memset(h, 0, sizeof(*h));
}

/* The counts since the last fold as rates over the time they took, into both averages. */
static void
ewma_fold(const struct ewma_params *p, struct ewma_host *h, usec_t now)
{
	double dt = (double)(now - h->last) / (double)USEC_PER_SEC;
	double ef = exp(-(double)(now - h->last) / (double)p->fast);
	double es = exp(-(double)(now - h->last) / (double)p->slow);
	double r[EWMA_METRICS] = {
		[EWMA_PACKETS] = (double)h->pending_packets / dt,
		[EWMA_BITS] = (double)h->pending_bytes * 8 / dt,
		[EWMA_FLOWS] = (double)h->pending_flows / dt,
	};

	for (int m = 0; m < EWMA_METRICS; m++) {
		h->fast[m] = (float)(r[m] + ef * (h->fast[m] - r[m]));
		h->slow[m] = (float)(r[m] + es * (h->slow[m] - r[m]));
	}
	h->pending_packets = h->pending_flows = 0;
	h->pending_bytes = 0;
	h->last = now;
}

void
ewma_update(const struct ewma_params *p, struct ewma_host *h, usec_t now)
{
	if (h->first != 0 && now - h->last >= p->tick)
		ewma_fold(p, h, now);
}

static uint32_t
sat_add32(uint32_t a, uint64_t b)
{
	return b >= (uint64_t)(UINT32_MAX - a) ? UINT32_MAX : a + (uint32_t)b;
}

void
ewma_add(const struct ewma_params *p, struct ewma_host *h, usec_t now, uint64_t packets, uint64_t bytes,
         uint64_t flows)
{
	if (h->first == 0)
		h->first = h->last = now;
	ewma_update(p, h, now);
	h->pending_packets = sat_add32(h->pending_packets, packets);
	h->pending_flows = sat_add32(h->pending_flows, flows);
	h->pending_bytes = bytes >= UINT64_MAX - h->pending_bytes ? UINT64_MAX : h->pending_bytes + bytes;
}

/* avg / (1 - exp(-T/tau)): the average of what was seen, not of zeros before it. */
static double
ewma_corrected(double avg, const struct ewma_host *h, usec_t tau)
{
	double w;

	if (h->first == 0 || h->last == h->first)
		return 0;
	w = 1 - exp(-(double)(h->last - h->first) / (double)tau);
	return avg / w;
}

double
ewma_rate(const struct ewma_params *p, const struct ewma_host *h, enum ewma_metric metric)
{
	return ewma_corrected(h->fast[metric], h, p->fast);
}

double
ewma_baseline(const struct ewma_params *p, const struct ewma_host *h, enum ewma_metric metric)
{
	return ewma_corrected(h->slow[metric], h, p->slow);
}

int
ewma_ratio(const struct ewma_params *p, const struct ewma_host *h, enum ewma_metric metric, double *ratio)
{
	double rate, base;

	if (h->first == 0 || h->last - h->first < p->history)
		return -EAGAIN;
	rate = ewma_rate(p, h, metric);
	base = ewma_baseline(p, h, metric);
	if (base > 0)
		*ratio = rate / base;
	else
		*ratio = rate > 0 ? INFINITY : 0;
	return 0;
}
