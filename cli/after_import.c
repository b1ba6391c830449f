/* SPDX-License-Identifier: MIT */
/* The reports of cr_etl_after_import, as ingest and batches --revert print them. */
#include "after_import.h"

#include "cli_common.h"
#include "etl/after_import.h"
#include "exit_codes.h"
#include "quality/alarms.h"

#include <stdio.h>

static void print_report(const cr_after_import_report *r)
{
    if (r->joined && r->join.features > 0) {
        printf("joined %lld features: %lld on a reach or in a lake, %lld unmatched, %lld "
               "flagged for review in the layer (%.2f s)\n",
               (long long)r->join.features, (long long)r->join.matched,
               (long long)r->join.unmatched, (long long)r->join.flagged, r->join.seconds);
    }
    for (size_t i = 0; i < r->n_batches; i++) {
        const cr_after_import_batch *b = &r->batches[i];
        if (b->flagged_rows > 0) {
            printf("batch %lld: %lld of its rows flagged for review (crossriver review --batch "
                   "%lld)\n",
                   (long long)b->batch_id, (long long)b->flagged_rows, (long long)b->batch_id);
        }
        if (b->crs_note[0]) {
            printf("batch %lld flagged: %s\n", (long long)b->batch_id, b->crs_note);
        }
    }
    const cr_network_report *n = &r->network;
    if (r->built_network) {
        printf("network: %lld reaches, %lld nodes, %lld component%s, %zu validation issue%s "
               "(details: crossriver network)\n",
               (long long)n->reaches, (long long)n->nodes, (long long)n->components,
               n->components == 1 ? "" : "s", n->n_issues, n->n_issues == 1 ? "" : "s");
    }
    const cr_generalise_stats *g = &r->generalise;
    if (r->generalised) {
        printf("generalised %lld features at %d zoom levels for low zooms: %lld → %lld "
               "vertices at the coarsest (%.2f s)\n",
               (long long)g->features, g->levels, (long long)g->vertices_in,
               (long long)g->vertices_out, g->seconds);
    }
    if (r->tile_rows && !r->tile_rows_stats.in_runs && r->tile_rows_stats.rows > 0) {
        printf("tile rows: %lld current features in an order of place, as tiles read them "
               "(%.2f s)\n",
               (long long)r->tile_rows_stats.rows, r->tile_rows_stats.seconds);
    }
}

int cr_cli_after_import_run(cr_store *store, const cr_cli_after_import *a)
{
    cr_after_import call = {a->layer, a->batches, a->n_batches, a->no_join};
    cr_after_import_report r;
    cr_error err = {0};
    int code = CR_EXIT_OK;
    if (cr_etl_after_import(store, &call, &r, &err) != CR_OK) {
        const char *again = r.failed_step && r.failed_step[0] == 'j'   ? "crossriver join"
                            : r.failed_step && r.failed_step[0] == 'g' ? "crossriver generalise"
                                                                       : "crossriver network";
        fprintf(stderr,
                "crossriver %s: the batch is stored, but the %s failed: %s\n"
                "  (run %s once the cause is fixed)\n",
                a->cmd, r.failed_step ? r.failed_step : "step", err.msg, again);
        code = CR_EXIT_FAILURE;
    }
    if (a->print) {
        print_report(&r);
    }
    cr_after_import_report_cleanup(&r);
    return code;
}

void cr_cli_print_detect(const cr_wq_detect_result *r)
{
    printf("alarms: %lld raised (", (long long)r->raised);
    for (int i = 0; i < 5; i++) {
        printf("%s%s %lld", i ? ", " : "", CR_WQ_ALARM_RULES[i], (long long)r->by_rule[i]);
    }
    printf("), %lld already recorded · crossriver alarms lists them\n", (long long)r->existing);
}

int cr_cli_after_readings(cr_store *store, const cr_standards *std, const char *config, int print)
{
    cr_error err = {0};
    const cr_layer_def *d = cr_layer_set_find(cr_store_layers(store), "monitoring_sections");
    if (cr_wq_refresh_status(store, std, d, &err) != CR_OK) {
        fprintf(stderr, "crossriver: section classes: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    if (print) {
        printf("sections: latest classes updated for the map\n");
    }
    json_t *conf = cr_cli_load_config("ingest", config);
    cr_wq_alarm_config cfg;
    if (conf == NULL ||
        cr_wq_alarm_config_load(json_object_get(conf, "alarms"), &cfg, &err) != CR_OK) {
        if (conf) {
            fprintf(stderr, "crossriver: alarms: %s\n", err.msg);
        }
        json_decref(conf);
        return CR_EXIT_FAILURE;
    }
    json_decref(conf);
    cr_wq_detect_result r;
    if (cr_wq_detect(store, std, &cfg, 0, &r, &err) != CR_OK) {
        fprintf(stderr, "crossriver: alarms: %s\n", err.msg);
        return CR_EXIT_FAILURE;
    }
    if (print) {
        cr_cli_print_detect(&r);
    }
    return CR_EXIT_OK;
}
