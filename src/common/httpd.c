/*
 * httpd.c — libmicrohttpd on the libuv loop, with a request deadline and an accept
 * back-off; see httpd.h.
 */
#include "common/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection MHD told us about, linked in the deadline list while no whole request is in. */
struct httpd_conn {
	struct httpd_conn *prev, *next;
	struct MHD_Connection *conn;
	usec_t since;                  /* monotonic: opened, or its previous answer done */
	bool linked;
	bool answered;                 /* a request was answered: past the deadline it is only idle */
	char peer[ADDR_TEXT_MAX];
};

/* MHD's messages come once per refused connection or failed accept, and a slowloris makes
 * one deadline line per connection: 20 of each per 10 s, then counted. */
#define HTTPD_LOG_BURST      20
#define HTTPD_LOG_INTERVAL   (10 * USEC_PER_SEC)

void
httpd_init(struct httpd *h, const char *name, usec_t request_timeout, struct httpd_stats *stats)
{
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->request_timeout = request_timeout;
	h->stats = stats;
	h->log_budget = (struct log_limit)LOG_LIMIT_INIT(HTTPD_LOG_BURST, HTTPD_LOG_INTERVAL);
	h->deadline_budget = (struct log_limit)LOG_LIMIT_INIT(HTTPD_LOG_BURST, HTTPD_LOG_INTERVAL);
}

void
httpd_sockaddr(const struct listen_addr *la, struct sockaddr_storage *ss, unsigned *flags)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(la->host, ':') != NULL) {
		uv_ip6_addr(la->host, la->port, (struct sockaddr_in6 *)ss);
		*flags |= strcmp(la->host, "::") == 0 ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	} else
		uv_ip4_addr(la->host, la->port, (struct sockaddr_in *)ss);
}

static void
httpd_unlink(struct httpd *h, struct httpd_conn *c)
{
	if (!c->linked)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		h->newest = c->prev;
	c->prev = c->next = NULL;
	c->linked = false;
}

/* Starts c's deadline now: it goes to the young end of the list, which stays in order. */
static void
httpd_link(struct httpd *h, struct httpd_conn *c)
{
	httpd_unlink(h, c);
	c->since = time_mono();
	c->prev = h->newest;
	c->next = NULL;
	if (h->newest != NULL)
		h->newest->next = c;
	else
		h->oldest = c;
	h->newest = c;
	c->linked = true;
}

static struct httpd_conn *
httpd_conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* The peer's address as text ("" when MHD cannot say). */
static void
httpd_peer(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)size);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)size);
}

void
httpd_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	struct httpd_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		/* out of memory: this one connection goes without a deadline, as MHD alone would */
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->conn = conn;
		httpd_peer(conn, c->peer, sizeof(c->peer));
		if (h->request_timeout > 0)
			httpd_link(h, c);
		*socket_context = c;
	} else if (c != NULL) {
		httpd_unlink(h, c);
		free(c);
		*socket_context = NULL;
	}
}

void
httpd_request_received(struct httpd *h, struct MHD_Connection *conn)
{
	struct httpd_conn *c = httpd_conn_of(conn);

	if (c != NULL)
		httpd_unlink(h, c);
}

void
httpd_request_done(struct httpd *h, struct MHD_Connection *conn)
{
	struct httpd_conn *c = httpd_conn_of(conn);

	if (c != NULL && h->request_timeout > 0) {
		c->answered = true;
		httpd_link(h, c);
	}
}

/*
 * Shuts every connection whose deadline has passed. MHD owns the descriptor, so it is
 * shut down rather than closed: MHD sees the end of the stream at its next run and
 * closes and forgets the connection itself (its completion notices included). A
 * connection that never delivered a request is logged and counted; one kept alive
 * idle after its answers (a browser's) is only closed.
 */
static void
httpd_deadline_cb(uv_timer_t *t)
{
	struct httpd *h = t->data;
	usec_t now = time_mono();
	bool shut = false;

	while (h->oldest != NULL && now - h->oldest->since >= h->request_timeout) {
		struct httpd_conn *c = h->oldest;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c->conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);

		httpd_unlink(h, c);
		if (ci == NULL)
			continue;
		shutdown(ci->connect_fd, SHUT_RDWR);
		shut = true;
		if (c->answered) {
			log_debug("%s: address=%s idle connection closed", h->name, c->peer);
			continue;
		}
		h->stats->deadline_closed++;
		log_limited(&h->deadline_budget, LOG_LEVEL_INFO, "%s: address=%s connection closed: no complete "
		    "request within %llds", h->name, c->peer, (long long)(h->request_timeout / USEC_PER_SEC));
	}
	if (shut)
		httpd_kick(h);
}

