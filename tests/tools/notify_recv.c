/*
 * notify_recv.c — stands in for systemd's side of sd_notify(3) in the integration tests:
 * binds a datagram socket at PATH (the daemon's $NOTIFY_SOCKET) and prints each datagram
 * received as one line, "pid=SENDER STATE", its newlines turned into spaces, until killed.
 * The sender's pid comes from SCM_CREDENTIALS, as systemd's NotifyAccess=main checks it.
 *
 * usage: notify_recv PATH
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, one = 1;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notify_recv PATH\n");
		return 1;
	}
	strcpy(sun.sun_path, argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "notify_recv: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		char buf[4096], ctl[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
		    .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(fd, &msg, 0);
		long pid = -1;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notify_recv: %s\n", strerror(errno));
			return 1;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
				struct ucred uc;
				memcpy(&uc, CMSG_DATA(c), sizeof(uc));
				pid = (long)uc.pid;
			}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		printf("pid=%ld %s\n", pid, buf);
		fflush(stdout);
	}
}
