/* SPDX-License-Identifier: MIT */
/* Geodesy and the segment grid index. The index keeps one vertex array for all lines and
 * buckets segments (by their first vertex's global index) into a dense grid whose cell size
 * follows the data, so a nearest query touches a handful of cells. */
#include "geo.h"

#include <geodesic.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const double WGS84_A = 6378137.0;
static const double WGS84_F = 1.0 / 298.257223563;

static struct geod_geodesic g_geod;
static pthread_once_t g_geod_once = PTHREAD_ONCE_INIT;

static void init_geod(void)
{
    geod_init(&g_geod, WGS84_A, WGS84_F);
}

double cr_geodesic_m(double lon1, double lat1, double lon2, double lat2)
{
    pthread_once(&g_geod_once, init_geod);
    double s12 = 0;
    geod_inverse(&g_geod, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
    return s12;
}

void cr_local_init(cr_local *f, double lon0, double lat0)
{
    double e2 = WGS84_F * (2 - WGS84_F);
    double s = sin(lat0 * M_PI / 180.0);
    double w = sqrt(1 - e2 * s * s);
    double n = WGS84_A / w;                      /* prime vertical radius */
    double m = WGS84_A * (1 - e2) / (w * w * w); /* meridional radius */
    f->lon0 = lon0;
    f->lat0 = lat0;
    f->kx = n * cos(lat0 * M_PI / 180.0) * M_PI / 180.0;
    f->ky = m * M_PI / 180.0;
}

static double segment_m(double lon1, double lat1, double lon2, double lat2)
{
    cr_local f;
    cr_local_init(&f, (lon1 + lon2) / 2, (lat1 + lat2) / 2);
    /* not hypot (a libm call guarding against overflow that metres on Earth never reach) */
    double x = (lon2 - lon1) * f.kx, y = (lat2 - lat1) * f.ky;
    return sqrt(x * x + y * y);
}

/* Below this, the local frame is within 5 µm of the geodesic (worst case, up to 60° of latitude).
 */
#define LOCAL_FRAME_MAX_M 1000.0

/* The distance given an estimate of it (planar, to a ten-thousandth): the local frame's when
 * short, else the geodesic. */
static double distance_near(double estimate_m, double lon1, double lat1, double lon2, double lat2)
{
    return estimate_m < LOCAL_FRAME_MAX_M ? segment_m(lon1, lat1, lon2, lat2)
                                          : cr_geodesic_m(lon1, lat1, lon2, lat2);
}

double cr_distance_m(double lon1, double lat1, double lon2, double lat2)
{
    double d = segment_m(lon1, lat1, lon2, lat2);
    return d < LOCAL_FRAME_MAX_M ? d : distance_near(d, lon1, lat1, lon2, lat2);
}

/* fmin and fmax, which the compiler calls in libm (NaN rules) on the index's per-vertex paths:
 * the same answers, NaN included (the other operand) */
static inline double min2(double a, double b)
{
    return a < b || b != b ? a : b;
}

static inline double max2(double a, double b)
{
    return a > b || b != b ? a : b;
}

/* GEOS's Distance::pointToSegment, term for term (the same rounding, so the same choices). */
static double point_segment_planar(const double *p, const double *a, const double *b)
{
    if (a[0] == b[0] && a[1] == b[1]) {
        return sqrt((p[0] - a[0]) * (p[0] - a[0]) + (p[1] - a[1]) * (p[1] - a[1]));
    }
    double len2 = (b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1]);
    double r = ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / len2;
    if (r <= 0.0) {
        return sqrt((a[0] - p[0]) * (a[0] - p[0]) + (a[1] - p[1]) * (a[1] - p[1]));
    }
    if (r >= 1.0) {
        return sqrt((b[0] - p[0]) * (b[0] - p[0]) + (b[1] - p[1]) * (b[1] - p[1]));
    }
    double s = ((a[1] - p[1]) * (b[0] - a[0]) - (a[0] - p[0]) * (b[1] - a[1])) / len2;
    return fabs(s) * sqrt(len2);
}

