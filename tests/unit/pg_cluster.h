/*
 * pg_cluster.h — a PostgreSQL cluster of a test program's own, through tests/pg/cluster.sh
 * (initdb into a temporary directory, a Unix socket only). Header-only: each test program
 * that needs one includes it (after cmocka.h).
 *
 *   struct pg_cluster pc;
 *   pg_cluster_init(&pc);                          a temporary base directory
 *   pg_cluster_start(&pc, "p", conninfo, size);    cluster.sh start BASE/p: its conninfo
 *   pg_cluster_cmd(&pc, "kill", "p", NULL);        stop, kill, restart, promote, destroy
 *   pg_cluster_cmd(&pc, "standby", "p", "s");      BASE/s a standby of BASE/p
 *   pg_cluster_cleanup(&pc);                       every cluster destroyed, BASE removed
 *
 * The clusters carry a watchdog (PG_CLUSTER_OWNER): a test program that crashes before its
 * cleanup still leaves no postgres behind. A missing PostgreSQL is a failure, with
 * cluster.sh's message on stderr, never a skip: make test installs it.
 */
#ifndef LAZARET_TESTS_PG_CLUSTER_H
#define LAZARET_TESTS_PG_CLUSTER_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repo_path.h"
#include "rmtree.h"

struct pg_cluster {
	char base[64];
	char script[PATH_MAX];
};

/* 0, or -1 with a message on stderr. */
static inline int
pg_cluster_init(struct pg_cluster *pc)
{
	snprintf(pc->base, sizeof(pc->base), "/tmp/lazaret-pg-XXXXXX");
	if (mkdtemp(pc->base) == NULL) {
		perror("pg_cluster: mkdtemp");
		pc->base[0] = '\0';
		return -1;
	}
	/* as root the server runs as postgres, which must reach the clusters' directories */
	chmod(pc->base, 0711);
	repo_path("tests/pg/cluster.sh", pc->script, sizeof(pc->script));
	return 0;
}

/*
 * pg_cluster_run — cluster.sh cmd BASE/a [BASE/b], its standard output (trimmed) into out
 * (may be NULL), its standard error through to ours. Its exit status, or -1.
 */
static inline int
pg_cluster_run(struct pg_cluster *pc, const char *cmd, const char *a, const char *b, char *out,
    size_t size)
{
	char pa[PATH_MAX], pb[PATH_MAX], owner[32], buf[1024];
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	snprintf(pa, sizeof(pa), "%s/%s", pc->base, a);
	snprintf(pb, sizeof(pb), "%s/%s", pc->base, b ? b : "");
	snprintf(owner, sizeof(owner), "%ld", (long)getpid());
	if (pipe(fds) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("PG_CLUSTER_OWNER", owner, 1);
		execl("/bin/sh", "sh", pc->script, cmd, pa, b ? pb : (char *)NULL, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0 || (n < 0 && errno == EINTR))
		len += n > 0 ? (size_t)n : 0;
	close(fds[0]);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (out)
		snprintf(out, size, "%s", buf);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int
pg_cluster_cmd(struct pg_cluster *pc, const char *cmd, const char *a, const char *b)
{
	return pg_cluster_run(pc, cmd, a, b, NULL, 0);
}

/* cluster.sh start BASE/name (initdb the first time): 0 with its conninfo, or -1. */
static inline int
pg_cluster_start(struct pg_cluster *pc, const char *name, char *conninfo, size_t size)
{
	if (pg_cluster_run(pc, "start", name, NULL, conninfo, size) != 0 || conninfo[0] == '\0') {
		fprintf(stderr, "pg_cluster: PostgreSQL did not start in %s/%s (see above); the tests need "
		    "the postgresql package: scripts/install-deps.sh test\n", pc->base, name);
		return -1;
	}
	return 0;
}

/* Every cluster under BASE destroyed (no process left), BASE removed. */
static inline void
pg_cluster_cleanup(struct pg_cluster *pc)
{
	struct dirent *e;
	DIR *d;

	if (pc->base[0] == '\0')
		return;
	if ((d = opendir(pc->base)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] != '.')
				pg_cluster_cmd(pc, "destroy", e->d_name, NULL);
		}
		closedir(d);
	}
	rmtree(pc->base);
	pc->base[0] = '\0';
}

#endif
