/* SPDX-License-Identifier: MIT */
/* A trace request, as `crossriver trace` and `GET /api/trace` take it: find the start, the
 * gate scenario and the stops, run the trace, build the report (and GeoJSON). */
#include "api.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The start: reach index and measure (metres from its upstream end). */
static cr_status find_start(const cr_trace_context *cx, const cr_trace_request *req, int32_t *reach,
                            double *measure, json_t *start, cr_error *err)
{
    cr_store *store = cx->store;
    const cr_graph *g = cx->graph;
    const cr_reach_index *ref = cx->reaches;
    sqlite3 *db = cr_store_db(store);
    if (req->reach) {
        *reach = cr_graph_find_reach(g, req->reach);
        if (*reach < 0) {
            return cr_error_set(err, CR_ENOTFOUND, "no reach '%s' in the network", req->reach);
        }
        /* a whole reach: downstream from its upstream end, upstream from its outlet */
        *measure = req->direction == CR_TRACE_UP ? g->length_m[*reach] : 0;
        json_object_set_new(start, "reach_id", json_string(req->reach));
        return CR_OK;
    }
    if (req->feature) {
        const char *colon = strchr(req->feature, ':');
        char layer[64] = "";
        if (colon && colon - req->feature < (ptrdiff_t)sizeof layer) {
            memcpy(layer, req->feature, (size_t)(colon - req->feature));
            layer[colon - req->feature] = '\0';
        }
        const cr_layer_def *d = colon ? cr_layer_set_find(cr_store_layers(store), layer) : NULL;
        if (d == NULL || !cr_layer_joins_points(d)) {
            return cr_error_set(err, CR_EINVAL,
                                "feature wants LAYER:ID with a joined point layer (outfalls, "
                                "monitoring_sections, gates, …), got '%s'",
                                req->feature);
        }
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT reach_id, measure_m, lake_id FROM \"%s_current\" WHERE source_id = ?",
                 d->name);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            return cr_error_set(err, CR_EDB, "trace: %s", sqlite3_errmsg(db));
        }
        sqlite3_bind_text(st, 1, colon + 1, -1, SQLITE_STATIC);
        cr_status rc = CR_OK;
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = cr_error_set(err, CR_ENOTFOUND, "no feature '%s'", req->feature);
        } else if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            rc = cr_error_set(err, CR_EINVAL, "%s is %s", req->feature,
                              sqlite3_column_text(st, 2)
                                  ? "in a lake, not on a reach: trace from a reach of the lake"
                                  : "not joined to a reach (unmatched; see its join_flags)");
        } else {
            *reach = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
            *measure = sqlite3_column_double(st, 1);
            if (*reach < 0) {
                rc = cr_error_set(err, CR_ENOTFOUND,
                                  "%s is on a reach missing from the network "
                                  "(run crossriver network)",
                                  req->feature);
            }
        }
        sqlite3_finalize(st);
        json_object_set_new(start, "feature", json_string(req->feature));
        return rc;
    }
    if (!req->at) {
        return cr_error_set(err, CR_EINVAL, "give one start: reach, feature or at");
    }
    if (ref == NULL) {
        return cr_error_set(err, CR_EINVAL, "snapping a point needs the reach index");
    }
    cr_reach_hit hit;
    if (!cr_reach_index_nearest(ref, req->lon, req->lat, 2000, NULL, &hit)) {
        return cr_error_set(err, CR_ENOTFOUND, "no reach within 2 km of %.6f,%.6f", req->lon,
                            req->lat);
    }
    *measure = hit.measure_m;
    *reach = cr_graph_find_reach(g, hit.id);
    json_object_set_new(start, "at", json_pack("[f, f]", req->lon, req->lat));
    json_object_set_new(start, "snapped_m", json_real(round(hit.dist_m * 10) / 10));
    return *reach >= 0 ? CR_OK
                       : cr_error_set(err, CR_ENOTFOUND, "reach %s is not in the network", hit.id);
}

/* Reaches carrying the listed gates (joined to them), appended to *out. */
static cr_status gate_reaches(cr_store *store, const cr_graph *g, const char *list_in,
                              int32_t **out, size_t *n, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    char *list = cr_xstrdup(list_in);
    cr_status rc = CR_OK;
    for (char *save = NULL, *id = strtok_r(list, ",", &save); id && rc == CR_OK;
         id = strtok_r(NULL, ",", &save)) {
        sqlite3_stmt *st;
        int32_t r = -1;
        if (sqlite3_prepare_v2(db, "SELECT reach_id FROM gates_current WHERE source_id = ?", -1,
                               &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
                r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
            }
            sqlite3_finalize(st);
        }
        if (r < 0) {
            rc = cr_error_set(err, CR_ENOTFOUND, "gate '%s' is unknown or on no reach", id);
        } else {
            *out = cr_xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = r;
        }
    }
    free(list);
    return rc;
}

