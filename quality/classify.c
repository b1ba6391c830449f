/* SPDX-License-Identifier: MIT */
/* The single-factor rule of GB 3838-2002 as the national assessment method applies it: each
 * indicator's class from its Table 1 limits, the worst indicator decides, 劣V beyond V,
 * exceedance multiples and the main pollutants. */
#include "quality.h"

#include <math.h>
#include <string.h>

/* A value on a limit is inside it: means of decimal values may land a rounding step off. */
#define ON_LIMIT 1e-9

static int le(double v, double limit)
{
    return v <= limit + fabs(limit) * ON_LIMIT;
}

static int ge(double v, double limit)
{
    return v >= limit - fabs(limit) * ON_LIMIT;
}

static const double *limits_of(const cr_indicator *d, int lake)
{
    return lake ? d->lake : d->river;
}

/* 1..6, or 0 when the indicator is not classed for this water body. */
static int class_of(const cr_indicator *d, double v, int lake)
{
    if (d->limit_kind == CR_LIMIT_NONE || (d->lake_only && !lake)) {
        return 0;
    }
    const double *l = limits_of(d, lake);
    for (int k = 0; k < CR_WQ_CLASSES; k++) {
        int in = d->limit_kind == CR_LIMIT_MAX   ? le(v, l[k])
                 : d->limit_kind == CR_LIMIT_MIN ? ge(v, l[k])
                                                 : ge(v, l[k]) && le(v, d->range_hi[k]);
        if (in) {
            return k + 1;
        }
    }
    return 6;
}

/* (C − L)/L for maxima above their limit, else 0. */
static double multiple(const cr_indicator *d, double v, double limit)
{
    if (d->no_multiple || d->limit_kind != CR_LIMIT_MAX || le(v, limit) || limit <= 0) {
        return 0;
    }
    return (v - limit) / limit;
}

void cr_wq_classify(const cr_standards *s, const cr_wq_item *in, size_t n, int lake, int target,
                    cr_wq_result *out)
{
    memset(out, 0, sizeof *out);
    out->target = target;
    out->lake = lake;
    out->met = -1;
    for (size_t i = 0; i < n && out->n_items < CR_WQ_MAX_ITEMS; i++) {
        cr_wq_item *it = &out->items[out->n_items++];
        *it = (cr_wq_item){
            .ind = in[i].ind, .value = in[i].value, .censored = in[i].censored, .n = in[i].n};
        const cr_indicator *d = &s->ind[it->ind];
        it->cls = class_of(d, it->value, lake);
        if (it->cls == 0) {
            continue;
        }
        const double *l = limits_of(d, lake);
        if (target >= 1 && target <= CR_WQ_CLASSES) {
            it->limit_target = l[target - 1];
            it->exceeds_target = it->cls > target;
            it->multiple_target = multiple(d, it->value, it->limit_target);
        }
        it->multiple_iii = multiple(d, it->value, l[2]);
        if (it->cls > out->cls) {
            out->cls = it->cls;
        }
    }
    for (size_t i = 0; i < out->n_items; i++) {
        if (out->cls > 0 && out->items[i].cls == out->cls) {
            out->deciding[out->n_deciding++] = (int)i;
        }
    }
    if (out->cls > 0 && target > 0) {
        out->met = out->cls <= target;
    }
    if (out->cls <= 3) {
        return;
    }
    /* main pollutants: the indicators worse than III, worst class first, then the largest
     * multiple over class III; at most three */
    int used[CR_WQ_MAX_ITEMS] = {0};
    while (out->n_main < 3) {
        int best = -1;
        for (size_t i = 0; i < out->n_items; i++) {
            const cr_wq_item *it = &out->items[i];
            if (used[i] || it->cls <= 3) {
                continue;
            }
            if (best < 0 || it->cls > out->items[best].cls ||
                (it->cls == out->items[best].cls &&
                 it->multiple_iii > out->items[best].multiple_iii)) {
                best = (int)i;
            }
        }
        if (best < 0) {
            break;
        }
        used[best] = 1;
        out->main_pollutants[out->n_main++] = best;
    }
}
