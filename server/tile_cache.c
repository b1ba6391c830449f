/* SPDX-License-Identifier: MIT */
/* A hash table over z/x/y (all variants of a tile share a chain, so invalidation finds them by
 * tile) and a least-recently-used list, under one mutex. */
#include "tile_cache.h"

#include "core/core.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAT         85.0511287798066
#define MAX_Z           32
#define BUFFER_FRACTION (64.0 / 4096.0) /* the server's render buffer, in tiles */
#define DIRECT_TILES    1024            /* above this many tiles a change scans the entries */

typedef struct entry {
    struct entry *chain;       /* next in the hash bucket */
    struct entry *prev, *next; /* LRU: head is the most recent */
    int z, x, y;
    char *layers; /* NULL: all layers */
    char *access; /* the access entry's name */
    char *raw, *gz;
    size_t raw_len, gz_len, bytes;
    char hash[65];
} entry;

struct cr_tile_cache {
    pthread_mutex_t mu;
    entry **buckets;
    size_t n_buckets, n;
    entry *head, *tail;
    size_t bytes, max_bytes;
    size_t per_zoom[MAX_Z + 1];
    int64_t generation;
    uint64_t hits, misses, stores, refused, evictions, invalidated;
};

static size_t bucket_of(const cr_tile_cache *c, int z, int x, int y)
{
    uint64_t h = 1469598103934665603ULL;
    int v[3] = {z, x, y};
    for (int i = 0; i < 3; i++) {
        h = (h ^ (uint64_t)(uint32_t)v[i]) * 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 29)) & (c->n_buckets - 1);
}

cr_tile_cache *cr_tile_cache_new(size_t max_bytes, int64_t generation)
{
    cr_tile_cache *c = cr_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->n_buckets = 1024;
    c->buckets = cr_xcalloc(c->n_buckets, sizeof *c->buckets);
    c->max_bytes = max_bytes;
    c->generation = generation;
    return c;
}

static void entry_free(entry *e)
{
    free(e->layers);
    free(e->access);
    free(e->raw);
    free(e->gz);
    free(e);
}

static void lru_unlink(cr_tile_cache *c, entry *e)
{
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->prev = e->next = NULL;
}

static void lru_push(cr_tile_cache *c, entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head) {
        c->head->prev = e;
    }
    c->head = e;
    if (c->tail == NULL) {
        c->tail = e;
    }
}

/* Unlink e (whose chain predecessor link is *link) and free it. */
static void drop(cr_tile_cache *c, entry **link, entry *e)
{
    *link = e->chain;
    lru_unlink(c, e);
    c->n--;
    c->bytes -= e->bytes;
    c->per_zoom[e->z]--;
    entry_free(e);
}

static void drop_entry(cr_tile_cache *c, entry *e)
{
    entry **link = &c->buckets[bucket_of(c, e->z, e->x, e->y)];
    while (*link != e) {
        link = &(*link)->chain;
    }
    drop(c, link, e);
}

