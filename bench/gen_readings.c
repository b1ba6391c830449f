/* SPDX-License-Identifier: MIT */
/* Benchmark data (not a test): a national-sized network of monitoring sections with automatic
 * readings, as a station export arrives — wide CSV, one row per sample, sorted by section then
 * time. Usage: gen_readings OUT_DIR [SECTIONS [DAYS [PER_DAY]]] (default 3649 365 6): writes
 * OUT_DIR/sections.csv and OUT_DIR/readings.csv (9 indicators per row). Deterministic. */
#include "bench_rng.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static bench_rng rng = {88172645463325252ull};

static double uniform(void)
{
    return bench_uniform(&rng);
}

static double gauss(void)
{
    return bench_gauss(&rng);
}

static int days_in(int m)
{
    static const int D[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return D[m - 1];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_readings OUT_DIR [SECTIONS [DAYS [PER_DAY]]]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 3649, days = argc > 3 ? atoi(argv[3]) : 365;
    int per_day = argc > 4 ? atoi(argv[4]) : 6;
    char path[1024];
    snprintf(path, sizeof path, "%s/sections.csv", argv[1]);
    FILE *s = fopen(path, "w");
    snprintf(path, sizeof path, "%s/readings.csv", argv[1]);
    FILE *r = fopen(path, "w");
    if (!s || !r) {
        perror(path);
        return 1;
    }
    static const char *targets[] = {"II", "III", "III", "IV"};
    fprintf(s, "断面编码,断面名称,断面类型,水质目标,经度,纬度\n");
    fprintf(r, "断面编码,监测时间,水温,pH,溶解氧,高锰酸盐指数,氨氮,总磷,总氮,电导率,浊度\n");
    for (int i = 0; i < n; i++) {
        fprintf(s, "B%05d,基准断面%d,%s,%s,%.5f,%.5f\n", i, i, i % 3 ? "国控" : "跨界",
                targets[i % 4], 119.0 + 3.0 * uniform(), 29.8 + 2.4 * uniform());
        double nh = 0.2 + 1.2 * uniform(), tp = 0.05 + 0.25 * uniform(), cm = 2 + 6 * uniform();
        int d = 0;
        for (int m = 1; m <= 12 && d < days; m++) {
            for (int day = 1; day <= days_in(m) && d < days; day++, d++) {
                double season = 0.5 - 0.5 * cos(2 * M_PI * (d - 25) / 365.0);
                for (int k = 0; k < per_day; k++) {
                    int h = k * 24 / per_day;
                    double t = 5.5 + 24 * season + 0.8 * sin(2 * M_PI * (h - 9) / 24.0);
                    fprintf(r,
                            "B%05d,2025-%02d-%02d %02d:00:00,%.1f,%.2f,%.2f,%.2f,%.3f,%.3f,%.2f,"
                            "%.0f,%.1f\n",
                            i, m, day, h, t, 7.5 + 0.4 * season + 0.05 * gauss(),
                            (14.6 - 0.39 * t + 0.007 * t * t) * 0.8 * exp(0.03 * gauss()),
                            cm * exp(0.05 * gauss()),
                            nh * (1.25 - 0.45 * season) * exp(0.06 * gauss()),
                            tp * (0.85 + 0.4 * season) * exp(0.05 * gauss()),
                            (1.0 + 2 * nh) * exp(0.04 * gauss()), 420 * exp(0.03 * gauss()),
                            20 * exp(0.15 * gauss()));
                }
            }
        }
    }
    fclose(s);
    return fclose(r) == 0 ? 0 : 1;
}
