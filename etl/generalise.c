/* SPDX-License-Identifier: MIT */
/* Topological generalisation: node → merge arcs → simplify the arc set → polygonize → give each
 * feature the faces inside it. */
#include "generalise.h"

#include "geo/geo.h"
#include "geo/handlers.h"

#include <geos_c.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEVELS 8

int cr_generalise_wanted(const cr_layer_def *d)
{
    const json_t *tile = json_object_get(d->json, "tile");
    return (d->geom == CR_GEOM_MULTIPOLYGON || d->geom == CR_GEOM_LINESTRING) &&
           json_is_array(json_object_get(tile, "generalise")) &&
           json_array_size(json_object_get(tile, "generalise")) > 0;
}

typedef struct {
    int64_t fid;
    GEOSGeometry *g;
    const GEOSPreparedGeometry *prep;
} feature;

static int64_t count_vertices(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    int n = GEOSGetNumCoordinates_r(h, g);
    return n > 0 ? n : 0;
}

/* Query callback: collect face indexes. */
typedef struct {
    size_t *items;
    size_t n, cap;
} hits;

static void collect(void *item, void *user)
{
    hits *hs = user;
    if (hs->n == hs->cap) {
        hs->cap = hs->cap ? 2 * hs->cap : 16;
        hs->items = cr_xrealloc(hs->items, hs->cap * sizeof *hs->items);
    }
    hs->items[hs->n++] = (size_t)(uintptr_t)item;
}

/* Rows of one level into its table, "<layer>_gen<level>". */
typedef struct {
    GEOSContextHandle_t h;
    sqlite3 *db;
    sqlite3_stmt *ins;
    GEOSWKBWriter *w;
    int level;
    int64_t vertices;
} level_writer;

static cr_status writer_open(level_writer *lw, GEOSContextHandle_t h, sqlite3 *db,
                             const char *layer, int level, cr_error *err)
{
    *lw = (level_writer){h, db, NULL, NULL, level, 0};
    char *sql = sqlite3_mprintf("CREATE TABLE \"%w_gen%d\" (fid INTEGER PRIMARY KEY,"
                                " wkb BLOB NOT NULL)",
                                layer, level);
    int prc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_free(sql);
    if (prc != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(db));
    }
    sql = sqlite3_mprintf("INSERT INTO \"%w_gen%d\" (fid, wkb) VALUES (?, ?)", layer, level);
    prc = sqlite3_prepare_v2(db, sql, -1, &lw->ins, NULL);
    sqlite3_free(sql);
    if (prc != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(db));
    }
    lw->w = GEOSWKBWriter_create_r(h);
    return CR_OK;
}

/* Store wkb (NULL: the simplification failed) as fid's geometry at the level. */
static cr_status writer_put_wkb(level_writer *lw, int64_t fid, const unsigned char *wkb, size_t len,
                                cr_error *err)
{
    sqlite3_reset(lw->ins);
    sqlite3_bind_int64(lw->ins, 1, fid);
    sqlite3_bind_blob(lw->ins, 2, wkb, (int)len, SQLITE_STATIC);
    if (wkb == NULL || sqlite3_step(lw->ins) != SQLITE_DONE) {
        return cr_error_set(err, CR_EDB, "generalise level %d, fid %lld: %s", lw->level,
                            (long long)fid, wkb ? sqlite3_errmsg(lw->db) : "no geometry");
    }
    return CR_OK;
}

/* Store g (taken: destroyed here) as fid's geometry at the level. */
static cr_status writer_put(level_writer *lw, int64_t fid, GEOSGeometry *g, cr_error *err)
{
    lw->vertices += g ? count_vertices(lw->h, g) : 0;
    size_t len = 0;
    unsigned char *wkb = g ? GEOSWKBWriter_write_r(lw->h, lw->w, g, &len) : NULL;
    cr_status rc = writer_put_wkb(lw, fid, wkb, len, err);
    GEOSFree_r(lw->h, wkb);
    GEOSGeom_destroy_r(lw->h, g);
    return rc;
}

static void writer_close(level_writer *lw, cr_generalise_stats *st)
{
    st->vertices_out = lw->vertices;
    if (lw->w) {
        GEOSWKBWriter_destroy_r(lw->h, lw->w);
    }
    sqlite3_finalize(lw->ins);
}

