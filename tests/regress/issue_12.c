/* SPDX-License-Identifier: MIT */
/* Issue 12, water quality: classes by GB 3838-2002 against a hand-computed table; readings as
 * they arrive (wide and long, units, censored spellings, flags, parties, every reject reason,
 * re-import, correction); aggregates, section classes, alarms and their lifecycle, the
 * compensation ledger and the two sides' reconciliation against values computed here from the
 * numbers typed in the files. */
#include "etl/etl.h"
#include "quality/alarms.h"
#include "quality/compensation.h"
#include "quality/section_table.h"
#include "test_common.h"
#include "test_store.h"

#include <gdal.h>
#include <gdal_utils.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cr_standards *STD;

static int setup(void **state)
{
    (void)state;
    cr_error e = {0};
    if (cr_standards_load(NULL, &STD, &e) != CR_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cr_standards_free(STD);
    return 0;
}

/* ---- 1. the hand-computed table -------------------------------------------------------- */

typedef struct {
    const char *values; /* "code=value,…" */
    int lake, target;
    int cls;                 /* expected class (6 = 劣V, 0 = none) */
    int met;                 /* expected met (1, 0, -1) */
    const char *deciding;    /* expected deciding codes, ","-joined in indicator order */
    const char *main;        /* expected main pollutants in order */
    const char *multiple_of; /* an indicator whose multiple over the target is checked */
    double multiple;         /* its expected multiple */
} class_case;

/* Limits from GB 3838-2002 Table 1, multiples (C − L)/L worked by hand. */
static const class_case CASES[] = {
    {"nh3n=0.15", 0, 2, 1, 1, "nh3n", "", NULL, 0},          /* on the class I limit */
    {"nh3n=0.1501", 0, 2, 2, 1, "nh3n", "", NULL, 0},        /* just over it */
    {"nh3n=0.5", 0, 2, 2, 1, "nh3n", "", NULL, 0},           /* on the class II limit */
    {"nh3n=1.0", 0, 2, 3, 0, "nh3n", "", "nh3n", 1.0},       /* (1.0 − 0.5)/0.5 */
    {"nh3n=2.0", 0, 3, 5, 0, "nh3n", "nh3n", "nh3n", 1.0},   /* on V; (2 − 1)/1 */
    {"nh3n=2.01", 0, 3, 6, 0, "nh3n", "nh3n", "nh3n", 1.01}, /* 劣V */
    {"do=7.5", 0, 2, 1, 1, "do", "", NULL, 0},               /* DO: a minimum, on I */
    {"do=7.49", 0, 2, 2, 1, "do", "", NULL, 0},
    {"do=2.0", 0, 2, 5, 0, "do", "do", "do", 0}, /* DO has no multiple */
    {"do=1.99", 0, 2, 6, 0, "do", "do", NULL, 0},
    {"ph=6.0", 0, 2, 1, 1, "ph", "", NULL, 0}, /* pH: the 6–9 range, its ends inside */
    {"ph=9.0", 0, 2, 1, 1, "ph", "", NULL, 0},
    {"ph=5.99", 0, 2, 6, 0, "ph", "ph", NULL, 0},
    {"ph=9.01", 0, 2, 6, 0, "ph", "ph", NULL, 0},
    {"tp=0.02", 0, 2, 1, 1, "tp", "", NULL, 0}, /* rivers: I ≤ 0.02 */
    {"tp=0.02", 1, 2, 2, 1, "tp", "", NULL, 0}, /* lakes: 0.01 < 0.02 ≤ 0.025 */
    {"tp=0.1", 0, 2, 2, 1, "tp", "", NULL, 0},
    {"tp=0.1", 1, 3, 4, 0, "tp", "tp", "tp", 1.0}, /* lake III is 0.05 */
    {"tp=0.2", 1, 3, 5, 0, "tp", "tp", "tp", 3.0},
    {"tp=0.21", 1, 3, 6, 0, "tp", "tp", "tp", 3.2},
    {"nh3n=0.4,tn=1.8", 0, 2, 2, 1, "nh3n", "", NULL, 0},   /* TN not classed for rivers */
    {"nh3n=0.4,tn=1.8", 1, 3, 5, 0, "tn", "tn", "tn", 0.8}, /* lakes: 1.5 < 1.8 ≤ 2 */
    {"cod=15", 0, 2, 1, 1, "cod", "", NULL, 0},             /* I and II share 15: I */
    {"cod=15.5", 0, 2, 3, 0, "cod", "", "cod", 0.0333333333333333},
    {"bod5=3", 0, 2, 1, 1, "bod5", "", NULL, 0},
    {"bod5=4", 0, 2, 3, 0, "bod5", "", "bod5", 0.3333333333333333},
    {"codmn=6", 0, 3, 3, 1, "codmn", "", NULL, 0},
    {"codmn=10", 0, 3, 4, 0, "codmn", "codmn", "codmn", 0.6666666666666666},
    {"codmn=15", 0, 3, 5, 0, "codmn", "codmn", "codmn", 1.5},
    /* several: the worst decides; main pollutants worst class first */
    {"codmn=5,nh3n=1.2,tp=0.35", 0, 3, 5, 0, "tp", "tp,nh3n", "nh3n", 0.2},
    /* ties in class V: by multiple over III — codmn 1.333, tp 0.9, nh3n 0.8 */
    {"codmn=14,nh3n=1.8,tp=0.38", 0, 3, 5, 0, "codmn,nh3n,tp", "codmn,tp,nh3n", "tp", 0.9},
    /* four worse than III: three kept — codmn 1.333, bod5 1.0, tp 0.9 */
    {"codmn=14,bod5=8,nh3n=1.8,tp=0.38", 0, 3, 5, 0, "codmn,bod5,nh3n,tp", "codmn,bod5,tp", NULL,
     0},
    {"nh3n=0.75", 0, 2, 3, 0, "nh3n", "", "nh3n", 0.5},
    {"do=4", 0, 2, 4, 0, "do", "do", "do", 0},
    {"temp=25,cond=420", 0, 2, 0, -1, "", "", NULL, 0},   /* nothing classed */
    {"nh3n=0.4", 0, 0, 2, -1, "nh3n", "", NULL, 0},       /* no target: no verdict */
    {"nh3n=1.0", 0, 3, 3, 1, "nh3n", "", NULL, 0},        /* III: no main pollutants */
    {"tp=0.05,tn=1.0", 1, 3, 3, 1, "tp,tn", "", NULL, 0}, /* a lake section on its limits */
    {"oil=0.05,phenol=0.005", 0, 3, 3, 1, "phenol", "", NULL, 0},
    {"hg=0.0001", 0, 2, 3, 0, "hg", "", "hg", 1.0},
};

static size_t parse_values(const char *spec, cr_wq_item *items)
{
    size_t n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        int ind = cr_standards_find_code(STD, tok);
        if (ind < 0) {
            fail_msg("no indicator %s", tok);
        }
        items[n++] = (cr_wq_item){.ind = ind, .value = strtod(eq + 1, NULL), .n = 1};
    }
    return n;
}

