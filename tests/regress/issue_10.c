/* SPDX-License-Identifier: MIT */
/* Issue 10, trust: nothing silently lost or wrong in the shared store. X/Y files without a CRS
 * are refused, not a crash; a full survey closes only its own counties and refuses to close
 * too much; batches are undone and superseded with history kept; a batch in the wrong CRS is
 * flagged as a whole; files as counties send them (a BOM over GBK, mixed encodings, empty
 * files, titled sheets with merged headers, sub-kinds in the kind column, constants). */
#include "etl/etl.h"
#include "etl/join.h"
#include "test_common.h"
#include "test_store.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Two counties side by side: 嘉善县 west of 120.90°E, 吴江区 east of it. */
static const char COUNTIES[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"330421\",\"name\":\"嘉善县\",\"level\":"
    "\"county\",\"province_code\":\"330000\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
    "[[[120.80,30.80],[120.90,30.80],[120.90,30.90],[120.80,30.90],[120.80,30.80]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"320509\",\"name\":\"吴江区\",\"level\":"
    "\"county\",\"province_code\":\"320000\"},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
    "[[[120.90,30.80],[121.00,30.80],[121.00,30.90],[120.90,30.90],[120.90,30.80]]]}}]}";

/* A north–south river through 嘉善县 at 120.85°E. */
static const char REACH[] =
    "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
    "{\"reach_id\":\"R-1\",\"name\":\"测试河\",\"reach_class\":\"tributary\",\"flow\":\"down\"},"
    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[120.85,30.89],[120.85,30.81]]}}]}";

static const char HEAD[] = "排污口编码,排污口名称,排污口类型,经度,纬度\n";

static int setup(void **state)
{
    *state = test_store_new();
    return 0;
}

static int teardown(void **state)
{
    test_store_free(*state);
    return 0;
}

static const char *write_text(test_store *t, const char *name, const char *text, size_t len)
{
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    return path;
}

static cr_ingest_options defaults(void)
{
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    return o;
}

/* Ingest text as name into layer with o; the status, the result and the error. */
static cr_status ingest(test_store *t, const char *layer, const char *name, const char *text,
                        const cr_ingest_options *o, cr_ingest_result *r, cr_error *e)
{
    const char *path = write_text(t, name, text, strlen(text));
    memset(e, 0, sizeof *e);
    return cr_etl_ingest_file(t->store, cr_layer_set_find(t->set, layer), path, o, r, e);
}

static int64_t current(test_store *t, const char *id)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM outfalls_current WHERE source_id = '%s'", id);
    return test_store_count(t, sql);
}

/* ---- 1. no crash on any input -------------------------------------------------------- */

static void test_xy_columns_without_crs_are_refused_with_the_crs_to_use(void **state)
{
    test_store *t = *state;
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e;
    /* Gauss-Krüger zone 40, X = northing: this crashed (heap-buffer-overflow) before */
    assert_int_equal(ingest(t, "monitoring_sections", "gk.csv",
                            "断面编码,断面名称,断面类型,X坐标,Y坐标\n"
                            "S-1,黎里东,跨界,3433176.7,40582120.5\n",
                            &o, &r, &e),
                     CR_EINVAL);
    assert_non_null(strstr(e.msg,
                           "gk.csv:2: X坐标 '3433176.7': looks like a projected coordinate in "
                           "metres, but the source CRS EPSG:4490 is geographic; give the "
                           "CRS with --crs, EPSG:4528 (CGCS2000 3-degree Gauss-Kruger zone "
                           "40)"));
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM import_batches"), 0);
    /* siblings: metres in lon/lat-named columns read as x/y under a projected CRS (where PROJ
     * puts it: cs2cs EPSG:4528 EPSG:4326 gives 31.017000 120.859999) … */
    o.crs = "EPSG:4528";
    assert_int_equal(ingest(t, "monitoring_sections", "ll.csv",
                            "断面编码,断面名称,断面类型,经度,纬度\n"
                            "S-2,黎里东,跨界,3433176.7,40582120.5\n",
                            &o, &r, &e),
                     CR_OK);
    assert_int_equal(r.stored, 1);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM monitoring_sections WHERE"
                                         " abs(ST_X(geom) - 120.86) < 1e-5 AND"
                                         " abs(ST_Y(geom) - 31.017) < 1e-5"),
                     1);
    /* … and a WKT point in metres under a geographic CRS is refused, not stored off the map */
    o.crs = NULL;
    assert_int_equal(ingest(t, "monitoring_sections", "wkt.csv",
                            "断面编码,断面名称,断面类型,WKT\n"
                            "S-3,黎里东,跨界,POINT(3433176.7 40582120.5)\n",
                            &o, &r, &e),
                     CR_EINVAL);
    assert_non_null(strstr(e.msg, "wkt.csv:2: point (3433176.7, 40582120.5) looks projected "
                                  "(metres), but the source CRS EPSG:4490 is geographic; give the "
                                  "CRS with --crs, EPSG:4528"));
}

