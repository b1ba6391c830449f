/* SPDX-License-Identifier: MIT */
/* What the web map asks besides tiles: the TileJSON, one feature, a search. The TileJSON is the
 * public catalogue; a feature's restricted fields and restricted layers' features and search
 * hits appear only where the client's access opens them. */
#include "api.h"
#include "tiler/tile.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The settings of a tiled layer this client may see, else NULL. */
static const json_t *tile_settings(const cr_layer_def *d, const cr_access *access)
{
    return d->restricted && !cr_access_layer(access, d->name) ? NULL : cr_tile_settings(d);
}

static const char *tilejson_type(cr_field_type t)
{
    return t == CR_FT_INTEGER || t == CR_FT_REAL ? "Number"
           : t == CR_FT_BOOLEAN                  ? "Boolean"
                                                 : "String";
}

cr_status cr_api_tilejson(cr_store *store, const char *tiles_url, json_t **out, cr_error *err)
{
    const cr_layer_set *set = cr_store_layers(store);
    sqlite3 *db = cr_store_db(store);
    json_t *layers = json_array();
    double b[4] = {180, 90, -180, -90};
    int minz = CR_TILE_MAX_ZOOM, maxz = 0;
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        const json_t *ts = tile_settings(d, NULL);
        if (ts == NULL) {
            continue;
        }
        int lmin, lmax;
        cr_tile_zoom_range(ts, &lmin, &lmax);
        minz = lmin < minz ? lmin : minz;
        maxz = lmax > maxz ? lmax : maxz;
        json_t *fields = json_object();
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(ts, "attributes"), k, a)
        {
            const char *an = json_string_value(a);
            if (an && strncmp(an, "accumulated.", 12) == 0) {
                json_object_set_new(fields, an, json_string("Number")); /* an upstream total */
                continue;
            }
            if (an && strncmp(an, "status.", 7) == 0) {
                json_object_set_new(fields, an + 7, json_string("String")); /* feature_status */
                continue;
            }
            int fi = cr_layer_def_field_index(d, an);
            if (fi >= 0 && !d->fields[fi].restricted) {
                json_object_set_new(fields, d->fields[fi].name,
                                    json_string(tilejson_type(d->fields[fi].type)));
            }
        }
        /* id_field: a crossriver member (TileJSON allows more): the attribute that names a
         * feature for /api/features */
        json_array_append_new(layers, json_pack("{s:s, s:s, s:i, s:i, s:o, s:s}", "id", d->name,
                                                "description", d->title ? d->title : d->name,
                                                "minzoom", lmin, "maxzoom", lmax, "fields", fields,
                                                "id_field", d->id_field));
        char *sql = sqlite3_mprintf("SELECT min(xmin), min(ymin), max(xmax), max(ymax)"
                                    " FROM \"idx_%w_geom\"",
                                    d->name);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            for (int c = 0; c < 4; c++) {
                double v = sqlite3_column_double(st, c);
                b[c] = c < 2 ? (v < b[c] ? v : b[c]) : (v > b[c] ? v : b[c]);
            }
        }
        sqlite3_finalize(st);
        sqlite3_free(sql);
    }
    if (b[0] > b[2]) { /* an empty store: the whole world */
        b[0] = -180, b[1] = -85.0511, b[2] = 180, b[3] = 85.0511;
    }
    *out = json_pack("{s:s, s:s, s:s, s:[s], s:i, s:i, s:[f,f,f,f], s:[f,f,i], s:o, s:I}",
                     "tilejson", "3.0.0", "name", "crossriver", "scheme", "xyz", "tiles", tiles_url,
                     "minzoom", minz, "maxzoom", maxz, "bounds", b[0], b[1], b[2], b[3], "center",
                     (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, minz + 6 < maxz ? minz + 6 : maxz,
                     "vector_layers", layers, "data_generation",
                     (json_int_t)cr_store_data_generation(store));
    (void)err;
    return CR_OK;
}

/* Columns never shown: internal bookkeeping and unmapped source columns (may hold anything). */
static int hidden_column(const char *name)
{
    static const char *hidden[] = {"geom", "extra", "valid_to", "closed_by_batch"};
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
        if (strcmp(name, hidden[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

json_t *cr_api_column_json(sqlite3_stmt *st, int c)
{
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, c));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, c));
    case SQLITE_TEXT:
        return json_string((const char *)sqlite3_column_text(st, c));
    default:
        return json_null();
    }
}

/* Whether text has a character beyond ASCII (a Chinese word, here). */
static int has_cjk(const char *t)
{
    for (; t && *t; t++) {
        if ((unsigned char)*t >= 0x80) {
            return 1;
        }
    }
    return 0;
}

