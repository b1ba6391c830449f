/* SPDX-License-Identifier: MIT */
/* crossriver seed: pre-render the tiles of a bbox and zoom range into an MBTiles 1.3 file,
 * gzip-compressed exactly as the server sends them. Written to FILE.partial, renamed at the
 * end: an interrupted seed leaves no half-written MBTiles behind. */
#include "api/api.h"
#include "cli_common.h"
#include "commands.h"
#include "exit_codes.h"
#include "tiler/tile.h"

#include <getopt.h>
#include <sqlite3.h>
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

static int sql_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "crossriver seed: %s\n", msg);
        sqlite3_free(msg);
        return 0;
    }
    return 1;
}

static void put_meta(sqlite3_stmt *st, const char *name, const char *value)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
}

/* Metadata from the TileJSON the server gives (bounds of the seed, its zooms). */
static void write_metadata(sqlite3 *db, cr_store *store, const double b[4], int zmin, int zmax)
{
    cr_error err = {0};
    json_t *tj = NULL;
    cr_api_tilejson(store, "", &tj, &err);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO metadata (name, value) VALUES (?, ?)", -1, &st, NULL);
    char buf[256];
    put_meta(st, "name", "crossriver");
    put_meta(st, "format", "pbf");
    put_meta(st, "type", "overlay");
    put_meta(st, "version", "1");
    snprintf(buf, sizeof buf, "%.6f,%.6f,%.6f,%.6f", b[0], b[1], b[2], b[3]);
    put_meta(st, "bounds", buf);
    snprintf(buf, sizeof buf, "%.6f,%.6f,%d", (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, zmin);
    put_meta(st, "center", buf);
    snprintf(buf, sizeof buf, "%d", zmin);
    put_meta(st, "minzoom", buf);
    snprintf(buf, sizeof buf, "%d", zmax);
    put_meta(st, "maxzoom", buf);
    json_t *meta = json_pack("{s:O}", "vector_layers", json_object_get(tj, "vector_layers"));
    char *js = json_dumps(meta, JSON_COMPACT);
    put_meta(st, "json", js);
    free(js);
    json_decref(meta);
    json_decref(tj);
    sqlite3_finalize(st);
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
    uint64_t total = 0;
    for (int z = zmin; z <= zmax; z++) {
        int x0, y0, x1, y1; /* north-west and south-east tiles */
        cr_tile_at(b[0], b[3], z, &x0, &y0);
        cr_tile_at(b[2], b[1], z, &x1, &y1);
        total += (uint64_t)(x1 - x0 + 1) * (uint64_t)(y1 - y0 + 1);
    }
    char partial[1024];
    snprintf(partial, sizeof partial, "%s.partial", out);
    remove(partial);
    sqlite3 *db = NULL;
    int code = CR_EXIT_OK;
    if (sqlite3_open(partial, &db) != SQLITE_OK ||
        !sql_ok(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                    "CREATE TABLE metadata (name TEXT, value TEXT);"
                    "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER,"
                    " tile_row INTEGER, tile_data BLOB);"
                    "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
                    "BEGIN")) {
        fprintf(stderr, "crossriver seed: cannot create %s\n", partial);
        code = CR_EXIT_FAILURE;
    }
    sqlite3_stmt *ins = NULL;
    if (code == CR_EXIT_OK) {
        sqlite3_prepare_v2(db, "INSERT INTO tiles VALUES (?, ?, ?, ?)", -1, &ins, NULL);
    }
    cr_cli_progress_state prog = {out, cr_monotonic_s(), 0, 0};
    uint64_t done = 0, stored = 0, bytes = 0;
    for (int z = zmin; z <= zmax && code == CR_EXIT_OK; z++) {
        int x0, y0, x1, y1;
        cr_tile_at(b[0], b[3], z, &x0, &y0);
        cr_tile_at(b[2], b[1], z, &x1, &y1);
        for (int x = x0; x <= x1 && code == CR_EXIT_OK; x++) {
            for (int y = y0; y <= y1 && code == CR_EXIT_OK; y++) {
                cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1, .layers = layers};
                cr_strbuf tile = {0};
                cr_tile_stats stats;
                cr_error err = {0};
                char *gz = NULL;
                size_t gz_len = 0;
                if (cr_tile_render(store, &req, &tile, &stats, &err) != CR_OK) {
                    fprintf(stderr, "crossriver seed: tile %d/%d/%d: %s\n", z, x, y, err.msg);
                    code = err.code == CR_EINVAL ? CR_EXIT_USAGE : CR_EXIT_FAILURE;
                } else if (tile.len > 0 && cr_tile_gzip(tile.data, tile.len, &gz, &gz_len)) {
                    sqlite3_reset(ins);
                    sqlite3_bind_int(ins, 1, z);
                    sqlite3_bind_int(ins, 2, x);
                    sqlite3_bind_int(ins, 3, (1 << z) - 1 - y); /* TMS rows */
                    sqlite3_bind_blob(ins, 4, gz, (int)gz_len, SQLITE_TRANSIENT);
                    if (sqlite3_step(ins) != SQLITE_DONE) {
                        fprintf(stderr, "crossriver seed: %s\n", sqlite3_errmsg(db));
                        code = CR_EXIT_FAILURE;
                    }
                    stored++;
                    bytes += gz_len;
                }
                free(gz);
                cr_strbuf_cleanup(&tile);
                done++;
                if (!common.quiet) {
                    cr_cli_progress(&prog, done, total);
                }
            }
        }
    }
    cr_cli_progress_end(&prog);
    sqlite3_finalize(ins);
    if (code == CR_EXIT_OK) {
        write_metadata(db, store, b, zmin, zmax);
        code = sql_ok(db, "COMMIT") ? CR_EXIT_OK : CR_EXIT_FAILURE;
    }
    sqlite3_close(db);
    if (code == CR_EXIT_OK && rename(partial, out) != 0) {
        fprintf(stderr, "crossriver seed: cannot rename %s to %s\n", partial, out);
        code = CR_EXIT_FAILURE;
    }
    if (code != CR_EXIT_OK) {
        remove(partial);
    } else if (!common.quiet) {
        fprintf(stderr,
                "%s: %llu tiles of %llu stored (the rest empty), %.1f MiB, z%d-%d, %.1f s\n", out,
                (unsigned long long)stored, (unsigned long long)total, (double)bytes / 1048576.0,
                zmin, zmax, cr_monotonic_s() - prog.t0);
    }
    cr_store_close(store);
    cr_layer_set_free(set);
    return code;
}
