/* SPDX-License-Identifier: MIT */
/* Internal to etl/ingest.c: the state of one import and of one row. */
#ifndef CR_ETL_INGEST_INTERNAL_H
#define CR_ETL_INGEST_INTERNAL_H

#include "geo/handlers.h"
#include "source.h"

#include <geos_c.h>

typedef struct {
    char *key;   /* stable ID, owned */
    int64_t row; /* first source row with it */
} cr_idslot;

typedef struct {
    cr_idslot *slots; /* open addressing, power-of-two capacity */
    size_t cap;
    size_t n;
} cr_idset;

typedef struct {
    cr_store *store;              /* borrowed */
    const cr_layer_def *def;      /* borrowed */
    const cr_ingest_options *opt; /* borrowed */
    const char *path;             /* as given, for messages */
    cr_ingest_result *res;        /* out */
    double t0;                    /* start, monotonic seconds */
    cr_source src;                /* the open file */
    int n_cols;                   /* source columns */
    char **col_name;              /* trimmed source headers */
    char **col_folded;            /* folded for matching */
    unsigned char *col_used;      /* 1: mapped to a field or coordinate */
    int n_unmapped;               /* columns kept in the row's extra JSON */
    int *field_col;               /* per layer field: source column or -1 */
    int coord_col[4];             /* lon, lat, x, y columns or -1 */
    unsigned char *carry;         /* per layer field: 1 = no column, keep the stored value */
    const char **constant;        /* per layer field: the --set value, or NULL (borrowed) */
    cr_crs *crs;                  /* source CRS */
    GEOSContextHandle_t geos;     /* owned */
    GEOSWKBReader *wkb_reader;    /* owned */
    GEOSWKBWriter *wkb_writer;    /* owned */
    cr_geos_messages geos_msgs;   /* the last GEOS error */
    cr_idset ids;                 /* stable IDs seen in this file */
    char **header_names;          /* XLSX: column names from the header row(s) found, owned */
    int n_header_names;
    int64_t data_from_row; /* XLSX: first sheet row under the header */
    int64_t blank_rows;    /* XLSX: empty rows skipped (not rows of data) */
    double (*points)[2];   /* full survey: a point of each stored row, for the scope */
    size_t n_points, cap_points;
} ingest_ctx;

typedef struct {
    int64_t row;                 /* source row number */
    char **values;               /* per layer field: normalised text or NULL, owned */
    unsigned char *failed;       /* per layer field: 1 when its value was rejected */
    unsigned char *from_kind;    /* per layer field: 1 when a sub-kind came from the kind column */
    int id_index;                /* index of the id field */
    int n_problems;              /* reasons to reject */
    char code[32];               /* first problem's code */
    char field[64];              /* first problem's field */
    cr_strbuf reason;            /* all problems, "; "-separated */
    cr_strbuf notes;             /* repairs and hints for a stored row */
    int repaired;                /* geometry was repaired */
    char *raw_x, *raw_y;         /* source coordinate text, owned */
    char method[160];            /* coordinate method */
    unsigned char point_wkb[21]; /* point geometry */
    unsigned char *geos_wkb;     /* line/polygon geometry, GEOSFree_r */
    const unsigned char *wkb;    /* the geometry to store */
    size_t wkb_len;
    double bbox[4]; /* geometry extent */
} row_state;

/* 1 when key is in the set. */
int cr_ingest_idset_contains(const cr_idset *set, const char *key);
/* Dry runs: note that the import would add/update/close/reopen the feature with this ID. */
void cr_ingest_record_change(ingest_ctx *c, const char *what, const char *id);
/* Full survey (survey.c): settle the scope, close the current features in it that the file
 * no longer lists, and refuse (an error) when that stores nothing or closes too much. */
cr_status cr_ingest_close_unlisted(ingest_ctx *c, cr_error *err);

/* header.c: 1 when the source's field names (a header OGR read) name at least two fields. */
int cr_ingest_header_names_fields(const ingest_ctx *c);
/* XLSX read without headers: find the header row (or take --header-row) and a sub-header
 * under it; sets header_names and data_from_row. */
cr_status cr_ingest_find_sheet_header(ingest_ctx *c, cr_error *err);
/* CSV (a cr_source_header_fn, user = the ingest_ctx): when the first line does not name the
 * layer's fields and a later one does (title lines above it), or --header-row names one. */
cr_status cr_ingest_csv_header(void *user, const char *text, size_t size, size_t *skip_bytes,
                               int64_t *skip_lines, cr_error *err);

#endif
