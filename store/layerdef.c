/* SPDX-License-Identifier: MIT */
/* Layer definitions: one JSON file per layer, read with jansson and checked strictly, so a
 * typo in layers/ is an error naming the file and key rather than a silently ignored setting. */
#include "store.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#ifndef CR_SOURCE_DIR
#define CR_SOURCE_DIR "."
#endif

static const char *TYPE_NAMES[] = {"text", "integer", "real", "date", "datetime", "boolean"};
static const char *GEOM_NAMES[] = {"none", "point", "linestring", "multipolygon"};

const char *cr_field_type_name(cr_field_type t)
{
    return TYPE_NAMES[t];
}

const char *cr_geom_kind_name(cr_geom_kind g)
{
    return GEOM_NAMES[g];
}

const char *cr_layers_default_dir(void)
{
    const char *env = getenv("CROSSRIVER_LAYERS");
    return env && *env ? env : CR_SOURCE_DIR "/layers";
}

static int is_identifier(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 60) {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9' && p != s))) {
            return 0;
        }
    }
    return 1;
}

/* Copy an array of strings; *n_out its length. Fails on a non-string element. */
static cr_status string_array(json_t *arr, const char *path, const char *what, char ***out,
                              size_t *n_out, cr_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (arr == NULL) {
        return CR_OK;
    }
    if (!json_is_array(arr)) {
        return cr_error_set(err, CR_EINVAL, "%s: %s must be an array of strings", path, what);
    }
    size_t n = json_array_size(arr);
    char **v = cr_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s)) {
            for (size_t j = 0; j < i; j++) {
                free(v[j]);
            }
            free(v);
            return cr_error_set(err, CR_EINVAL, "%s: %s[%zu] must be a string", path, what, i);
        }
        v[i] = cr_xstrdup(json_string_value(s));
    }
    *out = v;
    *n_out = n;
    return CR_OK;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static cr_status parse_values(json_t *obj, const char *path, cr_field_def *f, cr_error *err)
{
    if (obj == NULL) {
        return CR_OK;
    }
    if (!json_is_object(obj)) {
        return cr_error_set(err, CR_EINVAL, "%s: field '%s': values must be an object", path,
                            f->name);
    }
    f->n_values = json_object_size(obj);
    f->values = cr_xcalloc(f->n_values, sizeof *f->values);
    size_t i = 0;
    const char *key;
    json_t *syn;
    json_object_foreach(obj, key, syn)
    {
        cr_value_map *m = &f->values[i++];
        m->canonical = cr_xstrdup(key);
        char what[128];
        snprintf(what, sizeof what, "field '%s' values '%s'", f->name, key);
        if (string_array(syn, path, what, &m->synonyms, &m->n_synonyms, err) != CR_OK) {
            return CR_EINVAL;
        }
        m->folded = cr_xcalloc(m->n_synonyms + 1, sizeof *m->folded);
        m->folded[0] = cr_text_fold(m->canonical);
        for (size_t k = 0; k < m->n_synonyms; k++) {
            m->folded[k + 1] = cr_text_fold(m->synonyms[k]);
        }
    }
    return CR_OK;
}

