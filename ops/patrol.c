/* SPDX-License-Identifier: MIT */
/* The patrol planner: select, route (greedy nearest-unpatrolled over an undirected view of the
 * network), place the stops, split into legs by jurisdiction. */
#include "patrol.h"

#include "core/heap.h"
#include "geo/geo.h"

#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

/* Does the comma-separated list hold an item that text contains (contains = 1) or equals? */
static int list_match(const char *list, const char *text, int contains)
{
    if (list == NULL || text == NULL) {
        return 0;
    }
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0) {
            char item[256];
            snprintf(item, sizeof item, "%.*s", (int)(n < 255 ? n : 255), p);
            if (contains ? strstr(text, item) != NULL : strcmp(text, item) == 0) {
                return 1;
            }
        }
        p += n + (e ? 1 : 0);
    }
    return 0;
}

/* ---- shortest paths over the undirected network ---------------------------------------- */

typedef struct {
    const cr_graph *g;
    double *dist;
    int32_t *via; /* reach used to reach the node, -1 */
    int32_t *touched;
    size_t n_touched;
    cr_heap h;
} paths;

static void paths_reset(paths *p)
{
    for (size_t i = 0; i < p->n_touched; i++) {
        p->dist[p->touched[i]] = INFINITY;
        p->via[p->touched[i]] = -1;
    }
    p->n_touched = 0;
    p->h.n = 0;
}

static void relax(paths *p, int32_t v, double d, int32_t reach)
{
    if (d < p->dist[v]) {
        if (isinf(p->dist[v])) {
            p->touched[p->n_touched++] = v;
        }
        p->dist[v] = d;
        p->via[v] = reach;
        cr_heap_push(&p->h, d, v);
    }
}

static int32_t other_end(const cr_graph *g, int32_t r, int32_t v)
{
    return g->from_node[r] == v ? g->to_node[r] : g->from_node[r];
}

/* Dijkstra from src until stop(v) says yes; returns that node or -1. */
static int32_t search(paths *p, int32_t src, int (*stop)(void *, int32_t), void *user)
{
    const cr_graph *g = p->g;
    paths_reset(p);
    relax(p, src, 0, -1);
    while (p->h.n) {
        cr_heap_item it = cr_heap_pop(&p->h);
        if (it.d > p->dist[it.node]) {
            continue;
        }
        if (stop(user, it.node)) {
            return it.node;
        }
        for (int side = 0; side < 2; side++) {
            const int32_t *start = side ? g->up_start : g->down_start;
            const int32_t *list = side ? g->up_reach : g->down_reach;
            for (int32_t k = start[it.node]; k < start[it.node + 1]; k++) {
                int32_t r = list[k];
                relax(p, other_end(g, r, it.node), it.d + g->length_m[r], r);
            }
        }
    }
    return -1;
}

/* ---- the route ---------------------------------------------------------------------------- */

typedef struct {
    int32_t reach;
    int reversed; /* walked from to_node to from_node */
} step;

typedef struct {
    const cr_graph *g;
    uint8_t *selected, *done;
    int32_t best_reach; /* set by at_unpatrolled */
    step *steps;
    size_t n_steps, cap_steps;
} planner;

/* The unpatrolled selected reach at v with the smallest ID, or -1. */
static int32_t unpatrolled_at(const planner *pl, int32_t v)
{
    const cr_graph *g = pl->g;
    int32_t best = -1;
    for (int side = 0; side < 2; side++) {
        const int32_t *start = side ? g->up_start : g->down_start;
        const int32_t *list = side ? g->up_reach : g->down_reach;
        for (int32_t k = start[v]; k < start[v + 1]; k++) {
            int32_t r = list[k];
            if (pl->selected[r] && !pl->done[r] &&
                (best < 0 || strcmp(g->reach_id[r], g->reach_id[best]) < 0)) {
                best = r;
            }
        }
    }
    return best;
}

static int at_unpatrolled(void *user, int32_t v)
{
    planner *pl = user;
    pl->best_reach = unpatrolled_at(pl, v);
    return pl->best_reach >= 0;
}

static int at_target(void *user, int32_t v)
{
    return v == *(const int32_t *)user;
}

static void add_step(planner *pl, int32_t r, int32_t from_node)
{
    if (pl->n_steps == pl->cap_steps) {
        pl->cap_steps = pl->cap_steps ? 2 * pl->cap_steps : 64;
        pl->steps = cr_xrealloc(pl->steps, pl->cap_steps * sizeof *pl->steps);
    }
    pl->steps[pl->n_steps++] = (step){r, pl->g->from_node[r] != from_node};
    pl->done[r] = 1;
}

