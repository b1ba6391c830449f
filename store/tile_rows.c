/* SPDX-License-Identifier: MIT */
/* A layer's current rows as its tiles read them (tile_rows.h). A tile of a layer imported in no
 * order of place (outfalls from many inventories) otherwise seeks each row in the layer's
 * table, and every row there carries its history and provenance (330 bytes a reach) where a
 * tile needs a third of that. */
#include "tile_rows.h"

#include "store_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cr_tile_rows_wanted(const cr_layer_def *d)
{
    return (d->geom == CR_GEOM_POINT || d->geom == CR_GEOM_LINESTRING) &&
           json_is_object(json_object_get(d->json, "tile"));
}

size_t cr_tile_rows_fields(const cr_layer_def *d, int *fields, size_t max)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(json_object_get(json_object_get(d->json, "tile"), "attributes"), i, a)
    {
        int fi = cr_layer_def_field_index(d, json_string_value(a));
        if (fi >= 0 && n < max) {
            fields[n++] = fi;
        }
    }
    return n;
}

enum { V_NULL, V_INT, V_REAL, V_TEXT, V_BLOB };

void cr_tile_value_put(cr_strbuf *b, sqlite3_stmt *st, int col)
{
    cr_tile_value_put_as(b, st, col, 0);
}

void cr_tile_value_put_as(cr_strbuf *b, sqlite3_stmt *st, int col, int as)
{
    int type = sqlite3_column_type(st, col);
    type = type == SQLITE_NULL || as == 0 ? type : as;
    unsigned char tag = type == SQLITE_INTEGER ? V_INT
                        : type == SQLITE_FLOAT ? V_REAL
                        : type == SQLITE_TEXT  ? V_TEXT
                        : type == SQLITE_BLOB  ? V_BLOB
                                               : V_NULL;
    cr_strbuf_append(b, (const char *)&tag, 1);
    if (tag == V_INT) {
        int64_t v = sqlite3_column_int64(st, col);
        cr_strbuf_append(b, (const char *)&v, 8);
    } else if (tag == V_REAL) {
        double v = sqlite3_column_double(st, col);
        cr_strbuf_append(b, (const char *)&v, 8);
    } else if (tag == V_TEXT) {
        const char *s = (const char *)sqlite3_column_text(st, col);
        uint32_t len = (uint32_t)sqlite3_column_bytes(st, col);
        cr_strbuf_append(b, (const char *)&len, 4);
        cr_strbuf_append(b, s, len);
        cr_strbuf_append(b, "", 1); /* the NUL the tiler's strings end with */
    }
}

const unsigned char *cr_tile_value_get(const unsigned char *p, const unsigned char *end,
                                       cr_tile_value *v)
{
    if (p >= end) {
        return NULL;
    }
    unsigned char tag = *p++;
    *v = (cr_tile_value){.type = SQLITE_NULL};
    switch (tag) {
    case V_NULL:
        return p;
    case V_BLOB:
        v->type = SQLITE_BLOB;
        return p;
    case V_INT:
    case V_REAL:
        if (end - p < 8) {
            return NULL;
        }
        v->type = tag == V_INT ? SQLITE_INTEGER : SQLITE_FLOAT;
        memcpy(tag == V_INT ? (void *)&v->i : (void *)&v->d, p, 8);
        return p + 8;
    case V_TEXT: {
        uint32_t len;
        if (end - p < 4) {
            return NULL;
        }
        memcpy(&len, p, 4);
        if ((size_t)(end - p - 4) < (size_t)len + 1 || p[4 + len] != '\0') {
            return NULL;
        }
        v->type = SQLITE_TEXT;
        v->s = (const char *)p + 4;
        return p + 4 + len + 1;
    }
    default:
        return NULL;
    }
}

/* The layer's fields as tile_rows_state records them: their names, comma-separated. */
static void fields_text(const cr_layer_def *d, cr_strbuf *out)
{
    int fields[CR_TILE_ROWS_MAX_FIELDS];
    size_t n = cr_tile_rows_fields(d, fields, CR_TILE_ROWS_MAX_FIELDS);
    cr_strbuf_clear(out);
    for (size_t k = 0; k < n; k++) {
        cr_strbuf_printf(out, "%s%s", k ? "," : "", d->fields[fields[k]].name);
    }
}

