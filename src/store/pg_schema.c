/*
 * pg_schema.c — the shared store's schema and its migrations (pg_schema.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "store/pg_schema.h"

static int read_version(struct pg_conn *c, int *version);

/* The advisory lock every migrating node takes: "lzschema" as a number. */
#define SCHEMA_LOCK "7813197381726853485"

/*
 * Migration N is migrations[N - 1]. Additive only: a new table, column or index in a new
 * migration; never a change to an earlier one once released.
 */
static const char *const migrations[PG_SCHEMA_VERSION] = {
	/* 1: the schema's own record, the nodes, the change feed (doc/SPEC-dev.md) */
	"CREATE TABLE lz_schema ("
	" version integer PRIMARY KEY,"
	" applied_at timestamptz NOT NULL DEFAULT now(),"
	" node text NOT NULL);"
	"CREATE TABLE lz_nodes ("
	" name text PRIMARY KEY,"
	" role text NOT NULL DEFAULT '',"
	" version text NOT NULL DEFAULT '',"
	" started bigint NOT NULL DEFAULT 0,"
	" last_contact bigint NOT NULL DEFAULT 0,"
	" applied bigint NOT NULL DEFAULT 0,"
	" enforcing text NOT NULL DEFAULT '');"
	/* each node's changes in the order it made them (node_seq), once each whatever how
	 * often a node pushes them again (after a failover), in one order for all (seq) */
	"CREATE TABLE lz_changes ("
	" seq bigserial PRIMARY KEY,"
	" node text NOT NULL,"
	" node_seq bigint NOT NULL,"
	" at bigint NOT NULL,"
	" kind text NOT NULL,"
	" subject text NOT NULL,"
	" body jsonb NOT NULL DEFAULT '{}',"
	" UNIQUE (node, node_seq));",
	/* 2: each node's own evidence about each subject, its latest state per kind: every node
	 * adds the others' to its own (shared.h); seq, renewed at every update, is what a node
	 * reads after */
	"CREATE SEQUENCE lz_evidence_seq;"
	"CREATE TABLE lz_evidence ("
	" subject text NOT NULL,"
	" node text NOT NULL,"
	" kind text NOT NULL,"
	" value double precision NOT NULL,"
	" value_time bigint NOT NULL,"
	" count bigint NOT NULL,"
	" first_seen bigint NOT NULL,"
	" last_seen bigint NOT NULL,"
	" summary text NOT NULL,"
	" seq bigint NOT NULL,"
	" PRIMARY KEY (subject, node, kind));"
	"CREATE INDEX lz_evidence_by_seq ON lz_evidence (seq);"
	/* the trim keeps each subject's newest change: found by subject */
	"CREATE INDEX lz_changes_by_subject ON lz_changes (subject, seq);",
	/* 3: a change's verdict as a line of text (shared.h, "the verdict line") rather than a
	 * jsonb body: half the server's work to insert one, a third to read one back; the rows
	 * written before keep their body, which the nodes still read */
	"ALTER TABLE lz_changes ADD COLUMN verdict text;",
	/* 4: evidence as a log, a push of a node a row, its publications a line each (shared.h,
	 * "the evidence line"): one insert for a batch rather than an upsert a publication, read
	 * back without parsing; lz_evidence becomes each node's fold of its log, once a minute,
	 * up to evidence_folded (what a node starting from nothing reads first). The lines are
	 * not compressed: they are read back soon, and compressing them cost more than storing
	 * them. at: the server's clock, for the trim. */
	"CREATE TABLE lz_evidence_log ("
	" seq bigserial PRIMARY KEY,"
	" node text NOT NULL,"
	" at bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,"
	" count integer NOT NULL,"
	" lines text NOT NULL);"
	"ALTER TABLE lz_evidence_log ALTER COLUMN lines SET STORAGE EXTERNAL;"
	"CREATE INDEX lz_evidence_log_by_node ON lz_evidence_log (node, seq);"
	"ALTER TABLE lz_nodes ADD COLUMN evidence_folded bigint NOT NULL DEFAULT 0;",
	/* 5: verdicts in batches (shared.h, "a batch row"): a push of a node's changes as one row,
	 * a line each, count of them, rather than a row each (its insert into three indexes and
	 * three nodes reading it back were half the server's work in a mass quarantine); the rows
	 * written before keep theirs, which the nodes still read. Not compressed, as the log. */
	"ALTER TABLE lz_changes ADD COLUMN count integer NOT NULL DEFAULT 1;"
	"ALTER TABLE lz_changes ALTER COLUMN verdict SET STORAGE EXTERNAL;",
};

/*
 * Storage, not schema: the long texts a node writes and every other node reads back at once,
 * a batch of verdicts (lz_changes.verdict, up to 2 048 lines) and a push of evidence
 * (lz_evidence_log.lines, up to 2 000), compressed with lz4 when the server has it
 * (PostgreSQL 14 and later, built with it, as Debian's is). Their repeated words shrink them
 * several times over: fewer TOAST chunks to write, log and fetch back, a third of the
 * server's CPU in a mass quarantine (bench/README, "Batches compressed with lz4"). pglz, the
 * default, cost more than it saved (migrations 4 and 5 store them uncompressed); a server
 * without lz4 keeps them so.
 * Not a migration: a row reads the same to every version either way, and the rows kept
 * before stay as they are. Set once, by the first node that finds it otherwise.
 */
