/* SPDX-License-Identifier: MIT */
/* Tile rendering. Rule: everything that decides the bytes is ordered (layers by name,
 * features by fid, attributes in definition order), so tiles are reproducible evidence. */
#include "tile.h"

#include "geo/handlers.h"
#include "mvt.h"
#include "store/tile_rows.h"

#include <geos_c.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_LAT 85.0511287798066
/* Rows read by runs of fids up to this zoom (layer_query). */
#define RUNS_MAX_ZOOM 12

/* A decimal number of at most max_digits at *p, without a sign or a leading zero; moves *p. */
static int tile_number(const char **p, int max_digits, long *out)
{
    const char *s = *p;
    int n = 0;
    long v = 0;
    while (s[n] >= '0' && s[n] <= '9' && n <= max_digits) {
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0 || n > max_digits || (n > 1 && s[0] == '0')) {
        return 0;
    }
    *p = s + n;
    *out = v;
    return 1;
}

int cr_tile_parse_path(const char *text, const char *suffix, int *z, int *x, int *y)
{
    long v[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        if (!tile_number(&p, i == 0 ? 2 : 7, &v[i]) || (i < 2 && *p++ != '/')) {
            return 0;
        }
    }
    if (strcmp(p, suffix) != 0) {
        return 0;
    }
    *z = (int)v[0];
    *x = (int)v[1];
    *y = (int)v[2];
    return 1;
}

int cr_tile_valid(int z, int x, int y)
{
    if (z < 0 || z > CR_TILE_MAX_ZOOM) {
        return 0;
    }
    long n = 1L << z;
    return x >= 0 && y >= 0 && x < n && y < n;
}

static double tile_lon(double x, int z)
{
    return x / (double)(1L << z) * 360.0 - 180.0;
}

static double tile_lat(double y, int z)
{
    double n = M_PI * (1.0 - 2.0 * y / (double)(1L << z));
    return atan(sinh(n)) * 180.0 / M_PI;
}

void cr_tile_bounds(int z, int x, int y, double b[4])
{
    b[0] = tile_lon(x, z);
    b[1] = tile_lat(y + 1, z);
    b[2] = tile_lon(x + 1, z);
    b[3] = tile_lat(y, z);
}

typedef struct {
    double scale;  /* 2^z * extent */
    double ox, oy; /* tile origin in world tile units (x * extent, y * extent) */
    /* near the tile (less than series_reach radians of latitude from lat0), y in tile units by
     * a series in the latitude's offset (series_init); series_reach 0: the formula everywhere */
    double lat0, series_reach, c[6];
} to_tile;

/* The tile's Mercator y as a Taylor series about the latitude of the tile's centre: y(φ) =
 * ln tan(π/4 + φ/2) has, with s = sec φ and t = tan φ, y′ = s, y″ = s t, y‴ = s (2t² + 1),
 * y⁗ = s t (6t² + 5), y⁽⁵⁾ = s (24t⁴ + 28t² + 5) and y⁽⁶⁾ = s t (120t⁴ + 180t² + 61). The reach
 * keeps the first term left out, d⁶ y⁽⁶⁾/720 (y⁽⁶⁾ at the reach's far end, where it is
 * largest), below 1e-7 of a tile unit, and d below 0.004 rad; the series is five
 * multiplications and additions where the formula is a tangent and a logarithm. From zoom 9
 * (below, a tile is wider than any reach). Tested against PROJ within a millionth of a unit. */
#define SERIES_MAX_REACH 0.004
#define SERIES_MIN_ZOOM  9

static void series_init(to_tile *t, int z, int x, int y, uint32_t extent)
{
    *t = (to_tile){
        .scale = (double)(1L << z) * extent, .ox = (double)x * extent, .oy = (double)y * extent};
    double centre = tile_lat(y + 0.5, z) * M_PI / 180.0;
    double far = fabs(centre) + SERIES_MAX_REACH, sf = 1.0 / cos(far), tf = tan(far);
    if (z < SERIES_MIN_ZOOM || !(far < 1.45)) { /* 83°: near the poles the formula */
        return;
    }
    double k = t->scale / (2.0 * M_PI); /* tile units per unit of Mercator y */
    double y6 = sf * tf * (120.0 * pow(tf, 4) + 180.0 * tf * tf + 61.0);
    double reach = pow(720.0 * 1e-7 / (k * y6), 1.0 / 6.0);
    double sec = 1.0 / cos(centre), tn = tan(centre), t2 = tn * tn;
    t->lat0 = centre;
    t->c[0] = (0.5 - log(tan(M_PI / 4.0 + centre / 2.0)) / (2.0 * M_PI)) * t->scale - t->oy;
    t->c[1] = -k * sec;
    t->c[2] = -k * sec * tn / 2.0;
    t->c[3] = -k * sec * (2.0 * t2 + 1.0) / 6.0;
    t->c[4] = -k * sec * tn * (6.0 * t2 + 5.0) / 24.0;
    t->c[5] = -k * sec * (24.0 * t2 * t2 + 28.0 * t2 + 5.0) / 120.0;
    t->series_reach = reach < SERIES_MAX_REACH ? reach : SERIES_MAX_REACH;
}

static int lonlat_to_tile(double *x, double *y, void *user)
{
    const to_tile *t = user;
    /* fmin and fmax without their libm calls (per vertex), NaN rules kept: NaN gives MAX_LAT */
    double lat = *y < MAX_LAT ? *y : MAX_LAT;
    lat = lat > -MAX_LAT ? lat : -MAX_LAT;
    lat = lat * M_PI / 180.0;
    double wx = (*x + 180.0) / 360.0;
    *x = wx * t->scale - t->ox;
    double d = lat - t->lat0;
    if (fabs(d) < t->series_reach) {
        const double *c = t->c;
        *y = c[0] + d * (c[1] + d * (c[2] + d * (c[3] + d * (c[4] + d * c[5]))));
        return 1;
    }
    double wy = (1.0 - log(tan(M_PI / 4.0 + lat / 2.0)) / M_PI) / 2.0;
    *y = wy * t->scale - t->oy;
    return 1;
}

void cr_tile_project(int z, int x, int y, uint32_t extent, double lon, double lat, double *tx,
                     double *ty)
{
    to_tile t;
    series_init(&t, z, x, y, extent);
    *tx = lon;
    *ty = lat;
    lonlat_to_tile(tx, ty, &t);
}

void cr_tile_at(double lon, double lat, int z, int *x, int *y)
{
    to_tile t = {.scale = (double)(1L << z)}; /* world tile units at z, by the formula */
    double fx = lon, fy = lat;
    lonlat_to_tile(&fx, &fy, &t);
    long n = 1L << z, tx = (long)floor(fx), ty = (long)floor(fy);
    *x = (int)(tx < 0 ? 0 : tx >= n ? n - 1 : tx);
    *y = (int)(ty < 0 ? 0 : ty >= n ? n - 1 : ty);
}

void cr_tile_zoom_range(const json_t *settings, int *minz, int *maxz)
{
    const json_t *lo = json_object_get(settings, "minzoom"),
                 *hi = json_object_get(settings, "maxzoom");
    *minz = lo ? (int)json_integer_value(lo) : 0;
    *maxz = hi ? (int)json_integer_value(hi) : CR_TILE_MAX_ZOOM;
}

/* Is name in the comma-separated list? */
static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) {
            return 1;
        }
        p += len + (e ? 1 : 0);
    }
    return 0;
}

const json_t *cr_tile_settings(const cr_layer_def *d)
{
    const json_t *t = json_object_get(d->json, "tile");
    return json_is_object(t) && d->geom != CR_GEOM_NONE ? t : NULL;
}

/* Every name in the list is a tiled layer the client may see. */
static cr_status check_list(const cr_layer_set *set, const char *list, const cr_access *access,
                            cr_error *err)
{
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(len < 127 ? len : 127), p);
        const cr_layer_def *d = cr_layer_set_find(set, name);
        if (d == NULL || cr_tile_settings(d) == NULL) {
            return cr_error_set(err, CR_EINVAL, "layers: '%s' is not a tiled layer", name);
        }
        if (d->restricted && !cr_access_layer(access, d->name)) {
            return cr_error_set(err, CR_EFORBIDDEN, "layers: '%s' is restricted", name);
        }
        p += len + (e ? 1 : 0);
    }
    return CR_OK;
}

/* (int32_t)lround(x) without the libm call (twice a vertex): half away from zero, the same
 * answer for every x in the int32 range (x - trunc(x) is exact); anything else goes to lround
 * itself. */
static inline int32_t round_unit(double x)
{
    if (!(fabs(x) < 2147483647.0)) {
        return (int32_t)lround(x);
    }
    double r = trunc(x);
    double rest = x - r;
    r += rest >= 0.5 ? 1.0 : rest <= -0.5 ? -1.0 : 0.0;
    return (int32_t)r;
}

