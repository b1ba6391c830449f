/* SPDX-License-Identifier: MIT */
/* An incident for the people who respond to it: what the water threatens downstream (intakes
 * and sections first, with the plume's leading edge, peak and trailing edge), where it may have
 * come from, the nearest stockpiles, whom to notify by level — county to county, city to city,
 * province to province, in order of arrival, with the reporting line up and the town river
 * chiefs on the way — the deadlines, the 通报 text, and the joint emergency monitoring plan. */
#include "api.h"
#include "notify.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int64_t cr_api_cst_of(const char *iso)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) < 3) {
        return 0;
    }
    return cr_wq_time_from_fields(y, mo, d, h, mi, s);
}

json_t *cr_api_at_time(int64_t t0, double hours)
{
    char s[20];
    cr_wq_time_format(t0 + (int64_t)llround(hours * 3600), s);
    return json_string(s);
}

static double config_number(const json_t *conf, const char *a, const char *b, double dflt)
{
    json_t *v = json_object_get(json_object_get(json_object_get(conf, "incidents"), a), b);
    return json_is_number(v) && json_number_value(v) > 0 ? json_number_value(v) : dflt;
}

/* The admin unit's name, parent (city) and province codes. */
static void admin_of(cr_store *store, const char *code, char name[64], char city[16], char prov[16])
{
    name[0] = city[0] = prov[0] = '\0';
    sqlite3_stmt *st = cr_store_cached(store, "SELECT name, parent_code, province_code FROM"
                                              " admin_units_current WHERE code = ?");
    if (st == NULL) {
        return;
    }
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *v[3] = {sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                                     sqlite3_column_text(st, 2)};
        snprintf(name, 64, "%s", v[0] ? (const char *)v[0] : "");
        snprintf(city, 16, "%s", v[1] ? (const char *)v[1] : "");
        snprintf(prov, 16, "%s", v[2] ? (const char *)v[2] : "");
    }
    sqlite3_reset(st);
}

static json_t *contacts_of(cr_store *store, const char *code, const char *role)
{
    json_t *out = json_array();
    sqlite3_stmt *st =
        cr_store_cached(store, "SELECT agency, duty_phone, role FROM contacts_current"
                               " WHERE jurisdiction_code = ?1 AND (?2 IS NULL OR"
                               " role = ?2) ORDER BY role, source_id");
    if (st == NULL) {
        return out;
    }
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    if (role) {
        sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *c = json_object();
        static const char *const K[] = {"agency", "duty_phone", "role"};
        for (int i = 0; i < 3; i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            json_object_set_new(c, K[i], v ? json_string((const char *)v) : json_null());
        }
        json_array_append_new(out, c);
    }
    sqlite3_reset(st);
    return out;
}

static const char *division_name(const json_t *divisions, const char *code)
{
    const char *n = json_string_value(json_object_get(json_object_get(divisions, "names"), code));
    return n ? n : code;
}

/* A city or province the first time the water reaches it: the first notifies, the rest are
 * downstream. */
static void add_level(json_t *list, json_t *seen, const json_t *divisions, const char *code,
                      const char *first, const char *later, int64_t t0, double h)
{
    if (code[0] == '\0' || json_object_get(seen, code)) {
        return;
    }
    json_object_set_new(seen, code, json_true());
    json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:f, s:o}", "code", code, "name",
                                          division_name(divisions, code), "role",
                                          json_array_size(list) == 0 ? first : later, "time_h", h,
                                          "arrival", cr_api_at_time(t0, h)));
}

