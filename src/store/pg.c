/*
 * pg.c — a blocking libpq connection for a thread of its own (pg.h). No pool and no
 * asynchronous API: the thread that owns a connection waits on it, the loop never does.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/pg.h"

#define PG_MAX_CHANNELS 16

struct pg_conn {
	PGconn *conn;             /* NULL while down */
	char *conninfo;
	char *app_name;           /* NULL: the conninfo's own, or libpq's default */
	char target[512];         /* conninfo, passwords masked, for logs */
	uint64_t generation;
	unsigned failures;        /* connection attempts failed in a row */
	usec_t next_attempt;      /* monotonic: pg_conn_ensure tries no earlier */
	uint32_t rng;
	struct pg_server server;
	char *channels[PG_MAX_CHANNELS];
	size_t nchannels;
	char sqlstate[6];
	char error[512];
	bool fatal_noticed;       /* error holds the FATAL the server sent before it hung up */
	struct log_limit limit;   /* a dead server must not flood the log: one line per attempt */
	/* pg_exec_cached's statements prepared on this connection: "lz<i>" is prepared[i]'s
	 * (copies: a statement is known by its text) */
	char *prepared[PG_PREPARED_MAX];
	size_t nprepared;
};

static const char uri_pg[] = "postgresql://";
static const char uri_pg_short[] = "postgres://";

static bool
is_uri(const char *s)
{
	return strncmp(s, uri_pg, sizeof(uri_pg) - 1) == 0 ||
	    strncmp(s, uri_pg_short, sizeof(uri_pg_short) - 1) == 0;
}

/*
 * The passwords conninfo holds, as raw text: each password= value of a key=value string or
 * a URI query, and a URI's user:password@. Generous on purpose (a malformed URI's whole
 * user part after the first ':' up to its last '@'): masking too much garbles a message,
 * masking too little leaks a secret into a log. Fills up to max spans (start, length) in
 * conninfo and returns how many there are, which may be more than max.
 */
static size_t
secret_spans(const char *conninfo, size_t (*span)[2], size_t max)
{
	size_t n = 0;
	const char *p;

	if (is_uri(conninfo)) {
		const char *auth = strstr(conninfo, "://") + 3;
		const char *at = strrchr(auth, '@');
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

		if (colon && at > colon + 1 && n < max) {
			span[n][0] = (size_t)(colon + 1 - conninfo);
			span[n][1] = (size_t)(at - colon - 1);
			n++;
		}
	}
	for (p = conninfo; (p = strstr(p, "password")) != NULL; p += 8) {
		const char *v = p + 8, *end, *k = p;

		/* password, and sslpassword (a key file's): a secret too */
		if (k - conninfo >= 3 && strncmp(k - 3, "ssl", 3) == 0)
			k -= 3;
		if (k > conninfo && !(k[-1] == ' ' || k[-1] == '\t' || k[-1] == '\n' || k[-1] == '?' ||
		    k[-1] == '&'))
			continue;
		while (*v == ' ' || *v == '\t' || *v == '\n')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t' || *v == '\n')
			v++;
		if (*v == '\'') {
			end = ++v;
			while (*end && *end != '\'') {
				if (*end == '\\' && end[1])
					end++;
				end++;
			}
		} else {
			end = v + strcspn(v, " \t\n&");
		}
		if (end > v) {
			if (n < max) {
				span[n][0] = (size_t)(v - conninfo);
				span[n][1] = (size_t)(end - v);
			}
			n++;
		}
	}
	return n;
}

