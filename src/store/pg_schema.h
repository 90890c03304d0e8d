/*
 * pg_schema.h — the shared store's tables in PostgreSQL (issue 12; doc/SPEC-dev.md, "The
 * shared store on PostgreSQL"), created and migrated by lazaret itself.
 *
 * Migrations are numbered and additive (never a DROP, never a rewrite of what a node
 * wrote): each is applied once, in one transaction with its row in lz_schema, under a
 * transaction-level advisory lock, so nodes that start together apply it once between them
 * and a node killed halfway leaves the schema as it was. A database whose schema is newer
 * than this lazaret knows is refused, not used: an older node must not write what it
 * cannot read.
 */
#ifndef LAZARET_STORE_PG_SCHEMA_H
#define LAZARET_STORE_PG_SCHEMA_H

#include "store/pg.h"

#define PG_SCHEMA_VERSION 5

/*
 * pg_schema_version — the schema version of c's database into *version (0: none yet).
 * 0 or a pg.h error code.
 */
int pg_schema_version(struct pg_conn *c, int *version);

/*
 * pg_schema_storage — how the batch columns are stored (pg_schema.c, "Storage, not schema"):
 * into *out "lz4", "uncompressed" (the server has lz4: the next migration, or a start of
 * lazaretd, compresses what comes after), "uncompressed, no lz4 in this server", or
 * "no tables yet". 0 or a pg.h error code.
 */
int pg_schema_storage(struct pg_conn *c, const char **out);

/*
 * pg_schema_migrate — brings c's database up to PG_SCHEMA_VERSION, each migration recorded
 * with `node` (the [daemon] node name). *from and *to (may be NULL): the version found
 * and the version left. 0; -EPROTO when the database's schema is newer than
 * PG_SCHEMA_VERSION (nothing changed); or a pg.h error code (nothing changed either: the
 * transaction rolled back). The connection must be up (pg_conn_ensure).
 */
int pg_schema_migrate(struct pg_conn *c, const char *node, int *from, int *to);

#endif
