/* SPDX-License-Identifier: MIT */
/* The low-zoom selection of a line layer (etl/generalise.c): at each generalised level a tile
 * keeps at most keep_per_tile lines, the highest Strahler order first, then the longest. A
 * small network where the mainstem reaches are the shortest lines: a selection by length alone
 * would keep the tributaries. Read back by GDAL's MVT driver. */
#include "etl/generalise.h"
#include "network/network.h"
#include "test_common.h"
#include "test_store.h"
#include "tile_check.h"
#include "tiler/tile.h"

#include <gdal.h>
#include <ogr_api.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAIN   8 /* mainstem reaches m0..m7, 0.004° each, order 2 */
#define LEAVES 9 /* tributaries t0..t8, 0.020°..0.028°, order 1 */

/* The network: t0 and t1 meet at M0, where m0 starts; t(j) joins at M(j-1) for j >= 2. */
static void ingest_network(test_store *t)
{
    cr_strbuf sb = {0};
    cr_strbuf_puts(&sb, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (int i = 0; i < MAIN + LEAVES; i++) {
        char id[8];
        double x0, y0, x1, y1;
        if (i < MAIN) {
            snprintf(id, sizeof id, "m%d", i);
            x0 = 120.0 + 0.004 * i, y0 = 31.0, x1 = x0 + 0.004, y1 = 31.0;
        } else {
            int j = i - MAIN;
            double len = 0.020 + 0.001 * j;
            snprintf(id, sizeof id, "t%d", j);
            x1 = 120.0 + 0.004 * (j >= 2 ? j - 1 : 0), y1 = 31.0;
            x0 = x1, y0 = j == 1 ? 31.0 - len : 31.0 + len;
        }
        cr_strbuf_printf(&sb,
                         "%s{\"type\":\"Feature\",\"properties\":{\"reach_id\":\"%s\","
                         "\"reach_class\":\"支流\",\"flow\":\"顺流\"},\"geometry\":{\"type\":"
                         "\"LineString\",\"coordinates\":[[%.6f,%.6f],[%.6f,%.6f]]}}",
                         i ? "," : "", id, x0, y0, x1, y1);
    }
    cr_strbuf_puts(&sb, "]}");
    test_store_ingest(t, "reaches", "reaches.geojson", sb.data, NULL);
    cr_strbuf_cleanup(&sb);
    test_store_network(t);
}

static void generalise(test_store *t, int keep_per_tile, cr_generalise_stats *st)
{
    cr_layer_def *d = (cr_layer_def *)cr_layer_set_find(t->set, "reaches");
    json_object_set_new(json_object_get(d->json, "tile"), "keep_per_tile",
                        json_integer(keep_per_tile));
    cr_error e = {0};
    if (cr_generalise_layer(t->store, d, st, &e) != CR_OK) {
        fail_msg("generalise: %s", e.msg);
    }
}

/* The reach IDs of tile z/x/y as GDAL reads them, sorted and comma-joined into out. */
static size_t tile_reaches(test_store *t, int z, int x, int y, char *out, size_t n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/t.mvt", t->dir);
    GDALDatasetH ds = tile_check_open(t->store, z, x, y, "reaches", path);
    out[0] = '\0';
    if (ds == NULL) {
        return 0;
    }
    OGRLayerH l = GDALDatasetGetLayerByName(ds, "reaches");
    char ids[MAIN + LEAVES][8];
    size_t k = 0;
    OGRFeatureH ft;
    while (l && (ft = OGR_L_GetNextFeature(l)) != NULL) {
        assert_true(k < MAIN + LEAVES);
        snprintf(ids[k++], sizeof ids[0], "%s",
                 OGR_F_GetFieldAsString(ft, OGR_F_GetFieldIndex(ft, "reach_id")));
        OGR_F_Destroy(ft);
    }
    GDALClose(ds);
    qsort(ids, k, sizeof ids[0], (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < k; i++) {
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "", ids[i]);
    }
    return k;
}

static const char *const ALL = "m0,m1,m2,m3,m4,m5,m6,m7,t0,t1,t2,t3,t4,t5,t6,t7,t8";

static void test_levels_keep_the_highest_orders_then_the_longest(void **state)
{
    (void)state;
    GDALAllRegister();
    test_store *t = test_store_new();
    ingest_network(t);
    assert_int_equal(test_store_reach_int(t, "m7", "strahler"), 2);
    assert_int_equal(test_store_reach_int(t, "t8", "strahler"), 1);

    cr_generalise_stats st;
    generalise(t, 10, &st);
    assert_int_equal(st.features, MAIN + LEAVES);
    assert_int_equal(st.kept, 10);
    /* every level (all 17 centres are in one tile at z6–z10) keeps the mainstem and the two
     * longest tributaries, and has its own R*Tree over exactly those */
    for (int level = 6; level <= 10; level++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM reaches_gen%d g JOIN reaches c ON c.fid = g.fid"
                 " WHERE c.reach_id LIKE 'm%%' OR c.reach_id IN ('t7','t8')",
                 level);
        assert_int_equal(test_store_count(t, sql), 10);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM reaches_gen%d", level);
        assert_int_equal(test_store_count(t, sql), 10);
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM idx_reaches_gen%d r JOIN reaches_gen%d g ON"
                 " g.fid = r.pkid",
                 level, level);
        assert_int_equal(test_store_count(t, sql), 10);
    }
    char ids[256];
    const char *kept = "m0,m1,m2,m3,m4,m5,m6,m7,t7,t8";
    assert_int_equal(tile_reaches(t, 6, 53, 26, ids, sizeof ids), 10);
    assert_string_equal(ids, kept);
    assert_int_equal(tile_reaches(t, 8, 213, 104, ids, sizeof ids), 10);
    assert_string_equal(ids, kept);
    /* above the highest level: the source, every reach */
    assert_int_equal(tile_reaches(t, 11, 1706, 838, ids, sizeof ids), MAIN + LEAVES);
    assert_string_equal(ids, ALL);

    /* 0 keeps everything: no level has a selection of its own, and z6 shows every reach */
    generalise(t, 0, &st);
    assert_int_equal(st.kept, MAIN + LEAVES);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM sqlite_master WHERE name LIKE"
                                         " 'idx_reaches_gen%'"),
                     0);
    assert_int_equal(tile_reaches(t, 6, 53, 26, ids, sizeof ids), MAIN + LEAVES);
    assert_string_equal(ids, ALL);

    /* a selection again, then one more than the tile holds: the tributaries by length */
    generalise(t, 12, &st);
    assert_int_equal(tile_reaches(t, 7, 106, 52, ids, sizeof ids), 12);
    assert_string_equal(ids, "m0,m1,m2,m3,m4,m5,m6,m7,t5,t6,t7,t8");
    test_store_free(t);
}

