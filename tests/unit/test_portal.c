/*
 * test_portal.c — the portal's pure parts: HTML escaping of hostile evidence, the
 * {{name}} templates, the release token (address binding, expiry, tampering), the HTML
 * check itself, and every page variant rendered from the shipped templates with
 * hostile data, each of which must pass the check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/level.h"
#include "portal/html_check.h"
#include "portal/page.h"
#include "sense/report.h"
#include "portal/template.h"
#include "portal/token.h"

#ifndef PORTAL_TEMPLATES
#define PORTAL_TEMPLATES "share/portal"
#endif

#define SELF_URL "http://portal.example.net/"
#define FFFD "\xef\xbf\xbd"

/* The worst a mail log can hand us as an evidence summary. */
static const char hostile[] =
	"550 5.1.1 <bob@example.org>: \"User unknown\" <script>alert('x')</script> "
	"<img src=x onerror=alert(1)> <a href=\"javascript:alert(2)\">click</a> & "
	"\x1b[31mred\x07 \x01 tab\there \xe2\x80\xae evil-override \xc2\x85 \xff\xfe end";

static char *
escape(const char *s, size_t len)
{
	static struct tbuf b;
	tbuf_free(&b);
	html_escape_append(&b, s, len);
	assert_false(b.failed);
	return b.data ? b.data : "";
}

#define ESCAPE(lit) escape(lit, sizeof(lit) - 1)

/* ---- escaping ---------------------------------------------------------------- */

