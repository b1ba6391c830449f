/* SPDX-License-Identifier: MIT */
/* Opening a source file with OGR after settling its encoding: text formats are converted to
 * UTF-8 in GDAL's /vsimem/ (GDAL's CSV driver assumes UTF-8); Shapefiles get an ENCODING
 * open option from the .cpg, the DBF code page and the bytes themselves. */
#include "source.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int ext_is(const char *path, const char *ext)
{
    return strcasecmp(extension(path), ext) == 0;
}

/* Map .cpg / --encoding spellings to an iconv name; returns a static string or the input. */
static const char *canonical_encoding(const char *name)
{
    static const char *gb[] = {"gbk", "gb2312", "gb18030", "936", "cp936", "ansi 936", "euc-cn"};
    static const char *utf8[] = {"utf-8", "utf8", "65001"};
    for (size_t i = 0; i < sizeof gb / sizeof gb[0]; i++) {
        if (strcasecmp(name, gb[i]) == 0) {
            return "GB18030";
        }
    }
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++) {
        if (strcasecmp(name, utf8[i]) == 0) {
            return "UTF-8";
        }
    }
    return name;
}

/* Sibling file with another extension, e.g. x.shp → x.cpg; caller frees. */
static char *sibling(const char *path, const char *ext)
{
    const char *e = extension(path);
    size_t stem = (size_t)(e - path);
    cr_strbuf sb = {0};
    cr_strbuf_append(&sb, path, stem);
    cr_strbuf_puts(&sb, ext);
    return cr_strbuf_take(&sb);
}

static cr_status shapefile_encoding(const char *path, const char *forced, cr_source *src,
                                    cr_error *err)
{
    char declared[64] = "";
    char *cpg = sibling(path, "cpg");
    char *data = NULL;
    size_t len = 0;
    if (cr_read_file(cpg, &data, &len, NULL) == CR_OK) {
        char *t = cr_text_trim(data);
        snprintf(declared, sizeof declared, ".cpg %s", t);
        snprintf(src->ogr_encoding, sizeof src->ogr_encoding, "%s", canonical_encoding(t));
        free(t);
        free(data);
    }
    free(cpg);
    char *dbf = sibling(path, "dbf");
    if (cr_read_file(dbf, &data, &len, NULL) != CR_OK) {
        char *dbf_upper = sibling(path, "DBF");
        if (cr_read_file(dbf_upper, &data, &len, NULL) != CR_OK) {
            data = NULL;
        }
        free(dbf_upper);
    }
    free(dbf);
    if (data != NULL && len > 32) {
        unsigned char ldid = (unsigned char)data[29];
        if (declared[0] == '\0' && (ldid == 0x4D || ldid == 0x7A)) {
            snprintf(declared, sizeof declared, "DBF code page 936");
            snprintf(src->ogr_encoding, sizeof src->ogr_encoding, "GB18030");
        }
        size_t header = (size_t)(unsigned char)data[8] | ((size_t)(unsigned char)data[9] << 8);
        const char *body = header < len ? data + header : data + len;
        size_t body_len = header < len ? len - header : 0;
        int ascii = 1;
        for (size_t i = 0; i < body_len && ascii; i++) {
            ascii = (unsigned char)body[i] < 0x80;
        }
        if (!ascii) {
            char enc[32];
            size_t bom;
            if (cr_etl_detect_encoding(body, body_len, enc, &bom, NULL) == CR_OK &&
                strcmp(enc, "UTF-8") == 0) {
                snprintf(src->content_encoding, sizeof src->content_encoding, "UTF-8");
            } else {
                snprintf(src->content_encoding, sizeof src->content_encoding, "GB18030");
            }
        }
    }
    free(data);
    if (forced) {
        snprintf(src->ogr_encoding, sizeof src->ogr_encoding, "%s", canonical_encoding(forced));
        snprintf(src->encoding, sizeof src->encoding, "%s (--encoding)", src->ogr_encoding);
        return CR_OK;
    }
    if (src->content_encoding[0] != '\0' &&
        strcmp(src->content_encoding, src->ogr_encoding[0] ? src->ogr_encoding : "") != 0) {
        /* The bytes decide: a .cpg that says UTF-8 over GBK bytes is a common mistake. */
        snprintf(src->ogr_encoding, sizeof src->ogr_encoding, "%s", src->content_encoding);
        snprintf(src->encoding, sizeof src->encoding, "%s (content%s%s)", src->ogr_encoding,
                 declared[0] ? "; disagrees with " : "", declared);
        if (declared[0]) {
            cr_log(CR_LOG_WARN, "etl", "%s: text is %s although %s", path, src->ogr_encoding,
                   declared);
        }
        return CR_OK;
    }
    if (src->ogr_encoding[0] == '\0') {
        /* No declaration and ASCII-only (or empty) text: nothing to convert. */
        snprintf(src->ogr_encoding, sizeof src->ogr_encoding, "UTF-8");
    }
    snprintf(src->encoding, sizeof src->encoding, "%s%s%s%s", src->ogr_encoding,
             declared[0] ? " (" : "", declared, declared[0] ? ")" : "");
    (void)err;
    return CR_OK;
}