/* The notification list by level from the downstream jurisdictions (in order of arrival). */
json_t *cr_api_notification_by_level(cr_store *store, const json_t *divisions, const json_t *juris,
                                     const json_t *features, int64_t t0)
{
    json_t *county = json_array(), *city = json_array(), *prov = json_array();
    json_t *seen_city = json_object(), *seen_prov = json_object();
    size_t i;
    json_t *j;
    char first_city[16] = "", first_prov[16] = "", first_name[64] = "";
    json_array_foreach(juris, i, j)
    {
        const char *code = str(j, "code");
        char name[64], c[16], p[16];
        admin_of(store, code, name, c, p);
        double h = json_number_value(json_object_get(j, "time_h"));
        if (i == 0) {
            snprintf(first_city, sizeof first_city, "%s", c);
            snprintf(first_prov, sizeof first_prov, "%s", p);
            snprintf(first_name, sizeof first_name, "%s", str(j, "name"));
        }
        json_array_append_new(
            county,
            json_pack("{s:s, s:s, s:s, s:f, s:o, s:o}", "code", code, "name", str(j, "name"),
                      "role", i == 0 ? "事发地 where it happened: notifies" : "下游 downstream",
                      "time_h", h, "arrival", cr_api_at_time(t0, h), "contacts",
                      contacts_of(store, code, NULL)));
        add_level(city, seen_city, divisions, c, "事发地市 notifies", "下游市 downstream", t0, h);
        add_level(prov, seen_prov, divisions, p, "事发地省 notifies", "下游省 downstream", t0, h);
    }
    /* the reporting line: county → city → province (a province-level city once) */
    json_t *line = json_array();
    if (first_name[0]) {
        json_array_append_new(line, json_string(first_name));
    }
    if (first_city[0]) {
        json_array_append_new(line, json_string(division_name(divisions, first_city)));
    }
    if (first_prov[0] && strcmp(first_prov, first_city) != 0) {
        json_array_append_new(line, json_string(division_name(divisions, first_prov)));
    }
    /* town river chiefs where the water passes their town (the towns of the features met) */
    json_t *towns = json_array(), *seen_town = json_object();
    json_t *f;
    json_array_foreach(features, i, f)
    {
        const char *tc = json_string_value(json_object_get(f, "town_code"));
        if (tc == NULL || json_object_get(seen_town, tc)) {
            continue;
        }
        json_object_set_new(seen_town, tc, json_true());
        char name[64], c[16], p[16];
        admin_of(store, tc, name, c, p);
        double h = json_number_value(json_object_get(f, "time_h"));
        json_array_append_new(towns,
                              json_pack("{s:s, s:s, s:f, s:o, s:o}", "code", tc, "name", name,
                                        "time_h", h, "arrival", cr_api_at_time(t0, h), "contacts",
                                        contacts_of(store, tc, "town_government")));
    }
    json_decref(seen_city);
    json_decref(seen_prov);
    json_decref(seen_town);
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "county", county, "city", city, "province", prov,
                     "reporting_line", line, "towns", towns);
}

/* The indicators to monitor for a substance (standards/substances.json), with their names and
 * units (standards/indicators.json): [{code, name, unit}]. */
static json_t *indicators_for(const json_t *subs, const char *substance);

static json_t *named_indicators(const json_t *codes)
{
    json_t *out = json_array();
    cr_standards *s = NULL;
    cr_standards_load(NULL, &s, NULL);
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c)
    {
        int k = s ? cr_standards_find_code(s, json_string_value(c)) : -1;
        json_array_append_new(out, json_pack("{s:O, s:s, s:s}", "code", c, "name",
                                             k >= 0 ? s->ind[k].name : json_string_value(c), "unit",
                                             k >= 0 ? s->ind[k].unit : ""));
    }
    cr_standards_free(s);
    return out;
}

static json_t *indicators_for(const json_t *subs, const char *substance)
{
    char *f = cr_text_fold(substance);
    size_t i;
    json_t *e;
    json_t *found = NULL;
    json_array_foreach(json_object_get(subs, "substances"), i, e)
    {
        size_t k;
        json_t *n;
        json_array_foreach(json_object_get(e, "names"), k, n)
        {
            char *g = cr_text_fold(json_string_value(n));
            int hit = *g && strstr(f, g) != NULL;
            free(g);
            if (hit && found == NULL) {
                found = json_object_get(e, "indicators");
            }
        }
    }
    free(f);
    return named_indicators(found ? found : json_object_get(subs, "default"));
}

/* Sampling times of one point: a background sample before the leading edge, the edge, then
 * evenly to the trailing edge (1–12 h apart, at most 30). */
