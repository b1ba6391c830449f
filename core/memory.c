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

uint32_t *cr_radix_order(const uint64_t *keys, size_t n, int bits)
{
    uint32_t *at = cr_xmalloc((n + 1) * sizeof *at), *next = cr_xmalloc((n + 1) * sizeof *next);
    size_t *count = cr_xmalloc(65537 * sizeof *count);
    uint64_t all_or = 0, all_and = ~0ULL;
    for (size_t i = 0; i < n; i++) {
        at[i] = (uint32_t)i;
        all_or |= keys[i];
        all_and &= keys[i];
    }
    for (int shift = 0; shift < bits; shift += 16) {
        if ((((all_or ^ all_and) >> shift) & 0xffff) == 0) {
            continue; /* every key has this digit */
        }
        memset(count, 0, 65537 * sizeof *count);
        for (size_t i = 0; i < n; i++) {
            count[((keys[i] >> shift) & 0xffff) + 1]++;
        }
        for (size_t d = 1; d <= 65536; d++) {
            count[d] += count[d - 1];
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t r = at[i];
            next[count[(keys[r] >> shift) & 0xffff]++] = r;
        }
        uint32_t *swap = at;
        at = next;
        next = swap;
    }
    free(next);
    free(count);
    return at;
}
