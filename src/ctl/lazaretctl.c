/*
 * lazaretctl.c — the operator's command line for lazaretd's HTTP API: lists of
 * hosts and accounts, explanations an abuse desk can read out, manual
 * quarantine and release, history and statistics.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "common/addr.h"
#include "common/config.h"
#include "common/level.h"
#include "common/log.h"
#include "common/jsondump.h"
#include "common/strview.h"
#include "common/subject_text.h"
#include "common/timeutil.h"
#include "ctl/analyze.h"
#include "ctl/http_client.h"
#include "store/pg.h"
#include "store/pg_schema.h"

#ifndef LAZARET_VERSION
#define LAZARET_VERSION		"0.1.0"
#endif

/*
 * Where lazaretctl looks without --api or $LAZARET_API: the packaged install's socket,
 * then the one `make run` makes in the source tree (etc/lazaret.conf: var/api.sock).
 */
#define CTL_DEFAULT_API		"unix:/run/lazaret/api.sock"
#define CTL_SOURCE_TREE_API	"unix:var/api.sock"
#define CTL_DEFAULT_TIMEOUT	(10 * USEC_PER_SEC)
#define CTL_TOKEN_MAX		4096
#define CTL_SUBJECT_MAX		512

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_API = 1,	/* the daemon answered with an error; analyze: unreadable input */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3,	/* no usable HTTP answer */
};

/* Options a command accepts, as a mask over its getopt table. */
enum {
	CTL_OPT_LEVEL = 1 << 0,
	CTL_OPT_JSON = 1 << 1,
	CTL_OPT_REASON = 1 << 2,
	CTL_OPT_FOR = 1 << 3,
	CTL_OPT_MAILLOG = 1 << 4,
	CTL_OPT_CONFIG = 1 << 5,
	CTL_OPT_SELF_RELEASE = 1 << 6,
	CTL_OPT_AT = 1 << 7,
	CTL_OPT_SOURCE = 1 << 8,
};

struct ctl {
	const char	*api;		/* as given, for messages */
	const char	*token_file;
	const char	*cacert;	/* PEM CA file for https://, or NULL: the system's */
	usec_t		 timeout;
	struct http_url	 url;
	char		*token;
};

/* One command's parsed arguments. */
struct ctl_args {
	const char	*level;
	const char	*reason;
	const char	*duration;
	const char	*maillog;
	const char	*flows;
	const char	*config;
	int		 json;
	int		 self_release;
	const char	*at;
	const char	*source;
	int		 nargs;
	char		**args;
};

struct ctl_command {
	const char	*name;
	int		 opts;		/* CTL_OPT_* accepted */
	int		 nargs;		/* required positional arguments */
	const char	*usage;
	const char	*help;
	int		(*run)(struct ctl *, const struct ctl_command *, struct ctl_args *);
};

static const char *ctl_progname = "lazaretctl";

static void ctl_usage(FILE *, const struct ctl_command *);
static void ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
static int ctl_usage_error(const struct ctl_command *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Messages and memory --------------------------------------------------- */

static void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ctl_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
ctl_oom(void)
{
	ctl_warnx("out of memory");
	exit(CTL_EXIT_API);
}

static char *
ctl_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		ctl_oom();
	return d;
}

/* Reports a usage error for cmd (NULL: global) and returns the exit code. */
static int
ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ctl_progname);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ctl_usage(stderr, cmd);
	return CTL_EXIT_USAGE;
}

/*
 * Copies s for a terminal: the daemon's strings carry text from mail logs
 * and abuse reports, so control characters (C0 with tabs and line breaks,
 * DEL, C1) are written as %XX, as in subject text (common/subject_text.h),
 * rather than reaching the operator's terminal.
 */
static char *
ctl_clean(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *d = malloc(3 * n + 1), *q = d;
	const unsigned char *p = (const unsigned char *)s;

	if (d == NULL)
		ctl_oom();
	for (; *p != '\0'; p++) {
		size_t k = *p < 0x20 || *p == 0x7f ? 1 : *p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2 : 0;

		if (k == 0) {
			*q++ = (char)*p;
			continue;
		}
		for (; k > 0; k--, p++) {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 15];
		}
		p--;
	}
	*q = '\0';
	return d;
}

/* Is s valid UTF-8? */
static bool
ctl_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;
	uint32_t cp;

	for (; left > 0; p += n, left -= n)
		if ((n = *p < 0x80 ? 1 : utf8_decode(p, left, &cp)) == 0)
			return false;
	return true;
}

/* Display width: UTF-8 code points, which is close enough for aligning columns. */
static size_t
ctl_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* JSON values as text --------------------------------------------------- */

/* A JSON value as display text (malloc'd): null or missing is "-". */
static char *
ctl_text(const json_t *v)
{
	char buf[400];		/* %.2f of 1e308 fits */

	if (v == NULL || json_is_null(v))
		return ctl_strdup("-");
	if (json_is_string(v))
		return ctl_clean(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return ctl_strdup(buf);
	}
	if (json_is_real(v)) {
		char *e;

		/* Two decimals at most, trailing zeros dropped: 12.5, 7.04, 3. */
		snprintf(buf, sizeof(buf), "%.2f", json_real_value(v));
		if (strchr(buf, '.') != NULL) {
			for (e = buf + strlen(buf); e[-1] == '0'; e--)
				;
			if (e[-1] == '.')
				e--;
			*e = '\0';
		}
		return ctl_strdup(buf);
	}
	if (json_is_boolean(v))
		return ctl_strdup(json_is_true(v) ? "yes" : "no");
	return ctl_strdup("?");
}

static char *
ctl_member(const json_t *obj, const char *key)
{
	return ctl_text(json_is_object(obj) ? json_object_get(obj, key) : NULL);
}

/* Parses an RFC 3339 time ("2026-11-27T06:40:00Z", fractions and offsets allowed). */
static int
ctl_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;

	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
	    isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
		    ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
		if (*p == '-')
			off = -off;
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

/* A span in seconds, rounded for reading aloud: "45s", "12m", "3h27m", "2d4h". */
static char *
ctl_span(int64_t secs, char *buf, size_t size)
{
	if (secs >= 86400)
		secs -= secs % 3600;
	else if (secs >= 3600)
		secs -= secs % 60;
	if (secs == 0)
		snprintf(buf, size, "0s");
	else
		duration_format(secs * USEC_PER_SEC, buf, size);
	return buf;
}

/* A time member with its distance from now: "2026-11-27T06:40:00Z (2h ago)". */
static char *
ctl_when(const json_t *obj, const char *key)
{
	const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	char span[32], *text, *out;
	time_t t;
	int64_t d;

	text = ctl_text(v);
	if (!json_is_string(v) || ctl_parse_time(json_string_value(v), &t) != 0)
		return text;
	d = (int64_t)t - (int64_t)time(NULL);
	if (d > 0)
		ctl_span(d, span, sizeof(span));
	else
		ctl_span(-d, span, sizeof(span));
	if (asprintf(&out, "%s (%s%s%s)", text, d > 0 ? "in " : "", span,
	    d > 0 ? "" : " ago") < 0)
		ctl_oom();
	free(text);
	return out;
}

/* Aligned tables -------------------------------------------------------- */

struct ctl_table {
	size_t	 ncols;
	size_t	 nrows;
	char	**cells;	/* nrows * ncols, malloc'd */
};

/* Appends a row of ncols cells; takes ownership of them. */
static void
ctl_table_row(struct ctl_table *t, char **cells)
{
	char **grown;

	grown = reallocarray(t->cells, (t->nrows + 1) * t->ncols, sizeof(*grown));
	if (grown == NULL)
		ctl_oom();
	t->cells = grown;
	memcpy(t->cells + t->nrows * t->ncols, cells, t->ncols * sizeof(*cells));
	t->nrows++;
}

