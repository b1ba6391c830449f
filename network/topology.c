/* SPDX-License-Identifier: MIT */
/* Building the river network: snap reach endpoints into nodes (lakes gather the ends that
 * stop inside them), validate, derive Strahler order, upstream length and mainstem, and store
 * it all. Rule: every step is deterministic (reaches are processed in reach_id order). */
#include "geo/geo.h"
#include "geo/handlers.h"
#include "network.h"

#include <geos_c.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t fid;
    char *id;
    char *name;
    char *lake_id;
    uint8_t flow;
    size_t first, n; /* vertices in coords */
    double length_m;
    int32_t from, to; /* nodes */
    int32_t strahler;
    double up_m; /* longest upstream path, this reach included */
    char *mainstem;
    int32_t component;
    char *gates; /* JSON array or NULL */
    /* the dataset's own topology and main-river key, where it has them (NULL otherwise) */
    char *from_key, *to_key, *next_down, *levelpath;
    uint8_t topology_given; /* any of from/to node or NEXT_DOWN was given (0: an outlet too) */
} reach;

typedef struct {
    reach *r;
    size_t n;
    double *coords;
    size_t n_coords;
    int32_t *parent; /* union-find over endpoints (2 per reach) and lakes */
    int32_t n_nodes;
    double *node_xy;    /* per node */
    int32_t *node_lake; /* per node: lake index or -1 */
    char **lake_ids;
    size_t n_lakes;
    cr_network_report *rep;
} net;

static void add_issue(cr_network_report *rep, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_issue(cr_network_report *rep, const char *kind, const char *fmt, ...)
{
    rep->issues = cr_xrealloc(rep->issues, (rep->n_issues + 1) * sizeof *rep->issues);
    cr_network_issue *is = &rep->issues[rep->n_issues++];
    snprintf(is->kind, sizeof is->kind, "%s", kind);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->detail, sizeof is->detail, fmt, ap);
    va_end(ap);
}

static int32_t find(int32_t *parent, int32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Union keeping the smaller index as the root: node numbering stays deterministic. */
static void unite(int32_t *parent, int32_t a, int32_t b)
{
    a = find(parent, a);
    b = find(parent, b);
    if (a < b) {
        parent[b] = a;
    } else if (b < a) {
        parent[a] = b;
    }
}

static const double *endpoint(const net *g, size_t e)
{
    const reach *r = &g->r[e / 2];
    return g->coords + 2 * (e % 2 ? r->first + r->n - 1 : r->first);
}

static int compare_reach_ids(const void *a, const void *b)
{
    return strcmp(((const reach *)a)->id, ((const reach *)b)->id);
}

static cr_status load(net *g, sqlite3 *db, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT fid, source_id, name, flow, lake_id, geom, from_node_id,"
                           " to_node_id, next_down_id, levelpath_id"
                           " FROM reaches WHERE valid_to IS NULL AND geom IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "network: %s", sqlite3_errmsg(db));
    }
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t first = g->n_coords;
        size_t n = cr_spatialite_append_linestring(sqlite3_column_blob(st, 5),
                                                   (size_t)sqlite3_column_bytes(st, 5), &g->coords,
                                                   &g->n_coords);
        if (n < 2) {
            continue;
        }
        if (g->n == cap) {
            cap = cap ? cap * 2 : 1024;
            g->r = cr_xrealloc(g->r, cap * sizeof *g->r);
        }
        reach *r = &g->r[g->n++];
        memset(r, 0, sizeof *r);
        r->fid = sqlite3_column_int64(st, 0);
        r->id = cr_xstrdup((const char *)sqlite3_column_text(st, 1));
        const char *name = (const char *)sqlite3_column_text(st, 2);
        r->name = cr_xstrdup(name ? name : "");
        const char *flow = (const char *)sqlite3_column_text(st, 3);
        r->flow = (uint8_t)cr_flow_parse(flow);
        const char *lake = (const char *)sqlite3_column_text(st, 4);
        r->lake_id = lake ? cr_xstrdup(lake) : NULL;
        r->first = first;
        r->n = n;
        r->length_m = cr_polyline_length_m(g->coords + 2 * first, n);
        char **keys[4] = {&r->from_key, &r->to_key, &r->next_down, &r->levelpath};
        for (int k = 0; k < 4; k++) {
            const char *v = (const char *)sqlite3_column_text(st, 6 + k);
            /* HydroRIVERS writes NEXT_DOWN 0 at an outlet */
            int none = v == NULL || *v == '\0' || (k == 2 && strcmp(v, "0") == 0);
            *keys[k] = none ? NULL : cr_xstrdup(v);
            r->topology_given |= k < 3 && v != NULL && *v != '\0';
        }
    }
    sqlite3_finalize(st);
    /* reach-ID order makes node numbering and every derivation deterministic */
    if (g->n > 1) {
        qsort(g->r, g->n, sizeof *g->r, compare_reach_ids);
    }
    return CR_OK;
}

typedef struct {
    uint64_t key; /* cell */
    int32_t e;    /* endpoint */
} cell_entry;

static int compare_cells(const void *a, const void *b)
{
    const cell_entry *x = a;
    const cell_entry *y = b;
    return x->key < y->key ? -1 : x->key > y->key ? 1 : x->e - y->e;
}

static uint64_t cell_key(int64_t cx, int64_t cy)
{
    return ((uint64_t)(cx + (1 << 30)) << 32) | (uint64_t)(cy + (1 << 30));
}

/* Two endpoints within the tolerance, d2 their squared distance in metres. */
typedef struct {
    double d2;
    int32_t a, b;
} snap_pair;

static int compare_pairs(const void *x, const void *y)
{
    const snap_pair *p = x, *q = y;
    if (p->d2 != q->d2) {
        return p->d2 < q->d2 ? -1 : 1;
    }
    return p->a != q->a ? p->a - q->a : p->b - q->b;
}

/* Would joining the sets of endpoints a and b put both ends of one reach into one node? The
 * ends of reach r are endpoints 2r and 2r+1; members lists each set's endpoints. */
