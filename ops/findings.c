/* SPDX-License-Identifier: MIT */
/* Patrol findings through rectification: each finding's deadline (its own, else the found time
 * plus the days its kind is given), where it stands, and the rectification report (整改报告)
 * of a period per jurisdiction — found, rectified, closed, overdue, with the photos. */
#include "ops.h"
#include "quality/quality.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATES[] = {"open", "rectifying", "rectified", "verified", "closed"};

int cr_ops_finding_state(const char *status)
{
    for (int i = 0; i < 5; i++) {
        if (status && strcmp(status, STATES[i]) == 0) {
            return i;
        }
    }
    return 0; /* no status: open */
}

int cr_ops_finding_step_allowed(const char *from, const char *to)
{
    static const char *const STEPS[][2] = {{"open", "rectifying"},      {"open", "rectified"},
                                           {"rectifying", "rectified"}, {"rectified", "verified"},
                                           {"rectified", "rectifying"}, {"verified", "closed"}};
    for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        if (strcmp(STEPS[i][0], from) == 0 && strcmp(STEPS[i][1], to) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The day number (days from 1970-01-01) of a "YYYY-MM-DD…" text, or -1. */
static long day_number(const char *t)
{
    int y, m, d;
    if (t == NULL || sscanf(t, "%d-%d-%d", &y, &m, &d) != 3) {
        return -1;
    }
    return (long)cr_wq_day_of(cr_wq_time_from_fields(y, m, d, 0, 0, 0));
}

static void day_text(long z, char out[11])
{
    cr_wq_day_format(z, out);
}

static int days_for(const json_t *conf, const char *kind)
{
    const json_t *d = json_object_get(json_object_get(conf, "findings"), "deadline_days");
    json_t *v = json_object_get(d, kind ? kind : "other");
    if (!json_is_integer(v)) {
        v = json_object_get(d, "default");
    }
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        return (int)json_integer_value(v);
    }
    /* defaults: a discharge in a week, an outfall in a month, an encroachment in two */
    return kind && strcmp(kind, "discharge") == 0      ? 7
           : kind && strcmp(kind, "hyacinth") == 0     ? 7
           : kind && strcmp(kind, "garbage") == 0      ? 7
           : kind && strcmp(kind, "outfall") == 0      ? 30
           : kind && strcmp(kind, "encroachment") == 0 ? 60
                                                       : 15;
}

cr_status cr_ops_rectification_report(cr_store *store, const char *first_day, const char *last_day,
                                      const char *today, const json_t *conf, json_t **out,
                                      cr_error *err)
{
    *out = NULL;
    sqlite3_stmt *st;
    sqlite3 *db = cr_store_db(store);
    if (sqlite3_prepare_v2(
            db,
            "SELECT f.source_id, f.patrol_id, f.found_at, f.kind, f.description, f.photos,"
            " f.status, f.deadline, f.responsible, f.county_code, a.name, f.town_code, f.step_at,"
            " f.step_by, f.reach_id, f.version FROM findings_current f LEFT JOIN"
            " admin_units_current a ON a.code = f.county_code WHERE substr(f.found_at, 1, 10)"
            " BETWEEN ?1 AND ?2 ORDER BY f.county_code, f.found_at, f.source_id",
            -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "findings: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_text(st, 1, first_day, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, last_day, -1, SQLITE_TRANSIENT);
    json_t *groups = json_array();
    json_t *group = NULL;
    int64_t totals[4] = {0};
    long now = day_number(today);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *county = (const char *)sqlite3_column_text(st, 9);
        county = county ? county : "";
        if (group == NULL ||
            strcmp(json_string_value(json_object_get(group, "county_code")), county) != 0) {
            const char *name = (const char *)sqlite3_column_text(st, 10);
            group = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:[]}", "county_code", county,
                              "county_name", name ? name : "(not in a county)", "found", 0,
                              "rectified", 0, "closed", 0, "overdue", 0, "findings");
            json_array_append_new(groups, group);
        }
        const char *status = (const char *)sqlite3_column_text(st, 6);
        const char *kind = (const char *)sqlite3_column_text(st, 3);
        int state = cr_ops_finding_state(status);
        const char *found = (const char *)sqlite3_column_text(st, 2);
        const char *given = (const char *)sqlite3_column_text(st, 7);
        char deadline[11];
        int own = given != NULL;
        if (own) {
            snprintf(deadline, sizeof deadline, "%.10s", given);
        } else {
            day_text(day_number(found) + days_for(conf, kind), deadline);
        }
        int overdue = state < 2 && now > day_number(deadline);
        json_t *f = json_object();
        static const char *const K[] = {"finding_id",  "patrol_id", "found_at", "kind",
                                        "description", "photos",    "status",   NULL,
                                        "responsible", NULL,        NULL,       "town_code",
                                        "step_at",     "step_by",   "reach_id"};
        for (int c = 0; c < 15; c++) {
            if (K[c]) {
                const unsigned char *v = sqlite3_column_text(st, c);
                json_object_set_new(f, K[c], v ? json_string((const char *)v) : json_null());
            }
        }
        if (status == NULL) {
            json_object_set_new(f, "status", json_string("open"));
        }
        json_object_set_new(f, "deadline", json_string(deadline));
        json_object_set_new(f, "deadline_source",
                            json_string(own ? "given" : "found_at + the kind's days"));
        json_object_set_new(f, "overdue", json_boolean(overdue));
        json_object_set_new(f, "versions", json_integer(sqlite3_column_int64(st, 15)));
        json_array_append_new(json_object_get(group, "findings"), f);
        const char *counters[] = {"found", "rectified", "closed", "overdue"};
        int hit[] = {1, state >= 2, state == 4, overdue};
        for (int k = 0; k < 4; k++) {
            if (hit[k]) {
                json_object_set_new(
                    group, counters[k],
                    json_integer(json_integer_value(json_object_get(group, counters[k])) + 1));
                totals[k]++;
            }
        }
    }
    sqlite3_finalize(st);
    *out = json_pack("{s:s, s:s, s:s, s:o, s:{s:I, s:I, s:I, s:I}}", "from", first_day, "to",
                     last_day, "as_of", today, "jurisdictions", groups, "totals", "found",
                     (json_int_t)totals[0], "rectified", (json_int_t)totals[1], "closed",
                     (json_int_t)totals[2], "overdue", (json_int_t)totals[3]);
    return CR_OK;
}

