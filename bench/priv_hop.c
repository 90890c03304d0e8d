/*
 * priv_hop — what the hop to the privileged helper alone costs a batch of quarantines:
 * the same batches applied by the log-only backend (enforce_none, which builds the nft
 * script as the real one does, then runs nothing) in this process, and through the
 * helper's own code (enforce_priv_ops here, enforce_priv_serve in a forked child over
 * a socketpair, as lazaretd's garden and helper talk). The difference is the message
 * passing: the elements written as binary and read by the child, the child's checks
 * (enforce_priv_check), the answer, and the two processes woken in turn. No root,
 * no kernel tables.
 *
 *   priv_hop [-k CALLS] [-s SIZES]     (SIZES: comma-separated batch sizes)
 *
 * Prints, for each batch size, the median of CALLS calls each way, microseconds per
 * batch and nanoseconds per element, and the difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "act/enforce.h"
#include "act/enforce_priv.h"
#include "common/log.h"
#include "common/timeutil.h"

static int
cmp_usec(const void *a, const void *b)
{
	usec_t x = *(const usec_t *)a, y = *(const usec_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of k calls of ops->apply with add[0..n), in microseconds; -1 on a failure. */
static double
median_apply(const struct enforcer_ops *ops, void *be, const struct enforce_entry *add, size_t n, size_t k)
{
	usec_t *t = calloc(k, sizeof(*t));
	char err[256];
	double med;

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < k; i++) {
		usec_t t0 = time_mono();
		if (ops->apply(be, add, n, NULL, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "priv_hop: %s apply: %s\n", ops->name, err);
			free(t);
			return -1;
		}
		t[i] = time_mono() - t0;
	}
	qsort(t, k, sizeof(*t), cmp_usec);
	med = (double)t[k / 2];
	free(t);
	return med;
}

int
main(int argc, char **argv)
{
	static const char *const default_sizes = "1,10,100,1000,10000,100000";
	const char *sizes = default_sizes;
	struct enforce_config cfg;
	size_t k = 31;
	char err[256];
	int ch, sv[2];

	while ((ch = getopt(argc, argv, "k:s:")) != -1) {
		switch (ch) {
		case 'k': k = strtoul(optarg, NULL, 10); break;
		case 's': sizes = optarg; break;
		default:
			fprintf(stderr, "usage: priv_hop [-k CALLS] [-s SIZES]\n");
			return 2;
		}
	}
	if (k == 0)
		k = 1;
	log_init("priv_hop", false, LOG_LEVEL_WARN);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.table, sizeof(cfg.table), "lazaret");
	cfg.element_timeout = 3600 * USEC_PER_SEC;

	/* the helper's side, as lazaretd forks it, but with the log-only backend */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("socketpair");
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		void *be = enforce_none_new();
		if (be == NULL || enforce_none_ops.setup(be, &cfg, NULL, 0, err, sizeof(err)) != 0)
			_exit(1);
		_exit(enforce_priv_serve(sv[1], &enforce_none_ops, be) == 0 ? 0 : 1);
	}
	close(sv[1]);
	void *local = enforce_none_new(), *remote = enforce_priv_new(sv[0]);
	if (local == NULL || remote == NULL || enforce_none_ops.setup(local, &cfg, NULL, 0, err, sizeof(err)) != 0 ||
	    enforce_priv_ops.setup(remote, &cfg, NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "priv_hop: setup: %s\n", err);
		return 1;
	}

	printf("%8s %14s %14s %12s %12s\n", "elements", "in process us", "helper us", "hop us", "hop ns/elem");
	for (const char *p = sizes; *p != '\0';) {
		char *end;
		size_t n = strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
		if (n == 0 || n > ENFORCE_PRIV_MAX_ELEMENTS)
			continue;
		struct enforce_entry *add = calloc(n, sizeof(*add));
		char a[64];
		if (add == NULL)
			return 1;
		for (size_t i = 0; i < n; i++) {
			snprintf(a, sizeof(a), "100.%zu.%zu.%zu", 64 + i / 65536, (i / 256) % 256, i % 256);
			if (cidr_parse(a, &add[i].net) != 0)
				return 1;
			add[i].fresh = true;
		}
		/* alternate the two ways, keeping the better median of two rounds each */
		double in = -1, hop = -1;
		for (int round = 0; round < 2; round++) {
			double x = median_apply(&enforce_none_ops, local, add, n, k);
			double y = median_apply(&enforce_priv_ops, remote, add, n, k);
			if (x < 0 || y < 0)
				return 1;
			if (in < 0 || x < in)
				in = x;
			if (hop < 0 || y < hop)
				hop = y;
		}
		printf("%8zu %14.1f %14.1f %12.1f %12.1f\n", n, in, hop, hop - in, (hop - in) * 1e3 / (double)n);
		free(add);
	}
	enforce_priv_ops.free(remote);       /* closes the channel: the child's loop ends */
	enforce_none_ops.free(local);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