static int folds_a_reach(int32_t *parent, const int32_t *head, const int32_t *next,
                         const int32_t *size, int32_t a, int32_t b)
{
    int32_t ra = find(parent, a), rb = find(parent, b);
    if (ra == rb) {
        return 0;
    }
    int32_t small = size[ra] <= size[rb] ? ra : rb, other = small == ra ? rb : ra;
    for (int32_t e = head[small]; e >= 0; e = next[e]) {
        if (find(parent, e ^ 1) == other) {
            return 1;
        }
    }
    return 0;
}

/* Join the candidate pairs nearest first, never merging a reach's two ends: a reach shorter
 * than the tolerance keeps its place in the chain instead of folding into a self-loop. */
static void join_pairs(net *g, snap_pair *pairs, size_t n_pairs, size_t ne)
{
    if (n_pairs > 1) {
        qsort(pairs, n_pairs, sizeof *pairs, compare_pairs);
    }
    int32_t *head = cr_xmalloc((ne + 1) * sizeof *head);
    int32_t *next = cr_xmalloc((ne + 1) * sizeof *next);
    int32_t *tail = cr_xmalloc((ne + 1) * sizeof *tail);
    int32_t *size = cr_xmalloc((ne + 1) * sizeof *size);
    for (size_t e = 0; e < ne; e++) {
        head[e] = tail[e] = (int32_t)e;
        next[e] = -1;
        size[e] = 1;
    }
    for (size_t k = 0; k < n_pairs; k++) {
        int32_t a = pairs[k].a, b = pairs[k].b;
        int32_t ra = find(g->parent, a), rb = find(g->parent, b);
        if (ra == rb || folds_a_reach(g->parent, head, next, size, a, b)) {
            continue;
        }
        unite(g->parent, ra, rb);
        int32_t root = find(g->parent, ra), gone = root == ra ? rb : ra;
        next[tail[root]] = head[gone]; /* the member lists are concatenated */
        tail[root] = tail[gone];
        size[root] += size[gone];
    }
    free(head);
    free(next);
    free(tail);
    free(size);
}

/* Endpoints within tol metres become one node: grid cells of tol, 3×3 neighbourhood, cells
 * found through an open-addressing table over the sorted entries; the pairs found are joined
 * nearest first (join_pairs). */
static void snap_endpoints(net *g, double tol)
{
    size_t ne = 2 * g->n;
    double lat_mid = 0;
    for (size_t e = 0; e < ne; e++) {
        lat_mid += endpoint(g, e)[1] / (double)(ne ? ne : 1);
    }
    cr_local f;
    cr_local_init(&f, 0, lat_mid);
    double cx_deg = fmax(tol, 1e-3) / f.kx;
    double cy_deg = fmax(tol, 1e-3) / f.ky;
    cell_entry *cells = cr_xmalloc((ne + 1) * sizeof *cells);
    for (size_t e = 0; e < ne; e++) {
        const double *p = endpoint(g, e);
        cells[e].key = cell_key((int64_t)floor(p[0] / cx_deg), (int64_t)floor(p[1] / cy_deg));
        cells[e].e = (int32_t)e;
    }
    if (ne > 1) {
        qsort(cells, ne, sizeof *cells, compare_cells);
    }
    /* an open-addressing table from cell key to its first entry in the sorted array */
    size_t cap = 16;
    while (cap < ne * 2) {
        cap <<= 1;
    }
    int64_t *slot = cr_xmalloc(cap * sizeof *slot);
    for (size_t k = 0; k < cap; k++) {
        slot[k] = -1;
    }
    snap_pair *pairs = NULL;
    size_t n_pairs = 0, cap_pairs = 0;
    for (size_t k = 0; k < ne; k++) {
        if (k > 0 && cells[k].key == cells[k - 1].key) {
            continue;
        }
        size_t h = (size_t)(cells[k].key * 0x9E3779B97F4A7C15ULL) & (cap - 1);
        while (slot[h] >= 0) {
            h = (h + 1) & (cap - 1);
        }
        slot[h] = (int64_t)k;
    }
    for (size_t e = 0; e < ne; e++) {
        const double *p = endpoint(g, e);
        int64_t cx = (int64_t)floor(p[0] / cx_deg);
        int64_t cy = (int64_t)floor(p[1] / cy_deg);
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                uint64_t key = cell_key(cx + dx, cy + dy);
                size_t h = (size_t)(key * 0x9E3779B97F4A7C15ULL) & (cap - 1);
                while (slot[h] >= 0 && cells[slot[h]].key != key) {
                    h = (h + 1) & (cap - 1);
                }
                for (int64_t k = slot[h]; k >= 0 && (size_t)k < ne && cells[k].key == key; k++) {
                    const double *q = endpoint(g, (size_t)cells[k].e);
                    /* metres in the local frame: exact enough at a few metres, and cheap */
                    double dxm = (q[0] - p[0]) * f.kx;
                    double dym = (q[1] - p[1]) * f.ky;
                    if ((size_t)cells[k].e > e && dxm * dxm + dym * dym <= tol * tol) {
                        if (n_pairs == cap_pairs) {
                            cap_pairs = cap_pairs ? 2 * cap_pairs : 1024;
                            pairs = cr_xrealloc(pairs, cap_pairs * sizeof *pairs);
                        }
                        pairs[n_pairs++] =
                            (snap_pair){dxm * dxm + dym * dym, (int32_t)e, cells[k].e};
                    }
                }
            }
        }
    }
    free(slot);
    free(cells);
    join_pairs(g, pairs, n_pairs, ne);
    free(pairs);
}

/* ---- the dataset's own topology --------------------------------------------------------- */

typedef struct {
    const char *key; /* a node ID, borrowed from a reach */
    int32_t e;       /* the first endpoint with it */
} key_slot;

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

/* Endpoint e joins the first endpoint that named the same node (open addressing). */
static void unite_by_key(net *g, key_slot *tab, size_t cap, const char *key, int32_t e)
{
    size_t h = (size_t)hash_key(key) & (cap - 1);
    while (tab[h].key && strcmp(tab[h].key, key) != 0) {
        h = (h + 1) & (cap - 1);
    }
    if (tab[h].key == NULL) {
        tab[h].key = key;
        tab[h].e = e;
    } else {
        unite(g->parent, tab[h].e, e);
    }
}

