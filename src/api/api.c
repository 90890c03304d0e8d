/*
 * api.c — routes, JSON bodies and libmicrohttpd plumbing for the operator API.
 */
#include "api/api.h"
#include "store/shared.h"
#include "sense/report_intake.h"
#include "ident/ident.h"
#include "sense/radius_acct.h"
#include "act/coa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "api/evidence.h"
#include "api/metrics.h"
#include "common/httpd.h"
#include "common/jsondump.h"
#include "common/log.h"
#include "common/strview.h"
#include "common/subject_text.h"
#include "sense/flow_collector.h"
#include "sense/flowdetect.h"
#include "sense/lease_follow.h"

#define API_BODY_MAX   (64 * 1024)
#define API_HISTORY_MAX 200
#define API_PER_IP_CONNECTIONS 32
#define API_REQUEST_TIMEOUT (30 * USEC_PER_SEC)
#define API_PEM_MAX (64 * 1024)

/*
 * One of the API's listeners. On the Unix socket its file mode is the access control;
 * on TCP every request must carry the bearer token.
 */
struct api_listener {
	struct api *api;
	struct httpd http;
	bool open;
	bool token_required;
};

struct api {
	uv_loop_t *loop;
	struct api_context ctx;
	struct api_listener sock, tcp;
	struct httpd_stats http_stats;   /* both listeners' */
	unsigned waiting;
	unsigned closing;                /* listeners still closing in api_stop */
	char socket_path[108];           /* the socket lazaretd made, unlinked at stop */
};

/* Per-request state, from the first handler call to MHD's completion notice. */
struct api_request {
	struct api *api;
	struct api_listener *l;
	struct MHD_Connection *conn;
	char *body;
	size_t body_len;
	bool too_large;
	bool suspended;
	bool committed;
	int status;
	char subject[STORE_SUBJECT_MAX];
	bool report;                /* POST /v1/reports: its body may be up to [reports] max_size */
	char spooled[192];          /* the report's name in the spool */
};


static enum MHD_Result
api_send(struct MHD_Connection *conn, unsigned code, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

#define API_UNBUILT "{\"error\":\"lazaretd could not build this answer (out of memory); see its log\"}\n"

/*
 * Sends a JSON value (stolen) with a status code. v is NULL when a builder failed
 * (jansson out of memory, a string it refused): every builder here passes a failure
 * up instead of leaving an item out, so the answer is 500 and a log line, never a
 * list with a subject or an evidence item silently missing.
 */
static enum MHD_Result
api_json(struct MHD_Connection *conn, unsigned code, json_t *v)
{
	/* handlers all run on libmicrohttpd's one thread */
	static struct log_limit unbuilt = LOG_LIMIT_INIT(5, 60 * USEC_PER_SEC);
	size_t len = 0;
	char *text = jsondump_text(v, JSON_COMPACT | JSON_PRESERVE_ORDER, &len), *body;

	json_decref(v);
	if (text == NULL || (body = realloc(text, len + 2)) == NULL) {
		free(text);
		log_limited(&unbuilt, LOG_LEVEL_WARN, "api: status=500 reason=\"an answer of status %u "
		    "could not be built (out of memory)\"", code);
		if ((body = strdup(API_UNBUILT)) == NULL)
			return MHD_NO;
		return api_send(conn, 500, "application/json", body, strlen(body));
	}
	body[len] = '\n';
	body[len + 1] = '\0';
	return api_send(conn, code, "application/json", body, len + 1);
}

static enum MHD_Result
api_error(struct MHD_Connection *conn, unsigned code, const char *msg)
{
	return api_json(conn, code, json_pack("{s:s}", "error", msg));
}

static json_t *
json_time(usec_t t)
{
	char buf[40];
	if (t <= 0)
		return json_null();
	return json_string(time_format(t, buf, sizeof(buf)));
}


/* A subject's key as a JSON string of its subject text: lossless, always valid UTF-8, and
 * what lazaretctl prints and takes back. */
static json_t *
api_subject_json(const char *key, size_t len)
{
	char text[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];

	subject_text_encode(text, sizeof(text), key, len);
	return json_string(text);
}

/* May the subscriber release s themselves at the portal, the limit and min_quarantine
 * aside? null below quarantine. */
static json_t *
api_self_release(struct api *a, const struct subject *s, usec_t now)
{
	if (s->level < LEVEL_QUARANTINE)
		return json_null();
	return json_boolean(a->ctx.cfg->portal.self_release_limit > 0 &&
	    judge_self_release(s, now) != JUDGE_SELF_RELEASE_NO);
}

static json_t *
api_subject_brief(struct api *a, const struct subject *s, usec_t now)
{
	return json_pack("{s:o, s:s, s:s, s:f, s:i, s:o, s:b}",
	    "subject", api_subject_json(s->key, s->key_len),
	    "kind", subject_field(s),
	    "level", level_name(s->level),
	    "score", judge_score(a->ctx.judge, s, now),
	    "evidence", s->detail ? (int)s->detail->evidence_count : 0,
	    "last_seen", json_time(s->last_seen),
	    "held_by_cap", (s->flags & SUBJECT_F_HELD) != 0);
}

struct api_history_read {
	json_t *list;
	usec_t since;                 /* when the newest quarantine began */
};

static int
api_history_each(void *arg, const struct store_history *h)
{
	struct api_history_read *hr = arg;

	if (json_array_append_new(hr->list, json_pack("{s:o, s:s, s:s, s:o, s:o}",
	    "time", json_time(h->time),
	    "old_level", level_name(h->old_level),
	    "new_level", level_name(h->new_level),
	    "actor", json_text(h->actor),
	    "reason", json_text(h->reason))) != 0)
		return -ENOMEM;
	if (h->new_level >= LEVEL_QUARANTINE && h->old_level < LEVEL_QUARANTINE)
		hr->since = h->time;
	return 0;
}

/*
 * api_history — the subject's (its key's) level changes as a JSON array, or NULL when
 * the store cannot read them (logged): the caller answers 500, never an empty history,
 * which would tell an operator that nothing ever happened to the subject. *since (may
 * be NULL): when its newest quarantine began, 0 when the history does not say.
 */
static json_t *
api_history(struct api *a, const char *subject, usec_t *since)
{
	struct api_history_read hr = { .list = json_array() };
	char name[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX)];
	int rc;

	if (hr.list == NULL)
		return NULL;
	if (a->ctx.store != NULL &&
	    (rc = store_history_read(a->ctx.store, subject, API_HISTORY_MAX, api_history_each, &hr)) < 0) {
		subject_text_encode(name, sizeof(name), subject, strlen(subject));
		log_warnx("api: subject=%s history unreadable: %s", name, strerror(-rc));
		json_decref(hr.list);
		return NULL;
	}
	if (since != NULL)
		*since = hr.since;
	return hr.list;
}

#define API_HISTORY_UNREADABLE "the store cannot read this subject's history just now (see lazaretd's log); " \
	"its level and evidence are as lazaretd holds them, its history is unknown, not empty"

static json_t *
api_rate(struct api *a, const struct subject *s, enum rate_index idx, usec_t now)
{
	const struct rate_limit *l = judge_limit(a->ctx.judge, s, idx);
	return json_pack("{s:f, s:i}", "used", rate_level(s->tat[idx], l, now), "burst", (int)l->burst);
}

/*
 * Everything about s for /v1/subjects/S. NULL when it cannot be built: *unreadable
 * then says whether the store could not read its history (the other cause: memory).
 */
