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


struct config_parse {
	struct config *cfg;
	FILE *fp;
	int line;
	int section_line;          /* where the current [section] started */
	int problem_line;          /* first line the reader refused, 0 if none */
	const char *problem;
	int err_line;              /* line of the first message in err, 0 if none */
	int read_errno;            /* a read error, 0 if none */
	bool policy_listen_seen;
	bool policy_allow_seen;
	bool judge_ignore_seen;
	char err[512];
};

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->daemon.store, sizeof(cfg->daemon.store), "var/lazaret.db");
	cfg->daemon.log_level = LOG_LEVEL_INFO;
	cfg->daemon.checkpoint_interval = 2 * USEC_PER_SEC;
	cfg->daemon.idle_expiry = 86400 * USEC_PER_SEC;

	listen_addr_parse("127.0.0.1:10045", &cfg->policy.listen[0]);
	cfg->policy.listen_count = 1;
	cfg->policy.count_at = COUNT_AT_DATA;
	cfg->policy.max_connections = 4096;
	cfg->policy.idle_timeout = 1000 * USEC_PER_SEC;   /* Postfix's smtpd_policy_service_max_ttl */
	cfg->policy.repeat_log_interval = 60 * USEC_PER_SEC;
	cidr_parse("127.0.0.0/8", &cfg->policy.allow[0]);
	cidr_parse("::1/128", &cfg->policy.allow[1]);
	cfg->policy.allow_count = 2;
	cfg->policy.request_timeout = 5 * USEC_PER_SEC;
	cfg->policy.max_connections_per_peer = 512;
	snprintf(cfg->policy.defer_text, sizeof(cfg->policy.defer_text),
	    "Too much mail from your connection in a short time; please try again later");
	snprintf(cfg->policy.reject_text, sizeof(cfg->policy.reject_text),
	    "Mail from your connection is blocked because your computer or account appears to be compromised; see");

	cfg->limits.host_prefix_v4 = 32;
	cfg->limits.host_prefix_v6 = 64;
	cfg->limits.host_messages = (struct rate_spec){ 60, 3600 * USEC_PER_SEC, 40 };
	cfg->limits.host_recipients = (struct rate_spec){ 300, 3600 * USEC_PER_SEC, 150 };
	cfg->limits.account_messages = (struct rate_spec){ 100, 3600 * USEC_PER_SEC, 50 };
	cfg->limits.account_recipients = (struct rate_spec){ 500, 3600 * USEC_PER_SEC, 200 };
	cfg->limits.throttle_factor = 0.1;

	cfg->judge.threshold[LEVEL_NORMAL] = 0;
	cfg->judge.threshold[LEVEL_WATCH] = 1;
	cfg->judge.threshold[LEVEL_THROTTLE] = 3;
	cfg->judge.threshold[LEVEL_QUARANTINE] = 6;
	cfg->judge.threshold[LEVEL_SUSPEND] = INFINITY;
	cfg->judge.release_ratio = 0.5;

	cfg->maillog.poll_interval = USEC_PER_SEC;
	cfg->maillog.queue_id_max_age = 6 * 86400 * USEC_PER_SEC;
	cfg->maillog.max_queue_ids = 1000000;
	cfg->maillog.bounce_window = 3600 * USEC_PER_SEC;
	cfg->maillog.bounce_min_recipients = 20;
	cfg->maillog.bounce_threshold = 0.3;
	cfg->maillog.bounce_confidence = 0.95;
	cfg->maillog.domains_window = 900 * USEC_PER_SEC;
	cfg->maillog.domains_min = 30;
	cfg->maillog.domains_factor = 5;
	cfg->maillog.account_window = 86400 * USEC_PER_SEC;
	cfg->maillog.account_networks = 10;
	cfg->maillog.account_addresses = 20;
	cfg->maillog.account_sessions = 3;
	cfg->maillog.account_prefix_v4 = 24;
	cfg->maillog.account_prefix_v6 = 64;

	listen_addr_parse("127.0.0.1:9345", &cfg->api.listen);
	snprintf(cfg->api.socket, sizeof(cfg->api.socket), "%s", CONFIG_API_SOCKET);
	snprintf(cfg->portal.url, sizeof(cfg->portal.url), "http://portal.example.net/");
	listen_addr_parse("127.0.0.1:8080", &cfg->portal.listen);
	snprintf(cfg->portal.templates, sizeof(cfg->portal.templates), "share/portal");
	snprintf(cfg->portal.support_contact, sizeof(cfg->portal.support_contact),
	    "the support number printed on your contract or invoice");
	snprintf(cfg->portal.abuse_contact, sizeof(cfg->portal.abuse_contact),
	    "our abuse desk, through the support number printed on your contract or invoice");
	cfg->portal.self_release_limit = 3;
	cfg->portal.self_release_window = 30 * 86400 * USEC_PER_SEC;
	cfg->portal.grace = 86400 * USEC_PER_SEC;
	cfg->portal.min_quarantine = 15 * 60 * USEC_PER_SEC;
	cfg->portal.token_ttl = 15 * 60 * USEC_PER_SEC;
	cfg->portal.max_connections = 1024;
	cfg->portal.max_connections_per_address = 8;
	cfg->portal.request_timeout = 10 * USEC_PER_SEC;

	cfg->judge.quarantine_cap = 100;
	cfg->judge.max_subjects = 2000000;
	/* local pickup, content filters, scripts: the relay itself, not a subscriber */
	cidr_parse("127.0.0.0/8", &cfg->judge.ignore[0]);
	cidr_parse("::1/128", &cfg->judge.ignore[1]);
	cfg->judge.ignore_count = 2;
	cfg->enforce.mode = ENFORCE_MODE_NONE;
	snprintf(cfg->enforce.table, sizeof(cfg->enforce.table), "lazaret");
	cfg->enforce.element_timeout = 3600 * USEC_PER_SEC;
	cfg->enforce.refresh_interval = 900 * USEC_PER_SEC;
	cfg->enforce.resolve_interval = 600 * USEC_PER_SEC;
}

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
	free(cfg->enforce.subscribers);
	free(cfg->enforce.relays);
	free(cfg->enforce.resolvers);
	free(cfg->enforce.remediation);
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

