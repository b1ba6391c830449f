/* SPDX-License-Identifier: MIT */
/* etl: read inventories as they arrive (OGR), normalise text, angles, encodings and CRSs,
 * validate against a layer definition and load them into the store, losing no row. */
#ifndef CR_ETL_ETL_H
#define CR_ETL_ETL_H

#include "core/core.h"
#include "store/store.h"

#include <stdio.h>

/* ---- text values ---------------------------------------------------------------------- */

typedef enum { CR_AXIS_LON = 0, CR_AXIS_LAT = 1 } cr_axis;

/* Parse an angle in decimal degrees or DMS ("120°53'12.5\"E", "120度53分12.5秒", "120:53:12.5",
 * "E120 53 12.5", full-width digits and typographic primes too) into signed degrees.
 * Any unparsed leftover is an error (never a silent truncation). err->msg says why. */
cr_status cr_etl_parse_angle(const char *text, cr_axis axis, double *deg_out, cr_error *err);

/* Decimal number: full-width digits, surrounding blanks and thousands separators accepted;
 * anything else left over is an error. */
cr_status cr_etl_parse_real(const char *text, double *out, cr_error *err);
/* Whole number (also "12.0"), within int64. */
cr_status cr_etl_parse_integer(const char *text, int64_t *out, cr_error *err);
/* Date "2024-05-03", "2024/5/3", "2024.5.3", "2024年5月3日", "20240503" into out[11]
 * as ISO 8601 "YYYY-MM-DD"; the calendar is checked. */
cr_status cr_etl_parse_date(const char *text, char out[11], cr_error *err);
/* Date and optional time into out[20] as "YYYY-MM-DDTHH:MM:SS" (local time as written). */
cr_status cr_etl_parse_datetime(const char *text, char out[20], cr_error *err);
/* 是/否, 有/无, Y/N, yes/no, true/false, 1/0, √/× into 1/0. */
cr_status cr_etl_parse_boolean(const char *text, int *out, cr_error *err);

/* ---- encodings ------------------------------------------------------------------------ */

/* Detect a text file's encoding: a BOM (UTF-8, UTF-16LE/BE), else strict UTF-8, else GB18030.
 * enc_out gets "UTF-8", "UTF-8 (BOM)", "UTF-16LE (BOM)", "UTF-16BE (BOM)" or "GB18030";
 * *bom_len_out the BOM bytes to skip. Fails, naming the first bad line, when the bytes are none
 * of these, when UTF-8 and other lines are mixed, or when a UTF-8 BOM precedes GBK text. */
cr_status cr_etl_detect_encoding(const char *buf, size_t len, char enc_out[32], size_t *bom_len_out,
                                 cr_error *err);
/* The 1-based line of byte offset in buf, for messages. */
int64_t cr_etl_line_of_offset(const char *buf, size_t len, size_t offset);
/* Convert buf from an iconv encoding name ("GB18030", "UTF-16LE", …) to UTF-8.
 * *out is NUL-terminated; caller frees with free(). Errors name the byte offset. */
cr_status cr_etl_to_utf8(const char *buf, size_t len, const char *from, char **out, size_t *out_len,
                         cr_error *err);

/* ---- coordinate reference systems ---------------------------------------------------- */

typedef struct cr_crs cr_crs;

/* Open a source CRS: "EPSG:4490" or "4490", "wgs84", "cgcs2000", "gcj02", "bd09", or any
 * definition PROJ accepts (WKT, PROJJSON, PROJ string). Caller frees with cr_crs_free(). */
cr_status cr_crs_open(const char *spec, cr_crs **out, cr_error *err);
void cr_crs_free(cr_crs *crs);
/* Short label for records: "EPSG:4490", "GCJ-02", "BD-09" or the CRS name. Borrowed. */
const char *cr_crs_label(const cr_crs *crs);
/* 1 for geographic (lon/lat) sources, including GCJ-02 and BD-09. */
int cr_crs_is_geographic(const cr_crs *crs);
/* For Transverse Mercator sources: the false easting (e.g. 40500000 for EPSG:4528), else 0. */
double cr_crs_false_easting(const cr_crs *crs);
/* Transform one coordinate (east, north order: lon,lat or easting,northing) to WGS84 lon,lat.
 * method_out (may be NULL, >= 160 bytes) describes how, e.g. the GCJ-02 iteration count. */
cr_status cr_crs_to_wgs84(cr_crs *crs, double x, double y, double *lon_out, double *lat_out,
                          char *method_out, cr_error *err);
/* Check a projected easting against the CRS's zone convention: a Gauss-Krüger easting with the
 * zone prefix (8 digits, e.g. 40xxxxxx) against a CRS without it, or the reverse, is an error. */
cr_status cr_crs_check_easting(const cr_crs *crs, double easting, cr_error *err);

