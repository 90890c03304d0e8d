/*
 * html_check.c — the portal's HTML check as a command, for pages fetched by the
 * integration test (curl, Chromium's DOM) and for operators checking a template.
 *
 *   html_check [-t] [-u SELF_URL] [FILE...]     (no FILE, or "-": standard input)
 *
 * -t checks a template (placeholders only in text and quoted attribute values).
 * Prints "FILE: line N: what" for each file that fails; exits 0 when all pass, 1 when
 * one fails, 2 on a usage or read error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal/html_check.h"

static int
check_file(const char *path, const char *self_url, unsigned flags)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *doc = NULL, why[512];
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return 2;
	}
	do {
		if (len + 65536 > cap) {
			char *grown = realloc(doc, cap = len + 65536);
			if (grown == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(doc);
				return 2;
			}
			doc = grown;
		}
		n = fread(doc + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		perror(path);
		free(doc);
		return 2;
	}
	if (f != stdin)
		fclose(f);
	int rc = html_check(doc ? doc : "", len, self_url, flags, why, sizeof(why));
	if (rc != 0)
		printf("%s: %s\n", path, why);
	free(doc);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *self_url = NULL;
	unsigned flags = 0;
	int ch, worst = 0;

	while ((ch = getopt(argc, argv, "tu:")) != -1) {
		switch (ch) {
		case 't': flags |= HTML_CHECK_TEMPLATE; break;
		case 'u': self_url = optarg; break;
		default:
			fprintf(stderr, "usage: html_check [-t] [-u SELF_URL] [FILE...]\n");
			return 2;
		}
	}
	if (optind == argc)
		return check_file("-", self_url, flags);
	for (int i = optind; i < argc; i++) {
		int rc = check_file(argv[i], self_url, flags);
		if (rc > worst)
			worst = rc;
	}
	return worst;
}
