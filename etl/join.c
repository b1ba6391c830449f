/* SPDX-License-Identifier: MIT */
/* Spatial joins. Reference data is loaded once: reaches into a segment index, admin units and
 * zones as GEOS prepared geometries in STRtrees, county rings into a boundary index.
 * Rule: a cr_join_ref owns one GEOS context and is used by one thread at a time. */
#include "join.h"

#include "geo/geo.h"
#include "geo/handlers.h"
#include "network/network.h"

#include <geos_c.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A point far from every reach gets its nearest-reach distance searched up to this far. */
#define NEAREST_SEARCH_MAX_M 20000.0
/* The named river is searched this far for the GCJ-02-shift check. */
#define NAMED_RIVER_SEARCH_M 1000.0
/* Across a boundary: another county's edge within this distance of the nearest edge point. */
#define ACROSS_TOLERANCE_M 250.0
/* From this many points a join rewrites the derived table without its indexes, then makes them. */
#define BULK_ROWS 20000
/* Rows ahead whose memory is fetched early where rows are visited in one order and their data
 * lies in another (the points in map order, their parts in row order; see reach_ahead). */
enum { READ_AHEAD = 8 };

typedef struct {
    char *code;                       /* adcode */
    char *name;                       /* as stored */
    char *folded;                     /* name folded, for matching claims */
    char *province;                   /* province_code */
    GEOSGeometry *geom;               /* owned */
    const GEOSPreparedGeometry *prep; /* owned */
} admin_unit;

typedef struct {
    int64_t fid; /* row */
    char *id;    /* zone_id */
    char *grade; /* "1", "2" or "quasi" */
    int rank;    /* 1 strictest .. 3 */
    GEOSGeometry *geom;
    const GEOSPreparedGeometry *prep;
} zone;

typedef cr_indexed_reach reach; /* the reach index's (network/reach_index.c) */

struct cr_join_ref {
    GEOSContextHandle_t geos;
    /* The reach index loads on a thread of its own while the rest of the ref loads and a join
     * prepares its points (the connection is shared: SQLite serialises it); every use of the
     * reaches waits for it first (reaches_ready). */
    pthread_t loader;
    int loading;          /* the loader has been started and not yet joined */
    pthread_mutex_t wait; /* one waiter joins the loader */
    cr_store *store;      /* for the loader */
    char *path;           /* the store's file, when the loader may read it on its own */
    cr_status reach_rc;   /* the loader's result */
    cr_error reach_err;
    cr_reach_index *rx; /* owned; the fields below borrow from it */
    const reach *reaches;
    size_t n_reaches;
    const double *coords;        /* all reach vertices, lon,lat pairs */
    const cr_segindex *reach_ix; /* owner = reach index */
    admin_unit *units;           /* counties first, then towns */
    size_t n_counties, n_towns;
    GEOSSTRtree *county_tree, *town_tree, *zone_tree, *lake_tree;
    zone *lakes; /* lakes (zone struct: id, geometry; grade unused) */
    size_t n_lakes;
    zone *zones;
    size_t n_zones;
    cr_segindex *boundary_ix;   /* county rings, owner = county index */
    cr_segindex **county_ix;    /* per county: its own rings, for its boundary distance */
    cr_geos_messages geos_msgs; /* GEOS errors: logged as warnings */
};

/* ---- loading ------------------------------------------------------------------------- */

static cr_status prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, cr_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        return cr_error_set(err, CR_EDB, "join: %s", sqlite3_errmsg(db));
    }
    return CR_OK;
}

static char *column_dup(sqlite3_stmt *st, int i)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    return cr_xstrdup(v ? v : "");
}

static void *load_reaches(void *arg)
{
    cr_join_ref *ref = arg;
    double t = cr_monotonic_s();
    cr_store *own = NULL;
    if (ref->path != NULL) {
        /* a connection of its own: sharing one would serialise both threads' reading */
        ref->reach_rc =
            cr_store_open_readonly(ref->path, cr_store_layers(ref->store), &own, &ref->reach_err);
    }
    if (ref->reach_rc == CR_OK) {
        ref->reach_rc = cr_reach_index_load(own ? own : ref->store, &ref->rx, &ref->reach_err);
    }
    cr_store_close(own);
    if (ref->reach_rc == CR_OK) {
        ref->reaches = ref->rx->reaches;
        ref->n_reaches = ref->rx->n;
        ref->coords = ref->rx->coords;
        ref->reach_ix = ref->rx->ix;
    }
    cr_log(CR_LOG_INFO, "join", "load and index reaches (on its own thread): %.3f s",
           cr_monotonic_s() - t);
    return NULL;
}

/* Wait for the reach index (any thread; the first one joins the loader). */
static cr_status reaches_ready(const cr_join_ref *cref, cr_error *err)
{
    cr_join_ref *ref = (cr_join_ref *)cref; /* the loader's fields, written once */
    pthread_mutex_lock(&ref->wait);
    if (ref->loading) {
        pthread_join(ref->loader, NULL);
        ref->loading = 0;
    }
    pthread_mutex_unlock(&ref->wait);
    if (ref->reach_rc != CR_OK && err != NULL) {
        *err = ref->reach_err;
    }
    return ref->reach_rc;
}

static GEOSGeometry *read_wkb(cr_join_ref *ref, sqlite3_stmt *st, int col)
{
    GEOSWKBReader *r = GEOSWKBReader_create_r(ref->geos);
    GEOSGeometry *g = GEOSWKBReader_read_r(ref->geos, r, sqlite3_column_blob(st, col),
                                           (size_t)sqlite3_column_bytes(st, col));
    GEOSWKBReader_destroy_r(ref->geos, r);
    return g;
}

/* Add every ring of a (multi)polygon to ix under owner. */
static void index_rings(cr_join_ref *ref, cr_segindex *ix, const GEOSGeometry *g, int32_t owner)
{
    int np = GEOSGetNumGeometries_r(ref->geos, g);
    for (int p = 0; p < np; p++) {
        const GEOSGeometry *poly = GEOSGetGeometryN_r(ref->geos, g, p);
        int nholes = GEOSGetNumInteriorRings_r(ref->geos, poly);
        for (int k = -1; k < nholes; k++) {
            const GEOSGeometry *ring = k < 0 ? GEOSGetExteriorRing_r(ref->geos, poly)
                                             : GEOSGetInteriorRingN_r(ref->geos, poly, k);
            const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ref->geos, ring);
            unsigned int n = 0;
            GEOSCoordSeq_getSize_r(ref->geos, seq, &n);
            double *xy = cr_xmalloc((size_t)n * 2 * sizeof *xy);
            for (unsigned int i = 0; i < n; i++) {
                GEOSCoordSeq_getXY_r(ref->geos, seq, i, &xy[2 * i], &xy[2 * i + 1]);
            }
            cr_segindex_add_line(ix, owner, xy, n);
            free(xy);
        }
    }
}

static cr_status load_admin(cr_join_ref *ref, sqlite3 *db, cr_error *err)
{
    sqlite3_stmt *st;
    cr_status rc = prepare(db,
                           "SELECT source_id, name, level, province_code, AsBinary(geom)"
                           " FROM admin_units WHERE valid_to IS NULL AND geom IS NOT NULL"
                           " AND level IN ('county', 'town')"
                           " ORDER BY level = 'town', source_id",
                           &st, err);
    if (rc != CR_OK) {
        return rc;
    }
    size_t cap = 0;
    ref->county_tree = GEOSSTRtree_create_r(ref->geos, 10);
    ref->town_tree = GEOSSTRtree_create_r(ref->geos, 10);
    ref->boundary_ix = cr_segindex_new();
    while (sqlite3_step(st) == SQLITE_ROW) {
        GEOSGeometry *g = read_wkb(ref, st, 4);
        if (g == NULL) {
            continue;
        }
        if (ref->n_counties + ref->n_towns == cap) {
            cap = cap ? cap * 2 : 64;
            ref->units = cr_xrealloc(ref->units, cap * sizeof *ref->units);
        }
        size_t i = ref->n_counties + ref->n_towns;
        admin_unit *u = &ref->units[i];
        u->code = column_dup(st, 0);
        u->name = column_dup(st, 1);
        u->folded = cr_text_fold(u->name);
        u->province = column_dup(st, 3);
        u->geom = g;
        u->prep = GEOSPrepare_r(ref->geos, g);
        int county = strcmp((const char *)sqlite3_column_text(st, 2), "county") == 0;
        GEOSSTRtree_insert_r(ref->geos, county ? ref->county_tree : ref->town_tree, g,
                             (void *)(intptr_t)i);
        if (county) {
            index_rings(ref, ref->boundary_ix, g, (int32_t)i);
            ref->county_ix = cr_xrealloc(ref->county_ix, (i + 1) * sizeof *ref->county_ix);
            ref->county_ix[i] = cr_segindex_new();
            index_rings(ref, ref->county_ix[i], g, (int32_t)i);
            cr_segindex_build(ref->county_ix[i]);
            ref->n_counties++;
        } else {
            ref->n_towns++;
        }
    }
    sqlite3_finalize(st);
    cr_segindex_build(ref->boundary_ix);
    return CR_OK;
}

