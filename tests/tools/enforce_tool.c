/*
 * enforce_tool.c — drives the enforcement backends from the command line, for the
 * nftables integration test and the quarantine benchmark.
 *
 *   enforce_tool [-c CONFIG] [-b nft|none] [-m] COMMAND [ENTRY...]
 *
 * Commands (all but ruleset and script run against the kernel with the nft backend):
 *   setup           create (replace) the table from CONFIG
 *   apply ENTRY...  one batch: CIDR[,TIMEOUT] adds or refreshes, -CIDR removes
 *   reconcile ENTRY...  one batch: the quarantine sets hold exactly these
 *   list            the quarantined prefixes, one a line
 *   count           how many there are
 *   ruleset         print the setup script (no kernel)
 *   script ENTRY... print the apply script (no kernel)
 * Without ENTRY arguments, apply, reconcile and script read entries from stdin, one
 * a line. TIMEOUT is a duration ("2", "2s", "1h"); without it, CONFIG's timeout.
 * -m prints "op=apply add=N del=M seconds=S" after the command (time of the backend
 * call alone). Apply and reconcile use the table that setup created, named in CONFIG.
 *
 * CONFIG, one setting a line, '#' starts a comment:
 *   table lazaret | subscriber CIDR | relay ADDR | resolver ADDR
 *   remediation CIDR [tcp|udp|any] [PORT] | portal ADDR | portal_port N | timeout DURATION
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "act/enforce.h"
#include "common/log.h"

struct entries {
	struct enforce_entry *add;
	size_t nadd, capadd;
	struct cidr *del;
	size_t ndel, capdel;
};

static void
usage(void)
{
	fprintf(stderr, "usage: enforce_tool [-c CONFIG] [-b nft|none] [-m] "
	        "setup|apply|reconcile|list|count|ruleset|script [CIDR[,TIMEOUT] | -CIDR]...\n");
	exit(2);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
config_line(struct enforce_config *cfg, char *line)
{
	char *key = strtok(line, " \t"), *v = strtok(NULL, " \t"), *v2 = strtok(NULL, " \t"),
	     *v3 = strtok(NULL, " \t");
	struct addr a;

	if (key == NULL)
		return 0;
	if (v == NULL)
		return -1;
	if (strcmp(key, "table") == 0) {
		if (strlen(v) >= sizeof(cfg->table))
			return -1;
		snprintf(cfg->table, sizeof(cfg->table), "%s", v);
	} else if (strcmp(key, "subscriber") == 0 && cfg->subscriber_count < ENFORCE_MAX_LIST) {
		return cidr_parse(v, &cfg->subscribers[cfg->subscriber_count++]);
	} else if (strcmp(key, "relay") == 0 && cfg->relay_count < ENFORCE_MAX_LIST) {
		return addr_parse(v, strlen(v), &cfg->relays[cfg->relay_count++]);
	} else if (strcmp(key, "resolver") == 0 && cfg->resolver_count < ENFORCE_MAX_LIST) {
		return addr_parse(v, strlen(v), &cfg->resolvers[cfg->resolver_count++]);
	} else if (strcmp(key, "remediation") == 0 && cfg->remediation_count < ENFORCE_MAX_LIST) {
		struct enforce_dest *d = &cfg->remediation[cfg->remediation_count++];
		if (cidr_parse(v, &d->net) != 0)
			return -1;
		if (v2 == NULL || strcmp(v2, "any") == 0)
			d->proto = 0;
		else if (strcmp(v2, "tcp") == 0)
			d->proto = IPPROTO_TCP;
		else if (strcmp(v2, "udp") == 0)
			d->proto = IPPROTO_UDP;
		else
			return -1;
		if (v3 != NULL) {
			char *end;
			unsigned long p = strtoul(v3, &end, 10);
			if (*end != '\0' || p > 65535)
				return -1;
			d->port = (uint16_t)p;
		}
	} else if (strcmp(key, "portal") == 0) {
		if (addr_parse(v, strlen(v), &a) != 0)
			return -1;
		if (a.family == AF_INET)
			cfg->portal_v4 = a;
		else
			cfg->portal_v6 = a;
	} else if (strcmp(key, "portal_port") == 0) {
		char *end;
		unsigned long p = strtoul(v, &end, 10);
		if (*end != '\0' || p == 0 || p > 65535)
			return -1;
		cfg->portal_port = (uint16_t)p;
	} else if (strcmp(key, "timeout") == 0) {
		return duration_parse(v, &cfg->element_timeout);
	} else {
		return -1;
	}
	return 0;
}

static void
config_read(const char *path, struct enforce_config *cfg)
{
	FILE *f;
	char line[512];
	int lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->table, sizeof(cfg->table), "lazaret");
	cfg->element_timeout = 3600 * USEC_PER_SEC;
	if (path == NULL)
		return;
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "enforce_tool: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		if (config_line(cfg, trim(line)) != 0) {
			fprintf(stderr, "enforce_tool: %s:%d: bad setting\n", path, lineno);
			exit(1);
		}
	}
	fclose(f);
}

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 1024;
	if ((p = realloc(p, *cap * size)) == NULL) {
		fprintf(stderr, "enforce_tool: out of memory\n");
		exit(1);
	}
	return p;
}

/* "CIDR[,TIMEOUT]" or "-CIDR"; -1 on anything else. */
static int
entry_parse(struct entries *es, char *text)
{
	text = trim(text);
	if (*text == '\0')
		return 0;
	if (*text == '-') {
		es->del = grow(es->del, &es->capdel, es->ndel, sizeof(*es->del));
		if (cidr_parse(text + 1, &es->del[es->ndel]) != 0)
			return -1;
		es->ndel++;
		return 0;
	}
	if (*text == '+')
		text++;
	es->add = grow(es->add, &es->capadd, es->nadd, sizeof(*es->add));
	struct enforce_entry *e = &es->add[es->nadd];
	memset(e, 0, sizeof(*e));
	char *comma = strchr(text, ',');
	if (comma != NULL) {
		*comma = '\0';
		if (duration_parse(comma + 1, &e->timeout) != 0 || e->timeout == 0)
			return -1;
	}
	if (cidr_parse(text, &e->net) != 0)
		return -1;
	es->nadd++;
	return 0;
}