char *
pg_conninfo_mask(const char *conninfo, const char *text, char *out, size_t size)
{
	size_t span[8][2], nspan = conninfo ? secret_spans(conninfo, span, 8) : 0;
	size_t o = 0;
	const char *t = text;
	/* the conninfo itself: its passwords where they stand; any other text: wherever they
	 * occur (a one-letter password then masks that letter everywhere: ugly, but no leak) */
	bool self = conninfo && strcmp(text, conninfo) == 0;

	if (nspan > sizeof(span) / sizeof(span[0])) {
		snprintf(out, size, "(withheld: more passwords than can be masked)");
		return out;
	}

	while (*t && o + 1 < size) {
		size_t skip = 0;

		for (size_t i = 0; i < nspan; i++) {
			if (self ? (size_t)(t - text) == span[i][0] :
			    strncmp(t, conninfo + span[i][0], span[i][1]) == 0 && span[i][1] > skip)
				skip = span[i][1];
		}
		if (skip) {
			for (const char *m = "****"; *m && o + 1 < size; m++)
				out[o++] = *m;
			t += skip;
		} else {
			out[o++] = *t++;
		}
	}
	out[o] = '\0';
	return out;
}

/* libpq's messages end in a newline and continue on lines indented by a tab ("\n\tIs the
 * server running ..."): one line, each break a space. */
static void
one_line(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r == '\n' || (*r == '\t' && r > s && r[-1] == '\n')) {
			if (w > s && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

static void
set_error(struct pg_conn *c, const char *sqlstate, const char *msg)
{
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", sqlstate ? sqlstate : "");
	pg_conninfo_mask(c->conninfo, msg ? msg : "unknown error", c->error, sizeof(c->error));
	one_line(c->error);
}

int
pg_conninfo_check(const char *conninfo, char *err, size_t errlen)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);

	if (opts != NULL) {
		PQconninfoFree(opts);
		if (errlen)
			err[0] = '\0';
		return 0;
	}
	if (msg == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (errlen) {
		pg_conninfo_mask(conninfo, msg, err, errlen);
		one_line(err);
	}
	PQfreemem(msg);
	return -EINVAL;
}

bool
pg_conninfo_is_pg(const char *store)
{
	PQconninfoOption *defs, *o;
	size_t klen;
	bool known = false;

	if (store == NULL)
		return false;
	if (is_uri(store))
		return true;
	while (*store == ' ' || *store == '\t')
		store++;
	klen = strspn(store, "abcdefghijklmnopqrstuvwxyz_");
	if (klen == 0 || store[klen + strspn(store + klen, " \t")] != '=')
		return false;
	if ((defs = PQconndefaults()) == NULL)
		return false;
	for (o = defs; o->keyword != NULL; o++) {
		if (strlen(o->keyword) == klen && strncmp(o->keyword, store, klen) == 0) {
			known = true;
			break;
		}
	}
	PQconninfoFree(defs);
	return known;
}

usec_t
pg_backoff(unsigned failures, uint32_t rnd)
{
	usec_t step = PG_BACKOFF_FIRST, half;

	if (failures == 0)
		return 0;
	for (unsigned i = 1; i < failures && step < PG_BACKOFF_MAX; i++)
		step *= 2;
	if (step > PG_BACKOFF_MAX)
		step = PG_BACKOFF_MAX;
	half = step / 2;
	return half + (usec_t)(rnd % (uint64_t)(half + 1));
}

static uint32_t
rng_next(struct pg_conn *c)
{
	/* xorshift32: jitter, not secrets */
	uint32_t x = c->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return c->rng = x;
}

/* Server notices (WARNING, NOTICE) go to our log instead of libpq's stderr. */
static void
notice_receiver(void *arg, const PGresult *res)
{
	struct pg_conn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char q[256];

	log_quoted(q, sizeof(q), msg ? msg : "");
	/* WARNING, and a FATAL that ends an idle session ("terminating connection ..."): libpq
	 * hands the latter here, not to PQerrorMessage, so it is also the reason the connection
	 * is reported lost for */
	if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) {
		set_error(c, PQresultErrorField(res, PG_DIAG_SQLSTATE), msg ? msg : sev);
		c->fatal_noticed = true;
	}
	if (sev && (strcmp(sev, "WARNING") == 0 || strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		log_warnx("pg: server %s target=\"%s\" reason=\"%s\"", sev, c->target, q);
	else
		log_debug("pg: server notice target=\"%s\" severity=%s reason=\"%s\"", c->target,
		    sev ? sev : "-", q);
}

struct pg_conn *
pg_conn_new(const char *conninfo, const char *application_name)
{
	struct pg_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->conninfo = strdup(conninfo)) == NULL)
		goto fail;
	if (application_name && (c->app_name = strdup(application_name)) == NULL)
		goto fail;
	pg_conninfo_mask(conninfo, conninfo, c->target, sizeof(c->target));
	c->rng = (uint32_t)time_mono() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)(uintptr_t)c;
	if (c->rng == 0)
		c->rng = 1;
	c->limit = (struct log_limit)LOG_LIMIT_INIT(10, 60 * USEC_PER_SEC);
	return c;