static json_t *sample_times(int64_t t0, double lead_h, double trail_h)
{
    json_t *times = json_array();
    double span = fmax(trail_h - lead_h, 0);
    double step = fmin(fmax(span / 8.0, 1.0), 12.0);
    double first = fmax(lead_h - 1.0, 0);
    json_array_append_new(times, cr_api_at_time(t0, first));
    for (double h = lead_h; h <= trail_h + 1e-9 && json_array_size(times) < 30; h += step) {
        if (h > first + 1e-9) {
            json_array_append_new(times, cr_api_at_time(t0, h));
        }
    }
    return times;
}

static json_t *monitoring_plan(cr_store *store, const json_t *threatened, const json_t *subs,
                               const char *substance, int64_t t0)
{
    json_t *points = json_array();
    json_t *inds = indicators_for(subs, substance);
    size_t i;
    json_t *x;
    json_array_foreach(threatened, i, x)
    {
        const char *layer = str(x, "layer");
        if (strcmp(layer, "protection_zones") == 0) {
            continue; /* an area: its intake (layer intakes) is the point */
        }
        double lead = json_number_value(json_object_get(x, "leading_edge_h"));
        double trail = json_number_value(json_object_get(x, "trailing_edge_h"));
        const char *county = str(x, "county_code");
        json_t *resp = contacts_of(store, county, "eco_environment");
        json_t *p = json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:s, s:O, s:o, s:o, s:o}", "kind",
                              strcmp(layer, "intakes") == 0 ? "intake" : "section", "layer", layer,
                              "id", str(x, "id"), "name", json_object_get(x, "name"), "lonlat",
                              json_object_get(x, "lonlat"), "county_code", county, "indicators",
                              inds, "times", sample_times(t0, lead, trail), "window",
                              json_pack("{s:o, s:o}", "leading_edge", cr_api_at_time(t0, lead),
                                        "trailing_edge", cr_api_at_time(t0, trail)),
                              "responsible", resp);
        json_array_append_new(points, p);
    }
    json_decref(inds);
    return points;
}

/* The point features' coordinates (for the plan's GeoJSON). */
static json_t *lonlat_of(cr_store *store, const char *layer, const char *id)
{
    char *sql = sqlite3_mprintf("SELECT ST_X(geom), ST_Y(geom) FROM \"%w_current\" WHERE"
                                " source_id = ?",
                                layer);
    sqlite3_stmt *st = cr_store_cached(store, sql);
    sqlite3_free(sql);
    json_t *out = json_null();
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_decref(out);
            out = json_pack("[f,f]", sqlite3_column_double(st, 0), sqlite3_column_double(st, 1));
        }
        sqlite3_reset(st);
    }
    return out;
}

static int by_leading_edge(const void *a, const void *b)
{
    double x = json_number_value(json_object_get(*(json_t *const *)a, "leading_edge_h"));
    double y = json_number_value(json_object_get(*(json_t *const *)b, "leading_edge_h"));
    return (x > y) - (x < y);
}

/* What the downstream report's features threaten: intakes, zones and sections with the spill's
 * edges, intakes first at equal times, by leading edge. */