static json_t *
api_subject_full(struct api *a, struct subject *s, usec_t now, bool *unreadable)
{
	json_t *ev = json_array();
	json_t *manual = json_null();
	char key[STORE_SUBJECT_MAX];

	memcpy(key, s->key, s->key_len);
	key[s->key_len] = '\0';
	if (s->detail != NULL) {
		for (size_t i = 0; ev != NULL && i < s->detail->evidence_count; i++) {
			const struct evidence_item *e = &s->detail->evidence[i];
			if (json_array_append_new(ev, evidence_json(a->ctx.judge, e, now)) != 0) {
				json_decref(ev);
				ev = NULL;      /* the pack below fails on it: the answer is 500 */
			}
		}
	}
	if (s->manual_level >= 0)
		manual = json_pack("{s:s, s:o, s:o, s:b}", "level", level_name(s->manual_level),
		    "until", json_time(s->manual_until),
		    "reason", json_text(subject_manual_reason(s)),
		    "self_release", s->detail != NULL && (s->detail->manual_flags & SUBJECT_MANUAL_SELF_RELEASE));
	usec_t grace = s->detail != NULL && s->detail->grace_until > now ? s->detail->grace_until : 0;
	usec_t since = 0;
	json_t *history = api_history(a, key, &since);
	*unreadable = history == NULL;
	if (history == NULL) {
		json_decref(ev);
		json_decref(manual);
		return NULL;
	}
	json_t *self = api_self_release(a, s, now), *from = json_null();
	/* an automatic quarantine's button comes min_quarantine after it began */
	if (json_is_true(self) && judge_self_release(s, now) == JUDGE_SELF_RELEASE_AUTO &&
	    a->ctx.cfg->portal.min_quarantine > 0 && since > 0)
		from = json_time(since + a->ctx.cfg->portal.min_quarantine);
	json_t *v = json_pack("{s:o, s:s, s:s, s:s, s:f, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:o, s:o}",
	    "subject", api_subject_json(s->key, s->key_len),
	    "kind", subject_field(s),
	    "level", level_name(s->level),
	    "pending_level", level_name(s->target_level),
	    "score", judge_score(a->ctx.judge, s, now),
	    "allowlisted", (s->flags & SUBJECT_F_ALLOWLISTED) != 0,
	    "held_by_cap", (s->flags & SUBJECT_F_HELD) != 0,
	    "grace_until", json_time(grace),
	    "self_release", self,
	    "self_release_from", from,
	    "manual", manual,
	    "last_seen", json_time(s->last_seen),
	    "rate", "messages", api_rate(a, s, RATE_MESSAGES, now),
	    "recipients", api_rate(a, s, RATE_RECIPIENTS, now),
	    "evidence", ev,
	    "history", history);
	if (v != NULL && s->kind == SUBJECT_SUBSCRIBER && a->ctx.ident != NULL) {
		/* what the subscriber holds now: where its verdict is enforced */
		struct cidr nets[16];
		char text[ADDR_TEXT_MAX];
		size_t n = ident_networks(a->ctx.ident, s->key + SUBJECT_SUBSCRIBER_PREFIX_LEN,
		    s->key_len - SUBJECT_SUBSCRIBER_PREFIX_LEN, nets, 16);
		json_t *list = json_array();
		for (size_t i = 0; list != NULL && i < n && i < 16; i++)
			json_array_append_new(list, json_string(cidr_format(&nets[i], text, sizeof(text))));
		if (list == NULL || json_object_set_new(v, "networks", list) != 0) {
			json_decref(v);
			return NULL;
		}
	}
	return v;
}

/* A query argument, percent-decoded here (api_unescape leaves them as sent); NULL when
 * absent or not decodable into buf. */
static const char *
api_arg(struct MHD_Connection *conn, const char *name, char *buf, size_t size)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);

	if (v == NULL || subject_text_decode(buf, size, NULL, v, strlen(v)) != 0)
		return v == NULL ? NULL : "";
	return buf;
}

static enum MHD_Result
api_list(struct api *a, struct MHD_Connection *conn)
{
	char lbuf[32], kbuf[32];
	const char *lv = api_arg(conn, "level", lbuf, sizeof(lbuf));
	const char *kv = api_arg(conn, "kind", kbuf, sizeof(kbuf));
	int level = -1, kind = -1;
	usec_t now = time_now();

	if (lv != NULL && (level = level_parse(lv)) < 0)
		return api_error(conn, 400, "level must be normal, watch, throttle, quarantine or suspend");
	if (kv != NULL) {
		if (!strcmp(kv, "host"))
			kind = SUBJECT_HOST;          /* hosts, and the subscribers behind addresses */
		else if (!strcmp(kv, "account"))
			kind = SUBJECT_ACCOUNT;
		else if (!strcmp(kv, "subscriber"))
			kind = SUBJECT_SUBSCRIBER;
		else
			return api_error(conn, 400, "kind must be host, subscriber or account");
	}
	json_t *list = json_array();
	size_t cursor = 0;
	struct subjects *t = judge_subjects(a->ctx.judge);
	/* Only ?level=normal walks every tracked subject; the rest are the judge's notable ones. */
	bool all = level == LEVEL_NORMAL;
	struct subject *s = all ? subjects_next(t, &cursor, NULL) : judge_notable_next(a->ctx.judge, &cursor, NULL);
	for (; s != NULL; s = all ? subjects_next(t, &cursor, s) : judge_notable_next(a->ctx.judge, &cursor, s)) {
		if (kind >= 0 && s->kind != kind && !(kind == SUBJECT_HOST && s->kind == SUBJECT_SUBSCRIBER))
			continue;
		if (level >= 0 ? s->level != level : s->level == LEVEL_NORMAL)
			continue;
		if (json_array_append_new(list, api_subject_brief(a, s, now)) != 0) {
			json_decref(list);
			return api_json(conn, 200, NULL);
		}
	}
	return api_json(conn, 200, json_pack("{s:o}", "subjects", list));
}

/* One quarantined or held subject for /v1/quarantine. */
static json_t *
api_quarantine_entry(struct api *a, const struct subject *s, usec_t now)
{
	json_t *e = api_subject_brief(a, s, now);
	bool manual = s->manual_level >= 0;
	/* the relay refuses an account once committed */
	bool enforced = s->kind != SUBJECT_HOST || (a->ctx.garden != NULL && garden_enforced(a->ctx.garden, s->key));
	json_t *nas = json_null();

	if (s->kind == SUBJECT_SUBSCRIBER) {
		const char *id = s->key + SUBJECT_SUBSCRIBER_PREFIX_LEN;
		size_t len = s->key_len - SUBJECT_SUBSCRIBER_PREFIX_LEN;
		struct coa_status cs;
		/* the relay refuses every address of it; the gateway's sets hold each one it holds */
		if (a->ctx.ident != NULL && a->ctx.garden != NULL && (a->ctx.cfg->enforce.mode & ENFORCE_MODE_NFTABLES)) {
			struct cidr nets[16];
			char text[ADDR_TEXT_MAX];
			size_t n = ident_networks(a->ctx.ident, id, len, nets, 16);
			for (size_t i = 0; i < n && i < 16; i++)
				if (nets[i].prefix == (nets[i].addr.family == AF_INET ? 32u : 64u) &&
				    !garden_enforced(a->ctx.garden, cidr_format(&nets[i], text, sizeof(text))))
					enforced = false;
		}
		if (a->ctx.coa != NULL && coa_status(a->ctx.coa, id, len, &cs))
			nas = json_pack("{s:s, s:s, s:b, s:o, s:o}", "state", coa_state_name(cs.state), "nas", cs.nas,
			    "release", cs.release, "error_cause", cs.error_cause ? json_integer(cs.error_cause) : json_null(),
			    "time", json_time(cs.time));
	}

	if (json_object_set_new(e, "by", json_string(manual ? "operator" : "judge")) != 0 ||
	    json_object_set_new(e, "reason", json_text(manual ? subject_manual_reason(s) :
	    judge_top_summary(a->ctx.judge, s, now))) != 0 ||
	    json_object_set_new(e, "self_release", api_self_release(a, s, now)) != 0 ||
	    json_object_set_new(e, "until", json_time(manual ? s->manual_until : 0)) != 0 ||
	    json_object_set_new(e, "enforced", json_boolean(enforced)) != 0 ||
	    json_object_set_new(e, "nas", nas) != 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* GET /v1/quarantine: who is quarantined, who waits behind the cap, how the kernel follows. */
static enum MHD_Result
api_quarantine_list(struct api *a, struct MHD_Connection *conn)
{
	json_t *quarantined = json_array(), *held = json_array(), *enforce = json_null();
	struct judge *j = a->ctx.judge;
	struct judge_stats js;
	size_t cursor = 0;
	usec_t now = time_now();

	for (struct subject *s = judge_notable_next(j, &cursor, NULL); s != NULL; s = judge_notable_next(j, &cursor, s)) {
		json_t *into = s->level >= LEVEL_QUARANTINE ? quarantined : s->flags & SUBJECT_F_HELD ? held : NULL;

		if (into != NULL && json_array_append_new(into, api_quarantine_entry(a, s, now)) != 0) {
			json_decref(quarantined);
			json_decref(held);
			return api_json(conn, 200, NULL);
		}
	}
	judge_stats_get(a->ctx.judge, &js);
	if (a->ctx.garden != NULL) {
		struct garden_stats gs;
		garden_stats_get(a->ctx.garden, &gs);
		enforce = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:s}", "backend", gs.backend,
		    "elements", (json_int_t)gs.elements, "pending", (json_int_t)gs.pending,
		    "batches", (json_int_t)gs.batches, "failures", (json_int_t)gs.failures,
		    "rebuilds", (json_int_t)gs.rebuilds, "last_batch_seconds", gs.last_batch_seconds,
		    "last_failure", json_time(gs.last_failure), "last_error", gs.last_error);
	}
	return api_json(conn, 200, json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:b}, s:o}",
	    "quarantined", quarantined, "queued", held,
	    "cap", "per_hour", (json_int_t)a->ctx.cfg->judge.quarantine_cap, "used", (json_int_t)js.cap_used,
	    "held", (json_int_t)js.held, "alarm", js.held > 0,
	    "enforce", enforce));
}

