/* SPDX-License-Identifier: MIT */
/* A point or line layer's current rows as its tiles read them: "<layer>_tile_rows" (tid, fid,
 * source_id, rec) in the order of the leaves of its own packed R*Tree "idx_<layer>_tile_rows"
 * (pkid = tid), so the rows of a tile lie in a few runs of consecutive tids whatever order the
 * layer was imported in; rec holds the geometry and the tile's fields, nothing else. Built
 * after each import of the layer (etl/after_import.c) and by crossriver generalise; used by the
 * tiler only while no batch of the layer came after it (tile_rows_state). */
#ifndef CR_STORE_TILE_ROWS_H
#define CR_STORE_TILE_ROWS_H

#include "store.h"

#include <sqlite3.h>

#define CR_TILE_ROWS_MAX_FIELDS 64

/* 1 for layers whose tiles read their rows this way: points and lines with tile settings. */
int cr_tile_rows_wanted(const cr_layer_def *d);

/* The fields in rec, in order: the tile settings' "attributes" that are fields of the layer
 * (restricted ones too: the tiler leaves them out per client), as indexes into d->fields.
 * Returns their count (at most max). */
size_t cr_tile_rows_fields(const cr_layer_def *d, int *fields, size_t max);

typedef struct {
    int64_t rows;
    int in_runs; /* none made: the layer's own rows lie in runs where tiles read them */
    double seconds;
} cr_tile_rows_stats;

/* Rebuild the layer's tile rows and their R*Tree in one transaction — unless (always 0) the
 * layer's own rows already lie in runs of consecutive fids where tiles read them (a file in an
 * order of place), when the tiler reads those (tiler/tile.c) and any tile rows from before are
 * dropped. */
cr_status cr_tile_rows_build(cr_store *store, const cr_layer_def *d, int always,
                             cr_tile_rows_stats *st, cr_error *err);

/* One value of rec: type is SQLite's (SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT with s
 * NUL-terminated, SQLITE_BLOB with no bytes kept, SQLITE_NULL). */
typedef struct {
    int type;
    int64_t i;
    double d;
    const char *s;
} cr_tile_value;

/* Append the value of column col of st to b. */
void cr_tile_value_put(cr_strbuf *b, sqlite3_stmt *st, int col);
/* The same, as type as (SQLITE_FLOAT or SQLITE_TEXT, converted as sqlite3_column_double and
 * _text convert) unless NULL; as 0: its own type. */
void cr_tile_value_put_as(cr_strbuf *b, sqlite3_stmt *st, int col, int as);
/* Read one value at p (before end) into v; returns what follows it, or NULL when malformed. */
const unsigned char *cr_tile_value_get(const unsigned char *p, const unsigned char *end,
                                       cr_tile_value *v);

#endif
