/* SPDX-License-Identifier: MIT */
/* Standards as data: standards/indicators.json (names, units, ranges) and
 * standards/gb3838-2002.json (class limits), read strictly so a typo is an error naming the
 * file and key. */
#include "quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef CR_SOURCE_DIR
#define CR_SOURCE_DIR "."
#endif

static const char *FLAG_NAMES[] = {"valid", "estimated", "suspect", "invalid", "maintenance"};

const char *cr_wq_flag_name(cr_wq_flag f)
{
    return f >= 0 && f < CR_WQ_N_FLAGS ? FLAG_NAMES[f] : "valid";
}

static const char *default_dir(void)
{
    const char *env = getenv("CROSSRIVER_STANDARDS");
    return env && *env ? env : CR_SOURCE_DIR "/standards";
}

static cr_status load_json(const char *dir, const char *name, json_t **out, cr_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t je;
    *out = json_load_file(path, 0, &je);
    if (*out == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: line %d: %s", path, je.line, je.text);
    }
    return CR_OK;
}

static cr_status read_limits(json_t *arr, const char *path, const char *key, double out[5],
                             double hi[5], cr_error *err)
{
    if (!json_is_array(arr) || json_array_size(arr) != CR_WQ_CLASSES) {
        return cr_error_set(err, CR_EINVAL, "%s: limits.%s: five limits (classes I..V) needed",
                            path, key);
    }
    for (size_t k = 0; k < CR_WQ_CLASSES; k++) {
        json_t *v = json_array_get(arr, k);
        if (hi != NULL && json_is_array(v) && json_array_size(v) == 2) {
            out[k] = json_number_value(json_array_get(v, 0));
            hi[k] = json_number_value(json_array_get(v, 1));
        } else if (hi == NULL && json_is_number(v)) {
            out[k] = json_number_value(v);
        } else {
            return cr_error_set(err, CR_EINVAL, "%s: limits.%s[%zu]: %s expected", path, key, k,
                                hi ? "[low, high]" : "a number");
        }
    }
    return CR_OK;
}

static cr_status read_indicator(cr_standards *s, json_t *o, const char *path, size_t i,
                                cr_error *err)
{
    cr_indicator *d = &s->ind[i];
    const char *code = json_string_value(json_object_get(o, "code"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *family = json_string_value(json_object_get(o, "family"));
    const char *unit = json_string_value(json_object_get(o, "unit"));
    json_t *range = json_object_get(o, "range");
    json_t *aliases = json_object_get(o, "aliases");
    if (!code || !name || !family || !unit || strlen(code) >= sizeof d->code ||
        !json_is_array(range) || json_array_size(range) != 2 || !json_is_array(aliases)) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: indicators[%zu]: code, name, family, unit, range [lo, hi] and "
                            "aliases are required",
                            path, i);
    }
    snprintf(d->code, sizeof d->code, "%s", code);
    snprintf(d->unit, sizeof d->unit, "%s", unit);
    d->name = cr_xstrdup(name);
    d->units = json_object_get(json_object_get(s->json[0], "unit_families"), family);
    if (!json_is_object(d->units)) {
        return cr_error_set(err, CR_EINVAL, "%s: indicators[%zu] (%s): unknown unit family '%s'",
                            path, i, code, family);
    }
    d->lo = json_number_value(json_array_get(range, 0));
    d->hi = json_number_value(json_array_get(range, 1));
    d->detection_limit = json_number_value(json_object_get(o, "detection_limit"));
    d->n_folded = json_array_size(aliases) + 2;
    d->folded = cr_xcalloc(d->n_folded, sizeof *d->folded);
    d->folded[0] = cr_text_fold(code);
    d->folded[1] = cr_text_fold(name);
    for (size_t k = 0; k < json_array_size(aliases); k++) {
        const char *a = json_string_value(json_array_get(aliases, k));
        if (a == NULL) {
            return cr_error_set(err, CR_EINVAL, "%s: indicators[%zu].aliases[%zu]: a string", path,
                                i, k);
        }
        d->folded[k + 2] = cr_text_fold(a);
    }
    return CR_OK;
}