/* Append the path found by the last search from src to v (reaches in walking order). */
static void add_path(planner *pl, const paths *p, int32_t src, int32_t v)
{
    size_t n = 0;
    for (int32_t u = v; u != src; u = other_end(pl->g, p->via[u], u)) {
        n++;
    }
    int32_t *rev = cr_xcalloc(n + 1, sizeof *rev);
    size_t k = n;
    for (int32_t u = v; u != src; u = other_end(pl->g, p->via[u], u)) {
        rev[--k] = p->via[u];
    }
    int32_t at = src;
    for (size_t i = 0; i < n; i++) {
        add_step(pl, rev[i], at);
        at = other_end(pl->g, rev[i], at);
    }
    free(rev);
}

/* How many selected reaches the flow passes from v (downstream, every branch). */
static size_t selected_downstream(const planner *pl, int32_t v, uint8_t *seen, int32_t *queue)
{
    const cr_graph *g = pl->g;
    size_t head = 0, tail = 0, count = 0;
    queue[tail++] = v;
    seen[v] = 1;
    while (head < tail) {
        int32_t u = queue[head++];
        for (int32_t k = g->down_start[u]; k < g->down_start[u + 1]; k++) {
            int32_t r = g->down_reach[k], w = g->to_node[r];
            count += pl->selected[r];
            if (!seen[w]) {
                seen[w] = 1;
                queue[tail++] = w;
            }
        }
    }
    for (size_t i = 0; i < tail; i++) {
        seen[queue[i]] = 0;
    }
    return count;
}

static int32_t default_start(const planner *pl)
{
    const cr_graph *g = pl->g;
    uint8_t *ends = cr_xcalloc((size_t)g->n_nodes + 1, 1);
    uint8_t *seen = cr_xcalloc((size_t)g->n_nodes + 1, 1);
    int32_t *queue = cr_xcalloc((size_t)g->n_nodes + 1, sizeof *queue);
    for (int32_t r = 0; r < g->n_reaches; r++) {
        if (pl->selected[r]) {
            ends[g->to_node[r]] = 1;
        }
    }
    int32_t best = -1, best_reach = -1;
    size_t best_count = 0;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (int32_t r = 0; r < g->n_reaches; r++) {
            int32_t v = g->from_node[r];
            if (!pl->selected[r] || (pass == 0 && ends[v])) {
                continue; /* first pass: sources of the selection only */
            }
            size_t c = selected_downstream(pl, v, seen, queue);
            if (best < 0 || c > best_count ||
                (c == best_count && strcmp(g->reach_id[r], g->reach_id[best_reach]) < 0)) {
                best = v;
                best_reach = r;
                best_count = c;
            }
        }
    }
    free(ends);
    free(seen);
    free(queue);
    return best;
}

static int32_t nearest_node(const cr_graph *g, const double p[2], double *d_out)
{
    int32_t best = -1;
    double bd = INFINITY;
    for (int32_t v = 0; v < g->n_nodes; v++) {
        double d = cr_geodesic_m(p[0], p[1], g->node_lon[v], g->node_lat[v]);
        if (d < bd) {
            bd = d;
            best = v;
        }
    }
    *d_out = bd;
    return best;
}

/* The node a patrol starts or ends at for a point: the nearest node within 2 km, else the
 * nearer end of the nearest reach within 2 km (a point on a long reach, far from its ends);
 * -1 when neither. *rx is loaded from the store on first need (and kept in *own). */
static int32_t node_for_point(cr_store *store, const cr_graph *g, const double p[2],
                              const cr_reach_index **rx, cr_reach_index **own)
{
    double d;
    int32_t v = nearest_node(g, p, &d);
    if (v >= 0 && d <= 2000) {
        return v;
    }
    if (*rx == NULL && *own == NULL && cr_reach_index_load(store, own, NULL) == CR_OK) {
        *rx = *own;
    }
    cr_reach_hit hit;
    if (*rx == NULL || !cr_reach_index_nearest(*rx, p[0], p[1], 2000, NULL, &hit)) {
        return -1;
    }
    int32_t r = cr_graph_find_reach(g, hit.id);
    if (r < 0) {
        return -1;
    }
    return hit.measure_m <= g->length_m[r] / 2 ? g->from_node[r] : g->to_node[r];
}

/* ---- geometry, stops and legs ------------------------------------------------------------- */

typedef struct {
    double *xy; /* lon, lat pairs */
    size_t n;
    double *km;              /* cumulative, per vertex */
    double *from_km, *to_km; /* per step */
} line;

