/* SPDX-License-Identifier: MIT */
/* Loading the stored topology into compressed sparse rows: arrays only, built once, then
 * read-only (safe to share between server threads). */
#include "network.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static cr_status load_lakes(cr_graph *g, sqlite3 *db, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT n.node_id, n.lake_id, l.residence_days FROM network_nodes n"
                           " LEFT JOIN lakes l ON l.source_id = n.lake_id AND l.valid_to IS NULL"
                           " WHERE n.lake_id IS NOT NULL ORDER BY n.lake_id, n.node_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "graph: %s", sqlite3_errmsg(db));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        int32_t node = sqlite3_column_int(st, 0);
        const char *lake = (const char *)sqlite3_column_text(st, 1);
        if (node < 0 || node >= g->n_nodes) {
            continue;
        }
        if (g->n_lakes == 0 || strcmp(g->lake_id[g->n_lakes - 1], lake) != 0) {
            g->lake_id = cr_xrealloc(g->lake_id, ((size_t)g->n_lakes + 1) * sizeof *g->lake_id);
            g->lake_residence_h =
                cr_xrealloc(g->lake_residence_h, ((size_t)g->n_lakes + 1) * sizeof(double));
            g->lake_id[g->n_lakes] = cr_xstrdup(lake);
            g->lake_residence_h[g->n_lakes] = sqlite3_column_type(st, 2) == SQLITE_NULL
                                                  ? NAN
                                                  : sqlite3_column_double(st, 2) * 24.0;
            g->n_lakes++;
        }
        g->node_lake[node] = g->n_lakes - 1;
    }
    sqlite3_finalize(st);
    return CR_OK;
}

static cr_status load_nodes(cr_graph *g, sqlite3 *db, cr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT node_id, lon, lat FROM network_nodes", -1, &st, NULL) !=
        SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "graph: no network yet (run crossriver network): %s",
                            sqlite3_errmsg(db));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        int32_t v = sqlite3_column_int(st, 0);
        if (v >= 0 && v < g->n_nodes) {
            g->node_lon[v] = sqlite3_column_double(st, 1);
            g->node_lat[v] = sqlite3_column_double(st, 2);
        }
    }
    sqlite3_finalize(st);
    return CR_OK;
}

static void build_csr(int32_t n_nodes, int32_t n, const int32_t *key, int32_t **start_out,
                      int32_t **items_out)
{
    int32_t *start = cr_xcalloc((size_t)n_nodes + 2, sizeof *start);
    int32_t *items = cr_xmalloc(((size_t)n + 1) * sizeof *items);
    for (int32_t r = 0; r < n; r++) {
        start[key[r] + 1]++;
    }
    for (int32_t v = 0; v < n_nodes; v++) {
        start[v + 1] += start[v];
    }
    int32_t *fill = cr_xmalloc(((size_t)n_nodes + 1) * sizeof *fill);
    memcpy(fill, start, (size_t)n_nodes * sizeof *fill);
    for (int32_t r = 0; r < n; r++) {
        items[fill[key[r]]++] = r;
    }
    free(fill);
    *start_out = start;
    *items_out = items;
}

static cr_reach_class class_of(const char *c)
{
    static const char *names[] = {"mainstem", "tributary", "canal", "lake_link"};
    for (int i = 0; c && i < 4; i++) {
        if (strcmp(c, names[i]) == 0) {
            return (cr_reach_class)i;
        }
    }
    return CR_CLASS_OTHER;
}

typedef struct {
    int32_t *slot; /* open addressing over mainstem names: index or -1 */
    size_t cap;
} mainstem_index;

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

