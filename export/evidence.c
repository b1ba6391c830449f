/* SPDX-License-Identifier: MIT */
/* Build the payload, the BagIt tag files and the zip (libzip, fixed order and times); verify. */
#include "evidence.h"

#include "geo/geo.h"
#include "tiler/tile.h"

#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <math.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#define BAG "evidence"

static const char *const LAYERS[] = {"outfalls", "monitoring_sections", "hyacinth_reports",
                                     "mobile_sources", "gates"};

typedef struct {
    char name[64]; /* under data/ */
    cr_strbuf body;
} payload;

static int in_trace(const json_t *trace, const char *layer, const char *id)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(trace, "features"), i, f)
    {
        const char *l = json_string_value(json_object_get(f, "layer"));
        const char *fid = json_string_value(json_object_get(f, "id"));
        if (l && fid && strcmp(l, layer) == 0 && strcmp(fid, id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* 1 for a restricted field (contact person, phones): personal data, left out unless asked. */
static int personal(const cr_layer_def *d, const char *column)
{
    int i = cr_layer_def_field_index(d, column);
    return d->restricted || (i >= 0 && d->fields[i].restricted);
}

/* The features in scope, by layer then fid: GeoJSON features with every column (personal data
 * only when the case includes it), as they were at the as-of time. */
static cr_status features(cr_store *store, const cr_evidence_case *c, const json_t *trace,
                          json_t *out, json_t *batch_ids, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    char a[32] = "", b[32] = "";
    if (c->boundary && sscanf(c->boundary, "%31[^:]:%31s", a, b) != 2) {
        return cr_error_set(err, CR_EINVAL, "boundary: COUNTY:COUNTY codes, e.g. 320509:310118");
    }
    for (size_t k = 0; k < sizeof LAYERS / sizeof LAYERS[0]; k++) {
        const cr_layer_def *d = cr_layer_set_find(cr_store_layers(store), LAYERS[k]);
        if (d == NULL) {
            continue;
        }
        /* --from/--to cut events (layers whose history says when each happened), never the
         * standing inventory */
        const char *date = d->event_field ? d->event_field : "NULL";
        /* "_current" is the as-of view here (as_of_views) */
        char *sql = sqlite3_mprintf(
            "SELECT *, AsGeoJSON(geom, 7) FROM \"%w_current\" WHERE (?1 IS NULL OR"
            " ((county_code = ?1 AND boundary_across_code = ?2) OR (county_code = ?2 AND"
            " boundary_across_code = ?1)) AND boundary_distance_m <= ?3)"
            " AND (?4 IS NULL OR %s IS NULL OR substr(%s, 1, 10) >= ?4)"
            " AND (?5 IS NULL OR %s IS NULL OR substr(%s, 1, 10) <= ?5) ORDER BY fid",
            d->name, date, date, date, date);
        sqlite3_stmt *st = NULL;
        int prc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        sqlite3_free(sql);
        if (prc != SQLITE_OK) {
            return cr_error_set(err, CR_EDB, "evidence %s: %s", d->name, sqlite3_errmsg(db));
        }
        if (c->boundary) {
            sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 3, (c->buffer_km > 0 ? c->buffer_km : 2.0) * 1000.0);
        }
        if (c->from_date) {
            sqlite3_bind_text(st, 4, c->from_date, -1, SQLITE_STATIC);
        }
        if (c->to_date) {
            sqlite3_bind_text(st, 5, c->to_date, -1, SQLITE_STATIC);
        }
        int n = sqlite3_column_count(st);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *props = json_pack("{s:s}", "layer", d->name);
            const char *id = NULL;
            for (int col = 0; col < n - 1; col++) {
                const char *name = sqlite3_column_name(st, col);
                /* join_generation counts join runs: bookkeeping that changes with every later
                 * import, so it would keep a package from being made again */
                if (strcmp(name, "geom") == 0 || strcmp(name, "join_generation") == 0 ||
                    (!c->include_personal && personal(d, name))) {
                    continue;
                }
                json_object_set_new(props, name, cr_api_column_json(st, col));
                if (strcmp(name, "source_id") == 0) {
                    id = (const char *)sqlite3_column_text(st, col);
                }
            }
            if (trace && (id == NULL || !in_trace(trace, d->name, id))) {
                json_decref(props);
                continue;
            }
            char key[32];
            snprintf(key, sizeof key, "%lld",
                     (long long)json_integer_value(json_object_get(props, "batch_id")));
            json_object_set_new(batch_ids, key, json_true());
            const char *gj = (const char *)sqlite3_column_text(st, n - 1);
            json_t *geom = gj ? json_loads(gj, 0, NULL) : NULL;
            json_array_append_new(out, json_pack("{s:s, s:o, s:o}", "type", "Feature", "properties",
                                                 props, "geometry", geom ? geom : json_null()));
        }
        sqlite3_finalize(st);
    }
    return CR_OK;
}

static char *dumps(const json_t *j)
{
    return json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
}

static void csv_field(cr_strbuf *b, const json_t *v, int last)
{
    char num[64];
    const char *text =
        json_is_string(v) ? json_string_value(v)
        : json_is_integer(v)
            ? (snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), num)
        : json_is_real(v) ? (snprintf(num, sizeof num, "%.10g", json_real_value(v)), num)
                          : "";
    cr_csv_append_cell(b, text, last);
}

static const char *const CSV_COLUMNS[] = {"layer",
                                          "source_id",
                                          "name",
                                          "county_code",
                                          "town_code",
                                          "boundary_distance_m",
                                          "boundary_across_code",
                                          "reach_id",
                                          "measure_m",
                                          "bank",
                                          "zone_id",
                                          "lon",
                                          "lat",
                                          "raw_x",
                                          "raw_y",
                                          "coord_method",
                                          "batch_id",
                                          "source_row",
                                          "content_sha256",
                                          "valid_from"};

static void features_csv(const json_t *fs, cr_strbuf *b)
{
    cr_csv_begin(b);
    size_t nc = sizeof CSV_COLUMNS / sizeof CSV_COLUMNS[0];
    cr_csv_row(b, CSV_COLUMNS, nc);
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        const json_t *p = json_object_get(f, "properties");
        const json_t *coords = json_object_get(json_object_get(f, "geometry"), "coordinates");
        for (size_t c = 0; c < nc; c++) {
            const json_t *v = strcmp(CSV_COLUMNS[c], "lon") == 0 ? json_array_get(coords, 0)
                              : strcmp(CSV_COLUMNS[c], "lat") == 0
                                  ? json_array_get(coords, 1)
                                  : json_object_get(p, CSV_COLUMNS[c]);
            csv_field(b, v, c + 1 == nc);
        }
    }
}

