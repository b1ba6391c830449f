/* SPDX-License-Identifier: MIT */
/* Early warning: the five rules over the readings tables, alarm records keyed so a rerun
 * raises nothing twice, and the lifecycle with its history. */
#include "alarms.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

const char *const CR_WQ_ALARM_RULES[5] = {"target_missed", "class_worse", "sudden_change",
                                          "repeated", "silent"};

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS wq_alarms (alarm_id INTEGER PRIMARY KEY, key TEXT NOT NULL"
    " UNIQUE, rule TEXT NOT NULL, section_id TEXT NOT NULL, indicator TEXT, period TEXT,"
    " start_t INTEGER, peak_t INTEGER, end_t INTEGER, value REAL, baseline REAL,"
    " message TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open', raised_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS wq_alarms_section ON wq_alarms(section_id, start_t);"
    "CREATE TABLE IF NOT EXISTS wq_alarm_events (alarm_id INTEGER NOT NULL, seq INTEGER NOT"
    " NULL, state TEXT NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL, note TEXT,"
    " PRIMARY KEY (alarm_id, seq)) WITHOUT ROWID;";

cr_status cr_wq_alarm_schema(cr_store *store, cr_error *err)
{
    return cr_store_exec(store, SCHEMA, err);
}

/* ---- configuration ---------------------------------------------------------------------- */

static cr_status number(const json_t *o, const char *key, double lo, double hi, double *out,
                        cr_error *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        return CR_OK;
    }
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi) {
        return cr_error_set(err, CR_EINVAL, "alarms.%s: a number from %g to %g", key, lo, hi);
    }
    *out = json_number_value(v);
    return CR_OK;
}

cr_status cr_wq_alarm_config_load(const json_t *a, cr_wq_alarm_config *c, cr_error *err)
{
    memset(c, 0, sizeof *c);
    c->window = 42;
    c->min_window = 12;
    c->z = 6;
    c->min_sigma_rel = 0.05;
    c->min_change_rel = 0.5;
    c->merge_steps = 3;
    c->repeat_count = 3;
    c->repeat_days = 90;
    c->silent_hours = 12;
    c->lookback_hours = 24;
    static const char *WATCH[] = {"nh3n", "tp", "codmn", "do", "ph", "cond", "turb"};
    for (size_t i = 0; i < sizeof WATCH / sizeof WATCH[0]; i++) {
        snprintf(c->indicators[c->n_indicators++], sizeof c->indicators[0], "%s", WATCH[i]);
    }
    if (a == NULL) {
        return CR_OK;
    }
    if (!json_is_object(a)) {
        return cr_error_set(err, CR_EINVAL, "alarms: an object");
    }
    json_t *sudden = json_object_get(a, "sudden_change");
    double window = c->window, min_window = c->min_window, merge = c->merge_steps;
    double count = c->repeat_count;
    cr_status rc = number(sudden, "window", 5, 1000, &window, err);
    if (rc == CR_OK) {
        rc = number(sudden, "min_window", 3, 1000, &min_window, err);
    }
    if (rc == CR_OK) {
        rc = number(sudden, "z", 1, 100, &c->z, err);
    }
    if (rc == CR_OK) {
        rc = number(sudden, "min_sigma_rel", 0, 10, &c->min_sigma_rel, err);
    }
    if (rc == CR_OK) {
        rc = number(sudden, "min_change_rel", 0, 100, &c->min_change_rel, err);
    }
    if (rc == CR_OK) {
        rc = number(sudden, "merge_steps", 1, 100, &merge, err);
    }
    json_t *rep = json_object_get(a, "repeated");
    if (rc == CR_OK) {
        rc = number(rep, "count", 2, 1000, &count, err);
    }
    if (rc == CR_OK) {
        rc = number(rep, "days", 1, 3660, &c->repeat_days, err);
    }
    if (rc == CR_OK) {
        rc = number(json_object_get(a, "silent"), "hours", 1, 24 * 365, &c->silent_hours, err);
    }
    if (rc == CR_OK) {
        rc = number(json_object_get(a, "upstream"), "lookback_hours", 1, 24 * 30,
                    &c->lookback_hours, err);
    }
    json_t *ind = json_object_get(sudden, "indicators");
    if (rc == CR_OK && ind) {
        if (!json_is_array(ind) || json_array_size(ind) > 16) {
            return cr_error_set(err, CR_EINVAL,
                                "alarms.sudden_change.indicators: a list of "
                                "at most 16 indicator codes");
        }
        c->n_indicators = 0;
        size_t i;
        json_t *v;
        json_array_foreach(ind, i, v)
        {
            const char *code = json_string_value(v);
            if (code == NULL || code[0] == '\0' || strlen(code) >= sizeof c->indicators[0]) {
                return cr_error_set(err, CR_EINVAL,
                                    "alarms.sudden_change.indicators[%zu]: an indicator code "
                                    "such as \"nh3n\"",
                                    i);
            }
            snprintf(c->indicators[c->n_indicators++], sizeof c->indicators[0], "%s", code);
        }
    }
    c->window = (int)window;
    c->min_window = (int)min_window;
    c->merge_steps = (int)merge;
    c->repeat_count = (int)count;
    return rc;
}

