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

cr_status cr_evidence_export(const cr_trace_context *cx, const cr_evidence_case *c,
                             const char *zip_path, const char *audit_by, char sha_out[65],
                             json_t **summary, cr_error *err)
{
    cr_store *store = cx->store;
    time_t mtime;
    if (!cr_ev_parse_as_of(c->as_of, &mtime)) {
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
    json_t *trace = NULL, *trace_geo = NULL;
    cr_status rc = cr_store_as_of_begin(store, c->as_of, err);
    if (rc == CR_OK && c->has_trace) {
        cr_trace_request t = c->trace;
        t.geojson = 0;
        t.access = c->include_personal ? cr_access_all() : NULL; /* liaisons' mobiles */
        rc = cr_api_trace(cx, &t, &trace, err);
        if (rc == CR_OK) {
            t.geojson = 1;
            rc = cr_api_trace(cx, &t, &trace_geo, err);
        }
    }
    json_t *fs = json_array(), *ids = json_object();
    if (rc == CR_OK) {
        rc = cr_ev_features(store, c, trace, fs, ids, err);
    }
    payloads ps = {0};
    json_t *tiles_json = json_array();
    if (rc == CR_OK) {
        json_t *fc = json_pack("{s:s, s:O}", "type", "FeatureCollection", "features", fs);
        char *s = cr_ev_dumps(fc);
        cr_ev_add(&ps, "data/features.geojson", s, strlen(s));
        free(s);
        json_decref(fc);
        cr_strbuf text = {0};
        cr_ev_features_csv(fs, &text);
        cr_ev_add(&ps, "data/features.csv", text.data, text.len);
        cr_strbuf_clear(&text);
        cr_ev_features_kml(fs, trace_geo, &text);
        cr_ev_add(&ps, "data/features.kml", text.data, text.len);
        cr_strbuf_cleanup(&text);
        if (trace_geo) {
            s = cr_ev_dumps(trace_geo);
            cr_ev_add(&ps, "data/trace.geojson", s, strlen(s));
            free(s);
            s = cr_ev_dumps(trace);
            cr_ev_add(&ps, "data/trace.json", s, strlen(s));
            free(s);
        }
        rc = cr_ev_case_tiles(store, fs, trace_geo, &ps, tiles_json, err);
    }
    if (rc == CR_OK) {
        json_t *boundary = c->boundary ? cr_ev_boundary_geojson(store, c->boundary, err) : NULL;
        rc = c->boundary && boundary == NULL ? err->code : CR_OK;
        if (boundary) {
            char *s = cr_ev_dumps(boundary);
            cr_ev_add(&ps, "data/boundary.geojson", s, strlen(s));
            free(s);
        }
        char gpkg[1100];
        snprintf(gpkg, sizeof gpkg, "%s.partial.gpkg", zip_path);
        if (rc == CR_OK) {
            rc = cr_ev_write_gpkg(gpkg, fs, trace_geo, boundary, c->as_of, err);
        }
        char *data = NULL;
        size_t len = 0;
        if (rc == CR_OK && cr_read_file(gpkg, &data, &len, err) == CR_OK) {
            cr_ev_add(&ps, "data/features.gpkg", data, len);
        }
        free(data);
        unlink(gpkg);
        json_decref(boundary);
    }
    if (rc == CR_OK) {
        json_t *cj = json_pack("{s:o, s:s, s:s, s:s?, s:I, s:O, s:o}", "case", cr_ev_case_json(c),
                               "software", "crossriver " CR_VERSION, "as_of", c->as_of, "issuer",
                               c->issuer, "features", (json_int_t)json_array_size(fs), "tiles",
                               tiles_json, "batches", cr_ev_batches(cr_store_db(store), ids));
        char *s = cr_ev_dumps(cj);
        cr_ev_add(&ps, "data/case.json", s, strlen(s));
        free(s);
        double box[4];
        cr_ev_case_box(fs, trace_geo, box);
        if (box[0] <= box[2]) {
            cr_strbuf svg = {0}, html = {0};
            cr_ev_map_svg(cr_store_db(store), fs, trace_geo, box, &svg);
            cr_ev_add(&ps, "data/map.svg", svg.data, svg.len);
            cr_ev_report_html(cj, fs, trace, svg.data, &html);
            cr_ev_add(&ps, "data/report.html", html.data, html.len);
            cr_strbuf_cleanup(&svg);
            cr_strbuf_cleanup(&html);
        }
        json_decref(cj);
        /* BagIt: the manifest over data/, then the tag files and their manifest */
        cr_strbuf man = {0};
        size_t oxum_bytes = 0, n_payload = ps.n;
        for (size_t i = 0; i < ps.n; i++) {
            char hex[65];
            cr_sha256_hex(ps.items[i].body.data ? ps.items[i].body.data : "", ps.items[i].body.len,
                          hex);
            cr_strbuf_printf(&man, "%s  %s\n", hex, ps.items[i].name);
            oxum_bytes += ps.items[i].body.len;
        }
        const char *bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
        cr_strbuf info = {0};
        cr_strbuf_printf(&info,
                         "Source-Organization: %s\nBagging-Date: %.10s\nPayload-Oxum: %zu.%zu\n"
                         "External-Description: crossriver evidence package; see "
                         "data/case.json\n",
                         c->issuer ? c->issuer : "unknown", c->as_of, oxum_bytes, n_payload);
        cr_ev_add(&ps, "bagit.txt", bagit, strlen(bagit));
        cr_ev_add(&ps, "bag-info.txt", info.data, info.len);
        cr_ev_add(&ps, "manifest-sha256.txt", man.data, man.len);
        cr_strbuf tag = {0};
        for (size_t i = ps.n - 3; i < ps.n; i++) {
            char hex[65];
            cr_sha256_hex(ps.items[i].body.data, ps.items[i].body.len, hex);
            cr_strbuf_printf(&tag, "%s  %s\n", hex, ps.items[i].name);
        }
        cr_ev_add(&ps, "tagmanifest-sha256.txt", tag.data, tag.len);
        cr_strbuf_cleanup(&man);
        cr_strbuf_cleanup(&info);
        cr_strbuf_cleanup(&tag);
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.partial", zip_path);
        rc = cr_ev_write_zip(tmp, ps.items, ps.n, mtime, err);
        if (rc == CR_OK && rename(tmp, zip_path) != 0) {
            rc = cr_error_set(err, CR_EIO, "%s: cannot rename into place", zip_path);
        }
        if (rc != CR_OK) {
            unlink(tmp);
        }
    }
    for (size_t i = 0; i < ps.n; i++) {
        cr_strbuf_cleanup(&ps.items[i].body);
    }
    free(ps.items);
    json_decref(tiles_json);
    cr_store_as_of_end(store);
    if (rc == CR_OK) {
        rc = cr_sha256_file(zip_path, sha_out, err);
    }
    if (rc == CR_OK && audit_by) {
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
        rc = cr_store_exec(store, sql, err);
        sqlite3_free(sql);
        /* stores from before personal data was audited */
        cr_store_exec(store,
                      "ALTER TABLE evidence_exports ADD COLUMN personal_data INTEGER NOT"
                      " NULL DEFAULT 0",
                      NULL);
        sql = sqlite3_mprintf(
            "INSERT INTO evidence_exports (exported_at, exported_by, as_of, issuer, case_json,"
            " package, package_sha256, personal_data) VALUES (%Q, %Q, %Q, %Q, %Q, %Q, %Q, %d);",
            now, audit_by, c->as_of, c->issuer, cs, zip_path, sha_out, c->include_personal);
        rc = rc == CR_OK ? cr_store_exec(store, sql, err) : rc;
        if (rc == CR_OK && c->include_personal) {
            rc = cr_store_audit(store, audit_by, "evidence package with personal data", zip_path,
                                err);
        }
        sqlite3_free(sql);
        free(cs);
    }
    if (rc == CR_OK && summary) {
        *summary =
            json_pack("{s:s, s:s, s:I, s:b}", "package", zip_path, "sha256", sha_out, "features",
                      (json_int_t)json_array_size(fs), "trace", trace_geo != NULL);
    }
    json_decref(fs);
    json_decref(ids);
    json_decref(trace);
    json_decref(trace_geo);
    return rc;
}
