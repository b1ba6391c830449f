/* SPDX-License-Identifier: MIT */
/* Strict UTF-8 decoding (RFC 3629): overlongs, surrogates and truncation are invalid. */
#include "core.h"

int32_t cr_utf8_next(const char **p, const char *end)
{
    const unsigned char *s = (const unsigned char *)*p;
    const unsigned char *e = (const unsigned char *)end;
    if (s >= e) {
        return -1;
    }
    unsigned c = s[0];
    int n;
    int32_t cp;
    int32_t min;
    if (c < 0x80) {
        *p += 1;
        return (int32_t)c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 1, cp = (int32_t)(c & 0x1F), min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2, cp = (int32_t)(c & 0x0F), min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3, cp = (int32_t)(c & 0x07), min = 0x10000;
    } else {
        return -1;
    }
    if (e - s <= n) {
        return -1;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return -1;
        }
        cp = (cp << 6) | (int32_t)(s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return -1;
    }
    *p += n + 1;
    return cp;
}

void cr_utf8_put(cr_strbuf *sb, int32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    cr_strbuf_append(sb, b, n);
}

int cr_utf8_valid(const char *buf, size_t len)
{
    const char *p = buf;
    const char *end = buf + len;
    while (p < end) {
        if ((unsigned char)*p < 0x80) {
            p++;
            continue;
        }
        if (cr_utf8_next(&p, end) < 0) {
            return 0;
        }
    }
    return 1;
}
