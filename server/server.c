/* SPDX-License-Identifier: MIT */
/* libmicrohttpd adapter and the route table: parse the request, find the route (404 for an
 * unknown path, 405 for a known path with another method), call the handler, send JSON, log. */
#include "server.h"

#include "api/api.h"
#include "export/evidence.h"
#include "store/access.h"
#include "tile_cache.h"
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
#include <strings.h>
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
    atomic_uint_fast64_t restricted, auth_failures, reloads, reload_failures;
} metrics;

/* What a request reads besides the store: loaded at start, replaced whole on SIGHUP (layer
 * definitions, tokens) or when the store's network changes, and freed when the last request
 * using it ends. Read-only while shared. */
typedef struct {
    int refs; /* under server_state.snap_lock */
    cr_graph *graph;
    cr_reach_index *ref; /* reach index for snapping points (read-only: thread-safe) */
    int64_t generation;
} network;

typedef struct {
    int refs; /* under server_state.snap_lock */
    uint64_t id;
    cr_layer_set *set;
    cr_access_list *tokens; /* NULL: no token file */
    network *net;           /* shared with the next snapshot when only the config changed */
} snapshot;

typedef struct {
    metrics m;
    const cr_server_config *cfg;
    pthread_mutex_t snap_lock;
    snapshot *snap;               /* current; holds one reference */
    atomic_uint_fast64_t snap_id; /* snap->id, read without the lock */
    cr_tile_cache *cache;
    int64_t data_generation; /* as the poller last saw it (main thread only) */
    pthread_key_t worker_key;
} server_state;

/* Per worker thread, created on its first request; follows the current snapshot. */
typedef struct {
    snapshot *snap; /* a reference held */
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
    const cr_access *access;   /* the bearer token's rights, or NULL (public) */
    const char *body;          /* POST body (NUL-terminated), or NULL */
    size_t body_len;
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
    size_t restricted;         /* restricted items served (logged) */
    const char *x_cache;       /* X-Cache for tiles: HIT or MISS */
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
    return rc == CR_EINVAL       ? MHD_HTTP_BAD_REQUEST
           : rc == CR_ENOTFOUND  ? MHD_HTTP_NOT_FOUND
           : rc == CR_EFORBIDDEN ? MHD_HTTP_FORBIDDEN
                                 : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

static void handle_health(server_state *s, worker *w, const request *req, response *res)
{
    (void)req;
    res->status = MHD_HTTP_OK;
    res->content_type = "application/json; charset=utf-8";
    res->body = json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I}", "status", "ok", "reaches",
                          w->snap->net->graph->n_reaches, "nodes", w->snap->net->graph->n_nodes,
                          "data_generation", (json_int_t)cr_store_data_generation(w->store),
                          "cache_generation", (json_int_t)cr_tile_cache_generation(s->cache),
                          "network_generation", (json_int_t)w->snap->net->generation, "config_id",
                          (json_int_t)w->snap->id);
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
    cr_trace_request tr;
    cr_error perr = {0};
    if (cr_api_trace_parse(req->params, 0, &tr, &perr) != CR_OK) {
        error_response(res, MHD_HTTP_BAD_REQUEST, perr.msg);
        return;
    }
    tr.access = req->access;
    cr_error err = {0};
    json_t *out = NULL;
    cr_status rc =
        cr_api_trace(w->store, w->snap->net->graph, w->ws, w->snap->net->ref, &tr, &out, &err);
    if (rc != CR_OK) {
        error_response(res, http_status(rc), err.msg);
        return;
    }
    res->status = MHD_HTTP_OK;
    res->content_type =
        tr.geojson ? "application/geo+json; charset=utf-8" : "application/json; charset=utf-8";
    res->body = out;
    size_t i, k;
    json_t *j, *c;
    json_t *list =
        json_object_get(tr.geojson ? json_object_get(out, "properties") : out, "jurisdictions");
    json_array_foreach(list, i, j)
    {
        json_array_foreach(json_object_get(j, "contacts"), k, c)
        {
            res->restricted += json_object_get(c, "liaison") || json_object_get(c, "phone");
        }
    }
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

/* Fill res with a tile: gzip when the client takes it, ETag from the content hash (the same
 * for both encodings apart from the -gz suffix), 304 when If-None-Match names it. */
