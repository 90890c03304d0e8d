/*
 * metrics.h — Prometheus text exposition of lazaretd's counters.
 */
#ifndef LAZARET_API_METRICS_H
#define LAZARET_API_METRICS_H

#include <stdio.h>

#include "act/garden.h"
#include "common/httpd.h"
#include "judge/judge.h"
#include "portal/portal.h"
#include "sense/delivery.h"
#include "sense/logfollow.h"
#include "sense/policy_server.h"
#include "store/store.h"

struct flow_collector;
struct flow_detect_stats;
struct lease_follow;

struct ident_stats;
struct radius_acct;
struct radius_coa_client;

struct metrics_sources {
	const struct policy_stats *policy;
	const struct delivery_stats *delivery;   /* NULL without the delivery sensor */
	struct logfollow *const *followers;      /* the followed mail logs */
	size_t follower_count;
	const struct portal_stats *portal;       /* NULL without the portal */
	const struct garden_stats *garden;       /* NULL without enforcement */
	const struct httpd_stats *api_http;      /* the API listener's; NULL in tests */
	const struct flow_collector *flows;      /* NULL without [flows] listen */
	const struct flow_detect_stats *flow_detect;   /* the flow detectors'; NULL without them */
	const struct ident_stats *identity;      /* the address history's; NULL without an identity source */
	const struct radius_acct *radius;        /* NULL without [radius] listen */
	const struct radius_coa_client *coa;     /* NULL without [enforce] mode = radius */
	uint64_t coa_resent;                     /* subscribers told again after no answer (act/coa.h) */
	const struct lease_follow *leases;       /* Kea's lease files; NULL without [dhcp] lease_file */
	const struct report_intake_stats *reports;   /* NULL without [reports] directory */
	uint64_t log_suppressed;                 /* log_suppressed_total() */
	uint32_t quarantine_cap;
	struct judge_stats judge;
	struct store_stats store;
	const struct shared_stats *shared;       /* NULL with SQLite alone */
	const char *node;                        /* with shared: this node's name ([A-Za-z0-9._-]) */
	double uptime_seconds;
	size_t memory_bytes;
};

/* Writes every metric in the text format (version 0.0.4) to out. */
void metrics_render(FILE *out, const struct metrics_sources *src);

#endif