fail:
	pg_conn_free(c);
	return NULL;
}

static void mark_down(struct pg_conn *c);

void
pg_conn_free(struct pg_conn *c)
{
	if (c == NULL)
		return;
	mark_down(c);
	for (size_t i = 0; i < c->nchannels; i++)
		free(c->channels[i]);
	free(c->conninfo);
	free(c->app_name);
	free(c);
}

static void
mark_down(struct pg_conn *c)
{
	c->fatal_noticed = false;
	for (size_t i = 0; i < c->nprepared; i++)      /* a session's statements go with it */
		free(c->prepared[i]);
	c->nprepared = 0;
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
}

/* A failed attempt: down, and no new one before the backoff has passed. */
static int
attempt_failed(struct pg_conn *c, int code)
{
	usec_t wait;
	char q[512];

	mark_down(c);
	if (c->failures < 64)
		c->failures++;
	wait = pg_backoff(c->failures, rng_next(c));
	c->next_attempt = time_mono() + wait;
	log_limited(&c->limit, LOG_LEVEL_WARN,
	    "pg: connect failed target=\"%s\" failures=%u retry_in=%" PRId64 "ms reason=\"%s\"",
	    c->target, c->failures, wait / 1000, log_quoted(q, sizeof(q), c->error));
	return code;
}

static int
sqlstate_code(const char *st, bool *down)
{
	*down = false;
	if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
	    strcmp(st, "57P03") == 0) {
		*down = true;
		return -ENOTCONN;
	}
	if (strcmp(st, "25006") == 0) {
		*down = true;     /* read-only: a standby now, after a failover */
		return -EROFS;
	}
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return -EAGAIN;
	if (strcmp(st, "23505") == 0)
		return -EEXIST;
	if (strcmp(st, "57014") == 0)
		return -ECANCELED;
	return -EIO;
}

/*
 * result_check — 0 for a successful result, else the error code of res (NULL: libpq could
 * not even make one), the failure recorded in c and logged, and c marked down for a
 * connection error. Does not clear res.
 */
static int
result_check(struct pg_conn *c, const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state, *msg;
	bool down = false;
	char q[512];
	int rc;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
		return 0;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL)
		msg = res ? PQresultErrorMessage(res) : NULL;
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(c->conn);
	set_error(c, state, msg);
	if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR)
		rc = sqlstate_code(c->sqlstate, &down);
	else
		rc = -EIO;         /* COPY and the like: nothing here asks for them */
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		down = true;
		rc = -ENOTCONN;
	}
	log_limited(&c->limit, LOG_LEVEL_WARN,
	    "pg: statement failed target=\"%s\" sqlstate=%s%s reason=\"%s\"", c->target,
	    c->sqlstate[0] ? c->sqlstate : "-", down ? " connection=down" : "",
	    log_quoted(q, sizeof(q), c->error));
	if (down)
		mark_down(c);
	return rc;
}

static int
not_connected(struct pg_conn *c)
{
	set_error(c, NULL, "not connected");
	return -ENOTCONN;
}