int cr_store_tile_rows_state_matches(cr_store *s, const cr_layer_def *d)
{
    cr_strbuf names = {0};
    fields_text(d, &names);
    /* no batch of the layer since the rows were made, and the same fields in rec */
    sqlite3_stmt *st = cr_store_cached(
        s, "SELECT s.batch_id IS (SELECT max(batch_id) FROM import_batches WHERE layer = ?1)"
           " AND s.fields = ?2 FROM tile_rows_state s WHERE s.layer = ?1");
    int fresh = 0;
    if (st) {
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, names.data ? names.data : "", (int)names.len, SQLITE_TRANSIENT);
        fresh = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
        sqlite3_reset(st);
    }
    cr_strbuf_cleanup(&names);
    return fresh;
}

/* The current rows read for the build: where each one's rec and source_id lie in the arena. */
typedef struct {
    int64_t fid;
    size_t rec, rec_len, source_id;
} built_row;

static cr_status read_rows(cr_store *s, const cr_layer_def *d, built_row **rows_out,
                           double **boxes_out, size_t *n_out, cr_strbuf *arena, cr_error *err)
{
    int fields[CR_TILE_ROWS_MAX_FIELDS];
    size_t nf = cr_tile_rows_fields(d, fields, CR_TILE_ROWS_MAX_FIELDS);
    cr_strbuf sql = {0};
    cr_strbuf_printf(&sql, "SELECT fid, source_id, geom");
    for (size_t k = 0; k < nf; k++) {
        cr_strbuf_printf(&sql, ", \"%s\"", d->fields[fields[k]].name);
    }
    cr_strbuf_printf(&sql, " FROM \"%s\" WHERE valid_to IS NULL AND geom IS NOT NULL ORDER BY fid",
                     d->name);
    sqlite3_stmt *st = NULL;
    cr_status rc = CR_OK;
    if (sqlite3_prepare_v2(cr_store_db(s), sql.data, -1, &st, NULL) != SQLITE_OK) {
        rc = cr_store_db_error(s, err, d->name);
    }
    cr_strbuf_cleanup(&sql);
    built_row *rows = NULL;
    double *boxes = NULL;
    size_t n = 0, cap = 0;
    int step = SQLITE_DONE;
    while (rc == CR_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            rows = cr_xrealloc(rows, cap * sizeof *rows);
            boxes = cr_xrealloc(boxes, 4 * cap * sizeof *boxes);
        }
        const unsigned char *g = sqlite3_column_blob(st, 2);
        int glen = sqlite3_column_bytes(st, 2);
        if (!cr_store_blob_box(g, glen, boxes + 4 * n)) {
            rc = cr_error_set(err, CR_EINVAL, "tile rows of %s: row %lld has no readable box",
                              d->name, (long long)sqlite3_column_int64(st, 0));
            break;
        }
        built_row *r = &rows[n++];
        r->fid = sqlite3_column_int64(st, 0);
        r->source_id = arena->len;
        const char *sid = (const char *)sqlite3_column_text(st, 1);
        cr_strbuf_append(arena, sid ? sid : "", sid ? strlen(sid) + 1 : 1);
        r->rec = arena->len;
        uint32_t len = (uint32_t)glen;
        cr_strbuf_append(arena, (const char *)&len, 4);
        cr_strbuf_append(arena, (const char *)g, (size_t)glen);
        for (size_t k = 0; k < nf; k++) {
            cr_tile_value_put(arena, st, 3 + (int)k);
        }
        r->rec_len = arena->len - r->rec;
    }
    if (rc == CR_OK && step != SQLITE_DONE) {
        rc = cr_store_db_error(s, err, d->name);
    }
    sqlite3_finalize(st);
    *rows_out = rows;
    *boxes_out = boxes;
    *n_out = n;
    return rc;
}

