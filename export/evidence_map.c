/* SPDX-License-Identifier: MIT */
/* The case area: its box, its tiles (the bytes crossriver tile makes) and crossriver's own SVG
 * map. */
#include "evidence_internal.h"
#include "tiler/tile.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

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
void cr_ev_case_box(const json_t *fs, const json_t *trace_geo, double box[4])
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

cr_status cr_ev_case_tiles(cr_store *store, const json_t *fs, const json_t *trace_geo, payloads *ps,
                           json_t *tiles_json, cr_error *err)
{
    double box[4];
    cr_ev_case_box(fs, trace_geo, box);
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
                    cr_ev_add(ps, name, t.data, t.len);
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

#define MAP_W 900.0

#define MAP_H 600.0

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
/* The counties meeting the map, outlines only. */
static void svg_counties(sqlite3 *db, const double box[4], cr_strbuf *b)
{
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
}

/* The rivers of the area, thin, under the trace. */
static void svg_rivers(sqlite3 *db, const double box[4], cr_strbuf *b)
{
    sqlite3_stmt *st = NULL;
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
}

/* The trace's lines. */
static void svg_trace(const json_t *trace_geo, const double box[4], cr_strbuf *b)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(trace_geo, "features"), i, f)
    {
        if (strcmp(cr_ev_geom_type(f), "LineString") == 0) {
            cr_strbuf_puts(b, "<path fill=\"none\" stroke=\"#0066ff\" stroke-width=\"3\" d=\"");
            svg_path(b, box, json_object_get(json_object_get(f, "geometry"), "coordinates"));
            cr_strbuf_puts(b, "\"/>\n");
        }
    }
}

/* The point features, the first 40 labelled with their IDs. */
static void svg_points(const json_t *fs, const double box[4], cr_strbuf *b)
{
    size_t i;
    json_t *f;
    size_t labelled = 0;
    json_array_foreach(fs, i, f)
    {
        if (strcmp(cr_ev_geom_type(f), "Point") != 0) {
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
}

/* A scale bar (a round length near a fifth of the width, at the map's middle latitude) and the
 * north arrow. */
static void svg_scale_and_north(const double box[4], cr_strbuf *b)
{
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
}

/* The legend, in words. */
static void svg_legend(cr_strbuf *b)
{
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

void cr_ev_map_svg(sqlite3 *db, const json_t *fs, const json_t *trace_geo, const double in[4],
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
    svg_counties(db, box, b);
    svg_rivers(db, box, b);
    svg_trace(trace_geo, box, b);
    svg_points(fs, box, b);
    svg_scale_and_north(box, b);
    svg_legend(b);
}
