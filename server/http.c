/* SPDX-License-Identifier: MIT */
/* The libmicrohttpd adapter: parse the request, find its route (404 for an unknown path, 405
 * for a known path with another method), check what the route table says (its parameters, its
 * token, its body), call the handler, turn its status into the HTTP answer, log, count. Rule:
 * the only file that sees libmicrohttpd. */
#include "server_internal.h"
#include "tiler/glyphs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARAM_BYTES 1024
#define MAX_BODY_BYTES  (1 << 20)

/* An answer the adapter gives itself: the status and its message. */
static void error_answer(response *res, int *status, int code, const char *message)
{
    *status = code;
    json_decref(res->body);
    free(res->raw);
    memset(res, 0, sizeof *res);
    res->content_type = "application/json; charset=utf-8";
    res->body = json_pack("{s:s, s:i}", "error", message, "status", code);
}

/* Authorization: Bearer TOKEN → req->access. No header: the public. A header that is not a
 * bearer token, or a token the token file does not list (or lists as expired): 0, with the
 * reason. */
static int authorise(const snapshot *snap, struct MHD_Connection *c, request *req, const char **why)
{
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
    req->access = token ? cr_access_find(snap->tokens, token, now) : NULL;
    if (req->access == NULL) {
        *why = snap->tokens == NULL
                   ? "this server has no token file (serve --tokens): no tokens are valid"
                   : "unknown or expired bearer token";
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

/* A request's body, gathered over the calls MHD makes, and the URI as it came. */
typedef struct {
    cr_strbuf body;
    int too_big;
    int started;   /* the headers' call is done */
    char *raw_uri; /* before unescaping: a %00 is still visible here */
} upload;

/* Before the access handler: the request's state, with the URI as sent (MHD unescapes the
 * one the handler sees, where a NUL would silently end the path). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    upload *up = cr_xcalloc(1, sizeof *up);
    up->raw_uri = cr_xstrdup(uri ? uri : "");
    return up;
}

/* A control character in the URI, raw or percent-encoded (NUL, %00–%1F, %7F). */
static int has_control(const char *uri)
{
    for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 1;
        }
        if (*p == '%' && isxdigit(p[1]) && isxdigit(p[2])) {
            unsigned v = 0;
            sscanf((const char *)p + 1, "%2x", &v);
            if (v < 0x20 || v == 0x7f) {
                return 1;
            }
        }
    }
    return 0;
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    upload *up = *con_cls;
    if (up) {
        cr_strbuf_cleanup(&up->body);
        free(up->raw_uri);
        free(up);
        *con_cls = NULL;
    }
}

/* The client's address as text ("?" when MHD does not say). */
static void client_address(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)ci->client_addr;
        inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)n);
    } else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)n);
    }
}

/* The Origin to allow for a cross-origin reader of route r, or NULL: "*" when the allowlist
 * is "*", the request's Origin when the comma-separated allowlist names it exactly. Only
 * routes flagged CR_ROUTE_CORS (what a map embedded elsewhere reads) are shared at all. */
static const char *cors_allow(const char *allowlist, const cr_route *r, const char *origin)
{
    if (allowlist == NULL || r == NULL || !(r->flags & CR_ROUTE_CORS)) {
        return NULL;
    }
    if (strcmp(allowlist, "*") == 0) {
        return "*";
    }
    size_t n = origin ? strlen(origin) : 0;
    for (const char *p = allowlist; n > 0 && *p;) {
        p += strspn(p, " "); /* "a, b" as well as "a,b" */
        size_t len = strcspn(p, ", ");
        if (len == n && strncmp(p, origin, n) == 0) {
            return origin;
        }
        p += len;
        p += strspn(p, " ");
        p += *p == ',';
    }
    return NULL;
}

/* The route of the path and method: *index its row (or CR_MAX_ROUTES), *known whether the path
 * is a route's at all. */
