/*
 * policy_server.c — libuv plumbing for the policy service; the protocol is in
 * policy.c and the decisions in act/relay_policy.c.
 */
#include "sense/policy_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define POLICY_READ_CHUNK  16384
#define POLICY_BUF_LIMIT   (POLICY_MAX_REQUEST + POLICY_READ_CHUNK)
#define POLICY_WRITE_LIMIT (256 * 1024)   /* stop reading a peer that does not read its answers */

const double policy_latency_bounds_us[POLICY_LATENCY_BUCKETS - 1] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000,
};

struct policy_listener {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;
		uv_stream_t stream;
		uv_handle_t handle;
	} h;
	struct policy_server *ps;
	struct listen_addr addr;
	bool open;
};

struct policy_conn {
	union {
		uv_tcp_t tcp;
		uv_pipe_t pipe;
		uv_stream_t stream;
		uv_handle_t handle;
	} h;
	struct policy_server *ps;
	struct policy_conn *prev, *next;
	char peer[ADDR_TEXT_MAX + 8];
	uint8_t *buf;
	size_t len, cap;
	usec_t last_active;            /* monotonic */
	bool closing;
	bool reading;
	bool eof;                      /* the peer half-closed */
};

struct policy_write {
	uv_write_t req;
	struct policy_conn *conn;
	size_t len;
	char data[];
};

struct policy_server {
	uv_loop_t *loop;
	struct relay *relay;
	const struct config *cfg;
	struct policy_listener listeners[CONFIG_MAX_LISTEN];
	size_t listener_count;
	struct policy_conn *conns;
	uv_timer_t idle_timer;
	bool timer_open;
	uv_prepare_t clock_prepare;    /* before each poll: the clocks below are stale */
	uv_check_t latency_check;      /* after each poll's callbacks: answers_pending are out */
	bool clock_open;
	bool clock_fresh;
	usec_t wall_now;               /* the time decisions are taken at, this iteration */
	usec_t mono_now;               /* when this iteration's first request was read */
	unsigned answers_pending;      /* answered in this iteration, latency not yet counted */
	struct policy_stats stats;
};

struct policy_server *
policy_server_new(uv_loop_t *loop, struct relay *relay, const struct config *cfg)
{
	struct policy_server *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	ps->loop = loop;
	ps->relay = relay;
	ps->cfg = cfg;
	return ps;
}

void
policy_server_configure(struct policy_server *ps, const struct config *cfg)
{
	ps->cfg = cfg;
}

const struct policy_stats *
policy_server_stats(const struct policy_server *ps)
{
	return &ps->stats;
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
	free(c->buf);
	free(c);
}

static void
conn_close(struct policy_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close(&c->h.handle, conn_closed);
}

static void
conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
	struct policy_conn *c = h->data;

	(void)suggested;
	if (c->cap - c->len < POLICY_READ_CHUNK && c->cap < POLICY_BUF_LIMIT) {
		size_t ncap = c->cap ? c->cap * 2 : POLICY_READ_CHUNK * 2;
		if (ncap > POLICY_BUF_LIMIT)
			ncap = POLICY_BUF_LIMIT;
		uint8_t *nb = realloc(c->buf, ncap);
		if (nb != NULL) {
			c->buf = nb;
			c->cap = ncap;
		}
	}
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
 * Answers every whole request in the buffer; false when the connection must close.
 * Each request is framed and parsed in one pass. Answers are sent together, a batch
 * per read (Postfix sends one request at a time: a batch of one); their latency is
 * counted when the loop iteration ends (policy_latency_observe).
 */
static bool
conn_process(struct policy_conn *c)
{
	struct policy_server *ps = c->ps;
	char out[8 * RELAY_ANSWER_MAX];
	size_t out_len = 0, off = 0;
	usec_t now = ps->wall_now;
	bool keep = true;

	while (off < c->len) {
		size_t req_len;
		struct policy_request req;
		int rc = policy_frame_parse(c->buf + off, c->len - off, &req_len, &req);

		if (rc == 0)
			break;
		if (rc < 0) {
			ps->stats.malformed++;
			log_warnx("policy peer=%s: malformed request (%s); closing the connection without an answer",
			    c->peer, policy_strerror(rc));
			keep = false;
			break;
		}
		size_t alen;
		enum relay_action act = relay_decide(ps->relay, &req, now, out + out_len, &alen);
		out_len += alen;
		off += req_len;
		ps->answers_pending++;
		ps->stats.requests[req.protocol_state][act]++;
		if (sizeof(out) - out_len < RELAY_ANSWER_MAX) {
			if (conn_send(c, out, out_len) != 0)
				return false;
			out_len = 0;
		}
	}
	if (out_len > 0 && conn_send(c, out, out_len) != 0)
		return false;
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (keep && c->len >= POLICY_BUF_LIMIT) {
		/* policy_frame refuses oversized requests long before this */
		log_warnx("policy peer=%s: request buffer full; closing the connection", c->peer);
		keep = false;
	}
	return keep;
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

	(void)buf;
	if (nread < 0) {
		uv_shutdown_t *req;
		if (nread != UV_EOF)
			log_debug("policy peer=%s: %s", c->peer, uv_strerror((int)nread));
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
	c->len += (size_t)nread;
	policy_clock_read(c->ps);
	c->last_active = c->ps->mono_now;
	if (!conn_process(c))
		conn_close(c);
}

static void
listener_accept(uv_stream_t *server, int status)
{
	struct policy_listener *l = server->data;
	struct policy_server *ps = l->ps;
	struct policy_conn *c;
	int rc;

	if (status < 0) {
		log_warnx("policy: accept: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("policy: out of memory accepting a connection");
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
		uv_tcp_nodelay(&c->h.tcp, 1);
		if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &sl) == 0) {
			if (ss.ss_family == AF_INET6) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
				uv_ip6_name(s6, host, sizeof(host));
				snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, ntohs(s6->sin6_port));
			} else {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
				uv_ip4_name(s4, host, sizeof(host));
				snprintf(c->peer, sizeof(c->peer), "%s:%u", host, ntohs(s4->sin_port));
			}
		}
	} else
		snprintf(c->peer, sizeof(c->peer), "unix");
	if (ps->stats.connections_open > ps->cfg->policy_max_connections) {
		ps->stats.connections_refused++;
		if (ps->stats.connections_refused % 100 == 1)
			log_warnx("policy peer=%s: over max_connections=%u; closing (%llu refused so far)", c->peer,
			    ps->cfg->policy_max_connections, (unsigned long long)ps->stats.connections_refused);
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
		if (!c->closing && now - c->last_active > ps->cfg->policy_idle_timeout) {
			ps->stats.idle_closed++;
			log_debug("policy peer=%s: idle for longer than idle_timeout; closing", c->peer);
			conn_close(c);
		}
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
	for (size_t i = 0; i < ps->cfg->policy_listen_count; i++) {
		struct policy_listener *l = &ps->listeners[ps->listener_count++];
		l->addr = ps->cfg->policy_listen[i];
		if (listener_open(ps, l, err, errlen) != 0)
			return -1;
	}
	uv_timer_init(ps->loop, &ps->idle_timer);
	ps->idle_timer.data = ps;
	ps->timer_open = true;
	uv_timer_start(&ps->idle_timer, policy_idle_check, 10000, 10000);
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
	free(ps);
}
