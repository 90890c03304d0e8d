/*
 * coa.c — quarantine on the NAS by CoA or Disconnect (coa.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "act/coa.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"
#include "common/subject_text.h"

#define COA_SESSIONS_MAX 16            /* networks of one subscriber looked at per change */

/* A subscriber's newest outcome. */
struct status_entry {
	struct htable_node node;
	struct coa_status st;
	uint16_t len;
	char id[];
};

struct coa {
	const struct config *cfg;
	struct judge *judge;
	struct ident *ident;
	struct store *st;
	struct radius_coa_client *client;
	struct radius_nas_conf *nases;     /* as the client has them (names, addresses) */
	size_t nas_count;
	struct htable statuses;
	struct coa_stats stats;
	struct log_limit no_nas_log;
	usec_t last_resend;                /* when coa_resend last looked */
};

/* One request on its way: what its outcome is reported against. */
struct request {
	struct coa *c;
	bool release;
	char nas[64];
	char session[STORE_SESSION_MAX];
	uint16_t len;
	char id[];
};

static const struct {
	const char *name;
	unsigned bit;
} ident_names[] = {
	{ "Acct-Session-Id", RADIUS_IDENT_ACCT_SESSION_ID },
	{ "User-Name", RADIUS_IDENT_USER_NAME },
	{ "Framed-IP-Address", RADIUS_IDENT_FRAMED_IP },
	{ "Framed-IPv6-Prefix", RADIUS_IDENT_FRAMED_IPV6_PREFIX },
	{ "Calling-Station-Id", RADIUS_IDENT_CALLING_STATION_ID },
	{ "NAS-IP-Address", RADIUS_IDENT_NAS_IP },
	{ "NAS-Identifier", RADIUS_IDENT_NAS_IDENTIFIER },
};

