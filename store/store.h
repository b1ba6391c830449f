/* SPDX-License-Identifier: MIT */
/* store: layer definitions (one JSON file per layer under layers/) and the embedded SpatiaLite
 * store built from them. Rule: the schema is generated from the definitions; one cr_store is
 * used by one thread. */
#ifndef CR_STORE_STORE_H
#define CR_STORE_STORE_H

#include "core/core.h"

#include <jansson.h>

/* ---- layer definitions ---------------------------------------------------------------- */

typedef enum {
    CR_FT_TEXT = 0,
    CR_FT_INTEGER,
    CR_FT_REAL,
    CR_FT_DATE,
    CR_FT_DATETIME,
    CR_FT_BOOLEAN
} cr_field_type;

typedef enum {
    CR_GEOM_NONE = 0,
    CR_GEOM_POINT,
    CR_GEOM_LINESTRING,
    CR_GEOM_MULTIPOLYGON
} cr_geom_kind;

typedef struct {
    char *canonical; /* the stored value */
    char **synonyms; /* written forms that mean it (matched folded) */
    size_t n_synonyms;
    char **folded; /* canonical then synonyms, folded for matching (1 + n_synonyms) */
} cr_value_map;

typedef struct {
    char *name;         /* column name in the store */
    cr_field_type type; /* value type */
    int required;       /* 1: a row without it is rejected */
    int restricted;     /* 1: never in public tiles or responses */
    char **aliases;     /* source headers that mean this field (matched folded) */
    size_t n_aliases;
    cr_value_map *values; /* when n_values > 0 the field is an enumeration of canonicals */
    size_t n_values;
    int has_min, has_max; /* numeric bounds present */
    double min, max;      /* inclusive numeric bounds */
    char *implies_field;  /* enumeration implying another field's value (sub-kind → kind) */
    json_t *implies_map;  /* canonical → implied canonical; borrowed from the definition */
} cr_field_def;

/* How a layer reads "as of a time": reference geography as it is now; an inventory by its
 * versions' valid time; events by when they happened. */
typedef enum { CR_HISTORY_REFERENCE = 0, CR_HISTORY_INVENTORY, CR_HISTORY_EVENT } cr_history_kind;

typedef struct {
    char *name;        /* layer and table name */
    char *title;       /* human title */
    cr_geom_kind geom; /* stored geometry */
    char *id_field;    /* field holding the stable source ID */
    int restricted;    /* 1: whole layer restricted */
    cr_field_def *fields;
    size_t n_fields;
    char **coord_aliases[4]; /* lon, lat, x (easting), y (northing) column aliases */
    size_t n_coord_aliases[4];
    cr_history_kind history; /* "history.kind" */
    const char *event_field; /* events: the field saying when it happened (borrowed), or NULL */
    json_t *json;            /* the whole definition (join/tile settings for later stages) */
} cr_layer_def;

typedef struct {
    cr_layer_def **layers; /* sorted by name */
    size_t n_layers;
    char *dir; /* where they were read from */
} cr_layer_set;

enum { CR_COORD_LON = 0, CR_COORD_LAT = 1, CR_COORD_X = 2, CR_COORD_Y = 3 };

/* Parse one definition. Errors name the file and the JSON path. Free with cr_layer_def_free. */
cr_status cr_layer_def_parse(const char *path, cr_layer_def **out, cr_error *err);
void cr_layer_def_free(cr_layer_def *def);
/* Load every *.json in dir. Free with cr_layer_set_free. */
cr_status cr_layer_set_load(const char *dir, cr_layer_set **out, cr_error *err);
void cr_layer_set_free(cr_layer_set *set);
/* Borrowed; NULL when absent. */
const cr_layer_def *cr_layer_set_find(const cr_layer_set *set, const char *name);
/* Index of a field by name, or -1. */
int cr_layer_def_field_index(const cr_layer_def *def, const char *name);
/* Names as layer files spell them (static strings). */
const char *cr_field_type_name(cr_field_type t);
const char *cr_geom_kind_name(cr_geom_kind g);
/* Columns a later stage derives and stores on a layer's rows (joins, network topology),
 * decided by the definition's "join" settings. */
typedef struct {
    const char *name; /* column */
    const char *type; /* SQL type */
} cr_derived_column;

/* The derived columns of a layer; *n_out entries of a static table. */
const cr_derived_column *cr_layer_derived_columns(const cr_layer_def *def, size_t *n_out);
/* 1 when the layer's points are joined to reaches, admin units and zones. */
int cr_layer_joins_points(const cr_layer_def *def);
/* 1 when the layer's polygons get the reaches they cover and the jurisdictions they span. */
int cr_layer_joins_coverage(const cr_layer_def *def);
/* 1 when the layer's lines get the jurisdictions they pass through, with measures
 * (join.admin.segments; stored in reach_jurisdictions). */
