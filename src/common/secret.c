/*
 * secret.c — see secret.h.
 */
#include "common/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
secret_file_open(const char *path, const char *what, mode_t forbidden, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		goto fail;
	}
	if (st.st_mode & forbidden) {
		if (forbidden == S_IROTH)
			snprintf(err, errlen, "%s %s: readable by everyone; chmod o-r it", what, path);
		else
			snprintf(err, errlen, "%s %s: mode %04o opens it to its group or to everyone; "
			    "chmod 600 it", what, path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return fd;

fail:
	close(fd);
	return -1;
}