static cr_status write_rows(cr_store *s, const cr_layer_def *d, const built_row *rows,
                            const size_t *order, size_t n, const cr_strbuf *arena, cr_error *err)
{
    sqlite3 *db = cr_store_db(s);
    char *sql = sqlite3_mprintf("INSERT INTO \"%w_tile_rows\" (tid, fid, source_id, rec)"
                                " VALUES (?1, ?2, ?3, ?4)",
                                d->name);
    sqlite3_stmt *ins = NULL;
    cr_status rc = sqlite3_prepare_v2(db, sql, -1, &ins, NULL) == SQLITE_OK
                       ? CR_OK
                       : cr_store_db_error(s, err, d->name);
    sqlite3_free(sql);
    for (size_t k = 0; rc == CR_OK && k < n; k++) {
        const built_row *r = &rows[order[k]];
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, (int64_t)k + 1);
        sqlite3_bind_int64(ins, 2, r->fid);
        sqlite3_bind_text(ins, 3, arena->data + r->source_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 4, arena->data + r->rec, (int)r->rec_len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = cr_store_db_error(s, err, d->name);
        }
    }
    sqlite3_finalize(ins);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Whether the layer's rows already lie in runs of consecutive fids where tiles read them (a
 * file written in an order of place, as a river network usually is): the boxes of z12 tiles
 * around 64 rows spread over the fids, asked of the layer's R*Tree; in runs when there are
 * fewer than one run in two rows, the tiler's own rule (tiler/tile.c, runs_rows). 1 in runs,
 * 0 not, -1 when the layer has no rows. */
static int rows_in_runs(cr_store *s, const cr_layer_def *d)
{
    sqlite3 *db = cr_store_db(s);
    char *q_at = sqlite3_mprintf("SELECT (xmin + xmax) / 2, (ymin + ymax) / 2 FROM"
                                 " \"idx_%w_geom\" WHERE pkid = ?1",
                                 d->name);
    char *q_box = sqlite3_mprintf("SELECT pkid FROM \"idx_%w_geom\" WHERE xmin <= ?2 AND"
                                  " xmax >= ?1 AND ymin <= ?4 AND ymax >= ?3",
                                  d->name);
    char *q_max = sqlite3_mprintf("SELECT max(fid) FROM \"%w\"", d->name);
    sqlite3_stmt *at = NULL, *box = NULL, *top = NULL;
    int64_t rows = 0, runs = 0, max_fid = 0;
    if (sqlite3_prepare_v2(db, q_at, -1, &at, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, q_box, -1, &box, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, q_max, -1, &top, NULL) == SQLITE_OK &&
        sqlite3_step(top) == SQLITE_ROW) {
        max_fid = sqlite3_column_int64(top, 0);
    }
    int64_t *ids = NULL;
    size_t cap = 0;
    for (int k = 0; k < 64 && max_fid > 0; k++) {
        sqlite3_reset(at);
        sqlite3_bind_int64(at, 1, 1 + (max_fid - 1) * k / 63);
        if (sqlite3_step(at) != SQLITE_ROW) {
            continue;
        }
        double x = sqlite3_column_double(at, 0), y = sqlite3_column_double(at, 1);
        double half = 180.0 / 4096, b[4] = {x - half, x + half, y - half * cos(y * M_PI / 180),
                                            y + half * cos(y * M_PI / 180)};
        sqlite3_reset(box);
        for (int i = 0; i < 4; i++) {
            sqlite3_bind_double(box, i + 1, b[i]);
        }
        size_t n = 0;
        while (sqlite3_step(box) == SQLITE_ROW) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                ids = cr_xrealloc(ids, cap * sizeof *ids);
            }
            ids[n++] = sqlite3_column_int64(box, 0);
        }
        qsort(ids, n, sizeof *ids, cmp_i64);
        for (size_t i = 0; i < n; i++) {
            runs += i == 0 || ids[i] != ids[i - 1] + 1;
        }
        rows += (int64_t)n;
    }
    free(ids);
    sqlite3_finalize(at);
    sqlite3_finalize(box);
    sqlite3_finalize(top);
    sqlite3_free(q_at);
    sqlite3_free(q_box);
    sqlite3_free(q_max);
    return max_fid == 0 ? -1 : rows > 0 && runs * 2 <= rows;
}

/* The layer's row of tile_rows_state: made after its last batch, with these fields and
 * rows; or, rows < 0, none. */
