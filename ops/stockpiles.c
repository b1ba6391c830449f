/* SPDX-License-Identifier: MIT */
/* The emergency stockpiles nearest a place, by straight-line (geodesic) distance: what an
 * alarm or an incident lists so responders know where booms, absorbents and carbon are. */
#include "geo/geo.h"
#include "ops.h"

#include <sqlite3.h>
#include <stdlib.h>

typedef struct {
    double m;
    json_t *o;
} near_item;

static int by_distance(const void *a, const void *b)
{
    double x = ((const near_item *)a)->m, y = ((const near_item *)b)->m;
    return (x > y) - (x < y);
}

json_t *cr_ops_nearest_stockpiles(cr_store *store, double lon, double lat, size_t n)
{
    json_t *out = json_array();
    sqlite3_stmt *st = cr_store_cached(
        store, "SELECT source_id, name, contents, operator, duty_phone, address, county_code,"
               " ST_X(geom), ST_Y(geom) FROM stockpiles_current WHERE geom IS NOT NULL");
    if (st == NULL) {
        return out; /* a store without the layer: none */
    }
    near_item *v = NULL;
    size_t k = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double x = sqlite3_column_double(st, 7), y = sqlite3_column_double(st, 8);
        json_t *o = json_object();
        static const char *const KEYS[] = {"id",         "name",    "contents",   "operator",
                                           "duty_phone", "address", "county_code"};
        for (int c = 0; c < 7; c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            json_object_set_new(o, KEYS[c], t ? json_string((const char *)t) : json_null());
        }
        double m = cr_geodesic_m(lon, lat, x, y);
        json_object_set_new(o, "distance_km", json_real(m / 1000));
        json_object_set_new(o, "lon", json_real(x));
        json_object_set_new(o, "lat", json_real(y));
        if (k == cap) {
            cap = cap ? 2 * cap : 16;
            v = cr_xrealloc(v, cap * sizeof *v);
        }
        v[k++] = (near_item){m, o};
    }
    sqlite3_reset(st);
    qsort(v, k, sizeof *v, by_distance);
    for (size_t i = 0; i < k; i++) {
        if (i < n) {
            json_array_append_new(out, v[i].o);
        } else {
            json_decref(v[i].o);
        }
    }
    free(v);
    return out;
}
