/* SPDX-License-Identifier: MIT */
/* The token file (cr_access_load). Invariants: nothing is dropped — an accepted file holds
 * exactly as many tokens as its "tokens" list has entries; no token opens anything for an
 * empty or unlisted bearer string; a refusal names the file. */
#define _GNU_SOURCE /* memmem */
#include "store/access.h"

#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_path[0] == '\0') {
        char dir[] = "/tmp/fuzz-tokens-XXXXXX";
        assert(mkdtemp(dir) != NULL);
        snprintf(g_path, sizeof g_path, "%s/tokens.json", dir);
    }
    FILE *f = fopen(g_path, "wb");
    assert(f != NULL);
    fwrite(data, 1, size, f);
    fclose(f);
    cr_access_list *list = NULL;
    cr_error e = {0};
    if (cr_access_load(g_path, &list, &e) == CR_OK) {
        json_t *root = json_loadb((const char *)data, size, 0, NULL);
        assert(root != NULL);
        assert(cr_access_count(list) == json_array_size(json_object_get(root, "tokens")));
        json_decref(root);
        assert(cr_access_find(list, "", "2026-01-01") == NULL);
        /* "x" hashes to 2d711642…: listed only if the file says so */
        static const char X_SHA[] =
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
        if (memmem(data, size, X_SHA, sizeof X_SHA - 1) == NULL) {
            assert(cr_access_find(list, "x", "2026-01-01") == NULL);
        }
        cr_access_list_free(list);
    } else {
        assert(list == NULL && strstr(e.msg, "tokens.json") != NULL);
    }
    return 0;
}
