/* SPDX-License-Identifier: MIT */
/* quality: water-quality readings at the monitoring sections — the indicator definitions and
 * GB 3838-2002 limits (data files under standards/, never code), the readings tables of the
 * store with their day/month aggregates, and classification by the single-factor rule.
 * Rule: values are stored in the indicator's canonical unit; times are China Standard Time as
 * written (UTC+8, no daylight saving), kept as seconds since 1970-01-01 00:00 of that clock. */
#ifndef CR_QUALITY_QUALITY_H
#define CR_QUALITY_QUALITY_H

#include "core/core.h"
#include "store/store.h"

#include <jansson.h>

/* ---- standards: indicators and class limits --------------------------------------------- */

typedef enum { CR_LIMIT_NONE = 0, CR_LIMIT_MAX, CR_LIMIT_MIN, CR_LIMIT_RANGE } cr_limit_kind;

#define CR_WQ_CLASSES 5 /* I..V; 6 is 劣V */

typedef struct {
    char code[16];          /* stored code, e.g. "nh3n" */
    char *name;             /* Chinese name, e.g. "氨氮" */
    char **folded;          /* aliases (and code and name), folded for matching */
    size_t n_folded;        /* entries in folded */
    char unit[16];          /* canonical unit, e.g. "mg/L" ("" for pH) */
    json_t *units;          /* unit → factor to canonical (borrowed from the file) */
    double lo, hi;          /* physically possible range, canonical unit */
    double detection_limit; /* default limit for a bare 未检出/ND, or 0 when none */
    /* GB 3838 Table 1 (CR_LIMIT_NONE when the standard does not class it) */
    cr_limit_kind limit_kind;
    double river[CR_WQ_CLASSES]; /* max/min limits per class (range: lower bound) */
    double lake[CR_WQ_CLASSES];  /* lakes and reservoirs (same as river unless given) */
    double range_hi[CR_WQ_CLASSES];
    int lake_only;   /* 1: classed for lakes and reservoirs only (TN) */
    int no_multiple; /* 1: no exceedance multiple (DO, pH) */
} cr_indicator;

typedef struct cr_standards {
    cr_indicator *ind; /* in the order of indicators.json */
    size_t n;
    char *standard;         /* the standard's title, cited in outputs */
    char *assessment;       /* the assessment rules it follows, cited in outputs */
    int min_samples[4];     /* sample, day, month, year: valid samples a class needs */
    int valid_flags;        /* bit per cr_wq_flag counted in means */
    double censored_factor; /* a censored value enters means as this share of its limit */
    json_t *json[2];        /* indicators.json and the standard, owned */
} cr_standards;

/* Load standards/indicators.json and standards/gb3838-2002.json from dir (NULL: the default,
 * $CROSSRIVER_STANDARDS else the source tree's standards/). Errors name the file and key.
 * Free with cr_standards_free. */
cr_status cr_standards_load(const char *dir, cr_standards **out, cr_error *err);
void cr_standards_free(cr_standards *s);
/* Another data file of the standards directory (dir NULL: the default), e.g.
 * "source_relevance.json" or "substances.json"; NULL with the error naming it when it does
 * not read. Caller frees with json_decref. */
json_t *cr_standards_file(const char *dir, const char *name, cr_error *err);
/* Index of the indicator a header or name means (folded match), or -1. */
int cr_standards_find(const cr_standards *s, const char *text);
/* Index of the indicator with this stored code, or -1. */
int cr_standards_find_code(const cr_standards *s, const char *code);
/* Factor from unit to the indicator's canonical unit; CR_EINVAL naming the units it takes when
 * the unit does not fit (µg/L for pH, mS/cm for ammonia). An empty unit is the canonical one. */
cr_status cr_standards_unit_factor(const cr_standards *s, int ind, const char *unit, double *factor,
                                   cr_error *err);

/* ---- flags and parties ------------------------------------------------------------------ */

typedef enum {
    CR_WQ_VALID = 0,
    CR_WQ_ESTIMATED,
    CR_WQ_SUSPECT,
    CR_WQ_INVALID,
    CR_WQ_MAINTENANCE,
    CR_WQ_N_FLAGS
} cr_wq_flag;

/* "valid", "estimated", … (static). */
const char *cr_wq_flag_name(cr_wq_flag f);
/* A flag as written (有效, N, 可疑, 无效, 维护, 校准, HJ 212 codes …) or -1. */
int cr_wq_flag_parse(const char *text);
/* A sampling party as written (上游, 下游方, 联合, upstream …) into "upstream", "downstream",
 * "joint"; NULL when not one of them. */
const char *cr_wq_party_parse(const char *text);

/* 手工/manual/人工 → "manual", 自动/automatic/自动站 → "automatic", 应急监测/emergency →
 * "emergency" (kept, charted and cited, but not the basis of a period's class); NULL
 * otherwise. */
