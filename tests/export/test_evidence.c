/* SPDX-License-Identifier: MIT */
/* Evidence packages from the samples store through `crossriver export`: byte-identical for the
 * same store, case and as-of; a BagIt bag whose manifests hold; GDAL reads the payload inside
 * the zip; case.json names every import batch with its SHA-256; a boundary case keeps only
 * features near that boundary; tampering is found and named; the store re-run confirms the
 * package; every export is in the audit table. */
#include "core/core.h"
#include "test_common.h"
#include "test_store.h"

#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <proj.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zip.h>

static char g_dir[64];

static int run(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/crossriver-evidence-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    test_samples_store(g_dir);
    GDALAllRegister();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : 1;
}

#define TRACE_CASE                                                                                   \
    "\"$CROSSRIVER_BIN\" export evidence --quiet --store %s/s.sqlite --out %s --as-of "              \
    "2025-11-01T00:00:00Z --issuer 吴江区生态环境局 --at 120.7519,30.9973 --direction down " \
    "--max-km 20"

static char *entry(const char *zip_path, const char *name, size_t *len)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
    assert_non_null(za);
    zip_stat_t sb;
    if (zip_stat(za, name, 0, &sb) != 0) {
        zip_discard(za);
        return NULL;
    }
    zip_file_t *f = zip_fopen(za, name, 0);
    char *buf = malloc(sb.size + 1);
    assert_int_equal(zip_fread(f, buf, sb.size), (zip_int64_t)sb.size);
    buf[sb.size] = '\0';
    zip_fclose(f);
    zip_discard(za);
    *len = sb.size;
    return buf;
}