static void tile_answer(const request *req, response *res, char *data, size_t len, int gzipped,
                        const char hash[65])
{
    res->status = MHD_HTTP_OK;
    res->content_type = "application/vnd.mapbox-vector-tile";
    /* keep, but revalidate: the ETag changes with the data; tiles with restricted data are
     * for this client only */
    res->cache_control = req->access ? "private, no-cache" : "no-cache";
    res->raw_set = 1;
    res->raw = data;
    res->raw_len = len;
    res->encoding = gzipped ? "gzip" : NULL;
    snprintf(res->etag, sizeof res->etag, "\"%.32s%s\"", hash, gzipped ? "-gz" : "");
    char short_hash[33];
    snprintf(short_hash, sizeof short_hash, "%.32s", hash);
    if (etag_matches(req->if_none_match, short_hash)) {
        res->status = MHD_HTTP_NOT_MODIFIED;
        res->encoding = NULL;
        free(res->raw);
        res->raw = NULL;
        res->raw_len = 0;
    }
}

/* GET /tiles/{z}/{x}/{y}.mvt[?layers=a,b]: from the cache, else rendered (and cached unless
 * the client's token limits jurisdictions: those tiles depend on the joins too). */
static void handle_tile(server_state *s, worker *w, const request *req, response *res)
{
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
    const char *layers = json_string_value(json_object_get(req->params, "layers"));
    const char *scope = cr_access_name(req->access);
    int cacheable = req->access == NULL || cr_access_all_codes(req->access);
    char hash[65];
    char *data = NULL;
    size_t len = 0;
    int gzipped = 0;
    if (cacheable && cr_tile_valid(z, x, y) &&
        cr_tile_cache_get(s->cache, z, x, y, layers, scope, req->accept_gzip, &data, &len, &gzipped,
                          hash)) {
        res->restricted = req->access != NULL; /* cached for a token: it may hold restricted data */
        res->x_cache = "HIT";
        tile_answer(req, res, data, len, gzipped, hash);
        return;
    }
    int64_t generation = cr_tile_cache_generation(s->cache);
    cr_tile_request tr = {
        .z = z, .x = x, .y = y, .buffer = -1, .layers = layers, .access = req->access};
    cr_strbuf tile = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    if (cr_tile_render(w->store, &tr, &tile, &stats, &err) != CR_OK) {
        cr_strbuf_cleanup(&tile);
        error_response(res, http_status(err.code), err.msg);
        return;
    }
    res->restricted = stats.restricted;
    res->x_cache = "MISS";
    cr_sha256_hex(tile.data ? tile.data : "", tile.len, hash);
    char *gz = NULL;
    size_t gz_len = 0;
    if (tile.len == 0 || !cr_tile_gzip(tile.data, tile.len, &gz, &gz_len)) {
        gz = NULL;
    }
    if (cacheable) {
        cr_tile_cache_put(s->cache, generation, z, x, y, layers, scope, tile.data, tile.len, gz,
                          gz_len, hash);
    }
    if (req->accept_gzip && gz) {
        cr_strbuf_cleanup(&tile);
        tile_answer(req, res, gz, gz_len, 1, hash);
    } else {
        free(gz);
        len = tile.len;
        tile_answer(req, res, cr_strbuf_take(&tile), len, 0, hash);
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
    int restricted = 0;
    cr_status rc = cr_api_feature(w->store, layer, slash + 1, req->access, &out, &restricted, &err);
    res->restricted = (size_t)restricted;
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
    cr_status rc = cr_api_search(w->store, q, (int)limit, req->access, &out, &err);
    json_answer(res, rc, rc == CR_OK ? json_pack("{s:s, s:o}", "q", q, "results", out) : NULL, &err,
                "application/json; charset=utf-8");
}

/* GET /api/patrol?river=…|preset=yihe-sanhu|reaches=…[&date=&mode=&from=&to=&speed_kmh=
 * &dwell_min=&radius_m=&format=] */
/* Personal data served to a token goes into the store's audit_log (a writable connection of
 * its own); 0 with err set when it cannot be recorded, and then it is not served. */
static int audit_personal(server_state *s, worker *w, const request *req, const char *action,
                          const char *detail, cr_error *err)
{
    cr_store *rw = NULL;
    cr_status rc = cr_store_open(s->cfg->store_path, w->snap->set, &rw, err);
    if (rc == CR_OK) {
        rc = cr_store_audit(rw, cr_access_name(req->access), action, detail, err);
    }
    cr_store_close(rw);
    return rc == CR_OK;
}

static void handle_patrol(server_state *s, worker *w, const request *req, response *res)
{
    static const char *const allowed[] = {"river",     "preset",   "reaches", "date",
                                          "mode",      "from",     "to",      "speed_kmh",
                                          "dwell_min", "radius_m", "format",  NULL};
    if (!only_params(req, allowed, res)) {
        return;
    }
    cr_patrol_request pr = {0};
    pr.dwell_min = -1;
    pr.access = req->access;
    pr.rivers = json_string_value(json_object_get(req->params, "river"));
    pr.reaches = json_string_value(json_object_get(req->params, "reaches"));
    pr.date = json_string_value(json_object_get(req->params, "date"));
    const char *preset = json_string_value(json_object_get(req->params, "preset"));
    const char *mode = json_string_value(json_object_get(req->params, "mode"));
    const char *format = json_string_value(json_object_get(req->params, "format"));
    if (preset) {
        if (strcmp(preset, "yihe-sanhu") != 0 && strcmp(preset, "一河三湖") != 0) {
            error_response(res, MHD_HTTP_BAD_REQUEST, "preset: yihe-sanhu (一河三湖)");
            return;
        }
        pr.rivers = CR_PATROL_YIHE_SANHU;
    }
    if (mode && strcmp(mode, "boat") != 0 && strcmp(mode, "foot") != 0) {
        error_response(res, MHD_HTTP_BAD_REQUEST, "mode: boat or foot");
        return;
    }
    pr.on_foot = mode && strcmp(mode, "foot") == 0;
    const char *points[2] = {json_string_value(json_object_get(req->params, "from")),
                             json_string_value(json_object_get(req->params, "to"))};
    for (int i = 0; i < 2; i++) {
        double *p = i ? pr.to : pr.from;
        if (points[i] && !cr_api_parse_point(points[i], &p[0], &p[1])) {
            error_response(res, MHD_HTTP_BAD_REQUEST,
                           i ? "to: LON,LAT in degrees" : "from: LON,LAT in degrees");
            return;
        }
        *(i ? &pr.has_to : &pr.has_from) = points[i] != NULL;
    }
    if (!number_param(req, "speed_kmh", 0.1, 100, &pr.speed_kmh, res) ||
        !number_param(req, "dwell_min", 0, 600, &pr.dwell_min, res) ||
        !number_param(req, "radius_m", 1, 20000, &pr.radius_m, res)) {
        return;
    }
    format = format ? format : "json";
    cr_strbuf out = {0};
    json_t *plan = NULL;
    cr_error err = {0};
    if (cr_api_patrol(w->store, w->snap->net->graph, &pr, format, &out, &plan, &err) != CR_OK) {
        cr_strbuf_cleanup(&out);
        error_response(res, http_status(err.code), err.msg);
        return;
    }
    size_t i;
    json_t *leg;
    json_array_foreach(json_object_get(plan, "legs"), i, leg)
    {
        res->restricted += json_object_get(leg, "liaison") != NULL;
    }
    json_decref(plan);
    if (res->restricted > 0 &&
        !audit_personal(s, w, req, "patrol plan with personal data", format, &err)) {
        cr_strbuf_cleanup(&out);
        error_response(res, MHD_HTTP_INTERNAL_SERVER_ERROR, err.msg);
        return;
    }
    res->status = MHD_HTTP_OK;
    res->content_type = cr_api_patrol_content_type(format);
    res->raw_set = 1;
    res->raw_len = out.len;
    res->raw = cr_strbuf_take(&out);
}

/* POST /api/export/evidence: an evidence package (docs/evidence.md) for a token that opens every
 * layer in every jurisdiction; the body is a case shaped like case.json. The answer is the zip;
 * its SHA-256 is the ETag; the export is audited under the token's name. */
static void handle_export(server_state *s, worker *w, const request *req, response *res)
{
    static const char *const none[] = {NULL};
    if (!only_params(req, none, res)) {
        return;
    }
    if (req->access == NULL || !cr_access_all_codes(req->access) ||
        !cr_access_layer(req->access, "outfalls") || !cr_access_layer(req->access, "contacts")) {
        error_response(res, req->access ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED,
                       "evidence packages need a bearer token that opens every layer in every "
                       "jurisdiction");
        return;
    }
    json_error_t je;
    json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, &je) : NULL;
    if (!json_is_object(body) || !json_is_object(json_object_get(body, "case"))) {
        json_decref(body);
        error_response(res, MHD_HTTP_BAD_REQUEST,
                       "the body: {\"case\": {…}, \"as_of\": \"…Z\", \"issuer\": …} (see "
                       "docs/evidence.md)");
        return;
    }
    cr_evidence_case c = {0};
    cr_error err = {0};
    if (cr_evidence_case_from_json(body, &c, &err) != CR_OK) {
        json_decref(body);
        error_response(res, MHD_HTTP_BAD_REQUEST, err.msg);
        return;
    }
    cr_store *rw = NULL; /* the audit row needs a writable connection */
    char path[64] = "/tmp/crossriver-evidence-XXXXXX";
    int fd = mkstemp(path);
    char zip_path[80], sha[65];
    snprintf(zip_path, sizeof zip_path, "%s.zip", path);
    cr_status rc = fd < 0 ? cr_error_set(&err, CR_EIO, "no temporary file") : CR_OK;
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    if (rc == CR_OK) {
        rc = cr_store_open(s->cfg->store_path, w->snap->set, &rw, &err);
    }
    if (rc == CR_OK) {
        rc = cr_evidence_export(rw, w->snap->net->graph, w->ws, w->snap->net->ref, &c, zip_path,
                                cr_access_name(req->access), sha, NULL, &err);
    }
    cr_store_close(rw);
    json_decref(body);
    char *data = NULL;
    size_t len = 0;
    if (rc == CR_OK) {
        rc = cr_read_file(zip_path, &data, &len, &err);
    }
    unlink(zip_path);
    if (rc != CR_OK) {
        error_response(res, http_status(rc), err.msg);
        return;
    }
    res->status = MHD_HTTP_OK;
    res->content_type = "application/zip";
    res->raw_set = 1;
    res->raw = data;
    res->raw_len = len;
    res->restricted = 1;
    res->cache_control = "private, no-store";
    snprintf(res->etag, sizeof res->etag, "\"%s\"", sha);
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
    {"GET", "/api/patrol", handle_patrol},
    {"POST", "/api/export/evidence", handle_export},
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
                     (long long)cr_store_data_generation(w->store), w->snap->net->graph->n_reaches);
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
            &b, "# HELP crossriver_%s %s\n# TYPE crossriver_%s %s\ncrossriver_%s %.0f\n",
            more[i].name, more[i].help, more[i].name, more[i].type, more[i].name, more[i].value);
    }
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