static const char storage_wanted[] = "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE "
    "name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) AND EXISTS (SELECT 1 FROM pg_attribute "
    "WHERE ((attrelid = 'lz_changes'::regclass AND attname = 'verdict') OR (attrelid = 'lz_evidence_log'::regclass "
    "AND attname = 'lines')) AND (attcompression <> 'l' OR attstorage <> 'x'))";
static const char storage_set[] = "ALTER TABLE lz_changes ALTER COLUMN verdict SET STORAGE EXTENDED, "
    "ALTER COLUMN verdict SET COMPRESSION lz4;"
    "ALTER TABLE lz_evidence_log ALTER COLUMN lines SET STORAGE EXTENDED, ALTER COLUMN lines SET COMPRESSION lz4;";

static const char storage_lz4[] = "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE "
    "name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))";

int
pg_schema_storage(struct pg_conn *c, const char **out)
{
	PGresult *res = NULL;
	int rc, version;

	*out = "no tables yet";
	if ((rc = read_version(c, &version)) != 0 || version < 5)
		return rc;
	if (pg_conn_server(c)->version < 140000) {
		*out = "uncompressed, no lz4 in this server";
		return 0;
	}
	if ((rc = pg_exec_params(c, storage_lz4, 0, NULL, NULL, NULL, &res)) != 0)
		return rc;
	bool lz4 = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!lz4) {
		*out = "uncompressed, no lz4 in this server";
		return 0;
	}
	if ((rc = pg_exec_params(c, storage_wanted, 0, NULL, NULL, NULL, &res)) != 0)
		return rc;
	bool wanted = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	*out = wanted ? "uncompressed" : "lz4";
	return 0;
}

/*
 * The storage above, when the server can and it is not so yet; *changed tells. Inside the
 * migration's transaction: a refusal (a role that does not own the tables) is logged and
 * rolled back to before it, and changes nothing else; a lost connection is returned.
 */
static int
storage_tune(struct pg_conn *c, bool *changed)
{
	PGresult *res = NULL;
	int rc;

	*changed = false;
	if (pg_conn_server(c)->version < 140000)
		return 0;               /* no compression methods before 14 */
	if ((rc = pg_exec_params(c, storage_wanted, 0, NULL, NULL, NULL, &res)) != 0)
		return rc;
	bool wanted = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!wanted)
		return 0;
	if ((rc = pg_exec(c, "SAVEPOINT lz_storage")) != 0)
		return rc;
	if ((rc = pg_exec(c, storage_set)) != 0) {
		if (!pg_conn_up(c))
			return rc;
		log_warnx("store: %s: cannot compress the batches with lz4 (%s): they stay uncompressed",
		    pg_conn_target(c), pg_conn_error(c));
		return pg_exec(c, "ROLLBACK TO SAVEPOINT lz_storage");
	}
	*changed = true;
	return 0;
}

/* The version recorded in lz_schema, 0 when the table is missing. */
static int
read_version(struct pg_conn *c, int *version)
{
	PGresult *res = NULL;
	int rc;

	*version = 0;
	if ((rc = pg_exec_params(c, "SELECT to_regclass('lz_schema') IS NOT NULL", 0, NULL, NULL, NULL, &res)) != 0)
		return rc;
	bool exists = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists)
		return 0;
	if ((rc = pg_exec_params(c, "SELECT coalesce(max(version), 0) FROM lz_schema", 0, NULL, NULL, NULL,
	    &res)) != 0)
		return rc;
	if (PQntuples(res) == 1)
		*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
pg_schema_version(struct pg_conn *c, int *version)
{
	return read_version(c, version);
}

int
pg_schema_migrate(struct pg_conn *c, const char *node, int *from, int *to)
{
	int found = 0, rc;

	if (c == NULL || node == NULL)
		return -EINVAL;
	if ((rc = pg_begin(c)) != 0)
		return rc;
	/* one migrating node at a time; the others then find the work done */
	if ((rc = pg_exec(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")")) != 0 ||
	    (rc = read_version(c, &found)) != 0)
		goto fail;
	if (from != NULL)
		*from = found;
	if (found > PG_SCHEMA_VERSION) {
		log_warnx("store: %s: schema version %d is newer than this lazaret knows (%d): refused",
		    pg_conn_target(c), found, PG_SCHEMA_VERSION);
		rc = -EPROTO;
		goto fail;
	}
	for (int v = found + 1; v <= PG_SCHEMA_VERSION; v++) {
		char version[16];
		const char *params[2] = { version, node };
		snprintf(version, sizeof(version), "%d", v);
		if ((rc = pg_exec(c, migrations[v - 1])) != 0 ||
		    (rc = pg_exec_params(c, "INSERT INTO lz_schema (version, node) VALUES ($1, $2)", 2, params,
		    NULL, NULL, NULL)) != 0)
			goto fail;
	}
	bool compressed;
	if ((rc = storage_tune(c, &compressed)) != 0)
		goto fail;
	if ((rc = pg_commit(c)) != 0)
		return rc;
	if (found < PG_SCHEMA_VERSION)
		log_info("store: %s: schema migrated from version %d to %d node=%s", pg_conn_target(c), found,
		    PG_SCHEMA_VERSION, node);
	if (compressed)
		log_info("store: %s: batches of verdicts and of evidence compressed with lz4 from now on node=%s",
		    pg_conn_target(c), node);
	if (to != NULL)
		*to = PG_SCHEMA_VERSION;
	return 0;
fail:
	pg_rollback(c);
	return rc;
}