/* Text formats: detect or force the encoding, convert to UTF-8 into /vsimem/. */
static cr_status text_to_vsimem(const char *path, const char *forced, cr_source *src, cr_error *err)
{
    char *data = NULL;
    size_t len = 0;
    cr_status rc = cr_read_file(path, &data, &len, err);
    if (rc != CR_OK) {
        return rc;
    }
    char enc[32];
    size_t bom = 0;
    const char *from;
    const unsigned char *u = (const unsigned char *)data;
    int utf8_bom = len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF;
    size_t blank = utf8_bom ? 3 : 0;
    while (blank < len && (data[blank] == ' ' || data[blank] == '\t' || data[blank] == '\r' ||
                           data[blank] == '\n')) {
        blank++;
    }
    if (blank == len) {
        free(data);
        return cr_error_set(err, CR_EINVAL, "%s: the file is empty (%zu bytes%s)", path, len,
                            len == 0   ? ""
                            : utf8_bom ? ": a byte-order mark only"
                                       : " of blanks");
    }
    if (forced) {
        from = canonical_encoding(forced);
        /* a UTF-8 mark over text in another encoding (an editor's doing) is dropped too */
        bom = utf8_bom ? 3 : 0;
        snprintf(src->encoding, sizeof src->encoding, "%s (--encoding%s)", from,
                 utf8_bom && strcmp(from, "UTF-8") != 0 ? "; UTF-8 byte-order mark dropped" : "");
    } else {
        rc = cr_etl_detect_encoding(data, len, enc, &bom, err);
        if (rc != CR_OK) {
            free(data);
            return cr_error_prefix(err, "%s", path);
        }
        snprintf(src->encoding, sizeof src->encoding, "%s", enc);
        from = strncmp(enc, "UTF-16LE", 8) == 0   ? "UTF-16LE"
               : strncmp(enc, "UTF-16BE", 8) == 0 ? "UTF-16BE"
               : strncmp(enc, "GB18030", 7) == 0  ? "GB18030"
                                                  : "UTF-8";
    }
    char *utf8 = NULL;
    size_t utf8_len = 0;
    if (strcmp(from, "UTF-8") == 0) {
        if (!cr_utf8_valid(data + bom, len - bom)) {
            cr_error e = {0};
            size_t ignored;
            cr_etl_detect_encoding(data + bom, len - bom, enc, &ignored, &e);
            free(data);
            return cr_error_set(err, CR_EPARSE, "%s: not valid UTF-8: %s", path,
                                e.msg[0] ? e.msg : "bad bytes");
        }
        utf8 = cr_xstrndup(data + bom, len - bom);
        utf8_len = len - bom;
    } else if ((rc = cr_etl_to_utf8(data + bom, len - bom, from, &utf8, &utf8_len, err)) != CR_OK) {
        size_t at = 0;
        const char *p = err ? strstr(err->msg, " at byte ") : NULL;
        if (p) {
            at = (size_t)strtoull(p + 9, NULL, 10);
        }
        int64_t line = cr_etl_line_of_offset(data + bom, len - bom, at);
        free(data);
        return cr_error_prefix(err, "%s: line %lld", path, (long long)line);
    }
    free(data);
    for (size_t i = 0; i < utf8_len; i++) {
        src->line_count += utf8[i] == '\n';
    }
    static int counter = 0;
    const char *slash = strrchr(path, '/');
    snprintf(src->open_path, sizeof src->open_path, "/vsimem/crossriver/%d/%s", ++counter,
             slash ? slash + 1 : path);
    VSILFILE *f = VSIFileFromMemBuffer(src->open_path, (GByte *)utf8, (vsi_l_offset)utf8_len, TRUE);
    if (f == NULL) {
        free(utf8);
        return cr_error_set(err, CR_EIO, "%s: cannot stage the UTF-8 copy", path);
    }
    VSIFCloseL(f);
    src->vsimem = 1;
    return CR_OK;
}

