/* SPDX-License-Identifier: MIT */
/* The reach index: the current reaches on the segment grid (geo/), for snapping a point to its
 * nearest reach (or the nearest reach of a named river). Rule: read-only once loaded, so any
 * number of threads may query one index; it needs neither GDAL nor GEOS. */
#include "geo/geo.h"
#include "network.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int compare_reach_ids(const void *a, const void *b)
{
    return strcmp(((const cr_indexed_reach *)a)->id, ((const cr_indexed_reach *)b)->id);
}

/* Text of the index (IDs and folded names) in one growing buffer, as offsets while loading. */
typedef struct {
    char *data;
    size_t len, cap;
} text_arena;

static size_t arena_add(text_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    if (a->len + n > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1 << 20;
        while (a->len + n > a->cap) {
            a->cap *= 2;
        }
        a->data = cr_xrealloc(a->data, a->cap);
    }
    memcpy(a->data + a->len, s, n);
    a->len += n;
    return a->len - n;
}

cr_status cr_reach_index_load(cr_store *store, cr_reach_index **out, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT source_id, name, geom, fid FROM reaches"
                           " WHERE valid_to IS NULL AND geom IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "reach index: %s", sqlite3_errmsg(db));
    }
    cr_reach_index *rx = cr_xcalloc(1, sizeof *rx);
    size_t cap = 0;
    text_arena text = {0};
    size_t *offsets = NULL; /* per reach: its id's and its folded name's offsets in text */
    char *last_name = NULL; /* neighbouring reaches mostly share a river: fold each name once */
    size_t last_folded = 0;
    int sorted = 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t first = rx->n_coords;
        size_t n = cr_spatialite_append_linestring(sqlite3_column_blob(st, 2),
                                                   (size_t)sqlite3_column_bytes(st, 2), &rx->coords,
                                                   &rx->n_coords);
        if (n < 2) {
            continue;
        }
        if (rx->n == cap) {
            cap = cap ? cap * 2 : 1024;
            rx->reaches = cr_xrealloc(rx->reaches, cap * sizeof *rx->reaches);
            offsets = cr_xrealloc(offsets, cap * 2 * sizeof *offsets);
        }
        size_t k = rx->n++;
        cr_indexed_reach *r = &rx->reaches[k];
        const char *id = (const char *)sqlite3_column_text(st, 0);
        id = id ? id : "";
        /* IDs in ascending order (a table imported in ID order, the usual case) need no sort */
        sorted = sorted && (k == 0 || strcmp(text.data + offsets[2 * (k - 1)], id) < 0);
        offsets[2 * k] = arena_add(&text, id);
        r->fid = sqlite3_column_int64(st, 3);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        name = name ? name : "";
        if (last_name == NULL || strcmp(name, last_name) != 0) {
            free(last_name);
            last_name = cr_xstrdup(name);
            char *folded = cr_text_fold(name);
            last_folded = arena_add(&text, folded);
            free(folded);
        }
        offsets[2 * k + 1] = last_folded;
        r->first = first;
        r->n = n;
        r->bbox[0] = r->bbox[1] = INFINITY;
        r->bbox[2] = r->bbox[3] = -INFINITY;
        for (size_t i = first; i < first + n; i++) {
            r->bbox[0] = fmin(r->bbox[0], rx->coords[2 * i]);
            r->bbox[1] = fmin(r->bbox[1], rx->coords[2 * i + 1]);
            r->bbox[2] = fmax(r->bbox[2], rx->coords[2 * i]);
            r->bbox[3] = fmax(r->bbox[3], rx->coords[2 * i + 1]);
        }
    }
    sqlite3_finalize(st);
    free(last_name);
    rx->text = text.data;
    for (size_t k = 0; k < rx->n; k++) {
        rx->reaches[k].id = rx->text + offsets[2 * k];
        rx->reaches[k].folded = rx->text + offsets[2 * k + 1];
    }
    free(offsets);
    /* by reach ID, so ties and every result are independent of the table's row order */
    if (rx->n > 1 && !sorted) {
        qsort(rx->reaches, rx->n, sizeof *rx->reaches, compare_reach_ids);
    }
    rx->ix = cr_segindex_new();
    for (size_t i = 0; i < rx->n; i++) {
        const cr_indexed_reach *r = &rx->reaches[i];
        cr_segindex_add_line(rx->ix, (int32_t)i, rx->coords + 2 * r->first, r->n);
    }
    cr_segindex_build(rx->ix);
    *out = rx;
    return CR_OK;
}

void cr_reach_index_free(cr_reach_index *rx)
{
    if (rx == NULL) {
        return;
    }
    free(rx->text);
    free(rx->reaches);
    free(rx->coords);
    cr_segindex_free(rx->ix);
    free(rx);
}

int cr_reach_names_match(const char *a_folded, const char *b_folded)
{
    if (*a_folded == '\0' || *b_folded == '\0') {
        return 0;
    }
    return strstr(a_folded, b_folded) != NULL || strstr(b_folded, a_folded) != NULL;
}

typedef struct {
    const cr_reach_index *rx;
    const char *folded;
} named;

static int reach_named(void *user, int32_t owner)
{
    const named *n = user;
    return cr_reach_names_match(n->rx->reaches[owner].folded, n->folded);
}

int cr_reach_index_nearest(const cr_reach_index *rx, double lon, double lat, double max_m,
                           const char *river, cr_reach_hit *out)
{
    cr_seg_hit h;
    int found;
    if (river == NULL || *river == '\0') {
        found = cr_segindex_nearest(rx->ix, lon, lat, max_m, NULL, NULL, &h);
    } else {
        char *folded = cr_text_fold(river);
        named n = {rx, folded};
        found = cr_segindex_nearest(rx->ix, lon, lat, max_m, reach_named, &n, &h);
        free(folded);
    }
    if (found) {
        out->reach = h.owner;
        out->id = rx->reaches[h.owner].id;
        out->dist_m = h.dist_m;
        out->measure_m = h.measure_m;
        out->side = h.side;
    }
    return found;
}
