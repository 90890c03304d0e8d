/*
 * page.c — load the portal's templates and fill them in; see page.h.
 */
#include "portal/page.h"
#include "sense/report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "common/level.h"
#include "portal/html_check.h"

const char *const page_file[PAGE_COUNT] = {
	[PAGE_NOTICE] = "notice.html",
	[PAGE_LIMIT] = "limit.html",
	[PAGE_RELEASED] = "released.html",
	[PAGE_OK] = "ok.html",
};

static const char *const page_names[] = {
	"address", "subject", "level", "since", "now", "portal_url", "support_contact", "abuse_contact",
	"suspended", "error", "evidence", "has_evidence", "kind", "summary", "count", "first_seen", "last_seen",
	"can_release", "token", "token_expires", "releases_used", "releases_left", "release_limit",
	"release_window", "grace", "case", "self_release", "by_operator", "release_later", "release_at",
	"release_wait", "min_quarantine", "advice", "has_advice", NULL,
};

/* advice.txt: what to do about a malware family, "family: text" a line ("*": any other) */
struct page_advice {
	char family[REPORT_FAMILY_MAX];
	char *text;
};

struct pages {
	struct tmpl *t[PAGE_COUNT];
	struct page_advice *advice;
	size_t advice_count;
};

char *
page_time(usec_t t, char *buf, size_t size)
{
	time_t sec = (time_t)(t / USEC_PER_SEC);
	struct tm tm;

	if (t <= 0 || gmtime_r(&sec, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, size, "-");
	return buf;
}

char *
page_duration(usec_t d, char *buf, size_t size)
{
	static const struct { int64_t sec; const char *one, *many; } units[] = {
		{ 86400, "day", "days" }, { 3600, "hour", "hours" }, { 60, "minute", "minutes" },
		{ 1, "second", "seconds" },
	};
	int64_t s = d / USEC_PER_SEC;
	size_t n = 0;
	int shown = 0;

	buf[0] = '\0';
	if (s <= 0) {
		snprintf(buf, size, "0 seconds");
		return buf;
	}
	/* days from two on: "24 hours" and "36 hours" read better than "1 day" */
	for (size_t i = s >= 2 * 86400 ? 0 : 1; i < 4 && shown < 2; i++) {
		int64_t q = s / units[i].sec;
		if (q == 0) {
			if (shown)
				break;    /* "1 day 30 minutes" reads oddly: stop at the first gap */
			continue;
		}
		s -= q * units[i].sec;
		int w = snprintf(buf + n, size - n, "%s%" PRId64 " %s", shown ? " " : "", q,
		    q == 1 ? units[i].one : units[i].many);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
		shown++;
	}
	return buf;
}

enum page_offer
page_release_offer(const struct page_release_facts *f, usec_t *release_at)
{
	*release_at = 0;
	if (f->suspended || f->operator_only || f->releases_used >= f->release_limit)
		return PAGE_OFFER_ABUSE_DESK;
	if (!f->automatic || f->min_quarantine <= 0)
		return PAGE_OFFER_BUTTON;
	if (f->since <= 0)
		return PAGE_OFFER_LATER;          /* not known: no button rather than one too early */
	if (f->now >= f->since + f->min_quarantine)
		return PAGE_OFFER_BUTTON;
	*release_at = f->since + f->min_quarantine;
	return PAGE_OFFER_LATER;
}

void
page_case_id(const char *subject, usec_t opened, char *out, size_t size)
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";   /* Crockford: no I L O U */
	struct sha256_ctx h;
	uint8_t dig[SHA256_DIGEST_SIZE];
	char when[32], date[16];
	time_t sec = (time_t)(opened / USEC_PER_SEC);
	struct tm tm;
	uint64_t bits = 0;
	char code[9];

	snprintf(when, sizeof(when), "%" PRId64, (int64_t)opened);
	sha256_init(&h);
	sha256_update(&h, strlen(subject) + 1, (const uint8_t *)subject);
	sha256_update(&h, strlen(when), (const uint8_t *)when);
	sha256_digest(&h, sizeof(dig), dig);
	for (int i = 0; i < 5; i++)
		bits = bits << 8 | dig[i];
	for (int i = 0; i < 8; i++)
		code[i] = b32[(bits >> (35 - 5 * i)) & 31];
	code[8] = '\0';
	if (opened <= 0 || gmtime_r(&sec, &tm) == NULL || strftime(date, sizeof(date), "%Y%m%d", &tm) == 0)
		snprintf(date, sizeof(date), "00000000");
	snprintf(out, size, "LZ-%s-%s", date, code);
}

void
pages_free(struct pages *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < PAGE_COUNT; i++)
		tmpl_free(p->t[i]);
	for (size_t i = 0; i < p->advice_count; i++)
		free(p->advice[i].text);
	free(p->advice);
	free(p);
}