static cr_status route_line(sqlite3 *db, const cr_graph *g, const planner *pl, line *ln,
                            cr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT geom FROM reaches_current WHERE reach_id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "patrol: %s", sqlite3_errmsg(db));
    }
    ln->from_km = cr_xcalloc(pl->n_steps + 1, sizeof *ln->from_km);
    ln->to_km = cr_xcalloc(pl->n_steps + 1, sizeof *ln->to_km);
    double *piece = NULL;
    size_t cap_xy = 0;
    for (size_t i = 0; i < pl->n_steps; i++) {
        const step *s = &pl->steps[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, g->reach_id[s->reach], -1, SQLITE_STATIC);
        size_t m = 0;
        free(piece);
        piece = NULL;
        if (sqlite3_step(st) == SQLITE_ROW) {
            cr_spatialite_append_linestring(sqlite3_column_blob(st, 0),
                                            (size_t)sqlite3_column_bytes(st, 0), &piece, &m);
        }
        if (m == 0) { /* no geometry: the straight line between its nodes */
            piece = cr_xrealloc(piece, 4 * sizeof *piece);
            piece[0] = g->node_lon[g->from_node[s->reach]];
            piece[1] = g->node_lat[g->from_node[s->reach]];
            piece[2] = g->node_lon[g->to_node[s->reach]];
            piece[3] = g->node_lat[g->to_node[s->reach]];
            m = 2;
        }
        ln->from_km[i] = ln->n ? ln->km[ln->n - 1] : 0;
        for (size_t k = 0; k < m; k++) {
            size_t j = s->reversed ? m - 1 - k : k;
            double lon = piece[2 * j], lat = piece[2 * j + 1];
            if (ln->n > 0 && k == 0 && fabs(ln->xy[2 * ln->n - 2] - lon) < 1e-9 &&
                fabs(ln->xy[2 * ln->n - 1] - lat) < 1e-9) {
                continue;
            }
            if (ln->n + 1 > cap_xy) {
                cap_xy = cap_xy ? 2 * cap_xy : 256;
                ln->xy = cr_xrealloc(ln->xy, 2 * cap_xy * sizeof *ln->xy);
                ln->km = cr_xrealloc(ln->km, cap_xy * sizeof *ln->km);
            }
            ln->xy[2 * ln->n] = lon;
            ln->xy[2 * ln->n + 1] = lat;
            ln->km[ln->n] =
                ln->n ? ln->km[ln->n - 1] +
                            cr_geodesic_m(ln->xy[2 * ln->n - 2], ln->xy[2 * ln->n - 1], lon, lat) /
                                1000.0
                      : 0;
            ln->n++;
        }
        ln->to_km[i] = ln->n ? ln->km[ln->n - 1] : 0;
    }
    free(piece);
    sqlite3_finalize(st);
    return CR_OK;
}

/* Position along the route of the point nearest to (lon, lat); the distance to it. */
static double locate(const line *ln, double lon, double lat, double *off_m)
{
    cr_local f;
    cr_local_init(&f, lon, lat);
    double best = INFINITY, at = 0;
    for (size_t i = 0; ln->n > 0 && i + 1 < ln->n; i++) {
        double ax = (ln->xy[2 * i] - lon) * f.kx, ay = (ln->xy[2 * i + 1] - lat) * f.ky;
        double bx = (ln->xy[2 * i + 2] - lon) * f.kx, by = (ln->xy[2 * i + 3] - lat) * f.ky;
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        double t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double px = ax + t * dx, py = ay + t * dy, d = sqrt(px * px + py * py);
        if (d < best) {
            best = d;
            at = ln->km[i] + t * (ln->km[i + 1] - ln->km[i]);
        }
    }
    if (ln->n == 1) {
        best = cr_geodesic_m(lon, lat, ln->xy[0], ln->xy[1]);
    }
    *off_m = best;
    return at;
}

typedef struct {
    double km, off_m, lon, lat;
    char layer[32], id[96], name[160], issue[40], detail[200], county[32];
} stop;

static int stop_cmp(const void *a, const void *b)
{
    const stop *x = a, *y = b;
    if (x->km != y->km) {
        return x->km < y->km ? -1 : 1;
    }
    int c = strcmp(x->layer, y->layer);
    return c ? c : strcmp(x->id, y->id);
}

static const char *col_text(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? (const char *)t : "";
}

/* The route as the stops see it. */
typedef struct {
    const cr_graph *g;
    const line *ln;
    const uint8_t *route_reach; /* per reach: 1 when the route goes along it */
    const char *lakes;          /* comma list of the lakes the route touches */
    double radius_m;            /* stops off the route's reaches and lakes within this */
    const char *date;           /* open as of the end of this day */
} route_view;

typedef struct {
    stop *a;
    size_t n, cap;
} stop_list;