size_t cr_simplify_dp(const double *xy, size_t n, double tol, unsigned char *keep)
{
    if (n == 0) {
        return 0;
    }
    memset(keep, 1, n);
    /* the sections still to look at, as GEOS's recursion would visit them */
    size_t cap = 64;
    size_t top = 0;
    size_t *stack = cr_xmalloc(cap * 2 * sizeof *stack);
    stack[top++] = 0;
    stack[top++] = n - 1;
    while (top > 0) {
        size_t j = stack[--top];
        size_t i = stack[--top];
        if (i + 1 >= j) {
            continue;
        }
        double max_d = -1.0;
        size_t max_k = i;
        for (size_t k = i + 1; k < j; k++) {
            double d = point_segment_planar(xy + 2 * k, xy + 2 * i, xy + 2 * j);
            if (d > max_d) {
                max_d = d;
                max_k = k;
            }
        }
        if (max_d <= tol) {
            memset(keep + i + 1, 0, j - i - 1);
            continue;
        }
        if (top + 4 > cap * 2) {
            cap *= 2;
            stack = cr_xrealloc(stack, cap * 2 * sizeof *stack);
        }
        stack[top++] = max_k;
        stack[top++] = j;
        stack[top++] = i;
        stack[top++] = max_k;
    }
    free(stack);
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        kept += keep[k];
    }
    return kept;
}

double cr_polyline_length_m(const double *xy, size_t n)
{
    double len = 0;
    for (size_t i = 1; i < n; i++) {
        len += segment_m(xy[2 * i - 2], xy[2 * i - 1], xy[2 * i], xy[2 * i + 1]);
    }
    return len;
}

static uint32_t wkb_u32(const unsigned char *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static double wkb_f64(const unsigned char *p, int le)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = le ? p[i] : p[7 - i];
    }
    double v;
    memcpy(&v, b, 8);
    return v;
}

/* Grow *coords (pairs) to hold need pairs; capacities are powers of two, so appending n lines
 * costs O(total) copying rather than O(total²). */
static void reserve_pairs(double **coords, size_t have, size_t need)
{
    size_t cap = 1;
    while (cap < have) {
        cap <<= 1;
    }
    if (*coords != NULL && need <= cap) {
        return;
    }
    while (cap < need) {
        cap <<= 1;
    }
    *coords = cr_xrealloc(*coords, cap * 2 * sizeof **coords);
}

size_t cr_spatialite_append_linestring(const unsigned char *blob, size_t len, double **coords,
                                       size_t *n_coords)
{
    /* 0x00, endian, srid(4), mbr(32), 0x7C, class(4), npoints(4), points..., 0xFE */
    if (blob == NULL || len < 48 || blob[0] != 0x00 || blob[38] != 0x7C || blob[len - 1] != 0xFE) {
        return 0;
    }
    int le = blob[1] == 0x01;
    uint32_t type = wkb_u32(blob + 39, le);
    uint32_t n = wkb_u32(blob + 43, le);
    if (type != 2 || len != 48 + (size_t)n * 16) {
        return 0;
    }
    reserve_pairs(coords, *n_coords, *n_coords + n);
    double *out = *coords + 2 * *n_coords;
    if (le) {
        memcpy(out, blob + 47, (size_t)n * 16);
    } else {
        for (uint32_t i = 0; i < 2 * n; i++) {
            out[i] = wkb_f64(blob + 47 + 8 * i, le);
        }
    }
    *n_coords += n;
    return n;
}

int cr_spatialite_point(const unsigned char *blob, size_t len, double *x, double *y)
{
    /* 0x00, endian, srid(4), mbr(32), 0x7C, class(4), x(8), y(8), 0xFE */
    if (blob == NULL || len != 60 || blob[0] != 0x00 || blob[38] != 0x7C || blob[59] != 0xFE) {
        return 0;
    }
    int le = blob[1] == 0x01;
    if (wkb_u32(blob + 39, le) != 1) {
        return 0;
    }
    *x = wkb_f64(blob + 43, le);
    *y = wkb_f64(blob + 51, le);
    return 1;
}

size_t cr_wkb_append_linestring(const unsigned char *wkb, size_t len, double **coords,
                                size_t *n_coords)
{
    if (wkb == NULL || len < 9) {
        return 0;
    }
    int le = wkb[0] == 1;
    uint32_t type = wkb_u32(wkb + 1, le);
    uint32_t n = wkb_u32(wkb + 5, le);
    if (type != 2 || len < 9 + (size_t)n * 16) {
        return 0;
    }
    reserve_pairs(coords, *n_coords, *n_coords + n);
    double *out = *coords + 2 * *n_coords;
    for (uint32_t i = 0; i < n; i++) {
        out[2 * i] = wkb_f64(wkb + 9 + 16 * i, le);
        out[2 * i + 1] = wkb_f64(wkb + 17 + 16 * i, le);
    }
    *n_coords += n;
    return n;
}

