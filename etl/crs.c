/* SPDX-License-Identifier: MIT */
/* Source coordinate systems: PROJ for EPSG/WKT definitions (normalised to east,north order),
 * and the public GCJ-02/BD-09 formulas with iterative inverses accurate to ~0.1 mm.
 * Rule: one PROJ context per cr_crs, so a cr_crs is used by one thread at a time. */
#include "etl.h"

#include <math.h>
#include <proj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { KIND_PROJ, KIND_GCJ02, KIND_BD09 } crs_kind;

struct cr_crs {
    crs_kind kind;        /* how coordinates reach WGS84 */
    PJ_CONTEXT *ctx;      /* owned, KIND_PROJ only */
    PJ *to_wgs84;         /* normalised source → EPSG:4326 lon,lat, KIND_PROJ only */
    int geographic;       /* source is lon/lat */
    int identity;         /* datum-level no-op (4326/4490): coordinates pass through */
    double false_easting; /* +x_0 of a Transverse Mercator source, else 0 */
    char label[160];      /* for records and messages */
};

/* ---- GCJ-02 / BD-09 (public formulas) ------------------------------------------------- */

static const double GCJ_A = 6378245.0;
static const double GCJ_EE = 0.00669342162296594323;
static const double X_PI = M_PI * 3000.0 / 180.0;

