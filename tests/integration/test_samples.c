/* SPDX-License-Identifier: MIT */
/* Ingest every file of data-samples/ as the README's first command does (manifest.tsv), and
 * check what each one stores and rejects, and where a few known features land. */
#include "etl/etl.h"
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
    {"lakes.geojson", 4, 4, 0, "UTF-8"},
    {"reaches.geojson", 20, 20, 0, "UTF-8"},
    {"gates.gpkg", 6, 6, 0, "UTF-8 (gpkg)"},
    {"monitoring_sections_gk40.csv", 12, 12, 0, "UTF-8"},
    {"protection_zones_gk120_gbk.shp", 6, 6, 0, "GB18030 (.cpg GBK)"},
    {"outfalls_wujiang_2025_gbk.csv", 129, 125, 4, "GB18030"},
    {"outfalls_qingpu_2025.xlsx", 112, 110, 2, "UTF-8 (XLSX)"},
    {"outfalls_jiashan_2025_gcj02.csv", 111, 110, 1, "UTF-8 (BOM)"},
    {"outfalls_wujiang_2025q3_update.csv", 12, 12, 0, "UTF-8 (BOM)"},
    {"mobile_sources_survey_2025-07.csv", 60, 60, 0, "UTF-8"},
    {"hyacinth_reports_2025.geojson", 140, 140, 0, "UTF-8"},
    {"hyacinth_reports_patrol_app.kml", 20, 20, 0, "UTF-8 (kml)"},
    {"contacts.csv", 40, 40, 0, "UTF-8"},
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
        if (cr_etl_ingest_file(store, cr_layer_set_find(set, layer), path, &o, &r, &e) != CR_OK) {
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
