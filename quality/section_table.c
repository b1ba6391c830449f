/* SPDX-License-Identifier: MIT */
/* The joint monitoring section table (联合监测断面信息表) and the reconciliation of results
 * where both sides measured the same sample. */
#include "section_table.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *column, *title;
} COLUMNS[] = {
    {"source_id", "断面编码"},
    {"name", "断面名称"},
    {"river", "所在河流"},
    {"section_kind", "断面类型"},
    {"boundary", "交界"},
    {"upstream_jurisdiction", "上游行政区"},
    {"downstream_jurisdiction", "下游行政区"},
    {"target_class", "水质目标"},
    {"water_body", "水体类型"},
    {"monitoring_method", "监测方式"},
    {"frequency", "监测频次"},
    {"indicators", "监测指标"},
    {"responsible", "责任单位"},
    {"sampling_parties", "采样方"},
    {"operator", "监测单位"},
};
#define N_COLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

/* An enumerated value as the layer's first written form (cross_boundary → 跨界), or NULL. */
static const char *display(const cr_layer_def *d, const char *field, const char *canonical)
{
    int fi = d ? cr_layer_def_field_index(d, field) : -1;
    if (fi < 0) {
        return NULL;
    }
    const cr_field_def *f = &d->fields[fi];
    for (size_t k = 0; k < f->n_values; k++) {
        if (strcmp(f->values[k].canonical, canonical) == 0 && f->values[k].n_synonyms > 0) {
            return f->values[k].synonyms[0];
        }
    }
    return NULL;
}

cr_status cr_wq_section_table(cr_store *store, json_t **out, cr_error *err)
{
    *out = NULL;
    cr_strbuf sql = {0};
    cr_strbuf_puts(&sql, "SELECT ");
    for (size_t i = 0; i < N_COLUMNS; i++) {
        cr_strbuf_printf(&sql, "%s%s", i ? ", " : "", COLUMNS[i].column);
    }
    cr_strbuf_puts(&sql, ", ST_X(geom), ST_Y(geom), reach_id, county_code");
    int readings = cr_wq_has_tables(store);
    if (readings) {
        cr_strbuf_puts(&sql, ", (SELECT COUNT(*) FROM wq_series r WHERE r.section_id ="
                             " s.source_id), (SELECT MAX(l.t) FROM wq_latest l JOIN wq_series r"
                             " ON r.series_id = l.series_id WHERE r.section_id = s.source_id)");
    }
    cr_strbuf_puts(&sql, " FROM monitoring_sections_current s ORDER BY source_id");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store), sql.data, -1, &st, NULL) != SQLITE_OK) {
        cr_strbuf_cleanup(&sql);
        return cr_error_set(err, CR_EDB, "sections: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    cr_strbuf_cleanup(&sql);
    json_t *rows = json_array();
    const cr_layer_def *def = cr_layer_set_find(cr_store_layers(store), "monitoring_sections");
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object(), *shown = json_object();
        for (size_t i = 0; i < N_COLUMNS; i++) {
            const unsigned char *v = sqlite3_column_text(st, (int)i);
            json_object_set_new(o, i == 0 ? "section_id" : COLUMNS[i].column,
                                v ? json_string((const char *)v) : json_null());
            const char *word = v ? display(def, COLUMNS[i].column, (const char *)v) : NULL;
            if (word) {
                json_object_set_new(shown, COLUMNS[i].column, json_string(word));
            }
        }
        json_object_set_new(o, "display", shown);
        int c = (int)N_COLUMNS;
        json_object_set_new(o, "lon", json_real(sqlite3_column_double(st, c)));
        json_object_set_new(o, "lat", json_real(sqlite3_column_double(st, c + 1)));
        const unsigned char *reach = sqlite3_column_text(st, c + 2);
        const unsigned char *county = sqlite3_column_text(st, c + 3);
        json_object_set_new(o, "reach_id", reach ? json_string((const char *)reach) : json_null());
        json_object_set_new(o, "county_code",
                            county ? json_string((const char *)county) : json_null());
        if (readings) {
            json_object_set_new(o, "series", json_integer(sqlite3_column_int64(st, c + 4)));
            if (sqlite3_column_type(st, c + 5) != SQLITE_NULL) {
                char t[20];
                cr_wq_time_format(sqlite3_column_int64(st, c + 5), t);
                json_object_set_new(o, "latest_reading", json_string(t));
            }
        }
        json_array_append_new(rows, o);
    }
    sqlite3_finalize(st);
    *out = rows;
    return CR_OK;
}

/* A cell as people read it: the enumeration's Chinese form where there is one. */
static const char *cell(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(json_object_get(o, "display"), k));
    if (v == NULL) {
        v = json_string_value(json_object_get(o, k));
    }
    return v ? v : "";
}

void cr_wq_section_table_csv(const json_t *rows, cr_strbuf *b)
{
    cr_csv_begin(b);
    const char *head[N_COLUMNS + 3];
    for (size_t i = 0; i < N_COLUMNS; i++) {
        head[i] = COLUMNS[i].title;
    }
    head[N_COLUMNS] = "经度";
    head[N_COLUMNS + 1] = "纬度";
    head[N_COLUMNS + 2] = "最新数据时间";
    cr_csv_row(b, head, N_COLUMNS + 3);
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        const char *cells[N_COLUMNS + 3];
        char lon[24], lat[24];
        for (size_t k = 0; k < N_COLUMNS; k++) {
            cells[k] = cell(o, k == 0 ? "section_id" : COLUMNS[k].column);
        }
        snprintf(lon, sizeof lon, "%.6f", json_number_value(json_object_get(o, "lon")));
        snprintf(lat, sizeof lat, "%.6f", json_number_value(json_object_get(o, "lat")));
        cells[N_COLUMNS] = lon;
        cells[N_COLUMNS + 1] = lat;
        cells[N_COLUMNS + 2] = cell(o, "latest_reading");
        cr_csv_row(b, cells, N_COLUMNS + 3);
    }
}

