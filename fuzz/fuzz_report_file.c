/*
 * fuzz_report_file.c — libFuzzer target for a report file as the spool reads it: the bytes
 * in a file (a memfd), sniffed, then fed to their reader in chunks of a few events as the
 * worker does, lines cut across the reader's buffer refills. Every event must have a kind
 * of the table and terminated, clean text fields; every refusal a name; the reader must
 * stop.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sense/report_formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
clean(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();                   /* not terminated */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();           /* a control character let through */
}

static int
check_event(void *arg, const struct report_event *ev)
{
	(void)arg;
	if ((unsigned)ev->kind >= REPORT_KIND_COUNT || ev->format == NULL)
		abort();
	if (ev->addr.family != 2 && ev->addr.family != 10)     /* AF_INET, AF_INET6 */
		abort();
	clean(ev->family, sizeof(ev->family));
	clean(ev->type, sizeof(ev->type));
	clean(ev->detail, sizeof(ev->detail));
	clean(ev->id, sizeof(ev->id));
	return 0;
}

static void
refused(void *arg, const char *reason)
{
	(void)arg;
	if (reason == NULL || *reason == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const relays[] = { "relay.example.net" };
	static struct cidr nets[1];
	const struct report_reader_options opt = { .max_size = 1 << 20, .relay_names = relays, .relay_name_count = 1,
	    .relay_nets = nets, .relay_net_count = 1 };
	struct report_reader r;
	char reason[256];
	int fd = memfd_create("report", MFD_CLOEXEC), rc, steps = 0;

	if (fd < 0)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	lseek(fd, 0, SEEK_SET);
	/* the name says the report type, as Shadowserver's file names do */
	if (nets[0].addr.family == 0)
		cidr_parse("192.0.2.25", &nets[0]);
	if (report_reader_open(&r, (const char *)data, size < 4096 ? size : 4096, "2026-12-04-event4_drone-x.csv", fd,
	    size, &opt, reason, sizeof(reason)) == 0) {
		while ((rc = report_reader_step(&r, 3, check_event, refused, NULL, reason, sizeof(reason))) > 0)
			if (++steps > 1000000)
				abort();           /* a reader that never ends */
		if (rc < 0 && *report_reader_failure(&r) == '\0')
			abort();
	}
	report_reader_close(&r);
	close(fd);
	return 0;
}
