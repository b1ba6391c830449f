/* SPDX-License-Identifier: MIT */
/* The readings tables: one row per value, clustered by series then time (WITHOUT ROWID), the
 * versions a correction replaced, day and month aggregates rebuilt per batch for the series it
 * touched, and the latest valid value per series. Periods and times are CST. */
#include "quality.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS wq_series (series_id INTEGER PRIMARY KEY,"
    " section_id TEXT NOT NULL, indicator TEXT NOT NULL, party TEXT NOT NULL,"
    " method TEXT NOT NULL, UNIQUE (section_id, indicator, party, method));"
    "CREATE TABLE IF NOT EXISTS wq_readings (series_id INTEGER NOT NULL, t INTEGER NOT NULL,"
    " value REAL NOT NULL, censored INTEGER NOT NULL, flag INTEGER NOT NULL, raw TEXT,"
    " batch_id INTEGER NOT NULL, source_row INTEGER NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY (series_id, t)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS wq_readings_old (series_id INTEGER NOT NULL,"
    " t INTEGER NOT NULL, version INTEGER NOT NULL, value REAL NOT NULL,"
    " censored INTEGER NOT NULL, flag INTEGER NOT NULL, raw TEXT, batch_id INTEGER NOT NULL,"
    " source_row INTEGER NOT NULL, closed_by_batch INTEGER NOT NULL,"
    " PRIMARY KEY (series_id, t, version)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS wq_daily (series_id INTEGER NOT NULL, day INTEGER NOT NULL,"
    " n INTEGER NOT NULL, n_valid INTEGER NOT NULL, n_censored INTEGER NOT NULL, sum REAL,"
    " min REAL, max REAL, PRIMARY KEY (series_id, day)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS wq_monthly (series_id INTEGER NOT NULL, month INTEGER NOT NULL,"
    " n INTEGER NOT NULL, n_valid INTEGER NOT NULL, n_censored INTEGER NOT NULL, sum REAL,"
    " min REAL, max REAL, PRIMARY KEY (series_id, month)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS wq_latest (series_id INTEGER PRIMARY KEY, t INTEGER NOT NULL,"
    " value REAL NOT NULL, censored INTEGER NOT NULL);";

cr_status cr_wq_schema(cr_store *store, cr_error *err)
{
    return cr_store_exec(store, SCHEMA, err);
}

int cr_wq_has_tables(cr_store *store)
{
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='wq_readings'");
    int found = st && sqlite3_step(st) == SQLITE_ROW;
    if (st) {
        sqlite3_reset(st);
    }
    return found;
}

/* ---- times and periods ------------------------------------------------------------------ */

/* Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int64_t cr_wq_time_from_fields(int y, int mo, int d, int h, int mi, int s)
{
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

int64_t cr_wq_day_of(int64_t t)
{
    return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

int cr_wq_month_of_day(int64_t day)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    return y * 100 + m;
}

void cr_wq_day_format(int64_t day, char out[11])
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

void cr_wq_time_format(int64_t t, char out[20])
{
    int64_t day = cr_wq_day_of(t);
    int64_t s = t - day * 86400;
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, 20, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, (int)(s / 3600), (int)(s / 60 % 60),
             (int)(s % 60));
}

static int month_days(int y, int m)
{
    return (int)(days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) -
                 days_from_civil(y, m, 1));
}

cr_status cr_wq_period_parse(const char *text, cr_period *out, cr_error *err)
{
    memset(out, 0, sizeof *out);
    int y = 0, m = 0, d = 0;
    char tail = 0;
    int n = text ? sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) : 0;
    int hh = 0, mi = 0, ss = 0;
    if (n == 4 && (tail == 'T' || tail == ' ') && m >= 1 && m <= 12 && d >= 1 &&
        d <= month_days(y, m) && sscanf(text + 11, "%2d:%2d:%2d", &hh, &mi, &ss) >= 2 && hh < 24 &&
        mi < 60 && ss < 60) {
        out->kind = CR_PERIOD_SAMPLE;
        out->t = cr_wq_time_from_fields(y, m, d, hh, mi, ss);
        out->first_day = out->last_day = days_from_civil(y, m, d);
        char when[20];
        cr_wq_time_format(out->t, when);
        snprintf(out->label, sizeof out->label, "%.16s", when);
        return CR_OK;
    }
    if (n == 1 && strlen(text) == 4) {
        out->kind = CR_PERIOD_YEAR;
        out->first_day = days_from_civil(y, 1, 1);
        out->last_day = days_from_civil(y, 12, 31);
        snprintf(out->label, sizeof out->label, "%04d", y);
    } else if (n == 2 && m >= 1 && m <= 12 && strlen(text) == 7) {
        out->kind = CR_PERIOD_MONTH;
        out->first_day = days_from_civil(y, m, 1);
        out->last_day = out->first_day + month_days(y, m) - 1;
        snprintf(out->label, sizeof out->label, "%04d-%02d", y, m);
    } else if (n == 3 && m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m)) {
        out->kind = CR_PERIOD_DAY;
        out->first_day = out->last_day = days_from_civil(y, m, d);
        snprintf(out->label, sizeof out->label, "%04d-%02d-%02d", y, m, d);
    } else {
        return cr_error_set(err, CR_EINVAL,
                            "period '%s': give a year (2025), a month (2025-07), a day "
                            "(2025-07-14) or a sampling time (2025-07-14T08:00)",
                            text ? text : "");
    }
    if (y < 1900 || y > 2200) {
        return cr_error_set(err, CR_EINVAL, "period '%s': year out of range", text);
    }
    return CR_OK;
}

void cr_wq_period_previous(const cr_period *p, cr_period *out)
{
    int y, m, d;
    civil_from_days(p->first_day, &y, &m, &d);
    char label[16];
    if (p->kind == CR_PERIOD_YEAR) {
        snprintf(label, sizeof label, "%04d", y - 1);
    } else if (p->kind == CR_PERIOD_MONTH) {
        snprintf(label, sizeof label, "%04d-%02d", m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1);
    } else if (p->kind == CR_PERIOD_DAY) {
        cr_wq_day_format(p->first_day - 1, label);
    } else {
        *out = *p; /* a sample has no period before it */
        return;
    }
    cr_wq_period_parse(label, out, NULL);
}

/* ---- aggregates ------------------------------------------------------------------------- */

typedef struct {
    int64_t key;
    int64_t n, n_valid, n_censored;
    double sum, min, max;
} agg;