static int grade_rank(const char *g)
{
    return strcmp(g, "1") == 0 ? 1 : strcmp(g, "2") == 0 ? 2 : 3;
}

static void free_polygons(cr_join_ref *ref, zone *items, size_t n);

/* Load polygons (fid, id, grade-or-NULL, geometry) into *items and an STRtree. */
static cr_status load_polygons(cr_join_ref *ref, sqlite3 *db, const char *sql, zone **items,
                               size_t *n_items, GEOSSTRtree **tree, cr_error *err)
{
    sqlite3_stmt *st;
    cr_status rc = prepare(db, sql, &st, err);
    if (rc != CR_OK) {
        return rc;
    }
    size_t cap = 0;
    *tree = GEOSSTRtree_create_r(ref->geos, 10);
    while (sqlite3_step(st) == SQLITE_ROW) {
        GEOSGeometry *g = read_wkb(ref, st, 3);
        if (g == NULL) {
            continue;
        }
        if (*n_items == cap) {
            cap = cap ? cap * 2 : 16;
            *items = cr_xrealloc(*items, cap * sizeof **items);
        }
        zone *z = &(*items)[*n_items];
        z->fid = sqlite3_column_int64(st, 0);
        z->id = column_dup(st, 1);
        z->grade = column_dup(st, 2);
        z->rank = grade_rank(z->grade);
        z->geom = g;
        z->prep = GEOSPrepare_r(ref->geos, g);
        GEOSSTRtree_insert_r(ref->geos, *tree, g, (void *)(intptr_t)*n_items);
        (*n_items)++;
    }
    sqlite3_finalize(st);
    return CR_OK;
}

static cr_status load_zones(cr_join_ref *ref, sqlite3 *db, cr_error *err)
{
    cr_status rc = load_polygons(ref, db,
                                 "SELECT fid, source_id, grade, AsBinary(geom) FROM"
                                 " protection_zones WHERE valid_to IS NULL AND geom IS NOT NULL"
                                 " ORDER BY source_id",
                                 &ref->zones, &ref->n_zones, &ref->zone_tree, err);
    if (rc == CR_OK) {
        rc = load_polygons(ref, db,
                           "SELECT fid, source_id, NULL, AsBinary(geom) FROM lakes"
                           " WHERE valid_to IS NULL AND geom IS NOT NULL ORDER BY source_id",
                           &ref->lakes, &ref->n_lakes, &ref->lake_tree, err);
    }
    return rc;
}

/* Log how long the phase since *t took (`crossriver join -v -v`). */
static void phase(double *t, const char *what)
{
    double now = cr_monotonic_s();
    cr_log(CR_LOG_INFO, "join", "%s: %.3f s", what, now - *t);
    *t = now;
}

cr_status cr_join_ref_load(cr_store *store, cr_join_ref **out, cr_error *err)
{
    double t = cr_monotonic_s();
    cr_join_ref *ref = cr_xcalloc(1, sizeof *ref);
    ref->geos = cr_geos_init(&ref->geos_msgs, "join", CR_LOG_WARN);
    sqlite3 *db = cr_store_db(store);
    pthread_mutex_init(&ref->wait, NULL);
    ref->store = store;
    /* Outside a transaction a second connection reads what this one would (the committed
     * state); inside one (a join right after an import) it would not see the import: then
     * the reaches load here, first. */
    const char *file = sqlite3_db_filename(db, "main");
    if (sqlite3_get_autocommit(db) && file != NULL && *file != '\0') {
        ref->path = cr_xstrdup(file);
        ref->loading = pthread_create(&ref->loader, NULL, load_reaches, ref) == 0;
    }
    if (!ref->loading) {
        free(ref->path);
        ref->path = NULL;
        load_reaches(ref); /* on this connection, here and now */
    }
    cr_status rc = load_admin(ref, db, err);
    phase(&t, "load admin units");
    if (rc == CR_OK) {
        rc = load_zones(ref, db, err);
        phase(&t, "load zones and lakes");
    }
    if (rc != CR_OK) {
        cr_join_ref_free(ref);
        return rc;
    }
    /* STRtrees build on first query; query once now so the ref is read-only afterwards */
    *out = ref;
    return CR_OK;
}

static void free_polygons(cr_join_ref *ref, zone *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        GEOSPreparedGeom_destroy_r(ref->geos, items[i].prep);
        GEOSGeom_destroy_r(ref->geos, items[i].geom);
        free(items[i].id);
        free(items[i].grade);
    }
    free(items);
}

void cr_join_ref_free(cr_join_ref *ref)
{
    if (ref == NULL) {
        return;
    }
    reaches_ready(ref, NULL);
    pthread_mutex_destroy(&ref->wait);
    free(ref->path);
    cr_reach_index_free(ref->rx);
    cr_segindex_free(ref->boundary_ix);
    for (size_t i = 0; i < ref->n_counties; i++) {
        cr_segindex_free(ref->county_ix[i]);
    }
    free(ref->county_ix);
    for (size_t i = 0; i < ref->n_counties + ref->n_towns; i++) {
        admin_unit *u = &ref->units[i];
        GEOSPreparedGeom_destroy_r(ref->geos, u->prep);
        GEOSGeom_destroy_r(ref->geos, u->geom);
        free(u->code);
        free(u->name);
        free(u->folded);
        free(u->province);
    }
    free(ref->units);
    free_polygons(ref, ref->zones, ref->n_zones);
    free_polygons(ref, ref->lakes, ref->n_lakes);
    if (ref->county_tree) {
        GEOSSTRtree_destroy_r(ref->geos, ref->county_tree);
        GEOSSTRtree_destroy_r(ref->geos, ref->town_tree);
    }
    if (ref->zone_tree) {
        GEOSSTRtree_destroy_r(ref->geos, ref->zone_tree);
    }
    if (ref->lake_tree) {
        GEOSSTRtree_destroy_r(ref->geos, ref->lake_tree);
    }
    GEOS_finish_r(ref->geos);
    free(ref);
}

/* ---- one point ----------------------------------------------------------------------- */

typedef struct {
    cr_join_ref *ref;
    const GEOSGeometry *point;
    intptr_t hits[8]; /* containing items, lowest first */
    int n_hits;
} contain_query;

static void contain_cb(void *item, void *user)
{
    contain_query *q = user;
    intptr_t i = (intptr_t)item;
    if (q->n_hits < 8) {
        q->hits[q->n_hits++] = i;
    }
}

/* Items of tree whose prepared geometry contains or touches the point (boundary included),
 * sorted by index (= by code), so ties break deterministically. */
static int containing(cr_join_ref *ref, GEOSSTRtree *tree, const GEOSGeometry *pt,
                      const GEOSPreparedGeometry *(*prep_of)(const cr_join_ref *, intptr_t),
                      intptr_t *out)
{
    contain_query q = {ref, pt, {0}, 0};
    GEOSSTRtree_query_r(ref->geos, tree, pt, contain_cb, &q);
    int n = 0;
    for (int k = 0; k < q.n_hits; k++) {
        if (GEOSPreparedIntersects_r(ref->geos, prep_of(ref, q.hits[k]), pt) == 1) {
            out[n++] = q.hits[k];
        }
    }
    for (int a = 1; a < n; a++) {
        for (int b = a; b > 0 && out[b] < out[b - 1]; b--) {
            intptr_t t = out[b];
            out[b] = out[b - 1];
            out[b - 1] = t;
        }
    }
    return n;
}

