/* SPDX-License-Identifier: MIT */
/* crossriver seed: parse the options, call cr_tiler_seed_mbtiles (tiler/mbtiles.c), print. */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "tiler/tile.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver seed --out FILE.mbtiles [--zoom MIN-MAX] [--bbox W,S,E,N]\n"
                 "                       [--layers a,b] [--store PATH]\n\n"
                 "Render every tile of the bbox (default: the store's extent) at zooms MIN to MAX\n"
                 "(default 4-12) into an MBTiles 1.3 file (format pbf, gzip, TMS rows), with\n"
                 "TileJSON metadata. Empty tiles are not stored. Progress on a terminal.\n");
}

int cr_cmd_seed(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"zoom", required_argument, NULL, 'z'},
        {"bbox", required_argument, NULL, 'b'},
        {"layers", required_argument, NULL, 'l'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common common;
    cr_cli_common_init(&common);
    const char *out = NULL, *layers = NULL;
    int zmin = 4, zmax = 12, have_bbox = 0;
    double b[4];
    char tail;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'z':
            if (sscanf(optarg, "%d-%d%c", &zmin, &zmax, &tail) != 2 || zmin < 0 || zmax < zmin ||
                zmax > CR_TILE_MAX_ZOOM) {
                fprintf(stderr, "crossriver seed: --zoom is MIN-MAX within 0-%d, not '%s'\n",
                        CR_TILE_MAX_ZOOM, optarg);
                return CR_EXIT_USAGE;
            }
            break;
        case 'b':
            if (sscanf(optarg, "%lf,%lf,%lf,%lf%c", &b[0], &b[1], &b[2], &b[3], &tail) != 4 ||
                !(b[0] < b[2] && b[1] < b[3] && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 &&
                  b[3] <= 90)) {
                fprintf(stderr, "crossriver seed: --bbox is W,S,E,N in degrees, not '%s'\n",
                        optarg);
                return CR_EXIT_USAGE;
            }
            have_bbox = 1;
            break;
        case 'l':
            layers = optarg;
            break;
        case 'h':
            help(stdout);
            return CR_EXIT_OK;
        default:
            fprintf(stderr, "(crossriver seed --help for usage)\n");
            return CR_EXIT_USAGE;
        }
    }
    if (out == NULL || optind != argc) {
        fprintf(stderr, "crossriver seed: --out FILE.mbtiles is required (--help for usage)\n");
        return CR_EXIT_USAGE;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    if (!have_bbox) {
        cr_error e = {0};
        json_t *tj = NULL;
        cr_api_tilejson(store, "", &tj, &e);
        for (int i = 0; i < 4; i++) {
            b[i] = json_real_value(json_array_get(json_object_get(tj, "bounds"), (size_t)i));
        }
        json_decref(tj);
    }
    cr_error err = {0};
    json_t *tj = NULL;
    cr_api_tilejson(store, "", &tj, &err); /* the metadata's vector_layers */
    cr_cli_progress_state prog = {out, cr_monotonic_s(), 0, 0};
    cr_seed_options so = {out,
                          {b[0], b[1], b[2], b[3]},
                          zmin,
                          zmax,
                          layers,
                          json_object_get(tj, "vector_layers"),
                          common.quiet ? NULL : cr_cli_progress,
                          &prog};
    cr_seed_stats st;
    int code = CR_EXIT_OK;
    if (cr_tiler_seed_mbtiles(store, &so, &st, &err) != CR_OK) {
        cr_cli_progress_end(&prog);
        fprintf(stderr, "crossriver seed: %s\n", err.msg);
        code = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else {
        cr_cli_progress_end(&prog);
        if (!common.quiet) {
            fprintf(stderr,
                    "%s: %llu tiles of %llu stored (the rest empty), %.1f MiB, z%d-%d, %.1f s\n",
                    out, (unsigned long long)st.stored, (unsigned long long)st.total,
                    (double)st.bytes / 1048576.0, zmin, zmax, cr_monotonic_s() - prog.t0);
        }
    }
    json_decref(tj);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
