/* SPDX-License-Identifier: MIT */
/* An evidence package: the case, its payload stage by stage (evidence_*.c), the bag (bag.c), the
 * audit row. Rule: everything follows from the store, the case and the as-of time — the same
 * three give the same bytes. */
#include "evidence_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A package in the making: the case, what the stages found, the payload so far. */
typedef struct {
    const cr_trace_context *cx;
    const cr_evidence_case *c;
    const char *zip_path;
    json_t *trace, *trace_geo; /* the trace report and its GeoJSON, when the case has one */
    json_t *fs;                /* the features in scope */
    json_t *ids;               /* the batches they came from */
    json_t *tiles;             /* the tiles in the package */
    json_t *readings;          /* section_id → its readings' summary and chart */
    payloads ps;
} package;

static void add_json(payloads *ps, const char *name, const json_t *j)
{
    char *s = cr_ev_dumps(j);
    cr_ev_add(ps, name, s, strlen(s));
    free(s);
}

/* The trace (twice: the report and its GeoJSON) and the features in scope, as of the case. */
static cr_status find_case(package *p, cr_error *err)
{
    const cr_evidence_case *c = p->c;
    cr_status rc = CR_OK;
    if (c->has_trace) {
        cr_trace_request t = c->trace;
        t.geojson = 0;
        t.access = c->include_personal ? cr_access_all() : NULL; /* liaisons' mobiles */
        rc = cr_api_trace(p->cx, &t, &p->trace, err);
        if (rc == CR_OK) {
            t.geojson = 1;
            rc = cr_api_trace(p->cx, &t, &p->trace_geo, err);
        }
    }
    return rc == CR_OK ? cr_ev_features(p->cx->store, c, p->trace, p->fs, p->ids, err) : rc;
}

/* The features as GeoJSON, CSV and KML, the trace, and the case area's tiles. */
static cr_status add_data(package *p, cr_error *err)
{
    json_t *fc = json_pack("{s:s, s:O}", "type", "FeatureCollection", "features", p->fs);
    add_json(&p->ps, "data/features.geojson", fc);
    json_decref(fc);
    cr_strbuf text = {0};
    cr_ev_features_csv(p->fs, &text);
    cr_ev_add(&p->ps, "data/features.csv", text.data, text.len);
    cr_strbuf_clear(&text);
    cr_ev_features_kml(p->fs, p->trace_geo, &text);
    cr_ev_add(&p->ps, "data/features.kml", text.data, text.len);
    cr_strbuf_cleanup(&text);
    if (p->trace_geo) {
        add_json(&p->ps, "data/trace.geojson", p->trace_geo);
        add_json(&p->ps, "data/trace.json", p->trace);
    }
    return cr_ev_case_tiles(p->cx->store, p->fs, p->trace_geo, &p->ps, p->tiles, err);
}

/* The readings of the sections in scope, as known at the as-of time, with their batches. */
static cr_status add_readings(package *p, cr_error *err)
{
    cr_strbuf csv = {0};
    cr_status rc = cr_ev_readings(p->cx->store, p->fs, p->c->as_of, p->ids, &csv, p->readings, err);
    if (rc == CR_OK && json_object_size(p->readings) > 0) {
        cr_ev_add(&p->ps, "data/readings.csv", csv.data, csv.len);
    }
    cr_strbuf_cleanup(&csv);
    return rc;
}

/* The boundary line (a boundary case) and the GeoPackage of everything. */
static cr_status add_boundary_and_gpkg(package *p, cr_error *err)
{
    const cr_evidence_case *c = p->c;
    json_t *boundary = c->boundary ? cr_ev_boundary_geojson(p->cx->store, c->boundary, err) : NULL;
    cr_status rc = c->boundary && boundary == NULL ? err->code : CR_OK;
    if (boundary) {
        add_json(&p->ps, "data/boundary.geojson", boundary);
    }
    char gpkg[1100];
    snprintf(gpkg, sizeof gpkg, "%s.partial.gpkg", p->zip_path);
    if (rc == CR_OK) {
        rc = cr_ev_write_gpkg(gpkg, p->fs, p->trace_geo, boundary, c->as_of, err);
    }
    char *data = NULL;
    size_t len = 0;
    if (rc == CR_OK && cr_read_file(gpkg, &data, &len, err) == CR_OK) {
        cr_ev_add(&p->ps, "data/features.gpkg", data, len);
    }
    free(data);
    unlink(gpkg);
    json_decref(boundary);
    return rc;
}

/* case.json, and the map and the report when the case has an area. */
static void add_case_and_report(package *p)
{
    const cr_evidence_case *c = p->c;
    sqlite3 *db = cr_store_db(p->cx->store);
    json_t *cj = json_pack("{s:o, s:s, s:s, s:s?, s:I, s:O, s:o}", "case", cr_ev_case_json(c),
                           "software", "crossriver " CR_VERSION, "as_of", c->as_of, "issuer",
                           c->issuer, "features", (json_int_t)json_array_size(p->fs), "tiles",
                           p->tiles, "batches", cr_ev_batches(db, p->ids));
    add_json(&p->ps, "data/case.json", cj);
    double box[4];
    cr_ev_case_box(p->fs, p->trace_geo, box);
    if (box[0] <= box[2]) {
        cr_strbuf svg = {0}, html = {0};
        cr_ev_map_svg(db, p->fs, p->trace_geo, box, &svg);
        cr_ev_add(&p->ps, "data/map.svg", svg.data, svg.len);
        cr_ev_report_html(cj, p->fs, p->trace, svg.data, p->readings, &html);
        cr_ev_add(&p->ps, "data/report.html", html.data, html.len);
        cr_strbuf_cleanup(&svg);
        cr_strbuf_cleanup(&html);
    }
    json_decref(cj);
}