int cr_layer_joins_segments(const cr_layer_def *def);
/* 1 when the layer is the river network's reaches. */
int cr_layer_is_network(const cr_layer_def *def);

/* The layers directory: $CROSSRIVER_LAYERS, else the source tree's layers/. Borrowed. */
const char *cr_layers_default_dir(void);

/* ---- the store ------------------------------------------------------------------------ */

typedef struct cr_store cr_store;
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

/* Open or create the store at path, with SpatiaLite loaded, WAL mode, and tables for every
 * layer in set (columns added when a definition gains fields). set is borrowed and must
 * outlive the store. Free with cr_store_close. */
cr_status cr_store_open(const char *path, const cr_layer_set *set, cr_store **out, cr_error *err);
void cr_store_close(cr_store *store);
/* Open an existing store read-only (the server's per-thread connections): no schema changes,
 * readers never block the importer (WAL). Caller frees *out with cr_store_close. */
cr_status cr_store_open_readonly(const char *path, const cr_layer_set *set, cr_store **out,
                                 cr_error *err);
/* Borrowed; valid until cr_store_close. */
sqlite3 *cr_store_db(cr_store *store);
const cr_layer_set *cr_store_layers(const cr_store *store);

/* 1 when layer d has current rows (asked once per change of the database, by any connection:
 * PRAGMA data_version), 0 when it is empty or has no table (a layer defined after a store
 * opened read-only was made). */
int cr_store_layer_has_rows(cr_store *store, const cr_layer_def *d);
/* 1 when line layer d's generalised level has a selection of its own (etl/generalise.c: the
 * R*Tree idx_<layer>_gen<level> over the features kept at that level), asked as has_rows is. */
int cr_store_layer_overview(cr_store *store, const cr_layer_def *d, int level);
/* 1 when layer d's tile rows (store/tile_rows.h) hold its current rows: made after the
 * layer's last batch, with the fields its tile settings list now. Asked as has_rows is. */
int cr_store_tile_rows_fresh(cr_store *store, const cr_layer_def *d);
/* A number the tiler keeps about layer d between tiles (how its rows lie: tiler/tile.c), 0
 * again when the database changes; only ever a hint, never what a tile shows. */
int *cr_store_layer_tile_hint(cr_store *store, const cr_layer_def *d);
/* 0 when reach_accumulations holds no total at all (tiles then leave accumulated attributes
 * out without a lookup per reach); 1 otherwise. Forgotten when the database changes. */
int cr_store_has_accumulations(cr_store *store);
/* Make the R*Tree rtree (columns pkid, xmin, xmax, ymin, ymax; dropped first if it exists)
 * over the n boxes (xmin, xmax, ymin, ymax per id), packed in one pass (store/rtree_bulk.c),
 * inside the caller's transaction. */
cr_status cr_store_rtree_write(cr_store *store, const char *rtree, const int64_t *ids,
                               const double *boxes, size_t n, cr_error *err);
/* The same over boxes[0..n), the entries numbered 1..n in the order of the tree's leaves
 * (Sort-Tile-Recursive: entries near each other get numbers near each other): order[k] is
 * the index in boxes of entry k + 1. */
cr_status cr_store_rtree_write_packed(cr_store *store, const char *rtree, const double *boxes,
                                      size_t n, size_t *order, cr_error *err);
/* The box of a SpatiaLite geometry BLOB from its header (xmin, xmax, ymin, ymax); 0 when it
 * is not one. */
int cr_store_blob_box(const unsigned char *blob, int len, double box[4]);
/* A read transaction for what follows (several queries that belong together: one tile), when
 * none is open: one snapshot, one lock, the cached answers checked once. Returns whether it
 * began one; pass that to cr_store_read_end. */
int cr_store_read_begin(cr_store *store);
void cr_store_read_end(cr_store *store, int began);
/* Process-wide settings (SQLite's, the allocator's); call first thing in main (before any
 * store is opened). */
void cr_store_global_init(void);
/* A prepared statement for sql, kept with the connection (least recently used of
 * CR_STORE_STMT_CACHE out first) and reset; NULL when it does not prepare (sqlite3_errmsg of
 * cr_store_db says why). Never finalize it; reset it when done so no read stays open. */
#define CR_STORE_STMT_CACHE 32
sqlite3_stmt *cr_store_cached(cr_store *store, const char *sql);