int
pg_exec_params(struct pg_conn *c, const char *sql, int nparams, const char *const *values,
    const int *lengths, const int *formats, PGresult **out)
{
	PGresult *res;
	int rc;

	if (out)
		*out = NULL;
	if (c->conn == NULL)
		return not_connected(c);
	res = PQexecParams(c->conn, sql, nparams, NULL, values, lengths, formats, 0);
	if ((rc = result_check(c, res)) < 0 || out == NULL)
		PQclear(res);
	else
		*out = res;
	return rc;
}

/*
 * The name sql is prepared under on this connection ("lz<i>" in name), preparing it on its
 * first use: 1; 0 when it cannot be (PG_PREPARED_MAX statements prepared already, or no
 * memory: the caller runs it unprepared); or an error code (the PREPARE failed: the
 * statement itself is wrong, or the connection).
 */
static int
prepared_name(struct pg_conn *c, const char *sql, int nparams, char name[16])
{
	size_t i;

	for (i = 0; i < c->nprepared && strcmp(c->prepared[i], sql) != 0; i++)
		;
	snprintf(name, 16, "lz%zu", i);
	if (i < c->nprepared)
		return 1;
	char *copy;
	if (c->nprepared == PG_PREPARED_MAX || (copy = strdup(sql)) == NULL)
		return 0;
	PGresult *res = PQprepare(c->conn, name, sql, nparams, NULL);
	int rc = result_check(c, res);
	PQclear(res);
	if (rc < 0) {
		free(copy);
		return rc;
	}
	c->prepared[c->nprepared++] = copy;
	return 1;
}

int
pg_exec_cached(struct pg_conn *c, const char *sql, int nparams, const char *const *values, PGresult **out)
{
	PGresult *res;
	char name[16];
	int rc;

	if (out)
		*out = NULL;
	if (c->conn == NULL)
		return not_connected(c);
	if ((rc = prepared_name(c, sql, nparams, name)) < 0)
		return rc;
	res = rc == 1 ? PQexecPrepared(c->conn, name, nparams, values, NULL, NULL, 0) :
	    PQexecParams(c->conn, sql, nparams, NULL, values, NULL, NULL, 0);
	if ((rc = result_check(c, res)) < 0 || out == NULL)
		PQclear(res);
	else
		*out = res;
	return rc;
}

