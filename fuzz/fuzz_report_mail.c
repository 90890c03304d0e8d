/*
 * fuzz_report_mail.c — libFuzzer target for the mail report reader: the input as one
 * whole message, read with two relays of ours named; every event's kind is one of the
 * four, its text fields end inside them, and a refusal has a name. The same input is also
 * read as a bare X-ARF JSON report, and a short one as an RFC 5322 date.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sense/report_mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(void *arg, const struct report_event *ev)
{
	(void)arg;
	if ((unsigned)ev->kind >= REPORT_KIND_COUNT || ev->format == NULL || (!ev->has_port && ev->port != 0) ||
	    memchr(ev->family, '\0', sizeof(ev->family)) == NULL || memchr(ev->type, '\0', sizeof(ev->type)) == NULL ||
	    memchr(ev->detail, '\0', sizeof(ev->detail)) == NULL || memchr(ev->id, '\0', sizeof(ev->id)) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const relays[] = { "relay1.isp.example", "relay2.isp.example" };
	struct report_mail_options opt = { .relays = relays, .nrelays = 2 };
	struct report_mail_stats st = { 0 };
	usec_t t;
	int rc;

	rc = report_mail_read((const char *)data, size, &opt, check, NULL, &st);
	if (rc < 0 && strcmp(report_mail_error_name(rc), "unknown") == 0)
		abort();
	rc = report_mail_read_json((const char *)data, size, &opt, check, NULL, &st);
	if (rc < 0 && strcmp(report_mail_error_name(rc), "unknown") == 0)
		abort();
	if (size < 128)
		(void)report_mail_date((const char *)data, size, &t);
	return 0;
}
