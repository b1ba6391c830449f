/* SPDX-License-Identifier: MIT */
/* Tile rendering. Rule: everything that decides the bytes is ordered (layers by name,
 * features by fid, attributes in definition order), so tiles are reproducible evidence. */
#include "tile.h"

#include "mvt.h"

#include <geos_c.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_LAT 85.0511287798066

int cr_tile_valid(int z, int x, int y)
{
    if (z < 0 || z > CR_TILE_MAX_ZOOM) {
        return 0;
    }
    long n = 1L << z;
    return x >= 0 && y >= 0 && x < n && y < n;
}

static double tile_lon(double x, int z)
{
    return x / (double)(1L << z) * 360.0 - 180.0;
}

static double tile_lat(double y, int z)
{
    double n = M_PI * (1.0 - 2.0 * y / (double)(1L << z));
    return atan(sinh(n)) * 180.0 / M_PI;
}

void cr_tile_bounds(int z, int x, int y, double b[4])
{
    b[0] = tile_lon(x, z);
    b[1] = tile_lat(y + 1, z);
    b[2] = tile_lon(x + 1, z);
    b[3] = tile_lat(y, z);
}

typedef struct {
    double scale;  /* 2^z * extent */
    double ox, oy; /* tile origin in world tile units (x * extent, y * extent) */
} to_tile;

static int lonlat_to_tile(double *x, double *y, void *user)
{
    const to_tile *t = user;
    double lat = fmax(-MAX_LAT, fmin(MAX_LAT, *y)) * M_PI / 180.0;
    double wx = (*x + 180.0) / 360.0;
    double wy = (1.0 - log(tan(lat) + 1.0 / cos(lat)) / M_PI) / 2.0;
    *x = wx * t->scale - t->ox;
    *y = wy * t->scale - t->oy;
    return 1;
}

void cr_tile_at(double lon, double lat, int z, int *x, int *y)
{
    to_tile t = {(double)(1L << z), 0, 0}; /* world tile units at z */
    double fx = lon, fy = lat;
    lonlat_to_tile(&fx, &fy, &t);
    long n = 1L << z, tx = (long)floor(fx), ty = (long)floor(fy);
    *x = (int)(tx < 0 ? 0 : tx >= n ? n - 1 : tx);
    *y = (int)(ty < 0 ? 0 : ty >= n ? n - 1 : ty);
}

void cr_tile_zoom_range(const json_t *settings, int *minz, int *maxz)
{
    const json_t *lo = json_object_get(settings, "minzoom"),
                 *hi = json_object_get(settings, "maxzoom");
    *minz = lo ? (int)json_integer_value(lo) : 0;
    *maxz = hi ? (int)json_integer_value(hi) : CR_TILE_MAX_ZOOM;
}

/* Is name in the comma-separated list? */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) {
            return 1;
        }
        p += len + (e ? 1 : 0);
    }
    return 0;
}

const json_t *cr_tile_settings(const cr_layer_def *d)
{
    const json_t *t = json_object_get(d->json, "tile");
    return json_is_object(t) && d->geom != CR_GEOM_NONE ? t : NULL;
}

/* Every name in the list is a tiled layer the client may see. */
static cr_status check_list(const cr_layer_set *set, const char *list, const cr_access *access,
                            cr_error *err)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(len < 127 ? len : 127), p);
        const cr_layer_def *d = cr_layer_set_find(set, name);
        if (d == NULL || cr_tile_settings(d) == NULL) {
            return cr_error_set(err, CR_EINVAL, "layers: '%s' is not a tiled layer", name);
        }
        if (d->restricted && !cr_access_layer(access, d->name)) {
            return cr_error_set(err, CR_EFORBIDDEN, "layers: '%s' is restricted", name);
        }
        p += len + (e ? 1 : 0);
    }
    return CR_OK;
}

static void add_coords(GEOSContextHandle_t h, cr_mvt_layer *l, const GEOSGeometry *g, int ring,
                       int exterior, int32_t **buf, size_t *cap)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, g);
    unsigned n = 0;
    if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n) || n == 0) {
        return;
    }
    if (2 * (size_t)n > *cap) {
        *cap = 2 * (size_t)n;
        *buf = cr_xrealloc(*buf, *cap * sizeof **buf);
    }
    for (unsigned i = 0; i < n; i++) {
        double x = 0, y = 0;
        GEOSCoordSeq_getXY_r(h, cs, i, &x, &y);
        (*buf)[2 * i] = (int32_t)lround(x);
        (*buf)[2 * i + 1] = (int32_t)lround(y);
    }
    if (ring) {
        cr_mvt_add_ring(l, *buf, n, exterior);
    } else if (n == 1) {
        cr_mvt_add_point(l, (*buf)[0], (*buf)[1]);
    } else {
        cr_mvt_add_line(l, *buf, n);
    }
}

