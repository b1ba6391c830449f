/* SPDX-License-Identifier: MIT */
/* Tiles from the samples store: every outfall of a z10 tile (and its buffer) is there, where
 * PROJ puts it in EPSG:3857 (within one tile unit), as GDAL's MVT driver reads it; GDAL and
 * the npm decoder agree on every layer's count; zoom ranges, layer subsets, bad requests;
 * byte-identical tiles for the same store. */
#include "api/api.h"
#include "quality/quality.h"
#include "store/tile_rows.h"
#include "test_common.h"
#include "test_store.h"
#include "tile_check.h"
#include "tiler/tile.h"

#include <arpa/inet.h>
#include <gdal.h>
#include <math.h>
#include <netinet/in.h>
#include <ogr_api.h>
#include <proj.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HALF 20037508.342789244
#define Z    10
#define X    855
#define Y    419

static char g_dir[64];
static cr_layer_set *g_set;
static cr_store *g_store;

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/crossriver-tile-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    test_samples_store(g_dir);
    cr_error err = {0};
    assert_int_equal(cr_layer_set_load(getenv("CROSSRIVER_LAYERS"), &g_set, &err), CR_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/s.sqlite", g_dir);
    assert_int_equal(cr_store_open_readonly(path, g_set, &g_store, &err), CR_OK);
    GDALAllRegister();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_store_close(g_store);
    cr_layer_set_free(g_set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : 1;
}

/* Render z/x/y for a client with access (NULL: the public) into dir/name; the byte count. */
static size_t render_as(int z, int x, int y, const char *layers, const cr_access *access,
                        const char *name)
{
    cr_tile_request req = {
        .z = z, .x = x, .y = y, .buffer = -1, .layers = layers, .access = access};
    cr_strbuf out = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    if (cr_tile_render(g_store, &req, &out, &stats, &err) != CR_OK) {
        fail_msg("tile %d/%d/%d: %s", z, x, y, err.msg);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(out.data ? out.data : "", 1, out.len, f), out.len);
    fclose(f);
    size_t n = out.len;
    cr_strbuf_cleanup(&out);
    return n;
}

static size_t render(int z, int x, int y, const char *layers, const char *name)
{
    return render_as(z, x, y, layers, NULL, name);
}

static GDALDatasetH open_tile(const char *name, int z, int x, int y)
{
    char path[128], zs[16], xs[16], ys[16];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    snprintf(zs, sizeof zs, "Z=%d", z);
    snprintf(xs, sizeof xs, "X=%d", x);
    snprintf(ys, sizeof ys, "Y=%d", y);
    const char *opts[] = {zs, xs, ys, "CLIP=NO", NULL};
    const char *drivers[] = {"MVT", NULL};
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, drivers, opts, NULL);
    assert_non_null(ds);
    return ds;
}

static void test_outfalls_are_where_proj_puts_them(void **state)
{
    (void)state;
    render(Z, X, Y, NULL, "t.mvt");
    /* expected: every current outfall inside the tile plus its 64-unit buffer, by PROJ */
    PJ_CONTEXT *ctx = proj_context_create();
    PJ *p0 = proj_create_crs_to_crs(ctx, "EPSG:4326", "EPSG:3857", NULL);
    PJ *p = proj_normalize_for_visualization(ctx, p0);
    double size = 2 * HALF / (1 << Z), unit = size / 4096, buf = 64 * unit;
    double minx = -HALF + X * size - buf, maxx = -HALF + (X + 1) * size + buf;
    double maxy = HALF - Y * size + buf, miny = HALF - (Y + 1) * size - buf;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(g_store),
                                        "SELECT fid, outfall_id, X(geom), Y(geom) FROM "
                                        "outfalls_current ORDER BY fid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int64_t fids[1024];
    double ex[1024], ey[1024];
    size_t n_expected = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        PJ_COORD c = proj_coord(sqlite3_column_double(st, 2), sqlite3_column_double(st, 3), 0, 0);
        c = proj_trans(p, PJ_FWD, c);
        if (c.xy.x >= minx && c.xy.x <= maxx && c.xy.y >= miny && c.xy.y <= maxy) {
            assert_true(n_expected < 1024);
            fids[n_expected] = sqlite3_column_int64(st, 0);
            ex[n_expected] = c.xy.x;
            ey[n_expected] = c.xy.y;
            n_expected++;
        }
    }
    sqlite3_finalize(st);
    proj_destroy(p);
    proj_destroy(p0);
    proj_context_destroy(ctx);
    assert_true(n_expected >= 10); /* the tile is in the middle of the zone */

    GDALDatasetH ds = open_tile("t.mvt", Z, X, Y);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "outfalls");
    assert_non_null(l);
    assert_int_equal(OGR_L_GetFeatureCount(l, 1), (GIntBig)n_expected);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    const cr_layer_def *d = cr_layer_set_find(g_set, "outfalls");
    for (size_t i = 0; i < d->n_fields; i++) { /* restricted fields never in a public tile */
        if (d->fields[i].restricted) {
            assert_int_equal(OGR_FD_GetFieldIndex(defn, d->fields[i].name), -1);
        }
    }
    OGR_L_ResetReading(l);
    OGRFeatureH f;
    size_t k = 0;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        assert_true(k < n_expected);
        assert_int_equal(OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id")),
                         fids[k]); /* in fid order */
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPoint) {
            g = OGR_G_GetGeometryRef(g, 0);
        }
        if (fabs(OGR_G_GetX(g, 0) - ex[k]) > unit || fabs(OGR_G_GetY(g, 0) - ey[k]) > unit) {
            fail_msg("outfall fid %lld at %.1f,%.1f; PROJ says %.1f,%.1f (unit %.1f m)",
                     (long long)fids[k], OGR_G_GetX(g, 0), OGR_G_GetY(g, 0), ex[k], ey[k], unit);
        }
        OGR_F_Destroy(f);
        k++;
    }
    assert_int_equal(k, n_expected);
    GDALClose(ds);
}

