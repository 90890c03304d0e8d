/*
 * config.c — loading, checking and printing lazaretd's INI configuration.
 *
 * inih does the tokenising; a reader of ours feeds it one line at a time so every
 * message can name file:line, strips leading blanks (inih would otherwise read an
 * indented line as the continuation of the previous value) and refuses lines longer
 * than inih's buffer instead of letting them be cut silently.
 */
#include "common/config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/secret.h"


#define CONFIG_KEY_MAX 192   /* rows in config_keys at most */

struct config_parse {
	struct config *cfg;
	FILE *fp;
	int line;
	int section_line;          /* where the current [section] started */
	int problem_line;          /* first line the reader refused, 0 if none */
	const char *problem;
	int err_line;              /* line of the first message in err, 0 if none */
	int read_errno;            /* a read error, 0 if none */
	bool defaults;             /* setting the defaults, not reading a file */
	bool seen[CONFIG_KEY_MAX]; /* the keys the file has set so far, by row */
	char err[512];
};

void
config_free(struct config *cfg)
{
	free(cfg->evidence);
	free(cfg->allowlist.networks);
	for (size_t i = 0; i < cfg->allowlist.account_count; i++)
		free(cfg->allowlist.accounts[i]);
	free(cfg->allowlist.accounts);
	for (size_t i = 0; i < cfg->maillog.file_count; i++)
		free(cfg->maillog.files[i]);
	free(cfg->maillog.files);
	for (size_t i = 0; i < cfg->dhcp.lease_file_count; i++)
		free(cfg->dhcp.lease_files[i]);
	free(cfg->dhcp.lease_files);
	free(cfg->network.subscribers);
	free(cfg->network.relays);
	free(cfg->nat.pools);
	free(cfg->enforce.resolvers);
	free(cfg->enforce.remediation);
	free(cfg->flows.sampling);
	free(cfg->flows.allow_destinations);
	free(cfg->flows.blocklists);
	free(cfg->radius.clients);
	free(cfg->radius.nases);
	for (size_t i = 0; i < cfg->reports.relay_name_count; i++)
		free(cfg->reports.relay_names[i]);
	free(cfg->reports.relay_names);
	free(cfg->reports.relay_networks);
	free(cfg->reports.sources);
	memset(cfg, 0, sizeof(*cfg));
}