/* ---- 2. a full survey closes only what it surveys ------------------------------------ */

static void load_inventory(test_store *t)
{
    test_store_ingest(t, "admin_units", "counties.geojson", COUNTIES, NULL);
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e;
    char csv[1024];
    snprintf(csv, sizeof csv,
             "%sA-1,甲一,工业,120.81,30.81\nA-2,甲二,工业,120.82,30.82\nA-3,甲三,工业,120.83,"
             "30.83\nA-4,甲四,工业,120.84,30.84\nB-1,乙一,工业,120.91,30.81\nB-2,乙二,工业,"
             "120.92,30.82\nB-3,乙三,工业,120.93,30.83\n",
             HEAD);
    assert_int_equal(ingest(t, "outfalls", "all.csv", csv, &o, &r, &e), CR_OK);
    assert_int_equal(r.stored, 7);
}

static void test_full_survey_closes_only_its_counties(void **state)
{
    test_store *t = *state;
    load_inventory(t);
    cr_ingest_options o = defaults();
    o.full_survey = 1;
    cr_ingest_result r;
    cr_error e;
    char csv[512];
    snprintf(csv, sizeof csv,
             "%sA-1,甲一,工业,120.81,30.81\nA-2,甲二,工业,120.82,30.82\nA-3,甲三,工业,120.83,"
             "30.83\n",
             HEAD);
    /* closing 1 of the county's 4 is more than the 20% allowed by default */
    assert_int_equal(ingest(t, "outfalls", "a3.csv", csv, &o, &r, &e), CR_EINVAL);
    assert_non_null(strstr(e.msg,
                           "a3.csv: full survey of county 330421 嘉善县 would close 1 of its "
                           "4 current outfalls (25%, more than the 20% allowed); nothing "
                           "was changed."));
    assert_int_equal(current(t, "A-4"), 1);
    o.max_close_share = 0.3;
    assert_int_equal(ingest(t, "outfalls", "a3.csv", csv, &o, &r, &e), CR_OK);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.in_scope, 4);
    assert_int_equal(r.out_of_scope, 3);
    assert_string_equal(r.scope, "county 330421 嘉善县");
    assert_int_equal(current(t, "A-4"), 0);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_current WHERE source_id"
                                         " LIKE 'B-%'"),
                     3);
    /* a header-only file stores no row: refused, even with a generous share */
    o.max_close_share = 1;
    assert_int_equal(ingest(t, "outfalls", "empty.csv", HEAD, &o, &r, &e), CR_EINVAL);
    assert_non_null(strstr(e.msg, "empty.csv: a full survey that stores no row (0 rows in, 0 "
                                  "rejected) would close every feature in its scope; nothing was "
                                  "changed (give --force if that is meant)"));
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_current"), 6);
}