static cr_status read_standard(cr_standards *s, const char *path, cr_error *err)
{
    json_t *std = s->json[1];
    s->standard = cr_xstrdup(json_string_value(json_object_get(std, "standard")) ?: "GB 3838-2002");
    s->assessment = cr_xstrdup(json_string_value(json_object_get(std, "assessment")) ?: "");
    json_t *min = json_object_get(std, "min_samples");
    const char *kinds[] = {"sample", "day", "month", "year"};
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(min, kinds[k]);
        s->min_samples[k] = json_is_integer(v) ? (int)json_integer_value(v) : 1;
    }
    const char *rule = json_string_value(json_object_get(std, "censored_rule"));
    if (rule && strcmp(rule, "half_limit") == 0) {
        s->censored_factor = 0.5;
    } else if (rule && strcmp(rule, "limit") == 0) {
        s->censored_factor = 1.0;
    } else if (rule && strcmp(rule, "zero") == 0) {
        s->censored_factor = 0.0;
    } else {
        return cr_error_set(err, CR_EINVAL,
                            "%s: censored_rule: one of half_limit, limit, zero (got '%s')", path,
                            rule ? rule : "");
    }
    json_t *flags = json_object_get(std, "valid_flags");
    size_t k;
    json_t *fv;
    json_array_foreach(flags, k, fv)
    {
        int f = cr_wq_flag_parse(json_string_value(fv) ?: "");
        if (f < 0) {
            return cr_error_set(err, CR_EINVAL, "%s: valid_flags[%zu]: unknown flag", path, k);
        }
        s->valid_flags |= 1 << f;
    }
    if (s->valid_flags == 0) {
        s->valid_flags = 1 << CR_WQ_VALID;
    }
    json_t *limits = json_object_get(std, "limits");
    const char *code;
    json_t *lim;
    json_object_foreach(limits, code, lim)
    {
        int i = cr_standards_find_code(s, code);
        if (i < 0) {
            return cr_error_set(err, CR_EINVAL,
                                "%s: limits.%s: no such indicator in indicators.json", path, code);
        }
        cr_indicator *d = &s->ind[i];
        const char *kind = json_string_value(json_object_get(lim, "kind"));
        d->limit_kind = kind == NULL                 ? CR_LIMIT_NONE
                        : strcmp(kind, "max") == 0   ? CR_LIMIT_MAX
                        : strcmp(kind, "min") == 0   ? CR_LIMIT_MIN
                        : strcmp(kind, "range") == 0 ? CR_LIMIT_RANGE
                                                     : CR_LIMIT_NONE;
        if (d->limit_kind == CR_LIMIT_NONE) {
            return cr_error_set(err, CR_EINVAL, "%s: limits.%s.kind: max, min or range", path,
                                code);
        }
        cr_status rc = read_limits(json_object_get(lim, "classes"), path, code, d->river,
                                   d->limit_kind == CR_LIMIT_RANGE ? d->range_hi : NULL, err);
        if (rc != CR_OK) {
            return rc;
        }
        memcpy(d->lake, d->river, sizeof d->lake);
        json_t *lake = json_object_get(lim, "lake");
        if (lake != NULL && (rc = read_limits(lake, path, code, d->lake, NULL, err)) != CR_OK) {
            return rc;
        }
        json_t *bodies = json_object_get(lim, "water_bodies");
        d->lake_only = bodies && json_array_size(bodies) == 1 &&
                       strcmp(json_string_value(json_array_get(bodies, 0)) ?: "", "lake") == 0;
        d->no_multiple =
            json_is_true(json_object_get(lim, "no_multiple")) || d->limit_kind == CR_LIMIT_RANGE;
    }
    return CR_OK;
}

json_t *cr_standards_file(const char *dir, const char *name, cr_error *err)
{
    json_t *o = NULL;
    load_json(dir ? dir : default_dir(), name, &o, err);
    return o;
}