static void join_codes(const cr_wq_result *r, const int *idx, size_t n, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i ? "," : "", STD->ind[r->items[idx[i]].ind].code);
    }
}

static void test_classes_match_the_hand_computed_table(void **state)
{
    (void)state;
    assert_true(sizeof CASES / sizeof CASES[0] >= 30);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const class_case *c = &CASES[i];
        cr_wq_item items[CR_WQ_MAX_ITEMS];
        size_t n = parse_values(c->values, items);
        cr_wq_result r;
        cr_wq_classify(STD, items, n, c->lake, c->target, &r);
        char dec[128], mainp[128];
        join_codes(&r, r.deciding, r.n_deciding, dec, sizeof dec);
        join_codes(&r, r.main_pollutants, r.n_main, mainp, sizeof mainp);
        if (r.cls != c->cls || r.met != c->met || strcmp(dec, c->deciding) != 0 ||
            strcmp(mainp, c->main) != 0) {
            fail_msg("case %zu (%s, %s, target %d): class %d met %d deciding '%s' main '%s'; want "
                     "%d %d '%s' '%s'",
                     i, c->values, c->lake ? "lake" : "river", c->target, r.cls, r.met, dec, mainp,
                     c->cls, c->met, c->deciding, c->main);
        }
        if (c->multiple_of) {
            for (size_t k = 0; k < r.n_items; k++) {
                if (strcmp(STD->ind[r.items[k].ind].code, c->multiple_of) == 0 &&
                    fabs(r.items[k].multiple_target - c->multiple) > 1e-9) {
                    fail_msg("case %zu: multiple of %s %.12g, want %.12g", i, c->multiple_of,
                             r.items[k].multiple_target, c->multiple);
                }
            }
        }
    }
    /* a mean that lands a rounding step over a limit is on it: (0.1 + 0.2) / 2 vs 0.15 */
    cr_wq_item m = {.ind = cr_standards_find_code(STD, "nh3n"), .value = (0.1 + 0.2) / 2, .n = 2};
    cr_wq_result r;
    cr_wq_classify(STD, &m, 1, 0, 2, &r);
    assert_int_equal(r.cls, 1);
    assert_string_equal(cr_wq_class_name(6), "劣V");
    assert_int_equal(cr_wq_class_parse("Ⅲ类"), 3);
    assert_int_equal(cr_wq_class_parse("劣Ⅴ"), 6);
}

/* ---- 2. readings as they arrive --------------------------------------------------------- */

static const char *SECTIONS = "断面编码,断面名称,断面类型,水质目标,经度,纬度,水体类型\n"
                              "S-R,河流断面,跨界,II,120.90,31.03,河流\n"
                              "S-L,湖库断面,联合监测,III,120.96,31.14,湖库\n";

