/* SPDX-License-Identifier: MIT */
/* The reach index: the current reaches on the segment grid (geo/), for snapping a point to its
 * nearest reach (or the nearest reach of a named river). Rule: read-only once loaded, so any
 * number of threads may query one index; it needs neither GDAL nor GEOS. */
#include "geo/geo.h"
#include "network.h"

#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
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

/* n bytes of s and a NUL; returns their offset. */
static size_t arena_addn(text_arena *a, const char *s, size_t n)
{
    if (a->len + n + 1 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1 << 20;
        while (a->len + n + 1 > a->cap) {
            a->cap *= 2;
        }
        a->data = cr_xrealloc(a->data, a->cap);
    }
    memcpy(a->data + a->len, s, n);
    a->data[a->len + n] = '\0';
    a->len += n + 1;
    return a->len - n - 1;
}

static size_t arena_add(text_arena *a, const char *s)
{
    return arena_addn(a, s, strlen(s));
}

/* The reaches being loaded: until finish, a reach's id and folded hold their texts' offsets in
 * the text arena (which may still move), not pointers. */
typedef struct {
    cr_reach_index *rx;
    size_t cap;
    text_arena text;
    int sorted; /* IDs ascending so far */
} loading;

static char *offset_ptr(size_t offset)
{
    return (char *)(uintptr_t)offset;
}

static size_t ptr_offset(const char *p)
{
    return (size_t)(uintptr_t)p;
}

static void add_reach(loading *l, int64_t fid, const char *id, size_t id_len, size_t folded_at,
                      size_t first, size_t n)
{
    cr_reach_index *rx = l->rx;
    if (rx->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        rx->reaches = cr_xrealloc(rx->reaches, l->cap * sizeof *rx->reaches);
    }
    size_t k = rx->n++;
    cr_indexed_reach *r = &rx->reaches[k];
    /* IDs in ascending order (a table imported in ID order, the usual case) need no sort */
    r->id = offset_ptr(arena_addn(&l->text, id, id_len));
    l->sorted = l->sorted && (k == 0 || strcmp(l->text.data + ptr_offset(r[-1].id),
                                               l->text.data + ptr_offset(r->id)) < 0);
    r->folded = offset_ptr(folded_at);
    r->fid = fid;
    r->first = first;
    r->n = n;
}

/* The current reaches from their table. */
static cr_status load_table(sqlite3 *db, loading *l, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT source_id, name, geom, fid FROM reaches"
                           " WHERE valid_to IS NULL AND geom IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "reach index: %s", sqlite3_errmsg(db));
    }
    cr_reach_index *rx = l->rx;
    char *last_name = NULL; /* neighbouring reaches mostly share a river: fold each name once */
    size_t last_folded = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t first = rx->n_coords;
        size_t n = cr_spatialite_append_linestring(sqlite3_column_blob(st, 2),
                                                   (size_t)sqlite3_column_bytes(st, 2), &rx->coords,
                                                   &rx->n_coords);
        if (n < 2) {
            continue;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        name = name ? name : "";
        if (last_name == NULL || strcmp(name, last_name) != 0) {
            free(last_name);
            last_name = cr_xstrdup(name);
            char *folded = cr_text_fold(name);
            last_folded = arena_add(&l->text, folded);
            free(folded);
        }
        const char *id = (const char *)sqlite3_column_text(st, 0);
        id = id ? id : "";
        add_reach(l, sqlite3_column_int64(st, 3), id, strlen(id), last_folded, first, n);
    }
    sqlite3_finalize(st);
    free(last_name);
    return CR_OK;
}

/* ---- the saved copy --------------------------------------------------------------------- */

/* Version of the saved format (and of cr_text_fold's folding it holds): a copy saved by
 * another version is not read. */
#define SAVED_VERSION 2
enum { SAVED_PART_REACHES = 32768 };

/* What the current reaches are made of: the last batch that changed the reaches table (rows
 * change only in batches — an import adds and closes rows, an undo closes them and adds them
 * back as new rows — and never in place) and its highest row ID. */
