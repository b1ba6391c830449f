/* SPDX-License-Identifier: MIT */
/* Benchmark helper (not a test): render a fixed list of tiles from a store, cold (no tile cache
 * anywhere: each tile is rendered from the data), after one untimed pass that brings the store
 * into memory; each tile's time is the fastest of three timed passes. Prints one line per zoom and
 * overall (median, p95, mean in ms of making the MVT; the gzip the server adds on its own line) and
 * writes the gzipped tiles as static files (for nginx) and as an MBTiles 1.3 file (for
 * tileserver-gl), so every server in the throughput run serves the same bytes. Usage: tile_bench
 * STORE LAYERS_DIR TILES.txt OUTDIR  (TILES.txt: one "z x y" per line) */
#include "store/store.h"
#include "tiler/tile.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    int z, x, y;
    double ms, gzip_ms;
    size_t bytes;
} tile_job;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *label, double *ms, size_t n)
{
    if (n == 0) {
        return;
    }
    qsort(ms, n, sizeof *ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += ms[i];
    }
    printf("crossriver cold %-6s tiles %4zu  median %8.3f ms  p95 %8.3f ms  mean %8.3f ms\n", label,
           n, ms[n / 2], ms[(size_t)((double)(n - 1) * 0.95)], sum / (double)n);
}

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    mkdir(buf, 0755);
}

