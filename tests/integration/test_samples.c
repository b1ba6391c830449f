/* SPDX-License-Identifier: MIT */
/* Ingest every file of data-samples/ as the README's first command does (manifest.tsv), and
 * check what each one stores and rejects, and where a few known features land. */
#include "etl/etl.h"
#include "etl/join.h"
#include "network/network.h"
#include "ops/ops.h"
#include "quality/quality.h"
#include "test_common.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *file; /* data-samples file */
    int64_t rows_in;  /* expected counts */
    int64_t stored;
    int64_t rejected;
    const char *encoding; /* expected encoding label prefix */
} expectation;

static const expectation EXPECT[] = {
    {"admin_counties_tianditu.geojson", 3, 3, 0, "UTF-8"},
    {"admin_towns_approx.geojson", 31, 31, 0, "UTF-8"},
    {"admin_neighbour_counties_tianditu.geojson", 13, 13, 0, "UTF-8"},
    {"lakes.geojson", 4, 4, 0, "UTF-8"},
    {"reaches.geojson", 20, 20, 0, "UTF-8"},
    {"gates.gpkg", 6, 6, 0, "UTF-8 (gpkg)"},
    {"monitoring_sections_gk40.csv", 12, 12, 0, "UTF-8"},
    {"protection_zones_gk120_gbk.shp", 6, 6, 0, "GB18030 (.cpg GBK)"},
    {"outfalls_wujiang_2025_gbk.csv", 129, 125, 4, "GB18030"},
    {"outfalls_qingpu_2025.xlsx", 112, 110, 2, "UTF-8 (XLSX)"},
    {"outfalls_jiashan_2025_gcj02.csv", 125, 124, 1, "UTF-8 (BOM)"},
    {"outfalls_wujiang_2025q3_update.csv", 12, 12, 0, "UTF-8 (BOM)"},
    {"mobile_sources_survey_2025-07.csv", 60, 60, 0, "UTF-8"},
    {"hyacinth_reports_2025.geojson", 140, 140, 0, "UTF-8"},
    {"hyacinth_reports_patrol_app.kml", 20, 20, 0, "UTF-8 (kml)"},
    {"contacts.csv", 40, 40, 0, "UTF-8"},
    {"intakes_2025.csv", 3, 3, 0, "UTF-8"},
    {"stockpiles_2025.csv", 4, 4, 0, "UTF-8"},
    {"experts.csv", 6, 6, 0, "UTF-8"},
    {"patrol_findings_2025q3.csv", 6, 6, 0, "UTF-8 (BOM)"},
    {"incidents_2025.csv", 1, 1, 0, "UTF-8"},
    {"readings_manual_2025.csv", 233, 228, 5, "UTF-8 (BOM)"},
    {"readings_taipu_auto_2025.csv", 8736, 8736, 0, "UTF-8"},
    {"readings_emergency_2025-08-12_long.csv", 40, 40, 0, "UTF-8"},
    {"gate_operations_2025.csv", 5, 5, 0, "UTF-8"},
};

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Apply one manifest option pair to o. */
static void apply_option(cr_ingest_options *o, cr_field_map *map, const char *k, const char *v)
{
    if (strcmp(k, "--crs") == 0) {
        o->crs = v;
    } else if (strcmp(k, "--valid-from") == 0) {
        o->valid_from = v;
    } else if (strcmp(k, "--method") == 0) {
        o->method = v;
    } else if (strcmp(k, "--field") == 0) {
        char *eq = strchr(v, '=');
        assert_non_null(eq);
        *eq = '\0';
        map->target = v;
        map->source = eq + 1;
        o->maps = map;
        o->n_maps = 1;
    } else {
        fail_msg("manifest option %s not understood by the test", k);
    }
}

