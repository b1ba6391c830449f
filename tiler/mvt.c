/* SPDX-License-Identifier: MIT */
/* The MVT encoder: protobuf wire format written by hand (pb.c: varints, length-delimited
 * fields), because the schema is tiny and fixed (vector_tile.proto, version 2). */
#include "mvt.h"

#include "pb.h"

#include <stdlib.h>
#include <string.h>

/* --- shared keys and values --------------------------------------------------------------- */

/* An interned string or value: its encoded Value message (values) or the key text (keys), at
 * off in the table's text (one buffer for them all: no allocation per value). */
typedef struct {
    size_t off, len;
    uint64_t hash;
} blob;

typedef struct {
    blob *items;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t nslots;
    char *text; /* every item's bytes */
    size_t text_len, text_cap;
} intern_table;

/* Eight bytes a step (a tile interns a value for every attribute of every feature), then a full
 * avalanche (murmur3's finaliser) for the table's low bits. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) {
        w |= (uint64_t)(unsigned char)p[i] << (8 * i);
    }
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return h;
}

static uint32_t intern(intern_table *t, const char *p, size_t n)
{
    if (t->n * 2 >= t->nslots) { /* grow and rehash */
        size_t ns = t->nslots ? t->nslots * 2 : 64;
        uint32_t *slots = cr_xcalloc(ns, sizeof *slots);
        for (size_t i = 0; i < t->n; i++) {
            size_t s = t->items[i].hash & (ns - 1);
            while (slots[s]) {
                s = (s + 1) & (ns - 1);
            }
            slots[s] = (uint32_t)i + 1;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = ns;
    }
    uint64_t h = hash_bytes(p, n);
    size_t s = h & (t->nslots - 1);
    while (t->slots[s]) {
        const blob *b = &t->items[t->slots[s] - 1];
        if (b->hash == h && b->len == n && memcmp(t->text + b->off, p, n) == 0) {
            return t->slots[s] - 1;
        }
        s = (s + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->items = cr_xrealloc(t->items, t->cap * sizeof *t->items);
    }
    if (t->text_len + n > t->text_cap) {
        t->text_cap = t->text_cap ? t->text_cap * 2 : 1024;
        while (t->text_len + n > t->text_cap) {
            t->text_cap *= 2;
        }
        t->text = cr_xrealloc(t->text, t->text_cap);
    }
    if (n > 0) {
        memcpy(t->text + t->text_len, p, n);
    }
    t->items[t->n] = (blob){t->text_len, n, h};
    t->text_len += n;
    t->slots[s] = (uint32_t)++t->n;
    return (uint32_t)t->n - 1;
}

static void intern_free(intern_table *t)
{
    free(t->text);
    free(t->items);
    free(t->slots);
}

/* --- layers and features ------------------------------------------------------------------ */

enum { KEY_SLOTS = 16 };

struct cr_mvt_layer {
    char *name;
    uint32_t extent;
    intern_table keys, values;
    cr_strbuf features; /* encoded Feature messages, each with its field key and length */
    size_t n_features;
    /* the feature being built */
    cr_mvt_geom_type type;
    int has_id;
    uint64_t id;
    uint32_t *tags;
    size_t n_tags, cap_tags;
    uint32_t *cmds; /* geometry command stream */
    size_t n_cmds, cap_cmds;
    int32_t cx, cy;     /* cursor */
    size_t point_count; /* MoveTo of the current multipoint: index in cmds, or SIZE_MAX */
    int polygon_alive;  /* the last exterior ring was kept (its holes may follow) */
    int32_t *scratch;   /* cleaned ring/line points */
    size_t cap_scratch;
    cr_strbuf vbuf; /* reused by the attribute calls */
    /* the key last seen at each attribute position (features list theirs in the same order):
     * its index, once its text is checked, without hashing it again */
    const char *key_seen[KEY_SLOTS];
    uint32_t key_index[KEY_SLOTS];
};

struct cr_mvt_tile {
    cr_mvt_layer **layers;
    size_t n;
};

