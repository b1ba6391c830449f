/* SPDX-License-Identifier: MIT */
/* Ingest: source file → column mapping → per-row normalise/validate → store, one batch and one
 * transaction per file. Rule: every row read is stored or rejected with its reason
 * (rows_in == stored + rejected); a file-level problem stores nothing at all. */
#include "ingest_internal.h"

#include <cpl_conv.h>
#include <geos_c.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

const double CR_REGION_TAIHU[4] = {118.8, 29.6, 122.2, 32.4};

/* ---- a set of stable IDs seen in this file (open addressing) -------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

/* Add key; returns the row it was first seen at, or 0 when new. */
static int64_t idset_add(cr_idset *set, const char *key, int64_t row)
{
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        cr_idslot *slots = cr_xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < set->cap; i++) {
            if (set->slots[i].key) {
                size_t j = hash_str(set->slots[i].key) & (cap - 1);
                while (slots[j].key) {
                    j = (j + 1) & (cap - 1);
                }
                slots[j] = set->slots[i];
            }
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t j = hash_str(key) & (set->cap - 1);
    while (set->slots[j].key) {
        if (strcmp(set->slots[j].key, key) == 0) {
            return set->slots[j].row;
        }
        j = (j + 1) & (set->cap - 1);
    }
    set->slots[j].key = cr_xstrdup(key);
    set->slots[j].row = row;
    set->n++;
    return 0;
}

int cr_ingest_idset_contains(const cr_idset *set, const char *key)
{
    if (set->cap == 0) {
        return 0;
    }
    size_t j = hash_str(key) & (set->cap - 1);
    while (set->slots[j].key) {
        if (strcmp(set->slots[j].key, key) == 0) {
            return 1;
        }
        j = (j + 1) & (set->cap - 1);
    }
    return 0;
}

static void idset_cleanup(cr_idset *set)
{
    for (size_t i = 0; i < set->cap; i++) {
        free(set->slots[i].key);
    }
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* ---- column mapping ------------------------------------------------------------------- */

static int find_column(const ingest_ctx *c, const char *folded)
{
    for (int i = 0; i < c->n_cols; i++) {
        if (strcmp(c->col_folded[i], folded) == 0) {
            return i;
        }
    }
    return -1;
}

/* First unused column matching any alias (or the field's own name). */
static int match_aliases(ingest_ctx *c, const char *own_name, char **aliases, size_t n)
{
    for (size_t k = 0; k <= n; k++) {
        const char *name = k < n ? aliases[k] : own_name;
        if (name == NULL) {
            continue;
        }
        char *f = cr_text_fold(name);
        int col = find_column(c, f);
        free(f);
        if (col >= 0 && !c->col_used[col]) {
            c->col_used[col] = 1;
            return col;
        }
    }
    return -1;
}

static void alias_list(cr_strbuf *sb, char **aliases, size_t n)
{
    for (size_t k = 0; k < n && k < 6; k++) {
        cr_strbuf_printf(sb, "%s%s", k ? ", " : "", aliases[k]);
    }
    if (n > 6) {
        cr_strbuf_puts(sb, ", …");
    }
}

static int implied_by_mapped_field(const ingest_ctx *c, const char *target)
{
    for (size_t i = 0; i < c->def->n_fields; i++) {
        const cr_field_def *f = &c->def->fields[i];
        if (f->implies_field && strcmp(f->implies_field, target) == 0 && c->field_col[i] >= 0) {
            return 1;
        }
    }
    return 0;
}

static void normalise_field(const ingest_ctx *c, row_state *r, size_t i, const char *raw);

/* --set FIELD=VALUE: checked once, as a value of its field, before any row is read. */
static cr_status map_constants(ingest_ctx *c, cr_error *err)
{
    const cr_layer_def *d = c->def;
    c->constant = cr_xcalloc(d->n_fields, sizeof *c->constant);
    for (size_t k = 0; k < c->opt->n_constants; k++) {
        const cr_field_map *fm = &c->opt->constants[k];
        int fi = cr_layer_def_field_index(d, fm->target);
        if (fi < 0) {
            return cr_error_set(err, CR_EINVAL, "%s: --set %s=%s: layer %s has no field '%s'",
                                c->path, fm->target, fm->source, d->name, fm->target);
        }
        row_state r = {0};
        r.values = cr_xcalloc(d->n_fields, sizeof *r.values);
        r.failed = cr_xcalloc(d->n_fields, 1);
        r.from_kind = cr_xcalloc(d->n_fields, 1);
        int saved = c->field_col[fi];
        c->field_col[fi] = -1; /* messages name --set */
        normalise_field(c, &r, (size_t)fi, fm->source);
        c->field_col[fi] = saved;
        cr_status rc = CR_OK;
        if (r.n_problems > 0) {
            rc = cr_error_set(err, CR_EINVAL, "%s: --set %s=%s: %s", c->path, fm->target,
                              fm->source, r.reason.data);
        }
        for (size_t i = 0; i < d->n_fields; i++) {
            free(r.values[i]);
        }
        free(r.values);
        free(r.failed);
        free(r.from_kind);
        cr_strbuf_cleanup(&r.reason);
        cr_strbuf_cleanup(&r.notes);
        if (rc != CR_OK) {
            return rc;
        }
        c->constant[fi] = fm->source;
    }
    return CR_OK;
}

/* The --field TARGET=SOURCE maps: a field or a coordinate (lon, lat, x, y) from a named
 * column. */
static cr_status apply_field_maps(ingest_ctx *c, cr_error *err)
{
    const cr_layer_def *d = c->def;
    static const char *coord_names[4] = {"lon", "lat", "x", "y"};
    for (size_t m = 0; m < c->opt->n_maps; m++) {
        const cr_field_map *fm = &c->opt->maps[m];
        char *f = cr_text_fold(fm->source);
        int col = find_column(c, f);
        free(f);
        if (col < 0) {
            return cr_error_set(err, CR_EINVAL, "%s: --field %s=%s: no column named '%s'", c->path,
                                fm->target, fm->source, fm->source);
        }
        int fi = cr_layer_def_field_index(d, fm->target);
        int ci = -1;
        for (int k = 0; k < 4; k++) {
            ci = strcmp(fm->target, coord_names[k]) == 0 ? k : ci;
        }
        if (fi < 0 && ci < 0) {
            return cr_error_set(err, CR_EINVAL,
                                "%s: --field %s=%s: layer %s has no field '%s' (nor lon, lat, x, "
                                "y)",
                                c->path, fm->target, fm->source, d->name, fm->target);
        }
        c->col_used[col] = 1;
        if (fi >= 0) {
            c->field_col[fi] = col;
        } else {
            c->coord_col[ci] = col;
        }
    }
    return CR_OK;
}

/* Every required field has a column, a --set value or a mapped field implying it, and the
 * geometry has somewhere to come from. */
static cr_status check_required(ingest_ctx *c, cr_error *err)
{
    const cr_layer_def *d = c->def;
    for (size_t i = 0; i < d->n_fields; i++) {
        const cr_field_def *f = &d->fields[i];
        if (f->required && c->field_col[i] < 0 && !c->constant[i] &&
            !implied_by_mapped_field(c, f->name)) {
            cr_strbuf sb = {0};
            alias_list(&sb, f->aliases, f->n_aliases);
            cr_error_set(err, CR_EINVAL,
                         "%s: no column for required field '%s' (looked for %s); map one with "
                         "--field %s=COLUMN, or give every row one value with --set %s=VALUE",
                         c->path, f->name, sb.data ? sb.data : f->name, f->name, f->name);
            cr_strbuf_cleanup(&sb);
            return CR_EINVAL;
        }
    }
    int has_geom_col = OGR_L_GetGeomType(c->src.layer) != wkbNone;
    int has_lonlat = c->coord_col[CR_COORD_LON] >= 0 && c->coord_col[CR_COORD_LAT] >= 0;
    int has_xy = c->coord_col[CR_COORD_X] >= 0 && c->coord_col[CR_COORD_Y] >= 0;
    if (d->geom == CR_GEOM_POINT && !has_geom_col && !has_lonlat && !has_xy) {
        cr_strbuf sb = {0};
        alias_list(&sb, d->coord_aliases[0], d->n_coord_aliases[0]);
        cr_error_set(err, CR_EINVAL,
                     "%s: no geometry and no longitude/latitude columns (looked for %s); map them "
                     "with --field lon=COLUMN --field lat=COLUMN",
                     c->path, sb.data ? sb.data : "lon");
        cr_strbuf_cleanup(&sb);
        return CR_EINVAL;
    }
    if ((d->geom == CR_GEOM_LINESTRING || d->geom == CR_GEOM_MULTIPOLYGON) && !has_geom_col) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: layer %s needs %s geometry, and this file has none (for CSV, "
                            "put it in a WKT column)",
                            c->path, d->name, cr_geom_kind_name(d->geom));
    }
    return CR_OK;
}