/* Whether id is in the comma list. */
static int listed(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, id, n) == 0) {
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* The gates closed and reversed at req->gates_at by the operations log (*in_force: the
 * states), but for the gates the request's own lists name: those say. */
static cr_status logged_gates(const cr_trace_context *cx, const cr_trace_request *req,
                              json_t **in_force, int32_t **closed, size_t *n_closed,
                              int32_t **reversed, size_t *n_reversed, cr_error *err)
{
    cr_status rc = cr_api_gate_states(cx->store, req->gates_at, in_force, err);
    const char *lists[2] = {json_string_value(json_object_get(*in_force, "closed")),
                            json_string_value(json_object_get(*in_force, "reversed"))};
    for (int k = 0; k < 2 && rc == CR_OK; k++) {
        cr_strbuf keep = {0};
        char *copy = cr_xstrdup(lists[k]);
        for (char *save = NULL, *id = strtok_r(copy, ",", &save); id;
             id = strtok_r(NULL, ",", &save)) {
            if (!listed(req->gates_closed, id) && !listed(req->gates_reversed, id)) {
                cr_strbuf_printf(&keep, "%s%s", keep.len ? "," : "", id);
            }
        }
        if (keep.len) {
            rc = k == 0 ? gate_reaches(cx->store, cx->graph, keep.data, closed, n_closed, err)
                        : gate_reaches(cx->store, cx->graph, keep.data, reversed, n_reversed, err);
        }
        free(copy);
        cr_strbuf_cleanup(&keep);
    }
    return rc;
}

static int compare_stops(const void *a, const void *b)
{
    const cr_trace_stop *x = a;
    const cr_trace_stop *y = b;
    if (x->reach != y->reach) {
        return x->reach < y->reach ? -1 : 1;
    }
    return x->m < y->m ? -1 : x->m > y->m;
}

static void add_stop(cr_trace_stop **stops, size_t *n, int32_t reach, double m)
{
    *stops = cr_xrealloc(*stops, (*n + 1) * sizeof **stops);
    (*stops)[(*n)++] = (cr_trace_stop){reach, m};
}

/* Stop points: the joined cross-boundary sections, or the edges of every county segment that
 * is not the start's county (the first change of jurisdiction). A stop at the start itself is
 * left out, so a trace from a section or a line still leaves it. */
static cr_status collect_stops(const cr_trace_context *cx, const char *what, int32_t start,
                               double start_m, cr_trace_stop **stops, size_t *n, cr_error *err)
{
    cr_store *store = cx->store;
    const cr_graph *g = cx->graph;
    sqlite3 *db = cr_store_db(store);
    sqlite3_stmt *st;
    int sections = strcmp(what, "section") == 0;
    if (!sections && strcmp(what, "boundary") != 0) {
        return cr_error_set(err, CR_EINVAL, "stop_at is section or boundary, not '%s'", what);
    }
    const char *sql = sections ? "SELECT reach_id, measure_m FROM monitoring_sections_current"
                                 " WHERE section_kind = 'cross_boundary' AND reach_id IS NOT NULL"
                               : "SELECT reach_id, segments FROM reach_jurisdictions";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EINVAL, "stop at %s needs %s (crossriver join): %s", what,
                            sections ? "joined sections" : "reach jurisdictions",
                            sqlite3_errmsg(db));
    }
    char start_county[32] = "";
    json_t **segs = cr_xcalloc((size_t)g->n_reaches + 1, sizeof *segs);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int32_t r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
        if (r < 0) {
            continue;
        }
        if (sections) {
            double m = sqlite3_column_double(st, 1);
            if (!(r == start && fabs(m - start_m) < 1.0)) {
                add_stop(stops, n, r, m);
            }
        } else {
            segs[r] = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        }
    }
    sqlite3_finalize(st);
    if (!sections) {
        size_t i;
        json_t *seg;
        json_array_foreach(segs[start], i, seg)
        {
            double a = json_number_value(json_array_get(seg, 1));
            double b = json_number_value(json_array_get(seg, 2));
            if (start_m >= a && start_m <= b) {
                snprintf(start_county, sizeof start_county, "%s",
                         json_string_value(json_array_get(seg, 0)));
            }
        }
        for (int32_t r = 0; r < g->n_reaches; r++) {
            json_array_foreach(segs[r], i, seg)
            {
                if (strcmp(json_string_value(json_array_get(seg, 0)), start_county) == 0) {
                    continue;
                }
                for (int e = 1; e <= 2; e++) {
                    double m = json_number_value(json_array_get(seg, (size_t)e));
                    if (!(r == start && fabs(m - start_m) < 1.0)) {
                        add_stop(stops, n, r, m);
                    }
                }
            }
            json_decref(segs[r]);
        }
    }
    free(segs);
    if (*n > 1) {
        qsort(*stops, *n, sizeof **stops, compare_stops);
    }
    return CR_OK;
}