/* Import batches the features came from. */
static json_t *batches(sqlite3 *db, const json_t *ids)
{
    json_t *out = json_array();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT batch_id, layer, file_name, sha256, encoding, crs, valid_from,"
                           " finished_at, rows_in, stored, rejected FROM import_batches"
                           " ORDER BY batch_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)sqlite3_column_int64(st, 0));
        if (json_object_get(ids, key) == NULL) {
            continue;
        }
        json_t *b = json_object();
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            json_object_set_new(b, sqlite3_column_name(st, c), cr_api_column_json(st, c));
        }
        json_array_append_new(out, b);
    }
    sqlite3_finalize(st);
    return out;
}

static json_t *case_json(const cr_evidence_case *c)
{
    json_t *j = json_object();
    if (c->boundary) {
        json_object_set_new(j, "boundary", json_string(c->boundary));
        json_object_set_new(j, "buffer_km", json_real(c->buffer_km > 0 ? c->buffer_km : 2.0));
    }
    if (c->has_trace) {
        const cr_trace_request *t = &c->trace;
        json_t *tj =
            json_pack("{s:s, s:s}", "direction", t->direction == CR_TRACE_UP ? "up" : "down",
                      "mode", t->main_only ? "main" : "all");
        if (t->reach) {
            json_object_set_new(tj, "reach", json_string(t->reach));
        }
        if (t->feature) {
            json_object_set_new(tj, "feature", json_string(t->feature));
        }
        if (t->at) {
            json_object_set_new(tj, "at", json_pack("[f,f]", t->lon, t->lat));
        }
        /* what was asked, so that cr_api_trace_parse reads the same request back */
        if (t->max_km > 0 || t->has_max_km) {
            json_object_set_new(tj, "max_km", json_real(t->max_km));
        }
        if (t->max_hours > 0 || t->has_max_hours) {
            json_object_set_new(tj, "max_hours", json_real(t->max_hours));
        }
        if (t->spill_kg > 0) {
            json_object_set_new(tj, "spill_kg", json_real(t->spill_kg));
            json_object_set_new(tj, "spill_hours", json_real(t->spill_hours));
        }
        json_object_set_new(j, "trace", tj);
    }
    if (c->include_personal) {
        json_object_set_new(j, "personal_data", json_true());
    }
    if (c->from_date) {
        json_object_set_new(j, "from_date", json_string(c->from_date));
    }
    if (c->to_date) {
        json_object_set_new(j, "to_date", json_string(c->to_date));
    }
    return j;
}

static int parse_as_of(const char *s, time_t *out)
{
    struct tm tm = {0};
    char tail;
    if (s == NULL || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &tail) != 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* Write the bag into a zip at path: entries in a fixed order, each with the as-of time. */
static cr_status write_zip(const char *path, payload *files, size_t n, time_t mtime, cr_error *err)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (za == NULL) {
        return cr_error_set(err, CR_EIO, "%s: cannot create the zip (libzip error %d)", path, zerr);
    }
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s/%s", BAG, files[i].name);
        zip_source_t *src = zip_source_buffer(za, files[i].body.data ? files[i].body.data : "",
                                              files[i].body.len, 0);
        zip_int64_t idx = src ? zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            zip_source_free(src);
            zip_discard(za);
            return cr_error_set(err, CR_EIO, "%s: cannot add %s", path, name);
        }
        zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 9);
        zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0);
    }
    if (zip_close(za) != 0) {
        cr_status rc = cr_error_set(err, CR_EIO, "%s: %s", path, zip_strerror(za));
        zip_discard(za);
        return rc;
    }
    return CR_OK;
}

typedef struct {
    payload *items;
    size_t n, cap;
} payloads;

static void add(payloads *ps, const char *name, const char *text, size_t len)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->items = cr_xrealloc(ps->items, ps->cap * sizeof *ps->items);
    }
    payload *p = &ps->items[ps->n++];
    snprintf(p->name, sizeof p->name, "%s", name);
    memset(&p->body, 0, sizeof p->body);
    cr_strbuf_append(&p->body, text ? text : "", len);
}

static const char *geom_type(const json_t *f)
{
    const char *t = json_string_value(json_object_get(json_object_get(f, "geometry"), "type"));
    return t ? t : "";
}

/* KML for field viewers: the point features as placemarks, the traced reaches as lines. */
static void features_kml(const json_t *fs, const json_t *trace_geo, cr_strbuf *b)
{
    cr_kml_begin(b, "crossriver evidence");
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        const json_t *p = json_object_get(f, "properties");
        const json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
        if (strcmp(geom_type(f), "Point") != 0) {
            continue;
        }
        cr_strbuf name = {0}, text = {0};
        const char *n = json_string_value(json_object_get(p, "name"));
        const char *cc = json_string_value(json_object_get(p, "county_code"));
        const char *r = json_string_value(json_object_get(p, "reach_id"));
        cr_strbuf_printf(&name, "%s:%s", json_string_value(json_object_get(p, "layer")),
                         json_string_value(json_object_get(p, "source_id")));
        cr_strbuf_printf(&text, "%s · county %s · reach %s", n ? n : "", cc ? cc : "", r ? r : "");
        cr_kml_point(b, name.data, text.data, json_number_value(json_array_get(c, 0)),
                     json_number_value(json_array_get(c, 1)));
        cr_strbuf_cleanup(&name);
        cr_strbuf_cleanup(&text);
    }
    json_array_foreach(json_object_get(trace_geo, "features"), i, f)
    {
        if (strcmp(geom_type(f), "LineString") != 0) {
            continue;
        }
        cr_strbuf name = {0};
        const char *id =
            json_string_value(json_object_get(json_object_get(f, "properties"), "reach_id"));
        cr_strbuf_printf(&name, "trace %s", id ? id : "");
        cr_kml_line_begin(b, name.data, NULL, NULL);
        cr_strbuf_cleanup(&name);
        size_t k;
        json_t *c;
        json_array_foreach(json_object_get(json_object_get(f, "geometry"), "coordinates"), k, c)
        {
            cr_kml_line_vertex(b, k, json_number_value(json_array_get(c, 0)),
                               json_number_value(json_array_get(c, 1)));
        }
        cr_kml_line_end(b);
    }
    cr_kml_end(b);
}

static void extend(double box[4], const json_t *c)
{
    if (json_is_number(json_array_get(c, 0))) {
        double x = json_number_value(json_array_get(c, 0));
        double y = json_number_value(json_array_get(c, 1));
        box[0] = x < box[0] ? x : box[0];
        box[1] = y < box[1] ? y : box[1];
        box[2] = x > box[2] ? x : box[2];
        box[3] = y > box[3] ? y : box[3];
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(c, i, v)
    {
        extend(box, v);
    }
}

/* The public tiles of the case area at z10–z12 (at most 64 a zoom), the bytes `crossriver
 * tile` makes; their hashes are in the manifest, their zooms and ranges in tiles_json. */
/* The extent of the features and the trace (west > east when there is nothing). */
static void case_box(const json_t *fs, const json_t *trace_geo, double box[4])
{
    box[0] = 180, box[1] = 90, box[2] = -180, box[3] = -90;
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        extend(box, json_object_get(json_object_get(f, "geometry"), "coordinates"));
    }
    json_array_foreach(json_object_get(trace_geo, "features"), i, f)
    {
        extend(box, json_object_get(json_object_get(f, "geometry"), "coordinates"));
    }
}

