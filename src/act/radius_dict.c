/*
 * radius_dict.c — see radius_dict.h.
 */
#include "act/radius_dict.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define DICT_FILE_MAX (4 * 1024 * 1024)      /* a dictionary file larger than this is not one */
#define DICT_FIELDS 8

struct dict_value {
	char attr[RADIUS_DICT_NAME_MAX];
	char name[RADIUS_DICT_NAME_MAX];
	uint64_t number;
};

struct radius_dict {
	struct radius_dict_attr *attrs;
	size_t nattrs, attrs_cap;
	struct radius_dict_vendor *vendors;
	size_t nvendors, vendors_cap;
	struct dict_value *values;
	size_t nvalues, values_cap;
};

/* The RFC attributes a CoA-Request and its answer use, in the dictionary's own format. */
static const char builtin[] =
	"ATTRIBUTE User-Name 1 string\n"
	"ATTRIBUTE User-Password 2 string encrypt=1\n"
	"ATTRIBUTE NAS-IP-Address 4 ipaddr\n"
	"ATTRIBUTE NAS-Port 5 integer\n"
	"ATTRIBUTE Service-Type 6 integer\n"
	"ATTRIBUTE Framed-Protocol 7 integer\n"
	"ATTRIBUTE Framed-IP-Address 8 ipaddr\n"
	"ATTRIBUTE Framed-IP-Netmask 9 ipaddr\n"
	"ATTRIBUTE Filter-Id 11 string\n"
	"ATTRIBUTE Framed-MTU 12 integer\n"
	"ATTRIBUTE Reply-Message 18 string\n"
	"ATTRIBUTE Framed-Route 22 string\n"
	"ATTRIBUTE State 24 octets\n"
	"ATTRIBUTE Class 25 octets\n"
	"ATTRIBUTE Vendor-Specific 26 vsa\n"
	"ATTRIBUTE Session-Timeout 27 integer\n"
	"ATTRIBUTE Idle-Timeout 28 integer\n"
	"ATTRIBUTE Termination-Action 29 integer\n"
	"ATTRIBUTE Called-Station-Id 30 string\n"
	"ATTRIBUTE Calling-Station-Id 31 string\n"
	"ATTRIBUTE NAS-Identifier 32 string\n"
	"ATTRIBUTE Proxy-State 33 octets\n"
	"ATTRIBUTE Acct-Status-Type 40 integer\n"
	"ATTRIBUTE Acct-Session-Id 44 string\n"
	"ATTRIBUTE Acct-Multi-Session-Id 50 string\n"
	"ATTRIBUTE Event-Timestamp 55 date\n"
	"ATTRIBUTE NAS-Port-Type 61 integer\n"
	"ATTRIBUTE Message-Authenticator 80 octets\n"
	"ATTRIBUTE Acct-Interim-Interval 85 integer\n"
	"ATTRIBUTE NAS-Port-Id 87 string\n"
	"ATTRIBUTE Framed-Pool 88 string\n"
	"ATTRIBUTE Chargeable-User-Identity 89 octets\n"
	"ATTRIBUTE NAS-IPv6-Address 95 ipv6addr\n"
	"ATTRIBUTE Framed-Interface-Id 96 ifid\n"
	"ATTRIBUTE Framed-IPv6-Prefix 97 ipv6prefix\n"
	"ATTRIBUTE Framed-IPv6-Route 99 string\n"
	"ATTRIBUTE Framed-IPv6-Pool 100 string\n"
	"ATTRIBUTE Error-Cause 101 integer\n"
	"ATTRIBUTE Delegated-IPv6-Prefix 123 ipv6prefix\n"
	"ATTRIBUTE Framed-IPv6-Address 168 ipv6addr\n"
	"ATTRIBUTE DNS-Server-IPv6-Address 169 ipv6addr\n"
	"ATTRIBUTE Delegated-IPv6-Prefix-Pool 171 string\n"
	"ATTRIBUTE Stateful-IPv6-Address-Pool 172 string\n"
	"VALUE Service-Type Login-User 1\n"
	"VALUE Service-Type Framed-User 2\n"
	"VALUE Service-Type Authorize-Only 17\n"
	"VALUE Termination-Action Default 0\n"
	"VALUE Termination-Action RADIUS-Request 1\n"
	"VALUE Error-Cause Residual-Context-Removed 201\n"
	"VALUE Error-Cause Invalid-EAP-Packet 202\n"
	"VALUE Error-Cause Unsupported-Attribute 401\n"
	"VALUE Error-Cause Missing-Attribute 402\n"
	"VALUE Error-Cause NAS-Identification-Mismatch 403\n"
	"VALUE Error-Cause Invalid-Request 404\n"
	"VALUE Error-Cause Unsupported-Service 405\n"
	"VALUE Error-Cause Unsupported-Extension 406\n"
	"VALUE Error-Cause Invalid-Attribute-Value 407\n"
	"VALUE Error-Cause Administratively-Prohibited 501\n"
	"VALUE Error-Cause Proxy-Request-Not-Routable 502\n"
	"VALUE Error-Cause Session-Context-Not-Found 503\n"
	"VALUE Error-Cause Session-Context-Not-Removable 504\n"
	"VALUE Error-Cause Proxy-Processing-Error 505\n"
	"VALUE Error-Cause Resources-Unavailable 506\n"
	"VALUE Error-Cause Request-Initiated 507\n"
	"VALUE Error-Cause Multiple-Session-Selection-Unsupported 508\n";

