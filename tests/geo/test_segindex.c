/* SPDX-License-Identifier: MIT */
/* The segment index against a brute-force scan of every segment: the same nearest segment (ties
 * to the lowest vertex), the same measure, for points near the lines and far from them (the
 * best-first search over blocks), with and without an owner filter, with copied and borrowed
 * vertices; the quick distance against the geodesic. */
#include "geo/geo.h"
#include "test_common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { LINES = 400, QUERIES = 3000 };

typedef struct {
    double *xy;    /* every line's vertices, one after the other */
    size_t *start; /* per line: first vertex; start[LINES] = all */
    size_t n_vertices;
} lines;

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static double uniform(double lo, double hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Lines in a dense patch (many short ones, some of 16 vertices or more, whose measures the
 * index keeps) and a few far away, so most of the grid is empty. */
static void make_lines(lines *l)
{
    l->start = calloc(LINES + 1, sizeof *l->start);
    l->xy = malloc(LINES * 60 * 2 * sizeof *l->xy);
    size_t v = 0;
    for (size_t i = 0; i < LINES; i++) {
        l->start[i] = v;
        int far = i % 50 == 0;
        double x = far ? uniform(110, 125) : uniform(120, 120.5);
        double y = far ? uniform(25, 35) : uniform(30, 30.5);
        int n = i % 7 == 0 ? 16 + (int)uniform(0, 40) : 2 + (int)uniform(0, 6);
        for (int k = 0; k < n; k++) {
            l->xy[2 * v] = x;
            l->xy[2 * v + 1] = y;
            v++;
            x += uniform(-0.004, 0.004);
            y += uniform(-0.004, 0.004);
        }
    }
    l->start[LINES] = v;
    l->n_vertices = v;
}

/* Squared distance in metres from the frame's origin to segment a-b, in the frame's metric
 * (written apart from the index's own: projection of the origin onto the segment). */
static double seg_d2(const cr_local *f, const double *a, const double *b, double *t_out)
{
    double p[2] = {(a[0] - f->lon0) * f->kx, (a[1] - f->lat0) * f->ky};
    double q[2] = {(b[0] - f->lon0) * f->kx, (b[1] - f->lat0) * f->ky};
    double d[2] = {q[0] - p[0], q[1] - p[1]};
    double dd = d[0] * d[0] + d[1] * d[1];
    double t = dd == 0 ? 0 : fmin(1, fmax(0, (-p[0] * d[0] - p[1] * d[1]) / dd));
    *t_out = t;
    return pow(p[0] + t * d[0], 2) + pow(p[1] + t * d[1], 2);
}

static double seg_m(const double *a, const double *b)
{
    cr_local f;
    cr_local_init(&f, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
    return hypot((b[0] - a[0]) * f.kx, (b[1] - a[1]) * f.ky);
}

static int even_owner(void *user, int32_t owner)
{
    (void)user;
    return owner % 2 == 0;
}

/* The nearest segment by scanning them all: its line and segment, or line -1. */
static void brute(const lines *l, double lon, double lat, double max_m, int even_only,
                  int32_t *line, int32_t *segment, double *d2_out, double *measure)
{
    cr_local f;
    cr_local_init(&f, lon, lat);
    double best = max_m * max_m;
    *line = -1;
    for (size_t i = 0; i < LINES; i++) {
        if (even_only && i % 2 != 0) {
            continue;
        }
        double cum = 0;
        for (size_t v = l->start[i]; v + 1 < l->start[i + 1]; v++) {
            double t;
            double d2 = seg_d2(&f, l->xy + 2 * v, l->xy + 2 * v + 2, &t);
            double len = seg_m(l->xy + 2 * v, l->xy + 2 * v + 2);
            if (d2 < best) {
                best = d2;
                *line = (int32_t)i;
                *segment = (int32_t)(v - l->start[i]);
                *measure = cum + t * len;
            }
            cum += len;
        }
    }
    *d2_out = best;
}

static void check_index(const lines *l, cr_segindex *ix)
{
    int far_hits = 0, ties = 0, hinted = 0;
    cr_seg_hit prev = {.line = -1};
    for (int q = 0; q < QUERIES; q++) {
        int near = q % 3 != 0;
        double lon = near ? uniform(119.9, 120.6) : uniform(105, 130);
        double lat = near ? uniform(29.9, 30.6) : uniform(20, 40);
        double max_m = q % 4 == 0 ? 200.0 : q % 4 == 1 ? 5000.0 : 1e7;
        int even_only = q % 5 == 0;
        int32_t line = -1, segment = 0;
        double d2 = 0, measure = 0;
        brute(l, lon, lat, max_m, even_only, &line, &segment, &d2, &measure);
        cr_seg_hit h;
        int found =
            cr_segindex_nearest(ix, lon, lat, max_m, even_only ? even_owner : NULL, NULL, &h);
        assert_int_equal(found, line >= 0);
        /* started from another point's segment (near or far, filtered or not, or not one of
         * this index): the same answer */
        cr_seg_hit hf;
        cr_seg_hit bogus = {.line = LINES + 5, .segment = 0};
        int from = cr_segindex_nearest_from(ix, lon, lat, max_m, even_only ? even_owner : NULL,
                                            NULL, q % 7 == 0 ? &bogus : &prev, &hf);
        assert_int_equal(from, found);
        if (found) {
            assert_int_equal(hf.line, h.line);
            assert_int_equal(hf.segment, h.segment);
            assert_true(hf.dist_m == h.dist_m && hf.measure_m == h.measure_m);
            hinted += prev.line >= 0;
            prev = h;
        }
        int32_t owner =
            cr_segindex_nearest_owner(ix, lon, lat, max_m, even_only ? even_owner : NULL, NULL);
        assert_int_equal(owner, found ? h.owner : -1);
        if (!found) {
            continue;
        }
        far_hits += sqrt(d2) > 20000.0;
        /* the same segment, unless the two are as near as rounding can tell */
        cr_local f;
        cr_local_init(&f, lon, lat);
        double t;
        size_t hv = l->start[h.line] + (size_t)h.segment;
        double hd2 = seg_d2(&f, l->xy + 2 * hv, l->xy + 2 * hv + 2, &t);
        assert_true(fabs(hd2 - d2) <= 1e-9 * d2 + 1e-9);
        if (h.line != line || h.segment != segment) {
            ties++;
            continue;
        }
        assert_int_equal(h.owner, line);
        assert_true(fabs(h.measure_m - measure) <= 1e-6 * (1 + measure));
        double length = 0;
        for (size_t v = l->start[line]; v + 1 < l->start[line + 1]; v++) {
            length += seg_m(l->xy + 2 * v, l->xy + 2 * v + 2);
        }
        assert_true(fabs(h.line_m - length) <= 1e-6 * (1 + length));
        /* the geodesic to the nearest point agrees with the planar distance nearby */
        assert_true(sqrt(d2) > 20000.0 || fabs(h.dist_m - sqrt(d2)) <= 1e-3 * sqrt(d2) + 0.01);
    }
    assert_true(far_hits > 100); /* the far search was exercised */
    assert_true(ties < QUERIES / 100);
    assert_true(hinted > QUERIES / 2);
    assert_true(hinted > QUERIES / 2);
}

static void test_copied_and_borrowed(void **state)
{
    (void)state;
    lines l;
    make_lines(&l);
    cr_segindex *copied = cr_segindex_new();
    cr_segindex *borrowed = cr_segindex_new();
    for (size_t i = 0; i < LINES; i++) {
        size_t n = l.start[i + 1] - l.start[i];
        cr_segindex_add_line(copied, (int32_t)i, l.xy + 2 * l.start[i], n);
        assert_int_equal(cr_segindex_add_borrowed(borrowed, (int32_t)i, l.xy + 2 * l.start[i], n),
                         1);
    }
    /* a borrowed index takes only the vertices right after the last line's */
    assert_int_equal(cr_segindex_add_borrowed(borrowed, LINES, l.xy, 2), 0);
    assert_int_equal(cr_segindex_lines(borrowed), LINES);
    cr_segindex_build(copied);
    cr_segindex_build(borrowed);
    check_index(&l, copied);
    check_index(&l, borrowed);
    cr_segindex_free(copied);
    cr_segindex_free(borrowed);
    free(l.xy);
    free(l.start);
}

/* The quick distance against PROJ's geodesic: within 5 µm under 1 km (any direction, up to 60°
 * of latitude), the geodesic itself beyond. */
static void test_distance_is_the_geodesic(void **state)
{
    (void)state;
    double worst = 0;
    int beyond = 0;
    for (int i = 0; i < 200000; i++) {
        double lat = uniform(-60, 60), lon = uniform(70, 135);
        double d = uniform(0, 1) < 0.5 ? uniform(0, 1100) : uniform(0, 50);
        double az = uniform(0, 2 * M_PI);
        double lat2 = lat + d * cos(az) / 110574.0;
        double lon2 = lon + d * sin(az) / (111320.0 * cos(lat * M_PI / 180));
        double g = cr_geodesic_m(lon, lat, lon2, lat2);
        double q = cr_distance_m(lon, lat, lon2, lat2);
        if (g >= 1000.5) {
            assert_true(q == g);
            beyond++;
        } else if (g < 999.5) {
            worst = fmax(worst, fabs(q - g));
        }
    }
    assert_true(beyond > 1000);
    if (worst > 5e-6) {
        fail_msg("under 1 km: %.3g m from the geodesic", worst);
    }
    assert_true(cr_distance_m(120.1, 31.2, 120.1, 31.2) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copied_and_borrowed),
        cmocka_unit_test(test_distance_is_the_geodesic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
