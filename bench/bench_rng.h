/* SPDX-License-Identifier: MIT */
/* The benchmarks' deterministic random numbers (xorshift64, Box–Muller): the same seed gives
 * the same data on every machine. Not for anything but generated benchmark data. */
#ifndef CR_BENCH_BENCH_RNG_H
#define CR_BENCH_BENCH_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct {
    uint64_t state; /* never 0 */
} bench_rng;

/* Uniform in [0, 1). */
static inline double bench_uniform(bench_rng *r)
{
    r->state ^= r->state << 13;
    r->state ^= r->state >> 7;
    r->state ^= r->state << 17;
    return (double)(r->state >> 11) / 9007199254740992.0;
}

/* Standard normal. */
static inline double bench_gauss(bench_rng *r)
{
    double u = bench_uniform(r) + 1e-12, v = bench_uniform(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

#endif
