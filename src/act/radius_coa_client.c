/*
 * radius_coa_client.c — the RFC 5176 client on the libuv loop (see radius_coa.h): one
 * UDP socket per address family, requests waiting in a slot per NAS and Identifier,
 * retransmitted by a timer of their own with a doubling wait.
 */
#include "act/radius_coa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct radius_coa_client;

/* A request waiting for its answer; slot i of a NAS holds Identifier i. */
struct slot {
	struct radius_coa_client *c;
	uint32_t nas;
	uint8_t id;
	bool busy, timer_ready;
	uv_timer_t timer;
	uint8_t *pkt;
	uint16_t len;
	unsigned sends, sent_ok;         /* transmissions tried, and those the socket took */
	int last_error;
	radius_coa_done_fn done;
	void *arg;
};

struct nas {
	struct radius_nas_conf conf;
	struct sockaddr_storage sa;
	socklen_t salen;
	uint8_t next_id;
	struct radius_coa_nas_stats st;
	struct slot slots[RADIUS_COA_OUTSTANDING];
};

struct radius_coa_client {
	uv_loop_t *loop;
	struct radius_coa_conf conf;
	struct nas *nases;
	size_t n;
	uv_udp_t udp4, udp6;
	bool has4, has6, freed;
	unsigned open_handles;           /* handles to close before the memory goes */
	uint64_t unknown_source;
	uint8_t rbuf[RADIUS_COA_MAX_LEN + 1];
	struct log_limit drop_log;       /* dropped answers: anyone can send us datagrams */
};

static void
maybe_release(struct radius_coa_client *c)
{
	if (c->freed && c->open_handles == 0) {
		for (size_t i = 0; i < c->n; i++)
			explicit_bzero(c->nases[i].conf.secret, sizeof(c->nases[i].conf.secret));
		free(c->nases);
		free(c);
	}
}

static void
on_close(uv_handle_t *h)
{
	struct radius_coa_client *c = h->data;

	c->open_handles--;
	maybe_release(c);
}

static void
on_timer_close(uv_handle_t *h)
{
	struct slot *s = h->data;
	struct radius_coa_client *c = s->c;

	c->open_handles--;
	maybe_release(c);
}

static void
to_sockaddr(const struct addr *a, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		*len = sizeof(*sin6);
	}
}

/* The slot's request ends with outcome: its callback is called after the slot is free. */
static void
finish(struct slot *s, enum radius_coa_outcome outcome, const struct radius_coa_answer *ans)
{
	struct radius_coa_client *c = s->c;
	struct nas *nas = &c->nases[s->nas];
	struct radius_coa_result r = {
		.outcome = outcome, .nas = nas->conf.name, .code = s->pkt[0], .identifier = s->id,
		.sends = s->sends, .error = outcome == RADIUS_COA_OUTCOME_SEND_ERROR ? s->last_error : 0,
	};
	radius_coa_done_fn done = s->done;
	void *arg = s->arg;

	if (ans != NULL) {
		r.has_error_cause = ans->has_error_cause;
		r.error_cause = ans->error_cause;
	}
	switch (outcome) {
	case RADIUS_COA_OUTCOME_ACK: nas->st.acked++; break;
	case RADIUS_COA_OUTCOME_NAK:
		nas->st.naked++;
		nas->st.naked_by_cause[r.has_error_cause ? radius_coa_cause_index(r.error_cause) : 0]++;
		break;
	case RADIUS_COA_OUTCOME_TIMEOUT: nas->st.timed_out++; break;
	case RADIUS_COA_OUTCOME_SEND_ERROR: break;          /* each failed send is counted as it fails */
	case RADIUS_COA_OUTCOME_CANCELLED: break;
	}
	static const char *const outcomes[] = { "ack", "nak", "timeout", "send_error", "cancelled" };
	log_debug("radius_coa: nas=%s request=%s id=%u outcome=%s sends=%u error_cause=%u", nas->conf.name,
	    radius_coa_code_name(r.code), r.identifier, outcomes[outcome], r.sends, r.error_cause);
	if (s->timer_ready)
		uv_timer_stop(&s->timer);
	free(s->pkt);
	s->pkt = NULL;
	s->busy = false;
	nas->st.outstanding--;
	done(arg, &r);
}