static const GEOSPreparedGeometry *unit_prep(const cr_join_ref *ref, intptr_t i)
{
    return ref->units[i].prep;
}

static const GEOSPreparedGeometry *zone_prep(const cr_join_ref *ref, intptr_t i)
{
    return ref->zones[i].prep;
}

static const GEOSPreparedGeometry *lake_prep(const cr_join_ref *ref, intptr_t i)
{
    return ref->lakes[i].prep;
}

static int names_match(const char *a_folded, const char *b_folded)
{
    return cr_reach_names_match(a_folded, b_folded);
}

typedef struct {
    const cr_join_ref *ref;
    const char *folded; /* river name wanted */
    int32_t county;     /* county owner wanted / excluded */
} filter_user;

static int reach_named(void *user, int32_t owner)
{
    filter_user *f = user;
    return names_match(f->ref->reaches[owner].folded, f->folded);
}

static int owner_is_not(void *user, int32_t owner)
{
    return owner != ((filter_user *)user)->county;
}

/* A point's join runs in parts so a layer can use both cores without sharing GEOS objects:
 * the admin part (GEOS: lake, county, town, zone) on one thread, the reach part (the segment
 * index only) on another, then the boundary part (segment indexes, needs the county); each row
 * is then merged from its parts into the joined values as it is written, in row order. */
typedef struct {
    int32_t reach; /* matched reach index, or -1 */
    double dist_m; /* to the matched reach */
    double measure_m;
    int side;
    double nearest_m;   /* nearest reach at all (within 20 km), or -1 */
    int river_mismatch; /* the record names another river than the matched reach's */
    double named_m;     /* distance to the named river within 1 km when unmatched or mismatched,
                           or -1 */
} reach_part;

typedef struct {
    int32_t lake, county, town, zone; /* indexes, or -1 */
    int on_boundary;                  /* contained by two counties */
    int province_mismatch;            /* claimed county in another province */
    double boundary_m;                /* to the county's nearest edge, or -1 */
    int32_t across;                   /* county across that edge, or -1 */
} admin_part;

/* near: the nearest reach segment of a neighbouring point, where the search starts (or NULL);
 * it gets this point's, when it has one. */
static void part_reach(const cr_join_ref *ref, double lon, double lat, double tol,
                       const char *river, reach_part *r, cr_seg_hit *near)
{
    cr_seg_hit h;
    r->reach = -1;
    r->nearest_m = -1;
    r->named_m = -1;
    r->river_mismatch = 0;
    if (cr_segindex_nearest_from(ref->reach_ix, lon, lat, tol, NULL, NULL, near, &h)) {
        if (near != NULL) {
            *near = h;
        }
        r->reach = h.owner;
        r->dist_m = h.dist_m;
        r->nearest_m = h.dist_m;
        r->measure_m = h.measure_m;
        r->side = h.side;
    } else if (cr_segindex_nearest(ref->reach_ix, lon, lat, NEAREST_SEARCH_MAX_M, NULL, NULL, &h)) {
        r->nearest_m = h.dist_m;
    }
    if (river == NULL || *river == '\0') {
        return;
    }
    char *folded = cr_text_fold(river);
    r->river_mismatch = r->reach >= 0 && !names_match(ref->reaches[r->reach].folded, folded);
    if (r->river_mismatch || r->reach < 0) {
        filter_user fu = {ref, folded, 0};
        cr_seg_hit nh;
        if (cr_segindex_nearest(ref->reach_ix, lon, lat, NAMED_RIVER_SEARCH_M, reach_named, &fu,
                                &nh)) {
            r->named_m = nh.dist_m;
        }
    }
    free(folded);
}

/* GEOS only; uses the ref's context, so one thread at a time. */
static void part_admin(cr_join_ref *ref, double lon, double lat, const char *claimed, admin_part *a)
{
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ref->geos, lon, lat);
    intptr_t hits[8];
    a->lake = containing(ref, ref->lake_tree, pt, lake_prep, hits) > 0 ? (int32_t)hits[0] : -1;
    int n = containing(ref, ref->county_tree, pt, unit_prep, hits);
    a->county = n > 0 ? (int32_t)hits[0] : -1;
    a->on_boundary = n > 1;
    a->province_mismatch = 0;
    a->boundary_m = -1;
    a->across = -1;
    if (n > 0 && claimed && *claimed) {
        const admin_unit *c = &ref->units[hits[0]];
        char *f = cr_text_fold(claimed);
        for (size_t i = 0; i < ref->n_counties; i++) {
            const admin_unit *u = &ref->units[i];
            if ((strcmp(u->code, claimed) == 0 || names_match(u->folded, f)) &&
                strcmp(u->province, c->province) != 0) {
                a->province_mismatch = 1;
                break;
            }
        }
        free(f);
    }
    n = containing(ref, ref->town_tree, pt, unit_prep, hits);
    a->town = n > 0 ? (int32_t)hits[0] : -1;
    n = containing(ref, ref->zone_tree, pt, zone_prep, hits);
    a->zone = -1;
    for (int k = 0; k < n; k++) {
        if (a->zone < 0 || ref->zones[hits[k]].rank < ref->zones[a->zone].rank) {
            a->zone = (int32_t)hits[k];
        }
    }
    GEOSGeom_destroy_r(ref->geos, pt);
}

/* A neighbouring point's nearest edge of its county, where a boundary search starts. */
typedef struct {
    int32_t county; /* -1: none yet */
    cr_seg_hit hit;
} edge_near;

/* Segment indexes only: safe on any thread. near (or NULL): see edge_near; it gets this
 * point's. */
static void part_boundary(const cr_join_ref *ref, double lon, double lat, admin_part *a,
                          edge_near *near)
{
    if (a->county < 0) {
        return;
    }
    cr_seg_hit h;
    const cr_seg_hit *from = near && near->county == a->county ? &near->hit : NULL;
    if (cr_segindex_nearest_from(ref->county_ix[a->county], lon, lat, 1e7, NULL, NULL, from, &h)) {
        if (near != NULL) {
            near->county = a->county;
            near->hit = h;
        }
        a->boundary_m = h.dist_m;
        filter_user fu = {ref, NULL, a->county};
        int32_t across = cr_segindex_nearest_owner(ref->boundary_ix, h.lon, h.lat,
                                                   ACROSS_TOLERANCE_M, owner_is_not, &fu);
        a->across = across >= 0 ? across : a->across;
    }
}

/* text into a fixed field, cut to fit (no format to parse: this runs per point) */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    n = n < size ? n : size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A point's joined values, the strings borrowed from the ref (what a row of the derived table
 * is bound from, and cr_join_point is copied from). */
enum {
    FLAG_UNMATCHED = 1,
    FLAG_RIVER_MISMATCH = 2,
    FLAG_GCJ02 = 4,
    FLAG_OUTSIDE = 8,
    FLAG_ON_BOUNDARY = 16,
    FLAG_PROVINCE = 32,
};
static const char *const FLAG_NAMES[] = {"unmatched",           "river_mismatch",
                                         "gcj02_shift_suspect", "outside_jurisdictions",
                                         "on_boundary",         "province_mismatch"};

typedef struct {
    const char *reach_id, *lake_id, *bank, *county_code, *town_code, *zone_id, *zone_grade,
        *boundary_across; /* NULL when none */
    double reach_distance_m, measure_m, offset_m, boundary_distance_m;
    unsigned flags; /* FLAG_* */
} joined;

