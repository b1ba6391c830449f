/* SPDX-License-Identifier: MIT */
/* The embedded store: one SpatiaLite file in WAL mode, tables generated from layer definitions,
 * import batches, rejects, per-row provenance and history by stable ID.
 * Rule: every write happens inside a batch transaction opened by cr_store_begin_batch. */
#include "store.h"

#include "store_internal.h"

#include <malloc.h>
#include <math.h>
#include <sqlite3.h>
/* spatialite.h needs sqlite3.h first */
#include <spatialite.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION "1"
/* From this many new rows, when they are as many as the spatial index holds, the index is packed
 * anew instead of taking them one by one. */
#define BULK_INDEX_ROWS 10000

static const char *RESERVED[] = {"fid",      "source_id", "version",        "valid_from",
                                 "valid_to", "batch_id",  "source_row",     "content_sha256",
                                 "raw_x",    "raw_y",     "coord_method",   "notes",
                                 "extra",    "geom",      "closed_by_batch"};

cr_status cr_store_db_error(cr_store *s, cr_error *err, const char *what)
{
    return cr_error_set(err, CR_EDB, "%s: %s", what, sqlite3_errmsg(s->db));
}

cr_status cr_store_exec(cr_store *s, const char *sql, cr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cr_status rc = cr_error_set(err, CR_EDB, "%s (in: %.120s)", msg ? msg : "error", sql);
        sqlite3_free(msg);
        return rc;
    }
    return CR_OK;
}

static const char *sql_type(cr_field_type t)
{
    switch (t) {
    case CR_FT_INTEGER:
    case CR_FT_BOOLEAN:
        return "INTEGER";
    case CR_FT_REAL:
        return "REAL";
    default:
        return "TEXT";
    }
}

static int object_exists(cr_store *s, const char *type, const char *name)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type=? AND name=?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

static int table_exists(cr_store *s, const char *name)
{
    return object_exists(s, "table", name);
}

static int column_exists(cr_store *s, const char *table, const char *column)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name=?", table);
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

static const char *BASE_SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES ('schema_version', '" SCHEMA_VERSION "');"
    "INSERT OR IGNORE INTO meta VALUES ('data_generation', '0');"
    "CREATE TABLE IF NOT EXISTS import_batches ("
    " batch_id INTEGER PRIMARY KEY, layer TEXT NOT NULL, file_name TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, encoding TEXT, crs TEXT, source_layer TEXT, options TEXT,"
    " valid_from TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, seconds REAL,"
    " rows_in INTEGER, stored INTEGER, rejected INTEGER, generation INTEGER,"
    " CHECK (rows_in IS NULL OR rows_in = stored + rejected));"
    "CREATE INDEX IF NOT EXISTS import_batches_sha ON import_batches(layer, sha256);"
    "CREATE TABLE IF NOT EXISTS rejects ("
    " reject_id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES import_batches,"
    " source_row INTEGER, source_id TEXT, field TEXT, code TEXT NOT NULL, reason TEXT NOT NULL,"
    " raw_record TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS rejects_batch ON rejects(batch_id, source_row);"
    "CREATE TABLE IF NOT EXISTS tile_changes (generation INTEGER NOT NULL, layer TEXT NOT NULL,"
    " minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL, maxy REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tile_changes_generation ON tile_changes(generation);"
    "CREATE TABLE IF NOT EXISTS reach_accumulations (field TEXT NOT NULL,"
    " reach_fid INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (field, reach_fid))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS feature_status (layer TEXT NOT NULL, source_id TEXT NOT NULL,"
    " key TEXT NOT NULL, value TEXT, PRIMARY KEY (layer, source_id, key)) WITHOUT ROWID;";

/* Columns of import_batches added after the first schema (ALTER TABLE on older stores). */
static const cr_derived_column BATCH_COLUMNS[] = {
    {"kind", "TEXT NOT NULL DEFAULT 'import'"}, /* import | revert */
    {"target_batch", "INTEGER"},  /* the batch an import supersedes or a revert undoes */
    {"superseded_by", "INTEGER"}, /* a later import of the same file with other options */
    {"reverted_by", "INTEGER"},   /* the revert batch that undid it */
    {"inserted", "INTEGER"},
    {"updated", "INTEGER"},
    {"unchanged", "INTEGER"},
    {"closed", "INTEGER"},   /* versions closed (full survey, supersede, revert) */
    {"reopened", "INTEGER"}, /* versions made current again (supersede, revert) */
    {"flags", "TEXT"},       /* batch review flags, e.g. crs_suspect */
    {"flag_note", "TEXT"},   /* what the flags mean for this batch, in words */
};

/* Derived results (joins, topology) live in "<layer>_derived", keyed by fid and rewritten in
 * bulk by their stage, so source rows are never rewritten by a join; "<layer>_current" shows
 * the current versions with their derived columns. A layer joined to reaches also has
 * "<layer>_by_reach": (reach_id, fid) of each of its versions' derived rows with a reach, in
 * that order (how a trace finds the features on its reaches), which the join writes whole and
 * presorted after the derived rows (etl/join.c) instead of SQLite remaking an index. */
#define BY_REACH_TABLE                                                                             \
    "CREATE TABLE IF NOT EXISTS \"%s_by_reach\" (reach_id TEXT NOT NULL, fid INTEGER NOT NULL,"    \
    " PRIMARY KEY (reach_id, fid)) WITHOUT ROWID;"

