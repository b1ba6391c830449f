/* SPDX-License-Identifier: MIT */
/* After batches changed a layer: joins, the batch CRS test, the network build and the low-zoom
 * generalisation, as one call the command line (ingest, batches --revert) and later writers
 * share. */
#ifndef CR_ETL_AFTER_IMPORT_H
#define CR_ETL_AFTER_IMPORT_H

#include "etl/generalise.h"
#include "etl/join.h"
#include "network/network.h"
#include "store/tile_rows.h"

#define CR_AFTER_IMPORT_MAX_BATCHES 256

typedef struct {
    const char *layer;      /* the layer the batches changed */
    const int64_t *batches; /* the batches (their CRS is tested, their flagged rows counted) */
    size_t n_batches;
    int no_join; /* skip the joins, the CRS test and the network build */
} cr_after_import;

typedef struct {
    int64_t batch_id;
    int64_t flagged_rows; /* rows it wrote that the joins flagged, -1 when the layer has none */
    char crs_note[512];   /* the batch CRS test's verdict when it flagged the batch, else "" */
} cr_after_import_batch;

typedef struct {
    int joined, built_network, generalised, tile_rows; /* which steps ran */
    cr_join_stats join;
    cr_after_import_batch batches[CR_AFTER_IMPORT_MAX_BATCHES];
    size_t n_batches;
    cr_network_report network; /* owned: cr_after_import_report_cleanup */
    cr_generalise_stats generalise;
    cr_tile_rows_stats tile_rows_stats;
    const char *failed_step; /* "join", "network build", "generalisation", "tile rows", NULL */
} cr_after_import_report;

/* 1 for the layers whose change means the network must be rebuilt (reaches, lakes, gates). */
int cr_etl_is_network_input(const char *layer);
/* Run the steps in order, stopping at the first that fails (its name in r->failed_step; the
 * batches stay stored). Clean up r with cr_after_import_report_cleanup either way. */
cr_status cr_etl_after_import(cr_store *store, const cr_after_import *a, cr_after_import_report *r,
                              cr_error *err);
void cr_after_import_report_cleanup(cr_after_import_report *r);

#endif