/* The first column of the statement's next row as parsed GeoJSON, or NULL. */
static json_t *step_geometry(sqlite3_stmt *st)
{
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        return json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    }
    return NULL;
}

static void append_feature(json_t *features, const json_t *props, const char *kind, json_t *geom)
{
    json_t *p = json_deep_copy(props);
    json_object_set_new(p, "kind", json_string(kind));
    json_array_append_new(features, json_pack("{s:s, s:o, s:o}", "type", "Feature", "properties", p,
                                              "geometry", geom ? geom : json_null()));
}

/* One prepared geometry lookup per layer the trace met (features come sorted by distance,
 * so layers interleave). */
typedef struct {
    char layer[64];
    sqlite3_stmt *st;
} layer_stmt;

static sqlite3_stmt *layer_geometry_stmt(sqlite3 *db, layer_stmt *cache, size_t cap, size_t *n,
                                         const char *layer)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(cache[i].layer, layer) == 0) {
            return cache[i].st;
        }
    }
    if (*n == cap) {
        return NULL;
    }
    char *sql = sqlite3_mprintf("SELECT AsGeoJSON(geom, 7) FROM \"%w_current\""
                                " WHERE source_id = ?",
                                layer);
    layer_stmt *c = &cache[(*n)++];
    snprintf(c->layer, sizeof c->layer, "%s", layer);
    if (sqlite3_prepare_v2(db, sql, -1, &c->st, NULL) != SQLITE_OK) {
        sqlite3_finalize(c->st);
        c->st = NULL;
    }
    sqlite3_free(sql);
    return c->st;
}

/* GeoJSON: the covered part of each reach (with its distance and time) and the features. */
static json_t *to_geojson(cr_store *store, const cr_graph *g, const json_t *report)
{
    sqlite3 *db = cr_store_db(store);
    json_t *features = json_array();
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db,
                       "SELECT AsGeoJSON(ST_Line_Substring(geom, ?, ?), 7) FROM reaches"
                       " WHERE fid = ?",
                       -1, &st, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(report, "reaches"), i, v)
    {
        int32_t r = cr_graph_find_reach(g, json_string_value(json_object_get(v, "reach_id")));
        double len = g->length_m[r] > 0 ? g->length_m[r] : 1;
        double f0 = json_real_value(json_object_get(v, "from_m")) / len;
        double f1 = json_real_value(json_object_get(v, "to_m")) / len;
        if (st) {
            sqlite3_reset(st);
            sqlite3_bind_double(st, 1, fmin(fmax(f0, 0), 1));
            sqlite3_bind_double(st, 2, fmin(fmax(f1, 0), 1));
            sqlite3_bind_int64(st, 3, g->reach_fid[r]);
        }
        append_feature(features, v, "reach", step_geometry(st));
    }
    sqlite3_finalize(st);
    layer_stmt cache[32];
    size_t n_cache = 0;
    json_array_foreach(json_object_get(report, "features"), i, v)
    {
        const char *layer = json_string_value(json_object_get(v, "layer"));
        sqlite3_stmt *fs =
            layer ? layer_geometry_stmt(db, cache, sizeof cache / sizeof cache[0], &n_cache, layer)
                  : NULL;
        if (fs) {
            sqlite3_reset(fs);
            sqlite3_bind_text(fs, 1, json_string_value(json_object_get(v, "id")), -1,
                              SQLITE_TRANSIENT);
        }
        append_feature(features, v, "feature", step_geometry(fs));
    }
    for (size_t k = 0; k < n_cache; k++) {
        sqlite3_finalize(cache[k].st);
    }
    json_t *fc = json_pack("{s:s, s:o, s:O, s:O}", "type", "FeatureCollection", "features",
                           features, "jurisdictions", json_object_get(report, "jurisdictions"),
                           "start", json_object_get(report, "start"));
    /* what follows from the trace travels with it: candidate sources upstream, the spill's
     * parameters and the gate states it ran on */
    static const char *const EXTRA[] = {"direction", "attribution", "spill", "gates_in_force"};
    for (size_t k = 0; k < sizeof EXTRA / sizeof EXTRA[0]; k++) {
        json_t *x = json_object_get(report, EXTRA[k]);
        if (x) {
            json_object_set(fc, EXTRA[k], x);
        }
    }
    return fc;
}