static void derived_schema(cr_store *s, cr_strbuf *sql, const cr_layer_def *d,
                           const cr_derived_column *derived, size_t n_derived)
{
    char view[128];
    snprintf(view, sizeof view, "%s_current", d->name);
    int exists = object_exists(s, "view", view);
    int by_reach = 0;
    for (size_t i = 0; i < n_derived; i++) {
        by_reach |= strcmp(derived[i].name, "reach_id") == 0;
    }
    char by_reach_table[128];
    snprintf(by_reach_table, sizeof by_reach_table, "%s_by_reach", d->name);
    if (exists && by_reach && !object_exists(s, "table", by_reach_table)) {
        /* a store made before: its derived rows by reach as the next join would write them,
         * in place of the index on the derived table they had */
        cr_strbuf_printf(sql, BY_REACH_TABLE, d->name);
        cr_strbuf_printf(sql,
                         "INSERT INTO \"%s_by_reach\" SELECT x.reach_id, x.fid FROM"
                         " \"%s_derived\" x JOIN \"%s\" l ON l.fid = x.fid"
                         " WHERE x.reach_id IS NOT NULL ORDER BY 1, 2;"
                         "DROP INDEX IF EXISTS \"%s_derived_reach\";",
                         d->name, d->name, d->name, d->name);
    }
    if (exists) {
        return;
    }
    if (n_derived == 0) {
        cr_strbuf_printf(sql,
                         "CREATE VIEW \"%s_current\" AS SELECT * FROM \"%s\""
                         " WHERE valid_to IS NULL;",
                         d->name, d->name);
        return;
    }
    cr_strbuf_printf(sql, "CREATE TABLE IF NOT EXISTS \"%s_derived\" (fid INTEGER PRIMARY KEY",
                     d->name);
    for (size_t i = 0; i < n_derived; i++) {
        cr_strbuf_printf(sql, ", \"%s\" %s", derived[i].name, derived[i].type);
    }
    cr_strbuf_printf(sql, "); CREATE VIEW \"%s_current\" AS SELECT l.*", d->name);
    for (size_t i = 0; i < n_derived; i++) {
        cr_strbuf_printf(sql, ", x.\"%s\"", derived[i].name);
    }
    cr_strbuf_printf(sql,
                     " FROM \"%s\" l LEFT JOIN \"%s_derived\" x ON x.fid = l.fid"
                     " WHERE l.valid_to IS NULL;",
                     d->name, d->name);
    if (by_reach) {
        cr_strbuf_printf(sql, BY_REACH_TABLE, d->name);
    }
}

static cr_status create_layer_table(cr_store *s, const cr_layer_def *d, cr_error *err)
{
    cr_strbuf sql = {0};
    cr_status rc = CR_OK;
    size_t n_derived = 0;
    const cr_derived_column *derived = cr_layer_derived_columns(d, &n_derived);
    for (size_t i = 0; i < d->n_fields; i++) {
        for (size_t r = 0; r < sizeof RESERVED / sizeof RESERVED[0]; r++) {
            if (strcmp(d->fields[i].name, RESERVED[r]) == 0) {
                return cr_error_set(err, CR_EINVAL, "layer %s: field name '%s' is reserved",
                                    d->name, RESERVED[r]);
            }
        }
        for (size_t r = 0; r < n_derived; r++) {
            if (strcmp(d->fields[i].name, derived[r].name) == 0) {
                return cr_error_set(err, CR_EINVAL,
                                    "layer %s: field name '%s' is a derived (join) column", d->name,
                                    derived[r].name);
            }
        }
    }
    if (!table_exists(s, d->name)) {
        cr_strbuf_printf(&sql,
                         "CREATE TABLE \"%s\" (fid INTEGER PRIMARY KEY, source_id TEXT NOT NULL,"
                         " version INTEGER NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT,"
                         " closed_by_batch INTEGER, batch_id INTEGER NOT NULL,"
                         " source_row INTEGER, content_sha256 TEXT NOT NULL",
                         d->name);
        for (size_t i = 0; i < d->n_fields; i++) {
            cr_strbuf_printf(&sql, ", \"%s\" %s", d->fields[i].name, sql_type(d->fields[i].type));
        }
        cr_strbuf_printf(&sql, ", raw_x TEXT, raw_y TEXT, coord_method TEXT, notes TEXT,"
                               " extra TEXT);");
        if (d->geom != CR_GEOM_NONE) {
            const char *gt = d->geom == CR_GEOM_POINT        ? "POINT"
                             : d->geom == CR_GEOM_LINESTRING ? "LINESTRING"
                                                             : "MULTIPOLYGON";
            cr_strbuf_printf(&sql, "SELECT AddGeometryColumn('%s', 'geom', 4326, '%s', 'XY');",
                             d->name, gt);
            cr_strbuf_printf(&sql, "SELECT CreateSpatialIndex('%s', 'geom');", d->name);
            /* SpatiaLite's insert triggers check the geometry type with a subquery, call
             * RTreeAlign (which prepares SQL on every row) and stamp geometry_columns_time:
             * cr_store_upsert checks types itself and writes the R*Tree entry from the bbox it
             * already has (SQLite's R*Tree rounds bounds outward). Update and delete triggers
             * stay, so edits made outside crossriver keep the index right; inserts made
             * outside crossriver need SELECT RecoverSpatialIndex(). */
            cr_strbuf_printf(&sql,
                             "DROP TRIGGER \"gii_%s_geom\"; DROP TRIGGER \"ggi_%s_geom\";"
                             "DROP TRIGGER \"tmi_%s_geom\"; DROP TRIGGER \"tmu_%s_geom\";"
                             "DROP TRIGGER \"tmd_%s_geom\";",
                             d->name, d->name, d->name, d->name, d->name);
        }
        /* current versions by ID; closed versions by ID too (revert, a feature that comes
         * back after a full survey closed it), kept out of the way of bulk inserts */
        cr_strbuf_printf(&sql,
                         "CREATE UNIQUE INDEX \"%s_current_id\" ON \"%s\"(source_id)"
                         " WHERE valid_to IS NULL;"
                         "CREATE INDEX \"%s_history\" ON \"%s\"(source_id, version)"
                         " WHERE valid_to IS NOT NULL;",
                         d->name, d->name, d->name, d->name);
    } else {
        cr_strbuf_printf(&sql,
                         "CREATE INDEX IF NOT EXISTS \"%s_history\" ON \"%s\"(source_id, version)"
                         " WHERE valid_to IS NOT NULL;",
                         d->name, d->name);
        for (size_t i = 0; i < d->n_fields; i++) {
            if (!column_exists(s, d->name, d->fields[i].name)) {
                cr_strbuf_printf(&sql, "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s;", d->name,
                                 d->fields[i].name, sql_type(d->fields[i].type));
            }
        }
    }
    derived_schema(s, &sql, d, derived, n_derived);
    if (sql.len > 0) {
        rc = cr_store_exec(s, sql.data, err);
    }
    cr_strbuf_cleanup(&sql);
    return rc;
}

/* A store from before one table per generalised level: its "<layer>_generalised" (fid,
 * level, wkb) split into "<layer>_gen<level>" (fid, wkb), as generalise now writes them. */
