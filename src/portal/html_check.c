/*
 * html_check.c — a deliberately suspicious HTML scanner; see html_check.h for the rules.
 * It follows the HTML tokenizer closely enough for the pages we write and errs on the
 * side of failing: a false alarm costs an operator a template edit, a miss costs trust.
 */
#include "portal/html_check.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct hc {
	const char *doc;
	size_t len;
	unsigned flags;
	char origin[256];        /* "http://portal.example.net:8080", lower case; "" = none */
	char *why;
	size_t whylen;
	bool failed;
};

static int
hc_fail(struct hc *h, size_t at, const char *fmt, const char *arg)
{
	int line = 1;
	int n;

	if (h->failed)
		return -1;
	for (size_t i = 0; i < at && i < h->len; i++)
		line += h->doc[i] == '\n';
	n = snprintf(h->why, h->whylen, "line %d: ", line);
	if (n >= 0 && (size_t)n < h->whylen)
		snprintf(h->why + n, h->whylen - (size_t)n, fmt, arg ? arg : "");
	h->failed = true;
	return -1;
}

static bool
hc_starts_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && strncasecmp(s, prefix, n) == 0;
}

static const char *
hc_find_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

/* The origin ("scheme://host[:port]") of an http(s) URL, lower-cased. */
static void
hc_origin(const char *url, char *out, size_t size)
{
	const char *p = strstr(url ? url : "", "://");
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 3;
	n = (size_t)(p - url) + strcspn(p, "/?#");
	if (n >= size || n == (size_t)(p - url))
		return;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)url[i]);
	out[n] = '\0';
}

static void
hc_put_utf8(char **o, uint32_t cp)
{
	unsigned char *u = (unsigned char *)*o;
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80)
		*u++ = (unsigned char)cp;
	else if (cp < 0x800) {
		*u++ = (unsigned char)(0xc0 | cp >> 6);
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xe0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*o = (char *)u;
}

/*
 * Decodes character references in an attribute value into out (at least len + 1
 * bytes: nothing decodes longer than it is written). Returns the decoded length.
 */
static size_t
hc_decode(const char *v, size_t len, char *out)
{
	static const struct { const char *name; const char *text; } named[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		{ "colon", ":" }, { "Tab", "\t" }, { "NewLine", "\n" }, { "sol", "/" }, { "bsol", "\\" },
		{ "lpar", "(" }, { "rpar", ")" }, { "period", "." }, { "commat", "@" }, { "num", "#" },
		{ "quest", "?" }, { "equals", "=" }, { "semi", ";" }, { "excl", "!" }, { "nbsp", " " },
	};
	char *o = out;
	size_t i = 0;

	while (i < len) {
		if (v[i] != '&') {
			*o++ = v[i++];
			continue;
		}
		if (i + 1 < len && v[i + 1] == '#') {
			size_t j = i + 2;
			bool hex = j < len && (v[j] == 'x' || v[j] == 'X');
			uint32_t cp = 0;
			size_t digits = 0;
			if (hex)
				j++;
			for (; j < len; j++, digits++) {
				int d;
				if (v[j] >= '0' && v[j] <= '9')
					d = v[j] - '0';
				else if (hex && isxdigit((unsigned char)v[j]))
					d = tolower((unsigned char)v[j]) - 'a' + 10;
				else
					break;
				cp = cp > 0x10ffff ? cp : cp * (hex ? 16u : 10u) + (uint32_t)d;
			}
			if (digits == 0) {
				*o++ = v[i++];
				continue;
			}
			if (j < len && v[j] == ';')
				j++;
			hc_put_utf8(&o, cp);
			i = j;
			continue;
		}
		bool done = false;
		for (size_t k = 0; k < sizeof(named) / sizeof(named[0]) && !done; k++) {
			size_t n = strlen(named[k].name);
			if (i + 1 + n <= len && strncmp(v + i + 1, named[k].name, n) == 0) {
				size_t t = strlen(named[k].text);
				memcpy(o, named[k].text, t);
				o += t;
				i += 1 + n;
				if (i < len && v[i] == ';')
					i++;
				done = true;
			}
		}
		if (!done)
			*o++ = v[i++];
	}
	*o = '\0';
	return (size_t)(o - out);
}