/* A line kept as its vertices (a LineString, read from the store's own BLOB) rather than as
 * a GEOS geometry: simplified by cr_simplify_dp, which is GEOS's Douglas–Peucker, and written
 * as the WKB GEOS would write. */
typedef struct {
    int64_t fid;
    size_t first, n; /* vertices in gen_run.coords */
} plain_line;

/* One generalisation run over a layer: its features in memory and where the levels go. */
typedef struct {
    plain_line *lines; /* line layers: the LineStrings, by fid (the others are in fs) */
    size_t n_lines, cap_lines;
    double *coords; /* their vertices, x,y pairs */
    size_t n_coords;
    GEOSContextHandle_t h;
    cr_store *store;
    sqlite3 *db;
    const cr_layer_def *d;
    feature *fs; /* the current features with geometry, by fid */
    size_t n, cap;
    double ymin, ymax;    /* their latitude range */
    double shrink;        /* Web Mercator's narrowing at their middle latitude */
    GEOSGeometry *merged; /* polygons: every boundary, noded and merged into arcs */
    cr_generalise_stats *st;
} gen_run;

static void put_u32le(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* The low-zoom selection of a line layer. At a level of zoom L each tile of zoom L keeps at
 * most keep_per_tile lines (the layer's "keep_per_tile", else KEEP_PER_TILE), a line belonging
 * to the tile of its box's centre: the highest Strahler order first (the network's, where the
 * layer has one), then the longest, then the lowest fid. A level that keeps fewer than all has
 * an R*Tree of its own over what it keeps (idx_<layer>_gen<L>), so a tile at that level reads
 * only those lines; the tile's caps stay as a last resort. A river's main courses therefore
 * stay whole at low zooms where thinning by length alone would leave dashes. */
#define KEEP_PER_TILE 4096

typedef struct {
    int64_t fid;
    double box[4]; /* xmin, xmax, ymin, ymax */
    double length; /* in degrees, longitude narrowed by Mercator's stretch */
    int32_t order; /* Strahler order, 0 when unknown */
} line_info;

typedef struct {
    double length;
    int64_t fid;
    int32_t order;
    uint32_t at; /* index into the line_info array */
} rank_key;

static int rank_cmp(const void *a, const void *b)
{
    const rank_key *x = a, *y = b;
    if (x->order != y->order) {
        return x->order > y->order ? -1 : 1;
    }
    if (x->length != y->length) {
        return x->length > y->length ? -1 : 1;
    }
    return (x->fid > y->fid) - (x->fid < y->fid);
}

/* The features of the run in fid order (plain lines and GEOS ones merged), with their boxes,
 * lengths and orders; *rank_out: their indexes, best first. */
static line_info *line_infos(const gen_run *run, size_t *n_out, uint32_t **rank_out)
{
    size_t n = run->n + run->n_lines;
    line_info *li = cr_xcalloc(n + 1, sizeof *li);
    GEOSContextHandle_t h = run->h;
    size_t f = 0, l = 0, k = 0;
    while (f < run->n || l < run->n_lines) {
        line_info *o = &li[k++];
        if (l == run->n_lines || (f < run->n && run->fs[f].fid < run->lines[l].fid)) {
            const GEOSGeometry *g = run->fs[f++].g;
            o->fid = run->fs[f - 1].fid;
            GEOSGeom_getXMin_r(h, g, &o->box[0]);
            GEOSGeom_getXMax_r(h, g, &o->box[1]);
            GEOSGeom_getYMin_r(h, g, &o->box[2]);
            GEOSGeom_getYMax_r(h, g, &o->box[3]);
            GEOSLength_r(h, g, &o->length);
            continue;
        }
        const plain_line *pl = &run->lines[l++];
        const double *xy = run->coords + 2 * pl->first;
        o->fid = pl->fid;
        o->box[0] = o->box[1] = xy[0];
        o->box[2] = o->box[3] = xy[1];
        for (size_t v = 1; v < pl->n; v++) {
            double x = xy[2 * v], y = xy[2 * v + 1];
            o->box[0] = fmin(o->box[0], x), o->box[1] = fmax(o->box[1], x);
            o->box[2] = fmin(o->box[2], y), o->box[3] = fmax(o->box[3], y);
            double dx = (x - xy[2 * v - 2]) * run->shrink, dy = y - xy[2 * v - 1];
            o->length += sqrt(dx * dx + dy * dy);
        }
    }
    /* the network's Strahler order (reaches: "<layer>_derived"), merged by fid */
    char *sql =
        sqlite3_mprintf("SELECT fid, strahler FROM \"%w_derived\" ORDER BY fid", run->d->name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(run->db, sql, -1, &st, NULL) == SQLITE_OK) {
        size_t at = 0;
        while (at < n && sqlite3_step(st) == SQLITE_ROW) {
            int64_t fid = sqlite3_column_int64(st, 0);
            while (at < n && li[at].fid < fid) {
                at++;
            }
            if (at < n && li[at].fid == fid) {
                li[at].order = sqlite3_column_int(st, 1);
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    rank_key *keys = cr_xmalloc((n + 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        keys[i] = (rank_key){li[i].length, li[i].fid, li[i].order, (uint32_t)i};
    }
    qsort(keys, n, sizeof *keys, rank_cmp);
    uint32_t *rank = cr_xmalloc((n + 1) * sizeof *rank);
    for (size_t i = 0; i < n; i++) {
        rank[i] = keys[i].at;
    }
    free(keys);
    *rank_out = rank;
    *n_out = n;
    return li;
}

/* The tile of zoom z holding the centre of a box, as one key. */
static uint64_t centre_cell(const double box[4], int z)
{
    double n = ldexp(1.0, z);
    double lon = (box[0] + box[1]) / 2, lat = (box[2] + box[3]) / 2;
    lat = fmax(-85.05112878, fmin(85.05112878, lat));
    double x = floor((lon + 180.0) / 360.0 * n);
    double y = floor((1.0 - asinh(tan(lat * M_PI / 180.0)) / M_PI) / 2.0 * n);
    x = fmax(0, fmin(n - 1, x));
    y = fmax(0, fmin(n - 1, y));
    return (uint64_t)x << 32 | (uint64_t)y;
}

/* kept[i] = 1 for the lines level z keeps; returns how many. */
static size_t select_level(const line_info *li, const uint32_t *rank, size_t n, int z,
                           size_t per_tile, unsigned char *kept)
{
    if (per_tile == 0) {
        memset(kept, 1, n);
        return n;
    }
    memset(kept, 0, n);
    size_t slots = 1024;
    while (slots < 2 * n) {
        slots *= 2;
    }
    /* open addressing: cell key + 1 (0: empty) and its count */
    uint64_t *cell = cr_xcalloc(slots, sizeof *cell);
    uint32_t *count = cr_xcalloc(slots, sizeof *count);
    size_t total = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t i = rank[r];
        uint64_t key = centre_cell(li[i].box, z) + 1;
        size_t at = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 20) & (slots - 1);
        while (cell[at] != 0 && cell[at] != key) {
            at = (at + 1) & (slots - 1);
        }
        cell[at] = key;
        if (count[at] < per_tile) {
            count[at]++;
            kept[i] = 1;
            total++;
        }
    }
    free(cell);
    free(count);
    return total;
}

/* The level's own R*Tree over what it keeps, or none when it keeps every line. */
static cr_status level_index(const gen_run *run, const line_info *li, const unsigned char *kept,
                             size_t n, size_t n_kept, int level, cr_error *err)
{
    char name[200];
    snprintf(name, sizeof name, "idx_%s_gen%d", run->d->name, level);
    if (n_kept == n) {
        char *drop = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\"", name);
        cr_status rc = cr_store_exec(run->store, drop, err);
        sqlite3_free(drop);
        return rc;
    }
    int64_t *ids = cr_xmalloc((n_kept + 1) * sizeof *ids);
    double *boxes = cr_xmalloc((n_kept + 1) * 4 * sizeof *boxes);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept[i]) {
            ids[k] = li[i].fid;
            memcpy(boxes + 4 * k++, li[i].box, sizeof li[i].box);
        }
    }
    cr_status rc = cr_store_rtree_write(run->store, name, ids, boxes, n_kept, err);
    free(ids);
    free(boxes);
    return rc;
}

