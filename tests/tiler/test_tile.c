/* SPDX-License-Identifier: MIT */
/* Tiles from the samples store: every outfall of a z10 tile (and its buffer) is there, where
 * PROJ puts it in EPSG:3857 (within one tile unit), as GDAL's MVT driver reads it; GDAL and
 * the npm decoder agree on every layer's count; zoom ranges, layer subsets, bad requests;
 * byte-identical tiles for the same store. */
#include "test_common.h"
#include "test_store.h"
#include "tiler/tile.h"

#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <proj.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Render z/x/y into dir/name; returns the byte count. */
static size_t render(int z, int x, int y, const char *layers, const char *name)
{
    cr_tile_request req = {z, x, y, 0, -1, layers, 0};
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
    cr_tile_request req = {z, x, y, 0, -1, layers, 0};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outfalls_are_where_proj_puts_them),
        cmocka_unit_test(test_gdal_and_npm_agree_on_every_layer),
        cmocka_unit_test(test_zoom_ranges_and_subsets),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_tiles_are_byte_identical),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
