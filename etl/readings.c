/* SPDX-License-Identifier: MIT */
/* Readings as labs and automatic stations send them: wide (one row per sample, a column per
 * indicator, units in the headers) or long (section, time, indicator, value, unit, flag), CSV
 * or XLSX, GBK or UTF-8. Each value is converted to its indicator's canonical unit, kept with
 * its batch and row; below-detection values are censored with their limit. A row is stored
 * whole or rejected whole with every reason (file, row, column, value). Re-importing a value
 * that has not changed leaves it alone; a corrected value versions the old one. */
#include "etl.h"
#include "geo/handlers.h"
#include "quality/quality.h"
#include "source.h"

#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the columns a readings file has ---------------------------------------------------- */

typedef enum {
    COL_NONE = 0,
    COL_SECTION,      /* section code */
    COL_SECTION_NAME, /* section name (used when there is no code) */
    COL_TIME,         /* date and time */
    COL_DATE,         /* date only */
    COL_CLOCK,        /* time of day only */
    COL_PARTY,
    COL_FLAG,
    COL_METHOD,    /* manual or automatic */
    COL_INDICATOR, /* long format */
    COL_VALUE,
    COL_UNIT,
    COL_DL,      /* detection limit */
    COL_IGNORED, /* descriptive columns read past (names, remarks, coordinates) */
    COL_MEASURE  /* wide format: an indicator column */
} col_role;

typedef struct {
    col_role role;
    const char *aliases;
} role_aliases;

/* '|'-separated aliases, matched folded. */
static const role_aliases ROLES[] = {
    {COL_SECTION, "断面编码|断面代码|断面编号|站点编码|站点编号|测站编码|点位编码|监测点位编码|"
                  "section_id|section|station_id|station_code|site_id|section_code"},
    {COL_SECTION_NAME, "断面名称|断面|站点名称|站点|测站名称|点位名称|监测点位|section_name|"
                       "station|station_name|site|site_name"},
    {COL_TIME, "监测时间|采样时间|时间|日期时间|数据时间|监测日期时间|采样日期时间|datetime|"
               "date_time|time|sample_time|sampling_time|timestamp|observed_at"},
    {COL_DATE, "采样日期|监测日期|日期|date|sample_date|sampling_date"},
    {COL_CLOCK, "采样时刻|时刻|采样钟点|clock|time_of_day|hour"},
    {COL_PARTY, "采样方|监测方|采样单位类别|监测责任方|sampling_party|party|sampled_by"},
    {COL_METHOD, "监测方式|监测手段|监测类型|监测性质|数据来源|method_of_monitoring|monitoring_"
                 "method|source_kind"},
    {COL_FLAG, "数据标识|标识|标记|质控标识|数据状态|数据标记|有效性|flag|quality_flag|qc|qc_flag"},
    {COL_INDICATOR, "监测项目|指标|项目|监测指标|因子|监测因子|项目名称|indicator|parameter|"
                    "item|determinand|analyte"},
    {COL_VALUE, "监测值|浓度|结果|测定值|数值|监测结果|value|result|concentration|measurement"},
    {COL_UNIT, "单位|计量单位|unit|units"},
    {COL_DL, "检出限|方法检出限|detection_limit|dl|lod|mdl"},
    {COL_IGNORED, "序号|河流名称|所在河流|河流|监测单位|采样人|分析人|天气|备注|城市|区县|所属区县|"
                  "水质类别|水质|经度|纬度|水期|实验室|分析方法|采样深度|样品编号|remark|remarks|"
                  "note|notes|river|weather|no|class|operator|lab|analysis_method|depth|sample_id|"
                  "longitude|latitude|lon|lat|county|city"},
};

static int alias_match(const char *aliases, const char *folded)
{
    const char *p = aliases;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        char tmp[96];
        snprintf(tmp, sizeof tmp, "%.*s", (int)n, p);
        char *f = cr_text_fold(tmp);
        int hit = strcmp(f, folded) == 0;
        free(f);
        if (hit) {
            return 1;
        }
        p += n + (bar != NULL);
    }
    return 0;
}

static col_role role_of(const char *header)
{
    char *f = cr_text_fold(header);
    col_role r = COL_NONE;
    for (size_t i = 0; i < sizeof ROLES / sizeof ROLES[0] && r == COL_NONE && *f; i++) {
        if (alias_match(ROLES[i].aliases, f)) {
            r = ROLES[i].role;
        }
    }
    free(f);
    return r;
}

/* The unit written in a header's brackets: "氨氮(mg/L)", "总磷（mg/L）", "电导率[µS/cm]". */
static void header_unit(const char *h, char *out, size_t n)
{
    out[0] = '\0';
    const char *open = NULL;
    size_t skip = 0;
    for (const char *p = h; *p; p++) {
        if (*p == '(' || *p == '[') {
            open = p;
            skip = 1;
        } else if (strncmp(p, "（", 3) == 0 || strncmp(p, "【", 3) == 0) {
            open = p;
            skip = 3;
        }
    }
    if (open == NULL) {
        return;
    }
    const char *b = open + skip;
    const char *e = b;
    while (*e && *e != ')' && *e != ']' && strncmp(e, "）", 3) != 0 && strncmp(e, "】", 3) != 0) {
        e++;
    }
    char *t = cr_xstrndup(b, (size_t)(e - b));
    char *tt = cr_text_trim(t);
    snprintf(out, n, "%s", tt);
    free(t);
    free(tt);
}

/* ---- import state ----------------------------------------------------------------------- */

typedef struct {
    char *key; /* section \x1f indicator \x1f party \x1f method */
    int64_t id;
} series_slot;

typedef struct {
    cr_store *store;
    const cr_standards *std;
    const cr_ingest_options *opt;
    const char *path;
    cr_ingest_result *res;
    cr_source src;
    int n_cols;
    char **header;         /* column headers */
    col_role *role;        /* per column */
    int *col_ind;          /* wide: indicator per column (-1) */
    double *col_factor;    /* wide: unit factor per column */
    int col[COL_MEASURE];  /* first column per role, or -1 */
    int wide;              /* 1: a column per indicator */
    int64_t data_from_row; /* XLSX read headerless: first sheet row under the header */
    /* sections: code → 1, name → code */
    json_t *sections;      /* code → name */
    json_t *section_names; /* folded name → code */
    series_slot *slots;
    size_t cap, n_series;
    int64_t next_series;
    int64_t *touch_lo, *touch_hi; /* per series id: days touched, or INT64_MAX/MIN */
    size_t touch_cap;
    int64_t now;          /* CST now, seconds */
    double t0;            /* start, monotonic seconds */
    char last_key[192];   /* section \x1f party \x1f method of the previous row */
    cr_wq_stream *stream; /* aggregates of the series this import creates, as they arrive */
    int64_t *last_ids;    /* per indicator: its series for last_key, or 0 */
    sqlite3_stmt *ins, *get, *old, *upd, *del, *new_series;
} rd_ctx;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static series_slot *slot_find(rd_ctx *c, const char *key)
{
    size_t i = (size_t)fnv(key) & (c->cap - 1);
    while (c->slots[i].key && strcmp(c->slots[i].key, key) != 0) {
        i = (i + 1) & (c->cap - 1);
    }
    return &c->slots[i];
}