static cr_status write_state(cr_store *s, const cr_layer_def *d, const char *fields, int64_t rows,
                             cr_error *err)
{
    sqlite3_stmt *st = cr_store_cached(
        s, rows < 0 ? "DELETE FROM tile_rows_state WHERE layer = ?1"
                    : "INSERT OR REPLACE INTO tile_rows_state (layer, batch_id, fields, rows,"
                      " built_at) VALUES (?1, (SELECT max(batch_id) FROM import_batches WHERE"
                      " layer = ?1), ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))");
    if (st == NULL) {
        return cr_store_db_error(s, err, "tile_rows_state");
    }
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    if (rows >= 0) {
        sqlite3_bind_text(st, 2, fields, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, rows);
    }
    cr_status rc =
        sqlite3_step(st) == SQLITE_DONE ? CR_OK : cr_store_db_error(s, err, "tile_rows_state");
    sqlite3_reset(st);
    return rc;
}

/* The rows read, packed into an R*Tree whose leaves' order numbers them, written. */
static cr_status make_rows(cr_store *s, const cr_layer_def *d, int64_t *rows_out, cr_error *err)
{
    char *create = sqlite3_mprintf("CREATE TABLE \"%w_tile_rows\" (tid INTEGER PRIMARY KEY,"
                                   " fid INTEGER NOT NULL, source_id TEXT NOT NULL, rec BLOB NOT"
                                   " NULL)",
                                   d->name);
    cr_status rc = cr_store_exec(s, create, err);
    sqlite3_free(create);
    built_row *rows = NULL;
    double *boxes = NULL;
    size_t n = 0;
    cr_strbuf arena = {0};
    if (rc == CR_OK) {
        rc = read_rows(s, d, &rows, &boxes, &n, &arena, err);
    }
    size_t *order = cr_xmalloc((n + 1) * sizeof *order);
    char rtree[200];
    snprintf(rtree, sizeof rtree, "idx_%s_tile_rows", d->name);
    if (rc == CR_OK) {
        rc = cr_store_rtree_write_packed(s, rtree, boxes, n, order, err);
    }
    if (rc == CR_OK) {
        rc = write_rows(s, d, rows, order, n, &arena, err);
    }
    free(rows);
    free(boxes);
    free(order);
    cr_strbuf_cleanup(&arena);
    *rows_out = (int64_t)n;
    return rc;
}

cr_status cr_tile_rows_build(cr_store *s, const cr_layer_def *d, int always, cr_tile_rows_stats *st,
                             cr_error *err)
{
    memset(st, 0, sizeof *st);
    double t0 = cr_monotonic_s();
    /* none when the layer has no rows or its own lie in runs (tiles read those as well) */
    int in_runs = always ? 0 : rows_in_runs(s, d);
    st->in_runs = in_runs > 0;
    char *ddl = sqlite3_mprintf(
        "BEGIN IMMEDIATE;"
        "CREATE TABLE IF NOT EXISTS tile_rows_state (layer TEXT PRIMARY KEY, batch_id INTEGER,"
        " fields TEXT NOT NULL, rows INTEGER NOT NULL, built_at TEXT NOT NULL);"
        "DROP TABLE IF EXISTS \"%w_tile_rows\"; DROP TABLE IF EXISTS \"idx_%w_tile_rows\";",
        d->name, d->name);
    cr_status rc = cr_store_exec(s, ddl, err);
    sqlite3_free(ddl);
    cr_strbuf names = {0};
    fields_text(d, &names);
    if (rc == CR_OK && in_runs == 0) {
        rc = make_rows(s, d, &st->rows, err);
    }
    if (rc == CR_OK) {
        rc = write_state(s, d, names.data ? names.data : "", in_runs == 0 ? st->rows : -1, err);
    }
    rc = rc == CR_OK ? cr_store_exec(s, "COMMIT", err) : rc;
    if (rc != CR_OK) {
        sqlite3_exec(cr_store_db(s), "ROLLBACK", NULL, NULL, NULL);
    }
    cr_strbuf_cleanup(&names);
    st->seconds = cr_monotonic_s() - t0;
    return rc;
}