/* ---- raising ---------------------------------------------------------------------------- */

typedef struct {
    const char *rule, *section, *indicator, *period;
    int64_t start, peak, end; /* INT64_MIN: none */
    double value, baseline;
    int has_value, has_baseline;
    const char *message;
} alarm_draft;

static cr_status raise_alarm(cr_store *store, const alarm_draft *a, cr_wq_detect_result *res,
                             cr_error *err)
{
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s|%s|%lld", a->rule, a->section,
             a->indicator ? a->indicator : "", a->period ? a->period : "",
             (long long)(a->start == INT64_MIN ? 0 : a->start));
    sqlite3_stmt *ins = cr_store_cached(
        store, "INSERT INTO wq_alarms (key, rule, section_id, indicator, period, start_t, peak_t,"
               " end_t, value, baseline, message, raised_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
               " ON CONFLICT (key) DO NOTHING");
    sqlite3_stmt *ev = cr_store_cached(
        store, "INSERT INTO wq_alarm_events VALUES (?, 1, 'open', 'crossriver', ?, ?)");
    if (ins == NULL || ev == NULL) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    char now[21];
    cr_now_iso8601(now);
    sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, a->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, a->section, -1, SQLITE_TRANSIENT);
    const char *txt[] = {a->indicator, a->period};
    for (int i = 0; i < 2; i++) {
        if (txt[i]) {
            sqlite3_bind_text(ins, 4 + i, txt[i], -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(ins, 4 + i);
        }
    }
    const int64_t times[] = {a->start, a->peak, a->end};
    for (int i = 0; i < 3; i++) {
        if (times[i] == INT64_MIN) {
            sqlite3_bind_null(ins, 6 + i);
        } else {
            sqlite3_bind_int64(ins, 6 + i, times[i]);
        }
    }
    if (a->has_value) {
        sqlite3_bind_double(ins, 9, a->value);
    } else {
        sqlite3_bind_null(ins, 9);
    }
    if (a->has_baseline) {
        sqlite3_bind_double(ins, 10, a->baseline);
    } else {
        sqlite3_bind_null(ins, 10);
    }
    sqlite3_bind_text(ins, 11, a->message, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 12, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (sqlite3_changes(cr_store_db(store)) == 0) {
        res->existing++;
        return CR_OK;
    }
    sqlite3_bind_int64(ev, 1, sqlite3_last_insert_rowid(cr_store_db(store)));
    sqlite3_bind_text(ev, 2, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ev, 3, "raised by the rule", -1, SQLITE_STATIC);
    rc = sqlite3_step(ev);
    sqlite3_reset(ev);
    if (rc != SQLITE_DONE) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    res->raised++;
    for (int i = 0; i < 5; i++) {
        if (strcmp(a->rule, CR_WQ_ALARM_RULES[i]) == 0) {
            res->by_rule[i]++;
        }
    }
    return CR_OK;
}

/* ---- monthly rules ---------------------------------------------------------------------- */

static int boundary_section(const cr_wq_section *sec)
{
    return strcmp(sec->section_kind, "cross_boundary") == 0 ||
           strcmp(sec->section_kind, "joint") == 0 || sec->boundary[0] != '\0';
}

static void deciding_text(const cr_standards *s, const cr_wq_result *r, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n_deciding && o + 1 < n; i++) {
        const cr_wq_item *it = &r->items[r->deciding[i]];
        const cr_indicator *d = &s->ind[it->ind];
        o += (size_t)snprintf(out + o, n - o, "%s%s %.4g%s%s", i ? ", " : "", d->name, it->value,
                              *d->unit ? " " : "", d->unit);
    }
}

