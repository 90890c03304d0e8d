/*
 * radius_acct.c — see radius_acct.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/subject_text.h"
#include "common/udprecv.h"
#include "sense/radius_acct.h"


struct radius_acct {
	const struct config *cfg;
	struct radius_server *rs;
	struct ident *ident;
	struct radius_listener listeners[CONFIG_MAX_RADIUS_LISTEN];
	int fds[CONFIG_MAX_RADIUS_LISTEN];
	size_t count;
	struct radius_acct_stats stats;
	struct log_limit bad_log;
};

/* The configured clients as the server takes them; NULL on ENOMEM (n 0: a valid empty list). */
static struct radius_client_conf *
clients_of(const struct config *cfg, size_t *n)
{
	struct radius_client_conf *c = calloc(cfg->radius.client_count + 1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->radius.client_count; i++) {
		const struct radius_client_section *s = &cfg->radius.clients[i];
		snprintf(c[i].name, sizeof(c[i].name), "%s", s->name);
		c[i].net = s->net;
		memcpy(c[i].secret, s->secret, s->secret_len);
		c[i].secret_len = s->secret_len;
	}
	*n = cfg->radius.client_count;
	return c;
}

static void
on_request(void *arg, const char *client, const struct radius_packet *p, const struct udprecv_peer *from, usec_t now)
{
	struct radius_acct *ra = arg;
	char sid[SUBJECT_TEXT_SIZE(64)];

	(void)from;
	if (ra->ident == NULL)
		return;
	int rc = ident_radius(ra->ident, ra->cfg->radius.subscriber_id, client, p, now);
	if (rc > 0) {
		ra->stats.applied++;
		return;
	}
	if (p->acct_status_type == RADIUS_STATUS_ON || p->acct_status_type == RADIUS_STATUS_OFF) {
		ra->stats.applied++;
		log_info("radius: client=%s status=%s: every session of this NAS ended", client,
		    p->acct_status_type == RADIUS_STATUS_ON ? "Accounting-On" : "Accounting-Off");
		return;
	}
	if (rc == -EINVAL) {
		ra->stats.no_subscriber++;
		log_limited(&ra->bad_log, LOG_LEVEL_WARN, "radius: client=%s reason=no_subscriber: a request without "
		    "the %s attribute ([radius] subscriber_id) is not applied", client,
		    ra->cfg->radius.subscriber_id == RADIUS_ID_CALLING_STATION_ID ? "Calling-Station-Id" :
		    ra->cfg->radius.subscriber_id == RADIUS_ID_NAS_PORT_ID ? "NAS-Port-Id" : "User-Name");
	} else if (p->acct_status_type >= RADIUS_STATUS_START && p->acct_status_type <= RADIUS_STATUS_INTERIM) {
		ra->stats.no_address++;
		subject_text_encode(sid, sizeof(sid), p->user_name.ptr, p->user_name.len < 64 ? p->user_name.len : 64);
		log_limited(&ra->bad_log, LOG_LEVEL_INFO, "radius: client=%s user=%s reason=no_address: no "
		    "Framed-IP-Address or IPv6 prefix in the request", client, sid);
	}
}

struct radius_acct *
radius_acct_new(const struct config *cfg, char *err, size_t errlen)
{
	struct radius_acct *ra = calloc(1, sizeof(*ra));
	struct radius_client_conf *clients = NULL;
	size_t n = 0;

	if (ra == NULL || (clients = clients_of(cfg, &n)) == NULL ||
	    (ra->rs = radius_server_new(clients, n, on_request, ra)) == NULL) {
		snprintf(err, errlen, "radius: out of memory");
		free(clients);
		radius_acct_free(ra);
		return NULL;
	}
	explicit_bzero(clients, n * sizeof(*clients));
	free(clients);
	ra->cfg = config_ref(cfg);
	ra->bad_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	ra->count = cfg->radius.listen_count;
	for (size_t i = 0; i < ra->count; i++)
		ra->fds[i] = -1;
	return ra;
}

int
radius_acct_bind(struct radius_acct *ra, char *err, size_t errlen)
{
	char why[256];

	for (size_t i = 0; i < ra->count; i++)
		if (ra->fds[i] < 0 &&
		    (ra->fds[i] = udprecv_open(&ra->cfg->radius.listen[i], (int)ra->cfg->radius.receive_buffer, why,
		    sizeof(why))) < 0) {
			snprintf(err, errlen, "radius: %s", why);
			return -1;
		}
	return 0;
}

/* A batch of datagrams read: the identity table's entries for their addresses are asked
 * for before the first is checked and applied (the lookups of a million subscribers'
 * table wait on memory, not the CPU). */
static void
radius_batch(void *arg, const uint8_t *const *bufs, const size_t *lens, unsigned n)
{
	struct radius_acct *ra = arg;

	if (ra->ident != NULL)
		ident_radius_prefetch(ra->ident, bufs, lens, n);
}

int
radius_acct_start(struct radius_acct *ra, uv_loop_t *loop, struct ident *id, char *err, size_t errlen)
{
	char name[128];

	ra->ident = id;
	for (size_t i = 0; i < ra->count; i++) {
		ra->listeners[i].rs = ra->rs;
		if ((ra->listeners[i].u = udprecv_start(loop, ra->fds[i], radius_server_datagram, &ra->listeners[i], err,
		    errlen)) == NULL)
			return -1;
		udprecv_set_batch(ra->listeners[i].u, radius_batch, ra);
		ra->fds[i] = -1;
		log_info("radius: accounting on %s (UDP) for %zu clients", listen_addr_format(&ra->cfg->radius.listen[i],
		    name, sizeof(name)), ra->cfg->radius.client_count);
	}
	return 0;
}

int
radius_acct_configure(struct radius_acct *ra, const struct config *cfg)
{
	size_t n = 0;
	struct radius_client_conf *clients = clients_of(cfg, &n);

	if (clients == NULL)
		return -ENOMEM;
	int rc = radius_server_set_clients(ra->rs, clients, n);
	explicit_bzero(clients, n * sizeof(*clients));
	free(clients);
	if (rc != 0)
		return rc;
	config_unref(ra->cfg);
	ra->cfg = config_ref(cfg);
	return 0;
}

void
radius_acct_stop(struct radius_acct *ra)
{
	if (ra == NULL)
		return;
	for (size_t i = 0; i < ra->count; i++) {
		if (ra->listeners[i].u != NULL)
			udprecv_stop(ra->listeners[i].u);
		ra->listeners[i].u = NULL;
	}
}

void
radius_acct_free(struct radius_acct *ra)
{
	if (ra == NULL)
		return;
	for (size_t i = 0; i < ra->count; i++)
		if (ra->fds[i] >= 0)
			close(ra->fds[i]);
	radius_server_free(ra->rs);
	config_unref(ra->cfg);
	free(ra);
}

const struct radius_server *
radius_acct_server(const struct radius_acct *ra)
{
	return ra->rs;
}

const struct radius_acct_stats *
radius_acct_stats(const struct radius_acct *ra)
{
	return &ra->stats;
}

bool
radius_acct_listener(const struct radius_acct *ra, size_t i, struct listen_addr *la, struct udprecv_stats *st)
{
	if (i >= ra->count)
		return false;
	*la = ra->cfg->radius.listen[i];
	if (ra->listeners[i].u != NULL)
		*st = *udprecv_stats(ra->listeners[i].u);
	else
		memset(st, 0, sizeof(*st));
	return true;
}
