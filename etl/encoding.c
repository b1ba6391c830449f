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

cr_status cr_etl_detect_encoding(const char *buf, size_t len, char enc_out[32], size_t *bom_len_out,
                                 cr_error *err)
{
    const unsigned char *u = (const unsigned char *)buf;
    *bom_len_out = 0;
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        *bom_len_out = 3;
        if (!cr_utf8_valid(buf + 3, len - 3)) {
            return cr_error_set(err, CR_EPARSE, "UTF-8 byte order mark but the text is not UTF-8");
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
    if (valid_in(buf, len, "GB18030")) {
        snprintf(enc_out, 32, "GB18030");
        return CR_OK;
    }
    return cr_error_set(err, CR_EPARSE,
                        "text is neither UTF-8 nor GB18030/GBK; name its encoding with --encoding");
}
