/* SPDX-License-Identifier: MIT */
/* The packed spatial index (store/rtree_bulk.c) against SQLite's own R*Tree: the same boxes
 * as insertion stored, rtreecheck() clean, window queries equal to a scan of the table, and
 * the tree still taking insertions and deletions afterwards; a first import large enough is
 * packed on its own. */
#include "store/store_internal.h"
#include "test_common.h"
#include "test_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* n outfalls on a jittered grid over part of the zone, IDs from first. */
static char *outfalls_csv(int first, int n)
{
    cr_strbuf sb = {0};
    cr_strbuf_puts(&sb, "排污口编码,排污口名称,排污口类型,受纳水体,经度,纬度\n");
    unsigned x = 12345u + (unsigned)first;
    for (int i = first; i < first + n; i++) {
        x = x * 1103515245u + 12345u;
        double lon = 120.40 + (i % 71) * 0.003 + (x >> 20) % 1000 * 1e-6;
        double lat = 30.90 + (i / 71) * 0.002 + (x >> 8) % 1000 * 1e-6;
        cr_strbuf_printf(&sb, "B%05d,口%d,工业,太浦河,%.6f,%.6f\n", i, i, lon, lat);
    }
    return sb.data;
}

/* The index's entries, one line each in fid order. */
static char *entries(test_store *t)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cr_store_db(t->store),
                                        "SELECT pkid, xmin, xmax, ymin, ymax FROM"
                                        " idx_outfalls_geom ORDER BY pkid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    cr_strbuf sb = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        cr_strbuf_printf(&sb, "%lld %.9g %.9g %.9g %.9g\n", (long long)sqlite3_column_int64(st, 0),
                         sqlite3_column_double(st, 1), sqlite3_column_double(st, 2),
                         sqlite3_column_double(st, 3), sqlite3_column_double(st, 4));
    }
    sqlite3_finalize(st);
    return sb.data ? sb.data : cr_xstrdup("");
}

static void assert_rtree_ok(test_store *t)
{
    char report[512];
    test_store_text(t, "SELECT rtreecheck('idx_outfalls_geom')", report, sizeof report);
    assert_string_equal(report, "ok");
}

/* Window queries through the index equal a scan of the rows' own boxes. */
static void assert_windows_agree(test_store *t)
{
    for (int k = 0; k < 12; k++) {
        double x0 = 120.40 + k * 0.017, y0 = 30.90 + k * 0.006, x1 = x0 + 0.03, y1 = y0 + 0.02;
        char q1[320], q2[320];
        snprintf(q1, sizeof q1,
                 "SELECT count(*) FROM idx_outfalls_geom WHERE xmax >= %.6f AND xmin <= %.6f"
                 " AND ymax >= %.6f AND ymin <= %.6f",
                 x0, x1, y0, y1);
        snprintf(q2, sizeof q2,
                 "SELECT count(*) FROM outfalls WHERE geom IS NOT NULL AND MbrMaxX(geom) >= %.6f"
                 " AND MbrMinX(geom) <= %.6f AND MbrMaxY(geom) >= %.6f AND MbrMinY(geom) <= %.6f",
                 x0, x1, y0, y1);
        assert_int_equal(test_store_count(t, q1), test_store_count(t, q2));
    }
}

static void rebuild(test_store *t)
{
    cr_error e = {0};
    assert_int_equal(cr_store_exec(t->store, "BEGIN", &e), CR_OK);
    assert_int_equal(cr_store_rtree_rebuild(t->store, "outfalls", &e), CR_OK);
    assert_int_equal(cr_store_exec(t->store, "COMMIT", &e), CR_OK);
}

static void test_packed_index_equals_inserted_one(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    char *csv = outfalls_csv(0, 3000); /* below the bulk threshold: inserted row by row */
    test_store_ingest(t, "outfalls", "a.csv", csv, NULL);
    free(csv);
    char *inserted = entries(t);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM idx_outfalls_geom"), 3000);
    cr_error e = {0};
    rebuild(t);
    char *packed = entries(t);
    assert_string_equal(packed, inserted); /* the same boxes, rounded as rtree.c rounds */
    assert_rtree_ok(t);
    /* 3,000 entries in leaves of at most 51: two levels above them */
    assert_int_equal(test_store_count(t, "SELECT rtreedepth(data) FROM idx_outfalls_geom_node"
                                         " WHERE nodeno = 1"),
                     2);
    assert_windows_agree(t);
    /* the packed tree keeps taking insertions and deletions */
    csv = outfalls_csv(3000, 400);
    test_store_ingest(t, "outfalls", "b.csv", csv, NULL);
    free(csv);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM idx_outfalls_geom"), 3400);
    assert_rtree_ok(t);
    assert_int_equal(
        cr_store_exec(t->store, "DELETE FROM idx_outfalls_geom WHERE pkid % 3 = 0", &e), CR_OK);
    assert_rtree_ok(t);
    assert_int_equal(cr_store_exec(t->store,
                                   "INSERT INTO idx_outfalls_geom SELECT fid, MbrMinX(geom),"
                                   " MbrMaxX(geom), MbrMinY(geom), MbrMaxY(geom) FROM outfalls"
                                   " WHERE fid % 3 = 0",
                                   &e),
                     CR_OK);
    assert_rtree_ok(t);
    assert_windows_agree(t);
    free(inserted);
    free(packed);
    test_store_free(t);
}

/* An empty layer gets an empty root; one leaf's worth a root that is a leaf. */
static void test_small_and_empty_layers(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    rebuild(t);
    assert_rtree_ok(t);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM idx_outfalls_geom"), 0);
    char *csv = outfalls_csv(0, 40);
    test_store_ingest(t, "outfalls", "a.csv", csv, NULL);
    free(csv);
    char *inserted = entries(t);
    rebuild(t);
    char *packed = entries(t);
    assert_string_equal(packed, inserted);
    assert_rtree_ok(t);
    assert_int_equal(test_store_count(t, "SELECT rtreedepth(data) FROM idx_outfalls_geom_node"
                                         " WHERE nodeno = 1"),
                     0);
    assert_windows_agree(t);
    free(inserted);
    free(packed);
    test_store_free(t);
}

/* A first import of 12,000 rows (above the threshold) is packed by the import itself. */
static void test_large_first_import_is_packed(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    char *csv = outfalls_csv(0, 12000);
    test_store_ingest(t, "outfalls", "a.csv", csv, NULL);
    free(csv);
    assert_rtree_ok(t);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM idx_outfalls_geom"), 12000);
    /* packed nodes are full but for the last of each slice: far fewer than insertion leaves */
    assert_true(test_store_count(t, "SELECT count(*) FROM idx_outfalls_geom_node") <= 12000 / 45);
    assert_windows_agree(t);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_index_equals_inserted_one),
        cmocka_unit_test(test_small_and_empty_layers),
        cmocka_unit_test(test_large_first_import_is_packed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
