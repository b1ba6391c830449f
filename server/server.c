/* SPDX-License-Identifier: MIT */
/* libmicrohttpd adapter and the route table: parse the request, find the route (404 for an
 * unknown path, 405 for a known path with another method), call the handler, send JSON, log. */
#include "server.h"

#include "api/api.h"
#include "tiler/tile.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARAM_BYTES 1024

/* Request metrics (/metrics, Prometheus text format); updated by every worker, lock-free. */
#define N_BUCKETS 9
static const double BUCKETS[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,  0.1,    0.5};
#define MAX_ROUTES 16
typedef struct {
    atomic_uint_fast64_t requests[MAX_ROUTES + 1][5]; /* route (last: none) × 1xx…5xx */
    atomic_uint_fast64_t bucket[N_BUCKETS];           /* non-cumulative here */
    atomic_uint_fast64_t count, micros;               /* duration count and sum */
    atomic_uint_fast64_t tiles, tiles_not_modified, tile_bytes, tiles_empty;
} metrics;

/* Shared, read-only while serving. */
typedef struct {
    metrics m;
    const cr_server_config *cfg;
    cr_layer_set *set;
    cr_graph *graph;
    cr_join_ref *ref; /* reach index for snapping points (segment index only: thread-safe) */
    pthread_key_t worker_key;
} server_state;

/* Per worker thread, created on its first request. */
typedef struct {
    cr_store *store;
    cr_trace_workspace *ws;
} worker;

typedef struct {
    const char *method; /* "GET" */
    const char *path;
    json_t *params;            /* query parameters: name → string */
    int accept_gzip;           /* Accept-Encoding names gzip */
    const char *if_none_match; /* If-None-Match, or NULL */
    const char *host;          /* Host, or NULL */
} request;

typedef struct {
    int status;
    json_t *body; /* owned; JSON answers */
    const char *content_type;
    char *raw; /* owned; binary answers (tiles) instead of body */
    size_t raw_len;
    int raw_set;
    char etag[80];             /* ETag header, or "" */
    const char *encoding;      /* Content-Encoding, or NULL */
    const char *cache_control; /* NULL: no-store */
} response;

typedef void (*handler_fn)(server_state *s, worker *w, const request *req, response *res);

static void error_response(response *res, int status, const char *message)
{
    res->status = status;
    res->content_type = "application/json; charset=utf-8";
    res->body = json_pack("{s:s, s:i}", "error", message, "status", status);
}

static int http_status(cr_status rc)
{
    return rc == CR_EINVAL      ? MHD_HTTP_BAD_REQUEST
           : rc == CR_ENOTFOUND ? MHD_HTTP_NOT_FOUND
                                : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static void handle_health(server_state *s, worker *w, const request *req, response *res)
{
    (void)req;
    res->status = MHD_HTTP_OK;
    res->content_type = "application/json; charset=utf-8";
    res->body = json_pack("{s:s, s:i, s:i, s:I}", "status", "ok", "reaches", s->graph->n_reaches,
                          "nodes", s->graph->n_nodes, "data_generation",
                          (json_int_t)cr_store_data_generation(w->store));
}

/* Read a number parameter in [lo, hi]; 0 and an error response when bad. */
static int number_param(const request *req, const char *name, double lo, double hi, double *out,
                        response *res)
{
    const char *v = json_string_value(json_object_get(req->params, name));
    if (v == NULL) {
        return 1;
    }
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= lo && d <= hi)) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: '%s' is not a number in [%g, %g]", name, v, lo, hi);
        error_response(res, MHD_HTTP_BAD_REQUEST, msg);
        return 0;
    }
    *out = d;
    return 1;
}

