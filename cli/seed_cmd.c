/* SPDX-License-Identifier: MIT */
/* crossriver seed: parse the options, call cr_tiler_seed_mbtiles (tiler/mbtiles.c) or
 * cr_tiler_seed_pmtiles (tiler/pmtiles.c), print. */
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
    fprintf(out,
            "usage: crossriver seed --out FILE.mbtiles|FILE.pmtiles [--format mbtiles|pmtiles]\n"
            "                       [--zoom MIN-MAX] [--bbox W,S,E,N] [--layers a,b]\n"
            "                       [--store PATH]\n\n"
            "Render every tile of the bbox (default: the store's extent) at zooms MIN to MAX\n"
            "(default 4-12) into an MBTiles 1.3 file (format pbf, gzip, TMS rows) or a\n"
            "PMTiles v3 archive (gzip tiles in Hilbert order, identical tiles once, for\n"
            "static hosting with range requests), with TileJSON metadata; --format, else\n"
            "the --out extension, says which. Empty tiles are not stored. Progress on a\n"
            "terminal.\n");
}

typedef struct {
    cr_cli_common common;
    const char *out, *layers;
    int pmtiles; /* else MBTiles */
    cr_cli_area area;
} seed_args;

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, seed_args *a)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        CR_CLI_AREA_LONGOPTS,
        {"layers", required_argument, NULL, 'l'},
        {"format", required_argument, NULL, 'f'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common_init(&a->common);
    a->area.zmin = 4;
    a->area.zmax = 12;
    int opt;
    const char *format = NULL;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&a->common, opt, optarg)) {
            continue;
        }
        int area = cr_cli_area_option("seed", opt, optarg, &a->area);
        if (area != 0) {
            if (area < 0) {
                return CR_EXIT_USAGE;
            }
            continue;
        }
        switch (opt) {
        case 'o':
            a->out = optarg;
            break;
        case 'l':
            a->layers = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "mbtiles") != 0 && strcmp(optarg, "pmtiles") != 0) {
                fprintf(stderr, "crossriver seed: --format is mbtiles or pmtiles, not '%s'\n",
                        optarg);
                return CR_EXIT_USAGE;
            }
            format = optarg;
            break;
        case 'h':
            help(stdout);
            return CR_EXIT_OK;
        default:
            fprintf(stderr, "(crossriver seed --help for usage)\n");
            return CR_EXIT_USAGE;
        }
    }
    if (a->out == NULL || optind != argc) {
        fprintf(stderr, "crossriver seed: --out FILE.mbtiles or FILE.pmtiles is required (--help "
                        "for usage)\n");
        return CR_EXIT_USAGE;
    }
    size_t n = strlen(a->out);
    a->pmtiles =
        format ? strcmp(format, "pmtiles") == 0 : n > 8 && strcmp(a->out + n - 8, ".pmtiles") == 0;
    return -1;
}

/* The store's extent (TileJSON bounds) into b. */
int cr_cmd_seed(int argc, char **argv)
{
    seed_args a = {0};
    int parsed = parse_args(argc, argv, &a);
    if (parsed >= 0) {
        return parsed;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&a.common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    cr_error err = {0};
    json_t *tj = NULL;
    cr_api_tilejson(store, "", &tj, &err); /* the metadata's vector_layers and the extent */
    cr_cli_area_bounds(&a.area, tj);
    const double *b = a.area.b;
    cr_cli_progress_state prog = {a.out, cr_monotonic_s(), 0, 0};
    cr_seed_options so = {a.out,
                          {b[0], b[1], b[2], b[3]},
                          a.area.zmin,
                          a.area.zmax,
                          a.layers,
                          json_object_get(tj, "vector_layers"),
                          a.common.quiet ? NULL : cr_cli_progress,
                          &prog};
    cr_seed_stats st;
    int code = CR_EXIT_OK;
    if ((a.pmtiles ? cr_tiler_seed_pmtiles : cr_tiler_seed_mbtiles)(store, &so, &st, &err) !=
        CR_OK) {
        cr_cli_progress_end(&prog);
        fprintf(stderr, "crossriver seed: %s\n", err.msg);
        code = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else {
        cr_cli_progress_end(&prog);
        if (!a.common.quiet) {
            fprintf(stderr,
                    "%s: %llu tiles of %llu stored (the rest empty), %.1f MiB, z%d-%d, %.1f s\n",
                    a.out, (unsigned long long)st.stored, (unsigned long long)st.total,
                    (double)st.bytes / 1048576.0, a.area.zmin, a.area.zmax,
                    cr_monotonic_s() - prog.t0);
        }
    }
    json_decref(tj);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
