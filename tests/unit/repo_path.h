/*
 * repo_path.h — a file of the source tree (etc/lazaret.conf, share/portal) from a unit
 * test, whether meson compiled it by absolute path or relative to the build directory.
 * Header-only: each test program includes it.
 */
#ifndef LAZARET_TESTS_REPO_PATH_H
#define LAZARET_TESTS_REPO_PATH_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* rel under the repository root, from this file's path (absolute, or relative to the build dir). */
static inline void
repo_path(const char *rel, char *out, size_t size)
{
	char dir[PATH_MAX], exe[PATH_MAX];
	const char *file = __FILE__;
	const char *tail = strstr(file, "tests/unit/");
	size_t n = tail ? (size_t)(tail - file) : 0;

	snprintf(dir, sizeof(dir), "%.*s", (int)n, file);
	snprintf(out, size, "%s%s", dir, rel);
	if (file[0] == '/' || access(out, R_OK) == 0)
		return;
	/* relative to the build directory, which holds tests/test_NAME */
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, size, "%s/../%s%s", exe, dir, rel);
}

#endif
