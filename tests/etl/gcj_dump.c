/* SPDX-License-Identifier: MIT */
/* Print crossriver's GCJ-02/BD-09 results over the demonstration zone, one point per line:
 * lon lat gcj_lon gcj_lat inv_lon inv_lat bd_lon bd_lat (inv = our inverse of gcj_*; bd = BD-09
 * of gcj_*), for tests/etl/gcj02_gcoord.mjs to check against the gcoord package. */
#include "etl/etl.h"

#include <stdio.h>

int main(void)
{
    for (double lon = 119.0; lon <= 122.0; lon += 0.125) {
        for (double lat = 29.75; lat <= 32.25; lat += 0.125) {
            double glon;
            double glat;
            double wlon;
            double wlat;
            double blon;
            double blat;
            cr_gcj02_from_wgs84(lon, lat, &glon, &glat);
            cr_gcj02_to_wgs84(glon, glat, &wlon, &wlat);
            cr_bd09_from_gcj02(glon, glat, &blon, &blat);
            printf("%.12f %.12f %.12f %.12f %.12f %.12f %.12f %.12f\n", lon, lat, glon, glat, wlon,
                   wlat, blon, blat);
        }
    }
    return 0;
}