static void slot_grow(rd_ctx *c)
{
    size_t old_cap = c->cap;
    series_slot *old = c->slots;
    c->cap = old_cap ? old_cap * 2 : 1024;
    c->slots = cr_xcalloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key) {
            *slot_find(c, old[i].key) = old[i];
        }
    }
    free(old);
}

static void touch(rd_ctx *c, int64_t series, int64_t day)
{
    if ((size_t)series >= c->touch_cap) {
        size_t n = c->touch_cap ? c->touch_cap : 1024;
        while (n <= (size_t)series) {
            n *= 2;
        }
        c->touch_lo = cr_xrealloc(c->touch_lo, n * sizeof *c->touch_lo);
        c->touch_hi = cr_xrealloc(c->touch_hi, n * sizeof *c->touch_hi);
        for (size_t i = c->touch_cap; i < n; i++) {
            c->touch_lo[i] = INT64_MAX;
            c->touch_hi[i] = INT64_MIN;
        }
        c->touch_cap = n;
    }
    if (day < c->touch_lo[series]) {
        c->touch_lo[series] = day;
    }
    if (day > c->touch_hi[series]) {
        c->touch_hi[series] = day;
    }
}

static cr_status db_error(rd_ctx *c, cr_error *err, const char *what)
{
    return cr_error_set(err, CR_EDB, "%s: %s: %s", c->path, what,
                        sqlite3_errmsg(cr_store_db(c->store)));
}

static cr_status load_series(rd_ctx *c, cr_error *err)
{
    slot_grow(c);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(c->store),
                           "SELECT series_id, section_id, indicator, party, method FROM wq_series",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_error(c, err, "series");
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[256];
        snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", sqlite3_column_text(st, 1),
                 sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
                 sqlite3_column_text(st, 4));
        if (2 * (c->n_series + 1) > c->cap) {
            slot_grow(c);
        }
        series_slot *sl = slot_find(c, key);
        sl->key = cr_xstrdup(key);
        sl->id = sqlite3_column_int64(st, 0);
        c->n_series++;
        if (sl->id >= c->next_series) {
            c->next_series = sl->id + 1;
        }
    }
    sqlite3_finalize(st);
    if (c->next_series == 0) {
        c->next_series = 1;
    }
    return CR_OK;
}

static cr_status series_id_slow(rd_ctx *c, const char *section, const char *ind, const char *party,
                                const char *method, int64_t *id, cr_error *err);

/* The series of (section, indicator, party, method): rows of one sample share everything but
 * the indicator, so the previous row's series are kept per indicator. */
static cr_status series_id(rd_ctx *c, const char *section, int ind, const char *party,
                           const char *method, int64_t *id, cr_error *err)
{
    char key[192];
    size_t a = strlen(section), b = strlen(party), m = strlen(method);
    if (a + b + m + 3 > sizeof key) {
        return series_id_slow(c, section, c->std->ind[ind].code, party, method, id, err);
    }
    memcpy(key, section, a);
    key[a] = '\x1f';
    memcpy(key + a + 1, party, b);
    key[a + 1 + b] = '\x1f';
    memcpy(key + a + 2 + b, method, m + 1);
    if (c->last_ids == NULL) {
        c->last_ids = cr_xcalloc(c->std->n, sizeof *c->last_ids);
    }
    if (strcmp(key, c->last_key) != 0) {
        memcpy(c->last_key, key, a + b + m + 3);
        memset(c->last_ids, 0, c->std->n * sizeof *c->last_ids);
    }
    if (c->last_ids[ind] == 0) {
        cr_status rc = series_id_slow(c, section, c->std->ind[ind].code, party, method,
                                      &c->last_ids[ind], err);
        if (rc != CR_OK) {
            return rc;
        }
    }
    *id = c->last_ids[ind];
    return CR_OK;
}

static cr_status series_id_slow(rd_ctx *c, const char *section, const char *ind, const char *party,
                                const char *method, int64_t *id, cr_error *err)
{
    char key[256];
    snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", section, ind, party, method);
    series_slot *sl = slot_find(c, key);
    if (sl->key) {
        *id = sl->id;
        return CR_OK;
    }
    if (2 * (c->n_series + 1) > c->cap) {
        slot_grow(c);
        sl = slot_find(c, key);
    }
    sqlite3_bind_int64(c->new_series, 1, c->next_series);
    sqlite3_bind_text(c->new_series, 2, section, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(c->new_series, 3, ind, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->new_series, 4, party, -1, SQLITE_STATIC);
    sqlite3_bind_text(c->new_series, 5, method, -1, SQLITE_STATIC);
    int rc = sqlite3_step(c->new_series);
    sqlite3_reset(c->new_series);
    if (rc != SQLITE_DONE) {
        return db_error(c, err, "series");
    }
    sl->key = cr_xstrdup(key);
    sl->id = c->next_series++;
    c->n_series++;
    *id = sl->id;
    return CR_OK;
}

static cr_status load_sections(rd_ctx *c, cr_error *err)
{
    c->sections = json_object();
    c->section_names = json_object();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(cr_store_db(c->store),
                           "SELECT source_id, name FROM monitoring_sections_current", -1, &st,
                           NULL) != SQLITE_OK) {
        return db_error(c, err, "monitoring sections");
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        json_object_set_new(c->sections, id, json_string(name ? name : ""));
        if (name) {
            char *f = cr_text_fold(name);
            json_object_set_new(c->section_names, f, json_string(id));
            free(f);
        }
    }
    sqlite3_finalize(st);
    return CR_OK;
}

/* ---- the header ------------------------------------------------------------------------- */

/* A line (or sheet row) is the header when it names a section and a time or date. */
static int header_score(char **cells, int n)
{
    int sec = 0, when = 0;
    for (int i = 0; i < n; i++) {
        col_role r = cells[i] ? role_of(cells[i]) : COL_NONE;
        sec |= r == COL_SECTION || r == COL_SECTION_NAME;
        when |= r == COL_TIME || r == COL_DATE;
    }
    return sec && when;
}

static char **split_csv_line(const char *s, size_t len, int *n_out)
{
    char **cells = NULL;
    int n = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        int quoted = i < len && s[i] == '"';
        cr_strbuf cell = {0};
        if (quoted) {
            j++;
            while (j < len && !(s[j] == '"' && (j + 1 >= len || s[j + 1] != '"'))) {
                cr_strbuf_append(&cell, s + j, 1);
                j += s[j] == '"' ? 2 : 1;
            }
            while (j < len && s[j] != ',') {
                j++;
            }
        } else {
            while (j < len && s[j] != ',' && s[j] != '\r') {
                j++;
            }
            cr_strbuf_append(&cell, s + i, j - i);
        }
        cells = cr_xrealloc(cells, (size_t)(n + 1) * sizeof *cells);
        cells[n++] = cr_strbuf_take(&cell);
        while (j < len && s[j] != ',') {
            j++;
        }
        i = j + 1;
    }
    *n_out = n;
    return cells;
}

static void free_cells(char **cells, int n)
{
    for (int i = 0; i < n; i++) {
        free(cells[i]);
    }
    free(cells);
}

