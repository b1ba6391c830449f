/* SPDX-License-Identifier: MIT */
/* Water quality over HTTP: a section's readings (raw or aggregated in the server), every
 * section's class in a period, the alarms (with upstream candidates and downstream reach), and
 * the token-gated, audited review of an alarm. */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const JSON_TYPE = "application/json; charset=utf-8";

static const char *param(const request *req, const char *name)
{
    return json_string_value(json_object_get(req->params, name));
}

static cr_status readings_ready(worker *w, cr_error *err)
{
    return cr_wq_has_tables(w->store)
               ? CR_OK
               : cr_error_set(err, CR_ENOTFOUND,
                              "the store holds no readings (crossriver ingest --layer readings)");
}

/* from/to: a day, month or year (2025-07-01, 2025-07, 2025) or a time; bounds inclusive. */
static cr_status time_bound(const request *req, const char *name, int upper, int64_t *out,
                            cr_error *err)
{
    const char *v = param(req, name);
    if (v == NULL) {
        return CR_OK;
    }
    cr_period p;
    if (cr_wq_period_parse(v, &p, err) != CR_OK) {
        return cr_error_prefix(err, "%s", name);
    }
    *out = p.kind == CR_PERIOD_SAMPLE ? p.t
           : upper                    ? (p.last_day + 1) * 86400 - 1
                                      : p.first_day * 86400;
    return CR_OK;
}

static void readings_csv(const json_t *doc, cr_strbuf *b)
{
    cr_csv_begin(b);
    int raw = strcmp(json_string_value(json_object_get(doc, "step")), "raw") == 0;
    const char *head_raw[] = {"section_id", "indicator", "name",      "unit",
                              "party",      "time",      "value",     "flag",
                              "censored",   "batch_id",  "source_row"};
    const char *head_agg[] = {"section_id", "indicator", "name",     "unit", "party", "period",
                              "mean",       "n",         "censored", "min",  "max"};
    cr_csv_row(b, raw ? head_raw : head_agg, 11);
    size_t i, k;
    json_t *ser, *pt;
    json_array_foreach(json_object_get(doc, "series"), i, ser)
    {
        json_array_foreach(json_object_get(ser, "points"), k, pt)
        {
            char cells[6][32];
            const char *row[11] = {json_string_value(json_object_get(doc, "section_id")),
                                   json_string_value(json_object_get(ser, "indicator")),
                                   json_string_value(json_object_get(ser, "name")),
                                   json_string_value(json_object_get(ser, "unit")),
                                   json_string_value(json_object_get(ser, "party"))};
            for (size_t c = 0; c < 6; c++) {
                json_t *v = json_array_get(pt, c);
                if (json_is_string(v)) {
                    snprintf(cells[c], sizeof cells[c], "%s", json_string_value(v));
                } else if (json_is_boolean(v)) {
                    snprintf(cells[c], sizeof cells[c], "%s", json_is_true(v) ? "1" : "0");
                } else if (json_is_integer(v)) {
                    snprintf(cells[c], sizeof cells[c], "%lld", (long long)json_integer_value(v));
                } else if (json_is_number(v)) {
                    snprintf(cells[c], sizeof cells[c], "%.6g", json_number_value(v));
                } else {
                    cells[c][0] = '\0';
                }
                row[5 + c] = cells[c];
            }
            cr_csv_row(b, row, 11);
        }
    }
}