static cr_status case_tiles(cr_store *store, const json_t *fs, const json_t *trace_geo,
                            payloads *ps, json_t *tiles_json, cr_error *err)
{
    double box[4];
    case_box(fs, trace_geo, box);
    if (box[0] > box[2]) {
        return CR_OK;
    }
    for (int z = 10; z <= 12; z++) {
        int x0, y0, x1, y1;
        cr_tile_at(box[0], box[3], z, &x0, &y0);
        cr_tile_at(box[2], box[1], z, &x1, &y1);
        if ((long)(x1 - x0 + 1) * (y1 - y0 + 1) > 64) {
            continue;
        }
        json_array_append_new(tiles_json, json_pack("{s:i, s:i, s:i, s:i, s:i}", "z", z, "x0", x0,
                                                    "y0", y0, "x1", x1, "y1", y1));
        for (int x = x0; x <= x1; x++) {
            for (int y = y0; y <= y1; y++) {
                cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1};
                cr_strbuf t = {0};
                cr_tile_stats st;
                cr_status rc = cr_tile_render(store, &req, &t, &st, err);
                if (rc == CR_OK && t.len > 0) {
                    char name[64];
                    snprintf(name, sizeof name, "data/tiles/%d/%d/%d.mvt", z, x, y);
                    add(ps, name, t.data, t.len);
                }
                cr_strbuf_cleanup(&t);
                if (rc != CR_OK) {
                    return rc;
                }
            }
        }
    }
    return CR_OK;
}

/* ---- the printable report and its map ------------------------------------------------------ */

#define MAP_W   900.0
#define MAP_H   600.0
#define MAP_PAD 30.0

typedef struct {
    double x0, y0, scale; /* Web Mercator units (radians) → SVG pixels */
    double box[4];        /* lon/lat the map shows */
} map_frame;

static double merc_y(double lat)
{
    return log(tan(M_PI / 4.0 + lat * M_PI / 360.0));
}

void cr_evidence_map_xy(const double box[4], double lon, double lat, double *x, double *y)
{
    double w = (box[2] - box[0]) * M_PI / 180.0, h = merc_y(box[3]) - merc_y(box[1]);
    double scale = fmin((MAP_W - 2 * MAP_PAD) / (w > 0 ? w : 1e-9),
                        (MAP_H - 2 * MAP_PAD) / (h > 0 ? h : 1e-9));
    *x = MAP_PAD + (lon - box[0]) * M_PI / 180.0 * scale;
    *y = MAP_H - MAP_PAD - (merc_y(lat) - merc_y(box[1])) * scale;
}

static void svg_path(cr_strbuf *b, const double box[4], const json_t *coords)
{
    size_t i;
    json_t *c;
    json_array_foreach(coords, i, c)
    {
        double x, y;
        cr_evidence_map_xy(box, json_number_value(json_array_get(c, 0)),
                           json_number_value(json_array_get(c, 1)), &x, &y);
        cr_strbuf_printf(b, "%s%.1f %.1f", i ? " L" : "M", x, y);
    }
}

static const char *layer_colour(const char *layer)
{
    static const char *c[][2] = {{"outfalls", "#d62728"},
                                 {"monitoring_sections", "#1f77b4"},
                                 {"hyacinth_reports", "#2ca02c"},
                                 {"mobile_sources", "#9467bd"},
                                 {"gates", "#8c564b"},
                                 {"protection_zones", "#ff7f0e"}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (layer && strcmp(layer, c[i][0]) == 0) {
            return c[i][1];
        }
    }
    return "#555";
}

/* An SVG map of the case: counties and their boundary, traced reaches, features with labels,
 * a scale bar, a north arrow and a legend. data-bbox says what it shows, each feature carries
 * data-id, so the placement can be checked. */