static void merge_joined(const cr_join_ref *ref, const reach_part *r, const admin_part *a,
                         joined *j)
{
    memset(j, 0, sizeof *j);
    if (a->lake >= 0) {
        j->lake_id = ref->lakes[a->lake].id;
    }
    j->reach_distance_m = r->nearest_m;
    if (r->reach >= 0) {
        j->reach_id = ref->reaches[r->reach].id;
        j->measure_m = r->measure_m;
        j->offset_m = r->dist_m;
        j->bank = r->side > 0 ? "left" : r->side < 0 ? "right" : "on";
    } else if (a->lake < 0) {
        j->flags |= FLAG_UNMATCHED; /* a point in a lake belongs to the lake's node */
    }
    if (r->river_mismatch) {
        j->flags |= FLAG_RIVER_MISMATCH;
    }
    if ((r->river_mismatch || (r->reach < 0 && a->lake < 0)) && r->named_m >= 400.0 &&
        r->named_m <= 600.0) {
        /* the size of the GCJ-02 offset here: likely a Gaode/Tencent coordinate */
        j->flags |= FLAG_GCJ02;
    }
    if (a->county < 0) {
        j->flags |= FLAG_OUTSIDE;
    } else {
        j->county_code = ref->units[a->county].code;
        j->flags |= a->on_boundary ? FLAG_ON_BOUNDARY : 0;
        j->flags |= a->province_mismatch ? FLAG_PROVINCE : 0;
    }
    j->boundary_distance_m = a->boundary_m;
    if (a->across >= 0) {
        j->boundary_across = ref->units[a->across].code;
    }
    if (a->town >= 0) {
        j->town_code = ref->units[a->town].code;
    }
    if (a->zone >= 0) {
        j->zone_id = ref->zones[a->zone].id;
        j->zone_grade = ref->zones[a->zone].grade;
    }
}

/* The review flags as stored: ";"-separated, in FLAG_* order. */
static void flags_text(unsigned flags, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < sizeof FLAG_NAMES / sizeof *FLAG_NAMES; k++) {
        if (flags & (1u << k)) {
            int w = snprintf(out + used, size - used, "%s%s", used ? ";" : "", FLAG_NAMES[k]);
            used = w < 0 || (size_t)w >= size - used ? size - 1 : used + (size_t)w;
        }
    }
}

static void merge(const cr_join_ref *ref, const reach_part *r, const admin_part *a,
                  cr_join_point *p)
{
    joined j;
    merge_joined(ref, r, a, &j);
    memset(p, 0, sizeof *p);
    copy_text(p->reach_id, sizeof p->reach_id, j.reach_id ? j.reach_id : "");
    copy_text(p->lake_id, sizeof p->lake_id, j.lake_id ? j.lake_id : "");
    p->reach_distance_m = j.reach_distance_m;
    p->measure_m = j.measure_m;
    p->offset_m = j.offset_m;
    p->bank = j.bank;
    copy_text(p->county_code, sizeof p->county_code, j.county_code ? j.county_code : "");
    copy_text(p->town_code, sizeof p->town_code, j.town_code ? j.town_code : "");
    copy_text(p->zone_id, sizeof p->zone_id, j.zone_id ? j.zone_id : "");
    copy_text(p->zone_grade, sizeof p->zone_grade, j.zone_grade ? j.zone_grade : "");
    p->boundary_distance_m = j.boundary_distance_m;
    copy_text(p->boundary_across, sizeof p->boundary_across,
              j.boundary_across ? j.boundary_across : "");
    flags_text(j.flags, p->flags, sizeof p->flags);
}

int cr_join_nearest_reach(const cr_join_ref *ref, double lon, double lat, double max_m,
                          char reach_id_out[64], double *measure_out, double *offset_out)
{
    if (reaches_ready(ref, NULL) != CR_OK) {
        return 0;
    }
    cr_seg_hit h;
    if (!cr_segindex_nearest(ref->reach_ix, lon, lat, max_m, NULL, NULL, &h)) {
        return 0;
    }
    snprintf(reach_id_out, 64, "%s", ref->reaches[h.owner].id);
    *measure_out = h.measure_m;
    *offset_out = h.dist_m;
    return 1;
}

double cr_join_river_distance(const cr_join_ref *ref, double lon, double lat, const char *river,
                              double max_m)
{
    if (reaches_ready(ref, NULL) != CR_OK) {
        return -1;
    }
    cr_seg_hit h;
    if (river == NULL || *river == '\0') {
        return cr_segindex_nearest(ref->reach_ix, lon, lat, max_m, NULL, NULL, &h) ? h.dist_m : -1;
    }
    char *folded = cr_text_fold(river);
    filter_user fu = {ref, folded, 0};
    int found = cr_segindex_nearest(ref->reach_ix, lon, lat, max_m, reach_named, &fu, &h);
    free(folded);
    return found ? h.dist_m : -1;
}

void cr_join_point_compute(const cr_join_ref *cref, double lon, double lat, double tolerance_m,
                           const char *river_name, const char *claimed_county, cr_join_point *out)
{
    cr_join_ref *ref = (cr_join_ref *)cref; /* GEOS queries need the (owned) context */
    reach_part r = {.reach = -1, .nearest_m = -1, .named_m = -1};
    admin_part a;
    part_admin(ref, lon, lat, claimed_county, &a);
    if (reaches_ready(ref, NULL) == CR_OK) {
        part_reach(ref, lon, lat, tolerance_m, river_name, &r, NULL);
    }
    part_boundary(ref, lon, lat, &a, NULL);
    merge(ref, &r, &a, out);
}

/* ---- layers -------------------------------------------------------------------------- */

static int blank(const char *v)
{
    return v == NULL || *v == '\0';
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v) {
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC); /* valid until the step is done */
    } else {
        sqlite3_bind_null(st, i);
    }
}

static void bind_real(sqlite3_stmt *st, int i, double v, int present)
{
    if (present) {
        sqlite3_bind_double(st, i, round(v * 100.0) / 100.0); /* centimetres */
    } else {
        sqlite3_bind_null(st, i);
    }
}

typedef struct {
    int64_t fid;
    double lon, lat;
    char *river;
    char *county;
    uint64_t order; /* position on a Z-order curve: neighbours on the map are joined together */
    size_t read_at; /* position in row (fid) order */
} point_row;

/* The Z-order (Morton) key of a point: 2^24 steps per degree range, bits interleaved. */
static uint64_t z_order(double lon, double lat)
{
    double fx = (lon + 180.0) / 360.0;
    double fy = (lat + 90.0) / 180.0;
    uint64_t x = (uint64_t)(fmin(fmax(fx, 0), 1) * 16777215.0);
    uint64_t y = (uint64_t)(fmin(fmax(fy, 0), 1) * 16777215.0);
    uint64_t key = 0;
    for (int b = 23; b >= 0; b--) {
        key = (key << 2) | (((y >> b) & 1) << 1) | ((x >> b) & 1);
    }
    return key;
}