json_t *cr_api_catalog(const cr_layer_set *set, const json_t *divisions)
{
    json_t *layers = json_object();
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        json_t *fields = json_object();
        for (size_t k = 0; k < d->n_fields; k++) {
            const cr_field_def *f = &d->fields[k];
            const char *zh = NULL;
            for (size_t a = 0; a < f->n_aliases && zh == NULL; a++) {
                zh = has_cjk(f->aliases[a]) ? f->aliases[a] : NULL;
            }
            json_t *o = json_pack("{s:s, s:s, s:b}", "zh", zh ? zh : f->name, "en", f->name,
                                  "restricted", f->restricted);
            if (f->n_values > 0) {
                json_t *values = json_object();
                for (size_t v = 0; v < f->n_values; v++) {
                    const cr_value_map *m = &f->values[v];
                    const char *word = has_cjk(m->canonical) ? m->canonical : NULL;
                    for (size_t s2 = 0; s2 < m->n_synonyms && word == NULL; s2++) {
                        word = has_cjk(m->synonyms[s2]) ? m->synonyms[s2] : NULL;
                    }
                    json_object_set_new(values, m->canonical,
                                        json_string(word ? word : m->canonical));
                }
                json_object_set_new(o, "values", values);
            }
            json_object_set_new(fields, f->name, o);
        }
        json_object_set_new(layers, d->name,
                            json_pack("{s:s, s:s, s:o}", "title", d->title ? d->title : d->name,
                                      "geometry", cr_geom_kind_name(d->geom), "fields", fields));
    }
    json_t *names = json_object_get(divisions, "names");
    return json_pack("{s:o, s:O}", "layers", layers, "divisions", names ? names : json_null());
}

cr_status cr_api_labels(cr_store *store, json_t **out, cr_error *err)
{
    *out = NULL;
    const cr_layer_set *set = cr_store_layers(store);
    json_t *features = json_array();
    for (size_t i = 0; i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        const char *field = json_string_value(json_object_get(tile_settings(d, NULL), "label"));
        if (field == NULL) {
            continue;
        }
        int has_level = cr_layer_def_field_index(d, "level") >= 0;
        char *sql = sqlite3_mprintf(
            "SELECT source_id, \"%w\", %s, ST_X(p), ST_Y(p) FROM (SELECT source_id, \"%w\", %s,"
            " ST_PointOnSurface(geom) AS p FROM \"%w_current\" WHERE geom IS NOT NULL AND"
            " \"%w\" IS NOT NULL) WHERE p IS NOT NULL ORDER BY source_id",
            field, has_level ? "level" : "NULL", field, has_level ? "level" : "NULL", d->name,
            field);
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(cr_store_db(store), sql, -1, &st, NULL);
        sqlite3_free(sql);
        if (rc != SQLITE_OK) {
            json_decref(features);
            return cr_error_set(err, CR_EDB, "labels of %s: %s", d->name,
                                sqlite3_errmsg(cr_store_db(store)));
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            /* kind: the level where the layer has levels (county, town), else the layer */
            const char *level = (const char *)sqlite3_column_text(st, 2);
            json_array_append_new(
                features,
                json_pack("{s:s, s:{s:s, s:[f,f]}, s:{s:s, s:s, s:s, s:s}}", "type", "Feature",
                          "geometry", "type", "Point", "coordinates",
                          round(sqlite3_column_double(st, 3) * 1e6) / 1e6,
                          round(sqlite3_column_double(st, 4) * 1e6) / 1e6, "properties", "name",
                          (const char *)sqlite3_column_text(st, 1), "kind", level ? level : d->name,
                          "layer", d->name, "id", (const char *)sqlite3_column_text(st, 0)));
        }
        sqlite3_finalize(st);
    }
    *out = json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", features);
    return CR_OK;
}

json_t *cr_api_rows_json(sqlite3_stmt *st, const char *const *names)
{
    json_t *rows = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            json_object_set_new(o, names ? names[c] : sqlite3_column_name(st, c),
                                cr_api_column_json(st, c));
        }
        json_array_append_new(rows, o);
    }
    sqlite3_reset(st);
    return rows;
}

