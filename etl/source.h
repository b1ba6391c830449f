/* SPDX-License-Identifier: MIT */
/* Internal to etl: a source file opened through OGR with its encoding settled. */
#ifndef CR_ETL_SOURCE_H
#define CR_ETL_SOURCE_H

#include "etl.h"

#include <gdal.h>
#include <ogr_api.h>

typedef struct {
    GDALDatasetH ds;           /* owned */
    OGRLayerH layer;           /* borrowed from ds */
    char open_path[1024];      /* path given to OGR (a /vsimem/ copy for text formats) */
    int vsimem;                /* 1: open_path is ours to unlink */
    int spreadsheet;           /* CSV/XLSX: row numbers count the header as row 1 */
    int headerless;            /* XLSX read without headers: a feature's FID is its sheet row */
    int64_t skipped_lines;     /* CSV: title lines dropped above the header */
    char encoding[96];         /* what was detected/used, for the batch record */
    char ogr_encoding[32];     /* iconv name handed to the Shapefile driver */
    char content_encoding[32]; /* what the DBF bytes are, if not ASCII */
    int64_t line_count;        /* text formats: newlines, for progress */
    int64_t total;             /* rows expected, or -1 */
    char **open_options;       /* OGR open options, owned (CSLDestroy) */
} cr_source;

/* Text tables: where the header line is, from the UTF-8 text; *skip_bytes and *skip_lines get
 * what lies above it (0 when it is the first line). */
typedef cr_status (*cr_source_header_fn)(void *user, const char *text, size_t len,
                                         size_t *skip_bytes, int64_t *skip_lines, cr_error *err);

/* Open path; errors name the file. header (may be NULL) finds a CSV's header below title lines.
 * Close with cr_source_close (also after errors). */
cr_status cr_source_open(const char *path, const char *forced_encoding, const char *source_layer,
                         cr_source_header_fn header, void *header_user, cr_source *src,
                         cr_error *err);
void cr_source_close(cr_source *src);

/* SHA-256 identifying the source: the file's bytes, or for a Shapefile, the .shp with its
 * .shx, .dbf, .prj and .cpg (which change how it reads). */
cr_status cr_source_sha256(const char *path, char hex_out[65], cr_error *err);

#endif
