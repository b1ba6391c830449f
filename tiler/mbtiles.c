/* SPDX-License-Identifier: MIT */
/* Seeding: every tile of a bbox and zoom range into an MBTiles 1.3 file, gzip-compressed
 * exactly as the server sends them. Written to FILE.partial and renamed at the end, so an
 * interrupted seed leaves no half-written MBTiles behind. */
#include "tile.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cr_status exec(sqlite3 *db, const char *sql, cr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cr_status rc = cr_error_set(err, CR_EIO, "MBTiles: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return rc;
    }
    return CR_OK;
}

static void put_meta(sqlite3_stmt *st, const char *name, const char *value)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
}

/* The metadata table: bounds of the seed, its zooms, and the TileJSON vector_layers. */
static void write_metadata(sqlite3 *db, const cr_seed_options *o)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO metadata (name, value) VALUES (?, ?)", -1, &st, NULL);
    const double *b = o->bbox;
    char buf[256];
    put_meta(st, "name", "crossriver");
    put_meta(st, "format", "pbf");
    put_meta(st, "type", "overlay");
    put_meta(st, "version", "1");
    snprintf(buf, sizeof buf, "%.6f,%.6f,%.6f,%.6f", b[0], b[1], b[2], b[3]);
    put_meta(st, "bounds", buf);
    snprintf(buf, sizeof buf, "%.6f,%.6f,%d", (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, o->zmin);
    put_meta(st, "center", buf);
    snprintf(buf, sizeof buf, "%d", o->zmin);
    put_meta(st, "minzoom", buf);
    snprintf(buf, sizeof buf, "%d", o->zmax);
    put_meta(st, "maxzoom", buf);
    json_t *meta =
        json_pack("{s:o}", "vector_layers",
                  o->vector_layers ? json_incref((json_t *)o->vector_layers) : json_array());
    char *js = json_dumps(meta, JSON_COMPACT);
    put_meta(st, "json", js);
    free(js);
    json_decref(meta);
    sqlite3_finalize(st);
}

uint64_t cr_tile_count(const double bbox[4], int zmin, int zmax)
{
    uint64_t total = 0;
    for (int z = zmin; z <= zmax; z++) {
        int x0, y0, x1, y1; /* north-west and south-east tiles */
        cr_tile_at(bbox[0], bbox[3], z, &x0, &y0);
        cr_tile_at(bbox[2], bbox[1], z, &x1, &y1);
        total += (uint64_t)(x1 - x0 + 1) * (uint64_t)(y1 - y0 + 1);
    }
    return total;
}

cr_status cr_tiler_seed_each(cr_store *store, const cr_seed_options *o, cr_seed_sink sink,
                             void *user, cr_seed_stats *st, cr_error *err)
{
    cr_status rc = CR_OK;
    for (int z = o->zmin; z <= o->zmax && rc == CR_OK; z++) {
        int x0, y0, x1, y1;
        cr_tile_at(o->bbox[0], o->bbox[3], z, &x0, &y0);
        cr_tile_at(o->bbox[2], o->bbox[1], z, &x1, &y1);
        for (int x = x0; x <= x1 && rc == CR_OK; x++) {
            for (int y = y0; y <= y1 && rc == CR_OK; y++) {
                cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1, .layers = o->layers};
                cr_strbuf tile = {0};
                cr_tile_stats ts;
                char *gz = NULL;
                size_t gz_len = 0;
                rc = cr_tile_render(store, &req, &tile, &ts, err);
                if (rc != CR_OK) {
                    cr_error_prefix(err, "tile %d/%d/%d", z, x, y);
                } else if (tile.len > 0 && cr_tile_gzip(tile.data, tile.len, &gz, &gz_len)) {
                    rc = sink(user, z, x, y, gz, gz_len, err);
                    st->stored++;
                    st->bytes += gz_len;
                }
                free(gz);
                cr_strbuf_cleanup(&tile);
                st->done++;
                if (o->progress) {
                    o->progress(o->progress_user, st->done, st->total);
                }
            }
        }
    }
    return rc;
}

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *ins;
} mbtiles_sink;

static cr_status put_mbtiles(void *user, int z, int x, int y, const char *gz, size_t len,
                             cr_error *err)
{
    mbtiles_sink *m = user;
    sqlite3_reset(m->ins);
    sqlite3_bind_int(m->ins, 1, z);
    sqlite3_bind_int(m->ins, 2, x);
    sqlite3_bind_int(m->ins, 3, (1 << z) - 1 - y); /* TMS rows */
    sqlite3_bind_blob(m->ins, 4, gz, (int)len, SQLITE_TRANSIENT);
    if (sqlite3_step(m->ins) != SQLITE_DONE) {
        return cr_error_set(err, CR_EIO, "MBTiles: %s", sqlite3_errmsg(m->db));
    }
    return CR_OK;
}

cr_status cr_tiler_seed_mbtiles(cr_store *store, const cr_seed_options *o, cr_seed_stats *st,
                                cr_error *err)
{
    memset(st, 0, sizeof *st);
    st->total = cr_tile_count(o->bbox, o->zmin, o->zmax);
    char partial[1100];
    snprintf(partial, sizeof partial, "%s.partial", o->out_path);
    remove(partial);
    sqlite3 *db = NULL;
    cr_status rc = CR_OK;
    if (sqlite3_open(partial, &db) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EIO, "cannot create %s", partial);
    }
    if (rc == CR_OK) {
        rc = exec(db,
                  "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                  "CREATE TABLE metadata (name TEXT, value TEXT);"
                  "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER,"
                  " tile_row INTEGER, tile_data BLOB);"
                  "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
                  "BEGIN",
                  err);
    }
    sqlite3_stmt *ins = NULL;
    if (rc == CR_OK && sqlite3_prepare_v2(db, "INSERT INTO tiles VALUES (?, ?, ?, ?)", -1, &ins,
                                          NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EIO, "MBTiles: %s", sqlite3_errmsg(db));
    }
    mbtiles_sink sink = {db, ins};
    if (rc == CR_OK) {
        rc = cr_tiler_seed_each(store, o, put_mbtiles, &sink, st, err);
    }
    sqlite3_finalize(ins);
    if (rc == CR_OK) {
        write_metadata(db, o);
        rc = exec(db, "COMMIT", err);
    }
    sqlite3_close(db);
    if (rc == CR_OK && rename(partial, o->out_path) != 0) {
        rc = cr_error_set(err, CR_EIO, "cannot rename %s to %s", partial, o->out_path);
    }
    if (rc != CR_OK) {
        remove(partial);
    }
    return rc;
}