/* One exporter of the flow collector as /v1/stats shows it. */
static void
api_flow_exporter(void *arg, const struct flow_exporter_stats *e, double records_per_s)
{
	json_t *list = arg, *malformed = json_object();
	char who[ADDR_TEXT_MAX];
	uint64_t total = 0;
	int bad = malformed == NULL;

	for (int r = 1; r < FLOW_ERROR_COUNT && !bad; r++) {
		total += e->malformed[r];
		if (e->malformed[r] > 0)
			bad |= json_object_set_new(malformed, flow_error_name(-r), json_integer((json_int_t)e->malformed[r]));
	}
	json_t *o = bad ? NULL : json_pack("{s:s, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I}",
	    "exporter", addr_format(&e->exporter, who, sizeof(who)), "packets", (json_int_t)e->packets,
	    "records", (json_int_t)e->records, "records_per_s", records_per_s,
	    "unknown_template", (json_int_t)e->unknown_template, "templates", (json_int_t)e->templates,
	    "templates_refused", (json_int_t)e->templates_refused, "sequence_lost", (json_int_t)e->seq_lost,
	    "sequence_resets", (json_int_t)e->seq_resets, "sampling", (json_int_t)e->sampling,
	    "malformed", malformed, "malformed_total", (json_int_t)total);
	if (o == NULL) {
		if (bad)
			json_decref(malformed);
		json_array_append_new(list, json_null());      /* the caller sees a failed build */
		return;
	}
	if (json_array_append_new(list, o) != 0)
		json_array_append_new(list, json_null());
}

/* The flow detectors in /v1/stats: what they read, the hosts they follow, their evidence. */
static json_t *
api_flow_detect_json(const struct flow_detect *fd)
{
	struct flow_detect_stats st;
	json_t *evidence = json_object();

	if (evidence == NULL)
		return NULL;
	flow_detect_stats_get(fd, &st);
	for (int k = 0; k < FLOW_DETECT_KINDS; k++)
		if (json_object_set_new(evidence, flow_detect_kind_name(k), json_integer((json_int_t)st.evidence[k])) != 0) {
			json_decref(evidence);
			return NULL;
		}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "records", (json_int_t)st.records,
	    "outside", (json_int_t)st.outside, "internal", (json_int_t)st.internal, "hosts", (json_int_t)st.hosts,
	    "hosts_refused", (json_int_t)st.hosts_refused, "evidence", evidence,
	    "inbound_floods", (json_int_t)st.inbound_floods);
}

/* The flow collector in /v1/stats: per listener and per exporter, and the detectors
 * (null without them). NULL on ENOMEM. */
static json_t *
api_flows_json(const struct flow_collector *c, const struct flow_detect *fd)
{
	json_t *listeners = json_array(), *exporters = json_array();
	struct listen_addr la;
	struct udprecv_stats st;
	char name[128];
	int bad = listeners == NULL || exporters == NULL;

	for (size_t i = 0; !bad && flow_collector_listener(c, i, &la, &st); i++)
		bad |= json_array_append_new(listeners, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:i}", "listen",
		    listen_addr_format(&la, name, sizeof(name)), "datagrams", (json_int_t)st.datagrams,
		    "bytes", (json_int_t)st.bytes, "kernel_drops", (json_int_t)st.kernel_drops,
		    "too_long", (json_int_t)st.truncated, "errors", (json_int_t)st.errors, "receive_buffer", st.rcvbuf));
	if (!bad)
		flow_collector_foreach_exporter(c, api_flow_exporter, exporters);
	for (size_t i = 0; !bad && i < json_array_size(exporters); i++)
		bad |= json_is_null(json_array_get(exporters, i));
	if (bad) {
		json_decref(listeners);
		json_decref(exporters);
		return NULL;
	}
	json_t *detect = fd != NULL ? api_flow_detect_json(fd) : json_null();
	if (detect == NULL) {
		json_decref(listeners);
		json_decref(exporters);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:I, s:o}", "listeners", listeners, "exporters", exporters,
	    "exporters_refused", (json_int_t)flow_collector_exporters_refused(c), "detect", detect);
}

/* The address history's counts, null without an identity source. */
static json_t *
api_identity_json(const struct ident *id)
{
	struct ident_stats st;

	if (id == NULL)
		return json_null();
	ident_stats_get(id, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "networks_held", (json_int_t)st.bound, "subscribers_online", (json_int_t)st.subscribers,
	    "starts", (json_int_t)st.starts, "stops", (json_int_t)st.stops, "moves", (json_int_t)st.moves,
	    "stale", (json_int_t)st.stale, "unknown_stops", (json_int_t)st.unknown_stops,
	    "nas_resets", (json_int_t)st.origin_resets, "leases_expired", (json_int_t)st.expired,
	    "store_lookups", (json_int_t)st.store_lookups, "store_errors", (json_int_t)st.store_errors,
	    "memory_bytes", (json_int_t)ident_memory(id));
}

/* RADIUS accounting's counts, per client, null without [radius] listen. */
static json_t *
api_radius_json(const struct radius_acct *ra)
{
	if (ra == NULL)
		return json_null();
	const struct radius_server *rs = radius_acct_server(ra);
	const struct radius_server_stats *ss = radius_server_stats(rs);
	const struct radius_acct_stats *as = radius_acct_stats(ra);
	json_t *clients = json_object(), *listeners = json_array();
	const struct radius_client_stats *cs;
	const char *name;
	int bad = clients == NULL || listeners == NULL;
	struct listen_addr la;
	struct udprecv_stats st;
	char lname[128];

	for (size_t i = 0; !bad && radius_acct_listener(ra, i, &la, &st); i++)
		bad |= json_array_append_new(listeners, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:i}", "listen",
		    listen_addr_format(&la, lname, sizeof(lname)), "datagrams", (json_int_t)st.datagrams,
		    "kernel_drops", (json_int_t)st.kernel_drops, "answers_segmented", (json_int_t)st.segmented,
		    "send_errors", (json_int_t)st.send_errors, "errors", (json_int_t)st.errors,
		    "receive_buffer", st.rcvbuf));
	for (size_t i = 0; !bad && radius_server_client(rs, i, &name, &cs); i++) {
		json_t *by = json_object(), *dropped = json_object();
		for (int k = 0; k < 9; k++)
			if (radius_status_name((unsigned)k) != NULL)
				bad |= json_object_set_new(by, radius_status_name((unsigned)k), json_integer((json_int_t)cs->by_status[k]));
		for (int r = 1; r < RADIUS_DROP_COUNT; r++)
			if (cs->dropped[r])
				bad |= json_object_set_new(dropped, radius_drop_name(r), json_integer((json_int_t)cs->dropped[r]));
		bad |= json_object_set_new(clients, name, json_pack("{s:I, s:I, s:o, s:o}", "requests",
		    (json_int_t)cs->requests, "retransmissions", (json_int_t)cs->duplicates, "by_status", by,
		    "dropped", dropped));
	}
	if (bad) {
		json_decref(clients);
		json_decref(listeners);
		return NULL;
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "datagrams", (json_int_t)ss->datagrams,
	    "unknown_client", (json_int_t)ss->unknown_client, "answered", (json_int_t)ss->answered,
	    "answer_errors", (json_int_t)ss->answer_errors, "applied", (json_int_t)as->applied,
	    "no_subscriber", (json_int_t)as->no_subscriber, "no_address", (json_int_t)as->no_address,
	    "clients", clients, "listeners", listeners);
}

