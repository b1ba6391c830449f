/* SPDX-License-Identifier: MIT */
/* Ingest behaviour: every reject reason with its exact message, nothing lost, idempotence,
 * survey history, atomicity under kill -9, file-level errors, Shapefile encodings. */
#include "etl/etl.h"
#include "test_common.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char dir[64];        /* temporary directory */
    char store_path[96]; /* store inside it */
    cr_layer_set *set;
    cr_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/crossriver-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->store_path, sizeof f->store_path, "%s/store.sqlite", f->dir);
    cr_error e = {0};
    assert_int_equal(cr_layer_set_load(cr_layers_default_dir(), &f->set, &e), CR_OK);
    assert_int_equal(cr_store_open(f->store_path, f->set, &f->store, &e), CR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_store_close(f->store);
    cr_layer_set_free(f->set);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static char *write_file(fixture *f, const char *name, const char *text)
{
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
    return path;
}

static cr_ingest_options defaults(void)
{
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    return o;
}

static cr_status ingest(fixture *f, const char *layer, const char *path, const cr_ingest_options *o,
                        cr_ingest_result *r, cr_error *e)
{
    const cr_layer_def *d = cr_layer_set_find(f->set, layer);
    assert_non_null(d);
    return cr_etl_ingest_file(f->store, d, path, o, r, e);
}

static int64_t count(fixture *f, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(f->store), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The reject reason of one source row, as "code|reason". */
static const char *reject_of(fixture *f, int64_t row)
{
    static char buf[1024];
    sqlite3_stmt *st;
    sqlite3_prepare_v2(cr_store_db(f->store),
                       "SELECT code || '|' || reason FROM rejects WHERE source_row=?"
                       " ORDER BY reject_id DESC LIMIT 1",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, row);
    buf[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return buf;
}

static const char OUTFALL_HEADER[] =
    "排污口编码,排污口名称,排污口类型,排污口细类,经度,纬度,日排放量,排查日期\n";

static void test_every_row_reject_reason_names_column_and_value(void **state)
{
    fixture *f = *state;
    const char *csv =
        "排污口编码,排污口名称,排污口类型,排污口细类,经度,纬度,日排放量,排查日期\n"
        "OK-1,好排口,工业,,120°38′12.5″E,30°58′01.2″N,\"1,200\",2025/5/3\n" /* 2 stored */
        "R-3,,工业,,120.7,30.9,1,\n"                                        /* 3 required */
        "R-4,坏数,工业,,120.7,30.9,很多,\n"                                 /* 4 type */
        "R-5,负数,工业,,120.7,30.9,-1,\n"                                   /* 5 range */
        "R-6,未知,工厂排口,,120.7,30.9,1,\n"                                /* 6 enum */
        "R-7,矛盾,工业,雨水排口,120.7,30.9,1,\n"                            /* 7 implies */
        "R-8,乱码,工业,,120°53′x,30.9,1,\n"                                 /* 8 coordinates */
        "R-9,颠倒,工业,,30.95,120.7,1,\n"                                   /* 9 swapped */
        "R-10,越界,工业,,131.2,31.1,1,\n"                                   /* 10 region */
        "OK-1,重复,工业,,120.7,30.9,1,\n"                                   /* 11 duplicate */
        "R-12,无坐标,工业,,,,1,\n"                                          /* 12 coordinates */
        "R-13,日期,工业,,120.7,30.9,1,2025-02-30\n"                         /* 13 type */
        "OK-14,细类推出类型,,畜禽养殖,120度40分10秒,30度59分,35,\n";        /* 14 stored */
    char *path = write_file(f, "outfalls.csv", csv);
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e = {0};
    assert_int_equal(ingest(f, "outfalls", path, &o, &r, &e), CR_OK);
    assert_int_equal(r.rows_in, 13);
    assert_int_equal(r.stored, 2);
    assert_int_equal(r.rejected, 11);
    assert_int_equal(r.rows_in, r.stored + r.rejected);
    assert_string_equal(reject_of(f, 3),
                        "required|name (column 排污口名称): required value missing");
    assert_string_equal(reject_of(f, 4), "type|日排放量 '很多': unexpected character '很'");
    assert_string_equal(reject_of(f, 5), "range|日排放量 '-1': outside [0, inf]");
    assert_string_equal(reject_of(f, 6), "enum|排污口类型 '工厂排口': not one of 工业排污口, "
                                         "城镇污水处理厂排污口, 农业排口, 其他排口");
    assert_string_equal(reject_of(f, 7), "implies|排污口细类 '雨洪排口' belongs to 其他排口, but "
                                         "排污口类型 says 工业排污口");
    assert_string_equal(reject_of(f, 8),
                        "coordinates|经度 '120°53′x': not an angle: unexpected character 'x'");
    assert_string_equal(reject_of(f, 9),
                        "swapped|经度 '30.95' / 纬度 '120.7': longitude and latitude look swapped "
                        "(swapped, the point would be 120.700000, 30.950000, inside the region); "
                        "fix the columns");
    assert_string_equal(reject_of(f, 10),
                        "region|point 131.200000, 31.100000 outside the deployment region "
                        "118.8,29.6,122.2,32.4 (W,S,E,N; set with --region)");
    assert_string_equal(reject_of(f, 11),
                        "duplicate_id|排污口编码 'OK-1': duplicate ID (first at row 2)");
    assert_string_equal(reject_of(f, 12), "coordinates|no coordinates (no geometry and no "
                                          "longitude/latitude values)");
    assert_string_equal(reject_of(f, 13), "type|排查日期 '2025-02-30': no such date 2025-02-30");
    /* the raw record is kept whole, in the source's own headers */
    assert_int_equal(count(f, "SELECT count(*) FROM rejects WHERE source_row=8 AND raw_record ="
                              " '{\"排污口编码\":\"R-8\",\"排污口名称\":\"乱码\",\"排污口类型\":"
                              "\"工业\",\"排污口细类\":\"\",\"经度\":\"120°53′x\",\"纬度\":"
                              "\"30.9\",\"日排放量\":\"1\",\"排查日期\":\"\"}'"),
                     1);
    /* values are normalised on the stored rows; raw coordinates and method kept */
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls WHERE source_id='OK-1' AND"
                              " kind='工业排污口' AND discharge_m3d=1200 AND"
                              " survey_date='2025-05-03' AND raw_x='120°38′12.5″E' AND"
                              " coord_method LIKE 'PROJ EPSG:4490%'"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls WHERE source_id='OK-14' AND"
                              " kind='农业排口' AND sub_kind='规模化畜禽养殖排污口'"),
                     1);
    assert_int_equal(count(f, "SELECT rows_in - stored - rejected FROM import_batches"), 0);
}

static void test_geometry_reject_reasons_and_repair(void **state)
{
    fixture *f = *state;
    const char *zones =
        "{\"type\":\"FeatureCollection\",\"features\":["
        "{\"type\":\"Feature\",\"properties\":{\"zone_id\":\"Z1\",\"name\":\"蝴蝶\","
        "\"source_name\":\"s\",\"grade\":\"一級\"},\"geometry\":{\"type\":\"Polygon\","
        "\"coordinates\":[[[120.5,31.0],[120.6,31.1],[120.6,31.0],[120.5,31.1],[120.5,31.0]]]}},"
        "{\"type\":\"Feature\",\"properties\":{\"zone_id\":\"Z2\",\"name\":\"线\","
        "\"source_name\":\"s\",\"grade\":\"准\"},\"geometry\":{\"type\":\"Polygon\","
        "\"coordinates\":[[[120.5,31.0],[120.6,31.1],[120.5,31.0]]]}},"
        "{\"type\":\"Feature\",\"properties\":{\"zone_id\":\"Z3\",\"name\":\"点\","
        "\"source_name\":\"s\",\"grade\":\"2\"},\"geometry\":{\"type\":\"Point\","
        "\"coordinates\":[120.5,31.0]}},"
        "{\"type\":\"Feature\",\"properties\":{\"zone_id\":\"Z4\",\"name\":\"无\","
        "\"source_name\":\"s\",\"grade\":\"二级\"},\"geometry\":null}]}";
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e = {0};
    assert_int_equal(ingest(f, "protection_zones", write_file(f, "z.geojson", zones), &o, &r, &e),
                     CR_OK);
    assert_int_equal(r.rows_in, 4);
    assert_int_equal(r.stored, 1);
    assert_int_equal(r.repaired, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM protection_zones WHERE source_id='Z1' AND"
                              " grade='1' AND notes = 'polygon repaired with GEOS MakeValid"
                              " (Self-intersection[120.55 31.05])' AND ST_IsValid(geom)"
                              " AND ST_NumGeometries(geom)=2"),
                     1);
    assert_string_equal(reject_of(f, 2), "geometry|invalid polygon (Too few points in geometry "
                                         "component[120.5 31]) that cannot be repaired");
    assert_string_equal(reject_of(f, 3), "geometry|geometry is Point, not a polygon");
    assert_string_equal(reject_of(f, 4), "geometry|no geometry");

    const char *reaches =
        "{\"type\":\"FeatureCollection\",\"features\":["
        "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"A\",\"name\":\"两段\","
        "\"reach_class\":\"支流\",\"flow\":\"双向\"},\"geometry\":{\"type\":\"MultiLineString\","
        "\"coordinates\":[[[120.5,31.0],[120.6,31.0]],[[120.7,31.0],[120.8,31.0]]]}},"
        "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"B\",\"name\":\"接上\","
        "\"reach_class\":\"干流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":\"MultiLineString\","
        "\"coordinates\":[[[120.5,31.0],[120.6,31.0]],[[120.6,31.0],[120.7,31.0]]]}},"
        "{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"C\",\"name\":\"点线\","
        "\"reach_class\":\"运河\",\"flow\":\"闸控\"},\"geometry\":{\"type\":\"LineString\","
        "\"coordinates\":[[120.5,31.0],[120.5,31.0]]}}]}";
    assert_int_equal(ingest(f, "reaches", write_file(f, "r.geojson", reaches), &o, &r, &e), CR_OK);
    assert_int_equal(r.stored, 1);
    assert_string_equal(reject_of(f, 1), "geometry|multi-part line whose parts do not join end "
                                         "to end: split it into reaches");
    assert_string_equal(reject_of(f, 3), "geometry|degenerate line (zero length)");
    assert_int_equal(count(f, "SELECT count(*) FROM reaches WHERE source_id='B' AND flow='down'"
                              " AND reach_class='mainstem' AND notes='multi-part line merged"
                              " into one' AND ST_NumPoints(geom)=3"),
                     1);
}

