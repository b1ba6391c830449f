/* SPDX-License-Identifier: MIT */
/* The eco-compensation ledger: a rule file interpreted month by month over a boundary
 * section's means (the same means as its class) and flow. */
#include "compensation.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static cr_status rule_error(cr_error *err, const char *path, const char *what)
{
    return cr_error_set(err, CR_EINVAL, "%s: %s", path, what);
}

static int indicator_map(const json_t *o, const cr_standards *s, const char *path, const char *key,
                         cr_error *err)
{
    const char *code;
    json_t *v;
    json_object_foreach((json_t *)o, code, v)
    {
        if (cr_standards_find_code(s, code) < 0) {
            cr_error_set(err, CR_EINVAL, "%s: %s.%s: no such indicator (standards/indicators.json)",
                         path, key, code);
            return 0;
        }
    }
    return 1;
}

cr_status cr_wq_rule_load(const char *path, const cr_standards *s, json_t **out, cr_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    if (r == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: line %d: %s", path, je.line, je.text);
    }
    const char *form = json_string_value(json_object_get(r, "form"));
    cr_status rc = CR_OK;
    if (!json_is_string(json_object_get(r, "agreement")) ||
        !json_is_string(json_object_get(r, "version"))) {
        rc = rule_error(err, path, "agreement and version (strings) are required");
    } else if (json_array_size(json_object_get(r, "sections")) == 0) {
        rc = rule_error(err, path, "sections: a list of section IDs");
    } else if (!json_is_object(json_object_get(r, "parties")) ||
               !json_is_string(json_object_get(json_object_get(r, "parties"), "upstream")) ||
               !json_is_string(json_object_get(json_object_get(r, "parties"), "downstream"))) {
        rc = rule_error(err, path, "parties: {upstream, downstream} names");
    } else if (form == NULL) {
        rc = rule_error(err, path, "form: per_tonne, weighted_index or tiers");
    } else if (strcmp(form, "per_tonne") == 0) {
        json_t *ind = json_object_get(r, "indicators");
        if (!json_is_object(ind) || json_object_size(ind) == 0) {
            rc = rule_error(err, path, "indicators: {code: {price_yuan_per_tonne}}");
        } else if (!indicator_map(ind, s, path, "indicators", err)) {
            rc = CR_EINVAL;
        }
        const char *code;
        json_t *v;
        json_object_foreach(ind, code, v)
        {
            if (rc == CR_OK && !json_is_number(json_object_get(v, "price_yuan_per_tonne"))) {
                rc = cr_error_set(err, CR_EINVAL,
                                  "%s: indicators.%s.price_yuan_per_tonne: a number", path, code);
            }
        }
    } else if (strcmp(form, "weighted_index") == 0) {
        json_t *w = json_object_get(r, "weights"), *b = json_object_get(r, "baselines");
        if (!json_is_number(json_object_get(r, "K")) || !json_is_object(w) || !json_is_object(b) ||
            !json_is_number(json_object_get(r, "amount_yuan"))) {
            rc = rule_error(err, path,
                            "weighted_index needs K, weights {code: w}, baselines {code: C0} "
                            "and amount_yuan");
        } else if (!indicator_map(w, s, path, "weights", err) ||
                   !indicator_map(b, s, path, "baselines", err)) {
            rc = CR_EINVAL;
        }
        const char *code;
        json_t *v;
        json_object_foreach(w, code, v)
        {
            if (rc == CR_OK && !json_is_number(json_object_get(b, code))) {
                rc = cr_error_set(err, CR_EINVAL, "%s: baselines.%s: missing (weights has it)",
                                  path, code);
            }
        }
    } else if (strcmp(form, "tiers") == 0) {
        json_t *t = json_object_get(r, "tiers");
        if (json_array_size(t) == 0) {
            rc = rule_error(err, path, "tiers: [{max_multiple, yuan}, …, {yuan}]");
        }
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v)
        {
            if (rc == CR_OK && !json_is_number(json_object_get(v, "yuan"))) {
                rc = cr_error_set(err, CR_EINVAL, "%s: tiers[%zu].yuan: a number", path, i);
            }
        }
    } else {
        rc = cr_error_set(err, CR_EINVAL, "%s: form '%s': per_tonne, weighted_index or tiers", path,
                          form);
    }
    if (rc != CR_OK) {
        json_decref(r);
        return rc;
    }
    *out = r;
    return CR_OK;
}