static snapshot *snapshot_acquire(server_state *s)
{
    pthread_mutex_lock(&s->snap_lock);
    snapshot *p = s->snap;
    p->refs++;
    pthread_mutex_unlock(&s->snap_lock);
    return p;
}

static void snapshot_release(server_state *s, snapshot *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&s->snap_lock);
    int last = --p->refs == 0;
    int last_net = last && p->net && --p->net->refs == 0;
    pthread_mutex_unlock(&s->snap_lock);
    if (last_net) {
        cr_reach_index_free(p->net->ref);
        cr_graph_free(p->net->graph);
        free(p->net);
    }
    if (last) {
        cr_access_list_free(p->tokens);
        cr_layer_set_free(p->set);
        free(p);
    }
}

/* Make next current; requests already using the old one finish with it. */
static void snapshot_install(server_state *s, snapshot *next)
{
    next->refs = 1;
    pthread_mutex_lock(&s->snap_lock);
    snapshot *old = s->snap;
    next->id = old ? old->id + 1 : 1;
    s->snap = next;
    atomic_store(&s->snap_id, next->id);
    pthread_mutex_unlock(&s->snap_lock);
    snapshot_release(s, old);
}

typedef struct {
    server_state *s;
    worker w;
} worker_slot;

static void free_worker(void *p)
{
    worker_slot *ws = p;
    if (ws) {
        cr_trace_workspace_free(ws->w.ws);
        cr_store_close(ws->w.store);
        snapshot_release(ws->s, ws->w.snap);
        free(ws);
    }
}