static const struct {
	const char *name;
	enum radius_type type;
} type_names[] = {
	{ "string", RADIUS_TYPE_STRING }, { "octets", RADIUS_TYPE_OCTETS }, { "ipaddr", RADIUS_TYPE_IPADDR },
	{ "integer", RADIUS_TYPE_INTEGER }, { "date", RADIUS_TYPE_DATE }, { "ipv6addr", RADIUS_TYPE_IPV6ADDR },
	{ "ipv6prefix", RADIUS_TYPE_IPV6PREFIX }, { "ipv4prefix", RADIUS_TYPE_IPV4PREFIX },
	{ "byte", RADIUS_TYPE_BYTE }, { "short", RADIUS_TYPE_SHORT }, { "signed", RADIUS_TYPE_SIGNED },
	{ "integer64", RADIUS_TYPE_INTEGER64 }, { "ifid", RADIUS_TYPE_IFID }, { "ether", RADIUS_TYPE_ETHER },
	{ "combo-ip", RADIUS_TYPE_COMBO_IP }, { "tlv", RADIUS_TYPE_OTHER }, { "evs", RADIUS_TYPE_OTHER },
	{ "extended", RADIUS_TYPE_OTHER }, { "long-extended", RADIUS_TYPE_OTHER }, { "vsa", RADIUS_TYPE_OTHER },
	{ "abinary", RADIUS_TYPE_OTHER },
};

/* What one file's parse needs beside the dictionary. */
struct parse_ctx {
	const char *name, *dir;
	unsigned line, depth;
	uint32_t vendor;                     /* inside BEGIN-VENDOR; 0 outside */
	bool vendor_extended;                /* BEGIN-VENDOR ... format=Extended-Vendor-Specific-N */
	char vendor_name[RADIUS_DICT_NAME_MAX];
	unsigned tlv;                        /* BEGIN-TLV depth */
	char *err;
	size_t errlen;
};

static int dict_load(struct radius_dict *d, const char *path, unsigned depth, char *err, size_t errlen);

static int __attribute__((format(printf, 2, 3)))
fail(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s:%u: %s", c->name, c->line, msg);
	return -EINVAL;
}

/* Room for one more of n elements of size sz in *arr (capacity *cap): 0 or -ENOMEM. */
static int
grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = reallocarray(*arr, nc, sz);
	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int