/* ---- one month ---------------------------------------------------------------------------- */

/* The section's mean flow in a month: its flow series where it has one, else the reach's
 * discharge. */
static double month_flow(cr_store *store, const cr_wq_section *sec, const cr_period *m,
                         char *source, size_t n)
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT SUM(a.sum), SUM(a.n_valid) FROM wq_monthly a JOIN wq_series r ON"
               " r.series_id = a.series_id WHERE r.section_id=? AND r.indicator='flow' AND"
               " a.month=?");
    if (st) {
        sqlite3_bind_text(st, 1, sec->section_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, cr_wq_month_of_day(m->first_day));
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 1) > 0) {
            double q = sqlite3_column_double(st, 0) / (double)sqlite3_column_int64(st, 1);
            snprintf(source, n, "flow series (%lld values)",
                     (long long)sqlite3_column_int64(st, 1));
            sqlite3_reset(st);
            return q;
        }
        sqlite3_reset(st);
    }
    st = cr_store_cached(store, "SELECT discharge_m3s FROM reaches_current WHERE source_id=?");
    double q = 0;
    if (st) {
        sqlite3_bind_text(st, 1, sec->reach_id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) {
            q = sqlite3_column_double(st, 0);
        }
        sqlite3_reset(st);
    }
    snprintf(source, n, "reach %s discharge (no flow series)", sec->reach_id);
    return q;
}

static const cr_wq_item *item_of(const cr_standards *s, const cr_wq_result *r, const char *code)
{
    for (size_t i = 0; i < r->n_items; i++) {
        if (strcmp(s->ind[r->items[i].ind].code, code) == 0) {
            return &r->items[i];
        }
    }
    return NULL;
}

/* The target-class limit of an indicator at the section (0 when it has none). */
static double target_limit(const cr_standards *s, const cr_wq_section *sec, const char *code,
                           int target)
{
    int i = cr_standards_find_code(s, code);
    if (i < 0 || target < 1 || target > 5) {
        return 0;
    }
    const cr_indicator *d = &s->ind[i];
    return (sec->lake ? d->lake : d->river)[target - 1];
}

static double per_tonne(const cr_standards *s, const json_t *rule, const cr_wq_section *sec,
                        const cr_wq_result *r, double q, int days, int target, cr_strbuf *how)
{
    double total = 0;
    int both = json_is_true(json_object_get(rule, "both_ways"));
    double reward = json_is_number(json_object_get(rule, "reward_factor"))
                        ? json_number_value(json_object_get(rule, "reward_factor"))
                        : 1.0;
    const char *code;
    json_t *v;
    json_object_foreach(json_object_get(rule, "indicators"), code, v)
    {
        const cr_wq_item *it = item_of(s, r, code);
        double ct = target_limit(s, sec, code, target);
        if (it == NULL || ct <= 0) {
            cr_strbuf_printf(how, "%s: no value; ", code);
            continue;
        }
        double price = json_number_value(json_object_get(v, "price_yuan_per_tonne"));
        /* (C − C_target) g/m³ × Q m³/s × seconds → tonnes */
        double tonnes = (it->value - ct) * q * days * 86400.0 / 1e6;
        double yuan = tonnes > 0 ? tonnes * price : both ? tonnes * price * reward : 0;
        cr_strbuf_printf(how,
                         "%s: (%.4g − %.4g) mg/L × %.4g m³/s × %d d = %.4g t × %g 元/t%s = "
                         "%.0f 元; ",
                         code, it->value, ct, q, days, tonnes, price,
                         tonnes < 0 && both ? " × reward factor" : "", yuan);
        total += yuan;
    }
    return total;
}

