/* SPDX-License-Identifier: MIT */
/* The features as GeoJSON text, CSV and KML (the shared document writers of core/). */
#include "evidence_internal.h"

#include <stdio.h>
#include <string.h>

char *cr_ev_dumps(const json_t *j)
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

void cr_ev_features_csv(const json_t *fs, cr_strbuf *b)
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

const char *cr_ev_geom_type(const json_t *f)
{
    const char *t = json_string_value(json_object_get(json_object_get(f, "geometry"), "type"));
    return t ? t : "";
}

/* KML for field viewers: the point features as placemarks, the traced reaches as lines. */
void cr_ev_features_kml(const json_t *fs, const json_t *trace_geo, cr_strbuf *b)
{
    cr_kml_begin(b, "crossriver evidence");
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        const json_t *p = json_object_get(f, "properties");
        const json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
        if (strcmp(cr_ev_geom_type(f), "Point") != 0) {
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
        if (strcmp(cr_ev_geom_type(f), "LineString") != 0) {
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
