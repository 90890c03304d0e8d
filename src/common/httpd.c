/*
 * httpd.c — libmicrohttpd on the libuv loop; see httpd.h.
 */
#include "common/httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
httpd_kick(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h->mhd == NULL)
		return;
	MHD_run(h->mhd);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		uv_timer_start(&h->timer, httpd_timer_cb, ms, 0);
	else
		uv_timer_stop(&h->timer);
}

int
httpd_attach(struct httpd *h, uv_loop_t *loop, struct MHD_Daemon *mhd, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);

	memset(h, 0, sizeof(*h));
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
	h->handles_open = 2;
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
	MHD_stop_daemon(h->mhd);
	h->mhd = NULL;
	uv_close((uv_handle_t *)&h->poll, httpd_handle_closed);
	uv_close((uv_handle_t *)&h->timer, httpd_handle_closed);
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