static cr_status split_generalised(cr_store *s, const char *layer, cr_error *err)
{
    char old[200];
    snprintf(old, sizeof old, "%s_generalised", layer);
    if (!table_exists(s, old)) {
        return CR_OK;
    }
    char *sql = sqlite3_mprintf("SELECT DISTINCT level FROM \"%w\" ORDER BY level", old);
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (prc != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "%s: %s", old, sqlite3_errmsg(s->db));
    }
    cr_status rc = CR_OK;
    while (rc == CR_OK && sqlite3_step(st) == SQLITE_ROW) {
        int level = sqlite3_column_int(st, 0);
        sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w_gen%d\";"
                              " CREATE TABLE \"%w_gen%d\" (fid INTEGER PRIMARY KEY,"
                              " wkb BLOB NOT NULL);"
                              " INSERT INTO \"%w_gen%d\" SELECT fid, wkb FROM \"%w\""
                              " WHERE level = %d ORDER BY fid;",
                              layer, level, layer, level, layer, level, old, level);
        rc = cr_store_exec(s, sql, err);
        sqlite3_free(sql);
    }
    sqlite3_finalize(st);
    if (rc == CR_OK) {
        sql = sqlite3_mprintf("DROP TABLE \"%w\"", old);
        rc = cr_store_exec(s, sql, err);
        sqlite3_free(sql);
    }
    return rc;
}

static cr_status create_schema(cr_store *s, cr_error *err)
{
    cr_status rc = cr_store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc != CR_OK) {
        return rc;
    }
    if (!table_exists(s, "spatial_ref_sys")) {
        rc = cr_store_exec(s, "SELECT InitSpatialMetadata(0)", err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(s, BASE_SCHEMA, err);
    }
    for (size_t i = 0; rc == CR_OK && i < sizeof BATCH_COLUMNS / sizeof BATCH_COLUMNS[0]; i++) {
        if (!column_exists(s, "import_batches", BATCH_COLUMNS[i].name)) {
            char sql[200];
            snprintf(sql, sizeof sql, "ALTER TABLE import_batches ADD COLUMN %s %s",
                     BATCH_COLUMNS[i].name, BATCH_COLUMNS[i].type);
            rc = cr_store_exec(s, sql, err);
        }
    }
    for (size_t i = 0; rc == CR_OK && i < s->set->n_layers; i++) {
        rc = create_layer_table(s, s->set->layers[i], err);
        if (rc == CR_OK) {
            rc = split_generalised(s, s->set->layers[i]->name, err);
        }
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(s, "COMMIT", err);
    } else {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

cr_status cr_store_open(const char *path, const cr_layer_set *set, cr_store **out, cr_error *err)
{
    cr_store *s = cr_xcalloc(1, sizeof *s);
    s->set = set;
    s->stmts = cr_xcalloc(set->n_layers, sizeof *s->stmts);
    cr_status rc = CR_OK;
    /* one thread at a time (the rule of a cr_store): no connection mutex around every call */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "%s: cannot open store: %s", path,
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(s->db, 10000);
    s->spatialite_cache = spatialite_alloc_connection();
    spatialite_init_ex(s->db, s->spatialite_cache, 0);
    rc = cr_store_exec(s,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       " PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;"
                       " PRAGMA temp_store=MEMORY; PRAGMA mmap_size=17179869184;",
                       err);
    if (rc == CR_OK) {
        rc = create_schema(s, err);
    }
    if (rc != CR_OK) {
        cr_error_prefix(err, "%s", path);
    }
done:
    if (rc != CR_OK) {
        cr_store_close(s);
        return rc;
    }
    *out = s;
    return CR_OK;
}

cr_status cr_store_open_readonly(const char *path, const cr_layer_set *set, cr_store **out,
                                 cr_error *err)
{
    cr_store *s = cr_xcalloc(1, sizeof *s);
    s->set = set;
    s->stmts = cr_xcalloc(set->n_layers, sizeof *s->stmts);
    /* one connection per thread (the server's workers, the tracer): no connection mutex */
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        cr_status rc = cr_error_set(err, CR_EDB, "%s: cannot open store read-only: %s", path,
                                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        cr_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* readers map the file (no copy per page read; pages shared between connections) and keep
     * a larger page cache: tiles and traces read the same pages over and over */
    sqlite3_exec(s->db, "PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -65536;", NULL, NULL,
                 NULL);
    s->spatialite_cache = spatialite_alloc_connection();
    spatialite_init_ex(s->db, s->spatialite_cache, 0);
    *out = s;
    return CR_OK;
}

void cr_store_close(cr_store *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; s->stmts && i < s->set->n_layers; i++) {
        sqlite3_finalize(s->stmts[i].select_current);
        sqlite3_finalize(s->stmts[i].close_row);
        sqlite3_finalize(s->stmts[i].insert_row);
        sqlite3_finalize(s->stmts[i].select_fields);
        sqlite3_finalize(s->stmts[i].rtree_insert);
        sqlite3_finalize(s->stmts[i].last_closed);
    }
    free(s->stmts);
    free(s->has_rows);
    free(s->tile_hints);
    free(s->tile_rows);
    free(s->overviews);
    for (int i = 0; i < CR_STORE_STMT_CACHE; i++) {
        sqlite3_finalize(s->cache[i].st);
        free(s->cache[i].sql);
    }
    cr_strbuf_cleanup(&s->scratch);
    if (s->db) {
        sqlite3_close(s->db);
    }
    if (s->spatialite_cache) {
        spatialite_cleanup_ex(s->spatialite_cache);
    }
    free(s);
}

sqlite3 *cr_store_db(cr_store *s)
{
    return s->db;
}

const cr_layer_set *cr_store_layers(const cr_store *s)
{
    return s->set;
}

/* Forget the cached answers about the data (per layer, and whether totals exist) when the
 * database changed (by any connection: PRAGMA data_version). */
static void forget_if_changed(cr_store *s)
{
    if (s->reading) {
        return; /* checked when the read transaction began */
    }
    sqlite3_stmt *v = cr_store_cached(s, "PRAGMA data_version");
    /* other connections' commits move data_version, this one's total_changes */
    int64_t version = v && sqlite3_step(v) == SQLITE_ROW
                          ? sqlite3_column_int64(v, 0) * 1000000007 + sqlite3_total_changes(s->db)
                          : -1;
    if (v) {
        sqlite3_reset(v);
    }
    if (s->has_rows == NULL || version != s->data_version || version < 0) {
        s->accumulations = -1;
        s->has_rows = cr_xrealloc(s->has_rows, s->set->n_layers + 1);
        memset(s->has_rows, -1, s->set->n_layers + 1);
        s->tile_hints = cr_xrealloc(s->tile_hints, (s->set->n_layers + 1) * sizeof *s->tile_hints);
        memset(s->tile_hints, 0, (s->set->n_layers + 1) * sizeof *s->tile_hints);
        s->tile_rows = cr_xrealloc(s->tile_rows, s->set->n_layers + 1);
        memset(s->tile_rows, -1, s->set->n_layers + 1);
        s->overviews = cr_xrealloc(s->overviews, (s->set->n_layers + 1) * sizeof *s->overviews);
        for (size_t k = 0; k <= s->set->n_layers; k++) {
            s->overviews[k] = -1;
        }
        s->data_version = version;
    }
}

/* The index of d in the store's layer set (n_layers when it is not one of them), with the
 * cached answers forgotten when the database changed. */
static size_t layer_slot(cr_store *s, const cr_layer_def *d)
{
    size_t i = 0;
    while (i < s->set->n_layers && s->set->layers[i] != d) {
        i++;
    }
    if (i < s->set->n_layers) {
        forget_if_changed(s);
    }
    return i;
}

int cr_store_read_begin(cr_store *s)
{
    sqlite3_stmt *st = sqlite3_get_autocommit(s->db) ? cr_store_cached(s, "BEGIN") : NULL;
    if (st == NULL || sqlite3_step(st) != SQLITE_DONE) {
        if (st) {
            sqlite3_reset(st);
        }
        return 0;
    }
    sqlite3_reset(st);
    forget_if_changed(s);
    s->reading = 1;
    return 1;
}

void cr_store_read_end(cr_store *s, int began)
{
    if (!began) {
        return;
    }
    s->reading = 0;
    sqlite3_stmt *st = cr_store_cached(s, "COMMIT");
    if (st == NULL || sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* a read: nothing to lose */
    }
    if (st) {
        sqlite3_reset(st);
    }
}

int cr_store_layer_has_rows(cr_store *s, const cr_layer_def *d)
{
    size_t i = layer_slot(s, d);
    if (i == s->set->n_layers) {
        return 1;
    }
    if (s->has_rows[i] < 0) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\" WHERE valid_to IS NULL LIMIT 1", d->name);
        sqlite3_stmt *st = cr_store_cached(s, sql);
        /* a layer defined after the store was made (opened read-only, so not created): empty;
         * another failure: assume rows, and let the query that follows say what is wrong */
        s->has_rows[i] = st == NULL ? strstr(sqlite3_errmsg(s->db), "no such table") == NULL
                                    : sqlite3_step(st) == SQLITE_ROW;
        if (st) {
            sqlite3_reset(st);
        }
    }
    return s->has_rows[i];
}