static int32_t intern_mainstem(cr_graph *g, const char *name, mainstem_index *ix)
{
    name = name ? name : "";
    if ((size_t)(g->n_mainstems + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 1024;
        int32_t *slot = cr_xmalloc(cap * sizeof *slot);
        for (size_t i = 0; i < cap; i++) {
            slot[i] = -1;
        }
        for (int32_t m = 0; m < g->n_mainstems; m++) {
            size_t h = hash_text(g->mainstem_name[m]) & (cap - 1);
            while (slot[h] >= 0) {
                h = (h + 1) & (cap - 1);
            }
            slot[h] = m;
        }
        free(ix->slot);
        ix->slot = slot;
        ix->cap = cap;
    }
    size_t h = hash_text(name) & (ix->cap - 1);
    while (ix->slot[h] >= 0) {
        if (strcmp(g->mainstem_name[ix->slot[h]], name) == 0) {
            return ix->slot[h];
        }
        h = (h + 1) & (ix->cap - 1);
    }
    g->mainstem_name =
        cr_xrealloc(g->mainstem_name, ((size_t)g->n_mainstems + 1) * sizeof *g->mainstem_name);
    g->mainstem_name[g->n_mainstems] = cr_xstrdup(name);
    ix->slot[h] = g->n_mainstems;
    return g->n_mainstems++;
}

#define PERMUTE(type, arr, n, map)                                                                 \
    do {                                                                                           \
        type *fresh_ = cr_xmalloc(((size_t)(n) + 1) * sizeof *fresh_);                             \
        for (int32_t i_ = 0; i_ < (n); i_++) {                                                     \
            fresh_[(map)[i_]] = (arr)[i_];                                                         \
        }                                                                                          \
        free(arr);                                                                                 \
        (arr) = fresh_;                                                                            \
    } while (0)

/* Number nodes breadth-first upstream from the outlets (then whatever no outlet reaches), and
 * reaches in the order their downstream node is met; rebuild the CSR arrays. Reach IDs stay
 * findable through id_order (the load order was by ID). */
static void renumber(cr_graph *g)
{
    int32_t nn = g->n_nodes;
    int32_t nr = g->n_reaches;
    int32_t *order = cr_xmalloc(((size_t)nn + 1) * sizeof *order);
    int32_t *new_node = cr_xmalloc(((size_t)nn + 1) * sizeof *new_node);
    int32_t *new_reach = cr_xmalloc(((size_t)nr + 1) * sizeof *new_reach);
    for (int32_t v = 0; v < nn; v++) {
        new_node[v] = -1;
    }
    for (int32_t r = 0; r < nr; r++) {
        new_reach[r] = -1;
    }
    int32_t head = 0;
    int32_t tail = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int32_t v0 = 0; v0 < nn; v0++) {
            int outlet = g->down_start[v0] == g->down_start[v0 + 1];
            if (new_node[v0] >= 0 || (pass == 0 && !outlet)) {
                continue;
            }
            new_node[v0] = tail;
            order[tail++] = v0;
            while (head < tail) {
                int32_t v = order[head++];
                for (int32_t k = g->up_start[v]; k < g->up_start[v + 1]; k++) {
                    int32_t w = g->from_node[g->up_reach[k]];
                    if (new_node[w] < 0) {
                        new_node[w] = tail;
                        order[tail++] = w;
                    }
                }
            }
        }
    }
    int32_t next = 0;
    for (int32_t i = 0; i < nn; i++) {
        int32_t v = order[i];
        for (int32_t k = g->up_start[v]; k < g->up_start[v + 1]; k++) {
            if (new_reach[g->up_reach[k]] < 0) {
                new_reach[g->up_reach[k]] = next++;
            }
        }
    }
    g->id_order = cr_xmalloc(((size_t)nr + 1) * sizeof *g->id_order);
    for (int32_t r = 0; r < nr; r++) {
        g->id_order[r] = new_reach[r]; /* loaded in ID order */
        g->from_node[r] = new_node[g->from_node[r]];
        g->to_node[r] = new_node[g->to_node[r]];
    }
    PERMUTE(char *, g->reach_id, nr, new_reach);
    PERMUTE(int64_t, g->reach_fid, nr, new_reach);
    PERMUTE(int32_t, g->from_node, nr, new_reach);
    PERMUTE(int32_t, g->to_node, nr, new_reach);
    PERMUTE(double, g->length_m, nr, new_reach);
    PERMUTE(double, g->velocity_ms, nr, new_reach);
    PERMUTE(double, g->discharge_m3s, nr, new_reach);
    PERMUTE(uint8_t, g->flow, nr, new_reach);
    PERMUTE(int32_t, g->strahler, nr, new_reach);
    PERMUTE(uint8_t, g->reach_class, nr, new_reach);
    PERMUTE(uint8_t, g->minor, nr, new_reach);
    PERMUTE(int32_t, g->mainstem, nr, new_reach);
    PERMUTE(double, g->node_lon, nn, new_node);
    PERMUTE(double, g->node_lat, nn, new_node);
    PERMUTE(int32_t, g->node_lake, nn, new_node);
    free(g->down_start);
    free(g->down_reach);
    free(g->up_start);
    free(g->up_reach);
    build_csr(nn, nr, g->from_node, &g->down_start, &g->down_reach);
    build_csr(nn, nr, g->to_node, &g->up_start, &g->up_reach);
    free(order);
    free(new_node);
    free(new_reach);
}

