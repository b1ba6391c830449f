/* SPDX-License-Identifier: MIT */
/* tile_cache: rendered tiles kept in a bounded amount of memory (least recently used out
 * first), keyed by z/x/y, the layers subset and the access entry (cr_tile_key). Invalidation is
 * precise: a data change (a layer and the lon/lat box it touched) drops exactly the cached tiles
 * whose area (plus the render buffer) meets the box, at the zooms the layer is drawn at, in the
 * variants that show the layer. Rule: a tile rendered before a change is never stored after
 * it — cr_tile_cache_put refuses a tile rendered at an older cache generation. Thread-safe. */
#ifndef CR_SERVER_TILE_CACHE_H
#define CR_SERVER_TILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cr_tile_cache cr_tile_cache;

typedef struct {
    const char *layer; /* the layer that changed */
    double box[4];     /* west, south, east, north (degrees) */
    int minz, maxz;    /* the layer's zoom range: tiles outside it do not show it */
} cr_tile_change;

/* A cached tile's identity: where, which layers, for whom. The strings are borrowed. */
typedef struct {
    int z, x, y;
    const char *layers; /* the ?layers= subset, or NULL for all */
    const char *access; /* the access entry's name (cr_access_name: "-" without a token) */
} cr_tile_key;

/* A rendered tile: the MVT, its gzip (gz NULL when none), the SHA-256 hex of the MVT. For get,
 * data is the copy handed out (the caller frees it with free) and gzipped says which it is. */
typedef struct {
    const char *raw, *gz;
    size_t raw_len, gz_len;
    char hash[65];
} cr_tile_bytes;

typedef struct {
    char *data;
    size_t len;
    int gzipped;
    char hash[65];
} cr_tile_copy;

typedef struct {
    uint64_t hits, misses, stores, refused, evictions, invalidated;
    size_t entries, bytes, max_bytes;
    int64_t generation;
} cr_tile_cache_stats;

/* max_bytes 0: a cache that stores nothing (every get misses). Caller frees it with
 * cr_tile_cache_free; thread-safe between the two. */
cr_tile_cache *cr_tile_cache_new(size_t max_bytes, int64_t generation);
void cr_tile_cache_free(cr_tile_cache *c);
/* The generation the cache is at: read it before rendering, give it to put. */
int64_t cr_tile_cache_generation(cr_tile_cache *c);
/* A copy of the cached tile k (gzip when want_gzip and there is one) in *out, whose data the
 * caller frees with free; out->hash is the SHA-256 hex of the uncompressed tile. 0 on a miss
 * (nothing to free). */
int cr_tile_cache_get(cr_tile_cache *c, const cr_tile_key *k, int want_gzip, cr_tile_copy *out);
/* Store a rendered tile (copied); refused when the cache moved past generation since. */
void cr_tile_cache_put(cr_tile_cache *c, int64_t generation, const cr_tile_key *k,
                       const cr_tile_bytes *t);
/* Drop the tiles the changes touch and move to new_generation; returns how many. */
size_t cr_tile_cache_invalidate(cr_tile_cache *c, const cr_tile_change *changes, size_t n,
                                int64_t new_generation);
/* Drop everything (layer definitions changed) and move to new_generation. */
size_t cr_tile_cache_clear(cr_tile_cache *c, int64_t new_generation);
void cr_tile_cache_get_stats(cr_tile_cache *c, cr_tile_cache_stats *out);

#endif
