/*
 * radius_server.c — see radius_server.h.
 */
#include "sense/radius_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"

/* A request answered lately, to know its retransmissions. */
struct recent {
	uint32_t client;                 /* 1 + the client's index; 0: empty */
	uint16_t port;
	uint8_t identifier;
	uint8_t authenticator[16];
	usec_t seen;
};

struct radius_server {
	struct radius_client_conf *clients;
	struct radius_client_stats *cstats;
	size_t nclients;
	radius_request_fn fn;
	void *arg;
	struct recent recent[RADIUS_SERVER_DUPLICATES];
	struct radius_server_stats stats;
	struct log_limit drop_log;       /* dropped datagrams: outsiders choose how many */
};

const char *
radius_status_name(unsigned i)
{
	static const char *const names[9] = { "other", "start", "stop", "interim", NULL, NULL, NULL,
		"accounting_on", "accounting_off" };

	return i < 9 ? names[i] : NULL;
}

const char *
radius_drop_name(int reason)
{
	return reason == RADIUS_DROP_UNKNOWN_CLIENT ? "unknown_client" : radius_error_name(-reason);
}

int
radius_server_set_clients(struct radius_server *rs, const struct radius_client_conf *clients, size_t n)
{
	struct radius_client_conf *c = n ? malloc(n * sizeof(*c)) : NULL;
	struct radius_client_stats *st = n ? calloc(n, sizeof(*st)) : NULL;

	if (n > 0 && (c == NULL || st == NULL)) {
		free(c);
		free(st);
		return -ENOMEM;
	}
	if (n > 0)
		memcpy(c, clients, n * sizeof(*c));
	/* a client of the same name keeps its counts */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < rs->nclients; k++)
			if (strcmp(rs->clients[k].name, c[i].name) == 0)
				st[i] = rs->cstats[k];
	if (rs->clients != NULL)
		explicit_bzero(rs->clients, rs->nclients * sizeof(*rs->clients));     /* the old secrets */
	free(rs->clients);
	free(rs->cstats);
	rs->clients = c;
	rs->cstats = st;
	rs->nclients = n;
	memset(rs->recent, 0, sizeof(rs->recent));      /* indexes of the old client list */
	return 0;
}

struct radius_server *
radius_server_new(const struct radius_client_conf *clients, size_t n, radius_request_fn fn, void *arg)
{
	struct radius_server *rs = calloc(1, sizeof(*rs));

	if (rs == NULL)
		return NULL;
	rs->fn = fn;
	rs->arg = arg;
	rs->drop_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	if (radius_server_set_clients(rs, clients, n) != 0) {
		free(rs);
		return NULL;
	}
	return rs;
}

void
radius_server_free(struct radius_server *rs)
{
	if (rs == NULL)
		return;
	if (rs->clients != NULL)
		explicit_bzero(rs->clients, rs->nclients * sizeof(*rs->clients));
	free(rs->clients);
	free(rs->cstats);
	free(rs);
}

/* The client a datagram from a comes from: the most specific network holding it. */
static long
client_of(const struct radius_server *rs, const struct addr *a)
{
	long best = -1;

	for (size_t i = 0; i < rs->nclients; i++)
		if (cidr_contains(&rs->clients[i].net, a) &&
		    (best < 0 || rs->clients[i].net.prefix > rs->clients[best].net.prefix))
			best = (long)i;
	return best;
}

/* The table entry of this request's key; *dup when it is a retransmission of one answered lately. */
static struct recent *
recent_slot(struct radius_server *rs, size_t client, const struct udprecv_peer *from, const struct radius_packet *p,
    usec_t now, bool *dup)
{
	uint8_t key[8] = { (uint8_t)(client >> 24), (uint8_t)(client >> 16), (uint8_t)(client >> 8), (uint8_t)client,
	    (uint8_t)(from->port >> 8), (uint8_t)from->port, p->identifier, 0 };
	struct recent *r = &rs->recent[hash_bytes(key, sizeof(key)) % RADIUS_SERVER_DUPLICATES];

	*dup = r->client == client + 1 && r->port == from->port && r->identifier == p->identifier &&
	    memcmp(r->authenticator, p->authenticator, 16) == 0 && now - r->seen < RADIUS_SERVER_DUPLICATE_AGE &&
	    now >= r->seen;
	return r;
}

static void
dropped(struct radius_server *rs, long client, const struct udprecv_peer *from, int reason)
{
	char who[ADDR_TEXT_MAX];

	if (client >= 0)
		rs->cstats[client].dropped[reason]++;
	log_limited(&rs->drop_log, LOG_LEVEL_WARN, "radius: datagram from %s port %u%s%s dropped reason=%s",
	    addr_format(&from->addr, who, sizeof(who)), from->port, client >= 0 ? " client=" : "",
	    client >= 0 ? rs->clients[client].name : "", radius_drop_name(reason));
}

int
radius_server_handle(struct radius_server *rs, const struct udprecv_peer *from, const uint8_t *buf, size_t len,
    usec_t now, uint8_t answer[RADIUS_HEADER_LEN])
{
	struct radius_packet p;
	long ci;
	int rc;

	rs->stats.datagrams++;
	if ((ci = client_of(rs, &from->addr)) < 0) {
		rs->stats.unknown_client++;
		dropped(rs, -1, from, RADIUS_DROP_UNKNOWN_CLIENT);
		return 0;
	}
	const struct radius_client_conf *c = &rs->clients[ci];
	struct radius_client_stats *st = &rs->cstats[ci];
	if ((rc = radius_parse(buf, len, &p)) != 0) {
		dropped(rs, ci, from, -rc);
		return 0;
	}
	if (p.code != RADIUS_ACCOUNTING_REQUEST) {
		dropped(rs, ci, from, RADIUS_E_CODE);
		return 0;
	}
	if (!radius_acct_verify(buf, &p, c->secret, c->secret_len)) {
		dropped(rs, ci, from, RADIUS_E_AUTHENTICATOR);
		return 0;
	}
	bool dup;
	struct recent *r = recent_slot(rs, (size_t)ci, from, &p, now, &dup);
	st->requests++;
	radius_acct_response(&p, c->secret, c->secret_len, answer);
	if (dup) {
		st->duplicates++;
		return 1;
	}
	*r = (struct recent){ .client = (uint32_t)ci + 1, .port = from->port, .identifier = p.identifier, .seen = now };
	memcpy(r->authenticator, p.authenticator, 16);
	st->by_status[p.acct_status_type < 9 ? p.acct_status_type : 0]++;
	rs->fn(rs->arg, c->name, &p, from, now);
	return 1;
}

void
radius_server_datagram(void *arg, const struct udprecv_peer *from, const uint8_t *buf, size_t len, usec_t now)
{
	struct radius_listener *l = arg;
	uint8_t answer[RADIUS_HEADER_LEN];

	if (radius_server_handle(l->rs, from, buf, len, now, answer) != 1)
		return;
	if (udprecv_reply(l->u, from, answer, sizeof(answer)) == 0)
		l->rs->stats.answered++;
	else
		l->rs->stats.answer_errors++;     /* the NAS sends again; the answer is made again */
}

const struct radius_server_stats *
radius_server_stats(const struct radius_server *rs)
{
	return &rs->stats;
}

bool
radius_server_client(const struct radius_server *rs, size_t i, const char **name, const struct radius_client_stats **st)
{
	if (i >= rs->nclients)
		return false;
	*name = rs->clients[i].name;
	*st = &rs->cstats[i];
	return true;
}
