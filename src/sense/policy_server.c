/*
 * policy_server.c — libuv plumbing for the policy service; the protocol is in
 * policy.c and the decisions through the decide callback.
 */
#include "sense/policy_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"

#define POLICY_READ_CHUNK  16384          /* the shared read buffer */
#define POLICY_READ_ROOM   1024           /* grow a partial request's buffer below this much room */
#define POLICY_BUF_LIMIT   POLICY_MAX_REQUEST   /* the framer refuses a longer request */
#define POLICY_WRITE_LIMIT (256 * 1024)   /* stop reading a peer that does not read its answers */
/* lines a peer can cause: at most this many per kind and minute, then a count */
#define POLICY_LOG_BURST   10
#define POLICY_LOG_WINDOW  (60 * USEC_PER_SEC)

const double policy_latency_bounds_us[POLICY_LATENCY_BUCKETS - 1] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000,
};

/* A listener's or a connection's libuv handle: TCP or a Unix socket. */
union policy_handle {
	uv_tcp_t tcp;
	uv_pipe_t pipe;
	uv_stream_t stream;
	uv_handle_t handle;
};

struct policy_listener {
	union policy_handle h;
	struct policy_server *ps;
	struct listen_addr addr;
	bool open;
};

/* Connections open from one TCP peer address. */
struct policy_peer {
	struct htable_node node;       /* node.hash: the keyed hash of its address */
	struct addr addr;
	uint32_t conns;
};

struct policy_conn {
	union policy_handle h;
	struct policy_server *ps;
	struct policy_conn *prev, *next;
	struct policy_conn *pprev, *pnext;   /* the list of connections with a partial request */
	struct policy_peer *from;      /* NULL for unix sockets */
	char peer[ADDR_TEXT_MAX + 8];
	uint8_t *buf;                  /* a partial request; NULL when there is none */
	size_t len, cap;
	usec_t last_active;            /* monotonic */
	usec_t request_start;          /* monotonic: the first byte of the partial request */
	bool closing;
	bool reading;
	bool eof;                      /* the peer half-closed */
	bool partial;                  /* on the partial list */
};

struct policy_write {
	uv_write_t req;
	struct policy_conn *conn;
	size_t len;
	char data[];
};

struct policy_server {
	uv_loop_t *loop;
	policy_decide_fn decide;
	void *decide_arg;
	const struct config *cfg;
	struct policy_listener listeners[CONFIG_MAX_LISTEN];
	size_t listener_count;
	struct policy_conn *conns;
	struct policy_conn *partial;   /* connections with a partial request */
	struct htable peers;           /* struct policy_peer, while it has connections */
	size_t buf_charged;            /* partial-request bytes beyond POLICY_BUF_SMALL each */
	uv_timer_t idle_timer;
	uv_timer_t deadline_timer;
	bool timer_open;
	uv_prepare_t clock_prepare;    /* before each poll: the clocks below are stale */
	uv_check_t latency_check;      /* after each poll's callbacks: answers_pending are out */
	bool clock_open;
	bool clock_fresh;
	usec_t wall_now;               /* the time decisions are taken at, this iteration */
	usec_t mono_now;               /* when this iteration's first request was read */
	unsigned answers_pending;      /* answered in this iteration, latency not yet counted */
	struct policy_stats stats;
	struct log_limit log_malformed, log_denied, log_peer_cap, log_full, log_deadline, log_buffers,
	    log_accept, log_debug;
	uint8_t rbuf[POLICY_READ_CHUNK];   /* every connection reads here (see policy_server.h) */
};