static void test_gdal_and_npm_agree_on_every_layer(void **state)
{
    (void)state;
    render(Z, X, Y, NULL, "all.mvt");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node \"%s/tests/tiler/mvt_summary.mjs\" %s/all.mvt > %s/npm.json",
             getenv("CROSSRIVER_SOURCE"), g_dir, g_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/npm.json", g_dir);
    json_t *npm = json_load_file(cmd, 0, NULL);
    assert_non_null(npm);
    GDALDatasetH ds = open_tile("all.mvt", Z, X, Y);
    int n = GDALDatasetGetLayerCount(ds);
    assert_int_equal((size_t)n, json_object_size(npm));
    assert_true(n >= 6); /* admin units, lakes, reaches, outfalls, sections, zones at least */
    for (int i = 0; i < n; i++) {
        OGRLayerH l = GDALDatasetGetLayer(ds, i);
        json_t *c = json_object_get(npm, OGR_L_GetName(l));
        assert_non_null(c);
        assert_int_equal(OGR_L_GetFeatureCount(l, 1), json_integer_value(c));
        assert_true(json_integer_value(c) > 0);
    }
    assert_null(json_object_get(npm, "contacts")); /* no geometry, no tile settings */
    GDALClose(ds);
    json_decref(npm);
}

/* Where a vertex lands in a tile (the series near the tile, the formula beyond: tiler/tile.c)
 * against PROJ's Web Mercator, within a millionth of a tile unit: tiles at every zoom the
 * series serves and below, across latitudes up to 84°, points in and around each tile and as
 * far as the series reaches and past it. */
static void test_vertices_where_proj_puts_them(void **state)
{
    (void)state;
    PJ_CONTEXT *ctx = proj_context_create();
    PJ *p0 = proj_create_crs_to_crs(ctx, "EPSG:4326", "EPSG:3857", NULL);
    PJ *p = proj_normalize_for_visualization(ctx, p0);
    assert_non_null(p);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    double worst = 0;
    for (int z = 5; z <= 18; z++) {
        double n = (double)(1L << z), unit = 2 * HALF / n / 4096;
        for (int k = 0; k < 400; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            double lat = -84.0 + 168.0 * (double)(rng >> 11) / 9007199254740992.0;
            double lon = -179.0 + 358.0 * (double)(rng & 0xffff) / 65536.0;
            int x, y;
            cr_tile_at(lon, lat, z, &x, &y);
            /* around the tile, then out to 0.6° (past any reach of the series) */
            double spread = k % 2 ? 0.6 : 1.5 * 360.0 / n;
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            double vlat = lat + spread * ((double)(rng >> 40) / 16777216.0 - 0.5);
            double vlon = lon + spread * ((double)(rng & 0xffffff) / 16777216.0 - 0.5);
            vlat = vlat > 85.0 ? 85.0 : vlat < -85.0 ? -85.0 : vlat;
            vlon = vlon > 179.9 ? 179.9 : vlon < -179.9 ? -179.9 : vlon; /* PROJ wraps */
            double tx, ty;
            cr_tile_project(z, x, y, 4096, vlon, vlat, &tx, &ty);
            PJ_COORD c = proj_trans(p, PJ_FWD, proj_coord(vlon, vlat, 0, 0));
            double ex = (c.xy.x + HALF) / unit - (double)x * 4096;
            double ey = (HALF - c.xy.y) / unit - (double)y * 4096;
            double off = fmax(fabs(tx - ex), fabs(ty - ey));
            worst = off > worst ? off : worst;
            if (off > 1e-6) {
                fail_msg("z%d tile %d/%d: %.9f,%.9f at %.9f,%.9f; PROJ says %.9f,%.9f", z, x, y,
                         vlon, vlat, tx, ty, ex, ey);
            }
        }
    }
    print_message("worst distance from PROJ: %.2g tile units\n", worst);
    proj_destroy(p);
    proj_destroy(p0);
    proj_context_destroy(ctx);
}

static void test_zoom_ranges_and_subsets(void **state)
{
    (void)state;
    /* z3: below every layer's minzoom: an empty tile */
    assert_int_equal(render(3, 6, 3, NULL, "z3.mvt"), 0);
    /* z5: only admin units (minzoom 4); reaches start at 6, outfalls at 9 */
    assert_true(render(5, 26, 13, NULL, "z5.mvt") > 0);
    GDALDatasetH ds = open_tile("z5.mvt", 5, 26, 13);
    assert_int_equal(GDALDatasetGetLayerCount(ds), 1);
    assert_string_equal(OGR_L_GetName(GDALDatasetGetLayer(ds, 0)), "admin_units");
    GDALClose(ds);
    /* a subset */
    render(Z, X, Y, "reaches,lakes", "sub.mvt");
    ds = open_tile("sub.mvt", Z, X, Y);
    assert_int_equal(GDALDatasetGetLayerCount(ds), 2);
    assert_non_null(GDALDatasetGetLayerByName(ds, "reaches"));
    assert_non_null(GDALDatasetGetLayerByName(ds, "lakes"));
    GDALClose(ds);
}

static void expect_einval(int z, int x, int y, const char *layers, const char *words)
{
    cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1, .layers = layers};
    cr_strbuf out = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    assert_int_equal(cr_tile_render(g_store, &req, &out, &stats, &err), CR_EINVAL);
    if (strstr(err.msg, words) == NULL) {
        fail_msg("'%s' does not say '%s'", err.msg, words);
    }
    assert_int_equal(out.len, 0);
    cr_strbuf_cleanup(&out);
}

static void test_bad_requests(void **state)
{
    (void)state;
    expect_einval(23, 0, 0, NULL, "no tile 23/0/0");
    expect_einval(2, 4, 0, NULL, "no tile 2/4/0");
    expect_einval(2, 0, -1, NULL, "no tile");
    expect_einval(Z, X, Y, "reaches,nope", "'nope' is not a tiled layer");
    expect_einval(Z, X, Y, "contacts", "'contacts' is not a tiled layer");
    expect_einval(Z, X, Y, "../../etc", "not a tiled layer");
}

static void test_tiles_are_byte_identical(void **state)
{
    (void)state;
    size_t a = render(Z, X, Y, NULL, "a.mvt"), b = render(Z, X, Y, NULL, "b.mvt");
    assert_true(a > 0);
    assert_int_equal(a, b);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cmp -s %s/a.mvt %s/b.mvt", g_dir, g_dir);
    assert_int_equal(system(cmd), 0);
}

/* Render with caps; the stats. */
static cr_tile_stats render_capped(size_t max_bytes, size_t max_features, const char *name,
                                   size_t *len)
{
    cr_tile_request req = {
        .z = Z, .x = X, .y = Y, .buffer = -1, .max_bytes = max_bytes, .max_features = max_features};
    cr_strbuf out = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    assert_int_equal(cr_tile_render(g_store, &req, &out, &stats, &err), CR_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(out.data ? out.data : "", 1, out.len, f), out.len);
    fclose(f);
    *len = out.len;
    cr_strbuf_cleanup(&out);
    return stats;
}