static void test_reimport_of_the_same_file_changes_nothing(void **state)
{
    fixture *f = *state;
    char csv[512];
    snprintf(csv, sizeof csv, "%sA-1,一号,工业,,120.7,30.9,1,\nA-2,二号,农业,,120.71,30.91,2,\n",
             OUTFALL_HEADER);
    char *path = write_file(f, "o.csv", csv);
    cr_ingest_options o = defaults();
    cr_ingest_result r1;
    cr_ingest_result r2;
    cr_error e = {0};
    assert_int_equal(ingest(f, "outfalls", path, &o, &r1, &e), CR_OK);
    int64_t gen = count(f, "SELECT value FROM meta WHERE key='data_generation'");
    assert_int_equal(ingest(f, "outfalls", path, &o, &r2, &e), CR_OK);
    assert_int_equal(r2.already_imported, 1);
    assert_int_equal(r2.batch_id, r1.batch_id);
    assert_int_equal(r2.rows_in, 2);
    assert_string_equal(r2.sha256, r1.sha256);
    assert_int_equal(count(f, "SELECT count(*) FROM import_batches"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls"), 2);
    assert_int_equal(count(f, "SELECT value FROM meta WHERE key='data_generation'"), gen);
}

static void test_later_survey_keeps_history_and_carries_absent_columns(void **state)
{
    fixture *f = *state;
    char csv[1024];
    snprintf(csv, sizeof csv,
             "排污口编码,排污口名称,排污口类型,经度,纬度,整治状态,责任主体\n"
             "H-1,一号,工业,120.70,30.90,整治中,甲公司\n"
             "H-2,二号,工业,120.71,30.91,正常,乙公司\n"
             "H-3,三号,工业,120.72,30.92,正常,丙公司\n");
    cr_ingest_options o = defaults();
    o.valid_from = "2025-06-30T00:00:00";
    cr_ingest_result r;
    cr_error e = {0};
    assert_int_equal(ingest(f, "outfalls", write_file(f, "v1.csv", csv), &o, &r, &e), CR_OK);
    /* Q3: no 责任主体 column; H-1 closed off (封堵), H-2 unchanged, H-3 absent, H-4 new. */
    snprintf(csv, sizeof csv,
             "排污口编码,排污口名称,排污口类型,经度,纬度,整治状态\n"
             "H-1,一号,工业,120.70,30.90,已封堵\n"
             "H-2,二号,工业,120.71,30.91,正常\n"
             "H-4,四号,其他,120.73,30.93,正常\n");
    o.valid_from = "2025-09-15T00:00:00";
    assert_int_equal(ingest(f, "outfalls", write_file(f, "v2.csv", csv), &o, &r, &e), CR_OK);
    assert_int_equal(r.inserted, 1);
    assert_int_equal(r.updated, 1);
    assert_int_equal(r.unchanged, 1);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls WHERE source_id='H-1' AND version=1"
                              " AND status='rectifying' AND valid_to='2025-09-15T00:00:00'"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls_current WHERE source_id='H-1' AND"
                              " version=2 AND status='closed' AND responsible_unit='甲公司'"
                              " AND valid_from='2025-09-15T00:00:00'"),
                     1);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls_current"), 4);
    /* a full survey that no longer lists H-3 closes it; its history stays */
    snprintf(csv, sizeof csv,
             "排污口编码,排污口名称,排污口类型,经度,纬度\n"
             "H-1,一号,工业,120.70,30.90\nH-2,二号,工业,120.71,30.91\nH-4,四号,其他,120.73,"
             "30.93\n");
    o.full_survey = 1;
    o.scope = "all";          /* this store has no counties to scope the survey by */
    o.max_close_share = 0.25; /* it closes 1 of 4 */
    o.valid_from = "2025-12-01T00:00:00";
    assert_int_equal(ingest(f, "outfalls", write_file(f, "v3.csv", csv), &o, &r, &e), CR_OK);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.unchanged, 3);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls_current"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls WHERE source_id='H-3' AND"
                              " valid_to='2025-12-01T00:00:00'"),
                     1);
    /* what each batch changed (for tile invalidation) is on the rows: versions it wrote carry
     * its batch_id, versions it closed its closed_by_batch, each with its geometry */
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls WHERE closed_by_batch IS NOT NULL"),
                     2);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls o JOIN import_batches b ON"
                              " o.closed_by_batch = b.batch_id WHERE b.valid_from ="
                              " '2025-12-01T00:00:00' AND ST_X(o.geom) = 120.72"),
                     1);
    assert_int_equal(count(f, "SELECT CheckSpatialIndex('outfalls', 'geom')"), 1);
}