/* CoA and Disconnect's counts, per NAS, null without [enforce] mode = radius. */
static json_t *
api_coa_json(const struct coa *c)
{
	struct coa_stats cs;
	const struct radius_coa_nas_stats *ns;
	const char *name;
	json_t *nases;

	if (c == NULL)
		return json_null();
	if ((nases = json_object()) == NULL)
		return NULL;
	coa_stats_get(c, &cs);
	for (size_t i = 0; radius_coa_nas(coa_client(c), i, &name, &ns); i++) {
		json_t *dropped = json_object();
		for (int r = 1; dropped != NULL && r < RADIUS_COA_ERROR_COUNT; r++)
			if (ns->dropped[r] && json_object_set_new(dropped, radius_coa_error_name(-r),
			    json_integer((json_int_t)ns->dropped[r])) != 0) {
				json_decref(dropped);
				dropped = NULL;
			}
		if (dropped == NULL || json_object_set_new(nases, name, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		    "sent", (json_int_t)ns->sent, "retransmitted", (json_int_t)ns->retransmitted, "acked",
		    (json_int_t)ns->acked, "naked", (json_int_t)ns->naked, "timed_out", (json_int_t)ns->timed_out,
		    "send_errors", (json_int_t)ns->send_errors, "outstanding", (json_int_t)ns->outstanding,
		    "dropped", dropped)) != 0) {
			json_decref(nases);
			return NULL;
		}
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "sessions_told", (json_int_t)cs.requests,
	    "no_nas", (json_int_t)cs.no_nas, "no_session", (json_int_t)cs.no_session, "not_sent", (json_int_t)cs.refused,
	    "resent", (json_int_t)cs.resent,
	    "unknown_source", (json_int_t)radius_coa_unknown_source(coa_client(c)), "nases", nases);
}

/* Kea's lease files in /v1/stats: what was read and told, skips by reason, per file. NULL on ENOMEM. */
static json_t *
api_dhcp_json(const struct lease_follow *lf)
{
	const struct lease_follow_stats *st = lease_follow_stats(lf);
	json_t *malformed = json_object(), *files = json_object();
	int bad = malformed == NULL || files == NULL;

	for (int e = 1; !bad && e < KEA_LEASE_ERROR_COUNT; e++)
		if (st->malformed[e])
			bad |= json_object_set_new(malformed, kea_lease_error_name(-e), json_integer((json_int_t)st->malformed[e]));
	for (size_t i = 0; !bad && i < lease_follow_count(lf); i++) {
		const struct logfollow *f = lease_follow_file(lf, i);
		const struct logfollow_stats *fs = logfollow_stats(f);
		uint64_t inode, offset;
		char path[SUBJECT_TEXT_SIZE(PATH_MAX)];      /* a JSON key is UTF-8: the path's subject text */

		subject_text_encode(path, sizeof(path), lease_follow_path(lf, i), strlen(lease_follow_path(lf, i)));
		logfollow_position(f, &inode, &offset);
		bad |= json_object_set_new(files, path, json_pack("{s:I, s:I, s:I, s:I, s:I}",
		    "behind_bytes", (json_int_t)logfollow_behind(f), "read_bytes", (json_int_t)fs->bytes,
		    "offset", (json_int_t)offset, "cleanups", (json_int_t)fs->rotations,
		    "truncations", (json_int_t)fs->truncations));
	}
	if (bad) {
		json_decref(malformed);
		json_decref(files);
		return NULL;
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:o}", "files_followed",
	    (json_int_t)st->files, "lines", (json_int_t)st->lines, "leases", (json_int_t)st->events[LEASE_EVENT_LEASE],
	    "releases", (json_int_t)st->events[LEASE_EVENT_RELEASE],
	    "expired", (json_int_t)st->events[LEASE_EVENT_EXPIRED], "flushed", (json_int_t)st->flushed,
	    "malformed", malformed,
	    "without_subscriber_id", (json_int_t)st->no_subscriber, "subscriber_id_fallback", (json_int_t)st->fallback,
	    "earlier_files_read", (json_int_t)st->replayed_files, "files", files);
}

static json_t *
api_reports_json(const struct report_intake *ri)
{
	struct report_intake_stats st;
	json_t *kinds = json_object(), *refused = json_object();
	int bad = kinds == NULL || refused == NULL;

	report_intake_stats_get(ri, &st);
	for (int k = 0; k < REPORT_KIND_COUNT && !bad; k++)
		bad |= json_object_set_new(kinds, report_kind_name((enum report_kind)k), json_integer((json_int_t)st.by_kind[k]));
	for (size_t i = 0; i < st.reason_count && !bad; i++)
		bad |= json_object_set_new(refused, st.reasons[i].name, json_integer((json_int_t)st.reasons[i].count));
	if (bad) {
		json_decref(kinds);
		json_decref(refused);
		return NULL;
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:I, s:I, s:I}",
	    "files", (json_int_t)st.files, "files_failed", (json_int_t)st.files_failed,
	    "files_duplicate", (json_int_t)st.files_duplicate, "submitted", (json_int_t)st.submitted,
	    "submit_failures", (json_int_t)st.submit_failures, "events", (json_int_t)st.events,
	    "applied", (json_int_t)st.applied, "duplicates", (json_int_t)st.duplicates,
	    "outside", (json_int_t)st.outside, "unattributed", (json_int_t)st.unattributed,
	    "undated", (json_int_t)st.undated, "by_kind", kinds, "refused", (json_int_t)st.rows_refused,
	    "refused_by_reason", refused, "backlog", (json_int_t)st.backlog, "dedup_entries", (json_int_t)st.dedup_entries,
	    "nat_mapped", (json_int_t)st.nat_mapped, "nat_unattributed", (json_int_t)st.nat_unattributed);
}