static int32_t reach_index(const net *g, const char *id)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->r[mid].id, id);
        if (c == 0) {
            return (int32_t)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* Nodes from the reaches' own attributes: ends that name the same from/to node ID are one
 * node, and a reach's downstream end is its NEXT_DOWN reach's upstream end. A reach with
 * neither is reported and left unconnected. */
static void nodes_from_attributes(net *g)
{
    size_t cap = 16;
    while (cap < 4 * g->n) {
        cap <<= 1;
    }
    key_slot *tab = cr_xcalloc(cap, sizeof *tab);
    for (size_t i = 0; i < g->n; i++) {
        const reach *r = &g->r[i];
        if (r->from_key) {
            unite_by_key(g, tab, cap, r->from_key, (int32_t)(2 * i));
        }
        if (r->to_key) {
            unite_by_key(g, tab, cap, r->to_key, (int32_t)(2 * i + 1));
        }
        if (r->next_down) {
            int32_t d = reach_index(g, r->next_down);
            if (d < 0) {
                add_issue(g->rep, "topology", "reach %s: NEXT_DOWN %s is no reach of the network",
                          r->id, r->next_down);
            } else {
                unite(g->parent, (int32_t)(2 * i + 1), 2 * d);
            }
        }
        if (!r->topology_given) {
            add_issue(g->rep, "topology",
                      "reach %s has no topology attributes (from/to node, "
                      "NEXT_DOWN): left unconnected",
                      r->id);
        }
    }
    free(tab);
}

/* Where the attributes and the geometry disagree: ends joined by the attributes that lie
 * farther apart than tol, and ends within tol that the attributes keep apart. */
static void compare_with_geometry(net *g, double tol)
{
    size_t ne = 2 * g->n;
    cr_local f;
    cr_local_init(&f, 0, ne ? endpoint(g, 0)[1] : 0);
    int32_t *first = cr_xmalloc((ne + 1) * sizeof *first);
    for (size_t e = 0; e < ne; e++) {
        first[e] = -1;
    }
    size_t far = 0;
    for (size_t e = 0; e < ne && far < 50; e++) {
        int32_t root = find(g->parent, (int32_t)e);
        if (first[root] < 0) {
            first[root] = (int32_t)e;
            continue;
        }
        const double *p = endpoint(g, (size_t)first[root]), *q = endpoint(g, e);
        double d = hypot((q[0] - p[0]) * f.kx, (q[1] - p[1]) * f.ky);
        if (d > tol) {
            add_issue(g->rep, "topology_mismatch",
                      "the attributes join the %s end of reach %s and the %s end of reach %s, "
                      "%.0f m apart",
                      first[root] % 2 ? "downstream" : "upstream", g->r[first[root] / 2].id,
                      e % 2 ? "downstream" : "upstream", g->r[e / 2].id, d);
            far++;
        }
    }
    free(first);
    /* the geometry's own nodes, on a copy of the union-find */
    int32_t *attr = g->parent;
    g->parent = cr_xmalloc((ne + 1) * sizeof *g->parent);
    for (size_t e = 0; e <= ne; e++) {
        g->parent[e] = (int32_t)e;
    }
    snap_endpoints(g, tol);
    size_t apart = 0;
    for (size_t e = 0; e < ne && apart < 50; e++) {
        int32_t ge = find(g->parent, (int32_t)e);
        if (ge != (int32_t)e && find(attr, ge) != find(attr, (int32_t)e)) {
            add_issue(g->rep, "topology_mismatch",
                      "the %s end of reach %s touches the %s end of reach %s, but the "
                      "attributes do not connect them",
                      e % 2 ? "downstream" : "upstream", g->r[e / 2].id,
                      ge % 2 ? "downstream" : "upstream", g->r[ge / 2].id);
            apart++;
        }
    }
    free(g->parent);
    g->parent = attr;
}

/* Lakes are nodes: every reach end inside a lake (or within tol of its shore) joins the lake's
 * node, so reaches entering and leaving a lake connect through it. A path drawn through the
 * lake becomes a loop on that node. */
static cr_status gather_lakes(net *g, sqlite3 *db, double tol, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT source_id, AsBinary(geom) FROM lakes WHERE valid_to IS NULL"
                           " AND geom IS NOT NULL ORDER BY source_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "network: %s", sqlite3_errmsg(db));
    }
    cr_geos_messages msgs;
    GEOSContextHandle_t h = cr_geos_init(&msgs, "network", CR_LOG_WARN);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(h);
    size_t ne = 2 * g->n;
    cr_local f;
    while (sqlite3_step(st) == SQLITE_ROW) {
        GEOSGeometry *lake = GEOSWKBReader_read_r(h, rd, sqlite3_column_blob(st, 1),
                                                  (size_t)sqlite3_column_bytes(st, 1));
        if (lake == NULL) {
            continue;
        }
        const GEOSPreparedGeometry *prep = GEOSPrepare_r(h, lake);
        size_t li = g->n_lakes++;
        g->lake_ids = cr_xrealloc(g->lake_ids, g->n_lakes * sizeof *g->lake_ids);
        g->lake_ids[li] = cr_xstrdup((const char *)sqlite3_column_text(st, 0));
        int32_t lake_node = (int32_t)(ne + li);
        double bb[4];
        GEOSGeom_getXMin_r(h, lake, &bb[0]);
        GEOSGeom_getYMin_r(h, lake, &bb[1]);
        GEOSGeom_getXMax_r(h, lake, &bb[2]);
        GEOSGeom_getYMax_r(h, lake, &bb[3]);
        double margin = tol / 100000.0 * 2; /* degrees, generous */
        for (size_t e = 0; e < ne; e++) {
            const double *p = endpoint(g, e);
            if (p[0] < bb[0] - margin || p[0] > bb[2] + margin || p[1] < bb[1] - margin ||
                p[1] > bb[3] + margin) {
                continue;
            }
            cr_local_init(&f, p[0], p[1]);
            GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, p[0], p[1]);
            double d = 0;
            int inside = GEOSPreparedIntersects_r(h, prep, pt) == 1;
            if (!inside && GEOSPreparedDistance_r(h, prep, pt, &d) == 1) {
                inside = d * f.ky <= tol; /* degrees to metres, conservatively north-south */
            }
            GEOSGeom_destroy_r(h, pt);
            if (inside) {
                unite(g->parent, lake_node, (int32_t)e);
            }
        }
        GEOSPreparedGeom_destroy_r(h, prep);
        GEOSGeom_destroy_r(h, lake);
    }
    sqlite3_finalize(st);
    GEOSWKBReader_destroy_r(h, rd);
    GEOS_finish_r(h);
    return CR_OK;
}