static cr_status reaches_state(sqlite3 *db, int64_t *last_batch, int64_t *max_fid, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT coalesce(max(batch_id), 0) FROM import_batches"
                           " WHERE layer = 'reaches'), (SELECT coalesce(max(fid), 0) FROM reaches)",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "reach index: %s", sqlite3_errmsg(db));
    }
    cr_status rc = CR_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *last_batch = sqlite3_column_int64(st, 0);
        *max_fid = sqlite3_column_int64(st, 1);
    } else {
        rc = cr_error_set(err, CR_EDB, "reach index: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

typedef struct {
    int version;
    size_t reaches, coords, text;
    int64_t last_batch, max_fid; /* reaches_state when saved */
} saved_meta;

static int read_saved_meta(sqlite3 *db, saved_meta *m)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'reach_index_saved'", -1, &st,
                           NULL) != SQLITE_OK) {
        return 0;
    }
    int ok = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        ok = v && sscanf(v, "%d %zu %zu %zu %" SCNd64 " %" SCNd64, &m->version, &m->reaches,
                         &m->coords, &m->text, &m->last_batch, &m->max_fid) == 6;
    }
    sqlite3_finalize(st);
    return ok && m->version == SAVED_VERSION;
}

/* One saved reach: fid, vertex count, ID and folded-name lengths, the two texts, vertices. */
typedef struct {
    int64_t fid;
    uint32_t n;
    uint16_t id_len, folded_len;
} saved_head;

/* Parse one part of the saved copy into l; 0 when it is not what the saver wrote. */
static int parse_part(loading *l, const unsigned char *p, size_t len, const saved_meta *m,
                      size_t *last_folded)
{
    cr_reach_index *rx = l->rx;
    const unsigned char *end = p + len;
    while (p < end) {
        saved_head h;
        if ((size_t)(end - p) < sizeof h) {
            return 0;
        }
        memcpy(&h, p, sizeof h);
        p += sizeof h;
        size_t body = (size_t)h.id_len + h.folded_len + (size_t)h.n * 2 * sizeof(double);
        if ((size_t)(end - p) < body || h.n < 2 || rx->n_coords + h.n > m->coords ||
            rx->n >= m->reaches) {
            return 0;
        }
        const char *id = (const char *)p;
        p += h.id_len;
        const char *prev = rx->n ? l->text.data + *last_folded : NULL;
        if (prev == NULL || strlen(prev) != h.folded_len || memcmp(prev, p, h.folded_len) != 0) {
            *last_folded = arena_addn(&l->text, (const char *)p, h.folded_len);
        }
        p += h.folded_len;
        size_t first = rx->n_coords;
        memcpy(rx->coords + 2 * first, p, (size_t)h.n * 2 * sizeof(double));
        p += (size_t)h.n * 2 * sizeof(double);
        for (size_t i = 2 * first; i < 2 * (first + h.n); i += 2) {
            if (!(fabs(rx->coords[i]) <= 180.0 && fabs(rx->coords[i + 1]) <= 90.0)) {
                return 0; /* not a longitude and latitude (NaN fails too) */
            }
        }
        rx->n_coords += h.n;
        add_reach(l, h.fid, id, h.id_len, *last_folded, first, h.n);
        if (!l->sorted) {
            return 0;
        }
    }
    return 1;
}

/* Room for what the saved copy says it holds. */
static void loading_reserve(loading *l, const saved_meta *m)
{
    cr_reach_index *rx = l->rx;
    l->cap = m->reaches;
    rx->reaches = cr_xmalloc((m->reaches + 1) * sizeof *rx->reaches);
    rx->coords = cr_xmalloc((m->coords + 1) * 2 * sizeof *rx->coords);
    l->text.cap = m->text + 1;
    l->text.data = cr_xmalloc(l->text.cap);
}

