/* SPDX-License-Identifier: MIT */
/* Internal to server/: the shared state (snapshots, workers, metrics), the request and the
 * response as handlers see them, and the route table. Rule: only http.c sees libmicrohttpd;
 * handlers (res_*.c) fill a response or return an error status with a message, and
 * http_status.c alone turns statuses into HTTP codes. */
#ifndef CR_SERVER_SERVER_INTERNAL_H
#define CR_SERVER_SERVER_INTERNAL_H

#include "api/api.h"
#include "server.h"
#include "store/access.h"
#include "tile_cache.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- metrics (/metrics): updated by every worker, lock-free ---------------------------- */

#define CR_N_BUCKETS  9
#define CR_MAX_ROUTES 40
typedef struct {
    atomic_uint_fast64_t requests[CR_MAX_ROUTES + 1][5]; /* route (last: none) × 1xx…5xx */
    atomic_uint_fast64_t bucket[CR_N_BUCKETS];           /* non-cumulative here */
    atomic_uint_fast64_t count, micros;                  /* duration count and sum */
    atomic_uint_fast64_t tiles, tiles_not_modified, tile_bytes, tiles_empty;
    atomic_uint_fast64_t restricted, auth_failures, reloads, reload_failures;
} metrics;

extern const double CR_METRIC_BUCKETS[CR_N_BUCKETS];

/* ---- snapshots and workers (snapshot.c) ----------------------------------------------- */

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
    cr_access_list *tokens;    /* NULL: no token file */
    network *net;              /* shared with the next snapshot when only the config changed */
    cr_standards *std;         /* indicators and class limits (standards/) */
    json_t *relevance;         /* standards/source_relevance.json, for alarm candidates */
    cr_wq_alarm_config alarms; /* the deployment config's "alarms" */
    json_t *config;            /* the deployment config, checked (an empty object without one) */
} snapshot;

typedef struct {
    metrics m;
    const cr_server_config *cfg;
    pthread_mutex_t snap_lock;
    pthread_mutex_t write_lock;   /* records written over HTTP, one at a time */
    snapshot *snap;               /* current; holds one reference */
    atomic_uint_fast64_t snap_id; /* snap->id, read without the lock */
    cr_tile_cache *cache;
    int64_t data_generation;  /* as the poller last saw it (main thread only) */
    uint64_t store_file;      /* the store file's device and inode: a published snapshot
                                 renamed over it is a new file (main thread only) */
    int replica;              /* the store is a published snapshot (generation.json beside
                                 it): writes belong to the writer, and are refused here */
    struct cr_glyphs *glyphs; /* the labels' font, or NULL (glyph_error says why) */
    char glyph_error[256];
    pthread_key_t worker_key;
    /* the last TileJSON: computing its bounds reads every layer's spatial index (a million
     * reaches: 0.2 s), so it is kept for its data generation, snapshot and address */
    pthread_mutex_t tilejson_lock;
    char *tilejson; /* owned, or NULL */
    int64_t tilejson_generation;
    uint64_t tilejson_snap;
    char tilejson_url[320];
} server_state;

/* Per worker thread, created on its first request; follows the current snapshot. */
typedef struct {
    snapshot *snap; /* a reference held */
    cr_store *store;
    cr_trace_workspace *ws;
} worker;

/* The snapshot in force, with a reference the caller gives back with cr_srv_snapshot_release;
 * install takes over next's reference. */
snapshot *cr_srv_snapshot_acquire(server_state *s);
void cr_srv_snapshot_release(server_state *s, snapshot *p);
void cr_srv_snapshot_install(server_state *s, snapshot *next);
/* A snapshot from the files and the network loaded from the store, which the caller installs
 * (cr_srv_snapshot_install). */
cr_status cr_srv_load_snapshot(server_state *s, snapshot **out, cr_error *err);
/* This thread's worker on the current snapshot; with_store 0: the snapshot only (static files
 * open no store connection). NULL with err on failure. */
worker *cr_srv_this_worker(server_state *s, int with_store, cr_error *err);
/* pthread key destructor of a worker. */
void cr_srv_free_worker(void *slot);
/* SIGHUP (config 1) or a network rebuilt in the store (0): reload without dropping requests. */
void cr_srv_reload(server_state *s, int config);
/* Drop the cached tiles the store's changes touch; reload a rebuilt network. */
void cr_srv_poll_store(server_state *s, cr_store *store);
/* The store's device and inode (0 when it cannot be read). */
uint64_t cr_srv_store_file(const char *path);
/* A new file at the store's path (`crossriver publish` renamed a snapshot over it): load the
 * network and definitions from it, install them, start the tile cache afresh and poll the new
 * file (*poll_db replaced). Requests go on with the old file until the new one is in force. */