static json_t *threatened_of(cr_store *store, const json_t *features, int64_t t0)
{
    size_t n = 0, i;
    json_t *f;
    json_t **v = cr_xcalloc(json_array_size(features) + 1, sizeof *v);
    json_array_foreach(features, i, f)
    {
        const char *layer = str(f, "layer");
        json_t *sp = json_object_get(f, "spill");
        if (sp == NULL || (strcmp(layer, "intakes") && strcmp(layer, "monitoring_sections") &&
                           strcmp(layer, "protection_zones"))) {
            continue;
        }
        double lead = json_number_value(json_object_get(sp, "leading_edge_h"));
        double peak = json_number_value(json_object_get(sp, "peak_h"));
        double trail = json_number_value(json_object_get(sp, "trailing_edge_h"));
        json_t *x = json_pack(
            "{s:s, s:s, s:O?, s:O?, s:O?, s:f, s:f, s:f, s:f, s:O, s:o, s:o, s:o, s:o}", "layer",
            layer, "id", str(f, "id"), "name", json_object_get(f, "name"), "county_code",
            json_object_get(f, "county_code"), "town_code", json_object_get(f, "town_code"),
            "travel_h", json_number_value(json_object_get(f, "time_h")), "leading_edge_h", lead,
            "peak_h", peak, "trailing_edge_h", trail, "peak_mg_l", json_object_get(sp, "peak_mg_l"),
            "leading_edge", cr_api_at_time(t0, lead), "peak", cr_api_at_time(t0, peak),
            "trailing_edge", cr_api_at_time(t0, trail), "lonlat",
            lonlat_of(store, layer, str(f, "id")));
        v[n++] = x;
    }
    qsort(v, n, sizeof *v, by_leading_edge);
    json_t *out = json_array();
    for (size_t k = 0; k < n; k++) {
        json_array_append_new(out, v[k]);
    }
    free(v);
    return out;
}

static json_t *deadlines(const json_t *conf, const json_t *sent, int64_t t0, int64_t now)
{
    static const struct {
        const char *kind, *what, *key;
        double dflt;
    } D[] = {
        {"information", "发布权威信息 authoritative information published", "information_h", 5},
        {"press", "召开新闻发布会 press conference", "press_conference_h", 24}};
    json_t *out = json_array();
    for (size_t k = 0; k < 2; k++) {
        double h = config_number(conf, "deadlines", D[k].key, D[k].dflt);
        int64_t due = t0 + (int64_t)(h * 3600);
        const char *done = NULL;
        size_t i;
        json_t *s;
        json_array_foreach(sent, i, s)
        {
            if (strcmp(str(s, "kind"), D[k].kind) == 0 && done == NULL) {
                done = str(s, "sent_at");
            }
        }
        char due_s[20];
        cr_wq_time_format(due, due_s);
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:f, s:s, s:o, s:b}", "kind", D[k].kind, "what",
                                        D[k].what, "within_h", h, "due", due_s, "done_at",
                                        done ? json_string(done) : json_null(), "overdue",
                                        done ? strcmp(done, due_s) > 0 : now > due));
    }
    return out;
}

json_t *cr_api_sent_notifications(cr_store *store, const char *table, const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT seq, kind, to_code, to_name, level, channel, sent_at, acknowledged_at, who,"
             " note FROM %s WHERE subject_id = ? ORDER BY seq",
             table);
    sqlite3_stmt *st = cr_store_cached(store, sql);
    if (st == NULL) {
        return json_array(); /* none recorded yet */
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    return cr_api_rows_json(st, NULL);
}