const char *
coa_state_name(enum coa_state s)
{
	static const char *const names[] = { "none", "pending", "acked", "naked", "failed" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

/* "Acct-Session-Id NAS-IP-Address" into bits; -1 with err naming the word. */
static int
parse_identify(const char *text, unsigned *bits, char *err, size_t errlen)
{
	char copy[CONFIG_TEXT_MAX], *save = NULL;

	*bits = 0;
	snprintf(copy, sizeof(copy), "%s", text);
	for (char *w = strtok_r(copy, " \t,", &save); w != NULL; w = strtok_r(NULL, " \t,", &save)) {
		size_t i;
		for (i = 0; i < sizeof(ident_names) / sizeof(ident_names[0]); i++)
			if (strcmp(w, ident_names[i].name) == 0)
				break;
		if (i == sizeof(ident_names) / sizeof(ident_names[0])) {
			snprintf(err, errlen, "\"%s\" is not one of Acct-Session-Id, User-Name, Framed-IP-Address, "
			    "Framed-IPv6-Prefix, Calling-Station-Id, NAS-IP-Address, NAS-Identifier", w);
			return -1;
		}
		*bits |= ident_names[i].bit;
	}
	return 0;
}

/* The client's NAS list from cfg, attributes read against the dictionary; NULL with
 * "file:line: ..." in err. *dictp is the dictionary (the caller frees it). */
static struct radius_nas_conf *
build_nases(const struct config *cfg, struct radius_dict **dictp, char *err, size_t errlen)
{
	const struct config_radius *r = &cfg->radius;
	struct radius_dict *d = radius_dict_new();
	struct radius_nas_conf *nases = calloc(r->nas_count + 1, sizeof(*nases));
	char why[512];

	*dictp = d;
	if (d == NULL || nases == NULL) {
		snprintf(err, errlen, "radius: out of memory");
		goto fail;
	}
	if (r->dictionary[0] != '\0' && radius_dict_load(d, r->dictionary, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: [radius] dictionary: %s", cfg->path, why);
		goto fail;
	}
	for (size_t i = 0; i < r->nas_count; i++) {
		const struct radius_nas_section *s = &r->nases[i];
		struct radius_nas_conf *n = &nases[i];
		snprintf(n->name, sizeof(n->name), "%s", s->name);
		n->addr = s->address;
		n->port = s->port;
		memcpy(n->secret, s->secret, s->secret_len);
		n->secret_len = s->secret_len;
		n->disconnect = s->disconnect;
		n->message_authenticator = s->message_authenticator;
		if (parse_identify(s->identify, &n->ident, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%d: [radius nas %s] identify: %s", cfg->path, s->identify_line, s->name, why);
			goto fail;
		}
		for (int q = 0; q < 2; q++) {
			const struct radius_avp_line *lines = q ? s->release : s->quarantine;
			size_t count = q ? s->release_count : s->quarantine_count;
			struct radius_avp *avps = q ? n->release : n->quarantine;
			for (size_t k = 0; k < count && k < RADIUS_COA_AVPS_MAX; k++)
				if (radius_dict_avp_parse(d, lines[k].text, &avps[k], why, sizeof(why)) != 0) {
					snprintf(err, errlen, "%s:%d: [radius nas %s] %s: %s", cfg->path, lines[k].line, s->name,
					    q ? "release" : "quarantine", why);
					goto fail;
				}
			if (q)
				n->nrelease = count;
			else
				n->nquarantine = count;
		}
	}
	return nases;
fail:
	if (nases != NULL)
		explicit_bzero(nases, (r->nas_count + 1) * sizeof(*nases));
	free(nases);
	return NULL;
}

int
coa_check(const struct config *cfg, char *err, size_t errlen)
{
	struct radius_dict *d;
	struct radius_nas_conf *n = build_nases(cfg, &d, err, errlen);

	radius_dict_free(d);
	if (n == NULL)
		return -1;
	explicit_bzero(n, (cfg->radius.nas_count + 1) * sizeof(*n));
	free(n);
	return 0;
}

struct coa *
coa_new(uv_loop_t *loop, const struct config *cfg, struct judge *j, struct ident *id, struct store *st, char *err,
    size_t errlen)
{
	struct coa *c = calloc(1, sizeof(*c));
	struct radius_dict *d = NULL;
	struct radius_coa_conf conf = { .retries = cfg->radius.coa_retries, .timeout = cfg->radius.coa_timeout };

	if (c == NULL || htable_init(&c->statuses, 256) != 0) {
		snprintf(err, errlen, "radius: out of memory");
		free(c);
		return NULL;
	}
	if ((c->nases = build_nases(cfg, &d, err, errlen)) == NULL)
		goto fail;
	radius_dict_free(d);
	d = NULL;
	c->nas_count = cfg->radius.nas_count;
	if ((c->client = radius_coa_client_new(loop, &conf, c->nases, c->nas_count, err, errlen)) == NULL)
		goto fail;
	/* the client has its own copy of the secrets */
	for (size_t i = 0; i < c->nas_count; i++)
		explicit_bzero(c->nases[i].secret, sizeof(c->nases[i].secret));
	c->cfg = config_ref(cfg);
	c->judge = j;
	c->ident = id;
	c->st = st;
	c->no_nas_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	return c;
fail:
	radius_dict_free(d);
	htable_fini(&c->statuses);
	if (c->nases != NULL)
		explicit_bzero(c->nases, (cfg->radius.nas_count + 1) * sizeof(*c->nases));
	free(c->nases);
	free(c);
	return NULL;
}

void
coa_free(struct coa *c)
{
	size_t cursor = 0;
	struct htable_node *n;

	if (c == NULL)
		return;
	radius_coa_client_free(c->client);     /* outstanding requests end CANCELLED, now */
	while ((n = htable_iter(&c->statuses, &cursor, NULL)) != NULL) {
		htable_del(&c->statuses, n);
		free(htable_entry(n, struct status_entry, node));
	}
	htable_fini(&c->statuses);
	free(c->nases);
	config_unref(c->cfg);
	free(c);
}

static struct status_entry *
status_find(const struct coa *c, const char *id, size_t len)
{
	uint32_t h = (uint32_t)hash_bytes(id, len);

	for (struct htable_node *n = htable_first(&c->statuses, h); n != NULL; n = htable_next(n, h)) {
		struct status_entry *e = htable_entry(n, struct status_entry, node);
		if (e->len == len && memcmp(e->id, id, len) == 0)
			return e;
	}
	return NULL;
}

static void
status_set(struct coa *c, const char *id, size_t len, const struct coa_status *st)
{
	struct status_entry *e = status_find(c, id, len);

	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e) + len)) == NULL)
			return;
		e->len = (uint16_t)len;
		memcpy(e->id, id, len);
		e->node.hash = (uint32_t)hash_bytes(id, len);
		htable_add(&c->statuses, &e->node);
	}
	e->st = *st;
}