typedef struct {
    const char *name;
    int priority;
    long count;
} layer_count;

static void count_layers(const char *name, layer_count *lc, size_t n)
{
    GDALDatasetH ds = open_tile(name, Z, X, Y);
    for (size_t i = 0; i < n; i++) {
        OGRLayerH l = GDALDatasetGetLayerByName(ds, lc[i].name);
        lc[i].count = l ? (long)OGR_L_GetFeatureCount(l, 1) : 0;
    }
    GDALClose(ds);
}

/* Over its caps a tile is thinned in the documented order: the layer with the lowest
 * drop_priority first, to what fits (polygons smallest first), before the next is touched;
 * what is left fits, and GDAL reads it. */
static void test_caps_thin_in_drop_order(void **state)
{
    (void)state;
    layer_count full[16];
    size_t n = 0;
    for (size_t i = 0; i < g_set->n_layers; i++) {
        const json_t *ts = cr_tile_settings(g_set->layers[i]);
        int minz, maxz;
        if (ts == NULL || (cr_tile_zoom_range(ts, &minz, &maxz), Z < minz || Z > maxz)) {
            continue;
        }
        full[n].name = g_set->layers[i]->name;
        full[n].priority = (int)json_integer_value(json_object_get(ts, "drop_priority"));
        n++;
    }
    size_t len_full;
    cr_tile_stats st = render_capped(0, 0, "uncapped.mvt", &len_full);
    assert_int_equal(st.capped, 0);
    count_layers("uncapped.mvt", full, n);
    /* a feature cap that the layers below protection_zones (priority 5) cannot meet alone */
    long above = 0, zones = 0;
    for (size_t i = 0; i < n; i++) {
        above += full[i].priority > 5 ? full[i].count : 0;
        zones += full[i].priority == 5 ? full[i].count : 0;
    }
    assert_true(zones >= 2);
    size_t len;
    st = render_capped(0, (size_t)(above + zones - 1), "fcap.mvt", &len);
    layer_count capped[16];
    memcpy(capped, full, sizeof capped);
    count_layers("fcap.mvt", capped, n);
    for (size_t i = 0; i < n; i++) {
        long want = full[i].priority < 5    ? 0
                    : full[i].priority == 5 ? full[i].count - 1 /* exactly what fits */
                                            : full[i].count;
        if (capped[i].count != want) {
            fail_msg("%s: %ld features after the cap, want %ld (of %ld)", capped[i].name,
                     capped[i].count, want, full[i].count);
        }
    }
    assert_true(st.capped > 0);
    /* the protection zones kept are the largest ones in the tile */
    GDALDatasetH ds_full = open_tile("uncapped.mvt", Z, X, Y);
    GDALDatasetH ds_cap = open_tile("fcap.mvt", Z, X, Y);
    OGRLayerH lf = GDALDatasetGetLayerByName(ds_full, "protection_zones");
    OGRLayerH lc = GDALDatasetGetLayerByName(ds_cap, "protection_zones");
    double min_kept = INFINITY, max_dropped = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(lf);
    while ((f = OGR_L_GetNextFeature(lf)) != NULL) {
        GIntBig id = OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id"));
        double area = OGR_G_Area(OGR_F_GetGeometryRef(f));
        int kept = 0;
        OGR_L_ResetReading(lc);
        OGRFeatureH g;
        while ((g = OGR_L_GetNextFeature(lc)) != NULL) {
            kept |= OGR_F_GetFieldAsInteger64(g, OGR_F_GetFieldIndex(g, "mvt_id")) == id;
            OGR_F_Destroy(g);
        }
        if (kept) {
            min_kept = fmin(min_kept, area);
        } else {
            max_dropped = fmax(max_dropped, area);
        }
        OGR_F_Destroy(f);
    }
    GDALClose(ds_full);
    GDALClose(ds_cap);
    assert_true(min_kept >= max_dropped * 0.999); /* tile-unit area vs GDAL's: rounding */
    /* a byte cap: the tile fits, and only a prefix of the drop order lost anything */
    st = render_capped(len_full / 4, 0, "bcap.mvt", &len);
    assert_true(len <= len_full / 4);
    assert_true(len > 0);
    count_layers("bcap.mvt", capped, n);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < n; k++) {
            if (capped[i].count < full[i].count && full[k].priority < full[i].priority) {
                assert_int_equal(capped[k].count, 0);
            }
        }
    }
}

/* The county polygon with this code in an open tile, or NULL (caller destroys the clone). */
static OGRGeometryH county_in_tile(GDALDatasetH ds, const char *code)
{
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "admin_units");
    assert_non_null(l);
    OGR_L_ResetReading(l);
    OGRFeatureH f;
    OGRGeometryH g = NULL;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        if (strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "code")), code) == 0) {
            g = OGR_G_Clone(OGR_F_GetGeometryRef(f));
        }
        OGR_F_Destroy(f);
    }
    return g;
}

/* At low zooms neighbouring counties share one generalised boundary: for every pair whose
 * source polygons share an edge, the tile's polygons meet along a line (no gap) and do not
 * overlap; and the generalisation did reduce the vertices. Read back by GDAL. */