static struct tmpl *
pages_compile(const char *name, const char *text, size_t len, const char *self_url, char *err, size_t errlen)
{
	char why[256];

	if (html_check(text, len, self_url, HTML_CHECK_TEMPLATE, why, sizeof(why)) != 0) {
		/* why is "line N: what" */
		snprintf(err, errlen, "%s:%s", name, why + 5);
		return NULL;
	}
	return tmpl_parse(name, text, len, page_names, err, errlen);
}

struct pages *
pages_parse(const char *const text[PAGE_COUNT], const char *self_url, char *err, size_t errlen)
{
	struct pages *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < PAGE_COUNT; i++)
		if ((p->t[i] = pages_compile(page_file[i], text[i], strlen(text[i]), self_url, err, errlen)) == NULL) {
			pages_free(p);
			return NULL;
		}
	return p;
}

/* Reads a whole template file (at most TMPL_SIZE_MAX bytes) into a new buffer. */
static char *
pages_read(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(TMPL_SIZE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, TMPL_SIZE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > TMPL_SIZE_MAX) {
			snprintf(err, errlen, "%s: larger than %d KiB", path, TMPL_SIZE_MAX / 1024);
			goto fail;
		}
	}
	close(fd);
	*len = n;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

struct pages *
pages_load(const char *dir, const char *self_url, char *err, size_t errlen)
{
	struct pages *p = calloc(1, sizeof(*p));
	char path[4096];

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < PAGE_COUNT; i++) {
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, page_file[i]);
		char *text = pages_read(path, &len, err, errlen);
		if (text == NULL)
			goto fail;
		p->t[i] = pages_compile(path, text, len, self_url, err, errlen);
		free(text);
		if (p->t[i] == NULL)
			goto fail;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, PAGE_ADVICE_FILE);
	if (access(path, F_OK) == 0) {
		size_t len;
		char *text = pages_read(path, &len, err, errlen);
		int rc;
		if (text == NULL)
			goto fail;
		rc = pages_parse_advice(p, path, text, len, err, errlen);
		free(text);
		if (rc != 0)
			goto fail;
	}
	return p;
fail:
	pages_free(p);
	return NULL;
}

int
pages_parse_advice(struct pages *p, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	const char *line = text, *end = text + len;
	int lineno = 0;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line)), *colon, *v;
		size_t n = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);
		struct page_advice *grown, *a;
		lineno++;
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n > 0 && (*line == ' ' || *line == '\t'))
			line++, n--;
		if (n == 0 || *line == '#')
			goto next;
		if ((colon = memchr(line, ':', n)) == NULL || colon == line ||
		    (size_t)(colon - line) >= REPORT_FAMILY_MAX) {
			snprintf(err, errlen, "%s:%d: expected \"family: what to do\"", name, lineno);
			return -1;
		}
		for (v = colon + 1; v < line + n && (*v == ' ' || *v == '\t'); v++)
			;
		if (v == line + n) {
			snprintf(err, errlen, "%s:%d: no advice after the family", name, lineno);
			return -1;
		}
		if ((grown = reallocarray(p->advice, p->advice_count + 1, sizeof(*grown))) == NULL) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
		p->advice = grown;
		a = &grown[p->advice_count];
		report_text_lower(a->family, sizeof(a->family), line, (size_t)(colon - line));
		if ((a->text = strndup(v, (size_t)(line + n - v))) == NULL) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
		p->advice_count++;
	next:
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return 0;
}

const char *
pages_advice(const struct pages *p, const char *family)
{
	const char *any = NULL;

	if (p == NULL || family == NULL || *family == '\0')
		return NULL;
	for (size_t i = 0; i < p->advice_count; i++) {
		if (strcmp(p->advice[i].family, family) == 0)
			return p->advice[i].text;
		if (strcmp(p->advice[i].family, "*") == 0)
			any = p->advice[i].text;
	}
	return any;
}

#define PAGE_VARS 33

struct page_scope {
	struct tmpl_var v[PAGE_VARS];
	size_t n;
};

static void
page_text(struct page_scope *s, const char *name, const char *text)
{
	if (s->n < PAGE_VARS)
		s->v[s->n++] = (struct tmpl_var){ .name = name, .kind = TMPL_TEXT, .text = text };
}

static void
page_flag(struct page_scope *s, const char *name, bool flag)
{
	if (s->n < PAGE_VARS)
		s->v[s->n++] = (struct tmpl_var){ .name = name, .kind = TMPL_FLAG, .flag = flag };
}

/* One evidence item's variables and the text they point to. */
struct page_item {
	struct tmpl_var v[7];
	char count[24], first_seen[32], last_seen[32];
};

