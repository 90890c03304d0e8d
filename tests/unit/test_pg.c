/*
 * test_pg.c — the libpq connection layer (src/store/pg.c) against a real PostgreSQL cluster
 * started once for the program (tests/pg/cluster.sh): conninfo checks and masking,
 * statements and their SQLSTATEs, LISTEN/NOTIFY, the wake fd, a server killed and started
 * again, a standby refused and then promoted under a multi-host conninfo. The backoff
 * schedule and the conninfo rules are pure and tested without the cluster.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "store/pg.h"
#include "store/pg_schema.h"

#include "pg_cluster.h"

static struct pg_cluster cluster;
static char primary[PATH_MAX + 128];

/* ---- pure: backoff and conninfo ---- */

static void
test_backoff_schedule(void **state)
{
	static const uint32_t rnds[] = { 0, 1, 12345, 0x7fffffff, 0xffffffff };
	usec_t step = PG_BACKOFF_FIRST;

	(void)state;
	assert_int_equal(pg_backoff(0, 0), 0);
	assert_int_equal(pg_backoff(0, 0xffffffff), 0);
	for (unsigned f = 1; f <= 40; f++) {
		for (size_t i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			usec_t d = pg_backoff(f, rnds[i]);

			assert_true(d >= step / 2);
			assert_true(d <= step);
		}
		step = step * 2 > PG_BACKOFF_MAX ? PG_BACKOFF_MAX : step * 2;
	}
	/* the steps: 100 ms, 200, 400, 800, 1.6 s, 3.2 s, then 5 s for ever */
	assert_int_equal(pg_backoff(1, 0), 50000);
	assert_int_equal(pg_backoff(1, 50000), 100000);
	assert_int_equal(pg_backoff(2, 100000), 200000);
	assert_int_equal(pg_backoff(6, 1600000), 3200000);
	assert_int_equal(pg_backoff(7, 2500000), 5000000);
	assert_int_equal(pg_backoff(7, 0), 2500000);
	assert_int_equal(pg_backoff(1000, 2500000), 5000000);
	assert_int_equal(pg_backoff(~0u, 2500000), 5000000);
	/* jitter: different draws, different delays */
	assert_true(pg_backoff(5, 1) != pg_backoff(5, 400000));
}

