/* SPDX-License-Identifier: MIT */
/* Issue 17, network fidelity, through the request people make (cr_api_trace_parse and
 * cr_api_trace): one parser with one set of messages, zero bounds honoured, the start reach
 * excluded on request, and distances measured from either end of the start reach. */
#include "api/api.h"
#include "etl/join.h"
#include "test_common.h"
#include "test_store.h"
#include "tile_check.h"
#include "tiler/tile.h"

#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <string.h>

/* A → B → C east along 31°N, 0.01° each (about 953 m). */
static const char LINE[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"A\",\"name\":\"河\",\"reach_class\":"
    "\"支流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
    "[[120.50,31.0],[120.51,31.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"B\",\"name\":\"河\",\"reach_class\":"
    "\"支流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
    "[[120.51,31.0],[120.52,31.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"C\",\"name\":\"河\",\"reach_class\":"
    "\"支流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
    "[[120.52,31.0],[120.53,31.0]]}}]}";

typedef struct {
    test_store *t;
    cr_graph *g;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->t = test_store_new();
    test_store_ingest(f->t, "reaches", "line.geojson", LINE, NULL);
    cr_network_options o = {5.0, 50.0, 0};
    cr_network_report rep;
    cr_error e = {0};
    assert_int_equal(cr_network_build(f->t->store, &o, &rep, &e), CR_OK);
    cr_network_report_cleanup(&rep);
    assert_int_equal(cr_graph_load(f->t->store, &f->g, &e), CR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_graph_free(f->g);
    test_store_free(f->t);
    free(f);
    return 0;
}

/* Parse the query-string-like text "k=v&k=v" (HTTP names) and run it; NULL on a bad request,
 * with the message in err. */
static json_t *run(fixture *f, const char *query, int cli, cr_error *err)
{
    json_t *params = json_object();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", query);
    for (char *kv = strtok(buf, "&"); kv; kv = strtok(NULL, "&")) {
        char *eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        json_object_set_new(params, kv, json_string(eq + 1));
    }
    cr_trace_request req;
    json_t *out = NULL;
    memset(err, 0, sizeof *err);
    cr_trace_context cx = {f->t->store, f->g, NULL, NULL};
    if (cr_api_trace_parse(params, cli, &req, err) == CR_OK &&
        cr_api_trace(&cx, &req, &out, err) != CR_OK) {
        out = NULL;
    }
    json_decref(params);
    return out;
}

static double reach_km(const json_t *report, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(report, "reaches"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "reach_id")), id) == 0) {
            return json_number_value(json_object_get(r, "distance_km"));
        }
    }
    return NAN;
}

static void test_one_parser_one_set_of_messages(void **state)
{
    fixture *f = *state;
    cr_error e;
    assert_null(run(f, "reach=A&direction=sideways", 0, &e));
    assert_string_equal(e.msg, "direction: up or down, not 'sideways'");
    assert_null(run(f, "reach=A&direction=sideways", 1, &e));
    assert_string_equal(e.msg, "--direction: up or down, not 'sideways'");
    assert_null(run(f, "reach=A&direction=down&max_km=-1", 0, &e));
    assert_string_equal(e.msg, "max_km: '-1' is not a number in [0, 100000]");
    assert_null(run(f, "reach=A&direction=down&max_km=-1", 1, &e));
    assert_string_equal(e.msg, "--max-km: '-1' is not a number in [0, 100000]");
    assert_null(run(f, "reach=A&direction=down&frobnicate=1", 0, &e));
    assert_string_equal(e.msg, "unknown parameter 'frobnicate' (see docs/http-api.md)");
    assert_null(run(f, "reach=A&feature=outfalls:X&direction=down", 0, &e));
    assert_string_equal(e.msg, "give exactly one of reach, feature, at");
    assert_null(run(f, "reach=A", 0, &e));
    assert_string_equal(e.msg, "direction: up or down is required");
    assert_null(run(f, "reach=A&direction=up&spill_kg=5", 0, &e));
    assert_string_equal(e.msg, "a spill estimate goes downstream (direction down)");
    assert_null(run(f, "at=120.5,31&direction=up&origin=inlet", 0, &e));
    assert_string_equal(e.msg, "origin inlet|outlet measures from an end of the start reach: give "
                               "reach");
    /* an evidence case's trace object: JSON numbers and an at array */
    json_t *c =
        json_pack("{s:[f,f], s:s, s:f}", "at", 120.505, 31.0, "direction", "down", "max_km", 2.5);
    cr_trace_request req;
    assert_int_equal(cr_api_trace_parse(c, 0, &req, &e), CR_OK);
    assert_true(req.at && req.has_max_km && req.max_km == 2.5 && req.direction == CR_TRACE_DOWN);
    json_decref(c);
}

