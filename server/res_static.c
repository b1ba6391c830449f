/* SPDX-License-Identifier: MIT */
/* Static resources: the web map page, its files, MapLibre GL JS and the styles. Rule: names
 * are checked against a short alphabet before any path is made; no store connection. */
#include "server_internal.h"
#include "tiler/glyphs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /styles/{name}.json: a MapLibre style from the styles directory, its "{base}" made the
 * address the client used. Names are [a-z0-9_-]: nothing else can be reached. */
cr_status cr_res_style(server_state *s, worker *w, const request *req, response *res, cr_error *err)
{
    (void)w;
    const char *name = req->path + strlen("/styles/");
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    if (n == 0 || n > 64 || strcmp(name + n, ".json") != 0) {
        return cr_error_set(err, CR_ENOTFOUND, "styles are /styles/{name}.json");
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%.*s.json", s->cfg->styles_dir, (int)n, name);
    char *text = NULL;
    size_t len = 0;
    if (cr_read_file(path, &text, &len, NULL) != CR_OK) {
        return cr_error_set(err, CR_ENOTFOUND, "no style '%.*s'", (int)n, name);
    }
    char base[280];
    cr_srv_base_url(s, req, base, sizeof base);
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
    res->content_type = "application/json; charset=utf-8";
    res->cache_control = "no-cache";
    res->raw_set = 1;
    res->raw_len = b.len;
    res->raw = cr_strbuf_take(&b);
    return CR_OK;
}

/* GET /glyphs/{fontstack}/{start}-{end}.pbf: a range of label glyphs from the server's font
 * (whatever fontstack is named: the one font answers), cached by clients for a day. */
cr_status cr_res_glyphs(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    (void)w;
    const char *rest = req->path + strlen("/glyphs/");
    const char *slash = strrchr(rest, '/');
    unsigned start = 0, end = 0;
    char tail = 0;
    if (slash == NULL || slash == rest ||
        sscanf(slash + 1, "%u-%u.pb%c", &start, &end, &tail) != 3 || tail != 'f' ||
        strcmp(slash + strcspn(slash, "."), ".pbf") != 0 || end != start + 255) {
        return cr_error_set(err, CR_ENOTFOUND,
                            "glyphs are /glyphs/{fontstack}/{start}-{end}.pbf "
                            "(256 code points: 0-255, 256-511, …)");
    }
    if (s->glyphs == NULL) {
        return cr_error_set(err, CR_ENOTFOUND, "no label font: %s", s->glyph_error);
    }
    char *data = NULL;
    size_t len = 0;
    cr_status rc = cr_glyphs_range(s->glyphs, rest, start, &data, &len, err);
    if (rc != CR_OK) {
        return rc;
    }
    res->content_type = "application/x-protobuf";
    res->cache_control = "public, max-age=86400";
    res->raw_set = 1;
    res->raw_len = len;
    res->raw = data;
    return CR_OK;
}

/* A file from disk as it is; CR_ENOTFOUND naming what is missing. */
static cr_status send_file(response *res, const char *dir, const char *name, const char *type,
                           cr_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    if (cr_read_file(path, &data, &len, NULL) != CR_OK) {
        return cr_error_set(err, CR_ENOTFOUND, "no file '%.64s' here", name);
    }
    res->content_type = type;
    res->cache_control = "no-cache";
    res->raw_set = 1;
    res->raw = data;
    res->raw_len = len;
    return CR_OK;
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
cr_status cr_res_index(server_state *s, worker *w, const request *req, response *res, cr_error *err)
{
    (void)w;
    (void)req;
    return send_file(res, s->cfg->web_dir, "index.html", "text/html; charset=utf-8", err);
}

/* GET /web/{name}: the page's own files; names are [a-z0-9_-] plus a known extension. */
cr_status cr_res_web(server_state *s, worker *w, const request *req, response *res, cr_error *err)
{
    (void)w;
    const char *name = req->path + strlen("/web/");
    size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");
    const char *type = web_type(name);
    if (n == 0 || name[n] != '.' || strchr(name + n + 1, '.') || type == NULL) {
        return cr_error_set(err, CR_ENOTFOUND, "no such resource");
    }
    return send_file(res, s->cfg->web_dir, name, type, err);
}

/* GET /vendor/maplibre-gl.{js,css} and /vendor/uPlot.{iife.min.js,min.css}: MapLibre GL JS
 * and the uPlot chart library from their npm packages (uPlot's dist/ lies beside MapLibre's
 * in node_modules), nothing else. */
cr_status cr_res_vendor(server_state *s, worker *w, const request *req, response *res,
                        cr_error *err)
{
    (void)w;
    const char *name = req->path + strlen("/vendor/");
    int maplibre = strcmp(name, "maplibre-gl.js") == 0 || strcmp(name, "maplibre-gl.css") == 0;
    int uplot = strcmp(name, "uPlot.iife.min.js") == 0 || strcmp(name, "uPlot.min.css") == 0;
    if (!maplibre && !uplot) {
        return cr_error_set(err, CR_ENOTFOUND, "no such resource");
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s", s->cfg->vendor_dir, uplot ? "/../../uplot/dist" : "");
    if (send_file(res, dir, name, web_type(name), err) != CR_OK) {
        return cr_error_set(err, CR_ENOTFOUND,
                            "%s is not installed: run `npm ci` in the source tree",
                            uplot ? "uPlot" : "MapLibre GL JS");
    }
    return CR_OK;
}
