/*
 * portal.h — the notice page a quarantined subscriber sees, and their way out.
 *
 * Two halves: the front (front.c), libmicrohttpd on the portal's listener in a process
 * of its own with no store, no judge, no secret and no open(), renders pages; the desk
 * (portal.c), on the main process's loop beside the judge, decides what each request
 * sees and performs releases, answering the front's queries (wire.h). The visitor is
 * identified by source address (the gateway DNATs quarantined hosts' TCP/80 here):
 * a quarantined or suspended visitor gets HTTP 511 on every path with the notice; anyone
 * else a plain 200 page saying all is well. Pages are plain HTML with inline CSS only —
 * no script, no event handlers, no external resources, no cookies — built from
 * templates in [portal] templates that operators can brand and translate.
 *
 * Self-release: a POST form carrying a token bound to the visitor's address with a
 * short expiry; allowed self_release_limit times per self_release_window, then the
 * page gives a case number and the abuse desk's contact instead. A release opens a
 * grace period during which the judge does not quarantine the host again automatically.
 */
#ifndef LAZARET_PORTAL_PORTAL_H
#define LAZARET_PORTAL_PORTAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "common/config.h"
#include "common/httpd.h"
#include "judge/judge.h"
#include "store/store.h"

struct portal_context {
	struct judge *judge;
	struct store *store;
	const struct config *cfg;
	bool own_process;            /* HTTP in a forked front process (lazaretd), else on this loop */
	int listen_fd;               /* the listening socket, bound already (httpd_listen_socket); 0: bind it */
};

struct portal_stats {
	uint64_t notices;            /* 511 answers */
	uint64_t not_quarantined;    /* 200 answers */
	uint64_t self_releases;
	uint64_t refused_releases;   /* bad or expired token, limit reached, wrong address */
	struct httpd_stats http;     /* connections shut at the request deadline, failed accepts */
};

struct portal;

struct portal *portal_start(uv_loop_t *loop, const struct portal_context *ctx, char *err, size_t errlen);
void portal_configure(struct portal *p, const struct config *cfg);
void portal_stop(struct portal *p);
unsigned portal_waiting(const struct portal *p);

/*
 * portal_child_exited — the caller reaped pid with status (SIGCHLD): when it was the
 * portal's front, log why and start a new one (at once, or after a few seconds when
 * it keeps dying), and return true.
 */
bool portal_child_exited(struct portal *p, pid_t pid, int status);

/*
 * portal_level_changed — a subject's level changed (the judge's observer): the front
 * forgets the answers it keeps for a second, so no visitor sees a page from before. One
 * message tells it, at the end of the loop's turn or before the next answer it gets.
 */
void portal_level_changed(struct portal *p);

const struct portal_stats *portal_stats(const struct portal *p);

#endif
