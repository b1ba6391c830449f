/* SPDX-License-Identifier: MIT */
/* core: errors, logging, progress, growable strings and hashing shared by every module.
 * Rule: nothing here knows about GIS; libraries never print except through cr_log. */
#ifndef CR_CORE_CORE_H
#define CR_CORE_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    CR_OK = 0,
    CR_EINVAL, /* bad argument or input the caller can fix */
    CR_EIO,    /* file or OS error */
    CR_EPARSE, /* text that does not parse */
    CR_EDB,    /* SQLite / SpatiaLite error */
    CR_EGEOS,  /* GEOS error */
    CR_EPROJ,  /* PROJ error */
    CR_ENOMEM,
    CR_ENOTFOUND, /* a named thing (reach, feature, gate) does not exist */
    CR_EFORBIDDEN /* restricted, and the caller's token does not open it */
} cr_status;

typedef struct {
    cr_status code; /* CR_OK until something fails */
    char msg[512];  /* human message naming file, row, field and value */
} cr_error;

/* Set err (may be NULL) and return code, so callers can `return cr_error_set(...)`. */
cr_status cr_error_set(cr_error *err, cr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "ctx: old message". Returns err->code. */
cr_status cr_error_prefix(cr_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The status's name, e.g. "CR_EINVAL" (a static string). */
const char *cr_status_name(cr_status code);

/* Allocation that aborts on out-of-memory (recorded in the log first). Caller frees with free. */
void *cr_xmalloc(size_t n);
/* The stable order of n keys below 2^bits (an LSD radix sort, 16 bits a pass, a pass whose
 * digit every key shares skipped): at[k] is the index of the k-th smallest; caller frees. */
uint32_t *cr_radix_order(const uint64_t *keys, size_t n, int bits);
void *cr_xcalloc(size_t count, size_t n);
void *cr_xrealloc(void *p, size_t n);
char *cr_xstrdup(const char *s);
char *cr_xstrndup(const char *s, size_t n);

typedef enum { CR_LOG_DEBUG = 0, CR_LOG_INFO, CR_LOG_WARN, CR_LOG_ERROR, CR_LOG_OFF } cr_log_level;
void cr_log_set_level(cr_log_level level);
cr_log_level cr_log_get_level(void);
/* One stderr line: "ts level module msg". Checks the level before formatting. */
void cr_log(cr_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Progress callback: total is 0 when unknown. Libraries call it; only the CLI draws it. */
typedef void (*cr_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Growable NUL-terminated string. Zero-initialise, then append; free with cr_strbuf_cleanup. */
typedef struct {
    char *data; /* NUL-terminated when len > 0 or after any append */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
} cr_strbuf;
void cr_strbuf_append(cr_strbuf *sb, const char *s, size_t n);
/* Room for n more bytes (and the NUL) after sb->len: where they go. The caller writes them,
 * then moves sb->len on and puts the NUL back (sb->data[sb->len] = '\0'). */
char *cr_strbuf_room(cr_strbuf *sb, size_t n);
void cr_strbuf_puts(cr_strbuf *sb, const char *s);
void cr_strbuf_printf(cr_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cr_strbuf_clear(cr_strbuf *sb);
void cr_strbuf_cleanup(cr_strbuf *sb);
/* Return the buffer ("" when empty); the strbuf is emptied; caller frees with free(). */
char *cr_strbuf_take(cr_strbuf *sb);

/* SHA-256 as 64 lowercase hex chars + NUL into hex_out[65]. */
void cr_sha256_hex(const void *data, size_t n, char hex_out[65]);
/* SHA-256 of a whole file. */
cr_status cr_sha256_file(const char *path, char hex_out[65], cr_error *err);

/* SHA-256 over several files in order, each framed by its index and length (an absent file
 * is framed as absent), so a Shapefile's hash covers its .dbf, .prj and .cpg too. */
cr_status cr_sha256_files(const char *const *paths, size_t n, char hex_out[65], cr_error *err);

/* Read a whole file into memory; caller frees *data_out with free(). NUL-terminated. */
cr_status cr_read_file(const char *path, char **data_out, size_t *len_out, cr_error *err);

/* Write one CSV cell (always quoted, quotes doubled), then ',' or, when last, '\n'. */
void cr_csv_write_cell(FILE *out, const char *value, int last);
/* The same, appended to b. */
void cr_csv_append_cell(cr_strbuf *b, const char *value, int last);
/* text with & < > " escaped for XML (and HTML), appended to b. */
void cr_xml_append(cr_strbuf *b, const char *text);

/* ---- document writers (core/documents.c), shared by every report ----------------------- */

/* CSV: the UTF-8 byte-order mark (Excel, WPS), then rows of quoted cells. */
void cr_csv_begin(cr_strbuf *b);
void cr_csv_row(cr_strbuf *b, const char *const *cells, size_t n);
/* A printable HTML page (zh-CN, UTF-8) with its title and style sheet, and its end; a table
 * cell (tag "td" or "th") with escaped text. */
void cr_html_begin(cr_strbuf *b, const char *title, const char *css);
void cr_html_cell(cr_strbuf *b, const char *tag, const char *text);
void cr_html_end(cr_strbuf *b);
/* KML 2.2: a document, folders, point placemarks, line placemarks vertex by vertex (style: a
 * <Style id> of the document, or NULL). Names and descriptions are escaped here. */
void cr_kml_begin(cr_strbuf *b, const char *name);
void cr_kml_folder_begin(cr_strbuf *b, const char *name);
void cr_kml_folder_end(cr_strbuf *b);
void cr_kml_point(cr_strbuf *b, const char *name, const char *description, double lon, double lat);
void cr_kml_line_begin(cr_strbuf *b, const char *name, const char *description, const char *style);
void cr_kml_line_vertex(cr_strbuf *b, size_t i, double lon, double lat);
void cr_kml_line_end(cr_strbuf *b);
void cr_kml_end(cr_strbuf *b);

/* Current UTC time as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
void cr_now_iso8601(char out[21]);
/* Monotonic seconds for rates and timings. */
double cr_monotonic_s(void);

/* UTF-8: decode one code point at *p (advancing it), or return -1 on an invalid sequence
 * (overlong, surrogate, truncated, > U+10FFFF) without advancing. */
int32_t cr_utf8_next(const char **p, const char *end);
/* Append code point cp as UTF-8. */
void cr_utf8_put(cr_strbuf *sb, int32_t cp);
/* 1 when buf[0..len) is strictly valid UTF-8. */
int cr_utf8_valid(const char *buf, size_t len);

/* 1 for ASCII blanks, U+3000 (ideographic space) and U+00A0. */
int cr_text_is_blank(int32_t cp);
/* Full-width ASCII variants (U+FF01..U+FF5E) and U+3000 to ASCII; others unchanged. */
int32_t cr_text_fold_fullwidth(int32_t cp);
/* Fold a header or enumeration value for matching: full-width to ASCII, ASCII lower case,
 * blanks, '_' and '-' dropped, bracketed units removed ("经度（°）" → "经度").
 * Caller frees with free(). */
char *cr_text_fold(const char *text);
/* Trim ASCII and ideographic blanks (and a BOM) at both ends; caller frees with free(). */
char *cr_text_trim(const char *text);

#endif