copy_name(struct parse_ctx *c, char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= RADIUS_DICT_NAME_MAX)
		return fail(c, "name longer than %d bytes", RADIUS_DICT_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)src[i] < 0x21 || (unsigned char)src[i] > 0x7e)
			return fail(c, "a name of printable ASCII expected");
	memcpy(dst, src, n + 1);
	return 0;
}

/* A whole decimal or 0x-hex number up to max. */
static bool
number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int
parse_vendor_format(struct parse_ctx *c, const char *s, struct radius_dict_vendor *v)
{
	/* format=t,l or format=t,l,c: t 1, 2 or 4 bytes of type, l 0, 1 or 2 of length */
	if (strncmp(s, "format=", 7) != 0 || (s[7] != '1' && s[7] != '2' && s[7] != '4') || s[8] != ',' ||
	    s[9] < '0' || s[9] > '2' || (s[10] != '\0' && strcmp(s + 10, ",c") != 0))
		return fail(c, "bad vendor format \"%s\" (format=1,1 / 2,2 / 4,0 / 1,1,c)", s);
	v->type_len = (uint8_t)(s[7] - '0');
	v->len_len = (uint8_t)(s[9] - '0');
	v->continuation = s[10] != '\0';
	return 0;
}

static int
line_vendor(struct radius_dict *d, struct parse_ctx *c, char **f, int nf)
{
	struct radius_dict_vendor v = { .type_len = 1, .len_len = 1 };
	uint64_t id;

	if (nf < 3 || nf > 4)
		return fail(c, "VENDOR name number [format=t,l]");
	if (copy_name(c, v.name, f[1]) != 0)
		return -EINVAL;
	if (!number(f[2], UINT32_MAX, &id) || id == 0)
		return fail(c, "bad vendor number \"%s\"", f[2]);
	v.id = (uint32_t)id;
	if (nf == 4 && parse_vendor_format(c, f[3], &v) != 0)
		return -EINVAL;
	if (grow((void **)&d->vendors, &d->vendors_cap, d->nvendors, sizeof(v)) != 0)
		return -ENOMEM;
	d->vendors[d->nvendors++] = v;
	return 0;
}

static int
attr_flags(struct parse_ctx *c, const char *s, struct radius_dict_attr *a)
{
	char buf[128];
	char *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return fail(c, "flags too long");
	strcpy(buf, s);
	for (char *f = strtok_r(buf, ",", &save); f != NULL; f = strtok_r(NULL, ",", &save)) {
		if (strcmp(f, "has_tag") == 0)
			a->has_tag = true;
		else if (strncmp(f, "encrypt=", 8) == 0 && f[8] >= '0' && f[8] <= '3' && f[9] == '\0')
			a->encrypted = f[8] != '0';
		else if (strcmp(f, "array") == 0 || strcmp(f, "concat") == 0 || strcmp(f, "virtual") == 0 ||
		    strcmp(f, "secret") == 0 || strcmp(f, "internal") == 0)
			;                    /* meaningful to FreeRADIUS, not to what lazaretd sends */
		else
			return fail(c, "unknown attribute flag \"%s\"", f);
	}
	return 0;
}