static const cr_route *find_route(const char *url, const char *method, int *index, int *known)
{
    const cr_route *found = NULL;
    *known = 0;
    *index = CR_MAX_ROUTES;
    for (size_t i = 0; i < CR_N_ROUTES; i++) {
        const cr_route *r = &CR_ROUTES[i];
        int hit = r->flags & CR_ROUTE_PREFIX ? strncmp(url, r->path, strlen(r->path)) == 0
                                             : strcmp(url, r->path) == 0;
        if (hit) {
            *known = 1;
            found = strcmp(method, r->method) == 0 ? r : found;
            *index = (int)i;
        }
    }
    return found;
}

/* Only the parameters the route takes; else the message in msg and 0. */
static int params_allowed(const cr_route *r, const json_t *params, char *msg, size_t n)
{
    if (r->flags & CR_ROUTE_ANY_PARAMS) {
        return 1;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)params, key, val)
    {
        int ok = 0;
        for (size_t i = 0; r->params && r->params[i]; i++) {
            ok |= strcmp(key, r->params[i]) == 0;
        }
        if (!ok) {
            snprintf(msg, n, "unknown parameter '%.64s'%s%s%s", key, r->params_hint ? " (" : "",
                     r->params_hint ? r->params_hint : "", r->params_hint ? ")" : "");
            return 0;
        }
    }
    return 1;
}

/* Does If-None-Match name the ETag (or "*")? Tags compare without a -gz suffix, so a client
 * that switched encodings still revalidates. */
static int etag_matches(const char *header, const char *etag)
{
    if (header == NULL || etag[0] == '\0') {
        return 0;
    }
    if (strchr(header, '*')) {
        return 1;
    }
    char tag[80];
    snprintf(tag, sizeof tag, "%s", etag[0] == '"' ? etag + 1 : etag);
    tag[strcspn(tag, "\"-")] = '\0';
    return tag[0] && strstr(header, tag) != NULL;
}

/* What the route table asks before the handler: parameters, a full token; then the handler. */
static int dispatch(server_state *s, struct MHD_Connection *c, const cr_route *route, request *req,
                    response *res, const upload *up)
{
    int status = MHD_HTTP_OK;
    char msg[256];
    cr_error err = {0};
    const char *why = NULL;
    worker *w = cr_srv_this_worker(s, !(route->flags & CR_ROUTE_NO_STORE), &err);
    if (w == NULL) {
        error_answer(res, &status, MHD_HTTP_SERVICE_UNAVAILABLE, err.msg);
    } else if (up->too_big) {
        error_answer(res, &status, MHD_HTTP_CONTENT_TOO_LARGE, "the body is over 1 MiB");
    } else if (json_object_get(req->params, "\x01invalid")) {
        error_answer(res, &status, MHD_HTTP_BAD_REQUEST,
                     "a query parameter is repeated, too long or oversized");
    } else if (!authorise(w->snap, c, req, &why)) {
        atomic_fetch_add(&s->m.auth_failures, 1);
        error_answer(res, &status, MHD_HTTP_UNAUTHORIZED, why);
    } else if (!params_allowed(route, req->params, msg, sizeof msg)) {
        error_answer(res, &status, MHD_HTTP_BAD_REQUEST, msg);
    } else if ((route->flags & CR_ROUTE_FULL_TOKEN) &&
               (req->access == NULL || !cr_access_all_codes(req->access) ||
                !cr_access_layer(req->access, "outfalls") ||
                !cr_access_layer(req->access, "contacts"))) {
        error_answer(res, &status, req->access ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED,
                     "this needs a bearer token that opens every layer in every jurisdiction");
    } else if ((route->flags & CR_ROUTE_TOKEN) && req->access == NULL) {
        error_answer(res, &status, MHD_HTTP_UNAUTHORIZED,
                     "this needs a bearer token (Authorization: Bearer …); the change is "
                     "recorded under its name");
    } else if (route->fn(s, w, req, res, &err) != CR_OK) {
        error_answer(res, &status, cr_http_status(err.code ? err.code : CR_EIO), err.msg);
    } else if ((route->flags & CR_ROUTE_ETAG) && etag_matches(req->if_none_match, res->etag)) {
        status = MHD_HTTP_NOT_MODIFIED;
        free(res->raw);
        res->raw = NULL;
        res->raw_len = 0;
        res->encoding = NULL;
    }
    return status;
}