/* ---- segment index ------------------------------------------------------------------- */

/* Lines of this many vertices or more keep their measures; shorter ones sum them when asked. */
#define LONG_LINE 16

struct cr_segindex {
    double *xy;   /* all vertices, lon,lat pairs (owned unless borrowed) */
    int borrowed; /* xy is the caller's (cr_segindex_add_borrowed) */
    /* measures of the long lines (LONG_LINE vertices or more): per vertex, the distance from
     * its line's first vertex, from cum_at[line]; a short line's are summed when asked */
    double *cum_m;
    int64_t *cum_at; /* per line: where its measures start, or -1 */
    size_t n_vertices;
    size_t cap_vertices;
    int32_t *line_start; /* per line: first vertex; line_start[n_lines] = n_vertices */
    int32_t *line_owner; /* per line */
    size_t n_lines;
    size_t cap_lines;
    int32_t *vertex_line; /* per vertex: its line */
    /* grid */
    double x0, y0;        /* south-west corner, degrees */
    double cell;          /* cell size, degrees */
    int nx, ny;           /* cells */
    uint32_t *cell_start; /* CSR offsets, nx*ny + 1 */
    uint32_t *cell_segs;  /* segment = global index of its first vertex */
    /* blocks of 2^L x 2^L cells, L = 1 .. n_levels - 1 (level 0 is the cells): 1 when a
     * block holds a segment, for a far point's best-first search (nearest_far) */
    int n_levels;
    int level_nx[32], level_ny[32];
    unsigned char *occupied[32];
};

cr_segindex *cr_segindex_new(void)
{
    cr_segindex *ix = cr_xcalloc(1, sizeof *ix);
    ix->line_start = cr_xcalloc(1, sizeof *ix->line_start);
    return ix;
}

void cr_segindex_free(cr_segindex *ix)
{
    if (ix == NULL) {
        return;
    }
    if (!ix->borrowed) {
        free(ix->xy);
    }
    free(ix->cum_m);
    free(ix->cum_at);
    free(ix->line_start);
    free(ix->line_owner);
    free(ix->vertex_line);
    free(ix->cell_start);
    free(ix->cell_segs);
    for (int l = 0; l < ix->n_levels; l++) {
        free(ix->occupied[l]);
    }
    free(ix);
}

size_t cr_segindex_lines(const cr_segindex *ix)
{
    return ix->n_lines;
}

void cr_segindex_reserve(cr_segindex *ix, size_t lines, size_t vertices)
{
    if (!ix->borrowed && ix->n_vertices + vertices > ix->cap_vertices) {
        ix->cap_vertices = ix->n_vertices + vertices;
        ix->xy = cr_xrealloc(ix->xy, ix->cap_vertices * 2 * sizeof *ix->xy);
    }
    if (ix->n_lines + lines + 1 > ix->cap_lines) {
        ix->cap_lines = ix->n_lines + lines + 1;
        ix->line_start = cr_xrealloc(ix->line_start, (ix->cap_lines + 1) * sizeof *ix->line_start);
        ix->line_owner = cr_xrealloc(ix->line_owner, ix->cap_lines * sizeof *ix->line_owner);
    }
}

/* Room for one more line. */
static void reserve_line(cr_segindex *ix)
{
    if (ix->n_lines + 1 >= ix->cap_lines) {
        ix->cap_lines = ix->cap_lines ? ix->cap_lines * 2 : 256;
        ix->line_start = cr_xrealloc(ix->line_start, (ix->cap_lines + 1) * sizeof *ix->line_start);
        ix->line_owner = cr_xrealloc(ix->line_owner, ix->cap_lines * sizeof *ix->line_owner);
    }
}

int cr_segindex_add_borrowed(cr_segindex *ix, int32_t owner, const double *lonlat, size_t n)
{
    if (ix->n_lines == 0 && !ix->borrowed) {
        free(ix->xy);
        ix->xy = (double *)lonlat; /* read only: see cr_segindex_free */
        ix->borrowed = 1;
        ix->cap_vertices = 0;
    }
    if (!ix->borrowed || lonlat != ix->xy + 2 * ix->n_vertices) {
        return 0;
    }
    if (n < 2) {
        return 0;
    }
    reserve_line(ix);
    ix->line_owner[ix->n_lines] = owner;
    ix->n_vertices += n;
    ix->line_start[++ix->n_lines] = (int32_t)ix->n_vertices;
    return 1;
}