struct policy_server *
policy_server_new(uv_loop_t *loop, policy_decide_fn decide, void *arg, const struct config *cfg)
{
	struct policy_server *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	if (htable_init(&ps->peers, 1024) != 0) {
		free(ps);
		return NULL;
	}
	ps->loop = loop;
	ps->decide = decide;
	ps->decide_arg = arg;
	config_unref(ps->cfg);
	ps->cfg = config_ref(cfg);
	struct log_limit *limits[] = { &ps->log_malformed, &ps->log_denied, &ps->log_peer_cap, &ps->log_full,
	    &ps->log_deadline, &ps->log_buffers, &ps->log_accept, &ps->log_debug };
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		*limits[i] = (struct log_limit)LOG_LIMIT_INIT(POLICY_LOG_BURST, POLICY_LOG_WINDOW);
	return ps;
}

/* How often partial requests are checked against request_timeout: a quarter of it, at
 * most a second, so a connection is closed at most that late. */
static uint64_t
policy_deadline_tick_ms(const struct config *cfg)
{
	uint64_t ms = cfg->policy.request_timeout / 4 / 1000;

	return ms < 100 ? 100 : ms > 1000 ? 1000 : ms;
}

void
policy_server_configure(struct policy_server *ps, const struct config *cfg)
{
	config_unref(ps->cfg);
	ps->cfg = config_ref(cfg);
	if (ps->timer_open)
		uv_timer_set_repeat(&ps->deadline_timer, policy_deadline_tick_ms(cfg));
}

const struct policy_stats *
policy_server_stats(const struct policy_server *ps)
{
	return &ps->stats;
}

static size_t
policy_buf_over(size_t cap)
{
	return cap > POLICY_BUF_SMALL ? cap - POLICY_BUF_SMALL : 0;
}

/*
 * conn_buf_resize — c's partial-request buffer becomes ncap bytes (more than c->len),
 * within POLICY_BUF_SMALL for free and beyond that from the budget all connections
 * share. false, with the buffer as it was, when the budget or memory says no.
 */
static bool
conn_buf_resize(struct policy_conn *c, size_t ncap)
{
	struct policy_server *ps = c->ps;
	size_t was = policy_buf_over(c->cap), will = policy_buf_over(ncap);
	uint8_t *nb;

	if (will > was && ps->buf_charged + (will - was) > POLICY_BUF_BUDGET)
		return false;
	if ((nb = realloc(c->buf, ncap)) == NULL)
		return false;
	ps->buf_charged = ps->buf_charged + will - was;
	ps->stats.buffer_bytes = ps->stats.buffer_bytes + ncap - c->cap;
	c->buf = nb;
	c->cap = ncap;
	return true;
}