int cr_store_tile_rows_fresh(cr_store *s, const cr_layer_def *d)
{
    size_t i = layer_slot(s, d);
    if (i == s->set->n_layers) {
        return 0;
    }
    if (s->tile_rows[i] < 0) {
        s->tile_rows[i] = (signed char)cr_store_tile_rows_state_matches(s, d);
    }
    return s->tile_rows[i];
}

int *cr_store_layer_tile_hint(cr_store *s, const cr_layer_def *d)
{
    return &s->tile_hints[layer_slot(s, d)];
}

int cr_store_has_accumulations(cr_store *s)
{
    forget_if_changed(s);
    if (s->accumulations < 0) {
        sqlite3_stmt *st = cr_store_cached(s, "SELECT 1 FROM reach_accumulations LIMIT 1");
        /* unreadable: assume there are, and let the tile query say what is wrong */
        s->accumulations = st == NULL || sqlite3_step(st) == SQLITE_ROW;
        if (st) {
            sqlite3_reset(st);
        }
    }
    return s->accumulations;
}

int cr_store_layer_overview(cr_store *s, const cr_layer_def *d, int level)
{
    size_t i = layer_slot(s, d);
    if (i == s->set->n_layers || level < 0 || level > 62) {
        return 0;
    }
    if (s->overviews[i] < 0) {
        s->overviews[i] = 0;
        char prefix[160];
        int n = snprintf(prefix, sizeof prefix, "idx_%s_gen", d->name);
        sqlite3_stmt *st = cr_store_cached(
            s, "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?2) = ?1");
        if (st) {
            sqlite3_bind_text(st, 1, prefix, n, SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 2, n);
            while (sqlite3_step(st) == SQLITE_ROW) {
                const char *rest = (const char *)sqlite3_column_text(st, 0) + n;
                char *end = NULL;
                long lv = strtol(rest, &end, 10);
                if (end != rest && *end == '\0' && lv >= 0 && lv <= 62) {
                    s->overviews[i] |= (int64_t)1 << lv;
                }
            }
            sqlite3_reset(st);
        }
    }
    return (int)((s->overviews[i] >> level) & 1);
}

void cr_store_global_init(void)
{
    /* SQLite's allocation statistics take a global mutex on every allocation: off */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* what a tile, a trace or a join frees is soon asked for again: keep up to 64 MiB free in
     * the heap instead of giving it back to the system and faulting it in again, and take
     * blocks of up to 32 MiB from the heap rather than mapping each one */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

/* FNV-1a of the text: the statement cache compares it before the text. */
static uint64_t sql_hash(const char *sql)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    return h;
}

sqlite3_stmt *cr_store_cached(cr_store *s, const char *sql)
{
    int victim = 0;
    uint64_t h = sql_hash(sql);
    for (int i = 0; i < CR_STORE_STMT_CACHE; i++) {
        if (s->cache[i].sql && s->cache[i].hash == h && strcmp(s->cache[i].sql, sql) == 0) {
            s->cache[i].used = ++s->tick;
            sqlite3_reset(s->cache[i].st);
            sqlite3_clear_bindings(s->cache[i].st);
            return s->cache[i].st;
        }
        victim = s->cache[i].used < s->cache[victim].used ? i : victim;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        return NULL;
    }
    sqlite3_finalize(s->cache[victim].st);
    free(s->cache[victim].sql);
    s->cache[victim].sql = cr_xstrdup(sql);
    s->cache[victim].hash = h;
    s->cache[victim].st = st;
    s->cache[victim].used = ++s->tick;
    return st;
}

int64_t cr_store_data_generation(cr_store *s)
{
    return cr_store_meta_int(s, "data_generation");
}

