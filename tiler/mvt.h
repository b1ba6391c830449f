/* SPDX-License-Identifier: MIT */
/* mvt: Mapbox Vector Tile 2.1 encoder. Geometry arrives in integer tile coordinates (already
 * clipped and quantised; y down); the encoder writes the command stream with zig-zag deltas,
 * drops repeated points and degenerate parts, closes rings by ClosePath, and winds rings as
 * the spec wants (exterior: positive area by the surveyor's formula in tile coordinates,
 * i.e. clockwise on screen; interior: negative). Keys and values are shared per layer. */
#ifndef CR_TILER_MVT_H
#define CR_TILER_MVT_H

#include "core/core.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { CR_MVT_POINT = 1, CR_MVT_LINESTRING = 2, CR_MVT_POLYGON = 3 } cr_mvt_geom_type;

typedef struct cr_mvt_tile cr_mvt_tile;
typedef struct cr_mvt_layer cr_mvt_layer;

/* Caller frees with cr_mvt_tile_free (which frees its layers). */
cr_mvt_tile *cr_mvt_tile_new(void);
void cr_mvt_tile_free(cr_mvt_tile *t);
/* Add a layer (name unique within the tile; extent usually 4096). Owned by the tile. */
cr_mvt_layer *cr_mvt_layer_add(cr_mvt_tile *t, const char *name, uint32_t extent);

/* Features: begin, add attributes and geometry parts, end. has_id = 0 for no id. */
void cr_mvt_feature_begin(cr_mvt_layer *l, cr_mvt_geom_type type, int has_id, uint64_t id);
void cr_mvt_attr_string(cr_mvt_layer *l, const char *key, const char *value);
void cr_mvt_attr_int(cr_mvt_layer *l, const char *key, int64_t value);
void cr_mvt_attr_double(cr_mvt_layer *l, const char *key, double value);
void cr_mvt_attr_bool(cr_mvt_layer *l, const char *key, int value);
/* Points (one call per point; several make a multipoint). */
void cr_mvt_add_point(cr_mvt_layer *l, int32_t x, int32_t y);
/* One line of a (multi)linestring: n points as x,y pairs. */
void cr_mvt_add_line(cr_mvt_layer *l, const int32_t *xy, size_t n);
/* One ring of a (multi)polygon, closed or not; exterior = 1 starts a new polygon, 0 is a hole
 * of the last polygon. Winding is fixed here; a degenerate exterior drops its holes too. */
void cr_mvt_add_ring(cr_mvt_layer *l, const int32_t *xy, size_t n, int exterior);
/* Finish the feature: 1 when written, 0 when nothing of its geometry survived. */
/* Forget the current feature's geometry and attributes (cr_mvt_feature_end then writes
 * nothing). */
void cr_mvt_feature_discard(cr_mvt_layer *l);
int cr_mvt_feature_end(cr_mvt_layer *l);
size_t cr_mvt_layer_feature_count(const cr_mvt_layer *l);

/* The tile's protobuf bytes (layers in the order added; empty layers are left out). */
void cr_mvt_tile_encode(const cr_mvt_tile *t, cr_strbuf *out);

#endif