static cr_status parse_field(json_t *fj, const char *path, size_t idx, cr_field_def *f,
                             cr_error *err)
{
    static const char *known[] = {"name", "type",   "required",    "aliases", "values", "min",
                                  "max",  "access", "description", "implies", "unit"};
    const char *key;
    json_t *v;
    if (!json_is_object(fj)) {
        return cr_error_set(err, CR_EINVAL, "%s: fields[%zu] must be an object", path, idx);
    }
    json_object_foreach(fj, key, v)
    {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
            ok |= strcmp(key, known[k]) == 0;
        }
        if (!ok) {
            return cr_error_set(err, CR_EINVAL, "%s: fields[%zu]: unknown key '%s'", path, idx,
                                key);
        }
    }
    const char *name = json_string_value(json_object_get(fj, "name"));
    if (!is_identifier(name)) {
        return cr_error_set(err, CR_EINVAL, "%s: fields[%zu].name must be a lower_case identifier",
                            path, idx);
    }
    f->name = cr_xstrdup(name);
    const char *type = json_string_value(json_object_get(fj, "type"));
    int found = -1;
    for (int t = 0; type && t < (int)(sizeof TYPE_NAMES / sizeof TYPE_NAMES[0]); t++) {
        found = strcmp(type, TYPE_NAMES[t]) == 0 ? t : found;
    }
    if (found < 0) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: field '%s': type must be text, integer, real, date, datetime or "
                            "boolean",
                            path, name);
    }
    f->type = (cr_field_type)found;
    f->required = json_is_true(json_object_get(fj, "required"));
    const char *access = json_string_value(json_object_get(fj, "access"));
    if (access && strcmp(access, "restricted") != 0 && strcmp(access, "public") != 0) {
        return cr_error_set(err, CR_EINVAL, "%s: field '%s': access must be public or restricted",
                            path, name);
    }
    f->restricted = access && strcmp(access, "restricted") == 0;
    char what[96];
    snprintf(what, sizeof what, "field '%s' aliases", name);
    if (string_array(json_object_get(fj, "aliases"), path, what, &f->aliases, &f->n_aliases, err) !=
        CR_OK) {
        return CR_EINVAL;
    }
    json_t *mn = json_object_get(fj, "min");
    json_t *mx = json_object_get(fj, "max");
    f->has_min = json_is_number(mn);
    f->has_max = json_is_number(mx);
    f->min = f->has_min ? json_number_value(mn) : 0;
    f->max = f->has_max ? json_number_value(mx) : 0;
    if ((mn != NULL && !f->has_min) || (mx != NULL && !f->has_max)) {
        return cr_error_set(err, CR_EINVAL, "%s: field '%s': min and max must be numbers", path,
                            name);
    }
    if (f->has_min && f->has_max && f->min > f->max) {
        /* found by fuzz_layer_def: such a range rejected every value, silently */
        return cr_error_set(err, CR_EINVAL, "%s: field '%s': min %g is above max %g", path, name,
                            f->min, f->max);
    }
    if (parse_values(json_object_get(fj, "values"), path, f, err) != CR_OK) {
        return CR_EINVAL;
    }
    json_t *imp = json_object_get(fj, "implies");
    if (imp != NULL) {
        const char *target = json_string_value(json_object_get(imp, "field"));
        json_t *map = json_object_get(imp, "map");
        if (!is_identifier(target) || !json_is_object(map) || f->n_values == 0) {
            return cr_error_set(err, CR_EINVAL,
                                "%s: field '%s': implies needs {\"field\": name, \"map\": {…}} "
                                "on an enumeration",
                                path, name);
        }
        f->implies_field = cr_xstrdup(target);
        f->implies_map = map;
    }
    return CR_OK;
}

/* "accumulated.FIELD" or "accumulated.LAYER.FIELD" with identifier characters only. */
static int accumulated_name(const char *name)
{
    if (name == NULL || strncmp(name, "accumulated.", 12) != 0 || name[12] == '\0') {
        return 0;
    }
    for (const char *p = name + 12; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.')) {
            return 0;
        }
    }
    return 1;
}

/* "status.KEY": a value another stage keeps per feature in feature_status (a section's
 * latest water-quality class), identifier characters only. */
static int status_name(const char *name)
{
    if (name == NULL || strncmp(name, "status.", 7) != 0 || name[7] == '\0') {
        return 0;
    }
    for (const char *p = name + 7; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            return 0;
        }
    }
    return 1;
}

/* The "tile" settings (read by the tiler, the server and the generaliser): known keys with
 * the right types, attributes that are fields, generalisation only for polygons. */