/*
 * A URL passes when it is relative (no scheme, not "//host") or starts with the
 * portal's own origin. Browsers drop tabs and newlines inside URLs and leading and
 * trailing blanks and controls, and read '\' as '/': so do we.
 */
static int
hc_url(struct hc *h, size_t at, const char *what, const char *url, size_t len)
{
	char buf[2048];
	size_t n = 0;

	while (len > 0 && (unsigned char)*url <= 0x20)
		url++, len--;
	while (len > 0 && (unsigned char)url[len - 1] <= 0x20)
		len--;
	for (size_t i = 0; i < len; i++) {
		if (url[i] == '\t' || url[i] == '\n' || url[i] == '\r')
			continue;
		if (n + 1 >= sizeof(buf))
			return hc_fail(h, at, "%s: URL too long to judge", what);
		buf[n++] = url[i] == '\\' ? '/' : url[i];
	}
	buf[n] = '\0';
	if (n == 0)
		return 0;
	size_t o = strlen(h->origin);
	if (o > 0 && n >= o && strncasecmp(buf, h->origin, o) == 0 &&
	    (buf[o] == '\0' || buf[o] == '/' || buf[o] == '?' || buf[o] == '#'))
		return 0;
	if (buf[0] == '/' && buf[1] == '/')
		return hc_fail(h, at, "%s points to another host", what);
	size_t s = 0;
	if (isalpha((unsigned char)buf[0])) {
		while (isalnum((unsigned char)buf[s]) || buf[s] == '+' || buf[s] == '-' || buf[s] == '.')
			s++;
		if (buf[s] == ':')
			return hc_fail(h, at, "%s names a scheme (only relative paths and the portal's own URL)",
			    what);
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return hc_fail(h, at, "%s: a control character in a URL", what);
	return 0;
}

/* CSS from a <style> element or a style attribute. */
static int
hc_css(struct hc *h, size_t at, const char *css, size_t len)
{
	static const char *const banned[] = { "@import", "expression(", "behavior", "-moz-binding",
	    "image-set(", "javascript:", "vbscript:" };

	if ((h->flags & HTML_CHECK_TEMPLATE) && memmem(css, len, "{{", 2) != NULL)
		return hc_fail(h, at, "a {{placeholder}} in CSS", NULL);
	if (memchr(css, '\\', len) != NULL)
		return hc_fail(h, at, "CSS escapes are not allowed (they can hide url())", NULL);
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (hc_find_ci(css, len, banned[i]) != NULL)
			return hc_fail(h, at, "CSS %s is not allowed", banned[i]);
	const char *p = css, *end = css + len;
	while ((p = hc_find_ci(p, (size_t)(end - p), "url(")) != NULL) {
		p += 4;
		while (p < end && isspace((unsigned char)*p))
			p++;
		const char *q;
		if (p < end && (*p == '"' || *p == '\'')) {
			q = memchr(p + 1, *p, (size_t)(end - p - 1));
			if (q == NULL)
				return hc_fail(h, at, "CSS url() without its closing quote", NULL);
			if (hc_url(h, at, "CSS url()", p + 1, (size_t)(q - p - 1)) != 0)
				return -1;
		} else {
			q = memchr(p, ')', (size_t)(end - p));
			if (q == NULL)
				return hc_fail(h, at, "CSS url( without )", NULL);
			if (hc_url(h, at, "CSS url()", p, (size_t)(q - p)) != 0)
				return -1;
		}
		p = q + 1;
	}
	return 0;
}

static bool
hc_in(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

static const char *const hc_banned_elements[] = {
	"script", "link", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "svg",
	"math", "portal", "fencedframe", "noembed", "param", NULL,
};

static const char *const hc_url_attributes[] = {
	"href", "src", "action", "formaction", "poster", "background", "cite", "data", "codebase",
	"longdesc", "lowsrc", "dynsrc", "ping", "manifest", "xlink:href", "icon", "profile", "usemap",
	"archive", "classid", "itemtype", "itemid", NULL,
};

/* One attribute of element tag; value (vlen bytes, raw) is NULL when there is none. */
static int
hc_attribute(struct hc *h, size_t at, const char *tag, const char *name, const char *value, size_t vlen,
    bool quoted, bool *refresh)
{
	char *v;
	size_t n;
	int rc = 0;
	char what[96];

	if (strncmp(name, "on", 2) == 0)
		return hc_fail(h, at, "an event handler attribute (%s)", name);
	if (strcmp(name, "srcdoc") == 0)
		return hc_fail(h, at, "a srcdoc attribute", NULL);
	if (value == NULL)
		return 0;
	if ((h->flags & HTML_CHECK_TEMPLATE) && !quoted && memmem(value, vlen, "{{", 2) != NULL)
		return hc_fail(h, at, "a {{placeholder}} in an unquoted attribute value (%s)", name);
	if ((v = malloc(vlen + 1)) == NULL)
		return hc_fail(h, at, "out of memory", NULL);
	n = hc_decode(value, vlen, v);
	snprintf(what, sizeof(what), "%s=", name);
	if (strcmp(name, "style") == 0)
		rc = hc_css(h, at, v, n);
	else if (hc_in(name, hc_url_attributes)) {
		if ((h->flags & HTML_CHECK_TEMPLATE) && strncmp(v, "{{", 2) == 0) {
			const char *p = v + 2;
			while (*p == ' ')
				p++;
			if (strncmp(p, "portal_url", 10) != 0 || strncmp(p + 10 + strspn(p + 10, " "), "}}", 2) != 0)
				rc = hc_fail(h, at, "%s starts with a {{placeholder}} other than {{portal_url}}", what);
		}
		if (rc == 0)
			rc = hc_url(h, at, what, v, n);
	} else if (strcmp(name, "srcset") == 0 || strcmp(name, "imagesrcset") == 0) {
		char *save = NULL;
		for (char *item = strtok_r(v, ",", &save); item != NULL && rc == 0; item = strtok_r(NULL, ",", &save)) {
			item += strspn(item, " \t\r\n\f");
			rc = hc_url(h, at, what, item, strcspn(item, " \t\r\n\f"));
		}
	} else if (strcmp(tag, "meta") == 0 && strcmp(name, "http-equiv") == 0) {
		const char *p = v + strspn(v, " \t\r\n\f");
		if (hc_starts_ci(p, strlen(p), "refresh") || hc_starts_ci(p, strlen(p), "set-cookie"))
			*refresh = true;
	}
	free(v);
	if (*refresh)
		return hc_fail(h, at, "<meta http-equiv> refresh or set-cookie", NULL);
	return rc;
}

/* The element whose name starts at p; returns the offset after its '>'. */
static size_t
hc_element(struct hc *h, size_t lt)
{
	const char *d = h->doc;
	size_t i = lt + 1, len = h->len;
	char tag[32];
	size_t tn = 0;
	bool refresh = false;

	while (i < len && (isalnum((unsigned char)d[i]) || d[i] == '-' || d[i] == ':' || d[i] == '_')) {
		if (tn + 1 < sizeof(tag))
			tag[tn++] = (char)tolower((unsigned char)d[i]);
		i++;
	}
	tag[tn] = '\0';
	if (hc_in(tag, hc_banned_elements)) {
		hc_fail(h, lt, "a <%s> element", tag);
		return len;
	}
	for (;;) {
		while (i < len && (isspace((unsigned char)d[i]) || d[i] == '/'))
			i++;
		if (i >= len) {
			hc_fail(h, lt, "<%s> is never closed with '>'", tag);
			return len;
		}
		if (d[i] == '>')
			break;
		/* the attribute name */
		char name[48];
		size_t nn = 0, at = i;
		while (i < len && !isspace((unsigned char)d[i]) && d[i] != '=' && d[i] != '>' && d[i] != '/') {
			if (d[i] == '{' && (h->flags & HTML_CHECK_TEMPLATE)) {
				hc_fail(h, i, "a {{placeholder}} inside a tag, outside a quoted attribute value", NULL);
				return len;
			}
			if (nn + 1 < sizeof(name))
				name[nn++] = (char)tolower((unsigned char)d[i]);
			i++;
		}
		if (nn == 0) {       /* a lone '=': the tokenizer takes it as a name; so do we */
			name[nn++] = d[i++];
		}
		name[nn] = '\0';
		while (i < len && isspace((unsigned char)d[i]))
			i++;
		const char *value = NULL;
		size_t vlen = 0;
		bool quoted = false;
		if (i < len && d[i] == '=') {
			i++;
			while (i < len && isspace((unsigned char)d[i]))
				i++;
			if (i < len && (d[i] == '"' || d[i] == '\'')) {
				const char *q = memchr(d + i + 1, d[i], len - i - 1);
				if (q == NULL) {
					hc_fail(h, at, "attribute %s: the quoted value never ends", name);
					return len;
				}
				value = d + i + 1;
				vlen = (size_t)(q - value);
				quoted = true;
				i = (size_t)(q - d) + 1;
			} else {
				value = d + i;
				while (i < len && !isspace((unsigned char)d[i]) && d[i] != '>')
					i++;
				vlen = (size_t)(d + i - value);
			}
		}
		if (hc_attribute(h, at, tag, name, value, vlen, quoted, &refresh) != 0)
			return len;
	}
	i++;          /* past '>' */
	if (strcmp(tag, "style") == 0) {
		const char *end = hc_find_ci(d + i, len - i, "</style");
		size_t stop = end ? (size_t)(end - d) : len;
		if (hc_css(h, i, d + i, stop - i) != 0)
			return len;
		return stop;
	}
	if (strcmp(tag, "textarea") == 0 || strcmp(tag, "title") == 0) {
		char close[40];
		snprintf(close, sizeof(close), "</%s", tag);
		const char *end = hc_find_ci(d + i, len - i, close);
		return end ? (size_t)(end - d) : len;
	}
	return i;
}

int
html_check(const char *doc, size_t len, const char *self_url, unsigned flags, char *why, size_t whylen)
{
	struct hc h = { .doc = doc, .len = len, .flags = flags, .why = why, .whylen = whylen };
	const char *p;
	size_t i = 0;

	if (whylen > 0)
		why[0] = '\0';
	hc_origin(self_url, h.origin, sizeof(h.origin));
	if ((p = hc_find_ci(doc, len, "<script")) != NULL)
		return hc_fail(&h, (size_t)(p - doc), "\"<script\"", NULL);
	if (memchr(doc, '\0', len) != NULL)
		return hc_fail(&h, (size_t)((const char *)memchr(doc, '\0', len) - doc), "a NUL byte", NULL);
	while (i < len && !h.failed) {
		const char *lt = memchr(doc + i, '<', len - i);
		if (lt == NULL)
			break;
		i = (size_t)(lt - doc);
		if (hc_starts_ci(lt, len - i, "<!--")) {
			const char *end = memmem(lt + 4, len - i - 4, "-->", 3);
			if (end == NULL)
				return hc_fail(&h, i, "a comment that never ends", NULL);
			i = (size_t)(end - doc) + 3;
		} else if (i + 1 < len && (lt[1] == '!' || lt[1] == '?')) {
			const char *end = memchr(lt, '>', len - i);
			i = end ? (size_t)(end - doc) + 1 : len;
		} else if (i + 1 < len && lt[1] == '/') {
			size_t j = i + 2;
			if ((flags & HTML_CHECK_TEMPLATE) && j < len && doc[j] == '{')
				return hc_fail(&h, i, "a {{placeholder}} as an element name", NULL);
			char tag[32];
			size_t tn = 0;
			while (j < len && isalnum((unsigned char)doc[j]) && tn + 1 < sizeof(tag))
				tag[tn++] = (char)tolower((unsigned char)doc[j++]);
			tag[tn] = '\0';
			if (hc_in(tag, hc_banned_elements))
				return hc_fail(&h, i, "a </%s> tag", tag);
			const char *end = memchr(doc + j, '>', len - j);
			i = end ? (size_t)(end - doc) + 1 : len;
		} else if (i + 1 < len && isalpha((unsigned char)lt[1])) {
			i = hc_element(&h, i);
		} else {
			if ((flags & HTML_CHECK_TEMPLATE) && i + 1 < len && lt[1] == '{')
				return hc_fail(&h, i, "a {{placeholder}} as an element name", NULL);
			i++;
		}
	}
	return h.failed ? -1 : 0;
}