void cr_segindex_add_line(cr_segindex *ix, int32_t owner, const double *lonlat, size_t n)
{
    if (n < 2 || ix->borrowed) {
        return;
    }
    if (ix->n_vertices + n > ix->cap_vertices) {
        ix->cap_vertices = (ix->n_vertices + n) * 2;
        ix->xy = cr_xrealloc(ix->xy, ix->cap_vertices * 2 * sizeof *ix->xy);
    }
    reserve_line(ix);
    memcpy(ix->xy + 2 * ix->n_vertices, lonlat, n * 2 * sizeof *lonlat);
    ix->line_owner[ix->n_lines] = owner; /* measures are made by cr_segindex_build */
    ix->n_vertices += n;
    ix->line_start[++ix->n_lines] = (int32_t)ix->n_vertices;
}

/* The cells a segment's box (a: x0 y0 x1 y1) covers, clamped to the grid: c = {cx0, cy0, cx1,
 * cy1}. */
static void cell_range(const cr_segindex *ix, const double a[4], int c[4])
{
    c[0] = (int)floor((min2(a[0], a[2]) - ix->x0) / ix->cell);
    c[1] = (int)floor((min2(a[1], a[3]) - ix->y0) / ix->cell);
    c[2] = (int)floor((max2(a[0], a[2]) - ix->x0) / ix->cell);
    c[3] = (int)floor((max2(a[1], a[3]) - ix->y0) / ix->cell);
    c[0] = c[0] < 0 ? 0 : c[0];
    c[1] = c[1] < 0 ? 0 : c[1];
    c[2] = c[2] >= ix->nx ? ix->nx - 1 : c[2];
    c[3] = c[3] >= ix->ny ? ix->ny - 1 : c[3];
}

/* The build in two parts over the lines (first half, second half), on two threads when the
 * index is large: what each part writes is its own, and the cells list the first part's
 * segments before the second's, as one pass in line order would. */
typedef struct {
    cr_segindex *ix;
    size_t from, to;          /* lines [from, to) */
    double box[4];            /* minx, miny, maxx, maxy of their vertices */
    uint32_t *count, *cursor; /* per cell: segments of this part / where the next goes */
    int pass;                 /* 0: measures and box, 1: count, 2: fill */
} build_part;

static void part_measures(build_part *p)
{
    cr_segindex *ix = p->ix;
    p->box[0] = 180, p->box[1] = 90, p->box[2] = -180, p->box[3] = -90;
    for (size_t l = p->from; l < p->to; l++) {
        double cum = 0;
        double *m = ix->cum_at[l] >= 0 ? ix->cum_m + ix->cum_at[l] : NULL;
        for (int32_t v = ix->line_start[l]; v < ix->line_start[l + 1]; v++) {
            const double *a = ix->xy + 2 * v;
            if (m != NULL) {
                if (v > ix->line_start[l]) {
                    cum += segment_m(a[-2], a[-1], a[0], a[1]);
                }
                *m++ = cum;
            }
            ix->vertex_line[v] = (int32_t)l;
            p->box[0] = min2(p->box[0], a[0]);
            p->box[2] = max2(p->box[2], a[0]);
            p->box[1] = min2(p->box[1], a[1]);
            p->box[3] = max2(p->box[3], a[1]);
        }
    }
}

/* Each (cell, segment) pair of the part's lines: counted (pass 1) or placed (pass 2). */
static void part_bucket(build_part *p)
{
    cr_segindex *ix = p->ix;
    for (size_t l = p->from; l < p->to; l++) {
        for (int32_t v = ix->line_start[l]; v + 1 < ix->line_start[l + 1]; v++) {
            int r[4];
            cell_range(ix, ix->xy + 2 * v, r);
            for (int cy = r[1]; cy <= r[3]; cy++) {
                for (int cx = r[0]; cx <= r[2]; cx++) {
                    size_t c = (size_t)cy * (size_t)ix->nx + (size_t)cx;
                    if (p->pass == 2) {
                        ix->cell_segs[p->cursor[c]++] = (uint32_t)v;
                    } else {
                        p->count[c]++;
                    }
                }
            }
        }
    }
}

static void *part_run(void *arg)
{
    build_part *p = arg;
    if (p->pass == 0) {
        part_measures(p);
    } else {
        part_bucket(p);
    }
    return NULL;
}