static size_t count_lakes(sqlite3 *db)
{
    sqlite3_stmt *st;
    size_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM lakes WHERE valid_to IS NULL", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        n = (size_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

static void number_nodes(net *g)
{
    size_t ne = 2 * g->n;
    size_t total = ne + g->n_lakes;
    int32_t *node_of = cr_xmalloc((total + 1) * sizeof *node_of);
    for (size_t i = 0; i < total; i++) {
        node_of[i] = -1;
    }
    g->node_xy = cr_xmalloc((ne + 1) * 2 * sizeof *g->node_xy);
    g->node_lake = cr_xmalloc((ne + 1) * sizeof *g->node_lake);
    for (size_t e = 0; e < ne; e++) {
        int32_t root = find(g->parent, (int32_t)e);
        /* a lake root sorts after the endpoints, so find the first endpoint instead */
        if (node_of[root] < 0) {
            node_of[root] = g->n_nodes;
            const double *p = endpoint(g, e);
            g->node_xy[2 * g->n_nodes] = p[0];
            g->node_xy[2 * g->n_nodes + 1] = p[1];
            g->node_lake[g->n_nodes] = -1;
            g->n_nodes++;
        }
        if (e % 2 == 0) {
            g->r[e / 2].from = node_of[root];
        } else {
            g->r[e / 2].to = node_of[root];
        }
    }
    for (size_t li = 0; li < g->n_lakes; li++) {
        int32_t root = find(g->parent, (int32_t)(ne + li));
        if (node_of[root] >= 0) {
            g->node_lake[node_of[root]] = (int32_t)li;
        }
    }
    free(node_of);
}

/* Weakly connected components, numbered from 0 by their lowest reach. */
static int64_t components(net *g)
{
    int32_t *p = cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof *p);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        p[i] = i;
    }
    for (size_t i = 0; i < g->n; i++) {
        unite(p, g->r[i].from, g->r[i].to);
    }
    int32_t *label = cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof *label);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        label[i] = -1;
    }
    int64_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        int32_t root = find(p, g->r[i].from);
        if (label[root] < 0) {
            label[root] = (int32_t)n++;
        }
        g->r[i].component = label[root];
    }
    free(p);
    free(label);
    return n;
}

/* CSR over nodes: out (reaches leaving a node) and in (reaches arriving). */
typedef struct {
    int32_t *out_start, *out_r, *in_start, *in_r;
} adjacency;

static void build_adjacency(const net *g, adjacency *a)
{
    size_t nn = (size_t)g->n_nodes;
    a->out_start = cr_xcalloc(nn + 2, sizeof *a->out_start);
    a->in_start = cr_xcalloc(nn + 2, sizeof *a->in_start);
    a->out_r = cr_xmalloc((g->n + 1) * sizeof *a->out_r);
    a->in_r = cr_xmalloc((g->n + 1) * sizeof *a->in_r);
    for (size_t i = 0; i < g->n; i++) {
        a->out_start[g->r[i].from + 1]++;
        a->in_start[g->r[i].to + 1]++;
    }
    for (size_t v = 0; v < nn; v++) {
        a->out_start[v + 1] += a->out_start[v];
        a->in_start[v + 1] += a->in_start[v];
    }
    int32_t *oc = cr_xmalloc((nn + 1) * sizeof *oc);
    int32_t *ic = cr_xmalloc((nn + 1) * sizeof *ic);
    memcpy(oc, a->out_start, nn * sizeof *oc);
    memcpy(ic, a->in_start, nn * sizeof *ic);
    for (size_t i = 0; i < g->n; i++) {
        a->out_r[oc[g->r[i].from]++] = (int32_t)i;
        a->in_r[ic[g->r[i].to]++] = (int32_t)i;
    }
    free(oc);
    free(ic);
}

static void free_adjacency(adjacency *a)
{
    free(a->out_start);
    free(a->out_r);
    free(a->in_start);
    free(a->in_r);
}

/* Tarjan's SCC, iterative, over nodes using only one-way reaches; reports cycles. */
/* Tarjan's strongly connected components over the one-way (downstream) reaches, iteratively:
 * scc_of[v] for every node; returns how many components. */
static int32_t strong_components(const net *g, const adjacency *a, int32_t *scc_of)
{
    size_t nn = (size_t)g->n_nodes;
    int32_t *index = cr_xmalloc((nn + 1) * sizeof *index);
    int32_t *low = cr_xmalloc((nn + 1) * sizeof *low);
    int32_t *stack = cr_xmalloc((nn + 1) * sizeof *stack);
    unsigned char *on = cr_xcalloc(nn + 1, 1);
    int32_t *call_v = cr_xmalloc((nn + 1) * sizeof *call_v);
    int32_t *call_k = cr_xmalloc((nn + 1) * sizeof *call_k);
    for (size_t v = 0; v < nn; v++) {
        index[v] = -1;
        scc_of[v] = -1;
    }
    int32_t next = 0;
    int32_t sp = 0;
    int32_t n_scc = 0;
    for (int32_t root = 0; root < (int32_t)nn; root++) {
        if (index[root] >= 0) {
            continue;
        }
        int32_t depth = 0;
        call_v[0] = root;
        call_k[0] = a->out_start[root];
        index[root] = low[root] = next++;
        stack[sp++] = root;
        on[root] = 1;
        while (depth >= 0) {
            int32_t v = call_v[depth];
            if (call_k[depth] < a->out_start[v + 1]) {
                const reach *r = &g->r[a->out_r[call_k[depth]++]];
                if (r->flow != CR_FLOW_DOWN) {
                    continue;
                }
                int32_t w = r->to;
                if (index[w] < 0) {
                    index[w] = low[w] = next++;
                    stack[sp++] = w;
                    on[w] = 1;
                    depth++;
                    call_v[depth] = w;
                    call_k[depth] = a->out_start[w];
                } else if (on[w]) {
                    low[v] = low[v] < index[w] ? low[v] : index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                int32_t w;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    scc_of[w] = n_scc;
                } while (w != v);
                n_scc++;
            }
            depth--;
            if (depth >= 0) {
                int32_t u = call_v[depth];
                low[u] = low[u] < low[v] ? low[u] : low[v];
            }
        }
    }
    free(index);
    free(low);
    free(stack);
    free(on);
    free(call_v);
    free(call_k);
    return n_scc;
}