/* The open issues of one layer, placed on the route when they belong to it. */
static void collect(sqlite3 *db, const char *sql, const char *layer, const route_view *rv,
                    stop_list *out)
{
    const cr_graph *g = rv->g;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return; /* a layer the store does not have yet: no stops from it */
    }
    char end_of_day[24];
    snprintf(end_of_day, sizeof end_of_day, "%.10sT23:59:59", rv->date);
    sqlite3_bind_text(st, 1, rv->date, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 2) {
        sqlite3_bind_text(st, 2, end_of_day, -1, SQLITE_TRANSIENT);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* id, name, issue, detail, reach_id, lake_id, county_code, lon, lat */
        double lon = sqlite3_column_double(st, 7), lat = sqlite3_column_double(st, 8), off;
        double km = locate(rv->ln, lon, lat, &off);
        int32_t r = sqlite3_column_type(st, 4) == SQLITE_NULL
                        ? -1
                        : cr_graph_find_reach(g, col_text(st, 4));
        const char *lake = col_text(st, 5);
        int on_route = (r >= 0 && rv->route_reach[r]) ||
                       (*lake && list_match(rv->lakes, lake, 0)) || off <= rv->radius_m;
        if (!on_route) {
            continue;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 32;
            out->a = cr_xrealloc(out->a, out->cap * sizeof *out->a);
        }
        stop *s = &out->a[out->n++];
        memset(s, 0, sizeof *s);
        s->km = km;
        s->off_m = off;
        s->lon = lon;
        s->lat = lat;
        snprintf(s->layer, sizeof s->layer, "%s", layer);
        snprintf(s->id, sizeof s->id, "%s", col_text(st, 0));
        snprintf(s->name, sizeof s->name, "%s", col_text(st, 1));
        snprintf(s->issue, sizeof s->issue, "%s", col_text(st, 2));
        snprintf(s->detail, sizeof s->detail, "%s", col_text(st, 3));
        snprintf(s->county, sizeof s->county, "%s", col_text(st, 6));
    }
    sqlite3_finalize(st);
}

typedef struct {
    double from_km, to_km;
    char code[32];
} piece;

/* Jurisdiction pieces along the route from the joins' reach→county segments. */
static piece *jurisdiction_pieces(sqlite3 *db, const cr_graph *g, const planner *pl, const line *ln,
                                  size_t *n_out)
{
    piece *ps = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, "SELECT segments FROM reach_jurisdictions WHERE reach_id = ?",
                                -1, &st, NULL) == SQLITE_OK;
    for (size_t i = 0; i < pl->n_steps; i++) {
        const step *s = &pl->steps[i];
        double a = ln->from_km[i], b = ln->to_km[i], len = g->length_m[s->reach];
        json_t *segs = NULL;
        if (ok) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, g->reach_id[s->reach], -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
                segs = json_loads(col_text(st, 0), 0, NULL);
            }
        }
        size_t k_n = json_array_size(segs) ? json_array_size(segs) : 1;
        for (size_t k = 0; k < k_n; k++) {
            size_t kk = s->reversed ? k_n - 1 - k : k;
            json_t *seg = json_array_get(segs, kk);
            double m0 = seg ? json_number_value(json_array_get(seg, 1)) : 0;
            double m1 = seg ? json_number_value(json_array_get(seg, 2)) : len;
            double f0 = len > 0 ? m0 / len : 0, f1 = len > 0 ? m1 / len : 1;
            f0 = f0 < 0 ? 0 : f0 > 1 ? 1 : f0;
            f1 = f1 < 0 ? 0 : f1 > 1 ? 1 : f1;
            double p0 = s->reversed ? b - f1 * (b - a) : a + f0 * (b - a);
            double p1 = s->reversed ? b - f0 * (b - a) : a + f1 * (b - a);
            const char *code = seg ? json_string_value(json_array_get(seg, 0)) : NULL;
            if (n > 0 && strcmp(ps[n - 1].code, code ? code : "") == 0) {
                ps[n - 1].to_km = p1; /* the same jurisdiction goes on */
                continue;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 32;
                ps = cr_xrealloc(ps, cap * sizeof *ps);
            }
            ps[n].from_km = n ? ps[n - 1].to_km : p0;
            ps[n].to_km = p1;
            snprintf(ps[n].code, sizeof ps[n].code, "%s", code ? code : "");
            n++;
        }
        json_decref(segs);
    }
    sqlite3_finalize(st);
    if (n > 0) {
        ps[0].from_km = 0;
        ps[n - 1].to_km = ln->n ? ln->km[ln->n - 1] : 0;
    }
    *n_out = n;
    return ps;
}

static json_t *leg_json(sqlite3 *db, const piece *p, size_t seq, const cr_access *access)
{
    json_t *leg = json_pack("{s:I, s:s, s:f, s:f, s:f}", "seq", (json_int_t)seq, "county_code",
                            p->code, "from_km", round3(p->from_km), "to_km", round3(p->to_km),
                            "length_km", round3(p->to_km - p->from_km));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name FROM admin_units_current WHERE code = ? ORDER BY fid"
                           " LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, p->code, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(leg, "county_name", json_string(col_text(st, 0)));
        }
    }
    sqlite3_finalize(st);
    if (json_object_get(leg, "county_name") == NULL) {
        json_object_set_new(leg, "county_name",
                            json_string(*p->code ? p->code : "outside the loaded jurisdictions"));
    }
    /* the lead: the river-chief office, else the first contact of the jurisdiction */
    if (sqlite3_prepare_v2(db,
                           "SELECT agency, duty_phone, liaison, phone FROM contacts_current"
                           " WHERE jurisdiction_code = ?"
                           " ORDER BY role <> 'river_chief_office', role, agency LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, p->code, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(leg, "lead_agency", json_string(col_text(st, 0)));
            json_object_set_new(leg, "duty_phone", json_string(col_text(st, 1)));
            if (cr_access_layer(access, "contacts") && cr_access_code(access, p->code)) {
                json_object_set_new(leg, "liaison", json_string(col_text(st, 2)));
                json_object_set_new(leg, "phone", json_string(col_text(st, 3)));
            }
        }
    }
    sqlite3_finalize(st);
    return leg;
}

