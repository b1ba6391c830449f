/* SPDX-License-Identifier: MIT */
/* The patrol plan in the formats field crews use: JSON, GeoJSON, GPX 1.1 (handheld GPS and
 * phone apps), KML (field viewers), and the printable checklist as CSV (UTF-8 with BOM, for
 * Excel/WPS) and HTML, with blank columns for findings. One request shared by CLI and HTTP. */
#include "api.h"
#include "etl/etl.h"
#include "geo/geo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *FORMATS[][2] = {
    {"json", "application/json; charset=utf-8"},
    {"geojson", "application/geo+json; charset=utf-8"},
    {"gpx", "application/gpx+xml; charset=utf-8"},
    {"kml", "application/vnd.google-earth.kml+xml; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
};

const char *cr_api_patrol_content_type(const char *format)
{
    for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0]; i++) {
        if (strcmp(format, FORMATS[i][0]) == 0) {
            return FORMATS[i][1];
        }
    }
    return NULL;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *issue_text(const char *issue)
{
    static const char *names[][2] = {
        {"hyacinth_open", "水葫芦未清理 hyacinth not cleared"},
        {"outfall_rectifying", "排污口整治中 outfall under rectification"},
        {"outfall_in_protection_zone", "排污口位于水源保护区 outfall in a protection zone"},
        {"outfall_unmatched", "排污口未匹配河段 outfall matched to no reach"},
        {"cross_boundary_section", "跨界断面 cross-boundary section"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(issue, names[i][0]) == 0) {
            return names[i][1];
        }
    }
    return issue;
}

static const json_t *leg_of(const json_t *plan, json_int_t seq)
{
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(plan, "legs"), i, leg)
    {
        if (json_integer_value(json_object_get(leg, "seq")) == seq) {
            return leg;
        }
    }
    return NULL;
}

/* The route's coordinates between two positions (km), for legs. */
static json_t *slice(const json_t *coords, double from_km, double to_km)
{
    json_t *out = json_array();
    double km = 0;
    size_t n = json_array_size(coords);
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(coords, i);
        if (i > 0) {
            const json_t *p = json_array_get(coords, i - 1);
            km += cr_geodesic_m(json_real_value(json_array_get(p, 0)),
                                json_real_value(json_array_get(p, 1)),
                                json_real_value(json_array_get(c, 0)),
                                json_real_value(json_array_get(c, 1))) /
                  1000.0;
        }
        if (km >= from_km - 1e-6 && km <= to_km + 1e-6) {
            json_array_append(out, (json_t *)c);
        }
    }
    return out;
}

static void geojson(const json_t *plan, cr_strbuf *b)
{
    json_t *features = json_array();
    const json_t *coords = json_object_get(json_object_get(plan, "route"), "coordinates");
    json_array_append_new(
        features,
        json_pack("{s:s, s:{s:s, s:O, s:O, s:O, s:O, s:O}, s:{s:s, s:O}}", "type", "Feature",
                  "properties", "kind", "route", "date", json_object_get(plan, "date"), "mode",
                  json_object_get(plan, "mode"), "length_km", json_object_get(plan, "length_km"),
                  "time_h", json_object_get(plan, "time_h"), "reaches",
                  json_object_get(json_object_get(plan, "route"), "reaches"), "geometry", "type",
                  "LineString", "coordinates", coords));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(plan, "legs"), i, v)
    {
        json_t *props = json_deep_copy(v);
        json_object_set_new(props, "kind", json_string("leg"));
        json_array_append_new(features,
                              json_pack("{s:s, s:o, s:{s:s, s:o}}", "type", "Feature", "properties",
                                        props, "geometry", "type", "LineString", "coordinates",
                                        slice(coords, num(v, "from_km"), num(v, "to_km"))));
    }
    json_array_foreach(json_object_get(plan, "stops"), i, v)
    {
        json_t *props = json_deep_copy(v);
        json_object_set_new(props, "kind", json_string("stop"));
        json_array_append_new(features, json_pack("{s:s, s:o, s:{s:s, s:[f,f]}}", "type", "Feature",
                                                  "properties", props, "geometry", "type", "Point",
                                                  "coordinates", num(v, "lon"), num(v, "lat")));
    }
    json_t *fc = json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", features);
    char *s = json_dumps(fc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    cr_strbuf_puts(b, s);
    free(s);
    json_decref(fc);
}

