/*
 * report_mail_read — one mail message through the mail report reader
 * (src/sense/report_mail.h), its events printed as tests/data/reports/mail/README.md writes
 * them (event ..., detail ..., count ..., error ...). For the integration tests, which make
 * their messages with a real Postfix.
 *   report_mail_read [-r RELAY]... [-n RELAY_NET]... FILE|-
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sense/report_mail.h"

static int
print(void *arg, const struct report_event *ev)
{
	char a[64], t[32];

	(void)arg;
	addr_format(&ev->addr, a, sizeof(a));
	if (ev->time == 0)
		snprintf(t, sizeof(t), "0");
	else
		time_format(ev->time, t, sizeof(t));
	printf("event %s %s ", report_kind_name(ev->kind), a);
	if (ev->has_port)
		printf("%u ", ev->port);
	else
		printf("- ");
	printf("%s %s %s %s\n", t, ev->family[0] ? ev->family : "-", ev->type[0] ? ev->type : "-",
		ev->id[0] ? ev->id : "-");
	if (ev->detail[0] != '\0')
		printf("detail %s\n", ev->detail);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *relays[16];
	struct cidr nets[16];
	struct report_mail_options opt = { .relays = relays, .relay_nets = nets };
	struct report_mail_stats st = { 0 };
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	FILE *fp;
	int c, rc;

	while ((c = getopt(argc, argv, "r:n:")) != -1) {
		if (c == 'r' && opt.nrelays < 16) {
			relays[opt.nrelays++] = optarg;
		} else if (c == 'n' && opt.nrelay_nets < 16 && cidr_parse(optarg, &nets[opt.nrelay_nets]) == 0) {
			opt.nrelay_nets++;
		} else {
			fprintf(stderr, "usage: report_mail_read [-r RELAY]... [-n RELAY_NET]... FILE|-\n");
			return 2;
		}
	}
	if (optind != argc - 1 || buf == NULL)
		return 2;
	fp = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "rb");
	if (fp == NULL) {
		perror(argv[optind]);
		return 1;
	}
	for (size_t n; (n = fread(buf + len, 1, cap - len, fp)) > 0;) {
		len += n;
		if (len == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			return 1;
	}
	rc = report_mail_read(buf, len, &opt, print, NULL, &st);
	for (int i = 1; i < REPORT_MAIL_ERROR_COUNT; i++)
		if (st.reasons[i] > 0 && !(rc < 0 && -rc == i))
			printf("count %s %llu\n", report_mail_error_name(i), (unsigned long long)st.reasons[i]);
	if (rc < 0)
		printf("error %s\n", report_mail_error_name(rc));
	free(buf);
	return 0;
}
