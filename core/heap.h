/* SPDX-License-Identifier: MIT */
/* heap: the binary min-heap of (distance, node) that shortest-path searches share (tracing,
 * patrol routes). Header only; the caller owns h->a and frees it with free(). */
#ifndef CR_CORE_HEAP_H
#define CR_CORE_HEAP_H

#include "core/core.h"

typedef struct {
    double d; /* metres */
    int32_t node;
} cr_heap_item;

typedef struct {
    cr_heap_item *a;
    size_t n, cap;
} cr_heap;

static inline void cr_heap_push(cr_heap *h, double d, int32_t node)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->a = cr_xrealloc(h->a, h->cap * sizeof *h->a);
    }
    size_t i = h->n++;
    while (i > 0 && h->a[(i - 1) / 2].d > d) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = (cr_heap_item){d, node};
}

static inline cr_heap_item cr_heap_pop(cr_heap *h)
{
    cr_heap_item top = h->a[0];
    cr_heap_item last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) {
            break;
        }
        if (c + 1 < h->n && h->a[c + 1].d < h->a[c].d) {
            c++;
        }
        if (h->a[c].d >= last.d) {
            break;
        }
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n > 0) {
        h->a[i] = last;
    }
    return top;
}

#endif
