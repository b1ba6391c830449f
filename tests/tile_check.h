/* SPDX-License-Identifier: MIT */
/* Test helper: a tile's polygons as GDAL's MVT driver reads them, checked with GEOS. */
#ifndef CR_TESTS_TILE_CHECK_H
#define CR_TESTS_TILE_CHECK_H

#include "store/store.h"

#include <stddef.h>

typedef struct {
    size_t tiles;    /* tiles rendered */
    size_t polygons; /* polygons read back (each part of a multipolygon) */
    size_t invalid;  /* of them, not valid (OGR_G_IsValid: GEOS) */
    char first[256]; /* the first invalid one: tile, layer, feature and why */
} tile_check;

/* Render every tile z0..z1 over the box (W, S, E, N) from store, read each back with GDAL's
 * MVT driver (CLIP=NO: the tile's own integer coordinates) into dir, and count its polygons
 * and the invalid ones into *out (added to what it holds). Fails the test on a render or read
 * error. */
void tile_check_polygons(cr_store *store, const double box[4], int z0, int z1, const char *dir,
                         tile_check *out);

/* Render z/x/y from store (layers: a subset or NULL), write it to path and open it with GDAL's
 * MVT driver (the tile's own Z/X/Y, so features come in degrees); NULL when the tile is empty.
 * Fails the test on a render or read error. The caller closes it (GDALClose). */
void *tile_check_open(cr_store *store, int z, int x, int y, const char *layers, const char *path);

#endif