static cr_status map_columns(ingest_ctx *c, cr_error *err)
{
    const cr_layer_def *d = c->def;
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(c->src.layer);
    c->n_cols = OGR_FD_GetFieldCount(fd);
    c->col_name = cr_xcalloc((size_t)c->n_cols + 1, sizeof *c->col_name);
    c->col_folded = cr_xcalloc((size_t)c->n_cols + 1, sizeof *c->col_folded);
    c->col_used = cr_xcalloc((size_t)c->n_cols + 1, 1);
    for (int i = 0; i < c->n_cols; i++) {
        const char *name = i < c->n_header_names ? c->header_names[i]
                                                 : OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(fd, i));
        c->col_name[i] = cr_text_trim(name);
        c->col_folded[i] = cr_text_fold(c->col_name[i]);
    }
    c->field_col = cr_xcalloc(d->n_fields, sizeof *c->field_col);
    for (size_t i = 0; i < d->n_fields; i++) {
        c->field_col[i] = -1;
    }
    for (int k = 0; k < 4; k++) {
        c->coord_col[k] = -1;
    }
    cr_status rc = apply_field_maps(c, err);
    if (rc != CR_OK) {
        return rc;
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        if (c->field_col[i] < 0) {
            c->field_col[i] =
                match_aliases(c, d->fields[i].name, d->fields[i].aliases, d->fields[i].n_aliases);
        }
    }
    rc = map_constants(c, err);
    if (rc != CR_OK) {
        return rc;
    }
    for (int k = 0; k < 4; k++) {
        if (c->coord_col[k] < 0) {
            c->coord_col[k] = match_aliases(c, NULL, d->coord_aliases[k], d->n_coord_aliases[k]);
        }
    }
    for (int i = 0; i < c->n_cols; i++) {
        c->n_unmapped += !c->col_used[i];
    }
    c->carry = cr_xcalloc(d->n_fields, 1);
    for (size_t i = 0; i < d->n_fields; i++) {
        c->carry[i] = c->field_col[i] < 0 && !c->constant[i] &&
                      !implied_by_mapped_field(c, d->fields[i].name);
    }
    return check_required(c, err);
}

/* ---- CRS ------------------------------------------------------------------------------ */

static cr_status open_crs(ingest_ctx *c, cr_error *err)
{
    if (c->def->geom == CR_GEOM_NONE) {
        snprintf(c->res->crs, sizeof c->res->crs, "none (layer without geometry)");
        return CR_OK;
    }
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(c->src.layer);
    char file_crs[128] = "";
    char *wkt = NULL;
    if (srs != NULL) {
        const char *auth = OSRGetAuthorityName(srs, NULL);
        const char *code = OSRGetAuthorityCode(srs, NULL);
        if (auth && code) {
            snprintf(file_crs, sizeof file_crs, "%s:%s", auth, code);
        } else {
            const char *opts[] = {"FORMAT=WKT2_2019", NULL};
            OSRExportToWktEx(srs, &wkt, opts);
        }
    }
    const char *spec = c->opt->crs;
    const char *how = "--crs";
    if (spec == NULL && file_crs[0]) {
        spec = file_crs, how = "from the file";
    } else if (spec == NULL && wkt) {
        spec = wkt, how = "from the file";
    } else if (spec == NULL) {
        spec = "EPSG:4490", how = "default: the file names none";
    }
    cr_status rc = cr_crs_open(spec, &c->crs, err);
    CPLFree(wkt);
    if (rc != CR_OK) {
        return cr_error_prefix(err, "%s", c->path);
    }
    if (c->opt->crs && (file_crs[0] || srs)) {
        snprintf(c->res->crs, sizeof c->res->crs, "%s (--crs; the file declares %s)",
                 cr_crs_label(c->crs), file_crs[0] ? file_crs : "another CRS");
    } else {
        snprintf(c->res->crs, sizeof c->res->crs, "%s (%s)", cr_crs_label(c->crs), how);
    }
    return CR_OK;
}

/* ---- rows ----------------------------------------------------------------------------- */

/* JSON object of every source column (raw text), plus the geometry as WKT when asked.
 * Caller frees with free(). */
