/* SPDX-License-Identifier: MIT */
/* Layer definitions (cr_layer_def_parse: one JSON file of layers/). Invariants: an accepted
 * definition has a name, a geometry kind and field types from their enumerations, fields with
 * distinct names found again by name, an ID field among them, numeric bounds in order and
 * enumerations with their canonical values; a refusal names the file. */
#include "store/store.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_path[0] == '\0') {
        char dir[] = "/tmp/fuzz-layer-XXXXXX";
        assert(mkdtemp(dir) != NULL);
        snprintf(g_path, sizeof g_path, "%s/fuzzed.json", dir);
    }
    FILE *f = fopen(g_path, "wb");
    assert(f != NULL);
    fwrite(data, 1, size, f);
    fclose(f);
    cr_layer_def *d = NULL;
    cr_error e = {0};
    if (cr_layer_def_parse(g_path, &d, &e) == CR_OK) {
        assert(d->name && d->name[0] && d->geom <= CR_GEOM_MULTIPOLYGON);
        assert(d->id_field && cr_layer_def_field_index(d, d->id_field) >= 0);
        for (size_t i = 0; i < d->n_fields; i++) {
            const cr_field_def *fd = &d->fields[i];
            assert(fd->name && fd->type <= CR_FT_BOOLEAN);
            assert(cr_layer_def_field_index(d, fd->name) == (int)i);
            assert(!(fd->has_min && fd->has_max) || fd->min <= fd->max);
            for (size_t k = 0; k < fd->n_values; k++) {
                assert(fd->values[k].canonical != NULL);
            }
        }
        cr_layer_def_free(d);
    } else {
        assert(d == NULL && strstr(e.msg, "fuzzed.json") != NULL);
    }
    return 0;
}