/* Add the parts of g that match the layer's type (clipping may yield lower dimensions). */
static void add_geometry(GEOSContextHandle_t h, cr_mvt_layer *l, cr_mvt_geom_type type,
                         const GEOSGeometry *g, int32_t **buf, size_t *cap)
{
    int t = GEOSGeomTypeId_r(h, g);
    switch (t) {
    case GEOS_POINT:
        if (type == CR_MVT_POINT && !GEOSisEmpty_r(h, g)) {
            add_coords(h, l, g, 0, 0, buf, cap);
        }
        break;
    case GEOS_LINESTRING:
        if (type == CR_MVT_LINESTRING) {
            add_coords(h, l, g, 0, 0, buf, cap);
        }
        break;
    case GEOS_POLYGON:
        if (type == CR_MVT_POLYGON && !GEOSisEmpty_r(h, g)) {
            add_coords(h, l, GEOSGetExteriorRing_r(h, g), 1, 1, buf, cap);
            int holes = GEOSGetNumInteriorRings_r(h, g);
            for (int i = 0; i < holes; i++) {
                add_coords(h, l, GEOSGetInteriorRingN_r(h, g, i), 1, 0, buf, cap);
            }
        }
        break;
    case GEOS_MULTIPOINT:
    case GEOS_MULTILINESTRING:
    case GEOS_MULTIPOLYGON:
    case GEOS_GEOMETRYCOLLECTION: {
        int n = GEOSGetNumGeometries_r(h, g);
        for (int i = 0; i < n; i++) {
            add_geometry(h, l, type, GEOSGetGeometryN_r(h, g, i), buf, cap);
        }
        break;
    }
    default:
        break;
    }
}

/* A feature's weight when a tile is over its caps: the smallest go first. Polygons by area and
 * lines by length in tile units; points by a hash of the fid (an even, repeatable thinning). */
typedef struct {
    double size;
    uint64_t fid;
} weight;

static int weight_cmp(const void *a, const void *b)
{
    const weight *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size ? 1 : x->fid < y->fid ? -1 : x->fid > y->fid;
}

static double point_weight(uint64_t fid)
{
    uint64_t h = fid * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 31;
    return (double)(h >> 11);
}

/* One layer of a tile: its features (weights kept for thinning) and encoded bytes. */
typedef struct {
    const cr_layer_def *d;
    int priority;
    weight *w;
    size_t n_w;
    cr_strbuf bytes;
    int has_cut;
    weight cut; /* keep only features weighing at least this */
} layer_part;

/* The layer's features in the query box: fid, WKB (generalised at level, else the source),
 * county (when per_feature), then the attribute columns (cols: ", \"a\", \"b\""). */
static void select_sql(cr_strbuf *sql, const cr_layer_def *d, int level, int per_feature,
                       const char *cols)
{
    cr_strbuf_clear(sql);
    cr_strbuf_printf(sql, "SELECT c.fid, %s, %s%s FROM \"%s_current\" c",
                     level >= 0 ? "coalesce(g.wkb, AsBinary(c.geom))" : "AsBinary(c.geom)",
                     per_feature ? "c.county_code" : "NULL", cols ? cols : "", d->name);
    if (level >= 0) {
        /* a feature imported since the last generalisation shows as it is */
        cr_strbuf_printf(sql, " LEFT JOIN \"%s_generalised\" g ON g.level = %d AND g.fid = c.fid",
                         d->name, level);
    }
    cr_strbuf_printf(sql,
                     " WHERE c.fid IN (SELECT pkid FROM \"idx_%s_geom\""
                     " WHERE xmin <= ?2 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?3)"
                     " ORDER BY c.fid",
                     d->name);
}