static void test_zero_bounds_and_the_start_reach(void **state)
{
    fixture *f = *state;
    cr_error e;
    json_t *zero = run(f, "reach=A&direction=down&max_km=0", 0, &e);
    assert_non_null(zero);
    assert_int_equal(json_array_size(json_object_get(zero, "reaches")), 1);
    assert_true(json_number_value(json_object_get(zero, "max_km")) == 0);
    json_t *hours = run(f, "reach=C&direction=up&max_hours=0", 0, &e);
    assert_int_equal(json_array_size(json_object_get(hours, "reaches")), 1);
    json_t *all = run(f, "reach=A&direction=down", 0, &e);
    assert_int_equal(json_array_size(json_object_get(all, "reaches")), 3);
    assert_true(json_is_null(json_object_get(all, "max_km")));
    json_t *beyond = run(f, "reach=A&direction=down&exclude_start=1", 0, &e);
    assert_int_equal(json_array_size(json_object_get(beyond, "reaches")), 2);
    assert_true(isnan(reach_km(beyond, "A")));
    json_decref(zero);
    json_decref(hours);
    json_decref(all);
    json_decref(beyond);
}

/* Upstream from C: from its outlet (the default) B starts one reach length away; from its
 * inlet (as common toolkits count) at 0, and the bound counts from there. */
static void test_origin_outlet_or_inlet(void **state)
{
    fixture *f = *state;
    double len_km = f->g->length_m[cr_graph_find_reach(f->g, "C")] / 1000.0; /* reports: metres */
    cr_error e;
    json_t *outlet = run(f, "reach=C&direction=up", 0, &e);
    json_t *inlet = run(f, "reach=C&direction=up&origin=inlet", 0, &e);
    assert_non_null(inlet);
    assert_true(fabs(reach_km(outlet, "B") - len_km) < 1e-3);
    assert_true(fabs(reach_km(inlet, "B")) < 1e-3);
    assert_true(fabs(reach_km(inlet, "C") + len_km) < 1e-3); /* below the origin */
    assert_string_equal(json_string_value(json_object_get(inlet, "origin")), "inlet");
    /* max_km from the inlet: B in full (one reach), A not */
    char q[128];
    snprintf(q, sizeof q, "reach=C&direction=up&origin=inlet&max_km=%.6f", len_km * 0.999);
    json_t *bounded = run(f, q, 0, &e);
    assert_false(isnan(reach_km(bounded, "B")));
    assert_true(isnan(reach_km(bounded, "A")));
    /* downstream from A's outlet: B at 0 */
    json_t *down = run(f, "reach=A&direction=down&origin=outlet", 0, &e);
    assert_true(fabs(reach_km(down, "B")) < 1e-3);
    json_decref(outlet);
    json_decref(inlet);
    json_decref(bounded);
    json_decref(down);
}

/* A store of reaches given as "ID|name|extra properties|coordinates" lines, built with the
 * topology mode given. */
typedef struct {
    const char *id, *name, *props, *coords;
} reach_spec;