static cr_status check_tile(const char *path, const cr_layer_def *d, const json_t *tile,
                            cr_error *err)
{
    if (tile == NULL) {
        return CR_OK;
    }
    if (!json_is_object(tile) || d->geom == CR_GEOM_NONE) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: tile: an object, and only for a layer with geometry", path);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)tile, key, v)
    {
        int zoom = strcmp(key, "minzoom") == 0 || strcmp(key, "maxzoom") == 0;
        int ok =
            zoom ? json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 22
            : strcmp(key, "simplify_px") == 0   ? json_is_number(v) && json_number_value(v) >= 0
            : strcmp(key, "drop_priority") == 0 ? json_is_integer(v)
            : strcmp(key, "keep_per_tile") == 0
                ? json_is_integer(v) && json_integer_value(v) >= 0 &&
                      json_integer_value(v) <= 1000000 && d->geom == CR_GEOM_LINESTRING
            : strcmp(key, "attributes") == 0 ? json_is_array(v)
            : strcmp(key, "label") == 0 ? json_is_string(v) && d->geom == CR_GEOM_MULTIPOLYGON &&
                                              cr_layer_def_field_index(d, json_string_value(v)) >= 0
            : strcmp(key, "generalise") == 0
                ? json_is_array(v) &&
                      (d->geom == CR_GEOM_MULTIPOLYGON || d->geom == CR_GEOM_LINESTRING)
                : -1;
        if (ok == -1) {
            return cr_error_set(err, CR_EINVAL,
                                "%s: tile: unknown key '%s' (minzoom, maxzoom, attributes, "
                                "simplify_px, drop_priority, generalise, keep_per_tile, label)",
                                path, key);
        }
        if (!ok) {
            return cr_error_set(err, CR_EINVAL, "%s: tile.%s: wrong type or range%s", path, key,
                                strcmp(key, "generalise") == 0
                                    ? " (a list of zooms 0–22, polygon and line layers only)"
                                : strcmp(key, "label") == 0
                                    ? " (a field of a polygon layer, its label at one point)"
                                : strcmp(key, "keep_per_tile") == 0
                                    ? " (lines a tile keeps at each generalised level, 0–1000000;"
                                      " 0 keeps all; line layers only)"
                                    : "");
        }
    }
    size_t i;
    json_array_foreach(json_object_get(tile, "attributes"), i, v)
    {
        if (cr_layer_is_network(d) && accumulated_name(json_string_value(v))) {
            continue; /* a total of `crossriver accumulate` (reach_accumulations) */
        }
        if (status_name(json_string_value(v))) {
            continue; /* a status kept in feature_status */
        }
        if (cr_layer_def_field_index(d, json_string_value(v)) < 0) {
            return cr_error_set(err, CR_EINVAL, "%s: tile.attributes[%zu]: no field '%s'", path, i,
                                json_string_value(v) ? json_string_value(v) : "?");
        }
    }
    json_array_foreach(json_object_get(tile, "generalise"), i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 22) {
            return cr_error_set(err, CR_EINVAL, "%s: tile.generalise[%zu]: a zoom 0–22", path, i);
        }
    }
    return CR_OK;
}

static cr_status parse_coordinates(json_t *cj, const char *path, cr_layer_def *d, cr_error *err)
{
    static const char *keys[4] = {"lon", "lat", "x", "y"};
    if (cj == NULL) {
        return CR_OK;
    }
    for (int k = 0; k < 4; k++) {
        char what[64];
        snprintf(what, sizeof what, "coordinates.%s", keys[k]);
        if (string_array(json_object_get(cj, keys[k]), path, what, &d->coord_aliases[k],
                         &d->n_coord_aliases[k], err) != CR_OK) {
            return CR_EINVAL;
        }
    }
    return CR_OK;
}

