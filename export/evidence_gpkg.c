/* SPDX-License-Identifier: MIT */
/* The GeoPackage: the features, the trace and the boundary, with each row's provenance in the
 * metadata extension. */
#include "evidence_internal.h"
#include "geo/handlers.h"

#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the GeoPackage ------------------------------------------------------------------------- */

static const char *PROVENANCE_KEYS[] = {"batch_id",       "source_row", "version", "valid_from",
                                        "content_sha256", "raw_x",      "raw_y",   "coord_method"};

/* Append a GeoJSON text as a layer of the GeoPackage at path (created by the first call). */
static cr_status gpkg_layer(const char *path, const char *geojson, const char *layer, int first,
                            cr_error *err)
{
    /* /vsimem/ names are process-wide: each call its own, so concurrent exports never meet */
    static atomic_uint_fast64_t serial;
    char vsi[128];
    snprintf(vsi, sizeof vsi, "/vsimem/crossriver-evidence-%llu-%s.geojson",
             (unsigned long long)atomic_fetch_add(&serial, 1), layer);
    VSIFCloseL(VSIFileFromMemBuffer(vsi, (GByte *)geojson, (vsi_l_offset)strlen(geojson), FALSE));
    GDALDatasetH src = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    char *argv[] = {(char *)"-f",
                    (char *)"GPKG",
                    (char *)"-nln",
                    (char *)layer,
                    (char *)"-lco",
                    (char *)"FID=row_id",
                    first ? NULL : (char *)"-update",
                    NULL};
    GDALVectorTranslateOptions *o = GDALVectorTranslateOptionsNew(argv, NULL);
    int usage_error = 0;
    GDALDatasetH dst =
        src ? GDALVectorTranslate(
                  first ? path : NULL,
                  first ? NULL
                        : GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL),
                  1, &src, o, &usage_error)
            : NULL;
    GDALVectorTranslateOptionsFree(o);
    cr_status rc =
        dst ? CR_OK : cr_error_set(err, CR_EIO, "GeoPackage %s: %s", layer, CPLGetLastErrorMsg());
    if (dst) {
        GDALClose(dst);
    }
    if (src) {
        GDALClose(src);
    }
    VSIUnlink(vsi);
    return rc;
}

