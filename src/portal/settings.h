/*
 * settings.h — the [portal] section as the portal uses it, and the seam through which
 * tests and benchmarks start a portal with settings of their own.
 *
 * portal_start(ctx) is portal_start_with(ctx, settings from ctx->cfg). The connection
 * limits, per address and in all, and the request deadline are [portal] keys (lazaretd
 * counts max_connections in its descriptor budget); the silence timeout and the memory
 * per connection are libmicrohttpd's guard rails (DESIGN §5) that only the benchmark moves.
 */
#ifndef LAZARET_PORTAL_SETTINGS_H
#define LAZARET_PORTAL_SETTINGS_H

#include <limits.h>

#include "common/addr.h"
#include "common/config.h"
#include "portal/portal.h"

struct portal_settings {
	struct listen_addr listen;             /* listen = 127.0.0.1:8080 */
	char url[CONFIG_TEXT_MAX];             /* url: the portal's own address */
	char templates[PATH_MAX];              /* templates = share/portal */
	char support_contact[CONFIG_TEXT_MAX];
	char abuse_contact[CONFIG_TEXT_MAX];
	unsigned self_release_limit;           /* 3; 0 = never */
	usec_t self_release_window;            /* 30d */
	usec_t grace;                          /* 24h */
	usec_t min_quarantine;                 /* 15m: an automatic quarantine's least time before its button */
	usec_t token_ttl;                      /* 15m */
	char secret_file[PATH_MAX];            /* "" = a random secret at start */
	unsigned max_connections;              /* 1024 */
	unsigned per_ip_connections;           /* max_connections_per_address = 8 */
	usec_t request_timeout;                /* 10s: a whole request within it, or the connection goes */
	unsigned timeout_seconds;              /* 15: of silence */
	size_t memory_per_connection;          /* 32 KiB */
	usec_t answer_cache;                   /* 1s: the front's answers per address (0: none; benchmarks) */
};

void portal_settings_defaults(struct portal_settings *ps);
void portal_settings_from_config(const struct config *cfg, struct portal_settings *ps);

struct portal *portal_start_with(uv_loop_t *loop, const struct portal_context *ctx,
                                 const struct portal_settings *ps, char *err, size_t errlen);

/*
 * portal_configure_with — new settings (templates reloaded and checked, secret re-read);
 * the listener stays. On error returns -1 with the reason and keeps the running ones.
 */
int portal_configure_with(struct portal *p, const struct config *cfg, const struct portal_settings *ps,
                          char *err, size_t errlen);

#endif