static void test_full_survey_scope_force_and_dry_run(void **state)
{
    test_store *t = *state;
    load_inventory(t);
    cr_ingest_options o = defaults();
    o.full_survey = 1;
    o.scope = "county=320509";
    o.dry_run = 1;
    cr_ingest_result r;
    cr_error e;
    char csv[256];
    snprintf(csv, sizeof csv, "%sB-1,乙一,工业,120.91,30.81\nA-9,甲九,工业,120.85,30.85\n", HEAD);
    int64_t batches = test_store_count(t, "SELECT count(*) FROM import_batches");
    /* a dry run says what it would do and stores nothing */
    o.force = 1;
    assert_int_equal(ingest(t, "outfalls", "b1.csv", csv, &o, &r, &e), CR_OK);
    assert_true(r.dry_run);
    assert_int_equal(r.inserted, 1);
    assert_int_equal(r.closed, 2);
    int adds = 0, closes = 0;
    for (size_t i = 0; i < r.n_changes; i++) {
        adds += strcmp(r.changes[i].what, "add") == 0 && strcmp(r.changes[i].id, "A-9") == 0;
        closes += strcmp(r.changes[i].what, "close") == 0 && r.changes[i].id[0] == 'B';
    }
    assert_int_equal(adds, 1);
    assert_int_equal(closes, 2);
    cr_ingest_result_cleanup(&r);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM import_batches"), batches);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_current"), 7);
    /* for real, forced past the share: the explicit scope closes in 吴江区 only */
    o.dry_run = 0;
    assert_int_equal(ingest(t, "outfalls", "b1.csv", csv, &o, &r, &e), CR_OK);
    assert_int_equal(r.closed, 2);
    assert_int_equal(current(t, "B-2") + current(t, "B-3"), 0);
    assert_int_equal(current(t, "A-1") + current(t, "A-4") + current(t, "A-9"), 3);
    /* a county the store does not have is named */
    o.scope = "county=110101";
    assert_int_equal(ingest(t, "outfalls", "b2.csv", csv, &o, &r, &e), CR_EINVAL);
    assert_non_null(strstr(e.msg, "--scope county=110101: no such county among the admin units"));
    cr_scope sc;
    assert_int_equal(cr_etl_parse_scope("county=33042", &sc, &e), CR_EINVAL);
    assert_string_equal(e.msg, "--scope 'county=33042': '33042' is not a 6-digit county code");
}

/* ---- 3. undo and correct -------------------------------------------------------------- */

static void test_revert_brings_back_what_a_batch_changed(void **state)
{
    test_store *t = *state;
    cr_ingest_options o = defaults();
    cr_ingest_result r1, r2;
    cr_error e;
    char csv[256];
    snprintf(csv, sizeof csv, "%sA-1,甲一,工业,120.81,30.81\nA-2,甲二,工业,120.82,30.82\n", HEAD);
    assert_int_equal(ingest(t, "outfalls", "v1.csv", csv, &o, &r1, &e), CR_OK);
    snprintf(csv, sizeof csv, "%sA-1,甲一改,工业,120.81,30.81\nA-3,甲三,工业,120.83,30.83\n", HEAD);
    assert_int_equal(ingest(t, "outfalls", "v2.csv", csv, &o, &r2, &e), CR_OK);
    /* batch 1 cannot be undone while batch 2 changed its A-1 */
    cr_revert_result rv;
    assert_int_equal(cr_etl_revert_batch(t->store, r1.batch_id, &rv, &e), CR_EINVAL);
    assert_string_equal(e.msg, "batch 1 cannot be undone: later batch 2 changed 1 of its features "
                               "since (undo it first, newest first: crossriver batches --revert "
                               "N)");
    assert_int_equal(cr_etl_revert_batch(t->store, r2.batch_id, &rv, &e), CR_OK);
    assert_int_equal(rv.closed, 2);   /* A-1 v2, A-3 */
    assert_int_equal(rv.reopened, 1); /* A-1 v1's content as v3 */
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_current WHERE source_id ="
                                         " 'A-1' AND name = '甲一' AND version = 3"),
                     1);
    assert_int_equal(current(t, "A-3"), 0);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls"), 5); /* history kept */
    char kind[32];
    test_store_text(t, "SELECT kind || ' ' || target_batch FROM import_batches WHERE batch_id = 3",
                    kind, sizeof kind);
    assert_string_equal(kind, "revert 2");
    assert_int_equal(test_store_count(t, "SELECT reverted_by FROM import_batches WHERE"
                                         " batch_id = 2"),
                     3);
    assert_int_equal(cr_etl_revert_batch(t->store, r2.batch_id, &rv, &e), CR_EINVAL);
    assert_string_equal(e.msg, "batch 2 was already undone by batch 3");
    assert_int_equal(test_store_count(t, "SELECT CheckSpatialIndex('outfalls', 'geom')"), 1);
}