/* Forget what was read into l (its index stays allocated, empty). */
static void loading_discard(loading *l)
{
    cr_reach_index *rx = l->rx;
    free(rx->reaches);
    free(rx->coords);
    free(l->text.data);
    memset(rx, 0, sizeof *rx);
    memset(l, 0, sizeof *l);
    l->rx = rx;
    l->sorted = 1;
}

/* The saved copy into l when it was saved from the current reaches: 1, else 0 (l untouched). */
static int load_saved(sqlite3 *db, loading *l)
{
    saved_meta m;
    int64_t last_batch, max_fid;
    if (!read_saved_meta(db, &m) || reaches_state(db, &last_batch, &max_fid, NULL) != CR_OK ||
        last_batch != m.last_batch || max_fid != m.max_fid) {
        return 0;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT data FROM reach_index_saved ORDER BY part", -1, &st, NULL) !=
        SQLITE_OK) {
        return 0;
    }
    loading_reserve(l, &m);
    cr_reach_index *rx = l->rx;
    size_t last_folded = 0;
    int ok = 1;
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        ok = parse_part(l, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &m,
                        &last_folded);
    }
    sqlite3_finalize(st);
    ok = ok && rx->n == m.reaches && rx->n_coords == m.coords;
    if (!ok) { /* not what was saved: read the table instead */
        cr_log(CR_LOG_WARN, "network",
               "the saved reach index does not read back; reading the reaches instead");
        loading_discard(l);
    }
    return ok;
}

/* The index from what l read: texts placed, reaches by ID, the segment grid built. */
static cr_reach_index *finish(loading *l)
{
    cr_reach_index *rx = l->rx;
    rx->text = l->text.data;
    for (size_t k = 0; k < rx->n; k++) {
        rx->reaches[k].id = rx->text + ptr_offset(rx->reaches[k].id);
        rx->reaches[k].folded = rx->text + ptr_offset(rx->reaches[k].folded);
    }
    /* by reach ID, so ties and every result are independent of the table's row order */
    if (rx->n > 1 && !l->sorted) {
        qsort(rx->reaches, rx->n, sizeof *rx->reaches, compare_reach_ids);
    }
    /* reaches in the order of their vertices (the saved copy's, a table in ID order): the grid
     * reads the vertices where they are */
    size_t next = 0;
    int in_order = 1;
    for (size_t i = 0; in_order && i < rx->n; i++) {
        in_order = rx->reaches[i].first == next && rx->reaches[i].n >= 2;
        next += rx->reaches[i].n;
    }
    rx->ix = cr_segindex_new();
    cr_segindex_reserve(rx->ix, rx->n, in_order ? 0 : rx->n_coords);
    for (size_t i = 0; i < rx->n; i++) {
        const cr_indexed_reach *r = &rx->reaches[i];
        if (in_order) {
            cr_segindex_add_borrowed(rx->ix, (int32_t)i, rx->coords + 2 * r->first, r->n);
        } else {
            cr_segindex_add_line(rx->ix, (int32_t)i, rx->coords + 2 * r->first, r->n);
        }
    }
    cr_segindex_build(rx->ix);
    return rx;
}

cr_status cr_reach_index_load(cr_store *store, cr_reach_index **out, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    cr_reach_index *rx = cr_xcalloc(1, sizeof *rx);
    loading l = {.rx = rx, .sorted = 1};
    rx->from_saved = load_saved(db, &l);
    cr_status rc = rx->from_saved ? CR_OK : load_table(db, &l, err);
    if (rc != CR_OK) {
        free(l.text.data);
        cr_reach_index_free(rx);
        return rc;
    }
    *out = finish(&l);
    return CR_OK;
}

cr_reach_index *cr_reach_index_from_part(const unsigned char *data, size_t len, size_t reaches,
                                         size_t coords, size_t text)
{
    cr_reach_index *rx = cr_xcalloc(1, sizeof *rx);
    loading l = {.rx = rx, .sorted = 1};
    saved_meta m = {SAVED_VERSION, reaches, coords, text, 0, 0};
    loading_reserve(&l, &m);
    size_t last_folded = 0;
    if (!parse_part(&l, data, len, &m, &last_folded) || rx->n != reaches ||
        rx->n_coords != coords) {
        loading_discard(&l);
        free(rx);
        return NULL;
    }
    rx->from_saved = 1;
    return finish(&l);
}

