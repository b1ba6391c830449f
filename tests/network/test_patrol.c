/* SPDX-License-Identifier: MIT */
/* Patrol routes on hand-built networks with a known order and length: one river in flow
 * order, a river and a spur (a dead end patrolled and come back from), from and to points
 * against the flow, and what is refused. */
#include "geo/geo.h"
#include "ops/ops.h"
#include "test_common.h"
#include "test_store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* At 31°N, 0.01° of longitude is about 954 m. Junctions: J1 (120.01, 31), J2 (120.02, 31). */
static const char *REACHES =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"A1\",\"name\":\"甲河\","
    "\"reach_class\":\"干流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.00,31.0],[120.005,31.0],[120.01,31.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"A2\",\"name\":\"甲河\","
    "\"reach_class\":\"干流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.01,31.0],[120.02,31.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"A3\",\"name\":\"甲河\","
    "\"reach_class\":\"干流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.02,31.0],[120.03,31.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"B1\",\"name\":\"乙河\","
    "\"reach_class\":\"支流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.01,31.01],[120.01,31.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"C1\",\"name\":\"丙湖连通河\","
    "\"reach_class\":\"支流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[120.02,30.99],[120.02,31.0]]}}]}";

static test_store *g_t;
static cr_graph *g_g;

static int setup(void **state)
{
    (void)state;
    g_t = test_store_new();
    test_store_ingest(g_t, "reaches", "reaches.geojson", REACHES, NULL);
    cr_network_options o = {5.0, 50.0, 0};
    cr_network_report rep;
    cr_error e = {0};
    assert_int_equal(cr_network_build(g_t->store, &o, &rep, &e), CR_OK);
    cr_network_report_cleanup(&rep);
    assert_int_equal(cr_graph_load(g_t->store, &g_g, &e), CR_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_graph_free(g_g);
    test_store_free(g_t);
    return 0;
}

/* Length of a reach's own geometry (the hand-built coordinates), km. */
static double km_of(const char *id)
{
    static const struct {
        const char *id;
        double c[6];
        int n;
    } geo[] = {{"A1", {120.00, 31.0, 120.005, 31.0, 120.01, 31.0}, 3},
               {"A2", {120.01, 31.0, 120.02, 31.0}, 2},
               {"A3", {120.02, 31.0, 120.03, 31.0}, 2},
               {"B1", {120.01, 31.01, 120.01, 31.0}, 2},
               {"C1", {120.02, 30.99, 120.02, 31.0}, 2}};
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++) {
        if (strcmp(geo[i].id, id) == 0) {
            double m = 0;
            for (int k = 1; k < geo[i].n; k++) {
                m += cr_geodesic_m(geo[i].c[2 * k - 2], geo[i].c[2 * k - 1], geo[i].c[2 * k],
                                   geo[i].c[2 * k + 1]);
            }
            return m / 1000.0;
        }
    }
    fail_msg("no reach %s", id);
    return 0;
}

/* Plan and compare the route with "ID" / "-ID" (walked against its digitised direction). */
static json_t *expect_route(const cr_patrol_request *req, const char *const *want, size_t n)
{
    json_t *plan = NULL;
    cr_error e = {0};
    if (cr_patrol_plan(g_t->store, g_g, req, &plan, &e) != CR_OK) {
        fail_msg("patrol: %s", e.msg);
    }
    json_t *reaches = json_object_get(json_object_get(plan, "route"), "reaches");
    assert_int_equal(json_array_size(reaches), n);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(reaches, i);
        char got[32];
        snprintf(got, sizeof got, "%s%s", json_is_true(json_object_get(r, "reversed")) ? "-" : "",
                 json_string_value(json_object_get(r, "reach_id")));
        if (strcmp(got, want[i]) != 0) {
            fail_msg("step %zu: %s, wanted %s", i, got, want[i]);
        }
        double from = json_real_value(json_object_get(r, "from_km"));
        double to = json_real_value(json_object_get(r, "to_km"));
        assert_true(fabs(from - total) < 0.002); /* contiguous */
        double len = km_of(got[0] == '-' ? got + 1 : got);
        if (fabs((to - from) - len) > 0.002) {
            fail_msg("step %s: %.4f km, its geometry %.4f km", got, to - from, len);
        }
        total = to;
    }
    assert_true(fabs(json_real_value(json_object_get(plan, "length_km")) - total) < 0.002);
    /* one leg (no counties loaded), covering the whole route */
    json_t *legs = json_object_get(plan, "legs");
    assert_int_equal(json_array_size(legs), 1);
    assert_true(fabs(json_real_value(json_object_get(json_array_get(legs, 0), "to_km")) - total) <
                0.002);
    return plan;
}