static char *record_json(const ingest_ctx *c, OGRFeatureH f, int only_unmapped)
{
    json_t *o = json_object();
    for (int i = 0; i < c->n_cols; i++) {
        if (only_unmapped && c->col_used[i]) {
            continue;
        }
        if (!OGR_F_IsFieldSetAndNotNull(f, i)) {
            if (!only_unmapped) {
                json_object_set_new(o, c->col_name[i], json_null());
            }
            continue;
        }
        const char *v = OGR_F_GetFieldAsString(f, i);
        if (only_unmapped && *v == '\0') {
            continue;
        }
        json_object_set_new(o, c->col_name[i], json_string(v));
    }
    OGRGeometryH g = only_unmapped ? NULL : OGR_F_GetGeometryRef(f);
    if (g != NULL) {
        char *wkt = NULL;
        if (OGR_G_ExportToWkt(g, &wkt) == OGRERR_NONE) {
            json_object_set_new(o, "geometry_wkt", json_string(wkt));
        }
        CPLFree(wkt);
    }
    char *s = NULL;
    if (json_object_size(o) > 0 || !only_unmapped) {
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(o);
    return s;
}

static void problem(row_state *r, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(row_state *r, const char *code, const char *field, const char *fmt, ...)
{
    if (r->n_problems == 0) {
        snprintf(r->code, sizeof r->code, "%s", code);
        snprintf(r->field, sizeof r->field, "%s", field ? field : "");
    } else {
        cr_strbuf_puts(&r->reason, "; ");
    }
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cr_strbuf_puts(&r->reason, buf);
    r->n_problems++;
}

static void note(row_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(row_state *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r->notes.len) {
        cr_strbuf_puts(&r->notes, "; ");
    }
    cr_strbuf_puts(&r->notes, buf);
}

/* Raw trimmed text of a column, or NULL when absent or blank. Caller frees. */
static char *column_text(OGRFeatureH f, int col)
{
    if (col < 0 || !OGR_F_IsFieldSetAndNotNull(f, col)) {
        return NULL;
    }
    char *t = cr_text_trim(OGR_F_GetFieldAsString(f, col));
    if (*t == '\0') {
        free(t);
        return NULL;
    }
    return t;
}

static const cr_value_map *lookup_value(const cr_field_def *fd, const char *raw)
{
    char *f = cr_text_fold(raw);
    const cr_value_map *hit = NULL;
    for (size_t v = 0; v < fd->n_values && !hit; v++) {
        for (size_t k = 0; k <= fd->values[v].n_synonyms && !hit; k++) {
            hit = strcmp(fd->values[v].folded[k], f) == 0 ? &fd->values[v] : NULL;
        }
    }
    free(f);
    return hit;
}

/* Normalise one field's raw text into r->values[i] (NULL when blank) or record a problem. */
/* A field whose enumeration implies field i's value (sub_kind → kind), or -1. */
static int implying_field(const cr_layer_def *d, size_t i)
{
    for (size_t k = 0; k < d->n_fields; k++) {
        if (d->fields[k].implies_field &&
            strcmp(d->fields[k].implies_field, d->fields[i].name) == 0) {
            return (int)k;
        }
    }
    return -1;
}

/* The kind column holds a known sub-kind (雨洪排口 under 排污口类型): store the kind it implies
 * and the sub-kind, with a note. Returns 1 when it did. */
static int sub_kind_in_kind_column(const ingest_ctx *c, row_state *r, size_t i, const char *col,
                                   const char *raw)
{
    int k = implying_field(c->def, i);
    const cr_value_map *m = k >= 0 ? lookup_value(&c->def->fields[k], raw) : NULL;
    const char *implied =
        m ? json_string_value(json_object_get(c->def->fields[k].implies_map, m->canonical)) : NULL;
    if (implied == NULL) {
        return 0;
    }
    r->values[i] = cr_xstrdup(implied);
    r->failed[i] = 0;
    if (r->values[k] == NULL) {
        r->values[k] = cr_xstrdup(m->canonical);
        r->from_kind[k] = 1;
    }
    note(r, "%s '%s' is a sub-kind: %s %s, %s %s", col, raw, c->def->fields[i].name, implied,
         c->def->fields[k].name, m->canonical);
    return 1;
}

/* The label of field i's source for messages: its column, or its own name (a --set value). */
static const char *field_source(const ingest_ctx *c, size_t i)
{
    return c->field_col[i] >= 0 ? c->col_name[c->field_col[i]] : c->def->fields[i].name;
}

/* An enumerated field: the canonical value of a synonym, or a sub-kind named in the kind
 * column, or a problem listing what is allowed. */
static void normalise_enum(const ingest_ctx *c, row_state *r, size_t i, const char *col,
                           const char *raw)
{
    const cr_field_def *fd = &c->def->fields[i];
    const cr_value_map *m = lookup_value(fd, raw);
    if (m == NULL && sub_kind_in_kind_column(c, r, i, col, raw)) {
        return;
    }
    if (m == NULL) {
        cr_strbuf allowed = {0};
        for (size_t v = 0; v < fd->n_values && v < 12; v++) {
            cr_strbuf_printf(&allowed, "%s%s", v ? ", " : "", fd->values[v].canonical);
        }
        problem(r, "enum", fd->name, "%s '%s': not one of %s", col, raw, allowed.data);
        cr_strbuf_cleanup(&allowed);
        return;
    }
    r->values[i] = cr_xstrdup(m->canonical);
    r->failed[i] = 0;
}

/* An integer or real field within its bounds. */
static void normalise_number(const cr_field_def *fd, row_state *r, size_t i, const char *col,
                             const char *raw)
{
    cr_error e = {0};
    char buf[64];
    double v = 0;
    int64_t iv = 0;
    cr_status rc = fd->type == CR_FT_INTEGER ? cr_etl_parse_integer(raw, &iv, &e)
                                             : cr_etl_parse_real(raw, &v, &e);
    if (rc != CR_OK) {
        problem(r, "type", fd->name, "%s '%s': %s", col, raw, e.msg);
        return;
    }
    if (fd->type == CR_FT_INTEGER) {
        v = (double)iv;
    }
    if ((fd->has_min && v < fd->min) || (fd->has_max && v > fd->max)) {
        problem(r, "range", fd->name, "%s '%s': outside [%g, %g]", col, raw,
                fd->has_min ? fd->min : -INFINITY, fd->has_max ? fd->max : INFINITY);
        return;
    }
    if (fd->type == CR_FT_INTEGER) {
        snprintf(buf, sizeof buf, "%lld", (long long)iv);
    } else {
        snprintf(buf, sizeof buf, "%.17g", v);
    }
    r->values[i] = cr_xstrdup(buf);
    r->failed[i] = 0;
}

static void normalise_field(const ingest_ctx *c, row_state *r, size_t i, const char *raw)
{
    const cr_field_def *fd = &c->def->fields[i];
    const char *col = field_source(c, i);
    cr_error e = {0};
    char buf[64];
    if (r->values[i] != NULL && r->from_kind[i]) {
        /* the kind column already named this sub-kind: its own column must agree */
        const cr_value_map *m = fd->n_values > 0 ? lookup_value(fd, raw) : NULL;
        if (m && strcmp(m->canonical, r->values[i]) == 0) {
            return;
        }
        free(r->values[i]);
        r->values[i] = NULL;
    }
    r->failed[i] = 1; /* cleared below once a value is stored */
    if (fd->n_values > 0) {
        normalise_enum(c, r, i, col, raw);
        return;
    }
    switch (fd->type) {
    case CR_FT_TEXT:
        r->values[i] = cr_xstrdup(raw);
        r->failed[i] = 0;
        return;
    case CR_FT_INTEGER:
    case CR_FT_REAL: {
        normalise_number(fd, r, i, col, raw);
        return;
    }
    case CR_FT_DATE:
        if (cr_etl_parse_date(raw, buf, &e) != CR_OK) {
            problem(r, "type", fd->name, "%s '%s': %s", col, raw, e.msg);
            return;
        }
        r->values[i] = cr_xstrdup(buf);
        r->failed[i] = 0;
        return;
    case CR_FT_DATETIME:
        if (cr_etl_parse_datetime(raw, buf, &e) != CR_OK) {
            problem(r, "type", fd->name, "%s '%s': %s", col, raw, e.msg);
            return;
        }
        r->values[i] = cr_xstrdup(buf);
        r->failed[i] = 0;
        return;
    case CR_FT_BOOLEAN: {
        int b = 0;
        if (cr_etl_parse_boolean(raw, &b, &e) != CR_OK) {
            problem(r, "type", fd->name, "%s '%s': %s", col, raw, e.msg);
            return;
        }
        r->values[i] = cr_xstrdup(b ? "1" : "0");
        r->failed[i] = 0;
        return;
    }
    }
}

static void apply_implications(const ingest_ctx *c, row_state *r)
{
    const cr_layer_def *d = c->def;
    for (size_t i = 0; i < d->n_fields; i++) {
        const cr_field_def *fd = &d->fields[i];
        if (!fd->implies_field || r->values[i] == NULL) {
            continue;
        }
        int t = cr_layer_def_field_index(d, fd->implies_field);
        const char *implied = json_string_value(json_object_get(fd->implies_map, r->values[i]));
        if (implied == NULL) {
            continue;
        }
        if (r->values[t] == NULL) {
            r->values[t] = cr_xstrdup(implied);
        } else if (strcmp(r->values[t], implied) != 0) {
            problem(r, "implies", d->fields[t].name, "%s '%s' belongs to %s, but %s says %s",
                    field_source(c, i), r->values[i], implied,
                    c->field_col[t] >= 0 ? c->col_name[c->field_col[t]] : d->fields[t].name,
                    r->values[t]);
        }
    }
}

static void read_fields(ingest_ctx *c, OGRFeatureH f, row_state *r)
{
    const cr_layer_def *d = c->def;
    for (size_t i = 0; i < d->n_fields; i++) {
        char *raw = column_text(f, c->field_col[i]);
        if (raw != NULL) {
            normalise_field(c, r, i, raw);
            free(raw);
        }
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        if (c->constant[i] && r->values[i] == NULL && !r->failed[i]) {
            normalise_field(c, r, i, c->constant[i]);
        }
    }
    apply_implications(c, r);
    for (size_t i = 0; i < d->n_fields; i++) {
        if (!d->fields[i].required || r->values[i] != NULL || r->failed[i]) {
            continue;
        }
        if (c->field_col[i] >= 0) {
            problem(r, "required", d->fields[i].name, "%s (column %s): required value missing",
                    d->fields[i].name, c->col_name[c->field_col[i]]);
        } else {
            problem(r, "required", d->fields[i].name, "%s: required value missing",
                    d->fields[i].name);
        }
    }
}

static int in_region(const double *region, double lon, double lat)
{
    return lon >= region[0] && lon <= region[2] && lat >= region[1] && lat <= region[3];
}

static int looks_northing(double v)
{
    return v >= 2.0e6 && v < 6.0e6;
}

static int looks_easting(double v)
{
    return (v > 0 && v < 1.0e6) || (v >= 1.0e7 && v < 1.0e8);
}

/* A CRS to suggest for projected coordinates given without one: the CGCS2000 3-degree
 * Gauss-Krüger zone its prefix names (EPSG:4513 is zone 25 … EPSG:4533 zone 45), the 6-degree
 * one (EPSG:4491 zone 13 … EPSG:4501 zone 23), else the zone without prefix at 120°E. */
static void suggest_projected_crs(double easting, char out[96])
{
    int zone = easting >= 1e7 && easting < 1e8 ? (int)floor(easting / 1e6) : 0;
    if (zone >= 25 && zone <= 45) {
        snprintf(out, 96, "EPSG:%d (CGCS2000 3-degree Gauss-Kruger zone %d)", 4513 + zone - 25,
                 zone);
    } else if (zone >= 13 && zone <= 23) {
        snprintf(out, 96, "EPSG:%d (CGCS2000 6-degree Gauss-Kruger zone %d)", 4491 + zone - 13,
                 zone);
    } else {
        snprintf(out, 96, "e.g. EPSG:4549 (CGCS2000 3-degree Gauss-Kruger, CM 120E)");
    }
}

/* Parse lon/lat text from the columns named lon_col, lat_col; records problems, returns 1 with
 * coordinates on success. */
/* One pair of coordinate columns as read: their names, the row's text, the numbers. */
typedef struct {
    const char *col[2]; /* lon/x, lat/y column names */
    const char *txt[2]; /* the row's text in them */
    double v[2];        /* out: the numbers (lon, lat or easting, northing) */
} coord_pair;

static int point_from_lonlat(ingest_ctx *c, row_state *r, coord_pair *cp, cr_error *fatal)
{
    const char *lon_col = cp->col[0], *lat_col = cp->col[1];
    const char *lon_txt = cp->txt[0], *lat_txt = cp->txt[1];
    double *x = &cp->v[0], *y = &cp->v[1];
    cr_error e1 = {0};
    cr_error e2 = {0};
    int ok_lon = cr_etl_parse_angle(lon_txt, CR_AXIS_LON, x, &e1) == CR_OK;
    int ok_lat = cr_etl_parse_angle(lat_txt, CR_AXIS_LAT, y, &e2) == CR_OK;
    if (ok_lon && ok_lat) {
        return 1;
    }
    double sx;
    double sy;
    if (cr_etl_parse_angle(lat_txt, CR_AXIS_LON, &sx, NULL) == CR_OK &&
        cr_etl_parse_angle(lon_txt, CR_AXIS_LAT, &sy, NULL) == CR_OK &&
        in_region(c->opt->region, sx, sy)) {
        problem(r, "swapped", "lon",
                "%s '%s' / %s '%s': longitude and latitude look swapped "
                "(swapped, the point would be %.6f, %.6f, inside the region); fix the columns",
                lon_col, lon_txt, lat_col, lat_txt, sx, sy);
        return 0;
    }
    double v;
    double w = 0;
    if (cr_etl_parse_real(ok_lon ? lat_txt : lon_txt, &v, NULL) == CR_OK && fabs(v) > 1000) {
        /* the larger of the two is the easting when both are metres (X = northing order) */
        if (cr_etl_parse_real(ok_lon ? lon_txt : lat_txt, &w, NULL) != CR_OK || w < v) {
            w = v;
        }
        char hint[96];
        suggest_projected_crs(w, hint);
        cr_error_set(fatal, CR_EINVAL,
                     "%s:%lld: %s '%s': looks like a projected coordinate in metres, but the "
                     "source CRS %s is geographic; give the CRS with --crs, %s",
                     c->path, (long long)r->row, ok_lon ? lat_col : lon_col,
                     ok_lon ? lat_txt : lon_txt, cr_crs_label(c->crs), hint);
        return 0;
    }
    if (!ok_lon) {
        problem(r, "coordinates", "lon", "%s '%s': not an angle: %s", lon_col, lon_txt, e1.msg);
    }
    if (!ok_lat) {
        problem(r, "coordinates", "lat", "%s '%s': not an angle: %s", lat_col, lat_txt, e2.msg);
    }
    return 0;
}

/* Parse projected x/y text from the columns named x_col, y_col (either order: the magnitudes
 * tell easting from northing here). */
static int point_from_xy(ingest_ctx *c, row_state *r, coord_pair *cp, cr_error *fatal)
{
    const char *x_col = cp->col[0], *y_col = cp->col[1];
    const char *x_txt = cp->txt[0], *y_txt = cp->txt[1];
    double *x = &cp->v[0], *y = &cp->v[1];
    cr_error e = {0};
    if (cr_etl_parse_real(x_txt, x, &e) != CR_OK) {
        problem(r, "coordinates", "x", "%s '%s': %s", x_col, x_txt, e.msg);
        return 0;
    }
    if (cr_etl_parse_real(y_txt, y, &e) != CR_OK) {
        problem(r, "coordinates", "y", "%s '%s': %s", y_col, y_txt, e.msg);
        return 0;
    }
    if (fabs(*x) <= 360 && fabs(*y) <= 360) {
        cr_error_set(fatal, CR_EINVAL,
                     "%s:%lld: %s '%s', %s '%s': look like degrees, but the source CRS %s is "
                     "projected; give the right --crs",
                     c->path, (long long)r->row, x_col, x_txt, y_col, y_txt, cr_crs_label(c->crs));
        return 0;
    }
    if (looks_northing(*x) && looks_easting(*y) && !looks_northing(*y)) {
        double t = *x;
        *x = *y;
        *y = t;
        note(r, "%s/%s in surveying order (X = northing)", x_col, y_col);
    }
    if (cr_crs_check_easting(c->crs, *x, &e) != CR_OK) {
        cr_error_set(fatal, CR_EINVAL, "%s:%lld: %s", c->path, (long long)r->row, e.msg);
        return 0;
    }
    return 1;
}

static void point_wkb(unsigned char out[21], double x, double y)
{
    uint32_t type = 1;
    out[0] = 1; /* little-endian (NDR); hosts we build on are little-endian */
    memcpy(out + 1, &type, 4);
    memcpy(out + 5, &x, 8);
    memcpy(out + 13, &y, 8);
}

static void region_problem(ingest_ctx *c, row_state *r, const char *what, double lon, double lat)
{
    const double *g = c->opt->region;
    if (in_region(g, lat, lon)) {
        problem(r, "swapped", "lon",
                "%s %.6f, %.6f is outside the region but inside it swapped: longitude and "
                "latitude look swapped",
                what, lon, lat);
        return;
    }
    problem(r, "region", "lon",
            "%s %.6f, %.6f outside the deployment region %g,%g,%g,%g (W,S,E,N; set with "
            "--region)",
            what, lon, lat, g[0], g[1], g[2], g[3]);
}

static int transform_point(ingest_ctx *c, row_state *r, double x, double y, cr_error *fatal)
{
    cr_error e = {0};
    double lon;
    double lat;
    if (cr_crs_to_wgs84(c->crs, x, y, &lon, &lat, r->method, &e) != CR_OK) {
        problem(r, "coordinates", "lon", "%s", e.msg);
        return 0;
    }
    (void)fatal;
    if (!in_region(c->opt->region, lon, lat)) {
        region_problem(c, r, "point", lon, lat);
        return 0;
    }
    point_wkb(r->point_wkb, lon, lat);
    r->wkb = r->point_wkb;
    r->wkb_len = 21;
    r->bbox[0] = r->bbox[2] = lon;
    r->bbox[1] = r->bbox[3] = lat;
    return 1;
}

/* A point from the row's geometry into v; its coordinates' text goes to text[0], text[1]
 * (caller frees). */
static int point_from_geometry(ingest_ctx *c, OGRFeatureH f, row_state *r, char *text_out[2],
                               double v[2], cr_error *fatal)
{
    char **a = &text_out[0], **b = &text_out[1];
    double *x = &v[0], *y = &v[1];
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (g && !OGR_G_IsEmpty(g) && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPoint &&
        OGR_G_GetGeometryCount(g) == 1) {
        g = OGR_G_GetGeometryRef(g, 0);
    }
    if (g == NULL || OGR_G_IsEmpty(g)) {
        problem(r, "coordinates", "lon",
                "no coordinates (no geometry and no longitude/latitude values)");
        return 0;
    }
    if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPoint) {
        problem(r, "geometry", "geom", "geometry is %s, not a point", OGR_G_GetGeometryName(g));
        return 0;
    }
    *x = OGR_G_GetX(g, 0);
    *y = OGR_G_GetY(g, 0);
    char text[40];
    snprintf(text, sizeof text, "%.10g", *x);
    *a = cr_xstrdup(text);
    snprintf(text, sizeof text, "%.10g", *y);
    *b = cr_xstrdup(text);
    cr_error e = {0};
    if (cr_crs_is_geographic(c->crs) && (fabs(*x) > 360 || fabs(*y) > 360)) {
        char hint[96];
        suggest_projected_crs(fmax(fabs(*x), fabs(*y)), hint);
        cr_error_set(fatal, CR_EINVAL,
                     "%s:%lld: point (%s, %s) looks projected (metres), but the source CRS %s "
                     "is geographic; give the CRS with --crs, %s",
                     c->path, (long long)r->row, *a, *b, cr_crs_label(c->crs), hint);
        return 0;
    }
    if (!cr_crs_is_geographic(c->crs) && cr_crs_check_easting(c->crs, *x, &e) != CR_OK) {
        cr_error_set(fatal, CR_EINVAL, "%s:%lld: %s", c->path, (long long)r->row, e.msg);
        return 0;
    }
    return 1;
}

static void read_point(ingest_ctx *c, OGRFeatureH f, row_state *r, cr_error *fatal)
{
    int pair = CR_COORD_LON; /* the first pair of coordinate columns with both values */
    char *a = column_text(f, c->coord_col[CR_COORD_LON]);
    char *b = column_text(f, c->coord_col[CR_COORD_LAT]);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        pair = CR_COORD_X;
        a = column_text(f, c->coord_col[CR_COORD_X]);
        b = column_text(f, c->coord_col[CR_COORD_Y]);
    }
    coord_pair cp = {{NULL, NULL}, {a, b}, {0, 0}};
    int ok = 0;
    if (a && b) {
        /* the CRS decides how the text reads, whatever the columns are called: degrees (in
         * lon/lat or x/y columns) for a geographic one, metres for a projected one */
        cp.col[0] = c->col_name[c->coord_col[pair]];
        cp.col[1] = c->col_name[c->coord_col[pair + 1]];
        ok = cr_crs_is_geographic(c->crs) ? point_from_lonlat(c, r, &cp, fatal)
                                          : point_from_xy(c, r, &cp, fatal);
    } else {
        free(a);
        free(b);
        char *text[2] = {NULL, NULL};
        ok = point_from_geometry(c, f, r, text, cp.v, fatal);
        a = text[0];
        b = text[1];
    }
    if (ok && fatal->code == CR_OK && r->n_problems == 0) {
        transform_point(c, r, cp.v[0], cp.v[1], fatal);
    }
    r->raw_x = a;
    r->raw_y = b;
}