static void find_cycles(net *g, const adjacency *a)
{
    int32_t *scc_of = cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof *scc_of);
    int32_t n_scc = strong_components(g, a, scc_of);
    /* a cycle: one-way reaches whose two ends are in the same component (self-loops too, but
     * not a path drawn through a lake, which is a loop on the lake's node by design) */
    cr_strbuf *lists = cr_xcalloc((size_t)n_scc + 1, sizeof *lists);
    for (size_t i = 0; i < g->n; i++) {
        const reach *r = &g->r[i];
        int lake_loop = r->from == r->to && g->node_lake[r->from] >= 0;
        if (r->flow == CR_FLOW_DOWN && !lake_loop && scc_of[r->from] == scc_of[r->to]) {
            cr_strbuf *l = &lists[scc_of[r->from]];
            cr_strbuf_printf(l, "%s%s", l->len ? ", " : "", r->id);
        }
    }
    for (int32_t k = 0; k < n_scc; k++) {
        if (lists[k].len) {
            add_issue(g->rep, "cycle", "one-way reaches in a cycle: %s", lists[k].data);
        }
        cr_strbuf_cleanup(&lists[k]);
    }
    free(lists);
    free(scc_of);
}

/* Same vertices within a metre, in the same or the reverse order (a braid's branches, however
 * alike in length, differ in their vertices). */
static int same_line(const net *g, const reach *a, const reach *b)
{
    if (a->n != b->n) {
        return 0;
    }
    for (int rev = 0; rev < 2; rev++) {
        int same = 1;
        for (size_t i = 0; i < a->n && same; i++) {
            const double *p = g->coords + 2 * (a->first + i);
            const double *q = g->coords + 2 * (b->first + (rev ? b->n - 1 - i : i));
            same = cr_geodesic_m(p[0], p[1], q[0], q[1]) <= 1.0;
        }
        if (same) {
            return 1;
        }
    }
    return 0;
}

static int owner_not(void *user, int32_t owner)
{
    return owner != *(const int32_t *)user;
}

static void check_reaches(net *g, int64_t n_components, double dangle_m)
{
    for (size_t i = 0; i < g->n; i++) {
        const reach *r = &g->r[i];
        int lake_loop = r->from == r->to && g->node_lake[r->from] >= 0;
        if (r->length_m < 0.01 || (r->from == r->to && !lake_loop)) {
            add_issue(g->rep, "zero_length", "reach %s: %s", r->id,
                      r->length_m < 0.01 ? "zero length" : "both ends snap to one node");
        }
        for (size_t j = i + 1; j < g->n; j++) {
            const reach *s = &g->r[j];
            int same =
                (r->from == s->from && r->to == s->to) || (r->from == s->to && r->to == s->from);
            if (same && r->from != r->to && same_line(g, r, s)) {
                add_issue(g->rep, "duplicate", "reaches %s and %s are the same line (%.1f m)",
                          r->id, s->id, r->length_m);
            }
            if (j > i + 64) {
                break; /* duplicates sort together by ID in practice; keep this linear */
            }
        }
    }
    if (n_components > 1) {
        int64_t *size = cr_xcalloc((size_t)n_components, sizeof *size);
        for (size_t i = 0; i < g->n; i++) {
            size[g->r[i].component]++;
        }
        int64_t largest = 0;
        for (int64_t k = 1; k < n_components; k++) {
            largest = size[k] > size[largest] ? k : largest;
        }
        for (int64_t k = 0; k < n_components; k++) {
            if (k == largest) {
                continue;
            }
            cr_strbuf ids = {0};
            for (size_t i = 0; i < g->n && ids.len < 300; i++) {
                if (g->r[i].component == k) {
                    cr_strbuf_printf(&ids, "%s%s", ids.len ? ", " : "", g->r[i].id);
                }
            }
            add_issue(g->rep, "disconnected",
                      "component %lld: %lld reaches not connected to the "
                      "main network (%s)",
                      (long long)k, (long long)size[k], ids.data ? ids.data : "");
            cr_strbuf_cleanup(&ids);
        }
        free(size);
    }
    /* dangling ends near another reach: likely a digitising gap */
    int32_t *degree = cr_xcalloc((size_t)g->n_nodes + 1, sizeof *degree);
    for (size_t i = 0; i < g->n; i++) {
        degree[g->r[i].from]++;
        degree[g->r[i].to]++;
    }
    cr_segindex *ix = cr_segindex_new();
    for (size_t i = 0; i < g->n; i++) {
        cr_segindex_add_line(ix, (int32_t)i, g->coords + 2 * g->r[i].first, g->r[i].n);
    }
    cr_segindex_build(ix);
    for (size_t e = 0; e < 2 * g->n; e++) {
        const reach *r = &g->r[e / 2];
        int32_t node = e % 2 ? r->to : r->from;
        if (degree[node] != 1 || g->node_lake[node] >= 0) {
            continue;
        }
        const double *p = endpoint(g, e);
        int32_t self = (int32_t)(e / 2);
        cr_seg_hit other;
        if (cr_segindex_nearest(ix, p[0], p[1], dangle_m, owner_not, &self, &other)) {
            add_issue(g->rep, "dangling",
                      "reach %s %s end (%.6f, %.6f) is %.1f m from reach %s but not connected",
                      r->id, e % 2 ? "downstream" : "upstream", p[0], p[1], other.dist_m,
                      g->r[other.owner].id);
        }
    }
    cr_segindex_free(ix);
    free(degree);
}