int main(int argc, char **argv)
{
    cr_store_global_init();
    if (argc != 5) {
        fprintf(stderr, "usage: tile_bench STORE LAYERS_DIR TILES.txt OUTDIR\n");
        return 2;
    }
    cr_error err = {0};
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    if (cr_layer_set_load(argv[2], &set, &err) != CR_OK ||
        cr_store_open_readonly(argv[1], set, &store, &err) != CR_OK) {
        fprintf(stderr, "tile_bench: %s\n", err.msg);
        return 1;
    }
    FILE *list = fopen(argv[3], "r");
    if (list == NULL) {
        fprintf(stderr, "tile_bench: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    tile_job *jobs = NULL;
    size_t n = 0, cap = 0;
    int z, x, y;
    while (fscanf(list, "%d %d %d", &z, &x, &y) == 3) {
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            jobs = cr_xrealloc(jobs, cap * sizeof *jobs);
        }
        jobs[n++] = (tile_job){z, x, y, 0, 0, 0};
    }
    fclose(list);
    char path[1024];
    snprintf(path, sizeof path, "%s/tiles.mbtiles", argv[4]);
    remove(path);
    sqlite3 *mb = NULL;
    if (sqlite3_open(path, &mb) != SQLITE_OK ||
        sqlite3_exec(mb,
                     "CREATE TABLE metadata (name TEXT, value TEXT);"
                     "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER,"
                     " tile_row INTEGER, tile_data BLOB);"
                     "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
                     "INSERT INTO metadata VALUES ('name', 'bench'), ('format', 'pbf'),"
                     " ('minzoom', '0'), ('maxzoom', '22'), ('type', 'overlay'),"
                     " ('version', '1.3'),"
                     " ('json', '{\"vector_layers\": [{\"id\": \"reaches\", \"fields\": {}},"
                     " {\"id\": \"outfalls\", \"fields\": {}}, {\"id\": \"admin_units\","
                     " \"fields\": {}}]}');"
                     "BEGIN;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "tile_bench: %s: %s\n", path, sqlite3_errmsg(mb));
        return 1;
    }
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(mb, "INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?)", -1, &ins, NULL);
    /* pass 0 brings the store into memory; passes 1–3 are timed, each tile's time the fastest
     * of the three (the PostGIS side is measured the same way) */
    for (int pass = 0; pass < 4; pass++) {
        for (size_t i = 0; i < n; i++) {
            cr_tile_request req = {.z = jobs[i].z,
                                   .x = jobs[i].x,
                                   .y = jobs[i].y,
                                   .buffer = -1,
                                   .layers = getenv("TILE_BENCH_LAYERS")};
            cr_strbuf out = {0};
            cr_tile_stats st;
            double t0 = cr_monotonic_s();
            if (cr_tile_render(store, &req, &out, &st, &err) != CR_OK) {
                fprintf(stderr, "tile_bench: %d/%d/%d: %s\n", req.z, req.x, req.y, err.msg);
                return 1;
            }
            double t1 = cr_monotonic_s();
            char *gz = NULL;
            size_t gz_len = 0;
            int zipped = out.len > 0 && cr_tile_gzip(out.data, out.len, &gz, &gz_len);
            /* the MVT, as ST_AsMVT makes it; gzip (what the server adds) separately */
            double ms = (t1 - t0) * 1000.0, gzip_ms = (cr_monotonic_s() - t1) * 1000.0;
            if (pass == 1 || ms < jobs[i].ms) {
                jobs[i].ms = ms;
            }
            if (pass == 1 || gzip_ms < jobs[i].gzip_ms) {
                jobs[i].gzip_ms = gzip_ms;
            }
            jobs[i].bytes = out.len;
            if (pass == 3) {
                snprintf(path, sizeof path, "%s/static/%d/%d", argv[4], req.z, req.x);
                mkdirs(path);
                snprintf(path, sizeof path, "%s/static/%d/%d/%d.pbf", argv[4], req.z, req.x, req.y);
                FILE *f = fopen(path, "wb");
                if (f == NULL ||
                    fwrite(zipped ? gz : "", 1, zipped ? gz_len : 0, f) != (zipped ? gz_len : 0)) {
                    fprintf(stderr, "tile_bench: cannot write %s\n", path);
                    return 1;
                }
                fclose(f);
                sqlite3_reset(ins);
                sqlite3_bind_int(ins, 1, req.z);
                sqlite3_bind_int(ins, 2, req.x);
                sqlite3_bind_int(ins, 3, (1 << req.z) - 1 - req.y); /* TMS rows */
                sqlite3_bind_blob(ins, 4, zipped ? gz : "", (int)(zipped ? gz_len : 0),
                                  SQLITE_TRANSIENT);
                sqlite3_step(ins);
            }
            free(gz);
            cr_strbuf_cleanup(&out);
        }
    }
    sqlite3_finalize(ins);
    sqlite3_exec(mb, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(mb);
    /* each tile's time, in list order (z x y ms bytes), for a closer look at the median */
    snprintf(path, sizeof path, "%s/tile_ms.txt", argv[4]);
    FILE *per = fopen(path, "w");
    for (size_t i = 0; per && i < n; i++) {
        fprintf(per, "%d %d %d %.4f %zu\n", jobs[i].z, jobs[i].x, jobs[i].y, jobs[i].ms,
                jobs[i].bytes);
    }
    if (per == NULL || fclose(per) != 0) {
        fprintf(stderr, "tile_bench: cannot write %s\n", path);
        return 1;
    }
    double *ms = cr_xcalloc(n + 1, sizeof *ms);
    size_t total_bytes = 0, empty = 0;
    for (int zz = 0; zz <= CR_TILE_MAX_ZOOM; zz++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].z == zz) {
                ms[k++] = jobs[i].ms;
            }
        }
        char label[8];
        snprintf(label, sizeof label, "z%d", zz);
        summary(label, ms, k);
    }
    for (size_t i = 0; i < n; i++) {
        ms[i] = jobs[i].ms;
        total_bytes += jobs[i].bytes;
        empty += jobs[i].bytes == 0;
    }
    summary("all", ms, n);
    for (size_t i = 0; i < n; i++) {
        ms[i] = jobs[i].gzip_ms;
    }
    summary("+gzip", ms, n);
    size_t largest = 0;
    const tile_job *big = NULL;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].bytes >= largest) {
            largest = jobs[i].bytes;
            big = &jobs[i];
        }
    }
    printf("crossriver tiles: %zu, %zu empty, %.1f KiB mean uncompressed, largest %zu bytes"
           " (%d/%d/%d; cap 500000)\n",
           n, empty, (double)total_bytes / (double)(n ? n : 1) / 1024.0, largest, big ? big->z : 0,
           big ? big->x : 0, big ? big->y : 0);
    free(ms);
    free(jobs);
    cr_store_close(store);
    cr_layer_set_free(set);
    return 0;
}
