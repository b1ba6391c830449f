/* SPDX-License-Identifier: MIT */
#include "tile_check.h"

#include "test_common.h"
#include "tiler/tile.h"

#include <cpl_conv.h>
#include <gdal.h>
#include <geos_c.h>
#include <ogr_api.h>
#include <stdio.h>
#include <string.h>

/* Count the polygons of g (a polygon, or the parts of a multipolygon) and the invalid ones. */
static void count(OGRGeometryH g, const char *where, tile_check *out)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbMultiPolygon) {
        for (int i = 0; i < OGR_G_GetGeometryCount(g); i++) {
            count(OGR_G_GetGeometryRef(g, i), where, out);
        }
        return;
    }
    if (t != wkbPolygon) {
        return;
    }
    out->polygons++;
    if (!OGR_G_IsValid(g)) {
        if (out->invalid++ == 0) { /* why, in GEOS's words */
            size_t n = (size_t)OGR_G_WkbSize(g);
            unsigned char *wkb = CPLMalloc(n);
            OGR_G_ExportToWkb(g, wkbNDR, wkb);
            GEOSContextHandle_t h = GEOS_init_r();
            GEOSGeometry *gg = GEOSGeomFromWKB_buf_r(h, wkb, n);
            char *why = gg ? GEOSisValidReason_r(h, gg) : NULL;
            snprintf(out->first, sizeof out->first, "%s: %s", where, why ? why : "?");
            GEOSFree_r(h, why);
            GEOSGeom_destroy_r(h, gg);
            GEOS_finish_r(h);
            CPLFree(wkb);
        }
    }
}

void tile_check_polygons(cr_store *store, const double box[4], int z0, int z1, const char *dir,
                         tile_check *out)
{
    GDALAllRegister();
    char path[160];
    snprintf(path, sizeof path, "%s/check.mvt", dir);
    for (int z = z0; z <= z1; z++) {
        int x0, y0, x1, y1;
        cr_tile_at(box[0], box[3], z, &x0, &y0);
        cr_tile_at(box[2], box[1], z, &x1, &y1);
        for (int x = x0; x <= x1; x++) {
            for (int y = y0; y <= y1; y++) {
                cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1};
                cr_strbuf tile = {0};
                cr_tile_stats stats;
                cr_error err = {0};
                if (cr_tile_render(store, &req, &tile, &stats, &err) != CR_OK) {
                    fail_msg("tile %d/%d/%d: %s", z, x, y, err.msg);
                }
                out->tiles++;
                if (tile.len == 0) {
                    cr_strbuf_cleanup(&tile);
                    continue;
                }
                FILE *f = fopen(path, "wb");
                assert_non_null(f);
                assert_int_equal(fwrite(tile.data, 1, tile.len, f), tile.len);
                fclose(f);
                cr_strbuf_cleanup(&tile);
                const char *opts[] = {"CLIP=NO", NULL};
                const char *drivers[] = {"MVT", NULL};
                GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, drivers, opts, NULL);
                if (ds == NULL) {
                    fail_msg("tile %d/%d/%d: GDAL cannot read it", z, x, y);
                }
                for (int i = 0; i < GDALDatasetGetLayerCount(ds); i++) {
                    OGRLayerH l = GDALDatasetGetLayer(ds, i);
                    OGRFeatureH feat;
                    while ((feat = OGR_L_GetNextFeature(l)) != NULL) {
                        char where[96];
                        snprintf(where, sizeof where, "tile %d/%d/%d %s fid %lld", z, x, y,
                                 OGR_L_GetName(l), (long long)OGR_F_GetFID(feat));
                        OGRGeometryH g = OGR_F_GetGeometryRef(feat);
                        if (g) {
                            count(g, where, out);
                        }
                        OGR_F_Destroy(feat);
                    }
                }
                GDALClose(ds);
            }
        }
    }
}

void *tile_check_open(cr_store *store, int z, int x, int y, const char *layers, const char *path)
{
    cr_tile_request req = {.z = z, .x = x, .y = y, .buffer = -1, .layers = layers};
    cr_strbuf tile = {0};
    cr_tile_stats stats;
    cr_error err = {0};
    if (cr_tile_render(store, &req, &tile, &stats, &err) != CR_OK) {
        fail_msg("tile %d/%d/%d: %s", z, x, y, err.msg);
    }
    size_t len = tile.len;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(tile.data ? tile.data : "", 1, len, f), len);
    fclose(f);
    cr_strbuf_cleanup(&tile);
    if (len == 0) {
        return NULL; /* GDAL does not open an empty file */
    }
    char zs[16], xs[16], ys[16];
    snprintf(zs, sizeof zs, "Z=%d", z);
    snprintf(xs, sizeof xs, "X=%d", x);
    snprintf(ys, sizeof ys, "Y=%d", y);
    const char *opts[] = {zs, xs, ys, NULL};
    const char *drivers[] = {"MVT", NULL};
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, drivers, opts, NULL);
    if (ds == NULL) {
        fail_msg("tile %d/%d/%d: GDAL cannot read it", z, x, y);
    }
    return ds;
}
