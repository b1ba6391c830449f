/* SPDX-License-Identifier: MIT */
/* GET /tiles/{z}/{x}/{y}.mvt and GET /tiles.json. */
#include "server_internal.h"
#include "tiler/tile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fill res with a tile: gzip when the client takes it, ETag from the content hash (the same
 * for both encodings apart from the -gz suffix; the route answers 304 on a match). */
static void tile_answer(const request *req, response *res, char *data, size_t len, int gzipped,
                        const char hash[65])
{
    res->content_type = "application/vnd.mapbox-vector-tile";
    /* keep, but revalidate: the ETag changes with the data; tiles with restricted data are
     * for this client only */
    res->cache_control = req->access ? "private, no-cache" : "no-cache";
    res->raw_set = 1;
    res->raw = data;
    res->raw_len = len;
    res->encoding = gzipped ? "gzip" : NULL;
    snprintf(res->etag, sizeof res->etag, "\"%.32s%s\"", hash, gzipped ? "-gz" : "");
}

/* From the cache, else rendered (and cached unless the client's token limits jurisdictions:
 * those tiles depend on the joins too). */
cr_status cr_res_tile(server_state *s, worker *w, const request *req, response *res, cr_error *err)
{
    int z, x, y;
    if (!cr_tile_parse_path(req->path + strlen("/tiles/"), ".mvt", &z, &x, &y)) {
        return cr_error_set(err, CR_ENOTFOUND,
                            "tiles are /tiles/{z}/{x}/{y}.mvt, in decimal digits");
    }
    const char *layers = json_string_value(json_object_get(req->params, "layers"));
    cr_tile_key key = {z, x, y, layers, cr_access_name(req->access)};
    int cacheable = req->access == NULL || cr_access_all_codes(req->access);
    cr_tile_copy hit;
    if (cacheable && cr_tile_valid(z, x, y) &&
        cr_tile_cache_get(s->cache, &key, req->accept_gzip, &hit)) {
        res->restricted = req->access != NULL; /* cached for a token: it may hold restricted data */
        res->x_cache = "HIT";
        tile_answer(req, res, hit.data, hit.len, hit.gzipped, hit.hash);
        return CR_OK;
    }
    int64_t generation = cr_tile_cache_generation(s->cache);
    cr_tile_request tr = {
        .z = z, .x = x, .y = y, .buffer = -1, .layers = layers, .access = req->access};
    cr_strbuf tile = {0};
    cr_tile_stats stats;
    cr_status rc = cr_tile_render(w->store, &tr, &tile, &stats, err);
    if (rc != CR_OK) {
        cr_strbuf_cleanup(&tile);
        return rc;
    }
    res->restricted = stats.restricted;
    res->x_cache = "MISS";
    char hash[65];
    cr_sha256_hex(tile.data ? tile.data : "", tile.len, hash);
    char *gz = NULL;
    size_t gz_len = 0;
    if (tile.len == 0 || !cr_tile_gzip(tile.data, tile.len, &gz, &gz_len)) {
        gz = NULL;
    }
    if (cacheable && w->snap->id == atomic_load(&s->snap_id)) { /* not a replaced store's */
        cr_tile_bytes bytes = {tile.data, gz, tile.len, gz_len, ""};
        memcpy(bytes.hash, hash, sizeof hash);
        cr_tile_cache_put(s->cache, generation, &key, &bytes);
    }
    if (req->accept_gzip && gz) {
        cr_strbuf_cleanup(&tile);
        tile_answer(req, res, gz, gz_len, 1, hash);
    } else {
        free(gz);
        size_t len = tile.len;
        tile_answer(req, res, cr_strbuf_take(&tile), len, 0, hash);
    }
    return CR_OK;
}

/* TileJSON for the tiles this server serves, at the address the client used; the one made
 * last while the data, the definitions and the address are the same. */
cr_status cr_res_tilejson(server_state *s, worker *w, const request *req, response *res,
                          cr_error *err)
{
    char base[280], url[320];
    cr_srv_base_url(s, req, base, sizeof base);
    snprintf(url, sizeof url, "%s/tiles/{z}/{x}/{y}.mvt", base);
    int64_t generation = cr_store_data_generation(w->store);
    res->content_type = "application/json; charset=utf-8";
    pthread_mutex_lock(&s->tilejson_lock);
    int hit = s->tilejson && s->tilejson_generation == generation &&
              s->tilejson_snap == w->snap->id && strcmp(s->tilejson_url, url) == 0;
    char *text = hit ? cr_xstrdup(s->tilejson) : NULL;
    pthread_mutex_unlock(&s->tilejson_lock);
    if (text == NULL) {
        json_t *body = NULL;
        cr_status rc = cr_api_tilejson(w->store, url, &body, err);
        if (rc != CR_OK) {
            return rc;
        }
        text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_decref(body);
        pthread_mutex_lock(&s->tilejson_lock);
        free(s->tilejson);
        s->tilejson = cr_xstrdup(text);
        s->tilejson_generation = generation;
        s->tilejson_snap = w->snap->id;
        snprintf(s->tilejson_url, sizeof s->tilejson_url, "%s", url);
        pthread_mutex_unlock(&s->tilejson_lock);
    }
    res->raw_set = 1;
    res->raw_len = strlen(text);
    res->raw = text;
    return CR_OK;
}
