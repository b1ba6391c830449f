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
static cr_status check_list(const cr_layer_set *set, const char *list, int restricted,
                            cr_error *err)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(len < 127 ? len : 127), p);
        const cr_layer_def *d = cr_layer_set_find(set, name);
        if (d == NULL || cr_tile_settings(d) == NULL || (d->restricted && !restricted)) {
            return cr_error_set(err, CR_EINVAL, "layers: '%s' is not a tiled layer", name);
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

static cr_status render_layer(sqlite3 *db, GEOSContextHandle_t h, const cr_layer_def *d,
                              const cr_tile_request *req, cr_mvt_tile *tile, cr_tile_stats *stats,
                              cr_error *err)
{
    const json_t *ts = cr_tile_settings(d);
    int minz, maxz;
    cr_tile_zoom_range(ts, &minz, &maxz);
    if (req->z < minz || req->z > maxz) {
        return CR_OK;
    }
    double simplify = json_number_value(json_object_get(ts, "simplify_px"));
    uint32_t extent = req->extent ? req->extent : 4096;
    int buffer = req->buffer >= 0 ? req->buffer : 64;
    /* attributes: the listed ones that exist and the client may see, in listed order */
    const json_t *attrs = json_object_get(ts, "attributes");
    int cols[64];
    size_t n_cols = 0;
    cr_strbuf sql = {0};
    cr_strbuf_puts(&sql, "SELECT fid, AsBinary(geom)");
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a)
    {
        int fi = cr_layer_def_field_index(d, json_string_value(a));
        if (fi < 0 || n_cols == 64 || (d->fields[fi].restricted && !req->include_restricted)) {
            continue;
        }
        cols[n_cols++] = fi;
        cr_strbuf_printf(&sql, ", \"%s\"", d->fields[fi].name);
    }
    cr_strbuf_printf(&sql,
                     " FROM \"%s_current\" WHERE fid IN (SELECT pkid FROM \"idx_%s_geom\""
                     " WHERE xmin <= ?2 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?3)"
                     " ORDER BY fid",
                     d->name, d->name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
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
        for (size_t c = 0; c < n_cols; c++) {
            const cr_field_def *fd = &d->fields[cols[c]];
            int col = (int)c + 2;
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
        if (simple || clipped) {
            add_geometry(h, l, type, simple ? simple : clipped, &buf, &cap);
        }
        if (cr_mvt_feature_end(l)) {
            stats->features++;
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

cr_status cr_tile_render(cr_store *store, const cr_tile_request *req, cr_strbuf *out,
                         cr_tile_stats *stats, cr_error *err)
{
    memset(stats, 0, sizeof *stats);
    if (!cr_tile_valid(req->z, req->x, req->y)) {
        return cr_error_set(err, CR_EINVAL, "no tile %d/%d/%d (z 0–%d, x and y below 2^z)", req->z,
                            req->x, req->y, CR_TILE_MAX_ZOOM);
    }
    const cr_layer_set *set = cr_store_layers(store);
    if (req->layers && check_list(set, req->layers, req->include_restricted, err) != CR_OK) {
        return err->code;
    }
    GEOSContextHandle_t h = GEOS_init_r();
    cr_mvt_tile *tile = cr_mvt_tile_new();
    cr_status rc = CR_OK;
    for (size_t i = 0; i < set->n_layers && rc == CR_OK; i++) {
        const cr_layer_def *d = set->layers[i];
        if (cr_tile_settings(d) == NULL || (d->restricted && !req->include_restricted) ||
            (req->layers && !in_list(req->layers, d->name))) {
            continue;
        }
        rc = render_layer(cr_store_db(store), h, d, req, tile, stats, err);
    }
    if (rc == CR_OK) {
        cr_mvt_tile_encode(tile, out);
    }
    cr_mvt_tile_free(tile);
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