static double weighted_index(const cr_standards *s, const json_t *rule, const cr_wq_result *r,
                             cr_strbuf *how, double *p_out)
{
    double k = json_number_value(json_object_get(rule, "K"));
    double sum = 0, wsum = 0;
    const char *code;
    json_t *w;
    json_object_foreach(json_object_get(rule, "weights"), code, w)
    {
        const cr_wq_item *it = item_of(s, r, code);
        double c0 = json_number_value(json_object_get(json_object_get(rule, "baselines"), code));
        if (it == NULL || c0 <= 0) {
            cr_strbuf_printf(how, "%s: no value; ", code);
            continue;
        }
        sum += json_number_value(w) * it->value / c0;
        wsum += json_number_value(w);
        cr_strbuf_printf(how, "%s %.4g×%.4g/%.4g + ", code, json_number_value(w), it->value, c0);
    }
    double p = k * sum;
    *p_out = p;
    double threshold = json_is_number(json_object_get(rule, "threshold"))
                           ? json_number_value(json_object_get(rule, "threshold"))
                           : 1.0;
    /* the year's amount, settled by month */
    double amount = json_number_value(json_object_get(rule, "amount_yuan")) / 12.0;
    cr_strbuf_printf(how, "… P = K·Σ = %.4g × %.4g = %.4f (weights sum %.3g); ", k, sum, p, wsum);
    if (p > threshold) {
        cr_strbuf_printf(how, "P > %.3g: the upstream side pays %.0f 元", threshold, amount);
        return amount;
    }
    int both = !json_is_false(json_object_get(rule, "both_ways"));
    cr_strbuf_printf(how, "P ≤ %.3g: %s", threshold,
                     both ? "the downstream side pays the upstream side" : "nothing due");
    return both ? -amount : 0;
}

static double tiers(const cr_standards *s, const json_t *rule, const cr_wq_result *r,
                    cr_strbuf *how)
{
    double worst = 0;
    const char *worst_code = NULL;
    for (size_t i = 0; i < r->n_items; i++) {
        if (r->items[i].multiple_target > worst) {
            worst = r->items[i].multiple_target;
            worst_code = s->ind[r->items[i].ind].code;
        }
    }
    if (r->met == 1) {
        double reward = json_number_value(json_object_get(rule, "met_reward_yuan"));
        cr_strbuf_printf(how, "target met (class %s): %s", cr_wq_class_name(r->cls),
                         reward > 0 ? "the downstream side pays the reward" : "nothing due");
        return -reward;
    }
    size_t i;
    json_t *t;
    double yuan = 0;
    json_array_foreach(json_object_get(rule, "tiers"), i, t)
    {
        json_t *mx = json_object_get(t, "max_multiple");
        yuan = json_number_value(json_object_get(t, "yuan"));
        if (mx == NULL || worst <= json_number_value(mx)) {
            cr_strbuf_printf(how, "largest exceedance multiple %.3f (%s) → tier %zu: %.0f 元",
                             worst, worst_code ? worst_code : "—", i + 1, yuan);
            break;
        }
    }
    return yuan;
}

/* Cite the readings behind a month's means: the basis series (manual where the month has
 * them) of the rule's indicators. */
