/* SPDX-License-Identifier: MIT */
/* DMS angles, numbers, dates, booleans and header folding, as inventories write them. */
#include "etl/etl.h"
#include "test_common.h"

#include <math.h>
#include <proj.h>
#include <stdlib.h>
#include <string.h>

static double angle_ok(const char *text, cr_axis axis)
{
    double v = -999;
    cr_error e = {0};
    cr_status rc = cr_etl_parse_angle(text, axis, &v, &e);
    if (rc != CR_OK) {
        fail_msg("'%s': %s", text, e.msg);
    }
    return v;
}

static void angle_err(const char *text, cr_axis axis, const char *msg)
{
    double v = -999;
    cr_error e = {0};
    assert_int_equal(cr_etl_parse_angle(text, axis, &v, &e), CR_EPARSE);
    assert_string_equal(e.msg, msg);
    assert_true(v == -999); /* out-params untouched on failure */
}

static void test_dms_all_written_forms_agree(void **state)
{
    (void)state;
    const double want = 120.0 + 53.0 / 60 + 12.5 / 3600;
    const char *forms[] = {"120°53'12.5\"E",
                           "120°53′12.5″E",
                           "120度53分12.5秒",
                           "120:53:12.5",
                           "E120 53 12.5",
                           "东经120°53′12.5″",
                           "１２０°５３′１２．５″Ｅ",
                           "120°53’12.5”",
                           "120º53'12.5''",
                           "  120° 53′ 12.5″ E ",
                           "120d53m12.5s"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        if (i == sizeof forms / sizeof forms[0] - 1) {
            angle_err(forms[i], CR_AXIS_LON, "unexpected character 'd'");
            continue;
        }
        double v = angle_ok(forms[i], CR_AXIS_LON);
        if (fabs(v - want) > 1e-12) {
            fail_msg("'%s' gave %.12f, want %.12f", forms[i], v, want);
        }
    }
}

static void test_dms_decimal_and_partial_forms(void **state)
{
    (void)state;
    assert_true(fabs(angle_ok("120.8868", CR_AXIS_LON) - 120.8868) < 1e-12);
    assert_true(fabs(angle_ok("31.05°N", CR_AXIS_LAT) - 31.05) < 1e-12);
    assert_true(fabs(angle_ok("120°53.2083′", CR_AXIS_LON) - (120 + 53.2083 / 60)) < 1e-12);
    assert_true(fabs(angle_ok("30度59分", CR_AXIS_LAT) - (30 + 59.0 / 60)) < 1e-12);
    assert_true(fabs(angle_ok("北纬31度", CR_AXIS_LAT) - 31) < 1e-12);
    assert_true(fabs(angle_ok("-70.5", CR_AXIS_LON) + 70.5) < 1e-12);
    assert_true(fabs(angle_ok("70°30′W", CR_AXIS_LON) + 70.5) < 1e-12);
    assert_true(fabs(angle_ok("S 33 52 0", CR_AXIS_LAT) + (33 + 52.0 / 60)) < 1e-12);
}

static void test_dms_rejects_leftovers_and_bad_parts(void **state)
{
    (void)state;
    angle_err("120°53′x", CR_AXIS_LON, "unexpected character 'x'");
    angle_err("120°53′12.5″E!", CR_AXIS_LON, "unexpected character '!'");
    angle_err("120度53分12.5秒钟", CR_AXIS_LON, "unexpected character '钟'");
    angle_err("120°75′", CR_AXIS_LON, "minutes 75 not below 60");
    angle_err("120°53′60″", CR_AXIS_LON, "seconds 60 not below 60");
    angle_err("31°N", CR_AXIS_LON, "hemisphere N in a longitude");
    angle_err("120°E", CR_AXIS_LAT, "hemisphere E in a latitude");
    angle_err("-120°E", CR_AXIS_LON, "both a sign and a hemisphere letter");
    angle_err("E120 N", CR_AXIS_LON, "two hemisphere letters (E and N)");
    angle_err("120.5°30′", CR_AXIS_LON, "degrees have a fraction but more follows");
    angle_err("120′30°", CR_AXIS_LON, "too many parts or parts out of order");
    angle_err("120 30 15 10", CR_AXIS_LON, "too many parts or parts out of order");
    angle_err("°", CR_AXIS_LON, "unit mark ° without a number");
    angle_err("", CR_AXIS_LON, "empty");
    angle_err("   ", CR_AXIS_LON, "empty");
    angle_err("1.2.3", CR_AXIS_LON, "malformed number at '1.2.3'");
    angle_err("190", CR_AXIS_LON, "longitude 190.000000 outside [-180, 180]");
    angle_err("120.9", CR_AXIS_LAT, "latitude 120.900000 outside [-90, 90]");
}

