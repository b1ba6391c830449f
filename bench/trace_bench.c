/* SPDX-License-Identifier: MIT */
/* Tracing benchmark driver: loads the stored network once, then times (1) an upstream trace of
 * every branch from the outlet with no bound (the whole basin) and (2) 1,000 downstream traces
 * bounded at 20 km from random reaches (seeded), reporting p50/p99. Prints one JSON line.
 * Usage: trace_bench STORE [LAYERS_DIR] */
#include "network/network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trace_bench STORE [LAYERS_DIR]\n");
        return 2;
    }
    cr_layer_set *set = NULL;
    cr_store *store = NULL;
    cr_error e = {0};
    if (cr_layer_set_load(argc > 2 ? argv[2] : cr_layers_default_dir(), &set, &e) != CR_OK ||
        cr_store_open(argv[1], set, &store, &e) != CR_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double t0 = cr_monotonic_s();
    cr_graph *g = NULL;
    if (cr_graph_load(store, &g, &e) != CR_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double load_s = cr_monotonic_s() - t0;
    /* the outlet: the reach whose downstream node has nothing leaving it, most upstream length */
    int32_t outlet = -1;
    for (int32_t r = 0; r < g->n_reaches; r++) {
        int32_t v = g->to_node[r];
        if (g->down_start[v] == g->down_start[v + 1] &&
            (outlet < 0 || g->strahler[r] > g->strahler[outlet])) {
            outlet = r;
        }
    }
    cr_trace_workspace *ws = cr_trace_workspace_new(g); /* one per thread, reused */
    cr_trace_options up = {.direction = CR_TRACE_UP};
    cr_trace_result res;
    double best = 1e9;
    size_t whole = 0;
    for (int rep = 0; rep < 5; rep++) { /* best of 5 */
        t0 = cr_monotonic_s();
        cr_trace_run_ws(g, ws, outlet, g->length_m[outlet], &up, &res, &e);
        double s = cr_monotonic_s() - t0;
        best = s < best ? s : best;
        whole = res.n;
        cr_trace_result_recycle(ws, &res);
    }
    enum { N = 1000 };
    double ms[N];
    size_t reached = 0;
    unsigned long long x = 42;
    cr_trace_options down = {.direction = CR_TRACE_DOWN, .max_km = 20.0};
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        /* the k-th reach in ID order, as the NetworkX script picks them */
        int32_t start = g->id_order[(x >> 33) % (unsigned long long)g->n_reaches];
        t0 = cr_monotonic_s();
        cr_trace_run_ws(g, ws, start, 0, &down, &res, &e);
        ms[i] = (cr_monotonic_s() - t0) * 1000.0;
        reached += res.n;
        cr_trace_result_recycle(ws, &res);
    }
    qsort(ms, N, sizeof ms[0], compare_double);
    printf("{\"reaches\": %d, \"graph_load_s\": %.3f, \"outlet\": \"%s\", \"whole_basin_up_ms\": "
           "%.2f, \"whole_basin_reaches\": %zu, \"bounded_p50_ms\": %.4f, \"bounded_p99_ms\": "
           "%.4f, \"bounded_mean_reaches\": %.1f}\n",
           g->n_reaches, load_s, g->reach_id[outlet], best * 1000.0, whole, ms[N / 2],
           ms[N * 99 / 100], (double)reached / N);
    cr_trace_workspace_free(ws);
    cr_graph_free(g);
    cr_store_close(store);
    cr_layer_set_free(set);
    return 0;
}