static void test_same_file_other_options_supersedes(void **state)
{
    test_store *t = *state;
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e;
    char csv[256];
    snprintf(csv, sizeof csv, "%sA-1,甲一,工业,120.81,30.81\nA-2,甲二,工业,120.82,30.82\n", HEAD);
    assert_int_equal(ingest(t, "outfalls", "f.csv", csv, &o, &r, &e), CR_OK);
    assert_int_equal(ingest(t, "outfalls", "f.csv", csv, &o, &r, &e), CR_OK);
    assert_true(r.already_imported); /* the same file with the same options: a no-op */
    o.crs = "gcj02";
    assert_int_equal(ingest(t, "outfalls", "f.csv", csv, &o, &r, &e), CR_OK);
    assert_false(r.already_imported);
    assert_int_equal(r.superseded, 1);
    assert_int_equal(r.closed, 2);
    assert_int_equal(r.updated, 2); /* each ID goes on with version 2 */
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_current WHERE version = 2"
                                         " AND coord_method LIKE '%GCJ-02%'"),
                     2);
    assert_int_equal(test_store_count(t, "SELECT superseded_by FROM import_batches WHERE"
                                         " batch_id = 1"),
                     2);
    /* now batch 2 is the one in force: the same options again are a no-op */
    assert_int_equal(ingest(t, "outfalls", "f.csv", csv, &o, &r, &e), CR_OK);
    assert_true(r.already_imported);
    assert_int_equal(r.batch_id, 2);
}

/* ---- 4. a wrong CRS caught per batch ------------------------------------------------- */

/* Ten outfalls 20 m east of 测试河, written in WGS84 or as a Gaode (GCJ-02) map shows them. */
static void write_bank(char *out, size_t n, int as_gcj02)
{
    int used = snprintf(out, n, "排污口编码,排污口名称,排污口类型,河流名称,经度,纬度\n");
    for (int i = 0; i < 10; i++) {
        double lon = 120.8502, lat = 30.82 + 0.006 * i, glon, glat;
        cr_gcj02_from_wgs84(lon, lat, &glon, &glat);
        used += snprintf(out + used, n - (size_t)used, "C-%d,岸%d,工业,测试河,%.7f,%.7f\n", i, i,
                         as_gcj02 ? glon : lon, as_gcj02 ? glat : lat);
    }
}

static void check_crs(test_store *t, const char *name, int gcj_file, const char *crs,
                      const char *want_flag)
{
    char csv[2048];
    write_bank(csv, sizeof csv, gcj_file);
    cr_ingest_options o = defaults();
    o.crs = crs;
    cr_ingest_result r;
    cr_error e;
    assert_int_equal(ingest(t, "outfalls", name, csv, &o, &r, &e), CR_OK);
    cr_join_stats js;
    assert_int_equal(cr_join_after_ingest(t->store, "outfalls", &r.batch_id, 1, &js, &e), CR_OK);
    char sql[200], note[600];
    snprintf(sql, sizeof sql, "SELECT flag_note FROM import_batches WHERE batch_id = %lld",
             (long long)r.batch_id);
    test_store_text(t, sql, note, sizeof note);
    if (want_flag == NULL) {
        assert_string_equal(note, "");
    } else {
        assert_non_null(strstr(note, want_flag));
    }
    cr_revert_result rv; /* leave the layer empty for the next reading */
    assert_int_equal(cr_etl_revert_batch(t->store, r.batch_id, &rv, &e), CR_OK);
}