static cr_status check_definition(const char *path, cr_layer_def *d, cr_error *err)
{
    if (d->id_field == NULL || cr_layer_def_field_index(d, d->id_field) < 0) {
        return cr_error_set(err, CR_EINVAL, "%s: id_field must name one of the fields", path);
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        for (size_t j = i + 1; j < d->n_fields; j++) {
            if (strcmp(d->fields[i].name, d->fields[j].name) == 0) {
                return cr_error_set(err, CR_EINVAL, "%s: field '%s' defined twice", path,
                                    d->fields[i].name);
            }
        }
        const cr_field_def *f = &d->fields[i];
        if (f->implies_field) {
            int t = cr_layer_def_field_index(d, f->implies_field);
            if (t < 0 || d->fields[t].n_values == 0) {
                return cr_error_set(err, CR_EINVAL,
                                    "%s: field '%s' implies '%s', which is not an enumeration "
                                    "field of this layer",
                                    path, f->name, f->implies_field);
            }
        }
    }
    if (d->geom == CR_GEOM_POINT && d->n_coord_aliases[0] == 0) {
        return cr_error_set(err, CR_EINVAL, "%s: a point layer needs coordinates.lon/lat aliases",
                            path);
    }
    return CR_OK;
}

/* "history": {"kind": "inventory" | "event" | "reference", "event_time": FIELD}: how the layer
 * reads "as of a time" (store.h, cr_store_as_of_views). Absent: reference. */
static cr_status parse_history(const char *path, cr_layer_def *d, const json_t *h, cr_error *err)
{
    d->history = CR_HISTORY_REFERENCE;
    if (h == NULL) {
        return CR_OK;
    }
    const char *kind = json_string_value(json_object_get(h, "kind"));
    const char *event = json_string_value(json_object_get(h, "event_time"));
    static const char *KINDS[] = {"reference", "inventory", "event"};
    int k = -1;
    for (int i = 0; kind && i < 3; i++) {
        k = strcmp(kind, KINDS[i]) == 0 ? i : k;
    }
    if (!json_is_object(h) || k < 0 || json_object_size(h) > (size_t)(event ? 2 : 1)) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: history: {\"kind\": reference|inventory|event, \"event_time\": "
                            "FIELD (events only)}",
                            path);
    }
    d->history = (cr_history_kind)k;
    int f = event ? cr_layer_def_field_index(d, event) : -1;
    if ((d->history == CR_HISTORY_EVENT) != (event != NULL) ||
        (event &&
         (f < 0 || (d->fields[f].type != CR_FT_DATE && d->fields[f].type != CR_FT_DATETIME)))) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: history: an event layer names its date or datetime field in "
                            "event_time (and only an event layer)",
                            path);
    }
    d->event_field = event ? d->fields[f].name : NULL;
    return CR_OK;
}