static void build_reaches(test_store *t, const reach_spec *r, size_t n, int from_attributes,
                          cr_network_report *rep)
{
    cr_strbuf sb = {0};
    cr_strbuf_puts(&sb, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; i < n; i++) {
        cr_strbuf_printf(&sb,
                         "%s{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"%s\","
                         "\"name\":\"%s\",\"reach_class\":\"支流\",\"flow\":\"顺流\"%s%s},"
                         "\"geometry\":{\"type\":\"LineString\",\"coordinates\":%s}}",
                         i ? "," : "", r[i].id, r[i].name, r[i].props[0] ? "," : "", r[i].props,
                         r[i].coords);
    }
    cr_strbuf_puts(&sb, "]}");
    test_store_ingest(t, "reaches", "reaches.geojson", sb.data, NULL);
    cr_strbuf_cleanup(&sb);
    cr_network_options o = {5.0, 50.0, from_attributes};
    cr_error e = {0};
    assert_int_equal(cr_network_build(t->store, &o, rep, &e), CR_OK);
}

/* The data's from/to nodes decide, and where the geometry disagrees it is said. */
static void test_attribute_topology_disagreeing_with_geometry(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"P1", "河", "\"from_node_id\":\"n1\",\"to_node_id\":\"n2\"",
         "[[120.50,31.00],[120.52,31.00]]"},
        /* starts about 190 m east of P1's end, but the attributes join them at n2 */
        {"P2", "河", "\"from_node_id\":\"n2\",\"to_node_id\":\"n3\"",
         "[[120.522,31.00],[120.54,31.00]]"},
        /* touches P1's end, but its attributes put it elsewhere */
        {"Q", "沟", "\"from_node_id\":\"n8\",\"to_node_id\":\"n9\"",
         "[[120.52,31.00],[120.52,30.98]]"},
    };
    cr_network_report rep;
    build_reaches(t, r, 3, 1, &rep);
    assert_int_equal(test_store_reach_int(t, "P1", "to_node"),
                     test_store_reach_int(t, "P2", "from_node"));
    assert_int_not_equal(test_store_reach_int(t, "P1", "to_node"),
                         test_store_reach_int(t, "Q", "from_node"));
    assert_true(test_network_has_issue(
        &rep, "topology_mismatch",
        "the attributes join the downstream end of reach P1 and the upstream "
        "end of reach P2, 191 m apart"));
    assert_true(test_network_has_issue(&rep, "topology_mismatch",
                                       "touches the downstream end of reach P1, "
                                       "but the attributes do not connect them"));
    cr_network_report_cleanup(&rep);
    /* geometry alone snaps Q to P1 and leaves P2 apart */
    cr_network_options geo = {5.0, 50.0, 0};
    cr_error e = {0};
    assert_int_equal(cr_network_build(t->store, &geo, &rep, &e), CR_OK);
    assert_int_equal(test_store_reach_int(t, "P1", "to_node"),
                     test_store_reach_int(t, "Q", "from_node"));
    assert_int_not_equal(test_store_reach_int(t, "P1", "to_node"),
                         test_store_reach_int(t, "P2", "from_node"));
    cr_network_report_cleanup(&rep);
    test_store_free(t);
}

/* HydroRIVERS-style NEXT_DOWN: a reach flows into the one it names; 0 is an outlet. */
static void test_next_down_network(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"R1", "河", "\"next_down_id\":\"R2\"", "[[120.50,31.00],[120.51,31.00]]"},
        {"R2", "河", "\"next_down_id\":\"0\"", "[[120.5102,31.00],[120.52,31.00]]"},
        {"R3", "支", "\"next_down_id\":\"R2\"", "[[120.50,31.01],[120.5101,31.0001]]"},
    };
    cr_network_report rep;
    build_reaches(t, r, 3, 1, &rep);
    assert_int_equal(test_store_reach_int(t, "R1", "to_node"),
                     test_store_reach_int(t, "R2", "from_node"));
    assert_int_equal(test_store_reach_int(t, "R3", "to_node"),
                     test_store_reach_int(t, "R2", "from_node"));
    assert_false(test_network_has_issue(&rep, "topology", "R2"));
    cr_network_report_cleanup(&rep);
    test_store_free(t);
}

/* A level path keeps its mainstem across a change of name; a minor path at a split is taken by
 * --mode all only. */