static void add_coords(GEOSContextHandle_t h, cr_mvt_layer *l, const GEOSGeometry *g, int ring,
                       int exterior, int32_t **buf, size_t *cap)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, g);
    unsigned n = 0;
    if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n) || n == 0) {
        return;
    }
    if (2 * (size_t)n > *cap) {
        *cap = 2 * (size_t)n;
        *buf = cr_xrealloc(*buf, *cap * sizeof **buf);
    }
    for (unsigned i = 0; i < n; i++) {
        double x = 0, y = 0;
        GEOSCoordSeq_getXY_r(h, cs, i, &x, &y);
        (*buf)[2 * i] = round_unit(x);
        (*buf)[2 * i + 1] = round_unit(y);
    }
    if (ring) {
        cr_mvt_add_ring(l, *buf, n, exterior);
    } else if (n == 1) {
        cr_mvt_add_point(l, (*buf)[0], (*buf)[1]);
    } else {
        cr_mvt_add_line(l, *buf, n);
    }
}

/* Add the parts of g that match the layer's type (clipping may yield lower dimensions). */
static void add_geometry(GEOSContextHandle_t h, cr_mvt_layer *l, cr_mvt_geom_type type,
                         const GEOSGeometry *g, int32_t **buf, size_t *cap)
{
    int t = GEOSGeomTypeId_r(h, g);
    switch (t) {
    case GEOS_POINT:
        if (type == CR_MVT_POINT && !GEOSisEmpty_r(h, g)) {
            add_coords(h, l, g, 0, 0, buf, cap);
        }
        break;
    case GEOS_LINESTRING:
        if (type == CR_MVT_LINESTRING) {
            add_coords(h, l, g, 0, 0, buf, cap);
        }
        break;
    case GEOS_POLYGON:
        if (type == CR_MVT_POLYGON && !GEOSisEmpty_r(h, g)) {
            add_coords(h, l, GEOSGetExteriorRing_r(h, g), 1, 1, buf, cap);
            int holes = GEOSGetNumInteriorRings_r(h, g);
            for (int i = 0; i < holes; i++) {
                add_coords(h, l, GEOSGetInteriorRingN_r(h, g, i), 1, 0, buf, cap);
            }
        }
        break;
    case GEOS_MULTIPOINT:
    case GEOS_MULTILINESTRING:
    case GEOS_MULTIPOLYGON:
    case GEOS_GEOMETRYCOLLECTION: {
        int n = GEOSGetNumGeometries_r(h, g);
        for (int i = 0; i < n; i++) {
            add_geometry(h, l, type, GEOSGetGeometryN_r(h, g, i), buf, cap);
        }
        break;
    }
    default:
        break;
    }
}

/* ---- points and lines without GEOS ---------------------------------------------------------
 * Most features are outfalls and reaches: read SpatiaLite's own geometry BLOB, project, clip
 * (Liang–Barsky), simplify (Douglas–Peucker) and quantise in place, with no allocation per
 * feature. Polygons (and anything this reader does not know) go through GEOS. */

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the BLOB reader assumes little-endian");

typedef struct {
    double *f; /* float tile coordinates of the current line, pairs */
    size_t f_cap;
    double *part; /* one clipped part, pairs */
    size_t part_n, part_cap;
    unsigned char *keep;
    size_t keep_cap;
    size_t *stack;
    size_t stack_cap;
    int32_t *q; /* quantised output part */
    size_t q_cap;
    double length; /* of what was emitted (weights) */
    int emitted;
    double *ring[2]; /* Sutherland–Hodgman ping-pong buffers, pairs */
    size_t ring_cap;
    cr_strbuf wkb; /* a clipped polygon for GEOS */
    /* where features go, set per layer */
    const to_tile *tt;
    double lo, hi;   /* the tile plus its buffer, tile units */
    double tol;      /* simplification tolerance, tile units; 0: none */
    cr_mvt_layer *l; /* the layer written */
} fast_ctx;

static void fast_free(fast_ctx *c)
{
    free(c->ring[0]);
    free(c->ring[1]);
    cr_strbuf_cleanup(&c->wkb);
    free(c->f);
    free(c->part);
    free(c->keep);
    free(c->stack);
    free(c->q);
}

static void grow_to(void **p, size_t *cap, size_t need, size_t size)
{
    if (need > *cap) {
        *cap = need * 2;
        *p = cr_xrealloc(*p, *cap * size);
    }
}

static int32_t le_i32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

static void project(const unsigned char *p, const to_tile *tt, double *x, double *y)
{
    memcpy(x, p, 8);
    memcpy(y, p + 8, 8);
    lonlat_to_tile(x, y, (void *)tt);
}

/* Simplify c->part (Douglas–Peucker, tolerance tol), quantise, drop repeats, emit a line. */
static void emit_part(fast_ctx *c)
{
    cr_mvt_layer *l = c->l;
    double tol = c->tol;
    size_t n = c->part_n;
    if (n < 2) {
        c->part_n = 0;
        return;
    }
    grow_to((void **)&c->keep, &c->keep_cap, n, 1);
    memset(c->keep, tol > 0 ? 0 : 1, n);
    c->keep[0] = c->keep[n - 1] = 1;
    if (tol > 0) {
        grow_to((void **)&c->stack, &c->stack_cap, 2 * n, sizeof *c->stack);
        size_t top = 0;
        c->stack[top++] = 0;
        c->stack[top++] = n - 1;
        while (top) {
            size_t b = c->stack[--top], a = c->stack[--top];
            double ax = c->part[2 * a], ay = c->part[2 * a + 1];
            double dx = c->part[2 * b] - ax, dy = c->part[2 * b + 1] - ay;
            double len2 = dx * dx + dy * dy, best = -1;
            size_t at = a;
            for (size_t i = a + 1; i < b; i++) {
                double px = c->part[2 * i] - ax, py = c->part[2 * i + 1] - ay, d2;
                if (len2 > 0) {
                    double cross = px * dy - py * dx;
                    d2 = cross * cross / len2;
                } else {
                    d2 = px * px + py * py;
                }
                if (d2 > best) {
                    best = d2;
                    at = i;
                }
            }
            if (best > tol * tol) {
                c->keep[at] = 1;
                c->stack[top++] = a;
                c->stack[top++] = at;
                c->stack[top++] = at;
                c->stack[top++] = b;
            }
        }
    }
    grow_to((void **)&c->q, &c->q_cap, 2 * n, sizeof *c->q);
    size_t m = 0;
    double px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c->keep[i]) {
            continue;
        }
        int32_t qx = round_unit(c->part[2 * i]), qy = round_unit(c->part[2 * i + 1]);
        if (m > 0 && qx == c->q[2 * m - 2] && qy == c->q[2 * m - 1]) {
            continue;
        }
        if (m > 0) {
            /* the weight of a line (its length in tile units, nowhere near overflow): a
             * square root, not libm's overflow-safe hypot, per vertex */
            double dx = c->part[2 * i] - px, dy = c->part[2 * i + 1] - py;
            c->length += sqrt(dx * dx + dy * dy);
        }
        px = c->part[2 * i];
        py = c->part[2 * i + 1];
        c->q[2 * m] = qx;
        c->q[2 * m + 1] = qy;
        m++;
    }
    if (m >= 2) {
        cr_mvt_add_line(l, c->q, m);
        c->emitted = 1;
    }
    c->part_n = 0;
}

static void part_add(fast_ctx *c, double x, double y)
{
    grow_to((void **)&c->part, &c->part_cap, 2 * (c->part_n + 1), sizeof *c->part);
    c->part[2 * c->part_n] = x;
    c->part[2 * c->part_n + 1] = y;
    c->part_n++;
}

/* Clip the projected line c->f (n points) to [lo, hi]² (Liang–Barsky per segment), emitting
 * each run that stays inside as a part. */
static void clip_line(fast_ctx *c, size_t n)
{
    double lo = c->lo, hi = c->hi;
    int in_part = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double ax = c->f[2 * i], ay = c->f[2 * i + 1];
        double dx = c->f[2 * i + 2] - ax, dy = c->f[2 * i + 3] - ay;
        double t0 = 0, t1 = 1;
        const double pq[4][2] = {{-dx, ax - lo}, {dx, hi - ax}, {-dy, ay - lo}, {dy, hi - ay}};
        int visible = 1;
        /* both ends a unit or more inside (most segments): the loop below would leave t0 = 0
         * and t1 = 1 (the unit is far more than its divisions' rounding) */
        double bx = ax + dx, by = ay + dy, in_lo = lo + 1, in_hi = hi - 1;
        int inside = ax > in_lo && ax < in_hi && ay > in_lo && ay < in_hi && bx > in_lo &&
                     bx < in_hi && by > in_lo && by < in_hi;
        for (int k = 0; k < 4 && visible && !inside; k++) {
            double pk = pq[k][0], qk = pq[k][1];
            if (pk == 0) {
                visible = qk >= 0;
            } else {
                double t = qk / pk;
                if (pk < 0) {
                    t0 = t > t0 ? t : t0;
                } else {
                    t1 = t < t1 ? t : t1;
                }
                visible = t0 <= t1;
            }
        }
        if (!visible) {
            if (in_part) {
                emit_part(c);
                in_part = 0;
            }
            continue;
        }
        if (!in_part || t0 > 0) {
            if (in_part) {
                emit_part(c);
            }
            part_add(c, ax + t0 * dx, ay + t0 * dy);
        }
        part_add(c, ax + t1 * dx, ay + t1 * dy);
        in_part = t1 >= 1;
        if (!in_part) {
            emit_part(c);
        }
    }
    if (in_part) {
        emit_part(c);
    }
}