int
pg_exec_notify(struct pg_conn *c, const char *sql, int nparams, const char *const *values,
    const char *channel, const char *payload)
{
	static const char notify_sql[] = "SELECT pg_notify($1, $2)";
	const char *notify[2] = { channel, payload };
	char name[16], notify_name[16];
	int rc = 0, separators = 0, prepared, notify_prepared;

	if (c->conn == NULL)
		return not_connected(c);
	/* both prepared before the pipeline, once a connection */
	if ((prepared = prepared_name(c, sql, nparams, name)) < 0)
		return prepared;
	if ((notify_prepared = prepared_name(c, notify_sql, 2, notify_name)) < 0)
		return notify_prepared;
	if (PQenterPipelineMode(c->conn) != 1) {
		set_error(c, NULL, PQerrorMessage(c->conn));
		return PQstatus(c->conn) == CONNECTION_BAD ? (mark_down(c), -ENOTCONN) : -EIO;
	}
	if ((prepared ? PQsendQueryPrepared(c->conn, name, nparams, values, NULL, NULL, 0) :
	    PQsendQueryParams(c->conn, sql, nparams, NULL, values, NULL, NULL, 0)) != 1 ||
	    (notify_prepared ? PQsendQueryPrepared(c->conn, notify_name, 2, notify, NULL, NULL, 0) :
	    PQsendQueryParams(c->conn, notify_sql, 2, NULL, notify, NULL, NULL, 0)) != 1 ||
	    PQpipelineSync(c->conn) != 1) {
		/* only a broken connection refuses to queue: the sync point was never sent */
		set_error(c, NULL, PQerrorMessage(c->conn));
		mark_down(c);
		return -ENOTCONN;
	}
	/* each statement's result and a NULL after it, then the sync point's: a failed statement
	 * is the first error, those after it come back PGRES_PIPELINE_ABORTED */
	for (;;) {
		PGresult *res = PQgetResult(c->conn);
		if (res == NULL) {
			if (PQstatus(c->conn) == CONNECTION_BAD || ++separators > 2) {
				if (rc == 0) {
					set_error(c, NULL, PQerrorMessage(c->conn));
					rc = -ENOTCONN;
				}
				mark_down(c);
				return rc;
			}
			continue;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (st == PGRES_PIPELINE_ABORTED) {
			if (rc == 0) {
				set_error(c, NULL, "statement skipped: the pipeline was aborted");
				rc = -ECANCELED;
			}
		} else {
			int r = result_check(c, res);
			if (rc == 0)
				rc = r;
		}
		PQclear(res);
		if (c->conn == NULL)           /* result_check marked it down */
			return rc != 0 ? rc : -ENOTCONN;
	}
	if (PQexitPipelineMode(c->conn) != 1) {
		set_error(c, NULL, PQerrorMessage(c->conn));
		mark_down(c);
		return -ENOTCONN;
	}
	return rc;
}

int
pg_exec(struct pg_conn *c, const char *sql)
{
	PGresult *res;
	int rc;

	if (c->conn == NULL)
		return not_connected(c);
	res = PQexec(c->conn, sql);
	rc = result_check(c, res);
	PQclear(res);
	return rc;
}

int
pg_begin(struct pg_conn *c)
{
	return pg_exec(c, "BEGIN");
}

int
pg_commit(struct pg_conn *c)
{
	PGresult *res;
	int rc;

	if (c->conn == NULL)
		return not_connected(c);
	res = PQexec(c->conn, "COMMIT");
	rc = result_check(c, res);
	/* COMMIT of a failed transaction succeeds as a command and answers ROLLBACK */
	if (rc == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		set_error(c, "25P02", "COMMIT rolled back: the transaction had failed");
		rc = -ECANCELED;
	}
	PQclear(res);
	return rc;
}

int
pg_rollback(struct pg_conn *c)
{
	int rc;

	if (c->conn == NULL)
		return 0;
	rc = pg_exec(c, "ROLLBACK");
	return rc == -ENOTCONN ? 0 : rc;
}

static int
listen_one(struct pg_conn *c, const char *channel)
{
	char *id = PQescapeIdentifier(c->conn, channel, strlen(channel));
	char sql[96];
	int rc;

	if (id == NULL)
		return -ENOMEM;
	snprintf(sql, sizeof(sql), "LISTEN %s", id);
	PQfreemem(id);
	rc = pg_exec(c, sql);
	return rc;
}

/* Reads the server's role and identity on a fresh connection: 0, -EROFS for a standby. */
static int
identify(struct pg_conn *c)
{
	PGresult *res;
	unsigned hi, lo;
	char tli[9];
	int rc;

	if ((rc = pg_exec_params(c, "SELECT pg_is_in_recovery()", 0, NULL, NULL, NULL, &res)) < 0)
		return rc;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "f") != 0) {
		PQclear(res);
		set_error(c, NULL, "the server is in recovery (a standby): not read-write");
		return -EROFS;
	}
	PQclear(res);
	rc = pg_exec_params(c, "SELECT system_identifier, pg_current_wal_lsn()::text, "
	    "pg_walfile_name(pg_current_wal_lsn()) FROM pg_control_system()", 0, NULL, NULL, NULL, &res);
	if (rc < 0)
		return rc;
	memset(&c->server, 0, sizeof(c->server));
	c->server.system_identifier = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	if (sscanf(PQgetvalue(res, 0, 1), "%X/%X", &hi, &lo) == 2)
		c->server.lsn = (uint64_t)hi << 32 | lo;
	/* a WAL file's name starts with its timeline, 8 hex digits */
	snprintf(tli, sizeof(tli), "%.8s", PQgetvalue(res, 0, 2));
	c->server.timeline = (uint32_t)strtoul(tli, NULL, 16);
	c->server.version = PQserverVersion(c->conn);
	c->server.backend_pid = PQbackendPID(c->conn);
	PQclear(res);
	return 0;
}