/* rows (in row order; freed) in Z-order, ties in row order (48-bit keys). */
static point_row *in_map_order(point_row *rows, size_t n)
{
    uint64_t *keys = cr_xmalloc((n + 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        keys[i] = rows[i].order;
    }
    uint32_t *at = cr_radix_order(keys, n, 48);
    point_row *sorted = cr_xmalloc((n + 1) * sizeof *sorted);
    for (size_t i = 0; i < n; i++) {
        sorted[i] = rows[at[i]];
    }
    free(at);
    free(keys);
    free(rows);
    return sorted;
}

/* The points' parts on two threads, each point's kept at its place in row order (read_at). The
 * points are in map order (see read_points), each search starting from its neighbour's; a
 * worker
 * takes chunks of them and does their reach parts (and their boundary parts once every admin
 * part is done); this thread does every admin part (GEOS, one context), then takes chunks
 * too, then does the boundary parts of the chunks the worker finished early. The results do
 * not depend on which thread computed what; SQLite stays on this thread. */
enum { CHUNK_ROWS = 256 };

typedef struct {
    const cr_join_ref *ref;
    const point_row *rows;
    size_t n, n_chunks;
    double tol;
    reach_part *rp;
    admin_part *ap;
    atomic_size_t next;            /* the first chunk nobody has claimed */
    atomic_int admin_done;         /* every admin part is done: boundary parts may run */
    unsigned char *needs_boundary; /* per chunk: reach parts done before the admin parts */
} part_pool;

static void chunk_rows(const part_pool *p, size_t c, size_t *from, size_t *to)
{
    *from = c * CHUNK_ROWS;
    *to = *from + CHUNK_ROWS < p->n ? *from + CHUNK_ROWS : p->n;
}

static void chunk_boundaries(part_pool *p, size_t c)
{
    size_t from, to;
    chunk_rows(p, c, &from, &to);
    edge_near near = {.county = -1};
    for (size_t i = from; i < to; i++) {
        if (i + READ_AHEAD < to) {
            __builtin_prefetch(&p->ap[p->rows[i + READ_AHEAD].read_at], 1);
        }
        part_boundary(p->ref, p->rows[i].lon, p->rows[i].lat, &p->ap[p->rows[i].read_at], &near);
    }
}

/* Claim and compute chunks until none is left. */
static void pool_run(part_pool *p)
{
    for (;;) {
        size_t c = atomic_fetch_add(&p->next, 1);
        if (c >= p->n_chunks) {
            return;
        }
        size_t from, to;
        chunk_rows(p, c, &from, &to);
        cr_seg_hit near = {.line = -1};
        for (size_t i = from; i < to; i++) {
            const point_row *r = &p->rows[i];
            if (i + READ_AHEAD < to) {
                __builtin_prefetch(&p->rp[p->rows[i + READ_AHEAD].read_at], 1);
            }
            part_reach(p->ref, r->lon, r->lat, p->tol, r->river, &p->rp[r->read_at], &near);
        }
        if (atomic_load(&p->admin_done)) {
            chunk_boundaries(p, c);
        } else {
            p->needs_boundary[c] = 1; /* read by this thread's joiner after pthread_join */
        }
    }
}

static void *pool_worker(void *arg)
{
    part_pool *p = arg;
    if (reaches_ready(p->ref, NULL) == CR_OK) {
        pool_run(p);
    }
    return NULL;
}

/* Every part of every point: the worker's chunks, the admin parts here, then chunks here. */
static cr_status compute_parts(part_pool *pool, cr_error *err)
{
    pthread_t worker;
    int threaded = pthread_create(&worker, NULL, pool_worker, pool) == 0;
    for (size_t i = 0; i < pool->n; i++) {
        const point_row *r = &pool->rows[i];
        if (i + READ_AHEAD < pool->n) {
            __builtin_prefetch(&pool->ap[pool->rows[i + READ_AHEAD].read_at], 1);
        }
        part_admin((cr_join_ref *)pool->ref, r->lon, r->lat, r->county, &pool->ap[r->read_at]);
    }
    atomic_store(&pool->admin_done, 1);
    cr_status rc = reaches_ready(pool->ref, err);
    if (rc == CR_OK) {
        pool_run(pool);
    }
    if (threaded) {
        pthread_join(worker, NULL);
    }
    for (size_t c = 0; rc == CR_OK && c < pool->n_chunks; c++) {
        if (pool->needs_boundary[c]) {
            chunk_boundaries(pool, c);
        }
    }
    return rc;
}

/* The layer's current points with their river and county columns (when the layer has them),
 * and the current rows without a point (no geometry, or not a point). */
static cr_status read_points(sqlite3 *db, const cr_layer_def *def, point_row **rows_out,
                             int64_t **fids_out, size_t *n_out, int64_t **no_point_out,
                             size_t *n_no_point, cr_error *err)
{
    int has_river = cr_layer_def_field_index(def, "river") >= 0;
    int has_county = cr_layer_def_field_index(def, "county") >= 0;
    cr_strbuf sql = {0};
    cr_strbuf_printf(&sql,
                     "SELECT fid, geom, %s, %s FROM \"%s\" WHERE valid_to IS NULL ORDER BY fid",
                     has_river ? "river" : "NULL", has_county ? "county" : "NULL", def->name);
    sqlite3_stmt *st;
    cr_status rc = prepare(db, sql.data, &st, err);
    cr_strbuf_cleanup(&sql);
    if (rc != CR_OK) {
        return rc;
    }
    point_row *rows = NULL;
    size_t n = 0;
    size_t cap = 0;
    int64_t *no_point = NULL; /* current rows without a point: their joins are removed */
    size_t n_none = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            rows = cr_xrealloc(rows, cap * sizeof *rows);
        }
        rows[n].fid = sqlite3_column_int64(st, 0);
        if (!cr_spatialite_point(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                                 &rows[n].lon, &rows[n].lat)) {
            no_point = cr_xrealloc(no_point, (n_none + 1) * sizeof *no_point);
            no_point[n_none++] = rows[n].fid;
            continue;
        }
        rows[n].river = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : column_dup(st, 2);
        rows[n].county = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : column_dup(st, 3);
        rows[n].order = z_order(rows[n].lon, rows[n].lat);
        rows[n].read_at = n;
        n++;
    }
    *no_point_out = no_point;
    *n_no_point = n_none;
    sqlite3_finalize(st);
    int64_t *fids = cr_xmalloc((n + 1) * sizeof *fids); /* in row order */
    for (size_t i = 0; i < n; i++) {
        fids[i] = rows[i].fid;
    }
    /* in map order: each point's search then finds the index's memory warm from its neighbour
     * (the results do not depend on the order) */
    *rows_out = in_map_order(rows, n);
    *fids_out = fids;
    *n_out = n;
    return CR_OK;
}

/* One point's joined values onto the insert statement, its parameters from base + 1 on; flags
 * is its review flags' text, kept until the step. */
static void bind_joined(sqlite3_stmt *st, int base, const joined *j, const char *flags,
                        int64_t generation, int64_t fid)
{
    int on_reach = !blank(j->reach_id);
    bind_text(st, base + 1, j->reach_id);
    bind_real(st, base + 2, j->reach_distance_m, j->reach_distance_m >= 0);
    bind_real(st, base + 3, j->measure_m, on_reach);
    bind_real(st, base + 4, j->offset_m, on_reach);
    bind_text(st, base + 5, on_reach ? j->bank : NULL);
    bind_text(st, base + 6, j->county_code);
    bind_text(st, base + 7, j->town_code);
    bind_text(st, base + 8, j->zone_id);
    bind_text(st, base + 9, j->zone_grade);
    bind_real(st, base + 10, j->boundary_distance_m, j->boundary_distance_m >= 0);
    bind_text(st, base + 11, j->boundary_across);
    bind_text(st, base + 12, flags);
    sqlite3_bind_int64(st, base + 13, generation);
    sqlite3_bind_int64(st, base + 14, fid);
    bind_text(st, base + 15, j->lake_id);
}

/* Rows written per INSERT statement (fewer steps; 15 parameters a row). */
enum { ROWS_PER_INSERT = 32, POINT_PARAMS = 15 };

/* The insert of `rows` joined points into the layer's derived table. */
static cr_status prepare_insert(sqlite3 *db, const char *layer, size_t rows, sqlite3_stmt **st,
                                cr_error *err)
{
    cr_strbuf sql = {0};
    cr_strbuf_printf(&sql,
                     "INSERT OR REPLACE INTO \"%s_derived\" (reach_id, reach_distance_m, measure_m,"
                     " offset_m, bank, county_code, town_code, zone_id, zone_grade,"
                     " boundary_distance_m, boundary_across_code, join_flags, join_generation,"
                     " fid, lake_id) VALUES ",
                     layer);
    for (size_t r = 0; r < rows; r++) {
        cr_strbuf_puts(&sql, r ? ", (?" : "(?");
        for (int k = 1; k < POINT_PARAMS; k++) {
            cr_strbuf_puts(&sql, ", ?");
        }
        cr_strbuf_puts(&sql, ")");
    }
    cr_status rc = prepare(db, sql.data, st, err);
    cr_strbuf_cleanup(&sql);
    return rc;
}

/* A table's secondary indexes dropped for a bulk rewrite and made again afterwards (one sort
 * instead of a b-tree insert per row), inside the caller's transaction. */
typedef struct {
    char **sql;
    size_t n;
} saved_indexes;