static void
test_escape_markup(void **state)
{
	(void)state;
	assert_string_equal(ESCAPE("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
	assert_string_equal(ESCAPE("a \"b\" 'c' `d` & e"), "a &quot;b&quot; &#39;c&#39; &#96;d&#96; &amp; e");
	assert_string_equal(ESCAPE("&lt;"), "&amp;lt;");
	assert_string_equal(ESCAPE("<a href=\"javascript:alert(1)\">x</a>"),
	    "&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;");
	assert_string_equal(ESCAPE("plain text, 100% fine: (ok) [ok] {ok} = / ; #"),
	    "plain text, 100% fine: (ok) [ok] {ok} = / ; #");
	assert_string_equal(ESCAPE(""), "");
}

static void
test_escape_controls(void **state)
{
	(void)state;
	assert_string_equal(ESCAPE("a\tb\nc\rd"), "a b c d");
	assert_string_equal(ESCAPE("\x01\x1b[31m\x7f"), FFFD FFFD "[31m" FFFD);
	assert_string_equal(escape("a\0b", 3), "a" FFFD "b");
	/* C1 controls, bidi overrides and isolates, line separators */
	assert_string_equal(ESCAPE("\xc2\x85\xc2\x9f"), FFFD FFFD);
	assert_string_equal(ESCAPE("\xe2\x80\xae" "abc" "\xe2\x81\xa6"), FFFD "abc" FFFD);
	assert_string_equal(ESCAPE("a\xe2\x80\xa8" "b"), "a b");
}

static void
test_escape_utf8(void **state)
{
	(void)state;
	/* valid text passes untouched: é € 😀 and a no-break space */
	assert_string_equal(ESCAPE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0"),
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0");
	assert_string_equal(ESCAPE("\xff\xfe"), FFFD FFFD);
	assert_string_equal(ESCAPE("\xc0\xaf"), FFFD FFFD);                 /* overlong '/' */
	assert_string_equal(ESCAPE("\xe0\x80\xbc"), FFFD FFFD FFFD);        /* overlong '<' */
	assert_string_equal(ESCAPE("\xed\xa0\x80"), FFFD FFFD FFFD);        /* a surrogate */
	assert_string_equal(ESCAPE("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	assert_string_equal(ESCAPE("ab\xe2\x82"), "ab" FFFD FFFD);          /* cut short */
	assert_string_equal(ESCAPE("\xc3<"), FFFD "&lt;");
}

/* ---- templates --------------------------------------------------------------- */

static char *
render(const char *text, const struct tmpl_scope *scope)
{
	static struct tbuf b;
	char err[256];
	struct tmpl *t = tmpl_parse("t.html", text, strlen(text), NULL, err, sizeof(err));

	if (t == NULL)
		fail_msg("parse: %s", err);
	tbuf_free(&b);
	assert_int_equal(tmpl_render(t, scope, &b), 0);
	tmpl_free(t);
	return b.data ? b.data : "";
}

static void
test_template_values(void **state)
{
	struct tmpl_var v[] = {
		{ .name = "name", .kind = TMPL_TEXT, .text = "<b>Bob</b>" },
		{ .name = "empty", .kind = TMPL_TEXT, .text = "" },
		{ .name = "null", .kind = TMPL_TEXT, .text = NULL },
		{ .name = "yes", .kind = TMPL_FLAG, .flag = true },
		{ .name = "no", .kind = TMPL_FLAG, .flag = false },
	};
	struct tmpl_scope s = { v, 5 };

	(void)state;
	assert_string_equal(render("Hello {{name}}!", &s), "Hello &lt;b&gt;Bob&lt;/b&gt;!");
	assert_string_equal(render("[{{ name }}]", &s), "[&lt;b&gt;Bob&lt;/b&gt;]");
	assert_string_equal(render("[{{missing}}][{{null}}][{{yes}}]", &s), "[][][]");
	assert_string_equal(render("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{^no}}n{{/no}}{{^yes}}y{{/yes}}", &s), "Yn");
	assert_string_equal(render("{{#name}}has {{name}}{{/name}}{{#empty}}E{{/empty}}{{^empty}}e{{/empty}}", &s),
	    "has &lt;b&gt;Bob&lt;/b&gt;e");
	assert_string_equal(render("{{#missing}}M{{/missing}}{{^missing}}m{{/missing}}", &s), "m");
	assert_string_equal(render("a{{! a comment with {{braces }}b", &s), "ab");
	assert_string_equal(render("no tags at all", &s), "no tags at all");
	assert_string_equal(render("", &s), "");
	assert_string_equal(render("{ {name} } {name}}", &s), "{ {name} } {name}}");
}

static void
test_template_lists(void **state)
{
	struct tmpl_var i1[] = { { .name = "x", .kind = TMPL_TEXT, .text = "1" } };
	struct tmpl_var i2[] = { { .name = "x", .kind = TMPL_TEXT, .text = "<2>" } };
	struct tmpl_var i3[] = { { .name = "y", .kind = TMPL_TEXT, .text = "only y" } };
	struct tmpl_scope items[] = { { i1, 1 }, { i2, 1 }, { i3, 1 } };
	struct tmpl_var v[] = {
		{ .name = "list", .kind = TMPL_LIST, .items = items, .item_count = 3 },
		{ .name = "none", .kind = TMPL_LIST, .items = NULL, .item_count = 0 },
		{ .name = "x", .kind = TMPL_TEXT, .text = "outer" },
	};
	struct tmpl_scope s = { v, 3 };

	(void)state;
	/* an item's names first, then the enclosing scope's */
	assert_string_equal(render("{{#list}}({{x}}){{/list}}", &s), "(1)(&lt;2&gt;)(outer)");
	assert_string_equal(render("{{#none}}X{{/none}}{{^none}}empty{{/none}}{{^list}}Z{{/list}}", &s), "empty");
	assert_string_equal(render("{{#list}}{{#list}}.{{/list}}|{{/list}}", &s), "...|...|...|");
}

static void
test_template_errors(void **state)
{
	static const char *const known[] = { "a", "b", NULL };
	static const struct { const char *text; const char *error; } cases[] = {
		{ "x {{a", "t.html:1: \"{{\" without \"}}\"" },
		{ "line\n{{nope}}", "t.html:2: unknown placeholder {{nope}}" },
		{ "{{#a}}x{{/b}}", "t.html:1: {{/b}} does not close the open section" },
		{ "{{/a}}", "t.html:1: {{/a}} does not close the open section" },
		{ "{{#a}}\n\nx", "t.html:3: section {{#a}} is never closed" },
		{ "{{{a}}}", "t.html:1: a placeholder name has only letters, digits and _ (no raw {{{...}}} here)" },
		{ "{{&a}}", "t.html:1: a placeholder name has only letters, digits and _ (no raw {{{...}}} here)" },
		{ "{{}}", "t.html:1: a placeholder needs a name of 1 to 31 characters" },
		{ "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}", "t.html:1: sections nested too deep" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tmpl *t = tmpl_parse("t.html", cases[i].text, strlen(cases[i].text), known, err, sizeof(err));
		if (t != NULL)
			fail_msg("case %zu (%s) parsed", i, cases[i].text);
		assert_string_equal(err, cases[i].error);
	}
	struct tmpl *t = tmpl_parse("t.html", "{{#a}}{{b}}{{/a}}", 17, known, err, sizeof(err));
	assert_non_null(t);
	tmpl_free(t);
}

/* Hostile values land as inert text: nothing the checker objects to comes out. */
static void
test_template_hostile(void **state)
{
	static const char *const values[] = {
		hostile, "<script>alert(1)</script>", "\" onmouseover=\"alert(1)", "' onfocus='x",
		"javascript:alert(1)", "<a href=\"javascript:alert(1)\">x</a>", "</textarea><script>x</script>",
		"<!-- x --><style>@import url(http://evil/)</style>", "<img src=//evil/x.png>",
		"<meta http-equiv=refresh content=0;url=http://evil/>",
	};
	const char *tpl = "<p title=\"{{v}}\">{{v}}</p><input type=\"hidden\" name=\"t\" value=\"{{v}}\">"
	    "<textarea>{{v}}</textarea><a href=\"/x?q={{v}}\">x</a>";
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct tmpl_var v = { .name = "v", .kind = TMPL_TEXT, .text = values[i] };
		struct tmpl_scope s = { &v, 1 };
		const char *out = render(tpl, &s);
		if (html_check(out, strlen(out), SELF_URL, 0, why, sizeof(why)) != 0)
			fail_msg("value %zu: %s in %s", i, why, out);
		assert_null(strstr(out, "<script"));
		assert_null(strstr(out, "<img"));
		assert_null(strstr(out, "<a href=\"javascript"));
	}
}

/* ---- tokens ------------------------------------------------------------------ */

static struct token_key
test_key(uint8_t fill)
{
	struct token_key k = { .len = 32 };
	memset(k.key, fill, k.len);
	return k;
}

#define T0 ((usec_t)1750000000 * USEC_PER_SEC)

static void
test_token_roundtrip(void **state)
{
	struct token_key k = test_key(7);
	char tok[TOKEN_TEXT_MAX];

	(void)state;
	token_make(&k, "192.0.2.7", 42, T0 + 900 * USEC_PER_SEC, tok);
	assert_int_equal(strlen(tok), 10 + 1 + 64);
	assert_string_equal(strchr(tok, '.') - tok == 10 ? "ok" : tok, "ok");
	assert_int_equal(token_check(&k, "192.0.2.7", 42, tok, strlen(tok), T0), TOKEN_OK);
	/* deterministic: the same inputs make the same token */
	char again[TOKEN_TEXT_MAX];
	token_make(&k, "192.0.2.7", 42, T0 + 900 * USEC_PER_SEC, again);
	assert_string_equal(tok, again);
	/* the length given is what counts, not a NUL */
	char padded[TOKEN_TEXT_MAX + 8];
	snprintf(padded, sizeof(padded), "%sjunk", tok);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, padded, strlen(tok), T0), TOKEN_OK);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, padded, strlen(padded), T0), TOKEN_INVALID);
}

static void
test_token_binding(void **state)
{
	struct token_key k = test_key(7), other = test_key(8);
	char tok[TOKEN_TEXT_MAX];

	(void)state;
	token_make(&k, "192.0.2.7", 42, T0 + 900 * USEC_PER_SEC, tok);
	assert_int_equal(token_check(&k, "192.0.2.8", 42, tok, strlen(tok), T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.70", 42, tok, strlen(tok), T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.", 42, tok, strlen(tok), T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "2001:db8::7", 42, tok, strlen(tok), T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 43, tok, strlen(tok), T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 0, tok, strlen(tok), T0), TOKEN_INVALID);
	assert_int_equal(token_check(&other, "192.0.2.7", 42, tok, strlen(tok), T0), TOKEN_INVALID);
	/* the address and episode fields cannot bleed into each other */
	char a[TOKEN_TEXT_MAX], b[TOKEN_TEXT_MAX];
	token_make(&k, "10.0.0.1", 23, T0, a);
	token_make(&k, "10.0.0.12", 3, T0, b);
	assert_string_not_equal(a, b);
}

static void
test_token_expiry(void **state)
{
	struct token_key k = test_key(7);
	char tok[TOKEN_TEXT_MAX];
	usec_t exp = T0 + 900 * USEC_PER_SEC;

	(void)state;
	token_make(&k, "192.0.2.7", 1, exp, tok);
	assert_int_equal(token_check(&k, "192.0.2.7", 1, tok, strlen(tok), exp - 1), TOKEN_OK);
	assert_int_equal(token_check(&k, "192.0.2.7", 1, tok, strlen(tok), exp), TOKEN_EXPIRED);
	assert_int_equal(token_check(&k, "192.0.2.7", 1, tok, strlen(tok), exp + 86400 * USEC_PER_SEC),
	    TOKEN_EXPIRED);
	/* an expiry that is not a whole second is rounded up, never down */
	token_make(&k, "192.0.2.7", 1, exp + 1, tok);
	assert_int_equal(token_check(&k, "192.0.2.7", 1, tok, strlen(tok), exp + 1), TOKEN_OK);
	/* a wrong address on an expired token is still "invalid": the MAC is judged first */
	assert_int_equal(token_check(&k, "192.0.2.8", 1, tok, strlen(tok), exp * 2), TOKEN_INVALID);
}

static void
test_token_tampering(void **state)
{
	struct token_key k = test_key(7);
	char tok[TOKEN_TEXT_MAX], bad[TOKEN_TEXT_MAX + 8];
	size_t len;

	(void)state;
	token_make(&k, "192.0.2.7", 42, T0 + 900 * USEC_PER_SEC, tok);
	len = strlen(tok);
	/* every single character changed, one at a time */
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, tok, len + 1);
		bad[i] = bad[i] == '0' ? '1' : (bad[i] == '.' ? '0' : '0');
		if (token_check(&k, "192.0.2.7", 42, bad, len, T0) == TOKEN_OK)
			fail_msg("changing character %zu of %s went unnoticed", i, tok);
	}
	/* a later expiry with the old MAC */
	memcpy(bad, tok, len + 1);
	bad[0] = '9';
	assert_int_equal(token_check(&k, "192.0.2.7", 42, bad, len, T0), TOKEN_INVALID);
	/* upper-case hex, truncation, extension, junk, leading zeros, an empty token */
	memcpy(bad, tok, len + 1);
	for (char *p = strchr(bad, '.'); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, bad, len, T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, tok, len - 1, T0), TOKEN_INVALID);
	snprintf(bad, sizeof(bad), "%s0", tok);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, bad, len + 1, T0), TOKEN_INVALID);
	snprintf(bad, sizeof(bad), "0%s", tok);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, bad, len + 1, T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, "", 0, T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, ".", 1, T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, "99999999999999999999999.00", 26, T0), TOKEN_INVALID);
	assert_int_equal(token_check(&k, "192.0.2.7", 42, "-1.00", 5, T0), TOKEN_INVALID);
}