static cr_status csv_header(void *user, const char *text, size_t size, size_t *skip_bytes,
                            int64_t *skip_lines, cr_error *err)
{
    (void)user;
    (void)err;
    *skip_bytes = 0;
    *skip_lines = 0;
    size_t at = 0;
    for (int64_t line = 1; at < size && line <= 30; line++) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - text) : size;
        int n = 0;
        char **cells = split_csv_line(text + at, end - at, &n);
        int hit = header_score(cells, n);
        free_cells(cells, n);
        if (hit) {
            *skip_bytes = at;
            *skip_lines = line - 1;
            return CR_OK;
        }
        at = end + 1;
    }
    return CR_OK; /* the first line stays the header; map_columns says what is missing */
}

static char *cell_text(OGRFeatureH f, int i)
{
    if (!OGR_F_IsFieldSetAndNotNull(f, i)) {
        return NULL;
    }
    char *t = cr_text_trim(OGR_F_GetFieldAsString(f, i));
    if (*t == '\0') {
        free(t);
        return NULL;
    }
    return t;
}

/* XLSX read headerless: the header is the first of the first 30 rows naming a section and a
 * time; its cells become the column names. */
static cr_status sheet_header(rd_ctx *c, cr_error *err)
{
    OGR_L_ResetReading(c->src.layer);
    OGRFeatureH f;
    int n = OGR_FD_GetFieldCount(OGR_L_GetLayerDefn(c->src.layer));
    while ((f = OGR_L_GetNextFeature(c->src.layer)) != NULL) {
        int64_t row = OGR_F_GetFID(f);
        char **cells = cr_xcalloc((size_t)n + 1, sizeof *cells);
        for (int i = 0; i < n; i++) {
            cells[i] = cell_text(f, i);
        }
        OGR_F_Destroy(f);
        if (header_score(cells, n)) {
            c->header = cells;
            c->n_cols = n;
            c->data_from_row = row + 1;
            return CR_OK;
        }
        free_cells(cells, n);
        if (row >= 30) {
            break;
        }
    }
    return cr_error_set(err, CR_EINVAL,
                        "%s: no header row naming a section (断面编码/断面名称) and a time "
                        "(监测时间/采样日期) in the first 30 rows",
                        c->path);
}

static const char *field_map_for(const rd_ctx *c, const char *header)
{
    for (size_t i = 0; i < c->opt->n_maps; i++) {
        if (strcmp(c->opt->maps[i].source, header) == 0) {
            return c->opt->maps[i].target;
        }
    }
    return NULL;
}

static cr_status map_columns(rd_ctx *c, cr_error *err)
{
    if (c->header == NULL) {
        OGRFeatureDefnH fd = OGR_L_GetLayerDefn(c->src.layer);
        c->n_cols = OGR_FD_GetFieldCount(fd);
        c->header = cr_xcalloc((size_t)c->n_cols + 1, sizeof *c->header);
        for (int i = 0; i < c->n_cols; i++) {
            c->header[i] = cr_text_trim(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(fd, i)));
        }
    }
    c->role = cr_xcalloc((size_t)c->n_cols + 1, sizeof *c->role);
    c->col_ind = cr_xcalloc((size_t)c->n_cols + 1, sizeof *c->col_ind);
    c->col_factor = cr_xcalloc((size_t)c->n_cols + 1, sizeof *c->col_factor);
    for (int r = 0; r < COL_MEASURE; r++) {
        c->col[r] = -1;
    }
    cr_strbuf unknown = {0};
    for (int i = 0; i < c->n_cols; i++) {
        const char *h = c->header[i] ? c->header[i] : "";
        const char *mapped = field_map_for(c, h);
        c->col_ind[i] = -1;
        c->col_factor[i] = 1;
        col_role r = mapped && strcmp(mapped, "ignore") == 0 ? COL_IGNORED
                     : mapped                                ? role_of(mapped)
                                                             : role_of(h);
        int ind = r == COL_NONE ? cr_standards_find(c->std, mapped ? mapped : h) : -1;
        if (ind >= 0) {
            char unit[48];
            header_unit(h, unit, sizeof unit);
            cr_status rc = cr_standards_unit_factor(c->std, ind, unit, &c->col_factor[i], err);
            if (rc != CR_OK) {
                cr_strbuf_cleanup(&unknown);
                return cr_error_prefix(err, "%s: column '%s'", c->path, h);
            }
            r = COL_MEASURE;
            c->col_ind[i] = ind;
            c->wide = 1;
        }
        if (r == COL_NONE) {
            if (*h && strncmp(h, "Field", 5) != 0) {
                cr_strbuf_printf(&unknown, "%s'%s'", unknown.len ? ", " : "", h);
            }
            r = COL_IGNORED;
            if (*h == '\0' || strncmp(h, "Field", 5) == 0) {
                r = COL_NONE; /* an empty trailing column */
            }
        }
        c->role[i] = r;
        if (r < COL_MEASURE && c->col[r] < 0) {
            c->col[r] = i;
        }
    }
    /* a long file's indicator column makes it long even where a header looks like one */
    if (c->col[COL_INDICATOR] >= 0 && c->col[COL_VALUE] >= 0) {
        c->wide = 0;
    }
    cr_status rc = CR_OK;
    if (unknown.len) {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: column%s %s %s neither an indicator (standards/indicators.json) nor "
                          "a column crossriver reads; map it with --field CODE=COLUMN (e.g. "
                          "--field nh3n=COLUMN) or --field ignore=COLUMN",
                          c->path, strchr(unknown.data, ',') ? "s" : "", unknown.data,
                          strchr(unknown.data, ',') ? "are" : "is");
    } else if (c->col[COL_SECTION] < 0 && c->col[COL_SECTION_NAME] < 0) {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: no section column (断面编码, 断面名称, section_id …) in the header",
                          c->path);
    } else if (c->col[COL_TIME] < 0 && c->col[COL_DATE] < 0) {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: no time column (监测时间, 采样日期, datetime …) in the header",
                          c->path);
    } else if (!c->wide && (c->col[COL_INDICATOR] < 0 || c->col[COL_VALUE] < 0)) {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: neither wide (a column per indicator: 氨氮(mg/L), 总磷 …) nor "
                          "long (columns 监测项目 and 监测值)",
                          c->path);
    }
    cr_strbuf_cleanup(&unknown);
    return rc;
}

static int parse_time(const char *date, const char *clock, int64_t *t, cr_error *err);

/* ---- one row ---------------------------------------------------------------------------- */

typedef struct {
    int ind;
    double value; /* canonical unit; the limit when censored */
    int censored;
    char raw[64];
    int col;
} rd_value;

typedef struct {
    int64_t row;
    cr_strbuf reason;
    char code[32];
    char field[64];
    int n_problems;
} rd_row;

