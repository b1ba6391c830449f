/* SPDX-License-Identifier: MIT */
/* An alarm for the people who act on it: its upstream trace with candidate sources ranked by
 * whether their travel time fits the rise (a clean automatic station in between screens off
 * what lies beyond it), and its downstream consequence — the sections, intakes and gates the
 * water reaches next, with arrival times, and who to notify in order. */
#include "api.h"
#include "quality/alarms.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int64_t parse_t(const json_t *v, int64_t fallback)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    const char *t = json_string_value(v);
    if (t == NULL || sscanf(t, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) < 3) {
        return fallback;
    }
    return cr_wq_time_from_fields(y, mo, d, h, mi, s);
}

static json_t *time_json(int64_t t)
{
    char s[20];
    cr_wq_time_format(t, s);
    return json_string(s);
}

static double relevance(const json_t *rel, const char *indicator, const char *layer,
                        const char *kind)
{
    const json_t *table = json_object_get(json_object_get(rel, "relevance"), indicator);
    if (table == NULL) {
        table = json_object_get(json_object_get(rel, "relevance"), "*");
    }
    const json_t *w = json_object_get(table, layer);
    if (json_is_object(w)) {
        const json_t *k = kind ? json_object_get(w, kind) : NULL;
        w = k ? k : json_object_get(w, "*");
    }
    return json_is_number(w) ? json_number_value(w) : 0.3;
}

/* The candidate's own record: kind, discharge, status, when it was seen. */
typedef struct {
    char kind[64];
    double discharge;
    int closed;
    int64_t seen; /* INT64_MIN: a standing source */
} candidate_info;

static void candidate_record(cr_store *store, const char *layer, const char *id,
                             candidate_info *out)
{
    memset(out, 0, sizeof *out);
    out->seen = INT64_MIN;
    const char *sql = strcmp(layer, "outfalls") == 0
                          ? "SELECT kind, discharge_m3d, status, NULL FROM outfalls_current"
                            " WHERE source_id=?"
                      : strcmp(layer, "mobile_sources") == 0
                          ? "SELECT ship_type, NULL, NULL, observed_at FROM"
                            " mobile_sources_current WHERE source_id=?"
                          : "SELECT density, area_m2, status, reported_at FROM"
                            " hyacinth_reports_current WHERE source_id=?";
    sqlite3_stmt *st = cr_store_cached(store, sql);
    if (st == NULL) {
        return;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(st, 0);
        snprintf(out->kind, sizeof out->kind, "%s", k ? (const char *)k : "");
        out->discharge = sqlite3_column_double(st, 1);
        const unsigned char *status = sqlite3_column_text(st, 2);
        out->closed = status && (strcmp((const char *)status, "closed") == 0 ||
                                 strcmp((const char *)status, "cleared") == 0);
        json_t *seen = sqlite3_column_text(st, 3)
                           ? json_string((const char *)sqlite3_column_text(st, 3))
                           : NULL;
        out->seen = seen ? parse_t(seen, INT64_MIN) : INT64_MIN;
        json_decref(seen);
    }
    sqlite3_reset(st);
}

/* 1 when station's automatic series of indicator has readings in [a, b] and no sudden-change
 * alarm of that indicator overlaps it: the water there was clean when the plume would have
 * passed. */