/* ---- the plan ------------------------------------------------------------------------------ */

/* The stops' layers, each with its kind (stop_kinds) and the query of its open issues on the
 * plan's date (?1, YYYY-MM-DD; ?2 the end of that day). */
static const char *const STOP_SQL[][3] = {
    {"hyacinth_reports", "hyacinth",
     "SELECT report_id, river, 'hyacinth_open', 'reported ' || ifnull(reported_at, '?') ||"
     " ', ' || ifnull(density, '') || ', ' || ifnull(area_m2, '?') || ' m², ' ||"
     " CASE WHEN status = 'cleared' THEN 'not yet cleared on ' || ?1 ELSE status END,"
     " reach_id, lake_id, county_code, X(geom), Y(geom) FROM hyacinth_reports_current"
     " WHERE geom IS NOT NULL AND ifnull(substr(reported_at, 1, 10), '') <= ?1"
     " AND (status <> 'cleared' OR substr(ifnull(cleared_at, ''), 1, 10) > ?1)"},
    /* the inventory as it stood on the date: the version in force then */
    {"outfalls", "outfall",
     "SELECT outfall_id, name, CASE WHEN status = 'rectifying' THEN 'outfall_rectifying'"
     " WHEN zone_id IS NOT NULL THEN 'outfall_in_protection_zone' ELSE 'outfall_unmatched' END,"
     " ifnull(kind, '') || ', ' || ifnull(status, '') ||"
     " CASE WHEN zone_id IS NOT NULL THEN ', zone ' || zone_id || ' (' || ifnull(zone_grade, '')"
     " || ')' ELSE '' END || ' (inventory of ' || substr(l.valid_from, 1, 10) || ')', reach_id,"
     " lake_id, county_code, X(geom), Y(geom)"
     " FROM outfalls l LEFT JOIN outfalls_derived x ON x.fid = l.fid"
     " WHERE geom IS NOT NULL AND l.valid_from <= ?2 AND (l.valid_to IS NULL OR l.valid_to > ?2)"
     " AND ifnull(status, '') <> 'closed' AND (status = 'rectifying' OR zone_id IS NOT NULL OR"
     " instr(ifnull(join_flags, ''), 'unmatched') > 0)"},
    {"monitoring_sections", "section",
     "SELECT section_id, name, 'cross_boundary_section', ifnull(upstream_jurisdiction, '') ||"
     " ' → ' || ifnull(downstream_jurisdiction, '') || ', target ' || ifnull(target_class, '?'),"
     " reach_id, lake_id, county_code, X(geom), Y(geom) FROM monitoring_sections_current"
     " WHERE geom IS NOT NULL AND ?1 IS NOT NULL AND (section_kind = 'cross_boundary'"
     " OR boundary = 1)"},
    /* findings found by the date, in the state their steps had reached by then, not closed */
    {"findings", "finding",
     "SELECT finding_id, ifnull(description, kind), 'finding_' || st, ifnull(kind, '') ||"
     " ', found ' || substr(found_at, 1, 10) || ', ' || st || ' on ' || ?1 ||"
     " CASE WHEN deadline IS NOT NULL THEN ', deadline ' || deadline ELSE '' END, reach_id,"
     " lake_id, county_code, X(geom), Y(geom) FROM (SELECT c.*, (SELECT ifnull(v.status,"
     " 'open') FROM findings v WHERE v.source_id = c.source_id AND (v.version = 1 OR"
     " substr(ifnull(v.step_at, ''), 1, 10) <= ?1) ORDER BY v.version DESC LIMIT 1) AS st"
     " FROM findings_current c WHERE substr(found_at, 1, 10) <= ?1) WHERE geom IS NOT NULL"
     " AND st NOT IN ('closed', 'verified')"},
};

/* Mark the reaches the request selects; how many. */
static size_t select_reaches(sqlite3 *db, const cr_patrol_request *req, planner *pl)
{
    size_t n_selected = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT reach_id, name FROM reaches_current", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int32_t r = cr_graph_find_reach(pl->g, col_text(st, 0));
            if (r >= 0 && (list_match(req->rivers, col_text(st, 1), 1) ||
                           list_match(req->reaches, col_text(st, 0), 0))) {
                n_selected += !pl->selected[r];
                pl->selected[r] = 1;
            }
        }
    }
    sqlite3_finalize(st);
    return n_selected;
}

/* The route from start: the nearest unpatrolled selected reach, along it, again, then to end
 * (>= 0) when given. *unreachable counts selected reaches not connected to the route. */