typedef struct {
    cr_crs *crs;  /* source CRS */
    char *method; /* out: how */
    cr_error err; /* first failure */
    int failed;   /* 1 when a vertex failed */
} xy_user;

static int transform_xy(double *x, double *y, void *userdata)
{
    xy_user *u = userdata;
    double lon;
    double lat;
    if (cr_crs_to_wgs84(u->crs, *x, *y, &lon, &lat, u->method, &u->err) != CR_OK) {
        u->failed = 1;
        return 0;
    }
    *x = lon;
    *y = lat;
    return 1;
}

/* Report a geometry of the wrong type (GEOSGeomType_r's string is ours to free). */
static void wrong_type(ingest_ctx *c, row_state *r, GEOSGeometry *g, const char *want)
{
    char *type = GEOSGeomType_r(c->geos, g);
    problem(r, "geometry", "geom", "geometry is %s, not a %s", type ? type : "?", want);
    GEOSFree_r(c->geos, type);
    GEOSGeom_destroy_r(c->geos, g);
}

/* Bring an areal geometry to a valid MultiPolygon; NULL (with a problem) when impossible. */
static GEOSGeometry *to_multipolygon(ingest_ctx *c, row_state *r, GEOSGeometry *g)
{
    GEOSContextHandle_t h = c->geos;
    int valid = GEOSisValid_r(h, g);
    if (valid == 2) {
        problem(r, "geometry", "geom", "geometry check failed: %s", c->geos_msgs.last);
        GEOSGeom_destroy_r(h, g);
        return NULL;
    }
    if (valid == 0) {
        char *why = GEOSisValidReason_r(h, g);
        GEOSMakeValidParams *p = GEOSMakeValidParams_create_r(h);
        GEOSMakeValidParams_setMethod_r(h, p, GEOS_MAKE_VALID_STRUCTURE);
        GEOSMakeValidParams_setKeepCollapsed_r(h, p, 0);
        GEOSGeometry *fixed = GEOSMakeValidWithParams_r(h, g, p);
        GEOSMakeValidParams_destroy_r(h, p);
        GEOSGeom_destroy_r(h, g);
        if (fixed == NULL || GEOSisEmpty_r(h, fixed) != 0) {
            problem(r, "geometry", "geom", "invalid polygon (%s) that cannot be repaired",
                    why ? why : "?");
            GEOSFree_r(h, why);
            if (fixed) {
                GEOSGeom_destroy_r(h, fixed);
            }
            return NULL;
        }
        note(r, "polygon repaired with GEOS MakeValid (%s)", why ? why : "invalid");
        GEOSFree_r(h, why);
        r->repaired = 1;
        g = fixed;
    }
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POLYGON) {
        GEOSGeometry *parts[1] = {g};
        return GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, 1);
    }
    if (type != GEOS_MULTIPOLYGON) {
        wrong_type(c, r, g, "polygon");
        return NULL;
    }
    return g;
}

