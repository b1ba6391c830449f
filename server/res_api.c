/* SPDX-License-Identifier: MIT */
/* The API resources: /api/trace, /api/features/{layer}/{id}, /api/search, /api/patrol,
 * POST /api/export/evidence and /health. */
#include "export/evidence.h"
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const JSON_TYPE = "application/json; charset=utf-8";

cr_status cr_res_health(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    (void)req;
    (void)err;
    res->content_type = JSON_TYPE;
    res->body = json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I}", "status", "ok", "reaches",
                          w->snap->net->graph->n_reaches, "nodes", w->snap->net->graph->n_nodes,
                          "data_generation", (json_int_t)cr_store_data_generation(w->store),
                          "cache_generation", (json_int_t)cr_tile_cache_generation(s->cache),
                          "network_generation", (json_int_t)w->snap->net->generation, "config_id",
                          (json_int_t)w->snap->id);
    return CR_OK;
}

/* GET /api/trace: the parameters go through the one trace-request parser. */
cr_status cr_res_trace(server_state *s, worker *w, const request *req, response *res, cr_error *err)
{
    (void)s;
    cr_trace_request tr;
    cr_status rc = cr_api_trace_parse(req->params, 0, &tr, err);
    if (rc != CR_OK) {
        return rc;
    }
    tr.access = req->access;
    json_t *out = NULL;
    cr_trace_context cx = {w->store, w->snap->net->graph, w->ws, w->snap->net->ref};
    rc = cr_api_trace(&cx, &tr, &out, err);
    if (rc != CR_OK) {
        return rc;
    }
    res->content_type = tr.geojson ? "application/geo+json; charset=utf-8" : JSON_TYPE;
    res->body = out;
    size_t i, k;
    json_t *j, *c;
    json_t *list =
        json_object_get(tr.geojson ? json_object_get(out, "properties") : out, "jurisdictions");
    json_array_foreach(list, i, j)
    {
        json_array_foreach(json_object_get(j, "contacts"), k, c)
        {
            res->restricted += json_object_get(c, "liaison") || json_object_get(c, "phone");
        }
    }
    return CR_OK;
}

/* GET /api/features/{layer}/{id} */
cr_status cr_res_feature(server_state *s, worker *w, const request *req, response *res,
                         cr_error *err)
{
    (void)s;
    const char *rest = req->path + strlen("/api/features/");
    const char *slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || slash[1] == '\0' || strlen(rest) > 256) {
        return cr_error_set(err, CR_ENOTFOUND, "features are /api/features/{layer}/{id}");
    }
    char layer[128];
    snprintf(layer, sizeof layer, "%.*s", (int)(slash - rest < 127 ? slash - rest : 127), rest);
    int restricted = 0;
    cr_status rc =
        cr_api_feature(w->store, layer, slash + 1, req->access, &res->body, &restricted, err);
    res->restricted = (size_t)restricted;
    res->content_type = "application/geo+json; charset=utf-8";
    return rc;
}

/* GET /api/search?q=TEXT[&limit=N] */
cr_status cr_res_search(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    (void)s;
    const char *q = NULL;
    int limit = 20;
    json_t *out = NULL;
    cr_status rc = cr_api_search_parse(req->params, &q, &limit, err);
    if (rc == CR_OK) {
        rc = cr_api_search(w->store, q, limit, req->access, &out, err);
    }
    if (rc == CR_OK) {
        res->content_type = JSON_TYPE;
        res->body = json_pack("{s:s, s:o}", "q", q, "results", out);
    }
    return rc;
}

/* Personal data served to a token goes into the store's audit_log (a writable connection of
 * its own); when it cannot be recorded it is not served. */
static cr_status audit_personal(server_state *s, worker *w, const request *req, const char *action,
                                const char *detail, cr_error *err)
{
    cr_store *rw = NULL;
    cr_status rc = cr_store_open(s->cfg->store_path, w->snap->set, &rw, err);
    if (rc == CR_OK) {
        rc = cr_store_audit(rw, cr_access_name(req->access), action, detail, err);
    }
    cr_store_close(rw);
    return rc == CR_OK ? CR_OK : CR_EIO;
}

/* The patrol request from the query: river|preset|reaches, date, mode, from, to, numbers. */
/* GET /api/patrol?river=…|preset=yihe-sanhu|reaches=…[&date=&mode=&from=&to=&speed_kmh=
 * &dwell_min=&radius_m=&stops=&day_hours=&format=] */