static int station_clean(cr_store *store, const char *station, const char *indicator, int64_t a,
                         int64_t b)
{
    sqlite3_stmt *n = cr_store_cached(
        store, "SELECT COUNT(*) FROM wq_readings WHERE series_id IN (SELECT series_id FROM"
               " wq_series WHERE section_id=? AND indicator=? AND method='automatic') AND t"
               " BETWEEN ? AND ?");
    sqlite3_stmt *al = cr_store_cached(
        store, "SELECT COUNT(*) FROM wq_alarms WHERE section_id=? AND indicator=? AND"
               " rule='sudden_change' AND state != 'false_alarm' AND start_t <= ? AND"
               " COALESCE(end_t, start_t) >= ?");
    if (n == NULL || al == NULL) {
        return 0;
    }
    sqlite3_bind_text(n, 1, station, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(n, 2, indicator, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(n, 3, a);
    sqlite3_bind_int64(n, 4, b);
    int64_t readings = sqlite3_step(n) == SQLITE_ROW ? sqlite3_column_int64(n, 0) : 0;
    sqlite3_reset(n);
    sqlite3_bind_text(al, 1, station, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(al, 2, indicator, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(al, 3, b);
    sqlite3_bind_int64(al, 4, a);
    int64_t alarms = sqlite3_step(al) == SQLITE_ROW ? sqlite3_column_int64(al, 0) : 0;
    sqlite3_reset(al);
    return readings > 0 && alarms == 0;
}

static int by_score(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double sx = json_number_value(json_object_get(x, "score"));
    double sy = json_number_value(json_object_get(y, "score"));
    if (sx != sy) {
        return sx < sy ? 1 : -1;
    }
    double dx = json_number_value(json_object_get(x, "discharge_m3d"));
    double dy = json_number_value(json_object_get(y, "discharge_m3d"));
    if (dx != dy) {
        return dx < dy ? 1 : -1;
    }
    double tx = json_number_value(json_object_get(x, "travel_h"));
    double ty = json_number_value(json_object_get(y, "travel_h"));
    return (tx > ty) - (tx < ty);
}

/* The trace from the section, on the gates as they stood at t (the operations log). */
static cr_status run_trace(const cr_trace_context *cx, const char *section, int up, double hours,
                           int64_t t, json_t **out, cr_error *err)
{
    char feature[96], at[20];
    snprintf(feature, sizeof feature, "monitoring_sections:%s", section);
    cr_wq_time_format(t, at);
    cr_trace_request req = {0};
    req.feature = feature;
    req.gates_at = at;
    req.direction = up ? CR_TRACE_UP : CR_TRACE_DOWN;
    req.max_hours = hours;
    req.has_max_hours = 1;
    return cr_api_trace(cx, &req, out, err);
}

static json_t *upstream(const cr_trace_context *cx, const json_t *rel,
                        const cr_wq_alarm_config *cfg, const json_t *alarm, const char *section,
                        const char *indicator, int64_t rise, int64_t peak, cr_error *err)
{
    json_t *tr = NULL;
    if (run_trace(cx, section, 1, cfg->lookback_hours, rise, &tr, err) != CR_OK) {
        return NULL;
    }
    (void)alarm;
    json_t *features = json_object_get(tr, "features");
    /* clean automatic stations upstream screen off what lies beyond them */
    double screen_h = INFINITY;
    const char *screen_id = NULL;
    json_t *stations = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(features, i, f)
    {
        const char *layer = json_string_value(json_object_get(f, "layer"));
        const char *id = json_string_value(json_object_get(f, "id"));
        double tau = json_number_value(json_object_get(f, "time_h"));
        if (!layer || strcmp(layer, "monitoring_sections") != 0 || strcmp(id, section) == 0 ||
            indicator == NULL) {
            continue;
        }
        int64_t a = rise - (int64_t)(tau * 3600) - 4 * 3600;
        int64_t b = peak - (int64_t)(tau * 3600) + 4 * 3600;
        int clean = station_clean(cx->store, id, indicator, a, b);
        json_array_append_new(stations,
                              json_pack("{s:s, s:s?, s:f, s:b, s:o, s:o}", "id", id, "name",
                                        json_string_value(json_object_get(f, "name")), "travel_h",
                                        tau, "clean", clean, "window_from", time_json(a),
                                        "window_to", time_json(b)));
        if (clean && tau < screen_h) {
            screen_h = tau;
            screen_id = id;
        }
    }
    size_t n = 0;
    json_t **cand = cr_xcalloc(json_array_size(features) + 1, sizeof *cand);
    json_array_foreach(features, i, f)
    {
        const char *layer = json_string_value(json_object_get(f, "layer"));
        if (!layer || (strcmp(layer, "outfalls") != 0 && strcmp(layer, "mobile_sources") != 0 &&
                       strcmp(layer, "hyacinth_reports") != 0)) {
            continue;
        }
        const char *id = json_string_value(json_object_get(f, "id"));
        double tau = json_number_value(json_object_get(f, "time_h"));
        candidate_info info;
        candidate_record(cx->store, layer, id, &info);
        int64_t release = rise - (int64_t)(tau * 3600);
        double w = relevance(rel, indicator ? indicator : "*", layer, info.kind);
        double fit = 1;
        cr_strbuf why = {0};
        char rel_s[20];
        cr_wq_time_format(release, rel_s);
        cr_strbuf_printf(&why,
                         "%.1f h upstream: water there at %.16s reached the section at the "
                         "rise",
                         tau, rel_s);
        if (info.seen != INT64_MIN) {
            /* a ship or a report: seen near the time the water left it */
            double hours_off = fabs((double)(info.seen - release)) / 3600.0;
            fit = hours_off <= 24 ? 1 : hours_off <= 72 ? 0.5 : 0.2;
            cr_strbuf_printf(&why, "; seen %.0f h %s that", hours_off,
                             info.seen < release ? "before" : "after");
        }
        if (info.closed) {
            fit *= 0.1;
            cr_strbuf_puts(&why, "; recorded as closed");
        }
        const char *screened = NULL;
        if (tau > screen_h + 1e-6) {
            screened = screen_id;
            fit *= 0.05;
            cr_strbuf_printf(&why, "; beyond %s, which stayed clean", screen_id);
        }
        cr_strbuf_printf(&why, "; %s weight %.1f for %s", info.kind[0] ? info.kind : layer, w,
                         indicator ? indicator : "the alarm");
        json_t *c = json_object();
        json_object_set_new(c, "layer", json_string(layer));
        json_object_set_new(c, "id", json_string(id));
        json_object_set(c, "name", json_object_get(f, "name"));
        json_object_set_new(c, "kind", json_string(info.kind));
        json_object_set_new(c, "travel_h", json_real(tau));
        json_object_set(c, "distance_km", json_object_get(f, "distance_km"));
        json_object_set_new(c, "released_about", time_json(release));
        json_object_set_new(c, "discharge_m3d", json_real(info.discharge));
        json_object_set_new(c, "relevance", json_real(w));
        json_object_set_new(c, "score", json_real(round(w * fit * 1000) / 1000));
        json_object_set_new(c, "screened_by", screened ? json_string(screened) : json_null());
        json_object_set_new(c, "why", json_string(why.data ? why.data : ""));
        cr_strbuf_cleanup(&why);
        cand[n++] = c;
    }
    qsort(cand, n, sizeof *cand, by_score);
    json_t *list = json_array();
    for (size_t k = 0; k < n; k++) {
        json_object_set_new(cand[k], "rank", json_integer((json_int_t)k + 1));
        json_array_append_new(list, cand[k]);
    }
    free(cand);
    json_t *o = json_pack("{s:f, s:o, s:o, s:s}", "lookback_hours", cfg->lookback_hours, "stations",
                          stations, "candidates", list, "rule",
                          "candidates whose travel time puts their water at the section when it "
                          "rose, weighted by how likely their kind is to raise the indicator "
                          "(standards/source_relevance.json); beyond a clean automatic station "
                          "upstream they are screened off");
    json_decref(tr);
    return o;
}

static json_t *downstream(const cr_trace_context *cx, const char *section, int64_t rise,
                          cr_error *err)
{
    json_t *tr = NULL;
    if (run_trace(cx, section, 0, 72, rise, &tr, err) != CR_OK) {
        return NULL;
    }
    json_t *next = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(tr, "features"), i, f)
    {
        const char *layer = json_string_value(json_object_get(f, "layer"));
        const char *id = json_string_value(json_object_get(f, "id"));
        if (!layer || (strcmp(layer, "monitoring_sections") == 0 && strcmp(id, section) == 0)) {
            continue;
        }
        int intake = strcmp(layer, "protection_zones") == 0;
        if (strcmp(layer, "monitoring_sections") != 0 && !intake && strcmp(layer, "gates") != 0 &&
            strcmp(layer, "intakes") != 0) {
            continue;
        }
        double tau = json_number_value(json_object_get(f, "time_h"));
        json_t *x = json_pack("{s:s, s:s, s:O?, s:f, s:o}", "layer", layer, "id", id, "name",
                              json_object_get(f, "name"), "travel_h", tau, "arrival",
                              time_json(rise + (int64_t)(tau * 3600)));
        if (intake) {
            json_object_set(x, "intake_id", json_object_get(f, "intake_id"));
            json_object_set(x, "source_name", json_object_get(f, "source_name"));
        }
        json_array_append_new(next, x);
    }
    json_t *notify = json_array();
    json_array_foreach(json_object_get(tr, "jurisdictions"), i, f)
    {
        json_t *j = json_deep_copy(f);
        json_object_set_new(
            j, "arrival",
            time_json(rise + (int64_t)(json_number_value(json_object_get(f, "time_h")) * 3600)));
        json_array_append_new(notify, j);
    }
    json_decref(tr);
    return json_pack("{s:o, s:o}", "reaches_next", next, "notify", notify);
}

cr_status cr_api_alarm_detail(const cr_trace_context *cx, const json_t *relevance_table,
                              const cr_wq_alarm_config *cfg, json_t *alarm, cr_error *err)
{
    const char *section = json_string_value(json_object_get(alarm, "section_id"));
    const char *indicator = json_string_value(json_object_get(alarm, "indicator"));
    if (section == NULL) {
        return cr_error_set(err, CR_EINVAL, "alarm without a section");
    }
    int64_t rise = parse_t(json_object_get(alarm, "start"), 0);
    int64_t peak = parse_t(json_object_get(alarm, "peak"), rise);
    cr_error e = {0};
    json_t *up = upstream(cx, relevance_table, cfg, alarm, section, indicator, rise, peak, &e);
    json_t *down = downstream(cx, section, rise, &e);
    json_object_set_new(alarm, "upstream",
                        up ? up : json_pack("{s:s}", "error", e.msg[0] ? e.msg : "no trace"));
    json_object_set_new(alarm, "downstream",
                        down ? down : json_pack("{s:s}", "error", e.msg[0] ? e.msg : "no trace"));
    /* the stockpiles nearest the section, by straight-line distance (not along the river) */
    sqlite3_stmt *st = cr_store_cached(cx->store, "SELECT ST_X(geom), ST_Y(geom) FROM"
                                                  " monitoring_sections_current WHERE source_id=?");
    if (st) {
        sqlite3_bind_text(st, 1, section, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(
                alarm, "stockpiles",
                json_pack("{s:s, s:o}", "distance", "straight line", "nearest",
                          cr_ops_nearest_stockpiles(cx->store, sqlite3_column_double(st, 0),
                                                    sqlite3_column_double(st, 1), 3)));
        }
        sqlite3_reset(st);
    }
    return CR_OK;
}