/* Run the pass on both parts: the second on a thread of its own when threaded. */
static void run_parts(build_part parts[2], int pass, int threaded)
{
    parts[0].pass = parts[1].pass = pass;
    pthread_t th;
    int started = threaded && pthread_create(&th, NULL, part_run, &parts[1]) == 0;
    part_run(&parts[0]);
    if (started) {
        pthread_join(th, NULL);
    } else {
        part_run(&parts[1]);
    }
}

static int cell_has_segments(const cr_segindex *ix, size_t c)
{
    return ix->cell_start[c] != ix->cell_start[c + 1];
}

/* The occupied blocks of every level above the cells, up to one block. */
static void build_levels(cr_segindex *ix)
{
    int l = 0;
    ix->level_nx[0] = ix->nx;
    ix->level_ny[0] = ix->ny;
    ix->occupied[0] = NULL; /* the cells: cell_start tells */
    while (l + 1 < 32 && (ix->level_nx[l] > 1 || ix->level_ny[l] > 1)) {
        int nx = (ix->level_nx[l] + 1) / 2, ny = (ix->level_ny[l] + 1) / 2;
        unsigned char *occ = cr_xcalloc((size_t)nx * (size_t)ny + 1, 1);
        for (int y = 0; y < ix->level_ny[l]; y++) {
            for (int x = 0; x < ix->level_nx[l]; x++) {
                size_t c = (size_t)y * (size_t)ix->level_nx[l] + (size_t)x;
                int full = l == 0 ? cell_has_segments(ix, c) : ix->occupied[l][c] != 0;
                occ[(size_t)(y / 2) * (size_t)nx + (size_t)(x / 2)] |= (unsigned char)full;
            }
        }
        l++;
        ix->level_nx[l] = nx;
        ix->level_ny[l] = ny;
        ix->occupied[l] = occ;
    }
    ix->n_levels = l + 1;
}

void cr_segindex_build(cr_segindex *ix)
{
    ix->vertex_line = cr_xcalloc(ix->n_vertices + 1, sizeof *ix->vertex_line);
    ix->cum_at = cr_xmalloc((ix->n_lines + 1) * sizeof *ix->cum_at);
    size_t n_cum = 0;
    for (size_t l = 0; l < ix->n_lines; l++) {
        size_t n = (size_t)(ix->line_start[l + 1] - ix->line_start[l]);
        ix->cum_at[l] = n >= LONG_LINE ? (int64_t)n_cum : -1;
        n_cum += n >= LONG_LINE ? n : 0;
    }
    ix->cum_m = cr_xmalloc((n_cum + 1) * sizeof *ix->cum_m);
    int threaded = ix->n_vertices >= 200000; /* below that a thread costs more than it saves */
    build_part parts[2] = {{.ix = ix, .from = 0, .to = ix->n_lines / 2},
                           {.ix = ix, .from = ix->n_lines / 2, .to = ix->n_lines}};
    run_parts(parts, 0, threaded);
    double minx = fmin(parts[0].box[0], parts[1].box[0]);
    double miny = fmin(parts[0].box[1], parts[1].box[1]);
    double maxx = fmax(parts[0].box[2], parts[1].box[2]);
    double maxy = fmax(parts[0].box[3], parts[1].box[3]);
    if (ix->n_lines == 0) {
        minx = miny = 0;
        maxx = maxy = 1;
    }
    /* about four segments per cell, within 0.0005° (~50 m) and 0.5° */
    double w = fmax(maxx - minx, 1e-6);
    double h = fmax(maxy - miny, 1e-6);
    size_t nseg = ix->n_vertices > ix->n_lines ? ix->n_vertices - ix->n_lines : 1;
    double cell = sqrt(w * h / ((double)nseg / 4.0 + 1.0));
    cell = fmin(fmax(cell, 0.0005), 0.5);
    ix->cell = cell;
    ix->x0 = minx;
    ix->y0 = miny;
    ix->nx = (int)(w / cell) + 1;
    ix->ny = (int)(h / cell) + 1;
    size_t ncell = (size_t)ix->nx * (size_t)ix->ny;
    for (int k = 0; k < 2; k++) {
        parts[k].count = cr_xcalloc(ncell + 1, sizeof *parts[k].count);
    }
    run_parts(parts, 1, threaded);
    ix->cell_start = cr_xcalloc(ncell + 1, sizeof *ix->cell_start);
    for (size_t c = 0; c < ncell; c++) {
        ix->cell_start[c + 1] = ix->cell_start[c] + parts[0].count[c] + parts[1].count[c];
    }
    ix->cell_segs = cr_xmalloc((ix->cell_start[ncell] + 1) * sizeof *ix->cell_segs);
    for (size_t c = 0; c < ncell; c++) {
        parts[1].count[c] = ix->cell_start[c] + parts[0].count[c]; /* now the cursors */
        parts[0].count[c] = ix->cell_start[c];
    }
    parts[0].cursor = parts[0].count;
    parts[1].cursor = parts[1].count;
    run_parts(parts, 2, threaded);
    free(parts[0].count);
    free(parts[1].count);
    build_levels(ix);
}