/* Bring a line to one LineString (merging parts that join); NULL with a problem otherwise. */
static GEOSGeometry *to_linestring(ingest_ctx *c, row_state *r, GEOSGeometry *g)
{
    GEOSContextHandle_t h = c->geos;
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_MULTILINESTRING) {
        GEOSGeometry *merged = GEOSLineMerge_r(h, g);
        GEOSGeom_destroy_r(h, g);
        g = merged;
        if (g && GEOSGeomTypeId_r(h, g) == GEOS_LINESTRING) {
            note(r, "multi-part line merged into one");
            type = GEOS_LINESTRING;
        } else {
            problem(r, "geometry", "geom",
                    "multi-part line whose parts do not join end to end: split it into reaches");
            if (g) {
                GEOSGeom_destroy_r(h, g);
            }
            return NULL;
        }
    }
    if (type != GEOS_LINESTRING) {
        wrong_type(c, r, g, "line");
        return NULL;
    }
    double len = 0;
    if (GEOSLength_r(h, g, &len) != 1 || len <= 0) {
        problem(r, "geometry", "geom", "degenerate line (zero length)");
        GEOSGeom_destroy_r(h, g);
        return NULL;
    }
    return g;
}

static void check_projected_envelope(ingest_ctx *c, row_state *r, OGRGeometryH g, cr_error *fatal)
{
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    cr_error e = {0};
    if (cr_crs_is_geographic(c->crs)) {
        if (fabs(env.MinX) > 360 || fabs(env.MaxY) > 360) {
            cr_error_set(fatal, CR_EINVAL,
                         "%s:%lld: coordinates (%.3f, %.3f) look projected (metres), but the "
                         "source CRS %s is geographic; give the CRS with --crs",
                         c->path, (long long)r->row, env.MinX, env.MinY, cr_crs_label(c->crs));
        }
        return;
    }
    if (looks_northing(env.MinX) && looks_easting(env.MinY)) {
        cr_error_set(fatal, CR_EINVAL,
                     "%s:%lld: coordinates (%.3f, %.3f) are in (northing, easting) order; the "
                     "geometry must be stored as (easting, northing)",
                     c->path, (long long)r->row, env.MinX, env.MinY);
        return;
    }
    if (cr_crs_check_easting(c->crs, env.MinX, &e) != CR_OK) {
        cr_error_set(fatal, CR_EINVAL, "%s:%lld: %s", c->path, (long long)r->row, e.msg);
    }
}

