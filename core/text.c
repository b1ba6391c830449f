/* SPDX-License-Identifier: MIT */
/* Text matching rules shared by layer definitions and the ETL: full-width folding, blanks,
 * trimming, and the folded form used to match headers and enumeration values. */
#include "core.h"

#include <string.h>

int cr_text_is_blank(int32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x3000 || cp == 0xA0;
}

/* Full-width ASCII variants (U+FF01..U+FF5E) to ASCII; others unchanged. */
int32_t cr_text_fold_fullwidth(int32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E) {
        return cp - 0xFF01 + 0x21;
    }
    if (cp == 0x3000) {
        return ' ';
    }
    return cp;
}

static int is_open_bracket(int32_t cp)
{
    return cp == '(' || cp == '[' || cp == 0x3010 /* 【 */;
}

static int is_close_bracket(int32_t cp)
{
    return cp == ')' || cp == ']' || cp == 0x3011 /* 】 */;
}

char *cr_text_fold(const char *text)
{
    cr_strbuf sb = {0};
    const char *p = text;
    const char *end = text + strlen(text);
    int depth = 0;
    while (p < end) {
        int32_t cp = cr_utf8_next(&p, end);
        if (cp < 0) {
            p++;
            continue;
        }
        cp = cr_text_fold_fullwidth(cp);
        if (is_open_bracket(cp)) {
            depth++;
            continue;
        }
        if (is_close_bracket(cp)) {
            depth -= depth > 0;
            continue;
        }
        if (depth > 0 || cr_text_is_blank(cp) || cp == '_' || cp == '-' || cp == 0xFEFF) {
            continue;
        }
        if (cp >= 'A' && cp <= 'Z') {
            cp += 'a' - 'A';
        }
        cr_utf8_put(&sb, cp);
    }
    return cr_strbuf_take(&sb);
}

char *cr_text_trim(const char *text)
{
    const char *p = text;
    const char *end = text + strlen(text);
    const char *first = NULL;
    const char *last_end = p;
    while (p < end) {
        const char *at = p;
        int32_t cp = cr_utf8_next(&p, end);
        if (cp < 0) {
            p++;
            cp = 0xFFFD;
        }
        if (!cr_text_is_blank(cp) && cp != 0xFEFF) {
            if (first == NULL) {
                first = at;
            }
            last_end = p;
        }
    }
    if (first == NULL) {
        return cr_xstrdup("");
    }
    return cr_xstrndup(first, (size_t)(last_end - first));
}
