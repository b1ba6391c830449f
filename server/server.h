/* SPDX-License-Identifier: MIT */
/* server: the HTTP API on libmicrohttpd. Rule: handlers see a parsed request and return a
 * status and a JSON body; they never see MHD. Shared state (layer definitions, the network
 * graph, the reach index) is loaded before serving and then read-only; each worker thread has
 * its own read-only store connection and trace workspace. */
#ifndef CR_SERVER_SERVER_H
#define CR_SERVER_SERVER_H

#include "core/core.h"

typedef struct {
    const char *store_path;  /* the store to serve */
    const char *layers_dir;  /* layer definitions */
    const char *styles_dir;  /* MapLibre styles served at /styles/{name}.json */
    const char *web_dir;     /* the web map page: index.html, app.mjs, … */
    const char *vendor_dir;  /* MapLibre GL JS's dist/ (npm) */
    const char *host;        /* address to bind, e.g. 127.0.0.1 */
    int port;                /* TCP port */
    int threads;             /* worker threads */
    const char *cors_origin; /* Access-Control-Allow-Origin, or NULL for none */
    const char *pid_file;    /* write the process ID here once listening, or NULL */
    const char *tokens_path; /* bearer tokens for restricted data (docs/operations.md), or NULL */
    int cache_mb;            /* tile cache bound in MiB; 0: no cache */
    int poll_ms;             /* how often to look for store changes; <= 0: 1000 */
    const char *config;      /* deployment config (alarm rules), or NULL */
    const char *font_path;   /* the labels' font (glyphs at /glyphs/); NULL: the default */
    int font_face;           /* its face within a collection */
    int max_connections;     /* open connections at most (<= 0: 4096); more are refused */
    int per_ip;              /* open connections per client address at most (<= 0: no limit) */
    int timeout_s;           /* an idle connection is closed after this (<= 0: 30 s) */
} cr_server_config;

/* The default directories (borrowed: the environment's string or a static one). */
/* The styles directory: $CROSSRIVER_STYLES, else the source tree's styles/. */
const char *cr_server_default_styles_dir(void);
/* The web page: $CROSSRIVER_WEB, else the source tree's web/. */
const char *cr_server_default_web_dir(void);
/* MapLibre GL JS: $CROSSRIVER_VENDOR, else node_modules/maplibre-gl/dist of the source tree. */
const char *cr_server_default_vendor_dir(void);
/* Serve until SIGINT or SIGTERM; SIGHUP reloads the layer definitions and tokens. The store is
 * polled for new data generations: the tiles they touch leave the cache, and a rebuilt network
 * is loaded. Errors: the store, the network, the token file or the socket. */
cr_status cr_server_run(const cr_server_config *cfg, cr_error *err);

#endif
