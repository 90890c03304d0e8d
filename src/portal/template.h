/*
 * template.h — the portal's page templates: a small subset of mustache in which every
 * value is HTML-escaped. There is no way to insert raw markup: the templates hold all
 * of it, the daemon supplies only text.
 *
 *   {{name}}               the value of name, escaped; nothing when unset
 *   {{#name}}...{{/name}}  a list: once per item; a flag or text: once when set/non-empty
 *   {{^name}}...{{/name}}  once when name is unset, false, empty text or an empty list
 *   {{! comment }}         nothing
 *
 * Inside a list item, names are looked up in the item first, then outwards.
 */
#ifndef LAZARET_PORTAL_TEMPLATE_H
#define LAZARET_PORTAL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define TMPL_NAME_MAX   32
#define TMPL_DEPTH_MAX  8
#define TMPL_SIZE_MAX   (256 * 1024)

/* A growing output buffer; failed is set (and stays set) when memory ran out. */
struct tbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

void tbuf_append(struct tbuf *b, const char *s, size_t len);
void tbuf_free(struct tbuf *b);

/*
 * html_escape_append — append s as HTML text safe in element content and in quoted
 * attribute values: & < > " ' ` become entities; tab, CR, LF, U+2028/9 a space; other
 * control characters (C0, DEL, C1), bidirectional overrides and invalid UTF-8 each
 * become U+FFFD. Hostile input (from mail logs) comes out inert and visible.
 */
void html_escape_append(struct tbuf *b, const char *s, size_t len);

enum tmpl_kind { TMPL_TEXT, TMPL_FLAG, TMPL_LIST };

struct tmpl_scope;

struct tmpl_var {
	const char *name;
	enum tmpl_kind kind;
	const char *text;                  /* TMPL_TEXT; NULL counts as empty */
	bool flag;                         /* TMPL_FLAG */
	const struct tmpl_scope *items;    /* TMPL_LIST */
	size_t item_count;
};

struct tmpl_scope {
	const struct tmpl_var *vars;
	size_t count;
};

struct tmpl;

/*
 * tmpl_parse — compile text of len bytes (copied). `known` (NULL-terminated, or NULL
 * for anything) lists the names a template may use, so a typo is an error at start-up
 * rather than a silently empty page. On error returns NULL with "name:line: problem"
 * in err.
 */
struct tmpl *tmpl_parse(const char *name, const char *text, size_t len, const char *const *known,
                        char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

/* tmpl_render — append the expansion of t with scope to out. 0 or -ENOMEM. */
int tmpl_render(const struct tmpl *t, const struct tmpl_scope *scope, struct tbuf *out);

#endif
