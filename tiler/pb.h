/* SPDX-License-Identifier: MIT */
/* Protobuf wire format, written by hand for the two small fixed schemas crossriver writes:
 * vector tiles (vector_tile.proto v2) and glyph ranges (glyphs.proto). */
#ifndef CR_TILER_PB_H
#define CR_TILER_PB_H

#include "core/core.h"

#include <stdint.h>

/* v as a varint at p (room for 10 bytes); returns the bytes written. */
static inline size_t cr_pb_put_varint(char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (char)v;
    return n;
}

void cr_pb_varint(cr_strbuf *b, uint64_t v);
/* A field's key: number and wire type (0 varint, 2 length-delimited). */
void cr_pb_key(cr_strbuf *b, unsigned field, unsigned wire);
/* A length-delimited field (bytes, string, embedded message). */
void cr_pb_bytes(cr_strbuf *b, unsigned field, const char *p, size_t n);
/* Bytes a varint of v takes. */
size_t cr_pb_varint_size(uint64_t v);
/* Bytes a length-delimited field of n bytes takes, key included. */
size_t cr_pb_bytes_size(unsigned field, size_t n);
/* A varint field. */
void cr_pb_uint(cr_strbuf *b, unsigned field, uint64_t v);
uint32_t cr_pb_zigzag32(int32_t v);
uint64_t cr_pb_zigzag64(int64_t v);

#endif