/*
 * MHD's messages, through the listener's budget. "Error accepting connection" also
 * means MHD will try accept() again as soon as the socket is readable, which it stays:
 * httpd_kick sees accept_failed and backs off.
 */
void
httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char msg[512];

	if (strstr(fmt, "accepting connection") != NULL) {
		h->accept_failed = true;
		h->stats->accept_failures++;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_limited(&h->log_budget, LOG_LEVEL_WARN, "%s: %s", h->name, msg);
}

static void
httpd_timer_cb(uv_timer_t *t)
{
	httpd_kick(t->data);
}

static void
httpd_poll_cb(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	httpd_kick(p->data);
}

static void
httpd_backoff_cb(uv_timer_t *t)
{
	struct httpd *h = t->data;

	h->backing_off = false;
	if (h->mhd == NULL)
		return;
	uv_poll_start(&h->poll, UV_READABLE, httpd_poll_cb);
	httpd_kick(h);
}

void
httpd_kick(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h->mhd == NULL)
		return;
	MHD_run(h->mhd);
	if (h->accept_failed) {
		/* Out of descriptors: the pending peer keeps the socket readable, and MHD holding
		 * no connection would retry at every wake-up. Its connections wait a moment too. */
		h->accept_failed = false;
		if (!h->backing_off) {
			h->backing_off = true;
			uv_poll_stop(&h->poll);
			uv_timer_start(&h->backoff, httpd_backoff_cb, HTTPD_ACCEPT_BACKOFF_MS, 0);
		}
	}
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		uv_timer_start(&h->timer, httpd_timer_cb, ms, 0);
	else
		uv_timer_stop(&h->timer);
}

int
httpd_attach(struct httpd *h, uv_loop_t *loop, struct MHD_Daemon *mhd, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);

	if (info == NULL) {
		snprintf(err, errlen, "libmicrohttpd without epoll support");
		MHD_stop_daemon(mhd);
		return -1;
	}
	h->mhd = mhd;
	uv_poll_init(loop, &h->poll, info->epoll_fd);
	h->poll.data = h;
	uv_poll_start(&h->poll, UV_READABLE, httpd_poll_cb);
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	uv_timer_init(loop, &h->deadline);
	h->deadline.data = h;
	uv_timer_init(loop, &h->backoff);
	h->backoff.data = h;
	h->handles_open = 4;
	if (h->request_timeout > 0) {
		/* a tenth of the deadline, 50 ms to 1 s: a connection goes at most that late */
		uint64_t tick = (uint64_t)(h->request_timeout / 10 / 1000);
		tick = tick < 50 ? 50 : tick > 1000 ? 1000 : tick;
		uv_timer_start(&h->deadline, httpd_deadline_cb, tick, tick);
	}
	return 0;
}

static void
httpd_handle_closed(uv_handle_t *handle)
{
	struct httpd *h = handle->data;

	if (--h->handles_open == 0 && h->closed != NULL)
		h->closed(h->closed_arg);
}

void
httpd_close(struct httpd *h, void (*closed)(void *arg), void *arg)
{
	h->closed = closed;
	h->closed_arg = arg;
	uv_poll_stop(&h->poll);
	uv_timer_stop(&h->timer);
	uv_timer_stop(&h->deadline);
	uv_timer_stop(&h->backoff);
	MHD_stop_daemon(h->mhd);      /* each connection's close notice frees its httpd_conn */
	h->mhd = NULL;
	uv_close((uv_handle_t *)&h->poll, httpd_handle_closed);
	uv_close((uv_handle_t *)&h->timer, httpd_handle_closed);
	uv_close((uv_handle_t *)&h->deadline, httpd_handle_closed);
	uv_close((uv_handle_t *)&h->backoff, httpd_handle_closed);
}

int
httpd_body_append(char **body, size_t *len, const char *data, size_t n, size_t max, bool *too_large)
{
	if (*too_large)
		return 0;
	if (*len + n > max) {
		*too_large = true;
		return 0;
	}
	char *grown = realloc(*body, *len + n + 1);
	if (grown == NULL)
		return -1;
	memcpy(grown + *len, data, n);
	*len += n;
	grown[*len] = '\0';
	*body = grown;
	return 0;
}

int
httpd_listen_socket(const struct listen_addr *la, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned flags = 0;
	char name[128];
	int fd, one = 1;

	httpd_sockaddr(la, &ss, &flags);
	listen_addr_format(la, name, sizeof(name));
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", name, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		int v6only = (flags & MHD_USE_DUAL_STACK) ? 0 : 1;     /* "::" takes IPv4 too */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "listen %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