static void
conn_buf_free(struct policy_conn *c)
{
	struct policy_server *ps = c->ps;

	ps->buf_charged -= policy_buf_over(c->cap);
	ps->stats.buffer_bytes -= c->cap;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

/* c has a partial request from now on (its first byte came at start); on the list the
 * deadline timer walks. */
static void
conn_partial_begin(struct policy_conn *c, usec_t start)
{
	struct policy_server *ps = c->ps;

	c->request_start = start;
	if (c->partial)
		return;
	c->partial = true;
	c->pprev = NULL;
	c->pnext = ps->partial;
	if (ps->partial != NULL)
		ps->partial->pprev = c;
	ps->partial = c;
}

static void
conn_partial_end(struct policy_conn *c)
{
	struct policy_server *ps = c->ps;

	if (!c->partial)
		return;
	if (c->pprev != NULL)
		c->pprev->pnext = c->pnext;
	else
		ps->partial = c->pnext;
	if (c->pnext != NULL)
		c->pnext->pprev = c->pprev;
	c->partial = false;
	c->pprev = c->pnext = NULL;
}

/* The address of a TCP peer; an IPv4-mapped IPv6 address as the IPv4 one. 0 or -1. */
static int
policy_peer_addr(const struct sockaddr_storage *ss, struct addr *a)
{
	return addr_from_sockaddr((const struct sockaddr *)(const void *)ss, a);
}

/*
 * policy_peer_get — the connection count of address a, created at 0 when missing;
 * NULL on ENOMEM. Called once per accepted TCP connection, never per request.
 */
static struct policy_peer *
policy_peer_get(struct policy_server *ps, const struct addr *a)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	uint32_t h = (uint32_t)hash_bytes(a->bytes, n);     /* peers choose their addresses */
	struct policy_peer *p;

	for (struct htable_node *x = htable_first(&ps->peers, h); x != NULL; x = htable_next(x, h)) {
		p = htable_entry(x, struct policy_peer, node);
		if (p->addr.family == a->family && memcmp(p->addr.bytes, a->bytes, n) == 0)
			return p;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->addr = *a;
	p->node.hash = h;
	htable_add(&ps->peers, &p->node);
	return p;
}

/* One connection fewer from p; forgotten at none. */
static void
policy_peer_put(struct policy_server *ps, struct policy_peer *p)
{
	if (--p->conns > 0)
		return;
	htable_del(&ps->peers, &p->node);
	free(p);
}

static void
conn_closed(uv_handle_t *h)
{
	struct policy_conn *c = h->data;
	struct policy_server *ps = c->ps;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ps->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	ps->stats.connections_open--;
	if (c->from != NULL)
		policy_peer_put(ps, c->from);
	conn_buf_free(c);
	free(c);
}

static void
conn_close(struct policy_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	conn_partial_end(c);
	uv_close(&c->h.handle, conn_closed);
}

/*
 * Where the next read goes: the shared buffer when c has no partial request (the
 * read callback answers what it can from there and keeps only the rest), else the end
 * of c's partial request, its buffer grown (by doubling) when room runs short. No room
 * at all (the budget is spent) makes libuv report UV_ENOBUFS to conn_read.
 */
static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct policy_conn *c = h->data;

	(void)suggested;
	if (c->len == 0) {
		out->base = (char *)c->ps->rbuf;
		out->len = sizeof(c->ps->rbuf);
		return;
	}
	if (c->cap - c->len < POLICY_READ_ROOM && c->cap < POLICY_BUF_LIMIT)
		conn_buf_resize(c, c->cap * 2 < POLICY_BUF_LIMIT ? c->cap * 2 : POLICY_BUF_LIMIT);
	out->base = (char *)c->buf + c->len;
	out->len = c->cap - c->len;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void
conn_written(uv_write_t *req, int status)
{
	struct policy_write *w = (struct policy_write *)req;
	struct policy_conn *c = w->conn;

	free(w);
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (!c->closing && !c->eof && !c->reading && uv_stream_get_write_queue_size(&c->h.stream) < POLICY_WRITE_LIMIT / 2) {
		c->reading = true;
		uv_read_start(&c->h.stream, conn_alloc, conn_read);
	}
}

/* Sends out[0..len): directly when the socket takes it, queued otherwise. */
static int
conn_send(struct policy_conn *c, const char *out, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)(uintptr_t)out, (unsigned)len);
	int n = 0;

	if (uv_stream_get_write_queue_size(&c->h.stream) == 0) {
		n = uv_try_write(&c->h.stream, &b, 1);
		if (n == (int)len)
			return 0;
		if (n < 0 && n != UV_EAGAIN)
			return n;
		if (n < 0)
			n = 0;
	}
	struct policy_write *w = malloc(sizeof(*w) + len - (size_t)n);
	if (w == NULL)
		return UV_ENOMEM;
	w->conn = c;
	w->len = len - (size_t)n;
	memcpy(w->data, out + n, w->len);
	b = uv_buf_init(w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, &c->h.stream, &b, 1, conn_written);
	if (rc != 0) {
		free(w);
		return rc;
	}
	if (uv_stream_get_write_queue_size(&c->h.stream) > POLICY_WRITE_LIMIT && c->reading) {
		uv_read_stop(&c->h.stream);
		c->reading = false;
	}
	return 0;
}

