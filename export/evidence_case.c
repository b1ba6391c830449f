/* SPDX-License-Identifier: MIT */
/* The case in the store: the features in scope as of the package's time, the import batches they
 * came from, the boundary line, case.json, and the case read back. */
#include "evidence_internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char *const LAYERS[] = {"outfalls", "monitoring_sections", "hyacinth_reports",
                                     "mobile_sources", "gates"};

static int in_trace(const json_t *trace, const char *layer, const char *id)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(trace, "features"), i, f)
    {
        const char *l = json_string_value(json_object_get(f, "layer"));
        const char *fid = json_string_value(json_object_get(f, "id"));
        if (l && fid && strcmp(l, layer) == 0 && strcmp(fid, id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 1 for a restricted field (contact person, phones): personal data, left out unless asked. */
static int personal(const cr_layer_def *d, const char *column)
{
    int i = cr_layer_def_field_index(d, column);
    return d->restricted || (i >= 0 && d->fields[i].restricted);
}

/* The features in scope, by layer then fid: GeoJSON features with every column (personal data
 * only when the case includes it), as they were at the as-of time. */
cr_status cr_ev_features(cr_store *store, const cr_evidence_case *c, const json_t *trace,
                         json_t *out, json_t *batch_ids, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    char a[32] = "", b[32] = "";
    if (c->boundary && sscanf(c->boundary, "%31[^:]:%31s", a, b) != 2) {
        return cr_error_set(err, CR_EINVAL, "boundary: COUNTY:COUNTY codes, e.g. 320509:310118");
    }
    for (size_t k = 0; k < sizeof LAYERS / sizeof LAYERS[0]; k++) {
        const cr_layer_def *d = cr_layer_set_find(cr_store_layers(store), LAYERS[k]);
        if (d == NULL) {
            continue;
        }
        /* --from/--to cut events (layers whose history says when each happened), never the
         * standing inventory */
        const char *date = d->event_field ? d->event_field : "NULL";
        /* "_current" is the as-of view here (as_of_views) */
        char *sql = sqlite3_mprintf(
            "SELECT *, AsGeoJSON(geom, 7) FROM \"%w_current\" WHERE (?1 IS NULL OR"
            " ((county_code = ?1 AND boundary_across_code = ?2) OR (county_code = ?2 AND"
            " boundary_across_code = ?1)) AND boundary_distance_m <= ?3)"
            " AND (?4 IS NULL OR %s IS NULL OR substr(%s, 1, 10) >= ?4)"
            " AND (?5 IS NULL OR %s IS NULL OR substr(%s, 1, 10) <= ?5) ORDER BY fid",
            d->name, date, date, date, date);
        sqlite3_stmt *st = NULL;
        int prc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_free(sql);
        if (prc != SQLITE_OK) {
            return cr_error_set(err, CR_EDB, "evidence %s: %s", d->name, sqlite3_errmsg(db));
        }
        if (c->boundary) {
            sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 3, (c->buffer_km > 0 ? c->buffer_km : 2.0) * 1000.0);
        }
        if (c->from_date) {
            sqlite3_bind_text(st, 4, c->from_date, -1, SQLITE_STATIC);
        }
        if (c->to_date) {
            sqlite3_bind_text(st, 5, c->to_date, -1, SQLITE_STATIC);
        }
        int n = sqlite3_column_count(st);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *props = json_pack("{s:s}", "layer", d->name);
            const char *id = NULL;
            for (int col = 0; col < n - 1; col++) {
                const char *name = sqlite3_column_name(st, col);
                /* join_generation counts join runs: bookkeeping that changes with every later
                 * import, so it would keep a package from being made again */
                if (strcmp(name, "geom") == 0 || strcmp(name, "join_generation") == 0 ||
                    (!c->include_personal && personal(d, name))) {
                    continue;
                }
                json_object_set_new(props, name, cr_api_column_json(st, col));
                if (strcmp(name, "source_id") == 0) {
                    id = (const char *)sqlite3_column_text(st, col);
                }
            }
            if (trace && (id == NULL || !in_trace(trace, d->name, id))) {
                json_decref(props);
                continue;
            }
            char key[32];
            snprintf(key, sizeof key, "%lld",
                     (long long)json_integer_value(json_object_get(props, "batch_id")));
            json_object_set_new(batch_ids, key, json_true());
            const char *gj = (const char *)sqlite3_column_text(st, n - 1);
            json_t *geom = gj ? json_loads(gj, 0, NULL) : NULL;
            json_array_append_new(out, json_pack("{s:s, s:o, s:o}", "type", "Feature", "properties",
                                                 props, "geometry", geom ? geom : json_null()));
        }
        sqlite3_finalize(st);
    }
    return CR_OK;
}

/* Import batches the features came from. */
json_t *cr_ev_batches(sqlite3 *db, const json_t *ids)
{
    json_t *out = json_array();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT batch_id, layer, file_name, sha256, encoding, crs, valid_from,"
                           " finished_at, rows_in, stored, rejected FROM import_batches"
                           " ORDER BY batch_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)sqlite3_column_int64(st, 0));
        if (json_object_get(ids, key) == NULL) {
            continue;
        }
        json_t *b = json_object();
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            json_object_set_new(b, sqlite3_column_name(st, c), cr_api_column_json(st, c));
        }
        json_array_append_new(out, b);
    }
    sqlite3_finalize(st);
    return out;
}