static void
transmit(struct slot *s)
{
	struct radius_coa_client *c = s->c;
	struct nas *nas = &c->nases[s->nas];
	uv_buf_t b = uv_buf_init((char *)s->pkt, s->len);
	uv_udp_t *u = nas->conf.addr.family == AF_INET ? &c->udp4 : &c->udp6;
	int rc = uv_udp_try_send(u, &b, 1, (const struct sockaddr *)&nas->sa);

	s->sends++;
	if (s->sends > 1)
		nas->st.retransmitted++;
	if (rc < 0) {
		/* a full buffer or no route: counted, and tried again at the next retry like a lost datagram */
		nas->st.send_errors++;
		s->last_error = rc;
	} else
		s->sent_ok++;
}

static void
on_timer(uv_timer_t *t)
{
	struct slot *s = t->data;
	struct radius_coa_client *c = s->c;

	if (s->sends <= c->conf.retries) {
		transmit(s);
		uint64_t ms = c->conf.timeout / 1000;
		uv_timer_start(&s->timer, on_timer, (ms ? ms : 1) << (s->sends - 1 < 16 ? s->sends - 1 : 16), 0);
		return;
	}
	finish(s, s->sent_ok > 0 ? RADIUS_COA_OUTCOME_TIMEOUT : RADIUS_COA_OUTCOME_SEND_ERROR, NULL);
}

