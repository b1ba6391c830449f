/* SPDX-License-Identifier: MIT */
/* The readings stage of an evidence package: the water-quality readings of the sections in the
 * case as they were known at the as-of time (the value then in force, a later correction left
 * out), with their batch and source row, and a chart per section for the report. */
#include "evidence_internal.h"
#include "quality/quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A year of readings before the as-of time. */
#define WINDOW_DAYS 365
/* Charted: the indicators a boundary dispute is usually about, in this order. */
static const char *const CHARTED[] = {"nh3n", "tp", "codmn", "do"};

/* "2025-11-01T00:00:00Z" (UTC) as CST seconds. */
static int64_t as_of_cst(const char *as_of)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (sscanf(as_of, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) < 3) {
        return 0;
    }
    return cr_wq_time_from_fields(y, mo, d, h, mi, s) + 8 * 3600;
}

static const char *SQL =
    "SELECT r.indicator, r.method, r.party, a.t, a.value, a.censored, a.flag, a.batch_id,"
    " a.source_row FROM wq_series r JOIN wq_readings a ON a.series_id ="
    " r.series_id JOIN import_batches b ON b.batch_id = a.batch_id WHERE r.section_id = ?1 AND"
    " a.t BETWEEN ?2 AND ?3 AND substr(b.valid_from, 1, 19) <= ?4"
    " UNION ALL "
    "SELECT r.indicator, r.method, r.party, o.t, o.value, o.censored, o.flag, o.batch_id,"
    " o.source_row FROM wq_series r JOIN wq_readings_old o ON"
    " o.series_id = r.series_id JOIN import_batches b ON b.batch_id = o.batch_id JOIN"
    " import_batches c ON c.batch_id = o.closed_by_batch WHERE r.section_id = ?1 AND o.t"
    " BETWEEN ?2 AND ?3 AND substr(b.valid_from, 1, 19) <= ?4 AND substr(c.valid_from, 1, 19) >"
    " ?4 ORDER BY 1, 2, 3, 4";

typedef struct {
    int64_t day[WINDOW_DAYS + 1];
    double sum[WINDOW_DAYS + 1];
    int n[WINDOW_DAYS + 1];
} daily;