/* Counts n answers that each took us microseconds from their request being read. */
static void
policy_observe_latency(struct policy_server *ps, usec_t us, unsigned n)
{
	size_t i;

	for (i = 0; i < POLICY_LATENCY_BUCKETS - 1; i++)
		if ((double)us <= policy_latency_bounds_us[i])
			break;
	ps->stats.latency_bucket[i] += n;
	ps->stats.latency_count += n;
	ps->stats.latency_sum_us += (double)us * n;
}

static void
policy_clock_stale(uv_prepare_t *p)
{
	struct policy_server *ps = p->data;

	ps->clock_fresh = false;
}

/*
 * The clocks are read once per loop iteration, by its first request (the prepare
 * handle marks them stale before each poll), not once per request: every request of
 * one iteration arrived in the same poll, at relay rates an iteration lasts well
 * under a millisecond, and rate limits count in seconds. Under load that is one pair
 * of clock reads for dozens of requests.
 */
static void
policy_clock_read(struct policy_server *ps)
{
	if (ps->clock_fresh)
		return;
	ps->wall_now = time_now();
	ps->mono_now = time_mono();
	ps->clock_fresh = ps->clock_open;
}

/*
 * After the iteration's callbacks: every answer it made has been handed to the kernel,
 * so each took at most from the poll's return to now. That bound is what the latency
 * histogram counts — it includes the time a request waited while the loop answered
 * other connections first, which is what a Postfix smtpd process waits too — with one
 * clock read per iteration instead of one per answer.
 */
static void
policy_latency_observe(uv_check_t *chk)
{
	struct policy_server *ps = chk->data;

	if (ps->answers_pending == 0)
		return;
	policy_observe_latency(ps, time_mono() - ps->mono_now, ps->answers_pending);
	ps->answers_pending = 0;
}

/*
 * Answers every whole request in buf[0..len) and sets *used to the bytes they took;
 * false when the connection must close. Each request is framed and parsed in one pass.
 * Answers are sent together, a batch per read (Postfix sends one request at a time: a
 * batch of one); their latency is counted when the loop iteration ends
 * (policy_latency_observe).
 */
static bool
conn_process(struct policy_conn *c, const uint8_t *buf, size_t len, size_t *used)
{
	struct policy_server *ps = c->ps;
	char out[8 * POLICY_ANSWER_MAX];
	size_t out_len = 0, off = 0;
	usec_t now = ps->wall_now;
	bool keep = true;

	*used = 0;
	while (off < len) {
		size_t req_len;
		struct policy_request req;
		int rc = policy_frame_parse(buf + off, len - off, &req_len, &req);

		if (rc == 0)
			break;
		if (rc < 0) {
			ps->stats.malformed++;
			log_limited(&ps->log_malformed, LOG_LEVEL_WARN, "policy peer=%s: malformed request (%s); closing "
			    "the connection without an answer", c->peer, policy_strerror(rc));
			keep = false;
			break;
		}
		size_t alen;
		enum policy_action act = ps->decide(ps->decide_arg, &req, now, out + out_len, &alen);
		out_len += alen;
		off += req_len;
		ps->answers_pending++;
		ps->stats.requests[req.protocol_state][act]++;
		if (sizeof(out) - out_len < POLICY_ANSWER_MAX) {
			if (conn_send(c, out, out_len) != 0)
				return false;
			out_len = 0;
		}
	}
	if (out_len > 0 && conn_send(c, out, out_len) != 0)
		return false;
	*used = off;
	return keep;
}

/* Partial-request buffers are spent (POLICY_BUF_BUDGET): c goes. */
static void
conn_buffers_spent(struct policy_conn *c, size_t want)
{
	struct policy_server *ps = c->ps;

	ps->stats.buffer_refused++;
	log_limited(&ps->log_buffers, LOG_LEVEL_WARN, "policy peer=%s: partial requests hold %zu bytes, no room for "
	    "%zu more; closing the connection", c->peer, ps->stats.buffer_bytes, want);
	conn_close(c);
}

static void
conn_shut(uv_shutdown_t *req, int status)
{
	struct policy_conn *c = req->handle->data;

	(void)status;
	free(req);
	conn_close(c);
}