static struct rate_spec *
limit_by_name(struct config *cfg, const char *name, bool *is_burst)
{
	static const char *const names[] = { "host_messages", "host_recipients",
	    "account_messages", "account_recipients" };
	struct rate_spec *specs[] = { &cfg->limits.host_messages, &cfg->limits.host_recipients,
	    &cfg->limits.account_messages, &cfg->limits.account_recipients };

	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(names[i]);
		if (strncmp(name, names[i], n) != 0)
			continue;
		if (name[n] == '\0') {
			*is_burst = false;
			return specs[i];
		}
		if (strcmp(name + n, "_burst") == 0) {
			*is_burst = true;
			return specs[i];
		}
	}
	return NULL;
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
handle_daemon(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	int lvl;

	if (!strcmp(name, "store")) {
		if (*v == '\0' || set_text(cfg->daemon.store, sizeof(cfg->daemon.store), v) != 0)
			return config_fail(p, "store: expected a file path");
	} else if (!strcmp(name, "log_level")) {
		if ((lvl = log_level_parse(v)) < 0)
			return config_fail(p, "log_level: expected error, warn, info or debug, not \"%s\"", v);
		cfg->daemon.log_level = lvl;
	} else if (!strcmp(name, "syslog")) {
		if (parse_bool(v, &cfg->daemon.syslog) != 0)
			return config_fail(p, "syslog: expected yes or no, not \"%s\"", v);
	} else if (!strcmp(name, "checkpoint_interval")) {
		if (duration_parse(v, &cfg->daemon.checkpoint_interval) != 0 || cfg->daemon.checkpoint_interval < USEC_PER_SEC ||
		    cfg->daemon.checkpoint_interval > 300 * USEC_PER_SEC)
			return config_fail(p, "checkpoint_interval: expected a duration from 1s to 5m, not \"%s\"", v);
	} else if (!strcmp(name, "idle_expiry")) {
		if (duration_parse(v, &cfg->daemon.idle_expiry) != 0 || cfg->daemon.idle_expiry < 60 * USEC_PER_SEC)
			return config_fail(p, "idle_expiry: expected a duration of at least 1m, not \"%s\"", v);
	} else if (!strcmp(name, "user")) {
		/* a user name as useradd(8) accepts it; "" keeps the user lazaretd was started as */
		bool ok = strlen(v) < sizeof(cfg->daemon.user) && v[0] != '-';
		for (const char *c = v; ok && *c; c++)
			ok = isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.';
		if (!ok || set_text(cfg->daemon.user, sizeof(cfg->daemon.user), v) != 0)
			return config_fail(p, "user: expected a user name, not \"%s\"", v);
	} else if (!strcmp(name, "seccomp")) {
		if (!strcmp(v, "yes"))
			cfg->daemon.seccomp = SECCOMP_MODE_KILL;
		else if (!strcmp(v, "log"))
			cfg->daemon.seccomp = SECCOMP_MODE_LOG;
		else if (!strcmp(v, "no"))
			cfg->daemon.seccomp = SECCOMP_MODE_OFF;
		else
			return config_fail(p, "seccomp: expected yes, log or no, not \"%s\"", v);
	} else
		return config_fail(p, "unknown key \"%s\" in [daemon]", name);
	return 1;
}

static int
handle_policy(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	unsigned long n;

	if (!strcmp(name, "listen")) {
		if (!p->policy_listen_seen) {
			cfg->policy.listen_count = 0;
			p->policy_listen_seen = true;
		}
		if (cfg->policy.listen_count == CONFIG_MAX_LISTEN)
			return config_fail(p, "listen: at most %d policy listeners", CONFIG_MAX_LISTEN);
		if (listen_addr_parse(v, &cfg->policy.listen[cfg->policy.listen_count]) != 0)
			return config_fail(p, "listen: expected ADDRESS:PORT, [IPV6]:PORT or unix:/PATH, not \"%s\"", v);
		cfg->policy.listen_count++;
	} else if (!strcmp(name, "count_at")) {
		if (!strcmp(v, "data"))
			cfg->policy.count_at = COUNT_AT_DATA;
		else if (!strcmp(v, "rcpt"))
			cfg->policy.count_at = COUNT_AT_RCPT;
		else
			return config_fail(p, "count_at: expected data or rcpt, not \"%s\"", v);
	} else if (!strcmp(name, "max_connections")) {
		if (parse_uint(v, 1, 1000000, &n) != 0)
			return config_fail(p, "max_connections: expected a number from 1 to 1000000, not \"%s\"", v);
		cfg->policy.max_connections = (uint32_t)n;
		cfg->policy.max_connections_line = p->line;
	} else if (!strcmp(name, "idle_timeout")) {
		if (duration_parse(v, &cfg->policy.idle_timeout) != 0 || cfg->policy.idle_timeout < USEC_PER_SEC)
			return config_fail(p, "idle_timeout: expected a duration of at least 1s, not \"%s\"", v);
	} else if (!strcmp(name, "repeat_log_interval")) {
		if (duration_parse(v, &cfg->policy.repeat_log_interval) != 0 ||
		    cfg->policy.repeat_log_interval > 86400 * USEC_PER_SEC)
			return config_fail(p, "repeat_log_interval: expected a duration from 0 (log every refusal) to 1d, "
			    "not \"%s\"", v);
	} else if (!strcmp(name, "allow")) {
		/* the first allow replaces the loopback default */
		if (!p->policy_allow_seen) {
			cfg->policy.allow_count = 0;
			p->policy_allow_seen = true;
		}
		if (cfg->policy.allow_count == CONFIG_MAX_POLICY_ALLOW)
			return config_fail(p, "allow: at most %d networks", CONFIG_MAX_POLICY_ALLOW);
		if (cidr_parse(v, &cfg->policy.allow[cfg->policy.allow_count]) != 0)
			return config_fail(p, "allow: expected ADDRESS or ADDRESS/PREFIX, not \"%s\"", v);
		cfg->policy.allow_count++;
	} else if (!strcmp(name, "request_timeout")) {
		if (duration_parse(v, &cfg->policy.request_timeout) != 0 || cfg->policy.request_timeout < USEC_PER_SEC ||
		    cfg->policy.request_timeout > 600 * USEC_PER_SEC)
			return config_fail(p, "request_timeout: expected a duration from 1s to 10m, not \"%s\"", v);
	} else if (!strcmp(name, "max_connections_per_peer")) {
		if (parse_uint(v, 1, 1000000, &n) != 0)
			return config_fail(p, "max_connections_per_peer: expected a number from 1 to 1000000, not \"%s\"", v);
		cfg->policy.max_connections_per_peer = (uint32_t)n;
	} else if (!strcmp(name, "defer_text")) {
		if (*v == '\0' || set_text(cfg->policy.defer_text, sizeof(cfg->policy.defer_text), v) != 0)
			return config_fail(p, "defer_text: expected printable text of at most %d characters", CONFIG_TEXT_MAX - 1);
	} else if (!strcmp(name, "reject_text")) {
		if (*v == '\0' || set_text(cfg->policy.reject_text, sizeof(cfg->policy.reject_text), v) != 0)
			return config_fail(p, "reject_text: expected printable text of at most %d characters", CONFIG_TEXT_MAX - 1);
	} else
		return config_fail(p, "unknown key \"%s\" in [policy]", name);
	return 1;
}