/* The layers through GDAL: the features, and the trace and boundary when there are any. */
static cr_status gpkg_layers(const char *path, const json_t *fs, const json_t *trace_geo,
                             const json_t *boundary, const char *as_of, cr_error *err)
{
    unlink(path);
    cr_gdal_init();
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", as_of);
    CPLSetThreadLocalConfigOption("OGR_SQLITE_JOURNAL", "OFF");
    json_t *fc = json_pack("{s:s, s:O}", "type", "FeatureCollection", "features", fs);
    char *text = json_dumps(fc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
    json_decref(fc);
    cr_status rc = gpkg_layer(path, text, "features", 1, err);
    free(text);
    const json_t *more[2][2] = {{trace_geo, NULL}, {boundary, NULL}};
    const char *names[2] = {"trace", "boundary"};
    for (int k = 0; k < 2 && rc == CR_OK; k++) {
        if (more[k][0]) {
            text = json_dumps(more[k][0], JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
            rc = gpkg_layer(path, text, names[k], 0, err);
            free(text);
        }
    }
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    CPLSetThreadLocalConfigOption("OGR_SQLITE_JOURNAL", NULL);
    return rc;
}

/* The tables of the GeoPackage metadata extension, in a transaction left open for the rows. */
static cr_status metadata_tables(sqlite3 *db, const char *path, cr_error *err)
{
    cr_status rc;
    char *sql = sqlite3_mprintf(
        "PRAGMA journal_mode = OFF; BEGIN;"
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT,"
        " extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,"
        " CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));"
        "CREATE TABLE gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,"
        " md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL,"
        " mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');"
        "CREATE TABLE gpkg_metadata_reference (reference_scope TEXT NOT NULL,"
        " table_name TEXT, column_name TEXT, row_id_value INTEGER,"
        " timestamp DATETIME NOT NULL DEFAULT (strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now')),"
        " md_file_id INTEGER NOT NULL, md_parent_id INTEGER,"
        " CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),"
        " CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));"
        "INSERT OR IGNORE INTO gpkg_extensions VALUES"
        " ('gpkg_metadata', NULL, 'gpkg_metadata',"
        " 'http://www.geopackage.org/spec121/#extension_metadata', 'read-write'),"
        " ('gpkg_metadata_reference', NULL, 'gpkg_metadata',"
        " 'http://www.geopackage.org/spec121/#extension_metadata', 'read-write');");
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
             ? CR_OK
             : cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
    sqlite3_free(sql);
    return rc;
}

/* One provenance record per feature (its batch, source row, version, content hash, raw
 * coordinates and how they were converted), referenced by the feature's row. */
static cr_status provenance_rows(sqlite3 *db, const char *path, const json_t *fs, const char *as_of,
                                 cr_error *err)
{
    cr_status rc = CR_OK;
    sqlite3_stmt *md = NULL, *ref = NULL;
    if (rc == CR_OK &&
        (sqlite3_prepare_v2(db,
                            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type,"
                            " metadata) VALUES ('feature', 'https://crossriver.invalid/provenance',"
                            " 'application/json', ?)",
                            -1, &md, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(db,
                            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name,"
                            " row_id_value, timestamp, md_file_id) VALUES ('row', 'features', ?,"
                            " ?, ?)",
                            -1, &ref, NULL) != SQLITE_OK)) {
        rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
    }
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        if (rc != CR_OK) {
            break;
        }
        const json_t *p = json_object_get(f, "properties");
        json_t *prov = json_pack("{s:O?, s:O?}", "layer", json_object_get(p, "layer"), "source_id",
                                 json_object_get(p, "source_id"));
        for (size_t k = 0; k < sizeof PROVENANCE_KEYS / sizeof PROVENANCE_KEYS[0]; k++) {
            json_t *v = json_object_get(p, PROVENANCE_KEYS[k]);
            json_object_set(prov, PROVENANCE_KEYS[k], v ? v : json_null());
        }
        char *ptext = json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(prov);
        sqlite3_reset(md);
        sqlite3_bind_text(md, 1, ptext, -1, SQLITE_TRANSIENT);
        free(ptext);
        if (sqlite3_step(md) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
            break;
        }
        sqlite3_reset(ref);
        sqlite3_bind_int64(ref, 1, (sqlite3_int64)i + 1); /* fid: features in order from 1 */
        sqlite3_bind_text(ref, 2, as_of, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ref, 3, sqlite3_last_insert_rowid(db));
        if (sqlite3_step(ref) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(md);
    sqlite3_finalize(ref);
    return rc;
}

/* The features, the trace and the boundary as a GeoPackage, with each feature row's
 * provenance in the metadata extension (gpkg_metadata, gpkg_metadata_reference); timestamps are
 * the as-of time, so the bytes follow from the store, the case and as-of. */
cr_status cr_ev_write_gpkg(const char *path, const json_t *fs, const json_t *trace_geo,
                           const json_t *boundary, const char *as_of, cr_error *err)
{
    cr_status rc = gpkg_layers(path, fs, trace_geo, boundary, as_of, err);
    sqlite3 *db = NULL;
    if (rc == CR_OK && sqlite3_open(path, &db) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EIO, "%s: cannot open the GeoPackage", path);
    }
    rc = rc == CR_OK ? metadata_tables(db, path, err) : rc;
    rc = rc == CR_OK ? provenance_rows(db, path, fs, as_of, err) : rc;
    if (db) {
        if (rc == CR_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
        }
        sqlite3_close(db);
    }
    return rc;
}