/* The public GCJ-02 forward formula (WGS84 → GCJ-02); identity outside China. */
void cr_gcj02_from_wgs84(double lon, double lat, double *glon, double *glat);
/* Iterative inverse to < 1e-9° (~0.1 mm); returns the iteration count. */
int cr_gcj02_to_wgs84(double glon, double glat, double *lon, double *lat);
/* BD-09 from GCJ-02 (public formula) and its iterative inverse. */
void cr_bd09_from_gcj02(double glon, double glat, double *blon, double *blat);
int cr_bd09_to_gcj02(double blon, double blat, double *glon, double *glat);

/* ---- ingest --------------------------------------------------------------------------- */

typedef struct {
    const char *target; /* layer field name */
    const char *source; /* source column header, as written */
} cr_field_map;

typedef struct {
    const char *crs;          /* --crs, or NULL: the file's own CRS, else EPSG:4490 */
    const char *encoding;     /* --encoding (iconv name), or NULL to detect */
    const char *source_layer; /* OGR layer/sheet name, or NULL for the first */
    const cr_field_map *maps; /* --field target=source */
    size_t n_maps;            /* entries in maps */
    double region[4];         /* W, S, E, N in degrees: coordinates must fall inside */
    const char *valid_from;   /* survey date for history, or NULL for the import time */
    int full_survey;          /* 1: current features missing from the file are closed */
    const char *scope;        /* full survey: NULL for the counties of the file's rows, "all", or
                                 "county=CODE[,CODE…]"; features elsewhere are never closed */
    double max_close_share;   /* full survey: refuse to close more than this share of the
                                 in-scope features (0: CR_INGEST_MAX_CLOSE_SHARE) */
    int force;                /* 1: go on where a safety check would refuse */
    int dry_run;              /* 1: do everything and report it, store nothing */
    const cr_field_map *constants; /* --set field=value: a value for rows that have none */
    size_t n_constants;            /* entries in constants */
    int header_row;                /* spreadsheets: the header's row (1-based), 0 to find it */
    FILE *rejects_csv;             /* if not NULL, rejects are also written here (caller opens) */
    const char *party;             /* readings: the sampling party when the file has no column
                                      for it (upstream, downstream, joint), or NULL */
    const char *method;            /* readings: "manual" (NULL) or "automatic" when the file has
                                      no 监测方式 column */
    cr_progress_fn progress;       /* may be NULL */
    void *progress_user;           /* passed to progress */
} cr_ingest_options;

#define CR_INGEST_MAX_REASONS 16
/* A full survey closes at most this share of the in-scope features unless forced. */
#define CR_INGEST_MAX_CLOSE_SHARE 0.2

/* One change a dry run would make. */
typedef struct {
    char what[12]; /* "add", "update", "close", "reopen" */
    char *id;      /* stable ID, owned */
} cr_ingest_change;

typedef struct {
    int64_t batch_id;     /* the new batch, or the earlier one when already imported */
    int already_imported; /* 1: same file (SHA-256) was imported before: nothing done */
    int64_t rows_in;      /* rows read from the file */
    int64_t stored;       /* inserted + updated + unchanged */
    int64_t inserted;     /* new stable IDs */
    int64_t updated;      /* new version of an existing stable ID (old one kept) */
    int64_t unchanged;    /* identical to the current version */
    int64_t closed;       /* versions closed: full survey (absent from the file), supersede */
    int64_t reopened;     /* supersede: versions the superseded batch had closed, current again */
    int64_t superseded;   /* the earlier import of the same file this one supersedes, or 0 */
    int64_t in_scope;     /* full survey: current features in scope before closing */
    int64_t out_of_scope; /* full survey: current features outside the scope (left alone) */
    char scope[256];      /* full survey: the scope in words, e.g. "county 330421 嘉善县" */
    int dry_run;          /* 1: nothing was stored (batch_id is what it would have been) */
    cr_ingest_change *changes; /* dry run: what would change (first CR_INGEST_MAX_CHANGES) */
    size_t n_changes;
    int64_t rejected;       /* rows written to rejects */
    int64_t repaired;       /* stored after a geometry repair (noted on the row) */
    char encoding[64];      /* detected or forced encoding */
    char crs[160];          /* source CRS label */
    char sha256[65];        /* of the file as given */
    char source_layer[128]; /* OGR layer read */
    double seconds;         /* wall time */
    struct {
        char code[32]; /* reject reason code, e.g. "required" */
        int64_t count; /* rows rejected for it */
    } reasons[CR_INGEST_MAX_REASONS];
    size_t n_reasons;       /* entries used in reasons */
    int64_t values_stored;  /* readings: values in the stored rows (inserted, updated and
                               unchanged count values there) */
    int64_t series_touched; /* readings: series whose aggregates were rebuilt */
} cr_ingest_result;