static void agg_add(agg *a, const cr_standards *s, double v, int censored, int flag)
{
    a->n++;
    if (!(s->valid_flags & (1 << flag))) {
        return;
    }
    double x = censored ? v * s->censored_factor : v;
    if (a->n_valid == 0 || x < a->min) {
        a->min = x;
    }
    if (a->n_valid == 0 || x > a->max) {
        a->max = x;
    }
    a->n_valid++;
    a->n_censored += censored;
    a->sum += x;
}

static cr_status agg_write(cr_store *store, sqlite3_stmt *ins, int64_t series, const agg *a,
                           cr_error *err)
{
    if (a->n == 0) {
        return CR_OK;
    }
    sqlite3_bind_int64(ins, 1, series);
    sqlite3_bind_int64(ins, 2, a->key);
    sqlite3_bind_int64(ins, 3, a->n);
    sqlite3_bind_int64(ins, 4, a->n_valid);
    sqlite3_bind_int64(ins, 5, a->n_censored);
    if (a->n_valid > 0) {
        sqlite3_bind_double(ins, 6, a->sum);
        sqlite3_bind_double(ins, 7, a->min);
        sqlite3_bind_double(ins, 8, a->max);
    } else {
        for (int i = 6; i <= 8; i++) {
            sqlite3_bind_null(ins, i);
        }
    }
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE
               ? CR_OK
               : cr_error_set(err, CR_EDB, "aggregates: %s", sqlite3_errmsg(cr_store_db(store)));
}

static cr_status exec_range(cr_store *store, const char *sql, int64_t series, int64_t a, int64_t b,
                            cr_error *err)
{
    sqlite3_stmt *st = cr_store_cached(store, sql);
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_int64(st, 1, series);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CR_OK
                             : cr_error_set(err, CR_EDB, "%s", sqlite3_errmsg(cr_store_db(store)));
}