/* This thread's worker on the current snapshot: its store connection is reopened when the
 * layer definitions changed, its trace workspace remade when the network did. */
static worker *this_worker(server_state *s, cr_error *err)
{
    worker_slot *slot = pthread_getspecific(s->worker_key);
    if (slot && slot->w.snap && slot->w.snap->id == atomic_load(&s->snap_id)) {
        return &slot->w;
    }
    if (slot == NULL) {
        slot = cr_xcalloc(1, sizeof *slot);
        slot->s = s;
        pthread_setspecific(s->worker_key, slot);
    }
    worker *w = &slot->w;
    snapshot *now = snapshot_acquire(s);
    if (w->snap == NULL || w->snap->set != now->set || w->store == NULL) {
        cr_store_close(w->store);
        w->store = NULL;
        if (cr_store_open_readonly(s->cfg->store_path, now->set, &w->store, err) != CR_OK) {
            snapshot_release(s, now);
            return NULL;
        }
    }
    if (w->snap == NULL || w->snap->net != now->net) {
        cr_trace_workspace_free(w->ws);
        w->ws = cr_trace_workspace_new(now->net->graph);
    }
    snapshot_release(s, w->snap);
    w->snap = now;
    return w;
}

/* Authorization: Bearer TOKEN → req->access. No header: the public. A header that is not a
 * bearer token, or a token the token file does not list (or lists as expired): 401. */
