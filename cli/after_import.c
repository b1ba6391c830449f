/* SPDX-License-Identifier: MIT */
/* After batches changed a layer: rejoin, test each batch's CRS, rebuild the network when its
 * inputs changed, generalise for low zooms. A step that fails leaves the batches stored. */
#include "after_import.h"

#include "etl/generalise.h"
#include "etl/join.h"
#include "exit_codes.h"
#include "network/network.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Layers whose change means the network must be rebuilt. */
static int network_input(const char *layer)
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

/* Each batch's flagged rows and CRS verdict, as the summary's last lines. */
static void print_batch_flags(cr_store *store, const cr_cli_after_import *a)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT flag_note FROM import_batches WHERE batch_id = ? AND"
                           " flags IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    for (size_t i = 0; i < a->n_batches; i++) {
        int64_t flagged = batch_flagged(store, a->layer, a->batches[i]);
        if (flagged > 0) {
            printf("batch %lld: %lld of its rows flagged for review (crossriver review --batch "
                   "%lld)\n",
                   (long long)a->batches[i], (long long)flagged, (long long)a->batches[i]);
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, a->batches[i]);
        if (sqlite3_step(st) == SQLITE_ROW) {
            printf("batch %lld flagged: %s\n", (long long)a->batches[i],
                   (const char *)sqlite3_column_text(st, 0));
        }
    }
    sqlite3_finalize(st);
}

static int join_step(cr_store *store, const cr_cli_after_import *a)
{
    cr_join_stats js;
    cr_error err = {0};
    if (cr_join_after_ingest(store, a->layer, a->batches, a->n_batches, &js, &err) != CR_OK) {
        fprintf(stderr,
                "crossriver %s: the batch is stored, but the join failed: %s\n"
                "  (run crossriver join once the cause is fixed)\n",
                a->cmd, err.msg);
        return CR_EXIT_FAILURE;
    }
    if (js.features > 0 && a->print) {
        printf("joined %lld features: %lld on a reach or in a lake, %lld unmatched, %lld "
               "flagged for review in the layer (%.2f s)\n",
               (long long)js.features, (long long)js.matched, (long long)js.unmatched,
               (long long)js.flagged, js.seconds);
    }
    if (a->print) {
        print_batch_flags(store, a);
    }
    return CR_EXIT_OK;
}

static int network_step(cr_store *store, const cr_cli_after_import *a)
{
    cr_network_options nopt = {5.0, 50.0, 0};
    const cr_layer_def *reaches = cr_layer_set_find(cr_store_layers(store), "reaches");
    json_t *snap =
        reaches
            ? json_object_get(json_object_get(json_object_get(reaches->json, "join"), "network"),
                              "snap_tolerance_m")
            : NULL;
    nopt.snap_tolerance_m = json_is_number(snap) ? json_number_value(snap) : 5.0;
    nopt.from_attributes = cr_network_topology_from_attributes(store);
    cr_network_report rep;
    cr_error err = {0};
    int code = CR_EXIT_OK;
    if (cr_network_build(store, &nopt, &rep, &err) != CR_OK) {
        fprintf(stderr, "crossriver %s: the batch is stored, but the network build failed: %s\n",
                a->cmd, err.msg);
        code = CR_EXIT_FAILURE;
    } else if (a->print) {
        printf("network: %lld reaches, %lld nodes, %lld component%s, %zu validation issue%s "
               "(details: crossriver network)\n",
               (long long)rep.reaches, (long long)rep.nodes, (long long)rep.components,
               rep.components == 1 ? "" : "s", rep.n_issues, rep.n_issues == 1 ? "" : "s");
    }
    cr_network_report_cleanup(&rep);
    return code;
}

static int generalise_step(cr_store *store, const cr_layer_def *def, const cr_cli_after_import *a)
{
    cr_generalise_stats gs;
    cr_error err = {0};
    if (cr_generalise_layer(store, def, &gs, &err) != CR_OK) {
        fprintf(stderr,
                "crossriver %s: the batch is stored, but generalising %s for low zooms failed: "
                "%s\n  (run crossriver generalise once the cause is fixed)\n",
                a->cmd, def->name, err.msg);
        return CR_EXIT_FAILURE;
    }
    if (a->print) {
        printf("generalised %lld features at %d zoom levels for low zooms: %lld → %lld "
               "vertices at the coarsest (%.2f s)\n",
               (long long)gs.features, gs.levels, (long long)gs.vertices_in,
               (long long)gs.vertices_out, gs.seconds);
    }
    return CR_EXIT_OK;
}

int cr_cli_after_import_run(cr_store *store, const cr_cli_after_import *a)
{
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), a->layer);
    int code = CR_EXIT_OK;
    if (!a->no_join) {
        code = join_step(store, a);
    }
    if (code == CR_EXIT_OK && !a->no_join && network_input(a->layer)) {
        code = network_step(store, a);
    }
    if (code == CR_EXIT_OK && def && cr_generalise_wanted(def)) {
        code = generalise_step(store, def, a);
    }
    return code;
}
