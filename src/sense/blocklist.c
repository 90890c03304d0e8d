/*
 * blocklist.c — the C&C list parsers and their load into an lpm table. See blocklist.h.
 *
 * Lines are split here rather than by common/linesplit: the whole file is in memory,
 * and a line over the limit must be refused as one, not cut and handed over.
 */
#include "sense/blocklist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define FEODO_FIELDS_MAX 16

static const char *const format_names[] = {
	[BLOCKLIST_AUTO] = "auto",
	[BLOCKLIST_PLAIN] = "plain",
	[BLOCKLIST_DROP_TEXT] = "drop",
	[BLOCKLIST_DROP_JSON] = "drop-json",
	[BLOCKLIST_FEODO_CSV] = "feodo-csv",
};

const char *
blocklist_format_name(enum blocklist_format f)
{
	return (unsigned)f < sizeof(format_names) / sizeof(format_names[0]) ? format_names[f] : "?";
}

int
blocklist_format_parse(const char *name, enum blocklist_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum blocklist_format)i;
			return 0;
		}
	return -EINVAL;
}

enum line_kind { LINE_ENTRY, LINE_BLANK, LINE_COMMENT, LINE_METADATA, LINE_MALFORMED };

/* What the parser of one format keeps between lines. */
struct parse_state {
	enum blocklist_format format;
	int col_ip, col_port, col_family;  /* Feodo CSV: the columns the header named */
	char fields[BLOCKLIST_LINE_MAX];   /* Feodo CSV: a line's fields unquoted */
	char family[BLOCKLIST_FAMILY_MAX]; /* ... and the entry's family, for the callback */
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* The line without the blanks around it. */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_space(**s))
		(*s)++, (*n)--;
	while (*n > 0 && is_space((*s)[*n - 1]))
		(*n)--;
}

/* An address or prefix of n bytes into e->net. */
static bool
parse_net(const char *s, size_t n, struct blocklist_entry *e)
{
	char buf[ADDR_TEXT_MAX];

	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cidr_parse(buf, &e->net) == 0;
}

/* Plain lists and DROP text: an address or prefix, then nothing or a comment. */
static enum line_kind
parse_text_line(const char *s, size_t n, struct blocklist_entry *e)
{
	size_t k = 0;

	if (s[0] == '#' || s[0] == ';')
		return LINE_COMMENT;
	while (k < n && !is_space(s[k]) && s[k] != '#' && s[k] != ';')
		k++;
	if (!parse_net(s, k, e))
		return LINE_MALFORMED;
	while (k < n && is_space(s[k]))
		k++;
	if (k < n && s[k] != '#' && s[k] != ';')
		return LINE_MALFORMED;          /* two addresses, or words after one */
	e->port = 0;
	e->family = NULL;
	return LINE_ENTRY;
}

/* A DROP JSON line: an object with "cidr", or the metadata object. */
static enum line_kind
parse_json_line(const char *s, size_t n, struct blocklist_entry *e)
{
	json_error_t jerr;
	json_t *o, *v;
	enum line_kind kind = LINE_MALFORMED;

	if (s[0] != '{')
		return LINE_MALFORMED;
	o = json_loadb(s, n, 0, &jerr);
	if (o == NULL)
		return LINE_MALFORMED;
	if (!json_is_object(o))
		goto out;
	v = json_object_get(o, "type");
	if (json_is_string(v) && strcmp(json_string_value(v), "metadata") == 0) {
		kind = LINE_METADATA;
		goto out;
	}
	v = json_object_get(o, "cidr");
	if (json_is_string(v) && parse_net(json_string_value(v), json_string_length(v), e)) {
		e->port = 0;
		e->family = NULL;
		kind = LINE_ENTRY;
	}
out:
	json_decref(o);
	return kind;
}

/*
 * The fields of one CSV line (RFC 4180 quoting: "a ""b""" is a "b"), into f[] as views
 * of buf, which holds the unquoted text (at most n bytes). The number of fields, or -1
 * for a quote left open or text after a closing quote.
 */
static int
csv_fields(const char *s, size_t n, char *buf, const char *f[], size_t flen[], int max)
{
	int nf = 0;
	size_t i = 0, o = 0;

	for (;;) {
		if (nf == max)
			return -1;
		f[nf] = buf + o;
		size_t start = o;
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && s[i] == '"') {
			for (i++;; i++) {
				if (i >= n)
					return -1;
				if (s[i] == '"') {
					if (i + 1 < n && s[i + 1] == '"') {
						buf[o++] = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				buf[o++] = s[i];
			}
			while (i < n && is_space(s[i]))
				i++;
			if (i < n && s[i] != ',')
				return -1;
		} else {
			while (i < n && s[i] != ',')
				buf[o++] = s[i++];
			while (o > start && is_space(buf[o - 1]))
				o--;
		}
		flen[nf++] = o - start;
		if (i >= n)
			return nf;
		i++;            /* the comma */
	}
}

static bool
field_is(const char *f, size_t n, const char *name)
{
	return n == strlen(name) && memcmp(f, name, n) == 0;
}

/* A malware family's name as the summaries and a log line's family= may quote it: one
 * word, nothing to escape. Copied into out (BLOCKLIST_FAMILY_MAX). */
static bool
family_copy(const char *f, size_t n, char *out)
{
	if (n == 0 || n >= BLOCKLIST_FAMILY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = f[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '+' || c == '_' || c == '-'))
			return false;
	}
	memcpy(out, f, n);
	out[n] = '\0';
	return true;
}