static void
conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct policy_conn *c = s->data;

	if (nread == UV_ENOBUFS) {
		conn_buffers_spent(c, POLICY_READ_ROOM);
		return;
	}
	if (nread < 0) {
		uv_shutdown_t *req;
		if (nread != UV_EOF)
			log_limited(&c->ps->log_debug, LOG_LEVEL_DEBUG, "policy peer=%s: %s", c->peer,
			    uv_strerror((int)nread));
		/* The peer is done sending: let queued answers go out, then close. */
		if (nread == UV_EOF && uv_stream_get_write_queue_size(s) > 0 &&
		    (req = malloc(sizeof(*req))) != NULL) {
			uv_read_stop(s);
			c->reading = false;
			c->eof = true;
			if (uv_shutdown(req, s, conn_shut) == 0)
				return;
			free(req);
		}
		conn_close(c);
		return;
	}
	if (nread == 0)
		return;
	struct policy_server *ps = c->ps;
	size_t used;
	policy_clock_read(ps);
	c->last_active = ps->mono_now;
	if (buf->base == (char *)ps->rbuf) {
		/* no partial request before: keep only what is left of one */
		size_t rest;
		if (!conn_process(c, ps->rbuf, (size_t)nread, &used)) {
			conn_close(c);
			return;
		}
		if ((rest = (size_t)nread - used) == 0)
			return;
		size_t cap = POLICY_BUF_SMALL;
		while (cap < rest)
			cap *= 2;
		if (!conn_buf_resize(c, cap)) {
			conn_buffers_spent(c, cap);
			return;
		}
		memcpy(c->buf, ps->rbuf + used, rest);
		c->len = rest;
		conn_partial_begin(c, ps->mono_now);
		return;
	}
	c->len += (size_t)nread;
	if (!conn_process(c, c->buf, c->len, &used)) {
		conn_close(c);
		return;
	}
	if (used == c->len) {
		conn_partial_end(c);
		conn_buf_free(c);
	} else if (used > 0) {
		/* what is left began in this read */
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		conn_partial_begin(c, ps->mono_now);
	} else if (c->len >= POLICY_BUF_LIMIT) {
		/* policy_frame refuses oversized requests before this */
		log_limited(&ps->log_buffers, LOG_LEVEL_WARN, "policy peer=%s: request buffer full; closing the "
		    "connection", c->peer);
		conn_close(c);
	}
}

/*
 * Accepts one connection. A TCP peer outside [policy] allow, or over
 * max_connections_per_peer, or any peer over max_connections, is closed at once,
 * counted and logged through its rate limit; nothing is read from it.
 */