void cr_srv_store_replaced(server_state *s, cr_store **poll_db, const cr_layer_set *poll_set);

/* ---- requests, responses and routes --------------------------------------------------- */

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
    const char *client; /* the client's address, for the logs */
} request;

typedef struct {
    json_t *body; /* owned; JSON answers */
    const char *content_type;
    char *raw; /* owned; other answers (tiles, files, zips) instead of body */
    size_t raw_len;
    int raw_set;
    char etag[80];             /* ETag header, or "" (a route with CR_ROUTE_ETAG answers 304) */
    const char *encoding;      /* Content-Encoding, or NULL */
    const char *cache_control; /* NULL: no-store */
    size_t restricted;         /* restricted items served (logged) */
    const char *x_cache;       /* X-Cache for tiles: HIT or MISS */
} response;

/* A handler: fills res and returns CR_OK, or returns the error status with err's message
 * (http_status.c maps it: CR_EINVAL 400, CR_ENOTFOUND 404, CR_EFORBIDDEN 403, else 500). w is
 * NULL for routes flagged CR_ROUTE_NO_STORE, and has no store then. */
typedef cr_status (*cr_handler)(server_state *s, worker *w, const request *req, response *res,
                                cr_error *err);

enum {
    CR_ROUTE_PREFIX = 1,       /* the path is a prefix (ends in '/') */
    CR_ROUTE_ETAG = 2,         /* If-None-Match on the response's ETag answers 304 */
    CR_ROUTE_NO_STORE = 4,     /* static: no store connection, no network */
    CR_ROUTE_TILE_METRICS = 8, /* counted in the tile metrics */
    CR_ROUTE_FULL_TOKEN = 16,  /* a token that opens every layer in every jurisdiction */
    CR_ROUTE_ANY_PARAMS = 32,  /* the handler's own parser checks the parameters */
    CR_ROUTE_TOKEN = 64,       /* any valid bearer token (the write is audited under its name) */
    CR_ROUTE_CORS = 128,       /* read by a map embedded elsewhere: the CORS allowlist applies */
};

typedef struct {
    const char *method;
    const char *path;          /* exact, or a prefix with CR_ROUTE_PREFIX */
    cr_handler fn;             /* res_*.c */
    unsigned flags;            /* CR_ROUTE_* */
    const char *const *params; /* the query parameters it takes (NULL-terminated), or NULL */
    const char *params_hint;   /* said when another is given, e.g. "tiles take layers=a,b" */
} cr_route;

extern const cr_route CR_ROUTES[];
extern const size_t CR_N_ROUTES;

/* HTTP status of a handler's error status. */
int cr_http_status(cr_status rc);
/* A number parameter in [lo, hi] (absent: *out unchanged); CR_EINVAL naming it otherwise. */
cr_status cr_srv_number_param(const request *req, const char *name, double lo, double hi,
                              double *out, cr_error *err);
/* The address the client used (its Host header, when it looks like a host), else ours. */
void cr_srv_base_url(const server_state *s, const request *req, char *out, size_t n);
/* Record one answer in the metrics. */
void cr_srv_record(metrics *m, int route, int status, double seconds);

/* ---- the handlers ---------------------------------------------------------------------- */

cr_status cr_res_tile(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_tilejson(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_trace(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_feature(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_search(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_patrol(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_export(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_health(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_metrics(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_style(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_glyphs(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_labels(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_catalog(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_index(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_web(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_vendor(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_section(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_quality(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_alarms(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_alarm(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_alarm_review(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_incidents(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_incident(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_incident_open(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_incident_write(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_findings(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_finding(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_finding_new(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_finding_step(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_gate_states(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_gate_operations(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_gate_operation(server_state *, worker *, const request *, response *, cr_error *);
cr_status cr_res_gate_operation_record(server_state *, worker *, const request *, response *,
                                       cr_error *);
cr_status cr_res_gate_notify(server_state *, worker *, const request *, response *, cr_error *);

#endif