/* Reaches in upstream-first order (Kahn over reach → next reach; cycles are entered at their
 * lowest unprocessed reach, so the order is total and deterministic). */
static int32_t *upstream_first_order(const net *g, const adjacency *a)
{
    int32_t *pending = cr_xcalloc(g->n + 1, sizeof *pending);
    for (size_t i = 0; i < g->n; i++) {
        pending[i] = a->in_start[g->r[i].from + 1] - a->in_start[g->r[i].from];
        if (g->r[i].from == g->r[i].to) {
            pending[i] = 0;
        }
    }
    int32_t *order = cr_xmalloc((g->n + 1) * sizeof *order);
    unsigned char *done = cr_xcalloc(g->n + 1, 1);
    size_t head = 0;
    size_t tail = 0;
    size_t scan = 0;
    while (tail < g->n) {
        if (head == tail) {
            while (scan < g->n && (done[scan] || pending[scan] > 0)) {
                scan++;
            }
            size_t pick = scan;
            if (pick == g->n) { /* only cycles left: enter at the lowest unprocessed reach */
                for (pick = 0; done[pick]; pick++) {
                }
            }
            done[pick] = 1;
            order[tail++] = (int32_t)pick;
        }
        int32_t r = order[head++];
        int32_t node = g->r[r].to;
        for (int32_t k = a->out_start[node]; k < a->out_start[node + 1]; k++) {
            int32_t s = a->out_r[k];
            if (!done[s] && --pending[s] <= 0) {
                done[s] = 1;
                order[tail++] = s;
            }
        }
    }
    free(pending);
    free(done);
    return order;
}

/* Strahler order and longest upstream path, in upstream-first order. At a node the order is
 * the highest arriving order, plus one when two or more arriving reaches share it; a split
 * passes the order on unchanged to each branch. */
static void derive_orders(net *g, const adjacency *a, const int32_t *order)
{
    for (size_t k = 0; k < g->n; k++) {
        reach *r = &g->r[order[k]];
        int32_t best = 0;
        int32_t ties = 0;
        double up = 0;
        for (int32_t q = a->in_start[r->from]; q < a->in_start[r->from + 1]; q++) {
            const reach *in = &g->r[a->in_r[q]];
            if (in == r || in->strahler == 0) {
                continue; /* not yet derived: only inside a cycle */
            }
            if (in->strahler > best) {
                best = in->strahler, ties = 1;
            } else if (in->strahler == best) {
                ties++;
            }
            up = fmax(up, in->up_m);
        }
        r->strahler = best == 0 ? 1 : ties >= 2 ? best + 1 : best;
        r->up_m = up + r->length_m;
        g->rep->max_strahler =
            r->strahler > g->rep->max_strahler ? r->strahler : g->rep->max_strahler;
    }
}

/* Mainstem identity, downstream first: a named reach carries its river name; the upstream
 * continuation of a reach is the arriving reach of the same name, else (for unnamed reaches)
 * the arriving reach with the longest upstream path, and it inherits the identity. */
static void derive_mainstems(net *g, const adjacency *a, const int32_t *order)
{
    /* the dataset's main-river key first: one mainstem from source to mouth, whatever the
     * names along it; reaches without one follow the name-and-length rule below */
    for (size_t i = 0; i < g->n; i++) {
        reach *r = &g->r[i];
        if (r->levelpath) {
            size_t len = strlen(r->levelpath) + 16;
            r->mainstem = cr_xmalloc(len);
            snprintf(r->mainstem, len, "levelpath %s", r->levelpath);
        }
    }
    for (size_t k = g->n; k-- > 0;) {
        reach *r = &g->r[order[k]];
        if (r->mainstem == NULL) {
            r->mainstem = cr_xstrdup(r->name[0] ? r->name : r->id);
        }
        reach *cont = NULL;
        for (int32_t q = a->in_start[r->from]; q < a->in_start[r->from + 1]; q++) {
            reach *in = &g->r[a->in_r[q]];
            if (in == r || in->mainstem != NULL) {
                continue;
            }
            int same = r->name[0] && strcmp(in->name, r->name) == 0;
            int cont_same = cont && r->name[0] && strcmp(cont->name, r->name) == 0;
            if (cont == NULL || (same && !cont_same) ||
                (same == cont_same && in->up_m > cont->up_m)) {
                cont = in;
            }
        }
        if (cont != NULL && !cont->levelpath && !r->levelpath &&
            (cont->name[0] == '\0' || strcmp(cont->name, r->name) == 0)) {
            cont->mainstem = cr_xstrdup(r->mainstem);
        }
    }
}

static cr_status place_gates(net *g, sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT reach_id, json_group_array(source_id) FROM (SELECT reach_id,"
                           " source_id FROM gates_current WHERE reach_id IS NOT NULL"
                           " ORDER BY source_id) GROUP BY reach_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return CR_OK; /* no gates layer joined yet */
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *rid = (const char *)sqlite3_column_text(st, 0);
        size_t lo = 0;
        size_t hi = g->n; /* reaches are sorted by ID */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(g->r[mid].id, rid) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo < g->n && strcmp(g->r[lo].id, rid) == 0) {
            g->r[lo].gates = cr_xstrdup((const char *)sqlite3_column_text(st, 1));
            json_t *arr = json_loads(g->r[lo].gates, 0, NULL);
            g->rep->gates += (int64_t)json_array_size(arr);
            json_decref(arr);
        }
    }
    sqlite3_finalize(st);
    return CR_OK;
}