static void
drop(struct radius_coa_client *c, struct nas *nas, int rc, const struct sockaddr *from)
{
	struct addr a = { 0 };
	char text[ADDR_TEXT_MAX] = "?";

	if (nas != NULL)
		nas->st.dropped[-rc]++;
	else
		c->unknown_source++;
	if (addr_from_sockaddr(from, &a) == 0)
		addr_format(&a, text, sizeof(text));
	log_limited(&c->drop_log, LOG_LEVEL_INFO, "radius_coa: answer dropped nas=%s from=%s reason=%s",
	    nas != NULL ? nas->conf.name : "-", text, radius_coa_error_name(rc));
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct radius_coa_client *c = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void
on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
	struct radius_coa_client *c = u->data;
	struct radius_coa_answer ans;
	struct nas *nas = NULL;
	struct addr a;
	uint16_t port;
	int rc;

	if (nread < 0 || from == NULL)
		return;                      /* a read error, or nothing more to read */
	if (addr_from_sockaddr(from, &a) != 0)
		return;
	port = ntohs(from->sa_family == AF_INET ? ((const struct sockaddr_in *)from)->sin_port :
	    ((const struct sockaddr_in6 *)from)->sin6_port);
	for (size_t i = 0; i < c->n && nas == NULL; i++)
		if (addr_equal(&c->nases[i].conf.addr, &a) && c->nases[i].conf.port == port)
			nas = &c->nases[i];
	if (nas == NULL) {
		drop(c, NULL, -RADIUS_COA_E_SOURCE, from);
		return;
	}
	if (flags & UV_UDP_PARTIAL) {
		drop(c, nas, -RADIUS_COA_E_LENGTH, from);
		return;
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	if ((rc = radius_coa_answer_parse(p, (size_t)nread, &ans)) != 0) {
		drop(c, nas, rc, from);
		return;
	}
	struct slot *s = &nas->slots[ans.identifier];
	if (!s->busy) {
		drop(c, nas, -RADIUS_COA_E_IDENTIFIER, from);
		return;
	}
	if ((rc = radius_coa_answer_check(p, (size_t)nread, s->pkt, nas->conf.secret, nas->conf.secret_len,
	    &ans)) != 0) {
		drop(c, nas, rc, from);
		return;
	}
	finish(s, ans.code == RADIUS_COA_ACK || ans.code == RADIUS_DISCONNECT_ACK ? RADIUS_COA_OUTCOME_ACK :
	    RADIUS_COA_OUTCOME_NAK, &ans);
}

static int
open_udp(struct radius_coa_client *c, uv_udp_t *u, int family, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct addr any = { .family = family };
	socklen_t sl;
	int rc;

	if ((rc = uv_udp_init_ex(c->loop, u, (unsigned)family)) != 0) {
		snprintf(err, errlen, "radius coa: socket: %s", uv_strerror(rc));
		return rc;
	}
	u->data = c;
	c->open_handles++;
	to_sockaddr(c->conf.source.family == family ? &c->conf.source : &any, 0, &ss, &sl);
	if ((rc = uv_udp_bind(u, (const struct sockaddr *)&ss, family == AF_INET6 ? UV_UDP_IPV6ONLY : 0)) != 0 ||
	    (rc = uv_udp_recv_start(u, on_alloc, on_recv)) != 0) {
		char text[ADDR_TEXT_MAX] = "";
		addr_format(c->conf.source.family == family ? &c->conf.source : &any, text, sizeof(text));
		snprintf(err, errlen, "radius coa: bind %s: %s", text, uv_strerror(rc));
		return rc;
	}
	return 0;
}

struct radius_coa_client *
radius_coa_client_new(uv_loop_t *loop, const struct radius_coa_conf *conf, const struct radius_nas_conf *nases,
    size_t n, char *err, size_t errlen)
{
	struct radius_coa_client *c = calloc(1, sizeof(*c));

	if (c == NULL || (n > 0 && (c->nases = calloc(n, sizeof(*c->nases))) == NULL)) {
		snprintf(err, errlen, "radius coa: out of memory");
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->conf = *conf;
	c->n = n;
	c->drop_log = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	for (size_t i = 0; i < n; i++) {
		struct nas *nas = &c->nases[i];
		nas->conf = nases[i];
		if (nas->conf.port == 0)
			nas->conf.port = RADIUS_COA_PORT;
		if (nas->conf.ident == 0)
			nas->conf.ident = RADIUS_IDENT_ACCT_SESSION_ID | RADIUS_IDENT_NAS_IP;
		if (nas->conf.addr.family != AF_INET && nas->conf.addr.family != AF_INET6) {
			snprintf(err, errlen, "radius coa: nas %s: no address", nas->conf.name);
			goto fail;
		}
		to_sockaddr(&nas->conf.addr, nas->conf.port, &nas->sa, &nas->salen);
		for (unsigned k = 0; k < RADIUS_COA_OUTSTANDING; k++) {
			nas->slots[k].c = c;
			nas->slots[k].nas = (uint32_t)i;
			nas->slots[k].id = (uint8_t)k;
		}
		c->has4 |= nas->conf.addr.family == AF_INET;
		c->has6 |= nas->conf.addr.family == AF_INET6;
	}
	if (c->has4 && open_udp(c, &c->udp4, AF_INET, err, errlen) != 0)
		goto fail;
	if (c->has6 && open_udp(c, &c->udp6, AF_INET6, err, errlen) != 0)
		goto fail;
	return c;
fail:
	radius_coa_client_free(c);
	return NULL;
}

void
radius_coa_client_free(struct radius_coa_client *c)
{
	if (c == NULL)
		return;
	c->freed = true;
	for (size_t i = 0; i < c->n; i++)
		for (unsigned k = 0; k < RADIUS_COA_OUTSTANDING; k++) {
			struct slot *s = &c->nases[i].slots[k];
			if (s->busy)
				finish(s, RADIUS_COA_OUTCOME_CANCELLED, NULL);
			if (s->timer_ready) {
				c->open_handles++;
				uv_close((uv_handle_t *)&s->timer, on_timer_close);
			}
		}
	/* a socket opened, or half opened (initialised, not bound), is closed */
	if (c->has4 && c->udp4.data == c && !uv_is_closing((uv_handle_t *)&c->udp4))
		uv_close((uv_handle_t *)&c->udp4, on_close);
	if (c->has6 && c->udp6.data == c && !uv_is_closing((uv_handle_t *)&c->udp6))
		uv_close((uv_handle_t *)&c->udp6, on_close);
	maybe_release(c);
}

int
radius_coa_send(struct radius_coa_client *c, size_t nas_index, uint8_t code, const struct radius_session *sess,
    const struct radius_avp *avps, size_t navps, radius_coa_done_fn done, void *arg)
{
	uint8_t buf[RADIUS_COA_MAX_LEN];
	struct nas *nas;
	struct slot *s = NULL;
	int len;

	if (c->freed)
		return -ESHUTDOWN;
	if (nas_index >= c->n)
		return -ENOENT;
	nas = &c->nases[nas_index];
	/* the next free Identifier after the last one used: a late answer to an old request
	 * meets a slot long reused only when 256 requests passed meanwhile */
	for (unsigned k = 0; k < RADIUS_COA_OUTSTANDING; k++) {
		struct slot *t = &nas->slots[(uint8_t)(nas->next_id + k)];
		if (!t->busy) {
			s = t;
			break;
		}
	}
	if (s == NULL)
		return -EBUSY;
	len = radius_coa_build(code, s->id, nas->conf.ident, sess, avps, navps, nas->conf.message_authenticator,
	    nas->conf.secret, nas->conf.secret_len, buf, sizeof(buf));
	if (len < 0)
		return len;
	if ((s->pkt = malloc((size_t)len)) == NULL)
		return -ENOMEM;
	if (!s->timer_ready) {
		int rc = uv_timer_init(c->loop, &s->timer);
		if (rc != 0) {
			free(s->pkt);
			s->pkt = NULL;
			return rc;
		}
		s->timer.data = s;
		s->timer_ready = true;
	}
	memcpy(s->pkt, buf, (size_t)len);
	s->len = (uint16_t)len;
	s->busy = true;
	s->sends = s->sent_ok = 0;
	s->last_error = 0;
	s->done = done;
	s->arg = arg;
	nas->next_id = (uint8_t)(s->id + 1);
	nas->st.sent++;
	nas->st.outstanding++;
	transmit(s);
	uint64_t ms = c->conf.timeout / 1000;
	uv_timer_start(&s->timer, on_timer, ms ? ms : 1, 0);
	return 0;
}

int
radius_coa_apply(struct radius_coa_client *c, size_t nas_index, bool release, const struct radius_session *s,
    radius_coa_done_fn done, void *arg)
{
	const struct radius_nas_conf *nc;

	if (nas_index >= c->n)
		return -ENOENT;
	nc = &c->nases[nas_index].conf;
	if (nc->disconnect)
		return radius_coa_send(c, nas_index, RADIUS_DISCONNECT_REQUEST, s, NULL, 0, done, arg);
	return radius_coa_send(c, nas_index, RADIUS_COA_REQUEST, s, release ? nc->release : nc->quarantine,
	    release ? nc->nrelease : nc->nquarantine, done, arg);
}

int
radius_coa_nas_index(const struct radius_coa_client *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->nases[i].conf.name, name) == 0)
			return (int)i;
	return -1;
}

bool
radius_coa_nas(const struct radius_coa_client *c, size_t i, const char **name, const struct radius_coa_nas_stats **st)
{
	if (i >= c->n)
		return false;
	*name = c->nases[i].conf.name;
	*st = &c->nases[i].st;
	return true;
}

uint64_t
radius_coa_unknown_source(const struct radius_coa_client *c)
{
	return c->unknown_source;
}
