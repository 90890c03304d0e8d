/*
 * metrics.c — /metrics. Names follow Prometheus conventions: a lazaret_ prefix,
 * _total for counters, _seconds for durations, histograms with cumulative buckets.
 */
#include "api/metrics.h"
#include "store/shared.h"
#include "sense/report_intake.h"
#include "sense/radius_acct.h"
#include "act/radius_coa.h"

#include "act/relay_policy.h"
#include "common/level.h"
#include "sense/flow_collector.h"
#include "sense/flowdetect.h"
#include "sense/lease_follow.h"

static void
metrics_histogram(FILE *out, const char *name, const char *help, const double *bounds_us, size_t nbounds,
    const uint64_t *buckets, uint64_t count, double sum_us)
{
	uint64_t cum = 0;

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < nbounds; i++) {
		cum += buckets[i];
		fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds_us[i] / 1e6, (unsigned long long)cum);
	}
	cum += buckets[nbounds];
	fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	fprintf(out, "%s_sum %.6f\n%s_count %llu\n", name, sum_us / 1e6, name, (unsigned long long)count);
}

static void
metrics_counter(FILE *out, const char *name, const char *help, unsigned long long v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

/* A counter with one label: a series per value, label="values[i]" with counts[i]. */
static void
metrics_counter_by(FILE *out, const char *name, const char *help, const char *label, size_t n,
    const char *const values[], const unsigned long long counts[])
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s{%s=\"%s\"} %llu\n", name, label, values[i], counts[i]);
}