static enum MHD_Result
api_stats(struct api *a, struct MHD_Connection *conn)
{
	struct judge_stats js;
	struct store_stats ss = { 0 };
	const struct policy_stats *ps = policy_server_stats(a->ctx.policy);
	json_t *by_level = json_object(), *actions = json_object(), *states = json_object();
	uint64_t total = 0;

	int bad = 0;        /* any set that failed: the answer is 500, not stats with a hole */

	judge_stats_get(a->ctx.judge, &js);
	if (a->ctx.store != NULL)
		store_stats_get(a->ctx.store, &ss);
	for (int l = 0; l < LEVEL_COUNT; l++)
		bad |= json_object_set_new(by_level, level_name(l), json_integer((json_int_t)js.by_level[l]));
	for (int act = 0; act < POLICY_ACTION_COUNT; act++) {
		uint64_t n = 0;
		for (int st = 0; st < POLICY_STATE_COUNT; st++)
			n += ps->requests[st][act];
		total += n;
		bad |= json_object_set_new(actions, policy_action_name((enum policy_action)act), json_integer((json_int_t)n));
	}
	for (int st = 0; st < POLICY_STATE_COUNT; st++) {
		uint64_t n = 0;
		for (int act = 0; act < POLICY_ACTION_COUNT; act++)
			n += ps->requests[st][act];
		if (n)
			bad |= json_object_set_new(states, policy_state_name((enum policy_state)st), json_integer((json_int_t)n));
	}
	json_t *maillog = json_null();
	if (a->ctx.delivery != NULL) {
		const struct delivery_stats *d = delivery_stats(a->ctx.delivery);
		json_t *kinds = json_object(), *skipped = json_object(), *outcomes = json_object();
		for (int k = 0; k < MAILLOG_KIND_COUNT; k++)
			bad |= json_object_set_new(kinds, maillog_kind_name(k), json_integer((json_int_t)d->kinds[k]));
		for (int e = 1; e <= MAILLOG_ERROR_COUNT; e++)
			if (d->errors[e])
				bad |= json_object_set_new(skipped, maillog_error_name(-e),
				    json_integer((json_int_t)d->errors[e]));
		for (int o = 0; o < MAILLOG_OUTCOME_COUNT; o++)
			bad |= json_object_set_new(outcomes, maillog_outcome_name((enum maillog_outcome)o),
			    json_integer((json_int_t)d->outcomes[o]));
		json_t *filter = json_pack("{s:I, s:I, s:I, s:I, s:I}", "hops", (json_int_t)d->filter_hops,
		    "links", (json_int_t)d->filter_links, "outcomes_held", (json_int_t)d->outcomes_held,
		    "held_then_linked", (json_int_t)d->held_linked, "held_then_unlinked", (json_int_t)d->held_unlinked);
		json_t *logins = json_object(), *l_ok = json_object(), *l_failed = json_object(), *l_skip = json_object();
		for (int i = 0; i < DELIVERY_LOGIN_SOURCES; i++) {
			const char *name = delivery_login_source_name((enum delivery_login_source)i);
			bad |= json_object_set_new(l_ok, name, json_integer((json_int_t)d->logins[i]));
			bad |= json_object_set_new(l_failed, name, json_integer((json_int_t)d->logins_failed[i]));
		}
		for (int i = 0; i < DELIVERY_LOGIN_SKIPS; i++)
			bad |= json_object_set_new(l_skip, delivery_login_skip_name((enum delivery_login_skip)i),
			    json_integer((json_int_t)d->logins_skipped[i]));
		bad |= json_object_set_new(logins, "evidence", l_ok);
		bad |= json_object_set_new(logins, "failed", l_failed);
		bad |= json_object_set_new(logins, "skipped", l_skip);
		json_t *w_skip = json_object();
		for (int e = 1; e <= ROUNDCUBE_ERROR_COUNT; e++)
			if (d->webmail_errors[e])
				bad |= json_object_set_new(w_skip, roundcube_error_name(-e),
				    json_integer((json_int_t)d->webmail_errors[e]));
		bad |= json_object_set_new(logins, "webmail_lines", json_integer((json_int_t)d->webmail_lines));
		bad |= json_object_set_new(logins, "webmail_lines_skipped", w_skip);
		maillog = json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o*, s:o*}", "lines", (json_int_t)d->lines,
		    "kinds", kinds, "skipped", skipped, "outcomes", outcomes,
		    "unattributed", (json_int_t)d->unattributed, "queue_ids_open", (json_int_t)d->queue_ids_open,
		    "queue_ids_dropped", (json_int_t)(d->queue_ids_expired + d->queue_ids_evicted),
		    "evidence_updates", (json_int_t)d->evidence_updates, "content_filter", filter, "logins", logins);
		json_t *files = json_object();
		for (size_t i = 0; i < a->ctx.follower_count; i++) {
			const struct logfollow *lf = a->ctx.followers[i];
			const struct logfollow_stats *fs = logfollow_stats(lf);
			uint64_t inode, offset;
			/* a path need not be UTF-8, which a JSON key must be: the key is its subject text */
			char path[SUBJECT_TEXT_SIZE(PATH_MAX)];

			subject_text_encode(path, sizeof(path), logfollow_path(lf), strlen(logfollow_path(lf)));
			logfollow_position(lf, &inode, &offset);
			bad |= json_object_set_new(files, path, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
			    "behind_bytes", (json_int_t)logfollow_behind(lf), "read_bytes", (json_int_t)fs->bytes,
			    "offset", (json_int_t)offset, "rotations", (json_int_t)fs->rotations,
			    "truncations", (json_int_t)fs->truncations, "too_long", (json_int_t)fs->too_long));
		}
		bad |= json_object_set_new(maillog, "files", files);
	}
	if (bad) {
		json_decref(by_level);
		json_decref(actions);
		json_decref(states);
		json_decref(maillog);
		return api_json(conn, 200, NULL);
	}
	json_t *flows = a->ctx.flows != NULL ? api_flows_json(a->ctx.flows, a->ctx.flow_detect) : json_null();
	json_t *identity = api_identity_json(a->ctx.ident), *radius = api_radius_json(a->ctx.radius);
	json_t *coa = api_coa_json(a->ctx.coa);
	json_t *dhcp = a->ctx.leases != NULL ? api_dhcp_json(a->ctx.leases) : json_null();
	json_t *reports = a->ctx.reports != NULL ? api_reports_json(a->ctx.reports) : json_null();
	if (flows == NULL || identity == NULL || radius == NULL || coa == NULL || dhcp == NULL || reports == NULL) {
		json_decref(reports);
		json_decref(coa);
		json_decref(dhcp);
		json_decref(by_level);
		json_decref(actions);
		json_decref(states);
		json_decref(maillog);
		json_decref(flows);
		json_decref(identity);
		json_decref(radius);
		return api_json(conn, 200, NULL);
	}
	return api_json(conn, 200, json_pack(
	    "{s:I, s:{s:I, s:o, s:I}, s:{s:I, s:I, s:I, s:I, s:o, s:o}, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:o, s:{s:I}}",
	    "uptime", (json_int_t)((time_now() - a->ctx.started) / USEC_PER_SEC),
	    "subjects", "tracked", (json_int_t)js.tracked, "by_level", by_level,
	    "level_changes", (json_int_t)js.level_changes,
	    "policy", "requests", (json_int_t)total, "connections", (json_int_t)ps->connections_open,
	    "connections_total", (json_int_t)ps->connections_total, "malformed", (json_int_t)ps->malformed,
	    "actions", actions, "states", states,
	    "store", "writes", (json_int_t)ss.writes, "history", (json_int_t)ss.history_rows,
	    "failures", (json_int_t)ss.failures, "queued", (json_int_t)ss.queued,
	    "address_journal", (json_int_t)ss.journal, "address_journal_folded", (json_int_t)ss.journal_folded,
	    "maillog", maillog, "flows", flows, "identity", identity, "radius", radius, "coa", coa, "dhcp", dhcp,
	    "reports", reports, "log", "suppressed", (json_int_t)log_suppressed_total()));
}