static void test_batch_in_the_wrong_crs_is_flagged(void **state)
{
    test_store *t = *state;
    test_store_ingest(t, "admin_units", "counties.geojson", COUNTIES, NULL);
    test_store_ingest(t, "reaches", "reach.geojson", REACH, NULL);
    check_crs(t, "gcj_as_cgcs.csv", 1, NULL, "Re-import the file with --crs gcj02");
    check_crs(t, "gcj_as_gcj.csv", 1, "gcj02", NULL);
    check_crs(t, "wgs_as_gcj.csv", 0, "gcj02", "Re-import the file with --crs EPSG:4490");
    check_crs(t, "wgs_as_wgs.csv", 0, "EPSG:4326", NULL);
}

/* On the samples, through the command line: the Jiashan GCJ-02 file without --crs gcj02 and the
 * Wujiang CGCS2000 file with it are flagged; imported right (superseding them), they are not. */
static void test_sample_batches_in_the_wrong_crs_are_flagged(void **state)
{
    test_store *t = *state;
    char cmd[4096];
    snprintf(
        cmd, sizeof cmd,
        "set -e; cd \"$CROSSRIVER_SOURCE/data-samples\"; s=%s; B=\"$CROSSRIVER_BIN\";"
        " $B ingest --quiet --store $s --layer admin_units --crs EPSG:4490"
        " admin_counties_tianditu.geojson;"
        " $B ingest --quiet --store $s --layer lakes lakes.geojson;"
        " $B ingest --quiet --store $s --layer reaches reaches.geojson;"
        " flag() { sqlite3 $s \"SELECT coalesce(flags, 'none') FROM import_batches WHERE"
        " file_name LIKE '%%$1' ORDER BY batch_id DESC LIMIT 1\"; };"
        " $B ingest --quiet --store $s --layer outfalls outfalls_jiashan_2025_gcj02.csv || true;"
        " [ \"$(flag jiashan_2025_gcj02.csv)\" = crs_suspect ];"
        " $B ingest --quiet --store $s --layer outfalls --crs gcj02"
        " outfalls_jiashan_2025_gcj02.csv || true;"
        " [ \"$(flag jiashan_2025_gcj02.csv)\" = none ];"
        " $B ingest --quiet --store $s --layer outfalls --crs gcj02"
        " outfalls_wujiang_2025_gbk.csv || true;"
        " [ \"$(flag wujiang_2025_gbk.csv)\" = crs_suspect ];"
        " $B ingest --quiet --store $s --layer outfalls outfalls_wujiang_2025_gbk.csv || true;"
        " [ \"$(flag wujiang_2025_gbk.csv)\" = none ];"
        " $B ingest --quiet --store $s --layer outfalls outfalls_qingpu_2025.xlsx || true;"
        " [ \"$(flag qingpu_2025.xlsx)\" = none ]",
        t->store_path);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- 5. files as they really are ----------------------------------------------------- */

static void test_encodings_named_by_line(void **state)
{
    test_store *t = *state;
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e = {0};
    /* a UTF-8 mark over GBK text: "排污口编码,排污口名称,排污口类型,经度,纬度\nG-1,一号排口,…" */
    static const char gbk[] =
        "\xEF\xBB\xBF\xC5\xC5\xCE\xDB\xBF\xDA\xB1\xE0\xC2\xEB,\xC5\xC5\xCE\xDB\xBF\xDA\xC3\xFB"
        "\xB3\xC6,\xC5\xC5\xCE\xDB\xBF\xDA\xC0\xE0\xD0\xCD,\xBE\xAD\xB6\xC8,\xCE\xB3\xB6\xC8\n"
        "G-1,\xD2\xBB\xBA\xC5\xC5\xC5\xBF\xDA,\xB9\xA4\xD2\xB5,120.81,30.81\n";
    const char *path = write_text(t, "bom_gbk.csv", gbk, sizeof gbk - 1);
    const cr_layer_def *d = cr_layer_set_find(t->set, "outfalls");
    assert_int_equal(cr_etl_ingest_file(t->store, d, path, &o, &r, &e), CR_EPARSE);
    assert_non_null(strstr(e.msg, "bom_gbk.csv: starts with a UTF-8 byte-order mark, but the text "
                                  "after it is GB18030/GBK, not UTF-8 (line 1 is the first that is "
                                  "not UTF-8); import it with --encoding gbk (the mark is "
                                  "dropped)"));
    o.encoding = "gbk";
    assert_int_equal(cr_etl_ingest_file(t->store, d, path, &o, &r, &e), CR_OK);
    assert_string_equal(r.encoding, "GB18030 (--encoding; UTF-8 byte-order mark dropped)");
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls_current WHERE"
                                         " source_id = 'G-1' AND name = '一号排口'"),
                     1);
    o.encoding = NULL;
    char mixed[256];
    snprintf(mixed, sizeof mixed,
             "%sM-1,一号排口,工业,120.81,30.81\nM-2,\xB6\xFE,工业,120.82,30.82\n", HEAD);
    assert_int_equal(ingest(t, "outfalls", "mixed.csv", mixed, &o, &r, &e), CR_EPARSE);
    assert_string_equal(strstr(e.msg, "mixed.csv"),
                        "mixed.csv: mixed encodings: line 1 is UTF-8, but line 3 is not "
                        "(GBK?); save the whole file in one encoding, or force one with "
                        "--encoding");
    assert_int_equal(ingest(t, "outfalls", "nothing.csv", "", &o, &r, &e), CR_EINVAL);
    assert_string_equal(strstr(e.msg, "nothing.csv"), "nothing.csv: the file is empty (0 bytes)");
    assert_int_equal(ingest(t, "outfalls", "header.csv", HEAD, &o, &r, &e), CR_EINVAL);
    assert_string_equal(strstr(e.msg, "header.csv"),
                        "header.csv: the file has no rows (a header and nothing under it); "
                        "nothing to import (give --force to record an empty batch)");
}

