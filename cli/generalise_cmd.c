/* SPDX-License-Identifier: MIT */
/* crossriver generalise: rebuild the low-zoom generalisations of polygon and line layers. */
#include "cli_common.h"
#include "commands.h"
#include "etl/generalise.h"
#include "exit_codes.h"
#include "store/tile_rows.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cr_cmd_generalise(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"layer", required_argument, NULL, 'l'}, CR_CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *only = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        if (opt == 'l') {
            only = optarg;
            continue;
        }
        printf("usage: crossriver generalise [--layer NAME] [--store PATH] [--json]\n\n"
               "Rebuild the low-zoom generalisations of the polygon and line layers whose tile\n"
               "settings list \"generalise\" zoom levels (ingest does this after each import of\n"
               "such a layer): polygons' shared boundaries are simplified once, so neighbours\n"
               "never gap or overlap; lines keep their endpoints, and each level keeps at most\n"
               "the layer's keep_per_tile lines per tile (4096 unless set), highest Strahler\n"
               "order then longest first. Run it after `crossriver network` when the orders\n"
               "changed. Servers drop the affected tiles by themselves. Point and line layers\n"
               "with tile settings whose rows do not lie in runs of consecutive fids where\n"
               "tiles read them (a file in no order of place) get their current rows as tiles\n"
               "read them: in an order of place, with their tile fields only.\n");
        return opt == 'h' ? CR_EXIT_OK : CR_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "crossriver generalise: unexpected argument '%s'\n", argv[optind]);
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    int rc = CR_EXIT_OK, done = 0;
    json_t *out = json_array();
    for (size_t i = 0; i < set->n_layers && rc == CR_EXIT_OK; i++) {
        const cr_layer_def *d = set->layers[i];
        int gen = cr_generalise_wanted(d), rows = cr_tile_rows_wanted(d);
        if ((only && strcmp(only, d->name) != 0) || (!only && !gen && !rows)) {
            continue;
        }
        cr_error err = {0};
        done++;
        if (rows) {
            cr_tile_rows_stats ts;
            if (cr_tile_rows_build(store, d, 0, &ts, &err) != CR_OK) {
                fprintf(stderr, "crossriver generalise: %s\n", err.msg);
                rc = CR_EXIT_FAILURE;
            } else if (common.json) {
                json_array_append_new(out, json_pack("{s:s, s:I, s:b, s:f}", "layer", d->name,
                                                     "tile_rows", (json_int_t)ts.rows, "in_runs",
                                                     ts.in_runs, "seconds", ts.seconds));
            } else if (!common.quiet && ts.in_runs) {
                printf("%s: its rows lie in runs where tiles read them: no tile rows needed\n",
                       d->name);
            } else if (!common.quiet && ts.rows > 0) {
                printf("%s: %lld current rows as tiles read them, in an order of place (%.2f s)\n",
                       d->name, (long long)ts.rows, ts.seconds);
            }
            if (!gen || rc != CR_EXIT_OK) {
                continue;
            }
        }
        cr_generalise_stats st;
        if (cr_generalise_layer(store, d, &st, &err) != CR_OK) {
            fprintf(stderr, "crossriver generalise: %s\n", err.msg);
            rc = CR_EXIT_FAILURE;
        } else if (common.json) {
            json_array_append_new(out, json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:f}",
                                                 "layer", d->name, "levels", st.levels, "features",
                                                 (json_int_t)st.features, "kept_at_coarsest",
                                                 (json_int_t)st.kept, "vertices_in",
                                                 (json_int_t)st.vertices_in, "vertices_out",
                                                 (json_int_t)st.vertices_out, "fell_back",
                                                 (json_int_t)st.fell_back, "seconds", st.seconds));
        } else if (!common.quiet) {
            printf("%s: %lld features at %d levels, %lld of them at the coarsest, %lld → %lld "
                   "vertices there, %lld kept their own outline (%.2f s)\n",
                   d->name, (long long)st.features, st.levels, (long long)st.kept,
                   (long long)st.vertices_in, (long long)st.vertices_out, (long long)st.fell_back,
                   st.seconds);
        }
    }
    if (only && done == 0) {
        fprintf(stderr, "crossriver generalise: no layer '%s'\n", only);
        rc = CR_EXIT_USAGE;
    }
    if (common.json && rc == CR_EXIT_OK) {
        char *s = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    }
    json_decref(out);
    cr_store_close(store);
    cr_layer_set_free(set);
    return rc;
}