static void cite(cr_store *store, const char *section, const char *code, const cr_period *m,
                 json_t *citations)
{
    sqlite3_stmt *st = cr_store_cached(
        store,
        "SELECT r.method, a.t, a.value, a.censored, a.flag, a.batch_id, a.source_row, r.party FROM"
        " wq_series r JOIN wq_readings a ON a.series_id = r.series_id WHERE r.section_id=?1 AND"
        " r.indicator=?2 AND a.t BETWEEN ?3 AND ?4 AND r.method = (CASE WHEN EXISTS (SELECT 1"
        " FROM wq_series r2 JOIN wq_readings b ON b.series_id = r2.series_id WHERE"
        " r2.section_id=?1 AND r2.indicator=?2 AND r2.method='manual' AND b.t BETWEEN ?3 AND"
        " ?4) THEN 'manual' ELSE 'automatic' END) ORDER BY a.t, r.party");
    if (st == NULL) {
        return;
    }
    sqlite3_bind_text(st, 1, section, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, code, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, m->first_day * 86400);
    sqlite3_bind_int64(st, 4, m->last_day * 86400 + 86399);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char t[20];
        cr_wq_time_format(sqlite3_column_int64(st, 1), t);
        json_array_append_new(citations,
                              json_pack("{s:s, s:s, s:s, s:f, s:b, s:s, s:I, s:I, s:s, s:s}",
                                        "section_id", section, "indicator", code, "time", t,
                                        "value", sqlite3_column_double(st, 2), "censored",
                                        sqlite3_column_int(st, 3), "flag",
                                        cr_wq_flag_name((cr_wq_flag)sqlite3_column_int(st, 4)),
                                        "batch_id", (json_int_t)sqlite3_column_int64(st, 5),
                                        "source_row", (json_int_t)sqlite3_column_int64(st, 6),
                                        "basis", (const char *)sqlite3_column_text(st, 0), "party",
                                        (const char *)sqlite3_column_text(st, 7)));
    }
    sqlite3_reset(st);
}

static void rule_codes(const json_t *rule, json_t *codes)
{
    const char *form = json_string_value(json_object_get(rule, "form"));
    const char *code;
    json_t *v;
    if (strcmp(form, "per_tonne") == 0) {
        json_object_foreach(json_object_get(rule, "indicators"), code, v)
        {
            json_array_append_new(codes, json_string(code));
        }
    } else if (strcmp(form, "weighted_index") == 0) {
        json_object_foreach(json_object_get(rule, "weights"), code, v)
        {
            json_array_append_new(codes, json_string(code));
        }
    }
}

static cr_status section_statement(cr_store *store, const cr_standards *s, const json_t *rule,
                                   const cr_wq_section *sec, const cr_period *period,
                                   json_t *citations, json_t *flows, json_t **out, cr_error *err)
{
    const char *form = json_string_value(json_object_get(rule, "form"));
    const char *target_s = json_string_value(json_object_get(rule, "target_class"));
    int target = target_s ? cr_wq_class_parse(target_s) : sec->target;
    json_t *months = json_array(), *codes = json_array();
    rule_codes(rule, codes);
    double total = 0;
    char flow_source[128] = "";
    int64_t d = period->first_day;
    cr_status rc = CR_OK;
    while (d <= period->last_day && rc == CR_OK) {
        char label[16];
        int mk = cr_wq_month_of_day(d);
        snprintf(label, sizeof label, "%04d-%02d", mk / 100, mk % 100);
        cr_period m;
        cr_wq_period_parse(label, &m, NULL);
        d = m.last_day + 1;
        cr_wq_result r;
        int64_t n = 0;
        cr_wq_section tsec = *sec;
        tsec.target = target;
        rc = cr_wq_section_class(store, s, &tsec, &m, &r, &n, err);
        if (rc != CR_OK) {
            break;
        }
        if (r.n_items == 0) {
            json_array_append_new(months,
                                  json_pack("{s:s, s:s, s:f}", "month", label, "computation",
                                            "no valid readings", "amount_yuan", 0.0));
            continue;
        }
        double q = month_flow(store, sec, &m, flow_source, sizeof flow_source);
        json_array_append_new(flows,
                              json_pack("{s:s, s:s, s:f, s:s}", "section_id", sec->section_id,
                                        "month", label, "flow_m3s", q, "source", flow_source));
        cr_strbuf how = {0};
        double p = 0, yuan = 0;
        int days = (int)(m.last_day - m.first_day + 1);
        if (strcmp(form, "per_tonne") == 0) {
            yuan = per_tonne(s, rule, sec, &r, q, days, target, &how);
        } else if (strcmp(form, "weighted_index") == 0) {
            yuan = weighted_index(s, rule, &r, &how, &p);
        } else {
            yuan = tiers(s, rule, &r, &how);
            for (size_t i = 0; i < r.n_items; i++) {
                json_array_append_new(codes, json_string(s->ind[r.items[i].ind].code));
            }
        }
        yuan = round(yuan);
        total += yuan;
        json_t *values = json_object();
        for (size_t i = 0; i < r.n_items; i++) {
            json_object_set_new(values, s->ind[r.items[i].ind].code, json_real(r.items[i].value));
        }
        json_t *mo = json_pack("{s:s, s:s, s:o, s:I, s:f, s:s, s:s, s:f}", "month", label, "class",
                               cr_wq_class_name(r.cls), "values", values, "samples", (json_int_t)n,
                               "flow_m3s", q, "flow_source", flow_source, "computation",
                               how.data ? how.data : "", "amount_yuan", yuan);
        if (strcmp(form, "weighted_index") == 0) {
            json_object_set_new(mo, "P", json_real(p));
        }
        cr_strbuf_cleanup(&how);
        json_array_append_new(months, mo);
        size_t i;
        json_t *c;
        json_array_foreach(codes, i, c)
        {
            cite(store, sec->section_id, json_string_value(c), &m, citations);
        }
        if (strncmp(flow_source, "flow series", 11) == 0) {
            cite(store, sec->section_id, "flow", &m, citations); /* every flow value used */
        }
        json_array_clear(codes);
        rule_codes(rule, codes);
    }
    json_decref(codes);
    if (rc != CR_OK) {
        json_decref(months);
        return rc;
    }
    const json_t *parties = json_object_get(rule, "parties");
    *out = json_pack(
        "{s:s, s:s, s:s, s:o, s:f, s:s, s:s}", "section_id", sec->section_id, "name", sec->name,
        "target", cr_wq_class_name(target), "months", months, "total_yuan", total, "payer",
        json_string_value(json_object_get(parties, total >= 0 ? "upstream" : "downstream")),
        "payee",
        json_string_value(json_object_get(parties, total >= 0 ? "downstream" : "upstream")));
    return CR_OK;
}