cr_status cr_store_changes_since(cr_store *s, int64_t after, cr_store_change **out, size_t *n,
                                 int *complete, cr_error *err)
{
    *out = NULL;
    *n = 0;
    *complete = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT CAST(value AS INTEGER) FROM meta WHERE key='tile_changes_since'",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "tile changes");
    }
    /* recorded since: a store from before tile_changes existed records nothing */
    int64_t since = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
    sqlite3_finalize(st);
    if (since > after) {
        return CR_OK;
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT generation, layer, minx, miny, maxx, maxy FROM tile_changes"
                           " WHERE generation > ? ORDER BY generation, rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "tile changes");
    }
    sqlite3_bind_int64(st, 1, after);
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            *out = cr_xrealloc(*out, cap * sizeof **out);
        }
        cr_store_change *c = &(*out)[(*n)++];
        c->generation = sqlite3_column_int64(st, 0);
        snprintf(c->layer, sizeof c->layer, "%s", (const char *)sqlite3_column_text(st, 1));
        for (int k = 0; k < 4; k++) {
            c->box[k] = sqlite3_column_double(st, 2 + k);
        }
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return cr_store_db_error(s, err, "tile changes");
    }
    *complete = 1;
    return CR_OK;
}

int64_t cr_store_meta_int(cr_store *s, const char *key)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key=?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return v;
}

cr_status cr_store_bump_generation(cr_store *s, int64_t *generation_out, cr_error *err)
{
    cr_status rc = cr_store_exec(s,
                                 "UPDATE meta SET value = CAST(value AS INTEGER) + 1"
                                 " WHERE key = 'data_generation'",
                                 err);
    if (rc == CR_OK && generation_out) {
        *generation_out = cr_store_data_generation(s);
    }
    return rc;
}

void cr_store_bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v) {
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, i);
    }
}

cr_status cr_store_begin_batch(cr_store *s, const cr_batch_info *info, int64_t *batch_id_out,
                               cr_error *err)
{
    cr_status rc = cr_store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc != CR_OK) {
        return rc;
    }
    s->in_batch = 1;
    char now[21];
    cr_now_iso8601(now);
    snprintf(s->valid_from, sizeof s->valid_from, "%s", info->valid_from ? info->valid_from : now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO import_batches (layer, file_name, sha256, encoding, crs,"
                           " source_layer, options, valid_from, started_at, kind, target_batch)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "import_batches");
    }
    cr_store_bind_text_or_null(st, 1, info->layer);
    cr_store_bind_text_or_null(st, 2, info->file_name);
    cr_store_bind_text_or_null(st, 3, info->sha256);
    cr_store_bind_text_or_null(st, 4, info->encoding);
    cr_store_bind_text_or_null(st, 5, info->crs);
    cr_store_bind_text_or_null(st, 6, info->source_layer);
    cr_store_bind_text_or_null(st, 7, info->options);
    cr_store_bind_text_or_null(st, 8, s->valid_from);
    cr_store_bind_text_or_null(st, 9, now);
    sqlite3_bind_text(st, 10, info->kind ? info->kind : "import", -1, SQLITE_STATIC);
    if (info->target_batch > 0) {
        sqlite3_bind_int64(st, 11, info->target_batch);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = cr_store_db_error(s, err, "import_batches");
    }
    sqlite3_finalize(st);
    if (rc == CR_OK) {
        *batch_id_out = s->batch_id = sqlite3_last_insert_rowid(s->db);
    }
    return rc;
}

/* Index the rows the batch wrote, for each layer it touched. */
/* Entries in a layer's spatial index (the R*Tree's rowid table), or -1. */
static int64_t index_entries(cr_store *s, const char *layer)
{
    char *sql = sqlite3_mprintf("SELECT count(*) FROM \"idx_%w_geom_rowid\"", layer);
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return n;
}

/* The batch's new rows into the spatial index: inserted one by one (one statement), or, when
 * the batch brings at least as many rows as the index has (a first import of a large layer),
 * the whole index packed anew (store/rtree_bulk.c). */
static cr_status index_batch(cr_store *s, int64_t batch_id, int64_t new_rows, cr_error *err)
{
    for (size_t i = 0; i < s->set->n_layers; i++) {
        layer_stmts *ls = &s->stmts[i];
        if (ls->checked_in_batch != batch_id || ls->rtree_insert == NULL) {
            continue;
        }
        const char *layer = s->set->layers[i]->name;
        int64_t have = new_rows >= BULK_INDEX_ROWS ? index_entries(s, layer) : -1;
        if (have >= 0 && new_rows >= have) {
            cr_status rc = cr_store_rtree_rebuild(s, layer, err);
            if (rc != CR_OK) {
                return rc;
            }
            continue;
        }
        sqlite3_reset(ls->rtree_insert);
        sqlite3_bind_int64(ls->rtree_insert, 1, batch_id);
        int step = sqlite3_step(ls->rtree_insert);
        sqlite3_reset(ls->rtree_insert);
        if (step != SQLITE_DONE) {
            return cr_store_db_error(s, err, "spatial index");
        }
    }
    return CR_OK;
}

/* What the batch changed, for servers' tile caches: the box of every row it added or closed,
 * at most CR_STORE_MAX_CHANGE_BOXES per batch (more are merged per grid cell, the grid coarser
 * until they fit). One scan of the layer; the grouping is done here. Changes older than 1,000
 * generations are pruned. */
typedef struct {
    double b[4];
    int64_t cell;
} change_box;

/* The grid cell of a box's south-west corner, n_cells per degree (0: each box its own). */
static int64_t cell_key(const change_box *bx, double n_cells, size_t i)
{
    return n_cells > 0 ? (int64_t)floor((bx->b[0] + 180) * n_cells) * 1000003 +
                             (int64_t)floor((bx->b[1] + 90) * n_cells)
                       : (int64_t)i;
}

static int key_cmp(const void *x, const void *y)
{
    int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
    return p < q ? -1 : p > q;
}

static int change_cmp(const void *x, const void *y)
{
    return key_cmp(&((const change_box *)x)->cell, &((const change_box *)y)->cell);
}

/* How many cells the boxes fall in. */
static size_t count_cells(const change_box *bx, size_t n, double n_cells, int64_t *keys)
{
    for (size_t i = 0; i < n; i++) {
        keys[i] = cell_key(&bx[i], n_cells, i);
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += i == 0 || keys[i] != keys[i - 1];
    }
    return c;
}