static int
line_attribute(struct radius_dict *d, struct parse_ctx *c, char **f, int nf)
{
	struct radius_dict_attr a = { .vendor = c->vendor, .nested = c->tlv > 0 || c->vendor_extended };
	char type[32];
	uint64_t n;
	size_t tl;

	if (nf < 4 || nf > 5)
		return fail(c, "ATTRIBUTE name number type [vendor|flags]");
	if (copy_name(c, a.name, f[1]) != 0)
		return -EINVAL;
	if (strchr(f[2], '.') != NULL) {         /* 26.9.1, 241.1: a TLV or extended attribute */
		char buf[64], *save = NULL;
		if (strlen(f[2]) >= sizeof(buf))
			return fail(c, "bad attribute number \"%s\"", f[2]);
		strcpy(buf, f[2]);
		for (char *p = strtok_r(buf, ".", &save); p != NULL; p = strtok_r(NULL, ".", &save))
			if (!number(p, UINT32_MAX, &n))
				return fail(c, "bad attribute number \"%s\"", f[2]);
		if (f[2][0] == '.' || f[2][strlen(f[2]) - 1] == '.' || strstr(f[2], "..") != NULL)
			return fail(c, "bad attribute number \"%s\"", f[2]);
		a.nested = true;
	} else if (!number(f[2], UINT32_MAX, &n) || (n == 0 && c->vendor == 0))
		return fail(c, "bad attribute number \"%s\"", f[2]);
	else {
		a.number = (uint32_t)n;
		if (c->vendor == 0 && n > 255)
			a.nested = true;         /* FreeRADIUS's internal attributes (1000...): never on the wire */
	}

	/* the type, maybe with a size: octets[16] */
	tl = strcspn(f[3], "[");
	if (tl >= sizeof(type))
		return fail(c, "unknown type \"%s\"", f[3]);
	memcpy(type, f[3], tl);
	type[tl] = '\0';
	if (f[3][tl] == '[') {
		uint64_t size;
		char sz[16];
		size_t sl = strlen(f[3] + tl + 1);
		if (sl < 2 || sl > sizeof(sz) || f[3][tl + sl] != ']')
			return fail(c, "bad size in \"%s\"", f[3]);
		memcpy(sz, f[3] + tl + 1, sl - 1);
		sz[sl - 1] = '\0';
		if (!number(sz, 253, &size) || size == 0)
			return fail(c, "bad size in \"%s\"", f[3]);
	}
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcasecmp(type, type_names[i].name) == 0)
			a.type = type_names[i].type;
	if (a.type == 0)
		return fail(c, "unknown type \"%s\"", f[3]);

	if (nf == 5) {
		/* old style: a vendor's name; else flags */
		const struct radius_dict_vendor *v = strchr(f[4], '=') == NULL ? radius_dict_vendor(d, f[4], 0) : NULL;
		if (v != NULL)
			a.vendor = v->id;
		else if (attr_flags(c, f[4], &a) != 0)
			return -EINVAL;
	}
	if (a.vendor != 0 && !a.nested) {
		const struct radius_dict_vendor *v = radius_dict_vendor(d, NULL, a.vendor);
		if (v != NULL && v->type_len < 4 && a.number >= 1u << (8 * v->type_len))
			return fail(c, "attribute number %u too large for vendor %s's format", a.number, v->name);
	}
	if (grow((void **)&d->attrs, &d->attrs_cap, d->nattrs, sizeof(a)) != 0)
		return -ENOMEM;
	d->attrs[d->nattrs++] = a;
	return 0;
}

static int
line_value(struct radius_dict *d, struct parse_ctx *c, char **f, int nf)
{
	struct dict_value v;

	if (nf != 4)
		return fail(c, "VALUE attribute name number");
	if (copy_name(c, v.attr, f[1]) != 0 || copy_name(c, v.name, f[2]) != 0)
		return -EINVAL;
	if (!number(f[3], UINT64_MAX, &v.number))
		return fail(c, "bad value number \"%s\"", f[3]);
	if (grow((void **)&d->values, &d->values_cap, d->nvalues, sizeof(v)) != 0)
		return -ENOMEM;
	d->values[d->nvalues++] = v;
	return 0;
}

static int
line_include(struct radius_dict *d, struct parse_ctx *c, char **f, int nf)
{
	bool optional = strcmp(f[0], "$INCLUDE-") == 0;
	char path[4096], sub[512];
	int rc;

	if (nf != 2)
		return fail(c, "%s file", f[0]);
	if (c->dir == NULL)
		return fail(c, "$INCLUDE not allowed here");
	if (c->depth + 1 >= RADIUS_DICT_INCLUDE_DEPTH) {
		fail(c, "$INCLUDE nested deeper than %d", RADIUS_DICT_INCLUDE_DEPTH);
		return -ELOOP;
	}
	if (f[1][0] == '/')
		rc = snprintf(path, sizeof(path), "%s", f[1]);
	else
		rc = snprintf(path, sizeof(path), "%s/%s", c->dir, f[1]);
	if (rc < 0 || (size_t)rc >= sizeof(path))
		return fail(c, "include path too long");
	rc = dict_load(d, path, c->depth + 1, sub, sizeof(sub));
	if (rc == -ENOENT && optional)
		return 0;
	if (rc != 0) {
		/* the included file's own message, after where it was included */
		snprintf(c->err, c->errlen, "%s:%u: %s", c->name, c->line, sub);
		return rc;
	}
	return 0;
}