static enum MHD_Result
api_metrics(struct api *a, struct MHD_Connection *conn)
{
	struct metrics_sources src = { .policy = policy_server_stats(a->ctx.policy),
	    .delivery = a->ctx.delivery ? delivery_stats(a->ctx.delivery) : NULL,
	    .followers = a->ctx.followers, .follower_count = a->ctx.follower_count,
	    .portal = a->ctx.portal ? portal_stats(a->ctx.portal) : NULL, .flows = a->ctx.flows,
	    .leases = a->ctx.leases };
	struct report_intake_stats rs;
	if (a->ctx.reports != NULL) {
		report_intake_stats_get(a->ctx.reports, &rs);
		src.reports = &rs;
	}
	struct flow_detect_stats fds;
	if (a->ctx.flow_detect != NULL) {
		flow_detect_stats_get(a->ctx.flow_detect, &fds);
		src.flow_detect = &fds;
	}
	struct ident_stats ids;
	if (a->ctx.ident != NULL) {
		ident_stats_get(a->ctx.ident, &ids);
		src.identity = &ids;
	}
	src.radius = a->ctx.radius;
	src.coa = a->ctx.coa != NULL ? coa_client(a->ctx.coa) : NULL;
	if (a->ctx.coa != NULL) {
		struct coa_stats cst;
		coa_stats_get(a->ctx.coa, &cst);
		src.coa_resent = cst.resent;
	}
	struct garden_stats gs;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (out == NULL)
		return api_error(conn, 500, "out of memory");
	judge_stats_get(a->ctx.judge, &src.judge);
	if (a->ctx.store != NULL)
		store_stats_get(a->ctx.store, &src.store);
	struct shared_stats shs;
	if (a->ctx.shared != NULL) {
		shared_stats_get(a->ctx.shared, &shs);
		src.shared = &shs;
		src.node = shared_node_name(a->ctx.shared);
	}
	src.uptime_seconds = (double)(time_now() - a->ctx.started) / 1e6;
	src.api_http = &a->http_stats;
	src.log_suppressed = log_suppressed_total();
	src.memory_bytes = subjects_memory(judge_subjects(a->ctx.judge));
	src.quarantine_cap = a->ctx.cfg->judge.quarantine_cap;
	if (a->ctx.garden != NULL) {
		garden_stats_get(a->ctx.garden, &gs);
		src.garden = &gs;
	}
	metrics_render(out, &src);
	fclose(out);
	return api_send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* The verdict of a quarantine or release is durable: wake the suspended request. */
static void
api_committed(void *arg, int status)
{
	struct api_request *r = arg;

	r->committed = true;
	r->status = status;
	if (r->suspended) {
		r->suspended = false;
		r->api->waiting--;
		MHD_resume_connection(r->conn);
		httpd_kick(&r->l->http);
	}
}

static enum MHD_Result
api_action_answer(struct api *a, struct api_request *r)
{
	struct subject *s = subjects_find(judge_subjects(a->ctx.judge), r->subject, strlen(r->subject));

	if (r->status == STORE_QUEUED && s != NULL)
		/* durable here; in force on every node, this one too, once the shared store has it */
		return api_json(r->conn, 202, json_pack("{s:o, s:s, s:s, s:b, s:s}", "subject",
		    api_subject_json(r->subject, strlen(r->subject)), "level", level_name(s->target_level),
		    "in_force", level_name(s->level), "queued", 1,
		    "note", "the shared store is unreachable: the verdict is on this node's disk and takes effect "
		    "everywhere once the shared store is back"));
	if (r->status != 0 || s == NULL)
		return api_error(r->conn, 500, "the store could not commit the verdict; nothing changed");
	return api_json(r->conn, 200, json_pack("{s:o, s:s, s:o, s:o}", "subject",
	    api_subject_json(r->subject, strlen(r->subject)), "level", level_name(s->level),
	    "until", json_time(s->manual_until), "self_release", api_self_release(a, s, time_now())));
}

/* POST .../quarantine or .../release: parse, ask the judge, wait for the commit. */
static enum MHD_Result
api_action(struct api *a, struct api_request *r, const char *subject_text, bool quarantine)
{
	json_error_t jerr;
	json_t *body = NULL;
	const char *reason = NULL;
	int level = LEVEL_QUARANTINE;
	unsigned flags = 0;
	usec_t until = 0;
	struct subject *s;
	int rc;

	if (r->body_len > 0) {
		body = json_loadb(r->body, r->body_len, 0, &jerr);
		if (body == NULL || !json_is_object(body)) {
			json_decref(body);
			return api_error(r->conn, 400, "the body must be a JSON object");
		}
		json_t *v = json_object_get(body, "reason");
		if (v != NULL && !json_is_string(v) && !json_is_null(v))
			goto bad_reason;
		reason = json_string_value(v);
		if ((v = json_object_get(body, "for")) != NULL && !json_is_null(v)) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
			    json_integer_value(v) > 10LL * 365 * 86400) {
				json_decref(body);
				return api_error(r->conn, 400, "\"for\" must be a positive number of seconds");
			}
			until = time_now() + json_integer_value(v) * USEC_PER_SEC;
		}
		if ((v = json_object_get(body, "level")) != NULL && !json_is_null(v)) {
			level = json_is_string(v) ? level_parse(json_string_value(v)) : -1;
			if (level != LEVEL_QUARANTINE && level != LEVEL_SUSPEND && level != LEVEL_THROTTLE &&
			    level != LEVEL_WATCH) {
				json_decref(body);
				return api_error(r->conn, 400, "\"level\" must be watch, throttle, quarantine or suspend");
			}
		}
		if ((v = json_object_get(body, "self_release")) != NULL && !json_is_null(v)) {
			if (!json_is_boolean(v) || (json_is_true(v) && (!quarantine || level != LEVEL_QUARANTINE))) {
				json_decref(body);
				return api_error(r->conn, 400, "\"self_release\" is true or false, and true only for "
				    "a quarantine: the subscriber may then release it at the portal");
			}
			if (json_is_true(v))
				flags |= SUBJECT_MANUAL_SELF_RELEASE;
		}
	}
	if (reason != NULL && (strlen(reason) >= STORE_REASON_MAX - 64 || strpbrk(reason, "\r\n") != NULL)) {
	bad_reason:
		json_decref(body);
		return api_error(r->conn, 400, "\"reason\" must be one line of text");
	}
	if (quarantine && (reason == NULL || *reason == '\0')) {
		json_decref(body);
		return api_error(r->conn, 400, "a reason is required");
	}
	if (quarantine)
		s = judge_lookup_or_create(a->ctx.judge, subject_text, time_now());
	else
		s = judge_lookup(a->ctx.judge, subject_text);
	if (s == NULL) {
		json_decref(body);
		return api_error(r->conn, quarantine ? 400 : 404, quarantine ?
		    "not a subject: use an IPv4 or IPv6 address, the host prefix, or account:NAME" :
		    "no such subject");
	}
	memcpy(r->subject, s->key, s->key_len);
	r->subject[s->key_len] = '\0';
	if (quarantine)
		rc = judge_set_manual_flags(a->ctx.judge, s, level, until, flags, reason, "operator", api_committed, r);
	else
		rc = judge_release(a->ctx.judge, s, reason, "operator", api_committed, r);
	json_decref(body);
	if (rc != 0)
		return api_error(r->conn, 500, rc == -ENOMEM ? "out of memory" : "invalid request");
	if (r->committed)
		return api_action_answer(a, r);
	r->suspended = true;
	a->waiting++;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

/* The report is on disk (or could not be put there): wake the suspended request. */
static void
api_report_spooled(void *arg, int status, const char *name)
{
	struct api_request *r = arg;

	snprintf(r->spooled, sizeof(r->spooled), "%s", name);
	api_committed(r, status);
}

static enum MHD_Result
api_report_answer(struct api_request *r)
{
	if (r->status != 0)
		return api_error(r->conn, 503, "the report could not be written to the spool; send it again later");
	return api_json(r->conn, 202, json_pack("{s:s}", "spooled", r->spooled));
}

/*
 * POST /v1/reports[?source=NAME]: the body (a mail message, a CSV or JSON report) is
 * written to the spool and answered 202 once it is on disk; it is read after. 503 asks
 * the sender to come back (no spool, the disk, too many at once): `lazaretctl report`
 * then exits 75 and the MTA keeps the message.
 */
static enum MHD_Result
api_report(struct api *a, struct api_request *r)
{
	const char *source = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "source");
	int rc;

	if (a->ctx.reports == NULL)
		return api_error(r->conn, 503, "reports are not accepted here: [reports] directory is not set");
	if (source != NULL && *source != '\0' && !report_source_valid(source))
		return api_error(r->conn, 400, "source: a name of letters, digits, '_', '-' and '.' (not first), "
		    "up to 63, other than done and failed");
	if (r->body_len == 0)
		return api_error(r->conn, 400, "the body is the report: it is empty");
	r->report = true;
	rc = report_intake_submit(a->ctx.reports, source, r->body, r->body_len, api_report_spooled, r);
	if (rc == -EBUSY || rc == -ESHUTDOWN)
		return api_error(r->conn, 503, "too many reports at once; send it again later");
	if (rc != 0)
		return api_error(r->conn, rc == -ENOMEM ? 503 : 400, rc == -ENOMEM ? "out of memory" : "invalid report");
	if (r->committed)
		return api_report_answer(r);
	r->suspended = true;
	a->waiting++;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

/* The Unix socket needs no token; TCP always does (config_load refuses a listen without one). */
static bool
api_authorized(struct api *a, const struct api_listener *l, struct MHD_Connection *conn)
{
	const char *token = a->ctx.cfg->api.token;
	const char *h;
	size_t n = strlen(token);

	if (!l->token_required)
		return true;
	if (n == 0)
		return false;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != n)
		return false;
	unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(h[7 + i] ^ token[i]);
	return diff == 0;
}

/* Splits "/v1/subjects/SUBJECT[/ACTION]"; the subject may itself hold a '/' (an IPv6 prefix). */
static const char *
api_split_action(char *path)
{
	static const char *const actions[] = { "history", "quarantine", "release" };
	char *slash = strrchr(path, '/');

	if (slash == NULL)
		return "";
	for (size_t i = 0; i < 3; i++)
		if (strcmp(slash + 1, actions[i]) == 0) {
			*slash = '\0';
			return actions[i];
		}
	return "";
}

/* ---- who held an address when (the address history) ---- */

#define API_WHO_HISTORY 20

static json_t *
api_binding_json(const struct cidr *net, const char *subscriber, size_t len, const char *session,
    const char *origin, const char *source, usec_t from, usec_t until)
{
	char text[ADDR_TEXT_MAX];

	return json_pack("{s:s, s:o, s:o, s:o, s:s, s:o, s:o}",
	    "network", cidr_format(net, text, sizeof(text)),
	    "subscriber", api_subject_json(subscriber, len),
	    "session", json_text(session),
	    "nas", json_text(origin),
	    "source", source,
	    "from", json_time(from),
	    "until", until ? json_time(until) : json_null());
}

static int
api_who_each(void *arg, const struct store_binding *b)
{
	json_t *list = arg;

	return json_array_append_new(list, api_binding_json(&b->net, b->subscriber, b->subscriber_len, b->session,
	    b->origin, b->source, b->start, b->stop)) != 0 ? -ENOMEM : 0;
}