static void test_low_zoom_boundaries_are_shared(void **state)
{
    (void)state;
    const int z = 6, x = 53, y = 26;
    render(z, x, y, "admin_units", "z6.mvt");
    GDALDatasetH ds = open_tile("z6.mvt", z, x, y);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(cr_store_db(g_store),
                           "SELECT a.code, b.code, ST_Length(ST_Intersection(a.geom, b.geom), 1)"
                           " FROM admin_units_current a, admin_units_current b"
                           " WHERE a.level = 'county' AND b.level = 'county' AND a.fid < b.fid"
                           " AND ST_Intersects(a.geom, b.geom)"
                           " AND ST_Length(ST_Intersection(a.geom, b.geom), 1) > 1000",
                           -1, &st, NULL),
        SQLITE_OK);
    int pairs = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *ca = (const char *)sqlite3_column_text(st, 0);
        const char *cb = (const char *)sqlite3_column_text(st, 1);
        double shared_m = sqlite3_column_double(st, 2);
        OGRGeometryH ga = county_in_tile(ds, ca), gb = county_in_tile(ds, cb);
        if (ga == NULL || gb == NULL) { /* a county outside this tile */
            OGR_G_DestroyGeometry(ga);
            OGR_G_DestroyGeometry(gb);
            continue;
        }
        OGRGeometryH inter = OGR_G_Intersection(ga, gb);
        double overlap = OGR_G_Area(inter);
        /* the line they share, in Web Mercator metres (~1.17× ground at 31°N) */
        OGRGeometryH ba = OGR_G_Boundary(ga), bb = OGR_G_Boundary(gb);
        OGRGeometryH lines = OGR_G_Intersection(ba, bb);
        double meet = OGR_G_Length(lines);
        OGR_G_DestroyGeometry(ba);
        OGR_G_DestroyGeometry(bb);
        if (overlap > 1.0 || meet < 0.5 * shared_m) {
            fail_msg("counties %s and %s: overlap %.1f m², shared edge %.0f m in the tile vs "
                     "%.0f m in the source",
                     ca, cb, overlap, meet, shared_m);
        }
        pairs++;
        OGR_G_DestroyGeometry(inter);
        OGR_G_DestroyGeometry(lines);
        OGR_G_DestroyGeometry(ga);
        OGR_G_DestroyGeometry(gb);
    }
    sqlite3_finalize(st);
    GDALClose(ds);
    assert_true(pairs >= 10);
    /* fewer vertices at z6 than in the source */
    sqlite3_stmt *v;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(g_store),
                                        "SELECT (SELECT sum(ST_NPoints(geom)) FROM "
                                        "admin_units_current), (SELECT sum(ST_NPoints(GeomFromWKB("
                                        "wkb))) FROM admin_units_gen6)",
                                        -1, &v, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(v), SQLITE_ROW);
    assert_true(sqlite3_column_int64(v, 1) > 0);
    assert_true(sqlite3_column_int64(v, 1) < sqlite3_column_int64(v, 0) / 2);
    sqlite3_finalize(v);
}

/* Reaches are generalised per level too, each on its own, keeping both endpoints (the network
 * still meets at its nodes) and never adding vertices; the z6 tile reads them (GDAL). */
static void test_line_levels_keep_endpoints(void **state)
{
    (void)state;
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(cr_store_db(g_store),
                           "SELECT c.reach_id, g.level, ST_NPoints(c.geom),"
                           " ST_NPoints(GeomFromWKB(g.wkb)),"
                           " ST_Distance(ST_StartPoint(c.geom), ST_StartPoint(GeomFromWKB(g.wkb))),"
                           " ST_Distance(ST_EndPoint(c.geom), ST_EndPoint(GeomFromWKB(g.wkb)))"
                           " FROM reaches_current c JOIN (SELECT fid, 6 AS level, wkb FROM"
                           " reaches_gen6 UNION ALL SELECT fid, 7, wkb FROM reaches_gen7 UNION ALL"
                           " SELECT fid, 8, wkb FROM reaches_gen8 UNION ALL SELECT fid, 9, wkb FROM"
                           " reaches_gen9 UNION ALL SELECT fid, 10, wkb FROM reaches_gen10) g"
                           " ON g.fid = c.fid",
                           -1, &st, NULL),
        SQLITE_OK);
    int rows = 0, fewer = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        assert_true(sqlite3_column_int(st, 3) >= 2);
        assert_true(sqlite3_column_int(st, 3) <= sqlite3_column_int(st, 2));
        fewer += sqlite3_column_int(st, 3) < sqlite3_column_int(st, 2);
        if (sqlite3_column_double(st, 4) != 0 || sqlite3_column_double(st, 5) != 0) {
            fail_msg("reach %s level %d moved an endpoint", sqlite3_column_text(st, 0),
                     sqlite3_column_int(st, 1));
        }
    }
    sqlite3_finalize(st);
    assert_true(rows >= 3 * 20); /* every reach at the three levels */
    assert_true(fewer > 0);
    render(6, 53, 26, "reaches", "z6r.mvt");
    GDALDatasetH ds = open_tile("z6r.mvt", 6, 53, 26);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "reaches");
    assert_non_null(l);
    assert_true(OGR_L_GetFeatureCount(l, 1) >= 15);
    GDALClose(ds);
}

/* The county of an outfall by fid, from the store's joins. */
static void county_of(long long fid, char *out, size_t n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(g_store),
                                        "SELECT county_code FROM outfalls_current WHERE fid=?", -1,
                                        &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, fid);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, n, "%s",
             sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
    sqlite3_finalize(st);
}

/* Restricted attributes (the outfalls' contact phone) only for a token that opens the layer,
 * and only on features in the token's jurisdictions; the same features either way. Read back
 * by GDAL. Returns how many features carried a phone. */
static int phones_in_tile(const cr_access *access, const char *name, const char *only_county)
{
    render_as(Z, X, Y, "outfalls", access, name);
    GDALDatasetH ds = open_tile(name, Z, X, Y);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "outfalls");
    assert_non_null(l);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(l);
    int phone = OGR_FD_GetFieldIndex(defn, "contact_phone");
    int with = 0, total = 0;
    OGR_L_ResetReading(l);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        char county[16];
        county_of(OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id")), county,
                  sizeof county);
        int has = phone >= 0 && OGR_F_IsFieldSetAndNotNull(f, phone);
        if (has) {
            assert_non_null(only_county);
            assert_string_equal(county, only_county); /* never outside the jurisdictions */
        }
        with += has;
        total++;
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    assert_true(total >= 10);
    return with;
}

static void test_restricted_attributes_follow_the_token(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/tokens.json", g_dir);
    FILE *f = fopen(path, "w");
    char h1[65], h2[65], h3[65];
    cr_sha256_hex("all", 3, h1);
    cr_sha256_hex("wujiang", 7, h2);
    cr_sha256_hex("jiashan", 7, h3);
    fprintf(f,
            "{\"tokens\": [{\"name\": \"all\", \"token_sha256\": \"%s\", \"layers\": \"*\","
            " \"jurisdictions\": \"*\"}, {\"name\": \"wj\", \"token_sha256\": \"%s\","
            " \"layers\": [\"outfalls\"], \"jurisdictions\": [\"320509\"]},"
            " {\"name\": \"js\", \"token_sha256\": \"%s\", \"layers\": [\"outfalls\"],"
            " \"jurisdictions\": [\"330421\"]}]}",
            h1, h2, h3);
    fclose(f);
    cr_access_list *tokens = NULL;
    cr_error err = {0};
    assert_int_equal(cr_access_load(path, &tokens, &err), CR_OK);
    assert_null(cr_access_find(tokens, "nope", "2026-01-01"));
    const cr_access *all = cr_access_find(tokens, "all", "2026-01-01");
    const cr_access *wj = cr_access_find(tokens, "wujiang", "2026-01-01");
    const cr_access *js = cr_access_find(tokens, "jiashan", "2026-01-01");
    assert_non_null(all);
    assert_non_null(wj);
    assert_non_null(js);
    assert_int_equal(phones_in_tile(NULL, "pub.mvt", NULL), 0);
    int n_wj = phones_in_tile(wj, "wj.mvt", "320509");
    assert_true(n_wj >= 5); /* Wujiang's outfalls have phones */
    assert_int_equal(phones_in_tile(all, "all.mvt", "320509"), n_wj); /* only Wujiang has any */
    assert_int_equal(phones_in_tile(js, "js.mvt", NULL), 0);          /* Jiashan's have none */
    cr_access_list_free(tokens);
}