static void handle_trace(server_state *s, worker *w, const request *req, response *res)
{
    static const char *allowed[] = {
        "reach",          "feature",   "at",       "direction",   "mode",
        "max_km",         "max_hours", "velocity", "dispersion",  "gates_closed",
        "gates_reversed", "stop_at",   "spill_kg", "spill_hours", "format"};
    const char *key;
    json_t *val;
    json_object_foreach(req->params, key, val)
    {
        int ok = 0;
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
            ok |= strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            char msg[256];
            snprintf(msg, sizeof msg, "unknown parameter '%.64s' (see docs/http-api.md)", key);
            error_response(res, MHD_HTTP_BAD_REQUEST, msg);
            return;
        }
    }
    cr_trace_request tr = {0};
    tr.reach = json_string_value(json_object_get(req->params, "reach"));
    tr.feature = json_string_value(json_object_get(req->params, "feature"));
    const char *at = json_string_value(json_object_get(req->params, "at"));
    const char *dir = json_string_value(json_object_get(req->params, "direction"));
    const char *mode = json_string_value(json_object_get(req->params, "mode"));
    const char *format = json_string_value(json_object_get(req->params, "format"));
    if ((tr.reach != NULL) + (tr.feature != NULL) + (at != NULL) != 1) {
        error_response(res, MHD_HTTP_BAD_REQUEST, "give exactly one of reach, feature, at");
        return;
    }
    if (dir == NULL || (strcmp(dir, "up") != 0 && strcmp(dir, "down") != 0)) {
        error_response(res, MHD_HTTP_BAD_REQUEST, "direction: up or down is required");
        return;
    }
    if (mode && strcmp(mode, "all") != 0 && strcmp(mode, "main") != 0) {
        error_response(res, MHD_HTTP_BAD_REQUEST, "mode: all or main");
        return;
    }
    if (format && strcmp(format, "json") != 0 && strcmp(format, "geojson") != 0) {
        error_response(res, MHD_HTTP_BAD_REQUEST, "format: json or geojson");
        return;
    }
    if (at) {
        char tail;
        if (sscanf(at, "%lf,%lf%c", &tr.lon, &tr.lat, &tail) != 2 || fabs(tr.lon) > 180 ||
            fabs(tr.lat) > 90) {
            error_response(res, MHD_HTTP_BAD_REQUEST, "at: LON,LAT in degrees");
            return;
        }
        tr.at = 1;
    }
    tr.direction = strcmp(dir, "up") == 0 ? CR_TRACE_UP : CR_TRACE_DOWN;
    tr.main_only = mode && strcmp(mode, "main") == 0;
    tr.geojson = format && strcmp(format, "geojson") == 0;
    tr.gates_closed = json_string_value(json_object_get(req->params, "gates_closed"));
    tr.gates_reversed = json_string_value(json_object_get(req->params, "gates_reversed"));
    tr.stop_at = json_string_value(json_object_get(req->params, "stop_at"));
    tr.include_restricted = 0; /* no tokens yet: restricted contact fields are never served */
    const struct {
        const char *param;
        double *out;
    } numbers[] = {
        {"max_km", &tr.max_km},        {"max_hours", &tr.max_hours},
        {"velocity", &tr.velocity_ms}, {"dispersion", &tr.dispersion_m2s},
        {"spill_kg", &tr.spill_kg},    {"spill_hours", &tr.spill_hours},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *text = json_string_value(json_object_get(req->params, numbers[i].param));
        cr_error nerr = {0};
        if (text && cr_api_trace_number(numbers[i].param, numbers[i].param, text, numbers[i].out,
                                        &nerr) != CR_OK) {
            error_response(res, MHD_HTTP_BAD_REQUEST, nerr.msg);
            return;
        }
    }
    cr_error err = {0};
    json_t *out = NULL;
    cr_status rc = cr_api_trace(w->store, s->graph, w->ws, s->ref, &tr, &out, &err);
    if (rc != CR_OK) {
        error_response(res, http_status(rc), err.msg);
        return;
    }
    res->status = MHD_HTTP_OK;
    res->content_type =
        tr.geojson ? "application/geo+json; charset=utf-8" : "application/json; charset=utf-8";
    res->body = out;
}

/* Does If-None-Match name this tag (or "*")? Tags compare without the -gz suffix, so a
 * client that switched encodings still revalidates. */
static int etag_matches(const char *header, const char *hash)
{
    if (header == NULL) {
        return 0;
    }
    if (strchr(header, '*')) {
        return 1;
    }
    return strstr(header, hash) != NULL;
}

