/*
 * template.c — compile and expand the portal's {{name}} templates; see template.h.
 */
#include "portal/template.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strview.h"

enum tnode_kind { TNODE_TEXT, TNODE_VAR, TNODE_SECTION, TNODE_INVERTED };

struct tnode {
	enum tnode_kind kind;
	size_t off, len;              /* TNODE_TEXT: the bytes of the template */
	size_t end;                   /* sections: index of the node after the body */
	char name[TMPL_NAME_MAX];
};

struct tmpl {
	char *text;
	struct tnode *nodes;
	size_t count;
};

void
tbuf_append(struct tbuf *b, const char *s, size_t len)
{
	if (b->failed || len == 0)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (grown == NULL) {
			b->failed = true;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
tbuf_free(struct tbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

void
html_escape_append(struct tbuf *b, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, plain = 0;

	while (i < len) {
		unsigned char c = s[i];
		const char *rep = NULL;
		size_t adv = 1;

		if (c >= 0x20 && c < 0x7f) {
			switch (c) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&#39;"; break;
			case '`': rep = "&#96;"; break;
			default: i++; continue;
			}
		} else if (c == '\t' || c == '\n' || c == '\r') {
			rep = " ";
		} else if (c < 0x80) {
			rep = REPLACEMENT;        /* other C0 controls and DEL */
		} else {
			uint32_t cp;
			size_t n = utf8_decode(s + i, len - i, &cp);
			if (n == 0)
				rep = REPLACEMENT;
			else if (cp < 0xa0 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
				rep = REPLACEMENT, adv = n;   /* C1 controls, bidi overrides */
			else if (cp == 0x2028 || cp == 0x2029)
				rep = " ", adv = n;
			else {
				i += n;
				continue;
			}
		}
		tbuf_append(b, text + plain, i - plain);
		tbuf_append(b, rep, strlen(rep));
		i += adv;
		plain = i;
	}
	tbuf_append(b, text + plain, i - plain);
}

static bool
tmpl_known(const char *const *known, const char *name)
{
	if (known == NULL)
		return true;
	for (; *known != NULL; known++)
		if (strcmp(*known, name) == 0)
			return true;
	return false;
}

static int
tmpl_line(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

static struct tnode *
tmpl_push(struct tmpl *t, size_t *cap)
{
	if (t->count == *cap) {
		size_t n = *cap ? *cap * 2 : 32;
		struct tnode *grown = realloc(t->nodes, n * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		t->nodes = grown;
		*cap = n;
	}
	struct tnode *nd = &t->nodes[t->count++];
	memset(nd, 0, sizeof(*nd));
	return nd;
}

struct tmpl *
tmpl_parse(const char *name, const char *text, size_t len, const char *const *known, char *err, size_t errlen)
{
	struct tmpl *t = calloc(1, sizeof(*t));
	size_t cap = 0, pos = 0;
	size_t open[TMPL_DEPTH_MAX];
	size_t depth = 0;
	size_t at = 0;               /* where the tag being looked at starts, for errors */
	const char *problem = NULL;
	char what[TMPL_NAME_MAX + 64];

	if (t == NULL || (t->text = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		free(t);
		return NULL;
	}
	if (len > TMPL_SIZE_MAX) {
		snprintf(err, errlen, "%s: larger than %d KiB", name, TMPL_SIZE_MAX / 1024);
		tmpl_free(t);
		return NULL;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	while (pos < len) {
		const char *open_tag = memmem(t->text + pos, len - pos, "{{", 2);
		size_t start = open_tag ? (size_t)(open_tag - t->text) : len;
		struct tnode *nd;

		if (start > pos) {
			if ((nd = tmpl_push(t, &cap)) == NULL)
				goto oom;
			nd->kind = TNODE_TEXT;
			nd->off = pos;
			nd->len = start - pos;
		}
		if (open_tag == NULL)
			break;
		at = start;
		const char *close_tag = memmem(t->text + start + 2, len - start - 2, "}}", 2);
		if (close_tag == NULL) {
			problem = "\"{{\" without \"}}\"";
			goto bad;
		}
		size_t a = start + 2, b = (size_t)(close_tag - t->text);
		pos = b + 2;
		char sigil = t->text[a];
		if (sigil == '!')
			continue;
		if (sigil == '#' || sigil == '^' || sigil == '/')
			a++;
		while (a < b && (t->text[a] == ' ' || t->text[a] == '\t'))
			a++;
		while (b > a && (t->text[b - 1] == ' ' || t->text[b - 1] == '\t'))
			b--;
		if (b == a || b - a >= TMPL_NAME_MAX) {
			problem = "a placeholder needs a name of 1 to 31 characters";
			goto bad;
		}
		char tag[TMPL_NAME_MAX];
		for (size_t i = a; i < b; i++) {
			char c = t->text[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
				problem = "a placeholder name has only letters, digits and _ (no raw {{{...}}} here)";
				goto bad;
			}
		}
		memcpy(tag, t->text + a, b - a);
		tag[b - a] = '\0';
		if (sigil == '/') {
			if (depth == 0 || strcmp(t->nodes[open[depth - 1]].name, tag) != 0) {
				snprintf(what, sizeof(what), "{{/%s}} does not close the open section", tag);
				problem = what;
				goto bad;
			}
			t->nodes[open[--depth]].end = t->count;
			continue;
		}
		if (!tmpl_known(known, tag)) {
			snprintf(what, sizeof(what), "unknown placeholder {{%s}}", tag);
			problem = what;
			goto bad;
		}
		if ((nd = tmpl_push(t, &cap)) == NULL)
			goto oom;
		memcpy(nd->name, tag, b - a + 1);
		if (sigil == '#' || sigil == '^') {
			if (depth == TMPL_DEPTH_MAX) {
				problem = "sections nested too deep";
				goto bad;
			}
			nd->kind = sigil == '#' ? TNODE_SECTION : TNODE_INVERTED;
			open[depth++] = t->count - 1;
		} else
			nd->kind = TNODE_VAR;
	}
	if (depth > 0) {
		at = len;
		snprintf(what, sizeof(what), "section {{#%s}} is never closed", t->nodes[open[depth - 1]].name);
		problem = what;
		goto bad;
	}
	return t;
oom:
	snprintf(err, errlen, "%s: out of memory", name);
	tmpl_free(t);
	return NULL;
bad:
	snprintf(err, errlen, "%s:%d: %s", name, tmpl_line(t->text, at), problem);
	tmpl_free(t);
	return NULL;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->text);
	free(t->nodes);
	free(t);
}

static const struct tmpl_var *
tmpl_lookup(const struct tmpl_scope *const *stack, size_t depth, const char *name)
{
	for (size_t d = depth; d-- > 0;)
		for (size_t i = 0; i < stack[d]->count; i++)
			if (strcmp(stack[d]->vars[i].name, name) == 0)
				return &stack[d]->vars[i];
	return NULL;
}

static bool
tmpl_truthy(const struct tmpl_var *v)
{
	if (v == NULL)
		return false;
	switch (v->kind) {
	case TMPL_TEXT: return v->text != NULL && v->text[0] != '\0';
	case TMPL_FLAG: return v->flag;
	case TMPL_LIST: return v->item_count > 0;
	}
	return false;
}

static void
tmpl_range(const struct tmpl *t, size_t from, size_t to, const struct tmpl_scope **stack, size_t depth,
    struct tbuf *out)
{
	size_t i = from;

	while (i < to) {
		const struct tnode *nd = &t->nodes[i];
		const struct tmpl_var *v;

		switch (nd->kind) {
		case TNODE_TEXT:
			tbuf_append(out, t->text + nd->off, nd->len);
			i++;
			break;
		case TNODE_VAR:
			v = tmpl_lookup(stack, depth, nd->name);
			if (v != NULL && v->kind == TMPL_TEXT && v->text != NULL)
				html_escape_append(out, v->text, strlen(v->text));
			i++;
			break;
		case TNODE_SECTION:
			v = tmpl_lookup(stack, depth, nd->name);
			if (v != NULL && v->kind == TMPL_LIST && depth < TMPL_DEPTH_MAX + 1) {
				for (size_t k = 0; k < v->item_count; k++) {
					stack[depth] = &v->items[k];
					tmpl_range(t, i + 1, nd->end, stack, depth + 1, out);
				}
			} else if (tmpl_truthy(v))
				tmpl_range(t, i + 1, nd->end, stack, depth, out);
			i = nd->end;
			break;
		case TNODE_INVERTED:
			if (!tmpl_truthy(tmpl_lookup(stack, depth, nd->name)))
				tmpl_range(t, i + 1, nd->end, stack, depth, out);
			i = nd->end;
			break;
		}
	}
}

int
tmpl_render(const struct tmpl *t, const struct tmpl_scope *scope, struct tbuf *out)
{
	const struct tmpl_scope *stack[TMPL_DEPTH_MAX + 2];

	stack[0] = scope;
	tmpl_range(t, 0, t->count, stack, 1, out);
	return out->failed ? -ENOMEM : 0;
}
