/*
 * radius_history.c — the store's size with a long address history (bench/radius.sh,
 * bench/README.md): N subscribers, each reconnecting once a day for D days with a new
 * IPv4 address (in 100.64.0.0/10) and a new delegated /56, written the way ident writes
 * them (store_binding_close for yesterday's two networks, store_binding_open for today's),
 * then the store's file size. 180 days of 1 M subscribers is 360 M intervals: radius.sh
 * writes a fraction and scales by rows.
 *
 * usage: radius_history STORE SUBSCRIBERS DAYS
 * Output: one line of key=value (rows, bytes, bytes_per_row, seconds).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/timeutil.h"
#include "store/store.h"

#define DAY (86400 * USEC_PER_SEC)

static int
count_open(void *arg, const struct store_binding *b)
{
	(void)b;
	++*(uint64_t *)arg;
	return 0;
}

static void
net_of(uint32_t sub, uint32_t day, int v6, uint32_t subscribers, struct cidr *out)
{
	/* each day a different address of the pool: another subscriber's yesterday */
	uint32_t idx = (uint32_t)(((uint64_t)day * 7919 + sub) % ((uint64_t)subscribers * 2));

	memset(out, 0, sizeof(*out));
	if (!v6) {
		out->addr.family = AF_INET;
		uint32_t a = 0x64400000u | (idx & 0x3fffff);
		out->addr.bytes[0] = (uint8_t)(a >> 24);
		out->addr.bytes[1] = (uint8_t)(a >> 16);
		out->addr.bytes[2] = (uint8_t)(a >> 8);
		out->addr.bytes[3] = (uint8_t)a;
		out->prefix = 32;
		return;
	}
	out->addr.family = AF_INET6;
	out->addr.bytes[0] = 0x20;
	out->addr.bytes[1] = 0x01;
	out->addr.bytes[2] = 0x0d;
	out->addr.bytes[3] = 0xb8;
	out->addr.bytes[4] = (uint8_t)(idx >> 16);
	out->addr.bytes[5] = (uint8_t)(idx >> 8);
	out->addr.bytes[6] = (uint8_t)idx;
	out->prefix = 56;
}

static int64_t
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

int
main(int argc, char **argv)
{
	char err[256], wal[4096];
	struct store_binding b;
	uint64_t rows = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: radius_history STORE SUBSCRIBERS DAYS\n");
		return 2;
	}
	uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10), days = (uint32_t)strtoul(argv[3], NULL, 10);
	struct store *st = store_open(argv[1], NULL, err, sizeof(err));
	if (st == NULL || n == 0) {
		fprintf(stderr, "radius_history: %s\n", st == NULL ? err : "no subscribers");
		return 1;
	}
	usec_t t0 = time_mono(), start = time_now() - (usec_t)days * DAY;
	memset(&b, 0, sizeof(b));
	snprintf(b.origin, sizeof(b.origin), "bench");
	snprintf(b.source, sizeof(b.source), "radius");
	for (uint32_t d = 0; d < days; d++) {
		for (uint32_t s = 0; s < n; s++) {
			usec_t at = start + (usec_t)d * DAY + (usec_t)s * (DAY / n);
			b.subscriber_len = (size_t)snprintf(b.subscriber, sizeof(b.subscriber), "sub%07u", s);
			snprintf(b.session, sizeof(b.session), "%08X-%04X", s, d);
			b.start = at;
			for (int v6 = 0; v6 < 2; v6++) {
				if (d > 0) {
					struct cidr old;
					net_of(s, d - 1, v6, n, &old);
					if (store_binding_close(st, &old, b.subscriber, b.subscriber_len, at, NULL, NULL) != 0)
						goto fail;
				}
				net_of(s, d, v6, n, &b.net);
				if (store_binding_open(st, &b, NULL, NULL) != 0)
					goto fail;
				rows++;
			}
		}
		store_flush(st);
	}
	/* the journal folded into the indexed history (what a lookup of last month reads), as
	 * the writer does when idle: the size is the history's, the time includes the fold */
	uint64_t open = 0;
	if (store_bindings_load_open(st, count_open, &open) != 0)
		goto fail;
	store_close(st);
	double secs = (double)(time_mono() - t0) / USEC_PER_SEC;
	snprintf(wal, sizeof(wal), "%s-wal", argv[1]);
	int64_t bytes = file_size(argv[1]), wal_bytes = file_size(wal);
	printf("subscribers=%u days=%u rows=%" PRIu64 " open=%" PRIu64 " bytes=%" PRId64 " wal_bytes=%" PRId64 " bytes_per_row=%.1f "
	    "seconds=%.1f rows_per_s=%.0f\n", n, days, rows, open, bytes, wal_bytes, (double)bytes / (double)rows, secs,
	    (double)rows / secs);
	return 0;
fail:
	fprintf(stderr, "radius_history: the store refused a write\n");
	store_close(st);
	return 1;
}
