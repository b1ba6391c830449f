/* SPDX-License-Identifier: MIT */
/* generalise: polygon layers simplified ahead of time for low zooms, topologically: all
 * boundaries of the layer are noded into arcs, each arc shared by neighbours is simplified once
 * (GEOS topology-preserving simplification of the whole arc set, so arcs never cross), faces
 * are rebuilt and every feature is the union of the faces inside it. Neighbours therefore share
 * exactly the same generalised boundary: no gaps, no overlaps, and a county made of towns keeps
 * their outline. Driven by the layer's "tile": {"generalise": [z, …]} — one level per zoom,
 * tolerance one pixel (simplify_px) at that zoom; tiles at zoom z use the smallest level ≥ z.
 * Line layers are simplified line by line, and each level keeps a selection of at most
 * keep_per_tile lines per tile (highest Strahler order, then longest) with its own R*Tree.
 * Results live in "<layer>_gen<level>" (fid, wkb: one table per level) and, for a level that
 * keeps only some lines, idx_<layer>_gen<level>. */
#ifndef CR_ETL_GENERALISE_H
#define CR_ETL_GENERALISE_H

#include "store/store.h"

typedef struct {
    int levels;           /* zoom levels built */
    int64_t features;     /* features of the layer */
    int64_t kept;         /* of them at the coarsest level (line layers keep a selection) */
    int64_t vertices_in;  /* vertices of the source polygons */
    int64_t vertices_out; /* of the coarsest level */
    int64_t fell_back;    /* features kept ungeneralised at some level (see docs) */
    double seconds;
} cr_generalise_stats;

/* 1 when the layer asks to be generalised. */
int cr_generalise_wanted(const cr_layer_def *d);
/* Rebuild every level of d in one transaction, bump the data generation and record the
 * layer's extent as changed. A layer that does not ask for it: CR_EINVAL. */
cr_status cr_generalise_layer(cr_store *store, const cr_layer_def *d, cr_generalise_stats *st,
                              cr_error *err);

#endif