static void test_same_case_same_bytes_and_a_valid_bag(void **state)
{
    (void)state;
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a.zip", g_dir);
    snprintf(b, sizeof b, "%s/b.zip", g_dir);
    assert_int_equal(run(TRACE_CASE, g_dir, a), 0);
    assert_int_equal(run(TRACE_CASE, g_dir, b), 0);
    assert_int_equal(run("cmp -s %s %s", a, b), 0); /* byte-identical */
    /* the bag: tag files and payload, each manifest line true */
    static const char *const names[] = {"evidence/data/features.geojson",
                                        "evidence/data/features.csv",
                                        "evidence/data/features.kml",
                                        "evidence/data/trace.geojson",
                                        "evidence/data/trace.json",
                                        "evidence/data/case.json",
                                        "evidence/bagit.txt",
                                        "evidence/bag-info.txt",
                                        "evidence/manifest-sha256.txt",
                                        "evidence/tagmanifest-sha256.txt"};
    size_t len;
    char *manifest = entry(a, "evidence/manifest-sha256.txt", &len);
    assert_non_null(manifest);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n;
        char *body = entry(a, names[i], &n);
        if (body == NULL) {
            fail_msg("%s missing", names[i]);
        }
        free(body);
    }
    /* every payload file (tiles included) is in the manifest with its hash */
    size_t payload_bytes = 0, payload_files = 0, tiles = 0;
    int zerr = 0;
    zip_t *za = zip_open(a, ZIP_RDONLY, &zerr);
    char first_tile[128] = "";
    for (zip_int64_t k = 0; k < zip_get_num_entries(za, 0); k++) {
        const char *name = zip_get_name(za, (zip_uint64_t)k, 0);
        if (strncmp(name, "evidence/data/", 14) != 0) {
            continue;
        }
        size_t n;
        char *body = entry(a, name, &n);
        char hex[65], line[256];
        cr_sha256_hex(body, n, hex);
        snprintf(line, sizeof line, "%s  %s\n", hex, name + strlen("evidence/"));
        if (strstr(manifest, line) == NULL) {
            fail_msg("%s: not in the manifest with its hash", name);
        }
        payload_bytes += n;
        payload_files++;
        if (strncmp(name, "evidence/data/tiles/", 20) == 0) {
            tiles++;
            if (!*first_tile) {
                snprintf(first_tile, sizeof first_tile, "%s", name);
            }
        }
        free(body);
    }
    zip_discard(za);
    assert_true(tiles >= 3);
    /* a tile in the package is byte for byte the tile `crossriver tile` makes as of its time */
    int tz, tx, ty;
    assert_int_equal(sscanf(first_tile, "evidence/data/tiles/%d/%d/%d.mvt", &tz, &tx, &ty), 3);
    char tile_path[128], zxy[64], cmd[512];
    snprintf(tile_path, sizeof tile_path, "%s/tile.mvt", g_dir);
    snprintf(zxy, sizeof zxy, "%d/%d/%d", tz, tx, ty);
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" tile %s --as-of 2025-11-01T00:00:00Z --store %s/s.sqlite --out %s"
             " 2>/dev/null",
             zxy, g_dir, tile_path);
    assert_int_equal(system(cmd), 0);
    size_t tn, pn;
    char *from_cli = NULL;
    cr_error terr = {0};
    assert_int_equal(cr_read_file(tile_path, &from_cli, &tn, &terr), CR_OK);
    char *in_pkg = entry(a, first_tile, &pn);
    assert_int_equal(tn, pn);
    assert_memory_equal(from_cli, in_pkg, pn);
    free(from_cli);
    free(in_pkg);
    char *info = entry(a, "evidence/bag-info.txt", &len);
    char oxum[64];
    snprintf(oxum, sizeof oxum, "Payload-Oxum: %zu.%zu\n", payload_bytes, payload_files);
    assert_non_null(strstr(info, oxum));
    assert_non_null(strstr(info, "Source-Organization: 吴江区生态环境局\n"));
    assert_non_null(strstr(info, "Bagging-Date: 2025-11-01\n"));
    free(info);
    free(manifest);
    /* case.json: the case, the software, every import batch the features came from */
    char *cj_text = entry(a, "evidence/data/case.json", &len);
    json_t *cj = json_loads(cj_text, 0, NULL);
    free(cj_text);
    assert_non_null(cj);
    assert_string_equal(json_string_value(json_object_get(cj, "as_of")), "2025-11-01T00:00:00Z");
    assert_non_null(strstr(json_string_value(json_object_get(cj, "software")), "crossriver"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(cj, "case"), "trace"), "direction")),
                        "down");
    json_t *batches = json_object_get(cj, "batches");
    assert_true(json_array_size(batches) >= 3);
    char path[128];
    snprintf(path, sizeof path, "%s/s.sqlite", g_dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    size_t i;
    json_t *bj;
    json_array_foreach(batches, i, bj)
    {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "SELECT sha256, file_name FROM import_batches WHERE batch_id=?", -1,
                           &st, NULL);
        sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(bj, "batch_id")));
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0),
                            json_string_value(json_object_get(bj, "sha256")));
        assert_non_null(json_string_value(json_object_get(bj, "encoding")));
        sqlite3_finalize(st);
    }
    /* GDAL reads the payload inside the zip */
    char vsi[256];
    snprintf(vsi, sizeof vsi, "/vsizip/%s/evidence/data/features.geojson", a);
    GDALDatasetH ds = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    assert_int_equal(OGR_L_GetFeatureCount(GDALDatasetGetLayer(ds, 0), 1),
                     json_integer_value(json_object_get(cj, "features")));
    assert_true(json_integer_value(json_object_get(cj, "features")) > 10);
    GDALClose(ds);
    /* the GeoPackage: ogrinfo opens it; every feature row has its provenance in the metadata
     * extension, pointing at the right row */
    snprintf(vsi, sizeof vsi, "/vsizip/%s/evidence/data/features.gpkg", a);
    char ogr_cmd[512];
    snprintf(ogr_cmd, sizeof ogr_cmd,
             "ogrinfo -so -q %s | grep -q 'features (Point)' && "
             "ogrinfo -so -q %s | grep -q 'trace'",
             vsi, vsi);
    assert_int_equal(system(ogr_cmd), 0);
    ds = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    assert_int_equal(OGR_L_GetFeatureCount(GDALDatasetGetLayerByName(ds, "features"), 1),
                     json_integer_value(json_object_get(cj, "features")));
    OGRLayerH q = GDALDatasetExecuteSQL(
        ds,
        "SELECT count(*) FROM features f JOIN gpkg_metadata_reference r ON r.row_id_value ="
        " f.row_id AND r.table_name = 'features' JOIN gpkg_metadata m ON m.id = r.md_file_id"
        " WHERE json_extract(m.metadata, '$.source_id') = f.source_id AND"
        " json_extract(m.metadata, '$.content_sha256') = f.content_sha256",
        NULL, NULL);
    assert_non_null(q);
    OGRFeatureH qf = OGR_L_GetNextFeature(q);
    assert_int_equal(OGR_F_GetFieldAsInteger64(qf, 0),
                     json_integer_value(json_object_get(cj, "features")));
    OGR_F_Destroy(qf);
    GDALDatasetReleaseResultSet(ds, q);
    GDALClose(ds);
    snprintf(vsi, sizeof vsi, "/vsizip/%s/evidence/data/features.kml", a);
    ds = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    assert_true(OGR_L_GetFeatureCount(GDALDatasetGetLayer(ds, 0), 1) >=
                json_integer_value(json_object_get(cj, "features")));
    GDALClose(ds);
    assert_true(json_array_size(json_object_get(cj, "tiles")) >= 1);
    snprintf(vsi, sizeof vsi, "/vsizip/%s/evidence/data/trace.geojson", a);
    ds = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    assert_true(OGR_L_GetFeatureCount(GDALDatasetGetLayer(ds, 0), 1) > 1);
    GDALClose(ds);
    json_decref(cj);
    /* verified, and made again from its case on the store: the same */
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export verify %s%s > /dev/null", a, ""), 0);
    char store_opt[128];
    snprintf(store_opt, sizeof store_opt, " --store %s/s.sqlite", g_dir);
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export verify %s%s > /dev/null", a, store_opt), 0);
    /* every export is in the audit table, with the package's hash */
    char hex[65];
    cr_error err = {0};
    assert_int_equal(cr_sha256_file(a, hex, &err), CR_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT count(*), max(package_sha256) FROM evidence_exports", -1, &st,
                       NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), hex);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A changed byte, an added file: found and named; not a bag: refused. */