/* The tile's bytes (layers: reaches) into out. */
static void render(test_store *t, int z, int x, int y, cr_strbuf *out)
{
    cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1, .layers = "reaches"};
    cr_tile_stats st;
    cr_error e = {0};
    cr_strbuf_clear(out);
    if (cr_tile_render(t->store, &req, out, &st, &e) != CR_OK) {
        fail_msg("render: %s", e.msg);
    }
}

/* A store from before one table per level: all levels in reaches_generalised (fid, level,
 * wkb). Opening it read-write splits that table into the levels' own; the tiles are the same. */
static void test_a_store_with_one_generalised_table_is_split(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    ingest_network(t);
    cr_generalise_stats st;
    generalise(t, 10, &st);
    cr_strbuf before6 = {0}, before9 = {0}, after = {0};
    render(t, 6, 53, 26, &before6);
    render(t, 9, 426, 209, &before9);
    assert_true(before6.len > 0 && before9.len > 0);
    cr_strbuf sql = {0};
    cr_strbuf_puts(&sql, "CREATE TABLE reaches_generalised (fid INTEGER NOT NULL, level INTEGER"
                         " NOT NULL, wkb BLOB NOT NULL, PRIMARY KEY (level, fid)) WITHOUT ROWID;");
    for (int level = 6; level <= 10; level++) {
        cr_strbuf_printf(&sql,
                         "INSERT INTO reaches_generalised SELECT fid, %d, wkb FROM reaches_gen%d;"
                         " DROP TABLE reaches_gen%d;",
                         level, level, level);
    }
    assert_int_equal(sqlite3_exec(cr_store_db(t->store), sql.data, NULL, NULL, NULL), SQLITE_OK);
    cr_strbuf_cleanup(&sql);
    /* read-only, nothing is changed: the tiles fall back to the source (no level table) */
    cr_store_close(t->store);
    cr_error e = {0};
    assert_int_equal(cr_store_open_readonly(t->store_path, t->set, &t->store, &e), CR_OK);
    render(t, 6, 53, 26, &after);
    assert_false(after.len == before6.len && memcmp(after.data, before6.data, after.len) == 0);
    cr_store_close(t->store);
    assert_int_equal(cr_store_open(t->store_path, t->set, &t->store, &e), CR_OK);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM sqlite_master WHERE name ="
                                         " 'reaches_generalised'"),
                     0);
    for (int level = 6; level <= 10; level++) {
        char q[80];
        snprintf(q, sizeof q, "SELECT count(*) FROM reaches_gen%d", level);
        assert_int_equal(test_store_count(t, q), 10);
    }
    render(t, 6, 53, 26, &after);
    assert_int_equal(after.len, before6.len);
    assert_memory_equal(after.data, before6.data, after.len);
    render(t, 9, 426, 209, &after);
    assert_int_equal(after.len, before9.len);
    assert_memory_equal(after.data, before9.data, after.len);
    cr_strbuf_cleanup(&before6);
    cr_strbuf_cleanup(&before9);
    cr_strbuf_cleanup(&after);
    test_store_free(t);
}

/* A tile reads all its layers in one read transaction of its own, or in the caller's when one
 * is open (then left open): the same bytes either way. */
static void test_a_tile_reads_one_snapshot(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    ingest_network(t);
    sqlite3 *db = cr_store_db(t->store);
    cr_strbuf a = {0}, b = {0};
    render(t, 11, 1706, 838, &a);
    assert_true(a.len > 0);
    assert_int_equal(sqlite3_get_autocommit(db), 1);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    render(t, 11, 1706, 838, &b);
    assert_int_equal(sqlite3_get_autocommit(db), 0); /* the caller's, still open */
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    int began = cr_store_read_begin(t->store);
    assert_int_equal(began, 1);
    assert_int_equal(sqlite3_get_autocommit(db), 0);
    assert_int_equal(cr_store_read_begin(t->store), 0); /* one is open */
    cr_store_read_end(t->store, 0);
    assert_int_equal(sqlite3_get_autocommit(db), 0);
    cr_store_read_end(t->store, began);
    assert_int_equal(sqlite3_get_autocommit(db), 1);
    cr_strbuf_cleanup(&a);
    cr_strbuf_cleanup(&b);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_keep_the_highest_orders_then_the_longest),
        cmocka_unit_test(test_a_store_with_one_generalised_table_is_split),
        cmocka_unit_test(test_a_tile_reads_one_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
