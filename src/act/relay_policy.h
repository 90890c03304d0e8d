/*
 * relay_policy.h — the answers lazaret gives the relay's Postfix for each policy request.
 *
 * Quarantined and suspended hosts and accounts are refused at RCPT and DATA with the
 * portal's address; everyone else is rate limited per host and per account, for
 * messages and for recipients, counted once per message at DATA (or per recipient
 * at RCPT when so configured). Going over a limit is deferred and is evidence.
 */
#ifndef LAZARET_ACT_RELAY_POLICY_H
#define LAZARET_ACT_RELAY_POLICY_H

#include <stddef.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "judge/judge.h"
#include "sense/policy.h"

#define RELAY_EVIDENCE_KIND "rate_limit"

struct relay;

/* Registers the rate_limit evidence kind with the judge. NULL on ENOMEM. */
struct relay *relay_new(struct judge *j, const struct config *cfg);
void relay_free(struct relay *r);
void relay_configure(struct relay *r, const struct config *cfg);

/* Refusals of s counted since its last line in the log, not logged (repeat_log_interval). */
uint32_t relay_refusals_unlogged(const struct relay *r, const struct subject *s);

/*
 * relay_decide — the answer to one request at now: writes "action=...\n\n" into
 * answer (POLICY_ANSWER_MAX bytes), sets *len, returns the action. Charges the rate
 * limits and records evidence as a side effect; never blocks.
 */
enum policy_action relay_decide(struct relay *r, const struct policy_request *req, usec_t now,
                               char *answer, size_t *len);

#endif
