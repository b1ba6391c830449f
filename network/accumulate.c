/* SPDX-License-Identifier: MIT */
/* Upstream accumulation: a per-reach quantity (drainage area, discharge) or the sum of a field
 * of the point features joined to each reach (an outfall's discharge, a load), added up over
 * everything upstream of every reach, nodes taken in flow order. At a split the inflow goes to
 * the main path, or by each leaving reach's fraction field. Rule: each source counts once on
 * every path it can reach; one-way cycles are cut where they close, and counted. */
#include "network.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t fid;
    int32_t r;
} fid_slot;

static int compare_fid(const void *a, const void *b)
{
    int64_t x = ((const fid_slot *)a)->fid, y = ((const fid_slot *)b)->fid;
    return (x > y) - (x < y);
}

static int32_t reach_of_fid(const fid_slot *map, int32_t n, int64_t fid)
{
    fid_slot key = {fid, 0};
    const fid_slot *hit = bsearch(&key, map, (size_t)n, sizeof *map, compare_fid);
    return hit ? hit->r : -1;
}

static int numeric_field(const cr_layer_def *d, const char *field)
{
    int i = d ? cr_layer_def_field_index(d, field) : -1;
    return i >= 0 && (d->fields[i].type == CR_FT_REAL || d->fields[i].type == CR_FT_INTEGER);
}