/* Merge the boxes of each cell into one (in cell order); returns how many are left. */
static size_t merge_cells(change_box *bx, size_t n, double n_cells)
{
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        bx[i].cell = cell_key(&bx[i], n_cells, i);
    }
    qsort(bx, n, sizeof *bx, change_cmp);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        if (groups == 0 || bx[i].cell != bx[groups - 1].cell) {
            bx[groups++] = bx[i];
            continue;
        }
        change_box *g = &bx[groups - 1];
        g->b[0] = fmin(g->b[0], bx[i].b[0]);
        g->b[1] = fmin(g->b[1], bx[i].b[1]);
        g->b[2] = fmax(g->b[2], bx[i].b[2]);
        g->b[3] = fmax(g->b[3], bx[i].b[3]);
    }
    return groups;
}

static cr_status record_changes(cr_store *s, int64_t batch_id, int64_t gen, cr_error *err)
{
    const char *layer = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT layer FROM import_batches WHERE batch_id=?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            layer = (const char *)sqlite3_column_text(st, 0);
        }
    }
    const cr_layer_def *d = layer ? cr_layer_set_find(s->set, layer) : NULL;
    sqlite3_finalize(st);
    cr_status rc = CR_OK;
    change_box *bx = NULL;
    size_t n = 0, cap = 0;
    if (d && d->geom != CR_GEOM_NONE) {
        char *sql = sqlite3_mprintf("SELECT MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom),"
                                    " MbrMaxY(geom) FROM \"%w\" WHERE (batch_id = ?1 OR"
                                    " closed_by_batch = ?1) AND geom IS NOT NULL",
                                    d->name);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = cr_store_db_error(s, err, "tile changes");
        }
        sqlite3_free(sql);
        if (rc == CR_OK) {
            sqlite3_bind_int64(st, 1, batch_id);
            while (sqlite3_step(st) == SQLITE_ROW) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 256;
                    bx = cr_xrealloc(bx, cap * sizeof *bx);
                }
                for (int k = 0; k < 4; k++) {
                    bx[n].b[k] = sqlite3_column_double(st, k);
                }
                n++;
            }
        }
        sqlite3_finalize(st);
    }
    /* coarser cells until the boxes fit: at 1/512 cell per degree they are all one */
    double cells = 0;
    if (n > CR_STORE_MAX_CHANGE_BOXES) {
        int64_t *keys = cr_xmalloc(n * sizeof *keys);
        for (cells = 64; count_cells(bx, n, cells, keys) > CR_STORE_MAX_CHANGE_BOXES;) {
            cells /= 2;
        }
        free(keys);
    }
    size_t groups = merge_cells(bx, n, cells);
    if (rc == CR_OK && groups > 0) {
        if (sqlite3_prepare_v2(s->db, "INSERT INTO tile_changes VALUES (?, ?, ?, ?, ?, ?)", -1, &st,
                               NULL) != SQLITE_OK) {
            rc = cr_store_db_error(s, err, "tile changes");
        }
        for (size_t i = 0; rc == CR_OK && i < groups; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, gen);
            sqlite3_bind_text(st, 2, d->name, -1, SQLITE_STATIC);
            for (int k = 0; k < 4; k++) {
                sqlite3_bind_double(st, 3 + k, bx[i].b[k]);
            }
            if (sqlite3_step(st) != SQLITE_DONE) {
                rc = cr_store_db_error(s, err, "tile changes");
            }
        }
        sqlite3_finalize(st);
    }
    free(bx);
    if (rc == CR_OK) {
        char prune[160];
        snprintf(prune, sizeof prune,
                 "DELETE FROM tile_changes WHERE generation < %lld;"
                 "INSERT OR REPLACE INTO meta VALUES ('tile_changes_since', '%lld');",
                 (long long)(gen - 1000), (long long)(gen - 1000));
        rc = cr_store_exec(s, prune, err);
    }
    return rc;
}

cr_status cr_store_record_layer_change(cr_store *s, const cr_layer_def *d, int64_t gen,
                                       cr_error *err)
{
    if (d->geom == CR_GEOM_NONE) {
        return CR_OK;
    }
    char *sql = sqlite3_mprintf(
        "INSERT INTO tile_changes SELECT %lld, '%q', min(xmin), min(ymin), max(xmax), max(ymax)"
        " FROM \"idx_%w_geom\" HAVING count(*) > 0;"
        "INSERT OR IGNORE INTO meta VALUES ('tile_changes_since', '%lld');",
        (long long)gen, d->name, d->name, (long long)(gen - 1000));
    cr_status rc = cr_store_exec(s, sql, err);
    sqlite3_free(sql);
    return rc;
}

cr_status cr_store_commit_batch(cr_store *s, int64_t batch_id, const cr_batch_counts *n,
                                cr_error *err)
{
    cr_status irc = index_batch(s, batch_id, n->inserted + n->updated, err);
    if (irc != CR_OK) {
        return irc;
    }
    char now[21];
    cr_now_iso8601(now);
    sqlite3_stmt *st;
    int64_t gen = 0;
    cr_status rc = cr_store_bump_generation(s, &gen, err);
    if (rc == CR_OK) {
        rc = record_changes(s, batch_id, gen, err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE import_batches SET finished_at=?, seconds=?, rows_in=?,"
                           " stored=?, rejected=?, inserted=?, updated=?, unchanged=?, closed=?,"
                           " reopened=?, generation=(SELECT CAST(value AS INTEGER)"
                           " FROM meta WHERE key='data_generation') WHERE batch_id=?",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_store_db_error(s, err, "import_batches");
    }
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 2, n->seconds);
    const int64_t v[] = {n->rows_in, n->stored,    n->rejected, n->inserted,
                         n->updated, n->unchanged, n->closed,   n->reopened};
    for (int i = 0; i < 8; i++) {
        sqlite3_bind_int64(st, 3 + i, v[i]);
    }
    sqlite3_bind_int64(st, 11, batch_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = cr_store_db_error(s, err, "import batch counts");
    }
    sqlite3_finalize(st);
    if (rc == CR_OK) {
        rc = cr_store_mark_target(s, batch_id, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(s, "COMMIT", err);
    }
    if (rc == CR_OK) {
        s->in_batch = 0;
    }
    return rc;
}

void cr_store_rollback(cr_store *s)
{
    if (s->in_batch) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_batch = 0;
    }
}