int
pg_conn_ensure(struct pg_conn *c)
{
	const char *kw[] = { "connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname", "application_name", NULL };
	const char *val[] = { "5", "1", "30", "10", "3", c->conninfo, c->app_name, NULL };
	int rc;

	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	mark_down(c);
	if (c->failures > 0 && time_mono() < c->next_attempt) {
		set_error(c, NULL, "waiting to reconnect");
		return -EAGAIN;
	}
	/* Defaults before the conninfo (whose own values override them), the node's name after
	 * it: libpq takes the last value of a repeated keyword. */
	if (c->app_name == NULL)
		kw[6] = NULL;
	c->conn = PQconnectdbParams(kw, val, 1);
	if (c->conn == NULL) {
		set_error(c, NULL, "out of memory");
		return attempt_failed(c, -ENOMEM);
	}
	if (PQstatus(c->conn) != CONNECTION_OK) {
		set_error(c, NULL, PQerrorMessage(c->conn));
		return attempt_failed(c, -ENOTCONN);
	}
	PQsetNoticeReceiver(c->conn, notice_receiver, c);
	if ((rc = identify(c)) < 0)
		return attempt_failed(c, rc);
	for (size_t i = 0; i < c->nchannels; i++) {
		if ((rc = listen_one(c, c->channels[i])) < 0)
			return attempt_failed(c, c->conn ? rc : -ENOTCONN);
	}
	c->failures = 0;
	c->generation++;
	log_info("pg: connected target=\"%s\" generation=%" PRIu64 " system_identifier=%" PRIu64
	    " timeline=%" PRIu32 " lsn=%X/%X server_version=%d", c->target, c->generation,
	    c->server.system_identifier, c->server.timeline, (unsigned)(c->server.lsn >> 32),
	    (unsigned)c->server.lsn, c->server.version);
	return 0;
}

usec_t
pg_conn_retry_in(const struct pg_conn *c)
{
	usec_t now = time_mono();

	if (c->conn != NULL || c->failures == 0 || now >= c->next_attempt)
		return 0;
	return c->next_attempt - now;
}

bool
pg_conn_up(const struct pg_conn *c)
{
	return c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK;
}

uint64_t
pg_conn_generation(const struct pg_conn *c)
{
	return c->generation;
}

const struct pg_server *
pg_conn_server(const struct pg_conn *c)
{
	return &c->server;
}

const char *
pg_conn_sqlstate(const struct pg_conn *c)
{
	return c->sqlstate;
}

const char *
pg_conn_error(const struct pg_conn *c)
{
	return c->error;
}

const char *
pg_conn_target(const struct pg_conn *c)
{
	return c->target;
}

static bool
channel_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

int
pg_listen(struct pg_conn *c, const char *channel)
{
	size_t i;

	if (!channel_valid(channel))
		return -EINVAL;
	for (i = 0; i < c->nchannels; i++) {
		if (strcmp(c->channels[i], channel) == 0)
			break;
	}
	if (i == c->nchannels) {
		if (c->nchannels == PG_MAX_CHANNELS)
			return -EINVAL;
		if ((c->channels[c->nchannels] = strdup(channel)) == NULL)
			return -ENOMEM;
		c->nchannels++;
	}
	if (c->conn == NULL)
		return 0;
	return listen_one(c, channel);
}

int
pg_notify(struct pg_conn *c, const char *channel, const char *payload)
{
	const char *values[2] = { channel, payload };

	return pg_exec_params(c, "SELECT pg_notify($1, $2)", 2, values, NULL, NULL, NULL);
}

/* Every notification libpq holds, to each: how many. */
static int
drain_notifies(struct pg_conn *c, pg_notify_fn each, void *arg)
{
	PGnotify *n;
	int count = 0;

	while ((n = PQnotifies(c->conn)) != NULL) {
		if (each)
			each(arg, n->relname, n->extra, n->be_pid);
		PQfreemem(n);
		count++;
	}
	return count;
}