static cr_status monthly_rules(cr_store *store, const cr_standards *s, cr_wq_detect_result *res,
                               cr_error *err)
{
    sqlite3_stmt *secs;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT DISTINCT section_id FROM wq_series ORDER BY section_id", -1,
                           &secs, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_stmt *months = cr_store_cached(
        store, "SELECT DISTINCT a.month FROM wq_monthly a JOIN wq_series r ON r.series_id ="
               " a.series_id WHERE r.section_id=? ORDER BY a.month");
    cr_status rc =
        months ? CR_OK
               : cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    while (rc == CR_OK && sqlite3_step(secs) == SQLITE_ROW) {
        char id[64];
        snprintf(id, sizeof id, "%s", sqlite3_column_text(secs, 0));
        cr_wq_section sec;
        cr_error nf = {0};
        if (cr_wq_section_get(store, id, &sec, &nf) != CR_OK) {
            continue; /* readings of a section no longer current */
        }
        int mlist[600];
        int nm = 0;
        sqlite3_bind_text(months, 1, id, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(months) == SQLITE_ROW && nm < 600) {
            mlist[nm++] = sqlite3_column_int(months, 0);
        }
        sqlite3_reset(months);
        int prev_cls = 0, prev_month = 0;
        for (int i = 0; i < nm && rc == CR_OK; i++) {
            char label[16];
            snprintf(label, sizeof label, "%04d-%02d", mlist[i] / 100, mlist[i] % 100);
            cr_period p;
            cr_wq_period_parse(label, &p, NULL);
            cr_wq_result r;
            rc = cr_wq_section_class(store, s, &sec, &p, &r, NULL, err);
            if (rc != CR_OK || r.cls == 0) {
                prev_cls = 0;
                continue;
            }
            char dec[256], msg[512];
            deciding_text(s, &r, dec, sizeof dec);
            if (r.met == 0 && boundary_section(&sec)) {
                snprintf(msg, sizeof msg, "%s %s: class %s, target %s missed (%s)", sec.name, label,
                         cr_wq_class_name(r.cls), cr_wq_class_name(r.target), dec);
                alarm_draft a = {"target_missed",
                                 id,
                                 NULL,
                                 label,
                                 p.first_day * 86400,
                                 INT64_MIN,
                                 INT64_MIN,
                                 0,
                                 0,
                                 0,
                                 0,
                                 msg};
                rc = raise_alarm(store, &a, res, err);
            }
            int consecutive = prev_month && (mlist[i] - prev_month == 1 ||
                                             (mlist[i] % 100 == 1 && prev_month % 100 == 12 &&
                                              mlist[i] / 100 == prev_month / 100 + 1));
            if (rc == CR_OK && consecutive && prev_cls > 0 && r.cls > prev_cls) {
                snprintf(msg, sizeof msg, "%s %s: class %s, worse than %s the month before (%s)",
                         sec.name, label, cr_wq_class_name(r.cls), cr_wq_class_name(prev_cls), dec);
                alarm_draft a = {"class_worse",
                                 id,
                                 NULL,
                                 label,
                                 p.first_day * 86400,
                                 INT64_MIN,
                                 INT64_MIN,
                                 0,
                                 0,
                                 0,
                                 0,
                                 msg};
                rc = raise_alarm(store, &a, res, err);
            }
            prev_cls = r.cls;
            prev_month = mlist[i];
        }
    }
    sqlite3_finalize(secs);
    return rc;
}