/* One level of a line layer: each line simplified on its own (Douglas–Peucker keeps both
 * endpoints, so reaches still meet where they met), in fid order, plain lines and the others
 * (through GEOS) merged. */
static cr_status build_line_level(const gen_run *run, int level, double tolerance,
                                  const unsigned char *kept, cr_error *err)
{
    GEOSContextHandle_t h = run->h;
    const feature *fs = run->fs;
    level_writer lw;
    cr_status rc = writer_open(&lw, h, run->db, run->d->name, level, err);
    unsigned char *keep = NULL;
    unsigned char *wkb = NULL;
    size_t cap = 0;
    size_t f = 0;
    size_t l = 0;
    for (size_t at = 0; rc == CR_OK && (f < run->n || l < run->n_lines); at++) {
        if (l == run->n_lines || (f < run->n && fs[f].fid < run->lines[l].fid)) {
            if (kept[at]) {
                rc = writer_put(&lw, fs[f].fid, GEOSSimplify_r(h, fs[f].g, tolerance), err);
            }
            f++;
            continue;
        }
        const plain_line *pl = &run->lines[l++];
        if (!kept[at]) {
            continue;
        }
        if (pl->n > cap) {
            cap = pl->n * 2;
            keep = cr_xrealloc(keep, cap);
            wkb = cr_xrealloc(wkb, 9 + cap * 16);
        }
        const double *xy = run->coords + 2 * pl->first;
        size_t n_kept = cr_simplify_dp(xy, pl->n, tolerance, keep);
        /* WKB as GEOS writes it here: little-endian, two dimensions */
        wkb[0] = 1;
        put_u32le(wkb + 1, 2);
        put_u32le(wkb + 5, (uint32_t)n_kept);
        size_t pos = 9;
        for (size_t k = 0; k < pl->n; k++) {
            if (keep[k]) {
                memcpy(wkb + pos, xy + 2 * k, 16); /* doubles are IEEE little-endian here */
                pos += 16;
            }
        }
        lw.vertices += (int64_t)n_kept;
        rc = writer_put_wkb(&lw, pl->fid, wkb, pos, err);
    }
    free(keep);
    free(wkb);
    writer_close(&lw, run->st);
    return rc;
}