/* GET /v1/who?address=A[&at=TIME]: who held A then (now by default), and A's history. */
static enum MHD_Result
api_who(struct api *a, struct MHD_Connection *conn)
{
	char buf[128], tbuf[64];
	const char *text = api_arg(conn, "address", buf, sizeof(buf)), *at_text = api_arg(conn, "at", tbuf, sizeof(tbuf));
	struct addr addr;
	struct ident_holder h;
	usec_t at = time_now();

	if (a->ctx.ident == NULL)
		return api_error(conn, 404, "no identity source is configured ([radius] listen or [dhcp] lease_file): "
		    "addresses are the subjects");
	if (text == NULL || addr_parse(text, strlen(text), &addr) != 0)
		return api_error(conn, 400, "address= must be an IPv4 or IPv6 address");
	if (at_text != NULL && time_parse(at_text, &at) != 0)
		return api_error(conn, 400, "at= must be a UTC time like 2026-11-20T03:12:00Z or @SECONDS");
	int rc = ident_who(a->ctx.ident, &addr, at, &h);
	json_t *history = json_array();
	if (rc < 0 || history == NULL || ident_history(a->ctx.ident, &addr, API_WHO_HISTORY, api_who_each, history) != 0) {
		json_decref(history);
		return api_error(conn, 500, "the store cannot read the address history just now (see lazaretd's log)");
	}
	char atext[ADDR_TEXT_MAX];
	json_t *v = json_pack("{s:s, s:o, s:b, s:o, s:o}", "address", addr_format(&addr, atext, sizeof(atext)),
	    "at", json_time(at), "held", rc == 1,
	    "holder", rc == 1 ? api_binding_json(&h.net, h.subscriber, h.subscriber_len, h.session, h.origin,
	    ident_source_name(h.source), h.from, h.until) : json_null(),
	    "history", history);
	if (rc == 1) {
		char key[STORE_SUBJECT_MAX];
		snprintf(key, sizeof(key), SUBJECT_SUBSCRIBER_PREFIX "%.*s", (int)h.subscriber_len, h.subscriber);
		json_object_set_new(v, "subject", api_subject_json(key, strlen(key)));
	}
	return api_json(conn, 200, v);
}

static json_t *
api_usec_json(usec_t t)
{
	char buf[40];

	return t > 0 ? json_string(time_format(t, buf, sizeof(buf))) : json_null();
}

static void
api_node_add(void *arg, const struct shared_node *n)
{
	json_t *list = arg;

	json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:o, s:o, s:f, s:I, s:s}", "name", n->name,
	    "role", n->role, "version", n->version, "started", api_usec_json(n->started),
	    "last_contact", api_usec_json(n->last_contact), "last_contact_age", (double)n->age / 1e6,
	    "applied", (json_int_t)n->applied, "enforcing", n->enforcing));
}

/* GET /v1/nodes: the nodes sharing the store, as this node's last heartbeat read them. */
static enum MHD_Result
api_nodes(struct api *a, struct MHD_Connection *conn)
{
	struct shared_stats st;
	json_t *list;

	if (a->ctx.shared == NULL)
		return api_error(conn, 404, "this node's store is SQLite alone ([daemon] store): it shares it with no "
		    "other node");
	if ((list = json_array()) == NULL)
		return api_error(conn, 500, "out of memory");
	shared_stats_get(a->ctx.shared, &st);
	shared_nodes(a->ctx.shared, api_node_add, list);
	return api_json(conn, 200, json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "node",
	    shared_node_name(a->ctx.shared), "up", st.up, "newest", (json_int_t)st.newest,
	    "applied", (json_int_t)st.applied, "outbox", (json_int_t)st.outbox,
	    "live", (json_int_t)st.live_nodes, "nodes", list));
}

static enum MHD_Result
api_route(struct api *a, struct api_request *r, const char *url, const char *method)
{
	struct MHD_Connection *conn = r->conn;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;

	if (!api_authorized(a, r->l, conn))
		return api_error(conn, 401, "a valid bearer token is required");
	if (r->too_large)
		return api_error(conn, 413, "request body too large");
	if (strcmp(url, "/metrics") == 0)
		return get ? api_metrics(a, conn) : api_error(conn, 405, "use GET");
	if (strcmp(url, "/v1/stats") == 0)
		return get ? api_stats(a, conn) : api_error(conn, 405, "use GET");
	if (strcmp(url, "/v1/who") == 0)
		return get ? api_who(a, conn) : api_error(conn, 405, "use GET");
	if (strcmp(url, "/v1/nodes") == 0)
		return get ? api_nodes(a, conn) : api_error(conn, 405, "use GET");
	if (strcmp(url, "/v1/reports") == 0)
		return post ? api_report(a, r) : api_error(conn, 405, "use POST with the report as the body");
	if (strcmp(url, "/v1/subjects") == 0)
		return get ? api_list(a, conn) : api_error(conn, 405, "use GET");
	if (strcmp(url, "/v1/quarantine") == 0)
		return get ? api_quarantine_list(a, conn) : api_error(conn, 405,
		    "use GET; quarantine and release with POST /v1/subjects/SUBJECT/quarantine or .../release");
	if (strncmp(url, "/v1/subjects/", 13) != 0 || url[13] == '\0')
		return api_error(conn, 404, "no such endpoint");

	/*
	 * The path as sent: the action is split off first, then the subject decoded once, so
	 * an account name may hold any byte but NUL, '/' and '%' included ("%2F", "%25").
	 */
	char raw[SUBJECT_TEXT_SIZE(STORE_SUBJECT_MAX) + 32], subject[STORE_SUBJECT_MAX];
	if (strlen(url + 13) >= sizeof(raw))
		return api_error(conn, 404, "no such subject");
	strcpy(raw, url + 13);
	const char *action = api_split_action(raw);
	int drc = subject_text_decode(subject, sizeof(subject), NULL, raw, strlen(raw));
	if (drc == -ENOSPC)
		return api_error(conn, 404, "no such subject");
	if (drc != 0 || subject[0] == '\0')
		return api_error(conn, 400, "not a subject: a name holds no NUL byte (%00)");

	if (!strcmp(action, "quarantine") || !strcmp(action, "release")) {
		if (!post)
			return api_error(conn, 405, "use POST");
		return api_action(a, r, subject, action[0] == 'q');
	}
	if (!get)
		return api_error(conn, 405, "use GET");
	struct subject *s = judge_lookup(a->ctx.judge, subject);
	char key[STORE_SUBJECT_MAX];
	enum subject_kind kind;
	if (judge_normalize(a->ctx.judge, subject, key, sizeof(key), &kind) != 0)
		return api_error(conn, 400, "not a subject: use an IPv4 or IPv6 address, the host prefix, or account:NAME");
	if (!strcmp(action, "history")) {
		json_t *h = api_history(a, key, NULL);
		if (h == NULL)
			return api_error(conn, 500, API_HISTORY_UNREADABLE);
		return api_json(conn, 200, json_pack("{s:o, s:o}", "subject", api_subject_json(key, strlen(key)),
		    "history", h));
	}
	if (s == NULL) {
		/* Forgotten from memory but maybe with a past: show what history there is. */
		json_t *h = api_history(a, key, NULL);
		if (h == NULL)
			return api_error(conn, 500, API_HISTORY_UNREADABLE);
		if (json_array_size(h) == 0) {
			json_decref(h);
			return api_error(conn, 404, "no such subject: lazaret has seen nothing of it");
		}
		return api_json(conn, 200, json_pack("{s:o, s:s, s:s, s:f, s:o, s:[], s:o}", "subject",
		    api_subject_json(key, strlen(key)),
		    "kind", subject_kind_name(kind), "level", "normal", "score", 0.0,
		    "manual", json_null(), "evidence", "history", h));
	}
	bool unreadable;
	json_t *full = api_subject_full(a, s, time_now(), &unreadable);
	if (full == NULL && unreadable)
		return api_error(conn, 500, API_HISTORY_UNREADABLE);
	return api_json(conn, 200, full);
}

