/* SPDX-License-Identifier: MIT */
/* The body of POST /api/incidents (cr_api_incident_input_json), as any client may send it.
 * Invariants: a body that is not a JSON object, or names a field the incident does not have, or
 * gives a field the wrong type, is refused saying why; an accepted one borrows only strings of
 * the body, numbers are finite and not negative, "at" given as [lon, lat] becomes "LON,LAT". */
#include "api/api.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *body = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, &je);
    cr_incident_input in;
    cr_error e = {0};
    cr_status rc = cr_api_incident_input_json(body, &in, &e);
    if (rc == CR_OK) {
        assert(json_is_object(body));
        const char *strings[] = {in.id,    in.crs,       in.feature,  in.reach,
                                 in.time,  in.substance, in.reporter, in.place,
                                 in.cause, in.response,  in.status,   in.note};
        for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
            assert(strings[i] == NULL || strlen(strings[i]) < size); /* from the body */
        }
        assert(!in.has_amount || (isfinite(in.amount_kg) && in.amount_kg >= 0));
        assert(!in.has_release || (isfinite(in.release_hours) && in.release_hours >= 0));
        assert(!in.has_measure || (isfinite(in.measure_m) && in.measure_m >= 0));
        json_t *at = json_object_get(body, "at");
        if (json_is_array(at)) {
            assert(in.at == in.at_buf && strchr(in.at, ',') != NULL);
        } else {
            assert(in.at == json_string_value(at));
        }
    } else {
        assert(rc == CR_EINVAL && e.msg[0] != '\0');
    }
    json_decref(body);
    return 0;
}