static void test_killed_import_leaves_the_store_as_it_was(void **state)
{
    fixture *f = *state;
    const char *bin = getenv("CROSSRIVER_BIN");
    assert_non_null(bin);
    char path[160];
    snprintf(path, sizeof path, "%s/big.csv", f->dir);
    FILE *out = fopen(path, "w");
    fputs(OUTFALL_HEADER, out);
    for (int i = 0; i < 5000; i++) {
        fprintf(out, "K-%05d,排口%d,工业,,%.6f,%.6f,%d,\n", i, i, 120.5 + i * 1e-5, 30.9, i);
    }
    fclose(out);
    char *small = write_file(f, "small.csv",
                             "排污口编码,排污口名称,排污口类型,经度,纬度\n"
                             "S-1,一号,工业,120.70,30.90\n");
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e = {0};
    assert_int_equal(ingest(f, "outfalls", small, &o, &r, &e), CR_OK);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("CR_TEST_KILL_AFTER_ROWS", "2500", 1);
        execl(bin, bin, "ingest", "--quiet", "--store", f->store_path, "--layer", "outfalls", path,
              (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* reopen, as the next process would */
    cr_store_close(f->store);
    assert_int_equal(cr_store_open(f->store_path, f->set, &f->store, &e), CR_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM import_batches"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM idx_outfalls_geom"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM rejects"), 0);
    /* and the same file then imports whole */
    assert_int_equal(ingest(f, "outfalls", path, &o, &r, &e), CR_OK);
    assert_int_equal(r.stored, 5000);
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls"), 5001);
}

static void expect_file_error(fixture *f, const char *layer, const char *name, const char *text,
                              const cr_ingest_options *o, const char *want)
{
    char *path = write_file(f, name, text);
    cr_ingest_result r;
    cr_error e = {0};
    int64_t batches = count(f, "SELECT count(*) FROM import_batches");
    assert_int_not_equal(ingest(f, layer, path, o, &r, &e), CR_OK);
    const char *msg = strstr(e.msg, name);
    assert_non_null(msg);
    assert_string_equal(msg, want);
    assert_int_equal(count(f, "SELECT count(*) FROM import_batches"), batches);
}

static void test_file_level_problems_store_nothing(void **state)
{
    fixture *f = *state;
    cr_ingest_options o = defaults();
    expect_file_error(f, "outfalls", "noname.csv", "编号,经度,纬度\nA,120.7,30.9\n", &o,
                      "noname.csv: no column for required field 'name' (looked for 排污口名称, "
                      "排口名称, 名称, name, outfall_name); map one with --field name=COLUMN, or "
                      "give every row one value with --set name=VALUE");
    expect_file_error(f, "outfalls", "nocoord.csv", "编号,名称,类型\nA,a,工业\n", &o,
                      "nocoord.csv: no geometry and no longitude/latitude columns (looked for "
                      "经度, 东经, 经度坐标, 中心经度, longitude, lon, …); map them with --field "
                      "lon=COLUMN --field lat=COLUMN");
    o.crs = "EPSG:4549";
    expect_file_error(
        f, "monitoring_sections", "gk.csv",
        "断面编码,断面名称,断面类型,X坐标,Y坐标\nS1,a,国控,3435210.483,40586878.844\n", &o,
        "gk.csv:2: easting 40586878.844 carries zone prefix 40, but EPSG:4549 "
        "expects 6-digit eastings (use the zone-prefixed CRS, e.g. EPSG:4528 for "
        "zone 40)");
    o.crs = NULL;
    expect_file_error(f, "monitoring_sections", "metres.csv",
                      "断面编码,断面名称,断面类型,经度,纬度\nS1,a,国控,586878.8,3435210.4\n", &o,
                      "metres.csv:2: 经度 '586878.8': looks like a projected coordinate in "
                      "metres, but the source CRS EPSG:4490 is geographic; give the CRS with "
                      "--crs, e.g. EPSG:4549 (CGCS2000 3-degree Gauss-Kruger, CM 120E)");
    cr_field_map m = {"nosuch", "编号"};
    o.maps = &m;
    o.n_maps = 1;
    expect_file_error(f, "outfalls", "map.csv", "编号,名称,类型,经度,纬度\nA,a,工业,120.7,30.9\n",
                      &o,
                      "map.csv: --field nosuch=编号: layer outfalls has no field 'nosuch' (nor "
                      "lon, lat, x, y)");
    assert_int_equal(count(f, "SELECT count(*) FROM monitoring_sections"), 0);
}

static void test_gk_sections_in_surveying_order_land_in_place(void **state)
{
    fixture *f = *state;
    cr_ingest_options o = defaults();
    o.crs = "EPSG:4528";
    cr_ingest_result r;
    cr_error e = {0};
    /* X = northing, Y = easting with zone prefix: cs2cs EPSG:4326 → EPSG:4528 of 31.035N
     * 120.910E. */
    char *path = write_file(f, "s.csv",
                            "断面编码,断面名称,断面类型,X坐标,Y坐标\n"
                            "S1,金泽,国控,3435210.483,40586878.844\n");
    assert_int_equal(ingest(f, "monitoring_sections", path, &o, &r, &e), CR_OK);
    assert_int_equal(r.stored, 1);
    assert_int_equal(count(f, "SELECT abs(ST_X(geom) - 120.910) < 1e-7 AND"
                              " abs(ST_Y(geom) - 31.035) < 1e-7 FROM monitoring_sections"),
                     1);
}

static void copy_sample_shapefile(fixture *f, const char *cpg)
{
    const char *src = getenv("CROSSRIVER_SOURCE");
    assert_non_null(src);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cp %s/data-samples/protection_zones_gk120_gbk.shp %s/data-samples/"
             "protection_zones_gk120_gbk.shx %s/data-samples/protection_zones_gk120_gbk.dbf "
             "%s/data-samples/protection_zones_gk120_gbk.prj %s/ && rm -f %s/*.cpg",
             src, src, src, src, f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    if (cpg) {
        write_file(f, "protection_zones_gk120_gbk.cpg", cpg);
    }
}

static void test_shapefile_encoding_from_cpg_code_page_and_bytes(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/protection_zones_gk120_gbk.shp", f->dir);
    const char *cpgs[] = {"GBK", NULL, "UTF-8", NULL};
    const char *want[] = {"GB18030 (.cpg GBK)", "GB18030 (content)",
                          "GB18030 (content; disagrees with .cpg UTF-8)",
                          "GB18030 (DBF code page 936)"};
    for (int k = 0; k < 4; k++) {
        copy_sample_shapefile(f, cpgs[k]);
        if (k == 3) {
            /* language driver ID 0x4D: code page 936 declared in the DBF header itself */
            char cmd[256];
            snprintf(cmd, sizeof cmd,
                     "printf '\\115' | dd of=%s/protection_zones_gk120_gbk.dbf bs=1 seek=29 "
                     "conv=notrunc status=none",
                     f->dir);
            assert_int_equal(system(cmd), 0);
        }
        cr_ingest_options o = defaults();
        const char *dates[] = {"2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"};
        o.valid_from = dates[k];
        cr_ingest_result r;
        cr_error e = {0};
        assert_int_equal(ingest(f, "protection_zones", path, &o, &r, &e), CR_OK);
        assert_string_equal(r.encoding, want[k]);
        assert_int_equal(count(f, "SELECT count(*) FROM protection_zones_current WHERE"
                                  " name='金泽水库一级保护区' AND grade='1'"),
                         1);
        assert_int_equal(count(f, "SELECT count(*) FROM protection_zones_current"), 6);
    }
}

/* Every import records the boxes it changed for tile servers: one per row for a small import,
 * merged per grid cell for a large one (at most 4,096), and always covering every row. */
static void test_imports_record_their_change_boxes(void **state)
{
    fixture *f = *state;
    cr_strbuf csv = {0};
    cr_strbuf_puts(&csv, "排污口编码,排污口名称,排污口类型,受纳水体,经度,纬度\n");
    for (int i = 0; i < 5000; i++) {
        cr_strbuf_printf(&csv, "BIG-%05d,排口%d,工业排污口,太浦河,%.6f,%.6f\n", i, i,
                         120.40 + (i % 100) * 0.009, 30.80 + (i / 100) * 0.009);
    }
    const char *path = write_file(f, "big.csv", csv.data);
    cr_strbuf_cleanup(&csv);
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e = {0};
    assert_int_equal(ingest(f, "outfalls", path, &o, &r, &e), CR_OK);
    assert_int_equal(r.stored, 5000);
    int64_t boxes = count(f, "SELECT count(*) FROM tile_changes");
    assert_true(boxes > 1 && boxes <= 4096);
    /* every stored point lies in one of the boxes */
    assert_int_equal(count(f, "SELECT count(*) FROM outfalls o WHERE NOT EXISTS (SELECT 1 FROM"
                              " tile_changes c WHERE X(o.geom) BETWEEN c.minx AND c.maxx AND"
                              " Y(o.geom) BETWEEN c.miny AND c.maxy)"),
                     0);
    /* a small re-survey: one box per row it added or closed */
    path = write_file(f, "small.csv",
                      "排污口编码,排污口名称,排污口类型,受纳水体,经度,纬度\n"
                      "BIG-00001,排口1,工业排污口,太浦河,120.5,30.9\n"
                      "NEW-00001,新排口,工业排污口,太浦河,120.6,30.95\n");
    assert_int_equal(ingest(f, "outfalls", path, &o, &r, &e), CR_OK);
    assert_int_equal(count(f, "SELECT count(*) FROM tile_changes WHERE generation ="
                              " (SELECT max(generation) FROM tile_changes)"),
                     3); /* BIG-00001 closed and its new version, NEW-00001 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_row_reject_reason_names_column_and_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_geometry_reject_reasons_and_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reimport_of_the_same_file_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_later_survey_keeps_history_and_carries_absent_columns,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_import_leaves_the_store_as_it_was, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_level_problems_store_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gk_sections_in_surveying_order_land_in_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shapefile_encoding_from_cpg_code_page_and_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_imports_record_their_change_boxes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
