/* SPDX-License-Identifier: MIT */
/* Text encodings of inventories: a BOM, else strict UTF-8, else GB18030 (a superset of GBK).
 * Rule: everything is converted to UTF-8 before OGR reads it; conversion errors name the byte. */
#include "etl.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

cr_status cr_etl_to_utf8(const char *buf, size_t len, const char *from, char **out, size_t *out_len,
                         cr_error *err)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1) {
        return cr_error_set(err, CR_EINVAL, "unknown encoding '%s'", from);
    }
    size_t cap = len * 2 + 16;
    char *dst = cr_xmalloc(cap);
    char *in = (char *)buf;
    size_t in_left = len;
    char *o = dst;
    size_t o_left = cap - 1;
    cr_status rc = CR_OK;
    while (in_left > 0) {
        size_t r = iconv(cd, &in, &in_left, &o, &o_left);
        if (r != (size_t)-1) {
            break;
        }
        if (errno == E2BIG) {
            size_t used = (size_t)(o - dst);
            cap *= 2;
            dst = cr_xrealloc(dst, cap);
            o = dst + used;
            o_left = cap - used - 1;
            continue;
        }
        rc = cr_error_set(err, CR_EPARSE, "not valid %s at byte %zu", from, (size_t)(in - buf));
        break;
    }
    iconv_close(cd);
    if (rc != CR_OK) {
        free(dst);
        return rc;
    }
    *o = '\0';
    *out = dst;
    *out_len = (size_t)(o - dst);
    return CR_OK;
}

static int valid_in(const char *buf, size_t len, const char *enc)
{
    char *tmp;
    size_t n;
    if (cr_etl_to_utf8(buf, len, enc, &tmp, &n, NULL) != CR_OK) {
        return 0;
    }
    free(tmp);
    return 1;
}

/* Lines of the text: the first that is not valid UTF-8 (0 if none) and the first that is valid
 * and carries at least two multi-byte characters — evidence of UTF-8 that GBK text almost never
 * forms by chance (0 if none). */
static void utf8_lines(const char *buf, size_t len, int64_t *first_bad, int64_t *first_good)
{
    *first_bad = *first_good = 0;
    int64_t line = 1;
    for (size_t start = 0; start < len; line++) {
        const char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len;
        int multibyte = 0;
        for (size_t i = start; i < end; i++) {
            multibyte += ((unsigned char)buf[i] & 0xC0) == 0xC0;
        }
        if (!cr_utf8_valid(buf + start, end - start)) {
            *first_bad = *first_bad ? *first_bad : line;
        } else if (multibyte >= 2) {
            *first_good = *first_good ? *first_good : line;
        }
        if (*first_bad && *first_good) {
            return;
        }
        start = end + 1;
    }
}

int64_t cr_etl_line_of_offset(const char *buf, size_t len, size_t offset)
{
    int64_t line = 1;
    for (size_t i = 0; i < offset && i < len; i++) {
        line += buf[i] == '\n';
    }
    return line;
}

cr_status cr_etl_detect_encoding(const char *buf, size_t len, char enc_out[32], size_t *bom_len_out,
                                 cr_error *err)
{
    const unsigned char *u = (const unsigned char *)buf;
    *bom_len_out = 0;
    int64_t bad = 0;
    int64_t good = 0;
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        *bom_len_out = 3;
        if (!cr_utf8_valid(buf + 3, len - 3)) {
            utf8_lines(buf + 3, len - 3, &bad, &good);
            if (!good && valid_in(buf + 3, len - 3, "GB18030")) {
                return cr_error_set(err, CR_EPARSE,
                                    "starts with a UTF-8 byte-order mark, but the text after it "
                                    "is GB18030/GBK, not UTF-8 (line %lld is the first that is "
                                    "not UTF-8); import it with --encoding gbk (the mark is "
                                    "dropped)",
                                    (long long)bad);
            }
            return cr_error_set(err, CR_EPARSE,
                                "mixed encodings: UTF-8 byte-order mark%s, but line %lld is not "
                                "UTF-8; save the whole file in one encoding",
                                good ? " and UTF-8 text" : "", (long long)bad);
        }
        snprintf(enc_out, 32, "UTF-8 (BOM)");
        return CR_OK;
    }
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        *bom_len_out = 2;
        snprintf(enc_out, 32, "%s (BOM)", u[0] == 0xFF ? "UTF-16LE" : "UTF-16BE");
        return CR_OK;
    }
    if (cr_utf8_valid(buf, len)) {
        snprintf(enc_out, 32, "UTF-8");
        return CR_OK;
    }
    utf8_lines(buf, len, &bad, &good);
    if (good) {
        return cr_error_set(err, CR_EPARSE,
                            "mixed encodings: line %lld is UTF-8, but line %lld is not (GBK?); "
                            "save the whole file in one encoding, or force one with --encoding",
                            (long long)good, (long long)bad);
    }
    if (valid_in(buf, len, "GB18030")) {
        snprintf(enc_out, 32, "GB18030");
        return CR_OK;
    }
    return cr_error_set(err, CR_EPARSE,
                        "text is neither UTF-8 nor GB18030/GBK (line %lld is not UTF-8); name its "
                        "encoding with --encoding",
                        (long long)bad);
}