/* ---- sudden change in automatic series -------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *v, int n, double *tmp)
{
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

typedef struct {
    int open;
    int64_t start, peak, end;
    double peak_v, baseline;
    int last_index;
} event_state;

static cr_status close_event(cr_store *store, const cr_standards *s, const char *section,
                             const char *sname, int ind, event_state *e, cr_wq_detect_result *res,
                             cr_error *err)
{
    e->open = 0;
    const cr_indicator *d = &s->ind[ind];
    char st[20], pk[20], msg[512];
    cr_wq_time_format(e->start, st);
    cr_wq_time_format(e->peak, pk);
    snprintf(msg, sizeof msg,
             "%s: sudden change of %s from %s — %.4g%s%s at %s against a baseline of %.4g "
             "(rolling median)",
             sname, d->name, st, e->peak_v, *d->unit ? " " : "", d->unit, pk, e->baseline);
    alarm_draft a = {"sudden_change", section,   d->code,     NULL, e->start, e->peak,
                     e->end,          e->peak_v, e->baseline, 1,    1,        msg};
    return raise_alarm(store, &a, res, err);
}

static cr_status sudden_rule(cr_store *store, const cr_standards *s, const cr_wq_alarm_config *c,
                             cr_wq_detect_result *res, cr_error *err)
{
    sqlite3_stmt *ser;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT series_id, section_id, indicator FROM wq_series WHERE"
                           " method='automatic' ORDER BY section_id, indicator",
                           -1, &ser, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_stmt *pts = cr_store_cached(store, "SELECT t, value, flag FROM wq_readings WHERE"
                                               " series_id=? ORDER BY t");
    double *win = cr_xcalloc((size_t)c->window, sizeof *win);
    double *tmp = cr_xcalloc((size_t)c->window, sizeof *tmp);
    cr_status rc =
        pts ? CR_OK : cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    while (rc == CR_OK && sqlite3_step(ser) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(ser, 2);
        int watched = 0;
        for (size_t i = 0; i < c->n_indicators; i++) {
            watched |= strcmp(c->indicators[i], code) == 0;
        }
        int ind = cr_standards_find_code(s, code);
        if (!watched || ind < 0) {
            continue;
        }
        char section[64];
        snprintf(section, sizeof section, "%s", sqlite3_column_text(ser, 1));
        cr_wq_section sec;
        cr_error nf = {0};
        if (cr_wq_section_get(store, section, &sec, &nf) != CR_OK) {
            continue;
        }
        /* DO alarms when it drops, pH either way, the rest when they rise */
        int dir = strcmp(code, "do") == 0 ? -1 : strcmp(code, "ph") == 0 ? 0 : 1;
        int n = 0, head = 0, index = 0;
        event_state e = {0};
        sqlite3_bind_int64(pts, 1, sqlite3_column_int64(ser, 0));
        while (rc == CR_OK && sqlite3_step(pts) == SQLITE_ROW) {
            if (!(s->valid_flags & (1 << sqlite3_column_int(pts, 2)))) {
                continue;
            }
            int64_t t = sqlite3_column_int64(pts, 0);
            double x = sqlite3_column_double(pts, 1);
            index++;
            int anomaly = 0;
            double m = 0;
            if (n >= c->min_window) {
                m = median_of(win, n, tmp);
                for (int i = 0; i < n; i++) {
                    tmp[i] = fabs(win[i] - m);
                }
                qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
                double mad = n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
                double sigma = fmax(1.4826 * mad, c->min_sigma_rel * fabs(m));
                double dev = x - m;
                double zz = sigma > 0 ? dev / sigma : 0;
                int big = fabs(dev) >= c->min_change_rel * fabs(m);
                anomaly = big && ((dir > 0 && zz >= c->z) || (dir < 0 && zz <= -c->z) ||
                                  (dir == 0 && fabs(zz) >= c->z));
            }
            if (anomaly) {
                if (e.open && index - e.last_index > c->merge_steps) {
                    rc = close_event(store, s, section, sec.name, ind, &e, res, err);
                }
                if (!e.open) {
                    e = (event_state){1, t, t, t, x, m, index};
                }
                if ((dir >= 0 && x > e.peak_v) || (dir < 0 && x < e.peak_v)) {
                    e.peak_v = x;
                    e.peak = t;
                }
                e.end = t;
                e.last_index = index;
                continue; /* anomalies stay out of the baseline */
            }
            if (e.open && index - e.last_index > c->merge_steps) {
                rc = close_event(store, s, section, sec.name, ind, &e, res, err);
            }
            if (n < c->window) {
                win[n++] = x;
            } else {
                win[head] = x;
                head = (head + 1) % c->window;
            }
        }
        sqlite3_reset(pts);
        if (rc == CR_OK && e.open) {
            rc = close_event(store, s, section, sec.name, ind, &e, res, err);
        }
    }
    free(win);
    free(tmp);
    sqlite3_finalize(ser);
    return rc;
}

/* ---- repeated anomalies and silent stations --------------------------------------------- */

