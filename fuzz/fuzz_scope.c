/* SPDX-License-Identifier: MIT */
/* A full survey's --scope (cr_etl_parse_scope): "all" or county=CODE[,CODE…]. Invariants: an
 * accepted scope is all, or 1.. six-digit codes that together with commas spell the input. */
#include "etl/etl.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    cr_scope sc;
    cr_error e = {0};
    if (cr_etl_parse_scope(text, &sc, &e) == CR_OK) {
        if (sc.all) {
            assert(strcmp(text, "all") == 0 && sc.n == 0);
        } else {
            assert(sc.n >= 1 && strncmp(text, "county=", 7) == 0);
            assert(strlen(text) == 7 + sc.n * 6 + (sc.n - 1)); /* the codes and their commas */
            for (size_t i = 0; i < sc.n; i++) {
                assert(strlen(sc.codes[i]) == 6);
                for (int k = 0; k < 6; k++) {
                    assert(isdigit((unsigned char)sc.codes[i][k]));
                }
                assert(memcmp(text + 7 + i * 7, sc.codes[i], 6) == 0);
            }
        }
        cr_scope_cleanup(&sc);
    } else {
        assert(e.code == CR_EINVAL && strncmp(e.msg, "--scope '", 9) == 0);
        assert(sc.n == 0 && sc.codes == NULL);
    }
    free(text);
    return 0;
}