static void test_tampering_is_found(void **state)
{
    (void)state;
    char a[128], t[128];
    snprintf(a, sizeof a, "%s/a.zip", g_dir);
    snprintf(t, sizeof t, "%s/t.zip", g_dir);
    assert_int_equal(run("cp %s %s", a, t), 0);
    int zerr = 0;
    zip_t *za = zip_open(t, 0, &zerr);
    assert_non_null(za);
    size_t len;
    char *csv = entry(a, "evidence/data/features.csv", &len);
    char *p = strstr(csv, "outfalls");
    assert_non_null(p);
    p[0] = 'O'; /* one byte */
    zip_source_t *src = zip_source_buffer(za, csv, len, 1);
    assert_true(zip_file_add(za, "evidence/data/features.csv", src, ZIP_FL_OVERWRITE) >= 0);
    zip_source_t *extra = zip_source_buffer(za, "x", 1, 0);
    assert_true(zip_file_add(za, "evidence/data/extra.txt", extra, 0) >= 0);
    assert_int_equal(zip_close(za), 0);
    char out[128];
    snprintf(out, sizeof out, "%s/verify.txt", g_dir);
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export verify %s > %s", t, out), 4);
    char *text = NULL;
    size_t n = 0;
    cr_error err = {0};
    assert_int_equal(cr_read_file(out, &text, &n, &err), CR_OK);
    assert_non_null(strstr(text, "NOT INTACT"));
    assert_non_null(strstr(text, "data/features.csv: SHA-256"));
    assert_non_null(strstr(text, "evidence/data/extra.txt is not in the manifest"));
    assert_non_null(strstr(text, "Payload-Oxum"));
    free(text);
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export verify %s/s.sqlite%s 2>/dev/null", g_dir, ""),
                     1);
}