static int authorise(server_state *s, worker *w, struct MHD_Connection *c, request *req,
                     response *res)
{
    (void)s;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth == NULL) {
        return 1;
    }
    char now[21];
    cr_now_iso8601(now);
    now[10] = '\0'; /* YYYY-MM-DD, UTC */
    const char *token = strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
    while (token && *token == ' ') {
        token++;
    }
    req->access = token ? cr_access_find(w->snap->tokens, token, now) : NULL;
    if (req->access == NULL) {
        error_response(res, MHD_HTTP_UNAUTHORIZED,
                       w->snap->tokens == NULL
                           ? "this server has no token file (serve --tokens): no tokens are valid"
                           : "unknown or expired bearer token");
        return 0;
    }
    return 1;
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

/* A request's body, gathered over the calls MHD makes. */
typedef struct {
    cr_strbuf body;
    int too_big;
} upload;

#define MAX_BODY_BYTES (1 << 20)

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    upload *up = *con_cls;
    if (up) {
        cr_strbuf_cleanup(&up->body);
        free(up);
        *con_cls = NULL;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    server_state *s = cls;
    if (*con_cls == NULL) { /* first call: headers only; the body (if any) comes next */
        *con_cls = cr_xcalloc(1, sizeof(upload));
        return MHD_YES;
    }
    upload *up = *con_cls;
    if (*upload_data_size > 0) { /* a piece of the body */
        if (up->body.len + *upload_data_size > MAX_BODY_BYTES) {
            up->too_big = 1;
        } else {
            cr_strbuf_append(&up->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    double t0 = cr_monotonic_s();
    request req = {method, url, json_object(), 0, NULL, NULL, NULL, up->body.data, up->body.len};
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
    if (up->too_big) {
        error_response(&res, MHD_HTTP_CONTENT_TOO_LARGE, "the body is over 1 MiB");
    } else if (json_object_get(req.params, "\x01invalid")) {
        error_response(&res, MHD_HTTP_BAD_REQUEST,
                       "a query parameter is repeated, too long or oversized");
    } else if (!path_known) {
        error_response(&res, MHD_HTTP_NOT_FOUND, "no such resource");
    } else if (found == NULL) {
        error_response(&res, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    } else if (w == NULL) {
        error_response(&res, MHD_HTTP_SERVICE_UNAVAILABLE, err.msg);
    } else if (!authorise(s, w, c, &req, &res)) {
        atomic_fetch_add(&s->m.auth_failures, 1);
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
    if (res.x_cache) {
        MHD_add_response_header(r, "X-Cache", res.x_cache);
    }
    if (res.status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(r, "Allow", ROUTES[route_index].method);
    }
    if (res.status == MHD_HTTP_UNAUTHORIZED) {
        MHD_add_response_header(r, "WWW-Authenticate",
                                "Bearer realm=\"crossriver\", error=\"invalid_token\"");
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
    fprintf(stderr, "%s access %s %s %d %zu %.1fms token=%s\n", ts, method, url, res.status, len,
            dt * 1000.0, cr_access_name(req.access));
    if (res.restricted || res.status == MHD_HTTP_UNAUTHORIZED || res.status == MHD_HTTP_FORBIDDEN) {
        /* the restricted-access log: every answer that carried restricted data or refused it */
        fprintf(stderr, "%s restricted %s token=%s %s %s status=%d items=%zu\n", ts,
                res.restricted ? "served" : "refused", cr_access_name(req.access), method, url,
                res.status, res.restricted);
        atomic_fetch_add(&s->m.restricted, res.restricted > 0);
    }
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

static void network_release(server_state *s, network *net)
{
    pthread_mutex_lock(&s->snap_lock);
    int last = --net->refs == 0;
    pthread_mutex_unlock(&s->snap_lock);
    if (last) {
        cr_reach_index_free(net->ref);
        cr_graph_free(net->graph);
        free(net);
    }
}

/* A snapshot from the files (layer definitions, tokens) and either share (whose reference the
 * caller took and hands over) or, when share is NULL, the network loaded from the store. */
static cr_status load_snapshot(server_state *s, network *share, snapshot **out, cr_error *err)
{
    const cr_server_config *cfg = s->cfg;
    snapshot *p = cr_xcalloc(1, sizeof *p);
    p->net = share;
    cr_status rc = cr_layer_set_load(cfg->layers_dir, &p->set, err);
    if (rc == CR_OK && cfg->tokens_path) {
        rc = cr_access_load(cfg->tokens_path, &p->tokens, err);
    }
    if (rc == CR_OK && share == NULL) {
        network *net = p->net = cr_xcalloc(1, sizeof *net);
        net->refs = 1;
        cr_store *store = NULL;
        rc = cr_store_open_readonly(cfg->store_path, p->set, &store, err);
        if (rc == CR_OK) {
            /* the generation first: a rebuild committed meanwhile is seen on the next poll */
            net->generation = cr_store_meta_int(store, "network_generation");
            rc = cr_graph_load(store, &net->graph, err);
        }
        if (rc == CR_OK) {
            rc = cr_reach_index_load(store, &net->ref, err);
        }
        cr_store_close(store);
    }
    if (rc != CR_OK) {
        if (p->net) {
            network_release(s, p->net);
        }
        cr_access_list_free(p->tokens);
        cr_layer_set_free(p->set);
        free(p);
        return rc;
    }
    *out = p;
    return CR_OK;
}

/* SIGHUP (config: layer definitions and tokens, the network kept) or a network rebuilt in the
 * store: load and install a new snapshot while requests go on with the old one; on failure the
 * old one stays and the error is logged. */
static void reload(server_state *s, int config)
{
    network *share = NULL;
    if (config) {
        pthread_mutex_lock(&s->snap_lock);
        share = s->snap->net;
        share->refs++;
        pthread_mutex_unlock(&s->snap_lock);
    }
    double t0 = cr_monotonic_s();
    cr_error err = {0};
    snapshot *next = NULL;
    if (load_snapshot(s, share, &next, &err) != CR_OK) {
        atomic_fetch_add(&s->m.reload_failures, 1);
        cr_log(CR_LOG_ERROR, "server", "reload refused, still serving the previous %s: %s",
               config ? "configuration" : "network", err.msg);
        return;
    }
    if (config) {
        /* tiles depend on the layer definitions: start the cache afresh */
        cr_tile_cache_clear(s->cache, cr_tile_cache_generation(s->cache));
    }
    snapshot_install(s, next);
    atomic_fetch_add(&s->m.reloads, 1);
    cr_log(CR_LOG_WARN, "server",
           "reloaded %s in %.2f s: %zu layer definitions, %zu tokens, %d reaches (network "
           "generation %lld)",
           config ? "layer definitions and tokens" : "the network", cr_monotonic_s() - t0,
           next->set->n_layers, cr_access_count(next->tokens), next->net->graph->n_reaches,
           (long long)next->net->generation);
}

/* Has the store moved on? Drop the tiles its changes touch, and reload the network when it was
 * rebuilt. Runs on the main thread between signals. */
static void poll_store(server_state *s, cr_store *store)
{
    int64_t gen = cr_store_data_generation(store);
    if (gen == s->data_generation) {
        return;
    }
    cr_store_change *changes = NULL;
    size_t n = 0;
    int complete = 0;
    cr_error err = {0};
    if (cr_store_changes_since(store, s->data_generation, &changes, &n, &complete, &err) != CR_OK) {
        cr_log(CR_LOG_ERROR, "server", "reading tile changes: %s", err.msg);
    }
    snapshot *cur = snapshot_acquire(s);
    size_t dropped = 0;
    if (!complete) {
        dropped = cr_tile_cache_clear(s->cache, gen);
    } else {
        cr_tile_change *tc = cr_xcalloc(n ? n : 1, sizeof *tc);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const cr_layer_def *d = cr_layer_set_find(cur->set, changes[i].layer);
            if (d == NULL || cr_tile_settings(d) == NULL) {
                continue; /* untiled layers change no tile */
            }
            tc[k].layer = changes[i].layer;
            memcpy(tc[k].box, changes[i].box, sizeof tc[k].box);
            cr_tile_zoom_range(cr_tile_settings(d), &tc[k].minz, &tc[k].maxz);
            k++;
        }
        /* changes committed after gen was read are in the list too: dropping them early is
         * harmless, and they are dropped again when their generation is seen */
        dropped = cr_tile_cache_invalidate(s->cache, tc, k, gen);
        free(tc);
    }
    int network_changed = cr_store_meta_int(store, "network_generation") != cur->net->generation;
    snapshot_release(s, cur);
    cr_log(CR_LOG_WARN, "server",
           "data generation %lld → %lld: %zu change boxes, %zu cached tiles dropped%s",
           (long long)s->data_generation, (long long)gen, n, dropped,
           complete ? "" : " (changes not recorded: the whole cache)");
    free(changes);
    s->data_generation = gen;
    if (network_changed) {
        reload(s, 0);
    }
}

cr_status cr_server_run(const cr_server_config *cfg, cr_error *err)
{
    server_state s = {0};
    s.cfg = cfg;
    pthread_mutex_init(&s.snap_lock, NULL);
    snapshot *first = NULL;
    cr_status rc = load_snapshot(&s, NULL, &first, err);
    cr_store *poll_db = NULL;      /* the main thread's own connection, for polling, */
    cr_layer_set *poll_set = NULL; /* with its own definitions: snapshots come and go */
    if (rc == CR_OK) {
        snapshot_install(&s, first);
        rc = cr_layer_set_load(cfg->layers_dir, &poll_set, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_open_readonly(cfg->store_path, poll_set, &poll_db, err);
    }
    if (rc == CR_OK) {
        s.data_generation = cr_store_data_generation(poll_db);
        s.cache = cr_tile_cache_new((size_t)cfg->cache_mb << 20, s.data_generation);
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (rc == CR_OK && inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        rc = cr_error_set(err, CR_EINVAL, "--host '%s' is not an IPv4 address", cfg->host);
    }
    struct MHD_Daemon *d = NULL;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    if (rc == CR_OK) {
        /* workers inherit the mask: only this thread waits for the signals */
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        pthread_key_create(&s.worker_key, free_worker);
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                             on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                             MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
        if (d == NULL) {
            rc = cr_error_set(err, CR_EIO, "cannot listen on %s:%d", cfg->host, cfg->port);
        }
    }
    if (rc == CR_OK) {
        cr_log(CR_LOG_WARN, "server",
               "serving %s on http://%s:%d/ (%d threads, %d reaches, %d MiB tile cache, %zu "
               "tokens)",
               cfg->store_path, cfg->host, cfg->port, cfg->threads, first->net->graph->n_reaches,
               cfg->cache_mb, cr_access_count(first->tokens));
        if (cfg->pid_file) {
            FILE *f = fopen(cfg->pid_file, "w");
            if (f) {
                fprintf(f, "%d\n", (int)getpid());
                fclose(f);
            }
        }
        int poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : 1000;
        struct timespec wait = {poll_ms / 1000, (long)(poll_ms % 1000) * 1000000L};
        for (;;) {
            int sig = sigtimedwait(&sigs, NULL, &wait);
            if (sig == SIGINT || sig == SIGTERM) {
                cr_log(CR_LOG_WARN, "server", "signal %d: stopping", sig);
                break;
            }
            if (sig == SIGHUP) {
                reload(&s, 1);
            }
            poll_store(&s, poll_db);
        }
        MHD_stop_daemon(d);
        pthread_key_delete(s.worker_key);
    }
    cr_store_close(poll_db);
    cr_layer_set_free(poll_set);
    cr_tile_cache_free(s.cache);
    pthread_mutex_lock(&s.snap_lock);
    snapshot *last = s.snap;
    s.snap = NULL;
    pthread_mutex_unlock(&s.snap_lock);
    snapshot_release(&s, last);
    pthread_mutex_destroy(&s.snap_lock);
    return rc;
}