/* Token files are checked strictly, with the file and entry named. */
/* Section tiles carry the latest class and whether the target is met, as GDAL reads them,
 * and the class agrees with `cr_wq_latest_classes` (what crossriver quality --latest says). */
static void test_sections_carry_their_latest_class(void **state)
{
    (void)state;
    /* 太浦河康家村 (120.880, 31.025) at z12 */
    int z = 12;
    double n = 1 << z;
    int x = (int)((120.880 + 180) / 360 * n);
    double lat = 31.025 * M_PI / 180;
    int y = (int)((1 - log(tan(lat) + 1 / cos(lat)) / M_PI) / 2 * n);
    render(z, x, y, "monitoring_sections", "sections.mvt");
    GDALDatasetH ds = open_tile("sections.mvt", z, x, y);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "monitoring_sections");
    assert_non_null(l);
    char cls[16] = "", met[16] = "";
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        if (strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "section_id")), "SEC-TPH-KJ") ==
            0) {
            snprintf(cls, sizeof cls, "%s",
                     OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wq_class")));
            snprintf(met, sizeof met, "%s",
                     OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "wq_target_met")));
        }
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    cr_standards *std = NULL;
    cr_error e = {0};
    assert_int_equal(cr_standards_load(NULL, &std, &e), CR_OK);
    json_t *all = NULL;
    assert_int_equal(cr_wq_latest_classes(g_store, std, &all, &e), CR_OK);
    size_t i;
    json_t *o;
    int seen = 0;
    json_array_foreach(all, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "section_id")), "SEC-TPH-KJ") == 0) {
            assert_string_equal(cls, json_string_value(json_object_get(o, "class")));
            assert_string_equal(met, json_is_true(json_object_get(o, "met")) ? "met" : "missed");
            seen = 1;
        }
    }
    assert_true(seen);
    assert_true(cls[0] != '\0');
    json_decref(all);
    cr_standards_free(std);
}

static void test_token_file_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *words;
    } cases[] = {
        {"{\"tokens\": [{\"name\": \"a\", \"token_sha256\": \"abc\", \"layers\": \"*\", "
         "\"jurisdictions\": \"*\"}]}",
         "tokens[0] (a): token_sha256"},
        {"{\"tokens\": [{\"name\": \"a\", \"token\": \"x\"}]}", "unknown key 'token'"},
        {"{\"tokens\": [{\"name\": \"a\", \"token_sha256\": "
         "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\", \"layers\": 3, "
         "\"jurisdictions\": \"*\"}]}",
         "layers"},
        {"{\"tokens\": [{\"name\": \"a\", \"token_sha256\": "
         "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\", \"layers\": \"*\", "
         "\"jurisdictions\": \"*\", \"expires\": \"soon\"}]}",
         "expires"},
        {"{\"tokens\": {}}", "nothing else"},
        {"{\"tokens\": [", "line 1"},
    };
    char path[128];
    snprintf(path, sizeof path, "%s/bad_tokens.json", g_dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "w");
        fputs(cases[i].text, f);
        fclose(f);
        cr_access_list *l = NULL;
        cr_error err = {0};
        assert_int_not_equal(cr_access_load(path, &l, &err), CR_OK);
        if (strstr(err.msg, cases[i].words) == NULL || strstr(err.msg, path) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s' or the path", i, err.msg, cases[i].words);
        }
        assert_null(l);
    }
    /* expiry: valid through the day it names */
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"tokens\": [{\"name\": \"a\", \"token_sha256\": "
               "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\", "
               "\"layers\": \"*\", \"jurisdictions\": \"*\", \"expires\": \"2026-06-30\"}]}");
    fclose(f);
    cr_access_list *l = NULL;
    cr_error err = {0};
    assert_int_equal(cr_access_load(path, &l, &err), CR_OK);
    assert_non_null(cr_access_find(l, "x", "2026-06-30")); /* sha256("x") */
    assert_null(cr_access_find(l, "x", "2026-07-01"));
    cr_access_list_free(l);
}

/* Every polygon of every sample tile z6–z14 over the zone is valid as GDAL reads it back
 * (GEOS): quantisation to the tile grid never leaves a self-intersection. */
static void test_every_polygon_is_valid_z6_to_z14(void **state)
{
    (void)state;
    const double zone[4] = {120.60, 30.70, 121.30, 31.30};
    tile_check tc = {0};
    tile_check_polygons(g_store, zone, 6, 14, g_dir, &tc);
    printf("valid tiles: %zu tiles, %zu polygons, %zu invalid\n", tc.tiles, tc.polygons,
           tc.invalid);
    if (tc.invalid > 0) {
        fail_msg("%zu of %zu polygons invalid; first %s", tc.invalid, tc.polygons, tc.first);
    }
    assert_true(tc.polygons > 1000); /* counties, towns, lakes, zones: the check saw them */
}

/* Seed the zone into a PMTiles archive at path (root limit: NULL for the spec's 16 KiB). */
static void seed_pmtiles(const char *path, const char *root_limit, const json_t *vector_layers)
{
    if (root_limit) {
        setenv("CR_TEST_PMTILES_ROOT_LIMIT", root_limit, 1);
    }
    cr_seed_options o = {path, {120.60, 30.70, 121.30, 31.30}, 6, 13, NULL, vector_layers, NULL,
                         NULL};
    cr_seed_stats st;
    cr_error err = {0};
    if (cr_tiler_seed_pmtiles(g_store, &o, &st, &err) != CR_OK) {
        fail_msg("seed: %s", err.msg);
    }
    unsetenv("CR_TEST_PMTILES_ROOT_LIMIT");
    printf("pmtiles: %llu of %llu tiles stored\n", (unsigned long long)st.stored,
           (unsigned long long)st.total);
    assert_true(st.stored > 200);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*n + 1);
    assert_int_equal(fread(buf, 1, *n, f), *n);
    fclose(f);
    return buf;
}