static cr_status render_layer(sqlite3 *db, GEOSContextHandle_t h, const cr_layer_def *d,
                              const cr_tile_request *req, cr_mvt_tile *tile, cr_tile_stats *stats,
                              layer_part *part, cr_error *err)
{
    const json_t *ts = cr_tile_settings(d);
    int minz, maxz;
    cr_tile_zoom_range(ts, &minz, &maxz);
    if (req->z < minz || req->z > maxz) {
        return CR_OK;
    }
    double simplify = json_number_value(json_object_get(ts, "simplify_px"));
    /* layers generalised ahead of time (etl/generalise.c): the smallest level at or above z,
     * and no per-tile simplification at any zoom, so shared boundaries stay shared */
    int level = -1;
    const json_t *levels = json_object_get(ts, "generalise");
    if (json_array_size(levels) > 0) {
        simplify = 0;
        size_t li;
        json_t *lv;
        json_array_foreach(levels, li, lv)
        {
            int z = (int)json_integer_value(lv);
            level = z >= req->z && (level < 0 || z < level) ? z : level;
        }
    }
    uint32_t extent = req->extent ? req->extent : 4096;
    int buffer = req->buffer >= 0 ? req->buffer : 64;
    /* attributes: the listed ones that exist and the client may see, in listed order */
    const json_t *attrs = json_object_get(ts, "attributes");
    int cols[64];
    size_t n_cols = 0;
    /* restricted data for this client: the layer's, in the jurisdictions it opens */
    int opened = cr_access_layer(req->access, d->name);
    int per_feature = opened && !cr_access_all_codes(req->access);
    if (d->restricted && per_feature && !cr_layer_joins_points(d)) {
        return CR_OK; /* only point layers carry a jurisdiction per feature */
    }
    cr_strbuf cols_sql = {0};
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a)
    {
        int fi = cr_layer_def_field_index(d, json_string_value(a));
        if (fi < 0 || n_cols == 64 || (d->fields[fi].restricted && !opened)) {
            continue;
        }
        cols[n_cols++] = fi;
        cr_strbuf_printf(&cols_sql, ", c.\"%s\"", d->fields[fi].name);
    }
    cr_strbuf sql = {0};
    sqlite3_stmt *st = NULL;
    if (level >= 0) {
        select_sql(&sql, d, level, per_feature, cols_sql.data);
        if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
            if (strstr(sqlite3_errmsg(db), "no such table") == NULL) {
                cr_status rc =
                    cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
                cr_strbuf_cleanup(&sql);
                cr_strbuf_cleanup(&cols_sql);
                return rc;
            }
            /* not generalised (a store from before, or generalisation never ran): the source
             * geometry, simplified per tile */
            simplify = json_number_value(json_object_get(ts, "simplify_px"));
            level = -1;
        }
    }
    if (level < 0) {
        select_sql(&sql, d, -1, per_feature, cols_sql.data);
    }
    cr_strbuf_cleanup(&cols_sql);
    if (st == NULL && sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        cr_status rc = cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
        cr_strbuf_cleanup(&sql);
        return rc;
    }
    cr_strbuf_cleanup(&sql);
    /* the query box: the tile plus its buffer, in degrees */
    double f = (double)buffer / extent;
    sqlite3_bind_double(st, 1, tile_lon(req->x - f, req->z));
    sqlite3_bind_double(st, 2, tile_lon(req->x + 1 + f, req->z));
    sqlite3_bind_double(st, 3, tile_lat(req->y + 1 + f, req->z));
    sqlite3_bind_double(st, 4, tile_lat(req->y - f, req->z));
    to_tile tt = {(double)(1L << req->z) * extent, (double)req->x * extent,
                  (double)req->y * extent};
    cr_mvt_geom_type type = d->geom == CR_GEOM_POINT        ? CR_MVT_POINT
                            : d->geom == CR_GEOM_LINESTRING ? CR_MVT_LINESTRING
                                                            : CR_MVT_POLYGON;
    cr_mvt_layer *l = cr_mvt_layer_add(tile, d->name, extent);
    GEOSWKBReader *reader = GEOSWKBReader_create_r(h);
    int32_t *buf = NULL;
    size_t cap = 0;
    int rc_step;
    while ((rc_step = sqlite3_step(st)) == SQLITE_ROW) {
        int open_here =
            opened &&
            (!per_feature || cr_access_code(req->access, (const char *)sqlite3_column_text(st, 2)));
        if (d->restricted && !open_here) {
            continue;
        }
        const void *wkb = sqlite3_column_blob(st, 1);
        int wkb_len = sqlite3_column_bytes(st, 1);
        GEOSGeometry *g = wkb ? GEOSWKBReader_read_r(h, reader, wkb, (size_t)wkb_len) : NULL;
        GEOSGeometry *tg = g ? GEOSGeom_transformXY_r(h, g, lonlat_to_tile, &tt) : NULL;
        GEOSGeometry *clipped =
            tg ? GEOSClipByRect_r(h, tg, -buffer, -buffer, (double)extent + buffer,
                                  (double)extent + buffer)
               : NULL;
        GEOSGeometry *simple = NULL;
        if (clipped && simplify > 0 && type != CR_MVT_POINT) {
            simple = GEOSTopologyPreserveSimplify_r(h, clipped, simplify * extent / 256.0);
        }
        cr_mvt_feature_begin(l, type, 1, (uint64_t)sqlite3_column_int64(st, 0));
        int restricted_here = 0;
        for (size_t c = 0; c < n_cols; c++) {
            const cr_field_def *fd = &d->fields[cols[c]];
            int col = (int)c + 3;
            if (fd->restricted && !open_here) {
                continue;
            }
            restricted_here |= fd->restricted && sqlite3_column_type(st, col) != SQLITE_NULL;
            switch (sqlite3_column_type(st, col)) {
            case SQLITE_INTEGER:
                if (fd->type == CR_FT_BOOLEAN) {
                    cr_mvt_attr_bool(l, fd->name, sqlite3_column_int64(st, col) != 0);
                } else {
                    cr_mvt_attr_int(l, fd->name, sqlite3_column_int64(st, col));
                }
                break;
            case SQLITE_FLOAT:
                cr_mvt_attr_double(l, fd->name, sqlite3_column_double(st, col));
                break;
            case SQLITE_TEXT:
                cr_mvt_attr_string(l, fd->name, (const char *)sqlite3_column_text(st, col));
                break;
            default: /* NULL: MVT has no null; the attribute is left out */
                break;
            }
        }
        const GEOSGeometry *shown = simple ? simple : clipped;
        weight fw = {0, (uint64_t)sqlite3_column_int64(st, 0)};
        if (shown && type == CR_MVT_POLYGON) {
            GEOSArea_r(h, shown, &fw.size);
        } else if (shown && type == CR_MVT_LINESTRING) {
            GEOSLength_r(h, shown, &fw.size);
        } else {
            fw.size = point_weight(fw.fid);
        }
        int keep = !part->has_cut || weight_cmp(&fw, &part->cut) >= 0;
        if (shown && keep) {
            add_geometry(h, l, type, shown, &buf, &cap);
        }
        if (cr_mvt_feature_end(l)) {
            stats->features++;
            stats->restricted += restricted_here || d->restricted;
            if (!part->has_cut) {
                part->w = cr_xrealloc(part->w, (part->n_w + 1) * sizeof *part->w);
                part->w[part->n_w++] = fw;
            }
        } else if (!keep) {
            stats->capped++;
        } else {
            stats->dropped++;
        }
        GEOSGeom_destroy_r(h, simple);
        GEOSGeom_destroy_r(h, clipped);
        GEOSGeom_destroy_r(h, tg);
        GEOSGeom_destroy_r(h, g);
    }
    free(buf);
    GEOSWKBReader_destroy_r(h, reader);
    sqlite3_finalize(st);
    if (rc_step != SQLITE_DONE) {
        return cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
    }
    stats->layers += cr_mvt_layer_feature_count(l) > 0;
    return CR_OK;
}