cr_status cr_standards_load(const char *dir, cr_standards **out, cr_error *err)
{
    *out = NULL;
    dir = dir ? dir : default_dir();
    cr_standards *s = cr_xcalloc(1, sizeof *s);
    char path[1024];
    snprintf(path, sizeof path, "%s/indicators.json", dir);
    cr_status rc = load_json(dir, "indicators.json", &s->json[0], err);
    if (rc == CR_OK) {
        rc = load_json(dir, "gb3838-2002.json", &s->json[1], err);
    }
    json_t *list = json_object_get(s->json[0], "indicators");
    if (rc == CR_OK && !json_is_array(list)) {
        rc = cr_error_set(err, CR_EINVAL, "%s: 'indicators' must be an array", path);
    }
    if (rc == CR_OK) {
        s->n = json_array_size(list);
        s->ind = cr_xcalloc(s->n, sizeof *s->ind);
        for (size_t i = 0; i < s->n && rc == CR_OK; i++) {
            rc = read_indicator(s, json_array_get(list, i), path, i, err);
        }
    }
    if (rc == CR_OK) {
        snprintf(path, sizeof path, "%s/gb3838-2002.json", dir);
        rc = read_standard(s, path, err);
    }
    if (rc != CR_OK) {
        cr_standards_free(s);
        return rc;
    }
    *out = s;
    return CR_OK;
}

void cr_standards_free(cr_standards *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->ind[i].name);
        for (size_t k = 0; k < s->ind[i].n_folded; k++) {
            free(s->ind[i].folded[k]);
        }
        free(s->ind[i].folded);
    }
    free(s->ind);
    free(s->standard);
    free(s->assessment);
    json_decref(s->json[0]);
    json_decref(s->json[1]);
    free(s);
}

int cr_standards_find(const cr_standards *s, const char *text)
{
    char *f = cr_text_fold(text);
    int found = -1;
    for (size_t i = 0; i < s->n && found < 0 && *f; i++) {
        for (size_t k = 0; k < s->ind[i].n_folded; k++) {
            if (strcmp(s->ind[i].folded[k], f) == 0) {
                found = (int)i;
                break;
            }
        }
    }
    free(f);
    return found;
}

