/* SPDX-License-Identifier: MIT */
/* Seeding: every tile of a bbox and zoom range into an MBTiles 1.3 file, gzip-compressed
 * exactly as the server sends them. Written to FILE.partial and renamed at the end, so an
 * interrupted seed leaves no half-written MBTiles behind. */
#include "tile.h"

#include <pthread.h>
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

/* Seeding on two cores: the tiles go in batches; of each batch this thread renders the even
 * ones and a worker with a read-only connection of its own the odd ones, then this thread
 * hands them to the sink in order — the same calls in the same order as one thread makes. */
enum { SEED_BATCH = 64 };

typedef struct {
    int z, x, y;
    cr_strbuf tile;
    char *gz;
    size_t gz_len;
    cr_status rc;
    cr_error err;
} seed_slot;

typedef struct {
    cr_store *store;
    const cr_seed_options *o;
    seed_slot *slots;
    size_t n, first; /* slots first, first + 2, … < n */
} seed_half;

static void render_slot(cr_store *store, const cr_seed_options *o, seed_slot *s)
{
    cr_tile_request req = {.z = s->z, .x = s->x, .y = s->y, .buffer = -1, .layers = o->layers};
    cr_tile_stats ts;
    memset(&s->err, 0, sizeof s->err);
    s->rc = cr_tile_render(store, &req, &s->tile, &ts, &s->err);
    if (s->rc != CR_OK) {
        cr_error_prefix(&s->err, "tile %d/%d/%d", s->z, s->x, s->y);
    } else if (s->tile.len > 0 && !cr_tile_gzip(s->tile.data, s->tile.len, &s->gz, &s->gz_len)) {
        s->gz = NULL; /* as before: a tile that does not compress is not stored */
    }
}

static void *render_half(void *arg)
{
    seed_half *h = arg;
    for (size_t i = h->first; i < h->n; i += 2) {
        render_slot(h->store, h->o, &h->slots[i]);
    }
    return NULL;
}

/* Render the batch (on both threads when there is a second connection) and hand it on. */
static cr_status seed_batch(cr_store *store, cr_store *second, const cr_seed_options *o,
                            seed_slot *slots, size_t n, cr_seed_sink sink, void *user,
                            cr_seed_stats *st, cr_error *err)
{
    seed_half mine = {store, o, slots, n, 0};
    seed_half theirs = {second, o, slots, n, 1};
    pthread_t th;
    int threaded = second != NULL && n > 1 && pthread_create(&th, NULL, render_half, &theirs) == 0;
    if (threaded) {
        render_half(&mine);
        pthread_join(th, NULL);
    } else {
        for (size_t i = 0; i < n; i++) {
            render_slot(store, o, &slots[i]);
        }
    }
    cr_status rc = CR_OK;
    for (size_t i = 0; i < n; i++) {
        seed_slot *s = &slots[i];
        if (rc == CR_OK && s->rc != CR_OK) {
            rc = s->rc;
            *err = s->err;
        } else if (rc == CR_OK && s->tile.len > 0 && s->gz != NULL) {
            rc = sink(user, s->z, s->x, s->y, s->gz, s->gz_len, err);
            st->stored++;
            st->bytes += s->gz_len;
        }
        if (rc == CR_OK) {
            st->done++;
            if (o->progress) {
                o->progress(o->progress_user, st->done, st->total);
            }
        }
        free(s->gz);
        s->gz = NULL;
        cr_strbuf_cleanup(&s->tile);
    }
    return rc;
}

cr_status cr_tiler_seed_each(cr_store *store, const cr_seed_options *o, cr_seed_sink sink,
                             void *user, cr_seed_stats *st, cr_error *err)
{
    /* the second connection: a file on disk, its present state (not a view of the past) */
    cr_store *second = NULL;
    const char *file = sqlite3_db_filename(cr_store_db(store), "main");
    if (file != NULL && *file != '\0' && !cr_store_reads_as_of(store) &&
        cr_tile_count(o->bbox, o->zmin, o->zmax) > SEED_BATCH) {
        cr_error ignored = {0};
        if (cr_store_open_readonly(file, cr_store_layers(store), &second, &ignored) != CR_OK) {
            second = NULL; /* one thread, then */
        }
    }
    seed_slot *slots = cr_xcalloc(SEED_BATCH, sizeof *slots);
    size_t n = 0;
    cr_status rc = CR_OK;
    for (int z = o->zmin; z <= o->zmax && rc == CR_OK; z++) {
        int x0, y0, x1, y1;
        cr_tile_at(o->bbox[0], o->bbox[3], z, &x0, &y0);
        cr_tile_at(o->bbox[2], o->bbox[1], z, &x1, &y1);
        for (int x = x0; x <= x1 && rc == CR_OK; x++) {
            for (int y = y0; y <= y1 && rc == CR_OK; y++) {
                slots[n].z = z, slots[n].x = x, slots[n].y = y;
                if (++n == SEED_BATCH) {
                    rc = seed_batch(store, second, o, slots, n, sink, user, st, err);
                    n = 0;
                }
            }
        }
    }
    if (rc == CR_OK && n > 0) {
        rc = seed_batch(store, second, o, slots, n, sink, user, st, err);
    }
    free(slots);
    cr_store_close(second);
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