cr_status cr_graph_load(cr_store *store, cr_graph **out, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT r.fid, r.source_id, d.from_node, d.to_node, d.length_m,"
                           " r.velocity_ms, r.flow, d.strahler, r.reach_class, d.mainstem,"
                           " r.discharge_m3s, r.divergence"
                           " FROM reaches r JOIN"
                           " reaches_derived d ON d.fid = r.fid WHERE r.valid_to IS NULL"
                           " ORDER BY r.source_id",
                           -1, &st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "graph: %s", sqlite3_errmsg(db));
    }
    cr_graph *g = cr_xcalloc(1, sizeof *g);
    mainstem_index names = {0};
    size_t cap = 0;
    int32_t max_node = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if ((size_t)g->n_reaches == cap) {
            cap = cap ? cap * 2 : 4096;
            g->reach_id = cr_xrealloc(g->reach_id, cap * sizeof *g->reach_id);
            g->reach_fid = cr_xrealloc(g->reach_fid, cap * sizeof *g->reach_fid);
            g->from_node = cr_xrealloc(g->from_node, cap * sizeof *g->from_node);
            g->to_node = cr_xrealloc(g->to_node, cap * sizeof *g->to_node);
            g->length_m = cr_xrealloc(g->length_m, cap * sizeof *g->length_m);
            g->velocity_ms = cr_xrealloc(g->velocity_ms, cap * sizeof *g->velocity_ms);
            g->discharge_m3s = cr_xrealloc(g->discharge_m3s, cap * sizeof *g->discharge_m3s);
            g->flow = cr_xrealloc(g->flow, cap * sizeof *g->flow);
            g->strahler = cr_xrealloc(g->strahler, cap * sizeof *g->strahler);
            g->reach_class = cr_xrealloc(g->reach_class, cap * sizeof *g->reach_class);
            g->minor = cr_xrealloc(g->minor, cap * sizeof *g->minor);
            g->mainstem = cr_xrealloc(g->mainstem, cap * sizeof *g->mainstem);
        }
        int32_t r = g->n_reaches++;
        g->reach_fid[r] = sqlite3_column_int64(st, 0);
        g->reach_id[r] = cr_xstrdup((const char *)sqlite3_column_text(st, 1));
        g->from_node[r] = sqlite3_column_int(st, 2);
        g->to_node[r] = sqlite3_column_int(st, 3);
        g->length_m[r] = sqlite3_column_double(st, 4);
        g->velocity_ms[r] =
            sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
        g->discharge_m3s[r] =
            sqlite3_column_type(st, 10) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 10);
        const char *flow = (const char *)sqlite3_column_text(st, 6);
        g->flow[r] = (uint8_t)cr_flow_parse(flow);
        g->strahler[r] = sqlite3_column_int(st, 7);
        g->reach_class[r] = (uint8_t)class_of((const char *)sqlite3_column_text(st, 8));
        const char *div = (const char *)sqlite3_column_text(st, 11);
        g->minor[r] = div != NULL && strcmp(div, "minor") == 0;
        g->mainstem[r] = intern_mainstem(g, (const char *)sqlite3_column_text(st, 9), &names);
        max_node = g->from_node[r] > max_node ? g->from_node[r] : max_node;
        max_node = g->to_node[r] > max_node ? g->to_node[r] : max_node;
    }
    sqlite3_finalize(st);
    free(names.slot);
    g->n_nodes = max_node + 1;
    build_csr(g->n_nodes, g->n_reaches, g->from_node, &g->down_start, &g->down_reach);
    build_csr(g->n_nodes, g->n_reaches, g->to_node, &g->up_start, &g->up_reach);
    g->node_lon = cr_xcalloc((size_t)g->n_nodes + 1, sizeof *g->node_lon);
    g->node_lat = cr_xcalloc((size_t)g->n_nodes + 1, sizeof *g->node_lat);
    g->node_lake = cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof *g->node_lake);
    for (int32_t v = 0; v < g->n_nodes; v++) {
        g->node_lake[v] = -1;
    }
    cr_status rc = load_nodes(g, db, err);
    if (rc == CR_OK) {
        rc = load_lakes(g, db, err);
    }
    if (rc == CR_OK) {
        renumber(g);
    }
    if (rc != CR_OK) {
        cr_graph_free(g);
        return rc;
    }
    *out = g;
    return CR_OK;
}