/* The data generation: bumped by every change tiles may show (imports, joins, networks). */
int64_t cr_store_data_generation(cr_store *store);
/* Bump it inside the caller's transaction; returns the new value in *generation_out. */
cr_status cr_store_bump_generation(cr_store *store, int64_t *generation_out, cr_error *err);
/* An integer from the meta table (0 when absent): data_generation, network_generation. */
int64_t cr_store_meta_int(cr_store *store, const char *key);

/* Every import records the boxes it changed (rows added or closed) under its generation, so a
 * tile server drops exactly the tiles they touch. */
#define CR_STORE_MAX_CHANGE_BOXES 4096
typedef struct {
    int64_t generation;
    char layer[64];
    double box[4]; /* west, south, east, north */
} cr_store_change;
/* Record the whole extent of layer d as changed in generation gen (inside the caller's
 * transaction): for changes that are not row by row, e.g. a rebuilt generalisation. */
cr_status cr_store_record_layer_change(cr_store *store, const cr_layer_def *d, int64_t gen,
                                       cr_error *err);
/* The changes of generations after `after`, oldest first (caller frees *out). *complete is 0
 * when the store cannot tell (recorded changes start later, or a store from before they were
 * recorded): the caller must then assume everything changed. */
cr_status cr_store_changes_since(cr_store *store, int64_t after, cr_store_change **out, size_t *n,
                                 int *complete, cr_error *err);

/* Run SQL with no result rows; errors carry SQLite's message. */
cr_status cr_store_exec(cr_store *store, const char *sql, cr_error *err);

typedef struct {
    int64_t batch_id;
    char kind[16];                      /* "import" or "revert" */
    int64_t target_batch;               /* superseded (import) or undone (revert), or 0 */
    int64_t superseded_by, reverted_by; /* 0 when active */
    int64_t rows_in, stored, rejected;  /* counts when it finished */
    char layer[64];
    char encoding[96]; /* as recorded */
    char crs[160];
    char source_layer[128];
    char valid_from[32];
    char *options; /* JSON of the options that shaped it; owned, freed by _cleanup */
} cr_batch_summary;

/* The recorded summary of a finished batch. Free with cr_batch_summary_cleanup. */
cr_status cr_store_get_batch(cr_store *store, int64_t batch_id, cr_batch_summary *out,
                             cr_error *err);
void cr_batch_summary_cleanup(cr_batch_summary *b);
/* The newest finished import of this layer with the same file SHA-256 that is still in force
 * (neither superseded nor reverted), or 0. */
int64_t cr_store_find_active_batch(cr_store *store, const char *layer, const char *sha256);

typedef struct {
    const char *layer;        /* target layer */
    const char *file_name;    /* as given on the command line */
    const char *sha256;       /* of the file bytes */
    const char *encoding;     /* detected or forced */
    const char *crs;          /* source CRS label */
    const char *source_layer; /* OGR layer / sheet */
    const char *options;      /* JSON of the options that shaped the import */
    const char *valid_from;   /* history time for rows of this batch */
    const char *kind;         /* "import" (NULL) or "revert" */
    int64_t target_batch;     /* the batch this import supersedes or this revert undoes, or 0 */
} cr_batch_info;

typedef struct {
    int64_t rows_in, stored, rejected; /* rows_in == stored + rejected */
    int64_t inserted, updated, unchanged;
    int64_t closed;   /* versions closed by the batch */
    int64_t reopened; /* versions made current again */
    double seconds;
} cr_batch_counts;

/* BEGIN IMMEDIATE and insert the batch row; *batch_id_out is its ID. */
cr_status cr_store_begin_batch(cr_store *store, const cr_batch_info *info, int64_t *batch_id_out,
                               cr_error *err);
/* Record final counts, bump the data generation, mark the target batch, COMMIT. */
cr_status cr_store_commit_batch(cr_store *store, int64_t batch_id, const cr_batch_counts *counts,
                                cr_error *err);
/* ROLLBACK whatever the batch wrote (never fails loudly). */
void cr_store_rollback(cr_store *store);

/* A source row not stored: where it was, why, and the row as read. Strings are borrowed; any
 * may be NULL. */
typedef struct {
    int64_t source_row;
    const char *source_id; /* the row's ID when it had one */
    const char *field;     /* the field at fault */
    const char *code;      /* the reason's code (coordinates, region, duplicate, ...) */
    const char *reason;    /* the message, naming the column and value */
    const char *raw_json;  /* the raw record as a JSON object */
} cr_reject;

cr_status cr_store_add_reject(cr_store *store, int64_t batch_id, const cr_reject *rj,
                              cr_error *err);