cr_status cr_store_add_reject(cr_store *s, int64_t batch_id, const cr_reject *rj, cr_error *err)
{
    cr_status rc = CR_OK;
    sqlite3_stmt *st = cr_store_cached(s, "INSERT INTO rejects (batch_id, source_row, source_id,"
                                          " field, code, reason, raw_record)"
                                          " VALUES (?,?,?,?,?,?,?)");
    if (st == NULL) {
        return cr_store_db_error(s, err, "rejects");
    }
    sqlite3_bind_int64(st, 1, batch_id);
    sqlite3_bind_int64(st, 2, rj->source_row);
    cr_store_bind_text_or_null(st, 3, rj->source_id);
    cr_store_bind_text_or_null(st, 4, rj->field);
    cr_store_bind_text_or_null(st, 5, rj->code);
    cr_store_bind_text_or_null(st, 6, rj->reason);
    cr_store_bind_text_or_null(st, 7, rj->raw_json);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = cr_store_db_error(s, err, "rejects");
    }
    sqlite3_reset(st); /* cached with the connection */
    return rc;
}

cr_status cr_store_prepare_layer(cr_store *s, const cr_layer_def *d, layer_stmts **out,
                                 cr_error *err)
{
    size_t idx = 0;
    while (idx < s->set->n_layers && s->set->layers[idx] != d) {
        idx++;
    }
    if (idx == s->set->n_layers) {
        return cr_error_set(err, CR_EINVAL, "layer %s is not part of this store", d->name);
    }
    layer_stmts *ls = &s->stmts[idx];
    *out = ls;
    if (ls->insert_row != NULL) {
        return CR_OK;
    }
    cr_strbuf sql = {0};
    cr_status rc = CR_OK;
    cr_strbuf_printf(&sql,
                     "SELECT fid, version, content_sha256 FROM \"%s\""
                     " WHERE source_id=? AND valid_to IS NULL",
                     d->name);
    if (sqlite3_prepare_v2(s->db, sql.data, -1, &ls->select_current, NULL) != SQLITE_OK) {
        rc = cr_store_db_error(s, err, d->name);
    }
    cr_strbuf_clear(&sql);
    cr_strbuf_printf(&sql,
                     "SELECT max(version) FROM \"%s\" WHERE source_id=? AND valid_to IS NOT NULL",
                     d->name);
    if (rc == CR_OK &&
        sqlite3_prepare_v2(s->db, sql.data, -1, &ls->last_closed, NULL) != SQLITE_OK) {
        rc = cr_store_db_error(s, err, d->name);
    }
    cr_strbuf_clear(&sql);
    cr_strbuf_printf(&sql, "UPDATE \"%s\" SET valid_to=?, closed_by_batch=? WHERE fid=?", d->name);
    if (rc == CR_OK && sqlite3_prepare_v2(s->db, sql.data, -1, &ls->close_row, NULL) != SQLITE_OK) {
        rc = cr_store_db_error(s, err, d->name);
    }
    cr_strbuf_clear(&sql);
    cr_strbuf_printf(&sql,
                     "INSERT INTO \"%s\" (source_id, version, valid_from, batch_id, source_row,"
                     " content_sha256",
                     d->name);
    for (size_t i = 0; i < d->n_fields; i++) {
        cr_strbuf_printf(&sql, ", \"%s\"", d->fields[i].name);
    }
    cr_strbuf_puts(&sql, ", raw_x, raw_y, coord_method, notes, extra");
    cr_strbuf_puts(&sql, d->geom != CR_GEOM_NONE ? ", geom) VALUES (?,?,?,?,?,?"
                                                 : ") VALUES "
                                                   "(?,?,?,?,?,?");
    for (size_t i = 0; i < d->n_fields + 5; i++) {
        cr_strbuf_puts(&sql, ",?");
    }
    cr_strbuf_puts(&sql, d->geom != CR_GEOM_NONE ? ", GeomFromWKB(?, 4326))" : ")");
    if (rc == CR_OK &&
        sqlite3_prepare_v2(s->db, sql.data, -1, &ls->insert_row, NULL) != SQLITE_OK) {
        rc = cr_store_db_error(s, err, d->name);
    }
    cr_strbuf_clear(&sql);
    cr_strbuf_clear(&sql);
    if (d->geom != CR_GEOM_NONE) {
        /* One statement per batch: SQLite's R*Tree keeps its node cache within a statement,
         * so a bulk insert at commit is several times faster than one insert per row. */
        cr_strbuf_printf(&sql,
                         "INSERT INTO \"idx_%s_geom\" (pkid, xmin, xmax, ymin, ymax)"
                         " SELECT fid, MbrMinX(geom), MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom)"
                         " FROM \"%s\" WHERE batch_id = ? AND geom IS NOT NULL",
                         d->name, d->name);
        if (rc == CR_OK &&
            sqlite3_prepare_v2(s->db, sql.data, -1, &ls->rtree_insert, NULL) != SQLITE_OK) {
            rc = cr_store_db_error(s, err, d->name);
        }
        cr_strbuf_clear(&sql);
    }
    cr_strbuf_puts(&sql, "SELECT ");
    for (size_t i = 0; i < d->n_fields; i++) {
        cr_strbuf_printf(&sql, "%s\"%s\"", i ? ", " : "", d->fields[i].name);
    }
    cr_strbuf_printf(&sql, " FROM \"%s\" WHERE fid=?", d->name);
    if (rc == CR_OK &&
        sqlite3_prepare_v2(s->db, sql.data, -1, &ls->select_fields, NULL) != SQLITE_OK) {
        rc = cr_store_db_error(s, err, d->name);
    }
    cr_strbuf_cleanup(&sql);
    return rc;
}

/* Content hash over the values, the geometry and the raw source coordinates and columns:
 * provenance (batch, row) is left out so a re-survey with the same content is "unchanged". */
static void hash_part(cr_strbuf *sb, const char *name, const char *value)
{
    cr_strbuf_puts(sb, name);
    cr_strbuf_append(sb, value ? "=v:" : "=null", value ? 3 : 5);
    if (value) {
        cr_strbuf_puts(sb, value);
    }
    cr_strbuf_append(sb, "\x1f", 1);
}

/* Content hash over the values, the geometry and the raw source coordinates and columns:
 * provenance (batch, row) is left out so a re-survey with the same content is "unchanged". */
static void row_hash(const cr_layer_def *d, const cr_store_row *row, cr_strbuf *sb, char hex[65])
{
    cr_strbuf_clear(sb);
    for (size_t i = 0; i < d->n_fields; i++) {
        hash_part(sb, d->fields[i].name, row->values[i]);
    }
    hash_part(sb, "x", row->raw_x);
    hash_part(sb, "y", row->raw_y);
    hash_part(sb, "extra", row->extra_json);
    if (row->wkb) {
        cr_strbuf_append(sb, (const char *)row->wkb, row->wkb_len);
    }
    cr_sha256_hex(sb->data, sb->len, hex);
}