static const char *NODES_SCHEMA =
    "CREATE TABLE IF NOT EXISTS network_nodes (node_id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
    " n_in INTEGER NOT NULL, n_out INTEGER NOT NULL, lake_id TEXT, component INTEGER,"
    " lon REAL NOT NULL, lat REAL NOT NULL);"
    "CREATE TABLE IF NOT EXISTS network_issues (issue_id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
    " detail TEXT NOT NULL);";

static cr_status exec(sqlite3 *db, const char *sql, cr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cr_status rc = cr_error_set(err, CR_EDB, "network: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return rc;
    }
    return CR_OK;
}

static const char *node_kind(int32_t n_in, int32_t n_out, int lake)
{
    if (lake) {
        return "lake";
    }
    if (n_in == 0) {
        return n_out == 0 ? "isolated" : "source";
    }
    if (n_out == 0) {
        return "outlet";
    }
    return n_in >= 2 ? "confluence" : n_out >= 2 ? "split" : "junction";
}

static cr_status store_nodes(net *g, sqlite3 *db, const adjacency *a, cr_error *err)
{
    /* Nodes are looked up by ID, not by place: plain lon/lat columns, no geometry index (an
     * R*Tree entry costs ~20 µs, more than the rest of a node's build). */
    cr_status rc = exec(db, NODES_SCHEMA, err);
    if (rc == CR_OK) {
        rc = exec(db, "DELETE FROM network_nodes; DELETE FROM network_issues;", err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO network_nodes (node_id, kind, n_in, n_out, lake_id,"
                           " component, lon, lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "network: %s", sqlite3_errmsg(db));
    }
    int32_t *comp = cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof *comp);
    for (size_t i = 0; i < g->n; i++) {
        comp[g->r[i].from] = comp[g->r[i].to] = g->r[i].component;
    }
    for (int32_t v = 0; rc == CR_OK && v < g->n_nodes; v++) {
        int32_t n_in = a->in_start[v + 1] - a->in_start[v];
        int32_t n_out = a->out_start[v + 1] - a->out_start[v];
        int lake = g->node_lake[v] >= 0;
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, v);
        sqlite3_bind_text(st, 2, node_kind(n_in, n_out, lake), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, n_in);
        sqlite3_bind_int(st, 4, n_out);
        if (lake) {
            sqlite3_bind_text(st, 5, g->lake_ids[g->node_lake[v]], -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 5);
        }
        sqlite3_bind_int(st, 6, comp[v]);
        sqlite3_bind_double(st, 7, g->node_xy[2 * v]);
        sqlite3_bind_double(st, 8, g->node_xy[2 * v + 1]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "network nodes: %s", sqlite3_errmsg(db));
        }
    }
    free(comp);
    sqlite3_finalize(st);
    if (rc == CR_OK && sqlite3_prepare_v2(db,
                                          "INSERT INTO network_issues (kind, detail)"
                                          " VALUES (?, ?)",
                                          -1, &st, NULL) == SQLITE_OK) {
        for (size_t i = 0; i < g->rep->n_issues; i++) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, g->rep->issues[i].kind, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, g->rep->issues[i].detail, -1, SQLITE_STATIC);
            sqlite3_step(st);
        }
        sqlite3_finalize(st);
    }
    return rc;
}

static const net *g_sort_net; /* for compare_fids; the build is single-threaded */

static int compare_fids(const void *a, const void *b)
{
    int64_t x = g_sort_net->r[*(const size_t *)a].fid;
    int64_t y = g_sort_net->r[*(const size_t *)b].fid;
    return x < y ? -1 : x > y;
}

static cr_status store_reaches(net *g, sqlite3 *db, int64_t generation, cr_error *err)
{
    sqlite3_stmt *st;
    cr_status rc = exec(db, "DELETE FROM reaches_derived", err);
    if (rc != CR_OK) {
        return rc;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO reaches_derived (from_node, to_node, length_m, strahler,"
                           " upstream_length_m, mainstem, component, gate_ids,"
                           " network_generation, fid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                           " ?10, ?9)",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "network: %s", sqlite3_errmsg(db));
    }
    /* in fid order: the derived table's B-tree then only ever appends */
    size_t *by_fid = cr_xmalloc((g->n + 1) * sizeof *by_fid);
    for (size_t i = 0; i < g->n; i++) {
        by_fid[i] = i;
    }
    g_sort_net = g;
    if (g->n > 1) {
        qsort(by_fid, g->n, sizeof *by_fid, compare_fids);
    }
    for (size_t k = 0; rc == CR_OK && k < g->n; k++) {
        const reach *r = &g->r[by_fid[k]];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 10, generation);
        sqlite3_bind_int(st, 1, r->from);
        sqlite3_bind_int(st, 2, r->to);
        sqlite3_bind_double(st, 3, round(r->length_m * 100) / 100);
        sqlite3_bind_int(st, 4, r->strahler);
        sqlite3_bind_double(st, 5, round(r->up_m * 100) / 100);
        sqlite3_bind_text(st, 6, r->mainstem, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, r->component);
        if (r->gates) {
            sqlite3_bind_text(st, 8, r->gates, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 8);
        }
        sqlite3_bind_int64(st, 9, r->fid);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "network: %s", sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(st);
    free(by_fid);
    return rc;
}

static void free_net(net *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->r[i].id);
        free(g->r[i].name);
        free(g->r[i].lake_id);
        free(g->r[i].mainstem);
        free(g->r[i].from_key);
        free(g->r[i].to_key);
        free(g->r[i].next_down);
        free(g->r[i].levelpath);
        free(g->r[i].gates);
    }
    free(g->r);
    free(g->coords);
    free(g->parent);
    free(g->node_xy);
    free(g->node_lake);
    for (size_t i = 0; i < g->n_lakes; i++) {
        free(g->lake_ids[i]);
    }
    free(g->lake_ids);
}

typedef struct {
    net *g;
    const adjacency *a;
    int64_t components;
    double dangle_m;
} validation_job;

static void *validate(void *arg)
{
    validation_job *v = arg;
    check_reaches(v->g, v->components, v->dangle_m);
    find_cycles(v->g, v->a);
    return NULL;
}