static int outside_china(double lon, double lat)
{
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

static double transform_lat(double x, double y)
{
    double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
    return r;
}

static double transform_lon(double x, double y)
{
    double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
    return r;
}

void cr_gcj02_from_wgs84(double lon, double lat, double *glon, double *glat)
{
    if (outside_china(lon, lat)) {
        *glon = lon, *glat = lat;
        return;
    }
    double dlat = transform_lat(lon - 105.0, lat - 35.0);
    double dlon = transform_lon(lon - 105.0, lat - 35.0);
    double radlat = lat / 180.0 * M_PI;
    double magic = sin(radlat);
    magic = 1 - GCJ_EE * magic * magic;
    double sqrtmagic = sqrt(magic);
    dlat = (dlat * 180.0) / ((GCJ_A * (1 - GCJ_EE)) / (magic * sqrtmagic) * M_PI);
    dlon = (dlon * 180.0) / (GCJ_A / sqrtmagic * cos(radlat) * M_PI);
    *glat = lat + dlat;
    *glon = lon + dlon;
}

void cr_bd09_from_gcj02(double glon, double glat, double *blon, double *blat)
{
    double z = sqrt(glon * glon + glat * glat) + 0.00002 * sin(glat * X_PI);
    double theta = atan2(glat, glon) + 0.000003 * cos(glon * X_PI);
    *blon = z * cos(theta) + 0.0065;
    *blat = z * sin(theta) + 0.006;
}

typedef void (*forward_fn)(double, double, double *, double *);

/* Fixed-point inversion of a forward shift: x ← x − (f(x) − target). The shift's derivative
 * is tiny, so each step gains ~5 digits; stops below 1e-9° (about 0.1 mm). */
static int invert(forward_fn f, double tx, double ty, double *x, double *y)
{
    double cx = tx;
    double cy = ty;
    int n = 0;
    for (n = 1; n <= 30; n++) {
        double fx;
        double fy;
        f(cx, cy, &fx, &fy);
        double dx = fx - tx;
        double dy = fy - ty;
        cx -= dx;
        cy -= dy;
        if (fabs(dx) < 1e-10 && fabs(dy) < 1e-10) {
            break;
        }
    }
    *x = cx, *y = cy;
    return n;
}

int cr_gcj02_to_wgs84(double glon, double glat, double *lon, double *lat)
{
    return invert(cr_gcj02_from_wgs84, glon, glat, lon, lat);
}

int cr_bd09_to_gcj02(double blon, double blat, double *glon, double *glat)
{
    return invert(cr_bd09_from_gcj02, blon, blat, glon, glat);
}

/* ---- PROJ sources --------------------------------------------------------------------- */

static double proj_param(const char *projstr, const char *key)
{
    const char *p = projstr ? strstr(projstr, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : 0.0;
}

static cr_status open_proj(cr_crs *c, const char *def, cr_error *err)
{
    c->ctx = proj_context_create();
    proj_log_level(c->ctx, PJ_LOG_NONE);
    PJ *src = proj_create(c->ctx, def);
    if (src == NULL) {
        return cr_error_set(err, CR_EPROJ, "unknown CRS '%s': %s", def,
                            proj_context_errno_string(c->ctx, proj_context_errno(c->ctx)));
    }
    PJ_TYPE t = proj_get_type(src);
    if (t == PJ_TYPE_BOUND_CRS) {
        PJ *base = proj_get_source_crs(c->ctx, src);
        t = proj_get_type(base);
        proj_destroy(base);
    }
    c->geographic = t == PJ_TYPE_GEOGRAPHIC_2D_CRS || t == PJ_TYPE_GEOGRAPHIC_3D_CRS;
    if (!c->geographic && t != PJ_TYPE_PROJECTED_CRS && t != PJ_TYPE_COMPOUND_CRS) {
        proj_destroy(src);
        return cr_error_set(err, CR_EPROJ, "'%s' is not a geographic or projected CRS", def);
    }
    const char *auth = proj_get_id_auth_name(src, 0);
    const char *code = proj_get_id_code(src, 0);
    if (auth && code) {
        snprintf(c->label, sizeof c->label, "%s:%s", auth, code);
    } else {
        snprintf(c->label, sizeof c->label, "%s", proj_get_name(src));
    }
    if (!c->geographic) {
        const char *ps = proj_as_proj_string(c->ctx, src, PJ_PROJ_5, NULL);
        if (ps && strstr(ps, "+proj=tmerc")) {
            c->false_easting = proj_param(ps, "+x_0=");
        }
    }
    /* EPSG:4326 and EPSG:4490 (CGCS2000) differ by well under a metre, and PROJ has no
     * grid between them: it applies a null transform. Say so plainly on the row. */
    c->identity = strcmp(c->label, "EPSG:4326") == 0 || strcmp(c->label, "EPSG:4490") == 0;
    PJ *dst = proj_create(c->ctx, "EPSG:4326");
    PJ *op = proj_create_crs_to_crs_from_pj(c->ctx, src, dst, NULL, NULL);
    proj_destroy(dst);
    proj_destroy(src);
    if (op == NULL) {
        return cr_error_set(err, CR_EPROJ, "no transformation from %s to EPSG:4326", c->label);
    }
    c->to_wgs84 = proj_normalize_for_visualization(c->ctx, op);
    proj_destroy(op);
    if (c->to_wgs84 == NULL) {
        return cr_error_set(err, CR_EPROJ, "cannot normalise axis order of %s", c->label);
    }
    return CR_OK;
}

cr_status cr_crs_open(const char *spec, cr_crs **out, cr_error *err)
{
    cr_crs *c = cr_xcalloc(1, sizeof *c);
    cr_status rc = CR_OK;
    char def[64];
    if (strcasecmp(spec, "gcj02") == 0 || strcasecmp(spec, "gcj-02") == 0) {
        c->kind = KIND_GCJ02, c->geographic = 1;
        snprintf(c->label, sizeof c->label, "GCJ-02");
    } else if (strcasecmp(spec, "bd09") == 0 || strcasecmp(spec, "bd-09") == 0) {
        c->kind = KIND_BD09, c->geographic = 1;
        snprintf(c->label, sizeof c->label, "BD-09");
    } else {
        const char *use = spec;
        if (strcasecmp(spec, "wgs84") == 0) {
            use = "EPSG:4326";
        } else if (strcasecmp(spec, "cgcs2000") == 0) {
            use = "EPSG:4490";
        } else if (spec[0] != '\0' && strspn(spec, "0123456789") == strlen(spec)) {
            snprintf(def, sizeof def, "EPSG:%s", spec);
            use = def;
        }
        rc = open_proj(c, use, err);
    }
    if (rc != CR_OK) {
        cr_crs_free(c);
        return rc;
    }
    *out = c;
    return CR_OK;
}

void cr_crs_free(cr_crs *c)
{
    if (c == NULL) {
        return;
    }
    proj_destroy(c->to_wgs84);
    if (c->ctx) {
        proj_context_destroy(c->ctx);
    }
    free(c);
}

const char *cr_crs_label(const cr_crs *c)
{
    return c->label;
}

int cr_crs_is_geographic(const cr_crs *c)
{
    return c->geographic;
}

double cr_crs_false_easting(const cr_crs *c)
{
    return c->false_easting;
}

cr_status cr_crs_to_wgs84(cr_crs *c, double x, double y, double *lon_out, double *lat_out,
                          char *method_out, cr_error *err)
{
    double gx;
    double gy;
    int n;
    switch (c->kind) {
    case KIND_GCJ02:
        n = cr_gcj02_to_wgs84(x, y, lon_out, lat_out);
        if (method_out) {
            snprintf(method_out, 160, "GCJ-02 inverse, fixed-point iteration (%d steps, <1e-9 deg)",
                     n);
        }
        return CR_OK;
    case KIND_BD09:
        n = cr_bd09_to_gcj02(x, y, &gx, &gy);
        n += cr_gcj02_to_wgs84(gx, gy, lon_out, lat_out);
        if (method_out) {
            snprintf(method_out, 160,
                     "BD-09 to GCJ-02 to WGS84, fixed-point iterations (%d steps, <1e-9 deg)", n);
        }
        return CR_OK;
    case KIND_PROJ:
        break;
    }
    if (c->identity) {
        /* PROJ's EPSG:4490/4326 → EPSG:4326 operation is a null transform: pass through */
        if (!isfinite(x) || !isfinite(y) || fabs(x) > 180 || fabs(y) > 90) {
            return cr_error_set(err, CR_EPROJ, "(%.6f, %.6f) is not a longitude/latitude", x, y);
        }
        *lon_out = x;
        *lat_out = y;
        if (method_out) {
            snprintf(method_out, 160, "PROJ %s to EPSG:4326 (null transform, <1 m)", c->label);
        }
        return CR_OK;
    }
    PJ_COORD in = proj_coord(x, y, 0, 0);
    PJ_COORD o = proj_trans(c->to_wgs84, PJ_FWD, in);
    if (o.v[0] == HUGE_VAL || !isfinite(o.v[0]) || !isfinite(o.v[1])) {
        int e = proj_errno(c->to_wgs84);
        proj_errno_reset(c->to_wgs84);
        return cr_error_set(err, CR_EPROJ, "(%.3f, %.3f) cannot be transformed from %s: %s", x, y,
                            c->label, e ? proj_context_errno_string(c->ctx, e) : "out of range");
    }
    *lon_out = o.v[0];
    *lat_out = o.v[1];
    if (method_out) {
        snprintf(method_out, 160,
                 c->identity ? "PROJ %s to EPSG:4326 (null transform, <1 m)"
                             : "PROJ %s to EPSG:4326",
                 c->label);
    }
    return CR_OK;
}

cr_status cr_crs_check_easting(const cr_crs *c, double easting, cr_error *err)
{
    if (c->kind != KIND_PROJ || c->geographic || c->false_easting == 0.0) {
        return CR_OK;
    }
    int crs_zone = (int)floor(c->false_easting / 1e6);
    int has_prefix = easting >= 1e7;
    int value_zone = (int)floor(easting / 1e6);
    if (crs_zone > 0 && !has_prefix) {
        return cr_error_set(err, CR_EINVAL,
                            "easting %.3f has no zone prefix, but %s expects %d-prefixed 8-digit "
                            "eastings (use the CRS without zone prefix, e.g. EPSG:4549 at 120E)",
                            easting, c->label, crs_zone);
    }
    if (crs_zone == 0 && has_prefix) {
        return cr_error_set(err, CR_EINVAL,
                            "easting %.3f carries zone prefix %d, but %s expects 6-digit eastings "
                            "(use the zone-prefixed CRS, e.g. EPSG:4528 for zone 40)",
                            easting, value_zone, c->label);
    }
    if (crs_zone > 0 && value_zone != crs_zone) {
        return cr_error_set(err, CR_EINVAL, "easting %.3f is in zone %d, but %s is zone %d",
                            easting, value_zone, c->label, crs_zone);
    }
    return CR_OK;
}