/* One LINESTRING body at p (count, then x y pairs); returns the bytes read, 0 when short. */
static size_t fast_line(fast_ctx *c, const unsigned char *p, const unsigned char *end)
{
    if (end - p < 4) {
        return 0;
    }
    int32_t n = le_i32(p);
    if (n < 0 || (size_t)(end - p - 4) / 16 < (size_t)n) {
        return 0;
    }
    grow_to((void **)&c->f, &c->f_cap, 2 * (size_t)n, sizeof *c->f);
    for (int32_t i = 0; i < n; i++) {
        project(p + 4 + 16 * (size_t)i, c->tt, &c->f[2 * i], &c->f[2 * i + 1]);
    }
    clip_line(c, (size_t)n);
    return 4 + 16 * (size_t)n;
}

static int fast_point(fast_ctx *c, const unsigned char *p)
{
    double x, y;
    project(p, c->tt, &x, &y);
    if (x >= c->lo && x <= c->hi && y >= c->lo && y <= c->hi) {
        cr_mvt_add_point(c->l, round_unit(x), round_unit(y));
        c->emitted = 1;
    }
    return 1;
}

/* A geometry body of type (1 POINT, 2 LINESTRING, 4 MULTIPOINT, 5 MULTILINESTRING) at p;
 * the parts of a multi geometry start with marker (SpatiaLite: 0x69, WKB: its byte order) and
 * their type. 0 when it is anything else or short. */
static int fast_body(fast_ctx *c, int32_t type, unsigned char marker, const unsigned char *p,
                     const unsigned char *end)
{
    c->length = 0;
    c->emitted = 0;
    c->part_n = 0;
    switch (type) {
    case 1:
        return end - p >= 16 && fast_point(c, p);
    case 2:
        return fast_line(c, p, end) > 0;
    case 4:
    case 5: {
        if (end - p < 4) {
            return 0;
        }
        int32_t n = le_i32(p);
        p += 4;
        for (int32_t i = 0; i < n; i++) {
            if (end - p < 5 || p[0] != marker || le_i32(p + 1) != (type == 5 ? 2 : 1)) {
                return 0;
            }
            p += 5;
            if (type == 5) {
                size_t used = fast_line(c, p, end);
                if (used == 0) {
                    return 0;
                }
                p += used;
            } else {
                if (end - p < 16) {
                    return 0;
                }
                fast_point(c, p);
                p += 16;
            }
        }
        return 1;
    }
    default:
        return 0;
    }
}

/* A SpatiaLite BLOB geometry (little-endian, XY, uncompressed POINT, LINESTRING, MULTIPOINT or
 * MULTILINESTRING) into the layer. 0 when it is anything else: the caller uses GEOS. */
static int fast_geometry(fast_ctx *c, const unsigned char *b, size_t len)
{
    if (len < 44 || b[0] != 0x00 || b[1] != 0x01 || b[38] != 0x7C || b[len - 1] != 0xFE) {
        return 0;
    }
    return fast_body(c, le_i32(b + 39), 0x69, b + 43, b + len - 1);
}

/* The same for little-endian WKB (the generalised levels). */
static int fast_wkb(fast_ctx *c, const unsigned char *b, size_t len)
{
    if (len < 5 || b[0] != 0x01) {
        return 0;
    }
    return fast_body(c, le_i32(b + 1), 0x01, b + 5, b + len);
}

static inline double load_f64(const unsigned char *p)
{
    double v;
    memcpy(&v, p, 8);
    return v;
}

/* One edge of Sutherland–Hodgman: the open ring in (m points, x y pairs as bytes: the first
 * pass reads the BLOB itself, unaligned) cut by the line axis = lim, keeping <= (upper) or >=,
 * into out; returns the points kept. */
static size_t clip_edge(const unsigned char *in, size_t m, double *out, int axis, int upper,
                        double lim)
{
    size_t k = 0;
    const unsigned char *a = in + 16 * (m - 1);
    double a_ax = load_f64(a + 8 * axis);
    int a_in = upper ? a_ax <= lim : a_ax >= lim;
    for (size_t i = 0; i < m; i++) {
        const unsigned char *b = in + 16 * i;
        double b_ax = load_f64(b + 8 * axis);
        int b_in = upper ? b_ax <= lim : b_ax >= lim;
        if (a_in != b_in) {
            double ax = load_f64(a), ay = load_f64(a + 8);
            double t = (lim - a_ax) / (b_ax - a_ax);
            out[2 * k] = ax + t * (load_f64(b) - ax);
            out[2 * k + 1] = ay + t * (load_f64(b + 8) - ay);
            out[2 * k + axis] = lim;
            k++;
        }
        if (b_in) {
            memcpy(&out[2 * k], b, 16);
            k++;
        }
        a = b;
        a_ax = b_ax;
        a_in = b_in;
    }
    return k;
}

/* Clip a closed ring (n points, lon/lat) to the box (Sutherland–Hodgman): the result, closed,
 * in c->ring[0]; returns its point count (0 when fewer than 4 remain). Edges may run along the
 * box: the box is wider than the tile, and GEOS's exact cut in tile units removes them. */
static size_t clip_ring(fast_ctx *c, const unsigned char *pts, size_t n, const double box[4])
{
    /* west, south (keep >=), east, north (keep <=); the open ring, read from pts first. An edge
     * keeps at most two points for each it reads (a crossing and the point), and the closed
     * result one more. */
    int from = -1; /* the buffer read: -1 pts, else c->ring[from] */
    size_t m = n - 1;
    for (int edge = 0; edge < 4 && m > 0; edge++) {
        if (c->ring_cap < 4 * m + 2) {
            c->ring_cap = 4 * m + 2;
            c->ring[0] = cr_xrealloc(c->ring[0], c->ring_cap * sizeof(double));
            c->ring[1] = cr_xrealloc(c->ring[1], c->ring_cap * sizeof(double));
        }
        int axis = edge & 1 ? 1 : 0, upper = edge >= 2, to = from == 0 ? 1 : 0;
        const unsigned char *in = from < 0 ? pts : (const unsigned char *)c->ring[from];
        m = clip_edge(in, m, c->ring[to], axis, upper, box[axis + (upper ? 2 : 0)]);
        from = to;
    }
    if (m < 3) {
        return 0;
    }
    if (from != 0) {
        memcpy(c->ring[0], c->ring[1], 16 * m);
    }
    c->ring[0][2 * m] = c->ring[0][0];
    c->ring[0][2 * m + 1] = c->ring[0][1];
    return m + 1;
}

static void put_u32(cr_strbuf *b, uint32_t v)
{
    cr_strbuf_append(b, (const char *)&v, 4);
}

/* A SpatiaLite POLYGON or MULTIPOLYGON BLOB cut to box, as WKB in c->wkb (an empty
 * MULTIPOLYGON when nothing is left). 0 for anything else. */
static int polygon_near(fast_ctx *c, const unsigned char *b, size_t len, const double box[4])
{
    if (len < 44 || b[0] != 0x00 || b[1] != 0x01 || b[38] != 0x7C || b[len - 1] != 0xFE) {
        return 0;
    }
    int32_t type = le_i32(b + 39);
    if (type != 3 && type != 6) {
        return 0;
    }
    const unsigned char *p = b + 43, *end = b + len - 1;
    int32_t n_polys = 1;
    if (type == 6) {
        if (end - p < 4) {
            return 0;
        }
        n_polys = le_i32(p);
        p += 4;
    }
    cr_strbuf_clear(&c->wkb);
    cr_strbuf_append(&c->wkb, "\x01", 1);
    put_u32(&c->wkb, 6);
    size_t count_at = c->wkb.len;
    put_u32(&c->wkb, 0);
    uint32_t kept = 0;
    for (int32_t k = 0; k < n_polys; k++) {
        if (type == 6) {
            if (end - p < 5 || p[0] != 0x69 || le_i32(p + 1) != 3) {
                return 0;
            }
            p += 5;
        }
        if (end - p < 4) {
            return 0;
        }
        int32_t n_rings = le_i32(p);
        p += 4;
        size_t poly_at = c->wkb.len, rings_at = 0;
        uint32_t rings = 0;
        for (int32_t r = 0; r < n_rings; r++) {
            if (end - p < 4) {
                return 0;
            }
            int32_t n = le_i32(p);
            if (n < 0 || (size_t)(end - p - 4) / 16 < (size_t)n) {
                return 0;
            }
            size_t m = n >= 4 ? clip_ring(c, p + 4, (size_t)n, box) : 0;
            p += 4 + 16 * (size_t)n;
            if (m == 0 && r == 0) { /* the exterior is gone: the holes with it */
                for (int32_t h = 1; h < n_rings; h++) {
                    if (end - p < 4) {
                        return 0;
                    }
                    int32_t nh = le_i32(p);
                    if (nh < 0 || (size_t)(end - p - 4) / 16 < (size_t)nh) {
                        return 0;
                    }
                    p += 4 + 16 * (size_t)nh;
                }
                break;
            }
            if (m == 0) {
                continue;
            }
            if (rings == 0) {
                cr_strbuf_append(&c->wkb, "\x01", 1);
                put_u32(&c->wkb, 3);
                rings_at = c->wkb.len;
                put_u32(&c->wkb, 0);
            }
            put_u32(&c->wkb, (uint32_t)m);
            cr_strbuf_append(&c->wkb, (const char *)c->ring[0], 16 * m);
            rings++;
        }
        if (rings > 0) {
            memcpy(c->wkb.data + rings_at, &rings, 4);
            kept++;
        } else {
            c->wkb.len = poly_at;
        }
    }
    memcpy(c->wkb.data + count_at, &kept, 4);
    return 1;
}

