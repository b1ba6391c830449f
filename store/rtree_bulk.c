/* SPDX-License-Identifier: MIT */
/* A layer's spatial index (SpatiaLite's idx_<layer>_geom, an SQLite R*Tree) built in one pass
 * instead of one insertion per row: the boxes are packed into full nodes by Sort-Tile-
 * Recursive (Leutenegger et al. 1997) and the R*Tree's three shadow tables are written
 * directly, in the format SQLite's rtree.c documents (node 1 the root with the depth in its
 * first two bytes, then the cell count, then cells of an 8-byte id and four 4-byte floats, all
 * big-endian; %_rowid maps entries to leaves, %_parent nodes to parents). Coordinates are
 * rounded outwards to floats exactly as rtree.c rounds them, so the tree holds the same boxes
 * an insertion would have stored. Used when a batch brings most of a layer's rows (a first
 * import of a large layer): at a million reaches it takes about a second where insertion took
 * twelve. The R*Tree's own insertion keeps working on the packed tree afterwards. */
#include "store_internal.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum {
    CELL_BYTES = 8 + 4 * 4, /* id and xmin, xmax, ymin, ymax */
    MAX_CELLS = 51,         /* rtree.c's RTREE_MAXCELLS */
};

typedef struct {
    int64_t id;  /* the row's fid (leaves) or a node number */
    float b[4];  /* xmin, xmax, ymin, ymax */
    double c[2]; /* the box's centre, for sorting */
} entry;

/* rtree.c's rounding of a double to a float bound: down for a minimum, up for a maximum. */
static float round_down(double d)
{
    float f = (float)d;
    if (f > d) {
        f = (float)(d * (d < 0 ? 1.0 + 1.0 / 8388608.0 : 1.0 - 1.0 / 8388608.0));
    }
    return f;
}

static float round_up(double d)
{
    float f = (float)d;
    if (f < d) {
        f = (float)(d * (d < 0 ? 1.0 - 1.0 / 8388608.0 : 1.0 + 1.0 / 8388608.0));
    }
    return f;
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static int by_x(const void *a, const void *b)
{
    const entry *p = a;
    const entry *q = b;
    return p->c[0] < q->c[0] ? -1 : p->c[0] > q->c[0] ? 1 : (p->id > q->id) - (p->id < q->id);
}

static int by_y(const void *a, const void *b)
{
    const entry *p = a;
    const entry *q = b;
    return p->c[1] < q->c[1] ? -1 : p->c[1] > q->c[1] ? 1 : (p->id > q->id) - (p->id < q->id);
}

/* The box of a SpatiaLite geometry BLOB from its header (0x00, endian, srid, minx, miny, maxx,
 * maxy), as MbrMinX() and the others read it. 0 when the BLOB is not one. */
static int blob_box(const unsigned char *g, int len, double box[4])
{
    if (g == NULL || len < 45 || g[0] != 0x00 || (g[1] != 0x00 && g[1] != 0x01) ||
        g[len - 1] != 0xFE) {
        return 0;
    }
    int le = g[1] == 0x01;
    double v[4];
    for (int k = 0; k < 4; k++) {
        unsigned char raw[8];
        for (int i = 0; i < 8; i++) {
            raw[i] = g[6 + 8 * k + (le ? i : 7 - i)];
        }
        memcpy(&v[k], raw, 8); /* this machine is little-endian (checked in the caller) */
    }
    box[0] = v[0], box[1] = v[2], box[2] = v[1], box[3] = v[3]; /* xmin xmax ymin ymax */
    return isfinite(box[0]) && isfinite(box[1]) && isfinite(box[2]) && isfinite(box[3]) &&
           box[0] <= box[1] && box[2] <= box[3];
}

/* es[0..n) sorted by their centres' coordinate axis, stably (entries come in id order, so
 * equal centres keep it, as by_x and by_y order them): an LSD radix sort of the coordinates as
 * ordered integers, 16 bits a pass, passes whose digit is the same everywhere skipped; small
 * runs (a slice's few thousand) by qsort. */
static uint64_t ordered_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u >> 63 ? ~u : u | (1ULL << 63);
}

