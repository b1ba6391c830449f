/* SPDX-License-Identifier: MIT */
/* crossriver tile: render one vector tile (the bytes the server serves) to a file or stdout. */
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "tiler/tile.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *out)
{
    fprintf(out, "usage: crossriver tile Z/X/Y [--layers a,b] [--as-of YYYY-MM-DDTHH:MM:SSZ]\n"
                 "                          [--out FILE] [--store PATH]\n\n"
                 "Render one Mapbox Vector Tile (XYZ scheme, extent 4096) from the store, as the\n"
                 "server serves it, uncompressed; to FILE or standard output (not a terminal).\n"
                 "--as-of draws the inventories and events as they were then (as an evidence\n"
                 "package does); the reference geography is drawn as it is.\n"
                 "The summary (layers, features, bytes) goes to stderr; --json makes it JSON.\n");
}

typedef struct {
    cr_cli_common common;
    cr_tile_request req;
    const char *out_path; /* NULL: standard output (not a terminal) */
    const char *as_of;    /* NULL: now */
} tile_args;

/* -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, tile_args *a)
{
    static const struct option longopts[] = {
        {"layers", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'},
        {"as-of", required_argument, NULL, 'a'},
        CR_CLI_COMMON_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    cr_cli_common_init(&a->common);
    a->req.buffer = -1;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        if (cr_cli_common_option(&a->common, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'l':
            a->req.layers = optarg;
            break;
        case 'o':
            a->out_path = optarg;
            break;
        case 'a': {
            int f[6];
            char z = 0;
            if (sscanf(optarg, "%4d-%2d-%2dT%2d:%2d:%2d%c", &f[0], &f[1], &f[2], &f[3], &f[4],
                       &f[5], &z) < 6 ||
                (z != 0 && z != 'Z')) {
                fprintf(stderr, "crossriver tile: --as-of wants YYYY-MM-DDTHH:MM:SSZ, got '%s'\n",
                        optarg);
                return CR_EXIT_USAGE;
            }
            a->as_of = optarg;
            break;
        }
        case 'h':
            help(stdout);
            return CR_EXIT_OK;
        default:
            fprintf(stderr, "(crossriver tile --help for usage)\n");
            return CR_EXIT_USAGE;
        }
    }
    char tail;
    if (optind + 1 != argc ||
        sscanf(argv[optind], "%d/%d/%d%c", &a->req.z, &a->req.x, &a->req.y, &tail) != 3) {
        fprintf(stderr, "crossriver tile: give one tile as Z/X/Y, e.g. 12/3425/1674\n");
        return CR_EXIT_USAGE;
    }
    if (!cr_tile_valid(a->req.z, a->req.x, a->req.y)) {
        fprintf(stderr, "crossriver tile: no tile %s (z 0–%d, x and y below 2^z)\n", argv[optind],
                CR_TILE_MAX_ZOOM);
        return CR_EXIT_USAGE;
    }
    if (a->out_path == NULL && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "crossriver tile: not writing binary to a terminal; use --out FILE\n");
        return CR_EXIT_USAGE;
    }
    return -1;
}

/* The tile to its file or standard output, and what is in it to standard error. */
static int write_tile(const tile_args *a, const cr_strbuf *tile, const cr_tile_stats *stats)
{
    FILE *f = a->out_path ? fopen(a->out_path, "wb") : stdout;
    if (f == NULL || fwrite(tile->data ? tile->data : "", 1, tile->len, f) != tile->len ||
        (a->out_path && fclose(f) != 0)) {
        fprintf(stderr, "crossriver tile: cannot write %s\n", a->out_path ? a->out_path : "stdout");
        return CR_EXIT_FAILURE;
    }
    if (a->common.json) {
        fprintf(stderr,
                "{\"layers\":%zu,\"features\":%zu,\"dropped\":%zu,\"capped\":%zu,\"bytes\":%zu}\n",
                stats->layers, stats->features, stats->dropped, stats->capped, tile->len);
    } else if (!a->common.quiet) {
        fprintf(stderr,
                "tile %d/%d/%d: %zu layers, %zu features (%zu vanished, %zu left out to stay within"
                " the caps), %zu bytes\n",
                a->req.z, a->req.x, a->req.y, stats->layers, stats->features, stats->dropped,
                stats->capped, tile->len);
    }
    return CR_EXIT_OK;
}

int cr_cmd_tile(int argc, char **argv)
{
    tile_args a = {0};
    int parsed = parse_args(argc, argv, &a);
    if (parsed >= 0) {
        return parsed;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_cli_open(&a.common, &set, &store) != 0) {
        return CR_EXIT_FAILURE;
    }
    cr_strbuf tile = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    int code = CR_EXIT_OK;
    if ((a.as_of && cr_store_as_of_begin(store, a.as_of, &err) != CR_OK) ||
        cr_tile_render(store, &a.req, &tile, &stats, &err) != CR_OK) {
        fprintf(stderr, "crossriver tile: %s\n", err.msg);
        code = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
    } else {
        code = write_tile(&a, &tile, &stats);
    }
    cr_strbuf_cleanup(&tile);
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