/* One river: its reaches in flow order from its source; time = length / 10 km/h by boat. */
static void test_one_river_in_flow_order(void **state)
{
    (void)state;
    cr_patrol_request req = {.rivers = "甲河", .date = "2025-10-31", .dwell_min = -1};
    const char *want[] = {"A1", "A2", "A3"};
    json_t *plan = expect_route(&req, want, 3);
    double len = km_of("A1") + km_of("A2") + km_of("A3");
    assert_true(fabs(json_real_value(json_object_get(plan, "length_km")) - len) < 0.002);
    assert_true(fabs(json_real_value(json_object_get(plan, "travel_h")) - len / 10.0) < 0.001);
    assert_int_equal(json_integer_value(json_object_get(plan, "unreachable_reaches")), 0);
    json_decref(plan);
    req.on_foot = 1;
    plan = expect_route(&req, want, 3);
    assert_true(fabs(json_real_value(json_object_get(plan, "travel_h")) - len / 4.0) < 0.001);
    json_decref(plan);
}

/* A river and a spur: the spur's dead end is patrolled and the route comes back. The start is
 * the source from which the flow passes the most selected reaches (A1's, not C1's); at J2 the
 * smaller ID goes first (A3), then back along A3 to C1, walked against its flow. */
static void test_river_and_spur(void **state)
{
    (void)state;
    cr_patrol_request req = {.rivers = "甲河,丙湖", .date = "2025-10-31", .dwell_min = -1};
    const char *want[] = {"A1", "A2", "A3", "-A3", "-C1"};
    json_t *plan = expect_route(&req, want, 5);
    json_decref(plan);
}

/* From the mouth against the flow to a point on another river: A2 is reached through A3, and
 * the route goes on to B1's far end. */
static void test_from_and_to_points(void **state)
{
    (void)state;
    cr_patrol_request req = {.reaches = "A2",
                             .date = "2025-10-31",
                             .dwell_min = -1,
                             .has_from = 1,
                             .from = {120.0301, 31.0001},
                             .has_to = 1,
                             .to = {120.0101, 31.0099}};
    const char *want[] = {"-A3", "-A2", "-B1"};
    json_t *plan = expect_route(&req, want, 3);
    json_decref(plan);
}

static void test_refusals(void **state)
{
    (void)state;
    json_t *plan = NULL;
    cr_error e = {0};
    cr_patrol_request req = {.rivers = "不存在的河", .dwell_min = -1};
    assert_int_equal(cr_patrol_plan(g_t->store, g_g, &req, &plan, &e), CR_ENOTFOUND);
    assert_non_null(strstr(e.msg, "不存在的河"));
    cr_patrol_request far = {.rivers = "甲河", .dwell_min = -1, .has_from = 1, .from = {121, 31}};
    assert_int_equal(cr_patrol_plan(g_t->store, g_g, &far, &plan, &e), CR_ENOTFOUND);
    assert_non_null(strstr(e.msg, "2 km"));
}

/* A point on a long reach, far from both its ends, starts the patrol at the nearer end; a point
 * far from every reach is refused with where it is. */
static void test_point_on_a_long_reach(void **state)
{
    (void)state;
    /* 丁河: D1 about 9.5 km east along 31°N, then D2 */
    static const char *LONG =
        "{\"type\":\"FeatureCollection\",\"features\":["
        "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"D1\",\"name\":\"丁河\","
        "\"reach_class\":\"干流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
        "\"coordinates\":[[120.10,31.0],[120.20,31.0]]}},"
        "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"D2\",\"name\":\"丁河\","
        "\"reach_class\":\"干流\",\"flow\":\"单向\"},\"geometry\":{\"type\":\"LineString\","
        "\"coordinates\":[[120.20,31.0],[120.21,31.0]]}}]}";
    test_store *t = test_store_new();
    test_store_ingest(t, "reaches", "long.geojson", LONG, NULL);
    cr_network_options o = {5.0, 50.0, 0};
    cr_network_report rep;
    cr_error e = {0};
    assert_int_equal(cr_network_build(t->store, &o, &rep, &e), CR_OK);
    cr_network_report_cleanup(&rep);
    cr_graph *g = NULL;
    assert_int_equal(cr_graph_load(t->store, &g, &e), CR_OK);
    /* 2.9 km from the nearest node (120.20), 110 m from D1, 70 % along it */
    cr_patrol_request req = {.rivers = "丁河",
                             .date = "2025-10-31",
                             .dwell_min = -1,
                             .has_from = 1,
                             .from = {120.17, 31.001}};
    json_t *plan = NULL;
    if (cr_patrol_plan(t->store, g, &req, &plan, &e) != CR_OK) {
        fail_msg("%s", e.msg);
    }
    const json_t *first =
        json_array_get(json_object_get(json_object_get(plan, "route"), "coordinates"), 0);
    assert_float_equal(json_number_value(json_array_get(first, 0)), 120.20, 1e-6);
    assert_float_equal(json_number_value(json_array_get(first, 1)), 31.0, 1e-6);
    json_decref(plan);
    cr_patrol_request far = {
        .rivers = "丁河", .dwell_min = -1, .has_from = 1, .from = {120.15, 31.03}};
    assert_int_equal(cr_patrol_plan(t->store, g, &far, &plan, &e), CR_ENOTFOUND);
    assert_non_null(strstr(e.msg, "from: 120.150000,31.030000 is more than 2 km from every reach"));
    cr_graph_free(g);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_river_in_flow_order), cmocka_unit_test(test_river_and_spur),
        cmocka_unit_test(test_from_and_to_points),      cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_point_on_a_long_reach),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
