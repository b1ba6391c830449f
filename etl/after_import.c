/* SPDX-License-Identifier: MIT */
/* What follows batches that changed a layer (an import, a revert): the joins and each batch's
 * CRS test, the network build when its inputs changed, the low-zoom generalisation, the rows
 * tiles read (store/tile_rows.h). Rule: one place decides which layers rebuild what; a step
 * that fails leaves the batches stored. */
#include "after_import.h"

#include "generalise.h"
#include "join.h"

#include <sqlite3.h>
#include <string.h>

int cr_etl_is_network_input(const char *layer)
{
    return strcmp(layer, "reaches") == 0 || strcmp(layer, "lakes") == 0 ||
           strcmp(layer, "gates") == 0;
}

/* Rows the batch wrote that the joins flagged for review, or -1 when the layer has no flags. */
static int64_t batch_flagged(cr_store *store, const char *layer, int64_t batch_id)
{
    char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w_current\" WHERE batch_id = ? AND"
                                " coalesce(join_flags, '') != ''",
                                layer);
    sqlite3_stmt *st;
    int64_t n = -1;
    if (sqlite3_prepare_v2(cr_store_db(store), sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch_id);
        n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return n;
}

/* Each batch's flagged rows and CRS verdict. */
static void batch_flags(cr_store *store, const cr_after_import *a, cr_after_import_report *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT flag_note FROM import_batches WHERE batch_id = ? AND"
                           " flags IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    for (size_t i = 0; i < a->n_batches && i < CR_AFTER_IMPORT_MAX_BATCHES; i++) {
        cr_after_import_batch *b = &r->batches[r->n_batches++];
        b->batch_id = a->batches[i];
        b->flagged_rows = batch_flagged(store, a->layer, a->batches[i]);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, a->batches[i]);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(b->crs_note, sizeof b->crs_note, "%s",
                     (const char *)sqlite3_column_text(st, 0));
        }
    }
    sqlite3_finalize(st);
}

cr_status cr_etl_after_import(cr_store *store, const cr_after_import *a, cr_after_import_report *r,
                              cr_error *err)
{
    memset(r, 0, sizeof *r);
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), a->layer);
    cr_status rc = CR_OK;
    if (!a->no_join) {
        r->joined = 1;
        rc = cr_join_after_ingest(store, a->layer, a->batches, a->n_batches, &r->join, err);
        if (rc != CR_OK) {
            r->failed_step = "join";
            return rc;
        }
        batch_flags(store, a, r);
    }
    if (!a->no_join && cr_etl_is_network_input(a->layer)) {
        cr_network_options nopt;
        cr_network_options_for(store, &nopt);
        r->built_network = 1;
        rc = cr_network_build(store, &nopt, &r->network, err);
        if (rc != CR_OK) {
            r->failed_step = "network build";
            return rc;
        }
    }
    if (def && cr_generalise_wanted(def)) {
        r->generalised = 1;
        rc = cr_generalise_layer(store, def, &r->generalise, err);
        if (rc != CR_OK) {
            r->failed_step = "generalisation";
            return rc;
        }
    }
    if (def && cr_tile_rows_wanted(def)) {
        r->tile_rows = 1;
        rc = cr_tile_rows_build(store, def, 0, &r->tile_rows_stats, err);
        if (rc != CR_OK) {
            r->failed_step = "tile rows";
        }
    }
    return rc;
}

void cr_after_import_report_cleanup(cr_after_import_report *r)
{
    cr_network_report_cleanup(&r->network);
}