/* One validated row ready to store. values[i] belongs to def->fields[i]: NULL for no value;
 * text for TEXT/DATE/DATETIME, decimal text for numbers, "0"/"1" for booleans. */
typedef struct {
    const char *source_id;      /* stable ID (the id_field's value) */
    int64_t source_row;         /* row in the source file */
    const char *const *values;  /* def->n_fields entries */
    const unsigned char *carry; /* per field, may be NULL: 1 = the file has no column for it,
                                   so the current version's value is carried over */
    const unsigned char *wkb;   /* geometry in EPSG:4326, NULL for CR_GEOM_NONE */
    size_t wkb_len;
    double bbox[4];    /* minx, miny, maxx, maxy of the geometry */
    const char *raw_x; /* source coordinate text as written (points), or NULL */
    const char *raw_y;
    const char *coord_method; /* how the coordinates reached WGS84 */
    const char *notes;        /* repairs and hints, or NULL */
    const char *extra_json;   /* unmapped source columns as a JSON object, or NULL */
} cr_store_row;

typedef enum { CR_UPSERT_INSERTED, CR_UPSERT_UPDATED, CR_UPSERT_UNCHANGED } cr_upsert_outcome;

/* Store a row by stable ID inside the open batch: a new ID is inserted; a changed one closes
 * the current version (valid_to) and inserts the next; an identical one is left alone.
 * Fields flagged in row->carry keep the current version's value (partial re-surveys). */
cr_status cr_store_upsert(cr_store *store, const cr_layer_def *def, int64_t batch_id,
                          const cr_store_row *row, cr_upsert_outcome *outcome, cr_error *err);
/* Visit every current feature of layer d; visit(user, source_id, point) returns 1 to close it
 * (valid_to, closed_by_batch: history keeps it). point is lon,lat of a point on the geometry,
 * NULL for a layer without geometry. A full survey closes what it no longer lists (销号). */
cr_status cr_store_close_where(cr_store *store, const cr_layer_def *d, int64_t batch_id,
                               int (*visit)(void *user, const char *source_id, const double *point),
                               void *user, int64_t *closed_out, cr_error *err);

/* Undo batch target inside the open batch batch_id (same layer): the versions target wrote
 * that are still current are closed, and the versions it closed are current again as new
 * versions of the open batch; nothing is deleted. Refused, naming them, when a later batch
 * changed any of the same features (revert those first). */
cr_status cr_store_revert_rows(cr_store *store, const cr_layer_def *d, int64_t target,
                               int64_t batch_id, int64_t *closed_out, int64_t *reopened_out,
                               cr_error *err);

/* As of a time, on this connection only: every inventory and event layer's "<layer>_current"
 * becomes a TEMP view (SQLite resolves temp before main) of the versions valid at as_of, with
 * the joins they had then: versions whose batch is dated (valid_from: its survey date, else its
 * import time) by as_of and not closed by then, and for events only those that happened
 * (event_time) by as_of. Reference layers stay as they are. Everything read through "_current"
 * (features, traces, tiles) then sees as_of. Undo with cr_store_as_of_end. as_of:
 * "YYYY-MM-DDTHH:MM:SS[Z]". */
cr_status cr_store_as_of_begin(cr_store *store, const char *as_of, cr_error *err);
void cr_store_as_of_end(cr_store *store);
/* 1 between cr_store_as_of_begin and _end: only "_current" then shows the past (a reader that
 * reads a table's current rows itself must read "_current" instead). */
int cr_store_reads_as_of(const cr_store *store);

/* The finished batches (of layer, or all when NULL), oldest first: [{batch_id, layer, file,
 * sha256, encoding, crs, started_at, rows_in, stored, rejected, kind, state ("in force",
 * "superseded by N", "reverted by N", "reverts N", "supersedes N"), closed, reopened, flags,
 * flag_note}]. Caller frees *out with json_decref. */
cr_status cr_store_list_batches(cr_store *store, const char *layer, json_t **out, cr_error *err);
/* One batch's rejected rows by source row, at most limit (<= 0: all): [{file, row, source_id,
 * field, code, reason, raw_record}] (values as stored text). Caller frees with json_decref. */
cr_status cr_store_list_rejects(cr_store *store, int64_t batch_id, int limit, json_t **out,
                                cr_error *err);

/* Record in audit_log that who did action (e.g. printed personal data), with a detail; its own
 * transaction unless a batch is open. */
cr_status cr_store_audit(cr_store *store, const char *who, const char *action, const char *detail,
                         cr_error *err);

#endif