void cr_tile_cache_free(cr_tile_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (entry *e = c->head; e;) {
        entry *next = e->next;
        entry_free(e);
        e = next;
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int64_t cr_tile_cache_generation(cr_tile_cache *c)
{
    pthread_mutex_lock(&c->mu);
    int64_t g = c->generation;
    pthread_mutex_unlock(&c->mu);
    return g;
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static entry *find(cr_tile_cache *c, const cr_tile_key *k)
{
    for (entry *e = c->buckets[bucket_of(c, k->z, k->x, k->y)]; e; e = e->chain) {
        if (e->z == k->z && e->x == k->x && e->y == k->y && same(e->layers, k->layers) &&
            strcmp(e->access, k->access) == 0) {
            return e;
        }
    }
    return NULL;
}

int cr_tile_cache_get(cr_tile_cache *c, const cr_tile_key *k, int want_gzip, cr_tile_copy *out)
{
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, k);
    if (e == NULL) {
        c->misses++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    c->hits++;
    lru_unlink(c, e);
    lru_push(c, e);
    out->gzipped = want_gzip && e->gz != NULL;
    const char *src = out->gzipped ? e->gz : e->raw;
    out->len = out->gzipped ? e->gz_len : e->raw_len;
    out->data = cr_xmalloc(out->len ? out->len : 1);
    if (out->len) {
        memcpy(out->data, src, out->len);
    }
    memcpy(out->hash, e->hash, 65);
    pthread_mutex_unlock(&c->mu);
    return 1;
}

static void grow(cr_tile_cache *c)
{
    size_t nb = c->n_buckets * 2;
    entry **b = cr_xcalloc(nb, sizeof *b);
    size_t old_n = c->n_buckets;
    entry **old = c->buckets;
    c->buckets = b;
    c->n_buckets = nb;
    for (size_t i = 0; i < old_n; i++) {
        for (entry *e = old[i]; e;) {
            entry *next = e->chain;
            size_t k = bucket_of(c, e->z, e->x, e->y);
            e->chain = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(old);
}

static char *dup_bytes(const char *p, size_t n)
{
    if (p == NULL) {
        return NULL;
    }
    char *d = cr_xmalloc(n ? n : 1);
    memcpy(d, p, n);
    return d;
}

void cr_tile_cache_put(cr_tile_cache *c, int64_t generation, const cr_tile_key *k,
                       const cr_tile_bytes *t)
{
    size_t gz_len = t->gz ? t->gz_len : 0;
    size_t bytes = sizeof(entry) + t->raw_len + gz_len + (k->layers ? strlen(k->layers) : 0) +
                   strlen(k->access) + 64;
    int z = k->z;
    pthread_mutex_lock(&c->mu);
    if (generation != c->generation || bytes > c->max_bytes / 8 || z < 0 || z > MAX_Z ||
        find(c, k)) {
        c->refused += generation != c->generation;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    while (c->bytes + bytes > c->max_bytes && c->tail) {
        drop_entry(c, c->tail);
        c->evictions++;
    }
    if (c->n + 1 > 2 * c->n_buckets) {
        grow(c);
    }
    entry *e = cr_xcalloc(1, sizeof *e);
    e->z = z, e->x = k->x, e->y = k->y;
    e->layers = k->layers ? cr_xstrdup(k->layers) : NULL;
    e->access = cr_xstrdup(k->access);
    e->raw = dup_bytes(t->raw ? t->raw : "", t->raw_len);
    e->raw_len = t->raw_len;
    e->gz = dup_bytes(t->gz, gz_len);
    e->gz_len = gz_len;
    e->bytes = bytes;
    memcpy(e->hash, t->hash, 65);
    size_t b = bucket_of(c, z, k->x, k->y);
    e->chain = c->buckets[b];
    c->buckets[b] = e;
    lru_push(c, e);
    c->n++;
    c->bytes += bytes;
    c->per_zoom[z]++;
    c->stores++;
    pthread_mutex_unlock(&c->mu);
}

/* Is the layer in the entry's subset (NULL: every layer)? */
static int shows(const entry *e, const char *layer)
{
    if (e->layers == NULL) {
        return 1;
    }
    size_t n = strlen(layer);
    for (const char *p = e->layers; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, layer, n) == 0) {
            return 1;
        }
        p += len + (end ? 1 : 0);
    }
    return 0;
}

/* The tiles at z (x0..x1, y0..y1) whose area plus the buffer meets the box. */
static void tile_range(const double box[4], int z, long r[4])
{
    double n = ldexp(1.0, z);
    double south = fmax(-MAX_LAT, fmin(MAX_LAT, box[1]));
    double north = fmax(-MAX_LAT, fmin(MAX_LAT, box[3]));
    double fx0 = (box[0] + 180.0) / 360.0 * n, fx1 = (box[2] + 180.0) / 360.0 * n;
    double fy0 = (1.0 - asinh(tan(north * M_PI / 180.0)) / M_PI) / 2.0 * n;
    double fy1 = (1.0 - asinh(tan(south * M_PI / 180.0)) / M_PI) / 2.0 * n;
    long max = (long)n - 1;
    r[0] = (long)floor(fx0 - BUFFER_FRACTION);
    r[1] = (long)floor(fy0 - BUFFER_FRACTION);
    r[2] = (long)floor(fx1 + BUFFER_FRACTION);
    r[3] = (long)floor(fy1 + BUFFER_FRACTION);
    r[0] = r[0] < 0 ? 0 : r[0];
    r[1] = r[1] < 0 ? 0 : r[1];
    r[2] = r[2] > max ? max : r[2];
    r[3] = r[3] > max ? max : r[3];
}

typedef struct {
    const cr_tile_change *change;
    int z;
    long r[4];
} wide;

size_t cr_tile_cache_invalidate(cr_tile_cache *c, const cr_tile_change *changes, size_t n,
                                int64_t new_generation)
{
    pthread_mutex_lock(&c->mu);
    size_t before = c->n;
    wide *wides = NULL;
    size_t n_wide = 0, cap_wide = 0;
    for (size_t i = 0; i < n; i++) {
        const cr_tile_change *ch = &changes[i];
        int lo = ch->minz < 0 ? 0 : ch->minz, hi = ch->maxz > MAX_Z ? MAX_Z : ch->maxz;
        for (int z = lo; z <= hi; z++) {
            if (c->per_zoom[z] == 0) {
                continue;
            }
            long r[4];
            tile_range(ch->box, z, r);
            if (r[0] > r[2] || r[1] > r[3]) {
                continue;
            }
            double count = (double)(r[2] - r[0] + 1) * (double)(r[3] - r[1] + 1);
            if (count > DIRECT_TILES) { /* scan the entries once, below */
                if (n_wide == cap_wide) {
                    cap_wide = cap_wide ? 2 * cap_wide : 16;
                    wides = cr_xrealloc(wides, cap_wide * sizeof *wides);
                }
                wides[n_wide++] = (wide){ch, z, {r[0], r[1], r[2], r[3]}};
                continue;
            }
            for (long x = r[0]; x <= r[2]; x++) {
                for (long y = r[1]; y <= r[3]; y++) {
                    entry **link = &c->buckets[bucket_of(c, z, (int)x, (int)y)];
                    while (*link) {
                        entry *e = *link;
                        if (e->z == z && e->x == x && e->y == y && shows(e, ch->layer)) {
                            drop(c, link, e);
                        } else {
                            link = &e->chain;
                        }
                    }
                }
            }
        }
    }
    if (n_wide) {
        for (entry *e = c->head; e;) {
            entry *next = e->next;
            for (size_t k = 0; k < n_wide; k++) {
                const wide *w = &wides[k];
                if (e->z == w->z && e->x >= w->r[0] && e->x <= w->r[2] && e->y >= w->r[1] &&
                    e->y <= w->r[3] && shows(e, w->change->layer)) {
                    drop_entry(c, e);
                    break;
                }
            }
            e = next;
        }
    }
    free(wides);
    size_t dropped = before - c->n;
    c->invalidated += dropped;
    c->generation = new_generation;
    pthread_mutex_unlock(&c->mu);
    return dropped;
}

size_t cr_tile_cache_clear(cr_tile_cache *c, int64_t new_generation)
{
    pthread_mutex_lock(&c->mu);
    size_t dropped = c->n;
    while (c->tail) {
        drop_entry(c, c->tail);
    }
    c->invalidated += dropped;
    c->generation = new_generation;
    pthread_mutex_unlock(&c->mu);
    return dropped;
}

void cr_tile_cache_get_stats(cr_tile_cache *c, cr_tile_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = (cr_tile_cache_stats){c->hits,        c->misses, c->stores, c->refused,   c->evictions,
                                 c->invalidated, c->n,      c->bytes,  c->max_bytes, c->generation};
    pthread_mutex_unlock(&c->mu);
}