static void
test_token_key_file(void **state)
{
	char dir[] = "/tmp/test_portal.XXXXXX", path[128], err[256];
	struct token_key k, k2;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);

	assert_int_equal(token_key_from_file(&k, path, err, sizeof(err)), -1);   /* missing */
	assert_non_null(strstr(err, "No such file"));
	f = fopen(path, "w");
	fputs("too short\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(token_key_from_file(&k, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 16 bytes"));
	f = fopen(path, "w");
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	assert_int_equal(token_key_from_file(&k, path, err, sizeof(err)), 0);
	assert_int_equal(k.len, 32);
	assert_memory_equal(k.key, "0123456789abcdef0123456789abcdef", 32);
	chmod(path, 0644);
	assert_int_equal(token_key_from_file(&k, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "readable by everyone"));
	/* long secrets are hashed to 32 bytes */
	f = fopen(path, "w");
	for (int i = 0; i < 100; i++)
		fputc('a' + i % 26, f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(token_key_from_file(&k, path, err, sizeof(err)), 0);
	assert_int_equal(k.len, 32);
	/* random keys differ */
	assert_int_equal(token_key_random(&k), 0);
	assert_int_equal(token_key_random(&k2), 0);
	assert_memory_not_equal(k.key, k2.key, 32);
	unlink(path);
	rmdir(dir);
}