cr_status cr_layer_def_parse(const char *path, cr_layer_def **out, cr_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return cr_error_set(err, CR_EPARSE, "%s:%d: %s", path, jerr.line, jerr.text);
    }
    cr_layer_def *d = cr_xcalloc(1, sizeof *d);
    d->json = root;
    cr_status rc = CR_OK;
    const char *name = json_string_value(json_object_get(root, "name"));
    const char *geom = json_string_value(json_object_get(root, "geometry"));
    const char *access = json_string_value(json_object_get(root, "access"));
    json_t *fields = json_object_get(root, "fields");
    if (!is_identifier(name)) {
        rc = cr_error_set(err, CR_EINVAL, "%s: name must be a lower_case identifier", path);
        goto done;
    }
    d->name = cr_xstrdup(name);
    const char *title = json_string_value(json_object_get(root, "title"));
    d->title = cr_xstrdup(title ? title : name);
    int g = -1;
    for (int k = 0; geom && k < 4; k++) {
        g = strcmp(geom, GEOM_NAMES[k]) == 0 ? k : g;
    }
    if (g < 0) {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: geometry must be none, point, linestring or multipolygon", path);
        goto done;
    }
    d->geom = (cr_geom_kind)g;
    if (access == NULL || (strcmp(access, "public") != 0 && strcmp(access, "restricted") != 0)) {
        rc = cr_error_set(err, CR_EINVAL, "%s: access must be public or restricted", path);
        goto done;
    }
    d->restricted = strcmp(access, "restricted") == 0;
    const char *id_field = json_string_value(json_object_get(root, "id_field"));
    d->id_field = id_field ? cr_xstrdup(id_field) : NULL;
    if (!json_is_array(fields) || json_array_size(fields) == 0) {
        rc = cr_error_set(err, CR_EINVAL, "%s: fields must be a non-empty array", path);
        goto done;
    }
    d->n_fields = json_array_size(fields);
    d->fields = cr_xcalloc(d->n_fields, sizeof *d->fields);
    for (size_t i = 0; i < d->n_fields && rc == CR_OK; i++) {
        rc = parse_field(json_array_get(fields, i), path, i, &d->fields[i], err);
    }
    if (rc == CR_OK) {
        rc = parse_coordinates(json_object_get(root, "coordinates"), path, d, err);
    }
    if (rc == CR_OK) {
        rc = check_definition(path, d, err);
    }
    if (rc == CR_OK) {
        rc = check_tile(path, d, json_object_get(root, "tile"), err);
    }
    if (rc == CR_OK) {
        rc = parse_history(path, d, json_object_get(root, "history"), err);
    }
done:
    if (rc != CR_OK) {
        cr_layer_def_free(d);
        return rc;
    }
    *out = d;
    return CR_OK;
}

void cr_layer_def_free(cr_layer_def *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        cr_field_def *f = &d->fields[i];
        free(f->name);
        free_strings(f->aliases, f->n_aliases);
        for (size_t j = 0; j < f->n_values; j++) {
            free(f->values[j].canonical);
            free_strings(f->values[j].synonyms, f->values[j].n_synonyms);
            free_strings(f->values[j].folded,
                         f->values[j].folded ? f->values[j].n_synonyms + 1 : 0);
        }
        free(f->values);
        free(f->implies_field);
    }
    for (int k = 0; k < 4; k++) {
        free_strings(d->coord_aliases[k], d->n_coord_aliases[k]);
    }
    free(d->fields);
    free(d->name);
    free(d->title);
    free(d->id_field);
    json_decref(d->json);
    free(d);
}