/* A stretch of boundary with a buffer: only features within it, on either side. */
static void test_boundary_case(void **state)
{
    (void)state;
    char z[128];
    snprintf(z, sizeof z, "%s/boundary.zip", g_dir);
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export evidence --quiet --store %s/s.sqlite --out %s"
                         " --as-of 2025-11-01T00:00:00Z --boundary 320509:310118 --buffer-km 2",
                         g_dir, z),
                     0);
    size_t len;
    char *text = entry(z, "evidence/data/features.geojson", &len);
    json_t *fc = json_loads(text, 0, NULL);
    free(text);
    json_t *fs = json_object_get(fc, "features");
    assert_true(json_array_size(fs) >= 5);
    size_t i;
    json_t *f;
    int sides = 0;
    json_array_foreach(fs, i, f)
    {
        json_t *p = json_object_get(f, "properties");
        const char *c = json_string_value(json_object_get(p, "county_code"));
        const char *across = json_string_value(json_object_get(p, "boundary_across_code"));
        assert_true((strcmp(c, "320509") == 0 && strcmp(across, "310118") == 0) ||
                    (strcmp(c, "310118") == 0 && strcmp(across, "320509") == 0));
        assert_true(json_number_value(json_object_get(p, "boundary_distance_m")) <= 2000.0);
        assert_non_null(json_object_get(p, "raw_x")); /* the source coordinates beside */
        assert_non_null(json_object_get(p, "content_sha256"));
        sides |= strcmp(c, "320509") == 0 ? 1 : 2;
    }
    assert_int_equal(sides, 3);
    json_decref(fc);
    /* the stretch of boundary itself: a line, in the GeoJSON and the GeoPackage */
    text = entry(z, "evidence/data/boundary.geojson", &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "LineString"));
    free(text);
    char vsi[256];
    snprintf(vsi, sizeof vsi, "/vsizip/%s/evidence/data/features.gpkg", z);
    GDALDatasetH ds = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    assert_int_equal(OGR_L_GetFeatureCount(GDALDatasetGetLayerByName(ds, "boundary"), 1), 1);
    GDALClose(ds);
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export evidence --quiet --store %s/s.sqlite --out %s"
                         " --boundary 320509:310118 2>/dev/null",
                         g_dir, z),
                     2); /* no --as-of */
}

/* The features of a boundary package made with extra options on store path (a copy). */
static json_t *boundary_features(const char *store, const char *as_of, const char *extra)
{
    char z[160], cmd[1024];
    snprintf(z, sizeof z, "%s/asof.zip", g_dir);
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" export evidence --quiet --store %s --out %s --as-of %s"
             " --boundary 320509:310118 --buffer-km 5 %s",
             store, z, as_of, extra);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    size_t len;
    char *text = entry(z, "evidence/data/features.geojson", &len);
    json_t *fc = json_loads(text, 0, NULL);
    free(text);
    text = entry(z, "evidence/data/case.json", &len);
    json_t *cj = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(fc, "case", cj);
    return fc;
}

static int count_where(const json_t *fc, const char *key, const char *value)
{
    int n = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fc, "features"), i, f)
    {
        const char *v = json_string_value(json_object_get(json_object_get(f, "properties"), key));
        n += value ? (v && strncmp(v, value, strlen(value)) == 0) : v != NULL;
    }
    return n;
}

/* As of T: the versions valid then (with the joins they had), only batches dated by T; the
 * window cuts events, never the inventory; personal data only when asked, and audited. */