/* The package's row in evidence_exports (and the audit log when it holds personal data). */
static cr_status record_export(cr_store *store, const cr_evidence_case *c, const char *zip_path,
                               const char *audit_by, const char sha[65], cr_error *err)
{
    json_t *cj = cr_ev_case_json(c);
    char *cs = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(cj);
    char now[21];
    cr_now_iso8601(now);
    char *sql = sqlite3_mprintf(
        "CREATE TABLE IF NOT EXISTS evidence_exports (export_id INTEGER PRIMARY KEY,"
        " exported_at TEXT NOT NULL, exported_by TEXT NOT NULL, as_of TEXT NOT NULL,"
        " issuer TEXT, case_json TEXT NOT NULL, package TEXT NOT NULL,"
        " package_sha256 TEXT NOT NULL, personal_data INTEGER NOT NULL DEFAULT 0);");
    cr_status rc = cr_store_exec(store, sql, err);
    sqlite3_free(sql);
    /* stores from before personal data was audited */
    cr_store_exec(store,
                  "ALTER TABLE evidence_exports ADD COLUMN personal_data INTEGER NOT"
                  " NULL DEFAULT 0",
                  NULL);
    sql = sqlite3_mprintf(
        "INSERT INTO evidence_exports (exported_at, exported_by, as_of, issuer, case_json,"
        " package, package_sha256, personal_data) VALUES (%Q, %Q, %Q, %Q, %Q, %Q, %Q, %d);",
        now, audit_by, c->as_of, c->issuer, cs, zip_path, sha, c->include_personal);
    rc = rc == CR_OK ? cr_store_exec(store, sql, err) : rc;
    if (rc == CR_OK && c->include_personal) {
        rc = cr_store_audit(store, audit_by, "evidence package with personal data", zip_path, err);
    }
    sqlite3_free(sql);
    free(cs);
    return rc;
}

static cr_status check_case(cr_store *store, const cr_evidence_case *c, time_t *mtime,
                            cr_error *err)
{
    if (!cr_ev_parse_as_of(c->as_of, mtime)) {
        return cr_error_set(err, CR_EINVAL, "as-of: YYYY-MM-DDTHH:MM:SSZ (UTC) is required");
    }
    if (!c->boundary && !c->has_trace) {
        return cr_error_set(err, CR_EINVAL,
                            "a case needs a boundary (A:B) or an incident/section trace");
    }
    char first[32] = "";
    if (!cr_ev_store_held_anything(store, c->as_of, first)) {
        return cr_error_set(err, CR_EINVAL,
                            "as of %s the store held nothing: its earliest batch is dated %s",
                            c->as_of, first[0] ? first : "(none: nothing was imported)");
    }
    return CR_OK;
}

cr_status cr_evidence_export(const cr_trace_context *cx, const cr_evidence_case *c,
                             const char *zip_path, const char *audit_by, char sha_out[65],
                             json_t **summary, cr_error *err)
{
    cr_store *store = cx->store;
    time_t mtime;
    cr_status rc = check_case(store, c, &mtime, err);
    if (rc != CR_OK) {
        return rc;
    }
    package p = {
        cx, c, zip_path, NULL, NULL, json_array(), json_object(), json_array(), json_object(), {0}};
    rc = cr_store_as_of_begin(store, c->as_of, err);
    rc = rc == CR_OK ? find_case(&p, err) : rc;
    rc = rc == CR_OK ? add_data(&p, err) : rc;
    rc = rc == CR_OK ? add_readings(&p, err) : rc;
    rc = rc == CR_OK ? add_boundary_and_gpkg(&p, err) : rc;
    if (rc == CR_OK) {
        add_case_and_report(&p);
        cr_ev_bag(&p.ps, c->issuer, c->as_of);
        rc = cr_ev_write_zip_atomic(zip_path, &p.ps, mtime, err);
    }
    for (size_t i = 0; i < p.ps.n; i++) {
        cr_strbuf_cleanup(&p.ps.items[i].body);
    }
    free(p.ps.items);
    json_decref(p.tiles);
    json_decref(p.readings);
    cr_store_as_of_end(store);
    rc = rc == CR_OK ? cr_sha256_file(zip_path, sha_out, err) : rc;
    if (rc == CR_OK && audit_by) {
        rc = record_export(store, c, zip_path, audit_by, sha_out, err);
    }
    if (rc == CR_OK && summary) {
        *summary =
            json_pack("{s:s, s:s, s:I, s:b}", "package", zip_path, "sha256", sha_out, "features",
                      (json_int_t)json_array_size(p.fs), "trace", p.trace_geo != NULL);
    }
    json_decref(p.fs);
    json_decref(p.ids);
    json_decref(p.trace);
    json_decref(p.trace_geo);
    return rc;
}