static void test_level_path_across_names_and_a_diversion(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    const reach_spec r[] = {
        {"L1", "甲河", "\"levelpath_id\":\"7\"", "[[120.50,31.00],[120.52,31.00]]"},
        /* the same river renamed below the confluence */
        {"L2", "乙河", "\"levelpath_id\":\"7\"", "[[120.52,31.00],[120.54,31.00]]"},
        /* a longer tributary that happens to bear the lower name */
        {"T", "乙河", "\"levelpath_id\":\"9\"", "[[120.52,30.90],[120.52,31.00]]"},
        /* below L2 the water splits: the main path and a minor diversion */
        {"Dm", "乙河", "\"levelpath_id\":\"7\",\"divergence\":\"1\"",
         "[[120.54,31.00],[120.56,31.00]]"},
        {"Dx", "引河", "\"levelpath_id\":\"11\",\"divergence\":\"2\"",
         "[[120.54,31.00],[120.55,30.99]]"},
    };
    cr_network_report rep;
    build_reaches(t, r, 5, 0, &rep);
    cr_network_report_cleanup(&rep);
    fixture f = {t, NULL};
    cr_error e = {0};
    assert_int_equal(cr_graph_load(t->store, &f.g, &e), CR_OK);
    json_t *up = run(&f, "reach=L2&direction=up&mode=main", 0, &e);
    assert_false(isnan(reach_km(up, "L1")));
    assert_true(isnan(reach_km(up, "T"))); /* the name rule alone would take T */
    json_t *main_down = run(&f, "reach=L1&direction=down&mode=main", 0, &e);
    assert_false(isnan(reach_km(main_down, "Dm")));
    assert_true(isnan(reach_km(main_down, "Dx")));
    json_t *all_down = run(&f, "reach=L1&direction=down", 0, &e);
    assert_false(isnan(reach_km(all_down, "Dx")));
    json_decref(up);
    json_decref(main_down);
    json_decref(all_down);
    cr_graph_free(f.g);
    test_store_free(t);
}

/* ---- 5. upstream accumulation ------------------------------------------------------- */

static double total_of(test_store *t, const char *field, const char *reach)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT value * 1000 FROM reach_accumulations a JOIN reaches_current"
             " r ON r.fid = a.reach_fid WHERE a.field = '%s' AND r.source_id = '%s'), -1)",
             field, reach);
    return (double)test_store_count(t, sql) / 1000.0; /* exact to 1e-3 for these sums */
}

static void accumulate(test_store *t, const char *field, cr_split_rule split, const char *fraction,
                       cr_accumulate_report *rep)
{
    cr_graph *g = NULL;
    cr_error e = {0};
    assert_int_equal(cr_graph_load(t->store, &g, &e), CR_OK);
    cr_accumulate_options o = {field, split, fraction};
    double *v = NULL;
    if (cr_network_accumulate(t->store, g, &o, &v, rep, &e) != CR_OK) {
        fail_msg("%s", e.msg);
    }
    free(v);
    cr_graph_free(g);
}

/* A binary tree three levels deep (15 reaches), 1 m³/s on each: every reach carries the
 * reaches of its subtree, 2^(levels below + 1) − 1 — the closed form. */
