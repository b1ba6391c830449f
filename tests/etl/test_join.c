/* SPDX-License-Identifier: MIT */
/* Joins on hand-built data with known answers: bank sides, measure and offset against
 * geodesics, boundary distance and the county across, points on a boundary, a county with a
 * hole, the strictest zone, zone coverage, and the review flags. */
#include "etl/join.h"
#include "geo/geo.h"
#include "test_common.h"
#include "test_store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two counties side by side (A: 120.40–120.50, B: 120.50–120.60, lat 30.90–31.10), B in
 * another province; A has a hole holding county C (an island). One river flows east. */
static const char ADMIN[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"100001\",\"name\":\"甲县\","
    "\"level\":\"county\",\"province_code\":\"100000\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[120.40,30.90],[120.50,30.90],[120.50,31.10],[120.40,31.10],[120.40,30.90]],"
    "[[120.42,31.06],[120.44,31.06],[120.44,31.08],[120.42,31.08],[120.42,31.06]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"200001\",\"name\":\"乙县\","
    "\"level\":\"county\",\"province_code\":\"200000\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[120.50,30.90],[120.60,30.90],[120.60,31.10],[120.50,31.10],[120.50,30.90]]]"
    "}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"100002\",\"name\":\"岛县\","
    "\"level\":\"county\",\"province_code\":\"100000\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[120.42,31.06],[120.44,31.06],[120.44,31.08],[120.42,31.08],[120.42,31.06]]]"
    "}}]}";

static const char REACHES[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"R1\",\"name\":\"东流河\","
    "\"reach_class\":\"干流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.42,31.00],[120.47,31.00],[120.58,31.02]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"R2\",\"name\":\"北支\","
    "\"reach_class\":\"支流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.45,31.09],[120.45,31.03]]}}]}";

static const char ZONES[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"zone_id\":\"Z2\",\"name\":\"二级\","
    "\"source_name\":\"水源\",\"grade\":\"二级\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[120.46,30.98],[120.54,30.98],[120.54,31.03],[120.46,31.03],[120.46,30.98]]]"
    "}},"
    "{\"type\":\"Feature\",\"properties\":{\"zone_id\":\"Z1\",\"name\":\"一级\","
    "\"source_name\":\"水源\",\"grade\":\"一级\"},\"geometry\":{\"type\":\"Polygon\","
    "\"coordinates\":[[[120.47,30.99],[120.49,30.99],[120.49,31.01],[120.47,31.01],[120.47,30.99]]]"
    "}}]}";

static test_store *g_t;
static cr_join_ref *g_ref;

static int setup(void **state)
{
    (void)state;
    g_t = test_store_new();
    test_store_ingest(g_t, "admin_units", "admin.geojson", ADMIN, NULL);
    test_store_ingest(g_t, "reaches", "reaches.geojson", REACHES, NULL);
    test_store_ingest(g_t, "protection_zones", "zones.geojson", ZONES, NULL);
    cr_error e = {0};
    assert_int_equal(cr_join_ref_load(g_t->store, &g_ref, &e), CR_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_join_ref_free(g_ref);
    test_store_free(g_t);
    return 0;
}

static void near(double got, double want, double rel, const char *what)
{
    if (fabs(got - want) > rel * fabs(want) + 1e-6) {
        fail_msg("%s: %.3f, want %.3f (±%.2f%%)", what, got, want, rel * 100);
    }
}

static void test_bank_measure_and_offset_agree_with_geodesics(void **state)
{
    (void)state;
    cr_join_point p;
    /* 100 m-ish north of the first segment: left bank looking downstream (east) */
    cr_join_point_compute(g_ref, 120.44, 31.0009, 200, NULL, NULL, &p);
    assert_string_equal(p.reach_id, "R1");
    assert_string_equal(p.bank, "left");
    near(p.offset_m, cr_geodesic_m(120.44, 31.0009, 120.44, 31.00), 0.005, "offset");
    near(p.measure_m, cr_geodesic_m(120.42, 31.00, 120.44, 31.00), 0.005, "measure");
    /* south: right bank */
    cr_join_point_compute(g_ref, 120.44, 30.9991, 200, NULL, NULL, &p);
    assert_string_equal(p.bank, "right");
    /* on the second segment the measure adds the first segment's length */
    double seg1 = cr_geodesic_m(120.42, 31.00, 120.47, 31.00);
    cr_join_point_compute(g_ref, 120.525, 31.010, 300, NULL, NULL, &p);
    assert_string_equal(p.reach_id, "R1");
    assert_true(p.measure_m > seg1);
    /* brute force: the nearest of 10,000 points along the segment, by geodesic distance */
    double best = INFINITY;
    double best_measure = 0;
    for (int i = 0; i <= 10000; i++) {
        double t = i / 10000.0;
        double lon = 120.47 + t * 0.11;
        double lat = 31.00 + t * 0.02;
        double d = cr_geodesic_m(120.525, 31.010, lon, lat);
        if (d < best) {
            best = d;
            best_measure = seg1 + cr_geodesic_m(120.47, 31.00, lon, lat);
        }
    }
    near(p.offset_m, best, 0.005, "offset on a slanted segment");
    near(p.measure_m, best_measure, 0.005, "measure on a slanted segment");
    /* too far: unmatched, with the distance to the nearest reach */
    cr_join_point_compute(g_ref, 120.44, 31.03, 200, NULL, NULL, &p);
    assert_string_equal(p.reach_id, "");
    assert_non_null(strstr(p.flags, "unmatched"));
    near(p.reach_distance_m, cr_geodesic_m(120.44, 31.03, 120.45, 31.03), 0.005,
         "distance to the nearest reach (R2)");
}

static void test_county_town_boundary_and_across(void **state)
{
    (void)state;
    cr_join_point p;
    cr_join_point_compute(g_ref, 120.49, 31.05, 200, NULL, NULL, &p);
    assert_string_equal(p.county_code, "100001");
    near(p.boundary_distance_m, cr_geodesic_m(120.49, 31.05, 120.50, 31.05), 0.005,
         "distance to the shared edge");
    assert_string_equal(p.boundary_across, "200001");
    /* nearer the outer edge (nothing loaded across it) */
    cr_join_point_compute(g_ref, 120.405, 30.95, 200, NULL, NULL, &p);
    near(p.boundary_distance_m, cr_geodesic_m(120.405, 30.95, 120.40, 30.95), 0.005,
         "distance to the outer edge");
    assert_string_equal(p.boundary_across, "");
    /* in the hole of 甲县: the island county, whose whole edge is shared with 甲县 */
    cr_join_point_compute(g_ref, 120.43, 31.07, 200, NULL, NULL, &p);
    assert_string_equal(p.county_code, "100002");
    assert_string_equal(p.boundary_across, "100001");
    near(p.boundary_distance_m, cr_geodesic_m(120.43, 31.07, 120.42, 31.07), 0.005,
         "distance to the island's edge");
    /* exactly on the shared edge: both contain it; the lower code wins, and it is flagged */
    cr_join_point_compute(g_ref, 120.50, 31.05, 200, NULL, NULL, &p);
    assert_string_equal(p.county_code, "100001");
    assert_non_null(strstr(p.flags, "on_boundary"));
    /* outside everything */
    cr_join_point_compute(g_ref, 120.70, 31.05, 200, NULL, NULL, &p);
    assert_string_equal(p.county_code, "");
    assert_non_null(strstr(p.flags, "outside_jurisdictions"));
}

static void test_strictest_zone_and_review_flags(void **state)
{
    (void)state;
    cr_join_point p;
    cr_join_point_compute(g_ref, 120.48, 31.00, 200, "东流河", "甲县", &p);
    assert_string_equal(p.zone_id, "Z1");
    assert_string_equal(p.zone_grade, "1");
    assert_string_equal(p.flags, "");
    cr_join_point_compute(g_ref, 120.52, 31.00, 500, "东流河", NULL, &p);
    assert_string_equal(p.zone_id, "Z2");
    assert_string_equal(p.zone_grade, "2");
    /* the record names 北支, the point lands on 东流河 (the slanted segment is to the north) */
    cr_join_point_compute(g_ref, 120.46, 31.0005, 200, "北支", NULL, &p);
    assert_string_equal(p.reach_id, "R1");
    assert_non_null(strstr(p.flags, "river_mismatch"));
    /* about 500 m from its named river and nowhere else near: the GCJ-02 offset's size */
    cr_join_point_compute(g_ref, 120.4552, 31.07, 200, "北支", NULL, &p);
    assert_string_equal(p.reach_id, "");
    assert_non_null(strstr(p.flags, "gcj02_shift_suspect"));
    /* the record claims 乙县 (province 200000) but the point is in 甲县 (province 100000) */
    cr_join_point_compute(g_ref, 120.44, 31.0005, 200, NULL, "乙县", &p);
    assert_non_null(strstr(p.flags, "province_mismatch"));
}

static void test_layers_store_results_and_zone_coverage(void **state)
{
    (void)state;
    test_store_ingest(g_t, "outfalls", "o.csv",
                      "排污口编码,排污口名称,排污口类型,受纳水体,所属区县,经度,纬度\n"
                      "O1,甲,工业,东流河,甲县,120.48,31.0025\n"
                      "O2,乙,工业,东流河,乙县,120.55,31.0105\n",
                      NULL);
    cr_join_stats s;
    cr_error e = {0};
    assert_int_equal(
        cr_join_layer(g_t->store, g_ref, cr_layer_set_find(g_t->set, "outfalls"), &s, &e), CR_OK);
    assert_int_equal(s.features, 2);
    assert_int_equal(s.matched, 2);
    assert_int_equal(test_store_count(g_t,
                                      "SELECT count(*) FROM outfalls_current WHERE"
                                      " source_id='O1' AND reach_id='R1' AND bank='left'"
                                      " AND zone_grade='1' AND county_code='100001' AND"
                                      " boundary_across_code='200001' AND join_flags IS"
                                      " NULL AND measure_m > 5000 AND offset_m BETWEEN 60 AND 100"),
                     1);
    assert_int_equal(test_store_count(g_t, "SELECT count(*) FROM outfalls_current WHERE"
                                           " source_id='O2' AND county_code='200001'"),
                     1);
    assert_int_equal(
        cr_join_layer(g_t->store, g_ref, cr_layer_set_find(g_t->set, "protection_zones"), &s, &e),
        CR_OK);
    char covered[128];
    test_store_text(g_t,
                    "SELECT covered_reaches || ' ' || spans_codes FROM"
                    " protection_zones_current WHERE source_id='Z2'",
                    covered, sizeof covered);
    assert_string_equal(covered, "[\"R1\"] [\"100001\",\"200001\"]");
    test_store_text(g_t,
                    "SELECT covered_reaches || ' ' || spans_codes FROM"
                    " protection_zones_current WHERE source_id='Z1'",
                    covered, sizeof covered);
    assert_string_equal(covered, "[\"R1\"] [\"100001\"]");
}

/* by_reach minus what it should list (the derived rows with a reach of the layer's versions),
 * and the other way round: both empty when it is right. */
static int64_t by_reach_wrong(test_store *t)
{
    return test_store_count(t, "SELECT count(*) FROM (SELECT reach_id, fid FROM outfalls_by_reach"
                               " EXCEPT SELECT x.reach_id, x.fid FROM outfalls_derived x JOIN"
                               " outfalls l ON l.fid = x.fid WHERE x.reach_id IS NOT NULL)") +
           test_store_count(t, "SELECT count(*) FROM (SELECT x.reach_id, x.fid FROM"
                               " outfalls_derived x JOIN outfalls l ON l.fid = x.fid WHERE"
                               " x.reach_id IS NOT NULL EXCEPT SELECT reach_id, fid FROM"
                               " outfalls_by_reach)");
}

static void join_outfalls(test_store *t)
{
    cr_join_ref *ref = NULL;
    cr_join_stats s;
    cr_error e = {0};
    assert_int_equal(cr_join_ref_load(t->store, &ref, &e), CR_OK);
    assert_int_equal(cr_join_layer(t->store, ref, cr_layer_set_find(t->set, "outfalls"), &s, &e),
                     CR_OK);
    cr_join_ref_free(ref);
}

/* The layer's rows by reach: every version's (a closed one keeps the reach it had), a point
 * moved to another reach listed under its new one, and made from the derived rows when a store
 * from before it (an index on the derived table instead) is opened. */
static void test_rows_by_reach_keep_every_version(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    test_store_ingest(t, "admin_units", "admin.geojson", ADMIN, NULL);
    test_store_ingest(t, "reaches", "reaches.geojson", REACHES, NULL);
    const char *header = "排污口编码,排污口名称,排污口类型,受纳水体,所属区县,经度,纬度\n";
    char csv[512];
    snprintf(csv, sizeof csv,
             "%sP1,甲,工业,东流河,甲县,120.48,31.0025\n"
             "P2,乙,工业,东流河,甲县,120.43,31.0010\n"
             "P3,丙,工业,北支,甲县,120.4505,31.05\n"
             "P4,丁,工业,,甲县,120.41,30.93\n",
             header);
    test_store_ingest(t, "outfalls", "v1.csv", csv, NULL);
    join_outfalls(t);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_by_reach"), 3);
    assert_int_equal(by_reach_wrong(t), 0);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_by_reach b JOIN"
                                         " outfalls l ON l.fid = b.fid WHERE"
                                         " b.reach_id = 'R2' AND l.source_id = 'P3'"),
                     1);
    /* P1 moves next to the north branch: its old version closes, keeping R1 */
    snprintf(csv, sizeof csv, "%sP1,甲,工业,北支,甲县,120.4505,31.07\n", header);
    test_store_ingest(t, "outfalls", "v2.csv", csv, NULL);
    join_outfalls(t);
    assert_int_equal(by_reach_wrong(t), 0);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_by_reach"), 4);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_by_reach b JOIN"
                                         " outfalls l ON l.fid = b.fid WHERE l.source_id = 'P1'"
                                         " AND ((b.reach_id = 'R1' AND l.valid_to IS NOT NULL) OR"
                                         " (b.reach_id = 'R2' AND l.valid_to IS NULL))"),
                     2);
    /* a store from before: the index on the derived table, no list */
    assert_int_equal(sqlite3_exec(cr_store_db(t->store),
                                  "DROP TABLE outfalls_by_reach; CREATE INDEX"
                                  " outfalls_derived_reach ON outfalls_derived(reach_id)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    cr_store_close(t->store);
    cr_error e = {0};
    assert_int_equal(cr_store_open(t->store_path, t->set, &t->store, &e), CR_OK);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_by_reach"), 4);
    assert_int_equal(by_reach_wrong(t), 0);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM sqlite_master WHERE"
                                         " name = 'outfalls_derived_reach'"),
                     0);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank_measure_and_offset_agree_with_geodesics),
        cmocka_unit_test(test_county_town_boundary_and_across),
        cmocka_unit_test(test_strictest_zone_and_review_flags),
        cmocka_unit_test(test_layers_store_results_and_zone_coverage),
        cmocka_unit_test(test_rows_by_reach_keep_every_version),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
