/* SPDX-License-Identifier: MIT */
/* Issue 15, hardening: the deployment config is checked whole (a misspelt key or a value of
 * the wrong kind is an error naming it, never a silent default); every polygon of every tile
 * is valid after quantisation, on a stress set made to break it. */
#include "api/api.h"
#include "test_common.h"
#include "test_store.h"
#include "tile_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_deployment_config_is_checked_whole(void **state)
{
    (void)state;
    static const struct {
        const char *json, *words; /* words: NULL when accepted */
    } CASES[] = {
        {"{}", NULL},
        {"{\"region\": [118.8, 29.6, 122.2, 32.4], \"full_survey\": {\"max_close_share\": 0.2},"
         " \"alarms\": {\"sudden_change\": {\"z\": 5, \"indicators\": [\"nh3n\"]},"
         " \"repeated\": {\"count\": 3}}, \"incidents\": {\"deadlines\": {\"information_h\": 4,"
         " \"press_conference_h\": 12}, \"trace\": {\"downstream_hours\": 48}},"
         " \"gate_operations\": {\"advance_notice_h\": 12, \"emergency_advance_notice_h\": 0}}",
         NULL},
        {"[]", "a JSON object"},
        {"{\"alarm\": {}}", "unknown key 'alarm' (known: region, full_survey, alarms"},
        {"{\"region\": [122.2, 29.6, 118.8, 32.4]}", "W < E"},
        {"{\"region\": [118.8, 29.6, 122.2]}", "[W, S, E, N]"},
        {"{\"full_survey\": {\"max_close_share\": 1.5}}", "full_survey.max_close_share"},
        {"{\"full_survey\": {\"max_close\": 0.5}}", "full_survey: unknown key 'max_close'"},
        {"{\"alarms\": {\"sudden_change\": {\"z\": \"6\"}}}", "alarms.z"},
        {"{\"alarms\": {\"sudden_change\": {\"windows\": 40}}}", "unknown key 'windows'"},
        {"{\"alarms\": {\"sudden_change\": {\"indicators\": [3]}}}", "indicators[0]"},
        {"{\"alarms\": {\"silent\": 12}}", "alarms.silent: an object"},
        {"{\"incidents\": {\"deadlines\": {\"information_h\": \"5\"}}}",
         "incidents.deadlines.information_h: a number"},
        {"{\"incidents\": {\"deadlines\": {\"information_h\": 0}}}", "information_h"},
        {"{\"incidents\": {\"deadline\": {}}}", "incidents: unknown key 'deadline'"},
        {"{\"incidents\": {\"trace\": {\"downstream_h\": 4}}}", "unknown key 'downstream_h'"},
        {"{\"gate_operations\": {\"advance_notice_h\": -1}}", "gate_operations.advance_notice_h"},
        {"{\"gate_operations\": []}", "gate_operations: an object"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        json_t *root = json_loads(CASES[i].json, 0, NULL);
        assert_non_null(root);
        cr_error e = {0};
        cr_status rc = cr_api_config_check(root, &e);
        if (CASES[i].words == NULL ? rc != CR_OK
                                   : rc != CR_EINVAL || strstr(e.msg, CASES[i].words) == NULL) {
            fail_msg("%s: %d '%s'; wanted %s", CASES[i].json, rc, e.msg,
                     CASES[i].words ? CASES[i].words : "accepted");
        }
        json_decref(root);
    }
    /* the file: syntax errors with line and column, duplicate keys refused, the file named */
    char path[] = "/tmp/cr-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"alarms\": {},\n \"alarms\": {}}\n", f);
    fclose(f);
    json_t *out = NULL;
    cr_error e = {0};
    assert_int_equal(cr_api_config_load(path, &out, &e), CR_EPARSE);
    assert_null(out);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "duplicate"));
    f = fopen(path, "w");
    fputs("{\"gate_operations\": {\"horizon_h\": 24}}", f);
    fclose(f);
    assert_int_equal(cr_api_config_load(path, &out, &e), CR_OK);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(out, "gate_operations"), "horizon_h")),
        24);
    json_decref(out);
    remove(path);
}

/* A ring as GeoJSON coordinates: n points of f(i) (closed). */
static void ring(cr_strbuf *b, size_t n,
                 void (*f)(size_t i, size_t n, const double *arg, double *lon, double *lat),
                 const double *arg)
{
    cr_strbuf_puts(b, "[");
    for (size_t i = 0; i <= n; i++) {
        double lon, lat;
        f(i % n, n, arg, &lon, &lat);
        cr_strbuf_printf(b, "%s[%.9f,%.9f]", i ? "," : "", lon, lat);
    }
    cr_strbuf_puts(b, "]");
}

/* arg: centre lon, lat, radius in degrees, wobble share: a circle with a ragged edge */
static void circle(size_t i, size_t n, const double *a, double *lon, double *lat)
{
    double t = 2 * M_PI * (double)i / (double)n, r = a[2] * (1 + a[3] * sin(37 * t));
    *lon = a[0] + r * cos(t);
    *lat = a[1] + r * sin(t);
}