int
pg_wait(struct pg_conn *c, int wake_fd, int timeout_ms, pg_notify_fn each, void *arg)
{
	struct pollfd pfd[2];
	int n, flags = 0;

	if (c->conn == NULL)
		return not_connected(c);
	/* notifications read along with an earlier statement's result wait in libpq */
	if (drain_notifies(c, each, arg) > 0)
		return PG_WAIT_NOTIFY;
	pfd[0] = (struct pollfd){ .fd = PQsocket(c->conn), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	if (pfd[0].fd < 0) {
		mark_down(c);
		return not_connected(c);
	}
	n = poll(pfd, wake_fd >= 0 ? 2 : 1, timeout_ms);
	if (n <= 0)
		return 0;     /* timeout, or EINTR: the caller's loop comes back */
	if (wake_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
		char buf[64];

		/* one read: all of an eventfd's count, up to 64 wakes of a pipe */
		if (read(wake_fd, buf, sizeof(buf)) < 0 && errno != EAGAIN && errno != EINTR)
			log_warn("pg: wake fd read");
		flags |= PG_WAIT_WAKE;
	}
	/* A backend that dies sends its last words (57P01 "unexpected postmaster exit") before
	 * the end of the stream: read until no more is ready, so that the end is seen now and
	 * not at the next wait. */
	for (int rounds = 0; pfd[0].revents && rounds < 8; rounds++) {
		if (PQconsumeInput(c->conn) == 0 || (PQisBusy(c->conn), PQstatus(c->conn)) == CONNECTION_BAD) {
			char q[512];

			/* the FATAL the server sent says why; libpq's own text only that it hung up */
			const char *why = PQerrorMessage(c->conn);
			if (!c->fatal_noticed)
				set_error(c, NULL, why != NULL && why[0] != '\0' ? why : "the server closed the connection");
			log_limited(&c->limit, LOG_LEVEL_WARN,
			    "pg: connection lost target=\"%s\" connection=down reason=\"%s\"", c->target,
			    log_quoted(q, sizeof(q), c->error));
			drain_notifies(c, each, arg);   /* what arrived before the end still counts */
			mark_down(c);
			return -ENOTCONN;
		}
		if (drain_notifies(c, each, arg) > 0)
			flags |= PG_WAIT_NOTIFY;
		pfd[0].revents = 0;
		if (poll(pfd, 1, 0) <= 0)
			break;
	}
	return flags;
}

/* ---- array literals ------------------------------------------------------------------- */

static bool
pg_array_room(struct pg_array *a, size_t more)
{
	if (a->failed)
		return false;
	if (a->len + more + 1 <= a->cap)
		return true;
	size_t cap = a->cap ? a->cap : 4096;
	while (cap < a->len + more + 1)
		cap *= 2;
	char *grown = realloc(a->text, cap);
	if (grown == NULL) {
		a->failed = true;
		return false;
	}
	a->text = grown;
	a->cap = cap;
	return true;
}

void
pg_array_add(struct pg_array *a, const char *s, size_t len)
{
	/* worst case every byte escaped, the separator and the quotes */
	if (!pg_array_room(a, 2 * len + 3))
		return;
	a->text[a->len++] = a->n++ == 0 ? '{' : ',';
	a->text[a->len++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			a->text[a->len++] = '\\';
		a->text[a->len++] = s[i];
	}
	a->text[a->len++] = '"';
	a->text[a->len] = '\0';
}

const char *
pg_array_text(struct pg_array *a)
{
	if (!pg_array_room(a, 2))
		return NULL;
	if (a->n == 0)
		a->text[a->len++] = '{';
	a->text[a->len++] = '}';
	a->text[a->len] = '\0';
	return a->text;
}

void
pg_array_free(struct pg_array *a)
{
	free(a->text);
	memset(a, 0, sizeof(*a));
}