static void title(const json_t *plan, cr_strbuf *b)
{
    cr_strbuf_printf(b, "联合巡河 Joint patrol %s — %s (%s)", str(plan, "date"),
                     *str(plan, "rivers") ? str(plan, "rivers") : str(plan, "reaches_asked"),
                     strcmp(str(plan, "mode"), "foot") == 0 ? "步行 on foot" : "乘船 by boat");
}

static void gpx(const json_t *plan, cr_strbuf *b)
{
    cr_strbuf name = {0};
    title(plan, &name);
    cr_strbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<gpx version=\"1.1\" creator=\"crossriver\""
                      " xmlns=\"http://www.topografix.com/GPX/1/1\""
                      " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
                      " xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1"
                      " http://www.topografix.com/GPX/1/1/gpx.xsd\">\n<metadata><name>");
    cr_xml_append(b, name.data);
    cr_strbuf_printf(b, "</name><desc>%.3f km, %.2f h</desc><time>%sT00:00:00Z</time></metadata>\n",
                     num(plan, "length_km"), num(plan, "time_h"), str(plan, "date"));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(plan, "stops"), i, s)
    {
        const json_t *leg = leg_of(plan, json_integer_value(json_object_get(s, "leg")));
        cr_strbuf_printf(b, "<wpt lat=\"%.7f\" lon=\"%.7f\"><name>", num(s, "lat"), num(s, "lon"));
        cr_strbuf_printf(b, "%lld ", (long long)json_integer_value(json_object_get(s, "seq")));
        cr_xml_append(b, str(s, "id"));
        cr_strbuf_puts(b, "</name><cmt>");
        cr_xml_append(b, issue_text(str(s, "issue")));
        cr_strbuf_puts(b, "</cmt><desc>");
        cr_xml_append(b, str(s, "name"));
        cr_strbuf_puts(b, " — ");
        cr_xml_append(b, str(s, "detail"));
        cr_strbuf_printf(b, " (km %.3f, ", num(s, "km"));
        cr_xml_append(b, leg ? str(leg, "county_name") : str(s, "county_code"));
        cr_strbuf_puts(b, ")</desc><type>");
        cr_xml_append(b, str(s, "issue"));
        cr_strbuf_puts(b, "</type></wpt>\n");
    }
    cr_strbuf_puts(b, "<rte><name>");
    cr_xml_append(b, name.data);
    cr_strbuf_puts(b, "</name>\n");
    json_array_foreach(json_object_get(json_object_get(plan, "route"), "coordinates"), i, s)
    {
        cr_strbuf_printf(b, "<rtept lat=\"%.7f\" lon=\"%.7f\"/>\n",
                         json_real_value(json_array_get(s, 1)),
                         json_real_value(json_array_get(s, 0)));
    }
    cr_strbuf_puts(b, "</rte>\n</gpx>\n");
    cr_strbuf_cleanup(&name);
}

static void kml(const json_t *plan, cr_strbuf *b)
{
    cr_strbuf name = {0};
    title(plan, &name);
    cr_kml_begin(b, name.data);
    cr_strbuf_puts(b, "<Style id=\"route\"><LineStyle><color>ff0066ff</color><width>4"
                      "</width></LineStyle></Style>\n");
    char desc[96];
    snprintf(desc, sizeof desc, "%.3f km, %.2f h", num(plan, "length_km"), num(plan, "time_h"));
    cr_kml_line_begin(b, name.data, desc, "route");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(json_object_get(plan, "route"), "coordinates"), i, s)
    {
        cr_kml_line_vertex(b, i, json_real_value(json_array_get(s, 0)),
                           json_real_value(json_array_get(s, 1)));
    }
    cr_kml_line_end(b);
    cr_kml_folder_begin(b, "检查点 Stops");
    json_array_foreach(json_object_get(plan, "stops"), i, s)
    {
        cr_strbuf label = {0}, text = {0};
        cr_strbuf_printf(&label, "%lld %s",
                         (long long)json_integer_value(json_object_get(s, "seq")), str(s, "id"));
        cr_strbuf_printf(&text, "%s; %s; %s", issue_text(str(s, "issue")), str(s, "name"),
                         str(s, "detail"));
        cr_kml_point(b, label.data, text.data, num(s, "lon"), num(s, "lat"));
        cr_strbuf_cleanup(&label);
        cr_strbuf_cleanup(&text);
    }
    cr_kml_folder_end(b);
    cr_kml_end(b);
    cr_strbuf_cleanup(&name);
}