/* PMTiles v3: the npm reader finds every tile of the zone z6–z13 with the bytes the server
 * renders (and no empty one), with the root alone and with leaf directories; the same store
 * seeds the same bytes. */
static void test_pmtiles_read_back_by_npm(void **state)
{
    (void)state;
    char a[128], b[128], c[128], list[128];
    snprintf(a, sizeof a, "%s/a.pmtiles", g_dir);
    snprintf(b, sizeof b, "%s/b.pmtiles", g_dir);
    snprintf(c, sizeof c, "%s/leaves.pmtiles", g_dir);
    snprintf(list, sizeof list, "%s/pmtiles.txt", g_dir);
    json_t *tj = NULL;
    cr_error err = {0};
    assert_int_equal(cr_api_tilejson(g_store, "", &tj, &err), CR_OK);
    const json_t *vl = json_object_get(tj, "vector_layers");
    char ids[512] = ""; /* the layers' IDs, sorted (the definitions are) */
    size_t i;
    json_t *l;
    json_array_foreach(vl, i, l)
    {
        size_t len = strlen(ids);
        snprintf(ids + len, sizeof ids - len, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(l, "id")));
    }
    seed_pmtiles(a, NULL, vl);
    seed_pmtiles(b, NULL, vl);
    seed_pmtiles(c, "400", vl); /* a root of 400 bytes: leaves it must be */
    json_decref(tj);
    size_t na, nb;
    char *da = slurp(a, &na), *db = slurp(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na); /* deterministic */
    uint64_t leaves = 0, leaves_c = 0;
    memcpy(&leaves, da + 48, 8); /* little-endian hosts only (x86-64, arm64) */
    free(db);
    db = slurp(c, &nb);
    memcpy(&leaves_c, db + 48, 8);
    assert_int_equal(leaves, 0);
    assert_true(leaves_c > 0);
    free(da);
    free(db);
    /* every tile of the zone, as the server renders it */
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    const double zone[4] = {120.60, 30.70, 121.30, 31.30};
    for (int z = 6; z <= 13; z++) {
        int x0, y0, x1, y1;
        cr_tile_at(zone[0], zone[3], z, &x0, &y0);
        cr_tile_at(zone[2], zone[1], z, &x1, &y1);
        for (int x = x0; x <= x1; x++) {
            for (int y = y0; y <= y1; y++) {
                char name[64], path[160];
                snprintf(name, sizeof name, "pm-%d-%d-%d.mvt", z, x, y);
                snprintf(path, sizeof path, "%s/%s", g_dir, name);
                size_t n = render(z, x, y, NULL, name);
                fprintf(f, "%d %d %d %llu %s\n", z, x, y,
                        (unsigned long long)cr_pmtiles_tile_id(z, (uint32_t)x, (uint32_t)y),
                        n ? path : "-");
            }
        }
    }
    fclose(f);
    char cmd[1024];
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "node \"%s/tests/tiler/pmtiles_check.mjs\" %s %s %s",
                 getenv("CROSSRIVER_SOURCE"), k ? c : a, list, ids);
        assert_int_equal(system(cmd), 0);
    }
}

/* The web map as static files (`crossriver site`) served by nginx alone, with range requests
 * for the archive: Chromium draws the zone from it (tests/web/static_check.mjs). */
static void test_static_site_in_a_browser(void **state)
{
    (void)state;
    if (access("/usr/bin/chromium", X_OK) != 0 || access("/usr/sbin/nginx", X_OK) != 0) {
        fail_msg("Chromium and nginx are needed (scripts/deps.sh installs them)");
    }
    char site[128], cmd[2048], conf[160], pid[160], log[160];
    snprintf(site, sizeof site, "%s/site", g_dir);
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" site --quiet --store %s/s.sqlite --out %s --zoom 8-12 "
             "--bbox 120.6,30.7,121.3,31.3",
             g_dir, site);
    assert_int_equal(system(cmd), 0);
    int port = 0;
    {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        port = ntohs(a.sin_port);
        close(fd);
    }
    snprintf(conf, sizeof conf, "%s/nginx.conf", g_dir);
    snprintf(pid, sizeof pid, "%s/nginx.pid", g_dir);
    snprintf(log, sizeof log, "%s/access.log", g_dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "%s worker_processes 1; pid %s; error_log %s/nginx_error.log;\n"
            "events { worker_connections 256; }\n"
            "http { access_log %s; client_body_temp_path %s; proxy_temp_path %s;\n"
            " fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
            " types { text/html html; text/javascript js mjs; text/css css;\n"
            "  application/json json; }\n"
            " default_type application/octet-stream;\n"
            " server { listen 127.0.0.1:%d; root %s; } }\n",
            getuid() == 0 ? "user root;" : "", pid, g_dir, log, g_dir, g_dir, g_dir, g_dir, g_dir,
            port, site);
    fclose(f);
    snprintf(cmd, sizeof cmd, "nginx -c %s -p %s 2>/dev/null", conf, g_dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "node \"%s/tests/web/static_check.mjs\" http://127.0.0.1:%d %s %s",
             getenv("CROSSRIVER_SOURCE"), port, g_dir, log);
    int rc = system(cmd);
    FILE *p = fopen(pid, "r"); /* stopped by its PID, whatever the check said */
    int npid = 0;
    if (p && fscanf(p, "%d", &npid) == 1 && npid > 0) {
        kill(npid, SIGTERM);
    }
    if (p) {
        fclose(p);
    }
    assert_int_equal(rc, 0);
}

/* The outfalls of the tile at (lon, lat) as GDAL reads them (mvt_id, in tile order) against
 * the store's current ones west of 120.9 (the site), in fid order. */
static void expect_site(test_store *t, double lon, double lat, const char *what)
{
    int z = 12, x, y; /* a zoom read by runs (tiler/tile.c: RUNS_MAX_ZOOM) */
    cr_tile_at(lon, lat, z, &x, &y);
    char path[160];
    snprintf(path, sizeof path, "%s/%s.mvt", t->dir, what);
    GDALDatasetH ds = tile_check_open(t->store, z, x, y, "outfalls", path);
    assert_non_null(ds);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "outfalls");
    assert_non_null(l);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(t->store),
                                        "SELECT fid FROM outfalls_current WHERE X(geom) < 120.9"
                                        " ORDER BY fid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    OGR_L_ResetReading(l);
    OGRFeatureH f;
    size_t k = 0;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id")) !=
            sqlite3_column_int64(st, 0)) {
            fail_msg("%s: feature %zu is fid %lld, the store's is %lld", what, k,
                     (long long)OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id")),
                     (long long)sqlite3_column_int64(st, 0));
        }
        OGR_F_Destroy(f);
        k++;
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* none missing */
    sqlite3_finalize(st);
    assert_true(k >= 6);
    GDALClose(ds);
}

