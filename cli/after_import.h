/* SPDX-License-Identifier: MIT */
/* What runs after batches change a layer (an import, a revert): joins, the batch CRS test,
 * the network build and the low-zoom generalisation, with their one-line reports. */
#ifndef CR_CLI_AFTER_IMPORT_H
#define CR_CLI_AFTER_IMPORT_H

#include "store/store.h"

typedef struct {
    const char *cmd;        /* "ingest", "batches": for messages */
    const char *layer;      /* the layer the batches changed */
    const int64_t *batches; /* the batches (their CRS is tested, their flagged rows counted) */
    size_t n_batches;
    int no_join; /* --no-join: skip joins, CRS test and the network build */
    int print;   /* 1: print the reports on stdout */
} cr_cli_after_import;

/* Run the steps; returns CR_EXIT_OK or CR_EXIT_FAILURE (the message printed on stderr). */
int cr_cli_after_import_run(cr_store *store, const cr_cli_after_import *a);

typedef struct cr_standards cr_standards;
/* After readings batches: every section's latest class for the tiles, then the alarm rules
 * over the readings with the deployment config's "alarms" (config: --config, or NULL). Returns
 * CR_EXIT_OK or CR_EXIT_FAILURE (the message printed on stderr). */
int cr_cli_after_readings(cr_store *store, const cr_standards *std, const char *config, int print);

typedef struct cr_wq_detect_result cr_wq_detect_result;
/* One line: the alarms a detection raised, by rule. */
void cr_cli_print_detect(const cr_wq_detect_result *r);

#endif