bool
coa_status(const struct coa *c, const char *subscriber, size_t len, struct coa_status *out)
{
	const struct status_entry *e = status_find(c, subscriber, len);

	if (e == NULL)
		return false;
	*out = e->st;
	return true;
}

/* The NAS a session belongs to: by NAS-IP-Address, else by the NAS part of its origin
 * ("client/NAS": a NAS-Identifier, or the NAS-IP-Address as text); -1 for none. */
static int
nas_of(const struct coa *c, const struct ident_holder *h)
{
	const char *slash = strchr(h->origin, '/');
	const char *nas = slash != NULL ? slash + 1 : "";
	char text[ADDR_TEXT_MAX];

	for (size_t i = 0; i < c->nas_count; i++) {
		const struct radius_nas_section *s = &c->cfg->radius.nases[i];
		if (h->nas.family != 0 && addr_equal(&h->nas, &s->address))
			return (int)i;
		if (*nas != '\0' && (strcmp(nas, s->identifier[0] ? s->identifier : s->name) == 0 ||
		    strcmp(nas, addr_format(&s->address, text, sizeof(text))) == 0))
			return (int)i;
	}
	return -1;
}

static void
record(struct coa *c, const struct request *rq, const char *what)
{
	char key[STORE_SUBJECT_MAX], name[SUBJECT_TEXT_SIZE(STORE_SUBSCRIBER_MAX)];
	const struct subject *s;

	subject_text_encode(name, sizeof(name), rq->id, rq->len);
	snprintf(key, sizeof(key), SUBJECT_SUBSCRIBER_PREFIX "%.*s", (int)rq->len, rq->id);
	s = judge_lookup(c->judge, key);
	int level = s != NULL ? s->level : LEVEL_NORMAL;
	log_info("coa subscriber=%s level=%s nas=%s session=%s reason=\"%s\"", name, level_name(level), rq->nas,
	    rq->session, what);
	if (c->st != NULL) {
		struct store_history h = { .time = time_now(), .old_level = level, .new_level = level };
		snprintf(h.subject, sizeof(h.subject), "%s", key);
		snprintf(h.actor, sizeof(h.actor), "coa");
		snprintf(h.reason, sizeof(h.reason), "%s (NAS %s, session %s)", what, rq->nas, rq->session);
		if (store_history_append(c->st, &h) != 0)
			log_warnx("coa subscriber=%s: the history entry could not be queued", name);
	}
}

static void
on_done(void *arg, const struct radius_coa_result *r)
{
	struct request *rq = arg;
	struct coa *c = rq->c;
	struct coa_status st = { .release = rq->release, .time = time_now() };
	char what[200];
	const char *req = radius_coa_code_name(r->code);

	if (r->outcome == RADIUS_COA_OUTCOME_CANCELLED) {      /* lazaretd stops: nothing to record */
		free(rq);
		return;
	}
	snprintf(st.nas, sizeof(st.nas), "%s", rq->nas);
	switch (r->outcome) {
	case RADIUS_COA_OUTCOME_ACK:
		st.state = COA_STATE_ACKED;
		snprintf(what, sizeof(what), "%s for %s acknowledged", req, rq->release ? "the release" : "the quarantine");
		break;
	case RADIUS_COA_OUTCOME_NAK: {
		const char *cause = r->has_error_cause ? radius_error_cause_name(r->error_cause) : NULL;
		st.state = COA_STATE_NAKED;
		st.error_cause = r->has_error_cause ? r->error_cause : 0;
		if (r->has_error_cause)
			snprintf(what, sizeof(what), "%s for %s refused: %s (%u)", req, rq->release ? "the release" :
			    "the quarantine", cause != NULL ? cause : "Error-Cause", (unsigned)r->error_cause);
		else
			snprintf(what, sizeof(what), "%s for %s refused, no Error-Cause", req, rq->release ? "the release" :
			    "the quarantine");
		break;
	}
	default:
		st.state = COA_STATE_FAILED;
		if (r->outcome == RADIUS_COA_OUTCOME_TIMEOUT)
			snprintf(what, sizeof(what), "%s for %s: no answer after %u sends", req, rq->release ? "the release" :
			    "the quarantine", r->sends);
		else
			snprintf(what, sizeof(what), "%s for %s could not be sent: %s", req, rq->release ? "the release" :
			    "the quarantine", strerror(-r->error));
		break;
	}
	status_set(c, rq->id, rq->len, &st);
	record(c, rq, what);
	free(rq);
}

