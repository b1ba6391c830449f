/* SPDX-License-Identifier: MIT */
/* What a trace means for people: the reaches with distance and time, the features met on the
 * way (from the stored joins), and the jurisdictions entered in order with their contacts —
 * the notification list. Rule: read-only on the store. */
#include "ops.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Where along the trace a measure m on a reached reach is: distance and time. */
static void at_measure(const cr_trace_reach *tr, double m, double *km, double *h)
{
    double span = fabs(tr->exit_m - tr->entry_m);
    double f = span > 0 ? fabs(m - tr->entry_m) / span : 0;
    *km = tr->entry_km + f * (tr->exit_km - tr->entry_km);
    *h = tr->entry_h + f * (tr->exit_h - tr->entry_h);
}

static int covers(const cr_trace_reach *tr, double m)
{
    double lo = fmin(tr->entry_m, tr->exit_m);
    double hi = fmax(tr->entry_m, tr->exit_m);
    return m >= lo - 0.5 && m <= hi + 0.5;
}

/* The result slot of each reached reach: an open-addressing table over the trace's reaches,
 * so a short trace on a million-reach network costs what the trace costs. */
typedef struct {
    int32_t *keys, *vals;
    size_t mask;
} slot_map;

static size_t slot_hash(int32_t r, size_t mask)
{
    return ((uint32_t)r * 2654435761u) & mask;
}

static slot_map *slots(const cr_graph *g, const cr_trace_result *res)
{
    (void)g;
    slot_map *m = cr_xcalloc(1, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * res->n) {
        cap *= 2;
    }
    m->mask = cap - 1;
    m->keys = cr_xmalloc(cap * sizeof *m->keys);
    m->vals = cr_xmalloc(cap * sizeof *m->vals);
    for (size_t i = 0; i < cap; i++) {
        m->keys[i] = -1;
    }
    for (size_t i = 0; i < res->n; i++) {
        size_t h = slot_hash(res->reaches[i].reach, m->mask);
        while (m->keys[h] >= 0 && m->keys[h] != res->reaches[i].reach) {
            h = (h + 1) & m->mask;
        }
        m->keys[h] = res->reaches[i].reach;
        m->vals[h] = (int32_t)i;
    }
    return m;
}

/* The slot of graph reach r, or -1 (not reached, or r < 0). */
static int32_t slot_get(const slot_map *m, int32_t r)
{
    if (r < 0) {
        return -1;
    }
    for (size_t h = slot_hash(r, m->mask); m->keys[h] >= 0; h = (h + 1) & m->mask) {
        if (m->keys[h] == r) {
            return m->vals[h];
        }
    }
    return -1;
}

static void slot_map_free(slot_map *m)
{
    if (m) {
        free(m->keys);
        free(m->vals);
        free(m);
    }
}

/* By distance, then layer and ID: the order does not depend on how the features were read. */
static int compare_distance(const void *a, const void *b)
{
    const json_t *p = *(json_t *const *)a, *q = *(json_t *const *)b;
    double x = json_real_value(json_object_get(p, "distance_km"));
    double y = json_real_value(json_object_get(q, "distance_km"));
    if (x != y) {
        return x < y ? -1 : 1;
    }
    const char *k[2] = {"layer", "id"};
    for (int i = 0; i < 2; i++) {
        const char *u = json_string_value(json_object_get(p, k[i]));
        const char *v = json_string_value(json_object_get(q, k[i]));
        int c = strcmp(u ? u : "", v ? v : "");
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **items = cr_xmalloc((n + 1) * sizeof *items);
    for (size_t i = 0; i < n; i++) {
        items[i] = json_incref(json_array_get(arr, i));
    }
    if (n > 1) {
        qsort(items, n, sizeof *items, compare_distance);
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(out, items[i]);
    }
    free(items);
    json_decref(arr);
    return out;
}

static double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

/* Few reached reaches: their features by the layer's by-reach list; many: one pass over the layer.
 */
#define FEW_REACHES 4000

/* The rows of st (one reach at a time by ?1 when by_reach, else one pass) within the covered
 * part, as features; finalizes st. */
static void point_rows(sqlite3_stmt *st, int by_reach, const cr_graph *g,
                       const cr_trace_result *res, const slot_map *slot, const cr_layer_def *d,
                       json_t *out)
{
    for (size_t k = 0; k < (by_reach ? res->n : 1); k++) {
        if (by_reach) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, g->reach_id[res->reaches[k].reach], -1, SQLITE_STATIC);
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            int32_t r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 2));
            if (r < 0 || slot_get(slot, r) < 0) {
                continue;
            }
            const cr_trace_reach *tr = &res->reaches[slot_get(slot, r)];
            double m = sqlite3_column_double(st, 3);
            if (!covers(tr, m)) {
                continue;
            }
            double km;
            double h;
            at_measure(tr, m, &km, &h);
            json_t *f =
                json_pack("{s:s, s:s, s:s?, s:s, s:f, s:f, s:f, s:s?, s:s?, s:s?, s:s?}", "layer",
                          d->name, "id", (const char *)sqlite3_column_text(st, 0), "name",
                          (const char *)sqlite3_column_text(st, 1), "reach_id", g->reach_id[r],
                          "measure_m", round(m * 10) / 10, "distance_km", round3(km), "time_h",
                          round3(h), "county_code", (const char *)sqlite3_column_text(st, 4),
                          "zone_grade", (const char *)sqlite3_column_text(st, 5), "join_flags",
                          (const char *)sqlite3_column_text(st, 6), "town_code",
                          (const char *)sqlite3_column_text(st, 7));
            json_array_append_new(out, f);
        }
    }
    sqlite3_finalize(st);
}

