/* SPDX-License-Identifier: MIT */
/* Internal to store/: the connection's state, shared by store.c (schema, rows) and history.c
 * (batches: supersede, revert, closing). */
#ifndef CR_STORE_STORE_INTERNAL_H
#define CR_STORE_STORE_INTERNAL_H

#include "store.h"

#include <sqlite3.h>

typedef struct {
    sqlite3_stmt *select_current; /* fid, version, content_sha256 by source_id */
    sqlite3_stmt *close_row;      /* set valid_to on one fid */
    sqlite3_stmt *insert_row;     /* insert one version */
    sqlite3_stmt *select_fields;  /* every field column of one fid */
    sqlite3_stmt *rtree_insert;   /* spatial index entries of a batch's new rows */
    sqlite3_stmt *last_closed;    /* highest closed version of a source_id */
    int64_t empty_in_batch;       /* batch at whose start the layer had no current rows */
    int64_t checked_in_batch;     /* batch for which empty_in_batch was decided */
} layer_stmts;

struct cr_store {
    sqlite3 *db;             /* owned */
    void *spatialite_cache;  /* owned, spatialite_alloc_connection */
    const cr_layer_set *set; /* borrowed */
    layer_stmts *stmts;      /* one per layer in set, prepared lazily */
    char valid_from[32];     /* of the open batch */
    int64_t batch_id;        /* the open batch */
    cr_strbuf scratch;       /* reused for row hashes */
    int in_batch;            /* a transaction is open */
    int as_of;               /* cr_store_as_of_begin's views are in place */
    struct {
        char *sql;
        uint64_t hash; /* of sql, compared first */
        sqlite3_stmt *st;
        uint64_t used; /* tick of the last use */
    } cache[CR_STORE_STMT_CACHE];
    uint64_t tick;
    int64_t data_version;   /* PRAGMA data_version when has_rows was last valid */
    signed char *has_rows;  /* per layer: -1 unknown, 0 empty, 1 has current rows */
    int *tile_hints;        /* per layer: the tiler's note (cr_store_layer_tile_hint) */
    signed char *tile_rows; /* per layer: -1 unknown, 1 its tile rows are current */
    int64_t *overviews;     /* per layer: -1 unknown, else the levels with a selection (bits) */
    int accumulations;      /* reach_accumulations: -1 unknown, 0 empty, 1 has rows */
    int reading;            /* in cr_store_read_begin's transaction: the answers above hold */
};

/* 1 when layer d's tile rows were made after its last batch with its present fields
 * (store/tile_rows.c), asked afresh. */
int cr_store_tile_rows_state_matches(cr_store *s, const cr_layer_def *d);

/* The error of the last SQLite call on s, prefixed by what. */
cr_status cr_store_db_error(cr_store *s, cr_error *err, const char *what);
void cr_store_bind_text_or_null(sqlite3_stmt *st, int i, const char *v);
/* The prepared statements of layer d (prepared on first use; owned by the store). */
cr_status cr_store_prepare_layer(cr_store *s, const cr_layer_def *d, layer_stmts **out,
                                 cr_error *err);
/* Close one version: valid_to = the open batch's time, closed_by_batch = batch_id. */
cr_status cr_store_close_fid(cr_store *s, layer_stmts *ls, int64_t batch_id, int64_t fid,
                             cr_error *err);

/* After a batch's counts are written: mark the batch it supersedes or reverts, and clear that
 * mark where the batch reverted is itself a revert or a superseding import. */
cr_status cr_store_mark_target(cr_store *s, int64_t batch_id, cr_error *err);

/* Rebuild the layer's spatial index (idx_<layer>_geom) from all its rows with a geometry, in
 * one packed pass (store/rtree_bulk.c), inside the caller's transaction. */
cr_status cr_store_rtree_rebuild(cr_store *s, const char *layer, cr_error *err);

#endif