/* rows 2–5 good; 6–11 bad, one reason each */
static const char *WIDE =
    "断面编码,监测时间,采样方,氨氮(mg/L),总磷(μg/L),溶解氧,石油类(mg/L),流量(m3/s),数据标识\n"
    "S-R,2025-07-01 08:00,上游,0.40,80,7.2,0.01L,100,有效\n"
    "S-R,2025-07-01 08:00,下游,0.44,120,7.0,ND,100,有效\n"
    "S-R,2025-07-15 08:00,上游,0.60,<20,6.8,<0.02,100,可疑\n"
    "S-R,2025-07-20 08:00,上游,未检出,100,6.0,0.03,100,有效\n"
    "S-X,2025-07-01 08:00,上游,0.4,80,7,0.01,100,有效\n"
    "S-R,2025/7/2 8:00,上游,abc,80,7,0.01,100,有效\n"
    "S-R,2030-01-01 08:00,上游,0.4,80,7,0.01,100,有效\n"
    "S-R,2025-07-01 08:00,上游,0.41,80,7,0.01,100,有效\n"
    "S-R,not a time,上游,0.4,80,7,0.01,100,有效\n"
    "S-R,2025-07-03 08:00,上游,0.4,80,30,0.01,100,有效\n";

static const char *LONG = "断面编码,监测时间,监测项目,监测值,单位,数据标识\n"
                          "S-L,2025-07-05 09:00,总磷,40,µg/L,N\n"
                          "S-L,2025-07-05 09:00,总氮,1.2,mg/L,N\n"
                          "S-L,2025-07-05 09:00,氨氮,0.02,mS/cm,N\n"
                          "S-L,2025-07-05 09:00,砷化氢,0.1,mg/L,N\n"
                          "S-L,2025-07-06 09:00,总磷,0.07,mg/L,M\n"
                          "S-L,2025-08-05 09:00,总氮,1.2,mg/L,N\n"
                          "S-L,2025-09-05 09:00,总氮,1.2,mg/L,N\n";

static void write_file(test_store *t, const char *name, const char *text, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", t->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static cr_ingest_result ingest(test_store *t, const char *name, const char *text,
                               const char *method)
{
    char path[256];
    write_file(t, name, text, path, sizeof path);
    cr_ingest_options o = {0};
    o.method = method;
    cr_ingest_result r;
    cr_error e = {0};
    if (cr_etl_ingest_readings(t->store, STD, path, &o, &r, &e) != CR_OK) {
        fail_msg("%s: %s", name, e.msg);
    }
    return r;
}

static double value_of(test_store *t, const char *where)
{
    char sql[512], out[64];
    snprintf(sql, sizeof sql,
             "SELECT a.value FROM wq_readings a JOIN wq_series r USING (series_id) WHERE %s",
             where);
    test_store_text(t, sql, out, sizeof out);
    if (out[0] == '\0') {
        fail_msg("no reading where %s", where);
    }
    return strtod(out, NULL);
}

static test_store *readings_store(void)
{
    test_store *t = test_store_new();
    test_store_ingest(t, "monitoring_sections", "sections.csv", SECTIONS, "EPSG:4326");
    return t;
}

static int has_reject(test_store *t, int64_t batch, const char *code, int64_t row,
                      const char *needle)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM rejects WHERE batch_id=%lld AND code='%s' AND source_row=%lld"
             " AND instr(reason, '%s') > 0",
             (long long)batch, code, (long long)row, needle);
    return test_store_count(t, sql) == 1;
}