/* A feature's weight when a tile is over its caps: the smallest go first. Polygons by area and
 * lines by length in tile units; points by a hash of the fid (an even, repeatable thinning). */
typedef struct {
    double size;
    uint64_t fid;
} weight;

static int weight_cmp(const void *a, const void *b)
{
    const weight *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size ? 1 : x->fid < y->fid ? -1 : x->fid > y->fid;
}

static double point_weight(uint64_t fid)
{
    uint64_t h = fid * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 31;
    return (double)(h >> 11);
}

/* One layer of a tile: its features (weights kept for thinning) and encoded bytes. */
typedef struct {
    const cr_layer_def *d;
    int priority;
    weight *w;
    size_t n_w, w_cap;
    cr_strbuf bytes;
    int has_cut;
    weight cut; /* keep only features weighing at least this */
} layer_part;

/* The layer's features in the query box: fid, WKB (generalised at level, else the source),
 * county (when per_feature), then the attribute columns (cols: ", \"a\", \"b\""). With
 * selection, only the lines the level keeps (its own R*Tree, etl/generalise.c). */
static void select_sql(cr_strbuf *sql, const cr_layer_def *d, int level, int selection, int view,
                       int per_feature, const char *cols)
{
    cr_strbuf_clear(sql);
    if (selection) {
        cr_strbuf_printf(sql,
                         "SELECT c.fid, g.wkb, NULL%s FROM \"%s\" c CROSS JOIN \"%s_gen%d\" g"
                         " ON g.fid = c.fid WHERE c.fid IN (SELECT pkid FROM"
                         " \"idx_%s_gen%d\" WHERE xmin <= ?2 AND xmax >= ?1 AND ymin <= ?4 AND"
                         " ymax >= ?3) AND c.valid_to IS NULL ORDER BY c.fid",
                         cols ? cols : "", d->name, d->name, level, d->name, level);
        return;
    }
    /* the table itself (its current rows) unless view: the attributes are its own fields */
    cr_strbuf_printf(
        sql, "SELECT c.fid, %s, %s%s FROM \"%s%s\" c",
        level >= 0 ? "coalesce(g.wkb, AsBinary(c.geom))" : "c.geom", /* SpatiaLite's BLOB */
        per_feature ? "c.county_code" : "NULL", cols ? cols : "", d->name, view ? "_current" : "");
    if (level >= 0) {
        /* a feature imported since the last generalisation shows as it is */
        cr_strbuf_printf(sql, " LEFT JOIN \"%s_gen%d\" g ON g.fid = c.fid", d->name, level);
    }
    cr_strbuf_printf(sql,
                     " WHERE c.fid IN (SELECT pkid FROM \"idx_%s_geom\""
                     " WHERE xmin <= ?2 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?3)"
                     "%s ORDER BY c.fid",
                     d->name, view ? "" : " AND c.valid_to IS NULL");
}

/* The GEOS messages of this thread's tile context (a feature GEOS fails on is left out of the
 * tile, with a warning). */
static _Thread_local cr_geos_messages tile_geos_msgs;

/* What one layer shows in this tile, decided before any row is read. */
typedef struct {
    const cr_layer_def *d;
    const json_t *ts;      /* the layer's tile settings */
    cr_mvt_geom_type type; /* the MVT geometry of the layer */
    int level;             /* the generalised level read (etl/generalise.c), or -1: the source */
    double simplify;       /* tolerance in pixels of a 256-pixel tile; 0: none */
    uint32_t extent;
    int buffer;
    int opened;      /* the client may see the layer's restricted data ... */
    int per_feature; /* ... in the jurisdictions it opens, feature by feature */
    int cols[64];    /* attributes: a field index, or -1 for an accumulated total (acc_name) */
    const char *acc_name[64];
    size_t n_cols;
    /* read from the layer's tile rows (store/tile_rows.h): each attribute's place among rec's
     * fields (cols >= 0) or among the values looked up per row (cols < 0) */
    int tile_rows;
    int ord[64];
    size_t n_rec, n_live;
} layer_plan;

/* Layers generalised ahead of time: the smallest level at or above z, or -1. Polygons read
 * from a level are not simplified again (shared boundaries must stay shared); lines are,
 * harmlessly. */
static void plan_level(layer_plan *p, int z)
{
    p->simplify = json_number_value(json_object_get(p->ts, "simplify_px"));
    p->level = -1;
    const json_t *levels = json_object_get(p->ts, "generalise");
    if (json_array_size(levels) == 0) {
        return;
    }
    p->simplify = p->d->geom == CR_GEOM_MULTIPOLYGON ? 0 : p->simplify;
    size_t li;
    json_t *lv;
    json_array_foreach(levels, li, lv)
    {
        int lz = (int)json_integer_value(lv);
        p->level = lz >= z && (p->level < 0 || lz < p->level) ? lz : p->level;
    }
}

/* The attributes: the listed ones that exist and the client may see, in listed order; their
 * select-list terms into cols_sql. */
static void plan_columns(cr_store *store, layer_plan *p, cr_strbuf *cols_sql, cr_strbuf *live_sql)
{
    const cr_layer_def *d = p->d;
    int rec_fields[CR_TILE_ROWS_MAX_FIELDS];
    p->n_rec = cr_tile_rows_fields(d, rec_fields, CR_TILE_ROWS_MAX_FIELDS);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(p->ts, "attributes"), i, a)
    {
        const char *an = json_string_value(a);
        if (an && strncmp(an, "accumulated.", 12) == 0 && p->n_cols < 64) {
            /* a total of crossriver accumulate (names are checked by the layer definition) */
            p->acc_name[p->n_cols] = an;
            p->ord[p->n_cols] = (int)p->n_live++;
            p->cols[p->n_cols++] = -1;
            size_t at = cols_sql->len;
            if (!cr_store_has_accumulations(store)) {
                cr_strbuf_puts(cols_sql, ", NULL"); /* none computed: no lookup per reach */
            } else {
                cr_strbuf_printf(cols_sql,
                                 ", (SELECT value FROM reach_accumulations WHERE field = '%s' AND"
                                 " reach_fid = c.fid)",
                                 an + 12);
            }
            cr_strbuf_puts(live_sql, cols_sql->data + at);
            continue;
        }
        if (an && strncmp(an, "status.", 7) == 0 && p->n_cols < 64) {
            /* a status another stage keeps per feature (names checked by the definition) */
            p->acc_name[p->n_cols] = an + 7;
            p->ord[p->n_cols] = (int)p->n_live++;
            p->cols[p->n_cols++] = -2;
            size_t at = cols_sql->len;
            cr_strbuf_printf(cols_sql,
                             ", (SELECT value FROM feature_status WHERE layer = '%s' AND"
                             " source_id = c.source_id AND key = '%s')",
                             d->name, an + 7);
            cr_strbuf_puts(live_sql, cols_sql->data + at);
            continue;
        }
        int fi = cr_layer_def_field_index(d, an);
        if (fi < 0 || p->n_cols == 64 || (d->fields[fi].restricted && !p->opened)) {
            continue;
        }
        p->ord[p->n_cols] = 0;
        for (size_t k = p->n_rec; k-- > 0;) {
            p->ord[p->n_cols] = rec_fields[k] == fi ? (int)k : p->ord[p->n_cols];
        }
        p->cols[p->n_cols++] = fi;
        cr_strbuf_printf(cols_sql, ", c.\"%s\"", d->fields[fi].name);
    }
}

/* The statements of a read by runs (cached with the connection): range_sql (the rows of a
 * range of ids, ?1 and ?2) and the ids in the tile's box (?1–?4) from the R*Tree
 * idx_<layer>_<index>. 0 when either cannot be made (both then NULL; SQLite's message stays). */