/* GET /tiles/{z}/{x}/{y}.mvt[?layers=a,b] */
static void handle_tile(server_state *s, worker *w, const request *req, response *res)
{
    (void)s;
    int z, x, y, end = 0;
    if (sscanf(req->path, "/tiles/%d/%d/%d.mvt%n", &z, &x, &y, &end) != 3 || end == 0 ||
        req->path[end] != '\0') {
        error_response(res, MHD_HTTP_NOT_FOUND, "tiles are /tiles/{z}/{x}/{y}.mvt");
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach(req->params, key, val)
    {
        if (strcmp(key, "layers") != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown parameter '%.64s' (tiles take layers=a,b)", key);
            error_response(res, MHD_HTTP_BAD_REQUEST, msg);
            return;
        }
    }
    cr_tile_request tr = {z, x, y, 0, -1, json_string_value(json_object_get(req->params, "layers")),
                          0};
    cr_strbuf tile = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    if (cr_tile_render(w->store, &tr, &tile, &stats, &err) != CR_OK) {
        cr_strbuf_cleanup(&tile);
        error_response(res, http_status(err.code), err.msg);
        return;
    }
    char hex[65];
    cr_sha256_hex(tile.data ? tile.data : "", tile.len, hex);
    res->status = MHD_HTTP_OK;
    res->content_type = "application/vnd.mapbox-vector-tile";
    res->cache_control = "no-cache"; /* keep, but revalidate: the ETag changes with the data */
    res->raw_set = 1;
    char *gz = NULL;
    size_t gz_len = 0;
    if (req->accept_gzip && tile.len > 0 && cr_tile_gzip(tile.data, tile.len, &gz, &gz_len)) {
        snprintf(res->etag, sizeof res->etag, "\"%.32s-gz\"", hex);
        res->encoding = "gzip";
        res->raw = gz;
        res->raw_len = gz_len;
        cr_strbuf_cleanup(&tile);
    } else {
        snprintf(res->etag, sizeof res->etag, "\"%.32s\"", hex);
        res->raw_len = tile.len;
        res->raw = cr_strbuf_take(&tile);
    }
    hex[32] = '\0';
    if (etag_matches(req->if_none_match, hex)) {
        res->status = MHD_HTTP_NOT_MODIFIED;
        res->encoding = NULL;
        free(res->raw);
        res->raw = NULL;
        res->raw_len = 0;
    }
}

/* Only the parameters in allowed (NULL-terminated); otherwise a 400 and 0. */
static int only_params(const request *req, const char *const *allowed, response *res)
{
    const char *key;
    json_t *val;
    json_object_foreach(req->params, key, val)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++) {
            ok |= strcmp(key, allowed[i]) == 0;
        }
        if (!ok) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown parameter '%.64s'", key);
            error_response(res, MHD_HTTP_BAD_REQUEST, msg);
            return 0;
        }
    }
    return 1;
}

static void json_answer(response *res, cr_status rc, json_t *out, const cr_error *err,
                        const char *type)
{
    if (rc != CR_OK) {
        error_response(res, http_status(rc), err->msg);
        return;
    }
    res->status = MHD_HTTP_OK;
    res->content_type = type;
    res->body = out;
}

/* The address the client used (its Host header, when it looks like a host), else ours. */
static void base_url(const server_state *s, const request *req, char *out, size_t n)
{
    const char *host = req->host;
    if (host == NULL || strlen(host) > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
            strlen(host)) {
        snprintf(out, n, "http://%s:%d", s->cfg->host, s->cfg->port);
    } else {
        snprintf(out, n, "http://%s", host);
    }
}

/* GET /tiles.json: TileJSON for the tiles this server serves, at the address the client used. */
static void handle_tilejson(server_state *s, worker *w, const request *req, response *res)
{
    static const char *const none[] = {NULL};
    if (!only_params(req, none, res)) {
        return;
    }
    char base[280], url[320];
    base_url(s, req, base, sizeof base);
    snprintf(url, sizeof url, "%s/tiles/{z}/{x}/{y}.mvt", base);
    cr_error err = {0};
    json_t *out = NULL;
    cr_status rc = cr_api_tilejson(w->store, url, &out, &err);
    json_answer(res, rc, out, &err, "application/json; charset=utf-8");
}