/* Render one layer into part->bytes (replacing what was there). */
static cr_status render_part(cr_store *store, GEOSContextHandle_t h, const cr_tile_request *req,
                             layer_part *part, cr_tile_stats *stats, cr_error *err)
{
    cr_mvt_tile *tile = cr_mvt_tile_new();
    cr_status rc = render_layer(cr_store_db(store), h, part->d, req, tile, stats, part, err);
    cr_strbuf_clear(&part->bytes);
    if (rc == CR_OK) {
        cr_mvt_tile_encode(tile, &part->bytes);
    }
    cr_mvt_tile_free(tile);
    return rc;
}

cr_status cr_tile_render(cr_store *store, const cr_tile_request *req, cr_strbuf *out,
                         cr_tile_stats *stats, cr_error *err)
{
    memset(stats, 0, sizeof *stats);
    if (!cr_tile_valid(req->z, req->x, req->y)) {
        return cr_error_set(err, CR_EINVAL, "no tile %d/%d/%d (z 0–%d, x and y below 2^z)", req->z,
                            req->x, req->y, CR_TILE_MAX_ZOOM);
    }
    const cr_layer_set *set = cr_store_layers(store);
    if (req->layers && check_list(set, req->layers, req->access, err) != CR_OK) {
        return err->code;
    }
    GEOSContextHandle_t h = GEOS_init_r();
    layer_part *parts = cr_xcalloc(set->n_layers + 1, sizeof *parts);
    size_t n = 0;
    cr_status rc = CR_OK;
    for (size_t i = 0; i < set->n_layers && rc == CR_OK; i++) {
        const cr_layer_def *d = set->layers[i];
        if (cr_tile_settings(d) == NULL ||
            (d->restricted && !cr_access_layer(req->access, d->name)) ||
            (req->layers && !in_list(req->layers, d->name))) {
            continue;
        }
        parts[n].d = d;
        parts[n].priority =
            (int)json_integer_value(json_object_get(cr_tile_settings(d), "drop_priority"));
        rc = render_part(store, h, req, &parts[n++], stats, err);
    }
    /* Over the caps: thin the layer first in the drop order (lowest drop_priority, then
     * name), halving what it keeps — smallest polygons and shortest lines first, points evenly
     * — then the next layer, until the tile fits. */
    size_t max_bytes = req->max_bytes ? req->max_bytes : CR_TILE_MAX_BYTES;
    size_t max_features = req->max_features ? req->max_features : CR_TILE_MAX_FEATURES;
    for (int round = 0; rc == CR_OK && round < 4096; round++) {
        size_t bytes = 0, features = 0;
        layer_part *victim = NULL;
        for (size_t i = 0; i < n; i++) {
            size_t kept = parts[i].n_w;
            if (parts[i].has_cut) {
                kept = 0;
                for (size_t k = 0; k < parts[i].n_w; k++) {
                    kept += weight_cmp(&parts[i].w[k], &parts[i].cut) >= 0;
                }
            }
            bytes += parts[i].bytes.len;
            features += kept;
            if (kept > 0 && (victim == NULL || parts[i].priority < victim->priority)) {
                victim = &parts[i];
            }
        }
        if ((bytes <= max_bytes && features <= max_features) || victim == NULL) {
            break;
        }
        if (!victim->has_cut) {
            qsort(victim->w, victim->n_w, sizeof *victim->w, weight_cmp);
        }
        size_t kept = 0; /* sorted: the kept ones are the tail from the cut */
        while (kept < victim->n_w &&
               (!victim->has_cut ||
                weight_cmp(&victim->w[victim->n_w - 1 - kept], &victim->cut) >= 0)) {
            kept++;
        }
        size_t keep = kept / 2;
        if (keep == 0) { /* nothing left of it: a cut above every feature */
            victim->cut = victim->w[victim->n_w - 1];
            victim->cut.fid++;
        } else {
            victim->cut = victim->w[victim->n_w - keep];
        }
        victim->has_cut = 1;
        cr_tile_stats scratch = {0};
        rc = render_part(store, h, req, victim, &scratch, err);
        stats->capped += kept - keep;
    }
    if (rc == CR_OK) {
        stats->features = 0;
        for (size_t i = 0; i < n; i++) {
            cr_strbuf_append(out, parts[i].bytes.data ? parts[i].bytes.data : "",
                             parts[i].bytes.len);
            size_t kept = parts[i].n_w;
            if (parts[i].has_cut) {
                kept = 0;
                for (size_t k = 0; k < parts[i].n_w; k++) {
                    kept += weight_cmp(&parts[i].w[k], &parts[i].cut) >= 0;
                }
            }
            stats->features += kept;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(parts[i].w);
        cr_strbuf_cleanup(&parts[i].bytes);
    }
    free(parts);
    GEOS_finish_r(h);
    return rc;
}

int cr_tile_gzip(const char *in, size_t n, char **out, size_t *out_len)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return 0;
    }
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    *out = cr_xmalloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)*out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(*out);
        *out = NULL;
        return 0;
    }
    return 1;
}
