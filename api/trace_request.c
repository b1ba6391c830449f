/* SPDX-License-Identifier: MIT */
/* One trace request, one parser: key/value parameters (HTTP query strings, the command line's
 * options, an evidence case's trace object) into a validated cr_trace_request with one set of
 * messages. Rule: every caller goes through cr_api_trace_parse; nothing else reads them. */
#include "api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parameter as its caller knows it: max_km over HTTP, --max-km on the command line. */
static const char *shown(const char *key, int cli, char buf[40])
{
    if (!cli) {
        return key;
    }
    snprintf(buf, 40, "--%s", key);
    for (char *p = buf; *p; p++) {
        *p = *p == '_' ? '-' : *p;
    }
    return buf;
}

/* The text of a value: strings as they are, numbers written out (an evidence case's JSON). */
static const char *value_text(const json_t *v, char buf[64])
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_number(v)) {
        snprintf(buf, 64, "%.17g", json_number_value(v));
        return buf;
    }
    if (json_is_true(v) || json_is_false(v)) {
        return json_is_true(v) ? "1" : "0";
    }
    return NULL;
}

static const char *const KEYS[] = {
    "reach",          "feature",   "at",       "direction",   "mode",
    "max_km",         "max_hours", "velocity", "dispersion",  "gates_closed",
    "gates_reversed", "stop_at",   "spill_kg", "spill_hours", "exclude_start",
    "origin",         "format",    "gates_at"};

static cr_status check_keys(const json_t *params, int cli, cr_error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)params, key, val)
    {
        int known = 0;
        for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
            known |= strcmp(key, KEYS[i]) == 0;
        }
        char b[40];
        if (!known) {
            return cr_error_set(err, CR_EINVAL, "unknown parameter '%.64s' (see docs/%s)",
                                shown(key, cli, b), cli ? "tracing.md" : "http-api.md");
        }
        char t[64];
        if (strcmp(key, "at") != 0 && value_text(val, t) == NULL) {
            return cr_error_set(err, CR_EINVAL, "%s: a value is needed", shown(key, cli, b));
        }
    }
    return CR_OK;
}

/* One of the words allowed, or an error naming them. */
static cr_status one_of(const json_t *params, const char *key, int cli, const char *const *words,
                        const char **out, cr_error *err)
{
    char b[40], t[64];
    const char *v = value_text(json_object_get(params, key), t);
    *out = NULL;
    if (v == NULL) {
        return CR_OK;
    }
    cr_strbuf list = {0};
    for (size_t i = 0; words[i]; i++) {
        if (strcmp(v, words[i]) == 0) {
            *out = words[i];
            cr_strbuf_cleanup(&list);
            return CR_OK;
        }
        cr_strbuf_printf(&list, "%s%s", i ? (words[i + 1] ? ", " : " or ") : "", words[i]);
    }
    cr_status rc =
        cr_error_set(err, CR_EINVAL, "%s: %s, not '%.32s'", shown(key, cli, b), list.data, v);
    cr_strbuf_cleanup(&list);
    return rc;
}

static cr_status start_point(const json_t *params, int cli, cr_trace_request *req, cr_error *err)
{
    char b[40];
    const json_t *at = json_object_get(params, "at");
    if (at == NULL) {
        return CR_OK;
    }
    req->at = 1;
    if (json_is_array(at) && json_array_size(at) == 2 && json_is_number(json_array_get(at, 0)) &&
        json_is_number(json_array_get(at, 1))) {
        req->lon = json_number_value(json_array_get(at, 0));
        req->lat = json_number_value(json_array_get(at, 1));
        if (fabs(req->lon) <= 180 && fabs(req->lat) <= 90) {
            return CR_OK;
        }
    } else if (json_is_string(at) &&
               cr_api_parse_point(json_string_value(at), &req->lon, &req->lat)) {
        return CR_OK;
    }
    return cr_error_set(err, CR_EINVAL, "%s: LON,LAT in degrees", shown("at", cli, b));
}