static int runs_statements(cr_store *store, const char *range_sql, const char *layer,
                           const char *index, sqlite3_stmt **range, sqlite3_stmt **box)
{
    char *box_sql = sqlite3_mprintf("SELECT pkid FROM \"idx_%w_%w\" WHERE xmin <= ?2 AND"
                                    " xmax >= ?1 AND ymin <= ?4 AND ymax >= ?3",
                                    layer, index);
    *range = cr_store_cached(store, range_sql);
    *box = *range ? cr_store_cached(store, box_sql) : NULL;
    sqlite3_free(box_sql);
    *range = *box ? *range : NULL;
    return *box != NULL;
}

/* The layer's query (cached with the connection), bound to the tile plus its buffer in
 * degrees. A level that was never generalised (a store from before, or generalisation never
 * ran) falls back to the source geometry, simplified per tile. When the rows are the source
 * table's own, *box_out also gets the R*Tree's query (bound) and *range_out the rows of a
 * range of fids (?1, ?2), for runs_rows; otherwise both are NULL. */
static cr_status layer_query(cr_store *store, layer_plan *p, const cr_tile_request *req,
                             sqlite3_stmt **out, sqlite3_stmt **box_out, sqlite3_stmt **range_out,
                             cr_error *err)
{
    const cr_layer_def *d = p->d;
    sqlite3 *db = cr_store_db(store);
    cr_strbuf cols_sql = {0}, live_sql = {0}, sql = {0};
    plan_columns(store, p, &cols_sql, &live_sql);
    /* the _current view when the client's access needs each feature's county (a derived
     * column) or the store shows a past time (the view then holds that time's versions) */
    int view = p->per_feature || cr_store_reads_as_of(store);
    sqlite3_stmt *st = NULL, *box = NULL, *range = NULL;
    cr_status rc = CR_OK;
    if (p->level < 0 && !view && cr_tile_rows_wanted(d) && cr_store_tile_rows_fresh(store, d)) {
        /* the layer's tile rows, by runs of tids (tile_rows_read) */
        cr_strbuf_printf(&sql,
                         "SELECT c.fid, c.rec, NULL%s FROM \"%s_tile_rows\" c WHERE c.tid"
                         " BETWEEN ?1 AND ?2",
                         live_sql.data ? live_sql.data : "", d->name);
        if (runs_statements(store, sql.data, d->name, "tile_rows", &range, &box)) {
            p->tile_rows = 1;
        } else if (strstr(sqlite3_errmsg(db), "no such table") == NULL) {
            rc = cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
        }
        cr_strbuf_clear(&sql);
    }
    if (!p->tile_rows && rc == CR_OK && p->level >= 0) {
        /* the level's own selection of lines, unless the rows are a view's (the selection
         * holds current features only) */
        int selection =
            !view && d->geom == CR_GEOM_LINESTRING && cr_store_layer_overview(store, d, p->level);
        select_sql(&sql, d, p->level, selection, view, p->per_feature, cols_sql.data);
        if ((st = cr_store_cached(store, sql.data)) == NULL) {
            if (strstr(sqlite3_errmsg(db), "no such table") == NULL) {
                rc = cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
            }
            p->simplify = json_number_value(json_object_get(p->ts, "simplify_px"));
            p->level = -1;
        }
    }
    if (rc == CR_OK && !p->tile_rows && p->level < 0) {
        select_sql(&sql, d, -1, 0, view, p->per_feature, cols_sql.data);
    }
    if (rc == CR_OK && !p->tile_rows && st == NULL &&
        (st = cr_store_cached(store, sql.data)) == NULL) {
        rc = cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
    }
    /* the source table's rows by runs (runs_rows) where tiles hold many of them; from zoom 13
     * they hold a few dozen, which one query reads faster than runs */
    if (rc == CR_OK && !p->tile_rows && p->level < 0 && !view && req->z <= RUNS_MAX_ZOOM) {
        cr_strbuf_clear(&sql);
        cr_strbuf_printf(&sql,
                         "SELECT c.fid, c.geom, NULL%s FROM \"%s\" c WHERE c.fid BETWEEN ?1 AND"
                         " ?2 AND c.valid_to IS NULL ORDER BY c.fid",
                         cols_sql.data ? cols_sql.data : "", d->name);
        if (!runs_statements(store, sql.data, d->name, "geom", &range, &box)) {
            rc = cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(db));
        }
    }
    cr_strbuf_cleanup(&cols_sql);
    cr_strbuf_cleanup(&live_sql);
    cr_strbuf_cleanup(&sql);
    if (rc != CR_OK) {
        return rc;
    }
    double f = (double)p->buffer / p->extent;
    double b[4] = {tile_lon(req->x - f, req->z), tile_lon(req->x + 1 + f, req->z),
                   tile_lat(req->y + 1 + f, req->z), tile_lat(req->y - f, req->z)};
    for (int k = 0; k < 4; k++) {
        if (st) {
            sqlite3_bind_double(st, k + 1, b[k]);
        }
        if (box) {
            sqlite3_bind_double(box, k + 1, b[k]);
        }
    }
    *out = st;
    *box_out = box;
    *range_out = range;
    return CR_OK;
}

/* A tile's fids in order: an LSD radix sort, 8 bits a pass, over the bytes they use. */
static void sort_fids(int64_t *v, size_t n, int64_t **tmp, size_t *tmp_cap)
{
    uint64_t top = 0;
    for (size_t i = 0; i < n; i++) {
        top |= (uint64_t)v[i];
    }
    grow_to((void **)tmp, tmp_cap, n, sizeof **tmp);
    int64_t *a = v, *b = *tmp;
    for (int shift = 0; shift < 64 && (top >> shift) != 0; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) {
            count[(((uint64_t)a[i] >> shift) & 0xff) + 1]++;
        }
        for (int k = 1; k <= 256; k++) {
            count[k] += count[k - 1];
        }
        for (size_t i = 0; i < n; i++) {
            b[count[((uint64_t)a[i] >> shift) & 0xff]++] = a[i];
        }
        int64_t *t = a;
        a = b;
        b = t;
    }
    if (a != v) {
        memcpy(v, a, n * sizeof *v);
    }
}

/* A tile row copied aside: its fid, and where its rec, its looked-up values and its end lie. */
typedef struct {
    int64_t fid;
    size_t off, live, end;
} tile_row_at;

/* The reading state of one layer in one tile: the fast WKB reader, and GEOS only when a feature
 * needs it. */
typedef struct {
    GEOSContextHandle_t *hp; /* the render's GEOS context, made on first need */
    GEOSWKBReader *reader;
    sqlite3 *db;
    sqlite3_stmt *as_wkb; /* SpatiaLite BLOB → WKB, for BLOBs the fast reader does not know */
    fast_ctx fc;
    to_tile tt;
    double pre[4]; /* the tile a quarter wider each way, in degrees */
    int raw_blob;  /* rows hold SpatiaLite BLOBs (the source), not WKB (a level): see select_sql */
    int32_t *buf;
    size_t cap;
    int64_t *fids, *fids_tmp; /* the tile's fids, read by runs */
    size_t fids_cap, fids_tmp_cap;
    cr_strbuf rows;  /* tile rows copied aside (tile_rows_read) */
    tile_row_at *at; /* where each lies in rows */
    size_t at_cap;
} layer_reader;

/* A geometry the fast path cannot take, through GEOS: into tile coordinates, clipped to the
 * tile plus its buffer, simplified. *size gets its weight (area, length) when there is one.
 * NULL when nothing of it is left; else the caller destroys it. */
/* g (polygons in tile units) on the tile's integer grid and valid, or NULL when GEOS cannot
 * make it so. The grid can make a valid polygon self-intersect (two edges a pixel apart rounded
 * onto each other), and clipping or simplifying can leave a hole outside its shell: round; where
 * that is not valid, repair (GEOSMakeValid) and snap-round (GEOS's precision reducer keeps the
 * topology), so every polygon is valid as sent. */
static GEOSGeometry *on_grid_valid(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    GEOSGeometry *grid = GEOSGeom_setPrecision_r(h, g, 1.0, GEOS_PREC_NO_TOPO);
    if (grid && GEOSisValid_r(h, grid) == 1) {
        return grid;
    }
    GEOSGeom_destroy_r(h, grid);
    GEOSGeometry *fixed = GEOSisValid_r(h, g) == 1 ? NULL : GEOSMakeValid_r(h, g);
    for (int attempt = 0; attempt < 3; attempt++) {
        grid = GEOSGeom_setPrecision_r(h, fixed ? fixed : g, 1.0, 0);
        if (grid && GEOSisValid_r(h, grid) == 1) {
            GEOSGeom_destroy_r(h, fixed);
            return grid;
        }
        /* repair what the reducer left (or what it could not take) and reduce again */
        GEOSGeometry *again = GEOSMakeValid_r(h, grid ? grid : fixed ? fixed : g);
        GEOSGeom_destroy_r(h, grid);
        GEOSGeom_destroy_r(h, fixed);
        fixed = again;
        if (fixed == NULL) {
            return NULL;
        }
    }
    GEOSGeom_destroy_r(h, fixed);
    return NULL;
}