/* Squared distance from the origin of f to segment a-b in the local frame; fills t and side. */
static double point_segment2(const cr_local *f, const double *a, const double *b, double *t_out,
                             int *side)
{
    double ax = (a[0] - f->lon0) * f->kx, ay = (a[1] - f->lat0) * f->ky;
    double bx = (b[0] - f->lon0) * f->kx, by = (b[1] - f->lat0) * f->ky;
    double dx = bx - ax, dy = by - ay;
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double px = ax + t * dx, py = ay + t * dy;
    /* cross product of the direction a→b with a→origin: > 0 when the point is on the left */
    double cross = dx * (-ay) - dy * (-ax);
    *side = cross > 1e-9 ? 1 : cross < -1e-9 ? -1 : 0;
    *t_out = t;
    return px * px + py * py;
}

typedef struct {
    const cr_segindex *ix;
    cr_local f;
    cr_owner_filter filter;
    void *user;
    double best2; /* best squared distance so far */
    int64_t best_v;
    double best_t;
    int best_side;
} search;

/* The segments of cell c (in the grid) against the best hit so far. */
static void scan_segments(search *q, size_t c)
{
    const cr_segindex *ix = q->ix;
    for (uint32_t k = ix->cell_start[c]; k < ix->cell_start[c + 1]; k++) {
        uint32_t v = ix->cell_segs[k];
        if (q->filter && !q->filter(q->user, ix->line_owner[ix->vertex_line[v]])) {
            continue;
        }
        double t;
        int side;
        double d2 = point_segment2(&q->f, ix->xy + 2 * v, ix->xy + 2 * v + 2, &t, &side);
        if (d2 < q->best2 || (d2 == q->best2 && q->best_v >= 0 && (int64_t)v < q->best_v)) {
            q->best2 = d2, q->best_v = v, q->best_t = t, q->best_side = side;
        }
    }
}

static void scan_cell(search *q, int cx, int cy)
{
    const cr_segindex *ix = q->ix;
    if (cx < 0 || cy < 0 || cx >= ix->nx || cy >= ix->ny) {
        return;
    }
    size_t c = (size_t)cy * (size_t)ix->nx + (size_t)cx;
    if (!cell_has_segments(ix, c)) {
        return;
    }
    /* skip the cell when its rectangle is already farther than the best hit */
    double x0 = (ix->x0 + cx * ix->cell - q->f.lon0) * q->f.kx;
    double y0 = (ix->y0 + cy * ix->cell - q->f.lat0) * q->f.ky;
    double x1 = x0 + ix->cell * q->f.kx;
    double y1 = y0 + ix->cell * q->f.ky;
    double dx = x0 > 0 ? x0 : x1 < 0 ? -x1 : 0;
    double dy = y0 > 0 ? y0 : y1 < 0 ? -y1 : 0;
    if (dx * dx + dy * dy > q->best2) {
        return;
    }
    scan_segments(q, c);
}

/* A block of cells in the far search: its level, position and squared least distance. */
typedef struct {
    double lb2;
    int level, bx, by;
} block;

/* The least squared distance from the point to block (level, bx, by), a micrometre short so
 * that rounding never puts a segment of the block nearer than its block. */
