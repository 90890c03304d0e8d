/*
 * httpd.h — a libmicrohttpd daemon driven by the libuv loop, for the operator API and
 * the portal: MHD runs without threads of its own, its epoll descriptor is watched by
 * a uv_poll handle and its next timeout by a uv_timer, so every request handler runs
 * on the loop thread beside the judge.
 */
#ifndef LAZARET_COMMON_HTTPD_H
#define LAZARET_COMMON_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <uv.h>

#include "common/addr.h"

/* MHD start flags every lazaret listener uses; httpd_sockaddr adds the address family's. */
#define HTTPD_FLAGS (MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG)

struct httpd {
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	unsigned handles_open;
	void (*closed)(void *arg);
	void *closed_arg;
};

/* The socket address of TCP listen address la into ss, and its family's flags into *flags
 * ("::" listens on IPv4 too). */
void httpd_sockaddr(const struct listen_addr *la, struct sockaddr_storage *ss, unsigned *flags);

/*
 * httpd_attach — drive mhd (started with HTTPD_FLAGS) from loop. 0, or -1 with a
 * message in err, having stopped mhd.
 */
int httpd_attach(struct httpd *h, uv_loop_t *loop, struct MHD_Daemon *mhd, char *err, size_t errlen);

/* Lets MHD do its work now (after a connection is resumed, say), then re-arms the timer. */
void httpd_kick(struct httpd *h);

/* Stops MHD (closing every connection) and the handles; closed(arg) runs once both handles are closed. */
void httpd_close(struct httpd *h, void (*closed)(void *arg), void *arg);

/*
 * httpd_body_append — adds an upload chunk to a request body kept NUL-terminated, up to
 * max bytes in all; past it *too_large is set and the rest dropped. 0, or -1 on ENOMEM.
 */
int httpd_body_append(char **body, size_t *len, const char *data, size_t n, size_t max, bool *too_large);

#endif
