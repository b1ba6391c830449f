/* SPDX-License-Identifier: MIT */
/* Angles as inventories write them (cr_etl_parse_angle: decimal, DMS, 度分秒, full-width,
 * hemispheres). Invariants: an accepted angle is finite and within its axis' range; parsing
 * is the same for the same text; a refusal says why. */
#include "etl/etl.h"

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
    for (int axis = 0; axis < 2; axis++) {
        double deg = NAN, again = NAN;
        cr_error e = {0};
        cr_status rc = cr_etl_parse_angle(text, (cr_axis)axis, &deg, &e);
        if (rc == CR_OK) {
            assert(isfinite(deg) && fabs(deg) <= (axis == CR_AXIS_LON ? 180.0 : 90.0));
            assert(cr_etl_parse_angle(text, (cr_axis)axis, &again, NULL) == CR_OK);
            assert(again == deg);
        } else {
            assert(e.msg[0] != '\0');
        }
    }
    free(text);
    return 0;
}
