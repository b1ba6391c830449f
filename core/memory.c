/* SPDX-License-Identifier: MIT */
/* Allocation wrappers: out-of-memory is logged and aborts (as h2o and kore do). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t n)
{
    cr_log(CR_LOG_ERROR, "core", "out of memory allocating %zu bytes", n);
    abort();
}

void *cr_xmalloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL) {
        out_of_memory(n);
    }
    return p;
}

void *cr_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count == 0 ? 1 : count, n == 0 ? 1 : n);
    if (p == NULL) {
        out_of_memory(count * n);
    }
    return p;
}

void *cr_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);
    if (q == NULL) {
        out_of_memory(n);
    }
    return q;
}

char *cr_xstrdup(const char *s)
{
    return cr_xstrndup(s, strlen(s));
}

char *cr_xstrndup(const char *s, size_t n)
{
    char *p = cr_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
