/* SPDX-License-Identifier: MIT */
/* Benchmark (not a test): the readings queries on a store built by bench/readings_bench.sh,
 * timed in this process (the PostgreSQL peer is timed by psql in the same run). Each twice:
 * the query itself (rows in memory, as PostgreSQL returns rows to psql) and the JSON answer
 * the HTTP API and the command line build on it.
 *   latest  — the latest class of every section (cr_wq_latest_table; cr_wq_latest_classes)
 *   year    — one section's year at daily step, every indicator (cr_wq_daily_points;
 *             cr_wq_series_json), median of 200 sections
 *   monthly — the monthly classes of every section for the year (cr_wq_monthly_table;
 *             cr_wq_all_classes × 12)
 * Usage: readings_bench STORE YEAR; prints one JSON line. */
#include "quality/quality.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, const cr_error *e)
{
    fprintf(stderr, "readings_bench: %s: %s\n", what, e->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: readings_bench STORE YEAR\n");
        return 2;
    }
    cr_store_global_init();
    cr_log_set_level(CR_LOG_WARN);
    cr_error e = {0};
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    cr_standards *std = NULL;
    if (cr_layer_set_load(cr_layers_default_dir(), &set, &e) != CR_OK ||
        cr_store_open_readonly(argv[1], set, &store, &e) != CR_OK ||
        cr_standards_load(NULL, &std, &e) != CR_OK) {
        die("open", &e);
    }
    /* the lean queries first, then the JSON answers (whose many small frees would otherwise
     * be paid for by the next lean run's allocations) */
    double lat[21], latj[21], yr[200], yrj[200], mon[3], monj = 0;
    size_t sections = 0, points = 0, classed = 0;
    for (int i = 0; i < 21; i++) {
        cr_wq_class_row *rows = NULL;
        size_t n = 0;
        double t0 = cr_monotonic_s();
        if (cr_wq_latest_table(store, std, &rows, &n, &e) != CR_OK) {
            die("latest", &e);
        }
        lat[i] = (cr_monotonic_s() - t0) * 1000;
        sections = n;
        free(rows);
    }
    cr_period year;
    if (cr_wq_period_parse(argv[2], &year, &e) != CR_OK) {
        die("year", &e);
    }
    char ids[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(ids[i], sizeof ids[i], "B%05zu", (size_t)(i * 7919) % (sections ? sections : 1));
    }
    for (int i = 0; i < 200; i++) {
        cr_wq_day_point *pts = NULL;
        size_t np = 0;
        double t0 = cr_monotonic_s();
        if (cr_wq_daily_points(store, std, ids[i], year.first_day, year.last_day, &pts, &np, &e) !=
            CR_OK) {
            die(ids[i], &e);
        }
        yr[i] = (cr_monotonic_s() - t0) * 1000;
        points = np;
        free(pts);
    }
    int y = atoi(argv[2]);
    for (int r = 0; r < 3; r++) {
        cr_wq_class_row *rows = NULL;
        size_t n = 0;
        double t0 = cr_monotonic_s();
        if (cr_wq_monthly_table(store, std, y, &rows, &n, &e) != CR_OK) {
            die("monthly", &e);
        }
        mon[r] = (cr_monotonic_s() - t0) * 1000;
        classed = n;
        free(rows);
    }
    for (int i = 0; i < 21; i++) {
        json_t *out = NULL;
        double t0 = cr_monotonic_s();
        if (cr_wq_latest_classes(store, std, &out, &e) != CR_OK) {
            die("latest", &e);
        }
        latj[i] = (cr_monotonic_s() - t0) * 1000;
        json_decref(out);
    }
    for (int i = 0; i < 200; i++) {
        json_t *out = NULL;
        double t0 = cr_monotonic_s();
        if (cr_wq_series_json(store, std, ids[i], NULL, year.first_day * 86400,
                              year.last_day * 86400 + 86399, CR_STEP_DAY, &out, &e) != CR_OK) {
            die(ids[i], &e);
        }
        yrj[i] = (cr_monotonic_s() - t0) * 1000;
        json_decref(out);
    }
    double t0 = cr_monotonic_s();
    for (int m = 1; m <= 12; m++) {
        char label[16];
        snprintf(label, sizeof label, "%04d-%02d", y, m);
        cr_period p;
        cr_wq_period_parse(label, &p, NULL);
        json_t *out = NULL;
        if (cr_wq_all_classes(store, std, &p, &out, &e) != CR_OK) {
            die("monthly", &e);
        }
        json_decref(out);
    }
    monj = (cr_monotonic_s() - t0) * 1000;
    qsort(lat, 21, sizeof lat[0], cmp);
    qsort(latj, 21, sizeof latj[0], cmp);
    qsort(yr, 200, sizeof yr[0], cmp);
    qsort(yrj, 200, sizeof yrj[0], cmp);
    qsort(mon, 3, sizeof mon[0], cmp);
    printf("{\"sections\": %zu, \"latest_ms\": {\"median\": %.3f, \"json_median\": %.2f}, "
           "\"year_daily_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"json_p50\": %.3f, "
           "\"points\": %zu}, \"monthly_all_ms\": {\"best\": %.1f, \"json\": %.1f, "
           "\"classes\": %zu}}\n",
           sections, lat[10], latj[10], yr[100], yr[197], yrj[100], points, mon[0], monj, classed);
    cr_standards_free(std);
    cr_store_close(store);
    cr_layer_set_free(set);
    return 0;
}
