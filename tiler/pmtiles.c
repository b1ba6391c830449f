/* SPDX-License-Identifier: MIT */
/* Seeding into a PMTiles v3 archive (the protomaps spec): one file a CDN or object store
 * serves with range requests. Tiles are rendered and gzipped as the server sends them, kept
 * in a scratch file, then written in Hilbert tile-ID order (clustered) with identical tiles
 * stored once and runs of them as one entry; directories are varint-encoded and gzipped, in
 * the root when they fit its 16 KiB, else in leaves. Deterministic: the same store gives the
 * same bytes. Written to FILE.partial and renamed at the end. */
#include "tile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES    127
#define ROOT_LIMIT      16384 /* header + root directory, compressed */
#define GZIP            2     /* InternalCompression and TileCompression: gzip */
#define TILE_TYPE_MVT   1
#define LEAF_START_SIZE 4096

uint64_t cr_pmtiles_tile_id(int z, uint32_t x, uint32_t y)
{
    uint64_t acc = (((uint64_t)1 << (2 * z)) - 1) / 3; /* tiles of the zooms above */
    uint64_t n = (uint64_t)1 << z, d = 0, tx = x, ty = y;
    for (uint64_t s = n / 2; s > 0; s /= 2) { /* the Hilbert curve's distance of (x, y) */
        uint64_t rx = (tx & s) ? 1 : 0, ry = (ty & s) ? 1 : 0;
        d += s * s * ((3 * rx) ^ ry);
        if (ry == 0) { /* rotate the quadrant */
            if (rx == 1) {
                tx = n - 1 - tx;
                ty = n - 1 - ty;
            }
            uint64_t t = tx;
            tx = ty;
            ty = t;
        }
    }
    return acc + d;
}

/* One rendered tile: where its gzip bytes are in the scratch file, and their hash. */
typedef struct {
    uint64_t id;
    uint64_t scratch_at;
    uint32_t len;
    char hash[32];   /* hex digits */
    uint64_t offset; /* in the tile data section, once placed */
} rendered;

typedef struct {
    uint64_t id, offset;
    uint32_t len, run;
} entry;

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const rendered *)a)->id, y = ((const rendered *)b)->id;
    return x < y ? -1 : x > y;
}

static void put_varint(cr_strbuf *b, uint64_t v)
{
    unsigned char c[10];
    size_t n = 0;
    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        c[n] |= v ? 0x80 : 0;
        n++;
    } while (v);
    cr_strbuf_append(b, (const char *)c, n);
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

/* A directory, serialized (columnar varints) and gzipped into out. 0 on failure. */
static int directory(const entry *e, size_t n, cr_strbuf *out)
{
    cr_strbuf raw = {0};
    put_varint(&raw, n);
    for (size_t i = 0; i < n; i++) {
        put_varint(&raw, e[i].id - (i ? e[i - 1].id : 0));
    }
    for (size_t i = 0; i < n; i++) {
        put_varint(&raw, e[i].run);
    }
    for (size_t i = 0; i < n; i++) {
        put_varint(&raw, e[i].len);
    }
    for (size_t i = 0; i < n; i++) {
        int follows = i > 0 && e[i].offset == e[i - 1].offset + e[i - 1].len;
        put_varint(&raw, follows ? 0 : e[i].offset + 1);
    }
    char *gz = NULL;
    size_t gz_len = 0;
    int ok = cr_tile_gzip(raw.data, raw.len, &gz, &gz_len);
    cr_strbuf_cleanup(&raw);
    if (ok) {
        cr_strbuf_clear(out);
        cr_strbuf_append(out, gz, gz_len);
    }
    free(gz);
    return ok;
}

/* The most the header and the root may take: the spec's 16 KiB (a test may lower it, to make
 * a small archive use leaves). */
static size_t root_limit(void)
{
    const char *v = getenv("CR_TEST_PMTILES_ROOT_LIMIT");
    return v && atol(v) > HEADER_BYTES ? (size_t)atol(v) : ROOT_LIMIT;
}