static void test_dendritic_tree_closed_form(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    cr_strbuf sb = {0};
    cr_strbuf_puts(&sb, "{\"type\":\"FeatureCollection\",\"features\":[");
    /* node k (1-based heap numbering) sits at depth d = floor(log2 k); reach k runs from node
     * k to its parent k/2 (node 0 is the outlet below the root) */
    for (int k = 1; k <= 15; k++) {
        int d = 0;
        while ((2 << d) <= k) {
            d++;
        }
        int parent = k / 2;
        int pd = parent ? (int)floor(log2(parent)) : -1;
        double x = 120.5 + ((k - (1 << d)) + 0.5) / (1 << d) * 0.2, y = 31.0 + 0.02 * (d + 1);
        double px = parent ? 120.5 + ((parent - (1 << pd)) + 0.5) / (1 << pd) * 0.2 : 120.6;
        double py = 31.0 + 0.02 * (pd + 1);
        cr_strbuf_printf(&sb,
                         "%s{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"K%02d\","
                         "\"name\":\"树%d\",\"reach_class\":\"支流\",\"flow\":\"顺流\","
                         "\"discharge_m3s\":1},\"geometry\":{\"type\":\"LineString\","
                         "\"coordinates\":[[%.6f,%.6f],[%.6f,%.6f]]}}",
                         k > 1 ? "," : "", k, k, x, y, px, py);
    }
    cr_strbuf_puts(&sb, "]}");
    test_store_ingest(t, "reaches", "tree.geojson", sb.data, NULL);
    cr_strbuf_cleanup(&sb);
    cr_network_options o = {5.0, 50.0, 0};
    cr_network_report rep;
    cr_error e = {0};
    assert_int_equal(cr_network_build(t->store, &o, &rep, &e), CR_OK);
    cr_network_report_cleanup(&rep);
    cr_accumulate_report ar;
    accumulate(t, "discharge_m3s", CR_SPLIT_MAIN, NULL, &ar);
    for (int k = 1; k <= 15; k++) {
        int d = (int)floor(log2(k));
        char id[8];
        snprintf(id, sizeof id, "K%02d", k);
        assert_true(fabs(total_of(t, "discharge_m3s", id) - ((1 << (4 - d)) - 1)) < 1e-9);
    }
    assert_true(fabs(ar.at_outlets - 15) < 1e-9);
    assert_int_equal(ar.in_cycles, 0);
    test_store_free(t);
}