cr_mvt_tile *cr_mvt_tile_new(void)
{
    return cr_xcalloc(1, sizeof(cr_mvt_tile));
}

void cr_mvt_tile_free(cr_mvt_tile *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        cr_mvt_layer *l = t->layers[i];
        free(l->name);
        intern_free(&l->keys);
        intern_free(&l->values);
        cr_strbuf_cleanup(&l->features);
        free(l->tags);
        free(l->cmds);
        free(l->scratch);
        cr_strbuf_cleanup(&l->vbuf);
        free(l);
    }
    free(t->layers);
    free(t);
}

cr_mvt_layer *cr_mvt_layer_add(cr_mvt_tile *t, const char *name, uint32_t extent)
{
    cr_mvt_layer *l = cr_xcalloc(1, sizeof *l);
    l->name = cr_xstrdup(name);
    l->extent = extent;
    t->layers = cr_xrealloc(t->layers, (t->n + 1) * sizeof *t->layers);
    t->layers[t->n++] = l;
    return l;
}

void cr_mvt_feature_begin(cr_mvt_layer *l, cr_mvt_geom_type type, int has_id, uint64_t id)
{
    l->type = type;
    l->has_id = has_id;
    l->id = id;
    l->n_tags = 0;
    l->n_cmds = 0;
    l->cx = l->cy = 0;
    l->point_count = SIZE_MAX;
    l->polygon_alive = 0;
}

static void push_cmd(cr_mvt_layer *l, uint32_t v)
{
    if (l->n_cmds == l->cap_cmds) {
        l->cap_cmds = l->cap_cmds ? l->cap_cmds * 2 : 64;
        l->cmds = cr_xrealloc(l->cmds, l->cap_cmds * sizeof *l->cmds);
    }
    l->cmds[l->n_cmds++] = v;
}

static void push_tag(cr_mvt_layer *l, const char *key, const char *value, size_t value_len)
{
    if (l->n_tags + 2 > l->cap_tags) {
        l->cap_tags = l->cap_tags ? l->cap_tags * 2 : 16;
        l->tags = cr_xrealloc(l->tags, l->cap_tags * sizeof *l->tags);
    }
    size_t slot = (l->n_tags / 2) % KEY_SLOTS;
    uint32_t k = l->key_index[slot];
    const blob *seen = l->key_seen[slot] == key ? &l->keys.items[k] : NULL;
    /* strncmp stops at key's end: a shorter string at the same address is never read past */
    if (seen == NULL || strncmp(l->keys.text + seen->off, key, seen->len) != 0 ||
        key[seen->len] != '\0') {
        k = intern(&l->keys, key, strlen(key));
        l->key_seen[slot] = key;
        l->key_index[slot] = k;
    }
    l->tags[l->n_tags++] = k;
    l->tags[l->n_tags++] = intern(&l->values, value, value_len);
}

void cr_mvt_attr_string(cr_mvt_layer *l, const char *key, const char *value)
{
    size_t n = strlen(value);
    char small[256]; /* most values: the Value message built here, not in a buffer */
    if (n + 11 <= sizeof small) {
        small[0] = (char)(1 << 3 | 2); /* string_value */
        size_t at = 1 + cr_pb_put_varint(small + 1, n);
        memcpy(small + at, value, n);
        push_tag(l, key, small, at + n);
        return;
    }
    cr_strbuf *v = &l->vbuf;
    cr_strbuf_clear(v);
    cr_pb_bytes(v, 1, value, n);
    push_tag(l, key, v->data, v->len);
}

void cr_mvt_attr_int(cr_mvt_layer *l, const char *key, int64_t value)
{
    cr_strbuf *v = &l->vbuf;
    cr_strbuf_clear(v);
    if (value >= 0) {
        cr_pb_key(v, 5, 0); /* uint_value */
        cr_pb_varint(v, (uint64_t)value);
    } else {
        cr_pb_key(v, 6, 0); /* sint_value */
        cr_pb_varint(v, cr_pb_zigzag64(value));
    }
    push_tag(l, key, v->data, v->len);
}

