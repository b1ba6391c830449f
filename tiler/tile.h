/* SPDX-License-Identifier: MIT */
/* tile: one z/x/y vector tile from the store, driven by the layers' "tile" settings:
 * spatial-index query of the tile plus its buffer → Web Mercator tile coordinates → clip
 * (GEOS) → simplify (per-layer pixels) → quantise → MVT. Deterministic: the same store gives
 * the same bytes. */
#ifndef CR_TILER_TILE_H
#define CR_TILER_TILE_H

#include "core/core.h"
#include "store/access.h"
#include "store/store.h"

#define CR_TILE_MAX_ZOOM 22
/* Per-tile caps (tippecanoe's): a tile over either is thinned in the layers' drop order. */
#define CR_TILE_MAX_BYTES    500000
#define CR_TILE_MAX_FEATURES 200000

typedef struct {
    int z, x, y;             /* the tile (XYZ scheme, y down from the north) */
    uint32_t extent;         /* 0: 4096 */
    int buffer;              /* in tile units; < 0: 64 (16 px at 256 px) */
    const char *layers;      /* comma-separated subset, or NULL for every public tiled layer */
    const cr_access *access; /* restricted layers/attributes it opens; NULL: public only */
    size_t max_bytes;        /* 0: CR_TILE_MAX_BYTES (uncompressed) */
    size_t max_features;     /* 0: CR_TILE_MAX_FEATURES */
} cr_tile_request;

typedef struct {
    size_t layers;     /* layers with at least one feature */
    size_t features;   /* features written */
    size_t dropped;    /* features whose geometry vanished (clipped away or degenerate) */
    size_t restricted; /* features written with restricted data (for the access log) */
    size_t capped;     /* features left out to keep the tile within its caps */
} cr_tile_stats;

/* A layer's "tile" settings when it is tiled (has geometry and settings), else NULL; borrowed
 * from the layer definition. */
const json_t *cr_tile_settings(const cr_layer_def *d);
/* A tiled layer's zoom range: "minzoom" (default 0) to "maxzoom" (default CR_TILE_MAX_ZOOM). */
void cr_tile_zoom_range(const json_t *settings, int *minz, int *maxz);
/* "{z}/{x}/{y}" then exactly suffix (e.g. ".mvt"), in plain decimal digits (no sign, blank or
 * leading zero: one spelling per tile; z of at most 2 digits, x and y of at most 7): 1 with *z,
 * *x, *y (whether it is a tile is cr_tile_valid's question); else 0. */
int cr_tile_parse_path(const char *text, const char *suffix, int *z, int *x, int *y);
/* 1 when z/x/y is a tile: 0 <= z <= CR_TILE_MAX_ZOOM, 0 <= x, y < 2^z. */
int cr_tile_valid(int z, int x, int y);
/* The tile at z holding lon/lat (latitude clamped to Web Mercator's ±85.0511°). */
void cr_tile_at(double lon, double lat, int z, int *x, int *y);
/* lon/lat in the units of tile z/x/y (extent a side, y down from its north edge) as its
 * features are drawn there, before rounding. */
void cr_tile_project(int z, int x, int y, uint32_t extent, double lon, double lat, double *tx,
                     double *ty);
/* The lon/lat bounds of a tile (west, south, east, north). */
void cr_tile_bounds(int z, int x, int y, double bounds[4]);

/* Render into out (appended; may be empty when nothing is there). Errors: an unknown or
 * untiled layer in req->layers (CR_EINVAL), a tile out of range (CR_EINVAL), the store. */
cr_status cr_tile_render(cr_store *store, const cr_tile_request *req, cr_strbuf *out,
                         cr_tile_stats *stats, cr_error *err);

/* gzip (RFC 1952, level 6, zero mtime): the same tile always gives the same bytes, so the
 * server's gzip answer and a seeded MBTiles blob are identical. Caller frees *out with free.
 * 0 on failure (nothing to free). */
int cr_tile_gzip(const char *in, size_t n, char **out, size_t *out_len);

/* ---- seeding -------------------------------------------------------------------------- */

typedef struct {
    const char *out_path;        /* the MBTiles or PMTiles file (out_path.partial, renamed) */
    double bbox[4];              /* west, south, east, north in degrees */
    int zmin, zmax;              /* zoom range, inclusive */
    const char *layers;          /* comma-separated subset, or NULL for every public layer */
    const json_t *vector_layers; /* TileJSON vector_layers for the metadata (borrowed), or NULL */
    cr_progress_fn progress;     /* may be NULL */
    void *progress_user;
} cr_seed_options;

typedef struct {
    uint64_t total;  /* tiles of the bbox and zooms */
    uint64_t done;   /* rendered */
    uint64_t stored; /* not empty, so stored */
    uint64_t bytes;  /* gzip bytes stored */
} cr_seed_stats;

/* What a seed does with one tile that has something in it: its gzip bytes. */
typedef cr_status (*cr_seed_sink)(void *user, int z, int x, int y, const char *gz, size_t len,
                                  cr_error *err);
/* Render every tile of o->bbox at o->zmin..o->zmax (z, then x, then y), gzip the ones that are
 * not empty and hand them to sink; counts and progress in *stats (its total set by the caller).
 * Stops at the first error, naming the tile. */
cr_status cr_tiler_seed_each(cr_store *store, const cr_seed_options *o, cr_seed_sink sink,
                             void *user, cr_seed_stats *stats, cr_error *err);
/* Tiles in bbox at zooms zmin..zmax. */
uint64_t cr_tile_count(const double bbox[4], int zmin, int zmax);
/* Render every tile of o->bbox at o->zmin..o->zmax into an MBTiles 1.3 file (format pbf, gzip
 * as the server sends them, TMS rows, TileJSON metadata); empty tiles are not stored. Errors
 * name the tile; nothing is left behind but a complete file. */
cr_status cr_tiler_seed_mbtiles(cr_store *store, const cr_seed_options *o, cr_seed_stats *stats,
                                cr_error *err);

/* The PMTiles v3 tile ID of z/x/y: the tiles of the zooms above, then the position on z's
 * Hilbert curve. */
uint64_t cr_pmtiles_tile_id(int z, uint32_t x, uint32_t y);
/* Render every tile of o->bbox at o->zmin..o->zmax into a PMTiles v3 archive (gzip tiles as
 * the server sends them, clustered in tile-ID order, identical tiles stored once, runs merged,
 * gzip directories in a root of at most 16 KiB and leaves, TileJSON metadata); empty tiles are
 * not stored. Deterministic. Errors name the tile; nothing is left behind but a complete
 * file. */
cr_status cr_tiler_seed_pmtiles(cr_store *store, const cr_seed_options *o, cr_seed_stats *stats,
                                cr_error *err);

#endif