/* ---- the HTML check ---------------------------------------------------------- */

static void
test_check_passes(void **state)
{
	static const char *const ok[] = {
		"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>x</title></head><body><p>Hi</p></body></html>",
		"<p>&lt;script&gt;alert(1)&lt;/script&gt; is only text</p>",
		"<a href=\"/\">home</a> <a href=\"#top\">top</a> <a href=\"?x=1\">q</a> <a href=\"page.html\">rel</a>",
		"<a href=\"http://portal.example.net/\">me</a> <a href=\"HTTP://Portal.Example.NET/x?y\">me too</a>",
		"<form method=\"post\" action=\"/release\"><input type=\"hidden\" name=\"token\" value=\"1.ab\">"
		"<button type=\"submit\">go</button></form>",
		"<style>body { color: #333; background: #fff; } .x::before { content: \"a: b\"; }</style><p class=\"x\">y</p>",
		"<p style=\"color: red; margin: 0 auto\">styled</p>",
		"<img src=\"logo.png\" alt=\"\"> <div data-x=\"http://not-a-url-attribute\"></div>",
		"<p>online: 5 < 6 and 7 > 3; a <b>bold</b> claim</p>",
		"<!-- a comment about http://example.com/ --><p>x</p>",
		"<meta name=\"viewport\" content=\"width=device-width\"><meta http-equiv=\"content-type\" content=\"text/html\">",
		"<p title='one &amp; two'>x</p><textarea><b>not a tag</b></textarea>",
		"",
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (html_check(ok[i], strlen(ok[i]), SELF_URL, 0, why, sizeof(why)) != 0)
			fail_msg("case %zu should pass: %s\n%s", i, why, ok[i]);
}

static void
test_check_fails(void **state)
{
	static const struct { const char *doc; const char *why; } bad[] = {
		{ "<script>alert(1)</script>", "\"<script\"" },
		{ "<p>\n<SCRIPT SRC=x></SCRIPT>", "line 2: \"<script\"" },
		{ "<!-- <script>x</script> -->", "\"<script\"" },
		{ "<p title=\"<script>\">x</p>", "\"<script\"" },
		{ "<div onclick=\"x()\">x</div>", "event handler attribute (onclick)" },
		{ "<body ONLOAD=x>", "event handler attribute (onload)" },
		{ "<img src=x onerror=alert(1)>", "event handler attribute (onerror)" },
		{ "<p/onmouseover=x>", "event handler attribute (onmouseover)" },
		{ "<link rel=\"stylesheet\" href=\"a.css\">", "a <link> element" },
		{ "<iframe src=\"/x\"></iframe>", "a <iframe> element" },
		{ "<object data=\"x\"></object>", "a <object> element" },
		{ "<embed src=\"x\">", "a <embed> element" },
		{ "<base href=\"/\">", "a <base> element" },
		{ "<svg><a href=\"/\">x</a></svg>", "a <svg> element" },
		{ "<meta http-equiv=\"refresh\" content=\"0;url=http://evil/\">", "refresh" },
		{ "<meta http-equiv=Refresh content=5>", "refresh" },
		{ "<a href=\"javascript:alert(1)\">x</a>", "names a scheme" },
		{ "<a href=\" JaVaScRiPt:alert(1)\">x</a>", "names a scheme" },
		{ "<a href=\"java\tscript:alert(1)\">x</a>", "names a scheme" },
		{ "<a href=\"jav&#x61;script:alert(1)\">x</a>", "names a scheme" },
		{ "<a href=\"&#106;avascript:alert(1)\">x</a>", "names a scheme" },
		{ "<a href=\"javascript&colon;alert(1)\">x</a>", "names a scheme" },
		{ "<a href=\"data:text/html,hi\">x</a>", "names a scheme" },
		{ "<a href=\"mailto:a@b\">x</a>", "names a scheme" },
		{ "<a href=\"https://evil.example/\">x</a>", "names a scheme" },
		{ "<a href=\"http://portal.example.net.evil/\">x</a>", "names a scheme" },
		{ "<a href=\"http://portal.example.net@evil/\">x</a>", "names a scheme" },
		{ "<a href=\"//evil.example/\">x</a>", "another host" },
		{ "<a href=\"\\\\evil.example/\">x</a>", "another host" },
		{ "<a href=\"/\\evil.example/\">x</a>", "another host" },
		{ "<img src=//evil/x.png>", "another host" },
		{ "<img src=\"http://evil/x.png\">", "names a scheme" },
		{ "<img srcset=\"a.png 1x, http://evil/b.png 2x\">", "names a scheme" },
		{ "<form action=\"http://evil/\" method=\"post\"></form>", "names a scheme" },
		{ "<button formaction=\"javascript:x\">x</button>", "names a scheme" },
		{ "<video poster=\"https://evil/p.jpg\"></video>", "names a scheme" },
		{ "<style>@import \"x.css\";</style>", "@import" },
		{ "<style>body{background:url(http://evil/x.png)}</style>", "names a scheme" },
		{ "<style>body{background:URL( '//evil/x' )}</style>", "another host" },
		{ "<style>@font-face{font-family:x;src:url(https://fonts.example/f.woff)}</style>", "names a scheme" },
		{ "<style>p{background:\\75 rl(http://evil/)}</style>", "CSS escapes" },
		{ "<style>p{width:expression(alert(1))}</style>", "expression(" },
		{ "<p style=\"background:url(http://evil/)\">x</p>", "names a scheme" },
		{ "<p style=\"background:url&#40;http://evil/)\">x</p>", "names a scheme" },
		{ "<iframe srcdoc=\"x\">", "a <iframe> element" },
		{ "<div srcdoc=\"x\"></div>", "srcdoc" },
		{ "<p title=\"unterminated>x</p>", "never ends" },
		{ "<!-- never closed", "never ends" },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (html_check(bad[i].doc, strlen(bad[i].doc), SELF_URL, 0, why, sizeof(why)) == 0)
			fail_msg("case %zu should fail: %s", i, bad[i].doc);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("case %zu: expected \"%s\" in \"%s\"", i, bad[i].why, why);
	}
	/* without a self URL, even the portal's own absolute URL is refused */
	const char *own = "<a href=\"http://portal.example.net/\">me</a>";
	assert_int_equal(html_check(own, strlen(own), NULL, 0, why, sizeof(why)), -1);
}

static void
test_check_template_mode(void **state)
{
	static const char *const ok[] = {
		"<p>{{summary}}</p><input type=\"hidden\" name=\"token\" value=\"{{token}}\">",
		"<a href=\"{{portal_url}}\">{{portal_url}}</a> <a href=\"{{ portal_url }}x\">y</a>",
		"<a href=\"/release?t={{token}}\">x</a><p title='{{x}}'>y</p>",
	};
	static const char *const bad[] = {
		"<p {{x}}>y</p>", "<p title={{x}}>y</p>", "<{{x}}>", "</{{x}}>", "<a href=\"{{x}}\">y</a>",
		"<a href=\"{{portal_urlx}}\">y</a>", "<style>p { color: {{x}} }</style>",
		"<p style=\"color: {{x}}\">y</p>", "<img src=\"{{x}}\">",
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (html_check(ok[i], strlen(ok[i]), SELF_URL, HTML_CHECK_TEMPLATE, why, sizeof(why)) != 0)
			fail_msg("template %zu should pass: %s", i, why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (html_check(bad[i], strlen(bad[i]), SELF_URL, HTML_CHECK_TEMPLATE, why, sizeof(why)) == 0)
			fail_msg("template %zu should fail: %s", i, bad[i]);
		if (strstr(why, "placeholder") == NULL)
			fail_msg("template %zu: %s", i, why);
	}
}

/* ---- pages ------------------------------------------------------------------- */

static struct pages *
shipped(void)
{
	char err[512];
	struct pages *p = pages_load(PORTAL_TEMPLATES, SELF_URL, err, sizeof(err));
	if (p == NULL)
		fail_msg("the shipped templates: %s", err);
	return p;
}

static struct page_evidence hostile_evidence[] = {
	{ "bounce_ratio", hostile, 1234, T0 - 3600 * USEC_PER_SEC, T0 - 60 * USEC_PER_SEC, NULL },
	{ "abuse_report", "Reported: \"<iframe src=//evil>\" & 'friends' </ul></li><li>forged", 2, T0 - 7200 * USEC_PER_SEC,
	  T0 - 7000 * USEC_PER_SEC, "Scan it <script>alert(1)</script> & 'restart' it" },
};

static struct page_info
visit(enum page_kind kind)
{
	struct page_info in = {
		.now = T0, .address = "192.0.2.7", .subject = "192.0.2.7", .level = LEVEL_QUARANTINE,
		.since = T0 - 3600 * USEC_PER_SEC, .evidence = hostile_evidence, .evidence_count = 2,
		.releases_used = 1, .release_limit = 3, .release_window = 30 * 86400 * USEC_PER_SEC,
		.grace = 86400 * USEC_PER_SEC, .portal_url = SELF_URL,
		.support_contact = "0800 123 456 or www.example.net/help <script>x</script>",
		.abuse_contact = "abuse@example.net \"><img src=x onerror=alert(1)>",
	};
	if (kind == PAGE_NOTICE) {
		in.token = "1750000900.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
		in.token_expires = T0 + 900 * USEC_PER_SEC;
	}
	if (kind == PAGE_LIMIT) {
		in.releases_used = 3;
		in.case_id = "LZ-20250615-ABCD1234";
	}
	return in;
}

static char *
render_page(struct pages *p, enum page_kind kind, const struct page_info *in)
{
	static struct tbuf b;
	char why[256];

	tbuf_free(&b);
	assert_int_equal(page_render(p, kind, in, &b), 0);
	if (html_check(b.data, b.len, SELF_URL, 0, why, sizeof(why)) != 0)
		fail_msg("%s fails the HTML check: %s", page_file[kind], why);
	assert_null(strstr(b.data, "<script"));
	assert_null(strstr(b.data, "<img"));
	assert_null(strstr(b.data, "<iframe"));
	assert_null(strstr(b.data, "{{"));
	return b.data;
}

static void
test_page_notice(void **state)
{
	struct pages *p = shipped();
	struct page_info in = visit(PAGE_NOTICE);
	char *out;

	(void)state;
	out = render_page(p, PAGE_NOTICE, &in);
	assert_non_null(strstr(out, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
	assert_non_null(strstr(out, "&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(out, "&quot;&lt;iframe src=//evil&gt;&quot; &amp; &#39;friends&#39; &lt;/ul&gt;"));
	assert_non_null(strstr(out, FFFD "[31mred" FFFD));
	assert_non_null(strstr(out, "<form method=\"post\" action=\"/release\">"));
	assert_non_null(strstr(out, "value=\"1750000900.00112233"));
	assert_non_null(strstr(out, "Last seen 2025-06-15 15:05 UTC"));
	assert_non_null(strstr(out, "1234 times"));
	assert_non_null(strstr(out, "restricted since 2025-06-15 14:06 UTC"));
	assert_non_null(strstr(out, "Self-releases left: 2 of 3 in 30 days"));
	assert_non_null(strstr(out, "We will never ask you\nfor a password"));
	assert_non_null(strstr(out, "0800 123 456 or www.example.net/help &lt;script&gt;"));
	assert_non_null(strstr(out, "windowsupdate.com"));
	assert_null(strstr(out, "Not done:"));
	/* the advice for a report's malware family, escaped like all else, only where there is one */
	assert_non_null(strstr(out, "What to do about it:</strong> Scan it &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
	    "&#39;restart&#39; it</p>"));
	const char *first = strstr(out, "What to do about it:");
	assert_null(strstr(first + 1, "What to do about it:"));
	/* the newest evidence first, as given */
	assert_true(strstr(out, "550 5.1.1") < strstr(out, "Reported:"));

	/* a refused release: the reason on top, the button still there */
	in.error = "The button was not made for \"this\" <connection>.";
	out = render_page(p, PAGE_NOTICE, &in);
	assert_non_null(strstr(out, "Not done:</strong> The button was not made for &quot;this&quot; &lt;connection&gt;."));
	assert_non_null(strstr(out, "<form method=\"post\""));

	/* no evidence (an operator's quarantine) */
	in.evidence_count = 0;
	in.since = 0;
	out = render_page(p, PAGE_NOTICE, &in);
	assert_non_null(strstr(out, "after a report"));
	assert_null(strstr(out, "<ul class=\"seen\">"));
	assert_null(strstr(out, "restricted since"));
	pages_free(p);
}

/* advice.txt: "family: text" lines, "*" for the rest, comments; a family found in a report's summary */
static void
test_advice(void **state)
{
	struct pages *p = shipped();
	const char good[] = "# what to tell a subscriber\n\nAndromeda: Scan the Windows computers.\r\n"
	    "  mirai :  Restart the camera.  \n*: Ask us.\n";
	char err[256], family[REPORT_FAMILY_MAX];

	(void)state;
	/* the shipped file has the common families and a catch-all */
	assert_non_null(pages_advice(p, "andromeda"));
	assert_non_null(pages_advice(p, "mirai"));
	assert_non_null(pages_advice(p, "no-such-family"));
	assert_null(pages_advice(p, ""));
	pages_free(p);

	assert_non_null(p = pages_parse((const char *const[]){ "<p>a</p>", "<p>b</p>", "<p>c</p>", "<p>d</p>" },
	    SELF_URL, err, sizeof(err)));
	assert_null(pages_advice(p, "mirai"));
	assert_int_equal(pages_parse_advice(p, "advice.txt", good, sizeof(good) - 1, err, sizeof(err)), 0);
	assert_string_equal(pages_advice(p, "andromeda"), "Scan the Windows computers.");
	assert_string_equal(pages_advice(p, "mirai"), "Restart the camera.");
	assert_string_equal(pages_advice(p, "emotet"), "Ask us.");
	assert_int_equal(pages_parse_advice(p, "advice.txt", "no colon here\n", 14, err, sizeof(err)), -1);
	assert_string_equal(err, "advice.txt:1: expected \"family: what to do\"");
	assert_int_equal(pages_parse_advice(p, "advice.txt", "\nx:\n", 4, err, sizeof(err)), -1);
	assert_string_equal(err, "advice.txt:2: no advice after the family");
	pages_free(p);

	assert_true(report_summary_family("Shadowserver report (x): the 'Andromeda' bot on this connection was seen",
	    family, sizeof(family)));
	assert_string_equal(family, "andromeda");
	assert_false(report_summary_family("Fbl report (abuse): mail sent from this connection", family, sizeof(family)));
	assert_false(report_summary_family("the '' bot on this connection", family, sizeof(family)));
}

static void
test_page_limit(void **state)
{
	struct pages *p = shipped();
	struct page_info in = visit(PAGE_LIMIT);
	char *out;

	(void)state;
	out = render_page(p, PAGE_LIMIT, &in);
	assert_null(strstr(out, "<form"));
	assert_null(strstr(out, "<button"));
	assert_non_null(strstr(out, "LZ-20250615-ABCD1234"));
	assert_non_null(strstr(out, "abuse@example.net &quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(out, "yourself 3 times in the last\n30 days, the most we allow"));
	assert_non_null(strstr(out, "&lt;script&gt;alert(&#39;x&#39;)"));
	assert_null(strstr(out, "has suspended"));

	in.level = LEVEL_SUSPEND;
	out = render_page(p, PAGE_LIMIT, &in);
	assert_non_null(strstr(out, "Our abuse desk has suspended your connection"));
	assert_null(strstr(out, "yourself 3 times"));

	/* self-release not offered at all (self_release_limit = 0) */
	in.level = LEVEL_QUARANTINE;
	in.release_limit = 0;
	in.releases_used = 0;
	out = render_page(p, PAGE_LIMIT, &in);
	assert_non_null(strstr(out, "Our abuse desk restores restricted connections together with you."));
	assert_null(strstr(out, "yourself 0 times"));
	pages_free(p);
}

/*
 * What a quarantined visitor is offered (issue 15, item 7): an operator's quarantine is
 * the abuse desk's unless the operator allowed self-release; an automatic one offers its
 * button only after min_quarantine, and never when its start is not known.
 */
static void
test_release_offer(void **state)
{
	const usec_t M = 60 * USEC_PER_SEC;
	const struct page_release_facts base = { .automatic = true, .releases_used = 0, .release_limit = 3,
	    .since = T0 - 20 * M, .min_quarantine = 15 * M, .now = T0 };
	struct page_release_facts f;
	usec_t at;

	(void)state;
	f = base;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_BUTTON);
	assert_int_equal(at, 0);
	/* too early: the button from since + min_quarantine, to the microsecond */
	f.since = T0 - 5 * M;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_LATER);
	assert_int_equal(at, T0 + 10 * M);
	f.now = T0 + 10 * M - 1;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_LATER);
	f.now = T0 + 10 * M;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_BUTTON);
	/* the start not known: no button rather than one too early */
	f = base;
	f.since = 0;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_LATER);
	assert_int_equal(at, 0);
	/* min_quarantine = 0: at once */
	f.min_quarantine = 0;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_BUTTON);
	/* an operator's quarantine: the abuse desk's, at any age */
	f = base;
	f.automatic = false;
	f.operator_only = true;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_ABUSE_DESK);
	f.since = T0 - 365 * 1440 * M;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_ABUSE_DESK);
	/* ... unless the operator allowed it: then at once, no minimum */
	f.operator_only = false;
	f.since = T0 - M;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_BUTTON);
	/* but never beyond the limit, nor when suspended, nor with a limit of 0 */
	f.releases_used = 3;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_ABUSE_DESK);
	f = base;
	f.suspended = true;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_ABUSE_DESK);
	f = base;
	f.release_limit = 0;
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_ABUSE_DESK);
	f = base;
	f.since = T0 - M;
	f.releases_used = 3;                 /* the limit wins over "later" */
	assert_int_equal(page_release_offer(&f, &at), PAGE_OFFER_ABUSE_DESK);
}