static void read_shape(ingest_ctx *c, OGRFeatureH f, row_state *r, cr_error *fatal)
{
    GEOSContextHandle_t h = c->geos;
    OGRGeometryH og = OGR_F_GetGeometryRef(f);
    if (og == NULL || OGR_G_IsEmpty(og)) {
        problem(r, "geometry", "geom", "no geometry");
        return;
    }
    check_projected_envelope(c, r, og, fatal);
    if (fatal->code != CR_OK) {
        return;
    }
    OGRGeometryH flat = OGR_G_Clone(og);
    OGR_G_FlattenTo2D(flat);
    if (OGR_GT_IsCurve(OGR_G_GetGeometryType(flat)) ||
        OGR_GT_IsSurface(OGR_G_GetGeometryType(flat))) {
        OGRGeometryH lin = OGR_G_GetLinearGeometry(flat, 0, NULL);
        OGR_G_DestroyGeometry(flat);
        flat = lin;
    }
    int size = OGR_G_WkbSize(flat);
    unsigned char *wkb = cr_xmalloc((size_t)size);
    OGR_G_ExportToWkb(flat, wkbNDR, wkb);
    OGR_G_DestroyGeometry(flat);
    GEOSGeometry *g = GEOSWKBReader_read_r(h, c->wkb_reader, wkb, (size_t)size);
    free(wkb);
    if (g == NULL) {
        problem(r, "geometry", "geom", "unreadable geometry: %s", c->geos_msgs.last);
        return;
    }
    xy_user u = {c->crs, r->method, {0}, 0};
    GEOSGeometry *t = GEOSGeom_transformXY_r(h, g, transform_xy, &u);
    GEOSGeom_destroy_r(h, g);
    if (t == NULL || u.failed) {
        problem(r, "coordinates", "geom", "%s", u.failed ? u.err.msg : "transform failed");
        if (t) {
            GEOSGeom_destroy_r(h, t);
        }
        return;
    }
    t = c->def->geom == CR_GEOM_MULTIPOLYGON ? to_multipolygon(c, r, t) : to_linestring(c, r, t);
    if (t == NULL) {
        return;
    }
    double b[4];
    GEOSGeom_getXMin_r(h, t, &b[0]);
    GEOSGeom_getYMin_r(h, t, &b[1]);
    GEOSGeom_getXMax_r(h, t, &b[2]);
    GEOSGeom_getYMax_r(h, t, &b[3]);
    if (!in_region(c->opt->region, b[0], b[1]) || !in_region(c->opt->region, b[2], b[3])) {
        region_problem(c, r, "geometry extent from", b[0], b[1]);
        GEOSGeom_destroy_r(h, t);
        return;
    }
    memcpy(r->bbox, b, sizeof b);
    size_t n = 0;
    r->geos_wkb = GEOSWKBWriter_write_r(h, c->wkb_writer, t, &n);
    r->wkb = r->geos_wkb;
    r->wkb_len = n;
    GEOSGeom_destroy_r(h, t);
}

static void count_reason(cr_ingest_result *res, const char *code)
{
    for (size_t i = 0; i < res->n_reasons; i++) {
        if (strcmp(res->reasons[i].code, code) == 0) {
            res->reasons[i].count++;
            return;
        }
    }
    if (res->n_reasons < CR_INGEST_MAX_REASONS) {
        snprintf(res->reasons[res->n_reasons].code, sizeof res->reasons[0].code, "%s", code);
        res->reasons[res->n_reasons++].count = 1;
    }
}

static cr_status reject_row(ingest_ctx *c, OGRFeatureH f, row_state *r, cr_error *err)
{
    char *raw = record_json(c, f, 0);
    const char *sid = r->id_index >= 0 ? r->values[r->id_index] : NULL;
    cr_reject rj = {r->row, sid, r->field, r->code, r->reason.data, raw};
    cr_status rc = cr_store_add_reject(c->store, c->res->batch_id, &rj, err);
    if (rc == CR_OK && c->opt->rejects_csv) {
        char row[32];
        snprintf(row, sizeof row, "%lld", (long long)r->row);
        cr_csv_write_cell(c->opt->rejects_csv, c->path, 0);
        cr_csv_write_cell(c->opt->rejects_csv, row, 0);
        cr_csv_write_cell(c->opt->rejects_csv, sid, 0);
        cr_csv_write_cell(c->opt->rejects_csv, r->field, 0);
        cr_csv_write_cell(c->opt->rejects_csv, r->code, 0);
        cr_csv_write_cell(c->opt->rejects_csv, r->reason.data, 0);
        cr_csv_write_cell(c->opt->rejects_csv, raw, 1);
    }
    cr_log(CR_LOG_INFO, "etl", "%s:%lld: rejected: %s", c->path, (long long)r->row, r->reason.data);
    free(raw);
    c->res->rejected++;
    count_reason(c->res, r->code);
    return rc;
}

