/* SPDX-License-Identifier: MIT */
/* Spatial joins: features to reaches (measure, offset, bank), admin units (county, town),
 * protection zones, and the nearest jurisdiction boundary; zones to the reaches they cover
 * and the jurisdictions they span. Results are stored on the current rows. */
#ifndef CR_ETL_JOIN_H
#define CR_ETL_JOIN_H

#include "store/store.h"

/* Reference data for joins, loaded once from the store (reaches, admin units, zones). */
typedef struct cr_join_ref cr_join_ref;

/* Caller frees *out with cr_join_ref_free (NULL after an error). */
cr_status cr_join_ref_load(cr_store *store, cr_join_ref **out, cr_error *err);
void cr_join_ref_free(cr_join_ref *ref);

typedef struct {
    int64_t features;  /* current rows joined */
    int64_t matched;   /* within the layer's reach tolerance */
    int64_t unmatched; /* no reach within tolerance */
    int64_t flagged;   /* with at least one review flag */
    int64_t outside;   /* in no loaded county */
    double seconds;    /* wall time */
} cr_join_stats;

/* The result of joining one point (exposed for tests and the tracer). */
typedef struct {
    char reach_id[64];       /* "" when unmatched */
    char lake_id[64];        /* the lake containing the point, "" if none */
    double reach_distance_m; /* to the nearest reach, matched or not; < 0 if none in 20 km */
    double measure_m;        /* along the reach from its upstream (first) vertex */
    double offset_m;         /* from the centreline */
    const char *bank;        /* "left", "right" (looking downstream) or "on"; NULL */
    char county_code[32];    /* "" outside */
    char town_code[32];
    char zone_id[64]; /* strictest zone containing the point, "" if none */
    char zone_grade[16];
    double boundary_distance_m; /* to the nearest edge of its county; < 0 if outside */
    char boundary_across[32];   /* the county across that edge, "" if not loaded */
    char flags[256];            /* ";"-separated review flags, "" when none */
} cr_join_point;

/* Join one point; tolerance_m is the reach search radius; river_name and claimed_county
 * (may be NULL) are what the record says, for the review flags. */
void cr_join_point_compute(const cr_join_ref *ref, double lon, double lat, double tolerance_m,
                           const char *river_name, const char *claimed_county, cr_join_point *out);

/* The nearest reach within max_m of a point, through the segment index only (thread-safe on a
 * loaded ref): 1 and its ID, measure and offset, or 0. */
int cr_join_nearest_reach(const cr_join_ref *ref, double lon, double lat, double max_m,
                          char reach_id_out[64], double *measure_out, double *offset_out);

/* Join every current row of a layer (point joins or zone coverage, by its definition) and
 * store the results in one transaction. */
cr_status cr_join_layer(cr_store *store, const cr_join_ref *ref, const cr_layer_def *def,
                        cr_join_stats *stats, cr_error *err);

/* Distance in metres from lon,lat to the nearest reach named like river (any reach when river
 * is NULL or ""), within max_m; -1 when there is none. Thread-safe on a loaded ref. */
double cr_join_river_distance(const cr_join_ref *ref, double lon, double lat, const char *river,
                              double max_m);

/* A batch's CRS judged over all its points (etl/crs_check.c). */
typedef struct {
    int flagged;         /* 1: the points fit another CRS systematically better */
    char suggestion[32]; /* the --crs that would fit ("gcj02" or "EPSG:4490"), or "" */
    int64_t points;      /* points with a named river (or any reach) near them */
    double median_m;     /* median distance to it as imported */
    double alt_median_m; /* … and as read in the suggested CRS */
    char note[512];      /* what the flag means, in words; "" when not flagged */
} cr_crs_verdict;

/* Test the points a batch wrote against the rivers they name (or the nearest reach): when,
 * read in another CRS (GCJ-02 for a WGS84/CGCS2000 import, WGS84 for a GCJ-02 or BD-09 one),
 * they sit systematically closer — the 400–700 m GCJ-02 offset — the batch is flagged in
 * import_batches (flags 'crs_suspect', flag_note); otherwise its flags are cleared. */
cr_status cr_join_check_batch_crs(cr_store *store, const cr_join_ref *ref, int64_t batch_id,
                                  cr_crs_verdict *out, cr_error *err);

/* After imports into layer: rejoin what they affect (the layer itself, or every joined layer
 * when reference data changed), then test each of the batches' CRS (may be none).
 * stats_out gets the totals. */
cr_status cr_join_after_ingest(cr_store *store, const char *layer, const int64_t *batches,
                               size_t n_batches, cr_join_stats *stats_out, cr_error *err);

#endif