static cr_status repeated_rule(cr_store *store, const cr_wq_alarm_config *c,
                               cr_wq_detect_result *res, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT a.section_id, a.start_t, s.name FROM wq_alarms a LEFT JOIN"
                           " monitoring_sections_current s ON s.source_id = a.section_id WHERE"
                           " a.rule IN ('target_missed', 'class_worse', 'sudden_change') AND"
                           " a.state != 'false_alarm' ORDER BY a.section_id, a.start_t",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    char cur[64] = "", name[128] = "";
    int64_t times[4096];
    int n = 0;
    cr_status rc = CR_OK;
    int more = 1;
    while (rc == CR_OK && more) {
        more = sqlite3_step(st) == SQLITE_ROW;
        const char *sid = more ? (const char *)sqlite3_column_text(st, 0) : "";
        if (!more || strcmp(sid, cur) != 0) {
            /* clusters of repeat_count alarms within repeat_days */
            int64_t span = (int64_t)(c->repeat_days * 86400);
            for (int i = 0; i + c->repeat_count - 1 < n && rc == CR_OK;) {
                int j = i + c->repeat_count - 1;
                if (times[j] - times[i] <= span) {
                    int k = j;
                    while (k + 1 < n && times[k + 1] - times[i] <= span) {
                        k++;
                    }
                    char st0[20], msg[512];
                    cr_wq_time_format(times[i], st0);
                    snprintf(msg, sizeof msg,
                             "%s: %d anomalies within %g days from %.10s — a special "
                             "consultation between the jurisdictions is due",
                             name[0] ? name : cur, k - i + 1, c->repeat_days, st0);
                    char period[24];
                    snprintf(period, sizeof period, "%gd", c->repeat_days);
                    alarm_draft a = {"repeated", cur,       NULL, period, times[i], INT64_MIN,
                                     times[k],   k - i + 1, 0,    1,      0,        msg};
                    rc = raise_alarm(store, &a, res, err);
                    i = k + 1;
                } else {
                    i++;
                }
            }
            n = 0;
            snprintf(cur, sizeof cur, "%s", sid);
            snprintf(name, sizeof name, "%s",
                     more && sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2)
                                                        : "");
        }
        /* alarms of one month (target missed and class worse) are one anomaly */
        if (more && n < 4096 && (n == 0 || times[n - 1] != sqlite3_column_int64(st, 1))) {
            times[n++] = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static cr_status silent_rule(cr_store *store, const cr_wq_alarm_config *c, int64_t as_of,
                             cr_wq_detect_result *res, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    sqlite3_stmt *secs, *ts;
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT r.section_id, s.name FROM wq_series r LEFT JOIN"
                           " monitoring_sections_current s ON s.source_id = r.section_id"
                           " WHERE r.method='automatic' ORDER BY 1",
                           -1, &secs, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(db));
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT DISTINCT t FROM wq_readings WHERE series_id IN (SELECT"
                           " series_id FROM wq_series WHERE section_id=? AND"
                           " method='automatic') ORDER BY t",
                           -1, &ts, NULL) != SQLITE_OK) {
        sqlite3_finalize(secs);
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(db));
    }
    if (as_of == 0) {
        sqlite3_stmt *mx;
        if (sqlite3_prepare_v2(db, "SELECT MAX(t) FROM wq_latest", -1, &mx, NULL) == SQLITE_OK &&
            sqlite3_step(mx) == SQLITE_ROW) {
            as_of = sqlite3_column_int64(mx, 0);
        }
        sqlite3_finalize(mx);
    }
    int64_t gap = (int64_t)(c->silent_hours * 3600);
    cr_status rc = CR_OK;
    while (rc == CR_OK && sqlite3_step(secs) == SQLITE_ROW) {
        char id[64], name[128];
        snprintf(id, sizeof id, "%s", sqlite3_column_text(secs, 0));
        snprintf(name, sizeof name, "%s",
                 sqlite3_column_text(secs, 1) ? (const char *)sqlite3_column_text(secs, 1) : id);
        sqlite3_bind_text(ts, 1, id, -1, SQLITE_TRANSIENT);
        int64_t prev = INT64_MIN;
        int more = 1;
        while (rc == CR_OK && more) {
            more = sqlite3_step(ts) == SQLITE_ROW;
            int64_t t = more ? sqlite3_column_int64(ts, 0) : as_of;
            if (prev != INT64_MIN && t - prev > gap) {
                char a0[20], a1[20], msg[512];
                cr_wq_time_format(prev, a0);
                cr_wq_time_format(t, a1);
                snprintf(msg, sizeof msg, "%s: automatic station silent from %s %s %s (%.0f h)",
                         name, a0, more ? "to" : "until at least", a1, (t - prev) / 3600.0);
                alarm_draft a = {"silent",
                                 id,
                                 NULL,
                                 NULL,
                                 prev,
                                 INT64_MIN,
                                 more ? t : INT64_MIN,
                                 (t - prev) / 3600.0,
                                 0,
                                 1,
                                 0,
                                 msg};
                rc = raise_alarm(store, &a, res, err);
            }
            prev = more ? t : prev;
        }
        sqlite3_reset(ts);
    }
    sqlite3_finalize(ts);
    sqlite3_finalize(secs);
    return rc;
}