/* GET /styles/{name}.json: a MapLibre style from the styles directory, its "{base}" made the
 * address the client used. Names are [a-z0-9_-]: nothing else can be reached. */
static void handle_style(server_state *s, worker *w, const request *req, response *res)
{
    (void)w;
    static const char *const none[] = {NULL};
    if (!only_params(req, none, res)) {
        return;
    }
    const char *name = req->path + strlen("/styles/");
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    if (n == 0 || n > 64 || strcmp(name + n, ".json") != 0) {
        error_response(res, MHD_HTTP_NOT_FOUND, "styles are /styles/{name}.json");
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%.*s.json", s->cfg->styles_dir, (int)n, name);
    char *text = NULL;
    size_t len = 0;
    cr_error err = {0};
    if (cr_read_file(path, &text, &len, &err) != CR_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "no style '%.*s'", (int)n, name);
        error_response(res, MHD_HTTP_NOT_FOUND, msg);
        return;
    }
    char base[280];
    base_url(s, req, base, sizeof base);
    cr_strbuf b = {0};
    for (const char *p = text; *p;) {
        const char *hit = strstr(p, "{base}");
        if (hit == NULL) {
            cr_strbuf_puts(&b, p);
            break;
        }
        cr_strbuf_append(&b, p, (size_t)(hit - p));
        cr_strbuf_puts(&b, base);
        p = hit + strlen("{base}");
    }
    free(text);
    res->status = MHD_HTTP_OK;
    res->content_type = "application/json; charset=utf-8";
    res->cache_control = "no-cache";
    res->raw_set = 1;
    res->raw_len = b.len;
    res->raw = cr_strbuf_take(&b);
}

/* Send a file from disk as it is; 404 naming what is missing. */
static void send_file(response *res, const char *dir, const char *name, const char *type)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    cr_error err = {0};
    if (cr_read_file(path, &data, &len, &err) != CR_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "no file '%.64s' here", name);
        error_response(res, MHD_HTTP_NOT_FOUND, msg);
        return;
    }
    res->status = MHD_HTTP_OK;
    res->content_type = type;
    res->cache_control = "no-cache";
    res->raw_set = 1;
    res->raw = data;
    res->raw_len = len;
}

static const char *web_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL) {
        return NULL;
    }
    static const char *types[][2] = {{".html", "text/html; charset=utf-8"},
                                     {".css", "text/css; charset=utf-8"},
                                     {".mjs", "text/javascript; charset=utf-8"},
                                     {".js", "text/javascript; charset=utf-8"},
                                     {".svg", "image/svg+xml"}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(dot, types[i][0]) == 0) {
            return types[i][1];
        }
    }
    return NULL;
}

/* GET / : the web map page. */
static void handle_index(server_state *s, worker *w, const request *req, response *res)
{
    (void)w;
    (void)req;
    send_file(res, s->cfg->web_dir, "index.html", "text/html; charset=utf-8");
}

/* GET /web/{name}: the page's own files; names are [a-z0-9_-] plus a known extension. */
static void handle_web(server_state *s, worker *w, const request *req, response *res)
{
    (void)w;
    const char *name = req->path + strlen("/web/");
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    const char *type = web_type(name);
    if (n == 0 || name[n] != '.' || strchr(name + n + 1, '.') || type == NULL) {
        error_response(res, MHD_HTTP_NOT_FOUND, "no such resource");
        return;
    }
    send_file(res, s->cfg->web_dir, name, type);
}

/* GET /vendor/maplibre-gl.{js,css}: MapLibre GL JS from the npm package, nothing else. */
static void handle_vendor(server_state *s, worker *w, const request *req, response *res)
{
    (void)w;
    const char *name = req->path + strlen("/vendor/");
    if (strcmp(name, "maplibre-gl.js") != 0 && strcmp(name, "maplibre-gl.css") != 0) {
        error_response(res, MHD_HTTP_NOT_FOUND, "no such resource");
        return;
    }
    send_file(res, s->cfg->vendor_dir, name, web_type(name));
    if (res->status == MHD_HTTP_NOT_FOUND) {
        json_decref(res->body);
        error_response(res, MHD_HTTP_NOT_FOUND,
                       "MapLibre GL JS is not installed: run `npm ci` in the source tree");
    }
}

