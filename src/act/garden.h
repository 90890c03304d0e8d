/*
 * garden.h — the walled garden in the daemon: keeps the gateway's quarantine sets
 * equal to the hosts the judge has quarantined.
 *
 * The judge reports each committed level change (judge_observer_cb); a host entering
 * quarantine or suspend is added, one leaving it removed. Changes queue on the loop
 * thread and go to the backend (enforce.h) in batches on a libuv worker thread, one
 * batch in flight at a time: a thousand quarantines at once cost one nft transaction,
 * and the loop never waits for the kernel. A failed batch is retried as a rebuild.
 *
 * At start the sets are created together with every quarantine the store holds, in
 * one transaction (the store is the truth); every refresh_interval they are rebuilt
 * the same way, which restarts every element's timeout, so a dead daemon's
 * quarantines lapse after element_timeout and a live one's never do. Remediation
 * destinations given by name are resolved at start and every resolve_interval; the
 * ruleset is replaced (with the quarantines, in one transaction) when they change.
 * The rules stay in place when the daemon stops.
 *
 * Mode none, or nftables without the privilege, uses the logging backend: every
 * batch is logged as it would be applied.
 */
#ifndef LAZARET_ACT_GARDEN_H
#define LAZARET_ACT_GARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "judge/judge.h"

/* Batch latency buckets (from the oldest change queued to the batch applied), upper bounds in µs. */
#define GARDEN_LATENCY_BUCKETS 10
extern const double garden_latency_bounds_us[GARDEN_LATENCY_BUCKETS - 1];

struct garden_stats {
	const char *backend;            /* "nftables" or "none" */
	uint64_t batches;               /* transactions applied: change batches, rebuilds, setups */
	uint64_t failures;              /* transactions the backend refused */
	uint64_t rebuilds;
	uint64_t elements_added, elements_removed;
	size_t elements;                /* quarantined hosts the sets hold, or will once pending changes apply */
	size_t pending;                 /* changes waiting for the next batch */
	double last_batch_seconds;
	double latency_sum_us;          /* over every change batch */
	uint64_t latency_count;
	uint64_t latency_bucket[GARDEN_LATENCY_BUCKETS];
	usec_t last_failure;            /* wall time, 0: never */
	char last_error[256];
};

struct garden;

/* garden_new's helper argument when there is no privileged helper (enforce_priv.h) */
#define GARDEN_IN_PROCESS (-1)      /* libnftables in this process (tests, tools, benchmarks) */
#define GARDEN_LOG_ONLY (-2)        /* the helper found nftables unusable and said why */

/*
 * garden_new — the garden for cfg's [enforce] section, acting on the host subjects
 * of j. Picks the backend: with mode = nftables, the privileged helper on channel
 * helper_fd (owned by the garden from now on), or one of the two values above;
 * nftables without privilege falls back to logging, with a warning. NULL with a
 * message in err when the configuration cannot be enforced.
 */
struct garden *garden_new(uv_loop_t *loop, const struct config *cfg, struct judge *j, int helper_fd,
                          char *err, size_t errlen);

/*
 * garden_start — on the loop thread, before serving: resolves remediation names,
 * sets the table up with every quarantined host the judge holds, in one transaction,
 * and starts the refresh timers. 0, or -1 with the backend's message in err.
 */
int garden_start(struct garden *g, char *err, size_t errlen);

/* The judge's observer: queue s's change for the next batch when it crosses quarantine. */
void garden_level_changed(struct garden *g, const struct subject *s, int old_level, int new_level);

/* The identity layer's observer (ident_set_observer): a subscriber started or stopped
 * holding net; its elements follow whoever's level applies to them now. */
void garden_holder_changed(struct garden *g, const char *subscriber, size_t len, const struct cidr *net, bool held);

/* A new configuration (SIGHUP): a changed ruleset is set up again with the quarantines. */
void garden_configure(struct garden *g, const struct config *cfg);

/* Whether the host key is in the sets as of the last applied batch (the API shows it). */
bool garden_enforced(const struct garden *g, const char *host_key);

void garden_stats_get(const struct garden *g, struct garden_stats *out);

/*
 * garden_stop — wait for the batch in flight, apply what is queued (synchronously),
 * close the timers. The kernel's rules and sets stay. Call once, before the loop
 * closes; let the loop run once more before garden_free.
 */
void garden_stop(struct garden *g);

/* Frees g: after garden_stop and a turn of the loop (or without garden_start). */
void garden_free(struct garden *g);

#endif