/* A layer's rows read by runs of consecutive fids (features imported one after another) and one
 * by one (fids scattered): the same features either way, in fid order, a closed version (whose
 * fid lies inside a run) left out and its new version in. */
static void test_rows_by_runs_and_scattered(void **state)
{
    (void)state;
    const char *header = "排污口编码,排污口名称,排污口类型,受纳水体,经度,纬度\n";
    for (int scattered = 0; scattered < 2; scattered++) {
        test_store *t = test_store_new();
        cr_strbuf csv = {0};
        cr_strbuf_puts(&csv, header);
        /* eight outfalls 100 m apart at the site; scattered: each followed by one far east */
        for (int i = 0; i < 8; i++) {
            cr_strbuf_printf(&csv, "S%d,站%d,工业,太浦河,%.4f,31.0000\n", i, i,
                             120.501 + 0.001 * i);
            if (scattered) {
                cr_strbuf_printf(&csv, "F%d,远%d,工业,太浦河,%.4f,31.2000\n", i, i,
                                 121.201 + 0.001 * i);
            }
        }
        test_store_ingest(t, "outfalls", "a.csv", csv.data, NULL);
        cr_strbuf_clear(&csv);
        /* S3 moves 50 m north: its first version closes, the new one gets the next fid */
        cr_strbuf_printf(&csv, "%sS3,站3,工业,太浦河,120.5040,31.0005\n", header);
        test_store_ingest(t, "outfalls", "b.csv", csv.data, NULL);
        cr_strbuf_cleanup(&csv);
        assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls WHERE source_id = 'S3'"
                                             " AND valid_to IS NOT NULL"),
                         1);
        expect_site(t, 120.503, 31.0, scattered ? "scattered" : "runs");
        /* a layer found scattered tile after tile is read by its one query, the runs tried
         * again now and then (tiler/tile.c: SCATTER_TRUST, SCATTER_RETRY): the same bytes */
        const cr_layer_def *d = cr_layer_set_find(cr_store_layers(t->store), "outfalls");
        cr_tile_request req = {.z = 12, .buffer = -1, .layers = "outfalls"};
        cr_tile_at(120.503, 31.0, 12, &req.x, &req.y);
        cr_strbuf first = {0};
        for (int i = 0; i < 80; i++) {
            cr_strbuf out = {0};
            cr_tile_stats stats;
            cr_error err = {0};
            assert_int_equal(cr_tile_render(t->store, &req, &out, &stats, &err), CR_OK);
            if (i == 0) {
                first = out;
                continue;
            }
            assert_int_equal(out.len, first.len);
            assert_memory_equal(out.data, first.data, out.len);
            cr_strbuf_cleanup(&out);
        }
        cr_strbuf_cleanup(&first);
        int hint = *cr_store_layer_tile_hint(t->store, d);
        if (scattered ? hint < 40 : hint != 0) {
            fail_msg("%s: %d tiles running found scattered", scattered ? "scattered" : "runs",
                     hint);
        }
        /* tile rows (store/tile_rows.h) for the scattered layer only; the same tile from them */
        cr_tile_rows_stats ts;
        cr_error e2 = {0};
        assert_int_equal(cr_tile_rows_build(t->store, d, 0, &ts, &e2), CR_OK);
        assert_int_equal(ts.in_runs, !scattered);
        assert_int_equal(ts.rows, scattered ? 16 : 0);
        assert_int_equal(cr_store_tile_rows_fresh(t->store, d), scattered);
        expect_site(t, 120.503, 31.0, scattered ? "scattered-rows" : "runs-again");
        test_store_free(t);
    }
}

/* Tiles drawn from a layer's tile rows (store/tile_rows.h) against the same tiles drawn from
 * the layer's own rows, byte for byte, at every zoom a tile reads rows (z9–z16, public and with
 * a token opening restricted fields); rows made stale by a batch after them are not used (the
 * new feature shows), and rows made again are. */
static int g_with_status; /* tiles compared that hold a section's status */

static void tile_pair(cr_store *s, const cr_access *access, int z, int x, int y, int *compared)
{
    cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1, .access = access};
    cr_strbuf a = {0}, b = {0};
    cr_tile_stats st;
    cr_error err = {0};
    assert_int_equal(cr_store_exec(s, "UPDATE tile_rows_state SET fields = fields", &err), CR_OK);
    assert_int_equal(cr_tile_render(s, &req, &a, &st, &err), CR_OK);
    /* the same store with its tile rows out of use (their fields no longer the layer's) */
    assert_int_equal(
        cr_store_exec(s, "UPDATE tile_rows_state SET fields = fields || ',gone'", &err), CR_OK);
    assert_int_equal(cr_tile_render(s, &req, &b, &st, &err), CR_OK);
    assert_int_equal(cr_store_exec(s,
                                   "UPDATE tile_rows_state SET fields = substr(fields, 1,"
                                   " length(fields) - 5)",
                                   &err),
                     CR_OK);
    if (a.len != b.len || memcmp(a.data ? a.data : "", b.data ? b.data : "", a.len) != 0) {
        fail_msg("tile %d/%d/%d (%s): %zu bytes from the tile rows, %zu from the layers", z, x, y,
                 access ? "token" : "public", a.len, b.len);
    }
    *compared += a.len > 0;
    for (size_t i = 0; i + 8 <= a.len; i++) { /* the key's bytes in the layer's keys */
        if (memcmp(a.data + i, "wq_class", 8) == 0) {
            g_with_status++;
            break;
        }
    }
    cr_strbuf_cleanup(&a);
    cr_strbuf_cleanup(&b);
}