static cr_status numbers(const json_t *params, int cli, cr_trace_request *req, cr_error *err)
{
    const struct {
        const char *key;
        double *out;
        int *given;
    } NUMBERS[] = {
        {"max_km", &req->max_km, &req->has_max_km},
        {"max_hours", &req->max_hours, &req->has_max_hours},
        {"velocity", &req->velocity_ms, NULL},
        {"dispersion", &req->dispersion_m2s, NULL},
        {"spill_kg", &req->spill_kg, NULL},
        {"spill_hours", &req->spill_hours, NULL},
    };
    for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
        char b[40], t[64];
        const char *text = value_text(json_object_get(params, NUMBERS[i].key), t);
        if (text == NULL) {
            continue;
        }
        cr_status rc = cr_api_trace_number(NUMBERS[i].key, shown(NUMBERS[i].key, cli, b), text,
                                           NUMBERS[i].out, err);
        if (rc != CR_OK) {
            return rc;
        }
        if (NUMBERS[i].given) {
            *NUMBERS[i].given = 1;
        }
    }
    return CR_OK;
}

cr_status cr_api_trace_parse(const json_t *params, int cli_names, cr_trace_request *req,
                             cr_error *err)
{
    static const char *const DIRECTIONS[] = {"up", "down", NULL};
    static const char *const MODES[] = {"all", "main", NULL};
    static const char *const STOPS[] = {"section", "boundary", NULL};
    static const char *const ORIGINS[] = {"start", "inlet", "outlet", NULL};
    static const char *const FLAGS[] = {"0", "1", NULL};
    static const char *const CLI_FORMATS[] = {"json", "geojson", "table", NULL};
    static const char *const HTTP_FORMATS[] = {"json", "geojson", NULL};
    memset(req, 0, sizeof *req);
    int cli = cli_names;
    char b[40];
    const char *dir = NULL, *mode = NULL, *origin = NULL, *exclude = NULL, *format = NULL;
    cr_status rc = check_keys(params, cli, err);
    if (rc == CR_OK) {
        rc = one_of(params, "direction", cli, DIRECTIONS, &dir, err);
    }
    if (rc == CR_OK) {
        rc = one_of(params, "mode", cli, MODES, &mode, err);
    }
    if (rc == CR_OK) {
        rc = one_of(params, "stop_at", cli, STOPS, &req->stop_at, err);
    }
    if (rc == CR_OK) {
        rc = one_of(params, "origin", cli, ORIGINS, &origin, err);
    }
    if (rc == CR_OK) {
        rc = one_of(params, "exclude_start", cli, FLAGS, &exclude, err);
    }
    if (rc == CR_OK) {
        rc = one_of(params, "format", cli, cli ? CLI_FORMATS : HTTP_FORMATS, &format, err);
    }
    if (rc == CR_OK) {
        rc = start_point(params, cli, req, err);
    }
    if (rc == CR_OK) {
        rc = numbers(params, cli, req, err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    req->reach = json_string_value(json_object_get(params, "reach"));
    req->feature = json_string_value(json_object_get(params, "feature"));
    req->gates_closed = json_string_value(json_object_get(params, "gates_closed"));
    req->gates_reversed = json_string_value(json_object_get(params, "gates_reversed"));
    req->gates_at = json_string_value(json_object_get(params, "gates_at"));
    if ((req->reach != NULL) + (req->feature != NULL) + req->at != 1) {
        return cli ? cr_error_set(err, CR_EINVAL,
                                  "give one of --reach, --feature, --at, and --direction")
                   : cr_error_set(err, CR_EINVAL, "give exactly one of reach, feature, at");
    }
    if (dir == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: up or down is required",
                            shown("direction", cli, b));
    }
    req->direction = strcmp(dir, "up") == 0 ? CR_TRACE_UP : CR_TRACE_DOWN;
    req->main_only = mode && strcmp(mode, "main") == 0;
    req->exclude_start = exclude && strcmp(exclude, "1") == 0;
    req->origin = origin == NULL || strcmp(origin, "start") == 0 ? CR_ORIGIN_START
                  : strcmp(origin, "inlet") == 0                 ? CR_ORIGIN_INLET
                                                                 : CR_ORIGIN_OUTLET;
    req->geojson = format && strcmp(format, "geojson") == 0;
    req->table = format && strcmp(format, "table") == 0;
    if (req->spill_kg > 0 && req->direction != CR_TRACE_DOWN) {
        return cr_error_set(err, CR_EINVAL, "a spill estimate goes downstream (%s down)",
                            shown("direction", cli, b));
    }
    if (req->origin != CR_ORIGIN_START && req->reach == NULL) {
        return cr_error_set(err, CR_EINVAL,
                            "%s inlet|outlet measures from an end of the start reach: give "
                            "%s",
                            shown("origin", cli, b), cli ? "--reach" : "reach");
    }
    return CR_OK;
}