/* GET /api/features/{layer}/{id} */
static void handle_feature(server_state *s, worker *w, const request *req, response *res)
{
    (void)s;
    static const char *const none[] = {NULL};
    if (!only_params(req, none, res)) {
        return;
    }
    const char *rest = req->path + strlen("/api/features/");
    const char *slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || slash[1] == '\0' || strlen(rest) > 256) {
        error_response(res, MHD_HTTP_NOT_FOUND, "features are /api/features/{layer}/{id}");
        return;
    }
    char layer[128];
    snprintf(layer, sizeof layer, "%.*s", (int)(slash - rest < 127 ? slash - rest : 127), rest);
    cr_error err = {0};
    json_t *out = NULL;
    cr_status rc = cr_api_feature(w->store, layer, slash + 1, &out, &err);
    json_answer(res, rc, out, &err, "application/geo+json; charset=utf-8");
}

/* GET /api/search?q=TEXT[&limit=N] */
static void handle_search(server_state *s, worker *w, const request *req, response *res)
{
    (void)s;
    static const char *const allowed[] = {"q", "limit", NULL};
    if (!only_params(req, allowed, res)) {
        return;
    }
    const char *q = json_string_value(json_object_get(req->params, "q"));
    if (q == NULL || *q == '\0' || strlen(q) > 100) {
        error_response(res, MHD_HTTP_BAD_REQUEST, "q: the text to look for (1–100 bytes)");
        return;
    }
    double limit = 20;
    if (!number_param(req, "limit", 1, 200, &limit, res)) {
        return;
    }
    cr_error err = {0};
    json_t *out = NULL;
    cr_status rc = cr_api_search(w->store, q, (int)limit, &out, &err);
    json_answer(res, rc, rc == CR_OK ? json_pack("{s:s, s:o}", "q", q, "results", out) : NULL, &err,
                "application/json; charset=utf-8");
}

static void record(metrics *m, int route, int status, double seconds)
{
    int cls = status >= 100 && status < 600 ? status / 100 - 1 : 4;
    atomic_fetch_add(&m->requests[route][cls], 1);
    int b = 0;
    while (b < N_BUCKETS && seconds > BUCKETS[b]) {
        b++;
    }
    if (b < N_BUCKETS) {
        atomic_fetch_add(&m->bucket[b], 1);
    }
    atomic_fetch_add(&m->count, 1);
    atomic_fetch_add(&m->micros, (uint_fast64_t)(seconds * 1e6 + 0.5));
}

static void handle_metrics(server_state *s, worker *w, const request *req, response *res);

typedef struct {
    const char *method;
    const char *path; /* exact, or a prefix when it ends in '/' */
    handler_fn fn;
} route;

static const route ROUTES[] = {
    {"GET", "/health", handle_health},
    {"GET", "/api/trace", handle_trace},
    {"GET", "/tiles/", handle_tile},
    {"GET", "/tiles.json", handle_tilejson},
    {"GET", "/api/features/", handle_feature},
    {"GET", "/api/search", handle_search},
    {"GET", "/metrics", handle_metrics},
    {"GET", "/styles/", handle_style},
    {"GET", "/", handle_index},
    {"GET", "/web/", handle_web},
    {"GET", "/vendor/", handle_vendor},
};
_Static_assert(sizeof ROUTES / sizeof ROUTES[0] <= MAX_ROUTES, "raise MAX_ROUTES");