static void test_tile_rows_draw_what_the_layers_do(void **state)
{
    (void)state;
    char path[160], tokens[160];
    snprintf(path, sizeof path, "%s/rows.sqlite", g_dir);
    char *sql = sqlite3_mprintf("VACUUM INTO %Q", path);
    assert_int_equal(sqlite3_exec(cr_store_db(g_store), sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
    cr_store *s = NULL;
    cr_error err = {0};
    assert_int_equal(cr_store_open(path, g_set, &s, &err), CR_OK);
    const cr_layer_def *outfalls = cr_layer_set_find(g_set, "outfalls");
    const cr_layer_def *reaches = cr_layer_set_find(g_set, "reaches");
    cr_tile_rows_stats ts;
    assert_int_equal(cr_tile_rows_build(s, outfalls, 1, &ts, &err), CR_OK);
    assert_int_equal(cr_tile_rows_build(s, reaches, 1, &ts, &err), CR_OK);
    /* sections: their statuses are looked up per row (status.* attributes) */
    assert_int_equal(
        cr_tile_rows_build(s, cr_layer_set_find(g_set, "monitoring_sections"), 1, &ts, &err),
        CR_OK);
    assert_true(ts.rows >= 3);
    assert_true(test_db_count(s, "SELECT count(*) FROM feature_status WHERE layer ="
                                 " 'monitoring_sections'") > 0);
    /* every current row with a geometry once, nothing else */
    assert_int_equal(cr_store_tile_rows_fresh(s, outfalls), 1);
    assert_int_equal(cr_store_tile_rows_fresh(s, reaches), 1);
    const char *counts[] = {
        "SELECT (SELECT count(*) FROM outfalls_tile_rows) - (SELECT count(*) FROM outfalls WHERE"
        " valid_to IS NULL AND geom IS NOT NULL)",
        "SELECT count(*) FROM outfalls_tile_rows t LEFT JOIN outfalls o ON o.fid = t.fid AND"
        " o.valid_to IS NULL WHERE o.fid IS NULL",
        "SELECT count(*) - count(DISTINCT fid) FROM outfalls_tile_rows",
        "SELECT (SELECT count(*) FROM reaches_tile_rows) - (SELECT count(*) FROM reaches WHERE"
        " valid_to IS NULL AND geom IS NOT NULL)"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        assert_int_equal(test_db_count(s, counts[i]), 0);
    }
    snprintf(tokens, sizeof tokens, "%s/rows-tokens.json", g_dir);
    FILE *f = fopen(tokens, "w");
    char h[65];
    cr_sha256_hex("all", 3, h);
    fprintf(f,
            "{\"tokens\": [{\"name\": \"all\", \"token_sha256\": \"%s\", \"layers\": \"*\","
            " \"jurisdictions\": \"*\"}]}",
            h);
    fclose(f);
    cr_access_list *list = NULL;
    assert_int_equal(cr_access_load(tokens, &list, &err), CR_OK);
    const cr_access *all = cr_access_find(list, "all", "2026-01-01");
    assert_non_null(all);
    /* tiles around a few outfalls and reaches, z9–z16 */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(s),
                                        "SELECT * FROM (SELECT X(geom), Y(geom) FROM"
                                        " outfalls_current WHERE fid % 7 = 0 LIMIT 5) UNION ALL"
                                        " SELECT * FROM (SELECT X(StartPoint(geom)),"
                                        " Y(StartPoint(geom)) FROM reaches_current WHERE"
                                        " fid % 11 = 0 LIMIT 4) UNION ALL SELECT * FROM (SELECT"
                                        " X(geom), Y(geom) FROM monitoring_sections_current"
                                        " LIMIT 4)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int compared = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int z = 9; z <= 16; z++) {
            int x, y;
            cr_tile_at(sqlite3_column_double(st, 0), sqlite3_column_double(st, 1), z, &x, &y);
            tile_pair(s, NULL, z, x, y, &compared);
            tile_pair(s, all, z, x, y, &compared);
        }
    }
    sqlite3_finalize(st);
    assert_true(compared >= 150);
    assert_true(g_with_status >= 4); /* sections' statuses, looked up per row, among them */

    /* a batch after the rows: they are not used until made again */
    const char *csv = "排污口编码,排污口名称,排污口类型,受纳水体,经度,纬度\n"
                      "NEW1,新排口,工业,太浦河,120.7000,31.0200\n";
    char file[200];
    snprintf(file, sizeof file, "%s/new.csv", g_dir);
    f = fopen(file, "w");
    fputs(csv, f);
    fclose(f);
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    cr_ingest_result r;
    assert_int_equal(cr_etl_ingest_file(s, outfalls, file, &o, &r, &err), CR_OK);
    assert_int_equal(r.stored, 1);
    assert_int_equal(cr_store_tile_rows_fresh(s, outfalls), 0);
    assert_int_equal(cr_store_tile_rows_fresh(s, reaches), 1);
    int x, y;
    cr_tile_at(120.7, 31.02, 14, &x, &y);
    snprintf(file, sizeof file, "%s/new.mvt", g_dir);
    GDALDatasetH ds = tile_check_open(s, 14, x, y, "outfalls", file);
    assert_non_null(ds);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "outfalls");
    assert_non_null(l);
    int seen = 0;
    OGRFeatureH feat;
    while ((feat = OGR_L_GetNextFeature(l)) != NULL) {
        seen += strcmp(OGR_F_GetFieldAsString(feat, OGR_F_GetFieldIndex(feat, "outfall_id")),
                       "NEW1") == 0;
        OGR_F_Destroy(feat);
    }
    GDALClose(ds);
    assert_int_equal(seen, 1);
    assert_int_equal(cr_tile_rows_build(s, outfalls, 1, &ts, &err), CR_OK);
    assert_int_equal(cr_store_tile_rows_fresh(s, outfalls), 1);
    compared = 0;
    tile_pair(s, NULL, 14, x, y, &compared);
    tile_pair(s, all, 12, x >> 2, y >> 2, &compared);
    assert_int_equal(compared, 2);
    cr_access_list_free(list);
    cr_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outfalls_are_where_proj_puts_them),
        cmocka_unit_test(test_vertices_where_proj_puts_them),
        cmocka_unit_test(test_gdal_and_npm_agree_on_every_layer),
        cmocka_unit_test(test_zoom_ranges_and_subsets),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_tiles_are_byte_identical),
        cmocka_unit_test(test_rows_by_runs_and_scattered),
        cmocka_unit_test(test_tile_rows_draw_what_the_layers_do),
        cmocka_unit_test(test_restricted_attributes_follow_the_token),
        cmocka_unit_test(test_caps_thin_in_drop_order),
        cmocka_unit_test(test_low_zoom_boundaries_are_shared),
        cmocka_unit_test(test_line_levels_keep_endpoints),
        cmocka_unit_test(test_token_file_errors),
        cmocka_unit_test(test_sections_carry_their_latest_class),
        cmocka_unit_test(test_every_polygon_is_valid_z6_to_z14),
        cmocka_unit_test(test_pmtiles_read_back_by_npm),
        cmocka_unit_test(test_static_site_in_a_browser),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