static void
listener_accept(uv_stream_t *server, int status)
{
	struct policy_listener *l = server->data;
	struct policy_server *ps = l->ps;
	struct policy_conn *c;
	int rc;

	if (status < 0) {
		log_limited(&ps->log_accept, LOG_LEVEL_WARN, "policy: accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_limited(&ps->log_accept, LOG_LEVEL_WARN, "policy: out of memory accepting a connection");
		return;
	}
	c->ps = ps;
	if (l->addr.kind == LISTEN_TCP)
		rc = uv_tcp_init(ps->loop, &c->h.tcp);
	else
		rc = uv_pipe_init(ps->loop, &c->h.pipe, 0);
	if (rc != 0) {
		free(c);
		return;
	}
	c->h.handle.data = c;
	c->next = ps->conns;
	if (ps->conns != NULL)
		ps->conns->prev = c;
	ps->conns = c;
	ps->stats.connections_open++;
	ps->stats.connections_total++;
	if ((rc = uv_accept(server, &c->h.stream)) != 0) {
		conn_close(c);
		return;
	}
	if (l->addr.kind == LISTEN_TCP) {
		struct sockaddr_storage ss;
		int sl = sizeof(ss);
		char host[ADDR_TEXT_MAX] = "?";
		struct addr a;
		uv_tcp_nodelay(&c->h.tcp, 1);
		if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &sl) != 0 || policy_peer_addr(&ss, &a) != 0) {
			conn_close(c);          /* gone already, or nothing we can check */
			return;
		}
		addr_format(&a, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), a.family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
		    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port));
		if (!config_policy_peer_allowed(ps->cfg, &a)) {
			ps->stats.denied++;
			log_limited(&ps->log_denied, LOG_LEVEL_WARN, "policy peer=%s: not in [policy] allow; closing the "
			    "connection (%llu so far)", c->peer, (unsigned long long)ps->stats.denied);
			conn_close(c);
			return;
		}
		if ((c->from = policy_peer_get(ps, &a)) == NULL) {
			log_limited(&ps->log_accept, LOG_LEVEL_WARN, "policy: out of memory accepting a connection");
			conn_close(c);
			return;
		}
		c->from->conns++;
		if (c->from->conns > ps->cfg->policy.max_connections_per_peer) {
			ps->stats.peer_refused++;
			log_limited(&ps->log_peer_cap, LOG_LEVEL_WARN, "policy peer=%s: over max_connections_per_peer=%u "
			    "from this address; closing (%llu refused so far)", c->peer,
			    ps->cfg->policy.max_connections_per_peer, (unsigned long long)ps->stats.peer_refused);
			conn_close(c);
			return;
		}
	} else
		snprintf(c->peer, sizeof(c->peer), "unix");
	if (ps->stats.connections_open > ps->cfg->policy.max_connections) {
		ps->stats.connections_refused++;
		log_limited(&ps->log_full, LOG_LEVEL_WARN, "policy peer=%s: over max_connections=%u; closing (%llu "
		    "refused so far)", c->peer, ps->cfg->policy.max_connections,
		    (unsigned long long)ps->stats.connections_refused);
		conn_close(c);
		return;
	}
	c->last_active = time_mono();
	c->reading = true;
	uv_read_start(&c->h.stream, conn_alloc, conn_read);
}

static void
policy_idle_check(uv_timer_t *t)
{
	struct policy_server *ps = t->data;
	usec_t now = time_mono();

	for (struct policy_conn *c = ps->conns; c != NULL; c = c->next) {
		if (!c->closing && now - c->last_active > ps->cfg->policy.idle_timeout) {
			ps->stats.idle_closed++;
			log_limited(&ps->log_debug, LOG_LEVEL_DEBUG, "policy peer=%s: idle for longer than idle_timeout; "
			    "closing", c->peer);
			conn_close(c);
		}
	}
}

/* Closes the connections whose partial request is older than request_timeout. */
static void
policy_deadline_check(uv_timer_t *t)
{
	struct policy_server *ps = t->data;
	usec_t now = time_mono();
	char d[32];

	for (struct policy_conn *c = ps->partial, *next; c != NULL; c = next) {
		next = c->pnext;
		if (now - c->request_start < ps->cfg->policy.request_timeout)
			continue;
		ps->stats.request_timeouts++;
		log_limited(&ps->log_deadline, LOG_LEVEL_WARN, "policy peer=%s: request not whole within "
		    "request_timeout=%s (%zu bytes); closing the connection", c->peer,
		    duration_format(ps->cfg->policy.request_timeout, d, sizeof(d)), c->len);
		conn_close(c);
	}
}

