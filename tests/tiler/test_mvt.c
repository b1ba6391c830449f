/* SPDX-License-Identifier: MIT */
/* The MVT encoder against two independent decoders: the npm @mapbox/vector-tile + pbf reader
 * (geometry, winding, typed properties, ids; tests/tiler/mvt_check.mjs) and GDAL's MVT driver
 * (layers, fields, coordinates in EPSG:3857). Also: shared keys/values, repeated points and
 * degenerate parts dropped, empty layers left out, byte-identical output for the same input. */
#include "test_common.h"
#include "tiler/mvt.h"

#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

/* What the decoders should see: layer name → array of {id, type, properties, geometry}. */
static json_t *g_expected;

static json_t *ring_json(const int32_t *xy, size_t n, int reverse, int close)
{
    json_t *r = json_array();
    for (size_t k = 0; k < n; k++) {
        size_t i = reverse ? n - 1 - k : k;
        json_array_append_new(r, json_pack("[i,i]", xy[2 * i], xy[2 * i + 1]));
    }
    if (close) {
        json_array_append(r, json_array_get(r, 0));
    }
    return r;
}

static json_t *expect_feature(const char *layer, json_int_t id, int type)
{
    json_t *f =
        json_pack("{s:i, s:{}, s:[], s:[]}", "type", type, "properties", "geometry", "exterior");
    if (id >= 0) {
        json_object_set_new(f, "id", json_integer(id));
    }
    json_t *arr = json_object_get(g_expected, layer);
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(g_expected, layer, arr);
    }
    json_array_append_new(arr, f);
    return f;
}

/* json_object_update, consuming the update. */
static void update_new(json_t *obj, json_t *update)
{
    json_object_update(obj, update);
    json_decref(update);
}