static void
entries_read(struct entries *es, int argc, char **argv)
{
	char line[256];

	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			if (entry_parse(es, argv[i]) != 0) {
				fprintf(stderr, "enforce_tool: bad entry '%s'\n", argv[i]);
				exit(2);
			}
		}
		return;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (entry_parse(es, line) != 0) {
			fprintf(stderr, "enforce_tool: bad entry '%s'\n", trim(line));
			exit(2);
		}
	}
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *backend = "nft";
	struct enforce_config cfg;
	struct entries es = { 0 };
	bool machine = false;
	char err[512] = "";
	int c, rc = 0;

	while ((c = getopt(argc, argv, "+b:c:mh")) != -1) {
		switch (c) {
		case 'b': backend = optarg; break;
		case 'c': conf = optarg; break;
		case 'm': machine = true; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	const char *cmd = argv[optind++];
	log_init("enforce_tool", 0, LOG_LEVEL_INFO);
	config_read(conf, &cfg);

	if (strcmp(cmd, "ruleset") == 0) {
		static char buf[1 << 20];
		if (enforce_ruleset(&cfg, buf, sizeof(buf)) < 0) {
			fprintf(stderr, "enforce_tool: bad configuration\n");
			return 1;
		}
		fputs(buf, stdout);
		return 0;
	}
	if (strcmp(cmd, "script") == 0) {
		char *s;
		entries_read(&es, argc - optind, argv + optind);
		if (enforce_batch(&cfg, es.add, es.nadd, es.del, es.ndel, &s) < 0) {
			fprintf(stderr, "enforce_tool: refused batch\n");
			return 1;
		}
		fputs(s, stdout);
		free(s);
		return 0;
	}

	const struct enforcer_ops *ops;
	void *be;
	if (strcmp(backend, "nft") == 0) {
		ops = &enforce_nft_ops;
		if ((be = enforce_nft_new(err, sizeof(err))) == NULL) {
			fprintf(stderr, "enforce_tool: %s\n", err);
			return 1;
		}
		if (strcmp(cmd, "setup") != 0 && enforce_nft_attach(be, &cfg) != 0) {
			fprintf(stderr, "enforce_tool: bad table name\n");
			return 1;
		}
	} else if (strcmp(backend, "none") == 0) {
		ops = &enforce_none_ops;
		be = enforce_none_new();
		if (be == NULL || ops->setup(be, &cfg, NULL, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "enforce_tool: %s\n", err);
			return 1;
		}
	} else {
		usage();
	}

	usec_t t0 = 0, t1 = 0;
	if (strcmp(cmd, "setup") == 0) {
		t0 = time_mono();
		rc = ops->setup(be, &cfg, NULL, 0, err, sizeof(err));
		t1 = time_mono();
	} else if (strcmp(cmd, "apply") == 0 || strcmp(cmd, "reconcile") == 0) {
		bool apply = cmd[0] == 'a';
		entries_read(&es, argc - optind, argv + optind);
		if (!apply && es.ndel > 0) {
			fprintf(stderr, "enforce_tool: reconcile takes no removals\n");
			return 2;
		}
		t0 = time_mono();
		rc = apply ? ops->apply(be, es.add, es.nadd, es.del, es.ndel, err, sizeof(err))
		           : ops->reconcile(be, es.add, es.nadd, err, sizeof(err));
		t1 = time_mono();
	} else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "count") == 0) {
		struct cidr *v;
		size_t n;
		char a[ADDR_TEXT_MAX];
		t0 = time_mono();
		rc = ops->list(be, &v, &n, err, sizeof(err));
		t1 = time_mono();
		if (rc == 0) {
			if (cmd[0] == 'c')
				printf("%zu\n", n);
			else
				for (size_t i = 0; i < n; i++)
					printf("%s\n", cidr_format(&v[i], a, sizeof(a)));
			free(v);
		}
	} else {
		usage();
	}
	if (rc != 0)
		fprintf(stderr, "enforce_tool: %s\n", err);
	else if (machine)
		printf("op=%s add=%zu del=%zu seconds=%.6f\n", cmd, es.nadd, es.ndel, (double)(t1 - t0) / 1e6);
	ops->free(be);
	free(es.add);
	free(es.del);
	return rc == 0 ? 0 : 1;
}