cr_status cr_api_feature(cr_store *store, const char *layer, const char *id,
                         const cr_access *access, json_t **out, int *restricted_out, cr_error *err)
{
    *restricted_out = 0;
    const cr_layer_def *d = cr_layer_set_find(cr_store_layers(store), layer);
    if (d == NULL || tile_settings(d, access) == NULL) {
        return cr_error_set(err, CR_ENOTFOUND, "no public layer '%s'", layer);
    }
    sqlite3 *db = cr_store_db(store);
    char *sql = sqlite3_mprintf("SELECT *, AsGeoJSON(geom, 7) FROM \"%w_current\""
                                " WHERE source_id = ?",
                                d->name);
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (prc != SQLITE_OK) {
        return cr_error_set(err, CR_EIO, "feature %s: %s", layer, sqlite3_errmsg(db));
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    cr_status rc = CR_OK;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = cr_error_set(err, CR_ENOTFOUND, "no %s '%s'", layer, id);
    } else {
        int n = sqlite3_column_count(st);
        const char *code = NULL; /* the feature's jurisdiction, for restricted fields */
        for (int c = 0; c < n - 1; c++) {
            if (strcmp(sqlite3_column_name(st, c), "county_code") == 0) {
                code = (const char *)sqlite3_column_text(st, c);
            }
        }
        int open_here = cr_access_layer(access, d->name) && cr_access_code(access, code);
        if (d->restricted && !open_here) {
            sqlite3_finalize(st);
            return cr_error_set(err, CR_ENOTFOUND, "no %s '%s'", layer, id);
        }
        *restricted_out = d->restricted;
        json_t *props = json_pack("{s:s}", "layer", d->name);
        for (int c = 0; c < n - 1; c++) {
            const char *name = sqlite3_column_name(st, c);
            int fi = cr_layer_def_field_index(d, name);
            int restricted = fi >= 0 && d->fields[fi].restricted;
            if (hidden_column(name) || strcmp(name, "fid") == 0 || (restricted && !open_here)) {
                continue;
            }
            *restricted_out |= restricted && sqlite3_column_type(st, c) != SQLITE_NULL;
            json_object_set_new(props, name, cr_api_column_json(st, c));
        }
        json_t *geom = sqlite3_column_text(st, n - 1)
                           ? json_loads((const char *)sqlite3_column_text(st, n - 1), 0, NULL)
                           : NULL;
        *out = json_pack("{s:s, s:s, s:o, s:o}", "type", "Feature", "id", id, "properties", props,
                         "geometry", geom ? geom : json_null());
    }
    sqlite3_finalize(st);
    return rc;
}

cr_status cr_api_search(cr_store *store, const char *q, int limit, const cr_access *access,
                        json_t **out, cr_error *err)
{
    const cr_layer_set *set = cr_store_layers(store);
    sqlite3 *db = cr_store_db(store);
    json_t *hits = json_array();
    /* LIKE with the wildcards in q escaped: q is text, not a pattern */
    char *pattern = cr_xmalloc(2 * strlen(q) + 3);
    char *p = pattern;
    *p++ = '%';
    for (const char *c = q; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') {
            *p++ = '\\';
        }
        *p++ = *c;
    }
    *p++ = '%';
    *p = '\0';
    cr_status rc = CR_OK;
    for (size_t i = 0; i < set->n_layers && rc == CR_OK; i++) {
        const cr_layer_def *d = set->layers[i];
        /* a restricted layer only for a client that opens it everywhere (hits carry no
         * jurisdiction check) */
        if (tile_settings(d, access) == NULL || json_array_size(hits) >= (size_t)limit ||
            (d->restricted && !cr_access_all_codes(access)) || !cr_store_layer_has_rows(store, d)) {
            continue;
        }
        int has_name = cr_layer_def_field_index(d, "name") >= 0;
        char *sql = sqlite3_mprintf(
            "SELECT source_id, %s, X(c), Y(c) FROM (SELECT source_id, %s AS nm,"
            " PointOnSurface(geom) AS c FROM \"%w_current\" WHERE source_id LIKE ?1 ESCAPE '\\'"
            " %s ORDER BY source_id LIMIT ?2)",
            "nm", has_name ? "name" : "NULL", d->name,
            has_name ? "OR name LIKE ?1 ESCAPE '\\'" : "");
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = cr_error_set(err, CR_EIO, "search %s: %s", d->name, sqlite3_errmsg(db));
        } else {
            sqlite3_bind_text(st, 1, pattern, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(st, 2, limit - (int)json_array_size(hits));
            while (sqlite3_step(st) == SQLITE_ROW) {
                json_array_append_new(
                    hits, json_pack("{s:s, s:s, s:o, s:o, s:o}", "layer", d->name, "id",
                                    (const char *)sqlite3_column_text(st, 0), "name",
                                    cr_api_column_json(st, 1), "lon", cr_api_column_json(st, 2),
                                    "lat", cr_api_column_json(st, 3)));
            }
        }
        sqlite3_finalize(st);
        sqlite3_free(sql);
    }
    free(pattern);
    if (rc != CR_OK) {
        json_decref(hits);
        return rc;
    }
    *out = hits;
    return CR_OK;
}
