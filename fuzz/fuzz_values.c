/* SPDX-License-Identifier: MIT */
/* Numbers, dates and booleans as cells hold them (cr_etl_parse_real, _integer, _date,
 * _datetime, _boolean). Invariants: an accepted number is finite and reads back the same from
 * its own printing; an integer is also a real of the same value; a date is a real calendar
 * day written YYYY-MM-DD and reads back as itself; a date is also a datetime at that day; a
 * datetime's fields are in range and read back as itself; a boolean is 0 or 1; every refusal
 * says why. */
#include "etl/etl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int days_in(int y, int m)
{
    static const int D[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : D[m - 1];
}

static void check_date(const char *d)
{
    int y, m, day;
    char tail;
    assert(strlen(d) == 10 && sscanf(d, "%4d-%2d-%2d%c", &y, &m, &day, &tail) == 3);
    assert(d[4] == '-' && d[7] == '-');
    assert(m >= 1 && m <= 12 && day >= 1 && day <= days_in(y, m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    cr_error e = {0};
    char buf[64];

    double r = NAN, r2 = NAN;
    if (cr_etl_parse_real(text, &r, &e) == CR_OK) {
        assert(isfinite(r));
        snprintf(buf, sizeof buf, "%.17g", r);
        assert(cr_etl_parse_real(buf, &r2, NULL) == CR_OK && r2 == r);
    } else {
        assert(e.msg[0] != '\0');
    }

    int64_t i = 0, i2 = 0;
    memset(&e, 0, sizeof e);
    if (cr_etl_parse_integer(text, &i, &e) == CR_OK) {
        snprintf(buf, sizeof buf, "%" PRId64, i);
        assert(cr_etl_parse_integer(buf, &i2, NULL) == CR_OK && i2 == i);
        assert(cr_etl_parse_real(text, &r2, NULL) == CR_OK);
        assert(llabs(i) > (1LL << 52) || r2 == (double)i);
    } else {
        assert(e.msg[0] != '\0');
    }

    char d[11] = "", d2[11] = "", t[20] = "", t2[20] = "";
    memset(&e, 0, sizeof e);
    if (cr_etl_parse_date(text, d, &e) == CR_OK) {
        check_date(d);
        assert(cr_etl_parse_date(d, d2, NULL) == CR_OK && strcmp(d, d2) == 0);
        assert(cr_etl_parse_datetime(text, t, NULL) == CR_OK && strncmp(t, d, 10) == 0);
    } else {
        assert(e.msg[0] != '\0');
    }
    memset(&e, 0, sizeof e);
    if (cr_etl_parse_datetime(text, t, &e) == CR_OK) {
        int hh, mm, ss;
        assert(strlen(t) == 19 && t[10] == 'T');
        memcpy(d, t, 10);
        d[10] = '\0';
        check_date(d);
        assert(sscanf(t + 11, "%2d:%2d:%2d", &hh, &mm, &ss) == 3);
        assert(hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59 && ss >= 0 && ss <= 60);
        assert(cr_etl_parse_datetime(t, t2, NULL) == CR_OK && strcmp(t, t2) == 0);
    } else {
        assert(e.msg[0] != '\0');
    }

    int b = -1;
    memset(&e, 0, sizeof e);
    if (cr_etl_parse_boolean(text, &b, &e) == CR_OK) {
        assert(b == 0 || b == 1);
    } else {
        assert(e.msg[0] != '\0');
    }
    free(text);
    return 0;
}
