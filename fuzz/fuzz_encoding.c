/* SPDX-License-Identifier: MIT */
/* Encoding detection (cr_etl_detect_encoding) and line numbers (cr_etl_line_of_offset).
 * Invariants: an accepted text is labelled with one of the known encodings, its BOM length
 * matches its first bytes, "UTF-8" text is valid UTF-8 and GB18030 text converts; a refusal
 * names a line that exists; line numbers grow with the offset and count the newlines. */
#include "core/core.h"
#include "etl/etl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char enc[32];
    size_t bom = 99;
    cr_error e = {0};
    int64_t lines = cr_etl_line_of_offset(buf, size, size);
    int64_t newlines = 0;
    for (size_t i = 0; i < size; i++) {
        newlines += buf[i] == '\n';
    }
    assert(lines == newlines + 1);
    assert(cr_etl_line_of_offset(buf, size, size / 2) <= lines);
    if (cr_etl_detect_encoding(buf, size, enc, &bom, &e) == CR_OK) {
        if (strcmp(enc, "UTF-8") == 0) {
            assert(bom == 0 && cr_utf8_valid(buf, size));
        } else if (strcmp(enc, "UTF-8 (BOM)") == 0) {
            assert(bom == 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0);
            assert(cr_utf8_valid(buf + 3, size - 3));
        } else if (strcmp(enc, "GB18030") == 0) {
            assert(bom == 0 && !cr_utf8_valid(buf, size));
            char *out = NULL;
            size_t n = 0;
            assert(cr_etl_to_utf8(buf, size, "GB18030", &out, &n, NULL) == CR_OK);
            assert(cr_utf8_valid(out, n));
            free(out);
        } else {
            assert(strcmp(enc, "UTF-16LE (BOM)") == 0 || strcmp(enc, "UTF-16BE (BOM)") == 0);
            assert(bom == 2);
        }
    } else {
        /* every refusal names a line of the text */
        const char *p = strstr(e.msg, "line ");
        assert(e.code == CR_EPARSE && p != NULL);
        long long line = strtoll(p + 5, NULL, 10);
        assert(line >= 1 && line <= lines);
    }
    return 0;
}