/* Records the first problem only: inih carries on after a failing line. */
static int
config_fail(struct config_parse *p, const char *fmt, ...)
{
	va_list ap;
	if (p->err[0] != '\0')
		return 0;
	p->err_line = p->line;
	int n = snprintf(p->err, sizeof(p->err), "%s:%d: ", p->cfg->path, p->line);
	va_start(ap, fmt);
	vsnprintf(p->err + n, sizeof(p->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return 0;   /* inih: stop at this line */
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int
parse_uint(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
parse_double(const char *v, double min, double max, double *out)
{
	char *end;

	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !isfinite(d) || d < min || d > max)
		return -1;
	*out = d;
	return 0;
}

/* "60/1h": count per duration. */
static int
parse_rate(const char *v, struct rate_spec *r)
{
	char buf[64];
	const char *slash = strchr(v, '/');
	unsigned long n;

	if (slash == NULL || (size_t)(slash - v) >= sizeof(buf))
		return -1;
	memcpy(buf, v, (size_t)(slash - v));
	buf[slash - v] = '\0';
	if (parse_uint(buf, 1, 1000000000, &n) != 0)
		return -1;
	if (duration_parse(slash + 1, &r->period) != 0 || r->period <= 0)
		return -1;
	r->count = (uint32_t)n;
	return 0;
}

/* "32M": bytes, with K, M or G for 2^10, 2^20, 2^30. */
static int
parse_size(const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	char num[32];
	size_t len = strlen(v);
	unsigned shift = 0;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, v, len + 1);
	switch (num[len - 1]) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	default: break;
	}
	if (shift != 0)
		num[len - 1] = '\0';
	if (parse_uint(num, 0, ULONG_MAX >> 30, out) != 0)
		return -1;
	*out <<= shift;
	return *out < min || *out > max ? -1 : 0;
}

/* bytes as parse_size reads them, with the largest suffix that is exact */
static const char *
size_format(uint64_t n, char *buf, size_t size)
{
	static const char suffix[] = "GMK";
	for (unsigned i = 0; i < 3; i++) {
		unsigned shift = 30 - 10 * i;
		if (n != 0 && n % (1ull << shift) == 0) {
			snprintf(buf, size, "%llu%c", (unsigned long long)(n >> shift), suffix[i]);
			return buf;
		}
	}
	snprintf(buf, size, "%llu", (unsigned long long)n);
	return buf;
}

static int
set_text(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return -1;
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			return -1;
	strcpy(dst, v);
	return 0;
}


static struct evidence_conf *
evidence_section(struct config_parse *p, const char *kind)
{
	struct config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->evidence_count; i++)
		if (strcmp(cfg->evidence[i].kind, kind) == 0)
			return &cfg->evidence[i];
	struct evidence_conf *grown = realloc(cfg->evidence, (cfg->evidence_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	cfg->evidence = grown;
	struct evidence_conf *e = &grown[cfg->evidence_count++];
	memset(e, 0, sizeof(*e));
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	e->weight = -1;
	e->line = p->section_line;
	return e;
}









static int
handle_evidence(struct config_parse *p, const char *kind, const char *name, const char *v)
{
	struct evidence_conf *e;

	if (*kind == '\0' || strlen(kind) >= sizeof(e->kind))
		return config_fail(p, "[evidence NAME]: expected an evidence kind name");
	for (const char *c = kind; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
			return config_fail(p, "[evidence %s]: kind names use a-z, 0-9 and _", kind);
	if ((e = evidence_section(p, kind)) == NULL)
		return config_fail(p, "out of memory");
	if (!strcmp(name, "weight")) {
		if (parse_double(v, 0, 1e6, &e->weight) != 0)
			return config_fail(p, "weight: expected a score of 0 or more, not \"%s\"", v);
	} else if (!strcmp(name, "half_life")) {
		if (duration_parse(v, &e->half_life) != 0 || e->half_life < USEC_PER_SEC)
			return config_fail(p, "half_life: expected a duration of at least 1s, not \"%s\"", v);
	} else
		return config_fail(p, "unknown key \"%s\" in [evidence %s]", name, kind);
	return 1;
}

static struct radius_client_section *
radius_client_section(struct config_parse *p, const char *name)
{
	struct config_radius *r = &p->cfg->radius;

	for (size_t i = 0; i < r->client_count; i++)
		if (strcmp(r->clients[i].name, name) == 0)
			return &r->clients[i];
	if (r->client_count == 1024)
		return NULL;
	struct radius_client_section *grown = realloc(r->clients, (r->client_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	r->clients = grown;
	struct radius_client_section *c = &grown[r->client_count++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->line = p->section_line;
	return c;
}

/* [radius client NAME]: address = ADDRESS or NETWORK, secret_file = PATH */
static int
handle_radius_client(struct config_parse *p, const char *name, const char *key, const char *v)
{
	struct radius_client_section *c;

	if (*name == '\0' || strlen(name) >= sizeof(c->name))
		return config_fail(p, "[radius client NAME]: expected a client name of up to 63 characters");
	for (const char *ch = name; *ch; ch++)
		if (!isalnum((unsigned char)*ch) && *ch != '_' && *ch != '-' && *ch != '.')
			return config_fail(p, "[radius client %s]: client names use a-z, A-Z, 0-9, _, - and .", name);
	if ((c = radius_client_section(p, name)) == NULL)
		return config_fail(p, "[radius client %s]: too many clients (at most 1024)", name);
	if (!strcmp(key, "address")) {
		if (cidr_parse(v, &c->net) != 0)
			return config_fail(p, "[radius client %s] address: expected ADDRESS or ADDRESS/PREFIX, not \"%s\"",
			    name, v);
		c->net_set = true;
	} else if (!strcmp(key, "secret_file")) {
		if (*v == '\0' || strlen(v) >= sizeof(c->secret_file))
			return config_fail(p, "[radius client %s] secret_file: expected a file path", name);
		snprintf(c->secret_file, sizeof(c->secret_file), "%s", v);
	} else
		return config_fail(p, "unknown key \"%s\" in [radius client %s]", key, name);
	return 1;
}

static struct radius_nas_section *
radius_nas_section(struct config_parse *p, const char *name)
{
	struct config_radius *r = &p->cfg->radius;

	for (size_t i = 0; i < r->nas_count; i++)
		if (strcmp(r->nases[i].name, name) == 0)
			return &r->nases[i];
	if (r->nas_count == 1024)
		return NULL;
	struct radius_nas_section *grown = realloc(r->nases, (r->nas_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	r->nases = grown;
	struct radius_nas_section *n = &grown[r->nas_count++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->port = 3799;
	n->line = p->section_line;
	return n;
}

/* [radius nas NAME]: address, port, identifier, secret_file, identify, method,
 * message_authenticator, quarantine and release (repeatable, an attribute each) */
static int
handle_radius_nas(struct config_parse *p, const char *name, const char *key, const char *v)
{
	struct radius_nas_section *n;

	if (*name == '\0' || strlen(name) >= sizeof(n->name))
		return config_fail(p, "[radius nas NAME]: expected a NAS name of up to 63 characters");
	for (const char *ch = name; *ch; ch++)
		if (!isalnum((unsigned char)*ch) && *ch != '_' && *ch != '-' && *ch != '.')
			return config_fail(p, "[radius nas %s]: NAS names use a-z, A-Z, 0-9, _, - and .", name);
	if ((n = radius_nas_section(p, name)) == NULL)
		return config_fail(p, "[radius nas %s]: too many NASes (at most 1024)", name);
	if (!strcmp(key, "address")) {
		if (addr_parse(v, strlen(v), &n->address) != 0)
			return config_fail(p, "[radius nas %s] address: expected an IPv4 or IPv6 address, not \"%s\"", name, v);
		n->address_set = true;
	} else if (!strcmp(key, "port")) {
		unsigned long port;
		if (parse_uint(v, 1, 65535, &port) != 0)
			return config_fail(p, "[radius nas %s] port: expected 1 to 65535, not \"%s\"", name, v);
		n->port = (uint16_t)port;
	} else if (!strcmp(key, "identifier")) {
		if (*v == '\0' || strlen(v) >= sizeof(n->identifier))
			return config_fail(p, "[radius nas %s] identifier: expected the NAS-Identifier, 1 to 63 bytes", name);
		snprintf(n->identifier, sizeof(n->identifier), "%s", v);
	} else if (!strcmp(key, "secret_file")) {
		if (*v == '\0' || strlen(v) >= sizeof(n->secret_file))
			return config_fail(p, "[radius nas %s] secret_file: expected a file path", name);
		snprintf(n->secret_file, sizeof(n->secret_file), "%s", v);
	} else if (!strcmp(key, "identify")) {
		if (strlen(v) >= sizeof(n->identify))
			return config_fail(p, "[radius nas %s] identify: too long", name);
		snprintf(n->identify, sizeof(n->identify), "%s", v);
		n->identify_line = p->line;
	} else if (!strcmp(key, "method")) {
		if (strcmp(v, "coa") != 0 && strcmp(v, "disconnect") != 0)
			return config_fail(p, "[radius nas %s] method: expected coa or disconnect, not \"%s\"", name, v);
		n->disconnect = !strcmp(v, "disconnect");
	} else if (!strcmp(key, "message_authenticator")) {
		if (parse_bool(v, &n->message_authenticator) != 0)
			return config_fail(p, "[radius nas %s] message_authenticator: expected yes or no, not \"%s\"", name, v);
	} else if (!strcmp(key, "quarantine") || !strcmp(key, "release")) {
		bool q = key[0] == 'q';
		struct radius_avp_line *list = q ? n->quarantine : n->release;
		size_t *count = q ? &n->quarantine_count : &n->release_count;
		if (*count == CONFIG_RADIUS_AVPS_MAX)
			return config_fail(p, "[radius nas %s] %s: at most %d attributes", name, key, CONFIG_RADIUS_AVPS_MAX);
		if (*v == '\0' || strlen(v) >= sizeof(list->text))
			return config_fail(p, "[radius nas %s] %s: expected an attribute: NAME = VALUE", name, key);
		snprintf(list[*count].text, sizeof(list[*count].text), "%s", v);
		list[(*count)++].line = p->line;
	} else
		return config_fail(p, "unknown key \"%s\" in [radius nas %s]", key, name);
	return 1;
}

/* A secret from the first line of a file closed to others: 1 to 128 bytes. */
static int
read_secret_file(struct config_parse *p, const char *section, const char *path, uint8_t *out, size_t *out_len)
{
	char why[PATH_MAX + 128], line[CONFIG_RADIUS_SECRET_MAX + 2];
	FILE *fp;
	int fd;

	if ((fd = secret_file_open(path, "secret_file", S_IRWXO, why, sizeof(why))) < 0)
		return config_fail(p, "%s %s", section, why), -1;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return config_fail(p, "%s secret_file %s: %s", section, path, strerror(errno)), -1;
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	size_t len = strlen(line);
	if (len == 0 || len > CONFIG_RADIUS_SECRET_MAX)
		return config_fail(p, "%s secret_file %s: the first line must be the secret, 1 to %d bytes", section, path,
		    CONFIG_RADIUS_SECRET_MAX), -1;
	memcpy(out, line, len);
	*out_len = len;
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* Reads each client's shared secret: a file closed to others, its first line, 1 to 128 bytes. */
static int
radius_read_secrets(struct config_parse *p)
{
	struct config *cfg = p->cfg;
	struct config_radius *r = &cfg->radius;
	char section[160];

	for (size_t i = 0; i < r->client_count; i++) {
		struct radius_client_section *c = &r->clients[i];
		p->line = c->line;
		snprintf(section, sizeof(section), "[radius client %s]", c->name);
		if (!c->net_set)
			return config_fail(p, "%s: address is missing", section), -1;
		if (c->secret_file[0] == '\0')
			return config_fail(p, "%s: secret_file is missing", section), -1;
		if (read_secret_file(p, section, c->secret_file, c->secret, &c->secret_len) != 0)
			return -1;
	}
	if (r->listen_count > 0 && r->client_count == 0) {
		p->line = 0;
		return config_fail(p, "[radius] listen needs at least one [radius client NAME] section "
		    "(who may send accounting, with its secret)"), -1;
	}
	for (size_t i = 0; i < r->nas_count; i++) {
		struct radius_nas_section *n = &r->nases[i];
		p->line = n->line;
		snprintf(section, sizeof(section), "[radius nas %s]", n->name);
		if (!n->address_set)
			return config_fail(p, "%s: address is missing", section), -1;
		if (n->secret_file[0] == '\0')
			return config_fail(p, "%s: secret_file is missing", section), -1;
		if (read_secret_file(p, section, n->secret_file, n->secret, &n->secret_len) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (addr_equal(&r->nases[k].address, &n->address) && r->nases[k].port == n->port)
				return config_fail(p, "%s: the same address and port as [radius nas %s]: their answers "
				    "could not be told apart", section, r->nases[k].name), -1;
	}
	if ((cfg->enforce.mode & ENFORCE_MODE_RADIUS) && r->nas_count == 0) {
		p->line = cfg->enforce.mode_line;
		return config_fail(p, "[enforce] mode = radius needs at least one [radius nas NAME] section"), -1;
	}
	if ((cfg->enforce.mode & ENFORCE_MODE_RADIUS) && r->listen_count == 0) {
		p->line = cfg->enforce.mode_line;
		return config_fail(p, "[enforce] mode = radius needs [radius] listen: the sessions to change come from "
		    "accounting"), -1;
	}
	return 0;
}

/* Appends one element of size bytes to the array *v of *n; NULL on ENOMEM. */
static void *
grow_list(void **v, size_t *n, size_t size)
{
	char *grown = realloc(*v, (*n + 1) * size);

	if (grown == NULL)
		return NULL;
	*v = grown;
	return grown + (*n)++ * size;
}

/* "NAME_OR_ADDRESS_OR_CIDR [PORT[/tcp|/udp]]" */
static int
parse_remediation(const char *v, struct remediation_conf *r)
{
	char host[256], port[32] = "";
	size_t hl = strcspn(v, " \t");
	const char *rest = v + hl;

	memset(r, 0, sizeof(*r));
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, v, hl);
	host[hl] = '\0';
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (strlen(rest) >= sizeof(port))
		return -1;
	strcpy(port, rest);
	if (cidr_parse(host, &r->net) != 0) {
		/* a host name: letters, digits, '-', '.', as DNS allows */
		for (const char *c = host; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
				return -1;
		if (!isalpha((unsigned char)host[hl - 1]) && host[hl - 1] != '.')
			return -1;       /* "10.0.0.300" is a bad address, not a name */
		strcpy(r->name, host);
	}
	if (port[0] != '\0') {
		char *slash = strchr(port, '/');
		unsigned long n;
		if (slash != NULL) {
			*slash = '\0';
			if (!strcmp(slash + 1, "tcp"))
				r->proto = IPPROTO_TCP;
			else if (!strcmp(slash + 1, "udp"))
				r->proto = IPPROTO_UDP;
			else
				return -1;
		}
		if (parse_uint(port, 1, 65535, &n) != 0)
			return -1;
		r->port = (uint16_t)n;
	}
	return 0;
}


/* --- the key tables ----------------------------------------------------------------------
 *
 * Every key of every section is one row below: where it lives in struct config, its type,
 * bounds, default (in the file's own syntax, read by the same code as the file), whether
 * it repeats, whether SIGHUP applies it, and one line of documentation. The rows drive
 * parsing, the defaults, `lazaretd -n` and the error messages; etc/lazaret.conf documents
 * each key at length (a test checks that every row is there). The rows are in the order
 * `lazaretd -n` prints them.
 */

enum key_type {
	KT_BOOL,        /* bool: yes or no (true/false, on/off, 1/0 read too) */
	KT_UINT,        /* uint32_t or unsigned, in [min, max] */
	KT_DOUBLE,      /* double, in [min, max] */
	KT_DURATION,    /* usec_t, in [min, max]; max 0: no upper bound */
	KT_TEXT,        /* char[size]: one line of printable text */
	KT_ENUM,        /* an int-sized enum: names[i] is the value i */
	KT_LISTEN,      /* struct listen_addr, TCP */
	KT_LISTENS,     /* struct listen_addr[max_count] and its count: TCP or unix:/PATH */
	KT_CIDRS,       /* struct cidr[max_count] and its count */
	KT_CIDR_LIST,   /* struct cidr *, grown, and its count */
	KT_ADDR_LIST,   /* struct addr *, grown, and its count */
	KT_STR_LIST,    /* char **, grown, and its count; each shorter than size */
	KT_RATE,        /* struct rate_spec: COUNT/DURATION */
	KT_BURST,       /* struct rate_spec: its burst */
	KT_SIZE,        /* uint32_t bytes in [min, max]: N, NK, NM or NG (binary multiples) */
	KT_CUSTOM,      /* parse and print of its own */
};

#define KF_REPEAT   0x01    /* may appear more than once: each line adds to a list */
#define KF_RELOAD   0x02    /* SIGHUP applies a change; the others wait for a restart */
#define KF_NONEMPTY 0x04
#define KF_IF_SET   0x08    /* printed only when set */
#define KF_NO_ECHO  0x10    /* the error does not repeat the value */
#define KF_REPLACE  0x20    /* the file's first line replaces the default list */
#define KF_NONE     0x40    /* "none" alone is the empty list (and printed so) */
#define KF_REFUSED  0x80    /* not a key: refused with the words in expect, never printed */
#define KF_INET     0x100   /* KT_LISTENS: an address and port only (no unix:/PATH) */
#define KF_ALIAS    0x200   /* an old name of the row's value: read, never printed, no key of its own */

struct config_key {
	const char *section, *name;
	enum key_type type;
	unsigned flags;
	size_t offset;              /* the value in struct config */
	size_t count_offset;        /* lists: their size_t count */
	size_t line_offset;         /* an int that keeps the key's line for later checks; 0: none */
	size_t size;                /* KT_TEXT: the buffer; KT_STR_LIST: longest + 1 */
	unsigned max_count;         /* lists: at most this many (0: unbounded) */
	double min, max;            /* numbers; durations in microseconds */
	const char *def;            /* the default as the file writes it; lists: blank-separated */
	const char *expect;         /* what an error says was expected; NULL: made from the bounds */
	const char *too_many;       /* lists: the error past max_count (a %u for it) */
	const char *const *names;   /* KT_ENUM, NULL-terminated */
	bool (*valid)(const char *v);                   /* KT_TEXT: a further check */
	int (*parse)(struct config_parse *p, const struct config_key *k, const char *v);   /* KT_CUSTOM */
	void (*print)(const struct config *cfg, const struct config_key *k, FILE *out);    /* KT_CUSTOM */
	const char *doc;
};

#define FIELD(f)   offsetof(struct config, f)
#define FSIZE(f)   sizeof(((struct config *)0)->f)
#define SEC(n)     ((double)(n) * USEC_PER_SEC)
#define DAYS(n)    SEC((n) * 86400.0)

static const char *const log_level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const seccomp_names[] = { "yes", "log", "no", NULL };       /* enum seccomp_mode */
static const char *const count_at_names[] = { "data", "rcpt", NULL };          /* enum count_at */
/* enum enforce_mode's bits */
static const char *const enforce_mode_names[] = { "none", "nftables", "radius", "nftables radius", NULL };
/* enum radius_subscriber_id */
static const char *const radius_id_names[] = { "User-Name", "Calling-Station-Id", "NAS-Port-Id", NULL };
static const char *const dhcp_id_names[] = { "client-id", "hwaddr", "duid", "circuit-id", "remote-id", NULL };

static bool valid_user(const char *v);
static bool valid_node(const char *v);
static bool valid_group(const char *v);
static bool valid_url(const char *v);
static bool valid_table(const char *v);
static int parse_api_listen(struct config_parse *p, const struct config_key *k, const char *v);
static void print_api_listen(const struct config *cfg, const struct config_key *k, FILE *out);
static int parse_remediation_key(struct config_parse *p, const struct config_key *k, const char *v);
static void print_remediation(const struct config *cfg, const struct config_key *k, FILE *out);
static int parse_enforce_portal(struct config_parse *p, const struct config_key *k, const char *v);
static int parse_nat_pool(struct config_parse *p, const struct config_key *k, const char *v);
static void print_nat_pool(const struct config *cfg, const struct config_key *k, FILE *out);
static int parse_flow_sampling(struct config_parse *p, const struct config_key *k, const char *v);
static void print_flow_sampling(const struct config *cfg, const struct config_key *k, FILE *out);
static int parse_flow_blocklist(struct config_parse *p, const struct config_key *k, const char *v);
static void print_flow_blocklist(const struct config *cfg, const struct config_key *k, FILE *out);
static void print_enforce_portal(const struct config *cfg, const struct config_key *k, FILE *out);

static const struct config_key config_keys[] = {
	/* [daemon] */
	{ "daemon", "store", KT_TEXT, KF_NONEMPTY | KF_NO_ECHO, FIELD(daemon.store), .size = FSIZE(daemon.store),
	    .line_offset = FIELD(daemon.store_line), .def = "var/lazaret.db",
	    .expect = "a file path or a PostgreSQL connection string",
	    .doc = "the store: an SQLite file, or PostgreSQL shared by several nodes" },
	{ "daemon", "local_store", KT_TEXT, KF_NONEMPTY, FIELD(daemon.local_store), .size = FSIZE(daemon.local_store),
	    .def = "var/lazaret.db", .expect = "a file path",
	    .doc = "with a PostgreSQL store: this node's own SQLite file (its outbox, its sensors' positions)" },
	{ "daemon", "node", KT_TEXT, 0, FIELD(daemon.node), .size = FSIZE(daemon.node), .valid = valid_node,
	    .expect = "1 to 63 of A-Z a-z 0-9 . _ -", .doc = "this node's name in logs, history and metrics (default: the host name)" },
	{ "daemon", "log_level", KT_ENUM, KF_RELOAD, FIELD(daemon.log_level), .names = log_level_names,
	    .def = "info", .doc = "the least severe messages logged" },
	{ "daemon", "syslog", KT_BOOL, 0, FIELD(daemon.syslog), .def = "no",
	    .doc = "log to syslog (daemon facility) instead of standard error" },
	{ "daemon", "checkpoint_interval", KT_DURATION, KF_RELOAD, FIELD(daemon.checkpoint_interval),
	    .min = SEC(1), .max = SEC(300), .def = "2s", .doc = "how often counters and positions are saved" },
	{ "daemon", "idle_expiry", KT_DURATION, KF_RELOAD, FIELD(daemon.idle_expiry), .min = SEC(60), .def = "1d",
	    .doc = "a subject at normal with no evidence is forgotten after this" },
	{ "daemon", "user", KT_TEXT, 0, FIELD(daemon.user), .size = FSIZE(daemon.user), .valid = valid_user,
	    .expect = "a user name", .doc = "the user lazaretd runs as once its sockets are bound" },
	{ "daemon", "seccomp", KT_ENUM, 0, FIELD(daemon.seccomp), .names = seccomp_names, .def = "yes",
	    .doc = "system call filters: kill a process on a call outside its list, log it, or none" },
	{ "daemon", "huge_pages", KT_BOOL, 0, FIELD(daemon.huge_pages), .def = "yes",
	    .doc = "malloc's memory in transparent huge pages (glibc.malloc.hugetlb=1; lazaretd runs itself again to set it)" },
	{ "daemon", "background_nice", KT_UINT, 0, FIELD(daemon.background_nice), .min = 0, .max = 19, .def = "10",
	    .doc = "how many nice steps the store's writer and the shared store's sync thread run below the event loop" },

	/* [network] */
	{ "network", "subscribers", KT_CIDR_LIST, KF_REPEAT | KF_RELOAD, FIELD(network.subscribers),
	    FIELD(network.subscriber_count), .max_count = 256, .expect = "ADDRESS/PREFIX",
	    .too_many = "at most %u ranges",
	    .doc = "the subscribers' address ranges: who is inside, for the garden and the flows" },
	{ "network", "relay", KT_ADDR_LIST, KF_REPEAT | KF_RELOAD, FIELD(network.relays), FIELD(network.relay_count),
	    .max_count = 256, .expect = "an IPv4 or IPv6 address", .too_many = "at most %u addresses",
	    .doc = "the mail relays: the only TCP/25 destinations subscribers may use" },

	/* [policy] */
	/* [nat] */
	{ "nat", "pool", KT_CUSTOM, KF_REPEAT | KF_RELOAD, FIELD(nat.pools), FIELD(nat.pool_count), .max_count = 256,
	    .expect = "PUBLIC PRIVATE PORTS_PER_SUBSCRIBER [FIRST_PORT]: IPv4 networks or FIRST-LAST ranges, the "
	    "ports each subscriber gets and the first port handed out (1024)", .too_many = "at most %u pools",
	    .parse = parse_nat_pool, .print = print_nat_pool,
	    .doc = "a deterministic CGNAT pool (RFC 7422): a report's public address and port name the subscriber" },

	{ "policy", "listen", KT_LISTENS, KF_REPEAT | KF_REPLACE, FIELD(policy.listen), FIELD(policy.listen_count),
	    .max_count = CONFIG_MAX_LISTEN, .def = "127.0.0.1:10045",
	    .expect = "ADDRESS:PORT, [IPV6]:PORT or unix:/PATH", .too_many = "at most %u policy listeners",
	    .doc = "where Postfix's check_policy_service connects" },
	{ "policy", "count_at", KT_ENUM, KF_RELOAD, FIELD(policy.count_at), .names = count_at_names, .def = "data",
	    .doc = "count messages at DATA (with their recipients) or at each RCPT" },
	{ "policy", "max_connections", KT_UINT, KF_RELOAD, FIELD(policy.max_connections),
	    .line_offset = FIELD(policy.max_connections_line), .min = 1, .max = 1000000, .def = "4096",
	    .doc = "policy connections open at once at most" },
	{ "policy", "idle_timeout", KT_DURATION, KF_RELOAD, FIELD(policy.idle_timeout), .min = SEC(1), .def = "1000s",
	    .doc = "an idle policy connection is closed after this" },
	{ "policy", "repeat_log_interval", KT_DURATION, KF_RELOAD, FIELD(policy.repeat_log_interval), .min = 0,
	    .max = DAYS(1), .def = "1m", .expect = "a duration from 0 (log every refusal) to 1d",
	    .doc = "a subject's same refusal is logged once per this" },
	{ "policy", "allow", KT_CIDRS, KF_REPEAT | KF_REPLACE | KF_RELOAD, FIELD(policy.allow),
	    FIELD(policy.allow_count), .max_count = CONFIG_MAX_POLICY_ALLOW, .def = "127.0.0.0/8 ::1/128",
	    .expect = "ADDRESS or ADDRESS/PREFIX", .too_many = "at most %u networks",
	    .doc = "TCP peers allowed to use the policy service" },
	{ "policy", "request_timeout", KT_DURATION, KF_RELOAD, FIELD(policy.request_timeout), .min = SEC(1),
	    .max = SEC(600), .def = "5s", .doc = "a request's first byte to its end at most" },
	{ "policy", "max_connections_per_peer", KT_UINT, KF_RELOAD, FIELD(policy.max_connections_per_peer),
	    .min = 1, .max = 1000000, .def = "512", .doc = "connections from one peer address at most" },
	{ "policy", "defer_text", KT_TEXT, KF_RELOAD | KF_NONEMPTY | KF_NO_ECHO, FIELD(policy.defer_text),
	    .size = FSIZE(policy.defer_text),
	    .def = "Too much mail from your connection in a short time; please try again later",
	    .expect = "printable text of at most 399 characters", .doc = "the text of a deferral (4xx)" },
	{ "policy", "reject_text", KT_TEXT, KF_RELOAD | KF_NONEMPTY | KF_NO_ECHO, FIELD(policy.reject_text),
	    .size = FSIZE(policy.reject_text),
	    .def = "Mail from your connection is blocked because your computer or account appears to be "
	    "compromised; see", .expect = "printable text of at most 399 characters",
	    .doc = "the text of a refusal (5xx), followed by the portal's address" },

	/* [limits] */
	{ "limits", "host_prefix_v4", KT_UINT, KF_RELOAD, FIELD(limits.host_prefix_v4), .min = 8, .max = 32,
	    .def = "32", .expect = "a prefix length from 8 to 32", .doc = "an IPv4 host subject is this prefix" },
	{ "limits", "host_prefix_v6", KT_UINT, KF_RELOAD, FIELD(limits.host_prefix_v6), .min = 16, .max = 128,
	    .def = "64", .expect = "a prefix length from 16 to 128", .doc = "an IPv6 host subject is this prefix" },
#define RATE_KEYS(name, rate, burst, what)                                                                   \
	{ "limits", #name, KT_RATE, KF_RELOAD, FIELD(limits.name), .def = rate,                               \
	    .expect = "COUNT/DURATION such as 60/1h", .doc = what " before throttling" },                    \
	{ "limits", #name "_burst", KT_BURST, KF_RELOAD, FIELD(limits.name), .min = 1, .max = 1000000000,     \
	    .def = burst, .expect = "a number of at least 1", .doc = what ": how far ahead of the rate" }
	RATE_KEYS(host_messages, "60/1h", "40", "messages per host"),
	RATE_KEYS(host_recipients, "300/1h", "150", "recipients per host"),
	RATE_KEYS(account_messages, "100/1h", "50", "messages per SASL account"),
	RATE_KEYS(account_recipients, "500/1h", "200", "recipients per SASL account"),
#undef RATE_KEYS
	{ "limits", "throttle_factor", KT_DOUBLE, KF_RELOAD, FIELD(limits.throttle_factor), .min = 0.001, .max = 1,
	    .def = "0.1", .expect = "a number above 0 and at most 1", .doc = "the limits' share a throttled subject keeps" },

	/* [judge] */
	{ "judge", "watch", KT_DOUBLE, KF_RELOAD, FIELD(judge.threshold[LEVEL_WATCH]), .min = 0.001, .max = 1e9,
	    .def = "1", .expect = "a positive score", .doc = "the score at which a subject is watched" },
	{ "judge", "throttle", KT_DOUBLE, KF_RELOAD, FIELD(judge.threshold[LEVEL_THROTTLE]), .min = 0.001,
	    .max = 1e9, .def = "3", .expect = "a positive score", .doc = "the score at which it is throttled" },
	{ "judge", "quarantine", KT_DOUBLE, KF_RELOAD, FIELD(judge.threshold[LEVEL_QUARANTINE]), .min = 0.001,
	    .max = 1e9, .def = "6", .expect = "a positive score", .doc = "the score at which it is quarantined" },
	{ "judge", "suspend", KT_DOUBLE, KF_REFUSED, 0, .expect = "suspend is set by operators only and has no threshold" },
	{ "judge", "release_ratio", KT_DOUBLE, KF_RELOAD, FIELD(judge.release_ratio), .min = 0.01, .max = 1,
	    .def = "0.5", .expect = "a number above 0 and at most 1",
	    .doc = "a level is left when the score falls below this share of its threshold" },
	{ "judge", "quarantine_cap", KT_UINT, KF_RELOAD, FIELD(judge.quarantine_cap), .min = 0, .max = 1000000,
	    .def = "100", .expect = "0 (no cap) to 1000000 quarantines per hour",
	    .doc = "automatic quarantines per hour at most (mass infection)" },
	{ "judge", "max_subjects", KT_UINT, KF_RELOAD, FIELD(judge.max_subjects), .min = 1000, .max = 1000000000,
	    .def = "2000000", .doc = "hosts and accounts tracked at most" },
	{ "judge", "ignore", KT_CIDRS, KF_REPEAT | KF_REPLACE | KF_NONE | KF_RELOAD, FIELD(judge.ignore),
	    FIELD(judge.ignore_count), .max_count = CONFIG_MAX_JUDGE_IGNORE, .def = "127.0.0.0/8 ::1/128",
	    .expect = "ADDRESS, ADDRESS/PREFIX or none", .too_many = "at most %u networks",
	    .doc = "the relay's own clients, never judged as hosts" },

	/* [allowlist] */
	{ "allowlist", "network", KT_CIDR_LIST, KF_REPEAT | KF_RELOAD, FIELD(allowlist.networks),
	    FIELD(allowlist.network_count), .expect = "ADDRESS or ADDRESS/PREFIX",
	    .doc = "networks that never go above watch" },
	{ "allowlist", "account", KT_STR_LIST, KF_REPEAT | KF_RELOAD | KF_NO_ECHO, FIELD(allowlist.accounts),
	    FIELD(allowlist.account_count), .size = 256, .expect = "a SASL user name of 1 to 255 characters",
	    .doc = "SASL accounts that never go above watch" },

	/* [api] */
	{ "api", "socket", KT_TEXT, KF_NO_ECHO, FIELD(api.socket), .size = FSIZE(api.socket),
	    .def = CONFIG_API_SOCKET, .expect = "a path of at most 107 bytes, or nothing",
	    .doc = "the operator API's Unix socket (no token asked)" },
	{ "api", "socket_group", KT_TEXT, KF_NONEMPTY | KF_IF_SET, FIELD(api.socket_group),
	    .line_offset = FIELD(api.socket_group_line), .size = FSIZE(api.socket_group), .valid = valid_group,
	    .expect = "a group name", .doc = "the group that may use the socket" },
	{ "api", "listen", KT_CUSTOM, 0, FIELD(api.listen), .line_offset = FIELD(api.listen_line),
	    .expect = "ADDRESS:PORT or [IPV6]:PORT", .parse = parse_api_listen, .print = print_api_listen,
	    .doc = "a TCP listener for the API, with token_file (and TLS off loopback)" },
	{ "api", "token_file", KT_TEXT, KF_RELOAD | KF_NO_ECHO | KF_IF_SET, FIELD(api.token_file),
	    .line_offset = FIELD(api.token_file_line), .size = FSIZE(api.token_file), .expect = "a file path",
	    .doc = "the bearer token TCP clients present" },
	{ "api", "tls_cert", KT_TEXT, KF_NONEMPTY | KF_NO_ECHO | KF_IF_SET, FIELD(api.tls_cert),
	    .line_offset = FIELD(api.tls_line), .size = FSIZE(api.tls_cert), .expect = "a PEM file path",
	    .doc = "HTTPS on listen: the certificate chain" },
	{ "api", "tls_key", KT_TEXT, KF_NONEMPTY | KF_NO_ECHO | KF_IF_SET, FIELD(api.tls_key),
	    .line_offset = FIELD(api.tls_line), .size = FSIZE(api.tls_key), .expect = "a PEM file path",
	    .doc = "HTTPS on listen: the private key" },

	/* [maillog] */
	{ "maillog", "file", KT_STR_LIST, KF_REPEAT | KF_NO_ECHO, FIELD(maillog.files), FIELD(maillog.file_count),
	    .size = PATH_MAX, .expect = "the path of a Postfix log file", .doc = "a Postfix log to follow" },
	{ "maillog", "poll_interval", KT_DURATION, 0, FIELD(maillog.poll_interval), .min = SEC(0.1), .def = "1s",
	    .doc = "how often the logs are checked for growth and rotation" },
	{ "maillog", "queue_id_max_age", KT_DURATION, KF_RELOAD, FIELD(maillog.queue_id_max_age), .min = SEC(60),
	    .def = "6d", .doc = "an open queue ID is forgotten after this" },
	{ "maillog", "max_queue_ids", KT_UINT, KF_RELOAD, FIELD(maillog.max_queue_ids), .min = 1000,
	    .max = 100000000, .def = "1000000", .doc = "open queue IDs remembered at most" },
	{ "maillog", "bounce_window", KT_DURATION, KF_RELOAD, FIELD(maillog.bounce_window), .min = SEC(60),
	    .def = "1h", .doc = "bounce_ratio: the window" },
	{ "maillog", "bounce_min_recipients", KT_UINT, KF_RELOAD, FIELD(maillog.bounce_min_recipients), .min = 1,
	    .max = 1000000, .def = "20", .expect = "a number of at least 1",
	    .doc = "bounce_ratio: recipients in the window before it counts" },
	{ "maillog", "bounce_threshold", KT_DOUBLE, KF_RELOAD, FIELD(maillog.bounce_threshold), .min = 0.01,
	    .max = 0.99, .def = "0.3", .expect = "a ratio from 0.01 to 0.99",
	    .doc = "bounce_ratio: the lower bound of failures over recipients that flags" },
	{ "maillog", "bounce_confidence", KT_DOUBLE, KF_RELOAD, FIELD(maillog.bounce_confidence), .min = 0.5,
	    .max = 0.999, .def = "0.95", .expect = "a probability from 0.5 to 0.999",
	    .doc = "bounce_ratio: the Wilson bound's confidence" },
	{ "maillog", "domains_window", KT_DURATION, KF_RELOAD, FIELD(maillog.domains_window), .min = SEC(60),
	    .def = "15m", .doc = "recipient_domains: the window" },
	{ "maillog", "domains_min", KT_UINT, KF_RELOAD, FIELD(maillog.domains_min), .min = 2, .max = 100000,
	    .def = "30", .doc = "recipient_domains: distinct domains in a window that may flag" },
	{ "maillog", "domains_factor", KT_DOUBLE, KF_RELOAD, FIELD(maillog.domains_factor), .min = 1, .max = 1000,
	    .def = "5", .expect = "a number from 1 to 1000", .doc = "recipient_domains: times the usual count" },
	{ "maillog", "account_window", KT_DURATION, KF_RELOAD, FIELD(maillog.account_window), .min = SEC(60),
	    .def = "1d", .doc = "account_networks and account_addresses: the window" },
	{ "maillog", "account_networks", KT_UINT, KF_RELOAD, FIELD(maillog.account_networks), .min = 2, .max = 1000,
	    .def = "10", .doc = "an account used from more networks than this is flagged" },
	/* below the per-account memory of 256 addresses, so that more can be seen */
	{ "maillog", "account_addresses", KT_UINT, KF_RELOAD, FIELD(maillog.account_addresses), .min = 2,
	    .max = 200, .def = "20", .doc = "an account used from more addresses than this is flagged" },
	/* up to the 64 open sessions remembered per account */
	{ "maillog", "account_sessions", KT_UINT, KF_RELOAD, FIELD(maillog.account_sessions), .min = 2, .max = 64,
	    .def = "3", .doc = "an account in sessions open at once from this many addresses is flagged" },
	{ "maillog", "account_prefix_v4", KT_UINT, KF_RELOAD, FIELD(maillog.account_prefix_v4), .min = 8, .max = 32,
	    .def = "24", .expect = "a prefix length from 8 to 32", .doc = "account_networks: an IPv4 network" },
	{ "maillog", "account_prefix_v6", KT_UINT, KF_RELOAD, FIELD(maillog.account_prefix_v6), .min = 16,
	    .max = 128, .def = "64", .expect = "a prefix length from 16 to 128",
	    .doc = "account_networks: an IPv6 network" },
	{ "maillog", "ignore_text", KT_TEXT, KF_RELOAD | KF_NO_ECHO | KF_IF_SET, FIELD(maillog.ignore_text),
	    .size = FSIZE(maillog.ignore_text), .expect = "printable text",
	    .doc = "refusals containing this text are lazaret's own" },

	/* [logins] */
	{ "logins", "dovecot", KT_BOOL, KF_RELOAD, FIELD(logins.dovecot), .def = "no",
	    .doc = "Dovecot's IMAP/POP3 logins in the [maillog] files are account_networks evidence" },
	{ "logins", "roundcube_log", KT_TEXT, KF_NONEMPTY | KF_NO_ECHO | KF_IF_SET, FIELD(logins.roundcube_log),
	    .size = FSIZE(logins.roundcube_log), .expect = "the path of Roundcube's userlogins log",
	    .doc = "Roundcube's userlogins log to follow: webmail logins are account_networks evidence" },

	/* [dhcp] */
	{ "dhcp", "lease_file", KT_STR_LIST, KF_REPEAT | KF_NO_ECHO, FIELD(dhcp.lease_files),
	    FIELD(dhcp.lease_file_count), .size = PATH_MAX, .expect = "the path of a Kea memfile lease file",
	    .doc = "a Kea lease file to follow (kea-leases4.csv, kea-leases6.csv)" },
	{ "dhcp", "subscriber_id", KT_ENUM, KF_RELOAD, FIELD(dhcp.subscriber_id), .names = dhcp_id_names,
	    .def = "client-id", .doc = "what names a lease's subscriber (then the others, when it is missing)" },
	{ "dhcp", "poll_interval", KT_DURATION, 0, FIELD(dhcp.poll_interval), .min = SEC(0.1), .def = "1s",
	    .doc = "how often the lease files are checked for new lines and Kea's cleanup" },

	/* [portal] */
	{ "portal", "url", KT_TEXT, KF_RELOAD, FIELD(portal.url), .size = FSIZE(portal.url), .valid = valid_url,
	    .def = "http://portal.example.net/", .expect = "an http:// or https:// URL without spaces",
	    .doc = "the portal's own address, in refusals and pages" },
	{ "portal", "listen", KT_LISTEN, 0, FIELD(portal.listen), .def = "127.0.0.1:8080",
	    .expect = "ADDRESS:PORT or [IPV6]:PORT", .doc = "where the portal answers" },
	{ "portal", "templates", KT_TEXT, KF_RELOAD | KF_NONEMPTY | KF_NO_ECHO, FIELD(portal.templates),
	    .size = FSIZE(portal.templates), .def = "share/portal", .expect = "a directory",
	    .doc = "the pages' templates" },
	{ "portal", "support_contact", KT_TEXT, KF_RELOAD | KF_NONEMPTY | KF_NO_ECHO, FIELD(portal.support_contact),
	    .size = FSIZE(portal.support_contact), .def = "the support number printed on your contract or invoice",
	    .expect = "one line of text", .doc = "how a subscriber reaches support" },
	{ "portal", "abuse_contact", KT_TEXT, KF_RELOAD | KF_NONEMPTY | KF_NO_ECHO, FIELD(portal.abuse_contact),
	    .size = FSIZE(portal.abuse_contact),
	    .def = "our abuse desk, through the support number printed on your contract or invoice",
	    .expect = "one line of text", .doc = "how a subscriber reaches the abuse desk" },
	{ "portal", "self_release_limit", KT_UINT, KF_RELOAD, FIELD(portal.self_release_limit), .min = 0,
	    .max = 100, .def = "3", .expect = "0 to 100", .doc = "self-releases per window (0: never)" },
	{ "portal", "self_release_window", KT_DURATION, KF_RELOAD, FIELD(portal.self_release_window),
	    .min = SEC(60), .max = DAYS(366), .def = "30d", .doc = "the window self_release_limit counts in" },
	{ "portal", "grace", KT_DURATION, KF_RELOAD, FIELD(portal.grace), .min = 0, .max = DAYS(366), .def = "1d",
	    .doc = "after a self-release, no automatic quarantine for this long" },
	{ "portal", "min_quarantine", KT_DURATION, KF_RELOAD, FIELD(portal.min_quarantine), .min = 0,
	    .max = DAYS(30), .def = "15m", .doc = "an automatic quarantine's least time before its release button" },
	{ "portal", "token_ttl", KT_DURATION, KF_RELOAD, FIELD(portal.token_ttl), .min = SEC(1), .max = DAYS(1),
	    .def = "15m", .doc = "a release form's token is valid this long" },
	{ "portal", "secret_file", KT_TEXT, KF_RELOAD | KF_NO_ECHO | KF_IF_SET, FIELD(portal.secret_file),
	    .size = FSIZE(portal.secret_file), .expect = "a file path",
	    .doc = "the key the tokens are signed with (none: random at start)" },
	{ "portal", "max_connections", KT_UINT, 0, FIELD(portal.max_connections),
	    .line_offset = FIELD(portal.max_connections_line), .min = 1, .max = 1000000, .def = "1024",
	    .doc = "portal connections open at once at most" },
	{ "portal", "max_connections_per_address", KT_UINT, 0, FIELD(portal.max_connections_per_address),
	    .min = 1, .max = 1000, .def = "8", .doc = "portal connections from one address at most" },
	{ "portal", "request_timeout", KT_DURATION, KF_RELOAD, FIELD(portal.request_timeout), .min = SEC(1),
	    .max = SEC(300), .def = "10s", .doc = "a whole request within this, or the connection goes" },

	/* [enforce] */
	{ "enforce", "mode", KT_ENUM, 0, FIELD(enforce.mode), .line_offset = FIELD(enforce.mode_line),
	    .names = enforce_mode_names, .def = "none",
	    .doc = "the walled garden: none, nftables on this gateway, radius (CoA to the NASes) or nftables radius" },
	{ "enforce", "table", KT_TEXT, 0, FIELD(enforce.table), .size = FSIZE(enforce.table), .valid = valid_table,
	    .def = "lazaret", .expect = "a name of letters, digits and _ (up to 31)",
	    .doc = "the nftables table lazaret owns" },
	/* [network]'s lists under their old names (read, printed under [network]) */
	{ "enforce", "subscribers", KT_CIDR_LIST, KF_REPEAT | KF_RELOAD | KF_ALIAS, FIELD(network.subscribers),
	    FIELD(network.subscriber_count), .max_count = 256, .expect = "ADDRESS/PREFIX",
	    .too_many = "at most %u ranges" },
	{ "enforce", "relay", KT_ADDR_LIST, KF_REPEAT | KF_RELOAD | KF_ALIAS, FIELD(network.relays),
	    FIELD(network.relay_count), .max_count = 256, .expect = "an IPv4 or IPv6 address",
	    .too_many = "at most %u addresses" },
	{ "enforce", "resolver", KT_ADDR_LIST, KF_REPEAT | KF_RELOAD, FIELD(enforce.resolvers),
	    FIELD(enforce.resolver_count), .max_count = 256, .expect = "an IPv4 or IPv6 address",
	    .too_many = "at most %u addresses", .doc = "the DNS resolvers quarantined hosts may still use" },
	{ "enforce", "remediation", KT_CUSTOM, KF_REPEAT | KF_RELOAD, FIELD(enforce.remediation),
	    FIELD(enforce.remediation_count), .max_count = 256,
	    .expect = "NAME, ADDRESS or ADDRESS/PREFIX, then optionally PORT or PORT/tcp or PORT/udp",
	    .too_many = "at most %u destinations", .parse = parse_remediation_key, .print = print_remediation,
	    .doc = "update and antivirus sites quarantined hosts may still reach" },
	{ "enforce", "portal", KT_CUSTOM, KF_REPEAT | KF_RELOAD, FIELD(enforce.portal_v4),
	    .expect = "ADDRESS:PORT or [IPV6]:PORT", .parse = parse_enforce_portal, .print = print_enforce_portal,
	    .doc = "where quarantined hosts' web requests are sent (IPv4 and IPv6, one port)" },
	{ "enforce", "element_timeout", KT_DURATION, KF_RELOAD, FIELD(enforce.element_timeout), .min = SEC(10),
	    .max = DAYS(30), .def = "1h", .doc = "a garden entry lapses unless refreshed within this" },
	{ "enforce", "refresh_interval", KT_DURATION, KF_RELOAD, FIELD(enforce.refresh_interval), .min = SEC(10),
	    .max = DAYS(30), .def = "15m", .doc = "how often the garden's entries are refreshed" },
	{ "enforce", "resolve_interval", KT_DURATION, KF_RELOAD, FIELD(enforce.resolve_interval), .min = SEC(10),
	    .max = DAYS(30), .def = "10m", .doc = "how often remediation names are resolved again" },

	/* [flows] */
	{ "flows", "listen", KT_LISTENS, KF_REPEAT | KF_INET, FIELD(flows.listen), FIELD(flows.listen_count),
	    .max_count = CONFIG_MAX_FLOW_LISTEN, .expect = "ADDRESS:PORT or [IPV6]:PORT",
	    .too_many = "at most %u flow listeners",
	    .doc = "a UDP port for NetFlow v5/v9, IPFIX and sFlow v5 (none: the collector is off)" },
	{ "flows", "receive_buffer", KT_SIZE, 0, FIELD(flows.receive_buffer), .min = 65536, .max = 1 << 30,
	    .def = "32M", .doc = "the kernel's buffer per flow socket, against bursts" },
	{ "flows", "sampling", KT_CUSTOM, KF_REPEAT | KF_RELOAD, FIELD(flows.sampling), FIELD(flows.sampling_count),
	    .max_count = 1024, .expect = "ADDRESS[/PREFIX] RATE, the exporters and their 1-in-RATE sampling",
	    .too_many = "at most %u exporter networks", .parse = parse_flow_sampling, .print = print_flow_sampling,
	    .doc = "the sampling rate of exporters that never announce one" },
	{ "flows", "max_exporters", KT_UINT, 0, FIELD(flows.max_exporters), .min = 1, .max = 65536, .def = "256",
	    .doc = "exporters followed at most; datagrams from more are counted and dropped" },
	{ "flows", "max_templates", KT_UINT, 0, FIELD(flows.max_templates), .min = 1, .max = 4096, .def = "128",
	    .doc = "templates remembered per exporter at most" },
	{ "flows", "max_hosts", KT_UINT, KF_RELOAD, FIELD(flows.max_hosts), .min = 1000, .max = 100000000,
	    .def = "1000000", .doc = "subscriber hosts the detectors follow at most; records of more are counted" },
	{ "flows", "direct_mx_window", KT_DURATION, KF_RELOAD, FIELD(flows.direct_mx_window), .min = SEC(60),
	    .max = SEC(3600), .def = "10m", .doc = "direct_mx: the window" },
	{ "flows", "direct_mx_destinations", KT_UINT, KF_RELOAD, FIELD(flows.direct_mx_destinations), .min = 2,
	    .max = 100000, .def = "20", .doc = "direct_mx: distinct TCP/25 destinations other than the relays that flag" },
	/* disjoint bounds keep theta1 < theta0 and alpha < beta, as the walk needs, without a
	 * check across keys */
	{ "flows", "scan_theta0", KT_DOUBLE, KF_RELOAD, FIELD(flows.scan_theta0), .min = 0.5, .max = 0.99,
	    .def = "0.8", .expect = "a probability from 0.5 to 0.99", .doc = "scanning: P(success) of a benign host's first contacts" },
	{ "flows", "scan_theta1", KT_DOUBLE, KF_RELOAD, FIELD(flows.scan_theta1), .min = 0.01, .max = 0.49,
	    .def = "0.2", .expect = "a probability from 0.01 to 0.49", .doc = "scanning: P(success) of a scanner's first contacts" },
	{ "flows", "scan_alpha", KT_DOUBLE, KF_RELOAD, FIELD(flows.scan_alpha), .min = 0.0001, .max = 0.2,
	    .def = "0.01", .expect = "a probability from 0.0001 to 0.2", .doc = "scanning: the false-positive bound" },
	{ "flows", "scan_beta", KT_DOUBLE, KF_RELOAD, FIELD(flows.scan_beta), .min = 0.5, .max = 0.9999,
	    .def = "0.99", .expect = "a probability from 0.5 to 0.9999", .doc = "scanning: the detection probability" },
	{ "flows", "scan_window", KT_DURATION, KF_RELOAD, FIELD(flows.scan_window), .min = SEC(60), .max = SEC(3600),
	    .def = "5m", .doc = "scanning: the fan-out window" },
	{ "flows", "scan_destinations", KT_UINT, KF_RELOAD, FIELD(flows.scan_destinations), .min = 2, .max = 1000000,
	    .def = "50", .doc = "scanning: distinct destinations on one TCP port in the window that flag" },
	{ "flows", "scan_ports", KT_UINT, KF_RELOAD, FIELD(flows.scan_ports), .min = 2, .max = 65536,
	    .def = "100", .doc = "scanning: distinct TCP ports of one destination in the window that flag" },
	{ "flows", "dos_packets", KT_UINT, KF_RELOAD, FIELD(flows.dos_packets), .min = 100, .max = 1000000000,
	    .def = "20000", .doc = "outbound_dos: a host's packets/s that flag" },
	{ "flows", "dos_megabits", KT_UINT, KF_RELOAD, FIELD(flows.dos_megabits), .min = 1, .max = 1000000,
	    .def = "1000", .doc = "outbound_dos: a host's Mbit/s that flag" },
	{ "flows", "dos_flows", KT_UINT, KF_RELOAD, FIELD(flows.dos_flows), .min = 10, .max = 100000000,
	    .def = "3500", .doc = "outbound_dos: a host's new flows/s that flag" },
	{ "flows", "dos_factor", KT_DOUBLE, KF_RELOAD, FIELD(flows.dos_factor), .min = 2, .max = 1000000,
	    .def = "20", .expect = "a number from 2 to 1000000", .doc = "outbound_dos: times the host's usual packets/s that flag" },
	{ "flows", "dos_factor_floor", KT_UINT, KF_RELOAD, FIELD(flows.dos_factor_floor), .min = 1,
	    .max = 1000000000, .def = "1000", .doc = "outbound_dos: packets/s under which dos_factor does not apply" },
	{ "flows", "allow_destination", KT_CIDR_LIST, KF_REPEAT | KF_RELOAD, FIELD(flows.allow_destinations),
	    FIELD(flows.allow_destination_count), .max_count = 4096, .expect = "ADDRESS or ADDRESS/PREFIX",
	    .too_many = "at most %u networks",
	    .doc = "outside networks kept out of outbound_dos and hosting: speed tests, CDNs, game servers" },
	{ "flows", "hosting_window", KT_DURATION, KF_RELOAD, FIELD(flows.hosting_window), .min = SEC(60),
	    .max = SEC(3600), .def = "10m", .doc = "hosting: the window" },
	{ "flows", "hosting_sources", KT_UINT, KF_RELOAD, FIELD(flows.hosting_sources), .min = 2, .max = 1000000,
	    .def = "100", .doc = "hosting: distinct outside clients of TCP 80/443/53 or UDP 53 in the window that flag" },
	{ "flows", "blocklist", KT_CUSTOM, KF_REPEAT | KF_RELOAD, FIELD(flows.blocklists), FIELD(flows.blocklist_count),
	    .max_count = 16, .expect = "NAME FORMAT PATH: a name of a-z, 0-9, _ and - (up to 31), then auto, plain, "
	    "drop, drop-json or feodo-csv, then the list's file", .too_many = "at most %u lists",
	    .parse = parse_flow_blocklist, .print = print_flow_blocklist,
	    .doc = "cc_contact: a C&C or drop list, reloaded on SIGHUP" },

	{ "identity", "retention", KT_DURATION, KF_RELOAD, FIELD(identity.retention), .min = SEC(3600), .def = "180d",
	    .doc = "how long the address history keeps who held an address after they stopped" },

	{ "radius", "listen", KT_LISTENS, KF_REPEAT | KF_INET, FIELD(radius.listen), FIELD(radius.listen_count),
	    .max_count = CONFIG_MAX_RADIUS_LISTEN, .expect = "ADDRESS:PORT or [IPV6]:PORT",
	    .too_many = "at most %u RADIUS listeners",
	    .doc = "a UDP port for RADIUS accounting (1813; none: off), with [radius client NAME] sections" },
	{ "radius", "receive_buffer", KT_SIZE, 0, FIELD(radius.receive_buffer), .min = 65536, .max = 1 << 30,
	    .def = "4M", .doc = "the kernel's buffer per RADIUS socket, against a reconnect storm" },
	{ "radius", "subscriber_id", KT_ENUM, KF_RELOAD, FIELD(radius.subscriber_id), .names = radius_id_names,
	    .def = "User-Name", .doc = "the attribute naming the subscriber: User-Name, Calling-Station-Id or NAS-Port-Id" },
	{ "radius", "dictionary", KT_TEXT, KF_IF_SET, FIELD(radius.dictionary), .size = FSIZE(radius.dictionary),
	    .expect = "a file path", .doc = "a FreeRADIUS dictionary for the [radius nas] attributes (RFC ones are built in)" },
	{ "radius", "coa_timeout", KT_DURATION, 0, FIELD(radius.coa_timeout), .min = SEC(1) / 10, .max = SEC(60),
	    .def = "1s", .doc = "CoA and Disconnect: the first wait for the NAS's answer, doubled at each retry" },
	{ "radius", "coa_retries", KT_UINT, 0, FIELD(radius.coa_retries), .min = 0, .max = 10, .def = "3",
	    .doc = "CoA and Disconnect: sends again after no answer" },
	{ "radius", "coa_resend", KT_DURATION, 0, FIELD(radius.coa_resend), .min = SEC(1), .max = SEC(86400),
	    .def = "5m", .doc = "CoA and Disconnect: a session whose NAS never answered (down, unreachable) is told "
	    "again this often until it answers" },

	{ "reports", "directory", KT_TEXT, KF_IF_SET, FIELD(reports.directory), .size = FSIZE(reports.directory),
	    .expect = "a directory path",
	    .doc = "the spool for abuse reports: files dropped here or posted are read once, then kept in done/ or failed/" },
	{ "reports", "poll_interval", KT_DURATION, 0, FIELD(reports.poll_interval), .min = SEC(0.1), .max = SEC(3600),
	    .def = "1s", .doc = "how often the directory is looked at for new files" },
	{ "reports", "max_size", KT_SIZE, 0, FIELD(reports.max_size), .min = 4096, .max = 1u << 30, .def = "64M",
	    .doc = "a larger report file, message or request is refused (and kept in failed/)" },
	{ "reports", "dedup_window", KT_DURATION, KF_RELOAD, FIELD(reports.dedup_window), .min = SEC(3600),
	    .max = SEC(90 * 86400), .def = "7d", .doc = "the same report again within this time counts once" },
	{ "reports", "trust", KT_DOUBLE, KF_RELOAD, FIELD(reports.trust), .min = 0, .max = 10, .def = "1",
	    .doc = "the weight factor of a source without a [reports source NAME] section" },
	{ "reports", "relay_name", KT_STR_LIST, KF_REPEAT, FIELD(reports.relay_names), FIELD(reports.relay_name_count),
	    .size = 256, .max_count = 64, .expect = "a host name as our relay writes it in Received headers",
	    .doc = "our relay's name in its Received headers: a complaint's forwarded message is traced to the"
	    " client our relay took it from (none: the host's own name)" },
	{ "reports", "relay_network", KT_CIDR_LIST, KF_REPEAT, FIELD(reports.relay_networks),
	    FIELD(reports.relay_network_count), .max_count = 1024, .expect = "ADDRESS or ADDRESS/PREFIX",
	    .doc = "the addresses our relays send from: our relay's Received header counts only below a next hop's"
	    " naming one (none: [network] relays)" },
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))
_Static_assert(CONFIG_KEY_COUNT <= CONFIG_KEY_MAX, "config_parse.seen is too short for config_keys");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "KT_UINT writes unsigned fields as uint32_t");

/* --- reading a key ------------------------------------------------------------------------- */

static bool
valid_user(const char *v)
{
	/* a user name as useradd(8) accepts it; "" keeps the user lazaretd was started as */
	if (v[0] == '-')
		return false;
	for (const char *c = v; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
			return false;
	return true;
}

static bool
valid_node(const char *v)
{
	/* "" is the host name (lazaretd), not a name of its own */
	return strlen(v) < 64 && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(v);
}

static bool
valid_group(const char *v)
{
	return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(v);
}

static bool
valid_url(const char *v)
{
	return (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0) && strchr(v, ' ') == NULL;
}

static bool
valid_table(const char *v)
{
	return isalpha((unsigned char)v[0]) &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(v);
}

/* What an error about k says was expected: its own words, or made from its bounds. */
static const char *
key_expect(const struct config_key *k, char *buf, size_t size)
{
	char a[32], b[32];
	size_t off = 0;

	if (k->expect != NULL)
		return k->expect;
	switch (k->type) {
	case KT_BOOL:
		return "yes or no";
	case KT_UINT:
		snprintf(buf, size, "a number from %.0f to %.0f", k->min, k->max);
		return buf;
	case KT_DURATION:
		duration_format((usec_t)k->min, a, sizeof(a));
		if (k->max > 0)
			snprintf(buf, size, "a duration from %s to %s", a, duration_format((usec_t)k->max, b, sizeof(b)));
		else
			snprintf(buf, size, "a duration of at least %s", a);
		return buf;
	case KT_SIZE:
		snprintf(buf, size, "a size from %s to %s (bytes, or with K, M or G)", size_format((uint64_t)k->min, a,
		    sizeof(a)), size_format((uint64_t)k->max, b, sizeof(b)));
		return buf;
	case KT_ENUM:
		buf[0] = '\0';
		for (size_t i = 0; k->names[i] != NULL && off < size; i++)
			off += (size_t)snprintf(buf + off, size - off, "%s%s", i == 0 ? "" : k->names[i + 1] ? ", " : " or ",
			    k->names[i]);
		return buf;
	default:
		return "a valid value";      /* every other row says its own (test_config checks) */
	}
}

/* "NAME: expected WHAT, not "VALUE"" (without the value for KF_NO_ECHO keys). */
static int
key_fail(struct config_parse *p, const struct config_key *k, const char *v)
{
	char buf[160];
	const char *what = key_expect(k, buf, sizeof(buf));

	if (k->flags & KF_NO_ECHO)
		return config_fail(p, "%s: expected %s", k->name, what);
	return config_fail(p, "%s: expected %s, not \"%s\"", k->name, what, v);
}

static void *
key_field(struct config *cfg, size_t offset)
{
	return (char *)cfg + offset;
}

static const void *
key_cfield(const struct config *cfg, size_t offset)
{
	return (const char *)cfg + offset;
}

/*
 * Sets key k from value v (a line of the file, or a default). Lists add v to what they
 * hold, but a KF_REPLACE list's first line in the file drops its defaults. Returns 1, or
 * 0 after config_fail (inih's convention).
 */
static int
key_set(struct config_parse *p, const struct config_key *k, const char *v)
{
	struct config *cfg = p->cfg;
	void *field = key_field(cfg, k->offset);
	size_t *count = k->count_offset ? key_field(cfg, k->count_offset) : NULL;
	size_t index = (size_t)(k - config_keys);
	unsigned long n;
	usec_t d;

	if (k->flags & KF_REFUSED)
		return config_fail(p, "%s", k->expect);
	if (k->line_offset != 0)
		*(int *)key_field(cfg, k->line_offset) = p->line;
	if ((k->flags & KF_REPLACE) && !p->defaults && !p->seen[index])
		*count = 0;
	p->seen[index] = true;
	if (count != NULL && k->max_count != 0 && *count >= k->max_count && !((k->flags & KF_NONE) && !strcmp(v, "none")))
	{
		char why[96];
		snprintf(why, sizeof(why), k->too_many, k->max_count);
		return config_fail(p, "%s: %s", k->name, why);
	}
	switch (k->type) {
	case KT_BOOL:
		if (parse_bool(v, field) != 0)
			return key_fail(p, k, v);
		break;
	case KT_UINT:
		if (parse_uint(v, (unsigned long)k->min, (unsigned long)k->max, &n) != 0)
			return key_fail(p, k, v);
		*(uint32_t *)field = (uint32_t)n;
		break;
	case KT_DOUBLE:
		if (parse_double(v, k->min, k->max, field) != 0)
			return key_fail(p, k, v);
		break;
	case KT_DURATION:
		if (duration_parse(v, &d) != 0 || d < (usec_t)k->min || (k->max > 0 && d > (usec_t)k->max))
			return key_fail(p, k, v);
		*(usec_t *)field = d;
		break;
	case KT_TEXT:
		if (((k->flags & KF_NONEMPTY) && *v == '\0') || (k->valid != NULL && !k->valid(v)) ||
		    set_text(field, k->size, v) != 0)
			return key_fail(p, k, v);
		break;
	case KT_ENUM: {
		size_t i = 0;
		while (k->names[i] != NULL && strcmp(k->names[i], v) != 0)
			i++;
		if (k->names[i] == NULL)
			return key_fail(p, k, v);
		*(int *)field = (int)i;
		break;
	}
	case KT_LISTEN:
		if (listen_addr_parse(v, field) != 0 || ((struct listen_addr *)field)->kind != LISTEN_TCP)
			return key_fail(p, k, v);
		break;
	case KT_LISTENS:
		if (listen_addr_parse(v, (struct listen_addr *)field + *count) != 0 ||
		    ((k->flags & KF_INET) && ((struct listen_addr *)field + *count)->kind != LISTEN_TCP))
			return key_fail(p, k, v);
		(*count)++;
		break;
	case KT_CIDRS:
		if ((k->flags & KF_NONE) && !strcmp(v, "none")) {
			if (*count > 0)
				return config_fail(p, "%s: \"none\" cannot follow a network", k->name);
			break;
		}
		if (cidr_parse(v, (struct cidr *)field + *count) != 0)
			return key_fail(p, k, v);
		(*count)++;
		break;
	case KT_CIDR_LIST: {
		struct cidr net, *slot;
		if (cidr_parse(v, &net) != 0)
			return key_fail(p, k, v);
		if ((slot = grow_list(field, count, sizeof(*slot))) == NULL)
			return config_fail(p, "out of memory");
		*slot = net;
		break;
	}
	case KT_ADDR_LIST: {
		struct addr a, *slot;
		if (addr_parse(v, strlen(v), &a) != 0)
			return key_fail(p, k, v);
		if ((slot = grow_list(field, count, sizeof(*slot))) == NULL)
			return config_fail(p, "out of memory");
		*slot = a;
		break;
	}
	case KT_STR_LIST: {
		char *copy, **slot;
		if (*v == '\0' || strlen(v) >= k->size)
			return key_fail(p, k, v);
		if ((copy = strdup(v)) == NULL)
			return config_fail(p, "out of memory");
		if ((slot = grow_list(field, count, sizeof(*slot))) == NULL) {
			free(copy);
			return config_fail(p, "out of memory");
		}
		*slot = copy;
		break;
	}
	case KT_RATE:
		if (parse_rate(v, field) != 0)
			return key_fail(p, k, v);
		break;
	case KT_BURST:
		if (parse_uint(v, (unsigned long)k->min, (unsigned long)k->max, &n) != 0)
			return key_fail(p, k, v);
		((struct rate_spec *)field)->burst = (uint32_t)n;
		break;
	case KT_SIZE:
		if (parse_size(v, (unsigned long)k->min, (unsigned long)k->max, &n) != 0)
			return key_fail(p, k, v);
		*(uint32_t *)field = (uint32_t)n;
		break;
	case KT_CUSTOM:
		return k->parse(p, k, v);
	}
	return 1;
}

static int
parse_api_listen(struct config_parse *p, const struct config_key *k, const char *v)
{
	struct config_api *api = &p->cfg->api;

	api->listen_set = *v != '\0';
	if (*v == '\0')
		return 1;
	if (listen_addr_parse(v, &api->listen) != 0 || api->listen.kind != LISTEN_TCP)
		return key_fail(p, k, v);
	return 1;
}

static void
print_api_listen(const struct config *cfg, const struct config_key *k, FILE *out)
{
	char buf[128];

	if (cfg->api.listen_set)
		fprintf(out, "%s = %s\n", k->name, listen_addr_format(&cfg->api.listen, buf, sizeof(buf)));
}

static int
parse_remediation_key(struct config_parse *p, const struct config_key *k, const char *v)
{
	struct config_enforce *e = &p->cfg->enforce;
	struct remediation_conf r, *slot;

	if (parse_remediation(v, &r) != 0)
		return key_fail(p, k, v);
	if ((slot = grow_list((void **)&e->remediation, &e->remediation_count, sizeof(*slot))) == NULL)
		return config_fail(p, "out of memory");
	*slot = r;
	return 1;
}

static void
print_remediation(const struct config *cfg, const struct config_key *k, FILE *out)
{
	char buf[128];

	for (size_t i = 0; i < cfg->enforce.remediation_count; i++) {
		const struct remediation_conf *r = &cfg->enforce.remediation[i];
		fprintf(out, "%s = %s", k->name, r->name[0] ? r->name : cidr_format(&r->net, buf, sizeof(buf)));
		if (r->port != 0)
			fprintf(out, " %u%s", r->port, r->proto == IPPROTO_TCP ? "/tcp" : r->proto == IPPROTO_UDP ? "/udp" : "");
		fputc('\n', out);
	}
}

/* One address per family, both on the one port. */
static int
parse_enforce_portal(struct config_parse *p, const struct config_key *k, const char *v)
{
	struct config_enforce *e = &p->cfg->enforce;
	struct listen_addr la;
	struct addr a;

	if (listen_addr_parse(v, &la) != 0 || la.kind != LISTEN_TCP || la.port == 0 ||
	    addr_parse(la.host, strlen(la.host), &a) != 0)
		return key_fail(p, k, v);
	if (e->portal_port != 0 && e->portal_port != la.port)
		return config_fail(p, "portal: the IPv4 and IPv6 portal must listen on the same port");
	if (a.family == AF_INET)
		e->portal_v4 = a;
	else
		e->portal_v6 = a;
	e->portal_port = la.port;
	return 1;
}

static void
print_enforce_portal(const struct config *cfg, const struct config_key *k, FILE *out)
{
	char buf[128];

	if (cfg->enforce.portal_v4.family != 0)
		fprintf(out, "%s = %s:%u\n", k->name, addr_format(&cfg->enforce.portal_v4, buf, sizeof(buf)),
		    cfg->enforce.portal_port);
	if (cfg->enforce.portal_v6.family != 0)
		fprintf(out, "%s = [%s]:%u\n", k->name, addr_format(&cfg->enforce.portal_v6, buf, sizeof(buf)),
		    cfg->enforce.portal_port);
}

/* "PUBLIC PRIVATE PORTS [FIRST_PORT]" (common/nat.h); no two pools share an address, or
 * a public address and port would name two subscribers. */
static int
parse_nat_pool(struct config_parse *p, const struct config_key *k, const char *v)
{
	struct config_nat *n = &p->cfg->nat;
	struct nat_pool c, *slot;
	const char *why;
	char buf[NAT_POOL_TEXT_MAX];

	if (nat_pool_parse(v, &c, &why) != 0) {
		if (strncmp(why, "PUBLIC ", 7) == 0)
			return key_fail(p, k, v);
		return config_fail(p, "%s: expected %s, not \"%s\"", k->name, why, v);
	}
	for (size_t i = 0; i < n->pool_count; i++)
		if (nat_pools_overlap(&c, &n->pools[i]))
			return config_fail(p, "%s: \"%s\" shares addresses with the pool %s", k->name, v,
			    nat_pool_format(&n->pools[i], buf, sizeof(buf)));
	if ((slot = grow_list((void **)&n->pools, &n->pool_count, sizeof(*slot))) == NULL)
		return config_fail(p, "out of memory");
	*slot = c;
	return 1;
}

static void
print_nat_pool(const struct config *cfg, const struct config_key *k, FILE *out)
{
	char buf[NAT_POOL_TEXT_MAX];

	for (size_t i = 0; i < cfg->nat.pool_count; i++)
		fprintf(out, "%s = %s\n", k->name, nat_pool_format(&cfg->nat.pools[i], buf, sizeof(buf)));
}

/* "192.0.2.0/24 1000": the exporters inside the network, sampling 1 in 1000. */
static int
parse_flow_sampling(struct config_parse *p, const struct config_key *k, const char *v)
{
	struct config_flows *f = &p->cfg->flows;
	struct flow_sampling_conf c, *slot;
	char net[ADDR_TEXT_MAX];
	size_t nl = strcspn(v, " \t");
	const char *rate = v + nl;
	unsigned long n;

	while (*rate == ' ' || *rate == '\t')
		rate++;
	if (nl == 0 || nl >= sizeof(net))
		return key_fail(p, k, v);
	memcpy(net, v, nl);
	net[nl] = '\0';
	if (cidr_parse(net, &c.net) != 0 || parse_uint(rate, 1, 1000000000, &n) != 0)
		return key_fail(p, k, v);
	c.rate = (uint32_t)n;
	if ((slot = grow_list((void **)&f->sampling, &f->sampling_count, sizeof(*slot))) == NULL)
		return config_fail(p, "out of memory");
	*slot = c;
	return 1;
}

static void
print_flow_sampling(const struct config *cfg, const struct config_key *k, FILE *out)
{
	char buf[ADDR_TEXT_MAX];

	for (size_t i = 0; i < cfg->flows.sampling_count; i++)
		fprintf(out, "%s = %s %u\n", k->name, cidr_format(&cfg->flows.sampling[i].net, buf, sizeof(buf)),
		    cfg->flows.sampling[i].rate);
}

/* "NAME FORMAT PATH"; the format's names are sense/blocklist.h's (the file is read by
 * lazaretd, not here: a list that cannot be loaded is logged and the one before kept). */
static int
parse_flow_blocklist(struct config_parse *p, const struct config_key *k, const char *v)
{
	static const char *const formats[] = { "auto", "plain", "drop", "drop-json", "feodo-csv" };
	struct config_flows *f = &p->cfg->flows;
	struct flow_blocklist_conf c = { .line = p->line }, *slot;
	size_t nl = strcspn(v, " \t"), fl;
	const char *fmt = v + nl, *path;
	bool known = false;

	if (nl == 0 || nl >= sizeof(c.name) || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") < nl)
		return key_fail(p, k, v);
	memcpy(c.name, v, nl);
	fmt += strspn(fmt, " \t");
	fl = strcspn(fmt, " \t");
	path = fmt + fl;
	path += strspn(path, " \t");
	if (fl == 0 || fl >= sizeof(c.format) || *path == '\0' || set_text(c.path, sizeof(c.path), path) != 0)
		return key_fail(p, k, v);
	memcpy(c.format, fmt, fl);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		known |= strcmp(c.format, formats[i]) == 0;
	for (size_t i = 0; i < f->blocklist_count; i++)
		if (strcmp(f->blocklists[i].name, c.name) == 0)
			return config_fail(p, "%s: the list %s is named twice", k->name, c.name);
	if (!known)
		return key_fail(p, k, v);
	if ((slot = grow_list((void **)&f->blocklists, &f->blocklist_count, sizeof(*slot))) == NULL)
		return config_fail(p, "out of memory");
	*slot = c;
	return 1;
}

static void
print_flow_blocklist(const struct config *cfg, const struct config_key *k, FILE *out)
{
	for (size_t i = 0; i < cfg->flows.blocklist_count; i++)
		fprintf(out, "%s = %s %s %s\n", k->name, cfg->flows.blocklists[i].name, cfg->flows.blocklists[i].format,
		    cfg->flows.blocklists[i].path);
}

/* The shortest text strtod reads back as exactly d; a whole number as one ("20", not the
 * "2e+01" that %.1g gives). */
static const char *
fmt_double(double d, char *buf, size_t size)
{
	if (d == floor(d) && fabs(d) < 1e15) {
		snprintf(buf, size, "%.0f", d);
		return buf;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

/* Writes key k as the file would set it: a line per value, none when unset (KF_IF_SET). */
static void
key_print(const struct config *cfg, const struct config_key *k, FILE *out)
{
	const void *field = key_cfield(cfg, k->offset);
	size_t count = k->count_offset ? *(const size_t *)key_cfield(cfg, k->count_offset) : 0;
	char buf[128];

	switch (k->type) {
	case KT_BOOL:
		fprintf(out, "%s = %s\n", k->name, *(const bool *)field ? "yes" : "no");
		break;
	case KT_UINT:
		fprintf(out, "%s = %u\n", k->name, *(const uint32_t *)field);
		break;
	case KT_DOUBLE:
		fprintf(out, "%s = %s\n", k->name, fmt_double(*(const double *)field, buf, sizeof(buf)));
		break;
	case KT_DURATION:
		fprintf(out, "%s = %s\n", k->name, duration_format(*(const usec_t *)field, buf, sizeof(buf)));
		break;
	case KT_TEXT:
		if (!(k->flags & KF_IF_SET) || *(const char *)field != '\0')
			fprintf(out, "%s = %s\n", k->name, (const char *)field);
		break;
	case KT_ENUM:
		fprintf(out, "%s = %s\n", k->name, k->names[*(const int *)field]);
		break;
	case KT_LISTEN:
		fprintf(out, "%s = %s\n", k->name, listen_addr_format(field, buf, sizeof(buf)));
		break;
	case KT_LISTENS:
		for (size_t i = 0; i < count; i++)
			fprintf(out, "%s = %s\n", k->name,
			    listen_addr_format((const struct listen_addr *)field + i, buf, sizeof(buf)));
		break;
	case KT_CIDRS:
		if (count == 0 && (k->flags & KF_NONE))
			fprintf(out, "%s = none\n", k->name);
		for (size_t i = 0; i < count; i++)
			fprintf(out, "%s = %s\n", k->name, cidr_format((const struct cidr *)field + i, buf, sizeof(buf)));
		break;
	case KT_CIDR_LIST:
		for (size_t i = 0; i < count; i++)
			fprintf(out, "%s = %s\n", k->name,
			    cidr_format(*(struct cidr *const *)field + i, buf, sizeof(buf)));
		break;
	case KT_ADDR_LIST:
		for (size_t i = 0; i < count; i++)
			fprintf(out, "%s = %s\n", k->name,
			    addr_format(*(struct addr *const *)field + i, buf, sizeof(buf)));
		break;
	case KT_STR_LIST:
		for (size_t i = 0; i < count; i++)
			fprintf(out, "%s = %s\n", k->name, (*(char *const *const *)field)[i]);
		break;
	case KT_RATE: {
		const struct rate_spec *r = field;
		fprintf(out, "%s = %u/%s\n", k->name, r->count, duration_format(r->period, buf, sizeof(buf)));
		break;
	}
	case KT_BURST:
		fprintf(out, "%s = %u\n", k->name, ((const struct rate_spec *)field)->burst);
		break;
	case KT_SIZE:
		fprintf(out, "%s = %s\n", k->name, size_format(*(const uint32_t *)field, buf, sizeof(buf)));
		break;
	case KT_CUSTOM:
		k->print(cfg, k, out);
		break;
	}
}

/* The row for key name in section, or NULL. */
static const struct config_key *
key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
		if (!strcmp(config_keys[i].section, section) && !strcmp(config_keys[i].name, name))
			return &config_keys[i];
	return NULL;
}

static bool
section_known(const char *section)
{
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
		if (!strcmp(config_keys[i].section, section))
			return true;
	return false;
}

void
config_defaults(struct config *cfg)
{
	struct config_parse p = { .cfg = cfg, .defaults = true };
	char list[512];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->def == NULL)
			continue;
		if (!(k->flags & KF_REPEAT)) {
			key_set(&p, k, k->def);
			continue;
		}
		snprintf(list, sizeof(list), "%s", k->def);
		for (char *save = NULL, *v = strtok_r(list, " ", &save); v != NULL; v = strtok_r(NULL, " ", &save))
			key_set(&p, k, v);
	}
	/* not keys: normal is where every subject starts, suspend is the operators' alone */
	cfg->judge.threshold[LEVEL_NORMAL] = 0;
	cfg->judge.threshold[LEVEL_SUSPEND] = INFINITY;
}

/* [reports source NAME]: trust = FACTOR */
static int
handle_report_source(struct config_parse *p, const char *name, const char *key, const char *v)
{
	struct config_reports *r = &p->cfg->reports;
	struct report_source_section *src = NULL, *grown;
	char *end;
	double d;

	if (*name == '\0' || strlen(name) >= sizeof(src->name))
		return config_fail(p, "[reports source NAME]: expected a source name of up to 63 characters");
	for (const char *ch = name; *ch; ch++)
		if (!isalnum((unsigned char)*ch) && *ch != '_' && *ch != '-' && *ch != '.')
			return config_fail(p, "[reports source %s]: source names use a-z, A-Z, 0-9, _, - and .", name);
	if (name[0] == '.')
		return config_fail(p, "[reports source %s]: a source name does not start with '.'", name);
	for (size_t i = 0; i < r->source_count; i++)
		if (!strcmp(r->sources[i].name, name))
			src = &r->sources[i];
	if (src == NULL) {
		if (r->source_count == 1024)
			return config_fail(p, "[reports source %s]: too many sources (at most 1024)", name);
		if ((grown = reallocarray(r->sources, r->source_count + 1, sizeof(*grown))) == NULL)
			return config_fail(p, "out of memory");
		r->sources = grown;
		src = &grown[r->source_count++];
		memset(src, 0, sizeof(*src));
		snprintf(src->name, sizeof(src->name), "%s", name);
		src->trust = 1;
		src->line = p->section_line;
	}
	if (!strcmp(key, "trust")) {
		errno = 0;
		d = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno != 0 || !(d >= 0 && d <= 10))
			return config_fail(p, "[reports source %s] trust: expected a number from 0 to 10, not \"%s\"", name, v);
		src->trust = d;
	} else
		return config_fail(p, "unknown key \"%s\" in [reports source %s]", key, name);
	return 1;
}

const struct report_source_section *
config_report_source(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->reports.source_count; i++)
		if (!strcmp(cfg->reports.sources[i].name, name))
			return &cfg->reports.sources[i];
	return NULL;
}

static int
config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	const struct config_key *k;

	if (name == NULL)          /* a section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (*section == '\0')
		return config_fail(p, "\"%s\" is outside any [section]", name);
	if (!strncmp(section, "evidence ", 9))
		return handle_evidence(p, section + 9, name, value);
	if (!strncmp(section, "radius client ", 14))
		return handle_radius_client(p, section + 14, name, value);
	if (!strncmp(section, "radius nas ", 11))
		return handle_radius_nas(p, section + 11, name, value);
	if (!strncmp(section, "reports source ", 15))
		return handle_report_source(p, section + 15, name, value);
	if (!section_known(section))
		return config_fail(p, "unknown section [%s]", section);
	if ((k = key_find(section, name)) == NULL)
		return config_fail(p, "unknown key \"%s\" in [%s]", name, section);
	return key_set(p, k, value);
}

/* inih's line source: counts lines, strips leading blanks, flags lines inih would cut. */
static char *
config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	char *line = NULL;
	size_t cap = 0;
	errno = 0;
	ssize_t n = getline(&line, &cap, p->fp);

	if (n < 0) {
		if (ferror(p->fp))
			p->read_errno = errno ? errno : EIO;
		free(line);
		return NULL;
	}
	p->line++;
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	const char *problem = NULL;
	if (len != (size_t)n - (size_t)(s - line))
		problem = "NUL byte in the line";
	else if (len + 1 > (size_t)num)
		problem = "line longer than 198 characters";
	else if (*s == '[' && strcspn(s, "]") > 50)
		problem = "section name longer than 49 characters";
	if (problem != NULL) {
		if (p->problem_line == 0) {
			p->problem_line = p->line;
			p->problem = problem;
		}
		snprintf(str, (size_t)num, "#\n");   /* inih skips it; we report it */
	} else {
		memcpy(str, s, len + 1);
		if (*s == '[')
			p->section_line = p->line;
	}
	free(line);
	return str;
}

/*
 * The API's rules that span its keys: a TCP listener always asks for the token, and
 * off loopback for TLS too, since the token would otherwise cross the network in clear;
 * somewhere to listen at all; a socket group that exists. -1 after config_fail.
 */
static int
config_check_api(struct config_parse *p)
{
	struct config *cfg = p->cfg;

	p->line = cfg->api.listen_line;
	if (!cfg->api.listen_set && cfg->api.socket[0] == '\0') {
		config_fail(p, "[api] neither socket nor listen is set: lazaretctl could not reach lazaretd");
		return -1;
	}
	if (cfg->api.listen_set && cfg->api.token_file[0] == '\0') {
		config_fail(p, "[api] listen: a TCP listener needs token_file (the Unix socket does not)");
		return -1;
	}
	if (cfg->api.listen_set && !listen_addr_is_local(&cfg->api.listen) && cfg->api.tls_cert[0] == '\0') {
		config_fail(p, "[api] listen is not a loopback address, so tls_cert and tls_key are required: "
		    "the bearer token must not cross the network in clear");
		return -1;
	}
	p->line = cfg->api.tls_line;
	if ((cfg->api.tls_cert[0] == '\0') != (cfg->api.tls_key[0] == '\0')) {
		config_fail(p, "[api] tls_cert and tls_key go together");
		return -1;
	}
	if (cfg->api.tls_cert[0] != '\0' && !cfg->api.listen_set) {
		config_fail(p, "[api] tls_cert and tls_key are for listen, which is not set");
		return -1;
	}
	for (int i = 0; i < 2 && cfg->api.tls_cert[0] != '\0'; i++) {
		const char *f = i ? cfg->api.tls_key : cfg->api.tls_cert;
		if (access(f, R_OK) != 0) {
			config_fail(p, "[api] %s %s: %s", i ? "tls_key" : "tls_cert", f, strerror(errno));
			return -1;
		}
	}
	p->line = cfg->api.socket_group_line;
	if (cfg->api.socket_group[0] != '\0' && getgrnam(cfg->api.socket_group) == NULL) {
		config_fail(p, "[api] socket_group: no group \"%s\" on this system", cfg->api.socket_group);
		return -1;
	}
	return 0;
}

static int
config_check(struct config_parse *p)
{
	struct config *cfg = p->cfg;
	const struct rate_spec *specs[] = { &cfg->limits.host_messages, &cfg->limits.host_recipients,
	    &cfg->limits.account_messages, &cfg->limits.account_recipients };

	p->line = 0;
	for (int l = LEVEL_THROTTLE; l <= LEVEL_QUARANTINE; l++)
		if (cfg->judge.threshold[l] <= cfg->judge.threshold[l - 1]) {
			config_fail(p, "[judge] %s (%g) must be above %s (%g)", level_name(l),
			    cfg->judge.threshold[l], level_name(l - 1), cfg->judge.threshold[l - 1]);
			return -1;
		}
	for (size_t i = 0; i < 4; i++) {
		if (specs[i]->burst == 0) {
			config_fail(p, "[limits] a burst must be at least 1");
			return -1;
		}
		/* burst × period / count is how far a client may run ahead: keep it sane (and in range) */
		if ((double)specs[i]->burst * (double)specs[i]->period / specs[i]->count > 366.0 * 86400 * USEC_PER_SEC) {
			config_fail(p, "[limits] a burst of %u at %u per period takes longer than a year to drain",
			    specs[i]->burst, specs[i]->count);
			return -1;
		}
	}
	if (cfg->enforce.refresh_interval >= cfg->enforce.element_timeout) {
		config_fail(p, "[enforce] refresh_interval must be shorter than element_timeout, or quarantines lapse "
		    "between refreshes");
		return -1;
	}
	if ((cfg->enforce.mode & ENFORCE_MODE_NFTABLES) && (cfg->limits.host_prefix_v4 != 32 || cfg->limits.host_prefix_v6 != 64)) {
		p->line = cfg->enforce.mode_line;
		config_fail(p, "[enforce] mode = nftables quarantines IPv4 hosts (/32) and IPv6 /64s: "
		    "[limits] host_prefix_v4 must be 32 and host_prefix_v6 64");
		return -1;
	}
	if (config_check_api(p) != 0 || radius_read_secrets(p) != 0)
		return -1;
	if (cfg->api.token_file[0] != '\0') {
		FILE *fp;
		int fd;
		char why[PATH_MAX + 128];

		p->line = cfg->api.token_file_line;
		if ((fd = secret_file_open(cfg->api.token_file, "[api] token_file", S_IRWXG | S_IRWXO,
		    why, sizeof(why))) < 0) {
			config_fail(p, "%s", why);
			return -1;
		}
		if ((fp = fdopen(fd, "r")) == NULL) {
			close(fd);
			config_fail(p, "[api] token_file %s: %s", cfg->api.token_file, strerror(errno));
			return -1;
		}
		if (fgets(cfg->api.token, sizeof(cfg->api.token), fp) == NULL)
			cfg->api.token[0] = '\0';
		fclose(fp);
		cfg->api.token[strcspn(cfg->api.token, " \t\r\n")] = '\0';
		if (strlen(cfg->api.token) < 16) {
			config_fail(p, "[api] token_file %s: the token must be at least 16 characters",
			    cfg->api.token_file);
			return -1;
		}
	}
	return 0;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct config_parse p = { .cfg = cfg };
	int rc;

	config_defaults(cfg);
	if (strlen(path) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s:0: path too long", path);
		config_free(cfg);
		return -1;
	}
	strcpy(cfg->path, path);
	if ((p.fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		config_free(cfg);
		return -1;
	}
	rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.fp);
	if (p.read_errno != 0) {
		p.err[0] = '\0';
		p.line = 0;
		config_fail(&p, "%s", strerror(p.read_errno));
		goto fail;
	}
	/* The first problem wins: one of the reader's, a syntax error (inih's rc), or ours. */
	int first = p.err[0] ? p.err_line : 0;
	if (p.problem_line != 0 && (first == 0 || p.problem_line < first) && (rc <= 0 || p.problem_line <= rc)) {
		p.err[0] = '\0';
		p.line = p.problem_line;
		config_fail(&p, "%s", p.problem);
		goto fail;
	}
	if (rc > 0 && (first == 0 || rc < first)) {
		p.err[0] = '\0';
		p.line = rc;
		config_fail(&p, "%s", "expected [section], NAME = VALUE or a # comment");
		goto fail;
	}
	if (rc != 0 || p.err[0] != '\0') {
		if (p.err[0] == '\0')
			config_fail(&p, "%s", "cannot read the file");
		goto fail;
	}
	if (config_check(&p) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s", p.err);
	config_free(cfg);
	return -1;
}



static void
print_evidence(const struct config *cfg, FILE *out)
{
	char buf[128];

	for (size_t i = 0; i < cfg->evidence_count; i++) {
		const struct evidence_conf *e = &cfg->evidence[i];
		fprintf(out, "\n[evidence %s]\n", e->kind);
		if (e->weight >= 0)
			fprintf(out, "weight = %s\n", fmt_double(e->weight, buf, sizeof(buf)));
		if (e->half_life > 0)
			fprintf(out, "half_life = %s\n", duration_format(e->half_life, buf, sizeof(buf)));
	}
}

/* The [radius client NAME] sections, after [radius]. The secret stays in its file. */
static void
print_radius_clients(const struct config *cfg, const char *last, FILE *out)
{
	char text[ADDR_TEXT_MAX];

	if (last == NULL || strcmp(last, "radius") != 0)
		return;
	for (size_t i = 0; i < cfg->radius.client_count; i++) {
		const struct radius_client_section *c = &cfg->radius.clients[i];
		fprintf(out, "\n[radius client %s]\naddress = %s\nsecret_file = %s\n", c->name,
		    cidr_format(&c->net, text, sizeof(text)), c->secret_file);
	}
	for (size_t i = 0; i < cfg->radius.nas_count; i++) {
		const struct radius_nas_section *n = &cfg->radius.nases[i];
		fprintf(out, "\n[radius nas %s]\naddress = %s\nport = %u\n", n->name,
		    addr_format(&n->address, text, sizeof(text)), n->port);
		if (n->identifier[0] != '\0')
			fprintf(out, "identifier = %s\n", n->identifier);
		fprintf(out, "secret_file = %s\n", n->secret_file);
		if (n->identify[0] != '\0')
			fprintf(out, "identify = %s\n", n->identify);
		fprintf(out, "method = %s\nmessage_authenticator = %s\n", n->disconnect ? "disconnect" : "coa",
		    n->message_authenticator ? "yes" : "no");
		for (size_t k = 0; k < n->quarantine_count; k++)
			fprintf(out, "quarantine = %s\n", n->quarantine[k].text);
		for (size_t k = 0; k < n->release_count; k++)
			fprintf(out, "release = %s\n", n->release[k].text);
	}
}

/* The named sections that follow section last: [radius client], [radius nas], [reports source]. */
static void
print_subsections(const struct config *cfg, const char *last, FILE *out)
{
	char buf[64];

	print_radius_clients(cfg, last, out);
	if (last == NULL || strcmp(last, "reports") != 0)
		return;
	for (size_t i = 0; i < cfg->reports.source_count; i++)
		fprintf(out, "\n[reports source %s]\ntrust = %s\n", cfg->reports.sources[i].name,
		    fmt_double(cfg->reports.sources[i].trust, buf, sizeof(buf)));
}

void
config_print(const struct config *cfg, FILE *out)
{
	const char *section = NULL;

	fprintf(out, "# normalised from %s\n", cfg->path);
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->flags & (KF_REFUSED | KF_ALIAS))
			continue;
		if (section == NULL || strcmp(section, k->section) != 0) {
			if (section != NULL && !strcmp(section, "judge"))
				print_evidence(cfg, out);     /* the [evidence NAME] sections follow [judge] */
			print_subsections(cfg, section, out);
			fprintf(out, "%s[%s]\n", section == NULL ? "" : "\n", k->section);
			section = k->section;
		}
		key_print(cfg, k, out);
	}
	print_subsections(cfg, section, out);
}

struct config *
config_load_new(const char *path, char *err, size_t errlen)
{
	struct config *cfg = malloc(sizeof(*cfg));
	int *refs = malloc(sizeof(*refs));

	if (cfg == NULL || refs == NULL) {
		snprintf(err, errlen, "%s:0: out of memory", path);
		goto fail;
	}
	if (config_load(path, cfg, err, errlen) != 0)
		goto fail;
	*refs = 1;
	cfg->refs = refs;
	return cfg;
fail:
	free(refs);
	free(cfg);
	return NULL;
}

const struct config *
config_ref(const struct config *cfg)
{
	if (cfg != NULL && cfg->refs != NULL)
		(*cfg->refs)++;
	return cfg;
}

void
config_unref(const struct config *cfg)
{
	if (cfg == NULL || cfg->refs == NULL || --*cfg->refs > 0)
		return;
	/* the last reference: the memory was config_load_new's, not const to it */
	struct config *own = (struct config *)(uintptr_t)cfg;
	free(own->refs);
	config_free(own);
	free(own);
}

void
config_restart_changes(const struct config *old, const struct config *new, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < CONFIG_KEY_COUNT && off < size; i++) {
		const struct config_key *k = &config_keys[i];
		char *a = NULL, *b = NULL;
		size_t alen = 0, blen = 0;
		FILE *fa, *fb;

		if (k->flags & (KF_RELOAD | KF_REFUSED | KF_ALIAS))
			continue;
		if ((fa = open_memstream(&a, &alen)) != NULL) {
			key_print(old, k, fa);
			fclose(fa);
		}
		if ((fb = open_memstream(&b, &blen)) != NULL) {
			key_print(new, k, fb);
			fclose(fb);
		}
		if (a != NULL && b != NULL && (alen != blen || memcmp(a, b, alen) != 0))
			off += (size_t)snprintf(buf + off, size - off, "%s[%s] %s", off ? ", " : "", k->section, k->name);
		free(a);
		free(b);
	}
}

bool
config_key_at(size_t i, struct config_key_info *out)
{
	const struct config_key *k = NULL;

	for (size_t r = 0; r < CONFIG_KEY_COUNT && k == NULL; r++)      /* refused rows are no keys */
		if (!(config_keys[r].flags & (KF_REFUSED | KF_ALIAS)) && i-- == 0)
			k = &config_keys[r];
	if (k == NULL)
		return false;
	*out = (struct config_key_info){ .section = k->section, .name = k->name, .def = k->def, .doc = k->doc,
	    .repeatable = (k->flags & KF_REPEAT) != 0, .reloadable = (k->flags & KF_RELOAD) != 0 };
	return true;
}

bool
config_account_allowed(const struct config *cfg, const char *account)
{
	for (size_t i = 0; i < cfg->allowlist.account_count; i++)
		if (strcmp(cfg->allowlist.accounts[i], account) == 0)
			return true;
	return false;
}

bool
config_address_allowed(const struct config *cfg, const struct addr *a)
{
	return cidr_list_contains(cfg->allowlist.networks, cfg->allowlist.network_count, a);
}

bool
config_address_ignored(const struct config *cfg, const struct addr *a)
{
	return cidr_list_contains(cfg->judge.ignore, cfg->judge.ignore_count, a);
}

bool
config_policy_peer_allowed(const struct config *cfg, const struct addr *a)
{
	return cidr_list_contains(cfg->policy.allow, cfg->policy.allow_count, a);
}

const struct evidence_conf *
config_evidence(const struct config *cfg, const char *kind)
{
	for (size_t i = 0; i < cfg->evidence_count; i++)
		if (strcmp(cfg->evidence[i].kind, kind) == 0)
			return &cfg->evidence[i];
	return NULL;
}