void cr_mvt_attr_double(cr_mvt_layer *l, const char *key, double value)
{
    cr_strbuf *v = &l->vbuf;
    cr_strbuf_clear(v);
    cr_pb_key(v, 3, 1); /* double_value, 64-bit little-endian */
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    char le[8];
    for (int i = 0; i < 8; i++) {
        le[i] = (char)(bits >> (8 * i));
    }
    cr_strbuf_append(v, le, 8);
    push_tag(l, key, v->data, v->len);
}

void cr_mvt_attr_bool(cr_mvt_layer *l, const char *key, int value)
{
    cr_strbuf *v = &l->vbuf;
    cr_strbuf_clear(v);
    cr_pb_key(v, 7, 0);
    cr_pb_varint(v, value ? 1 : 0);
    push_tag(l, key, v->data, v->len);
}

static uint32_t command(unsigned id, size_t count)
{
    return (uint32_t)((count << 3) | id);
}

static void push_delta(cr_mvt_layer *l, int32_t x, int32_t y)
{
    push_cmd(l, cr_pb_zigzag32(x - l->cx));
    push_cmd(l, cr_pb_zigzag32(y - l->cy));
    l->cx = x;
    l->cy = y;
}

void cr_mvt_add_point(cr_mvt_layer *l, int32_t x, int32_t y)
{
    if (l->point_count == SIZE_MAX) { /* one MoveTo with a count for every point */
        l->point_count = l->n_cmds;
        push_cmd(l, command(1, 0));
    }
    push_delta(l, x, y);
    l->cmds[l->point_count] += 1u << 3;
}

/* Copy xy without consecutive repeats (and, for rings, without the closing point). */
static size_t clean(cr_mvt_layer *l, const int32_t *xy, size_t n, int ring)
{
    if (2 * n > l->cap_scratch) {
        l->cap_scratch = 2 * n;
        l->scratch = cr_xrealloc(l->scratch, l->cap_scratch * sizeof *l->scratch);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && xy[2 * i] == l->scratch[2 * m - 2] && xy[2 * i + 1] == l->scratch[2 * m - 1]) {
            continue;
        }
        l->scratch[2 * m] = xy[2 * i];
        l->scratch[2 * m + 1] = xy[2 * i + 1];
        m++;
    }
    while (ring && m > 1 && l->scratch[0] == l->scratch[2 * m - 2] &&
           l->scratch[1] == l->scratch[2 * m - 1]) {
        m--;
    }
    return m;
}

static void emit_path(cr_mvt_layer *l, size_t m, int reverse)
{
    size_t first = reverse ? m - 1 : 0;
    push_cmd(l, command(1, 1));
    push_delta(l, l->scratch[2 * first], l->scratch[2 * first + 1]);
    push_cmd(l, command(2, m - 1));
    for (size_t k = 1; k < m; k++) {
        size_t i = reverse ? m - 1 - k : k;
        push_delta(l, l->scratch[2 * i], l->scratch[2 * i + 1]);
    }
}

void cr_mvt_add_line(cr_mvt_layer *l, const int32_t *xy, size_t n)
{
    size_t m = clean(l, xy, n, 0);
    if (m >= 2) {
        emit_path(l, m, 0);
    }
}

void cr_mvt_add_ring(cr_mvt_layer *l, const int32_t *xy, size_t n, int exterior)
{
    if (!exterior && !l->polygon_alive) {
        return; /* a hole of a dropped (or missing) exterior */
    }
    size_t m = clean(l, xy, n, 1);
    int64_t twice_area = 0; /* surveyor's formula, tile coordinates */
    for (size_t i = 0; i < m; i++) {
        size_t j = (i + 1) % m;
        twice_area += (int64_t)l->scratch[2 * i] * l->scratch[2 * j + 1] -
                      (int64_t)l->scratch[2 * j] * l->scratch[2 * i + 1];
    }
    if (m < 3 || twice_area == 0) {
        if (exterior) {
            l->polygon_alive = 0;
        }
        return;
    }
    l->polygon_alive = exterior ? 1 : l->polygon_alive;
    emit_path(l, m, exterior ? twice_area < 0 : twice_area > 0);
    push_cmd(l, command(7, 1));
}

