/*
 * test_sdnotify.c — the datagrams systemd would receive on $NOTIFY_SOCKET: a socket path,
 * an abstract name, and nothing at all (no error) when the variable is unset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sdnotify.h"

/* A datagram socket bound to name ('@' first: abstract), as systemd's manager binds one. */
static int
listener(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(n < sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'))), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0)
		fail_msg("no datagram: %s (want '%s')", strerror(errno), want);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_path(void **state)
{
	char dir[] = "/tmp/test_sdnotify.XXXXXX", path[64];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = listener(path);

	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdnotify_send("READY=1"), 0);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_send("STOPPING=1"), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unlink(path);
	rmdir(dir);
	/* the manager is gone: an error to log, not a crash or a hang */
	assert_int_equal(sdnotify_send("READY=1"), -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_abstract_and_reloading(void **state)
{
	char name[64], buf[256];
	(void)state;
	snprintf(name, sizeof(name), "@lazaret-test-sdnotify-%ld", (long)getpid());
	int fd = listener(name);

	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify_reloading(), 0);
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	unsigned long long usec = 0;
	char end = 0;
	if (sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu%c", &usec, &end) != 1 || usec == 0)
		fail_msg("want RELOADING=1 and MONOTONIC_USEC=, got '%s'", buf);
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_unset_and_unusable(void **state)
{
	char longname[200];
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sdnotify_send("READY=1"), 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	assert_int_equal(sdnotify_send("READY=1"), -ENAMETOOLONG);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(sdnotify_send("READY=1"), -EAFNOSUPPORT);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract_and_reloading),
		cmocka_unit_test(test_unset_and_unusable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