/* Point features joined to a reached reach, within the covered part. */
static void point_features(sqlite3 *db, const cr_layer_def *d, const cr_graph *g,
                           const cr_trace_result *res, const slot_map *slot, json_t *out)
{
    const char *name = cr_layer_def_field_index(d, "name") >= 0        ? "name"
                       : cr_layer_def_field_index(d, "ship_name") >= 0 ? "ship_name"
                                                                       : "NULL";
    int by_reach = res->n <= FEW_REACHES;
    /* by reach: the layer's list of its rows by reach; a store from before it has the column */
    char list[160];
    snprintf(list, sizeof list, "fid IN (SELECT fid FROM \"%s_by_reach\" WHERE reach_id = ?1)",
             d->name);
    const char *where[2] = {by_reach ? list : "reach_id IS NOT NULL", "reach_id = ?1"};
    for (int k = 0; k < (by_reach ? 2 : 1); k++) {
        char sql[640];
        snprintf(sql, sizeof sql,
                 "SELECT source_id, %s, reach_id, measure_m, county_code, zone_grade, join_flags,"
                 " town_code FROM \"%s_current\" WHERE %s",
                 name, d->name, where[k]);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            point_rows(st, by_reach, g, res, slot, d, out);
            return;
        }
    }
}

/* Protection zones covering a reached reach, at the first such reach. */
static void zone_features(sqlite3 *db, const cr_graph *g, const cr_trace_result *res,
                          const slot_map *slot, json_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT source_id, name, grade, source_name, intake_id,"
                           " covered_reaches FROM protection_zones_current"
                           " WHERE covered_reaches IS NOT NULL ORDER BY source_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *covered = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
        double best_km = INFINITY;
        double best_h = INFINITY;
        int32_t best_r = -1;
        size_t i;
        json_t *v;
        json_array_foreach(covered, i, v)
        {
            int32_t r = cr_graph_find_reach(g, json_string_value(v));
            if (r >= 0 && slot_get(slot, r) >= 0 &&
                res->reaches[slot_get(slot, r)].entry_km < best_km) {
                best_km = res->reaches[slot_get(slot, r)].entry_km;
                best_h = res->reaches[slot_get(slot, r)].entry_h;
                best_r = r;
            }
        }
        json_decref(covered);
        if (isfinite(best_km)) {
            json_array_append_new(
                out, json_pack("{s:s, s:s, s:s?, s:s, s:s, s:f, s:f, s:f, s:s?, s:s?}", "layer",
                               "protection_zones", "id", (const char *)sqlite3_column_text(st, 0),
                               "name", (const char *)sqlite3_column_text(st, 1), "zone_grade",
                               (const char *)sqlite3_column_text(st, 2), "reach_id",
                               g->reach_id[best_r], "measure_m",
                               round(res->reaches[slot_get(slot, best_r)].entry_m * 10) / 10,
                               "distance_km", round3(best_km), "time_h", round3(best_h),
                               "source_name", (const char *)sqlite3_column_text(st, 3), "intake_id",
                               (const char *)sqlite3_column_text(st, 4)));
        }
    }
    sqlite3_finalize(st);
}

