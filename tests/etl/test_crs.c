/* SPDX-License-Identifier: MIT */
/* Source CRSs checked against PROJ's own cs2cs (an independent process), the Gauss-Krüger
 * zone-prefix rule, and the GCJ-02 / BD-09 iterative inverses. */
#include "etl/etl.h"
#include "test_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Run cs2cs from src to EPSG:4326 on one coordinate given in src's own axis order; returns
 * lon, lat. */
static void cs2cs_to_wgs84(const char *src, double a, double b, double *lon, double *lat)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "echo '%.6f %.6f' | cs2cs -f %%.10f %s EPSG:4326", a, b, src);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    double la = 0;
    double lo = 0;
    assert_int_equal(fscanf(p, "%lf %lf", &la, &lo), 2); /* EPSG:4326 is lat, lon */
    pclose(p);
    *lon = lo;
    *lat = la;
}

static void compare(const char *spec, double east, double north, int proj_north_first)
{
    cr_crs *crs = NULL;
    cr_error e = {0};
    assert_int_equal(cr_crs_open(spec, &crs, &e), CR_OK);
    double lon;
    double lat;
    char method[160];
    assert_int_equal(cr_crs_to_wgs84(crs, east, north, &lon, &lat, method, &e), CR_OK);
    double plon;
    double plat;
    if (proj_north_first) {
        cs2cs_to_wgs84(spec, north, east, &plon, &plat);
    } else {
        cs2cs_to_wgs84(spec, east, north, &plon, &plat);
    }
    /* 1e-8 degrees is about 1 mm. */
    if (fabs(lon - plon) > 1e-8 || fabs(lat - plat) > 1e-8) {
        fail_msg("%s (%f, %f): ours %.10f %.10f, cs2cs %.10f %.10f", spec, east, north, lon, lat,
                 plon, plat);
    }
    cr_crs_free(crs);
}

static void test_transforms_match_cs2cs(void **state)
{
    (void)state;
    /* Geographic CRSs: lat-first in EPSG; we take lon,lat. */
    compare("EPSG:4490", 120.8868, 31.0352, 1);
    compare("EPSG:4326", 120.8868, 31.0352, 1);
    /* Gauss-Krüger 3° zone 40 with prefix, CM 120E without: northing-first in EPSG. */
    compare("EPSG:4528", 40585955.508, 3431322.040, 1);
    compare("EPSG:4549", 585955.508, 3431322.040, 1);
    /* UTM 51N: easting first. */
    compare("EPSG:32651", 298560.0, 3436250.0, 0);
}

static void test_gauss_kruger_prefix_mismatch_is_an_error(void **state)
{
    (void)state;
    cr_crs *with = NULL;
    cr_crs *without = NULL;
    cr_error e = {0};
    assert_int_equal(cr_crs_open("4528", &with, &e), CR_OK);
    assert_int_equal(cr_crs_open("EPSG:4549", &without, &e), CR_OK);
    assert_true(cr_crs_false_easting(with) == 40500000.0);
    assert_true(cr_crs_false_easting(without) == 500000.0);
    assert_int_equal(cr_crs_check_easting(with, 40585955.5, &e), CR_OK);
    assert_int_equal(cr_crs_check_easting(without, 585955.5, &e), CR_OK);
    assert_int_equal(cr_crs_check_easting(with, 585955.5, &e), CR_EINVAL);
    assert_string_equal(e.msg, "easting 585955.500 has no zone prefix, but EPSG:4528 expects "
                               "40-prefixed 8-digit eastings (use the CRS without zone prefix, "
                               "e.g. EPSG:4549 at 120E)");
    assert_int_equal(cr_crs_check_easting(without, 40585955.5, &e), CR_EINVAL);
    assert_string_equal(e.msg, "easting 40585955.500 carries zone prefix 40, but EPSG:4549 "
                               "expects 6-digit eastings (use the zone-prefixed CRS, e.g. "
                               "EPSG:4528 for zone 40)");
    assert_int_equal(cr_crs_check_easting(with, 39585955.5, &e), CR_EINVAL);
    assert_string_equal(e.msg, "easting 39585955.500 is in zone 39, but EPSG:4528 is zone 40");
    cr_crs_free(with);
    cr_crs_free(without);
    assert_int_equal(cr_crs_open("EPSG:999999", &with, &e), CR_EPROJ);
    assert_non_null(strstr(e.msg, "unknown CRS 'EPSG:999999'"));
}