/* Prints and frees the table: columns two spaces apart, the last one unpadded. */
static void
ctl_table_print(struct ctl_table *t, const char *indent)
{
	size_t *w, r, c;

	if ((w = calloc(t->ncols, sizeof(*w))) == NULL)
		ctl_oom();
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t n = ctl_width(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			fputs(cell, stdout);
			if (c + 1 < t->ncols)
				printf("%*s", (int)(w[c] - ctl_width(cell) + 2), "");
		}
		fputc('\n', stdout);
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	free(w);
	t->cells = NULL;
	t->nrows = 0;
}

/* Talking to the daemon ------------------------------------------------- */

/* Reads the bearer token: the file's content without surrounding white space. */
static int
ctl_load_token(struct ctl *c)
{
	char buf[CTL_TOKEN_MAX + 2], *s, *e;
	size_t n;
	FILE *f;

	if (c->token_file == NULL)
		return 0;
	if ((f = fopen(c->token_file, "r")) == NULL) {
		ctl_warnx("cannot read token file %s: %s", c->token_file, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f)) {
		ctl_warnx("cannot read token file %s: %s", c->token_file, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n > CTL_TOKEN_MAX) {
		ctl_warnx("token file %s is larger than %d bytes", c->token_file, CTL_TOKEN_MAX);
		return -1;
	}
	buf[n] = '\0';
	for (s = buf; isspace((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (*s == '\0') {
		ctl_warnx("token file %s is empty", c->token_file);
		return -1;
	}
	for (e = s; *e != '\0'; e++)
		if ((unsigned char)*e <= 0x20 || (unsigned char)*e >= 0x7f) {
			ctl_warnx("token file %s: the token must be one line of printable "
			    "ASCII without spaces", c->token_file);
			return -1;
		}
	c->token = ctl_strdup(s);
	return 0;
}

/*
 * Sends one request (body: a JSON object or NULL) and decodes the answer;
 * what (the subject, or NULL) prefixes the daemon's error message.
 * Returns CTL_EXIT_OK with *rootp set to the JSON object of a 2xx answer,
 * or another exit code after telling the operator what went wrong.
 */
static int
ctl_call(struct ctl *c, const char *method, const char *path, const json_t *body,
    const char *what, json_t **rootp)
{
	struct http_exchange ex;
	char err[512], *text = NULL;
	json_error_t jerr;
	json_t *root;
	int rc, status;

	*rootp = NULL;
	size_t len = 0;

	if (body != NULL && (text = jsondump_text(body, JSON_COMPACT, &len)) == NULL)
		ctl_oom();
	rc = http_request(&c->url, method, path, c->token, text, len,
	    c->cacert, (int)(c->timeout / 1000), &ex, err, sizeof(err));
	free(text);
	if (rc != 0) {
		ctl_warnx("%s", err);
		http_exchange_free(&ex);
		return CTL_EXIT_UNREACHABLE;
	}
	status = ex.status;
	root = json_loadb((const char *)ex.body, ex.body_len, 0, &jerr);

	if (status < 200 || status > 299) {
		const json_t *e = json_is_object(root) ? json_object_get(root, "error") : NULL;
		char *reason = NULL, *msg;

		if (!json_is_string(e))
			reason = ctl_clean(ex.reason);
		msg = e ? ctl_text(e) : NULL;
		ctl_warnx("%s%s%s (HTTP %d%s%s)%s", what ? what : "", what ? ": " : "",
		    msg ? msg : "request failed", status,
		    reason && *reason ? " " : "", reason ? reason : "",
		    status == 401 || status == 403 ?
		    "; check --token-file or LAZARET_TOKEN_FILE" : "");
		free(msg);
		free(reason);
		json_decref(root);
		http_exchange_free(&ex);
		return CTL_EXIT_API;
	}
	if (!json_is_object(root)) {
		if (root == NULL)
			ctl_warnx("%s answered %s %s with something other than JSON: %s",
			    c->url.name, method, path, jerr.text);
		else
			ctl_warnx("%s answered %s %s with JSON that is not an object",
			    c->url.name, method, path);
		json_decref(root);
		http_exchange_free(&ex);
		return CTL_EXIT_API;
	}
	http_exchange_free(&ex);
	*rootp = root;
	return CTL_EXIT_OK;
}

/* Prints the daemon's answer as indented JSON; whole or not at all (status 1). */
static void
ctl_print_json(const json_t *root)
{
	size_t len;
	char *text = jsondump_text(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER, &len);

	if (text == NULL)
		ctl_oom();
	fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
	free(text);
}

/*
 * Checks a subject and returns its escaped path segment. SUBJECT is subject text, as
 * lazaretctl prints it (common/subject_text.h): %XX stands for a byte, so an account
 * with a space or bytes that are not UTF-8 can be named. "user@example.net" is taken
 * as "account:user@example.net"; the daemon folds IPv6 itself.
 */
static char *
ctl_subject_path(const struct ctl_command *cmd, const char *subject, int *exitp)
{
	char *full, *esc, name[CTL_SUBJECT_MAX + 1];
	int rc;

	*exitp = CTL_EXIT_OK;
	if (*subject == '\0' || strlen(subject) > CTL_SUBJECT_MAX) {
		*exitp = ctl_usage_error(cmd, "SUBJECT must be 1 to %d bytes", CTL_SUBJECT_MAX);
		return NULL;
	}
	for (const char *p = subject; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*exitp = ctl_usage_error(cmd, "SUBJECT contains control characters");
			return NULL;
		}
	if ((rc = subject_text_decode(name, sizeof(name), NULL, subject, strlen(subject))) != 0) {
		*exitp = ctl_usage_error(cmd, "SUBJECT %s", rc == -EINVAL ? "cannot hold a NUL byte (%00)" :
		    "is too long");
		return NULL;
	}
	if (strchr(name, '@') != NULL && strncmp(name, "account:", 8) != 0) {
		if (asprintf(&full, "account:%s", name) < 0)
			ctl_oom();
	} else
		full = ctl_strdup(name);
	if ((esc = http_path_escape(full)) == NULL)
		ctl_oom();
	free(full);
	return esc;
}

/*
 * One request about SUBJECT: METHOD /v1/subjects/SUBJECT[/suffix] with body (NULL
 * or a JSON object, kept by the caller). The same returns as ctl_call.
 */
static int
ctl_subject_call(struct ctl *c, const struct ctl_command *cmd, const char *subject, const char *method,
    const char *suffix, const json_t *body, json_t **rootp)
{
	char *seg, *path;
	int rc;

	if ((seg = ctl_subject_path(cmd, subject, &rc)) == NULL)
		return rc;
	if (ctl_load_token(c) != 0) {
		free(seg);
		return CTL_EXIT_USAGE;
	}
	if (asprintf(&path, "/v1/subjects/%s%s%s", seg, suffix ? "/" : "", suffix ? suffix : "") < 0)
		ctl_oom();
	free(seg);
	rc = ctl_call(c, method, path, body, subject, rootp);
	free(path);
	return rc;
}

/* GET path with the token: the same returns as ctl_call (a bad token file: usage). */
static int
ctl_get(struct ctl *c, const char *path, json_t **rootp)
{
	if (ctl_load_token(c) != 0)
		return CTL_EXIT_USAGE;
	return ctl_call(c, "GET", path, NULL, NULL, rootp);
}

/* With --json, every command prints the answer as it came: true when root was printed (and freed). */
static bool
ctl_printed_json(const struct ctl_args *a, json_t *root)
{
	if (!a->json)
		return false;
	ctl_print_json(root);
	json_decref(root);
	return true;
}

/* Commands -------------------------------------------------------------- */

/* The level, marked when the quarantine cap holds the subject back from quarantine. */
static char *
ctl_level_cell(const json_t *s)
{
	char *level = ctl_member(s, "level"), *out;

	if (!json_is_true(json_object_get(s, "held_by_cap")))
		return level;
	if (asprintf(&out, "%s (held by cap)", level) < 0)
		ctl_oom();
	free(level);
	return out;
}

/* quarantines: GET /v1/quarantine — who is isolated, who waits behind the cap, the kernel's state. */
static int
ctl_cmd_quarantines(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	json_t *root, *list, *s, *cap, *enf;
	size_t i;
	int rc;

	(void)cmd;
	if ((rc = ctl_get(c, "/v1/quarantine", &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	list = json_object_get(root, "quarantined");
	if (json_is_array(list) && json_array_size(list) > 0) {
		struct ctl_table t = { .ncols = 7 };
		ctl_table_row(&t, (char *[]){ ctl_strdup("SUBJECT"), ctl_strdup("LEVEL"), ctl_strdup("BY"),
		    ctl_strdup("ENFORCED"), ctl_strdup("NAS"), ctl_strdup("SELF-RELEASE"), ctl_strdup("REASON") });
		json_array_foreach(list, i, s) {
			/* the NAS's answer to the newest CoA or Disconnect: "acked (bng1)", "-" when none was sent */
			const json_t *nas = json_object_get(s, "nas");
			char *cell;
			if (json_is_object(nas)) {
				char *st = ctl_member(nas, "state"), *who = ctl_member(nas, "nas");
				if (asprintf(&cell, "%s (%s)", st, who) < 0)
					cell = NULL;
				free(st);
				free(who);
			} else
				cell = ctl_strdup("-");
			ctl_table_row(&t, (char *[]){ ctl_member(s, "subject"), ctl_member(s, "level"),
			    ctl_member(s, "by"), ctl_member(s, "enforced"), cell ? cell : ctl_strdup("?"),
			    ctl_member(s, "self_release"), ctl_member(s, "reason") });
		}
		ctl_table_print(&t, "");
	} else
		printf("Nobody is quarantined.\n");
	cap = json_object_get(root, "cap");
	list = json_object_get(root, "queued");
	if (json_is_array(list) && json_array_size(list) > 0) {
		struct ctl_table t = { .ncols = 3 };
		printf("\nHeld at throttle by the quarantine cap (quarantined when the cap allows):\n");
		ctl_table_row(&t, (char *[]){ ctl_strdup("SUBJECT"), ctl_strdup("SCORE"), ctl_strdup("REASON") });
		json_array_foreach(list, i, s)
			ctl_table_row(&t, (char *[]){ ctl_member(s, "subject"), ctl_member(s, "score"),
			    ctl_member(s, "reason") });
		ctl_table_print(&t, "  ");
	}
	if (json_is_object(cap)) {
		char *per = ctl_member(cap, "per_hour"), *used = ctl_member(cap, "used"), *held = ctl_member(cap, "held");
		if (strcmp(per, "0") == 0)
			printf("\nCap: none on automatic quarantines.\n");
		else
			printf("\nCap: %s automatic quarantines in the last hour of %s allowed; %s held%s.\n", used, per,
			    held, json_is_true(json_object_get(cap, "alarm")) ? " — ALARM" : "");
		free(per);
		free(used);
		free(held);
	}
	enf = json_object_get(root, "enforce");
	if (json_is_object(enf)) {
		char *be = ctl_member(enf, "backend"), *el = ctl_member(enf, "elements"),
		    *pe = ctl_member(enf, "pending"), *fa = ctl_member(enf, "failures"), *er = ctl_member(enf, "last_error");
		if (strcmp(be, "none") == 0)
			printf("Network: not enforced ([enforce] mode none, or no privilege): %s hosts would be in the "
			    "sets.\n", el);
		else
			printf("Network: %s, %s hosts in the sets, %s changes pending, %s failed transactions%s%s.\n",
			    be, el, pe, fa, strcmp(er, "-") && *er ? "; last error: " : "",
			    strcmp(er, "-") && *er ? er : "");
		free(be);
		free(el);
		free(pe);
		free(fa);
		free(er);
	}
	json_decref(root);
	return CTL_EXIT_OK;
}

/* nodes: GET /v1/nodes — the nodes sharing a PostgreSQL store, their contact and lag. */
static int
ctl_cmd_nodes(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	json_t *root, *list, *n;
	size_t i;
	int rc;

	(void)cmd;
	if ((rc = ctl_get(c, "/v1/nodes", &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	json_int_t newest = json_integer_value(json_object_get(root, "newest"));
	list = json_object_get(root, "nodes");
	struct ctl_table t = { .ncols = 7 };
	ctl_table_row(&t, (char *[]){ ctl_strdup("NODE"), ctl_strdup("ROLE"), ctl_strdup("LAST CONTACT"),
	    ctl_strdup("LAG"), ctl_strdup("ENFORCES"), ctl_strdup("VERSION"), ctl_strdup("STARTED") });
	json_array_foreach(list, i, n) {
		char *contact, *lag;
		double age = json_real_value(json_object_get(n, "last_contact_age"));
		json_int_t applied = json_integer_value(json_object_get(n, "applied"));
		char d[32];
		if (asprintf(&contact, "%s ago%s", duration_format((usec_t)(age * 1e6), d, sizeof(d)),
		    age >= 10 ? " (gone quiet)" : "") < 0)
			contact = NULL;
		if (asprintf(&lag, "%lld", (long long)(newest > applied ? newest - applied : 0)) < 0)
			lag = NULL;
		ctl_table_row(&t, (char *[]){ ctl_member(n, "name"), ctl_member(n, "role"),
		    contact ? contact : ctl_strdup("?"), lag ? lag : ctl_strdup("?"), ctl_member(n, "enforcing"),
		    ctl_member(n, "version"), ctl_when(n, "started") });
	}
	ctl_table_print(&t, "");
	char *node = ctl_member(root, "node");
	printf("\nAsked %s: %s the shared store; %lld changes of its own not yet in it; newest change %lld, "
	    "applied %lld; %lld nodes share the judging.\n", node,
	    json_is_true(json_object_get(root, "up")) ? "connected to" : "NOT connected to",
	    (long long)json_integer_value(json_object_get(root, "outbox")), (long long)newest,
	    (long long)json_integer_value(json_object_get(root, "applied")),
	    (long long)json_integer_value(json_object_get(root, "live")));
	free(node);
	json_decref(root);
	return CTL_EXIT_OK;
}

#define CTL_DEFAULT_CONFIG "/etc/lazaret/lazaret.conf"

/*
 * db migrate | db status: the PostgreSQL store of [daemon] store in --config FILE (or the
 * default), straight to the database (no daemon needed): its schema version and how the
 * batches are stored, and for migrate every missing migration applied (what lazaretd also
 * does at start).
 */
static int
ctl_cmd_db(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	const char *path = a->config != NULL ? a->config : CTL_DEFAULT_CONFIG;
	bool migrate = strcmp(a->args[0], "migrate") == 0;
	char err[1024];
	struct config *cfg;
	struct pg_conn *pg;
	const char *storage = NULL;
	int rc, from = 0, to = 0;

	(void)c;
	if (!migrate && strcmp(a->args[0], "status") != 0)
		return ctl_usage_error(cmd, "unknown db command '%s' (migrate or status)", a->args[0]);
	if ((cfg = config_load_new(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "lazaretctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	if (!pg_conninfo_is_pg(cfg->daemon.store)) {
		printf("%s: [daemon] store is an SQLite file (%s): lazaretd creates it (--init-store) and keeps its "
		    "schema itself; nothing to do here.\n", path, cfg->daemon.store);
		config_unref(cfg);
		return CTL_EXIT_OK;
	}
	if (pg_conninfo_check(cfg->daemon.store, err, sizeof(err)) != 0) {
		fprintf(stderr, "lazaretctl: %s: [daemon] store: %s\n", path, err);
		config_unref(cfg);
		return CTL_EXIT_USAGE;
	}
	log_init("lazaretctl", false, LOG_LEVEL_WARN);      /* pg.c's "connected" is for the daemon's log */
	if ((pg = pg_conn_new(cfg->daemon.store, "lazaretctl")) == NULL)
		ctl_oom();
	if ((rc = pg_conn_ensure(pg)) != 0) {
		fprintf(stderr, "lazaretctl: cannot reach the shared store %s: %s\n", pg_conn_target(pg), pg_conn_error(pg));
		rc = CTL_EXIT_UNREACHABLE;
	} else if (migrate) {
		if ((rc = pg_schema_migrate(pg, cfg->daemon.node[0] ? cfg->daemon.node : "lazaretctl", &from, &to)) == 0) {
			if (from == to)
				printf("%s: schema version %d, the newest this lazaret knows: nothing to do.\n",
				    pg_conn_target(pg), to);
			else
				printf("%s: schema migrated from version %d to %d.\n", pg_conn_target(pg), from, to);
			rc = CTL_EXIT_OK;
		} else {
			fprintf(stderr, "lazaretctl: %s: %s\n", pg_conn_target(pg), rc == -EPROTO ?
			    "its schema is newer than this lazaret knows; upgrade lazaret first" : pg_conn_error(pg));
			rc = CTL_EXIT_UNREACHABLE;
		}
	} else if ((rc = pg_schema_version(pg, &from)) == 0 && (rc = pg_schema_storage(pg, &storage)) == 0) {
		printf("%s: schema version %d (this lazaret knows up to %d)%s\n", pg_conn_target(pg), from,
		    PG_SCHEMA_VERSION, from < PG_SCHEMA_VERSION ? "; `lazaretctl db migrate` or a start of lazaretd brings "
		    "it up to date" : from > PG_SCHEMA_VERSION ? "; newer than this lazaret: upgrade it" : ".");
		printf("%s: batches of verdicts and evidence stored %s%s\n", pg_conn_target(pg),
		    strcmp(storage, "lz4") == 0 ? "compressed with lz4" : storage,
		    strcmp(storage, "uncompressed") == 0 ? " (`lazaretctl db migrate` or a start of lazaretd compresses "
		    "the next ones with lz4)" : ".");
		rc = CTL_EXIT_OK;
	} else {
		fprintf(stderr, "lazaretctl: %s: %s\n", pg_conn_target(pg), pg_conn_error(pg));
		rc = CTL_EXIT_UNREACHABLE;
	}
	pg_conn_free(pg);
	config_unref(cfg);
	return rc;
}

/* hosts / accounts: GET /v1/subjects?kind=KIND[&level=LEVEL] as a table. */
static int
ctl_cmd_list(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	const char *kind = strcmp(cmd->name, "hosts") == 0 ? "host" : "account";
	struct ctl_table t = { .ncols = 5 };
	char path[128];
	json_t *root, *list, *s;
	size_t i;
	int rc;

	if (a->level != NULL && level_parse(a->level) < 0)
		return ctl_usage_error(cmd, "unknown level '%s' (normal, watch, throttle, "
		    "quarantine or suspend)", a->level);
	snprintf(path, sizeof(path), "/v1/subjects?kind=%s%s%s", kind,
	    a->level ? "&level=" : "", a->level ? a->level : "");
	if ((rc = ctl_get(c, path, &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	list = json_object_get(root, "subjects");
	if (!json_is_array(list)) {
		ctl_warnx("answer to %s has no \"subjects\" list", path);
		json_decref(root);
		return CTL_EXIT_API;
	}
	if (json_array_size(list) == 0) {
		if (a->level != NULL)
			printf("No %ss at level %s.\n", kind, a->level);
		else
			printf("No %ss above normal.\n", kind);
		json_decref(root);
		return CTL_EXIT_OK;
	}
	ctl_table_row(&t, (char *[]){ ctl_strdup(kind[0] == 'h' ? "HOST" : "ACCOUNT"),
	    ctl_strdup("LEVEL"), ctl_strdup("SCORE"), ctl_strdup("EVIDENCE"),
	    ctl_strdup("LAST SEEN") });
	json_array_foreach(list, i, s) {
		ctl_table_row(&t, (char *[]){ ctl_member(s, "subject"), ctl_level_cell(s),
		    ctl_member(s, "score"), ctl_member(s, "evidence"),
		    ctl_member(s, "last_seen") });
	}
	ctl_table_print(&t, "");
	json_decref(root);
	return CTL_EXIT_OK;
}

/* A history list as a table: TIME, CHANGE, BY, REASON. */
static void
ctl_print_history(const json_t *hist, const char *indent)
{
	struct ctl_table t = { .ncols = 4 };
	const json_t *h;
	size_t i;

	ctl_table_row(&t, (char *[]){ ctl_strdup("TIME"), ctl_strdup("CHANGE"),
	    ctl_strdup("BY"), ctl_strdup("REASON") });
	json_array_foreach(hist, i, h) {
		char *from = ctl_member(h, "old_level"), *to = ctl_member(h, "new_level");
		char *change;

		if (asprintf(&change, "%s -> %s", from, to) < 0)
			ctl_oom();
		free(from);
		free(to);
		ctl_table_row(&t, (char *[]){ ctl_member(h, "time"), change,
		    ctl_member(h, "actor"), ctl_member(h, "reason") });
	}
	ctl_table_print(&t, indent);
}

/* The manual override line(s) of explain; "none" when there is none. */
static void
ctl_print_manual(const json_t *m)
{
	char *level, *until, *reason;

	if (!json_is_object(m)) {
		printf("Override  none\n");
		return;
	}
	level = ctl_member(m, "level");
	until = ctl_when(m, "until");
	reason = ctl_member(m, "reason");
	if (strcmp(until, "-") == 0)
		printf("Override  %s, until released\n", level);
	else
		printf("Override  %s until %s\n", level, until);
	printf("          reason: %s\n", reason);
	free(level);
	free(until);
	free(reason);
}

/* The self-release line of explain, for a quarantined subject. */
static void
ctl_print_self_release(const json_t *root)
{
	const json_t *v = json_object_get(root, "self_release");
	const json_t *m = json_object_get(root, "manual");

	if (!json_is_boolean(v))
		return;
	if (json_is_false(v))
		printf("Release   only by the abuse desk (lazaretctl release): the subscriber's portal "
		    "offers no button\n");
	else if (json_is_object(m))
		printf("Release   the subscriber may release it at the portal (--self-release)\n");
	else if (json_is_string(json_object_get(root, "self_release_from"))) {
		char *from = ctl_when(root, "self_release_from");
		printf("Release   the subscriber may release it at the portal from %s\n", from);
		free(from);
	} else
		printf("Release   the subscriber may release it at the portal\n");
}

/* explain: everything the daemon knows about one subject, in words. */
static int
ctl_cmd_explain(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	char *subject, *kind, *level, *score;
	const json_t *ev, *hist, *e;
	json_t *root;
	size_t i;
	int rc;

	if ((rc = ctl_subject_call(c, cmd, a->args[0], "GET", NULL, NULL, &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;

	subject = ctl_member(root, "subject");
	kind = ctl_member(root, "kind");
	level = ctl_member(root, "level");
	score = ctl_member(root, "score");
	printf("Subject   %s (%s)\n", subject, kind);
	printf("Level     %s (score %s)\n", level, score);
	const json_t *nets = json_object_get(root, "networks");
	if (json_is_array(nets)) {
		printf("Holds     ");
		if (json_array_size(nets) == 0)
			printf("no address now (offline)");
		for (i = 0; i < json_array_size(nets); i++)
			printf("%s%s", i ? ", " : "", json_string_value(json_array_get(nets, i)) ?
			    json_string_value(json_array_get(nets, i)) : "?");
		printf("\n");
	}
	free(subject);
	free(kind);
	free(level);
	free(score);
	ctl_print_manual(json_object_get(root, "manual"));
	ctl_print_self_release(root);

	ev = json_object_get(root, "evidence");
	if (!json_is_array(ev) || json_array_size(ev) == 0)
		printf("\nEvidence  none\n");
	else {
		printf("\nEvidence  %zu item%s\n", json_array_size(ev),
		    json_array_size(ev) == 1 ? "" : "s");
		json_array_foreach(ev, i, e) {
			char *ekind = ctl_member(e, "kind"), *count = ctl_member(e, "count");
			char *escore = ctl_member(e, "score"), *first = ctl_when(e, "first_seen");
			char *last = ctl_when(e, "last_seen"), *summary = ctl_member(e, "summary");

			printf("  %zu. %s: %s time%s, score %s\n", i + 1, ekind, count,
			    strcmp(count, "1") == 0 ? "" : "s", escore);
			printf("     first seen %s\n", first);
			printf("     last seen  %s\n", last);
			if (strcmp(summary, "-") != 0)
				printf("     %s\n", summary);
			free(ekind);
			free(count);
			free(escore);
			free(first);
			free(last);
			free(summary);
		}
	}

	hist = json_object_get(root, "history");
	if (!json_is_array(hist) || json_array_size(hist) == 0)
		printf("\nHistory   none\n");
	else {
		printf("\nHistory   %zu change%s\n", json_array_size(hist),
		    json_array_size(hist) == 1 ? "" : "s");
		ctl_print_history(hist, "  ");
	}
	json_decref(root);
	return CTL_EXIT_OK;
}

/* history: the level changes of one subject. */
static int
ctl_cmd_history(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	const json_t *hist;
	json_t *root;
	int rc;

	if ((rc = ctl_subject_call(c, cmd, a->args[0], "GET", "history", NULL, &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	hist = json_object_get(root, "history");
	if (!json_is_array(hist) || json_array_size(hist) == 0) {
		char *subject = ctl_member(root, "subject");

		printf("No level changes recorded for %s.\n", subject);
		free(subject);
	} else
		ctl_print_history(hist, "");
	json_decref(root);
	return CTL_EXIT_OK;
}

/* who: the subscriber who held an address at a time, and the address's history. */
static int
ctl_cmd_who(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	char path[256], when[40], atext[ADDR_TEXT_MAX];
	struct addr addr;
	usec_t at = 0;
	json_t *root;
	int rc;

	if (addr_parse(a->args[0], strlen(a->args[0]), &addr) != 0)
		return ctl_usage_error(cmd, "'%s' is not an IPv4 or IPv6 address", a->args[0]);
	if (a->at != NULL && time_parse(a->at, &at) != 0)
		return ctl_usage_error(cmd, "bad --at '%s' (a UTC time: 2026-11-20T03:12:00Z, "
		    "'2026-11-20 03:12' or @SECONDS)", a->at);
	snprintf(path, sizeof(path), "/v1/who?address=%s%s%s", addr_format(&addr, atext, sizeof(atext)),
	    a->at ? "&at=" : "", a->at ? time_format(at, when, sizeof(when)) : "");
	if ((rc = ctl_get(c, path, &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	char *t = ctl_member(root, "at");
	const json_t *h = json_object_get(root, "holder");
	if (json_is_object(h)) {
		char *sub = ctl_member(h, "subscriber"), *net = ctl_member(h, "network"), *ses = ctl_member(h, "session"),
		    *nas = ctl_member(h, "nas"), *src = ctl_member(h, "source"), *from = ctl_member(h, "from"),
		    *until = ctl_member(h, "until");
		printf("%s at %s: subscriber:%s\n  network %s, session %s, from %s (%s %s) until %s\n", atext, t, sub,
		    net, ses, from, src, nas, strcmp(until, "-") == 0 ? "now" : until);
		free(sub), free(net), free(ses), free(nas), free(src), free(from), free(until);
	} else
		printf("%s at %s: held by no subscriber the address history knows\n", atext, t);
	free(t);
	const json_t *hist = json_object_get(root, "history");
	if (json_is_array(hist) && json_array_size(hist) > 0) {
		struct ctl_table tb = { .ncols = 5 };
		size_t i;
		json_t *e;
		ctl_table_row(&tb, (char *[]){ ctl_strdup("FROM"), ctl_strdup("UNTIL"), ctl_strdup("SUBSCRIBER"),
		    ctl_strdup("NETWORK"), ctl_strdup("NAS") });
		json_array_foreach(hist, i, e) {
			char *until = ctl_member(e, "until");
			if (strcmp(until, "-") == 0) {
				free(until);
				until = ctl_strdup("now");
			}
			ctl_table_row(&tb, (char *[]){ ctl_member(e, "from"), until, ctl_member(e, "subscriber"),
			    ctl_member(e, "network"), ctl_member(e, "nas") });
		}
		printf("History, newest first:\n");
		ctl_table_print(&tb, "  ");
	}
	json_decref(root);
	return CTL_EXIT_OK;
}

/* quarantine and release: POST /v1/subjects/SUBJECT/ACTION. */
static int
ctl_cmd_action(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	int quarantine = strcmp(cmd->name, "quarantine") == 0;
	char *subject, *level, *until;
	json_t *body, *root;
	usec_t secs = 0;
	int rc;

	if (quarantine && a->reason == NULL)
		return ctl_usage_error(cmd, "--reason is required (it goes into the history)");
	if (a->reason != NULL) {
		const char *p;

		for (p = a->reason; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0')
			return ctl_usage_error(cmd, "--reason must not be empty");
	}
	if (a->duration != NULL) {
		if (duration_parse(a->duration, &secs) != 0 || secs < USEC_PER_SEC)
			return ctl_usage_error(cmd, "bad duration '%s' for --for (e.g. 90s, "
			    "30m, 1h, 7d, 1h30m; at least 1s)", a->duration);
		secs /= USEC_PER_SEC;
	}
	/* JSON cannot carry a reason that is not UTF-8; sent without it, the request would be
	 * refused for want of one, or the release would go unexplained */
	if (a->reason != NULL && !ctl_utf8(a->reason))
		return ctl_usage_error(cmd, "--reason must be UTF-8 text");
	if ((body = json_object()) == NULL ||
	    (a->reason != NULL && json_object_set_new(body, "reason", json_string(a->reason)) != 0) ||
	    (quarantine && json_object_set_new(body, "for", a->duration ? json_integer(secs) : json_null()) != 0) ||
	    (a->self_release && json_object_set_new(body, "self_release", json_true()) != 0)) {
		json_decref(body);
		ctl_oom();
	}
	rc = ctl_subject_call(c, cmd, a->args[0], "POST", cmd->name, body, &root);
	json_decref(body);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	subject = ctl_member(root, "subject");
	level = ctl_member(root, "level");
	if (json_is_true(json_object_get(root, "queued"))) {
		printf("%s: %s to level %s is on the node's disk; the shared store is unreachable, so it takes "
		    "effect on every node once the store is back.\n", subject, quarantine ? "quarantine" : "release", level);
	} else if (quarantine) {
		until = ctl_when(root, "until");
		if (strcmp(until, "-") == 0)
			printf("%s is now at level %s until released%s.\n", subject, level,
			    a->self_release ? "; the subscriber may release it at the portal" : "");
		else
			printf("%s is now at level %s until %s%s.\n", subject, level, until,
			    a->self_release ? "; the subscriber may release it at the portal" : "");
		free(until);
	} else
		printf("%s released; its level is now %s.\n", subject, level);
	free(subject);
	free(level);
	json_decref(root);
	return CTL_EXIT_OK;
}

/*
 * Prints a JSON object as an indented outline, keys of one object aligned;
 * "uptime" (seconds) is also shown as a duration.
 */
static void
ctl_print_outline(json_t *obj, int depth)
{
	const char *key;
	json_t *v;
	size_t w = 0;

	json_object_foreach(obj, key, v)
		if (!json_is_object(v) && strlen(key) > w)
			w = strlen(key);
	json_object_foreach(obj, key, v) {
		char *k = ctl_clean(key);

		if (json_is_object(v)) {
			printf("%*s%s\n", depth * 2, "", k);
			ctl_print_outline(v, depth + 1);
		} else if (json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0))) {
			/* a list of records (the flow collector's listeners, exporters): one outline each */
			json_t *item;
			size_t i;

			json_array_foreach(v, i, item) {
				printf("%*s%s %zu\n", depth * 2, "", k, i + 1);
				if (json_is_object(item))
					ctl_print_outline(item, depth + 1);
			}
		} else if (json_is_array(v)) {
			const json_t *item;
			size_t i;

			printf("%*s%-*s  ", depth * 2, "", (int)w, k);
			json_array_foreach(v, i, item) {
				char *s = ctl_text(item);

				printf("%s%s", i ? ", " : "", s);
				free(s);
			}
			fputc('\n', stdout);
		} else {
			char *s = ctl_text(v);

			if (strcmp(key, "uptime") == 0 && json_is_number(v) &&
			    json_number_value(v) >= 1) {
				char span[32];

				ctl_span((int64_t)json_number_value(v), span, sizeof(span));
				printf("%*s%-*s  %s (%ss)\n", depth * 2, "", (int)w, k, span, s);
			} else
				printf("%*s%-*s  %s\n", depth * 2, "", (int)w, k, s);
			free(s);
		}
		free(k);
	}
}

static int
ctl_cmd_stats(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	json_t *root;
	int rc;

	(void)cmd;
	if ((rc = ctl_get(c, "/v1/stats", &root)) != CTL_EXIT_OK)
		return rc;
	if (ctl_printed_json(a, root))
		return CTL_EXIT_OK;
	ctl_print_outline(root, 0);
	json_decref(root);
	return CTL_EXIT_OK;
}

static int ctl_cmd_help(struct ctl *, const struct ctl_command *, struct ctl_args *);

/* analyze needs no daemon: the sensor and the judge run right here. */
static int
ctl_cmd_analyze(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	char *files[64];
	size_t n = 0;

	(void)c;
	if ((a->maillog == NULL) == (a->flows == NULL))
		return ctl_usage_error(cmd, "either --maillog FILE or --flows FILE is required");
	files[n++] = (char *)(uintptr_t)(a->maillog != NULL ? a->maillog : a->flows);
	for (int i = 0; i < a->nargs; i++) {
		if (n == sizeof(files) / sizeof(files[0]))
			return ctl_usage_error(cmd, "at most %zu files", sizeof(files) / sizeof(files[0]));
		files[n++] = a->args[i];
	}
	return analyze_run(files, n, a->config, a->json, a->flows != NULL ? ANALYZE_FLOWS : ANALYZE_MAILLOG);
}

/* sysexits.h's, which an MTA's pipe transport reads: retry later, or bounce */
#define CTL_EX_DATAERR 65
#define CTL_EX_TEMPFAIL 75
#define CTL_REPORT_MAX (1024u * 1024 * 1024)

/*
 * report: standard input to POST /v1/reports. Meant for a Postfix pipe transport, a
 * sieve or procmail rule or a cron job, so its exit status speaks sysexits: 0 once the
 * daemon has the report on disk; 75 (EX_TEMPFAIL: the MTA keeps the message and tries
 * again) when the daemon cannot be reached or cannot take it now; 65 (EX_DATAERR: the
 * MTA bounces it) when the daemon refuses it for good (too large, empty).
 */
static int
ctl_cmd_report(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	struct http_exchange ex;
	char err[512], path[128];
	uint8_t *body = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (a->source != NULL) {
		size_t n = strlen(a->source);
		if (n == 0 || n > 63 || a->source[0] == '.' ||
		    strspn(a->source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
			return ctl_usage_error(cmd, "--source NAME: letters, digits, '_', '-' and '.' (not first), up to 63");
	}
	for (;;) {
		if (len == cap) {
			if (cap >= CTL_REPORT_MAX) {
				ctl_warnx("report: more than %u bytes on standard input; not sent", CTL_REPORT_MAX);
				free(body);
				return CTL_EX_DATAERR;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if ((body = realloc(body, cap + 1)) == NULL)
				ctl_oom();
		}
		size_t n = fread(body + len, 1, cap - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				ctl_warnx("report: cannot read standard input: %s", strerror(errno));
				free(body);
				return CTL_EX_TEMPFAIL;
			}
			break;
		}
	}
	if (len == 0) {
		ctl_warnx("report: standard input is empty; nothing sent");
		free(body);
		return CTL_EX_DATAERR;
	}
	snprintf(path, sizeof(path), "/v1/reports%s%s", a->source ? "?source=" : "", a->source ? a->source : "");
	rc = http_request(&c->url, "POST", path, c->token, (const char *)body, len, c->cacert, (int)(c->timeout / 1000),
	    &ex, err, sizeof(err));
	free(body);
	if (rc != 0) {
		ctl_warnx("report: %s; try again later", err);
		http_exchange_free(&ex);
		return CTL_EX_TEMPFAIL;
	}
	json_error_t jerr;
	json_t *root = json_loadb((const char *)ex.body, ex.body_len, 0, &jerr);
	const json_t *e = json_is_object(root) ? json_object_get(root, "error") : NULL;
	const json_t *spooled = json_is_object(root) ? json_object_get(root, "spooled") : NULL;
	char *msg = json_is_string(e) ? ctl_text(e) : NULL;
	if (ex.status == 202 && json_is_string(spooled)) {
		char *name = ctl_text(spooled);
		printf("spooled %s\n", name);
		free(name);
		rc = CTL_EXIT_OK;
	} else {
		ctl_warnx("report: %s (HTTP %d)", msg ? msg : "refused", ex.status);
		/* refused for good: too large, malformed; anything else (no spool yet, a busy
		 * or full disk, a wrong token) may pass once someone has looked */
		rc = ex.status == 400 || ex.status == 413 ? CTL_EX_DATAERR : CTL_EX_TEMPFAIL;
	}
	free(msg);
	json_decref(root);
	http_exchange_free(&ex);
	return rc;
}

static const struct ctl_command ctl_commands[] = {
	{ "hosts", CTL_OPT_LEVEL | CTL_OPT_JSON, 0,
	  "hosts [--level LEVEL] [--json]",
	  "List hosts (IPv4 addresses and IPv6 /64s, and with an identity source\n"
	  "the subscribers behind them, as subscriber:ID). Without --level, every\n"
	  "host whose level is not normal; with it, the hosts at exactly LEVEL\n"
	  "(normal, watch, throttle, quarantine or suspend).",
	  ctl_cmd_list },
	{ "accounts", CTL_OPT_LEVEL | CTL_OPT_JSON, 0,
	  "accounts [--level LEVEL] [--json]",
	  "List mail accounts, as hosts does for hosts.",
	  ctl_cmd_list },
	{ "explain", CTL_OPT_JSON, 1,
	  "explain SUBJECT [--json]",
	  "Show why SUBJECT is where it is: level, score, manual override, whether\n"
	  "the subscriber may release it at the portal, each piece of evidence and\n"
	  "the history of level changes. SUBJECT is an IPv4 or IPv6 address, a /64,\n"
	  "or account:NAME (NAME@DOMAIN alone also works), written as lazaretctl\n"
	  "prints it: %XX stands for a byte (account:foo%20bar has a space).",
	  ctl_cmd_explain },
	{ "quarantine", CTL_OPT_REASON | CTL_OPT_FOR | CTL_OPT_SELF_RELEASE | CTL_OPT_JSON, 1,
	  "quarantine SUBJECT --reason TEXT [--for DURATION] [--self-release] [--json]",
	  "Put SUBJECT in quarantine by hand. --reason is required and recorded.\n"
	  "--for limits the override (90s, 30m, 1h, 7d, 1h30m); without it, it\n"
	  "lasts until released. Only the abuse desk releases it, unless\n"
	  "--self-release lets the subscriber do so at the portal (within the\n"
	  "self-release limit; the button proves a browser, not a person).",
	  ctl_cmd_action },
	{ "release", CTL_OPT_REASON | CTL_OPT_JSON, 1,
	  "release SUBJECT [--reason TEXT] [--json]",
	  "Release SUBJECT from a manual or automatic level.",
	  ctl_cmd_action },
	{ "nodes", CTL_OPT_JSON, 0,
	  "nodes [--json]",
	  "With a PostgreSQL store shared by several nodes: each node, its role,\n"
	  "its last contact, how many changes it has yet to apply and what it\n"
	  "enforces; whether the node asked is connected and what it has not\n"
	  "pushed yet.",
	  ctl_cmd_nodes },
	{ "db", CTL_OPT_CONFIG, 1,
	  "db migrate|status [--config FILE]",
	  "With [daemon] store naming PostgreSQL in FILE (default\n"
	  CTL_DEFAULT_CONFIG "): status prints the shared store's schema\n"
	  "version; migrate applies the migrations it lacks, additive only, each\n"
	  "once in one transaction under a lock (lazaretd does the same at start).\n"
	  "Talks to PostgreSQL directly: no daemon is needed.",
	  ctl_cmd_db },
	{ "quarantines", CTL_OPT_JSON, 0,
	  "quarantines [--json]",
	  "List the quarantined (and suspended) hosts and accounts: by whom, why,\n"
	  "whether the gateway's nftables sets hold the host yet and whether the\n"
	  "subscriber may release it at the portal; the subjects the hourly\n"
	  "quarantine cap holds at throttle; the enforcement backend.",
	  ctl_cmd_quarantines },
	{ "history", CTL_OPT_JSON, 1,
	  "history SUBJECT [--json]",
	  "Show SUBJECT's level changes: when, from and to, by whom and why.",
	  ctl_cmd_history },
	{ "who", CTL_OPT_AT | CTL_OPT_JSON, 1,
	  "who ADDRESS [--at TIME] [--json]",
	  "Name the subscriber who held ADDRESS at TIME (now by default), with the\n"
	  "session and NAS, from the address history RADIUS accounting and DHCP\n"
	  "leases keep; then the address's newest intervals. TIME is UTC:\n"
	  "2026-11-20T03:12:00Z, '2026-11-20 03:12' or @SECONDS.",
	  ctl_cmd_who },
	{ "report", CTL_OPT_SOURCE, 0,
	  "report [--source NAME] < MESSAGE",
	  "Hand one abuse report on standard input (an ARF or X-ARF message, a\n"
	  "forwarded complaint, a Shadowserver CSV file) to the daemon's report\n"
	  "spool, as from source NAME ([reports source NAME] sets its trust). For a\n"
	  "Postfix pipe transport, a sieve or procmail rule or a cron job: exit 0\n"
	  "once it is on the daemon's disk, 75 (EX_TEMPFAIL, the MTA tries again)\n"
	  "when the daemon cannot take it now, 65 (EX_DATAERR) when it refuses it\n"
	  "for good (empty, larger than [reports] max_size). It is read after;\n"
	  "the daemon's log and `stats` say what it gave.",
	  ctl_cmd_report },
	{ "stats", CTL_OPT_JSON, 0,
	  "stats [--json]",
	  "Show the daemon's counters: uptime, subjects by level, policy requests\n"
	  "and answers, store writes.",
	  ctl_cmd_stats },
	{ "analyze", CTL_OPT_MAILLOG | CTL_OPT_CONFIG | CTL_OPT_JSON, 0,
	  "analyze --maillog FILE [FILE...] | --flows FILE [FILE...] [--config FILE] [--json]",
	  "Run the delivery-log rules over Postfix log files offline (no daemon\n"
	  "needed) and show which hosts and accounts they would flag, with their\n"
	  "evidence. Uses the shipped defaults, or the rules of --config FILE.\n"
	  "With --flows, the flow detectors over flows as `nfdump -r F -o csv`\n"
	  "prints them (plain or gzip); --config FILE must name [network]\n"
	  "subscribers, the ranges whose hosts are judged.\n"
	  "Exit status 1 when a file cannot be opened or read: an error for each\n"
	  "and no verdict at all, since one over part of the log would mislead;\n"
	  "2 for a bad --config FILE.",
	  ctl_cmd_analyze },
	{ "help", 0, 0,
	  "help [COMMAND]",
	  "Show the usage of lazaretctl or of one command.",
	  ctl_cmd_help },
};

#define CTL_NCOMMANDS	(sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static const struct ctl_command *
ctl_find(const char *name)
{
	for (size_t i = 0; i < CTL_NCOMMANDS; i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

static void
ctl_usage(FILE *f, const struct ctl_command *cmd)
{
	if (cmd != NULL) {
		fprintf(f, "usage: %s [global options] %s\n", ctl_progname, cmd->usage);
		if (f == stdout)
			fprintf(f, "\n%s\n", cmd->help);
		else
			fprintf(f, "Try '%s %s --help'.\n", ctl_progname, cmd->name);
		return;
	}
	fprintf(f, "usage: %s [--api URL] [--token-file FILE] [--cacert FILE] [--timeout DURATION] "
	    "COMMAND [ARGS]\n", ctl_progname);
	if (f != stdout) {
		fprintf(f, "Try '%s --help'.\n", ctl_progname);
		return;
	}
	fprintf(f, "\nCommands:\n");
	for (size_t i = 0; i < CTL_NCOMMANDS; i++)
		fprintf(f, "  %s\n", ctl_commands[i].usage);
	fprintf(f,
	    "\nGlobal options (also accepted after the command):\n"
	    "  --api URL            API address: unix:PATH, http://HOST:PORT or https://HOST:PORT\n"
	    "                       (default $LAZARET_API, else %s if it exists,\n"
	    "                       else %s in the current directory if it exists)\n"
	    "  --token-file FILE    bearer token, needed over TCP (default $LAZARET_TOKEN_FILE; none)\n"
	    "  --cacert FILE        CA certificate(s) that signed the https:// API's certificate\n"
	    "                       (default $LAZARET_CACERT, else the system's CAs)\n"
	    "  --timeout DURATION   give up after DURATION (default 10s)\n"
	    "  -h, --help           show this help; COMMAND --help shows a command's\n"
	    "  --version            print the version\n"
	    "\nExit status:\n"
	    "  0  ok\n"
	    "  1  the daemon answered an error; analyze: a file could not be opened\n"
	    "     or read (nothing printed but the errors), or memory ran out (with\n"
	    "     --json: the subjects it could not write are named on stderr)\n"
	    "  2  usage error (analyze: also a bad --config FILE); nothing was done\n"
	    "  3  the daemon could not be reached\n", CTL_DEFAULT_API, CTL_SOURCE_TREE_API);
}

static int
ctl_cmd_help(struct ctl *c, const struct ctl_command *cmd, struct ctl_args *a)
{
	const struct ctl_command *which = NULL;

	(void)c;
	if (a->nargs > 1)
		return ctl_usage_error(cmd, "too many arguments");
	if (a->nargs == 1 && (which = ctl_find(a->args[0])) == NULL)
		return ctl_usage_error(cmd, "no command '%s'", a->args[0]);
	ctl_usage(stdout, which);
	return CTL_EXIT_OK;
}

/* Option parsing -------------------------------------------------------- */

enum {
	OPT_API = 256, OPT_TOKEN_FILE, OPT_TIMEOUT, OPT_VERSION, OPT_CACERT,
	OPT_LEVEL, OPT_JSON, OPT_REASON, OPT_FOR, OPT_MAILLOG, OPT_FLOWS, OPT_CONFIG, OPT_SELF_RELEASE, OPT_AT, OPT_SOURCE,
};

static const struct option ctl_long_options[] = {
	{ "api",	required_argument,	NULL, OPT_API },
	{ "token-file",	required_argument,	NULL, OPT_TOKEN_FILE },
	{ "cacert",	required_argument,	NULL, OPT_CACERT },
	{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
	{ "help",	no_argument,		NULL, 'h' },
	{ "version",	no_argument,		NULL, OPT_VERSION },
	{ "level",	required_argument,	NULL, OPT_LEVEL },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "reason",	required_argument,	NULL, OPT_REASON },
	{ "for",	required_argument,	NULL, OPT_FOR },
	{ "maillog",	required_argument,	NULL, OPT_MAILLOG },
	{ "flows",	required_argument,	NULL, OPT_FLOWS },
	{ "config",	required_argument,	NULL, OPT_CONFIG },
	{ "self-release", no_argument,		NULL, OPT_SELF_RELEASE },
	{ "at",		required_argument,	NULL, OPT_AT },
	{ "source",	required_argument,	NULL, OPT_SOURCE },
	{ NULL, 0, NULL, 0 }
};

/* The option's name as the operator typed it, for messages. */
static const char *
ctl_optname(char **argv, int longind)
{
	static char buf[64];
	const char *arg = argv[optind - 1];

	if (longind >= 0)
		snprintf(buf, sizeof(buf), "--%s", ctl_long_options[longind].name);
	else if (optopt > 0 && optopt < 256)
		snprintf(buf, sizeof(buf), "-%c", optopt);
	else
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(arg, "="), arg);
	return buf;
}

/*
 * Parses argv (argv[0] is the program or the command name). Global options
 * are accepted everywhere; command options only where cmd allows them.
 * With cmd NULL, stops at the first non-option (the command). Returns -1
 * to go on, or an exit code.
 */
static int
ctl_getopt(struct ctl *c, const struct ctl_command *cmd, int argc, char **argv,
    struct ctl_args *a)
{
	static const struct {
		int	opt;
		int	mask;
	} cmd_opts[] = {
		{ OPT_LEVEL, CTL_OPT_LEVEL }, { OPT_JSON, CTL_OPT_JSON },
		{ OPT_REASON, CTL_OPT_REASON }, { OPT_FOR, CTL_OPT_FOR },
		{ OPT_MAILLOG, CTL_OPT_MAILLOG }, { OPT_FLOWS, CTL_OPT_MAILLOG }, { OPT_CONFIG, CTL_OPT_CONFIG },
		{ OPT_SELF_RELEASE, CTL_OPT_SELF_RELEASE }, { OPT_AT, CTL_OPT_AT },
		{ OPT_SOURCE, CTL_OPT_SOURCE },
	};
	int ch, longind, help = 0;

	optind = 0;	/* glibc: reinitialise, argument permutation included */
	opterr = 0;
	for (;;) {
		longind = -1;
		optopt = 0;
		ch = getopt_long(argc, argv, cmd ? ":h" : "+:h", ctl_long_options, &longind);
		if (ch == -1)
			break;
		for (size_t i = 0; i < sizeof(cmd_opts) / sizeof(cmd_opts[0]); i++)
			if (ch == cmd_opts[i].opt && (cmd == NULL || !(cmd->opts & cmd_opts[i].mask)))
				return ctl_usage_error(cmd, cmd ?
				    "option %s does not apply to this command" :
				    "option %s goes after the command", ctl_optname(argv, longind));
		switch (ch) {
		case OPT_API:
			c->api = optarg;
			break;
		case OPT_TOKEN_FILE:
			c->token_file = *optarg ? optarg : NULL;
			break;
		case OPT_CACERT:
			if (*optarg == '\0')
				return ctl_usage_error(cmd, "--cacert needs a file");
			c->cacert = optarg;
			break;
		case OPT_TIMEOUT:
			if (duration_parse(optarg, &c->timeout) != 0 ||
			    c->timeout < USEC_PER_SEC || c->timeout > 3600 * USEC_PER_SEC)
				return ctl_usage_error(cmd, "bad --timeout '%s' (e.g. 5s, 1m; "
				    "1s to 1h)", optarg);
			break;
		case 'h':
			help = 1;
			break;
		case OPT_VERSION:
			printf("lazaretctl %s\n", LAZARET_VERSION);
			return CTL_EXIT_OK;
		case OPT_LEVEL:
			a->level = optarg;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_REASON:
			a->reason = optarg;
			break;
		case OPT_FOR:
			a->duration = optarg;
			break;
		case OPT_MAILLOG:
			a->maillog = optarg;
			break;
		case OPT_FLOWS:
			a->flows = optarg;
			break;
		case OPT_CONFIG:
			a->config = optarg;
			break;
		case OPT_SELF_RELEASE:
			a->self_release = 1;
			break;
		case OPT_AT:
			a->at = optarg;
			break;
		case OPT_SOURCE:
			a->source = optarg;
			break;
		case ':':
			return ctl_usage_error(cmd, "option %s needs a value", ctl_optname(argv, longind));
		default:
			return ctl_usage_error(cmd, "unknown option %s", ctl_optname(argv, longind));
		}
	}
	if (help) {
		/* "lazaretctl --help hosts" helps with hosts. */
		if (cmd == NULL && optind < argc)
			cmd = ctl_find(argv[optind]);
		ctl_usage(stdout, cmd);
		return CTL_EXIT_OK;
	}
	a->args = argv + optind;
	a->nargs = argc - optind;
	return -1;
}

/* The packaged install's socket if it is there, else the source tree's if that is, else the former. */
static const char *
ctl_default_api(void)
{
	struct stat st;

	if (stat(CTL_DEFAULT_API + 5, &st) == 0 || stat(CTL_SOURCE_TREE_API + 5, &st) != 0 ||
	    !S_ISSOCK(st.st_mode))
		return CTL_DEFAULT_API;
	return CTL_SOURCE_TREE_API;
}

int
main(int argc, char *argv[])
{
	struct ctl c = { .timeout = CTL_DEFAULT_TIMEOUT };
	struct ctl_args ga = { 0 }, a = { 0 };
	const struct ctl_command *cmd;
	const char *env, *why;
	int rc;

	if ((env = getenv("LAZARET_API")) != NULL && *env != '\0')
		c.api = env;
	else
		c.api = ctl_default_api();
	if ((env = getenv("LAZARET_TOKEN_FILE")) != NULL && *env != '\0')
		c.token_file = env;
	if ((env = getenv("LAZARET_CACERT")) != NULL && *env != '\0')
		c.cacert = env;

	if ((rc = ctl_getopt(&c, NULL, argc, argv, &ga)) != -1)
		return rc;
	if (ga.nargs == 0)
		return ctl_usage_error(NULL, "no command given");
	if ((cmd = ctl_find(ga.args[0])) == NULL)
		return ctl_usage_error(NULL, "unknown command '%s'", ga.args[0]);
	if ((rc = ctl_getopt(&c, cmd, ga.nargs, ga.args, &a)) != -1)
		return rc;
	if (cmd->run == ctl_cmd_help)
		return ctl_cmd_help(&c, cmd, &a);
	if (cmd->run == ctl_cmd_analyze)
		return ctl_cmd_analyze(&c, cmd, &a);
	if (a.nargs < cmd->nargs)
		return ctl_usage_error(cmd, "missing SUBJECT");
	if (a.nargs > cmd->nargs)
		return ctl_usage_error(cmd, "unexpected argument '%s'", a.args[cmd->nargs]);
	if (http_url_parse(c.api, &c.url, &why) != 0)
		return ctl_usage_error(NULL, "bad API URL '%s': %s", c.api, why);

	if (http_client_init() != 0) {
		ctl_warnx("cannot initialise libcurl");
		return CTL_EXIT_UNREACHABLE;
	}
	rc = cmd->run(&c, cmd, &a);
	http_client_cleanup();
	free(c.token);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_warnx("writing output: %s", strerror(errno));
		return rc == CTL_EXIT_OK ? CTL_EXIT_API : rc;
	}
	return rc;
}