static const char *s_(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static const char *status_zh(const char *s)
{
    static const char *const ZH[] = {"待整改", "整改中", "已整改", "已核查", "已销号"};
    return ZH[cr_ops_finding_state(s)];
}

void cr_ops_rectification_html(const json_t *r, cr_strbuf *b)
{
    char title[160];
    snprintf(title, sizeof title, "巡河问题整改报告 %s 至 %s", s_(r, "from"), s_(r, "to"));
    cr_html_begin(b, title,
                  "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:"
                  "0.5em 0 1.5em}td,th{border:1px solid #999;padding:3px 6px;font-size:12px;"
                  "vertical-align:top}.overdue{color:#b00020;font-weight:bold}");
    cr_strbuf_puts(b, "<h1>");
    cr_xml_append(b, title);
    const json_t *t = json_object_get(r, "totals");
    cr_strbuf_printf(
        b,
        "</h1><p>截至 %s：发现问题 %lld 个，已整改 %lld 个，已销号 %lld 个，逾期未整改 "
        "%lld 个。</p>",
        s_(r, "as_of"), (long long)json_integer_value(json_object_get(t, "found")),
        (long long)json_integer_value(json_object_get(t, "rectified")),
        (long long)json_integer_value(json_object_get(t, "closed")),
        (long long)json_integer_value(json_object_get(t, "overdue")));
    size_t i, k;
    json_t *g, *f;
    json_array_foreach(json_object_get(r, "jurisdictions"), i, g)
    {
        cr_strbuf_puts(b, "<h2>");
        cr_xml_append(b, s_(g, "county_name"));
        cr_strbuf_printf(b,
                         "</h2><p>发现 %lld · 已整改 %lld · 已销号 %lld · 逾期 %lld</p><table><tr>",
                         (long long)json_integer_value(json_object_get(g, "found")),
                         (long long)json_integer_value(json_object_get(g, "rectified")),
                         (long long)json_integer_value(json_object_get(g, "closed")),
                         (long long)json_integer_value(json_object_get(g, "overdue")));
        const char *head[] = {"编号",     "发现时间", "类型", "问题描述",
                              "责任单位", "整改期限", "状态", "照片"};
        for (int h = 0; h < 8; h++) {
            cr_html_cell(b, "th", head[h]);
        }
        cr_strbuf_puts(b, "</tr>");
        json_array_foreach(json_object_get(g, "findings"), k, f)
        {
            int late = json_is_true(json_object_get(f, "overdue"));
            cr_strbuf_printf(b, "<tr%s>", late ? " class=\"overdue\"" : "");
            cr_html_cell(b, "td", s_(f, "finding_id"));
            cr_html_cell(b, "td", s_(f, "found_at"));
            cr_html_cell(b, "td", s_(f, "kind"));
            cr_html_cell(b, "td", s_(f, "description"));
            cr_html_cell(b, "td", s_(f, "responsible"));
            cr_html_cell(b, "td", s_(f, "deadline"));
            char st[64];
            snprintf(st, sizeof st, "%s%s", status_zh(s_(f, "status")), late ? "（逾期）" : "");
            cr_html_cell(b, "td", st);
            cr_html_cell(b, "td", s_(f, "photos"));
            cr_strbuf_puts(b, "</tr>");
        }
        cr_strbuf_puts(b, "</table>");
    }
    cr_html_end(b);
}

void cr_ops_rectification_csv(const json_t *r, cr_strbuf *b)
{
    cr_csv_begin(b);
    const char *head[] = {"区县",     "编号",     "巡河编号", "发现时间", "类型",
                          "问题描述", "责任单位", "整改期限", "期限来源", "状态",
                          "逾期",     "照片",     "办理时间", "经办人"};
    cr_csv_row(b, head, 14);
    size_t i, k;
    json_t *g, *f;
    json_array_foreach(json_object_get(r, "jurisdictions"), i, g)
    {
        json_array_foreach(json_object_get(g, "findings"), k, f)
        {
            const char *cells[] = {s_(g, "county_name"),
                                   s_(f, "finding_id"),
                                   s_(f, "patrol_id"),
                                   s_(f, "found_at"),
                                   s_(f, "kind"),
                                   s_(f, "description"),
                                   s_(f, "responsible"),
                                   s_(f, "deadline"),
                                   s_(f, "deadline_source"),
                                   status_zh(s_(f, "status")),
                                   json_is_true(json_object_get(f, "overdue")) ? "是" : "否",
                                   s_(f, "photos"),
                                   s_(f, "step_at"),
                                   s_(f, "step_by")};
            cr_csv_row(b, cells, 14);
        }
    }
}

/* A period as first and last day: 2025Q3, 2025-07 or 2025. */
int cr_ops_period_days(const char *p, char first[11], char last[11])
{
    int y = 0, q = 0, m = 0;
    char tail = 0;
    static const int END[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (sscanf(p, "%4dQ%1d%c", &y, &q, &tail) == 2 && q >= 1 && q <= 4) {
        int lm = q * 3;
        snprintf(first, 11, "%04d-%02d-01", y, lm - 2);
        snprintf(last, 11, "%04d-%02d-%02d", y, lm, END[lm - 1]);
        return 1;
    }
    if (sscanf(p, "%4d-%2d%c", &y, &m, &tail) == 2 && m >= 1 && m <= 12) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        snprintf(first, 11, "%04d-%02d-01", y, m);
        snprintf(last, 11, "%04d-%02d-%02d", y, m, END[m - 1] + (m == 2 && leap));
        return 1;
    }
    if (sscanf(p, "%4d%c", &y, &tail) == 1 && strlen(p) == 4) {
        snprintf(first, 11, "%04d-01-01", y);
        snprintf(last, 11, "%04d-12-31", y);
        return 1;
    }
    return 0;
}
