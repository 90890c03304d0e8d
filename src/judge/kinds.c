/*
 * kinds.c — the evidence kinds; see kinds.h.
 */
#include "judge/kinds.h"

#include <stdio.h>
#include <string.h>

#define HOURS(n) ((usec_t)(n) * 3600 * USEC_PER_SEC)

const struct evidence_kind evidence_kinds[] = {
	/* act/relay_policy.c: 20 deferrals make watch, 60 throttle, 120 quarantine with the
	 * default thresholds; a subscriber who now and then hits a limit never gets there */
	{ "rate_limit", 0.05, HOURS(6), "mail deferred for exceeding the relay's rate limits" },
	/* sense/delivery.c */
	{ "bounce_ratio", 8, HOURS(6), "a high share of the recipients refused permanently (Wilson lower bound)" },
	{ "recipient_domains", 2, HOURS(6), "mail to unusually many recipient domains in a short time" },
	{ "spam_rejected", 0.5, HOURS(6), "remote servers refusing the mail as spam" },
	{ "account_networks", 4, HOURS(12),
	    "an account used (SMTP AUTH, IMAP and webmail logins) from many client networks (hijacked account)" },
	{ "account_addresses", 4, HOURS(12), "a SASL account used from many client addresses (hijacked account)" },
	{ "account_sessions", 4, HOURS(12),
	  "a SASL account in sessions open at once from different addresses (hijacked account)" },
	/* sense/flowdetect.c: one window over the threshold makes throttle, the next one
	 * (a bot that keeps at it) quarantine */
	{ "direct_mx", 4, HOURS(6), "TCP/25 to many mail servers other than the relay (a spam bot)" },
	/* sense/flowdetect.c: a unit for the walk's decision, which alone makes watch (peer-to-
	 * peer clients fail many first contacts too), and one per fan-out window: with one
	 * window throttle, with two quarantine */
	{ "scanning", 2.5, HOURS(6), "first contacts that mostly fail, or one port of many addresses (a scanner)" },
	/* sense/flowdetect.c: a unit when a flood starts (throttle), one more each 5 minutes
	 * it goes on (quarantine) */
	{ "outbound_dos", 3.5, HOURS(6), "sending far more packets, bits or flows than a subscriber does (a flood)" },
	/* sense/flowdetect.c: a unit per window. A home server for a few is far below the
	 * threshold, and one that serves the world deserves a look before a verdict: one
	 * window makes watch, three throttle, five (50 minutes of it) quarantine */
	{ "hosting", 1.5, HOURS(12), "web, proxy or DNS service to many outside addresses (fast flux, a proxy bot)" },
	/* sense/flowdetect.c: a unit per contact, at most one per host every 10 minutes: a
	 * contact makes throttle, a bot that keeps calling quarantine */
	{ "cc_contact", 3.5, HOURS(12), "contact with an address on a C&C or drop list" },
	/* sense/report_intake.c: one unit per report (times the source's trust). Reports
	 * come daily and weeks late, so they fade over days: a sinkhole or drone report
	 * makes throttle and the next day's quarantine; three complaints make throttle */
	{ "report_spam", 1, HOURS(48), "complaints about mail from the address (feedback loops, abuse desks)" },
	{ "report_infection", 3.5, HOURS(72), "a sinkhole or drone report naming a bot at the address" },
	{ "report_scan", 2, HOURS(48), "a report of scanning or attacks from the address" },
	{ "report_other", 1, HOURS(48), "another abuse report about the address" },
};

const size_t evidence_kind_count = sizeof(evidence_kinds) / sizeof(evidence_kinds[0]);

const struct evidence_kind *
evidence_kind_find(const char *name)
{
	for (size_t i = 0; i < evidence_kind_count; i++)
		if (strcmp(evidence_kinds[i].name, name) == 0)
			return &evidence_kinds[i];
	return NULL;
}

int
evidence_kind_register(struct judge *j, const char *name)
{
	const struct evidence_kind *k = evidence_kind_find(name);

	return k != NULL ? judge_register_kind(j, k->name, k->weight, k->half_life, k->description) : -1;
}

int
evidence_kinds_check(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->evidence_count; i++) {
		if (evidence_kind_find(cfg->evidence[i].kind) != NULL)
			continue;
		char known[512] = "";
		for (size_t k = 0; k < evidence_kind_count; k++) {
			strncat(known, k ? ", " : "", sizeof(known) - strlen(known) - 1);
			strncat(known, evidence_kinds[k].name, sizeof(known) - strlen(known) - 1);
		}
		snprintf(err, errlen, "%s:%d: [evidence %s]: no sensor reports this kind (known: %s)", cfg->path,
		    cfg->evidence[i].line, cfg->evidence[i].kind, known);
		return -1;
	}
	return 0;
}