static void build_tile(cr_mvt_tile *t)
{
    g_expected = json_object();
    /* points: every attribute type; shared keys and values */
    cr_mvt_layer *pts = cr_mvt_layer_add(t, "outfalls", 4096);
    cr_mvt_feature_begin(pts, CR_MVT_POINT, 1, 7);
    cr_mvt_attr_string(pts, "name", "太浦河1号排污口");
    cr_mvt_attr_int(pts, "count", 42);
    cr_mvt_attr_int(pts, "delta", -17);
    cr_mvt_attr_double(pts, "flow", 1.25);
    cr_mvt_attr_bool(pts, "in_zone", 1);
    cr_mvt_add_point(pts, 100, 200);
    assert_int_equal(cr_mvt_feature_end(pts), 1);
    json_t *f = expect_feature("outfalls", 7, 1);
    update_new(json_object_get(f, "properties"),
               json_pack("{s:s, s:i, s:i, s:f, s:b}", "name", "太浦河1号排污口", "count", 42,
                         "delta", -17, "flow", 1.25, "in_zone", 1));
    json_array_append_new(json_object_get(f, "geometry"), json_pack("[[i,i]]", 100, 200));
    /* a multipoint, no id, a shared value and a shared key */
    cr_mvt_feature_begin(pts, CR_MVT_POINT, 0, 0);
    cr_mvt_attr_string(pts, "name", "太浦河1号排污口");
    cr_mvt_attr_bool(pts, "in_zone", 0);
    cr_mvt_add_point(pts, 5, 5);
    cr_mvt_add_point(pts, 4090, 3);
    cr_mvt_add_point(pts, -50, 4150); /* in the buffer */
    assert_int_equal(cr_mvt_feature_end(pts), 1);
    f = expect_feature("outfalls", -1, 1);
    update_new(json_object_get(f, "properties"),
               json_pack("{s:s, s:b}", "name", "太浦河1号排污口", "in_zone", 0));
    json_t *g = json_object_get(f, "geometry");
    json_array_append_new(g, json_pack("[[i,i]]", 5, 5));
    json_array_append_new(g, json_pack("[[i,i]]", 4090, 3));
    json_array_append_new(g, json_pack("[[i,i]]", -50, 4150));

    /* lines: repeated points dropped; a multiline; a degenerate line dropped */
    cr_mvt_layer *lines = cr_mvt_layer_add(t, "reaches", 4096);
    static const int32_t l1[] = {0, 0, 10, 0, 10, 0, 10, 10, 300, 2000};
    static const int32_t l1_clean[] = {0, 0, 10, 0, 10, 10, 300, 2000};
    static const int32_t l2[] = {4000, 4000, 3000, 3500};
    static const int32_t dot[] = {7, 7, 7, 7, 7, 7};
    cr_mvt_feature_begin(lines, CR_MVT_LINESTRING, 1, 1);
    cr_mvt_attr_string(lines, "reach_id", "TPH-01");
    cr_mvt_add_line(lines, l1, 5);
    cr_mvt_add_line(lines, dot, 3); /* one distinct point: not a line */
    cr_mvt_add_line(lines, l2, 2);
    assert_int_equal(cr_mvt_feature_end(lines), 1);
    f = expect_feature("reaches", 1, 2);
    json_object_set_new(json_object_get(f, "properties"), "reach_id", json_string("TPH-01"));
    json_array_append_new(json_object_get(f, "geometry"), ring_json(l1_clean, 4, 0, 0));
    json_array_append_new(json_object_get(f, "geometry"), ring_json(l2, 2, 0, 0));
    cr_mvt_feature_begin(lines, CR_MVT_LINESTRING, 1, 2);
    cr_mvt_add_line(lines, dot, 3);
    assert_int_equal(cr_mvt_feature_end(lines), 0); /* nothing left: not written */

    /* polygons: exterior given anticlockwise on screen (wrong) and a hole given clockwise
     * (wrong), both rewound; a multipolygon; a zero-area exterior drops itself and its hole */
    cr_mvt_layer *polys = cr_mvt_layer_add(t, "lakes", 4096);
    static const int32_t outer[] = {0, 0, 0, 1000, 1000, 1000, 1000, 0, 0, 0}; /* area < 0 */
    static const int32_t hole[] = {200, 200, 400, 200, 400, 400, 200, 400};    /* area > 0 */
    static const int32_t second[] = {2000, 2000, 3000, 2000, 3000, 2500};      /* area > 0 */
    static const int32_t flat[] = {0, 0, 100, 100, 200, 200, 0, 0};
    cr_mvt_feature_begin(polys, CR_MVT_POLYGON, 1, 99);
    cr_mvt_attr_string(polys, "name", "元荡");
    cr_mvt_add_ring(polys, outer, 5, 1);
    cr_mvt_add_ring(polys, hole, 4, 0);
    cr_mvt_add_ring(polys, flat, 4, 1);
    cr_mvt_add_ring(polys, hole, 4, 0); /* hole of the dropped flat exterior */
    cr_mvt_add_ring(polys, second, 3, 1);
    assert_int_equal(cr_mvt_feature_end(polys), 1);
    f = expect_feature("lakes", 99, 3);
    json_object_set_new(json_object_get(f, "properties"), "name", json_string("元荡"));
    g = json_object_get(f, "geometry");
    json_array_append_new(g, ring_json(outer, 4, 1, 1));
    json_array_append_new(g, ring_json(hole, 4, 1, 1));
    json_array_append_new(g, ring_json(second, 3, 0, 1));
    json_t *ext = json_pack("[b,b,b]", 1, 0, 1);
    json_array_extend(json_object_get(f, "exterior"), ext);
    json_decref(ext);

    /* an empty layer is left out of the tile */
    (void)cr_mvt_layer_add(t, "ships", 4096);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/crossriver-mvt-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    cr_mvt_tile *t = cr_mvt_tile_new();
    build_tile(t);
    cr_strbuf out = {0};
    cr_mvt_tile_encode(t, &out);
    cr_mvt_tile_free(t);
    char path[128];
    snprintf(path, sizeof path, "%s/tile.mvt", g_dir);
    FILE *fp = fopen(path, "wb");
    assert_int_equal(fwrite(out.data, 1, out.len, fp), out.len);
    fclose(fp);
    cr_strbuf_cleanup(&out);
    snprintf(path, sizeof path, "%s/expected.json", g_dir);
    assert_int_equal(json_dump_file(g_expected, path, JSON_INDENT(1)), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(g_expected);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : 1;
}

static void test_npm_vector_tile_decodes_what_was_encoded(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node \"%s/tests/tiler/mvt_check.mjs\" %s/tile.mvt %s/expected.json",
             getenv("CROSSRIVER_SOURCE"), g_dir, g_dir);
    assert_int_equal(system(cmd), 0);
}

/* Tile 0/0/0 in EPSG:3857: x = -R + px * 2R / 4096, y = R - py * 2R / 4096. */
#define HALF 20037508.342789244
static double mx(double px)
{
    return -HALF + px * 2 * HALF / 4096;
}
static double my(double py)
{
    return HALF - py * 2 * HALF / 4096;
}