/* Per graph reach, a value of the reaches' own field (missing: 0); *given counts them. */
static cr_status reach_values(cr_store *store, const cr_graph *g, const char *field, double *out,
                              int64_t *given, cr_error *err)
{
    fid_slot *map = cr_xmalloc(((size_t)g->n_reaches + 1) * sizeof *map);
    for (int32_t r = 0; r < g->n_reaches; r++) {
        map[r] = (fid_slot){g->reach_fid[r], r};
    }
    qsort(map, (size_t)g->n_reaches, sizeof *map, compare_fid);
    char *sql = sqlite3_mprintf("SELECT fid, \"%w\" FROM reaches_current", field);
    sqlite3_stmt *st;
    cr_status rc = CR_OK;
    if (sqlite3_prepare_v2(cr_store_db(store), sql, -1, &st, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "accumulate: %s", sqlite3_errmsg(cr_store_db(store)));
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int32_t r = reach_of_fid(map, g->n_reaches, sqlite3_column_int64(st, 0));
            if (r >= 0 && sqlite3_column_type(st, 1) != SQLITE_NULL) {
                out[r] = sqlite3_column_double(st, 1);
                (*given)++;
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    free(map);
    return rc;
}

/* Per graph reach, the sum of LAYER.FIELD over the current features joined to it. */
static cr_status feature_values(cr_store *store, const cr_graph *g, const char *layer,
                                const char *field, double *out, int64_t *given, cr_error *err)
{
    char *sql = sqlite3_mprintf("SELECT reach_id, sum(\"%w\"), count(\"%w\") FROM \"%w_current\""
                                " WHERE reach_id IS NOT NULL GROUP BY reach_id",
                                field, field, layer);
    sqlite3_stmt *st;
    cr_status rc = CR_OK;
    if (sqlite3_prepare_v2(cr_store_db(store), sql, -1, &st, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EINVAL,
                          "accumulate: %s.%s: %s (a point layer joined to "
                          "reaches?)",
                          layer, field, sqlite3_errmsg(cr_store_db(store)));
    } else {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int32_t r = cr_graph_find_reach(g, (const char *)sqlite3_column_text(st, 0));
            if (r >= 0) {
                out[r] += sqlite3_column_double(st, 1);
                *given += sqlite3_column_int64(st, 2);
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return rc;
}

/* The share of node v's inflow that leaving reach s takes. */
static double share(const cr_graph *g, const cr_accumulate_options *opt, const double *fraction,
                    const double *total, int32_t v, int32_t s)
{
    int32_t n = g->down_start[v + 1] - g->down_start[v];
    if (n == 1) {
        return 1;
    }
    if (opt->split == CR_SPLIT_FRACTION) {
        double sum = 0;
        int all = 1;
        for (int32_t k = g->down_start[v]; k < g->down_start[v + 1]; k++) {
            double f = fraction[g->down_reach[k]];
            all &= isfinite(f) && f >= 0;
            sum += isfinite(f) && f >= 0 ? f : 0;
        }
        return all && sum > 0 ? fraction[s] / sum : 1.0 / n;
    }
    /* all to the main path: not a minor divergence; of several, the one carrying the mainstem
     * of the largest inflow, else the highest order */
    int32_t main_ms = -1;
    double best_in = -1;
    for (int32_t k = g->up_start[v]; k < g->up_start[v + 1]; k++) {
        int32_t u = g->up_reach[k];
        if (total[u] > best_in) {
            best_in = total[u];
            main_ms = g->mainstem[u];
        }
    }
    int32_t pick = -1;
    for (int32_t k = g->down_start[v]; k < g->down_start[v + 1]; k++) {
        int32_t c = g->down_reach[k];
        if (g->minor[c]) {
            continue;
        }
        if (pick < 0 || (g->mainstem[c] == main_ms && g->mainstem[pick] != main_ms) ||
            ((g->mainstem[c] == main_ms) == (g->mainstem[pick] == main_ms) &&
             g->strahler[c] > g->strahler[pick])) {
            pick = c;
        }
    }
    return pick < 0 ? 1.0 / n : (pick == s ? 1 : 0);
}

/* Push node v's inflow into its leaving reaches. */
static void settle(const cr_graph *g, const cr_accumulate_options *opt, const double *fraction,
                   const double *local, double *total, int32_t v)
{
    double inflow = 0;
    for (int32_t k = g->up_start[v]; k < g->up_start[v + 1]; k++) {
        inflow += total[g->up_reach[k]];
    }
    for (int32_t k = g->down_start[v]; k < g->down_start[v + 1]; k++) {
        int32_t s = g->down_reach[k];
        total[s] = local[s] + inflow * share(g, opt, fraction, total, v, s);
    }
}

/* Totals in Kahn's order over nodes (a node is settled once every reach arriving at it is),
 * cutting one-way cycles where they close; *in_cycles counts the reaches on them and
 * *at_outlets sums what leaves the network. */
static void sum_downstream(const cr_graph *g, const cr_accumulate_options *opt,
                           const double *fraction, const double *local, double *total,
                           int64_t *in_cycles, double *at_outlets)
{
    /* Kahn's order over nodes: a node is settled once every reach arriving at it is */
    int32_t nn = g->n_nodes;
    int32_t *pending = cr_xmalloc(((size_t)nn + 1) * sizeof *pending);
    int32_t *queue = cr_xmalloc(((size_t)nn + 1) * sizeof *queue);
    unsigned char *settled = cr_xcalloc((size_t)nn + 1, 1);
    size_t head = 0, tail = 0;
    for (int32_t v = 0; v < nn; v++) {
        pending[v] = g->up_start[v + 1] - g->up_start[v];
        if (pending[v] == 0) {
            queue[tail++] = v;
        }
    }
    for (int32_t next = 0; next <= nn;) {
        while (head < tail) {
            int32_t v = queue[head++];
            settled[v] = 1;
            settle(g, opt, fraction, local, total, v);
            for (int32_t k = g->down_start[v]; k < g->down_start[v + 1]; k++) {
                int32_t w = g->to_node[g->down_reach[k]];
                if (--pending[w] == 0 && !settled[w]) {
                    queue[tail++] = w;
                }
            }
        }
        /* what is left lies on one-way cycles: cut each where it closes */
        while (next < nn && settled[next]) {
            next++;
        }
        if (next == nn) {
            break;
        }
        *in_cycles += g->down_start[next + 1] - g->down_start[next];
        pending[next] = 0;
        queue[tail++] = next;
    }
    for (int32_t r = 0; r < g->n_reaches; r++) {
        int32_t w = g->to_node[r];
        if (g->down_start[w] == g->down_start[w + 1]) {
            *at_outlets += total[r];
        }
    }
    free(pending);
    free(queue);
    free(settled);
}

cr_status cr_network_accumulate(cr_store *store, const cr_graph *g,
                                const cr_accumulate_options *opt, double **values_out,
                                cr_accumulate_report *rep, cr_error *err)
{
    memset(rep, 0, sizeof *rep);
    double t0 = cr_monotonic_s();
    const cr_layer_set *set = cr_store_layers(store);
    const char *dot = strchr(opt->field, '.');
    char layer[64] = "reaches";
    const char *field = opt->field;
    if (dot) {
        snprintf(layer, sizeof layer, "%.*s", (int)(dot - opt->field), opt->field);
        field = dot + 1;
    }
    const cr_layer_def *d = cr_layer_set_find(set, layer);
    if (!numeric_field(d, field)) {
        return cr_error_set(err, CR_EINVAL,
                            "accumulate: %s is not a number field of %s (a reach field such as "
                            "discharge_m3s, or LAYER.FIELD such as outfalls.discharge_m3d)",
                            opt->field, d ? layer : "a known layer");
    }
    if (opt->split == CR_SPLIT_FRACTION &&
        !numeric_field(cr_layer_set_find(set, "reaches"), opt->fraction_field)) {
        return cr_error_set(err, CR_EINVAL,
                            "accumulate: split fraction %s is not a number field "
                            "of reaches",
                            opt->fraction_field ? opt->fraction_field : "(none)");
    }
    size_t nr = (size_t)g->n_reaches + 1;
    double *local = cr_xcalloc(nr, sizeof *local);
    double *total = cr_xcalloc(nr, sizeof *total);
    double *fraction = cr_xmalloc(nr * sizeof *fraction);
    for (size_t r = 0; r < nr; r++) {
        fraction[r] = NAN;
    }
    cr_status rc = dot ? feature_values(store, g, layer, field, local, &rep->sources, err)
                       : reach_values(store, g, field, local, &rep->sources, err);
    if (rc == CR_OK && opt->split == CR_SPLIT_FRACTION) {
        int64_t ignored = 0;
        rc = reach_values(store, g, opt->fraction_field, fraction, &ignored, err);
    }
    if (rc == CR_OK) {
        sum_downstream(g, opt, fraction, local, total, &rep->in_cycles, &rep->at_outlets);
        rep->reaches = g->n_reaches;
        rc = cr_network_store_accumulation(store, g, opt->field, total, err);
    }
    free(local);
    free(fraction);
    rep->seconds = cr_monotonic_s() - t0;
    if (rc == CR_OK && values_out) {
        *values_out = total;
    } else {
        free(total);
    }
    return rc;
}

cr_status cr_network_store_accumulation(cr_store *store, const cr_graph *g, const char *field,
                                        const double *total, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    cr_status rc = cr_store_exec(
        store,
        "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS reach_accumulations (field TEXT NOT NULL,"
        " reach_fid INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (field, reach_fid))"
        " WITHOUT ROWID",
        err);
    sqlite3_stmt *del = NULL, *ins = NULL;
    if (rc == CR_OK && (sqlite3_prepare_v2(db, "DELETE FROM reach_accumulations WHERE field = ?",
                                           -1, &del, NULL) != SQLITE_OK ||
                        sqlite3_prepare_v2(db, "INSERT INTO reach_accumulations VALUES (?, ?, ?)",
                                           -1, &ins, NULL) != SQLITE_OK)) {
        rc = cr_error_set(err, CR_EDB, "accumulate: %s", sqlite3_errmsg(db));
    }
    if (rc == CR_OK) {
        sqlite3_bind_text(del, 1, field, -1, SQLITE_STATIC);
        rc = sqlite3_step(del) == SQLITE_DONE
                 ? CR_OK
                 : cr_error_set(err, CR_EDB, "accumulate: %s", sqlite3_errmsg(db));
    }
    for (int32_t r = 0; rc == CR_OK && r < g->n_reaches; r++) {
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, field, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, g->reach_fid[r]);
        sqlite3_bind_double(ins, 3, total[r]);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "accumulate: %s", sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    /* tiles show the totals: servers drop the reaches' tiles as after an import */
    int64_t gen = 0;
    const cr_layer_def *reaches = cr_layer_set_find(cr_store_layers(store), "reaches");
    if (rc == CR_OK) {
        rc = cr_store_bump_generation(store, &gen, err);
    }
    if (rc == CR_OK && reaches) {
        rc = cr_store_record_layer_change(store, reaches, gen, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    } else {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}