static enum line_kind
parse_feodo_line(struct parse_state *ps, const char *s, size_t n, struct blocklist_entry *e)
{
	char *buf = ps->fields;
	const char *f[FEODO_FIELDS_MAX];
	size_t flen[FEODO_FIELDS_MAX];
	int nf;

	if (s[0] == '#')
		return LINE_COMMENT;
	if ((nf = csv_fields(s, n, buf, f, flen, FEODO_FIELDS_MAX)) < 0)
		return LINE_MALFORMED;
	if (field_is(f[0], flen[0], "first_seen_utc")) {
		ps->col_ip = ps->col_port = ps->col_family = -1;
		for (int i = 0; i < nf; i++) {
			if (field_is(f[i], flen[i], "dst_ip"))
				ps->col_ip = i;
			else if (field_is(f[i], flen[i], "dst_port"))
				ps->col_port = i;
			else if (field_is(f[i], flen[i], "malware"))
				ps->col_family = i;
		}
		if (ps->col_ip < 0) {
			ps->col_ip = 1;             /* keep reading by position; the header is wrong */
			ps->col_port = 2;
			ps->col_family = 5;
			return LINE_MALFORMED;
		}
		return LINE_METADATA;
	}
	if (ps->col_ip >= nf || !parse_net(f[ps->col_ip], flen[ps->col_ip], e) ||
	    e->net.prefix != (e->net.addr.family == AF_INET ? 32u : 128u))
		return LINE_MALFORMED;          /* the list names hosts, not networks */
	e->port = 0;
	if (ps->col_port >= 0 && ps->col_port < nf && flen[ps->col_port] > 0) {
		unsigned long port = 0;
		for (size_t i = 0; i < flen[ps->col_port]; i++) {
			char c = f[ps->col_port][i];
			if (c < '0' || c > '9' || (port = port * 10 + (unsigned long)(c - '0')) > 65535)
				return LINE_MALFORMED;
		}
		e->port = (uint16_t)port;
	}
	e->family = NULL;
	if (ps->col_family >= 0 && ps->col_family < nf && family_copy(f[ps->col_family], flen[ps->col_family], ps->family))
		e->family = ps->family;
	return LINE_ENTRY;
}

/* The format of the first significant line (see blocklist.h). */
static enum blocklist_format
detect(const uint8_t *buf, size_t len)
{
	const char *p = (const char *)buf, *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p;
		size_t n = (size_t)((nl ? nl : end) - p);

		p = nl ? nl + 1 : end;
		trim(&s, &n);
		if (n == 0 || s[0] == '#' || s[0] == ';')
			continue;
		if (s[0] == '{')
			return BLOCKLIST_DROP_JSON;
		if (s[0] == '"' || memchr(s, ',', n) != NULL)
			return BLOCKLIST_FEODO_CSV;
		if (memchr(s, ';', n) != NULL)
			return BLOCKLIST_DROP_TEXT;
		return BLOCKLIST_PLAIN;
	}
	return BLOCKLIST_PLAIN;
}

int
blocklist_parse(const uint8_t *buf, size_t len, enum blocklist_format fmt, blocklist_fn fn, void *arg,
                struct blocklist_stats *st)
{
	struct parse_state ps = { .format = fmt, .col_ip = 1, .col_port = 2, .col_family = 5 };
	const char *p = (const char *)buf, *end = p + len;

	memset(st, 0, sizeof(*st));
	if ((unsigned)fmt > BLOCKLIST_FEODO_CSV)
		return -EINVAL;
	if (fmt == BLOCKLIST_AUTO)
		ps.format = detect(buf, len);
	st->format = ps.format;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p;
		size_t n = (size_t)((nl ? nl : end) - p);
		struct blocklist_entry e;
		enum line_kind kind;
		int rc;