static void sort_axis(entry *es, size_t n, int axis)
{
    if (n < 65536) {
        qsort(es, n, sizeof *es, axis ? by_y : by_x);
        return;
    }
    uint64_t *key = cr_xmalloc(n * sizeof *key);
    for (size_t i = 0; i < n; i++) {
        key[i] = ordered_bits(es[i].c[axis]);
    }
    uint32_t *at = cr_radix_order(key, n, 64);
    entry *sorted = cr_xmalloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++) {
        sorted[i] = es[at[i]];
    }
    memcpy(es, sorted, n * sizeof *es);
    free(sorted);
    free(at);
    free(key);
}

/* Group es[0..n) into nodes of at most MAX_CELLS by STR; each group's entries are made
 * contiguous (sorted: 0 when es already are, by an earlier str_pack); starts[g]..starts[g+1]
 * is group g. Returns the number of groups. */
static size_t str_pack(entry *es, size_t n, int sorted, size_t **starts_out)
{
    size_t nodes = (n + MAX_CELLS - 1) / MAX_CELLS;
    size_t slices = (size_t)ceil(sqrt((double)nodes));
    size_t per_slice = slices > 0 ? (n + slices - 1) / slices : n;
    size_t *starts = cr_xmalloc((nodes + slices + 2) * sizeof *starts);
    size_t g = 0;
    if (!sorted) {
        sort_axis(es, n, 0);
    }
    for (size_t s0 = 0; s0 < n; s0 += per_slice) {
        size_t m = n - s0 < per_slice ? n - s0 : per_slice;
        if (!sorted) {
            sort_axis(es + s0, m, 1);
        }
        /* the slice's nodes evenly filled (no near-empty last node) */
        size_t k = (m + MAX_CELLS - 1) / MAX_CELLS;
        for (size_t j = 0; j < k; j++) {
            starts[g++] = s0 + m * j / k;
        }
    }
    starts[g] = n;
    *starts_out = starts;
    return g;
}

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *node, *parent, *rowid;
} writer;

static int write_node(writer *w, int64_t nodeno, int depth, const entry *cells, size_t n)
{
    unsigned char data[4 + MAX_CELLS * CELL_BYTES];
    memset(data, 0, sizeof data);
    put_be(data, (uint64_t)(nodeno == 1 ? depth : 0), 2);
    put_be(data + 2, n, 2);
    for (size_t i = 0; i < n; i++) {
        unsigned char *c = data + 4 + i * CELL_BYTES;
        put_be(c, (uint64_t)cells[i].id, 8);
        for (int k = 0; k < 4; k++) {
            uint32_t bits;
            memcpy(&bits, &cells[i].b[k], 4);
            put_be(c + 8 + 4 * k, bits, 4);
        }
    }
    sqlite3_reset(w->node);
    sqlite3_bind_int64(w->node, 1, nodeno);
    sqlite3_bind_blob(w->node, 2, data, (int)sizeof data, SQLITE_TRANSIENT);
    return sqlite3_step(w->node) == SQLITE_DONE;
}

static int write_map(sqlite3_stmt *st, int64_t key, int64_t value)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, key);
    sqlite3_bind_int64(st, 2, value);
    return sqlite3_step(st) == SQLITE_DONE;
}

static int compare_fid_leaf(const void *a, const void *b)
{
    const int64_t *p = a;
    const int64_t *q = b;
    return (p[0] > q[0]) - (p[0] < q[0]);
}

/* Pack and write: es are the leaf entries (ids = fids), in leaf order already when
 * leaves_packed. */