static int
handle_limits(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	unsigned long n;
	bool is_burst;
	struct rate_spec *r;

	if (!strcmp(name, "host_prefix_v4")) {
		if (parse_uint(v, 8, 32, &n) != 0)
			return config_fail(p, "host_prefix_v4: expected a prefix length from 8 to 32, not \"%s\"", v);
		cfg->limits.host_prefix_v4 = (unsigned)n;
	} else if (!strcmp(name, "host_prefix_v6")) {
		if (parse_uint(v, 16, 128, &n) != 0)
			return config_fail(p, "host_prefix_v6: expected a prefix length from 16 to 128, not \"%s\"", v);
		cfg->limits.host_prefix_v6 = (unsigned)n;
	} else if (!strcmp(name, "throttle_factor")) {
		if (parse_double(v, 0.001, 1, &cfg->limits.throttle_factor) != 0)
			return config_fail(p, "throttle_factor: expected a number above 0 and at most 1, not \"%s\"", v);
	} else if ((r = limit_by_name(cfg, name, &is_burst)) != NULL) {
		if (is_burst) {
			if (parse_uint(v, 1, 1000000000, &n) != 0)
				return config_fail(p, "%s: expected a number of at least 1, not \"%s\"", name, v);
			r->burst = (uint32_t)n;
		} else if (parse_rate(v, r) != 0)
			return config_fail(p, "%s: expected COUNT/DURATION such as 60/1h, not \"%s\"", name, v);
	} else
		return config_fail(p, "unknown key \"%s\" in [limits]", name);
	return 1;
}

static int
handle_judge(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	int lvl;

	if (!strcmp(name, "release_ratio")) {
		if (parse_double(v, 0.01, 1, &cfg->judge.release_ratio) != 0)
			return config_fail(p, "release_ratio: expected a number above 0 and at most 1, not \"%s\"", v);
		return 1;
	}
	if (!strcmp(name, "quarantine_cap")) {
		unsigned long n;
		if (parse_uint(v, 0, 1000000, &n) != 0)
			return config_fail(p, "quarantine_cap: expected 0 (no cap) to 1000000 quarantines per hour, not \"%s\"", v);
		cfg->judge.quarantine_cap = (uint32_t)n;
		return 1;
	}
	if (!strcmp(name, "max_subjects")) {
		unsigned long n;
		if (parse_uint(v, 1000, 1000000000, &n) != 0)
			return config_fail(p, "max_subjects: expected a number from 1000 to 1000000000, not \"%s\"", v);
		cfg->judge.max_subjects = (uint32_t)n;
		return 1;
	}
	if (!strcmp(name, "ignore")) {
		/* the first ignore replaces the loopback default; "none" alone judges every address */
		if (!p->judge_ignore_seen) {
			cfg->judge.ignore_count = 0;
			p->judge_ignore_seen = true;
		}
		if (!strcmp(v, "none")) {
			if (cfg->judge.ignore_count > 0)
				return config_fail(p, "ignore: \"none\" cannot follow a network");
			return 1;
		}
		if (cfg->judge.ignore_count == CONFIG_MAX_JUDGE_IGNORE)
			return config_fail(p, "ignore: at most %d networks", CONFIG_MAX_JUDGE_IGNORE);
		if (cidr_parse(v, &cfg->judge.ignore[cfg->judge.ignore_count]) != 0)
			return config_fail(p, "ignore: expected ADDRESS, ADDRESS/PREFIX or none, not \"%s\"", v);
		cfg->judge.ignore_count++;
		return 1;
	}
	lvl = level_parse(name);
	if (lvl == LEVEL_WATCH || lvl == LEVEL_THROTTLE || lvl == LEVEL_QUARANTINE) {
		if (parse_double(v, 0.001, 1e9, &cfg->judge.threshold[lvl]) != 0)
			return config_fail(p, "%s: expected a positive score, not \"%s\"", name, v);
		return 1;
	}
	if (lvl == LEVEL_SUSPEND)
		return config_fail(p, "suspend is set by operators only and has no threshold");
	return config_fail(p, "unknown key \"%s\" in [judge]", name);
}