static void test_titled_sheet_with_merged_header(void **state)
{
    test_store *t = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/etl/data/outfalls_titled.xlsx",
             getenv("CROSSRIVER_SOURCE"));
    cr_ingest_options o = defaults();
    cr_ingest_result r;
    cr_error e = {0};
    const cr_layer_def *d = cr_layer_set_find(t->set, "outfalls");
    assert_int_equal(cr_etl_ingest_file(t->store, d, path, &o, &r, &e), CR_OK);
    assert_int_equal(r.rows_in, 3); /* title, blank and header rows are not rows of data */
    assert_int_equal(r.stored, 3);
    /* source_row is the row the spreadsheet shows; 雨洪排口 under 排污口类型 is a sub-kind */
    char rows[128];
    test_store_text(t,
                    "SELECT group_concat(source_id || '@' || source_row || ':' || kind || '/' ||"
                    " coalesce(sub_kind, '-'), ' ') FROM (SELECT * FROM outfalls ORDER BY"
                    " source_row)",
                    rows, sizeof rows);
    assert_string_equal(rows, "XL-1@5:工业排污口/- XL-2@6:其他排口/雨洪排口 XL-3@8:工业排污口/-");
    char note[256];
    test_store_text(t, "SELECT notes FROM outfalls WHERE source_id = 'XL-2'", note, sizeof note);
    assert_string_equal(note,
                        "排污口类型 '雨洪排口' is a sub-kind: kind 其他排口, sub_kind 雨洪排口");
    /* a CSV with title lines: found, or named with --header-row */
    static const char titled[] = "吴江区排口清单\n填报单位：吴江区生态环境局\n"
                                 "排污口编码,排污口名称,排污口类型,经度,纬度\n"
                                 "T-1,一号,城镇雨洪排口,120.81,30.81\n";
    assert_int_equal(ingest(t, "outfalls", "titled.csv", titled, &o, &r, &e), CR_OK);
    assert_int_equal(test_store_count(t, "SELECT source_row FROM outfalls WHERE source_id = 'T-1'"
                                         " AND kind = '其他排口' AND sub_kind = '雨洪排口'"),
                     4);
    o.header_row = 3; /* named, as a clerk would after looking at the file */
    assert_int_equal(ingest(t, "outfalls", "titled2.csv", titled, &o, &r, &e), CR_OK);
    assert_int_equal(r.stored, 1);
    o.header_row = 9;
    assert_int_equal(ingest(t, "outfalls", "titled3.csv", titled, &o, &r, &e), CR_EINVAL);
    assert_string_equal(strstr(e.msg, "titled3.csv"),
                        "titled3.csv: --header-row 9: the file has no line 9");
}

