/* SPDX-License-Identifier: MIT */
/* Issue 11, structure, point 7: GEOS and GDAL never print — their messages reach the caller's
 * error or cr_log — and a file GDAL cannot open gets an error that names it and says why. */
#include "etl/etl.h"
#include "geo/handlers.h"
#include "test_common.h"
#include "test_store.h"

#include <cpl_error.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Run fn with stderr going to a temporary file; its text into out. */
static void capture_stderr(void (*fn)(void), char *out, size_t n)
{
    char path[] = "/tmp/cr_stderr_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, out, n - 1);
    out[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(path);
}

static void gdal_failure(void)
{
    cr_gdal_init();
    CPLError(CE_Failure, CPLE_AppDefined, "a GDAL failure for the test");
}

static void test_gdal_messages_go_to_the_log(void **state)
{
    (void)state;
    char text[512];
    cr_log_set_level(CR_LOG_OFF);
    capture_stderr(gdal_failure, text, sizeof text);
    assert_string_equal(text, ""); /* GDAL's own handler would print "ERROR 1: ..." */
    cr_log_set_level(CR_LOG_ERROR);
    capture_stderr(gdal_failure, text, sizeof text);
    assert_non_null(strstr(text, "gdal"));
    assert_non_null(strstr(text, "a GDAL failure for the test"));
    assert_null(strstr(text, "ERROR 1:"));
    cr_log_set_level(CR_LOG_WARN);
}

static void test_geos_errors_are_kept_for_the_caller(void **state)
{
    (void)state;
    cr_geos_messages m;
    GEOSContextHandle_t h = cr_geos_init(&m, "test", CR_LOG_DEBUG);
    assert_non_null(h);
    assert_string_equal(m.last, "");
    GEOSWKBReader *r = GEOSWKBReader_create_r(h);
    const unsigned char bad[] = {1, 2, 0, 0, 0, 9, 9}; /* a line with a truncated point list */
    assert_null(GEOSWKBReader_read_r(h, r, bad, sizeof bad));
    assert_true(strlen(m.last) > 0);
    GEOSWKBReader_destroy_r(h, r);
    GEOS_finish_r(h);
}

static void test_unreadable_file_named_with_a_reason(void **state)
{
    (void)state;
    test_store *t = test_store_new();
    char path[160];
    snprintf(path, sizeof path, "%s/damaged.gpkg", t->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not a GeoPackage", fp);
    fclose(fp);
    cr_ingest_options o = {0};
    cr_ingest_result res = {0};
    cr_error err = {0};
    const cr_layer_def *d = cr_layer_set_find(t->set, "outfalls");
    assert_non_null(d);
    assert_int_not_equal(cr_etl_ingest_file(t->store, d, path, &o, &res, &err), CR_OK);
    assert_non_null(strstr(err.msg, "damaged.gpkg"));
    assert_non_null(strstr(err.msg, "not a vector format GDAL knows"));
    assert_int_equal(test_store_count(t, "SELECT count(*) FROM outfalls"), 0);
    cr_ingest_result_cleanup(&res);
    test_store_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdal_messages_go_to_the_log),
        cmocka_unit_test(test_geos_errors_are_kept_for_the_caller),
        cmocka_unit_test(test_unreadable_file_named_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
