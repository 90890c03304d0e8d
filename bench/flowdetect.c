/*
 * flowdetect.c — records per second through every flow detector (sense/flowdetect.c), in
 * process, and what the hosts cost active and quiet (bench/README.md, "flowdetect").
 *
 * A /10 of subscribers, H active hosts, a DROP-sized plain blocklist, one relay. A ring
 * of 65 536 prepared records (deterministic): three in four outbound, TCP 60 % (443, 80,
 * 25, 53), UDP 30 %, ICMP 10 %, one TCP record in three SYN only, 1-20 packets; one in
 * four inbound, as the same mix seen from outside. Time advances 2 µs a record, so the
 * EWMA folds, the windows and the judge run as they would on a busy collector. Then
 * every host is left quiet for 30 minutes and flow_detect_expire runs.
 *
 *   build/bench/flowdetect [HOSTS [RECORDS]]     (default 10 000 hosts, 5 000 000 records)
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "judge/judge.h"
#include "sense/flowdetect.h"

#define RING 65536

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	unsigned hosts = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 5000000;
	char list[] = "/tmp/lazaret-bench-drop-XXXXXX", err[512];
	struct config cfg;
	struct flow_record *ring = calloc(RING, sizeof(*ring));
	int fdl = mkstemp(list);
	FILE *fp = fdl >= 0 ? fdopen(fdl, "w") : NULL;

	if (ring == NULL || fp == NULL || hosts == 0 || hosts > (1u << 22)) {
		fprintf(stderr, "usage: flowdetect [HOSTS (1..4194304) [RECORDS]]\n");
		return 2;
	}
	for (int i = 0; i < 1500; i++)          /* DROP-sized: 1 500 /24s */
		fprintf(fp, "%u.%u.%u.0/24\n", 1 + next_rand() % 220, next_rand() % 256, next_rand() % 256);
	fclose(fp);
	log_set_level(LOG_LEVEL_ERROR);
	config_defaults(&cfg);
	snprintf(cfg.path, sizeof(cfg.path), "bench");
	cfg.network.subscribers = calloc(1, sizeof(struct cidr));
	cfg.network.relays = calloc(1, sizeof(struct addr));
	cfg.flows.blocklists = calloc(1, sizeof(struct flow_blocklist_conf));
	if (cfg.network.subscribers == NULL || cfg.network.relays == NULL || cfg.flows.blocklists == NULL)
		return 1;
	cfg.network.subscriber_count = cfg.network.relay_count = cfg.flows.blocklist_count = 1;
	cidr_parse("100.64.0.0/10", &cfg.network.subscribers[0]);
	addr_parse("198.51.100.25", 13, &cfg.network.relays[0]);
	snprintf(cfg.flows.blocklists[0].name, sizeof(cfg.flows.blocklists[0].name), "drop");
	snprintf(cfg.flows.blocklists[0].format, sizeof(cfg.flows.blocklists[0].format), "plain");
	snprintf(cfg.flows.blocklists[0].path, sizeof(cfg.flows.blocklists[0].path), "%s", list);
	struct judge *j = judge_new(&cfg, NULL);
	struct flow_detect *fd = j != NULL ? flow_detect_new(j, &cfg) : NULL;
	if (fd == NULL || judge_configure(j, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "flowdetect: cannot set up: %s\n", err);
		return 1;
	}
	unlink(list);
	for (int i = 0; i < RING; i++) {
		struct flow_record *r = &ring[i];
		uint32_t h = next_rand() % hosts, k = next_rand() % 10;
		struct addr sub = { AF_INET, { 100, (uint8_t)(64 + (h >> 16)), (uint8_t)(h >> 8), (uint8_t)h } };
		struct addr far = { AF_INET, { (uint8_t)(1 + next_rand() % 220), (uint8_t)next_rand(), (uint8_t)next_rand(),
		    (uint8_t)next_rand() } };
		bool out = next_rand() % 4 != 0;
		r->src = out ? sub : far;
		r->dst = out ? far : sub;
		r->proto = k < 6 ? IPPROTO_TCP : k < 9 ? IPPROTO_UDP : IPPROTO_ICMP;
		r->dst_port = k < 3 ? 443 : k < 5 ? 80 : k == 5 ? 25 : 53;
		r->tcp_flags = r->proto != IPPROTO_TCP ? 0 : next_rand() % 3 ? 0x1b : 0x02;
		r->packets = 1 + next_rand() % 20;
		r->bytes = r->packets * 500;
		r->sampling = 1;
	}
	usec_t t0 = (usec_t)1795759200 * USEC_PER_SEC;
	double a = mono();
	for (unsigned long i = 0; i < n; i++)
		flow_detect_record(fd, &ring[i % RING], t0 + (usec_t)i * 2);
	double b = mono();
	struct flow_detect_stats st;
	flow_detect_stats_get(fd, &st);
	size_t busy = flow_detect_bytes(fd);
	printf("%u hosts, %lu records: %.3f s, %.2f M records/s (%.0f ns a record)\n", hosts, n, b - a,
	    (double)n / (b - a) / 1e6, (b - a) / (double)n * 1e9);
	printf("hosts followed %zu: %zu bytes active (%.0f a host)", st.hosts, busy, (double)busy / (double)st.hosts);
	flow_detect_expire(fd, t0 + (usec_t)n * 2 + 1800 * USEC_PER_SEC, SIZE_MAX);
	printf(", %zu quiet (%.0f a host)\n", flow_detect_bytes(fd), (double)flow_detect_bytes(fd) / (double)st.hosts);
	printf("evidence updates:");
	for (int k = 0; k < FLOW_DETECT_KINDS; k++)
		printf(" %s %llu", flow_detect_kind_name(k), (unsigned long long)st.evidence[k]);
	printf("\n");
	flow_detect_free(fd);
	judge_free(j);
	config_free(&cfg);
	free(ring);
	return 0;
}
