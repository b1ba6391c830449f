/* SPDX-License-Identifier: MIT */
/* The deployment config (crossriver.json): one check for every command and the server, so a
 * misspelt key or a value of the wrong kind is an error naming it, never a silent default. */
#include "api.h"
#include "quality/alarms.h"

#include <math.h>
#include <string.h>

/* A number at o.key within [lo, hi], or absent. */
static cr_status number_in(const json_t *o, const char *path, const char *key, double lo, double hi,
                           cr_error *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        return CR_OK;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < lo ||
        json_number_value(v) > hi) {
        return cr_error_set(err, CR_EINVAL, "%s.%s: a number from %g to %g", path, key, lo, hi);
    }
    return CR_OK;
}

/* o is an object (or absent) whose keys are all in known (NULL-terminated). */
static cr_status keys_in(const json_t *o, const char *path, const char *const *known, cr_error *err)
{
    if (o == NULL) {
        return CR_OK;
    }
    if (!json_is_object(o)) {
        return cr_error_set(err, CR_EINVAL, "%s: an object", path);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        int ok = 0;
        for (size_t i = 0; known[i] && !ok; i++) {
            ok = strcmp(key, known[i]) == 0;
        }
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; known[i]; i++) {
                size_t n = strlen(list);
                snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", known[i]);
            }
            return cr_error_set(err, CR_EINVAL, "%s: unknown key '%.64s' (known: %s)", path, key,
                                list);
        }
    }
    return CR_OK;
}

static cr_status check_region(const json_t *r, cr_error *err)
{
    if (r == NULL) {
        return CR_OK;
    }
    double v[4] = {0};
    int ok = json_is_array(r) && json_array_size(r) == 4;
    for (size_t i = 0; ok && i < 4; i++) {
        ok = json_is_number(json_array_get(r, i));
        v[i] = ok ? json_number_value(json_array_get(r, i)) : 0;
    }
    if (!ok ||
        !(v[0] >= -180 && v[0] < v[2] && v[2] <= 180 && v[1] >= -90 && v[1] < v[3] && v[3] <= 90)) {
        return cr_error_set(err, CR_EINVAL,
                            "region: [W, S, E, N] in degrees, W < E and S < N, e.g. [118.8, "
                            "29.6, 122.2, 32.4]");
    }
    return CR_OK;
}

static cr_status check_incidents(const json_t *inc, cr_error *err)
{
    static const char *const TOP[] = {"deadlines", "trace", NULL};
    static const char *const DEADLINES[] = {"information_h", "press_conference_h", NULL};
    static const char *const TRACE[] = {"downstream_hours", "upstream_hours", NULL};
    const json_t *d = json_object_get(inc, "deadlines"), *t = json_object_get(inc, "trace");
    cr_status rc = keys_in(inc, "incidents", TOP, err);
    if (rc == CR_OK) {
        rc = keys_in(d, "incidents.deadlines", DEADLINES, err);
    }
    for (size_t i = 0; rc == CR_OK && DEADLINES[i]; i++) {
        rc = number_in(d, "incidents.deadlines", DEADLINES[i], 0.1, 24 * 30, err);
    }
    if (rc == CR_OK) {
        rc = keys_in(t, "incidents.trace", TRACE, err);
    }
    for (size_t i = 0; rc == CR_OK && TRACE[i]; i++) {
        rc = number_in(t, "incidents.trace", TRACE[i], 0.1, 24 * 365, err);
    }
    return rc;
}

static cr_status check_gates(const json_t *g, cr_error *err)
{
    static const char *const KEYS[] = {"horizon_h", "advance_notice_h",
                                       "emergency_advance_notice_h", NULL};
    cr_status rc = keys_in(g, "gate_operations", KEYS, err);
    if (rc == CR_OK) {
        rc = number_in(g, "gate_operations", "horizon_h", 0.1, 24 * 365, err);
    }
    if (rc == CR_OK) {
        rc = number_in(g, "gate_operations", "advance_notice_h", 0, 24 * 30, err);
    }
    if (rc == CR_OK) {
        rc = number_in(g, "gate_operations", "emergency_advance_notice_h", 0, 24 * 30, err);
    }
    return rc;
}

static cr_status check_alarms(const json_t *a, cr_error *err)
{
    static const char *const TOP[] = {"sudden_change", "repeated", "silent", "upstream", NULL};
    static const char *const SUDDEN[] = {
        "window",         "min_window",  "z",          "min_sigma_rel",
        "min_change_rel", "merge_steps", "indicators", NULL};
    static const char *const REPEATED[] = {"count", "days", NULL};
    static const char *const SILENT[] = {"hours", NULL};
    static const char *const UPSTREAM[] = {"lookback_hours", NULL};
    cr_status rc = keys_in(a, "alarms", TOP, err);
    if (rc == CR_OK) {
        rc = keys_in(json_object_get(a, "sudden_change"), "alarms.sudden_change", SUDDEN, err);
    }
    if (rc == CR_OK) {
        rc = keys_in(json_object_get(a, "repeated"), "alarms.repeated", REPEATED, err);
    }
    if (rc == CR_OK) {
        rc = keys_in(json_object_get(a, "silent"), "alarms.silent", SILENT, err);
    }
    if (rc == CR_OK) {
        rc = keys_in(json_object_get(a, "upstream"), "alarms.upstream", UPSTREAM, err);
    }
    cr_wq_alarm_config cfg;
    if (rc == CR_OK) { /* the values: the rules' own loader */
        rc = cr_wq_alarm_config_load(a, &cfg, err);
    }
    return rc;
}

cr_status cr_api_config_check(const json_t *root, cr_error *err)
{
    static const char *const TOP[] = {"region",    "full_survey",     "alarms",
                                      "incidents", "gate_operations", NULL};
    static const char *const SURVEY[] = {"max_close_share", NULL};
    if (!json_is_object(root)) {
        return cr_error_set(err, CR_EINVAL, "the deployment config: a JSON object");
    }
    const json_t *survey = json_object_get(root, "full_survey");
    cr_status rc = keys_in(root, "the deployment config", TOP, err);
    if (rc == CR_OK) {
        rc = check_region(json_object_get(root, "region"), err);
    }
    if (rc == CR_OK) {
        rc = keys_in(survey, "full_survey", SURVEY, err);
    }
    if (rc == CR_OK) {
        rc = number_in(survey, "full_survey", "max_close_share", 1e-6, 1, err);
    }
    if (rc == CR_OK) {
        rc = check_alarms(json_object_get(root, "alarms"), err);
    }
    if (rc == CR_OK) {
        rc = check_incidents(json_object_get(root, "incidents"), err);
    }
    if (rc == CR_OK) {
        rc = check_gates(json_object_get(root, "gate_operations"), err);
    }
    return rc;
}

cr_status cr_api_config_load(const char *path, json_t **out, cr_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        return cr_error_set(err, CR_EPARSE, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    cr_error e = {0};
    if (cr_api_config_check(root, &e) != CR_OK) {
        json_decref(root);
        return cr_error_set(err, e.code, "%s: %s", path, e.msg);
    }
    *out = root;
    return CR_OK;
}