/* A braid, a diversion leaving the network and a lake: the split rules, and the totals. */
static void test_braid_diversion_and_lake(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    static const char lakes[] =
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
        "{\"lake_id\":\"LK\",\"name\":\"湖\"},\"geometry\":{\"type\":\"Polygon\","
        "\"coordinates\":[[[120.60,30.99],[120.62,30.99],[120.62,31.01],[120.60,31.01],"
        "[120.60,30.99]]]}}]}";
    test_store_ingest(t, "lakes", "lakes.geojson", lakes, NULL);
    /* A splits into B1 and B2 (a minor path), which meet again, and X, a minor diversion out
     * of the network; C flows on into the lake, I2 also; O leaves the lake. */
    const reach_spec r[] = {
        {"A", "干", "\"discharge_m3s\":10", "[[120.50,31.00],[120.52,31.00]]"},
        {"B1", "干", "\"discharge_m3s\":1,\"width_m\":30,\"divergence\":\"1\"",
         "[[120.52,31.00],[120.535,31.005],[120.55,31.00]]"},
        {"B2", "汊", "\"discharge_m3s\":2,\"width_m\":70,\"divergence\":\"2\"",
         "[[120.52,31.00],[120.535,30.995],[120.55,31.00]]"},
        {"C", "干", "\"discharge_m3s\":0", "[[120.55,31.00],[120.605,31.00]]"},
        /* a diversion leaving the network from A's end to an outlet of its own */
        {"X", "引", "\"discharge_m3s\":0.5,\"width_m\":0,\"divergence\":\"2\"",
         "[[120.52,31.00],[120.53,30.97]]"},
        {"I2", "入", "\"discharge_m3s\":3", "[[120.61,30.95],[120.61,30.995]]"},
        {"O", "出", "\"discharge_m3s\":1", "[[120.615,31.005],[120.66,31.00]]"},
    };
    cr_network_report rep;
    build_reaches(t, r, 7, 0, &rep);
    cr_network_report_cleanup(&rep);
    /* before any total is computed the tiles leave the total out (and read no totals) ... */
    int x, y;
    cr_tile_at(120.51, 31.0, 12, &x, &y);
    char path[160];
    snprintf(path, sizeof path, "%s/acc0.mvt", t->dir);
    GDALAllRegister();
    GDALDatasetH ds = tile_check_open(t->store, 12, x, y, "reaches", path);
    assert_non_null(ds);
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "reaches");
    assert_non_null(l);
    OGRFeatureH f = OGR_L_GetNextFeature(l);
    assert_non_null(f);
    int a = OGR_F_GetFieldIndex(f, "accumulated.outfalls.discharge_m3d");
    assert_true(a < 0 || !OGR_F_IsFieldSetAndNotNull(f, a));
    OGR_F_Destroy(f);
    GDALClose(ds);
    cr_accumulate_report ar;
    accumulate(t, "discharge_m3s", CR_SPLIT_MAIN, NULL, &ar);
    /* all of A to the main path B1; B2 only its own; both meet again above C */
    assert_true(fabs(total_of(t, "discharge_m3s", "B1") - 11) < 1e-9);
    assert_true(fabs(total_of(t, "discharge_m3s", "B2") - 2) < 1e-9);
    assert_true(fabs(total_of(t, "discharge_m3s", "C") - 13) < 1e-9);
    /* the lake mixes what comes in: C and I2, plus O's own */
    assert_true(fabs(total_of(t, "discharge_m3s", "O") - 17) < 1e-9);
    assert_true(fabs(total_of(t, "discharge_m3s", "X") - 0.5) < 1e-9); /* none of A */
    assert_true(fabs(ar.at_outlets - 17.5) < 1e-9);
    accumulate(t, "discharge_m3s", CR_SPLIT_FRACTION, "width_m", &ar);
    assert_true(fabs(total_of(t, "discharge_m3s", "B1") - 4) < 1e-9);  /* 1 + 0.3 × 10 */
    assert_true(fabs(total_of(t, "discharge_m3s", "B2") - 9) < 1e-9);  /* 2 + 0.7 × 10 */
    assert_true(fabs(total_of(t, "discharge_m3s", "X") - 0.5) < 1e-9); /* a share of 0 */
    assert_true(fabs(total_of(t, "discharge_m3s", "O") - 17) < 1e-9);
    /* the features joined to a reach: an outfall on A counts on every reach below it */
    char csv[256];
    snprintf(csv, sizeof csv,
             "排污口编码,排污口名称,排污口类型,日排放量,经度,纬度\n"
             "F-1,一号,工业,250,120.51,31.0002\n");
    test_store_ingest(t, "outfalls", "f.csv", csv, NULL);
    cr_join_stats js;
    cr_error e = {0};
    assert_int_equal(cr_join_after_ingest(t->store, "outfalls", NULL, 0, &js, &e), CR_OK);
    accumulate(t, "outfalls.discharge_m3d", CR_SPLIT_MAIN, NULL, &ar);
    assert_int_equal(ar.sources, 1);
    assert_true(fabs(total_of(t, "outfalls.discharge_m3d", "O") - 250) < 1e-9);
    assert_true(fabs(total_of(t, "outfalls.discharge_m3d", "B2") - 0) < 1e-9);
    /* ... and once they are, the same connection's tiles have them (as GDAL's MVT driver
     * reads them) */
    snprintf(path, sizeof path, "%s/acc.mvt", t->dir);
    ds = tile_check_open(t->store, 12, x, y, "reaches", path);
    assert_non_null(ds);
    l = GDALDatasetGetLayerByName(ds, "reaches");
    assert_non_null(l);
    int found = 0;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        a = OGR_F_GetFieldIndex(f, "accumulated.outfalls.discharge_m3d");
        if (strcmp(OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "reach_id")), "A") == 0) {
            assert_true(a >= 0 && fabs(OGR_F_GetFieldAsDouble(f, a) - 250) < 1e-9);
            found = 1;
        }
        OGR_F_Destroy(f);
    }
    assert_true(found);
    GDALClose(ds);
    test_store_free(t);
}

int main(void)
{
    cr_store_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_parser_one_set_of_messages),
        cmocka_unit_test(test_zero_bounds_and_the_start_reach),
        cmocka_unit_test(test_origin_outlet_or_inlet),
        cmocka_unit_test(test_attribute_topology_disagreeing_with_geometry),
        cmocka_unit_test(test_next_down_network),
        cmocka_unit_test(test_level_path_across_names_and_a_diversion),
        cmocka_unit_test(test_dendritic_tree_closed_form),
        cmocka_unit_test(test_braid_diversion_and_lake),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