const char *cr_wq_method_parse(const char *text);

/* ---- classes ---------------------------------------------------------------------------- */

/* "I".."V", "劣V" for 6, "—" for 0 (static). */
const char *cr_wq_class_name(int cls);
/* "I", "Ⅱ", "3", "III类", "劣V", "劣Ⅴ" … into 1..6, or 0. */
int cr_wq_class_parse(const char *text);

typedef struct {
    int ind;                /* indicator index */
    double value;           /* the value classed (a mean for periods), canonical unit */
    int censored;           /* 1: every sample below detection (value is the rule's stand-in) */
    int n;                  /* valid samples behind it */
    int cls;                /* 1..6, 0 when not classed (no limit, TN of a river) */
    double limit_target;    /* the target class's limit (0 when no target or not classed) */
    double multiple_target; /* (C − limit)/limit against the target class, when exceeded */
    double multiple_iii;    /* the same against class III (for main pollutants) */
    int exceeds_target;     /* 1: worse than the target class */
} cr_wq_item;

#define CR_WQ_MAX_ITEMS 32

typedef struct {
    int cls;    /* 1..6, 0 when nothing could be classed */
    int target; /* 1..5, 0 when the section has none */
    int met;    /* 1 met, 0 missed, -1 unknown (no class or no target) */
    int lake;   /* 1: classed as a lake or reservoir */
    cr_wq_item items[CR_WQ_MAX_ITEMS];
    size_t n_items;
    int deciding[CR_WQ_MAX_ITEMS]; /* items (indexes into items) whose class is the result */
    size_t n_deciding;
    int main_pollutants[3]; /* items, worst first, when cls > III */
    size_t n_main;
} cr_wq_result;

/* Class one sample or one period's means by the single-factor rule: each indicator's class from
 * its limits (≤ for maxima, ≥ for DO, a range for pH, TP by water body, TN for lakes only), the
 * worst decides, beyond V is 劣V; exceedance multiples against the target class and class III;
 * main pollutants (worse than III): worst class first, then largest multiple, at most three.
 * items[].ind, value, censored, n are read from in[]; the rest is computed. */
void cr_wq_classify(const cr_standards *s, const cr_wq_item *in, size_t n, int lake, int target,
                    cr_wq_result *out);

/* ---- the readings tables ---------------------------------------------------------------- */

/* Create the readings tables if missing (inside or outside a batch). */
cr_status cr_wq_schema(cr_store *store, cr_error *err);
/* 1 when the store has the readings tables (a read-only store from before them has not). */
int cr_wq_has_tables(cr_store *store);

/* Times: CST seconds ↔ calendar. */
int64_t cr_wq_time_from_fields(int y, int mo, int d, int h, int mi, int s);
/* "YYYY-MM-DDTHH:MM:SS" (out[20]). */
void cr_wq_time_format(int64_t t, char out[20]);
/* Day number (days since 1970-01-01 CST) and yyyymm of a time. */
int64_t cr_wq_day_of(int64_t t);
int cr_wq_month_of_day(int64_t day);
/* "YYYY-MM-DD" of a day number (out[11]). */
void cr_wq_day_format(int64_t day, char out[11]);

/* A period: a sample, a day, a month or a year, as `--period` writes it (2025-07-14T08:00,
 * 2025-07-14, 2025-07, 2025). */
typedef enum {
    CR_PERIOD_SAMPLE = 0, /* one sampling time (2025-07-14T08:00) */
    CR_PERIOD_DAY = 1,
    CR_PERIOD_MONTH = 2,
    CR_PERIOD_YEAR = 3
} cr_period_kind;
typedef struct {
    cr_period_kind kind;
    int64_t t;                   /* a sample's time */
    int64_t first_day, last_day; /* inclusive day numbers */
    char label[16];              /* as given, normalised */
} cr_period;
cr_status cr_wq_period_parse(const char *text, cr_period *out, cr_error *err);
/* The period before (previous day, month or year). */
void cr_wq_period_previous(const cr_period *p, cr_period *out);

/* Rebuild the day and month aggregates and the latest values of series_id over days
 * [first_day, last_day] from its readings (inside the caller's transaction). */
cr_status cr_wq_rebuild_series(cr_store *store, const cr_standards *s, int64_t series_id,
                               int64_t first_day, int64_t last_day, cr_error *err);

/* Aggregates written as an import stores values, for the series the import creates whose
 * values arrive in time order (a station's export): no second pass over them. A series whose
 * values come out of order is dropped from the stream and must be rebuilt (its rows written so
 * far lie within the days the rebuild replaces). */
typedef struct cr_wq_stream cr_wq_stream;
/* Series with IDs >= first_new are new in this import. */
cr_wq_stream *cr_wq_stream_new(cr_store *store, const cr_standards *s, int64_t first_new);
cr_status cr_wq_stream_add(cr_wq_stream *w, int64_t series, int64_t t, double value, int censored,
                           int flag, cr_error *err);