cr_status cr_api_trace_number(const char *param, const char *shown_as, const char *text,
                              double *out, cr_error *err)
{
    static const struct {
        const char *param;
        double lo, hi;
    } BOUNDS[] = {
        {"max_km", 0, 1e5},         {"max_hours", 0, 1e6},   {"velocity", 0.001, 10},
        {"dispersion", 0.001, 1e4}, {"spill_kg", 1e-9, 1e9}, {"spill_hours", 0, 1e4},
    };
    for (size_t i = 0; i < sizeof BOUNDS / sizeof BOUNDS[0]; i++) {
        if (strcmp(param, BOUNDS[i].param) != 0) {
            continue;
        }
        char *end = NULL;
        double v = strtod(text, &end);
        if (end == text || *end != '\0' || !(v >= BOUNDS[i].lo && v <= BOUNDS[i].hi)) {
            return cr_error_set(err, CR_EINVAL, "%s: '%.64s' is not a number in [%g, %g]", shown_as,
                                text, BOUNDS[i].lo, BOUNDS[i].hi);
        }
        *out = v;
        return CR_OK;
    }
    return cr_error_set(err, CR_EINVAL, "%s is not a number of a trace request", param);
}

/* The stored upstream totals of one reach: {field: value}. */
static json_t *accumulated_at(cr_store *store, const cr_graph *g, int32_t reach)
{
    json_t *out = json_object();
    sqlite3_stmt *st = cr_store_cached(store, "SELECT field, value FROM reach_accumulations"
                                              " WHERE reach_fid = ? ORDER BY field");
    if (st) {
        sqlite3_bind_int64(st, 1, g->reach_fid[reach]);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(out, (const char *)sqlite3_column_text(st, 0),
                                json_real(sqlite3_column_double(st, 1)));
        }
        sqlite3_reset(st);
    }
    return out;
}

/* What was asked, in the report: the start and every parameter that shaped the trace. */
static void describe_request(json_t *report, const cr_trace_request *req, json_t *start)
{
    json_object_set_new(report, "start", json_incref(start));
    json_object_set_new(report, "direction",
                        json_string(req->direction == CR_TRACE_DOWN ? "down" : "up"));
    json_object_set_new(report, "mode", json_string(req->main_only ? "main" : "all"));
    json_object_set_new(report, "max_km",
                        req->max_km > 0 || req->has_max_km ? json_real(req->max_km) : json_null());
    json_object_set_new(report, "max_hours",
                        req->max_hours > 0 || req->has_max_hours ? json_real(req->max_hours)
                                                                 : json_null());
    static const char *const ORIGIN[] = {"start", "inlet", "outlet"};
    json_object_set_new(report, "origin", json_string(ORIGIN[req->origin]));
    json_object_set_new(report, "exclude_start", json_boolean(req->exclude_start));
    json_object_set_new(report, "stop_at", req->stop_at ? json_string(req->stop_at) : json_null());
}

/* What follows from the trace: the spill estimate downstream; upstream, the candidate sources
 * for a joint investigation (追踪溯源) and the totals accumulated upstream of the start
 * (crossriver accumulate). */
static void add_findings(const cr_trace_context *cx, const cr_trace_request *req, json_t *report,
                         const cr_trace_result *res, const cr_trace_options *opt, int32_t reach)
{
    cr_store *store = cx->store;
    const cr_graph *g = cx->graph;
    if (req->spill_kg > 0) {
        cr_trace_add_spill(report, g, res, opt, req->spill_kg, req->spill_hours);
        json_object_set_new(report, "spill",
                            json_pack("{s:f, s:f, s:f}", "mass_kg", req->spill_kg, "release_h",
                                      req->spill_hours, "dispersion_m2s", req->dispersion_m2s));
    }
    if (req->direction == CR_TRACE_UP) {
        /* upstream: the candidate sources, for a joint investigation (追踪溯源), and the
         * totals accumulated upstream of the start (crossriver accumulate) */
        json_object_set_new(report, "attribution", cr_trace_attribution(store, report));
        json_object_set_new(report, "accumulated", accumulated_at(store, g, reach));
    }
}