cr_status cr_wq_compensation(cr_store *store, const cr_standards *s, const json_t *rule,
                             const char *rule_path, const cr_period *period, json_t **out,
                             cr_error *err)
{
    *out = NULL;
    if (period->kind != CR_PERIOD_YEAR && period->kind != CR_PERIOD_MONTH) {
        return cr_error_set(err, CR_EINVAL, "compensation settles a year or a month, not '%s'",
                            period->label);
    }
    char sha[65] = "";
    cr_status rc = cr_sha256_file(rule_path, sha, err);
    if (rc != CR_OK) {
        return rc;
    }
    json_t *sections = json_array(), *citations = json_array(), *flows = json_array();
    double total = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rule, "sections"), i, v)
    {
        cr_wq_section sec;
        rc = cr_wq_section_get(store, json_string_value(v) ?: "", &sec, err);
        json_t *st = NULL;
        if (rc == CR_OK) {
            rc = section_statement(store, s, rule, &sec, period, citations, flows, &st, err);
        }
        if (rc != CR_OK) {
            break;
        }
        total += json_number_value(json_object_get(st, "total_yuan"));
        json_array_append_new(sections, st);
    }
    if (rc != CR_OK) {
        json_decref(sections);
        json_decref(citations);
        json_decref(flows);
        return rc;
    }
    const json_t *parties = json_object_get(rule, "parties");
    *out = json_pack(
        "{s:O, s:O, s:s, s:s, s:O, s:s, s:O, s:o, s:f, s:s, s:s, s:o, s:o, s:s}", "agreement",
        json_object_get(rule, "agreement"), "version", json_object_get(rule, "version"),
        "rule_file", rule_path, "rule_sha256", sha, "form", json_object_get(rule, "form"), "period",
        period->label, "parties", parties, "sections", sections, "total_yuan", total, "payer",
        json_string_value(json_object_get(parties, total >= 0 ? "upstream" : "downstream")),
        "payee",
        json_string_value(json_object_get(parties, total >= 0 ? "downstream" : "upstream")),
        "citations", citations, "flows", flows, "standard", s->standard);
    return CR_OK;
}