cr_status cr_wq_detect(cr_store *store, const cr_standards *s, const cr_wq_alarm_config *cfg,
                       int64_t as_of, cr_wq_detect_result *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cr_wq_has_tables(store)) {
        return CR_OK;
    }
    cr_status rc = cr_wq_alarm_schema(store, err);
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "BEGIN IMMEDIATE", err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    rc = monthly_rules(store, s, out, err);
    if (rc == CR_OK) {
        rc = sudden_rule(store, s, cfg, out, err);
    }
    if (rc == CR_OK) {
        rc = silent_rule(store, cfg, as_of, out, err);
    }
    if (rc == CR_OK) {
        rc = repeated_rule(store, cfg, out, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    }
    if (rc != CR_OK) {
        cr_store_exec(store, "ROLLBACK", NULL);
    }
    return rc;
}

/* ---- listing and the lifecycle ---------------------------------------------------------- */

static json_t *time_or_null(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return json_null();
    }
    char t[20];
    cr_wq_time_format(sqlite3_column_int64(st, col), t);
    return json_string(t);
}

static json_t *number_or_null(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
                                                       : json_real(sqlite3_column_double(st, col));
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    return v ? json_string((const char *)v) : json_null();
}

static json_t *history_of(cr_store *store, int64_t id)
{
    json_t *h = json_array();
    sqlite3_stmt *st = cr_store_cached(store, "SELECT state, who, at, note FROM wq_alarm_events"
                                              " WHERE alarm_id=? ORDER BY seq");
    if (st == NULL) {
        return h;
    }
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *e = json_object();
        json_object_set_new(e, "state", text_or_null(st, 0));
        json_object_set_new(e, "who", text_or_null(st, 1));
        json_object_set_new(e, "at", text_or_null(st, 2));
        json_object_set_new(e, "note", text_or_null(st, 3));
        json_array_append_new(h, e);
    }
    sqlite3_reset(st);
    return h;
}

#define ALARM_COLUMNS                                                                              \
    "SELECT a.alarm_id, a.rule, a.section_id, s.name, a.indicator, a.period, a.start_t,"           \
    " a.peak_t, a.end_t, a.value, a.baseline, a.message, a.state FROM wq_alarms a LEFT JOIN"       \
    " monitoring_sections_current s ON s.source_id = a.section_id"

static json_t *alarm_row(cr_store *store, sqlite3_stmt *st)
{
    json_t *o = json_object();
    int64_t id = sqlite3_column_int64(st, 0);
    json_object_set_new(o, "alarm_id", json_integer(id));
    json_object_set_new(o, "rule", text_or_null(st, 1));
    json_object_set_new(o, "section_id", text_or_null(st, 2));
    json_object_set_new(o, "section_name", text_or_null(st, 3));
    json_object_set_new(o, "indicator", text_or_null(st, 4));
    json_object_set_new(o, "period", text_or_null(st, 5));
    json_object_set_new(o, "start", time_or_null(st, 6));
    json_object_set_new(o, "peak", time_or_null(st, 7));
    json_object_set_new(o, "end", time_or_null(st, 8));
    json_object_set_new(o, "value", number_or_null(st, 9));
    json_object_set_new(o, "baseline", number_or_null(st, 10));
    json_object_set_new(o, "message", text_or_null(st, 11));
    json_object_set_new(o, "state", text_or_null(st, 12));
    json_object_set_new(o, "history", history_of(store, id));
    return o;
}

static int has_alarm_table(cr_store *store)
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='wq_alarms'");
    int found = st && sqlite3_step(st) == SQLITE_ROW;
    if (st) {
        sqlite3_reset(st);
    }
    return found;
}