static void chart_panel(cr_strbuf *b, const cr_standards *s, const cr_indicator *d, const daily *dm,
                        int64_t day0, double target, int panel)
{
    const double W = 560, H = 90, X0 = 60, Y0 = 20 + panel * (H + 30);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i <= WINDOW_DAYS; i++) {
        if (dm->n[i]) {
            double v = dm->sum[i] / dm->n[i];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
    if (target > 0) {
        lo = fmin(lo, target);
        hi = fmax(hi, target);
    }
    lo = fmin(lo, 0);
    if (!(hi > lo)) {
        hi = lo + 1;
    }
    cr_strbuf_printf(b, "<text x=\"%g\" y=\"%g\" font-size=\"11\">", X0, Y0 - 4);
    cr_xml_append(b, d->name);
    cr_strbuf_printf(b, " (%s)%s</text>", d->unit,
                     target > 0 ? " — 虚线: 目标类别限值 dashed: the target class's limit" : "");
    cr_strbuf_printf(b,
                     "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" "
                     "stroke=\"#999\"/><text x=\"%g\" y=\"%g\" font-size=\"9\" "
                     "text-anchor=\"end\">%.3g</text><text x=\"%g\" y=\"%g\" font-size=\"9\" "
                     "text-anchor=\"end\">%.3g</text>",
                     X0, Y0, W, H, X0 - 3, Y0 + 8, hi, X0 - 3, Y0 + H, lo);
    char first[11], last[11];
    cr_wq_day_format(day0, first);
    cr_wq_day_format(day0 + WINDOW_DAYS, last);
    cr_strbuf_printf(b,
                     "<text x=\"%g\" y=\"%g\" font-size=\"9\">%s</text><text x=\"%g\" y=\"%g\" "
                     "font-size=\"9\" text-anchor=\"end\">%s</text>",
                     X0, Y0 + H + 11, first, X0 + W, Y0 + H + 11, last);
    if (target > 0) {
        double y = Y0 + H - (target - lo) / (hi - lo) * H;
        cr_strbuf_printf(b,
                         "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#b00020\" "
                         "stroke-dasharray=\"5,3\"/>",
                         X0, y, X0 + W, y);
    }
    cr_strbuf_puts(b, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1\" points=\"");
    for (int i = 0; i <= WINDOW_DAYS; i++) {
        if (dm->n[i]) {
            double v = dm->sum[i] / dm->n[i];
            cr_strbuf_printf(b, "%.1f,%.1f ", X0 + W * i / WINDOW_DAYS,
                             Y0 + H - (v - lo) / (hi - lo) * H);
        }
    }
    cr_strbuf_puts(b, "\"/>");
    (void)s;
}

/* One section: its rows into the CSV and summary, its chart. */
static cr_status one_section(cr_store *store, const cr_standards *s, const char *section,
                             const char *as_of, json_t *ids, cr_strbuf *csv, json_t *out,
                             cr_error *err)
{
    cr_wq_section sec;
    cr_error nf = {0};
    if (cr_wq_section_get(store, section, &sec, &nf) != CR_OK) {
        return CR_OK;
    }
    int64_t t1 = as_of_cst(as_of), day1 = cr_wq_day_of(t1), day0 = day1 - WINDOW_DAYS;
    sqlite3_stmt *st = cr_store_cached(store, SQL);
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_text(st, 1, section, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, day0 * 86400);
    sqlite3_bind_int64(st, 3, t1);
    sqlite3_bind_text(st, 4, as_of, 19, SQLITE_TRANSIENT);
    daily *dm = cr_xcalloc(sizeof CHARTED / sizeof CHARTED[0], sizeof *dm);
    json_t *per = json_object();
    int64_t rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(st, 0);
        int ind = cr_standards_find_code(s, code);
        int64_t t = sqlite3_column_int64(st, 3);
        double v = sqlite3_column_double(st, 4);
        int censored = sqlite3_column_int(st, 5), flag = sqlite3_column_int(st, 6);
        char when[20], val[32], batch[24], row[24];
        cr_wq_time_format(t, when);
        snprintf(val, sizeof val, "%.6g", v);
        snprintf(batch, sizeof batch, "%lld", (long long)sqlite3_column_int64(st, 7));
        snprintf(row, sizeof row, "%lld", (long long)sqlite3_column_int64(st, 8));
        json_object_set_new(ids, batch, json_true());
        const char *cells[] = {section,
                               code,
                               ind >= 0 ? s->ind[ind].name : code,
                               (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2),
                               when,
                               val,
                               ind >= 0 ? s->ind[ind].unit : "",
                               censored ? "1" : "0",
                               cr_wq_flag_name((cr_wq_flag)flag),
                               batch,
                               row};
        cr_csv_row(csv, cells, 12);
        rows++;
        json_t *sum = json_object_get(per, code);
        if (sum == NULL) {
            sum = json_pack("{s:i, s:f, s:s, s:s}", "n", 0, "max", -INFINITY, "first", when, "unit",
                            ind >= 0 ? s->ind[ind].unit : "");
            json_object_set_new(per, code, sum);
        }
        json_object_set_new(sum, "n",
                            json_integer(json_integer_value(json_object_get(sum, "n")) + 1));
        json_object_set_new(sum, "last", json_string(when));
        if (v > json_real_value(json_object_get(sum, "max"))) {
            json_object_set_new(sum, "max", json_real(v));
            json_object_set_new(sum, "max_at", json_string(when));
        }
        for (size_t k = 0; k < sizeof CHARTED / sizeof CHARTED[0]; k++) {
            int64_t di = cr_wq_day_of(t) - day0;
            if (strcmp(code, CHARTED[k]) == 0 && di >= 0 && di <= WINDOW_DAYS &&
                (s->valid_flags & (1 << flag))) {
                dm[k].sum[di] += censored ? v * s->censored_factor : v;
                dm[k].n[di]++;
            }
        }
    }
    sqlite3_reset(st);
    if (rows > 0) {
        cr_strbuf svg = {0};
        int panels = 0;
        for (size_t k = 0; k < sizeof CHARTED / sizeof CHARTED[0]; k++) {
            int any = 0;
            for (int i = 0; i <= WINDOW_DAYS && !any; i++) {
                any = dm[k].n[i] > 0;
            }
            panels += any;
        }
        cr_strbuf_printf(&svg,
                         "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"%d\" "
                         "font-family=\"sans-serif\">",
                         20 + panels * 120);
        int p = 0;
        for (size_t k = 0; k < sizeof CHARTED / sizeof CHARTED[0]; k++) {
            int ind = cr_standards_find_code(s, CHARTED[k]);
            int any = 0;
            for (int i = 0; i <= WINDOW_DAYS && !any; i++) {
                any = dm[k].n[i] > 0;
            }
            if (!any || ind < 0) {
                continue;
            }
            const cr_indicator *d = &s->ind[ind];
            double target =
                d->limit_kind != CR_LIMIT_NONE && sec.target && !(d->lake_only && !sec.lake)
                    ? (sec.lake ? d->lake : d->river)[sec.target - 1]
                    : 0;
            chart_panel(&svg, s, d, &dm[k], day0, target, p++);
        }
        cr_strbuf_puts(&svg, "</svg>");
        json_object_set_new(out, section,
                            json_pack("{s:s, s:s, s:s, s:I, s:o, s:s}", "name", sec.name, "target",
                                      cr_wq_class_name(sec.target), "water_body",
                                      sec.lake ? "lake" : "river", "readings", (json_int_t)rows,
                                      "indicators", per, "chart", svg.data ? svg.data : ""));
        cr_strbuf_cleanup(&svg);
    } else {
        json_decref(per);
    }
    free(dm);
    return CR_OK;
}

cr_status cr_ev_readings(cr_store *store, const json_t *fs, const char *as_of, json_t *ids,
                         cr_strbuf *csv, json_t *out, cr_error *err)
{
    if (!cr_wq_has_tables(store)) {
        return CR_OK;
    }
    cr_standards *s = NULL;
    cr_status rc = cr_standards_load(NULL, &s, err);
    if (rc != CR_OK) {
        return rc;
    }
    cr_csv_begin(csv);
    const char *head[] = {"section_id", "indicator", "name",     "method",
                          "party",      "time_cst",  "value",    "unit",
                          "censored",   "flag",      "batch_id", "source_row"};
    cr_csv_row(csv, head, 12); /* the batches' files and SHA-256 are in case.json */
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        const json_t *props = json_object_get(f, "properties");
        const char *layer = json_string_value(json_object_get(props, "layer"));
        const char *id = json_string_value(json_object_get(props, "source_id"));
        if (layer && id && strcmp(layer, "monitoring_sections") == 0 && rc == CR_OK) {
            rc = one_section(store, s, id, as_of, ids, csv, out, err);
        }
    }
    cr_standards_free(s);
    return rc;
}