void cr_mvt_feature_discard(cr_mvt_layer *l)
{
    l->n_cmds = 0;
    l->n_tags = 0;
}

static size_t varints_size(const uint32_t *v, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += cr_pb_varint_size(v[i]);
    }
    return bytes;
}

static char *put_varints(char *p, const uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p += cr_pb_put_varint(p, v[i]);
    }
    return p;
}

int cr_mvt_feature_end(cr_mvt_layer *l)
{
    if (l->n_cmds == 0) {
        return 0;
    }
    /* sizes first, then the Feature message written once, straight into the layer's */
    size_t tags_len = varints_size(l->tags, l->n_tags);
    size_t cmds_len = varints_size(l->cmds, l->n_cmds);
    size_t f_len = (l->has_id ? 1 + cr_pb_varint_size(l->id) : 0) +
                   (l->n_tags ? 1 + cr_pb_varint_size(tags_len) + tags_len : 0) + 1 +
                   cr_pb_varint_size((uint64_t)l->type) + 1 + cr_pb_varint_size(cmds_len) +
                   cmds_len;
    char *start = cr_strbuf_room(&l->features, 1 + cr_pb_varint_size(f_len) + f_len);
    char *p = start;
    *p++ = (char)(2 << 3 | 2); /* Layer.features */
    p += cr_pb_put_varint(p, f_len);
    if (l->has_id) {
        *p++ = (char)(1 << 3 | 0); /* id */
        p += cr_pb_put_varint(p, l->id);
    }
    if (l->n_tags) {
        *p++ = (char)(2 << 3 | 2); /* tags, packed */
        p += cr_pb_put_varint(p, tags_len);
        p = put_varints(p, l->tags, l->n_tags);
    }
    *p++ = (char)(3 << 3 | 0); /* type */
    p += cr_pb_put_varint(p, (uint64_t)l->type);
    *p++ = (char)(4 << 3 | 2); /* geometry, packed */
    p += cr_pb_put_varint(p, cmds_len);
    p = put_varints(p, l->cmds, l->n_cmds);
    l->features.len += (size_t)(p - start);
    l->features.data[l->features.len] = '\0';
    l->n_features++;
    return 1;
}

size_t cr_mvt_layer_feature_count(const cr_mvt_layer *l)
{
    return l->n_features;
}

void cr_mvt_tile_encode(const cr_mvt_tile *t, cr_strbuf *out)
{
    for (size_t i = 0; i < t->n; i++) {
        const cr_mvt_layer *l = t->layers[i];
        if (l->n_features == 0) {
            continue;
        }
        /* the Layer message's length first, so it is written once, straight into out */
        size_t len = 2 + cr_pb_bytes_size(1, strlen(l->name)) + l->features.len + 1 +
                     cr_pb_varint_size(l->extent);
        for (size_t k = 0; k < l->keys.n; k++) {
            len += cr_pb_bytes_size(3, l->keys.items[k].len);
        }
        for (size_t k = 0; k < l->values.n; k++) {
            len += cr_pb_bytes_size(4, l->values.items[k].len);
        }
        cr_pb_key(out, 3, 2);
        cr_pb_varint(out, len);
        cr_pb_key(out, 15, 0); /* version */
        cr_pb_varint(out, 2);
        cr_pb_bytes(out, 1, l->name, strlen(l->name));
        cr_strbuf_append(out, l->features.data, l->features.len);
        for (size_t k = 0; k < l->keys.n; k++) {
            cr_pb_bytes(out, 3, l->keys.text + l->keys.items[k].off, l->keys.items[k].len);
        }
        for (size_t k = 0; k < l->values.n; k++) {
            cr_pb_bytes(out, 4, l->values.text + l->values.items[k].off, l->values.items[k].len);
        }
        cr_pb_key(out, 5, 0);
        cr_pb_varint(out, l->extent);
    }
}