/* One level: the faces of the simplified arcs, handed to the features inside them. */
static cr_status build_level(const gen_run *run, int level, double tolerance, cr_error *err)
{
    GEOSContextHandle_t h = run->h;
    const feature *fs = run->fs;
    size_t n = run->n;
    cr_generalise_stats *st = run->st;
    const GEOSGeometry *merged = run->merged;
    GEOSGeometry *simple = GEOSTopologyPreserveSimplify_r(h, merged, tolerance);
    /* arcs that became coincident (a sliver between two nearly equal boundaries closing up)
     * overlap: node them again, so the faces are built from clean linework */
    GEOSGeometry *renoded = simple ? GEOSUnaryUnion_r(h, simple) : NULL;
    const GEOSGeometry *in[1] = {renoded};
    GEOSGeometry *faces = renoded ? GEOSPolygonize_r(h, in, 1) : NULL;
    GEOSGeom_destroy_r(h, renoded);
    if (faces == NULL) {
        GEOSGeom_destroy_r(h, simple);
        return cr_error_set(err, CR_EGEOS, "generalise level %d: GEOS could not rebuild faces",
                            level);
    }
    int n_faces = GEOSGetNumGeometries_r(h, faces);

    GEOSSTRtree *tree = GEOSSTRtree_create_r(h, 10);
    GEOSGeometry **inner = cr_xcalloc((size_t)n_faces + 1, sizeof *inner);
    for (int i = 0; i < n_faces; i++) {
        const GEOSGeometry *face = GEOSGetGeometryN_r(h, faces, i);
        inner[i] = GEOSPointOnSurface_r(h, face);
        GEOSSTRtree_insert_r(h, tree, inner[i], (void *)(uintptr_t)i);
    }
    level_writer lw;
    cr_status rc = writer_open(&lw, h, run->db, run->d->name, level, err);
    hits hs = {0};
    for (size_t f = 0; f < n && rc == CR_OK; f++) {
        hs.n = 0;
        GEOSSTRtree_query_r(h, tree, fs[f].g, collect, &hs);
        GEOSGeometry **mine = cr_xcalloc(hs.n + 1, sizeof *mine);
        unsigned k = 0;
        for (size_t i = 0; i < hs.n; i++) {
            size_t fi = hs.items[i];
            if (GEOSPreparedContains_r(h, fs[f].prep, inner[fi]) == 1) {
                mine[k++] = GEOSGeom_clone_r(h, GEOSGetGeometryN_r(h, faces, (int)fi));
            }
        }
        GEOSGeometry *out = NULL;
        if (k > 0) {
            GEOSGeometry *coll = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, mine, k);
            out = GEOSUnaryUnion_r(h, coll);
            GEOSGeom_destroy_r(h, coll);
        } else {
            free(mine);
            mine = NULL;
        }
        free(mine);
        if (out == NULL || GEOSisEmpty_r(h, out)) {
            /* collapsed at this tolerance (an islet below a pixel): its own simplification */
            GEOSGeom_destroy_r(h, out);
            out = GEOSTopologyPreserveSimplify_r(h, fs[f].g, tolerance);
            st->fell_back++;
        }
        rc = writer_put(&lw, fs[f].fid, out, err);
    }
    writer_close(&lw, st);
    free(hs.items);
    GEOSSTRtree_destroy_r(h, tree);
    for (int i = 0; i < n_faces; i++) {
        GEOSGeom_destroy_r(h, inner[i]);
    }
    free(inner);
    GEOSGeom_destroy_r(h, faces);
    GEOSGeom_destroy_r(h, simple);
    return rc;
}