static void free_values(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

/* Values of row with the carried fields taken from the stored version fid. Caller frees. */
static char **carry_over(layer_stmts *ls, const cr_layer_def *d, int64_t fid,
                         const cr_store_row *row)
{
    char **v = cr_xcalloc(d->n_fields, sizeof *v);
    sqlite3_stmt *st = ls->select_fields;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, fid);
    int have = sqlite3_step(st) == SQLITE_ROW;
    for (size_t i = 0; i < d->n_fields; i++) {
        const char *src = row->values[i];
        if (row->carry[i] && have && sqlite3_column_type(st, (int)i) != SQLITE_NULL) {
            src = (const char *)sqlite3_column_text(st, (int)i);
            if (d->fields[i].type == CR_FT_REAL) {
                char buf[64];
                snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, (int)i));
                v[i] = cr_xstrdup(buf);
                continue;
            }
        }
        v[i] = src ? cr_xstrdup(src) : NULL;
    }
    sqlite3_reset(st);
    return v;
}

cr_status cr_store_close_fid(cr_store *s, layer_stmts *ls, int64_t batch_id, int64_t fid,
                             cr_error *err)
{
    sqlite3_reset(ls->close_row);
    sqlite3_bind_text(ls->close_row, 1, s->valid_from, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ls->close_row, 2, batch_id);
    sqlite3_bind_int64(ls->close_row, 3, fid);
    if (sqlite3_step(ls->close_row) != SQLITE_DONE) {
        return cr_store_db_error(s, err, "closing the previous version");
    }
    return CR_OK;
}

static void bind_value(sqlite3_stmt *st, int col, cr_field_type t, const char *v)
{
    if (v == NULL) {
        sqlite3_bind_null(st, col);
    } else if (t == CR_FT_INTEGER || t == CR_FT_BOOLEAN) {
        sqlite3_bind_int64(st, col, strtoll(v, NULL, 10));
    } else if (t == CR_FT_REAL) {
        sqlite3_bind_double(st, col, strtod(v, NULL));
    } else {
        sqlite3_bind_text(st, col, v, -1, SQLITE_STATIC);
    }
}

/* 1 when the layer's table holds no version at all (so no lookups are needed). */
static int layer_has_no_rows(cr_store *s, const cr_layer_def *d)
{
    char *sql = sqlite3_mprintf("SELECT NOT EXISTS (SELECT 1 FROM \"%w\")", d->name);
    sqlite3_stmt *st;
    int empty = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        empty = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return empty;
}

/* The highest closed version of an ID, 0 when it has none: a feature that comes back after a
 * full survey or a revert closed it continues its numbering. */
static int64_t last_closed_version(layer_stmts *ls, const char *source_id)
{
    sqlite3_stmt *st = ls->last_closed;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, source_id, -1, SQLITE_STATIC);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return v;
}

cr_status cr_store_upsert(cr_store *s, const cr_layer_def *d, int64_t batch_id,
                          const cr_store_row *row, cr_upsert_outcome *outcome, cr_error *err)
{
    layer_stmts *ls;
    cr_status rc = cr_store_prepare_layer(s, d, &ls, err);
    if (rc != CR_OK) {
        return rc;
    }
    char hash[65];
    int64_t old_fid = 0;
    int64_t version = 1;
    if (ls->checked_in_batch != batch_id) {
        /* A layer with no current rows when the batch starts cannot hold a row's earlier
         * version (IDs repeated within a file are rejected before): skip the lookups. */
        ls->checked_in_batch = batch_id;
        ls->empty_in_batch = layer_has_no_rows(s, d) ? batch_id : 0;
    }
    sqlite3_stmt *sel = ls->select_current;
    sqlite3_reset(sel);
    sqlite3_bind_text(sel, 1, row->source_id, -1, SQLITE_STATIC);
    int step = ls->empty_in_batch == batch_id ? SQLITE_DONE : sqlite3_step(sel);
    cr_store_row merged = *row;
    char **carried = NULL;
    if (step == SQLITE_ROW && row->carry != NULL) {
        carried = carry_over(ls, d, sqlite3_column_int64(sel, 0), row);
        merged.values = (const char *const *)carried;
    }
    row = &merged;
    row_hash(d, row, &s->scratch, hash);
    if (step == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(sel, 2), hash) == 0) {
            free_values(carried, d->n_fields);
            sqlite3_reset(sel);
            *outcome = CR_UPSERT_UNCHANGED;
            return CR_OK;
        }
        old_fid = sqlite3_column_int64(sel, 0);
        version = sqlite3_column_int64(sel, 1) + 1;
    } else if (step != SQLITE_DONE) {
        return cr_store_db_error(s, err, d->name);
    } else if (ls->empty_in_batch != batch_id) {
        version = last_closed_version(ls, row->source_id) + 1;
    }
    sqlite3_reset(sel);
    if (old_fid != 0 && (rc = cr_store_close_fid(s, ls, batch_id, old_fid, err)) != CR_OK) {
        free_values(carried, d->n_fields);
        return rc;
    }
    sqlite3_stmt *ins = ls->insert_row;
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    int c = 1;
    sqlite3_bind_text(ins, c++, row->source_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, c++, version);
    sqlite3_bind_text(ins, c++, s->valid_from, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, c++, batch_id);
    sqlite3_bind_int64(ins, c++, row->source_row);
    sqlite3_bind_text(ins, c++, hash, -1, SQLITE_TRANSIENT);
    for (size_t i = 0; i < d->n_fields; i++) {
        bind_value(ins, c++, d->fields[i].type, row->values[i]);
    }
    cr_store_bind_text_or_null(ins, c++, row->raw_x);
    cr_store_bind_text_or_null(ins, c++, row->raw_y);
    cr_store_bind_text_or_null(ins, c++, row->coord_method);
    cr_store_bind_text_or_null(ins, c++, row->notes);
    cr_store_bind_text_or_null(ins, c++, row->extra_json);
    if (d->geom != CR_GEOM_NONE) {
        sqlite3_bind_blob(ins, c++, row->wkb, (int)row->wkb_len, SQLITE_STATIC);
    }
    step = sqlite3_step(ins);
    sqlite3_reset(ins);
    free_values(carried, d->n_fields);
    if (step != SQLITE_DONE) {
        return cr_store_db_error(s, err, d->name);
    }
    if (rc == CR_OK) {
        *outcome = old_fid || version > 1 ? CR_UPSERT_UPDATED : CR_UPSERT_INSERTED;
    }
    return rc;
}