static void test_every_sample_file_ingests_as_expected(void **state)
{
    (void)state;
    const char *src = getenv("CROSSRIVER_SOURCE");
    assert_non_null(src);
    char dir[] = "/tmp/crossriver-samples-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char store_path[96];
    snprintf(store_path, sizeof store_path, "%s/s.sqlite", dir);
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    cr_error e = {0};
    assert_int_equal(cr_layer_set_load(cr_layers_default_dir(), &set, &e), CR_OK);
    assert_int_equal(cr_store_open(store_path, set, &store, &e), CR_OK);
    char manifest[512];
    snprintf(manifest, sizeof manifest, "%s/data-samples/manifest.tsv", src);
    FILE *m = fopen(manifest, "r");
    assert_non_null(m);
    char line[1024];
    size_t n = 0;
    cr_standards *std = NULL;
    while (fgets(line, sizeof line, m)) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        char *layer = strtok(line, "\t");
        char *file = strtok(NULL, "\t");
        char *opts = strtok(NULL, "\t");
        cr_ingest_options o = {0};
        cr_field_map map;
        memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
        char *save = NULL;
        for (char *k = opts ? strtok_r(opts, " ", &save) : NULL; k;
             k = strtok_r(NULL, " ", &save)) {
            apply_option(&o, &map, k, strtok_r(NULL, " ", &save));
        }
        assert_true(n < sizeof EXPECT / sizeof EXPECT[0]);
        assert_string_equal(file, EXPECT[n].file);
        char path[640];
        snprintf(path, sizeof path, "%s/data-samples/%s", src, file);
        cr_ingest_result r;
        if (strcmp(layer, "readings") == 0) {
            if (std == NULL) {
                assert_int_equal(cr_standards_load(NULL, &std, &e), CR_OK);
            }
            if (cr_etl_ingest_readings(store, std, path, &o, &r, &e) != CR_OK) {
                fail_msg("%s", e.msg);
            }
        } else if (cr_etl_ingest_file(store, cr_layer_set_find(set, layer), path, &o, &r, &e) !=
                   CR_OK) {
            fail_msg("%s", e.msg);
        }
        if (r.rows_in != EXPECT[n].rows_in || r.stored != EXPECT[n].stored ||
            r.rejected != EXPECT[n].rejected) {
            fail_msg("%s: rows in %lld stored %lld rejected %lld", file, (long long)r.rows_in,
                     (long long)r.stored, (long long)r.rejected);
        }
        assert_string_equal(r.encoding, EXPECT[n].encoding);
        n++;
    }
    fclose(m);
    cr_standards_free(std);
    assert_int_equal(n, sizeof EXPECT / sizeof EXPECT[0]);
    sqlite3 *db = cr_store_db(store);
    assert_true(count(db, "SELECT count(*) FROM outfalls_current") >= 300);
    assert_int_equal(count(db, "SELECT count(*) FROM outfalls WHERE valid_to IS NOT NULL"), 12);
    /* the Jinze reservoir intake zones on the Taipu River: grades 1, 2 and quasi */
    assert_int_equal(count(db, "SELECT count(DISTINCT grade) FROM protection_zones_current"
                               " WHERE source_name='金泽水库水源地'"),
                     3);
    /* a GK zone-40 section given as X=northing, Y=easting lands where the survey put it */
    assert_int_equal(count(db, "SELECT abs(ST_X(geom) - 120.910) < 1e-7 AND"
                               " abs(ST_Y(geom) - 31.035) < 1e-7 FROM monitoring_sections"
                               " WHERE source_id='SEC-TPH-JZ'"),
                     1);
    /* GCJ-02 outfalls land inside Jiashan, and every stored outfall is in the region */
    assert_int_equal(count(db, "SELECT count(*) FROM outfalls_current o, admin_units a"
                               " WHERE a.source_id='330421' AND o.source_id LIKE 'JS-%'"
                               " AND ST_Within(o.geom, a.geom)"),
                     count(db, "SELECT count(*) FROM outfalls_current WHERE source_id LIKE "
                               "'JS-%'"));
    assert_int_equal(count(db, "SELECT sum(rows_in) - sum(stored) - sum(rejected) FROM"
                               " import_batches"),
                     0);

    /* joins: every joined layer, then the network (gates are placed by their join) */
    static const struct {
        const char *layer;
        int64_t features, matched, unmatched, flagged;
    } JOINED[] = {
        {"gates", 6, 5, 1, 1},   /* 平望船闸 180 m off the canal */
        {"intakes", 3, 3, 0, 0}, /* the Taihu intake in its lake */
        {"stockpiles", 4, 4, 0, 0},
        {"hyacinth_reports", 160, 160, 0, 0},
        {"mobile_sources", 60, 60, 0, 0},
        {"monitoring_sections", 12, 12, 0, 0}, /* the lake-centre sections join their lakes */
        {"outfalls", 359, 359, 0, 2},          /* two Jiashan outfalls closer to another river */
        {"protection_zones", 6, 0, 0, 0},
    };
    cr_join_ref *ref = NULL;
    assert_int_equal(cr_join_ref_load(store, &ref, &e), CR_OK);
    for (size_t i = 0; i < sizeof JOINED / sizeof JOINED[0]; i++) {
        cr_join_stats js;
        if (cr_join_layer(store, ref, cr_layer_set_find(set, JOINED[i].layer), &js, &e) != CR_OK) {
            fail_msg("%s", e.msg);
        }
        if (js.features != JOINED[i].features || js.matched != JOINED[i].matched ||
            js.unmatched != JOINED[i].unmatched || js.flagged != JOINED[i].flagged) {
            fail_msg("%s: %lld features, %lld matched, %lld unmatched, %lld flagged",
                     JOINED[i].layer, (long long)js.features, (long long)js.matched,
                     (long long)js.unmatched, (long long)js.flagged);
        }
    }
    cr_join_ref_free(ref);
    /* the Jinze intake pump station stands on the Taipu River's bank, and its intake is on the
     * river inside the reservoir's first-grade zone */
    assert_int_equal(count(db,
                           "SELECT count(*) FROM gates_current WHERE source_id='G-JZSK' AND"
                           " reach_id='TPH-04' AND reach_distance_m < 50 AND join_flags IS NULL"),
                     1);
    assert_int_equal(count(db,
                           "SELECT count(*) FROM intakes_current WHERE source_id='SK-JZ-01' AND"
                           " reach_id='TPH-04' AND zone_id='SYQ-JZ-1' AND county_code='310118'"),
                     1);
    /* every sample outfall lies on its river (generated within 120 m of it) and in a county */
    assert_int_equal(count(db, "SELECT count(*) FROM outfalls_current WHERE reach_id IS NULL"
                               " OR county_code IS NULL OR bank IS NULL"),
                     0);
    /* the records' own county agrees with the join for every Jiashan outfall (GCJ-02 undone) */
    assert_int_equal(count(db, "SELECT count(*) FROM outfalls_current WHERE source_id LIKE"
                               " 'JS-%' AND county_code <> '330421'"),
                     0);
    assert_int_equal(count(db, "SELECT count(*) FROM monitoring_sections_current WHERE"
                               " source_id='SEC-DSH-C' AND lake_id='L-DIANSHAN' AND reach_id IS"
                               " NULL AND join_flags IS NULL"),
                     1);
    assert_int_equal(count(db, "SELECT count(*) FROM protection_zones_current WHERE"
                               " source_id='SYQ-JZ-2' AND covered_reaches LIKE '%\"TPH-04\"%'"
                               " AND spans_codes LIKE '%\"310118\"%'"),
                     1);
    /* Wujiang outfalls near the Qingpu line see Qingpu across it */
    assert_true(count(db, "SELECT count(*) FROM outfalls_current WHERE county_code='320509' AND"
                          " boundary_across_code='310118'") > 0);
    cr_network_options nopt = {5.0, 50.0, 0};
    cr_network_report rep;
    assert_int_equal(cr_network_build(store, &nopt, &rep, &e), CR_OK);
    assert_int_equal(rep.components, 1);
    assert_int_equal((int)rep.n_issues, 0);
    assert_int_equal(rep.gates, 5); /* the Jinze pump station is on its river */
    cr_network_report_cleanup(&rep);
    assert_int_equal(count(db, "SELECT strahler FROM reaches_current WHERE source_id='HPJ-01'"), 3);
    assert_int_equal(count(db, "SELECT count(*) FROM reaches_current WHERE mainstem='太浦河'"), 5);
    assert_int_equal(count(db, "SELECT count(*) FROM reaches_current r JOIN network_nodes n ON"
                               " n.node_id = r.to_node WHERE r.source_id='JSG-01' AND"
                               " n.lake_id='L-DIANSHAN'"),
                     1);
    cr_graph *g = NULL;
    assert_int_equal(cr_graph_load(store, &g, &e), CR_OK);
    assert_true(cr_graph_check(g));
    int32_t tph5 = cr_graph_find_reach(g, "TPH-05");
    int32_t hpj = cr_graph_find_reach(g, "HPJ-01");
    assert_true(tph5 >= 0 && hpj >= 0);
    assert_int_equal(g->to_node[tph5], g->from_node[hpj]);

    /* the issue's own example: downstream of an outfall on the Taipu in Wujiang, the trace
     * reaches the Jinze intake's protection zones and enters Qingpu after Wujiang */
    assert_int_equal(cr_join_ref_load(store, &ref, &e), CR_OK);
    cr_join_stats js;
    assert_int_equal(cr_join_layer(store, ref, cr_layer_set_find(set, "reaches"), &js, &e), CR_OK);
    cr_join_ref_free(ref);
    int32_t tph2 = cr_graph_find_reach(g, "TPH-02");
    cr_trace_options down = {CR_TRACE_DOWN, 0, 60.0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    cr_trace_result res;
    assert_int_equal(cr_trace_run(g, tph2, 100.0, &down, &res, &e), CR_OK);
    json_t *report = cr_trace_report(store, g, &res, NULL);
    json_t *juris = json_object_get(report, "jurisdictions");
    assert_string_equal(json_string_value(json_object_get(json_array_get(juris, 0), "code")),
                        "320509");
    double wujiang_km = -1;
    double qingpu_km = -1;
    size_t i;
    json_t *v;
    json_array_foreach(juris, i, v)
    {
        const char *code = json_string_value(json_object_get(v, "code"));
        double km = json_real_value(json_object_get(v, "distance_km"));
        wujiang_km = strcmp(code, "320509") == 0 ? km : wujiang_km;
        qingpu_km = strcmp(code, "310118") == 0 ? km : qingpu_km;
        /* public report: no liaison names or private phones */
        assert_null(json_object_get(json_array_get(json_object_get(v, "contacts"), 0), "phone"));
    }
    assert_true(wujiang_km == 0 && qingpu_km > 0);
    int intake = 0;
    json_array_foreach(json_object_get(report, "features"), i, v)
    {
        const char *intake_id = json_string_value(json_object_get(v, "intake_id"));
        intake |= intake_id && strcmp(intake_id, "SK-JZ-01") == 0;
    }
    assert_true(intake);
    json_decref(report);
    cr_trace_result_cleanup(&res);

    /* source attribution upstream of the Jiangsu–Shanghai section at Lili-east: Wujiang
     * outfalls first, each group ranked by network distance */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT reach_id, measure_m FROM"
                                        " monitoring_sections_current WHERE"
                                        " source_id='SEC-TPH-LLD'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int32_t sec_reach = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
    double sec_m = sqlite3_column_double(st, 1);
    sqlite3_finalize(st);
    cr_trace_options up = {CR_TRACE_UP, 0, 15.0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0};
    assert_int_equal(cr_trace_run(g, sec_reach, sec_m, &up, &res, &e), CR_OK);
    report = cr_trace_report(store, g, &res, NULL);
    json_t *attribution = cr_trace_attribution(store, report);
    assert_true(json_array_size(attribution) >= 1);
    json_t *first = json_array_get(attribution, 0);
    assert_string_equal(json_string_value(json_object_get(first, "county_code")), "320509");
    json_t *outs = json_object_get(first, "outfalls");
    assert_true(json_array_size(outs) >= 5);
    for (i = 1; i < json_array_size(outs); i++) {
        assert_true(json_real_value(json_object_get(json_array_get(outs, i - 1), "distance_km")) <=
                    json_real_value(json_object_get(json_array_get(outs, i), "distance_km")));
    }
    json_decref(attribution);
    /* a store from before the layers' rows by reach (a published snapshot, read-only): the
     * trace finds the same features by the reach column */
    char *by_list = json_dumps(json_object_get(report, "features"), JSON_SORT_KEYS);
    assert_true(json_array_size(json_object_get(report, "features")) >= 5);
    assert_int_equal(
        sqlite3_exec(db, "SAVEPOINT before; DROP TABLE outfalls_by_reach", NULL, NULL, NULL),
        SQLITE_OK);
    json_t *old_report = cr_trace_report(store, g, &res, NULL);
    char *by_column = json_dumps(json_object_get(old_report, "features"), JSON_SORT_KEYS);
    assert_string_equal(by_column, by_list);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK TO before; RELEASE before", NULL, NULL, NULL),
                     SQLITE_OK);
    free(by_list);
    free(by_column);
    json_decref(old_report);
    json_decref(report);
    cr_trace_result_cleanup(&res);
    cr_graph_free(g);

    cr_store_close(store);
    cr_layer_set_free(set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_sample_file_ingests_as_expected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