/* Write what is pending (the last day and month, the latest value of every streamed series). */
cr_status cr_wq_stream_finish(cr_wq_stream *w, cr_error *err);
/* 1 when the stream holds series' complete aggregates (no rebuild needed). */
int cr_wq_stream_covers(const cr_wq_stream *w, int64_t series);
void cr_wq_stream_free(cr_wq_stream *w);

/* One section's class in a period: means of the valid samples per indicator (all parties),
 * censored values as the standard's rule says; a class needs min_samples of the period's kind
 * (sample and day: a day). Sections' water body: the field water_body, else lake when joined to
 * a lake. Returns CR_ENOTFOUND for an unknown section. *n_samples_out (may be NULL) gets the
 * samples seen. */
typedef struct {
    char section_id[64];
    char name[128];
    char section_kind[32];
    char boundary[64];
    int target; /* 1..5 or 0 */
    int lake;   /* water body */
    char reach_id[64];
    char lake_id[64];
} cr_wq_section;

cr_status cr_wq_section_get(cr_store *store, const char *section_id, cr_wq_section *out,
                            cr_error *err);
cr_status cr_wq_section_class(cr_store *store, const cr_standards *s, const cr_wq_section *sec,
                              const cr_period *p, cr_wq_result *out, int64_t *n_samples_out,
                              cr_error *err);
/* The class as JSON: {section_id, name, period, class, target, met, water_body, samples,
 * indicators: [{code, name, unit, value, censored, n, class, limit_target, multiple_target,
 * exceeds_target}], deciding: [codes], main_pollutants: [codes], standard}. */
json_t *cr_wq_result_json(const cr_standards *s, const cr_wq_section *sec, const cr_period *p,
                          const cr_wq_result *r, int64_t n_samples);

/* Every current section's class in a period ([…] of cr_wq_result_json; sections without
 * samples have class null). */
cr_status cr_wq_all_classes(cr_store *store, const cr_standards *s, const cr_period *p,
                            json_t **out, cr_error *err);
/* Every section's latest class: each indicator's latest valid value (the latest table). */
cr_status cr_wq_latest_classes(cr_store *store, const cr_standards *s, json_t **out, cr_error *err);

/* The class table of every current section without the JSON (what the map and the benchmark
 * need): the latest class (month 0), or the classes of each month of a year (one scan of the
 * monthly aggregates in section order, manual results the basis where a month has them). */
typedef struct {
    char section_id[64];
    int month; /* yyyymm, or 0 for the latest */
    int cls;   /* 1..6, 0 when nothing classed */
    int target;
    int met; /* 1, 0, -1 */
} cr_wq_class_row;

/* Rows as JSON: [{section_id, class, target, met}] for the latest, or with months
 * [{section_id, target, months: [{month: "2025-07", class, met}]}]. */
json_t *cr_wq_class_rows_json(const cr_wq_class_row *rows, size_t n, int by_month);
cr_status cr_wq_latest_table(cr_store *store, const cr_standards *s, cr_wq_class_row **rows,
                             size_t *n, cr_error *err);
cr_status cr_wq_monthly_table(cr_store *store, const cr_standards *s, int year,
                              cr_wq_class_row **rows, size_t *n, cr_error *err);

/* One section's daily means of every indicator (or one) between two days, without the JSON:
 * points of {indicator index, day, mean, n_valid} in indicator then day order, all methods and
 * parties but emergency samples pooled. Caller frees *points. */
typedef struct {
    int ind;
    int64_t day;
    double mean;
    int64_t n;
} cr_wq_day_point;

cr_status cr_wq_daily_points(cr_store *store, const cr_standards *s, const char *section_id,
                             int64_t first_day, int64_t last_day, cr_wq_day_point **points,
                             size_t *n, cr_error *err);

/* Write every section's latest class into feature_status (keys wq_class, wq_target_met
 * "met"/"missed", wq_latest) for the tiles, in a transaction of its own that bumps the data
 * generation and marks the sections layer (d) changed, so tile caches drop those tiles. */
cr_status cr_wq_refresh_status(cr_store *store, const cr_standards *s, const cr_layer_def *d,
                               cr_error *err);

/* A section's series of one indicator (or all: NULL) between two times, raw or aggregated by
 * day or month: {section_id, step, series: [{indicator, name, unit, party?, points: [[time,
 * value, n|flag, censored]]}], target_limit per indicator}. */
typedef enum { CR_STEP_RAW = 0, CR_STEP_DAY, CR_STEP_MONTH } cr_wq_step;
cr_status cr_wq_series_json(cr_store *store, const cr_standards *s, const char *section_id,
                            const char *indicator, int64_t from, int64_t to, cr_wq_step step,
                            json_t **out, cr_error *err);

#endif