int cr_standards_find_code(const cr_standards *s, const char *code)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->ind[i].code, code) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Units compare without blanks and with µ/μ/u and ³/3 the same. */
static void unit_key(const char *u, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = u; *p && o + 1 < n; p++) {
        if (*p == ' ') {
            continue;
        }
        if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xB5) { /* µ */
            out[o++] = 'u';
            p++;
        } else if ((unsigned char)p[0] == 0xCE && (unsigned char)p[1] == 0xBC) { /* μ */
            out[o++] = 'u';
            p++;
        } else if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xB3) { /* ³ */
            out[o++] = '3';
            p++;
        } else if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBC &&
                   (unsigned char)p[2] == 0x8F) { /* ／ */
            out[o++] = '/';
            p += 2;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

cr_status cr_standards_unit_factor(const cr_standards *s, int ind, const char *unit, double *factor,
                                   cr_error *err)
{
    const cr_indicator *d = &s->ind[ind];
    *factor = 1;
    if (unit == NULL || *unit == '\0') {
        return CR_OK;
    }
    char want[64];
    unit_key(unit, want, sizeof want);
    const char *u;
    json_t *f;
    json_object_foreach(d->units, u, f)
    {
        char have[64];
        unit_key(u, have, sizeof have);
        if (strcmp(have, want) == 0 || strcasecmp(have, want) == 0) {
            *factor = json_number_value(f);
            return CR_OK;
        }
    }
    cr_strbuf sb = {0};
    json_object_foreach(d->units, u, f)
    {
        if (*u) {
            cr_strbuf_printf(&sb, "%s%s", sb.len ? ", " : "", u);
        }
    }
    cr_status rc = cr_error_set(err, CR_EINVAL, "unit '%s' does not fit %s (%s takes %s)", unit,
                                d->name, d->name, sb.len ? sb.data : "no unit");
    cr_strbuf_cleanup(&sb);
    return rc;
}

/* ---- flags, parties, classes ------------------------------------------------------------ */

typedef struct {
    const char *text;
    int value;
} word;

static int lookup(const word *w, size_t n, const char *text)
{
    char *f = cr_text_fold(text);
    int v = -1;
    for (size_t i = 0; i < n && v < 0; i++) {
        char *g = cr_text_fold(w[i].text);
        if (strcmp(f, g) == 0) {
            v = w[i].value;
        }
        free(g);
    }
    free(f);
    return v;
}

int cr_wq_flag_parse(const char *text)
{
    static const word W[] = {
        {"valid", CR_WQ_VALID},
        {"有效", CR_WQ_VALID},
        {"正常", CR_WQ_VALID},
        {"N", CR_WQ_VALID},
        {"ok", CR_WQ_VALID},
        {"estimated", CR_WQ_ESTIMATED},
        {"估算", CR_WQ_ESTIMATED},
        {"估计", CR_WQ_ESTIMATED},
        {"插补", CR_WQ_ESTIMATED},
        {"E", CR_WQ_ESTIMATED},
        {"suspect", CR_WQ_SUSPECT},
        {"可疑", CR_WQ_SUSPECT},
        {"存疑", CR_WQ_SUSPECT},
        {"T", CR_WQ_SUSPECT},
        {"超量程", CR_WQ_SUSPECT},
        {"invalid", CR_WQ_INVALID},
        {"无效", CR_WQ_INVALID},
        {"异常", CR_WQ_INVALID},
        {"D", CR_WQ_INVALID},
        {"故障", CR_WQ_INVALID},
        {"maintenance", CR_WQ_MAINTENANCE},
        {"维护", CR_WQ_MAINTENANCE},
        {"运维", CR_WQ_MAINTENANCE},
        {"校准", CR_WQ_MAINTENANCE},
        {"停运", CR_WQ_MAINTENANCE},
        {"M", CR_WQ_MAINTENANCE},
        {"C", CR_WQ_MAINTENANCE},
        {"F", CR_WQ_MAINTENANCE},
    };
    return lookup(W, sizeof W / sizeof W[0], text);
}

const char *cr_wq_party_parse(const char *text)
{
    static const word W[] = {
        {"upstream", 0}, {"上游", 0},   {"上游方", 0},   {"上游监测", 0}, {"downstream", 1},
        {"下游", 1},     {"下游方", 1}, {"下游监测", 1}, {"joint", 2},    {"联合", 2},
        {"联合监测", 2}, {"联测", 2},   {"双方", 2},     {"共同监测", 2},
    };
    static const char *NAMES[] = {"upstream", "downstream", "joint"};
    int v = lookup(W, sizeof W / sizeof W[0], text);
    return v < 0 ? NULL : NAMES[v];
}

const char *cr_wq_method_parse(const char *text)
{
    static const word W[] = {{"manual", 0},   {"手工", 0},      {"人工", 0},       {"手工监测", 0},
                             {"实验室", 0},   {"automatic", 1}, {"auto", 1},       {"自动", 1},
                             {"自动站", 1},   {"自动监测", 1},  {"水质自动站", 1}, {"在线", 1},
                             {"在线监测", 1}, {"emergency", 2}, {"应急", 2},       {"应急监测", 2},
                             {"应急采样", 2}};
    static const char *NAMES[] = {"manual", "automatic", "emergency"};
    int v = lookup(W, sizeof W / sizeof W[0], text);
    return v < 0 ? NULL : NAMES[v];
}

const char *cr_wq_class_name(int cls)
{
    static const char *N[] = {"—", "I", "II", "III", "IV", "V", "劣V"};
    return cls >= 0 && cls <= 6 ? N[cls] : "—";
}

int cr_wq_class_parse(const char *text)
{
    static const word W[] = {
        {"I", 1},     {"Ⅰ", 1},    {"1", 1},      {"I类", 1}, {"Ⅰ类", 1},  {"II", 2},  {"Ⅱ", 2},
        {"2", 2},     {"II类", 2}, {"Ⅱ类", 2},    {"III", 3}, {"Ⅲ", 3},    {"3", 3},   {"III类", 3},
        {"Ⅲ类", 3},   {"IV", 4},   {"Ⅳ", 4},      {"4", 4},   {"IV类", 4}, {"Ⅳ类", 4}, {"V", 5},
        {"Ⅴ", 5},     {"5", 5},    {"V类", 5},    {"Ⅴ类", 5}, {"劣V", 6},  {"劣Ⅴ", 6}, {"劣V类", 6},
        {"劣Ⅴ类", 6}, {"6", 6},    {"worseV", 6},
    };
    if (text == NULL) {
        return 0;
    }
    /* the stored canonical forms first: no folding */
    static const char *CANON[] = {"I", "II", "III", "IV", "V", "劣V"};
    for (int k = 0; k < 6; k++) {
        if (strcmp(text, CANON[k]) == 0) {
            return k + 1;
        }
    }
    int v = lookup(W, sizeof W / sizeof W[0], text);
    return v < 0 ? 0 : v;
}
