/* SPDX-License-Identifier: MIT */
#include "pb.h"

void cr_pb_varint(cr_strbuf *b, uint64_t v)
{
    b->len += cr_pb_put_varint(cr_strbuf_room(b, 10), v);
    b->data[b->len] = '\0';
}

void cr_pb_key(cr_strbuf *b, unsigned field, unsigned wire)
{
    cr_pb_varint(b, (uint64_t)field << 3 | wire);
}

void cr_pb_bytes(cr_strbuf *b, unsigned field, const char *p, size_t n)
{
    cr_pb_key(b, field, 2);
    cr_pb_varint(b, n);
    cr_strbuf_append(b, p, n);
}

size_t cr_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t cr_pb_bytes_size(unsigned field, size_t n)
{
    return cr_pb_varint_size((uint64_t)field << 3 | 2) + cr_pb_varint_size(n) + n;
}

void cr_pb_uint(cr_strbuf *b, unsigned field, uint64_t v)
{
    cr_pb_key(b, field, 0);
    cr_pb_varint(b, v);
}

uint32_t cr_pb_zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

uint64_t cr_pb_zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
