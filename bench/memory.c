/*
 * memory.c — bench/memory: bytes per tracked subject.
 *
 * Tracks N distinct hosts and N distinct accounts the way the policy service does
 * (a DATA request per host and account through relay_decide, charging the rate
 * limits), then prints the process's peak RSS and bytes per subject. The issue's
 * budget is 512 MiB for 1 M hosts and 1 M accounts.
 *
 * usage: memory [HOSTS [ACCOUNTS]]   (default 1000000 each)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "act/relay_policy.h"
#include "common/config.h"
#include "judge/judge.h"

static long
rss_kib(const char *field)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field), NULL, 10);
	fclose(fp);
	return v;
}

int
main(int argc, char **argv)
{
	long hosts = argc > 1 ? atol(argv[1]) : 1000000;
	long accounts = argc > 2 ? atol(argv[2]) : hosts;
	static struct config cfg;
	struct judge *j;
	struct relay *r;
	char answer[POLICY_ANSWER_MAX], addr[64], user[64];
	size_t len;
	usec_t now = time_now(), t0;
	long base = rss_kib("VmRSS:");

	config_defaults(&cfg);
	j = judge_new(&cfg, NULL);
	r = j ? relay_new(j, &cfg) : NULL;
	if (r == NULL || judge_configure(j, &cfg, answer, sizeof(answer)) != 0) {
		fprintf(stderr, "memory: cannot set up the judge\n");
		return 1;
	}
	t0 = time_mono();
	long n = hosts > accounts ? hosts : accounts;
	for (long i = 0; i < n; i++) {
		struct policy_request req;
		memset(&req, 0, sizeof(req));
		req.protocol_state = POLICY_STATE_DATA;
		req.recipient_count = 1;
		if (i < hosts) {
			snprintf(addr, sizeof(addr), "10.%ld.%ld.%ld", (i >> 16) & 255, (i >> 8) & 255, i & 255);
			if (i >= 1 << 24)
				snprintf(addr, sizeof(addr), "2001:db8:%lx:%lx::1", (i >> 16) & 0xffff, i & 0xffff);
			req.client_address = (struct strview){ addr, strlen(addr) };
		}
		if (i < accounts) {
			snprintf(user, sizeof(user), "user%07ld@example.net", i);
			req.sasl_username = (struct strview){ user, strlen(user) };
		}
		relay_decide(r, &req, now + i, answer, &len);
	}
	/* The checkpoint list would be written out by the daemon; keep only the table. */
	judge_checkpoint(j);
	double secs = (double)(time_mono() - t0) / 1e6;
	struct judge_stats js;
	judge_stats_get(j, &js);
	long peak = rss_kib("VmHWM:"), rss = rss_kib("VmRSS:");
	size_t table = subjects_memory(judge_subjects(j));
	printf("subjects tracked      %zu (%ld hosts, %ld accounts)\n", js.tracked, hosts, accounts);
	printf("requests              %ld in %.2f s (%.0f/s, one thread, no I/O)\n", n, secs, (double)n / secs);
	printf("table (counted)       %.1f MiB, %.1f bytes per subject\n", (double)table / 1048576.0,
	    (double)table / (double)js.tracked);
	printf("RSS                   %.1f MiB now, %.1f MiB peak, %.1f MiB at start\n", (double)rss / 1024.0,
	    (double)peak / 1024.0, (double)base / 1024.0);
	printf("RSS per subject       %.1f bytes\n", (double)(rss - base) * 1024.0 / (double)js.tracked);
	printf("budget                512 MiB for 1M hosts + 1M accounts: %s\n",
	    peak <= 512L * 1024 ? "within" : "OVER");
	relay_free(r);
	judge_free(j);
	return 0;
}