void cr_wq_section_table_html(const json_t *rows, cr_strbuf *b)
{
    cr_html_begin(b, "联合监测断面信息表",
                  "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #999;padding:3px 5px;font-size:12px;vertical-align:"
                  "top}th{background:#eef}@page{size:A4 landscape}");
    cr_strbuf_printf(b, "<h1>联合监测断面信息表</h1><p>%zu 个断面 sections</p><table><tr>",
                     json_array_size(rows));
    for (size_t i = 0; i < N_COLUMNS; i++) {
        cr_html_cell(b, "th", COLUMNS[i].title);
    }
    cr_html_cell(b, "th", "最新数据时间");
    cr_strbuf_puts(b, "</tr>");
    size_t i;
    json_t *o;
    json_array_foreach(rows, i, o)
    {
        cr_strbuf_puts(b, "<tr>");
        for (size_t k = 0; k < N_COLUMNS; k++) {
            cr_html_cell(b, "td", cell(o, k == 0 ? "section_id" : COLUMNS[k].column));
        }
        cr_html_cell(b, "td", cell(o, "latest_reading"));
        cr_strbuf_puts(b, "</tr>");
    }
    cr_strbuf_puts(b, "</table>");
    cr_html_end(b);
}

/* ---- reconciliation ----------------------------------------------------------------------- */

cr_status cr_wq_tolerance_load(const json_t *conf, cr_wq_tolerance *out, cr_error *err)
{
    out->relative = 0.15;
    out->absolute = json_object();
    if (conf == NULL) {
        return CR_OK;
    }
    json_t *rel = json_object_get(conf, "relative");
    if (rel && (!json_is_number(rel) || json_number_value(rel) < 0)) {
        json_decref(out->absolute);
        out->absolute = NULL;
        return cr_error_set(err, CR_EINVAL, "reconciliation.relative: a number ≥ 0");
    }
    if (rel) {
        out->relative = json_number_value(rel);
    }
    json_t *abs_ = json_object_get(conf, "absolute");
    if (json_is_object(abs_)) {
        json_object_update(out->absolute, abs_);
    }
    return CR_OK;
}

cr_status cr_wq_compare_parties(cr_store *store, const cr_standards *s, const cr_wq_tolerance *tol,
                                const char *section, json_t **out, cr_error *err)
{
    *out = json_array();
    if (!cr_wq_has_tables(store)) {
        return CR_OK;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            cr_store_db(store),
            "SELECT u.section_id, u.indicator, a.t, a.value, a.censored, a.batch_id,"
            " a.source_row, b.value, b.censored, b.batch_id, b.source_row FROM wq_series u"
            " JOIN wq_series d ON d.section_id = u.section_id AND d.indicator = u.indicator AND"
            " d.method = u.method AND d.party = 'downstream' JOIN wq_readings a ON a.series_id"
            " = u.series_id JOIN wq_readings b ON b.series_id = d.series_id AND b.t = a.t"
            " WHERE u.party = 'upstream' AND (?1 IS NULL OR u.section_id = ?1)"
            " ORDER BY u.section_id, a.t, u.indicator",
            -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "reconciliation: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (section) {
        sqlite3_bind_text(st, 1, section, -1, SQLITE_TRANSIENT);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 1);
        int ind = cr_standards_find_code(s, code);
        double up = sqlite3_column_double(st, 3), down = sqlite3_column_double(st, 7);
        int cu = sqlite3_column_int(st, 4), cd = sqlite3_column_int(st, 8);
        double diff = fabs(up - down);
        double mean = 0.5 * (fabs(up) + fabs(down));
        double rel = mean > 0 ? diff / mean : 0;
        json_t *abs_v = json_object_get(tol->absolute, code);
        double abs_tol = json_is_number(abs_v)                         ? json_number_value(abs_v)
                         : ind >= 0 && s->ind[ind].detection_limit > 0 ? s->ind[ind].detection_limit
                                                                       : 0;
        /* both below detection agree; a difference within the absolute tolerance is noise */
        int flagged = !(cu && cd) && rel > tol->relative && diff > abs_tol;
        char t[20];
        cr_wq_time_format(sqlite3_column_int64(st, 2), t);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:{s:f, s:b, s:I, s:I}, s:{s:f, s:b, s:I, s:I}, s:f, s:f, s:b}",
            "section_id", (const char *)sqlite3_column_text(st, 0), "indicator", code, "time", t,
            "upstream", "value", up, "censored", cu, "batch_id",
            (json_int_t)sqlite3_column_int64(st, 5), "source_row",
            (json_int_t)sqlite3_column_int64(st, 6), "downstream", "value", down, "censored", cd,
            "batch_id", (json_int_t)sqlite3_column_int64(st, 9), "source_row",
            (json_int_t)sqlite3_column_int64(st, 10), "difference", diff, "relative", rel,
            "flagged", flagged);
        json_array_append_new(*out, o);
    }
    sqlite3_finalize(st);
    return CR_OK;
}