static cr_status indexes_drop(sqlite3 *db, const char *table, saved_indexes *saved, cr_error *err)
{
    memset(saved, 0, sizeof *saved);
    sqlite3_stmt *st;
    cr_status rc = prepare(db,
                           "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND"
                           " tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
                           &st, err);
    if (rc != CR_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    char **names = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        saved->sql = cr_xrealloc(saved->sql, (saved->n + 1) * sizeof *saved->sql);
        names = cr_xrealloc(names, (saved->n + 1) * sizeof *names);
        names[saved->n] = column_dup(st, 0);
        saved->sql[saved->n++] = column_dup(st, 1);
    }
    sqlite3_finalize(st);
    for (size_t i = 0; rc == CR_OK && i < saved->n; i++) {
        char *drop = sqlite3_mprintf("DROP INDEX \"%w\"", names[i]);
        if (sqlite3_exec(db, drop, NULL, NULL, NULL) != SQLITE_OK) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", table, sqlite3_errmsg(db));
        }
        sqlite3_free(drop);
    }
    for (size_t i = 0; i < saved->n; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

static cr_status indexes_restore(sqlite3 *db, const char *table, saved_indexes *saved, cr_status rc,
                                 cr_error *err)
{
    for (size_t i = 0; i < saved->n; i++) {
        if (rc == CR_OK && sqlite3_exec(db, saved->sql[i], NULL, NULL, NULL) != SQLITE_OK) {
            rc = cr_error_set(err, CR_EDB, "%s: %s", table, sqlite3_errmsg(db));
        }
        free(saved->sql[i]);
    }
    free(saved->sql);
    memset(saved, 0, sizeof *saved);
    return rc;
}

/* Rows are written in fid order, their reaches all over the reach index: each row's reach ID
 * is read ahead (its reach, then its text), or every row waits on two cache misses. Always
 * inlined: GCC otherwise judges the function free of effects and drops its calls. at: the
 * rows in the order visited, or NULL for row order. */
static inline __attribute__((always_inline)) void
reach_ahead(const cr_join_ref *ref, const reach_part *rp, const uint32_t *at, size_t i, size_t n)
{
    size_t far = i + 2 * READ_AHEAD, near = i + READ_AHEAD;
    if (far < n) {
        int32_t r = rp[at ? at[far] : far].reach;
        if (r >= 0) {
            __builtin_prefetch(&ref->reaches[r]);
        }
    }
    if (near < n) {
        int32_t r = rp[at ? at[near] : near].reach;
        if (r >= 0) {
            __builtin_prefetch(ref->reaches[r].id);
        }
    }
}

/* ---- the derived rows by reach ---- */

/* "<layer>_by_reach" (store/store.c) lists (reach_id, fid) of every derived row with a reach, in
 * that order. A join writes it whole after the derived rows: the closed versions' entries (their
 * joins as they were while current) merged with the current versions' as just joined, already
 * in order, so SQLite only appends (remaking an index on the derived table sorted 200,000
 * random keys: three times slower). */
typedef struct {
    const char *reach_id;
    int64_t fid;
} reach_entry;

static int compare_entries(const reach_entry *x, const reach_entry *y)
{
    int c = strcmp(x->reach_id, y->reach_id);
    return c ? c : (x->fid > y->fid) - (x->fid < y->fid);
}

static int compare_entries_q(const void *a, const void *b)
{
    return compare_entries(a, b);
}

/* The closed versions' entries, in order; their IDs are allocated (free each). */
static cr_status closed_entries(sqlite3 *db, const char *layer, reach_entry **out, size_t *n_out,
                                cr_error *err)
{
    *out = NULL;
    *n_out = 0;
    char *sql = sqlite3_mprintf("SELECT x.reach_id, x.fid FROM \"%w\" l JOIN \"%w_derived\" x"
                                " ON x.fid = l.fid WHERE l.valid_to IS NOT NULL AND"
                                " x.reach_id IS NOT NULL",
                                layer, layer);
    sqlite3_stmt *st;
    cr_status rc = prepare(db, sql, &st, err);
    sqlite3_free(sql);
    if (rc != CR_OK) {
        return rc;
    }
    reach_entry *e = NULL;
    size_t n = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            e = cr_xrealloc(e, cap * sizeof *e);
        }
        e[n].reach_id = column_dup(st, 0);
        e[n++].fid = sqlite3_column_int64(st, 1);
    }
    if (step != SQLITE_DONE) {
        rc = cr_error_set(err, CR_EDB, "join %s: %s", layer, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    if (n > 1) {
        qsort(e, n, sizeof *e, compare_entries_q);
    }
    *out = e;
    *n_out = n;
    return rc;
}

enum { ENTRIES_PER_INSERT = 64 };

/* Write "<layer>_by_reach" anew: the closed versions' entries and the current points' (rows in
 * fid order, rp their reach parts). */
static cr_status write_by_reach(sqlite3 *db, const cr_join_ref *ref, const char *layer,
                                const reach_part *rp, const int64_t *fids, size_t n, cr_error *err)
{
    reach_entry *closed;
    size_t n_closed;
    cr_status rc = closed_entries(db, layer, &closed, &n_closed, err);
    /* the current points by reach (the reach index is in ID order), then fid (the rows are) */
    uint64_t *keys = cr_xmalloc((n + 1) * sizeof *keys);
    uint32_t *row = cr_xmalloc((n + 1) * sizeof *row);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (rp[i].reach >= 0) {
            keys[m] = (uint64_t)rp[i].reach;
            row[m++] = (uint32_t)i;
        }
    }
    int bits = 16;
    while (bits < 32 && ((uint64_t)1 << bits) < ref->n_reaches) {
        bits += 16;
    }
    uint32_t *order = cr_radix_order(keys, m, bits);
    for (size_t j = 0; j < m; j++) {
        order[j] = row[order[j]]; /* the j-th entry's row */
    }
    char *sql = sqlite3_mprintf("DELETE FROM \"%w_by_reach\"", layer);
    if (rc == CR_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        rc = cr_error_set(err, CR_EDB, "join %s: %s", layer, sqlite3_errmsg(db));
    }
    sqlite3_free(sql);
    cr_strbuf q = {0};
    cr_strbuf_printf(&q, "INSERT INTO \"%s_by_reach\" (reach_id, fid) VALUES (?, ?)", layer);
    sqlite3_stmt *one = NULL, *many = NULL;
    if (rc == CR_OK) {
        rc = prepare(db, q.data, &one, err);
    }
    for (int k = 1; k < ENTRIES_PER_INSERT; k++) {
        cr_strbuf_puts(&q, ", (?, ?)");
    }
    if (rc == CR_OK) {
        rc = prepare(db, q.data, &many, err);
    }
    cr_strbuf_cleanup(&q);
    size_t i = 0, j = 0, total = n_closed + m, bound = 0;
    for (size_t done = 0; rc == CR_OK && done < total; done++) {
        reach_entry next_new = {NULL, 0};
        if (j < m) {
            uint32_t r = order[j];
            reach_ahead(ref, rp, order, j, m);
            next_new = (reach_entry){ref->reaches[rp[r].reach].id, fids[r]};
        }
        int take_closed = i < n_closed && (j == m || compare_entries(&closed[i], &next_new) < 0);
        reach_entry e = take_closed ? closed[i++] : (j++, next_new);
        /* whole statements while ENTRIES_PER_INSERT are left, then one entry a statement */
        sqlite3_stmt *st = total - (done - bound) >= ENTRIES_PER_INSERT ? many : one;
        sqlite3_bind_text(st, 2 * (int)bound + 1, e.reach_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2 * (int)bound + 2, e.fid);
        bound++;
        if (st == many && bound < ENTRIES_PER_INSERT) {
            continue;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "join %s: %s", layer, sqlite3_errmsg(db));
        }
        sqlite3_reset(st);
        bound = 0;
    }
    sqlite3_finalize(one);
    sqlite3_finalize(many);
    free(order);
    free(row);
    free(keys);
    for (size_t k = 0; k < n_closed; k++) {
        free((char *)closed[k].reach_id);
    }
    free(closed);
    return rc;
}