static int
handle_allowlist(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;

	if (!strcmp(name, "network")) {
		struct cidr net;
		if (cidr_parse(v, &net) != 0)
			return config_fail(p, "network: expected ADDRESS or ADDRESS/PREFIX, not \"%s\"", v);
		struct cidr *grown = realloc(cfg->allowlist.networks, (cfg->allowlist.network_count + 1) * sizeof(*grown));
		if (grown == NULL)
			return config_fail(p, "out of memory");
		cfg->allowlist.networks = grown;
		grown[cfg->allowlist.network_count++] = net;
	} else if (!strcmp(name, "account")) {
		if (*v == '\0' || strlen(v) > 255)
			return config_fail(p, "account: expected a SASL user name of 1 to 255 characters");
		char **grown = realloc(cfg->allowlist.accounts, (cfg->allowlist.account_count + 1) * sizeof(*grown));
		if (grown == NULL)
			return config_fail(p, "out of memory");
		cfg->allowlist.accounts = grown;
		if ((grown[cfg->allowlist.account_count] = strdup(v)) == NULL)
			return config_fail(p, "out of memory");
		cfg->allowlist.account_count++;
	} else
		return config_fail(p, "unknown key \"%s\" in [allowlist]", name);
	return 1;
}

static int
handle_api(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;

	if (!strcmp(name, "listen")) {
		cfg->api.listen_set = *v != '\0';
		cfg->api.listen_line = p->line;
		if (*v == '\0')
			return 1;
		if (listen_addr_parse(v, &cfg->api.listen) != 0 || cfg->api.listen.kind != LISTEN_TCP)
			return config_fail(p, "listen: expected ADDRESS:PORT or [IPV6]:PORT, not \"%s\"", v);
	} else if (!strcmp(name, "token_file")) {
		cfg->api.token_file_line = p->line;
		if (set_text(cfg->api.token_file, sizeof(cfg->api.token_file), v) != 0)
			return config_fail(p, "token_file: expected a file path");
	} else if (!strcmp(name, "socket")) {
		/* sun_path holds 108 bytes with the NUL; "" turns the socket off. */
		if (set_text(cfg->api.socket, sizeof(cfg->api.socket), v) != 0)
			return config_fail(p, "socket: expected a path of at most %zu bytes, or nothing",
			    sizeof(cfg->api.socket) - 1);
	} else if (!strcmp(name, "socket_group")) {
		cfg->api.socket_group_line = p->line;
		if (*v == '\0' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(v) || set_text(cfg->api.socket_group, sizeof(cfg->api.socket_group), v) != 0)
			return config_fail(p, "socket_group: expected a group name, not \"%s\"", v);
	} else if (!strcmp(name, "tls_cert") || !strcmp(name, "tls_key")) {
		char *dst = name[4] == 'c' ? cfg->api.tls_cert : cfg->api.tls_key;
		cfg->api.tls_line = p->line;
		if (*v == '\0' || set_text(dst, PATH_MAX, v) != 0)
			return config_fail(p, "%s: expected a PEM file path", name);
	} else
		return config_fail(p, "unknown key \"%s\" in [api]", name);
	return 1;
}

static int
handle_portal(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	unsigned long n;
	usec_t d, min = 0, max = 366 * 86400 * USEC_PER_SEC, *dur = NULL;

	if (!strcmp(name, "url")) {
		if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
		    strchr(v, ' ') != NULL || set_text(cfg->portal.url, sizeof(cfg->portal.url), v) != 0)
			return config_fail(p, "url: expected an http:// or https:// URL without spaces, not \"%s\"", v);
	} else if (!strcmp(name, "listen")) {
		if (listen_addr_parse(v, &cfg->portal.listen) != 0 || cfg->portal.listen.kind != LISTEN_TCP)
			return config_fail(p, "listen: expected ADDRESS:PORT or [IPV6]:PORT, not \"%s\"", v);
	} else if (!strcmp(name, "templates")) {
		if (*v == '\0' || set_text(cfg->portal.templates, sizeof(cfg->portal.templates), v) != 0)
			return config_fail(p, "templates: expected a directory");
	} else if (!strcmp(name, "support_contact")) {
		if (*v == '\0' || set_text(cfg->portal.support_contact, sizeof(cfg->portal.support_contact), v) != 0)
			return config_fail(p, "support_contact: expected one line of text");
	} else if (!strcmp(name, "abuse_contact")) {
		if (*v == '\0' || set_text(cfg->portal.abuse_contact, sizeof(cfg->portal.abuse_contact), v) != 0)
			return config_fail(p, "abuse_contact: expected one line of text");
	} else if (!strcmp(name, "self_release_limit")) {
		if (parse_uint(v, 0, 100, &n) != 0)
			return config_fail(p, "self_release_limit: expected 0 to 100, not \"%s\"", v);
		cfg->portal.self_release_limit = (uint32_t)n;
	} else if (!strcmp(name, "self_release_window")) {
		dur = &cfg->portal.self_release_window;
		min = 60 * USEC_PER_SEC;
	} else if (!strcmp(name, "grace")) {
		dur = &cfg->portal.grace;
	} else if (!strcmp(name, "min_quarantine")) {
		dur = &cfg->portal.min_quarantine;
		max = 30 * 86400 * USEC_PER_SEC;
	} else if (!strcmp(name, "token_ttl")) {
		dur = &cfg->portal.token_ttl;
		min = USEC_PER_SEC;
		max = 86400 * USEC_PER_SEC;
	} else if (!strcmp(name, "secret_file")) {
		if (set_text(cfg->portal.secret_file, sizeof(cfg->portal.secret_file), v) != 0)
			return config_fail(p, "secret_file: expected a file path");
	} else if (!strcmp(name, "max_connections")) {
		if (parse_uint(v, 1, 1000000, &n) != 0)
			return config_fail(p, "max_connections: expected a number from 1 to 1000000, not \"%s\"", v);
		cfg->portal.max_connections = (uint32_t)n;
		cfg->portal.max_connections_line = p->line;
	} else if (!strcmp(name, "max_connections_per_address")) {
		if (parse_uint(v, 1, 1000, &n) != 0)
			return config_fail(p, "max_connections_per_address: expected a number from 1 to 1000, not \"%s\"", v);
		cfg->portal.max_connections_per_address = (uint32_t)n;
	} else if (!strcmp(name, "request_timeout")) {
		dur = &cfg->portal.request_timeout;
		min = USEC_PER_SEC;
		max = 300 * USEC_PER_SEC;
	} else
		return config_fail(p, "unknown key \"%s\" in [portal]", name);
	if (dur != NULL) {
		char a[32], b[32];
		if (duration_parse(v, &d) != 0 || d < min || d > max)
			return config_fail(p, "%s: expected a duration from %s to %s, not \"%s\"", name,
			    duration_format(min, a, sizeof(a)), duration_format(max, b, sizeof(b)), v);
		*dur = d;
	}
	return 1;
}