static GEOSGeometry *slow_geometry(layer_reader *r, const layer_plan *p, const unsigned char *blob,
                                   size_t blob_len, double *size)
{
    int cut =
        r->raw_blob && p->type == CR_MVT_POLYGON && polygon_near(&r->fc, blob, blob_len, r->pre);
    if (cut) {
        blob = (const unsigned char *)r->fc.wkb.data; /* only what is near the tile */
        blob_len = r->fc.wkb.len;
    } else if (r->raw_blob) {
        if (r->as_wkb == NULL) {
            sqlite3_prepare_v2(r->db, "SELECT AsBinary(?)", -1, &r->as_wkb, NULL);
        }
        sqlite3_reset(r->as_wkb);
        sqlite3_bind_blob(r->as_wkb, 1, blob, (int)blob_len, SQLITE_STATIC);
        blob = r->as_wkb && sqlite3_step(r->as_wkb) == SQLITE_ROW
                   ? sqlite3_column_blob(r->as_wkb, 0)
                   : NULL;
        blob_len = blob ? (size_t)sqlite3_column_bytes(r->as_wkb, 0) : 0;
    }
    if (blob == NULL) {
        return NULL;
    }
    if (*r->hp == NULL) {
        *r->hp = cr_geos_init(&tile_geos_msgs, "tiler", CR_LOG_WARN);
    }
    GEOSContextHandle_t h = *r->hp;
    if (r->reader == NULL) {
        r->reader = GEOSWKBReader_create_r(h);
    }
    GEOSGeometry *g = GEOSWKBReader_read_r(h, r->reader, blob, blob_len);
    /* a county has thousands of vertices, a tile sees a few: cut in degrees first (a quarter
     * tile wider, so the exact cut below is what shapes the tile) and project only what is left */
    GEOSGeometry *near = g && p->type != CR_MVT_POINT && !cut
                             ? GEOSClipByRect_r(h, g, r->pre[0], r->pre[1], r->pre[2], r->pre[3])
                             : NULL;
    if (near) {
        GEOSGeom_destroy_r(h, g);
        g = near;
    }
    GEOSGeometry *tg = g ? GEOSGeom_transformXY_r(h, g, lonlat_to_tile, &r->tt) : NULL;
    GEOSGeom_destroy_r(h, g);
    double hi = (double)p->extent + p->buffer;
    GEOSGeometry *shown = tg ? GEOSClipByRect_r(h, tg, -p->buffer, -p->buffer, hi, hi) : NULL;
    GEOSGeom_destroy_r(h, tg);
    if (shown && p->simplify > 0 && p->type != CR_MVT_POINT) {
        GEOSGeometry *simple =
            GEOSTopologyPreserveSimplify_r(h, shown, p->simplify * p->extent / 256.0);
        if (simple) {
            GEOSGeom_destroy_r(h, shown);
            shown = simple;
        }
    }
    if (shown && p->type == CR_MVT_POLYGON) {
        GEOSGeometry *grid = on_grid_valid(h, shown);
        GEOSGeom_destroy_r(h, shown);
        shown = grid; /* NULL (not sent) when GEOS cannot make it valid on the grid */
        if (shown) {
            GEOSArea_r(h, shown, size);
        }
    } else if (shown && p->type == CR_MVT_LINESTRING) {
        GEOSLength_r(h, shown, size);
    }
    return shown;
}

/* One row to draw: from the query's columns (st: fid, geometry, county, then the plan's
 * attributes), or from a tile row (st NULL: the values rec and the lookups hold). */
typedef struct {
    int64_t fid;
    const unsigned char *blob;
    size_t blob_len;
    const char *county;
    sqlite3_stmt *st;
    const cr_tile_value *rec, *live;
} row_in;

static row_in row_of_stmt(sqlite3_stmt *st)
{
    return (row_in){.fid = sqlite3_column_int64(st, 0),
                    .blob = sqlite3_column_blob(st, 1),
                    .blob_len = (size_t)sqlite3_column_bytes(st, 1),
                    .county = (const char *)sqlite3_column_text(st, 2),
                    .st = st};
}

/* Attribute c of the row: its type (SQLite's) and, as write_attributes reads it, its value. */
static cr_tile_value row_value(const row_in *row, const layer_plan *p, size_t c)
{
    if (row->st == NULL) {
        return p->cols[c] >= 0 ? row->rec[p->ord[c]] : row->live[p->ord[c]];
    }
    int col = (int)c + 3;
    cr_tile_value v = {.type = sqlite3_column_type(row->st, col)};
    if (v.type == SQLITE_NULL) {
        return v;
    }
    if (p->cols[c] == -1 || v.type == SQLITE_FLOAT) {
        v.type = p->cols[c] == -1 ? SQLITE_FLOAT : v.type;
        v.d = sqlite3_column_double(row->st, col);
    } else if (p->cols[c] == -2 || v.type == SQLITE_TEXT) {
        v.type = p->cols[c] == -2 ? SQLITE_TEXT : v.type;
        v.s = (const char *)sqlite3_column_text(row->st, col);
    } else if (v.type == SQLITE_INTEGER) {
        v.i = sqlite3_column_int64(row->st, col);
    }
    return v;
}

/* The row's attributes on the current feature (MVT has no null: NULL columns are left out);
 * 1 when restricted data was written. */
static int write_attributes(cr_mvt_layer *l, const row_in *row, const layer_plan *p, int open_here)
{
    int restricted_here = 0;
    for (size_t c = 0; c < p->n_cols; c++) {
        cr_tile_value v = row_value(row, p, c);
        if (p->cols[c] == -2) {
            if (v.type != SQLITE_NULL) {
                cr_mvt_attr_string(l, p->acc_name[c], v.s);
            }
            continue;
        }
        if (p->cols[c] < 0) {
            if (v.type != SQLITE_NULL) {
                cr_mvt_attr_double(l, p->acc_name[c], v.d);
            }
            continue;
        }
        const cr_field_def *fd = &p->d->fields[p->cols[c]];
        if (fd->restricted && !open_here) {
            continue;
        }
        restricted_here |= fd->restricted && v.type != SQLITE_NULL;
        if (v.type == SQLITE_INTEGER && fd->type == CR_FT_BOOLEAN) {
            cr_mvt_attr_bool(l, fd->name, v.i != 0);
        } else if (v.type == SQLITE_INTEGER) {
            cr_mvt_attr_int(l, fd->name, v.i);
        } else if (v.type == SQLITE_FLOAT) {
            cr_mvt_attr_double(l, fd->name, v.d);
        } else if (v.type == SQLITE_TEXT) {
            cr_mvt_attr_string(l, fd->name, v.s);
        }
    }
    return restricted_here;
}

/* One row into the layer: its geometry (fast path, else GEOS), kept or left out by the cut of
 * the layer's drop order, its attributes; the stats. */
static void render_row(layer_reader *r, const layer_plan *p, const row_in *row, cr_mvt_layer *l,
                       layer_part *part, const cr_tile_request *req, cr_tile_stats *stats)
{
    const cr_layer_def *d = p->d;
    int open_here = p->opened && (!p->per_feature || cr_access_code(req->access, row->county));
    if (d->restricted && !open_here) {
        return;
    }
    uint64_t fid = (uint64_t)row->fid;
    const unsigned char *blob = row->blob;
    size_t blob_len = row->blob_len;
    cr_mvt_feature_begin(l, p->type, 1, fid);
    weight fw = {blob ? point_weight(fid) : 0, fid};
    int fast =
        blob && p->type != CR_MVT_POLYGON &&
        (r->raw_blob ? fast_geometry(&r->fc, blob, blob_len) : fast_wkb(&r->fc, blob, blob_len));
    GEOSGeometry *shown = NULL;
    if (fast) {
        fw.size = p->type == CR_MVT_LINESTRING ? r->fc.length : fw.size;
    } else if (blob) {
        shown = slow_geometry(r, p, blob, blob_len, &fw.size);
    }
    int keep = !part->has_cut || weight_cmp(&fw, &part->cut) >= 0;
    if (shown && keep) {
        add_geometry(*r->hp, l, p->type, shown, &r->buf, &r->cap);
    }
    if (!keep) {
        cr_mvt_feature_discard(l);
    }
    int restricted_here = keep && write_attributes(l, row, p, open_here);
    if (cr_mvt_feature_end(l)) {
        stats->features++;
        stats->restricted += restricted_here || d->restricted;
        if (!part->has_cut) {
            grow_to((void **)&part->w, &part->w_cap, part->n_w + 1, sizeof *part->w);
            part->w[part->n_w++] = fw;
        }
    } else if (!keep) {
        stats->capped++;
    } else {
        stats->dropped++;
    }
    if (shown) {
        GEOSGeom_destroy_r(*r->hp, shown);
    }
}

static int by_fid(const void *a, const void *b)
{
    int64_t x = ((const tile_row_at *)a)->fid, y = ((const tile_row_at *)b)->fid;
    return (x > y) - (x < y);
}