/* Send res with the status; returns the body length. */
static size_t send_answer(server_state *s, struct MHD_Connection *c, const cr_route *allow,
                          response *res, int status, enum MHD_Result *ok)
{
    char *body =
        res->raw_set ? res->raw : json_dumps(res->body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    size_t len = res->raw_set ? res->raw_len : body ? strlen(body) : 0;
    res->raw = NULL; /* the response owns it now */
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    if (status != MHD_HTTP_NOT_MODIFIED && res->content_type) {
        MHD_add_response_header(r, "Content-Type", res->content_type);
    }
    MHD_add_response_header(r, "Cache-Control",
                            res->cache_control ? res->cache_control : "no-store");
    if (res->etag[0]) {
        MHD_add_response_header(r, "ETag", res->etag);
    }
    if (res->encoding) {
        MHD_add_response_header(r, "Content-Encoding", res->encoding);
    }
    if (res->x_cache) {
        MHD_add_response_header(r, "X-Cache", res->x_cache);
    }
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED && allow) {
        MHD_add_response_header(r, "Allow", allow->method);
    }
    if (status == MHD_HTTP_UNAUTHORIZED) {
        MHD_add_response_header(r, "WWW-Authenticate",
                                "Bearer realm=\"crossriver\", error=\"invalid_token\"");
    }
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *allow_origin = cors_allow(s->cfg->cors_origin, allow, origin);
    if (allow_origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", allow_origin);
    }
    /* an answer that depends on the Origin says so, for caches between */
    int by_origin = s->cfg->cors_origin && strcmp(s->cfg->cors_origin, "*") != 0 && allow &&
                    (allow->flags & CR_ROUTE_CORS);
    if (res->etag[0] || by_origin) {
        MHD_add_response_header(r, "Vary",
                                !by_origin     ? "Accept-Encoding"
                                : res->etag[0] ? "Accept-Encoding, Origin"
                                               : "Origin");
    }
    *ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return len;
}

/* What went back: the status, the bytes sent, the time taken. */
typedef struct {
    int status;
    size_t len;
    double seconds;
} answer;

/* The access log, the restricted-access log and the metrics of one answer (route NULL and
 * index CR_MAX_ROUTES when no route matched). */
static void account(server_state *s, const cr_route *route, int index, const request *req,
                    const response *res, const answer *ans)
{
    int status = ans->status;
    size_t len = ans->len;
    double dt = ans->seconds;
    cr_srv_record(&s->m, index, status, dt);
    if (route && (route->flags & CR_ROUTE_TILE_METRICS)) {
        atomic_fetch_add(&s->m.tiles, 1);
        atomic_fetch_add(&s->m.tile_bytes, len);
        atomic_fetch_add(&s->m.tiles_not_modified, status == MHD_HTTP_NOT_MODIFIED);
        atomic_fetch_add(&s->m.tiles_empty, status == MHD_HTTP_OK && len == 0);
    }
    char ts[21];
    cr_now_iso8601(ts);
    fprintf(stderr, "%s access %s %s %d %zu %.1fms token=%s client=%s\n", ts, req->method,
            req->path, status, len, dt * 1000.0, cr_access_name(req->access), req->client);
    if (res->restricted || status == MHD_HTTP_UNAUTHORIZED || status == MHD_HTTP_FORBIDDEN) {
        /* the restricted-access log: every answer that carried restricted data or refused it */
        fprintf(stderr, "%s restricted %s token=%s %s %s status=%d items=%zu client=%s\n", ts,
                res->restricted ? "served" : "refused", cr_access_name(req->access), req->method,
                req->path, status, res->restricted, req->client);
        atomic_fetch_add(&s->m.restricted, res->restricted > 0);
    }
}

/* What will be refused is refused before its body is read: a control character in the URI
 * (400), an unknown route (404) or method (405) with a body, a body declared over the limit
 * (413), a write without a valid token (401). Else MHD_YES: go on to the body. */
