/* SPDX-License-Identifier: MIT */
/* Shared by the subcommands: common options, opening the store, drawing progress. */
#ifndef CR_CLI_CLI_COMMON_H
#define CR_CLI_CLI_COMMON_H

#include "core/core.h"
#include "store/store.h"

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *store_path; /* --store, default ./crossriver.sqlite */
    const char *layers_dir; /* --layers, default cr_layers_default_dir() */
    int json;               /* --json */
    int quiet;              /* --quiet: no progress, no summary */
} cr_cli_common;

/* Options every subcommand takes, for getopt_long tables. */
#define CR_CLI_COMMON_LONGOPTS                                                                     \
    {"store", required_argument, NULL, 1001}, {"json", no_argument, NULL, 1002},                   \
        {"layers", required_argument, NULL, 1003}, {"quiet", no_argument, NULL, 1004},             \
        {"verbose", no_argument, NULL, 'v'},                                                       \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* Handle one of the common options; returns 1 when it was one. */
int cr_cli_common_option(cr_cli_common *c, int opt, const char *arg);
void cr_cli_common_init(cr_cli_common *c);
/* Load layer definitions and open the store; prints the error and returns non-zero on failure.
 * Caller closes *store (cr_store_close), then frees *set (cr_layer_set_free). */
int cr_cli_open(const cr_cli_common *c, cr_layer_set **set, cr_store **store);
/* The answer to -h (help on standard output, exit 0) or to an option the command does not
 * know (help on standard error, exit 2): the exit code. */
int cr_cli_help_exit(int opt, void (*help)(FILE *));
/* A number option in [lo, hi]; otherwise prints "crossriver CMD: OPTION wants …" and returns 0. */
int cr_cli_number(const char *cmd, const char *option, const char *text, double lo, double hi,
                  double *out);
/* The deployment config (--config FILE, else ./crossriver.json when present): a new reference
 * (an empty object when there is none and none was asked for); NULL, having printed why, when
 * the file asked for cannot be read or does not parse. */
json_t *cr_cli_load_config(const char *cmd, const char *path);
/* --zoom MIN-MAX within 0–22 into *zmin, *zmax; 0 (said on stderr) when it is not one. */
int cr_cli_zoom_range(const char *cmd, const char *text, int *zmin, int *zmax);
/* --bbox W,S,E,N in degrees (W < E, S < N) into b; 0 (said on stderr) when it is not one. */
int cr_cli_bbox(const char *cmd, const char *text, double b[4]);
/* What to seed (seed, site): --zoom MIN-MAX and --bbox W,S,E,N (options 'z' and 'b'). */
typedef struct {
    int zmin, zmax;
    int have_bbox; /* else the store's extent */
    double b[4];   /* W, S, E, N */
} cr_cli_area;
/* The long options of an area, for a command's option table. */
#define CR_CLI_AREA_LONGOPTS                                                                       \
    {"zoom", required_argument, NULL, 'z'},                                                        \
    {                                                                                              \
        "bbox", required_argument, NULL, 'b'                                                       \
    }
/* 1 when opt was --zoom or --bbox and its value is good, -1 when it was and is not (said on
 * stderr), 0 when opt is something else. */
int cr_cli_area_option(const char *cmd, int opt, const char *arg, cr_cli_area *a);
/* The area's bbox: the one given, else the TileJSON's bounds (the store's extent). */
void cr_cli_area_bounds(cr_cli_area *a, const json_t *tilejson);
/* --font FILE[:FACE]: *path is arg (cut at the colon), *face the face (0 without one). */
void cr_cli_font(char *arg, const char **path, int *face);
/* A JSON answer on standard output, indented, in its order (--json). */
void cr_cli_print_json(const json_t *j);
/* Write text to path ("-": standard output); 0 (having printed why) when it cannot. */
int cr_cli_write_output(const char *cmd, const char *path, const char *text, size_t len);
/* A record entered at the command line (an incident, a finding's step): names/values as one
 * CSV row written to STORE.records/LAYER-ID-TIME.csv and imported as a batch of layer (its
 * history, provenance and joins as for any import). crs: the coordinates' CRS, or NULL. Prints
 * one line unless quiet or json. Returns an exit code. */
int cr_cli_record(cr_store *store, const cr_cli_common *common, const char *layer, const char *id,
                  const char *const *names, const char *const *values, size_t n, const char *crs,
                  const char *what);
typedef struct cr_record_result cr_record_result;
/* The one line a record's outcome prints (unless quiet or json), or the error on stderr;
 * returns the exit code for rc. */
int cr_cli_record_report(const cr_cli_common *common, const char *what, const char *id,
                         cr_status rc, const cr_record_result *r, const cr_error *e);
/* Progress callback that draws one self-updating line on a terminal (stderr) only. */
void cr_cli_progress(void *user, uint64_t done, uint64_t total);

typedef struct {
    const char *label; /* what is progressing, e.g. the file name */
    double t0;         /* start */
    double last;       /* last draw */
    int drawn;         /* a line is on screen */
} cr_cli_progress_state;
/* Erase the progress line if one was drawn. */
void cr_cli_progress_end(cr_cli_progress_state *p);

#endif