		p = nl ? nl + 1 : end;
		st->lines++;
		if (n > BLOCKLIST_LINE_MAX || memchr(s, '\0', n) != NULL) {
			st->too_long++;
			if (st->first_error_line == 0)
				st->first_error_line = st->lines;
			continue;
		}
		trim(&s, &n);
		if (n == 0)
			kind = LINE_BLANK;
		else if (ps.format == BLOCKLIST_DROP_JSON)
			kind = parse_json_line(s, n, &e);
		else if (ps.format == BLOCKLIST_FEODO_CSV)
			kind = parse_feodo_line(&ps, s, n, &e);
		else
			kind = parse_text_line(s, n, &e);
		switch (kind) {
		case LINE_ENTRY:
			st->entries++;
			if ((rc = fn(arg, &e)) < 0)
				return rc;
			break;
		case LINE_BLANK:
			st->blank++;
			break;
		case LINE_COMMENT:
			st->comment++;
			break;
		case LINE_METADATA:
			st->metadata++;
			break;
		case LINE_MALFORMED:
			st->malformed++;
			if (st->first_error_line == 0)
				st->first_error_line = st->lines;
			break;
		}
	}
	return 0;
}

struct load_ctx {
	struct lpm *t;
	struct blocklist_families *fam;
};

/* The index + 1 of family name in c's table, added when new; 0 once the table is full. */
static int
family_id(struct load_ctx *c, const char *name, unsigned *id)
{
	struct blocklist_families *fam = c->fam;

	for (size_t i = 0; i < fam->count; i++)
		if (strcmp(fam->name[i], name) == 0) {
			*id = (unsigned)i + 1;
			return 0;
		}
	*id = 0;
	if (fam->count >= BLOCKLIST_FAMILIES)
		return 0;
	if ((fam->count & (fam->count - 1)) == 0) {        /* 0, 1, 2, 4...: double */
		void *nn = realloc(fam->name, (fam->count ? 2 * fam->count : 1) * sizeof(fam->name[0]));
		if (nn == NULL)
			return -ENOMEM;
		fam->name = nn;
	}
	snprintf(fam->name[fam->count], sizeof(fam->name[0]), "%s", name);
	*id = (unsigned)++fam->count;
	return 0;
}

/* An entry into the table; a host listed again with another port or family keeps the
 * part they agree on (Feodo lists a C&C once per port it answers on). */
static int
load_entry(void *arg, const struct blocklist_entry *e)
{
	struct load_ctx *c = arg;
	unsigned id = 0;
	uint32_t old;
	struct cidr match;
	int rc;

	if (e->family != NULL && (rc = family_id(c, e->family, &id)) < 0)
		return rc;
	uint32_t value = (uint32_t)e->port | (uint32_t)id << 16;
	if (value != 0 && lpm_lookup(c->t, &e->net.addr, &old, &match) && match.prefix == e->net.prefix) {
		if (BLOCKLIST_PORT(old) != e->port)
			value &= ~UINT32_C(0xffff);
		if (BLOCKLIST_FAMILY(old) != id)
			value &= UINT32_C(0xffff);
	}
	rc = lpm_insert(c->t, &e->net, value);
	return rc < 0 ? rc : 0;
}

const char *
blocklist_family(const struct blocklist_families *fam, uint32_t value)
{
	unsigned id = BLOCKLIST_FAMILY(value);

	return id == 0 || id > fam->count ? NULL : fam->name[id - 1];
}

void
blocklist_families_free(struct blocklist_families *fam)
{
	free(fam->name);
	fam->name = NULL;
	fam->count = 0;
}

/* The whole file at path into *out (malloc'd, *len bytes). 0 or -errno. */
static int
read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t have = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		goto fail;
	}
	if (sb.st_size > (off_t)BLOCKLIST_FILE_MAX) {
		rc = -EFBIG;
		goto fail;
	}
	/* read to the end, not to st_size: the file may be growing while it is rewritten */
	size_t cap = (size_t)sb.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (have == cap) {
			if (cap > BLOCKLIST_FILE_MAX) {
				rc = -EFBIG;
				goto fail;
			}
			uint8_t *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	if (have > BLOCKLIST_FILE_MAX) {
		rc = -EFBIG;
		goto fail;
	}
	close(fd);
	*out = buf;
	*len = have;
	return 0;
fail:
	free(buf);
	close(fd);
	return rc;
}

int
blocklist_load(const char *path, enum blocklist_format fmt, struct lpm *t, struct blocklist_families *fam,
               struct blocklist_stats *st)
{
	struct lpm fresh;
	struct blocklist_families names = { NULL, 0 };
	struct load_ctx c = { &fresh, &names };
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = read_file(path, &buf, &len)) < 0)
		return rc;
	lpm_init(&fresh);
	rc = blocklist_parse(buf, len, fmt, load_entry, &c, st);
	free(buf);
	if (rc == 0 && (st->malformed > 0 || st->too_long > 0))
		rc = -EBADMSG;
	if (rc == 0)
		rc = lpm_index(&fresh);
	if (rc < 0) {
		lpm_free(&fresh);
		blocklist_families_free(&names);
		return rc;
	}
	lpm_free(t);
	*t = fresh;
	blocklist_families_free(fam);
	*fam = names;
	return 0;
}