int cr_reach_index_from_saved(const cr_reach_index *rx)
{
    return rx->from_saved;
}

static cr_status save_part(sqlite3_stmt *ins, int64_t part, cr_strbuf *buf, sqlite3 *db,
                           cr_error *err)
{
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, part);
    sqlite3_bind_blob64(ins, 2, buf->data, buf->len, SQLITE_STATIC);
    cr_status rc = sqlite3_step(ins) == SQLITE_DONE
                       ? CR_OK
                       : cr_error_set(err, CR_EDB, "reach index: %s", sqlite3_errmsg(db));
    cr_strbuf_clear(buf);
    return rc;
}

cr_status cr_reach_index_save(cr_store *store, size_t n,
                              void (*line)(void *user, size_t i, cr_reach_line *out), void *user,
                              cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    int64_t last_batch, max_fid;
    cr_status rc = reaches_state(db, &last_batch, &max_fid, err);
    if (rc == CR_OK) {
        rc = cr_store_exec(store,
                           "CREATE TABLE IF NOT EXISTS reach_index_saved (part INTEGER PRIMARY KEY,"
                           " data BLOB NOT NULL); DELETE FROM reach_index_saved;"
                           " DELETE FROM meta WHERE key = 'reach_index_saved'",
                           err);
    }
    sqlite3_stmt *ins = NULL;
    if (rc == CR_OK && sqlite3_prepare_v2(db, "INSERT INTO reach_index_saved VALUES (?1, ?2)", -1,
                                          &ins, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "reach index: %s", sqlite3_errmsg(db));
    }
    cr_strbuf buf = {0};
    size_t coords = 0, text = 0;
    int64_t part = 0;
    char *last_name = NULL;
    char *folded = NULL;
    const char *prev_id = NULL;
    for (size_t i = 0; rc == CR_OK && i < n; i++) {
        cr_reach_line r;
        line(user, i, &r);
        const char *name = r.name ? r.name : "";
        if (last_name == NULL || strcmp(name, last_name) != 0) {
            free(last_name);
            free(folded);
            last_name = cr_xstrdup(name);
            folded = cr_text_fold(name);
            text += strlen(folded) + 1;
        }
        size_t id_len = strlen(r.id), folded_len = strlen(folded);
        if (r.n < 2 || r.n > UINT32_MAX || id_len > UINT16_MAX || folded_len > UINT16_MAX ||
            (prev_id != NULL && strcmp(prev_id, r.id) >= 0)) {
            rc = cr_error_set(err, CR_EINVAL, "reach index: reach %s cannot be saved", r.id);
            break;
        }
        prev_id = r.id;
        saved_head h = {r.fid, (uint32_t)r.n, (uint16_t)id_len, (uint16_t)folded_len};
        cr_strbuf_append(&buf, (const char *)&h, sizeof h);
        cr_strbuf_append(&buf, r.id, id_len);
        cr_strbuf_append(&buf, folded, folded_len);
        cr_strbuf_append(&buf, (const char *)r.coords, r.n * 2 * sizeof(double));
        coords += r.n;
        text += id_len + 1;
        if ((i + 1) % SAVED_PART_REACHES == 0) {
            rc = save_part(ins, part++, &buf, db, err);
        }
    }
    if (rc == CR_OK && buf.len > 0) {
        rc = save_part(ins, part++, &buf, db, err);
    }
    free(last_name);
    free(folded);
    cr_strbuf_cleanup(&buf);
    sqlite3_finalize(ins);
    if (rc == CR_OK) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta VALUES ('reach_index_saved', '%d %zu %zu %zu %lld %lld')",
                 SAVED_VERSION, n, coords, text, (long long)last_batch, (long long)max_fid);
        rc = cr_store_exec(store, sql, err);
    }
    return rc;
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