static int write_tree(writer *w, entry *es, size_t n, int leaves_packed)
{
    int64_t next_node = 2;
    int depth = 0;
    int ok = 1;
    /* (fid, leaf) pairs, written to %_rowid in fid order at the end */
    int64_t *leaf_of = cr_xmalloc((n + 1) * 2 * sizeof *leaf_of);
    size_t n_leaf_of = 0;
    while (ok && n > MAX_CELLS) {
        size_t *starts = NULL;
        size_t groups = str_pack(es, n, depth == 0 && leaves_packed, &starts);
        entry *up = cr_xmalloc(groups * sizeof *up);
        for (size_t g = 0; ok && g < groups; g++) {
            int64_t nodeno = next_node++;
            const entry *cells = es + starts[g];
            size_t m = starts[g + 1] - starts[g];
            entry *u = &up[g];
            u->id = nodeno;
            u->b[0] = u->b[2] = INFINITY;
            u->b[1] = u->b[3] = -INFINITY;
            for (size_t i = 0; i < m; i++) {
                u->b[0] = fminf(u->b[0], cells[i].b[0]);
                u->b[1] = fmaxf(u->b[1], cells[i].b[1]);
                u->b[2] = fminf(u->b[2], cells[i].b[2]);
                u->b[3] = fmaxf(u->b[3], cells[i].b[3]);
                if (depth == 0) {
                    leaf_of[2 * n_leaf_of] = cells[i].id;
                    leaf_of[2 * n_leaf_of++ + 1] = nodeno;
                } else {
                    ok = ok && write_map(w->parent, cells[i].id, nodeno);
                }
            }
            u->c[0] = ((double)u->b[0] + u->b[1]) / 2;
            u->c[1] = ((double)u->b[2] + u->b[3]) / 2;
            ok = ok && write_node(w, nodeno, 0, cells, m);
        }
        free(starts);
        if (es != up) {
            free(depth == 0 ? NULL : es); /* the caller's leaves stay the caller's */
        }
        es = up;
        n = groups;
        depth++;
    }
    /* the root: node 1 holds what is left (entries when the tree is one leaf) */
    for (size_t i = 0; ok && i < n; i++) {
        if (depth == 0) {
            leaf_of[2 * n_leaf_of] = es[i].id;
            leaf_of[2 * n_leaf_of++ + 1] = 1;
        } else {
            ok = write_map(w->parent, es[i].id, 1);
        }
    }
    ok = ok && write_node(w, 1, depth, es, n);
    if (depth > 0) {
        free(es);
    }
    qsort(leaf_of, n_leaf_of, 2 * sizeof *leaf_of, compare_fid_leaf);
    for (size_t i = 0; ok && i < n_leaf_of; i++) {
        ok = write_map(w->rowid, leaf_of[2 * i], leaf_of[2 * i + 1]);
    }
    free(leaf_of);
    return ok;
}

static int little_endian(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

/* Fill index (an R*Tree virtual table: its %_node, %_parent, %_rowid) with es, packed; the
 * shadow tables are emptied first. */
static cr_status write_index(cr_store *s, const char *index, entry *es, size_t n, int leaves_packed,
                             cr_error *err)
{
    sqlite3 *db = cr_store_db(s);
    writer w = {db, NULL, NULL, NULL};
    char *clear = sqlite3_mprintf("DELETE FROM \"%w_node\"; DELETE FROM \"%w_parent\";"
                                  " DELETE FROM \"%w_rowid\";",
                                  index, index, index);
    cr_status rc = cr_store_exec(s, clear, err);
    sqlite3_free(clear);
    static const char *const forms[3] = {
        "INSERT INTO \"%w_node\" (nodeno, data) VALUES (?1, ?2)",
        "INSERT INTO \"%w_parent\" (nodeno, parentnode) VALUES (?1, ?2)",
        "INSERT INTO \"%w_rowid\" (rowid, nodeno) VALUES (?1, ?2)",
    };
    sqlite3_stmt **stmts[3] = {&w.node, &w.parent, &w.rowid};
    for (int i = 0; rc == CR_OK && i < 3; i++) {
        char *q = sqlite3_mprintf(forms[i], index);
        if (sqlite3_prepare_v2(db, q, -1, stmts[i], NULL) != SQLITE_OK) {
            rc = cr_store_db_error(s, err, index);
        }
        sqlite3_free(q);
    }
    if (rc == CR_OK && !write_tree(&w, es, n, leaves_packed)) {
        rc = cr_store_db_error(s, err, index);
    }
    sqlite3_finalize(w.node);
    sqlite3_finalize(w.parent);
    sqlite3_finalize(w.rowid);
    return rc;
}

static void set_entry(entry *e, int64_t id, const double box[4])
{
    e->id = id;
    e->b[0] = round_down(box[0]);
    e->b[1] = round_up(box[1]);
    e->b[2] = round_down(box[2]);
    e->b[3] = round_up(box[3]);
    e->c[0] = (box[0] + box[1]) / 2;
    e->c[1] = (box[2] + box[3]) / 2;
}

cr_status cr_store_rtree_rebuild(cr_store *s, const char *layer, cr_error *err)
{
    if (!little_endian()) {
        return cr_error_set(err, CR_EINVAL,
                            "spatial index of %s: bulk build needs a "
                            "little-endian machine",
                            layer);
    }
    sqlite3 *db = cr_store_db(s);
    char *sql = sqlite3_mprintf("SELECT fid, geom FROM \"%w\" WHERE geom IS NOT NULL", layer);
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (prc != SQLITE_OK) {
        return cr_store_db_error(s, err, layer);
    }
    entry *es = NULL;
    size_t n = 0;
    size_t cap = 0;
    cr_status rc = CR_OK;
    while (rc == CR_OK && sqlite3_step(st) == SQLITE_ROW) {
        double box[4];
        if (!blob_box(sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), box)) {
            rc = cr_error_set(err, CR_EINVAL,
                              "spatial index of %s: row %lld has no readable bounding box", layer,
                              (long long)sqlite3_column_int64(st, 0));
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            es = cr_xrealloc(es, cap * sizeof *es);
        }
        set_entry(&es[n++], sqlite3_column_int64(st, 0), box);
    }
    sqlite3_finalize(st);
    if (rc == CR_OK) {
        char index[200];
        snprintf(index, sizeof index, "idx_%s_geom", layer);
        rc = write_index(s, index, es, n, 0, err);
    }
    free(es);
    return rc;
}