static int
handle_maillog(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	unsigned long n;
	usec_t *dur = NULL;
	usec_t min = USEC_PER_SEC;

	if (!strcmp(name, "file")) {
		if (*v == '\0' || strlen(v) >= PATH_MAX)
			return config_fail(p, "file: expected the path of a Postfix log file");
		char **grown = realloc(cfg->maillog.files, (cfg->maillog.file_count + 1) * sizeof(*grown));
		if (grown == NULL)
			return config_fail(p, "out of memory");
		cfg->maillog.files = grown;
		if ((grown[cfg->maillog.file_count] = strdup(v)) == NULL)
			return config_fail(p, "out of memory");
		cfg->maillog.file_count++;
		return 1;
	}
	if (!strcmp(name, "poll_interval")) {
		dur = &cfg->maillog.poll_interval;
		min = USEC_PER_SEC / 10;
	} else if (!strcmp(name, "queue_id_max_age"))
		dur = &cfg->maillog.queue_id_max_age, min = 60 * USEC_PER_SEC;
	else if (!strcmp(name, "bounce_window"))
		dur = &cfg->maillog.bounce_window, min = 60 * USEC_PER_SEC;
	else if (!strcmp(name, "domains_window"))
		dur = &cfg->maillog.domains_window, min = 60 * USEC_PER_SEC;
	else if (!strcmp(name, "account_window"))
		dur = &cfg->maillog.account_window, min = 60 * USEC_PER_SEC;
	if (dur != NULL) {
		if (duration_parse(v, dur) != 0 || *dur < min) {
			char m[32];
			return config_fail(p, "%s: expected a duration of at least %s, not \"%s\"", name,
			    duration_format(min, m, sizeof(m)), v);
		}
		return 1;
	}
	if (!strcmp(name, "max_queue_ids")) {
		if (parse_uint(v, 1000, 100000000, &n) != 0)
			return config_fail(p, "max_queue_ids: expected a number from 1000 to 100000000, not \"%s\"", v);
		cfg->maillog.max_queue_ids = (uint32_t)n;
	} else if (!strcmp(name, "bounce_min_recipients")) {
		if (parse_uint(v, 1, 1000000, &n) != 0)
			return config_fail(p, "bounce_min_recipients: expected a number of at least 1, not \"%s\"", v);
		cfg->maillog.bounce_min_recipients = (uint32_t)n;
	} else if (!strcmp(name, "bounce_threshold")) {
		if (parse_double(v, 0.01, 0.99, &cfg->maillog.bounce_threshold) != 0)
			return config_fail(p, "bounce_threshold: expected a ratio from 0.01 to 0.99, not \"%s\"", v);
	} else if (!strcmp(name, "bounce_confidence")) {
		if (parse_double(v, 0.5, 0.999, &cfg->maillog.bounce_confidence) != 0)
			return config_fail(p, "bounce_confidence: expected a probability from 0.5 to 0.999, not \"%s\"", v);
	} else if (!strcmp(name, "domains_min")) {
		if (parse_uint(v, 2, 100000, &n) != 0)
			return config_fail(p, "domains_min: expected a number from 2 to 100000, not \"%s\"", v);
		cfg->maillog.domains_min = (uint32_t)n;
	} else if (!strcmp(name, "domains_factor")) {
		if (parse_double(v, 1, 1000, &cfg->maillog.domains_factor) != 0)
			return config_fail(p, "domains_factor: expected a number from 1 to 1000, not \"%s\"", v);
	} else if (!strcmp(name, "account_networks")) {
		if (parse_uint(v, 2, 1000, &n) != 0)
			return config_fail(p, "account_networks: expected a number from 2 to 1000, not \"%s\"", v);
		cfg->maillog.account_networks = (uint32_t)n;
	} else if (!strcmp(name, "account_addresses")) {
		/* below the per-account memory of 256 addresses, so that more can be seen */
		if (parse_uint(v, 2, 200, &n) != 0)
			return config_fail(p, "account_addresses: expected a number from 2 to 200, not \"%s\"", v);
		cfg->maillog.account_addresses = (uint32_t)n;
	} else if (!strcmp(name, "account_sessions")) {
		/* up to the 64 open sessions remembered per account */
		if (parse_uint(v, 2, 64, &n) != 0)
			return config_fail(p, "account_sessions: expected a number from 2 to 64, not \"%s\"", v);
		cfg->maillog.account_sessions = (uint32_t)n;
	} else if (!strcmp(name, "account_prefix_v4")) {
		if (parse_uint(v, 8, 32, &n) != 0)
			return config_fail(p, "account_prefix_v4: expected a prefix length from 8 to 32, not \"%s\"", v);
		cfg->maillog.account_prefix_v4 = (unsigned)n;
	} else if (!strcmp(name, "account_prefix_v6")) {
		if (parse_uint(v, 16, 128, &n) != 0)
			return config_fail(p, "account_prefix_v6: expected a prefix length from 16 to 128, not \"%s\"", v);
		cfg->maillog.account_prefix_v6 = (unsigned)n;
	} else if (!strcmp(name, "ignore_text")) {
		if (set_text(cfg->maillog.ignore_text, sizeof(cfg->maillog.ignore_text), v) != 0)
			return config_fail(p, "ignore_text: expected printable text");
	} else
		return config_fail(p, "unknown key \"%s\" in [maillog]", name);
	return 1;
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

static int
handle_enforce(struct config_parse *p, const char *name, const char *v)
{
	struct config *cfg = p->cfg;
	usec_t *dur = NULL, d;

	if (!strcmp(name, "mode")) {
		if (!strcmp(v, "none"))
			cfg->enforce.mode = ENFORCE_MODE_NONE;
		else if (!strcmp(v, "nftables"))
			cfg->enforce.mode = ENFORCE_MODE_NFTABLES;
		else
			return config_fail(p, "mode: expected none or nftables, not \"%s\"", v);
		cfg->enforce.mode_line = p->line;
	} else if (!strcmp(name, "table")) {
		size_t n = strlen(v);
		if (n == 0 || n >= sizeof(cfg->enforce.table) || !isalpha((unsigned char)v[0]) ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
			return config_fail(p, "table: expected a name of letters, digits and _ (up to 31), not \"%s\"", v);
		strcpy(cfg->enforce.table, v);
	} else if (!strcmp(name, "subscribers")) {
		struct cidr net, *slot;
		if (cidr_parse(v, &net) != 0)
			return config_fail(p, "subscribers: expected ADDRESS/PREFIX, not \"%s\"", v);
		if (cfg->enforce.subscriber_count >= 256)
			return config_fail(p, "subscribers: at most 256 ranges");
		if ((slot = grow_list((void **)&cfg->enforce.subscribers, &cfg->enforce.subscriber_count,
		    sizeof(*slot))) == NULL)
			return config_fail(p, "out of memory");
		*slot = net;
	} else if (!strcmp(name, "relay") || !strcmp(name, "resolver")) {
		bool relay = !strcmp(name, "relay");
		struct addr a, *slot;
		if (addr_parse(v, strlen(v), &a) != 0)
			return config_fail(p, "%s: expected an IPv4 or IPv6 address, not \"%s\"", name, v);
		if ((relay ? cfg->enforce.relay_count : cfg->enforce.resolver_count) >= 256)
			return config_fail(p, "%s: at most 256 addresses", name);
		slot = relay ? grow_list((void **)&cfg->enforce.relays, &cfg->enforce.relay_count, sizeof(*slot)) :
		    grow_list((void **)&cfg->enforce.resolvers, &cfg->enforce.resolver_count, sizeof(*slot));
		if (slot == NULL)
			return config_fail(p, "out of memory");
		*slot = a;
	} else if (!strcmp(name, "remediation")) {
		struct remediation_conf r, *slot;
		if (parse_remediation(v, &r) != 0)
			return config_fail(p, "remediation: expected NAME, ADDRESS or ADDRESS/PREFIX, then optionally "
			    "PORT or PORT/tcp or PORT/udp, not \"%s\"", v);
		if (cfg->enforce.remediation_count >= 256)
			return config_fail(p, "remediation: at most 256 destinations");
		if ((slot = grow_list((void **)&cfg->enforce.remediation, &cfg->enforce.remediation_count,
		    sizeof(*slot))) == NULL)
			return config_fail(p, "out of memory");
		*slot = r;
	} else if (!strcmp(name, "portal")) {
		struct listen_addr la;
		struct addr a;
		if (listen_addr_parse(v, &la) != 0 || la.kind != LISTEN_TCP || la.port == 0 ||
		    addr_parse(la.host, strlen(la.host), &a) != 0)
			return config_fail(p, "portal: expected ADDRESS:PORT or [IPV6]:PORT, not \"%s\"", v);
		if (cfg->enforce.portal_port != 0 && cfg->enforce.portal_port != la.port)
			return config_fail(p, "portal: the IPv4 and IPv6 portal must listen on the same port");
		if (a.family == AF_INET)
			cfg->enforce.portal_v4 = a;
		else
			cfg->enforce.portal_v6 = a;
		cfg->enforce.portal_port = la.port;
	} else if (!strcmp(name, "element_timeout")) {
		dur = &cfg->enforce.element_timeout;
	} else if (!strcmp(name, "refresh_interval")) {
		dur = &cfg->enforce.refresh_interval;
	} else if (!strcmp(name, "resolve_interval")) {
		dur = &cfg->enforce.resolve_interval;
	} else
		return config_fail(p, "unknown key \"%s\" in [enforce]", name);
	if (dur != NULL) {
		if (duration_parse(v, &d) != 0 || d < 10 * USEC_PER_SEC || d > 30 * 86400 * USEC_PER_SEC)
			return config_fail(p, "%s: expected a duration from 10s to 30d, not \"%s\"", name, v);
		*dur = d;
	}
	return 1;
}

static int
config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;

	if (name == NULL)          /* a section header alone (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (*section == '\0')
		return config_fail(p, "\"%s\" is outside any [section]", name);
	if (!strcmp(section, "daemon"))
		return handle_daemon(p, name, value);
	if (!strcmp(section, "policy"))
		return handle_policy(p, name, value);
	if (!strcmp(section, "limits"))
		return handle_limits(p, name, value);
	if (!strcmp(section, "judge"))
		return handle_judge(p, name, value);
	if (!strcmp(section, "allowlist"))
		return handle_allowlist(p, name, value);
	if (!strcmp(section, "api"))
		return handle_api(p, name, value);
	if (!strcmp(section, "portal"))
		return handle_portal(p, name, value);
	if (!strcmp(section, "maillog"))
		return handle_maillog(p, name, value);
	if (!strcmp(section, "enforce"))
		return handle_enforce(p, name, value);
	if (!strncmp(section, "evidence ", 9))
		return handle_evidence(p, section + 9, name, value);
	return config_fail(p, "unknown section [%s]", section);
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
	if (cfg->enforce.mode == ENFORCE_MODE_NFTABLES && (cfg->limits.host_prefix_v4 != 32 || cfg->limits.host_prefix_v6 != 64)) {
		p->line = cfg->enforce.mode_line;
		config_fail(p, "[enforce] mode = nftables quarantines IPv4 hosts (/32) and IPv6 /64s: "
		    "[limits] host_prefix_v4 must be 32 and host_prefix_v6 64");
		return -1;
	}
	if (config_check_api(p) != 0)
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

/* The shortest text strtod reads back as exactly d. */
static const char *
fmt_double(double d, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

static void
print_rate(FILE *out, const char *name, const struct rate_spec *r)
{
	char d[32];
	fprintf(out, "%s = %u/%s\n%s_burst = %u\n", name, r->count,
	    duration_format(r->period, d, sizeof(d)), name, r->burst);
}

void
config_print(const struct config *cfg, FILE *out)
{
	char buf[128];

	fprintf(out, "# normalised from %s\n[daemon]\n", cfg->path);
	fprintf(out, "store = %s\n", cfg->daemon.store);
	fprintf(out, "log_level = %s\n", log_level_name(cfg->daemon.log_level));
	fprintf(out, "syslog = %s\n", cfg->daemon.syslog ? "yes" : "no");
	fprintf(out, "checkpoint_interval = %s\n", duration_format(cfg->daemon.checkpoint_interval, buf, sizeof(buf)));
	fprintf(out, "idle_expiry = %s\n", duration_format(cfg->daemon.idle_expiry, buf, sizeof(buf)));
	fprintf(out, "user = %s\n", cfg->daemon.user);
	fprintf(out, "seccomp = %s\n", cfg->daemon.seccomp == SECCOMP_MODE_KILL ? "yes" :
	    cfg->daemon.seccomp == SECCOMP_MODE_LOG ? "log" : "no");

	fprintf(out, "\n[policy]\n");
	for (size_t i = 0; i < cfg->policy.listen_count; i++)
		fprintf(out, "listen = %s\n", listen_addr_format(&cfg->policy.listen[i], buf, sizeof(buf)));
	fprintf(out, "count_at = %s\n", cfg->policy.count_at == COUNT_AT_DATA ? "data" : "rcpt");
	fprintf(out, "max_connections = %u\n", cfg->policy.max_connections);
	fprintf(out, "idle_timeout = %s\n", duration_format(cfg->policy.idle_timeout, buf, sizeof(buf)));
	fprintf(out, "repeat_log_interval = %s\n", duration_format(cfg->policy.repeat_log_interval, buf, sizeof(buf)));
	for (size_t i = 0; i < cfg->policy.allow_count; i++)
		fprintf(out, "allow = %s\n", cidr_format(&cfg->policy.allow[i], buf, sizeof(buf)));
	fprintf(out, "request_timeout = %s\n", duration_format(cfg->policy.request_timeout, buf, sizeof(buf)));
	fprintf(out, "max_connections_per_peer = %u\n", cfg->policy.max_connections_per_peer);
	fprintf(out, "defer_text = %s\n", cfg->policy.defer_text);
	fprintf(out, "reject_text = %s\n", cfg->policy.reject_text);

	fprintf(out, "\n[limits]\n");
	fprintf(out, "host_prefix_v4 = %u\nhost_prefix_v6 = %u\n", cfg->limits.host_prefix_v4, cfg->limits.host_prefix_v6);
	print_rate(out, "host_messages", &cfg->limits.host_messages);
	print_rate(out, "host_recipients", &cfg->limits.host_recipients);
	print_rate(out, "account_messages", &cfg->limits.account_messages);
	print_rate(out, "account_recipients", &cfg->limits.account_recipients);
	fprintf(out, "throttle_factor = %s\n", fmt_double(cfg->limits.throttle_factor, buf, sizeof(buf)));

	fprintf(out, "\n[judge]\n");
	for (int l = LEVEL_WATCH; l <= LEVEL_QUARANTINE; l++)
		fprintf(out, "%s = %s\n", level_name(l), fmt_double(cfg->judge.threshold[l], buf, sizeof(buf)));
	fprintf(out, "release_ratio = %s\n", fmt_double(cfg->judge.release_ratio, buf, sizeof(buf)));
	fprintf(out, "quarantine_cap = %u\n", cfg->judge.quarantine_cap);
	fprintf(out, "max_subjects = %u\n", cfg->judge.max_subjects);
	if (cfg->judge.ignore_count == 0)
		fprintf(out, "ignore = none\n");
	for (size_t i = 0; i < cfg->judge.ignore_count; i++)
		fprintf(out, "ignore = %s\n", cidr_format(&cfg->judge.ignore[i], buf, sizeof(buf)));

	for (size_t i = 0; i < cfg->evidence_count; i++) {
		const struct evidence_conf *e = &cfg->evidence[i];
		fprintf(out, "\n[evidence %s]\n", e->kind);
		if (e->weight >= 0)
			fprintf(out, "weight = %s\n", fmt_double(e->weight, buf, sizeof(buf)));
		if (e->half_life > 0)
			fprintf(out, "half_life = %s\n", duration_format(e->half_life, buf, sizeof(buf)));
	}

	fprintf(out, "\n[allowlist]\n");
	for (size_t i = 0; i < cfg->allowlist.network_count; i++)
		fprintf(out, "network = %s\n", cidr_format(&cfg->allowlist.networks[i], buf, sizeof(buf)));
	for (size_t i = 0; i < cfg->allowlist.account_count; i++)
		fprintf(out, "account = %s\n", cfg->allowlist.accounts[i]);

	fprintf(out, "\n[api]\n");
	fprintf(out, "socket = %s\n", cfg->api.socket);
	if (cfg->api.socket_group[0])
		fprintf(out, "socket_group = %s\n", cfg->api.socket_group);
	if (cfg->api.listen_set)
		fprintf(out, "listen = %s\n", listen_addr_format(&cfg->api.listen, buf, sizeof(buf)));
	if (cfg->api.token_file[0])
		fprintf(out, "token_file = %s\n", cfg->api.token_file);
	if (cfg->api.tls_cert[0])
		fprintf(out, "tls_cert = %s\ntls_key = %s\n", cfg->api.tls_cert, cfg->api.tls_key);

	fprintf(out, "\n[maillog]\n");
	for (size_t i = 0; i < cfg->maillog.file_count; i++)
		fprintf(out, "file = %s\n", cfg->maillog.files[i]);
	fprintf(out, "poll_interval = %s\n", duration_format(cfg->maillog.poll_interval, buf, sizeof(buf)));
	fprintf(out, "queue_id_max_age = %s\n", duration_format(cfg->maillog.queue_id_max_age, buf, sizeof(buf)));
	fprintf(out, "max_queue_ids = %u\n", cfg->maillog.max_queue_ids);
	fprintf(out, "bounce_window = %s\n", duration_format(cfg->maillog.bounce_window, buf, sizeof(buf)));
	fprintf(out, "bounce_min_recipients = %u\n", cfg->maillog.bounce_min_recipients);
	fprintf(out, "bounce_threshold = %s\n", fmt_double(cfg->maillog.bounce_threshold, buf, sizeof(buf)));
	fprintf(out, "bounce_confidence = %s\n", fmt_double(cfg->maillog.bounce_confidence, buf, sizeof(buf)));
	fprintf(out, "domains_window = %s\n", duration_format(cfg->maillog.domains_window, buf, sizeof(buf)));
	fprintf(out, "domains_min = %u\n", cfg->maillog.domains_min);
	fprintf(out, "domains_factor = %s\n", fmt_double(cfg->maillog.domains_factor, buf, sizeof(buf)));
	fprintf(out, "account_window = %s\n", duration_format(cfg->maillog.account_window, buf, sizeof(buf)));
	fprintf(out, "account_networks = %u\n", cfg->maillog.account_networks);
	fprintf(out, "account_addresses = %u\n", cfg->maillog.account_addresses);
	fprintf(out, "account_sessions = %u\n", cfg->maillog.account_sessions);
	fprintf(out, "account_prefix_v4 = %u\n", cfg->maillog.account_prefix_v4);
	fprintf(out, "account_prefix_v6 = %u\n", cfg->maillog.account_prefix_v6);
	if (cfg->maillog.ignore_text[0])
		fprintf(out, "ignore_text = %s\n", cfg->maillog.ignore_text);

	fprintf(out, "\n[portal]\nurl = %s\n", cfg->portal.url);
	fprintf(out, "listen = %s\n", listen_addr_format(&cfg->portal.listen, buf, sizeof(buf)));
	fprintf(out, "templates = %s\n", cfg->portal.templates);
	fprintf(out, "support_contact = %s\n", cfg->portal.support_contact);
	fprintf(out, "abuse_contact = %s\n", cfg->portal.abuse_contact);
	fprintf(out, "self_release_limit = %u\n", cfg->portal.self_release_limit);
	fprintf(out, "self_release_window = %s\n", duration_format(cfg->portal.self_release_window, buf, sizeof(buf)));
	fprintf(out, "grace = %s\n", duration_format(cfg->portal.grace, buf, sizeof(buf)));
	fprintf(out, "min_quarantine = %s\n", duration_format(cfg->portal.min_quarantine, buf, sizeof(buf)));
	fprintf(out, "token_ttl = %s\n", duration_format(cfg->portal.token_ttl, buf, sizeof(buf)));
	if (cfg->portal.secret_file[0])
		fprintf(out, "secret_file = %s\n", cfg->portal.secret_file);
	fprintf(out, "max_connections = %u\n", cfg->portal.max_connections);
	fprintf(out, "max_connections_per_address = %u\n", cfg->portal.max_connections_per_address);
	fprintf(out, "request_timeout = %s\n", duration_format(cfg->portal.request_timeout, buf, sizeof(buf)));

	fprintf(out, "\n[enforce]\nmode = %s\n", cfg->enforce.mode == ENFORCE_MODE_NFTABLES ? "nftables" : "none");
	fprintf(out, "table = %s\n", cfg->enforce.table);
	for (size_t i = 0; i < cfg->enforce.subscriber_count; i++)
		fprintf(out, "subscribers = %s\n", cidr_format(&cfg->enforce.subscribers[i], buf, sizeof(buf)));
	for (size_t i = 0; i < cfg->enforce.relay_count; i++)
		fprintf(out, "relay = %s\n", addr_format(&cfg->enforce.relays[i], buf, sizeof(buf)));
	for (size_t i = 0; i < cfg->enforce.resolver_count; i++)
		fprintf(out, "resolver = %s\n", addr_format(&cfg->enforce.resolvers[i], buf, sizeof(buf)));
	for (size_t i = 0; i < cfg->enforce.remediation_count; i++) {
		const struct remediation_conf *r = &cfg->enforce.remediation[i];
		fprintf(out, "remediation = %s", r->name[0] ? r->name : cidr_format(&r->net, buf, sizeof(buf)));
		if (r->port != 0)
			fprintf(out, " %u%s", r->port, r->proto == IPPROTO_TCP ? "/tcp" : r->proto == IPPROTO_UDP ? "/udp" : "");
		fputc('\n', out);
	}
	if (cfg->enforce.portal_v4.family != 0)
		fprintf(out, "portal = %s:%u\n", addr_format(&cfg->enforce.portal_v4, buf, sizeof(buf)),
		    cfg->enforce.portal_port);
	if (cfg->enforce.portal_v6.family != 0)
		fprintf(out, "portal = [%s]:%u\n", addr_format(&cfg->enforce.portal_v6, buf, sizeof(buf)),
		    cfg->enforce.portal_port);
	fprintf(out, "element_timeout = %s\n", duration_format(cfg->enforce.element_timeout, buf, sizeof(buf)));
	fprintf(out, "refresh_interval = %s\n", duration_format(cfg->enforce.refresh_interval, buf, sizeof(buf)));
	fprintf(out, "resolve_interval = %s\n", duration_format(cfg->enforce.resolve_interval, buf, sizeof(buf)));
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