cr_status cr_wq_alarms_list(cr_store *store, const char *state, const char *section, json_t **out,
                            cr_error *err)
{
    *out = json_array();
    if (!has_alarm_table(store)) {
        return CR_OK;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           ALARM_COLUMNS " WHERE (?1 IS NULL OR a.state = ?1 OR (?1 = 'open' AND"
                                         " a.state IN ('reviewed', 'confirmed'))) AND (?2 IS"
                                         " NULL OR a.section_id = ?2) ORDER BY a.start_t DESC,"
                                         " a.alarm_id DESC",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (state) {
        sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
    }
    if (section) {
        sqlite3_bind_text(st, 2, section, -1, SQLITE_TRANSIENT);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(*out, alarm_row(store, st));
    }
    sqlite3_finalize(st);
    return CR_OK;
}

cr_status cr_wq_alarm_get(cr_store *store, int64_t alarm_id, json_t **out, cr_error *err)
{
    *out = NULL;
    sqlite3_stmt *st;
    if (!has_alarm_table(store)) {
        return cr_error_set(err, CR_ENOTFOUND, "no alarm %lld", (long long)alarm_id);
    }
    if (sqlite3_prepare_v2(cr_store_db(store), ALARM_COLUMNS " WHERE a.alarm_id=?", -1, &st,
                           NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_int64(st, 1, alarm_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = alarm_row(store, st);
    }
    sqlite3_finalize(st);
    return *out ? CR_OK : cr_error_set(err, CR_ENOTFOUND, "no alarm %lld", (long long)alarm_id);
}

cr_status cr_wq_alarm_step(cr_store *store, int64_t alarm_id, const char *to, const char *who,
                           const char *note, cr_error *err)
{
    static const struct {
        const char *to, *from;
    } STEPS[] = {{"reviewed", "open"},     {"confirmed", "open"},       {"confirmed", "reviewed"},
                 {"false_alarm", "open"},  {"false_alarm", "reviewed"}, {"closed", "confirmed"},
                 {"closed", "false_alarm"}};
    json_t *a = NULL;
    cr_status rc = cr_wq_alarm_get(store, alarm_id, &a, err);
    if (rc != CR_OK) {
        return rc;
    }
    const char *from = json_string_value(json_object_get(a, "state"));
    int ok = 0;
    cr_strbuf allowed = {0};
    for (size_t i = 0; i < sizeof STEPS / sizeof STEPS[0]; i++) {
        if (strcmp(STEPS[i].from, from) == 0) {
            cr_strbuf_printf(&allowed, "%s%s", allowed.len ? ", " : "", STEPS[i].to);
            ok |= strcmp(STEPS[i].to, to) == 0;
        }
    }
    if (!ok) {
        rc = cr_error_set(err, CR_EINVAL, "alarm %lld is %s: it can go to %s, not to '%s'",
                          (long long)alarm_id, from, allowed.len ? allowed.data : "nothing", to);
    }
    cr_strbuf_cleanup(&allowed);
    json_decref(a);
    if (rc != CR_OK) {
        return rc;
    }
    if (who == NULL || *who == '\0') {
        return cr_error_set(err, CR_EINVAL, "who moves the alarm must be named");
    }
    char now[21];
    cr_now_iso8601(now);
    rc = cr_store_exec(store, "BEGIN IMMEDIATE", err);
    sqlite3_stmt *up = cr_store_cached(store, "UPDATE wq_alarms SET state=? WHERE alarm_id=?");
    sqlite3_stmt *ev = cr_store_cached(
        store, "INSERT INTO wq_alarm_events SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5"
               " FROM wq_alarm_events WHERE alarm_id=?1");
    if (rc == CR_OK && (!up || !ev)) {
        rc = cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (rc == CR_OK) {
        sqlite3_bind_text(up, 1, to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(up, 2, alarm_id);
        sqlite3_bind_int64(ev, 1, alarm_id);
        sqlite3_bind_text(ev, 2, to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ev, 3, who, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ev, 4, now, -1, SQLITE_TRANSIENT);
        if (note) {
            sqlite3_bind_text(ev, 5, note, -1, SQLITE_TRANSIENT);
        }
        if (sqlite3_step(up) != SQLITE_DONE || sqlite3_step(ev) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "alarms: %s", sqlite3_errmsg(cr_store_db(store)));
        }
        sqlite3_reset(up);
        sqlite3_reset(ev);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    }
    if (rc != CR_OK) {
        cr_store_exec(store, "ROLLBACK", NULL);
    }
    return rc;
}