static double block_lb2(const search *q, int level, int bx, int by)
{
    const cr_segindex *ix = q->ix;
    int cx0 = bx << level, cy0 = by << level;
    int cx1 = (bx + 1) << level, cy1 = (by + 1) << level;
    cx1 = cx1 < ix->nx ? cx1 : ix->nx;
    cy1 = cy1 < ix->ny ? cy1 : ix->ny;
    double x0 = (ix->x0 + cx0 * ix->cell - q->f.lon0) * q->f.kx;
    double x1 = (ix->x0 + cx1 * ix->cell - q->f.lon0) * q->f.kx;
    double y0 = (ix->y0 + cy0 * ix->cell - q->f.lat0) * q->f.ky;
    double y1 = (ix->y0 + cy1 * ix->cell - q->f.lat0) * q->f.ky;
    double dx = x0 > 0 ? x0 : x1 < 0 ? -x1 : 0;
    double dy = y0 > 0 ? y0 : y1 < 0 ? -y1 : 0;
    dx = dx > 1e-6 ? dx - 1e-6 : 0;
    dy = dy > 1e-6 ? dy - 1e-6 : 0;
    return dx * dx + dy * dy;
}

static int block_occupied(const cr_segindex *ix, int level, int bx, int by)
{
    if (bx >= ix->level_nx[level] || by >= ix->level_ny[level]) {
        return 0;
    }
    size_t c = (size_t)by * (size_t)ix->level_nx[level] + (size_t)bx;
    return level == 0 ? cell_has_segments(ix, c) : ix->occupied[level][c];
}

enum { FAR_HEAP = 1024 };

static void heap_push(block *h, int *n, block b)
{
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].lb2 > b.lb2) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = b;
}

static block heap_pop(block *h, int *n)
{
    block top = h[0];
    block last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) {
            break;
        }
        c += c + 1 < *n && h[c + 1].lb2 < h[c].lb2;
        if (h[c].lb2 >= last.lb2) {
            break;
        }
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) {
        h[i] = last;
    }
    return top;
}

/* Best-first over the blocks, nearest first, each pruned when farther than the best hit: every
 * segment as near as the best is seen, so the result is the rings' own. 0 when the frontier
 * outgrew its room (the rings then go on; what was found stands). */
static int nearest_far(search *q)
{
    const cr_segindex *ix = q->ix;
    block heap[FAR_HEAP];
    int n = 0;
    int top = ix->n_levels - 1;
    if (!block_occupied(ix, top, 0, 0)) {
        return 1;
    }
    heap_push(heap, &n, (block){block_lb2(q, top, 0, 0), top, 0, 0});
    while (n > 0) {
        block b = heap_pop(heap, &n);
        if (b.lb2 > q->best2) {
            break;
        }
        if (b.level == 0) {
            scan_segments(q, (size_t)b.by * (size_t)ix->nx + (size_t)b.bx);
            continue;
        }
        for (int k = 0; k < 4; k++) {
            int cx = 2 * b.bx + (k & 1), cy = 2 * b.by + (k >> 1);
            if (!block_occupied(ix, b.level - 1, cx, cy)) {
                continue;
            }
            double lb2 = block_lb2(q, b.level - 1, cx, cy);
            if (lb2 > q->best2) {
                continue;
            }
            if (n == FAR_HEAP) {
                return 0;
            }
            heap_push(heap, &n, (block){lb2, b.level - 1, cx, cy});
        }
    }
    return 1;
}

/* Rings searched around the point's cell before the far search takes over. */
enum { NEAR_RINGS = 2 };

/* The search both queries share: q->best_v is the nearest segment, or -1. near: a segment
 * (its first vertex) to start from, or -1: its distance bounds the search from the start,
 * which then still finds the nearest (and, among equals, the lowest). */
static void nearest_segment(search *q, double lon, double lat, double max_m, int64_t near)
{
    const cr_segindex *ix = q->ix;
    cr_local_init(&q->f, lon, lat);
    if (near >= 0 &&
        (q->filter == NULL || q->filter(q->user, ix->line_owner[ix->vertex_line[near]]))) {
        double t;
        int side;
        double d2 = point_segment2(&q->f, ix->xy + 2 * near, ix->xy + 2 * near + 2, &t, &side);
        if (d2 <= q->best2) {
            q->best2 = d2, q->best_v = near, q->best_t = t, q->best_side = side;
        }
    }
    /* rings of cells around the point's cell, nearest first: every point of ring k is at least
     * (k - 1) cells away, so once the best is nearer than that no farther ring can beat it */
    double cell_m = ix->cell * fmin(q->f.kx, q->f.ky);
    int cx = (int)floor((lon - ix->x0) / ix->cell);
    int cy = (int)floor((lat - ix->y0) / ix->cell);
    int max_ring = ix->nx > ix->ny ? ix->nx : ix->ny;
    max_ring += abs(cx) + abs(cy);
    for (int k = 0; k <= max_ring; k++) {
        double ring_min = k > 0 ? (k - 1) * cell_m : 0;
        if (ring_min > max_m || (q->best_v >= 0 && ring_min * ring_min > q->best2)) {
            break;
        }
        if (k == NEAR_RINGS + 1 && nearest_far(q)) {
            break; /* a far point: the blocks instead of ring after ring of empty cells */
        }
        if (k == 0) {
            scan_cell(q, cx, cy);
            continue;
        }
        for (int d = -k; d <= k; d++) {
            scan_cell(q, cx + d, cy - k);
            scan_cell(q, cx + d, cy + k);
        }
        for (int d = -k + 1; d <= k - 1; d++) {
            scan_cell(q, cx - k, cy + d);
            scan_cell(q, cx + k, cy + d);
        }
    }
}