cr_status cr_source_sha256(const char *path, char hex_out[65], cr_error *err)
{
    if (!ext_is(path, "shp")) {
        return cr_sha256_file(path, hex_out, err);
    }
    static const char *exts[] = {"shp", "shx", "dbf", "prj", "cpg"};
    char *paths[5];
    for (int i = 0; i < 5; i++) {
        paths[i] = sibling(path, exts[i]);
    }
    cr_status rc = cr_sha256_files((const char *const *)paths, 5, hex_out, err);
    for (int i = 0; i < 5; i++) {
        free(paths[i]);
    }
    return rc;
}

static cr_status open_dataset(const char *path, const char *source_layer, cr_source *src,
                              cr_error *err);

/* Last GDAL error message, captured for our own error text. */
static void CPL_STDCALL capture_error(CPLErr cls, CPLErrorNum num, const char *msg)
{
    (void)num;
    if (cls >= CE_Failure) {
        char *buf = CPLGetErrorHandlerUserData();
        snprintf(buf, 256, "%s", msg);
    }
}

/* Drop the first `bytes` (`lines` lines) of the staged UTF-8 copy. */
static cr_status drop_leading(cr_source *src, size_t bytes, int64_t lines, cr_error *err)
{
    vsi_l_offset size = 0;
    GByte *buf = VSIGetMemFileBuffer(src->open_path, &size, FALSE);
    if (buf == NULL || bytes == 0 || bytes > size) {
        return CR_OK;
    }
    char *rest = cr_xstrndup((const char *)buf + bytes, (size_t)size - bytes);
    VSIUnlink(src->open_path);
    VSILFILE *f =
        VSIFileFromMemBuffer(src->open_path, (GByte *)rest, (vsi_l_offset)(size - bytes), TRUE);
    if (f == NULL) {
        free(rest);
        src->vsimem = 0;
        return cr_error_set(err, CR_EIO, "%s: cannot stage the UTF-8 copy", src->open_path);
    }
    VSIFCloseL(f);
    src->skipped_lines = lines;
    src->line_count -= lines;
    return CR_OK;
}

