/* SPDX-License-Identifier: MIT */
/* GET /metrics (Prometheus text format 0.0.4) and the counters every answer adds to. */
#include "server_internal.h"

#include <stdio.h>

const double CR_METRIC_BUCKETS[CR_N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025,  0.05,  0.1,    0.5};

void cr_srv_record(metrics *m, int route, int status, double seconds)
{
    int cls = status >= 100 && status < 600 ? status / 100 - 1 : 4;
    atomic_fetch_add(&m->requests[route][cls], 1);
    int b = 0;
    while (b < CR_N_BUCKETS && seconds > CR_METRIC_BUCKETS[b]) {
        b++;
    }
    if (b < CR_N_BUCKETS) {
        atomic_fetch_add(&m->bucket[b], 1);
    }
    atomic_fetch_add(&m->count, 1);
    atomic_fetch_add(&m->micros, (uint_fast64_t)(seconds * 1e6 + 0.5));
}

/* GET /metrics: Prometheus text exposition format 0.0.4. */
/* Requests by route and status class. */
static void requests_by_route(metrics *m, cr_strbuf *b)
{
    cr_strbuf_puts(b, "# HELP crossriver_http_requests_total HTTP requests answered, by route and "
                      "status class.\n# TYPE crossriver_http_requests_total counter\n");
    size_t n_routes = CR_N_ROUTES;
    for (size_t r = 0; r <= n_routes && r <= CR_MAX_ROUTES; r++) {
        size_t idx = r == n_routes ? CR_MAX_ROUTES : r;
        for (int c = 0; c < 5; c++) {
            uint64_t v = atomic_load(&m->requests[idx][c]);
            if (v) {
                cr_strbuf_printf(
                    b, "crossriver_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                    r == n_routes ? "none" : CR_ROUTES[r].path, c + 1, (unsigned long long)v);
            }
        }
    }
}

/* The latency histogram. */
static void latency(metrics *m, cr_strbuf *b)
{
    cr_strbuf_puts(b, "# HELP crossriver_http_request_duration_seconds Time to answer a request.\n"
                      "# TYPE crossriver_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < CR_N_BUCKETS; i++) {
        cum += atomic_load(&m->bucket[i]);
        cr_strbuf_printf(b, "crossriver_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                         CR_METRIC_BUCKETS[i], (unsigned long long)cum);
    }
    uint64_t count = atomic_load(&m->count);
    cr_strbuf_printf(b,
                     "crossriver_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                     "crossriver_http_request_duration_seconds_sum %.6f\n"
                     "crossriver_http_request_duration_seconds_count %llu\n",
                     (unsigned long long)count, (double)atomic_load(&m->micros) / 1e6,
                     (unsigned long long)count);
}

/* Tile responses, the data generation and the network's size. */
static void tiles_and_data(metrics *m, const worker *w, cr_strbuf *b)
{
    cr_strbuf_printf(b,
                     "# HELP crossriver_tiles_total Tile responses (any status).\n"
                     "# TYPE crossriver_tiles_total counter\ncrossriver_tiles_total %llu\n"
                     "# HELP crossriver_tiles_not_modified_total Tile revalidations answered 304.\n"
                     "# TYPE crossriver_tiles_not_modified_total counter\n"
                     "crossriver_tiles_not_modified_total %llu\n"
                     "# HELP crossriver_tiles_empty_total Tiles with nothing in them.\n"
                     "# TYPE crossriver_tiles_empty_total counter\n"
                     "crossriver_tiles_empty_total %llu\n"
                     "# HELP crossriver_tile_bytes_total Tile bytes sent (after compression).\n"
                     "# TYPE crossriver_tile_bytes_total counter\n"
                     "crossriver_tile_bytes_total %llu\n"
                     "# HELP crossriver_data_generation The store's data generation.\n"
                     "# TYPE crossriver_data_generation gauge\n"
                     "crossriver_data_generation %lld\n"
                     "# HELP crossriver_network_reaches Reaches in the loaded network.\n"
                     "# TYPE crossriver_network_reaches gauge\n"
                     "crossriver_network_reaches %d\n",
                     (unsigned long long)atomic_load(&m->tiles),
                     (unsigned long long)atomic_load(&m->tiles_not_modified),
                     (unsigned long long)atomic_load(&m->tiles_empty),
                     (unsigned long long)atomic_load(&m->tile_bytes),
                     (long long)cr_store_data_generation(w->store), w->snap->net->graph->n_reaches);
}

/* The tile cache, restricted answers, refusals and reloads. */
static void cache_and_access(server_state *s, cr_strbuf *b)
{
    metrics *m = &s->m;
    cr_tile_cache_stats cs;
    cr_tile_cache_get_stats(s->cache, &cs);
    const struct {
        const char *name, *type, *help;
        double value;
    } more[] = {
        {"tile_cache_hits_total", "counter", "Tiles answered from the cache.", (double)cs.hits},
        {"tile_cache_misses_total", "counter", "Tiles not in the cache (rendered).",
         (double)cs.misses},
        {"tile_cache_stores_total", "counter", "Rendered tiles stored in the cache.",
         (double)cs.stores},
        {"tile_cache_refused_total", "counter",
         "Rendered tiles not stored because the data changed while rendering.", (double)cs.refused},
        {"tile_cache_evictions_total", "counter", "Tiles dropped to stay within the memory bound.",
         (double)cs.evictions},
        {"tile_cache_invalidated_total", "counter", "Tiles dropped because data they show changed.",
         (double)cs.invalidated},
        {"tile_cache_entries", "gauge", "Tiles in the cache.", (double)cs.entries},
        {"tile_cache_bytes", "gauge", "Memory the cached tiles take.", (double)cs.bytes},
        {"tile_cache_max_bytes", "gauge", "The cache's memory bound.", (double)cs.max_bytes},
        {"tile_cache_generation", "gauge", "The data generation the cache reflects.",
         (double)cs.generation},
        {"restricted_responses_total", "counter", "Responses that carried restricted data.",
         (double)atomic_load(&m->restricted)},
        {"auth_failures_total", "counter", "Requests refused for an unknown or expired token.",
         (double)atomic_load(&m->auth_failures)},
        {"reloads_total", "counter", "Configuration or network reloads done.",
         (double)atomic_load(&m->reloads)},
        {"reload_failures_total", "counter", "Reloads refused (the old configuration stays).",
         (double)atomic_load(&m->reload_failures)},
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        cr_strbuf_printf(
            b, "# HELP crossriver_%s %s\n# TYPE crossriver_%s %s\ncrossriver_%s %.0f\n",
            more[i].name, more[i].help, more[i].name, more[i].type, more[i].name, more[i].value);
    }
}

cr_status cr_res_metrics(server_state *s, worker *w, const request *req, response *res,
                         cr_error *err)
{
    (void)req;
    (void)err;
    cr_strbuf b = {0};
    requests_by_route(&s->m, &b);
    latency(&s->m, &b);
    tiles_and_data(&s->m, w, &b);
    cache_and_access(s, &b);
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    res->raw_set = 1;
    res->raw_len = b.len;
    res->raw = cr_strbuf_take(&b);
    return CR_OK;
}