static void checklist_csv(const json_t *plan, cr_strbuf *b)
{
    cr_csv_begin(b);
    static const char *const head[] = {"序号 seq",          "里程 km",    "辖区 jurisdiction",
                                       "牵头单位 lead",     "图层 layer", "编号 id",
                                       "名称 name",         "问题 issue", "说明 detail",
                                       "经度 lon",          "纬度 lat",   "离航线 off route m",
                                       "检查结果 findings", "签字 signed"};
    cr_csv_row(b, head, sizeof head / sizeof head[0]);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(plan, "stops"), i, s)
    {
        const json_t *leg = leg_of(plan, json_integer_value(json_object_get(s, "leg")));
        char n[64];
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(s, "seq")));
        cr_csv_append_cell(b, n, 0);
        snprintf(n, sizeof n, "%.3f", num(s, "km"));
        cr_csv_append_cell(b, n, 0);
        cr_csv_append_cell(b, leg ? str(leg, "county_name") : str(s, "county_code"), 0);
        cr_csv_append_cell(b, leg ? str(leg, "lead_agency") : "", 0);
        cr_csv_append_cell(b, str(s, "layer"), 0);
        cr_csv_append_cell(b, str(s, "id"), 0);
        cr_csv_append_cell(b, str(s, "name"), 0);
        cr_csv_append_cell(b, issue_text(str(s, "issue")), 0);
        cr_csv_append_cell(b, str(s, "detail"), 0);
        snprintf(n, sizeof n, "%.7f", num(s, "lon"));
        cr_csv_append_cell(b, n, 0);
        snprintf(n, sizeof n, "%.7f", num(s, "lat"));
        cr_csv_append_cell(b, n, 0);
        snprintf(n, sizeof n, "%.0f", num(s, "off_route_m"));
        cr_csv_append_cell(b, n, 0);
        cr_csv_append_cell(b, "", 0);
        cr_csv_append_cell(b, "", 1);
    }
}

