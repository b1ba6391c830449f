/* SPDX-License-Identifier: MIT */
/* The values of a tile row's rec (store/tile_rows.h: cr_tile_value_get), as a tile reads them
 * from the store. Invariants: a value that reads lies inside the input and its text ends with
 * the NUL its length says; reading never runs past the end; a value read and written again
 * (cr_tile_value_put through SQLite) gives back the bytes it was read from (NaN aside, which
 * SQLite keeps as NULL). */
#include "store/tile_rows.h"

#include <assert.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sqlite3 *db;
    static sqlite3_stmt *echo;
    if (db == NULL) {
        assert(sqlite3_open(":memory:", &db) == SQLITE_OK);
        assert(sqlite3_prepare_v2(db, "SELECT ?1", -1, &echo, NULL) == SQLITE_OK);
    }
    const unsigned char *p = data, *end = data + size;
    cr_strbuf again = {0};
    while (p < end) {
        cr_tile_value v;
        const unsigned char *next = cr_tile_value_get(p, end, &v);
        if (next == NULL) {
            break;
        }
        assert(next > p && next <= end);
        sqlite3_reset(echo);
        if (v.type == SQLITE_TEXT) {
            assert((const unsigned char *)v.s > p && (const unsigned char *)v.s < next);
            assert(next[-1] == '\0');
            sqlite3_bind_text(echo, 1, v.s, (int)(next - 1 - (const unsigned char *)v.s),
                              SQLITE_STATIC);
        } else if (v.type == SQLITE_INTEGER) {
            sqlite3_bind_int64(echo, 1, v.i);
        } else if (v.type == SQLITE_FLOAT) {
            sqlite3_bind_double(echo, 1, v.d);
        } else if (v.type == SQLITE_BLOB) {
            sqlite3_bind_zeroblob(echo, 1, 0);
        } else {
            sqlite3_bind_null(echo, 1);
        }
        assert(sqlite3_step(echo) == SQLITE_ROW);
        cr_strbuf_clear(&again);
        cr_tile_value_put(&again, echo, 0);
        if (!(v.type == SQLITE_FLOAT && isnan(v.d))) {
            assert(again.len == (size_t)(next - p) && memcmp(again.data, p, again.len) == 0);
        }
        p = next;
    }
    cr_strbuf_cleanup(&again);
    return 0;
}