/* The 通报 (notice) in Chinese from the incident and its report. */
static char *notice_text(const json_t *inc, const json_t *report)
{
    cr_strbuf b = {0};
    const json_t *county = json_object_get(json_object_get(report, "notification"), "county");
    const char *from = str(json_array_get(county, 0), "name");
    cr_strbuf_printf(&b, "关于%s%s污染事件的通报\n\n",
                     str(inc, "place")[0] ? str(inc, "place") : from, str(inc, "substance"));
    cr_strbuf_puts(&b, "下游各相关单位：\n");
    const json_t *ll = json_object_get(report, "lonlat");
    cr_strbuf_printf(&b, "    %s，%s%s（东经%.5f°，北纬%.5f°）发生%s泄漏", str(inc, "occurred_at"),
                     from, str(inc, "place")[0] ? str(inc, "place") : "",
                     json_number_value(json_array_get(ll, 0)),
                     json_number_value(json_array_get(ll, 1)), str(inc, "substance"));
    double kg = json_number_value(json_object_get(inc, "amount_kg"));
    if (kg > 0) {
        cr_strbuf_printf(&b, "，估算量约%.0f千克", kg);
    }
    if (str(inc, "reporter")[0]) {
        cr_strbuf_printf(&b, "（报告人：%s）", str(inc, "reporter"));
    }
    cr_strbuf_puts(&b, "。现将有关情况通报如下：\n");
    cr_strbuf_printf(&b, "    一、事件原因：%s。\n",
                     str(inc, "cause")[0] ? str(inc, "cause") : "正在调查");
    cr_strbuf_puts(&b, "    二、污染情况：");
    const json_t *thr = json_object_get(report, "threatened");
    if (json_array_size(thr) == 0) {
        cr_strbuf_puts(&b, "下游72小时内未涉及饮用水取水口和监测断面");
    }
    size_t i, said = 0;
    json_t *x;
    json_array_foreach(thr, i, x)
    {
        if (strcmp(str(x, "layer"), "protection_zones") == 0 || said >= 6) {
            continue;
        }
        cr_strbuf_printf(
            &b, "%s%s%s预计%s前锋到达、%s达到峰值（约%.3g毫克/升）、%s基本过境", said++ ? "；" : "",
            strcmp(str(x, "layer"), "intakes") == 0 ? "饮用水取水口" : "监测断面", str(x, "name"),
            str(x, "leading_edge"), str(x, "peak"),
            json_number_value(json_object_get(x, "peak_mg_l")), str(x, "trailing_edge"));
    }
    cr_strbuf_puts(&b, "（按河网扩散估算，以实测为准）。\n");
    cr_strbuf_printf(&b, "    三、已采取的措施：%s。\n",
                     str(inc, "response")[0] ? str(inc, "response") : "正在组织处置");
    const json_t *sp =
        json_array_get(json_object_get(json_object_get(report, "stockpiles"), "nearest"), 0);
    if (sp) {
        cr_strbuf_printf(&b, "    最近的应急物资储备库：%s（直线距离约%.1f公里；%s）。\n",
                         str(sp, "name"), json_number_value(json_object_get(sp, "distance_km")),
                         str(sp, "contents"));
    }
    cr_strbuf_puts(
        &b, "    请各单位密切关注水质变化，做好取水口防护和应急监测，发现异常及时通报。\n\n");
    cr_strbuf_printf(&b, "%s\n", from);
    return cr_strbuf_take(&b);
}