int
page_render(const struct pages *p, enum page_kind kind, const struct page_info *in, struct tbuf *out)
{
	struct page_scope s = { .n = 0 };
	char since[32], now[32], expires[32], used[16], left[16], limit[16], window[48], grace[48];
	char release_at[32], release_wait[48], minq[48];
	struct page_item *items = NULL;
	struct tmpl_scope *scopes = NULL;
	struct tmpl_scope top;
	int rc;

	if (kind < 0 || kind >= PAGE_COUNT)
		return -EINVAL;
	if (in->evidence_count > 0) {
		items = calloc(in->evidence_count, sizeof(*items));
		scopes = calloc(in->evidence_count, sizeof(*scopes));
		if (items == NULL || scopes == NULL) {
			free(items);
			free(scopes);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < in->evidence_count; i++) {
		const struct page_evidence *e = &in->evidence[i];
		struct page_item *it = &items[i];
		snprintf(it->count, sizeof(it->count), "%" PRIu64, e->count);
		page_time(e->first_seen, it->first_seen, sizeof(it->first_seen));
		page_time(e->last_seen, it->last_seen, sizeof(it->last_seen));
		it->v[0] = (struct tmpl_var){ .name = "kind", .kind = TMPL_TEXT, .text = e->kind };
		it->v[1] = (struct tmpl_var){ .name = "summary", .kind = TMPL_TEXT, .text = e->summary };
		it->v[2] = (struct tmpl_var){ .name = "count", .kind = TMPL_TEXT, .text = it->count };
		it->v[3] = (struct tmpl_var){ .name = "first_seen", .kind = TMPL_TEXT, .text = it->first_seen };
		it->v[4] = (struct tmpl_var){ .name = "last_seen", .kind = TMPL_TEXT, .text = it->last_seen };
		it->v[5] = (struct tmpl_var){ .name = "advice", .kind = TMPL_TEXT, .text = e->advice };
		it->v[6] = (struct tmpl_var){ .name = "has_advice", .kind = TMPL_FLAG,
		    .flag = e->advice != NULL && e->advice[0] != '\0' };
		scopes[i] = (struct tmpl_scope){ .vars = it->v, .count = 7 };
	}
	unsigned left_n = in->releases_used >= in->release_limit ? 0 : in->release_limit - in->releases_used;
	snprintf(used, sizeof(used), "%u", in->releases_used);
	snprintf(left, sizeof(left), "%u", left_n);
	snprintf(limit, sizeof(limit), "%u", in->release_limit);

	page_text(&s, "address", in->address);
	page_text(&s, "subject", in->subject);
	page_text(&s, "level", level_name(in->level));
	page_text(&s, "since", in->since > 0 ? page_time(in->since, since, sizeof(since)) : NULL);
	page_text(&s, "now", page_time(in->now, now, sizeof(now)));
	page_text(&s, "portal_url", in->portal_url);
	page_text(&s, "support_contact", in->support_contact);
	page_text(&s, "abuse_contact", in->abuse_contact);
	page_flag(&s, "suspended", in->level == LEVEL_SUSPEND);
	page_text(&s, "error", in->error);
	s.v[s.n++] = (struct tmpl_var){ .name = "evidence", .kind = TMPL_LIST, .items = scopes,
	    .item_count = in->evidence_count };
	page_flag(&s, "has_evidence", in->evidence_count > 0);
	page_flag(&s, "can_release", in->token != NULL);
	page_text(&s, "token", in->token);
	page_text(&s, "token_expires", in->token ? page_time(in->token_expires, expires, sizeof(expires)) : NULL);
	page_text(&s, "releases_used", used);
	page_text(&s, "releases_left", left);
	page_text(&s, "release_limit", limit);
	page_text(&s, "release_window", page_duration(in->release_window, window, sizeof(window)));
	page_text(&s, "grace", page_duration(in->grace, grace, sizeof(grace)));
	page_text(&s, "case", in->case_id);
	page_flag(&s, "self_release", in->release_limit > 0);
	page_flag(&s, "by_operator", in->by_operator);
	page_flag(&s, "release_later", in->release_later);
	page_text(&s, "release_at", in->release_later && in->release_at > 0 ?
	    page_time(in->release_at, release_at, sizeof(release_at)) : NULL);
	/* rounded up to the minute: "in 0 seconds" would be wrong by the time it is read */
	page_text(&s, "release_wait", in->release_later && in->release_at > in->now ?
	    page_duration((in->release_at - in->now + 60 * USEC_PER_SEC - 1) / (60 * USEC_PER_SEC) *
	    60 * USEC_PER_SEC, release_wait, sizeof(release_wait)) : NULL);
	page_text(&s, "min_quarantine", page_duration(in->min_quarantine, minq, sizeof(minq)));

	top = (struct tmpl_scope){ .vars = s.v, .count = s.n };
	rc = tmpl_render(p->t[kind], &top, out);
	free(items);
	free(scopes);
	return rc;
}