static enum MHD_Result
api_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct api_listener *l = cls;
	struct api *a = l->api;
	struct api_request *r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->api = a;
		r->l = l;
		r->conn = conn;
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t max = API_BODY_MAX;
		if (!strcmp(url, "/v1/reports") && a->ctx.reports != NULL)
			max = a->ctx.cfg->reports.max_size;
		if (httpd_body_append(&r->body, &r->body_len, upload, *upload_size, max, &r->too_large) != 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	httpd_request_received(&l->http, conn);
	if (r->committed)          /* resumed after the commit */
		return r->report ? api_report_answer(r) : api_action_answer(a, r);
	return api_route(a, r, url, method);
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct api_listener *l = cls;
	struct api_request *r = *con_cls;

	(void)toe;
	httpd_request_done(&l->http, conn);
	if (r == NULL)
		return;
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/*
 * libmicrohttpd decodes %XX in the path before we see it, and a decoded '/' (or NUL) can
 * no longer be told from the path's own: the path and the query arguments are kept as
 * sent, and api_route and api_arg decode what they take from them.
 */
static size_t
api_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

/* Reads a PEM file for MHD (which wants it in memory): a malloc'd string, or NULL with err set. */
static char *
api_read_pem(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t n;

	if (fp == NULL) {
		snprintf(err, errlen, "api %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(API_PEM_MAX + 1)) == NULL) {
		snprintf(err, errlen, "api: out of memory");
		goto done;
	}
	n = fread(buf, 1, API_PEM_MAX + 1, fp);
	if (ferror(fp) || n == 0 || n > API_PEM_MAX) {
		snprintf(err, errlen, "api %s %s: %s", what, path, ferror(fp) ? strerror(errno) :
		    n == 0 ? "empty" : "larger than 64 KiB");
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[n] = '\0';
done:
	fclose(fp);
	return buf;
}

/*
 * Makes the API's Unix socket at path, mode 0660, group gid: a socket left there by an
 * earlier run is replaced, anything else is refused, never removed. The socket is created
 * under a umask that leaves no moment in which others could connect. The descriptor, or
 * -1 with err set.
 */
static int
api_socket_open(const char *path, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "api socket %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "api socket %s: exists and is not a socket; not touching it", path);
			return -1;
		}
		if (unlink(path) != 0) {
			snprintf(err, errlen, "api socket %s: cannot remove the old socket: %s", path, strerror(errno));
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errlen, "api socket %s: %s", path, strerror(errno));
		return -1;
	}
	old = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "api socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0660) != 0 || listen(fd, 64) != 0) {
		snprintf(err, errlen, "api socket %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* The socket's group: socket_group, or else default_gid. 0, or -1 with err set. */
static int
api_socket_gid(const struct config *cfg, gid_t default_gid, gid_t *gid, char *err, size_t errlen)
{
	struct group *g;

	*gid = default_gid;
	if (cfg->api.socket_group[0] == '\0')
		return 0;
	if ((g = getgrnam(cfg->api.socket_group)) == NULL) {
		snprintf(err, errlen, "api socket_group: no group \"%s\"", cfg->api.socket_group);
		return -1;
	}
	*gid = g->gr_gid;
	return 0;
}

int
api_socket_bind(const struct config *cfg, gid_t default_gid, char *err, size_t errlen)
{
	gid_t gid;

	if (errlen > 0)
		err[0] = '\0';
	if (cfg->api.socket[0] == '\0' || api_socket_gid(cfg, default_gid, &gid, err, errlen) != 0)
		return -1;
	return api_socket_open(cfg->api.socket, gid, err, errlen);
}

/* Starts l's MHD on fd (the Unix socket) or on cfg's TCP address. 0, or -1 with err set. */
static int
api_listener_start(struct api *a, struct api_listener *l, int fd, char *err, size_t errlen)
{
	const struct config *cfg = a->ctx.cfg;
	const struct listen_addr *la = &cfg->api.listen;
	bool tls = fd < 0 && cfg->api.tls_cert[0] != '\0';
	char *cert = NULL, *key = NULL, name[160], why[128];
	struct sockaddr_storage ss;
	unsigned flags = HTTPD_FLAGS;
	struct MHD_Daemon *mhd;

	l->api = a;
	l->token_required = fd < 0;
	if (fd >= 0)
		snprintf(name, sizeof(name), "unix:%s", cfg->api.socket);
	else {
		listen_addr_format(la, name, sizeof(name));
		httpd_sockaddr(la, &ss, &flags);
	}
	if (tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "api listen %s: this libmicrohttpd has no TLS support", name);
			return -1;
		}
		if ((cert = api_read_pem("tls_cert", cfg->api.tls_cert, err, errlen)) == NULL ||
		    (key = api_read_pem("tls_key", cfg->api.tls_key, err, errlen)) == NULL) {
			free(cert);
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_CONNECTION_LIMIT, API_MAX_CONNECTIONS, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, fd >= 0 ? 0 : API_PER_IP_CONNECTIONS, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, 128 * 1024, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)api_completed, l },
		{ MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)api_unescape, l },
		{ fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR, fd, fd >= 0 ? NULL : &ss },
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, key },
		{ MHD_OPTION_END, 0, NULL },
	};

	httpd_init(&l->http, "api", API_REQUEST_TIMEOUT, &a->http_stats);
	mhd = MHD_start_daemon(flags, fd >= 0 ? 0 : la->port, NULL, NULL, api_handler, l,
	    HTTPD_OPTIONS(&l->http), MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	if (mhd == NULL || httpd_attach(&l->http, a->loop, mhd, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "api listen %s: %s", name, mhd == NULL ? (tls ?
		    "cannot start the HTTPS server (address in use, or tls_cert and tls_key unusable?)" :
		    "cannot start the HTTP server (address in use?)") : why);
		return -1;
	}
	l->open = true;
	if (fd >= 0)
		log_info("operator API listening on unix:%s (mode 0660, no token)", cfg->api.socket);
	else
		log_info("operator API listening on %s://%s/ (bearer token required)", tls ? "https" : "http", name);
	return 0;
}

static void api_listener_closed(void *arg);

struct api *
api_start(uv_loop_t *loop, const struct api_context *ctx, char *err, size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));
	const struct config *cfg = ctx->cfg;
	int fd = -1;
	gid_t gid;

	if (a == NULL) {
		snprintf(err, errlen, "api: out of memory");
		return NULL;
	}
	a->loop = loop;
	a->ctx = *ctx;
	config_ref(a->ctx.cfg);              /* dropped where a is freed */
	if (cfg->api.socket[0] != '\0') {
		if ((fd = ctx->socket_fd) < 0 && (api_socket_gid(cfg, getegid(), &gid, err, errlen) != 0 ||
		    (fd = api_socket_open(cfg->api.socket, gid, err, errlen)) < 0))
			goto fail;
		snprintf(a->socket_path, sizeof(a->socket_path), "%s", cfg->api.socket);
		if (api_listener_start(a, &a->sock, fd, err, errlen) != 0) {
			close(fd);
			goto fail;
		}
	}
	if (cfg->api.listen_set && api_listener_start(a, &a->tcp, -1, err, errlen) != 0)
		goto fail;
	return a;

fail:
	if (a->socket_path[0] != '\0')
		unlink(a->socket_path);
	if (a->sock.open) {
		/* Started, not yet polled by the loop: its handles close on the next turn. */
		a->closing = 1;
		httpd_close(&a->sock.http, api_listener_closed, &a->sock);
		return NULL;
	}
	config_unref(a->ctx.cfg);
	free(a);
	return NULL;
}

void
api_configure(struct api *a, const struct config *cfg)
{
	config_unref(a->ctx.cfg);
	a->ctx.cfg = config_ref(cfg);
}

void
api_set_portal(struct api *a, struct portal *p)
{
	a->ctx.portal = p;
}

unsigned
api_waiting(const struct api *a)
{
	return a->waiting;
}

static void
api_listener_closed(void *arg)
{
	struct api_listener *l = arg;
	struct api *a = l->api;

	if (--a->closing == 0) {
		config_unref(a->ctx.cfg);
		free(a);
	}
}

void
api_stop(struct api *a)
{
	struct stat st;

	if (a == NULL)
		return;
	/* Ours, unless someone put something else there since: that is left alone. */
	if (a->socket_path[0] != '\0' && lstat(a->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(a->socket_path);
	a->closing = (unsigned)a->sock.open + (unsigned)a->tcp.open;
	if (a->closing == 0) {
		config_unref(a->ctx.cfg);
		free(a);
		return;
	}
	if (a->sock.open)
		httpd_close(&a->sock.http, api_listener_closed, &a->sock);
	if (a->tcp.open)
		httpd_close(&a->tcp.http, api_listener_closed, &a->tcp);
}