cr_status cr_api_trace(const cr_trace_context *cx, const cr_trace_request *req, json_t **out,
                       cr_error *err)
{
    cr_store *store = cx->store;
    const cr_graph *g = cx->graph;
    cr_trace_workspace *ws = cx->ws;
    if (req->spill_kg > 0 && req->direction != CR_TRACE_DOWN) {
        return cr_error_set(err, CR_EINVAL, "a spill estimate goes downstream (direction down)");
    }
    json_t *start = json_object();
    int32_t *closed = NULL;
    int32_t *reversed = NULL;
    cr_trace_stop *stops = NULL;
    size_t n_closed = 0;
    size_t n_reversed = 0;
    size_t n_stops = 0;
    int32_t reach = -1;
    double measure = 0;
    cr_status rc = find_start(cx, req, &reach, &measure, start, err);
    json_t *in_force = NULL;
    if (rc == CR_OK && req->gates_at) {
        rc = logged_gates(cx, req, &in_force, &closed, &n_closed, &reversed, &n_reversed, err);
    }
    if (rc == CR_OK && req->gates_closed) {
        rc = gate_reaches(store, g, req->gates_closed, &closed, &n_closed, err);
    }
    if (rc == CR_OK && req->gates_reversed) {
        rc = gate_reaches(store, g, req->gates_reversed, &reversed, &n_reversed, err);
    }
    if (rc == CR_OK && req->stop_at) {
        rc = collect_stops(cx, req->stop_at, reach, measure, &stops, &n_stops, err);
    }
    /* --origin: distances from the other end of the start reach; the bound measures from it */
    int far_end =
        rc == CR_OK && ((req->origin == CR_ORIGIN_INLET && req->direction == CR_TRACE_UP) ||
                        (req->origin == CR_ORIGIN_OUTLET && req->direction == CR_TRACE_DOWN));
    double offset_km = far_end ? g->length_m[reach] / 1000.0 : 0;
    cr_trace_options opt = {
        .direction = req->direction,
        .main_only = req->main_only,
        .max_km = req->max_km > 0 || req->has_max_km ? req->max_km + offset_km : 0,
        .max_hours = req->max_hours,
        .has_max_km = req->has_max_km,
        .has_max_hours = req->has_max_hours,
        .exclude_start = req->exclude_start,
        .velocity_ms = req->velocity_ms,
        .dispersion_m2s = req->dispersion_m2s,
        .closed = closed,
        .n_closed = n_closed,
        .reversed = reversed,
        .n_reversed = n_reversed,
        .stops = stops,
        .n_stops = n_stops,
    };
    cr_trace_result res = {0};
    if (rc == CR_OK) {
        rc = ws ? cr_trace_run_ws(g, ws, reach, measure, &opt, &res, err)
                : cr_trace_run(g, reach, measure, &opt, &res, err);
    }
    for (size_t i = 0; rc == CR_OK && i < res.n; i++) {
        res.reaches[i].entry_km -= offset_km;
        res.reaches[i].exit_km -= offset_km;
    }
    if (rc == CR_OK) {
        json_t *report = cr_trace_report(store, g, &res, req->access);
        json_object_set_new(start, "reach_id", json_string(g->reach_id[reach]));
        json_object_set_new(start, "measure_m", json_real(round(measure * 10) / 10));
        describe_request(report, req, start);
        add_findings(cx, req, report, &res, &opt, reach);
        if (in_force) {
            json_object_set(report, "gates_in_force", json_object_get(in_force, "gates"));
        }
        if (req->geojson) {
            *out = to_geojson(store, g, report);
            json_decref(report);
        } else {
            *out = report;
        }
    }
    cr_trace_result_recycle(ws, &res);
    free(closed);
    free(reversed);
    free(stops);
    json_decref(start);
    json_decref(in_force);
    return rc;
}

int cr_api_parse_point(const char *text, double *lon, double *lat)
{
    char tail;
    return text && sscanf(text, "%lf,%lf%c", lon, lat, &tail) == 2 && fabs(*lon) <= 180 &&
           fabs(*lat) <= 90;
}