/* Contacts of a jurisdiction; restricted fields (liaison, phone) only when asked. */
static json_t *contacts(sqlite3 *db, const char *code, int restricted)
{
    json_t *arr = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT role, agency, duty_phone, liaison, phone FROM contacts_current"
                           " WHERE jurisdiction_code = ? ORDER BY role, agency",
                           -1, &st, NULL) != SQLITE_OK) {
        return arr;
    }
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *c =
            json_pack("{s:s?, s:s?, s:s?}", "role", (const char *)sqlite3_column_text(st, 0),
                      "agency", (const char *)sqlite3_column_text(st, 1), "duty_phone",
                      (const char *)sqlite3_column_text(st, 2));
        if (restricted) {
            json_object_set_new(c, "liaison",
                                sqlite3_column_text(st, 3)
                                    ? json_string((const char *)sqlite3_column_text(st, 3))
                                    : json_null());
            json_object_set_new(c, "phone",
                                sqlite3_column_text(st, 4)
                                    ? json_string((const char *)sqlite3_column_text(st, 4))
                                    : json_null());
        }
        json_array_append_new(arr, c);
    }
    sqlite3_finalize(st);
    return arr;
}

/* Jurisdictions entered in order: from each reached reach's county segments, the point where
 * the trace first enters each county. */
static json_t *jurisdictions(sqlite3 *db, const cr_graph *g, const cr_trace_result *res,
                             const slot_map *slot, const cr_access *access)
{
    json_t *first = json_object(); /* code → [km, h] */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT reach_id, segments FROM reach_jurisdictions", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int32_t r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
            if (r < 0 || slot_get(slot, r) < 0) {
                continue;
            }
            const cr_trace_reach *tr = &res->reaches[slot_get(slot, r)];
            double lo = fmin(tr->entry_m, tr->exit_m);
            double hi = fmax(tr->entry_m, tr->exit_m);
            json_t *segs = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
            size_t i;
            json_t *seg;
            json_array_foreach(segs, i, seg)
            {
                const char *code = json_string_value(json_array_get(seg, 0));
                double a = json_number_value(json_array_get(seg, 1));
                double b = json_number_value(json_array_get(seg, 2));
                if (b < lo || a > hi) {
                    continue; /* this county's part of the reach was not covered */
                }
                /* the first point of the segment the trace meets */
                double m = tr->exit_m >= tr->entry_m ? fmax(a, tr->entry_m) : fmin(b, tr->entry_m);
                double km;
                double h;
                at_measure(tr, m, &km, &h);
                json_t *prev = json_object_get(first, code);
                if (prev == NULL || km < json_real_value(json_array_get(prev, 0))) {
                    json_object_set_new(first, code, json_pack("[f, f]", km, h));
                }
            }
            json_decref(segs);
        }
        sqlite3_finalize(st);
    }
    json_t *arr = json_array();
    const char *code;
    json_t *v;
    json_object_foreach(first, code, v)
    {
        char name[128] = "";
        sqlite3_stmt *ns;
        if (sqlite3_prepare_v2(db, "SELECT name FROM admin_units_current WHERE source_id = ?", -1,
                               &ns, NULL) == SQLITE_OK) {
            sqlite3_bind_text(ns, 1, code, -1, SQLITE_STATIC);
            if (sqlite3_step(ns) == SQLITE_ROW) {
                snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(ns, 0));
            }
            sqlite3_finalize(ns);
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:f, s:f, s:o}", "code", code, "name", name, "distance_km",
                           round3(json_real_value(json_array_get(v, 0))), "time_h",
                           round3(json_real_value(json_array_get(v, 1))), "contacts",
                           contacts(db, code,
                                    cr_access_layer(access, "contacts") &&
                                        cr_access_code(access, code))));
    }
    json_decref(first);
    return sorted(arr);
}

static int by_entry(const void *a, const void *b)
{
    const cr_trace_reach *x = *(const cr_trace_reach *const *)a;
    const cr_trace_reach *y = *(const cr_trace_reach *const *)b;
    if (x->entry_km != y->entry_km) {
        return x->entry_km < y->entry_km ? -1 : 1;
    }
    return x->reach - y->reach;
}