static void test_readings_arrive_wide_and_long(void **state)
{
    (void)state;
    test_store *t = readings_store();
    cr_ingest_result w = ingest(t, "wide.csv", WIDE, NULL);
    assert_int_equal(w.rows_in, 10);
    assert_int_equal(w.stored, 4);
    assert_int_equal(w.rejected, 6);
    assert_int_equal(w.values_stored, 4 * 5);
    assert_true(has_reject(t, w.batch_id, "unknown_section", 6, "S-X"));
    assert_true(has_reject(t, w.batch_id, "value", 7, "is not a number"));
    assert_true(has_reject(t, w.batch_id, "future_time", 8, "2030-01-01"));
    assert_true(has_reject(t, w.batch_id, "duplicate", 9, "given in row 2"));
    assert_true(has_reject(t, w.batch_id, "time", 10, "not a time"));
    assert_true(has_reject(t, w.batch_id, "value_range", 11, "溶解氧"));
    /* units converted, censored kept with their limit, flags and parties kept */
    assert_true(fabs(value_of(t, "r.section_id='S-R' AND r.indicator='tp' AND r.party='upstream'"
                                 " AND a.t=(SELECT MIN(t) FROM wq_readings)") -
                     0.08) < 1e-12);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM wq_readings a JOIN wq_series r"
                                         " USING (series_id) WHERE a.censored=1"),
                     5); /* 0.01L, ND, <20 µg/L, <0.02, 未检出 */
    assert_true(fabs(value_of(t, "r.indicator='nh3n' AND a.censored=1") - 0.025) < 1e-12);
    assert_true(fabs(value_of(t, "r.indicator='tp' AND a.censored=1") - 0.02) < 1e-12);
    assert_true(fabs(value_of(t, "r.indicator='oil' AND a.censored=1 AND r.party='downstream'") -
                     0.01) < 1e-12);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM wq_readings WHERE flag=2"), 5);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM wq_readings a JOIN wq_series r"
                                         " USING (series_id) WHERE r.party='downstream'"),
                     5);
    /* each value keeps its batch and row */
    assert_int_equal(test_store_count(t, "SELECT count(DISTINCT source_row) FROM wq_readings"), 4);
    cr_ingest_result l = ingest(t, "long.csv", LONG, NULL);
    assert_int_equal(l.rows_in, 7);
    assert_int_equal(l.stored, 5);
    assert_true(has_reject(t, l.batch_id, "unit", 4, "mS/cm"));
    assert_true(has_reject(t, l.batch_id, "unknown_indicator", 5, "砷化氢"));
    assert_true(fabs(value_of(t, "r.section_id='S-L' AND r.indicator='tp' AND a.flag=0") - 0.04) <
                1e-12);
    /* re-import: a no-op; a corrected value versions the old one */
    cr_ingest_result again = ingest(t, "wide.csv", WIDE, NULL);
    assert_true(again.already_imported);
    char fixed[4096];
    snprintf(fixed, sizeof fixed, "%s",
             "断面编码,监测时间,采样方,氨氮(mg/L),总磷(μg/L)\n"
             "S-R,2025-07-01 08:00,上游,0.45,80\n");
    cr_ingest_result c = ingest(t, "corrected.csv", fixed, NULL);
    assert_int_equal(c.updated, 1);
    assert_int_equal(c.unchanged, 1);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM wq_readings_old"), 1);
    assert_true(fabs(value_of(t, "r.indicator='nh3n' AND r.party='upstream' AND a.version=2") -
                     0.45) < 1e-12);
    /* undo: the first batch cannot go while the correction stands; the correction can */
    cr_revert_result rv;
    cr_error e = {0};
    assert_int_equal(cr_etl_revert_batch(t->store, w.batch_id, &rv, &e), CR_EINVAL);
    char later[32];
    snprintf(later, sizeof later, "(%lld)", (long long)c.batch_id);
    assert_non_null(strstr(e.msg, later));
    assert_int_equal(cr_etl_revert_batch(t->store, c.batch_id, &rv, &e), CR_OK);
    assert_int_equal(rv.closed, 1);   /* the corrected value */
    assert_int_equal(rv.reopened, 1); /* 0.40 current again, as a new version */
    assert_true(fabs(value_of(t, "r.indicator='nh3n' AND r.party='upstream' AND a.version=3") -
                     0.40) < 1e-12);
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM wq_readings_old"), 2);
    cr_wq_result mr;
    cr_wq_section sec;
    cr_period jul;
    assert_int_equal(cr_wq_section_get(t->store, "S-R", &sec, &e), CR_OK);
    assert_int_equal(cr_wq_period_parse("2025-07", &jul, &e), CR_OK);
    assert_int_equal(cr_wq_section_class(t->store, STD, &sec, &jul, &mr, NULL, &e), CR_OK);
    for (size_t i = 0; i < mr.n_items; i++) {
        if (strcmp(STD->ind[mr.items[i].ind].code, "nh3n") == 0) {
            assert_true(fabs(mr.items[i].value - (0.40 + 0.44 + 0.0125) / 3) < 1e-12);
        }
    }
    test_store_free(t);
}

/* An XLSX as a lab sends it: made here from a CSV by GDAL's own XLSX writer, with a title
 * row above the header (the sheet's row numbers are kept in the rejects). */