static void problem(rd_row *r, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(rd_row *r, const char *code, const char *field, const char *fmt, ...)
{
    if (r->n_problems++ == 0) {
        snprintf(r->code, sizeof r->code, "%s", code);
        snprintf(r->field, sizeof r->field, "%s", field ? field : "");
    } else {
        cr_strbuf_puts(&r->reason, "; ");
    }
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cr_strbuf_puts(&r->reason, buf);
}

cr_status cr_etl_parse_reading_time(const char *date, const char *clock, int64_t *t, cr_error *err)
{
    return parse_time(date, clock, t, err) ? CR_OK : (err ? err->code : CR_EPARSE);
}

/* "2025-07-14 08:00[:00]", "2025-07-14T08:00:00+08:00", "2025/7/14 8:00", "2025年7月14日" …
 * into CST seconds. */
/* "YYYY-MM-DD HH:MM[:SS]" (or T) exactly, the form station exports use: 1 and *t, else 0. */
static int fast_time(const char *s, int64_t *t)
{
    size_t n = strlen(s);
    if ((n != 16 && n != 19) || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
        s[13] != ':' || (n == 19 && s[16] != ':')) {
        return 0;
    }
    static const int DIGITS[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    for (size_t i = 0; i < (n == 19 ? 14 : 12); i++) {
        if (!isdigit((unsigned char)s[DIGITS[i]])) {
            return 0;
        }
    }
#define D2(i) ((s[i] - '0') * 10 + (s[(i) + 1] - '0'))
    int y = D2(0) * 100 + D2(2), mo = D2(5), d = D2(8), h = D2(11), mi = D2(14);
    int se = n == 19 ? D2(17) : 0;
#undef D2
    static const int MDAYS[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > MDAYS[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 59) {
        return 0;
    }
    *t = cr_wq_time_from_fields(y, mo, d, h, mi, se);
    return 1;
}

static int parse_time(const char *date, const char *clock, int64_t *t, cr_error *err)
{
    if (clock == NULL && fast_time(date, t)) {
        return 1;
    }
    char buf[96];
    if (strlen(date) + (clock ? strlen(clock) : 0) + 2 > sizeof buf) {
        cr_error_set(err, CR_EPARSE, "too long for a time");
        return 0;
    }
    snprintf(buf, sizeof buf, "%s%s%s", date, clock ? " " : "", clock ? clock : "");
    size_t len = strlen(buf);
    /* an explicit +08:00 or Z offset */
    int offset_s = 8 * 3600;
    int has_offset = 0;
    if (len > 6 && (buf[len - 6] == '+' || buf[len - 6] == '-') && buf[len - 3] == ':' &&
        strchr(buf, ':') != buf + len - 3) {
        int oh = atoi(buf + len - 5), om = atoi(buf + len - 2);
        offset_s = (buf[len - 6] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        has_offset = 1;
        buf[len - 6] = '\0';
    } else if (len > 1 && (buf[len - 1] == 'Z' || buf[len - 1] == 'z') && strchr(buf, ':')) {
        offset_s = 0;
        has_offset = 1;
        buf[len - 1] = '\0';
    }
    char *tpos = strchr(buf, 'T');
    if (tpos && tpos > buf && isdigit((unsigned char)tpos[-1])) {
        *tpos = ' ';
    }
    char iso[20];
    if (cr_etl_parse_datetime(buf, iso, err) != CR_OK) {
        return 0;
    }
    int y, mo, d, h, mi, s;
    if (sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6) {
        cr_error_set(err, CR_EPARSE, "not a date and time");
        return 0;
    }
    *t = cr_wq_time_from_fields(y, mo, d, h, mi, s);
    if (has_offset) {
        *t += 8 * 3600 - offset_s; /* to CST */
    }
    return 1;
}

/* The bare spellings of "below detection" (the limit then comes from elsewhere). */
static const char *const ND[] = {"未检出",     "ND",         "N.D.", "nd",  "n.d.",      "未检",
                                 "低于检出限", "检出限以下", "<DL",  "BDL", "未检出(ND)"};

cr_status cr_etl_parse_reading_value(const char *text, double *value, int *censored, cr_error *err)
{
    *value = 0;
    *censored = 0;
    char buf[64];
    size_t tl = strlen(text);
    if (tl >= sizeof buf) {
        return cr_error_set(err, CR_EPARSE, "'%.20s…' is too long for a value", text);
    }
    /* the common case first: a plain decimal number */
    if (tl > 0 && (isdigit((unsigned char)text[0]) || text[0] == '-' || text[0] == '.')) {
        char *end = NULL;
        double v = strtod(text, &end);
        if (*end == '\0' && isfinite(v)) {
            *value = v;
            return CR_OK;
        }
    }
    memcpy(buf, text, tl + 1);
    for (size_t i = 0; i < sizeof ND / sizeof ND[0]; i++) {
        if (strcmp(buf, ND[i]) == 0) {
            *censored = 1; /* the limit: the caller's */
            return CR_OK;
        }
    }
    char *p = buf;
    size_t len = strlen(p);
    if (strncmp(p, "＜", 3) == 0 || strncmp(p, "﹤", 3) == 0) {
        p += 3;
        *censored = 1;
    } else if (*p == '<') {
        p++;
        *censored = 1;
    } else if (len > 1 && (p[len - 1] == 'L' || p[len - 1] == 'l') &&
               isdigit((unsigned char)p[len - 2])) {
        p[len - 1] = '\0';
        *censored = 1;
    }
    while (*p == ' ') {
        p++;
    }
    char *end = NULL;
    double v = strtod(p, &end);
    if (end == p || *end != '\0' || !isfinite(v)) {
        if (cr_etl_parse_real(p, &v, NULL) != CR_OK || !isfinite(v)) {
            return cr_error_set(err, CR_EPARSE, "'%s' is not a number", text);
        }
    }
    if (*censored && v <= 0) {
        return cr_error_set(err, CR_EPARSE, "'%s': a detection limit is above 0", text);
    }
    *value = v;
    return CR_OK;
}

/* A value cell into out: converted by factor, censored with its limit (written, the
 * detection-limit column's, else the indicator's usual one), checked against the indicator's
 * physical range; 0 with the problem noted on the row otherwise. */
static int parse_value(rd_ctx *c, rd_row *r, int ind, double factor, const char *text,
                       const char *dl_text, const char *column, rd_value *out)
{
    const cr_indicator *d = &c->std->ind[ind];
    out->ind = ind;
    double v;
    cr_error e = {0};
    if (cr_etl_parse_reading_value(text, &v, &out->censored, &e) != CR_OK) {
        problem(r, "value", column, "row %lld, column '%s': %s", (long long)r->row, column, e.msg);
        return 0;
    }
    /* the text as written is kept where it says more than the stored number: below
     * detection, another unit, another spelling */
    out->raw[0] = '\0';
    if (out->censored || factor != 1 || !isdigit((unsigned char)text[0]) ||
        strspn(text, "0123456789.") != strlen(text)) {
        snprintf(out->raw, sizeof out->raw, "%s", text);
    }
    if (out->censored && v == 0) {
        /* a bare 未检出 / ND: the detection-limit column, else the usual limit */
        v = d->detection_limit;
        if (dl_text && cr_etl_parse_real(dl_text, &v, &e) == CR_OK) {
            v *= factor;
        } else if (dl_text) {
            problem(r, "value", column, "row %lld, column '%s': detection limit '%s': %s",
                    (long long)r->row, column, dl_text, e.msg);
            return 0;
        }
        if (v <= 0) {
            problem(r, "detection_limit", column,
                    "row %lld, column '%s': '%s' (below detection) with no detection limit: "
                    "give a 检出限 column or write it as <limit",
                    (long long)r->row, column, text);
            return 0;
        }
        out->value = v;
        return 1;
    }
    v *= factor;
    if (v < d->lo || v > d->hi) {
        problem(r, "value_range", column,
                "row %lld, column '%s': %s (%g%s%s) is outside what is physically possible for "
                "%s (%g to %g%s%s)",
                (long long)r->row, column, text, v, *d->unit ? " " : "", d->unit, d->name, d->lo,
                d->hi, *d->unit ? " " : "", d->unit);
        return 0;
    }
    out->value = v;
    return 1;
}

static const char *section_of(rd_ctx *c, rd_row *r, OGRFeatureH f, char **owned)
{
    *owned = NULL;
    int sc = c->col[COL_SECTION], nc = c->col[COL_SECTION_NAME];
    char *code = sc >= 0 ? cell_text(f, sc) : NULL;
    if (code) {
        *owned = code;
        if (json_object_get(c->sections, code)) {
            return code;
        }
        problem(r, "unknown_section", c->header[sc],
                "row %lld, column '%s': '%s' is no current monitoring section (ingest "
                "monitoring_sections first, or check the code)",
                (long long)r->row, c->header[sc], code);
        return NULL;
    }
    char *name = nc >= 0 ? cell_text(f, nc) : NULL;
    if (name == NULL) {
        problem(r, "required", sc >= 0 ? c->header[sc] : c->header[nc],
                "row %lld: no section given", (long long)r->row);
        return NULL;
    }
    char *folded = cr_text_fold(name);
    const char *id = json_string_value(json_object_get(c->section_names, folded));
    free(folded);
    if (id == NULL) {
        problem(r, "unknown_section", c->header[nc],
                "row %lld, column '%s': '%s' is no current monitoring section's name",
                (long long)r->row, c->header[nc], name);
    }
    free(name);
    return id;
}

/* Store one value; *dup_row is set (and nothing changed) when this file already gave it. */
static cr_status store_value(rd_ctx *c, int64_t series, int64_t t, int flag, const rd_value *v,
                             int64_t row, int64_t *dup_row, int *inserted, cr_error *err)
{
    *dup_row = 0;
    *inserted = 0;
    sqlite3_stmt *st = c->ins;
    sqlite3_bind_int64(st, 1, series);
    sqlite3_bind_int64(st, 2, t);
    sqlite3_bind_double(st, 3, v->value);
    sqlite3_bind_int(st, 4, v->censored);
    sqlite3_bind_int(st, 5, flag);
    if (v->raw[0]) {
        sqlite3_bind_text(st, 6, v->raw, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 6);
    }
    sqlite3_bind_int64(st, 7, c->res->batch_id);
    sqlite3_bind_int64(st, 8, row);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return db_error(c, err, "readings");
    }
    if (sqlite3_changes(cr_store_db(c->store)) == 1) {
        *inserted = 1;
        return CR_OK;
    }
    sqlite3_bind_int64(c->get, 1, series);
    sqlite3_bind_int64(c->get, 2, t);
    if (sqlite3_step(c->get) == SQLITE_ROW && sqlite3_column_int64(c->get, 0) == c->res->batch_id) {
        *dup_row = sqlite3_column_int64(c->get, 1);
    }
    sqlite3_reset(c->get);
    return CR_OK;
}

/* A value another batch stored: the same is left alone, a different one is versioned. */
static cr_status compare_value(rd_ctx *c, int64_t series, int64_t t, int flag, const rd_value *v,
                               int64_t row, cr_error *err)
{
    sqlite3_stmt *g = c->get;
    sqlite3_bind_int64(g, 1, series);
    sqlite3_bind_int64(g, 2, t);
    if (sqlite3_step(g) != SQLITE_ROW) {
        sqlite3_reset(g);
        return db_error(c, err, "readings");
    }
    double old = sqlite3_column_double(g, 2);
    int same = sqlite3_column_int(g, 3) == v->censored && sqlite3_column_int(g, 4) == flag &&
               fabs(old - v->value) <= 1e-12 * fmax(1, fabs(old));
    sqlite3_reset(g);
    if (same) {
        c->res->unchanged++;
        return CR_OK;
    }
    sqlite3_bind_int64(c->old, 1, c->res->batch_id);
    sqlite3_bind_int64(c->old, 2, series);
    sqlite3_bind_int64(c->old, 3, t);
    int rc = sqlite3_step(c->old);
    sqlite3_reset(c->old);
    if (rc != SQLITE_DONE) {
        return db_error(c, err, "reading versions");
    }
    sqlite3_stmt *u = c->upd;
    sqlite3_bind_double(u, 1, v->value);
    sqlite3_bind_int(u, 2, v->censored);
    sqlite3_bind_int(u, 3, flag);
    if (v->raw[0]) {
        sqlite3_bind_text(u, 4, v->raw, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(u, 4);
    }
    sqlite3_bind_int64(u, 5, c->res->batch_id);
    sqlite3_bind_int64(u, 6, row);
    sqlite3_bind_int64(u, 7, series);
    sqlite3_bind_int64(u, 8, t);
    rc = sqlite3_step(u);
    sqlite3_reset(u);
    if (rc != SQLITE_DONE) {
        return db_error(c, err, "readings");
    }
    c->res->updated++;
    return CR_OK;
}

static char *row_json(const rd_ctx *c, OGRFeatureH f)
{
    json_t *o = json_object();
    for (int i = 0; i < c->n_cols; i++) {
        char *t = cell_text(f, i);
        if (t && c->header[i]) {
            json_object_set_new(o, c->header[i], json_string(t));
        }
        free(t);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void count_reason(cr_ingest_result *res, const char *code)
{
    for (size_t i = 0; i < res->n_reasons; i++) {
        if (strcmp(res->reasons[i].code, code) == 0) {
            res->reasons[i].count++;
            return;
        }
    }
    if (res->n_reasons < CR_INGEST_MAX_REASONS) {
        snprintf(res->reasons[res->n_reasons].code, sizeof res->reasons[0].code, "%s", code);
        res->reasons[res->n_reasons++].count = 1;
    }
}

static cr_status reject(rd_ctx *c, OGRFeatureH f, rd_row *r, const char *section, cr_error *err)
{
    char *raw = row_json(c, f);
    char *reason = cr_strbuf_take(&r->reason);
    char *full = NULL;
    cr_reject rj = {r->row, section, r->field, r->code, full ? full : reason, raw};
    cr_status rc = cr_store_add_reject(c->store, c->res->batch_id, &rj, err);
    if (rc == CR_OK && c->opt->rejects_csv) {
        char row[24];
        snprintf(row, sizeof row, "%lld", (long long)r->row);
        const char *cells[] = {
            c->path, row, section ? section : "", r->field, r->code, full ? full : reason, raw};
        for (int i = 0; i < 7; i++) {
            cr_csv_write_cell(c->opt->rejects_csv, cells[i], i == 6);
        }
    }
    c->res->rejected++;
    count_reason(c->res, r->code);
    free(full);
    free(reason);
    free(raw);
    return rc;
}

#define MAX_ROW_VALUES 64

static cr_status process_row(rd_ctx *c, OGRFeatureH f, int64_t row, cr_error *err)
{
    rd_row r = {.row = row};
    char *section_owned = NULL;
    const char *section = section_of(c, &r, f, &section_owned);
    /* time */
    int64_t t = 0;
    char *tt = c->col[COL_TIME] >= 0 ? cell_text(f, c->col[COL_TIME]) : NULL;
    char *dt = c->col[COL_DATE] >= 0 ? cell_text(f, c->col[COL_DATE]) : NULL;
    char *ck = c->col[COL_CLOCK] >= 0 ? cell_text(f, c->col[COL_CLOCK]) : NULL;
    const char *tcol = c->header[c->col[COL_TIME] >= 0 ? c->col[COL_TIME] : c->col[COL_DATE]];
    const char *when = tt ? tt : dt;
    cr_error te = {0};
    if (when == NULL) {
        problem(&r, "required", tcol, "row %lld: no time given", (long long)row);
    } else if (!parse_time(when, tt ? NULL : ck, &t, &te)) {
        problem(&r, "time", tcol, "row %lld, column '%s': '%s' is not a time (%s)", (long long)row,
                tcol, when, te.msg);
    } else if (t > c->now + 3600) {
        problem(&r, "future_time", tcol,
                "row %lld, column '%s': '%s' lies in the future (China Standard Time)",
                (long long)row, tcol, when);
    }
    /* party and flag */
    const char *party = c->opt->party ? c->opt->party : "";
    char *pt = c->col[COL_PARTY] >= 0 ? cell_text(f, c->col[COL_PARTY]) : NULL;
    if (pt) {
        party = cr_wq_party_parse(pt);
        if (party == NULL) {
            problem(&r, "party", c->header[c->col[COL_PARTY]],
                    "row %lld, column '%s': '%s' is not a sampling party (上游, 下游, 联合)",
                    (long long)row, c->header[c->col[COL_PARTY]], pt);
            party = "";
        }
    }
    const char *method = c->opt->method ? c->opt->method : "manual";
    char *mt = c->col[COL_METHOD] >= 0 ? cell_text(f, c->col[COL_METHOD]) : NULL;
    if (mt) {
        method = cr_wq_method_parse(mt);
        if (method == NULL) {
            problem(&r, "method", c->header[c->col[COL_METHOD]],
                    "row %lld, column '%s': '%s' is not a monitoring method (手工/manual, "
                    "自动/automatic)",
                    (long long)row, c->header[c->col[COL_METHOD]], mt);
            method = "manual";
        }
    }
    int flag = CR_WQ_VALID;
    char *fl = c->col[COL_FLAG] >= 0 ? cell_text(f, c->col[COL_FLAG]) : NULL;
    if (fl) {
        flag = cr_wq_flag_parse(fl);
        if (flag < 0) {
            problem(
                &r, "flag", c->header[c->col[COL_FLAG]],
                "row %lld, column '%s': '%s' is not a quality flag (有效/valid, 估算/estimated, "
                "可疑/suspect, 无效/invalid, 维护/maintenance, or HJ 212 N/T/D/M/C/F)",
                (long long)row, c->header[c->col[COL_FLAG]], fl);
            flag = CR_WQ_VALID;
        }
    }
    /* values */
    rd_value vals[MAX_ROW_VALUES];
    int nv = 0;
    char *dl = c->col[COL_DL] >= 0 ? cell_text(f, c->col[COL_DL]) : NULL;
    if (c->wide) {
        for (int i = 0; i < c->n_cols && nv < MAX_ROW_VALUES; i++) {
            if (c->role[i] != COL_MEASURE) {
                continue;
            }
            const char *v = OGR_F_IsFieldSetAndNotNull(f, i) ? OGR_F_GetFieldAsString(f, i) : "";
            while (*v == ' ') {
                v++;
            }
            if (*v == '\0' || strcmp(v, "-") == 0 || strcmp(v, "—") == 0 || strcmp(v, "/") == 0) {
                continue; /* not measured */
            }
            char *vt = cr_text_trim(v);
            if (parse_value(c, &r, c->col_ind[i], c->col_factor[i], vt, NULL, c->header[i],
                            &vals[nv])) {
                vals[nv++].col = i;
            }
            free(vt);
        }
        if (nv == 0 && r.n_problems == 0) {
            problem(&r, "required", "", "row %lld: no indicator value in the row", (long long)row);
        }
    } else {
        const char *icol = c->header[c->col[COL_INDICATOR]];
        const char *vcol = c->header[c->col[COL_VALUE]];
        char *it = cell_text(f, c->col[COL_INDICATOR]);
        char *vt = cell_text(f, c->col[COL_VALUE]);
        char *ut = c->col[COL_UNIT] >= 0 ? cell_text(f, c->col[COL_UNIT]) : NULL;
        int ind = it ? cr_standards_find(c->std, it) : -1;
        double factor = 1;
        cr_error ue = {0};
        if (it == NULL) {
            problem(&r, "required", icol, "row %lld: no indicator given", (long long)row);
        } else if (ind < 0) {
            problem(&r, "unknown_indicator", icol,
                    "row %lld, column '%s': '%s' is no indicator crossriver knows "
                    "(standards/indicators.json)",
                    (long long)row, icol, it);
        } else if (cr_standards_unit_factor(c->std, ind, ut, &factor, &ue) != CR_OK) {
            problem(&r, "unit", c->col[COL_UNIT] >= 0 ? c->header[c->col[COL_UNIT]] : "",
                    "row %lld, column '%s': %s", (long long)row, c->header[c->col[COL_UNIT]],
                    ue.msg);
        } else if (vt == NULL) {
            problem(&r, "required", vcol, "row %lld: no value given", (long long)row);
        } else if (parse_value(c, &r, ind, factor, vt, dl, vcol, &vals[0])) {
            vals[0].col = c->col[COL_VALUE];
            nv = 1;
        }
        free(it);
        free(vt);
        free(ut);
    }
    free(dl);
    /* store */
    cr_status rc = CR_OK;
    int64_t sids[MAX_ROW_VALUES];
    int ins[MAX_ROW_VALUES] = {0};
    int64_t dup_row = 0;
    int dup_col = -1;
    for (int k = 0; r.n_problems == 0 && k < nv && rc == CR_OK; k++) {
        rc = series_id(c, section, vals[k].ind, party, method, &sids[k], err);
        int64_t d = 0;
        if (rc == CR_OK) {
            rc = store_value(c, sids[k], t, flag, &vals[k], row, &d, &ins[k], err);
        }
        if (d && dup_row == 0) {
            dup_row = d;
            dup_col = vals[k].col;
        }
    }
    if (rc == CR_OK && r.n_problems == 0 && dup_row) {
        /* the file gives this sample twice: undo this row's new values, reject it */
        for (int k = 0; k < nv; k++) {
            if (ins[k]) {
                sqlite3_bind_int64(c->del, 1, sids[k]);
                sqlite3_bind_int64(c->del, 2, t);
                sqlite3_step(c->del);
                sqlite3_reset(c->del);
            }
        }
        char when_s[20];
        cr_wq_time_format(t, when_s);
        problem(&r, "duplicate", c->header[dup_col],
                "row %lld: duplicate sample: section %s at %s%s%s (%s) was given in row %lld",
                (long long)row, section, when_s, *party ? ", party " : "", party,
                c->header[dup_col], (long long)dup_row);
    }
    if (rc == CR_OK && r.n_problems > 0) {
        rc = reject(c, f, &r, section, err);
    } else if (rc == CR_OK) {
        for (int k = 0; k < nv && rc == CR_OK; k++) {
            if (ins[k]) {
                c->res->inserted++;
                rc = cr_wq_stream_add(c->stream, sids[k], t, vals[k].value, vals[k].censored, flag,
                                      err);
            } else {
                rc = compare_value(c, sids[k], t, flag, &vals[k], row, err);
            }
            touch(c, sids[k], cr_wq_day_of(t));
        }
        c->res->stored++;
        c->res->values_stored += nv;
    }
    cr_strbuf_cleanup(&r.reason);
    free(section_owned);
    free(tt);
    free(dt);
    free(ck);
    free(pt);
    free(mt);
    free(fl);
    return rc;
}

static cr_status prepare(rd_ctx *c, cr_error *err)
{
    sqlite3 *db = cr_store_db(c->store);
    const char *sql[] = {
        "INSERT INTO wq_readings (series_id, t, value, censored, flag, raw, batch_id,"
        " source_row, version) VALUES (?,?,?,?,?,?,?,?,1) ON CONFLICT DO NOTHING",
        "SELECT batch_id, source_row, value, censored, flag FROM wq_readings"
        " WHERE series_id=? AND t=?",
        "INSERT INTO wq_readings_old (series_id, t, version, value, censored, flag, raw,"
        " batch_id, source_row, closed_by_batch) SELECT series_id, t, version, value, censored,"
        " flag, raw, batch_id, source_row, ?1 FROM wq_readings WHERE series_id=?2 AND t=?3",
        "UPDATE wq_readings SET value=?1, censored=?2, flag=?3, raw=?4, batch_id=?5,"
        " source_row=?6, version=version+1 WHERE series_id=?7 AND t=?8",
        "DELETE FROM wq_readings WHERE series_id=? AND t=?",
        "INSERT INTO wq_series (series_id, section_id, indicator, party, method)"
        " VALUES (?,?,?,?,?)",
    };
    sqlite3_stmt **out[] = {&c->ins, &c->get, &c->old, &c->upd, &c->del, &c->new_series};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, out[i], NULL) != SQLITE_OK) {
            return db_error(c, err, "prepare");
        }
    }
    return CR_OK;
}

static cr_status read_rows(rd_ctx *c, cr_error *err)
{
    cr_status rc = CR_OK;
    int64_t index = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(c->src.layer);
    while (rc == CR_OK && (f = OGR_L_GetNextFeature(c->src.layer)) != NULL) {
        index++;
        int64_t row = c->src.headerless ? OGR_F_GetFID(f) : index + 1 + c->src.skipped_lines;
        int blank = 1;
        for (int i = 0; i < c->n_cols && blank; i++) {
            blank = !OGR_F_IsFieldSetAndNotNull(f, i) || *OGR_F_GetFieldAsString(f, i) == '\0';
        }
        if ((c->src.headerless && row < c->data_from_row) || blank) {
            OGR_F_Destroy(f);
            continue;
        }
        c->res->rows_in++;
        rc = process_row(c, f, row, err);
        OGR_F_Destroy(f);
        if (c->opt->progress && (index & 4095) == 0) {
            c->opt->progress(c->opt->progress_user, (uint64_t)index,
                             c->src.total > 0 ? (uint64_t)c->src.total : 0);
        }
    }
    if (rc == CR_OK && c->opt->progress) {
        c->opt->progress(c->opt->progress_user, (uint64_t)index, (uint64_t)index);
    }
    return rc;
}

static cr_status rebuild(rd_ctx *c, cr_error *err)
{
    cr_status rc = cr_wq_stream_finish(c->stream, err);
    for (size_t i = 0; i < c->touch_cap && rc == CR_OK; i++) {
        if (c->touch_lo[i] <= c->touch_hi[i] && cr_wq_stream_covers(c->stream, (int64_t)i)) {
            c->res->series_touched++; /* streamed: complete already */
        } else if (c->touch_lo[i] <= c->touch_hi[i]) {
            rc = cr_wq_rebuild_series(c->store, c->std, (int64_t)i, c->touch_lo[i], c->touch_hi[i],
                                      err);
            c->res->series_touched++;
        }
    }
    return rc;
}

static char *options_json(const rd_ctx *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("readings"));
    if (c->opt->encoding) {
        json_object_set_new(o, "encoding", json_string(c->opt->encoding));
    }
    if (c->opt->party) {
        json_object_set_new(o, "party", json_string(c->opt->party));
    }
    if (c->opt->method) {
        json_object_set_new(o, "method", json_string(c->opt->method));
    }
    if (c->opt->source_layer) {
        json_object_set_new(o, "source_layer", json_string(c->opt->source_layer));
    }
    json_t *maps = json_object();
    for (size_t i = 0; i < c->opt->n_maps; i++) {
        json_object_set_new(maps, c->opt->maps[i].target, json_string(c->opt->maps[i].source));
    }
    json_object_set_new(o, "fields", maps);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static cr_status run(rd_ctx *c, cr_error *err)
{
    cr_ingest_result *res = c->res;
    cr_status rc = cr_source_sha256(c->path, res->sha256, err);
    if (rc != CR_OK) {
        return rc;
    }
    int64_t earlier = cr_store_find_active_batch(c->store, "readings", res->sha256);
    if (earlier != 0) {
        cr_batch_summary b;
        rc = cr_store_get_batch(c->store, earlier, &b, err);
        if (rc != CR_OK) {
            return rc;
        }
        res->already_imported = 1;
        res->batch_id = earlier;
        res->rows_in = b.rows_in;
        res->stored = res->unchanged = b.stored;
        res->rejected = b.rejected;
        snprintf(res->encoding, sizeof res->encoding, "%s", b.encoding);
        cr_batch_summary_cleanup(&b);
        return CR_OK;
    }
    rc = cr_wq_schema(c->store, err);
    if (rc == CR_OK) {
        rc = cr_source_open(c->path, c->opt->encoding, c->opt->source_layer, csv_header, c, &c->src,
                            err);
    }
    if (rc == CR_OK) {
        snprintf(res->encoding, sizeof res->encoding, "%s", c->src.encoding);
        snprintf(res->source_layer, sizeof res->source_layer, "%s", OGR_L_GetName(c->src.layer));
        if (c->src.headerless) {
            rc = sheet_header(c, err);
        }
    }
    if (rc == CR_OK) {
        rc = map_columns(c, err);
    }
    if (rc == CR_OK) {
        rc = load_sections(c, err);
    }
    if (rc == CR_OK) {
        rc = load_series(c, err);
    }
    c->stream = cr_wq_stream_new(c->store, c->std, c->next_series);
    char *opts = options_json(c);
    if (rc == CR_OK) {
        snprintf(res->crs, sizeof res->crs, "%s", c->wide ? "wide" : "long");
        cr_batch_info info = {"readings",        c->path, res->sha256,        res->encoding, NULL,
                              res->source_layer, opts,    c->opt->valid_from, "import",      0};
        rc = cr_store_begin_batch(c->store, &info, &res->batch_id, err);
    }
    free(opts);
    if (rc != CR_OK) {
        return rc;
    }
    rc = prepare(c, err);
    /* a station's year is millions of values: a page cache to match for this import */
    cr_store_exec(c->store, "PRAGMA cache_size=-524288", NULL);
    double t_rows = cr_monotonic_s();
    if (rc == CR_OK) {
        rc = read_rows(c, err);
    }
    double t_agg = cr_monotonic_s();
    if (rc == CR_OK) {
        rc = rebuild(c, err);
    }
    cr_log(CR_LOG_INFO, "etl", "%s: rows %.2f s, aggregates of %lld series %.2f s", c->path,
           t_agg - t_rows, (long long)res->series_touched, cr_monotonic_s() - t_agg);
    if (rc == CR_OK && res->rows_in != res->stored + res->rejected) {
        rc = cr_error_set(
            err, CR_EINVAL, "%s: internal error: %lld rows, %lld stored, %lld rejected", c->path,
            (long long)res->rows_in, (long long)res->stored, (long long)res->rejected);
    }
    if (rc == CR_OK && res->rows_in == 0 && !c->opt->force) {
        rc = cr_error_set(err, CR_EINVAL, "%s: the file has no rows; nothing to import", c->path);
    }
    cr_store_exec(c->store, "PRAGMA cache_size=-65536", NULL);
    if (rc == CR_OK && c->opt->dry_run) {
        res->dry_run = 1;
        cr_store_rollback(c->store);
        return CR_OK;
    }
    double t_commit = cr_monotonic_s();
    if (rc == CR_OK) {
        cr_batch_counts n = {res->rows_in,
                             res->stored,
                             res->rejected,
                             res->inserted,
                             res->updated,
                             res->unchanged,
                             0,
                             0,
                             cr_monotonic_s() - c->t0};
        rc = cr_store_commit_batch(c->store, res->batch_id, &n, err);
        cr_log(CR_LOG_INFO, "etl", "%s: commit %.2f s", c->path, cr_monotonic_s() - t_commit);
    }
    if (rc != CR_OK) {
        cr_store_rollback(c->store);
    }
    return rc;
}

cr_status cr_etl_ingest_readings(cr_store *store, const cr_standards *std, const char *path,
                                 const cr_ingest_options *opt, cr_ingest_result *result,
                                 cr_error *err)
{
    cr_gdal_init();
    rd_ctx c = {0};
    c.store = store;
    c.std = std;
    c.opt = opt;
    c.path = path;
    c.res = result;
    memset(result, 0, sizeof *result);
    c.t0 = cr_monotonic_s();
    c.now = (int64_t)time(NULL) + 8 * 3600;
    cr_status rc = run(&c, err);
    result->seconds = cr_monotonic_s() - c.t0;
    sqlite3_stmt *sts[] = {c.ins, c.get, c.old, c.upd, c.del, c.new_series};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++) {
        sqlite3_finalize(sts[i]);
    }
    cr_source_close(&c.src);
    if (c.header) {
        free_cells(c.header, c.n_cols);
    }
    free(c.role);
    free(c.col_ind);
    free(c.col_factor);
    json_decref(c.sections);
    json_decref(c.section_names);
    for (size_t i = 0; i < c.cap; i++) {
        free(c.slots[i].key);
    }
    free(c.slots);
    free(c.touch_lo);
    free(c.touch_hi);
    free(c.last_ids);
    cr_wq_stream_free(c.stream);
    return rc;
}

/* ---- undoing a readings batch ----------------------------------------------------------- */

static cr_status exec_batch(cr_store *store, const char *sql, int64_t a, int64_t b,
                            int64_t *changes, cr_error *err)
{
    sqlite3_stmt *st;
    sqlite3 *db = cr_store_db(store);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "revert: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) > 1) {
        sqlite3_bind_int64(st, 2, b);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return cr_error_set(err, CR_EDB, "revert: %s", sqlite3_errmsg(db));
    }
    if (changes) {
        *changes = sqlite3_changes(db);
    }
    return CR_OK;
}

cr_status cr_etl_revert_readings(cr_store *store, int64_t target, int64_t batch_id, int64_t *closed,
                                 int64_t *reopened, cr_error *err)
{
    *closed = *reopened = 0;
    sqlite3 *db = cr_store_db(store);
    /* refused while a later batch corrected a value of target: history never forks */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT group_concat(b, ', ') FROM (SELECT DISTINCT closed_by_batch AS b"
                           " FROM wq_readings_old WHERE batch_id = ?1 AND closed_by_batch != ?2"
                           " ORDER BY b)",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "revert: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_int64(st, 1, target);
    sqlite3_bind_int64(st, 2, batch_id);
    char later[256] = "";
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(later, sizeof later, "%s", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    if (later[0]) {
        return cr_error_set(err, CR_EINVAL,
                            "batch %lld: later batches corrected some of its values (%s); "
                            "revert those first",
                            (long long)target, later);
    }
    /* the series and days to rebuild: what target wrote and what it closed */
    if (sqlite3_prepare_v2(db,
                           "SELECT series_id, MIN(t), MAX(t) FROM (SELECT series_id, t FROM"
                           " wq_readings WHERE batch_id = ?1 UNION ALL SELECT series_id, t FROM"
                           " wq_readings_old WHERE closed_by_batch = ?1) GROUP BY series_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "revert: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_int64(st, 1, target);
    int64_t(*touched)[3] = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            touched = cr_xrealloc(touched, cap * sizeof *touched);
        }
        touched[n][0] = sqlite3_column_int64(st, 0);
        touched[n][1] = sqlite3_column_int64(st, 1);
        touched[n][2] = sqlite3_column_int64(st, 2);
        n++;
    }
    sqlite3_finalize(st);
    /* what target left current is closed by the revert; what it closed is current again */
    cr_status rc = exec_batch(store,
                              "INSERT INTO wq_readings_old (series_id, t, version, value, censored,"
                              " flag, raw, batch_id, source_row, closed_by_batch) SELECT series_id,"
                              " t, version, value, censored, flag, raw, batch_id, source_row, ?2"
                              " FROM wq_readings WHERE batch_id = ?1",
                              target, batch_id, closed, err);
    if (rc == CR_OK) {
        rc = exec_batch(store, "DELETE FROM wq_readings WHERE batch_id = ?1", target, batch_id,
                        NULL, err);
    }
    if (rc == CR_OK) {
        rc = exec_batch(store,
                        "INSERT INTO wq_readings (series_id, t, value, censored, flag, raw,"
                        " batch_id, source_row, version) SELECT o.series_id, o.t, o.value,"
                        " o.censored, o.flag, o.raw, o.batch_id, o.source_row, (SELECT MAX(version)"
                        " FROM wq_readings_old x WHERE x.series_id = o.series_id AND x.t = o.t) + 1"
                        " FROM wq_readings_old o WHERE o.closed_by_batch = ?1",
                        target, batch_id, reopened, err);
    }
    cr_standards *std = NULL;
    if (rc == CR_OK) {
        rc = cr_standards_load(NULL, &std, err);
    }
    for (size_t i = 0; rc == CR_OK && i < n; i++) {
        rc = cr_wq_rebuild_series(store, std, touched[i][0], cr_wq_day_of(touched[i][1]),
                                  cr_wq_day_of(touched[i][2]), err);
    }
    cr_standards_free(std);
    free(touched);
    return rc;
}