/* Root and leaves: all entries in the root when it fits, else leaves of leaf_size entries
 * (doubled until the root of their pointers fits). */
static cr_status directories(const entry *e, size_t n, cr_strbuf *root, cr_strbuf *leaves,
                             cr_error *err)
{
    size_t limit = root_limit();
    size_t leaf_start = limit < ROOT_LIMIT ? 64 : LEAF_START_SIZE;
    if (!directory(e, n, root)) {
        return cr_error_set(err, CR_ENOMEM, "PMTiles: cannot compress the directory");
    }
    if (HEADER_BYTES + root->len <= limit) {
        cr_strbuf_clear(leaves);
        return CR_OK;
    }
    for (size_t leaf_size = leaf_start;; leaf_size *= 2) {
        size_t n_leaves = (n + leaf_size - 1) / leaf_size;
        entry *ptr = cr_xmalloc(n_leaves * sizeof *ptr);
        cr_strbuf one = {0};
        cr_strbuf_clear(leaves);
        for (size_t k = 0; k < n_leaves; k++) {
            size_t first = k * leaf_size, count = n - first < leaf_size ? n - first : leaf_size;
            if (!directory(e + first, count, &one)) {
                free(ptr);
                cr_strbuf_cleanup(&one);
                return cr_error_set(err, CR_ENOMEM, "PMTiles: cannot compress a leaf");
            }
            ptr[k] = (entry){e[first].id, leaves->len, (uint32_t)one.len, 0};
            cr_strbuf_append(leaves, one.data, one.len);
        }
        cr_strbuf_cleanup(&one);
        int ok = directory(ptr, n_leaves, root);
        free(ptr);
        if (!ok) {
            return cr_error_set(err, CR_ENOMEM, "PMTiles: cannot compress the directory");
        }
        if (HEADER_BYTES + root->len <= limit || n_leaves == 1) {
            return CR_OK;
        }
    }
}

/* Identical tiles by hash: open addressing over the placed tiles (index + 1, 0 empty). */
typedef struct {
    size_t *slot;
    size_t mask;
} blob_set;

static size_t blob_hash(const char h[32], size_t mask)
{
    size_t v = 0;
    for (int i = 0; i < 16; i++) {
        v = v * 16 + (size_t)(h[i] <= '9' ? h[i] - '0' : h[i] - 'a' + 10);
    }
    return v & mask;
}

/* The tile data's layout: offsets with duplicates shared, entries with runs merged. */
static entry *place(rendered *r, size_t n, size_t *n_entries, uint64_t *data_len,
                    uint64_t *contents)
{
    blob_set set = {NULL, 15};
    while (set.mask + 1 < 2 * n) {
        set.mask = 2 * set.mask + 1;
    }
    set.slot = cr_xcalloc(set.mask + 1, sizeof *set.slot);
    entry *e = cr_xmalloc((n + 1) * sizeof *e);
    size_t m = 0;
    uint64_t at = 0;
    *contents = 0;
    for (size_t i = 0; i < n; i++) {
        size_t h = blob_hash(r[i].hash, set.mask);
        while (set.slot[h] && memcmp(r[set.slot[h] - 1].hash, r[i].hash, 32) != 0) {
            h = (h + 1) & set.mask;
        }
        if (set.slot[h]) {
            r[i].offset = r[set.slot[h] - 1].offset; /* the same bytes, stored once */
            r[i].scratch_at = UINT64_MAX;
        } else {
            set.slot[h] = i + 1;
            r[i].offset = at;
            at += r[i].len;
            (*contents)++;
        }
        if (m > 0 && e[m - 1].offset == r[i].offset && e[m - 1].id + e[m - 1].run == r[i].id) {
            e[m - 1].run++;
        } else {
            e[m++] = (entry){r[i].id, r[i].offset, r[i].len, 1};
        }
    }
    free(set.slot);
    *n_entries = m;
    *data_len = at;
    return e;
}

/* The rendered tiles so far: their bytes in the scratch file, their list here. */
typedef struct {
    FILE *scratch;
    uint64_t at;
    rendered *r;
    size_t n, cap;
} pm_sink;