static cr_status join_points(cr_store *store, const cr_join_ref *ref, const cr_layer_def *def,
                             int64_t generation, cr_join_stats *stats, cr_error *err)
{
    sqlite3 *db = cr_store_db(store);
    double tol = json_number_value(json_object_get(
        json_object_get(json_object_get(def->json, "join"), "reach"), "tolerance_m"));
    point_row *rows = NULL;
    size_t n = 0;
    int64_t *no_point = NULL;
    size_t n_no_point = 0;
    double t = cr_monotonic_s();
    int64_t *fids = NULL;
    cr_status rc = read_points(db, def, &rows, &fids, &n, &no_point, &n_no_point, err);
    if (rc != CR_OK) {
        return rc;
    }
    cr_strbuf sql = {0};
    sqlite3_stmt *st = NULL;
    phase(&t, "read points");
    /* many rows: the derived table's indexes are made again at the end instead of row by row
     * (done while the reach index loads, on its own connection) */
    saved_indexes saved = {0};
    char derived[160];
    snprintf(derived, sizeof derived, "%s_derived", def->name);
    if (rc == CR_OK && n >= BULK_ROWS) {
        rc = indexes_drop(db, derived, &saved, err);
    }
    /* the current versions are joined anew (rows with a point are replaced below, the others'
     * joins removed); closed versions keep the joins they had while current (evidence as of a
     * past time shows them) */
    cr_strbuf_printf(&sql, "DELETE FROM \"%s_derived\" WHERE fid = ?1", def->name);
    sqlite3_stmt *del = NULL;
    if (rc == CR_OK && n_no_point > 0 && (rc = prepare(db, sql.data, &del, err)) == CR_OK) {
        for (size_t i = 0; rc == CR_OK && i < n_no_point; i++) {
            sqlite3_reset(del);
            sqlite3_bind_int64(del, 1, no_point[i]);
            if (sqlite3_step(del) != SQLITE_DONE) {
                rc = cr_error_set(err, CR_EDB, "join %s: %s", def->name, sqlite3_errmsg(db));
            }
        }
    }
    sqlite3_finalize(del);
    free(no_point);
    cr_strbuf_clear(&sql);
    phase(&t, "clear the previous joins");
    if (rc == CR_OK) {
        rc = prepare_insert(db, def->name, ROWS_PER_INSERT, &st, err);
    }
    cr_strbuf_cleanup(&sql);
    reach_part *rp = cr_xcalloc(n + 1, sizeof *rp);
    admin_part *ap = cr_xcalloc(n + 1, sizeof *ap);
    part_pool pool = {.ref = ref, .rows = rows, .n = n, .tol = tol, .rp = rp, .ap = ap};
    pool.n_chunks = (n + CHUNK_ROWS - 1) / CHUNK_ROWS;
    pool.needs_boundary = cr_xcalloc(pool.n_chunks + 1, 1);
    atomic_init(&pool.next, 0);
    atomic_init(&pool.admin_done, 0);
    if (rc == CR_OK) {
        rc = compute_parts(&pool, err);
        phase(&t, "join points (two threads)");
    }
    free(pool.needs_boundary);
    /* written in row order, which SQLite appends fastest (the parts are in that order) */
    char(*flags)[256] = cr_xmalloc(ROWS_PER_INSERT * sizeof *flags); /* bound as is: kept */
    sqlite3_stmt *tail = NULL;                                       /* the last, shorter insert */
    for (size_t k = 0; rc == CR_OK && k < n; k += ROWS_PER_INSERT) {
        size_t m = n - k < ROWS_PER_INSERT ? n - k : ROWS_PER_INSERT;
        sqlite3_stmt *ins = st;
        if (m < ROWS_PER_INSERT && (rc = prepare_insert(db, def->name, m, &tail, err)) == CR_OK) {
            ins = tail;
        }
        if (rc != CR_OK) {
            break;
        }
        sqlite3_reset(ins);
        for (size_t j = 0; j < m; j++) {
            size_t i = k + j;
            joined jv; /* its strings are the ref's: bound as they are */
            const joined *p = &jv;
            reach_ahead(ref, rp, NULL, i, n);
            merge_joined(ref, &rp[i], &ap[i], &jv);
            flags_text(p->flags, flags[j], sizeof flags[j]);
            bind_joined(ins, (int)j * POINT_PARAMS, p, flags[j], generation, fids[i]);
            int matched = !blank(p->reach_id) || !blank(p->lake_id);
            stats->features++;
            stats->matched += matched;
            stats->unmatched += !matched;
            stats->flagged += p->flags != 0;
            stats->outside += blank(p->county_code);
        }
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "join %s: %s", def->name, sqlite3_errmsg(db));
        }
    }
    sqlite3_finalize(tail);
    free(flags);
    sqlite3_finalize(st);
    phase(&t, "write points");
    if (rc == CR_OK) {
        rc = write_by_reach(db, ref, def->name, rp, fids, n, err);
        phase(&t, "write the points by reach");
    }
    rc = indexes_restore(db, derived, &saved, rc, err);
    phase(&t, "make the derived table's indexes");
    free(fids);
    free(rp);
    free(ap);
    for (size_t i = 0; i < n; i++) {
        free(rows[i].river);
        free(rows[i].county);
    }
    free(rows);
    return rc;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* JSON array of the strings, sorted. Caller frees. */
static char *sorted_json(char **items, size_t n)
{
    if (n > 1) {
        qsort(items, n, sizeof *items, compare_str);
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_string(items[i]));
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

static cr_status join_coverage(cr_store *store, const cr_join_ref *cref, const cr_layer_def *def,
                               int64_t generation, cr_join_stats *stats, cr_error *err)
{
    cr_join_ref *ref = (cr_join_ref *)cref;
    sqlite3 *db = cr_store_db(store);
    cr_strbuf sql = {0};
    /* the current versions are joined anew; closed versions keep the joins they had while
     * current (evidence as of a past time shows them) */
    cr_strbuf_printf(&sql,
                     "DELETE FROM \"%s_derived\" WHERE fid IN (SELECT fid FROM \"%s\" WHERE"
                     " valid_to IS NULL)",
                     def->name, def->name);
    cr_status rc = cr_store_exec(store, sql.data, err);
    cr_strbuf_clear(&sql);
    cr_strbuf_printf(&sql,
                     "INSERT INTO \"%s_derived\" (covered_reaches, spans_codes, join_generation,"
                     " fid) VALUES (?1, ?2, ?3, ?4)",
                     def->name);
    sqlite3_stmt *st = NULL;
    if (rc == CR_OK) {
        rc = prepare(db, sql.data, &st, err);
    }
    cr_strbuf_cleanup(&sql);
    char **ids = cr_xcalloc(ref->n_reaches + ref->n_counties + 1, sizeof *ids);
    double(*box)[4] = cr_xmalloc((ref->n_reaches + 1) * sizeof *box); /* per reach */
    for (size_t r = 0; r < ref->n_reaches; r++) {
        const reach *re = &ref->reaches[r];
        box[r][0] = box[r][1] = INFINITY;
        box[r][2] = box[r][3] = -INFINITY;
        for (size_t i = re->first; i < re->first + re->n; i++) {
            box[r][0] = fmin(box[r][0], ref->coords[2 * i]);
            box[r][1] = fmin(box[r][1], ref->coords[2 * i + 1]);
            box[r][2] = fmax(box[r][2], ref->coords[2 * i]);
            box[r][3] = fmax(box[r][3], ref->coords[2 * i + 1]);
        }
    }
    for (size_t z = 0; rc == CR_OK && z < ref->n_zones; z++) {
        const zone *zn = &ref->zones[z];
        double zb[4];
        GEOSGeom_getXMin_r(ref->geos, zn->geom, &zb[0]);
        GEOSGeom_getYMin_r(ref->geos, zn->geom, &zb[1]);
        GEOSGeom_getXMax_r(ref->geos, zn->geom, &zb[2]);
        GEOSGeom_getYMax_r(ref->geos, zn->geom, &zb[3]);
        size_t n = 0;
        for (size_t r = 0; r < ref->n_reaches; r++) {
            const reach *re = &ref->reaches[r];
            if (box[r][0] > zb[2] || box[r][2] < zb[0] || box[r][1] > zb[3] || box[r][3] < zb[1]) {
                continue;
            }
            GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(
                ref->geos, ref->coords + 2 * re->first, (unsigned)re->n, 0, 0);
            GEOSGeometry *line = GEOSGeom_createLineString_r(ref->geos, seq);
            if (GEOSPreparedIntersects_r(ref->geos, zn->prep, line) == 1) {
                ids[n++] = re->id;
            }
            GEOSGeom_destroy_r(ref->geos, line);
        }
        char *covered = sorted_json(ids, n);
        n = 0;
        for (size_t c = 0; c < ref->n_counties; c++) {
            const admin_unit *u = &ref->units[c];
            /* spanning means sharing area, not only touching along an edge */
            if (GEOSPreparedIntersects_r(ref->geos, u->prep, zn->geom) == 1 &&
                GEOSPreparedTouches_r(ref->geos, u->prep, zn->geom) == 0) {
                ids[n++] = u->code;
            }
        }
        char *spans = sorted_json(ids, n);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, covered, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, spans, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, generation);
        sqlite3_bind_int64(st, 4, zn->fid);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "join %s: %s", def->name, sqlite3_errmsg(db));
        }
        free(covered);
        free(spans);
        stats->features++;
    }
    free(ids);
    free(box);
    sqlite3_finalize(st);
    return rc;
}

