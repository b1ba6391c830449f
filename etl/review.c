/* SPDX-License-Identifier: MIT */
/* Review: the current rows whose joins raised review flags, and the batches flagged as a whole
 * (a CRS that looks wrong), for a clerk to check one by one. Rule: read-only. */
#include "etl.h"

#include <sqlite3.h>
#include <string.h>

static int has_flags_column(sqlite3 *db, const char *layer)
{
    char *sql = sqlite3_mprintf("SELECT 1 FROM pragma_table_info('%q_current') WHERE"
                                " name = 'join_flags'",
                                layer);
    sqlite3_stmt *st;
    int found =
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return found;
}

/* The flagged rows of one layer, appended to arr. */
static void layer_rows(sqlite3 *db, const cr_layer_def *d, int64_t batch, json_t *arr)
{
    int has_name = cr_layer_def_field_index(d, "name") >= 0;
    char *sql = sqlite3_mprintf("SELECT source_id, %s, batch_id, source_row, join_flags FROM"
                                " \"%w_current\" WHERE coalesce(join_flags, '') != '' AND"
                                " (?1 = 0 OR batch_id = ?1) ORDER BY batch_id, source_row",
                                has_name ? "name" : "NULL", d->name);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_array_append_new(arr,
                                  json_pack("{s:s, s:s, s:s?, s:I, s:I, s:s}", "layer", d->name,
                                            "id", (const char *)sqlite3_column_text(st, 0), "name",
                                            (const char *)sqlite3_column_text(st, 1), "batch_id",
                                            (json_int_t)sqlite3_column_int64(st, 2), "source_row",
                                            (json_int_t)sqlite3_column_int64(st, 3), "flags",
                                            (const char *)sqlite3_column_text(st, 4)));
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
}

static void flagged_batches(sqlite3 *db, const char *layer, int64_t batch, json_t *arr)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT batch_id, layer, file_name, flags, flag_note FROM import_batches"
                           " WHERE flags IS NOT NULL AND (?1 IS NULL OR layer = ?1) AND"
                           " (?2 = 0 OR batch_id = ?2) AND superseded_by IS NULL AND"
                           " reverted_by IS NULL ORDER BY batch_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    sqlite3_bind_text(st, 1, layer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, batch);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s}", "batch_id",
                                             (json_int_t)sqlite3_column_int64(st, 0), "layer",
                                             (const char *)sqlite3_column_text(st, 1), "file",
                                             (const char *)sqlite3_column_text(st, 2), "flags",
                                             (const char *)sqlite3_column_text(st, 3), "note",
                                             (const char *)sqlite3_column_text(st, 4)));
    }
    sqlite3_finalize(st);
}

cr_status cr_etl_review(cr_store *store, const char *layer, int64_t batch, json_t **out,
                        cr_error *err)
{
    const cr_layer_set *set = cr_store_layers(store);
    if (layer && cr_layer_set_find(set, layer) == NULL) {
        return cr_error_set(err, CR_EINVAL, "unknown layer '%s' (see: crossriver layers)", layer);
    }
    sqlite3 *db = cr_store_db(store);
    json_t *batches = json_array(), *rows = json_array();
    flagged_batches(db, layer, batch, batches);
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        if ((layer == NULL || strcmp(layer, d->name) == 0) && has_flags_column(db, d->name)) {
            layer_rows(db, d, batch, rows);
        }
    }
    *out = json_pack("{s:o, s:o}", "batches", batches, "rows", rows);
    return CR_OK;
}
