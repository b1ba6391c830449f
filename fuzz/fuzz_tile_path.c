/* SPDX-License-Identifier: MIT */
/* Tile paths as the server gets them after "/tiles/" (cr_tile_parse_path), and the tiled
 * layers' list of ?layers=. Invariants: an accepted path is the one spelling of its tile —
 * printed back as "{z}/{x}/{y}.mvt" it is the input, byte for byte (so one tile has one cache
 * entry) — with z, x and y within their digit bounds; a refused path has no such spelling. */
#include "tiler/tile.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int z = -1, x = -1, y = -1;
    char back[64];
    if (cr_tile_parse_path(text, ".mvt", &z, &x, &y)) {
        assert(z >= 0 && z <= 99 && x >= 0 && x <= 9999999 && y >= 0 && y <= 9999999);
        snprintf(back, sizeof back, "%d/%d/%d.mvt", z, x, y);
        assert(strcmp(back, text) == 0); /* the text as C sees it: up to a NUL */
        assert(cr_tile_valid(z, x, y) == (z <= CR_TILE_MAX_ZOOM && x < (1L << z) && y < (1L << z)));
    } else if (size < 40 && strlen(text) == size) {
        /* no canonical spelling equals it */
        int a, b, c, n = 0;
        if (sscanf(text, "%2d/%7d/%7d.mvt%n", &a, &b, &c, &n) == 3 && n == (int)size && a >= 0 &&
            b >= 0 && c >= 0) {
            snprintf(back, sizeof back, "%d/%d/%d.mvt", a, b, c);
            assert(strcmp(back, text) != 0);
        }
    }
    /* the same text with a suffix of its own */
    assert(!cr_tile_parse_path(text, ".mvt.gz", &z, &x, &y) || strstr(text, ".mvt.gz") != NULL);
    free(text);
    return 0;
}