cr_status cr_source_open(const char *path, const char *forced_encoding, const char *source_layer,
                         cr_source_header_fn header, void *header_user, cr_source *src,
                         cr_error *err)
{
    memset(src, 0, sizeof *src);
    snprintf(src->open_path, sizeof src->open_path, "%s", path);
    cr_status rc = CR_OK;
    char **oo = NULL;
    if (ext_is(path, "csv") || ext_is(path, "txt") || ext_is(path, "tsv")) {
        src->spreadsheet = 1;
        rc = text_to_vsimem(path, forced_encoding, src, err);
        vsi_l_offset size = 0;
        GByte *text =
            rc == CR_OK && header ? VSIGetMemFileBuffer(src->open_path, &size, FALSE) : NULL;
        size_t skip = 0;
        int64_t lines = 0;
        if (text != NULL) {
            rc = header(header_user, (const char *)text, (size_t)size, &skip, &lines, err);
        }
        if (rc == CR_OK && skip > 0) {
            rc = drop_leading(src, skip, lines, err);
        }
        oo = CSLSetNameValue(oo, "AUTODETECT_TYPE", "NO");
        oo = CSLSetNameValue(oo, "HEADERS", "YES");
        oo = CSLSetNameValue(oo, "KEEP_GEOM_COLUMNS", "NO"); /* WKT is the geometry, once */
    } else if (ext_is(path, "geojson") || ext_is(path, "json")) {
        rc = text_to_vsimem(path, forced_encoding, src, err);
    } else if (ext_is(path, "xlsx")) {
        src->spreadsheet = 1;
        snprintf(src->encoding, sizeof src->encoding, "UTF-8 (XLSX)");
        src->headerless = 1; /* the header is found among the rows (title rows above it) */
        oo = CSLSetNameValue(oo, "HEADERS", "DISABLE");
        oo = CSLSetNameValue(oo, "FIELD_TYPES", "STRING");
    } else if (ext_is(path, "shp") || ext_is(path, "dbf")) {
        rc = shapefile_encoding(path, forced_encoding, src, err);
        oo = CSLSetNameValue(oo, "ENCODING", src->ogr_encoding);
    } else if (ext_is(path, "gpkg") || ext_is(path, "kml") || ext_is(path, "kmz") ||
               ext_is(path, "gpx")) {
        /* GPX: the first layer is the waypoints (a patrol app's points) */
        snprintf(src->encoding, sizeof src->encoding, "UTF-8 (%s)", extension(path));
    } else {
        rc = cr_error_set(err, CR_EINVAL,
                          "%s: unsupported file type '.%s' (csv, txt, xlsx, shp, geojson, json, "
                          "gpkg, kml, gpx)",
                          path, extension(path));
    }
    if (rc != CR_OK) {
        CSLDestroy(oo);
        cr_source_close(src);
        return rc;
    }
    src->open_options = oo;
    rc = open_dataset(path, source_layer, src, err);
    if (rc != CR_OK) {
        cr_source_close(src);
        return rc;
    }
    src->total = src->spreadsheet && src->line_count > 0 ? src->line_count - 1
                                                         : OGR_L_GetFeatureCount(src->layer, 0);
    return CR_OK;
}

static cr_status open_dataset(const char *path, const char *source_layer, cr_source *src,
                              cr_error *err)
{
    cr_status rc = CR_OK;
    char gdal_msg[256] = "";
    CPLPushErrorHandlerEx(capture_error, gdal_msg);
    src->ds = GDALOpenEx(src->open_path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL,
                         (const char *const *)src->open_options, NULL);
    CPLPopErrorHandler();
    if (src->ds == NULL) {
        rc = cr_error_set(err, CR_EIO, "%s: cannot read: %s", path,
                          gdal_msg[0] ? gdal_msg
                                      : "not a vector format GDAL knows (CSV, XLSX, Shapefile, "
                                        "GeoJSON, GeoPackage, KML, ...) or a damaged file");
    } else if (GDALDatasetGetLayerCount(src->ds) == 0) {
        rc = cr_error_set(err, CR_EINVAL, "%s: no layers", path);
    } else if (source_layer != NULL) {
        src->layer = GDALDatasetGetLayerByName(src->ds, source_layer);
        if (src->layer == NULL) {
            rc = cr_error_set(err, CR_EINVAL, "%s: no layer or sheet named '%s'", path,
                              source_layer);
        }
    } else {
        src->layer = GDALDatasetGetLayer(src->ds, 0);
        if (GDALDatasetGetLayerCount(src->ds) > 1) {
            cr_log(CR_LOG_WARN, "etl",
                   "%s: %d layers/sheets; reading the first, '%s' (choose "
                   "with --source-layer)",
                   path, GDALDatasetGetLayerCount(src->ds), OGR_L_GetName(src->layer));
        }
    }
    return rc;
}

void cr_source_close(cr_source *src)
{
    if (src->ds) {
        GDALClose(src->ds);
        src->ds = NULL;
    }
    if (src->vsimem) {
        VSIUnlink(src->open_path);
        src->vsimem = 0;
    }
    CSLDestroy(src->open_options);
    src->open_options = NULL;
}