/* The pages that say why there is no button, plainly, with nothing active in them. */
static void
test_page_no_button(void **state)
{
	struct pages *p = shipped();
	struct page_info in = visit(PAGE_LIMIT);
	char *out;

	(void)state;
	/* an operator's quarantine */
	in.releases_used = 0;
	in.by_operator = true;
	in.evidence_count = 0;
	out = render_page(p, PAGE_LIMIT, &in);
	assert_non_null(strstr(out, "Our abuse desk has restricted your connection. You cannot restore it\nyourself"));
	assert_non_null(strstr(out, "Your case number: <strong>LZ-20250615-ABCD1234</strong>"));
	assert_non_null(strstr(out, "Contact our abuse desk: abuse@example.net"));
	assert_null(strstr(out, "still appears to be infected"));
	assert_null(strstr(out, "<form"));
	assert_null(strstr(out, "<button"));
	in.level = LEVEL_SUSPEND;             /* suspended says so, operator or not */
	out = render_page(p, PAGE_LIMIT, &in);
	assert_non_null(strstr(out, "Our abuse desk has suspended your connection"));
	assert_null(strstr(out, "has restricted your connection"));

	/* too early: when the button comes, and no button */
	in = visit(PAGE_NOTICE);
	in.token = NULL;
	in.release_later = true;
	in.min_quarantine = 15 * 60 * USEC_PER_SEC;
	in.release_at = T0 + 9 * 60 * USEC_PER_SEC + 1;
	out = render_page(p, PAGE_NOTICE, &in);
	assert_non_null(strstr(out, "every restriction lasts at least 15 minutes"));
	assert_non_null(strstr(out, "offered on this page from 2025-06-15 15:15 UTC (in about 10 minutes)."));
	assert_non_null(strstr(out, "Self-releases left: 2 of 3 in 30 days"));
	assert_null(strstr(out, "<form"));
	assert_null(strstr(out, "<button"));
	assert_null(strstr(out, "name=\"token\""));
	in.release_at = 0;                    /* not known */
	out = render_page(p, PAGE_NOTICE, &in);
	assert_non_null(strstr(out, "Load this page again a little later"));
	assert_null(strstr(out, "offered on this page from"));
	assert_null(strstr(out, "<form"));
	/* with the button, none of it */
	in = visit(PAGE_NOTICE);
	out = render_page(p, PAGE_NOTICE, &in);
	assert_null(strstr(out, "but not yet"));
	pages_free(p);
}

