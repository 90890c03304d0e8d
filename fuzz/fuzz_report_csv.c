/*
 * fuzz_report_csv.c — libFuzzer target for Shadowserver's CSV reports: the first input
 * line is the file's name (the type hint), the rest the file, read whole by
 * report_csv_read (records over quoted newlines) and again line by line in buffers of
 * exactly their length; every event's text fields are NUL-terminated within their size
 * and its kind one of the four, every refusal has a name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_lines.h"
#include "sense/report_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct report_event *ev)
{
	if (memchr(ev->family, '\0', sizeof(ev->family)) == NULL || memchr(ev->type, '\0', sizeof(ev->type)) == NULL ||
	    memchr(ev->detail, '\0', sizeof(ev->detail)) == NULL || memchr(ev->id, '\0', sizeof(ev->id)) == NULL)
		abort();
	if ((unsigned)ev->kind >= REPORT_KIND_COUNT || strcmp(ev->format, "shadowserver") != 0)
		abort();
	if (ev->addr.family != 2 && ev->addr.family != 10)
		abort();
}

static int
emit(void *arg, const struct report_event *ev)
{
	(void)arg;
	check(ev);
	return 0;
}

static void
one_line(void *arg, const char *line, size_t len)
{
	struct report_event ev;
	int rc = report_csv_line(arg, line, len, &ev);

	if (rc == 1)
		check(&ev);
	else if (rc < 0 && strcmp(report_csv_error_name(rc), "unknown") == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct report_csv_reader r;
	struct report_csv_stats st = { 0 };
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl != NULL ? (size_t)(nl - data) : size, hl = first;
	size_t skip = nl != NULL ? first + 1 : size;
	char hint[128];

	if (hl >= sizeof(hint))
		hl = sizeof(hint) - 1;
	memcpy(hint, data, hl);
	hint[hl] = '\0';
	data += skip;
	size -= skip;

	char *copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	if (report_csv_read(copy, size, hint, emit, NULL, &st) != 0)
		abort();
	uint64_t refused = 0;
	for (int e = 0; e < REPORT_CSV_ERROR_COUNT; e++)
		refused += st.refused[e];
	if (st.events + refused != st.rows || st.refused[0] != 0)
		abort();
	free(copy);

	report_csv_reader_init(&r, hint);
	fuzz_each_line(data, size, one_line, &r);
	return 0;
}