static void test_numbers_accept_grouping_and_fullwidth(void **state)
{
    (void)state;
    double v;
    int64_t i;
    assert_int_equal(cr_etl_parse_real("12,000.5", &v, NULL), CR_OK);
    assert_true(v == 12000.5);
    assert_int_equal(cr_etl_parse_real("１２３．５", &v, NULL), CR_OK);
    assert_true(v == 123.5);
    assert_int_equal(cr_etl_parse_real(" -3e2 ", &v, NULL), CR_OK);
    assert_true(v == -300);
    assert_int_equal(cr_etl_parse_integer("42.0", &i, NULL), CR_OK);
    assert_int_equal(i, 42);
    cr_error e = {0};
    assert_int_equal(cr_etl_parse_real("12,00", &v, &e), CR_EPARSE);
    assert_string_equal(e.msg, "not a number");
    assert_int_equal(cr_etl_parse_real("nan", &v, &e), CR_EPARSE);
    assert_int_equal(cr_etl_parse_real("0x10", &v, &e), CR_EPARSE);
    assert_string_equal(e.msg, "not a number (unexpected 'x10')");
    assert_int_equal(cr_etl_parse_real("12吨", &v, &e), CR_EPARSE);
    assert_string_equal(e.msg, "unexpected character '吨'");
    assert_int_equal(cr_etl_parse_integer("4.5", &i, &e), CR_EPARSE);
    assert_string_equal(e.msg, "not a whole number");
}

static void test_dates_in_chinese_and_numeric_forms(void **state)
{
    (void)state;
    const char *forms[] = {"2025-06-03",   "2025/6/3", "2025.6.3",
                           "2025年6月3日", "20250603", "２０２５年６月３日"};
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        char out[11];
        cr_error e = {0};
        if (cr_etl_parse_date(forms[k], out, &e) != CR_OK) {
            fail_msg("'%s': %s", forms[k], e.msg);
        }
        assert_string_equal(out, "2025-06-03");
    }
    char dt[20];
    assert_int_equal(cr_etl_parse_datetime("2025/7/9 8:05", dt, NULL), CR_OK);
    assert_string_equal(dt, "2025-07-09T08:05:00");
    assert_int_equal(cr_etl_parse_datetime("2025年7月9日 14时30分", dt, NULL), CR_OK);
    assert_string_equal(dt, "2025-07-09T14:30:00");
    cr_error e = {0};
    char d[11];
    assert_int_equal(cr_etl_parse_date("2025-02-29", d, &e), CR_EPARSE);
    assert_string_equal(e.msg, "no such date 2025-02-29");
    assert_int_equal(cr_etl_parse_date("2024-02-29", d, &e), CR_OK);
    assert_int_equal(cr_etl_parse_date("2025-06-03 10:00", d, &e), CR_EPARSE);
    assert_string_equal(e.msg, "a time of day where a date was expected");
    assert_int_equal(cr_etl_parse_datetime("2025-06-03 25:00", dt, &e), CR_EPARSE);
    assert_string_equal(e.msg, "not a time of day");
}

static void test_booleans_and_header_folding(void **state)
{
    (void)state;
    int b = -1;
    assert_int_equal(cr_etl_parse_boolean("是", &b, NULL), CR_OK);
    assert_int_equal(b, 1);
    assert_int_equal(cr_etl_parse_boolean(" 否 ", &b, NULL), CR_OK);
    assert_int_equal(b, 0);
    assert_int_equal(cr_etl_parse_boolean("Yes", &b, NULL), CR_OK);
    assert_int_equal(b, 1);
    cr_error e = {0};
    assert_int_equal(cr_etl_parse_boolean("也许", &b, &e), CR_EPARSE);
    assert_string_equal(e.msg, "not yes/no (是/否)");
    char *f = cr_text_fold("经度（°）");
    assert_string_equal(f, "经度");
    free(f);
    f = cr_text_fold(" Outfall_ID ");
    assert_string_equal(f, "outfallid");
    free(f);
    f = cr_text_fold("日排放量(m3/d)");
    assert_string_equal(f, "日排放量");
    free(f);
    f = cr_text_trim("\xE3\x80\x80 名称 \t");
    assert_string_equal(f, "名称");
    free(f);
}

/* PROJ's own DMS reader agrees on the ASCII forms it understands (it stops silently at
 * characters it does not know, such as 度 — which is why crossriver has its own). */
static void test_dms_agrees_with_proj_dmstor(void **state)
{
    (void)state;
    const char *forms[] = {"120d53'12.5\"E", "31d2'7.25\"N", "120.8868",       "70d30'W",
                           "33d52'S",        "0d0'0.5\"E",   "179d59'59.99\"W"};
    const char *ours[] = {"120°53'12.5\"E", "31°2'7.25\"N", "120.8868",       "70°30'W",
                          "33°52'S",        "0°0'0.5\"E",   "179°59'59.99\"W"};
    const cr_axis axes[] = {CR_AXIS_LON, CR_AXIS_LAT, CR_AXIS_LON, CR_AXIS_LON,
                            CR_AXIS_LAT, CR_AXIS_LON, CR_AXIS_LON};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *end = NULL;
        double proj_rad = proj_dmstor(forms[i], &end);
        assert_true(end != NULL && *end == '\0');
        double v = angle_ok(ours[i], axes[i]);
        if (fabs(v - proj_rad * 180.0 / M_PI) > 1e-11) {
            fail_msg("'%s': ours %.12f, proj_dmstor %.12f", ours[i], v, proj_rad * 180.0 / M_PI);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dms_all_written_forms_agree),
        cmocka_unit_test(test_dms_decimal_and_partial_forms),
        cmocka_unit_test(test_dms_rejects_leftovers_and_bad_parts),
        cmocka_unit_test(test_dms_agrees_with_proj_dmstor),
        cmocka_unit_test(test_numbers_accept_grouping_and_fullwidth),
        cmocka_unit_test(test_dates_in_chinese_and_numeric_forms),
        cmocka_unit_test(test_booleans_and_header_folding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