static cr_status store_row(ingest_ctx *c, OGRFeatureH f, row_state *r, cr_error *err)
{
    char *extra = c->n_unmapped > 0 ? record_json(c, f, 1) : NULL;
    cr_store_row sr = {
        .source_id = r->values[r->id_index],
        .carry = c->carry,
        .source_row = r->row,
        .values = (const char *const *)r->values,
        .wkb = r->wkb,
        .wkb_len = r->wkb_len,
        .raw_x = r->raw_x,
        .raw_y = r->raw_y,
        .coord_method = r->wkb ? r->method : NULL,
        .notes = r->notes.len ? r->notes.data : NULL,
        .extra_json = extra,
    };
    memcpy(sr.bbox, r->bbox, sizeof sr.bbox);
    cr_upsert_outcome out;
    cr_status rc = cr_store_upsert(c->store, c->def, c->res->batch_id, &sr, &out, err);
    free(extra);
    if (rc != CR_OK) {
        return cr_error_prefix(err, "%s:%lld", c->path, (long long)r->row);
    }
    c->res->stored++;
    if (c->opt->full_survey && r->wkb) {
        if (c->n_points == c->cap_points) {
            c->cap_points = c->cap_points ? 2 * c->cap_points : 256;
            c->points = cr_xrealloc(c->points, c->cap_points * sizeof *c->points);
        }
        c->points[c->n_points][0] = (r->bbox[0] + r->bbox[2]) / 2;
        c->points[c->n_points++][1] = (r->bbox[1] + r->bbox[3]) / 2;
    }
    if (out != CR_UPSERT_UNCHANGED) {
        cr_ingest_record_change(c, out == CR_UPSERT_INSERTED ? "add" : "update", sr.source_id);
    }
    c->res->repaired += r->repaired;
    c->res->inserted += out == CR_UPSERT_INSERTED;
    c->res->updated += out == CR_UPSERT_UPDATED;
    c->res->unchanged += out == CR_UPSERT_UNCHANGED;
    return CR_OK;
}

static void row_cleanup(ingest_ctx *c, row_state *r)
{
    for (size_t i = 0; i < c->def->n_fields; i++) {
        free(r->values[i]);
    }
    free(r->values);
    free(r->failed);
    free(r->from_kind);
    free(r->raw_x);
    free(r->raw_y);
    if (r->geos_wkb) {
        GEOSFree_r(c->geos, r->geos_wkb);
    }
    cr_strbuf_cleanup(&r->reason);
    cr_strbuf_cleanup(&r->notes);
}

/* One source row: stored, rejected, or a fatal error for the whole file. */
static cr_status process_row(ingest_ctx *c, OGRFeatureH f, int64_t row, cr_error *err)
{
    row_state r = {0};
    r.row = row;
    r.values = cr_xcalloc(c->def->n_fields, sizeof *r.values);
    r.failed = cr_xcalloc(c->def->n_fields, 1);
    r.from_kind = cr_xcalloc(c->def->n_fields, 1);
    r.id_index = cr_layer_def_field_index(c->def, c->def->id_field);
    cr_error fatal = {0};
    read_fields(c, f, &r);
    if (c->def->geom == CR_GEOM_POINT) {
        read_point(c, f, &r, &fatal);
    } else if (c->def->geom != CR_GEOM_NONE && r.n_problems == 0) {
        read_shape(c, f, &r, &fatal);
    }
    cr_status rc = CR_OK;
    if (fatal.code != CR_OK) {
        *err = fatal;
        rc = fatal.code;
        goto done;
    }
    const char *sid = r.values[r.id_index];
    if (sid != NULL && r.n_problems == 0) {
        int64_t first = idset_add(&c->ids, sid, row);
        if (first != 0) {
            problem(&r, "duplicate_id", c->def->id_field,
                    "%s '%s': duplicate ID (first at row %lld)",
                    field_source(c, (size_t)r.id_index), sid, (long long)first);
        }
    }
    rc = r.n_problems ? reject_row(c, f, &r, err) : store_row(c, f, &r, err);
done:
    row_cleanup(c, &r);
    return rc;
}

void cr_ingest_record_change(ingest_ctx *c, const char *what, const char *id)
{
    cr_ingest_result *res = c->res;
    if (!c->opt->dry_run || res->n_changes >= CR_INGEST_MAX_CHANGES) {
        return;
    }
    if ((res->n_changes & (res->n_changes + 1)) == 0 || res->n_changes == 0) {
        res->changes = cr_xrealloc(res->changes, (2 * res->n_changes + 2) * sizeof *res->changes);
    }
    cr_ingest_change *ch = &res->changes[res->n_changes++];
    snprintf(ch->what, sizeof ch->what, "%s", what);
    ch->id = cr_xstrdup(id ? id : "");
}

void cr_ingest_result_cleanup(cr_ingest_result *result)
{
    for (size_t i = 0; i < result->n_changes; i++) {
        free(result->changes[i].id);
    }
    free(result->changes);
    result->changes = NULL;
    result->n_changes = 0;
}

/* The options that shape what an import stores, as JSON: the same file imported again with
 * equal options is a no-op, with other options it supersedes the earlier batch. Keys added
 * after the first release are written only when set, so older batches compare equal. */