static void checklist_html(const json_t *plan, cr_strbuf *b)
{
    cr_strbuf name = {0};
    title(plan, &name);
    cr_html_begin(
        b, name.data,
        "body{font:13px sans-serif;margin:16px}table{border-collapse:collapse;width:"
        "100%;margin-bottom:16px}th,td{border:1px solid #555;padding:3px 5px;"
        "vertical-align:top}th{background:#eee}td.blank{width:18%}td.nowrap{white-space:nowrap}"
        "@media print{button"
        "{display:none}}");
    cr_strbuf_puts(b, "<h1>");
    cr_xml_append(b, name.data);
    cr_strbuf_printf(b,
                     "</h1>\n<p>全程 %.3f km · 航行 %.2f h · 含停留 %.2f h · %s %.0f km/h · "
                     "每处停留 %.0f min</p>\n<h2>分段 Legs</h2>\n<table><tr><th>#</th><th>辖区"
                     "</th><th>km</th><th>长度 km</th><th>时间 h</th><th>牵头单位</th><th>值班电话"
                     "</th><th>联络人</th><th>检查点</th></tr>\n",
                     num(plan, "length_km"), num(plan, "travel_h"), num(plan, "time_h"),
                     strcmp(str(plan, "mode"), "foot") == 0 ? "步行" : "乘船",
                     num(plan, "speed_kmh"), num(plan, "dwell_min"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(plan, "legs"), i, v)
    {
        cr_strbuf_printf(b, "<tr><td>%lld</td><td>",
                         (long long)json_integer_value(json_object_get(v, "seq")));
        cr_xml_append(b, str(v, "county_name"));
        cr_strbuf_printf(b, "</td><td>%.3f–%.3f</td><td>%.3f</td><td>%.2f</td><td>",
                         num(v, "from_km"), num(v, "to_km"), num(v, "length_km"), num(v, "time_h"));
        cr_xml_append(b, str(v, "lead_agency"));
        cr_strbuf_puts(b, "</td><td>");
        cr_xml_append(b, str(v, "duty_phone"));
        cr_strbuf_puts(b, "</td><td>");
        cr_xml_append(b, str(v, "liaison"));
        if (*str(v, "phone")) {
            cr_strbuf_puts(b, " ");
            cr_xml_append(b, str(v, "phone"));
        }
        cr_strbuf_printf(b, "</td><td>%zu</td></tr>\n",
                         json_array_size(json_object_get(v, "stops")));
    }
    cr_strbuf_puts(b, "</table>\n<h2>检查点 Stops</h2>\n<table><tr><th>#</th><th>km</th>"
                      "<th>辖区</th><th>编号</th><th>名称</th><th>问题</th><th>说明</th>"
                      "<th>位置</th><th>检查结果 findings</th><th>签字</th></tr>\n");
    json_array_foreach(json_object_get(plan, "stops"), i, v)
    {
        const json_t *leg = leg_of(plan, json_integer_value(json_object_get(v, "leg")));
        cr_strbuf_printf(b, "<tr><td>%lld</td><td>%.3f</td><td class=\"nowrap\">",
                         (long long)json_integer_value(json_object_get(v, "seq")), num(v, "km"));
        cr_xml_append(b, leg ? str(leg, "county_name") : str(v, "county_code"));
        cr_strbuf_puts(b, "</td><td class=\"nowrap\">");
        cr_xml_append(b, str(v, "id"));
        cr_strbuf_puts(b, "</td><td>");
        cr_xml_append(b, str(v, "name"));
        cr_strbuf_puts(b, "</td><td>");
        cr_xml_append(b, issue_text(str(v, "issue")));
        cr_strbuf_puts(b, "</td><td>");
        cr_xml_append(b, str(v, "detail"));
        cr_strbuf_printf(b,
                         "</td><td>%.6f, %.6f</td><td class=\"blank\"></td><td class=\"blank\">"
                         "</td></tr>\n",
                         num(v, "lon"), num(v, "lat"));
    }
    cr_strbuf_puts(b, "</table>\n");
    cr_html_end(b);
    cr_strbuf_cleanup(&name);
}

cr_status cr_api_patrol(cr_store *store, const cr_graph *g, const cr_patrol_request *req,
                        const char *format, cr_strbuf *out, json_t **plan_out, cr_error *err)
{
    if (cr_api_patrol_content_type(format) == NULL) {
        return cr_error_set(err, CR_EINVAL,
                            "format: json, geojson, gpx, kml, csv or html (got '%s')", format);
    }
    if (req->date) {
        int y, m, d;
        char tail;
        if (strlen(req->date) != 10 || sscanf(req->date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
            m < 1 || m > 12 || d < 1 || d > 31) {
            return cr_error_set(err, CR_EINVAL, "date: YYYY-MM-DD (got '%s')", req->date);
        }
    }
    if ((req->rivers == NULL || *req->rivers == '\0') &&
        (req->reaches == NULL || *req->reaches == '\0')) {
        return cr_error_set(err, CR_EINVAL, "give the rivers (or the preset) or the reaches");
    }
    json_t *plan = NULL;
    cr_status rc = cr_patrol_plan(store, g, req, &plan, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (strcmp(format, "json") == 0) {
        char *s = json_dumps(plan, JSON_COMPACT | JSON_REAL_PRECISION(10));
        cr_strbuf_puts(out, s);
        free(s);
    } else if (strcmp(format, "geojson") == 0) {
        geojson(plan, out);
    } else if (strcmp(format, "gpx") == 0) {
        gpx(plan, out);
    } else if (strcmp(format, "kml") == 0) {
        kml(plan, out);
    } else if (strcmp(format, "csv") == 0) {
        checklist_csv(plan, out);
    } else {
        checklist_html(plan, out);
    }
    if (plan_out) {
        *plan_out = plan;
    } else {
        json_decref(plan);
    }
    return CR_OK;
}

cr_status cr_api_number_param(const json_t *params, const char *name, double lo, double hi,
                              double *out, cr_error *err)
{
    const char *v = json_string_value(json_object_get(params, name));
    if (v == NULL) {
        return CR_OK;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= lo && d <= hi)) {
        return cr_error_set(err, CR_EINVAL, "%s: '%.64s' is not a number in [%g, %g]", name, v, lo,
                            hi);
    }
    *out = d;
    return CR_OK;
}

cr_status cr_api_patrol_parse(const json_t *params, cr_patrol_request *pr, cr_error *err)
{
    memset(pr, 0, sizeof *pr);
    pr->dwell_min = -1;
    pr->rivers = json_string_value(json_object_get(params, "river"));
    pr->reaches = json_string_value(json_object_get(params, "reaches"));
    pr->date = json_string_value(json_object_get(params, "date"));
    pr->stop_kinds = json_string_value(json_object_get(params, "stops"));
    const char *preset = json_string_value(json_object_get(params, "preset"));
    const char *mode = json_string_value(json_object_get(params, "mode"));
    if (preset) {
        if (strcmp(preset, "yihe-sanhu") != 0 && strcmp(preset, "一河三湖") != 0) {
            return cr_error_set(err, CR_EINVAL, "preset: yihe-sanhu (一河三湖)");
        }
        pr->rivers = CR_PATROL_YIHE_SANHU;
    }
    char day[11];
    if (pr->date && (cr_etl_parse_date(pr->date, day, NULL) != CR_OK || strcmp(day, pr->date))) {
        return cr_error_set(err, CR_EINVAL, "date: a day as YYYY-MM-DD, e.g. 2025-08-12");
    }
    if (mode && strcmp(mode, "boat") != 0 && strcmp(mode, "foot") != 0) {
        return cr_error_set(err, CR_EINVAL, "mode: boat or foot");
    }
    pr->on_foot = mode && strcmp(mode, "foot") == 0;
    const char *points[2] = {json_string_value(json_object_get(params, "from")),
                             json_string_value(json_object_get(params, "to"))};
    for (int i = 0; i < 2; i++) {
        double *p = i ? pr->to : pr->from;
        if (points[i] && !cr_api_parse_point(points[i], &p[0], &p[1])) {
            return cr_error_set(err, CR_EINVAL,
                                i ? "to: LON,LAT in degrees" : "from: LON,LAT in degrees");
        }
        *(i ? &pr->has_to : &pr->has_from) = points[i] != NULL;
    }
    cr_status rc = cr_api_number_param(params, "speed_kmh", 0.1, 100, &pr->speed_kmh, err);
    if (rc == CR_OK) {
        rc = cr_api_number_param(params, "dwell_min", 0, 600, &pr->dwell_min, err);
    }
    if (rc == CR_OK) {
        rc = cr_api_number_param(params, "radius_m", 1, 20000, &pr->radius_m, err);
    }
    if (rc == CR_OK) {
        rc = cr_api_number_param(params, "day_hours", 0.5, 24, &pr->day_hours, err);
    }
    return rc;
}

cr_status cr_api_search_parse(const json_t *params, const char **q, int *limit, cr_error *err)
{
    *q = json_string_value(json_object_get(params, "q"));
    if (*q == NULL || **q == '\0' || strlen(*q) > 100) {
        return cr_error_set(err, CR_EINVAL, "q: the text to look for (1–100 bytes)");
    }
    double n = 20;
    cr_status rc = cr_api_number_param(params, "limit", 1, 200, &n, err);
    *limit = (int)n;
    return rc;
}