static int level_cmp(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a; /* coarsest (lowest zoom) last */
}

/* The layer's "generalise" zoom levels, coarsest last. */
static cr_status read_levels(const cr_layer_def *d, int levels[MAX_LEVELS], size_t *n_levels,
                             cr_error *err)
{
    size_t i;
    json_t *v;
    *n_levels = 0;
    json_array_foreach(json_object_get(json_object_get(d->json, "tile"), "generalise"), i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 22 ||
            *n_levels == MAX_LEVELS) {
            return cr_error_set(err, CR_EINVAL,
                                "layer %s: tile.generalise: up to %d zoom levels 0–22", d->name,
                                MAX_LEVELS);
        }
        levels[(*n_levels)++] = (int)json_integer_value(v);
    }
    qsort(levels, *n_levels, sizeof *levels, level_cmp);
    return CR_OK;
}

/* The layer's current features with geometry into run->fs (polygons prepared). */
static cr_status load_features(gen_run *run, const cr_layer_def *d, cr_error *err)
{
    GEOSContextHandle_t h = run->h;
    GEOSWKBReader *reader = GEOSWKBReader_create_r(h);
    sqlite3_stmt *st_rows = NULL;
    cr_status rc = CR_OK;
    int lines = d->geom == CR_GEOM_LINESTRING;
    sqlite3_stmt *as_wkb = NULL; /* for what is not a plain LineString */
    /* the current rows of the table itself (the _current view would join the derived
     * columns, which are not needed here) */
    char *sql = sqlite3_mprintf("SELECT fid, geom FROM \"%w\""
                                " WHERE valid_to IS NULL AND geom IS NOT NULL ORDER BY fid",
                                d->name);
    if (sqlite3_prepare_v2(run->db, "SELECT AsBinary(?1)", -1, &as_wkb, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "generalise %s: %s", d->name, sqlite3_errmsg(run->db));
    }
    if (sqlite3_prepare_v2(run->db, sql, -1, &st_rows, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "generalise %s: %s", d->name, sqlite3_errmsg(run->db));
    }
    sqlite3_free(sql);
    while (rc == CR_OK && sqlite3_step(st_rows) == SQLITE_ROW) {
        size_t first = run->n_coords;
        size_t n = lines ? cr_spatialite_append_linestring(sqlite3_column_blob(st_rows, 1),
                                                           (size_t)sqlite3_column_bytes(st_rows, 1),
                                                           &run->coords, &run->n_coords)
                         : 0;
        if (n > 0) {
            if (run->n_lines == run->cap_lines) {
                run->cap_lines = run->cap_lines ? 2 * run->cap_lines : 1024;
                run->lines = cr_xrealloc(run->lines, run->cap_lines * sizeof *run->lines);
            }
            run->lines[run->n_lines++] = (plain_line){sqlite3_column_int64(st_rows, 0), first, n};
            for (size_t k = first; k < first + n; k++) {
                run->ymin = fmin(run->ymin, run->coords[2 * k + 1]);
                run->ymax = fmax(run->ymax, run->coords[2 * k + 1]);
            }
            run->st->vertices_in += (int64_t)n;
            continue;
        }
        sqlite3_reset(as_wkb);
        sqlite3_bind_value(as_wkb, 1, sqlite3_column_value(st_rows, 1));
        GEOSGeometry *g = sqlite3_step(as_wkb) == SQLITE_ROW
                              ? GEOSWKBReader_read_r(h, reader, sqlite3_column_blob(as_wkb, 0),
                                                     (size_t)sqlite3_column_bytes(as_wkb, 0))
                              : NULL;
        if (g == NULL) {
            continue;
        }
        if (run->n == run->cap) {
            run->cap = run->cap ? 2 * run->cap : 64;
            run->fs = cr_xrealloc(run->fs, run->cap * sizeof *run->fs);
        }
        feature *f = &run->fs[run->n++];
        f->fid = sqlite3_column_int64(st_rows, 0);
        f->g = g;
        f->prep = d->geom == CR_GEOM_MULTIPOLYGON ? GEOSPrepare_r(h, g) : NULL;
        double lo, hi;
        GEOSGeom_getYMin_r(h, g, &lo);
        GEOSGeom_getYMax_r(h, g, &hi);
        run->ymin = fmin(run->ymin, lo);
        run->ymax = fmax(run->ymax, hi);
        run->st->vertices_in += count_vertices(h, g);
    }
    sqlite3_finalize(st_rows);
    sqlite3_finalize(as_wkb);
    GEOSWKBReader_destroy_r(h, reader);
    return rc;
}

