/* SPDX-License-Identifier: MIT */
/* Patrol and search parameters (cr_api_patrol_parse, cr_api_search_parse), from a query
 * string "k=v&k=v" as HTTP hands them over. Invariants: an accepted patrol request has its
 * numbers in their documented ranges (or unset), its points on the globe, its date a real day
 * written YYYY-MM-DD, the preset's rivers when a preset is given; an accepted search has a
 * text of 1–100 bytes and a limit of 1–200; every refusal names the parameter. */
#include "api/api.h"
#include "etl/etl.h"
#include "fuzz_params.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int names_a_parameter(const char *msg)
{
    static const char *const P[] = {"preset",    "date",      "mode",      "from",
                                    "to",        "speed_kmh", "dwell_min", "radius_m",
                                    "day_hours", "q:",        "limit",     NULL};
    for (size_t i = 0; P[i]; i++) {
        if (strncmp(msg, P[i], strlen(P[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    json_t *params = fuzz_params(text);
    cr_patrol_request pr;
    cr_error e = {0};
    if (cr_api_patrol_parse(params, &pr, &e) == CR_OK) {
        assert(pr.speed_kmh == 0 || (pr.speed_kmh >= 0.1 && pr.speed_kmh <= 100));
        assert(pr.dwell_min == -1 || (pr.dwell_min >= 0 && pr.dwell_min <= 600));
        assert(pr.radius_m == 0 || (pr.radius_m >= 1 && pr.radius_m <= 20000));
        assert(pr.day_hours == 0 || (pr.day_hours >= 0.5 && pr.day_hours <= 24));
        assert(!pr.has_from || (fabs(pr.from[0]) <= 180 && fabs(pr.from[1]) <= 90));
        assert(!pr.has_to || (fabs(pr.to[0]) <= 180 && fabs(pr.to[1]) <= 90));
        assert(pr.on_foot == 0 || pr.on_foot == 1);
        if (pr.date) {
            char day[11];
            assert(cr_etl_parse_date(pr.date, day, NULL) == CR_OK && strcmp(day, pr.date) == 0);
        }
        if (json_object_get(params, "preset")) {
            assert(strcmp(pr.rivers, CR_PATROL_YIHE_SANHU) == 0);
        }
    } else {
        assert(e.code == CR_EINVAL && names_a_parameter(e.msg));
    }
    const char *q = NULL;
    int limit = 0;
    memset(&e, 0, sizeof e);
    if (cr_api_search_parse(params, &q, &limit, &e) == CR_OK) {
        assert(q && strlen(q) >= 1 && strlen(q) <= 100 && limit >= 1 && limit <= 200);
    } else {
        assert(e.code == CR_EINVAL && names_a_parameter(e.msg));
    }
    json_decref(params);
    free(text);
    return 0;
}