static void test_as_of_window_and_personal_data(void **state)
{
    (void)state;
    char store[128];
    snprintf(store, sizeof store, "%s/asof.sqlite", g_dir);
    assert_int_equal(run("sqlite3 %s/s.sqlite \"VACUUM INTO '%s'\"", g_dir, store), 0);
    json_t *sep = boundary_features(store, "2025-09-01T00:00:00Z", "");
    json_t *nov = boundary_features(store, "2025-11-01T00:00:00Z", "");
    /* the Q3 update (valid from 2025-09-15) is not in September's package, but is in November's */
    assert_int_equal(count_where(sep, "valid_from", "2025-09-15"), 0);
    assert_true(count_where(nov, "valid_from", "2025-09-15") > 0);
    size_t n_sep = json_array_size(json_object_get(sep, "features"));
    assert_true(n_sep > 10);
    /* every version of September's, closed since or not, has its joins */
    assert_int_equal(count_where(sep, "county_code", NULL), (int)n_sep);
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(json_object_get(sep, "case"), "batches"), i, b)
    {
        assert_true(
            strncmp(json_string_value(json_object_get(b, "valid_from")), "2025-09-01", 10) <= 0);
    }
    /* June to October cuts hyacinth reports and ship records, not the outfalls surveyed before */
    json_t *win =
        boundary_features(store, "2025-11-01T00:00:00Z", "--from 2025-06-01 --to 2025-10-31");
    assert_int_equal(count_where(win, "layer", "outfalls"), count_where(nov, "layer", "outfalls"));
    assert_true(count_where(nov, "layer", "outfalls") > 10);
    /* personal data: left out, or included with the flag and audited */
    assert_int_equal(count_where(nov, "contact_phone", NULL), 0);
    json_t *pers = boundary_features(store, "2025-11-01T00:00:00Z", "--include-personal");
    assert_true(count_where(pers, "contact_phone", NULL) > 0);
    assert_int_equal(
        run("sqlite3 %s \"SELECT count(*) FROM evidence_exports WHERE personal_data = 1;"
            " SELECT count(*) FROM audit_log WHERE action = 'evidence package with"
            " personal data'\" | tr '\\n' ' ' | grep -qx '1 1 '%s",
            store, ""),
        0);
    assert_int_equal(run("\"$CROSSRIVER_BIN\" export evidence --quiet --store %s --out /dev/null"
                         " --as-of 2024-01-01T00:00:00Z --boundary 320509:310118 2>&1 | grep -q"
                         " 'as of 2024-01-01T00:00:00Z the store held nothing'%s",
                         store, ""),
                     0);
    json_decref(sep);
    json_decref(nov);
    json_decref(win);
    json_decref(pers);
}

/* verify --store re-makes a package as of its own time: a later import leaves it reproducible,
 * a back-dated one does not, and the package stays intact either way. */
static void test_verify_after_later_imports(void **state)
{
    (void)state;
    char store[128], z[128], csv[160], cmd[2048];
    snprintf(store, sizeof store, "%s/later.sqlite", g_dir);
    snprintf(z, sizeof z, "%s/later.zip", g_dir);
    snprintf(csv, sizeof csv, "%s/later.csv", g_dir);
    assert_int_equal(run("sqlite3 %s/s.sqlite \"VACUUM INTO '%s'\"", g_dir, store), 0);
    json_t *fc = boundary_features(store, "2025-11-01T00:00:00Z", "");
    assert_int_equal(run("cp %s/asof.zip %s", g_dir, z), 0);
    const json_t *f = NULL;
    size_t i;
    json_t *each;
    json_array_foreach(json_object_get(fc, "features"), i, each)
    {
        const char *layer =
            json_string_value(json_object_get(json_object_get(each, "properties"), "layer"));
        if (f == NULL && strcmp(layer, "outfalls") == 0) {
            f = each;
        }
    }
    assert_non_null(f);
    const json_t *p = json_object_get(f, "properties");
    const json_t *xy = json_object_get(json_object_get(f, "geometry"), "coordinates");
    FILE *out = fopen(csv, "w");
    fprintf(out, "排污口编码,排污口名称,排污口类型,经度,纬度\n%s,%s（更名）,%s,%.7f,%.7f\n",
            json_string_value(json_object_get(p, "source_id")),
            json_string_value(json_object_get(p, "name")),
            json_string_value(json_object_get(p, "kind")), json_number_value(json_array_get(xy, 0)),
            json_number_value(json_array_get(xy, 1)));
    fclose(out);
    const char *verify = "\"$CROSSRIVER_BIN\" export verify --store %s %s > %s/verify.txt";
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" ingest --quiet --store %s --layer outfalls --valid-from"
             " 2025-12-01 %s",
             store, csv);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, verify, store, z, g_dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(run("grep -q 'intact' %s/verify.txt && grep -q 'the store still reproduces"
                         " it' %s/verify.txt",
                         g_dir, g_dir),
                     0);
    /* the same file again, dated before the package's time: the store's past has changed */
    snprintf(cmd, sizeof cmd,
             "\"$CROSSRIVER_BIN\" ingest --quiet --store %s --layer outfalls --valid-from"
             " 2025-10-01 %s",
             store, csv);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, verify, store, z, g_dir);
    assert_int_equal(system(cmd), 0); /* intact: exit 0 */
    assert_int_equal(run("grep -q ': intact' %s/verify.txt && grep -q 'the store no longer"
                         " reproduces it' %s/verify.txt",
                         g_dir, g_dir),
                     0);
    json_decref(fc);
}

