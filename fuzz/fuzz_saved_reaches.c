/* SPDX-License-Identifier: MIT */
/* The saved reach index's parts as the store holds them (cr_reach_index_from_part; written by
 * the network build, read back by joins and servers), from a store that may be damaged. The
 * first four bytes say how many reaches and vertices the copy claims. Invariants: a part that
 * parses has exactly that many, IDs strictly ascending, every reach 2+ vertices inside the
 * vertex array with longitudes and latitudes in range and its box around them, and a nearest
 * query on the index answers a reach that exists. */
#include "network/network.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) {
        return 0;
    }
    size_t reaches = ((size_t)data[0] | ((size_t)data[1] << 8)) & 0x3ff;
    size_t coords = (size_t)data[2] | ((size_t)data[3] << 8);
    cr_reach_index *rx = cr_reach_index_from_part(data + 4, size - 4, reaches, coords, 64);
    if (rx == NULL) {
        return 0;
    }
    assert(rx->n == reaches && rx->n_coords == coords && cr_reach_index_from_saved(rx));
    for (size_t i = 0; i < rx->n; i++) {
        const cr_indexed_reach *r = &rx->reaches[i];
        assert(i == 0 || strcmp(rx->reaches[i - 1].id, r->id) < 0);
        assert(r->n >= 2 && r->first + r->n <= rx->n_coords);
        for (size_t k = r->first; k < r->first + r->n; k++) {
            double x = rx->coords[2 * k], y = rx->coords[2 * k + 1];
            assert(fabs(x) <= 180 && fabs(y) <= 90);
        }
    }
    if (rx->n > 0) {
        const double *p = rx->coords;
        cr_reach_hit h;
        assert(cr_reach_index_nearest(rx, p[0], p[1], 1.0, NULL, &h));
        assert(h.reach >= 0 && (size_t)h.reach < rx->n && h.dist_m <= 1.0);
    }
    cr_reach_index_free(rx);
    return 0;
}