static void map_svg(sqlite3 *db, const json_t *fs, const json_t *trace_geo, const double in[4],
                    cr_strbuf *b)
{
    double box[4] = {in[0], in[1], in[2], in[3]};
    double mx = (box[2] - box[0]) * 0.08 + 0.002, my = (box[3] - box[1]) * 0.08 + 0.002;
    box[0] -= mx, box[2] += mx, box[1] -= my, box[3] += my;
    cr_strbuf_printf(b,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
                     "width=\"%.0f\" height=\"%.0f\" data-bbox=\"%.7f,%.7f,%.7f,%.7f\" "
                     "font-family=\"sans-serif\" font-size=\"10\">\n"
                     "<rect width=\"100%%\" height=\"100%%\" fill=\"#f4f7fa\"/>\n",
                     MAP_W, MAP_H, MAP_W, MAP_H, box[0], box[1], box[2], box[3]);
    /* counties meeting the map, outlines only */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT code, name, AsGeoJSON(geom, 6) FROM admin_units_current"
                           " WHERE level = 'county' AND MbrIntersects(geom, BuildMbr(?, ?, ?, ?))"
                           " ORDER BY code",
                           -1, &st, NULL) == SQLITE_OK) {
        for (int k = 0; k < 4; k++) {
            sqlite3_bind_double(st, k + 1, box[k]);
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *g = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
            cr_strbuf_printf(b,
                             "<path data-county=\"%s\" fill=\"#ffffff\" fill-opacity=\"0.6\" "
                             "stroke=\"#333\" stroke-width=\"1.2\" d=\"",
                             (const char *)sqlite3_column_text(st, 0));
            size_t i, k;
            json_t *poly, *ring;
            json_array_foreach(json_object_get(g, "coordinates"), i, poly)
            {
                json_array_foreach(poly, k, ring)
                {
                    svg_path(b, box, ring);
                    cr_strbuf_puts(b, " Z ");
                }
            }
            cr_strbuf_puts(b, "\"/>\n");
            json_decref(g);
        }
    }
    sqlite3_finalize(st);
    /* the rivers of the area, thin, under the trace */
    if (sqlite3_prepare_v2(db,
                           "SELECT AsGeoJSON(geom, 6) FROM reaches_current"
                           " WHERE MbrIntersects(geom, BuildMbr(?, ?, ?, ?)) ORDER BY fid",
                           -1, &st, NULL) == SQLITE_OK) {
        for (int k = 0; k < 4; k++) {
            sqlite3_bind_double(st, k + 1, box[k]);
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *g = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
            cr_strbuf_puts(b, "<path data-reach=\"1\" fill=\"none\" stroke=\"#7fb2e5\" "
                              "stroke-width=\"1.5\" d=\"");
            svg_path(b, box, json_object_get(g, "coordinates"));
            cr_strbuf_puts(b, "\"/>\n");
            json_decref(g);
        }
    }
    sqlite3_finalize(st);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(trace_geo, "features"), i, f)
    {
        if (strcmp(geom_type(f), "LineString") == 0) {
            cr_strbuf_puts(b, "<path fill=\"none\" stroke=\"#0066ff\" stroke-width=\"3\" d=\"");
            svg_path(b, box, json_object_get(json_object_get(f, "geometry"), "coordinates"));
            cr_strbuf_puts(b, "\"/>\n");
        }
    }
    size_t labelled = 0;
    json_array_foreach(fs, i, f)
    {
        if (strcmp(geom_type(f), "Point") != 0) {
            continue;
        }
        const json_t *p = json_object_get(f, "properties");
        const json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
        double x, y;
        cr_evidence_map_xy(box, json_number_value(json_array_get(c, 0)),
                           json_number_value(json_array_get(c, 1)), &x, &y);
        cr_strbuf_printf(b,
                         "<circle data-id=\"%s:", json_string_value(json_object_get(p, "layer")));
        cr_xml_append(b, json_string_value(json_object_get(p, "source_id")));
        cr_strbuf_printf(b, "\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\" stroke=\"#fff\"/>\n",
                         x, y, layer_colour(json_string_value(json_object_get(p, "layer"))));
        if (labelled++ < 40) {
            cr_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", x + 5, y - 4);
            cr_xml_append(b, json_string_value(json_object_get(p, "source_id")));
            cr_strbuf_puts(b, "</text>\n");
        }
    }
    /* scale bar: a round length near a fifth of the width, at the map's middle latitude */
    double km_per_px;
    {
        double x0, y0, x1, y1;
        double mid = (box[1] + box[3]) / 2;
        cr_evidence_map_xy(box, box[0], mid, &x0, &y0);
        cr_evidence_map_xy(box, box[2], mid, &x1, &y1);
        km_per_px = cr_geodesic_m(box[0], mid, box[2], mid) / 1000.0 / (x1 - x0);
    }
    double want = km_per_px * MAP_W / 5, len = 1;
    while (len * 10 <= want) {
        len *= 10;
    }
    len = want >= 5 * len ? 5 * len : want >= 2 * len ? 2 * len : len;
    double px = len / km_per_px;
    cr_strbuf_printf(
        b,
        "<g data-scale-km=\"%g\"><rect x=\"20\" y=\"%.0f\" width=\"%.1f\" height=\"6\" "
        "fill=\"#000\"/><text x=\"20\" y=\"%.0f\">%g km</text></g>\n",
        len, MAP_H - 18, px, MAP_H - 22, len);
    cr_strbuf_printf(b,
                     "<g transform=\"translate(%.0f 40)\"><path d=\"M0 -22 L8 6 L0 0 L-8 6 Z\" "
                     "fill=\"#000\"/><text x=\"-4\" y=\"20\" font-size=\"14\">N</text></g>\n",
                     MAP_W - 30);
    static const char *legend[][2] = {{"outfalls", "排污口 outfall"},
                                      {"monitoring_sections", "断面 section"},
                                      {"hyacinth_reports", "水葫芦 hyacinth"},
                                      {"mobile_sources", "船舶 ship"},
                                      {"gates", "闸泵 gate"}};
    cr_strbuf_printf(b,
                     "<g transform=\"translate(%.0f %.0f)\"><rect x=\"-6\" y=\"-14\" "
                     "width=\"150\" height=\"112\" fill=\"#fff\" stroke=\"#999\"/>\n",
                     MAP_W - 160, MAP_H - 120);
    for (size_t k = 0; k < sizeof legend / sizeof legend[0]; k++) {
        cr_strbuf_printf(b,
                         "<circle cx=\"4\" cy=\"%zu\" r=\"4\" fill=\"%s\"/><text x=\"14\" "
                         "y=\"%zu\">%s</text>\n",
                         k * 16, layer_colour(legend[k][0]), k * 16 + 4, legend[k][1]);
    }
    cr_strbuf_puts(b, "<path d=\"M0 80 L10 80\" stroke=\"#0066ff\" stroke-width=\"3\"/><text "
                      "x=\"14\" y=\"84\">追踪 trace</text></g>\n</svg>\n");
}