/* The run of consecutive ids in v[0..n) from i bound to st's ?1 and ?2; returns where the run
 * ends. */
static size_t bind_run(sqlite3_stmt *st, const int64_t *v, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && v[j] == v[j - 1] + 1) {
        j++;
    }
    sqlite3_bind_int64(st, 1, v[i]);
    sqlite3_bind_int64(st, 2, v[j - 1]);
    return j;
}

/* The tids of the tile's box (R*Tree box), sorted, into r->fids; SQLite's last step result. */
static int box_ids(layer_reader *r, sqlite3_stmt *box, size_t *n_out)
{
    size_t n = 0;
    int rc_step;
    while ((rc_step = sqlite3_step(box)) == SQLITE_ROW) {
        grow_to((void **)&r->fids, &r->fids_cap, n + 1, sizeof *r->fids);
        r->fids[n++] = sqlite3_column_int64(box, 0);
    }
    sqlite3_reset(box);
    sort_fids(r->fids, n, &r->fids_tmp, &r->fids_tmp_cap);
    *n_out = n;
    return rc_step;
}

/* The tile's rows from the layer's tile rows: the R*Tree's tids sorted, each run of them read
 * by one range scan (the tids follow the R*Tree's leaves, so a tile holds a few runs whatever
 * order the layer came in), each row (fid, rec, then the values looked up per row) copied
 * aside, then drawn in fid order as every other read draws them. Returns SQLite's last step
 * result, or SQLITE_CORRUPT for a rec that does not read. */
static int tile_rows_read(layer_reader *r, const layer_plan *p, sqlite3_stmt *range,
                          sqlite3_stmt *box, cr_mvt_layer *l, layer_part *part,
                          const cr_tile_request *req, cr_tile_stats *stats)
{
    size_t n = 0;
    int rc_step = box_ids(r, box, &n);
    if (rc_step != SQLITE_DONE) {
        return rc_step;
    }
    cr_strbuf_clear(&r->rows);
    int live_as[64] = {0}; /* as write_attributes reads them: totals as reals, statuses as text */
    for (size_t c = 0; c < p->n_cols; c++) {
        if (p->cols[c] < 0) {
            live_as[p->ord[c]] = p->cols[c] == -1 ? SQLITE_FLOAT : SQLITE_TEXT;
        }
    }
    size_t m = 0;
    int64_t top = 0, low = 0;
    for (size_t i = 0, j; i < n; i = j) {
        j = bind_run(range, r->fids, n, i);
        while ((rc_step = sqlite3_step(range)) == SQLITE_ROW) {
            grow_to((void **)&r->at, &r->at_cap, m + 1, sizeof *r->at);
            int64_t fid = sqlite3_column_int64(range, 0);
            top = fid > top ? fid : top;
            low = fid < low ? fid : low;
            r->at[m].fid = fid;
            r->at[m].off = r->rows.len;
            cr_strbuf_append(&r->rows, sqlite3_column_blob(range, 1),
                             (size_t)sqlite3_column_bytes(range, 1));
            r->at[m].live = r->rows.len;
            for (size_t k = 0; k < p->n_live; k++) {
                cr_tile_value_put_as(&r->rows, range, 3 + (int)k, live_as[k]);
            }
            r->at[m].end = r->rows.len;
            m++;
        }
        sqlite3_reset(range);
        if (rc_step != SQLITE_DONE) {
            return rc_step;
        }
    }
    /* fid order: fid and position as one key for the radix sort while both fit (43 + 20
     * bits), else the rows themselves by qsort */
    int packed = low >= 0 && top < ((int64_t)1 << 43) && m < ((size_t)1 << 20);
    if (packed) {
        grow_to((void **)&r->fids, &r->fids_cap, m + 1, sizeof *r->fids);
        for (size_t k = 0; k < m; k++) {
            r->fids[k] = (r->at[k].fid << 20) | (int64_t)k;
        }
        sort_fids(r->fids, m, &r->fids_tmp, &r->fids_tmp_cap);
    } else {
        qsort(r->at, m, sizeof *r->at, by_fid);
    }
    cr_tile_value rec[CR_TILE_ROWS_MAX_FIELDS], live[64];
    for (size_t k = 0; k < m; k++) {
        const tile_row_at *a = &r->at[packed ? (size_t)(r->fids[k] & 0xfffff) : k];
        const unsigned char *p0 = (const unsigned char *)r->rows.data + a->off;
        const unsigned char *rec_end = (const unsigned char *)r->rows.data + a->live;
        const unsigned char *end = (const unsigned char *)r->rows.data + a->end;
        uint32_t glen = 0;
        if (rec_end - p0 < 4 || (memcpy(&glen, p0, 4), (size_t)(rec_end - p0 - 4) < glen)) {
            return SQLITE_CORRUPT;
        }
        row_in row = {.fid = a->fid, .blob = p0 + 4, .blob_len = glen, .rec = rec, .live = live};
        const unsigned char *q = p0 + 4 + glen;
        for (size_t f = 0; f < p->n_rec && q; f++) {
            q = cr_tile_value_get(q, rec_end, &rec[f]);
        }
        q = q == rec_end ? q : NULL; /* rec holds the fields and nothing else */
        for (size_t f = 0; f < p->n_live && q; f++) {
            q = cr_tile_value_get(q, end, &live[f]);
        }
        if (q != end) {
            return SQLITE_CORRUPT;
        }
        render_row(r, p, &row, l, part, req, stats);
    }
    return SQLITE_DONE;
}

/* A layer whose rows were scattered in SCATTER_TRUST tiles running (a layer imported in no
 * order of place) is read by its one query without asking the R*Tree for runs first, which
 * is asked again every SCATTER_RETRY tiles (the layer may have been imported again). Either
 * way gives the same rows in the same order. */
#define SCATTER_TRUST 4
#define SCATTER_RETRY 32

/* The rows in the tile by runs of consecutive fids, when they come in runs: the R*Tree's fids
 * (box) sorted, then each run's rows by one range scan (st) — a row costs SQLite a seek in one
 * query over the R*Tree's list, a quarter of that in a scan, and a layer's features near each
 * other were mostly imported one after another. *done: 1 when the rows were read here (in fid
 * order, as the one query gives them), 0 when they are scattered (the caller's query reads
 * them). Returns SQLite's last step result. */
static int runs_rows(layer_reader *r, const layer_plan *p, sqlite3_stmt *st, sqlite3_stmt *box,
                     cr_mvt_layer *l, layer_part *part, const cr_tile_request *req,
                     cr_tile_stats *stats, int *done)
{
    size_t n = 0;
    int rc_step = box_ids(r, box, &n);
    if (rc_step != SQLITE_DONE) {
        return rc_step;
    }
    size_t runs = 0;
    for (size_t i = 0; i < n; i++) {
        runs += i == 0 || r->fids[i] != r->fids[i - 1] + 1;
    }
    if (runs * 2 > n) {
        return SQLITE_DONE; /* scattered: a seek each either way */
    }
    *done = 1;
    for (size_t i = 0, j; i < n; i = j) {
        j = bind_run(st, r->fids, n, i);
        while ((rc_step = sqlite3_step(st)) == SQLITE_ROW) {
            row_in row = row_of_stmt(st);
            render_row(r, p, &row, l, part, req, stats);
        }
        sqlite3_reset(st);
        if (rc_step != SQLITE_DONE) {
            return rc_step;
        }
    }
    return SQLITE_DONE;
}