cr_status cr_api_incident_report(const cr_trace_context *cx, const char *incident_id,
                                 const json_t *config, json_t **out, cr_error *err)
{
    *out = NULL;
    json_t *feature = NULL;
    int restricted = 0;
    cr_status rc =
        cr_api_feature(cx->store, "incidents", incident_id, NULL, &feature, &restricted, err);
    if (rc != CR_OK) {
        return rc;
    }
    json_t *inc = json_object_get(feature, "properties");
    json_t *ll = json_object_get(json_object_get(feature, "geometry"), "coordinates");
    int64_t t0 = cr_api_cst_of(str(inc, "occurred_at"));
    json_t *subs = cr_standards_file(NULL, "substances.json", err);
    json_t *divs = subs ? cr_standards_file(NULL, "divisions.json", err) : NULL;
    if (subs == NULL || divs == NULL) {
        json_decref(subs);
        json_decref(feature);
        return err->code;
    }
    /* downstream over the trace horizon, with the spill where the amount is known */
    cr_trace_request req = {0};
    req.at = 1;
    req.lon = json_number_value(json_array_get(ll, 0));
    req.lat = json_number_value(json_array_get(ll, 1));
    req.direction = CR_TRACE_DOWN;
    req.gates_at = str(inc, "occurred_at"); /* the gates as they stood then (the log) */
    req.max_hours = config_number(config, "trace", "downstream_hours", 72);
    req.has_max_hours = 1;
    double kg = json_number_value(json_object_get(inc, "amount_kg"));
    req.spill_kg = kg > 0 ? kg : 1; /* the edges need a mass; concentrations only when known */
    double rel = json_number_value(json_object_get(inc, "release_hours"));
    req.spill_hours = rel > 0 ? rel : 1;
    json_t *down = NULL, *up = NULL;
    rc = cr_api_trace(cx, &req, &down, err);
    if (rc == CR_OK) {
        cr_trace_request u = req;
        u.direction = CR_TRACE_UP;
        u.spill_kg = 0;
        u.spill_hours = 0;
        u.max_hours = config_number(config, "trace", "upstream_hours", 24);
        rc = cr_api_trace(cx, &u, &up, err);
    }
    if (rc == CR_OK) {
        json_t *threatened = threatened_of(cx->store, json_object_get(down, "features"), t0);
        if (kg <= 0) {
            size_t i;
            json_t *x;
            json_array_foreach(threatened, i, x)
            {
                json_object_set_new(x, "peak_mg_l", json_null()); /* no amount: no figure */
            }
        }
        json_t *sent = cr_api_sent_notifications(cx->store, "incident_notifications", incident_id);
        char now_s[20];
        int64_t now = (int64_t)time(NULL) + 8 * 3600;
        cr_wq_time_format(now, now_s);
        json_t *r = json_object();
        json_object_set(r, "incident", inc);
        json_object_set(r, "lonlat", ll);
        json_object_set_new(r, "threatened", threatened);
        json_object_set_new(r, "notification",
                            cr_api_notification_by_level(cx->store, divs,
                                                         json_object_get(down, "jurisdictions"),
                                                         json_object_get(down, "features"), t0));
        json_object_set_new(r, "notifications_sent", json_incref(sent));
        json_object_set_new(r, "deadlines", deadlines(config, sent, t0, now));
        json_object_set_new(r, "now", json_string(now_s));
        json_object_set(r, "attribution", json_object_get(up, "attribution"));
        json_object_set_new(r, "stockpiles",
                            json_pack("{s:s, s:o}", "distance", "straight line", "nearest",
                                      cr_ops_nearest_stockpiles(cx->store, req.lon, req.lat, 3)));
        json_object_set_new(
            r, "monitoring_plan",
            monitoring_plan(cx->store, threatened, subs, str(inc, "substance"), t0));
        json_object_set_new(r, "horizon_h", json_real(req.max_hours));
        json_object_set(r, "gates_in_force", json_object_get(down, "gates_in_force"));
        char *text = notice_text(inc, r);
        json_object_set_new(r, "notice", json_string(text));
        free(text);
        json_decref(sent);
        *out = r;
    }
    json_decref(down);
    json_decref(up);
    json_decref(subs);
    json_decref(divs);
    json_decref(feature);
    return rc;
}

/* ---- the monitoring plan as files -------------------------------------------------------- */

void cr_api_incident_plan_csv(const json_t *report, cr_strbuf *b)
{
    cr_csv_begin(b);
    const char *head[] = {"序号",     "点位类型", "点位编码", "点位名称", "区县",
                          "经度",     "纬度",     "监测指标", "采样时间", "前锋到达",
                          "基本过境", "责任单位", "值班电话"};
    cr_csv_row(b, head, 13);
    size_t i, k, n = 0;
    json_t *p, *t;
    json_array_foreach(json_object_get(report, "monitoring_plan"), i, p)
    {
        cr_strbuf ind = {0};
        json_t *c;
        json_array_foreach(json_object_get(p, "indicators"), k, c)
        {
            cr_strbuf_printf(&ind, "%s%s", k ? "、" : "", str(c, "name"));
        }
        const json_t *resp = json_array_get(json_object_get(p, "responsible"), 0);
        json_array_foreach(json_object_get(p, "times"), k, t)
        {
            char seq[16], lon[24], lat[24];
            snprintf(seq, sizeof seq, "%zu", ++n);
            snprintf(lon, sizeof lon, "%.6f",
                     json_number_value(json_array_get(json_object_get(p, "lonlat"), 0)));
            snprintf(lat, sizeof lat, "%.6f",
                     json_number_value(json_array_get(json_object_get(p, "lonlat"), 1)));
            const char *cells[] = {seq,
                                   strcmp(str(p, "kind"), "intake") == 0 ? "取水口" : "断面",
                                   str(p, "id"),
                                   str(p, "name"),
                                   str(p, "county_code"),
                                   lon,
                                   lat,
                                   ind.data ? ind.data : "",
                                   json_string_value(t),
                                   str(json_object_get(p, "window"), "leading_edge"),
                                   str(json_object_get(p, "window"), "trailing_edge"),
                                   str(resp, "agency"),
                                   str(resp, "duty_phone")};
            cr_csv_row(b, cells, 13);
        }
        cr_strbuf_cleanup(&ind);
    }
}