static void test_readings_from_a_spreadsheet(void **state)
{
    (void)state;
    test_store *t = readings_store();
    char csv[256], xlsx[256];
    write_file(t, "lab.csv",
               "field1,field2,field3,field4\n"
               "2025年7月 联合监测结果,,,\n"
               "断面编码,采样日期,氨氮(mg/L),总磷(mg/L)\n"
               "S-R,2025-07-08,0.31,0.07\n"
               "S-R,2025-07-09,abc,0.07\n"
               "S-L,2025-07-08,0.12,<0.01\n",
               csv, sizeof csv);
    snprintf(xlsx, sizeof xlsx, "%s/lab.xlsx", t->dir);
    GDALAllRegister();
    GDALDatasetH src = GDALOpenEx(csv, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(src);
    char *argv[] = {"-f", "XLSX", "-lco", "FIELD_TYPES=STRING", NULL};
    GDALVectorTranslateOptions *vo = GDALVectorTranslateOptionsNew(argv, NULL);
    int usage = 0;
    GDALDatasetH out = GDALVectorTranslate(xlsx, NULL, 1, &src, vo, &usage);
    assert_non_null(out);
    GDALClose(out);
    GDALVectorTranslateOptionsFree(vo);
    GDALClose(src);
    char path[256];
    snprintf(path, sizeof path, "%s", xlsx);
    cr_ingest_options o = {0};
    cr_ingest_result r;
    cr_error e = {0};
    if (cr_etl_ingest_readings(t->store, STD, path, &o, &r, &e) != CR_OK) {
        fail_msg("%s", e.msg);
    }
    assert_int_equal(r.rows_in, 3);
    assert_int_equal(r.stored, 2);
    assert_int_equal(r.rejected, 1);
    /* sheet rows: 1 GDAL's header, 2 the title, 3 ours, 4 the first data row, 5 the bad one */
    assert_true(has_reject(t, r.batch_id, "value", 5, "abc"));
    assert_true(fabs(value_of(t, "r.section_id='S-L' AND r.indicator='tp'") - 0.01) < 1e-12);
    test_store_free(t);
}

/* ---- aggregates and classes ------------------------------------------------------------ */

static void class_of(test_store *t, const char *section, const char *period, cr_wq_result *r)
{
    cr_wq_section sec;
    cr_period p;
    cr_error e = {0};
    assert_int_equal(cr_wq_section_get(t->store, section, &sec, &e), CR_OK);
    assert_int_equal(cr_wq_period_parse(period, &p, &e), CR_OK);
    assert_int_equal(cr_wq_section_class(t->store, STD, &sec, &p, r, NULL, &e), CR_OK);
}

static double item(const cr_wq_result *r, const char *code)
{
    for (size_t i = 0; i < r->n_items; i++) {
        if (strcmp(STD->ind[r->items[i].ind].code, code) == 0) {
            return r->items[i].value;
        }
    }
    fail_msg("no %s in the result", code);
    return NAN;
}

static void test_period_means_and_classes(void **state)
{
    (void)state;
    test_store *t = readings_store();
    ingest(t, "wide.csv", WIDE, NULL);
    ingest(t, "long.csv", LONG, NULL);
    /* July at S-R, by hand from WIDE: the suspect row (07-15) is out; 未检出 enters as half of
     * the 0.025 limit; 0.01L and ND (limit 0.01) as 0.005 */
    cr_wq_result r;
    class_of(t, "S-R", "2025-07", &r);
    assert_true(fabs(item(&r, "nh3n") - (0.40 + 0.44 + 0.0125) / 3) < 1e-12);
    assert_true(fabs(item(&r, "tp") - (0.08 + 0.12 + 0.1) / 3) < 1e-12); /* on the II limit */
    assert_true(fabs(item(&r, "do") - (7.2 + 7.0 + 6.0) / 3) < 1e-12);
    assert_true(fabs(item(&r, "oil") - (0.005 + 0.005 + 0.03) / 3) < 1e-12);
    assert_int_equal(r.cls, 2);
    assert_int_equal(r.met, 1);
    /* a day: the two sides' samples of 07-01 */
    class_of(t, "S-R", "2025-07-01", &r);
    assert_true(fabs(item(&r, "nh3n") - 0.42) < 1e-12);
    assert_true(fabs(item(&r, "tp") - 0.1) < 1e-12);
    assert_int_equal(r.cls, 2);
    /* one sample */
    class_of(t, "S-R", "2025-07-20T08:00", &r);
    assert_true(fabs(item(&r, "nh3n") - 0.0125) < 1e-12);
    assert_int_equal(r.cls, 2); /* TP 0.1 decides */
    /* the year needs 4 valid samples: nh3n has 3 */
    class_of(t, "S-R", "2025", &r);
    for (size_t i = 0; i < r.n_items; i++) {
        assert_true(r.items[i].n >= 4 || strcmp(STD->ind[r.items[i].ind].code, "nh3n") != 0);
    }
    /* the lake: TP 40 µg/L is lake class III, TN 1.2 is IV; the maintenance value is out */
    class_of(t, "S-L", "2025-07", &r);
    assert_true(fabs(item(&r, "tp") - 0.04) < 1e-12);
    assert_int_equal(r.cls, 4);
    assert_int_equal(r.met, 0);
    assert_int_equal(r.n_main, 1);
    /* the series at daily step, as the chart and the HTTP route get it */
    json_t *doc = NULL;
    cr_error e = {0};
    assert_int_equal(
        cr_wq_series_json(t->store, STD, "S-R", "nh3n", 0, INT64_MAX / 4, CR_STEP_DAY, &doc, &e),
        CR_OK);
    json_t *ser = json_object_get(doc, "series");
    assert_int_equal(json_array_size(ser), 2); /* upstream and downstream */
    json_t *up = json_array_get(ser, 1);
    assert_string_equal(json_string_value(json_object_get(up, "party")), "upstream");
    json_t *first = json_array_get(json_object_get(up, "points"), 0);
    assert_string_equal(json_string_value(json_array_get(first, 0)), "2025-07-01");
    assert_true(fabs(json_number_value(json_array_get(first, 1)) - 0.40) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(up, "target_limit")) - 0.5) < 1e-12);
    json_decref(doc);
    /* values out of time order: the streamed aggregates give way to a rebuild, same means */
    ingest(t, "unordered.csv",
           "断面编码,监测时间,氨氮(mg/L)\n"
           "S-L,2025-08-20 09:00,0.3\nS-L,2025-08-01 09:00,0.5\nS-L,2025-08-10 09:00,0.4\n"
           "S-L,2025-09-02 09:00,0.2\n",
           "automatic");
    class_of(t, "S-L", "2025-08", &r);
    assert_true(fabs(item(&r, "nh3n") - 0.4) < 1e-12);
    class_of(t, "S-L", "2025-08-01", &r);
    assert_true(fabs(item(&r, "nh3n") - 0.5) < 1e-12);
    class_of(t, "S-L", "2025-09", &r);
    assert_true(fabs(item(&r, "nh3n") - 0.2) < 1e-12);
    /* the lean tables (the map, the benchmark) agree with the classes above */
    cr_wq_class_row *rows = NULL;
    size_t nr = 0;
    assert_int_equal(cr_wq_monthly_table(t->store, STD, 2025, &rows, &nr, &e), CR_OK);
    int seen = 0;
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(rows[i].section_id, "S-L") == 0 && rows[i].month == 202507) {
            assert_int_equal(rows[i].cls, 4);
            assert_int_equal(rows[i].met, 0);
            seen++;
        }
        if (strcmp(rows[i].section_id, "S-R") == 0 && rows[i].month == 202507) {
            assert_int_equal(rows[i].cls, 2);
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    free(rows);
    json_t *latest = NULL;
    assert_int_equal(cr_wq_latest_table(t->store, STD, &rows, &nr, &e), CR_OK);
    assert_int_equal(cr_wq_latest_classes(t->store, STD, &latest, &e), CR_OK);
    assert_int_equal(nr, json_array_size(latest));
    for (size_t i = 0; i < nr; i++) {
        json_t *o = json_array_get(latest, i);
        assert_string_equal(rows[i].section_id,
                            json_string_value(json_object_get(o, "section_id")));
        assert_int_equal(rows[i].cls,
                         cr_wq_class_parse(json_string_value(json_object_get(o, "class"))));
    }
    json_decref(latest);
    free(rows);
    cr_wq_day_point *pts = NULL;
    size_t np = 0;
    cr_period july;
    assert_int_equal(cr_wq_period_parse("2025-07", &july, &e), CR_OK);
    assert_int_equal(
        cr_wq_daily_points(t->store, STD, "S-R", july.first_day, july.last_day, &pts, &np, &e),
        CR_OK);
    int nh3n = cr_standards_find_code(STD, "nh3n");
    for (size_t i = 0; i < np; i++) {
        if (pts[i].ind == nh3n && pts[i].day == july.first_day) {
            assert_true(fabs(pts[i].mean - 0.42) < 1e-12); /* both sides pooled */
            assert_int_equal(pts[i].n, 2);
        }
    }
    free(pts);
    test_store_free(t);
}