/* One layer of the tile (part->d) into tile, keeping what part's cut keeps. */
static cr_status render_layer(cr_store *store, GEOSContextHandle_t *hp, const cr_tile_request *req,
                              cr_mvt_tile *tile, cr_tile_stats *stats, layer_part *part,
                              cr_error *err)
{
    const cr_layer_def *d = part->d;
    layer_plan p = {.d = d, .ts = cr_tile_settings(d)};
    int minz, maxz;
    cr_tile_zoom_range(p.ts, &minz, &maxz);
    if (req->z < minz || req->z > maxz) {
        return CR_OK;
    }
    plan_level(&p, req->z);
    p.extent = req->extent ? req->extent : 4096;
    p.buffer = req->buffer >= 0 ? req->buffer : 64;
    p.opened = cr_access_layer(req->access, d->name);
    p.per_feature = p.opened && !cr_access_all_codes(req->access);
    if (d->restricted && p.per_feature && !cr_layer_joins_points(d)) {
        return CR_OK; /* only point layers carry a jurisdiction per feature */
    }
    p.type = d->geom == CR_GEOM_POINT        ? CR_MVT_POINT
             : d->geom == CR_GEOM_LINESTRING ? CR_MVT_LINESTRING
                                             : CR_MVT_POLYGON;
    sqlite3_stmt *st, *box, *range;
    cr_status rc = layer_query(store, &p, req, &st, &box, &range, err);
    if (rc != CR_OK) {
        return rc;
    }
    layer_reader r = {
        .hp = hp,
        .db = cr_store_db(store),
        .pre = {tile_lon(req->x - 0.25, req->z), tile_lat(req->y + 1.25, req->z),
                tile_lon(req->x + 1.25, req->z), tile_lat(req->y - 0.25, req->z)},
        .raw_blob = p.level < 0,
    };
    series_init(&r.tt, req->z, req->x, req->y, p.extent);
    cr_mvt_layer *l = cr_mvt_layer_add(tile, d->name, p.extent);
    r.fc.tt = &r.tt;
    r.fc.lo = -p.buffer;
    r.fc.hi = (double)p.extent + p.buffer;
    r.fc.tol = p.simplify * p.extent / 256.0;
    r.fc.l = l;
    int by_runs = p.tile_rows, rc_step = SQLITE_DONE;
    int *scattered = cr_store_layer_tile_hint(store, d); /* tiles running found scattered */
    if (p.tile_rows) {
        rc_step = tile_rows_read(&r, &p, range, box, l, part, req, stats);
    } else if (box && (*scattered < SCATTER_TRUST ||
                       (*scattered - SCATTER_TRUST) % SCATTER_RETRY == SCATTER_RETRY - 1)) {
        rc_step = runs_rows(&r, &p, range, box, l, part, req, stats, &by_runs);
        *scattered = by_runs ? 0 : *scattered;
    }
    if (box && !by_runs) {
        *scattered =
            *scattered < SCATTER_TRUST + 1000 * SCATTER_RETRY ? *scattered + 1 : SCATTER_TRUST;
    }
    if (rc_step == SQLITE_DONE && !by_runs) {
        while ((rc_step = sqlite3_step(st)) == SQLITE_ROW) {
            row_in row = row_of_stmt(st);
            render_row(&r, &p, &row, l, part, req, stats);
        }
    }
    free(r.buf);
    free(r.fids);
    free(r.fids_tmp);
    free(r.at);
    cr_strbuf_cleanup(&r.rows);
    fast_free(&r.fc);
    sqlite3_finalize(r.as_wkb);
    if (r.reader) {
        GEOSWKBReader_destroy_r(*hp, r.reader);
    }
    if (st) {
        sqlite3_reset(st); /* cached with the connection */
    }
    if (rc_step != SQLITE_DONE) {
        return cr_error_set(err, CR_EIO, "tile layer %s: %s", d->name, sqlite3_errmsg(r.db));
    }
    stats->layers += cr_mvt_layer_feature_count(l) > 0;
    return CR_OK;
}

/* Render one layer into part->bytes (replacing what was there). */
static cr_status render_part(cr_store *store, GEOSContextHandle_t *hp, const cr_tile_request *req,
                             layer_part *part, cr_tile_stats *stats, cr_error *err)
{
    cr_mvt_tile *tile = cr_mvt_tile_new();
    cr_status rc = render_layer(store, hp, req, tile, stats, part, err);
    cr_strbuf_clear(&part->bytes);
    if (rc == CR_OK) {
        cr_mvt_tile_encode(tile, &part->bytes);
    }
    cr_mvt_tile_free(tile);
    return rc;
}

/* The features of a part above its cut (all of them before it has one). */
static size_t part_kept(const layer_part *p)
{
    if (!p->has_cut) {
        return p->n_w;
    }
    size_t kept = 0;
    for (size_t k = 0; k < p->n_w; k++) {
        kept += weight_cmp(&p->w[k], &p->cut) >= 0;
    }
    return kept;
}

/* Raise victim's cut to keep what should fit: the features over the feature cap go, and the
 * layer's bytes shrink by the excess (estimated per feature, 5 % spare); at least one goes.
 * Returns how many went. */
static size_t thin(layer_part *victim, size_t bytes, size_t features, size_t max_bytes,
                   size_t max_features)
{
    if (!victim->has_cut) {
        qsort(victim->w, victim->n_w, sizeof *victim->w, weight_cmp);
    }
    size_t kept = 0; /* sorted: the kept ones are the tail from the cut */
    while (kept < victim->n_w && (!victim->has_cut || weight_cmp(&victim->w[victim->n_w - 1 - kept],
                                                                 &victim->cut) >= 0)) {
        kept++;
    }
    size_t keep = kept;
    if (features > max_features) {
        keep = features - max_features >= keep ? 0 : keep - (features - max_features);
    }
    if (bytes > max_bytes && victim->bytes.len > 0) {
        double share = 1.0 - (double)(bytes - max_bytes) / (double)victim->bytes.len;
        size_t by_bytes = share <= 0 ? 0 : (size_t)((double)kept * share * 0.95);
        keep = by_bytes < keep ? by_bytes : keep;
    }
    keep = keep >= kept ? kept - 1 : keep;
    if (keep == 0) { /* nothing left of it: a cut above every feature */
        victim->cut = victim->w[victim->n_w - 1];
        victim->cut.fid++;
    } else {
        victim->cut = victim->w[victim->n_w - keep];
    }
    victim->has_cut = 1;
    return kept - keep;
}

/* Over the caps: thin the layer first in the drop order (lowest drop_priority, then name) to
 * what should fit — smallest polygons and shortest lines first, points evenly — and only when
 * nothing of it is left the next layer, until the tile fits. */
static cr_status fit_caps(cr_store *store, GEOSContextHandle_t *hp, const cr_tile_request *req,
                          layer_part *parts, size_t n, cr_tile_stats *stats, cr_error *err)
{
    size_t max_bytes = req->max_bytes ? req->max_bytes : CR_TILE_MAX_BYTES;
    size_t max_features = req->max_features ? req->max_features : CR_TILE_MAX_FEATURES;
    cr_status rc = CR_OK;
    for (int round = 0; rc == CR_OK && round < 4096; round++) {
        size_t bytes = 0, features = 0;
        layer_part *victim = NULL;
        for (size_t i = 0; i < n; i++) {
            size_t kept = part_kept(&parts[i]);
            bytes += parts[i].bytes.len;
            features += kept;
            if (kept > 0 && (victim == NULL || parts[i].priority < victim->priority)) {
                victim = &parts[i];
            }
        }
        if ((bytes <= max_bytes && features <= max_features) || victim == NULL) {
            break;
        }
        size_t gone = thin(victim, bytes, features, max_bytes, max_features);
        cr_tile_stats scratch = {0};
        rc = render_part(store, hp, req, victim, &scratch, err);
        stats->capped += gone;
    }
    return rc;
}

cr_status cr_tile_render(cr_store *store, const cr_tile_request *req, cr_strbuf *out,
                         cr_tile_stats *stats, cr_error *err)
{
    memset(stats, 0, sizeof *stats);
    if (!cr_tile_valid(req->z, req->x, req->y)) {
        return cr_error_set(err, CR_EINVAL, "no tile %d/%d/%d (z 0–%d, x and y below 2^z)", req->z,
                            req->x, req->y, CR_TILE_MAX_ZOOM);
    }
    const cr_layer_set *set = cr_store_layers(store);
    if (req->layers && check_list(set, req->layers, req->access, err) != CR_OK) {
        return err->code;
    }
    GEOSContextHandle_t h = NULL; /* made by the first feature that needs GEOS */
    layer_part *parts = cr_xcalloc(set->n_layers + 1, sizeof *parts);
    size_t n = 0;
    cr_status rc = CR_OK;
    int reading = cr_store_read_begin(store); /* every layer of the tile from one snapshot */
    for (size_t i = 0; i < set->n_layers && rc == CR_OK; i++) {
        const cr_layer_def *d = set->layers[i];
        int minz, maxz;
        if (cr_tile_settings(d) == NULL ||
            (d->restricted && !cr_access_layer(req->access, d->name)) ||
            (req->layers && !in_list(req->layers, d->name)) ||
            (cr_tile_zoom_range(cr_tile_settings(d), &minz, &maxz), req->z < minz) ||
            req->z > maxz || !cr_store_layer_has_rows(store, d)) {
            continue; /* nothing of it in this tile (the bytes are the same either way) */
        }
        parts[n].d = d;
        parts[n].priority =
            (int)json_integer_value(json_object_get(cr_tile_settings(d), "drop_priority"));
        rc = render_part(store, &h, req, &parts[n++], stats, err);
    }
    if (rc == CR_OK) {
        rc = fit_caps(store, &h, req, parts, n, stats, err);
    }
    if (rc == CR_OK) {
        stats->features = 0;
        for (size_t i = 0; i < n; i++) {
            cr_strbuf_append(out, parts[i].bytes.data ? parts[i].bytes.data : "",
                             parts[i].bytes.len);
            stats->features += part_kept(&parts[i]);
        }
    }
    cr_store_read_end(store, reading);
    for (size_t i = 0; i < n; i++) {
        free(parts[i].w);
        cr_strbuf_cleanup(&parts[i].bytes);
    }
    free(parts);
    if (h) {
        GEOS_finish_r(h);
    }
    return rc;
}

int cr_tile_gzip(const char *in, size_t n, char **out, size_t *out_len)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return 0;
    }
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    *out = cr_xmalloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)*out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(*out);
        *out = NULL;
        return 0;
    }
    return 1;
}