static cr_status put_scratch(void *user, int z, int x, int y, const char *gz, size_t len,
                             cr_error *err)
{
    pm_sink *p = user;
    if (fwrite(gz, 1, len, p->scratch) != len) {
        return cr_error_set(err, CR_EIO, "PMTiles: cannot write the scratch file");
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->r = cr_xrealloc(p->r, p->cap * sizeof *p->r);
    }
    rendered *t = &p->r[p->n++];
    t->id = cr_pmtiles_tile_id(z, (uint32_t)x, (uint32_t)y);
    t->scratch_at = p->at;
    t->len = (uint32_t)len;
    char hex[65]; /* identical tiles: the first 128 bits of their SHA-256 */
    cr_sha256_hex(gz, len, hex);
    memcpy(t->hash, hex, sizeof t->hash);
    p->at += len;
    return CR_OK;
}

/* The JSON metadata: the TileJSON fields, gzipped. */
static int metadata(const cr_seed_options *o, cr_strbuf *out)
{
    const double *b = o->bbox;
    json_t *m = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:[f,f,f,f], s:[f,f,i], s:o}", "tilejson",
        "3.0.0", "name", "crossriver", "description",
        "crossriver: river pollution joint prevention and control", "format", "pbf", "type",
        "overlay", "version", "1", "minzoom", o->zmin, "maxzoom", o->zmax, "bounds", b[0], b[1],
        b[2], b[3], "center", (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, o->zmin, "vector_layers",
        o->vector_layers ? json_incref((json_t *)o->vector_layers) : json_array());
    char *text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(m);
    char *gz = NULL;
    size_t gz_len = 0;
    int ok = text && cr_tile_gzip(text, strlen(text), &gz, &gz_len);
    if (ok) {
        cr_strbuf_append(out, gz, gz_len);
    }
    free(text);
    free(gz);
    return ok;
}

static void header(unsigned char h[HEADER_BYTES], const cr_seed_options *o, const uint64_t sec[8],
                   uint64_t addressed, uint64_t entries, uint64_t contents)
{
    memset(h, 0, HEADER_BYTES);
    memcpy(h, "PMTiles", 7);
    h[7] = 3;
    for (int i = 0; i < 8; i++) { /* root, metadata, leaves, tile data: offset and length */
        put_le(h + 8 + 8 * i, sec[i], 8);
    }
    put_le(h + 72, addressed, 8);
    put_le(h + 80, entries, 8);
    put_le(h + 88, contents, 8);
    h[96] = 1; /* clustered */
    h[97] = GZIP;
    h[98] = GZIP;
    h[99] = TILE_TYPE_MVT;
    h[100] = (unsigned char)o->zmin;
    h[101] = (unsigned char)o->zmax;
    const double *b = o->bbox;
    double e7[6] = {b[0], b[1], b[2], b[3], (b[0] + b[2]) / 2, (b[1] + b[3]) / 2};
    int at[6] = {102, 106, 110, 114, 119, 123};
    for (int i = 0; i < 6; i++) {
        int32_t v = (int32_t)(e7[i] * 1e7 + (e7[i] < 0 ? -0.5 : 0.5));
        put_le(h + at[i], (uint32_t)v, 4);
    }
    h[118] = (unsigned char)o->zmin;
}

/* The tile data in Hilbert order from the scratch file, each distinct blob once. */
static cr_status copy_tiles(FILE *scratch, const rendered *r, size_t n, FILE *out, cr_error *err)
{
    char *buf = NULL;
    size_t cap = 0;
    cr_status rc = CR_OK;
    for (size_t i = 0; i < n && rc == CR_OK; i++) {
        if (r[i].scratch_at == UINT64_MAX) {
            continue; /* a duplicate: its bytes are already there */
        }
        if (r[i].len > cap) {
            cap = r[i].len;
            buf = cr_xrealloc(buf, cap);
        }
        if (fseeko(scratch, (off_t)r[i].scratch_at, SEEK_SET) != 0 ||
            fread(buf, 1, r[i].len, scratch) != r[i].len ||
            fwrite(buf, 1, r[i].len, out) != r[i].len) {
            rc = cr_error_set(err, CR_EIO, "PMTiles: cannot copy the tile data");
        }
    }
    free(buf);
    return rc;
}