typedef struct {
    double from_m, to_m; /* measures along the reach */
    int32_t county;      /* unit index */
} segment;

static int compare_segments(const void *a, const void *b)
{
    const segment *x = a;
    const segment *y = b;
    return x->from_m < y->from_m ? -1 : x->from_m > y->from_m ? 1 : x->county - y->county;
}

static void county_cb(void *item, void *user)
{
    contain_query *q = user;
    if (q->n_hits < 8) {
        q->hits[q->n_hits++] = (intptr_t)item;
    }
}

/* The counties a reach passes through, in order along it: [[code, from_m, to_m], …] (measures
 * from its upstream end; a reach inside one county is one segment). Caller frees. */
static char *reach_segments(cr_join_ref *ref, const reach *r, double length_m)
{
    GEOSContextHandle_t h = ref->geos;
    GEOSCoordSequence *seq =
        GEOSCoordSeq_copyFromBuffer_r(h, ref->coords + 2 * r->first, (unsigned)r->n, 0, 0);
    GEOSGeometry *line = GEOSGeom_createLineString_r(h, seq);
    contain_query q = {ref, line, {0}, 0};
    GEOSSTRtree_query_r(h, ref->county_tree, line, county_cb, &q);
    segment segs[64];
    size_t n = 0;
    for (int k = 0; k < q.n_hits; k++) {
        const admin_unit *u = &ref->units[q.hits[k]];
        if (GEOSPreparedContains_r(h, u->prep, line) == 1) {
            segs[0] = (segment){0, length_m, (int32_t)q.hits[k]};
            n = 1;
            break;
        }
        if (GEOSPreparedIntersects_r(h, u->prep, line) != 1) {
            continue;
        }
        GEOSGeometry *cut = GEOSIntersection_r(h, u->geom, line);
        int parts = cut ? GEOSGetNumGeometries_r(h, cut) : 0;
        for (int p = 0; p < parts && n < 64; p++) {
            const GEOSGeometry *piece = GEOSGetGeometryN_r(h, cut, p);
            if (GEOSGeomTypeId_r(h, piece) != GEOS_LINESTRING) {
                continue; /* a touch at a point */
            }
            GEOSGeometry *a = GEOSGeomGetStartPoint_r(h, piece);
            GEOSGeometry *b = GEOSGeomGetEndPoint_r(h, piece);
            double fa = GEOSProjectNormalized_r(h, line, a);
            double fb = GEOSProjectNormalized_r(h, line, b);
            GEOSGeom_destroy_r(h, a);
            GEOSGeom_destroy_r(h, b);
            segs[n++] =
                (segment){fmin(fa, fb) * length_m, fmax(fa, fb) * length_m, (int32_t)q.hits[k]};
        }
        if (cut) {
            GEOSGeom_destroy_r(h, cut);
        }
    }
    GEOSGeom_destroy_r(h, line);
    if (n > 1) {
        qsort(segs, n, sizeof *segs, compare_segments);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("[s, f, f]", ref->units[segs[i].county].code,
                                             round(segs[i].from_m * 10) / 10,
                                             round(segs[i].to_m * 10) / 10));
    }
    char *out = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(arr);
    return out;
}

static cr_status join_segments(cr_store *store, const cr_join_ref *cref, int64_t generation,
                               cr_join_stats *stats, cr_error *err)
{
    cr_join_ref *ref = (cr_join_ref *)cref;
    sqlite3 *db = cr_store_db(store);
    cr_status rc = cr_store_exec(store,
                                 "CREATE TABLE IF NOT EXISTS reach_jurisdictions ("
                                 " fid INTEGER PRIMARY KEY, reach_id TEXT NOT NULL,"
                                 " segments TEXT NOT NULL, join_generation INTEGER);"
                                 "DELETE FROM reach_jurisdictions;",
                                 err);
    sqlite3_stmt *st = NULL;
    if (rc == CR_OK) {
        rc = prepare(db,
                     "INSERT INTO reach_jurisdictions (fid, reach_id, segments, join_generation)"
                     " VALUES (?, ?, ?, ?)",
                     &st, err);
    }
    for (size_t i = 0; rc == CR_OK && i < ref->n_reaches; i++) {
        const reach *r = &ref->reaches[i];
        char *segs = reach_segments(ref, r, cr_polyline_length_m(ref->coords + 2 * r->first, r->n));
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, r->fid);
        sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, segs, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, generation);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = cr_error_set(err, CR_EDB, "join reaches: %s", sqlite3_errmsg(db));
        }
        stats->features++;
        stats->matched += strcmp(segs, "[]") != 0;
        stats->outside += strcmp(segs, "[]") == 0;
        free(segs);
    }
    sqlite3_finalize(st);
    return rc;
}

cr_status cr_join_layer(cr_store *store, const cr_join_ref *ref, const cr_layer_def *def,
                        cr_join_stats *stats, cr_error *err)
{
    double t0 = cr_monotonic_s();
    memset(stats, 0, sizeof *stats);
    int points = cr_layer_joins_points(def);
    int segments = cr_layer_joins_segments(def);
    if (!points && !segments && !cr_layer_joins_coverage(def)) {
        return cr_error_set(err, CR_EINVAL, "layer %s has no joins (see its \"join\" settings)",
                            def->name);
    }
    /* a point layer waits for the reach index only when its points are ready (join_points) */
    cr_status rc = points ? CR_OK : reaches_ready(ref, err);
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "BEGIN IMMEDIATE", err);
    }
    if (rc != CR_OK) {
        return rc;
    }
    sqlite3 *db = cr_store_db(store);
    /* joined results change what tiles show: a new data generation */
    int64_t gen = 0;
    rc = cr_store_bump_generation(store, &gen, err);
    if (rc == CR_OK) {
        rc = points     ? join_points(store, ref, def, gen, stats, err)
             : segments ? join_segments(store, ref, gen, stats, err)
                        : join_coverage(store, ref, def, gen, stats, err);
    }
    double t = cr_monotonic_s();
    if (rc == CR_OK) {
        rc = cr_store_exec(store, "COMMIT", err);
    }
    if (rc != CR_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    phase(&t, "commit");
    stats->seconds = cr_monotonic_s() - t0;
    return rc;
}

static int is_reference(const char *layer)
{
    return strcmp(layer, "reaches") == 0 || strcmp(layer, "admin_units") == 0 ||
           strcmp(layer, "protection_zones") == 0;
}

cr_status cr_join_after_ingest(cr_store *store, const char *layer, const int64_t *batches,
                               size_t n_batches, cr_join_stats *total, cr_error *err)
{
    memset(total, 0, sizeof *total);
    const cr_layer_set *set = cr_store_layers(store);
    const cr_layer_def *def = cr_layer_set_find(set, layer);
    int reference = is_reference(layer);
    if (def == NULL || (!reference && !cr_layer_joins_points(def))) {
        return CR_OK;
    }
    cr_join_ref *ref = NULL;
    cr_status rc = cr_join_ref_load(store, &ref, err);
    for (size_t i = 0; rc == CR_OK && i < set->n_layers; i++) {
        const cr_layer_def *d = set->layers[i];
        int joins =
            cr_layer_joins_points(d) || cr_layer_joins_coverage(d) || cr_layer_joins_segments(d);
        if (!joins || (!reference && d != def)) {
            continue;
        }
        cr_join_stats s;
        rc = cr_join_layer(store, ref, d, &s, err);
        total->features += s.features;
        total->matched += s.matched;
        total->unmatched += s.unmatched;
        total->flagged += s.flagged;
        total->outside += s.outside;
        total->seconds += s.seconds;
    }
    for (size_t i = 0; rc == CR_OK && i < n_batches; i++) {
        cr_crs_verdict v;
        rc = cr_join_check_batch_crs(store, ref, batches[i], &v, err);
    }
    cr_join_ref_free(ref);
    return rc;
}
