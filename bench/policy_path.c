/*
 * policy_path.c — what lazaretd's own code costs per policy request, in process:
 * no sockets, no kernel, no other process. The requests are policy_load's
 * (policy_request.h), the limits bench/policy.sh's; the time a request is decided at
 * advances as if RATE requests a second arrived, so hosts go over their limit (and
 * get deferred) as they would under policy_load at that rate.
 *
 * Prints, in ns per request: framing + parsing alone, then framing + parsing +
 * deciding (relay_decide: host and account lookup, rate limits, evidence on
 * deferral), with the share of deferrals. The network server's cost per request is
 * this plus the kernel's and libuv's (bench/policy.sh measures that whole).
 *
 * usage: policy_path [-a accounts] [-H hosts] [-n requests] [-r rate] [-s percent]
 * (defaults: 10 000 hosts, no accounts, 30 %, 120 000 requests/s, 12 s of them)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "act/relay_policy.h"
#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "sense/policy.h"
#include "policy_request.h"

#define DISTINCT 65536     /* requests built up front, replayed in turn */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long
arg_number(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "policy_path: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct policy_mix mix = { .hosts = 10000, .sasl_percent = 30 };
	unsigned long total = 0, rate = 120000;
	int opt;

	while ((opt = getopt(argc, argv, "a:H:n:r:s:")) != -1) {
		switch (opt) {
		case 'a': mix.accounts = arg_number(optarg, "accounts"); break;
		case 'H': mix.hosts = arg_number(optarg, "hosts"); break;
		case 'n': total = arg_number(optarg, "requests"); break;
		case 'r': rate = arg_number(optarg, "rate"); break;
		case 's': mix.sasl_percent = (unsigned)arg_number(optarg, "percent"); break;
		default:
			fprintf(stderr, "usage: policy_path [-a accounts] [-H hosts] [-n requests] [-r rate] [-s percent]\n");
			return 2;
		}
	}
	if (total == 0)
		total = rate * 12;       /* the 2 s + 10 s of a bench/policy.sh run */
	if (mix.hosts == 0 || rate == 0) {
		fprintf(stderr, "policy_path: hosts, rate and requests must be above 0\n");
		return 2;
	}

	uint8_t *reqs = malloc((size_t)DISTINCT * POLICY_REQUEST_BUF);
	size_t *lens = malloc(DISTINCT * sizeof(*lens));
	if (reqs == NULL || lens == NULL)
		return 1;
	for (size_t i = 0; i < DISTINCT; i++)
		lens[i] = policy_request_build(&mix, (char *)reqs + i * POLICY_REQUEST_BUF, i);

	/* bench/policy.sh's limits */
	struct config cfg;
	char err[256];
	config_defaults(&cfg);
	cfg.daemon.log_level = LOG_LEVEL_WARN;
	cfg.policy.count_at = COUNT_AT_DATA;
	cfg.limits.host_messages = (struct rate_spec){ 3600, 3600 * USEC_PER_SEC, 100 };
	cfg.limits.host_recipients = (struct rate_spec){ 10800, 3600 * USEC_PER_SEC, 300 };
	cfg.limits.account_messages = cfg.limits.host_messages;
	cfg.limits.account_recipients = cfg.limits.host_recipients;
	log_init("policy_path", 0, LOG_LEVEL_WARN);
	struct judge *j = judge_new(&cfg, NULL);
	if (j == NULL || judge_configure(j, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy_path: judge: %s\n", j ? err : "out of memory");
		return 1;
	}
	struct relay *r = relay_new(j, &cfg);
	if (r == NULL)
		return 1;

	/* Each request is copied into one buffer first, as read() copies it into the
	 * connection's: what the server parses is in the cache. The copy alone: */
	static uint8_t hot[POLICY_REQUEST_BUF];
	double t0 = now_s();
	for (unsigned long n = 0; n < total; n++) {
		size_t k = n % DISTINCT;
		memcpy(hot, reqs + k * POLICY_REQUEST_BUF, lens[k]);
		__asm__ volatile("" : : "r"(hot) : "memory");
	}
	double copy_ns = (now_s() - t0) / (double)total * 1e9;

	/* framing + parsing alone */
	struct policy_request req;
	size_t used;
	unsigned long attrs = 0;
	t0 = now_s();
	for (unsigned long n = 0; n < total; n++) {
		size_t k = n % DISTINCT;
		memcpy(hot, reqs + k * POLICY_REQUEST_BUF, lens[k]);
		if (policy_frame_parse(hot, lens[k], &used, &req) != 1) {
			fprintf(stderr, "policy_path: request %zu does not parse\n", k);
			return 1;
		}
		attrs += req.attributes;
	}
	double parse_ns = (now_s() - t0) / (double)total * 1e9;

	/* the whole path, the clock advancing at RATE requests a second */
	unsigned long actions[POLICY_ACTION_COUNT] = { 0 };
	char answer[POLICY_ANSWER_MAX];
	size_t alen, answered = 0;
	usec_t start = time_now();
	t0 = now_s();
	for (unsigned long n = 0; n < total; n++) {
		size_t k = n % DISTINCT;
		usec_t at = start + (usec_t)((double)n * 1e6 / (double)rate);
		memcpy(hot, reqs + k * POLICY_REQUEST_BUF, lens[k]);
		if (policy_frame_parse(hot, lens[k], &used, &req) != 1)
			return 1;
		actions[relay_decide(r, &req, at, answer, &alen)]++;
		answered += alen;
	}
	double path_ns = (now_s() - t0) / (double)total * 1e9;

	printf("policy_path: %lu requests (%lu distinct, %.0f bytes, %.1f attributes on average), "
	    "%lu hosts, %lu accounts, %lu requests/s\n", total, (unsigned long)DISTINCT,
	    (double)used, (double)attrs / (double)total, mix.hosts, mix.accounts, rate);
	printf("copy               %7.1f ns/request (subtracted below)\n", copy_ns);
	printf("frame+parse        %7.1f ns/request\n", parse_ns - copy_ns);
	printf("frame+parse+decide %7.1f ns/request (decide ~%.1f)  DUNNO %.1f %%  DEFER_IF_PERMIT %.1f %%  REJECT %.1f %%\n",
	    path_ns - copy_ns, path_ns - parse_ns, 100.0 * actions[POLICY_DUNNO] / total, 100.0 * actions[POLICY_DEFER] / total,
	    100.0 * actions[POLICY_REJECT] / total);
	relay_free(r);
	judge_free(j);
	config_free(&cfg);
	free(reqs);
	free(lens);
	return answered > 0 ? 0 : 1;
}