/* arg: the clockwise counterpart of circle (holes run the other way) */
static void circle_cw(size_t i, size_t n, const double *a, double *lon, double *lat)
{
    circle(n - i, n, a, lon, lat);
}

/* The shared boundary of two counties: 120.90 → 121.00 at 31.0, zigzagging by a few metres
 * (less than a pixel below z14); west county above it (side 1), east below (side -1). */
static void county_side(size_t i, size_t n, const double *a, double *lon, double *lat)
{
    size_t edge = n - 2; /* points on the zigzag; then two corners */
    if (i < edge) {
        *lon = 120.90 + 0.10 * (double)i / (double)(edge - 1);
        *lat = 31.0 + (i % 2 ? 0.00003 : -0.00003);
    } else {
        *lon = i == edge ? 121.00 : 120.90;
        *lat = 31.0 + a[0] * 0.05;
    }
}

static void feature(cr_strbuf *b, const char *props, const char *geometry_prefix)
{
    cr_strbuf_printf(b, "%s{\"type\":\"Feature\",\"properties\":{%s},\"geometry\":{%s",
                     b->len > 40 ? "," : "", props, geometry_prefix);
}

/* Many small islands, a lake with many holes, a sliver, and counties sharing a zigzag edge:
 * every polygon of every tile z6–z14 over them is valid as GDAL reads it back (GEOS). */
static void test_stress_polygons_are_valid_in_every_tile(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    cr_strbuf b = {0};
    cr_strbuf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
    /* 1. an archipelago: 400 islands 2–20 m across, some a metre apart */
    feature(&b, "\"code\":\"990001\",\"name\":\"千岛\",\"level\":\"county\"",
            "\"type\":\"MultiPolygon\",\"coordinates\":[");
    for (int k = 0; k < 400; k++) {
        double c[4] = {120.95 + 0.0004 * (k % 20) + 0.00001 * (k % 3), 30.90 + 0.0004 * (k / 20),
                       0.00002 + 0.00018 * ((k * 7) % 10) / 10.0, 0.3};
        cr_strbuf_puts(&b, k ? ",[" : "[");
        ring(&b, 12, circle, c);
        cr_strbuf_puts(&b, "]");
    }
    cr_strbuf_puts(&b, "]}}");
    /* 2. two counties on a zigzag boundary of a few metres */
    double up = 1, down = -1;
    feature(&b, "\"code\":\"990002\",\"name\":\"北县\",\"level\":\"county\"",
            "\"type\":\"Polygon\",\"coordinates\":[");
    ring(&b, 202, county_side, &up);
    cr_strbuf_puts(&b, "]}}");
    feature(&b, "\"code\":\"990003\",\"name\":\"南县\",\"level\":\"county\"",
            "\"type\":\"Polygon\",\"coordinates\":[");
    ring(&b, 202, county_side, &down);
    cr_strbuf_puts(&b, "]}}");
    /* 3. a sliver town: 8 km long, 10 cm wide */
    feature(&b, "\"code\":\"990004001\",\"name\":\"细镇\",\"level\":\"town\"",
            "\"type\":\"Polygon\",\"coordinates\":[[[120.90,31.06],[120.98,31.06],"
            "[120.98,31.060001],[120.90,31.060001],[120.90,31.06]]]}}");
    cr_strbuf_puts(&b, "]}");
    test_store_ingest(t, "admin_units", "stress_admin.geojson", b.data, NULL);
    /* 4. a lake with 60 islands (holes), ragged, some nearly touching the shore */
    cr_strbuf_clear(&b);
    cr_strbuf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
    feature(&b, "\"lake_id\":\"L-STRESS\",\"name\":\"百岛湖\"",
            "\"type\":\"Polygon\",\"coordinates\":[");
    double shore[4] = {120.85, 30.95, 0.03, 0.02};
    ring(&b, 720, circle, shore);
    for (int k = 0; k < 60; k++) {
        double a = 2 * M_PI * k / 60.0, d = 0.005 + 0.024 * ((k * 13) % 60) / 60.0;
        double hole[4] = {120.85 + d * cos(a), 30.95 + d * sin(a), 0.00005 + 0.0003 * (k % 5), 0.2};
        cr_strbuf_puts(&b, ",");
        ring(&b, 16, circle_cw, hole);
    }
    cr_strbuf_puts(&b, "]}}]}");
    test_store_ingest(t, "lakes", "stress_lakes.geojson", b.data, NULL);
    cr_strbuf_cleanup(&b);
    tile_check tc = {0};
    const double box[4] = {120.81, 30.89, 121.01, 31.07};
    tile_check_polygons(t->store, box, 6, 14, t->dir, &tc);
    printf("stress tiles: %zu tiles, %zu polygons, %zu invalid\n", tc.tiles, tc.polygons,
           tc.invalid);
    if (tc.invalid > 0) {
        fail_msg("%zu of %zu polygons invalid; first %s", tc.invalid, tc.polygons, tc.first);
    }
    assert_true(tc.polygons > 2000); /* the islands alone, at z14 */
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deployment_config_is_checked_whole),
        cmocka_unit_test(test_stress_polygons_are_valid_in_every_tile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