/* ---- 3. alarms ------------------------------------------------------------------------- */

/* August at S-R: 4-hourly ammonia around 0.30 (±3 %, deterministic), a spike to 2.0 on the
 * 20th from 08:00 to 16:00, nothing on the 25th and 26th. */
static char *automatic_file(void)
{
    cr_strbuf b = {0};
    cr_strbuf_puts(&b, "断面编码,监测时间,氨氮(mg/L)\n");
    unsigned x = 12345;
    for (int d = 1; d <= 31; d++) {
        for (int h = 0; h < 24; h += 4) {
            if (d == 25 || d == 26) {
                continue;
            }
            x = x * 1103515245u + 12345u;
            double v = 0.30 * (1 + 0.03 * ((double)(x >> 16 & 0x7fff) / 0x7fff * 2 - 1));
            if (d == 20 && h >= 8 && h <= 16) {
                v = 2.0;
            }
            cr_strbuf_printf(&b, "S-R,2025-08-%02d %02d:00,%.4f\n", d, h, v);
        }
    }
    return cr_strbuf_take(&b);
}

static int64_t alarm_count(test_store *t, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM wq_alarms WHERE %s", where);
    return test_store_count(t, sql);
}

static void test_alarms_and_their_lifecycle(void **state)
{
    (void)state;
    test_store *t = readings_store();
    ingest(t, "wide.csv", WIDE, NULL);
    ingest(t, "long.csv", LONG, NULL);
    char *autof = automatic_file();
    ingest(t, "auto.csv", autof, "automatic");
    free(autof);
    cr_wq_alarm_config cfg;
    cr_error e = {0};
    assert_int_equal(cr_wq_alarm_config_load(NULL, &cfg, &e), CR_OK);
    cr_wq_detect_result d;
    /* now = 2025-09-01 00:00: the station last spoke at 08-31 20:00 (the lake's September
     * reading, the newest in the store, would make it silent since) */
    int64_t now = cr_wq_time_from_fields(2025, 9, 1, 0, 0, 0);
    assert_int_equal(cr_wq_detect(t->store, STD, &cfg, now, &d, &e), CR_OK);
    /* the spike: one event from its first value, peak 2.0 */
    if (alarm_count(t, "rule='sudden_change'") != 1) {
        char msg[512];
        test_store_text(t,
                        "SELECT group_concat(message, ' | ') FROM wq_alarms WHERE"
                        " rule='sudden_change'",
                        msg, sizeof msg);
        fail_msg("sudden changes: %s", msg);
    }
    int64_t spike = cr_wq_time_from_fields(2025, 8, 20, 8, 0, 0);
    char where[128];
    snprintf(where, sizeof where, "rule='sudden_change' AND start_t=%lld AND abs(value-2.0)<1e-9",
             (long long)spike);
    assert_int_equal(alarm_count(t, where), 1);
    /* silent from the 24th 20:00 to the 27th 00:00 */
    snprintf(where, sizeof where, "rule='silent' AND start_t=%lld AND end_t=%lld",
             (long long)cr_wq_time_from_fields(2025, 8, 24, 20, 0, 0),
             (long long)cr_wq_time_from_fields(2025, 8, 27, 0, 0, 0));
    assert_int_equal(alarm_count(t, where), 1);
    assert_int_equal(alarm_count(t, "rule='silent'"), 1);
    /* the lake misses III in July, August and September (TN 1.2): three months, one
     * special consultation; S-R meets II every month */
    assert_int_equal(alarm_count(t, "rule='target_missed' AND section_id='S-L'"), 3);
    assert_int_equal(alarm_count(t, "rule='target_missed' AND section_id='S-R'"), 0);
    assert_int_equal(alarm_count(t, "rule='repeated' AND section_id='S-L'"), 1);
    assert_int_equal(alarm_count(t, "rule='class_worse'"), 0);
    assert_int_equal(d.raised, alarm_count(t, "1"));
    /* again: nothing new; with the store's newest reading as now, the silence since 08-31 */
    assert_int_equal(cr_wq_detect(t->store, STD, &cfg, now, &d, &e), CR_OK);
    assert_int_equal(d.raised, 0);
    assert_int_equal(cr_wq_detect(t->store, STD, &cfg, 0, &d, &e), CR_OK);
    assert_int_equal(d.raised, 1);
    assert_int_equal(alarm_count(t, "rule='silent' AND end_t IS NULL"), 1);
    /* the lifecycle: open → reviewed → confirmed → closed, wrong steps refused */
    int64_t id = test_store_count(t, "SELECT alarm_id FROM wq_alarms WHERE rule='sudden_change'");
    assert_int_equal(cr_wq_alarm_step(t->store, id, "closed", "张三", NULL, &e), CR_EINVAL);
    assert_non_null(strstr(e.msg, "reviewed, confirmed, false_alarm"));
    assert_int_equal(cr_wq_alarm_step(t->store, id, "reviewed", "张三", "看过曲线", &e), CR_OK);
    assert_int_equal(cr_wq_alarm_step(t->store, id, "confirmed", "李四", "现场核实", &e), CR_OK);
    assert_int_equal(cr_wq_alarm_step(t->store, id, "reviewed", "李四", NULL, &e), CR_EINVAL);
    assert_int_equal(cr_wq_alarm_step(t->store, id, "closed", "王五", "已处置", &e), CR_OK);
    json_t *a = NULL;
    assert_int_equal(cr_wq_alarm_get(t->store, id, &a, &e), CR_OK);
    json_t *h = json_object_get(a, "history");
    assert_int_equal(json_array_size(h), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "who")), "李四");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 3), "state")),
                        "closed");
    json_decref(a);
    json_t *open = NULL;
    assert_int_equal(cr_wq_alarms_list(t->store, "open", NULL, &open, &e), CR_OK);
    assert_int_equal((int64_t)json_array_size(open), alarm_count(t, "state != 'closed'"));
    json_decref(open);
    test_store_free(t);
}