static void report_html(const json_t *cj, const json_t *fs, const json_t *trace, const char *svg,
                        cr_strbuf *b)
{
    cr_html_begin(b, "证据包 Evidence package",
                  "body{font:12px sans-serif;margin:16px}table{border-collapse:collapse;margin:8px "
                  "0 16px}th,td{border:1px solid #666;padding:2px 6px}th{background:#eee}svg{"
                  "border:1px solid #999;max-width:100%;height:auto}");
    cr_strbuf_puts(b, "<h1>证据包 Evidence package</h1>\n<p>");
    cr_xml_append(b, json_string_value(json_object_get(cj, "issuer")));
    cr_strbuf_puts(b, " · as of ");
    cr_xml_append(b, json_string_value(json_object_get(cj, "as_of")));
    cr_strbuf_puts(b, " · ");
    cr_xml_append(b, json_string_value(json_object_get(cj, "software")));
    char *case_text = json_dumps(json_object_get(cj, "case"), JSON_COMPACT | JSON_SORT_KEYS);
    cr_strbuf_puts(b, "</p>\n<p>Case: <code>");
    cr_xml_append(b, case_text);
    free(case_text);
    cr_strbuf_printf(b, "</code> · %lld features</p>\n",
                     (long long)json_integer_value(json_object_get(cj, "features")));
    cr_strbuf_puts(b, svg);
    /* outfalls met by the trace, grouped by jurisdiction, with distance and time */
    if (trace) {
        cr_strbuf_puts(b, "<h2>排污口 Outfalls on the trace, by jurisdiction</h2>\n");
        size_t j;
        json_t *jur;
        json_array_foreach(json_object_get(trace, "jurisdictions"), j, jur)
        {
            const char *code = json_string_value(json_object_get(jur, "code"));
            cr_strbuf_puts(b, "<h3>");
            cr_xml_append(b, json_string_value(json_object_get(jur, "name")));
            cr_strbuf_puts(b, "</h3><table><tr><th>ID</th><th>名称 name</th><th>河段 reach</th>"
                              "<th>km</th><th>h</th></tr>\n");
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(trace, "features"), i, f)
            {
                const char *layer = json_string_value(json_object_get(f, "layer"));
                const char *fc = json_string_value(json_object_get(f, "county_code"));
                if (!layer || strcmp(layer, "outfalls") != 0 || !fc || !code ||
                    strcmp(fc, code) != 0) {
                    continue;
                }
                cr_strbuf_puts(b, "<tr><td>");
                cr_xml_append(b, json_string_value(json_object_get(f, "id")));
                cr_strbuf_puts(b, "</td><td>");
                cr_xml_append(b, json_string_value(json_object_get(f, "name")));
                cr_strbuf_puts(b, "</td><td>");
                cr_xml_append(b, json_string_value(json_object_get(f, "reach_id")));
                cr_strbuf_printf(b, "</td><td>%.3f</td><td>%.2f</td></tr>\n",
                                 json_number_value(json_object_get(f, "distance_km")),
                                 json_number_value(json_object_get(f, "time_h")));
            }
            cr_strbuf_puts(b, "</table>\n");
        }
    }
    if (trace == NULL) { /* a boundary case: the outfalls in scope by county, nearest first */
        cr_strbuf_puts(b, "<h2>排污口 Outfalls near the boundary, by county</h2>\n");
        const char *prev = NULL;
        size_t i;
        json_t *f;
        for (int pass = 0; pass < 2; pass++) { /* the first county met, then the other */
            const char *county = NULL;
            json_array_foreach(fs, i, f)
            {
                const json_t *p = json_object_get(f, "properties");
                const char *layer = json_string_value(json_object_get(p, "layer"));
                const char *code = json_string_value(json_object_get(p, "county_code"));
                if (!layer || strcmp(layer, "outfalls") != 0 || !code ||
                    (prev && strcmp(code, prev) == 0) || (county && strcmp(code, county) != 0)) {
                    continue;
                }
                if (county == NULL) {
                    county = code;
                    cr_strbuf_puts(b, "<h3>");
                    cr_xml_append(b, code);
                    cr_strbuf_puts(b, "</h3><table><tr><th>ID</th><th>名称 name</th><th>河段 "
                                      "reach</th><th>to the boundary, m</th></tr>\n");
                }
                cr_strbuf_puts(b, "<tr><td>");
                cr_xml_append(b, json_string_value(json_object_get(p, "source_id")));
                cr_strbuf_puts(b, "</td><td>");
                cr_xml_append(b, json_string_value(json_object_get(p, "name")));
                cr_strbuf_puts(b, "</td><td>");
                cr_xml_append(b, json_string_value(json_object_get(p, "reach_id")));
                cr_strbuf_printf(b, "</td><td>%.0f</td></tr>\n",
                                 json_number_value(json_object_get(p, "boundary_distance_m")));
            }
            if (county) {
                cr_strbuf_puts(b, "</table>\n");
            }
            prev = county;
        }
    }
    cr_strbuf_puts(b, "<h2>断面 Section readings</h2><p>The store holds no section readings; the "
                      "sections in scope are in features.csv.</p>\n");
    cr_strbuf_puts(b, "<h2>数据来源 Data sources</h2><table><tr><th>batch</th><th>layer</th>"
                      "<th>file</th><th>encoding</th><th>CRS</th><th>SHA-256</th></tr>\n");
    size_t i;
    json_t *bt;
    json_array_foreach(json_object_get(cj, "batches"), i, bt)
    {
        cr_strbuf_printf(b, "<tr><td>%lld</td>",
                         (long long)json_integer_value(json_object_get(bt, "batch_id")));
        const char *keys[] = {"layer", "file_name", "encoding", "crs", "sha256"};
        for (size_t k = 0; k < 5; k++) {
            cr_strbuf_puts(b, "<td>");
            cr_xml_append(b, json_string_value(json_object_get(bt, keys[k])));
            cr_strbuf_puts(b, "</td>");
        }
        cr_strbuf_puts(b, "</tr>\n");
    }
    cr_strbuf_puts(b, "</table>\n");
    cr_html_end(b);
}

/* The stretch of boundary between two counties: the line their outlines share. */
static json_t *boundary_geojson(cr_store *store, const char *pair, cr_error *err)
{
    char a[32] = "", b[32] = "";
    sscanf(pair, "%31[^:]:%31s", a, b);
    sqlite3_stmt *st = NULL;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT AsGeoJSON(ST_Intersection(ST_Boundary(x.geom),"
                           " ST_Boundary(y.geom)), 7) FROM admin_units_current x,"
                           " admin_units_current y WHERE x.code = ? AND y.code = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
            json_t *g = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
            out = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}, s:o}]}", "type", "FeatureCollection",
                            "features", "type", "Feature", "properties", "county_a", a, "county_b",
                            b, "geometry", g ? g : json_null());
        }
    }
    sqlite3_finalize(st);
    if (out == NULL) {
        cr_error_set(err, CR_ENOTFOUND,
                     "boundary: counties %s and %s share no boundary in the store", a, b);
    }
    return out;
}

/* ---- the GeoPackage ------------------------------------------------------------------------- */

static const char *PROVENANCE_KEYS[] = {"batch_id",       "source_row", "version", "valid_from",
                                        "content_sha256", "raw_x",      "raw_y",   "coord_method"};

/* Append a GeoJSON text as a layer of the GeoPackage at path (created by the first call). */
static cr_status gpkg_layer(const char *path, const char *geojson, const char *layer, int first,
                            cr_error *err)
{
    /* /vsimem/ names are process-wide: each call its own, so concurrent exports never meet */
    static atomic_uint_fast64_t serial;
    char vsi[128];
    snprintf(vsi, sizeof vsi, "/vsimem/crossriver-evidence-%llu-%s.geojson",
             (unsigned long long)atomic_fetch_add(&serial, 1), layer);
    VSIFCloseL(VSIFileFromMemBuffer(vsi, (GByte *)geojson, (vsi_l_offset)strlen(geojson), FALSE));
    GDALDatasetH src = GDALOpenEx(vsi, GDAL_OF_VECTOR, NULL, NULL, NULL);
    char *argv[] = {(char *)"-f",
                    (char *)"GPKG",
                    (char *)"-nln",
                    (char *)layer,
                    (char *)"-lco",
                    (char *)"FID=row_id",
                    first ? NULL : (char *)"-update",
                    NULL};
    GDALVectorTranslateOptions *o = GDALVectorTranslateOptionsNew(argv, NULL);
    int usage_error = 0;
    GDALDatasetH dst =
        src ? GDALVectorTranslate(
                  first ? path : NULL,
                  first ? NULL
                        : GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL),
                  1, &src, o, &usage_error)
            : NULL;
    GDALVectorTranslateOptionsFree(o);
    cr_status rc =
        dst ? CR_OK : cr_error_set(err, CR_EIO, "GeoPackage %s: %s", layer, CPLGetLastErrorMsg());
    if (dst) {
        GDALClose(dst);
    }
    if (src) {
        GDALClose(src);
    }
    VSIUnlink(vsi);
    return rc;
}

/* The features, the trace and the boundary as a GeoPackage, with each feature row's
 * provenance in the metadata extension (gpkg_metadata, gpkg_metadata_reference); timestamps are
 * the as-of time, so the bytes follow from the store, the case and as-of. */