cr_status cr_tiler_seed_pmtiles(cr_store *store, const cr_seed_options *o, cr_seed_stats *st,
                                cr_error *err)
{
    memset(st, 0, sizeof *st);
    st->total = cr_tile_count(o->bbox, o->zmin, o->zmax);
    char partial[1100], scratch_path[1100];
    snprintf(partial, sizeof partial, "%s.partial", o->out_path);
    snprintf(scratch_path, sizeof scratch_path, "%s.scratch", o->out_path);
    FILE *scratch = fopen(scratch_path, "w+b");
    if (scratch == NULL) {
        return cr_error_set(err, CR_EIO, "cannot create %s", scratch_path);
    }
    pm_sink sink = {scratch, 0, NULL, 0, 0};
    cr_status rc = cr_tiler_seed_each(store, o, put_scratch, &sink, st, err);
    rendered *r = sink.r;
    size_t n = sink.n, n_entries = 0;
    if (rc == CR_OK && n == 0) {
        rc = cr_error_set(err, CR_EINVAL,
                          "PMTiles: no tile has anything in it (the bbox and zooms hold no data)");
    }
    entry *e = NULL;
    uint64_t data_len = 0, contents = 0;
    cr_strbuf root = {0}, leaves = {0}, meta = {0};
    if (rc == CR_OK) {
        qsort(r, n, sizeof *r, by_id);
        e = place(r, n, &n_entries, &data_len, &contents);
        rc = directories(e, n_entries, &root, &leaves, err);
    }
    if (rc == CR_OK && !metadata(o, &meta)) {
        rc = cr_error_set(err, CR_ENOMEM, "PMTiles: cannot compress the metadata");
    }
    FILE *out = rc == CR_OK ? fopen(partial, "wb") : NULL;
    if (rc == CR_OK && out == NULL) {
        rc = cr_error_set(err, CR_EIO, "cannot create %s", partial);
    }
    if (rc == CR_OK) {
        uint64_t sec[8];
        sec[0] = HEADER_BYTES;
        sec[1] = root.len;
        sec[2] = sec[0] + sec[1];
        sec[3] = meta.len;
        sec[4] = sec[2] + sec[3];
        sec[5] = leaves.len;
        sec[6] = sec[4] + sec[5];
        sec[7] = data_len;
        uint64_t addressed = 0;
        for (size_t i = 0; i < n_entries; i++) {
            addressed += e[i].run;
        }
        unsigned char h[HEADER_BYTES];
        header(h, o, sec, addressed, n_entries, contents);
        if (fwrite(h, 1, sizeof h, out) != sizeof h ||
            fwrite(root.data, 1, root.len, out) != root.len ||
            fwrite(meta.data, 1, meta.len, out) != meta.len ||
            (leaves.len && fwrite(leaves.data, 1, leaves.len, out) != leaves.len)) {
            rc = cr_error_set(err, CR_EIO, "cannot write %s", partial);
        }
    }
    if (rc == CR_OK) {
        rc = copy_tiles(scratch, r, n, out, err);
    }
    if (out && fclose(out) != 0 && rc == CR_OK) {
        rc = cr_error_set(err, CR_EIO, "cannot write %s", partial);
    }
    fclose(scratch);
    remove(scratch_path);
    free(r);
    free(e);
    cr_strbuf_cleanup(&root);
    cr_strbuf_cleanup(&leaves);
    cr_strbuf_cleanup(&meta);
    if (rc == CR_OK && rename(partial, o->out_path) != 0) {
        rc = cr_error_set(err, CR_EIO, "cannot rename %s to %s", partial, o->out_path);
    }
    if (rc != CR_OK) {
        remove(partial);
    }
    return rc;
}
