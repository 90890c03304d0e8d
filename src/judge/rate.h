/*
 * rate.h — rate limits by the generic cell rate algorithm (GCRA).
 *
 * A limit of `count` per `period` with a `burst`: each unit costs period/count of
 * "theoretical arrival time" (TAT); a request is allowed while the TAT it would leave
 * behind is at most burst×interval ahead of now. No window edges: a client can never
 * send twice the limit across a boundary, as it can with fixed windows. One usec_t of
 * state per subject and limit; time is passed in, so tests need no sleeps.
 */
#ifndef LAZARET_JUDGE_RATE_H
#define LAZARET_JUDGE_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/timeutil.h"

struct rate_limit {
	usec_t interval;    /* cost of one unit */
	usec_t tolerance;   /* how far the TAT may run ahead of now: burst × interval */
	uint32_t burst;
};

/*
 * rate_limit_init — count units per period with a burst, slowed by factor (1 = as
 * configured, 0.1 = a tenth of the rate and of the burst, at least one unit).
 */
void rate_limit_init(struct rate_limit *l, uint32_t count, usec_t period, uint32_t burst, double factor);

/*
 * rate_check — would charging cost units at now be allowed? Returns true and stores
 * the TAT to commit in *new_tat, or false (over the limit). A cost above the burst is
 * charged as the burst, so one large message passes an idle limit. Touches nothing
 * else: commit with rate_commit only once every limit of a request allowed it.
 */
bool rate_check(usec_t tat, const struct rate_limit *l, uint32_t cost, usec_t now, usec_t *new_tat);

static inline void rate_commit(usec_t *tat, usec_t new_tat)
{
	*tat = new_tat;
}

/* Units currently "in the bucket" (0 when idle): for explain and for expiry. */
double rate_level(usec_t tat, const struct rate_limit *l, usec_t now);

#endif
