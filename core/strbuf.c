/* SPDX-License-Identifier: MIT */
/* Growable strings; the buffer is always NUL-terminated after the first append. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(cr_strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap) {
        return;
    }
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1) {
        cap *= 2;
    }
    sb->data = cr_xrealloc(sb->data, cap);
    sb->cap = cap;
}

char *cr_strbuf_room(cr_strbuf *sb, size_t n)
{
    reserve(sb, n);
    return sb->data + sb->len;
}

void cr_strbuf_append(cr_strbuf *sb, const char *s, size_t n)
{
    reserve(sb, n);
    if (n > 0) {
        memcpy(sb->data + sb->len, s, n);
    }
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void cr_strbuf_puts(cr_strbuf *sb, const char *s)
{
    cr_strbuf_append(sb, s, strlen(s));
}

void cr_strbuf_printf(cr_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        reserve(sb, (size_t)n);
        vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap2);
        sb->len += (size_t)n;
    }
    va_end(ap2);
}

void cr_strbuf_clear(cr_strbuf *sb)
{
    sb->len = 0;
    if (sb->data != NULL) {
        sb->data[0] = '\0';
    }
}

void cr_strbuf_cleanup(cr_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

char *cr_strbuf_take(cr_strbuf *sb)
{
    char *p = sb->data ? sb->data : cr_xstrdup("");
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}
