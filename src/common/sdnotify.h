/*
 * sdnotify.h — systemd's service notification protocol (sd_notify(3)), without libsystemd:
 * one datagram of "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET.
 */
#ifndef LAZARET_COMMON_SDNOTIFY_H
#define LAZARET_COMMON_SDNOTIFY_H

/*
 * sdnotify_send — sends state ("READY=1", "STOPPING=1", "RELOADING=1\nMONOTONIC_USEC=...")
 * to the service manager. Without $NOTIFY_SOCKET (not started by systemd with Type=notify)
 * it does nothing and returns 0. A path or an abstract name ('@' first) is accepted.
 * Returns 0 when sent, -ENAMETOOLONG or -EAFNOSUPPORT for an unusable $NOTIFY_SOCKET, or
 * the -errno of socket(2) or sendto(2). Never blocks (the socket is non-blocking).
 */
int sdnotify_send(const char *state);

/* sdnotify_reloading — "RELOADING=1" with the MONOTONIC_USEC= that systemd >= 253 asks for. */
int sdnotify_reloading(void);

#endif