/* Log how long the phase since *t took (cr_log level info: `crossriver network -v`). */
static void phase(double *t, const char *what)
{
    double now = cr_monotonic_s();
    cr_log(CR_LOG_INFO, "network", "%s: %.3f s", what, now - *t);
    *t = now;
}

/* The reaches, and their nodes: snapped ends (or the dataset's own from/to nodes, compared
 * with the geometry), then lakes as single nodes. */
static cr_status find_nodes(net *g, sqlite3 *db, const cr_network_options *opt, double *t,
                            cr_error *err)
{
    cr_status rc = load(g, db, err);
    phase(t, "load reaches");
    if (rc != CR_OK) {
        return rc;
    }
    size_t total = 2 * g->n + count_lakes(db) + 1;
    g->parent = cr_xmalloc(total * sizeof *g->parent);
    for (size_t i = 0; i < total; i++) {
        g->parent[i] = (int32_t)i;
    }
    if (opt->from_attributes) {
        nodes_from_attributes(g);
        compare_with_geometry(g, opt->snap_tolerance_m);
    } else {
        snap_endpoints(g, opt->snap_tolerance_m);
    }
    phase(t, "snap endpoints");
    rc = gather_lakes(g, db, opt->snap_tolerance_m, err);
    phase(t, "lakes");
    return rc;
}

/* Node numbers, components, adjacency, stream orders and mainstems; the report's counts.
 * Returns the upstream-first order of the reaches (caller frees). */
static int32_t *derive_network(net *g, adjacency *a, double *t)
{
    cr_network_report *rep = g->rep;
    number_nodes(g);
    rep->reaches = (int64_t)g->n;
    rep->nodes = g->n_nodes;
    for (int32_t v = 0; v < g->n_nodes; v++) {
        rep->lakes += g->node_lake[v] >= 0;
    }
    rep->components = components(g);
    build_adjacency(g, a);
    phase(t, "nodes and components");
    int32_t *order = upstream_first_order(g, a);
    derive_orders(g, a, order);
    derive_mainstems(g, a, order);
    phase(t, "orders and mainstems");
    return order;
}

/* Reach i of the network as the reach index saves it. */
static void net_line(void *user, size_t i, cr_reach_line *out)
{
    const net *g = user;
    const reach *r = &g->r[i];
    out->fid = r->fid;
    out->id = r->id;
    out->name = r->name;
    out->coords = g->coords + 2 * r->first;
    out->n = r->n;
}

cr_status cr_network_build(cr_store *store, const cr_network_options *opt, cr_network_report *rep,
                           cr_error *err)
{
    double t0 = cr_monotonic_s();
    memset(rep, 0, sizeof *rep);
    sqlite3 *db = cr_store_db(store);
    net g = {0};
    g.rep = rep;
    cr_status rc = exec(db, "BEGIN IMMEDIATE", err);
    if (rc != CR_OK) {
        return rc;
    }
    int64_t generation = 0;
    double t = t0;
    rc = find_nodes(&g, db, opt, &t, err);
    adjacency a = {0};
    int32_t *order = NULL;
    if (rc == CR_OK) {
        order = derive_network(&g, &a, &t);
        rc = place_gates(&g, db);
    }
    /* validation only reads the network and writes the report: on the second core, while this
     * one writes the reaches' topology */
    validation_job vj = {&g, &a, rep->components, opt->dangle_check_m};
    pthread_t th;
    int threaded = rc == CR_OK && pthread_create(&th, NULL, validate, &vj) == 0;
    if (rc == CR_OK) {
        rc = cr_store_bump_generation(store, &generation, err);
    }
    if (rc == CR_OK) { /* servers reload the network when this moves */
        char meta[200];
        snprintf(meta, sizeof meta,
                 "INSERT OR REPLACE INTO meta VALUES ('network_generation', '%lld');"
                 "INSERT OR REPLACE INTO meta VALUES ('network_topology', '%s')",
                 (long long)generation, opt->from_attributes ? "attributes" : "geometry");
        rc = exec(db, meta, err);
    }
    if (rc == CR_OK) {
        rc = store_reaches(&g, db, generation, err);
        phase(&t, "store reaches");
    }
    if (threaded) {
        pthread_join(th, NULL);
    } else if (rc == CR_OK) {
        validate(&vj);
    }
    phase(&t, "validation (joined)");
    if (rc == CR_OK) {
        rc = store_nodes(&g, db, &a, err);
        phase(&t, "store nodes");
    }
    if (rc == CR_OK) { /* the reach index's input, read back by joins and servers */
        rc = cr_reach_index_save(store, g.n, net_line, &g, err);
        phase(&t, "save the reach index");
    }
    rc = rc == CR_OK ? exec(db, "COMMIT", err) : rc;
    phase(&t, "commit");
    if (rc != CR_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    free(order);
    free_adjacency(&a);
    free_net(&g);
    rep->seconds = cr_monotonic_s() - t0;
    return rc;
}

void cr_network_options_for(cr_store *store, cr_network_options *out)
{
    const cr_layer_def *d = cr_layer_set_find(cr_store_layers(store), "reaches");
    json_t *v = d ? json_object_get(json_object_get(json_object_get(d->json, "join"), "network"),
                                    "snap_tolerance_m")
                  : NULL;
    out->snap_tolerance_m = json_is_number(v) ? json_number_value(v) : 5.0;
    out->dangle_check_m = 50.0;
    out->from_attributes = cr_network_topology_from_attributes(store);
}

int cr_network_topology_from_attributes(cr_store *store)
{
    sqlite3_stmt *st;
    int yes = 0;
    if (sqlite3_prepare_v2(cr_store_db(store),
                           "SELECT value = 'attributes' FROM meta WHERE key = 'network_topology'",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        yes = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return yes;
}

void cr_network_report_cleanup(cr_network_report *rep)
{
    free(rep->issues);
    rep->issues = NULL;
    rep->n_issues = 0;
}

cr_flow cr_flow_parse(const char *text)
{
    if (text && strcmp(text, "both") == 0) {
        return CR_FLOW_BOTH;
    }
    return text && strcmp(text, "gated") == 0 ? CR_FLOW_GATED : CR_FLOW_DOWN;
}