json_t *cr_trace_report(cr_store *store, const cr_graph *g, const cr_trace_result *res,
                        const cr_access *access)
{
    sqlite3 *db = cr_store_db(store);
    slot_map *slot = slots(g, res);
    json_t *reaches = json_array();
    const cr_trace_reach **order = cr_xmalloc((res->n + 1) * sizeof *order);
    for (size_t i = 0; i < res->n; i++) {
        order[i] = &res->reaches[i];
    }
    if (res->n > 1) {
        qsort(order, res->n, sizeof *order, by_entry);
    }
    for (size_t i = 0; i < res->n; i++) {
        const cr_trace_reach *tr = order[i];
        json_array_append_new(
            reaches,
            json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:b, s:b, s:b, s:b, s:b}", "reach_id",
                      g->reach_id[tr->reach], "distance_km", round3(tr->entry_km), "time_h",
                      round3(tr->entry_h), "exit_km", round3(tr->exit_km), "exit_h",
                      round3(tr->exit_h), "from_m", round(fmin(tr->entry_m, tr->exit_m) * 10) / 10,
                      "to_m", round(fmax(tr->entry_m, tr->exit_m) * 10) / 10, "partial",
                      tr->partial, "bidirectional", tr->bidirectional, "against_digitised",
                      tr->against, "gated", tr->gated, "stopped", tr->stopped));
    }
    free(order);
    json_t *features = json_array();
    const cr_layer_set *set = cr_store_layers(store);
    for (size_t i = 0; i < set->n_layers; i++) {
        if (cr_layer_joins_points(set->layers[i])) {
            point_features(db, set->layers[i], g, res, slot, features);
        }
    }
    zone_features(db, g, res, slot, features);
    json_t *out = json_pack("{s:o, s:o, s:o}", "reaches", reaches, "features", sorted(features),
                            "jurisdictions", jurisdictions(db, g, res, slot, access));
    slot_map_free(slot);
    return out;
}

json_t *cr_trace_attribution(cr_store *store, const json_t *report)
{
    sqlite3 *db = cr_store_db(store);
    json_t *groups = json_object(); /* county → group */
    json_t *order = json_array();   /* counties by nearest candidate (features are sorted) */
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(report, "features"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "layer")), "outfalls") != 0) {
            continue;
        }
        const char *county = json_string_value(json_object_get(f, "county_code"));
        county = county ? county : "";
        json_t *group = json_object_get(groups, county);
        if (group == NULL) {
            char name[128] = "";
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(db, "SELECT name FROM admin_units_current WHERE source_id=?", -1,
                                   &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, county, -1, SQLITE_STATIC);
                if (sqlite3_step(st) == SQLITE_ROW) {
                    snprintf(name, sizeof name, "%s", (const char *)sqlite3_column_text(st, 0));
                }
                sqlite3_finalize(st);
            }
            group = json_pack("{s:s, s:s, s:[]}", "county_code", county, "county_name", name,
                              "outfalls");
            json_object_set_new(groups, county, group);
            json_array_append(order, group);
        }
        json_t *o = json_deep_copy(f);
        json_object_del(o, "layer");
        json_array_append_new(json_object_get(group, "outfalls"), o);
    }
    json_decref(groups);
    return order;
}

void cr_trace_add_spill(json_t *report, const cr_graph *g, const cr_trace_result *res,
                        const cr_trace_options *opt, double mass_kg, double release_h)
{
    slot_map *slot = slots(g, res);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(report, "features"), i, f)
    {
        const char *layer = json_string_value(json_object_get(f, "layer"));
        if (strcmp(layer, "monitoring_sections") != 0 && strcmp(layer, "protection_zones") != 0 &&
            strcmp(layer, "intakes") != 0) {
            continue;
        }
        int32_t r = cr_graph_find_reach(g, json_string_value(json_object_get(f, "reach_id")));
        if (r < 0 || slot_get(slot, r) < 0) {
            continue;
        }
        cr_spill_at at;
        cr_spill_estimate(g, opt, &res->reaches[slot_get(slot, r)],
                          json_real_value(json_object_get(f, "measure_m")), mass_kg, release_h,
                          &at);
        json_t *spill = json_pack("{s:f, s:f, s:f, s:f, s:f}", "leading_edge_h",
                                  round3(at.leading_edge_h), "peak_h", round3(at.peak_h),
                                  "peak_mg_l", round(at.peak_mg_l * 1e6) / 1e6, "trailing_edge_h",
                                  round3(at.trailing_edge_h), "discharge_m3s", at.discharge_m3s);
        if (at.lake_tau_h > 0) {
            json_object_set_new(spill, "mixed_lake_residence_h", json_real(round3(at.lake_tau_h)));
        }
        json_object_set_new(f, "spill", spill);
    }
    slot_map_free(slot);
}