static void
test_conninfo_check(void **state)
{
	static const char *const good[] = {
		"postgresql://lazaret@db.example.net/lazaret",
		"postgres://db.example.net:5433/lazaret?sslmode=verify-full",
		"postgresql://db1.example.net,db2.example.net:5433/lazaret?target_session_attrs=read-write",
		"postgresql://lazaret@%2Frun%2Fpostgresql/lazaret",
		"postgresql://[2001:db8::1]:5432/lazaret?connect_timeout=3",
		"host=db1,db2 port=5432,5433 dbname=lazaret user=lazaret target_session_attrs=read-write",
		"host=/run/postgresql dbname=lazaret passfile=/etc/lazaret/pgpass",
		"service=lazaret",
		"dbname = 'lazaret' application_name='it\\'s'",
		"",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (pg_conninfo_check(good[i], err, sizeof(err)) != 0)
			fail_msg("refused %s: %s", good[i], err);
		assert_string_equal(err, "");
	}

	/* garbage, with libpq's reason */
	assert_int_equal(pg_conninfo_check("hots=db1 dbname=x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hots"));
	assert_int_equal(pg_conninfo_check("postgresql://db/x?nosuch=1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nosuch"));
	assert_int_equal(pg_conninfo_check("host=db dbname", err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(pg_conninfo_check("var/lazaret.db", err, sizeof(err)), -EINVAL);
	assert_null(strchr(err, '\n'));

	/* libpq quotes the malformed text back: the password must not come with it */
	assert_int_equal(pg_conninfo_check("postgresql://lazaret:s3cr3t-pw@[2001:db8::1/x", err,
	    sizeof(err)), -EINVAL);
	assert_null(strstr(err, "s3cr3t"));
	assert_non_null(strstr(err, "****"));
	assert_int_equal(pg_conninfo_check("postgresql://lazaret:p%zzword@db/x", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "p%zz"));
	assert_int_equal(pg_conninfo_check("postgresql://db/x?password=hunter2%zz", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(pg_conninfo_check("host=db password=hunter2 dbname", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "hunter2"));
	/* a short buffer is still a string */
	assert_int_equal(pg_conninfo_check("hots=db1", err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
}

static void
test_conninfo_mask(void **state)
{
	char out[256];

	(void)state;
	assert_string_equal(pg_conninfo_mask("host=db password=hunter2 dbname=x",
	    "host=db password=hunter2 dbname=x", out, sizeof(out)), "host=db password=**** dbname=x");
	assert_string_equal(pg_conninfo_mask("host=db password = 'it\\'s x y' dbname=x",
	    "host=db password = 'it\\'s x y' dbname=x", out, sizeof(out)),
	    "host=db password = '****' dbname=x");
	assert_string_equal(pg_conninfo_mask("postgresql://u:pw%40x@db,db2/x?password=b&sslmode=require",
	    "postgresql://u:pw%40x@db,db2/x?password=b&sslmode=require", out, sizeof(out)),
	    "postgresql://u:****@db,db2/x?password=****&sslmode=require");
	/* a message quoting it */
	assert_string_equal(pg_conninfo_mask("postgresql://u:topsecret@db/x", "bad \"u:topsecret@db\"",
	    out, sizeof(out)), "bad \"u:****@db\"");
	/* nothing to mask: unchanged; sslpassword is masked as well */
	assert_string_equal(pg_conninfo_mask("host=db user=u", "host=db user=u", out, sizeof(out)),
	    "host=db user=u");
	assert_string_equal(pg_conninfo_mask("postgresql://u@db/x", "postgresql://u@db/x", out,
	    sizeof(out)), "postgresql://u@db/x");
	assert_string_equal(pg_conninfo_mask("host=db sslpassword=k", "host=db sslpassword=k", out,
	    sizeof(out)), "host=db sslpassword=****");
	/* more passwords than it keeps track of: nothing of the text, rather than one of them */
	{
		char many[256] = "host=db";

		for (int i = 0; i < 9; i++)
			snprintf(many + strlen(many), sizeof(many) - strlen(many), " password=secret%d", i);
		pg_conninfo_mask(many, many, out, sizeof(out));
		assert_null(strstr(out, "secret"));
		assert_int_equal(pg_conninfo_check(many, out, sizeof(out)), 0);
	}
	/* truncated, still terminated */
	assert_string_equal(pg_conninfo_mask("password=abc", "password=abc", out, 12), "password=**");
}

static void
test_conninfo_is_pg(void **state)
{
	(void)state;
	assert_true(pg_conninfo_is_pg("postgresql://db/lazaret"));
	assert_true(pg_conninfo_is_pg("postgres://db1,db2/lazaret?target_session_attrs=read-write"));
	assert_true(pg_conninfo_is_pg("host=db dbname=lazaret"));
	assert_true(pg_conninfo_is_pg("dbname=lazaret"));
	assert_true(pg_conninfo_is_pg("  service = lazaret"));
	assert_true(pg_conninfo_is_pg("user=lazaret host=/run/postgresql"));
	assert_false(pg_conninfo_is_pg("var/lazaret.db"));
	assert_false(pg_conninfo_is_pg("/var/lib/lazaret/lazaret.db"));
	assert_false(pg_conninfo_is_pg("/srv/a=b.db"));
	assert_false(pg_conninfo_is_pg("./host=x"));
	assert_false(pg_conninfo_is_pg("lazaret.db"));
	assert_false(pg_conninfo_is_pg("nosuchkey=1"));
	assert_false(pg_conninfo_is_pg("file:lazaret.db?mode=rwc"));
	assert_false(pg_conninfo_is_pg("POSTGRESQL://db/x"));   /* libpq's schemes are lower case */
	assert_false(pg_conninfo_is_pg(""));
	assert_false(pg_conninfo_is_pg(NULL));
}

/* ---- against the cluster ---- */

static int
cluster_setup(void **state)
{
	(void)state;
	if (pg_cluster_init(&cluster) < 0)
		return -1;
	if (pg_cluster_start(&cluster, "p", primary, sizeof(primary)) < 0) {
		pg_cluster_cleanup(&cluster);
		return -1;
	}
	return 0;
}

static int
cluster_teardown(void **state)
{
	(void)state;
	pg_cluster_cleanup(&cluster);
	return 0;
}

static struct pg_conn *
connect_ok(const char *conninfo, const char *name)
{
	struct pg_conn *c = pg_conn_new(conninfo, name);

	assert_non_null(c);
	if (pg_conn_ensure(c) != 0)
		fail_msg("cannot connect to %s: %s", conninfo, pg_conn_error(c));
	return c;
}

/* The first value of a one-row query's result, into out. */
static int
query1(struct pg_conn *c, const char *sql, char *out, size_t size)
{
	PGresult *res;
	int rc = pg_exec_params(c, sql, 0, NULL, NULL, NULL, &res);

	if (rc < 0)
		return rc;
	assert_int_equal(PQntuples(res), 1);
	snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

static void
test_connect_identity(void **state)
{
	struct pg_conn *c;
	const struct pg_server *s;
	char v[128];

	(void)state;
	c = pg_conn_new(primary, "node-a");
	assert_int_equal(pg_conn_generation(c), 0);
	assert_false(pg_conn_up(c));
	assert_int_equal(pg_exec(c, "SELECT 1"), -ENOTCONN);
	assert_int_equal(pg_conn_ensure(c), 0);
	assert_true(pg_conn_up(c));
	assert_int_equal(pg_conn_generation(c), 1);
	assert_int_equal(pg_conn_ensure(c), 0);      /* up: nothing new */
	assert_int_equal(pg_conn_generation(c), 1);

	s = pg_conn_server(c);
	assert_true(s->system_identifier != 0);
	assert_int_equal(s->timeline, 1);
	assert_true(s->lsn != 0);
	assert_true(s->version >= 100000);
	assert_true(s->backend_pid > 0);
	assert_int_equal(query1(c, "SELECT system_identifier::text FROM pg_control_system()", v, sizeof(v)), 0);
	assert_int_equal(strtoull(v, NULL, 10), s->system_identifier);
	assert_int_equal(query1(c, "SELECT pg_backend_pid()::text", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), s->backend_pid);
	/* the node's name in pg_stat_activity, over the conninfo's own */
	assert_int_equal(query1(c, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
	    v, sizeof(v)), 0);
	assert_string_equal(v, "node-a");
	pg_conn_free(c);

	{
		char ci[PATH_MAX + 200];

		snprintf(ci, sizeof(ci), "%s application_name=from-conninfo", primary);
		c = connect_ok(ci, "node-b");
		assert_int_equal(query1(c, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
		    v, sizeof(v)), 0);
		assert_string_equal(v, "node-b");
		pg_conn_free(c);
	}
}

/* A server that accepts TCP connections and never answers: only connect_timeout ends the wait. */
static void
test_connect_timeout(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	char ci[128];
	struct pg_conn *c;
	usec_t t0, took;
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);

	/* the default: 5 s */
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%u dbname=x user=x sslmode=disable", ntohs(sin.sin_port));
	c = pg_conn_new(ci, "node-a");
	t0 = time_mono();
	assert_int_equal(pg_conn_ensure(c), -ENOTCONN);
	took = time_mono() - t0;
	assert_true(took >= 4 * USEC_PER_SEC);
	assert_true(took < 8 * USEC_PER_SEC);
	assert_false(pg_conn_up(c));
	assert_true(pg_conn_retry_in(c) > 0);
	pg_conn_free(c);

	/* the conninfo's own */
	snprintf(ci, sizeof(ci), "postgresql://x@127.0.0.1:%u/x?connect_timeout=1&sslmode=disable",
	    ntohs(sin.sin_port));
	c = pg_conn_new(ci, NULL);
	t0 = time_mono();
	assert_int_equal(pg_conn_ensure(c), -ENOTCONN);
	took = time_mono() - t0;
	assert_true(took < 3 * USEC_PER_SEC);
	pg_conn_free(c);
	close(fd);
}

static void
test_exec_sqlstate(void **state)
{
	struct pg_conn *c = connect_ok(primary, "node-a");
	const char *note = "it's \"quoted\"; DROP TABLE t;--\nline 2";
	const char *v1[2] = { "1", note };
	const char *v2[2] = { "2", "two" };
	PGresult *res = (PGresult *)1;
	uint64_t gen = pg_conn_generation(c);

	(void)state;
	assert_int_equal(pg_exec(c, "DROP TABLE IF EXISTS t; CREATE TABLE t (id int PRIMARY KEY, note text)"), 0);
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES ($1, $2)", 2, v1, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec_params(c, "SELECT note FROM t WHERE id = $1", 1, v1, NULL, NULL, &res), 0);
	assert_int_equal(PQntuples(res), 1);
	assert_string_equal(PQgetvalue(res, 0, 0), note);
	PQclear(res);

	/* a unique violation: its code and SQLSTATE, the connection stays up */
	res = (PGresult *)1;
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES ($1, $2)", 2, v1, NULL, NULL, &res), -EEXIST);
	assert_null(res);
	assert_string_equal(pg_conn_sqlstate(c), "23505");
	assert_non_null(strstr(pg_conn_error(c), "duplicate key"));
	assert_true(pg_conn_up(c));
	assert_int_equal(pg_conn_ensure(c), 0);
	assert_int_equal(pg_conn_generation(c), gen);

	/* other SQL errors: -EIO with the SQLSTATE, still up */
	assert_int_equal(pg_exec(c, "SELEC 1"), -EIO);
	assert_string_equal(pg_conn_sqlstate(c), "42601");
	assert_int_equal(pg_exec(c, "SELECT 1/0"), -EIO);
	assert_string_equal(pg_conn_sqlstate(c), "22012");
	assert_int_equal(pg_exec(c, "SET statement_timeout = 50; SELECT pg_sleep(2)"), -ECANCELED);
	assert_string_equal(pg_conn_sqlstate(c), "57014");
	assert_int_equal(pg_exec(c, "RESET statement_timeout"), 0);
	assert_true(pg_conn_up(c));

	/* transactions: rolled back, committed, and a COMMIT the server turns into ROLLBACK */
	assert_int_equal(pg_begin(c), 0);
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES ($1, $2)", 2, v2, NULL, NULL, NULL), 0);
	assert_int_equal(pg_rollback(c), 0);
	assert_int_equal(pg_exec_params(c, "SELECT count(*) FROM t", 0, NULL, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	assert_int_equal(pg_begin(c), 0);
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES ($1, $2)", 2, v2, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES ($1, $2)", 2, v1, NULL, NULL, NULL), -EEXIST);
	assert_int_equal(pg_exec(c, "SELECT 1"), -EIO);
	assert_string_equal(pg_conn_sqlstate(c), "25P02");
	assert_int_equal(pg_commit(c), -ECANCELED);
	assert_string_equal(pg_conn_sqlstate(c), "25P02");
	assert_int_equal(pg_begin(c), 0);
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES ($1, $2)", 2, v2, NULL, NULL, NULL), 0);
	assert_int_equal(pg_commit(c), 0);
	assert_int_equal(pg_exec_params(c, "SELECT count(*) FROM t", 0, NULL, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
	assert_int_equal(pg_conn_generation(c), gen);

	/* read-only (what a demoted primary answers): down, and the next ensure reconnects */
	assert_int_equal(pg_exec(c, "SET default_transaction_read_only = on"), 0);
	assert_int_equal(pg_exec_params(c, "INSERT INTO t VALUES (3, 'x')", 0, NULL, NULL, NULL, NULL), -EROFS);
	assert_string_equal(pg_conn_sqlstate(c), "25006");
	assert_false(pg_conn_up(c));
	assert_int_equal(pg_exec(c, "SELECT 1"), -ENOTCONN);
	assert_int_equal(pg_conn_ensure(c), 0);
	assert_int_equal(pg_conn_generation(c), gen + 1);

	/* 57P01: the session terminated by an administrator */
	{
		struct pg_conn *admin = connect_ok(primary, "admin");
		char pid[16];
		const char *vals[1] = { pid };

		snprintf(pid, sizeof(pid), "%d", pg_conn_server(c)->backend_pid);
		assert_int_equal(pg_exec_params(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1, vals, NULL, NULL, NULL), 0);
		assert_int_equal(pg_exec(c, "SELECT 1"), -ENOTCONN);
		assert_false(pg_conn_up(c));
		assert_int_equal(pg_rollback(c), 0);
		assert_int_equal(pg_conn_ensure(c), 0);
		assert_int_equal(pg_conn_generation(c), gen + 2);
		assert_int_equal(pg_exec(c, "DROP TABLE t"), 0);
		pg_conn_free(admin);
	}
	pg_conn_free(c);
}

struct heard {
	int n;
	char channel[64];
	char payload[256];
	int pid;
};

static void
hear(void *arg, const char *channel, const char *payload, int pid)
{
	struct heard *h = arg;

	h->n++;
	snprintf(h->channel, sizeof(h->channel), "%s", channel);
	snprintf(h->payload, sizeof(h->payload), "%s", payload);
	h->pid = pid;
}

/* Waits up to 5 s for a notification on c. */
static int
wait_notify(struct pg_conn *c, struct heard *h)
{
	usec_t end = time_mono() + 5 * USEC_PER_SEC;
	int rc;

	while ((rc = pg_wait(c, -1, 1000, hear, h)) == 0 && time_mono() < end)
		;
	return rc;
}

static void
test_listen_notify(void **state)
{
	struct pg_conn *a = connect_ok(primary, "node-a"), *b = connect_ok(primary, "node-b");
	const char *payload = "it's a \"quote\"\nand a new line; $1 \\ ';--";
	struct heard h = { 0 };
	usec_t t0;

	(void)state;
	assert_int_equal(pg_listen(a, "bad-name"), -EINVAL);
	assert_int_equal(pg_listen(a, ""), -EINVAL);
	assert_int_equal(pg_listen(a, "x\"; DROP TABLE t; --"), -EINVAL);
	assert_int_equal(pg_listen(a, "lazaret_changes"), 0);
	assert_int_equal(pg_listen(a, "lazaret_changes"), 0);   /* once is enough, twice harmless */

	assert_int_equal(pg_notify(b, "lazaret_changes", payload), 0);
	assert_int_equal(wait_notify(a, &h), PG_WAIT_NOTIFY);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.channel, "lazaret_changes");
	assert_string_equal(h.payload, payload);
	assert_int_equal(h.pid, pg_conn_server(b)->backend_pid);

	/* in a transaction: delivered at commit, not before */
	assert_int_equal(pg_begin(b), 0);
	assert_int_equal(pg_notify(b, "lazaret_changes", "42"), 0);
	t0 = time_mono();
	assert_int_equal(pg_wait(a, -1, 300, hear, &h), 0);
	assert_true(time_mono() - t0 >= 250000);
	assert_int_equal(h.n, 1);
	assert_int_equal(pg_commit(b), 0);
	assert_int_equal(wait_notify(a, &h), PG_WAIT_NOTIFY);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.payload, "42");

	/* a channel nobody listens on reaches nobody */
	assert_int_equal(pg_notify(b, "elsewhere", "x"), 0);
	assert_int_equal(pg_wait(a, -1, 200, hear, &h), 0);
	assert_int_equal(h.n, 2);

	/* notifications that arrived with a statement's answer are handed out without waiting */
	assert_int_equal(pg_notify(b, "lazaret_changes", "queued"), 0);
	usleep(100000);
	assert_int_equal(pg_exec(a, "SELECT pg_sleep(0.1)"), 0);
	t0 = time_mono();
	assert_int_equal(pg_wait(a, -1, 2000, hear, &h), PG_WAIT_NOTIFY);
	assert_true(time_mono() - t0 < 500000);
	assert_string_equal(h.payload, "queued");
	pg_conn_free(a);
	pg_conn_free(b);
}

/* The session's prepared statements (pg_prepared_statements), asked on c itself. */
static int
prepared_count(struct pg_conn *c)
{
	PGresult *res = NULL;
	int n;

	assert_int_equal(pg_exec_params(c, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, NULL, NULL, &res), 0);
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/*
 * pg_exec_cached: a statement prepared on its first use on a connection and only executed
 * after (one prepared statement however often it runs, each run with its own values); a
 * text that differs is another statement, even at the same address; a statement the server
 * refuses is its error and prepares nothing; after a reconnect the statements are prepared
 * again on the new session; past PG_PREPARED_MAX the others still run, unprepared.
 */
static void
test_exec_cached(void **state)
{
	struct pg_conn *c = connect_ok(primary, "cached");
	PGresult *res = NULL;
	char sql[128], v[16];
	const char *vals[1] = { v };

	(void)state;
	assert_int_equal(prepared_count(c), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "%d", 40 + i);
		assert_int_equal(pg_exec_cached(c, "SELECT $1::int + 1", 1, vals, &res), 0);
		assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 41 + i);
		PQclear(res);
	}
	assert_int_equal(prepared_count(c), 1);
	/* the same buffer, another text: another statement, not the first one's plan */
	snprintf(sql, sizeof(sql), "SELECT $1::int * 2");
	assert_int_equal(pg_exec_cached(c, sql, 1, vals, &res), 0);
	assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 84);
	PQclear(res);
	snprintf(sql, sizeof(sql), "SELECT $1::int * 3");
	assert_int_equal(pg_exec_cached(c, sql, 1, vals, &res), 0);
	assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 126);
	PQclear(res);
	assert_int_equal(prepared_count(c), 3);
	/* refused by the server: its error, nothing prepared, the connection up */
	assert_int_equal(pg_exec_cached(c, "SELEC 1", 0, NULL, NULL), -EIO);
	assert_string_equal(pg_conn_sqlstate(c), "42601");
	assert_true(pg_conn_up(c));
	assert_int_equal(prepared_count(c), 3);

	/* the session killed: down; once back, the statements are prepared on the new one */
	struct pg_conn *admin = connect_ok(primary, "admin");
	char pid[16];
	const char *pids[1] = { pid };
	snprintf(pid, sizeof(pid), "%d", pg_conn_server(c)->backend_pid);
	assert_int_equal(pg_exec_params(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1, pids, NULL, NULL, NULL),
	    0);
	pg_conn_free(admin);
	assert_int_equal(pg_exec_cached(c, "SELECT $1::int + 1", 1, vals, NULL), -ENOTCONN);
	assert_int_equal(pg_conn_ensure(c), 0);
	assert_int_equal(prepared_count(c), 0);
	assert_int_equal(pg_exec_cached(c, "SELECT $1::int + 1", 1, vals, &res), 0);
	assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 43);
	PQclear(res);
	assert_int_equal(prepared_count(c), 1);

	/* more statements than the cache holds: every one runs, PG_PREPARED_MAX are prepared */
	for (int i = 0; i < PG_PREPARED_MAX + 8; i++) {
		snprintf(sql, sizeof(sql), "SELECT $1::int + %d", i);
		assert_int_equal(pg_exec_cached(c, sql, 1, vals, &res), 0);
		assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 42 + i);
		PQclear(res);
	}
	assert_int_equal(prepared_count(c), PG_PREPARED_MAX);
	pg_conn_free(c);
}

/* pg_exec_notify: a statement (taking a lock, as the shared store's pushes do) and its
 * notification committed in one round trip, or nothing at all, and the connection as usable
 * after as before. */
static void
test_exec_notify(void **state)
{
	struct pg_conn *c = connect_ok(primary, "node-a"), *l = connect_ok(primary, "listener");
	const char *locked = "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(4242)) "
	    "INSERT INTO s SELECT v FROM l, unnest($1::int[]) AS v";
	const char *ok[1] = { "{1,2}" }, *dup[1] = { "{3,1}" };
	struct heard h = { 0 };
	PGresult *res = NULL;

	(void)state;
	assert_int_equal(pg_exec(c, "DROP TABLE IF EXISTS s; CREATE TABLE s (id int PRIMARY KEY)"), 0);
	assert_int_equal(pg_listen(l, "lazaret_changes"), 0);
	assert_int_equal(pg_exec_notify(c, locked, 1, ok, "lazaret_changes", "pushed"), 0);
	assert_int_equal(wait_notify(l, &h), PG_WAIT_NOTIFY);
	assert_string_equal(h.payload, "pushed");
	assert_int_equal(pg_exec_params(l, "SELECT count(*) FROM s", 0, NULL, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
	/* committed: the lock went with the transaction */
	assert_int_equal(pg_exec_params(l, "SELECT pg_try_advisory_xact_lock(4242)", 0, NULL, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	PQclear(res);

	/* the statement fails: its error, nothing of it kept, no notification, still up */
	assert_int_equal(pg_exec_notify(c, locked, 1, dup, "lazaret_changes", "refused"), -EEXIST);
	assert_string_equal(pg_conn_sqlstate(c), "23505");
	assert_true(pg_conn_up(c));
	assert_int_equal(pg_wait(l, -1, 200, hear, &h), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(pg_exec_notify(c, "INSERT INTO s SELEC 4", 0, NULL, "lazaret_changes", "skipped"), -EIO);
	assert_string_equal(pg_conn_sqlstate(c), "42601");
	assert_int_equal(pg_exec_params(c, "SELECT count(*) FROM s", 0, NULL, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "2");
	PQclear(res);
	assert_int_equal(pg_wait(l, -1, 200, hear, &h), 0);
	assert_int_equal(h.n, 1);

	/* back to one statement at a time, and to explicit transactions */
	assert_int_equal(pg_begin(c), 0);
	assert_int_equal(pg_exec(c, "INSERT INTO s VALUES (5)"), 0);
	assert_int_equal(pg_commit(c), 0);
	assert_int_equal(pg_exec_notify(c, locked, 1, (const char *[]){ "{6}" }, "lazaret_changes", "x"), 0);
	assert_int_equal(pg_exec_params(c, "SELECT count(*) FROM s", 0, NULL, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "4");
	PQclear(res);

	/* the session killed: -ENOTCONN, down */
	{
		struct pg_conn *admin = connect_ok(primary, "admin");
		char pid[16];
		const char *vals[1] = { pid };

		snprintf(pid, sizeof(pid), "%d", pg_conn_server(c)->backend_pid);
		assert_int_equal(pg_exec_params(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1, vals, NULL, NULL,
		    NULL), 0);
		assert_int_equal(pg_exec_notify(c, "INSERT INTO s VALUES (7)", 0, NULL, "lazaret_changes", "x"), -ENOTCONN);
		assert_false(pg_conn_up(c));
		assert_int_equal(pg_conn_ensure(c), 0);
		assert_int_equal(pg_exec(c, "DROP TABLE s"), 0);

		/* an idle session ended by the server: the FATAL it sent is the reason given */
		struct pg_conn *w = connect_ok(primary, "waiter");
		snprintf(pid, sizeof(pid), "%d", pg_conn_server(w)->backend_pid);
		assert_int_equal(pg_exec_params(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1, vals, NULL, NULL,
		    NULL), 0);
		assert_int_equal(pg_wait(w, -1, 5000, NULL, NULL), -ENOTCONN);
		assert_false(pg_conn_up(w));
		assert_non_null(strstr(pg_conn_error(w), "terminating connection"));
		assert_string_equal(pg_conn_sqlstate(w), "57P01");
		pg_conn_free(w);
		pg_conn_free(admin);
	}
	pg_conn_free(l);
	pg_conn_free(c);
}

static void *
wake_later(void *arg)
{
	uint64_t one = 1;

	usleep(200000);
	if (write(*(int *)arg, &one, sizeof(one)) != sizeof(one))
		abort();
	return NULL;
}

static void
test_wake_fd(void **state)
{
	struct pg_conn *c = connect_ok(primary, "node-a");
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct heard h = { 0 };
	pthread_t t;
	usec_t t0, took;

	(void)state;
	assert_true(efd >= 0);
	assert_int_equal(pg_listen(c, "lazaret_changes"), 0);
	t0 = time_mono();
	assert_int_equal(pthread_create(&t, NULL, wake_later, &efd), 0);
	assert_int_equal(pg_wait(c, efd, 10000, hear, &h), PG_WAIT_WAKE);
	took = time_mono() - t0;
	pthread_join(t, NULL);
	assert_true(took >= 150000);
	assert_true(took < 3 * USEC_PER_SEC);
	assert_int_equal(h.n, 0);
	/* the wake was consumed: the next wait times out */
	t0 = time_mono();
	assert_int_equal(pg_wait(c, efd, 200, hear, &h), 0);
	assert_true(time_mono() - t0 >= 150000);
	/* both at once */
	{
		struct pg_conn *b = connect_ok(primary, "node-b");
		uint64_t one = 1;

		assert_int_equal(pg_notify(b, "lazaret_changes", "both"), 0);
		usleep(100000);
		assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
		assert_int_equal(pg_wait(c, efd, 2000, hear, &h), PG_WAIT_WAKE | PG_WAIT_NOTIFY);
		assert_string_equal(h.payload, "both");
		pg_conn_free(b);
	}
	close(efd);
	pg_conn_free(c);
}

static void
test_kill_reconnect(void **state)
{
	struct pg_conn *c = connect_ok(primary, "node-a"), *w = connect_ok(primary, "node-w");
	struct pg_server before;
	struct heard h = { 0 };
	uint64_t gen;
	usec_t t0, end;
	int attempts = 0, waits = 0, rc;

	(void)state;
	assert_int_equal(pg_listen(c, "lazaret_changes"), 0);
	gen = pg_conn_generation(c);
	before = *pg_conn_server(c);

	assert_int_equal(pg_cluster_cmd(&cluster, "kill", "p", NULL), 0);
	/* a waiting connection learns at once, a statement fails with a connection code */
	t0 = time_mono();
	assert_int_equal(pg_wait(w, -1, 5000, hear, &h), -ENOTCONN);
	assert_true(time_mono() - t0 < USEC_PER_SEC);
	assert_false(pg_conn_up(w));
	assert_int_equal(pg_exec(c, "SELECT 1"), -ENOTCONN);
	assert_false(pg_conn_up(c));

	/* down for 1.5 s: every call fails quickly, attempts spaced by the backoff */
	end = time_mono() + 1500000;
	while (time_mono() < end) {
		t0 = time_mono();
		rc = pg_conn_ensure(c);
		assert_true(time_mono() - t0 < USEC_PER_SEC);
		if (rc == -EAGAIN) {
			waits++;
			assert_true(pg_conn_retry_in(c) > 0);
			assert_true(pg_conn_retry_in(c) <= PG_BACKOFF_MAX);
		} else {
			assert_int_equal(rc, -ENOTCONN);
			attempts++;
		}
		usleep(10000);
	}
	/* 0, 50-100, 100-200, 200-400, 400-800 ms: 3 to 5 attempts in 1.5 s, not 150 */
	assert_true(attempts >= 3);
	assert_true(attempts <= 5);
	assert_true(waits > 50);
	assert_int_equal(pg_conn_generation(c), gen);

	assert_int_equal(pg_cluster_cmd(&cluster, "start", "p", NULL), 0);
	end = time_mono() + 10 * USEC_PER_SEC;
	while ((rc = pg_conn_ensure(c)) != 0 && time_mono() < end)
		usleep(pg_conn_retry_in(c) > 0 ? (useconds_t)pg_conn_retry_in(c) : 10000);
	assert_int_equal(rc, 0);
	assert_int_equal(pg_conn_generation(c), gen + 1);
	/* the same server, not a failover */
	assert_true(pg_conn_server(c)->system_identifier == before.system_identifier);
	assert_int_equal(pg_conn_server(c)->timeline, before.timeline);
	assert_true(pg_conn_server(c)->lsn > before.lsn);   /* crash recovery wrote a checkpoint */

	/* LISTEN issued again: a notification sent after the restart arrives */
	end = time_mono() + 10 * USEC_PER_SEC;
	while ((rc = pg_conn_ensure(w)) != 0 && time_mono() < end)
		usleep(pg_conn_retry_in(w) > 0 ? (useconds_t)pg_conn_retry_in(w) : 10000);
	assert_int_equal(rc, 0);
	assert_int_equal(pg_notify(w, "lazaret_changes", "after restart"), 0);
	assert_int_equal(wait_notify(c, &h), PG_WAIT_NOTIFY);
	assert_string_equal(h.payload, "after restart");
	pg_conn_free(c);
	pg_conn_free(w);
}

static int
ensure_within(struct pg_conn *c, usec_t limit)
{
	usec_t end = time_mono() + limit;
	int rc;

	while ((rc = pg_conn_ensure(c)) != 0 && time_mono() < end)
		usleep(pg_conn_retry_in(c) > 0 ? (useconds_t)pg_conn_retry_in(c) : 10000);
	return rc;
}

static void
test_standby_failover(void **state)
{
	char standby[PATH_MAX + 128], multi[2 * PATH_MAX + 256], v[64], pport[16], sport[16];
	char pdir[PATH_MAX], sdir[PATH_MAX];
	struct pg_conn *direct, *m;
	uint64_t sysid, gen;
	const char *p;

	(void)state;
	assert_int_equal(pg_cluster_run(&cluster, "standby", "p", "s", standby, sizeof(standby)), 0);
	assert_true(strlen(standby) > 0);

	/* a standby named alone (target_session_attrs=any) is still refused as not read-write */
	direct = pg_conn_new(standby, "node-a");
	assert_int_equal(pg_conn_ensure(direct), -EROFS);
	assert_false(pg_conn_up(direct));
	assert_non_null(strstr(pg_conn_error(direct), "standby"));
	assert_int_equal(pg_conn_generation(direct), 0);
	assert_int_equal(pg_conn_ensure(direct), -EAGAIN);
	pg_conn_free(direct);

	/* host=P,S: lands on the primary, whatever the order */
	snprintf(pdir, sizeof(pdir), "%s/p", cluster.base);
	snprintf(sdir, sizeof(sdir), "%s/s", cluster.base);
	assert_non_null(p = strstr(primary, "port="));
	snprintf(pport, sizeof(pport), "%.*s", (int)strcspn(p + 5, " "), p + 5);
	assert_non_null(p = strstr(standby, "port="));
	snprintf(sport, sizeof(sport), "%.*s", (int)strcspn(p + 5, " "), p + 5);
	snprintf(multi, sizeof(multi), "host=%s,%s port=%s,%s dbname=lazaret user=lazaret "
	    "target_session_attrs=read-write", sdir, pdir, sport, pport);
	m = connect_ok(multi, "node-a");
	assert_int_equal(query1(m, "SHOW port", v, sizeof(v)), 0);
	assert_string_equal(v, pport);
	sysid = pg_conn_server(m)->system_identifier;
	gen = pg_conn_generation(m);
	assert_int_equal(pg_conn_server(m)->timeline, 1);
	assert_int_equal(pg_exec(m, "CREATE TABLE IF NOT EXISTS failover (id int PRIMARY KEY)"), 0);
	assert_int_equal(pg_exec(m, "INSERT INTO failover VALUES (1)"), 0);
	/* what the standby has replayed by now survives the promotion */
	assert_int_equal(pg_exec(m, "SELECT pg_sleep(0.5)"), 0);

	/* the primary dies, the standby is promoted: the same conninfo finds the new primary */
	assert_int_equal(pg_cluster_cmd(&cluster, "kill", "p", NULL), 0);
	assert_int_equal(pg_exec(m, "SELECT 1"), -ENOTCONN);
	assert_int_equal(pg_cluster_cmd(&cluster, "promote", "s", NULL), 0);
	assert_int_equal(ensure_within(m, 15 * USEC_PER_SEC), 0);
	assert_int_equal(pg_conn_generation(m), gen + 1);
	assert_int_equal(query1(m, "SHOW port", v, sizeof(v)), 0);
	assert_string_equal(v, sport);
	/* a failover, not another cluster: same system identifier, a new timeline */
	assert_true(pg_conn_server(m)->system_identifier == sysid);
	assert_int_equal(pg_conn_server(m)->timeline, 2);
	assert_int_equal(query1(m, "SELECT count(*)::text FROM failover", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	assert_int_equal(pg_exec(m, "INSERT INTO failover VALUES (2)"), 0);
	pg_conn_free(m);
}

/* ---- the shared store's schema (pg_schema.c) ---- */

static void
schema_drop(struct pg_conn *c)
{
	/* the tests' own reset: lazaret itself never drops anything */
	assert_int_equal(pg_exec(c, "DROP TABLE IF EXISTS lz_evidence_log, lz_evidence, lz_changes, lz_nodes, lz_schema; "
	    "DROP SEQUENCE IF EXISTS lz_evidence_seq"), 0);
}

struct migrator {
	const char *conninfo;
	char node[16];
	int rc, from, to;
};

static void *
migrate_thread(void *arg)
{
	struct migrator *m = arg;
	struct pg_conn *c = pg_conn_new(m->conninfo, m->node);

	m->rc = c == NULL ? -ENOMEM : pg_conn_ensure(c);
	if (m->rc == 0)
		m->rc = pg_schema_migrate(c, m->node, &m->from, &m->to);
	pg_conn_free(c);
	return NULL;
}

/*
 * Migrations: a fresh database gets every table and one lz_schema row per version; run
 * again, nothing changes; four nodes starting at once apply it once between them; a
 * schema newer than this lazaret knows is refused and left alone; and the change feed's
 * key makes a change pushed twice (after a failover) land once.
 */
static void
test_schema_migrate(void **state)
{
	struct pg_conn *c = connect_ok(primary, "schema-test");
	char v[64];
	int from = -1, to = -1, version = -1;

	(void)state;
	schema_drop(c);
	assert_int_equal(pg_schema_version(c, &version), 0);
	assert_int_equal(version, 0);
	assert_int_equal(pg_schema_migrate(c, "relay1", &from, &to), 0);
	assert_int_equal(from, 0);
	assert_int_equal(to, PG_SCHEMA_VERSION);
	assert_int_equal(query1(c, "SELECT count(*) FROM lz_schema", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), PG_SCHEMA_VERSION);
	assert_int_equal(query1(c, "SELECT node FROM lz_schema WHERE version = 1", v, sizeof(v)), 0);
	assert_string_equal(v, "relay1");
	assert_int_equal(query1(c, "SELECT count(*) FROM lz_nodes", v, sizeof(v)), 0);
	assert_int_equal(query1(c, "SELECT count(*) FROM lz_changes", v, sizeof(v)), 0);

	/* again: nothing to do */
	assert_int_equal(pg_schema_migrate(c, "relay2", &from, &to), 0);
	assert_int_equal(from, PG_SCHEMA_VERSION);
	assert_int_equal(query1(c, "SELECT count(*) FROM lz_schema", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), PG_SCHEMA_VERSION);

	/* four nodes at once on a fresh database: each succeeds, the migration is made once */
	schema_drop(c);
	struct migrator m[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		m[i] = (struct migrator){ .conninfo = primary, .rc = -1 };
		snprintf(m[i].node, sizeof(m[i].node), "node%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, migrate_thread, &m[i]), 0);
	}
	int fresh = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(m[i].rc, 0);
		assert_int_equal(m[i].to, PG_SCHEMA_VERSION);
		fresh += m[i].from == 0;
	}
	assert_int_equal(fresh, 1);
	assert_int_equal(query1(c, "SELECT count(*) FROM lz_schema", v, sizeof(v)), 0);
	assert_int_equal(atoi(v), PG_SCHEMA_VERSION);

	/* a newer schema (a newer lazaret migrated it): refused, nothing written */
	char future[64];
	snprintf(future, sizeof(future), "INSERT INTO lz_schema (version, node) VALUES (%d, 'future')",
	    PG_SCHEMA_VERSION + 1);
	assert_int_equal(pg_exec(c, future), 0);
	assert_int_equal(pg_schema_migrate(c, "old", &from, &to), -EPROTO);
	assert_int_equal(from, PG_SCHEMA_VERSION + 1);
	assert_int_equal(query1(c, "SELECT count(*) FROM lz_schema WHERE node = 'old'", v, sizeof(v)), 0);
	assert_string_equal(v, "0");
	assert_true(pg_conn_up(c));

	/* the change feed: (node, node_seq) once, whoever pushes it how often; seq orders all */
	const char *push = "INSERT INTO lz_changes (node, node_seq, at, kind, subject) VALUES ($1, $2, 0, 'level', 'x')"
	    " ON CONFLICT (node, node_seq) DO NOTHING";
	const char *a1[2] = { "relay1", "1" }, *a2[2] = { "relay1", "2" }, *b1[2] = { "relay2", "1" };
	assert_int_equal(pg_exec_params(c, push, 2, a1, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec_params(c, push, 2, a2, NULL, NULL, NULL), 0);
	assert_int_equal(pg_exec_params(c, push, 2, a1, NULL, NULL, NULL), 0);      /* again, after a failover */
	assert_int_equal(pg_exec_params(c, push, 2, b1, NULL, NULL, NULL), 0);
	assert_int_equal(query1(c, "SELECT string_agg(node || ':' || node_seq, ',' ORDER BY seq) FROM lz_changes",
	    v, sizeof(v)), 0);
	assert_string_equal(v, "relay1:1,relay1:2,relay2:1");
	schema_drop(c);
	pg_conn_free(c);
}

/* conninfo with its user replaced by `user` (the tests' conninfo ends in user=lazaret) */
static void
conninfo_as(char *out, size_t size, const char *user)
{
	const char *at = strstr(primary, "user=");

	assert_non_null(at);
	snprintf(out, size, "%.*suser=%s", (int)(at - primary), primary, user);
}

/*
 * Storage (pg_schema.c, storage_tune): after a migration the batch columns are compressed
 * with lz4; a long batch row is stored several times smaller and reads back the same; an
 * older lazaret's setting (uncompressed) is changed by the next node that migrates; a role
 * that does not own the tables migrates all the same, leaving the setting as it was.
 */
static void
test_schema_storage(void **state)
{
	struct pg_conn *c = connect_ok(primary, "storage-test");
	const char *storage = "SELECT string_agg(attname || ':' || attcompression::text || attstorage::text, ',' ORDER BY attname) "
	    "FROM pg_attribute WHERE (attrelid = 'lz_changes'::regclass AND attname = 'verdict') OR "
	    "(attrelid = 'lz_evidence_log'::regclass AND attname = 'lines')";
	const char *uncompress = "ALTER TABLE lz_changes ALTER COLUMN verdict SET STORAGE EXTERNAL, ALTER COLUMN verdict "
	    "SET COMPRESSION pglz; ALTER TABLE lz_evidence_log ALTER COLUMN lines SET STORAGE EXTERNAL";
	char v[256], other[PATH_MAX + 128];
	int from, to;

	const char *said = NULL;

	(void)state;
	schema_drop(c);
	assert_int_equal(pg_schema_storage(c, &said), 0);
	assert_string_equal(said, "no tables yet");
	assert_int_equal(pg_schema_migrate(c, "relay1", &from, &to), 0);
	assert_int_equal(query1(c, storage, v, sizeof(v)), 0);
	assert_string_equal(v, "lines:lx,verdict:lx");
	assert_int_equal(pg_schema_storage(c, &said), 0);
	assert_string_equal(said, "lz4");

	/* 2 000 lines of a batch, 200-odd bytes each, alike as a mass quarantine's are */
	size_t cap = 2000 * 256, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%d\t1765000000%06d\thost:100.96.%d.%d\tquarantine\t"
		    "normal\tjudge\tscore 3.50 reached quarantine (3): Shadowserver report (event4_drone): the "
		    "'mirai' bot on this connection was seen (tcp, to 198.51.100.200:80)\n", i + 1, i, i / 256, i % 256);
	const char *params[2] = { text, "2000" };
	assert_int_equal(pg_exec_params(c, "INSERT INTO lz_changes (node, node_seq, at, kind, subject, verdict, count) "
	    "VALUES ('relay1', 2000, 0, 'verdicts', '', $1, $2::integer)", 2, params, NULL, NULL, NULL), 0);
	assert_int_equal(query1(c, "SELECT pg_column_compression(verdict) || ' ' || (pg_column_size(verdict) * 4 < "
	    "octet_length(verdict)) FROM lz_changes", v, sizeof(v)), 0);
	assert_string_equal(v, "lz4 true");
	PGresult *res = NULL;
	assert_int_equal(pg_exec_params(c, "SELECT verdict FROM lz_changes", 0, NULL, NULL, NULL, &res), 0);
	assert_int_equal((size_t)PQgetlength(res, 0, 0), len);
	assert_memory_equal(PQgetvalue(res, 0, 0), text, len);
	PQclear(res);
	free(text);

	/* as an older lazaret left it: the next migration compresses */
	assert_int_equal(pg_exec(c, uncompress), 0);
	assert_int_equal(pg_schema_storage(c, &said), 0);
	assert_string_equal(said, "uncompressed");
	assert_int_equal(pg_schema_migrate(c, "relay2", &from, &to), 0);
	assert_int_equal(from, PG_SCHEMA_VERSION);
	assert_int_equal(query1(c, storage, v, sizeof(v)), 0);
	assert_string_equal(v, "lines:lx,verdict:lx");

	/* a role that may use the tables but does not own them: migrated, storage left alone */
	assert_int_equal(pg_exec(c, uncompress), 0);
	conninfo_as(other, sizeof(other), "postgres");
	struct pg_conn *su = connect_ok(other, "storage-su");
	assert_int_equal(pg_exec(su, "DROP ROLE IF EXISTS lz_user; CREATE ROLE lz_user LOGIN; "
	    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lz_user"), 0);
	conninfo_as(other, sizeof(other), "lz_user");
	struct pg_conn *u = connect_ok(other, "storage-user");
	assert_int_equal(pg_schema_migrate(u, "relay3", &from, &to), 0);
	assert_int_equal(to, PG_SCHEMA_VERSION);
	assert_true(pg_conn_up(u));
	assert_int_equal(query1(c, storage, v, sizeof(v)), 0);
	assert_string_equal(v, "lines:le,verdict:pe");
	pg_conn_free(u);
	assert_int_equal(pg_exec(su, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM lz_user; DROP ROLE lz_user"), 0);
	pg_conn_free(su);
	schema_drop(c);
	pg_conn_free(c);
}

/*
 * pg_array: texts of every awkward kind through a literal and unnest() come back as they
 * went, in order, one row each (quotes, backslashes, braces, commas, spaces, "NULL", the
 * empty text, non-ASCII), and the empty array is no row.
 */
static void
test_array_literal(void **state)
{
	static const char *const texts[] = {
		"plain", "", "NULL", "null", " lead and trail ", "a,b", "{x}", "}", "{", "\"", "\\", "\\\"",
		"say \"hi\"\\", "tab\there", "new\nline", "caf\xc3\xa9 \xe2\x80\xae", "'; DROP TABLE t;--",
		"ARRAY[1]", "\\N", "a\"b,c}d{e\\f",
	};
	size_t n = sizeof(texts) / sizeof(texts[0]);
	struct pg_conn *c = connect_ok(primary, "node-a");
	struct pg_array a = { 0 }, none = { 0 };
	PGresult *res = NULL;

	(void)state;
	for (size_t i = 0; i < n; i++)
		pg_array_add(&a, texts[i], strlen(texts[i]));
	const char *lit = pg_array_text(&a);
	assert_non_null(lit);
	assert_int_equal(pg_exec_params(c, "SELECT t, i FROM unnest($1::text[]) WITH ORDINALITY AS u (t, i) ORDER BY i",
	    1, &lit, NULL, NULL, &res), 0);
	assert_int_equal(PQntuples(res), (int)n);
	for (size_t i = 0; i < n; i++) {
		assert_false(PQgetisnull(res, (int)i, 0));
		if (strcmp(PQgetvalue(res, (int)i, 0), texts[i]) != 0)
			fail_msg("element %zu: sent '%s', got '%s'", i, texts[i], PQgetvalue(res, (int)i, 0));
	}
	PQclear(res);
	/* an array of numbers as the shared store sends them, and the empty one */
	struct pg_array nums = { 0 };
	pg_array_add(&nums, "9223372036854775807", 19);
	pg_array_add(&nums, "-1", 2);
	const char *params[2] = { pg_array_text(&nums), pg_array_text(&none) };
	assert_string_equal(params[1], "{}");
	assert_int_equal(pg_exec_params(c, "SELECT (SELECT sum(x::numeric)::text FROM unnest($1::bigint[]) x), "
	    "cardinality($2::text[])", 2, params, NULL, NULL, &res), 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "9223372036854775806");
	assert_string_equal(PQgetvalue(res, 0, 1), "0");
	PQclear(res);
	pg_array_free(&a);
	pg_array_free(&nums);
	pg_array_free(&none);
	pg_conn_free(c);
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_conninfo_check),
		cmocka_unit_test(test_conninfo_mask),
		cmocka_unit_test(test_conninfo_is_pg),
		cmocka_unit_test(test_connect_timeout),
	};
	/* in this order: the kill restarts the primary, the failover leaves it dead */
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_connect_identity),
		cmocka_unit_test(test_exec_sqlstate),
		cmocka_unit_test(test_array_literal),
		cmocka_unit_test(test_listen_notify),
		cmocka_unit_test(test_exec_notify),
		cmocka_unit_test(test_exec_cached),
		cmocka_unit_test(test_wake_fd),
		cmocka_unit_test(test_schema_migrate),
		cmocka_unit_test(test_schema_storage),
		cmocka_unit_test(test_kill_reconnect),
		cmocka_unit_test(test_standby_failover),
	};
	int failed;

	log_init("test_pg", 0, LOG_LEVEL_WARN);
	failed = cmocka_run_group_tests_name("pg_pure", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("pg_cluster", live, cluster_setup, cluster_teardown);
	return failed ? 1 : 0;
}
