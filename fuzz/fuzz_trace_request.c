/* SPDX-License-Identifier: MIT */
/* Trace requests (cr_api_trace_parse), from a query string "k=v&k=v" as HTTP hands them over.
 * Invariants: an accepted request has exactly one start, a direction, bounds within their
 * ranges (a bound of 0 is a bound), an origin only for a reach start and no upstream spill; a
 * refusal says why; the command-line spelling gives the same verdict, except that the table
 * format is the command line's alone (HTTP refuses it; the command line decides the rest as for
 * json). */
#include "api/api.h"
#include "fuzz_params.h"

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
    json_t *params = fuzz_params(text);
    cr_trace_request req, cli;
    cr_error e = {0}, e2 = {0};
    const char *format = json_string_value(json_object_get(params, "format"));
    if (format && strcmp(format, "table") == 0) {
        assert(cr_api_trace_parse(params, 0, &req, &e) == CR_EINVAL && e.msg[0] != '\0');
        json_object_set_new(params, "format", json_string("json"));
    }
    cr_status rc = cr_api_trace_parse(params, 0, &req, &e);
    assert(cr_api_trace_parse(params, 1, &cli, &e2) == rc);
    if (rc == CR_OK) {
        assert((req.reach != NULL) + (req.feature != NULL) + req.at == 1);
        assert(req.direction == CR_TRACE_UP || req.direction == CR_TRACE_DOWN);
        assert(!req.has_max_km || (req.max_km >= 0 && req.max_km <= 1e5));
        assert(!req.has_max_hours || (req.max_hours >= 0 && req.max_hours <= 1e6));
        assert(!req.at || (fabs(req.lon) <= 180 && fabs(req.lat) <= 90));
        assert(req.origin == CR_ORIGIN_START || req.reach != NULL);
        assert(!(req.spill_kg > 0 && req.direction == CR_TRACE_UP));
    } else {
        assert(rc == CR_EINVAL && e.msg[0] != '\0' && e2.msg[0] != '\0');
    }
    json_decref(params);
    free(text);
    return 0;
}