static cr_status plan_route(planner *pl, int32_t start, int32_t end, size_t *unreachable,
                            cr_error *err)
{
    const cr_graph *g = pl->g;
    paths p = {g,
               cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof(double)),
               cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof(int32_t)),
               cr_xmalloc(((size_t)g->n_nodes + 1) * sizeof(int32_t)),
               0,
               {NULL, 0, 0}};
    for (int32_t v = 0; v < g->n_nodes; v++) {
        p.dist[v] = INFINITY;
        p.via[v] = -1;
    }
    int32_t at = start;
    for (;;) {
        int32_t v = search(&p, at, at_unpatrolled, pl);
        if (v < 0) {
            break; /* the rest is not connected to where we are */
        }
        add_path(pl, &p, at, v);
        int32_t r = unpatrolled_at(pl, v);
        if (r < 0) {
            continue; /* patrolled on the way */
        }
        add_step(pl, r, v);
        at = other_end(g, r, v);
    }
    *unreachable = 0;
    for (int32_t r = 0; r < g->n_reaches; r++) {
        *unreachable += pl->selected[r] && !pl->done[r];
    }
    cr_status rc = CR_OK;
    if (end >= 0 && end != at) {
        if (search(&p, at, at_target, &end) == end) {
            add_path(pl, &p, at, end);
        } else {
            rc = cr_error_set(err, CR_ENOTFOUND, "to: not reachable over the network");
        }
    }
    free(p.dist);
    free(p.via);
    free(p.touched);
    free(p.h.a);
    return rc;
}

/* The route's reaches as JSON; marks them in route_reach and lists the lakes it touches. */
static json_t *route_reaches(const planner *pl, const line *ln, uint8_t *route_reach,
                             cr_strbuf *lakes)
{
    const cr_graph *g = pl->g;
    json_t *reaches = json_array();
    for (size_t i = 0; i < pl->n_steps; i++) {
        const step *s = &pl->steps[i];
        route_reach[s->reach] = 1;
        int32_t nodes[2] = {g->from_node[s->reach], g->to_node[s->reach]};
        for (int k = 0; k < 2; k++) {
            int32_t lk = g->node_lake[nodes[k]];
            if (lk >= 0 && !list_match(lakes->data, g->lake_id[lk], 0)) {
                cr_strbuf_printf(lakes, "%s%s", lakes->len ? "," : "", g->lake_id[lk]);
            }
        }
        json_array_append_new(
            reaches, json_pack("{s:s, s:b, s:b, s:f, s:f}", "reach_id", g->reach_id[s->reach],
                               "reversed", s->reversed, "selected", pl->selected[s->reach],
                               "from_km", round3(ln->from_km[i]), "to_km", round3(ln->to_km[i])));
    }
    return reaches;
}

typedef struct {
    double speed_kmh, dwell_min;
} pace;

/* The legs (one per jurisdiction piece) with their stops and time. */
static json_t *legs_json(sqlite3 *db, const piece *pieces, size_t n_pieces, const stop_list *sl,
                         const pace *pc, const cr_access *access)
{
    json_t *legs = json_array();
    for (size_t i = 0; i < n_pieces; i++) {
        json_t *leg = leg_json(db, &pieces[i], i + 1, access);
        json_t *seqs = json_array();
        size_t in_leg = 0;
        for (size_t k = 0; k < sl->n; k++) {
            int last = i + 1 == n_pieces;
            if (sl->a[k].km >= pieces[i].from_km &&
                (sl->a[k].km < pieces[i].to_km || (last && sl->a[k].km <= pieces[i].to_km))) {
                json_array_append_new(seqs, json_integer((json_int_t)k + 1));
                in_leg++;
            }
        }
        double len = pieces[i].to_km - pieces[i].from_km;
        json_object_set_new(
            leg, "time_h",
            json_real(round3(len / pc->speed_kmh + (double)in_leg * pc->dwell_min / 60.0)));
        json_object_set_new(leg, "stops", seqs);
        json_array_append_new(legs, leg);
    }
    return legs;
}

/* The stops as JSON, each with the leg it falls in. */
static json_t *stops_json(const stop_list *sl, const piece *pieces, size_t n_pieces)
{
    json_t *out = json_array();
    for (size_t k = 0; k < sl->n; k++) {
        const stop *s = &sl->a[k];
        size_t leg = 0;
        for (size_t i = 0; i < n_pieces; i++) {
            leg = s->km >= pieces[i].from_km ? i + 1 : leg;
        }
        json_array_append_new(
            out, json_pack("{s:I, s:f, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f}", "seq",
                           (json_int_t)k + 1, "km", round3(s->km), "leg", (json_int_t)leg, "layer",
                           s->layer, "id", s->id, "name", s->name, "issue", s->issue, "detail",
                           s->detail, "county_code", s->county, "lon", round(s->lon * 1e7) / 1e7,
                           "lat", round(s->lat * 1e7) / 1e7, "off_route_m", round(s->off_m)));
    }
    return out;
}