static void test_constants_for_a_foreign_dataset(void **state)
{
    test_store *t = *state;
    static const char osm[] =
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
        "{\"osm_id\":\"w1\",\"name\":\"河\"},\"geometry\":{\"type\":\"LineString\","
        "\"coordinates\":[[120.81,30.81],[120.82,30.82]]}}]}";
    cr_ingest_options o = defaults();
    cr_field_map map = {"reach_id", "osm_id"};
    o.maps = &map;
    o.n_maps = 1;
    cr_field_map set[2] = {{"reach_class", "tributary"}, {"flow", "sideways"}};
    o.constants = set;
    o.n_constants = 2;
    cr_ingest_result r;
    cr_error e;
    assert_int_equal(ingest(t, "reaches", "osm.geojson", osm, &o, &r, &e), CR_EINVAL);
    assert_string_equal(strstr(e.msg, "osm.geojson"),
                        "osm.geojson: --set flow=sideways: flow 'sideways': not one of "
                        "down, both, gated");
    set[1].source = "down";
    assert_int_equal(ingest(t, "reaches", "osm.geojson", osm, &o, &r, &e), CR_OK);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM reaches_current WHERE reach_id ="
                                         " 'w1' AND reach_class = 'tributary' AND flow = 'down'"),
                     1);
}

/* `crossriver review` lists the flagged rows of one batch; the ingest summary counts them. */
static void test_review_lists_a_batchs_flagged_rows(void **state)
{
    test_store *t = *state;
    test_store_ingest(t, "admin_units", "counties.geojson", COUNTIES, NULL);
    test_store_ingest(t, "reaches", "reach.geojson", REACH, NULL);
    char csv[512];
    snprintf(csv, sizeof csv,
             "排污口编码,排污口名称,排污口类型,河流名称,经度,纬度\n"
             "V-1,近,工业,测试河,120.8502,30.85\nV-2,远,工业,别的河,120.8800,30.86\n");
    const char *path = write_text(t, "v.csv", csv, strlen(csv));
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" ingest --store %s --layer outfalls %s > %s/out.txt &&"
             " grep -q '^batch 3: 1 of its rows flagged for review' %s/out.txt &&"
             " \"$CROSSRIVER_BIN\" review --store %s --batch 3 --json > %s/review.json",
             t->store_path, path, t->dir, t->dir, t->store_path, t->dir);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char rp[160];
    snprintf(rp, sizeof rp, "%s/review.json", t->dir);
    json_t *j = json_load_file(rp, 0, NULL);
    assert_non_null(j);
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "id")), "V-2");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_array_get(rows, 0), "flags")), "unmatched"));
    json_decref(j);
}

int main(void)
{
    cr_store_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_xy_columns_without_crs_are_refused_with_the_crs_to_use,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_survey_closes_only_its_counties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_survey_scope_force_and_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revert_brings_back_what_a_batch_changed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_file_other_options_supersedes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_in_the_wrong_crs_is_flagged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_batches_in_the_wrong_crs_are_flagged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_encodings_named_by_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_titled_sheet_with_merged_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constants_for_a_foreign_dataset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_review_lists_a_batchs_flagged_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
