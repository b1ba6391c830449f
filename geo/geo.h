/* SPDX-License-Identifier: MIT */
/* geo: distances in metres on the WGS84 ellipsoid, and a grid index of line segments for
 * nearest-line queries (reaches, jurisdiction boundaries). Rule: coordinates are lon,lat
 * degrees (EPSG:4326); every distance returned is in metres. Indexes are immutable once
 * built and may be shared read-only between threads. */
#ifndef CR_GEO_GEO_H
#define CR_GEO_GEO_H

#include "core/core.h"

/* Geodesic distance (PROJ's GeographicLib port, WGS84), metres. */
double cr_geodesic_m(double lon1, double lat1, double lon2, double lat2);
/* The same to within 5 µm at a fraction of the cost: under 1 km (where the ellipsoid's local
 * frame at the midpoint is that close: tests/geo/test_segindex.c), the local frame's distance,
 * else cr_geodesic_m. */
double cr_distance_m(double lon1, double lat1, double lon2, double lat2);

/* A local metric frame: metres per degree east and north at a latitude, from the ellipsoid's
 * radii of curvature. Distances up to tens of kilometres agree with geodesics to < 0.1 %. */
typedef struct {
    double lon0, lat0; /* origin */
    double kx, ky;     /* metres per degree of longitude / latitude */
} cr_local;

void cr_local_init(cr_local *f, double lon0, double lat0);

/* Length of a polyline of n lon,lat pairs, metres (segment by segment in local frames). */
double cr_polyline_length_m(const double *lonlat, size_t n);

/* Douglas–Peucker on n x,y pairs with the planar distance tolerance tol, as GEOS's
 * DouglasPeuckerLineSimplifier (GEOSSimplify on a LineString) does it, to the bit: keep[i] is
 * set to 1 for the vertices kept (always the first and the last), 0 for the others. Returns
 * how many are kept. No recursion (a long line cannot exhaust the stack). */
size_t cr_simplify_dp(const double *xy, size_t n, double tol, unsigned char *keep);

/* Append the vertices of a WKB LineString (either byte order) to *coords (lon,lat pairs,
 * realloc'd; *n_coords counts pairs). Returns the number of vertices appended, 0 when wkb is
 * not a LineString. */
size_t cr_wkb_append_linestring(const unsigned char *wkb, size_t len, double **coords,
                                size_t *n_coords);

/* The same for a SpatiaLite geometry BLOB holding a LINESTRING (the store's own format, read
 * without converting it to WKB). */
size_t cr_spatialite_append_linestring(const unsigned char *blob, size_t len, double **coords,
                                       size_t *n_coords);

/* The x and y of a SpatiaLite geometry BLOB holding a POINT: 1, or 0 when it is not one. */
int cr_spatialite_point(const unsigned char *blob, size_t len, double *x, double *y);

/* ---- segment index ------------------------------------------------------------------- */

typedef struct cr_segindex cr_segindex;

/* New empty index. Add lines, then cr_segindex_build, then query. Free with _free. */
cr_segindex *cr_segindex_new(void);
void cr_segindex_free(cr_segindex *ix);
/* Make room for `lines` more lines of `vertices` vertices in all (optional: adding grows). */
void cr_segindex_reserve(cr_segindex *ix, size_t lines, size_t vertices);
/* Add a copy of a polyline of n >= 2 lon,lat pairs belonging to owner (any int >= 0); nothing
 * into an index of borrowed lines (below). */
void cr_segindex_add_line(cr_segindex *ix, int32_t owner, const double *lonlat, size_t n);
/* Add a polyline of n >= 2 lon,lat pairs without copying them: they stay the caller's and must
 * outlive the index. Every line of an index is added so or none is, each one's vertices right
 * after the previous one's; 0 (nothing added) when this one's are not. */
int cr_segindex_add_borrowed(cr_segindex *ix, int32_t owner, const double *lonlat, size_t n);
/* Freeze: choose the cell size from the data and bucket the segments. */
void cr_segindex_build(cr_segindex *ix);

typedef struct {
    int32_t owner;    /* owner of the nearest line */
    int32_t line;     /* index of the line (in add order) */
    int32_t segment;  /* segment within that line (0-based) */
    double t;         /* position along the segment, 0..1 */
    double dist_m;    /* distance from the query point, metres */
    double measure_m; /* distance along the line from its first vertex to the nearest point */
    double line_m;    /* the line's length */
    int side;         /* +1 point left of the line's direction, -1 right, 0 on it */
    double lon, lat;  /* the nearest point on the line */
} cr_seg_hit;

/* Filter for queries: return 1 to consider lines of this owner. */
typedef int (*cr_owner_filter)(void *user, int32_t owner);

/* Nearest line within max_m of (lon, lat) among accepted owners (filter may be NULL).
 * Returns 1 and fills *hit, or 0 when none is that close. Ties go to the lower line index,
 * so results are deterministic. Thread-safe on a built index. */
int cr_segindex_nearest(const cr_segindex *ix, double lon, double lat, double max_m,
                        cr_owner_filter filter, void *user, cr_seg_hit *hit);
/* The same, starting from the segment of an earlier hit `near` in this index (a neighbouring
 * point's; NULL or not of this index: none): the same answer, found sooner when that segment
 * is near. */
int cr_segindex_nearest_from(const cr_segindex *ix, double lon, double lat, double max_m,
                             cr_owner_filter filter, void *user, const cr_seg_hit *near,
                             cr_seg_hit *hit);
/* The owner of that nearest line, or -1: the same search, without the geodesic distance and
 * the measure a hit reports. */
int32_t cr_segindex_nearest_owner(const cr_segindex *ix, double lon, double lat, double max_m,
                                  cr_owner_filter filter, void *user);
/* Number of lines added. */
size_t cr_segindex_lines(const cr_segindex *ix);

#endif