/* The report's SVG map puts every feature where PROJ's Web Mercator says (within 0.05 px of the
 * map's frame, from data-bbox), and the report renders in Chromium (screenshot kept). */
static void test_report_map_and_browser(void **state)
{
    (void)state;
    char a[128];
    snprintf(a, sizeof a, "%s/a.zip", g_dir);
    size_t len;
    char *svg = entry(a, "evidence/data/map.svg", &len);
    assert_non_null(svg);
    double box[4];
    const char *bb = strstr(svg, "data-bbox=\"");
    assert_non_null(bb);
    assert_int_equal(
        sscanf(bb, "data-bbox=\"%lf,%lf,%lf,%lf\"", &box[0], &box[1], &box[2], &box[3]), 4);
    assert_non_null(strstr(svg, "data-reach=")); /* the rivers are drawn */
    assert_non_null(strstr(svg, "data-county="));
    assert_non_null(strstr(svg, " km</text>")); /* scale bar */
    char *gj = entry(a, "evidence/data/features.geojson", &len);
    json_t *fc = json_loads(gj, 0, NULL);
    free(gj);
    PJ_CONTEXT *ctx = proj_context_create();
    PJ *p0 = proj_create_crs_to_crs(ctx, "EPSG:4326", "EPSG:3857", NULL);
    PJ *pj = proj_normalize_for_visualization(ctx, p0);
    PJ_COORD lo = proj_trans(pj, PJ_FWD, proj_coord(box[0], box[1], 0, 0));
    PJ_COORD hi = proj_trans(pj, PJ_FWD, proj_coord(box[2], box[3], 0, 0));
    double scale = fmin((900.0 - 60.0) / (hi.xy.x - lo.xy.x), (600.0 - 60.0) / (hi.xy.y - lo.xy.y));
    size_t i, checked = 0;
    json_t *f;
    json_array_foreach(json_object_get(fc, "features"), i, f)
    {
        const json_t *p = json_object_get(f, "properties");
        const json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
        if (!json_is_number(json_array_get(c, 0))) {
            continue;
        }
        char key[160];
        snprintf(key, sizeof key, "data-id=\"%s:%s\" cx=\"",
                 json_string_value(json_object_get(p, "layer")),
                 json_string_value(json_object_get(p, "source_id")));
        const char *at = strstr(svg, key);
        assert_non_null(at);
        double cx, cy;
        assert_int_equal(sscanf(at + strlen(key), "%lf\" cy=\"%lf", &cx, &cy), 2);
        PJ_COORD m = proj_trans(pj, PJ_FWD,
                                proj_coord(json_number_value(json_array_get(c, 0)),
                                           json_number_value(json_array_get(c, 1)), 0, 0));
        double want_x = 30.0 + (m.xy.x - lo.xy.x) * scale;
        double want_y = 600.0 - 30.0 - (m.xy.y - lo.xy.y) * scale;
        if (fabs(cx - want_x) > 0.05 || fabs(cy - want_y) > 0.05) {
            fail_msg("%s at (%.2f, %.2f), PROJ puts it at (%.2f, %.2f)", key, cx, cy, want_x,
                     want_y);
        }
        checked++;
    }
    assert_true(checked > 10);
    proj_destroy(pj);
    proj_destroy(p0);
    proj_context_destroy(ctx);
    json_decref(fc);
    free(svg);
    char *html = entry(a, "evidence/data/report.html", &len);
    char report[128];
    snprintf(report, sizeof report, "%s/report.html", g_dir);
    FILE *out = fopen(report, "wb");
    assert_int_equal(fwrite(html, 1, len, out), len);
    fclose(out);
    free(html);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node \"%s/tests/export/report_check.mjs\" %s %s/report.png",
             getenv("CROSSRIVER_SOURCE"), report, g_dir);
    assert_int_equal(system(cmd), 0);
}

/* The readings of the sections in the case, as known at the as-of time: every row of
 * readings.csv is the store's value at its batch and source row, nothing sampled or imported
 * after the as-of time is in it, its batches are in case.json, and the report charts them. */
