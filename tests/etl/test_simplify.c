/* SPDX-License-Identifier: MIT */
/* cr_simplify_dp against GEOS's own Douglas–Peucker (GEOSSimplify on a LineString): the same
 * vertices kept on random wiggly lines at many tolerances, plus the degenerate cases (two
 * points, repeated points, a closed line, a straight line). */
#include "geo/geo.h"
#include "test_common.h"

#include <geos_c.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void compare(GEOSContextHandle_t h, const double *xy, size_t n, double tol)
{
    GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(h, xy, (unsigned)n, 0, 0);
    GEOSGeometry *line = GEOSGeom_createLineString_r(h, cs);
    assert_non_null(line);
    GEOSGeometry *simple = GEOSSimplify_r(h, line, tol);
    assert_non_null(simple);
    const GEOSCoordSequence *out = GEOSGeom_getCoordSeq_r(h, simple);
    unsigned m = 0;
    GEOSCoordSeq_getSize_r(h, out, &m);
    unsigned char keep[512];
    size_t kept = cr_simplify_dp(xy, n, tol, keep);
    assert_int_equal(kept, m);
    unsigned j = 0;
    for (size_t i = 0; i < n; i++) {
        if (keep[i]) {
            double x, y;
            GEOSCoordSeq_getXY_r(h, out, j++, &x, &y);
            assert_true(x == xy[2 * i] && y == xy[2 * i + 1]);
        }
    }
    GEOSGeom_destroy_r(h, simple);
    GEOSGeom_destroy_r(h, line);
}

static void test_same_vertices_as_geos(void **state)
{
    (void)state;
    GEOSContextHandle_t h = GEOS_init_r();
    double xy[2 * 256];
    unsigned x = 7;
    for (int line = 0; line < 300; line++) {
        size_t n = 2 + (size_t)(line % 250);
        double px = 120.0, py = 31.0;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            px += ((x >> 16) % 2001 - 1000) * 1e-6;
            x = x * 1103515245u + 12345u;
            py += ((x >> 16) % 2001 - 1000) * 1e-6;
            xy[2 * i] = px;
            xy[2 * i + 1] = py;
        }
        if (line % 7 == 3 && n > 4) { /* repeated points */
            xy[4] = xy[2], xy[5] = xy[3];
        }
        if (line % 11 == 5) { /* closed */
            xy[2 * (n - 1)] = xy[0], xy[2 * (n - 1) + 1] = xy[1];
        }
        for (double tol = 1e-7; tol < 1e-2; tol *= 3.7) {
            compare(h, xy, n, tol);
        }
    }
    double straight[] = {0, 0, 1, 1, 2, 2, 3, 3};
    compare(h, straight, 4, 0);
    compare(h, straight, 4, 1e-9);
    GEOS_finish_r(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_vertices_as_geos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
