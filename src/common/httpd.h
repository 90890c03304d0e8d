/*
 * httpd.h — a libmicrohttpd daemon driven by the libuv loop, for the operator API and
 * the portal: MHD runs without threads of its own, its epoll descriptor is watched by
 * a uv_poll handle and its next timeout by a uv_timer, so every request handler runs
 * on the loop thread beside the judge.
 *
 * Two guards MHD lacks live here. A request deadline: MHD's connection timeout counts
 * silence only, so a client trickling a header byte every few seconds would hold its
 * connection for ever; here every connection must deliver a whole request within
 * request_timeout of its opening or of the end of its previous answer, or it is shut.
 * And an accept back-off: when accept() fails for want of descriptors (EMFILE) while
 * MHD holds no connection it retries at once for as long as the peer waits, so the
 * listener is left alone for a moment instead of spinning the loop. MHD's own messages
 * go to the log through a budget (log_limited), named after the listener.
 */
#ifndef LAZARET_COMMON_HTTPD_H
#define LAZARET_COMMON_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <uv.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/timeutil.h"

/* MHD start flags every lazaret listener uses; httpd_sockaddr adds the address family's. */
#define HTTPD_FLAGS (MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG)

/* The MHD_start_daemon options that connect a listener to h (after httpd_init). */
#define HTTPD_OPTIONS(h) \
	MHD_OPTION_EXTERNAL_LOGGER, httpd_mhd_log, (void *)(h), \
	MHD_OPTION_NOTIFY_CONNECTION, httpd_notify_connection, (void *)(h)

/* How long a listener leaves its socket alone after accept() failed for want of descriptors. */
#define HTTPD_ACCEPT_BACKOFF_MS 100

struct httpd_stats {
	uint64_t deadline_closed;      /* connections shut without a single request completed in time */
	uint64_t accept_failures;      /* accept() refused by the system (EMFILE, ENFILE, ENOBUFS...) */
};

struct httpd_conn;

struct httpd {
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_timer_t deadline;           /* sweeps the connections past their request deadline */
	uv_timer_t backoff;            /* restarts the poll after an accept() failure */
	unsigned handles_open;
	void (*closed)(void *arg);
	void *closed_arg;
	const char *name;              /* "api", "portal": log lines start with it */
	usec_t request_timeout;        /* 0: no deadline */
	struct httpd_conn *oldest, *newest;   /* connections waiting for a whole request, oldest first */
	bool accept_failed;            /* MHD said so during the current MHD_run */
	bool backing_off;              /* the poll is stopped until the guard timer fires */
	struct httpd_stats *stats;
	struct log_limit log_budget;   /* MHD's messages */
	struct log_limit deadline_budget;
};

/*
 * httpd_init — prepare h before MHD_start_daemon(..., HTTPD_OPTIONS(h), ...): name for
 * the log, the request deadline (0 for none), counters to keep (never NULL).
 */
void httpd_init(struct httpd *h, const char *name, usec_t request_timeout, struct httpd_stats *stats);

/* The socket address of TCP listen address la into ss, and its family's flags into *flags
 * ("::" listens on IPv4 too). */
void httpd_sockaddr(const struct listen_addr *la, struct sockaddr_storage *ss, unsigned *flags);

/*
 * httpd_listen_socket — a non-blocking TCP socket bound to la and listening, for
 * MHD_OPTION_LISTEN_SOCKET: bound by a process that may (a port below 1024) and
 * served by one that may not. The descriptor, or -1 with "listen ADDRESS: why" in err.
 */
int httpd_listen_socket(const struct listen_addr *la, char *err, size_t errlen);

/*
 * httpd_attach — drive mhd (started with HTTPD_FLAGS and HTTPD_OPTIONS(h)) from loop. 0,
 * or -1 with a message in err, having stopped mhd.
 */
int httpd_attach(struct httpd *h, uv_loop_t *loop, struct MHD_Daemon *mhd, char *err, size_t errlen);

/* Lets MHD do its work now (after a connection is resumed, say), then re-arms the timer. */
void httpd_kick(struct httpd *h);

/* Stops MHD (closing every connection) and the handles; closed(arg) runs once all handles are closed. */
void httpd_close(struct httpd *h, void (*closed)(void *arg), void *arg);

/* The handler has the whole request of conn (headers and body): its deadline stops. */
void httpd_request_received(struct httpd *h, struct MHD_Connection *conn);

/* conn's answer is done (MHD's completion notice): the deadline of its next request starts now. */
void httpd_request_done(struct httpd *h, struct MHD_Connection *conn);

/* For HTTPD_OPTIONS only. */
void httpd_mhd_log(void *cls, const char *fmt, va_list ap);
void httpd_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code);

/*
 * httpd_body_append — adds an upload chunk to a request body kept NUL-terminated, up to
 * max bytes in all; past it *too_large is set and the rest dropped. 0, or -1 on ENOMEM.
 */
int httpd_body_append(char **body, size_t *len, const char *data, size_t n, size_t max, bool *too_large);

#endif