static void
test_page_released_ok(void **state)
{
	struct pages *p = shipped();
	struct page_info in = visit(PAGE_RELEASED);
	char *out;

	(void)state;
	in.level = LEVEL_NORMAL;
	in.releases_used = 2;
	out = render_page(p, PAGE_RELEASED, &in);
	assert_non_null(strstr(out, "Your internet connection is restored"));
	assert_non_null(strstr(out, "For the next 24 hours"));
	assert_non_null(strstr(out, "Self-releases left: 1 of 3 in 30 days"));
	assert_null(strstr(out, "<form"));

	in = visit(PAGE_OK);
	in.level = LEVEL_NORMAL;
	in.evidence_count = 0;
	out = render_page(p, PAGE_OK, &in);
	assert_non_null(strstr(out, "not restricted"));
	assert_non_null(strstr(out, "Your address: 192.0.2.7."));
	pages_free(p);
}

static void
test_pages_refuse_bad_templates(void **state)
{
	const char *good = "<p>{{address}}</p>";
	const char *texts[PAGE_COUNT] = { good, good, good, good };
	char err[256];

	(void)state;
	struct pages *p = pages_parse(texts, SELF_URL, err, sizeof(err));
	assert_non_null(p);
	pages_free(p);
	texts[PAGE_LIMIT] = "<p>x</p>\n<script>alert(1)</script>";
	assert_null(pages_parse(texts, SELF_URL, err, sizeof(err)));
	assert_string_equal(err, "limit.html:2: \"<script\"");
	texts[PAGE_LIMIT] = good;
	texts[PAGE_OK] = "<link rel=stylesheet href=\"https://fonts.example/css\">";
	assert_null(pages_parse(texts, SELF_URL, err, sizeof(err)));
	assert_string_equal(err, "ok.html:1: a <link> element");
	texts[PAGE_OK] = "<p>{{adress}}</p>";
	assert_null(pages_parse(texts, SELF_URL, err, sizeof(err)));
	assert_string_equal(err, "ok.html:1: unknown placeholder {{adress}}");
	texts[PAGE_OK] = "<a href=\"{{support_contact}}\">x</a>";
	assert_null(pages_parse(texts, SELF_URL, err, sizeof(err)));
	assert_non_null(strstr(err, "other than {{portal_url}}"));
	assert_null(pages_load("/nonexistent/dir", SELF_URL, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/notice.html"));
}

static void
test_page_formats(void **state)
{
	char buf[64], a[32], b[32];

	(void)state;
	assert_string_equal(page_duration(30 * 86400 * USEC_PER_SEC, buf, sizeof(buf)), "30 days");
	assert_string_equal(page_duration(86400 * USEC_PER_SEC, buf, sizeof(buf)), "24 hours");
	assert_string_equal(page_duration(2 * 86400 * USEC_PER_SEC, buf, sizeof(buf)), "2 days");
	assert_string_equal(page_duration(15 * 60 * USEC_PER_SEC, buf, sizeof(buf)), "15 minutes");
	assert_string_equal(page_duration(90 * 60 * USEC_PER_SEC, buf, sizeof(buf)), "1 hour 30 minutes");
	assert_string_equal(page_duration((86400 + 1800) * USEC_PER_SEC, buf, sizeof(buf)), "24 hours 30 minutes");
	assert_string_equal(page_duration((3 * 86400 + 1800) * USEC_PER_SEC, buf, sizeof(buf)), "3 days");
	assert_string_equal(page_duration(1 * USEC_PER_SEC, buf, sizeof(buf)), "1 second");
	assert_string_equal(page_duration(0, buf, sizeof(buf)), "0 seconds");
	assert_string_equal(page_time(T0, buf, sizeof(buf)), "2025-06-15 15:06 UTC");
	assert_string_equal(page_time(0, buf, sizeof(buf)), "-");

	page_case_id("192.0.2.7", T0, a, sizeof(a));
	page_case_id("192.0.2.7", T0, b, sizeof(b));
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 20);
	assert_memory_equal(a, "LZ-20250615-", 12);
	for (int i = 12; i < 20; i++)
		assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", a[i]));
	page_case_id("192.0.2.8", T0, b, sizeof(b));
	assert_string_not_equal(a, b);
	page_case_id("192.0.2.7", T0 + 1, b, sizeof(b));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_markup),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_template_values),
		cmocka_unit_test(test_template_lists),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_template_hostile),
		cmocka_unit_test(test_token_roundtrip),
		cmocka_unit_test(test_token_binding),
		cmocka_unit_test(test_token_expiry),
		cmocka_unit_test(test_token_tampering),
		cmocka_unit_test(test_token_key_file),
		cmocka_unit_test(test_check_passes),
		cmocka_unit_test(test_check_fails),
		cmocka_unit_test(test_check_template_mode),
		cmocka_unit_test(test_page_notice),
		cmocka_unit_test(test_advice),
		cmocka_unit_test(test_page_limit),
		cmocka_unit_test(test_release_offer),
		cmocka_unit_test(test_page_no_button),
		cmocka_unit_test(test_page_released_ok),
		cmocka_unit_test(test_pages_refuse_bad_templates),
		cmocka_unit_test(test_page_formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