/* A label value in the exposition format: backslash, double quote and newline escaped. */
static void
metrics_label_value(FILE *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

/* The flow collector's series, one metric at a time (each groups its series). */
struct flow_metric {
	FILE *out;
	const char *name;
	int what;                                 /* FM_* */
};

enum { FM_PACKETS, FM_RECORDS, FM_RATE, FM_UNKNOWN, FM_SEQ_LOST, FM_MALFORMED };

static void
metrics_flow_exporter(void *arg, const struct flow_exporter_stats *e, double per_s)
{
	struct flow_metric *m = arg;
	char who[ADDR_TEXT_MAX];
	unsigned long long v = 0;

	addr_format(&e->exporter, who, sizeof(who));
	switch (m->what) {
	case FM_PACKETS: v = e->packets; break;
	case FM_RECORDS: v = e->records; break;
	case FM_UNKNOWN: v = e->unknown_template; break;
	case FM_SEQ_LOST: v = e->seq_lost; break;
	case FM_RATE:
		fprintf(m->out, "%s{exporter=\"%s\"} %.1f\n", m->name, who, per_s);
		return;
	case FM_MALFORMED:
		for (int r = 1; r < FLOW_ERROR_COUNT; r++)
			fprintf(m->out, "%s{exporter=\"%s\",reason=\"%s\"} %llu\n", m->name, who, flow_error_name(-r),
			    (unsigned long long)e->malformed[r]);
		return;
	}
	fprintf(m->out, "%s{exporter=\"%s\"} %llu\n", m->name, who, v);
}

static void
metrics_flows(FILE *out, const struct flow_collector *c)
{
	static const struct { const char *name, *type, *help; int what; } per_exporter[] = {
		{ "lazaret_flow_packets_total", "counter", "Export datagrams from each exporter, decoded or not.", FM_PACKETS },
		{ "lazaret_flow_records_total", "counter", "Flow records decoded, by exporter.", FM_RECORDS },
		{ "lazaret_flow_records_per_second", "gauge", "Flow records per second, by exporter (about 10 s).", FM_RATE },
		{ "lazaret_flow_unknown_template_total", "counter", "Data sets skipped because their template was not "
		    "known yet, by exporter.", FM_UNKNOWN },
		{ "lazaret_flow_sequence_lost_total", "counter", "Exports lost on the way, from the exporters' sequence "
		    "numbers (records for v5 and IPFIX, datagrams for v9 and sFlow).", FM_SEQ_LOST },
		{ "lazaret_flow_malformed_total", "counter", "Datagrams refused or cut short, by exporter and reason.",
		    FM_MALFORMED },
	};
	struct listen_addr la;
	struct udprecv_stats st;
	char name[128];

	for (int k = 0; k < 3; k++) {
		static const char *const names[] = { "lazaret_flow_datagrams_total", "lazaret_flow_kernel_drops_total",
		    "lazaret_flow_too_long_total" };
		static const char *const helps[] = { "Datagrams read from each flow listener.",
		    "Datagrams the kernel dropped on a flow listener, its receive buffer full.",
		    "Datagrams longer than 9216 bytes, dropped." };
		fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", names[k], helps[k], names[k]);
		for (size_t i = 0; flow_collector_listener(c, i, &la, &st); i++)
			fprintf(out, "%s{listen=\"%s\"} %llu\n", names[k], listen_addr_format(&la, name, sizeof(name)),
			    (unsigned long long)(k == 0 ? st.datagrams : k == 1 ? st.kernel_drops : st.truncated));
	}
	for (size_t k = 0; k < sizeof(per_exporter) / sizeof(per_exporter[0]); k++) {
		struct flow_metric m = { .out = out, .name = per_exporter[k].name, .what = per_exporter[k].what };
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", m.name, per_exporter[k].help, m.name, per_exporter[k].type);
		flow_collector_foreach_exporter(c, metrics_flow_exporter, &m);
	}
	metrics_counter(out, "lazaret_flow_exporters_refused_total", "Datagrams from exporters past [flows] "
	    "max_exporters, dropped.", flow_collector_exporters_refused(c));
}

static void
metrics_flow_detect(FILE *out, const struct flow_detect_stats *st)
{
	const char *kinds[FLOW_DETECT_KINDS];
	unsigned long long evidence[FLOW_DETECT_KINDS];

	metrics_counter_by(out, "lazaret_flow_detect_records_total", "Flow records the detectors read, by which "
	    "side is a [network] subscriber (outside and internal ones are only counted).", "side", 3,
	    (const char *const[]){ "subscriber", "outside", "internal" },
	    (const unsigned long long[]){ st->records - st->outside - st->internal, st->outside, st->internal });
	fprintf(out, "# HELP lazaret_flow_detect_hosts Subscriber hosts the flow detectors follow now.\n"
	    "# TYPE lazaret_flow_detect_hosts gauge\nlazaret_flow_detect_hosts %zu\n", st->hosts);
	metrics_counter(out, "lazaret_flow_detect_hosts_refused_total", "Records of a new host past [flows] "
	    "max_hosts, skipped.", st->hosts_refused);
	for (int k = 0; k < FLOW_DETECT_KINDS; k++) {
		kinds[k] = flow_detect_kind_name(k);
		evidence[k] = st->evidence[k];
	}
	metrics_counter_by(out, "lazaret_flow_detect_evidence_total", "Evidence updates the flow detectors gave "
	    "the judge, by kind.", "kind", FLOW_DETECT_KINDS, kinds, evidence);
	metrics_counter(out, "lazaret_flow_inbound_floods_total", "Floods a subscriber host received (over the "
	    "outbound_dos thresholds inbound): logged, never evidence against the host.", st->inbound_floods);
}

/* The address history's series. */
static void
metrics_identity(FILE *out, const struct ident_stats *st)
{
	fprintf(out, "# HELP lazaret_identity_networks_held Addresses and prefixes a subscriber holds now.\n"
	    "# TYPE lazaret_identity_networks_held gauge\nlazaret_identity_networks_held %llu\n"
	    "# HELP lazaret_identity_subscribers_online Subscribers holding an address or prefix now.\n"
	    "# TYPE lazaret_identity_subscribers_online gauge\nlazaret_identity_subscribers_online %llu\n",
	    (unsigned long long)st->bound, (unsigned long long)st->subscribers);
	metrics_counter_by(out, "lazaret_identity_events_total", "Session events applied to the address history, "
	    "and those ignored (stale: older than what the address had; unknown_stop: for an address the "
	    "subscriber did not hold).", "event", 7,
	    (const char *const[]){ "start", "stop", "move", "stale", "unknown_stop", "nas_reset", "lease_expired" },
	    (const unsigned long long[]){ st->starts, st->stops, st->moves, st->stale, st->unknown_stops,
	    st->origin_resets, st->expired });
	metrics_counter(out, "lazaret_identity_store_lookups_total", "Lookups of a time older than memory covers, "
	    "read from the store.", st->store_lookups);
	metrics_counter(out, "lazaret_identity_store_errors_total", "Address history writes or reads the store "
	    "refused.", st->store_errors);
}

/* RADIUS accounting's series, per client. */
static void
metrics_radius(FILE *out, const struct radius_acct *ra)
{
	const struct radius_server *rs = radius_acct_server(ra);
	const struct radius_server_stats *ss = radius_server_stats(rs);
	const struct radius_client_stats *cs;
	const char *name;

	fprintf(out, "# HELP lazaret_radius_requests_total Valid Accounting-Requests, by client and "
	    "Acct-Status-Type (retransmissions not counted again).\n# TYPE lazaret_radius_requests_total counter\n");
	for (size_t i = 0; radius_server_client(rs, i, &name, &cs); i++)
		for (int k = 0; k < 9; k++)
			if (radius_status_name((unsigned)k) != NULL) {
				fprintf(out, "lazaret_radius_requests_total{client=\"");
				metrics_label_value(out, name);
				fprintf(out, "\",status=\"%s\"} %llu\n", radius_status_name((unsigned)k), (unsigned long long)cs->by_status[k]);
			}
	fprintf(out, "# HELP lazaret_radius_dropped_total Datagrams dropped, by client and reason.\n"
	    "# TYPE lazaret_radius_dropped_total counter\n");
	for (size_t i = 0; radius_server_client(rs, i, &name, &cs); i++)
		for (int r = 1; r < RADIUS_DROP_COUNT; r++)
			if (r != RADIUS_DROP_UNKNOWN_CLIENT) {
				fprintf(out, "lazaret_radius_dropped_total{client=\"");
				metrics_label_value(out, name);
				fprintf(out, "\",reason=\"%s\"} %llu\n", radius_drop_name(r), (unsigned long long)cs->dropped[r]);
			}
	metrics_counter(out, "lazaret_radius_unknown_client_total", "Datagrams from no [radius client] network, "
	    "dropped.", ss->unknown_client);
	metrics_counter(out, "lazaret_radius_answers_total", "Accounting-Responses sent.", ss->answered);
	/* each listener's socket: what a reconnect storm does to it shows here first */
	static const char *const names[] = { "lazaret_radius_datagrams_total", "lazaret_radius_kernel_drops_total",
	    "lazaret_radius_answers_segmented_total", "lazaret_radius_send_errors_total" };
	static const char *const helps[] = { "Datagrams read from each RADIUS listener.",
	    "Datagrams the kernel dropped on a RADIUS listener, its receive buffer full (the NAS retransmits).",
	    "Accounting-Responses sent in runs of one size to one peer as one segmented message (UDP_SEGMENT).",
	    "Accounting-Responses the socket refused (the NAS retransmits; the answer to that is sent again)." };
	struct listen_addr la;
	struct udprecv_stats st;
	char lname[128];
	for (int k = 0; k < 4; k++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", names[k], helps[k], names[k]);
		for (size_t i = 0; radius_acct_listener(ra, i, &la, &st); i++)
			fprintf(out, "%s{listen=\"%s\"} %llu\n", names[k], listen_addr_format(&la, lname, sizeof(lname)),
			    (unsigned long long)(k == 0 ? st.datagrams : k == 1 ? st.kernel_drops : k == 2 ? st.segmented :
			    st.send_errors));
	}
	metrics_counter(out, "lazaret_radius_not_applied_total", "Valid requests without the subscriber_id "
	    "attribute or without an address.", radius_acct_stats(ra)->no_subscriber + radius_acct_stats(ra)->no_address);
}

/* CoA and Disconnect's series, per NAS. */
static void
metrics_coa(FILE *out, const struct radius_coa_client *c)
{
	const struct radius_coa_nas_stats *ns;
	const char *name;

	fprintf(out, "# HELP lazaret_coa_requests_total CoA and Disconnect requests to each NAS, by outcome "
	    "(pending: not answered yet).\n# TYPE lazaret_coa_requests_total counter\n");
	for (size_t i = 0; radius_coa_nas(c, i, &name, &ns); i++) {
		static const char *const outcomes[] = { "acked", "naked", "timed_out", "send_error", "pending" };
		unsigned long long v[] = { ns->acked, ns->naked, ns->timed_out, ns->send_errors, ns->outstanding };
		for (size_t k = 0; k < 5; k++) {
			fprintf(out, "lazaret_coa_requests_total{nas=\"");
			metrics_label_value(out, name);
			fprintf(out, "\",outcome=\"%s\"} %llu\n", outcomes[k], v[k]);
		}
	}
	fprintf(out, "# HELP lazaret_coa_retransmissions_total Requests sent again after no answer, by NAS.\n"
	    "# TYPE lazaret_coa_retransmissions_total counter\n");
	for (size_t i = 0; radius_coa_nas(c, i, &name, &ns); i++) {
		fprintf(out, "lazaret_coa_retransmissions_total{nas=\"");
		metrics_label_value(out, name);
		fprintf(out, "\"} %llu\n", (unsigned long long)ns->retransmitted);
	}
	fprintf(out, "# HELP lazaret_coa_naks_total Refusals by NAS and Error-Cause (0: none given).\n"
	    "# TYPE lazaret_coa_naks_total counter\n");
	for (size_t i = 0; radius_coa_nas(c, i, &name, &ns); i++)
		for (unsigned k = 0; k < sizeof(ns->naked_by_cause) / sizeof(ns->naked_by_cause[0]); k++)
			if (ns->naked_by_cause[k]) {
				fprintf(out, "lazaret_coa_naks_total{nas=\"");
				metrics_label_value(out, name);
				fprintf(out, "\",cause=\"%u\"} %llu\n", (unsigned)radius_coa_cause_at(k),
				    (unsigned long long)ns->naked_by_cause[k]);
			}
}

/* Kea's lease files: lines, binding events, skips by reason, and per file its backlog and cleanups. */
static void
metrics_dhcp(FILE *out, const struct lease_follow *lf)
{
	const struct lease_follow_stats *st = lease_follow_stats(lf);
	const char *events[LEASE_EVENT_COUNT], *reasons[KEA_LEASE_ERROR_COUNT - 1];
	unsigned long long ev[LEASE_EVENT_COUNT], bad[KEA_LEASE_ERROR_COUNT - 1];

	metrics_counter(out, "lazaret_dhcp_lines_total", "Lines read from Kea's lease files.", st->lines);
	for (int e = 0; e < LEASE_EVENT_COUNT; e++) {
		events[e] = lease_event_name((enum lease_event)e);
		ev[e] = st->events[e];
	}
	metrics_counter_by(out, "lazaret_dhcp_events_total", "Binding events from the lease files, by event.", "event",
	    LEASE_EVENT_COUNT, events, ev);
	for (int e = 1; e < KEA_LEASE_ERROR_COUNT; e++) {
		reasons[e - 1] = kea_lease_error_name(-e);
		bad[e - 1] = st->malformed[e];
	}
	metrics_counter_by(out, "lazaret_dhcp_malformed_total", "Lease file lines skipped, by reason.", "reason",
	    KEA_LEASE_ERROR_COUNT - 1, reasons, bad);
	metrics_counter(out, "lazaret_dhcp_without_subscriber_id_total", "Leases with none of the ids that name a "
	    "subscriber.", st->no_subscriber);
	metrics_counter(out, "lazaret_dhcp_subscriber_id_fallback_total", "Leases named by another id than [dhcp] "
	    "subscriber_id, which they lacked.", st->fallback);
	fprintf(out, "# HELP lazaret_dhcp_behind_bytes Bytes of a lease file not read yet.\n"
	    "# TYPE lazaret_dhcp_behind_bytes gauge\n");
	for (size_t i = 0; i < lease_follow_count(lf); i++) {
		fprintf(out, "lazaret_dhcp_behind_bytes{file=\"");
		metrics_label_value(out, lease_follow_path(lf, i));
		fprintf(out, "\"} %llu\n", (unsigned long long)logfollow_behind(lease_follow_file(lf, i)));
	}
	fprintf(out, "# HELP lazaret_dhcp_cleanups_total Kea lease-file cleanups followed (the file renamed, a new "
	    "one begun).\n# TYPE lazaret_dhcp_cleanups_total counter\n");
	for (size_t i = 0; i < lease_follow_count(lf); i++) {
		fprintf(out, "lazaret_dhcp_cleanups_total{file=\"");
		metrics_label_value(out, lease_follow_path(lf, i));
		fprintf(out, "\"} %llu\n", (unsigned long long)logfollow_stats(lease_follow_file(lf, i))->rotations);
	}
}

/* A series per followed log: name{file="PATH"} with the value of what(). */
static void
metrics_by_file(FILE *out, const char *name, const char *type, const char *help, const struct metrics_sources *src,
    uint64_t (*what)(const struct logfollow *))
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t i = 0; i < src->follower_count; i++) {
		fprintf(out, "%s{file=\"", name);
		metrics_label_value(out, logfollow_path(src->followers[i]));
		fprintf(out, "\"} %llu\n", (unsigned long long)what(src->followers[i]));
	}
}