void cr_api_incident_plan_html(const json_t *report, cr_strbuf *b)
{
    const json_t *inc = json_object_get(report, "incident");
    char title[256];
    snprintf(title, sizeof title, "应急监测方案 %s %s", str(inc, "incident_id"),
             str(inc, "substance"));
    cr_html_begin(b, title,
                  "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #999;padding:3px 6px;font-size:12px;vertical-align:top}");
    cr_strbuf_puts(b, "<h1>");
    cr_xml_append(b, title);
    cr_strbuf_puts(b, "</h1><p>");
    cr_xml_append(b, str(inc, "occurred_at"));
    cr_strbuf_puts(b, " · ");
    cr_xml_append(b, str(inc, "place"));
    cr_strbuf_puts(b, "</p><table><tr>");
    const char *head[] = {"点位", "类型", "监测指标", "采样时间", "责任单位"};
    for (int h = 0; h < 5; h++) {
        cr_html_cell(b, "th", head[h]);
    }
    cr_strbuf_puts(b, "</tr>");
    size_t i, k;
    json_t *p, *t;
    json_array_foreach(json_object_get(report, "monitoring_plan"), i, p)
    {
        cr_strbuf ind = {0}, times = {0}, where = {0};
        json_array_foreach(json_object_get(p, "indicators"), k, t)
        {
            cr_strbuf_printf(&ind, "%s%s", k ? "、" : "", str(t, "name"));
        }
        json_array_foreach(json_object_get(p, "times"), k, t)
        {
            cr_strbuf_printf(&times, "%s%s", k ? "; " : "", json_string_value(t));
        }
        cr_strbuf_printf(&where, "%s %s", str(p, "id"), str(p, "name"));
        const json_t *resp = json_array_get(json_object_get(p, "responsible"), 0);
        cr_strbuf_puts(b, "<tr>");
        cr_html_cell(b, "td", where.data);
        cr_html_cell(b, "td", strcmp(str(p, "kind"), "intake") == 0 ? "取水口" : "断面");
        cr_html_cell(b, "td", ind.data ? ind.data : "");
        cr_html_cell(b, "td", times.data ? times.data : "");
        cr_html_cell(b, "td", str(resp, "agency"));
        cr_strbuf_puts(b, "</tr>");
        cr_strbuf_cleanup(&ind);
        cr_strbuf_cleanup(&times);
        cr_strbuf_cleanup(&where);
    }
    cr_strbuf_puts(b, "</table>");
    cr_html_end(b);
}

json_t *cr_api_incident_plan_geojson(const json_t *report)
{
    json_t *fs = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(report, "monitoring_plan"), i, p)
    {
        json_t *props = json_deep_copy(p);
        json_object_del(props, "lonlat");
        json_array_append_new(fs, json_pack("{s:s, s:{s:s, s:O}, s:o}", "type", "Feature",
                                            "geometry", "type", "Point", "coordinates",
                                            json_object_get(p, "lonlat"), "properties", props));
    }
    return json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", fs);
}

cr_status cr_api_incidents(cr_store *store, json_t **out, cr_error *err)
{
    *out = NULL;
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT source_id, occurred_at, substance, amount_kg, status, county_code,"
               " reach_id, place, ST_X(geom), ST_Y(geom) FROM incidents_current ORDER BY"
               " occurred_at DESC, source_id");
    if (st == NULL) {
        return cr_error_set(err, CR_EIO, "incidents: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    json_t *list = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        static const char *const K[] = {"incident_id", "occurred_at", "substance", "amount_kg",
                                        "status",      "county_code", "reach_id",  "place",
                                        "lon",         "lat"};
        for (int c = 0; c < 10; c++) {
            json_object_set_new(o, K[c], cr_api_column_json(st, c));
        }
        json_array_append_new(list, o);
    }
    sqlite3_reset(st);
    *out = list;
    return CR_OK;
}