/* Splits line (modified) into up to DICT_FIELDS fields, stopping at '#'. How many, or -1 if more. */
static int
split(char *line, char **f)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return n;
		if (n == DICT_FIELDS)
			return -1;
		f[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#')
			p++;
		if (*p == '#') {
			*p = '\0';
			return n;
		}
		if (*p != '\0')
			*p++ = '\0';
	}
}

static int
parse_line(struct radius_dict *d, struct parse_ctx *c, char *line)
{
	char *f[DICT_FIELDS];
	int nf = split(line, f);

	if (nf < 0)
		return fail(c, "too many fields");
	if (nf == 0)
		return 0;
	if (strcmp(f[0], "ATTRIBUTE") == 0)
		return line_attribute(d, c, f, nf);
	if (strcmp(f[0], "VALUE") == 0)
		return line_value(d, c, f, nf);
	if (strcmp(f[0], "VENDOR") == 0)
		return line_vendor(d, c, f, nf);
	if (strcmp(f[0], "$INCLUDE") == 0 || strcmp(f[0], "$INCLUDE-") == 0)
		return line_include(d, c, f, nf);
	if (strcmp(f[0], "BEGIN-VENDOR") == 0) {
		const struct radius_dict_vendor *v;
		if (nf < 2 || nf > 3)
			return fail(c, "BEGIN-VENDOR name [format=...]");
		if (c->vendor != 0)
			return fail(c, "BEGIN-VENDOR inside BEGIN-VENDOR %s", c->vendor_name);
		if ((v = radius_dict_vendor(d, f[1], 0)) == NULL)
			return fail(c, "unknown vendor \"%s\"", f[1]);
		if (nf == 3 && strncmp(f[2], "format=Extended-Vendor-Specific-", 32) != 0)
			return fail(c, "bad BEGIN-VENDOR format \"%s\"", f[2]);
		c->vendor = v->id;
		c->vendor_extended = nf == 3;
		snprintf(c->vendor_name, sizeof(c->vendor_name), "%s", v->name);
		return 0;
	}
	if (strcmp(f[0], "END-VENDOR") == 0) {
		if (nf != 2)
			return fail(c, "END-VENDOR name");
		if (c->vendor == 0 || strcasecmp(f[1], c->vendor_name) != 0)
			return fail(c, "END-VENDOR %s without its BEGIN-VENDOR", f[1]);
		c->vendor = 0;
		c->vendor_extended = false;
		return 0;
	}
	if (strcmp(f[0], "BEGIN-TLV") == 0) {
		if (nf != 2)
			return fail(c, "BEGIN-TLV name");
		c->tlv++;
		return 0;
	}
	if (strcmp(f[0], "END-TLV") == 0) {
		if (nf != 2 || c->tlv == 0)
			return fail(c, "END-TLV without its BEGIN-TLV");
		c->tlv--;
		return 0;
	}
	return fail(c, "unknown keyword \"%s\"", f[0]);
}

static int
parse(struct radius_dict *d, const char *name, const char *dir, unsigned depth, const char *buf, size_t len,
    char *err, size_t errlen)
{
	struct parse_ctx c = { .name = name, .dir = dir, .depth = depth, .err = err, .errlen = errlen };
	char line[1024];

	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
		c.line++;
		if (n >= sizeof(line))
			return fail(&c, "line longer than %zu bytes", sizeof(line) - 1);
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		if (strlen(line) != n)
			return fail(&c, "NUL byte in line");
		pos += n + 1;
		int rc = parse_line(d, &c, line);
		if (rc != 0)
			return rc;
	}
	if (c.vendor != 0) {
		c.line++;
		return fail(&c, "BEGIN-VENDOR %s without END-VENDOR", c.vendor_name);
	}
	return 0;
}