static char *options_json(const ingest_ctx *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "crs", c->opt->crs ? json_string(c->opt->crs) : json_null());
    json_object_set_new(o, "encoding",
                        c->opt->encoding ? json_string(c->opt->encoding) : json_null());
    json_object_set_new(o, "source_layer",
                        c->opt->source_layer ? json_string(c->opt->source_layer) : json_null());
    json_t *maps = json_object();
    for (size_t i = 0; i < c->opt->n_maps; i++) {
        json_object_set_new(maps, c->opt->maps[i].target, json_string(c->opt->maps[i].source));
    }
    json_object_set_new(o, "fields", maps);
    json_object_set_new(o, "region",
                        json_pack("[ffff]", c->opt->region[0], c->opt->region[1], c->opt->region[2],
                                  c->opt->region[3]));
    json_object_set_new(o, "full_survey", json_boolean(c->opt->full_survey));
    if (c->opt->full_survey && c->opt->scope) {
        json_object_set_new(o, "scope", json_string(c->opt->scope));
    }
    if (c->opt->n_constants > 0) {
        json_t *set = json_object();
        for (size_t i = 0; i < c->opt->n_constants; i++) {
            json_object_set_new(set, c->opt->constants[i].target,
                                json_string(c->opt->constants[i].source));
        }
        json_object_set_new(o, "set", set);
    }
    if (c->opt->header_row > 0) {
        json_object_set_new(o, "header_row", json_integer(c->opt->header_row));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static int64_t kill_after_rows(void)
{
    const char *v = getenv("CR_TEST_KILL_AFTER_ROWS");
    return v ? strtoll(v, NULL, 10) : -1;
}

/* 1 when every cell of the row is empty (a spacer row in a sheet). */
static int blank_row(const ingest_ctx *c, OGRFeatureH f)
{
    for (int i = 0; i < c->n_cols; i++) {
        char *t = column_text(f, i);
        free(t);
        if (t != NULL) {
            return 0;
        }
    }
    return 1;
}

static cr_status read_rows(ingest_ctx *c, cr_error *err)
{
    cr_status rc = CR_OK;
    int64_t kill_at = kill_after_rows();
    int64_t index = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(c->src.layer);
    while (rc == CR_OK && (f = OGR_L_GetNextFeature(c->src.layer)) != NULL) {
        index++;
        if (c->src.headerless && (OGR_F_GetFID(f) < c->data_from_row || blank_row(c, f))) {
            c->blank_rows += OGR_F_GetFID(f) >= c->data_from_row;
            OGR_F_Destroy(f);
            continue;
        }
        c->res->rows_in++;
        /* the row number a person sees: the sheet's row, or the line (the header is line 1) */
        int64_t row = c->src.headerless    ? OGR_F_GetFID(f)
                      : c->src.spreadsheet ? index + 1 + c->src.skipped_lines
                                           : index;
        rc = process_row(c, f, row, err);
        OGR_F_Destroy(f);
        if (c->opt->progress && (index & 1023) == 0) {
            c->opt->progress(c->opt->progress_user, (uint64_t)index,
                             c->src.total > 0 ? (uint64_t)c->src.total : 0);
        }
        if (index == kill_at) {
            raise(SIGKILL); /* test hook: a crash in the middle of a transaction */
        }
    }
    if (rc == CR_OK && c->opt->progress) {
        c->opt->progress(c->opt->progress_user, (uint64_t)index, (uint64_t)index);
    }
    return rc;
}

/* Options of an earlier batch and of this import name the same import: equal JSON, and the
 * same --valid-from when this one gives it. */
static int same_options(const cr_batch_summary *b, const char *opts, const char *valid_from)
{
    json_t *x = b->options ? json_loads(b->options, 0, NULL) : NULL;
    json_t *y = json_loads(opts, 0, NULL);
    int same = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same && (valid_from == NULL || strncmp(b->valid_from, valid_from, 19) == 0);
}

/* The same file was imported before: a no-op with the same options, else *supersede_out is
 * the batch this import replaces. */
static cr_status check_earlier(ingest_ctx *c, const char *opts, int64_t *supersede_out,
                               cr_error *err)
{
    cr_ingest_result *res = c->res;
    int64_t earlier = cr_store_find_active_batch(c->store, c->def->name, res->sha256);
    *supersede_out = 0;
    if (earlier == 0) {
        return CR_OK;
    }
    cr_batch_summary b;
    cr_status rc = cr_store_get_batch(c->store, earlier, &b, err);
    if (rc != CR_OK) {
        return rc;
    }
    if (same_options(&b, opts, c->opt->valid_from)) {
        res->already_imported = 1;
        res->batch_id = earlier;
        res->rows_in = b.rows_in;
        res->stored = res->unchanged = b.stored;
        res->rejected = b.rejected;
        snprintf(res->encoding, sizeof res->encoding, "%s", b.encoding);
        snprintf(res->crs, sizeof res->crs, "%s", b.crs);
        snprintf(res->source_layer, sizeof res->source_layer, "%s", b.source_layer);
    } else {
        *supersede_out = earlier;
    }
    cr_batch_summary_cleanup(&b);
    return CR_OK;
}

/* Undo the superseded batch inside this one, so the file's rows replace it. */
static cr_status supersede(ingest_ctx *c, int64_t earlier, cr_error *err)
{
    cr_ingest_result *res = c->res;
    cr_status rc = cr_store_revert_rows(c->store, c->def, earlier, res->batch_id, &res->closed,
                                        &res->reopened, err);
    if (rc != CR_OK) {
        return cr_error_prefix(err,
                               "%s: imported before as batch %lld with other options; this "
                               "import would supersede it, but",
                               c->path, (long long)earlier);
    }
    res->superseded = earlier;
    return CR_OK;
}

static cr_status finish(ingest_ctx *c, cr_error *err)
{
    cr_ingest_result *res = c->res;
    res->seconds = cr_monotonic_s() - c->t0;
    if (res->rows_in != res->stored + res->rejected) {
        return cr_error_set(
            err, CR_EINVAL, "%s: internal error: %lld rows in, %lld stored, %lld rejected", c->path,
            (long long)res->rows_in, (long long)res->stored, (long long)res->rejected);
    }
    if (res->rows_in == 0 && !c->opt->force) {
        return cr_error_set(err, CR_EINVAL,
                            "%s: the file has no rows (%s); nothing to import (give --force to "
                            "record an empty batch)",
                            c->path,
                            c->src.spreadsheet ? "a header and nothing under it" : "no features");
    }
    if (c->opt->dry_run) {
        res->dry_run = 1;
        cr_store_rollback(c->store);
        return CR_OK;
    }
    cr_batch_counts n = {res->rows_in,   res->stored, res->rejected, res->inserted, res->updated,
                         res->unchanged, res->closed, res->reopened, res->seconds};
    return cr_store_commit_batch(c->store, res->batch_id, &n, err);
}

static cr_status run(ingest_ctx *c, cr_error *err)
{
    cr_ingest_result *res = c->res;
    cr_status rc = cr_source_sha256(c->path, res->sha256, err);
    if (rc != CR_OK) {
        return rc;
    }
    char *opts = options_json(c);
    int64_t earlier = 0;
    rc = check_earlier(c, opts, &earlier, err);
    if (rc != CR_OK || res->already_imported) {
        free(opts);
        return rc;
    }
    rc = cr_source_open(c->path, c->opt->encoding, c->opt->source_layer, cr_ingest_csv_header, c,
                        &c->src, err);
    if (rc == CR_OK) {
        snprintf(res->encoding, sizeof res->encoding, "%s", c->src.encoding);
        snprintf(res->source_layer, sizeof res->source_layer, "%s", OGR_L_GetName(c->src.layer));
        if (c->src.headerless && !cr_ingest_header_names_fields(c)) {
            rc = cr_ingest_find_sheet_header(c, err);
        }
    }
    if (rc == CR_OK) {
        rc = map_columns(c, err);
    }
    if (rc == CR_OK) {
        rc = open_crs(c, err);
    }
    if (rc == CR_OK) {
        cr_batch_info info = {
            c->def->name,      c->path, res->sha256,        res->encoding, res->crs,
            res->source_layer, opts,    c->opt->valid_from, "import",      earlier};
        rc = cr_store_begin_batch(c->store, &info, &res->batch_id, err);
    }
    free(opts);
    if (rc != CR_OK) {
        return rc;
    }
    if (earlier != 0) {
        rc = supersede(c, earlier, err);
    }
    if (rc == CR_OK) {
        rc = read_rows(c, err);
    }
    if (rc == CR_OK && c->opt->full_survey) {
        rc = cr_ingest_close_unlisted(c, err);
    }
    if (rc == CR_OK) {
        rc = finish(c, err);
    }
    if (rc != CR_OK) {
        cr_store_rollback(c->store);
    }
    return rc;
}

cr_status cr_etl_ingest_file(cr_store *store, const cr_layer_def *layer, const char *path,
                             const cr_ingest_options *opt, cr_ingest_result *result, cr_error *err)
{
    cr_gdal_init();
    ingest_ctx c = {0};
    c.store = store;
    c.def = layer;
    c.opt = opt;
    c.path = path;
    c.res = result;
    c.t0 = cr_monotonic_s();
    memset(result, 0, sizeof *result);
    c.geos = cr_geos_init(&c.geos_msgs, "etl", CR_LOG_DEBUG); /* problems become rejects */
    c.wkb_reader = GEOSWKBReader_create_r(c.geos);
    c.wkb_writer = GEOSWKBWriter_create_r(c.geos);
    GEOSWKBWriter_setByteOrder_r(c.geos, c.wkb_writer, GEOS_WKB_NDR);
    GEOSWKBWriter_setOutputDimension_r(c.geos, c.wkb_writer, 2);
    cr_status rc = run(&c, err);
    result->seconds = cr_monotonic_s() - c.t0;
    cr_source_close(&c.src);
    cr_crs_free(c.crs);
    idset_cleanup(&c.ids);
    free(c.points);
    for (int i = 0; i < c.n_cols; i++) {
        free(c.col_name[i]);
        free(c.col_folded[i]);
    }
    free(c.col_name);
    free(c.col_folded);
    free(c.col_used);
    free(c.field_col);
    free(c.carry);
    free(c.constant);
    for (int i = 0; i < c.n_header_names; i++) {
        free(c.header_names[i]);
    }
    free(c.header_names);
    GEOSWKBReader_destroy_r(c.geos, c.wkb_reader);
    GEOSWKBWriter_destroy_r(c.geos, c.wkb_writer);
    GEOS_finish_r(c.geos);
    return rc;
}