static void test_gdal_reads_the_tile(void **state)
{
    (void)state;
    GDALAllRegister();
    char path[128];
    snprintf(path, sizeof path, "%s/tile.mvt", g_dir);
    const char *open_opts[] = {"X=0", "Y=0", "Z=0", "CLIP=NO", NULL}; /* keep the buffer */
    const char *drivers[] = {"MVT", NULL};
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, drivers, open_opts, NULL);
    assert_non_null(ds);
    assert_int_equal(GDALDatasetGetLayerCount(ds), 3); /* the empty layer is not there */
    OGRLayerH pts = GDALDatasetGetLayerByName(ds, "outfalls");
    assert_non_null(pts);
    assert_int_equal(OGR_L_GetFeatureCount(pts, 1), 2);
    OGR_L_ResetReading(pts);
    OGRFeatureH f = OGR_L_GetNextFeature(pts);
    assert_non_null(f);
    assert_int_equal(OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "mvt_id")), 7);
    assert_string_equal(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "name")),
                        "太浦河1号排污口");
    assert_int_equal(OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "count")), 42);
    assert_int_equal(OGR_F_GetFieldAsInteger64(f, OGR_F_GetFieldIndex(f, "delta")), -17);
    assert_float_equal(OGR_F_GetFieldAsDouble(f, OGR_F_GetFieldIndex(f, "flow")), 1.25, 1e-12);
    assert_int_equal(OGR_F_GetFieldAsInteger(f, OGR_F_GetFieldIndex(f, "in_zone")), 1);
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPoint) { /* GDAL promotes the layer */
        assert_int_equal(OGR_G_GetGeometryCount(g), 1);
        g = OGR_G_GetGeometryRef(g, 0);
    }
    assert_float_equal(OGR_G_GetX(g, 0), mx(100), 1.0);
    assert_float_equal(OGR_G_GetY(g, 0), my(200), 1.0);
    OGR_F_Destroy(f);
    f = OGR_L_GetNextFeature(pts);
    assert_int_equal(OGR_G_GetGeometryCount(OGR_F_GetGeometryRef(f)), 3); /* multipoint */
    OGR_F_Destroy(f);

    OGRLayerH lines = GDALDatasetGetLayerByName(ds, "reaches");
    assert_int_equal(OGR_L_GetFeatureCount(lines, 1), 1);
    OGR_L_ResetReading(lines);
    f = OGR_L_GetNextFeature(lines);
    g = OGR_F_GetGeometryRef(f);
    assert_int_equal(wkbFlatten(OGR_G_GetGeometryType(g)), wkbMultiLineString);
    assert_int_equal(OGR_G_GetGeometryCount(g), 2);
    assert_int_equal(OGR_G_GetPointCount(OGR_G_GetGeometryRef(g, 0)), 4); /* repeat dropped */
    OGR_F_Destroy(f);

    OGRLayerH polys = GDALDatasetGetLayerByName(ds, "lakes");
    assert_int_equal(OGR_L_GetFeatureCount(polys, 1), 1);
    OGR_L_ResetReading(polys);
    f = OGR_L_GetNextFeature(polys);
    g = OGR_F_GetGeometryRef(f);
    assert_int_equal(wkbFlatten(OGR_G_GetGeometryType(g)), wkbMultiPolygon);
    assert_int_equal(OGR_G_GetGeometryCount(g), 2);
    /* GDAL assembled the hole into the first polygon: area = square - hole + triangle */
    double px_area = 1000.0 * 1000 - 200.0 * 200 + 1000.0 * 500 / 2;
    double unit = 2 * HALF / 4096;
    assert_float_equal(OGR_G_Area(g), px_area * unit * unit, px_area * unit * unit * 1e-9);
    assert_int_equal(OGR_G_GetGeometryCount(OGR_G_GetGeometryRef(g, 0)), 2); /* ring + hole */
    OGR_F_Destroy(f);
    GDALClose(ds);
}

static void test_encoding_is_deterministic(void **state)
{
    (void)state;
    cr_strbuf a = {0}, b = {0};
    for (int k = 0; k < 2; k++) {
        json_t *saved = g_expected;
        cr_mvt_tile *t = cr_mvt_tile_new();
        build_tile(t);
        json_decref(g_expected);
        g_expected = saved;
        cr_mvt_tile_encode(t, k ? &b : &a);
        cr_mvt_tile_free(t);
    }
    assert_true(a.len > 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    cr_strbuf_cleanup(&a);
    cr_strbuf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npm_vector_tile_decodes_what_was_encoded),
        cmocka_unit_test(test_gdal_reads_the_tile),
        cmocka_unit_test(test_encoding_is_deterministic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