/* The point at km along the route line, as [lon, lat]. */
static json_t *point_at(const line *ln, double km)
{
    size_t i = 1;
    while (i + 1 < ln->n && ln->km[i] < km) {
        i++;
    }
    if (ln->n < 2) {
        return ln->n ? json_pack("[f,f]", ln->xy[0], ln->xy[1]) : json_null();
    }
    double span = ln->km[i] - ln->km[i - 1];
    double t = span > 0 ? (km - ln->km[i - 1]) / span : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double lon = ln->xy[2 * (i - 1)] + t * (ln->xy[2 * i] - ln->xy[2 * (i - 1)]);
    double lat = ln->xy[2 * (i - 1) + 1] + t * (ln->xy[2 * i + 1] - ln->xy[2 * (i - 1) + 1]);
    return json_pack("[f,f]", round(lon * 1e7) / 1e7, round(lat * 1e7) / 1e7);
}

/* The calendar day i days after date (YYYY-MM-DD). */
static void day_after(const char *date, int i, char out[11])
{
    struct tm tm = {0};
    if (sscanf(date, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3) {
        snprintf(out, 11, "%.10s", date);
        return;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_mday += i;
    tm.tm_hour = 12;
    time_t t = timegm(&tm);
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

typedef struct {
    json_t *days;
    json_t *stops;
    double from_km, elapsed_h;
    const line *ln;
    const char *date;
} day_walk;

static void close_day(day_walk *w, double to_km)
{
    char d[11];
    day_after(w->date, (int)json_array_size(w->days), d);
    json_array_append_new(w->days,
                          json_pack("{s:I, s:s, s:f, s:f, s:f, s:o, s:o, s:o}", "day",
                                    (json_int_t)json_array_size(w->days) + 1, "date", d, "from_km",
                                    round3(w->from_km), "to_km", round3(to_km), "time_h",
                                    round3(w->elapsed_h), "start", point_at(w->ln, w->from_km),
                                    "end", point_at(w->ln, to_km), "stops", w->stops));
    w->stops = json_array();
    w->from_km = to_km;
    w->elapsed_h = 0;
}

/* The route split into days of at most max_h: travel splits where the day's time runs out; a
 * stop and its dwell stay together (on the next day when they do not fit). */
static json_t *days_json(const line *ln, const stop_list *sl, const pace *pc, double max_h,
                         const char *date)
{
    day_walk w = {json_array(), json_array(), 0, 0, ln, date};
    double at_km = 0, dwell_h = pc->dwell_min / 60.0;
    double end_km = ln->n ? ln->km[ln->n - 1] : 0;
    for (size_t k = 0; k <= sl->n; k++) {
        double target = k < sl->n ? sl->a[k].km : end_km;
        double travel = (target - at_km) / pc->speed_kmh;
        while (w.elapsed_h + travel > max_h + 1e-9) {
            double can = max_h - w.elapsed_h;
            at_km += can * pc->speed_kmh;
            travel -= can;
            w.elapsed_h = max_h;
            close_day(&w, at_km);
        }
        w.elapsed_h += travel;
        at_km = target;
        if (k == sl->n) {
            break;
        }
        if (w.elapsed_h > 0 && w.elapsed_h + dwell_h > max_h + 1e-9) {
            close_day(&w, at_km);
        }
        json_array_append_new(w.stops, json_integer((json_int_t)k + 1));
        w.elapsed_h += dwell_h;
    }
    if (w.elapsed_h > 0 || json_array_size(w.stops) || json_array_size(w.days) == 0) {
        close_day(&w, end_km);
    }
    json_decref(w.stops);
    return w.days;
}

/* The plan of a routed patrol: stops, legs, times, the route's reaches and line. */
static json_t *plan_json(sqlite3 *db, const cr_patrol_request *req, const planner *pl,
                         const line *ln, size_t n_selected, size_t unreachable)
{
    const cr_graph *g = pl->g;
    char today[21];
    cr_now_iso8601(today);
    today[10] = '\0';
    const char *date = req->date ? req->date : today;
    pace pc = {req->speed_kmh > 0 ? req->speed_kmh
               : req->on_foot     ? 4.0
                                  : 10.0,
               req->dwell_min >= 0 ? req->dwell_min : 10.0};
    uint8_t *route_reach = cr_xcalloc((size_t)g->n_reaches + 1, 1);
    cr_strbuf lakes = {0};
    json_t *reaches = route_reaches(pl, ln, route_reach, &lakes);
    route_view rv = {g,
                     ln,
                     route_reach,
                     lakes.data ? lakes.data : "",
                     req->radius_m > 0 ? req->radius_m : 300.0,
                     date};
    stop_list sl = {0};
    for (size_t k = 0; k < sizeof STOP_SQL / sizeof STOP_SQL[0]; k++) {
        if (req->stop_kinds == NULL || list_match(req->stop_kinds, STOP_SQL[k][1], 0)) {
            collect(db, STOP_SQL[k][2], STOP_SQL[k][0], &rv, &sl);
        }
    }
    if (sl.n > 1) {
        qsort(sl.a, sl.n, sizeof *sl.a, stop_cmp);
    }
    size_t n_pieces = 0;
    piece *pieces = jurisdiction_pieces(db, g, pl, ln, &n_pieces);
    json_t *legs = legs_json(db, pieces, n_pieces, &sl, &pc, req->access);
    json_t *stops = stops_json(&sl, pieces, n_pieces);
    json_t *coords = json_array();
    for (size_t i = 0; i < ln->n; i++) {
        json_array_append_new(coords, json_pack("[f,f]", round(ln->xy[2 * i] * 1e7) / 1e7,
                                                round(ln->xy[2 * i + 1] * 1e7) / 1e7));
    }
    double length = ln->n ? ln->km[ln->n - 1] : 0;
    double speed = pc.speed_kmh, dwell = pc.dwell_min;
    json_t *days = req->day_hours > 0 ? days_json(ln, &sl, &pc, req->day_hours, date) : NULL;
    json_t *out = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:{s:o, s:o}, s:o, s:o}", "date",
        date, "mode", req->on_foot ? "foot" : "boat", "rivers", req->rivers, "reaches_asked",
        req->reaches, "speed_kmh", speed, "dwell_min", dwell, "length_km", round3(length),
        "travel_h", round3(length / speed), "time_h",
        round3(length / speed + (double)sl.n * dwell / 60.0), "selected_reaches",
        (json_int_t)n_selected, "unreachable_reaches", (json_int_t)unreachable, "route", "reaches",
        reaches, "coordinates", coords, "legs", legs, "stops", stops);
    if (days) {
        json_object_set_new(out, "day_hours", json_real(req->day_hours));
        json_object_set_new(out, "days", days);
    }
    if (req->stop_kinds) {
        json_object_set_new(out, "stop_kinds", json_string(req->stop_kinds));
    }
    free(pieces);
    free(sl.a);
    free(route_reach);
    cr_strbuf_cleanup(&lakes);
    return out;
}

cr_status cr_patrol_plan(cr_store *store, const cr_graph *g, const cr_patrol_request *req,
                         json_t **out, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    planner pl = {g,
                  cr_xcalloc((size_t)g->n_reaches + 1, 1),
                  cr_xcalloc((size_t)g->n_reaches + 1, 1),
                  -1,
                  NULL,
                  0,
                  0};
    size_t n_selected = select_reaches(db, req, &pl);
    cr_status rc = CR_OK;
    for (const char *p = req->stop_kinds; p && *p && rc == CR_OK;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int known = 0;
        for (size_t k = 0; k < sizeof STOP_SQL / sizeof STOP_SQL[0]; k++) {
            known |= strlen(STOP_SQL[k][1]) == len && strncmp(STOP_SQL[k][1], p, len) == 0;
        }
        if (!known) {
            rc = cr_error_set(err, CR_EINVAL,
                              "stops: '%.*s' is not a stop kind (hyacinth, outfall, section, "
                              "finding)",
                              (int)len, p);
        }
        p = end ? end + 1 : NULL;
    }
    if (rc == CR_OK && n_selected == 0) {
        rc = cr_error_set(err, CR_ENOTFOUND, "no reach in the network matches %s%s%s",
                          req->rivers ? req->rivers : "", req->rivers && req->reaches ? " / " : "",
                          req->reaches ? req->reaches : "");
    }
    int32_t start = -1, end = -1;
    const cr_reach_index *rx = req->reach_index;
    cr_reach_index *own = NULL;
    if (rc == CR_OK && req->has_from) {
        start = node_for_point(store, g, req->from, &rx, &own);
        if (start < 0) {
            rc = cr_error_set(err, CR_ENOTFOUND,
                              "from: %.6f,%.6f is more than 2 km from every reach of the network",
                              req->from[0], req->from[1]);
        }
    } else if (rc == CR_OK) {
        start = default_start(&pl);
    }
    if (rc == CR_OK && req->has_to) {
        end = node_for_point(store, g, req->to, &rx, &own);
        if (end < 0) {
            rc = cr_error_set(err, CR_ENOTFOUND,
                              "to: %.6f,%.6f is more than 2 km from every reach of the network",
                              req->to[0], req->to[1]);
        }
    }
    cr_reach_index_free(own);
    size_t unreachable = 0;
    if (rc == CR_OK) {
        rc = plan_route(&pl, start, end, &unreachable, err);
    }
    line ln = {0};
    if (rc == CR_OK) {
        rc = route_line(db, g, &pl, &ln, err);
    }
    if (rc == CR_OK) {
        *out = plan_json(db, req, &pl, &ln, n_selected, unreachable);
    }
    free(ln.xy);
    free(ln.km);
    free(ln.from_km);
    free(ln.to_km);
    free(pl.selected);
    free(pl.done);
    free(pl.steps);
    return rc;
}