int
radius_dict_parse(struct radius_dict *d, const char *name, const char *dir, const char *buf, size_t len, char *err,
    size_t errlen)
{
	return parse(d, name, dir, 0, buf, len, err, errlen);
}

static int
dict_load(struct radius_dict *d, const char *path, unsigned depth, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL, *dir = NULL, *slash;
	struct stat st;
	size_t len = 0;
	int rc;

	if (fp == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > DICT_FILE_MAX) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most 4 MiB", path);
		goto fail;
	}
	/* the size it has now, and one byte more to see it did not grow meanwhile */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL || (dir = strdup(path)) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	len = fread(buf, 1, (size_t)st.st_size + 1, fp);
	if (ferror(fp) || len > (size_t)st.st_size) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ? "read error" : "changed while read");
		goto fail;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	rc = parse(d, path, dir, depth, buf, len, err, errlen);
fail:
	fclose(fp);
	free(buf);
	free(dir);
	return rc;
}

int
radius_dict_load(struct radius_dict *d, const char *path, char *err, size_t errlen)
{
	return dict_load(d, path, 0, err, errlen);
}

struct radius_dict *
radius_dict_new(void)
{
	struct radius_dict *d = calloc(1, sizeof(*d));
	char err[256];

	if (d == NULL)
		return NULL;
	if (parse(d, "(built-in)", NULL, 0, builtin, sizeof(builtin) - 1, err, sizeof(err)) != 0) {
		radius_dict_free(d);
		return NULL;
	}
	return d;
}

void
radius_dict_free(struct radius_dict *d)
{
	if (d == NULL)
		return;
	free(d->attrs);
	free(d->vendors);
	free(d->values);
	free(d);
}

const struct radius_dict_attr *
radius_dict_attr(const struct radius_dict *d, const char *name)
{
	for (size_t i = d->nattrs; i-- > 0;)
		if (strcasecmp(d->attrs[i].name, name) == 0)
			return &d->attrs[i];
	return NULL;
}

const struct radius_dict_vendor *
radius_dict_vendor(const struct radius_dict *d, const char *name, uint32_t id)
{
	for (size_t i = d->nvendors; i-- > 0;)
		if (name != NULL ? strcasecmp(d->vendors[i].name, name) == 0 : d->vendors[i].id == id)
			return &d->vendors[i];
	return NULL;
}

bool
radius_dict_value(const struct radius_dict *d, const char *attr, const char *name, uint64_t *out)
{
	for (size_t i = d->nvalues; i-- > 0;)
		if (strcasecmp(d->values[i].attr, attr) == 0 && strcasecmp(d->values[i].name, name) == 0) {
			*out = d->values[i].number;
			return true;
		}
	return false;
}

void
radius_dict_counts(const struct radius_dict *d, size_t *attrs, size_t *vendors, size_t *values)
{
	*attrs = d->nattrs;
	*vendors = d->nvendors;
	*values = d->nvalues;
}

/* ---- attributes as FreeRADIUS writes them ---- */

static int __attribute__((format(printf, 3, 4)))
avp_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A "quoted string" with FreeRADIUS's escapes into out; its length, or -1. */
static int
unquote(const char *s, uint8_t *out, size_t room)
{
	size_t n = 0;

	if (*s++ != '"')
		return -1;
	for (; *s != '"'; s++) {
		int c = (unsigned char)*s;
		if (c == '\0')
			return -1;
		if (c == '\\') {
			s++;
			switch (*s) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '"': case '\\': case '\'': c = *s; break;
			default:
				if (s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
					c = (s[0] - '0') << 6 | (s[1] - '0') << 3 | (s[2] - '0');
					s += 2;
				} else
					return -1;
			}
		}
		if (n == room)
			return -1;
		out[n++] = (uint8_t)c;
	}
	return s[1] == '\0' ? (int)n : -1;
}

