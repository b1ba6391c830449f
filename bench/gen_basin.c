/* SPDX-License-Identifier: MIT */
/* Deterministic synthetic river basins for benchmarks: a jittered grid of nodes, each draining
 * to the neighbour nearest the single outlet (so the reaches form one dendritic tree), outfalls
 * beside random reaches, and 300 towns (25 counties) whose shared, wiggly edges have ~100
 * vertices each. Writes CSV with a WKT column, readable by crossriver ingest and by PostGIS.
 * Usage: gen_basin small|medium|large OUTDIR */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOWNS_X            20
#define TOWNS_Y            15
#define TOWNS_PER_COUNTY_X 4
#define TOWNS_PER_COUNTY_Y 3
#define EDGE_VERTICES      100

static const double X0 = 110.0; /* south-west corner */
static const double Y0 = 25.0;
static const double STEP = 0.01; /* grid spacing, degrees (~1 km) */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Uniform in [0, 1) from a key. */
static double unit(uint64_t key)
{
    return (double)(mix(key) >> 11) / 9007199254740992.0;
}

typedef struct {
    int nx, ny;
} grid;

static void node_xy(const grid *g, int i, int j, double *x, double *y)
{
    uint64_t k = (uint64_t)j * (uint64_t)g->nx + (uint64_t)i;
    *x = X0 + i * STEP + (unit(k * 2 + 1) - 0.5) * 0.5 * STEP;
    *y = Y0 + j * STEP + (unit(k * 2 + 2) - 0.5) * 0.5 * STEP;
}

/* The neighbour a node drains to: strictly nearer the outlet (east edge, middle row). */
static int downstream(const grid *g, int i, int j, int *di, int *dj)
{
    int oi = g->nx - 1;
    int oj = g->ny / 2;
    if (i == oi && j == oj) {
        return 0;
    }
    double here = hypot(oi - i, oj - j);
    double best = INFINITY;
    int found = 0;
    for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
            int ni = i + dx;
            int nj = j + dy;
            if ((dx == 0 && dy == 0) || ni < 0 || nj < 0 || ni >= g->nx || nj >= g->ny ||
                hypot(oi - ni, oj - nj) >= here) {
                continue; /* only strictly nearer the outlet: the drainage is a tree */
            }
            /* jitter the ranking a little so the tree is not all straight lines */
            double d = hypot(oi - ni, oj - nj) +
                       0.3 * unit((uint64_t)(j * g->nx + i) * 9 + (uint64_t)(dy * 3 + dx + 4));
            if (d < best) {
                best = d;
                *di = ni;
                *dj = nj;
                found = 1;
            }
        }
    }
    return found;
}

static void write_reaches(const grid *g, const char *dir, long *n_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/reaches.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "reach_id,name,reach_class,flow,velocity_ms,WKT\n");
    long n = 0;
    for (int j = 0; j < g->ny; j++) {
        for (int i = 0; i < g->nx; i++) {
            int di;
            int dj;
            if (!downstream(g, i, j, &di, &dj)) {
                continue;
            }
            double x1, y1, x2, y2;
            node_xy(g, i, j, &x1, &y1);
            node_xy(g, di, dj, &x2, &y2);
            uint64_t k = (uint64_t)j * (uint64_t)g->nx + (uint64_t)i;
            double mx = (x1 + x2) / 2 + (unit(k * 5 + 3) - 0.5) * 0.2 * STEP;
            double my = (y1 + y2) / 2 + (unit(k * 5 + 4) - 0.5) * 0.2 * STEP;
            const char *name = j == g->ny / 2 ? "干流" : "";
            const char *flow = unit(k * 7 + 1) < 0.01 ? "both" : "down";
            fprintf(
                f,
                "R%07d_%07d,%s,tributary,%s,%.2f,\"LINESTRING (%.7f %.7f,%.7f %.7f,%.7f %.7f)\"\n",
                j, i, name, flow, 0.1 + 0.5 * unit(k * 11), x1, y1, mx, my, x2, y2);
            n++;
        }
    }
    /* the river mouth: one reach below the outlet node, so the whole basin is upstream of it */
    double ox, oy;
    node_xy(g, g->nx - 1, g->ny / 2, &ox, &oy);
    fprintf(f, "MOUTH,干流,mainstem,down,0.50,\"LINESTRING (%.7f %.7f,%.7f %.7f)\"\n", ox, oy,
            ox + STEP, oy);
    n++;
    fclose(f);
    *n_out = n;
}

static void write_outfalls(const grid *g, const char *dir, long count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/outfalls.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "outfall_id,name,kind,lon,lat\n");
    static const char *kinds[] = {"工业排污口", "城镇污水处理厂排污口", "农业排口", "其他排口"};
    for (long n = 0; n < count; n++) {
        /* a random reach: node (i, j) and its downstream neighbour */
        int i;
        int j;
        int di;
        int dj;
        uint64_t k = (uint64_t)n * 13 + 7;
        do {
            i = (int)(unit(k) * g->nx);
            j = (int)(unit(k + 1) * g->ny);
            k += 2;
        } while (!downstream(g, i, j, &di, &dj));
        double x1, y1, x2, y2;
        node_xy(g, i, j, &x1, &y1);
        node_xy(g, di, dj, &x2, &y2);
        double t = unit(k + 3);
        double x = x1 + t * (x2 - x1);
        double y = y1 + t * (y2 - y1);
        double kx = 111320.0 * cos(y * M_PI / 180.0);
        double dx = (x2 - x1) * kx;
        double dy = (y2 - y1) * 110540.0;
        double len = hypot(dx, dy);
        /* 98 % within 10–300 m of the line, 2 % 600–2000 m away (unmatched) */
        double off = unit(k + 4) < 0.98 ? 10 + 290 * unit(k + 5) : 600 + 1400 * unit(k + 5);
        off *= unit(k + 6) < 0.5 ? -1 : 1;
        x += -dy / len * off / kx;
        y += dx / len * off / 110540.0;
        fprintf(f, "O%07ld,outfall %ld,%s,%.7f,%.7f\n", n, n, kinds[n % 4], x, y);
    }
    fclose(f);
}