cr_status cr_res_patrol(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    cr_patrol_request pr;
    cr_status rc = cr_api_patrol_parse(req->params, &pr, err);
    if (rc != CR_OK) {
        return rc;
    }
    pr.access = req->access;
    const char *format = json_string_value(json_object_get(req->params, "format"));
    format = format ? format : "json";
    cr_strbuf out = {0};
    json_t *plan = NULL;
    pr.reach_index = w->snap->net->ref; /* the snapshot's, for points far from a node */
    rc = cr_api_patrol(w->store, w->snap->net->graph, &pr, format, &out, &plan, err);
    if (rc != CR_OK) {
        cr_strbuf_cleanup(&out);
        return rc;
    }
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(plan, "legs"), i, leg)
    {
        res->restricted += json_object_get(leg, "liaison") != NULL;
    }
    json_decref(plan);
    if (res->restricted > 0 &&
        (rc = audit_personal(s, w, req, "patrol plan with personal data", format, err)) != CR_OK) {
        cr_strbuf_cleanup(&out);
        return rc;
    }
    res->content_type = cr_api_patrol_content_type(format);
    res->raw_set = 1;
    res->raw_len = out.len;
    res->raw = cr_strbuf_take(&out);
    return CR_OK;
}

/* Make the package into a temporary file on a writable connection (the audit row) and read it
 * back. */
static cr_status export_package(server_state *s, worker *w, const request *req,
                                const cr_evidence_case *c, response *res, cr_error *err)
{
    cr_store *rw = NULL;
    char path[64] = "/tmp/crossriver-evidence-XXXXXX";
    int fd = mkstemp(path);
    char zip_path[80], sha[65];
    snprintf(zip_path, sizeof zip_path, "%s.zip", path);
    cr_status rc = fd < 0 ? cr_error_set(err, CR_EIO, "no temporary file") : CR_OK;
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    if (rc == CR_OK) {
        rc = cr_store_open(s->cfg->store_path, w->snap->set, &rw, err);
    }
    if (rc == CR_OK) {
        cr_trace_context cx = {rw, w->snap->net->graph, w->ws, w->snap->net->ref};
        rc = cr_evidence_export(&cx, c, zip_path, cr_access_name(req->access), sha, NULL, err);
    }
    cr_store_close(rw);
    char *data = NULL;
    size_t len = 0;
    if (rc == CR_OK) {
        rc = cr_read_file(zip_path, &data, &len, err);
    }
    unlink(zip_path);
    if (rc == CR_OK) {
        res->content_type = "application/zip";
        res->raw_set = 1;
        res->raw = data;
        res->raw_len = len;
        res->restricted = 1;
        res->cache_control = "private, no-store";
        snprintf(res->etag, sizeof res->etag, "\"%s\"", sha);
    }
    return rc;
}

/* POST /api/export/evidence: an evidence package (docs/evidence.md) for a token that opens every
 * layer in every jurisdiction (the route's flag); the body is a case shaped like case.json. The
 * answer is the zip; its SHA-256 is the ETag; the export is audited under the token's name. */
cr_status cr_res_export(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    json_error_t je;
    json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    cr_status rc = CR_OK;
    cr_evidence_case c = {0};
    if (!json_is_object(body) || !json_is_object(json_object_get(body, "case"))) {
        rc = cr_error_set(err, CR_EINVAL,
                          "the body: {\"case\": {…}, \"as_of\": \"…Z\", \"issuer\": …} (see "
                          "docs/evidence.md)");
    } else {
        rc = cr_evidence_case_from_json(body, &c, err);
    }
    if (rc == CR_OK) {
        rc = export_package(s, w, req, &c, res, err);
    }
    json_decref(body);
    return rc;
}

/* GET /api/labels: the label points of the polygon layers (GeoJSON), for the style's labels
 * source. */
cr_status cr_res_labels(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    (void)s;
    (void)req;
    json_t *out = NULL;
    cr_status rc = cr_api_labels(w->store, &out, err);
    if (rc == CR_OK) {
        res->body = out;
        res->content_type = "application/geo+json; charset=utf-8";
        res->cache_control = "no-cache";
    }
    return rc;
}

/* GET /api/catalog: the words of the layer definitions (legend, popups). */
cr_status cr_res_catalog(server_state *s, worker *w, const request *req, response *res,
                         cr_error *err)
{
    (void)s;
    (void)req;
    json_t *divisions = cr_standards_file(NULL, "divisions.json", err);
    if (divisions == NULL) {
        return err->code;
    }
    res->body = cr_api_catalog(w->snap->set, divisions);
    json_decref(divisions);
    res->content_type = JSON_TYPE;
    res->cache_control = "no-cache";
    return CR_OK;
}