json_t *cr_ev_case_json(const cr_evidence_case *c)
{
    json_t *j = json_object();
    if (c->boundary) {
        json_object_set_new(j, "boundary", json_string(c->boundary));
        json_object_set_new(j, "buffer_km", json_real(c->buffer_km > 0 ? c->buffer_km : 2.0));
    }
    if (c->has_trace) {
        const cr_trace_request *t = &c->trace;
        json_t *tj =
            json_pack("{s:s, s:s}", "direction", t->direction == CR_TRACE_UP ? "up" : "down",
                      "mode", t->main_only ? "main" : "all");
        if (t->reach) {
            json_object_set_new(tj, "reach", json_string(t->reach));
        }
        if (t->feature) {
            json_object_set_new(tj, "feature", json_string(t->feature));
        }
        if (t->at) {
            json_object_set_new(tj, "at", json_pack("[f,f]", t->lon, t->lat));
        }
        /* what was asked, so that cr_api_trace_parse reads the same request back */
        if (t->max_km > 0 || t->has_max_km) {
            json_object_set_new(tj, "max_km", json_real(t->max_km));
        }
        if (t->max_hours > 0 || t->has_max_hours) {
            json_object_set_new(tj, "max_hours", json_real(t->max_hours));
        }
        if (t->spill_kg > 0) {
            json_object_set_new(tj, "spill_kg", json_real(t->spill_kg));
            json_object_set_new(tj, "spill_hours", json_real(t->spill_hours));
        }
        json_object_set_new(j, "trace", tj);
    }
    if (c->include_personal) {
        json_object_set_new(j, "personal_data", json_true());
    }
    if (c->from_date) {
        json_object_set_new(j, "from_date", json_string(c->from_date));
    }
    if (c->to_date) {
        json_object_set_new(j, "to_date", json_string(c->to_date));
    }
    return j;
}

/* The stretch of boundary between two counties: the line their outlines share. */
json_t *cr_ev_boundary_geojson(cr_store *store, const char *pair, cr_error *err)
{
    char a[32] = "", b[32] = "";
    sscanf(pair, "%31[^:]:%31s", a, b);
    sqlite3_stmt *st = NULL;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT AsGeoJSON(ST_Intersection(ST_Boundary(x.geom),"
                           " ST_Boundary(y.geom)), 7) FROM admin_units_current x,"
                           " admin_units_current y WHERE x.code = ? AND y.code = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
            json_t *g = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
            out = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}, s:o}]}", "type", "FeatureCollection",
                            "features", "type", "Feature", "properties", "county_a", a, "county_b",
                            b, "geometry", g ? g : json_null());
        }
    }
    sqlite3_finalize(st);
    if (out == NULL) {
        cr_error_set(err, CR_ENOTFOUND,
                     "boundary: counties %s and %s share no boundary in the store", a, b);
    }
    return out;
}

/* 1 when some finished batch is dated at or before as_of; first gets the earliest date. */
int cr_ev_store_held_anything(cr_store *store, const char *as_of, char first[32])
{
    sqlite3_stmt *st;
    int held = 0;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT min(valid_from), sum(substr(valid_from, 1, 19) <= substr(?, 1,"
                           " 19)) FROM import_batches WHERE finished_at IS NOT NULL",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, as_of, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *f = (const char *)sqlite3_column_text(st, 0);
            snprintf(first, 32, "%s", f ? f : "");
            held = sqlite3_column_int64(st, 1) > 0;
        }
    }
    sqlite3_finalize(st);
    return held;
}

/* The case of a package's case.json, for a re-run (strings borrowed from j); its trace goes
 * through the one trace-request parser, so a bad one is refused as over HTTP. */
cr_status cr_evidence_case_from_json(const json_t *j, cr_evidence_case *c, cr_error *err)
{
    const json_t *cj = json_object_get(j, "case"), *t = json_object_get(cj, "trace");
    memset(c, 0, sizeof *c);
    c->boundary = json_string_value(json_object_get(cj, "boundary"));
    c->buffer_km = json_number_value(json_object_get(cj, "buffer_km"));
    c->from_date = json_string_value(json_object_get(cj, "from_date"));
    c->to_date = json_string_value(json_object_get(cj, "to_date"));
    c->include_personal = json_is_true(json_object_get(cj, "personal_data"));
    c->as_of = json_string_value(json_object_get(j, "as_of"));
    c->issuer = json_string_value(json_object_get(j, "issuer"));
    if (t == NULL) {
        return CR_OK;
    }
    if (!json_is_object(t)) {
        return cr_error_set(err, CR_EINVAL, "case.trace: an object of trace parameters");
    }
    c->has_trace = 1;
    cr_status rc = cr_api_trace_parse(t, 0, &c->trace, err);
    return rc == CR_OK ? CR_OK : cr_error_prefix(err, "case.trace");
}