static enum MHD_Result refuse_early(server_state *s, struct MHD_Connection *c, const char *url,
                                    const char *method, const upload *up)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    long long declared = cl ? strtoll(cl, NULL, 10) : 0;
    int index = CR_MAX_ROUTES, known = 0, status = 0;
    const cr_route *route = find_route(url, method, &index, &known);
    response res = {0};
    char client[64];
    client_address(c, client, sizeof client);
    request req = {method, url, NULL, 0, NULL, NULL, NULL, NULL, 0, client};
    if (has_control(up->raw_uri)) {
        error_answer(&res, &status, MHD_HTTP_BAD_REQUEST,
                     "a control character (NUL, %00–%1F, %7F) in the path or query");
    } else if (s->replica && strcmp(method, "POST") == 0 && route) {
        error_answer(&res, &status, MHD_HTTP_FORBIDDEN,
                     "this server is a read replica (a snapshot from `crossriver publish`): "
                     "send writes to the writer, where they are kept");
    } else if (declared > 0 && !known) {
        error_answer(&res, &status, MHD_HTTP_NOT_FOUND, "no such resource");
    } else if (declared > 0 && route == NULL) {
        error_answer(&res, &status, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    } else if (declared > MAX_BODY_BYTES) {
        error_answer(&res, &status, MHD_HTTP_CONTENT_TOO_LARGE, "the body is over 1 MiB");
    } else if (declared > 0 && (route->flags & (CR_ROUTE_TOKEN | CR_ROUTE_FULL_TOKEN))) {
        snapshot *snap = cr_srv_snapshot_acquire(s);
        const char *why = NULL;
        int ok = authorise(snap, c, &req, &why);
        if (!ok || req.access == NULL) {
            atomic_fetch_add(&s->m.auth_failures, !ok); /* a token given, and not valid */
            error_answer(&res, &status, MHD_HTTP_UNAUTHORIZED,
                         why ? why
                             : "this needs a bearer token (Authorization: Bearer …); the "
                               "change is recorded under its name");
        }
        req.access = NULL; /* the snapshot's; not kept past it */
        cr_srv_snapshot_release(s, snap);
    }
    if (status == 0) {
        return MHD_YES;
    }
    double t0 = cr_monotonic_s();
    enum MHD_Result ok = MHD_NO;
    size_t len = send_answer(s, c, route, &res, status, &ok);
    answer ans = {status, len, cr_monotonic_s() - t0};
    account(s, route, route ? index : CR_MAX_ROUTES, &req, &res, &ans);
    json_decref(res.body);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    server_state *s = cls;
    if (*con_cls == NULL) { /* no URI callback ran (it always does): state of our own */
        *con_cls = on_uri(NULL, url, c);
    }
    upload *up = *con_cls;
    if (!up->started) { /* first call: headers only; the body (if any) comes next */
        up->started = 1;
        return refuse_early(s, c, url, method, up);
    }
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
    char client[64];
    client_address(c, client, sizeof client);
    request req = {method, url,           json_object(), 0,     NULL, NULL,
                   NULL,   up->body.data, up->body.len,  client};
    response res = {0};
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    req.accept_gzip = ae && strstr(ae, "gzip") != NULL;
    req.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    req.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_param, req.params);
    int index = CR_MAX_ROUTES, known = 0, status = MHD_HTTP_OK;
    const cr_route *route = find_route(url, method, &index, &known);
    if (!known) {
        error_answer(&res, &status, MHD_HTTP_NOT_FOUND, "no such resource");
    } else if (route == NULL) {
        error_answer(&res, &status, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    } else {
        status = dispatch(s, c, route, &req, &res, up);
    }
    enum MHD_Result ok = MHD_NO;
    size_t len =
        send_answer(s, c, index < CR_MAX_ROUTES ? &CR_ROUTES[index] : NULL, &res, status, &ok);
    answer ans = {status, len, cr_monotonic_s() - t0};
    account(s, route, index, &req, &res, &ans);
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

/* Room for n open files (the connections and the stores), as far as the hard limit goes. */
static void raise_fd_limit(unsigned n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > n ? n : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

cr_status cr_server_run(const cr_server_config *cfg, cr_error *err)
{
    server_state s = {0};
    s.cfg = cfg;
    pthread_mutex_init(&s.snap_lock, NULL);
    pthread_mutex_init(&s.write_lock, NULL);
    pthread_mutex_init(&s.tilejson_lock, NULL);
    snapshot *first = NULL;
    cr_status rc = cr_srv_load_snapshot(&s, &first, err);
    cr_store *poll_db = NULL;      /* the main thread's own connection, for polling, */
    cr_layer_set *poll_set = NULL; /* with its own definitions: snapshots come and go */
    if (rc == CR_OK) {
        cr_srv_snapshot_install(&s, first);
        rc = cr_layer_set_load(cfg->layers_dir, &poll_set, err);
    }
    if (rc == CR_OK) {
        rc = cr_store_open_readonly(cfg->store_path, poll_set, &poll_db, err);
    }
    if (rc == CR_OK) {
        /* labels need a font; without one the map still works, unlabelled, and says why */
        cr_error ge = {0};
        const char *font = cfg->font_path ? cfg->font_path : CR_GLYPHS_DEFAULT_FONT;
        int face = cfg->font_path ? cfg->font_face : CR_GLYPHS_DEFAULT_FACE;
        if (cr_glyphs_open(font, face, &s.glyphs, &ge) != CR_OK) {
            snprintf(s.glyph_error, sizeof s.glyph_error, "%s", ge.msg);
            cr_log(CR_LOG_WARN, "server", "no map labels: %s", ge.msg);
        }
        s.data_generation = cr_store_data_generation(poll_db);
        s.store_file = cr_srv_store_file(cfg->store_path);
        char marker[1100];
        const char *slash = strrchr(cfg->store_path, '/');
        snprintf(marker, sizeof marker, "%.*s%sgeneration.json",
                 slash ? (int)(slash - cfg->store_path) : 0, cfg->store_path, slash ? "/" : "");
        s.replica = access(marker, F_OK) == 0;
        s.cache = cr_tile_cache_new((size_t)cfg->cache_mb << 20, s.data_generation);
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (rc == CR_OK && inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        rc = cr_error_set(err, CR_EINVAL, "--host '%s' is not an IPv4 address", cfg->host);
    }
    struct MHD_Daemon *d = NULL;
    unsigned limit = (unsigned)(cfg->max_connections > 0 ? cfg->max_connections : 4096);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    if (rc == CR_OK) {
        /* workers inherit the mask: only this thread waits for the signals */
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
        pthread_key_create(&s.worker_key, cr_srv_free_worker);
        /* epoll: select() would cap the connections at FD_SETSIZE, shared among the workers */
        raise_fd_limit(limit + 64);
        d = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
            on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT, limit,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)(cfg->per_ip > 0 ? cfg->per_ip : 0),
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(cfg->timeout_s > 0 ? cfg->timeout_s : 30),
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
            /* e.g. HTTP/1.1 without Host: 400 */ MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
        if (d == NULL) {
            rc = cr_error_set(err, CR_EIO, "cannot listen on %s:%d", cfg->host, cfg->port);
        }
    }
    if (rc == CR_OK) {
        cr_log(CR_LOG_WARN, "server",
               "serving %s on http://%s:%d/ (%d threads, %d reaches, %d MiB tile cache, %zu "
               "tokens, at most %u connections%s)",
               cfg->store_path, cfg->host, cfg->port, cfg->threads, first->net->graph->n_reaches,
               cfg->cache_mb, cr_access_count(first->tokens), limit,
               s.replica ? "; a read replica: writes refused" : "");
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
                cr_srv_reload(&s, 1);
            }
            if (cr_srv_store_file(cfg->store_path) != s.store_file) {
                cr_srv_store_replaced(&s, &poll_db, poll_set);
            }
            cr_srv_poll_store(&s, poll_db);
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
    cr_srv_snapshot_release(&s, last);
    pthread_mutex_destroy(&s.snap_lock);
    pthread_mutex_destroy(&s.write_lock);
    pthread_mutex_destroy(&s.tilejson_lock);
    free(s.tilejson);
    cr_glyphs_free(s.glyphs);
    return rc;
}