static int
hex_octets(const char *s, uint8_t *out, size_t room)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 > room)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f' ?
		    (s[i] | 0x20) - 'a' + 10 : -1;
		int lo = s[i + 1] >= '0' && s[i + 1] <= '9' ? s[i + 1] - '0' : (s[i + 1] | 0x20) >= 'a' &&
		    (s[i + 1] | 0x20) <= 'f' ? (s[i + 1] | 0x20) - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static void
put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static int
avp_value(const struct radius_dict *d, const struct radius_dict_attr *a, const char *v, struct radius_avp *out,
    char *err, size_t errlen)
{
	size_t room = RADIUS_AVP_VALUE_MAX;
	uint64_t num, max;
	int n;

	switch (a->type) {
	case RADIUS_TYPE_STRING:
	case RADIUS_TYPE_OCTETS:
		if (v[0] == '"')
			n = unquote(v, out->value, room);
		else if (a->type == RADIUS_TYPE_OCTETS && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
			n = hex_octets(v + 2, out->value, room);
		else if (strlen(v) <= room && strchr(v, '"') == NULL) {
			n = (int)strlen(v);
			memcpy(out->value, v, (size_t)n);
		} else
			n = -1;
		if (n <= 0)
			return avp_fail(err, errlen, "%s: a string of 1 to %zu bytes expected", a->name, room);
		out->len = (uint8_t)n;
		return 0;
	case RADIUS_TYPE_INTEGER:
	case RADIUS_TYPE_DATE:
	case RADIUS_TYPE_BYTE:
	case RADIUS_TYPE_SHORT:
	case RADIUS_TYPE_INTEGER64:
		n = a->type == RADIUS_TYPE_BYTE ? 1 : a->type == RADIUS_TYPE_SHORT ? 2 :
		    a->type == RADIUS_TYPE_INTEGER64 ? 8 : 4;
		max = n == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * n)) - 1;
		if (!number(v, max, &num) && !radius_dict_value(d, a->name, v, &num))
			return avp_fail(err, errlen, "%s: a number up to %llu or a VALUE name expected, not \"%s\"",
			    a->name, (unsigned long long)max, v);
		if (num > max)
			return avp_fail(err, errlen, "%s: VALUE %s too large", a->name, v);
		put_be(out->value, num, (unsigned)n);
		out->len = (uint8_t)n;
		return 0;
	case RADIUS_TYPE_IPADDR:
		if (inet_pton(AF_INET, v, out->value) != 1)
			return avp_fail(err, errlen, "%s: an IPv4 address expected, not \"%s\"", a->name, v);
		out->len = 4;
		return 0;
	case RADIUS_TYPE_IPV6ADDR:
		if (inet_pton(AF_INET6, v, out->value) != 1)
			return avp_fail(err, errlen, "%s: an IPv6 address expected, not \"%s\"", a->name, v);
		out->len = 16;
		return 0;
	case RADIUS_TYPE_IPV6PREFIX: {
		char buf[64];
		const char *slash = strchr(v, '/');
		uint8_t addr[16];
		if (slash == NULL || (size_t)(slash - v) >= sizeof(buf) || !number(slash + 1, 128, &num))
			return avp_fail(err, errlen, "%s: an IPv6 prefix addr/len expected, not \"%s\"", a->name, v);
		memcpy(buf, v, (size_t)(slash - v));
		buf[slash - v] = '\0';
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return avp_fail(err, errlen, "%s: an IPv6 prefix addr/len expected, not \"%s\"", a->name, v);
		/* RFC 3162 §2.3: reserved, length, the prefix — all 16 bytes, masked, as FreeRADIUS sends it */
		out->value[0] = 0;
		out->value[1] = (uint8_t)num;
		for (unsigned i = 0; i < 16; i++) {
			unsigned keep = num >= 8 * (i + 1) ? 8 : num > 8 * i ? (unsigned)num - 8 * i : 0;
			out->value[2 + i] = (uint8_t)(addr[i] & (uint8_t)(0xff00 >> keep));
		}
		out->len = 18;
		return 0;
	}
	default:
		return avp_fail(err, errlen, "%s: attributes of its type cannot be sent by lazaretd", a->name);
	}
}

