/* SPDX-License-Identifier: MIT */
/* The cells of a readings file as labs and stations write them: the value
 * (cr_etl_parse_reading_value: numbers, 未检出, ND, <0.02, ＜0.02, 0.02L) on the first line, the
 * sampling time (cr_etl_parse_reading_time) on the second, an optional time of day after a tab.
 * Invariants: an accepted value is finite, a censored one has a limit above 0 or is a bare
 * 未检出/ND (0); an accepted time prints and parses back to itself; the same text gives the
 * same answer; a refusal says why. */
#include "etl/etl.h"
#include "quality/quality.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *when = strchr(text, '\n');
    if (when) {
        *when++ = '\0';
    }
    double v = NAN, again = NAN;
    int censored = -1, c2 = -1;
    cr_error e = {0};
    if (cr_etl_parse_reading_value(text, &v, &censored, &e) == CR_OK) {
        assert(isfinite(v));
        assert(censored == 0 || censored == 1);
        assert(!censored || v >= 0);
        assert(cr_etl_parse_reading_value(text, &again, &c2, NULL) == CR_OK);
        assert(again == v && c2 == censored);
    } else {
        assert(e.msg[0] != '\0');
    }
    if (when) {
        char *clock = strchr(when, '\t');
        if (clock) {
            *clock++ = '\0';
        }
        int64_t t = 0, t2 = 0;
        cr_error te = {0};
        if (cr_etl_parse_reading_time(when, clock, &t, &te) == CR_OK) {
            char iso[20];
            cr_wq_time_format(t, iso);
            assert(cr_etl_parse_reading_time(iso, NULL, &t2, NULL) == CR_OK);
            assert(t2 == t);
        } else {
            assert(te.msg[0] != '\0');
        }
    }
    free(text);
    return 0;
}