/* Metres between two lon/lat points (equirectangular; fine at centimetre scale). */
static double metres(double lon1, double lat1, double lon2, double lat2)
{
    double kx = 111320.0 * cos(lat1 * M_PI / 180.0);
    return hypot((lon2 - lon1) * kx, (lat2 - lat1) * 110540.0);
}

static void test_gcj02_inverse_under_1cm_where_one_step_is_metres_off(void **state)
{
    (void)state;
    double worst_iter = 0;
    double worst_one_step = 0;
    for (double lon = 120.3; lon < 121.4; lon += 0.05) {
        for (double lat = 30.7; lat < 31.4; lat += 0.05) {
            double glon;
            double glat;
            cr_gcj02_from_wgs84(lon, lat, &glon, &glat);
            /* the shift is the familiar few hundred metres */
            double shift = metres(lon, lat, glon, glat);
            assert_true(shift > 300 && shift < 700);
            double wlon;
            double wlat;
            int n = cr_gcj02_to_wgs84(glon, glat, &wlon, &wlat);
            assert_true(n >= 2 && n < 30);
            worst_iter = fmax(worst_iter, metres(lon, lat, wlon, wlat));
            /* the one-step inverse: subtract the shift computed at the GCJ-02 point */
            double g2lon;
            double g2lat;
            cr_gcj02_from_wgs84(glon, glat, &g2lon, &g2lat);
            double olon = glon - (g2lon - glon);
            double olat = glat - (g2lat - glat);
            worst_one_step = fmax(worst_one_step, metres(lon, lat, olon, olat));
        }
    }
    assert_true(worst_iter < 0.01);
    assert_true(worst_one_step > 0.5); /* why the iteration is needed */
}

static void test_bd09_round_trip_under_1cm(void **state)
{
    (void)state;
    cr_crs *bd = NULL;
    assert_int_equal(cr_crs_open("bd09", &bd, NULL), CR_OK);
    assert_true(cr_crs_is_geographic(bd));
    assert_string_equal(cr_crs_label(bd), "BD-09");
    for (double lon = 120.4; lon < 121.3; lon += 0.1) {
        double glon;
        double glat;
        double blon;
        double blat;
        cr_gcj02_from_wgs84(lon, 31.0, &glon, &glat);
        cr_bd09_from_gcj02(glon, glat, &blon, &blat);
        double wlon;
        double wlat;
        char method[160];
        assert_int_equal(cr_crs_to_wgs84(bd, blon, blat, &wlon, &wlat, method, NULL), CR_OK);
        assert_true(metres(lon, 31.0, wlon, wlat) < 0.01);
        assert_non_null(strstr(method, "BD-09 to GCJ-02 to WGS84"));
    }
    cr_crs_free(bd);
}

static void test_gcj02_is_identity_outside_china(void **state)
{
    (void)state;
    double lon;
    double lat;
    cr_gcj02_from_wgs84(2.35, 48.85, &lon, &lat);
    assert_true(lon == 2.35 && lat == 48.85);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transforms_match_cs2cs),
        cmocka_unit_test(test_gauss_kruger_prefix_mismatch_is_an_error),
        cmocka_unit_test(test_gcj02_inverse_under_1cm_where_one_step_is_metres_off),
        cmocka_unit_test(test_bd09_round_trip_under_1cm),
        cmocka_unit_test(test_gcj02_is_identity_outside_china),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
