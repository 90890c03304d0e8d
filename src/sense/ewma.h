/*
 * ewma.h — a host's packets/s, bits/s and flows/s as exponentially weighted moving
 * averages over irregular time steps, FastNetMon's form: the counts gathered since the
 * last fold are a rate r over the dt they took, and avg = r + exp(-dt/tau) (avg - r).
 * Two averages of each: the current rate (tau of seconds) and the host's usual rate, its
 * baseline (tau of an hour), so that "400 times its usual rate" can be said of it.
 *
 * Both start at zero at the host's first traffic and are divided by 1 - exp(-T/tau),
 * T the time since then (the bias correction of an average started from nothing): a
 * new host's rate is its real rate from the first fold on, not a ramp. The baseline
 * is meaningful once T reaches history (one slow tau by default: it then has averaged
 * an hour of the host's traffic); before that ewma_ratio says -EAGAIN. Silence decays
 * both: a fold after a gap of dt with nothing counted multiplies them by exp(-dt/tau).
 * Time is the caller's (usec_t, after the epoch), so tests inject it.
 */
#ifndef LAZARET_SENSE_EWMA_H
#define LAZARET_SENSE_EWMA_H

#include <stdint.h>

#include "common/timeutil.h"

enum ewma_metric { EWMA_PACKETS, EWMA_BITS, EWMA_FLOWS, EWMA_METRICS };

struct ewma_params {
	usec_t tick;        /* counts are folded in at most this often: 1 s */
	usec_t fast;        /* time constant of the current rate: 10 s */
	usec_t slow;        /* time constant of the baseline: 1 h */
	usec_t history;     /* traffic the baseline needs before ratios mean anything: 1 h */
};

#define EWMA_PARAMS_DEFAULT { .tick = USEC_PER_SEC, .fast = 10 * USEC_PER_SEC, \
                              .slow = 3600 * USEC_PER_SEC, .history = 3600 * USEC_PER_SEC }

/* One host, one direction: 56 bytes. */
struct ewma_host {
	float fast[EWMA_METRICS];       /* per second, not yet bias-corrected */
	float slow[EWMA_METRICS];
	uint32_t pending_packets;       /* counted since the last fold (saturating) */
	uint32_t pending_flows;
	uint64_t pending_bytes;
	usec_t first;                   /* first traffic; 0: none yet */
	usec_t last;                    /* last fold */
};

/* ewma_params_check — 0, or -EINVAL unless 0 < tick <= fast <= slow and history >= 0. */
int ewma_params_check(const struct ewma_params *p);

/* ewma_host_init — a host with no traffic yet. */
void ewma_host_init(struct ewma_host *h);

/* ewma_add — packets, bytes and flows seen at now (already scaled by sampling). The
 * counts before them are folded in first when a tick has passed since the last fold. */
void ewma_add(const struct ewma_params *p, struct ewma_host *h, usec_t now, uint64_t packets, uint64_t bytes,
              uint64_t flows);

/* ewma_update — fold what was counted, when a tick has passed: call before reading the
 * rates of a host that may have gone quiet. */
void ewma_update(const struct ewma_params *p, struct ewma_host *h, usec_t now);

/* ewma_rate — the current rate of metric, per second, as of the last fold. */
double ewma_rate(const struct ewma_params *p, const struct ewma_host *h, enum ewma_metric metric);

/* ewma_baseline — the host's usual rate of metric, per second, as of the last fold. */
double ewma_baseline(const struct ewma_params *p, const struct ewma_host *h, enum ewma_metric metric);

/*
 * ewma_ratio — the current rate over the baseline in *ratio (INFINITY for a baseline of
 * zero under a rate that is not, 0 when both are): 0, or -EAGAIN while the host's
 * traffic spans less than p->history (no baseline to speak of yet). A detector pairs it
 * with an absolute floor: 100 times a quiet host's 0.1 packets/s is no attack.
 */
int ewma_ratio(const struct ewma_params *p, const struct ewma_host *h, enum ewma_metric metric, double *ratio);

#endif
