/* SPDX-License-Identifier: MIT */
/* A wrong CRS caught per batch: the points of a batch are measured against the rivers they name
 * as imported and as read in the one other CRS that a Chinese map app's offset would explain
 * (GCJ-02 ↔ WGS84/CGCS2000; a BD-09 import is tried as WGS84). Rule: the verdict is over the whole
 * batch (medians and a share of points), never one point, so a few misplaced rows do not flag a
 * good batch. */
#include "etl.h"
#include "join.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* A point farther than this from every reach of its river, read either way, tells nothing. */
#define RIVER_SEARCH_M 2000.0
/* Flag when the median distance as imported is at least this … */
#define SUSPECT_MEDIAN_M 150.0
/* … the other reading brings the median down to at most this share of it … */
#define ALT_MEDIAN_SHARE 0.4
/* … and at least this share of the points individually closer. */
#define ALT_CLOSER_SHARE 0.7
/* Fewer points than this decide nothing. */
#define MIN_POINTS 3
/* At most this many points of a batch are measured. */
#define MAX_POINTS 20000

typedef enum { ALT_NONE, ALT_FROM_GCJ02, ALT_TO_WGS84 } alt_reading;

/* The other reading to try for a batch imported in crs (the label import_batches keeps). */
static alt_reading alternative(const char *crs, char suggestion[32])
{
    if (strncmp(crs, "GCJ-02", 6) == 0 || strncmp(crs, "BD-09", 5) == 0) {
        snprintf(suggestion, 32, "EPSG:4490");
        return ALT_TO_WGS84;
    }
    if (strncmp(crs, "EPSG:4326", 9) == 0 || strncmp(crs, "EPSG:4490", 9) == 0) {
        snprintf(suggestion, 32, "gcj02");
        return ALT_FROM_GCJ02;
    }
    suggestion[0] = '\0';
    return ALT_NONE;
}

/* Where a stored point would be had the file been read in the other CRS. */
static void reread(alt_reading alt, const char *crs, double lon, double lat, double *olon,
                   double *olat)
{
    double g_lon, g_lat;
    switch (alt) {
    case ALT_FROM_GCJ02: /* the file was GCJ-02: stored = its values; undo the offset */
        cr_gcj02_to_wgs84(lon, lat, olon, olat);
        return;
    case ALT_TO_WGS84: /* the file was WGS84: the values as written are the point */
        cr_gcj02_from_wgs84(lon, lat, &g_lon, &g_lat);
        if (strncmp(crs, "BD-09", 5) == 0) {
            cr_bd09_from_gcj02(g_lon, g_lat, olon, olat);
        } else {
            *olon = g_lon;
            *olat = g_lat;
        }
        return;
    case ALT_NONE:
        break;
    }
    *olon = lon;
    *olat = lat;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static cr_status batch_layer(sqlite3 *db, int64_t batch_id, char layer[64], char crs[160],
                             cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT layer, crs FROM import_batches WHERE batch_id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "import_batches: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_int64(st, 1, batch_id);
    cr_status rc = CR_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(layer, 64, "%s", (const char *)sqlite3_column_text(st, 0));
        const char *c = (const char *)sqlite3_column_text(st, 1);
        snprintf(crs, 160, "%s", c ? c : "");
    } else {
        rc = cr_error_set(err, CR_EINVAL, "no import batch %lld", (long long)batch_id);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The batch under test and the other reading of its coordinates. */
typedef struct {
    sqlite3 *db;
    const cr_join_ref *ref;
    const cr_layer_def *def;
    int64_t batch_id;
    alt_reading alt;
    const char *crs; /* the CRS the batch was read in */
} batch_test;

/* Measure the batch's points both ways into d0/d1 (n entries); *closer counts d1 < d0. */
static size_t measure(const batch_test *t, double *d0, double *d1, size_t *closer)
{
    sqlite3 *db = t->db;
    const cr_join_ref *ref = t->ref;
    const cr_layer_def *def = t->def;
    int64_t batch_id = t->batch_id;
    alt_reading alt = t->alt;
    const char *crs = t->crs;
    int has_river = cr_layer_def_field_index(def, "river") >= 0;
    char *sql = sqlite3_mprintf("SELECT ST_X(geom), ST_Y(geom), %s FROM \"%w\" WHERE batch_id = ?"
                                " AND geom IS NOT NULL LIMIT %d",
                                has_river ? "river" : "NULL", def->name, MAX_POINTS);
    sqlite3_stmt *st;
    size_t n = 0;
    *closer = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, batch_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            double lon = sqlite3_column_double(st, 0), lat = sqlite3_column_double(st, 1);
            const char *river = (const char *)sqlite3_column_text(st, 2);
            double alon, alat;
            reread(alt, crs, lon, lat, &alon, &alat);
            double a = cr_join_river_distance(ref, lon, lat, river, RIVER_SEARCH_M);
            double b = cr_join_river_distance(ref, alon, alat, river, RIVER_SEARCH_M);
            if (a < 0 || b < 0) {
                continue;
            }
            d0[n] = a;
            d1[n] = b;
            *closer += b < a;
            n++;
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return n;
}

static cr_status record(sqlite3 *db, int64_t batch_id, const cr_crs_verdict *v, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE import_batches SET flags = ?, flag_note = ? WHERE batch_id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "import_batches: %s", sqlite3_errmsg(db));
    }
    if (v->flagged) {
        sqlite3_bind_text(st, 1, "crs_suspect", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v->note, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 3, batch_id);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_DONE
               ? CR_OK
               : cr_error_set(err, CR_EDB, "import_batches: %s", sqlite3_errmsg(db));
}

cr_status cr_join_check_batch_crs(cr_store *store, const cr_join_ref *ref, int64_t batch_id,
                                  cr_crs_verdict *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = cr_store_db(store);
    char layer[64], crs[160];
    cr_status rc = batch_layer(db, batch_id, layer, crs, err);
    if (rc != CR_OK) {
        return rc;
    }
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), layer);
    alt_reading alt = alternative(crs, out->suggestion);
    if (def == NULL || def->geom != CR_GEOM_POINT || !cr_layer_joins_points(def) ||
        alt == ALT_NONE) {
        return CR_OK;
    }
    double *d0 = cr_xmalloc(MAX_POINTS * sizeof *d0);
    double *d1 = cr_xmalloc(MAX_POINTS * sizeof *d1);
    size_t closer = 0;
    batch_test t = {db, ref, def, batch_id, alt, crs};
    size_t n = measure(&t, d0, d1, &closer);
    out->points = (int64_t)n;
    if (n >= MIN_POINTS) {
        out->median_m = median(d0, n);
        out->alt_median_m = median(d1, n);
        out->flagged = out->median_m >= SUSPECT_MEDIAN_M &&
                       out->alt_median_m <= ALT_MEDIAN_SHARE * out->median_m &&
                       (double)closer >= ALT_CLOSER_SHARE * (double)n;
    }
    free(d0);
    free(d1);
    if (out->flagged) {
        snprintf(out->note, sizeof out->note,
                 "its points sit a median %.0f m from the rivers they name (%lld points, read "
                 "as %s); read as %s they would sit a median %.0f m away, %zu of them closer: "
                 "the CRS looks wrong. Re-import the file with --crs %s (that supersedes this "
                 "batch)",
                 out->median_m, (long long)n, crs, out->suggestion, out->alt_median_m, closer,
                 out->suggestion);
    }
    return record(db, batch_id, out, err);
}