/* The R*Tree rtree made anew (dropped first) and the entries of the boxes (ids[i], or i when
 * ids is NULL) into *out (freed by the caller either way). */
static cr_status new_rtree(cr_store *s, const char *rtree, const int64_t *ids, const double *boxes,
                           size_t n, entry **out, cr_error *err)
{
    *out = NULL;
    if (!little_endian()) {
        return cr_error_set(err, CR_EINVAL, "%s: bulk build needs a little-endian machine", rtree);
    }
    char *create = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\"; CREATE VIRTUAL TABLE \"%w\""
                                   " USING rtree(pkid, xmin, xmax, ymin, ymax);",
                                   rtree, rtree);
    cr_status rc = cr_store_exec(s, create, err);
    sqlite3_free(create);
    entry *es = cr_xmalloc((n + 1) * sizeof *es);
    for (size_t i = 0; i < n; i++) {
        set_entry(&es[i], ids ? ids[i] : (int64_t)i, boxes + 4 * i);
    }
    *out = es;
    return rc;
}

cr_status cr_store_rtree_write(cr_store *s, const char *rtree, const int64_t *ids,
                               const double *boxes, size_t n, cr_error *err)
{
    entry *es;
    cr_status rc = new_rtree(s, rtree, ids, boxes, n, &es, err);
    if (rc == CR_OK) {
        rc = write_index(s, rtree, es, n, 0, err);
    }
    free(es);
    return rc;
}

cr_status cr_store_rtree_write_packed(cr_store *s, const char *rtree, const double *boxes, size_t n,
                                      size_t *order, cr_error *err)
{
    entry *es;
    cr_status rc = new_rtree(s, rtree, NULL, boxes, n, &es, err);
    if (rc != CR_OK) {
        free(es);
        return rc;
    }
    /* the leaves' order, numbered from 1 in it (write_tree takes the leaves as they are) */
    if (n > MAX_CELLS) {
        size_t *starts = NULL;
        str_pack(es, n, 0, &starts);
        free(starts);
    }
    for (size_t k = 0; k < n; k++) {
        order[k] = (size_t)es[k].id;
        es[k].id = (int64_t)k + 1;
    }
    rc = write_index(s, rtree, es, n, 1, err);
    free(es);
    return rc;
}

int cr_store_blob_box(const unsigned char *blob, int len, double box[4])
{
    return blob_box(blob, len, box);
}