/* ---- 4. the ledger --------------------------------------------------------------------- */

static json_t *statement(test_store *t, const char *rule_text, const char *period)
{
    char path[256];
    write_file(t, "rule.json", rule_text, path, sizeof path);
    json_t *rule = NULL;
    cr_error e = {0};
    if (cr_wq_rule_load(path, STD, &rule, &e) != CR_OK) {
        fail_msg("%s", e.msg);
    }
    cr_period p;
    assert_int_equal(cr_wq_period_parse(period, &p, &e), CR_OK);
    json_t *st = NULL;
    if (cr_wq_compensation(t->store, STD, rule, path, &p, &st, &e) != CR_OK) {
        fail_msg("%s", e.msg);
    }
    json_decref(rule);
    return st;
}

static void test_compensation_in_three_forms(void **state)
{
    (void)state;
    test_store *t = readings_store();
    ingest(t, "wide.csv", WIDE, NULL);
    ingest(t, "long.csv", LONG, NULL);
    /* per tonne, July at S-R: flow 100 m³/s from the flow series; 31 days */
    json_t *st = statement(t,
                           "{\"agreement\": \"t\", \"version\": \"1\", \"form\": \"per_tonne\","
                           " \"sections\": [\"S-R\"], \"parties\": {\"upstream\": \"A\","
                           " \"downstream\": \"B\"}, \"both_ways\": true, \"reward_factor\": 0.5,"
                           " \"indicators\": {\"nh3n\": {\"price_yuan_per_tonne\": 10000},"
                           " \"tp\": {\"price_yuan_per_tonne\": 50000}}}",
                           "2025-07");
    double seconds = 31 * 86400.0;
    double nh3n = (0.40 + 0.44 + 0.0125) / 3, tp = (0.08 + 0.12 + 0.1) / 3;
    double want = round((nh3n - 0.5) * 100 * seconds / 1e6 * 10000 * 0.5 +
                        (tp - 0.1) * 100 * seconds / 1e6 * 50000 * 0.5);
    json_t *m = json_array_get(
        json_object_get(json_array_get(json_object_get(st, "sections"), 0), "months"), 0);
    assert_true(fabs(json_number_value(json_object_get(m, "flow_m3s")) - 100) < 1e-9);
    assert_non_null(strstr(json_string_value(json_object_get(m, "flow_source")), "flow series"));
    assert_true(fabs(json_number_value(json_object_get(st, "total_yuan")) - want) < 0.5);
    assert_true(want < 0); /* better than the target: the downstream side pays */
    assert_string_equal(json_string_value(json_object_get(st, "payer")), "B");
    /* every value used is cited: nh3n, tp and the flow of July, valid or not */
    assert_int_equal(json_array_size(json_object_get(st, "citations")), 12);
    cr_strbuf csv = {0};
    cr_wq_compensation_csv(st, &csv);
    assert_memory_equal(csv.data, "\xEF\xBB\xBF", 3);
    assert_non_null(strstr(csv.data, "\"S-R\",\"nh3n\",\"2025-07-01T08:00:00\""));
    cr_strbuf_cleanup(&csv);
    json_decref(st);
    /* weighted index: P = 1 × (0.5 × nh3n/0.5 + 0.5 × tp/0.1) ≤ 1: downstream pays a twelfth */
    st = statement(t,
                   "{\"agreement\": \"w\", \"version\": \"1\", \"form\": \"weighted_index\","
                   " \"sections\": [\"S-R\"], \"parties\": {\"upstream\": \"A\", \"downstream\":"
                   " \"B\"}, \"K\": 1, \"weights\": {\"nh3n\": 0.5, \"tp\": 0.5}, \"baselines\":"
                   " {\"nh3n\": 0.5, \"tp\": 0.1}, \"amount_yuan\": 1200000}",
                   "2025-07");
    m = json_array_get(
        json_object_get(json_array_get(json_object_get(st, "sections"), 0), "months"), 0);
    assert_true(fabs(json_number_value(json_object_get(m, "P")) - (nh3n + 0.5 * tp / 0.1)) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(st, "total_yuan")) + 100000) < 0.5);
    json_decref(st);
    /* tiers at the lake, July: TN multiple over III (1.2 − 1)/1 = 0.2, on the first tier's
     * bound */
    st = statement(t,
                   "{\"agreement\": \"x\", \"version\": \"1\", \"form\": \"tiers\", \"sections\":"
                   " [\"S-L\"], \"parties\": {\"upstream\": \"A\", \"downstream\": \"B\"},"
                   " \"tiers\": [{\"max_multiple\": 0.2, \"yuan\": 200000}, {\"max_multiple\":"
                   " 0.5, \"yuan\": 500000}, {\"yuan\": 900000}]}",
                   "2025-07");
    assert_true(fabs(json_number_value(json_object_get(st, "total_yuan")) - 200000) < 0.5);
    assert_string_equal(json_string_value(json_object_get(st, "payer")), "A");
    json_decref(st);
    test_store_free(t);
}

