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
    char encoding[96];         /* what was detected/used, for the batch record */
    char ogr_encoding[32];     /* iconv name handed to the Shapefile driver */
    char content_encoding[32]; /* what the DBF bytes are, if not ASCII */
    int64_t line_count;        /* text formats: newlines, for progress */
    int64_t total;             /* rows expected, or -1 */
} cr_source;

/* Open path; errors name the file. Close with cr_source_close (also after errors). */
cr_status cr_source_open(const char *path, const char *forced_encoding, const char *source_layer,
                         cr_source *src, cr_error *err);
void cr_source_close(cr_source *src);
/* SHA-256 identifying the source: the file's bytes, or for a Shapefile, the .shp with its
 * .shx, .dbf, .prj and .cpg (which change how it reads). */
cr_status cr_source_sha256(const char *path, char hex_out[65], cr_error *err);

#endif