int cr_layer_def_field_index(const cr_layer_def *d, const char *name)
{
    for (size_t i = 0; i < d->n_fields; i++) {
        if (d->fields[i].name && strcmp(d->fields[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int compare_defs(const void *a, const void *b)
{
    const cr_layer_def *const *x = a;
    const cr_layer_def *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

cr_status cr_layer_set_load(const char *dir, cr_layer_set **out, cr_error *err)
{
    DIR *dh = opendir(dir);
    if (dh == NULL) {
        return cr_error_set(err, CR_EIO, "%s: cannot open the layers directory", dir);
    }
    cr_layer_set *set = cr_xcalloc(1, sizeof *set);
    set->dir = cr_xstrdup(dir);
    cr_status rc = CR_OK;
    struct dirent *de;
    while (rc == CR_OK && (de = readdir(dh)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 || de->d_name[0] == '.') {
            continue;
        }
        cr_strbuf path = {0};
        cr_strbuf_printf(&path, "%s/%s", dir, de->d_name);
        cr_layer_def *d = NULL;
        rc = cr_layer_def_parse(path.data, &d, err);
        if (rc == CR_OK && cr_layer_set_find(set, d->name) != NULL) {
            rc = cr_error_set(err, CR_EINVAL, "%s: layer '%s' defined twice", path.data, d->name);
            cr_layer_def_free(d);
        } else if (rc == CR_OK) {
            set->layers = cr_xrealloc(set->layers, (set->n_layers + 1) * sizeof *set->layers);
            set->layers[set->n_layers++] = d;
        }
        cr_strbuf_cleanup(&path);
    }
    closedir(dh);
    if (rc == CR_OK && set->n_layers == 0) {
        rc = cr_error_set(err, CR_EINVAL, "%s: no layer definitions (*.json)", dir);
    }
    if (rc != CR_OK) {
        cr_layer_set_free(set);
        return rc;
    }
    qsort(set->layers, set->n_layers, sizeof *set->layers, compare_defs);
    *out = set;
    return CR_OK;
}

void cr_layer_set_free(cr_layer_set *set)
{
    if (set == NULL) {
        return;
    }
    for (size_t i = 0; i < set->n_layers; i++) {
        cr_layer_def_free(set->layers[i]);
    }
    free(set->layers);
    free(set->dir);
    free(set);
}

const cr_layer_def *cr_layer_set_find(const cr_layer_set *set, const char *name)
{
    for (size_t i = 0; i < set->n_layers; i++) {
        if (strcmp(set->layers[i]->name, name) == 0) {
            return set->layers[i];
        }
    }
    return NULL;
}

static const cr_derived_column POINT_JOIN[] = {
    {"reach_id", "TEXT"},
    {"lake_id", "TEXT"},
    {"reach_distance_m", "REAL"},
    {"measure_m", "REAL"},
    {"offset_m", "REAL"},
    {"bank", "TEXT"},
    {"county_code", "TEXT"},
    {"town_code", "TEXT"},
    {"zone_id", "TEXT"},
    {"zone_grade", "TEXT"},
    {"boundary_distance_m", "REAL"},
    {"boundary_across_code", "TEXT"},
    {"join_flags", "TEXT"},
    {"join_generation", "INTEGER"},
};
static const cr_derived_column COVERAGE[] = {
    {"covered_reaches", "TEXT"},
    {"spans_codes", "TEXT"},
    {"join_generation", "INTEGER"},
};
static const cr_derived_column NETWORK[] = {
    {"from_node", "INTEGER"}, {"to_node", "INTEGER"},        {"length_m", "REAL"},
    {"strahler", "INTEGER"},  {"upstream_length_m", "REAL"}, {"mainstem", "TEXT"},
    {"component", "INTEGER"}, {"gate_ids", "TEXT"},          {"network_generation", "INTEGER"},
};

int cr_layer_joins_points(const cr_layer_def *d)
{
    json_t *reach = json_object_get(json_object_get(d->json, "join"), "reach");
    return d->geom == CR_GEOM_POINT && json_is_number(json_object_get(reach, "tolerance_m"));
}

int cr_layer_joins_coverage(const cr_layer_def *d)
{
    json_t *reach = json_object_get(json_object_get(d->json, "join"), "reach");
    return d->geom == CR_GEOM_MULTIPOLYGON && json_is_true(json_object_get(reach, "covers"));
}

int cr_layer_joins_segments(const cr_layer_def *d)
{
    json_t *admin = json_object_get(json_object_get(d->json, "join"), "admin");
    return d->geom == CR_GEOM_LINESTRING && json_is_true(json_object_get(admin, "segments"));
}

int cr_layer_is_network(const cr_layer_def *d)
{
    return d->geom == CR_GEOM_LINESTRING &&
           json_is_object(json_object_get(json_object_get(d->json, "join"), "network"));
}

const cr_derived_column *cr_layer_derived_columns(const cr_layer_def *d, size_t *n_out)
{
    if (cr_layer_joins_points(d)) {
        *n_out = sizeof POINT_JOIN / sizeof POINT_JOIN[0];
        return POINT_JOIN;
    }
    if (cr_layer_joins_coverage(d)) {
        *n_out = sizeof COVERAGE / sizeof COVERAGE[0];
        return COVERAGE;
    }
    if (cr_layer_is_network(d)) {
        *n_out = sizeof NETWORK / sizeof NETWORK[0];
        return NETWORK;
    }
    *n_out = 0;
    return NULL;
}