/* Tells the NAS of one session that subscriber id is quarantined (or released). */
static void
tell(struct coa *c, const char *id, size_t len, const struct ident_holder *h, int nas, bool release)
{
	const struct radius_nas_section *sec = &c->cfg->radius.nases[nas];
	struct radius_session s = { .nas_ip = sec->address };
	const char *nas_id = sec->identifier[0] ? sec->identifier : sec->name;
	struct request *rq = calloc(1, sizeof(*rq) + len);

	if (rq == NULL)
		return;
	rq->c = c;
	rq->release = release;
	rq->len = (uint16_t)len;
	memcpy(rq->id, id, len);
	snprintf(rq->nas, sizeof(rq->nas), "%s", sec->name);
	snprintf(rq->session, sizeof(rq->session), "%s", h->session[0] ? h->session : "-");
	s.acct_session_id = (struct strview){ h->session, strlen(h->session) };
	s.nas_identifier = (struct strview){ nas_id, strlen(nas_id) };
	if (c->cfg->radius.subscriber_id == RADIUS_ID_USER_NAME)
		s.user_name = (struct strview){ rq->id, rq->len };
	else if (c->cfg->radius.subscriber_id == RADIUS_ID_CALLING_STATION_ID)
		s.calling_station_id = (struct strview){ rq->id, rq->len };
	if (h->net.addr.family == AF_INET && h->net.prefix == 32)
		s.framed_ip = h->net.addr;
	else if (h->net.addr.family == AF_INET6) {
		s.has_framed_ipv6_prefix = true;
		s.framed_ipv6_prefix = h->net;
	}
	int rc = radius_coa_apply(c->client, (size_t)nas, release, &s, on_done, rq);
	if (rc != 0) {
		c->stats.refused++;
		char what[160];
		snprintf(what, sizeof(what), "%s not sent: %s", release ? "the release" : "the quarantine",
		    rc == -ENODATA ? "the session has none of the attributes the NAS finds sessions by" : strerror(-rc));
		struct coa_status st = { .state = COA_STATE_FAILED, .release = release, .time = time_now() };
		snprintf(st.nas, sizeof(st.nas), "%s", sec->name);
		status_set(c, id, len, &st);
		record(c, rq, what);
		free(rq);
		return;
	}
	c->stats.requests++;
	struct coa_status st = { .state = COA_STATE_PENDING, .release = release, .time = time_now() };
	snprintf(st.nas, sizeof(st.nas), "%s", sec->name);
	status_set(c, id, len, &st);
}

/* Every session subscriber id holds now, once each (its networks share a session). */
static void
tell_all(struct coa *c, const char *id, size_t len, bool release)
{
	struct ident_holder *h = calloc(COA_SESSIONS_MAX, sizeof(*h));
	size_t n;

	if (h == NULL)
		return;
	n = ident_holdings(c->ident, id, len, h, COA_SESSIONS_MAX);
	if (n > COA_SESSIONS_MAX)
		n = COA_SESSIONS_MAX;
	if (n == 0)
		c->stats.no_session++;
	for (size_t i = 0; i < n; i++) {
		int nas = nas_of(c, &h[i]);
		bool told = false;
		for (size_t k = 0; k < i && !told; k++)
			told = strcmp(h[k].session, h[i].session) == 0 && strcmp(h[k].origin, h[i].origin) == 0;
		if (told)
			continue;
		if (nas < 0) {
			char name[SUBJECT_TEXT_SIZE(64)];
			c->stats.no_nas++;
			subject_text_encode(name, sizeof(name), id, len < 64 ? len : 64);
			log_limited(&c->no_nas_log, LOG_LEVEL_WARN, "coa subscriber=%s nas=%s reason=no_nas: no [radius nas] "
			    "section for this session's NAS; not told", name, h[i].origin);
			continue;
		}
		tell(c, id, len, &h[i], nas, release);
	}
	free(h);
}

void
coa_start(struct coa *c)
{
	size_t cursor = 0;
	struct subject *s;

	for (s = judge_notable_next(c->judge, &cursor, NULL); s != NULL; s = judge_notable_next(c->judge, &cursor, s))
		if (s->kind == SUBJECT_SUBSCRIBER && s->level >= LEVEL_QUARANTINE)
			tell_all(c, s->key + SUBJECT_SUBSCRIBER_PREFIX_LEN, s->key_len - SUBJECT_SUBSCRIBER_PREFIX_LEN, false);
}