/* GET /metrics: Prometheus text exposition format 0.0.4. */
static void handle_metrics(server_state *s, worker *w, const request *req, response *res)
{
    static const char *const none[] = {NULL};
    if (!only_params(req, none, res)) {
        return;
    }
    metrics *m = &s->m;
    cr_strbuf b = {0};
    cr_strbuf_puts(&b, "# HELP crossriver_http_requests_total HTTP requests answered, by route and "
                       "status class.\n# TYPE crossriver_http_requests_total counter\n");
    size_t n_routes = sizeof ROUTES / sizeof ROUTES[0];
    for (size_t r = 0; r <= n_routes && r <= MAX_ROUTES; r++) {
        size_t idx = r == n_routes ? MAX_ROUTES : r;
        for (int c = 0; c < 5; c++) {
            uint64_t v = atomic_load(&m->requests[idx][c]);
            if (v) {
                cr_strbuf_printf(
                    &b, "crossriver_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                    r == n_routes ? "none" : ROUTES[r].path, c + 1, (unsigned long long)v);
            }
        }
    }
    cr_strbuf_puts(&b, "# HELP crossriver_http_request_duration_seconds Time to answer a request.\n"
                       "# TYPE crossriver_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < N_BUCKETS; i++) {
        cum += atomic_load(&m->bucket[i]);
        cr_strbuf_printf(&b, "crossriver_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                         BUCKETS[i], (unsigned long long)cum);
    }
    uint64_t count = atomic_load(&m->count);
    cr_strbuf_printf(&b,
                     "crossriver_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                     "crossriver_http_request_duration_seconds_sum %.6f\n"
                     "crossriver_http_request_duration_seconds_count %llu\n",
                     (unsigned long long)count, (double)atomic_load(&m->micros) / 1e6,
                     (unsigned long long)count);
    cr_strbuf_printf(&b,
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
                     (long long)cr_store_data_generation(w->store), s->graph->n_reaches);
    res->status = MHD_HTTP_OK;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    res->raw_set = 1;
    res->raw_len = b.len;
    res->raw = cr_strbuf_take(&b);
}

static int route_matches(const route *r, const char *url)
{
    size_t n = strlen(r->path);
    return n > 1 && r->path[n - 1] == '/' ? strncmp(url, r->path, n) == 0
                                          : strcmp(url, r->path) == 0;
}

static void free_worker(void *p)
{
    worker *w = p;
    if (w) {
        cr_trace_workspace_free(w->ws);
        cr_store_close(w->store);
        free(w);
    }
}

static worker *this_worker(server_state *s, cr_error *err)
{
    worker *w = pthread_getspecific(s->worker_key);
    if (w) {
        return w;
    }
    w = cr_xcalloc(1, sizeof *w);
    if (cr_store_open_readonly(s->cfg->store_path, s->set, &w->store, err) != CR_OK) {
        free(w);
        return NULL;
    }
    w->ws = cr_trace_workspace_new(s->graph);
    pthread_setspecific(s->worker_key, w);
    return w;
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    json_t *params = cls;
    if (json_object_get(params, key) || strlen(key) > 64 ||
        (value && strlen(value) > MAX_PARAM_BYTES)) {
        json_object_set_new(params, "\x01invalid", json_string(key)); /* reported below */
        return MHD_YES;
    }
    json_object_set_new(params, key, json_string(value ? value : ""));
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    server_state *s = cls;
    if (*con_cls == NULL) { /* first call: headers only; answer on the next */
        *con_cls = s;
        return MHD_YES;
    }
    *upload_data_size = 0;
    double t0 = cr_monotonic_s();
    request req = {method, url, json_object(), 0, NULL, NULL};
    response res = {0};
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    req.accept_gzip = ae && strstr(ae, "gzip") != NULL;
    req.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    req.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, req.params);
    const route *found = NULL;
    int path_known = 0, route_index = MAX_ROUTES;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (route_matches(&ROUTES[i], url)) {
            path_known = 1;
            found = strcmp(method, ROUTES[i].method) == 0 ? &ROUTES[i] : found;
            route_index = (int)i;
        }
    }
    cr_error err = {0};
    worker *w = found ? this_worker(s, &err) : NULL;
    if (json_object_get(req.params, "\x01invalid")) {
        error_response(&res, MHD_HTTP_BAD_REQUEST,
                       "a query parameter is repeated, too long or oversized");
    } else if (!path_known) {
        error_response(&res, MHD_HTTP_NOT_FOUND, "no such resource");
    } else if (found == NULL) {
        error_response(&res, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    } else if (w == NULL) {
        error_response(&res, MHD_HTTP_SERVICE_UNAVAILABLE, err.msg);
    } else {
        found->fn(s, w, &req, &res);
    }
    char *body =
        res.raw_set ? res.raw : json_dumps(res.body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    size_t len = res.raw_set ? res.raw_len : body ? strlen(body) : 0;
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    if (res.status != MHD_HTTP_NOT_MODIFIED) {
        MHD_add_response_header(r, "Content-Type", res.content_type);
    }
    MHD_add_response_header(r, "Cache-Control", res.cache_control ? res.cache_control : "no-store");
    if (res.etag[0]) {
        MHD_add_response_header(r, "ETag", res.etag);
        MHD_add_response_header(r, "Vary", "Accept-Encoding");
    }
    if (res.encoding) {
        MHD_add_response_header(r, "Content-Encoding", res.encoding);
    }
    if (res.status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(r, "Allow", "GET");
    }
    if (s->cfg->cors_origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", s->cfg->cors_origin);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)res.status, r);
    MHD_destroy_response(r);
    double dt = cr_monotonic_s() - t0;
    record(&s->m, route_index, res.status, dt);
    if (found && found->fn == handle_tile) {
        atomic_fetch_add(&s->m.tiles, 1);
        atomic_fetch_add(&s->m.tile_bytes, len);
        atomic_fetch_add(&s->m.tiles_not_modified, res.status == MHD_HTTP_NOT_MODIFIED);
        atomic_fetch_add(&s->m.tiles_empty, res.status == MHD_HTTP_OK && len == 0);
    }
    char ts[21];
    cr_now_iso8601(ts);
    fprintf(stderr, "%s access %s %s %d %zu %.1fms\n", ts, method, url, res.status, len,
            dt * 1000.0);
    json_decref(res.body);
    json_decref(req.params);
    return ok;
}

const char *cr_server_default_styles_dir(void)
{
    const char *env = getenv("CROSSRIVER_STYLES");
    return env && *env ? env : CR_SOURCE_DIR "/styles";
}

const char *cr_server_default_web_dir(void)
{
    const char *env = getenv("CROSSRIVER_WEB");
    return env && *env ? env : CR_SOURCE_DIR "/web";
}

const char *cr_server_default_vendor_dir(void)
{
    const char *env = getenv("CROSSRIVER_VENDOR");
    return env && *env ? env : CR_SOURCE_DIR "/node_modules/maplibre-gl/dist";
}

cr_status cr_server_run(const cr_server_config *cfg, cr_error *err)
{
    server_state s = {0};
    s.cfg = cfg;
    cr_status rc = cr_layer_set_load(cfg->layers_dir, &s.set, err);
    cr_store *store = NULL;
    if (rc == CR_OK) {
        rc = cr_store_open_readonly(cfg->store_path, s.set, &store, err);
    }
    if (rc == CR_OK) {
        rc = cr_graph_load(store, &s.graph, err);
    }
    if (rc == CR_OK) {
        rc = cr_join_ref_load(store, &s.ref, err);
    }
    cr_store_close(store);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (rc == CR_OK && inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        rc = cr_error_set(err, CR_EINVAL, "--host '%s' is not an IPv4 address", cfg->host);
    }
    struct MHD_Daemon *d = NULL;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (rc == CR_OK) {
        /* workers inherit the mask: only this thread waits for the signals */
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
        pthread_key_create(&s.worker_key, free_worker);
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                             on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
        if (d == NULL) {
            rc = cr_error_set(err, CR_EIO, "cannot listen on %s:%d", cfg->host, cfg->port);
        }
    }
    if (rc == CR_OK) {
        cr_log(CR_LOG_WARN, "server", "serving %s on http://%s:%d/ (%d threads, %d reaches)",
               cfg->store_path, cfg->host, cfg->port, cfg->threads, s.graph->n_reaches);
        if (cfg->pid_file) {
            FILE *f = fopen(cfg->pid_file, "w");
            if (f) {
                fprintf(f, "%d\n", (int)getpid());
                fclose(f);
            }
        }
        int sig = 0;
        sigwait(&stop, &sig);
        cr_log(CR_LOG_WARN, "server", "signal %d: stopping", sig);
        MHD_stop_daemon(d);
        pthread_key_delete(s.worker_key);
    }
    cr_join_ref_free(s.ref);
    cr_graph_free(s.graph);
    cr_layer_set_free(s.set);
    return rc;
}