/* Along line: the measure of the point t along its segment `segment`, and the line's length.
 * A short line's are summed here, in the order the build sums a long line's. */
static void line_measures(const cr_segindex *ix, int32_t line, int32_t segment, double t,
                          double *measure, double *length)
{
    int32_t first = ix->line_start[line], last = ix->line_start[line + 1] - 1;
    if (ix->cum_at[line] >= 0) {
        const double *m = ix->cum_m + ix->cum_at[line];
        *measure = m[segment] + t * (m[segment + 1] - m[segment]);
        *length = m[last - first];
        return;
    }
    double cum = 0, at = 0, next = 0;
    for (int32_t v = first + 1; v <= last; v++) {
        const double *a = ix->xy + 2 * v;
        cum += segment_m(a[-2], a[-1], a[0], a[1]);
        at = v - first == segment ? cum : at;
        next = v - first == segment + 1 ? cum : next;
    }
    *measure = at + t * (next - at);
    *length = cum;
}

int cr_segindex_nearest(const cr_segindex *ix, double lon, double lat, double max_m,
                        cr_owner_filter filter, void *user, cr_seg_hit *hit)
{
    return cr_segindex_nearest_from(ix, lon, lat, max_m, filter, user, NULL, hit);
}

int cr_segindex_nearest_from(const cr_segindex *ix, double lon, double lat, double max_m,
                             cr_owner_filter filter, void *user, const cr_seg_hit *near,
                             cr_seg_hit *hit)
{
    if (ix->n_lines == 0) {
        return 0;
    }
    int64_t from = -1;
    if (near != NULL && near->line >= 0 && (size_t)near->line < ix->n_lines && near->segment >= 0 &&
        ix->line_start[near->line] + near->segment + 1 < ix->line_start[near->line + 1]) {
        from = ix->line_start[near->line] + near->segment;
    }
    search q = {ix, {0, 0, 0, 0}, filter, user, max_m * max_m, -1, 0, 0};
    nearest_segment(&q, lon, lat, max_m, from);
    if (q.best_v < 0) {
        return 0;
    }
    int64_t best_v = q.best_v;
    int32_t line = ix->vertex_line[best_v];
    const double *a = ix->xy + 2 * best_v;
    hit->owner = ix->line_owner[line];
    hit->line = line;
    hit->segment = (int32_t)best_v - ix->line_start[line];
    hit->t = q.best_t;
    hit->lon = a[0] + q.best_t * (a[2] - a[0]);
    hit->lat = a[1] + q.best_t * (a[3] - a[1]);
    /* report the distance as a geodesic (cr_distance_m, the search's own planar distance as the
     * estimate: a far hit, a boundary's, goes straight to the geodesic), the measure along the
     * line's own segments */
    hit->dist_m = distance_near(sqrt(q.best2), lon, lat, hit->lon, hit->lat);
    line_measures(ix, line, hit->segment, q.best_t, &hit->measure_m, &hit->line_m);
    hit->side = q.best_side;
    return 1;
}

int32_t cr_segindex_nearest_owner(const cr_segindex *ix, double lon, double lat, double max_m,
                                  cr_owner_filter filter, void *user)
{
    if (ix->n_lines == 0) {
        return -1;
    }
    search q = {ix, {0, 0, 0, 0}, filter, user, max_m * max_m, -1, 0, 0};
    nearest_segment(&q, lon, lat, max_m, -1);
    return q.best_v < 0 ? -1 : ix->line_owner[ix->vertex_line[q.best_v]];
}
