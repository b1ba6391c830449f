/* SPDX-License-Identifier: MIT */
/* The printable HTML report: issuer, case, the map, the outfalls met by jurisdiction, the data
 * sources. */
#include "evidence_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Who issued it, as of when, with what, the case, and the map. */
static void report_header(const json_t *cj, const char *svg, cr_strbuf *b)
{
    cr_strbuf_puts(b, "<h1>证据包 Evidence package</h1>\n<p>");
    cr_xml_append(b, str(cj, "issuer"));
    cr_strbuf_puts(b, " · as of ");
    cr_xml_append(b, str(cj, "as_of"));
    cr_strbuf_puts(b, " · ");
    cr_xml_append(b, str(cj, "software"));
    char *case_text = json_dumps(json_object_get(cj, "case"), JSON_COMPACT | JSON_SORT_KEYS);
    cr_strbuf_puts(b, "</p>\n<p>Case: <code>");
    cr_xml_append(b, case_text);
    free(case_text);
    cr_strbuf_printf(b, "</code> · %lld features</p>\n",
                     (long long)json_integer_value(json_object_get(cj, "features")));
    cr_strbuf_puts(b, svg);
}

/* The outfalls met by the trace, grouped by jurisdiction, with distance and time. */
static void report_trace_outfalls(const json_t *trace, cr_strbuf *b)
{
    cr_strbuf_puts(b, "<h2>排污口 Outfalls on the trace, by jurisdiction</h2>\n");
    size_t j;
    json_t *jur;
    json_array_foreach(json_object_get(trace, "jurisdictions"), j, jur)
    {
        const char *code = str(jur, "code");
        cr_html_cell(b, "h3", str(jur, "name"));
        cr_strbuf_puts(b, "<table><tr><th>ID</th><th>名称 name</th><th>河段 reach</th>"
                          "<th>km</th><th>h</th></tr>\n");
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(trace, "features"), i, f)
        {
            const char *layer = str(f, "layer"), *fc = str(f, "county_code");
            if (!layer || strcmp(layer, "outfalls") != 0 || !fc || !code || strcmp(fc, code) != 0) {
                continue;
            }
            cr_strbuf_puts(b, "<tr>");
            cr_html_cell(b, "td", str(f, "id"));
            cr_html_cell(b, "td", str(f, "name"));
            cr_html_cell(b, "td", str(f, "reach_id"));
            cr_strbuf_printf(b, "<td>%.3f</td><td>%.2f</td></tr>\n",
                             json_number_value(json_object_get(f, "distance_km")),
                             json_number_value(json_object_get(f, "time_h")));
        }
        cr_strbuf_puts(b, "</table>\n");
    }
}

/* A boundary case: the outfalls in scope by county (the first county met, then the other),
 * nearest the boundary first. */
static void report_boundary_outfalls(const json_t *fs, cr_strbuf *b)
{
    cr_strbuf_puts(b, "<h2>排污口 Outfalls near the boundary, by county</h2>\n");
    const char *prev = NULL;
    size_t i;
    json_t *f;
    for (int pass = 0; pass < 2; pass++) {
        const char *county = NULL;
        json_array_foreach(fs, i, f)
        {
            const json_t *p = json_object_get(f, "properties");
            const char *layer = str(p, "layer"), *code = str(p, "county_code");
            if (!layer || strcmp(layer, "outfalls") != 0 || !code ||
                (prev && strcmp(code, prev) == 0) || (county && strcmp(code, county) != 0)) {
                continue;
            }
            if (county == NULL) {
                county = code;
                cr_html_cell(b, "h3", code);
                cr_strbuf_puts(b, "<table><tr><th>ID</th><th>名称 name</th><th>河段 "
                                  "reach</th><th>to the boundary, m</th></tr>\n");
            }
            cr_strbuf_puts(b, "<tr>");
            cr_html_cell(b, "td", str(p, "source_id"));
            cr_html_cell(b, "td", str(p, "name"));
            cr_html_cell(b, "td", str(p, "reach_id"));
            cr_strbuf_printf(b, "<td>%.0f</td></tr>\n",
                             json_number_value(json_object_get(p, "boundary_distance_m")));
        }
        if (county) {
            cr_strbuf_puts(b, "</table>\n");
        }
        prev = county;
    }
}