/* GET /api/sections/{id}/readings?indicator=&from=&to=&step=raw|day|month&format=json|csv */
cr_status cr_res_section(server_state *s, worker *w, const request *req, response *res,
                         cr_error *err)
{
    (void)s;
    const char *rest = req->path + strlen("/api/sections/");
    const char *slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || strcmp(slash, "/readings") != 0 || slash - rest > 63) {
        return cr_error_set(err, CR_ENOTFOUND,
                            "section readings are "
                            "/api/sections/{id}/readings");
    }
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)(slash - rest), rest);
    const char *step_s = param(req, "step") ? param(req, "step") : "day";
    const char *format = param(req, "format") ? param(req, "format") : "json";
    cr_wq_step step = strcmp(step_s, "raw") == 0   ? CR_STEP_RAW
                      : strcmp(step_s, "day") == 0 ? CR_STEP_DAY
                                                   : CR_STEP_MONTH;
    if (strcmp(step_s, "raw") && strcmp(step_s, "day") && strcmp(step_s, "month")) {
        return cr_error_set(err, CR_EINVAL, "step: raw, day or month");
    }
    if (strcmp(format, "json") && strcmp(format, "csv")) {
        return cr_error_set(err, CR_EINVAL, "format: json or csv");
    }
    int64_t from = cr_wq_time_from_fields(1900, 1, 1, 0, 0, 0);
    int64_t to = cr_wq_time_from_fields(2200, 12, 31, 23, 59, 59);
    cr_status rc = readings_ready(w, err);
    if (rc == CR_OK) {
        rc = time_bound(req, "from", 0, &from, err);
    }
    if (rc == CR_OK) {
        rc = time_bound(req, "to", 1, &to, err);
    }
    if (rc == CR_OK && step == CR_STEP_RAW && to - from > 400LL * 86400) {
        rc = cr_error_set(err, CR_EINVAL,
                          "step=raw covers at most 400 days: give from and to (or step=day)");
    }
    json_t *doc = NULL;
    if (rc == CR_OK) {
        rc = cr_wq_series_json(w->store, w->snap->std, id, param(req, "indicator"), from, to, step,
                               &doc, err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    if (strcmp(format, "csv") == 0) {
        cr_strbuf b = {0};
        readings_csv(doc, &b);
        json_decref(doc);
        res->raw_len = b.len;
        res->raw = cr_strbuf_take(&b);
        res->raw_set = 1;
        res->content_type = "text/csv; charset=utf-8";
        return CR_OK;
    }
    res->body = doc;
    res->content_type = JSON_TYPE;
    return CR_OK;
}

/* GET /api/quality?period=2025-07 (every section's class), without period the latest;
 * detail=0: only class, target and met per section; period=YEAR&step=month: the monthly
 * classes of every section for the year. */
cr_status cr_res_quality(server_state *s, worker *w, const request *req, response *res,
                         cr_error *err)
{
    (void)s;
    cr_status rc = readings_ready(w, err);
    const char *period = param(req, "period");
    const char *step = param(req, "step");
    const char *d = param(req, "detail");
    if (rc == CR_OK && d && strcmp(d, "0") && strcmp(d, "1")) {
        rc = cr_error_set(err, CR_EINVAL, "detail: 0 or 1");
    }
    if (rc == CR_OK && step && strcmp(step, "month")) {
        rc = cr_error_set(err, CR_EINVAL, "step: month (with period=YEAR), or none");
    }
    json_t *out = NULL;
    cr_period p;
    if (rc == CR_OK && period) {
        rc = cr_wq_period_parse(period, &p, err);
    }
    if (rc == CR_OK && step && (period == NULL || p.kind != CR_PERIOD_YEAR)) {
        rc = cr_error_set(err, CR_EINVAL, "step=month goes with period=YEAR (e.g. 2025)");
    }
    cr_wq_class_row *rows = NULL;
    size_t n = 0;
    if (rc == CR_OK && step) {
        rc = cr_wq_monthly_table(w->store, w->snap->std, atoi(p.label), &rows, &n, err);
        out = rc == CR_OK ? cr_wq_class_rows_json(rows, n, 1) : NULL;
    } else if (rc == CR_OK && period) {
        rc = cr_wq_all_classes(w->store, w->snap->std, &p, &out, err);
    } else if (rc == CR_OK && d && strcmp(d, "0") == 0) {
        rc = cr_wq_latest_table(w->store, w->snap->std, &rows, &n, err);
        out = rc == CR_OK ? cr_wq_class_rows_json(rows, n, 0) : NULL;
    } else if (rc == CR_OK) {
        rc = cr_wq_latest_classes(w->store, w->snap->std, &out, err);
    }
    free(rows);
    if (rc == CR_OK) {
        res->body = json_pack("{s:s, s:s?, s:o, s:s}", "period", period ? p.label : "latest",
                              "step", step, "sections", out, "standard", w->snap->std->standard);
        res->content_type = JSON_TYPE;
    }
    return rc;
}

static void detail(worker *w, json_t *alarms)
{
    cr_trace_context cx = {w->store, w->snap->net->graph, w->ws, w->snap->net->ref};
    size_t i;
    json_t *a;
    json_array_foreach(alarms, i, a)
    {
        cr_error e = {0};
        cr_api_alarm_detail(&cx, w->snap->relevance, &w->snap->alarms, a, &e);
    }
}

/* GET /api/alarms?state=open|all|…&section=ID&detail=0|1 */
cr_status cr_res_alarms(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    (void)s;
    const char *state = param(req, "state") ? param(req, "state") : "open";
    const char *d = param(req, "detail");
    if (d && strcmp(d, "0") && strcmp(d, "1")) {
        return cr_error_set(err, CR_EINVAL, "detail: 0 or 1");
    }
    json_t *out = NULL;
    cr_status rc = cr_wq_alarms_list(w->store, strcmp(state, "all") == 0 ? NULL : state,
                                     param(req, "section"), &out, err);
    if (rc == CR_OK && d && strcmp(d, "1") == 0) {
        detail(w, out);
    }
    if (rc == CR_OK) {
        res->body = json_pack("{s:s, s:o}", "state", state, "alarms", out);
        res->content_type = JSON_TYPE;
    }
    return rc;
}

static cr_status alarm_id(const char *path, int review, int64_t *id, cr_error *err)
{
    const char *rest = path + strlen("/api/alarms/");
    char *end = NULL;
    long long v = strtoll(rest, &end, 10);
    if (end == rest || v <= 0 || (review ? strcmp(end, "/review") != 0 : *end != '\0')) {
        return cr_error_set(err, CR_ENOTFOUND,
                            review ? "review is POST /api/alarms/{id}/review"
                                   : "an alarm is /api/alarms/{id}");
    }
    *id = v;
    return CR_OK;
}

/* GET /api/alarms/{id}: one alarm with its upstream candidates and downstream reach. */
cr_status cr_res_alarm(server_state *s, worker *w, const request *req, response *res, cr_error *err)
{
    (void)s;
    int64_t id = 0;
    json_t *a = NULL;
    cr_status rc = alarm_id(req->path, 0, &id, err);
    if (rc == CR_OK) {
        rc = cr_wq_alarm_get(w->store, id, &a, err);
    }
    if (rc == CR_OK) {
        json_t *one = json_array();
        json_array_append_new(one, a);
        detail(w, one);
        res->body = json_incref(json_array_get(one, 0));
        json_decref(one);
        res->content_type = JSON_TYPE;
    }
    return rc;
}

/* POST /api/alarms/{id}/review {"to": …, "note": …, "who": …}: the step, its history and the
 * audit row in one writable connection of its own. */
cr_status cr_res_alarm_review(server_state *s, worker *w, const request *req, response *res,
                              cr_error *err)
{
    int64_t id = 0;
    cr_status rc = alarm_id(req->path, 1, &id, err);
    json_error_t je;
    json_t *body = rc == CR_OK && req->body ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    const char *to = json_string_value(json_object_get(body, "to"));
    const char *note = json_string_value(json_object_get(body, "note"));
    const char *person = json_string_value(json_object_get(body, "who"));
    if (rc == CR_OK && to == NULL) {
        rc = cr_error_set(err, CR_EINVAL,
                          "the body: {\"to\": \"reviewed|confirmed|false_alarm|closed\", "
                          "\"note\": \"…\", \"who\": \"the person\"}");
    }
    char who[192];
    snprintf(who, sizeof who, "%s%s%s", cr_access_name(req->access), person ? " / " : "",
             person ? person : "");
    cr_store *rw = NULL;
    if (rc == CR_OK) {
        rc = cr_store_open(s->cfg->store_path, w->snap->set, &rw, err);
    }
    if (rc == CR_OK) {
        rc = cr_wq_alarm_step(rw, id, to, who, note, err);
    }
    if (rc == CR_OK) {
        char what[128];
        snprintf(what, sizeof what, "alarm %lld → %s", (long long)id, to);
        rc = cr_store_audit(rw, who, "alarm_review", what, err);
    }
    json_t *a = NULL;
    if (rc == CR_OK) {
        rc = cr_wq_alarm_get(rw, id, &a, err);
    }
    cr_store_close(rw);
    json_decref(body);
    if (rc == CR_OK) {
        res->body = a;
        res->content_type = JSON_TYPE;
    }
    return rc;
}

/* ---- incidents and findings (read) ------------------------------------------------------ */

/* GET /api/incidents: the current incidents, newest first. */
cr_status cr_res_incidents(server_state *s, worker *w, const request *req, response *res,
                           cr_error *err)
{
    (void)s;
    (void)req;
    json_t *out = NULL;
    cr_status rc = cr_api_incidents(w->store, &out, err);
    if (rc != CR_OK) {
        return rc;
    }
    res->body = json_pack("{s:o}", "incidents", out);
    res->content_type = JSON_TYPE;
    return CR_OK;
}

/* GET /api/incidents/{id} (the report), /api/incidents/{id}/plan?format=csv|html|geojson,
 * /api/incidents/{id}/notice (the 通报 as text). */
cr_status cr_res_incident(server_state *s, worker *w, const request *req, response *res,
                          cr_error *err)
{
    const char *rest = req->path + strlen("/api/incidents/");
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *what = slash ? slash + 1 : "";
    if (n == 0 || n > 63 || (strcmp(what, "") && strcmp(what, "plan") && strcmp(what, "notice"))) {
        return cr_error_set(err, CR_ENOTFOUND, "an incident is /api/incidents/{id}[/plan|/notice]");
    }
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)n, rest);
    const char *format = param(req, "format") ? param(req, "format") : "json";
    const json_t *conf = w->snap->config;
    cr_trace_context cx = {w->store, w->snap->net->graph, w->ws, w->snap->net->ref};
    json_t *r = NULL;
    cr_status rc = cr_api_incident_report(&cx, id, conf, &r, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (strcmp(what, "notice") == 0) {
        cr_strbuf b = {0};
        cr_strbuf_puts(&b, json_string_value(json_object_get(r, "notice")));
        res->raw_len = b.len;
        res->raw = cr_strbuf_take(&b);
        res->raw_set = 1;
        res->content_type = "text/plain; charset=utf-8";
    } else if (strcmp(what, "plan") == 0 && strcmp(format, "json") && strcmp(format, "geojson")) {
        cr_strbuf b = {0};
        if (strcmp(format, "csv") == 0) {
            cr_api_incident_plan_csv(r, &b);
            res->content_type = "text/csv; charset=utf-8";
        } else if (strcmp(format, "html") == 0) {
            cr_api_incident_plan_html(r, &b);
            res->content_type = "text/html; charset=utf-8";
        } else {
            json_decref(r);
            cr_strbuf_cleanup(&b);
            return cr_error_set(err, CR_EINVAL, "format: json, geojson, csv or html");
        }
        res->raw_len = b.len;
        res->raw = cr_strbuf_take(&b);
        res->raw_set = 1;
    } else if (strcmp(what, "plan") == 0) {
        res->body = cr_api_incident_plan_geojson(r);
        res->content_type = "application/geo+json; charset=utf-8";
    } else {
        res->body = json_incref(r);
        res->content_type = JSON_TYPE;
    }
    json_decref(r);
    return CR_OK;
}