static void test_readings_in_the_package(void **state)
{
    (void)state;
    char a[128];
    snprintf(a, sizeof a, "%s/readings.zip", g_dir);
    assert_int_equal(run(TRACE_CASE, g_dir, a), 0);
    size_t len;
    char *csv = entry(a, "evidence/data/readings.csv", &len);
    assert_non_null(csv);
    assert_memory_equal(csv, "\xEF\xBB\xBF", 3);
    char path[128];
    snprintf(path, sizeof path, "%s/s.sqlite", g_dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT a.value FROM wq_readings a JOIN wq_series r USING"
                                        " (series_id) WHERE r.section_id = ? AND r.indicator = ?"
                                        " AND a.batch_id = ? AND a.source_row = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t rows = 0;
    char last_time[20] = "";
    json_t *batches_seen = json_object();
    for (char *line = strchr(csv, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char sec[32], ind[16], when[24], val[32], batch[16], row[16];
        /* "section","indicator","name","method","party","time","value","unit","censored",
         * "flag","batch","row": quoted cells without commas inside */
        char *cells[12];
        char *copy = strndup(line, strcspn(line, "\n"));
        size_t k = 0;
        for (char *c = strtok(copy, ","); c && k < 12; c = strtok(NULL, ",")) {
            cells[k++] = c;
        }
        assert_int_equal(k, 12);
        for (size_t j = 0; j < 12; j++) {
            cells[j][strlen(cells[j]) - 1] = '\0'; /* the quotes */
            cells[j]++;
        }
        snprintf(sec, sizeof sec, "%s", cells[0]);
        snprintf(ind, sizeof ind, "%s", cells[1]);
        snprintf(when, sizeof when, "%s", cells[5]);
        snprintf(val, sizeof val, "%s", cells[6]);
        snprintf(batch, sizeof batch, "%s", cells[10]);
        snprintf(row, sizeof row, "%s", cells[11]);
        free(copy);
        sqlite3_bind_text(st, 1, sec, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, ind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, atoll(batch));
        sqlite3_bind_int64(st, 4, atoll(row));
        if (sqlite3_step(st) != SQLITE_ROW ||
            fabs(sqlite3_column_double(st, 0) - atof(val)) > 1e-6 * fmax(1, fabs(atof(val)))) {
            fail_msg("readings.csv row %zu (%s %s %s) is not the store's value", rows + 1, sec, ind,
                     when);
        }
        sqlite3_reset(st);
        if (strcmp(when, last_time) > 0) {
            snprintf(last_time, sizeof last_time, "%s", when);
        }
        json_object_set_new(batches_seen, batch, json_true());
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(csv);
    assert_true(rows > 1000); /* the Taipu stations in the trace's reach */
    /* as of 2025-11-01T00:00Z = 08:00 CST: nothing later */
    assert_true(strcmp(last_time, "2025-11-01T08:00:00") <= 0);
    char *cj_text = entry(a, "evidence/data/case.json", &len);
    json_t *cj = json_loads(cj_text, 0, NULL);
    free(cj_text);
    const char *b;
    json_t *v;
    json_object_foreach(batches_seen, b, v)
    {
        int found = 0;
        size_t i;
        json_t *bj;
        json_array_foreach(json_object_get(cj, "batches"), i, bj)
        {
            found |= json_integer_value(json_object_get(bj, "batch_id")) == atoll(b) &&
                     strcmp(json_string_value(json_object_get(bj, "layer")), "readings") == 0;
        }
        if (!found) {
            fail_msg("readings batch %s is not in case.json", b);
        }
    }
    json_decref(cj);
    json_decref(batches_seen);
    char *html = entry(a, "evidence/data/report.html", &len);
    assert_non_null(strstr(html, "SEC-TPH-KJ 太浦河康家村"));
    assert_non_null(strstr(html, "<polyline"));
    assert_null(strstr(html, "holds no section readings"));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_case_same_bytes_and_a_valid_bag),
        cmocka_unit_test(test_tampering_is_found),
        cmocka_unit_test(test_report_map_and_browser),
        cmocka_unit_test(test_boundary_case),
        cmocka_unit_test(test_as_of_window_and_personal_data),
        cmocka_unit_test(test_verify_after_later_imports),
        cmocka_unit_test(test_readings_in_the_package),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
