/*
 * hugepages.c — see hugepages.h.
 */
#include "common/hugepages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

/* The tunable's value in the colon-separated list (up to the next ':'), NULL when the
 * list does not name it. */
static const char *
tunable_value(const char *list)
{
	size_t n = strlen(HUGEPAGES_TUNABLE);

	for (const char *p = list; p != NULL && *p != '\0'; ) {
		if (strncmp(p, HUGEPAGES_TUNABLE, n) == 0 && p[n] == '=')
			return p + n + 1;
		p = strchr(p, ':');
		if (p != NULL)
			p++;
	}
	return NULL;
}

int
hugepages_tunables(const char *old, char *out, size_t outlen)
{
	int n;

	if (old != NULL && tunable_value(old) != NULL)
		return -EEXIST;
	if (old != NULL && *old != '\0')
		n = snprintf(out, outlen, "%s:%s=1", old, HUGEPAGES_TUNABLE);
	else
		n = snprintf(out, outlen, "%s=1", HUGEPAGES_TUNABLE);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

bool
hugepages_kernel_never(const char *path)
{
	char buf[128];
	FILE *f = fopen(path, "re");
	bool never = true;

	if (f == NULL)
		return true;
	if (fgets(buf, sizeof(buf), f) != NULL)
		never = strstr(buf, "[never]") != NULL;
	fclose(f);
	return never;
}

int
hugepages_exec(char **argv, char *err, size_t errlen)
{
	const char *old = getenv("GLIBC_TUNABLES");
	char *saved, tunables[1024];
	int rc;

	/* run again already: never a second time, even if this glibc dropped the variable
	 * (a secure-mode start, with file capabilities, may) */
	if (getenv(HUGEPAGES_RUN_MARK) != NULL) {
		unsetenv(HUGEPAGES_RUN_MARK);
		return 0;
	}
	if ((saved = old != NULL ? strdup(old) : NULL) == NULL && old != NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((rc = hugepages_tunables(old, tunables, sizeof(tunables))) != 0 || hugepages_kernel_never(THP_ENABLED)) {
		free(saved);
		if (rc == -ENAMETOOLONG) {
			snprintf(err, errlen, "GLIBC_TUNABLES is too long to add %s=1 to", HUGEPAGES_TUNABLE);
			return rc;
		}
		return 0;
	}
	if (setenv("GLIBC_TUNABLES", tunables, 1) != 0 || setenv(HUGEPAGES_RUN_MARK, "1", 1) != 0) {
		rc = -errno;
		snprintf(err, errlen, "setenv: %s", strerror(errno));
	} else {
		fflush(NULL);
		execv("/proc/self/exe", argv);
		rc = -errno;
		snprintf(err, errlen, "cannot run /proc/self/exe again with %s: %s", tunables, strerror(errno));
	}
	/* the environment as it was */
	if (saved != NULL)
		setenv("GLIBC_TUNABLES", saved, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	unsetenv(HUGEPAGES_RUN_MARK);
	free(saved);
	return rc;
}

void
hugepages_restore_name(const char *argv0)
{
	char name[16] = "";
	const char *base;

	if (argv0 == NULL || prctl(PR_GET_NAME, name) != 0 || strcmp(name, "exe") != 0)
		return;
	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	if (*base != '\0' && strcmp(base, "exe") != 0)
		(void)prctl(PR_SET_NAME, base);     /* cut to 15 bytes by the kernel, as exec does */
}

const char *
hugepages_state(bool wanted)
{
	const char *v = tunable_value(getenv("GLIBC_TUNABLES"));

	if (!wanted)
		return "off ([daemon] huge_pages = no)";
	if (hugepages_kernel_never(THP_ENABLED))
		return "off (the kernel's transparent huge pages are never or missing)";
	if (v == NULL)
		return "off (not set)";
	if (v[0] == '1' && (v[1] == ':' || v[1] == '\0'))
		return "on";
	return "as the environment's GLIBC_TUNABLES sets glibc.malloc.hugetlb";
}