static cr_status write_gpkg(const char *path, const json_t *fs, const json_t *trace_geo,
                            const json_t *boundary, const char *as_of, cr_error *err)
{
    unlink(path);
    GDALAllRegister();
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", as_of);
    CPLSetThreadLocalConfigOption("OGR_SQLITE_JOURNAL", "OFF");
    json_t *fc = json_pack("{s:s, s:O}", "type", "FeatureCollection", "features", fs);
    char *text = json_dumps(fc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
    json_decref(fc);
    cr_status rc = gpkg_layer(path, text, "features", 1, err);
    free(text);
    const json_t *more[2][2] = {{trace_geo, NULL}, {boundary, NULL}};
    const char *names[2] = {"trace", "boundary"};
    for (int k = 0; k < 2 && rc == CR_OK; k++) {
        if (more[k][0]) {
            text = json_dumps(more[k][0], JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
            rc = gpkg_layer(path, text, names[k], 0, err);
            free(text);
        }
    }
    CPLSetThreadLocalConfigOption("OGR_CURRENT_DATE", NULL);
    CPLSetThreadLocalConfigOption("OGR_SQLITE_JOURNAL", NULL);
    sqlite3 *db = NULL;
    if (rc == CR_OK && sqlite3_open(path, &db) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EIO, "%s: cannot open the GeoPackage", path);
    }
    if (rc == CR_OK) {
        char *sql = sqlite3_mprintf(
            "PRAGMA journal_mode = OFF; BEGIN;"
            "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT,"
            " extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL,"
            " CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));"
            "CREATE TABLE gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,"
            " md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL,"
            " mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');"
            "CREATE TABLE gpkg_metadata_reference (reference_scope TEXT NOT NULL,"
            " table_name TEXT, column_name TEXT, row_id_value INTEGER,"
            " timestamp DATETIME NOT NULL DEFAULT (strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ','now')),"
            " md_file_id INTEGER NOT NULL, md_parent_id INTEGER,"
            " CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),"
            " CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));"
            "INSERT OR IGNORE INTO gpkg_extensions VALUES"
            " ('gpkg_metadata', NULL, 'gpkg_metadata',"
            " 'http://www.geopackage.org/spec121/#extension_metadata', 'read-write'),"
            " ('gpkg_metadata_reference', NULL, 'gpkg_metadata',"
            " 'http://www.geopackage.org/spec121/#extension_metadata', 'read-write');");
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
                 ? CR_OK
                 : cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_free(sql);
    }
    sqlite3_stmt *md = NULL, *ref = NULL;
    if (rc == CR_OK &&
        (sqlite3_prepare_v2(db,
                            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type,"
                            " metadata) VALUES ('feature', 'https://crossriver.invalid/provenance',"
                            " 'application/json', ?)",
                            -1, &md, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(db,
                            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name,"
                            " row_id_value, timestamp, md_file_id) VALUES ('row', 'features', ?,"
                            " ?, ?)",
                            -1, &ref, NULL) != SQLITE_OK)) {
        rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
    }
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        if (rc != CR_OK) {
            break;
        }
        const json_t *p = json_object_get(f, "properties");
        json_t *prov = json_pack("{s:O?, s:O?}", "layer", json_object_get(p, "layer"), "source_id",
                                 json_object_get(p, "source_id"));
        for (size_t k = 0; k < sizeof PROVENANCE_KEYS / sizeof PROVENANCE_KEYS[0]; k++) {
            json_t *v = json_object_get(p, PROVENANCE_KEYS[k]);
            json_object_set(prov, PROVENANCE_KEYS[k], v ? v : json_null());
        }
        char *ptext = json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(prov);
        sqlite3_reset(md);
        sqlite3_bind_text(md, 1, ptext, -1, SQLITE_TRANSIENT);
        free(ptext);
        if (sqlite3_step(md) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
            break;
        }
        sqlite3_reset(ref);
        sqlite3_bind_int64(ref, 1, (sqlite3_int64)i + 1); /* fid: features in order from 1 */
        sqlite3_bind_text(ref, 2, as_of, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ref, 3, sqlite3_last_insert_rowid(db));
        if (sqlite3_step(ref) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(md);
    sqlite3_finalize(ref);
    if (db) {
        if (rc == CR_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", path, sqlite3_errmsg(db));
        }
        sqlite3_close(db);
    }
    return rc;
}

/* 1 when some finished batch is dated at or before as_of; first gets the earliest date. */
static int store_held_anything(cr_store *store, const char *as_of, char first[32])
{
    sqlite3_stmt *st;
    int held = 0;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT min(valid_from), sum(substr(valid_from, 1, 19) <= substr(?, 1,"
                           " 19)) FROM import_batches WHERE finished_at IS NOT NULL",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, as_of, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *f = (const char *)sqlite3_column_text(st, 0);
            snprintf(first, 32, "%s", f ? f : "");
            held = sqlite3_column_int64(st, 1) > 0;
        }
    }
    sqlite3_finalize(st);
    return held;
}

cr_status cr_evidence_export(cr_store *store, const cr_graph *g, cr_trace_workspace *ws,
                             const cr_reach_index *reaches, const cr_evidence_case *c,
                             const char *zip_path, const char *audit_by, char sha_out[65],
                             json_t **summary, cr_error *err)
{
    time_t mtime;
    if (!parse_as_of(c->as_of, &mtime)) {
        return cr_error_set(err, CR_EINVAL, "as-of: YYYY-MM-DDTHH:MM:SSZ (UTC) is required");
    }
    if (!c->boundary && !c->has_trace) {
        return cr_error_set(err, CR_EINVAL,
                            "a case needs a boundary (A:B) or an incident/section trace");
    }
    char first[32] = "";
    if (!store_held_anything(store, c->as_of, first)) {
        return cr_error_set(err, CR_EINVAL,
                            "as of %s the store held nothing: its earliest batch is dated %s",
                            c->as_of, first[0] ? first : "(none: nothing was imported)");
    }
    json_t *trace = NULL, *trace_geo = NULL;
    cr_status rc = cr_store_as_of_begin(store, c->as_of, err);
    if (rc == CR_OK && c->has_trace) {
        cr_trace_request t = c->trace;
        t.geojson = 0;
        t.access = c->include_personal ? cr_access_all() : NULL; /* liaisons' mobiles */
        rc = cr_api_trace(store, g, ws, reaches, &t, &trace, err);
        if (rc == CR_OK) {
            t.geojson = 1;
            rc = cr_api_trace(store, g, ws, reaches, &t, &trace_geo, err);
        }
    }
    json_t *fs = json_array(), *ids = json_object();
    if (rc == CR_OK) {
        rc = features(store, c, trace, fs, ids, err);
    }
    payloads ps = {0};
    json_t *tiles_json = json_array();
    if (rc == CR_OK) {
        json_t *fc = json_pack("{s:s, s:O}", "type", "FeatureCollection", "features", fs);
        char *s = dumps(fc);
        add(&ps, "data/features.geojson", s, strlen(s));
        free(s);
        json_decref(fc);
        cr_strbuf text = {0};
        features_csv(fs, &text);
        add(&ps, "data/features.csv", text.data, text.len);
        cr_strbuf_clear(&text);
        features_kml(fs, trace_geo, &text);
        add(&ps, "data/features.kml", text.data, text.len);
        cr_strbuf_cleanup(&text);
        if (trace_geo) {
            s = dumps(trace_geo);
            add(&ps, "data/trace.geojson", s, strlen(s));
            free(s);
            s = dumps(trace);
            add(&ps, "data/trace.json", s, strlen(s));
            free(s);
        }
        rc = case_tiles(store, fs, trace_geo, &ps, tiles_json, err);
    }
    if (rc == CR_OK) {
        json_t *boundary = c->boundary ? boundary_geojson(store, c->boundary, err) : NULL;
        rc = c->boundary && boundary == NULL ? err->code : CR_OK;
        if (boundary) {
            char *s = dumps(boundary);
            add(&ps, "data/boundary.geojson", s, strlen(s));
            free(s);
        }
        char gpkg[1100];
        snprintf(gpkg, sizeof gpkg, "%s.partial.gpkg", zip_path);
        if (rc == CR_OK) {
            rc = write_gpkg(gpkg, fs, trace_geo, boundary, c->as_of, err);
        }
        char *data = NULL;
        size_t len = 0;
        if (rc == CR_OK && cr_read_file(gpkg, &data, &len, err) == CR_OK) {
            add(&ps, "data/features.gpkg", data, len);
        }
        free(data);
        unlink(gpkg);
        json_decref(boundary);
    }
    if (rc == CR_OK) {
        json_t *cj = json_pack("{s:o, s:s, s:s, s:s?, s:I, s:O, s:o}", "case", case_json(c),
                               "software", "crossriver " CR_VERSION, "as_of", c->as_of, "issuer",
                               c->issuer, "features", (json_int_t)json_array_size(fs), "tiles",
                               tiles_json, "batches", batches(cr_store_db(store), ids));
        char *s = dumps(cj);
        add(&ps, "data/case.json", s, strlen(s));
        free(s);
        double box[4];
        case_box(fs, trace_geo, box);
        if (box[0] <= box[2]) {
            cr_strbuf svg = {0}, html = {0};
            map_svg(cr_store_db(store), fs, trace_geo, box, &svg);
            add(&ps, "data/map.svg", svg.data, svg.len);
            report_html(cj, fs, trace, svg.data, &html);
            add(&ps, "data/report.html", html.data, html.len);
            cr_strbuf_cleanup(&svg);
            cr_strbuf_cleanup(&html);
        }
        json_decref(cj);
        /* BagIt: the manifest over data/, then the tag files and their manifest */
        cr_strbuf man = {0};
        size_t oxum_bytes = 0, n_payload = ps.n;
        for (size_t i = 0; i < ps.n; i++) {
            char hex[65];
            cr_sha256_hex(ps.items[i].body.data ? ps.items[i].body.data : "", ps.items[i].body.len,
                          hex);
            cr_strbuf_printf(&man, "%s  %s\n", hex, ps.items[i].name);
            oxum_bytes += ps.items[i].body.len;
        }
        const char *bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
        cr_strbuf info = {0};
        cr_strbuf_printf(&info,
                         "Source-Organization: %s\nBagging-Date: %.10s\nPayload-Oxum: %zu.%zu\n"
                         "External-Description: crossriver evidence package; see "
                         "data/case.json\n",
                         c->issuer ? c->issuer : "unknown", c->as_of, oxum_bytes, n_payload);
        add(&ps, "bagit.txt", bagit, strlen(bagit));
        add(&ps, "bag-info.txt", info.data, info.len);
        add(&ps, "manifest-sha256.txt", man.data, man.len);
        cr_strbuf tag = {0};
        for (size_t i = ps.n - 3; i < ps.n; i++) {
            char hex[65];
            cr_sha256_hex(ps.items[i].body.data, ps.items[i].body.len, hex);
            cr_strbuf_printf(&tag, "%s  %s\n", hex, ps.items[i].name);
        }
        add(&ps, "tagmanifest-sha256.txt", tag.data, tag.len);
        cr_strbuf_cleanup(&man);
        cr_strbuf_cleanup(&info);
        cr_strbuf_cleanup(&tag);
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.partial", zip_path);
        rc = write_zip(tmp, ps.items, ps.n, mtime, err);
        if (rc == CR_OK && rename(tmp, zip_path) != 0) {
            rc = cr_error_set(err, CR_EIO, "%s: cannot rename into place", zip_path);
        }
        if (rc != CR_OK) {
            unlink(tmp);
        }
    }
    for (size_t i = 0; i < ps.n; i++) {
        cr_strbuf_cleanup(&ps.items[i].body);
    }
    free(ps.items);
    json_decref(tiles_json);
    cr_store_as_of_end(store);
    if (rc == CR_OK) {
        rc = cr_sha256_file(zip_path, sha_out, err);
    }
    if (rc == CR_OK && audit_by) {
        json_t *cj = case_json(c);
        char *cs = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(cj);
        char now[21];
        cr_now_iso8601(now);
        char *sql = sqlite3_mprintf(
            "CREATE TABLE IF NOT EXISTS evidence_exports (export_id INTEGER PRIMARY KEY,"
            " exported_at TEXT NOT NULL, exported_by TEXT NOT NULL, as_of TEXT NOT NULL,"
            " issuer TEXT, case_json TEXT NOT NULL, package TEXT NOT NULL,"
            " package_sha256 TEXT NOT NULL, personal_data INTEGER NOT NULL DEFAULT 0);");
        rc = cr_store_exec(store, sql, err);
        sqlite3_free(sql);
        /* stores from before personal data was audited */
        cr_store_exec(store,
                      "ALTER TABLE evidence_exports ADD COLUMN personal_data INTEGER NOT"
                      " NULL DEFAULT 0",
                      NULL);
        sql = sqlite3_mprintf(
            "INSERT INTO evidence_exports (exported_at, exported_by, as_of, issuer, case_json,"
            " package, package_sha256, personal_data) VALUES (%Q, %Q, %Q, %Q, %Q, %Q, %Q, %d);",
            now, audit_by, c->as_of, c->issuer, cs, zip_path, sha_out, c->include_personal);
        rc = rc == CR_OK ? cr_store_exec(store, sql, err) : rc;
        if (rc == CR_OK && c->include_personal) {
            rc = cr_store_audit(store, audit_by, "evidence package with personal data", zip_path,
                                err);
        }
        sqlite3_free(sql);
        free(cs);
    }
    if (rc == CR_OK && summary) {
        *summary =
            json_pack("{s:s, s:s, s:I, s:b}", "package", zip_path, "sha256", sha_out, "features",
                      (json_int_t)json_array_size(fs), "trace", trace_geo != NULL);
    }
    json_decref(fs);
    json_decref(ids);
    json_decref(trace);
    json_decref(trace_geo);
    return rc;
}

/* The case of a package's case.json, for a re-run (strings borrowed from j); its trace goes
 * through the one trace-request parser, so a bad one is refused as over HTTP. */
cr_status cr_evidence_case_from_json(const json_t *j, cr_evidence_case *c, cr_error *err)
{
    const json_t *cj = json_object_get(j, "case"), *t = json_object_get(cj, "trace");
    memset(c, 0, sizeof *c);
    c->boundary = json_string_value(json_object_get(cj, "boundary"));
    c->buffer_km = json_number_value(json_object_get(cj, "buffer_km"));
    c->from_date = json_string_value(json_object_get(cj, "from_date"));
    c->to_date = json_string_value(json_object_get(cj, "to_date"));
    c->include_personal = json_is_true(json_object_get(cj, "personal_data"));
    c->as_of = json_string_value(json_object_get(j, "as_of"));
    c->issuer = json_string_value(json_object_get(j, "issuer"));
    if (t == NULL) {
        return CR_OK;
    }
    if (!json_is_object(t)) {
        return cr_error_set(err, CR_EINVAL, "case.trace: an object of trace parameters");
    }
    c->has_trace = 1;
    cr_status rc = cr_api_trace_parse(t, 0, &c->trace, err);
    return rc == CR_OK ? CR_OK : cr_error_prefix(err, "case.trace");
}

/* The whole of one entry, or NULL. */
static char *read_entry(zip_t *za, zip_int64_t idx, size_t *len)
{
    zip_stat_t sb;
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &sb) != 0) {
        return NULL;
    }
    zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (f == NULL) {
        return NULL;
    }
    char *buf = cr_xmalloc(sb.size + 1);
    zip_int64_t got = zip_fread(f, buf, sb.size);
    zip_fclose(f);
    if (got < 0 || (zip_uint64_t)got != sb.size) {
        free(buf);
        return NULL;
    }
    buf[sb.size] = '\0';
    *len = sb.size;
    return buf;
}

static char *read_named(zip_t *za, const char *name, size_t *len)
{
    char full[256];
    snprintf(full, sizeof full, "%s/%s", BAG, name);
    zip_int64_t idx = zip_name_locate(za, full, 0);
    return idx < 0 ? NULL : read_entry(za, idx, len);
}

/* Check the lines of a manifest; 1 when all hold. */
static int check_manifest(zip_t *za, const char *manifest, json_t *files, json_t *problems,
                          json_t *listed)
{
    size_t len = 0;
    char *text = read_named(za, manifest, &len);
    if (text == NULL) {
        json_array_append_new(problems, json_sprintf("%s is missing", manifest));
        return 0;
    }
    int ok = 1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char hex[65], path[200];
        if (sscanf(line, "%64s  %199[^\n]", hex, path) != 2) {
            json_array_append_new(problems, json_sprintf("%s: bad line '%.80s'", manifest, line));
            ok = 0;
            continue;
        }
        json_object_set_new(listed, path, json_true());
        size_t n = 0;
        char *body = read_named(za, path, &n);
        char got[65] = "";
        if (body) {
            cr_sha256_hex(body, n, got);
        }
        int same = body && strcmp(got, hex) == 0;
        json_array_append_new(files, json_pack("{s:s, s:b}", "path", path, "ok", same));
        if (!same) {
            json_array_append_new(
                problems, body
                              ? json_sprintf("%s: SHA-256 %s, the manifest says %s", path, got, hex)
                              : json_sprintf("%s: listed in %s but missing", path, manifest));
            ok = 0;
        }
        free(body);
    }
    free(text);
    return ok;
}

