/*
 * front.h — the portal's HTTP front (see front.c): libmicrohttpd on a listening socket
 * it is given, asking the desk in the main process over a wire.h channel.
 */
#ifndef LAZARET_PORTAL_FRONT_H
#define LAZARET_PORTAL_FRONT_H

#include <uv.h>

#include "portal/page.h"
#include "portal/settings.h"

struct portal_front;

/*
 * portal_front_start — serve HTTP on listen_fd (bound and listening; libmicrohttpd
 * closes it when the front stops) with pages (the caller's, kept while the front
 * runs), asking over chan_fd (non-blocking
 * SEQPACKET, the front's from now on). gone(arg) is called when the desk closes the
 * channel. NULL with a message in err.
 */
struct portal_front *portal_front_start(uv_loop_t *loop, int listen_fd, int chan_fd,
    const struct portal_settings *ps, const struct pages *pages, void (*gone)(void *arg), void *arg,
    char *err, size_t errlen);

/* Close the listener's connections and the channel; the memory goes with the handles. */
void portal_front_stop(struct portal_front *f);

#endif
