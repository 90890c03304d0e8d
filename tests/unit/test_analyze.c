/*
 * test_analyze.c — lazaretctl analyze's JSON with jansson made to fail: every
 * allocation jansson makes fails in turn, and each run either prints exactly what a
 * run with memory prints or says on stderr what it could not write and returns 1.
 * Never a subject or an evidence item silently missing with status 0 (issue 14 item
 * 4: a json_pack failure was ignored and the subject dropped).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/analyze.h"

/* jansson's allocations: the one numbered fail_at fails (0: none does) */
static unsigned long alloc_calls, fail_at;
static bool alloc_failed;

static void *
failing_malloc(size_t n)
{
	if (fail_at != 0 && ++alloc_calls == fail_at) {
		alloc_failed = true;
		return NULL;
	}
	return malloc(n);
}

struct fx {
	char dir[64];
	char log[96], out[96], err[96];
};

/*
 * A log that flags three subjects with two kinds of evidence each: an account whose
 * SASL name is not UTF-8 and holds a control byte, its host, and a second host; the
 * remote server that refused the first one's mail as spam has such a name too.
 */
static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	FILE *fp;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_analyze.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/mail.log", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
	snprintf(f->err, sizeof(f->err), "%s/err", f->dir);
	assert_non_null(fp = fopen(f->log, "w"));
	for (int i = 0; i < 40; i++) {
		fprintf(fp, "Dec  4 10:00:%02d relay postfix/smtpd[123]: 3F2A1B2C%02X: client=pc.example[192.0.2.7], "
		    "sasl_method=PLAIN, sasl_username=j\xf6rg\x01@example.de\n", i, i);
		fprintf(fp, "Dec  4 10:00:%02d relay postfix/smtp[124]: 3F2A1B2C%02X: to=<u%d@example.org>, "
		    "relay=mx\xff\x1b.example.org[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, "
		    "status=bounced (host mx.example.org said: 550 5.7.1 Message rejected as spam)\n", i, i, i);
		fprintf(fp, "Dec  4 10:01:%02d relay postfix/smtpd[125]: 4F2A1B2C%02X: client=pc2.example[192.0.2.8]\n",
		    i, i);
		fprintf(fp, "Dec  4 10:01:%02d relay postfix/smtp[126]: 4F2A1B2C%02X: to=<v%d@example.org>, "
		    "relay=mx.example.org[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=5.7.1, "
		    "status=bounced (host mx.example.org said: 550 5.7.1 Message rejected as spam)\n", i, i, i);
	}
	assert_int_equal(fclose(fp), 0);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	json_set_alloc_funcs(malloc, free);
	unlink(f->log);
	unlink(f->out);
	unlink(f->err);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Runs analyze --json over the log, stdout and stderr into files; returns its status. */
static int
run(struct fx *f)
{
	char *files[] = { f->log };
	int out = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int err = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved_out = dup(1), saved_err = dup(2), rc;

	assert_true(out >= 0 && err >= 0 && saved_out >= 0 && saved_err >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	rc = analyze_run(files, 1, NULL, 1, ANALYZE_MAILLOG);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(out);
	close(err);
	close(saved_out);
	close(saved_err);
	return rc;
}

/* A file's text without its "seconds" line (the time taken differs from run to run). */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	size_t len = 0;
	char *text = calloc(1, 1);

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, "\"seconds\": ") == line + 2)
			continue;
		size_t n = strlen(line);
		assert_non_null(text = realloc(text, len + n + 1));
		memcpy(text + len, line, n + 1);
		len += n;
	}
	fclose(fp);
	return text;
}

static void
test_json_complete_or_failed(void **state)
{
	struct fx *f = *state;
	json_error_t jerr;
	char *want, *got, *err;
	unsigned long failures = 0;

	json_set_alloc_funcs(failing_malloc, free);
	fail_at = 0;
	assert_int_equal(run(f), 0);
	want = slurp(f->out);
	/* with memory: all three subjects, each with its two kinds of evidence */
	json_t *root = json_loads(want, 0, &jerr);
	if (root == NULL)
		fail_msg("not JSON: %s: %s", jerr.text, want);
	json_t *flagged = json_object_get(root, "flagged");
	assert_int_equal(json_array_size(flagged), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_array_size(json_object_get(json_array_get(flagged, i), "evidence")), 2);
	assert_non_null(strstr(want, "\"subject\": \"account:j%F6rg%01@example.de\""));
	assert_non_null(strstr(want, "last by mx%FF%1B.example.org"));
	json_decref(root);

	for (fail_at = 1;; fail_at++) {
		alloc_calls = 0;
		alloc_failed = false;
		int rc = run(f);

		if (!alloc_failed) {
			assert_int_equal(rc, 0);
			break;
		}
		got = slurp(f->out);
		err = slurp(f->err);
		if (rc == 0 && strcmp(got, want) != 0)
			fail_msg("allocation %lu failed, status 0, and the output differs:\n%s", fail_at, got);
		if (rc != 0) {
			assert_int_equal(rc, 1);
			if (strstr(err, "cannot write") == NULL)
				fail_msg("allocation %lu failed, status %d, no error on stderr: '%s'", fail_at, rc, err);
			failures++;
		}
		free(got);
		free(err);
	}
	/* the loop went through every allocation of the JSON, and some failed on purpose */
	assert_true(fail_at > 20);
	assert_true(failures > 0);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_complete_or_failed, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