cr_status cr_evidence_verify(const char *zip_path, json_t **report, cr_error *err)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
    if (za == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: not a zip file (libzip error %d)", zip_path, zerr);
    }
    json_t *files = json_array(), *problems = json_array(), *listed = json_object();
    size_t len = 0;
    char *bagit = read_named(za, "bagit.txt", &len);
    if (bagit == NULL || strstr(bagit, "BagIt-Version:") == NULL) {
        free(bagit);
        zip_discard(za);
        json_decref(files);
        json_decref(problems);
        json_decref(listed);
        return cr_error_set(err, CR_EINVAL, "%s: no BagIt bag (%s/bagit.txt) inside", zip_path,
                            BAG);
    }
    free(bagit);
    int ok = check_manifest(za, "manifest-sha256.txt", files, problems, listed);
    ok &= check_manifest(za, "tagmanifest-sha256.txt", files, problems, listed);
    /* every payload file is in the manifest; the Payload-Oxum adds up */
    size_t bytes = 0, count = 0;
    zip_int64_t n = zip_get_num_entries(za, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        zip_stat_t sb;
        if (name && strncmp(name, BAG "/data/", strlen(BAG "/data/")) == 0 &&
            zip_stat_index(za, (zip_uint64_t)i, 0, &sb) == 0) {
            bytes += sb.size;
            count++;
            if (json_object_get(listed, name + strlen(BAG "/")) == NULL) {
                json_array_append_new(problems, json_sprintf("%s is not in the manifest", name));
                ok = 0;
            }
        }
    }
    char *info = read_named(za, "bag-info.txt", &len);
    size_t ob = 0, oc = 0;
    const char *ox = info ? strstr(info, "Payload-Oxum: ") : NULL;
    if (ox == NULL || sscanf(ox, "Payload-Oxum: %zu.%zu", &ob, &oc) != 2 || ob != bytes ||
        oc != count) {
        json_array_append_new(problems, json_sprintf("Payload-Oxum %zu.%zu, the payload is "
                                                     "%zu.%zu",
                                                     ob, oc, bytes, count));
        ok = 0;
    }
    free(info);
    zip_discard(za);
    json_decref(listed);
    *report = json_pack("{s:b, s:s, s:o, s:o}", "ok", ok, "bag", BAG, "files", files, "problems",
                        problems);
    return CR_OK;
}

cr_status cr_evidence_read_case(const char *zip_path, json_t **case_out, cr_error *err)
{
    int zerr = 0;
    zip_t *za = zip_open(zip_path, ZIP_RDONLY, &zerr);
    if (za == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: not a zip file", zip_path);
    }
    size_t len = 0;
    char *text = read_named(za, "data/case.json", &len);
    zip_discard(za);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (j == NULL) {
        return cr_error_set(err, CR_EINVAL, "%s: no readable data/case.json", zip_path);
    }
    *case_out = j;
    return CR_OK;
}