int
radius_dict_avp_parse(const struct radius_dict *d, const char *text, struct radius_avp *out, char *err,
    size_t errlen)
{
	char buf[1024], *name, *eq, *value, *end;
	const struct radius_dict_attr *a;
	const struct radius_dict_vendor *v = NULL;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		return avp_fail(err, errlen, "attribute text too long");
	strcpy(buf, text);
	if ((eq = strchr(buf, '=')) == NULL)
		return avp_fail(err, errlen, "\"Name = value\" expected");
	for (name = buf; *name == ' ' || *name == '\t'; name++)
		;
	for (end = eq; end > name && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	for (value = eq + 1; *value == ' ' || *value == '\t'; value++)
		;
	for (end = value + strlen(value); end > value && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	if (*name == '\0' || *value == '\0')
		return avp_fail(err, errlen, "\"Name = value\" expected");
	if ((a = radius_dict_attr(d, name)) == NULL)
		return avp_fail(err, errlen, "unknown attribute \"%s\" (not built in nor in the dictionary)", name);
	if (a->nested || a->type == RADIUS_TYPE_OTHER)
		return avp_fail(err, errlen, "%s: TLV, extended and similar attributes cannot be sent by lazaretd", a->name);
	if (a->has_tag || a->encrypted)
		return avp_fail(err, errlen, "%s: tagged and encrypted attributes cannot be sent by lazaretd", a->name);
	if (a->vendor == 0 && (a->number == 26 || a->number == 80 || a->number == 0))
		return avp_fail(err, errlen, "%s: not an attribute to write", a->name);
	if (a->vendor != 0) {
		if ((v = radius_dict_vendor(d, NULL, a->vendor)) == NULL)
			return avp_fail(err, errlen, "%s: vendor %u not in the dictionary", a->name, a->vendor);
		if (v->continuation)
			return avp_fail(err, errlen, "%s: vendor %s's format (continuation) cannot be sent", a->name, v->name);
	}
	out->vendor = a->vendor;
	out->number = a->number;
	out->type_len = v != NULL ? v->type_len : 1;
	out->len_len = v != NULL ? v->len_len : 1;
	if (avp_value(d, a, value, out, err, errlen) != 0)
		return -EINVAL;
	/* a value that fits RADIUS_AVP_VALUE_MAX may still not fit its vendor's wrapping */
	size_t wire = a->vendor == 0 ? 2 + (size_t)out->len : 6 + (size_t)out->type_len + out->len_len + out->len;
	if (wire > 255)
		return avp_fail(err, errlen, "%s: value of %u bytes too long for one attribute", a->name, out->len);
	return 0;
}

int
radius_avp_encode(const struct radius_avp *avp, uint8_t *out, size_t room)
{
	size_t n;

	if (avp->vendor == 0) {
		n = 2 + (size_t)avp->len;
		if (n > 255 || n > room)
			return -ENOSPC;
		out[0] = (uint8_t)avp->number;
		out[1] = (uint8_t)n;
		memcpy(out + 2, avp->value, avp->len);
		return (int)n;
	}
	/* RFC 2865 §5.26: 26, length, Vendor-Id, then the vendor's type, length and value */
	size_t inner = (size_t)avp->type_len + avp->len_len + avp->len;
	n = 6 + inner;
	if (n > 255 || n > room)
		return -ENOSPC;
	out[0] = 26;
	out[1] = (uint8_t)n;
	put_be(out + 2, avp->vendor, 4);
	put_be(out + 6, avp->number, avp->type_len);
	put_be(out + 6 + avp->type_len, inner, avp->len_len);
	memcpy(out + 6 + avp->type_len + avp->len_len, avp->value, avp->len);
	return (int)n;
}