void cr_graph_free(cr_graph *g)
{
    if (g == NULL) {
        return;
    }
    for (int32_t r = 0; r < g->n_reaches; r++) {
        free(g->reach_id[r]);
    }
    for (int32_t l = 0; l < g->n_lakes; l++) {
        free(g->lake_id[l]);
    }
    for (int32_t m = 0; m < g->n_mainstems; m++) {
        free(g->mainstem_name[m]);
    }
    free(g->mainstem_name);
    free(g->reach_class);
    free(g->minor);
    free(g->mainstem);
    free(g->reach_id);
    free(g->id_order);
    free(g->reach_fid);
    free(g->from_node);
    free(g->to_node);
    free(g->length_m);
    free(g->velocity_ms);
    free(g->discharge_m3s);
    free(g->flow);
    free(g->strahler);
    free(g->down_start);
    free(g->down_reach);
    free(g->up_start);
    free(g->up_reach);
    free(g->node_lon);
    free(g->node_lat);
    free(g->node_lake);
    free(g->lake_id);
    free(g->lake_residence_h);
    free(g);
}

int32_t cr_graph_find_reach(const cr_graph *g, const char *reach_id)
{
    int32_t lo = 0;
    int32_t hi = g->n_reaches;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->reach_id[g->id_order[mid]], reach_id);
        if (c == 0) {
            return g->id_order[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

int cr_graph_check(const cr_graph *g)
{
    if (g->down_start[0] != 0 || g->up_start[0] != 0 || g->down_start[g->n_nodes] != g->n_reaches ||
        g->up_start[g->n_nodes] != g->n_reaches) {
        return 0;
    }
    for (int32_t v = 0; v < g->n_nodes; v++) {
        for (int32_t k = g->down_start[v]; k < g->down_start[v + 1]; k++) {
            if (g->from_node[g->down_reach[k]] != v) {
                return 0;
            }
        }
        for (int32_t k = g->up_start[v]; k < g->up_start[v + 1]; k++) {
            if (g->to_node[g->up_reach[k]] != v) {
                return 0;
            }
        }
    }
    for (int32_t r = 1; r < g->n_reaches; r++) {
        if (strcmp(g->reach_id[g->id_order[r - 1]], g->reach_id[g->id_order[r]]) >= 0) {
            return 0;
        }
    }
    return 1;
}