/* A wiggly edge from (ax, ay) to (bx, by) seeded by its key; corners stay exact, so the edges
 * of neighbouring polygons are the same vertex list and the tessellation is exact. */
static void edge(FILE *f, double ax, double ay, double bx, double by, uint64_t key, int reverse,
                 int *first)
{
    double amp = 0.12 * hypot(bx - ax, by - ay) / 10.0;
    double nx = -(by - ay);
    double ny = bx - ax;
    double nl = hypot(nx, ny);
    for (int v = 0; v < EDGE_VERTICES; v++) {
        int s = reverse ? EDGE_VERTICES - v : v;
        double t = (double)s / EDGE_VERTICES;
        double w = sin(t * M_PI) * amp *
                   (sin(t * 9.0 + unit(key) * 6.28) + 0.5 * sin(t * 23.0 + unit(key + 1) * 6.28));
        fprintf(f, "%s%.7f %.7f", *first ? "" : ",", ax + t * (bx - ax) + w * nx / nl,
                ay + t * (by - ay) + w * ny / nl);
        *first = 0;
    }
}

/* Polygon over town cells [c0, c1) × [r0, r1) in WKT; edges are per town cell. */
static void cell_polygon(FILE *f, double w, double h, int c0, int r0, int c1, int r1)
{
    int first = 1;
    fprintf(f, "\"MULTIPOLYGON (((");
    for (int c = c0; c < c1; c++) { /* bottom, left to right */
        edge(f, X0 + c * w, Y0 + r0 * h, X0 + (c + 1) * w, Y0 + r0 * h,
             (uint64_t)(r0 * 1000 + c) * 4 + 1, 0, &first);
    }
    for (int r = r0; r < r1; r++) { /* right, bottom to top */
        edge(f, X0 + c1 * w, Y0 + r * h, X0 + c1 * w, Y0 + (r + 1) * h,
             (uint64_t)(r * 1000 + c1) * 4 + 2, 0, &first);
    }
    for (int c = c1 - 1; c >= c0; c--) { /* top, right to left */
        edge(f, X0 + c * w, Y0 + r1 * h, X0 + (c + 1) * w, Y0 + r1 * h,
             (uint64_t)(r1 * 1000 + c) * 4 + 1, 1, &first);
    }
    for (int r = r1 - 1; r >= r0; r--) { /* left, top to bottom */
        edge(f, X0 + c0 * w, Y0 + r * h, X0 + c0 * w, Y0 + (r + 1) * h,
             (uint64_t)(r * 1000 + c0) * 4 + 2, 1, &first);
    }
    fprintf(f, ",%.7f %.7f)))\"\n", X0 + c0 * w, Y0 + r0 * h);
}

static void write_admin(const grid *g, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/admin.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "code,name,level,parent_code,province_code,WKT\n");
    double w = g->nx * STEP / TOWNS_X;
    double h = g->ny * STEP / TOWNS_Y;
    int cx = TOWNS_X / TOWNS_PER_COUNTY_X;
    int cy = TOWNS_Y / TOWNS_PER_COUNTY_Y;
    for (int r = 0; r < cy; r++) {
        for (int c = 0; c < cx; c++) {
            fprintf(f, "C%02d%02d,county %d-%d,county,,P%02d,", r, c, r, c, c);
            cell_polygon(f, w, h, c * TOWNS_PER_COUNTY_X, r * TOWNS_PER_COUNTY_Y,
                         (c + 1) * TOWNS_PER_COUNTY_X, (r + 1) * TOWNS_PER_COUNTY_Y);
        }
    }
    for (int r = 0; r < TOWNS_Y; r++) {
        for (int c = 0; c < TOWNS_X; c++) {
            int pc = c / TOWNS_PER_COUNTY_X;
            int pr = r / TOWNS_PER_COUNTY_Y;
            fprintf(f, "T%02d%02d,town %d-%d,town,C%02d%02d,P%02d,", r, c, r, c, pr, pc, pc);
            cell_polygon(f, w, h, c, r, c + 1, r + 1);
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_basin small|medium|large OUTDIR\n");
        return 2;
    }
    long reaches_wanted = strcmp(argv[1], "large") == 0    ? 1000000
                          : strcmp(argv[1], "medium") == 0 ? 100000
                                                           : 2000;
    long outfalls = strcmp(argv[1], "large") == 0    ? 200000
                    : strcmp(argv[1], "medium") == 0 ? 20000
                                                     : 400;
    grid g;
    g.nx = (int)ceil(sqrt((double)reaches_wanted + 1));
    g.ny = (int)((reaches_wanted + 1 + g.nx - 1) / g.nx);
    long n = 0;
    write_reaches(&g, argv[2], &n);
    write_outfalls(&g, argv[2], outfalls);
    write_admin(&g, argv[2]);
    printf("%s: %ld reaches, %ld outfalls, %d towns, %d counties, region %.3f,%.3f,%.3f,%.3f\n",
           argv[1], n, outfalls, TOWNS_X * TOWNS_Y,
           (TOWNS_X / TOWNS_PER_COUNTY_X) * (TOWNS_Y / TOWNS_PER_COUNTY_Y), X0 - 0.1, Y0 - 0.1,
           X0 + g.nx * STEP + 0.1, Y0 + g.ny * STEP + 0.1);
    return 0;
}
