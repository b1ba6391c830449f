/* SPDX-License-Identifier: MIT */
/* Benchmark (not a test): the sudden-change detector on generated automatic series with
 * injected events. N stations report ammonia every 4 hours for a year (seasonal baseline,
 * diurnal swing, lognormal noise 8 %); every station-month gets one event of 1–4 samples at
 * 0.3–5 times the baseline added, at a random time. The series go through the real import and
 * cr_wq_detect with the default parameters; an event is detected when a sudden-change alarm
 * starts within it. Prints one JSON line: detection rate (overall and by size) and false
 * alarms per station-month. Usage: alarm_eval DIR [STATIONS] */
#include "bench_rng.h"
#include "etl/etl.h"
#include "quality/alarms.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bench_rng rng = {0x9E3779B97F4A7C15ull};

static double uniform(void)
{
    return bench_uniform(&rng);
}

static double gauss(void)
{
    return bench_gauss(&rng);
}

typedef struct {
    int station;
    int64_t start, end;
    double factor;
    int found;
} event;

static void die(const char *what, const cr_error *e)
{
    fprintf(stderr, "alarm_eval: %s: %s\n", what, e->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: alarm_eval DIR [STATIONS]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 100;
    cr_store_global_init();
    cr_log_set_level(CR_LOG_WARN);
    char sec_path[1024], rd_path[1024], store_path[1024];
    snprintf(sec_path, sizeof sec_path, "%s/eval_sections.csv", argv[1]);
    snprintf(rd_path, sizeof rd_path, "%s/eval_readings.csv", argv[1]);
    snprintf(store_path, sizeof store_path, "%s/eval.sqlite", argv[1]);
    remove(store_path);
    FILE *s = fopen(sec_path, "w"), *r = fopen(rd_path, "w");
    if (!s || !r) {
        perror(argv[1]);
        return 1;
    }
    fprintf(s, "断面编码,断面名称,断面类型,水质目标,经度,纬度\n");
    fprintf(r, "断面编码,监测时间,氨氮(mg/L)\n");
    event *ev = calloc((size_t)n * 12, sizeof *ev);
    size_t nev = 0;
    for (int i = 0; i < n; i++) {
        fprintf(s, "E%04d,评估站%d,国控,III,%.5f,%.5f\n", i, i, 119.5 + 2 * uniform(),
                30.0 + 2 * uniform());
        double base = 0.15 + 0.6 * uniform();
        /* this station's events: one per month, days 9..26 of the month */
        event mine[12];
        for (int m = 0; m < 12; m++) {
            int day = 9 + (int)(uniform() * 18), slot = (int)(uniform() * 6);
            int64_t t0 = cr_wq_time_from_fields(2025, m + 1, day, slot * 4, 0, 0);
            int len = 1 + (int)(uniform() * 4);
            mine[m] = (event){i, t0, t0 + (len - 1) * 4 * 3600, 0.3 + 4.7 * uniform(), 0};
            ev[nev++] = mine[m];
        }
        int64_t t = cr_wq_time_from_fields(2025, 1, 1, 0, 0, 0);
        int64_t end = cr_wq_time_from_fields(2026, 1, 1, 0, 0, 0);
        for (; t < end; t += 4 * 3600) {
            double doy = (double)(t - cr_wq_time_from_fields(2025, 1, 1, 0, 0, 0)) / 86400;
            double season = 0.5 - 0.5 * cos(2 * M_PI * (doy - 25) / 365);
            double hour = fmod((double)t / 3600, 24);
            double v = base * (1.25 - 0.45 * season) * (1 + 0.05 * sin(2 * M_PI * hour / 24)) *
                       exp(0.08 * gauss());
            for (int m = 0; m < 12; m++) {
                if (t >= mine[m].start && t <= mine[m].end) {
                    v += base * mine[m].factor;
                }
            }
            char when[20];
            cr_wq_time_format(t, when);
            when[10] = ' ';
            fprintf(r, "E%04d,%s,%.4f\n", i, when, v);
        }
    }
    fclose(s);
    fclose(r);
    cr_error e = {0};
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    cr_standards *std = NULL;
    if (cr_layer_set_load(cr_layers_default_dir(), &set, &e) != CR_OK ||
        cr_store_open(store_path, set, &store, &e) != CR_OK ||
        cr_standards_load(NULL, &std, &e) != CR_OK) {
        die("open", &e);
    }
    cr_ingest_options o = {0};
    memcpy(o.region, CR_REGION_TAIHU, sizeof o.region);
    o.crs = "EPSG:4326";
    cr_ingest_result res;
    if (cr_etl_ingest_file(store, cr_layer_set_find(set, "monitoring_sections"), sec_path, &o, &res,
                           &e) != CR_OK) {
        die("sections", &e);
    }
    cr_ingest_options ro = {0};
    ro.method = "automatic";
    if (cr_etl_ingest_readings(store, std, rd_path, &ro, &res, &e) != CR_OK) {
        die("readings", &e);
    }
    cr_wq_alarm_config cfg;
    cr_wq_alarm_config_load(NULL, &cfg, &e);
    cr_wq_detect_result d;
    double t0 = cr_monotonic_s();
    if (cr_wq_detect(store, std, &cfg, 0, &d, &e) != CR_OK) {
        die("detect", &e);
    }
    double detect_s = cr_monotonic_s() - t0;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(cr_store_db(store),
                       "SELECT section_id, start_t, COALESCE(end_t, start_t) FROM wq_alarms"
                       " WHERE rule='sudden_change'",
                       -1, &st, NULL);
    int64_t alarms = 0, false_alarms = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int station = atoi((const char *)sqlite3_column_text(st, 0) + 1);
        int64_t a = sqlite3_column_int64(st, 1), b = sqlite3_column_int64(st, 2);
        int matched = 0;
        for (size_t k = 0; k < nev; k++) {
            if (ev[k].station == station && a <= ev[k].end + 4 * 3600 && b >= ev[k].start) {
                matched = 1;
                ev[k].found |= a >= ev[k].start && a <= ev[k].end;
            }
        }
        alarms++;
        false_alarms += !matched;
    }
    sqlite3_finalize(st);
    int found = 0, band_n[3] = {0}, band_found[3] = {0};
    for (size_t k = 0; k < nev; k++) {
        found += ev[k].found;
        int band = ev[k].factor < 1 ? 0 : ev[k].factor < 2 ? 1 : 2;
        band_n[band]++;
        band_found[band] += ev[k].found;
    }
    printf("{\"stations\": %d, \"values\": %lld, \"events\": %zu, \"detected\": %d, "
           "\"detection_rate\": %.3f, \"detection_rate_by_rise\": {\"0.3-1x\": %.3f, "
           "\"1-2x\": %.3f, \"2-5x\": %.3f}, \"alarms\": %lld, \"false_alarms\": %lld, "
           "\"false_alarms_per_station_month\": %.4f, \"detect_seconds\": %.2f, "
           "\"parameters\": {\"window\": %d, \"z\": %g, \"min_change_rel\": %g}}\n",
           n, (long long)res.values_stored, nev, found, (double)found / (double)nev,
           band_n[0] ? (double)band_found[0] / band_n[0] : 0.0,
           band_n[1] ? (double)band_found[1] / band_n[1] : 0.0,
           band_n[2] ? (double)band_found[2] / band_n[2] : 0.0, (long long)alarms,
           (long long)false_alarms, (double)false_alarms / (n * 12.0), detect_s, cfg.window, cfg.z,
           cfg.min_change_rel);
    free(ev);
    cr_standards_free(std);
    cr_store_close(store);
    cr_layer_set_free(set);
    return 0;
}