cr_status cr_wq_rebuild_series(cr_store *store, const cr_standards *s, int64_t series_id,
                               int64_t first_day, int64_t last_day, cr_error *err)
{
    /* months are rebuilt whole: widen to the months' bounds */
    int y, m, d;
    civil_from_days(first_day, &y, &m, &d);
    first_day = days_from_civil(y, m, 1);
    civil_from_days(last_day, &y, &m, &d);
    last_day = days_from_civil(y, m, month_days(y, m));
    int m0 = cr_wq_month_of_day(first_day), m1 = cr_wq_month_of_day(last_day);
    cr_status rc =
        exec_range(store, "DELETE FROM wq_daily WHERE series_id=? AND day BETWEEN ? AND ?",
                   series_id, first_day, last_day, err);
    if (rc == CR_OK) {
        rc = exec_range(store, "DELETE FROM wq_monthly WHERE series_id=? AND month BETWEEN ? AND ?",
                        series_id, m0, m1, err);
    }
    sqlite3_stmt *sel = cr_store_cached(store, "SELECT t, value, censored, flag FROM wq_readings"
                                               " WHERE series_id=? AND t BETWEEN ? AND ?");
    sqlite3_stmt *ins_d = cr_store_cached(store, "INSERT INTO wq_daily VALUES (?,?,?,?,?,?,?,?)");
    sqlite3_stmt *ins_m = cr_store_cached(store, "INSERT INTO wq_monthly VALUES (?,?,?,?,?,?,?,?)");
    if (rc == CR_OK && (!sel || !ins_d || !ins_m)) {
        rc = cr_error_set(err, CR_EDB, "aggregates: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (rc != CR_OK) {
        return rc;
    }
    sqlite3_bind_int64(sel, 1, series_id);
    sqlite3_bind_int64(sel, 2, first_day * 86400);
    sqlite3_bind_int64(sel, 3, last_day * 86400 + 86399);
    agg day = {.key = INT64_MIN}, mon = {.key = INT64_MIN};
    while (rc == CR_OK && sqlite3_step(sel) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(sel, 0);
        int64_t dk = cr_wq_day_of(t);
        if (dk != day.key) {
            rc = agg_write(store, ins_d, series_id, &day, err);
            day = (agg){.key = dk};
            int mk = cr_wq_month_of_day(dk);
            if (mk != mon.key && rc == CR_OK) {
                rc = agg_write(store, ins_m, series_id, &mon, err);
                mon = (agg){.key = mk};
            }
        }
        double v = sqlite3_column_double(sel, 1);
        int c = sqlite3_column_int(sel, 2), f = sqlite3_column_int(sel, 3);
        agg_add(&day, s, v, c, f);
        agg_add(&mon, s, v, c, f);
    }
    sqlite3_reset(sel);
    if (rc == CR_OK) {
        rc = agg_write(store, ins_d, series_id, &day, err);
    }
    if (rc == CR_OK) {
        rc = agg_write(store, ins_m, series_id, &mon, err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    /* the latest valid value of the whole series */
    sqlite3_stmt *lat = cr_store_cached(store, "SELECT t, value, censored, flag FROM wq_readings"
                                               " WHERE series_id=? ORDER BY t DESC");
    sqlite3_stmt *put = cr_store_cached(store, "INSERT OR REPLACE INTO wq_latest VALUES (?,?,?,?)");
    if (!lat || !put) {
        return cr_error_set(err, CR_EDB, "latest: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_int64(lat, 1, series_id);
    while (sqlite3_step(lat) == SQLITE_ROW) {
        if (s->valid_flags & (1 << sqlite3_column_int(lat, 3))) {
            sqlite3_bind_int64(put, 1, series_id);
            sqlite3_bind_int64(put, 2, sqlite3_column_int64(lat, 0));
            sqlite3_bind_double(put, 3, sqlite3_column_double(lat, 1));
            sqlite3_bind_int(put, 4, sqlite3_column_int(lat, 2));
            int step = sqlite3_step(put);
            sqlite3_reset(put);
            if (step != SQLITE_DONE) {
                rc = cr_error_set(err, CR_EDB, "latest: %s", sqlite3_errmsg(cr_store_db(store)));
            }
            break;
        }
    }
    sqlite3_reset(lat);
    return rc;
}

/* ---- streamed aggregates ---------------------------------------------------------------- */

typedef struct {
    int state;      /* 0 unseen, 1 streaming, 2 dropped (out of order) */
    int64_t last_t; /* the last value's time */
    agg day, mon;   /* the open day and month */
    int has_latest; /* a valid value seen */
    int64_t lat_t;  /* the latest valid value */
    double lat_v;
    int lat_c;
} stream_series;

struct cr_wq_stream {
    cr_store *store;
    const cr_standards *s;
    int64_t first;
    stream_series *v;
    size_t cap;
};

cr_wq_stream *cr_wq_stream_new(cr_store *store, const cr_standards *s, int64_t first_new)
{
    cr_wq_stream *w = cr_xcalloc(1, sizeof *w);
    w->store = store;
    w->s = s;
    w->first = first_new;
    return w;
}

static cr_status stream_write(cr_wq_stream *w, int64_t series, stream_series *x, int day, int mon,
                              cr_error *err)
{
    cr_status rc = CR_OK;
    if (day) {
        sqlite3_stmt *ins = cr_store_cached(w->store, "INSERT INTO wq_daily VALUES"
                                                      " (?,?,?,?,?,?,?,?)");
        rc = ins ? agg_write(w->store, ins, series, &x->day, err)
                 : cr_error_set(err, CR_EDB, "aggregates: %s",
                                sqlite3_errmsg(cr_store_db(w->store)));
    }
    if (mon && rc == CR_OK) {
        sqlite3_stmt *ins = cr_store_cached(w->store, "INSERT INTO wq_monthly VALUES"
                                                      " (?,?,?,?,?,?,?,?)");
        rc = ins ? agg_write(w->store, ins, series, &x->mon, err)
                 : cr_error_set(err, CR_EDB, "aggregates: %s",
                                sqlite3_errmsg(cr_store_db(w->store)));
    }
    return rc;
}

cr_status cr_wq_stream_add(cr_wq_stream *w, int64_t series, int64_t t, double value, int censored,
                           int flag, cr_error *err)
{
    if (series < w->first) {
        return CR_OK;
    }
    size_t i = (size_t)(series - w->first);
    if (i >= w->cap) {
        size_t n = w->cap ? w->cap : 1024;
        while (n <= i) {
            n *= 2;
        }
        w->v = cr_xrealloc(w->v, n * sizeof *w->v);
        memset(w->v + w->cap, 0, (n - w->cap) * sizeof *w->v);
        w->cap = n;
    }
    stream_series *x = &w->v[i];
    if (x->state == 2) {
        return CR_OK;
    }
    if (x->state == 1 && t <= x->last_t) {
        x->state = 2; /* out of order: rebuilt at the end */
        return CR_OK;
    }
    int64_t dk = cr_wq_day_of(t);
    int mk = cr_wq_month_of_day(dk);
    cr_status rc = CR_OK;
    if (x->state == 0) {
        x->state = 1;
        x->day = (agg){.key = dk};
        x->mon = (agg){.key = mk};
    } else if (dk != x->day.key) {
        int month_done = mk != x->mon.key;
        rc = stream_write(w, series, x, 1, month_done, err);
        x->day = (agg){.key = dk};
        if (month_done) {
            x->mon = (agg){.key = mk};
        }
    }
    x->last_t = t;
    agg_add(&x->day, w->s, value, censored, flag);
    agg_add(&x->mon, w->s, value, censored, flag);
    if (w->s->valid_flags & (1 << flag)) {
        x->has_latest = 1;
        x->lat_t = t;
        x->lat_v = value;
        x->lat_c = censored;
    }
    return rc;
}

cr_status cr_wq_stream_finish(cr_wq_stream *w, cr_error *err)
{
    cr_status rc = CR_OK;
    sqlite3_stmt *put =
        cr_store_cached(w->store, "INSERT OR REPLACE INTO wq_latest VALUES (?,?,?,?)");
    if (put == NULL) {
        return cr_error_set(err, CR_EDB, "latest: %s", sqlite3_errmsg(cr_store_db(w->store)));
    }
    for (size_t i = 0; i < w->cap && rc == CR_OK; i++) {
        stream_series *x = &w->v[i];
        if (x->state != 1) {
            continue;
        }
        int64_t series = w->first + (int64_t)i;
        rc = stream_write(w, series, x, 1, 1, err);
        if (rc == CR_OK && x->has_latest) {
            sqlite3_bind_int64(put, 1, series);
            sqlite3_bind_int64(put, 2, x->lat_t);
            sqlite3_bind_double(put, 3, x->lat_v);
            sqlite3_bind_int(put, 4, x->lat_c);
            int step = sqlite3_step(put);
            sqlite3_reset(put);
            if (step != SQLITE_DONE) {
                rc = cr_error_set(err, CR_EDB, "latest: %s", sqlite3_errmsg(cr_store_db(w->store)));
            }
        }
    }
    return rc;
}

int cr_wq_stream_covers(const cr_wq_stream *w, int64_t series)
{
    return series >= w->first && (size_t)(series - w->first) < w->cap &&
           w->v[series - w->first].state == 1;
}

void cr_wq_stream_free(cr_wq_stream *w)
{
    if (w) {
        free(w->v);
        free(w);
    }
}

/* ---- sections and their classes --------------------------------------------------------- */

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(out, n, "%s", v ? (const char *)v : "");
}

static void section_from_row(sqlite3_stmt *st, cr_wq_section *out)
{
    memset(out, 0, sizeof *out);
    copy_col(st, 0, out->section_id, sizeof out->section_id);
    copy_col(st, 1, out->name, sizeof out->name);
    copy_col(st, 2, out->section_kind, sizeof out->section_kind);
    copy_col(st, 3, out->boundary, sizeof out->boundary);
    out->target = cr_wq_class_parse((const char *)sqlite3_column_text(st, 4));
    copy_col(st, 5, out->reach_id, sizeof out->reach_id);
    copy_col(st, 6, out->lake_id, sizeof out->lake_id);
    const char *wb = (const char *)sqlite3_column_text(st, 7);
    out->lake = wb && *wb ? strcmp(wb, "lake") == 0 : out->lake_id[0] != '\0';
}

#define SECTION_COLUMNS                                                                            \
    "SELECT source_id, name, section_kind, boundary, target_class, reach_id, lake_id,"             \
    " water_body FROM monitoring_sections_current"

cr_status cr_wq_section_get(cr_store *store, const char *section_id, cr_wq_section *out,
                            cr_error *err)
{
    sqlite3_stmt *st = cr_store_cached(store, SECTION_COLUMNS " WHERE source_id=?");
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "sections: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_text(st, 1, section_id, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        section_from_row(st, out);
    }
    sqlite3_reset(st);
    return found
               ? CR_OK
               : cr_error_set(err, CR_ENOTFOUND, "no current monitoring section '%s'", section_id);
}

/* One sampling time's values per indicator (parties averaged), as the aggregates count them. */
static cr_status sample_items(cr_store *store, const cr_standards *s, const char *section_id,
                              int64_t t, cr_wq_item *items, size_t *n_items, int64_t *n_samples,
                              cr_error *err)
{
    sqlite3_stmt *st = cr_store_cached(store, "SELECT r.indicator, a.value, a.censored, a.flag"
                                              " FROM wq_series r JOIN wq_readings a ON"
                                              " a.series_id = r.series_id WHERE r.section_id=?"
                                              " AND a.t=? ORDER BY r.indicator");
    /* one sample: whatever was measured then, emergency samples too */
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    sqlite3_bind_text(st, 1, section_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, t);
    agg a[CR_WQ_MAX_ITEMS];
    int ind_of[CR_WQ_MAX_ITEMS];
    size_t n = 0;
    *n_samples = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(st, 0));
        *n_samples = 1;
        if (ind < 0) {
            continue;
        }
        size_t k = 0;
        while (k < n && ind_of[k] != ind) {
            k++;
        }
        if (k == CR_WQ_MAX_ITEMS) {
            continue;
        }
        if (k == n) {
            a[n] = (agg){0};
            ind_of[n++] = ind;
        }
        agg_add(&a[k], s, sqlite3_column_double(st, 1), sqlite3_column_int(st, 2),
                sqlite3_column_int(st, 3));
    }
    sqlite3_reset(st);
    *n_items = 0;
    for (size_t k = 0; k < n; k++) {
        if (a[k].n_valid > 0) {
            items[(*n_items)++] = (cr_wq_item){.ind = ind_of[k],
                                               .value = a[k].sum / (double)a[k].n_valid,
                                               .censored = a[k].n_censored == a[k].n_valid,
                                               .n = (int)a[k].n_valid};
        }
    }
    return CR_OK;
}

/* Sum the aggregates of a section's series per indicator over a period into items. */
static cr_status period_items(cr_store *store, const cr_standards *s, const char *section_id,
                              const cr_period *p, cr_wq_item *items, size_t *n_items,
                              int64_t *n_samples, cr_error *err)
{
    if (p->kind == CR_PERIOD_SAMPLE) {
        return sample_items(store, s, section_id, p->t, items, n_items, n_samples, err);
    }
    const char *sql =
        p->kind == CR_PERIOD_DAY
            ? "SELECT r.indicator, r.method = 'manual', SUM(a.n), SUM(a.n_valid),"
              " SUM(a.n_censored), SUM(a.sum) FROM wq_series r JOIN wq_daily a"
              " ON a.series_id = r.series_id WHERE r.section_id=?1 AND a.day BETWEEN ?2 AND ?3"
              " AND r.method != 'emergency' GROUP BY r.indicator, r.method = 'manual'"
            : "SELECT r.indicator, r.method = 'manual', SUM(a.n), SUM(a.n_valid),"
              " SUM(a.n_censored), SUM(a.sum) FROM wq_series r JOIN wq_monthly a"
              " ON a.series_id = r.series_id WHERE r.section_id=?1 AND a.month BETWEEN ?2 AND ?3"
              " AND r.method != 'emergency' GROUP BY r.indicator, r.method = 'manual'";
    sqlite3_stmt *st = cr_store_cached(store, sql);
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    int64_t a = p->first_day, b = p->last_day;
    if (p->kind != CR_PERIOD_DAY) {
        a = cr_wq_month_of_day(a);
        b = cr_wq_month_of_day(b);
    }
    sqlite3_bind_text(st, 1, section_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    int need = s->min_samples[p->kind];
    *n_items = 0;
    *n_samples = 0;
    int manual_of[CR_WQ_MAX_ITEMS] = {0};
    while (sqlite3_step(st) == SQLITE_ROW) {
        int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(st, 0));
        int manual = sqlite3_column_int(st, 1);
        int64_t n = sqlite3_column_int64(st, 2), nv = sqlite3_column_int64(st, 3);
        int64_t nc = sqlite3_column_int64(st, 4);
        if (n > *n_samples) {
            *n_samples = n;
        }
        if (ind < 0 || nv < need || nv == 0) {
            continue;
        }
        /* the manual results are the assessment basis where the period has them; an
         * automatic station's values stand in where it has none */
        size_t k = 0;
        while (k < *n_items && items[k].ind != ind) {
            k++;
        }
        if (k < *n_items && manual_of[k] && !manual) {
            continue;
        }
        if (k == CR_WQ_MAX_ITEMS) {
            continue;
        }
        items[k] = (cr_wq_item){.ind = ind,
                                .value = sqlite3_column_double(st, 5) / (double)nv,
                                .censored = nc == nv,
                                .n = (int)nv};
        manual_of[k] = manual;
        *n_items += k == *n_items;
    }
    sqlite3_reset(st);
    return CR_OK;
}

static int by_indicator(const void *a, const void *b)
{
    const cr_wq_item *x = a, *y = b;
    return (x->ind > y->ind) - (x->ind < y->ind);
}

cr_status cr_wq_section_class(cr_store *store, const cr_standards *s, const cr_wq_section *sec,
                              const cr_period *p, cr_wq_result *out, int64_t *n_samples_out,
                              cr_error *err)
{
    cr_wq_item items[CR_WQ_MAX_ITEMS];
    size_t n = 0;
    int64_t samples = 0;
    cr_status rc = period_items(store, s, sec->section_id, p, items, &n, &samples, err);
    if (rc != CR_OK) {
        return rc;
    }
    qsort(items, n, sizeof items[0], by_indicator);
    cr_wq_classify(s, items, n, sec->lake, sec->target, out);
    if (n_samples_out) {
        *n_samples_out = samples;
    }
    return CR_OK;
}

static json_t *number_or_null(double v, int has)
{
    return has ? json_real(v) : json_null();
}

json_t *cr_wq_result_json(const cr_standards *s, const cr_wq_section *sec, const cr_period *p,
                          const cr_wq_result *r, int64_t n_samples)
{
    json_t *o = json_object();
    json_object_set_new(o, "section_id", json_string(sec->section_id));
    json_object_set_new(o, "name", json_string(sec->name));
    json_object_set_new(o, "section_kind", json_string(sec->section_kind));
    if (p) {
        json_object_set_new(o, "period", json_string(p->label));
    }
    json_object_set_new(o, "water_body", json_string(r->lake ? "lake" : "river"));
    json_object_set_new(o, "class", r->cls ? json_string(cr_wq_class_name(r->cls)) : json_null());
    json_object_set_new(o, "target",
                        r->target ? json_string(cr_wq_class_name(r->target)) : json_null());
    json_object_set_new(o, "met", r->met < 0 ? json_null() : json_boolean(r->met));
    json_object_set_new(o, "samples", json_integer(n_samples));
    json_t *items = json_array();
    for (size_t i = 0; i < r->n_items; i++) {
        const cr_wq_item *it = &r->items[i];
        const cr_indicator *d = &s->ind[it->ind];
        json_t *x = json_object();
        json_object_set_new(x, "code", json_string(d->code));
        json_object_set_new(x, "name", json_string(d->name));
        json_object_set_new(x, "unit", json_string(d->unit));
        json_object_set_new(x, "value", json_real(it->value));
        json_object_set_new(x, "censored", json_boolean(it->censored));
        json_object_set_new(x, "n", json_integer(it->n));
        json_object_set_new(x, "class",
                            it->cls ? json_string(cr_wq_class_name(it->cls)) : json_null());
        json_object_set_new(x, "limit_target",
                            number_or_null(it->limit_target, it->cls && r->target));
        json_object_set_new(x, "limit_kind",
                            json_string(d->limit_kind == CR_LIMIT_MAX     ? "max"
                                        : d->limit_kind == CR_LIMIT_MIN   ? "min"
                                        : d->limit_kind == CR_LIMIT_RANGE ? "range"
                                                                          : "none"));
        if (d->limit_kind == CR_LIMIT_RANGE && it->cls && r->target) {
            json_object_set_new(x, "limit_target_high", json_real(d->range_hi[r->target - 1]));
        }
        json_object_set_new(x, "multiple_target",
                            number_or_null(it->multiple_target, it->multiple_target > 0));
        json_object_set_new(x, "exceeds_target", json_boolean(it->exceeds_target));
        json_array_append_new(items, x);
    }
    json_object_set_new(o, "indicators", items);
    json_t *dec = json_array(), *main = json_array();
    for (size_t i = 0; i < r->n_deciding; i++) {
        json_array_append_new(dec, json_string(s->ind[r->items[r->deciding[i]].ind].code));
    }
    for (size_t i = 0; i < r->n_main; i++) {
        json_array_append_new(main, json_string(s->ind[r->items[r->main_pollutants[i]].ind].code));
    }
    json_object_set_new(o, "deciding", dec);
    json_object_set_new(o, "main_pollutants", main);
    json_object_set_new(o, "standard", json_string(s->standard));
    return o;
}

cr_status cr_wq_all_classes(cr_store *store, const cr_standards *s, const cr_period *p,
                            json_t **out, cr_error *err)
{
    *out = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(store), SECTION_COLUMNS " ORDER BY source_id", -1, &st,
                           NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "sections: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    json_t *arr = json_array();
    cr_status rc = CR_OK;
    while (rc == CR_OK && sqlite3_step(st) == SQLITE_ROW) {
        cr_wq_section sec;
        section_from_row(st, &sec);
        cr_wq_result r;
        int64_t n = 0;
        rc = cr_wq_section_class(store, s, &sec, p, &r, &n, err);
        if (rc == CR_OK) {
            json_array_append_new(arr, cr_wq_result_json(s, &sec, p, &r, n));
        }
    }
    sqlite3_finalize(st);
    if (rc != CR_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return CR_OK;
}

cr_status cr_wq_latest_classes(cr_store *store, const cr_standards *s, json_t **out, cr_error *err)
{
    *out = NULL;
    /* one scan of the latest table in section order, one of the sections */
    sqlite3_stmt *st, *lat;
    sqlite3 *db = cr_store_db(store);
    if (sqlite3_prepare_v2(db, SECTION_COLUMNS " ORDER BY source_id", -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "sections: %s", sqlite3_errmsg(db));
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT r.section_id, r.indicator, l.value, l.censored, l.t FROM"
                           " wq_series r JOIN wq_latest l ON l.series_id = r.series_id"
                           " WHERE r.method != 'emergency' ORDER BY r.section_id, l.t",
                           -1, &lat, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(db));
    }
    json_t *arr = json_array();
    int more = sqlite3_step(lat) == SQLITE_ROW;
    while (sqlite3_step(st) == SQLITE_ROW) {
        cr_wq_section sec;
        section_from_row(st, &sec);
        /* latest rows of sections before this one (no longer current) are passed over */
        while (more && strcmp((const char *)sqlite3_column_text(lat, 0), sec.section_id) < 0) {
            more = sqlite3_step(lat) == SQLITE_ROW;
        }
        cr_wq_item items[CR_WQ_MAX_ITEMS];
        size_t n = 0;
        int64_t last = INT64_MIN;
        while (more && strcmp((const char *)sqlite3_column_text(lat, 0), sec.section_id) == 0) {
            int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(lat, 1));
            if (ind >= 0) {
                double v = sqlite3_column_double(lat, 2);
                int c = sqlite3_column_int(lat, 3);
                last = sqlite3_column_int64(lat, 4);
                size_t k = 0;
                while (k < n && items[k].ind != ind) {
                    k++;
                }
                if (k < CR_WQ_MAX_ITEMS) {
                    /* parties and methods of one indicator: the latest wins (oldest first) */
                    items[k] = (cr_wq_item){
                        .ind = ind, .value = c ? v * s->censored_factor : v, .censored = c, .n = 1};
                    n += k == n;
                }
            }
            more = sqlite3_step(lat) == SQLITE_ROW;
        }
        cr_wq_result r;
        qsort(items, n, sizeof items[0], by_indicator);
        cr_wq_classify(s, items, n, sec.lake, sec.target, &r);
        json_t *o = cr_wq_result_json(s, &sec, NULL, &r, (int64_t)n);
        char when[20];
        if (last != INT64_MIN) {
            cr_wq_time_format(last, when);
        }
        json_object_set_new(o, "latest", last != INT64_MIN ? json_string(when) : json_null());
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(lat);
    sqlite3_finalize(st);
    *out = arr;
    return CR_OK;
}

cr_status cr_wq_series_json(cr_store *store, const cr_standards *s, const char *section_id,
                            const char *indicator, int64_t from, int64_t to, cr_wq_step step,
                            json_t **out, cr_error *err)
{
    *out = NULL;
    cr_wq_section sec;
    cr_status rc = cr_wq_section_get(store, section_id, &sec, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (indicator && cr_standards_find_code(s, indicator) < 0) {
        int i = cr_standards_find(s, indicator);
        if (i < 0) {
            return cr_error_set(err, CR_EINVAL, "unknown indicator '%s'", indicator);
        }
        indicator = s->ind[i].code;
    }
    sqlite3_stmt *ser = cr_store_cached(store, "SELECT series_id, indicator, party, method FROM"
                                               " wq_series WHERE section_id=?1 AND (?2 IS NULL OR"
                                               " indicator=?2) ORDER BY indicator, method, party");
    const char *psql =
        step == CR_STEP_RAW   ? "SELECT t, value, flag, censored, batch_id, source_row FROM"
                                " wq_readings WHERE series_id=? AND t BETWEEN ? AND ?"
        : step == CR_STEP_DAY ? "SELECT day, sum, n_valid, n_censored, min, max FROM wq_daily"
                                " WHERE series_id=? AND day BETWEEN ? AND ?"
                              : "SELECT month, sum, n_valid, n_censored, min, max FROM wq_monthly"
                                " WHERE series_id=? AND month BETWEEN ? AND ?";
    sqlite3_stmt *pts = cr_store_cached(store, psql);
    if (ser == NULL || pts == NULL) {
        return cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    /* times outside 1900–2200 (an open bound) are clamped: the calendar maths stays in range */
    const int64_t lo = cr_wq_time_from_fields(1900, 1, 1, 0, 0, 0);
    const int64_t hi = cr_wq_time_from_fields(2200, 12, 31, 23, 59, 59);
    int64_t a = from < lo ? lo : from > hi ? hi : from;
    int64_t b = to > hi ? hi : to < lo ? lo : to;
    if (step != CR_STEP_RAW) {
        a = cr_wq_day_of(a);
        b = cr_wq_day_of(b);
        if (step == CR_STEP_MONTH) {
            a = cr_wq_month_of_day(a);
            b = cr_wq_month_of_day(b);
        }
    }
    json_t *o = json_object(), *arr = json_array();
    json_object_set_new(o, "section_id", json_string(sec.section_id));
    json_object_set_new(o, "name", json_string(sec.name));
    json_object_set_new(o, "target",
                        sec.target ? json_string(cr_wq_class_name(sec.target)) : json_null());
    json_object_set_new(o, "step",
                        json_string(step == CR_STEP_RAW   ? "raw"
                                    : step == CR_STEP_DAY ? "day"
                                                          : "month"));
    sqlite3_bind_text(ser, 1, section_id, -1, SQLITE_TRANSIENT);
    if (indicator) {
        sqlite3_bind_text(ser, 2, indicator, -1, SQLITE_TRANSIENT);
    }
    while (sqlite3_step(ser) == SQLITE_ROW) {
        int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(ser, 1));
        if (ind < 0) {
            continue;
        }
        const cr_indicator *d = &s->ind[ind];
        json_t *x = json_object(), *p = json_array();
        json_object_set_new(x, "indicator", json_string(d->code));
        json_object_set_new(x, "name", json_string(d->name));
        json_object_set_new(x, "unit", json_string(d->unit));
        json_object_set_new(x, "party", json_string((const char *)sqlite3_column_text(ser, 2)));
        json_object_set_new(x, "method", json_string((const char *)sqlite3_column_text(ser, 3)));
        if (d->limit_kind != CR_LIMIT_NONE && sec.target && !(d->lake_only && !sec.lake)) {
            json_object_set_new(x, "target_limit",
                                json_real((sec.lake ? d->lake : d->river)[sec.target - 1]));
            json_object_set_new(x, "target_limit_kind",
                                json_string(d->limit_kind == CR_LIMIT_MIN ? "min" : "max"));
        }
        sqlite3_bind_int64(pts, 1, sqlite3_column_int64(ser, 0));
        sqlite3_bind_int64(pts, 2, a);
        sqlite3_bind_int64(pts, 3, b);
        while (sqlite3_step(pts) == SQLITE_ROW) {
            json_t *pt = json_array();
            int64_t k = sqlite3_column_int64(pts, 0);
            char label[20];
            if (step == CR_STEP_RAW) {
                cr_wq_time_format(k, label);
                json_array_append_new(pt, json_string(label));
                json_array_append_new(pt, json_real(sqlite3_column_double(pts, 1)));
                json_array_append_new(
                    pt, json_string(cr_wq_flag_name((cr_wq_flag)sqlite3_column_int(pts, 2))));
                json_array_append_new(pt, json_boolean(sqlite3_column_int(pts, 3)));
                json_array_append_new(pt, json_integer(sqlite3_column_int64(pts, 4)));
                json_array_append_new(pt, json_integer(sqlite3_column_int64(pts, 5)));
            } else {
                if (step == CR_STEP_DAY) {
                    cr_wq_day_format(k, label);
                } else {
                    snprintf(label, sizeof label, "%04d-%02d", (int)(k / 100), (int)(k % 100));
                }
                int64_t nv = sqlite3_column_int64(pts, 2);
                json_array_append_new(pt, json_string(label));
                json_array_append_new(pt,
                                      nv > 0 ? json_real(sqlite3_column_double(pts, 1) / (double)nv)
                                             : json_null());
                json_array_append_new(pt, json_integer(nv));
                json_array_append_new(pt,
                                      json_boolean(nv > 0 && sqlite3_column_int64(pts, 3) == nv));
                json_array_append_new(pt, nv > 0 ? json_real(sqlite3_column_double(pts, 4))
                                                 : json_null());
                json_array_append_new(pt, nv > 0 ? json_real(sqlite3_column_double(pts, 5))
                                                 : json_null());
            }
            json_array_append_new(p, pt);
        }
        sqlite3_reset(pts);
        json_object_set_new(x, "points", p);
        json_array_append_new(arr, x);
    }
    sqlite3_reset(ser);
    json_object_set_new(o, "series", arr);
    json_object_set_new(
        o, "columns",
        step == CR_STEP_RAW
            ? json_pack("[ssssss]", "time", "value", "flag", "censored", "batch_id", "source_row")
            : json_pack("[ssssss]", "period", "mean", "n", "censored", "min", "max"));
    *out = o;
    return CR_OK;
}

static cr_status put_status(cr_store *store, sqlite3_stmt *put, const char *id, const char *key,
                            const char *value, cr_error *err)
{
    sqlite3_bind_text(put, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(put, 2, key, -1, SQLITE_STATIC);
    if (value) {
        sqlite3_bind_text(put, 3, value, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(put, 3);
    }
    int rc = sqlite3_step(put);
    sqlite3_reset(put);
    return rc == SQLITE_DONE ? CR_OK
                             : cr_error_set(err, CR_EDB, "section status: %s",
                                            sqlite3_errmsg(cr_store_db(store)));
}

cr_status cr_wq_refresh_status(cr_store *store, const cr_standards *s, const cr_layer_def *d,
                               cr_error *err)
{
    json_t *all = NULL;
    cr_status rc = cr_wq_latest_classes(store, s, &all, err);
    if (rc != CR_OK) {
        return rc;
    }
    rc = cr_store_exec(store,
                       "BEGIN IMMEDIATE; DELETE FROM feature_status WHERE"
                       " layer='monitoring_sections' AND key LIKE 'wq\\_%' ESCAPE '\\'",
                       err);
    sqlite3_stmt *put = cr_store_cached(store, "INSERT OR REPLACE INTO feature_status VALUES"
                                               " ('monitoring_sections', ?, ?, ?)");
    if (rc == CR_OK && put == NULL) {
        rc = cr_error_set(err, CR_EDB, "section status: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "section_id"));
        json_t *met = json_object_get(o, "met");
        if (rc == CR_OK && json_is_string(json_object_get(o, "class"))) {
            rc = put_status(store, put, id, "wq_class",
                            json_string_value(json_object_get(o, "class")), err);
        }
        if (rc == CR_OK && json_is_boolean(met)) {
            rc = put_status(store, put, id, "wq_target_met", json_is_true(met) ? "met" : "missed",
                            err);
        }
        if (rc == CR_OK && json_is_string(json_object_get(o, "latest"))) {
            rc = put_status(store, put, id, "wq_latest",
                            json_string_value(json_object_get(o, "latest")), err);
        }
    }
    json_decref(all);
    int64_t gen = 0;
    if (rc == CR_OK) {
        rc = cr_store_bump_generation(store, &gen, err);
    }
    if (rc == CR_OK && d) {
        rc = cr_store_record_layer_change(store, d, gen, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    }
    if (rc != CR_OK) {
        cr_store_exec(store, "ROLLBACK", NULL);
    }
    return rc;
}

/* ---- lean class tables ------------------------------------------------------------------ */

typedef struct {
    cr_wq_section *v;
    size_t n;
} section_list;

static cr_status load_sections(cr_store *store, section_list *out, cr_error *err)
{
    sqlite3_stmt *st = cr_store_cached(store, SECTION_COLUMNS " ORDER BY source_id");
    if (st == NULL) {
        return cr_error_set(err, CR_EDB, "sections: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 256;
            out->v = cr_xrealloc(out->v, cap * sizeof *out->v);
        }
        section_from_row(st, &out->v[out->n++]);
    }
    sqlite3_reset(st);
    return CR_OK;
}

static void push_row(cr_wq_class_row **rows, size_t *n, size_t *cap, const cr_wq_section *sec,
                     int month, const cr_wq_result *r)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        *rows = cr_xrealloc(*rows, *cap * sizeof **rows);
    }
    cr_wq_class_row *x = &(*rows)[(*n)++];
    snprintf(x->section_id, sizeof x->section_id, "%s", sec->section_id);
    x->month = month;
    x->cls = r->cls;
    x->target = r->target;
    x->met = r->met;
}

cr_status cr_wq_latest_table(cr_store *store, const cr_standards *s, cr_wq_class_row **rows,
                             size_t *n, cr_error *err)
{
    *rows = NULL;
    *n = 0;
    section_list secs;
    cr_status rc = load_sections(store, &secs, err);
    /* in the series index's order (no sort); the latest of an indicator's series wins */
    sqlite3_stmt *lat = rc == CR_OK ? cr_store_cached(store, "SELECT r.section_id, r.indicator,"
                                                             " l.value, l.censored, l.t FROM"
                                                             " wq_series r JOIN wq_latest l ON"
                                                             " l.series_id = r.series_id WHERE"
                                                             " r.method != 'emergency' ORDER BY"
                                                             " r.section_id")
                                    : NULL;
    if (rc == CR_OK && lat == NULL) {
        rc = cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    size_t cap = 0;
    int more = rc == CR_OK && sqlite3_step(lat) == SQLITE_ROW;
    for (size_t i = 0; rc == CR_OK && i < secs.n; i++) {
        const cr_wq_section *sec = &secs.v[i];
        while (more && strcmp((const char *)sqlite3_column_text(lat, 0), sec->section_id) < 0) {
            more = sqlite3_step(lat) == SQLITE_ROW;
        }
        cr_wq_item items[CR_WQ_MAX_ITEMS];
        int64_t when[CR_WQ_MAX_ITEMS];
        size_t k = 0;
        while (more && strcmp((const char *)sqlite3_column_text(lat, 0), sec->section_id) == 0) {
            int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(lat, 1));
            int64_t t = sqlite3_column_int64(lat, 4);
            size_t j = 0;
            while (j < k && items[j].ind != ind) {
                j++;
            }
            if (ind >= 0 && j < CR_WQ_MAX_ITEMS && (j == k || t > when[j])) {
                int c = sqlite3_column_int(lat, 3);
                double v = sqlite3_column_double(lat, 2);
                items[j] = (cr_wq_item){
                    .ind = ind, .value = c ? v * s->censored_factor : v, .censored = c, .n = 1};
                when[j] = t;
                k += j == k;
            }
            more = sqlite3_step(lat) == SQLITE_ROW;
        }
        cr_wq_result r;
        cr_wq_classify(s, items, k, sec->lake, sec->target, &r);
        push_row(rows, n, &cap, sec, 0, &r);
    }
    if (lat) {
        sqlite3_reset(lat);
    }
    free(secs.v);
    return rc;
}

cr_status cr_wq_monthly_table(cr_store *store, const cr_standards *s, int year,
                              cr_wq_class_row **rows, size_t *n, cr_error *err)
{
    *rows = NULL;
    *n = 0;
    section_list secs;
    cr_status rc = load_sections(store, &secs, err);
    sqlite3_stmt *st = NULL;
    if (rc == CR_OK &&
        sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT r.section_id, r.indicator, r.method = 'manual', a.month,"
                           " a.n_valid, a.n_censored, a.sum FROM wq_series r JOIN wq_monthly a"
                           " ON a.series_id = r.series_id AND a.month BETWEEN ?1 AND ?2 WHERE"
                           " r.method != 'emergency' ORDER BY r.section_id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    if (rc == CR_OK) {
        sqlite3_bind_int(st, 1, year * 100 + 1);
        sqlite3_bind_int(st, 2, year * 100 + 12);
    }
    /* per month and indicator: manual and automatic sums apart */
    typedef struct {
        int64_t nv[2], nc[2];
        double sum[2];
    } cell;
    size_t n_ind = s->n;
    cell *grid = cr_xcalloc(12 * n_ind, sizeof *grid);
    size_t cap = 0;
    int need = s->min_samples[CR_PERIOD_MONTH];
    int more = rc == CR_OK && sqlite3_step(st) == SQLITE_ROW;
    for (size_t i = 0; rc == CR_OK && i < secs.n; i++) {
        const cr_wq_section *sec = &secs.v[i];
        while (more && strcmp((const char *)sqlite3_column_text(st, 0), sec->section_id) < 0) {
            more = sqlite3_step(st) == SQLITE_ROW;
        }
        memset(grid, 0, 12 * n_ind * sizeof *grid);
        int any = 0;
        while (more && strcmp((const char *)sqlite3_column_text(st, 0), sec->section_id) == 0) {
            int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(st, 1));
            int manual = sqlite3_column_int(st, 2), m = sqlite3_column_int(st, 3) % 100 - 1;
            if (ind >= 0 && m >= 0 && m < 12) {
                cell *c = &grid[(size_t)m * n_ind + (size_t)ind];
                c->nv[manual] += sqlite3_column_int64(st, 4);
                c->nc[manual] += sqlite3_column_int64(st, 5);
                c->sum[manual] += sqlite3_column_double(st, 6);
                any = 1;
            }
            more = sqlite3_step(st) == SQLITE_ROW;
        }
        for (int m = 0; any && m < 12; m++) {
            cr_wq_item items[CR_WQ_MAX_ITEMS];
            size_t k = 0;
            for (size_t ind = 0; ind < n_ind && k < CR_WQ_MAX_ITEMS; ind++) {
                const cell *c = &grid[(size_t)m * n_ind + ind];
                int b = c->nv[1] > 0 ? 1 : 0; /* manual where the month has it */
                if (c->nv[b] >= need && c->nv[b] > 0) {
                    items[k++] = (cr_wq_item){.ind = (int)ind,
                                              .value = c->sum[b] / (double)c->nv[b],
                                              .censored = c->nc[b] == c->nv[b],
                                              .n = (int)c->nv[b]};
                }
            }
            if (k == 0) {
                continue;
            }
            cr_wq_result r;
            cr_wq_classify(s, items, k, sec->lake, sec->target, &r);
            push_row(rows, n, &cap, sec, year * 100 + m + 1, &r);
        }
    }
    free(grid);
    sqlite3_finalize(st);
    free(secs.v);
    return rc;
}

cr_status cr_wq_daily_points(cr_store *store, const cr_standards *s, const char *section_id,
                             int64_t first_day, int64_t last_day, cr_wq_day_point **points,
                             size_t *n, cr_error *err)
{
    *points = NULL;
    *n = 0;
    if (last_day < first_day || last_day - first_day > 40000) {
        return cr_error_set(err, CR_EINVAL, "daily points: at most 40,000 days");
    }
    sqlite3_stmt *ser = cr_store_cached(store, "SELECT series_id, indicator FROM wq_series WHERE"
                                               " section_id=? AND method != 'emergency'");
    sqlite3_stmt *pts = cr_store_cached(store, "SELECT day, sum, n_valid FROM wq_daily WHERE"
                                               " series_id=? AND day BETWEEN ? AND ?");
    if (ser == NULL || pts == NULL) {
        return cr_error_set(err, CR_EDB, "readings: %s", sqlite3_errmsg(cr_store_db(store)));
    }
    /* each indicator's days, every series of it (parties, methods) pooled */
    size_t days = (size_t)(last_day - first_day + 1);
    double *sum = NULL;
    int64_t *cnt = NULL;
    unsigned char *used = cr_xcalloc(s->n, 1);
    sqlite3_bind_text(ser, 1, section_id, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(ser) == SQLITE_ROW) {
        int ind = cr_standards_find_code(s, (const char *)sqlite3_column_text(ser, 1));
        if (ind < 0) {
            continue;
        }
        if (sum == NULL) {
            sum = cr_xcalloc(s->n * days, sizeof *sum);
            cnt = cr_xcalloc(s->n * days, sizeof *cnt);
        }
        used[ind] = 1;
        sqlite3_bind_int64(pts, 1, sqlite3_column_int64(ser, 0));
        sqlite3_bind_int64(pts, 2, first_day);
        sqlite3_bind_int64(pts, 3, last_day);
        while (sqlite3_step(pts) == SQLITE_ROW) {
            size_t k = (size_t)ind * days + (size_t)(sqlite3_column_int64(pts, 0) - first_day);
            sum[k] += sqlite3_column_double(pts, 1);
            cnt[k] += sqlite3_column_int64(pts, 2);
        }
        sqlite3_reset(pts);
    }
    sqlite3_reset(ser);
    size_t cap = 0;
    for (size_t ind = 0; sum && ind < s->n; ind++) {
        for (size_t d = 0; used[ind] && d < days; d++) {
            size_t k = ind * days + d;
            if (cnt[k] == 0) {
                continue;
            }
            if (*n == cap) {
                cap = cap ? 2 * cap : 512;
                *points = cr_xrealloc(*points, cap * sizeof **points);
            }
            (*points)[(*n)++] = (cr_wq_day_point){(int)ind, first_day + (int64_t)d,
                                                  sum[k] / (double)cnt[k], cnt[k]};
        }
    }
    free(sum);
    free(cnt);
    free(used);
    return CR_OK;
}

json_t *cr_wq_class_rows_json(const cr_wq_class_row *rows, size_t n, int by_month)
{
    json_t *arr = json_array(), *months = NULL;
    for (size_t i = 0; i < n; i++) {
        const cr_wq_class_row *r = &rows[i];
        json_t *cls = r->cls ? json_string(cr_wq_class_name(r->cls)) : json_null();
        json_t *met = r->met < 0 ? json_null() : json_boolean(r->met);
        if (!by_month) {
            json_array_append_new(
                arr, json_pack("{s:s, s:o, s:o, s:o}", "section_id", r->section_id, "class", cls,
                               "target",
                               r->target ? json_string(cr_wq_class_name(r->target)) : json_null(),
                               "met", met));
            continue;
        }
        if (i == 0 || strcmp(rows[i - 1].section_id, r->section_id) != 0) {
            months = json_array();
            json_array_append_new(
                arr, json_pack("{s:s, s:o, s:o}", "section_id", r->section_id, "target",
                               r->target ? json_string(cr_wq_class_name(r->target)) : json_null(),
                               "months", months));
        }
        char label[16];
        snprintf(label, sizeof label, "%04d-%02d", r->month / 100, r->month % 100);
        json_array_append_new(
            months, json_pack("{s:s, s:o, s:o}", "month", label, "class", cls, "met", met));
    }
    return arr;
}