/* Every boundary, noded where they meet, merged into arcs between nodes: run->merged. */
static cr_status merge_boundaries(gen_run *run, const cr_layer_def *d, const char *geos_msg,
                                  cr_error *err)
{
    GEOSContextHandle_t h = run->h;
    GEOSGeometry **bounds = cr_xcalloc(run->n, sizeof *bounds);
    for (size_t f = 0; f < run->n; f++) {
        bounds[f] = GEOSBoundary_r(h, run->fs[f].g);
    }
    GEOSGeometry *all =
        GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, bounds, (unsigned)run->n);
    GEOSGeometry *noded = all ? GEOSUnaryUnion_r(h, all) : NULL;
    run->merged = noded ? GEOSLineMerge_r(h, noded) : NULL;
    GEOSGeom_destroy_r(h, noded);
    GEOSGeom_destroy_r(h, all);
    free(bounds);
    if (run->merged == NULL) {
        return cr_error_set(err, CR_EGEOS, "generalise %s: noding the boundaries: %s", d->name,
                            geos_msg);
    }
    return CR_OK;
}

/* Every level of d's last run dropped, tables and selections (any zoom 0–22: the levels may
 * have changed since). A store from before one table per level was split when opened. */
static cr_status drop_levels(cr_store *store, const cr_layer_def *d, cr_error *err)
{
    cr_strbuf drops = {0};
    for (int z = 0; z <= 22; z++) {
        char *q = sqlite3_mprintf("DROP TABLE IF EXISTS \"idx_%w_gen%d\"; DROP TABLE IF EXISTS"
                                  " \"%w_gen%d\";",
                                  d->name, z, d->name, z);
        cr_strbuf_puts(&drops, q);
        sqlite3_free(q);
    }
    cr_status rc = cr_store_exec(store, drops.data, err);
    cr_strbuf_cleanup(&drops);
    return rc;
}

/* The run's end (it began with BEGIN IMMEDIATE): the generation and the layer change,
 * committed — or everything rolled back. */
