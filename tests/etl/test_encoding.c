/* SPDX-License-Identifier: MIT */
/* Encoding detection and conversion: BOMs, strict UTF-8, GBK/GB18030, and garbage. */
#include "etl/etl.h"
#include "test_common.h"

#include <stdlib.h>
#include <string.h>

/* "排污口,经度" in GBK, as a Windows Excel export writes it. */
static const char GBK_TEXT[] = "\xC5\xC5\xCE\xDB\xBF\xDA,\xBE\xAD\xB6\xC8";

static void test_detects_boms(void **state)
{
    (void)state;
    char enc[32];
    size_t bom = 9;
    assert_int_equal(cr_etl_detect_encoding("\xEF\xBB\xBFid,名称", 12, enc, &bom, NULL), CR_OK);
    assert_string_equal(enc, "UTF-8 (BOM)");
    assert_int_equal(bom, 3);
    assert_int_equal(cr_etl_detect_encoding("\xFF\xFEi\0d\0", 6, enc, &bom, NULL), CR_OK);
    assert_string_equal(enc, "UTF-16LE (BOM)");
    assert_int_equal(bom, 2);
    cr_error e = {0};
    assert_int_equal(cr_etl_detect_encoding("\xEF\xBB\xBF\xC5\xC5", 5, enc, &bom, &e), CR_EPARSE);
    assert_string_equal(e.msg, "starts with a UTF-8 byte-order mark, but the text after it is "
                               "GB18030/GBK, not UTF-8 (line 1 is the first that is not UTF-8); "
                               "import it with --encoding gbk (the mark is dropped)");
}

static void test_strict_utf8_then_gb18030(void **state)
{
    (void)state;
    char enc[32];
    size_t bom = 9;
    const char *utf8 = "排污口,经度";
    assert_int_equal(cr_etl_detect_encoding(utf8, strlen(utf8), enc, &bom, NULL), CR_OK);
    assert_string_equal(enc, "UTF-8");
    assert_int_equal(bom, 0);
    assert_int_equal(cr_etl_detect_encoding(GBK_TEXT, strlen(GBK_TEXT), enc, &bom, NULL), CR_OK);
    assert_string_equal(enc, "GB18030");
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(cr_etl_to_utf8(GBK_TEXT, strlen(GBK_TEXT), "GB18030", &out, &n, NULL), CR_OK);
    assert_string_equal(out, "排污口,经度");
    assert_int_equal(n, strlen("排污口,经度"));
    free(out);
    /* Overlong UTF-8 for '/' and a lone surrogate are not UTF-8. */
    assert_false(cr_utf8_valid("\xC0\xAF", 2));
    assert_false(cr_utf8_valid("\xED\xA0\x80", 3));
    assert_true(cr_utf8_valid("\xF0\x9F\x8C\x8A", 4));
}

static void test_neither_utf8_nor_gb18030_is_an_error(void **state)
{
    (void)state;
    char enc[32];
    size_t bom;
    cr_error e = {0};
    /* 0x80 alone and 0xFF are invalid as GB18030 lead bytes. */
    assert_int_equal(cr_etl_detect_encoding("ab\x80\xFF", 4, enc, &bom, &e), CR_EPARSE);
    assert_string_equal(e.msg, "text is neither UTF-8 nor GB18030/GBK (line 1 is not UTF-8); "
                               "name its encoding with --encoding");
    char *out = NULL;
    size_t n;
    assert_int_equal(cr_etl_to_utf8("ab\xFF", 3, "GB18030", &out, &n, &e), CR_EPARSE);
    assert_string_equal(e.msg, "not valid GB18030 at byte 2");
    assert_int_equal(cr_etl_to_utf8("ab", 2, "NO-SUCH-CODEC", &out, &n, &e), CR_EINVAL);
    assert_string_equal(e.msg, "unknown encoding 'NO-SUCH-CODEC'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detects_boms),
        cmocka_unit_test(test_strict_utf8_then_gb18030),
        cmocka_unit_test(test_neither_utf8_nor_gb18030_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
