/*
 * sdnotify.c — readiness, reload and stop notifications to systemd (Type=notify). The
 * protocol is stable and documented (sd_notify(3), "NOTIFY_SOCKET"): a datagram on a
 * Unix socket. A dozen lines here spare the daemon a libsystemd dependency.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/sdnotify.h"
#include "common/timeutil.h"

int
sdnotify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t n;
	int fd, rc = 0;

	if (name == NULL || *name == '\0')
		return 0;
	if (name[0] != '/' && name[0] != '@')
		return -EAFNOSUPPORT;     /* vsock: addresses are not ours to serve */
	n = strlen(name);
	if (n >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';   /* abstract namespace: the length, not a NUL, ends the name */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
sdnotify_reloading(void)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)time_mono());
	return sdnotify_send(msg);
}
