/*
 * report_csv.c — Shadowserver CSV rows per second through the reader alone, in process:
 * a botnet_drone-shaped file of N rows (default 1 000 000, the old report's 34 quoted
 * columns, each row a different address, port and family) built in memory, then read by
 * report_csv_read with an emit that only counts. Prints rows/s and MB/s of the best of
 * three runs. The pipeline's figure (dedup, attribution, the store) is bench/reports.sh's.
 *
 *   build/bench/report_csv [ROWS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sense/report_csv.h"

static const char header[] =
	"\"timestamp\",\"ip\",\"port\",\"asn\",\"geo\",\"region\",\"city\",\"hostname\",\"type\",\"infection\",\"url\","
	"\"agent\",\"cc_ip\",\"cc_port\",\"cc_asn\",\"cc_geo\",\"cc_dns\",\"count\",\"proxy\",\"application\",\"p0f_genre\","
	"\"p0f_detail\",\"machine_name\",\"id\",\"naics\",\"sic\",\"cc_naics\",\"cc_sic\",\"sector\",\"cc_sector\","
	"\"ssl_cipher\",\"family\",\"tag\",\"public_source\"\n";

static const char *const families[] = { "andromeda", "gozi", "zeroaccess", "mirai", "necurs", "conficker", "tinba",
	"nivdort" };

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
count(void *arg, const struct report_event *ev)
{
	*(uint64_t *)arg += ev->port;
	return 0;
}

int
main(int argc, char **argv)
{
	long rows = argc > 1 ? atol(argv[1]) : 1000000;
	size_t size = sizeof(header) + (size_t)rows * 400, len = 0;
	char *buf = malloc(size);
	double best = 1e9;

	if (rows <= 0 || buf == NULL)
		return 1;
	memcpy(buf, header, sizeof(header) - 1);
	len = sizeof(header) - 1;
	for (long i = 0; i < rows; i++) {
		const char *fam = families[i % 8];
		len += (size_t)snprintf(buf + len, size - len,
			"\"2024-11-20 %02ld:%02ld:%02ld\",\"10.%ld.%ld.%ld\",%ld,64496,\"DE\",\"HESSEN\",\"FRANKFURT AM MAIN\","
			"\"host-%ld.example.net\",\"tcp\",\"%s\",,\"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)\","
			"\"203.0.113.%ld\",80,64511,\"US\",,1,,,\"Windows\",\"7 or 8\",,,517311,0,0,0,\"Communications\",,,"
			"\"%s\",\"sinkhole\",\"Shadowserver\"\n",
			(i / 3600) % 24, (i / 60) % 60, i % 60, (i >> 16) & 255, (i >> 8) & 255, i & 255, 1024 + i % 64000, i,
			fam, i % 254 + 1, fam);
	}
	for (int run = 0; run < 3; run++) {
		struct report_csv_stats st = { 0 };
		uint64_t sink = 0;
		double t0 = now();
		if (report_csv_read(buf, len, "2024-11-20-botnet_drone-as64496-bench.csv", count, &sink, &st) != 0 ||
		    st.events != (uint64_t)rows) {
			fprintf(stderr, "report_csv: %llu events of %ld rows\n", (unsigned long long)st.events, rows);
			return 1;
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	printf("report_csv rows=%ld bytes=%zu best_s=%.3f rows_per_s=%.0f mb_per_s=%.1f\n", rows, len, best,
		(double)rows / best, (double)len / best / 1e6);
	free(buf);
	return 0;
}