/* The import batches the features came from. */
static void report_sources(const json_t *cj, cr_strbuf *b)
{
    cr_strbuf_puts(b, "<h2>数据来源 Data sources</h2><table><tr><th>batch</th><th>layer</th>"
                      "<th>file</th><th>encoding</th><th>CRS</th><th>SHA-256</th></tr>\n");
    size_t i;
    json_t *bt;
    json_array_foreach(json_object_get(cj, "batches"), i, bt)
    {
        cr_strbuf_printf(b, "<tr><td>%lld</td>",
                         (long long)json_integer_value(json_object_get(bt, "batch_id")));
        const char *keys[] = {"layer", "file_name", "encoding", "crs", "sha256"};
        for (size_t k = 0; k < 5; k++) {
            cr_html_cell(b, "td", str(bt, keys[k]));
        }
        cr_strbuf_puts(b, "</tr>\n");
    }
    cr_strbuf_puts(b, "</table>\n");
}

/* The readings of the sections in the case: per section what was measured and its chart. */
static void report_readings(const json_t *readings, cr_strbuf *b)
{
    cr_strbuf_puts(b, "<h2>断面 Section readings</h2>");
    if (json_object_size(readings) == 0) {
        cr_strbuf_puts(b, "<p>The store held no readings of the sections in scope at the as-of "
                          "time; the sections are in features.csv.</p>\n");
        return;
    }
    cr_strbuf_puts(b, "<p>Every reading of the year before the as-of time, as it was known then "
                      "(a later correction is left out), is in readings.csv with its batch, "
                      "source row and file SHA-256. Times are China Standard Time.</p>\n");
    const char *id;
    json_t *sec;
    json_object_foreach((json_t *)readings, id, sec)
    {
        cr_strbuf_puts(b, "<h3>");
        cr_xml_append(b, id);
        cr_strbuf_puts(b, " ");
        cr_xml_append(b, str(sec, "name"));
        cr_strbuf_printf(b, " · 目标 target %s · %lld readings</h3><table><tr>", str(sec, "target"),
                         (long long)json_integer_value(json_object_get(sec, "readings")));
        const char *head[] = {"indicator", "n", "first", "last", "max", "max at"};
        for (int h = 0; h < 6; h++) {
            cr_html_cell(b, "th", head[h]);
        }
        cr_strbuf_puts(b, "</tr>");
        const char *code;
        json_t *x;
        json_object_foreach(json_object_get(sec, "indicators"), code, x)
        {
            char n[24], mx[48];
            snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(x, "n")));
            snprintf(mx, sizeof mx, "%.4g %s", json_number_value(json_object_get(x, "max")),
                     str(x, "unit"));
            cr_strbuf_puts(b, "<tr>");
            cr_html_cell(b, "td", code);
            cr_html_cell(b, "td", n);
            cr_html_cell(b, "td", str(x, "first"));
            cr_html_cell(b, "td", str(x, "last"));
            cr_html_cell(b, "td", mx);
            cr_html_cell(b, "td", str(x, "max_at"));
            cr_strbuf_puts(b, "</tr>");
        }
        cr_strbuf_puts(b, "</table>\n");
        cr_strbuf_puts(b, str(sec, "chart")); /* SVG made by evidence_readings.c, escaped there */
        cr_strbuf_puts(b, "\n");
    }
}

void cr_ev_report_html(const json_t *cj, const json_t *fs, const json_t *trace, const char *svg,
                       const json_t *readings, cr_strbuf *b)
{
    cr_html_begin(b, "证据包 Evidence package",
                  "body{font:12px sans-serif;margin:16px}table{border-collapse:collapse;margin:8px "
                  "0 16px}th,td{border:1px solid #666;padding:2px 6px}th{background:#eee}svg{"
                  "border:1px solid #999;max-width:100%;height:auto}");
    report_header(cj, svg, b);
    if (trace) {
        report_trace_outfalls(trace, b);
    } else {
        report_boundary_outfalls(fs, b);
    }
    report_readings(readings, b);
    report_sources(cj, b);
    cr_html_end(b);
}