/* ---- 5. the section table and the reconciliation --------------------------------------- */

static void test_section_table_and_reconciliation(void **state)
{
    (void)state;
    test_store *t = readings_store();
    ingest(t, "wide.csv", WIDE, NULL);
    json_t *rows = NULL;
    cr_error e = {0};
    assert_int_equal(cr_wq_section_table(t->store, &rows, &e), CR_OK);
    assert_int_equal(json_array_size(rows), 2);
    cr_strbuf b = {0};
    cr_wq_section_table_csv(rows, &b);
    assert_non_null(strstr(b.data, "\"S-L\",\"湖库断面\",\"\",\"联合监测\"")); /* in Chinese */
    cr_strbuf_cleanup(&b);
    json_decref(rows);
    cr_wq_tolerance tol;
    assert_int_equal(cr_wq_tolerance_load(NULL, &tol, &e), CR_OK);
    json_t *cmp = NULL;
    assert_int_equal(cr_wq_compare_parties(t->store, STD, &tol, NULL, &cmp, &e), CR_OK);
    /* 07-01: five indicators measured by both; TP 0.08 vs 0.12 (40 %) is flagged, ammonia
     * 0.40 vs 0.44 (9.5 %) is not, both oils below detection agree */
    assert_int_equal(json_array_size(cmp), 5);
    size_t i, flagged = 0;
    json_t *o;
    json_array_foreach(cmp, i, o)
    {
        if (json_is_true(json_object_get(o, "flagged"))) {
            flagged++;
            assert_string_equal(json_string_value(json_object_get(o, "indicator")), "tp");
        }
    }
    assert_int_equal(flagged, 1);
    json_decref(cmp);
    json_decref(tol.absolute);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_match_the_hand_computed_table),
        cmocka_unit_test(test_readings_arrive_wide_and_long),
        cmocka_unit_test(test_readings_from_a_spreadsheet),
        cmocka_unit_test(test_period_means_and_classes),
        cmocka_unit_test(test_alarms_and_their_lifecycle),
        cmocka_unit_test(test_compensation_in_three_forms),
        cmocka_unit_test(test_section_table_and_reconciliation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