static cr_status finish_table(cr_store *store, const cr_layer_def *d, cr_status rc, cr_error *err)
{
    int64_t gen = 0;
    if (rc == CR_OK) {
        rc = cr_store_bump_generation(store, &gen, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_record_layer_change(store, d, gen, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    }
    if (rc != CR_OK) {
        sqlite3_exec(cr_store_db(store), "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

cr_status cr_generalise_layer(cr_store *store, const cr_layer_def *d, cr_generalise_stats *st,
                              cr_error *err)
{
    memset(st, 0, sizeof *st);
    if (!cr_generalise_wanted(d)) {
        return cr_error_set(err, CR_EINVAL,
                            "layer %s: no \"generalise\" zoom levels in its tile settings",
                            d->name);
    }
    double t0 = cr_monotonic_s();
    int levels[MAX_LEVELS];
    size_t n_levels = 0;
    cr_status rc = read_levels(d, levels, &n_levels, err);
    if (rc != CR_OK) {
        return rc;
    }
    double px = json_number_value(json_object_get(json_object_get(d->json, "tile"), "simplify_px"));
    px = px > 0 ? px : 1.0;
    rc = cr_store_exec(store, "BEGIN IMMEDIATE", err);
    if (rc != CR_OK) {
        return rc;
    }
    cr_geos_messages msgs;
    gen_run run = {.h = cr_geos_init(&msgs, "generalise", CR_LOG_DEBUG),
                   .store = store,
                   .db = cr_store_db(store),
                   .d = d,
                   .ymin = 90,
                   .ymax = -90,
                   .st = st};
    GEOSContextHandle_t h = run.h;
    rc = drop_levels(store, d, err);
    if (rc == CR_OK) {
        rc = load_features(&run, d, err);
    }
    if (rc == CR_OK && run.n > 0 && d->geom == CR_GEOM_MULTIPOLYGON) {
        rc = merge_boundaries(&run, d, msgs.last, err);
    }
    /* a pixel at level z in degrees, narrowed by Web Mercator's stretch at the layer's middle */
    double shrink = cos((run.ymin + run.ymax) / 2.0 * M_PI / 180.0);
    run.shrink = shrink > 0 ? shrink : 1;
    size_t n_all = 0;
    uint32_t *rank = NULL;
    line_info *li = NULL;
    unsigned char *kept = NULL;
    if (rc == CR_OK && d->geom == CR_GEOM_LINESTRING) {
        li = line_infos(&run, &n_all, &rank);
        kept = cr_xmalloc(n_all + 1);
    }
    const json_t *per_tile = json_object_get(json_object_get(d->json, "tile"), "keep_per_tile");
    size_t keep_per_tile = per_tile ? (size_t)json_integer_value(per_tile) : KEEP_PER_TILE;
    for (size_t l = 0; l < n_levels && rc == CR_OK && run.n + run.n_lines > 0; l++) {
        double tol = px * 360.0 / (256.0 * ldexp(1.0, levels[l])) * run.shrink;
        if (d->geom == CR_GEOM_MULTIPOLYGON) {
            rc = build_level(&run, levels[l], tol, err);
        } else {
            size_t n_kept = select_level(li, rank, n_all, levels[l], keep_per_tile, kept);
            rc = build_line_level(&run, levels[l], tol, kept, err);
            if (rc == CR_OK) {
                rc = level_index(&run, li, kept, n_all, n_kept, levels[l], err);
            }
            st->kept = (int64_t)n_kept; /* the coarsest level comes last */
        }
        st->levels++;
    }
    free(li);
    free(rank);
    free(kept);
    st->features = (int64_t)(run.n + run.n_lines);
    if (d->geom == CR_GEOM_MULTIPOLYGON) {
        st->kept = st->features;
    }
    free(run.lines);
    free(run.coords);
    GEOSGeom_destroy_r(h, run.merged);
    for (size_t f = 0; f < run.n; f++) {
        if (run.fs[f].prep) {
            GEOSPreparedGeom_destroy_r(h, run.fs[f].prep);
        }
        GEOSGeom_destroy_r(h, run.fs[f].g);
    }
    free(run.fs);
    GEOS_finish_r(h);
    rc = finish_table(store, d, rc, err);
    st->seconds = cr_monotonic_s() - t0;
    return rc;
}