static int
listener_open(struct policy_server *ps, struct policy_listener *l, char *err, size_t errlen)
{
	char name[128];
	int rc;

	listen_addr_format(&l->addr, name, sizeof(name));
	l->ps = ps;
	if (l->addr.kind == LISTEN_TCP) {
		struct sockaddr_storage ss;
		if (strchr(l->addr.host, ':'))
			rc = uv_ip6_addr(l->addr.host, l->addr.port, (struct sockaddr_in6 *)&ss);
		else
			rc = uv_ip4_addr(l->addr.host, l->addr.port, (struct sockaddr_in *)&ss);
		if (rc == 0)
			rc = uv_tcp_init(ps->loop, &l->h.tcp);
		if (rc == 0) {
			l->open = true;
			rc = uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss,
			    strchr(l->addr.host, ':') ? UV_TCP_IPV6ONLY : 0);
		}
	} else {
		struct stat st;
		/* A socket left behind by an earlier run; never remove anything else. */
		if (lstat(l->addr.path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(l->addr.path);
		rc = uv_pipe_init(ps->loop, &l->h.pipe, 0);
		if (rc == 0) {
			l->open = true;
			rc = uv_pipe_bind(&l->h.pipe, l->addr.path);
		}
		if (rc == 0)
			chmod(l->addr.path, 0660);
	}
	l->h.handle.data = l;
	if (rc == 0)
		rc = uv_listen(&l->h.stream, 1024, listener_accept);
	if (rc != 0) {
		snprintf(err, errlen, "policy listen %s: %s", name, uv_strerror(rc));
		return -1;
	}
	log_info("policy service listening on %s", name);
	return 0;
}

int
policy_server_start(struct policy_server *ps, char *err, size_t errlen)
{
	for (size_t i = 0; i < ps->cfg->policy.listen_count; i++) {
		struct policy_listener *l = &ps->listeners[ps->listener_count++];
		l->addr = ps->cfg->policy.listen[i];
		if (listener_open(ps, l, err, errlen) != 0)
			return -1;
	}
	uv_timer_init(ps->loop, &ps->idle_timer);
	ps->idle_timer.data = ps;
	ps->timer_open = true;
	uv_timer_start(&ps->idle_timer, policy_idle_check, 10000, 10000);
	uv_timer_init(ps->loop, &ps->deadline_timer);
	ps->deadline_timer.data = ps;
	uv_timer_start(&ps->deadline_timer, policy_deadline_check, policy_deadline_tick_ms(ps->cfg),
	    policy_deadline_tick_ms(ps->cfg));
	uv_prepare_init(ps->loop, &ps->clock_prepare);
	ps->clock_prepare.data = ps;
	ps->clock_open = true;
	uv_prepare_start(&ps->clock_prepare, policy_clock_stale);
	uv_check_init(ps->loop, &ps->latency_check);
	ps->latency_check.data = ps;
	uv_check_start(&ps->latency_check, policy_latency_observe);
	return 0;
}

void
policy_server_stop(struct policy_server *ps)
{
	for (size_t i = 0; i < ps->listener_count; i++) {
		struct policy_listener *l = &ps->listeners[i];
		if (l->open && !uv_is_closing(&l->h.handle))
			uv_close(&l->h.handle, NULL);
		if (l->addr.kind == LISTEN_UNIX)
			unlink(l->addr.path);
	}
	for (struct policy_conn *c = ps->conns; c != NULL; c = c->next)
		conn_close(c);
	if (ps->timer_open && !uv_is_closing((uv_handle_t *)&ps->idle_timer))
		uv_close((uv_handle_t *)&ps->idle_timer, NULL);
	if (ps->timer_open && !uv_is_closing((uv_handle_t *)&ps->deadline_timer))
		uv_close((uv_handle_t *)&ps->deadline_timer, NULL);
	if (ps->clock_open && !uv_is_closing((uv_handle_t *)&ps->clock_prepare))
		uv_close((uv_handle_t *)&ps->clock_prepare, NULL);
	if (ps->clock_open && !uv_is_closing((uv_handle_t *)&ps->latency_check))
		uv_close((uv_handle_t *)&ps->latency_check, NULL);
	ps->clock_open = false;
	ps->clock_fresh = false;
}

void
policy_server_free(struct policy_server *ps)
{
	if (ps != NULL) {
		htable_fini(&ps->peers);     /* its peers went with their last connections */
		config_unref(ps->cfg);
	}
	free(ps);
}