/* ---- documents -------------------------------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

void cr_wq_compensation_csv(const json_t *st, cr_strbuf *b)
{
    cr_csv_begin(b);
    const char *head[] = {"断面 section",     "月份 month",           "水质类别 class",
                          "流量 flow (m³/s)", "流量来源 flow source", "计算 computation",
                          "金额 amount (元)", "支付方 payer",         "受偿方 payee"};
    cr_csv_row(b, head, 9);
    size_t i, k;
    json_t *sec, *m;
    json_array_foreach(json_object_get(st, "sections"), i, sec)
    {
        json_array_foreach(json_object_get(sec, "months"), k, m)
        {
            char flow[32], amount[32];
            snprintf(flow, sizeof flow, "%.3f", json_number_value(json_object_get(m, "flow_m3s")));
            double y = json_number_value(json_object_get(m, "amount_yuan"));
            snprintf(amount, sizeof amount, "%.0f", y);
            const json_t *parties = json_object_get(st, "parties");
            const char *cells[] = {str(sec, "section_id"),
                                   str(m, "month"),
                                   str(m, "class"),
                                   flow,
                                   str(m, "flow_source"),
                                   str(m, "computation"),
                                   amount,
                                   str(parties, y >= 0 ? "upstream" : "downstream"),
                                   str(parties, y >= 0 ? "downstream" : "upstream")};
            cr_csv_row(b, cells, 9);
        }
    }
    char total[32];
    snprintf(total, sizeof total, "%.0f", json_number_value(json_object_get(st, "total_yuan")));
    const char *tot[] = {"合计 total",     str(st, "period"), "", "", "", "", total,
                         str(st, "payer"), str(st, "payee")};
    cr_csv_row(b, tot, 9);
    const char *blank[] = {""};
    cr_csv_row(b, blank, 1);
    const char *chead[] = {
        "引用读数 reading",    "断面 section", "指标 indicator", "时间 time", "值 value",
        "检出限以下 censored", "标识 flag",    "批次 batch",     "源行 row",  "依据 basis"};
    cr_csv_row(b, chead, 10);
    json_t *c;
    json_array_foreach(json_object_get(st, "citations"), i, c)
    {
        char n[24], v[32], batch[24], row[24];
        snprintf(n, sizeof n, "%zu", i + 1);
        snprintf(v, sizeof v, "%.6g", json_number_value(json_object_get(c, "value")));
        snprintf(batch, sizeof batch, "%lld",
                 (long long)json_integer_value(json_object_get(c, "batch_id")));
        snprintf(row, sizeof row, "%lld",
                 (long long)json_integer_value(json_object_get(c, "source_row")));
        const char *cells[] = {n,
                               str(c, "section_id"),
                               str(c, "indicator"),
                               str(c, "time"),
                               v,
                               json_is_true(json_object_get(c, "censored")) ? "是" : "否",
                               str(c, "flag"),
                               batch,
                               row,
                               str(c, "basis")};
        cr_csv_row(b, cells, 10);
    }
}

void cr_wq_compensation_html(const json_t *st, cr_strbuf *b)
{
    char title[256];
    snprintf(title, sizeof title, "生态补偿结算单 %s · %s", str(st, "agreement"),
             str(st, "period"));
    cr_html_begin(b, title,
                  "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:"
                  "1em 0}td,th{border:1px solid #999;padding:3px 6px;font-size:12px;vertical-"
                  "align:top}td.n{text-align:right}@media print{.cites{font-size:9px}}");
    cr_strbuf_puts(b, "<h1>");
    cr_xml_append(b, title);
    cr_strbuf_puts(b, "</h1><p>");
    cr_strbuf_printf(b, "版本 version %s · 规则文件 rule file ", str(st, "version"));
    cr_xml_append(b, str(st, "rule_file"));
    cr_strbuf_printf(b, " (SHA-256 %.16s…) · 形式 form %s · 标准 ", str(st, "rule_sha256"),
                     str(st, "form"));
    cr_xml_append(b, str(st, "standard"));
    cr_strbuf_puts(b, "</p>");
    size_t i, k;
    json_t *sec, *m;
    json_array_foreach(json_object_get(st, "sections"), i, sec)
    {
        cr_strbuf_puts(b, "<h2>");
        cr_xml_append(b, str(sec, "section_id"));
        cr_strbuf_puts(b, " ");
        cr_xml_append(b, str(sec, "name"));
        cr_strbuf_printf(b, " · 目标 target %s</h2><table><tr>", str(sec, "target"));
        const char *head[] = {"月份", "类别", "流量 m³/s", "流量来源", "计算", "金额 元"};
        for (int h = 0; h < 6; h++) {
            cr_html_cell(b, "th", head[h]);
        }
        cr_strbuf_puts(b, "</tr>");
        json_array_foreach(json_object_get(sec, "months"), k, m)
        {
            char flow[32], amount[32];
            snprintf(flow, sizeof flow, "%.2f", json_number_value(json_object_get(m, "flow_m3s")));
            snprintf(amount, sizeof amount, "%.0f",
                     json_number_value(json_object_get(m, "amount_yuan")));
            cr_strbuf_puts(b, "<tr>");
            cr_html_cell(b, "td", str(m, "month"));
            cr_html_cell(b, "td", str(m, "class"));
            cr_html_cell(b, "td", flow);
            cr_html_cell(b, "td", str(m, "flow_source"));
            cr_html_cell(b, "td", str(m, "computation"));
            cr_html_cell(b, "td", amount);
            cr_strbuf_puts(b, "</tr>");
        }
        cr_strbuf_printf(b, "</table><p>小计 subtotal: %.0f 元, ",
                         json_number_value(json_object_get(sec, "total_yuan")));
        cr_xml_append(b, str(sec, "payer"));
        cr_strbuf_puts(b, " → ");
        cr_xml_append(b, str(sec, "payee"));
        cr_strbuf_puts(b, "</p>");
    }
    cr_strbuf_printf(b, "<h2>合计 total: %.0f 元 (",
                     fabs(json_number_value(json_object_get(st, "total_yuan"))));
    cr_xml_append(b, str(st, "payer"));
    cr_strbuf_puts(b, " 支付给 pays ");
    cr_xml_append(b, str(st, "payee"));
    cr_strbuf_printf(b, ")</h2><h3>引用的读数 readings cited (%zu)</h3><table class=\"cites\"><tr>",
                     json_array_size(json_object_get(st, "citations")));
    const char *ch[] = {"断面", "指标", "时间", "值", "标识", "批次", "源行", "依据"};
    for (int h = 0; h < 8; h++) {
        cr_html_cell(b, "th", ch[h]);
    }
    cr_strbuf_puts(b, "</tr>");
    json_t *c;
    json_array_foreach(json_object_get(st, "citations"), i, c)
    {
        char v[32], batch[24], row[24];
        snprintf(v, sizeof v, "%s%.6g", json_is_true(json_object_get(c, "censored")) ? "<" : "",
                 json_number_value(json_object_get(c, "value")));
        snprintf(batch, sizeof batch, "%lld",
                 (long long)json_integer_value(json_object_get(c, "batch_id")));
        snprintf(row, sizeof row, "%lld",
                 (long long)json_integer_value(json_object_get(c, "source_row")));
        const char *cells[] = {str(c, "section_id"),
                               str(c, "indicator"),
                               str(c, "time"),
                               v,
                               str(c, "flag"),
                               batch,
                               row,
                               str(c, "basis")};
        cr_strbuf_puts(b, "<tr>");
        for (int h = 0; h < 8; h++) {
            cr_html_cell(b, "td", cells[h]);
        }
        cr_strbuf_puts(b, "</tr>");
    }
    cr_strbuf_puts(b, "</table>");
    cr_html_end(b);
}