#define CR_INGEST_MAX_CHANGES 10000
/* Free what a result owns (the dry run's changes); safe on any result. */
void cr_ingest_result_cleanup(cr_ingest_result *result);

typedef struct {
    int all;           /* every feature of the layer */
    char (*codes)[32]; /* county codes, owned */
    size_t n;
} cr_scope;
/* Parse a full survey's --scope: "all" or "county=CODE[,CODE…]" (6-digit administrative
 * codes). Free with cr_scope_cleanup. */
cr_status cr_etl_parse_scope(const char *text, cr_scope *out, cr_error *err);
void cr_scope_cleanup(cr_scope *scope);

/* First line of a rejects CSV (UTF-8 BOM, then the header), as --rejects and
 * `crossriver batches --rejects` write it; rows are file,row,source_id,field,code,reason,raw. */
#define CR_REJECTS_CSV_HEADER                                                                      \
    "\xEF\xBB\xBF\"file\",\"row\",\"source_id\",\"field\",\"code\",\"reason\",\"raw_record\"\n"

/* Default deployment region: the Taihu basin and its surroundings (W, S, E, N). */
extern const double CR_REGION_TAIHU[4];

/* Import one file into one layer as one batch and one transaction: every row is stored or
 * rejected (rows_in == stored + rejected), or nothing is written at all (returns an error).
 * Not thread-safe for one store. */
cr_status cr_etl_ingest_file(cr_store *store, const cr_layer_def *layer, const char *path,
                             const cr_ingest_options *opt, cr_ingest_result *result, cr_error *err);

/* A readings value cell: a number, or below detection — 未检出, ND, N.D., <0.02, ＜0.02,
 * 0.02L — with *censored set and *value the limit written (0 for a bare 未检出/ND: the caller
 * supplies the limit). CR_EPARSE saying why otherwise. */
cr_status cr_etl_parse_reading_value(const char *text, double *value, int *censored, cr_error *err);
/* A sampling time as written (date and time, or a date with a separate time of day: clock may
 * be NULL): 2025-07-14 08:00, 2025/7/14 8:00:00, 2025-07-14T08:00:00+08:00, …Z, 2025年7月14日
 * into China Standard Time seconds (an explicit offset is converted to CST). */
cr_status cr_etl_parse_reading_time(const char *date, const char *clock, int64_t *t, cr_error *err);

typedef struct cr_standards cr_standards;
/* Import one readings file (wide or long, CSV or XLSX) as one batch of layer "readings":
 * every row is stored whole or rejected with its reasons; values already stored by another
 * batch are left alone when equal and versioned when corrected; the day/month aggregates of
 * the series it touched are rebuilt in the same transaction. Uses opt's encoding,
 * source_layer, maps (--field CODE=COLUMN, ignore=COLUMN), party, valid_from, dry_run, force,
 * rejects_csv and progress. */
cr_status cr_etl_ingest_readings(cr_store *store, const cr_standards *std, const char *path,
                                 const cr_ingest_options *opt, cr_ingest_result *result,
                                 cr_error *err);

/* Undo readings batch target inside the open batch batch_id: the values it left current are
 * closed (kept in wq_readings_old, closed by batch_id), the versions it replaced are current
 * again, the aggregates of the series and days rebuilt. Refused, naming them, while later
 * batches corrected values of target. cr_etl_revert_batch calls it for readings batches. */
cr_status cr_etl_revert_readings(cr_store *store, int64_t target, int64_t batch_id, int64_t *closed,
                                 int64_t *reopened, cr_error *err);

typedef struct {
    int64_t batch_id; /* the revert batch */
    char layer[64];   /* the layer it changed */
    int64_t closed;   /* versions the undone batch had left current, now closed */
    int64_t reopened; /* versions it had closed, current again (as new versions) */
} cr_revert_result;

/* Undo batch batch_id as a new batch of its own (kind "revert"), in one transaction: history
 * keeps every version. Refused when the batch is already undone or superseded, or when a later
 * batch changed any of its features (those are named: undo them first). Not thread-safe. */
cr_status cr_etl_revert_batch(cr_store *store, int64_t batch_id, cr_revert_result *out,
                              cr_error *err);

/* What needs a clerk's review: {batches: [{batch_id, layer, file, flags, note}] (flagged as a
 * whole, in force), rows: [{layer, id, name, batch_id, source_row, flags}] (current rows whose
 * joins raised flags)}, of one layer (or all: NULL) and one batch (or all: 0). Caller frees
 * *out with json_decref. CR_EINVAL for an unknown layer. */
cr_status cr_etl_review(cr_store *store, const char *layer, int64_t batch, json_t **out,
                        cr_error *err);

#endif