void
coa_level_changed(struct coa *c, const struct subject *s, int old_level, int new_level)
{
	bool was = old_level >= LEVEL_QUARANTINE, is = new_level >= LEVEL_QUARANTINE;

	if (c == NULL || s->kind != SUBJECT_SUBSCRIBER || was == is)
		return;
	tell_all(c, s->key + SUBJECT_SUBSCRIBER_PREFIX_LEN, s->key_len - SUBJECT_SUBSCRIBER_PREFIX_LEN, !is);
}

void
coa_holder_changed(struct coa *c, const char *subscriber, size_t len, const struct cidr *net, bool held)
{
	char key[STORE_SUBJECT_MAX];
	struct ident_holder *h;

	if (c == NULL || !held || len > JUDGE_SUBSCRIBER_MAX)
		return;
	snprintf(key, sizeof(key), SUBJECT_SUBSCRIBER_PREFIX "%.*s", (int)len, subscriber);
	const struct subject *s = judge_lookup(c->judge, key);
	if (s == NULL || s->level < LEVEL_QUARANTINE)
		return;
	if ((h = calloc(COA_SESSIONS_MAX, sizeof(*h))) == NULL)
		return;
	size_t n = ident_holdings(c->ident, subscriber, len, h, COA_SESSIONS_MAX);
	if (n > COA_SESSIONS_MAX)
		n = COA_SESSIONS_MAX;
	size_t i;
	for (i = 0; i < n; i++)
		if (h[i].net.prefix == net->prefix && addr_equal(&h[i].net.addr, &net->addr))
			break;
	/* a session's first network only: the NAS changes the session, not each address of it (a
	 * Start with an IPv4 address and a delegated prefix is told once, at its first) */
	bool first = i < n;
	for (size_t k = 0; first && k < n; k++)
		if (k != i && strcmp(h[k].session, h[i].session) == 0 && strcmp(h[k].origin, h[i].origin) == 0)
			first = false;
	if (first) {
		int nas = nas_of(c, &h[i]);
		if (nas < 0)
			c->stats.no_nas++;
		else
			tell(c, subscriber, len, &h[i], nas, false);
	}
	free(h);
}

#define COA_RESEND_BATCH 1024          /* subscribers told again per look, at most */

void
coa_resend(struct coa *c, usec_t now)
{
	usec_t every = c != NULL ? c->cfg->radius.coa_resend : 0;
	struct { char id[JUDGE_SUBSCRIBER_MAX]; uint16_t len; bool release; } *again;
	size_t n = 0, cursor = 0;
	const struct htable_node *node = NULL;
	char key[STORE_SUBJECT_MAX];

	if (c == NULL || every <= 0 || now - c->last_resend < (every < 60 * USEC_PER_SEC ? every : 60 * USEC_PER_SEC))
		return;
	c->last_resend = now;
	if ((again = calloc(COA_RESEND_BATCH, sizeof(*again))) == NULL)
		return;
	/* who, first: telling changes the statuses being walked */
	while (n < COA_RESEND_BATCH && (node = htable_iter(&c->statuses, &cursor, node)) != NULL) {
		const struct status_entry *e = (const struct status_entry *)node;
		if (e->st.state != COA_STATE_FAILED || now - e->st.time < every || e->len > JUDGE_SUBSCRIBER_MAX)
			continue;
		memcpy(again[n].id, e->id, e->len);
		again[n].len = e->len;
		again[n].release = e->st.release;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), SUBJECT_SUBSCRIBER_PREFIX "%.*s", (int)again[i].len, again[i].id);
		const struct subject *s = judge_lookup(c->judge, key);
		bool quarantined = s != NULL && s->level >= LEVEL_QUARANTINE;
		/* only what the level still asks for: a release since is the release's to tell */
		if (quarantined == again[i].release)
			continue;
		c->stats.resent++;
		tell_all(c, again[i].id, again[i].len, again[i].release);
	}
	free(again);
}

const struct radius_coa_client *
coa_client(const struct coa *c)
{
	return c->client;
}

void
coa_stats_get(const struct coa *c, struct coa_stats *out)
{
	*out = c->stats;
}