static uint64_t
metrics_read_bytes(const struct logfollow *lf)
{
	return logfollow_stats(lf)->bytes;
}

static void
metrics_gauge(FILE *out, const char *name, const char *help, double v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void
metrics_reports(FILE *out, const struct report_intake_stats *st)
{
	const char *kinds[REPORT_KIND_COUNT], *reasons[REPORT_REASONS_MAX];
	unsigned long long by_kind[REPORT_KIND_COUNT], refused[REPORT_REASONS_MAX];

	metrics_counter_by(out, "lazaret_report_files_total", "Report files read from the spool, by result.", "result", 3,
	    (const char *const[]){ "done", "failed", "duplicate" },
	    (const unsigned long long[]){ st->files, st->files_failed, st->files_duplicate });
	metrics_counter(out, "lazaret_report_submitted_total", "Reports spooled from lazaretctl report and POST /v1/reports.",
	    st->submitted);
	metrics_counter(out, "lazaret_report_submit_failures_total", "Reports that could not be spooled (the sender "
	    "was told to retry).", st->submit_failures);
	metrics_counter_by(out, "lazaret_report_events_total", "What the reports said, by what became of it.", "result", 5,
	    (const char *const[]){ "applied", "duplicate", "outside", "unattributed", "undated" },
	    (const unsigned long long[]){ st->applied, st->duplicates, st->outside, st->unattributed, st->undated });
	metrics_counter_by(out, "lazaret_report_nat_total", "Reports about a CGNAT pool's public address, by outcome: "
	    "mapped to the private address, or naming nobody.", "result", 2, (const char *const[]){ "mapped", "nobody" },
	    (const unsigned long long[]){ st->nat_mapped, st->nat_unattributed });
	for (int k = 0; k < REPORT_KIND_COUNT; k++) {
		kinds[k] = report_kind_name((enum report_kind)k);
		by_kind[k] = st->by_kind[k];
	}
	metrics_counter_by(out, "lazaret_report_evidence_total", "Reports added as evidence, by kind.", "kind",
	    REPORT_KIND_COUNT, kinds, by_kind);
	for (size_t i = 0; i < st->reason_count; i++) {
		reasons[i] = st->reasons[i].name;
		refused[i] = st->reasons[i].count;
	}
	if (st->reason_count > 0)
		metrics_counter_by(out, "lazaret_report_refused_total", "Report files, lines and parts refused, by reason.",
		    "reason", st->reason_count, reasons, refused);
	metrics_gauge(out, "lazaret_report_backlog", "Report files waiting in the spool.", (double)st->backlog);
	metrics_gauge(out, "lazaret_report_dedup_entries", "Reports remembered for the dedup window.",
	    (double)st->dedup_entries);
}

void
metrics_render(FILE *out, const struct metrics_sources *src)
{
	const struct policy_stats *p = src->policy;

	fprintf(out, "# HELP lazaret_policy_requests_total Policy requests answered, by SMTP state and action.\n"
	    "# TYPE lazaret_policy_requests_total counter\n");
	for (int st = 0; st < POLICY_STATE_COUNT; st++)
		for (int a = 0; a < POLICY_ACTION_COUNT; a++)
			if (p->requests[st][a] != 0 || st == POLICY_STATE_DATA || st == POLICY_STATE_RCPT)
				fprintf(out, "lazaret_policy_requests_total{state=\"%s\",action=\"%s\"} %llu\n",
				    policy_state_name((enum policy_state)st), policy_action_name((enum policy_action)a),
				    (unsigned long long)p->requests[st][a]);
	metrics_counter(out, "lazaret_policy_malformed_total",
	    "Malformed policy requests; each closed its connection.", p->malformed);
	metrics_counter(out, "lazaret_policy_connections_total", "Policy connections accepted.",
	    p->connections_total);
	metrics_counter(out, "lazaret_policy_connections_refused_total",
	    "Policy connections closed at once for going over max_connections.", p->connections_refused);
	metrics_gauge(out, "lazaret_policy_connections", "Policy connections open now.",
	    (double)p->connections_open);
	metrics_counter_by(out, "lazaret_policy_closed_total", "Policy connections closed by lazaretd: a peer not in "
	    "[policy] allow, over max_connections_per_peer, a request not whole within request_timeout, or no room "
	    "left for partial requests.", "why", 4,
	    (const char *const[]){ "not_allowed", "peer_limit", "request_timeout", "buffers_full" },
	    (const unsigned long long[]){ p->denied, p->peer_refused, p->request_timeouts, p->buffer_refused });
	metrics_gauge(out, "lazaret_policy_partial_request_bytes", "Bytes held for requests not whole yet.",
	    (double)p->buffer_bytes);
	metrics_histogram(out, "lazaret_policy_decision_seconds",
	    "Time from the poll that delivered a request to the end of the loop iteration that answered it "
	    "(an upper bound on the time lazaretd held it).", policy_latency_bounds_us,
	    POLICY_LATENCY_BUCKETS - 1, p->latency_bucket, p->latency_count, p->latency_sum_us);

	fprintf(out, "# HELP lazaret_subjects Tracked hosts and accounts, by committed level.\n"
	    "# TYPE lazaret_subjects gauge\n");
	for (int l = 0; l < LEVEL_COUNT; l++)
		fprintf(out, "lazaret_subjects{level=\"%s\"} %zu\n", level_name(l), src->judge.by_level[l]);
	metrics_counter(out, "lazaret_level_changes_total", "Committed level changes.", src->judge.level_changes);
	metrics_counter(out, "lazaret_evidence_events_total", "Evidence events recorded.",
	    src->judge.evidence_events);
	metrics_counter(out, "lazaret_subjects_forgotten_total", "Idle normal subjects dropped from memory.",
	    src->judge.evicted);
	metrics_gauge(out, "lazaret_subjects_max", "Subjects tracked at most ([judge] max_subjects).",
	    (double)src->judge.max_subjects);
	metrics_counter(out, "lazaret_subjects_dropped_total", "Normal subjects dropped, least recently seen first, "
	    "to make room under max_subjects.", src->judge.dropped);
	metrics_counter(out, "lazaret_subjects_untracked_total", "New subjects not tracked: max_subjects reached and "
	    "none could be dropped.", src->judge.untracked);
	metrics_counter_by(out, "lazaret_quarantines_total", "Committed quarantines (or suspensions), by who decided.",
	    "by", 2, (const char *const[]){ "judge", "operator" },
	    (const unsigned long long[]){ src->judge.quarantines_auto, src->judge.quarantines_manual });
	metrics_counter_by(out, "lazaret_releases_total", "Committed releases from quarantine, by who: the subscriber "
	    "on the portal (self), an operator, or the judge (expiry, evidence aged).", "by", 3,
	    (const char *const[]){ "self", "operator", "judge" },
	    (const unsigned long long[]){ src->judge.releases_self, src->judge.releases_operator,
	    src->judge.releases_auto });
	metrics_gauge(out, "lazaret_quarantine_cap", "Automatic quarantines allowed per hour (0: no cap).",
	    (double)src->quarantine_cap);
	metrics_gauge(out, "lazaret_quarantine_cap_used", "Automatic quarantines in the last hour.",
	    (double)src->judge.cap_used);
	metrics_gauge(out, "lazaret_quarantine_held", "Subjects that deserve quarantine, held at throttle by the cap.",
	    (double)src->judge.held);
	metrics_counter(out, "lazaret_quarantine_held_total", "Subjects ever held at throttle by the cap.",
	    src->judge.held_total);
	metrics_gauge(out, "lazaret_quarantine_cap_alarm", "1 while the quarantine cap holds subjects back.",
	    src->judge.held > 0 ? 1 : 0);

	metrics_counter(out, "lazaret_store_writes_total", "Subject rows written.", src->store.writes);
	metrics_counter(out, "lazaret_store_history_total", "History entries appended.", src->store.history_rows);
	metrics_counter(out, "lazaret_store_transactions_total", "Store commits.", src->store.transactions);
	metrics_counter(out, "lazaret_store_failures_total", "Failed store commits.", src->store.failures);
	metrics_gauge(out, "lazaret_store_queue", "Writes waiting for the store.", (double)src->store.queued);
	/* the shared store: 0 is the alarm (verdicts wait in the outbox); SQLite alone is always up */
	metrics_gauge(out, "lazaret_store_up", "1 when the store is reachable (the shared store: connected to its "
	    "primary).", src->shared == NULL || src->shared->up ? 1 : 0);
	if (src->shared != NULL) {
		const struct shared_stats *sh = src->shared;
		fprintf(out, "# HELP lazaret_node_info This node's name among the nodes sharing the store.\n"
		    "# TYPE lazaret_node_info gauge\nlazaret_node_info{node=\"%s\"} 1\n", src->node);
		metrics_gauge(out, "lazaret_store_outbox", "This node's changes not yet in the shared store.",
		    (double)sh->outbox);
		metrics_gauge(out, "lazaret_store_shared_seq", "The newest row of the shared store's feed applied here "
		    "(a row: a change, or a push of several).",
		    (double)sh->applied);
		metrics_gauge(out, "lazaret_store_shared_lag", "Rows of the shared store's feed not yet applied here.",
		    (double)(sh->newest > sh->applied ? sh->newest - sh->applied : 0));
		metrics_counter(out, "lazaret_store_shared_pushed_total", "Changes this node pushed to the shared store.",
		    sh->pushed);
		metrics_counter(out, "lazaret_store_shared_pulled_total", "Changes read from the shared store.", sh->pulled);
		metrics_counter(out, "lazaret_store_shared_unreadable_total", "Changes of the shared store that could "
		    "not be read (skipped, logged).", sh->skipped);
		metrics_counter(out, "lazaret_store_shared_outdated_total", "Changes of the shared store made after its "
		    "migration to schema 3 by a node still writing schema 2, which misses this version's (upgrade it).",
		    sh->outdated);
		metrics_counter(out, "lazaret_store_shared_connects_total", "Connections made to the shared store's "
		    "primary.", sh->connects);
		metrics_counter(out, "lazaret_store_shared_evidence_published_total", "Evidence publications this node "
		    "pushed to the shared store's log.", sh->evidence_published);
		metrics_counter(out, "lazaret_store_shared_evidence_folded_total", "This node's publications folded into "
		    "the shared store's evidence table (the newest per subject and kind, once a minute).",
		    sh->evidence_folded);
		metrics_counter(out, "lazaret_store_shared_evidence_read_total", "Other nodes' evidence publications read.",
		    sh->evidence_read);
		metrics_gauge(out, "lazaret_store_shared_evidence_pending", "Evidence publications waiting for the "
		    "shared store.", (double)sh->evidence_pending);
		metrics_gauge(out, "lazaret_store_shared_nodes", "Nodes sharing the judging (in contact lately), this one "
		    "included.", (double)sh->live_nodes);
	}
	metrics_gauge(out, "lazaret_store_address_journal", "Address history events journaled, not yet folded into"
	    " the indexed history.", (double)src->store.journal);
	metrics_counter(out, "lazaret_store_address_journal_folded_total", "Address history events folded into the"
	    " indexed history.", src->store.journal_folded);
	metrics_histogram(out, "lazaret_store_commit_seconds", "Store commit latency.", store_latency_bounds_us,
	    STORE_LATENCY_BUCKETS - 1, src->store.latency_bucket, src->store.latency_count,
	    src->store.latency_sum_us);

	if (src->delivery != NULL) {
		const struct delivery_stats *d = src->delivery;
		fprintf(out, "# HELP lazaret_maillog_lines_total Log lines read, by kind; skipped ones by reason.\n"
		    "# TYPE lazaret_maillog_lines_total counter\n");
		for (int k = 0; k < MAILLOG_KIND_COUNT; k++)
			fprintf(out, "lazaret_maillog_lines_total{kind=\"%s\"} %llu\n", maillog_kind_name(k),
			    (unsigned long long)d->kinds[k]);
		for (int e = 1; e <= MAILLOG_ERROR_COUNT; e++)
			fprintf(out, "lazaret_maillog_lines_total{kind=\"skipped\",reason=\"%s\"} %llu\n",
			    maillog_error_name(-e), (unsigned long long)d->errors[e]);
		fprintf(out, "# HELP lazaret_maillog_outcomes_total Final recipient outcomes attributed to a host or account.\n"
		    "# TYPE lazaret_maillog_outcomes_total counter\n");
		for (int o = 0; o < MAILLOG_OUTCOME_COUNT; o++)
			fprintf(out, "lazaret_maillog_outcomes_total{outcome=\"%s\"} %llu\n",
			    maillog_outcome_name((enum maillog_outcome)o), (unsigned long long)d->outcomes[o]);
		metrics_counter(out, "lazaret_maillog_unattributed_total",
		    "Outcomes whose queue ID had no client= line in memory.", d->unattributed);
		metrics_counter(out, "lazaret_maillog_own_rejects_total",
		    "Refusals by lazaret itself seen in the log, not counted as evidence.", d->own_rejects);
		metrics_counter(out, "lazaret_maillog_filter_links_total",
		    "Messages an after-queue content filter re-injected, followed to their submitter.", d->filter_links);
		metrics_counter_by(out, "lazaret_maillog_held_outcomes_total", "Outcomes of a queue ID the relay "
		    "itself opened, held for a content filter's link; then linked to a submitter or not.",
		    "then", 2, (const char *const[]){ "linked", "unlinked" },
		    (const unsigned long long[]){ d->held_linked, d->held_unlinked });
		metrics_gauge(out, "lazaret_maillog_held_outcomes", "Outcomes waiting now for a content filter's link.",
		    (double)(d->outcomes_held - d->held_linked - d->held_unlinked));
		metrics_gauge(out, "lazaret_maillog_queue_ids", "Queue IDs open in memory.", (double)d->queue_ids_open);
		metrics_counter_by(out, "lazaret_maillog_queue_ids_dropped_total", "Queue IDs forgotten before their outcome.",
		    "why", 2, (const char *const[]){ "age", "full" },
		    (const unsigned long long[]){ d->queue_ids_expired, d->queue_ids_evicted });
		metrics_counter(out, "lazaret_maillog_evidence_updates_total", "Evidence the delivery rules produced.",
		    d->evidence_updates);
		const char *sources[DELIVERY_LOGIN_SOURCES], *skips[DELIVERY_LOGIN_SKIPS];
		unsigned long long logins[DELIVERY_LOGIN_SOURCES], failed[DELIVERY_LOGIN_SOURCES];
		unsigned long long skipped[DELIVERY_LOGIN_SKIPS];
		for (int i = 0; i < DELIVERY_LOGIN_SOURCES; i++) {
			sources[i] = delivery_login_source_name((enum delivery_login_source)i);
			logins[i] = d->logins[i];
			failed[i] = d->logins_failed[i];
		}
		for (int i = 0; i < DELIVERY_LOGIN_SKIPS; i++) {
			skips[i] = delivery_login_skip_name((enum delivery_login_skip)i);
			skipped[i] = d->logins_skipped[i];
		}
		metrics_counter_by(out, "lazaret_logins_total", "Account logins counted for account_networks, by "
		    "source.", "source", DELIVERY_LOGIN_SOURCES, sources, logins);
		metrics_counter_by(out, "lazaret_logins_failed_total", "Failed logins seen (never evidence), by source.",
		    "source", DELIVERY_LOGIN_SOURCES, sources, failed);
		metrics_counter_by(out, "lazaret_logins_skipped_total", "Logins from outside the relay that were not "
		    "evidence, by reason.", "reason", DELIVERY_LOGIN_SKIPS, skips, skipped);
		const char *rc_errors[ROUNDCUBE_ERROR_COUNT];
		unsigned long long rc_counts[ROUNDCUBE_ERROR_COUNT];
		for (int e = 1; e <= ROUNDCUBE_ERROR_COUNT; e++) {
			rc_errors[e - 1] = roundcube_error_name(-e);
			rc_counts[e - 1] = d->webmail_errors[e];
		}
		metrics_counter(out, "lazaret_logins_webmail_lines_total", "Lines read from [logins] roundcube_log.",
		    d->webmail_lines);
		metrics_counter_by(out, "lazaret_logins_webmail_lines_skipped_total", "Lines of [logins] roundcube_log "
		    "that were no login, by reason.", "reason", ROUNDCUBE_ERROR_COUNT, rc_errors, rc_counts);
	}
	if (src->follower_count > 0) {
		metrics_by_file(out, "lazaret_maillog_behind_bytes", "gauge", "Bytes of the followed log not read yet "
		    "(after a rotation, the new file's too); a backlog is read in slices between other work.", src,
		    logfollow_behind);
		metrics_by_file(out, "lazaret_maillog_read_bytes_total", "counter", "Bytes read from the followed log.",
		    src, metrics_read_bytes);
	}

	if (src->flows != NULL)
		metrics_flows(out, src->flows);
	if (src->flow_detect != NULL)
		metrics_flow_detect(out, src->flow_detect);
	if (src->identity != NULL)
		metrics_identity(out, src->identity);
	if (src->radius != NULL)
		metrics_radius(out, src->radius);
	if (src->coa != NULL) {
		metrics_coa(out, src->coa);
		metrics_counter(out, "lazaret_coa_resent_total", "Subscribers told again because their NAS never "
		    "answered ([radius] coa_resend).", src->coa_resent);
	}
	if (src->leases != NULL)
		metrics_dhcp(out, src->leases);
	if (src->reports != NULL)
		metrics_reports(out, src->reports);

	if (src->portal != NULL) {
		metrics_counter_by(out, "lazaret_portal_pages_total", "Portal answers: the 511 notice, or not restricted.",
		    "page", 2, (const char *const[]){ "notice", "not_restricted" },
		    (const unsigned long long[]){ src->portal->notices, src->portal->not_quarantined });
		metrics_counter_by(out, "lazaret_portal_release_requests_total",
		    "Self-release requests on the portal, by result.", "result", 2,
		    (const char *const[]){ "released", "refused" },
		    (const unsigned long long[]){ src->portal->self_releases, src->portal->refused_releases });
	}

	if (src->api_http != NULL && src->portal != NULL) {
		const struct httpd_stats *api = src->api_http, *portal = &src->portal->http;
		metrics_counter_by(out, "lazaret_http_deadline_closed_total", "HTTP connections shut at the request "
		    "deadline without a first whole request (the portal's request_timeout, the API's 30 s); idle "
		    "keep-alive connections closed there are not counted.", "listener", 2,
		    (const char *const[]){ "api", "portal" },
		    (const unsigned long long[]){ api->deadline_closed, portal->deadline_closed });
		metrics_counter_by(out, "lazaret_http_accept_failures_total", "HTTP connections the system would not "
		    "let lazaretd accept (out of descriptors: EMFILE, ENFILE).", "listener", 2,
		    (const char *const[]){ "api", "portal" },
		    (const unsigned long long[]){ api->accept_failures, portal->accept_failures });
	}

	if (src->garden != NULL) {
		const struct garden_stats *g = src->garden;
		fprintf(out, "# HELP lazaret_enforce_backend The enforcement backend in use.\n"
		    "# TYPE lazaret_enforce_backend gauge\nlazaret_enforce_backend{backend=\"%s\"} 1\n", g->backend);
		metrics_counter(out, "lazaret_enforce_batches_total",
		    "Enforcement transactions applied or tried: batches, rebuilds, setups.", g->batches);
		metrics_counter(out, "lazaret_enforce_failures_total", "Enforcement transactions the backend refused.",
		    g->failures);
		metrics_counter(out, "lazaret_enforce_rebuilds_total", "Rebuilds of the quarantine sets from the store.",
		    g->rebuilds);
		metrics_counter_by(out, "lazaret_enforce_elements_total", "Set elements changed by batches.", "change", 2,
		    (const char *const[]){ "added", "removed" },
		    (const unsigned long long[]){ g->elements_added, g->elements_removed });
		metrics_gauge(out, "lazaret_enforced_elements", "Quarantined hosts the kernel's sets hold.",
		    (double)g->elements);
		metrics_gauge(out, "lazaret_enforce_pending", "Changes waiting for the next batch.", (double)g->pending);
		metrics_gauge(out, "lazaret_enforce_last_batch_seconds", "How long the last transaction took.",
		    g->last_batch_seconds);
		metrics_histogram(out, "lazaret_enforce_latency_seconds",
		    "Time from a committed verdict to its batch applied in the kernel.", garden_latency_bounds_us,
		    GARDEN_LATENCY_BUCKETS - 1, g->latency_bucket, g->latency_count, g->latency_sum_us);
	}

	metrics_counter(out, "lazaret_log_suppressed_total", "Log lines outsiders could trigger that were withheld "
	    "by a rate limit; the next line written says how many it stands for (suppressed=N).", src->log_suppressed);
	metrics_gauge(out, "lazaret_uptime_seconds", "Seconds since lazaretd started.", src->uptime_seconds);
	metrics_gauge(out, "lazaret_subject_table_bytes", "Bytes held by the subject table.",
	    (double)src->memory_bytes);
}
